//! `--target pyspark`: one runnable PySpark job for a set of rules.
//!
//! The job is a Python program: the tables it reads (columns, and where
//! diagnostic-settings records keep each one), every rule's Spark SQL
//! ([`super::sql`], with [`Options::evidence`]) and what its alerts show,
//! then a fixed runtime (`pyspark_job.py`). The runtime reads each input
//! file a line at a time (gzip, NDJSON, JSON arrays, `{"records": [...]}`
//! bodies, as `sigcorr run` reads them), numbers the records' lines, routes them to tables by `Type`
//! or `category`, registers a view per table with every column as text (as
//! the Spark SQL target expects), runs each rule's query and writes its
//! alerts in `sigcorr run`'s JSON-lines format, evidence included.
//!
//! Rule text reaches the program only as Python string literals with every
//! character outside printable ASCII escaped ([`py_str`]), and in comments
//! through the compile header's `comment`.

use crate::check::{CheckedRule, TExpr};
use crate::diagnostic::Diagnostic;
use crate::table::Catalog;
use crate::types::Type;

use super::{Options, Target, comment, correlation};

/// The runtime after the generated tables and rules.
const RUNTIME: &str = include_str!("pyspark_job.py");

/// The job for `selected` (rules of `rules`, which correlations reference
/// by index): every one that `sigcorr run` writes alerts of, in order. A
/// rule only a correlation reads (no `generate`) is run inside that
/// correlation's query, not on its own; a correlation another correlation
/// reads is computed once, before them, as a view (`VIEWS`), which they and
/// its own alerts read. Errors: each rule's first construct Spark SQL
/// cannot express (never empty).
pub fn job(rules: &[CheckedRule], selected: &[&CheckedRule], opts: &Options) -> Result<String, Vec<Diagnostic>> {
    let opts = Options { evidence: true, views: true, ..opts.clone() };
    let unwritten = crate::correlate::unwritten(rules);
    let index = |rule: &CheckedRule| rules.iter().position(|r| std::ptr::eq(r, rule));
    let (written, skipped): (Vec<&CheckedRule>, Vec<&CheckedRule>) =
        selected.iter().copied().partition(|&rule| !index(rule).is_some_and(|r| unwritten[r]));
    // The correlations a written correlation reads, inner ones first: each
    // is computed once, as a view; one that is also written is read from it.
    let mut views = Vec::new();
    for &rule in &written {
        if let Some(r) = index(rule) {
            inner_correlations(rules, r, &mut views);
        }
    }
    let mut entries = Vec::new();
    let mut errors = Vec::new();
    for &rule in &written {
        let compiled = match index(rule).filter(|r| views.contains(r)) {
            Some(r) => Ok(format!("SELECT * FROM {}", super::sql::Dialect::Spark.ident(&correlation::view_name(r)))),
            None => super::compile(rule, Target::SparkSql, &opts),
        };
        match compiled {
            Ok(sql) => entries.push(rule_entry(rule, &sql)),
            Err(d) => errors.push(d),
        }
    }
    let mut view_entries = Vec::new();
    for &r in &views {
        match correlation::view(rules, r, super::sql::Dialect::Spark, &opts) {
            Ok(sql) => view_entries.push(format!(
                "    {{\n        \"name\": {},\n        \"id\": {},\n        \"sql\": \"\\n\".join(\n            [\n{}            ]\n        ),\n    }},\n",
                py_str(&correlation::view_name(r)),
                py_str(rules[r].id()),
                sql_lines(&sql)
            )),
            Err(d) => errors.push(d),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut out = String::from("#!/usr/bin/env python3\n");
    out.push_str(&format!(
        "# sigcorr {} PySpark job: {} rule{}; now() = {}\n",
        env!("CARGO_PKG_VERSION"),
        entries.len(),
        if entries.len() == 1 { "" } else { "s" },
        match opts.now {
            Some(t) => crate::datetime::format(t),
            None => "the time each query runs".to_string(),
        }
    ));
    out.push_str(
        "#\n#   spark-submit job.py INPUT... [-o alerts.jsonl]     (or python3 job.py ..., with pyspark installed)\n#\n\
         # INPUT: directories (read recursively) or files of exported logs, local paths or storage URIs\n\
         # (abfss://, s3a://, dbfs:/); Log Analytics rows and diagnostic-settings records, NDJSON, JSON\n\
         # arrays or {\"records\": [...]} bodies, gzip included. Alerts are written as `sigcorr run` writes them.\n#\n",
    );
    for rule in selected {
        let note = if skipped.iter().any(|s| std::ptr::eq(*s, *rule)) {
            " (alerts not written: a correlation reads them)"
        } else {
            ""
        };
        out.push_str(&format!("# {}  {}{note}\n", comment(rule.id()), comment(rule.title())));
    }
    out.push_str("\nTABLES = {\n");
    for t in tables(opts.catalog) {
        out.push_str(&t);
    }
    out.push_str("}\n\nRULES = [\n");
    for e in entries {
        out.push_str(&e);
    }
    out.push_str(
        "]\n\n# Correlations other correlations read, inner ones first: each computed once, as a view.\nVIEWS = [\n",
    );
    for e in view_entries {
        out.push_str(&e);
    }
    out.push_str("]\n\n# Files passed over, by extension, as `sigcorr run` passes them over.\nNOT_LOGS = {");
    let not_logs: Vec<String> = crate::input::NOT_LOGS
        .iter()
        .flat_map(|(exts, why)| exts.iter().map(move |e| format!("{}: {}", py_str(e), py_str(why))))
        .collect();
    out.push_str(&not_logs.join(", "));
    out.push_str("}\n");
    out.push_str(RUNTIME);
    Ok(out)
}

/// Each table as a Python dict entry: its columns, and its
/// diagnostic-settings categories and column paths.
fn tables(catalog: &Catalog) -> Vec<String> {
    catalog
        .tables()
        .iter()
        .map(|t| {
            let columns: Vec<String> = t.columns.iter().map(|c| py_str(&c.name)).collect();
            let (categories, paths) = match &t.diagnostic {
                Some(d) => (
                    d.categories.iter().map(|c| py_str(c)).collect::<Vec<_>>(),
                    t.columns
                        .iter()
                        .zip(&d.paths)
                        .filter_map(|(c, p)| p.as_ref().map(|p| format!("{}: {}", py_str(&c.name), py_list(p))))
                        .collect::<Vec<_>>(),
                ),
                None => (Vec::new(), Vec::new()),
            };
            format!(
                "    {}: {{\n        \"columns\": [{}],\n        \"categories\": [{}],\n        \"paths\": {{{}}},\n    }},\n",
                py_str(&t.name),
                columns.join(", "),
                categories.join(", "),
                paths.join(", ")
            )
        })
        .collect()
}

/// One rule as a Python dict: what its alerts say about it, the outputs
/// they show, how to write them, the names its evidence goes under, and
/// its query, a line per string.
fn rule_entry(rule: &CheckedRule, sql: &str) -> String {
    let tags: Vec<String> = rule.doc.tags.iter().map(|t| t.value.clone()).collect();
    let shown: Vec<String> = rule.shown_output().iter().map(|o| o.name.clone()).collect();
    let dynamic: Vec<String> = rule
        .shown_output()
        .iter()
        .filter(|o| o.expr.ty == Type::Dynamic && plain_column(&o.expr))
        .map(|o| o.name.clone())
        .collect();
    let (evidence, value) = match &rule.correlation {
        Some(spec) => (spec.names.clone(), Some(correlation::value_name(spec.kind))),
        None => (rule.sources.iter().map(|s| s.alias.clone()).collect(), None),
    };
    format!(
        "    {{\n        \"id\": {},\n        \"title\": {},\n        \"level\": {},\n        \"tags\": {},\n        \"correlation\": {},\n        \"fields\": {},\n        \"dynamic\": {},\n        \"value\": {},\n        \"evidence\": {},\n        \"sql\": \"\\n\".join(\n            [\n{}            ]\n        ),\n    }},\n",
        py_str(rule.id()),
        py_str(rule.title()),
        py_str(rule.level()),
        py_list(&tags),
        if rule.correlation.is_some() { "True" } else { "False" },
        py_list(&shown),
        py_list(&dynamic),
        value.map_or_else(|| "None".to_string(), py_str),
        py_list(&evidence),
        sql_lines(sql)
    )
}

/// A query as the lines of a Python list of strings.
fn sql_lines(sql: &str) -> String {
    sql.lines().map(|l| format!("            {},\n", py_str(l))).collect()
}

/// Appends to `out` the correlations correlation `rules[r]` reads,
/// directly or through others, each after those it reads, once. No
/// recursion: `resolve` refused cycles, and a chain may be long.
fn inner_correlations(rules: &[CheckedRule], r: usize, out: &mut Vec<usize>) {
    let mut listed: std::collections::HashSet<usize> = out.iter().copied().collect();
    // (rule, whether its inputs were pushed)
    let mut stack = vec![(r, false)];
    while let Some((at, expanded)) = stack.pop() {
        if expanded {
            if at != r && listed.insert(at) {
                out.push(at);
            }
            continue;
        }
        let Some(spec) = &rules[at].correlation else { continue };
        stack.push((at, true));
        for input in spec.inputs.iter().rev() {
            if rules[input.rule].correlation.is_some() && !listed.contains(&input.rule) {
                stack.push((input.rule, false));
            }
        }
    }
}

/// A column output as it is: the alert shows its JSON, not a string of it.
fn plain_column(e: &TExpr) -> bool {
    e.as_column().is_some_and(|c| c.path.is_empty())
}

/// A Python list of string literals.
fn py_list(items: &[String]) -> String {
    let items: Vec<String> = items.iter().map(|s| py_str(s)).collect();
    format!("[{}]", items.join(", "))
}

/// A Python string literal of `s`, in printable ASCII: quotes and
/// backslashes escaped, every other character `\xNN`, `\uNNNN` or
/// `\UNNNNNNNN`, so no rule text can end the literal or the line.
pub fn py_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            ' '..='~' => out.push(c),
            c if (c as u32) < 0x100 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_strings_are_printable_ascii() {
        assert_eq!(py_str("Graph"), "\"Graph\"");
        assert_eq!(py_str("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(py_str("x\n\"\"\"\r\u{2028}é😀"), "\"x\\x0a\\\"\\\"\\\"\\x0d\\u2028\\xe9\\U0001f600\"");
        assert!(py_str("\u{0}\u{7f}\u{85}").bytes().all(|b| (b' '..=b'~').contains(&b)));
    }
}
