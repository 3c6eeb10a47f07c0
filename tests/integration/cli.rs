//! `sigcorr run`: the shipped T1528 rule and Kusto semantics, end to end.

use serde_json::{Value, json};

use crate::common::{SEED_COLUMNS, T1528_ID, Test, rules_dir};

const NOW: &str = "2026-07-16T12:00:00Z";

fn graph(uti: &str, ip: &str, status: i64, time: &str) -> Value {
    json!({
        "Type": "MicrosoftGraphActivityLogs", "TimeGenerated": time, "SignInActivityId": uti,
        "IPAddress": ip, "ResponseStatusCode": status, "ServicePrincipalId": "sp-graph",
        "RequestUri": "https://graph.microsoft.com/v1.0/users", "RequestMethod": "GET"
    })
}

fn signin(table: &str, uti: &str, ip: &str) -> Value {
    json!({
        "Type": table, "TimeGenerated": "2026-07-16T01:00:00.0000000Z", "UniqueTokenIdentifier": uti,
        "IPAddress": ip, "ServicePrincipalName": "build-agent", "ServicePrincipalId": "sp-signin",
        "ServicePrincipalCredentialKeyId": "key-1"
    })
}

const SP: &str = "AADServicePrincipalSignInLogs";
const MI: &str = "AADManagedIdentitySignInLogs";
const T: &str = "2026-07-16T02:00:45.0159703Z";

/// Runs the built-in rules over `records` and returns the T1528 alerts.
fn t1528(records: &[Value]) -> Vec<crate::common::Alert> {
    let run = Test::new().records("logs/a.json", records).args(["run", "--now", NOW, "logs"]).run();
    run.code(0);
    run.alerts().into_iter().filter(|a| a.rule.id == T1528_ID).collect()
}

#[test]
fn stolen_token_fires_with_the_seeds_columns() {
    let alerts = t1528(&[signin(SP, "uti-A", "203.0.113.7"), graph("uti-A", "198.51.100.9", 200, T)]);
    assert_eq!(alerts.len(), 1);
    let a = &alerts[0];
    assert_eq!(a.fields.keys().map(String::as_str).collect::<Vec<_>>(), SEED_COLUMNS);
    assert_eq!(a.fields["TimeGenerated"], json!(T), "timestamps are copied, not reformatted");
    assert_eq!(a.fields["SigninInIPAddress"], json!("203.0.113.7"));
    assert_eq!(a.fields["ActivityIPAddress"], json!("198.51.100.9"));
    assert_eq!(a.fields["ServicePrincipalId"], json!("sp-graph"), "from the Graph side, as in the seed");
    assert_eq!(a.fields["ServicePrincipalName"], json!("build-agent"));
    assert_eq!(a.fields["ServicePrincipalCredentialKeyId"], json!("key-1"));
    assert_eq!(a.evidence["activity"], "logs/a.json:2");
    assert_eq!(a.evidence["signin"], "logs/a.json:1");
    assert_eq!(a.rule.level, "high");
}

#[test]
fn same_ip_and_managed_identity_without_ip_are_quiet() {
    let alerts = t1528(&[
        signin(SP, "same", "203.0.113.7"),
        graph("same", "203.0.113.7", 200, T),
        signin(MI, "mi", ""),
        graph("mi", "198.51.100.9", 200, T),
    ]);
    assert!(alerts.is_empty(), "{alerts:?}");
}

#[test]
fn managed_identity_with_ip_fires_union_reads_both_tables() {
    let alerts = t1528(&[signin(MI, "mi", "10.0.0.1"), graph("mi", "198.51.100.9", 200, T)]);
    assert_eq!(alerts.len(), 1);
}

#[test]
fn status_between_is_inclusive() {
    let records: Vec<Value> = [99, 100, 300, 301]
        .iter()
        .flat_map(|&code| {
            let uti = format!("uti-{code}");
            [signin(SP, &uti, "203.0.113.7"), graph(&uti, "198.51.100.9", code, T)]
        })
        .collect();
    let alerts = t1528(&records);
    let lines: Vec<&str> = alerts.iter().map(|a| a.evidence["activity"].as_str()).collect();
    assert_eq!(lines, ["logs/a.json:4", "logs/a.json:6"], "100 and 300 pass, 99 and 301 do not");
}

