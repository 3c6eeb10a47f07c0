//! Compiled predicates: a filter or mismatch turned, once per run, into a
//! tree that tests the common shapes (`column <op> constant`, `between`,
//! `in`, `isempty`, and/or/not) directly on the column's value, without the
//! interpreter's walk. Constant subtrees (`ago(30d)`, with the run's fixed
//! `now`) are computed once.
//!
//! Every fast test keeps the expression it came from, and hands a value of
//! any other kind than the one it was compiled for (a long column holding
//! a real, say) to the interpreter: results are the interpreter's
//! ([`crate::eval`]) by construction, and a test checks them against it.

use crate::ast::{BinaryOp, InOp, StrOp, UnaryOp};
use crate::check::{ColumnRef, TExpr, TKind};
use crate::eval::{self, Columns};
use crate::functions::{self, Func};
use crate::search::{self, AnyContains, Needle, Terms};
use crate::types::Type;
use crate::value::Value;

/// A compiled boolean expression; [`Pred::test`] gives Kusto's true, false
/// or null, as [`eval::eval`] would.
#[derive(Debug)]
pub enum Pred {
    Const(Option<bool>),
    And(Vec<Pred>),
    Or(Vec<Pred>),
    Not(Box<Pred>),
    /// A long, datetime or timespan column against constants of its kind.
    Ticks {
        col: Col,
        test: TicksTest,
        expr: TExpr,
    },
    /// A string column against string constants.
    Text {
        col: Col,
        test: TextTest,
        expr: TExpr,
    },
    /// Two string columns compared (`==`, `=~`, `endswith`, ...): a join's
    /// mismatch.
    TextPair {
        a: Col,
        b: Col,
        op: BinaryOp,
        expr: TExpr,
    },
    /// Sums and differences of long, datetime or timespan columns and
    /// constants, compared: `a.TimeGenerated - b.TimeGenerated > 70m`.
    Compare {
        l: Arith,
        op: BinaryOp,
        r: Arith,
        expr: TExpr,
    },
    /// Anything else: the interpreter.
    Expr(TExpr),
}

/// A column without a path, and the value it has when absent.
#[derive(Debug)]
pub struct Col {
    source: usize,
    id: u32,
    ty: Type,
}

/// Integer arithmetic over ticks (or longs), checked as the interpreter's:
/// an overflow is null.
#[derive(Debug)]
pub enum Arith {
    Col(Col),
    Const(i64),
    Add(Box<Arith>, Box<Arith>),
    Sub(Box<Arith>, Box<Arith>),
}

/// A column of another kind than compiled for: the interpreter decides.
struct OtherKind;

impl Arith {
    /// The value, `None` for null.
    fn value<C: Columns>(&self, cx: &C) -> Result<Option<i64>, OtherKind> {
        Ok(match self {
            Arith::Col(col) => ticks_of(col, cx)?,
            Arith::Const(k) => Some(*k),
            Arith::Add(a, b) => a.value(cx)?.zip(b.value(cx)?).and_then(|(a, b)| a.checked_add(b)),
            Arith::Sub(a, b) => a.value(cx)?.zip(b.value(cx)?).and_then(|(a, b)| a.checked_sub(b)),
        })
    }
}

#[derive(Debug)]
pub enum TicksTest {
    Cmp(BinaryOp, i64),
    Between { low: i64, high: i64, negated: bool },
    In { set: Vec<i64>, negated: bool },
}

impl TicksTest {
    /// The test of a null value (the constants are never null): `==` and
    /// `in` are false, `!=` and `!in` true, the orderings and `between` null.
    #[inline]
    fn on_null(&self) -> Option<bool> {
        match self {
            TicksTest::Cmp(BinaryOp::Eq, _) => Some(false),
            TicksTest::Cmp(BinaryOp::Ne, _) => Some(true),
            TicksTest::Cmp(..) | TicksTest::Between { .. } => None,
            TicksTest::In { negated, .. } => Some(*negated),
        }
    }
}

#[derive(Debug)]
pub enum TextTest {
    Eq(String, bool),
    EqCi(String, bool),
    Op {
        op: StrOp,
        needle: Needle,
        negated: bool,
    },
    In {
        set: Vec<String>,
        negated: bool,
        case_insensitive: bool,
    },
    HasAny(Terms),
    /// `has_all`: every term is `has` in the text.
    HasAll(Vec<Needle>),
    /// Case-insensitive `contains` of any of several needles: an `or` of
    /// such tests on one column, merged when the predicate is compiled.
    ContainsAny(AnyContains),
    Empty(bool),
    /// `ipv4_is_in_range(column, "net/bits")`: null when the text is no address.
    Ipv4InRange([u8; 4], u32),
    /// `ipv4_is_in_any_range(column, ...)` over constant ranges: null when
    /// the text is no address.
    Ipv4InRanges(std::sync::Arc<functions::V4Ranges>),
    /// `ipv4_is_private(column)`: null when the text is no address.
    Ipv4Private,
    /// `ipv6_is_match(column, "address/bits"[, prefix])`, either way round:
    /// null when the text is no address.
    Ipv6Match((std::net::Ipv6Addr, u32), Option<u32>),
}

/// Columns for constant subtrees: none.
struct NoColumns;

impl Columns for NoColumns {
    fn column_ref(&self, _source: usize, _id: u32) -> Option<&Value<'_>> {
        None
    }
}

impl Pred {
    /// Compiles `e` (a boolean expression) for a run whose `now` is fixed.
    pub fn compile(e: &TExpr, now: i64) -> Pred {
        if !has_columns(e) {
            return Pred::Const(eval::truth(eval::eval(e, &NoColumns, now)));
        }
        match &e.kind {
            TKind::Binary(BinaryOp::And, l, r) => Pred::And(cheapest_first(flatten(BinaryOp::And, l, r, now))),
            TKind::Binary(BinaryOp::Or, l, r) => Pred::Or(cheapest_first(merge_or(flatten(BinaryOp::Or, l, r, now)))),
            TKind::Unary(UnaryOp::Not, x) => Pred::Not(Box::new(Pred::compile(x, now))),
            _ => leaf(e, now).unwrap_or_else(|| Pred::Expr(e.clone())),
        }
    }

