//! Evaluate: read every input once, keep the records some filter wants,
//! hash-join each correlation rule's two sources, test the mismatch, and
//! build alerts. Rules run in parallel; output order does not depend on
//! the number of threads.

use std::collections::BTreeMap;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::time::{Duration, Instant};

use rayon::prelude::*;
use serde_json::value::RawValue;

use crate::check::{CheckedRule, TExpr};
use crate::eval::{self, Columns};
use crate::input::{self, FieldIndex, InputFile};
use crate::plan::{Plan, TablePlan};
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

/// A line that was not evaluated, and why.
#[derive(Debug, Clone)]
pub struct Problem {
    pub pos: Pos,
    pub message: String,
}

/// Counts for the run summary. Every line read is one of: a record of a
/// table some rule reads (`records`), a record of another table (`other`),
/// or a skipped line (`malformed`).
#[derive(Debug, Default)]
pub struct Stats {
    pub files: usize,
    pub lines: u64,
    /// Per table plan, records read.
    pub records: Vec<u64>,
    /// Records of tables no rule reads, by `Type`.
    pub other: BTreeMap<String, u64>,
    pub malformed: u64,
    /// Values that did not fit their column's type (read as empty).
    pub bad_values: u64,
    /// Per rule.
    pub alerts: Vec<u64>,
    pub elapsed: Duration,
}

#[derive(Debug, Default)]
pub struct Outcome {
    pub alerts: Vec<Alert>,
    pub stats: Stats,
    /// Problems with input lines, in input order (files that could not be
    /// read have line 0).
    pub problems: Vec<Problem>,
}

/// Where a kept record is: table plan and index in that table's rows.
#[derive(Debug, Clone, Copy)]
struct RowRef {
    table: u32,
    index: u32,
}

const CHUNK_LINES: usize = 4096;

/// Runs every planned rule over `files`. `now` is the fixed current time in
/// ticks (what `now()` and `ago()` use).
pub fn run(plan: &Plan, files: &[InputFile], now: i64) -> Outcome {
    let start = Instant::now();
    let index = FieldIndex::new(&plan.columns);
    let mut stats = Stats {
        files: files.len(),
        records: vec![0; plan.tables.len()],
        alerts: vec![0; plan.rules.len()],
        ..Stats::default()
    };
    let mut problems = Vec::new();
    let mut rows: Vec<Vec<Row>> = plan.tables.iter().map(|_| Vec::new()).collect();
    // passing[rule][source]: kept records whose filter for that source holds.
    let mut passing: Vec<Vec<Vec<RowRef>>> = plan.rules.iter().map(|r| vec![Vec::new(); r.sources.len()]).collect();

    for (file_no, file) in files.iter().enumerate() {
        let data = match std::fs::read(&file.path) {
            Ok(d) => d,
            Err(e) => {
                problems.push(Problem {
                    pos: Pos { file: file_no as u32, line: 0 },
                    message: format!("cannot read file: {e}"),
                });
                stats.malformed += 1;
                continue;
            }
        };
        let lines = input::lines(&data);
        stats.lines += lines.len() as u64;
        let chunks: Vec<Chunk> = lines
            .par_chunks(CHUNK_LINES)
            .enumerate()
            .map(|(c, chunk)| {
                let first_line = c * CHUNK_LINES + 1;
                read_chunk(plan, &index, &data, chunk, file_no as u32, first_line, now)
            })
            .collect();
        for chunk in chunks {
            for (t, n) in chunk.records.iter().enumerate() {
                stats.records[t] += n;
            }
            for (name, n) in chunk.other {
                *stats.other.entry(name).or_default() += n;
            }
            stats.malformed += chunk.problems.len() as u64;
            stats.bad_values += chunk.bad_values;
            problems.extend(chunk.problems);
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
    }

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
    Outcome { alerts, stats, problems }
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
    records: Vec<u64>,
    other: HashMap<String, u64>,
    problems: Vec<Problem>,
    bad_values: u64,
}

fn read_chunk(
    plan: &Plan,
    index: &FieldIndex,
    data: &[u8],
    lines: &[(usize, usize)],
    file: u32,
    first_line: usize,
    now: i64,
) -> Chunk {
    let mut out = Chunk { records: vec![0; plan.tables.len()], ..Chunk::default() };
    let mut fields = Vec::new();
    for (i, &(s, e)) in lines.iter().enumerate() {
        let pos = Pos { file, line: (first_line + i) as u32 };
        let line = &data[s..e];
        if let Err(err) = input::parse_line(line, index, &mut fields) {
            out.problems.push(Problem { pos, message: err.to_string() });
            continue;
        }
        let table_name = match &fields[plan.type_column as usize] {
            Some((JsonScalar::Str(s), _)) if !s.is_empty() => s.clone(),
            _ => {
                out.problems
                    .push(Problem { pos, message: "the record has no `Type` field, so its table is unknown".into() });
                continue;
            }
        };
        let Some(t) = plan.table_index(&table_name) else {
            *out.other.entry(table_name.into_owned()).or_default() += 1;
            continue;
        };
        out.records[t] += 1;
        let table = &plan.tables[t];
        let mut values = Vec::with_capacity(table.projection.len());
        let mut raw = Vec::with_capacity(table.projection.len());
        for p in &table.projection {
            let (value, text) = match &fields[p.column as usize] {
                Some((json, text)) => match Value::from_json(json.clone(), p.ty) {
                    Ok(v) => (v.into_owned(), Some(*text)),
                    Err(_) => {
                        out.bad_values += 1;
                        (Value::absent(p.ty), Some(*text))
                    }
                },
                None => (Value::absent(p.ty), None),
            };
            values.push(value);
            raw.push(if p.keep_raw { text.map(Box::from) } else { None });
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
    out
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
