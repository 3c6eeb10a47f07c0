//! What one parallel task makes of its records (a [`Chunk`]), and how
//! chunks are merged, in input order, into the run's outcome and kept rows.

use super::cap::{Capped, PairAlerts};
use super::outcome::{Alert, MAX_OTHER_TABLES, MAX_PROBLEMS, Outcome, Pos, Problem};
use super::rows::{Kept, KeptRow};
use crate::plan::Plan;

/// Marks a line number as counted from its chunk's start (1: the chunk's
/// first line): NDJSON lines are numbered by the task that splits them,
/// which does not know how many came before. Merging the chunk, in input
/// order, makes them the file's ([`Chunk::fix_lines`]).
pub(super) const LOCAL: u32 = 1 << 31;

/// The highest line number: past it lines are numbered so (reported once).
pub(super) const MAX_LINE: u32 = LOCAL - 1;

/// A record the build pass parsed for the stream pass.
pub(super) struct Deferred {
    pub(super) text: Vec<u8>,
    pub(super) pos: Pos,
    pub(super) in_body: Option<usize>,
}

/// What a run gathers from its chunks, merged in input order.
pub(super) struct Gathered {
    pub(super) out: Outcome,
    /// Alerts of joined pairs, capped per rule and key (kept apart until the end).
    pub(super) pairs: Capped,
    /// Rows kept for joins: the build pass's, or one pass's every side.
    pub(super) kept: Kept,
    /// Records the build pass parsed for the stream pass.
    pub(super) deferred: Vec<Deferred>,
    /// A build-side record turned up in the stream pass.
    pub(super) late: bool,
}

impl Gathered {
    pub(super) fn new(plan: &Plan, files: usize, cap: u32) -> Gathered {
        Gathered {
            out: Outcome::new(plan, files),
            pairs: Capped::new(cap),
            kept: Kept::new(plan),
            deferred: Vec::new(),
            late: false,
        }
    }
}

/// What one parallel task makes of its records.
#[derive(Default)]
pub(super) struct Chunk {
    pub(super) kept: Vec<KeptRow>,
    /// Alerts of single-source rules.
    pub(super) alerts: Vec<Alert>,
    /// Matches of single-source rules only correlations read.
    pub(super) feeds: Vec<super::Feed>,
    /// The feeds' group-by texts, one after the other.
    pub(super) texts: String,
    /// Alerts of joined pairs, capped per key.
    pub(super) pairs: PairAlerts,
    pub(super) deferred: Vec<Deferred>,
    /// A build-side record turned up in the stream pass.
    pub(super) late: bool,
    pub(super) entries: u64,
    pub(super) records: Vec<u64>,
    pub(super) shapes: [u64; 2],
    /// Records per table no rule reads, by name.
    pub(super) other: OtherTables,
    pub(super) malformed: u64,
    pub(super) problems: Vec<Problem>,
    pub(super) bad_values: u64,
    pub(super) bad_value_problems: Vec<Problem>,
    /// NDJSON lines split by this chunk (numbered [`LOCAL`] until merged).
    pub(super) lines: u64,
}

impl Chunk {
    pub(super) fn new(plan: &Plan) -> Chunk {
        Chunk { records: vec![0; plan.tables.len()], ..Chunk::default() }
    }

    /// Numbers this chunk's lines in the file: its first line follows line
    /// `before`. Every position the chunk made from its own records is
    /// [`LOCAL`]; those of build rows it joined with are the file's already.
    pub(super) fn fix_lines(&mut self, before: u32) {
        if self.lines == 0 {
            return;
        }
        let fix = |p: &mut Pos| {
            if p.line & LOCAL != 0 {
                p.line = before.saturating_add(p.line & !LOCAL).min(MAX_LINE);
            }
        };
        self.problems.iter_mut().chain(&mut self.bad_value_problems).for_each(|p| fix(&mut p.pos));
        let alerts = self.alerts.iter_mut().chain(&mut self.pairs.alerts).chain(&mut self.pairs.singles);
        alerts.flat_map(|a| a.evidence.iter_mut()).for_each(fix);
        self.feeds.iter_mut().for_each(|f| fix(&mut f.pos));
        self.deferred.iter_mut().for_each(|d| fix(&mut d.pos));
        self.kept.iter_mut().for_each(|k| fix(&mut k.row.pos));
    }

