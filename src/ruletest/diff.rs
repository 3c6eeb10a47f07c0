//! Expected against produced alerts, and a readable diff of the two.

use std::fmt::Write as _;

use serde_json::Value as Json;

use super::{AlertFields, Expect};

/// How the produced alerts differ from the expected ones.
#[derive(Debug, Clone, PartialEq)]
pub struct Mismatch {
    pub expected: usize,
    /// Every produced alert.
    pub actual: Vec<AlertFields>,
    /// Expected alerts no produced alert equals (empty for `alerts: N`).
    pub missing: Vec<AlertFields>,
    /// Produced alerts no expected alert equals (empty for `alerts: N`).
    pub unexpected: Vec<AlertFields>,
}

/// `None` when the produced alerts are what the case expects: the same
/// count, or the same multiset of field mappings.
pub fn compare(expect: &Expect, actual: &[AlertFields]) -> Option<Mismatch> {
    match expect {
        Expect::Count(n) if *n == actual.len() => None,
        Expect::Count(n) => {
            Some(Mismatch { expected: *n, actual: actual.to_vec(), missing: Vec::new(), unexpected: Vec::new() })
        }
        Expect::Alerts(expected) => {
            let mut unmatched: Vec<Option<&AlertFields>> = actual.iter().map(Some).collect();
            let mut missing = Vec::new();
            for e in expected {
                let fields: AlertFields = e.fields.iter().map(|f| (f.name.clone(), f.value.clone())).collect();
                match unmatched.iter_mut().find(|a| a.is_some_and(|a| same_alert(&fields, a))) {
                    Some(slot) => *slot = None,
                    None => missing.push(fields),
                }
            }
            let unexpected: Vec<AlertFields> = unmatched.into_iter().flatten().cloned().collect();
            if missing.is_empty() && unexpected.is_empty() {
                None
            } else {
                Some(Mismatch { expected: expected.len(), actual: actual.to_vec(), missing, unexpected })
            }
        }
    }
}

/// Same field names with the same values, in any order.
fn same_alert(expected: &AlertFields, actual: &AlertFields) -> bool {
    expected.len() == actual.len()
        && expected.iter().all(|(n, v)| actual.iter().any(|(an, av)| an == n && same_value(v, av)))
}

/// JSON equality, numbers compared by value (`200` equals `200.0`).
pub(super) fn same_value(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => x.as_f64() == y.as_f64(),
        },
        (Json::Array(x), Json::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_value(a, b)),
        (Json::Object(x), Json::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same_value(v, w)))
        }
        _ => a == b,
    }
}

fn value_of<'a>(alert: &'a AlertFields, name: &str) -> Option<&'a Json> {
    alert.iter().find(|(n, _)| n == name).map(|(_, v)| v)
}

impl Mismatch {
    /// One line: what went wrong.
    pub fn summary(&self) -> String {
        let n = self.actual.len();
        if self.missing.is_empty() && self.unexpected.is_empty() {
            return format!("expected {} alert{}, got {n}", self.expected, plural(self.expected));
        }
        let mut parts = Vec::new();
        if !self.missing.is_empty() {
            parts.push(format!("{} expected alert{} not raised", self.missing.len(), plural(self.missing.len())));
        }
        if !self.unexpected.is_empty() {
            parts.push(format!("{} unexpected alert{}", self.unexpected.len(), plural(self.unexpected.len())));
        }
        format!("{} (expected {}, got {n})", parts.join(", "), self.expected)
    }

