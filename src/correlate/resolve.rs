//! Resolve: each Sigma correlation's references and fields, across every
//! rule file of a run, once all rules are compiled.
//!
//! - `rules` entries name a rule by `id` or `name`; one that names no rule,
//!   more than one, a rule with errors, or (through other correlations) the
//!   correlation itself is E121.
//! - Each `group-by` name, or the field an `aliases` entry gives for one
//!   referenced rule, and the value_* types' `field`, is read on each
//!   referenced rule: on a Sigma detection rule, as its detection reads
//!   that field (the logsource mapping), through a hidden output; on a
//!   sigcorr rule or a correlation, as one of its outputs. A field a rule
//!   does not have is E122.
//! - Every referenced rule that is not a correlation gains an event time:
//!   its first source's `TimeGenerated`.

use std::sync::Arc;

use super::{Input, Spec};
use crate::ast::{Expr, ExprKind, Ident, Literal};
use crate::check::{self, CheckedRule, Output, TExpr, TKind};
use crate::diagnostic::{Code, Diagnostic, did_you_mean};
use crate::rule::{Correlation, RuleKind};
use crate::sigma::correlation::{Kind, SigmaCorrelation};
use crate::span::{SourceFile, Span};
use crate::table::Catalog;
use crate::types::Type;
use crate::yaml::Node;

/// A correlation document loaded, waiting for the others.
pub struct Pending {
    /// Its place in the rule list (a placeholder until resolved).
    pub rule: usize,
    /// Its document's number.
    pub doc: usize,
    pub correlation: SigmaCorrelation,
}

/// What a rule document can be referenced by.
pub struct Named {
    pub id: Option<String>,
    pub name: Option<String>,
    /// The rule it became; `None` when errors refused it.
    pub rule: Option<usize>,
    pub file: Arc<SourceFile>,
    pub span: Span,
}

impl Named {
    pub fn of(file: &Arc<SourceFile>, root: &Node, rule: Option<usize>) -> Named {
        let text = |k: &str| root.get(k).and_then(|n| n.text_as_written(file)).filter(|t| !t.is_empty());
        Named { id: text("id"), name: text("name"), rule, file: file.clone(), span: root.span }
    }
}

/// The rule a correlation document stands for until it is resolved: its
/// metadata and output names, no logic.
pub fn placeholder(c: &SigmaCorrelation) -> CheckedRule {
    let logic = Correlation {
        span: c.span,
        sources: vec![],
        filters: vec![],
        join: None,
        anti: None,
        mismatch: None,
        output: vec![],
        lets: vec![],
    };
    let doc = crate::sigma::lower::document(&c.file, &c.root, RuleKind::SigmaCorrelation, logic);
    let names: Vec<String> = c.group_by.iter().map(|g| g.value.clone()).collect();
    let fields: Vec<String> = c.fields.iter().map(|f| f.value.clone()).collect();
    let output: Vec<Output> = Spec::output_names(&names, c.kind.value, &fields)
        .into_iter()
        .map(|name| Output {
            name,
            expr: TExpr { kind: TKind::Literal(Literal::Null), ty: Type::Dynamic, span: c.span },
        })
        .collect();
    CheckedRule {
        doc,
        sources: vec![],
        join: vec![],
        mismatch: None,
        anti: false,
        shown: output.len(),
        output,
        time: None,
        correlation: None,
    }
}

/// Where an input holds a field: an output it has, or one to add.
#[derive(Clone, Copy)]
enum Slot {
    Output(usize),
    /// The `k`th hidden output added to the rule.
    Added(usize),
}

