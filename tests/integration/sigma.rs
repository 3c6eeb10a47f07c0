//! Sigma detection rules (specification v2.1) end to end: each construct
//! in a hand-written rule, run over hand-written records in both record
//! shapes (Log Analytics rows, and the same rows as diagnostic-settings
//! exports, made with the tables' own `diagnostic.paths`), each case
//! pinning the exact record lines that alert.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde_json::{Map, Value, json};

use crate::common::{Run, Test};

const SIGNIN: &str = "signinlogs";
const AUDIT: &str = "auditlogs";
const ACTIVITY: &str = "activitylogs";

const TIME: &str = "2026-07-16T10:00:00Z";

static CATALOG: LazyLock<sigcorr::table::Catalog> = LazyLock::new(sigcorr::table::Catalog::builtin);

// ---- rules ------------------------------------------------------------------

/// A stable UUID for a rule title (FNV-1a), so each rule has its own id.
pub(crate) fn uuid_of(title: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in title.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        h >> 32,
        (h >> 16) & 0xffff,
        h & 0xfff,
        (h >> 20) & 0xfff,
        h & 0xffff_ffff_ffff
    )
}

/// A Sigma rule over `product: azure, service: <service>`; `detection` is
/// the body of `detection:`, indented two spaces.
fn sigma(title: &str, service: &str, detection: &str) -> String {
    format!(
        "title: {title}\nid: {id}\nstatus: test\ndescription: A hand-written test rule.\nlogsource:\n  product: azure\n  service: {service}\ndetection:\n{detection}\nlevel: medium\n",
        id = uuid_of(title),
        detection = detection.trim_matches('\n'),
    )
}

fn title_of(rule: &str) -> String {
    rule.lines().find_map(|l| l.strip_prefix("title: ")).expect("a rule has a title").to_string()
}

// ---- records ----------------------------------------------------------------

fn row(table: &str, fields: Value) -> Value {
    let mut out = json!({"Type": table, "TimeGenerated": TIME});
    out.as_object_mut().unwrap().extend(fields.as_object().expect("fields are an object").clone());
    out
}

/// A `SigninLogs` row (Log Analytics shape).
fn signin(fields: Value) -> Value {
    row("SigninLogs", fields)
}

/// An `AADNonInteractiveUserSignInLogs` row.
fn non_interactive(fields: Value) -> Value {
    row("AADNonInteractiveUserSignInLogs", fields)
}

/// An `AuditLogs` row.
fn audit(fields: Value) -> Value {
    row("AuditLogs", fields)
}

/// An `AzureActivity` row.
fn activity(fields: Value) -> Value {
    row("AzureActivity", fields)
}

/// The same record as a diagnostic-settings export: `category` the table's
/// (first) export category, each column's value at its `diagnostic.paths`
/// path. A column the export does not carry (`~`) is left out; a column
/// the table does not have is a mistake in the test.
fn diagnostic(la: &Value) -> Value {
    let la = la.as_object().expect("a record is an object");
    let name = la["Type"].as_str().expect("a Log Analytics row has a Type");
    let table = CATALOG.get(name).unwrap_or_else(|| panic!("no table {name}"));
    let export = table.diagnostic.as_ref().unwrap_or_else(|| panic!("{name} has no diagnostic shape"));
    let mut out = Map::new();
    for (column, value) in la {
        if column == "Type" {
            continue;
        }
        assert!(table.column(column).is_some(), "{name} has no column {column}");
        if let Some(path) = table.diagnostic_path(column) {
            set_path(&mut out, path, value.clone());
        }
    }
    out.insert("category".into(), json!(export.categories[0]));
    Value::Object(out)
}

fn set_path(obj: &mut Map<String, Value>, path: &[String], value: Value) {
    match path {
        [] => unreachable!("a path has a segment"),
        [last] => {
            obj.insert(last.clone(), value);
        }
        [first, rest @ ..] => {
            let next = obj.entry(first.clone()).or_insert_with(|| json!({}));
            set_path(next.as_object_mut().expect("paths nest in objects"), rest, value);
        }
    }
}

// ---- running ----------------------------------------------------------------

/// The rules (one file, `---` between them) over `records` written twice:
/// `la.json` as given, `diag.json` in the diagnostic-settings shape.
fn run_both(test: Test, rules: &[String], records: &[Value], args: &[&str]) -> Run {
    let diag: Vec<Value> = records.iter().map(diagnostic).collect();
    test.file("rules.yml", rules.join("---\n"))
        .records("la.json", records)
        .records("diag.json", &diag)
        .args(["run", "--rules", "rules.yml"])
        .args(args)
        .args(["la.json", "diag.json"])
        .run()
}

/// Per rule title, the `file:line` of each alert, sorted by file then line.
fn alerts_by_rule(run: &Run) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for a in run.alerts() {
        assert_eq!(a.evidence.len(), 1, "a Sigma alert has one evidence record: {a:?}");
        out.entry(a.rule.title.clone()).or_default().push(a.evidence["event"].clone());
    }
    for lines in out.values_mut() {
        lines.sort_by_key(|l| {
            let (file, n) = l.rsplit_once(':').unwrap();
            (file.to_string(), n.parse::<usize>().unwrap())
        });
    }
    out
}

/// `want` lines of `la.json` and of `diag.json`, in [`alerts_by_rule`]'s order.
fn both(want: &[usize]) -> Vec<String> {
    let mut lines = Vec::new();
    for file in ["diag.json", "la.json"] {
        let mut w = want.to_vec();
        w.sort();
        lines.extend(w.iter().map(|n| format!("{file}:{n}")));
    }
    lines
}

/// Runs each `(rule, lines)` over `records` in both shapes; each rule must
/// alert on exactly those lines (1-based) of each file, once each.
fn expect_with(test: Test, args: &[&str], cases: &[(String, &[usize])], records: &[Value]) {
    let rules: Vec<String> = cases.iter().map(|(r, _)| r.clone()).collect();
    let run = run_both(test, &rules, records, args);
    run.code(0);
    assert!(!run.stderr.contains("error[") && !run.stderr.contains("warning["), "the rules are clean:\n{}", run.stderr);
    let mut got = alerts_by_rule(&run);
    let mut failures = Vec::new();
    for (rule, want) in cases {
        let title = title_of(rule);
        let have = got.remove(&title).unwrap_or_default();
        let want = both(want);
        if have != want {
            failures.push(format!("{title}:\n  want {want:?}\n  got  {have:?}"));
        }
    }
    assert!(got.is_empty(), "alerts of no case: {got:?}");
    assert!(failures.is_empty(), "{}\nstderr:\n{}", failures.join("\n"), run.stderr);
}

fn expect(cases: &[(String, &[usize])], records: &[Value]) {
    expect_with(Test::new(), &[], cases, records);
}

// ---- the harness itself -------------------------------------------------------

#[test]
fn the_diagnostic_shape_follows_the_table_paths() {
    let la = signin(json!({"ResultType": "50053", "IPAddress": "10.0.0.1", "DurationMs": 5}));
    assert_eq!(
        diagnostic(&la),
        json!({
            "category": "SignInLogs", "resultType": "50053", "durationMs": 5,
            "properties": {"createdDateTime": TIME, "ipAddress": "10.0.0.1"}
        })
    );
    let la = activity(json!({"OperationNameValue": "MICROSOFT.X/Y/WRITE", "OperationName": "Write Y"}));
    assert_eq!(
        diagnostic(&la),
        json!({"category": "Administrative", "operationName": "MICROSOFT.X/Y/WRITE", "time": TIME})
    );
}

// ---- selections -----------------------------------------------------------------

