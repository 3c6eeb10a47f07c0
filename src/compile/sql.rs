//! SQL: Spark SQL and DuckDB SQL from one generator. Every difference
//! between the two is a method of [`Dialect`]; the rest is shared.
//!
//! The query is a chain of common table expressions:
//!
//! 1. per table a source reads, its raw columns as text, and for datetime
//!    columns the parts of the timestamp (`regexp_extract`);
//! 2. the typed values, exactly as the engine reads them: strings
//!    `coalesce(x, '')`, longs only from integer text, datetimes as 100-ns
//!    ticks since the epoch computed with integer arithmetic from the text
//!    (all 7 fraction digits, offsets, no time zone functions), so
//!    `TimeGenerated > ago(30d)` is exact at the tick, which a microsecond
//!    `TIMESTAMP` is not;
//! 3. per source, the union of its tables (columns a table lacks are `''`
//!    for strings, `NULL` otherwise) and its filter;
//! 4. the join (`=` on each key, and string keys `<> ''`), the mismatch,
//!    and the output columns in the rule's order and names. A column output
//!    as is is the input's text, so a timestamp prints as it was written.
//!
//! Comparisons keep Kusto's nulls, not SQL's: `==`, `!=` and `in` of a value
//! that may be NULL (any but a string) say a null and a non-null value are
//! unequal (`coalesce(a <> b, TRUE)`), and two nulls null.

use crate::ast::{BinaryOp, InOp, Literal, StrOp, UnaryOp};
use crate::check::{CheckedRule, ColumnRef, TExpr, TKind};
use crate::diagnostic::Diagnostic;
use crate::functions::Func;
use crate::text;
use crate::types::Type;

use super::{Options, Target, header, ip, regex_sql, unquotable_name, unsupported};

/// Ticks (100 ns since 1970, a BIGINT expression) as the engine prints a
/// datetime: `2026-07-16T10:05:00.0000000Z`. The date comes from the
/// engine's own date arithmetic (no time zone), the time of day from the
/// remainder.
pub(super) fn ticks_text(d: Dialect, t: &str) -> String {
    const DAY: i64 = crate::datetime::TICKS_PER_DAY;
    const SECOND: i64 = crate::datetime::TICKS_PER_SECOND;
    let rem = format!("((({t} % {DAY}) + {DAY}) % {DAY})");
    // Exact: the difference is a whole number of days.
    let days = format!("CAST({} AS INTEGER)", d.int_div(&format!("({t} - {rem})"), &DAY.to_string()));
    let date = match d {
        Dialect::DuckDb => format!("CAST(DATE '1970-01-01' + {days} AS VARCHAR)"),
        Dialect::Spark => format!("CAST(date_add(DATE '1970-01-01', {days}) AS STRING)"),
    };
    let text = d.text_type();
    let part = |div: i64, modulo: i64, width: usize| {
        let whole = d.int_div(&rem, &div.to_string());
        format!("lpad(CAST({whole} % {modulo} AS {text}), {width}, '0')")
    };
    format!(
        "{date} || 'T' || {} || ':' || {} || ':' || {} || '.' || lpad(CAST({rem} % {SECOND} AS {text}), 7, '0') || 'Z'",
        part(3600 * SECOND, 24, 2),
        part(60 * SECOND, 60, 2),
        part(SECOND, 60, 2),
    )
}

/// Ticks of a timespan as the engine prints one (`datetime::format_timespan`):
/// `[-][d.]hh:mm:ss[.fffffff]`, the fraction only when not zero.
fn timespan_text(d: Dialect, t: &str) -> String {
    const DAY: i64 = crate::datetime::TICKS_PER_DAY;
    const SECOND: i64 = crate::datetime::TICKS_PER_SECOND;
    let text = d.text_type();
    let a = format!("abs({t})");
    let days = d.int_div(&a, &DAY.to_string());
    let rem = format!("({a} % {DAY})");
    let secs = d.int_div(&rem, &SECOND.to_string());
    let frac = format!("({rem} % {SECOND})");
    let two = |n: String| format!("lpad(CAST({n} AS {text}), 2, '0')");
    format!(
        "CASE WHEN {t} IS NOT NULL THEN CASE WHEN {t} < 0 THEN '-' ELSE '' END \
         || CASE WHEN {days} > 0 THEN CAST({days} AS {text}) || '.' ELSE '' END \
         || {} || ':' || {} || ':' || {} \
         || CASE WHEN {frac} > 0 THEN '.' || lpad(CAST({frac} AS {text}), 7, '0') ELSE '' END END",
        two(d.int_div(&secs, "3600")),
        two(format!("({} % 60)", d.int_div(&secs, "60"))),
        two(format!("({secs} % 60)")),
    )
}

/// Which SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    DuckDb,
    Spark,
}

impl Dialect {
    pub fn target(self) -> Target {
        match self {
            Dialect::DuckDb => Target::Duckdb,
            Dialect::Spark => Target::SparkSql,
        }
    }

    /// A quoted identifier.
    pub fn ident(self, name: &str) -> String {
        match self {
            Dialect::DuckDb => format!("\"{}\"", name.replace('"', "\"\"")),
            Dialect::Spark => format!("`{}`", name.replace('`', "``")),
        }
    }

    /// A string literal, on one line and with no control or bidi character
    /// raw ([`text::is_unsafe`]). Spark reads backslash escapes in literals:
    /// `\\`, `\'` and `\uXXXX`. DuckDB does not (only `''`): such a
    /// character is concatenated as `chr(n)`, `('a' || chr(10) || 'b')`.
    pub fn string(self, s: &str) -> String {
        match self {
            Dialect::DuckDb => {
                let quote = |run: &str| format!("'{}'", run.replace('\'', "''"));
                let mut parts: Vec<String> = Vec::new();
                let mut run = String::new();
                for c in s.chars() {
                    if text::is_unsafe(c) {
                        if !run.is_empty() {
                            parts.push(quote(&std::mem::take(&mut run)));
                        }
                        parts.push(format!("chr({})", c as u32));
                    } else {
                        run.push(c);
                    }
                }
                if !run.is_empty() || parts.is_empty() {
                    parts.push(quote(&run));
                }
                if parts.len() == 1 { parts.remove(0) } else { format!("({})", parts.join(" || ")) }
            }
            Dialect::Spark => {
                let mut out = String::with_capacity(s.len() + 2);
                out.push('\'');
                for c in s.chars() {
                    match c {
                        '\\' => out.push_str("\\\\"),
                        '\'' => out.push_str("\\'"),
                        c if text::is_unsafe(c) => out.push_str(&format!("\\u{:04x}", c as u32)),
                        c => out.push(c),
                    }
                }
                out.push('\'');
                out
            }
        }
    }

    pub(super) fn text_type(self) -> &'static str {
        match self {
            Dialect::DuckDb => "VARCHAR",
            Dialect::Spark => "STRING",
        }
    }

    /// Integer division, truncating (both engines truncate toward zero).
    pub(super) fn int_div(self, a: &str, b: &str) -> String {
        match self {
            Dialect::DuckDb => format!("({a} // {b})"),
            Dialect::Spark => format!("({a} div {b})"),
        }
    }

    /// Whether the regex `pattern` (a SQL expression) matches anywhere in `s`.
    pub(super) fn regex_match(self, s: &str, pattern: &str) -> String {
        match self {
            Dialect::DuckDb => format!("regexp_matches({s}, {pattern})"),
            Dialect::Spark => format!("({s} RLIKE {pattern})"),
        }
    }

    /// A real from text `t` as the engine reads one (Rust's `f64` parse,
    /// after trimming: no `1_000`, no `1.5d`); NULL otherwise.
    pub(super) fn real_from_text(self, t: &str) -> String {
        let trimmed = self.trim(t);
        format!(
            "CASE WHEN {} THEN TRY_CAST({trimmed} AS DOUBLE) END",
            self.regex_match(&trimmed, &self.string(REAL_RE))
        )
    }

    /// `t` without leading and trailing whitespace as Rust's `str::trim`
    /// sees it (Unicode `White_Space`; SQL's `trim` takes only spaces).
    pub(super) fn trim(self, t: &str) -> String {
        format!("regexp_extract({t}, {}, 1)", self.string(&format!("(?s)^{WS}*(.*?){WS}*$")))
    }

    /// A long from text `t` as the engine reads a column's value
    /// (`value::parse_long`): an integer, or a decimal number's integer
    /// part when a long holds it; NULL otherwise.
    pub(super) fn long_from_text(self, t: &str) -> String {
        let x = self.trim(t);
        let f = format!("TRY_CAST({x} AS DOUBLE)");
        let truncated = match self {
            Dialect::DuckDb => format!("CAST(trunc({f}) AS BIGINT)"),
            Dialect::Spark => format!("CAST({f} AS BIGINT)"),
        };
        format!(
            "CASE WHEN {} AND TRY_CAST({x} AS BIGINT) IS NOT NULL THEN TRY_CAST({x} AS BIGINT) \
             WHEN {} AND {f} >= -9223372036854775808.0 AND {f} < 9223372036854775808.0 THEN {truncated} END",
            self.regex_match(&x, &self.string("^[+-]?[0-9]+$")),
            self.regex_match(&x, &self.string(DECIMAL_RE)),
        )
    }

    /// `s` with every match of the regex `pattern` replaced by `before`,
    /// the match's group 1, and `after` (literal texts).
    pub(super) fn replace_all(self, s: &str, pattern: &str, before: &str, after: &str) -> String {
        match self {
            Dialect::DuckDb => format!(
                "regexp_replace({s}, {}, {}, 'g')",
                self.string(pattern),
                self.string(&format!("{}\\1{}", before.replace('\\', "\\\\"), after.replace('\\', "\\\\")))
            ),
            Dialect::Spark => format!(
                "regexp_replace({s}, {}, {})",
                self.string(pattern),
                self.string(&format!("{}$1{}", before.replace('$', "\\$"), after.replace('$', "\\$")))
            ),
        }
    }

    /// `x` when it is a number JSON writes; NULL for NaN and infinity, as
    /// the engine's (SQL orders NaN above every number: `abs` fails it).
    pub(super) fn finite(self, x: &str) -> String {
        format!("CASE WHEN abs({x}) <= 1.7976931348623157e308 THEN {x} END")
    }

    /// The engine's current time in ticks, when no `--now` is fixed.
    fn now_ticks(self) -> &'static str {
        match self {
            Dialect::DuckDb => "(epoch_us(current_timestamp) * 10)",
            Dialect::Spark => "(unix_micros(current_timestamp()) * 10)",
        }
    }
}

