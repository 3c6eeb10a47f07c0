//! A Sigma rule's `condition` text to [`Cond`], with pest. pest stays inside
//! this file: the tree never exposes `Pair` or `Rule`.
//!
//! The grammar (`grammar/sigma_condition.pest`) is the Sigma rules
//! specification v2.1, section "Condition": selection names, `1 of` / `all
//! of` a name pattern or `them`, `not`, `and`, `or` (least binding) and
//! parentheses. Where the specification is silent, it reads as pySigma
//! (`sigma/conditions.py`), the reference implementation:
//!
//! - **Keywords are lowercase.** pySigma's `and`, `or` and `not` are pyparsing
//!   literals and its `1`, `any`, `all` and `of` case-sensitive keywords, so
//!   `selection AND filter` does not parse there either; the specification
//!   writes every keyword in lowercase. A miscased keyword gets its own message.
//! - **`any of x` is `1 of x`**, as pySigma reads it (its quantifier is
//!   `1 | any | all`).
//! - **`2 of x` is refused**: the specification has `1/all of`, and pySigma's
//!   quantifier takes no other number.
//! - **Names** are ASCII letters, digits, `_` and `-` (pySigma's identifiers);
//!   patterns add `*`.
//! - **The aggregations after `|`** (`| count() by x > 5`) were removed from
//!   Sigma in favour of correlation rules; pySigma refuses any `|`, and so
//!   does this parser, at the `|`.

use std::sync::LazyLock;

use pest::Parser as _;
use pest::error::{ErrorVariant, InputLocation};
use pest::iterators::{Pair, Pairs};
use pest::pratt_parser::{Assoc, Op, PrattParser};

use crate::diagnostic::{Code, Diagnostic};
use crate::parser::{ExprSource, MAX_OPERATORS};
use crate::span::Span;

/// A condition, or a part of one.
#[derive(Debug, Clone, PartialEq)]
pub struct Cond {
    pub kind: CondKind,
    /// File offsets of the condition's text (with its parentheses, if any).
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CondKind {
    And(Box<Cond>, Box<Cond>),
    Or(Box<Cond>, Box<Cond>),
    Not(Box<Cond>),
    /// A selection by name.
    Name(String),
    /// `1 of x` (`all: false`) / `all of x` (`all: true`); `pattern` None for
    /// `them`. Either takes the selections [`selects`] says it does.
    Of {
        all: bool,
        pattern: Option<String>,
    },
}

impl Cond {
    /// A compact s-expression of the tree (`(and a (not b))`): its structure
    /// and precedence, without positions, for tests to compare.
    pub fn sexp(&self) -> String {
        match &self.kind {
            CondKind::And(l, r) => format!("(and {} {})", l.sexp(), r.sexp()),
            CondKind::Or(l, r) => format!("(or {} {})", l.sexp(), r.sexp()),
            CondKind::Not(c) => format!("(not {})", c.sexp()),
            CondKind::Name(n) => n.clone(),
            CondKind::Of { all, pattern } => {
                format!("({} of {})", if *all { "all" } else { "1" }, pattern.as_deref().unwrap_or("them"))
            }
        }
    }

