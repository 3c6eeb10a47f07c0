//! The syntax tree of rule-language expressions. Every node carries the
//! [`Span`] of its text in the rule file (already mapped from the YAML
//! scalar back to file offsets).

use crate::span::Span;

#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    Literal(Literal),
    /// `IPAddress`, `activity.IPAddress`, `LocationDetails.city`: the parts
    /// as written; the checker decides which part is a source alias.
    Field(Vec<Ident>),
    Unary(UnaryOp, Box<Expr>),
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    /// `x between (low .. high)`, inclusive; `!between` when `negated`.
    Between {
        expr: Box<Expr>,
        low: Box<Expr>,
        high: Box<Expr>,
        negated: bool,
    },
    /// `x in (a, b)`, `x !in (...)`, `x in~ (...)`, `x has_any (...)`.
    In {
        expr: Box<Expr>,
        op: InOp,
        list: Vec<Expr>,
    },
    Call {
        name: Ident,
        args: Vec<Expr>,
    },
    List(Vec<Expr>),
    /// Sigma's array semantics: `test` holds for some value `field` reaches,
    /// where every JSON array on the way (and at the end) is read element by
    /// element; inside `test`, [`ExprKind::Element`] is that value. Made by
    /// the Sigma lowering only: the rule language has no syntax for it.
    Any {
        field: Box<Expr>,
        test: Box<Expr>,
    },
    /// The value an enclosing [`ExprKind::Any`] is testing.
    Element,
    /// `parse_json(x).a.b`, `x["k"][0]`: keys (or array indexes, negative
    /// from the end) into a dynamic value.
    Member {
        expr: Box<Expr>,
        path: Vec<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Null,
    Bool(bool),
    Long(i64),
    Real(f64),
    String(String),
    /// 100-nanosecond ticks since the Unix epoch.
    DateTime(i64),
    /// 100-nanosecond ticks.
    Timespan(i64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    Not,
    Neg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InOp {
    In {
        negated: bool,
        case_insensitive: bool,
    },
    HasAny,
    /// `has_all (...)`: every term is `has` in the value.
    HasAll,
}

/// A Kusto string operator: `contains`, `startswith`, `endswith`, `has`,
/// `hasprefix`, `hassuffix`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrOp {
    Contains,
    StartsWith,
    EndsWith,
    Has,
    /// A term of the text starts with the needle.
    HasPrefix,
    /// A term of the text ends with the needle.
    HasSuffix,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Or,
    And,
    Eq,
    Ne,
    /// `=~`: equal ignoring case.
    EqCi,
    /// `!~`: not equal ignoring case.
    NeCi,
    Lt,
    Le,
    Gt,
    Ge,
    Str {
        op: StrOp,
        negated: bool,
        case_sensitive: bool,
    },
    MatchesRegex,
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

impl BinaryOp {
    /// The operator as a rule author writes it.
    pub fn symbol(self) -> String {
        match self {
            BinaryOp::Or => "or".into(),
            BinaryOp::And => "and".into(),
            BinaryOp::Eq => "==".into(),
            BinaryOp::Ne => "!=".into(),
            BinaryOp::EqCi => "=~".into(),
            BinaryOp::NeCi => "!~".into(),
            BinaryOp::Lt => "<".into(),
            BinaryOp::Le => "<=".into(),
            BinaryOp::Gt => ">".into(),
            BinaryOp::Ge => ">=".into(),
            BinaryOp::Str { op, negated, case_sensitive } => {
                let name = match op {
                    StrOp::Contains => "contains",
                    StrOp::StartsWith => "startswith",
                    StrOp::EndsWith => "endswith",
                    StrOp::Has => "has",
                    StrOp::HasPrefix => "hasprefix",
                    StrOp::HasSuffix => "hassuffix",
                };
                format!("{}{name}{}", if negated { "!" } else { "" }, if case_sensitive { "_cs" } else { "" })
            }
            BinaryOp::MatchesRegex => "matches regex".into(),
            BinaryOp::Add => "+".into(),
            BinaryOp::Sub => "-".into(),
            BinaryOp::Mul => "*".into(),
            BinaryOp::Div => "/".into(),
            BinaryOp::Rem => "%".into(),
        }
    }

    /// `==`, `!=`, `<`, `<=`, `>` or `>=`: a test of an ordering (unlike
    /// [`BinaryOp::is_comparison`], not `=~`/`!~`).
    pub fn is_ordering(self) -> bool {
        matches!(self, BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge)
    }

    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinaryOp::Eq
                | BinaryOp::Ne
                | BinaryOp::EqCi
                | BinaryOp::NeCi
                | BinaryOp::Lt
                | BinaryOp::Le
                | BinaryOp::Gt
                | BinaryOp::Ge
        )
    }
}

impl Expr {
    /// Calls `f` on this node and every node below it, parents first.
    pub fn walk<'a>(&'a self, f: &mut impl FnMut(&'a Expr)) {
        f(self);
        match &self.kind {
            ExprKind::Literal(_) | ExprKind::Field(_) | ExprKind::Element => {}
            ExprKind::Unary(_, e) => e.walk(f),
            ExprKind::Any { field, test } => {
                field.walk(f);
                test.walk(f);
            }
            ExprKind::Member { expr, .. } => expr.walk(f),
            ExprKind::Binary(_, l, r) => {
                l.walk(f);
                r.walk(f);
            }
            ExprKind::Between { expr, low, high, .. } => {
                expr.walk(f);
                low.walk(f);
                high.walk(f);
            }
            ExprKind::In { expr, list, .. } => {
                expr.walk(f);
                list.iter().for_each(|e| e.walk(f));
            }
            ExprKind::Call { args, .. } => args.iter().for_each(|e| e.walk(f)),
            ExprKind::List(items) => items.iter().for_each(|e| e.walk(f)),
        }
    }
}