#[test]
fn a_map_is_and_a_list_of_maps_is_or() {
    let records = [
        signin(json!({"ResultType": "50126", "AppDisplayName": "Azure Portal"})),
        signin(json!({"ResultType": "50126", "AppDisplayName": "Office 365"})),
        signin(json!({"ResultType": "0", "AppDisplayName": "Azure Portal"})),
        signin(json!({"ResultType": "0", "AppDisplayName": "Office 365"})),
    ];
    let and = sigma(
        "map is and",
        SIGNIN,
        r"
  selection:
    ResultType: '50126'
    AppDisplayName: Azure Portal
  condition: selection",
    );
    let or = sigma(
        "list of maps is or",
        SIGNIN,
        r"
  selection:
    - ResultType: '50126'
    - AppDisplayName: Azure Portal
  condition: selection",
    );
    // A list item that is itself a map of two fields: and within, or between.
    let mixed = sigma(
        "list of two-field maps",
        SIGNIN,
        r"
  selection:
    - ResultType: '50126'
      AppDisplayName: Office 365
    - ResultType: '0'
      AppDisplayName: Azure Portal
  condition: selection",
    );
    expect(&[(and, &[1]), (or, &[1, 2, 3]), (mixed, &[2, 3])], &records);
}

#[test]
fn a_value_list_is_or_and_all_makes_it_and() {
    let records = [
        signin(json!({"UserAgent": "curl/8.4.0", "AppDisplayName": "Azure Portal"})),
        signin(json!({"UserAgent": "python-requests/2.31", "AppDisplayName": "Office 365"})),
        signin(json!({"UserAgent": "python-urllib3/2.0", "AppDisplayName": "Teams"})),
        signin(json!({"UserAgent": "requests-for-python", "AppDisplayName": "Azure portal"})),
        signin(json!({"UserAgent": "Mozilla/5.0", "AppDisplayName": "Azure Portal Extra"})),
    ];
    let or = sigma(
        "value list is or",
        SIGNIN,
        r"
  selection:
    UserAgent|contains:
      - curl
      - python
  condition: selection",
    );
    let all = sigma(
        "all is and",
        SIGNIN,
        r"
  selection:
    UserAgent|contains|all:
      - python
      - requests
  condition: selection",
    );
    let exact = sigma(
        "exact value list",
        SIGNIN,
        r"
  selection:
    AppDisplayName:
      - Azure Portal
      - Office 365
  condition: selection",
    );
    expect(&[(or, &[1, 2, 3, 4]), (all, &[2, 4]), (exact, &[1, 2, 4])], &records);
}

// ---- strings ----------------------------------------------------------------------

#[test]
fn star_and_question_mark_wildcards_at_start_middle_and_end() {
    let records = [
        signin(json!({"UserAgent": "Mozilla/5.0 Firefox/120"})),
        signin(json!({"UserAgent": "MOZILLA/5.0 (X11) FIREFOX/120"})),
        signin(json!({"UserAgent": "Firefox/120 Mozilla/5.0"})),
        signin(json!({"UserAgent": "curl/8.1"})),
        signin(json!({"UserAgent": "curl/18.1"})),
        signin(json!({"UserAgent": "xcurl/8.1"})),
    ];
    let rule = |title: &str, value: &str| {
        sigma(title, SIGNIN, &format!("  selection:\n    UserAgent: '{value}'\n  condition: selection"))
    };
    expect(
        &[
            (rule("star at end", "mozilla/*"), &[1, 2]),
            (rule("star at start", "*firefox/120"), &[1, 2]),
            (rule("star in the middle", "mozilla/5.0*firefox/120"), &[1, 2]),
            (rule("two stars", "*/5.0*"), &[1, 2, 3]),
            (rule("question mark in the middle", "curl/?.1"), &[4]),
            (rule("question mark at start", "?url/8.1"), &[4]),
            (rule("question mark at end", "curl/8.?"), &[4]),
            (rule("no wildcard is exact", "curl/8.1"), &[4]),
        ],
        &records,
    );
}

#[test]
fn escaped_star_question_mark_and_backslash_are_plain() {
    let records = [
        signin(json!({"UserAgent": "agent*v1"})),
        signin(json!({"UserAgent": "agentXv1"})),
        signin(json!({"UserAgent": "agent?v1"})),
        signin(json!({"UserAgent": r"C:\Temp\x.exe"})),
        signin(json!({"UserAgent": r"C:\*"})),
        signin(json!({"UserAgent": r"C:\Tempx.exe"})),
        signin(json!({"UserAgent": r"C:\\server"})),
    ];
    let rule = |title: &str, value: &str| {
        sigma(title, SIGNIN, &format!("  selection:\n    UserAgent: '{value}'\n  condition: selection"))
    };
    expect(
        &[
            (rule("escaped star", r"agent\*v1"), &[1]),
            (rule("escaped question mark", r"agent\?v1"), &[3]),
            (rule("unescaped star", "agent*v1"), &[1, 2, 3]),
            // `\\` before a wildcard: a backslash, then the wildcard.
            (rule("escaped backslash then star", r"C:\\Temp\\*"), &[4]),
            // `\\\*`: a backslash, then a plain star.
            (rule("backslash and plain star", r"C:\\\*"), &[5]),
            // A backslash before anything else is itself.
            (rule("plain backslashes", r"C:\Temp\x.exe"), &[4]),
            // `\\\\` is two backslashes.
            (rule("four backslashes", r"C:\\\\server"), &[7]),
        ],
        &records,
    );
}

#[test]
fn matching_ignores_case_unless_cased() {
    let records = [
        signin(json!({"UserAgent": "Mozilla Firefox", "AppDisplayName": "Azure Portal"})),
        signin(json!({"UserAgent": "mozilla firefox", "AppDisplayName": "AZURE PORTAL"})),
        signin(json!({"UserAgent": "MOZILLA FIREFOX", "AppDisplayName": "azure portal"})),
    ];
    let d = |title: &str, key: &str, value: &str| {
        sigma(title, SIGNIN, &format!("  selection:\n    {key}: '{value}'\n  condition: selection"))
    };
    expect(
        &[
            (d("exact ignores case", "AppDisplayName", "Azure Portal"), &[1, 2, 3]),
            (d("contains ignores case", "UserAgent|contains", "FireFox"), &[1, 2, 3]),
            (d("startswith ignores case", "UserAgent|startswith", "mOZILLA"), &[1, 2, 3]),
            (d("endswith ignores case", "UserAgent|endswith", "FIREFOX"), &[1, 2, 3]),
            (d("wildcard ignores case", "UserAgent", "moz*fox"), &[1, 2, 3]),
            (d("cased exact", "AppDisplayName|cased", "Azure Portal"), &[1]),
            (d("cased contains", "UserAgent|contains|cased", "Firefox"), &[1]),
            (d("cased startswith", "UserAgent|startswith|cased", "mozilla"), &[2]),
            (d("cased endswith", "UserAgent|endswith|cased", "FIREFOX"), &[3]),
            (d("cased wildcard", "UserAgent|cased", "MOZ*FOX"), &[3]),
        ],
        &records,
    );
}

#[test]
fn contains_startswith_endswith() {
    let records = [
        signin(json!({"UserPrincipalName": "admin@contoso.com"})),
        signin(json!({"UserPrincipalName": "helpdesk-admin@fabrikam.com"})),
        signin(json!({"UserPrincipalName": "alice@contoso.com.evil.example"})),
        signin(json!({"UserPrincipalName": "bob@fabrikam.com"})),
    ];
    let d = |title: &str, key: &str, value: &str| {
        sigma(title, SIGNIN, &format!("  selection:\n    {key}: '{value}'\n  condition: selection"))
    };
    expect(
        &[
            (d("contains", "UserPrincipalName|contains", "admin"), &[1, 2]),
            (d("startswith", "UserPrincipalName|startswith", "admin"), &[1]),
            (d("endswith", "UserPrincipalName|endswith", "@contoso.com"), &[1]),
            // The modifier's value is plain text: its `*` is still a wildcard
            // (pySigma), so `contains: 'a*n'` is `*a*n*`.
            (d("contains with a wildcard", "UserPrincipalName|contains", "desk*@fab"), &[2]),
        ],
        &records,
    );
}