    /// A rough cost of one test, in units of an integer comparison: what
    /// orders the parts of an `and` or `or`.
    fn cost(&self) -> usize {
        match self {
            Pred::Const(_) => 0,
            Pred::And(parts) | Pred::Or(parts) => parts.iter().map(Pred::cost).sum(),
            Pred::Not(p) => p.cost(),
            Pred::Ticks { test: TicksTest::In { set, .. }, .. } => 1 + set.len() / 4,
            Pred::Ticks { .. } => 1,
            Pred::Compare { .. } => 3,
            Pred::TextPair { op: BinaryOp::Str { op: StrOp::Contains | StrOp::Has, .. }, .. } => 12,
            Pred::TextPair { .. } => 3,
            Pred::Text { test, .. } => match test {
                TextTest::Eq(..) | TextTest::EqCi(..) | TextTest::Empty(_) => 2,
                TextTest::In { set, .. } => 2 + set.len() / 2,
                TextTest::Op { op: StrOp::StartsWith | StrOp::EndsWith, .. } => 2,
                TextTest::Op { .. } => 10,
                TextTest::HasAny(terms) if terms.in_one_pass() => 12,
                TextTest::HasAny(terms) => 10 * terms.len(),
                TextTest::HasAll(needles) => 10 * needles.len(),
                TextTest::ContainsAny(any) if any.in_one_pass() => 12,
                TextTest::ContainsAny(any) => 10 * any.len(),
                TextTest::Ipv4InRange(..) | TextTest::Ipv4Private => 5,
                TextTest::Ipv4InRanges(..) => 8,
                TextTest::Ipv6Match(..) => 8,
            },
            Pred::Expr(_) => 50,
        }
    }

    /// Whether the predicate holds: only `true` does.
    #[inline]
    pub fn holds<C: Columns>(&self, cx: &C, now: i64) -> bool {
        self.test(cx, now) == Some(true)
    }

    /// [`Pred::test`] of a batch of up to 128 rows: bit `i` of `live` asks
    /// for `rows[i]`. Returns the bits of the rows for which the predicate
    /// is true, and of those for which it is false (null: neither). The
    /// tree is walked once per batch rather than once per row, so each
    /// node's kind is decided once and its loop over the rows predicts
    /// well; `and`/`or` test each part only on the rows it can still
    /// change, as [`Pred::test`] stops at the first deciding part.
    ///
    /// `columns` holds the values leaves have read from these rows: give
    /// every filter tested on the same rows the same one.
    pub fn test_batch<'r, C: Columns>(
        &self,
        rows: &'r [C],
        live: u128,
        now: i64,
        columns: &mut BatchColumns<'r>,
    ) -> (u128, u128) {
        match self {
            Pred::Const(Some(true)) => (live, 0),
            Pred::Const(Some(false)) => (0, live),
            Pred::Const(None) => (0, 0),
            // Rows leave `open` when a part decides them (false for `and`, true for `or`).
            Pred::And(parts) => {
                let (mut all, mut some, mut open) = (live, 0, live);
                for p in parts {
                    if open == 0 {
                        break;
                    }
                    let (t, f) = p.test_batch(rows, open, now, columns);
                    (all, some, open) = (all & t, some | f, open & !f);
                }
                (all, some)
            }
            Pred::Or(parts) => {
                let (mut some, mut all, mut open) = (0, live, live);
                for p in parts {
                    if open == 0 {
                        break;
                    }
                    let (t, f) = p.test_batch(rows, open, now, columns);
                    (some, all, open) = (some | t, all & f, open & !t);
                }
                (some, all)
            }
            Pred::Not(p) => {
                let (t, f) = p.test_batch(rows, live, now, columns);
                (f, t)
            }
            Pred::Ticks { col, test, .. } => {
                let c = columns.ticks(col, rows, live);
                let ok = live & c.is;
                let n = &c.n;
                let t = match *test {
                    TicksTest::Cmp(op, k) => match op {
                        BinaryOp::Eq => bits_where(ok, |i| n[i] == k),
                        BinaryOp::Ne => bits_where(ok, |i| n[i] != k),
                        BinaryOp::Lt => bits_where(ok, |i| n[i] < k),
                        BinaryOp::Le => bits_where(ok, |i| n[i] <= k),
                        BinaryOp::Gt => bits_where(ok, |i| n[i] > k),
                        BinaryOp::Ge => bits_where(ok, |i| n[i] >= k),
                        _ => bits_where(ok, |i| eval::ordering_holds(op, n[i].cmp(&k))),
                    },
                    TicksTest::Between { low, high, negated } => {
                        bits_where(ok, |i| (low <= n[i] && n[i] <= high) != negated)
                    }
                    TicksTest::In { ref set, negated } => bits_where(ok, |i| set.contains(&n[i]) != negated),
                };
                // Null values: as `on_null` says.
                let nulls = live & c.null;
                let (tn, fn_) = match test.on_null() {
                    Some(true) => (nulls, 0),
                    Some(false) => (0, nulls),
                    None => (0, 0),
                };
                // Values of another kind: the interpreter, row by row.
                let (t2, f2) = self.each_row(rows, live & !c.is & !c.null, now);
                (t | t2 | tn, (ok & !t) | f2 | fn_)
            }
            Pred::Text { col, test, .. } => {
                let c = columns.text(col, rows, live);
                let strings = live & c.is;
                let (t, f) = match test {
                    // Plain addresses here; other texts one by one (an
                    // address with a `/prefix` is masked by it; not an
                    // address: null).
                    TextTest::Ipv4InRange(net, bits) => {
                        let (net, mask) = (u32::from_be_bytes(*net), u32::MAX.checked_shl(32 - bits).unwrap_or(0));
                        let (addr, ok) = c.ipv4(strings);
                        let t = bits_where(ok, |i| (addr[i] ^ net) & mask == 0);
                        let (t2, f2) = c.each(strings & !ok, test);
                        (t | t2, (ok & !t) | f2)
                    }
                    TextTest::Ipv4InRanges(ranges) => {
                        let (addr, ok) = c.ipv4(strings);
                        let t = bits_where(ok, |i| ranges.contains(std::net::Ipv4Addr::from(addr[i])));
                        let (t2, f2) = c.each(strings & !ok, test);
                        (t | t2, (ok & !t) | f2)
                    }
                    TextTest::Ipv4Private => {
                        let (addr, ok) = c.ipv4(strings);
                        let t = bits_where(ok, |i| std::net::Ipv4Addr::from(addr[i]).is_private());
                        let (t2, f2) = c.each(strings & !ok, test);
                        (t | t2, (ok & !t) | f2)
                    }
                    // An IPv4 address is matched as `::ffff:a.b.c.d/128`,
                    // as `parse_v6_prefix` reads it; other texts one by one.
                    TextTest::Ipv6Match(net, prefix) => {
                        let (addr, ok) = c.ipv4(strings);
                        let mapped = |i: usize| (std::net::Ipv4Addr::from(addr[i]).to_ipv6_mapped(), 128);
                        let t = bits_where(ok, |i| functions::ipv6_match(mapped(i), *net, *prefix));
                        let (t2, f2) = c.each(strings & !ok, test);
                        (t | t2, (ok & !t) | f2)
                    }
                    _ => c.each(strings, test),
                };
                let (t2, f2) = self.each_row(rows, live & !c.is, now);
                (t | t2, f | f2)
            }
            _ => self.each_row(rows, live, now),
        }
    }

    /// [`Pred::test`] of each row of `live`, as [`Pred::test_batch`] answers.
    fn each_row<C: Columns>(&self, rows: &[C], live: u128, now: i64) -> (u128, u128) {
        let (mut t, mut f) = (0, 0);
        let mut bits = live;
        while bits != 0 {
            let i = bits.trailing_zeros();
            bits &= bits - 1;
            match self.test(&rows[i as usize], now) {
                Some(true) => t |= 1 << i,
                Some(false) => f |= 1 << i,
                None => {}
            }
        }
        (t, f)
    }

    /// Kusto's three-valued result: `None` is null.
    pub fn test<C: Columns>(&self, cx: &C, now: i64) -> Option<bool> {
        match self {
            Pred::Const(b) => *b,
            Pred::And(parts) => kleene(parts, false, cx, now),
            Pred::Or(parts) => kleene(parts, true, cx, now),
            Pred::Not(p) => p.test(cx, now).map(|b| !b),
            Pred::Ticks { col, test, expr } => {
                let n = match ticks_of(col, cx) {
                    Ok(Some(n)) => n,
                    Ok(None) => return test.on_null(),
                    Err(OtherKind) => return eval::truth(eval::eval(expr, cx, now)),
                };
                Some(match test {
                    TicksTest::Cmp(op, k) => eval::ordering_holds(*op, n.cmp(k)),
                    TicksTest::Between { low, high, negated } => (*low <= n && n <= *high) != *negated,
                    TicksTest::In { set, negated } => set.contains(&n) != *negated,
                })
            }
            Pred::TextPair { a, b, op, expr } => match (value(a, cx), value(b, cx)) {
                (Value::Str(x), Value::Str(y)) => Some(match *op {
                    BinaryOp::Str { op, negated, case_sensitive } => {
                        search::str_test(op, x, y, case_sensitive) != negated
                    }
                    BinaryOp::EqCi | BinaryOp::NeCi => search::eq_ignore_case(x, y) == (*op == BinaryOp::EqCi),
                    op => (x == y) == (op == BinaryOp::Eq),
                }),
                _ => eval::truth(eval::eval(expr, cx, now)),
            },
            Pred::Compare { l, op, r, expr } => match (l.value(cx), r.value(cx)) {
                (Ok(Some(l)), Ok(Some(r))) => Some(eval::ordering_holds(*op, l.cmp(&r))),
                // A null side (or an overflow, which is null): `==` and `!=`
                // as Kusto has them with nulls, the orderings null.
                (Ok(l), Ok(r)) => match op {
                    BinaryOp::Eq | BinaryOp::Ne => {
                        eval::null_equality(*op == BinaryOp::Eq, &opt_long(l), &opt_long(r)).flatten()
                    }
                    _ => None,
                },
                _ => eval::truth(eval::eval(expr, cx, now)),
            },
            Pred::Text { col, test, expr } => {
                let v = value(col, cx);
                let Value::Str(s) = v else { return eval::truth(eval::eval(expr, cx, now)) };
                text_test(test, s, cx.ascii(col.source))
            }
            Pred::Expr(e) => eval::truth(eval::eval(e, cx, now)),
        }
    }
}

