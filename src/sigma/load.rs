//! Load: one YAML document of a rule file, recognised as a Sigma detection
//! rule, to a [`SigmaRule`]: its metadata, `logsource`, selections and
//! parsed `condition`, every part with its position.
//!
//! Which kind a document is ([`DocKind`]): a `correlation` with a `type` is
//! a Sigma correlation; a document with `logsource` or `detection` a Sigma
//! detection rule; anything else a sigcorr rule.

use std::sync::{Arc, LazyLock};

use super::condition::{Cond, CondKind, parse_condition};
use crate::diagnostic::{Code, Diagnostic};
use crate::parser::ExprSource;
use crate::rule::{Schema, validate};
use crate::source_map::ScalarMap;
use crate::span::{SourceFile, Span, Spanned};
use crate::yaml::{Node, NodeKind};

/// The JSON Schema of a Sigma detection rule document (the structure only:
/// the values are checked by lint and the lowering).
pub const SIGMA_SCHEMA: &str = include_str!("../../grammar/sigma.schema.json");
/// The JSON Schema of a Sigma correlation rule document.
pub const SIGMA_CORRELATION_SCHEMA: &str = include_str!("../../grammar/sigma-correlation.schema.json");

static DETECTION: LazyLock<Schema> = LazyLock::new(|| Schema::new(SIGMA_SCHEMA, "grammar/sigma.schema.json"));
pub(super) static CORRELATION: LazyLock<Schema> =
    LazyLock::new(|| Schema::new(SIGMA_CORRELATION_SCHEMA, "grammar/sigma-correlation.schema.json"));

/// What a YAML document of a rule file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocKind {
    /// A sigcorr rule: `correlation: {sources, join, ...}`.
    Sigcorr,
    /// A Sigma detection rule: `logsource` and `detection`.
    Detection,
    /// A Sigma correlation rule: `correlation: {type, rules, ...}`.
    Correlation,
}

impl DocKind {
    pub fn of(root: &Node) -> DocKind {
        if root.get("correlation").is_some_and(|c| c.get("type").is_some()) {
            DocKind::Correlation
        } else if root.get("detection").is_some() || root.get("logsource").is_some() {
            DocKind::Detection
        } else {
            DocKind::Sigcorr
        }
    }

    /// As `lint` names it.
    pub fn name(self) -> &'static str {
        match self {
            DocKind::Sigcorr => "sigcorr rule",
            DocKind::Detection => "Sigma detection rule",
            DocKind::Correlation => "Sigma correlation rule",
        }
    }
}

/// A Sigma detection rule as written.
#[derive(Debug, Clone)]
pub struct SigmaRule {
    pub file: Arc<SourceFile>,
    pub root: Node,
    pub logsource: Logsource,
    /// The detection's selections, in file order (`condition` left out).
    pub selections: Vec<Selection>,
    /// The condition; a list of conditions is read as their `or`.
    pub condition: Cond,
    /// The span of the `detection:` key.
    pub detection_span: Span,
    /// The `fields:` list: what an alert should show.
    pub fields: Vec<Spanned<String>>,
}

/// `logsource:`; each key with its value's position.
#[derive(Debug, Clone)]
pub struct Logsource {
    pub product: Option<Spanned<String>>,
    pub category: Option<Spanned<String>>,
    pub service: Option<Spanned<String>>,
    /// The span of the `logsource:` key.
    pub span: Span,
}

impl Logsource {
    /// `product: azure, service: signinlogs`, as a message names it.
    pub fn describe(&self) -> String {
        let parts: Vec<String> = [("product", &self.product), ("category", &self.category), ("service", &self.service)]
            .iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}: {}", v.value)))
            .collect();
        parts.join(", ")
    }
}

/// A named search identifier of the detection: a map, a list, or keywords.
#[derive(Debug, Clone)]
pub struct Selection {
    pub name: Spanned<String>,
    pub node: Node,
}

type Errors = Vec<Diagnostic>;

/// Loads one Sigma detection document. Every problem is returned; the rule
/// only when its detection came through whole.
pub fn load(file: &Arc<SourceFile>, root: &Node) -> (Option<SigmaRule>, Errors) {
    let (mut errors, detection_valid) = validate(file, root, &DETECTION, "/detection");
    let logsource_valid = !errors.iter().any(|d| d.span.is_some_and(|s| within(root, "/logsource", s)));
    let (Some((detection_key, detection)), Some((logsource_key, logsource))) =
        (root.entry("detection"), root.entry("logsource"))
    else {
        return (None, errors);
    };
    if !detection_valid || !logsource_valid {
        return (None, errors);
    }
    let text = |key: &str| {
        let n = logsource.get(key)?;
        Some(Spanned::new(n.text_as_written(file)?, n.span))
    };
    let logsource = Logsource {
        product: text("product"),
        category: text("category"),
        service: text("service"),
        span: logsource_key.span,
    };
    let mut selections = Vec::new();
    let mut conditions = Vec::new();
    for (key, value) in detection.as_map().unwrap_or_default() {
        let name = key.text_as_written(file).unwrap_or_default();
        match name.as_str() {
            "condition" => conditions = condition_texts(value),
            "timeframe" => errors.push(
                Diagnostic::new(Code::SigmaCorrelation, "`timeframe` in a detection is deprecated and not supported")
                    .at(file, key.span)
                    .help("count or order events over time with a Sigma correlation rule"),
            ),
            _ => selections.push(Selection { name: Spanned::new(name, key.span), node: value.clone() }),
        }
    }
    let mut parsed = Vec::new();
    for node in conditions {
        let text = node.as_str().unwrap_or_default();
        let map = ScalarMap::in_span(&file.text, node.span, text);
        match parse_condition(text, &ExprSource { file, map: &map }) {
            Ok(c) => parsed.push(c),
            Err(d) => errors.push(d),
        }
    }
    let parsed = any_of(parsed);
    let fields = root
        .get("fields")
        .and_then(Node::as_seq)
        .unwrap_or_default()
        .iter()
        .filter_map(|n| Some(Spanned::new(n.text_as_written(file)?, n.span)))
        .collect();
    let rule = parsed.filter(|_| errors.is_empty()).map(|condition| SigmaRule {
        file: file.clone(),
        root: root.clone(),
        logsource,
        selections,
        condition,
        detection_span: detection_key.span,
        fields,
    });
    (rule, errors)
}

