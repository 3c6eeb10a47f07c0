//! Evaluate: read every input once, keep the records some filter wants,
//! hash-join each correlation rule's two sources, test the mismatch, and
//! build alerts. Rules run in parallel; output order does not depend on
//! the number of threads.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
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

/// A kept record: its table's projected columns, typed.
#[derive(Debug)]
pub struct Row {
    pub pos: Pos,
    pub values: Box<[Value<'static>]>,
    /// The input's JSON text of the columns alerts copy verbatim.
    pub raw: Box<[Option<Box<str>>]>,
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

/// [`run`], with options.
pub fn run_with(plan: &Plan, files: &[InputFile], now: i64, options: Options) -> Outcome {
    let start = Instant::now();
    let index = FieldIndex::new(&plan.fields);
    let mut stats = Stats {
        files: files.len(),
        records: vec![0; plan.tables.len()],
        alerts: vec![0; plan.rules.len()],
        problems_per_file: vec![0; files.len()],
        ..Stats::default()
    };
    let mut problems = Vec::new();
    let mut bad_values = Vec::new();
    let mut rows: Vec<Vec<Row>> = plan.tables.iter().map(|_| Vec::new()).collect();
    // passing[rule][source]: kept records whose filter for that source holds.
    let mut passing: Vec<Vec<Vec<RowRef>>> = plan.rules.iter().map(|r| vec![Vec::new(); r.sources.len()]).collect();
    let read = Arc::new(AtomicU64::new(0));

    for (file_no, file) in files.iter().enumerate() {
        let file_no = file_no as u32;
        let file_problem = |line: u32, message: String, stats: &mut Stats, problems: &mut Vec<Problem>| {
            stats.file_errors += 1;
            stats.problems_per_file[file_no as usize] += 1;
            if problems.len() < MAX_PROBLEMS {
                problems.push(Problem { pos: Pos { file: file_no, line }, message });
            }
        };
        let mut reader = match Reader::open(file, read.clone()) {
            Ok(r) => r,
            Err(e) => {
                file_problem(0, format!("cannot read file: {e}"), &mut stats, &mut problems);
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
                        .map(|units| read_chunk(plan, &index, &block.data, units, file_no, now))
                        .collect::<Vec<Chunk>>()
                },
                || reader.next_block(),
            );
            next = following;
            for chunk in chunks {
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
                let room = MAX_PROBLEMS.saturating_sub(problems.len());
                problems.extend(chunk.problems.into_iter().take(room));
                let room = MAX_PROBLEMS.saturating_sub(bad_values.len());
                bad_values.extend(chunk.bad_value_problems.into_iter().take(room));
                for kept in chunk.kept {
                    let table = kept.table as usize;
                    let r = RowRef { table: kept.table, index: rows[table].len() as u32 };
                    for &user in &kept.passes {
                        let (rule, source) = plan.tables[table].users[user as usize];
                        passing[rule][source].push(r);
                    }
                    rows[table].push(kept.row);
                }
            }
            if let Some(progress) = options.progress {
                progress(read.load(Ordering::Relaxed));
            }
        }
        stats.lines += reader.lines();
        if let Some((line, message)) = reader.error() {
            file_problem(line, message.to_string(), &mut stats, &mut problems);
        } else if reader.decoded() == 0 {
            file_problem(0, "empty file".to_string(), &mut stats, &mut problems);
        }
    }
    stats.bytes = read.load(Ordering::Relaxed);

    let per_rule: Vec<Vec<Alert>> = plan
        .rules
        .par_iter()
        .enumerate()
        .map(|(r, rule)| evaluate_rule(plan, r, rule, &rows, &passing[r], now))
        .collect();
    let mut alerts = Vec::new();
    for (r, a) in per_rule.into_iter().enumerate() {
        stats.alerts[r] = a.len() as u64;
        alerts.extend(a);
    }
    stats.elapsed = start.elapsed();
    Outcome { alerts, stats, problems, bad_values }
}

struct Kept {
    table: u32,
    row: Row,
    /// Indices into the table's `users` whose filter holds.
    passes: Vec<u16>,
}

#[derive(Default)]
struct Chunk {
    kept: Vec<Kept>,
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
    fn malformed(&mut self, pos: Pos, message: String) {
        self.malformed += 1;
        self.problems.push(Problem { pos, message });
    }
}

fn read_chunk(plan: &Plan, index: &FieldIndex, data: &[u8], units: &[Unit], file: u32, now: i64) -> Chunk {
    let mut out = Chunk { records: vec![0; plan.tables.len()], ..Chunk::default() };
    let mut fields = Vec::new();
    for u in units {
        let pos = Pos { file, line: u.line };
        let text = match record::record_text(&data[u.start..u.end]) {
            Ok(t) => t,
            Err(e) => {
                out.entries += 1;
                out.malformed(pos, e.to_string());
                continue;
            }
        };
        if !record::is_records_body(text) {
            out.entries += 1;
            read_record(plan, index, text, pos, None, &mut fields, now, &mut out);
            continue;
        }
        match record::records_of_body(text) {
            Ok(records) => {
                for (i, text) in records.into_iter().enumerate() {
                    out.entries += 1;
                    read_record(plan, index, text, pos, Some(i), &mut fields, now, &mut out);
                }
            }
            Err(e) => {
                out.entries += 1;
                out.malformed(pos, format!("{e} (in a `{{\"records\": [...]}}` body)"));
            }
        }
    }
    out
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

#[allow(clippy::too_many_arguments)]
fn read_record<'a>(
    plan: &Plan,
    index: &FieldIndex,
    text: &'a str,
    pos: Pos,
    in_body: Option<usize>,
    fields: &mut Fields<'a>,
    now: i64,
    out: &mut Chunk,
) {
    let whose = |msg: String| match in_body {
        Some(i) => format!("record {} of the `records` body: {msg}", i + 1),
        None => msg,
    };
    if let Err(err) = record::parse_record(text, index, fields) {
        out.malformed(pos, whose(err.to_string()));
        return;
    }
    let (t, shape) = match route(plan, fields) {
        Route::Table(t, shape) => (t, shape),
        Route::Other(name) => {
            *out.other.entry(name.into_owned()).or_default() += 1;
            return;
        }
        Route::Unknown => {
            out.malformed(
                pos,
                whose(
                    "the record has no `Type` field (Log Analytics) nor `category` (diagnostic settings), so its \
                     table is unknown"
                        .into(),
                ),
            );
            return;
        }
    };
    out.records[t] += 1;
    out.shapes[shape as usize] += 1;
    let table = &plan.tables[t];
    let mut values = Vec::with_capacity(table.projection.len());
    let mut raw = Vec::with_capacity(table.projection.len());
    for p in &table.projection {
        let (value, text): (Value<'static>, Option<Box<str>>) = match p.source(shape) {
            FieldSource::Field(f) => match &fields[f as usize] {
                Some((json, text)) => match Value::from_json(json.clone(), p.ty) {
                    Ok(v) => (v.into_owned(), p.keep_raw.then(|| Box::from(*text))),
                    Err(_) => {
                        out.bad_values += 1;
                        let column = &plan.columns[p.column as usize];
                        let shown: String = text.chars().take(60).collect();
                        out.bad_value_problems.push(Problem {
                            pos,
                            message: whose(format!("`{column}` is {shown}, not a {}; read as empty", p.ty)),
                        });
                        (Value::absent(p.ty), p.keep_raw.then(|| Box::from(*text)))
                    }
                },
                None => (Value::absent(p.ty), None),
            },
            FieldSource::TableName => (
                Value::Str(Cow::Owned(table.name.clone())),
                p.keep_raw.then(|| serde_json::to_string(&table.name).expect("a string serialises").into()),
            ),
            FieldSource::Absent => (Value::absent(p.ty), None),
        };
        values.push(value);
        raw.push(text);
    }
    let row = Row { pos, values: values.into_boxed_slice(), raw: raw.into_boxed_slice() };
    let one = One { row: &row, table };
    let passes: Vec<u16> = table
        .users
        .iter()
        .enumerate()
        .filter(|&(_, &(rule, source))| match &plan.rules[rule].sources[source].filter {
            Some(f) => eval::holds(f, &one, now),
            None => true,
        })
        .map(|(u, _)| u as u16)
        .collect();
    if !passes.is_empty() {
        out.kept.push(Kept { table: t as u32, row, passes });
    }
}

/// The columns of one record, whatever source index an expression names.
struct One<'r> {
    row: &'r Row,
    table: &'r TablePlan,
}

