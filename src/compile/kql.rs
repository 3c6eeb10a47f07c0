//! KQL: a query over the Log Analytics tables, for Microsoft Sentinel and
//! Azure Data Explorer. The rule language is Kusto-flavoured, so most
//! expressions print as written; the work is in the query's shape.
//!
//! A correlation becomes the seed hunt's shape: the first source, its
//! filter as `| where` lines, `| lookup kind=inner (second source, its
//! filter, a `project` of the columns used later) on the join keys`, the
//! mismatch as `| where`, and the output as `| project`. Right-side columns
//! whose names a left table also has are renamed explicitly in the inner
//! `project` (to the output name that reads them, or `<alias>_<column>`),
//! so nothing depends on Kusto's `1` suffix. Both sides drop empty join
//! keys (`isnotempty`), as the engine does. `kind: leftanti` is a
//! `| join kind=leftanti` against the second source's keys.

use std::collections::{BTreeSet, HashMap};

use crate::ast::{BinaryOp, InOp, Literal, UnaryOp};
use crate::check::{CheckedRule, ColumnRef, TExpr, TKind};
use crate::diagnostic::Diagnostic;
use crate::functions::Func;
use crate::text;

use super::{Options, Target, header, unsupported};

/// The full `--target kql` output: header comment and query.
pub fn compile(rule: &CheckedRule, opts: &Options) -> Result<String, Diagnostic> {
    let mut out = header(rule, Target::Kql);
    out.push_str(&query(rule, opts, Target::Kql)?);
    out.push('\n');
    Ok(out)
}

