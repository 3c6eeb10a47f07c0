//! Kusto's semantics where sigcorr used to differ: `==`/`!=` (and `=~`,
//! `in`) with nulls, `between` with a timespan upper bound, JSON text
//! decoded once, join keys that are expressions, and type names in
//! messages. The engine's answers are checked against hand-worked
//! expectations, and the compiled DuckDB and Spark SQL against the engine.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::{Value, json};

use crate::common::{Run, Test, repo};

const NOW: &str = "2026-07-16T12:00:00Z";
const GRAPH: &str = "MicrosoftGraphActivityLogs";
const SP: &str = "AADServicePrincipalSignInLogs";

fn rule(id: u32, title: &str, correlation: &str) -> String {
    format!(
        "title: {title}\nid: 00000000-0000-4000-8000-{id:012}\nlevel: low\nfalsepositives:\n  - Unknown\n\
         references:\n  - https://learn.microsoft.com/kusto/query/scalar-data-types/null-values\n\
         correlation:\n{correlation}"
    )
}

fn lines(records: &[Value]) -> String {
    records.iter().map(|r| format!("{r}\n")).collect()
}

fn sigcorr(dir: &Path, args: &[&str]) -> Run {
    let Output { status, stdout, stderr } =
        assert_cmd::Command::cargo_bin("sigcorr").unwrap().current_dir(dir).args(args).output().unwrap();
    Run {
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        code: status.code().unwrap_or(-1),
    }
}

/// Everything a run printed: `lint` reports on stdout.
fn said(run: &Run) -> String {
    format!("{}{}", run.stdout, run.stderr)
}

/// An output row: each field as text (`None` for null).
type Row = Vec<Option<String>>;

fn cell(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

fn rows_of(v: &Value) -> Vec<Row> {
    let mut rows: Vec<Row> =
        v["rows"].as_array().unwrap().iter().map(|r| r.as_array().unwrap().iter().map(cell).collect()).collect();
    rows.sort();
    rows
}

/// A rule and its NDJSON logs (`logs/a.json`) in a directory of their own.
struct Case {
    name: &'static str,
    dir: PathBuf,
}

impl Case {
    fn new(root: &Path, name: &'static str, rule: &str, records: &[Value]) -> Case {
        let dir = root.join(name);
        std::fs::create_dir_all(dir.join("logs")).unwrap();
        std::fs::write(dir.join("rule.yml"), rule).unwrap();
        std::fs::write(dir.join("logs/a.json"), lines(records)).unwrap();
        Case { name, dir }
    }

    /// The engine's alerts, as sorted rows of the output fields.
    fn engine(&self) -> Vec<Row> {
        let run =
            sigcorr(&self.dir, &["run", "--now", NOW, "--format", "jsonl", "--quiet", "--rules", "rule.yml", "logs"]);
        assert!(run.code == 0 || run.code == 3, "{}: sigcorr run exited {}: {}", self.name, run.code, run.stderr);
        let mut rows: Vec<Row> = run.alerts().iter().map(|a| a.fields.values().map(cell).collect()).collect();
        rows.sort();
        rows
    }

    fn compile(&self, target: &str, extra: &[&str]) -> String {
        let mut args = vec!["compile", "--target", target, "--now", NOW];
        args.extend_from_slice(extra);
        args.push("rule.yml");
        let run = sigcorr(&self.dir, &args);
        run.code(0);
        run.stdout
    }
}

fn python() -> String {
    std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_string())
}

const INSTALL: &str = "`bash .ci/test` installs the Python `duckdb` and `pyspark` packages the equivalence tests need";

