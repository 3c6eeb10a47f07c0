//! Load: a rule file's YAML to a [`RuleDoc`], with every expression parsed
//! and every key and value located.
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

use std::sync::Arc;

use crate::ast::{Expr, Ident};
use crate::diagnostic::{Code, Diagnostic};
use crate::parser::{ExprSource, parse_expr};
use crate::source_map::ScalarMap;
use crate::span::{SourceFile, Span, Spanned};
use crate::yaml::{self, Node, NodeKind};

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
    pub correlation: Correlation,
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
    pub mismatch: Option<Expr>,
    /// Output column name and its expression, in file order.
    pub output: Vec<(Ident, Expr)>,
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
    let root = yaml::parse(file).map_err(|d| vec![d])?;
    if matches!(root.kind, NodeKind::Null) {
        return Err(vec![
            Diagnostic::new(Code::EmptyFile, "the rule file is empty")
                .at(file, Span::at(0))
                .help("a rule needs at least `title`, `id`, `level` and `correlation`"),
        ]);
    }
    let mut cx = Loader { file, errors: Vec::new() };
    let doc = cx.rule(&root);
    match doc {
        Some(doc) if cx.errors.is_empty() => Ok(doc),
        _ => Err(cx.errors),
    }
}

struct Loader<'a> {
    file: &'a Arc<SourceFile>,
    errors: Errors,
}

