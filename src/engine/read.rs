//! One pass over the inputs: blocks read while the previous one is parsed,
//! records parsed in parallel chunks, routed to their table, filtered, and
//! kept, probed or turned into alerts according to the pass.

use std::borrow::Cow;
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};

use super::join::probe;
use super::sample::{FileRole, hint};
use super::{
    Alert, Ctx, Deferred, Evidence, Kept, MAX_PROBLEMS, One, Options, Outcome, Pair, Pass, Pos, Problem, Role, Row,
    RowRef, output,
};
use crate::input::record;
use crate::input::{Block, Data, InputFile, LineError, ParsedRecord, Reader, Shape, Unit, Units, lines_in};
use crate::json_scan::Found;
use crate::plan::{FieldSource, Plan};
use crate::pred::{BATCH, BatchColumns};
use crate::types::Type;
use crate::value::{JsonScalar, Value};

/// Records of a JSON document parsed as one task.
const CHUNK_UNITS: usize = 2048;

/// Marks a line number as counted from its chunk's start (1: the chunk's
/// first line): NDJSON lines are numbered by the task that splits them,
/// which does not know how many came before. Merging the chunk, in input
/// order, makes them the file's ([`Chunk::fix_lines`]).
const LOCAL: u32 = 1 << 31;

/// The highest line number: past it lines are numbered so (reported once).
const MAX_LINE: u32 = LOCAL - 1;

/// Reads the inputs this pass reads. Returns whether a build record turned
/// up in the stream pass. Bytes (and progress) count each input once, in the
/// pass that counts it.
pub(super) fn read_inputs(
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
        let reader = match Reader::open(file, read.clone()) {
            Ok(r) => r,
            Err(e) => {
                file_problem(0, format!("cannot read file: {e}"), out);
                continue;
            }
        };
        let mut on_block = |out: &mut Outcome| {
            if let Some(progress) = options.progress
                && counts
            {
                progress(out.stats.bytes + read.load(Ordering::Relaxed));
            }
        };
        // NDJSON lines merged so far: the line before the next chunk's first.
        let mut lines = 0u64;
        let mut merge_chunk = |mut chunk: Chunk, out: &mut Outcome| {
            late |= chunk.late;
            if lines + chunk.lines > MAX_LINE as u64 && lines <= MAX_LINE as u64 {
                let message = format!("more than {MAX_LINE} lines: the lines after it are all numbered {MAX_LINE}");
                file_problem(MAX_LINE, message, out);
            }
            chunk.fix_lines(lines.min(MAX_LINE as u64) as u32);
            lines += chunk.lines;
            merge(cx, chunk, file_no, out, kept, deferred);
        };
        let reader = parse_file(cx, reader, file_no, &mut merge_chunk, &mut on_block, out);
        if counts {
            out.stats.lines += reader.lines() + lines;
            out.stats.bytes += read.load(Ordering::Relaxed);
        }
        if let Some((line, message)) = reader.error() {
            // The reader counts from the end of the blocks it handed out.
            let line = (lines + line as u64).min(MAX_LINE as u64) as u32;
            file_problem(line, message.to_string(), out);
        } else if reader.decoded() == 0 {
            file_problem(0, "empty file".to_string(), out);
        }
    }
    late
}

/// Blocks in flight: parsing, or parsed and waiting to be merged in order.
const BLOCKS_IN_FLIGHT: usize = 3;

