//! Runtime values, with Kusto's conversions from JSON.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::sync::Arc;

use crate::datetime;
use crate::types::Type;

/// A value during evaluation. Strings borrow from the record where they can.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Null,
    Bool(bool),
    Long(i64),
    Real(f64),
    Str(Cow<'a, str>),
    /// 100-ns ticks since the Unix epoch.
    DateTime(i64),
    /// 100-ns ticks.
    Timespan(i64),
    Dynamic(Arc<serde_json::Value>),
    List(Vec<Value<'a>>),
}

/// Why a JSON value could not become a column's declared type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadType;

impl<'a> Value<'a> {
    pub const EMPTY: Value<'static> = Value::Str(Cow::Borrowed(""));

    /// The value a column of type `ty` has when the record lacks it, or
    /// holds JSON `null`: Kusto strings are never null, they are `""`.
    pub fn absent(ty: Type) -> Value<'static> {
        match ty {
            Type::String => Value::EMPTY,
            _ => Value::Null,
        }
    }

    /// A borrowed view of this value.
    #[inline]
    pub fn reborrow(&self) -> Value<'_> {
        match self {
            Value::Str(s) => Value::Str(Cow::Borrowed(s)),
            other => other.clone(),
        }
    }

    pub fn into_owned(self) -> Value<'static> {
        match self {
            Value::Null => Value::Null,
            Value::Bool(b) => Value::Bool(b),
            Value::Long(n) => Value::Long(n),
            Value::Real(f) => Value::Real(f),
            Value::Str(s) => Value::Str(Cow::Owned(s.into_owned())),
            Value::DateTime(t) => Value::DateTime(t),
            Value::Timespan(t) => Value::Timespan(t),
            Value::Dynamic(d) => Value::Dynamic(d),
            Value::List(l) => Value::List(l.into_iter().map(Value::into_owned).collect()),
        }
    }

    #[inline]
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// `isempty()`: null, or the empty string.
    pub fn is_empty(&self) -> bool {
        match self {
            Value::Null => true,
            Value::Str(s) => s.is_empty(),
            Value::Dynamic(d) => d.is_null() || d.as_str() == Some(""),
            _ => false,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            Value::Dynamic(d) => d.as_str(),
            _ => None,
        }
    }

    /// `tostring()`: the text Kusto would show; null is `""`.
    #[inline]
    pub fn to_text(&self) -> Cow<'_, str> {
        match self {
            Value::Null => Cow::Borrowed(""),
            Value::Bool(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
            Value::Long(n) => Cow::Owned(n.to_string()),
            Value::Real(f) => Cow::Owned(format_real(*f)),
            Value::Str(s) => Cow::Borrowed(s),
            Value::DateTime(t) => Cow::Owned(datetime::format(*t)),
            Value::Timespan(t) => Cow::Owned(datetime::format_timespan(*t)),
            Value::Dynamic(d) => match d.as_ref() {
                serde_json::Value::String(s) => Cow::Borrowed(s),
                serde_json::Value::Null => Cow::Borrowed(""),
                other => Cow::Owned(other.to_string()),
            },
            Value::List(_) => Cow::Owned(self.to_json().to_string()),
        }
    }

    /// The value as JSON, as alerts carry computed fields.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Long(n) => J::from(*n),
            Value::Real(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Value::Str(s) => J::String(s.to_string()),
            Value::DateTime(_) | Value::Timespan(_) => J::String(self.to_text().into_owned()),
            Value::Dynamic(d) => d.as_ref().clone(),
            Value::List(items) => J::Array(items.iter().map(Value::to_json).collect()),
        }
    }

    /// A dynamic scalar as the plain value it holds, so that it compares
    /// with typed values.
    #[inline]
    pub fn undynamic(self) -> Value<'a> {
        match self {
            Value::Dynamic(d) => undynamic_json(d),
            other => other,
        }
    }

    /// Kusto's ordering of two values of comparable types; `None` when one
    /// is null or the types do not compare.
    #[inline]
    pub fn compare(&self, other: &Value) -> Option<Ordering> {
        use Value::*;
        match (self, other) {
            (Null, _) | (_, Null) => None,
            (Long(a), Long(b)) => Some(a.cmp(b)),
            (Long(a), Real(b)) => (*a as f64).partial_cmp(b),
            (Real(a), Long(b)) => a.partial_cmp(&(*b as f64)),
            (Real(a), Real(b)) => a.partial_cmp(b),
            (Str(a), Str(b)) => Some(a.as_ref().cmp(b.as_ref())),
            (DateTime(a), DateTime(b)) | (Timespan(a), Timespan(b)) => Some(a.cmp(b)),
            (Bool(a), Bool(b)) => Some(a.cmp(b)),
            (DateTime(_), Str(s)) => datetime::parse(s).and_then(|b| self.compare(&DateTime(b))),
            (Str(s), DateTime(_)) => datetime::parse(s).and_then(|a| DateTime(a).compare(other)),
            (Dynamic(_), _) | (_, Dynamic(_)) => {
                let (a, b) = (self.clone().undynamic(), other.clone().undynamic());
                if matches!(a, Dynamic(_)) || matches!(b, Dynamic(_)) {
                    (a.to_json() == b.to_json()).then_some(Ordering::Equal)
                } else {
                    a.compare(&b)
                }
            }
            _ => None,
        }
    }

    /// The value a JSON scalar gives a column declared `ty`, coercing where
    /// Kusto would (`"200"` into a long). `Err` when it cannot: the caller
    /// counts it and uses the absent value.
    pub fn from_json(json: JsonScalar<'a>, ty: Type) -> Result<Value<'a>, BadType> {
        use JsonScalar as J;
        Ok(match (json, ty) {
            (J::Null, ty) => Value::absent(ty),
            (J::Str(s), Type::String) => Value::Str(s),
            (J::Num(n), Type::String) => Value::Str(Cow::Borrowed(n)),
            (J::Bool(b), Type::String) => Value::Str(Cow::Borrowed(if b { "true" } else { "false" })),
            (J::Raw(raw), Type::String) => Value::Str(Cow::Borrowed(raw)),
            (J::Num(n), Type::Long) => Value::Long(parse_long(n)?),
            (J::Str(s), Type::Long) => {
                let t = s.trim();
                if t.is_empty() { Value::Null } else { Value::Long(parse_long(t)?) }
            }
            (J::Num(n), Type::Real) => Value::Real(parse_real(n)?),
            (J::Str(s), Type::Real) => {
                let t = s.trim();
                if t.is_empty() { Value::Null } else { Value::Real(parse_real(t)?) }
            }
            (J::Bool(b), Type::Bool) => Value::Bool(b),
            (J::Str(s), Type::Bool) => match s.trim() {
                "" => Value::Null,
                t if t.eq_ignore_ascii_case("true") || t == "1" => Value::Bool(true),
                t if t.eq_ignore_ascii_case("false") || t == "0" => Value::Bool(false),
                _ => return Err(BadType),
            },
            (J::Num(n), Type::Bool) => match n {
                "0" => Value::Bool(false),
                "1" => Value::Bool(true),
                _ => return Err(BadType),
            },
            (J::Str(s), Type::DateTime) => {
                if s.trim().is_empty() {
                    Value::Null
                } else {
                    Value::DateTime(datetime::parse(&s).ok_or(BadType)?)
                }
            }
            (J::Str(s), Type::Timespan) => {
                if s.trim().is_empty() {
                    Value::Null
                } else {
                    Value::Timespan(parse_timespan(&s).ok_or(BadType)?)
                }
            }
            (json, Type::Dynamic) => Value::Dynamic(Arc::new(json.to_json())),
            _ => return Err(BadType),
        })
    }
}

