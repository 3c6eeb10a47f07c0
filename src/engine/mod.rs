//! Evaluate: read the inputs, keep the records some filter wants, hash-join
//! each correlation rule's two sources, test the mismatch, and build alerts.
//! Output order does not depend on the number of threads.
//!
//! When every input can be read twice (files, not standard input), memory
//! grows with the build sides only:
//!
//! 1. **build pass**: for each correlation rule, the source estimated to be
//!    smaller ([`estimate`]) is its build side; records of tables with build
//!    sides are parsed, filtered, and kept; hash tables are built on them.
//!    Single-source rules on those tables alert here, unless the table is
//!    also a probe side: each record is parsed once.
//! 2. **stream pass**: records of the other tables are parsed, filtered and
//!    probed, one block at a time; single-source rules on them alert here.
//!
//! A cheap look at each record's `Type` (or `category`) text decides which
//! pass parses it ([`hint`]); the full parse routes it for real, so a record
//! the hint misjudged is still evaluated (or, if it belonged to a build
//! side, the run falls back to one pass). With standard input among the
//! inputs, one pass keeps every side and joins at the end.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rayon::prelude::*;

mod join;
mod read;
mod sample;

use join::{Join, Member, build_join, groups, probe};
use read::{Chunk, Scratch, evaluate, read_inputs, read_record};
pub use sample::{Estimate, estimate, hint};
use sample::{FileRole, file_role};

use crate::check::{CheckedRule, TExpr, TKind};
use crate::eval::{self, Columns};
use crate::input::{FieldIndex, InputFile};
use crate::plan::{Plan, TablePlan};
use crate::pred::Pred;
use crate::types::Type;
use crate::value::Value;

/// Where a record was read: input file number and 1-based line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pos {
    pub file: u32,
    pub line: u32,
}

/// A record's projected columns, typed: borrowing from the input while it
/// is evaluated, owned (`Row<'static>`) when kept for a join.
#[derive(Debug)]
pub struct Row<'a> {
    pub pos: Pos,
    pub values: Vec<Value<'a>>,
    /// The input's JSON text of the columns alerts copy verbatim (empty
    /// when there is none).
    pub raw: Vec<Option<Cow<'a, str>>>,
    /// Every string value is ASCII: the record's text is, and has no
    /// escapes (false: not known).
    pub ascii: bool,
}

impl Row<'_> {
    /// An owned copy of the columns and raw texts marked in `kept` (the
    /// other values are null), for a row kept for a join: its vectors are
    /// allocated at their size (the row's own, sized for any table, serve
    /// the next record), and hold no raw texts when no kept column has one.
    fn to_owned(&self, kept: &KeptColumns) -> Row<'static> {
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

/// One alert: a rule, the records that fired it, and its output fields.
#[derive(Debug)]
pub struct Alert {
    pub rule: usize,
    /// One position per source of the rule, in declaration order.
    pub evidence: Evidence,
    /// One JSON value per output column, in the rule's order.
    pub fields: Values,
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
    /// Records of tables no rule reads, by `Type` (or table of their `category`).
    pub other: BTreeMap<String, u64>,
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
}

/// How many problems of each list an [`Outcome`] keeps verbatim.
pub const MAX_PROBLEMS: usize = 10_000;

/// Where a kept record is: table plan and index in that table's rows.
#[derive(Debug, Clone, Copy)]
struct RowRef {
    table: u32,
    index: u32,
}

/// Options for [`run_with`].
#[derive(Default, Clone, Copy)]
pub struct Options<'a> {
    /// Called after each block of input with the bytes read so far, all
    /// inputs together (compressed bytes for gzip).
    pub progress: Option<&'a (dyn Fn(u64) + Sync)>,
}

/// Runs every planned rule over `files`. `now` is the fixed current time in
/// ticks (what `now()` and `ago()` use). Uses the global rayon pool; call it
/// from outside that pool (a worker blocked here waits for the others).
pub fn run(plan: &Plan, files: &[InputFile], now: i64) -> Outcome {
    run_with(plan, files, now, Options::default())
}

