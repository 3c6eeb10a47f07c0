//! YAML text to a tree of [`Node`]s that remember where they stand in the
//! file. Rule files and table definitions are both read through here, so
//! every later check can point at the exact key or value it is about.

use std::sync::Arc;

use serde::Deserialize;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use crate::diagnostic::{Code, Diagnostic};
use crate::span::{SourceFile, Span};

/// A YAML value with its byte span in the source file.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub kind: NodeKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    /// Entries in file order.
    Map(Vec<(Node, Node)>),
}

impl Node {
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The scalar as text, whatever YAML typed it as (`true`, `30`, `x`).
    pub fn scalar_text(&self) -> Option<String> {
        match &self.kind {
            NodeKind::Str(s) => Some(s.clone()),
            NodeKind::Bool(b) => Some(b.to_string()),
            NodeKind::Int(i) => Some(i.to_string()),
            NodeKind::Float(f) => Some(f.to_string()),
            NodeKind::Null | NodeKind::Seq(_) | NodeKind::Map(_) => None,
        }
    }

    /// The scalar as the file writes it: a string's value, else the source
    /// text of the plain scalar (`n`, `on`, `0050`, `1e3`), which YAML 1.1
    /// typing would turn into `false`, `true`, `50` or `1000`.
    pub fn text_as_written(&self, file: &crate::span::SourceFile) -> Option<String> {
        match &self.kind {
            NodeKind::Str(s) => Some(s.clone()),
            NodeKind::Bool(_) | NodeKind::Int(_) | NodeKind::Float(_) => {
                let raw = file.text.get(self.span.start..self.span.end).map(str::trim).unwrap_or_default();
                if raw.is_empty() || raw.contains(['\n', '#', ',', ']', '}']) {
                    self.scalar_text()
                } else {
                    Some(raw.to_string())
                }
            }
            NodeKind::Null | NodeKind::Seq(_) | NodeKind::Map(_) => None,
        }
    }

    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.kind {
            NodeKind::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.kind {
            NodeKind::Seq(s) => Some(s),
            _ => None,
        }
    }