/// Graph records: every combination of a status, a duration and a size,
/// each null, missing, unreadable or a value.
fn null_records() -> Vec<Value> {
    let statuses = [json!(200), json!(404), Value::Null, json!("<missing>"), json!("abc"), json!("200")];
    let durations = [json!(200), Value::Null, json!(7), json!("<missing>")];
    let sizes = [json!(0), json!(1), Value::Null, json!(5)];
    let methods = [json!("GET"), Value::Null];
    let mut out = Vec::new();
    for (i, status) in statuses.iter().enumerate() {
        for (j, duration) in durations.iter().enumerate() {
            for (k, size) in sizes.iter().enumerate() {
                let n = out.len();
                let mut r = json!({
                    "Type": GRAPH, "RequestUri": format!("u-{i}{j}{k}"), "ResponseStatusCode": status,
                    "DurationMs": duration, "ResponseSizeBytes": size, "RequestMethod": methods[n % 2],
                    "TimeGenerated": "2026-07-15T00:00:00Z",
                });
                let fields = r.as_object_mut().unwrap();
                fields.retain(|_, v| *v != json!("<missing>"));
                out.push(r);
            }
        }
    }
    out
}

/// `!=`, `not(==)` and `!in` keep nulls; `==` of two nulls is null.
fn null_rule() -> String {
    rule(
        0xa1,
        "Null comparisons",
        "  sources:\n    a: MicrosoftGraphActivityLogs\n  filter:\n    \
         a: ResponseStatusCode != 200 and not(DurationMs == 7) and ResponseSizeBytes !in (0, 1)\n  output:\n    \
         RequestUri: RequestUri\n    Status: tostring(ResponseStatusCode)\n    \
         Same: ResponseStatusCode == DurationMs\n    Differ: ResponseStatusCode != DurationMs\n    \
         Known: ResponseStatusCode in (404, 200)\n    NoDuration: DurationMs == null\n    \
         NotTilde: RequestMethod !~ null\n",
    )
}

fn span_records() -> Vec<Value> {
    let times = [
        "2026-07-10T00:00:00Z",
        "2026-07-13T00:00:00Z",
        "2026-07-13T00:00:00.0000001Z",
        "2026-07-09T23:59:59.9999999Z",
        "<missing>",
    ];
    // now - 10d is 2026-07-06T12:00:00Z; plus 2d, 2026-07-08T12:00:00Z.
    let issued = ["2026-07-06T12:00:00Z", "2026-07-08T12:00:00.0000001Z", "2026-07-06T11:59:59Z", "<missing>"];
    let mut out = Vec::new();
    for (i, t) in times.iter().enumerate() {
        for (j, issued) in issued.iter().enumerate() {
            let mut r = json!({
                "Type": GRAPH, "RequestUri": format!("t-{i}{j}"), "TimeGenerated": t, "TokenIssuedAt": issued,
            });
            r.as_object_mut().unwrap().retain(|_, v| *v != json!("<missing>"));
            out.push(r);
        }
    }
    out
}

fn span_rule() -> String {
    rule(
        0xa2,
        "Timespan bounds",
        "  sources:\n    a: MicrosoftGraphActivityLogs\n  filter:\n    \
         a: TimeGenerated between (datetime(2026-07-10) .. 3d) or TokenIssuedAt !between (ago(10d) .. 2d)\n  \
         output:\n    RequestUri: RequestUri\n",
    )
}

fn join_records() -> Vec<Value> {
    let graph = |uri: &str, app: &str, duration: Value| json!({"Type": GRAPH, "RequestUri": uri, "AppId": app, "DurationMs": duration, "TimeGenerated": "2026-07-15T00:00:00Z"});
    let signin = |app: &str, duration: Value| json!({"Type": SP, "AppId": app, "DurationMs": duration});
    vec![
        graph("g-app1-5", "APP-1", json!(5)),
        graph("g-app1-null", "app-1", Value::Null),
        graph("g-empty", "", json!(5)),
        graph("g-app2-missing", "app-2", json!("<missing>")),
        signin("app-1", json!(5)),
        signin("App-1", Value::Null),
        signin("APP-2", json!(9)),
        signin("app-2", Value::Null),
        signin("", json!(1)),
    ]
}

/// Join keys that are expressions, and a mismatch on nullable longs.
fn join_rule() -> String {
    rule(
        0xa3,
        "Expression keys",
        "  sources:\n    g: MicrosoftGraphActivityLogs\n    s: AADServicePrincipalSignInLogs\n  \
         join: tolower(g.AppId) == tolower(s.AppId)\n  mismatch: s.DurationMs != g.DurationMs\n  output:\n    \
         Uri: g.RequestUri\n    SigninApp: s.AppId\n    Duration: tostring(s.DurationMs)\n",
    )
}