/// 2^63: longs are at least its negative and less than it. Exactly a
/// double, so the range test is exact.
const LONG_RANGE: f64 = 9_223_372_036_854_775_808.0;

/// A long from its text, quoted or not (a value is read from its text, so
/// `200.0` and `"200.0"` are one, and the SQL `compile` writes, which reads
/// columns as text, reads them alike): an integer, or a decimal number
/// (`1.5`, `2e3`, `.5`) whose integer part a long holds. Out of range
/// (`1e400`, `99999999999999999999999`) is a bad value, not i64::MAX; so are
/// the words `inf` and `NaN`.
fn parse_long(text: &str) -> Result<i64, BadType> {
    match text.parse::<i64>() {
        Ok(v) => Ok(v),
        Err(_) if text.bytes().any(|b| b.is_ascii_digit()) => match text.parse::<f64>() {
            Ok(f) if (-LONG_RANGE..LONG_RANGE).contains(&f) => Ok(f as i64),
            _ => Err(BadType),
        },
        Err(_) => Err(BadType),
    }
}

/// A real (a double, as Kusto's are) from its text. A number too large for
/// a double (`1e400`) would read as infinity: it is a bad value instead,
/// read as empty, rather than a value the log does not hold. The words
/// `NaN` and `inf` (in a quoted value) are read as the values they name.
fn parse_real(text: &str) -> Result<f64, BadType> {
    match text.parse::<f64>() {
        Ok(f) if f.is_infinite() && text.bytes().any(|b| b.is_ascii_digit()) => Err(BadType),
        Ok(f) => Ok(f),
        Err(_) => Err(BadType),
    }
}