    /// The entry whose key is the string `key`.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(_, v)| v)
    }

    /// The key node and value node of the entry `key`.
    pub fn entry(&self, key: &str) -> Option<(&Node, &Node)> {
        self.as_map()?.iter().find(|(k, _)| k.as_str() == Some(key)).map(|(k, v)| (k, v))
    }

    pub fn type_name(&self) -> &'static str {
        match self.kind {
            NodeKind::Null => "null",
            NodeKind::Bool(_) => "a boolean",
            NodeKind::Int(_) => "an integer",
            NodeKind::Float(_) => "a number",
            NodeKind::Str(_) => "a string",
            NodeKind::Seq(_) => "a list",
            NodeKind::Map(_) => "a mapping",
        }
    }

    /// The same value as JSON, for schema validation.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.kind {
            NodeKind::Null => J::Null,
            NodeKind::Bool(b) => J::Bool(*b),
            NodeKind::Int(i) => J::from(*i),
            NodeKind::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            NodeKind::Str(s) => J::String(s.clone()),
            NodeKind::Seq(s) => J::Array(s.iter().map(Node::to_json).collect()),
            NodeKind::Map(m) => {
                J::Object(m.iter().map(|(k, v)| (k.scalar_text().unwrap_or_default(), v.to_json())).collect())
            }
        }
    }

    /// The node a JSON pointer (`/correlation/sources/activity`) leads to.
    pub fn pointer(&self, pointer: &str) -> Option<&Node> {
        let mut node = self;
        for token in pointer.split('/').skip(1) {
            let token = token.replace("~1", "/").replace("~0", "~");
            node = match &node.kind {
                NodeKind::Map(m) => &m.iter().find(|(k, _)| k.scalar_text().as_deref() == Some(&token))?.1,
                NodeKind::Seq(s) => s.get(token.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(node)
    }

    /// The key node of the entry a JSON pointer leads to, if it is a map entry.
    pub fn pointer_key(&self, pointer: &str) -> Option<&Node> {
        let (parent, last) = pointer.rsplit_once('/')?;
        let last = last.replace("~1", "/").replace("~0", "~");
        self.pointer(parent)?.as_map()?.iter().find(|(k, _)| k.scalar_text().as_deref() == Some(&last)).map(|(k, _)| k)
    }
}

/// Parses a YAML document. Syntax errors and duplicate keys come back as
/// located diagnostics.
pub fn parse(file: &Arc<SourceFile>) -> Result<Node, Diagnostic> {
    serde_saphyr::from_str(&file.text).map_err(|e| error(file, e))
}

/// Every YAML document of a file (`---` separates them), empty ones left
/// out; spans are offsets into the whole file.
pub fn parse_documents(file: &Arc<SourceFile>) -> Result<Vec<Node>, Diagnostic> {
    serde_saphyr::from_multiple(&file.text).map_err(|e| error(file, e))
}

/// [`parse_documents`], document by document when the stream does not
/// parse whole: a document with a syntax error is reported, and the others
/// of the file are still read. A document starts at a `---` line (or the
/// file's start) and ends before the next one, or at a `...` line.
pub fn parse_each_document(file: &Arc<SourceFile>) -> (Vec<Node>, Vec<Diagnostic>) {
    let whole = match parse_documents(file) {
        Ok(docs) => return (docs, Vec::new()),
        Err(d) => d,
    };
    let text = &file.text;
    // Where each `---` line starts.
    let mut starts = vec![0];
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        if at > 0
            && (line.starts_with("---") && line[3..].starts_with([' ', '\t', '\r', '\n']) || line.trim_end() == "---")
        {
            starts.push(at);
        }
        at += line.len();
    }
    if starts.len() == 1 {
        return (Vec::new(), vec![whole]);
    }
    let mut docs = Vec::new();
    let mut errors = Vec::new();
    for (i, &start) in starts.iter().enumerate() {
        let end = starts.get(i + 1).copied().unwrap_or(text.len());
        let chunk = &text[start..end];
        match serde_saphyr::from_str::<Node>(chunk) {
            Ok(mut node) => {
                if !matches!(node.kind, NodeKind::Null) {
                    node.shift(start);
                    docs.push(node);
                }
            }
            Err(e) => errors.push(error_at(file, e, start)),
        }
    }
    (docs, errors)
}

impl Node {
    /// Moves every span `by` bytes: a node parsed from a part of the file.
    fn shift(&mut self, by: usize) {
        self.span = Span::new(self.span.start + by, self.span.end + by);
        match &mut self.kind {
            NodeKind::Seq(items) => items.iter_mut().for_each(|n| n.shift(by)),
            NodeKind::Map(entries) => entries.iter_mut().for_each(|(k, v)| {
                k.shift(by);
                v.shift(by);
            }),
            _ => {}
        }
    }
}

fn error(file: &Arc<SourceFile>, e: serde_saphyr::Error) -> Diagnostic {
    error_at(file, e, 0)
}

/// A YAML error of the text from byte `base` of `file` on.
fn error_at(file: &Arc<SourceFile>, e: serde_saphyr::Error, base: usize) -> Diagnostic {
    {
        let message = e.without_snippet().to_string();
        let budget = budget_sentence(&message);
        let message = budget.as_deref().unwrap_or_else(|| strip_position_suffix(&message));
        let (code, help) = if message.starts_with("duplicate mapping key") {
            (Code::DuplicateKey, Some("each key may appear once in a mapping; remove or rename one"))
        } else {
            (Code::YamlSyntax, None)
        };
        let message = message.split(", set DuplicateKeyPolicy").next().unwrap_or(message).to_string();
        let base_line = file.line_col(base).0 - 1;
        let span = e.location().map(|loc| {
            let start = loc.span().byte_offset().map_or_else(
                || file.offset_of(base_line + loc.line() as usize, loc.column() as usize),
                |o| base + o as usize,
            );
            let len = loc.span().byte_len().map_or(0, |l| l as usize);
            Span::new(start, (start + len).min(file.text.len()))
        });
        let d = Diagnostic::new(code, lowercase_first(&message));
        let d = match span {
            Some(span) => d.at(file, span),
            None => d.in_file(file),
        };
        match help {
            Some(h) => d.help(h),
            None => d,
        }
    }
}

fn strip_position_suffix(message: &str) -> &str {
    match message.find(" at line ") {
        Some(i) => &message[..i],
        None => message,
    }
}

/// The YAML reader's resource limits, said as sentences (its own messages
/// are debug text: `budget breached: Documents { documents: 1025 }`).
fn budget_sentence(message: &str) -> Option<String> {
    let rest = message.strip_prefix("budget breached: ")?;
    let what = rest.split([' ', '{']).next().unwrap_or_default();
    // The count inside the braces: `Documents { documents: 1025 }`.
    let inside = rest.split_once('{').and_then(|(_, r)| r.split_once('}')).map_or("", |(n, _)| n);
    let number: String = inside.chars().filter(char::is_ascii_digit).collect();
    let limit = number.parse::<u64>().map_or(String::new(), |n| format!(" (past {})", n.saturating_sub(1)));
    Some(match what {
        "Documents" => format!("the file holds too many YAML documents{limit}"),
        "Nodes" | "AliasReplayEvents" | "Aliases" | "Anchors" => {
            format!("the YAML expands to too many values{limit}: anchors and aliases are limited")
        }
        "Depth" => format!("the YAML is nested too deep{limit}"),
        other => format!("the YAML is too large ({})", other.to_lowercase()),
    })
}

fn lowercase_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

// Deserialising: every value is read as `Spanned<NodeKind>`; serde-saphyr
// gives byte offsets for string input, which are all a `Node` keeps.

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Spanned::<NodeKind>::deserialize(d)?;
        let loc = &s.referenced;
        let start = loc.span().byte_offset().unwrap_or(0) as usize;
        let len = loc.span().byte_len().unwrap_or(0) as usize;
        Ok(Node { kind: s.value, span: Span::new(start, start.saturating_add(len)) })
    }
}

