//! Load: a rule file's YAML to a [`RuleDoc`], with every expression parsed
//! and every key and value located.
//!
//! The structure is described once, by the JSON Schema [`SCHEMA`]
//! (`grammar/rule.schema.json`); each violation is reported at the key or
//! value it is about (`E010`). Extraction then takes only what the schema
//! accepted, so no mistake is reported twice and no shape panics.
//!
//! ```yaml
//! title: Graph call with a token issued to another IP
//! id: 0b3c...                      # a UUID
//! level: high
//! correlation:
//!   sources:
//!     activity: MicrosoftGraphActivityLogs
//!     signin: [AADServicePrincipalSignInLogs, AADManagedIdentitySignInLogs]
//!   filter:
//!     activity: TimeGenerated > ago(30d)
//!     signin: isnotempty(IPAddress)
//!   join: activity.SignInActivityId == signin.UniqueTokenIdentifier
//!   mismatch: signin.IPAddress != activity.IPAddress
//!   output:
//!     TimeGenerated: activity.TimeGenerated
//! ```

use std::sync::{Arc, LazyLock};

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{JsonType, ValidationError, Validator};
use serde_json::Value;

use crate::ast::{Expr, Ident};
use crate::diagnostic::{Code, Diagnostic, did_you_mean};
use crate::parser::{ExprSource, parse_expr};
use crate::source_map::ScalarMap;
use crate::span::{SourceFile, Span, Spanned};
use crate::yaml::{self, Node, NodeKind};

/// The JSON Schema of a rule file (draft 2020-12): the one description of
/// its structure. Editors can use it too (`# yaml-language-server: $schema=`).
pub const SCHEMA: &str = include_str!("../grammar/rule.schema.json");

pub const LEVELS: &[&str] = &["informational", "low", "medium", "high", "critical"];
pub const STATUSES: &[&str] = &["stable", "test", "experimental", "deprecated", "unsupported"];

/// A rule file as written: metadata and the parsed correlation.
#[derive(Debug, Clone)]
pub struct RuleDoc {
    pub file: Arc<SourceFile>,
    pub root: Node,
    pub title: Spanned<String>,
    pub id: Spanned<String>,
    pub status: Option<Spanned<String>>,
    pub description: Option<String>,
    pub author: Option<String>,
    pub license: Option<String>,
    pub references: Vec<Spanned<String>>,
    pub tags: Vec<Spanned<String>>,
    pub level: Spanned<String>,
    pub falsepositives: Vec<Spanned<String>>,
    /// What the rule was written as.
    pub kind: RuleKind,
    pub correlation: Correlation,
}

/// What a rule was written as: both run as a [`Correlation`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleKind {
    /// sigcorr's own `correlation: {sources, ...}`.
    Sigcorr,
    /// A Sigma detection rule, lowered by [`crate::sigma::lower`].
    Sigma,
    /// A Sigma correlation rule: no sources; [`crate::correlate`] runs it
    /// over the alerts of the rules it references.
    SigmaCorrelation,
}

/// The detection logic.
#[derive(Debug, Clone)]
pub struct Correlation {
    /// The span of the `correlation:` key, for findings about the whole.
    pub span: Span,
    pub sources: Vec<SourceDecl>,
    /// Per source alias, in file order.
    pub filters: Vec<(Ident, Expr)>,
    pub join: Option<Expr>,
    /// `kind: leftanti`: the first source's records that join no record of
    /// the second (Kusto's `join kind=leftanti`); where the key is written.
    pub anti: Option<Span>,
    pub mismatch: Option<Expr>,
    /// Output column name and its expression, in file order.
    pub output: Vec<(Ident, Expr)>,
    /// `let`: names bound to lists of values (reference data: allowlists,
    /// IOC lists, IP ranges), as Kusto's `let name = dynamic([...])`.
    pub lets: Vec<Let>,
}

/// One `let` name and its list: written in the rule, or read from a file.
#[derive(Debug, Clone)]
pub struct Let {
    pub name: Ident,
    pub value: LetValue,
}

#[derive(Debug, Clone)]
pub enum LetValue {
    /// `name: [a, b, ...]`: each item's text.
    Inline(Vec<Spanned<String>>),
    /// `name: {file: path}`: a path relative to the rule file's directory.
    File(Spanned<String>),
}

/// `alias: Table` or `alias: [TableA, TableB]` (a union).
#[derive(Debug, Clone)]
pub struct SourceDecl {
    pub alias: Ident,
    pub tables: Vec<Ident>,
}