    /// Every `Name` and `Of` node, in order (for "unused selection" /
    /// "unknown name" lints).
    pub fn walk<'a>(&'a self, f: &mut impl FnMut(&'a Cond)) {
        match &self.kind {
            CondKind::And(l, r) | CondKind::Or(l, r) => {
                l.walk(f);
                r.walk(f);
            }
            CondKind::Not(c) => c.walk(f),
            CondKind::Name(_) | CondKind::Of { .. } => f(self),
        }
    }
}

/// Whether a selection name matches a `1 of` pattern (`*` matches any run of
/// chars, case-sensitive). The whole name must match: `sel` does not match
/// `selection` (pySigma's `re.match` would, anchoring only the start; the
/// specification has `*` for that).
pub fn pattern_matches(pattern: &str, name: &str) -> bool {
    let (p, n) = (pattern.as_bytes(), name.as_bytes());
    let (mut i, mut j) = (0, 0);
    // After the last `*` seen: where the pattern resumes, and the name
    // offset it was last tried at.
    let mut star: Option<(usize, usize)> = None;
    while j < n.len() {
        if p.get(i) == Some(&b'*') {
            i += 1;
            star = Some((i, j));
        } else if p.get(i) == Some(&n[j]) {
            i += 1;
            j += 1;
        } else if let Some((si, sj)) = star {
            // The `*` takes one more byte of the name.
            star = Some((si, sj + 1));
            i = si;
            j = sj + 1;
        } else {
            return false;
        }
    }
    p[i..].iter().all(|&c| c == b'*')
}

/// Whether `1 of` / `all of` the `pattern` (None for `them`) takes the
/// selection `name`: names starting with `_` never (the specification
/// excludes them from `them`, and pySigma from every pattern), the others
/// when [`pattern_matches`].
pub fn selects(pattern: Option<&str>, name: &str) -> bool {
    !name.starts_with('_') && pattern.is_none_or(|p| pattern_matches(p, name))
}

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/sigma_condition.pest"]
struct ConditionParser;

static PRATT: LazyLock<PrattParser<Rule>> = LazyLock::new(|| {
    PrattParser::new()
        .op(Op::infix(Rule::or, Assoc::Left))
        .op(Op::infix(Rule::and, Assoc::Left))
        .op(Op::prefix(Rule::not))
});

/// Deeper nesting of parentheses is refused before pest sees it, so hostile
/// input cannot exhaust the stack. Sigma's own rules nest three or four deep.
pub const MAX_NESTING: usize = 64;

/// Bounds pest's work on hostile input, as [`crate::parser`] does: calls per
/// byte of the condition, with a floor for short ones. The grammar backtracks
/// at most one operand (`1 of` read again as a name), so a condition needs a
/// few calls a byte; the limit stops only a runaway.
const CALLS_PER_BYTE: usize = 256;
const MIN_CALLS: usize = 200_000;

/// Keywords, to recognise them miscased.
const KEYWORDS: [&str; 7] = ["and", "or", "not", "of", "them", "all", "any"];

type Result<T> = std::result::Result<T, Diagnostic>;

/// Parses a condition. `text` is the YAML scalar's value; `src.map` maps its
/// offsets to the file. A `condition` that is a list (its items or-ed, in the
/// specification) is the caller's: each item is parsed alone.
///
/// At most [`MAX_OPERATORS`] `and`, `or` and `not` (the lowered condition is
/// an expression the checker and the engine walk recursively) and
/// [`MAX_NESTING`] levels of parentheses.
pub fn parse_condition(text: &str, src: &ExprSource) -> Result<Cond> {
    let error = |message: String, start: usize, end: usize| {
        Diagnostic::new(Code::ConditionSyntax, message).at(src.file, src.map.span(start, end))
    };
    if text.trim().is_empty() {
        return Err(error("empty condition".into(), 0, text.len())
            .help("name the selections that must match, e.g. `selection and not filter`"));
    }
    if let Some(at) = text.find('|') {
        if text[at..].starts_with("||") {
            return Err(error("unexpected `||`".into(), at, at + 2).help("write `or`"));
        }
        let before = text[..at].trim();
        let keep =
            if before.is_empty() || before.len() > 60 { "the condition".to_string() } else { format!("`{before}`") };
        return Err(error(
            "aggregation expressions after `|` were removed from Sigma; write a correlation rule".into(),
            at,
            at + 1,
        )
        .help(format!(
            "keep {keep} here, and count this rule's matches in a Sigma correlation rule \
             (`type: event_count` with `group-by`, `timespan` and `condition`)"
        )));
    }
    check_parentheses(text, src)?;
    let limit = MIN_CALLS.max(text.len().saturating_mul(CALLS_PER_BYTE));
    pest::set_call_limit(std::num::NonZeroUsize::new(limit));
    let mut pairs = ConditionParser::parse(Rule::condition, text).map_err(|e| syntax_error(e, text, src))?;
    let operator = |p: &Pair<Rule>| matches!(p.as_rule(), Rule::and | Rule::or | Rule::not);
    if let Some(op) = pairs.clone().flatten().filter(operator).nth(MAX_OPERATORS) {
        return Err(Diagnostic::new(
            Code::ConditionSyntax,
            format!("more than {MAX_OPERATORS} operators in one condition"),
        )
        .at(src.file, span(&op, src))
        .help("name related selections alike and take them together: `1 of selection_*`, `all of filter_*`"));
    }
    let condition = pairs.next().expect("condition rule matched");
    let expr = condition.into_inner().next().expect("condition holds expr");
    parse_expr(expr.into_inner(), src)
}

fn span(pair: &Pair<Rule>, src: &ExprSource) -> Span {
    let s = pair.as_span();
    src.map.span(s.start(), s.end())
}

fn parse_expr(pairs: Pairs<Rule>, src: &ExprSource) -> Result<Cond> {
    PRATT
        .map_primary(|p| parse_primary(p, src))
        .map_prefix(|op, rhs| {
            let rhs = rhs?;
            debug_assert_eq!(op.as_rule(), Rule::not);
            Ok(Cond { span: span(&op, src).to(rhs.span), kind: CondKind::Not(Box::new(rhs)) })
        })
        .map_infix(|lhs, op, rhs| {
            let (lhs, rhs) = (Box::new(lhs?), Box::new(rhs?));
            let span = lhs.span.to(rhs.span);
            let kind = match op.as_rule() {
                Rule::and => CondKind::And(lhs, rhs),
                Rule::or => CondKind::Or(lhs, rhs),
                rule => unreachable!("infix operator {rule:?}"),
            };
            Ok(Cond { kind, span })
        })
        .parse(pairs)
}

fn parse_primary(pair: Pair<Rule>, src: &ExprSource) -> Result<Cond> {
    let sp = span(&pair, src);
    match pair.as_rule() {
        Rule::paren => {
            let expr = pair.into_inner().next().expect("parenthesised expr");
            let inner = parse_expr(expr.into_inner(), src)?;
            Ok(Cond { span: sp, ..inner })
        }
        Rule::of => {
            let mut inner = pair.into_inner();
            let quantifier = inner.next().expect("quantifier");
            let all = match quantifier.as_str() {
                "1" | "any" => false,
                "all" => true,
                n => {
                    return Err(Diagnostic::new(Code::ConditionSyntax, format!("`{n} of` is not a Sigma quantifier"))
                        .at(src.file, span(&quantifier, src))
                        .help("write `1 of` (any one matches) or `all of` (every one matches)"));
                }
            };
            let _of = inner.next().expect("`of`");
            let target = inner.next().expect("`of` target");
            let pattern = match target.as_rule() {
                Rule::them => None,
                Rule::pattern => Some(target.as_str().to_string()),
                rule => unreachable!("`of` target {rule:?}"),
            };
            Ok(Cond { kind: CondKind::Of { all, pattern }, span: sp })
        }
        Rule::name => Ok(Cond { kind: CondKind::Name(pair.as_str().to_string()), span: sp }),
        rule => unreachable!("operand {rule:?}"),
    }
}

/// Unbalanced parentheses get their own message pointing at the one left
/// open (or the stray closing one): pest would only say what it expected at
/// the end of the text.
fn check_parentheses(text: &str, src: &ExprSource) -> Result<()> {
    let error = |message: &str, at: usize| {
        Diagnostic::new(Code::ConditionSyntax, message).at(src.file, src.map.span(at, at + 1))
    };
    let mut open: Vec<usize> = Vec::new();
    for (i, c) in text.char_indices() {
        match c {
            '(' => {
                open.push(i);
                if open.len() > MAX_NESTING {
                    return Err(error(&format!("parentheses nested deeper than {MAX_NESTING} levels"), i));
                }
            }
            ')' if open.pop().is_none() => {
                return Err(error("unmatched `)`", i).help("remove it, or add the `(` it closes"));
            }
            _ => {}
        }
    }
    match open.pop() {
        Some(i) => Err(error("unclosed `(`", i).help("add the matching `)`")),
        None => Ok(()),
    }
}

/// What a grammar rule is called in messages.
fn describe(rule: &Rule) -> String {
    match rule {
        Rule::EOI => "end of condition",
        Rule::and => "`and`",
        Rule::or => "`or`",
        Rule::not => "`not`",
        Rule::paren => "`(`",
        Rule::close => "`)`",
        Rule::of | Rule::quantifier => "`1 of`, `all of`",
        Rule::of_kw => "`of`",
        Rule::them => "`them`",
        Rule::pattern => "a selection name pattern",
        Rule::name => "a selection name",
        _ => "a condition",
    }
    .to_string()
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '*')
}