/// Why `pattern` would match differently in RE2 / Java than in the engine's
/// Rust regex (whose `\d`, `\w`, `\s`, `\b` are Unicode-aware), if it would.
pub fn portable_regex(pattern: &str) -> Result<(), String> {
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c == '\\'
            && let Some(n) = chars.next()
            && matches!(n, 'd' | 'D' | 'w' | 'W' | 's' | 'S' | 'b' | 'B' | 'p' | 'P')
        {
            return Err(format!(
                "`\\{n}` is Unicode-aware in sigcorr and ASCII-only (or differently defined) in the target's regex engine; spell the class out, e.g. `[0-9]` for `\\d`"
            ));
        }
    }
    Ok(())
}

/// The timestamp forms the engine parses (`datetime::parse`): date, then
/// optionally `T`/space, `HH:MM`, `:SS`, `.fraction`, and `Z` or an offset.
/// Groups (DuckDB allows at most 9): 1 year, 2 month, 3 day, 4 hour,
/// 5 minute, 6 second, 7 fraction, 8 offset (`+HH`, `+HHMM`, `+HH:MM`).
const DATETIME_RE: &str = r"^\s*([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[Tt ]([0-9]{2}):([0-9]{2})(?::([0-9]{2}))?(?:[.]([0-9]+))?(?:[Zz]|([+-][0-9]{2}(?::?[0-9]{2})?))?)?\s*$";
const DATETIME_PARTS: [&str; 7] = ["y", "mo", "d", "h", "mi", "s", "frac"];

/// A column one source reads, and how.
/// The text Rust's `f64` parse reads: a decimal with an optional exponent,
/// `inf`, `infinity` or `nan` in any case, with an optional sign.
/// Rust's `char::is_whitespace` (Unicode `White_Space`) as a regex class
/// both RE2 (DuckDB) and Java (Spark) read.
pub(super) const WS: &str =
    r"[\t\n\x0B\x0C\r \x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}]";

/// The reals SQL has no literal for.
const INF: &str = "CAST('inf' AS DOUBLE)";
const NAN: &str = "CAST('NaN' AS DOUBLE)";

/// The numbers of [`REAL_RE`] written with digits (no `inf`, no `NaN`).
const DECIMAL_RE: &str = "^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?$";

const REAL_RE: &str =
    "^[+-]?(([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?|[iI][nN][fF]([iI][nN][iI][tT][yY])?|[nN][aA][nN])$";

struct Needed {
    name: String,
    ty: Type,
    /// Output as is: keep the input text next to the typed value.
    raw: bool,
}

/// Compiles one rule to `dialect`.
pub fn compile(rule: &CheckedRule, dialect: Dialect, opts: &Options) -> Result<String, Diagnostic> {
    let Query { ctes, select } = query(rule, dialect, opts, "", false)?;
    let target = dialect.target();
    let mut out = header(rule, target);
    out.push_str(&preamble(dialect, opts));
    out.push_str(&format!("WITH\n{}\n{select};\n", ctes.join(",\n")));
    Ok(out)
}

/// The comment lines after the header: how datetimes and tables are read.
pub(super) fn preamble(dialect: Dialect, opts: &Options) -> String {
    let c = dialect.target().comment();
    let mut out = format!(
        "{c} datetimes compare as 100-ns ticks parsed from the text; now() = {}\n",
        match opts.now {
            Some(t) => crate::datetime::format(t),
            None => "the query's current time".to_string(),
        }
    );
    if opts.data.is_none() {
        out.push_str(&format!("{c} reads tables named like the Log Analytics tables, columns as text (as exported)\n"));
    }
    out
}

/// A rule's query: the common table expressions it needs, and its SELECT.
pub(super) struct Query {
    pub(super) ctes: Vec<String>,
    pub(super) select: String,
}

/// The column [`query`] adds, with `time`: the rule's event time in ticks
/// (what a correlation reads; null when the rule has none).
pub(super) const TIME: &str = "__time";

/// With [`Options::evidence`]: each record's file and line, columns of
/// every table the query reads, and the query's column of the alert's
/// positions.
pub(super) const FILE: &str = "__sigcorr_file";
pub(super) const LINE: &str = "__sigcorr_line";
pub(super) const EVIDENCE: &str = "__evidence";