#[test]
fn thirty_day_bound_is_strict() {
    let alerts = t1528(&[
        signin(SP, "u", "203.0.113.7"),
        graph("u", "198.51.100.9", 200, "2026-06-16T12:00:00.0000000Z"), // exactly now - 30d
        graph("u", "198.51.100.9", 200, "2026-06-16T12:00:00.0000001Z"), // one tick later
    ]);
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].evidence["activity"], "logs/a.json:3");
}

#[test]
fn empty_and_missing_join_keys_never_match() {
    let mut no_key = graph("x", "198.51.100.9", 200, T);
    no_key.as_object_mut().unwrap().remove("SignInActivityId");
    let mut null_key = graph("x", "198.51.100.9", 200, T);
    null_key["SignInActivityId"] = Value::Null;
    let mut signin_no_key = signin(SP, "x", "203.0.113.7");
    signin_no_key.as_object_mut().unwrap().remove("UniqueTokenIdentifier");
    let alerts =
        t1528(&[signin(SP, "", "203.0.113.7"), graph("", "198.51.100.9", 200, T), no_key, null_key, signin_no_key]);
    assert!(alerts.is_empty(), "{alerts:?}");
}

#[test]
fn join_is_case_sensitive_and_exact() {
    let alerts = t1528(&[
        signin(SP, "AbCdEf", "203.0.113.7"),
        graph("abcdef", "198.51.100.9", 200, T),
        graph("AbCdEf ", "198.51.100.9", 200, T),
    ]);
    assert!(alerts.is_empty(), "{alerts:?}");
}

#[test]
fn duplicate_right_keys_multiply_rows() {
    let alerts = t1528(&[
        signin(SP, "dup", "203.0.113.7"),
        signin(SP, "dup", "203.0.113.8"),
        graph("dup", "198.51.100.9", 200, T),
        graph("dup", "198.51.100.9", 204, T),
        graph("dup", "198.51.100.9", 201, T),
    ]);
    assert_eq!(alerts.len(), 6);
    let ev: Vec<(&str, &str)> =
        alerts.iter().map(|a| (a.evidence["activity"].as_str(), a.evidence["signin"].as_str())).collect();
    assert_eq!(
        ev,
        [
            ("logs/a.json:3", "logs/a.json:1"),
            ("logs/a.json:3", "logs/a.json:2"),
            ("logs/a.json:4", "logs/a.json:1"),
            ("logs/a.json:4", "logs/a.json:2"),
            ("logs/a.json:5", "logs/a.json:1"),
            ("logs/a.json:5", "logs/a.json:2"),
        ],
        "ordered by the first source's position, then the second's"
    );
}

#[test]
fn ip_comparison_is_textual_as_in_kusto() {
    // Kusto's != does no IP normalisation: an IPv4-mapped IPv6 address differs.
    let alerts = t1528(&[signin(SP, "v6", "::ffff:203.0.113.7"), graph("v6", "203.0.113.7", 200, T)]);
    assert_eq!(alerts.len(), 1);
}

#[test]
fn string_status_is_coerced_like_kusto() {
    let mut g = graph("s", "198.51.100.9", 0, T);
    g["ResponseStatusCode"] = json!("200");
    assert_eq!(t1528(&[signin(SP, "s", "203.0.113.7"), g]).len(), 1);
}

#[test]
fn other_tables_and_bad_lines_are_counted_not_fatal() {
    let text = format!(
        "{}\n{}\nnot json\n{}\n42\n{}\n",
        signin(SP, "u", "203.0.113.7"),
        json!({"Type": "SigninLogs", "IPAddress": "1.2.3.4"}),
        json!({"no": "type"}),
        graph("u", "198.51.100.9", 200, T)
    );
    let run = Test::new().file("in.json", text).args(["run", "--now", NOW, "in.json"]).run();
    run.code(3);
    assert_eq!(run.alerts().len(), 1);
    assert!(run.stderr.contains("in.json:3: invalid JSON"), "{}", run.stderr);
    assert!(run.stderr.contains("in.json:4: the record has no `Type` field"), "{}", run.stderr);
    assert!(run.stderr.contains("in.json:5: a record must be a JSON object, found a number"), "{}", run.stderr);
    assert!(run.stderr.contains("1  other tables, skipped (SigninLogs 1)"), "{}", run.stderr);
    assert!(run.stderr.contains("read 6 lines from 1 file"), "{}", run.stderr);
}

