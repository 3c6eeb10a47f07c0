//! Alerts: the columns a rule's expressions read (one record, or a joined
//! pair), and an alert's output values as JSON text.

use super::outcome::{Alert, Evidence};
use super::rows::Row;
use crate::check::CheckedRule;
use crate::eval::{self, Columns};
use crate::plan::TablePlan;
use crate::types::Type;
use crate::value::Value;

/// The columns of one record, whatever source index an expression names.
pub(super) struct One<'r> {
    pub(super) row: &'r Row<'r>,
    pub(super) table: &'r TablePlan,
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
pub(super) struct Pair<'r> {
    pub(super) rows: [&'r Row<'r>; 2],
    pub(super) tables: [&'r TablePlan; 2],
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

impl<'r> One<'r> {
    /// The record read as both sides of a pair: a single-source rule's
    /// output names its one source, index 0.
    pub(super) fn as_pair(&self) -> Pair<'r> {
        Pair { rows: [self.row, self.row], tables: [self.table, self.table] }
    }
}

/// The alert of single-source rule `r` on `record`.
pub(super) fn single(r: usize, rule: &CheckedRule, record: &One, now: i64) -> Alert {
    let pair = record.as_pair();
    Alert {
        rule: r,
        evidence: Evidence::one(record.row.pos),
        fields: output(rule, &pair, now),
        time: time(rule, &pair, now),
        members: None,
    }
}

/// The alert of correlation rule `r` on a joined `pair`.
pub(super) fn joined(r: usize, rule: &CheckedRule, pair: &Pair, now: i64) -> Alert {
    Alert {
        rule: r,
        evidence: Evidence::two(pair.rows[0].pos, pair.rows[1].pos),
        fields: output(rule, pair, now),
        time: time(rule, pair, now),
        members: None,
    }
}

/// The event time a correlation reads, if one references the rule; else,
/// and when the time is missing, `i64::MIN` (the alert is no event).
pub(super) fn time(rule: &CheckedRule, pair: &Pair, now: i64) -> i64 {
    match rule.time.as_ref().map(|t| eval::eval(t, pair, now)) {
        Some(Value::DateTime(t)) => t,
        _ => i64::MIN,
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
        push_output(o, pair, now, text);
        ends.push(text.len() as u32);
    }
    Values::new(text, ends)
}

/// Appends output `o`'s JSON text on `pair` to `text`.
pub(super) fn push_output(o: &crate::check::Output, pair: &Pair, now: i64, text: &mut String) {
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
    pub fn from_texts(texts: &[&str]) -> Values {
        Values::from_json_texts(texts)
    }

    /// Values from their JSON texts.
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
}
