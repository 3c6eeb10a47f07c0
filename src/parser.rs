//! Expression text to [`Expr`], with pest. pest stays inside this file: the
//! AST never exposes `Pair` or `Rule`.

use std::sync::{Arc, LazyLock};

use pest::Parser as _;
use pest::error::{ErrorVariant, InputLocation};
use pest::iterators::{Pair, Pairs};
use pest::pratt_parser::{Assoc, Op, PrattParser};

use crate::ast::{BinaryOp, Expr, ExprKind, Ident, InOp, Literal, StrOp, UnaryOp};
use crate::datetime;
use crate::diagnostic::{Code, Diagnostic};
use crate::source_map::ScalarMap;
use crate::span::{SourceFile, Span};

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/expr.pest"]
struct ExprParser;

static PRATT: LazyLock<PrattParser<Rule>> = LazyLock::new(|| {
    PrattParser::new()
        .op(Op::infix(Rule::or, Assoc::Left))
        .op(Op::infix(Rule::and, Assoc::Left))
        .op(Op::prefix(Rule::not))
        .op(Op::infix(Rule::cmp, Assoc::Left)
            | Op::infix(Rule::str_op, Assoc::Left)
            | Op::infix(Rule::matches, Assoc::Left)
            | Op::postfix(Rule::between)
            | Op::postfix(Rule::in_list))
        .op(Op::infix(Rule::add, Assoc::Left) | Op::infix(Rule::sub, Assoc::Left))
        .op(Op::infix(Rule::mul, Assoc::Left) | Op::infix(Rule::div, Assoc::Left) | Op::infix(Rule::rem, Assoc::Left))
        .op(Op::prefix(Rule::neg))
        .op(Op::postfix(Rule::member))
});

/// Deeper nesting is refused before pest sees it, so hostile input cannot
/// exhaust the stack.
const MAX_NESTING: usize = 64;

/// Bounds the parser's work on hostile input: pest's calls per byte of the
/// expression. Nesting is bounded before pest runs ([`MAX_NESTING`]), so the
/// work grows with the length: about 13 calls a byte for an `in` list of
/// IP addresses, 4 for a long string literal. An IOC list of 10,000 items
/// parses; the limit stops only a runaway.
const CALLS_PER_BYTE: usize = 256;

/// The call limit of short expressions.
const MIN_CALLS: usize = 200_000;

/// The most operators one expression may hold. Each `and`, `or` or `==`
/// adds a level to the expression's tree, which the checker, the
/// evaluator and the compilers walk recursively on the engine's threads: a
/// chain of 20,000 `or`s overflowed the stack, and 512 `+`s the compilers'
/// in a debug build; 256 leave room. Long lists of values are
/// one operator: `in (...)`, `has_any (...)`.
pub const MAX_OPERATORS: usize = 256;

/// Where an expression's text came from: the rule file, and how offsets in
/// the text map to offsets in the file.
pub struct ExprSource<'a> {
    pub file: &'a Arc<SourceFile>,
    pub map: &'a ScalarMap,
}

type Result<T> = std::result::Result<T, Diagnostic>;

/// Parses one expression.
pub fn parse_expr(text: &str, src: &ExprSource) -> Result<Expr> {
    check_brackets(text, src)?;
    if text.lines().all(|l| l.trim().is_empty() || l.trim_start().starts_with("//")) {
        return Err(Diagnostic::new(Code::ExprSyntax, "empty expression").at(src.file, src.map.span(0, text.len())));
    }
    let limit = MIN_CALLS.max(text.len().saturating_mul(CALLS_PER_BYTE));
    pest::set_call_limit(std::num::NonZeroUsize::new(limit));
    let mut pairs = ExprParser::parse(Rule::expression, text).map_err(|e| syntax_error(e, text, src))?;
    let operator = |p: &Pair<Rule>| {
        use Rule::*;
        matches!(
            p.as_rule(),
            or | and | not | neg | cmp | str_op | matches | add | sub | mul | div | rem | between | in_list
        )
    };
    if let Some(op) = pairs.clone().flatten().filter(operator).nth(MAX_OPERATORS) {
        let message = format!("more than {MAX_OPERATORS} operators in one expression");
        return Err(Diagnostic::new(Code::ExprSyntax, message)
            .at(src.file, span(&op, src))
            .help("a long list of values is one operator: `Column in (\"a\", \"b\", ...)`, `has_any (...)`"));
    }
    let expression = pairs.next().expect("expression rule matched");
    let expr = expression.into_inner().next().expect("expression holds expr");
    parse_expr_pair(expr, src)
}