fn cases(root: &Path) -> Vec<Case> {
    vec![
        Case::new(root, "nulls", &null_rule(), &null_records()),
        Case::new(root, "spans", &span_rule(), &span_records()),
        Case::new(root, "expression-keys", &join_rule(), &join_records()),
    ]
}

fn column(rows: &[Row], i: usize) -> Vec<String> {
    let mut v: Vec<String> = rows.iter().map(|r| r[i].clone().unwrap_or_default()).collect();
    v.sort();
    v
}

#[test]
fn not_equal_keeps_records_whose_status_is_null_or_missing() {
    // Kusto's "Null values": `null != 200` is true, so the filter keeps the
    // record; `null == 200` is false, so `not(...)` keeps it too.
    for filter in ["ResponseStatusCode != 200", "not(ResponseStatusCode == 200)", "ResponseStatusCode !in (200)"] {
        let t = Test::new()
            .file(
                "r.yml",
                rule(
                    0xb1,
                    "Status",
                    &format!("  sources:\n    a: {GRAPH}\n  filter:\n    a: {filter}\n  output:\n    U: RequestUri\n"),
                ),
            )
            .records(
                "logs.json",
                &[
                    json!({"Type": GRAPH, "RequestUri": "ok", "ResponseStatusCode": 200}),
                    json!({"Type": GRAPH, "RequestUri": "denied", "ResponseStatusCode": 403}),
                    json!({"Type": GRAPH, "RequestUri": "null", "ResponseStatusCode": null}),
                    json!({"Type": GRAPH, "RequestUri": "missing"}),
                    json!({"Type": GRAPH, "RequestUri": "unreadable", "ResponseStatusCode": "OK"}),
                ],
            )
            .args(["run", "--now", NOW, "--format", "jsonl", "--quiet", "--rules", "r.yml", "logs.json"]);
        let run = t.run();
        let mut uris: Vec<String> = run.alerts().iter().map(|a| a.fields["U"].as_str().unwrap().to_string()).collect();
        uris.sort();
        assert_eq!(uris, ["denied", "missing", "null", "unreadable"], "{filter}: {}", run.stderr);
    }
}

#[test]
fn null_comparisons_spans_and_expression_keys_fire_as_kusto_says() {
    let root = tempfile::tempdir().unwrap();
    let all = cases(root.path());

    // Nulls: status 200 (or "200") is dropped, every other status kept;
    // duration 7 is dropped, a null one kept (`not(null == 7)`); sizes 0
    // and 1 are dropped, a null one kept (`null !in (0, 1)`).
    let nulls = all[0].engine();
    assert_eq!(nulls.len(), 4 * 3 * 2, "4 statuses, 3 durations, 2 sizes: {nulls:?}");
    let by_uri = |uri: &str| nulls.iter().find(|r| r[0].as_deref() == Some(uri)).unwrap_or_else(|| panic!("{uri}"));
    let b = |s: &str| Some(s.to_string());
    // Status 404 (1), duration null (1), size null (2).
    assert_eq!(by_uri("u-112"), &[b("u-112"), b("404"), b("false"), b("true"), b("true"), None, b("true")]);
    // Status null (2), duration missing (3): two nulls are neither equal nor unequal.
    assert_eq!(by_uri("u-233"), &[b("u-233"), b(""), None, None, b("false"), None, b("true")]);
    // Status unreadable (4), duration 200 (0): null and a value are unequal.
    assert_eq!(by_uri("u-403"), &[b("u-403"), b(""), b("false"), b("true"), b("false"), b("false"), b("true")]);

    // Spans: `between (datetime(2026-07-10) .. 3d)` is inclusive up to
    // 2026-07-13T00:00:00Z; `!between (ago(10d) .. 2d)` holds after
    // 2026-07-08T12:00:00Z and before 2026-07-06T12:00:00Z.
    let spans = all[1].engine();
    let mut want: Vec<String> = Vec::new();
    for i in 0..5 {
        for j in 0..4 {
            if i < 2 || j == 1 || j == 2 {
                want.push(format!("t-{i}{j}"));
            }
        }
    }
    want.sort();
    assert_eq!(column(&spans, 0), want);

    // Keys compared lower-cased; an empty key never joins; the mismatch
    // keeps a null duration against a value, not two nulls or two equal.
    let keys = all[2].engine();
    let pairs: Vec<(String, String)> = keys.iter().map(|r| (r[0].clone().unwrap(), r[1].clone().unwrap())).collect();
    let want = [("g-app1-5", "App-1"), ("g-app1-null", "app-1"), ("g-app2-missing", "APP-2")];
    assert_eq!(pairs, want.map(|(a, b)| (a.to_string(), b.to_string())));
}