#[test]
fn records_of_other_tables_are_counted_per_table_across_chunks() {
    // Enough lines to be parsed in several chunks on two threads: each
    // table's count is the sum over chunks, one name each.
    let mut text = String::new();
    for i in 0..20_000 {
        let table = if i % 1000 == 7 { "AuditLogs" } else { "SigninLogs" };
        text += &json!({"Type": table, "IPAddress": "1.2.3.4", "Id": i}).to_string();
        text.push('\n');
    }
    text += &format!("{}\n{}\n", signin(SP, "u", "203.0.113.7"), graph("u", "198.51.100.9", 200, T));
    let run = Test::new().file("in.json", text).args(["run", "--threads", "2", "--now", NOW, "in.json"]).run();
    run.code(0);
    assert_eq!(run.alerts().len(), 1);
    assert!(run.stderr.contains("20000  other tables, skipped (SigninLogs 19980, AuditLogs 20)"), "{}", run.stderr);
}

/// A one-source rule over MicrosoftGraphActivityLogs with `filter`.
fn filter_rule(filter: &str) -> String {
    format!(
        "title: t\nid: 3f1c0d52-8a54-4f43-9d6e-0d6a4f0a0b11\nlevel: low\nreferences: [https://example.com]\nfalsepositives: [none]\n\
         correlation:\n  sources:\n    g: MicrosoftGraphActivityLogs\n  filter:\n    g: {}\n  output:\n    Id: g.RequestId\n",
        serde_json::to_string(filter).unwrap()
    )
}

/// Which of `records` (by RequestId) a single-table rule with `filter` keeps.
fn kept(filter: &str, records: &[Value]) -> Vec<String> {
    let records: Vec<Value> = records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut r = r.clone();
            r["Type"] = json!("MicrosoftGraphActivityLogs");
            r["RequestId"] = json!(i.to_string());
            r
        })
        .collect();
    let run = Test::new()
        .file("r.yml", filter_rule(filter))
        .records("in.json", &records)
        .args(["run", "--now", NOW, "--rules", "r.yml", "in.json"])
        .run();
    run.code(0);
    run.alerts().iter().map(|a| a.fields["Id"].as_str().unwrap().to_string()).collect()
}

#[test]
fn kusto_string_semantics() {
    let recs = [
        json!({"UserAgent": "Mozilla"}),
        json!({"UserAgent": "mozilla"}),
        json!({}),
        json!({"UserAgent": null}),
        json!({"UserAgent": ""}),
    ];
    assert_eq!(kept("UserAgent == 'Mozilla'", &recs), ["0"], "== is case-sensitive");
    assert_eq!(kept("UserAgent =~ 'MOZILLA'", &recs), ["0", "1"], "=~ ignores case");
    assert_eq!(kept("UserAgent != 'Mozilla'", &recs), ["1", "2", "3", "4"], "absent strings are \"\"");
    assert_eq!(kept("isempty(UserAgent)", &recs), ["2", "3", "4"], "missing, null and \"\" are all empty");
    assert_eq!(kept("UserAgent contains 'ZIL'", &recs), ["0", "1"]);
    assert_eq!(kept("UserAgent contains_cs 'zil'", &recs), ["0", "1"]);
    assert_eq!(kept("UserAgent contains_cs 'Moz'", &recs), ["0"]);
    assert_eq!(kept("UserAgent startswith 'moz' and UserAgent endswith 'A'", &recs), ["0", "1"]);
    assert_eq!(kept("UserAgent !endswith 'A'", &recs), ["2", "3", "4"]);
    assert_eq!(kept("UserAgent startswith_cs 'moz'", &recs), ["1"]);
    assert_eq!(kept("UserAgent has 'mozilla' and UserAgent !has 'moz'", &recs), ["0", "1"]);
    assert_eq!(kept("UserAgent in ('mozilla', 'x')", &recs), ["1"]);
    assert_eq!(kept("UserAgent in~ ('MOZILLA')", &recs), ["0", "1"]);
    assert_eq!(kept("UserAgent !in ('mozilla')", &recs), ["0", "2", "3", "4"]);
    assert_eq!(kept("UserAgent matches regex '^M'", &recs), ["0"]);
    assert_eq!(kept("UserAgent has_any ('zilla', 'MOZILLA')", &recs), ["0", "1"], "whole terms, any case");
    assert_eq!(kept("UserAgent has_any ('zilla')", &recs), Vec::<String>::new());
    assert_eq!(kept("strlen(UserAgent) == 7 and tolower(UserAgent) == 'mozilla'", &recs), ["0", "1"]);
}