/// A JSON value as the record parser hands it over: scalars as text,
/// objects and arrays as their raw JSON.
#[derive(Debug, Clone, PartialEq)]
pub enum JsonScalar<'a> {
    Null,
    Bool(bool),
    /// The number exactly as written.
    Num(&'a str),
    Str(Cow<'a, str>),
    /// An object or array, as raw JSON text.
    Raw(&'a str),
}

impl JsonScalar<'_> {
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            JsonScalar::Null => serde_json::Value::Null,
            JsonScalar::Bool(b) => serde_json::Value::Bool(*b),
            JsonScalar::Num(n) | JsonScalar::Raw(n) => serde_json::from_str(n).unwrap_or(serde_json::Value::Null),
            JsonScalar::Str(s) => serde_json::Value::String(s.to_string()),
        }
    }
}

/// Kusto's timespan text, `[-][d.]hh:mm:ss[.fffffff]`.
pub fn parse_timespan(s: &str) -> Option<i64> {
    let s = s.trim();
    let (neg, s) = s.strip_prefix('-').map_or((false, s), |r| (true, r));
    let (days, rest) = match s.split_once('.') {
        Some((d, r)) if r.contains(':') && !d.contains(':') => (d.parse::<i64>().ok()?, r),
        _ => (0, s),
    };
    let mut parts = rest.split(':');
    let h: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    let sec_part = parts.next()?;
    if parts.next().is_some() {
        return None;
    }
    let (sec, frac) = sec_part.split_once('.').unwrap_or((sec_part, ""));
    let sec: i64 = sec.parse().ok()?;
    let mut f = 0i64;
    for k in 0..7 {
        let d = frac.as_bytes().get(k).map_or(Some(0), |b| b.is_ascii_digit().then(|| (b - b'0') as i64))?;
        f = f * 10 + d;
    }
    let t = ((days * 24 + h) * 60 + m) * 60 * datetime::TICKS_PER_SECOND + sec * datetime::TICKS_PER_SECOND + f;
    Some(if neg { -t } else { t })
}

fn format_real(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 { format!("{f:.0}") } else { f.to_string() }
}

