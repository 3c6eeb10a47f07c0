//! Hostile rules and hostile surroundings of the command line (issue 25):
//! huge expressions, output files that are rule files, a closed or full
//! standard output, a pipe closed early, absurd thread counts, rule files
//! that are not text, summaries an attacker's log can inflate.

use std::process::{Command, Stdio};

use serde_json::json;

use crate::common::{Test, repo};

const NOW: &str = "2026-07-16T12:00:00Z";

/// The shipped T1528 rule with its Graph filter replaced by `filter`.
fn rule_with_filter(filter: &str) -> String {
    let seed = std::fs::read_to_string(repo().join("rules/entra/service_principal_token_ip_mismatch.yml")).unwrap();
    let old = "activity: TimeGenerated > ago(30d) and ResponseStatusCode between (100 .. 300)";
    assert!(seed.contains(old));
    seed.replace(old, &format!("activity: {filter}"))
}

/// A single-source rule alerting on every Graph record.
const EVERY_GRAPH_CALL: &str = "title: Every Graph call\nid: 5d6f0c8e-1b1a-4c55-9a7e-3f1e2d3c4b5a\nlevel: low\n\
    correlation:\n  sources:\n    a: MicrosoftGraphActivityLogs\n  output:\n    RequestUri: a.RequestUri\n";

fn graph_records(n: usize) -> String {
    (0..n)
        .map(|i| {
            let r = json!({"Type": "MicrosoftGraphActivityLogs", "TimeGenerated": "2026-07-16T02:00:45Z",
                           "RequestUri": format!("https://graph.microsoft.com/v1.0/users/{i:06}"), "IPAddress": "10.0.0.1"});
            format!("{r}\n")
        })
        .collect()
}

/// A chain of 256 operators (the most one expression may hold) runs and
/// compiles to every target; one more is an error at its position, not a
/// stack overflow (20,000 `or`s crashed the process).
#[test]
fn expressions_are_bounded_in_operators_not_by_a_crash() {
    let deep = format!("ResponseStatusCode == 200{} - 127", " + 1".repeat(127));
    let t = Test::new().file("deep.yml", rule_with_filter(&format!("{deep} and RequestUri != \"\"")));
    t.args(["run", "--now", NOW, "--rules", "deep.yml"])
        .args([repo().join("samples/entra").to_str().unwrap()])
        .run()
        .code(0);
    for target in ["kql", "sentinel", "spark-sql", "duckdb"] {
        Test::new()
            .file("deep.yml", rule_with_filter(&deep))
            .args(["compile", "--target", target, "--rules", "deep.yml"])
            .run()
            .code(0);
    }
    let ors: Vec<String> = (0..20_000).map(|i| format!("RequestUri == \"u{i}\"")).collect();
    let t = Test::new().file("wide.yml", rule_with_filter(&ors.join(" or "))).args(["lint", "wide.yml"]).run();
    t.code(1);
    assert!(
        t.stdout.contains("wide.yml:") && t.stdout.contains("E100") && t.stdout.contains("more than 256 operators"),
        "{}",
        t.stdout
    );
    // An IOC list of 10,000 items is one operator.
    let iocs: Vec<String> =
        (0..10_000).map(|i| format!("\"10.{}.{}.{}\"", i / 65536, i / 256 % 256, i % 256)).collect();
    let t = Test::new().file("iocs.yml", rule_with_filter(&format!("IPAddress in ({})", iocs.join(", "))));
    t.args(["lint", "iocs.yml"]).run().code(0);
}

/// `-o` never replaces a file the command reads: a rule file (run, test) or
/// a tests file (test).
#[test]
fn the_output_file_is_never_a_rule_or_tests_file() {
    let seed = std::fs::read_to_string(repo().join("rules/entra/service_principal_token_ip_mismatch.yml")).unwrap();
    let tests =
        std::fs::read_to_string(repo().join("rules/entra/service_principal_token_ip_mismatch.tests.yml")).unwrap();
    let t = Test::new().file("r.yml", &seed).file("r.tests.yml", &tests).file("in.json", graph_records(3));
    let (rule, tests_file) = (t.path("r.yml"), t.path("r.tests.yml"));
    let t = t.args(["run", "--now", NOW, "--rules", "r.yml", "-o", "r.yml", "in.json"]);
    let run = t.run();
    run.code(2);
    assert!(run.stderr.contains("r.yml: the output file is a rule file"), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(&rule).unwrap(), seed, "the rule is untouched");
    for (out, what) in [("r.yml", "a rule file"), ("r.tests.yml", "a tests file")] {
        let t = Test::new().file("r.yml", &seed).file("r.tests.yml", &tests);
        let (rule, tests_file) = (t.path("r.yml"), t.path("r.tests.yml"));
        let t = t.args(["test", "-o", out, "r.yml"]);
        let run = t.run();
        run.code(2);
        assert!(run.stderr.contains(&format!("{out}: the output file is {what}")), "{}", run.stderr);
        assert_eq!(std::fs::read_to_string(rule).unwrap(), seed);
        assert_eq!(std::fs::read_to_string(tests_file).unwrap(), tests);
    }
    drop((t, tests_file));
    // Nor a table definition (`--tables`).
    let table = std::fs::read_to_string(repo().join("tables/AADManagedIdentitySignInLogs.yml")).unwrap();
    let t = Test::new().file("t.yml", &table).file("in.json", graph_records(3));
    let t = t.args(["run", "--now", NOW, "--tables", "t.yml", "-o", "t.yml", "in.json"]);
    let run = t.run();
    run.code(2);
    assert!(run.stderr.contains("t.yml: the output file is a table definition"), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(t.path("t.yml")).unwrap(), table);
}

