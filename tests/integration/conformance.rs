//! The Kusto conformance suite: what the rule language means, as tables of
//! cases taken from the examples (and the null and empty cases) of each
//! operator's and function's page in Kusto's documentation (Microsoft Learn,
//! Kusto Query Language reference).
//!
//! - `tests/conformance/expressions.yml`: groups of cases, one group per page
//!   (`page`: its title, `url`), each case an expression, the values of the
//!   columns it reads and the documented result (`want`; `want_datetime` for
//!   a datetime, compared as an instant; `keeps` when the page documents only
//!   whether a `where` keeps the row).
//! - `tests/conformance/joins.yml`: join cases, two tables of rows and the
//!   joined rows the page documents.
//! - `tests/conformance/tables/`: the tables the cases' records belong to.
//!
//! Every case runs in one `sigcorr run`. A case is a rule of its own: its
//! record (carrying `Case: <id>`, then its columns) is kept by the filter
//! `Case == "<id>"` and the expression is the rule's one output, evaluated
//! by the interpreter. A case whose result is a boolean or null is also a
//! second rule, whose filter is `Case == "<id>" and (<expr>)`: the compiled
//! predicates, which must keep the record exactly when the result is `true`
//! (a `where` drops null). A rule the engine refuses (an unknown function,
//! a type error) is that case failing, with the diagnostic as its result.
//!
//! A case marked `pending: <why>` is behaviour being changed now: it is
//! listed and counted, and must still fail; once it passes, the test fails
//! until the mark is removed. A case marked `differs: <why>` is a difference
//! the maintainers document (the README, or a function's line of the
//! README's function table in `src/functions.rs`): `want` stays what Kusto
//! does, `sigcorr` is what sigcorr does instead, and the case must produce
//! `sigcorr` (and not `want`).
//!
//! `cargo test --test integration conformance:: -- --nocapture` prints the
//! report (also written to `target/tmp/conformance-report.txt`).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value, json};

use crate::common::{Test, repo};

/// What `now()` is in every case.
const NOW: &str = "2026-07-16T12:00:00Z";

/// The YAML reader takes at most 1,024 documents a file.
const RULES_PER_FILE: usize = 500;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Group {
    /// The page's title, as Microsoft Learn shows it.
    page: String,
    url: String,
    /// The operator or function the cases are about (a case may say its own).
    #[serde(default)]
    topic: Option<String>,
    #[allow(dead_code)]
    #[serde(default)]
    note: Option<String>,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    expr: String,
    #[serde(default)]
    topic: Option<String>,
    /// The case's record: column name to JSON value (absent: not in the record).
    #[serde(default)]
    columns: Map<String, Value>,
    #[serde(default, deserialize_with = "present")]
    want: Option<Value>,
    /// A datetime result, RFC 3339; compared as an instant.
    #[serde(default)]
    want_datetime: Option<String>,
    /// Only whether `where <expr>` keeps the record.
    #[serde(default)]
    keeps: Option<bool>,
    #[serde(default)]
    pending: Option<String>,
    #[serde(default)]
    differs: Option<String>,
    /// With `differs`: what sigcorr produces instead of `want`.
    #[serde(default, deserialize_with = "present")]
    sigcorr: Option<Value>,
    #[allow(dead_code)]
    #[serde(default)]
    note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Join {
    page: String,
    url: String,
    topic: String,
    #[allow(dead_code)]
    #[serde(default)]
    note: Option<String>,
    /// The rule's `join`, over sources `l` (ConformanceLeft) and `r` (ConformanceRight).
    on: String,
    left: Vec<Map<String, Value>>,
    right: Vec<Map<String, Value>>,
    /// The joined rows: `[l.Key, l.Value1, r.Key, r.Value2]`, in any order.
    want: Vec<Value>,
    #[serde(default)]
    pending: Option<String>,
    #[serde(default)]
    differs: Option<String>,
    #[serde(default)]
    sigcorr: Option<Vec<Value>>,
}

/// `Some` for any value given, `null` included; the field's default (`None`) when absent.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

fn load<T: for<'de> Deserialize<'de>>(name: &str) -> T {
    let path = repo().join("tests/conformance").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// An expected or produced result.
#[derive(Clone, Debug)]
enum Outcome {
    /// The output field's JSON value.
    Value(Value),
    /// A datetime, RFC 3339.
    DateTime(String),
    /// Whether the filter kept the record.
    Keeps(bool),
    /// The joined rows.
    Rows(Vec<Value>),
    /// The rule was refused: its diagnostics.
    Refused(String),
    /// The value rule's record made no alert (the filter `Case == id` failed).
    NoAlert,
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Value(v) => write!(f, "{v}"),
            Outcome::DateTime(t) => write!(f, "datetime({t})"),
            Outcome::Keeps(k) => write!(f, "{}", if *k { "where keeps the row" } else { "where drops the row" }),
            Outcome::Rows(rows) => write!(f, "{}", Value::Array(rows.clone())),
            Outcome::Refused(d) => write!(f, "refused: {d}"),
            Outcome::NoAlert => write!(f, "no alert"),
        }
    }
}