/// A text test on a string value; `ascii`: the text is known to be ASCII
/// (false: not known).
#[inline]
fn text_test(test: &TextTest, s: &str, ascii: bool) -> Option<bool> {
    Some(match test {
        TextTest::Ipv4InRange(net, bits) => {
            return functions::parse_v4_masked(s).map(|ip| functions::prefix_eq(&ip.octets(), net, *bits));
        }
        TextTest::Ipv4Private => return functions::parse_v4_masked(s).map(|ip| ip.is_private()),
        TextTest::Ipv4InRanges(ranges) => return functions::parse_v4_masked(s).map(|ip| ranges.contains(ip)),
        TextTest::Ipv6Match(net, prefix) => {
            return functions::parse_v6_prefix(s).map(|ip| functions::ipv6_match(ip, *net, *prefix));
        }
        TextTest::Eq(k, negated) => (s == k) != *negated,
        TextTest::EqCi(k, negated) => search::eq_ignore_case(s, k) != *negated,
        TextTest::Op { op, needle, negated } => needle.test_known(*op, s, ascii) != *negated,
        TextTest::In { set, negated, case_insensitive: false } => set.iter().any(|k| k == s) != *negated,
        TextTest::In { set, negated, case_insensitive: true } => {
            set.iter().any(|k| search::eq_ignore_case(s, k)) != *negated
        }
        TextTest::HasAny(terms) => terms.any_in(s, ascii),
        TextTest::HasAll(needles) => needles.iter().all(|n| n.test_known(StrOp::Has, s, ascii)),
        TextTest::ContainsAny(any) => any.any_in(s, ascii),
        TextTest::Empty(negated) => s.is_empty() != *negated,
    })
}

/// The bits of `ok` whose row `f` holds for.
#[inline(always)]
fn bits_where(ok: u128, f: impl Fn(usize) -> bool) -> u128 {
    let (mut out, mut bits) = (0, ok);
    while bits != 0 {
        let i = bits.trailing_zeros();
        bits &= bits - 1;
        out |= u128::from(f(i as usize)) << i;
    }
    out
}

/// Rows tested together by [`Pred::test_batch`]: at most 128, the bits of
/// a `u128`.
pub const BATCH: usize = 128;

/// The columns a batch's leaf tests read, taken out of the rows once and
/// shared by every filter tested on those rows: a long, datetime or
/// timespan column's ticks, a string column's text. Filters compare the
/// same few columns over and over (in the 20-rule benchmark, 12 tests a
/// record on `ResponseStatusCode`); each test then loops over an array
/// instead of finding its value in each row. A column's rows are read as
/// tests first ask for them.
#[derive(Default)]
pub struct BatchColumns<'r> {
    ticks: Vec<TicksColumn>,
    texts: Vec<TextColumn<'r>>,
}

/// The first item `is` holds for, added by `new` when there is none.
fn find_or_add<T>(items: &mut Vec<T>, is: impl Fn(&T) -> bool, new: impl FnOnce() -> T) -> &mut T {
    let k = match items.iter().position(is) {
        Some(k) => k,
        None => {
            items.push(new());
            items.len() - 1
        }
    };
    &mut items[k]
}

