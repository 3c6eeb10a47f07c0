//! The engine's two modes give the same alerts: two passes over files (the
//! probe side streams) and one pass (standard input), whatever side is
//! built and whatever a record's nested values look like.

use serde_json::{Value, json};

use crate::common::{T1528_ID, Test};

const NOW: &str = "2026-07-16T12:00:00Z";
const T: &str = "2026-07-16T02:00:45.0159703Z";

fn graph(uti: &str, ip: &str) -> Value {
    json!({"Type": "MicrosoftGraphActivityLogs", "TimeGenerated": T, "SignInActivityId": uti, "IPAddress": ip,
           "ResponseStatusCode": 200, "ServicePrincipalId": "sp", "RequestUri": "https://graph.microsoft.com/v1.0/users",
           "RequestMethod": "GET"})
}

fn signin(uti: &str, ip: &str) -> Value {
    json!({"Type": "AADServicePrincipalSignInLogs", "UniqueTokenIdentifier": uti, "IPAddress": ip,
           "ServicePrincipalName": "app", "ServicePrincipalCredentialKeyId": "k"})
}

/// An alert's fields and its evidence lines.
type Seen = (Vec<Value>, Vec<String>);

/// (fields, evidence lines) of the T1528 alerts.
fn alerts(run: &crate::common::Run) -> Vec<Seen> {
    run.alerts()
        .into_iter()
        .filter(|a| a.rule.id == T1528_ID)
        .map(|a| {
            let lines = a.evidence.values().map(|e| e.rsplit(':').next().unwrap().to_string()).collect();
            (a.fields.into_values().collect(), lines)
        })
        .collect()
}

/// The same records as a file (two passes) and on standard input (one pass).
fn both_modes(records: &[Value]) -> (Vec<Seen>, Vec<Seen>) {
    let text: String = records.iter().map(|r| format!("{r}\n")).collect();
    let file = Test::new().file("in.json", &text).args(["run", "--now", NOW, "in.json"]).run();
    file.code(0);
    let stdin = Test::new().stdin(text).args(["run", "--now", NOW, "-"]).run();
    stdin.code(0);
    (alerts(&file), alerts(&stdin))
}

#[test]
fn two_passes_and_one_pass_agree() {
    let mut records = Vec::new();
    for i in 0..50 {
        let uti = format!("uti-{i}");
        records.push(graph(&uti, "198.51.100.9"));
        records.push(signin(&uti, if i % 3 == 0 { "198.51.100.9" } else { "203.0.113.7" }));
        records.push(graph(&uti, "198.51.100.9"));
    }
    let (two, one) = both_modes(&records);
    assert_eq!(two.len(), 2 * 33);
    assert_eq!(two, one);
}

#[test]
fn the_build_side_follows_the_smaller_source() {
    // Far more sign-ins than Graph calls: the Graph side is built. Same alerts.
    let mut records: Vec<Value> = (0..300).map(|i| signin(&format!("other-{i}"), "203.0.113.7")).collect();
    records.push(signin("x", "203.0.113.7"));
    records.push(signin("x", "203.0.113.8"));
    records.push(graph("x", "198.51.100.9"));
    let (two, one) = both_modes(&records);
    assert_eq!(two.len(), 2);
    assert_eq!(two, one);
    assert_eq!(two[0].1, ["303", "301"], "evidence is (activity, signin) whichever side is built");
}

#[test]
fn nested_values_that_look_like_another_table_do_not_mislead() {
    // A Graph call whose first `"Type":"` text is inside a nested object naming
    // the sign-in table, and a sign-in whose nested object names the Graph table.
    let mut tricky_graph = graph("t", "198.51.100.9");
    let mut obj = serde_json::Map::new();
    obj.insert("Nested".into(), json!({"Type": "AADServicePrincipalSignInLogs"}));
    obj.extend(tricky_graph.as_object().unwrap().clone());
    tricky_graph = Value::Object(obj);
    let mut tricky_signin = serde_json::Map::new();
    tricky_signin.insert("Nested".into(), json!({"Type": "MicrosoftGraphActivityLogs"}));
    tricky_signin.extend(signin("u", "203.0.113.7").as_object().unwrap().clone());
    let records = [signin("t", "203.0.113.7"), tricky_graph, Value::Object(tricky_signin), graph("u", "198.51.100.9")];
    let (two, one) = both_modes(&records);
    assert_eq!(two.len(), 2, "{two:?}");
    assert_eq!(two, one);
}

