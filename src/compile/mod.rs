//! Compile: a checked rule to another engine's query language, so the rule
//! authored and tested here runs where the logs already are.
//!
//! Every backend works over the same [`CheckedRule`] the native engine
//! evaluates, and keeps its semantics (Kusto's: absent strings are `""`,
//! `==` is case-sensitive, `==` of a null and a non-null value is false and
//! `!=` true, `has` matches whole terms, datetimes are 100-ns ticks, empty
//! join keys never match, one row per joined pair). A construct
//! a backend cannot express faithfully is an [`Code::UnsupportedConstruct`]
//! diagnostic at the construct's `file:line:col`, never a query that
//! silently means something else.
//!
//! - [`kql`]: Azure Data Explorer / Log Analytics KQL.
//! - [`sentinel`]: a Microsoft Sentinel scheduled analytics rule (YAML)
//!   around the KQL query.
//! - [`sql`]: Spark SQL and DuckDB SQL, one generator with a [`sql::Dialect`].
//! - [`correlation`]: Sigma correlation rules to the same SQL, around the
//!   queries of the rules they reference.
//! - [`pyspark`]: a PySpark job running the rules' Spark SQL over exported
//!   log files, writing sigcorr's alerts.

pub mod correlation;
mod ip;
pub mod kql;
pub mod pyspark;
mod regex_sql;
pub mod sentinel;
pub mod sql;

use std::path::PathBuf;

use crate::check::{CheckedRule, TExpr, TKind};
use crate::diagnostic::{Code, Diagnostic};
use crate::span::Span;
use crate::table::Catalog;

/// What to compile to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A KQL query over the Log Analytics tables (Sentinel, Azure Data Explorer).
    Kql,
    /// A Microsoft Sentinel scheduled analytics rule (Azure-Sentinel repository YAML).
    Sentinel,
    /// Spark SQL over tables named like the Log Analytics tables.
    SparkSql,
    /// DuckDB SQL; with `--data DIR` it reads the NDJSON under DIR itself.
    Duckdb,
    /// A PySpark job: reads exported log files, runs the rules, writes alerts.
    Pyspark,
}

impl Target {
    /// Every target, with its name (as the command line spells it) and what it writes.
    pub const ALL: [(Target, &'static str, &'static str); 5] = [
        (Target::Kql, "kql", "A KQL query over the Log Analytics tables (Sentinel, Azure Data Explorer)"),
        (
            Target::Sentinel,
            "sentinel",
            "A Microsoft Sentinel scheduled analytics rule (Azure-Sentinel repository YAML)",
        ),
        (Target::SparkSql, "spark-sql", "Spark SQL over tables named like the Log Analytics tables"),
        (Target::Duckdb, "duckdb", "DuckDB SQL; with `--data DIR` it reads the NDJSON under DIR itself"),
        (
            Target::Pyspark,
            "pyspark",
            "A PySpark job over exported log files (both record shapes, gzip) writing sigcorr's JSON-lines alerts; all the rules in one job",
        ),
    ];

    /// The target's name, as the command line spells it.
    pub fn name(self) -> &'static str {
        Target::ALL.iter().find(|(t, ..)| *t == self).map_or("", |&(_, name, _)| name)
    }

    /// The line-comment marker of the target's language.
    pub fn comment(self) -> &'static str {
        match self {
            Target::Kql => "//",
            Target::Sentinel | Target::Pyspark => "#",
            Target::SparkSql | Target::Duckdb => "--",
        }
    }
}

