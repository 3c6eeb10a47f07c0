//! Check: resolve every name in a [`RuleDoc`] against the table catalog and
//! give every expression a type, producing a [`CheckedRule`] whose
//! expressions ([`TExpr`]) the evaluator and the query backends both use.

use std::sync::Arc;

use crate::ast::{BinaryOp, Expr, ExprKind, Ident, InOp, Literal, UnaryOp};
use crate::diagnostic::{Code, Diagnostic, did_you_mean};
use crate::functions::Func;
use crate::rule::RuleDoc;
use crate::span::{SourceFile, Span};
use crate::table::{Catalog, TableDef};
use crate::types::Type;

/// A typed, resolved expression.
#[derive(Debug, Clone)]
pub struct TExpr {
    pub kind: TKind,
    pub ty: Type,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub enum TKind {
    Literal(Literal),
    Column(ColumnRef),
    Unary(UnaryOp, Box<TExpr>),
    Binary(BinaryOp, Box<TExpr>, Box<TExpr>),
    /// `expr matches regex "pattern"`; the pattern is a literal, compiled once.
    Regex {
        expr: Box<TExpr>,
        pattern: String,
        regex: Arc<regex::Regex>,
    },
    Between {
        expr: Box<TExpr>,
        low: Box<TExpr>,
        high: Box<TExpr>,
        negated: bool,
    },
    In {
        expr: Box<TExpr>,
        op: InOp,
        list: Vec<TExpr>,
    },
    Call(Func, Vec<TExpr>),
    List(Vec<TExpr>),
    /// [`crate::ast::ExprKind::Any`]: `values` is a column with a path (or a
    /// dynamic column); `test` holds for one of the values it reaches.
    Any {
        values: Box<TExpr>,
        test: Box<TExpr>,
    },
    /// The value an enclosing `Any` is testing.
    Element,
    /// Keys into a dynamic value computed by `expr` (see [`crate::ast::ExprKind::Member`]).
    Member {
        expr: Box<TExpr>,
        path: Vec<String>,
    },
    /// `ipv4_is_in_any_range(expr, ...)` over constant ranges (strings, `let`
    /// lists): merged once, looked up by binary search.
    Ipv4Ranges {
        expr: Box<TExpr>,
        ranges: Arc<crate::functions::V4Ranges>,
        /// The ranges as written, for the compiled queries.
        texts: Arc<Vec<String>>,
    },
}

/// A column of one of the rule's sources, possibly with a path into it.
#[derive(Debug, Clone)]
pub struct ColumnRef {
    /// Index into [`CheckedRule::sources`].
    pub source: usize,
    pub column: String,
    /// Keys into a dynamic (JSON) value: `LocationDetails.city` → `["city"]`.
    pub path: Vec<String>,
    /// The column's slot in the run's column numbering; set by the planner.
    pub id: u32,
}

impl TExpr {
    pub fn walk<'a>(&'a self, f: &mut impl FnMut(&'a TExpr)) {
        f(self);
        match &self.kind {
            TKind::Literal(_) | TKind::Column(_) | TKind::Element => {}
            TKind::Unary(_, e)
            | TKind::Regex { expr: e, .. }
            | TKind::Member { expr: e, .. }
            | TKind::Ipv4Ranges { expr: e, .. } => e.walk(f),
            TKind::Any { values, test } => {
                values.walk(f);
                test.walk(f);
            }
            TKind::Binary(_, l, r) => {
                l.walk(f);
                r.walk(f);
            }
            TKind::Between { expr, low, high, .. } => {
                expr.walk(f);
                low.walk(f);
                high.walk(f);
            }
            TKind::In { expr, list, .. } => {
                expr.walk(f);
                list.iter().for_each(|e| e.walk(f));
            }
            TKind::Call(_, args) | TKind::List(args) => args.iter().for_each(|e| e.walk(f)),
        }
    }

    pub fn walk_mut(&mut self, f: &mut impl FnMut(&mut TExpr)) {
        f(self);
        match &mut self.kind {
            TKind::Literal(_) | TKind::Column(_) | TKind::Element => {}
            TKind::Unary(_, e)
            | TKind::Regex { expr: e, .. }
            | TKind::Member { expr: e, .. }
            | TKind::Ipv4Ranges { expr: e, .. } => e.walk_mut(f),
            TKind::Any { values, test } => {
                values.walk_mut(f);
                test.walk_mut(f);
            }
            TKind::Binary(_, l, r) => {
                l.walk_mut(f);
                r.walk_mut(f);
            }
            TKind::Between { expr, low, high, .. } => {
                expr.walk_mut(f);
                low.walk_mut(f);
                high.walk_mut(f);
            }
            TKind::In { expr, list, .. } => {
                expr.walk_mut(f);
                list.iter_mut().for_each(|e| e.walk_mut(f));
            }
            TKind::Call(_, args) | TKind::List(args) => args.iter_mut().for_each(|e| e.walk_mut(f)),
        }
    }

    /// The sources this expression reads.
    pub fn sources(&self) -> Vec<usize> {
        let mut out = Vec::new();
        self.walk(&mut |e| {
            if let TKind::Column(c) = &e.kind
                && !out.contains(&c.source)
            {
                out.push(c.source);
            }
        });
        out
    }

    /// The column this expression is, if it is a bare column reference.
    pub fn as_column(&self) -> Option<&ColumnRef> {
        match &self.kind {
            TKind::Column(c) => Some(c),
            _ => None,
        }
    }
}

/// A rule whose names and types are all known to be right.
#[derive(Debug, Clone)]
pub struct CheckedRule {
    pub doc: RuleDoc,
    pub sources: Vec<Source>,
    /// Equalities `left == right`; `left` reads source 0, `right` source 1.
    pub join: Vec<JoinKey>,
    pub mismatch: Option<TExpr>,
    /// What an alert shows: `output[..shown]`. The outputs past `shown` are
    /// read by the correlations that reference the rule (their `group-by`
    /// and `field`), not written.
    pub output: Vec<Output>,
    /// `kind: leftanti`: the alerts are source 0's records that join no
    /// record of source 1 for which `mismatch` (if any) holds.
    pub anti: bool,
    pub shown: usize,
    /// The event time of an alert (its first source's `TimeGenerated`),
    /// when a correlation references the rule.
    pub time: Option<TExpr>,
    /// A Sigma correlation rule: no sources; its alerts are made from the
    /// alerts of the rules it references ([`crate::correlate`]).
    pub correlation: Option<Box<crate::correlate::Spec>>,
}

impl CheckedRule {
    /// The outputs an alert shows.
    pub fn shown_output(&self) -> &[Output] {
        &self.output[..self.shown]
    }