#[test]
fn duckdb_gives_the_engines_rows() {
    let root = tempfile::tempdir().unwrap();
    for case in cases(root.path()) {
        let engine = case.engine();
        assert!(!engine.is_empty(), "{}: the case fires", case.name);
        let sql = case.compile("duckdb", &["--data", "logs"]);
        let path = case.dir.join("query.duckdb.sql");
        std::fs::write(&path, &sql).unwrap();
        let script = repo().join("tests/equivalence/run_duckdb.py");
        let out = std::process::Command::new(python()).arg(&script).arg(&path).current_dir(&case.dir).output().unwrap();
        assert!(
            out.status.success(),
            "{}: run_duckdb.py failed ({INSTALL}):\n{}\n{sql}",
            case.name,
            String::from_utf8_lossy(&out.stderr)
        );
        let duck = rows_of(&serde_json::from_slice(&out.stdout).unwrap());
        assert_eq!(duck, engine, "{}: rows\n{sql}", case.name);
    }
}

#[test]
fn spark_gives_the_engines_rows() {
    let root = tempfile::tempdir().unwrap();
    let all = cases(root.path());
    let catalog = sigcorr::table::Catalog::builtin();
    let tables: serde_json::Map<String, Value> = catalog
        .tables()
        .iter()
        .map(|t| (t.name.clone(), json!(t.columns.iter().map(|c| c.name.clone()).collect::<Vec<_>>())))
        .collect();
    let manifest = json!({
        "tables": tables,
        "cases": all.iter().map(|c| json!({
            "name": c.name, "sql": c.compile("spark-sql", &[]), "data": c.dir.join("logs"),
        })).collect::<Vec<_>>(),
    });
    let (manifest_path, out_path) = (root.path().join("manifest.json"), root.path().join("out.json"));
    std::fs::write(&manifest_path, manifest.to_string()).unwrap();
    let script = repo().join("tests/equivalence/run_spark.py");
    let out = std::process::Command::new(python()).arg(&script).arg(&manifest_path).arg(&out_path).output().unwrap();
    assert!(out.status.success(), "run_spark.py failed ({INSTALL}):\n{}", String::from_utf8_lossy(&out.stderr));
    let results: Value = serde_json::from_str(&std::fs::read_to_string(&out_path).unwrap()).unwrap();
    for case in &all {
        let engine = case.engine();
        assert!(!engine.is_empty(), "{}: the case fires", case.name);
        assert_eq!(rows_of(&results[case.name]), engine, "{}: rows", case.name);
    }
}

#[test]
fn between_takes_a_timespan_upper_bound() {
    let root = tempfile::tempdir().unwrap();
    let case = Case::new(root.path(), "spans", &span_rule(), &span_records());
    let lint = sigcorr(&case.dir, &["lint", "rule.yml"]);
    lint.code(0);
    assert!(!said(&lint).contains("E300"), "{}", said(&lint));
    // KQL prints it as written: Kusto has the form.
    let kql = case.compile("kql", &[]);
    assert!(kql.contains("TimeGenerated between (datetime(2026-07-10T00:00:00.0000000Z) .. 3d)"), "{kql}");
    assert!(kql.contains("!between ("), "{kql}");
    // A timespan is only an upper bound, after a datetime.
    let bad = rule(
        0xb2,
        "Bad span",
        "  sources:\n    a: MicrosoftGraphActivityLogs\n  filter:\n    a: TimeGenerated between (3d .. now())\n  output:\n    U: RequestUri\n",
    );
    std::fs::write(case.dir.join("bad.yml"), bad).unwrap();
    let lint = said(&sigcorr(&case.dir, &["lint", "bad.yml"]));
    assert!(lint.contains("error[E300]: `between` bound is a timespan, the value a datetime"), "{lint}");
}

