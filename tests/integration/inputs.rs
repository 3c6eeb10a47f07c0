//! Real log inputs: both record shapes, every container, standard input,
//! and bad input that is reported, counted and never costs the rest.

use std::io::Write;
use std::path::Path;

use serde_json::{Value, json};
use sigcorr_datagen::{Config, Dataset, Shape, Table, generate, reference_alerts, render};

use crate::common::{Run, T1528_ID, Test};

const NOW: &str = "2026-07-16T12:00:00Z";

fn dataset() -> Dataset {
    generate(&Config { seed: 11, graph: 900, signins: 150, other_tables: 30, ..Config::default() })
}

/// The dataset as NDJSON in one shape, one buffer per table.
fn render_tables(ds: &Dataset, shape: Shape, crlf: bool) -> Vec<(Table, Vec<u8>)> {
    let mut out: Vec<(Table, Vec<u8>)> = Vec::new();
    for ev in ds.events() {
        let t = ev.table();
        let i = match out.iter().position(|(x, _)| *x == t) {
            Some(i) => i,
            None => {
                out.push((t, Vec::new()));
                out.len() - 1
            }
        };
        render(&ev, shape, crlf, &mut out[i].1);
    }
    out
}

/// The dataset as one NDJSON buffer.
fn ndjson(ds: &Dataset, shape: Shape, crlf: bool) -> Vec<u8> {
    render_tables(ds, shape, crlf).into_iter().flat_map(|(_, b)| b).collect()
}

fn values(ndjson: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(ndjson).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(data).unwrap();
    gz.finish().unwrap()
}

/// `{"records": [...]}` bodies of up to 7 records, one per line.
fn bodies(records: &[Value]) -> Vec<u8> {
    records.chunks(7).map(|c| format!("{}\n", json!({ "records": c }))).collect::<String>().into_bytes()
}

fn run_on(test: Test, inputs: &[&str]) -> Run {
    test.args(["run", "--now", NOW]).args(inputs).run()
}

/// Rule id and output fields of every alert, sorted: what must not depend on
/// the container or shape (evidence paths do).
fn alert_fields(run: &Run) -> Vec<String> {
    let mut out: Vec<String> =
        run.alerts().iter().map(|a| format!("{} {}", a.rule.id, serde_json::to_string(&a.fields).unwrap())).collect();
    out.sort();
    out
}

/// The summary's counts: (lines, records read, evaluated, other, malformed).
fn accounting(stderr: &str) -> (u64, u64, u64, u64, u64) {
    let head = stderr.lines().find(|l| l.starts_with("sigcorr: read ")).unwrap_or_else(|| panic!("{stderr}"));
    let num = |s: &str| s.trim().parse::<u64>().unwrap();
    let lines = num(head["sigcorr: read ".len()..].split(" lines").next().unwrap());
    let records = num(head.split(" (").nth(1).unwrap().split(" records").next().unwrap());
    let (mut evaluated, mut other, mut malformed) = (0, 0, 0);
    for l in stderr.lines().skip_while(|l| !l.starts_with("sigcorr: read ")).skip(1) {
        let Some((n, what)) = l.trim().split_once("  ") else { continue };
        let Ok(n) = n.parse::<u64>() else { continue };
        let what = what.trim();
        if what.starts_with("other tables") {
            other += n;
        } else if what.starts_with("malformed records") {
            malformed += n;
        } else if ["MicrosoftGraphActivityLogs", "AADServicePrincipalSignInLogs", "AADManagedIdentitySignInLogs"]
            .contains(&what)
        {
            evaluated += n;
        }
    }
    (lines, records, evaluated, other, malformed)
}

/// Every record read is evaluated, of another table, or malformed.
fn assert_accounted(run: &Run) -> (u64, u64, u64, u64, u64) {
    let a = accounting(&run.stderr);
    assert_eq!(a.1, a.2 + a.3 + a.4, "records read = evaluated + other + malformed\n{}", run.stderr);
    a
}

