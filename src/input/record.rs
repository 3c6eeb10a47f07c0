//! One record's text to the fields the plan wants, without building a
//! `serde_json::Value`: a `DeserializeSeed` walks the object, descends only
//! into keys on a wanted path (`properties` → `ipAddress`), keeps each wanted
//! value as borrowed raw JSON, and skips everything else.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::plan::FieldId;
use crate::value::JsonScalar;

/// The wanted fields as a tree of keys: `IPAddress` and
/// `properties.ipAddress` share the root, `properties` has one child.
#[derive(Debug)]
pub struct FieldIndex {
    /// `nodes[0]` is the record root.
    nodes: Vec<Node>,
    len: usize,
}

#[derive(Debug, Default)]
struct Node {
    /// The field whose value is at this node's key, if one is wanted.
    field: Option<FieldId>,
    children: HashMap<String, u32, foldhash::fast::RandomState>,
}

impl Default for FieldIndex {
    fn default() -> FieldIndex {
        FieldIndex { nodes: vec![Node::default()], len: 0 }
    }
}

impl FieldIndex {
    /// Field `i` is at key path `fields[i]` (`["properties", "ipAddress"]`).
    pub fn new(fields: &[Vec<String>]) -> FieldIndex {
        let mut index = FieldIndex::default();
        for (id, path) in fields.iter().enumerate() {
            let mut node = 0usize;
            for key in path {
                node = match index.nodes[node].children.get(key.as_str()) {
                    Some(&n) => n as usize,
                    None => {
                        index.nodes.push(Node::default());
                        let n = index.nodes.len() - 1;
                        index.nodes[node].children.insert(key.clone(), n as u32);
                        n
                    }
                };
            }
            index.nodes[node].field = Some(id as FieldId);
        }
        index.len = fields.len();
        index
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

/// The text of a line or array element: UTF-8, without surrounding whitespace.
pub fn record_text(line: &[u8]) -> Result<&str, LineError> {
    let text = std::str::from_utf8(line).map_err(|_| LineError::NotUtf8)?;
    let text = text.trim_matches(|c: char| c.is_ascii_whitespace() || c == '\u{feff}');
    if text.is_empty() {
        return Err(LineError::Empty);
    }
    Ok(text)
}

/// Parses one record, keeping only the fields in `index`.
pub fn parse_line<'a>(line: &'a [u8], index: &FieldIndex, out: &mut Fields<'a>) -> Result<(), LineError> {
    parse_record(record_text(line)?, index, out)
}

/// Parses one record's text (see [`record_text`]), keeping only the fields in `index`.
pub fn parse_record<'a>(text: &'a str, index: &FieldIndex, out: &mut Fields<'a>) -> Result<(), LineError> {
    out.clear();
    out.resize(index.len(), None);
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
    Project { index, node: 0, out, root: true }.deserialize(&mut de).map_err(json_error)?;
    de.end().map_err(json_error)
}

/// Whether a line is an Event Hub body, `{"records": [...]}`, rather than a
/// record (checked on the first key only).
pub fn is_records_body(text: &str) -> bool {
    records_body_start(text.as_bytes()).is_some()
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
pub fn records_of_body(text: &str) -> Result<Vec<&str>, LineError> {
    #[derive(serde::Deserialize)]
    struct Body<'a> {
        #[serde(borrow)]
        records: Vec<&'a RawValue>,
    }
    let body: Body = serde_json::from_str(text).map_err(json_error)?;
    Ok(body.records.into_iter().map(RawValue::get).collect())
}

fn json_error(e: serde_json::Error) -> LineError {
    let msg = e.to_string();
    let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
    LineError::Json(format!("{msg} at column {}", e.column()))
}

/// Projects the object at `node` of the field tree into `out`.
struct Project<'i, 'o, 'a> {
    index: &'i FieldIndex,
    node: u32,
    out: &'o mut Fields<'a>,
    /// The record itself must be an object; nested values need not be.
    root: bool,
}

impl<'de> DeserializeSeed<'de> for Project<'_, '_, 'de> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        if self.root { d.deserialize_map(self) } else { d.deserialize_any(self) }
    }
}

impl<'de> Visitor<'de> for Project<'_, '_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let node = &self.index.nodes[self.node as usize];
        while let Some(key) = map.next_key::<Key<'de>>()? {
            let Some(&child) = node.children.get(key.0.as_ref()) else {
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            let c = &self.index.nodes[child as usize];
            match (c.field, c.children.is_empty()) {
                (Some(id), true) => {
                    let raw: &'de RawValue = map.next_value()?;
                    let text = raw.get();
                    self.out[id as usize] = Some((scalar(text).map_err(de::Error::custom)?, text));
                }
                (None, _) => {
                    map.next_value_seed(Project { index: self.index, node: child, out: &mut *self.out, root: false })?;
                }
                (Some(id), false) => {
                    // Wanted itself and for keys inside it: keep the raw text, then descend into it.
                    let raw: &'de RawValue = map.next_value()?;
                    let text = raw.get();
                    self.out[id as usize] = Some((scalar(text).map_err(de::Error::custom)?, text));
                    let mut de = serde_json::Deserializer::from_str(text);
                    Project { index: self.index, node: child, out: &mut *self.out, root: false }
                        .deserialize(&mut de)
                        .map_err(de::Error::custom)?;
                }
            }
        }
        Ok(())
    }
    // A nested value that is not an object has none of the wanted keys.
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
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
    fn escaped_strings_are_decoded() {
        let index = FieldIndex::flat(&["A".to_string()]);
        let mut out = Vec::new();
        parse_line(br#"{"A":"a\u00e9\n"}"#, &index, &mut out).unwrap();
        assert_eq!(out[0].as_ref().unwrap().0, JsonScalar::Str(Cow::Owned("a\u{e9}\n".into())));
    }

    #[test]
    fn records_bodies() {
        assert!(is_records_body(r#"{"records":[]}"#));
        assert!(is_records_body(" { \"records\" :\t[ {\"a\":1} ] }"));
        assert!(!is_records_body(r#"{"Type":"T","records":[]}"#));
        assert!(!is_records_body(r#"{"records":"x"}"#));
        assert_eq!(
            records_of_body(r#"{"records":[{"a":1}, 2 ,{"b":[3]}],"x":0}"#).unwrap(),
            vec![r#"{"a":1}"#, "2", r#"{"b":[3]}"#]
        );
        assert!(matches!(records_of_body(r#"{"records":[{"a":1}"#), Err(LineError::Json(_))));
    }
}
