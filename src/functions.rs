//! The built-in functions: name, arity, argument and result types, and
//! evaluation, all in one place.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use chrono::{Datelike, NaiveDate};
use regex::Regex;
use serde_json::Value as Json;

use crate::datetime::{self, TICKS_PER_DAY, TICKS_PER_SECOND};
use crate::types::Type;
use crate::value::Value;

macro_rules! functions {
    ($($variant:ident = $name:literal, $min:literal ..= $max:literal, $doc:literal;)*) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Func { $($variant,)* }

        impl Func {
            pub const ALL: &'static [Func] = &[$(Func::$variant,)*];

            pub fn from_name(name: &str) -> Option<Func> {
                match name { $($name => Some(Func::$variant),)* _ => None }
            }

            pub fn name(self) -> &'static str {
                match self { $(Func::$variant => $name,)* }
            }

            /// Fewest and most arguments.
            pub fn arity(self) -> (usize, usize) {
                match self { $(Func::$variant => ($min, $max),)* }
            }

            /// One line for the README's function table.
            pub fn doc(self) -> &'static str {
                match self { $(Func::$variant => $doc,)* }
            }
        }
    };
}

functions! {
    Ago = "ago", 1..=1, "`ago(30d)`: `now()` minus a timespan";
    Now = "now", 0..=1, "`now()`: the run's fixed current time (`--now`); `now(-1h)` adds an offset";
    IsEmpty = "isempty", 1..=1, "`isempty(x)`: null or `\"\"`";
    IsNotEmpty = "isnotempty", 1..=1, "`isnotempty(x)`: neither null nor `\"\"`";
    IsNull = "isnull", 1..=1, "`isnull(x)`: null (a string is never null, only empty)";
    IsNotNull = "isnotnull", 1..=1, "`isnotnull(x)`";
    Iff = "iff", 3..=3, "`iff(cond, then, else)`: `then` when `cond` is true, otherwise (false or null) `else`";
    Iif = "iif", 3..=3, "`iif(cond, then, else)`: as `iff`";
    Case = "case", 3..=127,
        "`case(p1, v1, [p2, v2, ...] else)`: the value after the first true predicate, or `else`";
    ToLower = "tolower", 1..=1, "`tolower(s)`";
    ToUpper = "toupper", 1..=1, "`toupper(s)`";
    Strlen = "strlen", 1..=1, "`strlen(s)`: length in characters";
    Substring = "substring", 2..=3,
        "`substring(s, start[, length])`: in characters; a negative `start` counts from the end";
    IndexOf = "indexof", 2..=5,
        "`indexof(s, match[, start[, length[, occurrence]]])`: zero-based, in characters; -1 when not found";
    CountOf = "countof", 2..=3, "`countof(s, search[, \"normal\" | \"regex\"])`: matches; plain ones may overlap";
    Extract = "extract", 3..=3,
        "`extract(regex, group, s)`: capture group `group` (0: the whole match) of the first match; `\"\"` when none";
    ReplaceString = "replace_string", 3..=3, "`replace_string(s, lookup, rewrite)`: every match of `lookup` replaced";
    Trim = "trim", 2..=2, "`trim(regex, s)`: `s` without a leading and a trailing match of `regex`";
    TrimStart = "trim_start", 2..=2, "`trim_start(regex, s)`: `s` without a leading match of `regex`";
    TrimEnd = "trim_end", 2..=2, "`trim_end(regex, s)`: `s` without a trailing match of `regex`";
    Split = "split", 2..=3, "`split(s, delim[, i])`: the parts, a dynamic array; with `i`, `[part i]` (or `[]`)";
    ToString = "tostring", 1..=1, "`tostring(x)`: text; null is `\"\"`";
    ToLong = "tolong", 1..=1, "`tolong(x)`: null when it does not convert";
    ToInt = "toint", 1..=1, "`toint(x)`: as `tolong`";
    ToReal = "toreal", 1..=1, "`toreal(x)`: null when it does not convert";
    ToDouble = "todouble", 1..=1, "`todouble(x)`: as `toreal`";
    ToDateTime = "todatetime", 1..=1, "`todatetime(s)`: null when it does not parse";
    ParseJson = "parse_json", 1..=1,
        "`parse_json(s)`: JSON text as a dynamic value (text that is not JSON: the string; `\"\"`: null)";
    ToDynamic = "todynamic", 1..=1, "`todynamic(s)`: as `parse_json`";
    ParseUrl = "parse_url", 1..=1,
        "`parse_url(url)`: a dynamic bag: Scheme, Host, Port, Path, Username, Password, Query Parameters, Fragment";
    ArrayLength = "array_length", 1..=1, "`array_length(a)`: elements of a dynamic array; null when not an array";
    Strcat = "strcat", 1..=64, "`strcat(a, b, ...)`";
    Coalesce = "coalesce", 1..=64, "`coalesce(a, b, ...)`: the first that is not null (for strings: not empty)";
    Bin = "bin", 2..=2, "`bin(x, size)`: `x` rounded down to a multiple of `size` (numbers, datetimes, timespans)";
    DatetimeDiff = "datetime_diff", 3..=3,
        "`datetime_diff(\"day\", a, b)`: the periods (year, quarter, month, week, day ... nanosecond) from `b` to `a`";
    FormatDatetime = "format_datetime", 2..=2, "`format_datetime(t, \"yyyy-MM-dd HH:mm:ss\")`";
    Ipv4IsInRange = "ipv4_is_in_range", 2..=2,
        "`ipv4_is_in_range(ip, \"10.0.0.0/8\")`: an `ip` written with a `/prefix` is masked by it first";
    Ipv4IsInAnyRange = "ipv4_is_in_any_range", 2..=64,
        "`ipv4_is_in_any_range(ip, \"10.0.0.0/8\", ...)`: in any of the ranges (strings, or lists such as a `let` name)";
    Ipv4IsPrivate = "ipv4_is_private", 1..=1,
        "`ipv4_is_private(ip)`: in 10/8, 172.16/12 or 192.168/16 (a `/prefix` masks `ip` first)";
    Ipv4IsMatch = "ipv4_is_match", 2..=3, "`ipv4_is_match(a, b[, prefix])`: equal over the shortest of the prefixes";
    Ipv4Compare = "ipv4_compare", 2..=3,
        "`ipv4_compare(a, b[, prefix])`: -1, 0 or 1, over the shortest of the prefixes";
    Ipv6IsMatch = "ipv6_is_match", 2..=3,
        "`ipv6_is_match(a, b[, prefix])`: equal as IPv6 (IPv4 is mapped), over the shortest of the prefixes";
    Ipv6Compare = "ipv6_compare", 2..=3, "`ipv6_compare(a, b[, prefix])`: `ipv4_compare` for IPv6 (IPv4 is mapped)";
    ParseIpv4 = "parse_ipv4", 1..=1, "`parse_ipv4(ip)`: the address as a long, masked by its `/prefix`";
}

/// Why arguments do not fit a function: the argument's index and what it
/// should have been.
pub struct ArgError {
    pub index: usize,
    pub expected: &'static str,
}

/// The type of a value that is either of `a` and `b` (the branches of
/// `iff` and `case`), when they agree: a long and a real make a real.
fn common_type(a: Type, b: Type) -> Option<Type> {
    match (a, b) {
        _ if a == b => Some(a),
        (Type::Null, t) | (t, Type::Null) => Some(t),
        (Type::Dynamic, _) | (_, Type::Dynamic) => Some(Type::Dynamic),
        (Type::Long, Type::Real) | (Type::Real, Type::Long) => Some(Type::Real),
        _ => None,
    }
}