/// Numbers compare by value (Kusto shows `4` for a real 4.0 too), datetimes
/// as instants, rows as multisets; anything else as JSON.
fn same(want: &Outcome, got: &Outcome) -> bool {
    match (want, got) {
        (Outcome::Value(w), Outcome::Value(g)) => same_json(w, g),
        (Outcome::DateTime(w), Outcome::Value(Value::String(g))) => match (instant(w), instant(g)) {
            (Some(w), Some(g)) => w == g,
            _ => false,
        },
        (Outcome::Keeps(w), Outcome::Keeps(g)) => w == g,
        (Outcome::Rows(w), Outcome::Rows(g)) => {
            let key = |rows: &[Value]| {
                let mut k: Vec<String> = rows.iter().map(|r| normal(r).to_string()).collect();
                k.sort();
                k
            };
            key(w) == key(g)
        }
        _ => false,
    }
}

fn same_json(w: &Value, g: &Value) -> bool {
    match (w, g) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (Value::Array(a), Value::Array(b)) => a.len() == b.len() && a.iter().zip(b).all(|(a, b)| same_json(a, b)),
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len() && a.iter().all(|(k, v)| b.get(k).is_some_and(|u| same_json(v, u)))
        }
        _ => w == g,
    }
}

/// Numbers as reals, so that rows compare by value.
fn normal(v: &Value) -> Value {
    match v {
        Value::Number(n) => json!(n.as_f64()),
        Value::Array(a) => Value::Array(a.iter().map(normal).collect()),
        other => other.clone(),
    }
}

fn instant(s: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(s).ok().and_then(|t| t.timestamp_nanos_opt())
}

/// What a case is checked for: its rule's kind and the outcome expected.
struct Check {
    rule: usize,
    /// What the documentation says.
    docs: Outcome,
    /// What sigcorr must produce: `docs`, unless the case `differs`.
    expect: Outcome,
    /// The filter check of a null result: it applies only if the expression
    /// is a predicate (`Long + 10` is null too, and no filter).
    if_bool: bool,
}

struct Entry {
    id: String,
    page: String,
    topic: String,
    what: String,
    pending: Option<String>,
    differs: Option<String>,
    checks: Vec<Check>,
}

/// The rules, records and expectations of every case.
#[derive(Default)]
struct Suite {
    /// Rule files, each at most [`RULES_PER_FILE`] YAML documents.
    rules: Vec<String>,
    /// The file and line each rule document starts at, in rule order.
    starts: Vec<(usize, usize)>,
    records: String,
    entries: Vec<Entry>,
    pages: BTreeMap<String, String>,
}