fn span(pair: &Pair<Rule>, src: &ExprSource) -> Span {
    let s = pair.as_span();
    src.map.span(s.start(), s.end())
}

fn parse_expr_pair(pair: Pair<Rule>, src: &ExprSource) -> Result<Expr> {
    debug_assert_eq!(pair.as_rule(), Rule::expr);
    parse_operations(pair.into_inner(), src)
}

fn parse_operations(pairs: Pairs<Rule>, src: &ExprSource) -> Result<Expr> {
    PRATT
        .map_primary(|p| parse_primary(p, src))
        .map_prefix(|op, rhs| {
            let rhs = rhs?;
            let op_span = span(&op, src);
            let kind = match op.as_rule() {
                Rule::not => UnaryOp::Not,
                Rule::neg => UnaryOp::Neg,
                rule => unreachable!("prefix operator {rule:?}"),
            };
            Ok(Expr { span: op_span.to(rhs.span), kind: ExprKind::Unary(kind, Box::new(rhs)) })
        })
        .map_postfix(|lhs, op| {
            let lhs = lhs?;
            let op_span = span(&op, src);
            let rule = op.as_rule();
            if rule == Rule::member {
                let mut path = Vec::new();
                for key in op.into_inner() {
                    path.push(match key.as_rule() {
                        Rule::member_name | Rule::member_index => key.as_str().to_string(),
                        Rule::string => match parse_primary(key, src)?.kind {
                            ExprKind::Literal(crate::ast::Literal::String(s)) => s,
                            other => unreachable!("a string literal, not {other:?}"),
                        },
                        other => unreachable!("member key {other:?}"),
                    });
                }
                return Ok(Expr { span: lhs.span.to(op_span), kind: ExprKind::Member { expr: Box::new(lhs), path } });
            }
            let mut inner = op.into_inner();
            let keyword = inner.next().expect("postfix keyword").as_str();
            let kind = match rule {
                Rule::between => {
                    let low = parse_expr_pair(inner.next().expect("low bound"), src)?;
                    let high = parse_expr_pair(inner.next().expect("high bound"), src)?;
                    ExprKind::Between {
                        expr: Box::new(lhs.clone()),
                        low: Box::new(low),
                        high: Box::new(high),
                        negated: keyword.starts_with('!'),
                    }
                }
                Rule::in_list => {
                    let op = if keyword == "has_any" {
                        InOp::HasAny
                    } else if keyword == "has_all" {
                        InOp::HasAll
                    } else {
                        InOp::In { negated: keyword.starts_with('!'), case_insensitive: keyword.ends_with('~') }
                    };
                    let list = inner.map(|p| parse_expr_pair(p, src)).collect::<Result<_>>()?;
                    ExprKind::In { expr: Box::new(lhs.clone()), op, list }
                }
                rule => unreachable!("postfix operator {rule:?}"),
            };
            Ok(Expr { span: lhs.span.to(op_span), kind })
        })
        .map_infix(|lhs, op, rhs| {
            let (lhs, rhs) = (lhs?, rhs?);
            let text = op.as_str();
            let op = match op.as_rule() {
                Rule::or => BinaryOp::Or,
                Rule::and => BinaryOp::And,
                Rule::cmp => match text {
                    "==" => BinaryOp::Eq,
                    "!=" => BinaryOp::Ne,
                    "=~" => BinaryOp::EqCi,
                    "!~" => BinaryOp::NeCi,
                    "<" => BinaryOp::Lt,
                    "<=" => BinaryOp::Le,
                    ">" => BinaryOp::Gt,
                    ">=" => BinaryOp::Ge,
                    other => unreachable!("comparison {other:?}"),
                },
                Rule::str_op => {
                    let negated = text.starts_with('!');
                    let case_sensitive = text.ends_with("_cs");
                    let name = text.trim_start_matches('!').trim_end_matches("_cs");
                    let op = match name {
                        "contains" => StrOp::Contains,
                        "startswith" => StrOp::StartsWith,
                        "endswith" => StrOp::EndsWith,
                        "has" => StrOp::Has,
                        "hasprefix" => StrOp::HasPrefix,
                        "hassuffix" => StrOp::HasSuffix,
                        other => unreachable!("string operator {other:?}"),
                    };
                    BinaryOp::Str { op, negated, case_sensitive }
                }
                Rule::matches => BinaryOp::MatchesRegex,
                Rule::add => BinaryOp::Add,
                Rule::sub => BinaryOp::Sub,
                Rule::mul => BinaryOp::Mul,
                Rule::div => BinaryOp::Div,
                Rule::rem => BinaryOp::Rem,
                rule => unreachable!("infix operator {rule:?}"),
            };
            Ok(Expr { span: lhs.span.to(rhs.span), kind: ExprKind::Binary(op, Box::new(lhs), Box::new(rhs)) })
        })
        .parse(pairs)
}