struct TicksColumn {
    source: usize,
    id: u32,
    ty: Type,
    /// The rows read.
    done: u128,
    /// The rows whose value is of the column's kind (its ticks in `n`).
    is: u128,
    /// The rows whose value is null.
    null: u128,
    n: [i64; BATCH],
}

struct TextColumn<'r> {
    source: usize,
    id: u32,
    done: u128,
    /// The rows whose value is a string (in `s`).
    is: u128,
    /// The rows whose string is ASCII.
    ascii: u128,
    s: [&'r str; BATCH],
    /// The rows whose string was read as an IPv4 address; of those, the
    /// ones that are one (the address in `v4`).
    v4_done: u128,
    v4_ok: u128,
    v4: [u32; BATCH],
}

impl TextColumn<'_> {
    /// `test` on the strings of `rows`, one by one: the rows for which it
    /// is true, and false (null: neither).
    fn each(&self, rows: u128, test: &TextTest) -> (u128, u128) {
        let (mut t, mut f, mut bits) = (0, 0, rows);
        while bits != 0 {
            let i = bits.trailing_zeros();
            bits &= bits - 1;
            match text_test(test, self.s[i as usize], self.ascii >> i & 1 == 1) {
                Some(true) => t |= 1 << i,
                Some(false) => f |= 1 << i,
                None => {}
            }
        }
        (t, f)
    }

    /// The IPv4 addresses of the strings of `rows` (rows whose value is a
    /// string), parsed once for every test of the batch on the column; and
    /// the rows of `rows` whose string is an address.
    fn ipv4(&mut self, rows: u128) -> (&[u32; BATCH], u128) {
        let mut todo = rows & !self.v4_done;
        self.v4_done |= todo;
        while todo != 0 {
            let i = todo.trailing_zeros();
            todo &= todo - 1;
            if let Some(ip) = functions::parse_v4(self.s[i as usize]) {
                self.v4[i as usize] = ip.to_bits();
                self.v4_ok |= 1 << i;
            }
        }
        (&self.v4, rows & self.v4_ok)
    }
}

impl<'r> BatchColumns<'r> {
    /// Column `col`'s ticks, read from the rows of `live` not read yet.
    fn ticks<C: Columns>(&mut self, col: &Col, rows: &'r [C], live: u128) -> &TicksColumn {
        let (source, id, ty) = (col.source, col.id, col.ty);
        let c = find_or_add(
            &mut self.ticks,
            |c| (c.source, c.id, c.ty) == (source, id, ty),
            || TicksColumn { source, id, ty, done: 0, is: 0, null: 0, n: [0; BATCH] },
        );
        let mut todo = live & !c.done;
        c.done |= todo;
        while todo != 0 {
            let i = todo.trailing_zeros();
            todo &= todo - 1;
            match ticks_of(col, &rows[i as usize]) {
                Ok(Some(n)) => {
                    c.n[i as usize] = n;
                    c.is |= 1 << i;
                }
                Ok(None) => c.null |= 1 << i,
                Err(OtherKind) => {}
            }
        }
        c
    }

    /// Column `col`'s strings, read from the rows of `live` not read yet.
    fn text<C: Columns>(&mut self, col: &Col, rows: &'r [C], live: u128) -> &mut TextColumn<'r> {
        let (source, id) = (col.source, col.id);
        let c = find_or_add(
            &mut self.texts,
            |c| (c.source, c.id) == (source, id),
            || {
                let (done, is, ascii, s) = (0, 0, 0, [""; BATCH]);
                TextColumn { source, id, done, is, ascii, s, v4_done: 0, v4_ok: 0, v4: [0; BATCH] }
            },
        );
        let mut todo = live & !c.done;
        c.done |= todo;
        while todo != 0 {
            let i = todo.trailing_zeros();
            todo &= todo - 1;
            let row = &rows[i as usize];
            if let Value::Str(s) = value(col, row) {
                c.s[i as usize] = s;
                c.is |= 1 << i;
                if row.ascii(col.source) || s.is_ascii() {
                    c.ascii |= 1 << i;
                }
            }
        }
        c
    }
}

/// `and` (`decides` false) or `or` (`decides` true) of `parts`, in Kusto's
/// three-valued logic: the deciding value if any part has it, else null if
/// any part is null, else the other value.
fn kleene<C: Columns>(parts: &[Pred], decides: bool, cx: &C, now: i64) -> Option<bool> {
    let mut result = Some(!decides);
    for p in parts {
        match p.test(cx, now) {
            Some(b) if b == decides => return Some(decides),
            None => result = None,
            Some(_) => {}
        }
    }
    result
}

/// A column's value, or the value it has when absent.
#[inline]
fn value<'c, C: Columns>(col: &Col, cx: &'c C) -> &'c Value<'c> {
    static EMPTY: Value<'static> = Value::EMPTY;
    static NULL: Value<'static> = Value::Null;
    cx.column_ref(col.source, col.id).unwrap_or(if col.ty == Type::String { &EMPTY } else { &NULL })
}

/// A long, datetime or timespan column's ticks, `None` for null.
#[inline]
fn ticks_of<C: Columns>(col: &Col, cx: &C) -> Result<Option<i64>, OtherKind> {
    let v = value(col, cx);
    match ticks_value(v) {
        Some((n, ty)) if ty == col.ty => Ok(Some(n)),
        _ if v.is_null() => Ok(None),
        _ => Err(OtherKind),
    }
}

/// Ticks (or a long) as a value, `None` as null: for [`eval::null_equality`].
fn opt_long(n: Option<i64>) -> Value<'static> {
    n.map_or(Value::Null, Value::Long)
}

/// A long, datetime or timespan value's ticks, and its type.
fn ticks_value(v: &Value) -> Option<(i64, Type)> {
    match v {
        Value::Long(n) => Some((*n, Type::Long)),
        Value::DateTime(n) => Some((*n, Type::DateTime)),
        Value::Timespan(n) => Some((*n, Type::Timespan)),
        _ => None,
    }
}