#[test]
fn re_is_unanchored_case_sensitive_and_takes_i_m_s() {
    let records = [
        signin(json!({"UserAgent": "Mozilla Firefox/120"})),
        signin(json!({"UserAgent": "mozilla firefox/120"})),
        signin(json!({"UserAgent": "first line\ncurl\nlast line"})),
        signin(json!({"UserAgent": "start\nend"})),
        signin(json!({"UserAgent": "startXend"})),
    ];
    let d = |title: &str, key: &str, value: &str| {
        sigma(title, SIGNIN, &format!("  selection:\n    {key}: '{value}'\n  condition: selection"))
    };
    expect(
        &[
            (d("re unanchored and cased", "UserAgent|re", r"Fire(fox|bird)/\d+"), &[1]),
            (d("re i", "UserAgent|re|i", r"fire(fox|bird)/\d+"), &[1, 2]),
            (d("re without m", "UserAgent|re", "^curl$"), &[]),
            (d("re m", "UserAgent|re|m", "^curl$"), &[3]),
            (d("re without s", "UserAgent|re", "^start.end$"), &[5]),
            (d("re s", "UserAgent|re|s", "^start.end$"), &[4, 5]),
        ],
        &records,
    );
}

// ---- typed modifiers ----------------------------------------------------------------

#[test]
fn cidr_matches_v4_and_v6_ranges() {
    let records = [
        signin(json!({"IPAddress": "10.1.2.3"})),
        signin(json!({"IPAddress": "11.0.0.1"})),
        signin(json!({"IPAddress": "2001:db8:ffff::1"})),
        signin(json!({"IPAddress": "2001:db9::1"})),
        signin(json!({"IPAddress": "not an address"})),
        signin(json!({})),
        signin(json!({"IPAddress": "192.168.7.200"})),
    ];
    let d = |title: &str, values: &str| {
        sigma(title, SIGNIN, &format!("  selection:\n    IPAddress|cidr: {values}\n  condition: selection"))
    };
    expect(
        &[
            (d("cidr v4", "10.0.0.0/8"), &[1]),
            (d("cidr v6", "'2001:db8::/32'"), &[3]),
            (d("cidr list", "['192.168.7.128/25', '2001:db8::/32']"), &[3, 7]),
            (d("cidr narrow", "192.168.7.0/25"), &[]),
        ],
        &records,
    );
}

#[test]
fn exists_true_and_false() {
    let records = [
        signin(json!({"AppDisplayName": "Azure Portal", "DeviceDetail": {"browser": "Edge"}})),
        signin(json!({"DeviceDetail": {"operatingSystem": "Windows"}})),
        signin(json!({"AppDisplayName": null, "DeviceDetail": null})),
        signin(json!({"DurationMs": 0})),
    ];
    let d = |title: &str, key: &str, value: &str| {
        sigma(title, SIGNIN, &format!("  selection:\n    {key}: {value}\n  condition: selection"))
    };
    expect(
        &[
            (d("string exists", "AppDisplayName|exists", "true"), &[1]),
            (d("string does not exist", "AppDisplayName|exists", "false"), &[2, 3, 4]),
            (d("path exists", "DeviceDetail.browser|exists", "true"), &[1]),
            (d("path does not exist", "DeviceDetail.browser|exists", "false"), &[2, 3, 4]),
            (d("number exists", "DurationMs|exists", "true"), &[4]),
            (d("number does not exist", "DurationMs|exists", "false"), &[1, 2, 3]),
        ],
        &records,
    );
}

#[test]
fn gt_gte_lt_lte_on_a_number_column_and_a_string_column_of_numbers() {
    // `DurationMs` is a long; `ProcessingTimeInMilliseconds` a string.
    let records = [
        signin(json!({"DurationMs": 100, "ProcessingTimeInMilliseconds": "100"})),
        signin(json!({"DurationMs": 200, "ProcessingTimeInMilliseconds": "200"})),
        signin(json!({"DurationMs": 300, "ProcessingTimeInMilliseconds": "300"})),
        signin(json!({"ProcessingTimeInMilliseconds": "not a number"})),
        signin(json!({"DurationMs": 1000, "ProcessingTimeInMilliseconds": "1000"})),
    ];
    let d = |title: &str, key: &str, value: &str| {
        sigma(title, SIGNIN, &format!("  selection:\n    {key}: {value}\n  condition: selection"))
    };
    expect(
        &[
            (d("number gt", "DurationMs|gt", "200"), &[3, 5]),
            (d("number gte", "DurationMs|gte", "200"), &[2, 3, 5]),
            (d("number lt", "DurationMs|lt", "200"), &[1]),
            (d("number lte", "DurationMs|lte", "200"), &[1, 2]),
            (d("number gt real", "DurationMs|gt", "299.5"), &[3, 5]),
            // Compared as numbers, not as text ("1000" < "200" as text).
            (d("string gt", "ProcessingTimeInMilliseconds|gt", "200"), &[3, 5]),
            (d("string gte", "ProcessingTimeInMilliseconds|gte", "200"), &[2, 3, 5]),
            (d("string lt", "ProcessingTimeInMilliseconds|lt", "200"), &[1]),
            (d("string lte", "ProcessingTimeInMilliseconds|lte", "200"), &[1, 2]),
        ],
        &records,
    );
}

fn neq_records() -> [Value; 4] {
    [
        signin(json!({"AppDisplayName": "Azure Portal"})),
        signin(json!({"AppDisplayName": "azure portal"})),
        signin(json!({"AppDisplayName": "Office 365"})),
        signin(json!({})),
    ]
}

#[test]
fn neq_is_not_equal_and_ignores_case() {
    let one = sigma(
        "neq one",
        SIGNIN,
        r"
  selection:
    AppDisplayName|neq: Azure Portal
  condition: selection",
    );
    // A missing field is different from the value (Sigma is two-valued).
    expect(&[(one, &[3, 4])], &neq_records());
}

#[test]
fn neq_with_a_value_list_is_none_of_the_values() {
    // Appendix v2.1: "`neq`: The field is different from the specified
    // values"; pySigma's `neq` is a list modifier that negates the whole
    // detection item, `not (F = a or F = b)`.
    let list = sigma(
        "neq list",
        SIGNIN,
        r"
  selection:
    AppDisplayName|neq:
      - Azure Portal
      - Office 365
  condition: selection",
    );
    expect(&[(list, &[4])], &neq_records());
}

#[test]
fn fieldref_compares_two_fields() {
    let records = [
        signin(json!({
            "UserPrincipalName": "alice@contoso.com", "AlternateSignInName": "alice@contoso.com",
            "UserDisplayName": "Alice"
        })),
        signin(json!({
            "UserPrincipalName": "alice@contoso.com", "AlternateSignInName": "ALICE@CONTOSO.COM",
            "UserDisplayName": "alice@contoso"
        })),
        signin(json!({
            "UserPrincipalName": "alice@contoso.com", "AlternateSignInName": "bob@contoso.com",
            "UserDisplayName": "Bob"
        })),
    ];
    let eq = sigma(
        "fieldref",
        SIGNIN,
        r"
  selection:
    UserPrincipalName|fieldref: AlternateSignInName
  condition: selection",
    );
    let contains = sigma(
        "fieldref contains",
        SIGNIN,
        r"
  selection:
    UserPrincipalName|fieldref|contains: UserDisplayName
  condition: selection",
    );
    let cased = sigma(
        "fieldref cased",
        SIGNIN,
        r"
  selection:
    UserPrincipalName|fieldref|cased: AlternateSignInName
  condition: selection",
    );
    let neq = sigma(
        "fieldref neq",
        SIGNIN,
        r"
  selection:
    UserPrincipalName|neq|fieldref: AlternateSignInName
  condition: selection",
    );
    expect(&[(eq, &[1, 2]), (contains, &[1, 2]), (cased, &[1]), (neq, &[3])], &records);
}