impl Func {
    /// The result type, given the argument types, or which argument is wrong.
    pub fn result_type(self, args: &[Type]) -> Result<Type, ArgError> {
        let want = |i: usize, ty: Type, expected: &'static str| {
            if args[i].fits(ty) { Ok(()) } else { Err(ArgError { index: i, expected }) }
        };
        // The arguments from `from` on, when given, are longs.
        let longs_from =
            |from: usize, expected: &'static str| (from..args.len()).try_for_each(|i| want(i, Type::Long, expected));
        Ok(match self {
            Func::Ago => {
                want(0, Type::Timespan, "a timespan such as `30d` or `1h`")?;
                Type::DateTime
            }
            Func::Now => {
                if !args.is_empty() {
                    want(0, Type::Timespan, "a timespan such as `-1h`")?;
                }
                Type::DateTime
            }
            Func::IsEmpty | Func::IsNotEmpty | Func::IsNull | Func::IsNotNull => Type::Bool,
            Func::Iff | Func::Iif => {
                want(0, Type::Bool, "a boolean condition")?;
                common_type(args[1], args[2])
                    .ok_or(ArgError { index: 2, expected: "a value of the same type as the `then` value" })?
            }
            Func::Case => {
                if args.len().is_multiple_of(2) {
                    return Err(ArgError {
                        index: args.len() - 1,
                        expected: "an `else` value after the last predicate and value (an odd number of arguments)",
                    });
                }
                let mut ty = args[args.len() - 1];
                for pair in 0..args.len() / 2 {
                    want(2 * pair, Type::Bool, "a boolean predicate")?;
                    ty = common_type(ty, args[2 * pair + 1])
                        .ok_or(ArgError { index: 2 * pair + 1, expected: "a value of the same type as the others" })?;
                }
                ty
            }
            Func::ToLower | Func::ToUpper => {
                want(0, Type::String, "a string")?;
                Type::String
            }
            Func::Strlen => {
                want(0, Type::String, "a string")?;
                Type::Long
            }
            Func::Substring => {
                want(0, Type::String, "a string")?;
                longs_from(1, "a character position or count")?;
                Type::String
            }
            // Kusto converts the two strings from any type.
            Func::IndexOf => {
                longs_from(2, "a character position or count")?;
                Type::Long
            }
            Func::CountOf => {
                want(0, Type::String, "a string")?;
                want(1, Type::String, "a string to search for")?;
                if args.len() == 3 {
                    want(2, Type::String, "`\"normal\"` or `\"regex\"`")?;
                }
                Type::Long
            }
            Func::Extract => {
                want(0, Type::String, "a regex string")?;
                want(1, Type::Long, "a capture group number")?;
                want(2, Type::String, "a string")?;
                Type::String
            }
            Func::ReplaceString => {
                for i in 0..3 {
                    want(i, Type::String, "a string")?;
                }
                Type::String
            }
            Func::Trim | Func::TrimStart | Func::TrimEnd => {
                want(0, Type::String, "a regex string")?;
                want(1, Type::String, "a string")?;
                Type::String
            }
            Func::Split => {
                want(0, Type::String, "a string")?;
                want(1, Type::String, "a delimiter string")?;
                longs_from(2, "a zero-based index")?;
                Type::Dynamic
            }
            Func::ToString | Func::Strcat => Type::String,
            Func::ToLong | Func::ToInt => Type::Long,
            Func::ToReal | Func::ToDouble => Type::Real,
            Func::ToDateTime => Type::DateTime,
            Func::ParseJson | Func::ToDynamic => {
                if !(args[0].fits(Type::String) || args[0] == Type::Dynamic) {
                    return Err(ArgError { index: 0, expected: "a JSON string or a dynamic value" });
                }
                Type::Dynamic
            }
            Func::ParseUrl => {
                want(0, Type::String, "a URL string")?;
                Type::Dynamic
            }
            Func::ArrayLength => {
                if !(args[0].fits(Type::Dynamic) || args[0] == Type::List) {
                    return Err(ArgError { index: 0, expected: "a dynamic array" });
                }
                Type::Long
            }
            Func::Coalesce => {
                let first = args[0];
                for (i, t) in args.iter().enumerate().skip(1) {
                    if !t.comparable_with(first) {
                        return Err(ArgError { index: i, expected: "the same type as the first argument" });
                    }
                }
                first
            }
            Func::Bin => bin_type(args[0], args[1])?,
            Func::DatetimeDiff => {
                want(0, Type::String, "a period such as `\"day\"`")?;
                want(1, Type::DateTime, "a datetime")?;
                want(2, Type::DateTime, "a datetime")?;
                Type::Long
            }
            Func::FormatDatetime => {
                want(0, Type::DateTime, "a datetime")?;
                want(1, Type::String, "a format string such as `\"yyyy-MM-dd\"`")?;
                Type::String
            }
            Func::Ipv4IsInRange | Func::Ipv4IsMatch | Func::Ipv6IsMatch | Func::Ipv4Compare | Func::Ipv6Compare => {
                want(0, Type::String, "an IP address string")?;
                want(1, Type::String, "an IP address or CIDR range string")?;
                longs_from(2, "a prefix length")?;
                if matches!(self, Func::Ipv4Compare | Func::Ipv6Compare) { Type::Long } else { Type::Bool }
            }
            Func::Ipv4IsInAnyRange => {
                want(0, Type::String, "an IP address string")?;
                for (i, a) in args.iter().enumerate().skip(1) {
                    if !(a.fits(Type::String) || *a == Type::List || a.fits(Type::Dynamic)) {
                        return Err(ArgError { index: i, expected: "a CIDR range string, or a list of them" });
                    }
                }
                Type::Bool
            }
            Func::Ipv4IsPrivate => {
                want(0, Type::String, "an IP address string")?;
                Type::Bool
            }
            Func::ParseIpv4 => {
                want(0, Type::String, "an IP address string")?;
                Type::Long
            }
        })
    }

    /// Evaluates the function on already-evaluated arguments. `now` is the
    /// run's fixed current time. The arguments are taken as they are
    /// needed: `iff` and `case` leave those after the value they return.
    pub fn eval<'a>(self, args: impl IntoIterator<Item = Value<'a>>, now: i64) -> Value<'a> {
        let mut args = args.into_iter();
        let mut arg = || args.next().unwrap_or(Value::Null);
        match self {
            Func::Ago => match arg() {
                Value::Timespan(t) => now.checked_sub(t).map_or(Value::Null, Value::DateTime),
                _ => Value::Null,
            },
            Func::Now => match arg() {
                Value::Timespan(t) => now.checked_add(t).map_or(Value::Null, Value::DateTime),
                _ => Value::DateTime(now),
            },
            Func::IsEmpty => Value::Bool(arg().is_empty()),
            Func::IsNotEmpty => Value::Bool(!arg().is_empty()),
            Func::IsNull => Value::Bool(arg().undynamic().is_null()),
            Func::IsNotNull => Value::Bool(!arg().undynamic().is_null()),
            Func::Iff | Func::Iif => {
                if is_true(&arg()) {
                    arg()
                } else {
                    arg();
                    arg()
                }
            }
            Func::Case => loop {
                // A predicate and its value, or the `else` value.
                let first = args.next().unwrap_or(Value::Null);
                match args.next() {
                    Some(value) if is_true(&first) => return value,
                    Some(_) => {}
                    None => return first,
                }
            },
            Func::ToLower => Value::Str(Cow::Owned(arg().to_text().to_lowercase())),
            Func::ToUpper => Value::Str(Cow::Owned(arg().to_text().to_uppercase())),
            Func::Strlen => Value::Long(arg().to_text().chars().count() as i64),
            Func::Substring => {
                let s = arg();
                let (start, length) = (arg(), args.next());
                match (long(start), length.map(long)) {
                    (Some(start), None) => string(substring(&s.to_text(), start, None)),
                    (Some(start), Some(Some(length))) => string(substring(&s.to_text(), start, Some(length))),
                    _ => Value::EMPTY,
                }
            }
            Func::IndexOf => {
                let (s, m) = (arg(), arg());
                // Each number given must be one.
                let mut numbers = [None; 3];
                for (slot, v) in numbers.iter_mut().zip(args) {
                    match long(v) {
                        Some(n) => *slot = Some(n),
                        None => return Value::Null,
                    }
                }
                let [start, length, occurrence] = numbers;
                index_of(&s.to_text(), &m.to_text(), start, length, occurrence).map_or(Value::Null, Value::Long)
            }
            Func::CountOf => {
                let (s, search) = (arg(), arg());
                let regex = match args.next().map(|k| k.to_text().to_ascii_lowercase()) {
                    None => false,
                    Some(kind) if kind == "normal" => false,
                    Some(kind) if kind == "regex" => true,
                    Some(_) => return Value::Null,
                };
                count_of(&s.to_text(), &search.to_text(), regex).map_or(Value::Null, Value::Long)
            }
            Func::Extract => {
                let (re, group, s) = (arg(), arg(), arg());
                let (Some(re), Some(group)) = (cached_regex(&re.to_text()), long(group)) else {
                    return Value::EMPTY;
                };
                let s = s.to_text();
                let found =
                    usize::try_from(group).ok().and_then(|g| re.captures(&s)?.get(g).map(|m| m.as_str().to_string()));
                found.map_or(Value::EMPTY, string)
            }
            Func::ReplaceString => {
                let (s, lookup, rewrite) = (arg(), arg(), arg());
                let (s, lookup) = (s.to_text(), lookup.to_text());
                if lookup.is_empty() { string(s.into_owned()) } else { string(s.replace(&*lookup, &rewrite.to_text())) }
            }
            Func::Trim | Func::TrimStart | Func::TrimEnd => {
                let (re, s) = (arg(), arg());
                let (start, end) = (self != Func::TrimEnd, self != Func::TrimStart);
                trim(&re.to_text(), &s.to_text(), start, end).map_or(Value::EMPTY, |t| string(t.to_string()))
            }
            Func::Split => {
                let (s, delim) = (arg(), arg());
                let index = match args.next() {
                    None => None,
                    Some(v) => match long(v) {
                        Some(i) => Some(i),
                        None => return Value::Null,
                    },
                };
                Value::Dynamic(Arc::new(split(&s.to_text(), &delim.to_text(), index)))
            }
            Func::ToString => match arg() {
                Value::Str(s) => Value::Str(s),
                other => Value::Str(Cow::Owned(other.to_text().into_owned())),
            },
            Func::ToLong | Func::ToInt => match arg().undynamic() {
                Value::Long(n) => Value::Long(n),
                Value::Real(f) if f.is_finite() => Value::Long(f.trunc() as i64),
                Value::Bool(b) => Value::Long(b as i64),
                Value::Str(s) => s.trim().parse().map_or(Value::Null, Value::Long),
                Value::DateTime(t) | Value::Timespan(t) => Value::Long(t),
                _ => Value::Null,
            },
            Func::ToReal | Func::ToDouble => match arg().undynamic() {
                Value::Long(n) => Value::Real(n as f64),
                Value::Real(f) => Value::Real(f),
                Value::Bool(b) => Value::Real(b as i64 as f64),
                Value::Str(s) => s.trim().parse().map_or(Value::Null, Value::Real),
                _ => Value::Null,
            },
            Func::ToDateTime => match arg().undynamic() {
                Value::DateTime(t) => Value::DateTime(t),
                Value::Str(s) => datetime::parse(&s).map_or(Value::Null, Value::DateTime),
                _ => Value::Null,
            },
            Func::ParseJson | Func::ToDynamic => match arg() {
                // "isnull()": `isnull(parse_json(""))` is true.
                Value::Str(s) if s.trim().is_empty() => Value::Null,
                Value::Str(s) => {
                    Value::Dynamic(Arc::new(serde_json::from_str(&s).unwrap_or_else(|_| Json::String(s.into_owned()))))
                }
                Value::Null => Value::Null,
                other => Value::Dynamic(json_of(&other).unwrap_or_else(|| Arc::new(other.to_json()))),
            },
            Func::ParseUrl => Value::Dynamic(Arc::new(parse_url(&arg().to_text()))),
            Func::ArrayLength => match json_of(&arg()).as_deref() {
                Some(Json::Array(items)) => Value::Long(items.len() as i64),
                _ => Value::Null,
            },
            Func::Strcat => {
                let mut out = String::new();
                for v in args {
                    out.push_str(&v.to_text());
                }
                Value::Str(Cow::Owned(out))
            }
            Func::Coalesce => args.find(|v| !v.is_empty()).unwrap_or(Value::Null),
            Func::Bin => bin(arg().undynamic(), arg().undynamic()),
            Func::DatetimeDiff => {
                let period = arg();
                match (ticks(arg()), ticks(arg())) {
                    (Some(a), Some(b)) => datetime_diff(&period.to_text(), a, b).map_or(Value::Null, Value::Long),
                    _ => Value::Null,
                }
            }
            Func::FormatDatetime => {
                let t = ticks(arg());
                match t.and_then(|t| format_datetime(t, &arg().to_text())) {
                    Some(text) => string(text),
                    None => Value::EMPTY,
                }
            }
            Func::Ipv4IsInRange => {
                let (ip, range) = (arg(), arg());
                match (parse_v4_masked(&ip.to_text()), parse_v4_range(&range.to_text())) {
                    (Some(ip), Some((net, bits))) => Value::Bool(prefix_eq(&ip.octets(), &net.octets(), bits)),
                    _ => Value::Null,
                }
            }
            Func::Ipv4IsInAnyRange => {
                let ip = arg();
                let mut texts: Vec<String> = Vec::new();
                for range in args {
                    match range.undynamic() {
                        Value::List(items) => texts.extend(items.iter().map(|i| i.to_text().into_owned())),
                        v => texts.push(v.to_text().into_owned()),
                    }
                }
                match (parse_v4_masked(&ip.to_text()), V4Ranges::new(texts.iter().map(String::as_str))) {
                    (Some(ip), Ok(ranges)) => Value::Bool(ranges.contains(ip)),
                    _ => Value::Null,
                }
            }
            Func::Ipv4IsPrivate => match parse_v4_masked(&arg().to_text()) {
                Some(ip) => Value::Bool(ip.is_private()),
                None => Value::Null,
            },
            Func::Ipv4IsMatch | Func::Ipv4Compare => {
                let (a, b) = (arg(), arg());
                let Some(prefix) = prefix_arg(args.next(), 32) else { return Value::Null };
                match (parse_v4_range(&a.to_text()), parse_v4_range(&b.to_text())) {
                    (Some((a, pa)), Some((b, pb))) => {
                        let mask = mask32(pa.min(pb).min(prefix.unwrap_or(32)));
                        compared(self == Func::Ipv4Compare, (a.to_bits() & mask).cmp(&(b.to_bits() & mask)))
                    }
                    _ => Value::Null,
                }
            }
            Func::Ipv6IsMatch => {
                let (a, b) = (arg(), arg());
                let Some(prefix) = prefix_arg(args.next(), 128) else { return Value::Null };
                match (parse_v6_prefix(&a.to_text()), parse_v6_prefix(&b.to_text())) {
                    (Some(a), Some(b)) => Value::Bool(ipv6_match(a, b, prefix)),
                    _ => Value::Null,
                }
            }
            Func::Ipv6Compare => {
                let (a, b) = (arg(), arg());
                let Some(prefix) = prefix_arg(args.next(), 128) else { return Value::Null };
                match (parse_v6_prefix(&a.to_text()), parse_v6_prefix(&b.to_text())) {
                    (Some((a, pa)), Some((b, pb))) => {
                        let mask = mask128(pa.min(pb).min(prefix.unwrap_or(128)));
                        compared(true, (a.to_bits() & mask).cmp(&(b.to_bits() & mask)))
                    }
                    _ => Value::Null,
                }
            }
            Func::ParseIpv4 => match parse_v4_masked(&arg().to_text()) {
                Some(ip) => Value::Long(i64::from(ip.to_bits())),
                None => Value::Null,
            },
        }
    }
}