    pub fn id(&self) -> &str {
        &self.doc.id.value
    }
    pub fn title(&self) -> &str {
        &self.doc.title.value
    }
    pub fn level(&self) -> &str {
        &self.doc.level.value
    }
    pub fn file(&self) -> &Arc<SourceFile> {
        &self.doc.file
    }
}

#[derive(Debug, Clone)]
pub struct Source {
    pub alias: String,
    /// One table, or several read as a union.
    pub tables: Vec<String>,
    pub filter: Option<TExpr>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct JoinKey {
    pub left: TExpr,
    pub right: TExpr,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Output {
    pub name: String,
    pub expr: TExpr,
}

/// The strings `args` hold, each with its span, when every one is a string
/// literal or a list of them (a `let` list): constant ranges.
fn constant_texts(args: &[TExpr]) -> Option<Vec<(String, Span)>> {
    let mut texts = Vec::new();
    for a in args {
        let items = match &a.kind {
            TKind::List(items) => items.as_slice(),
            _ => std::slice::from_ref(a),
        };
        for i in items {
            match &i.kind {
                TKind::Literal(Literal::String(t)) => texts.push((t.clone(), i.span)),
                _ => return None,
            }
        }
    }
    Some(texts)
}

/// Checks one rule. On success, also returns warnings.
pub fn check(doc: &RuleDoc, catalog: &Catalog) -> Result<(CheckedRule, Vec<Diagnostic>), Vec<Diagnostic>> {
    let mut cx = Checker { file: &doc.file, errors: Vec::new(), sources: Vec::new(), lets: Vec::new() };
    cx.lets = crate::lookup::load(doc, &mut cx.errors);
    let corr = &doc.correlation;

    // Sources and their tables.
    if corr.sources.is_empty() || corr.sources.len() > 2 {
        cx.error(
            Diagnostic::new(
                Code::SourceCount,
                format!("a rule reads one or two sources, this one declares {}", corr.sources.len()),
            )
            .help("a single-table rule has one source; a correlation joins two"),
            corr.span,
        );
    }
    for decl in &corr.sources {
        if cx.sources.iter().any(|s| s.alias == decl.alias.name) {
            cx.error(
                Diagnostic::new(Code::Schema, format!("source `{}` is declared twice", decl.alias.name)),
                decl.alias.span,
            );
        }
        let mut tables = Vec::new();
        for t in &decl.tables {
            match catalog.get(&t.name) {
                Some(def) => tables.push(def),
                None => {
                    let mut d = Diagnostic::new(Code::UnknownTable, format!("unknown table `{}`", t.name));
                    d = match catalog.suggest(&t.name) {
                        Some(h) => d.help(h),
                        None => d.help("add a definition under tables/, or pass --tables DIR"),
                    };
                    cx.error(d, t.span);
                }
            }
        }
        cx.sources.push(SourceInfo { alias: decl.alias.name.clone(), tables, span: decl.alias.span });
    }
    let two = cx.sources.len() == 2;

    // A `let` name may not hide a source alias or a column: `AppId in (AppId)`
    // would read the list where the column was meant.
    for l in &corr.lets {
        let alias = cx.sources.iter().any(|s| s.alias == l.name.name);
        let column =
            cx.sources.iter().flat_map(|s| s.tables.iter()).find_map(|t| t.column(&l.name.name).map(|_| &t.name));
        if alias || column.is_some() {
            let what = match column {
                Some(t) => format!("a column of `{t}`"),
                None => "a source alias".to_string(),
            };
            cx.error(
                Diagnostic::new(Code::Lookup, format!("`let {}` has the name of {what}", l.name.name))
                    .help("name the list for what it holds, e.g. `known_apps` or `egress_ranges`"),
                l.name.span,
            );
        }
    }
    // Filters: each reads only its own source.
    let mut filters: Vec<Option<TExpr>> = vec![None; cx.sources.len()];
    for (alias, expr) in &corr.filters {
        let Some(idx) = cx.sources.iter().position(|s| s.alias == alias.name) else {
            let d = cx.unknown_source(alias);
            cx.error(d, alias.span);
            continue;
        };
        if let Some(t) = cx.boolean(expr, &Scope { default: Some(idx), only: Some(idx) }, "filter") {
            filters[idx] = Some(t);
        }
    }

    // Join and mismatch.
    let pair_scope = Scope { default: (!two).then_some(0), only: None };
    let mut join = Vec::new();
    match (&corr.join, two) {
        (Some(j), true) => join = cx.join_keys(j, &pair_scope),
        (None, true) => cx.error(
            Diagnostic::new(Code::MissingJoin, "a rule with two sources needs a `join`")
                .help(format!("e.g. `join: {}.<column> == {}.<column>`", cx.sources[0].alias, cx.sources[1].alias)),
            corr.span,
        ),
        (Some(j), false) => cx.error(
            Diagnostic::new(Code::JoinShape, "a `join` needs two sources")
                .help("remove `join`, or declare the second source"),
            j.span,
        ),
        (None, false) => {}
    }
    let mismatch = match (&corr.mismatch, two) {
        (Some(m), true) => cx.boolean(m, &pair_scope, "mismatch"),
        (Some(m), false) => {
            cx.error(
                Diagnostic::new(Code::MismatchWithoutJoin, "`mismatch` compares two joined sources; this rule has one")
                    .help("put the condition in the source's `filter`"),
                m.span,
            );
            None
        }
        (None, _) => None,
    };
    let output: Vec<Output> = corr
        .output
        .iter()
        .filter_map(|(name, expr)| Some(Output { name: name.name.clone(), expr: cx.expr(expr, &pair_scope)? }))
        .collect();
    if let Some(at) = corr.anti {
        if !two {
            cx.error(
                Diagnostic::new(Code::JoinShape, "`kind: leftanti` needs two sources")
                    .help("the first source's records that join no record of the second"),
                at,
            );
        }
        // An anti-join's alert has no record of the second source to read.
        for o in &output {
            let mut second = None;
            o.expr.walk(&mut |e| {
                if let TKind::Column(c) = &e.kind
                    && c.source == 1
                {
                    second.get_or_insert(e.span);
                }
            });
            if let (Some(span), true) = (second, two) {
                let alias = &cx.sources[1].alias;
                cx.error(
                    Diagnostic::new(
                        Code::WrongSource,
                        format!("output `{}` reads `{alias}`, which an anti-join's alerts have no record of", o.name),
                    )
                    .help(format!("output only `{}`'s columns", cx.sources[0].alias)),
                    span,
                );
            }
        }
    }

    // No check here warns today; the metadata warnings (W503, W504) are in `lint`.
    let warnings = Vec::new();

    if !cx.errors.is_empty() {
        return Err(cx.errors);
    }
    let sources = cx
        .sources
        .iter()
        .zip(filters)
        .map(|(s, filter)| Source {
            alias: s.alias.clone(),
            tables: s.tables.iter().map(|t| t.name.clone()).collect(),
            filter,
            span: s.span,
        })
        .collect();
    let anti = corr.anti.is_some();
    let shown = output.len();
    Ok((
        CheckedRule { doc: doc.clone(), sources, join, mismatch, output, anti, shown, time: None, correlation: None },
        warnings,
    ))
}

struct SourceInfo<'c> {
    alias: String,
    tables: Vec<&'c TableDef>,
    span: Span,
}

/// Which source an unqualified field reads, and which sources may be read.
struct Scope {
    default: Option<usize>,
    only: Option<usize>,
}

struct Checker<'c> {
    file: &'c Arc<SourceFile>,
    errors: Vec<Diagnostic>,
    sources: Vec<SourceInfo<'c>>,
    /// The rule's `let` names and their values.
    lets: Vec<(String, Arc<Vec<String>>)>,
}

type Check<T> = Option<T>;

impl<'c> Checker<'c> {
    fn error(&mut self, d: Diagnostic, span: Span) {
        self.errors.push(d.at(self.file, span));
    }

    fn unknown_source(&self, alias: &Ident) -> Diagnostic {
        let aliases: Vec<&str> = self.sources.iter().map(|s| s.alias.as_str()).collect();
        let d = Diagnostic::new(Code::UnknownSource, format!("unknown source `{}`", alias.name));
        match did_you_mean(&alias.name, aliases.iter().copied()) {
            Some(s) => d.help(format!("did you mean `{s}`?")),
            None => d.help(format!("the sources are: {}", aliases.join(", "))),
        }
    }

    /// Whether `name` is a column of the scope's default source: then
    /// `name.x` is a path into that column, not a source alias.
    fn is_column_of_default(&self, name: &Ident, scope: &Scope) -> bool {
        scope.default.is_some_and(|i| self.sources[i].tables.iter().any(|t| t.column(&name.name).is_some()))
    }

    fn boolean(&mut self, e: &Expr, scope: &Scope, what: &str) -> Check<TExpr> {
        let t = self.expr(e, scope)?;
        if !t.ty.fits(Type::Bool) {
            self.error(
                Diagnostic::new(
                    Code::NotBoolean,
                    format!("`{what}` must be a boolean expression, this is {}", self.a_type(&t)),
                )
                .help("compare it with something, e.g. `x == \"...\"` or `isnotempty(x)`"),
                e.span,
            );
            return None;
        }
        Some(t)
    }