impl Columns for One<'_> {
    fn column(&self, _source: usize, id: u32) -> Option<Value<'_>> {
        self.table.slot(id).map(|s| self.row.values[s].reborrow())
    }
}

/// The columns of a joined pair: source 0 and source 1.
struct Pair<'r> {
    rows: [&'r Row; 2],
    tables: [&'r TablePlan; 2],
}

impl Columns for Pair<'_> {
    fn column(&self, source: usize, id: u32) -> Option<Value<'_>> {
        self.tables[source].slot(id).map(|s| self.rows[source].values[s].reborrow())
    }
}

fn evaluate_rule(
    plan: &Plan,
    r: usize,
    rule: &CheckedRule,
    rows: &[Vec<Row>],
    passing: &[Vec<RowRef>],
    now: i64,
) -> Vec<Alert> {
    let get = |rr: RowRef| (&rows[rr.table as usize][rr.index as usize], &plan.tables[rr.table as usize]);
    let mut alerts = Vec::new();
    if rule.sources.len() == 1 {
        for &rr in &passing[0] {
            let (row, table) = get(rr);
            let pair = Pair { rows: [row, row], tables: [table, table] };
            alerts.push(Alert { rule: r, evidence: vec![row.pos], fields: output(rule, &pair, now) });
        }
        return alerts;
    }

    let (a, b) = (&passing[0], &passing[1]);
    // Build on the smaller side, probe with the larger.
    let build_left = a.len() <= b.len();
    let (build, probe) = if build_left { (a, b) } else { (b, a) };
    let as_real: Vec<bool> = rule.join.iter().map(|k| k.left.ty == Type::Real || k.right.ty == Type::Real).collect();
    let key_exprs =
        |left: bool| -> Vec<&TExpr> { rule.join.iter().map(|k| if left { &k.left } else { &k.right }).collect() };
    let (build_keys, probe_keys) = (key_exprs(build_left), key_exprs(!build_left));

    let mut table: HashMap<Key, Vec<u32>, foldhash::fast::RandomState> = HashMap::default();
    for (i, &rr) in build.iter().enumerate() {
        let (row, tp) = get(rr);
        if let Some(k) = key(&build_keys, &as_real, &One { row, table: tp }, now) {
            table.entry(k).or_default().push(i as u32);
        }
    }

    let mut found: Vec<Alert> = probe
        .par_iter()
        .flat_map_iter(|&prr| {
            let (prow, ptable) = get(prr);
            let matches = key(&probe_keys, &as_real, &One { row: prow, table: ptable }, now)
                .and_then(|k| table.get(&k))
                .map(|v| v.as_slice())
                .unwrap_or(&[]);
            matches
                .iter()
                .filter_map(|&bi| {
                    let (brow, btable) = get(build[bi as usize]);
                    let pair = if build_left {
                        Pair { rows: [brow, prow], tables: [btable, ptable] }
                    } else {
                        Pair { rows: [prow, brow], tables: [ptable, btable] }
                    };
                    if let Some(m) = &rule.mismatch
                        && !eval::holds(m, &pair, now)
                    {
                        return None;
                    }
                    Some(Alert {
                        rule: r,
                        evidence: vec![pair.rows[0].pos, pair.rows[1].pos],
                        fields: output(rule, &pair, now),
                    })
                })
                .collect::<Vec<_>>()
        })
        .collect();
    found.sort_by(|x, y| x.evidence.cmp(&y.evidence));
    alerts.append(&mut found);
    alerts
}