#[test]
fn kusto_numeric_and_time_semantics() {
    let recs = [
        json!({"DurationMs": 5, "TimeGenerated": "2026-07-16T11:00:00Z"}),
        json!({"DurationMs": 10, "TimeGenerated": "2026-07-16T10:59:59.9999999Z"}),
        json!({"TimeGenerated": "not a time"}),
        json!({"DurationMs": "7"}),
    ];
    assert_eq!(kept("DurationMs between (5 .. 10)", &recs), ["0", "1", "3"]);
    assert_eq!(kept("DurationMs !between (6 .. 10)", &recs), ["0"], "null is neither in nor out");
    assert_eq!(kept("DurationMs > 5", &recs), ["1", "3"]);
    assert_eq!(kept("DurationMs in (5, 7)", &recs), ["0", "3"]);
    assert_eq!(
        kept("DurationMs !in (5)", &recs),
        ["1", "2", "3"],
        "a null is not equal to 5 (Kusto's null values page)"
    );
    assert_eq!(kept("TimeGenerated >= ago(1h)", &recs), ["0"]);
    assert_eq!(kept("TimeGenerated > datetime(2026-07-16T10:59:59.9999998Z)", &recs), ["0", "1"]);
    assert_eq!(kept("isnull(TimeGenerated)", &recs), ["2", "3"]);
    assert_eq!(kept("now() - TimeGenerated < 61m", &recs), ["0", "1"]);
    assert_eq!(kept("DurationMs * 2 == 20 or not(DurationMs < 7)", &recs), ["1", "3"]);
}

#[test]
fn kusto_ip_functions() {
    let recs = [
        json!({"IPAddress": "10.1.2.3"}),
        json!({"IPAddress": "::ffff:10.1.2.3"}),
        json!({"IPAddress": "2001:db8::1"}),
    ];
    assert_eq!(kept("ipv4_is_in_range(IPAddress, '10.0.0.0/8')", &recs), ["0"]);
    assert_eq!(kept("ipv6_is_match(IPAddress, '10.1.2.3')", &recs), ["0", "1"]);
    assert_eq!(kept("ipv6_is_match(IPAddress, '2001:db8::/32')", &recs), ["2"]);
}