impl<'de> Deserialize<'de> for NodeKind {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(KindVisitor)
    }
}

struct KindVisitor;

impl<'de> Visitor<'de> for KindVisitor {
    type Value = NodeKind;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E>(self) -> Result<NodeKind, E> {
        Ok(NodeKind::Null)
    }
    fn visit_none<E>(self) -> Result<NodeKind, E> {
        Ok(NodeKind::Null)
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<NodeKind, D::Error> {
        NodeKind::deserialize(d)
    }
    fn visit_bool<E>(self, v: bool) -> Result<NodeKind, E> {
        Ok(NodeKind::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<NodeKind, E> {
        Ok(NodeKind::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<NodeKind, E> {
        Ok(i64::try_from(v).map_or(NodeKind::Float(v as f64), NodeKind::Int))
    }
    fn visit_f64<E>(self, v: f64) -> Result<NodeKind, E> {
        Ok(NodeKind::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<NodeKind, E> {
        Ok(NodeKind::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<NodeKind, E> {
        Ok(NodeKind::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<NodeKind, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = a.next_element::<Node>()? {
            items.push(item);
        }
        Ok(NodeKind::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<NodeKind, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = a.next_entry::<Node, Node>()? {
            entries.push(entry);
        }
        Ok(NodeKind::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> Result<Node, Diagnostic> {
        parse(&SourceFile::new("t.yml", text.to_string()))
    }

    #[test]
    fn nodes_carry_byte_spans() {
        let text = "title: héllo\nx:\n  a: [1, 'two']\n  b: |\n    foo\n";
        let root = parse_str(text).unwrap();
        let title = root.get("title").unwrap();
        assert_eq!(&text[title.span.start..title.span.end], "héllo");
        let two = &root.pointer("/x/a/1").unwrap();
        assert_eq!(two.as_str(), Some("two"));
        assert_eq!(&text[two.span.start..two.span.end], "'two'");
        let b = root.pointer("/x/b").unwrap();
        assert_eq!(b.as_str(), Some("foo\n"));
        assert!(text[b.span.start..].starts_with("foo"));
        let key = root.pointer_key("/x/b").unwrap();
        assert_eq!(&text[key.span.start..key.span.end], "b");
    }

    #[test]
    fn documents_carry_file_spans() {
        let text = "a: 1\n---\n\n---\nb: two\n...\n---\nc: [x]\n";
        let docs = parse_documents(&SourceFile::new("t.yml", text.to_string())).unwrap();
        assert_eq!(docs.len(), 3, "the empty document is left out");
        let two = docs[1].get("b").unwrap();
        assert_eq!(&text[two.span.start..two.span.end], "two");
        let x = docs[2].pointer("/c/0").unwrap();
        assert_eq!(&text[x.span.start..x.span.end], "x");
        let bad = parse_documents(&SourceFile::new("t.yml", "a: 1\n---\nb: [\n".to_string())).unwrap_err();
        assert_eq!(bad.code, Code::YamlSyntax);
        assert!(bad.line_col().unwrap().0 >= 3, "{bad}");
    }

    #[test]
    fn a_broken_document_costs_only_itself() {
        let text = "a: 1\n---\nb: [\n---\nc: x\n";
        let (docs, errors) = parse_each_document(&SourceFile::new("t.yml", text.to_string()));
        assert_eq!(docs.len(), 2, "the documents before and after the broken one");
        let c = docs[1].get("c").unwrap();
        assert_eq!(&text[c.span.start..c.span.end], "x", "spans are the file's");
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].line_col(), Some((3, 4)), "at the unclosed bracket: {}", errors[0]);
    }

    #[test]
    fn duplicate_keys_are_located() {
        let err = parse_str("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(err.code, Code::DuplicateKey);
        assert_eq!(err.line_col(), Some((3, 1)));
        assert_eq!(err.message, "duplicate mapping key: a");
    }

    #[test]
    fn syntax_errors_are_located() {
        let err = parse_str("a: [1, 2\nb: c\n").unwrap_err();
        assert_eq!(err.code, Code::YamlSyntax);
        assert_eq!(err.line_col().map(|(l, _)| l), Some(2));
    }

    #[test]
    fn converts_to_json() {
        let root = parse_str("a: [1, true, null, x]\nb: {c: 1.5}\n").unwrap();
        assert_eq!(root.to_json(), serde_json::json!({"a": [1, true, null, "x"], "b": {"c": 1.5}}));
    }
}
