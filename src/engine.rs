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
//! 2. **stream pass**: records of the other tables are parsed, filtered and
//!    probed, one block at a time; single-source rules alert here too.
//!
//! A cheap look at each record's `Type` (or `category`) text decides which
//! pass parses it ([`hint`]); the full parse routes it for real, so a record
//! the hint misjudged is still evaluated (or, if it belonged to a build
//! side, the run falls back to one pass). With standard input among the
//! inputs, one pass keeps every side and joins at the end.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, LazyLock};

use memchr::memmem;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rayon::prelude::*;
use serde_json::value::RawValue;

use crate::check::{CheckedRule, TExpr};
use crate::eval::{self, Columns};
use crate::input::record;
use crate::input::{FieldIndex, Fields, InputFile, Reader, Shape, Unit};
use crate::plan::{FieldSource, Plan, TablePlan};
use crate::types::Type;
use crate::value::{JsonScalar, Value};

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
    /// The input's JSON text of the columns alerts copy verbatim.
    pub raw: Vec<Option<Cow<'a, str>>>,
}

impl Row<'_> {
    pub fn into_owned(self) -> Row<'static> {
        Row {
            pos: self.pos,
            values: self.values.into_iter().map(Value::into_owned).collect(),
            raw: self.raw.into_iter().map(|r| r.map(|c| Cow::Owned(c.into_owned()))).collect(),
        }
    }
}

/// One alert: a rule, the records that fired it, and its output fields.
#[derive(Debug)]
pub struct Alert {
    pub rule: usize,
    /// One position per source of the rule, in declaration order.
    pub evidence: Vec<Pos>,
    /// One JSON value per output column, in the rule's order.
    pub fields: Vec<Box<RawValue>>,
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
    /// Records of the tables rules read, by [`Shape`]: Log Analytics, diagnostic settings.
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

const CHUNK_UNITS: usize = 2048;

/// Options for [`run_with`].
#[derive(Default, Clone, Copy)]
pub struct Options<'a> {
    /// Called after each block of input with the bytes read so far, all
    /// inputs together (compressed bytes for gzip).
    pub progress: Option<&'a (dyn Fn(u64) + Sync)>,
}

/// Runs every planned rule over `files`. `now` is the fixed current time in
/// ticks (what `now()` and `ago()` use).
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
    /// Two-pass mode, first: build sides.
    Build,
    /// Two-pass mode, second: probe sides and single-source rules.
    Stream,
}

/// A rule's hash table: build-side records by join key.
struct Join {
    build: usize,
    rows: hashbrown::HashMap<Key, Vec<RowRef>, foldhash::fast::RandomState>,
    as_real: Vec<bool>,
}

/// Everything a pass needs to read a block.
struct Ctx<'p> {
    plan: &'p Plan,
    index: &'p FieldIndex,
    now: i64,
    pass: Pass,
    roles: &'p [Vec<Role>],
    /// Per table: some user is a build side / streams (probe or single).
    builds: &'p [bool],
    streams: &'p [bool],
    /// Two-pass mode: which passes read each input (empty in one pass).
    files: &'p [FileRole],
    /// Stream pass: the kept build rows and the rules' hash tables.
    rows: &'p [Vec<Row<'static>>],
    joins: &'p [Option<Join>],
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
    outcome.alerts.sort_by(|a, b| (a.rule, &a.evidence).cmp(&(b.rule, &b.evidence)));
    for a in &outcome.alerts {
        outcome.stats.alerts[a.rule] += 1;
    }
    outcome.problems.sort_by_key(|p| p.pos);
    outcome.bad_values.sort_by_key(|p| p.pos);
    outcome.stats.elapsed = start.elapsed();
    outcome
}