fn string<'a>(s: String) -> Value<'a> {
    Value::Str(Cow::Owned(s))
}

/// A condition as `iff` and `case` read it: only `true` is true.
fn is_true(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::Dynamic(d) => d.as_bool() == Some(true),
        _ => false,
    }
}

/// A whole-number argument.
fn long(v: Value) -> Option<i64> {
    match v.undynamic() {
        Value::Long(n) => Some(n),
        _ => None,
    }
}

/// A datetime argument (a dynamic one may hold its text).
fn ticks(v: Value) -> Option<i64> {
    match v.undynamic() {
        Value::DateTime(t) => Some(t),
        Value::Str(s) => datetime::parse(&s),
        _ => None,
    }
}

/// The JSON value of a dynamic (or list) value. A dynamic column's bag or
/// array exported as JSON text (as Log Analytics writes them) is decoded,
/// as a path into the column decodes it.
fn json_of(v: &Value) -> Option<Arc<Json>> {
    match v {
        Value::Dynamic(d) => match d.as_ref() {
            Json::String(s) => match serde_json::from_str::<Json>(s) {
                Ok(j @ (Json::Object(_) | Json::Array(_))) => Some(Arc::new(j)),
                _ => Some(d.clone()),
            },
            _ => Some(d.clone()),
        },
        Value::List(_) => Some(Arc::new(v.to_json())),
        _ => None,
    }
}

/// A compiled regex, kept per thread for the next call with the same
/// pattern; `None` when the pattern is not a regex.
fn cached_regex(pattern: &str) -> Option<Regex> {
    const KEPT: usize = 256;
    thread_local! {
        static CACHE: RefCell<HashMap<String, Option<Regex>>> = RefCell::new(HashMap::new());
    }
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some(re) = cache.get(pattern) {
            return re.clone();
        }
        if cache.len() >= KEPT {
            cache.clear();
        }
        let re = Regex::new(pattern).ok();
        cache.insert(pattern.to_string(), re.clone());
        re
    })
}

/// `substring`: characters from `start` (from the end when negative), to
/// the end or `length` of them.
fn substring(s: &str, start: i64, length: Option<i64>) -> String {
    let len = s.chars().count() as i64;
    let start = if start < 0 { (len + start).max(0) } else { start };
    let take = match length {
        None => len,
        Some(n) if n < 0 => return String::new(),
        Some(n) => n,
    };
    s.chars()
        .skip(usize::try_from(start).unwrap_or(usize::MAX))
        .take(usize::try_from(take).unwrap_or(usize::MAX))
        .collect()
}

/// `indexof`, in characters. `length` -1 is unlimited; each further
/// occurrence is searched from the character after the last one found,
/// over `length` characters again (as Kusto's examples show). Null when
/// `start` (counted from the end when negative) is still negative,
/// `length` is below -1 or `occurrence` below 0.
fn index_of(s: &str, m: &str, start: Option<i64>, length: Option<i64>, occurrence: Option<i64>) -> Option<i64> {
    let hay: Vec<char> = s.chars().collect();
    let needle: Vec<char> = m.chars().collect();
    let n = hay.len() as i64;
    let mut from = start.unwrap_or(0);
    if from < 0 {
        from += n;
    }
    let (length, occurrence) = (length.unwrap_or(-1), occurrence.unwrap_or(1));
    if from < 0 || length < -1 || occurrence < 0 {
        return None;
    }
    let mut found = -1;
    for _ in 0..occurrence {
        let end = if length == -1 { n } else { from.saturating_add(length).min(n) };
        if from > end {
            return Some(-1);
        }
        let window = &hay[from as usize..end as usize];
        let at =
            if needle.is_empty() { Some(0) } else { window.windows(needle.len()).position(|w| w == needle.as_slice()) };
        match at {
            Some(i) => {
                found = from + i as i64;
                from = found + 1;
            }
            None => return Some(-1),
        }
    }
    Some(found)
}

/// `countof`: plain matches may overlap, regex matches do not. Null when
/// the regex is not one.
fn count_of(s: &str, search: &str, regex: bool) -> Option<i64> {
    if regex {
        return Some(cached_regex(search)?.find_iter(s).count() as i64);
    }
    if search.is_empty() {
        return Some(0);
    }
    let (mut count, mut from) = (0, 0);
    while let Some(i) = s[from..].find(search) {
        count += 1;
        // On past the match's first character: the next one may overlap it.
        from += i + s[from + i..].chars().next().map_or(1, char::len_utf8);
    }
    Some(count)
}

/// `trim`, `trim_start` and `trim_end`: one match of `pattern` at the start
/// and (then) one at the end removed. `None` when it is not a regex.
fn trim<'s>(pattern: &str, s: &'s str, start: bool, end: bool) -> Option<&'s str> {
    let mut s = s;
    if start && let Some(m) = cached_regex(&format!("^(?:{pattern})"))?.find(s) {
        s = &s[m.end()..];
    }
    if end && let Some(m) = cached_regex(&format!("(?:{pattern})$"))?.find(s) {
        s = &s[..m.start()];
    }
    Some(s)
}

/// `split`: the parts of `s` between the delimiters (all of `s` for an
/// empty delimiter); with an index, an array of that part only, or an
/// empty one when there is no such part.
fn split(s: &str, delim: &str, index: Option<i64>) -> Json {
    let parts: Vec<&str> = if delim.is_empty() { vec![s] } else { s.split(delim).collect() };
    let parts = match index {
        None => parts,
        Some(i) => usize::try_from(i).ok().and_then(|i| parts.get(i)).map_or(vec![], |p| vec![*p]),
    };
    Json::Array(parts.into_iter().map(|p| Json::String(p.to_string())).collect())
}

/// Ticks between 0001-01-01, where Kusto's datetimes count from (and
/// where `bin` counts its bins from), and the Unix epoch.
const TICKS_TO_UNIX_EPOCH: i128 = 621_355_968_000_000_000;

/// `bin`'s result type, or the argument that does not fit.
fn bin_type(value: Type, size: Type) -> Result<Type, ArgError> {
    use Type::*;
    let unknown = |t: Type| matches!(t, Dynamic | Null);
    if !(unknown(value) || matches!(value, Long | Real | DateTime | Timespan)) {
        return Err(ArgError { index: 0, expected: "a number, datetime or timespan" });
    }
    Ok(match (value, size) {
        (Long, Long) => Long,
        (Long | Real, Long | Real) => Real,
        (DateTime | Timespan, Timespan) => value,
        // A long binned by a size of unknown type: a long or a real.
        (Long, s) if unknown(s) => Dynamic,
        (v, s) if unknown(s) => v,
        (Null, Long | Real | Timespan) => Null,
        (Dynamic, Long | Real | Timespan) => Dynamic,
        _ => {
            return Err(ArgError {
                index: 1,
                expected: "a bin size: a number for a number, a timespan for a datetime or a timespan",
            });
        }
    })
}

/// `bin`: `value` rounded down to a multiple of `size`; null for a null,
/// zero or negative size. Datetimes are binned from 0001-01-01, as Kusto
/// bins them (`bin(t, 7d)` starts weeks on Mondays).
fn bin<'a>(value: Value<'a>, size: Value<'a>) -> Value<'a> {
    let floor = |x: i128, size: i128| x.div_euclid(size) * size;
    match (value, size) {
        (Value::Long(v), Value::Long(s)) if s > 0 => {
            i64::try_from(floor(v.into(), s.into())).map_or(Value::Null, Value::Long)
        }
        (v @ (Value::Long(_) | Value::Real(_)), s @ (Value::Long(_) | Value::Real(_))) => {
            let as_real = |v: Value| match v {
                Value::Long(n) => n as f64,
                Value::Real(f) => f,
                _ => f64::NAN,
            };
            let (v, s) = (as_real(v), as_real(s));
            if s > 0.0 { Value::Real((v / s).floor() * s) } else { Value::Null }
        }
        (Value::DateTime(t), Value::Timespan(s)) if s > 0 => {
            let binned = floor(i128::from(t) + TICKS_TO_UNIX_EPOCH, s.into()) - TICKS_TO_UNIX_EPOCH;
            i64::try_from(binned).map_or(Value::Null, Value::DateTime)
        }
        (Value::Timespan(t), Value::Timespan(s)) if s > 0 => {
            i64::try_from(floor(t.into(), s.into())).map_or(Value::Null, Value::Timespan)
        }
        _ => Value::Null,
    }
}