#[test]
fn every_shape_and_container_gives_the_same_alerts() {
    let ds = dataset();
    let la = ndjson(&ds, Shape::LogAnalytics, false);
    let diag = ndjson(&ds, Shape::Diagnostic, true);
    assert!(diag.windows(2).any(|w| w == b"\r\n"), "the diagnostic file has CRLF line ends");
    let (la_values, diag_values) = (values(&la), values(&diag));
    let n = la_values.len() as u64;

    let base = run_on(Test::new().file("la.json", &la), &["la.json"]);
    base.code(0);
    let want = alert_fields(&base);
    let t1528 = base.alerts().iter().filter(|a| a.rule.id == T1528_ID).count();
    assert_eq!(t1528, reference_alerts(&ds).len(), "the generator's model agrees on the T1528 alerts");
    assert!(t1528 > 10, "the dataset exercises the rule");
    assert_eq!(assert_accounted(&base), (n, n, n - 30, 30, 0));

    let bom = [b"\xef\xbb\xbf".as_slice(), &diag].concat();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("diagnostic NDJSON, CRLF, BOM", bom),
        ("LA JSON array, pretty", serde_json::to_vec_pretty(&la_values).unwrap()),
        ("diagnostic JSON array, compact", serde_json::to_vec(&diag_values).unwrap()),
        ("diagnostic records bodies, one per line", bodies(&diag_values)),
        (
            "diagnostic records body, one per file",
            serde_json::to_vec_pretty(&json!({ "records": diag_values })).unwrap(),
        ),
        ("LA NDJSON gzipped", gzip(&la)),
        ("diagnostic CRLF NDJSON gzipped", gzip(&diag)),
        ("LA JSON array gzipped", gzip(&serde_json::to_vec_pretty(&la_values).unwrap())),
        ("diagnostic records bodies gzipped", gzip(&bodies(&diag_values))),
    ];
    for (what, bytes) in cases {
        // No `.gz`: gzip is recognised by its magic bytes.
        let run = run_on(Test::new().file("logs/in.json", &bytes), &["logs"]);
        assert_eq!(run.code, 0, "{what}: {}", run.stderr);
        assert_eq!(alert_fields(&run), want, "{what}");
        let (_, records, evaluated, other, malformed) = assert_accounted(&run);
        assert_eq!((records, evaluated, other, malformed), (n, n - 30, 30, 0), "{what}");
    }
}

#[test]
fn shapes_mix_in_one_run_and_join_across_shapes() {
    let ds = dataset();
    let want =
        alert_fields(&run_on(Test::new().file("la.json", ndjson(&ds, Shape::LogAnalytics, false)), &["la.json"]));
    let la = render_tables(&ds, Shape::LogAnalytics, false);
    let diag = render_tables(&ds, Shape::Diagnostic, true);
    let pick = |tables: &[(Table, Vec<u8>)], graph: bool| -> Vec<u8> {
        tables
            .iter()
            .filter(|(t, _)| (*t == Table::MicrosoftGraphActivityLogs) == graph)
            .flat_map(|(_, b)| b.clone())
            .collect()
    };
    // Graph activity from Log Analytics, sign-ins from a storage export; and the other way round.
    let run = run_on(
        Test::new().file("graph.json", pick(&la, true)).file("signins.json", pick(&diag, false)),
        &["graph.json", "signins.json"],
    );
    run.code(0);
    assert_eq!(alert_fields(&run), want);
    let run = run_on(
        Test::new().file("graph.json.gz", gzip(&pick(&diag, true))).file("signins.json", pick(&la, false)),
        &["graph.json.gz", "signins.json"],
    );
    run.code(0);
    assert_eq!(alert_fields(&run), want);
    assert!(run.stderr.contains("Log Analytics rows + "), "{}", run.stderr);
    // Both shapes interleaved line by line in one file.
    let mixed: Vec<u8> = String::from_utf8(ndjson(&ds, Shape::LogAnalytics, false))
        .unwrap()
        .lines()
        .zip(String::from_utf8(ndjson(&ds, Shape::Diagnostic, false)).unwrap().lines())
        .enumerate()
        .map(|(i, (a, d))| format!("{}\n", if i % 2 == 0 { a } else { d }))
        .collect::<String>()
        .into_bytes();
    let run = run_on(Test::new().file("mixed.json", mixed), &["mixed.json"]);
    run.code(0);
    assert_eq!(alert_fields(&run), want);
}

