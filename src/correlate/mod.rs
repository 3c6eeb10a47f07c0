//! Correlate: Sigma correlation rules, run over the alerts of the rules
//! they reference, after the engine's pass.
//!
//! 1. **resolve** ([`resolve`]), when rules are compiled: each correlation's
//!    `rules` to rule numbers (by `id` or `name`, across files), its
//!    `group-by` (through `aliases`) and `field` to an output of each
//!    referenced rule. A Sigma detection rule gains hidden outputs for them
//!    (read through the logsource mapping, as its detection reads fields),
//!    and every referenced rule an event time: its first source's
//!    `TimeGenerated`.
//! 2. **events** ([`run`]): each alert of a referenced rule becomes an
//!    event of its group (the group-by values), with its time and value.
//!    A correlation's own alerts are events too, at their last time, so
//!    correlations chain.
//! 3. **window** ([`window`]): each group's events in time order, to the
//!    bursts that fire: one alert each.
//!
//! The referenced rules' own alerts are written only when a correlation
//! that references them says `generate: true`.

pub mod resolve;
pub mod window;

use std::collections::HashMap;

use crate::engine::{Alert, Evidence, Members, Outcome, Pos, Values};
use crate::plan::Plan;
use crate::sigma::correlation::{Cmp, Kind};
use window::{Event, NO_VALUE, Params};

/// The most positions of contributing events an alert lists (`count` says
/// how many there were).
pub const MAX_EVIDENCE: usize = 100;

/// A correlation rule, resolved.
#[derive(Debug, Clone)]
pub struct Spec {
    pub kind: Kind,
    /// Ticks.
    pub timespan: i64,
    pub condition: Vec<(Cmp, f64)>,
    /// A temporal type's extended condition, over input numbers.
    pub expression: Option<Presence>,
    pub percentile: f64,
    /// One per entry of `rules`, in order.
    pub inputs: Vec<Input>,
    /// `rules` as written: evidence is listed under these names.
    pub names: Vec<String>,
    pub group_by: Vec<String>,
    pub generate: bool,
}

/// An extended condition: which referenced rules a window must hold, and
/// which it must not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presence {
    And(Box<Presence>, Box<Presence>),
    Or(Box<Presence>, Box<Presence>),
    Not(Box<Presence>),
    /// The window holds an event of this input.
    Rule(usize),
}

impl Presence {
    pub fn holds(&self, present: &[u32]) -> bool {
        match self {
            Presence::And(a, b) => a.holds(present) && b.holds(present),
            Presence::Or(a, b) => a.holds(present) || b.holds(present),
            Presence::Not(a) => !a.holds(present),
            Presence::Rule(i) => present[*i] > 0,
        }
    }
}

/// A referenced rule, and where its alerts hold what the correlation reads.
#[derive(Debug, Clone)]
pub struct Input {
    /// The rule's number in the rule set.
    pub rule: usize,
    /// Per group-by field, the output it is.
    pub keys: Vec<usize>,
    /// The value_* types' field.
    pub value: Option<usize>,
}

impl Spec {
    /// An alert's outputs: the group-by fields, then these.
    pub fn output_names(group_by: &[String], kind: Kind) -> Vec<String> {
        let mut names = group_by.to_vec();
        names.extend(["count", "first", "last"].map(String::from));
        names.push(match kind {
            Kind::Temporal | Kind::TemporalOrdered => "rules".to_string(),
            k => k.name().to_string(),
        });
        names
    }

    fn params(&self) -> Params<'_> {
        Params {
            kind: self.kind,
            timespan: self.timespan,
            condition: &self.condition,
            expression: self.expression.as_ref(),
            percentile: self.percentile,
            inputs: self.inputs.len(),
        }
    }
}

/// The positions an alert stands for: a correlation alert's events, else
/// its evidence.
fn positions(a: &Alert) -> &[Pos] {
    match &a.members {
        Some(m) => &m.pos,
        None => &a.evidence[..],
    }
}

/// Runs the correlation rules of `plan` over `outcome`'s alerts (in their
/// order: by rule, then evidence), adds their alerts, and drops the alerts
/// of rules that are only referenced. Deterministic: alerts come in a fixed
/// order, and events are ordered by time, then input position.
pub fn run(plan: &Plan, outcome: &mut Outcome) {
    let rules = &plan.rules;
    if rules.iter().all(|r| r.correlation.is_none()) {
        return;
    }
    let mut by_rule: Vec<Vec<Alert>> = rules.iter().map(|_| Vec::new()).collect();
    for a in std::mem::take(&mut outcome.alerts) {
        by_rule[a.rule].push(a);
    }
    for r in order(plan) {
        let spec = rules[r].correlation.as_deref().expect("a correlation");
        let made = correlate(r, spec, &by_rule);
        outcome.stats.alerts[r] = made.len() as u64;
        by_rule[r] = made;
    }
    // Referenced rules alert on their own only when asked to.
    let written: Vec<bool> = (0..rules.len()).map(|r| written_rule(plan, r)).collect();
    outcome.stats.referenced = written.iter().map(|w| !w).collect();
    outcome.alerts = by_rule.into_iter().zip(written).filter(|(_, w)| *w).flat_map(|(a, _)| a).collect();
}

/// Whether rule `r`'s alerts are written (see [`run`]).
fn written_rule(plan: &Plan, r: usize) -> bool {
    let mut referenced = false;
    for rule in &plan.rules {
        if let Some(spec) = &rule.correlation
            && spec.inputs.iter().any(|i| i.rule == r)
        {
            if spec.generate {
                return true;
            }
            referenced = true;
        }
    }
    !referenced
}

