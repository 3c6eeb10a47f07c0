//! Lower: a [`SigmaRule`] to a [`RuleDoc`] with one source (the tables its
//! `logsource` maps to) whose filter is the detection, written in the rule
//! language's own expressions. `check` then types it as it types any rule,
//! and the engine, `test` and `compile` take it as they take any rule.
//!
//! The meaning of each Sigma construct, in the rule language:
//!
//! | Sigma | expression |
//! |---|---|
//! | `F: v` | `F =~ "v"` (`\|cased`: `F == "v"`) |
//! | `F: '*v*'`, `F\|contains: v` | `F contains "v"` (`contains_cs` when cased) |
//! | `F: 'v*'`, `'*v'` | `F startswith "v"`, `F endswith "v"` |
//! | `F: 'a*b?c'` | `F matches regex "(?i)^a.*b.c$"` |
//! | `F: '*'` | `isnotempty(F)` |
//! | `F: 5` | `F == 5` on a number column, `F == "5"` on a string one |
//! | `F: null` | `isempty(F)` (strings) / `isnull(F)` |
//! | `F\|exists: true` | `isnotempty(F)` (strings) / `isnotnull(F)` |
//! | `F\|re: x` | `F matches regex "x"` (`\|i\|m\|s`: `(?ims)`) |
//! | `F\|cidr: n` | `coalesce(ipv4_is_in_range(F, "n"), false)` (`ipv6_is_match` for IPv6) |
//! | `F\|gt: n` | `isnotnull(F) and F > n` (`toreal(F)` on a string column) |
//! | `F\|neq: v` | `not (F =~ "v")` |
//! | `F\|fieldref: G` | `F =~ G` (with `contains` etc.: `F contains G`) |
//! | a path into a JSON column | [`ExprKind::Any`]: any value it reaches, arrays read element by element |
//! | a keyword | `C contains "k"` over every string and dynamic column, or'ed |
//!
//! Every leaf is two-valued (true or false, never null), so `not` means
//! "does not match", as in Sigma.

use std::sync::Arc;

use super::Placeholders;
use super::condition::{Cond, CondKind, selects};
use super::load::{Selection, SigmaRule};
use super::logsource::without_properties;
use super::value::{self, Modifier, Piece, Shape};
use crate::ast::{BinaryOp, Expr, ExprKind, Ident, InOp, Literal, StrOp, UnaryOp};
use crate::diagnostic::{Code, Diagnostic, did_you_mean};
use crate::rule::{Correlation, RuleDoc, RuleKind, SourceDecl};
use crate::span::{SourceFile, Span, Spanned};
use crate::table::{Catalog, TableDef};
use crate::types::Type;
use crate::yaml::{Node, NodeKind};

/// The source alias a lowered Sigma rule's one source has (evidence names it).
pub const ALIAS: &str = "event";

type Errors = Vec<Diagnostic>;

/// Lowers `rule`. Warnings come back with the rule; errors instead of it.
pub fn lower(rule: &SigmaRule, catalog: &Catalog) -> Result<(RuleDoc, Vec<Diagnostic>), Errors> {
    let file = &rule.file;
    let ls = &rule.logsource;
    let at = |span: Span, d: Diagnostic| d.at(file, span);
    let entry = catalog.logsources.entry(
        ls.product.as_ref().map(|s| s.value.as_str()),
        ls.category.as_ref().map(|s| s.value.as_str()),
        ls.service.as_ref().map(|s| s.value.as_str()),
    );
    if let Some(why) = entry.and_then(|e| e.unavailable.as_deref()) {
        let d = Diagnostic::new(Code::NoLogsourceTable, format!("no table holds logsource `{}`: {why}", ls.describe()))
            .help("if you ingest these logs into a table, define it (--tables DIR) and map the logsource to it");
        return Err(vec![at(ls.span, d)]);
    }
    let Some(names) = catalog.logsources.tables(
        ls.product.as_ref().map(|s| s.value.as_str()),
        ls.category.as_ref().map(|s| s.value.as_str()),
        ls.service.as_ref().map(|s| s.value.as_str()),
    ) else {
        let d = Diagnostic::new(Code::NoLogsourceTable, format!("no table for logsource `{}`", ls.describe())).help(
            "map it to tables in a logsource mapping file (see tables/sigma-logsources.yml) and pass --tables DIR",
        );
        return Err(vec![at(ls.span, d)]);
    };
    let mut tables = Vec::new();
    for name in names {
        match catalog.get(name) {
            Some(t) => tables.push(t),
            None => {
                let d = Diagnostic::new(
                    Code::UnknownTable,
                    format!("logsource `{}` maps to table `{name}`, which has no definition", ls.describe()),
                )
                .help("add a definition under tables/, or pass --tables DIR");
                return Err(vec![at(ls.span, d)]);
            }
        }
    }
    if tables.is_empty() {
        let d = Diagnostic::new(Code::NoLogsourceTable, format!("logsource `{}` maps to no table", ls.describe()));
        return Err(vec![at(ls.span, d)]);
    }
    let mut cx = Lowerer {
        file,
        catalog,
        tables,
        placeholders: &catalog.placeholders,
        errors: Vec::new(),
        warnings: Vec::new(),
        read: Vec::new(),
        bare: false,
        nodes: 0,
    };
    let selections: Vec<Option<Expr>> = rule.selections.iter().map(|s| cx.selection(s)).collect();
    let filter = cx.condition(&rule.condition, &rule.selections, &selections);
    // A condition naming a selection it lacks is reported as such; what it
    // leaves unused is then no news.
    if !cx.errors.iter().any(|d| d.code == Code::UnknownSelection) {
        cx.unused(rule);
    }
    let output = cx.output(rule);
    if !cx.errors.is_empty() {
        // The warnings too: lint reports everything it found at once.
        cx.errors.append(&mut cx.warnings);
        cx.errors.sort_by_key(|d| d.span.map_or(0, |s| s.start));
        return Err(cx.errors);
    }
    let alias = Ident { name: ALIAS.to_string(), span: ls.span };
    let correlation = Correlation {
        span: rule.detection_span,
        sources: vec![SourceDecl {
            alias: alias.clone(),
            tables: cx.tables.iter().map(|t| Ident { name: t.name.clone(), span: ls.span }).collect(),
        }],
        filters: filter.map(|f| (alias, f)).into_iter().collect(),
        join: None,
        anti: None,
        mismatch: None,
        output,
        lets: Vec::new(),
    };
    let doc = document(file, &rule.root, RuleKind::Sigma, correlation);
    Ok((doc, cx.warnings))
}