/// The calendar date and the ticks into the day of a datetime.
fn civil(ticks: i64) -> Option<(NaiveDate, i64)> {
    let days = chrono::Duration::try_days(ticks.div_euclid(TICKS_PER_DAY))?;
    Some((NaiveDate::from_ymd_opt(1970, 1, 1)?.checked_add_signed(days)?, ticks.rem_euclid(TICKS_PER_DAY)))
}

/// `datetime_diff`: the period boundaries crossed from `b` to `a` (negative
/// when `a` is earlier). Weeks start on Sundays. Null for a period Kusto
/// does not name.
fn datetime_diff(period: &str, a: i64, b: i64) -> Option<i64> {
    let fixed = |unit: i64| Some(a.div_euclid(unit) - b.div_euclid(unit));
    let months = |t: i64| civil(t).map(|(d, _)| i64::from(d.year()) * 12 + i64::from(d.month0()));
    match period.to_ascii_lowercase().as_str() {
        "year" => Some(i64::from(civil(a)?.0.year()) - i64::from(civil(b)?.0.year())),
        "quarter" => Some(months(a)?.div_euclid(3) - months(b)?.div_euclid(3)),
        "month" => Some(months(a)? - months(b)?),
        // 1970-01-01 was a Thursday: day -4 a Sunday.
        "week" => {
            Some((a.div_euclid(TICKS_PER_DAY) + 4).div_euclid(7) - (b.div_euclid(TICKS_PER_DAY) + 4).div_euclid(7))
        }
        "day" => fixed(TICKS_PER_DAY),
        "hour" => fixed(3600 * TICKS_PER_SECOND),
        "minute" => fixed(60 * TICKS_PER_SECOND),
        "second" => fixed(TICKS_PER_SECOND),
        "millisecond" => fixed(10_000),
        "microsecond" => fixed(10),
        "nanosecond" => a.checked_sub(b)?.checked_mul(100),
        _ => None,
    }
}

/// `format_datetime` with Kusto's format elements (`yyyy`, `yy`, `y`, `MM`,
/// `M`, `dd`, `d`, `HH`, `H`, `hh`, `h`, `mm`, `m`, `ss`, `s`, `f`... to
/// `fffffff`, `F`... to `FFFFFFF`, `tt`); other characters are copied.
/// `None` for a run of an element's letter Kusto does not define
/// (`ddd`, `MMM`).
fn format_datetime(ticks: i64, format: &str) -> Option<String> {
    let (date, rem) = civil(ticks)?;
    let (secs, frac) = (rem / TICKS_PER_SECOND, rem % TICKS_PER_SECOND);
    let (hour, minute, second) = (secs / 3600, secs / 60 % 60, secs % 60);
    let hour12 = if hour % 12 == 0 { 12 } else { hour % 12 };
    let year = i64::from(date.year());
    let chars: Vec<char> = format.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let n = chars[i..].iter().take_while(|&&x| x == c).count();
        let number = match c {
            'd' => Some(i64::from(date.day())),
            'M' => Some(i64::from(date.month())),
            'H' => Some(hour),
            'h' => Some(hour12),
            'm' => Some(minute),
            's' => Some(second),
            _ => None,
        };
        match (c, number) {
            (_, Some(v)) if n <= 2 => {
                let _ = write!(out, "{v:0n$}");
            }
            ('f' | 'F', _) if n <= 7 => {
                let digits = format!("{frac:07}");
                let digits = &digits[..n];
                out.push_str(if c == 'F' { digits.trim_end_matches('0') } else { digits });
            }
            ('y', _) if n <= 2 => {
                let _ = write!(out, "{:0n$}", year.rem_euclid(100));
            }
            ('y', _) => {
                let _ = write!(out, "{year:0n$}");
            }
            ('t', _) if n <= 2 => out.push_str(&(if hour < 12 { "AM" } else { "PM" })[..n]),
            ('d' | 'M' | 'H' | 'h' | 'm' | 's' | 'f' | 'F' | 't', _) => return None,
            _ => out.extend(std::iter::repeat_n(c, n)),
        }
        i += n;
    }
    Some(out)
}

/// `parse_url`: the parts of `scheme://user:password@host:port/path?query#fragment`,
/// each `""` when absent, as Kusto's example shows them (the path without
/// its leading `/`, the port as text, the query as a bag of its
/// parameters, percent-decoded). Text that is not an absolute URL gives
/// every part empty.
fn parse_url(url: &str) -> Json {
    #[derive(Default)]
    struct Parts<'u> {
        scheme: &'u str,
        host: &'u str,
        port: &'u str,
        path: &'u str,
        username: &'u str,
        password: &'u str,
        query: &'u str,
        fragment: &'u str,
    }
    fn parts(url: &str) -> Option<Parts<'_>> {
        let (scheme, rest) = url.split_once("://")?;
        let mut chars = scheme.chars();
        let scheme_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
        if !scheme_ok {
            return None;
        }
        let (rest, fragment) = rest.split_once('#').unwrap_or((rest, ""));
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (userinfo, hostport) = authority.rsplit_once('@').unwrap_or(("", authority));
        let (username, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
        let (host, port) = match hostport.find(']') {
            // `[::1]:8080`: the brackets are the host's.
            Some(i) if hostport.starts_with('[') => {
                (&hostport[..=i], hostport[i + 1..].strip_prefix(':').unwrap_or(""))
            }
            _ => hostport.rsplit_once(':').unwrap_or((hostport, "")),
        };
        Some(Parts { scheme, host, port, path, username, password, query, fragment })
    }
    let p = parts(url.trim()).unwrap_or_default();
    let mut query = serde_json::Map::new();
    for pair in p.query.split('&').filter(|pair| !pair.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        query.insert(percent_decode(k), Json::String(percent_decode(v)));
    }
    let text = |s: &str| Json::String(s.to_string());
    let mut bag = serde_json::Map::new();
    bag.insert("Scheme".into(), text(p.scheme));
    bag.insert("Host".into(), text(p.host));
    bag.insert("Port".into(), text(p.port));
    bag.insert("Path".into(), text(p.path));
    bag.insert("Username".into(), text(p.username));
    bag.insert("Password".into(), text(p.password));
    bag.insert("Query Parameters".into(), Json::Object(query));
    bag.insert("Fragment".into(), text(p.fragment));
    Json::Object(bag)
}

/// `%41` as `A`; a `%` not followed by two hex digits is kept.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |j: usize| b.get(j).and_then(|c| (*c as char).to_digit(16));
        match (b[i], hex(i + 1), hex(i + 2)) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The optional prefix-length argument of the IP matches and comparisons:
/// `Some(None)` when absent or null, the length held to `0..=most`;
/// `None` when it is not a number.
fn prefix_arg(v: Option<Value>, most: u32) -> Option<Option<u32>> {
    match v.map(Value::undynamic) {
        None | Some(Value::Null) => Some(None),
        Some(Value::Long(n)) => Some(Some(n.clamp(0, i64::from(most)) as u32)),
        Some(_) => None,
    }
}

/// `ipv4_is_match` (`compare`: false) or `ipv4_compare` / `ipv6_compare`.
fn compared<'a>(compare: bool, o: std::cmp::Ordering) -> Value<'a> {
    if compare { Value::Long(o as i64) } else { Value::Bool(o.is_eq()) }
}

fn mask32(bits: u32) -> u32 {
    u32::MAX.checked_shl(32 - bits).unwrap_or(0)
}

fn mask128(bits: u32) -> u128 {
    u128::MAX.checked_shl(128 - bits).unwrap_or(0)
}

/// An IPv4 address in dotted-decimal form, as `Ipv4Addr`'s parser reads it
/// (surrounding whitespace trimmed). Plain `a.b.c.d` text is read by hand;
/// anything that reading refuses goes to the standard parser, so both agree.
/// A `/prefix` is not an address: see [`parse_v4_masked`].
pub(crate) fn parse_v4(s: &str) -> Option<Ipv4Addr> {
    dotted_quad(s.as_bytes()).or_else(|| s.trim().parse().ok())
}

/// An IPv4 address, optionally with a `/prefix` that masks it: Kusto's
/// "long representation" of an address argument (`parse_ipv4`), as
/// `ipv4_is_in_range` and `ipv4_is_private` read their address.
/// `10.1.2.3/24` is `10.1.2.0`; plain addresses are as [`parse_v4`] reads them.
pub(crate) fn parse_v4_masked(s: &str) -> Option<Ipv4Addr> {
    let (ip, bits) = parse_v4_range(s)?;
    Some(Ipv4Addr::from_bits(ip.to_bits() & mask32(bits)))
}

/// Four decimal octets of one to three digits, no leading zero, each at
/// most 255: the common case of [`parse_v4`], without its overhead.
#[inline]
fn dotted_quad(b: &[u8]) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut i = 0;
    for (n, octet) in octets.iter_mut().enumerate() {
        if n > 0 {
            (b.get(i) == Some(&b'.')).then_some(())?;
            i += 1;
        }
        let start = i;
        let mut value = 0u32;
        while let Some(d) = b.get(i).filter(|d| d.is_ascii_digit() && i - start < 4) {
            value = value * 10 + u32::from(d - b'0');
            i += 1;
        }
        let digits = i - start;
        if digits == 0 || digits > 3 || (digits > 1 && b[start] == b'0') || value > 255 {
            return None;
        }
        *octet = value as u8;
    }
    (i == b.len()).then_some(Ipv4Addr::from(octets))
}

/// An IPv4 address with an optional `/prefix` (32 when absent), unmasked.
pub(crate) fn parse_v4_range(s: &str) -> Option<(Ipv4Addr, u32)> {
    match s.trim().split_once('/') {
        Some((ip, bits)) => {
            let bits: u32 = bits.parse().ok()?;
            (bits <= 32).then_some(())?;
            Some((parse_v4(ip)?, bits))
        }
        None => Some((parse_v4(s)?, 32)),
    }
}

/// IPv4 ranges, merged and sorted: membership is a binary search, so an
/// allowlist of 10,000 ranges costs a few comparisons per address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V4Ranges {
    /// Inclusive `(first, last)` addresses, disjoint and in order.
    spans: Vec<(u32, u32)>,
}

