//! One record's text to the fields the plan wants, without building a
//! `serde_json::Value`: the validating key scanner ([`json_scan`])
//! walks the object, descends only into keys on a wanted path (`properties`
//! → `ipAddress`), and hands back each wanted value as borrowed raw JSON.

use std::borrow::Cow;
use std::fmt;
use std::sync::LazyLock;

use memchr::memmem;

use super::json_scan::{self, KeyTrie};
use crate::value::JsonScalar;

/// A field's number in a [`FieldIndex`]: field `i` of the paths it was
/// built from.
pub type FieldId = u32;

/// The wanted fields as a tree of keys: `IPAddress` and
/// `properties.ipAddress` share the root, `properties` has one child.
#[derive(Debug, Default)]
pub struct FieldIndex {
    keys: KeyTrie,
    len: usize,
}

impl FieldIndex {
    /// Field `i` is at key path `fields[i]` (`["properties", "ipAddress"]`).
    pub fn new(fields: &[Vec<String>]) -> FieldIndex {
        let mut keys = KeyTrie::new();
        for (id, path) in fields.iter().enumerate() {
            let path: Vec<&str> = path.iter().map(String::as_str).collect();
            keys.insert(&path, id as FieldId);
        }
        FieldIndex { keys, len: fields.len() }
    }

    /// Top-level keys only: field `i` is the key `names[i]`.
    pub fn flat(names: &[String]) -> FieldIndex {
        let paths: Vec<Vec<String>> = names.iter().map(|n| vec![n.clone()]).collect();
        FieldIndex::new(&paths)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// A parsed record's wanted fields, by field id: the JSON value and its raw text.
pub type Fields<'a> = Vec<Option<(JsonScalar<'a>, &'a str)>>;

/// Why a line (or an element of a JSON array) is not a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineError {
    Empty,
    NotUtf8,
    NotObject(&'static str),
    Json(String),
    /// The record's table name (`Type` or `category`) does not decode, so
    /// its table is unknown.
    TableName(Undecodable),
    /// Longer than the maximum record size (its value, in bytes): passed
    /// over by the reader, unread ([`super::ReadOptions::max_record_bytes`]).
    TooLong(u64),
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LineError::Empty => f.write_str("empty line"),
            LineError::NotUtf8 => f.write_str("not valid UTF-8"),
            LineError::NotObject(what) => write!(f, "a record must be a JSON object, found {what}"),
            LineError::Json(e) => write!(f, "invalid JSON: {e}"),
            LineError::TableName(why) => {
                write!(f, "the record's table name (`Type` or `category`) is {why}, so its table is unknown")
            }
            LineError::TooLong(max) => {
                write!(f, "longer than the maximum record size of {max} bytes (`--max-record-bytes`); skipped unread")
            }
        }
    }
}

/// Why a wanted value that is valid JSON does not decode into text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Undecodable {
    /// Its bytes are not UTF-8 (JSON text must be).
    NotUtf8,
    /// A string escapes half of a UTF-16 surrogate pair (`"\ud800"`),
    /// which is no character.
    LoneSurrogate,
}

impl fmt::Display for Undecodable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Undecodable::NotUtf8 => "not valid UTF-8",
            Undecodable::LoneSurrogate => "not valid Unicode (a lone surrogate)",
        })
    }
}

/// A wanted field whose value is valid JSON but does not decode (see
/// [`Undecodable`]). The record is still read: an attacker who controls one
/// field (a user agent) must not make the whole record, and its alert,
/// disappear. The value is read as empty and reported, as a value of the
/// wrong type is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadField<'a> {
    /// The value's raw JSON bytes.
    pub raw: &'a [u8],
    pub why: Undecodable,
}

impl BadField<'_> {
    /// The value as a report shows it: its first 60 characters, bytes that
    /// are not UTF-8 replaced by U+FFFD.
    pub fn shown(&self) -> String {
        String::from_utf8_lossy(self.raw).chars().take(60).collect()
    }
}

/// A record is routed by its table name: one that does not decode leaves
/// the table unknown (the only use of this conversion).
impl From<BadField<'_>> for LineError {
    fn from(bad: BadField<'_>) -> LineError {
        LineError::TableName(bad.why)
    }
}