/// The `or` of a condition list, as a balanced tree: a list of 10,000
/// conditions nests 14 deep, not 10,000 (every later stage recurses).
fn any_of(mut conds: Vec<Cond>) -> Option<Cond> {
    match conds.len() {
        0 => None,
        1 => conds.pop(),
        n => {
            let right = conds.split_off(n / 2);
            let (a, b) = (any_of(conds)?, any_of(right)?);
            let span = Span::new(a.span.start.min(b.span.start), a.span.end.max(b.span.end));
            Some(Cond { kind: CondKind::Or(Box::new(a), Box::new(b)), span })
        }
    }
}

fn condition_texts(node: &Node) -> Vec<&Node> {
    match &node.kind {
        NodeKind::Str(_) => vec![node],
        NodeKind::Seq(items) => items.iter().filter(|i| i.as_str().is_some()).collect(),
        _ => Vec::new(),
    }
}

/// Whether `span` lies in the node at `pointer`.
fn within(root: &Node, pointer: &str, span: Span) -> bool {
    let key = root.pointer_key(pointer);
    let node = root.pointer(pointer);
    [key, node].into_iter().flatten().any(|n| n.span.start <= span.start && span.end <= n.span.end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml;

    const RULE: &str = "title: t\nid: 5f0fd1a1-3f2a-4b4e-9c8a-0d6f2b1c7e11\nlogsource:\n  product: azure\n  service: signinlogs\ndetection:\n  selection:\n    ResultType: 50053\n  filter:\n    - AppId: x\n  condition: selection and not filter\nlevel: high\n";

    fn load_str(text: &str) -> (Option<SigmaRule>, Vec<String>) {
        let file = SourceFile::new("r.yml", text.to_string());
        let root = yaml::parse(&file).unwrap();
        let (rule, errors) = load(&file, &root);
        let errors = errors
            .iter()
            .map(|d| {
                let (l, c) = d.line_col().expect("located");
                format!("{l}:{c} {} {}", d.code.as_str(), d.message)
            })
            .collect();
        (rule, errors)
    }

    #[test]
    fn kinds() {
        let kind = |t: &str| DocKind::of(&yaml::parse(&SourceFile::new("r.yml", t.to_string())).unwrap());
        assert_eq!(kind(RULE), DocKind::Detection);
        assert_eq!(kind("title: t\ncorrelation:\n  type: event_count\n  rules: [a]\n"), DocKind::Correlation);
        assert_eq!(kind("title: t\ncorrelation:\n  sources: {a: T}\n"), DocKind::Sigcorr);
        assert_eq!(kind("title: t\ndetection: {}\n"), DocKind::Detection);
    }

    #[test]
    fn a_rule_loads_with_its_parts_located() {
        let (rule, errors) = load_str(RULE);
        assert_eq!(errors, Vec::<String>::new());
        let rule = rule.unwrap();
        let names: Vec<&str> = rule.selections.iter().map(|s| s.name.value.as_str()).collect();
        assert_eq!(names, ["selection", "filter"]);
        assert_eq!(rule.logsource.describe(), "product: azure, service: signinlogs");
        assert_eq!(&RULE[rule.logsource.service.unwrap().span.start..][..10], "signinlogs");
        assert!(matches!(rule.condition.kind, CondKind::And(..)));
    }

    #[test]
    fn a_condition_list_is_an_or() {
        let text =
            RULE.replace("  condition: selection and not filter\n", "  condition:\n    - selection\n    - filter\n");
        let (rule, errors) = load_str(&text);
        assert_eq!(errors, Vec::<String>::new());
        assert!(matches!(rule.unwrap().condition.kind, CondKind::Or(..)));
    }

    #[test]
    fn structure_errors_are_located_and_stop_the_rule() {
        let (rule, errors) = load_str(&RULE.replace("  condition: selection and not filter\n", ""));
        assert!(rule.is_none());
        assert_eq!(errors, ["6:1 E010 missing `condition` in `detection`"]);
        let (rule, errors) =
            load_str(&RULE.replace("  product: azure\n  service: signinlogs\n", "  product: [azure]\n"));
        assert!(rule.is_none());
        assert_eq!(errors, ["4:12 E010 `logsource.product` must be a string, found a list"]);
        let (rule, errors) = load_str(&RULE.replace("selection and not filter", "selection and"));
        assert!(rule.is_none());
        assert_eq!(errors.len(), 1);
        assert!(errors[0].contains("E101"), "{errors:?}");
        let (rule, errors) = load_str(&RULE.replace("  filter:\n", "  timeframe: 5m\n  filter:\n"));
        assert!(rule.is_none());
        assert_eq!(errors, ["9:3 E120 `timeframe` in a detection is deprecated and not supported"]);
    }

    #[test]
    fn schema_errors_anywhere_refuse_the_rule() {
        let (rule, errors) = load_str(&RULE.replace("title: t\n", "title: [t]\n"));
        assert_eq!(errors, ["1:8 E010 `title` must be a string, found a list"]);
        assert!(rule.is_none(), "a schema error refuses the rule");
    }
}
