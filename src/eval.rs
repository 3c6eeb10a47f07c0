//! Evaluate: a checked expression over one record or one joined pair.
//!
//! Kusto's semantics: strings compare case-sensitively with `==`, and
//! case-insensitively with `=~` and the string operators (unless `_cs`);
//! `between` is inclusive; a comparison with null is null, and a filter
//! keeps only `true`.

use std::borrow::Cow;
use std::sync::Arc;

use crate::ast::{BinaryOp, InOp, Literal, StrOp, UnaryOp};
use crate::check::{TExpr, TKind};
use crate::value::Value;

/// Where column values come from: one record, or a joined pair.
pub trait Columns {
    /// The value of column `id` of source `source`, or `None` when the
    /// record's table does not have that column (a union of tables).
    fn column_ref(&self, source: usize, id: u32) -> Option<&Value<'_>>;

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

/// How a string operator compares: exactly, or ignoring ASCII case (both
/// sides ASCII: no lowercased copies).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Case {
    Sensitive,
    AsciiInsensitive,
}

/// A string operator (`contains`, `startswith`, `endswith`, `has`): ASCII
/// text compared in place, other text lowercased when case does not matter.
pub(crate) fn str_test(op: StrOp, hay: &str, needle: &str, case_sensitive: bool) -> bool {
    if case_sensitive {
        str_op(op, hay, needle, Case::Sensitive)
    } else if hay.is_ascii() && needle.is_ascii() {
        str_op(op, hay, needle, Case::AsciiInsensitive)
    } else {
        str_op(op, &hay.to_lowercase(), &needle.to_lowercase(), Case::Sensitive)
    }
}

fn str_op(op: StrOp, hay: &str, needle: &str, case: Case) -> bool {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    let eq = |a: &[u8], b: &[u8]| if case == Case::Sensitive { a == b } else { a.eq_ignore_ascii_case(b) };
    match op {
        StrOp::Contains => find(h, n, 0, case).is_some(),
        StrOp::StartsWith => h.len() >= n.len() && eq(&h[..n.len()], n),
        StrOp::EndsWith => h.len() >= n.len() && eq(&h[h.len() - n.len()..], n),
        StrOp::Has => has_term_in(hay, needle, case),
    }
}

/// The first occurrence of `n` in `h` at or after `from`.
fn find(h: &[u8], n: &[u8], from: usize, case: Case) -> Option<usize> {
    let h = h.get(from..)?;
    match (case, n.first()) {
        (_, None) => Some(from),
        (Case::Sensitive, _) => memchr::memmem::find(h, n).map(|i| from + i),
        (Case::AsciiInsensitive, Some(_)) => {
            // Candidates are where the needle's rarest byte (either case) is.
            let k = (0..n.len()).min_by_key(|&i| commonness(n[i])).unwrap_or(0);
            let (lo, up) = (n[k].to_ascii_lowercase(), n[k].to_ascii_uppercase());
            let rest = h.get(k..h.len().checked_sub(n.len())? + k + 1)?;
            memchr::memchr2_iter(lo, up, rest).find(|&i| h[i..i + n.len()].eq_ignore_ascii_case(n)).map(|i| from + i)
        }
    }
}

/// How common a byte is in log text (URIs, GUIDs, user agents), ignoring
/// case: 0 for the rarest. Only orders the candidates a search visits.
fn commonness(b: u8) -> u8 {
    const TABLE: [u8; 256] = {
        const BY_FREQUENCY: &[u8] = b"etaoinsr0123456789lcdhu/.-mpfgwybvk_:=?&xjqz";
        let mut table = [0u8; 256];
        let mut i = 0;
        while i < BY_FREQUENCY.len() {
            let rank = (BY_FREQUENCY.len() - i) as u8;
            table[BY_FREQUENCY[i] as usize] = rank;
            table[BY_FREQUENCY[i].to_ascii_uppercase() as usize] = rank;
            i += 1;
        }
        table
    };
    TABLE[b as usize]
}