    pub(super) fn malformed(&mut self, pos: Pos, message: String) {
        self.malformed += 1;
        self.problems.push(Problem { pos, message });
    }

    /// Adds this chunk of input `file_no` to what the run has gathered.
    pub(super) fn merge_into(self, plan: &Plan, file_no: u32, into: &mut Gathered) {
        let (chunk, out) = (self, &mut into.out);
        into.late |= chunk.late;
        let stats = &mut out.stats;
        stats.entries += chunk.entries;
        for (t, n) in chunk.records.iter().enumerate() {
            stats.records[t] += n;
        }
        stats.shapes[0] += chunk.shapes[0];
        stats.shapes[1] += chunk.shapes[1];
        for (name, n) in chunk.other.in_order() {
            let room = stats.other.len() < MAX_OTHER_TABLES;
            match stats.other.get_mut(&name) {
                Some(count) => *count += n,
                None if room => {
                    stats.other.insert(name, n);
                }
                None => stats.other_unnamed += n,
            }
        }
        stats.malformed += chunk.malformed;
        stats.bad_values += chunk.bad_values;
        stats.problems_per_file[file_no as usize] += chunk.malformed + chunk.bad_values;
        let room = MAX_PROBLEMS.saturating_sub(out.problems.len());
        out.problems.extend(chunk.problems.into_iter().take(room));
        let room = MAX_PROBLEMS.saturating_sub(out.bad_values.len());
        out.bad_values.extend(chunk.bad_value_problems.into_iter().take(room));
        out.alerts.extend(chunk.alerts);
        absorb_feeds(out, chunk.feeds, &chunk.texts);
        into.pairs.absorb(chunk.pairs);
        into.deferred.extend(chunk.deferred);
        for k in chunk.kept {
            into.kept.push(plan, k);
        }
    }
}

/// Adds a chunk's feeds to the run's, their texts to the run's arena.
pub(super) fn absorb_feeds(out: &mut Outcome, mut feeds: Vec<super::Feed>, texts: &str) {
    let base = out.feed_texts.len();
    out.feed_texts.push_str(texts);
    if base > 0 {
        feeds.iter_mut().for_each(|f| f.shift_text(base));
    }
    out.feeds.append(&mut feeds);
}

/// A chunk's count of records per table no rule reads, by name, in the
/// order the names first appear: merged in input order, the run keeps the
/// first names of the input ([`MAX_OTHER_TABLES`]) whatever the chunks.
/// Looked up by `&str`, so a record of a known name allocates nothing
/// (foldhash, not SipHash).
#[derive(Default)]
pub(super) struct OtherTables {
    index: hashbrown::HashMap<String, usize>,
    counts: Vec<u64>,
}

impl OtherTables {
    /// Counts one record of table `name`.
    pub(super) fn count(&mut self, name: &str) {
        let next = self.counts.len();
        let i = *self.index.entry_ref(name).or_insert(next);
        if i == next {
            self.counts.push(0);
        }
        self.counts[i] += 1;
    }

    /// The names and counts, in the order the names first appeared.
    fn in_order(self) -> impl Iterator<Item = (String, u64)> {
        let mut names: Vec<(usize, String)> = self.index.into_iter().map(|(name, i)| (i, name)).collect();
        names.sort_unstable_by_key(|&(i, _)| i);
        let counts = self.counts;
        names.into_iter().map(move |(i, name)| (name, counts[i]))
    }
}
