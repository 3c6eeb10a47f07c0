//! Reading a `<rule>.tests.yml` into [`TestsFile`], and checking it against
//! the table catalog and the rule under test.

use std::path::Path;
use std::sync::Arc;

use serde_json::{Map, Value as Json};

use super::{Case, DEFAULT_NOW, Expect, ExpectedAlert, Field, Record, Records, TestsFile};
use crate::check::CheckedRule;
use crate::diagnostic::{Code, Diagnostic, did_you_mean};
use crate::span::{SourceFile, Span};
use crate::table::Catalog;
use crate::value::{JsonScalar, Value};
use crate::yaml::{self, Node, NodeKind};

const CASE_KEYS: &[&str] =
    &["name", "description", "note", "now", "records", "alerts", "expect", "false_positive", "false_negative"];

/// Loads a tests file, and checks it against the catalog and (when it
/// compiled) the rule under test: every problem found, in file order.
/// What `sigcorr lint` calls for each rule's sibling tests file.
pub fn check_tests(
    file: &Arc<SourceFile>,
    catalog: &Catalog,
    rule: Option<(&CheckedRule, &[&CheckedRule])>,
) -> Vec<Diagnostic> {
    match load(file) {
        Ok(tests) => validate(&tests, catalog, rule),
        Err(errors) => errors,
    }
}

/// Reads a tests file: its shape, each case's `now`, and the records files
/// it names (relative to the tests file). Names of tables and columns are
/// not checked here: see [`validate`].
pub fn load(file: &Arc<SourceFile>) -> Result<TestsFile, Vec<Diagnostic>> {
    let root = yaml::parse(file).map_err(|d| vec![d])?;
    let mut errors = Vec::new();
    let bad = |span: Span, msg: String| Diagnostic::new(Code::TestsFile, msg).at(file, span);
    let items = match &root.kind {
        NodeKind::Seq(items) => items.as_slice(),
        NodeKind::Null => {
            return Err(vec![
                Diagnostic::new(Code::TestsFile, "the tests file holds no test cases")
                    .in_file(file)
                    .help("write a list of cases: `- name: ...`"),
            ]);
        }
        _ => {
            return Err(vec![
                bad(root.span, format!("a tests file is a list of test cases, found {}", root.type_name()))
                    .help("start each case with `- name: ...`"),
            ]);
        }
    };
    let mut cases = Vec::new();
    for item in items {
        match load_case(file, item) {
            Ok(case) => cases.push(case),
            Err(mut e) => errors.append(&mut e),
        }
    }
    for (i, case) in cases.iter().enumerate() {
        if let Some(first) = cases[..i].iter().find(|c| c.name == case.name) {
            let (line, _) = file.line_col(first.name_span.start);
            errors.push(
                Diagnostic::new(Code::DuplicateTestName, format!("test case `{}` is defined twice", case.name))
                    .at(file, case.name_span)
                    .help(format!("the first is at line {line}; give each case its own name")),
            );
        }
    }
    if errors.is_empty() { Ok(TestsFile { file: file.clone(), cases }) } else { Err(errors) }
}

