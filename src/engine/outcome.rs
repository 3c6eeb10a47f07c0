//! What a run returns: the alerts, in a fixed order, and the counts and
//! problems of its summary.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rayon::prelude::*;

use super::alert::Values;
use crate::plan::Plan;

/// Where a record was read: input file number and 1-based line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pos {
    pub file: u32,
    pub line: u32,
}

/// One alert: a rule, the records that fired it, and its output fields.
#[derive(Debug)]
pub struct Alert {
    pub rule: usize,
    /// One position per source of the rule, in declaration order.
    pub evidence: Evidence,
    /// One JSON value per output column, in the rule's order.
    pub fields: Values,
    /// The event time, in ticks, when a correlation references the rule
    /// (else `i64::MIN`); a correlation alert's last event time.
    pub time: i64,
    /// A correlation alert's events (`evidence` holds the first).
    pub members: Option<Box<Members>>,
}

/// The events a correlation alert stands for: the positions of their
/// records (at most [`crate::correlate::MAX_EVIDENCE`]), in time order,
/// and which referenced rule each came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Members {
    pub pos: Vec<Pos>,
    /// Per position, the index of its rule in the correlation's `rules`.
    pub input: Vec<u16>,
}

/// The positions of the records that fired an alert, one per source of
/// its rule (a rule has one or two), held inline: alerts are sorted and
/// written by them, and a vector of its own per alert was a pointer to
/// follow each time (in the 20-rule benchmark, 555,594 of them).
#[derive(Debug, Clone, Copy)]
pub struct Evidence {
    len: u8,
    /// The positions; past `len`, a copy of the first, which nothing reads.
    pos: [Pos; 2],
}

impl Evidence {
    pub fn one(p: Pos) -> Evidence {
        Evidence { len: 1, pos: [p, p] }
    }

    pub fn two(a: Pos, b: Pos) -> Evidence {
        Evidence { len: 2, pos: [a, b] }
    }
}

impl std::ops::Deref for Evidence {
    type Target = [Pos];

    fn deref(&self) -> &[Pos] {
        &self.pos[..self.len as usize]
    }
}

impl std::ops::DerefMut for Evidence {
    fn deref_mut(&mut self) -> &mut [Pos] {
        &mut self.pos[..self.len as usize]
    }
}