/// Resolves every pending correlation: the resolved ones replace their
/// placeholders in `rules` (and referenced rules gain what they read);
/// the others are removed, their documents marked refused in `accepted`
/// (and the rule numbers in `named` follow).
/// Returns the errors.
pub fn resolve(
    rules: &mut Vec<CheckedRule>,
    pending: Vec<Pending>,
    named: &mut [Named],
    accepted: &mut [bool],
    catalog: &Catalog,
) -> Vec<Diagnostic> {
    let mut errors = Vec::new();
    let mut placeholders = vec![None; rules.len()];
    for (i, p) in pending.iter().enumerate() {
        placeholders[p.rule] = Some(i);
    }
    let placeholder_of = |rule: usize| placeholders[rule];

    // 1. References to rule numbers: each id and name to the documents
    // that have it (looked up, not searched: rule sets run to 100,000s).
    let mut by_name: std::collections::HashMap<&str, Vec<usize>> = std::collections::HashMap::new();
    for (i, n) in named.iter().enumerate() {
        for text in n.id.iter().chain(n.name.iter().filter(|name| Some(*name) != n.id.as_ref())) {
            by_name.entry(text.as_str()).or_default().push(i);
        }
    }
    let mut refs: Vec<Option<Vec<usize>>> = Vec::new();
    for p in &pending {
        let c = &p.correlation;
        let mut found = Vec::new();
        for r in &c.rules {
            let matches: Vec<&Named> =
                by_name.get(r.value.as_str()).map(|v| v.iter().map(|&i| &named[i]).collect()).unwrap_or_default();
            let err = |message: String| Diagnostic::new(Code::CorrelationReference, message).at(&c.file, r.span);
            match &matches[..] {
                [] => {
                    let known = named.iter().flat_map(|n| n.name.iter().chain(&n.id)).map(String::as_str);
                    let d = err(format!("no rule has the id or name `{}`", r.value));
                    errors.push(match did_you_mean(&r.value, known) {
                        Some(s) => d.help(format!("did you mean `{s}`?")),
                        None => d.help("give the referenced rule a `name:` (or use its `id`), and pass its file too"),
                    });
                }
                [one] => match one.rule {
                    Some(rule) => found.push(rule),
                    None => errors.push(
                        err(format!("rule `{}` has errors, so this correlation cannot run", r.value))
                            .help("fix the referenced rule's errors (reported above)"),
                    ),
                },
                many => {
                    let at: Vec<String> = many
                        .iter()
                        .map(|n| {
                            let line = n.file.line_col(n.span.start).0;
                            format!("{}:{line}", n.file.path.display())
                        })
                        .collect();
                    errors.push(
                        err(format!("`{}` names {} rules ({})", r.value, many.len(), at.join(", ")))
                            .help("give each rule its own `name`, or reference it by its `id`"),
                    );
                }
            }
        }
        refs.push((found.len() == c.rules.len()).then_some(found));
    }

    // 2. Cycles, and correlations over correlations that failed.
    let cyclic = cyclic(&refs, &placeholder_of);
    for (i, p) in pending.iter().enumerate() {
        if cyclic[i] {
            let c = &p.correlation;
            errors.push(
                Diagnostic::new(
                    Code::CorrelationReference,
                    "the correlation references itself (through `rules`), or a correlation that does",
                )
                .at(&c.file, c.rules.first().map_or(c.span, |r| r.span))
                .help("a correlation may reference correlations, but not in a cycle"),
            );
            refs[i] = None;
        }
    }
    loop {
        let mut changed = false;
        for i in 0..pending.len() {
            let Some(found) = &refs[i] else { continue };
            if let Some(k) = found.iter().position(|&r| placeholder_of(r).is_some_and(|j| refs[j].is_none())) {
                let c = &pending[i].correlation;
                errors.push(
                    Diagnostic::new(
                        Code::CorrelationReference,
                        format!("correlation `{}` has errors, so this correlation cannot run", c.rules[k].value),
                    )
                    .at(&c.file, c.rules[k].span),
                );
                refs[i] = None;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }

    // 3. Fields: per correlation and input, where each group-by field and
    // the value are; hidden outputs to add per rule.
    let mut added: Vec<Vec<(String, Expr)>> = vec![Vec::new(); rules.len()];
    let mut needs_time = vec![false; rules.len()];
    type Slots = (Vec<Slot>, Option<Slot>, Vec<Slot>);
    let mut slots: Vec<Option<Vec<Slots>>> = Vec::new();
    for (i, p) in pending.iter().enumerate() {
        let Some(found) = &refs[i] else {
            slots.push(None);
            continue;
        };
        let c = &p.correlation;
        let mut per_input = Vec::new();
        let mut ok = true;
        for (k, &rule) in found.iter().enumerate() {
            let reference = &c.rules[k].value;
            let inner = placeholder_of(rule).map(|j| &pending[j].correlation);
            if inner.is_none() {
                needs_time[rule] = true;
            }
            let mut lookup = |field: &str, wrap: &str, span: Span| -> Option<Slot> {
                let found = slot(&rules[rule], inner, field, wrap, span, catalog, &mut added[rule]);
                if found.is_none() {
                    // What it could have meant: the outputs, or a Sigma rule's columns.
                    let outputs: Vec<String> = match (inner, rules[rule].doc.kind) {
                        (Some(c), _) => c.group_by.iter().map(|g| g.value.clone()).collect(),
                        (None, RuleKind::Sigma) => rules[rule].sources[0]
                            .tables
                            .iter()
                            .filter_map(|t| catalog.get(t))
                            .flat_map(|t| t.columns.iter().map(|c| c.name.clone()))
                            .collect(),
                        _ => rules[rule].shown_output().iter().map(|o| o.name.clone()).collect(),
                    };
                    let what = match (inner, rules[rule].doc.kind) {
                        (Some(_), _) => format!("correlation `{reference}` has no output `{field}`"),
                        (None, RuleKind::Sigma) => {
                            format!("field `{field}` matches no column of the tables of rule `{reference}`")
                        }
                        _ => format!("rule `{reference}` has no output `{field}`"),
                    };
                    let mut d = Diagnostic::new(Code::CorrelationField, what).at(&c.file, span);
                    d = match did_you_mean(field, outputs.iter().map(String::as_str)) {
                        Some(s) => d.help(format!("did you mean `{s}`? (or map it per rule with `aliases`)")),
                        None if rules[rule].doc.kind == RuleKind::Sigcorr => d.help(format!(
                            "a sigcorr rule's alert has its outputs: {}; or map the field per rule with `aliases`",
                            outputs.join(", ")
                        )),
                        None => d.help("map the field per rule with `aliases`"),
                    };
                    errors.push(d);
                }
                found
            };
            // A name, or the field `aliases` gives it for this rule.
            let aliased = |name: &crate::span::Spanned<String>| {
                let alias = c
                    .aliases
                    .iter()
                    .find(|(a, _)| a.value == name.value)
                    .and_then(|(_, per)| per.iter().find(|(r, _)| &r.value == reference))
                    .map(|(_, f)| f);
                alias.map_or((name.value.clone(), name.span), |f| (f.value.clone(), f.span))
            };
            // Group-by fields and `fields`, each as its text.
            let mut texts = |names: &[crate::span::Spanned<String>]| -> Vec<Slot> {
                let found: Vec<Option<Slot>> = names
                    .iter()
                    .map(|n| {
                        let (field, span) = aliased(n);
                        lookup(&field, "tostring", span)
                    })
                    .collect();
                ok &= found.iter().all(Option::is_some);
                found.into_iter().flatten().collect()
            };
            let keys = texts(&c.group_by);
            let shown = texts(&c.fields);
            let value = match &c.field {
                Some(f) => {
                    let wrap = if c.kind.value == Kind::ValueCount { "tostring" } else { "toreal" };
                    let s = lookup(&f.value, wrap, f.span);
                    ok &= s.is_some();
                    s
                }
                None => None,
            };
            per_input.push((keys, value, shown));
        }
        slots.push(ok.then_some(per_input));
    }

    // 4. Referenced rules gain their hidden outputs and event time.
    let mut broken = vec![false; rules.len()];
    for r in 0..rules.len() {
        if added[r].is_empty() && !needs_time[r] {
            continue;
        }
        let rule = &rules[r];
        let mut doc = rule.doc.clone();
        for (name, e) in &added[r] {
            doc.correlation.output.push((Ident { name: name.clone(), span: e.span }, e.clone()));
        }
        let alias = &doc.correlation.sources[0].alias;
        let span = alias.span;
        let time =
            Expr { kind: ExprKind::Field(vec![alias.clone(), Ident { name: "TimeGenerated".into(), span }]), span };
        doc.correlation.output.push((Ident { name: "__time".into(), span }, time));
        match check::check(&doc, catalog) {
            Ok((mut checked, _)) => {
                let time = checked.output.pop().map(|o| o.expr).filter(|e| e.ty == Type::DateTime);
                if time.is_none() {
                    broken[r] = true;
                }
                checked.time = time;
                checked.shown = rule.shown;
                rules[r] = checked;
            }
            Err(_) => broken[r] = true,
        }
    }

    // 5. The resolved correlations replace their placeholders.
    let mut keep = vec![true; rules.len()];
    for (i, p) in pending.iter().enumerate() {
        let c = &p.correlation;
        let (Some(found), Some(per_input)) = (&refs[i], &slots[i]) else {
            keep[p.rule] = false;
            accepted[p.doc] = false;
            continue;
        };
        if let Some(k) = found.iter().position(|&r| broken[r]) {
            errors.push(
                Diagnostic::new(
                    Code::CorrelationField,
                    format!("rule `{}` has no `TimeGenerated` to order its events by", c.rules[k].value),
                )
                .at(&c.file, c.rules[k].span),
            );
            keep[p.rule] = false;
            accepted[p.doc] = false;
            continue;
        }
        let at = |rule: usize, s: Slot| match s {
            Slot::Output(o) => o,
            Slot::Added(k) => rules[rule].shown + k,
        };
        let inputs = found
            .iter()
            .zip(per_input)
            .map(|(&rule, (keys, value, shown))| Input {
                rule,
                keys: keys.iter().map(|&s| at(rule, s)).collect(),
                value: value.map(|s| at(rule, s)),
                fields: shown.iter().map(|&s| at(rule, s)).collect(),
            })
            .collect();
        let spec = Spec {
            kind: c.kind.value,
            timespan: c.timespan.value,
            condition: c.condition.clone(),
            expression: c.expression.as_ref().map(|e| presence(e, c)),
            percentile: c.percentile,
            inputs,
            names: c.rules.iter().map(|r| r.value.clone()).collect(),
            group_by: c.group_by.iter().map(|g| g.value.clone()).collect(),
            generate: c.generate,
            fields: c.fields.iter().map(|f| f.value.clone()).collect(),
        };
        rules[p.rule].correlation = Some(Box::new(spec));
    }
    // The refused placeholders go; rule numbers after them move down.
    let mut new_index = Vec::with_capacity(rules.len());
    let mut next = 0;
    for &k in &keep {
        new_index.push(next);
        next += usize::from(k);
    }
    let mut r = 0;
    rules.retain(|_| {
        r += 1;
        keep[r - 1]
    });
    for rule in rules.iter_mut() {
        if let Some(spec) = &mut rule.correlation {
            spec.inputs.iter_mut().for_each(|i| i.rule = new_index[i.rule]);
        }
    }
    for n in named.iter_mut() {
        n.rule = n.rule.filter(|&r| keep[r]).map(|r| new_index[r]);
    }
    errors
}

/// An extended condition over input numbers (the loader made sure every
/// name is in `rules`).
fn presence(cond: &crate::sigma::condition::Cond, c: &SigmaCorrelation) -> super::Presence {
    use super::Presence as P;
    use crate::sigma::condition::CondKind as K;
    match &cond.kind {
        K::And(a, b) => P::And(Box::new(presence(a, c)), Box::new(presence(b, c))),
        K::Or(a, b) => P::Or(Box::new(presence(a, c)), Box::new(presence(b, c))),
        K::Not(a) => P::Not(Box::new(presence(a, c))),
        K::Name(n) => P::Rule(c.rules.iter().position(|r| &r.value == n).unwrap_or(0)),
        K::Of { .. } => P::Rule(0),
    }
}

/// Which correlations are on a cycle of references, or reference one:
/// those a topological peeling (Kahn's) never reaches. Linear in the
/// references, without recursion: a chain of 100,000 correlations is a
/// rule set like any other.
fn cyclic(refs: &[Option<Vec<usize>>], placeholder_of: &dyn Fn(usize) -> Option<usize>) -> Vec<bool> {
    let n = refs.len();
    let mut waiting = vec![0usize; n];
    let mut users: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, found) in refs.iter().enumerate() {
        for j in found.iter().flatten().filter_map(|&r| placeholder_of(r)) {
            waiting[i] += 1;
            users[j].push(i);
        }
    }
    let mut ready: Vec<usize> = (0..n).filter(|&i| waiting[i] == 0).collect();
    let mut done = vec![false; n];
    while let Some(j) = ready.pop() {
        done[j] = true;
        for &i in &users[j] {
            waiting[i] -= 1;
            if waiting[i] == 0 {
                ready.push(i);
            }
        }
    }
    done.iter().map(|d| !d).collect()
}

/// Where `rule` holds `field`: for a correlation, its output of that name;
/// for a Sigma detection rule, a hidden output reading the field through
/// the logsource mapping (added once per field); for a sigcorr rule, its
/// output of that name (exact, else the one name equal ignoring case).
fn slot(
    rule: &CheckedRule,
    inner: Option<&SigmaCorrelation>,
    field: &str,
    wrap: &str,
    span: Span,
    catalog: &Catalog,
    added: &mut Vec<(String, Expr)>,
) -> Option<Slot> {
    if let Some(c) = inner {
        let names: Vec<String> = c.group_by.iter().map(|g| g.value.clone()).collect();
        let fields: Vec<String> = c.fields.iter().map(|f| f.value.clone()).collect();
        let outputs = Spec::output_names(&names, c.kind.value, &fields);
        return outputs.iter().position(|o| o == field).map(Slot::Output);
    }
    if rule.doc.kind == RuleKind::Sigma {
        let name = format!("__{wrap}:{field}");
        if let Some(k) = added.iter().position(|(n, _)| *n == name) {
            return Some(Slot::Added(k));
        }
        let tables: Vec<_> = rule.sources[0].tables.iter().filter_map(|t| catalog.get(t)).collect();
        let e = crate::sigma::lower::field_value(catalog, &tables, field, wrap, span)?;
        added.push((name, e));
        return Some(Slot::Added(added.len() - 1));
    }
    let shown = rule.shown_output();
    shown
        .iter()
        .position(|o| o.name == field)
        .or_else(|| {
            let mut same = shown.iter().enumerate().filter(|(_, o)| o.name.eq_ignore_ascii_case(field));
            match (same.next(), same.next()) {
                (Some((i, _)), None) => Some(i),
                _ => None,
            }
        })
        .map(Slot::Output)
}