fn parse_primary(pair: Pair<Rule>, src: &ExprSource) -> Result<Expr> {
    let sp = span(&pair, src);
    let lit = |l: Literal| Ok(Expr { kind: ExprKind::Literal(l), span: sp });
    match pair.as_rule() {
        Rule::paren => {
            let inner = parse_expr_pair(pair.into_inner().next().expect("parenthesised expr"), src)?;
            Ok(Expr { span: sp, ..inner })
        }
        Rule::list => {
            let items = pair.into_inner().map(|p| parse_expr_pair(p, src)).collect::<Result<_>>()?;
            Ok(Expr { kind: ExprKind::List(items), span: sp })
        }
        Rule::call => {
            let mut inner = pair.into_inner();
            let name = parse_ident(inner.next().expect("function name"), src);
            let args = inner.map(|p| parse_expr_pair(p, src)).collect::<Result<_>>()?;
            Ok(Expr { kind: ExprKind::Call { name, args }, span: sp })
        }
        Rule::field => {
            let parts = pair.into_inner().map(|p| parse_ident(p, src)).collect();
            Ok(Expr { kind: ExprKind::Field(parts), span: sp })
        }
        Rule::boolean => lit(Literal::Bool(pair.as_str() == "true")),
        Rule::null => lit(Literal::Null),
        Rule::number => {
            let text = pair.as_str();
            match text.parse::<i64>() {
                Ok(n) => lit(Literal::Long(n)),
                Err(_) => match text.parse::<f64>() {
                    Ok(f) => lit(Literal::Real(f)),
                    Err(_) => {
                        Err(Diagnostic::new(Code::ExprSyntax, format!("invalid number `{text}`")).at(src.file, sp))
                    }
                },
            }
        }
        Rule::duration => {
            let mut inner = pair.into_inner();
            let amount: f64 = inner.next().expect("duration amount").as_str().parse().unwrap_or(f64::NAN);
            let unit = inner.next().expect("duration unit").as_str();
            let per = datetime::unit_ticks(unit).unwrap_or_else(|| unreachable!("duration unit {unit:?}"));
            let ticks = amount * per as f64;
            if !ticks.is_finite() || ticks.abs() > i64::MAX as f64 {
                return Err(Diagnostic::new(
                    Code::ExprSyntax,
                    format!("duration `{}` is out of range", sp_text(&sp, src)),
                )
                .at(src.file, sp));
            }
            lit(Literal::Timespan(ticks.round() as i64))
        }
        Rule::datetime => {
            let text = pair.into_inner().next().expect("datetime text").as_str().trim();
            match datetime::parse(text) {
                Some(t) => lit(Literal::DateTime(t)),
                None => Err(Diagnostic::new(Code::ExprSyntax, format!("invalid datetime `{text}`"))
                    .at(src.file, sp)
                    .help("write ISO 8601, e.g. `datetime(2026-07-16T02:00:45.0159703Z)`")),
            }
        }
        Rule::string => {
            let inner = pair.into_inner().next().expect("string form");
            let raw = inner.as_str();
            let value = match inner.as_rule() {
                Rule::verbatim => {
                    let q = &raw[1..2];
                    raw[2..raw.len() - 1].replace(&format!("{q}{q}"), q)
                }
                Rule::dquoted | Rule::squoted => unescape(&raw[1..raw.len() - 1]).map_err(|bad| {
                    Diagnostic::new(Code::ExprSyntax, format!("unknown escape `\\{bad}` in string"))
                        .at(src.file, sp)
                        .help("escapes are \\\\, \\\", \\', \\n, \\r, \\t and \\uXXXX; or write a verbatim string @\"...\"")
                })?,
                rule => unreachable!("string form {rule:?}"),
            };
            lit(Literal::String(value))
        }
        rule => unreachable!("primary {rule:?}"),
    }
}