// ---- encodings --------------------------------------------------------------------

/// `whoami /all` inside `cmd … exit` at three byte offsets (0, 1, 2 bytes
/// of prefix), Base64-encoded: as UTF-8 (lines 1-3), UTF-16LE (4-6),
/// UTF-16BE (7-9); then with a UTF-16 byte order mark (10); whole values
/// encoded by `base64` alone (11-14); the plain text (15). Computed with
/// Python's `base64` and `str.encode`.
fn encoded_records() -> Vec<Value> {
    [
        "Y21kIHdob2FtaSAvYWxsIGV4aXQ=",
        "YWNtZCB3aG9hbWkgL2FsbCBleGl0",
        "YWJjbWQgd2hvYW1pIC9hbGwgZXhpdA==",
        "YwBtAGQAIAB3AGgAbwBhAG0AaQAgAC8AYQBsAGwAIABlAHgAaQB0AA==",
        "YQBjAG0AZAAgAHcAaABvAGEAbQBpACAALwBhAGwAbAAgAGUAeABpAHQA",
        "YQBiAGMAbQBkACAAdwBoAG8AYQBtAGkAIAAvAGEAbABsACAAZQB4AGkAdAA=",
        "AGMAbQBkACAAdwBoAG8AYQBtAGkAIAAvAGEAbABsACAAZQB4AGkAdA==",
        "AGEAYwBtAGQAIAB3AGgAbwBhAG0AaQAgAC8AYQBsAGwAIABlAHgAaQB0",
        "AGEAYgBjAG0AZAAgAHcAaABvAGEAbQBpACAALwBhAGwAbAAgAGUAeABpAHQ=",
        // FF FE, then `whoami /all exit` in UTF-16LE.
        "//53AGgAbwBhAG0AaQAgAC8AYQBsAGwAIABlAHgAaQB0AA==",
        // `sigcorr-payload` in UTF-8.
        "c2lnY29yci1wYXlsb2Fk",
        // `sigcorr`: UTF-16 with its byte order mark, UTF-16LE, UTF-16BE.
        "//5zAGkAZwBjAG8AcgByAA==",
        "cwBpAGcAYwBvAHIAcgA=",
        "AHMAaQBnAGMAbwByAHI=",
        "whoami /all",
    ]
    .iter()
    .map(|v| signin(json!({ "UserAgent": v })))
    .collect()
}

#[test]
fn base64_and_base64offset_contains() {
    let d = |title: &str, key: &str, value: &str| {
        sigma(title, SIGNIN, &format!("  selection:\n    UserAgent|{key}: '{value}'\n  condition: selection"))
    };
    expect(
        &[
            (d("base64", "base64", "sigcorr-payload"), &[11]),
            // Each of the three offsets finds one of lines 1-3.
            (d("base64offset contains", "base64offset|contains", "whoami /all"), &[1, 2, 3]),
        ],
        &encoded_records(),
    );
}

#[test]
fn utf16_encodings_with_base64offset_and_base64() {
    let d = |title: &str, key: &str, value: &str| {
        sigma(title, SIGNIN, &format!("  selection:\n    UserAgent|{key}: '{value}'\n  condition: selection"))
    };
    // The UTF-16BE bytes of ASCII text are the UTF-16LE bytes of the same
    // text shifted by one, so each finds the other's encodings at some
    // offset (4-9); only the byte order mark record (10) tells them apart.
    expect(
        &[
            (d("utf16le base64offset", "utf16le|base64offset|contains", "whoami /all"), &[4, 5, 6, 7, 8, 9, 10]),
            (d("wide base64offset", "wide|base64offset|contains", "whoami /all"), &[4, 5, 6, 7, 8, 9, 10]),
            (d("utf16be base64offset", "utf16be|base64offset|contains", "whoami /all"), &[4, 5, 6, 7, 8, 9]),
            (d("utf16 base64offset", "utf16|base64offset|contains", "whoami /all"), &[10]),
            (d("utf16 base64", "utf16|base64", "sigcorr"), &[12]),
            (d("utf16le base64", "utf16le|base64", "sigcorr"), &[13]),
            (d("wide base64", "wide|base64", "sigcorr"), &[13]),
            (d("utf16be base64", "utf16be|base64", "sigcorr"), &[14]),
        ],
        &encoded_records(),
    );
}

#[test]
fn utf16le_and_utf16be_without_base64_match_the_code_units_as_text() {
    // UTF-16 of ASCII text is valid UTF-8: a NUL after (LE) or before (BE)
    // each character.
    let records = [
        signin(json!({"UserAgent": "c\u{0}m\u{0}d\u{0}"})),
        signin(json!({"UserAgent": "\u{0}c\u{0}m\u{0}d"})),
        signin(json!({"UserAgent": "cmd"})),
    ];
    let d = |title: &str, key: &str| {
        sigma(title, SIGNIN, &format!("  selection:\n    UserAgent|{key}: cmd\n  condition: selection"))
    };
    expect(&[(d("utf16le alone", "utf16le"), &[1]), (d("utf16be alone", "utf16be"), &[2])], &records);
}

#[test]
fn windash_varies_dash_and_slash() {
    let records = [
        signin(json!({"UserAgent": "tool -force run"})),
        signin(json!({"UserAgent": "tool /force run"})),
        signin(json!({"UserAgent": "tool \u{2013}force run"})),
        signin(json!({"UserAgent": "tool \u{2014}force run"})),
        signin(json!({"UserAgent": "tool \u{2015}force run"})),
        signin(json!({"UserAgent": "tool force run"})),
        signin(json!({"UserAgent": "tool +force run"})),
        signin(json!({"UserAgent": "TOOL /FORCE RUN"})),
    ];
    let windash = sigma(
        "windash",
        SIGNIN,
        r"
  selection:
    UserAgent|windash|contains: ' -force '
  condition: selection",
    );
    let plain = sigma(
        "without windash",
        SIGNIN,
        r"
  selection:
    UserAgent|contains: ' -force '
  condition: selection",
    );
    expect(&[(windash, &[1, 2, 3, 4, 5, 8]), (plain, &[1])], &records);
}

// ---- expand ---------------------------------------------------------------------------

const PLACEHOLDERS: &str = "admins:\n  - alice@contoso.com\n  - bob@*\n";

fn expand_records() -> [Value; 4] {
    [
        signin(json!({"UserPrincipalName": "alice@contoso.com"})),
        signin(json!({"UserPrincipalName": "bob@fabrikam.com"})),
        signin(json!({"UserPrincipalName": "carol@contoso.com"})),
        signin(json!({"UserPrincipalName": "%admins%"})),
    ]
}

#[test]
fn expand_fills_placeholders_from_the_placeholders_file() {
    let expand = sigma(
        "expand",
        SIGNIN,
        r"
  selection:
    UserPrincipalName|expand: '%admins%'
  condition: selection",
    );
    // Without `expand`, `%admins%` is plain text.
    let literal = sigma(
        "no expand",
        SIGNIN,
        r"
  selection:
    UserPrincipalName: '%admins%'
  condition: selection",
    );
    let test = Test::new().file("placeholders.yml", PLACEHOLDERS);
    // A placeholder value is a pattern: `bob@*` has a wildcard.
    expect_with(
        test,
        &["--placeholders", "placeholders.yml"],
        &[(expand, &[1, 2]), (literal, &[4])],
        &expand_records(),
    );
}

/// `re|expand`: a placeholder in a regex is the alternation of its values,
/// each as text (a `.` in a value is a dot, not any character).
#[test]
fn re_expand_puts_the_values_into_the_regex_as_text() {
    let rule = sigma(
        "re expand",
        SIGNIN,
        r"
  selection:
    UserPrincipalName|re|expand: '^%admins%$'
  condition: selection",
    );
    let test = Test::new().file("placeholders.yml", "admins: [alice@contoso.com, carol@contoso.com]\n");
    let records = [
        signin(json!({"UserPrincipalName": "alice@contoso.com"})),
        signin(json!({"UserPrincipalName": "alice@contosoXcom"})),
        signin(json!({"UserPrincipalName": "carol@contoso.com"})),
        signin(json!({"UserPrincipalName": "xalice@contoso.com"})),
    ];
    expect_with(test, &["--placeholders", "placeholders.yml"], &[(rule, &[1, 3])], &records);
}