/// `rule` as a [`Query`]. Its table expressions' names start with
/// `prefix` (a correlation holds several rules' queries); with `time` (for
/// a correlation, which prints none of it), the SELECT adds the event time
/// as [`TIME`], and computed real outputs are numbers.
pub(super) fn query(
    rule: &CheckedRule,
    dialect: Dialect,
    opts: &Options,
    prefix: &str,
    time: bool,
) -> Result<Query, Diagnostic> {
    let target = dialect.target();
    if opts.data.is_some() && dialect != Dialect::DuckDb {
        return Err(unsupported(
            rule,
            rule.doc.title.span,
            "`--data`",
            target,
            "only the duckdb target reads files itself; register the tables in Spark instead",
        ));
    }
    // Names are quoted (`"..."`, `` `...` ``), and a quoted name has no
    // escapes: one holding a control or bidi character is refused.
    let corr = &rule.doc.correlation;
    for source in &rule.sources {
        let decl = corr.sources.iter().find(|d| d.alias.name == source.alias);
        let span = decl.map_or(source.span, |d| d.alias.span);
        if let Some(d) = unquotable_name(rule, span, "source", &source.alias, target) {
            return Err(d);
        }
        for t in &source.tables {
            let span = decl.and_then(|d| d.tables.iter().find(|x| &x.name == t)).map_or(span, |x| x.span);
            if let Some(d) = unquotable_name(rule, span, "table", t, target) {
                return Err(d);
            }
        }
    }
    if opts.evidence && dialect != Dialect::Spark {
        return Err(unsupported(
            rule,
            rule.doc.title.span,
            "evidence columns",
            target,
            "only the PySpark job reads them",
        ));
    }
    for o in &rule.output {
        let span = corr.output.iter().find(|(n, _)| n.name == o.name).map_or(o.expr.span, |(n, _)| n.span);
        if let Some(d) = unquotable_name(rule, span, "output column", &o.name, target) {
            return Err(d);
        }
        if opts.evidence && [EVIDENCE, FILE, LINE].iter().any(|n| n.eq_ignore_ascii_case(&o.name)) {
            return Err(unsupported(
                rule,
                span,
                format!("the output column `{}`", o.name),
                target,
                "the PySpark job uses that name for the alert's evidence; rename the output",
            ));
        }
    }
    let g = Gen {
        rule,
        prefix,
        d: dialect,
        target,
        now: opts.now.map_or_else(|| dialect.now_ticks().to_string(), |t| t.to_string()),
        parsed: std::cell::RefCell::new(vec![Vec::new(); rule.sources.len()]),
    };

    // What each source reads.
    let mut needed: Vec<Vec<Needed>> = Vec::new();
    for (s, source) in rule.sources.iter().enumerate() {
        let mut cols: Vec<Needed> = Vec::new();
        for e in super::columns_of(rule, s) {
            let c = e.as_column().expect("a column");
            // The column's own type: a path's value is dynamic, but the
            // column it reads may be a string holding JSON text.
            let own = source.tables.iter().find_map(|t| opts.catalog.get(t).and_then(|d| d.column(&c.column)));
            let ty = match own.map_or(if c.path.is_empty() { e.ty } else { Type::Dynamic }, |col| col.ty) {
                ty @ (Type::String | Type::Long | Type::Real | Type::Bool | Type::DateTime | Type::Dynamic) => ty,
                other => {
                    return Err(unsupported(
                        rule,
                        e.span,
                        format!("the {other} column `{}`", c.column),
                        target,
                        "only string, long, real, bool, datetime and dynamic columns are compiled to SQL",
                    ));
                }
            };
            for t in &source.tables {
                if let Some(col) = opts.catalog.get(t).and_then(|d| d.column(&c.column))
                    && col.ty != ty
                {
                    return Err(unsupported(
                        rule,
                        e.span,
                        format!("the column `{}`", c.column),
                        target,
                        format!(
                            "its type differs between the tables of `{}` ({} in `{t}`, {ty} elsewhere)",
                            source.alias, col.ty
                        ),
                    ));
                }
            }
            if let Some(other) = cols.iter().find(|n| n.name.eq_ignore_ascii_case(&c.column)) {
                return Err(unsupported(
                    rule,
                    e.span,
                    format!("the column `{}`", c.column),
                    target,
                    format!("SQL names are case-insensitive, and `{}` is also read", other.name),
                ));
            }
            let raw = matches!(ty, Type::DateTime | Type::Dynamic)
                && rule.output.iter().any(|o| {
                    o.expr.as_column().is_some_and(|oc| oc.source == s && oc.column == c.column && oc.path.is_empty())
                });
            cols.push(Needed { name: c.column.clone(), ty, raw });
        }
        needed.push(cols);
    }
    for (i, o) in rule.output.iter().enumerate() {
        if let Some(prev) = rule.output[..i].iter().find(|p| p.name.eq_ignore_ascii_case(&o.name)) {
            return Err(unsupported(
                rule,
                o.expr.span,
                format!("the output column `{}`", o.name),
                target,
                format!("SQL names are case-insensitive, and `{}` is also an output", prev.name),
            ));
        }
    }

    let d = dialect;
    let mut ctes: Vec<String> = Vec::new();
    if let Some(dir) = &opts.data {
        ctes.push(g.records_cte(dir, &needed)?);
    }
    // The filters, the outputs, the join and the mismatch first: they name
    // the columns the sources parse as IP addresses (`Gen::parsed`).
    let filters: Vec<Option<String>> = rule
        .sources
        .iter()
        .map(|source| source.filter.as_ref().map(|f| g.expr(f)).transpose())
        .collect::<Result<_, _>>()?;
    let source_ctes = |g: &Gen| -> Vec<String> {
        let mut out = Vec::new();
        for (s, source) in rule.sources.iter().enumerate() {
            let parts: Vec<String> = source.tables.iter().map(|t| g.table_select(t, &needed[s], opts)).collect();
            let alias = d.ident(&source.alias);
            let mut rows = format!("SELECT * FROM (\n{}\n  ) AS {}", parts.join("\n    UNION ALL\n"), d.ident("u"));
            for (k, stage) in g.parse_stages(s).into_iter().enumerate() {
                let cols: Vec<String> = stage.iter().map(|(n, e)| format!("{e} AS {}", d.ident(n))).collect();
                rows = format!("SELECT *, {} FROM (\n  {rows}\n  ) AS {}", cols.join(", "), d.ident(&format!("p{k}")));
            }
            let mut body = format!("  SELECT * FROM (\n  {rows}\n  ) AS {alias}");
            if let Some(f) = &filters[s] {
                body.push_str(&format!("\n  WHERE {f}"));
            }
            out.push(format!("{} AS (\n{body}\n)", d.ident(&g.cte(&cte_name(&source.alias)))));
        }
        out
    };

    let mut select = Vec::new();
    for o in &rule.output {
        let e = match o.expr.as_column().filter(|c| c.path.is_empty()) {
            Some(c) if o.expr.ty == Type::String => g.column(c),
            // The engine prints the value read, and copies a datetime's or a
            // real's text when it read one (`read::as_read`).
            Some(c) if matches!(o.expr.ty, Type::Long | Type::Bool) => g.column(c),
            // Not a number JSON writes (NaN, infinity): null, as the engine's.
            Some(c) if o.expr.ty == Type::Real => d.finite(&g.column(c)),
            // An empty text is read as null and copied as it is.
            Some(c) => {
                let raw =
                    format!("{}.{}", d.ident(&rule.sources[c.source].alias), d.ident(&format!("{}__raw", c.column)));
                format!("CASE WHEN {} IS NOT NULL OR {} = '' THEN {raw} END", g.column(c), d.trim(&raw))
            }
            None => match o.expr.ty {
                Type::String | Type::Long | Type::Bool => g.expr(&o.expr)?,
                // A number a correlation reads (a value_* type's field), not printed.
                Type::Real if time => g.expr(&o.expr)?,
                // Not a number JSON writes (NaN, infinity): null, as the engine's.
                Type::Real => d.finite(&g.expr(&o.expr)?),
                Type::Timespan => timespan_text(d, &g.expr(&o.expr)?),
                Type::DateTime => ticks_text(d, &g.expr(&o.expr)?),
                other => {
                    return Err(unsupported(
                        rule,
                        o.expr.span,
                        format!("the computed {other} output `{}`", o.name),
                        target,
                        "the engine prints it in Kusto's text form; output a column, or a string, long or bool",
                    ));
                }
            },
        };
        select.push(format!("  {e} AS {}", d.ident(&o.name)));
    }
    let from = |s: usize| {
        format!("{} AS {}", d.ident(&g.cte(&cte_name(&rule.sources[s].alias))), d.ident(&rule.sources[s].alias))
    };
    if opts.evidence {
        // `kind: leftanti`: the first source's record is the evidence.
        let sources = if rule.anti { 1 } else { rule.sources.len() };
        let at: Vec<String> = (0..sources)
            .map(|s| {
                let a = d.ident(&rule.sources[s].alias);
                format!("named_struct('i', {s}, 'f', {a}.{}, 'l', {a}.{})", d.ident(FILE), d.ident(LINE))
            })
            .collect();
        select.push(format!("  array({}) AS {}", at.join(", "), d.ident(EVIDENCE)));
    }
    if time {
        let t = match &rule.time {
            Some(t) => g.expr(t)?,
            None => "CAST(NULL AS BIGINT)".to_string(),
        };
        select.push(format!("  {t} AS {}", d.ident(TIME)));
    }
    let mut query = format!("SELECT\n{}\nFROM {}", select.join(",\n"), from(0));
    if rule.sources.len() == 2 {
        let mut on = Vec::new();
        for k in &rule.join {
            let (l, r) = (g.expr(&k.left)?, g.expr(&k.right)?);
            for (side, ty) in [(&k.left, k.left.ty), (&k.right, k.right.ty)] {
                if !matches!(ty, Type::String | Type::Long | Type::Real | Type::Bool | Type::DateTime | Type::Timespan)
                {
                    return Err(unsupported(
                        rule,
                        side.span,
                        format!("a {ty} join key"),
                        target,
                        "join keys compile for string, number, bool and time values",
                    ));
                }
            }
            on.push(format!("{l} = {r}"));
            // The engine never joins on an empty string key.
            if k.left.ty == Type::String {
                on.push(format!("{l} <> ''"));
            }
            if k.right.ty == Type::String {
                on.push(format!("{r} <> ''"));
            }
        }
        if rule.anti {
            // `kind: leftanti`: the first source's records with no record of
            // the second that joins and for which the mismatch holds.
            if let Some(m) = &rule.mismatch {
                on.push(g.expr(m)?);
            }
            let anti = match d {
                Dialect::DuckDb => "ANTI JOIN",
                Dialect::Spark => "LEFT ANTI JOIN",
            };
            query.push_str(&format!("\n{anti} {}\n  ON {}", from(1), on.join("\n  AND ")));
        } else {
            query.push_str(&format!("\nJOIN {}\n  ON {}", from(1), on.join("\n  AND ")));
            if let Some(m) = &rule.mismatch {
                query.push_str(&format!("\nWHERE {}", g.expr(m)?));
            }
        }
    }

    ctes.extend(source_ctes(&g));
    Ok(Query { ctes, select: query })
}

fn cte_name(alias: &str) -> String {
    format!("source_{alias}")
}

/// A path into a JSON column: `LocationDetails.city`, or keys after it,
/// `TargetResources[0].userPrincipalName`; the column (its path is in the
/// keys) and the keys.
fn json_ref(e: &TExpr) -> Option<(&ColumnRef, Vec<&String>)> {
    match &e.kind {
        TKind::Column(c) if !c.path.is_empty() => Some((c, c.path.iter().collect())),
        // Keys after a plain column only: a string a path reaches is not
        // decoded again by further keys, as the column's text is.
        TKind::Member { expr, path } => match &expr.kind {
            TKind::Column(c) if c.path.is_empty() => Some((c, path.iter().collect())),
            _ => None,
        },
        _ => None,
    }
}

struct Gen<'a> {
    rule: &'a CheckedRule,
    /// Starts the name of each table expression.
    prefix: &'a str,
    d: Dialect,
    target: Target,
    /// `now()` in ticks, as SQL.
    now: String,
    /// Per source, the columns its rows parse as IP addresses (`true`:
    /// IPv6), in first-use order: the IP functions read the parse.
    parsed: std::cell::RefCell<Vec<Vec<(String, bool)>>>,
}

