//! Rule unit tests: each rule's sibling `<rule>.tests.yml` lists cases —
//! records per table, a fixed `now`, and the alerts the rule must raise —
//! and [`run`] puts every case through the real pipeline: the planned rule,
//! the records written as NDJSON files, [`crate::engine::run`].
//!
//! ```yaml
//! - name: stolen token fires
//!   now: 2026-07-16T12:00:00Z          # optional; this is the default
//!   records:
//!     AADServicePrincipalSignInLogs:   # `Type` is added from the table name
//!       - {UniqueTokenIdentifier: uti-A, IPAddress: 203.0.113.7}
//!     MicrosoftGraphActivityLogs:
//!       file: data/graph.ndjson        # or an NDJSON file, relative to this one
//!   expect:                            # or `alerts: 0`, `alerts: 3`
//!     - {TimeGenerated: ..., SigninInIPAddress: 203.0.113.7, ...}
//! ```
//!
//! Expected alerts are compared with the produced ones as a multiset: order
//! does not matter, every output field must be listed, and values compare as
//! JSON (numbers by value).

mod diff;
pub mod junit;
mod load;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value as Json;

pub use diff::Mismatch;
pub use load::{check_tests, load, validate};

use crate::input::InputFile;
use crate::plan::Plan;
use crate::span::{SourceFile, Span};

/// The `now` of a case that does not give one.
pub const DEFAULT_NOW: &str = "2026-07-16T12:00:00Z";

/// A loaded tests file.
#[derive(Debug, Clone)]
pub struct TestsFile {
    pub file: Arc<SourceFile>,
    pub cases: Vec<Case>,
}

#[derive(Debug, Clone)]
pub struct Case {
    pub name: String,
    pub name_span: Span,
    pub description: Option<String>,
    pub note: Option<String>,
    /// Ticks, what `now()` and `ago()` use.
    pub now: i64,
    /// Per table, in file order.
    pub records: Vec<Records>,
    pub expect: Expect,
    /// The case documents a benign event the rule alerts on.
    pub false_positive: bool,
    /// The case documents an attack the rule misses (a blind spot).
    pub false_negative: bool,
}

/// The records of one table in a case.
#[derive(Debug, Clone)]
pub struct Records {
    pub table: String,
    /// The table name's key in the tests file.
    pub span: Span,
    /// The NDJSON file they were read from (`file:`), where the fields' spans point.
    pub from: Option<Arc<SourceFile>>,
    pub records: Vec<Record>,
}

#[derive(Debug, Clone)]
pub struct Record {
    /// The record as one NDJSON line, `Type` included.
    pub line: String,
    pub span: Span,
    pub fields: Vec<Field>,
}

/// A named value with the span of its name.
#[derive(Debug, Clone)]
pub struct Field {
    pub name: String,
    pub span: Span,
    pub value: Json,
}

#[derive(Debug, Clone)]
pub enum Expect {
    /// `alerts: N`
    Count(usize),
    /// `expect: [...]`: each alert's fields, in any order.
    Alerts(Vec<ExpectedAlert>),
}

