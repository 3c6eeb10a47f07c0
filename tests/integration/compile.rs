//! `sigcorr compile`: the compiled DuckDB SQL (run by the `duckdb` Python
//! package) and Spark SQL (run by local PySpark) return exactly the alerts
//! of `sigcorr run` on the same data, as multisets of output rows; the KQL
//! and Sentinel outputs equal reviewed golden files, name only known tables
//! and columns, and the Sentinel rule validates against the schema written
//! from the Azure-Sentinel repository's rule format.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;

use serde_json::{Value, json};

use crate::common::{Run, SEED_COLUMNS, T1528_ID, repo};
use crate::correlation_duckdb::{ANY, CASES, FAILED, PAIRS, SUCCESS, signins};

const NOW: &str = "2026-07-16T12:00:00Z";
const CREDENTIAL_ID: &str = "367ad919-5366-48ba-8fc9-84b891dd6c78";
const SP: &str = "AADServicePrincipalSignInLogs";
const MI: &str = "AADManagedIdentitySignInLogs";
const GRAPH: &str = "MicrosoftGraphActivityLogs";

pub(crate) fn sigcorr(dir: &Path, args: &[&str]) -> Run {
    let Output { status, stdout, stderr } =
        assert_cmd::Command::cargo_bin("sigcorr").unwrap().current_dir(dir).args(args).output().unwrap();
    Run {
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        code: status.code().unwrap_or(-1),
    }
}

pub(crate) fn python() -> String {
    std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_string())
}

/// The Python modules the equivalence tests import, as `.ci/test` installs them.
const PYTHON_MODULES: [&str; 2] = ["duckdb", "pyspark"];
const INSTALL: &str = "run `bash .ci/test` (or `python3 -m pip install duckdb==2.0.1 pyspark==4.3.0`; \
                       PySpark needs Java 17: `apt-get install openjdk-17-jre-headless`)";

/// Fails the test, saying how to install it, unless the Python module
/// `module` (one of [`PYTHON_MODULES`]) imports. Python is run once per test
/// binary, `import`ing each module in turn; the answer is kept.
pub(crate) fn require_python_module(module: &str) {
    assert!(PYTHON_MODULES.contains(&module), "{module}: not one of {PYTHON_MODULES:?}");
    // Ok: each module's import error, if any; Err: Python could not be run.
    static FAILED: OnceLock<Result<Vec<(String, String)>, String>> = OnceLock::new();
    let failed = FAILED.get_or_init(|| {
        const CHECK: &str = "import importlib, sys\n\
                             for m in sys.argv[1:]:\n\
                             \ttry: importlib.import_module(m)\n\
                             \texcept Exception as e: print(m, '%s: %s' % (type(e).__name__, e))";
        let out = std::process::Command::new(python())
            .args(["-c", CHECK])
            .args(PYTHON_MODULES)
            .output()
            .map_err(|e| format!("`{}` could not be run: {e}", python()))?;
        if !out.status.success() {
            return Err(format!("`{}` failed: {}", python(), String::from_utf8_lossy(&out.stderr).trim()));
        }
        Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_once(' ').map(|(m, e)| (m.to_string(), e.to_string())))
            .collect())
    });
    match failed {
        Err(why) => panic!("{module} is not installed: {INSTALL}\n({why})"),
        Ok(failed) => {
            if let Some((_, error)) = failed.iter().find(|(m, _)| m == module) {
                panic!("{module} is not installed: {INSTALL}\n(`import {module}` in `{}`: {error})", python());
            }
        }
    }
}

/// An output row: each field as text (`None` for null), numbers and bools as
/// their JSON text, so `200` from the engine equals `'200'` read as text.
pub(crate) type Row = Vec<Option<String>>;

