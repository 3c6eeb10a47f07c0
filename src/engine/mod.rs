//! Evaluate: read the inputs, keep the records some filter wants, hash-join
//! each correlation rule's two sources, test the mismatch, and build alerts.
//! Output order does not depend on the number of threads.
//!
//! The stages, one module each, in the order a record meets them:
//!
//! 1. `context.rs`: what is decided once per run: one pass or two, each
//!    join's build side, which pass reads which input and table.
//! 2. `pipeline.rs`: per input, blocks read ahead on a thread, their chunks
//!    parsed in parallel, and merged back in input order (`chunk.rs`).
//! 3. `read.rs`: a chunk's records parsed, routed to their table, projected
//!    into `rows.rs`.
//! 4. `evaluate.rs`: a batch of rows through each table's filters, then to
//!    single-source alerts, hash-table probes, or the rows kept for joins.
//! 5. `join.rs`: hash tables on the build sides, probed with the other side.
//! 6. `alert.rs`: an alert's output values, as JSON text.
//! 7. `outcome.rs`: the alerts in order, with the counts and problems.
//!
//! `sample.rs` looks at the first MiB of each input to size the join sides.

use std::time::Instant;

use rayon::prelude::*;

mod alert;
mod cap;
mod chunk;
mod context;
mod evaluate;
mod feed;
mod join;
mod outcome;
mod pipeline;
mod read;
mod rows;
mod sample;

pub use alert::Values;
pub use context::PredCache;
pub use feed::{Feed, NO_VALUE, check_hash, keep_text, key_hash, number, value_of};
pub use outcome::{Alert, Evidence, MAX_OTHER_TABLES, MAX_PROBLEMS, Members, Outcome, Pos, Problem, Stats};

use cap::PairAlerts;
use chunk::{Chunk, Gathered};
use context::{Built, Ctx, Passes, Role};
use join::{Member, build_join, groups};
use read::{RecordText, Scratch, read_record};

use crate::input::{InputFile, ReadOptions};
use crate::plan::Plan;

/// How a run reads its inputs, bounds its alerts and reports its progress.
#[derive(Clone, Copy)]
pub struct Options<'a> {
    /// Called after each block of input with the bytes read so far, all
    /// inputs together (compressed bytes for gzip).
    pub progress: Option<&'a (dyn Fn(u64) + Sync)>,
    /// Block size, memory-mapping or `read()`, the largest record.
    pub read: ReadOptions,
    /// The most alerts a correlation rule makes of one join key: the first
    /// in input order; the rest are counted ([`Stats::capped_alerts`]).
    pub max_alerts_per_key: u32,
}

/// [`Options::max_alerts_per_key`] unless set: far more than a real key
/// joins (a stolen token's every Graph call in an hour), far fewer than
/// the million pairs of one key shared by 1,000 records on each side.
pub const MAX_ALERTS_PER_KEY: u32 = 100_000;

impl Default for Options<'_> {
    fn default() -> Self {
        Options { progress: None, read: ReadOptions::default(), max_alerts_per_key: MAX_ALERTS_PER_KEY }
    }
}

/// Runs every planned rule over `files`. `now` is the fixed current time in
/// ticks (what `now()` and `ago()` use). Uses the global rayon pool; call it
/// from outside that pool (a worker blocked here waits for the others).
pub fn run(plan: &Plan, files: &[InputFile], now: i64) -> Outcome {
    run_with(plan, files, now, Options::default())
}

/// [`run`], with options.
pub fn run_with(plan: &Plan, files: &[InputFile], now: i64, options: Options) -> Outcome {
    let start = Instant::now();
    let two = match Passes::choose(plan, files) {
        Passes::Two => two_passes(Ctx::new(plan, files, now, options, Passes::Two), files),
        Passes::One => None,
    };
    let outcome = two.unwrap_or_else(|| one_pass(Ctx::new(plan, files, now, options, Passes::One), files));
    let mut outcome = outcome.finish(start);
    crate::correlate::run(plan, &mut outcome);
    outcome.stats.elapsed = start.elapsed();
    outcome
}