/// Parses one input: a thread reads (maps, gunzips) blocks ahead while the
/// rayon pool parses chunks of several blocks at once, so no core waits for
/// a block's last chunk or for the next read. Chunks are handed to `merge`
/// in input order, and `on_block` is called after each block. Returns the
/// reader, for its line count and error.
fn parse_file(
    cx: &Ctx,
    reader: Reader,
    file_no: u32,
    merge: &mut dyn FnMut(Chunk, &mut Outcome),
    on_block: &mut dyn FnMut(&mut Outcome),
    out: &mut Outcome,
) -> Reader {
    std::thread::scope(|threads| {
        let (blocks_tx, blocks_rx) = mpsc::sync_channel::<Block>(1);
        let (spare_tx, spare_rx) = mpsc::channel::<Data>();
        let producer = threads.spawn(move || {
            let mut reader = reader;
            loop {
                // Finished blocks come back to be reused (or unmapped) here.
                while let Ok(data) = spare_rx.try_recv() {
                    reader.recycle(data);
                }
                let Some(block) = reader.next_block() else { break };
                if blocks_tx.send(block).is_err() {
                    break;
                }
            }
            reader
        });
        let (done_tx, done_rx) = mpsc::channel::<Parsed>();
        let mut order = InOrder { blocks: VecDeque::new(), first: 0, waiting: BTreeMap::new(), spare: spare_tx };
        rayon::in_place_scope_fifo(|scope| {
            for (b, block) in blocks_rx.iter().enumerate() {
                let block = Arc::new(block);
                let chunks = match &block.units {
                    Units::Records(units) => units.len().div_ceil(CHUNK_UNITS),
                    Units::Lines(ranges) => ranges.len(),
                };
                for c in 0..chunks {
                    let (block, done) = (block.clone(), done_tx.clone());
                    scope.spawn_fifo(move |_| {
                        let work = match &block.units {
                            Units::Records(units) => {
                                Work::Records(&units[c * CHUNK_UNITS..((c + 1) * CHUNK_UNITS).min(units.len())])
                            }
                            Units::Lines(ranges) => Work::Lines(ranges[c].clone()),
                        };
                        // A panic (a bug) is sent on, not swallowed: the
                        // merge waits for every chunk, and would wait forever.
                        let parsed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            read_chunk(cx, &block.data, work, file_no)
                        }));
                        // The block is let go before the chunk is sent, so
                        // the merge of its last chunk finds it unshared.
                        drop(block);
                        let _ = done.send(Parsed { block: b, chunk: c, parsed });
                    });
                }
                order.blocks.push_back(Pending { data: Some(block), chunks, merged: 0 });
                order.advance(merge, on_block, out);
                while order.blocks.len() >= BLOCKS_IN_FLIGHT {
                    let next = done_rx.recv().expect("a chunk is still parsing");
                    order.arrived(next, merge, on_block, out);
                }
                while let Ok(next) = done_rx.try_recv() {
                    order.arrived(next, merge, on_block, out);
                }
            }
            drop(done_tx);
            while let Ok(next) = done_rx.recv() {
                order.arrived(next, merge, on_block, out);
            }
        });
        producer.join().expect("the reader thread does not panic")
    })
}

/// A parsed chunk: chunk `chunk` of block `block` of the input.
struct Parsed {
    block: usize,
    chunk: usize,
    parsed: std::thread::Result<Chunk>,
}

/// A block whose chunks are not all merged yet.
struct Pending {
    /// Taken back for reuse once every chunk is merged.
    data: Option<Arc<Block>>,
    chunks: usize,
    merged: usize,
}

/// Puts parsed chunks back in input order.
struct InOrder {
    blocks: VecDeque<Pending>,
    /// The block number of `blocks[0]`.
    first: usize,
    waiting: BTreeMap<(usize, usize), Chunk>,
    spare: mpsc::Sender<Data>,
}

impl InOrder {
    fn arrived(
        &mut self,
        p: Parsed,
        merge: &mut dyn FnMut(Chunk, &mut Outcome),
        on_block: &mut dyn FnMut(&mut Outcome),
        out: &mut Outcome,
    ) {
        match p.parsed {
            Ok(chunk) => self.waiting.insert((p.block, p.chunk), chunk),
            Err(panic) => std::panic::resume_unwind(panic),
        };
        self.advance(merge, on_block, out);
    }