pub(crate) fn cell(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        // A whole DOUBLE (a correlation's sum, 2000.0) as the engine prints it: 2000.
        Value::Number(n) if n.is_f64() && n.as_f64().is_some_and(|f| f.fract() == 0.0 && f.abs() < 9e15) => {
            Some((n.as_f64().unwrap_or_default() as i64).to_string())
        }
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// Rows and column names a query returned.
pub(crate) struct Table {
    pub(crate) columns: Vec<String>,
    pub(crate) rows: Vec<Row>,
}

pub(crate) fn table(v: &Value) -> Table {
    let columns = v["columns"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_string()).collect();
    let mut rows: Vec<Row> =
        v["rows"].as_array().unwrap().iter().map(|r| r.as_array().unwrap().iter().map(cell).collect()).collect();
    rows.sort();
    Table { columns, rows }
}

/// One equivalence case: a rule file and NDJSON logs under `dir/logs`.
struct Case {
    name: String,
    dir: PathBuf,
    rule: PathBuf,
    /// What `now()` is, for the engine and the compiled query alike.
    now: String,
    /// Designed to alert: an empty result would make the comparison vacuous.
    must_fire: bool,
    /// The title of the one rule of the file to compile (all of them when none).
    only: Option<String>,
}

impl Case {
    fn new(root: &Path, name: &str, rule: &str, files: &[(&str, String)]) -> Case {
        let dir = root.join(name);
        std::fs::create_dir_all(dir.join("logs")).unwrap();
        let rule_path = dir.join("rule.yml");
        std::fs::write(&rule_path, rule).unwrap();
        for (rel, text) in files {
            let path = dir.join("logs").join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        Case { name: name.to_string(), dir, rule: rule_path, now: NOW.to_string(), must_fire: true, only: None }
    }

    fn shipped(root: &Path, name: &str, rule_file: &str) -> Case {
        let text = std::fs::read_to_string(repo().join("rules/entra").join(rule_file)).unwrap();
        Case::new(root, name, &text, &[])
    }

    /// The engine's alerts: output column names and rows.
    fn engine(&self) -> Table {
        let run = sigcorr(
            &self.dir,
            &[
                "run",
                "--now",
                &self.now,
                "--format",
                "jsonl",
                "--quiet",
                "--rules",
                self.rule.to_str().unwrap(),
                "logs",
            ],
        );
        assert!(run.code == 0 || run.code == 3, "{}: sigcorr run exited {}: {}", self.name, run.code, run.stderr);
        // The fields only, in order: a correlation's evidence lists positions per rule.
        #[derive(serde::Deserialize)]
        struct Fields {
            fields: indexmap::IndexMap<String, Value>,
        }
        let fields: Vec<indexmap::IndexMap<String, Value>> = run
            .stdout
            .lines()
            .map(|l| serde_json::from_str::<Fields>(l).unwrap_or_else(|e| panic!("not an alert: {e}: {l}")).fields)
            .collect();
        let columns = fields.first().map(|f| f.keys().cloned().collect()).unwrap_or_default();
        let mut rows: Vec<Row> = fields.iter().map(|f| f.values().map(cell).collect()).collect();
        rows.sort();
        Table { columns, rows }
    }

    fn compile(&self, target: &str, extra: &[&str]) -> String {
        let mut args = vec!["compile", "--target", target, "--now", &self.now];
        args.extend_from_slice(extra);
        match &self.only {
            Some(title) => args.extend(["--rules", self.rule.to_str().unwrap(), title.as_str()]),
            None => args.push(self.rule.to_str().unwrap()),
        }
        let run = sigcorr(&self.dir, &args);
        run.code(0);
        run.stdout
    }

    fn duckdb(&self) -> Table {
        let sql = self.compile("duckdb", &["--data", "logs"]);
        let path = self.dir.join("query.duckdb.sql");
        std::fs::write(&path, &sql).unwrap();
        require_python_module("duckdb");
        let script = repo().join("tests/equivalence/run_duckdb.py");
        let out = std::process::Command::new(python()).arg(&script).arg(&path).current_dir(&self.dir).output().unwrap();
        assert!(
            out.status.success(),
            "{}: run_duckdb.py failed (`bash .ci/test` installs the `duckdb` version it needs):\n{}\n{sql}",
            self.name,
            String::from_utf8_lossy(&out.stderr)
        );
        table(&serde_json::from_slice(&out.stdout).unwrap())
    }
}

fn graph(label: &str, uti: Option<&str>, ip: Value, status: Value, time: Value) -> Value {
    let mut r = json!({
        "Type": GRAPH, "IPAddress": ip, "ResponseStatusCode": status, "ServicePrincipalId": "sp-graph",
        "RequestUri": format!("https://graph.microsoft.com/v1.0/{label}"), "RequestMethod": "GET",
        "TimeGenerated": time,
    });
    if let Some(u) = uti {
        r["SignInActivityId"] = json!(u);
    }
    for k in ["IPAddress", "TimeGenerated"] {
        if r[k] == json!("<missing>") {
            r.as_object_mut().unwrap().remove(k);
        }
    }
    r
}

fn signin(table: &str, uti: Option<&str>, ip: Value) -> Value {
    let mut r = json!({
        "Type": table, "TimeGenerated": "2026-07-16T01:00:00.0000000Z", "IPAddress": ip,
        "ServicePrincipalName": format!("{table}-name"), "ServicePrincipalId": "sp-signin",
        "ServicePrincipalCredentialKeyId": "key-1"
    });
    if let Some(u) = uti {
        r["UniqueTokenIdentifier"] = json!(u);
    }
    r
}

fn lines(records: &[Value]) -> String {
    records.iter().map(|r| format!("{r}\n")).collect()
}

const T: &str = "2026-07-16T02:00:45.0159703Z";

/// The T1528 rule's edge cases, and the `RequestUri` labels of the alerts
/// Kusto's semantics give (worked out by hand, see each comment).
fn t1528_edges() -> (Vec<Value>, Vec<&'static str>) {
    let other_ip = json!("203.0.113.7");
    let ip = || json!("198.51.100.9");
    let mut r = vec![
        // A token used from another IP fires.
        signin(SP, Some("uti-A"), other_ip.clone()),
        graph("stolen", Some("uti-A"), ip(), json!(200), json!(T)),
    ];
    // `between (100 .. 300)` is inclusive: 100 and 300 fire, 99 and 301 do not.
    for code in [99, 100, 300, 301] {
        let uti = format!("uti-{code}");
        r.push(signin(SP, Some(&uti), other_ip.clone()));
        r.push(graph(&format!("status-{code}"), Some(&uti), ip(), json!(code), json!(T)));
    }
    // `TimeGenerated > ago(30d)` is strict, at the 100-ns tick: now - 30d is
    // 2026-06-16T12:00:00Z.
    for (label, time) in [
        ("at-boundary", json!("2026-06-16T12:00:00.0000000Z")),
        ("boundary-plus-1tick", json!("2026-06-16T12:00:00.0000001Z")),
        ("boundary-minus-1tick", json!("2026-06-16T11:59:59.9999999Z")),
        ("boundary-plus-1tick-offset", json!("2026-06-16T14:00:00.0000001+02:00")),
        ("boundary-8-digits", json!("2026-06-16T12:00:00.00000009Z")),
        ("boundary-plus-1us", json!("2026-06-16T12:00:00.000001Z")),
        ("no-time", json!("<missing>")),
        ("null-time", Value::Null),
        ("bad-time", json!("yesterday")),
    ] {
        let uti = format!("uti-{label}");
        r.push(signin(SP, Some(&uti), other_ip.clone()));
        r.push(graph(label, Some(&uti), ip(), json!(200), time));
    }
    // Empty and missing join keys never match, not even each other.
    r.push(signin(SP, Some(""), other_ip.clone()));
    r.push(graph("empty-key", Some(""), ip(), json!(200), json!(T)));
    r.push(signin(SP, None, other_ip.clone()));
    r.push(graph("missing-key", None, ip(), json!(200), json!(T)));
    // A null or empty sign-in IP fails `isnotempty`; a null or missing Graph
    // IP is "", which differs from the sign-in's.
    r.push(signin(MI, Some("uti-null-ip"), Value::Null));
    r.push(graph("signin-ip-null", Some("uti-null-ip"), ip(), json!(200), json!(T)));
    r.push(signin(MI, Some("uti-empty-ip"), json!("")));
    r.push(graph("signin-ip-empty", Some("uti-empty-ip"), ip(), json!(200), json!(T)));
    r.push(signin(SP, Some("uti-g-null"), json!("1.2.3.4")));
    r.push(graph("graph-ip-null", Some("uti-g-null"), Value::Null, json!(200), json!(T)));
    r.push(signin(SP, Some("uti-g-missing"), json!("1.2.3.4")));
    r.push(graph("graph-ip-missing", Some("uti-g-missing"), json!("<missing>"), json!(200), json!(T)));
    // `!=` is case-sensitive and exact; the key is case-sensitive too.
    r.push(signin(SP, Some("uti-case-ip"), json!("2001:DB8::1")));
    r.push(graph("ip-case", Some("uti-case-ip"), json!("2001:db8::1"), json!(200), json!(T)));
    r.push(signin(SP, Some("uti-space"), ip()));
    r.push(graph("ip-trailing-space", Some("uti-space"), json!("198.51.100.9 "), json!(200), json!(T)));
    r.push(signin(SP, Some("uti-same"), ip()));
    r.push(graph("same-ip", Some("uti-same"), ip(), json!(200), json!(T)));
    r.push(signin(SP, Some("uti-Case"), other_ip.clone()));
    r.push(graph("key-case", Some("UTI-CASE"), ip(), json!(200), json!(T)));
    // Duplicate right keys, across both tables: one row per matching pair
    // whose IPs differ (10.0.0.2 and 10.0.0.3; 10.0.0.1 is the Graph IP).
    r.push(signin(SP, Some("uti-dup"), json!("10.0.0.1")));
    r.push(signin(MI, Some("uti-dup"), json!("10.0.0.2")));
    r.push(signin(MI, Some("uti-dup"), json!("10.0.0.3")));
    r.push(graph("dup", Some("uti-dup"), json!("10.0.0.1"), json!(200), json!(T)));
    // A status written as a string converts; one that is not a number is empty.
    r.push(signin(SP, Some("uti-str"), other_ip.clone()));
    r.push(graph("status-string", Some("uti-str"), ip(), json!("200"), json!(T)));
    r.push(signin(SP, Some("uti-garbage"), other_ip.clone()));
    r.push(graph("status-garbage", Some("uti-garbage"), ip(), json!("abc"), json!(T)));
    // A managed identity with an IP fires (the union reads both tables).
    r.push(signin(MI, Some("uti-mi"), json!("10.1.1.1")));
    r.push(graph("mi-with-ip", Some("uti-mi"), ip(), json!(200), json!(T)));
    // Another table's record is not read.
    r.push(json!({"Type": "SigninLogs", "UniqueTokenIdentifier": "uti-A", "IPAddress": "9.9.9.9"}));
    let expected = vec![
        "stolen",
        "status-100",
        "status-300",
        "boundary-plus-1tick",
        "boundary-plus-1tick-offset",
        "boundary-plus-1us",
        "graph-ip-null",
        "graph-ip-missing",
        "ip-case",
        "ip-trailing-space",
        "dup",
        "dup",
        "status-string",
        "mi-with-ip",
    ];
    (r, expected)
}

/// The credential rule's edge cases: `==` is case-sensitive, `has` matches
/// whole terms case-insensitively, `between (200 .. 299)` is inclusive.
fn credential_edges() -> (Vec<Value>, Vec<&'static str>) {
    let cases: &[(&str, &str, i64, bool)] = &[
        ("POST", "/v1.0/applications/abc/addPassword", 200, true),
        ("post", "/v1.0/applications/abc/addPassword", 200, false),
        ("POST", "/v1.0/servicePrincipals/x/addKey", 299, true),
        ("POST", "/v1.0/applications/abc/addKey", 300, false),
        ("POST", "/v1.0/applications/abc/addKey", 199, false),
        ("POST", "/v1.0/applications/abc/addPasswords", 200, false),
        ("POST", "/v1.0/APPLICATIONS/abc/ADDPASSWORD", 200, true),
        ("POST", "/v1.0/myapplications/abc/addPassword", 200, false),
        ("POST", "/beta/applications(appId='x')/addPassword", 200, true),
        ("POST", "/v1.0/applications/abc/addKey?x=1", 201, true),
        ("GET", "/v1.0/applications/abc/addKey", 200, false),
    ];
    let mut records = Vec::new();
    let mut expected = Vec::new();
    for (i, &(method, path, status, fires)) in cases.iter().enumerate() {
        records.push(json!({
            "Type": GRAPH, "TimeGenerated": format!("2026-07-16T0{}:00:00.123456{i}+00:00", i % 10),
            "RequestMethod": method, "ResponseStatusCode": status, "RequestUri": format!("https://graph.microsoft.com{path}"),
            "ServicePrincipalId": format!("sp-{i}"), "AppId": "app", "IPAddress": "198.51.100.1", "UserAgent": "ua"
        }));
        if fires {
            expected.push(path);
        }
    }
    (records, expected)
}

const OPERATORS_RULE: &str = r#"title: Operators
id: 00000000-0000-4000-8000-000000000001
level: low
correlation:
  sources:
    a: MicrosoftGraphActivityLogs
  filter:
    a: >-
      RequestMethod =~ "post"
      and (RequestUri contains "PASS" or RequestUri startswith "https://GRAPH.microsoft.com/beta" or RequestUri endswith "/ADDKEY")
      and UserAgent !contains_cs "Curl"
      and AppId in~ ("APP-1", "app-2", "App-3")
      and not (ResponseStatusCode !between (200 .. 204))
  output:
    RequestUri: RequestUri
    Method: RequestMethod
    Lower: tolower(RequestMethod)
    Len: strlen(UserAgent)
    Cat: strcat(AppId, "/", ResponseStatusCode)
    Exact: RequestMethod == "POST"
    Terms: RequestUri has_any ("users", "addkey")
    AllTerms: RequestUri has_all ("graph", "addkey")
    Prefix: RequestUri hasprefix "addk"
    Suffix: RequestUri !hassuffix_cs "Key"
    NotEmpty: isnotempty(UserAgent)
    Status: ResponseStatusCode
    Time: TimeGenerated
"#;

fn operator_records() -> Vec<Value> {
    let methods = ["POST", "post", "Post", "GET"];
    let apps = [json!("app-1"), json!("APP-2"), json!("app-4"), Value::Null];
    let agents = [json!("curl/8"), json!("Curl/8"), json!(""), json!("python-requests/2.31")];
    let statuses = [json!(199), json!(200), json!(204), json!(205), json!("201")];
    let uris = [
        "https://graph.microsoft.com/v1.0/applications/x/addPassword",
        "https://graph.microsoft.com/beta/users",
        "https://graph.microsoft.com/v1.0/applications/x/addKey",
        "https://graph.microsoft.com/v1.0/groups/x/addkey-members",
    ];
    let mut out = Vec::new();
    let mut n = 0;
    for m in methods {
        for a in &apps {
            for ua in &agents {
                for s in &statuses {
                    for u in uris {
                        n += 1;
                        out.push(json!({
                            "Type": GRAPH, "RequestMethod": m, "AppId": a, "UserAgent": ua,
                            "ResponseStatusCode": s, "RequestUri": u,
                            "TimeGenerated": format!("2026-07-{:02}T10:00:00.{:07}Z", 1 + n % 28, n),
                        }));
                    }
                }
            }
        }
    }
    out
}

/// Every IP function, on every pair of [`IP_TEXTS`] (`IPAddress`, `UserAgent`).
const IP_RULE: &str = r#"title: IP functions
id: 00000000-0000-4000-8000-000000000003
level: low
correlation:
  sources:
    g: MicrosoftGraphActivityLogs
  filter:
    g: isnotempty(RequestId)
  output:
    Ip: g.IPAddress
    Other: g.UserAgent
    Parse: parse_ipv4(g.IPAddress)
    Private: ipv4_is_private(g.IPAddress)
    InRange: ipv4_is_in_range(g.IPAddress, g.UserAgent)
    Match4: ipv4_is_match(g.IPAddress, g.UserAgent)
    Match4p: ipv4_is_match(g.IPAddress, g.UserAgent, 20)
    Compare4: ipv4_compare(g.IPAddress, g.UserAgent)
    Compare4p: ipv4_compare(g.IPAddress, g.UserAgent, 7)
    Match6: ipv6_is_match(g.IPAddress, g.UserAgent)
    Match6p: ipv6_is_match(g.IPAddress, g.UserAgent, 37)
    Compare6: ipv6_compare(g.IPAddress, g.UserAgent)
    Compare6p: ipv6_compare(g.IPAddress, g.UserAgent, 122)
    AnyRange: ipv4_is_in_any_range(g.IPAddress, "10.0.0.0/8", "192.0.2.0/24", "2001:db8::/32")
"#;

/// Addresses, ranges and near misses the engine reads (or refuses) as
/// Rust's parsers do: prefixes, whitespace, leading zeros, `::` in every
/// place, IPv4 tails, zones, out-of-range parts.
const IP_TEXTS: [&str; 38] = [
    "10.1.2.3",
    "10.1.2.3/24",
    "10.1.3.4",
    "10.1.2.3 /8",
    " 10.1.2.3\t",
    "192.168.0.1",
    "172.16.5.4",
    "172.32.0.1",
    "256.1.1.1",
    "01.2.3.4",
    "1.2.3",
    "10.0.0.0/33",
    "10.0.0.0/+8",
    "10.1.2.3/0",
    "0.0.0.0",
    "255.255.255.255",
    "2001:db8::1",
    "2001:DB8:0:0:0:0:0:2",
    "2001:db8::/32",
    "::ffff:10.1.2.3",
    "::ffff:10.1.2.3/120",
    "::",
    "::1",
    "1::",
    "1:2:3:4:5:6:7:8",
    "1:2:3:4:5:6:7::",
    "1:2:3:4:5:6:7:8:9",
    "1::2::3",
    "fe80::1%eth0",
    "2001:db8::1/129",
    "::1.2.3.4",
    "1:2:3:4:5:6:1.2.3.4",
    "1:2:3:4:5:6::1.2.3.4",
    "12345::1",
    "",
    "garbage",
    "2001:db8:abcd::/48",
    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe",
];

fn ip_records() -> Vec<Value> {
    let mut out = Vec::new();
    for (i, a) in IP_TEXTS.iter().enumerate() {
        for (j, b) in IP_TEXTS.iter().enumerate() {
            out.push(json!({"Type": GRAPH, "RequestId": format!("r{i}-{j}"), "IPAddress": a, "UserAgent": b}));
        }
    }
    out
}

const JOIN_RULE: &str = r#"title: Join edges
id: 00000000-0000-4000-8000-000000000002
level: medium
correlation:
  sources:
    g: MicrosoftGraphActivityLogs
    s: [AADServicePrincipalSignInLogs, AADManagedIdentitySignInLogs]
  filter:
    g: TimeGenerated between (datetime(2026-07-01) .. now()) and TokenIssuedAt <= TimeGenerated
    s: AutonomousSystemNumber != "64500"
  join: g.SignInActivityId == s.UniqueTokenIdentifier and g.ServicePrincipalId == s.ServicePrincipalId
  mismatch: s.IPAddress != g.IPAddress or g.TimeGenerated - s.CreatedDateTime > 1h
  output:
    Time: g.TimeGenerated
    Created: s.CreatedDateTime
    Asn: s.AutonomousSystemNumber
    Duration: s.DurationMs
    Size: g.ResponseSizeBytes
    SigninIP: s.IPAddress
    GraphIP: g.IPAddress
    Table: s.Type
"#;

fn join_records() -> Vec<Value> {
    let mut out = Vec::new();
    for i in 0..40u32 {
        let uti = format!("uti-{}", i % 13);
        let sp = format!("sp-{}", i % 3);
        let table = if i % 2 == 0 { SP } else { MI };
        let mut s = json!({
            "Type": table, "UniqueTokenIdentifier": uti, "ServicePrincipalId": sp,
            "IPAddress": (["10.0.0.1", "10.0.0.2", ""][i as usize % 3]),
            "CreatedDateTime": format!("2026-07-1{}T0{}:00:00+00:00", i % 6, i % 7),
            "DurationMs": i * 7,
        });
        if table == SP {
            s["AutonomousSystemNumber"] = json!((["64500", "8075", ""][i as usize % 3]));
        }
        if i % 5 == 0 {
            s.as_object_mut().unwrap().remove("DurationMs");
        }
        out.push(s);
        let g = json!({
            "Type": GRAPH, "SignInActivityId": format!("uti-{}", i % 11), "ServicePrincipalId": format!("sp-{}", i % 4),
            "IPAddress": (["10.0.0.1", "10.0.0.2", "10.0.0.3"][i as usize % 3]),
            "TimeGenerated": format!("2026-07-{:02}T0{}:30:00.000000{}Z", 1 + i % 16, i % 10, i % 10),
            "TokenIssuedAt": format!("2026-07-{:02}T00:00:00Z", 1 + i % 17),
            "ResponseSizeBytes": if i % 4 == 0 { Value::Null } else { json!(i * 100) },
        });
        out.push(g);
    }
    out
}

/// Every case: the shipped rules on their edge cases and on a generated
/// dataset, and rules that exercise each operator the SQL backends compile.
///
/// `merged`: each shipped rule's test cases as one dataset per `now` (one
/// Spark query instead of one per case; the engine reads the same dataset).
fn cases(root: &Path, merged: bool) -> Vec<Case> {
    let t1528 = std::fs::read_to_string(repo().join("rules/entra/service_principal_token_ip_mismatch.yml")).unwrap();
    let credential =
        std::fs::read_to_string(repo().join("rules/entra/application_credential_added_via_graph.yml")).unwrap();
    let (t1528_records, _) = t1528_edges();
    let (credential_records, _) = credential_edges();
    let mut t1528_text = lines(&t1528_records);
    t1528_text.push_str("{\"Type\": \"MicrosoftGraphActivityLogs\", not json\n");
    let mut out = vec![
        Case::new(root, "t1528-edges", &t1528, &[("a.json", t1528_text)]),
        Case::new(root, "credential-edges", &credential, &[("a.json", lines(&credential_records))]),
        Case::new(root, "operators", OPERATORS_RULE, &[("a.json", lines(&operator_records()))]),
        Case::new(root, "ip-functions", IP_RULE, &[("a.json", lines(&ip_records()))]),
        // Subdirectories are read; hidden files are not, by the engine or the query.
        Case::new(
            root,
            "join-edges",
            JOIN_RULE,
            &[
                ("a.json", lines(&join_records())),
                ("nested/b.json", lines(&join_records()[..10])),
                (".hidden.json", lines(&join_records())),
                (".hidden/c.json", lines(&join_records())),
            ],
        ),
    ];

    out.push(hostile_case(root, "hostile", crate::injection::PAYLOAD));
    out.extend(rule_test_cases(root, merged));

    let cfg = sigcorr_datagen::Config { seed: 11, graph: 3000, signins: 400, other_tables: 40, ..Default::default() };
    assert_eq!(cfg.now, sigcorr_datagen::DEFAULT_NOW_UNIX);
    let ds = sigcorr_datagen::generate(&cfg);
    for (name, rule) in [
        ("generated-t1528", "service_principal_token_ip_mismatch.yml"),
        ("generated-credential", "application_credential_added_via_graph.yml"),
    ] {
        let case = Case::shipped(root, name, rule);
        sigcorr_datagen::write_split(&ds, &case.dir.join("logs")).unwrap();
        out.push(case);
    }
    out
}

/// A rule whose title, alias, output names and literals carry statements,
/// quotes and control characters (`injection.rs`), on records its literals
/// match: compiled, they are data (four alerts), not statements.
fn hostile_case(root: &Path, name: &str, title: &str) -> Case {
    let graph =
        |agent: &str, uri: &str, app: &str| json!({"Type": GRAPH, "UserAgent": agent, "RequestUri": uri, "AppId": app});
    let records = [
        graph(crate::injection::PAYLOAD, "u1", "a"),
        graph("ua", "x'); COPY (SELECT 1) TO 'PWNED-literal.csv'; --y", "a"),
        graph("ua", "u3", "b\\'"),
        graph("ua", "u4", crate::injection::PAYLOAD),
        graph("ua\n", "u5", "b"),
    ];
    Case::new(root, name, &crate::injection::hostile_sql_rule(title), &[("a.json", lines(&records))])
}

/// The `let` list files beside the shipped rules (`rules/entra/lookups`),
/// beside a case's copy of a rule.
fn copy_lookups(rules: &Path, case: &Path) {
    let from = rules.join("lookups");
    std::fs::create_dir_all(case.join("lookups")).unwrap();
    for f in std::fs::read_dir(&from).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, case.join("lookups").join(f.file_name().unwrap())).unwrap();
    }
}

