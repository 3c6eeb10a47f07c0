//! Evaluate: a checked expression over one record or one joined pair.
//!
//! Kusto's semantics: strings compare case-sensitively with `==`, and
//! case-insensitively with `=~` and the string operators (unless `_cs`);
//! `between` is inclusive. Null: `==` (and `=~`, `in`) of a null and a
//! non-null value is `false`, `!=` (and `!~`, `!in`) `true`, of two nulls
//! null; `<`, `<=`, `>`, `>=` and `between` with a null are null; a filter
//! keeps only `true`.

use std::borrow::Cow;
use std::sync::Arc;

use crate::ast::{BinaryOp, InOp, Literal, UnaryOp};
use crate::check::{TExpr, TKind};
use crate::search::{eq_ignore_case, has_term, str_test};
use crate::value::Value;

/// Where column values come from: one record, or a joined pair.
pub trait Columns {
    /// The value of column `id` of source `source`, or `None` when the
    /// record's table does not have that column (a union of tables).
    fn column_ref(&self, source: usize, id: u32) -> Option<&Value<'_>>;

    /// Whether every string value of source `source` is known to be ASCII
    /// (false: not known), which lets case-insensitive searches skip the check.
    #[inline]
    fn ascii(&self, _source: usize) -> bool {
        false
    }

    /// [`Columns::column_ref`], borrowed as a value of its own.
    #[inline]
    fn column(&self, source: usize, id: u32) -> Option<Value<'_>> {
        self.column_ref(source, id).map(Value::reborrow)
    }

    /// The value an enclosing [`TKind::Any`] is testing, inside its test.
    #[inline]
    fn element(&self) -> Option<Value<'_>> {
        None
    }
}

/// The columns of a record, with one value of an [`TKind::Any`] bound.
struct Bound<'c> {
    inner: &'c dyn Columns,
    element: Value<'c>,
}

impl Columns for Bound<'_> {
    fn column_ref(&self, source: usize, id: u32) -> Option<&Value<'_>> {
        self.inner.column_ref(source, id)
    }

    fn ascii(&self, source: usize) -> bool {
        self.inner.ascii(source)
    }

    fn element(&self) -> Option<Value<'_>> {
        Some(self.element.reborrow())
    }
}

/// Evaluates `e`. `now` is the run's fixed current time, in ticks.
pub fn eval<'r, C: Columns>(e: &'r TExpr, cx: &'r C, now: i64) -> Value<'r> {
    match &e.kind {
        TKind::Literal(l) => literal(l),
        TKind::Column(c) => {
            let v = cx
                .column(c.source, c.id)
                .unwrap_or_else(|| Value::absent(if c.path.is_empty() { e.ty } else { crate::types::Type::Dynamic }));
            if c.path.is_empty() { v } else { walk_path(v, &c.path) }
        }
        TKind::Unary(UnaryOp::Not, x) => match eval(x, cx, now).undynamic() {
            Value::Bool(b) => Value::Bool(!b),
            _ => Value::Null,
        },
        TKind::Unary(UnaryOp::Neg, x) => match eval(x, cx, now).undynamic() {
            Value::Long(n) => n.checked_neg().map_or(Value::Null, Value::Long),
            Value::Real(f) => Value::Real(-f),
            Value::Timespan(t) => t.checked_neg().map_or(Value::Null, Value::Timespan),
            _ => Value::Null,
        },
        TKind::Binary(BinaryOp::And, l, r) => match truth(eval(l, cx, now)) {
            Some(false) => Value::Bool(false),
            lt => match (lt, truth(eval(r, cx, now))) {
                (_, Some(false)) => Value::Bool(false),
                (Some(true), Some(true)) => Value::Bool(true),
                _ => Value::Null,
            },
        },
        TKind::Binary(BinaryOp::Or, l, r) => match truth(eval(l, cx, now)) {
            Some(true) => Value::Bool(true),
            lt => match (lt, truth(eval(r, cx, now))) {
                (_, Some(true)) => Value::Bool(true),
                (Some(false), Some(false)) => Value::Bool(false),
                _ => Value::Null,
            },
        },
        TKind::Binary(op, l, r) => binary(*op, eval(l, cx, now), eval(r, cx, now)),
        TKind::Regex { expr, regex, .. } => match eval(expr, cx, now).undynamic() {
            Value::Null => Value::Null,
            v => Value::Bool(regex.is_match(&v.to_text())),
        },
        TKind::Between { expr, low, high, negated } => {
            let x = eval(expr, cx, now).undynamic();
            let (lo, hi) = (eval(low, cx, now).undynamic(), eval(high, cx, now).undynamic());
            let hi = between_high(&lo, hi);
            match (x.compare(&lo), x.compare(&hi)) {
                (Some(a), Some(b)) => Value::Bool((a.is_ge() && b.is_le()) != *negated),
                _ => Value::Null,
            }
        }
        TKind::In { expr, op, list } => {
            let x = eval(expr, cx, now).undynamic();
            let textual = matches!(op, InOp::HasAny | InOp::HasAll | InOp::In { case_insensitive: true, .. });
            let hay = if textual { x.to_text() } else { Cow::Borrowed("") };
            // `in` is `==` with one of the items (`in~`: `=~`), nulls as `==`
            // has them: a null and a non-null value are unequal, two nulls
            // are neither equal nor unequal (null). `has_any` is a search.
            let unknown = std::cell::Cell::new(false);
            let matches = |item: &Value| match op {
                InOp::HasAny => has_term(&hay, &item.to_text(), false),
                // `has_all`: an item that is not found decides.
                InOp::HasAll => !has_term(&hay, &item.to_text(), false),
                InOp::In { case_insensitive, .. } => match (x.is_null(), item.is_null()) {
                    (true, true) => {
                        unknown.set(true);
                        false
                    }
                    (true, false) | (false, true) => false,
                    (false, false) if *case_insensitive => eq_ignore_case(&hay, &item.to_text()),
                    (false, false) => x.compare(item) == Some(std::cmp::Ordering::Equal),
                },
            };
            // Items are evaluated one at a time, and the first match ends the search.
            let found = list.iter().any(|item| match eval(item, cx, now) {
                Value::List(inner) => inner.iter().any(|v| matches(&v.reborrow().undynamic())),
                Value::Dynamic(d) if d.is_array() => d
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|j| matches(&Value::Dynamic(Arc::new(j.clone())).undynamic())),
                v => matches(&v.undynamic()),
            });
            match op {
                InOp::HasAny => Value::Bool(found),
                InOp::HasAll => Value::Bool(!found),
                InOp::In { .. } if !found && unknown.get() => Value::Null,
                InOp::In { negated, .. } => Value::Bool(found != *negated),
            }
        }
        TKind::Call(func, args) => func.eval(args.iter().map(|a| eval(a, cx, now)), now),
        TKind::List(items) => Value::List(items.iter().map(|i| eval(i, cx, now)).collect()),
        TKind::Any { values, test } => Value::Bool(any(values, test, cx, now)),
        TKind::Element => cx.element().unwrap_or(Value::Null),
        TKind::Member { expr, path } => walk_path(eval(expr, cx, now), path),
        TKind::Ipv4Ranges { expr, ranges, .. } => {
            match crate::functions::parse_v4_masked(&eval(expr, cx, now).to_text()) {
                Some(ip) => Value::Bool(ranges.contains(ip)),
                None => Value::Null,
            }
        }
    }
}