/// The text of a line or array element, without surrounding whitespace (or
/// byte-order marks). UTF-8 is checked by [`parse_record`]. The reader's
/// stand-in for a record too long to read is [`LineError::TooLong`].
pub fn record_text(line: &[u8]) -> Result<&[u8], LineError> {
    const BOM: &[u8] = b"\xef\xbb\xbf";
    if line.first() == Some(&0xff)
        && let Some(max) = super::container::too_long(line)
    {
        return Err(LineError::TooLong(max));
    }
    let mut text = line.trim_ascii();
    loop {
        let trimmed = text.strip_prefix(BOM).or_else(|| text.strip_suffix(BOM)).map(<[u8]>::trim_ascii);
        match trimmed {
            Some(t) => text = t,
            None => break,
        }
    }
    if text.is_empty() {
        return Err(LineError::Empty);
    }
    Ok(text)
}

/// Parses one record, keeping only the fields in `index`; a field that
/// does not decode ([`BadField`]) is absent.
pub fn parse_line<'a>(line: &'a [u8], index: &FieldIndex, out: &mut Fields<'a>) -> Result<(), LineError> {
    let mut found = Vec::new();
    let parsed = parse_record(record_text(line)?, index, &mut found)?;
    out.clear();
    for f in 0..index.len() {
        out.push(parsed.field(f as FieldId).unwrap_or(None));
    }
    Ok(())
}

/// A record that scanned as a valid JSON object: its text, and where the
/// value of each wanted field is. Values are decoded when asked for: only
/// they must be UTF-8 (see [`ParsedRecord::field`]).
#[derive(Clone, Copy)]
pub struct ParsedRecord<'a, 'f> {
    text: &'a [u8],
    /// Some string in the record holds an escape.
    escapes: bool,
    /// Every byte of the text is ASCII.
    ascii: bool,
    found: &'f [json_scan::Found],
}

impl<'a> ParsedRecord<'a, '_> {
    /// Every string value decodes to ASCII: the text is ASCII and holds no escape.
    #[inline]
    pub fn ascii(&self) -> bool {
        self.ascii && !self.escapes
    }

    /// Field `f`'s raw JSON bytes, if the record has it.
    #[inline]
    pub fn raw(&self, f: FieldId) -> Option<&'a [u8]> {
        let (start, end) = self.found.get(f as usize).copied().flatten()?;
        Some(&self.text[start as usize..end as usize])
    }

    /// Field `f`'s value and raw text, if the record has it; a [`BadField`]
    /// when it does not decode: bytes that are not UTF-8 (checked here, and
    /// only in a record that is not all ASCII), or a string whose escapes
    /// make a lone surrogate.
    #[inline]
    pub fn field(&self, f: FieldId) -> Result<Option<(JsonScalar<'a>, &'a str)>, BadField<'a>> {
        let Some(bytes) = self.raw(f) else { return Ok(None) };
        let raw = if self.ascii {
            // SAFETY: the scanner saw no byte above 0x7f: ASCII is UTF-8.
            unsafe { std::str::from_utf8_unchecked(bytes) }
        } else {
            std::str::from_utf8(bytes).map_err(|_| BadField { raw: bytes, why: Undecodable::NotUtf8 })?
        };
        match scalar(raw, self.escapes) {
            Ok(value) => Ok(Some((value, raw))),
            Err(_) => Err(BadField { raw: bytes, why: Undecodable::LoneSurrogate }),
        }
    }
}

/// Parses one record's text (see [`record_text`]), finding the fields in
/// `index` (their places go to `found`). The text must be one valid JSON
/// object; bytes that are not UTF-8 make it malformed where they break that
/// (outside strings: a binary line), but inside a string they only make that
/// value undecodable, which matters only if a rule reads it
/// ([`ParsedRecord::field`]).
pub fn parse_record<'a, 'f>(
    text: &'a [u8],
    index: &FieldIndex,
    found: &'f mut Vec<json_scan::Found>,
) -> Result<ParsedRecord<'a, 'f>, LineError> {
    let not_utf8 = || !text.is_ascii() && std::str::from_utf8(text).is_err();
    let kind = match text.first() {
        None => return Err(LineError::Empty),
        Some(b'{') => None,
        Some(b'[') => Some("an array"),
        Some(b'"') => Some("a string"),
        Some(b'0'..=b'9' | b'-') => Some("a number"),
        Some(b't' | b'f' | b'n') if json_scan::validate(text).is_ok() => Some("a literal"),
        Some(_) => None,
    };
    if let Some(kind) = kind {
        return Err(if not_utf8() { LineError::NotUtf8 } else { LineError::NotObject(kind) });
    }
    found.clear();
    found.resize(index.len(), None);
    let scanned = json_scan::scan_object(text, &index.keys, found)
        .map_err(|e| if not_utf8() { LineError::NotUtf8 } else { scan_error(e, text) })?;
    Ok(ParsedRecord { text, escapes: scanned.escapes, ascii: scanned.ascii, found })
}