/// The query alone (what a Sentinel rule embeds), without a trailing newline.
pub fn query(rule: &CheckedRule, opts: &Options, target: Target) -> Result<String, Diagnostic> {
    let p = Printer { rule, target, now: opts.now };
    let bare = |c: &ColumnRef| ident(&c.column);
    let mut lines: Vec<String> = Vec::new();
    lines.push(tables(&rule.sources[0].tables));
    if let Some(f) = &rule.sources[0].filter {
        for c in conjuncts(f) {
            lines.push(format!("| where {}", p.expr(c, &bare)?));
        }
    }

    if rule.sources.len() == 1 {
        let project = outputs(&p, rule, &bare)?;
        lines.push(format!("| project {project}"));
        return Ok(lines.join("\n"));
    }

    // Columns any left table has: right-side names must not collide with them.
    let left_columns: BTreeSet<String> = rule.sources[0]
        .tables
        .iter()
        .filter_map(|t| opts.catalog.get(t))
        .flat_map(|t| t.columns.iter().map(|c| c.name.clone()))
        .collect();
    let plain_keys = rule.join.iter().all(|k| is_plain(&k.left) && is_plain(&k.right));
    if rule.anti {
        return anti(&p, rule, lines, plain_keys);
    }

    // Right columns used after the lookup, and the names they get there.
    let mut used_later: Vec<String> = Vec::new();
    let mut note = |e: &TExpr| {
        e.walk(&mut |x| {
            if let TKind::Column(c) = &x.kind
                && c.source == 1
                && !used_later.contains(&c.column)
            {
                used_later.push(c.column.clone());
            }
        })
    };
    if let Some(m) = &rule.mismatch {
        note(m);
    }
    for o in &rule.output {
        note(&o.expr);
    }
    let right_keys: Vec<&str> = if plain_keys {
        rule.join.iter().filter_map(|k| k.right.as_column()).map(|c| c.column.as_str()).collect()
    } else {
        Vec::new()
    };
    let mut taken: BTreeSet<String> = left_columns.clone();
    taken.extend(right_keys.iter().map(|s| s.to_string()));
    let mut renamed: HashMap<String, String> = HashMap::new();
    for col in &used_later {
        // Kept under its own name unless a left table has it, or it is a
        // key column (which `lookup` does not carry to its output).
        let must_rename = left_columns.contains(col) || right_keys.contains(&col.as_str());
        let name = if !must_rename && !taken.contains(col) {
            col.clone()
        } else {
            let by_output = rule.output.iter().find_map(|o| {
                o.expr
                    .as_column()
                    .filter(|c| c.source == 1 && &c.column == col && c.path.is_empty())
                    .map(|_| o.name.clone())
            });
            let mut name = by_output
                .filter(|n| !taken.contains(n) && !used_later.contains(n))
                .unwrap_or_else(|| format!("{}_{col}", rule.sources[1].alias));
            while taken.contains(&name) {
                name.push('_');
            }
            name
        };
        taken.insert(name.clone());
        renamed.insert(col.clone(), name);
    }

    // The right side.
    let mut right: Vec<String> = vec![tables(&rule.sources[1].tables)];
    if let Some(f) = &rule.sources[1].filter {
        for c in conjuncts(f) {
            right.push(format!("| where {}", p.expr(c, &bare)?));
        }
    }
    let mut project: Vec<String> = Vec::new();
    let on = if plain_keys {
        for k in &rule.join {
            let key = k.right.as_column().expect("plain key");
            right.push(format!("| where isnotempty({})", ident(&key.column)));
            lines.push(format!("| where isnotempty({})", ident(&k.left.as_column().expect("plain key").column)));
            if !project.contains(&ident(&key.column)) {
                project.push(ident(&key.column));
            }
        }
        rule.join
            .iter()
            .map(|k| {
                format!(
                    "$left.{} == $right.{}",
                    ident(&k.left.as_column().expect("plain key").column),
                    ident(&k.right.as_column().expect("plain key").column)
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    } else {
        let mut names = Vec::new();
        for (i, k) in rule.join.iter().enumerate() {
            let name = format!("__key{i}");
            lines.push(format!("| extend {name} = {}", p.expr(&k.left, &bare)?));
            lines.push(format!("| where isnotempty({name})"));
            right.push(format!("| extend {name} = {}", p.expr(&k.right, &bare)?));
            right.push(format!("| where isnotempty({name})"));
            project.push(name.clone());
            names.push(name);
        }
        names.join(", ")
    };
    for col in &used_later {
        let name = &renamed[col];
        if name == col {
            project.push(ident(col));
        } else {
            project.push(format!("{} = {}", ident(name), ident(col)));
        }
    }
    right.push(format!("| project {}", project.join(", ")));
    lines.push("| lookup kind=inner (".to_string());
    lines.extend(right.iter().map(|l| format!("    {l}")));
    lines.push(format!("    ) on {on}"));

    let pair = |c: &ColumnRef| if c.source == 0 { ident(&c.column) } else { ident(&renamed[&c.column]) };
    if let Some(m) = &rule.mismatch {
        for c in conjuncts(m) {
            lines.push(format!("| where {}", p.expr(c, &pair)?));
        }
    }
    lines.push(format!("| project {}", outputs(&p, rule, &pair)?));
    Ok(lines.join("\n"))
}

/// `kind: leftanti` without a mismatch: `| join kind=leftanti` against the
/// second source's non-empty keys. The first source's records with an
/// empty key are kept (they join nothing, as in the engine); the right
/// side drops its empty keys, since Kusto's join matches `""` with `""`.
fn anti(p: &Printer, rule: &CheckedRule, mut lines: Vec<String>, plain_keys: bool) -> Result<String, Diagnostic> {
    let bare = |c: &ColumnRef| ident(&c.column);
    let mut right: Vec<String> = vec![tables(&rule.sources[1].tables)];
    if let Some(f) = &rule.sources[1].filter {
        for c in conjuncts(f) {
            right.push(format!("| where {}", p.expr(c, &bare)?));
        }
    }
    let (keys, on): (Vec<String>, Vec<String>) = if plain_keys {
        rule.join
            .iter()
            .map(|k| {
                let (l, r) =
                    (&k.left.as_column().expect("plain key").column, &k.right.as_column().expect("plain key").column);
                (ident(r), format!("$left.{} == $right.{}", ident(l), ident(r)))
            })
            .unzip()
    } else {
        let mut keys = Vec::new();
        for (i, k) in rule.join.iter().enumerate() {
            let name = format!("__key{i}");
            lines.push(format!("| extend {name} = {}", p.expr(&k.left, &bare)?));
            right.push(format!("| extend {name} = {}", p.expr(&k.right, &bare)?));
            keys.push(name);
        }
        (keys.clone(), keys)
    };
    for k in &keys {
        right.push(format!("| where isnotempty({k})"));
    }
    let mut distinct: Vec<String> = Vec::new();
    for k in &keys {
        if !distinct.contains(k) {
            distinct.push(k.clone());
        }
    }
    right.push(format!("| distinct {}", distinct.join(", ")));
    lines.push("| join kind=leftanti (".to_string());
    lines.extend(right.iter().map(|l| format!("    {l}")));
    lines.push(format!("    ) on {}", on.join(", ")));
    lines.push(format!("| project {}", outputs(p, rule, &bare)?));
    Ok(lines.join("\n"))
}

fn tables(names: &[String]) -> String {
    if names.len() == 1 {
        ident(&names[0])
    } else {
        format!("union {}", names.iter().map(|n| ident(n)).collect::<Vec<_>>().join(", "))
    }
}

fn is_plain(e: &TExpr) -> bool {
    e.as_column().is_some_and(|c| c.path.is_empty())
}

/// `a and b and c` as `[a, b, c]`: one `| where` line each.
fn conjuncts(e: &TExpr) -> Vec<&TExpr> {
    match &e.kind {
        TKind::Binary(BinaryOp::And, l, r) => {
            let mut out = conjuncts(l);
            out.extend(conjuncts(r));
            out
        }
        _ => vec![e],
    }
}

fn outputs(p: &Printer, rule: &CheckedRule, names: &dyn Fn(&ColumnRef) -> String) -> Result<String, Diagnostic> {
    let mut items = Vec::new();
    for o in &rule.output {
        let e = p.expr(&o.expr, names)?;
        let name = ident(&o.name);
        items.push(if e == name { name } else { format!("{name} = {e}") });
    }
    Ok(items.join(", "))
}

/// A column, table or output name: as it is when a plain identifier, else
/// bracketed, `['name']`, the name a string literal.
pub fn ident(name: &str) -> String {
    let plain = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain { name.to_string() } else { format!("[{}]", quoted(name, '\'')) }
}

/// A KQL string literal.
pub fn string(s: &str) -> String {
    quoted(s, '"')
}

/// `s` as a KQL string literal between `quote`s: the quote and the
/// backslash backslash-escaped, and every [`text::is_unsafe`] character too
/// (`\n`, `\r`, `\t`, else `\uXXXX`), so the literal is on one line (Kusto
/// refuses raw line breaks in it) and shows no control or bidi character.
fn quoted(s: &str, quote: char) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if text::is_unsafe(c) => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// Why Sigma's any-element reading of a path has no translation yet.
pub(super) const ANY_WHY: &str =
    "Sigma matches when any element of a JSON array on the path matches; the query has no one expression for that";

struct Printer<'a> {
    rule: &'a CheckedRule,
    target: Target,
    now: Option<i64>,
}

impl Printer<'_> {
    fn expr(&self, e: &TExpr, names: &dyn Fn(&ColumnRef) -> String) -> Result<String, Diagnostic> {
        Ok(match &e.kind {
            TKind::Literal(l) => literal(l),
            TKind::Column(c) => {
                let name = names(c);
                if c.path.is_empty() {
                    name
                } else {
                    let keys: String = c.path.iter().map(|k| format!("[{}]", string(k))).collect();
                    format!("todynamic({name}){keys}")
                }
            }
            TKind::Unary(UnaryOp::Not, x) => format!("not({})", self.expr(x, names)?),
            TKind::Unary(UnaryOp::Neg, x) => format!("-{}", self.sub(x, names)?),
            TKind::Binary(op @ (BinaryOp::And | BinaryOp::Or), l, r) => {
                // `and` and `or` bind loosest: only the other one needs parentheses.
                let side = |x: &TExpr| -> Result<String, Diagnostic> {
                    match &x.kind {
                        TKind::Binary(o @ (BinaryOp::And | BinaryOp::Or), ..) if o != op => {
                            Ok(format!("({})", self.expr(x, names)?))
                        }
                        _ => self.expr(x, names),
                    }
                };
                format!("{} {} {}", side(l)?, op.symbol(), side(r)?)
            }
            TKind::Binary(op, l, r) => format!("{} {} {}", self.sub(l, names)?, op.symbol(), self.sub(r, names)?),
            TKind::Regex { expr, pattern, .. } => {
                super::sql::portable_regex(pattern).map_err(|why| {
                    unsupported(self.rule, e.span, format!("the regex `{pattern}`"), self.target, why)
                })?;
                format!("{} matches regex {}", self.sub(expr, names)?, regex(pattern))
            }
            TKind::Between { expr, low, high, negated } => format!(
                "{} {}between ({} .. {})",
                self.sub(expr, names)?,
                if *negated { "!" } else { "" },
                self.expr(low, names)?,
                self.expr(high, names)?
            ),
            TKind::In { expr, op, list } => {
                let op = match op {
                    InOp::In { negated, case_insensitive } => {
                        format!("{}in{}", if *negated { "!" } else { "" }, if *case_insensitive { "~" } else { "" })
                    }
                    InOp::HasAny => "has_any".to_string(),
                    InOp::HasAll => "has_all".to_string(),
                };
                let items = list.iter().map(|i| self.expr(i, names)).collect::<Result<Vec<_>, _>>()?;
                format!("{} {op} ({})", self.sub(expr, names)?, items.join(", "))
            }
            TKind::Call(func, args) => {
                let args = args.iter().map(|a| self.expr(a, names)).collect::<Result<Vec<_>, _>>()?;
                match (func, self.now) {
                    (Func::Ago, Some(now)) => format!("({} - {})", literal(&Literal::DateTime(now)), args[0]),
                    (Func::Now, Some(now)) if args.is_empty() => literal(&Literal::DateTime(now)),
                    (Func::Now, Some(now)) => format!("({} + {})", literal(&Literal::DateTime(now)), args[0]),
                    _ => format!("{}({})", func.name(), args.join(", ")),
                }
            }
            TKind::List(items) => {
                let items = items.iter().map(|i| self.expr(i, names)).collect::<Result<Vec<_>, _>>()?;
                items.join(", ")
            }
            TKind::Ipv4Ranges { expr, texts, .. } => {
                // The IPv6 prefixes the engine passes over (Kusto would make the call null).
                let ranges: Vec<String> = texts.iter().filter(|t| !t.contains(':')).map(|t| string(t)).collect();
                format!("ipv4_is_in_any_range({}, dynamic([{}]))", self.expr(expr, names)?, ranges.join(", "))
            }
            TKind::Member { expr, path } => {
                let keys: String = path
                    .iter()
                    .map(|k| if k.parse::<i64>().is_ok() { format!("[{k}]") } else { format!("[{}]", string(k)) })
                    .collect();
                format!("{}{keys}", self.sub(expr, names)?)
            }
            TKind::Any { .. } | TKind::Element => {
                return Err(unsupported(
                    self.rule,
                    e.span,
                    "a Sigma field read through JSON arrays",
                    self.target,
                    ANY_WHY,
                ));
            }
        })
    }

    /// An operand: parenthesised when it is itself an operator expression.
    fn sub(&self, e: &TExpr, names: &dyn Fn(&ColumnRef) -> String) -> Result<String, Diagnostic> {
        let s = self.expr(e, names)?;
        Ok(match &e.kind {
            TKind::Binary(..)
            | TKind::Between { .. }
            | TKind::In { .. }
            | TKind::Regex { .. }
            | TKind::Unary(UnaryOp::Neg, _) => {
                format!("({s})")
            }
            _ => s,
        })
    }
}

/// A regex pattern: a verbatim string, `@"..."`, which Kusto reads without
/// escapes; a plain string literal when the pattern holds a character that
/// must be escaped (a verbatim string cannot hold a line break).
fn regex(pattern: &str) -> String {
    if pattern.contains(text::is_unsafe) { string(pattern) } else { format!("@\"{}\"", pattern.replace('"', "\"\"")) }
}

fn literal(l: &Literal) -> String {
    match l {
        Literal::Null => "dynamic(null)".to_string(),
        Literal::Bool(b) => b.to_string(),
        Literal::Long(n) => n.to_string(),
        Literal::Real(f) if f.is_nan() => "real(nan)".to_string(),
        Literal::Real(f) if f.is_infinite() => format!("real({}inf)", if *f > 0.0 { "+" } else { "-" }),
        Literal::Real(f) => format!("real({f:?})"),
        Literal::String(s) => string(s),
        Literal::DateTime(t) => format!("datetime({})", crate::datetime::format(*t)),
        Literal::Timespan(t) => super::timespan_literal(*t),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_and_strings_are_quoted_when_needed() {
        assert_eq!(ident("IPAddress"), "IPAddress");
        assert_eq!(ident("Signin IP"), "['Signin IP']");
        assert_eq!(string("a\"b\\c\n"), r#""a\"b\\c\n""#);
        assert_eq!(regex(r#"^a"\d"#), r#"@"^a""\d""#);
        assert_eq!(ident("it's"), r"['it\'s']");
        assert_eq!(ident("a\nb\u{202e}\u{0}"), r"['a\nb\u202e\u0000']");
        assert_eq!(string("\u{2028}\r\t\u{1b}\u{85}'"), r#""\u2028\r\t\u001b\u0085'""#);
        assert_eq!(regex("a\n\"b"), r#""a\n\"b""#);
        assert_eq!(
            literal(&Literal::DateTime(crate::datetime::parse("2026-06-16T12:00:00Z").unwrap())),
            "datetime(2026-06-16T12:00:00.0000000Z)"
        );
    }
}