/// The token at `pos`: a run of name and pattern characters, or one other
/// character; empty at the end of the text.
fn token_at(text: &str, pos: usize) -> (usize, usize) {
    let rest = &text[pos..];
    let len = match rest.chars().next() {
        None => 0,
        Some(c) if is_word_char(c) => rest.find(|c| !is_word_char(c)).unwrap_or(rest.len()),
        Some(c) => c.len_utf8(),
    };
    (pos, pos + len)
}

/// The words of the text (runs of name and pattern characters) that start
/// before `pos`, with their offsets.
fn words_before(text: &str, pos: usize) -> Vec<(usize, &str)> {
    let mut words = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices().chain(std::iter::once((text.len(), ' '))) {
        match (is_word_char(c), start) {
            (true, None) if i < pos => start = Some(i),
            (false, Some(s)) => {
                words.push((s, &text[s..i]));
                start = None;
            }
            _ => {}
        }
    }
    words
}

fn syntax_error(e: pest::error::Error<Rule>, text: &str, src: &ExprSource) -> Diagnostic {
    let pos = match e.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    };
    let diagnostic = |message: String, (start, end): (usize, usize)| {
        Diagnostic::new(Code::ConditionSyntax, message).at(src.file, src.map.span(start, end))
    };
    // The end of the condition is where its text ends, not after the
    // line break a literal block scalar keeps.
    let at_end = text[pos..].trim().is_empty();
    let pos = if at_end { text.trim_end().len() } else { pos };
    let token = if at_end { (pos, pos) } else { token_at(text, pos) };
    let current = &text[token.0..token.1];
    let before = words_before(text, pos);
    let previous = before.last().map(|&(_, w)| w);
    // A miscased keyword at the error, or just before it, is its cause:
    // `NOT filter` reads `NOT` as a selection name and fails at `filter`.
    let miscased = |w: &str| {
        let lower = w.to_ascii_lowercase();
        (w != lower && KEYWORDS.contains(&lower.as_str())).then_some(lower)
    };
    let at_or_before = miscased(current).map(|l| (token, l)).or_else(|| {
        let &(start, w) = before.last()?;
        miscased(w).map(|l| ((start, start + w.len()), l))
    });
    if let Some(((start, end), lower)) = at_or_before {
        return diagnostic(format!("unexpected `{}`: Sigma keywords are lowercase", &text[start..end]), (start, end))
            .help(format!("write `{lower}`"));
    }
    let found = match current {
        "" => "end of condition".to_string(),
        t => format!("`{}`", t.chars().take(20).collect::<String>()),
    };
    let positives: &[Rule] = match &e.variant {
        ErrorVariant::ParsingError { positives, .. } => positives,
        ErrorVariant::CustomError { .. } => &[],
    };
    let message = match e.clone().renamed_rules(describe).variant {
        ErrorVariant::CustomError { message } if !positives.is_empty() => format!("unexpected {found}: {message}"),
        ErrorVariant::CustomError { message } => message,
        ErrorVariant::ParsingError { .. } => format!("unexpected {found}"),
    };
    let d = diagnostic(message, token);
    let names_follow = current.starts_with(|c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '*'));
    if positives.contains(&Rule::them) || positives.contains(&Rule::pattern) {
        // `1 of` / `all of` without a target: the quantifier is the word before `of`.
        let q = match before.as_slice() {
            [.., (_, q), (_, "of")] => q,
            _ => "1",
        };
        d.help(format!("write `{q} of selection*` or `{q} of them`"))
    } else if current.starts_with('&') {
        d.help("write `and`")
    } else if current.starts_with('!') {
        d.help("write `not`")
    } else if current.starts_with(|c: char| !is_word_char(c) && !matches!(c, '(' | ')')) {
        d.help("selection names are ASCII letters, digits, `_` and `-`; `1 of` patterns add `*`")
    } else if let Some(q @ ("1" | "all" | "any")) = previous
        && positives.contains(&Rule::and)
        && names_follow
    {
        d.help(format!("write `{q} of {current}`"))
    } else if positives.contains(&Rule::and) && names_follow {
        d.help("join selections with `and` or `or`")
    } else {
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source_map::ScalarMap;
    use crate::span::SourceFile;

    fn parse(text: &str) -> Result<Cond> {
        let file = SourceFile::new("r.yml", text.to_string());
        let map = ScalarMap::verbatim(0, text.len());
        parse_condition(text, &ExprSource { file: &file, map: &map })
    }

    fn p(text: &str) -> String {
        parse(text).unwrap_or_else(|e| panic!("{text}: {e}")).sexp()
    }

    /// The message, `(line, col)` and help of the error.
    fn err(text: &str) -> (String, (usize, usize), Option<String>) {
        let e = parse(text).expect_err(text);
        assert_eq!(e.code, Code::ConditionSyntax);
        (e.message.clone(), e.line_col().unwrap(), e.help.clone())
    }

    #[test]
    fn precedence() {
        assert_eq!(p("a or b and not c"), "(or a (and b (not c)))");
        assert_eq!(p("not a and b"), "(and (not a) b)");
        assert_eq!(p("a and b or c and d"), "(or (and a b) (and c d))");
        assert_eq!(p("a or b or c"), "(or (or a b) c)");
        assert_eq!(p("a and b and c"), "(and (and a b) c)");
        assert_eq!(p("not not a"), "(not (not a))");
        assert_eq!(p("not 1 of filter* and sel"), "(and (not (1 of filter*)) sel)");
    }

    #[test]
    fn parentheses() {
        assert_eq!(p("(a or b) and c"), "(and (or a b) c)");
        assert_eq!(p("a and (b or c)"), "(and a (or b c))");
        assert_eq!(p("not (a or b)"), "(not (or a b))");
        assert_eq!(p("((a))"), "a");
        assert_eq!(p("selection1 and (keywords1 or keywords2)"), "(and selection1 (or keywords1 keywords2))");
        assert_eq!(p("(1 of sel*)and(not filter)"), "(and (1 of sel*) (not filter))");
    }

    #[test]
    fn of_forms() {
        assert_eq!(p("1 of sel*"), "(1 of sel*)");
        assert_eq!(p("all of selection_*"), "(all of selection_*)");
        assert_eq!(p("1 of them"), "(1 of them)");
        assert_eq!(p("all of them"), "(all of them)");
        assert_eq!(p("any of filter_*"), "(1 of filter_*)", "pySigma's `any of` is `1 of`");
        assert_eq!(p("1 of *_main*"), "(1 of *_main*)");
        assert_eq!(p("1 of sel-a*"), "(1 of sel-a*)");
        assert_eq!(p("1 of themselves"), "(1 of themselves)");
        assert_eq!(p("1 of them*"), "(1 of them*)");
        assert_eq!(
            p("selection_main and 1 of selection_dword_* and not 1 of filter_optional_*"),
            "(and (and selection_main (1 of selection_dword_*)) (not (1 of filter_optional_*)))"
        );
        let c = parse("all of them").unwrap();
        assert_eq!(c.kind, CondKind::Of { all: true, pattern: None });
        let c = parse("1 of sel*").unwrap();
        assert_eq!(c.kind, CondKind::Of { all: false, pattern: Some("sel*".into()) });
    }

    #[test]
    fn names() {
        assert_eq!(p("selection"), "selection");
        assert_eq!(p("filter_main_1 or sel-a or 1x"), "(or (or filter_main_1 sel-a) 1x)");
        // Keywords are names where they cannot be keywords, as in pySigma.
        assert_eq!(p("all or them"), "(or all them)");
        assert_eq!(p("notepad and android or order"), "(or (and notepad android) order)");
        assert_eq!(p("and_filter or or_sel"), "(or and_filter or_sel)");
        let c = parse("sel").unwrap();
        assert_eq!(c.kind, CondKind::Name("sel".into()));
    }

    #[test]
    fn whitespace_and_lines() {
        assert_eq!(p("  a\tand\n  (b\r\n or c)  "), "(and a (or b c))");
        assert_eq!(p("1\nof\tthem"), "(1 of them)");
    }

    #[test]
    fn keywords_are_lowercase_only() {
        assert_eq!(
            err("selection AND filter"),
            ("unexpected `AND`: Sigma keywords are lowercase".into(), (1, 11), Some("write `and`".into()))
        );
        assert_eq!(
            err("selection and NOT filter"),
            ("unexpected `NOT`: Sigma keywords are lowercase".into(), (1, 15), Some("write `not`".into()))
        );
        assert_eq!(err("1 OF them").0, "unexpected `OF`: Sigma keywords are lowercase");
        assert_eq!(err("All of them").2, Some("write `all`".into()));
        assert_eq!(err("a Or b").1, (1, 3));
    }

    #[test]
    fn spans_are_file_offsets() {
        let text = "sel and not (1 of filter*)";
        let c = parse(text).unwrap();
        assert_eq!((c.span.start, c.span.end), (0, text.len()));
        let CondKind::And(l, r) = &c.kind else { panic!("{c:?}") };
        assert_eq!(&text[l.span.start..l.span.end], "sel");
        assert_eq!(&text[r.span.start..r.span.end], "not (1 of filter*)");
        let CondKind::Not(inner) = &r.kind else { panic!("{r:?}") };
        assert_eq!(&text[inner.span.start..inner.span.end], "(1 of filter*)");
    }

    /// A folded condition in a rule file: the tree's spans and the errors'
    /// positions are the file's, through the scalar's map.
    #[test]
    fn folded_yaml_conditions_map_to_file_positions() {
        let file_text = "detection:\n    condition: >-\n        selection and\n        not 1 of filter_*\n";
        let value = "selection and not 1 of filter_*";
        let file = SourceFile::new("r.yml", file_text.to_string());
        let map = ScalarMap::new(file_text, file_text.find(">-").unwrap(), value);
        let c = parse_condition(value, &ExprSource { file: &file, map: &map }).unwrap();
        assert_eq!(c.sexp(), "(and selection (not (1 of filter_*)))");
        let CondKind::And(_, r) = &c.kind else { panic!() };
        assert_eq!(&file_text[r.span.start..r.span.end], "not 1 of filter_*");
        assert_eq!(file.line_col(r.span.start), (4, 9));

        let file_text = "detection:\n    condition: |\n        selection and\n        not 1 of\n";
        let value = "selection and\nnot 1 of\n";
        let file = SourceFile::new("r.yml", file_text.to_string());
        let map = ScalarMap::new(file_text, file_text.find('|').unwrap(), value);
        let e = parse_condition(value, &ExprSource { file: &file, map: &map }).unwrap_err();
        assert_eq!(e.message, "unexpected end of condition: expected a selection name pattern or `them`");
        assert_eq!(e.location(), "r.yml:4:17");
        assert_eq!(e.help.as_deref(), Some("write `1 of selection*` or `1 of them`"));

        let file_text = "detection:\n    condition: 'selection | count() > 5'\n";
        let value = "selection | count() > 5";
        let file = SourceFile::new("r.yml", file_text.to_string());
        let map = ScalarMap::new(file_text, file_text.find('\'').unwrap(), value);
        let e = parse_condition(value, &ExprSource { file: &file, map: &map }).unwrap_err();
        assert_eq!(
            e.render().lines().take(4).collect::<Vec<_>>(),
            [
                "r.yml:2:27: error[E101]: aggregation expressions after `|` were removed from Sigma; write a correlation rule",
                "  |",
                "2 |     condition: 'selection | count() > 5'",
                "  |                           ^",
            ]
        );
    }

    #[test]
    fn error_positions_and_messages() {
        assert_eq!(
            err("1 of"),
            (
                "unexpected end of condition: expected a selection name pattern or `them`".into(),
                (1, 5),
                Some("write `1 of selection*` or `1 of them`".into())
            )
        );
        assert_eq!(err("all of (x)").2, Some("write `all of selection*` or `all of them`".into()));
        assert_eq!(
            err("selection and"),
            (
                "unexpected end of condition: expected a selection name, `1 of`, `all of`, `not`, or `(`".into(),
                (1, 14),
                None
            )
        );
        assert_eq!(
            err("selection filter"),
            (
                "unexpected `filter`: expected end of condition, `and`, or `or`".into(),
                (1, 11),
                Some("join selections with `and` or `or`".into())
            )
        );
        assert_eq!(
            err("(a b)"),
            (
                "unexpected `b`: expected `and`, `or`, or `)`".into(),
                (1, 4),
                Some("join selections with `and` or `or`".into())
            )
        );
        assert_eq!(err("all selection*").2, Some("write `all of selection*`".into()));
        assert_eq!(
            err("not"),
            (
                "unexpected end of condition: expected a selection name, `1 of`, `all of`, `not`, or `(`".into(),
                (1, 4),
                None
            )
        );
        assert_eq!(err("a and or b").0, "unexpected `or`: expected a selection name, `1 of`, `all of`, `not`, or `(`");
        assert_eq!(
            err("a && b"),
            ("unexpected `&`: expected end of condition, `and`, or `or`".into(), (1, 3), Some("write `and`".into()))
        );
        assert_eq!(err("!a").2, Some("write `not`".into()));
        assert_eq!(err("a || b"), ("unexpected `||`".into(), (1, 3), Some("write `or`".into())));
        assert_eq!(
            err("sel.a"),
            (
                "unexpected `.`: expected end of condition, `and`, or `or`".into(),
                (1, 4),
                Some("selection names are ASCII letters, digits, `_` and `-`; `1 of` patterns add `*`".into())
            )
        );
        assert_eq!(err("1 of sel?").1, (1, 9));
        assert_eq!(err("sélection").1, (1, 2));
        assert_eq!(
            err("2 of sel*"),
            (
                "`2 of` is not a Sigma quantifier".into(),
                (1, 1),
                Some("write `1 of` (any one matches) or `all of` (every one matches)".into())
            )
        );
        assert_eq!(err("(a"), ("unclosed `(`".into(), (1, 1), Some("add the matching `)`".into())));
        assert_eq!(
            err("a) or (b"),
            ("unmatched `)`".into(), (1, 2), Some("remove it, or add the `(` it closes".into()))
        );
        assert_eq!(err("()"), ("unexpected `)`: expected a condition".into(), (1, 2), None));
        assert_eq!(err("").0, "empty condition");
        assert_eq!(err(" \n ").1, (1, 1));
    }

    #[test]
    fn pipe_aggregations_are_refused_at_the_pipe() {
        let (message, at, help) = err("selection | count(dst_ip) by src_ip > 10");
        assert_eq!(message, "aggregation expressions after `|` were removed from Sigma; write a correlation rule");
        assert_eq!(at, (1, 11));
        assert_eq!(
            help.as_deref(),
            Some(
                "keep `selection` here, and count this rule's matches in a Sigma correlation rule \
                 (`type: event_count` with `group-by`, `timespan` and `condition`)"
            )
        );
        assert_eq!(err("1 of sel* and (\n  x | near y)").1, (2, 5), "before the brackets are checked");
        assert!(err("| count() > 5").2.unwrap().starts_with("keep the condition here"));
    }

    #[test]
    fn hostile_nesting_is_an_error_not_a_crash() {
        let deep = format!("{}a{}", "(".repeat(5000), ")".repeat(5000));
        assert_eq!(err(&deep).0, format!("parentheses nested deeper than {MAX_NESTING} levels"));
        assert_eq!(err(&deep).1, (1, MAX_NESTING + 1));
        let unclosed = "(".repeat(100_000);
        assert_eq!(err(&unclosed).1, (1, MAX_NESTING + 1));
        let ok = format!("{}a{}", "(".repeat(MAX_NESTING), ")".repeat(MAX_NESTING));
        assert_eq!(p(&ok), "a");
        let ok = format!("{}a{}", "(not ".repeat(MAX_NESTING), ")".repeat(MAX_NESTING));
        assert!(p(&ok).starts_with("(not (not"));
    }

    #[test]
    fn too_many_operators_is_an_error_at_the_first_past_the_limit() {
        let chain = |n: usize| format!("a{}", " or a".repeat(n));
        assert!(p(&chain(MAX_OPERATORS)).starts_with("(or (or"));
        let (message, (line, col), _) = err(&chain(MAX_OPERATORS + 1));
        assert_eq!(message, format!("more than {MAX_OPERATORS} operators in one condition"));
        // `a` then ` or a` per operator: the 257th `or` is at column 3 + 5 * 256.
        assert_eq!((line, col), (1, 3 + 5 * MAX_OPERATORS));
        let nots = format!("{}a", "not ".repeat(100_000));
        assert_eq!(err(&nots).1, (1, 1 + 4 * MAX_OPERATORS));
        // A long condition of names: the work is bounded by its length.
        let long = (0..MAX_OPERATORS).map(|i| format!("selection_{i}")).collect::<Vec<_>>().join(" or\n ");
        assert_eq!(p(&long).matches("selection_").count(), MAX_OPERATORS);
    }

    #[test]
    fn walk_visits_names_and_ofs_in_order() {
        let c = parse("a and not (1 of b* or c) or all of them").unwrap();
        let mut seen = Vec::new();
        c.walk(&mut |n| seen.push(n.sexp()));
        assert_eq!(seen, ["a", "(1 of b*)", "c", "(all of them)"]);
    }

    #[test]
    fn patterns_match_whole_names() {
        assert!(pattern_matches("selection*", "selection"));
        assert!(pattern_matches("selection*", "selection_img"));
        assert!(!pattern_matches("selection*", "sel"));
        assert!(pattern_matches("*_main*", "filter_main_1"));
        assert!(pattern_matches("*_main*", "_main"));
        assert!(!pattern_matches("*_main*", "filter_optional"));
        assert!(pattern_matches("sel*_a*b", "sel_x_a__ab"));
        assert!(!pattern_matches("sel*_a*b", "sel_x_a__ba"));
        assert!(pattern_matches("a*a*a", "aaa"));
        assert!(!pattern_matches("a*a*a", "aa"));
        assert!(pattern_matches("*", ""));
        assert!(pattern_matches("**", "x"));
        assert!(pattern_matches("exact", "exact"));
        assert!(!pattern_matches("sel", "selection"), "the whole name, unlike pySigma's re.match");
        assert!(!pattern_matches("Selection*", "selection"), "case-sensitive");
        assert!(!pattern_matches("", "a"));
        assert!(pattern_matches("", ""));
        // Worst case for backtracking stays fast.
        assert!(!pattern_matches(&"*a".repeat(50), &"a".repeat(49)));
    }

    #[test]
    fn them_and_patterns_skip_underscore_names() {
        assert!(selects(None, "selection"));
        assert!(!selects(None, "_helper"));
        assert!(selects(Some("sel*"), "sel_1"));
        assert!(!selects(Some("sel*"), "filter"));
        assert!(!selects(Some("_sel*"), "_sel_1"));
        assert!(!selects(Some("*"), "_x"));
    }
}