    fn type_error(&mut self, span: Span, message: String, help: Option<String>) {
        let mut d = Diagnostic::new(Code::TypeMismatch, message);
        if let Some(h) = help {
            d = d.help(h);
        }
        self.error(d, span);
    }

    fn expr(&mut self, e: &Expr, scope: &Scope) -> Check<TExpr> {
        let (kind, ty) = match &e.kind {
            ExprKind::Literal(l) => (TKind::Literal(l.clone()), literal_type(l)),
            // A `let` name (unless a source has it as alias): its list.
            ExprKind::Field(parts)
                if parts.len() == 1
                    && !self.sources.iter().any(|s| s.alias == parts[0].name)
                    && let Some((_, items)) = self.lets.iter().find(|(n, _)| *n == parts[0].name) =>
            {
                let items = items.iter().map(|t| TExpr {
                    kind: TKind::Literal(Literal::String(t.clone())),
                    ty: Type::String,
                    span: e.span,
                });
                (TKind::List(items.collect()), Type::List)
            }
            ExprKind::Field(parts) => {
                let (c, ty) = self.field(parts, scope, e.span)?;
                (TKind::Column(c), ty)
            }
            ExprKind::Unary(op, inner) => {
                let t = self.expr(inner, scope)?;
                let ty = match op {
                    UnaryOp::Not => {
                        self.want(&t, Type::Bool, "`not`")?;
                        Type::Bool
                    }
                    UnaryOp::Neg => {
                        if !(t.ty.is_numeric() || matches!(t.ty, Type::Timespan | Type::Dynamic | Type::Null)) {
                            self.type_error(t.span, format!("cannot negate {}", self.a_type(&t)), None);
                            return None;
                        }
                        t.ty
                    }
                };
                (TKind::Unary(*op, Box::new(t)), ty)
            }
            ExprKind::Binary(op, l, r) => {
                let (l, r) = (self.expr(l, scope), self.expr(r, scope));
                let (l, r) = (l?, r?);
                if *op == BinaryOp::MatchesRegex {
                    return self.regex(l, r, e.span);
                }
                let ty = self.binary_type(*op, &l, &r, e.span)?;
                (TKind::Binary(*op, Box::new(l), Box::new(r)), ty)
            }
            ExprKind::Between { expr, low, high, negated } => {
                let (x, lo, hi) = (self.expr(expr, scope), self.expr(low, scope), self.expr(high, scope));
                let (x, lo, hi) = (x?, lo?, hi?);
                if !(x.ty.is_numeric() || matches!(x.ty, Type::DateTime | Type::Timespan | Type::Dynamic | Type::Null))
                {
                    self.type_error(
                        x.span,
                        format!("`between` needs a number, datetime or timespan, this is {}", self.a_type(&x)),
                        (x.ty == Type::String)
                            .then(|| "convert it first, e.g. `tolong(x) between (1 .. 9)`".to_string()),
                    );
                    return None;
                }
                // Kusto's `T between (datetime(2026-07-16) .. 3d)`: a timespan
                // upper bound of a datetime range is added to the lower bound.
                let span_high = hi.ty == Type::Timespan && x.ty.fits(Type::DateTime) && lo.ty.fits(Type::DateTime);
                for (bound, span_ok) in [(&lo, false), (&hi, span_high)] {
                    if !bound.ty.comparable_with(x.ty) && !span_ok {
                        let help = (x.ty == Type::DateTime && bound.ty == Type::Timespan).then(|| {
                            "a timespan is an upper bound only, after a datetime lower bound: `x between (datetime(2026-07-16) .. 3d)`"
                                .to_string()
                        });
                        self.type_error(
                            bound.span,
                            format!("`between` bound is {}, the value {}", self.a_type(bound), self.a_type(&x)),
                            help,
                        );
                        return None;
                    }
                }
                (
                    TKind::Between { expr: Box::new(x), low: Box::new(lo), high: Box::new(hi), negated: *negated },
                    Type::Bool,
                )
            }
            ExprKind::In { expr, op, list } => {
                let x = self.expr(expr, scope);
                let items: Vec<_> = list.iter().map(|i| self.expr(i, scope)).collect();
                let x = x?;
                // A list among the items is its items (Kusto expands a dynamic array, a `let` list).
                let items: Vec<TExpr> = items
                    .into_iter()
                    .collect::<Option<Vec<_>>>()?
                    .into_iter()
                    .flat_map(|i| match i.kind {
                        TKind::List(inner) => inner,
                        _ => vec![i],
                    })
                    .collect();
                // An empty list (an empty `let`): `in` and `has_any` hold for nothing, `!in` and
                // `has_all` for everything; no target writes `in ()`.
                if items.is_empty() {
                    let holds = matches!(op, InOp::HasAll | InOp::In { negated: true, .. });
                    return Some(TExpr { kind: TKind::Literal(Literal::Bool(holds)), ty: Type::Bool, span: e.span });
                }
                let needs_string = matches!(op, InOp::HasAny | InOp::HasAll | InOp::In { case_insensitive: true, .. });
                if needs_string {
                    self.want(&x, Type::String, "this operator")?;
                }
                for item in &items {
                    let ok = match item.ty {
                        Type::List => true,
                        t => t.comparable_with(x.ty) || (needs_string && t.fits(Type::String)),
                    };
                    if !ok {
                        let message = format!("list item is {}, the value {}", self.a_type(item), self.a_type(&x));
                        self.type_error(item.span, message, None);
                        return None;
                    }
                }
                (TKind::In { expr: Box::new(x), op: *op, list: items }, Type::Bool)
            }
            ExprKind::Call { name, args } => return self.call(name, args, scope, e.span),
            ExprKind::List(items) => {
                let items: Vec<_> = items.iter().map(|i| self.expr(i, scope)).collect();
                (TKind::List(items.into_iter().collect::<Option<_>>()?), Type::List)
            }
            ExprKind::Any { field, test } => {
                let values = self.expr(field, scope);
                let test = self.boolean(test, scope, "test");
                (TKind::Any { values: Box::new(values?), test: Box::new(test?) }, Type::Bool)
            }
            ExprKind::Element => (TKind::Element, Type::Dynamic),
            ExprKind::Member { expr, path } => {
                let x = self.expr(expr, scope)?;
                if !matches!(x.ty, Type::Dynamic | Type::String | Type::Null) {
                    self.type_error(
                        x.span,
                        format!("only a dynamic (JSON) value has keys, this is a {}", x.ty),
                        Some("read JSON text with `parse_json(...)` first".to_string()),
                    );
                    return None;
                }
                (TKind::Member { expr: Box::new(x), path: path.clone() }, Type::Dynamic)
            }
        };
        Some(TExpr { kind, ty, span: e.span })
    }

    fn want(&mut self, t: &TExpr, ty: Type, what: &str) -> Check<()> {
        if t.ty.fits(ty) {
            return Some(());
        }
        self.type_error(t.span, format!("{what} needs a {ty}, this is {}", self.a_type(t)), None);
        None
    }

    /// The type of `t` as a message names it: a column's as its table
    /// declares it (`int`, `guid`), anything else's by Kusto's name (`long`).
    fn type_name(&self, t: &TExpr) -> String {
        if let TKind::Column(c) = &t.kind
            && c.path.is_empty()
            && let Some(col) =
                self.sources.get(c.source).and_then(|s| s.tables.iter().find_map(|table| table.column(&c.column)))
        {
            return col.declared.clone();
        }
        t.ty.to_string()
    }

    /// [`Checker::type_name`] with its article: `an int`, `a string`.
    fn a_type(&self, t: &TExpr) -> String {
        with_article(&self.type_name(t))
    }

