//! Load: one Sigma correlation document (correlation rules specification
//! v2.1) to a [`SigmaCorrelation`], every part with its position. Which
//! rules it references, and what its fields mean on them, is decided later,
//! across all files, by [`crate::correlate::resolve`].

use std::sync::Arc;

use super::condition::{Cond, CondKind, parse_condition};
use crate::diagnostic::{Code, Diagnostic};
use crate::parser::ExprSource;
use crate::rule::validate;
use crate::source_map::ScalarMap;
use crate::span::{SourceFile, Span, Spanned};
use crate::yaml::{Node, NodeKind};

use super::load::CORRELATION;

type Errors = Vec<Diagnostic>;

/// `correlation.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    EventCount,
    ValueCount,
    Temporal,
    TemporalOrdered,
    ValueSum,
    ValueAvg,
    ValuePercentile,
    /// Not in the specification; pySigma and rsigma accept it: the 50th percentile.
    ValueMedian,
}

impl Kind {
    const ALL: [(&'static str, Kind); 8] = [
        ("event_count", Kind::EventCount),
        ("value_count", Kind::ValueCount),
        ("temporal", Kind::Temporal),
        ("temporal_ordered", Kind::TemporalOrdered),
        ("value_sum", Kind::ValueSum),
        ("value_avg", Kind::ValueAvg),
        ("value_percentile", Kind::ValuePercentile),
        ("value_median", Kind::ValueMedian),
    ];

    pub fn name(self) -> &'static str {
        Kind::ALL.iter().find(|(_, k)| *k == self).map_or("", |(n, _)| n)
    }

    /// The types whose condition reads a `field`.
    pub fn needs_field(self) -> bool {
        matches!(self, Kind::ValueCount | Kind::ValueSum | Kind::ValueAvg | Kind::ValuePercentile | Kind::ValueMedian)
    }

    /// The types that count which referenced rules matched.
    pub fn temporal(self) -> bool {
        matches!(self, Kind::Temporal | Kind::TemporalOrdered)
    }
}

/// A comparison of a `condition`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Gt,
    Gte,
    Lt,
    Lte,
    Eq,
    Neq,
}

impl Cmp {
    const ALL: [(&'static str, Cmp); 6] =
        [("gt", Cmp::Gt), ("gte", Cmp::Gte), ("lt", Cmp::Lt), ("lte", Cmp::Lte), ("eq", Cmp::Eq), ("neq", Cmp::Neq)];

    pub fn name(self) -> &'static str {
        Cmp::ALL.iter().find(|(_, c)| *c == self).map_or("", |(n, _)| n)
    }

    pub fn holds(self, value: f64, bound: f64) -> bool {
        match self {
            Cmp::Gt => value > bound,
            Cmp::Gte => value >= bound,
            Cmp::Lt => value < bound,
            Cmp::Lte => value <= bound,
            Cmp::Eq => value == bound,
            Cmp::Neq => value != bound,
        }
    }
}

/// One rule's field under an alias: (the rule as written in `rules`, field).
pub type AliasEntry = (Spanned<String>, Spanned<String>);

/// A Sigma correlation rule as written.
#[derive(Debug, Clone)]
pub struct SigmaCorrelation {
    pub file: Arc<SourceFile>,
    pub root: Node,
    /// The span of the `correlation:` key.
    pub span: Span,
    pub kind: Spanned<Kind>,
    /// `rules`: ids or names, as written.
    pub rules: Vec<Spanned<String>>,
    pub group_by: Vec<Spanned<String>>,
    /// `timespan` in ticks (100 ns).
    pub timespan: Spanned<i64>,
    /// The comparisons, all of which must hold; empty for a temporal type
    /// without one (then every referenced rule must match).
    pub condition: Vec<(Cmp, f64)>,
    /// A temporal type's extended condition (approved for specification
    /// v2.2, SEP 198): `failed and not mfa`, over the names in `rules`.
    pub expression: Option<Cond>,
    pub condition_span: Span,
    /// The value_* types' `field`.
    pub field: Option<Spanned<String>>,
    /// value_percentile's percentile, 0 to 100 (`condition.percentile`,
    /// a sigcorr extension; 50 when absent, and for value_median).
    pub percentile: f64,
    /// `aliases`: group-by name → (rule as written in `rules` → field).
    pub aliases: Vec<(Spanned<String>, Vec<AliasEntry>)>,
    /// `generate` (top level or in `correlation`): the referenced rules
    /// also alert on their own.
    pub generate: bool,
    /// `fields` (top level, as a Sigma rule's): fields whose distinct values
    /// an alert lists.
    pub fields: Vec<Spanned<String>>,
}

/// The most rules one correlation references: an event remembers its rule
/// in 16 bits, and a temporal window counts each.
pub const MAX_RULES: usize = 1024;

/// A tick is 100 ns, as Kusto's.
const TICKS_PER_SECOND: i64 = 10_000_000;

/// `30s`, `10m`, `1h`, `7d` to ticks; the specification's units, and `w`
/// (weeks). Months and years have no fixed length, so they are refused.
pub fn parse_timespan(text: &str) -> Option<i64> {
    let unit = text.chars().last()?;
    let number: i64 = text[..text.len() - unit.len_utf8()].parse().ok().filter(|n| *n > 0)?;
    let seconds = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        'w' => 7 * 86_400,
        _ => return None,
    };
    number.checked_mul(seconds)?.checked_mul(TICKS_PER_SECOND)
}

