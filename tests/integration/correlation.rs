//! Sigma correlation rules end to end: each type over hand-written sign-ins
//! (shuffled: logs are not in time order), window edges, bursts, aliases,
//! chaining, `generate`, a correlation over the shipped join rule, and the
//! event_count/value_count windows against DuckDB SQL written for the test.

use serde_json::{Value, json};

use crate::common::Test;

const HOUR: &str = "2026-07-16T10";

/// A Sigma detection rule named `name` over sign-ins, selecting `selection`
/// (the body of `selection:`, indented four spaces).
fn detection(name: &str, selection: &str) -> String {
    format!(
        "title: {name}\nid: {id}\nname: {name}\nstatus: test\nlevel: low\nlogsource:\n  product: azure\n  service: signinlogs\ndetection:\n  selection:\n{selection}\n  condition: selection\n",
        id = uuid(name)
    )
}

/// A Sigma correlation named `name`: `body` is the `correlation:` section's
/// lines, indented two spaces.
fn correlation(name: &str, body: &str) -> String {
    format!("title: {name}\nid: {id}\nname: {name}\nstatus: test\nlevel: high\ncorrelation:\n{body}", id = uuid(name))
}

fn uuid(name: &str) -> String {
    crate::sigma::uuid_of(name)
}

/// A sign-in at `10:mm:ss` of the test hour.
fn signin(time: &str, user: &str, ip: &str, result: &str) -> Value {
    json!({"Type": "SigninLogs", "TimeGenerated": format!("{HOUR}:{time}Z"), "UserPrincipalName": user,
           "IPAddress": ip, "ResultType": result, "DurationMs": 100})
}