impl Expect {
    pub fn count(&self) -> usize {
        match self {
            Expect::Count(n) => *n,
            Expect::Alerts(a) => a.len(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ExpectedAlert {
    pub span: Span,
    pub fields: Vec<Field>,
}

/// An alert's fields: output name and JSON value, in the rule's output order.
pub type AlertFields = Vec<(String, Json)>;

/// What became of one case.
#[derive(Debug)]
pub struct CaseResult {
    pub name: String,
    /// 1-based line of the case's `name` in the tests file.
    pub line: usize,
    pub false_positive: bool,
    pub false_negative: bool,
    pub note: Option<String>,
    pub elapsed: Duration,
    pub verdict: Verdict,
}

#[derive(Debug)]
pub enum Verdict {
    Pass,
    /// The alerts were not the expected ones.
    Fail(Mismatch),
    /// The case could not be run (a temporary file, an input line the engine skipped).
    Error(String),
}

impl CaseResult {
    pub fn passed(&self) -> bool {
        matches!(self.verdict, Verdict::Pass)
    }
}

/// The sibling tests file of a rule file: `x.yml` → `x.tests.yml`.
pub fn tests_path(rule: &Path) -> PathBuf {
    let stem = rule.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    rule.with_file_name(format!("{stem}.tests.yml"))
}

/// The rule file a tests file belongs to: `x.tests.yml` → `x.yml` (or `x.yaml`
/// if only that exists).
pub fn rule_path(tests: &Path) -> Option<PathBuf> {
    let name = tests.file_name()?.to_str()?;
    let stem = name.strip_suffix(".tests.yml")?;
    let yml = tests.with_file_name(format!("{stem}.yml"));
    let yaml = tests.with_file_name(format!("{stem}.yaml"));
    Some(if !yml.exists() && yaml.exists() { yaml } else { yml })
}

/// The built-in tests file of a built-in rule (by its path in `builtin::RULES`).
pub fn builtin_tests(rule: &str) -> Option<Arc<SourceFile>> {
    let want = tests_path(Path::new(rule));
    crate::builtin::TESTS.iter().find(|(p, _)| Path::new(p) == want).map(|(p, t)| SourceFile::new(*p, (*t).to_string()))
}

fn parse_now(s: &str) -> Option<i64> {
    crate::datetime::parse(s)
}

/// Runs every case of `tests` against rule `rule` of `plan` (a plan of the
/// rule under test, and of the rules a correlation under test references).
pub fn run(plan: &Plan, tests: &TestsFile, rule: usize) -> Vec<CaseResult> {
    tests
        .cases
        .iter()
        .map(|case| {
            let start = Instant::now();
            let verdict = match run_case(plan, case, rule) {
                Ok(actual) => match diff::compare(&case.expect, &actual) {
                    None => Verdict::Pass,
                    Some(m) => Verdict::Fail(m),
                },
                Err(e) => Verdict::Error(e),
            };
            CaseResult {
                name: case.name.clone(),
                line: tests.file.line_col(case.name_span.start).0,
                false_positive: case.false_positive,
                false_negative: case.false_negative,
                note: case.note.clone(),
                elapsed: start.elapsed(),
                verdict,
            }
        })
        .collect()
}

/// Runs the engine on the case's records, as NDJSON in memory, and returns
/// the alerts of rule `rule`.
fn run_case(plan: &Plan, case: &Case, rule: usize) -> Result<Vec<AlertFields>, String> {
    if case.records.iter().all(|r| r.records.is_empty()) {
        // No input, no alerts (and no empty input for the engine to object to).
        return Ok(Vec::new());
    }
    let mut ndjson = Vec::new();
    for r in case.records.iter().flat_map(|records| &records.records) {
        ndjson.extend_from_slice(r.line.as_bytes());
        ndjson.push(b'\n');
    }
    let input = InputFile::bytes(format!("case `{}`", case.name), ndjson);
    let outcome = crate::engine::run(plan, &[input], case.now);
    if let Some(p) = outcome.problems.first() {
        return Err(match p.pos.line {
            0 => format!("the engine could not read the case's records: {}", p.message),
            n => format!("the engine skipped record {n} of the case: {}", p.message),
        });
    }
    let names: Vec<&str> = plan.rules[rule].shown_output().iter().map(|o| o.name.as_str()).collect();
    Ok(outcome
        .alerts
        .iter()
        .filter(|a| a.rule == rule)
        .map(|a| {
            names
                .iter()
                .zip(a.fields.iter())
                .map(|(n, v)| (n.to_string(), serde_json::from_str(v).unwrap_or(Json::Null)))
                .collect()
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sibling_paths() {
        assert_eq!(tests_path(Path::new("rules/entra/x.yml")), Path::new("rules/entra/x.tests.yml"));
        assert_eq!(tests_path(Path::new("x.yaml")), Path::new("x.tests.yml"));
        assert_eq!(rule_path(Path::new("/nonexistent/a/x.tests.yml")).unwrap(), Path::new("/nonexistent/a/x.yml"));
        assert_eq!(rule_path(Path::new("x.yml")), None);
    }

    #[test]
    fn every_builtin_rule_has_builtin_tests() {
        for (rule, _) in crate::builtin::RULES {
            assert!(builtin_tests(rule).is_some(), "{rule} has no tests file");
        }
        assert_eq!(crate::builtin::TESTS.len(), crate::builtin::RULES.len());
    }
}