fn load_case(file: &Arc<SourceFile>, node: &Node) -> Result<Case, Vec<Diagnostic>> {
    let bad = |span: Span, msg: String| Diagnostic::new(Code::TestsFile, msg).at(file, span);
    let Some(entries) = node.as_map() else {
        return Err(vec![
            bad(node.span, format!("a test case is a mapping, found {}", node.type_name()))
                .help("`- name: ...`, `records: ...`, and `alerts: 0` or `expect: [...]`"),
        ]);
    };
    let mut errors = Vec::new();
    for (key, _) in entries {
        let k = key.scalar_text().unwrap_or_default();
        if !CASE_KEYS.contains(&k.as_str()) {
            let d = bad(key.span, format!("unknown key `{k}` in a test case"));
            errors.push(match did_you_mean(&k, CASE_KEYS.iter().copied()) {
                Some(s) => d.help(format!("did you mean `{s}`?")),
                None => d.help(format!("a case has: {}", CASE_KEYS.join(", "))),
            });
        }
    }
    let text = |key: &str, errors: &mut Vec<Diagnostic>| -> Option<String> {
        let v = node.get(key)?;
        match v.as_str() {
            Some(s) => Some(s.to_string()),
            None => {
                errors.push(bad(v.span, format!("`{key}` must be a string, found {}", v.type_name())));
                None
            }
        }
    };
    let flag = |key: &str, errors: &mut Vec<Diagnostic>| -> bool {
        match node.get(key) {
            None => false,
            Some(Node { kind: NodeKind::Bool(b), .. }) => *b,
            Some(v) => {
                errors.push(bad(v.span, format!("`{key}` must be `true` or `false`, found {}", v.type_name())));
                false
            }
        }
    };

    let (name, name_span) = match node.get("name") {
        Some(v) => match v.as_str() {
            Some(s) if !s.trim().is_empty() => (s.to_string(), v.span),
            _ => {
                errors.push(bad(v.span, "`name` must be a non-empty string".into()));
                (String::new(), v.span)
            }
        },
        None => {
            errors.push(bad(node.span, "a test case has no `name`".into()).help("add `name: what the case shows`"));
            (String::new(), node.span)
        }
    };
    let description = text("description", &mut errors);
    let note = text("note", &mut errors);
    let false_positive = flag("false_positive", &mut errors);
    let false_negative = flag("false_negative", &mut errors);

    let now = match node.get("now") {
        None => super::parse_now(DEFAULT_NOW),
        Some(v) => match v.scalar_text().as_deref().and_then(super::parse_now) {
            Some(t) => Some(t),
            None => {
                errors.push(
                    bad(v.span, "`now` is not an RFC 3339 time".into())
                        .help(format!("e.g. `now: {DEFAULT_NOW}` (the default)")),
                );
                None
            }
        },
    };

    let mut records = Vec::new();
    match node.get("records") {
        None | Some(Node { kind: NodeKind::Null, .. }) => {}
        Some(Node { kind: NodeKind::Map(tables), .. }) => {
            for (key, value) in tables {
                match load_records(file, key, value) {
                    Ok(r) => records.push(r),
                    Err(mut e) => errors.append(&mut e),
                }
            }
        }
        Some(v) => errors.push(
            bad(v.span, format!("`records` must be a mapping of table name to records, found {}", v.type_name()))
                .help("`records: {MicrosoftGraphActivityLogs: [{IPAddress: 203.0.113.7}]}`"),
        ),
    }

    let expect = match (node.entry("alerts"), node.entry("expect")) {
        (Some((_, a)), None) => match a.kind {
            NodeKind::Int(n) if n >= 0 => Some(Expect::Count(n as usize)),
            _ => {
                errors.push(bad(a.span, "`alerts` must be a count: 0, 1, 2, ...".into()));
                None
            }
        },
        (None, Some((_, e))) => match load_expect(file, e) {
            Ok(alerts) => Some(Expect::Alerts(alerts)),
            Err(mut e) => {
                errors.append(&mut e);
                None
            }
        },
        (Some(_), Some((k, _))) => {
            errors.push(
                bad(k.span, "a test case has both `alerts` and `expect`".into())
                    .help("keep one: `alerts: N` checks the count, `expect:` the alerts' fields"),
            );
            None
        }
        (None, None) => {
            errors.push(
                bad(name_span, format!("test case `{name}` says nothing about the alerts it expects"))
                    .help("add `alerts: 0` (quiet), `alerts: N` (a count) or `expect: [...]` (each alert's fields)"),
            );
            None
        }
    };
    if let Some(expect) = &expect {
        if false_positive && expect.count() == 0 {
            let span = node.entry("false_positive").map_or(name_span, |(k, _)| k.span);
            errors.push(
                bad(span, "a `false_positive` case must expect alerts".into())
                    .help("it documents a benign event the rule alerts on; use `note:` for a quiet case"),
            );
        }
        if false_positive && false_negative {
            let span = node.entry("false_negative").map_or(name_span, |(k, _)| k.span);
            errors.push(bad(span, "a case cannot be both a false positive and a false negative".into()));
        }
    }

    match (errors.is_empty(), now, expect) {
        (true, Some(now), Some(expect)) => {
            Ok(Case { name, name_span, description, note, now, records, expect, false_positive, false_negative })
        }
        _ => Err(errors),
    }
}

