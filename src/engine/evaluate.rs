//! Evaluation of a batch of rows: each table's filters tested a batch at a
//! time, then single-source rules' alerts, probes of the hash tables, and
//! the rows kept for joins.

use super::alert::{self, One};
use super::chunk::Chunk;
use super::context::{Ctx, Role};
use super::feed;
use super::read::Scratch;
use super::rows::KeptRow;
use crate::pred::BatchColumns;

/// Tests the filters of the rules reading the batch's tables, a batch at
/// a time ([`Pred::test_batch`]), then makes the single-source rules'
/// alerts, a rule at a time, and turns each row a join wants, in input
/// order, into probes and kept rows. Called when the batch is full and
/// after a chunk's last record.
///
/// [`Pred::test_batch`]: crate::pred::Pred::test_batch
pub(super) fn evaluate<'a>(cx: &Ctx, scratch: &mut Scratch<'a>, out: &mut Chunk) {
    let plan = cx.plan;
    let mut batch = std::mem::take(&mut scratch.batch);
    // The batch's tables, each with the bits of its rows.
    let mut tables: Vec<(usize, u128)> = Vec::new();
    for (i, &(t, _)) in batch.iter().enumerate() {
        match tables.iter_mut().find(|(table, _)| *table == t) {
            Some((_, rows)) => *rows |= 1 << i,
            None => tables.push((t, 1 << i)),
        }
    }
    let ones: Vec<One> = batch.iter().map(|(t, row)| One { row, table: &plan.tables[*t] }).collect();
    let mut joined: Vec<Joined> = Vec::with_capacity(tables.len());
    for &(t, rows) in &tables {
        let table = &plan.tables[t];
        // The table's columns, as its users' filters read them.
        let mut columns = BatchColumns::default();
        let mut j = Joined { table: t, probes: Vec::new(), keepers: Vec::new(), wanted: 0 };
        for (u, &(rule, source)) in table.users.iter().enumerate() {
            let role = cx.roles[rule][source];
            let keeps = match &cx.preds.filters[rule][source] {
                _ if !cx.runs(role, t) => 0,
                None => rows,
                Some(filter) => filter.test_batch(&ones, rows, cx.now, &mut columns).0,
            };
            match role {
                // A rule at a time, each rule's in input order (alerts are
                // ordered by rule at the end).
                Role::Single => {
                    let feeds = &plan.feeds[rule];
                    let consumers: Vec<(u32, &crate::plan::Consumer)> =
                        feeds.iter().map(|&c| (c, &plan.consumers[c as usize])).collect();
                    let mut bits = keeps;
                    while bits != 0 {
                        let record = &ones[bits.trailing_zeros() as usize];
                        bits &= bits - 1;
                        if consumers.is_empty() {
                            out.alerts.push(alert::single(rule, &plan.rules[rule], record, cx.now));
                        } else {
                            let pair = record.as_pair();
                            feed::feeds(
                                &plan.rules[rule],
                                &consumers,
                                &pair,
                                record.row.pos,
                                cx.now,
                                &mut out.texts,
                                &mut out.feeds,
                            );
                        }
                    }
                    continue;
                }
                Role::Probe => j.probes.push((keeps, rule)),
                Role::Build | Role::Keep => j.keepers.push((keeps, u as u16)),
            }
            j.wanted |= keeps;
        }
        joined.push(j);
    }
    drop(ones);
    for (i, (t, row)) in batch.drain(..).enumerate() {
        let j = joined.iter().find(|j| j.table == t).expect("every row's table is listed");
        if j.wanted >> i & 1 == 0 {
            // The row's vectors serve a later record.
            scratch.spare.push((row.values, row.raw));
            continue;
        }
        let table = &plan.tables[t];
        let passes: Vec<u16> = j.keepers.iter().filter(|(keeps, _)| keeps >> i & 1 == 1).map(|&(_, u)| u).collect();
        // Per hash table, the members this record probes for.
        let probing = &mut scratch.probing;
        probing.clear();
        probing.resize(cx.built.joins.len(), 0);
        for &(keeps, rule) in &j.probes {
            if keeps >> i & 1 == 1
                && let Some((join, bit)) = cx.built.probes[rule]
            {
                probing[join] |= bit;
            }
        }
        for (index, (join, &wanted)) in cx.built.joins.iter().zip(probing.iter()).enumerate() {
            if wanted != 0 {
                join.probe(cx, index, wanted, &One { row: &row, table }, &mut out.pairs);
            }
        }
        if !passes.is_empty() {
            out.kept.push(KeptRow { table: t as u32, row: row.to_owned(&cx.kept_columns[t]), passes });
        }
        // The row's vectors serve a later record.
        scratch.spare.push((row.values, row.raw));
    }
    scratch.batch = batch;
}

/// A table of a batch, as its rows go on to joins: per user probing with
/// it, the rows its filter keeps and the rule; per user keeping its rows,
/// the rows kept and the user's index; and the rows any of them wants.
struct Joined {
    table: usize,
    probes: Vec<(u128, usize)>,
    keepers: Vec<(u128, u16)>,
    wanted: u128,
}