impl V4Ranges {
    /// The ranges written as `a.b.c.d/bits` or an address; IPv6 ranges
    /// are passed over (reference data such as Azure's service tags mixes
    /// both, and no IPv4 address is in one). `Err` holds the first text
    /// that is no range.
    pub fn new<'t>(texts: impl IntoIterator<Item = &'t str>) -> Result<V4Ranges, &'t str> {
        let mut spans: Vec<(u32, u32)> = Vec::new();
        for t in texts {
            if t.contains(':') && parse_v6_prefix(t).is_some() {
                continue;
            }
            let (net, bits) = parse_v4_range(t).ok_or(t)?;
            let first = net.to_bits() & mask32(bits);
            spans.push((first, first | !mask32(bits)));
        }
        spans.sort_unstable();
        let mut merged: Vec<(u32, u32)> = Vec::with_capacity(spans.len());
        for (first, last) in spans {
            match merged.last_mut() {
                Some(prev) if first <= prev.1.saturating_add(1) => prev.1 = prev.1.max(last),
                _ => merged.push((first, last)),
            }
        }
        Ok(V4Ranges { spans: merged })
    }

    /// The merged inclusive `(first, last)` spans, in order.
    pub fn spans(&self) -> &[(u32, u32)] {
        &self.spans
    }

    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        let ip = ip.to_bits();
        let i = self.spans.partition_point(|&(first, _)| first <= ip);
        i > 0 && self.spans[i - 1].1 >= ip
    }
}

#[cfg(test)]
mod range_tests {
    use super::*;

    #[test]
    fn ranges_merge_and_hold_their_edges() {
        let r = V4Ranges::new(["10.0.0.0/24", "10.0.1.0/24", "10.0.0.128/25", "192.0.2.7", "2603:1000::/25"]).unwrap();
        assert_eq!(r.spans, [(0x0a00_0000, 0x0a00_01ff), (0xc000_0207, 0xc000_0207)]);
        let has = |ip: &str| r.contains(ip.parse().unwrap());
        assert!(has("10.0.0.0") && has("10.0.1.255") && has("192.0.2.7"));
        assert!(!has("9.255.255.255") && !has("10.0.2.0") && !has("192.0.2.6") && !has("192.0.2.8"));
        assert!(V4Ranges::new(["0.0.0.0/0"]).unwrap().contains("255.255.255.255".parse().unwrap()));
        assert!(!V4Ranges::new(Vec::<&str>::new()).unwrap().contains("1.2.3.4".parse().unwrap()));
        assert_eq!(V4Ranges::new(["10.0.0.0/8", "10.0.0.0/33"]), Err("10.0.0.0/33"));
        assert_eq!(V4Ranges::new(["not a range"]), Err("not a range"));
    }
}

/// `ipv6_is_match` of two parsed addresses with their prefixes: equal over
/// the shortest prefix (and `prefix`, when given).
pub(crate) fn ipv6_match((a, pa): (Ipv6Addr, u32), (b, pb): (Ipv6Addr, u32), prefix: Option<u32>) -> bool {
    prefix_eq(&a.octets(), &b.octets(), pa.min(pb).min(prefix.unwrap_or(128)))
}

/// An IPv6 (or IPv4, mapped to `::ffff:a.b.c.d`) address with an optional
/// `/prefix`.
pub(crate) fn parse_v6_prefix(s: &str) -> Option<(Ipv6Addr, u32)> {
    match dotted_quad(s.as_bytes()) {
        Some(v4) => Some((v4.to_ipv6_mapped(), 128)),
        None => parse_v6_prefix_std(s),
    }
}

/// [`parse_v6_prefix`] with the standard parsers only.
fn parse_v6_prefix_std(s: &str) -> Option<(Ipv6Addr, u32)> {
    let (ip, bits) = match s.trim().split_once('/') {
        Some((ip, bits)) => (ip, Some(bits.parse::<u32>().ok()?)),
        None => (s.trim(), None),
    };
    match ip.parse::<IpAddr>().ok()? {
        IpAddr::V4(v4) => {
            let bits = bits.unwrap_or(32);
            (bits <= 32).then_some((v4.to_ipv6_mapped(), bits + 96))
        }
        IpAddr::V6(v6) => {
            let bits = bits.unwrap_or(128);
            (bits <= 128).then_some((v6, bits))
        }
    }
}