/// One sign-in and one Graph call from another IP: one T1528 alert.
pub(crate) fn la_pair() -> (Value, Value) {
    let signin = json!({
        "Type": "AADServicePrincipalSignInLogs", "TimeGenerated": "2026-07-16T01:00:00Z",
        "UniqueTokenIdentifier": "uti-1", "IPAddress": "203.0.113.7", "ServicePrincipalName": "agent",
        "ServicePrincipalId": "sp", "ServicePrincipalCredentialKeyId": "key"
    });
    let graph = json!({
        "Type": "MicrosoftGraphActivityLogs", "TimeGenerated": "2026-07-16T02:00:00.0000000Z", "SignInActivityId": "uti-1",
        "IPAddress": "198.51.100.9", "ResponseStatusCode": 200, "ServicePrincipalId": "sp",
        "RequestUri": "https://graph.microsoft.com/v1.0/users", "RequestMethod": "GET"
    });
    (signin, graph)
}

/// The same pair as diagnostic-settings records, with the export's type quirks.
fn diag_pair() -> (Value, Value) {
    let signin = json!({
        "time": "2026-07-16T01:07:00Z", "category": "ServicePrincipalSignInLogs", "level": "4",
        "operationName": "Sign-in activity", "durationMs": 0,
        "properties": {
            "createdDateTime": "2026-07-16T01:00:00+00:00", "uniqueTokenIdentifier": "uti-1",
            "ipAddress": "203.0.113.7", "servicePrincipalName": "agent", "servicePrincipalId": "sp",
            "servicePrincipalCredentialKeyId": "key", "C_Idtyp": "app"
        }
    });
    let graph = json!({
        "time": "2026-07-16T02:00:00Z", "category": "MicrosoftGraphActivityLogs", "durationMs": "31",
        "resultSignature": "200", "callerIpAddress": "198.51.100.9",
        "properties": {
            "timeGenerated": "2026-07-16T02:00:00.0000000Z", "signInActivityId": "uti-1", "ipAddress": "198.51.100.9",
            "responseStatusCode": "200", "clientAuthMethod": "2", "servicePrincipalId": "sp",
            "requestUri": "https://graph.microsoft.com/v1.0/users", "requestMethod": "GET", "durationMs": 31
        }
    });
    (signin, graph)
}

fn t1528(run: &Run) -> Vec<crate::common::Alert> {
    run.alerts().into_iter().filter(|a| a.rule.id == T1528_ID).collect()
}

#[test]
fn hand_written_diagnostic_records_give_the_log_analytics_alert() {
    let (s, g) = la_pair();
    let la = run_on(Test::new().records("la.json", &[s, g]), &["la.json"]);
    la.code(0);
    let (s, g) = diag_pair();
    let diag = run_on(Test::new().records("d.json", &[s, g]), &["d.json"]);
    diag.code(0);
    assert_eq!(t1528(&diag).len(), 1, "{}", diag.stderr);
    assert_eq!(t1528(&diag)[0].fields, t1528(&la)[0].fields);
    assert_eq!(t1528(&diag)[0].fields["SigninInIPAddress"], json!("203.0.113.7"));
    assert_eq!(t1528(&diag)[0].evidence["signin"], "d.json:1");
}

#[test]
fn array_evidence_names_the_line_where_each_record_starts() {
    let (s, g) = la_pair();
    let text = serde_json::to_string_pretty(&json!([s, {"Type": "SigninLogs"}, g])).unwrap();
    let run = run_on(Test::new().file("q.json", &text), &["q.json"]);
    run.code(0);
    let a = &t1528(&run)[0];
    let lines: Vec<&str> = text.lines().collect();
    for (alias, key) in [("signin", "\"UniqueTokenIdentifier\""), ("activity", "\"SignInActivityId\"")] {
        let line: usize = a.evidence[alias].strip_prefix("q.json:").unwrap().parse().unwrap();
        assert_eq!(lines[line - 1].trim(), "{", "{alias}");
        assert!(lines[line..].iter().take_while(|l| l.trim() != "}," && l.trim() != "}").any(|l| l.contains(key)));
    }
}