/// What a rule's source does with the records its filter keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// A single-source rule: each record is an alert.
    Single,
    /// Kept, hashed, probed by the other side.
    Build,
    /// Streamed against the other side's hash table.
    Probe,
    /// One-pass mode: kept; the join picks its build side at the end.
    Keep,
}

/// Which records a pass parses, and what it does with them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pass {
    /// The only pass: every role.
    Only,
    /// Two-pass mode, first: build sides, and single-source rules on built
    /// tables that no rule probes with.
    Build,
    /// Two-pass mode, second: probe sides, and the other single-source rules.
    Stream,
}

/// Each rule's filters and mismatch, compiled for the run's `now`.
struct Preds {
    /// `filters[rule][source]`.
    filters: Vec<Vec<Option<Pred>>>,
    mismatch: Vec<Option<Pred>>,
}

impl Preds {
    fn new(plan: &Plan, now: i64) -> Preds {
        let compile = |e: &Option<crate::check::TExpr>| e.as_ref().map(|e| Pred::compile(e, now));
        Preds {
            filters: plan.rules.iter().map(|r| r.sources.iter().map(|s| compile(&s.filter)).collect()).collect(),
            mismatch: plan.rules.iter().map(|r| compile(&r.mismatch)).collect(),
        }
    }
}

/// Everything a pass needs to read a block.
struct Ctx<'p> {
    plan: &'p Plan,
    preds: &'p Preds,
    index: &'p FieldIndex,
    now: i64,
    pass: Pass,
    roles: &'p [Vec<Role>],
    /// Per table: some user is a build side / streams (probe or single).
    builds: &'p [bool],
    streams: &'p [bool],
    /// Two-pass mode: which passes read each input (empty in one pass).
    files: &'p [FileRole],
    /// Per table and slot: whether kept rows hold the column's value, and
    /// its raw text.
    kept_columns: &'p [KeptColumns],
    /// Stream pass: the kept build rows, the hash tables, and per rule its
    /// table and member bit there.
    rows: &'p [Vec<Row<'static>>],
    joins: &'p [Join],
    probes: &'p [Option<(usize, u64)>],
}

impl Ctx<'_> {
    fn file_role(&self, file: u32) -> FileRole {
        self.files.get(file as usize).copied().unwrap_or(FileRole::Both)
    }

    /// Whether this pass reads input `file`.
    fn reads(&self, file: u32) -> bool {
        !matches!(
            (self.pass, self.file_role(file)),
            (Pass::Build, FileRole::StreamOnly) | (Pass::Stream, FileRole::BuildOnly)
        )
    }

    /// Whether this pass reports input `file`'s lines, problems and records
    /// that parse in both passes: the last pass that reads it.
    fn counts(&self, file: u32) -> bool {
        match self.pass {
            Pass::Only => true,
            Pass::Build => self.file_role(file) == FileRole::BuildOnly,
            Pass::Stream => self.file_role(file) != FileRole::BuildOnly,
        }
    }
}

/// [`run`], with options.
pub fn run_with(plan: &Plan, files: &[InputFile], now: i64, options: Options) -> Outcome {
    let start = Instant::now();
    let two_pass = files.iter().all(|f| !f.is_stdin()) && plan.rules.iter().any(|r| r.sources.len() == 2);
    if two_pass {
        let estimate = estimate(plan, files);
        let sizes = &estimate.sizes;
        let roles = plan
            .rules
            .iter()
            .zip(&plan.sources)
            .map(|(rule, tables)| match rule.sources.len() {
                1 => vec![Role::Single],
                _ => {
                    let size = |s: usize| tables[s].iter().map(|&t| sizes[t]).sum::<f64>();
                    // The smaller side is built; on a tie, the second (Kusto's lookup table).
                    if size(0) < size(1) { vec![Role::Build, Role::Probe] } else { vec![Role::Probe, Role::Build] }
                }
            })
            .collect::<Vec<_>>();
        if let Some(outcome) = two_passes(plan, files, now, options, &roles, &estimate) {
            return finish(outcome, start);
        }
    }
    let roles: Vec<Vec<Role>> = plan
        .rules
        .iter()
        .map(|r| if r.sources.len() == 1 { vec![Role::Single] } else { vec![Role::Keep, Role::Keep] })
        .collect();
    finish(one_pass(plan, files, now, options, &roles), start)
}