/// [`Value::undynamic`] of a dynamic value: its scalar as a plain value.
fn undynamic_json<'a>(d: Arc<serde_json::Value>) -> Value<'a> {
    match d.as_ref() {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => {
            n.as_i64().map_or_else(|| Value::Real(n.as_f64().unwrap_or(f64::NAN)), Value::Long)
        }
        serde_json::Value::String(s) => Value::Str(Cow::Owned(s.clone())),
        _ => Value::Dynamic(d),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> JsonScalar<'_> {
        JsonScalar::Str(Cow::Borrowed(x))
    }

    #[test]
    fn absent_strings_are_empty_others_null() {
        assert_eq!(Value::from_json(JsonScalar::Null, Type::String), Ok(Value::EMPTY));
        assert_eq!(Value::from_json(JsonScalar::Null, Type::Long), Ok(Value::Null));
        assert_eq!(Value::from_json(JsonScalar::Null, Type::DateTime), Ok(Value::Null));
    }

    #[test]
    fn coerces_where_kusto_would() {
        assert_eq!(Value::from_json(s("200"), Type::Long), Ok(Value::Long(200)));
        assert_eq!(Value::from_json(JsonScalar::Num("200"), Type::Long), Ok(Value::Long(200)));
        assert_eq!(Value::from_json(JsonScalar::Num("200"), Type::String), Ok(Value::Str("200".into())));
        assert_eq!(Value::from_json(s("2"), Type::Real), Ok(Value::Real(2.0)));
        assert_eq!(Value::from_json(s("true"), Type::Bool), Ok(Value::Bool(true)));
        assert_eq!(Value::from_json(s(""), Type::Long), Ok(Value::Null));
        assert_eq!(Value::from_json(s("abc"), Type::Long), Err(BadType));
        // Quoted or not, a value is read from its text.
        assert_eq!(Value::from_json(s(" 200.0 "), Type::Long), Ok(Value::Long(200)));
        assert_eq!(Value::from_json(s("-1.9"), Type::Long), Ok(Value::Long(-1)));
        assert_eq!(Value::from_json(s(".5"), Type::Long), Ok(Value::Long(0)));
        assert_eq!(Value::from_json(s("2e3"), Type::Long), Ok(Value::Long(2000)));
        for bad in ["inf", "-infinity", "NaN", "1e19", "1_000", "0x10", "1.5d"] {
            assert_eq!(Value::from_json(s(bad), Type::Long), Err(BadType), "{bad}");
        }
        assert_eq!(Value::from_json(s("1"), Type::Bool), Ok(Value::Bool(true)));
        assert_eq!(Value::from_json(s(" 0"), Type::Bool), Ok(Value::Bool(false)));
        assert_eq!(Value::from_json(s("2"), Type::Bool), Err(BadType));
        assert_eq!(Value::from_json(s("not a date"), Type::DateTime), Err(BadType));
        assert_eq!(Value::from_json(JsonScalar::Bool(true), Type::DateTime), Err(BadType));
        assert_eq!(
            Value::from_json(s("2026-07-16T02:00:45.0159703Z"), Type::DateTime),
            Ok(Value::DateTime(datetime::parse("2026-07-16T02:00:45.0159703Z").unwrap()))
        );
    }

    /// A number no long (or double) holds is a bad value, as a quoted one
    /// is, not the nearest value that fits.
    #[test]
    fn numbers_out_of_range_are_bad_values_not_clamped() {
        let n = JsonScalar::Num;
        for text in ["1e400", "99999999999999999999999", "-99999999999999999999999", "9.3e18", "-1e19", "1e19"] {
            assert_eq!(Value::from_json(n(text), Type::Long), Err(BadType), "{text}");
        }
        assert_eq!(Value::from_json(s("99999999999999999999999"), Type::Long), Err(BadType));
        assert_eq!(Value::from_json(n("9223372036854775807"), Type::Long), Ok(Value::Long(i64::MAX)));
        assert_eq!(Value::from_json(n("-9223372036854775808"), Type::Long), Ok(Value::Long(i64::MIN)));
        assert_eq!(Value::from_json(n("-9.2233720368547758e18"), Type::Long), Ok(Value::Long(i64::MIN)));
        assert_eq!(Value::from_json(n("2e3"), Type::Long), Ok(Value::Long(2000)));
        assert_eq!(Value::from_json(n("1.9"), Type::Long), Ok(Value::Long(1)));
        assert_eq!(Value::from_json(n("-1.9"), Type::Long), Ok(Value::Long(-1)));
        // Reals are doubles: a number past their range is no value either.
        let huge = format!("1{}", "0".repeat(400));
        for text in ["1e400", "-1e400", &huge] {
            assert_eq!(Value::from_json(JsonScalar::Num(text), Type::Real), Err(BadType), "{text}");
            assert_eq!(Value::from_json(s(text), Type::Real), Err(BadType), "{text}");
        }
        assert_eq!(Value::from_json(n("1.7976931348623157e308"), Type::Real), Ok(Value::Real(f64::MAX)));
        assert_eq!(Value::from_json(n("1e-400"), Type::Real), Ok(Value::Real(0.0)), "underflow is zero");
        assert_eq!(Value::from_json(s("inf"), Type::Real), Ok(Value::Real(f64::INFINITY)), "a named infinity");
        // As text, the number is what it says.
        assert_eq!(Value::from_json(n("1e400"), Type::String), Ok(Value::Str("1e400".into())));
    }

    #[test]
    fn comparisons() {
        assert_eq!(Value::Long(2).compare(&Value::Real(2.5)), Some(Ordering::Less));
        assert_eq!(Value::Str("a".into()).compare(&Value::Str("A".into())), Some(Ordering::Greater));
        assert_eq!(Value::Null.compare(&Value::Long(1)), None);
        assert_eq!(Value::Long(1).compare(&Value::Str("1".into())), None);
        let d = Value::Dynamic(Arc::new(serde_json::json!(5)));
        assert_eq!(d.compare(&Value::Long(5)), Some(Ordering::Equal));
    }

    #[test]
    fn timespans() {
        assert_eq!(parse_timespan("1.02:03:04.5"), Some(((26 * 60 + 3) * 60 + 4) * 10_000_000 + 5_000_000));
        assert_eq!(parse_timespan("-00:00:01"), Some(-10_000_000));
        assert_eq!(parse_timespan("garbage"), None);
    }
}