type Errors = Vec<Diagnostic>;

/// Loads one rule file. All problems found are returned together.
pub fn load(file: &Arc<SourceFile>) -> Result<RuleDoc, Errors> {
    match load_partial(file) {
        Loaded { doc: Some(doc), errors, .. } if errors.is_empty() => Ok(doc),
        Loaded { errors, .. } => Err(errors),
    }
}

/// A rule file loaded as far as it goes.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The YAML tree, if the file is YAML (for checks on the metadata).
    pub root: Option<Node>,
    /// The rule, whenever its `correlation` came through whole, so that
    /// names and types can still be checked. Metadata the schema rejected
    /// is left empty here; with `errors`, the rule must not be run.
    pub doc: Option<RuleDoc>,
    /// Every problem found: YAML, schema, expression syntax; in file order.
    pub errors: Errors,
}

/// Loads one rule file, collecting every problem instead of stopping at the
/// first: see [`Loaded`].
pub fn load_partial(file: &Arc<SourceFile>) -> Loaded {
    let root = match yaml::parse(file) {
        Ok(root) => root,
        Err(d) => return Loaded { root: None, doc: None, errors: vec![d] },
    };
    if matches!(root.kind, NodeKind::Null) {
        let d = Diagnostic::new(Code::EmptyFile, "the rule file is empty")
            .at(file, Span::at(0))
            .help("a rule needs at least `title`, `id`, `level` and `correlation`");
        return Loaded { root: Some(root), doc: None, errors: vec![d] };
    }
    load_root(file, root)
}

/// Loads one YAML document of a rule file as a sigcorr rule.
pub fn load_root(file: &Arc<SourceFile>, root: Node) -> Loaded {
    let (mut errors, correlation_valid) = validate(file, &root, &RULE_SCHEMA, "/correlation");
    let mut cx = Loader { file, errors: Vec::new() };
    let correlation = root.entry("correlation").and_then(|(key, node)| cx.correlation(key, node));
    let expressions_parsed = cx.errors.is_empty();
    errors.extend(cx.errors);
    errors.sort_by_key(|d| d.span.map_or(0, |s| s.start));
    let doc = correlation.filter(|_| correlation_valid && expressions_parsed).map(|correlation| {
        let placeholder = || Spanned::new(String::new(), Span::at(root.span.start));
        RuleDoc {
            file: file.clone(),
            title: string(&root, "title").unwrap_or_else(placeholder),
            id: string(&root, "id").unwrap_or_else(placeholder),
            status: string(&root, "status"),
            description: string(&root, "description").map(|s| s.value),
            author: string(&root, "author").map(|s| s.value),
            license: string(&root, "license").map(|s| s.value),
            references: strings(&root, "references"),
            tags: strings(&root, "tags"),
            level: string(&root, "level").unwrap_or_else(placeholder),
            falsepositives: strings(&root, "falsepositives"),
            kind: RuleKind::Sigcorr,
            correlation,
            root: root.clone(),
        }
    });
    Loaded { root: Some(root), doc, errors }
}

// Extraction. The schema has already reported every value of the wrong
// shape, so these skip such values silently: no mistake is reported twice,
// and no shape makes them panic.

fn string(map: &Node, key: &str) -> Option<Spanned<String>> {
    let node = map.get(key)?;
    Some(Spanned::new(node.as_str()?.to_string(), node.span))
}

fn strings(map: &Node, key: &str) -> Vec<Spanned<String>> {
    let items = map.get(key).and_then(Node::as_seq).unwrap_or_default();
    items.iter().filter_map(|i| Some(Spanned::new(i.as_str()?.to_string(), i.span))).collect()
}

fn ident(node: &Node) -> Ident {
    Ident { name: node.scalar_text().unwrap_or_default(), span: node.span }
}

struct Loader<'a> {
    file: &'a Arc<SourceFile>,
    errors: Errors,
}