fn finish(mut outcome: Outcome, start: Instant) -> Outcome {
    // Alerts by rule, then by the records' positions; problems by position.
    let alerts = std::mem::take(&mut outcome.alerts);
    outcome.alerts = in_order(alerts, &mut outcome.stats.alerts);
    outcome.problems.sort_by_key(|p| p.pos);
    outcome.bad_values.sort_by_key(|p| p.pos);
    outcome.stats.elapsed = start.elapsed();
    outcome
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

/// Per table: whether the build pass reads it (some rule builds on it), and
/// whether the stream pass does (some rule probes with it, or single-source
/// rules read it and no rule builds on it). Single-source rules need no hash
/// table, so on a built table they run in the build pass: its records are
/// read once.
fn table_flags(plan: &Plan, roles: &[Vec<Role>]) -> (Vec<bool>, Vec<bool>) {
    let has = |t: &TablePlan, f: &dyn Fn(Role) -> bool| t.users.iter().any(|&(r, s)| f(roles[r][s]));
    let builds: Vec<bool> = plan.tables.iter().map(|t| has(t, &|r| matches!(r, Role::Build | Role::Keep))).collect();
    let streams = plan
        .tables
        .iter()
        .zip(&builds)
        .map(|(t, &built)| has(t, &|r| r == Role::Probe) || (!built && has(t, &|r| r == Role::Single)))
        .collect();
    (builds, streams)
}

/// Per slot of a table: whether a kept row holds the column's value, and
/// its raw text (for output).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct KeptColumns {
    pub(super) values: Vec<bool>,
    pub(super) raw: Vec<bool>,
}

/// Per table, the columns a kept row holds: those a rule keeping the
/// table's rows (a build side, or either side in one pass) reads after the
/// filter, in its join keys, mismatch or output; and the raw texts of the
/// columns it outputs as they are. A row is kept once its filter has
/// passed, so columns only filters (or single-source rules) read are not
/// kept: in the 20-rule benchmark, a sign-in's result description,
/// location and autonomous system, among others, and the raw text of its
/// `TimeGenerated`, which a single-source rule outputs.
fn kept_columns(plan: &Plan, roles: &[Vec<Role>]) -> Vec<KeptColumns> {
    plan.tables
        .iter()
        .map(|t| {
            let n = t.projection.len();
            let mut kept = KeptColumns { values: vec![false; n], raw: vec![false; n] };
            for &(r, source) in &t.users {
                if !matches!(roles[r][source], Role::Build | Role::Keep) {
                    continue;
                }
                let rule = &plan.rules[r];
                let slot = |x: &TExpr| match &x.kind {
                    TKind::Column(c) if c.source == source => t.slot(c.id),
                    _ => None,
                };
                let keys = rule.join.iter().flat_map(|k| [&k.left, &k.right]);
                for e in keys.chain(&rule.mismatch).chain(rule.output.iter().map(|o| &o.expr)) {
                    e.walk(&mut |x| {
                        if let Some(s) = slot(x) {
                            kept.values[s] = true;
                        }
                    });
                }
                for s in rule.output.iter().filter_map(|o| slot(&o.expr)) {
                    kept.raw[s] = true;
                }
            }
            kept
        })
        .collect()
}

fn new_outcome(plan: &Plan, files: &[InputFile]) -> Outcome {
    Outcome {
        stats: Stats {
            files: files.len(),
            records: vec![0; plan.tables.len()],
            alerts: vec![0; plan.rules.len()],
            problems_per_file: vec![0; files.len()],
            ..Stats::default()
        },
        ..Outcome::default()
    }
}