impl Loader<'_> {
    fn error(&mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(Code::Schema, message).at(self.file, span)
    }

    fn push(&mut self, d: Diagnostic) {
        self.errors.push(d);
    }

    fn rule(&mut self, root: &Node) -> Option<RuleDoc> {
        if root.as_map().is_none() {
            let d = self.error(root.span, format!("a rule file must be a mapping, found {}", root.type_name()));
            self.push(d);
            return None;
        }
        let title = self.required_string(root, "title");
        let id = self.required_string(root, "id");
        let level = self.required_string(root, "level");
        let status = self.optional_string(root, "status");
        let description = self.optional_string(root, "description").map(|s| s.value);
        let author = self.optional_string(root, "author").map(|s| s.value);
        let license = self.optional_string(root, "license").map(|s| s.value);
        let references = self.string_list(root, "references");
        let tags = self.string_list(root, "tags");
        let falsepositives = self.string_list(root, "falsepositives");
        let correlation = match root.entry("correlation") {
            Some((key, node)) => self.correlation(key, node),
            None => {
                let d = self
                    .error(root.span, "missing `correlation`: the rule's sources, filters, join and output")
                    .help("see rules/entra/ for a complete rule");
                self.push(d);
                None
            }
        };
        if let Some(level) = &level
            && !LEVELS.contains(&level.value.as_str())
        {
            let d = self
                .error(level.span, format!("invalid `level` `{}`", level.value))
                .help(format!("one of: {}", LEVELS.join(", ")));
            self.push(d);
        }
        if let Some(status) = &status
            && !STATUSES.contains(&status.value.as_str())
        {
            let d = self
                .error(status.span, format!("invalid `status` `{}`", status.value))
                .help(format!("one of: {}", STATUSES.join(", ")));
            self.push(d);
        }
        Some(RuleDoc {
            file: self.file.clone(),
            root: root.clone(),
            title: title?,
            id: id?,
            status,
            description,
            author,
            license,
            references,
            tags,
            level: level?,
            falsepositives,
            correlation: correlation?,
        })
    }

    fn required_string(&mut self, map: &Node, key: &str) -> Option<Spanned<String>> {
        if map.get(key).is_none() {
            let d = self.error(map.span, format!("missing `{key}`"));
            self.push(d);
            return None;
        }
        self.optional_string(map, key)
    }

    fn optional_string(&mut self, map: &Node, key: &str) -> Option<Spanned<String>> {
        let node = map.get(key)?;
        match &node.kind {
            NodeKind::Str(s) => Some(Spanned::new(s.clone(), node.span)),
            _ => {
                let d = self.error(node.span, format!("`{key}` must be a string, found {}", node.type_name()));
                self.push(d);
                None
            }
        }
    }

    fn string_list(&mut self, map: &Node, key: &str) -> Vec<Spanned<String>> {
        let Some(node) = map.get(key) else { return Vec::new() };
        let Some(items) = node.as_seq() else {
            let d = self.error(node.span, format!("`{key}` must be a list of strings, found {}", node.type_name()));
            self.push(d);
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in items {
            match item.scalar_text() {
                Some(s) => out.push(Spanned::new(s, item.span)),
                None => {
                    let d = self.error(item.span, format!("`{key}` items must be strings, found {}", item.type_name()));
                    self.push(d);
                }
            }
        }
        out
    }

    fn ident(&self, node: &Node) -> Ident {
        Ident { name: node.scalar_text().unwrap_or_default(), span: node.span }
    }

    fn correlation(&mut self, key: &Node, node: &Node) -> Option<Correlation> {
        if node.as_map().is_none() {
            let d = self.error(node.span, format!("`correlation` must be a mapping, found {}", node.type_name()));
            self.push(d);
            return None;
        }
        const KNOWN: &[&str] = &["sources", "filter", "join", "mismatch", "output"];
        for (k, _) in node.as_map().unwrap_or_default() {
            let name = k.scalar_text().unwrap_or_default();
            if !KNOWN.contains(&name.as_str()) {
                let mut d = self.error(k.span, format!("unknown key `{name}` in `correlation`"));
                if let Some(s) = crate::diagnostic::did_you_mean(&name, KNOWN.iter().copied()) {
                    d = d.help(format!("did you mean `{s}`?"));
                } else {
                    d = d.help(format!("the keys are: {}", KNOWN.join(", ")));
                }
                self.push(d);
            }
        }
        let sources = self.sources(node);
        let filters = match node.get("filter") {
            None | Some(Node { kind: NodeKind::Null, .. }) => Vec::new(),
            Some(f) => match f.as_map() {
                Some(entries) => entries
                    .iter()
                    .filter_map(|(alias, expr)| Some((self.ident(alias), self.expr(expr, "filter")?)))
                    .collect(),
                None => {
                    let d = self.error(
                        f.span,
                        format!("`filter` must map each source alias to an expression, found {}", f.type_name()),
                    );
                    self.push(d);
                    Vec::new()
                }
            },
        };
        let join = node.get("join").and_then(|n| self.expr(n, "join"));
        let mismatch = node.get("mismatch").and_then(|n| self.expr(n, "mismatch"));
        let output = match node.get("output") {
            Some(o) => match o.as_map() {
                Some(entries) => entries
                    .iter()
                    .filter_map(|(name, expr)| Some((self.ident(name), self.expr(expr, "output")?)))
                    .collect(),
                None => {
                    let d = self.error(
                        o.span,
                        format!("`output` must map column names to expressions, found {}", o.type_name()),
                    );
                    self.push(d);
                    Vec::new()
                }
            },
            None => {
                let d = self
                    .error(key.span, "missing `output`: the columns each alert carries")
                    .help("e.g. `output: {TimeGenerated: activity.TimeGenerated}`");
                self.push(d);
                Vec::new()
            }
        };
        Some(Correlation { span: key.span, sources: sources?, filters, join, mismatch, output })
    }

    fn sources(&mut self, node: &Node) -> Option<Vec<SourceDecl>> {
        let Some(sources) = node.get("sources") else {
            let d = self
                .error(node.span, "missing `sources`: which tables the rule reads")
                .help("e.g. `sources: {activity: MicrosoftGraphActivityLogs}`");
            self.push(d);
            return None;
        };
        let Some(entries) = sources.as_map() else {
            let d = self
                .error(sources.span, format!("`sources` must map aliases to tables, found {}", sources.type_name()));
            self.push(d);
            return None;
        };
        let mut out = Vec::new();
        for (alias, tables) in entries {
            let tables = match &tables.kind {
                NodeKind::Str(_) => vec![self.ident(tables)],
                NodeKind::Seq(items) if !items.is_empty() && items.iter().all(|i| i.as_str().is_some()) => {
                    items.iter().map(|i| self.ident(i)).collect()
                }
                _ => {
                    let d = self.error(tables.span, "a source is a table name or a list of table names (a union)");
                    self.push(d);
                    continue;
                }
            };
            out.push(SourceDecl { alias: self.ident(alias), tables });
        }
        Some(out)
    }

    fn expr(&mut self, node: &Node, what: &str) -> Option<Expr> {
        let Some(text) = node.scalar_text() else {
            let d = self.error(node.span, format!("`{what}` expressions are strings, found {}", node.type_name()));
            self.push(d);
            return None;
        };
        let map = ScalarMap::new(&self.file.text, node.span.start, &text);
        match parse_expr(&text, &ExprSource { file: self.file, map: &map }) {
            Ok(e) => Some(e),
            Err(d) => {
                self.push(d);
                None
            }
        }
    }
}