/// A scan error's message. A record of a JSON document may span lines
/// (pretty-printed, or a broken one that runs on to where the next record
/// starts, see [`element_end`]): its error says on which of its lines, and
/// how much was skipped with it.
fn scan_error(e: json_scan::ScanError, text: &[u8]) -> LineError {
    let lines = memchr::memchr_iter(b'\n', text).count() + 1;
    if lines == 1 {
        return LineError::Json(format!("{} at column {}", e.what, e.pos + 1));
    }
    let before = &text[..e.pos.min(text.len())];
    let line = memchr::memchr_iter(b'\n', before).count() + 1;
    let column = before.len() - memchr::memrchr(b'\n', before).map_or(0, |n| n + 1) + 1;
    LineError::Json(format!(
        "{} at line {line} of the record, column {column} (the record's {lines} lines, {} bytes, are skipped)",
        e.what,
        text.len()
    ))
}

/// The table a record names, found without parsing it (see [`table_hint`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableHint<'a> {
    /// The `Type` of a Log Analytics row.
    Type(&'a str),
    /// The `category` of a diagnostic-settings record.
    Category(&'a str),
}

/// The table a record names, found without parsing it: the string value after
/// the first `"Type":` (a Log Analytics row) or else after `"category":`
/// (a diagnostic-settings record), allowing whitespace after the colon (as
/// Python's json module and pretty printers write it) but not before it.
/// A key whose value is not a string (or not UTF-8) names nothing, and the
/// other key is tried. The value is returned raw: an escaped quote does not
/// end it, and escapes are not decoded (no table name has any, so a name
/// spelt with escapes names no table). Runs on every record in some runs: a
/// `memmem` search and one `memchr2`.
pub fn table_hint(text: &[u8]) -> Option<TableHint<'_>> {
    static TYPE: LazyLock<memmem::Finder<'static>> = LazyLock::new(|| memmem::Finder::new(b"\"Type\":"));
    static CATEGORY: LazyLock<memmem::Finder<'static>> = LazyLock::new(|| memmem::Finder::new(b"\"category\":"));
    match string_after(text, &TYPE) {
        Some(name) => Some(TableHint::Type(name)),
        None => string_after(text, &CATEGORY).map(TableHint::Category),
    }
}

/// The raw content of the string value after the first `key` (which ends
/// in its colon) in `text`, whitespace allowed before the value.
fn string_after<'a>(text: &'a [u8], key: &memmem::Finder) -> Option<&'a str> {
    let mut at = key.find(text)? + key.needle().len();
    while text.get(at).is_some_and(u8::is_ascii_whitespace) {
        at += 1;
    }
    if text.get(at) != Some(&b'"') {
        return None;
    }
    let end = json_scan::string_end(text, at)?;
    std::str::from_utf8(&text[at + 1..end]).ok()
}

/// Whether a line is an Event Hub body, `{"records": [...]}`, rather than a
/// record (checked on the first key only).
pub fn is_records_body(text: &[u8]) -> bool {
    records_body_start(text).is_some()
}

/// For text that starts (after whitespace) with `{"records": [`, the offset
/// just after the `[`.
pub fn records_body_start(b: &[u8]) -> Option<usize> {
    let ws = |mut i: usize| {
        while b.get(i).is_some_and(|c| c.is_ascii_whitespace()) {
            i += 1;
        }
        i
    };
    let mut i = ws(0);
    for expect in [&b"{"[..], b"\"records\"", b":", b"["] {
        i = ws(i);
        if !b[i.min(b.len())..].starts_with(expect) {
            return None;
        }
        i += expect.len();
    }
    Some(i)
}