/// One pass: every role; correlation rules are joined after it.
fn one_pass(plan: &Plan, files: &[InputFile], now: i64, options: Options, roles: &[Vec<Role>]) -> Outcome {
    let index = FieldIndex::new(&plan.fields);
    let (builds, streams) = table_flags(plan, roles);
    let kept_columns = kept_columns(plan, roles);
    let mut out = new_outcome(plan, files);
    let mut kept = Kept::new(plan);
    let preds = Preds::new(plan, now);
    let cx = Ctx {
        plan,
        preds: &preds,
        index: &index,
        now,
        pass: Pass::Only,
        roles,
        builds: &builds,
        streams: &streams,
        files: &[],
        kept_columns: &kept_columns,
        rows: &[],
        joins: &[],
        probes: &[],
    };
    read_inputs(&cx, files, options, &mut out, &mut kept, &mut Vec::new());
    // Join: hash the smaller side, probe with the other.
    let joined: Vec<Vec<Alert>> = plan
        .rules
        .par_iter()
        .enumerate()
        .filter(|(_, rule)| rule.sources.len() == 2)
        .map(|(r, _)| {
            let (a, b) = (&kept.passing[r][0], &kept.passing[r][1]);
            let build = if a.len() < b.len() { 0 } else { 1 };
            let member = Member { rule: r, build };
            let join = build_join(plan, vec![member], &kept.rows, |m| &kept.passing[m.rule][m.build], now);
            kept.passing[r][1 - build]
                .par_iter()
                .flat_map_iter(|&rr| {
                    let (row, table) =
                        (&kept.rows[rr.table as usize][rr.index as usize], &plan.tables[rr.table as usize]);
                    let mut alerts = Vec::new();
                    probe(plan, &preds, &join, 1, &kept.rows, row, table, now, &mut alerts);
                    alerts
                })
                .collect()
        })
        .collect();
    out.alerts.extend(joined.into_iter().flatten());
    out
}

/// The build pass, then the stream pass. `None` when a record of a build
/// side turned up only in the stream pass (its hint misled): the caller then
/// runs one pass.
fn two_passes(
    plan: &Plan,
    files: &[InputFile],
    now: i64,
    options: Options,
    roles: &[Vec<Role>],
    estimate: &Estimate,
) -> Option<Outcome> {
    let index = FieldIndex::new(&plan.fields);
    let (builds, streams) = table_flags(plan, roles);
    let file_roles: Vec<FileRole> = estimate.seen.iter().map(|&seen| file_role(seen, &builds, &streams)).collect();
    let kept_columns = kept_columns(plan, roles);
    let mut out = new_outcome(plan, files);
    let mut kept = Kept::new(plan);
    let mut deferred = Vec::new();
    let preds = Preds::new(plan, now);
    let build_cx = Ctx {
        plan,
        preds: &preds,
        index: &index,
        now,
        pass: Pass::Build,
        roles,
        builds: &builds,
        streams: &streams,
        files: &file_roles,
        kept_columns: &kept_columns,
        rows: &[],
        joins: &[],
        probes: &[],
    };
    read_inputs(&build_cx, files, options, &mut out, &mut kept, &mut deferred);

    // Rules joining the same tables on the same columns share a hash table.
    let members: Vec<Member> = (0..plan.rules.len())
        .filter_map(|r| Some(Member { rule: r, build: roles[r].iter().position(|&role| role == Role::Build)? }))
        .collect();
    let joins: Vec<Join> = groups(plan, &members)
        .into_par_iter()
        .map(|group| build_join(plan, group, &kept.rows, |m| &kept.passing[m.rule][m.build], now))
        .collect();
    let probes: Vec<Option<(usize, u64)>> =
        (0..plan.rules.len()).map(|r| joins.iter().enumerate().find_map(|(j, join)| Some((j, join.bit(r)?)))).collect();
    let stream_cx = Ctx { pass: Pass::Stream, rows: &kept.rows, joins: &joins, probes: &probes, ..build_cx };
    // Records the build pass parsed whose hint kept them from the stream pass.
    let mut scratch = Chunk::new(plan);
    let mut fields = Scratch::default();
    for d in &deferred {
        read_record(&stream_cx, &d.text, d.pos, d.in_body, &mut fields, false, &mut scratch);
    }
    evaluate(&stream_cx, &mut fields, &mut scratch);
    let mut ignored = Kept::new(plan);
    let late = read_inputs(&stream_cx, files, options, &mut out, &mut ignored, &mut Vec::new());
    // Free the hash tables and build rows on another thread: the caller
    // goes on to write the alerts.
    rayon::spawn(move || drop((joins, kept)));
    if late || scratch.late {
        return None;
    }
    out.alerts.extend(scratch.alerts);
    Some(out)
}