/// A [`RuleDoc`] of a Sigma document: its metadata as written, and the
/// logic it lowers to.
pub(crate) fn document(file: &Arc<SourceFile>, root: &Node, kind: RuleKind, correlation: Correlation) -> RuleDoc {
    let string = |key: &str| {
        let n = root.get(key)?;
        Some(Spanned::new(n.text_as_written(file)?, n.span))
    };
    let strings = |key: &str| -> Vec<Spanned<String>> {
        match root.get(key) {
            Some(n) if n.as_str().is_some() => vec![Spanned::new(n.text_as_written(file).unwrap_or_default(), n.span)],
            Some(n) => n
                .as_seq()
                .unwrap_or_default()
                .iter()
                .filter_map(|i| Some(Spanned::new(i.text_as_written(file)?, i.span)))
                .collect(),
            None => Vec::new(),
        }
    };
    let placeholder = || Spanned::new(String::new(), Span::at(root.span.start));
    RuleDoc {
        file: file.clone(),
        root: root.clone(),
        title: string("title").unwrap_or_else(placeholder),
        id: string("id").unwrap_or_else(placeholder),
        status: string("status"),
        description: string("description").map(|s| s.value),
        author: string("author").map(|s| s.value),
        license: string("license").map(|s| s.value),
        references: strings("references"),
        tags: strings("tags"),
        level: string("level").unwrap_or_else(placeholder),
        falsepositives: strings("falsepositives"),
        kind,
        correlation,
    }
}

/// What a correlation reads of a Sigma field on a rule's `tables`: the
/// field's value as `wrap` (`tostring` or `toreal`) makes it, read from
/// each table's own column when the field is a different column per table
/// (`case(Type in ("A"), wrap(a), ...)`). `None` when no table has it.
pub(crate) fn field_value(
    catalog: &Catalog,
    tables: &[&TableDef],
    field: &str,
    wrap: &str,
    span: Span,
) -> Option<Expr> {
    let mut groups: Vec<(Resolved, Vec<String>)> = Vec::new();
    for t in tables {
        if let Some(r) = resolve_on(catalog, t, field, span) {
            match groups.iter_mut().find(|(g, _)| g.column == r.column && g.path == r.path) {
                Some((_, names)) => names.push(t.name.clone()),
                None => groups.push((r, vec![t.name.clone()])),
            }
        }
    }
    // A string column is read as it is (the engine copies it without the
    // interpreter); anything else through `wrap`.
    let value = |r: &Resolved| match (wrap, r.ty) {
        ("tostring", Type::String) if r.path.is_empty() => r.field(),
        _ => call(wrap, vec![r.field()], span),
    };
    match &groups[..] {
        [] => None,
        [(only, names)] if names.len() == tables.len() => Some(value(only)),
        _ => {
            let mut args = Vec::new();
            for (r, names) in &groups {
                let ty = Expr { kind: ExprKind::Field(vec![Ident { name: "Type".into(), span }]), span };
                let names = names.iter().map(|t| string_lit(t, span)).collect();
                let op = InOp::In { negated: false, case_insensitive: false };
                args.push(expr(ExprKind::In { expr: Box::new(ty), op, list: names }, span));
                args.push(value(r));
            }
            args.push(match wrap {
                "toreal" => call("toreal", vec![string_lit("", span)], span),
                _ => string_lit("", span),
            });
            Some(call("case", args, span))
        }
    }
}

/// A Sigma field resolved on the rule's tables.
#[derive(Debug, Clone)]
struct Resolved {
    column: String,
    path: Vec<String>,
    ty: Type,
    span: Span,
}

impl Resolved {
    /// Whether values are read through [`ExprKind::Any`]: a path into a JSON
    /// column, or a JSON column itself (it may hold an array).
    fn fans_out(&self) -> bool {
        !self.path.is_empty() || self.ty == Type::Dynamic
    }

    fn field(&self) -> Expr {
        let mut parts = vec![Ident { name: self.column.clone(), span: self.span }];
        parts.extend(self.path.iter().map(|p| Ident { name: p.clone(), span: self.span }));
        Expr { kind: ExprKind::Field(parts), span: self.span }
    }
}

/// The operand a leaf tests: the column itself, or the element of an `Any`.
struct Operand {
    expr: Expr,
    ty: Type,
}

/// What a value is matched with: the modifiers that are not transforms.
#[derive(Debug, Clone, Copy, Default)]
struct Match {
    contains: bool,
    startswith: bool,
    endswith: bool,
    cased: bool,
    all: bool,
    re: Option<(bool, bool, bool)>,
    cidr: bool,
    exists: bool,
    cmp: Option<BinaryOp>,
    neq: bool,
    fieldref: bool,
}

struct Lowerer<'a> {
    file: &'a Arc<SourceFile>,
    catalog: &'a Catalog,
    tables: Vec<&'a TableDef>,
    placeholders: &'a Placeholders,
    errors: Errors,
    warnings: Vec<Diagnostic>,
    /// Columns the detection reads, in order: the default output.
    read: Vec<String>,
    /// While set, [`Lowerer::wrap`] leaves tests on the element bare: the
    /// caller wraps their `or` in one `Any` (one walk of the JSON per field,
    /// not one per value).
    bare: bool,
    /// Expression nodes built so far, against [`MAX_NODES`].
    nodes: usize,
}

/// The most expression nodes one detection may lower to: a 3 KB rule that
/// uses a 20,000-value selection 256 times, or 20,000 keywords over 90
/// columns, would otherwise take gigabytes.
const MAX_NODES: usize = 2_000_000;

fn size(e: &Expr) -> usize {
    let mut n = 0;
    e.walk(&mut |_| n += 1);
    n
}

fn expr(kind: ExprKind, span: Span) -> Expr {
    Expr { kind, span }
}