#[test]
fn rule_errors_point_at_file_line_col_and_refuse_to_run() {
    let rule = filter_rule("IPAdress == '1.2.3.4'");
    let run =
        Test::new().file("bad.yml", &rule).file("in.json", "").args(["run", "--rules", "bad.yml", "in.json"]).run();
    run.code(2);
    assert!(
        run.stderr
            .contains("bad.yml:10:9: error[E202]: unknown column `IPAdress` in table `MicrosoftGraphActivityLogs`"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("help: did you mean `IPAddress`?"), "{}", run.stderr);
    assert!(run.stdout.is_empty());
}

#[test]
fn usage_errors_exit_2() {
    Test::new().args(["run", "--now", "yesterday", "x"]).run().code(2);
    Test::new().args(["run", "missing-dir"]).run().code(2);
    Test::new().args(["run"]).run().code(2);
}

#[test]
fn table_and_csv_formats() {
    let recs = [signin(SP, "u", "203.0.113.7"), graph("u", "198.51.100.9", 200, T)];
    let t = Test::new().records("in.json", &recs);
    let csv = t
        .args(["run", "--now", NOW, "--format", "csv", "--rules"])
        .args([rules_dir().join("entra/service_principal_token_ip_mismatch.yml").to_str().unwrap(), "in.json"])
        .run();
    csv.code(0);
    let lines: Vec<&str> = csv.stdout.lines().collect();
    assert_eq!(lines[0], format!("rule_id,rule_title,level,{},evidence", SEED_COLUMNS.join(",")));
    assert!(
        lines[1].contains(",2026-07-16T02:00:45.0159703Z,build-agent,203.0.113.7,198.51.100.9,sp-graph,key-1,"),
        "{}",
        lines[1]
    );
    assert_eq!(lines.len(), 2);

    let table = Test::new().records("in.json", &recs).args(["run", "--now", NOW, "--format", "table", "in.json"]).run();
    table.code(0);
    assert!(table.stdout.contains("): 1 alert\nTimeGenerated"), "{}", table.stdout);
}

/// A new output file, and an old one (emptied, then written).
#[test]
fn output_file() {
    let recs = [signin(SP, "u", "203.0.113.7"), graph("u", "198.51.100.9", 200, T)];
    for old in [None, Some("x".repeat(100_000))] {
        let mut t = Test::new().records("in.json", &recs);
        if let Some(old) = &old {
            t = t.file("out.jsonl", old);
        }
        let t = t.args(["run", "--now", NOW, "-o", "out.jsonl", "in.json"]);
        let run = t.run();
        run.code(0);
        assert!(run.stdout.is_empty());
        let written = std::fs::read_to_string(t.path("out.jsonl")).unwrap();
        assert_eq!(written.lines().count(), 1);
        assert!(written.starts_with("{\"rule\":"), "{written}");
    }
    // An old file is emptied and written in place, not replaced by a new
    // one: a hard link to it sees the alerts.
    let t = Test::new().records("in.json", &recs).file("out.jsonl", "x".repeat(100_000));
    std::fs::hard_link(t.path("out.jsonl"), t.path("link.jsonl")).unwrap();
    let t = t.args(["run", "--now", NOW, "-o", "out.jsonl", "in.json"]);
    t.run().code(0);
    let written = std::fs::read_to_string(t.path("out.jsonl")).unwrap();
    assert_eq!(written.lines().count(), 1);
    assert_eq!(std::fs::read_to_string(t.path("link.jsonl")).unwrap(), written);
}

/// The output file is opened before the run: a path that cannot be written
/// fails at once, before any input is read; and one that is also an input
/// is refused, the input left as it was.
#[test]
fn output_file_checked_before_the_run() {
    let recs = [signin(SP, "u", "203.0.113.7"), graph("u", "198.51.100.9", 200, T)];
    let t = Test::new().records("in.json", &recs).args(["run", "--now", NOW, "-o", "no/such/dir/out.jsonl", "in.json"]);
    let run = t.run();
    run.code(2);
    assert!(run.stderr.starts_with("error: no/such/dir/out.jsonl: "), "{}", run.stderr);
    assert!(!run.stderr.contains("read "), "no input was read: {}", run.stderr);

    let t = Test::new().records("in.json", &recs).args(["run", "--now", NOW, "-o", "in.json", "."]);
    let before = std::fs::read(t.path("in.json")).unwrap();
    let run = t.run();
    run.code(2);
    assert_eq!(run.stderr.trim_end(), "error: in.json: the output file is an input; write the output somewhere else");
    assert_eq!(std::fs::read(t.path("in.json")).unwrap(), before);

    // Standard input redirected from the output file is the output file too.
    let t = Test::new().records("in.json", &recs);
    let before = std::fs::read(t.path("in.json")).unwrap();
    let run = std::process::Command::new(assert_cmd::cargo::cargo_bin("sigcorr"))
        .current_dir(t.path(""))
        .args(["run", "--now", NOW, "-o", "in.json", "-"])
        .stdin(std::fs::File::open(t.path("in.json")).unwrap())
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&run.stderr).trim_end(),
        "error: in.json: the output file is an input (standard input); write the output somewhere else"
    );
    assert_eq!(std::fs::read(t.path("in.json")).unwrap(), before);

    // A FIFO is opened after the run (opening it waits for its reader), and written as it is.
    #[cfg(target_os = "linux")]
    {
        let t = Test::new().records("in.json", &recs).args(["run", "--now", NOW, "-q", "-o", "alerts.fifo", "in.json"]);
        let fifo = t.path("alerts.fifo");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        let reader = std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap());
        t.run().code(0);
        assert_eq!(reader.join().unwrap().lines().count(), 1);
    }

    // Not a regular file: written as it is (here the pipe the test reads).
    #[cfg(target_os = "linux")]
    {
        let t = Test::new().records("in.json", &recs).args(["run", "--now", NOW, "-q", "-o", "/dev/stdout", "in.json"]);
        let run = t.run();
        run.code(0);
        assert_eq!(run.stdout.lines().count(), 1, "{}", run.stderr);
    }

    // Standard output redirected to a file (here appended to, as `>>`
    // does): what the file held stays, the alerts follow it.
    let t = Test::new().records("in.json", &recs).file("out.jsonl", "earlier\n");
    let out = std::fs::OpenOptions::new().append(true).open(t.path("out.jsonl")).unwrap();
    let run = std::process::Command::new(assert_cmd::cargo::cargo_bin("sigcorr"))
        .current_dir(t.path(""))
        .args(["run", "--now", NOW, "-q", "in.json", "--rules"])
        .arg(crate::common::rules_dir().join(crate::common::SEED_RULES[0]))
        .stdout(out)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(0), "{}", String::from_utf8_lossy(&run.stderr));
    let written = std::fs::read_to_string(t.path("out.jsonl")).unwrap();
    assert_eq!(written.lines().count(), 2, "{written}");
    assert!(written.starts_with("earlier\n{\"rule\":"), "{written}");

    // `-o /dev/stdout` with standard output appended to a file: written as
    // standard output, not cut.
    #[cfg(target_os = "linux")]
    {
        let t = Test::new().records("in.json", &recs).file("out.jsonl", "earlier\n");
        let out = std::fs::OpenOptions::new().append(true).open(t.path("out.jsonl")).unwrap();
        let run = std::process::Command::new(assert_cmd::cargo::cargo_bin("sigcorr"))
            .current_dir(t.path(""))
            .args(["run", "--now", NOW, "-q", "-o", "/dev/stdout", "in.json", "--rules"])
            .arg(crate::common::rules_dir().join(crate::common::SEED_RULES[0]))
            .stdout(out)
            .output()
            .unwrap();
        assert_eq!(run.status.code(), Some(0), "{}", String::from_utf8_lossy(&run.stderr));
        let written = std::fs::read_to_string(t.path("out.jsonl")).unwrap();
        assert!(written.starts_with("earlier\n{\"rule\":"), "{written}");
        assert_eq!(written.lines().count(), 2, "{written}");
    }
}