/// Kept build-side (or, in one pass, every side's) rows.
struct Kept {
    rows: Vec<Vec<Row<'static>>>,
    /// `passing[rule][source]`: kept records whose filter for that source holds.
    passing: Vec<Vec<Vec<RowRef>>>,
}

impl Kept {
    fn new(plan: &Plan) -> Kept {
        Kept {
            rows: plan.tables.iter().map(|_| Vec::new()).collect(),
            passing: plan.rules.iter().map(|r| vec![Vec::new(); r.sources.len()]).collect(),
        }
    }
}

/// A record the build pass parsed for the stream pass.
struct Deferred {
    text: Vec<u8>,
    pos: Pos,
    in_body: Option<usize>,
}

/// The columns of one record, whatever source index an expression names.
struct One<'r> {
    row: &'r Row<'r>,
    table: &'r TablePlan,
}

impl Columns for One<'_> {
    #[inline]
    fn column_ref(&self, _source: usize, id: u32) -> Option<&Value<'_>> {
        self.table.slot(id).map(|s| &self.row.values[s])
    }

    #[inline]
    fn ascii(&self, _source: usize) -> bool {
        self.row.ascii
    }
}

/// The columns of a joined pair: source 0 and source 1.
struct Pair<'r> {
    rows: [&'r Row<'r>; 2],
    tables: [&'r TablePlan; 2],
}

impl Columns for Pair<'_> {
    #[inline]
    fn column_ref(&self, source: usize, id: u32) -> Option<&Value<'_>> {
        self.tables[source].slot(id).map(|s| &self.rows[source].values[s])
    }

    #[inline]
    fn ascii(&self, source: usize) -> bool {
        self.rows[source].ascii
    }
}

fn output(rule: &CheckedRule, pair: &Pair, now: i64) -> Values {
    thread_local! {
        /// The texts and their ends under construction: each alert's are
        /// then allocated together, at their size.
        static TEXT: std::cell::RefCell<(String, Vec<u32>)> = const { std::cell::RefCell::new((String::new(), Vec::new())) };
    }
    TEXT.with_borrow_mut(|(text, ends)| {
        text.clear();
        ends.clear();
        output_into(rule, pair, now, text, ends)
    })
}

fn output_into(rule: &CheckedRule, pair: &Pair, now: i64, text: &mut String, ends: &mut Vec<u32>) -> Values {
    for o in &rule.output {
        // A plain column: its input text, kept for other types than
        // string, or its string value; anything else: the interpreter.
        let column = o.expr.as_column().filter(|c| c.path.is_empty()).and_then(|c| {
            let slot = pair.tables[c.source].slot(c.id)?;
            let row = pair.rows[c.source];
            Some((row.raw.get(slot).and_then(Option::as_deref), &row.values[slot]))
        });
        match column {
            Some((Some(raw), _)) if !(o.expr.ty == Type::String && raw == "null") => text.push_str(raw),
            Some((_, Value::Str(s))) => push_json_str(text, s),
            _ => match eval::eval(&o.expr, pair, now) {
                Value::Str(s) => push_json_str(text, &s),
                v => text.push_str(&v.to_json().to_string()),
            },
        }
        ends.push(text.len() as u32);
    }
    Values::new(text, ends)
}