/// The shipped rules whose own tests files are equivalence cases: every
/// join rule of the pack that compiles to both SQL targets.
const COMPILED_PACK: [&str; 11] = [
    "graph_token_without_signin",
    "graph_token_used_from_two_ips",
    "user_token_graph_ip_mismatch",
    "signin_success_then_failure_from_other_ip_block",
    "managed_identity_token_used_outside_azure",
    "service_principal_token_ip_mismatch_tuned",
    "service_principal_token_ip_mismatch",
    "application_credential_added_via_graph",
    "signin_session_from_two_countries_or_asns",
    "risky_signin_then_mfa_method_change",
    "service_principal_signin_then_graph_credential_operation",
];

/// Every case of every shipped rule's own tests file (`<rule>.tests.yml`):
/// its records as NDJSON (with `Type` set), at its `now`.
fn rule_test_cases(root: &Path, merged: bool) -> Vec<Case> {
    let mut out = Vec::new();
    let mut groups: Vec<(&str, String, Vec<Value>)> = Vec::new();
    for stem in COMPILED_PACK {
        let dir = repo().join("rules/entra");
        let rule = std::fs::read_to_string(dir.join(format!("{stem}.yml"))).unwrap();
        let tests: Vec<Value> =
            serde_saphyr::from_str(&std::fs::read_to_string(dir.join(format!("{stem}.tests.yml"))).unwrap()).unwrap();
        assert!(!tests.is_empty(), "{stem}.tests.yml has no cases");
        for (i, t) in tests.iter().enumerate() {
            let mut records = Vec::new();
            for (table, rows) in t["records"].as_object().into_iter().flatten() {
                let rows: Vec<Value> = match rows {
                    Value::Array(rows) => rows.clone(),
                    Value::Object(f) => std::fs::read_to_string(dir.join(f["file"].as_str().unwrap()))
                        .unwrap()
                        .lines()
                        .filter(|l| !l.trim().is_empty())
                        .map(|l| serde_json::from_str(l).unwrap())
                        .collect(),
                    other => panic!("{stem}.tests.yml case {i}: records of {table}: {other}"),
                };
                for mut r in rows {
                    if r.get("Type").is_none() {
                        r["Type"] = json!(table);
                    }
                    records.push(r);
                }
            }
            let now = t["now"].as_str().unwrap_or(NOW).to_string();
            if merged && let Some((_, _, all)) = groups.iter_mut().find(|(s, n, _)| *s == stem && *n == now) {
                all.extend(records);
            } else if merged {
                groups.push((stem, now, records));
            } else {
                let mut case = Case::new(root, &format!("{stem}.tests-{i}"), &rule, &[("a.json", lines(&records))]);
                copy_lookups(&dir, &case.dir);
                case.now = now;
                case.must_fire = false;
                out.push(case);
            }
        }
        for (i, (_, now, records)) in groups.drain(..).enumerate() {
            let mut case = Case::new(root, &format!("{stem}.tests-merged-{i}"), &rule, &[("a.json", lines(&records))]);
            copy_lookups(&dir, &case.dir);
            case.now = now;
            out.push(case);
        }
    }
    out
}