#[test]
fn the_summary_counts_every_record_once_in_two_passes() {
    let records = [signin("a", "203.0.113.7"), graph("a", "198.51.100.9"), json!({"Type": "SigninLogs"})];
    let text: String = records.iter().map(|r| format!("{r}\n")).collect::<String>() + "broken\n";
    let run = Test::new().file("in.json", text).args(["run", "--now", NOW, "in.json"]).run();
    run.code(3);
    assert!(run.stderr.contains("read 4 lines from 1 file"), "{}", run.stderr);
    assert_eq!(run.stderr.matches("in.json:4: invalid JSON").count(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("1  MicrosoftGraphActivityLogs"), "{}", run.stderr);
    assert!(run.stderr.contains("1  AADServicePrincipalSignInLogs"), "{}", run.stderr);
    assert!(run.stderr.contains("1  other tables, skipped (SigninLogs 1)"), "{}", run.stderr);
}

/// Sorted alert fields of the T1528 rule.
fn fields(run: &crate::common::Run) -> Vec<Vec<Value>> {
    let mut f: Vec<Vec<Value>> = alerts(run).into_iter().map(|(f, _)| f).collect();
    f.sort_by_key(|v| serde_json::to_string(v).unwrap());
    f
}

#[test]
fn records_the_sample_did_not_foresee_are_still_evaluated() {
    // Per-table files of over 1 MiB: the first MiB decides which pass reads a
    // file. Past it, each file holds a record of the other side.
    let pad = "p".repeat(1000);
    let with_pad = |mut r: Value| {
        r["Pad"] = json!(pad);
        r
    };
    let mut signins: Vec<Value> = (0..1500).map(|i| with_pad(signin(&format!("s{i}"), "203.0.113.7"))).collect();
    signins.push(graph("s7", "198.51.100.9")); // a Graph call in the sign-in file
    let mut graphs: Vec<Value> = (0..1500).map(|i| with_pad(graph(&format!("s{i}"), "198.51.100.9"))).collect();
    graphs.push(signin("late", "203.0.113.7")); // a sign-in in the Graph file
    graphs.push(graph("late", "198.51.100.9"));
    let text = |rs: &[Value]| rs.iter().map(|r| format!("{r}\n")).collect::<String>();
    let files = Test::new()
        .file("logs/signins.json", text(&signins))
        .file("logs/graph.json", text(&graphs))
        .args(["run", "--now", NOW, "logs"])
        .run();
    files.code(0);
    let stdin = Test::new().stdin(text(&signins) + &text(&graphs)).args(["run", "--now", NOW, "-"]).run();
    stdin.code(0);
    let (two, one) = (fields(&files), fields(&stdin));
    assert_eq!(two.len(), 1500 + 1 + 1, "every Graph call joins its sign-in");
    assert_eq!(two, one);
    assert!(files.stderr.contains("read 3003 lines from 2 files"), "{}", files.stderr);
}

/// Rules joining the same tables on the same columns share one hash table,
/// also when one reads only some of the others' build tables: each still
/// alerts exactly as it does alone, with its own tables, build filter and
/// mismatch, whichever rows the other rules kept.
#[test]
fn rules_that_share_a_hash_table_alert_as_they_do_alone() {
    let base =
        std::fs::read_to_string(crate::common::rules_dir().join("entra/service_principal_token_ip_mismatch.yml"))
            .unwrap();
    let variant = base
        .replace("0428e609-07b8-42bf-a36b-d74e4e2be504", "6f1d8c52-3a7e-4f0b-9c11-2b7e5d9a0c44")
        .replace("title: Service principal access token used", "title: Variant, token used")
        .replace("signin: isnotempty(IPAddress)", "signin: IPAddress startswith \"203.\"")
        .replace(
            "mismatch: signin.IPAddress != activity.IPAddress",
            "mismatch: signin.IPAddress == activity.IPAddress",
        );
    assert_ne!(variant, base);
    // Service-principal sign-ins only, any with a token id: managed-identity
    // rows (which the base rule also keeps) must not reach it.
    let sp_only = base
        .replace("0428e609-07b8-42bf-a36b-d74e4e2be504", "0b7e8f3a-52c1-4d6e-a9f0-7c3d1e2b4a55")
        .replace("title: Service principal access token used", "title: SP-only, token used")
        .replace(
            "signin: [AADServicePrincipalSignInLogs, AADManagedIdentitySignInLogs]",
            "signin: AADServicePrincipalSignInLogs",
        )
        .replace("signin: isnotempty(IPAddress)", "signin: isnotempty(UniqueTokenIdentifier)");
    assert!(!sp_only.contains("AADManagedIdentitySignInLogs"));
    // The base rule with its sources declared the other way round: its build side is source 0.
    let swapped = base
        .replace("0428e609-07b8-42bf-a36b-d74e4e2be504", "3c9a4e71-8d2b-4f60-b5e3-9a1f7c2d6e88")
        .replace("title: Service principal access token used", "title: Swapped, token used")
        .replace(
            "    activity: MicrosoftGraphActivityLogs\n    signin: [AADServicePrincipalSignInLogs, AADManagedIdentitySignInLogs]\n",
            "    signin: [AADServicePrincipalSignInLogs, AADManagedIdentitySignInLogs]\n    activity: MicrosoftGraphActivityLogs\n",
        );
    assert!(swapped.contains("  sources:\n    signin:"), "{swapped}");
    let mut records = Vec::new();
    for i in 0..40 {
        let uti = format!("uti-{i}");
        let ip = ["203.0.113.7", "198.51.100.9", ""][i % 3];
        records.push(signin(&uti, ip));
        records.push(graph(&uti, if i % 2 == 0 { "203.0.113.7" } else { "198.51.100.9" }));
        // More calls than sign-ins: the sign-ins are every rule's build side.
        records.push(graph(&uti, "192.0.2.1"));
        let mut mi = signin(&format!("mi-{i}"), ["10.0.0.1", ""][i % 2]);
        mi["Type"] = json!("AADManagedIdentitySignInLogs");
        records.push(mi);
        records.push(graph(&format!("mi-{i}"), "198.51.100.9"));
    }
    let text: String = records.iter().map(|r| format!("{r}\n")).collect();
    let run = |rules: &[&str]| {
        let mut t = Test::new().file("in.json", &text);
        for (i, r) in rules.iter().enumerate() {
            t = t.file(&format!("rules/r{i}.yml"), r);
        }
        let run = t.args(["run", "--now", NOW, "--rules", "rules", "in.json"]).run();
        run.code(0);
        let mut by_rule: Vec<(String, Vec<Value>, Vec<String>)> = run
            .alerts()
            .into_iter()
            .map(|a| (a.rule.id.clone(), a.fields.into_values().collect(), a.evidence.into_values().collect()))
            .collect();
        by_rule.sort_by_key(|a| format!("{a:?}"));
        by_rule
    };
    let together = run(&[&base, &variant, &sp_only, &swapped]);
    let mut alone = [run(&[&base]), run(&[&variant]), run(&[&sp_only]), run(&[&swapped])].concat();
    alone.sort_by_key(|a| format!("{a:?}"));
    let count = |id: &str| together.iter().filter(|a| a.0 == id).count();
    assert!(count(T1528_ID) > 0 && count("6f1d8c52-3a7e-4f0b-9c11-2b7e5d9a0c44") > 0, "{together:?}");
    // Records come five per `i`: SP sign-in, its two calls, MI sign-in, its call.
    let mi_line =
        |evidence: &[String]| evidence.iter().any(|e| e.rsplit(':').next().unwrap().parse::<usize>().unwrap() % 5 == 4);
    let (sp_only_alerts, base_mi_alerts) = (
        together.iter().filter(|a| a.0 == "0b7e8f3a-52c1-4d6e-a9f0-7c3d1e2b4a55").collect::<Vec<_>>(),
        together.iter().filter(|a| a.0 == T1528_ID && mi_line(&a.2)).count(),
    );
    // SP-only: every service-principal token with an IP other than its call's
    // (an empty one included), and no managed-identity token; the base rule
    // has the managed-identity tokens with an IP in the same hash table.
    let sp_ip = |i: usize| ["203.0.113.7", "198.51.100.9", ""][i % 3];
    let call_ip = |i: usize| if i.is_multiple_of(2) { "203.0.113.7" } else { "198.51.100.9" };
    let calls = |i: usize| [call_ip(i), "192.0.2.1"];
    let mismatched = (0..40).map(|i| calls(i).iter().filter(|&&ip| ip != sp_ip(i)).count()).sum::<usize>();
    assert_eq!(sp_only_alerts.len(), mismatched, "{together:?}");
    assert!(sp_only_alerts.iter().all(|a| !mi_line(&a.2)), "{sp_only_alerts:?}");
    assert_eq!(base_mi_alerts, 20, "{together:?}");
    // The swapped rule alerts with the base rule's values (its evidence lists the sources its way).
    let fields_of = |id: &str| {
        let mut f: Vec<_> = together.iter().filter(|a| a.0 == id).map(|a| format!("{:?}", a.1)).collect();
        f.sort();
        f
    };
    assert_eq!(fields_of("3c9a4e71-8d2b-4f60-b5e3-9a1f7c2d6e88"), fields_of(T1528_ID));
    assert_eq!(together, alone);
}

/// A single-source rule on a table another rule builds on runs in the build
/// pass (the table is read once): each matching sign-in alerts exactly once,
/// as in one pass, and the T1528 alerts do not change.
#[test]
fn a_single_source_rule_on_a_built_table_alerts_once_in_two_passes() {
    let single = r#"title: Service-principal sign-in from the documentation range
id: 5d0c7e21-9b3a-4f6e-8a2d-1c4b7e9f0a33
status: experimental
description: A test rule.
author: sigcorr tests
license: MIT
references:
  - https://example.com/
tags:
  - attack.t1078.004
level: low
falsepositives:
  - Tests
correlation:
  sources:
    signin: AADServicePrincipalSignInLogs
  filter:
    signin: ipv4_is_in_range(IPAddress, "203.0.113.0/24")
  output:
    UniqueTokenIdentifier: signin.UniqueTokenIdentifier
    IPAddress: signin.IPAddress
"#;
    let base =
        std::fs::read_to_string(crate::common::rules_dir().join("entra/service_principal_token_ip_mismatch.yml"))
            .unwrap();
    let (mut signins, mut graphs) = (String::new(), String::new());
    for i in 0..30 {
        let uti = format!("uti-{i}");
        let ip = ["203.0.113.7", "198.51.100.9", "203.0.113.8"][i % 3];
        signins += &format!("{}\n", signin(&uti, ip));
        graphs += &format!("{}\n", graph(&uti, "198.51.100.9"));
        graphs += &format!("{}\n", graph(&uti, "192.0.2.1"));
    }
    let run = |t: Test, input: &[&str]| {
        let run = t
            .file("rules/base.yml", &base)
            .file("rules/single.yml", single)
            .args(["run", "--now", NOW, "--rules", "rules"])
            .args(input)
            .run();
        run.code(0);
        let mut seen: Vec<(String, String)> =
            run.alerts().into_iter().map(|a| (a.rule.id.clone(), format!("{:?}", a.fields))).collect();
        seen.sort();
        (seen, run.stderr)
    };
    // Per-table files: the sign-in file is read by the build pass only.
    let (two, stderr) =
        run(Test::new().file("logs/signins.json", &signins).file("logs/graph.json", &graphs), &["logs"]);
    let (one, _) = run(Test::new().stdin(signins.clone() + &graphs), &["-"]);
    assert_eq!(two, one);
    // One file of both tables: both passes read it, each record by its hint.
    let (mixed, mixed_stderr) = run(Test::new().file("in.json", signins.clone() + &graphs), &["in.json"]);
    assert_eq!(mixed, one);
    assert!(mixed_stderr.contains("30  AADServicePrincipalSignInLogs"), "{mixed_stderr}");
    let single_alerts = two.iter().filter(|a| a.0 == "5d0c7e21-9b3a-4f6e-8a2d-1c4b7e9f0a33").count();
    assert_eq!(single_alerts, 20, "two in three sign-ins are in 203.0.113.0/24: {two:?}");
    // T1528: each token's two calls, both from IPs other than 203.0.113.x,
    // plus the 198.51.100.9 tokens' call from 192.0.2.1.
    assert_eq!(two.iter().filter(|a| a.0 == T1528_ID).count(), 20 * 2 + 10, "{two:?}");
    assert!(stderr.contains("read 90 lines from 2 files"), "{stderr}");
    assert!(stderr.contains("30  AADServicePrincipalSignInLogs"), "{stderr}");
}

/// Case-insensitive searches fold Unicode case, as Kusto does: the Kelvin
/// sign (U+212A) is a `K`. A record whose text is ASCII but spells the sign
/// as an escape must not take the ASCII-only search, nor must one that holds
/// the sign itself.
#[test]
fn case_insensitive_filters_fold_escaped_and_literal_unicode() {
    let rule = r#"title: Graph call with a key user agent
id: 0b6c5d1e-2f3a-4b7c-9d8e-7f6a5b4c3d21
status: experimental
description: A test rule.
author: sigcorr tests
license: MIT
references:
  - https://example.com/
tags:
  - attack.t1078.004
level: low
falsepositives:
  - Tests
correlation:
  sources:
    activity: MicrosoftGraphActivityLogs
  filter:
    activity: UserAgent has "key" or UserAgent has_any ("nothing", "kEy")
  output:
    UserAgent: activity.UserAgent
"#;
    let line = |agent: &str| {
        format!(r#"{{"Type":"MicrosoftGraphActivityLogs","TimeGenerated":"{T}","UserAgent":"{agent} client"}}"#) + "\n"
    };
    let input = [line(r"\u212aEY"), line("\u{212a}ey"), line("KEY"), line("monkey"), line(r"\u00e9key")].concat();
    let run = Test::new()
        .file("rules/key.yml", rule)
        .file("in.json", &input)
        .args(["run", "--now", NOW, "--rules", "rules", "in.json"])
        .run();
    run.code(0);
    let agents: Vec<String> = run.alerts().into_iter().map(|a| a.fields["UserAgent"].to_string()).collect();
    assert_eq!(agents, ["\"\u{212a}EY client\"", "\"\u{212a}ey client\"", "\"KEY client\""], "{}", run.stderr);
}