fn sp_text<'a>(sp: &Span, src: &'a ExprSource) -> &'a str {
    src.file.text.get(sp.start..sp.end).unwrap_or("")
}

fn parse_ident(pair: Pair<Rule>, src: &ExprSource) -> Ident {
    Ident { name: pair.as_str().to_string(), span: span(&pair, src) }
}

fn unescape(s: &str) -> std::result::Result<String, char> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('"') => out.push('"'),
            Some('\'') => out.push('\''),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                let c = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32).ok_or('u')?;
                out.push(c);
            }
            Some(other) => return Err(other),
            None => return Err(' '),
        }
    }
    Ok(out)
}

/// Unbalanced brackets get their own message pointing at the bracket that
/// is left open (or the stray closing one): pest would only say what it
/// expected at the end of the text.
fn check_brackets(text: &str, src: &ExprSource) -> Result<()> {
    let mut stack: Vec<(usize, char)> = Vec::new();
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' => quote = Some(c),
            '(' | '[' => {
                stack.push((i, c));
                if stack.len() > MAX_NESTING {
                    return Err(Diagnostic::new(
                        Code::ExprSyntax,
                        format!("brackets nested deeper than {MAX_NESTING} levels"),
                    )
                    .at(src.file, src.map.span(i, i + 1)));
                }
            }
            ')' | ']' => {
                let open = if c == ')' { '(' } else { '[' };
                match stack.pop() {
                    Some((_, o)) if o == open => {}
                    Some((j, o)) => {
                        return Err(Diagnostic::new(Code::ExprSyntax, format!("`{o}` is closed by `{c}`"))
                            .at(src.file, src.map.span(j, j + 1))
                            .help(format!("close it with `{}`", if o == '(' { ')' } else { ']' })));
                    }
                    None => {
                        return Err(Diagnostic::new(Code::ExprSyntax, format!("unmatched `{c}`"))
                            .at(src.file, src.map.span(i, i + 1))
                            .help(format!("remove it, or add the `{open}` it closes")));
                    }
                }
            }
            _ => {}
        }
    }
    if let Some((i, o)) = stack.pop() {
        return Err(Diagnostic::new(Code::ExprSyntax, format!("unclosed `{o}`"))
            .at(src.file, src.map.span(i, i + 1))
            .help(format!("add the matching `{}`", if o == '(' { ')' } else { ']' })));
    }
    Ok(())
}

/// What a grammar rule is called in messages.
fn describe(rule: &Rule) -> &'static str {
    match rule {
        Rule::EOI => "end of expression",
        Rule::or
        | Rule::and
        | Rule::cmp
        | Rule::str_op
        | Rule::matches
        | Rule::add
        | Rule::sub
        | Rule::mul
        | Rule::div
        | Rule::rem
        | Rule::between
        | Rule::between_kw
        | Rule::in_list
        | Rule::in_kw
        | Rule::member => "an operator",
        Rule::call | Rule::field | Rule::ident => "a column or function name",
        Rule::datetime | Rule::duration | Rule::number | Rule::string | Rule::boolean | Rule::null => "a value",
        Rule::duration_unit => "a duration unit (`d`, `h`, `m`, `s`, `ms`)",
        _ => "an expression",
    }
}