    fn field(&mut self, parts: &[Ident], scope: &Scope, span: Span) -> Check<(ColumnRef, Type)> {
        let head = &parts[0];
        let aliased = self.sources.iter().position(|s| s.alias == head.name);
        let (source, column, rest) = match aliased {
            Some(i) if parts.len() >= 2 => (i, &parts[1], &parts[2..]),
            Some(_) => {
                self.error(
                    Diagnostic::new(Code::UnknownColumn, format!("`{}` is a source, not a column", head.name))
                        .help(format!("name a column of it, e.g. `{}.TimeGenerated`", head.name)),
                    head.span,
                );
                return None;
            }
            None if parts.len() >= 2 && !self.is_column_of_default(head, scope) => {
                let d = self.unknown_source(head);
                self.error(d, head.span);
                return None;
            }
            None => match scope.default {
                Some(i) => (i, head, &parts[1..]),
                None => {
                    let aliases: Vec<_> = self.sources.iter().map(|s| format!("`{}.{}`", s.alias, head.name)).collect();
                    self.error(
                        Diagnostic::new(
                            Code::Unqualified,
                            format!("`{}` does not say which source it reads", head.name),
                        )
                        .help(format!("write {}", aliases.join(" or "))),
                        head.span,
                    );
                    return None;
                }
            },
        };
        if let Some(only) = scope.only
            && source != only
        {
            self.error(
                Diagnostic::new(
                    Code::WrongSource,
                    format!(
                        "the filter of `{}` reads source `{}`",
                        self.sources[only].alias, self.sources[source].alias
                    ),
                )
                .help("a filter reads only its own source; compare across sources in `mismatch`"),
                span,
            );
            return None;
        }
        let info = &self.sources[source];
        if info.tables.is_empty() {
            return None; // unknown table, already reported
        }
        let found = info.tables.iter().find_map(|t| t.column(&column.name));
        let Some(col) = found else {
            let names: Vec<&str> = info.tables.iter().map(|t| t.name.as_str()).collect();
            let candidates = info.tables.iter().flat_map(|t| t.columns.iter().map(|c| c.name.as_str()));
            let mut d = Diagnostic::new(
                Code::UnknownColumn,
                format!(
                    "unknown column `{}` in table {}",
                    column.name,
                    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(" or ")
                ),
            );
            if let Some(s) = did_you_mean(&column.name, candidates) {
                d = d.help(format!("did you mean `{s}`?"));
            }
            self.error(d, column.span);
            return None;
        };
        let mut ty = col.ty;
        if !rest.is_empty() {
            if !matches!(ty, Type::Dynamic | Type::String) {
                self.type_error(
                    rest[0].span,
                    format!(
                        "`{}` is {}; only dynamic (JSON) columns have fields",
                        column.name,
                        with_article(&col.declared)
                    ),
                    None,
                );
                return None;
            }
            ty = Type::Dynamic;
        }
        Some((
            ColumnRef {
                source,
                column: col.name.clone(),
                path: rest.iter().map(|p| p.name.clone()).collect(),
                id: u32::MAX,
            },
            ty,
        ))
    }

    fn binary_type(&mut self, op: BinaryOp, l: &TExpr, r: &TExpr, span: Span) -> Check<Type> {
        use Type::*;
        match op {
            BinaryOp::And | BinaryOp::Or => {
                let a = self.want(l, Bool, &format!("`{}`", op.symbol()));
                let b = self.want(r, Bool, &format!("`{}`", op.symbol()));
                a.and(b).map(|_| Bool)
            }
            BinaryOp::EqCi | BinaryOp::NeCi => {
                let a = self.want(l, String, &format!("`{}`", op.symbol()));
                let b = self.want(r, String, &format!("`{}`", op.symbol()));
                a.and(b).map(|_| Bool)
            }
            op if op.is_comparison() => {
                if l.ty.comparable_with(r.ty) {
                    return Some(Bool);
                }
                let help = match (l.ty, r.ty) {
                    (DateTime, String) | (String, DateTime) => {
                        Some("write the time as `datetime(2026-07-16T00:00:00Z)`".to_string())
                    }
                    (Long | Real, String) | (String, Long | Real) => {
                        Some("convert with `tolong(...)` or `tostring(...)`".to_string())
                    }
                    (DateTime, Timespan) | (Timespan, DateTime) => {
                        Some("a point in time compares with a datetime, e.g. `ago(1h)`".to_string())
                    }
                    _ => None,
                };
                self.type_error(
                    span,
                    format!("cannot compare {} with {} using `{}`", self.a_type(l), self.a_type(r), op.symbol()),
                    help,
                );
                None
            }
            BinaryOp::Str { .. } => {
                if matches!(l.ty, List) {
                    self.type_error(
                        l.span,
                        format!("`{}` needs a string on the left, this is a list", op.symbol()),
                        None,
                    );
                    return None;
                }
                self.want(r, String, &format!("the right side of `{}`", op.symbol()))?;
                Some(Bool)
            }
            BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Rem => {
                let ty = match (op, l.ty, r.ty) {
                    (_, Dynamic | Null, _) | (_, _, Dynamic | Null) => Dynamic,
                    (_, Long, Long) => Long,
                    (_, a, b) if a.is_numeric() && b.is_numeric() => Real,
                    (BinaryOp::Sub, DateTime, DateTime) => Timespan,
                    (BinaryOp::Add | BinaryOp::Sub, DateTime, Timespan) => DateTime,
                    (BinaryOp::Add, Timespan, DateTime) => DateTime,
                    (BinaryOp::Add | BinaryOp::Sub, Timespan, Timespan) => Timespan,
                    (BinaryOp::Mul, Timespan, Long | Real) | (BinaryOp::Mul, Long | Real, Timespan) => Timespan,
                    (BinaryOp::Div, Timespan, Long | Real) => Timespan,
                    (BinaryOp::Div, Timespan, Timespan) => Real,
                    _ => {
                        self.type_error(
                            span,
                            format!("cannot apply `{}` to {} and {}", op.symbol(), self.a_type(l), self.a_type(r)),
                            None,
                        );
                        return None;
                    }
                };
                Some(ty)
            }
            _ => unreachable!("binary operator {op:?}"),
        }
    }

    fn regex(&mut self, l: TExpr, r: TExpr, span: Span) -> Check<TExpr> {
        let TKind::Literal(Literal::String(pattern)) = &r.kind else {
            self.type_error(r.span, "`matches regex` needs a string literal pattern".into(), None);
            return None;
        };
        // A compiled program of at most 1 MiB (the crate's default is 10):
        // a rule of a hundred `\w{100}` patterns took 800 MB.
        match regex::RegexBuilder::new(pattern).size_limit(1 << 20).build() {
            Ok(re) => Some(TExpr {
                kind: TKind::Regex { expr: Box::new(l), pattern: pattern.clone(), regex: Arc::new(re) },
                ty: Type::Bool,
                span,
            }),
            Err(e) => {
                let msg = e.to_string();
                let last =
                    msg.lines().rfind(|l| !l.trim().is_empty()).unwrap_or("").trim().trim_start_matches("error: ");
                self.error(Diagnostic::new(Code::BadRegex, format!("invalid regex: {last}")), r.span);
                None
            }
        }
    }

