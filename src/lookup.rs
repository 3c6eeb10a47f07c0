//! `let` lists: reference data a rule names (allowlists, IOC lists, IP
//! ranges), written in the rule or read from a file beside it, once, when
//! the rule is checked.
//!
//! A file is read by its extension: `.json` is a JSON array of strings (or
//! numbers), or a Microsoft "Azure IP Ranges and Service Tags" download
//! (`{"values": [{"properties": {"addressPrefixes": [...]}}]}`: every
//! prefix); any other file is one value per line, blank lines and lines
//! starting with `#` skipped. Only regular files are read, at most
//! [`MAX_BYTES`], and a list holds at most [`MAX_ITEMS`] values.

use std::io::Read;
use std::sync::Arc;

use crate::diagnostic::{Code, Diagnostic};
use crate::rule::{LetValue, RuleDoc};

/// The largest `let` file read.
pub const MAX_BYTES: u64 = 16 << 20;
/// The most values one `let` list holds.
pub const MAX_ITEMS: usize = 1_000_000;

/// The rule's `let` lists, by name; a list that cannot be read is an error
/// in `errors` at its `file:` (and is left out).
pub fn load(doc: &RuleDoc, errors: &mut Vec<Diagnostic>) -> Vec<(String, Arc<Vec<String>>)> {
    let mut out: Vec<(String, Arc<Vec<String>>)> = Vec::new();
    // Where the rule's files are: decided once, at its first `file:`.
    let mut origin: Option<Origin> = None;
    for l in &doc.correlation.lets {
        if out.iter().any(|(n, _)| *n == l.name.name) {
            errors.push(
                Diagnostic::new(Code::Lookup, format!("`let {}` is declared twice", l.name.name))
                    .at(&doc.file, l.name.span),
            );
            continue;
        }
        let items = match &l.value {
            LetValue::Inline(items) => Ok(items.iter().map(|i| i.value.clone()).collect::<Vec<_>>()),
            LetValue::File(path) => {
                let origin = *origin.get_or_insert_with(|| Origin::of(doc));
                file_values(doc, origin, &path.value).map_err(|why| (why, path.span))
            }
        };
        let items = items.and_then(|items| match items.len() > MAX_ITEMS {
            true => Err((format!("{} values, more than {MAX_ITEMS}", items.len()), l.name.span)),
            false => Ok(items),
        });
        match items {
            Ok(items) => out.push((l.name.name.clone(), Arc::new(items))),
            Err((why, span)) => {
                // The name stays known (empty), so its uses add no errors of their own.
                out.push((l.name.name.clone(), Arc::new(Vec::new())));
                errors.push(
                    Diagnostic::new(Code::Lookup, format!("`let {}`: {why}", l.name.name))
                        .at(&doc.file, span)
                        .help("the path is relative to the rule file's directory; see the README, \"Reference data\""),
                );
            }
        }
    }
    out
}

/// Where a rule's `let` files come from.
#[derive(Clone, Copy, PartialEq)]
enum Origin {
    /// Loaded from the binary (not from a file with its text): the lists
    /// built in beside it. A rule run from a checkout of this repository is
    /// on disk and reads its lists there.
    Builtin,
    Disk,
}

impl Origin {
    fn of(doc: &RuleDoc) -> Origin {
        let rule = doc.file.path();
        let on_disk = std::fs::read_to_string(rule).is_ok_and(|t| t == doc.file.text);
        let builtin = crate::builtin::RULES.iter().any(|(p, t)| std::path::Path::new(p) == rule && *t == doc.file.text);
        if builtin && !on_disk { Origin::Builtin } else { Origin::Disk }
    }
}

/// The values of `rel`, a `let` file of `doc`'s rule. A built-in rule reads
/// only the lists built in beside it; a rule on disk reads only files inside
/// its own directory (rules arrive as pull requests: a `let` must not read
/// `/proc/self/environ` or `../../secrets` into an error message or a query).
fn file_values(doc: &RuleDoc, origin: Origin, rel: &str) -> Result<Vec<String>, String> {
    use std::path::{Component, Path};
    let rel_path = Path::new(rel);
    if rel_path.components().any(|c| !matches!(c, Component::Normal(_) | Component::CurDir)) {
        return Err(format!("`{rel}` is not a path inside the rule's directory (no `/`, `..` or drive at its start)"));
    }
    let dir = doc.file.path().parent().unwrap_or(Path::new(""));
    let path = dir.join(rel_path);
    if origin == Origin::Builtin {
        return match crate::builtin::LOOKUPS.iter().find(|(p, _)| Path::new(p) == path) {
            Some((_, text)) => values(&path, text),
            None => Err(format!("{}: no such list built in beside the rule", path.display())),
        };
    }
    // A symbolic link must not lead out of the directory either.
    let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    let inside = match (path.canonicalize(), dir.canonicalize()) {
        (Ok(target), Ok(dir)) => target.starts_with(dir),
        _ => true, // not found: `read` says so
    };
    if !inside {
        return Err(format!("{} leads outside the rule's directory", path.display()));
    }
    read(&path)
}

/// One file's values.
fn read(path: &std::path::Path) -> Result<Vec<String>, String> {
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| format!("{shown}: {e}"))?;
    if !meta.is_file() {
        return Err(format!("{shown} is not a regular file"));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|e| format!("{shown}: {e}"))?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(format!("{shown} is larger than {} MiB", MAX_BYTES >> 20));
    }
    let text = String::from_utf8(bytes).map_err(|_| format!("{shown} is not UTF-8 text"))?;
    values(path, &text)
}

/// A list file's values, by its extension.
fn values(path: &std::path::Path, text: &str) -> Result<Vec<String>, String> {
    if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json")) {
        return json_values(text).map_err(|why| format!("{}: {why}", path.display()));
    }
    Ok(text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(String::from).collect())
}

/// A JSON array of scalars, or a service-tags document's address prefixes.
fn json_values(text: &str) -> Result<Vec<String>, String> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("not JSON ({e})"))?;
    let scalar = |x: &serde_json::Value| match x {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    match &v {
        serde_json::Value::Array(items) => {
            items.iter().map(|i| scalar(i).ok_or_else(|| format!("an item is {i}, not a string or number"))).collect()
        }
        serde_json::Value::Object(o) if o.get("values").is_some_and(|v| v.is_array()) => Ok(o["values"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|tag| tag.pointer("/properties/addressPrefixes").and_then(|p| p.as_array()).into_iter().flatten())
            .filter_map(scalar)
            .collect()),
        _ => {
            Err("neither an array of strings nor a service-tags document (`values[].properties.addressPrefixes`)"
                .into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lists_and_service_tags_are_read() {
        assert_eq!(json_values(r#"["10.0.0.0/8", 42]"#).unwrap(), ["10.0.0.0/8", "42"]);
        let tags = r#"{"changeNumber": 1, "values": [
            {"name": "AzureCloud", "properties": {"addressPrefixes": ["20.0.0.0/11", "2603:1000::/25"]}},
            {"name": "Storage", "properties": {"addressPrefixes": ["52.239.0.0/16"]}}]}"#;
        assert_eq!(json_values(tags).unwrap(), ["20.0.0.0/11", "2603:1000::/25", "52.239.0.0/16"]);
        assert!(json_values(r#"{"a": 1}"#).unwrap_err().starts_with("neither"));
        assert!(json_values(r#"[{"a": 1}]"#).unwrap_err().contains("not a string"));
        assert!(json_values("[1,").unwrap_err().starts_with("not JSON"));
    }
}
