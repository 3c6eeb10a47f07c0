//! Records as rows: a record's projected columns, borrowed from the input
//! while it is evaluated, and the rows a pass keeps for a join.

use std::borrow::Cow;

use super::context::KeptColumns;
use super::outcome::Pos;
use crate::plan::Plan;
use crate::value::Value;

/// A record's projected columns, typed: borrowing from the input while it
/// is evaluated, owned (`Row<'static>`) when kept for a join.
#[derive(Debug)]
pub(super) struct Row<'a> {
    pub(super) pos: Pos,
    pub(super) values: Vec<Value<'a>>,
    /// The input's JSON text of the columns alerts copy verbatim (empty
    /// when there is none).
    pub(super) raw: Vec<Option<Cow<'a, str>>>,
    /// Every string value is ASCII: the record's text is, and has no
    /// escapes (false: not known).
    pub(super) ascii: bool,
}

impl Row<'_> {
    /// An owned copy of the columns and raw texts marked in `kept` (the
    /// other values are null), for a row kept for a join: its vectors are
    /// allocated at their size (the row's own, sized for any table, serve
    /// the next record), and hold no raw texts when no kept column has one.
    pub(super) fn to_owned(&self, kept: &KeptColumns) -> Row<'static> {
        let raw = self.raw.iter().zip(&kept.raw).map(|(r, &k)| r.as_deref().filter(|_| k));
        let raw = if raw.clone().all(|r| r.is_none()) {
            Vec::new()
        } else {
            raw.map(|r| r.map(|c| Cow::Owned(c.to_string()))).collect()
        };
        let values = self.values.iter().zip(&kept.values);
        Row {
            pos: self.pos,
            values: values.map(|(v, &k)| if k { v.reborrow().into_owned() } else { Value::Null }).collect(),
            raw,
            ascii: self.ascii,
        }
    }
}

/// Where a kept record is: table plan and index in that table's rows.
#[derive(Debug, Clone, Copy)]
pub(super) struct RowRef {
    pub(super) table: u32,
    pub(super) index: u32,
}

/// Kept build-side (or, in one pass, every side's) rows.
pub(super) struct Kept {
    pub(super) rows: Vec<Vec<Row<'static>>>,
    /// `passing[rule][source]`: kept records whose filter for that source holds.
    pub(super) passing: Vec<Vec<Vec<RowRef>>>,
}

impl Kept {
    pub(super) fn new(plan: &Plan) -> Kept {
        Kept {
            rows: plan.tables.iter().map(|_| Vec::new()).collect(),
            passing: plan.rules.iter().map(|r| vec![Vec::new(); r.sources.len()]).collect(),
        }
    }

    /// Keeps `k`, listed for each user (rule and source) whose filter it passed.
    pub(super) fn push(&mut self, plan: &Plan, k: KeptRow) {
        let table = k.table as usize;
        let r = RowRef { table: k.table, index: self.rows[table].len() as u32 };
        for &user in &k.passes {
            let (rule, source) = plan.tables[table].users[user as usize];
            self.passing[rule][source].push(r);
        }
        self.rows[table].push(k.row);
    }
}

/// A row a chunk keeps, before it is merged into [`Kept`].
pub(super) struct KeptRow {
    pub(super) table: u32,
    pub(super) row: Row<'static>,
    /// Indices into the table's `users` whose filter holds.
    pub(super) passes: Vec<u16>,
}