    /// Merges every chunk whose predecessors are merged.
    fn advance(
        &mut self,
        merge: &mut dyn FnMut(Chunk, &mut Outcome),
        on_block: &mut dyn FnMut(&mut Outcome),
        out: &mut Outcome,
    ) {
        while let Some(front) = self.blocks.front_mut() {
            if front.merged < front.chunks {
                let Some(chunk) = self.waiting.remove(&(self.first, front.merged)) else { break };
                merge(chunk, out);
                front.merged += 1;
                continue;
            }
            if let Some(Ok(block)) = front.data.take().map(Arc::try_unwrap) {
                let _ = self.spare.send(block.data);
            }
            self.blocks.pop_front();
            self.first += 1;
            on_block(out);
        }
    }
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
pub(super) struct Chunk {
    kept: Vec<KeptRow>,
    pub(super) alerts: Vec<Alert>,
    deferred: Vec<Deferred>,
    /// A build-side record turned up in the stream pass.
    pub(super) late: bool,
    entries: u64,
    records: Vec<u64>,
    shapes: [u64; 2],
    /// Records per table no rule reads, by name: looked up by `&str`, so a
    /// record of a known one allocates nothing (foldhash, not SipHash).
    other: hashbrown::HashMap<String, u64>,
    malformed: u64,
    problems: Vec<Problem>,
    bad_values: u64,
    bad_value_problems: Vec<Problem>,
    /// NDJSON lines split by this chunk (numbered [`LOCAL`] until merged).
    lines: u64,
}

impl Chunk {
    pub(super) fn new(plan: &Plan) -> Chunk {
        Chunk { records: vec![0; plan.tables.len()], ..Chunk::default() }
    }

    /// Numbers this chunk's lines in the file: its first line follows line
    /// `before`. Every position the chunk made from its own records is
    /// [`LOCAL`]; those of build rows it joined with are the file's already.
    fn fix_lines(&mut self, before: u32) {
        if self.lines == 0 {
            return;
        }
        let fix = |p: &mut Pos| {
            if p.line & LOCAL != 0 {
                p.line = before.saturating_add(p.line & !LOCAL).min(MAX_LINE);
            }
        };
        self.problems.iter_mut().chain(&mut self.bad_value_problems).for_each(|p| fix(&mut p.pos));
        self.alerts.iter_mut().flat_map(|a| a.evidence.iter_mut()).for_each(fix);
        self.deferred.iter_mut().for_each(|d| fix(&mut d.pos));
        self.kept.iter_mut().for_each(|k| fix(&mut k.row.pos));
    }

    fn malformed(&mut self, pos: Pos, message: String) {
        self.malformed += 1;
        self.problems.push(Problem { pos, message });
    }
}

/// What one task parses: records of a document, or a run of NDJSON lines.
enum Work<'b> {
    Records(&'b [Unit]),
    Lines(std::ops::Range<usize>),
}

/// How far ahead of the record being parsed its bytes are prefetched: two
/// records (about 2.4 KB at 1.2 KB a record) measured best; one ahead is
/// too late, four too early (see bench/RESULTS.md).
const AHEAD: usize = 2400;

fn read_chunk(cx: &Ctx, data: &[u8], work: Work, file: u32) -> Chunk {
    let mut out = Chunk::new(cx.plan);
    let mut fields = Scratch::default();
    match work {
        Work::Records(units) => {
            for (i, u) in units.iter().enumerate() {
                if let Some(ahead) = units.get(i + 2) {
                    prefetch(&data[ahead.start..ahead.end]);
                }
                read_unit(cx, &data[u.start..u.end], Pos { file, line: u.line }, &mut fields, &mut out);
            }
        }
        Work::Lines(range) => {
            // Each line is split off and parsed at once, while its bytes
            // are in the cache; the bytes after it are prefetched as they go.
            let end = range.end;
            let mut fetched = range.start;
            for (n, (start, stop)) in lines_in(data, range).enumerate() {
                let until = (stop + AHEAD).min(end);
                if until > fetched {
                    prefetch(&data[fetched.max(stop)..until]);
                    fetched = until;
                }
                let line = LOCAL | (n as u32 + 1).min(MAX_LINE);
                read_unit(cx, &data[start..stop], Pos { file, line }, &mut fields, &mut out);
                out.lines += 1;
            }
        }
    }
    evaluate(cx, &mut fields, &mut out);
    out
}

/// One line, or one record of a document: a record, or a `{"records":
/// [...]}` body of them.
fn read_unit<'a>(cx: &Ctx, unit: &'a [u8], pos: Pos, fields: &mut Scratch<'a>, out: &mut Chunk) {
    let text = match record::record_text(unit) {
        Ok(t) => t,
        Err(e) => {
            if cx.counts(pos.file) {
                out.entries += 1;
                out.malformed(pos, e.to_string());
            }
            return;
        }
    };
    if !record::is_records_body(text) {
        return read_record(cx, text, pos, None, fields, true, out);
    }
    match record::records_of_body(text) {
        Ok(records) => {
            for (i, text) in records.into_iter().enumerate() {
                read_record(cx, text, pos, Some(i), fields, true, out);
            }
        }
        Err(e) => {
            if cx.counts(pos.file) {
                out.entries += 1;
                out.malformed(pos, format!("{e} (in a `{{\"records\": [...]}}` body)"));
            }
        }
    }
}