/// The records of a `{"records": [...]}` body, as raw JSON texts, each
/// found by [`element_end`] and validated by whoever parses it: a malformed
/// record is one malformed element, and its siblings are still read. A body
/// broken around its records (cut short between two of them, or not an
/// object after its `]`) is one more element, the whole `text`, so that its
/// parse reports where.
pub fn records_of_body(text: &[u8]) -> Result<Vec<&[u8]>, LineError> {
    let Some(mut i) = records_body_start(text) else {
        return Err(LineError::Json("not a `{\"records\": [...]}` body".into()));
    };
    let mut records = Vec::new();
    loop {
        i += text[i..].iter().take_while(|c| c.is_ascii_whitespace()).count();
        match text.get(i) {
            // Cut short between records.
            None => break,
            Some(b']') => {
                if !body_ends_well(&text[i + 1..]) {
                    break;
                }
                return Ok(records);
            }
            Some(b',') => i += 1,
            Some(_) => {
                let end = match element_end(text, i) {
                    // A stray `}`: an element of its own, so it is reported.
                    ElementEnd::At(end) => end.max(i + 1),
                    ElementEnd::Broken(Some(next)) => next,
                    // Its parse reports the cut.
                    ElementEnd::Broken(None) => {
                        records.push(text[i..].trim_ascii_end());
                        return Ok(records);
                    }
                };
                records.push(text[i..end].trim_ascii_end());
                i = end;
            }
        }
    }
    records.push(text);
    Ok(records)
}

/// Whether what follows a body's `]` closes it: `}`, or more members and
/// `}`, then nothing.
fn body_ends_well(rest: &[u8]) -> bool {
    let rest = rest.trim_ascii();
    match rest.split_first() {
        Some((b'}', tail)) => tail.is_empty(),
        // The other members, as an object of their own.
        Some((b',', members)) => json_scan::validate(&[b"{", members].concat()).is_ok(),
        _ => false,
    }
}

/// Where an element of a list of records ends (a record of a JSON array or
/// of a `{"records": [...]}` body, or a top-level object of a document),
/// found without validating it: whoever parses the element validates it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElementEnd {
    /// Just after its closing bracket, or at the `,`, `]` or `}` after a
    /// scalar.
    At(usize),
    /// It is cut short by the end of the text (`None`), or its structure
    /// is broken where no record's can be: a string that does not close
    /// (its closing quote is the opening quote of a later string, so a key
    /// or value follows it, or there is none), brackets that do not match,
    /// or a `,` in an object that no key follows. The element then runs
    /// to where the next record starts ([`next_record_start`]), or to the
    /// end of the text when none does (`None`).
    Broken(Option<usize>),
}

/// Where the element starting at `data[start]` ends (see [`ElementEnd`]).
/// A break inside a record costs that record only: were the element to run
/// on by the brackets alone, a string that does not close would turn every
/// later string inside out, and one malformed record would swallow all the
/// records after it.
pub fn element_end(data: &[u8], start: usize) -> ElementEnd {
    let next_byte = |at: usize| data.get(at..).and_then(|rest| rest.iter().find(|c| !c.is_ascii_whitespace()));
    let broken = |from: usize| ElementEnd::Broken(next_record_start(data, start, from));
    // The open brackets, a bit each, set for `{`: the first 128 levels are
    // checked (records are not nested that deep; the parser refuses them).
    let (mut depth, mut objects, mut i) = (0usize, 0u128, start);
    while let Some(&b) = data.get(i) {
        match b {
            b'"' => {
                let Some(close) = json_scan::string_end(data, i) else { return broken(i + 1) };
                if !matches!(next_byte(close + 1), None | Some(b':' | b',' | b'}' | b']')) {
                    return broken(i + 1);
                }
                i = close + 1;
                continue;
            }
            b'{' | b'[' => {
                if depth < 128 {
                    let bit = 1u128 << depth;
                    objects = if b == b'{' { objects | bit } else { objects & !bit };
                }
                depth += 1;
            }
            b'}' | b']' if depth == 0 => return ElementEnd::At(i),
            b'}' | b']' => {
                depth -= 1;
                if depth < 128 && (objects >> depth & 1 == 1) != (b == b'}') {
                    return broken(i);
                }
                if depth == 0 {
                    return ElementEnd::At(i + 1);
                }
            }
            b',' if depth == 0 => return ElementEnd::At(i),
            b',' if depth <= 128 && objects >> (depth - 1) & 1 == 1 && next_byte(i + 1) != Some(&b'"') => {
                return broken(i + 1);
            }
            _ => {}
        }
        i += 1;
    }
    ElementEnd::Broken(None)
}