impl Loader<'_> {
    /// A name written as a mapping key (a source alias, an output column):
    /// as the file writes it, whatever YAML 1.1 would type it as (`Y`, `no`
    /// and `on` are names, not booleans). A key that is no scalar (`~`, an
    /// empty key) is refused: a name is text.
    fn name(&mut self, node: &Node, what: &str) -> Option<Ident> {
        match node.text_as_written(self.file).filter(|n| !n.is_empty()) {
            Some(name) => Some(Ident { name, span: node.span }),
            None => {
                let found =
                    if matches!(node.kind, NodeKind::Null) { "null (`~` or nothing)" } else { node.type_name() };
                self.errors.push(
                    Diagnostic::new(Code::Schema, format!("{what} must be a name, found {found}"))
                        .at(self.file, node.span)
                        .help(
                            "write a name such as `activity` or `IPAddress`; quote it if it looks like another value",
                        ),
                );
                None
            }
        }
    }

    fn correlation(&mut self, key: &Node, node: &Node) -> Option<Correlation> {
        node.as_map()?;
        let entries = |name: &str| node.get(name).and_then(Node::as_map).unwrap_or_default();
        let mut sources = Vec::new();
        for (alias, tables) in entries("sources") {
            let tables = match &tables.kind {
                NodeKind::Str(_) => vec![ident(tables)],
                NodeKind::Seq(items) => items.iter().filter(|i| i.as_str().is_some()).map(ident).collect(),
                _ => continue,
            };
            if let Some(alias) = self.name(alias, "a source alias") {
                sources.push(SourceDecl { alias, tables });
            }
        }
        let mut filters = Vec::new();
        for (alias, e) in entries("filter") {
            let alias = self.name(alias, "a filter's source alias");
            if let (Some(alias), Some(e)) = (alias, self.expr(e)) {
                filters.push((alias, e));
            }
        }
        let join = node.get("join").and_then(|e| self.expr(e));
        // The schema allows `inner` (the default) and `leftanti`.
        let anti = node.get("kind").filter(|k| k.as_str() == Some("leftanti")).map(|k| k.span);
        let mismatch = node.get("mismatch").and_then(|e| self.expr(e));
        let mut output = Vec::new();
        for (name, e) in entries("output") {
            let name = self.name(name, "an output name");
            if let (Some(name), Some(e)) = (name, self.expr(e)) {
                output.push((name, e));
            }
        }
        let mut lets = Vec::new();
        for (name, value) in entries("let") {
            let Some(name) = self.name(name, "a `let` name") else { continue };
            let value = match &value.kind {
                NodeKind::Seq(items) => LetValue::Inline(
                    // As written: `NO` and `007` are text, not YAML 1.1's false and 7.
                    items.iter().filter_map(|i| Some(Spanned::new(i.text_as_written(self.file)?, i.span))).collect(),
                ),
                NodeKind::Map(_) => {
                    match value.get("file").and_then(|f| Some(Spanned::new(f.as_str()?.to_string(), f.span))) {
                        Some(file) => LetValue::File(file),
                        None => continue,
                    }
                }
                _ => continue,
            };
            lets.push(Let { name, value });
        }
        Some(Correlation { span: key.span, sources, filters, join, anti, mismatch, output, lets })
    }

    /// Parses a string-valued expression; other values were reported by the schema.
    fn expr(&mut self, node: &Node) -> Option<Expr> {
        let text = node.as_str()?;
        let map = ScalarMap::in_span(&self.file.text, node.span, text);
        match parse_expr(text, &ExprSource { file: self.file, map: &map }) {
            Ok(e) => Some(e),
            Err(d) => {
                self.errors.push(d);
                None
            }
        }
    }
}

// Schema validation, with each error located at the key or value it is about.

/// A JSON Schema a kind of document is validated against.
pub struct Schema {
    json: Value,
    validator: Validator,
    /// Where `grammar/` keeps it, for error messages.
    name: &'static str,
}

impl Schema {
    pub(crate) fn new(text: &str, name: &'static str) -> Schema {
        let json: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{name} is not valid JSON: {e}"));
        let validator = jsonschema::draft202012::options()
            .should_validate_formats(true)
            .build(&json)
            .unwrap_or_else(|e| panic!("{name} is not a valid draft 2020-12 schema: {e}"));
        Schema { json, validator, name }
    }
}

/// sigcorr's own rules ([`SCHEMA`]).
pub static RULE_SCHEMA: LazyLock<Schema> = LazyLock::new(|| Schema::new(SCHEMA, "grammar/rule.schema.json"));