fn yaml_str(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

impl Suite {
    /// Appends a rule document; returns its index.
    fn rule(
        &mut self,
        title: &str,
        url: &str,
        sources: &[(&str, &str)],
        filters: &[(&str, String)],
        join: Option<&str>,
        output: &[(&str, &str)],
    ) -> usize {
        let n = self.starts.len();
        if n.is_multiple_of(RULES_PER_FILE) {
            self.rules.push(String::new());
        } else {
            self.rules.last_mut().unwrap().push_str("---\n");
        }
        let file = self.rules.len() - 1;
        self.starts.push((file, self.rules[file].lines().count() + 1));
        let mut r = String::new();
        writeln!(r, "title: {}", yaml_str(title)).unwrap();
        writeln!(r, "id: 00000000-0000-4000-8000-{n:012}").unwrap();
        writeln!(r, "level: informational").unwrap();
        writeln!(r, "references: [{}]", yaml_str(url)).unwrap();
        writeln!(r, "falsepositives: [none]").unwrap();
        writeln!(r, "correlation:\n  sources:").unwrap();
        for (alias, table) in sources {
            writeln!(r, "    {alias}: {table}").unwrap();
        }
        writeln!(r, "  filter:").unwrap();
        for (alias, filter) in filters {
            writeln!(r, "    {alias}: {}", yaml_str(filter)).unwrap();
        }
        if let Some(on) = join {
            writeln!(r, "  join: {}", yaml_str(on)).unwrap();
        }
        writeln!(r, "  output:").unwrap();
        for (name, expr) in output {
            writeln!(r, "    {name}: {}", yaml_str(expr)).unwrap();
        }
        self.rules[file].push_str(&r);
        n
    }

    fn record(&mut self, table: &str, id: &str, columns: &Map<String, Value>) {
        let mut record = Map::new();
        record.insert("Type".into(), json!(table));
        record.insert("Case".into(), json!(id));
        for (k, v) in columns {
            assert!(k != "Type" && k != "Case", "case {id}: `{k}` is the suite's own column");
            record.insert(k.clone(), v.clone());
        }
        writeln!(self.records, "{}", Value::Object(record)).unwrap();
    }

    fn expression(&mut self, group: &Group, case: &Case) {
        let id = format!("e{:04}", self.entries.len() + 1);
        let topic = case.topic.clone().or_else(|| group.topic.clone());
        let topic = topic.unwrap_or_else(|| panic!("{}: `{}` names no topic", group.page, case.expr));
        let docs = match (&case.want, &case.want_datetime, case.keeps) {
            (Some(v), None, None) => Outcome::Value(v.clone()),
            (None, Some(t), None) => {
                assert!(instant(t).is_some(), "{id} `{}`: want_datetime {t:?} is not RFC 3339", case.expr);
                Outcome::DateTime(t.clone())
            }
            (None, None, Some(k)) => Outcome::Keeps(k),
            _ => panic!("{id} `{}`: give exactly one of want, want_datetime, keeps", case.expr),
        };
        let expect = match (&case.differs, &case.sigcorr) {
            (None, None) => docs.clone(),
            (Some(_), Some(v)) => {
                let expect = match docs {
                    Outcome::Keeps(_) => Outcome::Keeps(v == &json!(true)),
                    _ => Outcome::Value(v.clone()),
                };
                assert!(!same(&docs, &expect), "{id} `{}`: `sigcorr` must differ from what the docs say", case.expr);
                expect
            }
            _ => panic!("{id} `{}`: `differs` and `sigcorr` go together", case.expr),
        };
        assert!(!(case.pending.is_some() && case.differs.is_some()), "{id}: pending or differs, not both");
        self.record("Conformance", &id, &case.columns);
        let select = format!("Case == {}", yaml_str(&id));
        let mut checks = Vec::new();
        if !matches!(docs, Outcome::Keeps(_)) {
            let rule = self.rule(
                &format!("conformance {id} value"),
                &group.url,
                &[("x", "Conformance")],
                &[("x", select.clone())],
                None,
                &[("v", &case.expr)],
            );
            checks.push(Check { rule, docs: docs.clone(), expect: expect.clone(), if_bool: false });
        }
        // A predicate's result: also through the compiled filters.
        let keeps = |o: &Outcome| match o {
            Outcome::Keeps(k) => Some(*k),
            Outcome::Value(Value::Bool(b)) => Some(*b),
            Outcome::Value(Value::Null) => Some(false),
            _ => None,
        };
        if let (Some(d), Some(e)) = (keeps(&docs), keeps(&expect)) {
            let rule = self.rule(
                &format!("conformance {id} filter"),
                &group.url,
                &[("x", "Conformance")],
                &[("x", format!("{select} and ({})", case.expr))],
                None,
                &[("Case", "Case")],
            );
            // A difference in the value alone (null against false) is no difference as a filter.
            let if_bool = matches!(docs, Outcome::Value(Value::Null));
            checks.push(Check { rule, docs: Outcome::Keeps(d), expect: Outcome::Keeps(e), if_bool });
        }
        let what = if case.columns.is_empty() {
            case.expr.clone()
        } else {
            format!("{}  with {}", case.expr, Value::Object(case.columns.clone()))
        };
        self.pages.insert(group.page.clone(), group.url.clone());
        self.entries.push(Entry {
            id,
            page: group.page.clone(),
            topic,
            what,
            pending: case.pending.clone(),
            differs: case.differs.clone(),
            checks,
        });
    }

    fn join(&mut self, join: &Join) {
        let id = format!("j{:03}", self.entries.len() + 1);
        for row in &join.left {
            self.record("ConformanceLeft", &id, row);
        }
        for row in &join.right {
            self.record("ConformanceRight", &id, row);
        }
        let select = format!("Case == {}", yaml_str(&id));
        let rule = self.rule(
            &format!("conformance {id} join"),
            &join.url,
            &[("l", "ConformanceLeft"), ("r", "ConformanceRight")],
            &[("l", select.clone()), ("r", select)],
            Some(&join.on),
            &[("Key", "l.Key"), ("Value1", "l.Value1"), ("Key1", "r.Key"), ("Value2", "r.Value2")],
        );
        let docs = Outcome::Rows(join.want.clone());
        let expect = match (&join.differs, &join.sigcorr) {
            (None, None) => docs.clone(),
            (Some(_), Some(rows)) => Outcome::Rows(rows.clone()),
            _ => panic!("{id}: `differs` and `sigcorr` go together"),
        };
        self.pages.insert(join.page.clone(), join.url.clone());
        self.entries.push(Entry {
            id,
            page: join.page.clone(),
            topic: join.topic.clone(),
            what: format!("join on {}", join.on),
            pending: join.pending.clone(),
            differs: join.differs.clone(),
            checks: vec![Check { rule, docs, expect, if_bool: false }],
        });
    }
}

#[test]
fn kusto_conformance() {
    let out = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("conformance-report.txt");
    let _ = std::fs::remove_file(&out);
    let groups: Vec<Group> = load("expressions.yml");
    let joins: Vec<Join> = load("joins.yml");
    let mut suite = Suite::default();
    for group in &groups {
        for case in &group.cases {
            suite.expression(group, case);
        }
    }
    for join in &joins {
        suite.join(join);
    }

    let tables = repo().join("tests/conformance/tables");
    let mut test = Test::new().file("records.json", &suite.records);
    for (i, text) in suite.rules.iter().enumerate() {
        test = test.file(&format!("rules/{i:03}.yml"), text);
    }
    let run = test
        .args(["run", "--format", "jsonl", "--now", NOW, "--rules", "rules", "--tables"])
        .args([tables.to_str().unwrap(), "records.json"])
        .run();
    assert!(matches!(run.code, 0 | 5), "sigcorr run exited {}:\n{}", run.code, run.stderr);

    // Refused rules: their diagnostics, by the document they are in.
    let mut refused: BTreeMap<usize, String> = BTreeMap::new();
    let diagnostic = regex::Regex::new(r"(?m)^rules/(\d+)\.yml:(\d+):\d+: (error\[\w+\]: .*)$").unwrap();
    for c in diagnostic.captures_iter(&run.stderr) {
        let at: (usize, usize) = (c[1].parse().unwrap(), c[2].parse().unwrap());
        let rule = suite.starts.partition_point(|&s| s <= at) - 1;
        let text = refused.entry(rule).or_default();
        if !text.is_empty() {
            text.push_str("; ");
        }
        text.push_str(&c[3]);
    }
    if run.code == 5 {
        assert!(!refused.is_empty(), "exit 5 without a located diagnostic:\n{}", run.stderr);
    }
    // Alerts, by rule (the id's last part is the rule's index).
    let mut alerts: BTreeMap<usize, Vec<Vec<Value>>> = BTreeMap::new();
    for alert in run.alerts() {
        let rule: usize = alert.rule.id.rsplit('-').next().unwrap().parse().unwrap();
        alerts.entry(rule).or_default().push(alert.fields.into_values().collect());
    }

    let produced = |check: &Check| -> Outcome {
        if let Some(d) = refused.get(&check.rule) {
            return Outcome::Refused(d.clone());
        }
        let got = alerts.get(&check.rule).map(Vec::as_slice).unwrap_or_default();
        match &check.docs {
            Outcome::Keeps(_) => Outcome::Keeps(!got.is_empty()),
            Outcome::Rows(_) => Outcome::Rows(got.iter().map(|r| Value::Array(r.clone())).collect()),
            _ => match got {
                [one] => Outcome::Value(one[0].clone()),
                [] => Outcome::NoAlert,
                _ => Outcome::Value(json!(format!("{} alerts", got.len()))),
            },
        }
    };

    let mut report = String::new();
    let (mut failed, mut pending, mut differing) = (Vec::new(), Vec::new(), Vec::new());
    let mut per_topic: BTreeMap<&str, usize> = BTreeMap::new();
    for e in &suite.entries {
        *per_topic.entry(&e.topic).or_default() += 1;
        let results: Vec<(&Check, Outcome)> = e
            .checks
            .iter()
            .map(|c| (c, produced(c)))
            .filter(|(c, got)| !(c.if_bool && matches!(got, Outcome::Refused(d) if d.contains("needs a bool"))))
            .collect();
        let as_documented = results.iter().all(|(c, got)| same(&c.docs, got));
        let as_expected = results.iter().all(|(c, got)| same(&c.expect, got));
        let detail = |lines: &mut String| {
            for (c, got) in &results {
                if !same(&c.expect, got) || e.pending.is_some() || e.differs.is_some() {
                    writeln!(lines, "      documented: {}  expected: {}  actual: {}", c.docs, c.expect, got).unwrap();
                }
            }
        };
        let head = format!("  {} [{}] {}: {}", e.id, e.topic, e.page, e.what);
        if let Some(why) = &e.pending {
            let mut line = format!("{head}\n      pending: {why}\n");
            detail(&mut line);
            if as_documented {
                failed.push(format!("{line}      passes now: remove its `pending` mark\n"));
            } else {
                pending.push(line);
            }
        } else if let Some(why) = &e.differs {
            let mut line = format!("{head}\n      differs: {why}\n");
            detail(&mut line);
            if as_expected {
                differing.push(line);
            } else {
                failed.push(line);
            }
        } else if !as_expected {
            let mut line = format!("{head}\n");
            detail(&mut line);
            failed.push(line);
        }
    }

    let total = suite.entries.len();
    writeln!(
        report,
        "Kusto conformance: {total} cases ({} checks), {} pass, {} expected differences, {} pending, {} failing",
        suite.entries.iter().map(|e| e.checks.len()).sum::<usize>(),
        total - failed.len() - pending.len() - differing.len(),
        differing.len(),
        pending.len(),
        failed.len()
    )
    .unwrap();
    writeln!(report, "\ncases per operator or function:").unwrap();
    for (topic, n) in &per_topic {
        writeln!(report, "  {n:4}  {topic}").unwrap();
    }
    writeln!(report, "\npages cited ({}):", suite.pages.len()).unwrap();
    for (page, url) in &suite.pages {
        writeln!(report, "  {page} <{url}>").unwrap();
    }
    for (title, list) in [("expected differences", &differing), ("pending", &pending), ("FAILING", &failed)] {
        writeln!(report, "\n{title} ({}):", list.len()).unwrap();
        for line in list.iter() {
            report.push_str(line);
        }
    }
    std::fs::write(&out, &report).unwrap();
    println!("{report}\n(written to {})", out.display());
    assert!(
        failed.is_empty(),
        "{} conformance cases fail (report: {}):\n{}",
        failed.len(),
        out.display(),
        failed.concat()
    );
}