fn syntax_error(e: pest::error::Error<Rule>, text: &str, src: &ExprSource) -> Diagnostic {
    let pos = match e.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    };
    let found = text[pos..]
        .split_whitespace()
        .next()
        .map_or_else(|| "end of expression".to_string(), |t| format!("`{}`", t.chars().take(20).collect::<String>()));
    let message = match &e.variant {
        ErrorVariant::ParsingError { positives, .. } if !positives.is_empty() => {
            let mut wanted: Vec<&str> = positives.iter().map(describe).collect();
            wanted.sort_unstable();
            wanted.dedup();
            format!("unexpected {found}: expected {}", join_or(&wanted))
        }
        ErrorVariant::ParsingError { .. } => format!("unexpected {found}"),
        ErrorVariant::CustomError { message } => message.clone(),
    };
    let end =
        text[pos..].find(char::is_whitespace).map_or(text.len(), |n| pos + n).max(pos + 1).min(text.len().max(pos));
    let mut d = Diagnostic::new(Code::ExprSyntax, message).at(src.file, src.map.span(pos, end));
    if text[pos..].starts_with('=') && !text[pos..].starts_with("==") && !text[pos..].starts_with("=~") {
        d = d.help("compare with `==`; a single `=` is not an operator");
    } else if text[pos..].starts_with("&&") || text[pos..].starts_with("||") {
        d = d.help("write `and` / `or`, as in Kusto");
    }
    d
}

