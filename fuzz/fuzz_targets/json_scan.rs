//! The JSON scanner (`sigcorr::input::json_scan`) against serde_json.
//!
//! The scanner's contract (its module docs): `validate` accepts exactly one
//! JSON value (RFC 8259) with optional surrounding whitespace; `scan_object`
//! accepts exactly one JSON object and returns, for each wanted key path,
//! the byte range of the raw text of its last occurrence; the caller
//! validates UTF-8.
//!
//! Asserted, on any bytes:
//! - `scan_object` succeeds exactly when `validate` does and the text's
//!   first non-whitespace byte is `{`; `Scanned::ascii` and `::escapes` say
//!   whether the text has a byte above 0x7f and a backslash;
//! - on UTF-8 text, `validate` succeeds exactly when serde_json parses the
//!   text as one value (`from_slice::<IgnoredAny>`: the JSON grammar), and
//!   whenever serde_json parses it into a `Value`;
//! - on each object accepted, every wanted path's range is the one
//!   serde_json's `RawValue` gives the same member (the last occurrence,
//!   keys compared after unescaping), and a string value ends where
//!   `string_end` says it does;
//! - the same again for each line of the input, scanned one after another
//!   with one trie (as NDJSON records are: the keys remembered from one line
//!   speed up the next), then for the whole text once more.
//!
//! Intended differences, not asserted:
//! - Invalid UTF-8 inside strings: the scanner leaves UTF-8 to its caller
//!   (only "no panic" is checked on such input).
//! - Nesting: the scanner refuses more than 128 levels (`nested too deeply`);
//!   serde_json's grammar (`IgnoredAny`) has no limit and its `Value` allows
//!   127. Text the scanner refuses only for depth is not compared.
//! - Lone surrogates (`"\ud800"`) and numbers beyond f64 (`1e400`): valid
//!   grammar, accepted by both here; a `Value` refuses them.
//! - Nested paths: a later member of the same name that is not an object,
//!   or lacks the inner key, leaves the earlier occurrence's value (each
//!   *path*'s last occurrence), where a serde_json `Value` keeps only the
//!   last member. The reference below follows the scanner's rule.

#![no_main]

use std::fmt;

use libfuzzer_sys::fuzz_target;
use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;
use sigcorr::input::json_scan::{self, Found, KeyTrie};

/// The wanted paths: those of real records, prefixes of one another, the
/// empty key, a key needing an escape, non-ASCII, and keys of 30 and 31
/// bytes (the longest a template remembers, and one past).
const PATHS: &[&str] = &[
    "Type",
    "category",
    "a",
    "ab",
    "",
    "properties",
    "properties.ipAddress",
    "properties.a",
    "n.a.b",
    "x\"y",
    "é",
    "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkk",
    "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk",
];

fn trie() -> KeyTrie {
    let mut t = KeyTrie::new();
    for (i, p) in PATHS.iter().enumerate() {
        t.insert(&p.split('.').collect::<Vec<_>>(), i as u32);
    }
    t
}

/// An object's members in order, duplicates kept, each value's raw text.
struct Members<'a>(Vec<(String, &'a RawValue)>);

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members<'de>, A::Error> {
                let mut members = Vec::new();
                while let Some(entry) = map.next_entry::<String, &'de RawValue>()? {
                    members.push(entry);
                }
                Ok(Members(members))
            }
        }
        d.deserialize_map(V)
    }
}

/// serde_json's answer for `path` in the object `text`: the raw text of the
/// path's last occurrence. `Err` when serde_json cannot read the object's
/// keys (a key with a lone surrogate).
fn reference<'a>(text: &'a str, path: &[&str]) -> Result<Option<&'a str>, serde_json::Error> {
    let members: Members<'a> = serde_json::from_str(text)?;
    let mut found = None;
    for (key, value) in members.0 {
        if key != path[0] {
            continue;
        }
        if path.len() == 1 {
            found = Some(value.get());
        } else if value.get().starts_with('{') {
            if let Some(inner) = reference(value.get(), &path[1..])? {
                found = Some(inner);
            }
        }
    }
    Ok(found)
}

/// The checks on one text: consistency of the scanner with itself on any
/// bytes, and agreement with serde_json on UTF-8.
fn check(text: &[u8], keys: &KeyTrie) {
    let valid = json_scan::validate(text);
    let mut out: Vec<Found> = vec![None; PATHS.len()];
    let scanned = json_scan::scan_object(text, keys, &mut out);
    let object = text.iter().find(|b| !b" \t\r\n".contains(b)) == Some(&b'{');
    assert_eq!(
        scanned.is_ok(),
        valid.is_ok() && object,
        "scan_object {scanned:?} vs validate {valid:?} (object: {object})"
    );
    if let Ok(s) = scanned {
        assert_eq!(s.ascii, text.is_ascii(), "Scanned::ascii");
        assert_eq!(s.escapes, text.contains(&b'\\'), "Scanned::escapes");
    }
    let Ok(utf8) = std::str::from_utf8(text) else { return };

    let grammar = serde_json::from_slice::<IgnoredAny>(text);
    match (&valid, &grammar) {
        (Ok(()), Err(e)) => panic!("the scanner accepts what serde_json refuses: {e}"),
        (Err(e), Ok(_)) if e.what != "nested too deeply" => panic!("the scanner refuses valid JSON: {e}"),
        _ => {}
    }
    if serde_json::from_slice::<serde_json::Value>(text).is_ok() {
        assert!(valid.is_ok(), "serde_json reads a Value the scanner refuses: {valid:?}");
    }

    if scanned.is_err() {
        return;
    }
    for (slot, path) in PATHS.iter().enumerate() {
        let path: Vec<&str> = path.split('.').collect();
        let Ok(want) = reference(utf8, &path) else { return };
        let want = want.map(|v| {
            let start = v.as_ptr() as usize - utf8.as_ptr() as usize;
            (start as u32, (start + v.len()) as u32)
        });
        assert_eq!(out[slot], want, "path {path:?}: scanner {:?}, serde_json {:?}", show(utf8, out[slot]), show(utf8, want));
        if let Some((s, e)) = out[slot] {
            if text[s as usize] == b'"' {
                assert_eq!(json_scan::string_end(text, s as usize), Some(e as usize - 1), "string_end of {path:?}");
            }
        }
    }
}

fn show(text: &str, f: Found) -> Option<String> {
    f.map(|(s, e)| String::from_utf8_lossy(text.as_bytes().get(s as usize..e as usize).unwrap_or(b"<out of range>")).into())
}

fuzz_target!(|data: &[u8]| {
    let keys = trie();
    check(data, &keys);
    if data.contains(&b'\n') {
        for line in data.split(|&b| b == b'\n') {
            check(line, &keys);
        }
        check(data, &keys);
    }
});