fn lit(l: Literal, span: Span) -> Expr {
    expr(ExprKind::Literal(l), span)
}

fn string_lit(s: &str, span: Span) -> Expr {
    lit(Literal::String(s.to_string()), span)
}

fn bin(op: BinaryOp, l: Expr, r: Expr, span: Span) -> Expr {
    expr(ExprKind::Binary(op, Box::new(l), Box::new(r)), span)
}

fn call(name: &str, args: Vec<Expr>, span: Span) -> Expr {
    expr(ExprKind::Call { name: Ident { name: name.to_string(), span }, args }, span)
}

fn not(e: Expr) -> Expr {
    let span = e.span;
    expr(ExprKind::Unary(UnaryOp::Not, Box::new(e)), span)
}

/// `and` (or `or`) of `parts`; `None` for none. The tree is balanced, so a
/// list of 100,000 values nests 17 deep, not 100,000 (every later stage
/// recurses over it).
fn fold(op: BinaryOp, mut parts: Vec<Expr>) -> Option<Expr> {
    match parts.len() {
        0 => None,
        1 => parts.pop(),
        n => {
            let right = parts.split_off(n / 2);
            let (a, b) = (fold(op, parts)?, fold(op, right)?);
            let span = Span::new(a.span.start.min(b.span.start), a.span.end.max(b.span.end));
            Some(bin(op, a, b, span))
        }
    }
}

fn str_op(op: StrOp, cased: bool) -> BinaryOp {
    BinaryOp::Str { op, negated: false, case_sensitive: cased }
}