/// The rule names of an extended condition, in order of appearance (each
/// once), and where an `x of` is, if any.
fn names_of(cond: &Cond, out: &mut Vec<(String, Span)>, of: &mut Option<Span>) {
    match &cond.kind {
        CondKind::And(a, b) | CondKind::Or(a, b) => {
            names_of(a, out, of);
            names_of(b, out, of);
        }
        CondKind::Not(a) => names_of(a, out, of),
        CondKind::Name(n) => {
            if !out.iter().any(|(m, _)| m == n) {
                out.push((n.clone(), cond.span));
            }
        }
        CondKind::Of { .. } => *of = Some(cond.span),
    }
}

/// Loads one Sigma correlation document. Every problem is returned; the
/// correlation only when it came through whole.
pub fn load(file: &Arc<SourceFile>, root: &Node) -> (Option<SigmaCorrelation>, Errors) {
    let (mut errors, valid) = validate(file, root, &CORRELATION, "/correlation");
    let Some((key, body)) = root.entry("correlation") else { return (None, errors) };
    if !valid {
        return (None, errors);
    }
    let mut err = |span: Span, d: Diagnostic| errors.push(d.at(file, span));
    let bad = |message: String| Diagnostic::new(Code::SigmaCorrelation, message);

    let type_node = body.get("type");
    let kind = type_node.and_then(|n| {
        let text = n.as_str()?;
        let kind = Kind::ALL.iter().find(|(name, _)| *name == text)?.1;
        Some(Spanned::new(kind, n.span))
    });
    if kind.is_none() {
        let span = type_node.map_or(key.span, |n| n.span);
        let names: Vec<&str> = Kind::ALL.iter().map(|(n, _)| *n).collect();
        err(span, bad("unknown correlation type".into()).help(format!("one of {}", names.join(", "))));
    }

    let list = |n: Option<&Node>| -> Vec<Spanned<String>> {
        match n {
            Some(n) => match &n.kind {
                NodeKind::Seq(items) => {
                    items.iter().filter_map(|i| Some(Spanned::new(i.text_as_written(file)?, i.span))).collect()
                }
                _ => n.text_as_written(file).map(|t| vec![Spanned::new(t, n.span)]).unwrap_or_default(),
            },
            None => Vec::new(),
        }
    };
    let mut rules = list(body.get("rules"));
    // An extended condition (a string) for the temporal types.
    let mut expression = None;
    let mut syntax = None;
    if let (Some((_, n)), Some(text)) = (body.entry("condition"), body.get("condition").and_then(Node::as_str)) {
        let map = ScalarMap::in_span(&file.text, n.span, text);
        match parse_condition(text, &ExprSource { file, map: &map }) {
            Ok(cond) => {
                let mut names = Vec::new();
                let mut of = None;
                names_of(&cond, &mut names, &mut of);
                if let Some(span) = of {
                    err(span, bad("an extended condition names rules; `1 of`/`all of` are for detections".into()));
                }
                if rules.is_empty() {
                    // `rules` may be left out: the condition names them.
                    rules = names.iter().map(|(name, span)| Spanned::new(name.clone(), *span)).collect();
                }
                for (name, span) in &names {
                    if !rules.iter().any(|r| &r.value == name) {
                        err(*span, bad(format!("the condition names `{name}`, which `rules` does not list")));
                    }
                }
                for r in &rules {
                    if !names.iter().any(|(name, _)| *name == r.value) {
                        err(
                            r.span,
                            bad(format!("rule `{}` is listed but the condition does not name it", r.value))
                                .help("an extended condition names every rule it correlates"),
                        );
                    }
                }
                expression = Some(cond);
            }
            Err(d) => syntax = Some(d),
        }
    }
    errors.extend(syntax);
    let mut err = |span: Span, d: Diagnostic| errors.push(d.at(file, span));
    if rules.is_empty() {
        err(
            key.span,
            bad("a correlation references no rule".into())
                .help("list the ids or names of the rules it correlates under `rules:`"),
        );
    }
    if rules.len() > MAX_RULES {
        err(
            key.span,
            bad(format!("a correlation references {} rules; at most {MAX_RULES}", rules.len()))
                .help("split it into correlations over correlations"),
        );
    }
    let mut seen = std::collections::HashSet::new();
    for r in &rules {
        if !seen.insert(r.value.as_str()) {
            err(r.span, bad(format!("rule `{}` is referenced twice", r.value)));
        }
    }
    let group_by = list(body.get("group-by"));
    if group_by.is_empty() {
        err(
            key.span,
            bad("a correlation needs `group-by`".into())
                .help("the fields whose values the events must share, e.g. `group-by: [UserPrincipalName]`"),
        );
    }

    let timespan = match body.get("timespan") {
        Some(n) => match n.as_str().and_then(parse_timespan) {
            Some(t) => Some(Spanned::new(t, n.span)),
            None => {
                err(n.span, bad("not a timespan".into()).help("a number and a unit: `30s`, `10m`, `1h`, `7d`"));
                None
            }
        },
        None => {
            err(
                key.span,
                bad("a correlation needs `timespan`".into()).help("how close in time its events must be: `10m`, `1h`"),
            );
            None
        }
    };

    let mut condition = Vec::new();
    let mut field = None;
    let mut percentile = None;
    let condition_node = body.get("condition");
    let condition_span = body.entry("condition").map_or(key.span, |(k, _)| k.span);
    match condition_node.map(|n| (&n.kind, n)) {
        Some((NodeKind::Map(entries), _)) => {
            for (k, v) in entries {
                let name = k.as_str().unwrap_or_default();
                if name == "field" {
                    field = v.text_as_written(file).map(|t| Spanned::new(t, v.span));
                    if field.is_none() {
                        err(v.span, bad("`field` names one field".into()));
                    }
                    continue;
                }
                let number = match v.kind {
                    NodeKind::Int(i) => Some(i as f64),
                    NodeKind::Float(f) if f.is_finite() => Some(f),
                    _ => None,
                };
                if name == "percentile" {
                    match number.filter(|p| (0.0..=100.0).contains(p)) {
                        Some(p) => percentile = Some(p),
                        None => err(v.span, bad("`percentile` is a number from 0 to 100".into())),
                    }
                    continue;
                }
                let Some(cmp) = Cmp::ALL.iter().find(|(n, _)| *n == name).map(|(_, c)| *c) else {
                    err(
                        k.span,
                        bad(format!("unknown condition `{name}`"))
                            .help("gt, gte, lt, lte, eq or neq, and `field` for the value_* types"),
                    );
                    continue;
                };
                match number {
                    Some(n) => condition.push((cmp, n)),
                    None => err(v.span, bad(format!("`{name}` takes a number, found {}", v.type_name()))),
                }
            }
        }
        Some((NodeKind::Str(_), n)) if kind.as_ref().is_some_and(|k| !k.value.temporal()) => err(
            n.span,
            bad("a condition string (`a and not b`) is for the temporal types".into())
                .help("write `condition: {gte: 10}`"),
        ),
        Some((NodeKind::Str(_), _)) => {}
        Some((_, n)) => err(n.span, bad("`condition` is a mapping: `{gte: 10}`".into())),
        None => {}
    }
    if let Some(kind) = &kind {
        if condition.is_empty() && !kind.value.temporal() {
            err(
                condition_span,
                bad(format!("`type: {}` needs a `condition`", kind.value.name())).help("e.g. `condition: {gte: 10}`"),
            );
        }
        if kind.value.needs_field() && field.is_none() {
            err(
                condition_span,
                bad(format!("`type: {}` names its `field` in `condition`", kind.value.name()))
                    .help("e.g. `condition: {field: IPAddress, gte: 3}`"),
            );
        }
        if !kind.value.needs_field()
            && let Some(f) = &field
        {
            err(f.span, bad(format!("`type: {}` reads no `field`", kind.value.name())));
        }
        if percentile.is_some() && kind.value != Kind::ValuePercentile {
            err(condition_span, bad("`percentile` is for value_percentile".into()));
        }
    }

    let mut aliases = Vec::new();
    if let Some(map) = body.get("aliases").and_then(Node::as_map) {
        for (name, per_rule) in map {
            let Some(alias) = name.text_as_written(file) else { continue };
            let entries: Vec<(Spanned<String>, Spanned<String>)> = per_rule
                .as_map()
                .unwrap_or_default()
                .iter()
                .filter_map(|(r, f)| {
                    Some((
                        Spanned::new(r.text_as_written(file)?, r.span),
                        Spanned::new(f.text_as_written(file)?, f.span),
                    ))
                })
                .collect();
            for (r, _) in &entries {
                if !rules.iter().any(|x| x.value == r.value) {
                    err(
                        r.span,
                        bad(format!("alias `{alias}` names `{}`, which the correlation does not reference", r.value))
                            .help("an alias maps each rule listed in `rules` to its field"),
                    );
                }
            }
            aliases.push((Spanned::new(alias, name.span), entries));
        }
    }
    let fields = list(root.get("fields"));
    // An alert's outputs are the group-by fields, count, first, last and the
    // aggregate, then `fields`: a name may not be one of them twice.
    let fixed = ["count", "first", "last", "rules"].into_iter().chain(kind.as_ref().map(|k| k.value.name()));
    let mut taken: Vec<&str> = group_by.iter().map(|g| g.value.as_str()).chain(fixed).collect();
    for f in &fields {
        if taken.contains(&f.value.as_str()) {
            err(
                f.span,
                bad(format!("`fields` names `{}`, which an alert already has as a column", f.value))
                    .help("a group-by field's value is in every alert already; `fields` lists other fields' values"),
            );
        }
        taken.push(&f.value);
    }
    let generate = [root.get("generate"), body.get("generate")]
        .into_iter()
        .flatten()
        .any(|n| matches!(n.kind, NodeKind::Bool(true)));

    let (Some(kind), Some(timespan)) = (kind, timespan) else { return (None, errors) };
    if !errors.is_empty() {
        return (None, errors);
    }
    let percentile = percentile.unwrap_or(50.0);
    let c = SigmaCorrelation {
        file: file.clone(),
        root: root.clone(),
        span: key.span,
        kind,
        rules,
        group_by,
        timespan,
        condition,
        condition_span,
        expression,
        field,
        percentile,
        aliases,
        generate,
        fields,
    };
    (Some(c), errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loaded(correlation: &str) -> Result<SigmaCorrelation, Vec<String>> {
        let text = format!("title: t\nname: c\ncorrelation:\n{correlation}");
        let file = SourceFile::new("c.yml", text);
        let root = crate::yaml::parse(&file).unwrap();
        let (c, errors) = load(&file, &root);
        c.ok_or_else(|| {
            errors
                .iter()
                .map(|d| {
                    let (l, col) = d.line_col().unwrap();
                    format!("{l}:{col} {}", d.message)
                })
                .collect()
        })
    }

    #[test]
    fn fields_may_not_repeat_an_alert_column() {
        let body = "  type: value_count\n  rules: [r]\n  group-by: [IPAddress]\n  timespan: 1h\n  condition:\n    field: UserPrincipalName\n    gte: 2\n";
        for (fields, col) in
            [("[IPAddress]", 10), ("[UserPrincipalName, count]", 29), ("[value_count]", 10), ("[A, A]", 13)]
        {
            let err = loaded(&format!("{body}fields: {fields}\n")).unwrap_err();
            let name = fields.trim_matches(['[', ']']).rsplit(", ").next().unwrap();
            assert_eq!(
                err,
                [format!("11:{col} `fields` names `{name}`, which an alert already has as a column")],
                "{fields}"
            );
        }
        assert!(loaded(&format!("{body}fields: [UserPrincipalName, AppId]\n")).is_ok());
    }

    #[test]
    fn timespans_are_read_in_ticks() {
        assert_eq!(parse_timespan("30s"), Some(30 * TICKS_PER_SECOND));
        assert_eq!(parse_timespan("90m"), Some(5400 * TICKS_PER_SECOND));
        assert_eq!(parse_timespan("1h"), Some(3600 * TICKS_PER_SECOND));
        assert_eq!(parse_timespan("2d"), Some(172_800 * TICKS_PER_SECOND));
        for bad in ["", "h", "0m", "-1h", "1M", "1y", "1.5h", "10", "99999999999999999d"] {
            assert_eq!(parse_timespan(bad), None, "{bad}");
        }
    }

    #[test]
    fn an_event_count_loads_with_its_parts() {
        let c = loaded("  type: event_count\n  rules: [failed]\n  group-by: [User]\n  timespan: 10m\n  condition:\n    gte: 5\n    lt: 100\n").unwrap();
        assert_eq!(c.kind.value, Kind::EventCount);
        assert_eq!(c.rules[0].value, "failed");
        assert_eq!(c.group_by[0].value, "User");
        assert_eq!(c.timespan.value, 600 * TICKS_PER_SECOND);
        assert_eq!(c.condition, [(Cmp::Gte, 5.0), (Cmp::Lt, 100.0)]);
        assert!(!c.generate);
    }

    #[test]
    fn a_temporal_needs_no_condition_and_a_value_count_needs_a_field() {
        let t = loaded("  type: temporal\n  rules: [a, b]\n  group-by: [User]\n  timespan: 5m\n").unwrap();
        assert!(t.condition.is_empty());
        let errors =
            loaded("  type: value_count\n  rules: [a]\n  group-by: [User]\n  timespan: 5m\n  condition:\n    gte: 3\n")
                .unwrap_err();
        assert_eq!(errors, ["8:3 `type: value_count` names its `field` in `condition`"]);
    }

    #[test]
    fn schema_errors_come_first_and_the_rest_are_located() {
        // The schema refuses an unknown type or a timespan unit before anything else.
        let errors =
            loaded("  type: event_sum\n  rules: [a]\n  group-by: [User]\n  timespan: 10m\n  condition:\n    gte: 5\n")
                .unwrap_err();
        assert_eq!(errors, ["4:9 invalid `correlation.type` `event_sum`"]);
        let errors = loaded("  type: event_count\n  rules: [a, a]\n  group-by: [User]\n  timespan: 10M\n  condition:\n    gtx: 5\n  aliases:\n    u:\n      b: User\n").unwrap_err();
        assert!(errors.iter().any(|e| e == "5:14 rule `a` is referenced twice"), "{errors:?}");
        assert!(errors.iter().any(|e| e == "7:13 not a timespan"), "{errors:?}");
        assert!(errors.iter().any(|e| e == "9:5 unknown condition `gtx`"), "{errors:?}");
        assert!(errors.iter().any(|e| e.starts_with("12:7 alias `u` names `b`")), "{errors:?}");
    }
}