/// The parts of an `or`, with the tests of one string column against
/// several constants merged into one test of the column: `=~` tests into a
/// case-insensitive `in~` set, case-insensitive `contains` tests into one
/// multi-needle search (Sigma's value lists lower to such `or`s). The merged
/// test keeps the `or` of the parts' expressions for the interpreter.
fn merge_or(parts: Vec<Pred>) -> Vec<Pred> {
    #[derive(PartialEq)]
    enum Kind {
        EqCi,
        Contains,
    }
    struct Group {
        source: usize,
        id: u32,
        kind: Kind,
        texts: Vec<String>,
        parts: Vec<Pred>,
    }
    let mut groups: Vec<Group> = Vec::new();
    let mut out = Vec::new();
    for p in parts {
        let key = match &p {
            Pred::Text { col, test: TextTest::EqCi(k, false), .. } => Some((col.source, col.id, Kind::EqCi, k.clone())),
            Pred::Text { col, test: TextTest::Op { op: StrOp::Contains, needle, negated: false }, .. }
                if !needle.is_case_sensitive() =>
            {
                Some((col.source, col.id, Kind::Contains, needle.text().to_string()))
            }
            _ => None,
        };
        match key {
            Some((source, id, kind, text)) => {
                match groups.iter_mut().find(|g| g.source == source && g.id == id && g.kind == kind) {
                    Some(g) => {
                        g.texts.push(text);
                        g.parts.push(p);
                    }
                    None => groups.push(Group { source, id, kind, texts: vec![text], parts: vec![p] }),
                }
            }
            None => out.push(p),
        }
    }
    for mut g in groups {
        if g.parts.len() == 1 {
            out.extend(g.parts);
            continue;
        }
        let exprs: Vec<TExpr> = g
            .parts
            .iter()
            .filter_map(|p| match p {
                Pred::Text { expr, .. } => Some(expr.clone()),
                _ => None,
            })
            .collect();
        let expr = balanced_or(exprs);
        let Some(Pred::Text { col, .. }) = g.parts.pop() else { unreachable!("a group holds text tests") };
        let test = match g.kind {
            Kind::EqCi => TextTest::In { set: g.texts, negated: false, case_insensitive: true },
            Kind::Contains => TextTest::ContainsAny(AnyContains::new(&g.texts)),
        };
        out.push(Pred::Text { col, test, expr });
    }
    out
}

/// The `or` of `exprs` (at least one), as a balanced tree: a Sigma list of
/// 100,000 values nests 17 deep, not 100,000.
fn balanced_or(mut exprs: Vec<TExpr>) -> TExpr {
    if exprs.len() == 1 {
        return exprs.pop().expect("one");
    }
    let right = exprs.split_off(exprs.len() / 2);
    let (a, b) = (balanced_or(exprs), balanced_or(right));
    let span = a.span;
    TExpr { kind: TKind::Binary(BinaryOp::Or, Box::new(a), Box::new(b)), ty: Type::Bool, span }
}

/// The parts of an `and` or `or`, cheapest first: in Kusto's three-valued
/// logic the result does not depend on their order (and tests have no side
/// effects), and the first deciding part ends the test.
fn cheapest_first(mut parts: Vec<Pred>) -> Vec<Pred> {
    parts.sort_by_key(Pred::cost);
    parts
}

fn flatten(op: BinaryOp, l: &TExpr, r: &TExpr, now: i64) -> Vec<Pred> {
    let mut out = Vec::new();
    for side in [l, r] {
        match &side.kind {
            TKind::Binary(o, a, b) if *o == op && has_columns(side) => out.extend(flatten(op, a, b, now)),
            _ => out.push(Pred::compile(side, now)),
        }
    }
    out
}

/// `e` as checked integer arithmetic, with its type: long, datetime and
/// timespan columns and constants under `+` and `-`, in the combinations
/// the interpreter computes.
fn arith(e: &TExpr, now: i64) -> Option<(Arith, Type)> {
    if let Some(k) = constant(e, now) {
        return ticks_value(&k).map(|(n, ty)| (Arith::Const(n), ty));
    }
    if let Some(c) = plain(e) {
        return matches!(e.ty, Type::Long | Type::DateTime | Type::Timespan)
            .then(|| (Arith::Col(Col { source: c.source, id: c.id, ty: e.ty }), e.ty));
    }
    let TKind::Binary(op @ (BinaryOp::Add | BinaryOp::Sub), l, r) = &e.kind else { return None };
    let ((l, lt), (r, rt)) = (arith(l, now)?, arith(r, now)?);
    use Type::{DateTime, Long, Timespan};
    let ty = match (op, lt, rt) {
        (_, Long, Long) => Long,
        (_, Timespan, Timespan) => Timespan,
        (_, DateTime, Timespan) | (BinaryOp::Add, Timespan, DateTime) => DateTime,
        (BinaryOp::Sub, DateTime, DateTime) => Timespan,
        _ => return None,
    };
    let (l, r) = (Box::new(l), Box::new(r));
    Some((if *op == BinaryOp::Add { Arith::Add(l, r) } else { Arith::Sub(l, r) }, ty))
}

fn has_columns(e: &TExpr) -> bool {
    let mut found = false;
    e.walk(&mut |x| found |= matches!(x.kind, TKind::Column(_)));
    found
}

/// A plain column (no path into a dynamic value).
fn plain(e: &TExpr) -> Option<&ColumnRef> {
    e.as_column().filter(|c| c.path.is_empty())
}

/// A constant subtree's value.
fn constant(e: &TExpr, now: i64) -> Option<Value<'static>> {
    (!has_columns(e)).then(|| eval::eval(e, &NoColumns, now).undynamic().into_owned())
}