pub(crate) fn prefix_eq(a: &[u8], b: &[u8], bits: u32) -> bool {
    let full = (bits / 8) as usize;
    if a[..full] != b[..full] {
        return false;
    }
    let rest = bits % 8;
    rest == 0 || {
        let mask = 0xffu8 << (8 - rest);
        a[full] & mask == b[full] & mask
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn call(f: &str, args: Vec<Value<'static>>) -> Value<'static> {
        Func::from_name(f).unwrap().eval(args, 1_000)
    }

    fn s(x: &str) -> Value<'static> {
        Value::Str(Cow::Owned(x.to_string()))
    }

    fn long(n: i64) -> Value<'static> {
        Value::Long(n)
    }

    fn dt(text: &str) -> Value<'static> {
        Value::DateTime(datetime::parse(text).unwrap_or_else(|| panic!("{text}")))
    }

    fn dynamic(j: Json) -> Value<'static> {
        Value::Dynamic(Arc::new(j))
    }

    /// `f(a, b[, n])` on each row, compared with the row's result.
    fn table(f: &str, rows: &[(&str, &str, Option<i64>)], want: Value<'static>) {
        for &(a, b, n) in rows {
            let mut args = vec![s(a), s(b)];
            args.extend(n.map(long));
            assert_eq!(call(f, args), want, "{f}({a:?}, {b:?}, {n:?})");
        }
    }

    #[test]
    fn ipv4_text_is_read_as_the_standard_parser_reads_it() {
        for text in ["1.2.3.4", "0.0.0.0", "255.255.255.255", "256.1.1.1", "01.2.3.4", "1.2.3", "1.2.3.4.", " 1.2.3.4 "]
        {
            assert_eq!(parse_v4(text), text.trim().parse().ok(), "{text:?}");
        }
        assert_eq!(dotted_quad(b"10.0.255.9"), Some(Ipv4Addr::new(10, 0, 255, 9)));
        assert_eq!(dotted_quad(b"10.0.0.0009"), None);
        assert_eq!(dotted_quad(b"99999999999.1.1.1"), None);
    }

    proptest::proptest! {
        #[test]
        fn ipv4_reading_agrees_with_the_standard_parser(text in "[0-9.]{0,18}|[0-9]{1,3}(\\.[0-9]{1,3}){3}") {
            proptest::prop_assert_eq!(parse_v4(&text), text.parse::<Ipv4Addr>().ok());
        }

        #[test]
        fn ipv6_prefix_reading_agrees_with_the_standard_parsers(
            text in " ?([0-9.]{0,16}|[0-9]{1,3}(\\.[0-9]{1,3}){3}|[0-9a-f:]{2,12})(/[0-9]{1,3})? ?"
        ) {
            proptest::prop_assert_eq!(parse_v6_prefix(&text), parse_v6_prefix_std(&text));
        }

        /// A masked address is the address when it has no prefix, and has
        /// no bit past its prefix.
        #[test]
        fn masked_ipv4_reading(text in "[0-9]{1,3}(\\.[0-9]{1,3}){3}(/[0-9]{1,2})?") {
            let masked = parse_v4_masked(&text);
            match text.split_once('/') {
                None => proptest::prop_assert_eq!(masked, parse_v4(&text)),
                Some((ip, bits)) => {
                    let bits: u32 = bits.parse().unwrap();
                    let want = parse_v4(ip)
                        .filter(|_| bits <= 32)
                        .map(|ip| Ipv4Addr::from_bits(ip.to_bits() & mask32(bits)));
                    proptest::prop_assert_eq!(masked, want);
                }
            }
        }
    }

    #[test]
    fn ip_ranges() {
        assert_eq!(call("ipv4_is_in_range", vec![s("10.1.2.3"), s("10.0.0.0/8")]), Value::Bool(true));
        assert_eq!(call("ipv4_is_in_range", vec![s("11.1.2.3"), s("10.0.0.0/8")]), Value::Bool(false));
        assert_eq!(call("ipv4_is_in_range", vec![s("192.168.1.130"), s("192.168.1.128/25")]), Value::Bool(true));
        assert_eq!(call("ipv4_is_in_range", vec![s("192.168.1.127"), s("192.168.1.128/25")]), Value::Bool(false));
        assert_eq!(call("ipv4_is_in_range", vec![s("1.2.3.4"), s("1.2.3.4")]), Value::Bool(true));
        assert_eq!(call("ipv4_is_in_range", vec![s(""), s("10.0.0.0/8")]), Value::Null);
        assert_eq!(call("ipv4_is_private", vec![s("172.20.0.1")]), Value::Bool(true));
    }

    /// "ipv4_is_in_range()": the page's example table. The address is read
    /// as its "long representation", `parse_ipv4`'s: a `/prefix` masks it.
    #[test]
    fn ipv4_is_in_range_as_documented() {
        table(
            "ipv4_is_in_range",
            &[("192.168.1.1", "192.168.1.1", None), ("192.168.1.1", "192.168.1.255/24", None)],
            Value::Bool(true),
        );
        // An address with a prefix: `192.168.1.1/24` is `192.168.1.0`.
        table(
            "ipv4_is_in_range",
            &[("192.168.1.1/24", "192.168.1.0"), ("10.1.2.3/24", "10.1.2.0/24"), ("10.1.2.3/24", "10.0.0.0/8")]
                .map(|(a, b)| (a, b, None)),
            Value::Bool(true),
        );
        table(
            "ipv4_is_in_range",
            &[("192.168.1.1/24", "192.168.1.1", None), ("10.1.2.3/8", "10.1.0.0/16", None)],
            Value::Bool(false),
        );
        table(
            "ipv4_is_in_range",
            &[("192.168.1.1/33", "192.168.1.1", None), ("192.168.1.1", "10.0.0.0/33", None), ("x", "10.0.0.0/8", None)],
            Value::Null,
        );
    }

    /// "ipv4_is_private()": the examples at the top of the page, and the
    /// example table.
    #[test]
    fn ipv4_is_private_as_documented() {
        for (ip, want) in [
            ("192.168.1.1/24", true),
            ("10.1.2.3/24", true),
            ("202.1.2.3", false),
            ("127.0.0.1", false),
            ("10.1.2.3", true),
        ] {
            assert_eq!(call("ipv4_is_private", vec![s(ip)]), Value::Bool(want), "{ip}");
        }
        // The prefix masks the address: `10.1.2.3/4` is `0.0.0.0`.
        assert_eq!(call("ipv4_is_private", vec![s("10.1.2.3/4")]), Value::Bool(false));
        assert_eq!(call("ipv4_is_private", vec![s("10.1.2.3/40")]), Value::Null);
        assert_eq!(call("ipv4_is_private", vec![s("")]), Value::Null);
    }

    /// "ipv4_is_match()": the simple example and both tables.
    #[test]
    fn ipv4_is_match_as_documented() {
        assert_eq!(call("ipv4_is_match", vec![s("192.168.1.1/24"), s("192.168.1.255")]), Value::Bool(true));
        let rows = [
            ("192.168.1.0", "192.168.1.0", None),
            ("192.168.1.1/24", "192.168.1.255", None),
            ("192.168.1.1", "192.168.1.255/24", None),
            ("192.168.1.1/30", "192.168.1.255/24", None),
            ("192.168.1.1", "192.168.1.0", Some(31)),
            ("192.168.1.1/24", "192.168.1.255", Some(31)),
            ("192.168.1.1", "192.168.1.255", Some(24)),
        ];
        table("ipv4_is_match", &rows, Value::Bool(true));
        table(
            "ipv4_is_match",
            &[("192.168.1.1", "192.168.1.255", None), ("192.168.1.1", "192.168.1.2", Some(31))],
            Value::Bool(false),
        );
        table("ipv4_is_match", &[("192.168.1.1", "nope", None), ("::1", "::1", None)], Value::Null);
        assert_eq!(call("ipv4_is_match", vec![s("1.2.3.4"), s("1.2.3.5"), s("x")]), Value::Null);
        assert_eq!(call("ipv4_is_match", vec![s("1.2.3.4"), s("1.2.3.5"), Value::Null]), Value::Bool(false));
    }

    /// "ipv4_compare()": both example tables (every row compares equal), and
    /// the order of unequal addresses.
    #[test]
    fn ipv4_compare_as_documented() {
        let rows = [
            ("192.168.1.0", "192.168.1.0", None),
            ("192.168.1.1/24", "192.168.1.255", None),
            ("192.168.1.1", "192.168.1.255/24", None),
            ("192.168.1.1/30", "192.168.1.255/24", None),
            ("192.168.1.1", "192.168.1.0", Some(31)),
            ("192.168.1.1/24", "192.168.1.255", Some(31)),
            ("192.168.1.1", "192.168.1.255", Some(24)),
        ];
        table("ipv4_compare", &rows, long(0));
        table("ipv4_compare", &[("192.168.1.1", "192.168.1.2", None), ("9.255.255.255", "10.0.0.0", None)], long(-1));
        table(
            "ipv4_compare",
            &[("192.168.1.2", "192.168.1.1", None), ("192.168.2.0/24", "192.168.1.7", None)],
            long(1),
        );
        table("ipv4_compare", &[("192.168.1.2", "", None)], Value::Null);
    }

    /// The rows of the tables on "ipv6_compare()" and "ipv6_is_match()": the
    /// same rows, every one equal.
    const IPV6_ROWS: [(&str, &str, Option<i64>); 21] = [
        ("192.168.1.1", "192.168.1.1", None),
        ("192.168.1.1/24", "192.168.1.255", None),
        ("192.168.1.1", "192.168.1.255/24", None),
        ("192.168.1.1/30", "192.168.1.255/24", None),
        ("fe80::85d:e82c:9446:7994", "fe80::85d:e82c:9446:7994", None),
        ("fe80::85d:e82c:9446:7994/120", "fe80::85d:e82c:9446:7998", None),
        ("fe80::85d:e82c:9446:7994", "fe80::85d:e82c:9446:7998/120", None),
        ("fe80::85d:e82c:9446:7994/120", "fe80::85d:e82c:9446:7998/120", None),
        ("192.168.1.1", "::ffff:c0a8:0101", None),
        ("192.168.1.1/24", "::ffff:c0a8:01ff", None),
        ("::ffff:c0a8:0101", "192.168.1.255/24", None),
        ("::192.168.1.1/30", "192.168.1.255/24", None),
        ("192.168.1.1", "192.168.1.0", Some(31)),
        ("192.168.1.1/24", "192.168.1.255", Some(31)),
        ("192.168.1.1", "192.168.1.255", Some(24)),
        ("fe80::85d:e82c:9446:7994", "fe80::85d:e82c:9446:7995", Some(127)),
        ("fe80::85d:e82c:9446:7994/127", "fe80::85d:e82c:9446:7998", Some(120)),
        ("fe80::85d:e82c:9446:7994/120", "fe80::85d:e82c:9446:7998", Some(127)),
        ("192.168.1.1/24", "::ffff:c0a8:01ff", Some(127)),
        ("::ffff:c0a8:0101", "192.168.1.255", Some(120)),
        ("::192.168.1.1/30", "192.168.1.255/24", Some(127)),
    ];

    #[test]
    fn ipv6_compare_and_match_as_documented() {
        table("ipv6_compare", &IPV6_ROWS, long(0));
        table("ipv6_is_match", &IPV6_ROWS, Value::Bool(true));
        table("ipv6_compare", &[("fe80::1", "fe80::2", None), ("1.2.3.4", "fe80::", None)], long(-1));
        table("ipv6_compare", &[("fe80::2", "fe80::1", None)], long(1));
        table("ipv6_compare", &[("fe80::2", "fe80::1", Some(120))], long(0));
        table("ipv6_compare", &[("fe80::2", "x", None)], Value::Null);
    }

    /// "parse_ipv4()": the example table.
    #[test]
    fn parse_ipv4_as_documented() {
        for (ip, want) in
            [("192.168.1.1", 3232235777), ("192.168.1.1/24", 3232235776), ("255.255.255.255/31", 4294967294)]
        {
            assert_eq!(call("parse_ipv4", vec![s(ip)]), long(want), "{ip}");
        }
        assert_eq!(call("parse_ipv4", vec![s("1.2.3")]), Value::Null);
    }

    #[test]
    fn ipv6_match_maps_ipv4() {
        assert_eq!(call("ipv6_is_match", vec![s("::ffff:1.2.3.4"), s("1.2.3.4")]), Value::Bool(true));
        assert_eq!(
            call("ipv6_is_match", vec![s("fe80::85d:e82c:9446:7994"), s("fe80::85d:e82c:9446:7995")]),
            Value::Bool(false)
        );
        assert_eq!(
            call("ipv6_is_match", vec![s("fe80::85d:e82c:9446:7994"), s("fe80::85d:e82c:9446:7995"), Value::Long(120)]),
            Value::Bool(true)
        );
        assert_eq!(call("ipv6_is_match", vec![s("2001:db8::/32"), s("2001:db8:1::1")]), Value::Bool(true));
        assert_eq!(call("ipv6_is_match", vec![s("nope"), s("::1")]), Value::Null);
    }

    /// "iff()": the two StormEvents examples, on rows written by hand.
    #[test]
    fn iff_as_documented() {
        let rain = |event: &str| {
            let is_rain = ["Heavy Rain", "Flash Flood", "Flood"].contains(&event);
            call("iff", vec![Value::Bool(is_rain), s("Rain event"), s("Not rain event")])
        };
        assert_eq!(rain("Waterspout"), s("Not rain event"));
        assert_eq!(rain("Heavy Rain"), s("Rain event"));
        // Severity: High, else (nested) Low or Moderate.
        let severity = |high: bool, low: bool| {
            let inner = call("iff", vec![Value::Bool(low), s("Low"), s("Moderate")]);
            call("iif", vec![Value::Bool(high), s("High"), inner])
        };
        assert_eq!(severity(true, false), s("High"));
        assert_eq!(severity(false, true), s("Low"));
        assert_eq!(severity(false, false), s("Moderate"));
        // Only `true` is true.
        assert_eq!(call("iff", vec![Value::Null, long(1), long(2)]), long(2));
        assert_eq!(call("iff", vec![dynamic(json!(true)), long(1), long(2)]), long(1));
    }

    /// "case()": `case(Size <= 3, "Small", Size <= 10, "Medium", "Large")`
    /// over `range Size from 1 to 15 step 2`.
    #[test]
    fn case_as_documented() {
        for (size, want) in [(1, "Small"), (3, "Small"), (5, "Medium"), (7, "Medium"), (9, "Medium")]
            .into_iter()
            .chain([(11, "Large"), (13, "Large"), (15, "Large")])
        {
            let args = vec![Value::Bool(size <= 3), s("Small"), Value::Bool(size <= 10), s("Medium"), s("Large")];
            assert_eq!(call("case", args), s(want), "{size}");
        }
        assert_eq!(call("case", vec![Value::Null, long(1), long(2)]), long(2));
    }

    /// `iff` and `case` take no more arguments than the value they return:
    /// the others are not evaluated.
    #[test]
    fn iff_and_case_stop_at_their_value() {
        let counted = |f: Func, values: Vec<Value<'static>>| {
            let taken = std::cell::Cell::new(0);
            let mut it = values.into_iter();
            let v = f.eval(std::iter::from_fn(|| it.next().inspect(|_| taken.set(taken.get() + 1))), 0);
            (v, taken.get())
        };
        assert_eq!(counted(Func::Iff, vec![Value::Bool(true), long(1), long(2)]), (long(1), 2));
        assert_eq!(counted(Func::Iff, vec![Value::Bool(false), long(1), long(2)]), (long(2), 3));
        let args = vec![Value::Bool(false), long(1), Value::Bool(true), long(2), long(3)];
        assert_eq!(counted(Func::Case, args), (long(2), 4));
    }

    /// "extract()": the first example's three columns on both rows.
    #[test]
    fn extract_as_documented() {
        let rows = ["User: James, Email: James@example.com, Age: 29", "User: David, Age: 35"];
        let want = [("James", "James@example.com", "29"), ("David", "", "35")];
        for (text, (user, email, age)) in rows.into_iter().zip(want) {
            assert_eq!(call("extract", vec![s("User: ([^,]+)"), long(1), s(text)]), s(user));
            assert_eq!(call("extract", vec![s(r"Email: (\S+),"), long(1), s(text)]), s(email));
            assert_eq!(call("extract", vec![s(r"\d+"), long(0), s(text)]), s(age));
        }
        // The second example without its `typeof(int)`: the text.
        assert_eq!(call("extract", vec![s(r"-(\d{2})-"), long(1), s("21-07-2023")]), s("07"));
        // No such group, or no regex: no match.
        assert_eq!(call("extract", vec![s(r"(\d+)"), long(2), s("a1")]), s(""));
        assert_eq!(call("extract", vec![s(r"("), long(0), s("a1")]), s(""));
    }

    /// "split()": the five examples.
    #[test]
    fn split_as_documented() {
        assert_eq!(call("split", vec![s("aa_bb"), s("_")]), dynamic(json!(["aa", "bb"])));
        assert_eq!(call("split", vec![s("aaa_bbb_ccc"), s("_"), long(1)]), dynamic(json!(["bbb"])));
        assert_eq!(call("split", vec![s(""), s("_")]), dynamic(json!([""])));
        assert_eq!(call("split", vec![s("a__b"), s("_")]), dynamic(json!(["a", "", "b"])));
        assert_eq!(call("split", vec![s("aabbcc"), s("bb")]), dynamic(json!(["aa", "cc"])));
        // No part at the index: an empty array.
        assert_eq!(call("split", vec![s("a_b"), s("_"), long(2)]), dynamic(json!([])));
        assert_eq!(call("split", vec![s("a_b"), s("_"), long(-1)]), dynamic(json!([])));
        assert_eq!(call("split", vec![s("a_b"), s("_")]).to_text(), r#"["a","b"]"#);
    }

    /// "replace_string()": both examples.
    #[test]
    fn replace_string_as_documented() {
        assert_eq!(
            call("replace_string", vec![s("A magic trick can turn a cat into a dog"), s("cat"), s("hamster")]),
            s("A magic trick can turn a hamster into a dog")
        );
        for x in 1..=5 {
            let text = format!("Number is {x}");
            assert_eq!(call("replace_string", vec![s(&text), s("is"), s("was")]), s(&format!("Number was {x}")));
        }
        // Matches do not overlap; an empty lookup replaces nothing.
        assert_eq!(call("replace_string", vec![s("aaa"), s("aa"), s("b")]), s("ba"));
        assert_eq!(call("replace_string", vec![s("abc"), s(""), s("x")]), s("abc"));
    }

    /// "trim()", "trim_start()" and "trim_end()": the examples of each.
    #[test]
    fn trims_as_documented() {
        let f = |f: &str, re: &str, text: &str| call(f, vec![s(re), s(text)]);
        assert_eq!(f("trim", "--", "--https://bing.com--"), s("https://bing.com"));
        assert_eq!(f("trim_start", "https://", "https://bing.com"), s("bing.com"));
        assert_eq!(f("trim_end", ".com", "bing.com"), s("bing"));
        for x in 1..=5 {
            let text = format!("-  Te st{x}// $");
            assert_eq!(f("trim", r"[^\w]+", &text), s(&format!("Te st{x}")));
            assert_eq!(f("trim_start", r"[^\w]+", &text), s(&format!("Te st{x}// $")));
            assert_eq!(f("trim_end", r"[^\w]+", &text), s(&format!("-  Te st{x}")));
        }
        let hello = "    Hello, world!    ";
        assert_eq!(f("trim", r"\s+", hello), s("Hello, world!"));
        assert_eq!(f("trim_start", r"\s+", hello), s("Hello, world!    "));
        assert_eq!(f("trim_end", r"\s+", hello), s("    Hello, world!"));
        // An alternation stays inside its anchors.
        assert_eq!(f("trim", "a|b", "bxa"), s("x"));
    }

    /// "indexof()": the nine examples, and the nulls the page lists.
    #[test]
    fn indexof_as_documented() {
        let f = |args: Vec<Value<'static>>| call("indexof", args);
        let abc = || s("abcdefg");
        assert_eq!(f(vec![abc(), s("cde")]), long(2));
        assert_eq!(f(vec![abc(), s("cde"), long(1), long(4)]), long(2));
        assert_eq!(f(vec![abc(), s("cde"), long(1), long(2)]), long(-1));
        assert_eq!(f(vec![abc(), s("cde"), long(3), long(4)]), long(-1));
        assert_eq!(f(vec![abc(), s("cde"), long(-5)]), long(2));
        assert_eq!(f(vec![long(1234567), long(5), long(1), long(4)]), long(4));
        assert_eq!(f(vec![abc(), s("cde"), long(2), long(-1)]), long(2));
        assert_eq!(f(vec![s("abcdefgabcdefg"), s("cde"), long(1), long(10), long(2)]), long(9));
        assert_eq!(f(vec![s("abcdefgabcdefg"), s("cde"), long(1), long(-1), long(3)]), long(-1));
        // Null: a start before the string, a length below -1, an occurrence below 0.
        assert_eq!(f(vec![abc(), s("cde"), long(-8)]), Value::Null);
        assert_eq!(f(vec![abc(), s("cde"), long(0), long(-2)]), Value::Null);
        assert_eq!(f(vec![abc(), s("cde"), long(0), long(-1), long(-1)]), Value::Null);
        assert_eq!(f(vec![s("héllo"), s("l")]), long(2), "in characters");
        assert_eq!(f(vec![abc(), s("g"), long(9)]), long(-1));
    }

    /// "substring()": the four examples.
    #[test]
    fn substring_as_documented() {
        assert_eq!(call("substring", vec![s("123456"), long(1)]), s("23456"));
        assert_eq!(call("substring", vec![s("123456"), long(2), long(2)]), s("34"));
        assert_eq!(call("substring", vec![s("ABCD"), long(0), long(2)]), s("AB"));
        assert_eq!(call("substring", vec![s("123456"), long(-2), long(2)]), s("56"));
        assert_eq!(call("substring", vec![s("héllo"), long(1), long(3)]), s("éll"));
        assert_eq!(call("substring", vec![s("abc"), long(5)]), s(""));
    }

    /// "countof()": the six examples.
    #[test]
    fn countof_as_documented() {
        let f = |args: Vec<Value<'static>>| call("countof", args);
        assert_eq!(f(vec![s("aaa"), s("a")]), long(3));
        assert_eq!(f(vec![s("aaaa"), s("aa")]), long(3));
        assert_eq!(f(vec![s("ababa"), s("ab"), s("normal")]), long(2));
        assert_eq!(f(vec![s("ababa"), s("aba")]), long(2));
        assert_eq!(f(vec![s("ababa"), s("aba"), s("regex")]), long(1));
        assert_eq!(f(vec![s("abcabc"), s("a.c"), s("regex")]), long(2));
        assert_eq!(f(vec![s("abc"), s("a"), s("other")]), Value::Null);
    }

    /// "datetime_diff()": the eleven periods of the example.
    #[test]
    fn datetime_diff_as_documented() {
        let rows = [
            ("year", "2017-01-01", "2000-12-31", 17),
            ("quarter", "2017-07-01", "2017-03-30", 2),
            ("month", "2017-01-01", "2015-12-30", 13),
            ("week", "2017-10-29 00:00", "2017-09-30 23:59", 5),
            ("day", "2017-10-29 00:00", "2017-09-30 23:59", 29),
            ("hour", "2017-10-31 01:00", "2017-10-30 23:59", 2),
            ("minute", "2017-10-30 23:05:01", "2017-10-30 23:00:59", 5),
            ("second", "2017-10-30 23:00:10.100", "2017-10-30 23:00:00.900", 10),
            ("millisecond", "2017-10-30 23:00:00.200100", "2017-10-30 23:00:00.100900", 100),
            ("microsecond", "2017-10-30 23:00:00.1009001", "2017-10-30 23:00:00.1008009", 100),
            ("nanosecond", "2017-10-30 23:00:00.0000000", "2017-10-30 23:00:00.0000007", -700),
        ];
        for (period, a, b, want) in rows {
            assert_eq!(call("datetime_diff", vec![s(period), dt(a), dt(b)]), long(want), "{period}");
            // Periods are case-insensitive; swapped, the difference is negated.
            assert_eq!(call("datetime_diff", vec![s(&period.to_uppercase()), dt(b), dt(a)]), long(-want), "{period}");
        }
        assert_eq!(call("datetime_diff", vec![s("fortnight"), dt("2017-01-01"), dt("2017-01-02")]), Value::Null);
        assert_eq!(call("datetime_diff", vec![s("day"), Value::Null, dt("2017-01-02")]), Value::Null);
    }

    /// "bin()": the numeric, timespan and datetime examples; null, zero
    /// and negative bin sizes.
    #[test]
    fn bin_as_documented() {
        let day = TICKS_PER_DAY;
        assert_eq!(call("bin", vec![Value::Real(4.5), long(1)]), Value::Real(4.0));
        assert_eq!(call("bin", vec![Value::Timespan(16 * day), Value::Timespan(7 * day)]), Value::Timespan(14 * day));
        assert_eq!(call("bin", vec![dt("1970-05-11 13:45:07"), Value::Timespan(day)]), dt("1970-05-11T00:00:00Z"));
        for size in [Value::Null, long(0), long(-1)] {
            assert_eq!(call("bin", vec![long(7), size.clone()]), Value::Null, "{size:?}");
        }
        assert_eq!(call("bin", vec![Value::Null, long(1)]), Value::Null);
        // Down, for negative values too; long by long is a long.
        assert_eq!(call("bin", vec![long(-3), long(2)]), long(-4));
        assert_eq!(call("bin", vec![long(7), long(5)]), long(5));
        assert_eq!(call("bin", vec![long(7), Value::Real(2.5)]), Value::Real(5.0));
        // Weeks from 0001-01-01, a Monday: 1970-01-01 was a Thursday.
        assert_eq!(call("bin", vec![dt("1970-01-01T12:00:00Z"), Value::Timespan(7 * day)]), dt("1969-12-29"));
        assert_eq!(call("bin", vec![dt("1969-12-31T23:00:00Z"), Value::Timespan(day)]), dt("1969-12-31"));
    }

    /// "format_datetime()": the three examples, and the elements' examples
    /// from the page's table.
    #[test]
    fn format_datetime_as_documented() {
        let f = |t: &str, format: &str| call("format_datetime", vec![dt(t), s(format)]);
        let t = "2017-01-29 09:00:05";
        assert_eq!(f(t, "yy-MM-dd [HH:mm:ss]"), s("17-01-29 [09:00:05]"));
        assert_eq!(f(t, "yyyy-M-dd [H:mm:ss]"), s("2017-1-29 [9:00:05]"));
        assert_eq!(f(t, "yy-MM-dd [hh:mm:ss tt]"), s("17-01-29 [09:00:05 AM]"));
        let rows = [
            ("2009-06-01T13:45:30", "d", "1"),
            ("2009-06-15T13:45:30", "dd", "15"),
            ("2009-06-15T13:45:30.6170000", "f", "6"),
            ("2009-06-15T13:45:30.05", "f", "0"),
            ("2009-06-15T13:45:30.0050000", "ff", "00"),
            ("2009-06-15T13:45:30.617", "fff", "617"),
            ("2009-06-15T13:45:30.6175425", "fffffff", "6175425"),
            ("2009-06-15T13:45:30.0001150", "fffffff", "0001150"),
            ("2009-06-15T13:45:30.6170000", "F", "6"),
            ("2009-06-15T13:45:30.0500000", "F", ""),
            ("2009-06-15T13:45:30.0005000", "FFF", ""),
            ("2009-06-15T13:45:30.5275000", "FFFF", "5275"),
            ("2009-06-15T13:45:30.0001150", "FFFFFFF", "000115"),
            ("2009-06-15T01:45:30", "h", "1"),
            ("2009-06-15T13:45:30", "hh", "01"),
            ("2009-06-15T13:45:30", "H", "13"),
            ("2009-06-15T01:45:30", "HH", "01"),
            ("2009-06-15T01:09:30", "m", "9"),
            ("2009-06-15T01:09:30", "mm", "09"),
            ("2009-06-15T13:45:30", "M", "6"),
            ("2009-06-15T13:45:30", "MM", "06"),
            ("2009-06-15T13:45:09", "s", "9"),
            ("2009-06-15T13:45:09", "ss", "09"),
            ("0001-01-01T00:00:00", "y", "1"),
            ("0900-01-01T00:00:00", "y", "0"),
            ("2019-06-15T13:45:30", "y", "19"),
            ("0001-01-01T00:00:00", "yy", "01"),
            ("1900-01-01T00:00:00", "yy", "00"),
            ("0900-01-01T00:00:00", "yyyy", "0900"),
            ("2009-06-15T13:45:30", "yyyy", "2009"),
            ("2009-06-15T13:45:09", "tt", "PM"),
            ("2009-06-15T00:45:09", "h tt", "12 AM"),
        ];
        for (t, format, want) in rows {
            assert_eq!(f(t, format), s(want), "{t} {format}");
        }
        // A run of an element's letter that Kusto does not define.
        assert_eq!(f(t, "ddd"), s(""));
        assert_eq!(call("format_datetime", vec![Value::Null, s("yyyy")]), s(""));
    }

    /// "array_length()": the example; null for what is not an array.
    #[test]
    fn array_length_as_documented() {
        assert_eq!(call("array_length", vec![dynamic(json!([1, 2, 3, "four"]))]), long(4));
        assert_eq!(call("array_length", vec![dynamic(json!({"a": 1}))]), Value::Null);
        assert_eq!(call("array_length", vec![Value::Null]), Value::Null);
        // A dynamic column's array, exported as JSON text.
        assert_eq!(call("array_length", vec![dynamic(json!("[1, 2]"))]), long(2));
        let parts = call("split", vec![s("a,b,c"), s(",")]);
        assert_eq!(call("array_length", vec![parts]), long(3));
    }

    /// "parse_json()": both examples (the paths into the result read by
    /// hand), and text that is not JSON.
    #[test]
    fn parse_json_as_documented() {
        let metrics = concat!(
            r#"{"duration":{"value":118.0,"count":5.0,"min":100.0,"max":150.0,"#,
            r#""stdDev":0.0,"sampledValue":118.0,"sum":118.0}}"#
        );
        let Value::Dynamic(d) = call("parse_json", vec![s(metrics)]) else { panic!() };
        assert_eq!(Value::Dynamic(Arc::new(d["duration"]["value"].clone())).undynamic(), Value::Real(118.0));
        assert_eq!(Value::Dynamic(Arc::new(d["duration"]["min"].clone())).undynamic(), Value::Real(100.0));
        assert_eq!(
            Value::Dynamic(d.clone()).to_text(),
            concat!(
                r#"{"duration":{"count":5.0,"max":150.0,"min":100.0,"#,
                r#""sampledValue":118.0,"stdDev":0.0,"sum":118.0,"value":118.0}}"#
            )
        );
        // `parse_json(tostring(parse_json(d).b)).c`.
        let Value::Dynamic(d) = call("todynamic", vec![s(r#"{"a":123, "b":"{\"c\":456}"}"#)]) else { panic!() };
        let b = Value::Dynamic(Arc::new(d["b"].clone()));
        let Value::Dynamic(inner) = call("parse_json", vec![call("tostring", vec![b.clone()])]) else { panic!() };
        assert_eq!(inner["c"], json!(456));
        // Without `tostring`, a dynamic value is used as it is...
        assert_eq!(call("parse_json", vec![dynamic(json!("{\"c\""))]), dynamic(json!("{\"c\"")));
        assert_eq!(call("parse_json", vec![dynamic(json!(5))]), dynamic(json!(5)));
        // ...but a dynamic string holding a bag or an array is read as the
        // bag: that is how Log Analytics exports write a dynamic column's
        // bag, which Kusto holds decoded (a path into the column decodes it
        // too). Kusto would pass this `b` on as the string.
        assert_eq!(call("parse_json", vec![b]), dynamic(json!({"c": 456})));
        assert_eq!(call("parse_json", vec![s("not json")]), dynamic(json!("not json")));
        assert_eq!(call("parse_json", vec![s("[1,2]")]), dynamic(json!([1, 2])));
        // "isnull()": `isnull(parse_json(""))` is true.
        assert_eq!(call("parse_json", vec![s("")]), Value::Null);
        assert_eq!(call("isnull", vec![call("parse_json", vec![s("")])]), Value::Bool(true));
        assert_eq!(call("isnull", vec![call("parse_json", vec![s("[]")])]), Value::Bool(false));
        assert_eq!(call("parse_json", vec![long(7)]), dynamic(json!(7)));
        assert_eq!(call("parse_json", vec![Value::Null]), Value::Null);
    }

    /// "parse_url()": the example, and a URL without the parts.
    #[test]
    fn parse_url_as_documented() {
        let url = "scheme://username:password@host:1234/this/is/a/path?k1=v1&k2=v2#fragment";
        let want = json!({
            "Scheme": "scheme", "Host": "host", "Port": "1234", "Path": "this/is/a/path",
            "Username": "username", "Password": "password",
            "Query Parameters": {"k1": "v1", "k2": "v2"}, "Fragment": "fragment"
        });
        assert_eq!(call("parse_url", vec![s(url)]), dynamic(want));
        let empty = json!({
            "Scheme": "", "Host": "", "Port": "", "Path": "", "Username": "", "Password": "",
            "Query Parameters": {}, "Fragment": ""
        });
        assert_eq!(call("parse_url", vec![s("bing.com")]), dynamic(empty.clone()));
        assert_eq!(call("parse_url", vec![s("")]), dynamic(empty));
        let Value::Dynamic(d) = call("parse_url", vec![s("https://[::1]:8443?q=a%20b&flag#x?y")]) else { panic!() };
        assert_eq!(
            (&d["Host"], &d["Port"], &d["Path"], &d["Fragment"]),
            (&json!("[::1]"), &json!("8443"), &json!(""), &json!("x?y"))
        );
        assert_eq!(d["Query Parameters"], json!({"q": "a b", "flag": ""}));
    }

    #[test]
    fn result_types() {
        use Type::*;
        let ty = |f: &str, args: &[Type]| Func::from_name(f).unwrap().result_type(args).map_err(|e| e.index);
        assert_eq!(ty("iff", &[Bool, String, String]), Ok(String));
        assert_eq!(ty("iif", &[Bool, Long, Real]), Ok(Real));
        assert_eq!(ty("iff", &[Bool, Null, DateTime]), Ok(DateTime));
        assert_eq!(ty("iff", &[String, Long, Long]), Err(0));
        assert_eq!(ty("iff", &[Bool, Long, String]), Err(2));
        assert_eq!(ty("case", &[Bool, String, Bool, String, String]), Ok(String));
        assert_eq!(ty("case", &[Bool, String, Bool, String]), Err(3));
        assert_eq!(ty("case", &[Bool, String, Long, String, String]), Err(2));
        assert_eq!(ty("case", &[Bool, String, Bool, Long, String]), Err(3));
        assert_eq!(ty("split", &[String, String]), Ok(Dynamic));
        assert_eq!(ty("split", &[String, String, String]), Err(2));
        assert_eq!(ty("parse_json", &[String]), Ok(Dynamic));
        assert_eq!(ty("todynamic", &[Dynamic]), Ok(Dynamic));
        assert_eq!(ty("parse_json", &[Long]), Err(0));
        assert_eq!(ty("parse_url", &[String]), Ok(Dynamic));
        assert_eq!(ty("array_length", &[Dynamic]), Ok(Long));
        assert_eq!(ty("array_length", &[String]), Err(0));
        assert_eq!(ty("bin", &[Long, Long]), Ok(Long));
        assert_eq!(ty("bin", &[Real, Long]), Ok(Real));
        assert_eq!(ty("bin", &[DateTime, Timespan]), Ok(DateTime));
        assert_eq!(ty("bin", &[Timespan, Timespan]), Ok(Timespan));
        assert_eq!(ty("bin", &[DateTime, Long]), Err(1));
        assert_eq!(ty("bin", &[String, Long]), Err(0));
        assert_eq!(ty("bin", &[Dynamic, String]), Err(1));
        assert_eq!(ty("datetime_diff", &[String, DateTime, DateTime]), Ok(Long));
        assert_eq!(ty("datetime_diff", &[String, DateTime, Long]), Err(2));
        assert_eq!(ty("format_datetime", &[DateTime, String]), Ok(String));
        assert_eq!(ty("indexof", &[Long, Long, Long]), Ok(Long));
        assert_eq!(ty("indexof", &[String, String, String]), Err(2));
        assert_eq!(ty("ipv4_compare", &[String, String, Long]), Ok(Long));
        assert_eq!(ty("ipv6_compare", &[String, String]), Ok(Long));
        assert_eq!(ty("ipv4_is_match", &[String, String]), Ok(Bool));
        assert_eq!(ty("parse_ipv4", &[String]), Ok(Long));
        assert_eq!(ty("extract", &[String, Long, String]), Ok(String));
        assert_eq!(ty("extract", &[String, String, String]), Err(1));
        assert_eq!(ty("countof", &[String, String, String]), Ok(Long));
        assert_eq!(ty("substring", &[String, Long, Long]), Ok(String));
        assert_eq!(ty("trim", &[String, String]), Ok(String));
        assert_eq!(ty("replace_string", &[String, String, Long]), Err(2));
    }

    #[test]
    fn emptiness_and_conversions() {
        assert_eq!(call("isempty", vec![s("")]), Value::Bool(true));
        assert_eq!(call("isempty", vec![Value::Null]), Value::Bool(true));
        assert_eq!(call("isnotempty", vec![s("x")]), Value::Bool(true));
        assert_eq!(call("isnull", vec![s("")]), Value::Bool(false));
        assert_eq!(call("tolong", vec![s(" 42 ")]), Value::Long(42));
        assert_eq!(call("tolong", vec![s("x")]), Value::Null);
        assert_eq!(call("strlen", vec![s("héllo")]), Value::Long(5));
        assert_eq!(call("tolower", vec![s("ÄB")]), s("äb"));
        assert_eq!(call("coalesce", vec![s(""), s("b")]), s("b"));
        assert_eq!(call("strcat", vec![s("a"), Value::Long(1)]), s("a1"));
        assert_eq!(call("ago", vec![Value::Timespan(400)]), Value::DateTime(600));
        assert_eq!(call("now", vec![]), Value::DateTime(1_000));
    }

    #[test]
    fn names_round_trip() {
        for f in Func::ALL {
            assert_eq!(Func::from_name(f.name()), Some(*f));
        }
    }
}