/// Asks the CPU to load `bytes` into its caches: the record two ahead, while
/// this one is parsed. Records are read once, straight from the mapped file, and
/// without this each one's first bytes (and every new 4 KiB page, where the
/// hardware prefetcher stops) wait on memory: the profile showed stage one's
/// samples on its loads, and `record_text`'s on the record's first byte.
#[inline(always)]
fn prefetch(bytes: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    for i in (0..bytes.len()).step_by(64) {
        // SAFETY: prefetching reads nothing the program sees, and `i` is inside `bytes`.
        unsafe { std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(bytes.as_ptr().add(i).cast()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = bytes;
}

#[allow(clippy::too_many_arguments)]
pub(super) fn read_record<'a>(
    cx: &Ctx,
    text: &'a [u8],
    pos: Pos,
    in_body: Option<usize>,
    scratch: &mut Scratch<'a>,
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
    // A malformed record, reported by the pass that counts it.
    let broken = |out: &mut Chunk, message: String| {
        if count {
            out.malformed(pos, whose(message));
        }
    };
    if count {
        out.entries += 1;
    }
    let fields = match record::parse_record(text, cx.index, &mut scratch.found) {
        Ok(fields) => fields,
        Err(err) => return broken(out, err.to_string()),
    };
    let (t, shape) = match route(plan, &fields) {
        Err(err) => return broken(out, err.to_string()),
        Ok(Route::Table(t, shape)) => (t, shape),
        Ok(Route::Other(name)) => {
            if count {
                *out.other.entry_ref(&*name).or_insert(0) += 1;
            }
            return;
        }
        Ok(Route::Unknown) => {
            return broken(
                out,
                "the record has no `Type` field (Log Analytics) nor `category` (diagnostic settings), so its table \
                 is unknown"
                    .into(),
            );
        }
    };
    let table = &plan.tables[t];
    let (mut values, mut raw) = scratch.spare.pop().unwrap_or_default();
    values.clear();
    raw.clear();
    let bad_values = (out.bad_values, out.bad_value_problems.len());
    for p in &table.projection {
        // Strings are re-encoded from their value; other types keep their input text.
        let keep_raw = p.keep_raw && p.ty != Type::String;
        let (value, text): (Value<'a>, Option<Cow<'a, str>>) = match p.source(shape) {
            FieldSource::Field(f) => match fields.field(f) {
                Err(err) => {
                    // A string whose escapes do not decode: the record is malformed,
                    // and its bad values are not reported.
                    out.bad_values = bad_values.0;
                    out.bad_value_problems.truncate(bad_values.1);
                    scratch.spare.push((values, raw));
                    return broken(out, err.to_string());
                }
                Ok(Some((json, text))) => match Value::from_json(json, p.ty) {
                    Ok(v) => (v, keep_raw.then_some(Cow::Borrowed(text))),
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
                        (Value::absent(p.ty), keep_raw.then_some(Cow::Borrowed(text)))
                    }
                },
                Ok(None) => (Value::absent(p.ty), None),
            },
            FieldSource::TableName => (Value::Str(Cow::Owned(table.name.clone())), None),
            FieldSource::Absent => (Value::absent(p.ty), None),
        };
        values.push(value);
        raw.push(text);
    }
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
    // The table's name is a value too, when projected.
    let ascii = fields.ascii() && table.name.is_ascii();
    scratch.batch.push((t, Row { pos, values, raw, ascii }));
    if scratch.batch.len() == BATCH {
        evaluate(cx, scratch, out);
    }
}

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
            // Single-source rules run in whichever pass reads the table (see `table_flags`).
            let in_pass = match cx.pass {
                Pass::Only => true,
                Pass::Build => role == Role::Build || (role == Role::Single && !cx.streams[t]),
                Pass::Stream => role == Role::Probe || (role == Role::Single && cx.streams[t]),
            };
            let keeps = match &cx.preds.filters[rule][source] {
                _ if !in_pass => 0,
                None => rows,
                Some(filter) => filter.test_batch(&ones, rows, cx.now, &mut columns).0,
            };
            match role {
                // A rule at a time, each rule's in input order (alerts are
                // ordered by rule at the end).
                Role::Single => {
                    let mut bits = keeps;
                    while bits != 0 {
                        let row = &batch[bits.trailing_zeros() as usize].1;
                        bits &= bits - 1;
                        let pair = Pair { rows: [row, row], tables: [table, table] };
                        let fields = output(&plan.rules[rule], &pair, cx.now);
                        out.alerts.push(Alert { rule, evidence: Evidence::one(row.pos), fields });
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
        probing.resize(cx.joins.len(), 0);
        for &(keeps, rule) in &j.probes {
            if keeps >> i & 1 == 1
                && let Some((join, bit)) = cx.probes[rule]
            {
                probing[join] |= bit;
            }
        }
        for (join, &wanted) in cx.joins.iter().zip(probing.iter()) {
            if wanted != 0 {
                probe(plan, cx.preds, join, wanted, cx.rows, &row, table, cx.now, &mut out.alerts);
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

/// Per-chunk buffers reused from record to record: the parsed fields, the
/// batch of projected rows, and the vectors of rows already evaluated (a
/// kept row is copied out of them).
#[derive(Default)]
pub(super) struct Scratch<'a> {
    probing: Vec<u64>,
    found: Vec<Found>,
    /// Rows read, with their table's index, waiting for [`evaluate`].
    batch: Vec<(usize, Row<'a>)>,
    /// The vectors of rows evaluated.
    spare: Vec<Spare<'a>>,
}

type Spare<'a> = (Vec<Value<'a>>, Vec<Option<Cow<'a, str>>>);

/// Which table a parsed record belongs to, and in which shape.
enum Route<'a> {
    Table(usize, Shape),
    Other(Cow<'a, str>),
    Unknown,
}

fn route<'a>(plan: &Plan, fields: &ParsedRecord<'a, '_>) -> Result<Route<'a>, LineError> {
    let name = |f: u32| {
        Ok::<_, LineError>(match fields.field(f)? {
            Some((JsonScalar::Str(s), _)) if !s.is_empty() => Some(s),
            _ => None,
        })
    };
    if let Some(t) = name(plan.type_field)? {
        return Ok(match plan.table_index(&t) {
            Some(i) => Route::Table(i, Shape::LogAnalytics),
            None => Route::Other(t),
        });
    }
    Ok(match name(plan.category_field)? {
        Some(category) => match plan.category_table(&category) {
            Some(table) => match plan.table_index(table) {
                Some(i) => Route::Table(i, Shape::Diagnostic),
                None => Route::Other(Cow::Owned(table.to_string())),
            },
            None => Route::Other(category),
        },
        None => Route::Unknown,
    })
}
