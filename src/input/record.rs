//! Reading log files: which files, their lines, and each line parsed into
//! only the columns the plan needs.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::plan::ColumnId;
use crate::value::JsonScalar;

/// One input file, numbered in the order files are read.
#[derive(Debug, Clone)]
pub struct InputFile {
    pub path: PathBuf,
}

/// Expands files and directories (recursively, in sorted order, skipping
/// hidden entries) into the list of files to read.
pub fn discover(inputs: &[PathBuf]) -> io::Result<Vec<InputFile>> {
    let mut out = Vec::new();
    for input in inputs {
        let meta =
            std::fs::metadata(input).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", input.display())))?;
        if meta.is_dir() {
            walk(input, &mut out)?;
        } else {
            out.push(InputFile { path: input.clone() });
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<InputFile>) -> io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", dir.display())))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| !p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.')))
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            walk(&path, out)?;
        } else {
            out.push(InputFile { path });
        }
    }
    Ok(())
}

/// Column names to column ids, for the record parser.
#[derive(Debug, Default)]
pub struct FieldIndex {
    ids: HashMap<String, ColumnId, foldhash::fast::RandomState>,
    len: usize,
}

impl FieldIndex {
    pub fn new(columns: &[String]) -> FieldIndex {
        FieldIndex {
            ids: columns.iter().enumerate().map(|(i, c)| (c.clone(), i as ColumnId)).collect(),
            len: columns.len(),
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// A parsed record's wanted fields, by column id: the JSON value and its raw text.
pub type Fields<'a> = Vec<Option<(JsonScalar<'a>, &'a str)>>;

/// Why a line is not a record.
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

/// Parses one line, keeping only the fields in `index`.
pub fn parse_line<'a>(line: &'a [u8], index: &FieldIndex, out: &mut Fields<'a>) -> Result<(), LineError> {
    out.clear();
    out.resize(index.len(), None);
    let text = std::str::from_utf8(line).map_err(|_| LineError::NotUtf8)?;
    let text = text.trim_matches(|c: char| c.is_ascii_whitespace());
    match text.as_bytes().first() {
        None => return Err(LineError::Empty),
        Some(b'{') => {}
        Some(b'[') => return Err(LineError::NotObject("an array")),
        Some(b'"') => return Err(LineError::NotObject("a string")),
        Some(b'0'..=b'9' | b'-') => return Err(LineError::NotObject("a number")),
        Some(b't' | b'f' | b'n') if serde_json::from_str::<IgnoredAny>(text).is_ok() => {
            return Err(LineError::NotObject("a literal"));
        }
        Some(_) => {}
    }
    let mut de = serde_json::Deserializer::from_str(text);
    ProjectSeed { index, out }.deserialize(&mut de).map_err(json_error)?;
    de.end().map_err(json_error)
}

fn json_error(e: serde_json::Error) -> LineError {
    let msg = e.to_string();
    let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
    LineError::Json(format!("{msg} at column {}", e.column()))
}

struct ProjectSeed<'i, 'o, 'a> {
    index: &'i FieldIndex,
    out: &'o mut Fields<'a>,
}

impl<'de> DeserializeSeed<'de> for ProjectSeed<'_, '_, 'de> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ProjectSeed<'_, '_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<Key<'de>>()? {
            match self.index.ids.get(key.0.as_ref()) {
                Some(&id) => {
                    let raw: &'de RawValue = map.next_value()?;
                    let text = raw.get();
                    self.out[id as usize] = Some((scalar(text).map_err(de::Error::custom)?, text));
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// A JSON value's raw text as a [`JsonScalar`], borrowing when it can.
fn scalar(text: &str) -> Result<JsonScalar<'_>, serde_json::Error> {
    Ok(match text.as_bytes()[0] {
        b'"' => {
            let inner = &text[1..text.len() - 1];
            if inner.contains('\\') {
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

/// An object key, borrowed when it has no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(V)
    }
}

/// Line boundaries of `data`: `(start, end)` without the line ending
/// (`\n` or `\r\n`). A final line without a newline counts; a trailing
/// newline does not start another.
pub fn lines(data: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    for nl in memchr::memchr_iter(b'\n', data) {
        let end = if nl > start && data[nl - 1] == b'\r' { nl - 1 } else { nl };
        out.push((start, end));
        start = nl + 1;
    }
    if start < data.len() {
        out.push((start, data.len()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str, cols: &[&str]) -> Result<Vec<Option<String>>, LineError> {
        let cols: Vec<String> = cols.iter().map(|c| c.to_string()).collect();
        let index = FieldIndex::new(&cols);
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
        let index = FieldIndex::new(&["A".to_string()]);
        assert_eq!(parse_line(b"{\"A\":\"\xff\"}", &index, &mut out), Err(LineError::NotUtf8));
    }

    #[test]
    fn escaped_strings_are_decoded() {
        let cols = vec!["A".to_string()];
        let index = FieldIndex::new(&cols);
        let mut out = Vec::new();
        parse_line(br#"{"A":"a\u00e9\n"}"#, &index, &mut out).unwrap();
        assert_eq!(out[0].as_ref().unwrap().0, JsonScalar::Str(Cow::Owned("a\u{e9}\n".into())));
    }

    #[test]
    fn line_splitting() {
        assert_eq!(lines(b"a\nb\r\nc"), vec![(0, 1), (2, 3), (5, 6)]);
        assert_eq!(lines(b"a\n"), vec![(0, 1)]);
        assert_eq!(lines(b"a\n\nb\n"), vec![(0, 1), (2, 2), (3, 4)]);
        assert_eq!(lines(b""), Vec::<(usize, usize)>::new());
    }
}
