//! One record's text to the fields the plan wants, without building a
//! `serde_json::Value`: the validating key scanner ([`json_scan`])
//! walks the object, descends only into keys on a wanted path (`properties`
//! → `ipAddress`), and hands back each wanted value as borrowed raw JSON.

use std::borrow::Cow;
use std::fmt;
use std::sync::LazyLock;

use memchr::memmem;
use serde_json::value::RawValue;

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
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LineError::Empty => f.write_str("empty line"),
            LineError::NotUtf8 => f.write_str("not valid UTF-8"),
            LineError::NotObject(what) => write!(f, "a record must be a JSON object, found {what}"),
            LineError::Json(e) => write!(f, "invalid JSON: {e}"),
        }
    }
}

/// The text of a line or array element, without surrounding whitespace (or
/// byte-order marks). UTF-8 is checked by [`parse_record`].
pub fn record_text(line: &[u8]) -> Result<&[u8], LineError> {
    const BOM: &[u8] = b"\xef\xbb\xbf";
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

/// Parses one record, keeping only the fields in `index`.
pub fn parse_line<'a>(line: &'a [u8], index: &FieldIndex, out: &mut Fields<'a>) -> Result<(), LineError> {
    let mut found = Vec::new();
    let parsed = parse_record(record_text(line)?, index, &mut found)?;
    out.clear();
    for f in 0..index.len() {
        out.push(parsed.field(f as FieldId)?);
    }
    Ok(())
}

/// A record that scanned as a valid JSON object: its text, and where the
/// value of each wanted field is. Values are decoded when asked for.
#[derive(Clone, Copy)]
pub struct ParsedRecord<'a, 'f> {
    text: &'a str,
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

    /// Field `f`'s raw JSON text, if the record has it.
    #[inline]
    pub fn raw(&self, f: FieldId) -> Option<&'a str> {
        let (start, end) = self.found.get(f as usize).copied().flatten()?;
        Some(&self.text[start as usize..end as usize])
    }

    /// Field `f`'s value and raw text, if the record has it; an error for
    /// a string whose escapes do not decode (a lone surrogate).
    #[inline]
    pub fn field(&self, f: FieldId) -> Result<Option<(JsonScalar<'a>, &'a str)>, LineError> {
        match self.raw(f) {
            Some(raw) => Ok(Some((scalar(raw, self.escapes).map_err(|e| LineError::Json(e.to_string()))?, raw))),
            None => Ok(None),
        }
    }
}

/// Parses one record's text (see [`record_text`]), finding the fields in
/// `index` (their places go to `found`). The text must be UTF-8: the scanner
/// notes whether any byte is not ASCII, and only then is the whole text
/// checked.
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
        .map_err(|e| if not_utf8() { LineError::NotUtf8 } else { scan_error(e) })?;
    let text = if scanned.ascii {
        // SAFETY: the scanner saw no byte above 0x7f: ASCII is UTF-8.
        unsafe { std::str::from_utf8_unchecked(text) }
    } else {
        std::str::from_utf8(text).map_err(|_| LineError::NotUtf8)?
    };
    Ok(ParsedRecord { text, escapes: scanned.escapes, ascii: scanned.ascii, found })
}

fn scan_error(e: json_scan::ScanError) -> LineError {
    LineError::Json(format!("{} at column {}", e.what, e.pos + 1))
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

/// The records of a `{"records": [...]}` body, as raw JSON texts.
pub fn records_of_body(text: &[u8]) -> Result<Vec<&[u8]>, LineError> {
    let text = std::str::from_utf8(text).map_err(|_| LineError::NotUtf8)?;
    #[derive(serde::Deserialize)]
    struct Body<'a> {
        #[serde(borrow)]
        records: Vec<&'a RawValue>,
    }
    let body: Body = serde_json::from_str(text).map_err(json_error)?;
    Ok(body.records.into_iter().map(|r| r.get().as_bytes()).collect())
}

fn json_error(e: serde_json::Error) -> LineError {
    let msg = e.to_string();
    let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
    LineError::Json(format!("{msg} at column {}", e.column()))
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
        assert_eq!(parse_line(b"{\"A\":\"\xff\"}", &index, &mut out), Err(LineError::NotUtf8));
    }

    #[test]
    fn utf8_is_checked_only_where_needed() {
        assert_eq!(parse("{\"A\":\"héllo\"}", &["A"]).unwrap(), vec![Some("\"héllo\"".into())]);
        assert_eq!(parse("\u{feff}{\"A\":1}\u{feff} ", &["A"]).unwrap(), vec![Some("1".into())]);
        let index = FieldIndex::flat(&["A".to_string()]);
        let mut out = Vec::new();
        assert_eq!(parse_line(b"\xff\xfe junk", &index, &mut out), Err(LineError::NotUtf8));
        assert_eq!(parse_line(b"{\"A\":1,\"B\":\"\xc3\"}", &index, &mut out), Err(LineError::NotUtf8));
        assert!(matches!(parse_line(b"{\"A\":1,", &index, &mut out), Err(LineError::Json(_))));
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
        assert!(matches!(records_of_body(br#"{"records":[{"a":1}"#), Err(LineError::Json(_))));
    }
}