    /// The diff, one field a line: `-` expected but not produced, `+`
    /// produced but not expected. A missing alert is shown against the
    /// produced alert closest to it, so only the differing fields are marked.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if self.missing.is_empty() && self.unexpected.is_empty() {
            for (i, a) in self.actual.iter().enumerate() {
                let _ = writeln!(out, "alert {} (produced):", i + 1);
                for (name, v) in a {
                    let _ = writeln!(out, "  + {name}: {v}");
                }
            }
            return out;
        }
        let mut unexpected: Vec<Option<&AlertFields>> = self.unexpected.iter().map(Some).collect();
        for want in &self.missing {
            let closest = unexpected
                .iter_mut()
                .filter(|u| u.is_some())
                .map(|u| {
                    let got = u.expect("filtered");
                    let same = want.iter().filter(|(n, v)| value_of(got, n).is_some_and(|g| same_value(v, g))).count();
                    (same, u)
                })
                .filter(|(same, _)| *same > 0)
                .max_by_key(|(same, _)| *same);
            match closest {
                Some((_, slot)) => {
                    let got = slot.take().expect("filtered");
                    let _ = writeln!(out, "expected alert differs from the produced one:");
                    for (name, v) in want {
                        match value_of(got, name) {
                            Some(g) if same_value(v, g) => {
                                let _ = writeln!(out, "    {name}: {v}");
                            }
                            Some(g) => {
                                let _ = writeln!(out, "  - {name}: {v}");
                                let _ = writeln!(out, "  + {name}: {g}");
                            }
                            None => {
                                let _ = writeln!(out, "  - {name}: {v}");
                            }
                        }
                    }
                    for (name, g) in got.iter().filter(|(n, _)| value_of(want, n).is_none()) {
                        let _ = writeln!(out, "  + {name}: {g}");
                    }
                }
                None => {
                    let _ = writeln!(out, "expected alert not raised:");
                    for (name, v) in want {
                        let _ = writeln!(out, "  - {name}: {v}");
                    }
                }
            }
        }
        for got in unexpected.into_iter().flatten() {
            let _ = writeln!(out, "unexpected alert:");
            for (name, v) in got {
                let _ = writeln!(out, "  + {name}: {v}");
            }
        }
        out
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ruletest::{ExpectedAlert, Field};
    use crate::span::Span;
    use serde_json::json;

    fn fields(pairs: &[(&str, Json)]) -> AlertFields {
        pairs.iter().map(|(n, v)| (n.to_string(), v.clone())).collect()
    }

    fn expect(alerts: &[AlertFields]) -> Expect {
        Expect::Alerts(
            alerts
                .iter()
                .map(|a| ExpectedAlert {
                    span: Span::default(),
                    fields: a
                        .iter()
                        .map(|(n, v)| Field { name: n.clone(), span: Span::default(), value: v.clone() })
                        .collect(),
                })
                .collect(),
        )
    }

    #[test]
    fn counts() {
        let one = fields(&[("A", json!(1))]);
        assert_eq!(compare(&Expect::Count(1), std::slice::from_ref(&one)), None);
        let m = compare(&Expect::Count(0), std::slice::from_ref(&one)).unwrap();
        assert_eq!(m.summary(), "expected 0 alerts, got 1");
        assert_eq!(m.render(), "alert 1 (produced):\n  + A: 1\n");
    }

    #[test]
    fn alerts_are_a_multiset_compared_by_json_value() {
        let a = fields(&[("A", json!("x")), ("N", json!(200))]);
        let b = fields(&[("N", json!(200.0)), ("A", json!("y"))]);
        assert_eq!(compare(&expect(&[a.clone(), b.clone()]), &[b.clone(), a.clone()]), None);
        // Duplicates count: two expected `a`, one produced.
        let m = compare(&expect(&[a.clone(), a.clone()]), &[a.clone(), b.clone()]).unwrap();
        assert_eq!(m.missing, vec![a.clone()]);
        assert_eq!(m.unexpected, vec![b.clone()]);
        assert_eq!(m.summary(), "1 expected alert not raised, 1 unexpected alert (expected 2, got 2)");
        assert_eq!(
            m.render(),
            "expected alert differs from the produced one:\n  - A: \"x\"\n  + A: \"y\"\n    N: 200\n"
        );
    }

    #[test]
    fn unrelated_alerts_are_listed_whole() {
        let a = fields(&[("A", json!("x"))]);
        let b = fields(&[("A", json!("y"))]);
        let m = compare(&expect(std::slice::from_ref(&a)), &[]).unwrap();
        assert_eq!(m.render(), "expected alert not raised:\n  - A: \"x\"\n");
        let m = compare(&expect(&[]), std::slice::from_ref(&b)).unwrap();
        assert_eq!(m.summary(), "1 unexpected alert (expected 0, got 1)");
        assert_eq!(m.render(), "unexpected alert:\n  + A: \"y\"\n");
        // A field set that differs is not equal even when the shared fields are.
        let c = fields(&[("A", json!("x")), ("B", json!(null))]);
        assert!(compare(&expect(std::slice::from_ref(&a)), std::slice::from_ref(&c)).is_some());
    }
}
