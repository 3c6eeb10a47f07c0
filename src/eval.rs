//! Evaluate: a checked expression over one record or one joined pair.
//!
//! Kusto's semantics: strings compare case-sensitively with `==`, and
//! case-insensitively with `=~` and the string operators (unless `_cs`);
//! `between` is inclusive; a comparison with null is null, and a filter
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
            match (x.compare(&lo), x.compare(&hi)) {
                (Some(a), Some(b)) => Value::Bool((a.is_ge() && b.is_le()) != *negated),
                _ => Value::Null,
            }
        }
        TKind::In { expr, op, list } => {
            let x = eval(expr, cx, now).undynamic();
            if x.is_null() && matches!(op, InOp::In { .. }) {
                return Value::Null;
            }
            let textual = matches!(op, InOp::HasAny | InOp::In { case_insensitive: true, .. });
            let hay = if textual { x.to_text() } else { Cow::Borrowed("") };
            let matches = |item: &Value| match op {
                InOp::HasAny => has_term(&hay, &item.to_text(), false),
                InOp::In { case_insensitive: true, .. } => eq_ignore_case(&hay, &item.to_text()),
                InOp::In { .. } => x.compare(item) == Some(std::cmp::Ordering::Equal),
            };
            // Items are evaluated one at a time, and the first match ends the search.
            let found = list.iter().any(|item| match eval(item, cx, now) {
                Value::List(inner) => inner.iter().any(&matches),
                Value::Dynamic(d) if d.is_array() => d
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|j| matches(&Value::Dynamic(Arc::new(j.clone())).undynamic())),
                v => matches(&v.undynamic()),
            });
            match op {
                InOp::HasAny => Value::Bool(found),
                InOp::In { negated, .. } => Value::Bool(found != *negated),
            }
        }
        TKind::Call(func, args) => func.eval(args.iter().map(|a| eval(a, cx, now)), now),
        TKind::List(items) => Value::List(items.iter().map(|i| eval(i, cx, now)).collect()),
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

/// `LocationDetails.city`: keys into a JSON value (or a string holding JSON,
/// as Log Analytics exports write dynamic columns).
fn walk_path<'a>(v: Value<'a>, path: &[String]) -> Value<'a> {
    let root: Arc<serde_json::Value> = match v {
        Value::Dynamic(d) => d,
        Value::Str(s) => match serde_json::from_str(&s) {
            Ok(j) => Arc::new(j),
            Err(_) => return Value::Null,
        },
        _ => return Value::Null,
    };
    let mut cur: &serde_json::Value = &root;
    for (i, key) in path.iter().enumerate() {
        let next = match cur {
            serde_json::Value::Object(m) => m.get(key),
            serde_json::Value::Array(a) => key.parse::<usize>().ok().and_then(|i| a.get(i)),
            serde_json::Value::String(s) => {
                // A nested value that is itself JSON text.
                return match serde_json::from_str::<serde_json::Value>(s) {
                    Ok(j) => walk_path(Value::Dynamic(Arc::new(j)), &path[i..]),
                    Err(_) => Value::Null,
                };
            }
            _ => None,
        };
        match next {
            Some(n) => cur = n,
            None => return Value::Null,
        }
    }
    Value::Dynamic(Arc::new(cur.clone())).undynamic()
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
    match op {
        BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => {
            l.compare(&r).map_or(Value::Null, |o| Value::Bool(ordering_holds(op, o)))
        }
        BinaryOp::EqCi | BinaryOp::NeCi => {
            if l.is_null() || r.is_null() {
                return Value::Null;
            }
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
            _ => a % b,
        };
        Real(v)
    };
    let i = |a: i64, b: i64| -> Option<i64> {
        match op {
            BinaryOp::Add => a.checked_add(b),
            BinaryOp::Sub => a.checked_sub(b),
            BinaryOp::Mul => a.checked_mul(b),
            BinaryOp::Div => a.checked_div(b),
            _ => a.checked_rem(b),
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