fn join_or(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Expr> {
        let file = SourceFile::new("t", text.to_string());
        let map = ScalarMap::verbatim(0, text.len());
        parse_expr(text, &ExprSource { file: &file, map: &map })
    }

    /// A compact s-expression of the tree, to pin structure and precedence.
    fn sexp(e: &Expr) -> String {
        match &e.kind {
            ExprKind::Literal(l) => match l {
                Literal::Null => "null".into(),
                Literal::Bool(b) => b.to_string(),
                Literal::Long(n) => n.to_string(),
                Literal::Real(f) => format!("{f:?}"),
                Literal::String(s) => format!("{s:?}"),
                Literal::DateTime(t) => format!("datetime({})", datetime::format(*t)),
                Literal::Timespan(t) => format!("timespan({t})"),
            },
            ExprKind::Field(parts) => parts.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join("."),
            ExprKind::Unary(op, e) => format!("({} {})", if *op == UnaryOp::Not { "not" } else { "-" }, sexp(e)),
            ExprKind::Binary(op, l, r) => format!("({} {} {})", op.symbol(), sexp(l), sexp(r)),
            ExprKind::Between { expr, low, high, negated } => {
                format!("({}between {} {} {})", if *negated { "!" } else { "" }, sexp(expr), sexp(low), sexp(high))
            }
            ExprKind::In { expr, op, list } => {
                let items: Vec<_> = list.iter().map(sexp).collect();
                format!("({op:?} {} [{}])", sexp(expr), items.join(" "))
            }
            ExprKind::Call { name, args } => {
                let args: Vec<_> = args.iter().map(sexp).collect();
                format!("{}({})", name.name, args.join(", "))
            }
            ExprKind::List(items) => format!("[{}]", items.iter().map(sexp).collect::<Vec<_>>().join(" ")),
            ExprKind::Any { field, test } => format!("(any {} {})", sexp(field), sexp(test)),
            ExprKind::Member { expr, path } => format!("(member {} {})", sexp(expr), path.join(" ")),
            ExprKind::Element => "element".to_string(),
        }
    }

    fn p(text: &str) -> String {
        sexp(&parse(text).unwrap_or_else(|e| panic!("{text}: {e}")))
    }

    fn err(text: &str) -> (String, (usize, usize)) {
        let e = parse(text).expect_err(text);
        (e.message.clone(), e.line_col().unwrap())
    }

    #[test]
    fn the_seed_filter() {
        assert_eq!(
            p("TimeGenerated > ago(30d) and ResponseStatusCode between (100 .. 300)"),
            "(and (> TimeGenerated ago(timespan(25920000000000))) (between ResponseStatusCode 100 300))"
        );
    }

    #[test]
    fn precedence() {
        assert_eq!(p("a or b and c"), "(or a (and b c))");
        assert_eq!(p("parse_json(x).a.b == 1"), "(== (member parse_json(x) a b) 1)");
        assert_eq!(p(r#"todynamic(x)["a b"][0][-1]"#), "(member todynamic(x) a b 0 -1)");
        assert_eq!(p("-f(x).n"), "(- (member f(x) n))");
        assert_eq!(p("(a or b) and c"), "(and (or a b) c)");
        assert_eq!(p("not a == b and c"), "(and (not (== a b)) c)");
        assert_eq!(p("not(a) or b"), "(or (not a) b)");
        assert_eq!(p("a + b * c > -d"), "(> (+ a (* b c)) (- d))");
        assert_eq!(p("a - b - c"), "(- (- a b) c)");
        assert_eq!(p("x + 1 between (1 .. 2) or y"), "(or (between (+ x 1) 1 2) y)");
    }

    #[test]
    fn operators() {
        assert_eq!(p("a =~ 'X' and b !~ \"y\""), "(and (=~ a \"X\") (!~ b \"y\"))");
        assert_eq!(p("a !contains_cs 'x'"), "(!contains_cs a \"x\")");
        assert_eq!(
            p("a has 'x' or a startswith 'y' or a endswith_cs 'z'"),
            "(or (or (has a \"x\") (startswith a \"y\")) (endswith_cs a \"z\"))"
        );
        assert_eq!(p("a matches regex @'^\\d+$'"), "(matches regex a \"^\\\\d+$\")");
        assert_eq!(p("a !between (1..2)"), "(!between a 1 2)");
        assert_eq!(p("a in ('x', 'y')"), "(In { negated: false, case_insensitive: false } a [\"x\" \"y\"])");
        assert_eq!(p("a !in~ ('x')"), "(In { negated: true, case_insensitive: true } a [\"x\"])");
        assert_eq!(p("a has_any ('x')"), "(HasAny a [\"x\"])");
        assert_eq!(
            p("a <= 1 and b >= 2 and c < 3 and d > 4 and e != 5"),
            "(and (and (and (and (<= a 1) (>= b 2)) (< c 3)) (> d 4)) (!= e 5))"
        );
    }

    #[test]
    fn literals() {
        assert_eq!(p("[1, 2.5, 'a', true, null]"), "[1 2.5 \"a\" true null]");
        assert_eq!(p("dynamic(['a'])"), "[\"a\"]");
        assert_eq!(
            p("1h + 15m + 10s + 250ms + 1d"),
            "(+ (+ (+ (+ timespan(36000000000) timespan(9000000000)) timespan(100000000)) timespan(2500000)) timespan(864000000000))"
        );
        assert_eq!(p("1.5h"), "timespan(54000000000)");
        assert_eq!(p("datetime(2026-07-16T02:00:45.0159703Z)"), "datetime(2026-07-16T02:00:45.0159703Z)");
        assert_eq!(p("'it\\'s' == \"a\\\"b\\n\""), "(== \"it's\" \"a\\\"b\\n\")");
        assert_eq!(p("@\"C:\\x\"\"y\""), "\"C:\\\\x\\\"y\"");
    }

    #[test]
    fn fields_and_calls() {
        assert_eq!(p("activity.IPAddress"), "activity.IPAddress");
        assert_eq!(p("signin.LocationDetails.city"), "signin.LocationDetails.city");
        assert_eq!(p("ipv4_is_in_range(IPAddress, '10.0.0.0/8')"), "ipv4_is_in_range(IPAddress, \"10.0.0.0/8\")");
        assert_eq!(p("isnotempty(x)"), "isnotempty(x)");
        assert_eq!(p("notes == 1"), "(== notes 1)");
        assert_eq!(p("now()"), "now()");
    }

    #[test]
    fn spans_cover_the_text() {
        let text = "a.IPAddress != b.IPAddress";
        let e = parse(text).unwrap();
        assert_eq!((e.span.start, e.span.end), (0, text.len()));
        let ExprKind::Binary(_, l, r) = &e.kind else { panic!() };
        assert_eq!(&text[l.span.start..l.span.end], "a.IPAddress");
        assert_eq!(&text[r.span.start..r.span.end], "b.IPAddress");
        let ExprKind::Field(parts) = &r.kind else { panic!() };
        assert_eq!(&text[parts[1].span.start..parts[1].span.end], "IPAddress");
    }

    #[test]
    fn error_positions_and_messages() {
        assert_eq!(err("(a == b"), ("unclosed `(`".into(), (1, 1)));
        assert_eq!(err("a == b)"), ("unmatched `)`".into(), (1, 7)));
        assert_eq!(err("f(a]"), ("`(` is closed by `]`".into(), (1, 2)));
        assert_eq!(err("a = b"), ("unexpected `=`: expected an operator or end of expression".into(), (1, 3)));
        assert_eq!(
            err("a == "),
            (
                "unexpected end of expression: expected a column or function name, a value or an expression".into(),
                (1, 6)
            )
        );
        assert_eq!(
            err("a == 'x"),
            ("unexpected `'x`: expected a column or function name, a value or an expression".into(), (1, 6))
        );
        assert_eq!(
            err("30x > 1"),
            ("unexpected `x`: expected a duration unit (`d`, `h`, `m`, `s`, `ms`)".into(), (1, 3))
        );
        assert_eq!(err("x == datetime(yesterday)"), ("invalid datetime `yesterday`".into(), (1, 6)));
        assert_eq!(err("a == 'b\\q'"), ("unknown escape `\\q` in string".into(), (1, 6)));
        assert_eq!(err(""), ("empty expression".into(), (1, 1)));
        assert_eq!(err("  // only a comment"), ("empty expression".into(), (1, 1)));
    }

    #[test]
    fn hostile_nesting_is_an_error_not_a_crash() {
        let deep = format!("{}a{}", "(".repeat(5000), ")".repeat(5000));
        assert_eq!(err(&deep), ("brackets nested deeper than 64 levels".into(), (1, 65)));
        let ok = format!("{}a{}", "(".repeat(64), ")".repeat(64));
        assert_eq!(p(&ok), "a");
    }

    /// IOC lists of 10,000 items and long literals parse (they hit pest's
    /// fixed call limit before); the work is bounded by the length.
    #[test]
    fn long_lists_and_literals_parse() {
        let iocs: Vec<String> =
            (0..10_000).map(|i| format!("\"10.{}.{}.{}\"", i / 65536, i / 256 % 256, i % 256)).collect();
        let items = |text: &str| match parse(text).map(|e| e.kind) {
            Ok(ExprKind::In { list, .. }) => list.len(),
            other => panic!("{other:?}"),
        };
        assert_eq!(items(&format!("IPAddress in ({})", iocs.join(", "))), 10_000);
        assert_eq!(items(&format!("UserAgent has_any ({})", iocs.join(", "))), 10_000);
        let literal = format!("UserAgent == \"{}\"", "x".repeat(60_000));
        assert_eq!(p(&literal).len(), "(== UserAgent \"\")".len() + 60_000);
    }

    /// A chain of operators deeper than the walkers' stacks allow is an
    /// error at the first operator past the limit, not a crash.
    #[test]
    fn too_many_operators_is_an_error_at_the_first_past_the_limit() {
        // `a + 1 + 1 ...`: one operator per `+`.
        let chain = |n: usize| format!("a{}", " + 1".repeat(n));
        assert!(p(&chain(MAX_OPERATORS)).starts_with("(+ (+ (+"));
        let (message, (line, col)) = err(&chain(MAX_OPERATORS + 1));
        assert_eq!(message, format!("more than {MAX_OPERATORS} operators in one expression"));
        // `a` then ` + 1` per operator: the 257th `+` is at column 2 + 4 * 256.
        assert_eq!((line, col), (1, 2 + 4 * MAX_OPERATORS + 1));
        let ors = (0..200).map(|i| format!("x == {i}")).collect::<Vec<_>>().join(" or ");
        assert_eq!(err(&ors).0, format!("more than {MAX_OPERATORS} operators in one expression"), "199 or, 200 ==");
        let nots = format!("{}x", "not ".repeat(MAX_OPERATORS + 1));
        assert_eq!(err(&nots).1, (1, 1 + 4 * MAX_OPERATORS));
    }
}