/// Whether `test` holds for some value `values` (a column, with or without
/// a path) reaches, reading every JSON array on the way element by element.
/// A column that reaches nothing is tested once, as null: `isempty` holds.
/// Never null: Sigma's matching has two values.
fn any<C: Columns>(values: &TExpr, test: &TExpr, cx: &C, now: i64) -> bool {
    let TKind::Column(c) = &values.kind else {
        let element = eval(values, cx, now);
        return holds(test, &Bound { inner: cx, element }, now);
    };
    let root = cx.column(c.source, c.id).unwrap_or(Value::Null);
    let mut reached = Vec::new();
    walk_all(root, &c.path, &mut reached);
    if reached.is_empty() {
        return holds(test, &Bound { inner: cx, element: Value::Null }, now);
    }
    reached.into_iter().any(|element| holds(test, &Bound { inner: cx, element }, now))
}

/// Deepest JSON nesting [`walk_all`] follows: a hostile value nested deeper
/// reaches nothing below it.
const MAX_DEPTH: usize = 64;

/// Every value `path` reaches from `v`, each array on the way (and at the
/// end) read element by element; objects and arrays at the end are kept as
/// they are, scalars undynamic'd.
fn walk_all<'a>(v: Value<'a>, path: &[String], out: &mut Vec<Value<'a>>) {
    let json = match v {
        Value::Dynamic(d) => d,
        Value::Str(s) if path.is_empty() && !s.trim_start().starts_with('[') => return out.push(Value::Str(s)),
        Value::Str(s) => match serde_json::from_str(&s) {
            Ok(j) => Arc::new(j),
            Err(_) if path.is_empty() => return out.push(Value::Str(s)),
            Err(_) => return,
        },
        Value::Null => return,
        other if path.is_empty() => return out.push(other),
        _ => return,
    };
    walk_json(&json, path, out, 0);
}

fn walk_json<'a>(j: &serde_json::Value, path: &[String], out: &mut Vec<Value<'a>>, depth: usize) {
    use serde_json::Value as J;
    if depth > MAX_DEPTH {
        return;
    }
    match (j, path.split_first()) {
        (J::Array(items), _) => {
            for item in items {
                walk_json(item, path, out, depth + 1);
            }
        }
        (J::Null, _) => {}
        (_, None) => out.push(Value::Dynamic(Arc::new(j.clone())).undynamic().into_owned()),
        (J::Object(m), Some((key, rest))) => {
            // Sigma rules spell keys as they please (`modifiedProperties`,
            // `ModifiedProperties`): the exact key, else one equal ignoring case.
            let next = m.get(key).or_else(|| m.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v));
            if let Some(next) = next {
                walk_json(next, rest, out, depth + 1);
            }
        }
        (J::String(s), Some(_)) => {
            // A nested value that is itself JSON text.
            if let Ok(inner) = serde_json::from_str::<serde_json::Value>(s) {
                walk_json(&inner, path, out, depth + 1);
            }
        }
        _ => {}
    }
}

/// Whether a filter or predicate holds: only `true` does.
#[inline]
pub fn holds<C: Columns>(e: &TExpr, cx: &C, now: i64) -> bool {
    matches!(eval(e, cx, now).undynamic(), Value::Bool(true))
}

#[inline]
pub(crate) fn truth(v: Value) -> Option<bool> {
    match v.undynamic() {
        Value::Bool(b) => Some(b),
        _ => None,
    }
}

fn literal(l: &Literal) -> Value<'_> {
    match l {
        Literal::Null => Value::Null,
        Literal::Bool(b) => Value::Bool(*b),
        Literal::Long(n) => Value::Long(*n),
        Literal::Real(f) => Value::Real(*f),
        Literal::String(s) => Value::Str(Cow::Borrowed(s)),
        Literal::DateTime(t) => Value::DateTime(*t),
        Literal::Timespan(t) => Value::Timespan(*t),
    }
}

/// `LocationDetails.city`: keys into a JSON value, as Kusto's
/// `todynamic(LocationDetails)["city"]` reads it. A column holding JSON
/// text (a string column, or a dynamic column as Log Analytics exports
/// write them) is decoded once, at the column; a string inside the decoded
/// value is a string, not decoded again: a path does not go into it.
fn walk_path<'a>(v: Value<'a>, path: &[String]) -> Value<'a> {
    let decode = |s: &str| serde_json::from_str::<serde_json::Value>(s).ok().map(Arc::new);
    let root: Arc<serde_json::Value> = match v {
        Value::Dynamic(d) => match d.as_ref() {
            serde_json::Value::String(s) => match decode(s) {
                Some(j) => j,
                None => return Value::Null,
            },
            _ => d,
        },
        Value::Str(s) => match decode(&s) {
            Some(j) => j,
            None => return Value::Null,
        },
        _ => return Value::Null,
    };
    let mut cur: &serde_json::Value = &root;
    for key in path {
        let next = match cur {
            serde_json::Value::Object(m) => m.get(key),
            // An index; a negative one counts from the end, as Kusto's `x[-1]`.
            serde_json::Value::Array(a) => key
                .parse::<i64>()
                .ok()
                .map(|i| if i < 0 { a.len() as i64 + i } else { i })
                .and_then(|i| usize::try_from(i).ok())
                .and_then(|i| a.get(i)),
            _ => None,
        };
        match next {
            Some(n) => cur = n,
            None => return Value::Null,
        }
    }
    Value::Dynamic(Arc::new(cur.clone())).undynamic()
}