#[test]
fn edge_cases_fire_as_kusto_semantics_say() {
    // The datasets mean what the comments say: checked against hand-worked
    // expectations, independently of any compiled query.
    let root = tempfile::tempdir().unwrap();
    let all = cases(root.path(), false);
    let uri_of = |t: &Table, column: &str| -> Vec<String> {
        let i = t.columns.iter().position(|c| c == column).unwrap();
        let mut v: Vec<String> = t.rows.iter().map(|r| r[i].clone().unwrap()).collect();
        v.sort();
        v
    };
    let t1528 = all[0].engine();
    assert_eq!(t1528.columns, SEED_COLUMNS);
    let mut want: Vec<String> =
        t1528_edges().1.iter().map(|l| format!("https://graph.microsoft.com/v1.0/{l}")).collect();
    want.sort();
    assert_eq!(uri_of(&t1528, "RequestUri"), want);
    let credential = all[1].engine();
    let mut want: Vec<String> =
        credential_edges().1.iter().map(|p| format!("https://graph.microsoft.com{p}")).collect();
    want.sort();
    assert_eq!(uri_of(&credential, "RequestUri"), want);
}

/// `got`, another engine's rows for `case`, are the engine's alerts.
fn assert_agrees(case: &Case, engine: &Table, got: &Table) {
    assert!(!case.must_fire || !engine.rows.is_empty(), "{}: the case should fire at least once", case.name);
    if !engine.rows.is_empty() {
        assert_eq!(got.columns, engine.columns, "{}: output columns", case.name);
    }
    assert_eq!(got.rows.len(), engine.rows.len(), "{}: row count", case.name);
    assert_eq!(got.rows, engine.rows, "{}: rows", case.name);
    eprintln!("{}: {} rows agree", case.name, engine.rows.len());
}