#[test]
fn a_path_decodes_json_text_once() {
    // `todynamic(LocationDetails)["inner"]["city"]`: the column's JSON text
    // is decoded once; a string inside it stays a string.
    let filter = "isnotempty(LocationDetails.city) or isnotempty(LocationDetails.inner.city)";
    let t = Test::new()
        .file(
            "r.yml",
            rule(0xb3, "Paths", &format!("  sources:\n    s: SigninLogs\n  filter:\n    s: {filter}\n  output:\n    U: UserPrincipalName\n")),
        )
        .records(
            "logs.json",
            &[
                json!({"Type": "SigninLogs", "UserPrincipalName": "object", "LocationDetails": {"city": "Paris"}}),
                json!({"Type": "SigninLogs", "UserPrincipalName": "text", "LocationDetails": "{\"city\": \"Lyon\"}"}),
                json!({"Type": "SigninLogs", "UserPrincipalName": "nested-object", "LocationDetails": {"inner": {"city": "Nice"}}}),
                json!({"Type": "SigninLogs", "UserPrincipalName": "nested-text", "LocationDetails": {"inner": "{\"city\": \"Nice\"}"}}),
                json!({"Type": "SigninLogs", "UserPrincipalName": "text-of-text",
                       "LocationDetails": serde_json::Value::String("{\"city\": \"Lyon\"}".to_string()).to_string()}),
            ],
        )
        .args(["run", "--now", NOW, "--format", "jsonl", "--quiet", "--rules", "r.yml", "logs.json"]);
    let run = t.run();
    let mut users: Vec<String> = run.alerts().iter().map(|a| a.fields["U"].as_str().unwrap().to_string()).collect();
    users.sort();
    assert_eq!(users, ["nested-object", "object", "text"], "{}", run.stderr);
}

#[test]
fn type_errors_name_a_columns_type_as_its_table_declares_it() {
    let t = Test::new()
        .file(
            "r.yml",
            rule(0xb4, "Types", "  sources:\n    a: MicrosoftGraphActivityLogs\n  filter:\n    a: ResponseStatusCode =~ \"200\"\n  output:\n    U: RequestUri\n"),
        )
        .args(["lint", "r.yml"]);
    let run = t.run();
    assert_ne!(run.code, 0);
    assert!(said(&run).contains("error[E300]: `=~` needs a string, this is an int"), "{}", said(&run));
}

#[test]
fn join_keys_may_be_expressions() {
    let root = tempfile::tempdir().unwrap();
    let case = Case::new(root.path(), "keys", &join_rule(), &join_records());
    sigcorr(&case.dir, &["lint", "rule.yml"]).code(0);
    for target in ["kql", "duckdb", "spark-sql"] {
        let query = case.compile(target, &[]);
        assert!(query.to_lowercase().contains("lower("), "{target}: {query}");
    }
    // What a join accepts, said where a key is not an equality.
    let bad = join_rule().replace("tolower(g.AppId) == tolower(s.AppId)", "g.AppId =~ s.AppId");
    std::fs::write(case.dir.join("bad.yml"), bad).unwrap();
    let lint = said(&sigcorr(&case.dir, &["lint", "bad.yml"]));
    assert!(lint.contains("error[E403]"), "{lint}");
    assert!(
        lint.contains(
            "help: each key is one `==`, each side a column or an expression reading one source (`tolower(a.AppId) == tolower(b.AppId)`)"
        ),
        "{lint}"
    );
}