impl Gen<'_> {
    /// The name of table expression `name`, prefixed.
    fn cte(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// `--data DIR`: every NDJSON record under DIR, the columns any source
    /// reads as text, plus `Type`. Hidden files and directories are skipped,
    /// as the engine skips them.
    fn records_cte(&self, dir: &std::path::Path, needed: &[Vec<Needed>]) -> Result<String, Diagnostic> {
        let d = self.d;
        let mut names: Vec<&str> = vec!["Type"];
        for n in needed.iter().flatten() {
            if let Some(prev) = names.iter().find(|p| p.eq_ignore_ascii_case(&n.name)) {
                if *prev != n.name {
                    return Err(unsupported(
                        self.rule,
                        self.rule.doc.title.span,
                        format!("the columns `{prev}` and `{}`", n.name),
                        self.target,
                        "DuckDB's JSON reader matches names case-insensitively, so it cannot read both",
                    ));
                }
                continue;
            }
            names.push(&n.name);
        }
        let columns: Vec<String> = names.iter().map(|n| format!("{}: 'VARCHAR'", d.string(n))).collect();
        let dir = dir.to_string_lossy();
        let dir = dir.trim_end_matches('/');
        let prefix = format!("{dir}/").chars().count() + 1;
        Ok(format!(
            "{} AS (\n  SELECT * FROM read_ndjson({}, columns = {{{}}}, ignore_errors = true, filename = '__file')\n  WHERE NOT (substr(\"__file\", {prefix}) LIKE '.%' OR substr(\"__file\", {prefix}) LIKE '%/.%')\n)",
            d.ident(&self.cte("__records")),
            d.string(&format!("{dir}/**")),
            columns.join(", ")
        ))
    }

    /// One table's rows as the source's typed columns.
    fn table_select(&self, table: &str, needed: &[Needed], opts: &Options) -> String {
        let d = self.d;
        let def = opts.catalog.get(table);
        let text = d.text_type();
        let mut raw_cols = Vec::new();
        let mut typed = Vec::new();
        for n in needed {
            let has = def.is_some_and(|t| t.column(&n.name).is_some());
            let q = d.ident(&n.name);
            let src = if has { format!("CAST({q} AS {text})") } else { format!("CAST(NULL AS {text})") };
            raw_cols.push(format!("{src} AS {q}"));
            let t = format!("{}.{q}", d.ident("t"));
            match n.ty {
                Type::String => typed.push(format!("coalesce({t}, '') AS {q}")),
                Type::Long => typed.push(format!("{} AS {q}", d.long_from_text(&t))),
                // A number too large for a double is a bad value, not infinity;
                // the words `inf` and `NaN` are the values they name.
                Type::Real => typed.push(format!(
                    "CASE WHEN {} AND abs({r}) = CAST('inf' AS DOUBLE) THEN NULL ELSE {r} END AS {q}",
                    d.regex_match(&t, &d.string("[0-9]")),
                    r = d.real_from_text(&t)
                )),
                // JSON as text (an object's text, or a string's), NULL when absent.
                Type::Dynamic => typed.push(format!("{t} AS {q}")),
                Type::Bool => typed.push(format!(
                    "CASE lower({}) WHEN 'true' THEN TRUE WHEN 'false' THEN FALSE WHEN '1' THEN TRUE WHEN '0' THEN FALSE END AS {q}",
                    d.trim(&t)
                )),
                Type::DateTime => {
                    let re = d.string(DATETIME_RE);
                    let part = |p: &str| d.ident(&format!("{}__{p}", n.name));
                    for (i, p) in DATETIME_PARTS.iter().enumerate() {
                        let g = format!("regexp_extract({src}, {re}, {})", i + 1);
                        let v = match *p {
                            "frac" => format!("CAST(rpad(substr({g}, 1, 7), 7, '0') AS BIGINT)"),
                            _ => format!("CAST(NULLIF({g}, '') AS BIGINT)"),
                        };
                        raw_cols.push(format!("{v} AS {}", part(p)));
                    }
                    let g = format!("regexp_extract({src}, {re}, 8)");
                    raw_cols.push(format!("substr({g}, 1, 1) AS {}", part("sign")));
                    raw_cols.push(format!("CAST(NULLIF(substr({g}, 2, 2), '') AS BIGINT) AS {}", part("oh")));
                    raw_cols.push(format!(
                        "CAST(NULLIF(CASE WHEN length({g}) > 3 THEN right({g}, 2) ELSE '' END, '') AS BIGINT) AS {}",
                        part("om")
                    ));
                    typed.push(format!("{} AS {q}", self.ticks(&n.name)));
                }
                _ => unreachable!("column type {:?} is rejected before", n.ty),
            }
            if n.raw {
                typed.push(format!("{t} AS {}", d.ident(&format!("{}__raw", n.name))));
            }
        }
        if opts.evidence {
            for c in [FILE, LINE] {
                let q = d.ident(c);
                raw_cols.push(q.clone());
                typed.push(format!("{}.{q} AS {q}", d.ident("t")));
            }
        }
        let from = if opts.data.is_some() {
            format!("{} WHERE {} = {}", d.ident(&self.cte("__records")), d.ident("Type"), d.string(table))
        } else {
            d.ident(table)
        };
        format!(
            "    SELECT {}\n    FROM (SELECT {} FROM {from}) AS {}",
            typed.join(",\n      "),
            raw_cols.join(",\n        "),
            d.ident("t")
        )
    }

    /// `tolong` of a string: only integer text converts (`str::parse::<i64>`
    /// after trimming).
    fn tolong(&self, t: &str) -> String {
        let x = self.d.trim(t);
        format!(
            "CASE WHEN {} THEN TRY_CAST({x} AS BIGINT) END",
            self.d.regex_match(&x, &self.d.string("^[+-]?[0-9]+$"))
        )
    }

    /// Ticks since the epoch from the parts of a datetime column, or NULL
    /// when the text is not a valid timestamp: days from the civil date
    /// (Howard Hinnant's algorithm, shifted 400 years so every division is
    /// of non-negative numbers), plus the time of day, plus all 7 fraction
    /// digits, minus the offset.
    fn ticks(&self, column: &str) -> String {
        let d = self.d;
        let p = |part: &str| format!("{}.{}", d.ident("t"), d.ident(&format!("{column}__{part}")));
        let (y, mo, day) = (p("y"), p("mo"), p("d"));
        let h = format!("coalesce({}, 0)", p("h"));
        let mi = format!("coalesce({}, 0)", p("mi"));
        let s = format!("coalesce({}, 0)", p("s"));
        let oh = format!("coalesce({}, 0)", p("oh"));
        let om = format!("coalesce({}, 0)", p("om"));
        let y2 = format!("({y} - CASE WHEN {mo} <= 2 THEN 1 ELSE 0 END + 400)");
        let yoe = format!("({y2} % 400)");
        let doy = format!("({} + {day} - 1)", d.int_div(&format!("(153 * (({mo} + 9) % 12) + 2)"), "5"));
        let doe = format!("({yoe} * 365 + {} - {} + {doy})", d.int_div(&yoe, "4"), d.int_div(&yoe, "100"));
        let days = format!("({} * 146097 + {doe} - 719468 - 146097)", d.int_div(&y2, "400"));
        let dim = format!(
            "CASE WHEN {mo} IN (4, 6, 9, 11) THEN 30 WHEN {mo} <> 2 THEN 31 WHEN ({y} % 4 = 0 AND {y} % 100 <> 0) OR {y} % 400 = 0 THEN 29 ELSE 28 END"
        );
        format!(
            "CASE WHEN {y} IS NOT NULL AND {mo} BETWEEN 1 AND 12 AND {day} BETWEEN 1 AND {dim} AND {h} <= 23 AND {mi} <= 59 AND {s} <= 60\n        THEN {days} * 864000000000 + ({h} * 3600 + {mi} * 60 + {s}) * 10000000 + {}\n          - CASE {} WHEN '+' THEN 1 WHEN '-' THEN -1 ELSE 0 END * ({oh} * 3600 + {om} * 60) * 10000000 END",
            p("frac"),
            p("sign")
        )
    }

    fn column(&self, c: &ColumnRef) -> String {
        format!("{}.{}", self.d.ident(&self.rule.sources[c.source].alias), self.d.ident(&c.column))
    }

    /// The value a path into a JSON column reaches, as text (a string's
    /// contents, a number's or an object's JSON), NULL when the text is no
    /// JSON, the path reaches nothing, or JSON `null`: `walk_path`'s value
    /// as `tostring` prints it. Keys are names or array indexes.
    fn json_at(&self, e: &TExpr) -> Result<String, Diagnostic> {
        let (c, keys) = json_ref(e).expect("a path into a column");
        let mut path = String::from("$");
        for key in keys {
            if !key.is_empty() && key.bytes().all(|b| b.is_ascii_digit()) && key.len() < 10 {
                path.push_str(&format!("[{key}]"));
            } else if key.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            {
                path.push_str(&format!(".{key}"));
            } else {
                return Err(self.no(
                    e,
                    format!("the JSON path key `{key}`"),
                    "keys compile when they are names (letters, digits, `_`) or array indexes from 0",
                ));
            }
        }
        let x = self.column(c);
        let path = self.d.string(&path);
        Ok(match self.d {
            Dialect::DuckDb => format!("CASE WHEN json_valid({x}) THEN json_extract_string({x}, {path}) END"),
            Dialect::Spark => format!("get_json_object({x}, {path})"),
        })
    }

    /// An IP function's address argument: a string literal is parsed here;
    /// a column is parsed once per row, in stages of its source
    /// ([`Gen::parse_stages`]); anything else would repeat the parse in
    /// every place it is used, and is refused.
    fn ip_arg(&self, e: &TExpr, v6: bool) -> Result<ip::Parsed, Diagnostic> {
        match &e.kind {
            TKind::Literal(Literal::String(s)) if v6 => Ok(ip::v6_literal(self.d, s)),
            TKind::Literal(Literal::String(s)) => Ok(ip::v4_literal(s)),
            TKind::Column(c) if c.path.is_empty() && e.ty == Type::String => {
                let mut parsed = self.parsed.borrow_mut();
                let list = &mut parsed[c.source];
                if !list.iter().any(|(n, six)| *n == c.column && *six == v6) {
                    list.push((c.column.clone(), v6));
                }
                let alias = &self.rule.sources[c.source].alias;
                Ok(if v6 { ip::v6_column(self.d, alias, &c.column) } else { ip::v4_column(self.d, alias, &c.column) })
            }
            _ => Err(self.no(
                e,
                "an address that is neither a column nor a string literal",
                "the SQL parses a column's addresses once per row; output the address as a column of its own rule, or write it as a literal",
            )),
        }
    }

    /// The stages of columns that parse source `s`'s IP address columns,
    /// the stages of every column side by side.
    fn parse_stages(&self, s: usize) -> Vec<Vec<(String, String)>> {
        let mut out: Vec<Vec<(String, String)>> = Vec::new();
        for (column, v6) in &self.parsed.borrow()[s] {
            let stages = if *v6 { ip::v6_stages(self.d, column) } else { ip::v4_stages(self.d, column) };
            for (k, stage) in stages.into_iter().enumerate() {
                if out.len() <= k {
                    out.push(Vec::new());
                }
                out[k].extend(stage);
            }
        }
        out
    }

    fn no(&self, e: &TExpr, construct: impl std::fmt::Display, why: impl std::fmt::Display) -> Diagnostic {
        unsupported(self.rule, e.span, construct, self.target, why)
    }

    /// `test`, a comparison of `sides` (each expression and its SQL), null
    /// when a real side is NaN and none is null: the engine's comparisons
    /// of NaN are null, where SQL orders NaN above every number and equal
    /// to itself.
    fn nan_is_null(&self, sides: &[(&TExpr, &String)], test: String) -> String {
        let nan: Vec<String> =
            sides.iter().filter(|(e, _)| e.ty == Type::Real).map(|(_, s)| format!("isnan({s})")).collect();
        if nan.is_empty() {
            return test;
        }
        // A null side keeps `test`'s own answer: the engine's null rules come first.
        let present: Vec<String> = sides.iter().map(|(_, s)| format!("{s} IS NOT NULL")).collect();
        format!("CASE WHEN ({}) AND {} THEN NULL ELSE {test} END", nan.join(" OR "), present.join(" AND "))
    }

    fn expr(&self, e: &TExpr) -> Result<String, Diagnostic> {
        let d = self.d;
        Ok(match &e.kind {
            TKind::Literal(l) => self.literal(e, l)?,
            TKind::Column(c) if c.path.is_empty() => self.column(c),
            TKind::Column(_) => self.json_at(e)?,
            TKind::Member { .. } if self.json_path(e) => self.json_at(e)?,
            TKind::Unary(UnaryOp::Not, x) => format!("(NOT {})", self.expr(x)?),
            TKind::Unary(UnaryOp::Neg, x) => match x.ty {
                Type::Long | Type::Real | Type::Timespan => format!("(- {})", self.expr(x)?),
                other => return Err(self.no(e, format!("negating a {other}"), "only numbers and timespans negate")),
            },
            TKind::Binary(BinaryOp::And, l, r) => format!("({} AND {})", self.expr(l)?, self.expr(r)?),
            TKind::Binary(BinaryOp::Or, l, r) => format!("({} OR {})", self.expr(l)?, self.expr(r)?),
            TKind::Binary(
                op @ (BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge),
                l,
                r,
            ) => {
                let equality = matches!(op, BinaryOp::Eq | BinaryOp::Ne);
                // Kusto's `==` of a null and a non-null value is false, `!=`
                // true; of two nulls, null. SQL's `=` and `<>` are null for
                // both: a side that may be null is tested for it.
                let unequal = if *op == BinaryOp::Ne { "TRUE" } else { "FALSE" };
                match (l.ty == Type::Null, r.ty == Type::Null) {
                    (true, true) => return Ok("CAST(NULL AS BOOLEAN)".to_string()),
                    (true, false) | (false, true) if equality => {
                        let other = if l.ty == Type::Null { r } else { l };
                        if !self.nullable(other) {
                            self.expr(other)?;
                            return Ok(unequal.to_string());
                        }
                        return Ok(format!("CASE WHEN {} IS NULL THEN NULL ELSE {unequal} END", self.expr(other)?));
                    }
                    (true, false) | (false, true) => return Ok("CAST(NULL AS BOOLEAN)".to_string()),
                    (false, false) => {}
                }
                self.comparable(e, l, r)?;
                let sym = match op {
                    BinaryOp::Eq => "=",
                    BinaryOp::Ne => "<>",
                    BinaryOp::Lt => "<",
                    BinaryOp::Le => "<=",
                    BinaryOp::Gt => ">",
                    _ => ">=",
                };
                let (a, b) = (self.expr(l)?, self.expr(r)?);
                let test = format!("({a} {sym} {b})");
                let test = match (equality, self.nullable(l), self.nullable(r)) {
                    (false, ..) | (true, false, false) => test,
                    (true, true, true) => {
                        format!("CASE WHEN {a} IS NULL AND {b} IS NULL THEN NULL ELSE coalesce({test}, {unequal}) END")
                    }
                    (true, ..) => format!("coalesce({test}, {unequal})"),
                };
                self.nan_is_null(&[(l, &a), (r, &b)], test)
            }
            TKind::Binary(op @ (BinaryOp::EqCi | BinaryOp::NeCi), l, r) => {
                // As `==` with a null: strings are never null here, so only
                // the `null` literal is, and it is unequal to the string.
                match (l.ty == Type::Null, r.ty == Type::Null) {
                    (true, true) => return Ok("CAST(NULL AS BOOLEAN)".to_string()),
                    (true, false) | (false, true) => {
                        self.text(if l.ty == Type::Null { r } else { l })?;
                        return Ok(if *op == BinaryOp::NeCi { "TRUE" } else { "FALSE" }.to_string());
                    }
                    (false, false) => {}
                }
                // A string `coalesce` may be null: unequal to a string, as `==`.
                let side = |x: &TExpr| if self.nullable(x) { self.expr(x) } else { self.text(x) };
                let (a, b) = (self.lower(l, side(l)?), self.lower(r, side(r)?));
                let test = format!("({a} {} {b})", if *op == BinaryOp::EqCi { "=" } else { "<>" });
                let unequal = if *op == BinaryOp::NeCi { "TRUE" } else { "FALSE" };
                match (self.nullable(l), self.nullable(r)) {
                    (false, false) => test,
                    (true, true) => {
                        format!("CASE WHEN {a} IS NULL AND {b} IS NULL THEN NULL ELSE coalesce({test}, {unequal}) END")
                    }
                    _ => format!("coalesce({test}, {unequal})"),
                }
            }
            TKind::Binary(BinaryOp::Str { op, negated, case_sensitive }, l, r) => {
                let hay = self.text(l)?;
                let hay = if *case_sensitive { hay } else { self.lower(l, hay) };
                let test = match op {
                    StrOp::Has | StrOp::HasPrefix | StrOp::HasSuffix => {
                        let TKind::Literal(Literal::String(needle)) = &r.kind else {
                            return Err(self.no(
                                r,
                                format!(
                                    "`{}` with a computed right side",
                                    BinaryOp::Str { op: *op, negated: false, case_sensitive: false }.symbol()
                                ),
                                "the term must be a string literal to become a regex",
                            ));
                        };
                        let needle = if *case_sensitive { needle.clone() } else { needle.to_lowercase() };
                        self.term(&hay, &needle, *op)
                    }
                    _ => {
                        let needle = self.text(r)?;
                        let needle = if *case_sensitive { needle } else { self.lower(r, needle) };
                        match op {
                            StrOp::Contains => format!("(instr({hay}, {needle}) > 0)"),
                            StrOp::StartsWith => format!("(left({hay}, length({needle})) = {needle})"),
                            _ => format!("(right({hay}, length({needle})) = {needle})"),
                        }
                    }
                };
                if *negated { format!("(NOT {test})") } else { test }
            }
            TKind::Binary(op, l, r) => self.arith(e, *op, l, r)?,
            TKind::Regex { expr, pattern, .. } => {
                let (re, _) = regex_sql::translate(pattern, d)
                    .map_err(|why| self.no(e, format!("the regex `{pattern}`"), why))?;
                let s = self.text(expr)?;
                d.regex_match(&s, &d.string(&re))
            }
            TKind::Between { expr, low, high, negated } => {
                if [expr, low, high].iter().any(|x| x.ty == Type::Null) {
                    return Ok("CAST(NULL AS BOOLEAN)".to_string());
                }
                // Kusto's `T between (datetime(2026-07-16) .. 3d)`: the upper
                // bound is the lower plus the timespan.
                let span_high = high.ty == Type::Timespan && expr.ty == Type::DateTime && low.ty == Type::DateTime;
                self.comparable(e, expr, low)?;
                if !span_high {
                    self.comparable(e, expr, high)?;
                }
                let (x, lo) = (self.expr(expr)?, self.expr(low)?);
                let hi = match (&low.kind, &high.kind) {
                    (TKind::Literal(Literal::DateTime(a)), TKind::Literal(Literal::Timespan(b))) if span_high => {
                        match a.checked_add(*b) {
                            Some(t) => t.to_string(),
                            // The engine's bound overflows: null.
                            None => return Ok("CAST(NULL AS BOOLEAN)".to_string()),
                        }
                    }
                    _ if span_high => format!("({lo} + {})", self.expr(high)?),
                    _ => self.expr(high)?,
                };
                let literal = |t: &TExpr| matches!(t.kind, TKind::Literal(_));
                let test = if literal(low) && literal(high) {
                    format!("({x} >= {lo} AND {x} <= {hi})")
                } else {
                    // A null bound makes the engine's answer null, not false.
                    format!("CASE WHEN {lo} IS NULL OR {hi} IS NULL THEN NULL ELSE ({x} >= {lo} AND {x} <= {hi}) END")
                };
                let test = if *negated { format!("(NOT {test})") } else { test };
                self.nan_is_null(&[(expr, &x), (low, &lo), (high, &hi)], test)
            }
            TKind::In { expr, op, list } => {
                let mut items: Vec<&TExpr> = Vec::new();
                for i in list {
                    match &i.kind {
                        TKind::List(inner) => items.extend(inner.iter()),
                        _ => items.push(i),
                    }
                }
                for i in &items {
                    let literal = |x: &TExpr| matches!(x.kind, TKind::Literal(ref l) if *l != Literal::Null);
                    let negative = matches!(&i.kind, TKind::Unary(UnaryOp::Neg, x) if literal(x));
                    if !literal(i) && !negative {
                        return Err(self.no(
                            i,
                            "a list item that is not a literal",
                            "`in` lists compile when every item is a non-null literal",
                        ));
                    }
                }
                match op {
                    InOp::HasAny | InOp::HasAll => {
                        let hay = self.text(expr)?;
                        let hay = self.lower(expr, hay);
                        let tests: Vec<String> = items
                            .iter()
                            .map(|i| match &i.kind {
                                TKind::Literal(Literal::String(s)) => Ok(self.has(&hay, &s.to_lowercase())),
                                _ => Err(self.no(
                                    i,
                                    "a `has_any` term that is not a string",
                                    "write the terms as strings",
                                )),
                            })
                            .collect::<Result<_, _>>()?;
                        let (join, none) = if *op == InOp::HasAll { (" AND ", "TRUE") } else { (" OR ", "FALSE") };
                        if tests.is_empty() { none.to_string() } else { format!("({})", tests.join(join)) }
                    }
                    InOp::In { negated, case_insensitive } => {
                        let (x, values) = if *case_insensitive {
                            let x = self.text(expr)?;
                            let values: Vec<String> = items
                                .iter()
                                .map(|i| match &i.kind {
                                    TKind::Literal(Literal::String(s)) => Ok(d.string(&s.to_lowercase())),
                                    _ => Err(self.no(
                                        i,
                                        "an `in~` item that is not a string",
                                        "write the items as strings",
                                    )),
                                })
                                .collect::<Result<_, _>>()?;
                            (self.lower(expr, x), values)
                        } else {
                            for i in &items {
                                self.comparable(i, expr, i)?;
                            }
                            (self.expr(expr)?, items.iter().map(|i| self.expr(i)).collect::<Result<_, _>>()?)
                        };
                        let test = format!("({x} {}IN ({}))", if *negated { "NOT " } else { "" }, values.join(", "));
                        // `in` is `==` with one of the items: a null value
                        // (the items are never null) is in none of them.
                        if self.nullable(expr) {
                            format!("coalesce({test}, {})", if *negated { "TRUE" } else { "FALSE" })
                        } else {
                            test
                        }
                    }
                }
            }
            TKind::Call(func, args) => self.call(e, *func, args)?,
            TKind::Ipv4Ranges { expr, ranges, .. } => ip::v4_is_in_spans(&self.ip_arg(expr, false)?, ranges.spans()),
            TKind::List(_) => return Err(self.no(e, "a list", "lists compile only on the right of `in`")),
            TKind::Member { .. } => {
                return Err(self.no(
                    e,
                    "keys into a computed dynamic value",
                    "paths into JSON are not compiled to SQL yet",
                ));
            }
            TKind::Any { .. } | TKind::Element => {
                return Err(self.no(e, "a Sigma field read through JSON arrays", super::kql::ANY_WHY));
            }
        })
    }

    /// Kusto's `has`: `needle` (already lowercased when case-insensitive)
    /// as a whole term of `hay`: bounded by the text's ends or by characters
    /// that are not letters or digits, where the needle itself starts or
    /// ends with one.
    fn has(&self, hay: &str, needle: &str) -> String {
        self.term(hay, needle, StrOp::Has)
    }

    /// `has`, `hasprefix` or `hassuffix` as a regex: the needle bounded by
    /// a non-alphanumeric character (or the text's end) where the term's
    /// edge must be, as the engine's `search::has_term_in`.
    fn term(&self, hay: &str, needle: &str, op: StrOp) -> String {
        if needle.is_empty() {
            return "FALSE".to_string();
        }
        let alnum = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
        const EDGE: &str = r"[^\p{L}\p{N}]";
        let (start, end) = match op {
            StrOp::HasPrefix => (true, false),
            StrOp::HasSuffix => (false, true),
            _ => (true, true),
        };
        let mut pattern = String::new();
        if start && alnum(needle.chars().next()) {
            pattern.push_str(&format!("(^|{EDGE})"));
        }
        pattern.push_str(&regex::escape(needle));
        if end && alnum(needle.chars().next_back()) {
            pattern.push_str(&format!("($|{EDGE})"));
        }
        self.d.regex_match(hay, &self.d.string(&pattern))
    }

    /// `lower(x)`, with literals lowered here as the engine lowers them.
    fn lower(&self, e: &TExpr, sql: String) -> String {
        match &e.kind {
            TKind::Literal(Literal::String(s)) => self.d.string(&s.to_lowercase()),
            _ => format!("lower({sql})"),
        }
    }

    /// A string operand (never NULL: strings are `''` when absent).
    fn text(&self, e: &TExpr) -> Result<String, Diagnostic> {
        match e.ty {
            Type::String if self.nullable(e) => Ok(format!("coalesce({}, '')", self.expr(e)?)),
            Type::String => self.expr(e),
            Type::Long => Ok(format!("coalesce(CAST({} AS {}), '')", self.expr(e)?, self.d.text_type())),
            Type::Dynamic if self.json_path(e) => Ok(format!("coalesce({}, '')", self.expr(e)?)),
            other => Err(self.no(
                e,
                format!("a {other} used as text"),
                "convert it to a string in the rule, or compare it as a {other}",
            )),
        }
    }

    /// Whether `e` is a path into a JSON column (its SQL is the text the
    /// path reaches, [`Gen::json_at`]).
    fn json_path(&self, e: &TExpr) -> bool {
        json_ref(e).is_some()
    }

    /// Whether `e` may be NULL in SQL: strings never are (`''` when
    /// absent), nor are literals other than `null`.
    fn nullable(&self, e: &TExpr) -> bool {
        match &e.kind {
            TKind::Literal(l) => *l == Literal::Null,
            // The one string that may be null: `coalesce` of empty strings.
            TKind::Call(Func::Coalesce, _) => true,
            _ => e.ty != Type::String,
        }
    }

    fn comparable(&self, at: &TExpr, l: &TExpr, r: &TExpr) -> Result<(), Diagnostic> {
        let ok =
            l.ty == r.ty && !matches!(l.ty, Type::Dynamic | Type::List) || (l.ty.is_numeric() && r.ty.is_numeric());
        if ok {
            Ok(())
        } else {
            Err(self.no(
                at,
                format!("comparing a {} with a {}", l.ty, r.ty),
                "the engine compares these per record; convert one side in the rule",
            ))
        }
    }

    fn literal(&self, e: &TExpr, l: &Literal) -> Result<String, Diagnostic> {
        Ok(match l {
            Literal::Null => "NULL".to_string(),
            Literal::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
            Literal::Long(i64::MIN) => "(-9223372036854775807 - 1)".to_string(),
            Literal::Long(n) | Literal::DateTime(n) | Literal::Timespan(n) => n.to_string(),
            Literal::Real(f) if f.is_finite() => format!("CAST({f:?} AS DOUBLE)"),
            Literal::Real(_) => return Err(self.no(e, "a non-finite real", "SQL has no portable literal for it")),
            Literal::String(s) => self.d.string(s),
        })
    }

    fn arith(&self, e: &TExpr, op: BinaryOp, l: &TExpr, r: &TExpr) -> Result<String, Diagnostic> {
        use Type::*;
        let sym = match op {
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Rem => "%",
            _ => unreachable!("{op:?} is not arithmetic"),
        };
        let (a, b) = (self.expr(l)?, self.expr(r)?);
        let ints = |x: Type, y: Type| matches!((x, y), (Long, Long));
        // Long arithmetic that overflows is null in the engine (checked), an
        // error in SQL: `try` (DuckDB) and `try_add` and its kin (Spark) are null.
        let checked = |sym: &str| match (self.d, sym) {
            (Dialect::DuckDb, _) => format!("try({a} {sym} {b})"),
            (Dialect::Spark, "+") => format!("try_add({a}, {b})"),
            (Dialect::Spark, "-") => format!("try_subtract({a}, {b})"),
            (Dialect::Spark, _) => format!("try_multiply({a}, {b})"),
        };
        Ok(match (op, l.ty, r.ty) {
            (BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul, x, y) if ints(x, y) => checked(sym),
            (BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul, x, y) if x.is_numeric() && y.is_numeric() => {
                format!("({a} {sym} {b})")
            }
            (BinaryOp::Div, x, y) if ints(x, y) => {
                format!("CASE WHEN {b} = 0 THEN NULL ELSE {} END", self.d.int_div(&a, &b))
            }
            // Kusto's modulo is never negative (0 <= N % D < abs(D)); SQL's takes the dividend's sign.
            // Without `abs`, which overflows on the least long; the least
            // long `% -1` overflows in the engine (null).
            (BinaryOp::Rem, x, y) if ints(x, y) => format!(
                "CASE WHEN {b} = 0 OR ({b} = -1 AND {a} = (-9223372036854775807 - 1)) THEN NULL \
                 WHEN {a} % {b} < 0 AND {b} < 0 THEN {a} % {b} - {b} WHEN {a} % {b} < 0 THEN {a} % {b} + {b} ELSE {a} % {b} END"
            ),
            // IEEE, as the engine's `f64`: a zero divisor gives an infinity
            // of the signs' product (SQL's `/` is null or an error), or NaN.
            (BinaryOp::Div, x, y) if x.is_numeric() && y.is_numeric() => {
                let (a, b) = (format!("CAST({a} AS DOUBLE)"), format!("CAST({b} AS DOUBLE)"));
                let negative_zero = format!("CAST({b} AS {}) LIKE '-%'", self.d.text_type());
                format!(
                    "CASE WHEN {a} IS NULL OR {b} IS NULL THEN NULL WHEN {b} = 0 THEN CASE WHEN isnan({a}) OR {a} = 0 THEN {NAN} \
                     WHEN ({a} > 0) <> ({negative_zero}) THEN {INF} ELSE -{INF} END ELSE {a} / {b} END"
                )
            }
            // `rem_euclid`: never negative (`r + abs(b)` when `a % b` is);
            // NaN for a zero divisor or an infinite dividend.
            (BinaryOp::Rem, x, y) if x.is_numeric() && y.is_numeric() => {
                let (a, b) = (format!("CAST({a} AS DOUBLE)"), format!("CAST({b} AS DOUBLE)"));
                let r = format!("({a} % {b})");
                format!(
                    "CASE WHEN {a} IS NULL OR {b} IS NULL THEN NULL WHEN {b} = 0 THEN {NAN} WHEN {r} < 0 THEN {r} + abs({b}) ELSE {r} END"
                )
            }
            (BinaryOp::Sub, DateTime, DateTime)
            | (BinaryOp::Add | BinaryOp::Sub, DateTime | Timespan, Timespan)
            | (BinaryOp::Add, Timespan, DateTime) => checked(sym),
            (BinaryOp::Mul, Timespan, Long) | (BinaryOp::Mul, Long, Timespan) => checked("*"),
            (BinaryOp::Div, Timespan, Long) => {
                format!("CASE WHEN {b} = 0 THEN NULL ELSE {} END", self.d.int_div(&a, &b))
            }
            _ => {
                return Err(self.no(
                    e,
                    format!("`{}` on a {} and a {}", op.symbol(), l.ty, r.ty),
                    "this arithmetic rounds or fails differently in SQL",
                ));
            }
        })
    }

    fn call(&self, e: &TExpr, func: Func, args: &[TExpr]) -> Result<String, Diagnostic> {
        let d = self.d;
        let arg = |i: usize| self.expr(&args[i]);
        let ty = |i: usize| args[i].ty;
        Ok(match func {
            Func::Ago => format!("({} - {})", self.now, arg(0)?),
            Func::Now if args.is_empty() => self.now.clone(),
            Func::Now => format!("({} + {})", self.now, arg(0)?),
            Func::IsEmpty | Func::IsNotEmpty => {
                let empty = match ty(0) {
                    Type::String => format!("({} = '')", self.text(&args[0])?),
                    Type::Null => "TRUE".to_string(),
                    Type::Long | Type::Real | Type::Bool | Type::DateTime | Type::Timespan => {
                        format!("({} IS NULL)", arg(0)?)
                    }
                    Type::Dynamic if self.json_path(&args[0]) => format!("(coalesce({}, '') = '')", arg(0)?),
                    other => return Err(self.no(e, format!("`{}` of a {other}", func.name()), "not compiled to SQL")),
                };
                if func == Func::IsEmpty { empty } else { format!("(NOT {empty})") }
            }
            Func::IsNull | Func::IsNotNull => {
                let null = match ty(0) {
                    Type::String if self.nullable(&args[0]) => format!("({} IS NULL)", arg(0)?),
                    Type::String => "FALSE".to_string(),
                    Type::Null => "TRUE".to_string(),
                    Type::Long | Type::Real | Type::Bool | Type::DateTime | Type::Timespan => {
                        format!("({} IS NULL)", arg(0)?)
                    }
                    Type::Dynamic if self.json_path(&args[0]) => format!("({} IS NULL)", arg(0)?),
                    other => return Err(self.no(e, format!("`{}` of a {other}", func.name()), "not compiled to SQL")),
                };
                if func == Func::IsNull { null } else { format!("(NOT {null})") }
            }
            Func::ToLower => format!("lower({})", self.text(&args[0])?),
            // Rust's `to_uppercase` writes `ß` as `SS`, as Spark (Java) does;
            // DuckDB's `upper` writes `ẞ`.
            Func::ToUpper => match d {
                Dialect::DuckDb => format!("upper(replace({}, 'ß', 'SS'))", self.text(&args[0])?),
                Dialect::Spark => format!("upper({})", self.text(&args[0])?),
            },
            Func::Strlen => format!("length({})", self.text(&args[0])?),
            Func::ToString => match ty(0) {
                Type::String | Type::Long | Type::Dynamic => self.text(&args[0])?,
                Type::Bool => format!("CASE {} WHEN TRUE THEN 'true' WHEN FALSE THEN 'false' ELSE '' END", arg(0)?),
                other => {
                    return Err(self.no(
                        e,
                        format!("`tostring` of a {other}"),
                        "the engine prints it in Kusto's text form",
                    ));
                }
            },
            Func::ToLong | Func::ToInt => match ty(0) {
                Type::Long | Type::DateTime | Type::Timespan => arg(0)?,
                Type::String => self.tolong(&arg(0)?),
                Type::Bool => format!("CASE {} WHEN TRUE THEN 1 WHEN FALSE THEN 0 END", arg(0)?),
                other => {
                    return Err(self.no(e, format!("`{}` of a {other}", func.name()), "it rounds differently in SQL"));
                }
            },
            Func::ToReal | Func::ToDouble => match ty(0) {
                Type::Real => arg(0)?,
                Type::Long => format!("CAST({} AS DOUBLE)", arg(0)?),
                Type::Bool => format!("CASE {} WHEN TRUE THEN 1.0 WHEN FALSE THEN 0.0 END", arg(0)?),
                // Only what Rust's `f64` parse reads (no `1_000`, no hex), after trimming.
                Type::String => d.real_from_text(&arg(0)?),
                other => {
                    return Err(self.no(e, format!("`{}` of a {other}", func.name()), "not compiled to SQL"));
                }
            },
            Func::ToDateTime if ty(0) == Type::DateTime => arg(0)?,
            // `extract(regex, group, text)`: the group's text, `''` when the
            // regex does not match or the group does not take part.
            Func::Extract => {
                let TKind::Literal(Literal::String(pattern)) = &args[0].kind else {
                    return Err(self.no(&args[0], "a computed regex", "write the regex as a string literal"));
                };
                let (re, groups) = regex_sql::translate(pattern, d)
                    .map_err(|why| self.no(&args[0], format!("the regex `{pattern}`"), why))?;
                let TKind::Literal(Literal::Long(group)) = args[1].kind else {
                    return Err(self.no(&args[1], "a computed capture group", "write the group as a number"));
                };
                let text = self.text(&args[2])?;
                match usize::try_from(group) {
                    Ok(g) if g <= groups => format!("regexp_extract({text}, {}, {g})", d.string(&re)),
                    // No such group: the engine's value is always empty.
                    _ => "''".to_string(),
                }
            }
            // The first argument that is not empty: strings are never NULL
            // here (`''` when absent), other values are NULL when empty.
            Func::Coalesce => {
                if let Some(a) = args.iter().find(|a| a.ty != ty(0) && a.ty != Type::Null) {
                    return Err(self.no(
                        a,
                        format!("`coalesce` of a {} and a {}", ty(0), a.ty),
                        "the engine returns whichever value comes first, of either type; convert them to one type",
                    ));
                }
                match ty(0) {
                    Type::String => {
                        let parts = args.iter().map(|a| self.text(a)).collect::<Result<Vec<_>, _>>()?;
                        let whens: Vec<String> = parts.iter().map(|p| format!("WHEN {p} <> '' THEN {p}")).collect();
                        // All empty: null, as the engine's (a null string, unlike `''`).
                        format!("CASE {} END", whens.join(" "))
                    }
                    Type::Long | Type::Real | Type::Bool | Type::DateTime | Type::Timespan | Type::Null => {
                        let parts = args.iter().map(|a| self.expr(a)).collect::<Result<Vec<_>, _>>()?;
                        format!("coalesce({})", parts.join(", "))
                    }
                    other => return Err(self.no(e, format!("`coalesce` of a {other}"), "not compiled to SQL")),
                }
            }
            Func::ParseIpv4 => ip::v4_masked(&self.ip_arg(&args[0], false)?),
            Func::Ipv4IsPrivate => ip::v4_is_private(&self.ip_arg(&args[0], false)?),
            Func::Ipv4IsInRange => ip::v4_is_in_range(&self.ip_arg(&args[0], false)?, &self.ip_arg(&args[1], false)?),
            Func::Ipv4IsMatch | Func::Ipv4Compare | Func::Ipv6IsMatch | Func::Ipv6Compare => {
                let v6 = matches!(func, Func::Ipv6IsMatch | Func::Ipv6Compare);
                let (a, b) = (self.ip_arg(&args[0], v6)?, self.ip_arg(&args[1], v6)?);
                let prefix = match args.get(2) {
                    Some(p) if p.ty == Type::Long || p.ty == Type::Null => Some(self.expr(p)?),
                    Some(p) => return Err(self.no(p, format!("a {} prefix", p.ty), "write the prefix as a long")),
                    None => None,
                };
                let compare = matches!(func, Func::Ipv4Compare | Func::Ipv6Compare);
                if !v6 {
                    ip::v4_match(&a, &b, prefix.as_deref(), compare)
                } else {
                    ip::v6_match(d, &a, &b, prefix.as_deref(), compare)
                }
            }
            Func::Strcat => {
                let parts = args.iter().map(|a| self.text(a)).collect::<Result<Vec<_>, _>>()?;
                format!("concat({})", parts.join(", "))
            }
            _ => {
                return Err(self.no(
                    e,
                    format!("`{}`", func.name()),
                    format!("`{}` has no faithful {} translation yet", func.name(), d.target().name()),
                ));
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dialects_quote_their_own_way() {
        assert_eq!(Dialect::DuckDb.string(r"it's \d"), r"'it''s \d'");
        assert_eq!(Dialect::Spark.string(r"it's \d"), r"'it\'s \\d'");
        assert_eq!(Dialect::DuckDb.ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(Dialect::Spark.ident("a`b"), "`a``b`");
        assert_eq!(Dialect::DuckDb.string(""), "''");
        assert_eq!(Dialect::DuckDb.string("a\n'b\u{2028}"), "('a' || chr(10) || '''b' || chr(8232))");
        assert_eq!(Dialect::DuckDb.string("\u{0}"), "chr(0)");
        assert_eq!(Dialect::Spark.string("a\n'b\u{2028}\u{0}"), r"'a\u000a\'b\u2028\u0000'");
    }

    /// The WHERE clause DuckDB SQL gives the filter of a Graph rule.
    fn where_of(filter: &str) -> String {
        let file = crate::plan::test_rule(
            0,
            &format!(
                "  sources:\n    a: MicrosoftGraphActivityLogs\n  filter:\n    a: '{}'\n  output:\n    U: RequestUri\n",
                filter.replace('\'', "''")
            ),
        );
        let catalog = crate::table::Catalog::builtin();
        let (rule, _) = crate::check::check(&crate::rule::load(&file).unwrap(), &catalog).unwrap();
        let sql = compile(
            &rule,
            Dialect::DuckDb,
            &Options { catalog: &catalog, now: Some(0), data: None, rules: &[], evidence: false, views: false },
        )
        .unwrap();
        let line = sql.lines().find(|l| l.trim_start().starts_with("WHERE ")).unwrap();
        line.trim_start().trim_start_matches("WHERE ").to_string()
    }

    /// Kusto's `==` of a null and a value is false, `!=` true, of two
    /// nulls null; `in` is `==` with an item. SQL's `=` is null for all.
    #[test]
    fn equality_keeps_kustos_nulls() {
        let c = |name: &str| format!("\"a\".\"{name}\"");
        let (status, duration) = (c("ResponseStatusCode"), c("DurationMs"));
        assert_eq!(where_of("ResponseStatusCode != 200"), format!("coalesce(({status} <> 200), TRUE)"));
        assert_eq!(where_of("200 == ResponseStatusCode"), format!("coalesce((200 = {status}), FALSE)"));
        assert_eq!(
            where_of("ResponseStatusCode == DurationMs"),
            format!(
                "CASE WHEN {status} IS NULL AND {duration} IS NULL THEN NULL ELSE coalesce(({status} = {duration}), FALSE) END"
            )
        );
        assert_eq!(
            where_of("ResponseStatusCode != null"),
            format!("CASE WHEN {status} IS NULL THEN NULL ELSE TRUE END")
        );
        assert_eq!(where_of("ResponseStatusCode < 200"), format!("({status} < 200)"), "an ordering stays null");
        assert_eq!(where_of("ResponseStatusCode !in (1, 2)"), format!("coalesce(({status} NOT IN (1, 2)), TRUE)"));
        assert_eq!(where_of("ResponseStatusCode in (1, 2)"), format!("coalesce(({status} IN (1, 2)), FALSE)"));
        // Strings are never null (`''` when absent): as SQL has them.
        assert_eq!(where_of("RequestMethod != \"GET\""), format!("({} <> 'GET')", c("RequestMethod")));
        assert_eq!(where_of("RequestMethod =~ null"), "FALSE");
        assert_eq!(where_of("RequestMethod !~ null"), "TRUE");
    }

    #[test]
    fn between_adds_a_timespan_upper_bound_to_the_lower() {
        let day = crate::datetime::TICKS_PER_DAY;
        let t = "\"a\".\"TimeGenerated\"";
        assert_eq!(
            where_of("TimeGenerated between (datetime(1970-01-02) .. 3d)"),
            format!("({t} >= {day} AND {t} <= {})", 4 * day)
        );
        assert_eq!(
            where_of("TimeGenerated !between (ago(2d) .. 1d)"),
            format!(
                "(NOT CASE WHEN (0 - {d2}) IS NULL OR ((0 - {d2}) + {day}) IS NULL THEN NULL ELSE ({t} >= (0 - {d2}) AND {t} <= ((0 - {d2}) + {day})) END)",
                d2 = 2 * day
            )
        );
    }

    #[test]
    fn unicode_classes_are_not_portable() {
        assert!(portable_regex(r"^add(Password|Key)$").is_ok());
        assert!(portable_regex(r"[0-9]+\.[0-9]").is_ok());
        assert!(portable_regex(r"\d+").is_err());
        assert!(portable_regex(r"\bword\b").is_err());
    }

    #[test]
    fn datetime_regex_accepts_what_the_engine_parses() {
        let re = regex::Regex::new(DATETIME_RE).unwrap();
        for s in [
            "2026-07-16T02:00:45.0159703Z",
            "2026-07-16 02:00:45",
            "2026-07-16",
            "2026-07-16T04:00:45+02:00",
            "2026-07-16T00:00:45-0200",
            "2026-07-16T02:00.5Z",
        ] {
            assert!(re.is_match(s), "{s}");
            assert!(crate::datetime::parse(s).is_some(), "{s}");
        }
        for s in ["2026-07-16T02:00:45.", "2026-07-16Z", "yesterday", "2026-07-16T02:00:45Zjunk"] {
            assert!(!re.is_match(s), "{s}");
            assert!(crate::datetime::parse(s).is_none(), "{s}");
        }
    }
}
