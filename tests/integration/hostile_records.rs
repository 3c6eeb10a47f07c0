//! Hostile records (issue 25, items 10 to 12), against the README's promise
//! that bad input never costs the rest of the data and that the summary
//! accounts for every record read: a broken record costs only itself,
//! wherever it is (a `{"records": [...]}` body, a JSON array, a stream of
//! pretty-printed objects); a value that does not decode costs only that
//! value; a number too large for its column is reported, not clamped.

use serde_json::{Value, json};

use crate::common::{Run, T1528_ID, Test};

const NOW: &str = "2026-07-16T12:00:00Z";

/// A sign-in and a Graph call with its token from another IP: one T1528
/// alert.
fn pair() -> (Value, Value) {
    let signin = json!({
        "Type": "AADServicePrincipalSignInLogs", "TimeGenerated": "2026-07-16T01:00:00Z",
        "UniqueTokenIdentifier": "uti-1", "IPAddress": "203.0.113.7", "ServicePrincipalName": "agent",
        "ServicePrincipalId": "sp", "ServicePrincipalCredentialKeyId": "key"
    });
    let graph = json!({
        "Type": "MicrosoftGraphActivityLogs", "TimeGenerated": "2026-07-16T02:00:00.0000000Z",
        "SignInActivityId": "uti-1", "IPAddress": "198.51.100.9", "ResponseStatusCode": 200,
        "ServicePrincipalId": "sp", "RequestUri": "https://graph.microsoft.com/v1.0/users", "RequestMethod": "GET"
    });
    (signin, graph)
}

/// A record of a table no rule reads.
fn other() -> Value {
    json!({"Type": "SigninLogs", "UserPrincipalName": "someone@example.com"})
}