/// NDJSON lines are numbered by the tasks that parse them and renumbered
/// as their chunks merge: over hundreds of 4 KiB blocks (and over one
/// block), each alert's evidence and each broken line's warning name the
/// line they are on, CRLF and empty lines included, and every line is
/// counted once.
#[test]
fn line_numbers_hold_across_chunks() {
    let mut lines: Vec<String> = Vec::new();
    let mut want_activity = Vec::new();
    let (mut want_broken, mut want_empty) = (Vec::new(), Vec::new());
    for i in 0..3000 {
        let uti = format!("uti-{i}");
        match i % 500 {
            7 => {
                lines.push("{\"Type\": broken".into());
                want_broken.push(lines.len());
            }
            8 => {
                lines.push(String::new());
                want_empty.push(lines.len());
            }
            _ => {}
        }
        lines.push(graph(&uti, "198.51.100.9", 200, T).to_string());
        if i % 100 == 0 {
            want_activity.push(lines.len());
        }
    }
    for i in (0..3000).step_by(100) {
        lines.push(signin(SP, &format!("uti-{i}"), "203.0.113.7").to_string());
    }
    let text = lines.join("\r\n") + "\r\n";
    for block in [None, Some("4096")] {
        let mut t = Test::new().file("in.json", &text).args(["run", "--now", NOW, "in.json"]);
        if let Some(b) = block {
            t = t.env("SIGCORR_BLOCK_BYTES", b);
        }
        let run = t.run();
        run.code(3);
        let mut got: Vec<usize> =
            run.alerts().iter().map(|a| a.evidence["activity"].rsplit(':').next().unwrap().parse().unwrap()).collect();
        got.sort_unstable();
        assert_eq!(got, want_activity, "{block:?}");
        for &line in &want_broken {
            assert!(run.stderr.contains(&format!("in.json:{line}: invalid JSON")), "{line} {block:?}: {}", run.stderr);
        }
        // Blank lines are lines, not records: nothing is reported of them.
        for &line in &want_empty {
            assert!(!run.stderr.contains(&format!("in.json:{line}:")), "{line} {block:?}: {}", run.stderr);
        }
        assert!(run.stderr.contains(&format!("read {} lines", lines.len())), "{}", run.stderr);
    }
}