impl<'a> IntoIterator for &'a Evidence {
    type Item = &'a Pos;
    type IntoIter = std::slice::Iter<'a, Pos>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Equality, hashing and order are the positions' (the slice's), never
/// the slot past `len`, which may be stale once the positions are changed
/// through `DerefMut`.
impl PartialEq for Evidence {
    fn eq(&self, other: &Evidence) -> bool {
        self[..] == other[..]
    }
}

impl Eq for Evidence {}

impl std::hash::Hash for Evidence {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self[..].hash(state);
    }
}

/// As slices compare: position by position, then the shorter first.
impl Ord for Evidence {
    fn cmp(&self, other: &Evidence) -> std::cmp::Ordering {
        self[..].cmp(&other[..])
    }
}

impl PartialOrd for Evidence {
    fn partial_cmp(&self, other: &Evidence) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// Input that was not (fully) evaluated, and why: a malformed line or
/// record, a file that could not be read (line 0) or ended early, or a
/// value that did not fit its column.
#[derive(Debug, Clone)]
pub struct Problem {
    pub pos: Pos,
    pub message: String,
}

/// Counts for the run summary. Every record read (an NDJSON line, an array
/// element, a record of a `{"records": [...]}` body) is one of: a record of
/// a table some rule reads (`records`), a record of another table (`other`),
/// or skipped (`malformed`). For NDJSON without bodies, records read =
/// lines read.
#[derive(Debug, Default)]
pub struct Stats {
    pub files: usize,
    /// Lines read (physical lines, whatever the container).
    pub lines: u64,
    /// Records read, malformed ones included.
    pub entries: u64,
    /// Bytes read from the inputs (compressed bytes for gzip).
    pub bytes: u64,
    /// Per table plan, records read.
    pub records: Vec<u64>,
    /// Records of the tables rules read, by [`Shape`](crate::input::Shape): Log Analytics, diagnostic settings.
    pub shapes: [u64; 2],
    /// Records of tables no rule reads, by `Type` (or table of their
    /// `category`): the first [`MAX_OTHER_TABLES`] names met.
    pub other: BTreeMap<String, u64>,
    /// Records of tables no rule reads past the first [`MAX_OTHER_TABLES`]
    /// names (an attacker's log can name a new table on every line).
    pub other_unnamed: u64,
    /// Records skipped: not JSON, not an object, no table.
    pub malformed: u64,
    /// Inputs that could not be read, were empty, or ended early.
    pub file_errors: u64,
    /// Values that did not fit their column's type (read as empty).
    pub bad_values: u64,
    /// Per input file: malformed records + file errors + bad values.
    pub problems_per_file: Vec<u64>,
    /// Per rule.
    pub alerts: Vec<u64>,
    /// Rules and join keys whose alerts reached the cap
    /// ([`Options::max_alerts_per_key`](super::Options::max_alerts_per_key)),
    /// and the alerts past it, dropped.
    pub capped_keys: u64,
    pub capped_alerts: u64,
    /// Per rule: referenced by a correlation, so its alerts are not
    /// written (`stats.alerts` still counts them). Empty when no rule is.
    pub referenced: Vec<bool>,
    pub elapsed: Duration,
}

impl Stats {
    /// Some input was skipped (malformed records, files unreadable, empty or
    /// cut short): the run's result may be incomplete. Values of the wrong
    /// type are not skipped input: like Kusto, the record is evaluated with
    /// the value empty.
    pub fn skipped_input(&self) -> bool {
        self.malformed + self.file_errors > 0
    }
}

#[derive(Debug, Default)]
pub struct Outcome {
    pub alerts: Vec<Alert>,
    pub stats: Stats,
    /// Skipped input in input order: malformed records, and files that could
    /// not be read (line 0) or ended early. At most [`MAX_PROBLEMS`] are kept;
    /// the counts in `stats` are exact.
    pub problems: Vec<Problem>,
    /// Values of the wrong type, read as empty (at most [`MAX_PROBLEMS`]).
    pub bad_values: Vec<Problem>,
    /// Matches of rules only correlations read ([`super::Feed`]), in input
    /// order, and their group-by texts; [`crate::correlate::run`] takes them.
    pub feeds: Vec<super::Feed>,
    pub feed_texts: String,
}

/// How many names of tables no rule reads [`Stats::other`] keeps.
pub const MAX_OTHER_TABLES: usize = 1_000;

/// How many problems of each list an [`Outcome`] keeps verbatim.
pub const MAX_PROBLEMS: usize = 10_000;

impl Outcome {
    /// An empty outcome, its counts sized for `plan` and `files` inputs.
    pub(super) fn new(plan: &Plan, files: usize) -> Outcome {
        Outcome {
            stats: Stats {
                files,
                records: vec![0; plan.tables.len()],
                alerts: vec![0; plan.rules.len()],
                problems_per_file: vec![0; files],
                ..Stats::default()
            },
            ..Outcome::default()
        }
    }