impl Lowerer<'_> {
    fn error(&mut self, span: Span, d: Diagnostic) {
        self.errors.push(d.at(self.file, span));
    }

    fn warn(&mut self, span: Span, d: Diagnostic) {
        self.warnings.push(d.at(self.file, span));
    }

    // ---- fields ------------------------------------------------------------

    /// Resolves a Sigma field on the first of the rule's tables where it
    /// resolves: a mapping alias; else the same name as a column compared
    /// case-insensitively, a leading `properties.` dropped, the rest of a
    /// dotted name a path into a JSON column.
    fn resolve(&mut self, field: &str, span: Span) -> Option<Resolved> {
        self.resolve_per_table(field, span).map(|mut groups| groups.swap_remove(0).0)
    }

    /// [`Lowerer::resolve`] on each of the rule's tables: each distinct
    /// resolution with the tables it holds on (one entry when every table
    /// that has the field resolves it alike, the common case).
    fn resolve_per_table(&mut self, field: &str, span: Span) -> Option<Vec<(Resolved, Vec<String>)>> {
        let mut groups: Vec<(Resolved, Vec<String>)> = Vec::new();
        for t in &self.tables {
            if let Some(r) = resolve_on(self.catalog, t, field, span) {
                match groups.iter_mut().find(|(g, _)| g.column == r.column && g.path == r.path) {
                    Some((_, tables)) => tables.push(t.name.clone()),
                    None => groups.push((r, vec![t.name.clone()])),
                }
            }
        }
        match groups.is_empty() {
            false => {
                for (r, _) in &groups {
                    if !self.read.contains(&r.column) {
                        self.read.push(r.column.clone());
                    }
                }
                Some(groups)
            }
            true => {
                let names: Vec<String> = self.tables.iter().map(|t| format!("`{}`", t.name)).collect();
                let bare = without_properties(field);
                let head = bare.split('.').next().unwrap_or(bare);
                let candidates = self.tables.iter().flat_map(|t| t.columns.iter().map(|c| c.name.as_str()));
                let mut d = Diagnostic::new(
                    Code::UnknownColumn,
                    format!("field `{field}` matches no column of table {}", names.join(" or ")),
                );
                d = match did_you_mean(head, candidates) {
                    Some(s) => d.help(format!("did you mean `{s}`? (or map the field in a logsource mapping file's `fields`)")),
                    None => d.help("map the field to a column in a logsource mapping file's `fields` (tables/sigma-logsources.yml)"),
                };
                self.error(span, d);
                None
            }
        }
    }

    // ---- selections --------------------------------------------------------

    fn selection(&mut self, s: &Selection) -> Option<Expr> {
        self.search(&s.node, s.name.span)
    }

    /// A search identifier's value: a map (and), a list (or), or keywords.
    fn search(&mut self, node: &Node, key_span: Span) -> Option<Expr> {
        match &node.kind {
            NodeKind::Map(entries) if entries.is_empty() => self.empty(node.span, "the selection is empty"),
            NodeKind::Map(entries) => {
                let parts: Vec<Option<Expr>> = entries.iter().map(|(k, v)| self.entry(k, v)).collect();
                fold(BinaryOp::And, parts.into_iter().collect::<Option<_>>()?)
            }
            NodeKind::Seq(items) if items.is_empty() => self.empty(node.span, "the selection is an empty list"),
            NodeKind::Seq(items) => {
                let parts: Vec<Option<Expr>> = items
                    .iter()
                    .map(|i| match &i.kind {
                        NodeKind::Map(_) => self.search(i, key_span),
                        NodeKind::Seq(_) => {
                            let d = Diagnostic::new(Code::Schema, "a selection list holds maps or keywords, not lists");
                            self.error(i.span, d);
                            None
                        }
                        _ => self.keyword(i, &[], Match::default()),
                    })
                    .collect();
                fold(BinaryOp::Or, parts.into_iter().collect::<Option<_>>()?)
            }
            NodeKind::Null => self.empty(key_span, "the selection is empty"),
            _ => self.keyword(node, &[], Match::default()),
        }
    }

    fn empty(&mut self, span: Span, message: &str) -> Option<Expr> {
        let d = Diagnostic::new(Code::EmptySelection, message)
            .help("give it at least one `field: value`, or remove it and its use in the condition");
        self.error(span, d);
        None
    }

    /// `field|mod|mod: value(s)`.
    fn entry(&mut self, key: &Node, value: &Node) -> Option<Expr> {
        let Some(key_text) = key.text_as_written(self.file) else {
            let d = Diagnostic::new(
                Code::Schema,
                format!("a detection key must be a field name, found {}", key.type_name()),
            )
            .help("write `field|modifier: value`; a key without a field (`'|contains'`) searches keywords");
            self.error(key.span, d);
            return None;
        };
        let mut parts = key_text.split('|');
        let field = parts.next().unwrap_or_default().to_string();
        let mods = self.modifiers(key, &key_text)?;
        let m = self.match_kind(&mods);
        if field.is_empty() {
            // `'|contains': [...]`: keywords with modifiers.
            let values = self.values(value, key)?;
            let leaves: Vec<Option<Expr>> = values.iter().map(|v| self.keyword(v, &mods, m)).collect();
            let leaves: Vec<Expr> = leaves.into_iter().collect::<Option<_>>()?;
            return fold(if m.all { BinaryOp::And } else { BinaryOp::Or }, leaves);
        }
        let groups = self.resolve_per_table(&field, key.span)?;
        if groups.len() == 1 {
            return self.entry_on(&groups[0].0, key, value, &mods, m);
        }
        // The field is a different column per table: each test reads its
        // column on its tables' records only (`Type` is the table's name).
        let mut parts = Vec::new();
        for (target, tables) in &groups {
            let test = self.entry_on(target, key, value, &mods, m)?;
            let ty =
                Expr { kind: ExprKind::Field(vec![Ident { name: "Type".into(), span: key.span }]), span: key.span };
            let names = tables.iter().map(|t| string_lit(t, key.span)).collect();
            let on = expr(
                ExprKind::In {
                    expr: Box::new(ty),
                    op: InOp::In { negated: false, case_insensitive: false },
                    list: names,
                },
                key.span,
            );
            parts.push(bin(BinaryOp::And, on, test, key.span));
        }
        fold(BinaryOp::Or, parts)
    }

    /// [`Lowerer::entry`] on one resolution of its field.
    fn entry_on(&mut self, target: &Resolved, key: &Node, value: &Node, mods: &[Modifier], m: Match) -> Option<Expr> {
        if m.exists {
            let NodeKind::Bool(want) = value.kind else {
                let d = Diagnostic::new(Code::ModifierValue, "`exists` takes `true` or `false`");
                self.error(value.span, d);
                return None;
            };
            let leaf = self.wrap(target, |op| {
                let test =
                    call(if op.ty == Type::String { "isnotempty" } else { "isnotnull" }, vec![op.expr], value.span);
                Some(test)
            })?;
            return Some(if want { leaf } else { not(leaf) });
        }
        let values = self.values(value, key)?;
        // Values or'ed on a JSON path: one `Any` over their `or`, so the JSON
        // is walked once per record, not once per value (`|all` needs one
        // `Any` per value: each may match another element).
        let once = target.fans_out() && !m.all;
        self.bare = once;
        let mut leaves = Vec::new();
        for v in &values {
            leaves.push(self.value_leaf(target, mods, m, v));
        }
        self.bare = false;
        let leaves: Vec<Expr> = leaves.into_iter().collect::<Option<_>>()?;
        self.nodes += leaves.iter().map(size).sum::<usize>();
        if self.nodes > MAX_NODES {
            return self.too_large(value.span);
        }
        let any = fold(if m.all { BinaryOp::And } else { BinaryOp::Or }, leaves)?;
        let any = if once {
            let span = any.span;
            expr(ExprKind::Any { field: Box::new(target.field()), test: Box::new(any) }, span)
        } else {
            any
        };
        // `neq`: different from the values, all of them (spec v2.1 appendix).
        Some(if m.neq { not(any) } else { any })
    }

    fn too_large(&mut self, span: Span) -> Option<Expr> {
        if !self.errors.iter().any(|d| d.code == Code::DetectionTooLarge) {
            let d = Diagnostic::new(
                Code::DetectionTooLarge,
                format!("the detection is too large: it lowers to more than {MAX_NODES} tests"),
            )
            .help("split the rule, or move long value lists into fewer selections used once each");
            self.error(span, d);
        }
        None
    }

    /// A value or a list of values; an empty list is an error.
    fn values<'n>(&mut self, value: &'n Node, key: &Node) -> Option<Vec<&'n Node>> {
        match &value.kind {
            NodeKind::Seq(items) if items.is_empty() => {
                self.empty(value.span, "the value list is empty")?;
                None
            }
            NodeKind::Seq(items) => {
                if let Some(bad) = items.iter().find(|i| matches!(i.kind, NodeKind::Seq(_) | NodeKind::Map(_))) {
                    let d = Diagnostic::new(
                        Code::ModifierValue,
                        format!(
                            "a value of `{}` is {}, not a scalar",
                            key.text_as_written(self.file).unwrap_or_default(),
                            bad.type_name()
                        ),
                    );
                    self.error(bad.span, d);
                    return None;
                }
                Some(items.iter().collect())
            }
            NodeKind::Map(_) => {
                let d = Diagnostic::new(
                    Code::ModifierValue,
                    format!(
                        "the value of `{}` is a mapping, not a scalar or a list",
                        key.text_as_written(self.file).unwrap_or_default()
                    ),
                );
                self.error(value.span, d);
                None
            }
            _ => Some(vec![value]),
        }
    }

    /// The modifiers of a key, checked.
    fn modifiers(&mut self, key: &Node, text: &str) -> Option<Vec<Modifier>> {
        let mut mods = Vec::new();
        let mut ok = true;
        for name in text.split('|').skip(1) {
            if name.is_empty() {
                let d = Diagnostic::new(Code::UnknownModifier, "an empty modifier: a `|` with no modifier after it")
                    .help("remove the `|`, or name a modifier after it, e.g. `field|contains`");
                self.error(key.span, d);
                ok = false;
                continue;
            }
            match Modifier::from_name(name) {
                Some(m) => mods.push(m),
                None => {
                    let known: Vec<&str> = Modifier::ALL.iter().map(|m| m.name()).collect();
                    let mut d = Diagnostic::new(Code::UnknownModifier, format!("unknown modifier `{name}`"));
                    d = match did_you_mean(name, known.iter().copied()) {
                        Some(s) => d.help(format!("did you mean `{s}`?")),
                        None => d.help(format!("the modifiers are: {}", known.join(", "))),
                    };
                    self.error(key.span, d);
                    ok = false;
                }
            }
        }
        if !ok {
            return None;
        }
        if let Err((message, _)) = value::check_chain(&mods) {
            self.error(key.span, Diagnostic::new(Code::ModifierCombination, message));
            return None;
        }
        Some(mods)
    }

    fn match_kind(&self, mods: &[Modifier]) -> Match {
        let mut m = Match::default();
        for md in mods {
            match md {
                Modifier::Contains => m.contains = true,
                Modifier::StartsWith => m.startswith = true,
                Modifier::EndsWith => m.endswith = true,
                Modifier::Cased => m.cased = true,
                Modifier::All => m.all = true,
                Modifier::Exists => m.exists = true,
                Modifier::Cidr => m.cidr = true,
                Modifier::Re => m.re = Some(m.re.unwrap_or_default()),
                Modifier::ReI => m.re = Some(m.re.map_or((true, false, false), |(_, b, c)| (true, b, c))),
                Modifier::ReM => m.re = Some(m.re.map_or((false, true, false), |(a, _, c)| (a, true, c))),
                Modifier::ReS => m.re = Some(m.re.map_or((false, false, true), |(a, b, _)| (a, b, true))),
                Modifier::Gt => m.cmp = Some(BinaryOp::Gt),
                Modifier::Gte => m.cmp = Some(BinaryOp::Ge),
                Modifier::Lt => m.cmp = Some(BinaryOp::Lt),
                Modifier::Lte => m.cmp = Some(BinaryOp::Le),
                Modifier::Neq => m.neq = true,
                Modifier::FieldRef => m.fieldref = true,
                _ => {}
            }
        }
        m
    }

    /// The leaf for one written value of `target`.
    fn value_leaf(&mut self, target: &Resolved, mods: &[Modifier], m: Match, v: &Node) -> Option<Expr> {
        if matches!(v.kind, NodeKind::Null) && mods.iter().any(|m| !matches!(m, Modifier::Neq | Modifier::All)) {
            return self.bad_value(v, "`null` takes no modifier: it matches an empty or absent value");
        }
        let leaf = match &v.kind {
            NodeKind::Null => self.wrap(target, |op| {
                Some(call(if op.ty == Type::String { "isempty" } else { "isnull" }, vec![op.expr], v.span))
            }),
            _ if m.fieldref => self.fieldref(target, m, v),
            _ if m.cmp.is_some() => self.compare(target, m, v),
            _ if m.cidr => self.cidr(target, v),
            NodeKind::Int(_) | NodeKind::Float(_) if !m.contains && !m.startswith && !m.endswith && m.re.is_none() => {
                self.number(target, v)
            }
            NodeKind::Bool(b) if !m.contains && !m.startswith && !m.endswith && m.re.is_none() => {
                let b = *b;
                let written = v.text_as_written(self.file).unwrap_or_default();
                self.wrap(target, |op| {
                    Some(if op.ty == Type::Bool {
                        let x = op.expr;
                        let eq = bin(BinaryOp::Eq, x.clone(), lit(Literal::Bool(b), v.span), v.span);
                        bin(BinaryOp::And, call("isnotnull", vec![x], v.span), eq, v.span)
                    } else {
                        bin(BinaryOp::EqCi, text_of(op), string_lit(&written, v.span), v.span)
                    })
                })
            }
            _ => {
                let text = v.text_as_written(self.file).unwrap_or_default();
                self.text(target, mods, m, &text, v.span)
            }
        }?;
        Some(leaf)
    }

    /// A string value: its alternatives after the modifiers (wildcards,
    /// `contains` &c., `windash`, `expand`, the encodings), or'ed; or `re`.
    fn text(&mut self, target: &Resolved, mods: &[Modifier], m: Match, text: &str, span: Span) -> Option<Expr> {
        if let Some((i, ml, s)) = m.re {
            let flags: String = [(i, 'i'), (ml, 'm'), (s, 's')].iter().filter(|(on, _)| *on).map(|(_, c)| *c).collect();
            let text = if mods.contains(&Modifier::Expand) { self.expand_regex(text, span)? } else { text.to_string() };
            let pattern = if flags.is_empty() { text } else { format!("(?{flags}){text}") };
            return self
                .wrap(target, |op| Some(bin(BinaryOp::MatchesRegex, text_of(op), string_lit(&pattern, span), span)));
        }
        let alternatives = self.alternatives(text, mods, span)?;
        if alternatives.is_empty() {
            // `expand` of a placeholder with no values: nothing to match.
            return Some(lit(Literal::Bool(false), span));
        }
        if !m.contains && alternatives.iter().any(|p| value::shape(p) == Shape::Any) {
            self.warn(
                span,
                Diagnostic::new(Code::WildcardOnly, "this value is only wildcards: it matches any non-empty value")
                    .help("write `field|exists: true` to say so"),
            );
        }
        let leaves: Vec<Option<Expr>> = alternatives
            .iter()
            .map(|p| self.wrap(target, |op| Some(pattern_leaf(text_of(op), p, m.cased, span))))
            .collect();
        fold(BinaryOp::Or, leaves.into_iter().collect::<Option<_>>()?)
    }

    /// `re|expand`: each `%name%` in the pattern becomes the alternation of
    /// its values, each matched as text (`(?:a|b)`), so the regex stays one.
    fn expand_regex(&mut self, text: &str, span: Span) -> Option<String> {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find('%') {
            let Some(len) = rest[start + 1..].find('%') else { break };
            let name = &rest[start + 1..start + 1 + len];
            if name.is_empty() || name.contains(char::is_whitespace) {
                out.push_str(&rest[..start + 1]);
                rest = &rest[start + 1..];
                continue;
            }
            let Some(values) = self.placeholders.0.get(name) else {
                let d = Diagnostic::new(Code::Placeholder, format!("no values for the placeholder `%{name}%`"))
                    .help("give it values in a placeholders file: `--placeholders FILE` (YAML: `name: [value, ...]`)");
                self.error(span, d);
                return None;
            };
            let alternation: Vec<String> = values.iter().map(|v| regex::escape(v)).collect();
            out.push_str(&rest[..start]);
            out.push_str(&format!("(?:{})", alternation.join("|")));
            rest = &rest[start + 2 + len..];
        }
        out.push_str(rest);
        Some(out)
    }

    /// [`value::apply_modifiers`], its errors located at the value.
    fn alternatives(&mut self, text: &str, mods: &[Modifier], span: Span) -> Option<Vec<Vec<Piece>>> {
        // Modifiers that do not make a pattern are handled by the caller.
        let mods: Vec<Modifier> = mods.iter().copied().filter(|m| !matches!(m, Modifier::FieldRef)).collect();
        let lookup = |name: &str| self.placeholders.0.get(name).cloned();
        match value::apply_modifiers(text, &mods, &lookup) {
            Ok(alternatives) => Some(alternatives),
            Err(message) => {
                let d = if message.contains("placeholder") {
                    Diagnostic::new(Code::Placeholder, message).help(
                        "give it values in a placeholders file: `--placeholders FILE` (YAML: `name: [value, ...]`)",
                    )
                } else {
                    Diagnostic::new(Code::ModifierValue, message)
                };
                self.error(span, d);
                None
            }
        }
    }

    /// `F: 5`: a number compared as a number on number columns, as its text
    /// (`ResultType: 50053` against `"50053"`) on others.
    fn number(&mut self, target: &Resolved, v: &Node) -> Option<Expr> {
        let literal = match v.kind {
            NodeKind::Int(n) => Literal::Long(n),
            NodeKind::Float(f) => Literal::Real(f),
            _ => return None,
        };
        let as_text = v.text_as_written(self.file).unwrap_or_default();
        self.wrap(target, |op| {
            Some(if op.ty.is_numeric() {
                let x = op.expr;
                bin(
                    BinaryOp::And,
                    call("isnotnull", vec![x.clone()], v.span),
                    bin(BinaryOp::Eq, x, lit(literal.clone(), v.span), v.span),
                    v.span,
                )
            } else {
                bin(BinaryOp::EqCi, text_of(op), string_lit(&as_text, v.span), v.span)
            })
        })
    }

    /// `gt`, `gte`, `lt`, `lte`: numbers only.
    fn compare(&mut self, target: &Resolved, m: Match, v: &Node) -> Option<Expr> {
        let n = match &v.kind {
            NodeKind::Int(n) => Literal::Long(*n),
            NodeKind::Float(f) => Literal::Real(*f),
            NodeKind::Str(s) => match s.trim().parse::<f64>() {
                Ok(f) if f.is_finite() => Literal::Real(f),
                _ => return self.bad_value(v, "a comparison modifier takes a number"),
            },
            _ => return self.bad_value(v, "a comparison modifier takes a number"),
        };
        let op = m.cmp?;
        self.wrap(target, |o| {
            let x = if o.ty.is_numeric() { o.expr } else { call("toreal", vec![o.expr], v.span) };
            Some(bin(
                BinaryOp::And,
                call("isnotnull", vec![x.clone()], v.span),
                bin(op, x, lit(n.clone(), v.span), v.span),
                v.span,
            ))
        })
    }

    fn cidr(&mut self, target: &Resolved, v: &Node) -> Option<Expr> {
        let text = v.text_as_written(self.file).unwrap_or_default();
        let f = if crate::functions::parse_v4_range(&text).is_some() {
            "ipv4_is_in_range"
        } else if crate::functions::parse_v6_prefix(&text).is_some() {
            "ipv6_is_match"
        } else {
            return self.bad_value(v, &format!("`{text}` is not a CIDR range such as `10.0.0.0/8` or `2001:db8::/32`"));
        };
        self.wrap(target, |op| {
            let test = call(f, vec![text_of(op), string_lit(&text, v.span)], v.span);
            Some(call("coalesce", vec![test, lit(Literal::Bool(false), v.span)], v.span))
        })
    }

    fn fieldref(&mut self, target: &Resolved, m: Match, v: &Node) -> Option<Expr> {
        let Some(name) = v.as_str() else {
            return self.bad_value(v, "`fieldref` takes the name of another field");
        };
        let other = self.resolve(name, v.span)?;
        let other_expr =
            if other.ty == Type::String { other.field() } else { call("tostring", vec![other.field()], v.span) };
        let cased = m.cased;
        self.wrap(target, |op| {
            let x = text_of(op);
            let y = other_expr.clone();
            Some(if m.contains {
                bin(str_op(StrOp::Contains, cased), x, y, v.span)
            } else if m.startswith {
                bin(str_op(StrOp::StartsWith, cased), x, y, v.span)
            } else if m.endswith {
                bin(str_op(StrOp::EndsWith, cased), x, y, v.span)
            } else {
                bin(if cased { BinaryOp::Eq } else { BinaryOp::EqCi }, x, y, v.span)
            })
        })
    }

    fn bad_value(&mut self, v: &Node, message: &str) -> Option<Expr> {
        self.error(v.span, Diagnostic::new(Code::ModifierValue, message));
        None
    }

    /// The leaf `test` builds on the target's operand; wrapped in an `Any`
    /// when the target is read through JSON.
    fn wrap(&mut self, target: &Resolved, test: impl FnOnce(Operand) -> Option<Expr>) -> Option<Expr> {
        if target.fans_out() {
            let element = Operand { expr: expr(ExprKind::Element, target.span), ty: Type::Dynamic };
            let t = test(element)?;
            if self.bare {
                return Some(t);
            }
            let span = t.span;
            Some(expr(ExprKind::Any { field: Box::new(target.field()), test: Box::new(t) }, span))
        } else {
            test(Operand { expr: target.field(), ty: target.ty })
        }
    }

    /// A keyword: the value searched for in every string and JSON column
    /// (JSON as its text), as `contains` unless the value has its own
    /// wildcards at either end.
    fn keyword(&mut self, v: &Node, mods: &[Modifier], m: Match) -> Option<Expr> {
        if let Some(bad) = mods.iter().find(|m| {
            matches!(
                m,
                Modifier::FieldRef
                    | Modifier::Cidr
                    | Modifier::Exists
                    | Modifier::Gt
                    | Modifier::Gte
                    | Modifier::Lt
                    | Modifier::Lte
                    | Modifier::Re
                    | Modifier::ReI
                    | Modifier::ReM
                    | Modifier::ReS
                    | Modifier::Neq
            )
        }) {
            let d = Diagnostic::new(Code::ModifierCombination, format!("a keyword (a value without a field) cannot take `{}`", bad.name()))
                .help("keywords take the string modifiers: contains, startswith, endswith, all, cased, the encodings, windash, expand");
            self.error(v.span, d);
            return None;
        }
        let Some(text) = v.text_as_written(self.file) else {
            return self.bad_value(v, "a keyword is a string");
        };
        let mut columns: Vec<(String, Type)> = Vec::new();
        for t in &self.tables {
            for c in &t.columns {
                if matches!(c.ty, Type::String | Type::Dynamic) && !columns.iter().any(|(n, _)| *n == c.name) {
                    columns.push((c.name.clone(), c.ty));
                }
            }
        }
        let has_match =
            mods.iter().any(|m| matches!(m, Modifier::Contains | Modifier::StartsWith | Modifier::EndsWith));
        let mut mods = mods.to_vec();
        if !has_match && m.re.is_none() {
            mods.push(Modifier::Contains);
        }
        let alternatives = self.alternatives(&text, &mods, v.span)?;
        self.nodes += 3 * columns.len() * alternatives.len();
        if self.nodes > MAX_NODES {
            return self.too_large(v.span);
        }
        let mut leaves = Vec::new();
        for (name, ty) in columns {
            let field = Expr { kind: ExprKind::Field(vec![Ident { name, span: v.span }]), span: v.span };
            let x = if ty == Type::String { field } else { call("tostring", vec![field], v.span) };
            for p in &alternatives {
                leaves.push(pattern_leaf(x.clone(), p, m.cased, v.span));
            }
        }
        fold(BinaryOp::Or, leaves)
    }

    // ---- condition ---------------------------------------------------------

    fn condition(&mut self, c: &Cond, selections: &[Selection], lowered: &[Option<Expr>]) -> Option<Expr> {
        match &c.kind {
            CondKind::And(a, b) | CondKind::Or(a, b) => {
                let op = if matches!(c.kind, CondKind::And(..)) { BinaryOp::And } else { BinaryOp::Or };
                let (a, b) = (self.condition(a, selections, lowered), self.condition(b, selections, lowered));
                Some(bin(op, a?, b?, c.span))
            }
            CondKind::Not(x) => Some(not(self.condition(x, selections, lowered)?)),
            CondKind::Name(name) => match selections.iter().position(|s| s.name.value == *name) {
                Some(i) => {
                    // Each use is a copy: counted against the budget first.
                    self.nodes += lowered[i].as_ref().map_or(0, size);
                    if self.nodes > MAX_NODES {
                        return self.too_large(c.span);
                    }
                    lowered[i].clone()
                }
                None => {
                    let names = selections.iter().map(|s| s.name.value.as_str());
                    let mut d = Diagnostic::new(Code::UnknownSelection, format!("unknown selection `{name}`"));
                    d = match did_you_mean(name, names) {
                        Some(s) => d.help(format!("did you mean `{s}`?")),
                        None => d.help("name a key of `detection`"),
                    };
                    self.error(c.span, d);
                    None
                }
            },
            CondKind::Of { all, pattern } => {
                let chosen: Vec<usize> =
                    (0..selections.len()).filter(|&i| selects(pattern.as_deref(), &selections[i].name.value)).collect();
                if chosen.is_empty() {
                    let what = pattern.as_deref().unwrap_or("them");
                    let d = Diagnostic::new(Code::UnknownSelection, format!("`{what}` matches no selection"))
                        .help("a pattern such as `selection*` matches selection names by prefix");
                    self.error(c.span, d);
                    return None;
                }
                self.nodes += chosen.iter().map(|&i| lowered[i].as_ref().map_or(0, size)).sum::<usize>();
                if self.nodes > MAX_NODES {
                    return self.too_large(c.span);
                }
                let parts: Vec<Expr> = chosen.iter().filter_map(|&i| lowered[i].clone()).collect();
                if parts.len() < chosen.len() {
                    return None;
                }
                let parts: Vec<Expr> = parts
                    .into_iter()
                    .map(|mut p| {
                        p.span = c.span;
                        p
                    })
                    .collect();
                fold(if *all { BinaryOp::And } else { BinaryOp::Or }, parts)
            }
        }
    }

    /// W510 for each selection the condition never reaches.
    fn unused(&mut self, rule: &SigmaRule) {
        let mut used = vec![false; rule.selections.len()];
        rule.condition.walk(&mut |c| match &c.kind {
            CondKind::Name(n) => {
                if let Some(i) = rule.selections.iter().position(|s| s.name.value == *n) {
                    used[i] = true;
                }
            }
            CondKind::Of { pattern, .. } => {
                for (i, s) in rule.selections.iter().enumerate() {
                    used[i] |= selects(pattern.as_deref(), &s.name.value);
                }
            }
            _ => {}
        });
        for (s, used) in rule.selections.iter().zip(used) {
            if !used {
                let d = Diagnostic::new(
                    Code::UnusedSelection,
                    format!("selection `{}` is not used by the condition", s.name.value),
                )
                .help("use it in `condition`, or remove it");
                self.warn(s.name.span, d);
            }
        }
    }

    // ---- output ------------------------------------------------------------

    /// The `fields:` list, resolved; else `TimeGenerated` and the columns
    /// the detection reads.
    fn output(&mut self, rule: &SigmaRule) -> Vec<(Ident, Expr)> {
        let mut names: Vec<String> = Vec::new();
        let has = |tables: &[&TableDef], c: &str| tables.iter().any(|t| t.column(c).is_some());
        if has(&self.tables, "TimeGenerated") {
            names.push("TimeGenerated".to_string());
        }
        if rule.fields.is_empty() {
            names.extend(self.read.iter().cloned());
        } else {
            for f in &rule.fields {
                match self.tables.iter().find_map(|t| resolve_on(self.catalog, t, &f.value, f.span)) {
                    Some(r) => names.push(r.column),
                    None => {
                        let mut d = Diagnostic::new(
                            Code::UnknownTriageField,
                            format!("field `{}` in `fields` matches no column; alerts leave it out", f.value),
                        );
                        let candidates = self.tables.iter().flat_map(|t| t.columns.iter().map(|c| c.name.as_str()));
                        if let Some(s) = did_you_mean(without_properties(&f.value), candidates) {
                            d = d.help(format!("did you mean `{s}`?"));
                        }
                        self.warn(f.span, d);
                    }
                }
            }
        }
        let mut seen = Vec::new();
        names.retain(|n| {
            let new = !seen.contains(n);
            seen.push(n.clone());
            new
        });
        let span = rule.detection_span;
        names
            .into_iter()
            .map(|n| {
                let id = Ident { name: n.clone(), span };
                (id.clone(), expr(ExprKind::Field(vec![id]), span))
            })
            .collect()
    }
}