#[test]
fn a_placeholder_with_an_empty_list_matches_nothing() {
    // src/sigma/value.rs `expand`: "A name with an empty list gives no
    // values (nothing matches)". Here the other field of the selection
    // does not match either, yet every record alerts.
    let rule = sigma(
        "expand empty",
        SIGNIN,
        r"
  selection:
    ResultType: 50126
    UserPrincipalName|expand: '%admins%'
  condition: selection",
    );
    let test = Test::new().file("placeholders.yml", "admins: []\n");
    let records = [
        signin(json!({"ResultType": "0", "UserPrincipalName": "carol@contoso.com"})),
        signin(json!({"ResultType": "50126", "UserPrincipalName": "carol@contoso.com"})),
    ];
    expect_with(test, &["--placeholders", "placeholders.yml"], &[(rule, &[])], &records);
}

#[test]
fn a_placeholder_without_a_value_is_e115_at_its_value() {
    let rule = sigma(
        "expand missing",
        SIGNIN,
        r"
  selection:
    UserPrincipalName|expand: '%operators%'
  condition: selection",
    );
    let line = rule.lines().position(|l| l.contains("%operators%")).unwrap() + 1;
    let col = rule.lines().nth(line - 1).unwrap().find('\'').unwrap() + 1;
    let test = Test::new().file("placeholders.yml", PLACEHOLDERS);
    let run = run_both(test, &[rule], &expand_records(), &["--placeholders", "placeholders.yml"]);
    run.code(2);
    assert!(
        run.stderr.starts_with(&format!("rules.yml:{line}:{col}: error[E115]: ")),
        "E115 at the value:\n{}",
        run.stderr
    );
    assert!(run.stderr.contains("operators"), "the message names the placeholder:\n{}", run.stderr);
    assert_eq!(run.stdout, "");
    // Without a placeholders file at all, too.
    let rule = sigma(
        "expand without file",
        SIGNIN,
        "  selection:\n    UserPrincipalName|expand: '%admins%'\n  condition: selection",
    );
    let run = run_both(Test::new(), &[rule], &expand_records(), &[]);
    run.code(2);
    assert!(run.stderr.starts_with(&format!("rules.yml:{line}:{col}: error[E115]: ")), "{}", run.stderr);
}

// ---- null, numbers, keywords ---------------------------------------------------------

#[test]
fn null_matches_a_missing_or_null_field() {
    let records = [
        signin(json!({"AppDisplayName": "Azure Portal", "DeviceDetail": {"browser": "Edge"}})),
        signin(json!({"DeviceDetail": {"operatingSystem": "Windows"}})),
        signin(json!({"AppDisplayName": null, "DeviceDetail": {"browser": null}})),
    ];
    let d = |title: &str, key: &str, value: &str| {
        sigma(title, SIGNIN, &format!("  selection:\n    {key}: {value}\n  condition: selection"))
    };
    expect(
        &[
            (d("null value", "AppDisplayName", "null"), &[2, 3]),
            (d("null in a list", "AppDisplayName", "[null, Azure Portal]"), &[1, 2, 3]),
            (d("null path", "DeviceDetail.browser", "null"), &[2, 3]),
        ],
        &records,
    );
}

#[test]
fn an_integer_matches_a_string_column_as_its_text() {
    let records = [
        signin(json!({"ResultType": "50053", "DurationMs": 50053})),
        signin(json!({"ResultType": "500530", "DurationMs": 500530})),
        signin(json!({"ResultType": "0", "DurationMs": 0})),
    ];
    let d = |title: &str, key: &str, value: &str| {
        sigma(title, SIGNIN, &format!("  selection:\n    {key}: {value}\n  condition: selection"))
    };
    expect(
        &[
            (d("integer on a string column", "ResultType", "50053"), &[1]),
            (d("integers on a string column", "ResultType", "[0, 50053]"), &[1, 3]),
            (d("integer on a number column", "DurationMs", "50053"), &[1]),
            (d("zero on a number column", "DurationMs", "0"), &[3]),
        ],
        &records,
    );
}

#[test]
fn keywords_search_every_string_and_json_column() {
    let records = [
        signin(json!({"UserAgent": "has Mimikatz inside"})),
        signin(json!({"AppDisplayName": "MIMIKATZ"})),
        // Inside a nested JSON value.
        signin(json!({"DeviceDetail": {"browser": "edge", "extra": {"note": "mimikatz ran"}}})),
        signin(json!({"UserPrincipalName": "evil-super-tool@contoso.com"})),
        signin(json!({"UserAgent": "benign", "AppDisplayName": "Azure Portal"})),
        signin(json!({"UserAgent": "tool then evil"})),
        signin(json!({"UserAgent": "first-word", "AppDisplayName": "second-word"})),
    ];
    let keywords = sigma(
        "keywords",
        SIGNIN,
        r"
  keywords:
    - mimikatz
    - 'evil*tool'
  condition: keywords",
    );
    let all = sigma(
        "keywords all",
        SIGNIN,
        r"
  keywords:
    '|all':
      - first-word
      - second-word
  condition: keywords",
    );
    let single = sigma(
        "single keyword",
        SIGNIN,
        r"
  keyword: benign
  condition: keyword",
    );
    expect(&[(keywords, &[1, 2, 3, 4]), (all, &[7]), (single, &[5])], &records);
}

// ---- conditions ------------------------------------------------------------------------

#[test]
fn conditions_and_or_not_parentheses_and_of() {
    // sel_a: 1 2 3 6 7; sel_b: 1 2 4 7; filter: 1 3 7; _helper: 1 5.
    let records = [
        signin(json!({"AppDisplayName": "A", "ResultType": "1", "UserAgent": "a bot", "ClientAppUsed": "Browser"})),
        signin(json!({"AppDisplayName": "A", "ResultType": "1", "UserAgent": "human"})),
        signin(json!({"AppDisplayName": "A", "ResultType": "0", "UserAgent": "a bot"})),
        signin(json!({"AppDisplayName": "B", "ResultType": "1"})),
        signin(json!({"AppDisplayName": "B", "ResultType": "0", "ClientAppUsed": "Browser"})),
        signin(json!({"AppDisplayName": "A", "ResultType": "0"})),
        signin(json!({"AppDisplayName": "A", "ResultType": "1", "UserAgent": "robot"})),
    ];
    let with = |title: &str, condition: &str| {
        sigma(
            title,
            SIGNIN,
            &format!(
                "  sel_a:\n    AppDisplayName: A\n  sel_b:\n    ResultType: 1\n  filter:\n    UserAgent|contains: bot\n  _helper:\n    ClientAppUsed: Browser\n  condition: {condition}"
            ),
        )
    };
    expect(
        &[
            (with("and", "sel_a and sel_b and (filter or not filter) and (_helper or not _helper)"), &[1, 2, 7]),
            (with("or", "sel_a or sel_b or (filter and not filter) or (_helper and not _helper)"), &[1, 2, 3, 4, 6, 7]),
            (with("and not", "sel_a and not filter and (sel_b or not sel_b) and (_helper or not _helper)"), &[2, 6]),
            (
                with(
                    "not of parentheses",
                    "not (sel_a or sel_b) and (filter or not filter) and (_helper or not _helper)",
                ),
                &[5],
            ),
            (with("parentheses", "(sel_a or sel_b) and not filter and (_helper or not _helper)"), &[2, 4, 6]),
            // `and` binds tighter than `or`: sel_a or (sel_b and not filter).
            (
                with("precedence and over or", "sel_a or sel_b and not filter and (_helper or not _helper)"),
                &[1, 2, 3, 4, 6, 7],
            ),
            // `not` binds tighter than `and`: (not sel_a) and sel_b.
            (
                with(
                    "precedence not over and",
                    "not sel_a and sel_b and (filter or not filter) and (_helper or not _helper)",
                ),
                &[4],
            ),
            (
                with("1 of pattern", "1 of sel_* and (filter or not filter) and (_helper or not _helper)"),
                &[1, 2, 3, 4, 6, 7],
            ),
            (
                with("all of pattern", "all of sel_* and (filter or not filter) and (_helper or not _helper)"),
                &[1, 2, 7],
            ),
            (with("1 of them", "1 of them and (_helper or not _helper)"), &[1, 2, 3, 4, 6, 7]),
            // `_helper` is left out of `them`: else line 7 would not alert.
            (with("all of them", "all of them and (_helper or not _helper)"), &[1, 7]),
            (
                with("underscore by name", "_helper and not sel_b and (sel_a or not sel_a) and (filter or not filter)"),
                &[5],
            ),
        ],
        &records,
    );
}