/// Runs `rules` (one file) over `records` (written in the given order) and
/// returns the alerts as JSON.
fn run(rules: &[String], records: &[Value], extra: &[&str]) -> Vec<Value> {
    let run = Test::new()
        .file("rules.yml", rules.join("---\n"))
        .records("logs.json", records)
        .args(["run", "--rules", "rules.yml", "logs.json"])
        .args(extra)
        .run();
    run.code(0);
    run.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// `(rule title, group-by values, count, first, last)` of each alert.
fn brief(alerts: &[Value]) -> Vec<String> {
    alerts
        .iter()
        .map(|a| {
            let f = a["fields"].as_object().unwrap();
            // The group-by values: every field but the fixed ones (keys are sorted here).
            let fixed = ["count", "first", "last", "rules", "event_count", "value_count"];
            let keys: Vec<String> = f
                .iter()
                .filter(|(k, _)| !fixed.contains(&k.as_str()) && !k.starts_with("value_"))
                .map(|(_, v)| v.as_str().map_or(v.to_string(), str::to_string))
                .collect();
            let time = |k: &str| f[k].as_str().unwrap()[11..19].to_string();
            format!(
                "{} {} n={} {}..{}",
                a["rule"]["title"].as_str().unwrap(),
                keys.join(","),
                f["count"],
                time("first"),
                time("last")
            )
        })
        .collect()
}

fn failed(time: &str, user: &str) -> Value {
    signin(time, user, "203.0.113.9", "50126")
}

fn failures() -> String {
    detection("failed_login", "    ResultType: 50126")
}

fn count_rule(condition: &str) -> String {
    correlation(
        "many_failures",
        &format!(
            "  type: event_count\n  rules: [failed_login]\n  group-by: [UserPrincipalName]\n  timespan: 10m\n  condition:\n{condition}"
        ),
    )
}

#[test]
fn event_count_fires_once_per_burst_whatever_the_input_order() {
    let mut records = vec![
        failed("00:00", "alice"),
        failed("04:00", "alice"),
        failed("02:00", "bob"),
        failed("09:00", "alice"),
        signin("09:30", "alice", "203.0.113.9", "0"),
        failed("12:00", "alice"),
        // A gap of more than ten minutes: a second burst.
        failed("40:00", "alice"),
        failed("41:00", "alice"),
        failed("42:00", "alice"),
        failed("43:00", "bob"),
    ];
    let rules = [count_rule("    gte: 3\n"), failures()];
    let want = ["many_failures alice n=4 10:00:00..10:12:00", "many_failures alice n=3 10:40:00..10:42:00"];
    assert_eq!(brief(&run(&rules, &records, &[])), want);
    records.reverse();
    assert_eq!(brief(&run(&rules, &records, &["--threads", "1"])), want, "reversed input, one thread");
    records.rotate_left(3);
    assert_eq!(brief(&run(&rules, &records, &["--threads", "2"])), want, "rotated input, two threads");
}

#[test]
fn both_ends_of_the_window_are_inside_it() {
    let rules = [count_rule("    gte: 3\n"), failures()];
    // Exactly ten minutes from the first to the third: one window.
    let exact = [failed("00:00", "alice"), failed("05:00", "alice"), failed("10:00", "alice")];
    assert_eq!(brief(&run(&rules, &exact, &[])), ["many_failures alice n=3 10:00:00..10:10:00"]);
    // A tick more: never three in ten minutes.
    let mut late = exact.to_vec();
    late[2]["TimeGenerated"] = json!(format!("{HOUR}:10:00.0000001Z"));
    assert_eq!(brief(&run(&rules, &late, &[])), Vec::<String>::new());
}

#[test]
fn the_alert_carries_its_evidence_per_referenced_rule_and_the_referenced_rule_is_not_written() {
    let records = [failed("00:00", "alice"), failed("01:00", "alice"), failed("02:00", "alice")];
    let alerts = run(&[count_rule("    gte: 3\n"), failures()], &records, &[]);
    assert_eq!(alerts.len(), 1, "only the correlation alerts: {alerts:?}");
    assert_eq!(alerts[0]["rule"]["id"], json!(uuid("many_failures")));
    assert_eq!(alerts[0]["evidence"], json!({"failed_login": ["logs.json:1", "logs.json:2", "logs.json:3"]}));
    assert_eq!(alerts[0]["fields"]["event_count"], json!(3));
    // CSV has the correlation's columns, not those of the rule it reads.
    let csv = Test::new()
        .file("rules.yml", [count_rule("    gte: 3\n"), failures()].join("---\n"))
        .records("logs.json", &records)
        .args(["run", "--format", "csv", "--rules", "rules.yml", "logs.json"])
        .run();
    assert_eq!(
        csv.stdout.lines().next(),
        Some("rule_id,rule_title,level,UserPrincipalName,count,first,last,event_count,evidence")
    );
    assert!(csv.stdout.lines().nth(1).unwrap().ends_with(",logs.json:1 logs.json:2 logs.json:3"), "{}", csv.stdout);
    // `generate: true`: the referenced rule alerts on its own too.
    let generating = count_rule("    gte: 3\n") + "generate: true\n";
    let alerts = run(&[generating, failures()], &records, &[]);
    let titles: Vec<&str> = alerts.iter().map(|a| a["rule"]["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["many_failures", "failed_login", "failed_login", "failed_login"]);
}

#[test]
fn a_range_condition_needs_both_bounds() {
    let records = [failed("00:00", "alice"), failed("01:00", "alice"), failed("00:30", "bob")];
    // gt 1 and lte 2: two failures in the window, not three.
    let rules = [count_rule("    gt: 1\n    lte: 2\n"), failures()];
    assert_eq!(brief(&run(&rules, &records, &[])), ["many_failures alice n=2 10:00:00..10:01:00"]);
}

#[test]
fn value_count_counts_distinct_values() {
    let rules = [
        correlation(
            "many_ips",
            "  type: value_count\n  rules: [any_signin]\n  group-by: [UserPrincipalName]\n  timespan: 1h\n  condition:\n    field: IPAddress\n    gte: 3\n",
        ),
        detection("any_signin", "    UserPrincipalName|exists: true"),
    ];
    let records = [
        signin("00:00", "alice", "198.51.100.1", "0"),
        signin("10:00", "alice", "198.51.100.1", "0"),
        signin("20:00", "alice", "198.51.100.2", "0"),
        signin("30:00", "bob", "198.51.100.3", "0"),
        signin("30:00", "bob", "198.51.100.4", "0"),
        signin("40:00", "alice", "198.51.100.3", "0"),
    ];
    let alerts = run(&rules, &records, &[]);
    assert_eq!(brief(&alerts), ["many_ips alice n=4 10:00:00..10:40:00"]);
    assert_eq!(alerts[0]["fields"]["value_count"], json!(3));
}

#[test]
fn temporal_needs_every_rule_and_temporal_ordered_their_order() {
    let success = detection("success", "    ResultType: 0");
    let temporal = |kind: &str| {
        correlation(
            "fail_and_success",
            &format!(
                "  type: {kind}\n  rules: [failed_login, success]\n  group-by: [UserPrincipalName]\n  timespan: 10m\n"
            ),
        )
    };
    let records = [
        // alice: failure then success; bob: success then failure; carol: failure only.
        failed("00:00", "alice"),
        signin("05:00", "alice", "198.51.100.1", "0"),
        signin("00:00", "bob", "198.51.100.1", "0"),
        failed("05:00", "bob"),
        failed("00:00", "carol"),
    ];
    let unordered = run(&[temporal("temporal"), failures(), success.clone()], &records, &[]);
    assert_eq!(
        brief(&unordered),
        ["fail_and_success alice n=2 10:00:00..10:05:00", "fail_and_success bob n=2 10:00:00..10:05:00"]
    );
    assert_eq!(unordered[0]["fields"]["rules"], json!(2));
    let ordered = run(&[temporal("temporal_ordered"), failures(), success], &records, &[]);
    assert_eq!(brief(&ordered), ["fail_and_success alice n=2 10:00:00..10:05:00"]);
    assert_eq!(ordered[0]["evidence"], json!({"failed_login": ["logs.json:1"], "success": ["logs.json:2"]}));
}

#[test]
fn the_specifications_chained_example_runs_on_sign_ins() {
    // Many failures (an event_count correlation), then a success: a
    // temporal_ordered correlation over a correlation and a rule, as in the
    // specification's "Failed Logins Followed by Successful Login".
    let rules = [
        correlation(
            "brute_force_then_success",
            "  type: temporal_ordered\n  rules:\n    - many_failures\n    - success\n  group-by:\n    - UserPrincipalName\n  timespan: 10m\n",
        ),
        count_rule("    gte: 3\n"),
        failures(),
        detection("success", "    ResultType: 0"),
    ];
    let records = [
        failed("00:00", "alice"),
        failed("01:00", "alice"),
        failed("02:00", "alice"),
        signin("03:00", "alice", "198.51.100.1", "0"),
        // bob: two failures only, then a success.
        failed("00:00", "bob"),
        failed("01:00", "bob"),
        signin("02:00", "bob", "198.51.100.1", "0"),
    ];
    let alerts = run(&rules, &records, &[]);
    // The inner correlation's alert is an event at its last time (10:02).
    assert_eq!(brief(&alerts), ["brute_force_then_success alice n=2 10:02:00..10:03:00"]);
    assert_eq!(
        alerts[0]["evidence"],
        json!({"many_failures": ["logs.json:1", "logs.json:2", "logs.json:3"], "success": ["logs.json:4"]})
    );
}

#[test]
fn aliases_group_fields_named_differently_per_rule() {
    // The same address as the sign-in's IP in one rule and as the user in
    // another (an odd pairing, but two differently named fields).
    let rules = [
        correlation(
            "ip_as_user",
            "  type: temporal\n  rules: [by_ip, by_user]\n  group-by: [who]\n  timespan: 5m\n  aliases:\n    who:\n      by_ip: IPAddress\n      by_user: UserPrincipalName\n",
        ),
        detection("by_ip", "    ResultType: 50126"),
        detection("by_user", "    ResultType: 0"),
    ];
    let records = [signin("00:00", "x", "10.0.0.1", "50126"), signin("01:00", "10.0.0.1", "y", "0")];
    let alerts = run(&rules, &records, &[]);
    assert_eq!(brief(&alerts), ["ip_as_user 10.0.0.1 n=2 10:00:00..10:01:00"]);
    assert_eq!(alerts[0]["fields"]["who"], json!("10.0.0.1"));
}

#[test]
fn value_sum_avg_median_and_percentile_read_numbers() {
    let rule = |kind: &str, condition: &str| {
        correlation(
            kind,
            &format!(
                "  type: {kind}\n  rules: [any_signin]\n  group-by: [UserPrincipalName]\n  timespan: 1h\n  condition:\n    field: DurationMs\n{condition}"
            ),
        )
    };
    let detect = detection("any_signin", "    UserPrincipalName|exists: true");
    let mut records: Vec<Value> = [100, 300, 200, 1000]
        .iter()
        .enumerate()
        .map(|(i, ms)| {
            let mut r = signin(&format!("{i:02}:00"), "alice", "198.51.100.1", "0");
            r["DurationMs"] = json!(ms);
            r
        })
        .collect();
    records.push(signin("00:00", "bob", "198.51.100.1", "0"));
    let value = |kind: &str, condition: &str| -> Vec<(String, Value)> {
        run(&[rule(kind, condition), detect.clone()], &records, &[])
            .iter()
            .map(|a| (a["fields"]["UserPrincipalName"].as_str().unwrap().to_string(), a["fields"][kind].clone()))
            .collect()
    };
    assert_eq!(value("value_sum", "    gt: 1000\n"), [("alice".to_string(), json!(1600))]);
    assert_eq!(value("value_avg", "    gte: 400\n"), [("alice".to_string(), json!(400))]);
    // Nearest rank: of 100 200 300 1000, the median is 200.
    assert_eq!(value("value_median", "    gte: 200\n"), [("alice".to_string(), json!(200))]);
    assert_eq!(value("value_percentile", "    percentile: 90\n    gte: 1000\n"), [("alice".to_string(), json!(1000))]);
    assert_eq!(value("value_median", "    gt: 200\n"), []);
}

#[test]
fn a_correlation_over_the_shipped_join_rule_groups_its_alerts() {
    // Three or more stolen-token Graph calls per service principal in an
    // hour, over the T1528 rule's alerts (its outputs are its fields).
    let rule = "title: Token theft burst\nid: 9c1d2e3f-4a5b-4c6d-8e7f-0a1b2c3d4e5f\nstatus: test\nlevel: critical\ncorrelation:\n  type: event_count\n  rules:\n    - 0428e609-07b8-42bf-a36b-d74e4e2be504\n  group-by:\n    - ServicePrincipalId\n  timespan: 1h\n  condition:\n    gte: 1\nfields:\n  - ActivityIPAddress\n";
    let run = Test::new()
        .file("burst.yml", rule)
        .args(["run", "--now", "2026-07-16T12:00:00Z", "--rules"])
        .args([crate::common::rules_dir().join(crate::common::SEED_RULES[0]).display().to_string()])
        .args(["--rules", "burst.yml"])
        .args([crate::common::repo().join("samples").display().to_string()])
        .run();
    // The samples hold malformed lines on purpose: exit 3.
    run.code(3);
    let alerts: Vec<Value> = run.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let bursts: Vec<&Value> = alerts.iter().filter(|a| a["rule"]["title"] == "Token theft burst").collect();
    assert!(!bursts.is_empty(), "{}", run.stderr);
    // The join rule's own alerts are not written; every burst's events are its alerts.
    assert!(alerts.iter().all(|a| a["rule"]["id"] != "0428e609-07b8-42bf-a36b-d74e4e2be504"));
    let events: u64 = bursts.iter().map(|a| a["fields"]["count"].as_u64().unwrap()).sum();
    // `fields`: each alert lists its calls' distinct addresses, each once.
    for a in &bursts {
        let ips: Vec<&str> =
            a["fields"]["ActivityIPAddress"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        let mut unique = ips.clone();
        unique.sort();
        unique.dedup();
        assert!(!ips.is_empty() && unique.len() == ips.len(), "{a}");
    }
    assert!(
        bursts.iter().any(|a| a["fields"]["ActivityIPAddress"].as_array().unwrap().len() > 1),
        "some burst has two addresses"
    );
    let joined = run.stderr.lines().find(|l| l.contains("matches (not written; correlated)")).unwrap();
    let matches: u64 = joined.split_whitespace().next().unwrap().parse().unwrap();
    assert_eq!(events, matches, "{}", run.stderr);
}

#[test]
fn references_and_fields_that_do_not_resolve_are_errors_at_their_line() {
    let bad = correlation(
        "broken",
        "  type: event_count\n  rules: [failed_logn]\n  group-by: [UserPrincipalName]\n  timespan: 10m\n  condition:\n    gte: 3\n",
    );
    let run = Test::new().file("rules.yml", [bad, failures()].join("---\n")).args(["lint", "rules.yml"]).run();
    run.code(1);
    assert!(
        run.stdout.contains("rules.yml:8:11: error[E121]: no rule has the id or name `failed_logn`"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("did you mean `failed_login`?"), "{}", run.stdout);
    // A cycle: two correlations referencing each other.
    let a = correlation(
        "a",
        "  type: event_count\n  rules: [b]\n  group-by: [x]\n  timespan: 10m\n  condition:\n    gte: 3\n",
    );
    let b = correlation(
        "b",
        "  type: event_count\n  rules: [a]\n  group-by: [x]\n  timespan: 10m\n  condition:\n    gte: 3\n",
    );
    let run = Test::new().file("rules.yml", [a, b].join("---\n")).args(["lint", "rules.yml"]).run();
    run.code(1);
    assert_eq!(run.stdout.matches("error[E121]: the correlation references itself").count(), 2, "{}", run.stdout);
    // A rule the correlation needs is refused: the correlation cannot run, the others do.
    let run = Test::new()
        .file(
            "rules.yml",
            [
                count_rule("    gte: 1\n"),
                detection("failed_login", "    ResultTyp: 50126"),
                detection("ok", "    ResultType: 50126"),
            ]
            .join("---\n"),
        )
        .records("logs.json", &[failed("00:00", "alice")])
        .args(["run", "--rules", "rules.yml", "logs.json"])
        .run();
    run.code(5);
    assert!(run.stderr.contains("error[E121]: rule `failed_login` has errors"), "{}", run.stderr);
    assert_eq!(run.stdout.lines().count(), 1, "the rule that compiled still runs");
}

#[test]
fn an_extended_condition_finds_absence() {
    // A failure with no success for the same user in the ten minutes after
    // it (SEP 198's extended condition; `rules` left out, as it may be).
    let rules = [
        correlation(
            "failure_not_recovered",
            "  type: temporal_ordered\n  group-by: [UserPrincipalName]\n  timespan: 10m\n  condition: failed_login and not success\n",
        ),
        failures(),
        detection("success", "    ResultType: 0"),
    ];
    let records = [
        // alice recovers within ten minutes; bob only after eleven; carol never.
        failed("00:00", "alice"),
        signin("04:00", "alice", "198.51.100.1", "0"),
        failed("00:00", "bob"),
        signin("11:00", "bob", "198.51.100.1", "0"),
        failed("30:00", "carol"),
        // dave's success comes first: no help for the failure after it.
        signin("00:00", "dave", "198.51.100.1", "0"),
        failed("01:00", "dave"),
    ];
    assert_eq!(
        brief(&run(&rules, &records, &[])),
        [
            "failure_not_recovered bob n=1 10:00:00..10:00:00",
            "failure_not_recovered dave n=1 10:01:00..10:01:00",
            "failure_not_recovered carol n=1 10:30:00..10:30:00",
        ]
    );
    // A condition naming a rule `rules` does not list is an error at its column.
    let bad = correlation(
        "x",
        "  type: temporal\n  rules: [failed_login]\n  group-by: [UserPrincipalName]\n  timespan: 10m\n  condition: failed_login and not sucess\n",
    );
    let run = Test::new().file("rules.yml", [bad, failures()].join("---\n")).args(["lint", "rules.yml"]).run();
    run.code(1);
    assert!(
        run.stdout.contains("rules.yml:11:35: error[E120]: the condition names `sucess`, which `rules` does not list"),
        "{}",
        run.stdout
    );
}

/// The example correlation under tests/correlation lints clean (its inner
/// rules need no metadata of their own), and `sigcorr test` runs its cases
/// against the outermost correlation.
#[test]
fn the_example_correlation_lints_clean_and_its_tests_pass() {
    let dir = crate::common::repo().join("tests/correlation");
    let lint = Test::new().args(["lint", "--deny", "warnings", dir.to_str().unwrap()]).run();
    lint.code(0);
    assert_eq!(lint.stderr, "1 rule file: 2 Sigma detection rules, 2 Sigma correlation rules; 0 errors, 0 warnings\n");
    let test = Test::new().args(["test", dir.to_str().unwrap()]).run();
    test.code(0);
    assert!(test.stdout.contains("test result: ok. 5 passed; 0 failed"), "{}", test.stdout);
    // Broken logic fails its cases: three failures are not five.
    let broken =
        std::fs::read_to_string(dir.join("entra_password_spray_then_success.yml")).unwrap().replace("gte: 5", "gte: 6");
    let tests = std::fs::read_to_string(dir.join("entra_password_spray_then_success.tests.yml")).unwrap();
    let run = Test::new().file("r.yml", broken).file("r.tests.yml", tests).args(["test", "r.yml"]).run();
    assert_ne!(run.code, 0);
    assert!(run.stdout.contains("1 failed"), "{}", run.stdout);
}

// ---- sigcorr's own rules: anti-join, self-join, join window -----------------

fn graph(time: &str, token: &str, ip: &str) -> Value {
    json!({"Type": "MicrosoftGraphActivityLogs", "TimeGenerated": format!("{HOUR}:{time}Z"),
           "SignInActivityId": token, "IPAddress": ip, "ResponseStatusCode": 200})
}

fn sp_signin(time: &str, token: &str, ip: &str) -> Value {
    json!({"Type": "AADServicePrincipalSignInLogs", "TimeGenerated": format!("{HOUR}:{time}Z"),
           "UniqueTokenIdentifier": token, "IPAddress": ip})
}

fn sigcorr_rule(title: &str, correlation: &str) -> String {
    format!(
        "title: {title}\nid: {id}\nstatus: test\ndescription: d\nauthor: a\nreferences:\n  - https://example.com\nfalsepositives:\n  - none\nlevel: medium\ncorrelation:\n{correlation}",
        id = uuid(title)
    )
}

/// `sigcorr run` over `records` given as a file (two passes) and as
/// standard input (one pass): both must give the same alerts, returned.
fn both_ways(rule: &str, records: &[Value]) -> Vec<Value> {
    let file = Test::new()
        .file("r.yml", rule)
        .records("logs.json", records)
        .args(["run", "--rules", "r.yml", "logs.json"])
        .run();
    file.code(0);
    let text: String = records.iter().map(|r| format!("{r}\n")).collect();
    let stdin = Test::new().file("r.yml", rule).stdin(text).args(["run", "--rules", "r.yml", "-"]).run();
    stdin.code(0);
    assert_eq!(file.stdout.replace("logs.json:", "-:"), stdin.stdout, "file and standard input differ");
    file.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn an_anti_join_alerts_on_records_that_join_nothing() {
    let rule = sigcorr_rule(
        "Graph call with a token no sign-in issued",
        "  sources:\n    activity: MicrosoftGraphActivityLogs\n    signin: [AADServicePrincipalSignInLogs, AADManagedIdentitySignInLogs]\n  kind: leftanti\n  join: activity.SignInActivityId == signin.UniqueTokenIdentifier\n  output:\n    Token: activity.SignInActivityId\n",
    );
    let records = [
        graph("00:00", "t1", "198.51.100.1"),
        graph("01:00", "t2", "198.51.100.1"),
        graph("02:00", "", "198.51.100.1"),
        sp_signin("00:00", "t1", "198.51.100.1"),
        // Many sign-ins without Graph calls: the built side is larger.
        sp_signin("00:00", "t9", "198.51.100.1"),
        sp_signin("00:00", "t8", "198.51.100.1"),
    ];
    let alerts = both_ways(&rule, &records);
    let tokens: Vec<&Value> = alerts.iter().map(|a| &a["fields"]["Token"]).collect();
    // t2 has no sign-in; the empty token joins nothing (as in Kusto).
    assert_eq!(tokens, [&json!("t2"), &json!("")]);
    assert_eq!(alerts[0]["evidence"], json!({"activity": "logs.json:2"}));
    // With a mismatch: no sign-in of the token *from the same address*.
    let same_ip = rule.replace("  output:", "  mismatch: activity.IPAddress == signin.IPAddress\n  output:");
    let records = [
        graph("00:00", "t1", "198.51.100.1"),
        graph("01:00", "t1", "203.0.113.5"),
        sp_signin("00:00", "t1", "198.51.100.1"),
    ];
    let alerts = both_ways(&same_ip, &records);
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0]["evidence"], json!({"activity": "logs.json:2"}));
}

#[test]
fn an_anti_joins_output_may_not_read_the_other_source() {
    let rule = sigcorr_rule(
        "x",
        "  sources:\n    activity: MicrosoftGraphActivityLogs\n    signin: AADServicePrincipalSignInLogs\n  kind: leftanti\n  join: activity.SignInActivityId == signin.UniqueTokenIdentifier\n  output:\n    IP: signin.IPAddress\n",
    );
    let run = Test::new().file("r.yml", rule).args(["lint", "r.yml"]).run();
    run.code(1);
    assert!(run.stdout.contains("r.yml:18:9: error[E206]: output `IP` reads `signin`"), "{}", run.stdout);
}

#[test]
fn a_self_join_with_a_join_window_pairs_one_tables_records() {
    // One token used from two addresses within an hour, in Graph activity alone.
    let rule = sigcorr_rule(
        "One token from two addresses",
        "  sources:\n    first: MicrosoftGraphActivityLogs\n    later: MicrosoftGraphActivityLogs\n  join: first.SignInActivityId == later.SignInActivityId\n  mismatch: first.IPAddress != later.IPAddress and later.TimeGenerated between (first.TimeGenerated .. first.TimeGenerated + 1h)\n  output:\n    Token: first.SignInActivityId\n    Later: later.IPAddress\n",
    );
    let records = [
        graph("00:00", "t1", "198.51.100.1"),
        graph("30:00", "t1", "203.0.113.5"),
        json!({"Type": "MicrosoftGraphActivityLogs", "TimeGenerated": "2026-07-16T11:00:00.0000001Z", "SignInActivityId": "t1", "IPAddress": "203.0.113.6"}),
        graph("05:00", "t2", "198.51.100.1"),
        graph("06:00", "t2", "198.51.100.1"),
    ];
    let alerts = both_ways(&rule, &records);
    let pairs: Vec<(String, String)> = alerts
        .iter()
        .map(|a| {
            (a["evidence"]["first"].as_str().unwrap().to_string(), a["evidence"]["later"].as_str().unwrap().to_string())
        })
        .collect();
    // 10:00 → 10:30 (another address, within the hour); 10:30 → 11:00:00.0000001
    // (within); 10:00 → 11:00:00.0000001 is a tick past the hour.
    assert_eq!(
        pairs,
        [
            ("logs.json:1".to_string(), "logs.json:2".to_string()),
            ("logs.json:2".to_string(), "logs.json:3".to_string())
        ]
    );
}

/// One group of 100,000 events in one window: every type's window work is
/// a logarithm per event at most (a sorted list per window, or a scan of
/// the window per event, took minutes here).
#[test]
fn one_huge_window_stays_fast() {
    let records: Vec<Value> = (0..100_000u32)
        .map(|i| {
            let mut r = signin(
                &format!("{:02}:{:02}", (i / 60) % 60, i % 60),
                "alice",
                "198.51.100.1",
                if i % 2 == 0 { "50126" } else { "0" },
            );
            r["DurationMs"] = json!(i % 977);
            r
        })
        .collect();
    let percentile = correlation(
        "p90",
        "  type: value_percentile\n  rules: [any_signin]\n  group-by: [UserPrincipalName]\n  timespan: 1d\n  condition:\n    field: DurationMs\n    percentile: 90\n    gte: 0\n",
    );
    let ordered = correlation(
        "ordered",
        "  type: temporal_ordered\n  rules: [failed_login, success]\n  group-by: [UserPrincipalName]\n  timespan: 1d\n",
    );
    let rules = [
        percentile,
        ordered,
        detection("any_signin", "    UserPrincipalName|exists: true"),
        failures(),
        detection("success", "    ResultType: 0"),
    ];
    let alerts = run(&rules, &records, &[]);
    let counts: Vec<(String, u64)> = alerts
        .iter()
        .map(|a| (a["rule"]["title"].as_str().unwrap().to_string(), a["fields"]["count"].as_u64().unwrap()))
        .collect();
    assert_eq!(counts, [("p90".to_string(), 100_000), ("ordered".to_string(), 100_000)]);
}

/// A chain of 10,000 correlations, each over the one before: resolved,
/// ordered and run without recursion (which overflowed the stack) or a
/// quadratic step (which took minutes).
#[test]
fn a_long_chain_of_correlations_runs() {
    let n = 10_000;
    let mut docs = vec![failures()];
    for i in 0..n {
        let over = if i == 0 { "failed_login".to_string() } else { format!("c{}", i - 1) };
        docs.push(format!(
            "title: c{i}\nname: c{i}\nlevel: low\ncorrelation:\n  type: event_count\n  rules: [{over}]\n  group-by: [UserPrincipalName]\n  timespan: 1h\n  condition:\n    gte: 1\n"
        ));
    }
    let records = [failed("00:00", "alice"), failed("01:00", "alice")];
    let alerts = run(&docs, &records, &[]);
    // Only the last correlation's alerts are written: one burst of the two failures.
    assert_eq!(brief(&alerts), [format!("c{} alice n=1 10:01:00..10:01:00", n - 1)]);
}