/// A join key: one atom per `==` of the join. `None` when any part is
/// missing or empty: such records never join.
#[derive(Debug, PartialEq, Eq, Hash)]
struct Key(Vec<Atom>);

#[derive(Debug, PartialEq, Eq)]
enum Atom {
    Str(Box<str>),
    Int(i64),
    Real(u64),
    Bool(bool),
    Json(String),
}

impl Hash for Atom {
    fn hash<H: Hasher>(&self, h: &mut H) {
        match self {
            Atom::Str(s) => s.hash(h),
            Atom::Int(n) => n.hash(h),
            Atom::Real(b) => b.hash(h),
            Atom::Bool(b) => b.hash(h),
            Atom::Json(s) => s.hash(h),
        }
    }
}

fn key<C: Columns>(exprs: &[&TExpr], as_real: &[bool], cx: &C, now: i64) -> Option<Key> {
    let mut atoms = Vec::with_capacity(exprs.len());
    for (e, &real) in exprs.iter().zip(as_real) {
        let atom = match eval::eval(e, cx, now).undynamic() {
            Value::Null => return None,
            Value::Str(s) if s.is_empty() => return None,
            Value::Str(s) => Atom::Str(s.into()),
            Value::Long(n) if real => Atom::Real((n as f64).to_bits()),
            Value::Long(n) | Value::DateTime(n) | Value::Timespan(n) => Atom::Int(n),
            Value::Real(f) => Atom::Real(if f == 0.0 { 0 } else { f.to_bits() }),
            Value::Bool(b) => Atom::Bool(b),
            other => Atom::Json(other.to_json().to_string()),
        };
        atoms.push(atom);
    }
    Some(Key(atoms))
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
