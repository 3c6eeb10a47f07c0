//! The value types of the rule language: Kusto's scalar types.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Type {
    Bool,
    /// `int` and `long` columns: 64-bit integers.
    Long,
    Real,
    String,
    DateTime,
    Timespan,
    /// A JSON value whose shape is not declared (`dynamic` columns, or a
    /// path into one).
    Dynamic,
    /// A list literal, as on the right of `in`.
    List,
    /// The `null` literal: fits any type.
    Null,
}

impl Type {
    /// The type named in a table definition, if it is one.
    pub fn from_column_type(name: &str) -> Option<Type> {
        Some(match name {
            "bool" | "boolean" => Type::Bool,
            "int" | "long" => Type::Long,
            "real" | "double" | "decimal" => Type::Real,
            "string" | "guid" => Type::String,
            "datetime" | "date" => Type::DateTime,
            "timespan" | "time" => Type::Timespan,
            "dynamic" => Type::Dynamic,
            _ => return None,
        })
    }

    pub const COLUMN_TYPES: &'static [&'static str] =
        &["bool", "int", "long", "real", "double", "decimal", "string", "guid", "datetime", "timespan", "dynamic"];

    pub fn is_numeric(self) -> bool {
        matches!(self, Type::Long | Type::Real)
    }

    /// Whether a value of type `self` may be compared with one of `other`
    /// (`==`, `<`, `between`, join keys). `dynamic` and `null` fit anything:
    /// their type is only known per record.
    pub fn comparable_with(self, other: Type) -> bool {
        self == other
            || (self.is_numeric() && other.is_numeric())
            || matches!(self, Type::Dynamic | Type::Null)
            || matches!(other, Type::Dynamic | Type::Null)
    }

    /// Whether `self` is, or may at run time be, a `want`.
    pub fn fits(self, want: Type) -> bool {
        self == want || matches!(self, Type::Dynamic | Type::Null) || (want == Type::Real && self == Type::Long)
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Type::Bool => "bool",
            Type::Long => "long",
            Type::Real => "real",
            Type::String => "string",
            Type::DateTime => "datetime",
            Type::Timespan => "timespan",
            Type::Dynamic => "dynamic",
            Type::List => "list",
            Type::Null => "null",
        })
    }
}