    fn call(&mut self, name: &Ident, args: &[Expr], scope: &Scope, span: Span) -> Check<TExpr> {
        let targs: Vec<_> = args.iter().map(|a| self.expr(a, scope)).collect();
        let Some(func) = Func::from_name(&name.name) else {
            let mut d = Diagnostic::new(Code::UnknownFunction, format!("unknown function `{}`", name.name));
            if let Some(s) = did_you_mean(&name.name, Func::ALL.iter().map(|f| f.name())) {
                d = d.help(format!("did you mean `{s}`?"));
            }
            self.error(d, name.span);
            return None;
        };
        let (min, max) = func.arity();
        if args.len() < min || args.len() > max {
            let want = if min == max {
                format!("{min}")
            } else if max >= 64 {
                format!("at least {min}")
            } else {
                format!("{min} to {max}")
            };
            self.error(
                Diagnostic::new(
                    Code::Arity,
                    format!(
                        "`{}` takes {want} argument{}, got {}",
                        func.name(),
                        if want == "1" { "" } else { "s" },
                        args.len()
                    ),
                )
                .help(func.doc().to_string()),
                span,
            );
            return None;
        }
        let targs: Vec<TExpr> = targs.into_iter().collect::<Option<_>>()?;
        let types: Vec<Type> = targs.iter().map(|t| t.ty).collect();
        match func.result_type(&types) {
            // `parse_json` of a value already dynamic returns it as it is
            // (Kusto's parse_json page): a string found by a path is not
            // decoded again.
            Ok(_) if matches!(func, Func::ParseJson | Func::ToDynamic) && types[0] == Type::Dynamic => {
                targs.into_iter().next()
            }
            Ok(_)
                if func == Func::Ipv4IsInAnyRange
                    && let Some(texts) = constant_texts(&targs[1..]) =>
            {
                let ip = targs.into_iter().next()?;
                self.ipv4_ranges(ip, texts, span)
            }
            Ok(ty) => Some(TExpr { kind: TKind::Call(func, targs), ty, span }),
            Err(bad) => {
                let arg = &targs[bad.index];
                self.type_error(
                    arg.span,
                    format!(
                        "`{}` needs {} as argument {}, this is {}",
                        func.name(),
                        bad.expected,
                        bad.index + 1,
                        self.a_type(arg)
                    ),
                    Some(func.doc().to_string()),
                );
                None
            }
        }
    }

    /// `ipv4_is_in_any_range(ip, ranges...)` with constant ranges (their
    /// texts and spans), merged once; a range that does not parse is an
    /// error at it.
    fn ipv4_ranges(&mut self, ip: TExpr, texts: Vec<(String, Span)>, span: Span) -> Check<TExpr> {
        match crate::functions::V4Ranges::new(texts.iter().map(|(t, _)| t.as_str())) {
            Ok(ranges) => Some(TExpr {
                kind: TKind::Ipv4Ranges {
                    expr: Box::new(ip),
                    ranges: Arc::new(ranges),
                    texts: Arc::new(texts.into_iter().map(|(t, _)| t).collect()),
                },
                ty: Type::Bool,
                span,
            }),
            Err(bad) => {
                let at = texts.iter().find(|(t, _)| t == bad).map_or(span, |(_, s)| *s);
                let shown: String = bad.chars().take(60).collect();
                self.type_error(
                    at,
                    format!("`{shown}` is not an IPv4 address or CIDR range"),
                    Some("write ranges as `10.0.0.0/8` or addresses as `192.0.2.7`".to_string()),
                );
                None
            }
        }
    }

    /// Checks the join, one `left == right` key per conjunct, `left` reading
    /// source 0. Keys are checked here rather than as a boolean expression,
    /// so incompatible key types get their own finding (E400).
    fn join_keys(&mut self, join: &Expr, scope: &Scope) -> Vec<JoinKey> {
        let mut conjuncts = Vec::new();
        flatten_and(join, &mut conjuncts);
        let mut keys = Vec::new();
        for c in conjuncts {
            let span = c.span;
            let ExprKind::Binary(BinaryOp::Eq, l, r) = &c.kind else {
                self.error(
                    Diagnostic::new(
                        Code::JoinShape,
                        "a join is one or more `a.col == b.col` equalities joined by `and`",
                    )
                    .help(
                        "each key is one `==`, each side a column or an expression reading one source \
                         (`tolower(a.AppId) == tolower(b.AppId)`); move other conditions to `mismatch`",
                    ),
                    span,
                );
                continue;
            };
            let (l, r) = (self.expr(l, scope), self.expr(r, scope));
            let (Some(l), Some(r)) = (l, r) else { continue };
            let (ls, rs) = (l.sources(), r.sources());
            let (left, right) = match (ls.as_slice(), rs.as_slice()) {
                ([0], [1]) => (l, r),
                ([1], [0]) => (r, l),
                ([a], [b]) if a == b => {
                    self.error(
                        Diagnostic::new(
                            Code::JoinOneSide,
                            format!("this join key compares `{}` with itself", self.sources[*a].alias),
                        )
                        .help(format!(
                            "a join key reads one column of `{}` and one of `{}`",
                            self.sources[0].alias, self.sources[1].alias
                        )),
                        span,
                    );
                    continue;
                }
                _ => {
                    self.error(
                        Diagnostic::new(Code::JoinOneSide, "each side of a join key must read exactly one source")
                            .help(format!(
                                "e.g. `{}.<column> == {}.<column>`",
                                self.sources[0].alias, self.sources[1].alias
                            )),
                        span,
                    );
                    continue;
                }
            };
            if !join_compatible(left.ty, right.ty) {
                self.error(
                    Diagnostic::new(
                        Code::JoinTypes,
                        format!(
                            "join key types differ: {} on the left, {} on the right",
                            self.type_name(&left),
                            self.type_name(&right)
                        ),
                    )
                    .help("join columns of the same type, or convert one side with `tostring(...)`"),
                    span,
                );
                continue;
            }
            keys.push(JoinKey { left, right, span });
        }
        keys
    }
}

/// `an int`, `a long`: a type's name with its article.
fn with_article(name: &str) -> String {
    let an = name.starts_with(['a', 'e', 'i', 'o', 'u']);
    format!("{} {name}", if an { "an" } else { "a" })
}

fn join_compatible(a: Type, b: Type) -> bool {
    a == b || (a.is_numeric() && b.is_numeric()) || a == Type::Dynamic || b == Type::Dynamic
}

fn flatten_and<'e>(e: &'e Expr, out: &mut Vec<&'e Expr>) {
    match &e.kind {
        ExprKind::Binary(BinaryOp::And, l, r) => {
            flatten_and(l, out);
            flatten_and(r, out);
        }
        _ => out.push(e),
    }
}