/// Settings shared by the backends.
#[derive(Debug, Clone)]
pub struct Options<'a> {
    /// The table definitions the rule was checked against.
    pub catalog: &'a Catalog,
    /// A fixed `now()` in ticks; `None`: the target engine's current time
    /// when the query runs.
    pub now: Option<i64>,
    /// `duckdb` only: read the NDJSON files under this directory instead of
    /// tables.
    pub data: Option<PathBuf>,
    /// Every loaded rule: what a correlation's `rules` name.
    pub rules: &'a [CheckedRule],
    /// Spark SQL only (the PySpark job, [`pyspark`]): each table carries
    /// its records' `__sigcorr_file` and `__sigcorr_line`, and the query
    /// adds `__evidence`, the alert's positions as an array of
    /// `(i, f, l)`: the source (or correlation input) `i`, file `f`, line `l`.
    pub evidence: bool,
    /// Spark SQL in the PySpark job: a correlation over a correlation reads
    /// the inner one's alerts from the view [`correlation::view_name`],
    /// which the job registers (computed and checkpointed) before it, not
    /// from the inner query written inline (Spark's plan of nested windows
    /// grows with each level).
    pub views: bool,
}

/// Compiles one rule to `target`.
pub fn compile(rule: &CheckedRule, target: Target, opts: &Options) -> Result<String, Diagnostic> {
    if let Some(d) = refuse(rule, target) {
        return Err(d);
    }
    // The job holds every rule it is given: here, this one.
    let job = || {
        pyspark::job(opts.rules, &[rule], opts).map_err(|e| {
            e.into_iter().next().unwrap_or_else(|| unsupported(rule, rule.doc.title.span, "the rule", target, ""))
        })
    };
    if rule.correlation.is_some() {
        let at = opts.rules.iter().position(|r| std::ptr::eq(r, rule));
        let span = rule.doc.correlation.span;
        return match (target, at) {
            (Target::SparkSql, Some(r)) => correlation::compile(opts.rules, r, sql::Dialect::Spark, opts),
            (Target::Duckdb, Some(r)) => correlation::compile(opts.rules, r, sql::Dialect::DuckDb, opts),
            (Target::SparkSql | Target::Duckdb, None) => Err(unsupported(
                rule,
                span,
                "a Sigma correlation rule",
                target,
                "the rules it references were not given",
            )),
            (Target::Pyspark, _) => job(),
            (Target::Kql | Target::Sentinel, _) => Err(unsupported(
                rule,
                span,
                "a Sigma correlation rule",
                target,
                "its translation to KQL is still to come; compile it to duckdb or spark-sql, or run it with `sigcorr run`",
            )),
        };
    }
    match target {
        Target::Kql => kql::compile(rule, opts),
        Target::Sentinel => sentinel::compile(rule, opts),
        Target::SparkSql => sql::compile(rule, sql::Dialect::Spark, opts),
        Target::Duckdb => sql::compile(rule, sql::Dialect::DuckDb, opts),
        Target::Pyspark => job(),
    }
}

/// What a target does not compile yet, whatever the rule is used for.
pub(crate) fn refuse(rule: &CheckedRule, target: Target) -> Option<Diagnostic> {
    let at = rule.doc.correlation.anti?;
    if matches!(target, Target::Duckdb | Target::SparkSql | Target::Pyspark) || rule.mismatch.is_none() {
        return None;
    }
    let why = "KQL's `join kind=leftanti` compares keys only; compile it to duckdb or spark-sql, or run it with `sigcorr run`";
    Some(unsupported(rule, at, "`kind: leftanti` with a mismatch", target, why))
}

/// The error for a construct `target` cannot express with the engine's
/// meaning: names the construct, where it is, and the target.
pub(crate) fn unsupported(
    rule: &CheckedRule,
    span: Span,
    construct: impl std::fmt::Display,
    target: Target,
    why: impl std::fmt::Display,
) -> Diagnostic {
    Diagnostic::new(
        Code::UnsupportedConstruct,
        format!("{construct} cannot be compiled to {} with the same meaning", target.name()),
    )
    .at(rule.file(), span)
    .help(why.to_string())
}

/// The first comment lines of every compiled query: which rule it is.
pub(crate) fn header(rule: &CheckedRule, target: Target) -> String {
    let c = target.comment();
    format!(
        "{c} {}\n{c} sigcorr rule {} (level {}), compiled to {}\n",
        comment(rule.title()),
        comment(rule.id()),
        comment(rule.level()),
        target.name()
    )
}