fn load_records(file: &Arc<SourceFile>, key: &Node, value: &Node) -> Result<Records, Vec<Diagnostic>> {
    let bad = |span: Span, msg: String| Diagnostic::new(Code::TestsFile, msg).at(file, span);
    let table = match key.as_str() {
        Some(t) => t.to_string(),
        None => return Err(vec![bad(key.span, "a table name must be a string".into())]),
    };
    match &value.kind {
        NodeKind::Seq(items) => {
            let mut records = Vec::new();
            let mut errors = Vec::new();
            for item in items {
                let Some(entries) = item.as_map() else {
                    errors.push(
                        bad(item.span, format!("a record is a mapping of column to value, found {}", item.type_name()))
                            .help("`- {IPAddress: 203.0.113.7, ResponseStatusCode: 200}`"),
                    );
                    continue;
                };
                let mut fields = Vec::new();
                for (k, v) in entries {
                    match k.scalar_text() {
                        Some(name) => fields.push(Field { name, span: k.span, value: v.to_json() }),
                        None => errors.push(bad(k.span, "a column name must be a string".into())),
                    }
                }
                let mut map: Map<String, Json> = Map::new();
                for f in &fields {
                    map.insert(f.name.clone(), f.value.clone());
                }
                if !map.contains_key("Type") {
                    let mut with_type = Map::new();
                    with_type.insert("Type".into(), Json::String(table.clone()));
                    with_type.extend(map);
                    map = with_type;
                }
                records.push(Record { line: Json::Object(map).to_string(), span: item.span, fields });
            }
            if errors.is_empty() { Ok(Records { table, span: key.span, from: None, records }) } else { Err(errors) }
        }
        NodeKind::Map(_) => {
            let path_node = value.get("file");
            let extra = value.as_map().unwrap_or_default().iter().find(|(k, _)| k.as_str() != Some("file"));
            match (path_node.and_then(Node::as_str), extra) {
                (Some(rel), None) => {
                    let (from, records) =
                        read_records_file(file, path_node.map_or(value.span, |n| n.span), rel, &table)?;
                    Ok(Records { table, span: key.span, from: Some(from), records })
                }
                _ => Err(vec![
                    bad(value.span, format!("records of `{table}` must be a list of records or `file: PATH`"))
                        .help("`file:` is an NDJSON file, relative to the tests file"),
                ]),
            }
        }
        _ => Err(vec![
            bad(value.span, format!("records of `{table}` must be a list of records, found {}", value.type_name()))
                .help("a list of mappings, or `file: PATH` to an NDJSON file"),
        ]),
    }
}

/// The largest records file a tests file may name: a case's records are
/// written by hand or cut from an export, never gigabytes.
const MAX_RECORDS_FILE: u64 = crate::input::MAX_RECORD as u64;

/// A records file's text: a regular file of at most [`MAX_RECORDS_FILE`]
/// bytes (`/dev/zero` or a FIFO named as records would never end).
fn read_bounded(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let file = std::fs::File::open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    let mut text = String::new();
    file.take(MAX_RECORDS_FILE + 1).read_to_string(&mut text)?;
    if text.len() as u64 > MAX_RECORDS_FILE {
        return Err(std::io::Error::other(format!("larger than {MAX_RECORDS_FILE} bytes")));
    }
    Ok(text)
}

/// Reads an NDJSON records file named by a tests file. Each line's columns
/// are located in that file, for diagnostics.
fn read_records_file(
    tests: &Arc<SourceFile>,
    span: Span,
    rel: &str,
    table: &str,
) -> Result<(Arc<SourceFile>, Vec<Record>), Vec<Diagnostic>> {
    let dir = tests.path().parent().unwrap_or(Path::new(""));
    let path = dir.join(rel);
    let text = read_bounded(&path).map_err(|e| {
        vec![
            Diagnostic::new(Code::TestRecordsFile, format!("cannot read records file `{}`: {e}", path.display()))
                .at(tests, span)
                .help("the path is relative to the tests file"),
        ]
    })?;
    let file = SourceFile::new(path, text);
    let mut records = Vec::new();
    let mut errors = Vec::new();
    let mut start = 0;
    for line in file.text.split_inclusive('\n') {
        let line_start = start;
        start += line.len();
        let body = line.trim_end_matches(['\n', '\r']);
        if body.trim().is_empty() {
            continue;
        }
        let span = Span::new(line_start, line_start + body.len());
        let map: Map<String, Json> = match serde_json::from_str(body) {
            Ok(m) => m,
            Err(e) => {
                let col = e.column().saturating_sub(1).min(body.len());
                errors.push(
                    Diagnostic::new(Code::TestRecordsFile, format!("a record must be a JSON object: {e}"))
                        .at(&file, Span::at(line_start + col))
                        .help("one JSON object per line (NDJSON)"),
                );
                continue;
            }
        };
        let fields = map
            .iter()
            .map(|(name, value)| {
                let quoted = serde_json::to_string(name).expect("strings serialise");
                let at = body.find(&quoted).map_or(span.start, |i| line_start + i);
                Field { name: name.clone(), span: Span::new(at, at + quoted.len()), value: value.clone() }
            })
            .collect();
        // Keep the line as written (numbers and timestamps verbatim); add `Type` in front.
        let line = if map.contains_key("Type") {
            body.to_string()
        } else {
            let rest = body.trim_start().strip_prefix('{').unwrap_or("}").trim_start();
            let type_field = format!("\"Type\":{}", serde_json::to_string(table).expect("strings serialise"));
            if rest.starts_with('}') { format!("{{{type_field}{rest}") } else { format!("{{{type_field},{rest}") }
        };
        records.push(Record { line, span, fields });
    }
    if errors.is_empty() { Ok((file, records)) } else { Err(errors) }
}