/// Broken records, each with what is wrong with it. The first is valid
/// structure with a bad member; the others break the structure a reader
/// must follow to find the next record.
const BROKEN: [(&str, &str); 5] = [
    (r#"{"Type": "X", }"#, "a trailing comma"),
    (r#"{"Type": "X", "UserAgent": "abc}"#, "a string that does not close"),
    (r#"{"Type": "X", "UserAgent": "abc\"}"#, "a string whose closing quote is escaped"),
    (r#"{"Type": "X", "p": {"q": 1}"#, "an object that does not close"),
    (r#"{"Type": "X", "p": [1, 2}"#, "an array closed by `}`"),
];

/// The pair around four records of other tables, with `broken` in their
/// middle: seven records, as JSON texts.
fn seven_with(broken: &str) -> Vec<String> {
    let (s, g) = pair();
    let o = other().to_string();
    vec![s.to_string(), o.clone(), o.clone(), broken.to_string(), o.clone(), o, g.to_string()]
}

fn run_on(test: Test, input: &str) -> Run {
    test.args(["run", "--now", NOW, input]).run()
}

fn t1528(run: &Run) -> usize {
    run.alerts().iter().filter(|a| a.rule.id == T1528_ID).count()
}

/// The summary's counts.
#[derive(Debug, PartialEq, Eq)]
struct Counts {
    records: u64,
    evaluated: u64,
    other: u64,
    malformed: u64,
    bad_values: u64,
}

fn counts(run: &Run) -> Counts {
    let stderr = &run.stderr;
    let head = stderr.lines().find(|l| l.starts_with("sigcorr: read ")).unwrap_or_else(|| panic!("{stderr}"));
    let records = head.split(" (").nth(1).and_then(|r| r.split(" records").next()).unwrap().trim().parse().unwrap();
    let mut c = Counts { records, evaluated: 0, other: 0, malformed: 0, bad_values: 0 };
    for l in stderr.lines().skip_while(|l| !l.starts_with("sigcorr: read ")).skip(1) {
        let Some((n, what)) = l.trim().split_once("  ") else { continue };
        let Ok(n) = n.parse::<u64>() else { continue };
        match what.trim() {
            w if w.starts_with("other tables") => c.other += n,
            w if w.starts_with("malformed records") => c.malformed += n,
            w if w.starts_with("values that do not fit their column") => c.bad_values += n,
            "MicrosoftGraphActivityLogs" | "AADServicePrincipalSignInLogs" | "AADManagedIdentitySignInLogs" => {
                c.evaluated += n
            }
            _ => {}
        }
    }
    assert_eq!(
        c.records,
        c.evaluated + c.other + c.malformed,
        "records read = evaluated + other + malformed\n{stderr}"
    );
    c
}

/// Seven records read: the pair evaluated, four of other tables, the
/// broken one malformed.
const SEVEN: Counts = Counts { records: 7, evaluated: 2, other: 4, malformed: 1, bad_values: 0 };

#[test]
fn a_broken_record_in_a_one_line_records_body_costs_only_itself() {
    for (broken, what) in BROKEN {
        let body = format!("{{\"records\": [{}]}}\n", seven_with(broken).join(","));
        let run = run_on(Test::new().file("b.json", &body), "b.json");
        assert_eq!(run.code, 3, "{what}: {}", run.stderr);
        assert_eq!(t1528(&run), 1, "{what}: the pair around the broken record\n{}", run.stderr);
        assert_eq!(counts(&run), SEVEN, "{what}");
        let want = "warning: b.json:1: record 4 of the `records` body: invalid JSON";
        assert!(run.stderr.contains(want), "{what}: {want}\n{}", run.stderr);
    }
}

#[test]
fn a_broken_record_in_a_one_line_array_costs_only_itself() {
    for (broken, what) in BROKEN {
        let array = format!("[{}]\n", seven_with(broken).join(","));
        let run = run_on(Test::new().file("a.json", &array), "a.json");
        assert_eq!(run.code, 3, "{what}: {}", run.stderr);
        assert_eq!(t1528(&run), 1, "{what}: the pair around the broken record\n{}", run.stderr);
        assert_eq!(counts(&run), SEVEN, "{what}");
        assert!(run.stderr.contains("warning: a.json:1: invalid JSON"), "{what}: {}", run.stderr);
    }
}

/// The issue's case: a string that does not close in a pretty-printed
/// array (`az monitor log-analytics query`'s output) lost the rest of the
/// file. Reading resumes at the next line that starts a record, and the
/// broken record is reported at the line where it starts.
#[test]
fn a_string_that_does_not_close_in_a_pretty_printed_array_costs_only_its_record() {
    let (s, g) = pair();
    let broken = json!({"Type": "SigninLogs", "UserAgent": "abc", "n": [{"k": 1}, {"k": 2}]});
    let text = serde_json::to_string_pretty(&json!([s, other(), broken, other(), g])).unwrap();
    let text = text.replacen("\"abc\"", "\"abc", 1);
    let lines: Vec<&str> = text.lines().collect();
    let at = lines.iter().position(|l| l.contains("\"abc")).unwrap();
    let starts = lines[..at].iter().rposition(|l| l.trim() == "{").unwrap() + 1;
    for (name, bytes) in [("pretty.json", text.clone().into_bytes()), ("pretty.json.gz", gzip(text.as_bytes()))] {
        let run = run_on(Test::new().file(name, &bytes), name);
        assert_eq!(run.code, 3, "{name}: {}", run.stderr);
        assert_eq!(t1528(&run), 1, "{name}: the Graph call after the broken record\n{}", run.stderr);
        assert_eq!(counts(&run), Counts { records: 5, evaluated: 2, other: 2, malformed: 1, bad_values: 0 }, "{name}");
        let want = format!("warning: {name}:{starts}: invalid JSON");
        assert!(run.stderr.contains(&want), "{want}\n{}", run.stderr);
    }
}

/// Pretty-printed objects one after another (as `jq` prints them): a
/// broken one costs only itself.
#[test]
fn a_string_that_does_not_close_in_a_stream_of_pretty_objects_costs_only_its_object() {
    let (s, g) = pair();
    let pretty = |v: &Value| serde_json::to_string_pretty(v).unwrap() + "\n";
    let broken = pretty(&json!({"Type": "SigninLogs", "UserAgent": "abc"})).replacen("\"abc\"", "\"abc", 1);
    let text = [pretty(&s), pretty(&other()), broken, pretty(&other()), pretty(&g)].concat();
    let starts = text.lines().position(|l| l.contains("\"abc")).unwrap() - 1;
    let run = run_on(Test::new().file("jq.json", &text), "jq.json");
    run.code(3);
    assert_eq!(t1528(&run), 1, "{}", run.stderr);
    assert_eq!(counts(&run), Counts { records: 5, evaluated: 2, other: 2, malformed: 1, bad_values: 0 });
    let want = format!("warning: jq.json:{starts}: invalid JSON");
    assert!(run.stderr.contains(&want), "{want}\n{}", run.stderr);
}

/// A body cut short (no `]}`) keeps the records it holds; the cut is
/// reported as one more malformed record.
#[test]
fn a_records_body_cut_short_keeps_its_records_and_reports_the_cut() {
    let (s, g) = pair();
    let run = run_on(Test::new().file("b.json", format!("{{\"records\": [{s}, {g}\n")), "b.json");
    run.code(3);
    assert_eq!(t1528(&run), 1, "{}", run.stderr);
    assert_eq!(counts(&run), Counts { records: 3, evaluated: 2, other: 0, malformed: 1, bad_values: 0 });
    let want = "warning: b.json:1: record 3 of the `records` body: invalid JSON";
    assert!(run.stderr.contains(want), "{want}\n{}", run.stderr);
}

/// A lone surrogate or bytes that are not UTF-8 in a string make only that
/// value empty, reported as a value of the wrong type is; in a field no
/// rule reads they do not matter at all. The record and its alert stay.
#[test]
fn a_value_that_does_not_decode_is_read_as_empty_and_its_record_kept() {
    let (s, g) = pair();
    // A sign-in column the rule outputs; in the Graph call, the user agent
    // (read by the credential rule), a column no rule reads, and a key of
    // no column.
    let s = s.to_string().replacen("\"agent\"", r#""\ud800agent""#, 1).into_bytes();
    let g = g.to_string().replacen(
        "\"Type\"",
        "\"UserAgent\":\"\u{ff}\u{fe} x\",\"ClientRequestId\":\"\\udc00\",\"Junk\":\"\u{c3}\",\"Type\"",
        1,
    );
    // The bytes 0xff, 0xfe and 0xc3 alone, not their UTF-8 encodings.
    let g: Vec<u8> = g.chars().map(|c| u8::try_from(c).unwrap()).collect();
    assert!(std::str::from_utf8(&g).is_err(), "the Graph call is not UTF-8");
    let text = [s, b"\n".to_vec(), g, b"\n".to_vec()].concat();
    let run = run_on(Test::new().file("in.json", &text), "in.json");
    run.code(0);
    let alerts: Vec<_> = run.alerts().into_iter().filter(|a| a.rule.id == T1528_ID).collect();
    assert_eq!(alerts.len(), 1, "{}", run.stderr);
    assert_eq!(alerts[0].fields["ServicePrincipalName"], json!(""), "read as empty");
    assert_eq!(alerts[0].fields["ActivityIPAddress"], json!("198.51.100.9"), "the rest of the record is read");
    assert_eq!(counts(&run), Counts { records: 2, evaluated: 2, other: 0, malformed: 0, bad_values: 2 });
    for (line, column, why) in [
        (1, "ServicePrincipalName", "not valid Unicode (a lone surrogate); read as empty"),
        (2, "UserAgent", "not valid UTF-8; read as empty"),
    ] {
        let problem = run.stderr.lines().find(|l| l.starts_with(&format!("warning: in.json:{line}: `{column}` is ")));
        assert!(problem.is_some_and(|p| p.ends_with(why)), "{line} {column}: {why}\n{}", run.stderr);
    }
    assert!(!run.stderr.contains("ClientRequestId") && !run.stderr.contains("Junk"), "{}", run.stderr);
}

/// `1e400` and `99999999999999999999999` unquoted in an int column were
/// clamped to i64::MAX, silently (quoted, they were reported); `1e400` in a
/// real column read as infinity. Both are bad values now: read as empty and
/// reported.
#[test]
fn numbers_too_large_for_their_column_are_bad_values_not_clamped() {
    let rule = |id: &str, source: &str, table: &str, filter: &str, column: &str| {
        format!(
            "title: Large {column}\nid: {id}\nstatus: experimental\ndescription: A test rule.\nauthor: sigcorr \
             tests\nlicense: MIT\nreferences:\n  - https://example.com/\ntags:\n  - attack.t1078.004\nlevel: \
             low\nfalsepositives:\n  - Tests\ncorrelation:\n  sources:\n    {source}: {table}\n  filter:\n    \
             {source}: {filter}\n  output:\n    {column}: {source}.{column}\n"
        )
    };
    let long = rule(
        "5d0c7e21-9b3a-4f6e-8a2d-1c4b7e9f0a34",
        "activity",
        "MicrosoftGraphActivityLogs",
        "ResponseStatusCode > 1000",
        "ResponseStatusCode",
    );
    let real = rule("5d0c7e21-9b3a-4f6e-8a2d-1c4b7e9f0a35", "m", "Measures", "Score > 1000", "Score");
    let table = "table: Measures\ndescription: A test table.\ncolumns:\n  TimeGenerated: datetime\n  Score: real\n";
    let graph = |code: &str| format!(r#"{{"Type":"MicrosoftGraphActivityLogs","ResponseStatusCode":{code}}}"#);
    let measure = |score: &str| format!(r#"{{"Type":"Measures","Score":{score}}}"#);
    let lines = [
        graph("99999999999999999999999"),
        graph("1e400"),
        graph("-1e19"),
        graph("5000"),
        measure("1e400"),
        measure("5000.5"),
    ];
    let run = Test::new()
        .file("rules/long.yml", long)
        .file("rules/real.yml", real)
        .file("tables/measures.yml", table)
        .file("in.json", lines.join("\n") + "\n")
        .args(["run", "--now", NOW, "--rules", "rules", "--tables", "tables", "in.json"])
        .run();
    run.code(0);
    let mut shown: Vec<String> = run.alerts().iter().flat_map(|a| a.fields.values().map(Value::to_string)).collect();
    shown.sort();
    assert_eq!(shown, ["5000", "5000.5"], "only the values in range\n{}", run.stderr);
    for (line, want) in [
        (1, "`ResponseStatusCode` is 99999999999999999999999, not a long; read as empty"),
        (2, "`ResponseStatusCode` is 1e400, not a long; read as empty"),
        (3, "`ResponseStatusCode` is -1e19, not a long; read as empty"),
        (5, "`Score` is 1e400, not a real; read as empty"),
    ] {
        let want = format!("warning: in.json:{line}: {want}");
        assert!(run.stderr.contains(&want), "{want}\n{}", run.stderr);
    }
    assert!(run.stderr.contains("4  values that do not fit their column, read as empty"), "{}", run.stderr);
}

fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(data).unwrap();
    gz.finish().unwrap()
}

/// A JSON array cut short between two records (no closing `]`, as a copy
/// stopped early leaves it) keeps every record and says the file ended
/// early: exit 3, where it was silent.
#[test]
fn an_array_cut_short_between_records_keeps_them_and_reports_the_cut() {
    let (s, g) = pair();
    for (what, text) in [
        ("array, one line", format!("[{s}, {g},")),
        ("array, pretty", format!("[\n  {s},\n  {g}\n")),
        ("records body", format!("{{\"records\": [\n{s},\n{g},\n")),
    ] {
        let run = run_on(Test::new().file("in.json", &text), "in.json");
        assert_eq!(run.code, 3, "{what}: {}", run.stderr);
        assert_eq!(t1528(&run), 1, "{what}: both records read: {}", run.stderr);
        assert!(
            run.stderr.contains("the JSON document ends early: its array has no closing `]`"),
            "{what}: {}",
            run.stderr
        );
    }
}