/// The correlation rules, each after the correlations it references.
fn order(plan: &Plan) -> Vec<usize> {
    fn visit(plan: &Plan, r: usize, done: &mut [bool], out: &mut Vec<usize>) {
        if done[r] {
            return;
        }
        done[r] = true;
        if let Some(spec) = &plan.rules[r].correlation {
            for i in &spec.inputs {
                visit(plan, i.rule, done, out);
            }
            out.push(r);
        }
    }
    let mut done = vec![false; plan.rules.len()];
    let mut out = Vec::new();
    for r in 0..plan.rules.len() {
        visit(plan, r, &mut done, &mut out);
    }
    out
}

/// A JSON number or a string holding one, as a number; NaN otherwise.
fn number(text: &str) -> f64 {
    let inner = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')).unwrap_or(text);
    inner.trim().parse::<f64>().ok().filter(|n| n.is_finite()).unwrap_or(f64::NAN)
}

/// One correlation rule's alerts, from its inputs' alerts.
fn correlate(r: usize, spec: &Spec, by_rule: &[Vec<Alert>]) -> Vec<Alert> {
    // The events: (group, event, the alert it is).
    let mut groups: HashMap<String, u32> = HashMap::new();
    let mut group_keys: Vec<String> = Vec::new();
    let mut values: HashMap<&str, u32> = HashMap::new();
    let mut events: Vec<(u32, Event, Pos, (u16, u32))> = Vec::new();
    let mut key = String::new();
    for (i, input) in spec.inputs.iter().enumerate() {
        for (a, alert) in by_rule[input.rule].iter().enumerate() {
            if alert.time == i64::MIN {
                continue;
            }
            key.clear();
            for (k, &slot) in input.keys.iter().enumerate() {
                if k > 0 {
                    key.push('\u{1f}');
                }
                key.push_str(alert.fields.get(slot));
            }
            let group = match groups.get(key.as_str()) {
                Some(&g) => g,
                None => {
                    let g = group_keys.len() as u32;
                    groups.insert(key.clone(), g);
                    group_keys.push(key.clone());
                    g
                }
            };
            let (value, num) = match input.value {
                Some(slot) => {
                    let text = alert.fields.get(slot);
                    let value = if matches!(text, "null" | "\"\"") {
                        NO_VALUE
                    } else {
                        let next = values.len() as u32;
                        *values.entry(text).or_insert(next)
                    };
                    (value, number(text))
                }
                None => (NO_VALUE, f64::NAN),
            };
            let first = positions(alert).first().copied().unwrap_or(Pos { file: 0, line: 0 });
            let event = Event { time: alert.time, input: i as u16, value, number: num };
            events.push((group, event, first, (i as u16, a as u32)));
        }
    }
    events.sort_by(|a, b| (a.0, a.1.time, a.2, a.3).cmp(&(b.0, b.1.time, b.2, b.3)));
    let params = spec.params();
    let mut out: Vec<(i64, &str, Alert)> = Vec::new();
    let mut start = 0;
    while start < events.len() {
        let group = events[start].0;
        let end = start + events[start..].iter().take_while(|e| e.0 == group).count();
        let slice = &events[start..end];
        let plain: Vec<Event> = slice.iter().map(|e| e.1).collect();
        for burst in window::bursts(&plain, &params) {
            let members = &slice[burst.first..=burst.last];
            let alert = burst_alert(r, spec, &plain[burst.first..=burst.last], members, by_rule);
            out.push((plain[burst.first].time, group_keys[group as usize].as_str(), alert));
        }
        start = end;
    }
    out.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    out.into_iter().map(|(_, _, a)| a).collect()
}

/// The alert of one burst: the group-by values, count, first and last
/// time, and the burst's value; its events' positions as evidence.
fn burst_alert(
    r: usize,
    spec: &Spec,
    events: &[Event],
    members: &[(u32, Event, Pos, (u16, u32))],
    by_rule: &[Vec<Alert>],
) -> Alert {
    let (i, a) = members[0].3;
    let sample = &by_rule[spec.inputs[i as usize].rule][a as usize];
    let mut texts: Vec<String> =
        spec.inputs[i as usize].keys.iter().map(|&slot| sample.fields.get(slot).to_string()).collect();
    let (first, last) = (events[0].time, events[events.len() - 1].time);
    texts.push(events.len().to_string());
    texts.push(serde_json::to_string(&crate::datetime::format(first)).expect("strings serialise"));
    texts.push(serde_json::to_string(&crate::datetime::format(last)).expect("strings serialise"));
    let value = window::value(events, &spec.params());
    texts.push(match value.and_then(serde_json::Number::from_f64) {
        Some(n) if n.as_f64().is_some_and(|f| f.fract() == 0.0 && f.abs() < 9e15) => {
            format!("{}", n.as_f64().unwrap_or_default() as i64)
        }
        Some(n) => n.to_string(),
        None => "null".to_string(),
    });
    let mut evidence: Vec<(u16, Pos)> = Vec::new();
    'all: for m in members {
        let (i, a) = m.3;
        for &p in positions(&by_rule[spec.inputs[i as usize].rule][a as usize]) {
            if evidence.len() == MAX_EVIDENCE {
                break 'all;
            }
            evidence.push((i, p));
        }
    }
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let fields = Values::from_texts(&refs);
    let first_pos = evidence.first().map_or(Pos { file: 0, line: 0 }, |e| e.1);
    Alert {
        rule: r,
        evidence: Evidence::one(first_pos),
        fields,
        time: last,
        members: Some(Box::new(Members {
            pos: evidence.iter().map(|e| e.1).collect(),
            input: evidence.iter().map(|e| e.0).collect(),
        })),
    }
}