/// The upper bound of `between`: `high` itself, or, for a datetime lower
/// bound and a timespan `high` (`T between (datetime(2026-07-16) .. 3d)`),
/// the lower bound plus that timespan (null when it overflows).
pub(crate) fn between_high<'a>(low: &Value, high: Value<'a>) -> Value<'a> {
    match (low, &high) {
        (Value::DateTime(a), Value::Timespan(b)) => a.checked_add(*b).map_or(Value::Null, Value::DateTime),
        _ => high,
    }
}

/// Kusto's `==`, `!=`, `=~` and `!~` when a side is null: of two nulls,
/// null; of a null and a non-null value, unequal (`==` false, `!=` true).
/// `None` when neither side is null.
#[inline]
pub(crate) fn null_equality(equal: bool, l: &Value, r: &Value) -> Option<Option<bool>> {
    match (l.is_null(), r.is_null()) {
        (false, false) => None,
        (true, true) => Some(None),
        _ => Some(Some(!equal)),
    }
}

/// Whether a comparison operator (`==`, `!=`, `<`, `<=`, `>`, `>=`) holds
/// for two values that compare as `o`.
pub(crate) fn ordering_holds(op: BinaryOp, o: std::cmp::Ordering) -> bool {
    use std::cmp::Ordering::*;
    match op {
        BinaryOp::Eq => o == Equal,
        BinaryOp::Ne => o != Equal,
        BinaryOp::Lt => o == Less,
        BinaryOp::Le => o != Greater,
        BinaryOp::Gt => o == Greater,
        BinaryOp::Ge => o != Less,
        _ => unreachable!("{op:?} is not a comparison"),
    }
}

fn binary<'a>(op: BinaryOp, l: Value<'a>, r: Value<'a>) -> Value<'a> {
    let (l, r) = (l.undynamic(), r.undynamic());
    if matches!(op, BinaryOp::Eq | BinaryOp::Ne | BinaryOp::EqCi | BinaryOp::NeCi)
        && let Some(b) = null_equality(matches!(op, BinaryOp::Eq | BinaryOp::EqCi), &l, &r)
    {
        return b.map_or(Value::Null, Value::Bool);
    }
    match op {
        BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => {
            l.compare(&r).map_or(Value::Null, |o| Value::Bool(ordering_holds(op, o)))
        }
        BinaryOp::EqCi | BinaryOp::NeCi => {
            Value::Bool(eq_ignore_case(&l.to_text(), &r.to_text()) == (op == BinaryOp::EqCi))
        }
        BinaryOp::Str { op, negated, case_sensitive } => {
            Value::Bool(str_test(op, &l.to_text(), &r.to_text(), case_sensitive) != negated)
        }
        BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Rem => arith(op, l, r),
        BinaryOp::And | BinaryOp::Or | BinaryOp::MatchesRegex => unreachable!("{op:?} is evaluated by eval"),
    }
}