/// Appends `s` as a JSON string, as serde_json writes it: most strings
/// need no escape and are copied as they are.
fn push_json_str(out: &mut String, s: &str) {
    // A fold rather than `all`: no early exit, so the check is vectorised.
    if !s.bytes().fold(false, |escape, b| escape | (b < 0x20) | (b == b'"') | (b == b'\\')) {
        out.push('"');
        out.push_str(s);
        out.push('"');
    } else {
        out.push_str(&serde_json::to_string(s).expect("strings serialise"));
    }
}

/// An alert's output values: the JSON text of each, in the rule's output
/// order, one after the other, and where each ends; in one allocation, as
/// alerts are made by the hundred thousand and each is read once more,
/// when it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Values {
    /// The texts, then the end of each in them (`u32`s, little-endian).
    data: Box<[u8]>,
    /// The length of the texts.
    text: u32,
}

impl Values {
    /// `text` is the values' JSON texts, one after the other; `ends`, where each ends.
    fn new(text: &str, ends: &[u32]) -> Values {
        let mut data = Vec::with_capacity(text.len() + 4 * ends.len());
        data.extend_from_slice(text.as_bytes());
        for end in ends {
            data.extend_from_slice(&end.to_le_bytes());
        }
        Values { data: data.into_boxed_slice(), text: text.len() as u32 }
    }

    /// Values from their JSON texts.
    #[cfg(test)]
    pub(crate) fn from_json_texts(texts: &[&str]) -> Values {
        let ends: Vec<u32> = texts
            .iter()
            .scan(0, |end, t| {
                *end += t.len() as u32;
                Some(*end)
            })
            .collect();
        Values::new(&texts.concat(), &ends)
    }

    /// The texts, one after the other.
    fn text(&self) -> &str {
        // SAFETY: `new` copies these bytes from a `str`, and nothing writes them.
        unsafe { std::str::from_utf8_unchecked(&self.data[..self.text as usize]) }
    }

    fn end(&self, i: usize) -> usize {
        let at = self.text as usize + 4 * i;
        u32::from_le_bytes(self.data[at..at + 4].try_into().expect("4 bytes")) as usize
    }

