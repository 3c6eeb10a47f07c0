//! The built-in functions: name, arity, argument and result types, and
//! evaluation, all in one place.

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::datetime;
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
    ToLower = "tolower", 1..=1, "`tolower(s)`";
    ToUpper = "toupper", 1..=1, "`toupper(s)`";
    Strlen = "strlen", 1..=1, "`strlen(s)`: length in characters";
    ToString = "tostring", 1..=1, "`tostring(x)`: text; null is `\"\"`";
    ToLong = "tolong", 1..=1, "`tolong(x)`: null when it does not convert";
    ToInt = "toint", 1..=1, "`toint(x)`: as `tolong`";
    ToReal = "toreal", 1..=1, "`toreal(x)`: null when it does not convert";
    ToDouble = "todouble", 1..=1, "`todouble(x)`: as `toreal`";
    ToDateTime = "todatetime", 1..=1, "`todatetime(s)`: null when it does not parse";
    Strcat = "strcat", 1..=64, "`strcat(a, b, ...)`";
    Coalesce = "coalesce", 1..=64, "`coalesce(a, b, ...)`: the first that is not null (for strings: not empty)";
    Ipv4IsInRange = "ipv4_is_in_range", 2..=2, "`ipv4_is_in_range(ip, \"10.0.0.0/8\")`";
    Ipv4IsPrivate = "ipv4_is_private", 1..=1, "`ipv4_is_private(ip)`: in 10/8, 172.16/12 or 192.168/16";
    Ipv6IsMatch = "ipv6_is_match", 2..=3, "`ipv6_is_match(a, b[, prefix])`: equal as IPv6 (IPv4 is mapped), over `prefix` bits";
}

/// Why arguments do not fit a function: the argument's index and what it
/// should have been.
pub struct ArgError {
    pub index: usize,
    pub expected: &'static str,
}

impl Func {
    /// The result type, given the argument types, or which argument is wrong.
    pub fn result_type(self, args: &[Type]) -> Result<Type, ArgError> {
        let want = |i: usize, ty: Type, expected: &'static str| {
            if args[i].fits(ty) { Ok(()) } else { Err(ArgError { index: i, expected }) }
        };
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
            Func::ToLower | Func::ToUpper => {
                want(0, Type::String, "a string")?;
                Type::String
            }
            Func::Strlen => {
                want(0, Type::String, "a string")?;
                Type::Long
            }
            Func::ToString | Func::Strcat => Type::String,
            Func::ToLong | Func::ToInt => Type::Long,
            Func::ToReal | Func::ToDouble => Type::Real,
            Func::ToDateTime => Type::DateTime,
            Func::Coalesce => {
                let first = args[0];
                for (i, t) in args.iter().enumerate().skip(1) {
                    if !t.comparable_with(first) {
                        return Err(ArgError { index: i, expected: "the same type as the first argument" });
                    }
                }
                first
            }
            Func::Ipv4IsInRange | Func::Ipv6IsMatch => {
                want(0, Type::String, "an IP address string")?;
                want(1, Type::String, "an IP address or CIDR range string")?;
                if args.len() == 3 {
                    want(2, Type::Long, "a prefix length")?;
                }
                Type::Bool
            }
            Func::Ipv4IsPrivate => {
                want(0, Type::String, "an IP address string")?;
                Type::Bool
            }
        })
    }

    /// Evaluates the function on already-evaluated arguments. `now` is the
    /// run's fixed current time.
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
            Func::ToLower => Value::Str(Cow::Owned(arg().to_text().to_lowercase())),
            Func::ToUpper => Value::Str(Cow::Owned(arg().to_text().to_uppercase())),
            Func::Strlen => Value::Long(arg().to_text().chars().count() as i64),
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
            Func::Strcat => {
                let mut out = String::new();
                for v in args {
                    out.push_str(&v.to_text());
                }
                Value::Str(Cow::Owned(out))
            }
            Func::Coalesce => args.find(|v| !v.is_empty()).unwrap_or(Value::Null),
            Func::Ipv4IsInRange => {
                let (ip, range) = (arg(), arg());
                match (parse_v4(&ip.to_text()), parse_v4_range(&range.to_text())) {
                    (Some(ip), Some((net, bits))) => Value::Bool(prefix_eq(&ip.octets(), &net.octets(), bits)),
                    _ => Value::Null,
                }
            }
            Func::Ipv4IsPrivate => match parse_v4(&arg().to_text()) {
                Some(ip) => Value::Bool(ip.is_private()),
                None => Value::Null,
            },
            Func::Ipv6IsMatch => {
                let (a, b) = (arg(), arg());
                let prefix = match arg() {
                    Value::Long(n) => Some(n.clamp(0, 128) as u32),
                    Value::Null => None,
                    _ => return Value::Null,
                };
                match (parse_v6_prefix(&a.to_text()), parse_v6_prefix(&b.to_text())) {
                    (Some(a), Some(b)) => Value::Bool(ipv6_match(a, b, prefix)),
                    _ => Value::Null,
                }
            }
        }
    }
}

/// An IPv4 address in dotted-decimal form, as `Ipv4Addr`'s parser reads it
/// (surrounding whitespace trimmed). Plain `a.b.c.d` text is read by hand;
/// anything that reading refuses goes to the standard parser, so both agree.
pub(crate) fn parse_v4(s: &str) -> Option<Ipv4Addr> {
    dotted_quad(s.as_bytes()).or_else(|| s.trim().parse().ok())
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

    fn call(f: &str, args: Vec<Value<'static>>) -> Value<'static> {
        Func::from_name(f).unwrap().eval(args, 1_000)
    }

    fn s(x: &str) -> Value<'static> {
        Value::Str(Cow::Owned(x.to_string()))
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