fn load_expect(file: &Arc<SourceFile>, node: &Node) -> Result<Vec<ExpectedAlert>, Vec<Diagnostic>> {
    let bad = |span: Span, msg: String| Diagnostic::new(Code::TestsFile, msg).at(file, span);
    let Some(items) = node.as_seq() else {
        return Err(vec![
            bad(node.span, format!("`expect` must be a list of alerts' fields, found {}", node.type_name()))
                .help("`expect: [{TimeGenerated: ..., IPAddress: ...}]`; for a count, use `alerts: N`"),
        ]);
    };
    let mut alerts = Vec::new();
    let mut errors = Vec::new();
    for item in items {
        let Some(entries) = item.as_map() else {
            errors.push(bad(
                item.span,
                format!("an expected alert is a mapping of output field to value, found {}", item.type_name()),
            ));
            continue;
        };
        let mut fields = Vec::new();
        for (k, v) in entries {
            match k.scalar_text() {
                Some(name) => fields.push(Field { name, span: k.span, value: v.to_json() }),
                None => errors.push(bad(k.span, "an output field name must be a string".into())),
            }
        }
        alerts.push(ExpectedAlert { span: item.span, fields });
    }
    if errors.is_empty() { Ok(alerts) } else { Err(errors) }
}

/// Checks a loaded tests file against the catalog (tables, columns, value
/// types) and, when given, the rule (tables it reads, its output fields).
/// `rule` is the rule under test and every rule of its file: a correlation
/// reads the tables of the rules it references.
pub fn validate(
    tests: &TestsFile,
    catalog: &Catalog,
    rule: Option<(&CheckedRule, &[&CheckedRule])>,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let file = &tests.file;
    let read: Option<Vec<&str>> = rule.map(|(_, all)| {
        let mut read: Vec<&str> = Vec::new();
        for t in all.iter().flat_map(|r| r.sources.iter().flat_map(|s| s.tables.iter().map(String::as_str))) {
            if !read.contains(&t) {
                read.push(t);
            }
        }
        read
    });
    let rule = rule.map(|(r, _)| r);
    for case in &tests.cases {
        for records in &case.records {
            let Some(def) = catalog.get(&records.table) else {
                let d = Diagnostic::new(Code::TestUnknownTable, format!("unknown table `{}`", records.table))
                    .at(file, records.span);
                out.push(match catalog.suggest(&records.table) {
                    Some(h) => d.help(h),
                    None => d.help("tables come from `tables/*.yml` and `--tables`"),
                });
                continue;
            };
            if let Some(read) = &read
                && !read.contains(&records.table.as_str())
            {
                out.push(
                    Diagnostic::new(
                        Code::TestUnreadTable,
                        format!("the rule does not read `{}`: these records are ignored", records.table),
                    )
                    .at(file, records.span)
                    .help(format!("the rule reads: {}", read.join(", "))),
                );
            }
            let at = records.from.as_ref().unwrap_or(file);
            for record in &records.records {
                for f in &record.fields {
                    if f.name == "Type" {
                        if f.value.as_str() != Some(records.table.as_str()) {
                            out.push(
                                Diagnostic::new(
                                    Code::TestsFile,
                                    format!("a record listed under `{}` has `Type` {}", records.table, f.value),
                                )
                                .at(at, f.span)
                                .help("leave `Type` out: it is set to the table the record is listed under"),
                            );
                        }
                        continue;
                    }
                    let Some(col) = def.column(&f.name) else {
                        let d = Diagnostic::new(
                            Code::TestUnknownColumn,
                            format!("unknown column `{}` in table `{}`", f.name, def.name),
                        )
                        .at(at, f.span);
                        out.push(match def.suggest(&f.name) {
                            Some(h) => d.help(h),
                            None => d,
                        });
                        continue;
                    };
                    if !fits(&f.value, col.ty) {
                        out.push(
                            Diagnostic::new(
                                Code::TestValueType,
                                format!("{} does not fit column `{}` of type `{}`", f.value, f.name, col.declared),
                            )
                            .at(at, f.span)
                            .help("the engine would read it as empty; fix the value or quote it"),
                        );
                    }
                }
            }
        }
        if let (Some(rule), Expect::Alerts(alerts)) = (rule, &case.expect) {
            let names: Vec<&str> = rule.shown_output().iter().map(|o| o.name.as_str()).collect();
            for alert in alerts {
                for f in &alert.fields {
                    if !names.contains(&f.name.as_str()) {
                        let d = Diagnostic::new(
                            Code::TestExpectedFields,
                            format!("the rule has no output field `{}`", f.name),
                        )
                        .at(file, f.span);
                        out.push(match did_you_mean(&f.name, names.iter().copied()) {
                            Some(s) => d.help(format!("did you mean `{s}`?")),
                            None => d.help(format!("the rule outputs: {}", names.join(", "))),
                        });
                    }
                }
                let missing: Vec<String> = names
                    .iter()
                    .filter(|n| !alert.fields.iter().any(|f| f.name == **n))
                    .map(|n| format!("`{n}`"))
                    .collect();
                if !missing.is_empty() {
                    out.push(
                        Diagnostic::new(
                            Code::TestExpectedFields,
                            format!(
                                "an expected alert lacks the output field{} {}",
                                plural(missing.len()),
                                missing.join(", ")
                            ),
                        )
                        .at(file, Span::at(alert.span.start))
                        .help(
                            "alerts are compared exactly: list every output field (use `alerts: N` to check a count)",
                        ),
                    );
                }
            }
        }
    }
    out.sort_by_key(|d| (d.file.as_ref().map(|f| f.path().to_path_buf()), d.span.map(|s| s.start)));
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Whether the engine reads `value` into a column of type `ty` (rather than
/// as empty): the same conversion the engine makes.
fn fits(value: &Json, ty: crate::types::Type) -> bool {
    let text;
    let scalar = match value {
        Json::Null => JsonScalar::Null,
        Json::Bool(b) => JsonScalar::Bool(*b),
        Json::Number(n) => {
            text = n.to_string();
            JsonScalar::Num(&text)
        }
        Json::String(s) => JsonScalar::Str(s.as_str().into()),
        Json::Array(_) | Json::Object(_) => {
            text = value.to_string();
            JsonScalar::Raw(&text)
        }
    };
    Value::from_json(scalar, ty).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> Arc<SourceFile> {
        SourceFile::new("r.tests.yml", text.to_string())
    }

    /// `(code, line, col, message)` of each error.
    fn errors(text: &str) -> Vec<(&'static str, usize, usize, String)> {
        let diags = match load(&file(text)) {
            Ok(_) => panic!("expected errors"),
            Err(d) => d,
        };
        diags
            .iter()
            .map(|d| {
                let (l, c) = d.line_col().unwrap();
                (d.code.as_str(), l, c, d.message.clone())
            })
            .collect()
    }

    fn rule() -> CheckedRule {
        let (path, text) =
            crate::builtin::RULES.iter().find(|(p, _)| p.ends_with("service_principal_token_ip_mismatch.yml")).unwrap();
        let (mut rules, diags) = crate::compile_rules(&[SourceFile::new(*path, text.to_string())], &Catalog::builtin());
        assert!(diags.iter().all(|d| !d.is_error()), "{diags:?}");
        rules.pop().unwrap()
    }

    #[test]
    fn loads_cases_with_plain_yaml_scalars() {
        let t = load(&file(
            "- name: a\n  now: 2026-07-17T00:00:00Z\n  records:\n    MicrosoftGraphActivityLogs:\n      - {TimeGenerated: 2026-07-16T02:00:45.0159703Z, ResponseStatusCode: 200, IPAddress: 10.0.0.1}\n  alerts: 2\n- name: b\n  expect: []\n",
        ))
        .unwrap();
        assert_eq!(t.cases.len(), 2);
        let a = &t.cases[0];
        assert_eq!(a.now, crate::datetime::parse("2026-07-17T00:00:00Z").unwrap());
        assert_eq!(t.cases[1].now, crate::datetime::parse(DEFAULT_NOW).unwrap());
        assert!(matches!(a.expect, Expect::Count(2)));
        let line: Json = serde_json::from_str(&a.records[0].records[0].line).unwrap();
        assert_eq!(
            line,
            serde_json::json!({"Type": "MicrosoftGraphActivityLogs", "TimeGenerated": "2026-07-16T02:00:45.0159703Z",
                "ResponseStatusCode": 200, "IPAddress": "10.0.0.1"})
        );
        assert!(matches!(&t.cases[1].expect, Expect::Alerts(v) if v.is_empty()));
    }

    #[test]
    fn shape_errors_are_located() {
        assert_eq!(
            errors("name: a\n"),
            [("E700", 1, 1, "a tests file is a list of test cases, found a mapping".into())]
        );
        assert_eq!(
            errors("- name: a\n  alert: 0\n"),
            [
                ("E700", 2, 3, "unknown key `alert` in a test case".into()),
                ("E700", 1, 9, "test case `a` says nothing about the alerts it expects".into()),
            ]
        );
        assert_eq!(
            errors("- name: a\n  alerts: 1\n  expect: []\n"),
            [("E700", 3, 3, "a test case has both `alerts` and `expect`".into())]
        );
        assert_eq!(
            errors("- name: a\n  now: yesterday\n  alerts: -1\n"),
            [
                ("E700", 2, 8, "`now` is not an RFC 3339 time".into()),
                ("E700", 3, 11, "`alerts` must be a count: 0, 1, 2, ...".into()),
            ]
        );
        assert_eq!(
            errors("- name: a\n  false_positive: true\n  alerts: 0\n"),
            [("E700", 2, 3, "a `false_positive` case must expect alerts".into())]
        );
        assert_eq!(
            errors("- name: a\n  alerts: 0\n- name: a\n  alerts: 0\n"),
            [("E707", 3, 9, "test case `a` is defined twice".into())]
        );
        assert_eq!(
            errors("- name: a\n  records:\n    T: [1]\n  alerts: 0\n"),
            [("E700", 3, 9, "a record is a mapping of column to value, found an integer".into())]
        );
        assert_eq!(errors("- name: a\n  alerts: [\n").first().map(|e| (e.0, e.1)), Some(("E001", 2)));
    }

    #[test]
    fn unknown_tables_columns_types_and_outputs_are_located() {
        let t = load(&file(concat!(
            "- name: a\n",
            "  records:\n",
            "    MicrosoftGraphActivityLog:\n",
            "      - {IPAddress: x}\n",
            "    MicrosoftGraphActivityLogs:\n",
            "      - {IPAdress: x, ResponseStatusCode: ok, Type: Other}\n",
            "    OtherLogs: []\n",
            "  expect:\n",
            "    - {TimeGenerated: x, SigninIPAddress: y}\n",
        )))
        .unwrap();
        let mut catalog = Catalog::builtin();
        let other = SourceFile::new("o.yml", "table: OtherLogs\ncolumns:\n  X: string\n".into());
        catalog.insert(crate::table::parse_table(&other).unwrap());
        let rule = rule();
        let diags = validate(&t, &catalog, Some((&rule, &[&rule])));
        let got: Vec<_> = diags
            .iter()
            .map(|d| (d.code.as_str(), d.line_col().unwrap(), d.message.as_str(), d.help.as_deref().unwrap_or("")))
            .collect();
        assert_eq!(
            got[0],
            ("E701", (3, 5), "unknown table `MicrosoftGraphActivityLog`", "did you mean `MicrosoftGraphActivityLogs`?")
        );
        assert_eq!(
            got[1],
            (
                "E702",
                (6, 10),
                "unknown column `IPAdress` in table `MicrosoftGraphActivityLogs`",
                "did you mean `IPAddress`?"
            )
        );
        assert_eq!(got[2].0, "E703");
        assert_eq!(got[2].1, (6, 23));
        assert_eq!(got[2].2, "\"ok\" does not fit column `ResponseStatusCode` of type `int`");
        assert_eq!(got[3].0, "E700");
        assert_eq!(got[3].1, (6, 47));
        assert_eq!(got[4].0, "W706");
        assert_eq!(got[4].1, (7, 5));
        assert_eq!(got[5].0, "E704");
        assert_eq!(got[5].1, (9, 7));
        assert!(
            got[5].2.starts_with("an expected alert lacks the output fields `ServicePrincipalName`"),
            "{}",
            got[5].2
        );
        assert_eq!(
            got[6],
            ("E704", (9, 26), "the rule has no output field `SigninIPAddress`", "did you mean `SigninInIPAddress`?")
        );
        assert_eq!(got.len(), 7);
    }

    #[test]
    fn records_files_keep_lines_verbatim_and_are_located() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("g.ndjson"),
            "{\"TimeGenerated\":\"2026-07-16T02:00:45.0159703Z\",\"ResponseStatusCode\":200.0}\n\n{}\n{\"Bad\":1}\n",
        )
        .unwrap();
        let text = "- name: a\n  records:\n    MicrosoftGraphActivityLogs: {file: g.ndjson}\n  alerts: 0\n";
        let tests_file = SourceFile::new(dir.path().join("r.tests.yml"), text.to_string());
        let t = load(&tests_file).unwrap();
        let r = &t.cases[0].records[0];
        let lines: Vec<&str> = r.records.iter().map(|r| r.line.as_str()).collect();
        assert_eq!(
            lines,
            [
                r#"{"Type":"MicrosoftGraphActivityLogs","TimeGenerated":"2026-07-16T02:00:45.0159703Z","ResponseStatusCode":200.0}"#,
                r#"{"Type":"MicrosoftGraphActivityLogs"}"#,
                r#"{"Type":"MicrosoftGraphActivityLogs","Bad":1}"#,
            ]
        );
        let diags = validate(&t, &Catalog::builtin(), None);
        assert_eq!(diags.len(), 1);
        assert_eq!(diags[0].location(), format!("{}:4:2", dir.path().join("g.ndjson").display()));

        std::fs::write(dir.path().join("g.ndjson"), "{\"a\":1}\n[1]\n").unwrap();
        let err = load(&tests_file).unwrap_err();
        assert_eq!(err[0].code, Code::TestRecordsFile);
        assert_eq!(err[0].line_col(), Some((2, 1)));
        let missing = SourceFile::new(dir.path().join("r.tests.yml"), text.replace("g.ndjson", "nope.ndjson"));
        let err = load(&missing).unwrap_err();
        assert_eq!((err[0].code, err[0].line_col()), (Code::TestRecordsFile, Some((3, 40))));
    }

    #[test]
    fn check_tests_is_clean_on_the_shipped_tests() {
        let catalog = Catalog::builtin();
        // Every built-in rule at once: a correlation references rules of other files.
        let files: Vec<_> = crate::builtin::RULES.iter().map(|(p, t)| SourceFile::new(*p, t.to_string())).collect();
        let (rules, errors) = crate::compile_rules(&files, &catalog);
        assert!(errors.iter().all(|d| !d.is_error()), "{}", errors.iter().map(|d| d.render()).collect::<String>());
        let all: Vec<&CheckedRule> = rules.iter().collect();
        let unwritten = crate::correlate::unwritten(&rules);
        for (path, text) in crate::builtin::TESTS {
            let rule_path = super::super::rule_path(std::path::Path::new(path)).unwrap();
            // The file's rule whose alerts are written (a correlation over the others).
            let of_file = |r: &usize| rules[*r].file().path() == rule_path;
            let tested = (0..rules.len()).filter(of_file).find(|&r| !unwritten[r]).expect("the tests file's rule");
            let tested = &rules[tested];
            let diags = check_tests(&SourceFile::new(*path, text.to_string()), &catalog, Some((tested, &all)));
            assert!(diags.is_empty(), "{path}: {}", diags.iter().map(|d| d.render()).collect::<String>());
        }
    }
}