#[test]
fn a_condition_list_is_an_or() {
    let records = [
        signin(json!({"AppDisplayName": "A", "ResultType": "1", "UserAgent": "a bot"})),
        signin(json!({"AppDisplayName": "A", "ResultType": "1"})),
        signin(json!({"AppDisplayName": "B", "ClientAppUsed": "Browser"})),
        signin(json!({"AppDisplayName": "B"})),
    ];
    let rule = sigma(
        "condition list",
        SIGNIN,
        r"
  sel_b:
    ResultType: 1
  filter:
    UserAgent|contains: bot
  _helper:
    ClientAppUsed: Browser
  condition:
    - sel_b and filter
    - _helper",
    );
    expect(&[(rule, &[1, 3])], &records);
}

#[test]
fn not_of_a_selection_on_a_missing_field_matches() {
    // Every leaf is true or false: a missing field does not match, so its
    // negation does (Sigma is two-valued, no SQL-style unknown).
    let records = [
        signin(json!({"ResultType": "50126"})),
        signin(json!({
            "ResultType": "50126", "AppDisplayName": "Office 365", "IPAddress": "10.0.0.1", "DurationMs": 5,
            "DeviceDetail": {"browser": "Edge"}
        })),
        signin(json!({
            "ResultType": "50126", "AppDisplayName": "Teams", "IPAddress": "192.0.2.1", "DurationMs": 50,
            "DeviceDetail": {"browser": "Chrome"}
        })),
    ];
    let with = |title: &str, filter: &str| {
        sigma(
            title,
            SIGNIN,
            &format!(
                "  selection:\n    ResultType: '50126'\n  filter:\n    {filter}\n  condition: selection and not filter"
            ),
        )
    };
    expect(
        &[
            (with("not equals", "AppDisplayName: Office 365"), &[1, 3]),
            (with("not contains", "AppDisplayName|contains: office"), &[1, 3]),
            (with("not cidr", "IPAddress|cidr: 10.0.0.0/8"), &[1, 3]),
            (with("not gt", "DurationMs|gt: 10"), &[1, 2]),
            (with("not lt", "DurationMs|lt: 10"), &[1, 3]),
            (with("not re", "AppDisplayName|re: '^Off'"), &[1, 3]),
            (with("not path", "DeviceDetail.browser: Edge"), &[1, 3]),
            (with("not keyword", "- Edge"), &[1, 3]),
        ],
        &records,
    );
}

// ---- fields: JSON paths and aliases --------------------------------------------------

fn targets(values: &[&str]) -> Value {
    Value::Array(
        values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                json!({
                    "id": format!("target-{i}"),
                    "type": "User",
                    "modifiedProperties": [
                        {"displayName": "Role.WellKnownObjectName", "oldValue": null, "newValue": "\"TenantAdmins\""},
                        {"displayName": "Role.DisplayName", "oldValue": null, "newValue": format!("\"{v}\"")}
                    ]
                })
            })
            .collect(),
    )
}

#[test]
fn a_path_through_a_json_array_matches_when_any_element_does() {
    let records = [
        // The second target's second property.
        audit(json!({
            "OperationName": "Add member to role", "TargetResources": targets(&["Reader", "Global Administrator"])
        })),
        audit(json!({
            "OperationName": "Add member to role", "TargetResources": targets(&["Reader", "Billing Administrator"])
        })),
        // The column holding JSON text instead of an object.
        audit(json!({
            "OperationName": "Add member to role", "TargetResources": targets(&["Global Administrator"]).to_string()
        })),
        // The record's keys spelled with other cases.
        audit(json!({"OperationName": "Add member to role", "TargetResources": [
            {"Id": "t", "ModifiedProperties": [{"DisplayName": "Role.DisplayName", "NEWVALUE": "global administrator"}]}
        ]})),
        audit(json!({"OperationName": "Add member to role"})),
        audit(json!({"OperationName": "Add member to role", "TargetResources": []})),
        audit(json!({"OperationName": "Add member to role", "TargetResources": "not json"})),
    ];
    let d = |title: &str, key: &str| {
        sigma(title, AUDIT, &format!("  selection:\n    {key}|contains: Global Administrator\n  condition: selection"))
    };
    expect(
        &[
            (d("json path", "TargetResources.modifiedProperties.newValue"), &[1, 3, 4]),
            (d("json path other case", "targetresources.ModifiedProperties.NEWVALUE"), &[1, 3, 4]),
            (d("json path under properties", "properties.targetResources.modifiedProperties.newValue"), &[1, 3, 4]),
            // The whole column, as its JSON text.
            (d("json column", "TargetResources"), &[1, 3, 4]),
        ],
        &records,
    );
}

#[test]
fn a_json_path_with_exact_and_negated_matches() {
    let records = [
        audit(json!({"TargetResources": [{"type": "User"}, {"type": "Group"}]})),
        audit(json!({"TargetResources": [{"type": "User"}]})),
        audit(json!({"TargetResources": [{"Type": "group"}]})),
        audit(json!({})),
    ];
    let exact = sigma(
        "path exact",
        AUDIT,
        r"
  selection:
    TargetResources.type: Group
  condition: selection",
    );
    let negated = sigma(
        "path negated",
        AUDIT,
        r"
  selection:
    TargetResources.type|exists: true
  filter:
    TargetResources.type: Group
  condition: selection and not filter",
    );
    expect(&[(exact, &[1, 3]), (negated, &[2])], &records);
}

#[test]
fn properties_message_is_operation_name_on_audit_logs() {
    let records = [
        audit(json!({"OperationName": "Reset user password", "ActivityDisplayName": "Reset user password"})),
        audit(json!({"OperationName": "Add user", "ActivityDisplayName": "Reset user password"})),
        audit(json!({"OperationName": "reset USER password"})),
    ];
    let message = sigma(
        "properties message",
        AUDIT,
        r"
  selection:
    properties.message: Reset user password
  condition: selection",
    );
    let activity_type = sigma(
        "activity type",
        AUDIT,
        r"
  selection:
    activityType|startswith: Reset
  condition: selection",
    );
    expect(&[(message, &[1, 3]), (activity_type, &[1, 3])], &records);
}