#[test]
fn standard_input_is_read_as_dash() {
    let (s, g) = la_pair();
    let text = format!("{s}\n{g}\n");
    let run = Test::new().stdin(text.clone()).args(["run", "--now", NOW, "-"]).run();
    run.code(0);
    assert_eq!(t1528(&run)[0].evidence["activity"], "-:2");
    // gzip on standard input too, next to a file.
    let (ds, dg) = diag_pair();
    let run = Test::new()
        .file("g.json", format!("{dg}\n"))
        .stdin(gzip(format!("{ds}\n").as_bytes()))
        .args(["run", "--now", NOW, "g.json", "-"])
        .run();
    run.code(0);
    assert_eq!(t1528(&run)[0].evidence["signin"], "-:1");
    Test::new().args(["run", "-", "-"]).run().code(2);
}

/// Lines of `good` with bad lines inserted: (text, 1-based numbers of the bad lines).
fn with_bad_lines(good: &str, bad: &[&[u8]], every: usize) -> (Vec<u8>, Vec<usize>) {
    let mut out = Vec::new();
    let mut bad_at = Vec::new();
    let mut line = 0;
    let mut b = bad.iter();
    for (i, l) in good.lines().enumerate() {
        if i % every == every - 1
            && let Some(junk) = b.next()
        {
            out.extend_from_slice(junk);
            out.push(b'\n');
            line += 1;
            bad_at.push(line);
        }
        out.extend_from_slice(l.as_bytes());
        out.push(b'\n');
        line += 1;
    }
    (out, bad_at)
}

#[test]
fn malformed_lines_are_reported_and_the_rest_gives_the_same_alerts() {
    let ds = dataset();
    let la = String::from_utf8(ndjson(&ds, Shape::LogAnalytics, false)).unwrap();
    let clean = run_on(Test::new().file("in.json", &la), &["in.json"]);
    clean.code(0);
    // Blank lines are no records: `hostile_inputs::blank_lines_are_lines_but_not_records`.
    let bad: [&[u8]; 5] = [
        br#"{"Type": "MicrosoftGraphActivityLogs", "IPAddress": "#,
        b"\x00\x9f\xff binary \x1b junk",
        b"42",
        b"{\"Type\": \"MicrosoftGraphActivityLogs\", \"IPAddress\": \xff\xfe}",
        br#"{"records": [{"Type": "X"}, "#,
    ];
    let (text, bad_at) = with_bad_lines(&la, &bad, 97);
    assert_eq!(bad_at.len(), bad.len());
    let run = run_on(Test::new().file("in.json", &text), &["in.json"]);
    run.code(3);
    assert_eq!(alert_fields(&run), alert_fields(&clean));
    for (line, what) in bad_at.iter().zip([
        "invalid JSON",
        "not valid UTF-8",
        "a record must be a JSON object, found a number",
        "not valid UTF-8",
        // The body's one record is read; the cut after it is reported.
        "record 2 of the `records` body: invalid JSON",
    ]) {
        let want = format!("warning: in.json:{line}: {what}");
        assert!(run.stderr.contains(&want), "{want}\n{}", run.stderr);
    }
    let (lines, records, _, _, malformed) = assert_accounted(&run);
    assert_eq!((lines, records, malformed), (la.lines().count() as u64 + 5, la.lines().count() as u64 + 6, 5));
    // Evidence still names the right lines: the same records as in the clean file.
    let record_at = |text: &[u8], ev: &str| -> String {
        let n: usize = ev.rsplit(':').next().unwrap().parse().unwrap();
        String::from_utf8_lossy(text.split(|&b| b == b'\n').nth(n - 1).unwrap()).into_owned()
    };
    let evidence = |r: &Run, text: &[u8]| -> Vec<String> {
        let mut v: Vec<String> = r
            .alerts()
            .iter()
            .flat_map(|a| a.evidence.values().map(|e| record_at(text, e)).collect::<Vec<_>>())
            .collect();
        v.sort();
        v
    };
    assert_eq!(evidence(&run, &text), evidence(&clean, la.as_bytes()));
    // --strict: an error, and the alerts are still printed.
    let strict = Test::new().file("in.json", &text).args(["run", "--strict", "--now", NOW, "in.json"]).run();
    strict.code(2);
    assert_eq!(alert_fields(&strict), alert_fields(&clean));
    assert!(strict.stderr.contains("error: some input was skipped (--strict)"), "{}", strict.stderr);
}