fn literal_type(l: &Literal) -> Type {
    match l {
        Literal::Null => Type::Null,
        Literal::Bool(_) => Type::Bool,
        Literal::Long(_) => Type::Long,
        Literal::Real(_) => Type::Real,
        Literal::String(_) => Type::String,
        Literal::DateTime(_) => Type::DateTime,
        Literal::Timespan(_) => Type::Timespan,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::test_rule;

    const GRAPH: &str = "  sources:\n    a: MicrosoftGraphActivityLogs\n";
    const TWO: &str = "  sources:\n    activity: MicrosoftGraphActivityLogs\n    signin: [AADServicePrincipalSignInLogs, AADManagedIdentitySignInLogs]\n";
    const JOIN: &str = "  join: activity.SignInActivityId == signin.UniqueTokenIdentifier\n";

    fn load(correlation: &str) -> RuleDoc {
        crate::rule::load(&test_rule(0, correlation)).unwrap_or_else(|e| panic!("the rule should load: {e:#?}"))
    }

    fn checked(correlation: &str) -> CheckedRule {
        check(&load(correlation), &Catalog::builtin()).unwrap_or_else(|e| panic!("the rule should check: {e:#?}")).0
    }

    fn errors(correlation: &str) -> Vec<Diagnostic> {
        match check(&load(correlation), &Catalog::builtin()) {
            Ok(_) => panic!("the rule should not check:\n{correlation}"),
            Err(errors) => errors,
        }
    }

    /// The span of `needle` inside `context`, which occurs exactly once in the
    /// `correlation` section of the file `d` points into.
    fn span_of(d: &Diagnostic, context: &str, needle: &str) -> Span {
        let text = &d.file.as_ref().expect("the diagnostic names its file").text;
        let section = text.find("\ncorrelation:").expect("a correlation section");
        let hits: Vec<_> = text[section..].match_indices(context).collect();
        assert_eq!(hits.len(), 1, "`{context}` should occur once in the correlation section");
        let start = section + hits[0].0 + context.find(needle).expect("the needle is in its context");
        Span::new(start, start + needle.len())
    }

    /// The one error `check` reports: its code, and that it points at `needle` in `context`.
    fn one_error(correlation: &str, code: Code, context: &str, needle: &str) -> Diagnostic {
        let errors = errors(correlation);
        assert_eq!(errors.len(), 1, "{errors:#?}");
        let d = errors.into_iter().next().unwrap();
        assert_eq!(d.code, code, "{d}");
        assert_eq!(d.span, Some(span_of(&d, context, needle)), "{d}");
        d
    }

    /// `output: X: <expr>` of a rule over Graph activity, whose single error is `code` at `needle`.
    fn output_error(expr: &str, code: Code, needle: &str) -> Diagnostic {
        one_error(&format!("{GRAPH}  output:\n    X: {expr}\n"), code, &format!("X: {expr}"), needle)
    }

    #[test]
    fn types_arithmetic_time_comparisons_and_function_results() {
        let cases = [
            ("ResponseStatusCode + DurationMs", Type::Long),
            ("ResponseStatusCode % 7", Type::Long),
            ("ResponseStatusCode * 1.5", Type::Real),
            ("2.5 - DurationMs", Type::Real),
            ("-DurationMs", Type::Long),
            ("TimeGenerated - TokenIssuedAt", Type::Timespan),
            ("TimeGenerated + 1h", Type::DateTime),
            ("1h + TimeGenerated", Type::DateTime),
            ("TimeGenerated - 30m", Type::DateTime),
            ("2 * 30m", Type::Timespan),
            ("1h / 30m", Type::Real),
            ("(TimeGenerated - TokenIssuedAt) > 70m", Type::Bool),
            ("TimeGenerated > ago(1d)", Type::Bool),
            ("ResponseStatusCode >= 2.5", Type::Bool),
            ("RequestUri has \"users\"", Type::Bool),
            ("ResponseStatusCode between (100 .. 300)", Type::Bool),
            ("ResponseStatusCode in (401, 403)", Type::Bool),
            ("RequestUri matches regex \"^https\"", Type::Bool),
            ("now()", Type::DateTime),
            ("ago(30d)", Type::DateTime),
            ("strlen(IPAddress)", Type::Long),
            ("tostring(ResponseStatusCode)", Type::String),
            ("tolong(IPAddress)", Type::Long),
            ("todouble(DurationMs)", Type::Real),
            ("todatetime(RequestId)", Type::DateTime),
            ("coalesce(DurationMs, 0)", Type::Long),
            ("ipv4_is_in_range(IPAddress, \"10.0.0.0/8\")", Type::Bool),
            ("isnull(ResponseStatusCode) or isempty(IPAddress)", Type::Bool),
            ("null", Type::Null),
        ];
        let outputs: String =
            cases.iter().enumerate().map(|(i, (e, _))| format!("    X{i}: '{}'\n", e.replace('\'', "''"))).collect();
        let rule = checked(&format!("{GRAPH}  output:\n{outputs}"));
        assert_eq!(rule.output.len(), cases.len());
        for (i, ((text, ty), out)) in cases.iter().zip(&rule.output).enumerate() {
            assert_eq!(out.name, format!("X{i}"), "outputs keep their order");
            assert_eq!(out.expr.ty, *ty, "{text}");
        }
    }

    #[test]
    fn resolves_fields_of_a_union_and_paths_into_json() {
        let rule = checked(
            "  sources:\n    s: [AADServicePrincipalSignInLogs, AADManagedIdentitySignInLogs]\n  output:\n    \
             T: TimeGenerated\n    I: s.IPAddress\n    C: LocationDetails.city.name\n    A: s.AutonomousSystemNumber\n",
        );
        assert_eq!(rule.sources.len(), 1);
        assert_eq!(rule.sources[0].alias, "s");
        assert_eq!(rule.sources[0].tables, ["AADServicePrincipalSignInLogs", "AADManagedIdentitySignInLogs"]);
        let col = |i: usize| rule.output[i].expr.as_column().expect("a bare column").clone();
        let t = col(0);
        assert_eq!((t.source, t.column.as_str(), t.path.len()), (0, "TimeGenerated", 0));
        assert_eq!(rule.output[0].expr.ty, Type::DateTime);
        let ip = col(1);
        assert_eq!((ip.source, ip.column.as_str()), (0, "IPAddress"));
        assert_eq!(rule.output[1].expr.ty, Type::String);
        let city = col(2);
        assert_eq!(city.column, "LocationDetails");
        assert_eq!(city.path, ["city", "name"]);
        assert_eq!(rule.output[2].expr.ty, Type::Dynamic, "a path into a JSON column is dynamic");
        // A column only one table of the union has is still a column of the source.
        assert_eq!(col(3).column, "AutonomousSystemNumber");
    }

    #[test]
    fn checks_a_join_rule_and_orients_keys_left_to_the_first_source() {
        let rule = checked(&format!(
            "{TWO}  filter:\n    activity: ResponseStatusCode between (100 .. 300)\n    signin: isnotempty(IPAddress)\n  \
             join: signin.UniqueTokenIdentifier == activity.SignInActivityId and activity.AppId == signin.AppId\n  \
             mismatch: signin.IPAddress != activity.IPAddress\n  output:\n    T: activity.TimeGenerated\n"
        ));
        assert_eq!(rule.sources.iter().map(|s| s.alias.as_str()).collect::<Vec<_>>(), ["activity", "signin"]);
        for (i, s) in rule.sources.iter().enumerate() {
            let f = s.filter.as_ref().expect("each source has its filter");
            assert_eq!(f.ty, Type::Bool);
            assert_eq!(f.sources(), [i], "unqualified names in a filter read its own source");
        }
        assert_eq!(rule.join.len(), 2, "one key per conjunct");
        let names = |k: &JoinKey| {
            let (l, r) = (k.left.as_column().unwrap(), k.right.as_column().unwrap());
            ((l.source, l.column.clone()), (r.source, r.column.clone()))
        };
        assert_eq!(
            names(&rule.join[0]),
            ((0, "SignInActivityId".to_string()), (1, "UniqueTokenIdentifier".to_string())),
            "a key written right-to-left is turned around"
        );
        assert_eq!(names(&rule.join[1]), ((0, "AppId".to_string()), (1, "AppId".to_string())));
        let m = rule.mismatch.as_ref().unwrap();
        assert_eq!(m.ty, Type::Bool);
        assert_eq!(m.sources(), [1, 0]);
    }

    #[test]
    fn unknown_table_points_at_the_name_with_a_hint() {
        let d = one_error(
            "  sources:\n    a: MicrosoftGraphActivityLog\n  filter:\n    a: isnotempty(IPAddress)\n  output:\n    T: a.TimeGenerated\n",
            Code::UnknownTable,
            "MicrosoftGraphActivityLog\n",
            "MicrosoftGraphActivityLog",
        );
        assert_eq!(d.message, "unknown table `MicrosoftGraphActivityLog`");
        assert_eq!(d.help.as_deref(), Some("did you mean `MicrosoftGraphActivityLogs`?"));
        let d = one_error(
            "  sources:\n    a: [MicrosoftGraphActivityLogs, Banana]\n  output:\n    T: a.TimeGenerated\n",
            Code::UnknownTable,
            "Banana",
            "Banana",
        );
        assert!(d.help.as_deref().unwrap().contains("--tables"), "{d}");
    }

    #[test]
    fn unknown_source_aliases_are_located_with_a_hint() {
        let d = one_error(
            &format!(
                "{TWO}  filter:\n    activty: isnotempty(IPAddress)\n{JOIN}  output:\n    T: activity.TimeGenerated\n"
            ),
            Code::UnknownSource,
            "activty",
            "activty",
        );
        assert_eq!(d.message, "unknown source `activty`");
        assert_eq!(d.help.as_deref(), Some("did you mean `activity`?"));
        let d = one_error(
            &format!(
                "{TWO}{JOIN}  mismatch: signon.IPAddress != activity.IPAddress\n  output:\n    T: activity.TimeGenerated\n"
            ),
            Code::UnknownSource,
            "signon.IPAddress",
            "signon",
        );
        assert_eq!(d.help.as_deref(), Some("did you mean `signin`?"));
    }

    #[test]
    fn unknown_column_points_at_the_column_with_a_hint() {
        // The README's example.
        let d = one_error(
            &format!(
                "{TWO}{JOIN}  mismatch: signin.IPAdress != activity.IPAddress\n  output:\n    T: activity.TimeGenerated\n"
            ),
            Code::UnknownColumn,
            "signin.IPAdress",
            "IPAdress",
        );
        assert_eq!(
            d.message,
            "unknown column `IPAdress` in table `AADServicePrincipalSignInLogs` or `AADManagedIdentitySignInLogs`"
        );
        assert_eq!(d.help.as_deref(), Some("did you mean `IPAddress`?"));
        assert_eq!(d.code.as_str(), "E202");
        // An unqualified name in a filter is a column of that source.
        let d = one_error(
            &format!("{GRAPH}  filter:\n    a: ResponseStatus == 200\n  output:\n    T: a.TimeGenerated\n"),
            Code::UnknownColumn,
            "ResponseStatus ==",
            "ResponseStatus",
        );
        assert_eq!(d.help.as_deref(), Some("did you mean `ResponseStatusCode`?"));
    }

    #[test]
    fn a_source_alias_alone_is_not_a_column() {
        let d =
            one_error(&format!("{TWO}{JOIN}  output:\n    X: signin\n"), Code::UnknownColumn, "X: signin", "signin");
        assert_eq!(d.message, "`signin` is a source, not a column");
    }

    #[test]
    fn unknown_function_is_located_with_a_hint() {
        let d = output_error("isnotemtpy(IPAddress)", Code::UnknownFunction, "isnotemtpy");
        assert_eq!(d.message, "unknown function `isnotemtpy`");
        assert_eq!(d.help.as_deref(), Some("did you mean `isnotempty`?"));
    }

    #[test]
    fn wrong_arity_spans_the_call_and_names_the_count() {
        let d = output_error("isnotempty(IPAddress, UserAgent)", Code::Arity, "isnotempty(IPAddress, UserAgent)");
        assert_eq!(d.message, "`isnotempty` takes 1 argument, got 2");
        let d = output_error("ipv6_is_match(IPAddress)", Code::Arity, "ipv6_is_match(IPAddress)");
        assert_eq!(d.message, "`ipv6_is_match` takes 2 to 3 arguments, got 1");
        let d = output_error("strcat()", Code::Arity, "strcat()");
        assert!(d.message.contains("at least 1"), "{d}");
        output_error("now(1h, 2h)", Code::Arity, "now(1h, 2h)");
    }

    #[test]
    fn fields_in_two_source_expressions_must_name_their_source() {
        let d = one_error(
            &format!(
                "{TWO}{JOIN}  mismatch: IPAddress != activity.IPAddress\n  output:\n    T: activity.TimeGenerated\n"
            ),
            Code::Unqualified,
            "mismatch: IPAddress",
            "IPAddress",
        );
        assert_eq!(d.help.as_deref(), Some("write `activity.IPAddress` or `signin.IPAddress`"));
    }

    #[test]
    fn a_filter_reads_only_its_own_source() {
        let d = one_error(
            &format!(
                "{TWO}  filter:\n    activity: signin.IPAddress == \"1.2.3.4\"\n{JOIN}  output:\n    T: activity.TimeGenerated\n"
            ),
            Code::WrongSource,
            "activity: signin.IPAddress",
            "signin.IPAddress",
        );
        assert_eq!(d.message, "the filter of `activity` reads source `signin`");
    }

    #[test]
    fn comparison_type_mismatch_spans_the_comparison_with_a_hint() {
        let d = output_error("TimeGenerated > \"2026-07-16\"", Code::TypeMismatch, "TimeGenerated > \"2026-07-16\"");
        assert_eq!(d.message, "cannot compare a datetime with a string using `>`");
        assert!(d.help.as_deref().unwrap().contains("datetime("), "{d}");
        let d = output_error("ResponseStatusCode == \"200\"", Code::TypeMismatch, "ResponseStatusCode == \"200\"");
        assert!(d.help.as_deref().unwrap().contains("tolong("), "{d}");
        let d = output_error("TimeGenerated < 1h", Code::TypeMismatch, "TimeGenerated < 1h");
        assert!(d.help.as_deref().unwrap().contains("ago("), "{d}");
        let d = output_error("IPAddress == true", Code::TypeMismatch, "IPAddress == true");
        assert_eq!(d.help, None);
    }

    #[test]
    fn function_argument_type_mismatch_points_at_the_argument() {
        let d = output_error("ago(\"1d\")", Code::TypeMismatch, "\"1d\"");
        assert_eq!(d.message, "`ago` needs a timespan such as `30d` or `1h` as argument 1, this is a string");
        let d = output_error("ipv4_is_in_range(IPAddress, 10)", Code::TypeMismatch, "10");
        assert!(d.message.contains("as argument 2, this is a long"), "{d}");
        output_error("coalesce(ResponseStatusCode, \"x\")", Code::TypeMismatch, "\"x\"");
        output_error("strlen(TimeGenerated)", Code::TypeMismatch, "TimeGenerated");
    }

    #[test]
    fn operator_operand_type_mismatches() {
        let d = output_error("IPAddress + 1", Code::TypeMismatch, "IPAddress + 1");
        assert_eq!(d.message, "cannot apply `+` to a string and a long");
        output_error("TimeGenerated + TokenIssuedAt", Code::TypeMismatch, "TimeGenerated + TokenIssuedAt");
        let d = output_error("-IPAddress", Code::TypeMismatch, "IPAddress");
        assert_eq!(d.message, "cannot negate a string");
        let d = output_error("ResponseStatusCode =~ \"x\"", Code::TypeMismatch, "ResponseStatusCode");
        assert_eq!(d.message, "`=~` needs a string, this is an int");
        output_error("RequestUri contains 5", Code::TypeMismatch, "5");
        output_error("not(ResponseStatusCode)", Code::TypeMismatch, "(ResponseStatusCode)");
        output_error("ResponseStatusCode and true", Code::TypeMismatch, "ResponseStatusCode");
    }

    #[test]
    fn between_and_in_operand_types() {
        let d = output_error("IPAddress between (1 .. 2)", Code::TypeMismatch, "IPAddress");
        assert!(d.help.as_deref().unwrap().contains("tolong("), "{d}");
        let d = output_error("ResponseStatusCode between (1 .. \"9\")", Code::TypeMismatch, "\"9\"");
        assert_eq!(d.message, "`between` bound is a string, the value an int", "as the table declares it");
        let d = output_error("RequestMethod in (\"GET\", 1)", Code::TypeMismatch, "1");
        assert_eq!(d.message, "list item is a long, the value a string");
        output_error("ResponseStatusCode in~ (\"1\")", Code::TypeMismatch, "ResponseStatusCode");
    }

    /// A message about a column names its type as the table declares it
    /// (`ResponseStatusCode: int`); about anything else, by Kusto's name.
    #[test]
    fn type_messages_name_a_columns_type_as_declared() {
        let d = output_error("ResponseStatusCode =~ \"x\"", Code::TypeMismatch, "ResponseStatusCode");
        assert_eq!(d.message, "`=~` needs a string, this is an int");
        let d = output_error("ResponseStatusCode + 1 =~ \"x\"", Code::TypeMismatch, "ResponseStatusCode + 1");
        assert_eq!(d.message, "`=~` needs a string, this is a long", "a computed value: Kusto's name");
        let d = output_error("ResponseStatusCode == \"200\"", Code::TypeMismatch, "ResponseStatusCode == \"200\"");
        assert_eq!(d.message, "cannot compare an int with a string using `==`");
        let d = output_error("-RequestUri", Code::TypeMismatch, "RequestUri");
        assert_eq!(d.message, "cannot negate a string");
        let d = output_error("ago(ResponseStatusCode)", Code::TypeMismatch, "ResponseStatusCode");
        assert!(d.message.ends_with("as argument 1, this is an int"), "{d}");
        let d =
            output_error("RequestMethod in (\"GET\", ResponseStatusCode)", Code::TypeMismatch, "ResponseStatusCode");
        assert_eq!(d.message, "list item is an int, the value a string");
        let d = one_error(
            &format!("{GRAPH}  filter:\n    a: DurationMs\n  output:\n    T: a.TimeGenerated\n"),
            Code::NotBoolean,
            "a: DurationMs",
            "DurationMs",
        );
        assert_eq!(d.message, "`filter` must be a boolean expression, this is an int");
        // The sign-in tables declare `DurationMs: long`.
        let d = one_error(
            &format!("{TWO}  filter:\n    signin: DurationMs\n{JOIN}  output:\n    T: activity.TimeGenerated\n"),
            Code::NotBoolean,
            "signin: DurationMs",
            "DurationMs",
        );
        assert_eq!(d.message, "`filter` must be a boolean expression, this is a long");
    }

    /// Kusto's `between` takes a timespan upper bound after a datetime lower
    /// bound (the range ends at their sum), and only there.
    #[test]
    fn between_takes_a_timespan_upper_bound_after_a_datetime() {
        for filter in [
            "TimeGenerated between (datetime(2026-07-16) .. 3d)",
            "TimeGenerated !between (datetime(2026-07-16) .. 3d)",
            "TimeGenerated between (ago(7d) .. 1d)",
            "TokenIssuedAt between (TimeGenerated .. 1h)",
        ] {
            let rule = checked(&format!("{GRAPH}  filter:\n    a: {filter}\n  output:\n    T: a.TimeGenerated\n"));
            let f = rule.sources[0].filter.as_ref().unwrap();
            assert!(matches!(&f.kind, TKind::Between { high, .. } if high.ty == Type::Timespan), "{filter}");
        }
        let d = output_error("TimeGenerated between (3d .. datetime(2026-07-16))", Code::TypeMismatch, "3d");
        assert_eq!(d.message, "`between` bound is a timespan, the value a datetime");
        assert!(d.help.as_deref().unwrap().contains(".. 3d)"), "{d}");
        let d = output_error("ResponseStatusCode between (1 .. 3d)", Code::TypeMismatch, "3d");
        assert_eq!(d.message, "`between` bound is a timespan, the value an int");
        output_error(
            "(TimeGenerated - TokenIssuedAt) between (datetime(2026-07-16) .. 3d)",
            Code::TypeMismatch,
            "datetime(2026-07-16)",
        );
    }

    #[test]
    fn join_keys_may_be_expressions_and_the_help_says_so() {
        let rule = checked(&format!(
            "{TWO}  join: tolower(activity.AppId) == tolower(signin.AppId) and \
             activity.SignInActivityId == signin.UniqueTokenIdentifier\n  output:\n    T: activity.TimeGenerated\n"
        ));
        assert_eq!(rule.join.len(), 2);
        assert!(matches!(rule.join[0].left.kind, TKind::Call(Func::ToLower, _)));
        assert_eq!(rule.join[0].left.sources(), [0]);
        let bad = "activity.AppId =~ signin.AppId";
        let d = one_error(
            &format!("{TWO}  join: {bad}\n  output:\n    T: activity.TimeGenerated\n"),
            Code::JoinShape,
            bad,
            bad,
        );
        let help = d.help.as_deref().unwrap();
        assert!(help.contains("an expression reading one source"), "{help}");
        assert!(help.contains("`tolower(a.AppId) == tolower(b.AppId)`"), "{help}");
    }

    #[test]
    fn only_json_columns_have_fields() {
        let d = output_error("ResponseStatusCode.value", Code::TypeMismatch, "value");
        assert_eq!(d.message, "`ResponseStatusCode` is an int; only dynamic (JSON) columns have fields");
    }

    #[test]
    fn filters_and_mismatches_must_be_boolean() {
        let d = one_error(
            &format!("{GRAPH}  filter:\n    a: ResponseStatusCode + 1\n  output:\n    T: a.TimeGenerated\n"),
            Code::NotBoolean,
            "a: ResponseStatusCode + 1",
            "ResponseStatusCode + 1",
        );
        assert_eq!(d.message, "`filter` must be a boolean expression, this is a long");
        let d = one_error(
            &format!("{TWO}{JOIN}  mismatch: signin.IPAddress\n  output:\n    T: activity.TimeGenerated\n"),
            Code::NotBoolean,
            "mismatch: signin.IPAddress",
            "signin.IPAddress",
        );
        assert_eq!(d.message, "`mismatch` must be a boolean expression, this is a string");
    }

    #[test]
    fn bad_regex_points_at_the_pattern() {
        let d = output_error("RequestUri matches regex \"(unclosed\"", Code::BadRegex, "\"(unclosed\"");
        assert!(d.message.starts_with("invalid regex: "), "{d}");
        output_error("RequestUri matches regex RequestMethod", Code::TypeMismatch, "RequestMethod");
    }

    #[test]
    fn join_key_problems_are_reported_per_key() {
        let rule = |join: &str| format!("{TWO}  join: {join}\n  output:\n    T: activity.TimeGenerated\n");
        let key = "activity.ResponseStatusCode == signin.IPAddress";
        let d = one_error(&rule(key), Code::JoinTypes, key, key);
        assert_eq!(d.message, "join key types differ: int on the left, string on the right");
        let key = "activity.IPAddress == activity.UserAgent";
        let d = one_error(&rule(key), Code::JoinOneSide, key, key);
        assert_eq!(d.message, "this join key compares `activity` with itself");
        let key = "activity.IPAddress == \"1.2.3.4\"";
        let d = one_error(&rule(key), Code::JoinOneSide, key, key);
        assert_eq!(d.message, "each side of a join key must read exactly one source");
        // Only the conjunct that is not an equality is reported.
        let bad = "activity.IPAddress != signin.IPAddress";
        one_error(
            &rule(&format!("activity.SignInActivityId == signin.UniqueTokenIdentifier and {bad}")),
            Code::JoinShape,
            bad,
            bad,
        );
        let join = "activity.AppId == signin.AppId or activity.IPAddress == signin.IPAddress";
        one_error(&rule(join), Code::JoinShape, join, join);
    }

    #[test]
    fn source_count_join_and_mismatch_shape() {
        // Three sources, no sources: the finding is about the whole correlation.
        let three = "  sources:\n    a: MicrosoftGraphActivityLogs\n    b: AADServicePrincipalSignInLogs\n    \
                     c: AADManagedIdentitySignInLogs\n  output:\n    X: '1'\n";
        one_error(three, Code::SourceCount, "correlation:", "correlation");
        one_error("  sources: {}\n  output:\n    X: '1'\n", Code::SourceCount, "correlation:", "correlation");
        let d = one_error(
            &format!("{TWO}  output:\n    T: activity.TimeGenerated\n"),
            Code::MissingJoin,
            "correlation:",
            "correlation",
        );
        assert_eq!(d.help.as_deref(), Some("e.g. `join: activity.<column> == signin.<column>`"));
        let join = "a.IPAddress == a.UserAgent";
        one_error(&format!("{GRAPH}  join: {join}\n  output:\n    X: '1'\n"), Code::JoinShape, join, join);
        let mismatch = "a.IPAddress != a.UserAgent";
        one_error(
            &format!("{GRAPH}  mismatch: {mismatch}\n  output:\n    X: '1'\n"),
            Code::MismatchWithoutJoin,
            mismatch,
            mismatch,
        );
    }

    #[test]
    fn every_error_is_reported_not_just_the_first() {
        let errors = errors(&format!(
            "{GRAPH}  filter:\n    a: IPAdress == \"x\"\n  output:\n    X: ago(\"1d\")\n    Y: nosuch(1)\n"
        ));
        let codes: Vec<_> = errors.iter().map(|d| d.code).collect();
        assert_eq!(codes, [Code::UnknownColumn, Code::TypeMismatch, Code::UnknownFunction]);
        assert!(errors.iter().all(|d| d.is_error() && d.span.is_some()));
    }
}