/// A value printed in an alert is the value every test sees: a status that
/// is not a number in an int column is null (read as empty), and `200.0`,
/// `"201"` and `2e2` in an int column are 200, 201 and 200, as Kusto shows them.
#[test]
fn alerts_print_the_value_read_not_its_input_text() {
    let rule = "title: values\nid: 2f0fd1a1-3f2a-4b4e-9c8a-0d6f2b1c7e11\nlevel: low\ncorrelation:\n  sources:\n    a: MicrosoftGraphActivityLogs\n  output:\n    S: a.ResponseStatusCode\n    D: a.DurationMs\n    Empty: isnull(a.ResponseStatusCode)\n";
    let records = [
        json!({"Type": "MicrosoftGraphActivityLogs", "ResponseStatusCode": "OK", "DurationMs": 200.0}),
        json!({"Type": "MicrosoftGraphActivityLogs", "ResponseStatusCode": "201", "DurationMs": -5}),
        json!({"Type": "MicrosoftGraphActivityLogs", "ResponseStatusCode": 202, "DurationMs": 2e2}),
    ];
    let run = Test::new()
        .file("r.yml", rule)
        .records("logs/a.json", &records)
        .args(["run", "--rules", "r.yml", "logs"])
        .run();
    run.code(0);
    assert!(run.stderr.contains("`ResponseStatusCode` is \"OK\""), "the bad value is reported: {}", run.stderr);
    let fields: Vec<Value> = run.alerts().iter().map(|a| json!(a.fields)).collect();
    assert_eq!(
        fields,
        [
            json!({"S": null, "D": 200, "Empty": true}),
            json!({"S": 201, "D": -5, "Empty": false}),
            json!({"S": 202, "D": 200, "Empty": false}),
        ]
    );
}

/// Names are text: output names and source aliases that YAML 1.1 would read
/// as booleans (`Y`, `N`, `on`, `y`) stay as written; a null name is refused.
#[test]
fn names_are_read_as_written() {
    let rule = "title: names\nid: 3f0fd1a1-3f2a-4b4e-9c8a-0d6f2b1c7e11\nlevel: low\ncorrelation:\n  sources:\n    y: MicrosoftGraphActivityLogs\n  output:\n    Y: y.ResponseStatusCode\n    N: y.DurationMs\n    on: y.IPAddress\n";
    let records = [
        json!({"Type": "MicrosoftGraphActivityLogs", "ResponseStatusCode": 200, "DurationMs": 5, "IPAddress": "10.0.0.1"}),
    ];
    let run = Test::new()
        .file("r.yml", rule)
        .records("logs/a.json", &records)
        .args(["run", "--rules", "r.yml", "logs"])
        .run();
    run.code(0);
    let alerts = run.alerts();
    assert_eq!(json!(alerts[0].fields), json!({"Y": 200, "N": 5, "on": "10.0.0.1"}));
    assert_eq!(alerts[0].evidence.keys().collect::<Vec<_>>(), ["y"]);
    let null_name = format!("{rule}    ~: y.IPAddress\n");
    let lint = Test::new().file("r.yml", &null_name).args(["lint", "r.yml"]).run();
    lint.code(1);
    assert!(
        lint.stdout.contains("r.yml:11:5: error[E010]: an output name must be a name, found null"),
        "{}",
        lint.stdout
    );
}