/// A string whose escape does not decode (a lone surrogate) is read as
/// empty where a rule reads it, and reported as a value of the wrong type
/// is; in a field no rule reads of that table (a sign-in column, in a Graph
/// record), it does not matter. Either way the record is read.
#[test]
fn a_string_that_does_not_decode_is_read_as_empty_only_where_it_is_read() {
    let (s, mut g) = la_pair();
    g["ServicePrincipalName"] = json!("x");
    let lone = |v: &Value, key: &str| v.to_string().replace(&format!("\"{key}\":\""), &format!("\"{key}\":\"\\ud800"));
    // The last record also has values of the wrong type: each is reported.
    let mut typos = g.clone();
    (typos["ResponseStatusCode"], typos["TimeGenerated"]) = (json!("abc"), json!("nope"));
    let lines = format!(
        "{s}\n{}\n{}\n{}\n",
        lone(&g, "ServicePrincipalName"),
        lone(&g, "IPAddress"),
        lone(&typos, "IPAddress")
    );
    assert!(lines.contains(r#""IPAddress":"\ud800198."#), "{lines}");
    let run = run_on(Test::new().file("a.json", &lines), &["a.json"]);
    run.code(0);
    // Line 3's IP address is empty, so it differs from the sign-in's: an
    // alert, as Kusto's would be; line 4's status is empty, so no alert.
    let ips: Vec<Value> = t1528(&run).iter().map(|a| a.fields["ActivityIPAddress"].clone()).collect();
    assert_eq!(ips, [json!("198.51.100.9"), json!("")], "{}", run.stderr);
    for line in [3, 4] {
        let want = format!("warning: a.json:{line}: `IPAddress` is \"\\ud800198.51.100.9\", not valid Unicode");
        assert!(run.stderr.contains(&want), "{want}\n{}", run.stderr);
    }
    assert!(run.stderr.contains("4  values that do not fit their column, read as empty"), "{}", run.stderr);
    assert!(!run.stderr.contains("ServicePrincipalName"), "{}", run.stderr);
    assert_eq!(assert_accounted(&run), (4, 4, 4, 0, 0));
}

#[test]
fn only_twenty_problems_are_shown_then_a_count_per_file() {
    let junk = "x\n".repeat(25);
    let run = run_on(
        Test::new().file("a.json", &junk).file("b.json", "y\n{\"Type\":\"SigninLogs\"}\n"),
        &["a.json", "b.json"],
    );
    run.code(3);
    assert_eq!(run.stderr.matches("warning: a.json:").count(), 20, "{}", run.stderr);
    assert!(run.stderr.contains("warning: ... and 6 more problems: a.json 5, b.json 1"), "{}", run.stderr);
    assert_eq!(assert_accounted(&run), (27, 27, 0, 1, 26));
}

#[test]
fn bad_records_inside_arrays_and_bodies_are_reported_with_their_line() {
    let (s, g) = la_pair();
    let array = format!("[\n{s},\n42,\n{{\"Type\": \"X\", }},\n{g}\n]\n");
    let run = run_on(Test::new().file("a.json", &array), &["a.json"]);
    run.code(3);
    assert_eq!(t1528(&run).len(), 1);
    assert!(run.stderr.contains("warning: a.json:3: a record must be a JSON object, found a number"), "{}", run.stderr);
    assert!(run.stderr.contains("warning: a.json:4: invalid JSON"), "{}", run.stderr);
    assert_eq!(assert_accounted(&run).1, 4);
    let body = format!("{}\n", json!({"records": [s, 7, g]}));
    let run = run_on(Test::new().file("b.json", &body), &["b.json"]);
    run.code(3);
    assert_eq!(t1528(&run).len(), 1);
    assert!(
        run.stderr.contains("warning: b.json:1: record 2 of the `records` body: a record must be a JSON object"),
        "{}",
        run.stderr
    );
}

#[test]
fn wrong_typed_values_are_coerced_like_kusto_or_read_as_empty_and_reported() {
    let (s, mut g) = la_pair();
    g["ResponseStatusCode"] = json!("200");
    let run = run_on(Test::new().records("in.json", &[s.clone(), g.clone()]), &["in.json"]);
    run.code(0);
    assert_eq!(t1528(&run).len(), 1, "\"200\" is coerced to a long");
    g["ResponseStatusCode"] = json!("OK");
    let run = run_on(Test::new().records("in.json", &[s, g]), &["in.json"]);
    run.code(0); // Not skipped input: the record is evaluated, as Kusto would, with the value empty.
    assert_eq!(t1528(&run).len(), 0, "an empty status is not between 100 and 300");
    assert!(
        run.stderr.contains("warning: in.json:2: `ResponseStatusCode` is \"OK\", not a long; read as empty"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("1  values that do not fit their column, read as empty"), "{}", run.stderr);
}

#[test]
fn truncated_gzip_keeps_what_was_read_and_is_reported() {
    let ds = dataset();
    let la = ndjson(&ds, Shape::LogAnalytics, false);
    let gz = gzip(&la);
    let run = run_on(Test::new().file("in.json.gz", &gz[..gz.len() * 2 / 3]), &["in.json.gz"]);
    run.code(3);
    assert!(run.stderr.contains("truncated or corrupt gzip stream"), "{}", run.stderr);
    let full = alert_fields(&run_on(Test::new().file("in.json", &la), &["in.json"]));
    let part = alert_fields(&run);
    assert!(!part.is_empty() && part.len() < full.len(), "{} of {}", part.len(), full.len());
    assert_accounted(&run);
}

#[test]
fn empty_and_unreadable_files_are_reported_and_the_rest_is_read() {
    let (s, g) = la_pair();
    let mut test = Test::new().file("logs/empty.json", "").records("logs/pair.json", &[s, g]);
    test = test.file("logs/README.md", "# notes").file("logs/.hidden.json", "junk");
    #[cfg(unix)]
    std::os::unix::fs::symlink(test.path("logs/missing"), test.path("logs/dangling.json")).unwrap();
    let run = run_on(test, &["logs"]);
    run.code(3);
    assert_eq!(t1528(&run).len(), 1);
    assert!(run.stderr.contains("empty.json: empty file"), "{}", run.stderr);
    #[cfg(unix)]
    assert!(run.stderr.contains("dangling.json: cannot read file"), "{}", run.stderr);
    assert!(run.stderr.contains("note: skipped"), "{}", run.stderr);
    assert!(run.stderr.contains("README.md: documentation"), "{}", run.stderr);
    assert!(!run.stderr.contains("hidden"), "{}", run.stderr);
}

#[test]
fn table_definitions_match_the_generators_path_table() {
    let catalog = sigcorr::table::Catalog::builtin();
    for t in
        [Table::MicrosoftGraphActivityLogs, Table::AADServicePrincipalSignInLogs, Table::AADManagedIdentitySignInLogs]
    {
        let name = format!("{t:?}");
        let def = catalog.get(&name).unwrap();
        let mappings = t.diagnostic_paths();
        for col in &def.columns {
            if col.name == "Type" {
                continue;
            }
            let m = mappings.iter().find(|m| m.column == col.name).unwrap_or_else(|| panic!("{name}.{}", col.name));
            assert_eq!(
                def.diagnostic_path(&col.name).map(|p| p.join(".")),
                m.path.map(str::to_string),
                "{name}.{}",
                col.name
            );
        }
        assert_eq!(mappings.len(), def.columns.len(), "{name}: every column and no other");
    }
}

mod property {
    use super::*;
    use proptest::prelude::*;
    use sigcorr::input::InputFile;

    struct Engine {
        plan: sigcorr::plan::Plan,
        now: i64,
    }

    fn engine() -> Engine {
        let catalog = sigcorr::table::Catalog::builtin();
        let files = sigcorr::read_rule_files(&[]).unwrap();
        let (rules, diags) = sigcorr::compile_rules(&files, &catalog);
        assert!(diags.iter().all(|d| !d.is_error()));
        Engine { plan: sigcorr::plan::plan(rules, &catalog), now: sigcorr::datetime::parse(NOW).unwrap() }
    }

    fn alerts(e: &Engine, path: &Path) -> (Vec<String>, sigcorr::engine::Stats) {
        let out = sigcorr::engine::run(&e.plan, &[InputFile::file(path)], e.now);
        let mut v: Vec<String> = out
            .alerts
            .iter()
            .map(|a| format!("{} {}", a.rule, a.fields.iter().collect::<Vec<_>>().join("|")))
            .collect();
        v.sort();
        (v, out.stats)
    }

    fn small() -> Vec<String> {
        let ds = generate(&Config { seed: 3, graph: 250, signins: 50, other_tables: 5, ..Config::default() });
        let la = String::from_utf8(ndjson(&ds, Shape::LogAnalytics, false)).unwrap();
        let diag = String::from_utf8(ndjson(&ds, Shape::Diagnostic, true)).unwrap();
        // Half the records in each shape.
        la.lines()
            .zip(diag.split_inclusive('\n'))
            .enumerate()
            .map(|(i, (a, d))| if i % 2 == 0 { format!("{a}\n") } else { d.to_string() })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn junk_between_lines_never_changes_the_alerts(
            junk in proptest::collection::vec((1usize..400, proptest::collection::vec(any::<u8>(), 0..60)), 1..8)
        ) {
            use std::sync::OnceLock;
            static CASE: OnceLock<(Engine, Vec<String>, Vec<String>)> = OnceLock::new();
            let (e, lines, want) = CASE.get_or_init(|| {
                let e = engine();
                let lines = small();
                let dir = tempfile::tempdir().unwrap();
                let p = dir.path().join("clean.json");
                std::fs::write(&p, lines.concat()).unwrap();
                let want = alerts(&e, &p).0;
                assert!(!want.is_empty());
                (e, lines, want)
            });
            let mut text: Vec<u8> = Vec::new();
            let mut inserted = 0u64;
            for (i, l) in lines.iter().enumerate() {
                text.extend_from_slice(l.as_bytes());
                for (at, bytes) in &junk {
                    if at % lines.len() == i {
                        text.extend_from_slice(bytes);
                        text.push(b'\n');
                        inserted += 1 + bytes.iter().filter(|&&b| b == b'\n').count() as u64;
                    }
                }
            }
            let dir = tempfile::tempdir().unwrap();
            let p = dir.path().join("junk.json");
            std::fs::write(&p, &text).unwrap();
            let (got, stats) = alerts(e, &p);
            prop_assert_eq!(&got, want);
            prop_assert_eq!(stats.lines, lines.len() as u64 + inserted);
            let evaluated: u64 = stats.records.iter().sum();
            let other: u64 = stats.other.values().sum();
            prop_assert_eq!(stats.entries, evaluated + other + stats.malformed);
        }
    }
}

/// The library's inputs that are not paths: bytes and readers, each with a
/// name. Every kind, and every way of reading a file (mapped or read, small
/// blocks), gives the generator's reference alerts for the shipped rule, in
/// the same order, with evidence named as the input was.
mod library_inputs {
    use super::*;
    use sigcorr::engine::{Options, Outcome};
    use sigcorr::input::{InputFile, ReadOptions};

    fn plan() -> sigcorr::plan::Plan {
        let catalog = sigcorr::table::Catalog::builtin();
        let (rules, diags) = sigcorr::compile_rules(&sigcorr::read_rule_files(&[]).unwrap(), &catalog);
        assert!(diags.iter().all(|d| !d.is_error()));
        sigcorr::plan::plan(rules, &catalog)
    }

    /// Each alert: rule, evidence as `name:line`, and its fields' JSON texts.
    fn shown(outcome: &Outcome, files: &[InputFile]) -> Vec<String> {
        let alert = |a: &sigcorr::engine::Alert| {
            let evidence: Vec<String> = a.evidence.iter().map(|&p| sigcorr::emit::evidence(files, p)).collect();
            format!("{} {} {}", a.rule, evidence.join(","), a.fields.iter().collect::<Vec<_>>().join("|"))
        };
        outcome.alerts.iter().map(alert).collect()
    }

    #[test]
    fn bytes_and_readers_give_the_alerts_of_the_same_text_in_a_file() {
        let (ds, plan) = (dataset(), plan());
        let now = sigcorr::datetime::parse(NOW).unwrap();
        let text = ndjson(&ds, Shape::LogAnalytics, false);
        let t1528 = plan.rules.iter().position(|r| r.id() == T1528_ID).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logs.ndjson");
        std::fs::write(&path, &text).unwrap();

        let run = |input: InputFile, read: ReadOptions| {
            let files = [input];
            let outcome = sigcorr::engine::run_with(&plan, &files, now, Options { read, ..Options::default() });
            assert!(outcome.problems.is_empty(), "{:?}", outcome.problems.first());
            (shown(&outcome, &files), outcome)
        };
        let (file, outcome) = run(InputFile::file(&path), ReadOptions::default());
        let n = outcome.alerts.iter().filter(|a| a.rule == t1528).count();
        assert_eq!(n, reference_alerts(&ds).len(), "the generator's model agrees on the T1528 alerts");
        assert!(n > 10, "the dataset exercises the rule");
        assert_eq!(outcome.stats.entries, values(&text).len() as u64);
        // As a file, but named "logs.ndjson" (evidence names the input).
        let name = |shown: Vec<String>| shown.join("\n").replace(&path.display().to_string(), "logs.ndjson");
        let want = name(file);

        let small = ReadOptions { block_bytes: 4096, mmap: true, ..ReadOptions::default() };
        let read = ReadOptions { block_bytes: 4096, mmap: false, ..ReadOptions::default() };
        assert!(text.len() > 10 * 4096, "small blocks cut the input many times");
        assert_eq!(name(run(InputFile::file(&path), small).0), want, "mapped, 4 KiB blocks");
        assert_eq!(name(run(InputFile::file(&path), read).0), want, "read(), 4 KiB blocks");
        let bytes = InputFile::bytes("logs.ndjson", text.clone());
        assert!(bytes.rereadable(), "bytes are read in two passes, as a file is");
        assert_eq!(run(bytes, small).0.join("\n"), want, "bytes");
        assert_eq!(run(InputFile::bytes("logs.ndjson", gzip(&text)), small).0.join("\n"), want, "gzipped bytes");
        let reader = InputFile::reader("logs.ndjson", std::io::Cursor::new(text.clone()));
        assert!(!reader.rereadable(), "a reader is read in one pass, as standard input is");
        assert_eq!(run(reader, small).0.join("\n"), want, "a reader");
    }

    #[test]
    fn a_reader_read_twice_is_a_problem_of_its_input_not_a_crash() {
        let plan = plan();
        let reader = InputFile::reader("once", std::io::Cursor::new(b"{}\n".to_vec()));
        // The same reader twice: the second is used up.
        let outcome = sigcorr::engine::run(&plan, &[reader.clone(), reader], 0);
        let problems: Vec<(u32, u32, &str)> =
            outcome.problems.iter().map(|p| (p.pos.file, p.pos.line, p.message.as_str())).collect();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert_eq!((problems[1].0, problems[1].1), (1, 0), "the second input could not be read: {problems:?}");
        assert!(problems[1].2.contains("already read"), "{problems:?}");
    }
}