    /// Puts the alerts in their order (by rule, then by the records'
    /// positions) and counts them per rule; problems by position; and
    /// records the run's time since `start`.
    pub(super) fn finish(mut self, start: Instant) -> Outcome {
        let alerts = std::mem::take(&mut self.alerts);
        self.alerts = in_order(alerts, &mut self.stats.alerts);
        self.problems.sort_by_key(|p| p.pos);
        self.bad_values.sort_by_key(|p| p.pos);
        self.stats.elapsed = start.elapsed();
        self
    }
}

/// Alerts by rule, then by evidence, counted per rule into `counts`. Each
/// rule's alerts arrive almost in order (records are merged in input
/// order), so they are split by rule, in arrival order, and each rule's
/// are sorted on their own, in parallel: a sort of a run already in order
/// only checks it. In the 20-rule benchmark's profile (555,594 alerts), one
/// sort of all alerts, rules interleaved, took about 40 ms of one core;
/// this takes about 10 ms.
fn in_order(alerts: Vec<Alert>, counts: &mut [u64]) -> Vec<Alert> {
    for a in &alerts {
        counts[a.rule] += 1;
    }
    let total = alerts.len();
    let mut by_rule: Vec<Vec<Alert>> = counts.iter().map(|&n| Vec::with_capacity(n as usize)).collect();
    for a in alerts {
        by_rule[a.rule].push(a);
    }
    by_rule.par_iter_mut().for_each(|alerts| alerts.sort_by_key(|a| a.evidence));
    let mut sorted = Vec::with_capacity(total);
    for alerts in by_rule {
        sorted.extend(alerts);
    }
    sorted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alerts_come_out_by_rule_then_evidence_and_are_counted() {
        let at = |file: u32, line: u32| Pos { file, line };
        let alert = |rule: usize, evidence: Vec<Pos>| Alert {
            rule,
            evidence: match evidence[..] {
                [a] => Evidence::one(a),
                [a, b] => Evidence::two(a, b),
                _ => unreachable!("one or two sources"),
            },
            fields: Values::from_json_texts(&[&format!("{rule}")]),
            time: i64::MIN,
            members: None,
        };
        // As chunks merge them: rules interleaved, a rule's alerts out of
        // order where a join matched later build rows first.
        let arrived = vec![
            alert(2, vec![at(0, 9)]),
            alert(0, vec![at(1, 5), at(0, 7)]),
            alert(2, vec![at(0, 3)]),
            alert(0, vec![at(1, 5), at(0, 2)]),
            alert(0, vec![at(0, 8), at(0, 1)]),
        ];
        let mut counts = vec![0; 3];
        let sorted = in_order(arrived, &mut counts);
        let keys: Vec<(usize, Vec<Pos>)> = sorted.into_iter().map(|a| (a.rule, a.evidence.to_vec())).collect();
        assert_eq!(
            keys,
            [
                (0, vec![at(0, 8), at(0, 1)]),
                (0, vec![at(1, 5), at(0, 2)]),
                (0, vec![at(1, 5), at(0, 7)]),
                (2, vec![at(0, 3)]),
                (2, vec![at(0, 9)]),
            ]
        );
        assert_eq!(counts, [3, 0, 2]);
    }

    #[test]
    fn evidence_holds_one_or_two_positions_and_orders_as_their_slice() {
        let (a, b) = (Pos { file: 0, line: 7 }, Pos { file: 1, line: 2 });
        assert_eq!(&Evidence::one(b)[..], &[b]);
        assert_eq!(&Evidence::two(b, a)[..], &[b, a]);
        assert_eq!((&Evidence::two(a, b)).into_iter().count(), 2);
        // Position by position, then the shorter first, as `Vec<Pos>` compared.
        assert!(Evidence::two(a, b) < Evidence::one(b));
        assert!(Evidence::one(a) < Evidence::two(a, a));
        assert!(Evidence::two(b, a) > Evidence::two(a, b));
        let mut e = Evidence::two(a, b);
        e.iter_mut().for_each(|p| p.line += 1);
        assert_eq!(&e[..], &[Pos { file: 0, line: 8 }, Pos { file: 1, line: 3 }]);
        // One position changed in place equals the same position made afresh.
        let mut one = Evidence::one(a);
        one.iter_mut().for_each(|p| p.line = 9);
        let fresh = Evidence::one(Pos { file: 0, line: 9 });
        assert!(one == fresh && one.cmp(&fresh).is_eq());
        let state = std::hash::RandomState::new();
        assert_eq!(std::hash::BuildHasher::hash_one(&state, one), std::hash::BuildHasher::hash_one(&state, fresh));
    }
}