/// Runs `script` in bash in the test's directory, with `$SIGCORR` the binary.
fn bash(t: &Test, script: &str) -> (i32, String) {
    let out = Command::new("bash")
        .arg("-c")
        .arg(script)
        .current_dir(t.dir.path())
        .env("SIGCORR", assert_cmd::cargo::cargo_bin("sigcorr"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// A pipe closed early (`| head`) still gives the summary and the exit
/// status (`--strict` with skipped input: 2); a closed standard output or a
/// full disk is an error, not a silent loss with status 0.
#[test]
fn standard_output_closed_or_full_is_reported() {
    // About 2 MB of alerts, far more than a pipe holds, and a malformed line.
    let t = Test::new().file("every.yml", EVERY_GRAPH_CALL).file("in.json", graph_records(20_000) + "not json\n");
    let (code, out) = bash(
        &t,
        "$SIGCORR run --strict --now 2026-07-16T12:00:00Z --rules every.yml in.json 2>err | head -c 100 >/dev/null; echo ${PIPESTATUS[0]}; cat err",
    );
    assert_eq!(code, 0, "{out}");
    let (status, err) = out.split_once('\n').unwrap();
    assert_eq!(status, "2", "--strict with a malformed line: {err}");
    assert!(err.contains("standard output was closed") && err.contains("20000  alerts: Every Graph call"), "{err}");

    let (code, out) = bash(&t, "$SIGCORR run --now 2026-07-16T12:00:00Z --rules every.yml in.json >&-");
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("standard output is closed"), "{out}");
    let (code, out) = bash(&t, "$SIGCORR lint --format sarif every.yml >/dev/full");
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("cannot write to standard output"), "{out}");
    let (code, out) = bash(&t, "$SIGCORR compile --target kql --rules every.yml >&-");
    assert_eq!(code, 2, "{out}");
}

/// `--threads` past 4 per core is cut to that, with a warning.
#[test]
fn absurd_thread_counts_are_capped() {
    let t = Test::new().file("in.json", graph_records(3));
    let run = t.args(["run", "--threads", "100000", "--now", NOW, "in.json"]).run();
    run.code(0);
    let cores = std::thread::available_parallelism().unwrap().get();
    assert!(
        run.stderr.contains(&format!(
            "warning: --threads 100000 is more than 4 per core ({cores} cores): using {}",
            4 * cores
        )),
        "{}",
        run.stderr
    );
}

/// A rule file that is not UTF-8, found in a directory, is an error at its
/// first bad byte; the other rules are still linted, and SARIF carries it.
#[test]
fn a_rule_file_that_is_not_text_is_reported_at_its_line() {
    let seed = std::fs::read_to_string(repo().join("rules/entra/service_principal_token_ip_mismatch.yml")).unwrap();
    let bad = [b"title: x\nid: \xff\xfe\n".as_slice()].concat();
    let t = || Test::new().file("rules/a.yml", &seed).file("rules/b.yml", &bad);
    let run = t().args(["lint", "rules"]).run();
    run.code(1);
    assert!(run.stdout.contains("rules/b.yml:2:5") && run.stdout.contains("E004"), "{}", run.stdout);
    let sarif = t().args(["lint", "--format", "sarif", "rules"]).run();
    let log: serde_json::Value = serde_json::from_str(&sarif.stdout).unwrap();
    let results = log["runs"][0]["results"].as_array().unwrap();
    assert!(results.iter().any(|r| r["ruleId"] == "E004"), "{results:?}");
    // run refuses the rule set, naming the file and line.
    let run =
        Test::new().file("b.yml", [b"title: \xff\n".as_slice()].concat()).args(["run", "--rules", "b.yml", "-"]).run();
    run.code(2);
    assert!(run.stderr.contains("b.yml:1:8") && run.stderr.contains("not UTF-8"), "{}", run.stderr);
}

/// A symbolic link loop in a rules directory is searched once.
#[test]
fn rule_directories_with_link_loops_are_searched_once() {
    let seed = std::fs::read_to_string(repo().join("rules/entra/service_principal_token_ip_mismatch.yml")).unwrap();
    let t = Test::new().file("rules/a.yml", &seed);
    std::os::unix::fs::symlink(".", t.path("rules/l1")).unwrap();
    std::os::unix::fs::symlink(".", t.path("rules/l2")).unwrap();
    let run = t.args(["lint", "rules"]).run();
    run.code(0);
    assert!(run.stderr.contains("1 rule file:"), "{}", run.stderr);
}

/// An attacker's log naming 5,000 tables gets a summary of the 10 most
/// common and a count of the rest, not 5,000 names.
#[test]
fn the_summary_lists_a_few_other_tables() {
    let records: String = (0..5_000).map(|i| format!("{}\n", json!({"Type": format!("T{i:04}")}))).collect();
    let t = Test::new().file("in.json", records + &graph_records(1));
    let run = t.args(["run", "--now", NOW, "in.json"]).run();
    run.code(0);
    let line = run.stderr.lines().find(|l| l.contains("other tables, skipped")).unwrap();
    // The first 1,000 names are counted by name (10 shown), the rest together.
    assert!(line.contains("5000  other tables") && line.contains("T0000 1, T0001 1"), "{line}");
    assert!(line.contains("990 more tables") && line.contains("4000 records"), "{line}");
    assert!(line.len() < 400, "{line}");
}

/// One join key shared by 30 Graph calls and 30 sign-ins makes 900 pairs:
/// with `--max-alerts-per-key 50`, the first 50 in input order are written,
/// the rest counted, and the run exits 4; a key under the cap is whole. The
/// same alerts whatever the threads and in one pass (standard input).
#[test]
fn one_join_key_shared_by_many_records_is_capped() {
    let graph = |uti: &str, i: usize| {
        json!({"Type": "MicrosoftGraphActivityLogs", "TimeGenerated": "2026-07-16T02:00:45Z", "SignInActivityId": uti,
               "IPAddress": "198.51.100.9", "ResponseStatusCode": 200, "RequestUri": format!("https://graph/{i}")})
    };
    let signin = |uti: &str, i: usize| {
        json!({"Type": "AADServicePrincipalSignInLogs", "UniqueTokenIdentifier": uti, "IPAddress": format!("203.0.113.{i}"),
               "ServicePrincipalName": "app"})
    };
    let mut records = Vec::new();
    for i in 0..30 {
        records.push(graph("shared", i));
        records.push(signin("shared", i));
    }
    for i in 0..5 {
        records.push(graph("small", 100 + i));
        records.push(signin("small", 100 + i));
    }
    let text: String = records.iter().map(|r| format!("{r}\n")).collect();
    let run = |extra: &[&str], stdin: bool| {
        let t =
            Test::new().file("in.json", &text).args(["run", "--now", NOW, "--max-alerts-per-key", "50"]).args(extra);
        let t = if stdin { t.stdin(text.clone()).args(["-"]) } else { t.args(["in.json"]) };
        let run = t.run();
        run.code(4);
        let mut alerts: Vec<String> = run.alerts().iter().map(|a| serde_json::to_string(&a.fields).unwrap()).collect();
        alerts.sort();
        (alerts, run.stderr)
    };
    let (alerts, stderr) = run(&["--threads", "1"], false);
    assert_eq!(alerts.len(), 50 + 25, "{stderr}");
    assert!(
        stderr.contains("warning: 850 alerts were not written: 1 rule and join key reached --max-alerts-per-key"),
        "{stderr}"
    );
    // The first 50 pairs of the shared key in input order: Graph calls 0 and 1, each with every sign-in.
    let uris: std::collections::BTreeSet<String> = alerts
        .iter()
        .filter_map(|a| {
            serde_json::from_str::<serde_json::Value>(a).unwrap()["RequestUri"].as_str().map(str::to_string)
        })
        .collect();
    assert_eq!(uris.len(), 2 + 5, "{uris:?}");
    assert!(uris.contains("https://graph/0") && uris.contains("https://graph/1") && !uris.contains("https://graph/2"));
    assert_eq!(run(&["--threads", "2"], false).0, alerts, "two threads");
    assert_eq!(run(&[], true).0, alerts, "one pass");
    let strict = Test::new()
        .file("in.json", &text)
        .args(["run", "--strict", "--max-alerts-per-key", "50", "--now", NOW, "in.json"])
        .run();
    strict.code(2);
}

/// A `Type` an attacker wrote to forge a summary line is shown escaped on
/// standard error, in the warnings and the summary; `--csv-raw` writes a
/// formula-looking cell as it is, where CSV output escapes it by default.
#[test]
fn the_summary_shows_control_characters_escaped_and_csv_raw_is_raw() {
    let forged = "Evil\u{1b}[2J\nFAKE: 0 alerts";
    let records = format!(
        "{}\n{}\n",
        json!({"Type": forged}),
        json!({"Type": "MicrosoftGraphActivityLogs", "RequestUri": "=HYPERLINK(\"x\")"})
    );
    let t = || Test::new().file("every.yml", EVERY_GRAPH_CALL).file("in.json", &records);
    let run = t().args(["run", "--now", NOW, "--rules", "every.yml", "--format", "csv", "in.json"]).run();
    run.code(0);
    assert!(!run.stderr.contains('\u{1b}') && !run.stderr.contains("\nFAKE"), "{:?}", run.stderr);
    assert!(run.stderr.contains("Evil\\u{1b}[2J\\nFAKE: 0 alerts 1"), "{}", run.stderr);
    assert!(run.stdout.contains("'=HYPERLINK"), "{}", run.stdout);
    let raw = t().args(["run", "--now", NOW, "--rules", "every.yml", "--format", "csv", "--csv-raw", "in.json"]).run();
    raw.code(0);
    assert!(raw.stdout.contains(",\"=HYPERLINK(\"\"x\"\")\"") || raw.stdout.contains(",=HYPERLINK"), "{}", raw.stdout);
    assert!(!raw.stdout.contains("'="), "{}", raw.stdout);
}

/// A directory that cannot be listed is skipped input, as an unreadable
/// file is: a warning naming it, the rest read, exit 3 (it aborted the
/// run with exit 2). Root reads any directory, so as root the run is made
/// as `nobody` (setpriv).
#[test]
fn an_unreadable_directory_is_skipped_input_not_the_end_of_the_run() {
    use std::os::unix::fs::PermissionsExt;
    let graph = std::fs::read_to_string(repo().join("samples/entra/MicrosoftGraphActivityLogs.json")).unwrap();
    let t = Test::new().file("logs/ok/graph.json", &graph).file("logs/locked/x.json", &graph);
    let mode = |path: &std::path::Path, mode: u32| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap()
    };
    for dir in ["", "logs", "logs/ok"] {
        mode(&t.path(dir), 0o755);
    }
    mode(&t.path("logs/ok/graph.json"), 0o644);
    mode(&t.path("logs/locked"), 0o000);
    let root = std::fs::metadata("/proc/self").map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0).unwrap_or(false);
    let sigcorr = assert_cmd::cargo::cargo_bin("sigcorr");
    let mut cmd = if root {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"]).arg(&sigcorr);
        c
    } else {
        Command::new(&sigcorr)
    };
    let out = cmd.args(["run", "--now", NOW, "logs"]).current_dir(t.dir.path()).stdin(Stdio::null()).output().unwrap();
    mode(&t.path("logs/locked"), 0o755);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("warning: logs/locked: cannot read the directory: Permission denied"), "{stderr}");
    assert!(stderr.contains("240  MicrosoftGraphActivityLogs") && stderr.contains("1  inputs unreadable"), "{stderr}");
}

/// A tests file's `records: {T: {file: ...}}` naming `/dev/zero` (or a
/// file too large) is an error of that tests file, not a run that never
/// ends, in `test` and in `lint`.
#[test]
fn a_records_file_that_never_ends_is_an_error() {
    let seed = std::fs::read_to_string(repo().join("rules/entra/service_principal_token_ip_mismatch.yml")).unwrap();
    let tests = "- name: zeros\n  records:\n    MicrosoftGraphActivityLogs: {file: /dev/zero}\n  expect: []\n";
    for command in ["test", "lint"] {
        let t = Test::new().file("r.yml", &seed).file("r.tests.yml", tests).args([command, "r.yml"]);
        let run = t.run();
        assert_ne!(run.code, 0, "{command}: {}", run.stderr);
        let all = format!("{}{}", run.stdout, run.stderr);
        assert!(all.contains("cannot read records file `/dev/zero`: not a regular file"), "{command}: {all}");
    }
}