#[test]
fn duckdb_returns_the_engines_alerts() {
    let root = tempfile::tempdir().unwrap();
    let cases = cases(root.path(), false);
    let results = duckdb_all(root.path(), &cases);
    for (case, got) in cases.iter().zip(results) {
        assert_agrees(case, &case.engine(), &got);
    }
}

/// Every case's compiled query run by DuckDB in one Python process
/// (`run_duckdb.py --manifest`), each from its own directory; in order.
fn duckdb_all(root: &Path, cases: &[Case]) -> Vec<Table> {
    let manifest: Vec<Value> = cases
        .iter()
        .map(|c| json!({"name": c.name, "sql": c.compile("duckdb", &["--data", "logs"]), "dir": c.dir}))
        .collect();
    let (input, output) = (root.join("duckdb-manifest.json"), root.join("duckdb-out.json"));
    std::fs::write(&input, json!({ "cases": manifest }).to_string()).unwrap();
    require_python_module("duckdb");
    let script = repo().join("tests/equivalence/run_duckdb.py");
    let out =
        std::process::Command::new(python()).arg(&script).arg("--manifest").arg(&input).arg(&output).output().unwrap();
    assert!(out.status.success(), "run_duckdb.py failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let results: Value = serde_json::from_slice(&std::fs::read(&output).unwrap()).unwrap();
    cases
        .iter()
        .map(|c| {
            let r = &results[&c.name];
            assert!(
                r.get("error").is_none(),
                "{}: DuckDB failed: {}\n{}",
                c.name,
                r["error"],
                manifest_sql(&manifest, &c.name)
            );
            table(r)
        })
        .collect()
}

fn manifest_sql<'a>(manifest: &'a [Value], name: &str) -> &'a str {
    manifest.iter().find(|m| m["name"] == name).and_then(|m| m["sql"].as_str()).unwrap_or_default()
}

/// Correlations the SQL compiles besides `correlation_duckdb`'s: extended
/// conditions, temporal_ordered, the median, `eq`, two group-by fields, and
/// `fields` (distinct values per burst, in the order of their first time,
/// then their text: ties in time included).
const MORE_CORRELATIONS: [(&str, &str, &[&str]); 10] = [
    // An extended condition with the longest timespan there is: windows to
    // the end of the data (an event time plus it overflows 64 bits, where
    // the engine's sum saturates; the SQL's frame offset is clamped).
    (
        "temporal_any_forever",
        "  type: temporal\n  rules: [success, failed]\n  group-by: [user]\n  timespan: 10675199d\n  aliases:\n    user:\n      failed: UserPrincipalName\n      success: AlternateSignInName\n  condition: success or failed\n",
        &[FAILED, SUCCESS],
    ),
    // Extended conditions (forward windows, from each event time): a
    // failure with no success for the user in the 5 minutes after it
    // (`rules` left out, as it may be); one of the two but not both, in 3
    // minutes, in order (so a failure at the window's start: a window
    // starting at a success alone does not fire) and in 2 minutes, in any order.
    (
        "temporal_not",
        "  type: temporal\n  group-by: [user]\n  timespan: 5m\n  aliases:\n    user:\n      failed: UserPrincipalName\n      success: AlternateSignInName\n  condition: failed and not success\n",
        &[FAILED, SUCCESS],
    ),
    (
        "temporal_ordered_either",
        "  type: temporal_ordered\n  rules: [failed, success]\n  group-by: [user]\n  timespan: 3m\n  aliases:\n    user:\n      failed: UserPrincipalName\n      success: AlternateSignInName\n  condition: (failed or success) and not (failed and success)\n",
        &[FAILED, SUCCESS],
    ),
    (
        "temporal_either",
        "  type: temporal\n  rules: [failed, success]\n  group-by: [user]\n  timespan: 2m\n  aliases:\n    user:\n      failed: UserPrincipalName\n      success: AlternateSignInName\n  condition: (failed or success) and not (failed and success)\n",
        &[FAILED, SUCCESS],
    ),
    // In order: a failure, then a success (ties in time: the failure first).
    (
        "temporal_ordered",
        "  type: temporal_ordered\n  rules: [failed, success]\n  group-by: [user]\n  timespan: 5m\n  aliases:\n    user:\n      failed: UserPrincipalName\n      success: AlternateSignInName\n",
        &[FAILED, SUCCESS],
    ),
    // Three rules, one of which holds every event (the same record is an
    // event of two rules at one time).
    (
        "temporal_ordered_three",
        "  type: temporal_ordered\n  rules: [success, failed, any]\n  group-by: [user]\n  timespan: 10m\n  aliases:\n    user:\n      success: AlternateSignInName\n      failed: UserPrincipalName\n      any: UserPrincipalName\n",
        &[SUCCESS, FAILED, ANY],
    ),
    (
        "event_count_fields",
        "  type: event_count\n  rules: [failed]\n  group-by: [UserPrincipalName]\n  timespan: 20m\n  condition:\n    gte: 2\nfields: [IPAddress, AlternateSignInName]\n",
        &[FAILED],
    ),
    (
        "value_median",
        "  type: value_median\n  rules: [failed]\n  group-by: [UserPrincipalName]\n  timespan: 20m\n  condition:\n    field: DurationMs\n    gte: 500\n",
        &[FAILED],
    ),
    (
        "event_count_eq",
        "  type: event_count\n  rules: [failed]\n  group-by: [UserPrincipalName]\n  timespan: 3m\n  condition:\n    eq: 2\n",
        &[FAILED],
    ),
    (
        "value_count_two_keys",
        "  type: value_count\n  rules: [any]\n  group-by: [UserPrincipalName, ResultType]\n  timespan: 30m\n  condition:\n    field: IPAddress\n    gte: 3\n",
        &[ANY],
    ),
];

/// Every correlation type the SQL compiles, on shuffled sign-ins with ties
/// in time (`correlation_duckdb`'s generator), one case per seed: the
/// correlation is compiled alone (`only`), the engine runs the whole file.
fn correlation_cases(root: &Path, seeds: &[u64], chains: bool) -> Vec<Case> {
    let compiled = CASES.iter().filter(|c| chains || c.outer.is_none()).map(|c| (c.name, c.body, c.rules));
    let all: Vec<(&str, &str, &[&str])> = compiled.chain(MORE_CORRELATIONS).collect();
    let mut out = Vec::new();
    for &seed in seeds {
        let records = lines(&signins(seed, 400));
        for (n, (name, body, rules)) in all.iter().enumerate() {
            let title = format!("compiled {name}");
            let text = format!(
                "title: {title}\nid: 7d0c5e1a-0000-4000-8000-2000000000{n:02}\nlevel: high\ncorrelation:\n{body}---\n{}",
                rules.join("---\n")
            );
            let mut case =
                Case::new(root, &format!("correlation-{name}-{seed}"), &text, &[("a.json", records.clone())]);
            case.only = Some(title);
            out.push(case);
        }
    }
    out
}