fn table_flags(plan: &Plan, roles: &[Vec<Role>]) -> (Vec<bool>, Vec<bool>) {
    let has = |t: &TablePlan, f: &dyn Fn(Role) -> bool| t.users.iter().any(|&(r, s)| f(roles[r][s]));
    let builds = plan.tables.iter().map(|t| has(t, &|r| matches!(r, Role::Build | Role::Keep))).collect();
    let streams = plan.tables.iter().map(|t| has(t, &|r| matches!(r, Role::Probe | Role::Single))).collect();
    (builds, streams)
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
    let mut out = new_outcome(plan, files);
    let mut kept = Kept::new(plan);
    let cx = Ctx {
        plan,
        index: &index,
        now,
        pass: Pass::Only,
        roles,
        builds: &builds,
        streams: &streams,
        files: &[],
        rows: &[],
        joins: &[],
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
            let join = build_join(plan, r, build, &kept.rows, &kept.passing[r][build], now);
            kept.passing[r][1 - build]
                .par_iter()
                .flat_map_iter(|&rr| {
                    let (row, table) =
                        (&kept.rows[rr.table as usize][rr.index as usize], &plan.tables[rr.table as usize]);
                    let mut alerts = Vec::new();
                    probe(plan, r, &join, &kept.rows, row, table, now, &mut alerts);
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
    let mut out = new_outcome(plan, files);
    let mut kept = Kept::new(plan);
    let mut deferred = Vec::new();
    let build_cx = Ctx {
        plan,
        index: &index,
        now,
        pass: Pass::Build,
        roles,
        builds: &builds,
        streams: &streams,
        files: &file_roles,
        rows: &[],
        joins: &[],
    };
    read_inputs(&build_cx, files, options, &mut out, &mut kept, &mut deferred);

    let joins: Vec<Option<Join>> = plan
        .rules
        .par_iter()
        .enumerate()
        .map(|(r, _)| {
            let build = roles[r].iter().position(|&role| role == Role::Build)?;
            Some(build_join(plan, r, build, &kept.rows, &kept.passing[r][build], now))
        })
        .collect();
    let stream_cx = Ctx { pass: Pass::Stream, rows: &kept.rows, joins: &joins, ..build_cx };
    // Records the build pass parsed whose hint kept them from the stream pass.
    let mut scratch = Chunk::new(plan);
    let mut fields = Vec::new();
    for d in &deferred {
        read_record(&stream_cx, &d.text, d.pos, d.in_body, &mut fields, false, &mut scratch);
    }
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

/// Reads the inputs this pass reads. Returns whether a build record turned
/// up in the stream pass. Bytes (and progress) count each input once, in the
/// pass that counts it.
fn read_inputs(
    cx: &Ctx,
    files: &[InputFile],
    options: Options,
    out: &mut Outcome,
    kept: &mut Kept,
    deferred: &mut Vec<Deferred>,
) -> bool {
    let mut late = false;
    for (file_no, file) in files.iter().enumerate() {
        let file_no = file_no as u32;
        if !cx.reads(file_no) {
            continue;
        }
        let counts = cx.counts(file_no);
        let read = Arc::new(AtomicU64::new(0));
        let file_problem = |line: u32, message: String, out: &mut Outcome| {
            if !counts {
                return;
            }
            out.stats.file_errors += 1;
            out.stats.problems_per_file[file_no as usize] += 1;
            if out.problems.len() < MAX_PROBLEMS {
                out.problems.push(Problem { pos: Pos { file: file_no, line }, message });
            }
        };
        let mut reader = match Reader::open(file, read.clone()) {
            Ok(r) => r,
            Err(e) => {
                file_problem(0, format!("cannot read file: {e}"), out);
                continue;
            }
        };
        let mut next = reader.next_block();
        while let Some(block) = next {
            // Parse this block while the next one is read (and gunzipped).
            let (chunks, following) = rayon::join(
                || {
                    block
                        .units
                        .par_chunks(CHUNK_UNITS)
                        .map(|units| read_chunk(cx, &block.data, units, file_no))
                        .collect::<Vec<Chunk>>()
                },
                || reader.next_block(),
            );
            next = following;
            reader.recycle(block.data);
            for chunk in chunks {
                late |= chunk.late;
                merge(cx, chunk, file_no, out, kept, deferred);
            }
            if let Some(progress) = options.progress
                && counts
            {
                progress(out.stats.bytes + read.load(Ordering::Relaxed));
            }
        }
        if counts {
            out.stats.lines += reader.lines();
            out.stats.bytes += read.load(Ordering::Relaxed);
        }
        if let Some((line, message)) = reader.error() {
            file_problem(line, message.to_string(), out);
        } else if reader.decoded() == 0 {
            file_problem(0, "empty file".to_string(), out);
        }
    }
    late
}

fn merge(cx: &Ctx, chunk: Chunk, file_no: u32, out: &mut Outcome, kept: &mut Kept, deferred: &mut Vec<Deferred>) {
    let stats = &mut out.stats;
    stats.entries += chunk.entries;
    for (t, n) in chunk.records.iter().enumerate() {
        stats.records[t] += n;
    }
    stats.shapes[0] += chunk.shapes[0];
    stats.shapes[1] += chunk.shapes[1];
    for (name, n) in chunk.other {
        *stats.other.entry(name).or_default() += n;
    }
    stats.malformed += chunk.malformed;
    stats.bad_values += chunk.bad_values;
    stats.problems_per_file[file_no as usize] += chunk.malformed + chunk.bad_values;
    let room = MAX_PROBLEMS.saturating_sub(out.problems.len());
    out.problems.extend(chunk.problems.into_iter().take(room));
    let room = MAX_PROBLEMS.saturating_sub(out.bad_values.len());
    out.bad_values.extend(chunk.bad_value_problems.into_iter().take(room));
    out.alerts.extend(chunk.alerts);
    deferred.extend(chunk.deferred);
    for k in chunk.kept {
        let table = k.table as usize;
        let r = RowRef { table: k.table, index: kept.rows[table].len() as u32 };
        for &user in &k.passes {
            let (rule, source) = cx.plan.tables[table].users[user as usize];
            kept.passing[rule][source].push(r);
        }
        kept.rows[table].push(k.row);
    }
}

struct KeptRow {
    table: u32,
    row: Row<'static>,
    /// Indices into the table's `users` whose filter holds.
    passes: Vec<u16>,
}

#[derive(Default)]
struct Chunk {
    kept: Vec<KeptRow>,
    alerts: Vec<Alert>,
    deferred: Vec<Deferred>,
    /// A build-side record turned up in the stream pass.
    late: bool,
    entries: u64,
    records: Vec<u64>,
    shapes: [u64; 2],
    other: HashMap<String, u64>,
    malformed: u64,
    problems: Vec<Problem>,
    bad_values: u64,
    bad_value_problems: Vec<Problem>,
}

impl Chunk {
    fn new(plan: &Plan) -> Chunk {
        Chunk { records: vec![0; plan.tables.len()], ..Chunk::default() }
    }

    fn malformed(&mut self, pos: Pos, message: String) {
        self.malformed += 1;
        self.problems.push(Problem { pos, message });
    }
}

fn read_chunk(cx: &Ctx, data: &[u8], units: &[Unit], file: u32) -> Chunk {
    let mut out = Chunk::new(cx.plan);
    let mut fields = Vec::new();
    for u in units {
        let pos = Pos { file, line: u.line };
        let text = match record::record_text(&data[u.start..u.end]) {
            Ok(t) => t,
            Err(e) => {
                if cx.counts(file) {
                    out.entries += 1;
                    out.malformed(pos, e.to_string());
                }
                continue;
            }
        };
        if !record::is_records_body(text) {
            read_record(cx, text, pos, None, &mut fields, true, &mut out);
            continue;
        }
        match record::records_of_body(text) {
            Ok(records) => {
                for (i, text) in records.into_iter().enumerate() {
                    read_record(cx, text, pos, Some(i), &mut fields, true, &mut out);
                }
            }
            Err(e) => {
                if cx.counts(file) {
                    out.entries += 1;
                    out.malformed(pos, format!("{e} (in a `{{\"records\": [...]}}` body)"));
                }
            }
        }
    }
    out
}

/// The table a record names in its `Type` (or `category`) text, found
/// without parsing it: a hint for which pass parses it. `None` when the text
/// names no table a rule reads.
pub fn hint(plan: &Plan, text: &[u8]) -> Option<usize> {
    static TYPE: LazyLock<memmem::Finder<'static>> = LazyLock::new(|| memmem::Finder::new(b"\"Type\":\""));
    static CATEGORY: LazyLock<memmem::Finder<'static>> = LazyLock::new(|| memmem::Finder::new(b"\"category\":\""));
    let name_after = |key: &memmem::Finder| -> Option<&str> {
        let at = key.find(text)? + key.needle().len();
        let len = memchr::memchr(b'"', &text[at..])?;
        std::str::from_utf8(&text[at..at + len]).ok()
    };
    match name_after(&TYPE) {
        Some(name) => plan.table_index(name),
        None => plan.table_index(plan.category_table(name_after(&CATEGORY)?)?),
    }
}

/// What the first MiB of each input says: records per table plan (scaled
/// by the input's size: enough to tell the smaller side of a join), and per
/// input which tables its sample names.
pub struct Estimate {
    pub sizes: Vec<f64>,
    /// Per input: bit `t` set when the sample holds a record of table plan
    /// `t`; `None` when it holds a record of no known table (or nothing).
    pub seen: Vec<Option<u64>>,
}

pub fn estimate(plan: &Plan, files: &[InputFile]) -> Estimate {
    const SAMPLE: usize = 1 << 20;
    let mut sizes = vec![0.0; plan.tables.len()];
    let mut seen = Vec::with_capacity(files.len());
    for file in files {
        let mut tables = Some(0u64);
        let sample = std::fs::metadata(&file.path).ok().and_then(|meta| {
            let raw = Arc::new(AtomicU64::new(0));
            let block = Reader::open(file, raw.clone()).ok()?.sample(SAMPLE)?;
            Some((block, meta.len() as f64 / raw.load(Ordering::Relaxed).max(1) as f64))
        });
        let Some((block, scale)) = sample else {
            seen.push(None);
            continue;
        };
        // The last line of the sample may be cut short: it says nothing.
        let whole = memchr::memrchr(b'\n', &block).map_or(&block[..], |nl| &block[..nl]);
        for line in whole.split(|&b| b == b'\n').filter(|l| !l.trim_ascii().is_empty()) {
            match hint(plan, line) {
                Some(t) => {
                    sizes[t] += scale.max(1.0);
                    tables = tables.map(|bits| if t < 64 { bits | 1 << t } else { bits });
                    if t >= 64 {
                        tables = None;
                    }
                }
                None => tables = None,
            }
        }
        seen.push(tables.filter(|&bits| bits != 0));
    }
    Estimate { sizes, seen }
}

/// Which passes read an input, from the tables its sample names. A record
/// the sample did not foresee is still evaluated: a stream-side record in a
/// build-only input is deferred to the stream pass; a build-side record in a
/// stream-only input makes the run fall back to one pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileRole {
    /// Both passes; each record by its hint.
    Both,
    /// Only the build pass, which parses and counts every record.
    BuildOnly,
    /// Only the stream pass, which parses and counts every record.
    StreamOnly,
}

fn file_role(seen: Option<u64>, builds: &[bool], streams: &[bool]) -> FileRole {
    let Some(bits) = seen else { return FileRole::Both };
    let tables = || (0..builds.len().min(64)).filter(move |t| bits >> t & 1 == 1);
    if tables().all(|t| builds[t] && !streams[t]) {
        FileRole::BuildOnly
    } else if tables().all(|t| streams[t] && !builds[t]) {
        FileRole::StreamOnly
    } else {
        FileRole::Both
    }
}

#[allow(clippy::too_many_arguments)]
fn read_record<'a>(
    cx: &Ctx,
    text: &'a [u8],
    pos: Pos,
    in_body: Option<usize>,
    fields: &mut Fields<'a>,
    from_input: bool,
    out: &mut Chunk,
) {
    let plan = cx.plan;
    // Which pass parses this record, which one counts it (the last that
    // parses it), and whether each pass parses it, by its hint.
    let (parse, count, in_build, in_stream) = match (cx.pass, from_input, cx.file_role(pos.file)) {
        (Pass::Only, _, _) => (true, true, true, true),
        (_, false, _) => (true, false, true, true),
        (Pass::Build, true, FileRole::BuildOnly) => (true, true, true, false),
        (Pass::Stream, true, FileRole::StreamOnly) => (true, true, false, true),
        (pass, true, _) => {
            let h = hint(plan, text);
            let in_build = h.is_none_or(|t| cx.builds[t]);
            let in_stream = h.is_none_or(|t| cx.streams[t]);
            match pass {
                Pass::Build => (in_build, !in_stream, in_build, in_stream),
                _ => (in_stream, true, in_build, in_stream),
            }
        }
    };
    if !parse {
        return;
    }
    let whose = |msg: String| match in_body {
        Some(i) => format!("record {} of the `records` body: {msg}", i + 1),
        None => msg,
    };
    if count {
        out.entries += 1;
    }
    if let Err(err) = record::parse_record(text, cx.index, fields) {
        if count {
            out.malformed(pos, whose(err.to_string()));
        }
        return;
    }
    let (t, shape) = match route(plan, fields) {
        Route::Table(t, shape) => (t, shape),
        Route::Other(name) => {
            if count {
                *out.other.entry(name.into_owned()).or_default() += 1;
            }
            return;
        }
        Route::Unknown => {
            if count {
                out.malformed(
                    pos,
                    whose(
                        "the record has no `Type` field (Log Analytics) nor `category` (diagnostic settings), so its \
                         table is unknown"
                            .into(),
                    ),
                );
            }
            return;
        }
    };
    // The hint misled: this record's table belongs to the other pass.
    match cx.pass {
        Pass::Build if cx.streams[t] && !in_stream => {
            out.deferred.push(Deferred { text: text.to_vec(), pos, in_body });
        }
        Pass::Stream if cx.builds[t] && !in_build => out.late = true,
        _ => {}
    }
    if count {
        out.records[t] += 1;
        out.shapes[shape as usize] += 1;
    }
    let table = &plan.tables[t];
    let mut values = Vec::with_capacity(table.projection.len());
    let mut raw = Vec::with_capacity(table.projection.len());
    for p in &table.projection {
        // Strings are re-encoded from their value; other types keep their input text.
        let keep_raw = p.keep_raw && p.ty != Type::String;
        let (value, text): (Value<'a>, Option<Cow<'a, str>>) = match p.source(shape) {
            FieldSource::Field(f) => match &fields[f as usize] {
                Some((json, text)) => match Value::from_json(json.clone(), p.ty) {
                    Ok(v) => (v, keep_raw.then_some(Cow::Borrowed(*text))),
                    Err(_) => {
                        if count {
                            out.bad_values += 1;
                            let column = &plan.columns[p.column as usize];
                            let shown: String = text.chars().take(60).collect();
                            out.bad_value_problems.push(Problem {
                                pos,
                                message: whose(format!("`{column}` is {shown}, not a {}; read as empty", p.ty)),
                            });
                        }
                        (Value::absent(p.ty), keep_raw.then_some(Cow::Borrowed(*text)))
                    }
                },
                None => (Value::absent(p.ty), None),
            },
            FieldSource::TableName => (Value::Str(Cow::Owned(table.name.clone())), None),
            FieldSource::Absent => (Value::absent(p.ty), None),
        };
        values.push(value);
        raw.push(text);
    }
    let row = Row { pos, values, raw };
    let one = One { row: &row, table };
    let mut passes = Vec::new();
    for (u, &(rule, source)) in table.users.iter().enumerate() {
        let role = cx.roles[rule][source];
        let wanted = match cx.pass {
            Pass::Only => true,
            Pass::Build => role == Role::Build,
            Pass::Stream => matches!(role, Role::Probe | Role::Single),
        };
        let holds = || match &plan.rules[rule].sources[source].filter {
            Some(f) => eval::holds(f, &one, cx.now),
            None => true,
        };
        if !wanted || !holds() {
            continue;
        }
        match role {
            Role::Single => {
                let pair = Pair { rows: [&row, &row], tables: [table, table] };
                out.alerts.push(Alert { rule, evidence: vec![pos], fields: output(&plan.rules[rule], &pair, cx.now) });
            }
            Role::Probe => {
                if let Some(join) = &cx.joins[rule] {
                    probe(plan, rule, join, cx.rows, &row, table, cx.now, &mut out.alerts);
                }
            }
            Role::Build | Role::Keep => passes.push(u as u16),
        }
    }
    if !passes.is_empty() {
        out.kept.push(KeptRow { table: t as u32, row: row.into_owned(), passes });
    }
}

/// Which table a parsed record belongs to, and in which shape.
enum Route<'a> {
    Table(usize, Shape),
    Other(Cow<'a, str>),
    Unknown,
}

fn route<'a>(plan: &Plan, fields: &Fields<'a>) -> Route<'a> {
    let name = |f: u32| match &fields[f as usize] {
        Some((JsonScalar::Str(s), _)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    };
    if let Some(t) = name(plan.type_field) {
        return match plan.table_index(&t) {
            Some(i) => Route::Table(i, Shape::LogAnalytics),
            None => Route::Other(t),
        };
    }
    if let Some(category) = name(plan.category_field) {
        return match plan.category_table(&category) {
            Some(table) => match plan.table_index(table) {
                Some(i) => Route::Table(i, Shape::Diagnostic),
                None => Route::Other(Cow::Owned(table.to_string())),
            },
            None => Route::Other(category),
        };
    }
    Route::Unknown
}

/// The columns of one record, whatever source index an expression names.
struct One<'r> {
    row: &'r Row<'r>,
    table: &'r TablePlan,
}