/// Validates the document against `schema`. Also says whether everything
/// under `section` (`/correlation`) passed, so the caller knows that part is whole.
pub(crate) fn validate(file: &Arc<SourceFile>, root: &Node, schema: &Schema, section: &str) -> (Errors, bool) {
    let json = root.to_json();
    let found: Vec<ValidationError> = schema.validator.iter_errors(&json).collect();
    // A misspelt key is one mistake: report the unknown key with its
    // did-you-mean, not also the key it was meant to be as missing.
    let mut misspelt = Vec::new();
    for e in &found {
        if let ValidationErrorKind::AdditionalProperties { unexpected } = e.kind() {
            let known = known_keys(schema, e.schema_path().as_str());
            for name in unexpected {
                if let Some(meant) = did_you_mean(name, known.iter().map(String::as_str)) {
                    misspelt.push((e.instance_path().as_str().to_string(), meant.to_string()));
                }
            }
        }
    }
    let mut errors = Vec::new();
    let mut section_valid = true;
    let nested = format!("{section}/");
    for e in &found {
        let path = e.instance_path().as_str();
        if path == section || path.starts_with(&nested) {
            section_valid = false;
        }
        if let ValidationErrorKind::Required { property } = e.kind()
            && misspelt.iter().any(|(p, meant)| p == path && Some(meant.as_str()) == property.as_str())
        {
            continue;
        }
        errors.extend(schema_diagnostics(e, root, schema).into_iter().map(|(span, d)| d.at(file, span)));
    }
    (errors, section_valid)
}

fn schema_diagnostics(e: &ValidationError, root: &Node, schema: &Schema) -> Vec<(Span, Diagnostic)> {
    let path = e.instance_path().as_str();
    let Some(node) = root.pointer(path) else {
        return vec![(root.span, Diagnostic::new(Code::Schema, e.to_string()))];
    };
    let what = describe(root, path);
    let value = || node.scalar_text().unwrap_or_else(|| node.type_name().to_string());
    let one = |message: String| Diagnostic::new(Code::Schema, message);
    let d = match e.kind() {
        ValidationErrorKind::Type { .. } if path.is_empty() => {
            one(format!("a rule file must be a mapping, found {}", node.type_name()))
                .help("start from a copy of a rule under rules/")
        }
        ValidationErrorKind::Type { .. } if is_source(path) => one(format!(
            "source `{}` must be a table name or a list of table names (a union), found {}",
            last_segment(path),
            node.type_name()
        )),
        ValidationErrorKind::Type { kind } => {
            one(format!("`{what}` must be {}, found {}", expected(kind), node.type_name()))
        }
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().unwrap_or_default();
            let message =
                if path.is_empty() { format!("missing `{name}`") } else { format!("missing `{name}` in `{what}`") };
            let span = if path.is_empty() {
                Span::at(node.span.start)
            } else {
                root.pointer_key(path).map_or(node.span, |k| k.span)
            };
            return vec![(span, one(message).help(required_help(name)))];
        }
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            let known = known_keys(schema, e.schema_path().as_str());
            return unexpected
                .iter()
                .map(|name| {
                    let key =
                        node.as_map().unwrap_or_default().iter().find(|(k, _)| k.scalar_text().as_ref() == Some(name));
                    let message = if path.is_empty() {
                        format!("unknown key `{name}`")
                    } else {
                        format!("unknown key `{name}` in `{what}`")
                    };
                    let help = match did_you_mean(name, known.iter().map(String::as_str)) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None if path.is_empty() => {
                            format!(
                                "see {} for the keys a rule may have; keys starting with `x-` are ignored",
                                schema.name
                            )
                        }
                        None => format!("the keys are: {}", known.join(", ")),
                    };
                    (key.map_or(node.span, |(k, _)| k.span), one(message).help(help))
                })
                .collect();
        }
        ValidationErrorKind::Enum { options } => {
            let options: Vec<&str> =
                options.as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
            // Every enum in the schema is one of strings.
            let d = match node.scalar_text() {
                Some(v) => one(format!("invalid `{what}` `{v}`")),
                None => one(format!("`{what}` must be a string, found {}", node.type_name())),
            };
            match did_you_mean(&value(), options.iter().copied()) {
                Some(s) => d.help(format!("did you mean `{s}`? (one of: {})", options.join(", "))),
                None => d.help(format!("one of: {}", options.join(", "))),
            }
        }
        ValidationErrorKind::Format { format } => match format.as_str() {
            "uuid" => one(format!("`{what}` `{}` is not a UUID", value()))
                .help("e.g. `0428e609-07b8-42bf-a36b-d74e4e2be504`; generate one with `uuidgen`"),
            "uri" => one(format!("`{what}` `{}` is not a URL", value()))
                .help("write an absolute URL, e.g. `https://attack.mitre.org/techniques/T1528/`"),
            f => one(format!("`{what}` `{}` is not a valid {f}", value())),
        },
        ValidationErrorKind::MinLength { .. } => one(format!("`{what}` is empty")),
        ValidationErrorKind::MinItems { .. } => one(format!("`{what}` is an empty list")),
        ValidationErrorKind::MinProperties { .. } => one(format!("`{what}` is empty")),
        _ => one(format!("`{what}`: {e}")),
    };
    vec![(node.span, d)]
}