    /// The JSON text of value `i`.
    pub fn get(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.end(i - 1) };
        &self.text()[start..self.end(i)]
    }

    pub fn len(&self) -> usize {
        (self.data.len() - self.text as usize) / 4
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        (0..self.len()).map(|i| self.get(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_are_written_as_serde_json_writes_them() {
        let plain = ["", "plain /path?$top=1", "héllo ✓", "\u{7f} is no control"];
        // Each with one kind of byte to escape only.
        let escaped = ["a \" quote", "back\\slash", "tab\t", "\u{1f}", "\u{0}"];
        for s in plain.into_iter().chain(escaped) {
            let mut out = String::from("x");
            push_json_str(&mut out, s);
            assert_eq!(out, format!("x{}", serde_json::to_string(s).unwrap()));
        }
    }

    /// Kept rows hold what keeping rules read after the filter (keys,
    /// mismatch, output) and the raw texts of what they output; not what
    /// filters and single-source rules read.
    #[test]
    fn kept_rows_hold_the_columns_joins_read_after_the_filter() {
        let join = "  sources:\n    a: MicrosoftGraphActivityLogs\n    s: AADServicePrincipalSignInLogs\n\
                    \x20 filter:\n    s: ResultType == \"0\"\n\
                    \x20 join: a.SignInActivityId == s.UniqueTokenIdentifier\n\
                    \x20 mismatch: a.TimeGenerated - s.TimeGenerated > 1h\n\
                    \x20 output:\n    Name: s.ServicePrincipalName\n    Code: a.ResponseStatusCode\n    N: strlen(s.AppId)\n";
        let single = "  sources:\n    s: AADServicePrincipalSignInLogs\n  filter:\n    s: isnotempty(Location)\n\
                      \x20 output:\n    T: s.TimeGenerated\n    D: s.ResultDescription\n";
        let plan = crate::plan::plan_of(&[crate::plan::test_rule(0, join), crate::plan::test_rule(1, single)]);
        let held = |roles: &[Vec<Role>], table: &str| {
            let t = plan.tables.iter().position(|t| t.name == table).unwrap();
            let kept = &kept_columns(&plan, roles)[t];
            let names = |mask: &[bool]| -> Vec<String> {
                let mut names: Vec<String> = (0..mask.len())
                    .filter(|&s| mask[s])
                    .map(|s| plan.columns[plan.tables[t].projection[s].column as usize].clone())
                    .collect();
                names.sort();
                names
            };
            (names(&kept.values), names(&kept.raw))
        };
        let two_passes = [vec![Role::Probe, Role::Build], vec![Role::Single]];
        let (values, raw) = held(&two_passes, "AADServicePrincipalSignInLogs");
        assert_eq!(values, ["AppId", "ServicePrincipalName", "TimeGenerated", "UniqueTokenIdentifier"]);
        assert_eq!(raw, ["ServicePrincipalName"]);
        assert_eq!(held(&two_passes, "MicrosoftGraphActivityLogs"), (vec![], vec![]), "probed, not kept");
        let one_pass = [vec![Role::Keep, Role::Keep], vec![Role::Single]];
        let (values, raw) = held(&one_pass, "MicrosoftGraphActivityLogs");
        assert_eq!(values, ["ResponseStatusCode", "SignInActivityId", "TimeGenerated"]);
        assert_eq!(raw, ["ResponseStatusCode"]);
    }

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

    /// A table that a rule builds on and single-source rules read is read by
    /// the build pass only; one that single-source rules alone read streams.
    #[test]
    fn single_source_rules_on_a_built_table_run_in_the_build_pass() {
        let seed = concat!(env!("CARGO_MANIFEST_DIR"), "/rules/entra/service_principal_token_ip_mismatch.yml");
        let seed = std::fs::read_to_string(seed).unwrap();
        let single = |i: usize, table: &str| {
            let correlation = format!(
                "  sources:\n    signin: {table}\n  filter:\n    signin: isnotempty(IPAddress)\n\
                 \x20 output:\n    IPAddress: signin.IPAddress\n"
            );
            crate::plan::test_rule(i, &correlation)
        };
        // The join builds on service-principal sign-ins only.
        let seed = seed.replace(
            "signin: [AADServicePrincipalSignInLogs, AADManagedIdentitySignInLogs]",
            "signin: AADServicePrincipalSignInLogs",
        );
        let (sp, mi) = ("AADServicePrincipalSignInLogs", "AADManagedIdentitySignInLogs");
        let files = [crate::span::SourceFile::new("seed.yml", seed), single(1, sp), single(2, mi)];
        let plan = crate::plan::plan_of(&files);
        let roles: Vec<Vec<Role>> = plan
            .rules
            .iter()
            .map(|r| if r.sources.len() == 1 { vec![Role::Single] } else { vec![Role::Probe, Role::Build] })
            .collect();
        let (builds, streams) = table_flags(&plan, &roles);
        let flags = |name: &str| {
            let t = plan.tables.iter().position(|t| t.name == name).unwrap();
            (builds[t], streams[t])
        };
        assert_eq!(flags(sp), (true, false), "built, and read by a single-source rule");
        assert_eq!(flags(mi), (false, true), "read by a single-source rule only");
        assert_eq!(flags("MicrosoftGraphActivityLogs"), (false, true), "the probe side");
    }

    #[test]
    fn values_hold_each_json_text() {
        let v = Values::new(r#""a"12null"#, &[3, 5, 9]);
        assert_eq!(v.iter().collect::<Vec<_>>(), ["\"a\"", "12", "null"]);
        assert_eq!((v.len(), v.get(1), v.get(2)), (3, "12", "null"));
        let wide = Values::from_json_texts(&["\"héllo ✓\"", "\"\"", "{\"k\":[1]}"]);
        assert_eq!(wide.iter().collect::<Vec<_>>(), ["\"héllo ✓\"", "\"\"", "{\"k\":[1]}"]);
        let none = Values::new("", &[]);
        assert!(none.is_empty() && none.iter().next().is_none());
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