#[test]
fn duckdb_returns_the_engines_correlation_alerts() {
    let root = tempfile::tempdir().unwrap();
    let cases = correlation_cases(root.path(), &[7, 2026], true);
    let results = duckdb_all(root.path(), &cases);
    for (case, got) in cases.iter().zip(results) {
        assert_agrees(case, &case.engine(), &got);
    }
}

#[test]
fn spark_returns_the_engines_alerts() {
    let root = tempfile::tempdir().unwrap();
    let mut all = cases(root.path(), true);
    // Spark refuses chains (E800: `correlations_sql_cannot_express_are_refused`).
    all.extend(correlation_cases(root.path(), &[7], false));
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
    let manifest_path = root.path().join("manifest.json");
    let out_path = root.path().join("out.json");
    std::fs::write(&manifest_path, manifest.to_string()).unwrap();
    require_python_module("pyspark");
    let script = repo().join("tests/equivalence/run_spark.py");
    let out = std::process::Command::new(python()).arg(&script).arg(&manifest_path).arg(&out_path).output().unwrap();
    assert!(
        out.status.success(),
        "run_spark.py failed (PySpark needs Java 17: `apt-get install openjdk-17-jre-headless`; \
         `bash .ci/test` installs the `pyspark` version it needs):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let results: Value = serde_json::from_str(&std::fs::read_to_string(&out_path).unwrap()).unwrap();
    for case in &all {
        assert_agrees(case, &case.engine(), &table(&results[&case.name]));
    }
}

/// `sigcorr compile` of a shipped rule, as the golden files hold it.
fn shipped(target: &str, id: &str) -> String {
    let rules = repo().join("rules");
    let run = sigcorr(&repo(), &["compile", "--target", target, "--rules", rules.to_str().unwrap(), id]);
    run.code(0);
    run.stdout
}

/// Compares `text` with `tests/golden/<name>`; `SIGCORR_UPDATE_GOLDEN=1`
/// rewrites the file instead (then review the diff by eye).
fn golden(name: &str, text: &str) {
    let path = repo().join("tests/golden").join(name);
    if std::env::var_os("SIGCORR_UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (SIGCORR_UPDATE_GOLDEN=1 writes it)", path.display()));
    assert_eq!(text, want, "{} differs from the compiler's output", path.display());
}

const SHIPPED: [(&str, &str); 3] = [
    (T1528_ID, "service_principal_token_ip_mismatch"),
    (CREDENTIAL_ID, "application_credential_added_via_graph"),
    // `kind: leftanti`: `| join kind=leftanti`.
    ("f1d956de-a474-4ba8-bdbc-be2ea8080807", "graph_token_without_signin"),
];

#[test]
fn kql_and_sentinel_match_the_golden_files() {
    for (id, stem) in SHIPPED {
        golden(&format!("{stem}.kql"), &shipped("kql", id));
        golden(&format!("{stem}.sentinel.yml"), &shipped("sentinel", id));
    }
}

#[test]
fn kql_anti_joins_keep_empty_keys_and_refuse_a_mismatch() {
    let kql = shipped("kql", "f1d956de-a474-4ba8-bdbc-be2ea8080807");
    let body: Vec<&str> = kql.lines().filter(|l| !l.starts_with("//")).collect();
    // The left side keeps records whose key is empty (they join nothing and
    // alert): its only key test is the rule's own filter. The right side
    // drops empty keys, which Kusto's join would match with the left's.
    let join = body.iter().position(|l| *l == "| join kind=leftanti (").expect("an anti-join");
    assert_eq!(body[..join].iter().filter(|l| l.contains("isnotempty(SignInActivityId)")).count(), 1, "{kql}");
    assert!(body[join..].contains(&"    | where isnotempty(UniqueTokenIdentifier)"), "{kql}");
    assert!(body[join..].contains(&"    ) on $left.SignInActivityId == $right.UniqueTokenIdentifier"), "{kql}");

    let t = tempfile::tempdir().unwrap();
    let rule = "title: Anti with a mismatch\nid: 00000000-0000-4000-8000-000000000009\nlevel: low\ncorrelation:\n  kind: leftanti\n  sources:\n    a: MicrosoftGraphActivityLogs\n    s: AADServicePrincipalSignInLogs\n  join: a.SignInActivityId == s.UniqueTokenIdentifier\n  mismatch: a.IPAddress != s.IPAddress\n  output:\n    IPAddress: a.IPAddress\n";
    std::fs::write(t.path().join("r.yml"), rule).unwrap();
    for target in ["kql", "sentinel"] {
        let run = sigcorr(t.path(), &["compile", "--target", target, "r.yml"]);
        run.code(2);
        assert!(
            run.stderr.starts_with(&format!(
                "r.yml:5:9: error[E800]: `kind: leftanti` with a mismatch cannot be compiled to {target} with the same meaning"
            )),
            "{}",
            run.stderr
        );
    }
    // Without the mismatch it compiles.
    std::fs::write(t.path().join("r.yml"), rule.replace("  mismatch: a.IPAddress != s.IPAddress\n", "")).unwrap();
    sigcorr(t.path(), &["compile", "--target", "kql", "r.yml"]).code(0);
}

#[test]
fn kql_of_the_t1528_rule_is_the_seed_query_plus_the_ip_guard() {
    let kql = shipped("kql", T1528_ID);
    let body: Vec<&str> = kql.lines().filter(|l| !l.starts_with("//")).collect();
    assert_eq!(body[0], "MicrosoftGraphActivityLogs");
    assert!(body.contains(&"| where TimeGenerated > ago(30d)"), "{kql}");
    assert!(body.contains(&"| where ResponseStatusCode between (100 .. 300)"), "{kql}");
    assert!(body.contains(&"    union AADServicePrincipalSignInLogs, AADManagedIdentitySignInLogs"), "{kql}");
    assert!(body.contains(&"    | where isnotempty(IPAddress)"), "the sign-in IP guard: {kql}");
    assert!(body.contains(&"    ) on $left.SignInActivityId == $right.UniqueTokenIdentifier"), "{kql}");
    assert!(body.iter().any(|l| l.starts_with("| lookup kind=inner (")), "{kql}");
    let project = body.last().unwrap().strip_prefix("| project ").unwrap();
    let names: Vec<&str> = project.split(", ").map(|p| p.split(" = ").next().unwrap()).collect();
    assert_eq!(names, SEED_COLUMNS, "the seed's output columns, in its order");
    assert!(!kql.contains("IPAddress1"), "no reliance on the `1` suffix: {kql}");
}

/// KQL's own words, and the functions and operators the compiler emits.
const KQL_WORDS: &[&str] = &[
    "where",
    "lookup",
    "kind",
    "inner",
    "union",
    "project",
    "on",
    "left",
    "right",
    "and",
    "or",
    "not",
    "between",
    "has",
    "has_any",
    "has_all",
    "hasprefix",
    "hassuffix",
    "hassuffix_cs",
    "contains",
    "contains_cs",
    "startswith",
    "endswith",
    "in",
    "ago",
    "now",
    "isnotempty",
    "isempty",
    "datetime",
    "dynamic",
    "todynamic",
    "true",
    "false",
    "extend",
    "tolower",
    "toupper",
    "strlen",
    "strcat",
    "tostring",
    "real",
    "matches",
    "regex",
    "isnull",
    "isnotnull",
    "join",
    "leftanti",
    "distinct",
];