/// One pass: every role; correlation rules are joined after it.
fn one_pass(mut cx: Ctx, files: &[InputFile]) -> Outcome {
    let mut got = Gathered::new(cx.plan, files.len(), cx.options.max_alerts_per_key);
    pipeline::read_inputs(&cx, files, &mut got);
    let Gathered { mut out, kept, mut pairs, .. } = got;
    let (plan, passing) = (cx.plan, kept.passing);
    cx.built.rows = kept.rows;
    let cx = &cx;
    // Join: hash the smaller side, probe with the other; each probe row's
    // alerts in input order, for the cap per key.
    let joined: Vec<(usize, usize, Vec<PairAlerts>)> = plan
        .rules
        .par_iter()
        .enumerate()
        .filter(|(_, rule)| rule.sources.len() == 2)
        .map(|(r, rule)| {
            // An anti-join probes with its first source: the second is built.
            let build = if !rule.anti && passing[r][0].len() < passing[r][1].len() { 0 } else { 1 };
            let member = Member { rule: r, build };
            let join = build_join(plan, vec![member], &cx.built.rows, |m| &passing[m.rule][m.build], cx.now);
            let rows = passing[r][1 - build]
                .par_iter()
                .map(|&rr| {
                    let record = alert::One { row: cx.built.row(rr), table: &plan.tables[rr.table as usize] };
                    let mut alerts = PairAlerts::default();
                    join.probe(cx, r, 1, &record, &mut alerts);
                    alerts
                })
                .collect();
            (r, join.key_slots(), rows)
        })
        .collect();
    for (r, slots, rows) in joined {
        pairs.size(r, slots);
        rows.into_iter().for_each(|row| pairs.absorb(row));
    }
    pairs.finish(&mut out);
    out
}

/// The build pass, then the stream pass. `None` when a record of a build
/// side turned up only in the stream pass (its hint misled): the caller then
/// runs one pass.
fn two_passes(mut cx: Ctx, files: &[InputFile]) -> Option<Outcome> {
    let plan = cx.plan;
    let mut got = Gathered::new(plan, files.len(), cx.options.max_alerts_per_key);
    pipeline::read_inputs(&cx, files, &mut got);

    // Rules joining the same tables on the same columns share a hash table.
    let members: Vec<Member> = (0..plan.rules.len())
        .filter_map(|r| Some(Member { rule: r, build: cx.roles[r].iter().position(|&role| role == Role::Build)? }))
        .collect();
    let kept = std::mem::replace(&mut got.kept, rows::Kept::new(plan));
    let joins: Vec<join::Join> = groups(plan, &members)
        .into_par_iter()
        .map(|group| build_join(plan, group, &kept.rows, |m| &kept.passing[m.rule][m.build], cx.now))
        .collect();
    let probes =
        (0..plan.rules.len()).map(|r| joins.iter().enumerate().find_map(|(j, join)| Some((j, join.bit(r)?)))).collect();
    for (j, join) in joins.iter().enumerate() {
        got.pairs.size(j, join.key_slots());
    }
    cx.built = Built { rows: kept.rows, joins, probes };
    cx.pass = context::Pass::Stream;
    // Records the build pass parsed whose hint kept them from the stream pass.
    let mut scratch = Chunk::new(plan);
    let mut fields = Scratch::default();
    for d in &got.deferred {
        read_record(&cx, RecordText::deferred(d), &mut fields, &mut scratch);
    }
    evaluate::evaluate(&cx, &mut fields, &mut scratch);
    pipeline::read_inputs(&cx, files, &mut got);
    // Free the hash tables and build rows on another thread: the caller
    // goes on to write the alerts.
    let built = std::mem::take(&mut cx.built);
    rayon::spawn(move || drop(built));
    if got.late || scratch.late {
        return None;
    }
    got.out.alerts.extend(scratch.alerts);
    chunk::absorb_feeds(&mut got.out, scratch.feeds, &scratch.texts);
    got.pairs.absorb(scratch.pairs);
    got.pairs.finish(&mut got.out);
    Some(got.out)
}