impl Columns for One<'_> {
    fn column(&self, _source: usize, id: u32) -> Option<Value<'_>> {
        self.table.slot(id).map(|s| self.row.values[s].reborrow())
    }
}

/// The columns of a joined pair: source 0 and source 1.
struct Pair<'r> {
    rows: [&'r Row<'r>; 2],
    tables: [&'r TablePlan; 2],
}

impl Columns for Pair<'_> {
    fn column(&self, source: usize, id: u32) -> Option<Value<'_>> {
        self.tables[source].slot(id).map(|s| self.rows[source].values[s].reborrow())
    }
}

/// Hashes the build side `build` of rule `r`: its kept records by join key.
fn build_join(plan: &Plan, r: usize, build: usize, rows: &[Vec<Row<'static>>], passing: &[RowRef], now: i64) -> Join {
    let rule = &plan.rules[r];
    let as_real: Vec<bool> = rule.join.iter().map(|k| k.left.ty == Type::Real || k.right.ty == Type::Real).collect();
    let exprs: Vec<&TExpr> = rule.join.iter().map(|k| if build == 0 { &k.left } else { &k.right }).collect();
    let mut table: hashbrown::HashMap<Key, Vec<RowRef>, foldhash::fast::RandomState> = Default::default();
    for &rr in passing {
        let row = &rows[rr.table as usize][rr.index as usize];
        let one = One { row, table: &plan.tables[rr.table as usize] };
        if let Some(k) = key(&exprs, &as_real, &one, now) {
            table.entry(Key(k.into_iter().map(Atom::into_owned).collect())).or_default().push(rr);
        }
    }
    Join { build, rows: table, as_real }
}

/// Probes rule `r`'s hash table with a record of its other side; an alert
/// for every matching build record whose pair passes the mismatch.
#[allow(clippy::too_many_arguments)]
fn probe(
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
    let exprs: Vec<&TExpr> = rule.join.iter().map(|k| if join.build == 0 { &k.right } else { &k.left }).collect();
    let one = One { row, table };
    let Some(matches) = key(&exprs, &join.as_real, &one, now).and_then(|k| join.rows.get(&KeyRef(&k))) else {
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
    fn into_owned(self) -> Atom<'static> {
        match self {
            Atom::Str(s) => Atom::Str(Cow::Owned(s.into_owned())),
            Atom::Int(n) => Atom::Int(n),
            Atom::Real(b) => Atom::Real(b),
            Atom::Bool(b) => Atom::Bool(b),
            Atom::Json(s) => Atom::Json(s),
        }
    }
}

/// The key of one record, or `None` when a part is missing or empty.
fn key<'r, C: Columns>(exprs: &'r [&TExpr], as_real: &[bool], cx: &'r C, now: i64) -> Option<Vec<Atom<'r>>> {
    let mut atoms = Vec::with_capacity(exprs.len());
    for (e, &real) in exprs.iter().zip(as_real) {
        let atom = match eval::eval(e, cx, now).undynamic() {
            Value::Null => return None,
            Value::Str(s) if s.is_empty() => return None,
            Value::Str(s) => Atom::Str(s),
            Value::Long(n) if real => Atom::Real((n as f64).to_bits()),
            Value::Long(n) | Value::DateTime(n) | Value::Timespan(n) => Atom::Int(n),
            Value::Real(f) => Atom::Real(if f == 0.0 { 0 } else { f.to_bits() }),
            Value::Bool(b) => Atom::Bool(b),
            other => Atom::Json(other.to_json().to_string()),
        };
        atoms.push(atom);
    }
    Some(atoms)
}

fn output(rule: &CheckedRule, pair: &Pair, now: i64) -> Vec<Box<RawValue>> {
    rule.output
        .iter()
        .map(|o| {
            if let Some(c) = o.expr.as_column().filter(|c| c.path.is_empty()) {
                let table = pair.tables[c.source];
                if let Some(slot) = table.slot(c.id)
                    && let Some(raw) = &pair.rows[c.source].raw[slot]
                    && !(o.expr.ty == Type::String && &**raw == "null")
                {
                    return RawValue::from_string(raw.to_string()).expect("raw JSON from the input is valid");
                }
            }
            let v = eval::eval(&o.expr, pair, now);
            serde_json::value::to_raw_value(&v.to_json()).expect("a JSON value serialises")
        })
        .collect()
}