#[test]
fn operation_name_is_operation_name_value_on_azure_activity() {
    // In the export, `operationName` is the resource-provider operation:
    // OperationNameValue; the display name OperationName is not exported.
    let records = [
        activity(json!({
            "OperationNameValue": "MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE",
            "OperationName": "Create role assignment", "CategoryValue": "Administrative"
        })),
        activity(json!({
            "OperationNameValue": "Microsoft.Authorization/roleAssignments/write", "CategoryValue": "Administrative"
        })),
        activity(json!({
            "OperationNameValue": "MICROSOFT.COMPUTE/VIRTUALMACHINES/WRITE",
            "OperationName": "MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE", "CategoryValue": "Administrative"
        })),
    ];
    let rule = sigma(
        "operation name",
        ACTIVITY,
        r"
  selection:
    operationName: MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE
  condition: selection",
    );
    let category = sigma(
        "category",
        ACTIVITY,
        r"
  selection:
    category: Administrative
    operationName|endswith: /write
  condition: selection",
    );
    expect(&[(rule.clone(), &[1, 2]), (category, &[1, 2, 3])], &records);
    // The diagnostic shape as the activity log writes it.
    let run = Test::new()
        .file("rules.yml", rule)
        .records(
            "export.json",
            &[
                json!({
                    "time": TIME, "category": "Administrative",
                    "operationName": "MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE", "resultType": "Success",
                    "properties": {"message": "x"}
                }),
                json!({
                    "time": TIME, "category": "Administrative",
                    "operationName": "MICROSOFT.COMPUTE/VIRTUALMACHINES/WRITE", "resultType": "Success"
                }),
            ],
        )
        .args(["run", "--rules", "rules.yml", "export.json"])
        .run();
    run.code(0);
    let lines: Vec<String> = run.alerts().into_iter().map(|a| a.evidence["event"].clone()).collect();
    assert_eq!(lines, ["export.json:1"]);
}

#[test]
fn the_signinlogs_logsource_reads_both_sign_in_tables() {
    let records = [
        signin(json!({"ResultType": "50126", "UserAgent": "python-requests/2.31"})),
        non_interactive(json!({"ResultType": "50126", "UserAgent": "python-requests/2.31"})),
        non_interactive(json!({"ResultType": "0", "UserAgent": "python-requests/2.31"})),
        // A JSON column that is dynamic in SigninLogs and a string in the
        // other table.
        non_interactive(json!({"ResultType": "50126", "DeviceDetail": "{\"browser\": \"python\"}"})),
    ];
    let rule = sigma(
        "both tables",
        SIGNIN,
        r"
  selection:
    ResultType: 50126
  scripted:
    - UserAgent|startswith: python-
    - DeviceDetail.browser: python
  condition: selection and scripted",
    );
    expect(&[(rule, &[1, 2, 4])], &records);
}

#[test]
fn a_field_resolves_on_each_table_of_the_logsource() {
    // tables/SIGMA-FIELDS.md: "A Sigma field resolves against each table its
    // logsource maps to". SigninLogs calls the column
    // ProcessingTimeInMilliseconds, AADNonInteractiveUserSignInLogs
    // ProcessingTimeInMs (the mapping file aliases the export's name to it).
    let records = [
        signin(json!({"ProcessingTimeInMilliseconds": "50"})),
        non_interactive(json!({"ProcessingTimeInMs": "50"})),
        non_interactive(json!({"ProcessingTimeInMs": "5"})),
    ];
    let rule = sigma(
        "processing time",
        SIGNIN,
        r"
  selection:
    properties.processingTimeInMilliseconds|gt: 10
  condition: selection",
    );
    expect(&[(rule, &[1, 2])], &records);
}

#[test]
fn alerts_carry_time_generated_and_the_columns_read_or_the_fields_list() {
    let record = signin(json!({
        "ResultType": "50053", "UserPrincipalName": "alice@contoso.com", "IPAddress": "10.0.0.1",
        "AppDisplayName": "Teams"
    }));
    let detection = r"
  selection:
    ResultType: 50053
    Username|endswith: '@contoso.com'
  condition: selection";
    let default = sigma("default fields", SIGNIN, detection);
    // Names as a Sigma rule writes them: any case, aliases.
    let listed = format!(
        "{}fields:\n  - ipaddress\n  - AppDisplayName\n  - Username\n",
        sigma("listed fields", SIGNIN, detection)
    );
    for diag in [false, true] {
        let rec = if diag { diagnostic(&record) } else { record.clone() };
        let run = Test::new()
            .file("rules.yml", [default.clone(), listed.clone()].join("---\n"))
            .records("a.json", &[rec])
            .args(["run", "--rules", "rules.yml", "a.json"])
            .run();
        run.code(0);
        let alerts = run.alerts();
        assert_eq!(alerts.len(), 2, "{}", run.stdout);
        for a in &alerts {
            assert_eq!(a.evidence.keys().collect::<Vec<_>>(), ["event"]);
            assert_eq!(a.evidence["event"], "a.json:1");
            assert_eq!(a.rule.id, uuid_of(&a.rule.title));
            assert_eq!(a.rule.level, "medium");
        }
        let keys = |a: &crate::common::Alert| a.fields.keys().cloned().collect::<Vec<_>>();
        let default = alerts.iter().find(|a| a.rule.title == "default fields").unwrap();
        // The `Username` alias reads UserPrincipalName.
        assert_eq!(keys(default), ["TimeGenerated", "ResultType", "UserPrincipalName"]);
        assert_eq!(default.fields["TimeGenerated"], json!(TIME));
        assert_eq!(default.fields["UserPrincipalName"], json!("alice@contoso.com"));
        let listed = alerts.iter().find(|a| a.rule.title == "listed fields").unwrap();
        assert_eq!(keys(listed), ["TimeGenerated", "IPAddress", "AppDisplayName", "UserPrincipalName"]);
        assert_eq!(listed.fields["AppDisplayName"], json!("Teams"));
    }
}

// ---- rule files: several documents, refusals -------------------------------------------

/// A sigcorr rule over SigninLogs, to run beside Sigma rules.
const SIGCORR_RULE: &str = r#"title: Sign-in from the lab network
id: 6b0c3f4e-5d7a-4e8b-9c1d-2e3f4a5b6c7d
status: experimental
description: A sigcorr rule beside Sigma rules.
author: sigcorr tests
references:
  - https://example.com/lab
level: low
falsepositives:
  - Lab machines
correlation:
  sources:
    signin: SigninLogs
  filter:
    signin: IPAddress startswith "10."
  output:
    TimeGenerated: signin.TimeGenerated
    IPAddress: signin.IPAddress
"#;