fn arith<'a>(op: BinaryOp, l: Value<'a>, r: Value<'a>) -> Value<'a> {
    use Value::*;
    let f = |a: f64, b: f64| -> Value<'a> {
        let v = match op {
            BinaryOp::Add => a + b,
            BinaryOp::Sub => a - b,
            BinaryOp::Mul => a * b,
            BinaryOp::Div => a / b,
            // Kusto's modulo is never negative: 0 <= N % D < abs(D).
            _ => a.rem_euclid(b),
        };
        Real(v)
    };
    let i = |a: i64, b: i64| -> Option<i64> {
        match op {
            BinaryOp::Add => a.checked_add(b),
            BinaryOp::Sub => a.checked_sub(b),
            BinaryOp::Mul => a.checked_mul(b),
            BinaryOp::Div => a.checked_div(b),
            _ => a.checked_rem_euclid(b),
        }
    };
    match (op, l, r) {
        (_, Long(a), Long(b)) => i(a, b).map_or(Null, Long),
        (_, Long(a), Real(b)) => f(a as f64, b),
        (_, Real(a), Long(b)) => f(a, b as f64),
        (_, Real(a), Real(b)) => f(a, b),
        (BinaryOp::Sub, DateTime(a), DateTime(b)) => a.checked_sub(b).map_or(Null, Timespan),
        (BinaryOp::Add | BinaryOp::Sub, DateTime(a), Timespan(b)) => i(a, b).map_or(Null, DateTime),
        (BinaryOp::Add, Timespan(a), DateTime(b)) => a.checked_add(b).map_or(Null, DateTime),
        (BinaryOp::Add | BinaryOp::Sub, Timespan(a), Timespan(b)) => i(a, b).map_or(Null, Timespan),
        (BinaryOp::Mul, Timespan(a), Long(b)) | (BinaryOp::Mul, Long(b), Timespan(a)) => {
            a.checked_mul(b).map_or(Null, Timespan)
        }
        (BinaryOp::Mul, Timespan(a), Real(b)) | (BinaryOp::Mul, Real(b), Timespan(a)) => {
            Timespan((a as f64 * b) as i64)
        }
        (BinaryOp::Div, Timespan(a), Long(b)) => a.checked_div(b).map_or(Null, Timespan),
        (BinaryOp::Div, Timespan(a), Real(b)) if b != 0.0 => Timespan((a as f64 / b) as i64),
        (BinaryOp::Div, Timespan(a), Timespan(b)) if b != 0 => Real(a as f64 / b as f64),
        _ => Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::CheckedRule;
    use crate::datetime::{TICKS_PER_DAY, TICKS_PER_SECOND};
    use crate::table::Catalog;
    use serde_json::json;

    const NOW: i64 = 20_000 * TICKS_PER_DAY;
    const HOUR: i64 = 3600 * TICKS_PER_SECOND;
    const GRAPH: &str = "MicrosoftGraphActivityLogs";
    const SIGNIN: &str = "AADServicePrincipalSignInLogs";

    fn quote(expr: &str) -> String {
        format!("'{}'", expr.replace('\'', "''"))
    }

    /// Checks a rule and numbers each (source, column) it reads: `names[id]`.
    fn checked(correlation: &str) -> (CheckedRule, Vec<(usize, String)>) {
        let file = crate::plan::test_rule(0, correlation);
        let doc = crate::rule::load(&file).unwrap_or_else(|e| panic!("the rule should load: {e:#?}"));
        let (mut rule, _) =
            crate::check::check(&doc, &Catalog::builtin()).unwrap_or_else(|e| panic!("the rule should check: {e:#?}"));
        let mut names: Vec<(usize, String)> = Vec::new();
        let mut number = |e: &mut TExpr| {
            if let TKind::Column(c) = &mut e.kind {
                let key = (c.source, c.column.clone());
                c.id = match names.iter().position(|n| *n == key) {
                    Some(i) => i as u32,
                    None => {
                        names.push(key);
                        names.len() as u32 - 1
                    }
                };
            }
        };
        for source in &mut rule.sources {
            source.filter.iter_mut().for_each(|f| f.walk_mut(&mut number));
        }
        rule.mismatch.iter_mut().for_each(|m| m.walk_mut(&mut number));
        rule.output.iter_mut().for_each(|o| o.expr.walk_mut(&mut number));
        (rule, names)
    }

    /// A record (or joined pair): values by source and column name; a column
    /// not listed is absent.
    struct Row {
        names: Vec<(usize, String)>,
        values: Vec<(usize, &'static str, Value<'static>)>,
    }

    impl Columns for Row {
        fn column_ref(&self, source: usize, id: u32) -> Option<&Value<'_>> {
            let (s, name) = &self.names[id as usize];
            assert_eq!(*s, source, "column {id} belongs to source {s}");
            self.values.iter().find(|(vs, n, _)| vs == s && n == name).map(|(_, _, v)| v)
        }
    }

    /// `expr`, the one output of a rule over `table`, evaluated on a record
    /// holding `values` (every other column absent).
    fn eval_in(table: &str, expr: &str, values: &[(&'static str, Value<'static>)]) -> Value<'static> {
        let (rule, names) = checked(&format!("  sources:\n    a: {table}\n  output:\n    X: {}\n", quote(expr)));
        let row = Row { names, values: values.iter().map(|(n, v)| (0, *n, v.clone())).collect() };
        eval(&rule.output[0].expr, &row, NOW).into_owned()
    }

    fn ev(expr: &str, values: &[(&'static str, Value<'static>)]) -> Value<'static> {
        eval_in(GRAPH, expr, values)
    }

    /// Whether `expr`, as a filter, keeps the record.
    fn keeps(expr: &str, values: &[(&'static str, Value<'static>)]) -> bool {
        let (rule, names) =
            checked(&format!("  sources:\n    a: {GRAPH}\n  filter:\n    a: {}\n  output:\n    X: '1'\n", quote(expr)));
        let row = Row { names, values: values.iter().map(|(n, v)| (0, *n, v.clone())).collect() };
        holds(rule.sources[0].filter.as_ref().unwrap(), &row, NOW)
    }

    fn s(x: &str) -> Value<'static> {
        Value::Str(Cow::Owned(x.to_string()))
    }

    const T: Value<'static> = Value::Bool(true);
    const F: Value<'static> = Value::Bool(false);

    #[test]
    fn equality_is_case_sensitive_and_tilde_forms_ignore_case() {
        let get = [("RequestMethod", s("get"))];
        assert_eq!(ev("RequestMethod == \"GET\"", &get), F);
        assert_eq!(ev("RequestMethod == \"get\"", &get), T);
        assert_eq!(ev("RequestMethod != \"GET\"", &get), T);
        assert_eq!(ev("RequestMethod =~ \"GET\"", &get), T);
        assert_eq!(ev("RequestMethod !~ \"GET\"", &get), F);
        assert_eq!(ev("RequestMethod !~ \"POST\"", &get), T);
    }

    #[test]
    fn an_absent_string_is_empty_not_null() {
        // The README: `"" != "1.2.3.4"` is true.
        assert_eq!(ev("IPAddress != \"1.2.3.4\"", &[]), T);
        assert!(keeps("IPAddress != \"1.2.3.4\"", &[]));
        assert_eq!(ev("IPAddress == \"\"", &[]), T);
        assert_eq!(ev("IPAddress", &[]), s(""));
        assert_eq!(ev("isempty(IPAddress)", &[]), T);
        assert_eq!(ev("isnull(IPAddress)", &[]), F);
        assert_eq!(ev("isnotempty(IPAddress)", &[("IPAddress", s("1.2.3.4"))]), T);
    }

    #[test]
    fn an_ordering_with_a_null_number_or_datetime_is_null_and_is_not_kept() {
        for expr in ["ResponseStatusCode < 200", "ResponseStatusCode >= 200", "200 > ResponseStatusCode"] {
            assert_eq!(ev(expr, &[]), Value::Null, "{expr} on an absent value");
            assert_eq!(ev(expr, &[("ResponseStatusCode", Value::Null)]), Value::Null, "{expr} on null");
            assert!(!keeps(expr, &[]), "{expr}");
        }
        assert_eq!(ev("TimeGenerated > ago(30d)", &[]), Value::Null);
        // `not` of null is null: the filter keeps neither an ordering nor its negation.
        assert_eq!(ev("not(ResponseStatusCode < 200)", &[]), Value::Null);
        assert!(!keeps("not(ResponseStatusCode < 200)", &[]));
        assert_eq!(ev("isnull(ResponseStatusCode)", &[]), T);
        assert_eq!(ev("isempty(ResponseStatusCode)", &[]), T);
        assert_eq!(ev("isnotnull(ResponseStatusCode)", &[("ResponseStatusCode", Value::Long(0))]), T);
    }

    /// Kusto's "Null values": `==` of a null and a non-null value is false,
    /// `!=` true; of two nulls, both are null.
    #[test]
    fn equality_with_one_null_is_false_and_inequality_true() {
        let code = |v: Value<'static>| [("ResponseStatusCode", v)];
        for none in [&[][..], &code(Value::Null)[..]] {
            assert_eq!(ev("ResponseStatusCode == 200", none), F, "{none:?}");
            assert_eq!(ev("ResponseStatusCode != 200", none), T, "{none:?}");
            assert_eq!(ev("200 != ResponseStatusCode", none), T, "{none:?}");
            assert!(keeps("ResponseStatusCode != 200", none), "Kusto keeps a null status: {none:?}");
            assert!(!keeps("ResponseStatusCode == 200", none));
            assert!(keeps("not(ResponseStatusCode == 200)", none));
            assert_eq!(ev("TimeGenerated == datetime(2026-07-16)", none), F);
            assert_eq!(ev("TimeGenerated != ago(1d)", none), T);
        }
        // The doc's table: `val == int(null)` is false for 5, null for null.
        assert_eq!(ev("ResponseStatusCode == null", &code(Value::Long(5))), F);
        assert_eq!(ev("ResponseStatusCode != null", &code(Value::Long(5))), T);
        assert_eq!(ev("ResponseStatusCode == null", &[]), Value::Null);
        assert_eq!(ev("ResponseStatusCode != null", &[]), Value::Null);
        // Two null columns: null, and neither form is kept.
        assert_eq!(ev("ResponseStatusCode == DurationMs", &[]), Value::Null);
        assert_eq!(ev("ResponseStatusCode != DurationMs", &[]), Value::Null);
        assert!(!keeps("ResponseStatusCode != DurationMs", &[]));
        assert_eq!(ev("ResponseStatusCode != DurationMs", &[("DurationMs", Value::Long(1))]), T);
        assert_eq!(ev("ResponseStatusCode == DurationMs", &[("DurationMs", Value::Long(1))]), F);
        // A null from arithmetic (an overflow) is a null too.
        let max = [("ResponseStatusCode", Value::Long(i64::MAX))];
        assert_eq!(ev("ResponseStatusCode + 1 != 0", &max), T);
        assert_eq!(ev("ResponseStatusCode + 1 == 0", &max), F);
        // Non-null values compare as before.
        assert_eq!(ev("ResponseStatusCode != 200", &code(Value::Long(200))), F);
        assert_eq!(ev("ResponseStatusCode == 200", &code(Value::Long(200))), T);
    }

    #[test]
    fn tilde_equality_and_in_lists_treat_null_as_equality_does() {
        // `=~` is `==` ignoring case: a missing path (null) equals no string.
        let loc = [("LocationDetails", Value::Dynamic(Arc::new(json!({"city": "Paris"}))))];
        assert_eq!(eval_in(SIGNIN, "LocationDetails.country =~ \"fr\"", &loc), F);
        assert_eq!(eval_in(SIGNIN, "LocationDetails.country !~ \"fr\"", &loc), T);
        assert_eq!(eval_in(SIGNIN, "LocationDetails.country =~ LocationDetails.region", &loc), Value::Null);
        assert_eq!(eval_in(SIGNIN, "LocationDetails.country !~ LocationDetails.region", &loc), Value::Null);
        assert_eq!(eval_in(SIGNIN, "LocationDetails.city =~ \"PARIS\"", &loc), T);
        // `in` is `==` with one of the items: a null value is in none of them.
        for none in [&[][..], &[("ResponseStatusCode", Value::Null)][..]] {
            assert_eq!(ev("ResponseStatusCode in (401, 403)", none), F);
            assert_eq!(ev("ResponseStatusCode !in (401, 403)", none), T);
            assert!(keeps("ResponseStatusCode !in (401, 403)", none));
            assert_eq!(ev("ResponseStatusCode in (dynamic([401, 403]))", none), F);
            // ... and null with a null item: neither in nor not in.
            assert_eq!(ev("ResponseStatusCode in (401, null)", none), Value::Null);
            assert_eq!(ev("ResponseStatusCode !in (401, null)", none), Value::Null);
        }
        let code = [("ResponseStatusCode", Value::Long(401))];
        assert_eq!(ev("ResponseStatusCode in (null, 401)", &code), T);
        assert_eq!(ev("ResponseStatusCode !in (null, 403)", &code), T);
        assert_eq!(eval_in(SIGNIN, "LocationDetails.country in~ (\"FR\")", &loc), F);
        assert_eq!(eval_in(SIGNIN, "LocationDetails.country !in~ (\"FR\")", &loc), T);
        assert_eq!(eval_in(SIGNIN, "LocationDetails.city in~ (\"paris\")", &loc), T);
    }

    #[test]
    fn between_takes_a_timespan_upper_bound_after_a_datetime() {
        // Kusto: `StartTime between (datetime(2007-07-27) .. 3d)` is `.. datetime(2007-07-30)`.
        let day = crate::datetime::parse("2026-07-16").unwrap();
        let at = |t: i64| [("TimeGenerated", Value::DateTime(t))];
        let range = "TimeGenerated between (datetime(2026-07-16) .. 3d)";
        assert_eq!(ev(range, &at(day)), T);
        assert_eq!(ev(range, &at(day + 3 * TICKS_PER_DAY)), T, "inclusive");
        assert_eq!(ev(range, &at(day + 3 * TICKS_PER_DAY + 1)), F);
        assert_eq!(ev(range, &at(day - 1)), F);
        assert_eq!(ev(range, &[]), Value::Null);
        let outside = "TimeGenerated !between (datetime(2026-07-16) .. 3d)";
        assert_eq!(ev(outside, &at(day + 3 * TICKS_PER_DAY + 1)), T);
        assert_eq!(ev(outside, &at(day + TICKS_PER_DAY)), F);
        assert_eq!(ev("TimeGenerated between (ago(2h) .. 1h)", &at(NOW - 90 * 60 * TICKS_PER_SECOND)), T);
        assert_eq!(ev("TimeGenerated between (ago(2h) .. 1h)", &at(NOW - 30 * 60 * TICKS_PER_SECOND)), F);
        assert_eq!(ev("TokenIssuedAt between (TimeGenerated .. 1h)", &at(day)), Value::Null, "a null bound");
        // Timespans between timespans are still timespans.
        assert_eq!(ev("(TimeGenerated - TokenIssuedAt) between (1h .. 2h)", &[]), Value::Null);
        assert_eq!(ev("90m between (1h .. 2h)", &[]), T);
    }

    #[test]
    fn and_or_not_follow_three_valued_logic() {
        let null = "(ResponseStatusCode > 1)";
        assert_eq!(ev(&format!("{null} and false"), &[]), F);
        assert_eq!(ev(&format!("false and {null}"), &[]), F);
        assert_eq!(ev(&format!("{null} and true"), &[]), Value::Null);
        assert_eq!(ev(&format!("{null} or true"), &[]), T);
        assert_eq!(ev(&format!("true or {null}"), &[]), T);
        assert_eq!(ev(&format!("{null} or false"), &[]), Value::Null);
        assert!(keeps(&format!("{null} or true"), &[]));
        assert!(!keeps(&format!("{null} and true"), &[]));
        assert_eq!(ev("true and not(false)", &[]), T);
        assert_eq!(ev("false or not(true)", &[]), F);
    }

    #[test]
    fn string_operators_ignore_case_unless_cs() {
        let ua = [("UserAgent", s("Mozilla/5.0 ROADtools x"))];
        assert_eq!(ev("UserAgent contains \"roadtool\"", &ua), T);
        assert_eq!(ev("UserAgent contains_cs \"roadtool\"", &ua), F);
        assert_eq!(ev("UserAgent contains_cs \"ROADtool\"", &ua), T);
        assert_eq!(ev("UserAgent !contains \"road\"", &ua), F);
        assert_eq!(ev("UserAgent !contains \"graph\"", &ua), T);
        assert_eq!(ev("UserAgent startswith \"MOZILLA\"", &ua), T);
        assert_eq!(ev("UserAgent startswith_cs \"moz\"", &ua), F);
        assert_eq!(ev("UserAgent !startswith \"Moz\"", &ua), F);
        assert_eq!(ev("UserAgent endswith \" X\"", &ua), T);
        assert_eq!(ev("UserAgent endswith \"tools\"", &ua), F);
    }

    #[test]
    fn has_matches_whole_terms_only() {
        let ua = [("UserAgent", s("Mozilla/5.0 ROADtools x"))];
        assert_eq!(ev("UserAgent has \"roadtools\"", &ua), T);
        assert_eq!(ev("UserAgent has \"mozilla\"", &ua), T);
        assert_eq!(ev("UserAgent has \"road\"", &ua), F, "a prefix of a term is not the term");
        assert_eq!(ev("UserAgent !has \"road\"", &ua), T);
        assert_eq!(ev("UserAgent has_cs \"ROADtools\"", &ua), T);
        assert_eq!(ev("UserAgent has_cs \"roadtools\"", &ua), F);
        assert_eq!(ev("UserAgent has_any (\"GraphRunner\", \"roadtools\")", &ua), T);
        assert_eq!(ev("UserAgent has_any (\"road\", \"zilla\")", &ua), F);
    }

    #[test]
    fn in_lists_compare_exactly_and_in_tilde_ignores_case() {
        let post = [("RequestMethod", s("Post"))];
        assert_eq!(ev("RequestMethod in (\"POST\", \"PATCH\")", &post), F);
        assert_eq!(ev("RequestMethod in (\"PATCH\", \"Post\")", &post), T);
        assert_eq!(ev("RequestMethod !in (\"POST\")", &post), T);
        assert_eq!(ev("RequestMethod in~ (\"post\", \"patch\")", &post), T);
        assert_eq!(ev("RequestMethod !in~ (\"POST\")", &post), F);
        let code = [("ResponseStatusCode", Value::Long(403))];
        assert_eq!(ev("ResponseStatusCode in (401, 403)", &code), T);
        assert_eq!(ev("ResponseStatusCode !in (401, 403)", &code), F);
        assert_eq!(ev("ResponseStatusCode in (dynamic([401, 403]))", &code), T);
        assert_eq!(ev("ResponseStatusCode in (400, 404)", &code), F);
        assert_eq!(ev("ResponseStatusCode in (403.0)", &code), T, "a long equals the same real");
    }

    #[test]
    fn matches_regex_searches_case_sensitively() {
        let uri = [("RequestUri", s("https://graph.microsoft.com/v1.0/users/42"))];
        assert_eq!(ev("RequestUri matches regex @\"users/\\d+$\"", &uri), T);
        assert_eq!(ev("RequestUri matches regex \"graph\"", &uri), T, "unanchored: a match anywhere");
        assert_eq!(ev("RequestUri matches regex \"USERS\"", &uri), F);
        assert_eq!(ev("RequestUri matches regex \"^users\"", &uri), F);
    }

    #[test]
    fn between_is_inclusive_at_both_ends() {
        let code = |n: i64| [("ResponseStatusCode", Value::Long(n))];
        assert_eq!(ev("ResponseStatusCode between (100 .. 300)", &code(100)), T);
        assert_eq!(ev("ResponseStatusCode between (100 .. 300)", &code(300)), T);
        assert_eq!(ev("ResponseStatusCode between (100 .. 300)", &code(301)), F);
        assert_eq!(ev("ResponseStatusCode between (100 .. 300)", &code(99)), F);
        assert_eq!(ev("ResponseStatusCode !between (100 .. 300)", &code(301)), T);
        assert_eq!(ev("ResponseStatusCode !between (100 .. 300)", &code(300)), F);
        assert_eq!(ev("ResponseStatusCode between (99.5 .. 100.5)", &code(100)), T);
        assert_eq!(ev("ResponseStatusCode between (100 .. 300)", &[]), Value::Null);
        assert!(!keeps("ResponseStatusCode !between (100 .. 300)", &[]));
    }

    #[test]
    fn now_and_ago_read_the_runs_fixed_time() {
        assert_eq!(ev("now()", &[]), Value::DateTime(NOW));
        assert_eq!(ev("now(-1h)", &[]), Value::DateTime(NOW - HOUR));
        assert_eq!(ev("ago(1d)", &[]), Value::DateTime(NOW - TICKS_PER_DAY));
        assert_eq!(ev("ago(30m)", &[]), Value::DateTime(NOW - HOUR / 2));
        let at = |t: i64| [("TimeGenerated", Value::DateTime(t))];
        let week = "TimeGenerated between (ago(7d) .. now())";
        assert_eq!(ev(week, &at(NOW - 7 * TICKS_PER_DAY)), T);
        assert_eq!(ev(week, &at(NOW)), T);
        assert_eq!(ev(week, &at(NOW + 1)), F);
        assert_eq!(ev(week, &at(NOW - 7 * TICKS_PER_DAY - 1)), F);
        assert_eq!(ev("TimeGenerated > ago(1h)", &at(NOW - HOUR + 1)), T);
        assert_eq!(ev("TimeGenerated > ago(1h)", &at(NOW - HOUR)), F);
    }

    #[test]
    fn datetime_and_timespan_arithmetic() {
        let pair = [("TimeGenerated", Value::DateTime(NOW)), ("TokenIssuedAt", Value::DateTime(NOW - 2 * HOUR))];
        assert_eq!(ev("TimeGenerated - TokenIssuedAt", &pair), Value::Timespan(2 * HOUR));
        assert_eq!(ev("TokenIssuedAt - TimeGenerated", &pair), Value::Timespan(-2 * HOUR));
        assert_eq!(ev("TokenIssuedAt + 1h", &pair), Value::DateTime(NOW - HOUR));
        assert_eq!(ev("1h + TokenIssuedAt", &pair), Value::DateTime(NOW - HOUR));
        assert_eq!(ev("TimeGenerated - 90m", &pair), Value::DateTime(NOW - 3 * HOUR / 2));
        assert_eq!(ev("(TimeGenerated - TokenIssuedAt) / 1h", &pair), Value::Real(2.0));
        assert_eq!(ev("(TimeGenerated - TokenIssuedAt) / 4", &pair), Value::Timespan(HOUR / 2));
        assert_eq!(ev("2 * 1h", &[]), Value::Timespan(2 * HOUR));
        assert_eq!(ev("1h + 30m - 15m", &[]), Value::Timespan(5 * HOUR / 4));
        assert_eq!(ev("-1h", &[]), Value::Timespan(-HOUR));
        assert_eq!(ev("TimeGenerated - TokenIssuedAt > 70m", &pair), T);
        assert_eq!(ev("TimeGenerated - TokenIssuedAt > 2h", &pair), F);
        assert_eq!(ev("datetime(1970-01-02) - datetime(1970-01-01T00:00:00Z)", &[]), Value::Timespan(TICKS_PER_DAY));
        // Datetimes keep all 7 fractional digits: one tick apart.
        let ticks = "datetime(2026-07-16T02:00:45.0159703Z) - datetime(2026-07-16T02:00:45.0159702Z)";
        assert_eq!(ev(ticks, &[]), Value::Timespan(1));
        assert_eq!(ev("1s - 250ms", &[]), Value::Timespan(TICKS_PER_SECOND * 3 / 4));
    }

    #[test]
    fn long_and_real_arithmetic() {
        let v = [("ResponseStatusCode", Value::Long(7)), ("DurationMs", Value::Long(2))];
        assert_eq!(ev("ResponseStatusCode + DurationMs", &v), Value::Long(9));
        assert_eq!(ev("ResponseStatusCode - DurationMs", &v), Value::Long(5));
        assert_eq!(ev("ResponseStatusCode * DurationMs", &v), Value::Long(14));
        assert_eq!(ev("ResponseStatusCode / DurationMs", &v), Value::Long(3), "long division truncates");
        assert_eq!(ev("ResponseStatusCode % DurationMs", &v), Value::Long(1));
        assert_eq!(ev("ResponseStatusCode / 2.0", &v), Value::Real(3.5));
        assert_eq!(ev("ResponseStatusCode + 0.5", &v), Value::Real(7.5));
        assert_eq!(ev("-ResponseStatusCode", &v), Value::Long(-7));
        assert_eq!(ev("1 + 2 * 3", &[]), Value::Long(7), "`*` binds tighter than `+`");
        assert_eq!(ev("ResponseStatusCode > 6.5", &v), T);
        assert_eq!(ev("ResponseStatusCode == 7.0", &v), T);
        assert_eq!(ev("ResponseStatusCode >= 7", &v), T);
        assert_eq!(ev("ResponseStatusCode <= 6", &v), F);
    }

    #[test]
    fn arithmetic_on_null_is_null() {
        assert_eq!(ev("ResponseStatusCode + 1", &[]), Value::Null);
        assert_eq!(ev("1.5 * DurationMs", &[]), Value::Null);
        assert_eq!(ev("-ResponseStatusCode", &[]), Value::Null);
        assert_eq!(ev("TimeGenerated - 1h", &[]), Value::Null);
        assert_eq!(ev("TimeGenerated - TokenIssuedAt", &[("TimeGenerated", Value::DateTime(NOW))]), Value::Null);
    }

    #[test]
    fn json_paths_read_into_dynamic_values_and_json_text() {
        let doc = json!({"city": "Paris", "geo": {"lat": 48.85, "n": 3}, "ok": true});
        for value in [Value::Dynamic(Arc::new(doc.clone())), s(&doc.to_string())] {
            let loc = [("LocationDetails", value)];
            assert_eq!(eval_in(SIGNIN, "LocationDetails.city", &loc), s("Paris"));
            assert_eq!(eval_in(SIGNIN, "LocationDetails.city == \"Paris\"", &loc), T);
            assert_eq!(eval_in(SIGNIN, "LocationDetails.city =~ \"PARIS\"", &loc), T);
            assert_eq!(eval_in(SIGNIN, "LocationDetails.geo.lat > 48", &loc), T);
            assert_eq!(eval_in(SIGNIN, "LocationDetails.geo.n + 1", &loc), Value::Long(4));
            assert_eq!(eval_in(SIGNIN, "LocationDetails.ok", &loc), T);
            assert_eq!(
                eval_in(SIGNIN, "LocationDetails.geo", &loc),
                Value::Dynamic(Arc::new(json!({"lat": 48.85, "n": 3})))
            );
            assert_eq!(eval_in(SIGNIN, "isnull(LocationDetails.country)", &loc), T, "a missing key is null");
            assert_eq!(eval_in(SIGNIN, "LocationDetails.city.name", &loc), Value::Null);
            assert_eq!(eval_in(SIGNIN, "LocationDetails.country == \"FR\"", &loc), F, "null == \"FR\"");
        }
        // JSON text in the column is decoded once (`todynamic`): a string
        // inside the decoded value is a string, even if it holds JSON text.
        let nested = json!({"geo": "{\"lat\": 48.85}", "list": "[1, 2]", "city": "Paris"});
        for value in [Value::Dynamic(Arc::new(nested.clone())), s(&nested.to_string())] {
            let loc = [("LocationDetails", value)];
            assert_eq!(eval_in(SIGNIN, "LocationDetails.geo.lat", &loc), Value::Null);
            assert_eq!(eval_in(SIGNIN, "isnull(LocationDetails.geo.lat)", &loc), T);
            assert_eq!(eval_in(SIGNIN, "LocationDetails.list", &loc), s("[1, 2]"));
            assert_eq!(eval_in(SIGNIN, "LocationDetails.geo", &loc), s("{\"lat\": 48.85}"));
        }
        // A dynamic column whose value is JSON text (as exports write it): decoded once.
        let text = Value::Dynamic(Arc::new(json!(nested.to_string())));
        assert_eq!(eval_in(SIGNIN, "LocationDetails.city", &[("LocationDetails", text.clone())]), s("Paris"));
        assert_eq!(eval_in(SIGNIN, "LocationDetails.geo.lat", &[("LocationDetails", text)]), Value::Null);
        // Text encoded twice is one decode short of an object.
        let twice = s(&serde_json::Value::String(nested.to_string()).to_string());
        assert_eq!(eval_in(SIGNIN, "LocationDetails.city", &[("LocationDetails", twice)]), Value::Null);
        let not_json = [("LocationDetails", s("Paris"))];
        assert_eq!(eval_in(SIGNIN, "LocationDetails.city", &not_json), Value::Null);
        assert_eq!(eval_in(SIGNIN, "isempty(LocationDetails.city)", &[]), T);
    }

    #[test]
    fn ip_functions() {
        let ip = |a: &str| [("IPAddress", s(a))];
        assert_eq!(ev("ipv4_is_in_range(IPAddress, \"10.0.0.0/8\")", &ip("10.1.2.3")), T);
        assert_eq!(ev("ipv4_is_in_range(IPAddress, \"10.0.0.0/8\")", &ip("11.1.2.3")), F);
        assert_eq!(ev("ipv4_is_in_range(IPAddress, \"192.168.1.128/25\")", &ip("192.168.1.127")), F);
        assert_eq!(ev("ipv4_is_in_range(IPAddress, \"10.0.0.0/8\")", &[]), Value::Null, "no address: null");
        assert_eq!(ev("ipv4_is_private(IPAddress)", &ip("172.16.0.1")), T);
        assert_eq!(ev("ipv4_is_private(IPAddress)", &ip("172.32.0.1")), F);
        assert_eq!(ev("ipv4_is_private(IPAddress)", &ip("8.8.8.8")), F);
        assert_eq!(ev("ipv6_is_match(IPAddress, \"::ffff:10.1.2.3\")", &ip("10.1.2.3")), T);
        assert_eq!(ev("ipv6_is_match(IPAddress, \"2001:db8::/32\")", &ip("2001:db8:1::1")), T);
        assert_eq!(ev("ipv6_is_match(IPAddress, \"2001:db9::1\", 32)", &ip("2001:db8::1")), F);
        assert_eq!(ev("ipv6_is_match(IPAddress, \"2001:db8::ff\", 120)", &ip("2001:db8::1")), T);
    }

    #[test]
    fn coalesce_and_conversions() {
        assert_eq!(ev("coalesce(IPAddress, \"none\")", &[]), s("none"), "an empty string is skipped");
        assert_eq!(ev("coalesce(IPAddress, \"none\")", &[("IPAddress", s("1.2.3.4"))]), s("1.2.3.4"));
        assert_eq!(ev("coalesce(ResponseStatusCode, DurationMs, 0)", &[]), Value::Long(0));
        assert_eq!(
            ev("coalesce(ResponseStatusCode, DurationMs, 0)", &[("DurationMs", Value::Long(5))]),
            Value::Long(5)
        );
        assert_eq!(ev("tostring(ResponseStatusCode)", &[("ResponseStatusCode", Value::Long(200))]), s("200"));
        assert_eq!(ev("tostring(ResponseStatusCode)", &[]), s(""), "null is \"\"");
        assert_eq!(ev("tolong(\"42\") + 1", &[]), Value::Long(43));
        assert_eq!(ev("tolong(RequestMethod)", &[("RequestMethod", s("GET"))]), Value::Null);
        assert_eq!(ev("toreal(\"2.5\")", &[]), Value::Real(2.5));
        assert_eq!(ev("todatetime(\"1970-01-02T00:00:00Z\")", &[]), Value::DateTime(TICKS_PER_DAY));
        assert_eq!(ev("todatetime(\"yesterday\")", &[]), Value::Null);
        let req = [("RequestMethod", s("get")), ("RequestUri", s("/v1.0/Users"))];
        assert_eq!(ev("strcat(toupper(RequestMethod), \" \", tolower(RequestUri))", &req), s("GET /v1.0/users"));
        assert_eq!(ev("strlen(RequestUri)", &req), Value::Long(11));
    }

    #[test]
    fn a_mismatch_reads_each_side_of_the_pair() {
        let (rule, names) = checked(
            "  sources:\n    activity: MicrosoftGraphActivityLogs\n    signin: AADServicePrincipalSignInLogs\n  \
             join: activity.SignInActivityId == signin.UniqueTokenIdentifier\n  \
             mismatch: signin.IPAddress != activity.IPAddress\n  output:\n    T: activity.TimeGenerated\n",
        );
        let mismatch = rule.mismatch.as_ref().unwrap();
        let pair = |a: &'static str, b: &'static str| Row {
            names: names.clone(),
            values: vec![(0, "IPAddress", s(a)), (1, "IPAddress", s(b))],
        };
        assert!(holds(mismatch, &pair("1.1.1.1", "2.2.2.2"), NOW));
        assert!(!holds(mismatch, &pair("1.1.1.1", "1.1.1.1"), NOW));
        assert!(holds(mismatch, &pair("1.1.1.1", ""), NOW), "an empty sign-in IP differs");
    }
}