/// Rule text in a line comment of any target, kept on its one line. Line
/// breaks end a comment: `\n` and `\r` everywhere, U+2028 and U+2029 in
/// Kusto, NEL too in YAML 1.1. So every control, separator and bidi
/// character is spelt out ([`crate::text::printable`]), and a trailing
/// backslash gets a space after it (a Spark SQL `--` comment ending in `\`
/// continues on the next line).
pub(crate) fn comment(text: &str) -> std::borrow::Cow<'_, str> {
    let mut text = crate::text::printable(text);
    if text.ends_with('\\') {
        text.to_mut().push(' ');
    }
    text
}

/// The error for a name (source alias, table, output column) a target cannot
/// quote faithfully: one holding a character [`crate::text::is_unsafe`].
pub(crate) fn unquotable_name(
    rule: &CheckedRule,
    span: Span,
    what: &str,
    name: &str,
    target: Target,
) -> Option<Diagnostic> {
    name.contains(crate::text::is_unsafe).then(|| {
        unsupported(
            rule,
            span,
            format!("the {what} `{name}`"),
            target,
            "it holds a control, line-separator or bidirectional-control character, which a quoted name cannot spell out; rename it",
        )
    })
}

/// Every column reference of source `source`, in first-use order (filter,
/// join keys, mismatch, output), without duplicates.
pub(crate) fn columns_of(rule: &CheckedRule, source: usize) -> Vec<&TExpr> {
    fn add<'a>(e: &'a TExpr, source: usize, out: &mut Vec<&'a TExpr>) {
        e.walk(&mut |x| {
            if let TKind::Column(c) = &x.kind
                && c.source == source
                && !out.iter().any(|o| o.as_column().is_some_and(|p| p.column == c.column))
            {
                out.push(x);
            }
        })
    }
    let mut out: Vec<&TExpr> = Vec::new();
    for s in &rule.sources {
        if let Some(f) = &s.filter {
            add(f, source, &mut out);
        }
    }
    for k in &rule.join {
        add(&k.left, source, &mut out);
        add(&k.right, source, &mut out);
    }
    if let Some(m) = &rule.mismatch {
        add(m, source, &mut out);
    }
    for o in &rule.output {
        add(&o.expr, source, &mut out);
    }
    out
}

/// A timespan in ticks as the largest exact unit: `30d`, `90m`, `15tick`.
pub(crate) fn timespan_literal(ticks: i64) -> String {
    const UNITS: &[(i64, &str)] = &[
        (crate::datetime::TICKS_PER_DAY, "d"),
        (3600 * crate::datetime::TICKS_PER_SECOND, "h"),
        (60 * crate::datetime::TICKS_PER_SECOND, "m"),
        (crate::datetime::TICKS_PER_SECOND, "s"),
        (10_000, "ms"),
        (10, "microsecond"),
    ];
    for &(unit, name) in UNITS {
        if ticks != 0 && ticks % unit == 0 {
            return format!("{}{name}", ticks / unit);
        }
    }
    format!("{ticks}tick")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_stay_on_one_line() {
        assert_eq!(comment("Service principal token"), "Service principal token");
        assert_eq!(comment("x\nCOPY t TO 'p';\r\u{2028}\u{85}"), r"x\nCOPY t TO 'p';\r\u{2028}\u{85}");
        assert_eq!(comment("ends in \\"), "ends in \\ ");
        assert_eq!(comment("C:\\x */"), "C:\\x */");
    }

    #[test]
    fn timespans_use_the_largest_exact_unit() {
        assert_eq!(timespan_literal(30 * crate::datetime::TICKS_PER_DAY), "30d");
        assert_eq!(timespan_literal(90 * 60 * crate::datetime::TICKS_PER_SECOND), "90m");
        assert_eq!(timespan_literal(-3600 * crate::datetime::TICKS_PER_SECOND), "-1h");
        assert_eq!(timespan_literal(15), "15tick");
        assert_eq!(timespan_literal(0), "0tick");
    }
}