/// Where the next record starts after a broken element that starts at
/// `data[start]`: the first `{` at or after `from` that comes after a `,`
/// or `}` and before a `"` or `}` (whitespace between), as a record in a
/// list does. When the broken element begins its line (a pretty-printed
/// list), so must the `{`, indented as far: a nested object does not pass
/// for a record.
pub fn next_record_start(data: &[u8], start: usize, from: usize) -> Option<usize> {
    // How far `at` is indented, if only spaces and tabs precede it on its line.
    let indent = |at: usize| {
        let spaces = data[..at].iter().rev().take_while(|&&c| c == b' ' || c == b'\t').count();
        (spaces == at || data[at - spaces - 1] == b'\n').then_some(spaces)
    };
    let want = indent(start);
    let from = from.min(data.len());
    memchr::memchr_iter(b'{', &data[from..]).map(|k| from + k).find(|&at| {
        let before = data[..at].iter().rev().find(|c| !c.is_ascii_whitespace());
        let after = data[at + 1..].iter().find(|c| !c.is_ascii_whitespace());
        matches!(before, Some(b',' | b'}'))
            && matches!(after, Some(b'"' | b'}'))
            && (want.is_none() || indent(at) == want)
    })
}

/// A JSON value's raw text as a [`JsonScalar`], borrowing when it can.
/// Strings are searched for escapes only when the record has some.
fn scalar(text: &str, escapes: bool) -> Result<JsonScalar<'_>, serde_json::Error> {
    Ok(match text.as_bytes()[0] {
        b'"' => {
            let inner = &text[1..text.len() - 1];
            if escapes && inner.contains('\\') {
                JsonScalar::Str(Cow::Owned(serde_json::from_str::<String>(text)?))
            } else {
                JsonScalar::Str(Cow::Borrowed(inner))
            }
        }
        b'n' => JsonScalar::Null,
        b't' => JsonScalar::Bool(true),
        b'f' => JsonScalar::Bool(false),
        b'{' | b'[' => JsonScalar::Raw(text),
        _ => JsonScalar::Num(text),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str, cols: &[&str]) -> Result<Vec<Option<String>>, LineError> {
        let paths: Vec<Vec<String>> = cols.iter().map(|c| c.split('.').map(str::to_string).collect()).collect();
        let index = FieldIndex::new(&paths);
        let mut out = Vec::new();
        parse_line(line.as_bytes(), &index, &mut out)?;
        Ok(out.iter().map(|f| f.as_ref().map(|(_, raw)| raw.to_string())).collect())
    }

    #[test]
    fn keeps_only_wanted_fields_raw() {
        let got =
            parse(r#"{"Type":"T","A":"x\"y","B":[1,{"c":2}],"C":2.50,"D":null}"#, &["Type", "C", "B", "Z"]).unwrap();
        assert_eq!(got, vec![Some("\"T\"".into()), Some("2.50".into()), Some("[1,{\"c\":2}]".into()), None]);
    }

    #[test]
    fn extracts_nested_paths() {
        let line = r#"{"category":"C","properties":{"ipAddress":"1.2.3.4","status":{"errorCode":0},"x":[1]},"ipAddress":"top"}"#;
        let got = parse(
            line,
            &["category", "properties.ipAddress", "properties.status.errorCode", "ipAddress", "properties.nope"],
        )
        .unwrap();
        assert_eq!(
            got,
            vec![Some("\"C\"".into()), Some("\"1.2.3.4\"".into()), Some("0".into()), Some("\"top\"".into()), None]
        );
        // `properties` wanted itself and for a key inside it.
        let got = parse(line, &["properties", "properties.ipAddress"]).unwrap();
        assert!(got[0].as_deref().unwrap().starts_with("{\"ipAddress\""));
        assert_eq!(got[1].as_deref(), Some("\"1.2.3.4\""));
        // A path through a value that is not an object finds nothing.
        let got = parse(r#"{"properties":"flat","q":{"r":[{"s":1}]}}"#, &["properties.ipAddress", "q.r.s"]).unwrap();
        assert_eq!(got, vec![None, None]);
        // Broken JSON inside a skipped nested value is still an error.
        assert!(matches!(parse(r#"{"properties":{"a":[1,}}"#, &["properties.ipAddress"]), Err(LineError::Json(_))));
    }

    #[test]
    fn bad_lines() {
        assert_eq!(parse("", &["A"]), Err(LineError::Empty));
        assert_eq!(parse("   ", &["A"]), Err(LineError::Empty));
        assert_eq!(parse("42", &["A"]), Err(LineError::NotObject("a number")));
        assert_eq!(parse("[1]", &["A"]), Err(LineError::NotObject("an array")));
        assert_eq!(parse("null", &["A"]), Err(LineError::NotObject("a literal")));
        assert!(matches!(parse(r#"{"A": 1"#, &["A"]), Err(LineError::Json(_))));
        assert!(matches!(parse(r#"{"A": 1} x"#, &["A"]), Err(LineError::Json(_))));
        assert!(matches!(parse("nonsense", &["A"]), Err(LineError::Json(_))));
        let mut out = Vec::new();
        let index = FieldIndex::flat(&["A".to_string()]);
        assert_eq!(parse_line(b"{\"A\":\xff}", &index, &mut out), Err(LineError::NotUtf8), "not JSON, not UTF-8");
    }

    #[test]
    fn utf8_is_checked_only_where_needed() {
        assert_eq!(parse("{\"A\":\"héllo\"}", &["A"]).unwrap(), vec![Some("\"héllo\"".into())]);
        assert_eq!(parse("\u{feff}{\"A\":1}\u{feff} ", &["A"]).unwrap(), vec![Some("1".into())]);
        let index = FieldIndex::flat(&["A".to_string()]);
        let mut out = Vec::new();
        assert_eq!(parse_line(b"\xff\xfe junk", &index, &mut out), Err(LineError::NotUtf8));
        assert!(matches!(parse_line(b"{\"A\":1,", &index, &mut out), Err(LineError::Json(_))));
        // A string no rule reads may hold anything.
        parse_line(b"{\"A\":1,\"B\":\"\xc3\"}", &index, &mut out).unwrap();
        assert_eq!(out[0].as_ref().map(|(_, raw)| *raw), Some("1"));
    }

    /// A value that does not decode is a bad value of its own field: the
    /// record, and its other fields, are still read.
    #[test]
    fn a_value_that_does_not_decode_is_a_bad_field_not_a_bad_record() {
        let index = FieldIndex::flat(&["A".to_string(), "B".to_string(), "C".to_string()]);
        let mut found = Vec::new();
        let text = b"{\"A\":\"x\xff\",\"B\":\"\\ud800y\",\"C\":\"\xc3\xa9\",\"D\":\"\\udc00\xfe\"}";
        let record = parse_record(text, &index, &mut found).unwrap();
        let bad = record.field(0).unwrap_err();
        assert_eq!((bad.raw, bad.why), (&b"\"x\xff\""[..], Undecodable::NotUtf8));
        assert_eq!(bad.shown(), "\"x\u{fffd}\"");
        let bad = record.field(1).unwrap_err();
        assert_eq!((bad.raw, bad.why), (&br#""\ud800y""#[..], Undecodable::LoneSurrogate));
        assert_eq!(record.field(2).unwrap().unwrap().0, JsonScalar::Str(Cow::Borrowed("\u{e9}")));
        assert_eq!(
            LineError::from(bad).to_string(),
            "the record's table name (`Type` or `category`) is not valid Unicode (a lone surrogate), so its table \
             is unknown"
        );
        // Outside a string, a byte that is not UTF-8 is no JSON.
        assert_eq!(parse_record(b"{\"A\":1\xff}", &index, &mut found).err(), Some(LineError::NotUtf8));
    }

    #[test]
    fn errors_in_records_of_several_lines_name_the_line_and_what_is_skipped() {
        let index = FieldIndex::flat(&["A".to_string()]);
        let mut found = Vec::new();
        let err = |text: &[u8]| parse_record(text, &index, &mut Vec::new()).err().unwrap().to_string();
        assert_eq!(err(b"{\"A\": 1,}"), "invalid JSON: expected a string key at column 9");
        assert_eq!(
            err(b"{\n  \"A\": 1,\n  \"B\": \"x\ty\"\n}"),
            "invalid JSON: control character in string at line 3 of the record, column 10 (the record's 4 lines, 26 \
             bytes, are skipped)"
        );
        assert!(parse_record(b"{\n\"A\": 1\n}", &index, &mut found).is_ok());
    }

    #[test]
    fn escaped_strings_are_decoded() {
        let index = FieldIndex::flat(&["A".to_string()]);
        let mut out = Vec::new();
        parse_line(br#"{"A":"a\u00e9\n"}"#, &index, &mut out).unwrap();
        assert_eq!(out[0].as_ref().unwrap().0, JsonScalar::Str(Cow::Owned("a\u{e9}\n".into())));
    }

    #[test]
    fn table_hints_name_the_type_or_else_the_category() {
        use TableHint::{Category, Type};
        assert_eq!(table_hint(br#"{"a":1,"Type":"Graph","category":"C"}"#), Some(Type("Graph")));
        assert_eq!(table_hint(b"{\"a\": 1, \"Type\": \t\"Graph\"}"), Some(Type("Graph")), "whitespace after the colon");
        assert_eq!(table_hint(br#"{"category":"SignIn","properties":{}}"#), Some(Category("SignIn")));
        assert_eq!(table_hint(br#"{"category":  "SignIn"}"#), Some(Category("SignIn")));
        assert_eq!(table_hint(br#"{"Type" : "Graph"}"#), None, "a space before the colon is not looked for");
        assert_eq!(table_hint(br#"{"Type":42,"category":"C"}"#), Some(Category("C")), "a Type that is no string");
        assert_eq!(table_hint(br#"{"Type":null}"#), None);
        assert_eq!(table_hint(br#"{"Type":"Gra"#), None, "cut off in the value");
        assert_eq!(table_hint(br#"{"Type":"#), None, "cut off after the key");
        assert_eq!(table_hint(br#"{"Type": "#), None);
        assert_eq!(table_hint(br#"{"Type":"a\"b","x":"y"}"#), Some(Type(r#"a\"b"#)), "an escaped quote, kept raw");
        assert_eq!(table_hint(br#"{"Type":"a\\","x":"y"}"#), Some(Type(r#"a\\"#)), "an escaped backslash");
        assert_eq!(table_hint(b"{\"Type\":\"\xff\",\"category\":\"C\"}"), Some(Category("C")), "not UTF-8");
        assert_eq!(table_hint(br#"{"type":"x","Category":"y"}"#), None, "keys are case-sensitive");
        assert_eq!(table_hint(b""), None);
    }

    #[test]
    fn records_bodies() {
        assert!(is_records_body(br#"{"records":[]}"#));
        assert!(is_records_body(b" { \"records\" :\t[ {\"a\":1} ] }"));
        assert!(!is_records_body(br#"{"Type":"T","records":[]}"#));
        assert!(!is_records_body(br#"{"records":"x"}"#));
        assert_eq!(
            records_of_body(br#"{"records":[{"a":1}, 2 ,{"b":[3]}],"x":0}"#).unwrap(),
            vec![&br#"{"a":1}"#[..], b"2", br#"{"b":[3]}"#]
        );
        assert_eq!(
            records_of_body(b"{\"records\": [ {\"a\": 1} ,\t{} ] , \"x\": {\"y\": [2]}, \"z\": null }\r").unwrap(),
            vec![&br#"{"a": 1}"#[..], b"{}"]
        );
    }

    /// Bodies with a broken record: each other record is read; the broken
    /// one is an element of its own, which its parse reports.
    #[test]
    fn a_broken_record_in_a_body_costs_only_itself() {
        let body = |records: &[&str]| format!("{{\"records\":[{}]}}", records.join(","));
        let (a, b, c) = (r#"{"Type":"A","n":[1,{"m":2}]}"#, r#"{"Type":"B"}"#, r#"{ "Type" : "C" }"#);
        for (broken, what) in [
            (r#"{"Type":"X", }"#, "a trailing comma"),
            (r#"{"Type":"X","ua":"abc}"#, "a string that does not close"),
            (r#"{"Type":"X","ua":"abc\"}"#, "a string whose closing quote is escaped"),
            (r#"{"Type":"X","p":{"q":1}"#, "an object that does not close"),
            (r#"{"Type":"X","p":[1,2}"#, "an array closed by `}`"),
            (r#"{"Type":"X","p":{"q":[1}"#, "an array closed by `}`, nested"),
            ("42", "a number"),
            ("}", "a stray `}`"),
        ] {
            let text = body(&[a, broken, b, c]);
            let got: Vec<&str> =
                records_of_body(text.as_bytes()).unwrap().iter().map(|r| std::str::from_utf8(r).unwrap()).collect();
            assert_eq!(got.len(), 4, "{what}: {got:?}");
            assert_eq!((got[0], got[2], got[3]), (a, b, c), "{what}: {got:?}");
            assert!(got[1].starts_with(broken), "{what}: {got:?}");
        }
        // A broken last record: the body's end is in it.
        let text = body(&[a, b, r#"{"Type":"X","ua":"abc"#]);
        let got = records_of_body(text.as_bytes()).unwrap();
        assert_eq!(got[..2], [a.as_bytes(), b.as_bytes()]);
        assert_eq!(got[2], br#"{"Type":"X","ua":"abc]}"#);
        // A body broken around its records: each record, and the whole body.
        for text in [
            format!("{{\"records\":[{a}, {b},"),
            format!("{{\"records\":[{a}, {b}"),
            format!("{{\"records\":[{a}, {b}]"),
            format!("{{\"records\":[{a}, {b}]}} x"),
            format!("{{\"records\":[{a}, {b}], \"x\"}}"),
        ] {
            let got = records_of_body(text.as_bytes()).unwrap();
            assert_eq!(got, [a.as_bytes(), b.as_bytes(), text.as_bytes()], "{text}");
        }
        assert_eq!(records_of_body(b"{\"records\":[]}").unwrap(), Vec::<&[u8]>::new());
    }

    /// The records of a list after a broken one are found where a record
    /// starts: after `,` (or `}`), before a key; in a pretty-printed list, at
    /// the start of a line indented as the broken record's.
    #[test]
    fn the_next_record_after_a_broken_one() {
        let list = b"[{\"a\":\"x}, {\"b\":1}]";
        assert_eq!(element_end(list, 1), ElementEnd::Broken(Some(11)));
        assert_eq!(element_end(list, 11), ElementEnd::At(18));
        assert_eq!(element_end(b"[{\"a\":\"x}]", 1), ElementEnd::Broken(None));
        assert_eq!(element_end(b"[{\"a\":1}", 1), ElementEnd::At(8));
        assert_eq!(element_end(b"[{\"a\":1", 1), ElementEnd::Broken(None), "cut short");
        assert_eq!(element_end(b"[ 42 , 7]", 2), ElementEnd::At(5));
        let pretty = b"[\n  {\n    \"a\": \"x,\n    \"n\": [\n      {\"c\": 1},\n      {\"d\": 2}\n    ]\n  },\n  {\n    \"b\": 1\n  }\n]\n";
        let text = std::str::from_utf8(pretty).unwrap();
        let next = text.find("  {\n    \"b\"").unwrap() + 2;
        assert_eq!(element_end(pretty, 4), ElementEnd::Broken(Some(next)), "not the nested `{{\"d\": 2}}`");
        // Top-level objects, one after another.
        let objects = b"{\"a\":\"x}\n{\"b\":1}\n";
        assert_eq!(element_end(objects, 0), ElementEnd::Broken(Some(9)));
        assert_eq!(next_record_start(b"[{\"a\":\"x\", {\"b\":1}]", 1, 7), Some(11));
        assert_eq!(next_record_start(b"[{\"a\":\"x\", {\"b\":1}]", 1, 12), None);
        assert_eq!(next_record_start(b"[{\"a\":\"x\", { 1}]", 1, 7), None, "no key after it");
        assert_eq!(next_record_start(b"[{\"a\":\"x\": {\"b\":1}]", 1, 7), None, "a value, after `:`");
    }
}