/// `(rule title, evidence)` of each alert, sorted.
fn alert_list(run: &Run) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = run
        .alerts()
        .into_iter()
        .map(|a| (a.rule.title, a.evidence.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")))
        .collect();
    out.sort();
    out
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

#[test]
fn two_sigma_rules_in_one_file_and_a_sigcorr_rule_alert_in_one_run() {
    let failed = sigma("failed mfa", SIGNIN, "  selection:\n    ResultType: 50074\n  condition: selection");
    let portal = sigma("portal", SIGNIN, "  selection:\n    AppDisplayName: Azure Portal\n  condition: selection");
    let records = [
        signin(json!({"ResultType": "50074", "AppDisplayName": "Azure Portal", "IPAddress": "10.0.0.1"})),
        signin(json!({"ResultType": "0", "AppDisplayName": "Azure Portal", "IPAddress": "192.0.2.1"})),
        signin(json!({"ResultType": "50074", "AppDisplayName": "Teams", "IPAddress": "192.0.2.1"})),
    ];
    let run = Test::new()
        .file("rules/sigma.yml", format!("{failed}---\n{portal}"))
        .file("rules/lab.yml", SIGCORR_RULE)
        .records("logs.json", &records)
        .args(["run", "--rules", "rules", "logs.json"])
        .run();
    run.code(0);
    assert_eq!(
        alert_list(&run),
        pairs(&[
            ("Sign-in from the lab network", "signin=logs.json:1"),
            ("failed mfa", "event=logs.json:1"),
            ("failed mfa", "event=logs.json:3"),
            ("portal", "event=logs.json:1"),
            ("portal", "event=logs.json:2"),
        ])
    );
}

/// A good Sigma rule, then a broken one (an unknown modifier at line
/// `BROKEN_LINE`), in one file.
fn good_and_broken() -> (String, usize, usize) {
    let good = sigma("good", SIGNIN, "  selection:\n    ResultType: 50074\n  condition: selection");
    let broken = sigma("broken", SIGNIN, "  selection:\n    ResultType|contians: 50074\n  condition: selection");
    let text = format!("{good}---\n{broken}");
    let line = text.lines().position(|l| l.contains("contians")).unwrap() + 1;
    (text, line, 5)
}

#[test]
fn a_broken_sigma_rule_is_refused_and_the_good_one_runs_exit_5() {
    let (text, line, col) = good_and_broken();
    let records = [signin(json!({"ResultType": "50074"})), signin(json!({"ResultType": "0"}))];
    let run = Test::new()
        .file("rules.yml", &text)
        .records("logs.json", &records)
        .args(["run", "--rules", "rules.yml", "logs.json"])
        .run();
    run.code(5);
    assert!(
        run.stderr.starts_with(&format!("rules.yml:{line}:{col}: error[E110]: unknown modifier `contians`")),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("1 of 2 rules refused"), "{}", run.stderr);
    assert_eq!(alert_list(&run), pairs(&[("good", "event=logs.json:1")]));

    // With --strict nothing runs.
    let run = Test::new()
        .file("rules.yml", &text)
        .records("logs.json", &records)
        .args(["run", "--strict", "--rules", "rules.yml", "logs.json"])
        .run();
    run.code(2);
    assert!(run.stderr.starts_with(&format!("rules.yml:{line}:{col}: error[E110]")), "{}", run.stderr);
    assert!(run.stderr.ends_with("error: 1 rule error; no rules were run (--strict)\n"), "{}", run.stderr);
    assert_eq!(run.stdout, "");
}

// ---- lint ----------------------------------------------------------------------------------

/// `line:col code message | help` of each finding of `lint --format json`
/// on one file.
fn lint(text: &str) -> (Vec<String>, i32) {
    let run = Test::new().file("r.yml", text).args(["lint", "--format", "json", "r.yml"]).run();
    let findings = run
        .stdout
        .lines()
        .map(|l| {
            let f: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("not a finding: {e}: {l}"));
            assert_eq!(f["file"], "r.yml");
            let help = f["help"].as_str().map(|h| format!(" | {h}")).unwrap_or_default();
            format!(
                "{}:{} {} {}{help}",
                f["line"],
                f["column"],
                f["code"].as_str().unwrap(),
                f["message"].as_str().unwrap()
            )
        })
        .collect();
    (findings, run.code)
}

/// A Sigma rule with the metadata lint wants, so that only the detection
/// is reported.
fn linted(title: &str, logsource: &str, detection: &str) -> String {
    format!(
        "title: {title}\nid: {id}\nstatus: test\nreferences:\n  - https://example.com/\nfalsepositives:\n  - Unknown\nlogsource:\n{logsource}\ndetection:\n{detection}\nlevel: medium\n",
        id = uuid_of(title),
        detection = detection.trim_matches('\n'),
    )
}

const SIGNIN_LOGSOURCE: &str = "  product: azure\n  service: signinlogs";

/// The 1-based line and column of the first `needle` in `text`.
fn at(text: &str, needle: &str) -> String {
    let (i, line) = text.lines().enumerate().find(|(_, l)| l.contains(needle)).unwrap();
    format!("{}:{}", i + 1, line.find(needle).unwrap() + 1)
}

#[test]
fn lint_reports_unknown_modifiers_with_a_suggestion_and_bad_combinations() {
    let text =
        linted("modifiers", SIGNIN_LOGSOURCE, "  selection:\n    UserAgent|startwith: curl\n  condition: selection");
    assert_eq!(
        lint(&text),
        (
            vec![format!(
                "{} E110 unknown modifier `startwith` | did you mean `startswith`?",
                at(&text, "UserAgent|startwith")
            )],
            1
        )
    );
    let text = linted(
        "combination",
        SIGNIN_LOGSOURCE,
        "  selection:\n    UserAgent|contains|endswith: curl\n  condition: selection",
    );
    assert_eq!(
        lint(&text),
        (
            vec![format!(
                "{} E111 `endswith` after `contains`: a value takes one of contains, startswith, endswith",
                at(&text, "UserAgent|contains")
            )],
            1
        )
    );
}

#[test]
fn lint_reports_unknown_selections_and_fields_with_suggestions() {
    let text = linted(
        "selections",
        SIGNIN_LOGSOURCE,
        "  selection:\n    ResultType: 50074\n  condition: selection and not filtr",
    );
    assert_eq!(
        lint(&text),
        (vec![format!("{} E113 unknown selection `filtr` | name a key of `detection`", at(&text, "filtr"))], 1)
    );
    let text = linted("selection typo", SIGNIN_LOGSOURCE, "  selection:\n    ResultType: 50074\n  condition: selecton");
    assert_eq!(
        lint(&text),
        (vec![format!("{} E113 unknown selection `selecton` | did you mean `selection`?", at(&text, "selecton"))], 1)
    );
    let text = linted(
        "fields",
        SIGNIN_LOGSOURCE,
        "  selection:\n    UserPrincipalNme: alice@contoso.com\n  condition: selection",
    );
    assert_eq!(
        lint(&text),
        (
            vec![format!(
                "{} E202 field `UserPrincipalNme` matches no column of table `SigninLogs` or `AADNonInteractiveUserSignInLogs` | did you mean `UserPrincipalName`? (or map the field in a logsource mapping file's `fields`)",
                at(&text, "UserPrincipalNme")
            )],
            1
        )
    );
}

#[test]
fn lint_reports_an_unmapped_logsource() {
    let text = linted(
        "windows",
        "  product: windows\n  category: process_creation",
        "  selection:\n    Image|endswith: '\\whoami.exe'\n  condition: selection",
    );
    let (findings, code) = lint(&text);
    assert_eq!(code, 1);
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert!(
        findings[0].starts_with(&format!(
            "{} E210 no table for logsource `product: windows, category: process_creation`",
            at(&text, "logsource:")
        )),
        "{findings:?}"
    );
}

#[test]
fn a_logsource_no_table_holds_is_refused_with_the_mappings_reason() {
    let text = linted(
        "pim",
        "  product: azure\n  service: pim",
        "  selection:\n    riskEventType: staleSignInAlertIncident\n  condition: selection",
    );
    let (findings, code) = lint(&text);
    assert_eq!(code, 1);
    assert_eq!(findings.len(), 1, "{findings:?}");
    let want =
        format!("{} E210 no table holds logsource `product: azure, service: pim`: PIM alert", at(&text, "logsource:"));
    assert!(findings[0].starts_with(&want), "{findings:?}");
}

#[test]
fn lint_warns_of_unused_selections_and_wildcard_only_values() {
    let text = linted(
        "warnings",
        SIGNIN_LOGSOURCE,
        "  selection:\n    ResultType: 50074\n    UserAgent: '*'\n  leftover:\n    AppDisplayName: Teams\n  condition: selection",
    );
    assert_eq!(
        lint(&text),
        (
            vec![
                format!(
                    "{} W512 this value is only wildcards: it matches any non-empty value | write `field|exists: true` to say so",
                    at(&text, "'*'")
                ),
                format!(
                    "{} W510 selection `leftover` is not used by the condition | use it in `condition`, or remove it",
                    at(&text, "leftover")
                ),
            ],
            0
        )
    );
}

/// The example Sigma rule under tests/sigma lints clean, and its tests file passes.
#[test]
fn the_example_sigma_rule_lints_clean_and_its_tests_pass() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sigma");
    let lint = Test::new().args(["lint", "--deny", "warnings", dir.to_str().unwrap()]).run();
    lint.code(0);
    assert_eq!(lint.stderr, "1 rule file: 1 Sigma detection rule; 0 errors, 0 warnings\n");
    let test = Test::new().args(["test", dir.to_str().unwrap()]).run();
    test.code(0);
    assert!(test.stdout.contains("test result: ok. 5 passed; 0 failed"), "{}", test.stdout);
}