/// `/correlation/sources/signin/1` as people write it: `correlation.sources.signin[1]`.
fn describe(root: &Node, pointer: &str) -> String {
    let mut out = String::new();
    let mut node = Some(root);
    for token in pointer.split('/').skip(1) {
        let token = token.replace("~1", "/").replace("~0", "~");
        if node.is_some_and(|n| n.as_seq().is_some()) {
            out.push_str(&format!("[{token}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&token);
        }
        node = node.and_then(|n| match &n.kind {
            NodeKind::Map(m) => m.iter().find(|(k, _)| k.scalar_text().as_deref() == Some(&token)).map(|(_, v)| v),
            NodeKind::Seq(s) => s.get(token.parse::<usize>().ok()?),
            _ => None,
        });
    }
    out
}

fn last_segment(pointer: &str) -> String {
    pointer.rsplit('/').next().unwrap_or_default().replace("~1", "/").replace("~0", "~")
}

fn is_source(pointer: &str) -> bool {
    pointer.strip_prefix("/correlation/sources/").is_some_and(|rest| !rest.contains('/'))
}

fn expected(kind: &TypeKind) -> String {
    const NAMES: &[(JsonType, &str)] = &[
        (JsonType::Object, "a mapping"),
        (JsonType::Array, "a list"),
        (JsonType::String, "a string"),
        (JsonType::Integer, "an integer"),
        (JsonType::Number, "a number"),
        (JsonType::Boolean, "a boolean"),
    ];
    let names: Vec<&str> = match kind {
        TypeKind::Single(t) => NAMES.iter().filter(|(n, _)| n == t).map(|(_, s)| *s).collect(),
        TypeKind::Multiple(set) => NAMES.iter().filter(|(n, _)| set.contains(*n)).map(|(_, s)| *s).collect(),
    };
    names.join(" or ")
}

/// The property names the schema object holding `additionalProperties` at
/// `schema_path` declares.
fn known_keys(schema: &Schema, schema_path: &str) -> Vec<String> {
    let object = schema_path.strip_suffix("/additionalProperties").unwrap_or(schema_path);
    let properties = schema.json.pointer(object).and_then(|o| o.get("properties")).and_then(Value::as_object);
    properties.map(|p| p.keys().cloned().collect()).unwrap_or_default()
}

fn required_help(name: &str) -> String {
    match name {
        "title" => "a rule needs a `title`: a short name for what it detects".into(),
        "id" => "a rule needs a UUID `id`, e.g. from `uuidgen`".into(),
        "level" => format!("a rule needs a `level`, one of: {}", LEVELS.join(", ")),
        "correlation" => "the rule's sources, filters, join and output; see rules/entra/ for a complete rule".into(),
        "sources" => "which tables the rule reads, e.g. `sources: {activity: MicrosoftGraphActivityLogs}`".into(),
        "output" => "the columns each alert carries, e.g. `output: {TimeGenerated: activity.TimeGenerated}`".into(),
        _ => format!("add `{name}`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE: &str = "title: t\nid: 0428e609-07b8-42bf-a36b-d74e4e2be504\nlevel: high\ncorrelation:\n  sources:\n    a: T\n  output:\n    X: a.X\n";

    fn load_str(text: &str) -> Loaded {
        load_partial(&SourceFile::new("r.yml", text.to_string()))
    }

    /// `line:col message` of each error.
    fn errors(text: &str) -> Vec<String> {
        load_str(text)
            .errors
            .iter()
            .map(|d| {
                let (l, c) = d.line_col().expect("every error is located");
                format!("{l}:{c} {}", d.message)
            })
            .collect()
    }

    #[test]
    fn a_minimal_rule_and_sigma_extras_load() {
        assert_eq!(errors(RULE), Vec::<String>::new());
        let extras = format!(
            "{RULE}date: 2026-07-16\nmodified: 2026/07/17\nx-owner: soc\nfields: [IPAddress]\nrelated:\n  - id: 367ad919-5366-48ba-8fc9-84b891dd6c78\n    type: derived\n"
        );
        assert_eq!(errors(&extras), Vec::<String>::new());
        let doc = load(&SourceFile::new("r.yml", RULE.to_string())).unwrap();
        assert_eq!((doc.title.value.as_str(), doc.level.value.as_str()), ("t", "high"));
        assert_eq!(doc.correlation.sources[0].tables[0].name, "T");
    }

    #[test]
    fn schema_enums_are_the_constants() {
        let schema = &RULE_SCHEMA.json;
        assert_eq!(schema["properties"]["level"]["enum"], serde_json::json!(LEVELS));
        assert_eq!(schema["properties"]["status"]["enum"], serde_json::json!(STATUSES));
    }

    #[test]
    fn schema_errors_point_at_the_key_or_value() {
        let cases: &[(&str, &str, &[&str])] = &[
            ("level: high\n", "level: [high]\n", &["3:8 `level` must be a string, found a list"][..]),
            ("level: high\n", "level: hgih\n", &["3:8 invalid `level` `hgih`"]),
            ("title: t\n", "", &["1:1 missing `title`"]),
            ("title: t\n", "titel: t\n", &["1:1 unknown key `titel`"]),
            ("title: t\n", "title: ''\n", &["1:8 `title` is empty"]),
            ("title: t\n", "title: t\nlogsource: {product: azure}\n", &["2:1 unknown key `logsource`"]),
            ("    a: T\n", "    a: []\n", &["6:8 `correlation.sources.a` is an empty list"]),
            ("    a: T\n", "    a: [T, 3]\n", &["6:12 `correlation.sources.a[1]` must be a string, found an integer"]),
            ("  output:\n    X: a.X\n", "  output: {}\n", &["7:11 `correlation.output` is empty"]),
            ("    X: a.X\n", "    X: 3\n", &["8:8 `correlation.output.X` must be a string, found an integer"]),
            (
                "  sources:\n    a: T\n  output:\n    X: a.X\n",
                "  output:\n    X: a.X\n",
                &["4:1 missing `sources` in `correlation`"],
            ),
        ];
        for (old, new, want) in cases {
            assert_eq!(RULE.matches(old).count(), 1, "{old}");
            let text = RULE.replace(old, new);
            assert_eq!(errors(&text), *want, "{text}");
        }
    }

    #[test]
    fn errors_carry_helps() {
        let text = RULE.replace("title: t\n", "titel: t\n");
        let d = &load_str(&text).errors[0];
        assert_eq!(d.help.as_deref(), Some("did you mean `title`?"));
        let text = RULE.replace("level: high\n", "level: hgih\n");
        let d = &load_str(&text).errors[0];
        assert_eq!(
            d.help.as_deref(),
            Some("did you mean `high`? (one of: informational, low, medium, high, critical)")
        );
    }

    #[test]
    fn the_correlation_is_checked_when_only_metadata_is_wrong() {
        let bad_level = load_str(&RULE.replace("level: high\n", "level: 3\n"));
        assert_eq!(bad_level.errors.len(), 1);
        assert!(bad_level.doc.is_some(), "names and types can still be checked");
        let bad_output = load_str(&RULE.replace("    X: a.X\n", "    X: [a.X]\n"));
        assert!(bad_output.doc.is_none(), "a correlation the schema rejected is not checked");
        let bad_expr = load_str(&RULE.replace("    X: a.X\n", "    X: a.X +\n"));
        assert_eq!(bad_expr.errors[0].code, Code::ExprSyntax);
        assert!(bad_expr.doc.is_none());
    }

    #[test]
    fn odd_shapes_are_errors_not_panics() {
        let docs = [
            "- a\n- b\n",
            "just a string\n",
            "42\n",
            "correlation: []\n",
            "correlation: {sources: 3, filter: [a], join: {a: 1}, mismatch: null, output: null}\n",
            "correlation: {sources: {a: {b: c}}, filter: {a: 1}, output: {1: 2}}\n",
            "tags: [1, {a: b}, null]\nreferences: 3\nfalsepositives: {a: b}\n",
            "? [a, b]\n: c\n",
            "id: 3\ntitle: [x]\nlevel: {}\nstatus: null\n",
        ];
        for text in docs {
            let loaded = load_str(text);
            assert!(!loaded.errors.is_empty(), "{text}");
            assert!(loaded.errors.iter().all(|d| d.code == Code::Schema && d.span.is_some()), "{text}");
        }
    }
}
