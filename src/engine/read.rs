//! Reading records: a chunk's lines or document records, each parsed into
//! only the fields the plan needs, routed to its table and projected into a
//! row; rows go to [`evaluate`] a batch at a time.

use std::borrow::Cow;

use super::chunk::{Chunk, Deferred, LOCAL, MAX_LINE};
use super::context::{Ctx, Misled};
use super::evaluate::evaluate;
use super::outcome::{Pos, Problem};
use super::rows::Row;
use crate::input::json_scan::Found;
use crate::input::record;
use crate::input::{LineError, ParsedRecord, Shape, Unit, lines_in};
use crate::plan::{FieldSource, Plan};
use crate::pred::BATCH;
use crate::types::Type;
use crate::value::{JsonScalar, Value};

/// What one task parses: records of a document, or a run of NDJSON lines.
pub(super) enum Work<'b> {
    Records(&'b [Unit]),
    Lines(std::ops::Range<usize>),
}

/// How far ahead of the record being parsed its bytes are prefetched: two
/// records (about 2.4 KB at 1.2 KB a record) measured best; one ahead is
/// too late, four too early (see bench/RESULTS.md).
const AHEAD: usize = 2400;

pub(super) fn read_chunk(cx: &Ctx, data: &[u8], work: Work, file: u32) -> Chunk {
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
        // A blank line is no record: counted as a line (by the caller), not read.
        Err(LineError::Empty) => return,
        Err(e) => {
            if cx.counts(pos.file) {
                out.entries += 1;
                out.malformed(pos, e.to_string());
            }
            return;
        }
    };
    if !record::is_records_body(text) {
        return read_record(cx, RecordText { text, pos, in_body: None, from_input: true }, fields, out);
    }
    match record::records_of_body(text) {
        Ok(records) => {
            for (i, text) in records.into_iter().enumerate() {
                read_record(cx, RecordText { text, pos, in_body: Some(i), from_input: true }, fields, out);
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

/// One record's text and where it was read.
#[derive(Debug, Clone, Copy)]
pub(super) struct RecordText<'a> {
    pub(super) text: &'a [u8],
    pub(super) pos: Pos,
    /// Its index in the `{"records": [...]}` body it came in, if any.
    pub(super) in_body: Option<usize>,
    /// Read from the input by this pass; false for a record the build pass
    /// deferred to the stream pass (and counted).
    pub(super) from_input: bool,
}

impl<'a> RecordText<'a> {
    /// A record the build pass deferred.
    pub(super) fn deferred(d: &'a Deferred) -> RecordText<'a> {
        RecordText { text: &d.text, pos: d.pos, in_body: d.in_body, from_input: false }
    }
}

/// Parses one record, routes it to its table and projects its row into
/// the batch (evaluated when full); counts it, or reports it malformed, in
/// the pass that counts it.
pub(super) fn read_record<'a>(cx: &Ctx, record: RecordText<'a>, scratch: &mut Scratch<'a>, out: &mut Chunk) {
    let plan = cx.plan;
    let RecordText { text, pos, in_body, from_input } = record;
    let passes = cx.record_passes(pos.file, from_input, text);
    if !passes.parse {
        return;
    }
    let count = passes.count;
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
    let fields = match record::parse_record(text, &cx.index, &mut scratch.found) {
        Ok(fields) => fields,
        Err(err) => return broken(out, err.to_string()),
    };
    let (t, shape) = match route(plan, &fields) {
        Err(err) => return broken(out, err.to_string()),
        Ok(Route::Table(t, shape)) => (t, shape),
        Ok(Route::Other(name)) => {
            if count {
                out.other.count(&name);
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
    for p in &table.projection {
        // Strings are re-encoded from their value; other types keep their input text.
        let keep_raw = p.keep_raw && p.ty != Type::String;
        let (value, text): (Value<'a>, Option<Cow<'a, str>>) = match p.source(shape) {
            FieldSource::Field(f) => match fields.field(f) {
                Err(bad) => {
                    // Not UTF-8, or a lone surrogate: the value is read as empty and
                    // reported, and the rest of the record is read.
                    if count {
                        out.bad_values += 1;
                        let column = &plan.columns[p.column as usize];
                        out.bad_value_problems.push(Problem {
                            pos,
                            message: whose(format!("`{column}` is {}, {}; read as empty", bad.shown(), bad.why)),
                        });
                    }
                    (Value::absent(p.ty), None)
                }
                Ok(Some((json, text))) => match Value::from_json(json, p.ty) {
                    // The input text only when it writes the value as read (`200`,
                    // not `200.0` or `"200"` in an int column): the output is the
                    // value a test sees, as Kusto shows it.
                    Ok(v) => (v, (keep_raw && as_read(p.ty, text)).then_some(Cow::Borrowed(text))),
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
                        // A bad value is read as empty, and printed as empty too.
                        (Value::absent(p.ty), None)
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
    match cx.misled(t, passes) {
        Some(Misled::Defer) => out.deferred.push(Deferred { text: text.to_vec(), pos, in_body }),
        Some(Misled::Late) => out.late = true,
        None => {}
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

/// Per-chunk buffers reused from record to record: the parsed fields, the
/// batch of projected rows, and the vectors of rows already evaluated (a
/// kept row is copied out of them).
#[derive(Default)]
pub(super) struct Scratch<'a> {
    pub(super) probing: Vec<u64>,
    found: Vec<Found>,
    /// Rows read, with their table's index, waiting for [`evaluate`].
    pub(super) batch: Vec<(usize, Row<'a>)>,
    /// The vectors of rows evaluated.
    pub(super) spare: Vec<Spare<'a>>,
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

/// Whether `text`, a value's input text, writes it as it is read into a
/// column of type `ty`: then the output copies the text (timestamps keep
/// all the digits the log wrote); else the output prints the value read
/// (a real always: `1.50` and `"1.5"` print `1.5`, as the compiled SQL
/// prints the number it read).
fn as_read(ty: Type, text: &str) -> bool {
    let number = |t: &str| t.starts_with(|c: char| c == '-' || c.is_ascii_digit());
    match ty {
        Type::Long => number(text) && text.bytes().skip(1).all(|b| b.is_ascii_digit()),
        Type::Real => false,
        Type::Bool => text == "true" || text == "false",
        _ => true,
    }
}