/// Kusto's `has`: `needle` occurs in `hay` as a whole term, bounded on each
/// side by the text's end or a non-alphanumeric character.
pub fn has_term(hay: &str, needle: &str, case_sensitive: bool) -> bool {
    match (case_sensitive, hay.is_ascii() && needle.is_ascii()) {
        (true, _) => has_term_in(hay, needle, Case::Sensitive),
        (false, true) => has_term_in(hay, needle, Case::AsciiInsensitive),
        (false, false) => has_term_in(&hay.to_lowercase(), &needle.to_lowercase(), Case::Sensitive),
    }
}

fn has_term_in(hay: &str, needle: &str, case: Case) -> bool {
    if needle.is_empty() {
        return false;
    }
    let alnum = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
    let first_alnum = alnum(needle.chars().next());
    let last_alnum = alnum(needle.chars().next_back());
    // Every occurrence, overlapping ones included: in "xab-ab-ab" the first
    // "ab-ab" is not a whole term, the one at offset 4 is.
    let mut from = 0;
    while let Some(start) = find(hay.as_bytes(), needle.as_bytes(), from, case) {
        let end = start + needle.len();
        let before = hay[..start].chars().next_back();
        let after = hay.get(end..).and_then(|rest| rest.chars().next());
        if (!first_alnum || !alnum(before)) && (!last_alnum || !alnum(after)) {
            return true;
        }
        from = start + hay[start..].chars().next().map_or(1, char::len_utf8);
    }
    false
}

pub(crate) fn eq_ignore_case(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() { a.eq_ignore_ascii_case(b) } else { a.to_lowercase() == b.to_lowercase() }
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

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The search from the rarest byte finds the first occurrence, as
        /// a walk over every offset does.
        #[test]
        fn case_insensitive_find_is_the_first_occurrence(
            h in "[aAbB$/e]{0,24}", n in "[aAbB$/e]{1,5}", from in 0usize..26
        ) {
            let (h, n) = (h.as_bytes(), n.as_bytes());
            let naive = (from..=h.len())
                .find(|&i| h.len() - i >= n.len() && h[i..i + n.len()].eq_ignore_ascii_case(n));
            proptest::prop_assert_eq!(find(h, n, from, Case::AsciiInsensitive), naive);
        }
    }

    #[test]
    fn has_matches_whole_terms() {
        assert!(has_term("https://graph.microsoft.com/v1.0/users", "users", false));
        assert!(has_term("https://graph.microsoft.com/v1.0/users", "graph.microsoft.com", false));
        assert!(has_term("Hello World", "hello", false));
        assert!(!has_term("Hello World", "hello", true));
        assert!(!has_term("applications", "app", false));
        assert!(!has_term("myapp", "app", false));
        assert!(has_term("my-app.exe", "app", false));
        assert!(!has_term("anything", "", false));
        assert!(has_term("xab-ab-ab", "ab-ab", false), "an overlapping later occurrence counts");
        assert!(has_term("éab ab", "ab", false));
        assert!(has_term("x ÄB y", "äb", false), "non-ASCII folds case too");
    }

    #[test]
    fn ascii_case_insensitive_operators_need_no_copies() {
        use StrOp::*;
        let ci = Case::AsciiInsensitive;
        assert!(str_op(Contains, "Mozilla/5.0", "ZILLA", ci));
        assert!(!str_op(Contains, "Mozilla/5.0", "zillaz", ci));
        assert!(str_op(Contains, "aaAB", "aab", ci), "a candidate that fails does not stop the search");
        assert!(str_op(StartsWith, "GET /x", "get", ci));
        assert!(!str_op(StartsWith, "GE", "get", ci));
        assert!(str_op(EndsWith, "a.EXE", ".exe", ci));
        assert!(str_op(Contains, "abc", "", ci));
        assert!(str_op(Has, "https://graph/v1.0/Users/x", "users", ci));
        assert!(!str_op(Has, "superusers", "users", ci));
    }
}
