//! Joins: a rule's build side hashed on its join key, and the probe of one
//! record of the other side against it.

use std::borrow::Cow;
use std::hash::{Hash, Hasher};

use rayon::prelude::*;

use super::{Alert, One, Pair, Row, RowRef, output};
use crate::check::JoinKey;
use crate::eval::{self, Columns};
use crate::plan::{Plan, TablePlan};
use crate::types::Type;
use crate::value::Value;

/// A rule's hash table: build-side records by join key.
pub(super) struct Join {
    pub(super) build: usize,
    rows: hashbrown::HashMap<Key, Vec<RowRef>, foldhash::fast::RandomState>,
    as_real: Vec<bool>,
}

/// Hashes the build side `build` of rule `r`: its kept records by join key.
pub(super) fn build_join(
    plan: &Plan,
    r: usize,
    build: usize,
    rows: &[Vec<Row<'static>>],
    passing: &[RowRef],
    now: i64,
) -> Join {
    let rule = &plan.rules[r];
    let as_real: Vec<bool> = rule.join.iter().map(|k| k.left.ty == Type::Real || k.right.ty == Type::Real).collect();
    // Keys are computed in parallel, then inserted in input order, so each
    // key's rows stay in input order.
    let keys: Vec<Option<Key>> = passing
        .par_iter()
        .map(|&rr| {
            let row = &rows[rr.table as usize][rr.index as usize];
            let one = One { row, table: &plan.tables[rr.table as usize] };
            key(&rule.join, build, &as_real, &one, now).map(|k| Key(k.iter().map(Atom::to_owned_atom).collect()))
        })
        .collect();
    let mut table: hashbrown::HashMap<Key, Vec<RowRef>, foldhash::fast::RandomState> = Default::default();
    table.reserve(keys.len());
    for (k, &rr) in keys.into_iter().zip(passing) {
        if let Some(k) = k {
            table.entry(k).or_default().push(rr);
        }
    }
    Join { build, rows: table, as_real }
}

/// Probes rule `r`'s hash table with a record of its other side; an alert
/// for every matching build record whose pair passes the mismatch.
#[allow(clippy::too_many_arguments)]
pub(super) fn probe(
    plan: &Plan,
    r: usize,
    join: &Join,
    rows: &[Vec<Row<'static>>],
    row: &Row<'_>,
    table: &TablePlan,
    now: i64,
    alerts: &mut Vec<Alert>,
) {
    let rule = &plan.rules[r];
    let one = One { row, table };
    let Some(matches) =
        key(&rule.join, 1 - join.build, &join.as_real, &one, now).and_then(|k| join.rows.get(&KeyRef(&k)))
    else {
        return;
    };
    for &rr in matches {
        let (brow, btable) = (&rows[rr.table as usize][rr.index as usize], &plan.tables[rr.table as usize]);
        let pair = if join.build == 0 {
            Pair { rows: [brow, row], tables: [btable, table] }
        } else {
            Pair { rows: [row, brow], tables: [table, btable] }
        };
        if let Some(m) = &rule.mismatch
            && !eval::holds(m, &pair, now)
        {
            continue;
        }
        alerts.push(Alert {
            rule: r,
            evidence: vec![pair.rows[0].pos, pair.rows[1].pos],
            fields: output(rule, &pair, now),
        });
    }
}

/// A join key: one atom per `==` of the join. Records with a missing or
/// empty part never join, so they have no key.
#[derive(Debug, PartialEq, Eq, Hash)]
struct Key(Vec<Atom<'static>>);

/// A key being probed, borrowing from the record: looked up without
/// copying its strings.
struct KeyRef<'k, 'a>(&'k [Atom<'a>]);

impl Hash for KeyRef<'_, '_> {
    fn hash<H: Hasher>(&self, h: &mut H) {
        // As `Key` hashes its `Vec`: length, then the atoms.
        self.0.hash(h);
    }
}

impl hashbrown::Equivalent<Key> for KeyRef<'_, '_> {
    fn equivalent(&self, key: &Key) -> bool {
        self.0 == key.0.as_slice()
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
enum Atom<'a> {
    Str(Cow<'a, str>),
    Int(i64),
    Real(u64),
    Bool(bool),
    Json(String),
}

impl Atom<'_> {
    fn to_owned_atom(&self) -> Atom<'static> {
        match self {
            Atom::Str(s) => Atom::Str(Cow::Owned(s.to_string())),
            Atom::Int(n) => Atom::Int(*n),
            Atom::Real(b) => Atom::Real(*b),
            Atom::Bool(b) => Atom::Bool(*b),
            Atom::Json(s) => Atom::Json(s.clone()),
        }
    }
}

/// A record's key atoms: most joins have one `==`, held without a heap
/// allocation (a probe computes a key for every streamed record).
enum Atoms<'r> {
    One([Atom<'r>; 1]),
    Many(Vec<Atom<'r>>),
}

impl<'r> std::ops::Deref for Atoms<'r> {
    type Target = [Atom<'r>];

    fn deref(&self) -> &[Atom<'r>] {
        match self {
            Atoms::One(a) => a,
            Atoms::Many(v) => v,
        }
    }
}

/// The key of one record of source `side` (0: each key's left, 1: its
/// right), or `None` when a part is missing or empty.
fn key<'r, C: Columns>(keys: &'r [JoinKey], side: usize, as_real: &[bool], cx: &'r C, now: i64) -> Option<Atoms<'r>> {
    let atom = |k: &'r JoinKey, real: bool| {
        let e = if side == 0 { &k.left } else { &k.right };
        Some(match eval::eval(e, cx, now).undynamic() {
            Value::Null => return None,
            Value::Str(s) if s.is_empty() => return None,
            Value::Str(s) => Atom::Str(s),
            Value::Long(n) if real => Atom::Real((n as f64).to_bits()),
            Value::Long(n) | Value::DateTime(n) | Value::Timespan(n) => Atom::Int(n),
            Value::Real(f) => Atom::Real(if f == 0.0 { 0 } else { f.to_bits() }),
            Value::Bool(b) => Atom::Bool(b),
            other => Atom::Json(other.to_json().to_string()),
        })
    };
    if let ([k], [real]) = (keys, as_real) {
        return atom(k, *real).map(|a| Atoms::One([a]));
    }
    keys.iter().zip(as_real).map(|(k, &real)| atom(k, real)).collect::<Option<Vec<_>>>().map(Atoms::Many)
}