/// The operand as a string: number and other columns through `tostring`.
fn text_of(op: Operand) -> Expr {
    if matches!(op.ty, Type::String | Type::Dynamic) {
        op.expr
    } else {
        let span = op.expr.span;
        call("tostring", vec![op.expr], span)
    }
}

/// The test of string operand `x` against one pattern.
fn pattern_leaf(x: Expr, pieces: &[Piece], cased: bool, span: Span) -> Expr {
    match value::shape(pieces) {
        Shape::Exact(s) => bin(if cased { BinaryOp::Eq } else { BinaryOp::EqCi }, x, string_lit(&s, span), span),
        Shape::Contains(s) => bin(str_op(StrOp::Contains, cased), x, string_lit(&s, span), span),
        Shape::StartsWith(s) => bin(str_op(StrOp::StartsWith, cased), x, string_lit(&s, span), span),
        Shape::EndsWith(s) => bin(str_op(StrOp::EndsWith, cased), x, string_lit(&s, span), span),
        Shape::Any => call("isnotempty", vec![x], span),
        Shape::Regex => bin(BinaryOp::MatchesRegex, x, string_lit(&value::to_regex(pieces, !cased), span), span),
    }
}

/// [`Lowerer::resolve`] on one table: [`crate::sigma::logsource::Logsources::resolve`],
/// and a path only into a column that can hold JSON.
fn resolve_on(catalog: &Catalog, table: &TableDef, field: &str, span: Span) -> Option<Resolved> {
    let found = catalog.logsources.resolve(table, field)?;
    let col = table.column(&found.column)?;
    if found.path.iter().any(String::is_empty)
        || (!found.path.is_empty() && !matches!(col.ty, Type::Dynamic | Type::String))
    {
        return None;
    }
    Some(Resolved { column: col.name.clone(), path: found.path, ty: col.ty, span })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sigma::load;
    use crate::yaml;

    fn lowered(detection: &str) -> Result<RuleDoc, Vec<String>> {
        let text = format!(
            "title: t\nid: 5f0fd1a1-3f2a-4b4e-9c8a-0d6f2b1c7e11\nlevel: low\nlogsource:\n  product: azure\n  service: auditlogs\ndetection:\n{detection}"
        );
        let file = SourceFile::new("r.yml", text);
        let root = yaml::parse(&file).unwrap();
        let (rule, errors) = load::load(&file, &root);
        assert_eq!(errors.len(), 0, "{errors:?}");
        lower(&rule.unwrap(), &Catalog::builtin()).map(|(doc, _)| doc).map_err(|errors| {
            errors
                .iter()
                .map(|d| {
                    let (l, c) = d.line_col().unwrap();
                    format!("{l}:{c} {} {}", d.code.as_str(), d.message)
                })
                .collect()
        })
    }

    fn depth(e: &Expr) -> usize {
        match &e.kind {
            ExprKind::Binary(_, a, b) => 1 + depth(a).max(depth(b)),
            ExprKind::Unary(_, a) => 1 + depth(a),
            ExprKind::Any { test, .. } => 1 + depth(test),
            _ => 1,
        }
    }

    fn filter(doc: &RuleDoc) -> &Expr {
        &doc.correlation.filters[0].1
    }

    #[test]
    fn long_value_lists_nest_shallowly() {
        let values: String = (0..100_000).map(|i| format!("      - v{i}\n")).collect();
        let doc = lowered(&format!("  sel:\n    OperationName|contains:\n{values}  condition: sel\n")).unwrap();
        assert!(depth(filter(&doc)) <= 20, "depth {}", depth(filter(&doc)));
    }

    #[test]
    fn the_rule_reads_the_mapped_tables_and_outputs_what_it_reads() {
        let doc = lowered("  sel:\n    properties.message: Add user\n  condition: sel\n").unwrap();
        let source = &doc.correlation.sources[0];
        assert_eq!(source.alias.name, ALIAS);
        assert_eq!(source.tables.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["AuditLogs"]);
        let outputs: Vec<&str> = doc.correlation.output.iter().map(|(n, _)| n.name.as_str()).collect();
        assert_eq!(outputs, ["TimeGenerated", "OperationName"], "the alias resolves `properties.message`");
        assert_eq!(doc.kind, RuleKind::Sigma);
    }

    #[test]
    fn paths_into_json_read_any_element() {
        let doc =
            lowered("  sel:\n    TargetResources.modifiedProperties.newValue|contains: x\n  condition: sel\n").unwrap();
        let ExprKind::Any { field, test } = &filter(&doc).kind else { panic!("{:?}", filter(&doc)) };
        let ExprKind::Field(parts) = &field.kind else { panic!("{field:?}") };
        let names: Vec<&str> = parts.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["TargetResources", "modifiedProperties", "newValue"]);
        assert!(
            matches!(&test.kind, ExprKind::Binary(BinaryOp::Str { op: StrOp::Contains, .. }, l, _) if l.kind == ExprKind::Element)
        );
    }

    #[test]
    fn errors_are_located() {
        let errors =
            lowered("  sel:\n    OperationNam: x\n    Result|contians: y\n  condition: sel and other\n").unwrap_err();
        assert_eq!(
            errors,
            [
                "9:5 E202 field `OperationNam` matches no column of table `AuditLogs`",
                "10:5 E110 unknown modifier `contians`",
                "11:22 E113 unknown selection `other`",
            ]
        );
    }
}