/// The fast test for a leaf, when it has one of the shapes compiled.
fn leaf(e: &TExpr, now: i64) -> Option<Pred> {
    let col = |c: &ColumnRef, ty: Type| Col { source: c.source, id: c.id, ty };
    let ticks = |ty: Type, v: &Value| ticks_value(v).filter(|&(_, t)| t == ty).map(|(n, _)| n);
    let text = |v: Value<'static>| match v {
        Value::Str(s) => Some(s.into_owned()),
        _ => None,
    };
    let ticks_pred = |c: &ColumnRef, ty: Type, test| Pred::Ticks { col: col(c, ty), test, expr: e.clone() };
    let text_pred = |c: &ColumnRef, test| Pred::Text { col: col(c, Type::String), test, expr: e.clone() };
    match &e.kind {
        TKind::Binary(op, l, r) => {
            let flipped = |op: BinaryOp| match op {
                BinaryOp::Lt => BinaryOp::Gt,
                BinaryOp::Le => BinaryOp::Ge,
                BinaryOp::Gt => BinaryOp::Lt,
                BinaryOp::Ge => BinaryOp::Le,
                other => other,
            };
            if let (Some(a), Some(b)) = (plain(l), plain(r))
                && l.ty == Type::String
                && r.ty == Type::String
                && matches!(op, BinaryOp::Eq | BinaryOp::Ne | BinaryOp::EqCi | BinaryOp::NeCi | BinaryOp::Str { .. })
            {
                let (a, b) = (col(a, Type::String), col(b, Type::String));
                return Some(Pred::TextPair { a, b, op: *op, expr: e.clone() });
            }
            // Arithmetic on either side (a column against a constant is a `Ticks` test, below).
            let column_vs_constant = |c: &TExpr, k: &TExpr| plain(c).is_some() && !has_columns(k);
            if op.is_ordering()
                && !column_vs_constant(l, r)
                && !column_vs_constant(r, l)
                && let (Some((la, lt)), Some((ra, rt))) = (arith(l, now), arith(r, now))
                && lt == rt
            {
                return Some(Pred::Compare { l: la, op: *op, r: ra, expr: e.clone() });
            }
            // The column on the left, or (for comparisons) on the right.
            let (c, ty, k, op) = match (plain(l), plain(r)) {
                (Some(c), None) => (c, l.ty, constant(r, now)?, *op),
                (None, Some(c)) if op.is_ordering() => (c, r.ty, constant(l, now)?, flipped(*op)),
                _ => return None,
            };
            match op {
                op if op.is_ordering() => {
                    if let Some(k) = ticks(ty, &k) {
                        return Some(ticks_pred(c, ty, TicksTest::Cmp(op, k)));
                    }
                    if ty == Type::String && matches!(op, BinaryOp::Eq | BinaryOp::Ne) {
                        return Some(text_pred(c, TextTest::Eq(text(k)?, op == BinaryOp::Ne)));
                    }
                    None
                }
                BinaryOp::EqCi | BinaryOp::NeCi if ty == Type::String && plain(l).is_some() => {
                    Some(text_pred(c, TextTest::EqCi(text(k)?, op == BinaryOp::NeCi)))
                }
                BinaryOp::Str { op, negated, case_sensitive } if ty == Type::String && plain(l).is_some() => {
                    Some(text_pred(c, TextTest::Op { op, needle: Needle::new(&text(k)?, case_sensitive), negated }))
                }
                _ => None,
            }
        }
        TKind::Between { expr, low, high, negated } => {
            let c = plain(expr)?;
            let low = constant(low, now)?;
            // A timespan upper bound is the lower bound plus it.
            let high = eval::between_high(&low, constant(high, now)?);
            let (low, high) = (ticks(expr.ty, &low)?, ticks(expr.ty, &high)?);
            Some(ticks_pred(c, expr.ty, TicksTest::Between { low, high, negated: *negated }))
        }
        TKind::In { expr, op, list } => {
            let c = plain(expr)?;
            let items = list.iter().map(|i| constant(i, now)).collect::<Option<Vec<_>>>()?;
            match (op, expr.ty) {
                (InOp::In { negated, case_insensitive: false }, Type::Long | Type::DateTime | Type::Timespan) => {
                    let set = items.iter().map(|v| ticks(expr.ty, v)).collect::<Option<Vec<_>>>()?;
                    Some(ticks_pred(c, expr.ty, TicksTest::In { set, negated: *negated }))
                }
                (InOp::In { negated, case_insensitive }, Type::String) => {
                    let set = items.into_iter().map(text).collect::<Option<Vec<_>>>()?;
                    let (negated, case_insensitive) = (*negated, *case_insensitive);
                    Some(text_pred(c, TextTest::In { set, negated, case_insensitive }))
                }
                (InOp::HasAny, Type::String) => {
                    let terms = items.into_iter().map(text).collect::<Option<Vec<_>>>()?;
                    Some(text_pred(c, TextTest::HasAny(Terms::new(&terms))))
                }
                (InOp::HasAll, Type::String) => {
                    let terms = items.into_iter().map(text).collect::<Option<Vec<_>>>()?;
                    Some(text_pred(c, TextTest::HasAll(terms.iter().map(|t| Needle::new(t, false)).collect())))
                }
                _ => None,
            }
        }
        TKind::Call(f @ (Func::IsEmpty | Func::IsNotEmpty), args) => match args.as_slice() {
            [a] if a.ty == Type::String => Some(text_pred(plain(a)?, TextTest::Empty(*f == Func::IsNotEmpty))),
            _ => None,
        },
        TKind::Call(Func::Ipv4IsPrivate, args) => match args.as_slice() {
            [a] if a.ty == Type::String => Some(text_pred(plain(a)?, TextTest::Ipv4Private)),
            _ => None,
        },
        TKind::Call(Func::Ipv6IsMatch, args) => {
            let (c, other, prefix) = match args.as_slice() {
                [a, b] => (a, b, None),
                [a, b, p] => (a, b, Some(p)),
                _ => return None,
            };
            let (c, other) = if plain(c).is_some() { (c, other) } else { (other, c) };
            let net = functions::parse_v6_prefix(&text(constant(other, now)?)?)?;
            let prefix = match prefix.map(|p| constant(p, now)) {
                None | Some(Some(Value::Null)) => None,
                Some(Some(Value::Long(n))) => Some(n.clamp(0, 128) as u32),
                Some(_) => return None,
            };
            (c.ty == Type::String).then_some(())?;
            Some(text_pred(plain(c)?, TextTest::Ipv6Match(net, prefix)))
        }
        TKind::Ipv4Ranges { expr, ranges, .. } if expr.ty == Type::String => {
            Some(text_pred(plain(expr)?, TextTest::Ipv4InRanges(ranges.clone())))
        }
        TKind::Call(Func::Ipv4IsInRange, args) => match args.as_slice() {
            [a, range] if a.ty == Type::String => {
                let (net, bits) = functions::parse_v4_range(&text(constant(range, now)?)?)?;
                Some(text_pred(plain(a)?, TextTest::Ipv4InRange(net.octets(), bits)))
            }
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datetime::TICKS_PER_DAY;
    use crate::plan::Plan;

    const NOW: i64 = 20_000 * TICKS_PER_DAY;

    /// One single-source rule over Graph activity per filter, planned together.
    fn plan(filters: &[&str]) -> Plan {
        let files: Vec<_> = filters
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let filter = f.replace('\'', "''");
                crate::plan::test_rule(
                    i,
                    &format!(
                        "  sources:\n    a: MicrosoftGraphActivityLogs\n  filter:\n    a: '{filter}'\n\
                         \x20 output:\n    T: a.TimeGenerated\n"
                    ),
                )
            })
            .collect::<Vec<_>>();
        crate::plan::plan_of(&files)
    }

    /// A record: a value (or no value: the column is absent) per column name.
    struct Record<'p> {
        plan: &'p Plan,
        values: Vec<(&'static str, Value<'static>)>,
    }

    impl Columns for Record<'_> {
        fn column_ref(&self, _source: usize, id: u32) -> Option<&Value<'_>> {
            let name = &self.plan.columns[id as usize];
            self.values.iter().find(|(n, _)| n == name).map(|(_, v)| v)
        }
    }

    /// Every compiled filter gives the interpreter's result (true, false or
    /// null) on every record, edge values, absent columns and values of an
    /// unexpected kind included; and the common shapes compile to fast tests.
    #[test]
    fn compiled_filters_agree_with_the_interpreter() {
        let filters = [
            "ResponseStatusCode between (200 .. 299)",
            "ResponseStatusCode !between (200 .. 299)",
            "ResponseStatusCode in (401, 403)",
            "ResponseStatusCode !in (401, 403)",
            "ResponseStatusCode == 200",
            "200 < ResponseStatusCode",
            "ResponseStatusCode >= 500 and DurationMs > 1400",
            "ResponseStatusCode > 2.5",
            "TimeGenerated > ago(30d)",
            "TimeGenerated between (ago(7d) .. now())",
            "ago(1d) <= TimeGenerated",
            "RequestMethod == \"GET\"",
            "RequestMethod != \"GET\"",
            "RequestMethod =~ \"get\"",
            "RequestMethod !~ \"GET\"",
            "RequestMethod in (\"POST\", \"PATCH\")",
            "RequestMethod !in (\"POST\", \"PATCH\")",
            "RequestMethod in~ (\"post\", \"Patch\")",
            "RequestMethod !in~ (\"post\")",
            "RequestUri contains \"/USERS/\"",
            "RequestUri contains_cs \"/users/\"",
            "RequestUri !has \"$batch\"",
            "RequestUri has \"users\"",
            "RequestUri startswith \"https://graph.microsoft.com/beta/\"",
            "RequestUri endswith \"$batch\"",
            "UserAgent has_any (\"ROADtools\", \"GraphRunner\")",
            "UserAgent !startswith \"Moz\"",
            "isempty(IPAddress)",
            "isnotempty(UserAgent)",
            "not(ResponseStatusCode == 200) or RequestMethod == \"GET\" and not(IPAddress startswith \"10.\")",
            "ResponseStatusCode == 200 or isnotempty(IPAddress) or RequestUri matches regex \"^h\"",
            "strlen(IPAddress) > 7 and true",
            "1 == 2 or ResponseStatusCode == 204",
            "\"GET\" == RequestMethod",
            "ipv4_is_in_range(IPAddress, \"10.0.0.0/8\") or ipv4_is_private(UserAgent)",
            "ipv4_is_in_range(IPAddress, \"192.168.1.128/25\")",
            "ipv4_is_in_range(IPAddress, \"not a range\")",
            "IPAddress == UserAgent",
            "RequestMethod != RequestUri",
            "IPAddress endswith UserAgent",
            "UserAgent contains IPAddress",
            "UserAgent !has RequestMethod",
            "RequestMethod =~ UserAgent",
            "RequestMethod !~ IPAddress",
            "UserAgent startswith_cs RequestMethod",
            "TimeGenerated - TokenIssuedAt > 70m",
            "TimeGenerated < TokenIssuedAt - 5m",
            "TokenIssuedAt + 1h >= TimeGenerated",
            "1d + TokenIssuedAt != TimeGenerated",
            "TimeGenerated - TokenIssuedAt == TokenIssuedAt - TimeGenerated",
            "ResponseStatusCode + DurationMs == 400",
            "ResponseStatusCode - 1 > DurationMs",
            "ipv6_is_match(IPAddress, \"2a0b:f4c0::/32\")",
            "ipv6_is_match(IPAddress, \"10.1.2.2\") or ipv6_is_match(UserAgent, \"192.168.1.131\")",
            "ipv6_is_match(\"10.1.0.0/16\", IPAddress)",
            "ipv6_is_match(IPAddress, \"192.168.1.1\", 120)",
            "ipv6_is_match(IPAddress, \"192.168.1.1\", 200)",
            "ipv6_is_match(\"10.0.0.0/8\", IPAddress, -3)",
            "ipv6_is_match(IPAddress, \"::ffff:192.168.1.0\", tolong(\"x\"))",
            "ResponseStatusCode - DurationMs < 0 or ResponseStatusCode + DurationMs > 100",
            "RequestUri contains \"beta\" and ResponseStatusCode == 200 and TimeGenerated > ago(30d)",
            "RequestUri has \"users\" or UserAgent has_any (\"x\") or isempty(IPAddress) or DurationMs < 300",
            "UserAgent has \"key\" or UserAgent has_any (\"mozilla\", \"kEy\")",
            "ipv4_is_in_range(IPAddress, \"0.0.0.0/0\") and not(ipv4_is_in_range(IPAddress, \"10.1.2.3/32\"))",
            "ipv4_is_private(IPAddress) or ipv4_is_in_range(IPAddress, \"10.1.2.0/31\")",
            "ipv4_is_in_range(UserAgent, \"172.16.0.0/12\") or ipv4_is_in_range(IPAddress, \"192.168.0.0/16\")",
            // Nulls: `==` and `in` of a null and a value false, `!=` and `!in` true, two nulls null.
            "ResponseStatusCode != 200",
            "200 != ResponseStatusCode or DurationMs == 401",
            "not(ResponseStatusCode != 200) and TimeGenerated != ago(1d)",
            "TimeGenerated == ago(30d) or TokenIssuedAt != datetime(2026-07-16)",
            "ResponseStatusCode == DurationMs",
            "ResponseStatusCode != DurationMs",
            "ResponseStatusCode + DurationMs != 400",
            "TimeGenerated - TokenIssuedAt != TokenIssuedAt - TimeGenerated",
            "ResponseStatusCode == null or DurationMs != null",
            "RequestMethod =~ null or UserAgent !~ null",
            "ResponseStatusCode in (200, null) or DurationMs !in (null, 300)",
            // A timespan upper bound: the lower bound plus it.
            "TimeGenerated between (ago(30d) .. 29d)",
            "TimeGenerated !between (ago(30d) .. 1d)",
            "TokenIssuedAt between (TimeGenerated .. 1d)",
            // Sigma value lists: merged into one set or one multi-needle search per column.
            "RequestUri hasprefix \"bat\" or UserAgent hassuffix_cs \"EY\" or UserAgent !hasprefix \"road\"",
            "UserAgent has_all (\"mozilla\", \"roadtools\")",
            "RequestUri contains \"USERS\" or RequestUri contains \"beta\" or RequestMethod =~ \"get\" or RequestMethod =~ \"Post\"",
            "UserAgent contains \"stra\u{00df}e\" or UserAgent contains \"\u{212a}ey\" or UserAgent contains \"\"",
            "UserAgent contains \"roadtools\" or UserAgent contains \"10.1\" or UserAgent contains_cs \"GET\"",
        ];
        let plan = plan(&filters);
        let day = TICKS_PER_DAY;
        let ints = [None, Some(Value::Null), Some(Value::Long(200)), Some(Value::Long(299)), Some(Value::Long(300))]
            .into_iter()
            .chain([Some(Value::Long(401)), Some(Value::Long(-5)), Some(Value::Real(250.0))])
            .chain([Some(Value::Long(i64::MAX)), Some(Value::Long(i64::MIN))]);
        // The Kelvin sign folds to `k`: a case-insensitive search on it must not take the ASCII path.
        let texts =
            ["", "GET", "get", "10.1.2.3", "https://graph.microsoft.com/beta/users/$batch", "Straße \u{212A}EY"]
                .map(|s| Some(Value::Str(s.into())))
                .into_iter()
                .chain([None, Some(Value::Str("Mozilla/5.0 ROADtools x".into())), Some(Value::Long(7))])
                .chain([Some(Value::Str("192.168.1.130".into())), Some(Value::Str("2a0b:f4c0::1".into()))])
                .chain([Some(Value::Str(" 172.31.255.255 ".into())), Some(Value::Str("10.1.2.03".into()))])
                .chain([Some(Value::Str("10.1.2.3/24".into()))]);
        let times = [None, Some(Value::Null), Some(Value::DateTime(NOW - day)), Some(Value::DateTime(NOW - 30 * day))]
            .into_iter()
            .chain([Some(Value::DateTime(NOW - 30 * day + 1)), Some(Value::DateTime(NOW + 1))]);
        let issued = times.clone().chain([Some(Value::DateTime(i64::MAX)), Some(Value::DateTime(i64::MIN))]);
        let mut records = Vec::new();
        for (i, n) in ints.clone().enumerate() {
            for j in 0..10 {
                for time in times.clone() {
                    let mut values = Vec::new();
                    let mut put = |name, v: &Option<Value<'static>>| {
                        if let Some(v) = v {
                            values.push((name, v.clone()));
                        }
                    };
                    put("ResponseStatusCode", &n);
                    // Another long from the list: sums and differences of the two overflow at the extremes.
                    put("DurationMs", &ints.clone().nth((i + j) % 10).flatten());
                    put("TimeGenerated", &time);
                    // The issue time: from the same list, shifted; the extremes overflow a difference.
                    put("TokenIssuedAt", &issued.clone().nth((i + j) % 8).flatten());
                    for (k, name) in ["RequestMethod", "RequestUri", "UserAgent", "IPAddress"].into_iter().enumerate() {
                        // Each text column gets its own value from the list.
                        put(name, &texts.clone().nth((j + k + i) % 14).flatten());
                    }
                    records.push(values);
                }
            }
        }
        let mut fast = 0;
        let mut kinds = Vec::new();
        let mut compiled = Vec::new();
        for (rule, text) in plan.rules.iter().zip(filters) {
            let filter = rule.sources[0].filter.as_ref().unwrap();
            let pred = Pred::compile(filter, NOW);
            fast += usize::from(!matches!(pred, Pred::Expr(_)));
            kinds.push(match &pred {
                Pred::Compare { .. } => "compare",
                Pred::TextPair { .. } => "text pair",
                Pred::Text { test: TextTest::Ipv6Match(..), .. } => "ipv6",
                Pred::And(parts) | Pred::Or(parts) => {
                    let costs: Vec<_> = parts.iter().map(Pred::cost).collect();
                    assert!(costs.is_sorted(), "{text}: parts cheapest first, {costs:?}");
                    "and/or"
                }
                _ => "other",
            });
            let mut wanted = Vec::new();
            for values in &records {
                let record = Record { plan: &plan, values: values.clone() };
                let want = eval::truth(eval::eval(filter, &record, NOW));
                assert_eq!(pred.test(&record, NOW), want, "{text} on {values:?}");
                wanted.push(want);
            }
            compiled.push((text, pred, wanted));
        }
        // In batches of 128 rows (the last one shorter), every filter sharing
        // the batch's columns, asking for every third row and then for every
        // row (so a column's rows are read in two goes), or for every row
        // only: the rows not asked for are neither true nor false.
        for (b, batch) in records.chunks(128).enumerate() {
            let rows: Vec<Record> = batch.iter().map(|v| Record { plan: &plan, values: v.clone() }).collect();
            let every = if rows.len() == 128 { !0 } else { (1u128 << rows.len()) - 1 };
            let thirds = (0..rows.len()).filter(|i| i % 3 == 1).fold(0u128, |m, i| m | 1 << i);
            for lives in [&[thirds, every][..], &[every]] {
                let mut columns = BatchColumns::default();
                for &live in lives {
                    for (text, pred, wanted) in &compiled {
                        let (t, f) = pred.test_batch(&rows, live, NOW, &mut columns);
                        for (i, want) in wanted[b * 128..][..rows.len()].iter().enumerate() {
                            let got = match (t >> i & 1, f >> i & 1) {
                                (1, 1) => panic!("{text}: row {i} both true and false"),
                                (1, 0) => Some(true),
                                (0, 1) => Some(false),
                                _ => None,
                            };
                            let want = if live >> i & 1 == 1 { *want } else { None };
                            assert_eq!(got, want, "{text}, batch row {i}: {:?}", batch[i]);
                        }
                    }
                }
            }
        }
        assert!(fast >= filters.len() - 3, "most shapes compile to fast tests: {fast}");
        let count = |kind| kinds.iter().filter(|k| **k == kind).count();
        assert_eq!((count("text pair"), count("compare"), count("ipv6")), (8, 11, 6), "{kinds:?}");
        // A `between` with a timespan upper bound is a ticks range too.
        let spans = compiled.iter().filter(|(text, ..)| text.contains(" .. 29d)") || text.contains(" .. 1d)"));
        for (text, pred, _) in spans {
            let range = matches!(pred, Pred::Ticks { test: TicksTest::Between { .. }, .. });
            assert_eq!(range, !text.starts_with("TokenIssuedAt"), "{text}: {pred:?}");
        }
        // The value-list filters merged: one set test and one multi-needle test in the first.
        let merged = |pred: &Pred| match pred {
            Pred::Or(parts) => parts
                .iter()
                .filter(|p| matches!(p, Pred::Text { test: TextTest::In { .. } | TextTest::ContainsAny(_), .. }))
                .count(),
            _ => 0,
        };
        let lists: Vec<usize> = compiled[compiled.len() - 3..].iter().map(|(_, p, _)| merged(p)).collect();
        assert_eq!(lists, [2, 1, 1], "an or of one column's =~ and contains tests is merged");
    }
}