/// Every table and column a KQL query names exists in the table
/// definitions (or is a name the query itself assigns, `X = ...`).
fn check_kql_names(query: &str, rule_tables: &[&str]) {
    let catalog = sigcorr::table::Catalog::builtin();
    let code: String = query.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n");
    let strings = regex::Regex::new(r#"@?"(?:[^"\\]|\\.)*""#).unwrap();
    let code = strings.replace_all(&code, "\"\"");
    let word = regex::Regex::new(r"\b[A-Za-z_][A-Za-z0-9_]*\b").unwrap();
    let assigned: BTreeSet<&str> = regex::Regex::new(r"\b([A-Za-z_][A-Za-z0-9_]*) = ")
        .unwrap()
        .captures_iter(&code)
        .map(|c| c.get(1).unwrap().as_str())
        .collect();
    let mut tables_seen = BTreeSet::new();
    for m in word.find_iter(&code) {
        let w = m.as_str();
        if KQL_WORDS.contains(&w) || assigned.contains(w) || code[..m.start()].ends_with(|c: char| c.is_ascii_digit()) {
            continue;
        }
        if catalog.get(w).is_some() {
            tables_seen.insert(w);
            continue;
        }
        let known = rule_tables.iter().any(|t| catalog.get(t).unwrap().column(w).is_some());
        assert!(known, "`{w}` is neither a table nor a column of {rule_tables:?} in\n{query}");
    }
    assert_eq!(tables_seen, rule_tables.iter().copied().collect::<BTreeSet<_>>(), "tables named in\n{query}");
}

#[test]
fn kql_names_only_known_tables_and_columns() {
    check_kql_names(&shipped("kql", T1528_ID), &[GRAPH, SP, MI]);
    check_kql_names(&shipped("kql", CREDENTIAL_ID), &[GRAPH]);
    let t = tempfile::tempdir().unwrap();
    std::fs::write(t.path().join("ops.yml"), OPERATORS_RULE).unwrap();
    std::fs::write(t.path().join("join.yml"), JOIN_RULE).unwrap();
    for (file, tables) in [("ops.yml", vec![GRAPH]), ("join.yml", vec![GRAPH, SP, MI])] {
        let run = sigcorr(t.path(), &["compile", "--target", "kql", file]);
        run.code(0);
        check_kql_names(&run.stdout, &tables);
    }
}

fn sentinel_schema() -> jsonschema::Validator {
    let text = std::fs::read_to_string(repo().join("tests/schemas/sentinel-rule.schema.json")).unwrap();
    jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).unwrap()
}

fn errors(v: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    v.iter_errors(doc).map(|e| format!("{}: {e}", e.instance_path())).collect()
}

#[test]
fn sentinel_rules_validate_against_the_schema() {
    let schema = sentinel_schema();
    for (id, _) in SHIPPED {
        let yaml = shipped("sentinel", id);
        let doc: Value = serde_saphyr::from_str(&yaml).unwrap();
        assert_eq!(errors(&schema, &doc), Vec::<String>::new(), "{yaml}");
        assert_eq!(doc["id"], json!(id));
        assert_eq!(doc["kind"], json!("Scheduled"));
        // The query is the KQL target's, without its header.
        let kql = shipped("kql", id);
        let body: Vec<&str> = kql.lines().filter(|l| !l.starts_with("//")).collect();
        assert_eq!(doc["query"], json!(body.join("\n")));
        check_kql_names(
            doc["query"].as_str().unwrap(),
            &doc["requiredDataConnectors"][0]["dataTypes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t.as_str().unwrap())
                .collect::<Vec<_>>(),
        );
    }
    let t1528: Value = serde_saphyr::from_str(&shipped("sentinel", T1528_ID)).unwrap();
    assert_eq!(t1528["tactics"], json!(["CredentialAccess"]));
    assert_eq!(t1528["relevantTechniques"], json!(["T1528"]));
    assert_eq!(t1528["severity"], json!("High"));
    let entities: Vec<(String, String)> = t1528["entityMappings"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| {
            m["fieldMappings"].as_array().unwrap().iter().map(move |f| {
                (m["entityType"].as_str().unwrap().to_string(), f["columnName"].as_str().unwrap().to_string())
            })
        })
        .collect();
    assert_eq!(
        entities,
        [
            ("IP", "SigninInIPAddress"),
            ("IP", "ActivityIPAddress"),
            ("Account", "ServicePrincipalId"),
            ("Account", "ServicePrincipalName")
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
}

#[test]
fn the_sentinel_schema_rejects_broken_rules() {
    let schema = sentinel_schema();
    let good: Value = serde_saphyr::from_str(&shipped("sentinel", T1528_ID)).unwrap();
    type Break = Box<dyn Fn(&mut Value)>;
    let broken: [(&str, Break); 6] = [
        ("no query", Box::new(|d: &mut Value| drop(d.as_object_mut().unwrap().remove("query")))),
        ("severity", Box::new(|d: &mut Value| d["severity"] = json!("Severe"))),
        ("tactic", Box::new(|d: &mut Value| d["tactics"] = json!(["CredentialTheft"]))),
        ("technique", Box::new(|d: &mut Value| d["relevantTechniques"] = json!(["1528"]))),
        ("period", Box::new(|d: &mut Value| d["queryPeriod"] = json!("30d"))),
        (
            "identifier",
            Box::new(|d: &mut Value| d["entityMappings"][0]["fieldMappings"][0]["identifier"] = json!("Name")),
        ),
    ];
    for (what, f) in broken {
        let mut doc = good.clone();
        f(&mut doc);
        assert!(!errors(&schema, &doc).is_empty(), "the schema accepts a rule with a bad {what}");
    }
}

#[test]
fn unsupported_constructs_are_errors_at_their_position() {
    let filter = r#"RequestUri matches regex @"(?-u:\b)x" and tostring(DurationMs / 2.0) != "1""#;
    let rule = format!(
        "title: Regex\nid: 00000000-0000-4000-8000-000000000003\nlevel: low\ncorrelation:\n  sources:\n    a: MicrosoftGraphActivityLogs\n  filter:\n    a: {filter}\n  output:\n    RequestUri: RequestUri\n"
    );
    let t = tempfile::tempdir().unwrap();
    std::fs::write(t.path().join("r.yml"), rule).unwrap();
    // Java's `\b` is not RE2's ASCII one: Spark refuses the regex at its position.
    let run = sigcorr(t.path(), &["compile", "--target", "spark-sql", "r.yml"]);
    run.code(2);
    assert!(run.stdout.is_empty(), "nothing is printed: {}", run.stdout);
    assert!(
        run.stderr.starts_with(
            "r.yml:8:8: error[E800]: the regex `(?-u:\\b)x` cannot be compiled to spark-sql with the same meaning"
        ),
        "{}",
        run.stderr
    );
    // DuckDB has the regex (RE2's `\b` is ASCII), not a real's text.
    let run = sigcorr(t.path(), &["compile", "--target", "duckdb", "r.yml"]);
    run.code(2);
    let col = 8 + filter.find("tostring").unwrap();
    assert!(
        run.stderr.starts_with(&format!(
            "r.yml:8:{col}: error[E800]: `tostring` of a real cannot be compiled to duckdb with the same meaning"
        )),
        "{}",
        run.stderr
    );
}

/// What the SQL cannot say with the engine's meaning is E800 at the
/// correlation, naming the construct; KQL has no translation yet.
#[test]
fn correlations_sql_cannot_express_are_refused() {
    let head = "title: c\nid: 7d0c5e1a-0000-4000-8000-300000000001\nname: c\nlevel: high\ncorrelation:\n";
    let count_over = |over: &str| {
        format!(
            "  type: event_count\n  rules: [{over}]\n  group-by: [UserPrincipalName]\n  timespan: 5m\n  condition:\n    gte: 1\n"
        )
    };
    // `c` over `c1` over ... over `c17` over `failed`: deeper than compile goes.
    let mut chain = format!("{head}{}", count_over("c1"));
    for i in 1..=17 {
        let over = if i == 17 { "failed".to_string() } else { format!("c{}", i + 1) };
        chain.push_str(&format!(
            "---\ntitle: c{i}\nid: 7d0c5e1a-0000-4000-8000-4000000000{i:02}\nname: c{i}\nlevel: high\ncorrelation:\n{}",
            count_over(&over)
        ));
    }
    // `c` over x1 and y1, each over x2 and y2, ... to `failed` and `success`:
    // 2^10 rule queries, written out.
    let mut branching = format!("{head}{}", count_over("x1, y1"));
    for i in 1..=9 {
        for (n, side) in ["x", "y"].iter().enumerate() {
            let over = if i == 9 { "failed, success".to_string() } else { format!("x{0}, y{0}", i + 1) };
            branching.push_str(&format!(
                "---\ntitle: {side}{i}\nid: 7d0c5e1a-0000-4000-8000-5000000{n}00{i:02}\nname: {side}{i}\nlevel: high\ncorrelation:\n{}",
                count_over(&over)
            ));
        }
    }
    let cases: [(&str, String, &str, &str); 4] = [
        ("chain", chain, "duckdb", "a chain of correlations"),
        ("branching", branching, "duckdb", "a chain of correlations"),
        ("spark-chain", format!("{head}{}", count_over("pairs")), "spark-sql", "a correlation over a correlation"),
        ("kql", format!("{head}{}", count_over("failed")), "kql", "a Sigma correlation rule"),
    ];
    let t = tempfile::tempdir().unwrap();
    for (name, correlation, target, construct) in cases {
        let text = [correlation, FAILED.to_string(), SUCCESS.to_string(), PAIRS.to_string()].join("---\n");
        let file = format!("{name}.yml");
        std::fs::write(t.path().join(&file), text).unwrap();
        let run = sigcorr(t.path(), &["compile", "--target", target, "--rules", &file, "c"]);
        run.code(2);
        assert!(run.stdout.is_empty(), "{name}: nothing is printed: {}", run.stdout);
        let want = format!("error[E800]: {construct} cannot be compiled to {target} with the same meaning");
        // At the correlation's `correlation:` line (the chain's: at the link too deep).
        let at = if ["chain", "branching"].contains(&name) { format!("{file}:") } else { format!("{file}:5:1: ") };
        assert!(run.stderr.starts_with(&at) && run.stderr.contains(&want), "{name}: want {at}{want}\n{}", run.stderr);
    }
}

#[test]
fn rules_are_selected_by_file_id_or_title() {
    let repo = repo();
    let rules = repo.join("rules");
    let rules = rules.to_str().unwrap();
    let by_title = sigcorr(
        &repo,
        &[
            "compile",
            "--target",
            "kql",
            "--rules",
            rules,
            "Credential added to an application or service principal through Microsoft Graph",
        ],
    );
    by_title.code(0);
    assert_eq!(by_title.stdout, shipped("kql", CREDENTIAL_ID));
    // No RULE: every loaded rule (the two seed rules here; the pack's
    // correlations are E800 for Sentinel).
    let seeds: Vec<String> =
        crate::common::SEED_RULES.iter().map(|r| repo.join("rules").join(r).display().to_string()).collect();
    let all = sigcorr(&repo, &["compile", "--target", "sentinel", "--rules", &seeds[0], "--rules", &seeds[1]]);
    all.code(0);
    assert_eq!(all.stdout.matches("\n---\n").count(), 1, "two rules, one separator: {}", all.stdout);
    let unknown = sigcorr(&repo, &["compile", "--target", "kql", "--rules", rules, "no-such-rule"]);
    unknown.code(2);
    assert!(
        unknown.stderr.starts_with("error: `no-such-rule` is neither a rule file nor the id or title of a loaded rule"),
        "{}",
        unknown.stderr
    );
    let misuse = sigcorr(&repo, &["compile", "--target", "kql", "--data", "rules", T1528_ID]);
    misuse.code(2);
    assert!(misuse.stderr.contains("--data reads files with DuckDB"), "{}", misuse.stderr);
}

#[test]
fn duckdb_runs_hostile_rule_text_as_data() {
    // The issue's title, which made the script write `pwned.csv`, and every
    // trick at once.
    let issue = "x\nCOPY (SELECT 'pwned' AS x) TO 'pwned.csv';\n-- ";
    for (name, title) in [("issue", issue), ("payload", crate::injection::PAYLOAD)] {
        let root = tempfile::tempdir().unwrap();
        let case = hostile_case(root.path(), name, title);
        let engine = case.engine();
        assert_eq!(engine.rows.len(), 4, "{name}: the case fires on four records");
        let duck = case.duckdb();
        assert_eq!(duck.columns, engine.columns, "{name}");
        assert_eq!(duck.rows, engine.rows, "{name}");
        // The script wrote nothing: every file under the case is one the test wrote.
        let mut found = Vec::new();
        let mut dirs = vec![case.dir.clone()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else {
                    found.push(path.strip_prefix(&case.dir).unwrap().to_string_lossy().into_owned());
                }
            }
        }
        found.sort();
        assert_eq!(found, ["logs/a.json", "query.duckdb.sql", "rule.yml"], "{name}");
    }
}

/// The SQL reads a referenced rule's outputs as text; the engine groups and
/// counts values as read: a group-by field that is no string, and an output
/// named like the event-time column, are E800.
#[test]
fn correlations_over_non_text_keys_are_refused() {
    let join = |output: &str| {
        format!(
            "title: calls\nid: 7d0c5e1a-0000-4000-8000-800000000002\nname: calls\nlevel: low\ncorrelation:\n  sources:\n    a: MicrosoftGraphActivityLogs\n  output:\n    T: a.TimeGenerated\n{output}"
        )
    };
    let head = "title: c\nid: 7d0c5e1a-0000-4000-8000-800000000001\nname: c\nlevel: high\ncorrelation:\n  type: event_count\n  rules: [calls]\n  timespan: 5m\n  condition:\n    gte: 1\n";
    let t = tempfile::tempdir().unwrap();
    for (name, group, output, want) in [
        ("long", "Status", "    Status: a.ResponseStatusCode\n", "the group-by field `Status` (long)"),
        ("time", "App", "    App: a.AppId\n    __time: a.AppId\n", "the output `__time` of `calls`"),
    ] {
        let text = format!("{head}  group-by: [{group}]\n---\n{}", join(output));
        let file = format!("{name}.yml");
        std::fs::write(t.path().join(&file), text).unwrap();
        let run = sigcorr(t.path(), &["compile", "--target", "duckdb", "--rules", &file, "c"]);
        run.code(2);
        let want = format!("{file}:5:1: error[E800]: {want} cannot be compiled to duckdb with the same meaning");
        assert!(run.stderr.starts_with(&want), "want {want}\n{}", run.stderr);
    }
}

/// The README's rule examples compile to both SQL targets: each `yaml` block
/// that is a rule body (`correlation:`), given a title, id and level, and
/// with its `let` files written beside it.
#[test]
fn the_readmes_rule_examples_compile_to_sql() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let blocks: Vec<&str> = readme
        .split("```yaml\n")
        .skip(1)
        .filter_map(|b| b.split("```").next())
        .filter(|b| b.starts_with("correlation:"))
        .collect();
    assert!(blocks.len() >= 2, "the README's rule examples: {}", blocks.len());
    let t = tempfile::tempdir().unwrap();
    // The files the `let` example reads.
    std::fs::create_dir_all(t.path().join("lists")).unwrap();
    std::fs::write(t.path().join("lists/known-apps.txt"), "00000003-0000-0000-c000-000000000000\n").unwrap();
    let tags = json!({"values": [{"name": "AzureCloud", "properties": {"addressPrefixes": ["20.0.0.0/8", "2603:1000::/24"]}}]});
    std::fs::write(t.path().join("ServiceTags_Public.json"), tags.to_string()).unwrap();
    for (n, body) in blocks.iter().enumerate() {
        let file = format!("example{n}.yml");
        // A fragment without outputs (the `let` example) outputs the time.
        let output = if body.contains("\n  output:") { "" } else { "  output:\n    TimeGenerated: TimeGenerated\n" };
        let rule = format!(
            "title: README example {n}\nid: 00000000-0000-4000-8000-0000000001{n:02}\nlevel: low\n{body}{output}"
        );
        std::fs::write(t.path().join(&file), rule).unwrap();
        for target in ["duckdb", "spark-sql"] {
            let run = sigcorr(t.path(), &["compile", "--target", target, &file]);
            assert_eq!(run.code, 0, "README example {n} to {target}:\n{body}\n{}", run.stderr);
        }
    }
}
