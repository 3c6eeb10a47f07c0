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

use rayon::prelude::*;

use crate::engine::{
    Alert, Evidence, Feed, Members, NO_VALUE, Outcome, Pos, Values, check_hash, keep_text, key_hash, value_of,
};
use crate::plan::Plan;
use crate::sigma::correlation::{Cmp, Kind};
use window::{Event, Params};

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
    /// `fields`: names whose distinct values an alert lists.
    pub fields: Vec<String>,
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
    /// Per name of `fields`, the output it is.
    pub fields: Vec<usize>,
}

impl Spec {
    /// An alert's outputs: the group-by fields, these, then `fields`.
    pub fn output_names(group_by: &[String], kind: Kind, fields: &[String]) -> Vec<String> {
        let mut names = group_by.to_vec();
        names.extend(["count", "first", "last"].map(String::from));
        names.push(match kind {
            Kind::Temporal | Kind::TemporalOrdered => "rules".to_string(),
            k => k.name().to_string(),
        });
        names.extend(fields.iter().cloned());
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
/// order: by rule, then evidence) and feeds, adds their alerts, and drops
/// the alerts of rules that are only referenced. Deterministic: alerts and
/// feeds come in input order, and events are ordered by time, then input
/// position.
pub fn run(plan: &Plan, outcome: &mut Outcome) {
    let rules = &plan.rules;
    if rules.iter().all(|r| r.correlation.is_none()) {
        return;
    }
    let mut by_rule: Vec<Vec<Alert>> = rules.iter().map(|_| Vec::new()).collect();
    for a in std::mem::take(&mut outcome.alerts) {
        by_rule[a.rule].push(a);
    }
    // Feeds by consumer (each consumer's in input order: a stable sort).
    let mut feeds = std::mem::take(&mut outcome.feeds);
    feeds.par_sort_by_key(|f| f.consumer);
    let mut texts = std::mem::take(&mut outcome.feed_texts);
    for r in order(plan) {
        let spec = rules[r].correlation.as_deref().expect("a correlation");
        let made = correlate(plan, r, spec, &by_rule, &mut feeds, &mut texts);
        outcome.stats.alerts[r] = made.len() as u64;
        by_rule[r] = made;
    }
    drop(feeds);
    // Referenced rules alert on their own only when asked to.
    let written: Vec<bool> = unwritten(rules).iter().map(|u| !u).collect();
    outcome.stats.referenced = written.iter().map(|w| !w).collect();
    outcome.alerts = by_rule.into_iter().zip(written).filter(|(_, w)| *w).flat_map(|(a, _)| a).collect();
}

/// Whether rule `r` of `rules` is referenced by a correlation that does
/// not `generate` it: its alerts are not written.
pub fn referenced(rules: &[crate::check::CheckedRule], r: usize) -> bool {
    unwritten(rules)[r]
}

/// Per rule, whether a correlation references it and none that does
/// `generate`s it: its alerts are not written. Linear in the references.
pub fn unwritten(rules: &[crate::check::CheckedRule]) -> Vec<bool> {
    let mut referenced = vec![false; rules.len()];
    let mut generated = vec![false; rules.len()];
    for spec in rules.iter().filter_map(|r| r.correlation.as_deref()) {
        for i in &spec.inputs {
            referenced[i.rule] = true;
            generated[i.rule] |= spec.generate;
        }
    }
    referenced.iter().zip(&generated).map(|(r, g)| *r && !g).collect()
}

/// The correlation rules, each after the correlations it references.
fn order(plan: &Plan) -> Vec<usize> {
    // Kahn's: a correlation is ready once the correlations it references
    // are (resolve refused cycles). No recursion, whatever the chain's length.
    let rules = &plan.rules;
    let mut waiting = vec![0usize; rules.len()];
    let mut users: Vec<Vec<usize>> = vec![Vec::new(); rules.len()];
    for (r, rule) in rules.iter().enumerate() {
        for i in rule.correlation.iter().flat_map(|s| &s.inputs) {
            if rules[i.rule].correlation.is_some() {
                waiting[r] += 1;
                users[i.rule].push(r);
            }
        }
    }
    let mut ready: Vec<usize> =
        (0..rules.len()).rev().filter(|&r| rules[r].correlation.is_some() && waiting[r] == 0).collect();
    let mut out = Vec::new();
    while let Some(r) = ready.pop() {
        out.push(r);
        for &u in users[r].iter().rev() {
            waiting[u] -= 1;
            if waiting[u] == 0 {
                ready.push(u);
            }
        }
    }
    out
}

/// One correlation rule's alerts, from its inputs' feeds and alerts.
///
/// Events are [`Feed`]s (an alert is made into one, under its input's
/// consumer id). The one input of a correlation over a rule read as feeds
/// is sorted in place, in the run's vector of feeds; otherwise the inputs'
/// events are gathered into one vector (an alert's event remembers which
/// alert it is, for its evidence and `fields`).
fn correlate(
    plan: &Plan,
    r: usize,
    spec: &Spec,
    by_rule: &[Vec<Alert>],
    feeds: &mut [Feed],
    texts: &mut String,
) -> Vec<Alert> {
    // Consumers are numbered correlation by correlation, input by input.
    let base = plan.consumers.partition_point(|c| c.correlation < r);
    let ids: Vec<u32> = (0..spec.inputs.len()).map(|i| (base + i) as u32).collect();
    let fed = |i: usize| plan.feeds[spec.inputs[i].rule].contains(&ids[i]);
    let params = spec.params();
    // Groups, then time; equal times by rule (consumer ids follow `rules`),
    // then input position (the evidence's order).
    let key_of = |e: &Feed| (e.key, e.check, e.time, e.consumer, e.pos);
    let mut made: Vec<(i64, Box<str>, Alert)> = Vec::new();
    if spec.inputs.len() == 1 && fed(0) {
        let at = consumer_range(feeds, ids[0]);
        let events = &mut feeds[at];
        events.par_sort_unstable_by_key(key_of);
        let events: &[Feed] = events;
        sweep(
            r,
            spec,
            &params,
            &ids,
            events,
            &|k| Member { input: 0, alert: None, pos: events[k].pos },
            texts,
            &mut made,
        );
    } else {
        // (event, the alert it is: u32::MAX for a feed)
        let mut events: Vec<(Feed, u32)> = Vec::new();
        let mut key = String::new();
        for (i, input) in spec.inputs.iter().enumerate() {
            if fed(i) {
                events.extend(feeds[consumer_range(feeds, ids[i])].iter().map(|f| (*f, u32::MAX)));
                continue;
            }
            let kind = plan.consumers[ids[i] as usize].value.map(|(_, k)| k);
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
                let (hash, check) = (key_hash(&key), check_hash(&key));
                let text = keep_text(texts, &key);
                let value = match (input.value, kind) {
                    (Some(slot), Some(kind)) => value_of(alert.fields.get(slot), kind),
                    _ => NO_VALUE,
                };
                let pos = positions(alert).first().copied().unwrap_or(Pos { file: 0, line: 0 });
                let feed = Feed { consumer: ids[i], check, pos, time: alert.time, key: hash, value, text };
                events.push((feed, a as u32));
            }
        }
        events.par_sort_unstable_by_key(|(e, a)| (key_of(e), *a));
        let plain: Vec<Feed> = events.iter().map(|e| e.0).collect();
        let member = |k: usize| -> Member {
            let (e, a) = &events[k];
            let input = input_of(&ids, e.consumer);
            let alert = (*a != u32::MAX).then(|| &by_rule[spec.inputs[input].rule][*a as usize]);
            Member { input, alert, pos: e.pos }
        };
        sweep(r, spec, &params, &ids, &plain, &member, texts, &mut made);
    }
    made.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    made.into_iter().map(|(_, _, a)| a).collect()
}

/// An event of a burst: its input, the alert it is (none for a feed), and
/// its position.
struct Member<'a> {
    input: usize,
    alert: Option<&'a Alert>,
    pos: Pos,
}

/// The input a consumer id stands for.
fn input_of(ids: &[u32], consumer: u32) -> usize {
    ids.iter().position(|&id| id == consumer).unwrap_or(0)
}

/// Consumer `id`'s feeds in `feeds` (sorted by consumer).
fn consumer_range(feeds: &[Feed], id: u32) -> std::ops::Range<usize> {
    let start = feeds.partition_point(|f| f.consumer < id);
    start..start + feeds[start..].partition_point(|f| f.consumer == id)
}

/// The alerts of `events` (sorted by key, time, position), group by group.
#[allow(clippy::too_many_arguments)]
fn sweep<'a>(
    r: usize,
    spec: &Spec,
    params: &Params,
    ids: &[u32],
    events: &[Feed],
    member: &dyn Fn(usize) -> Member<'a>,
    texts: &str,
    made: &mut Vec<(i64, Box<str>, Alert)>,
) {
    let mut window_events: Vec<Event> = Vec::new();
    let mut start = 0;
    while start < events.len() {
        // A group: one (key, check) pair of hashes of its group-by text.
        let (key, check) = (events[start].key, events[start].check);
        let end = start + events[start..].iter().take_while(|e| e.key == key && e.check == check).count();
        let group = &events[start..end];
        let offset = start;
        start = end;
        window_events.clear();
        window_events.extend(group.iter().filter(|e| e.time != i64::MIN).map(|e| Event {
            time: e.time,
            input: input_of(ids, e.consumer) as u16,
            value: e.value,
        }));
        if window_events.len() != group.len() {
            // A match without a time is no event: the group is read without it.
            let timed: Vec<usize> = (0..group.len()).filter(|&k| group[k].time != i64::MIN).collect();
            if timed.is_empty() {
                continue;
            }
            let at = |k: usize| offset + timed[k];
            bursts_of(r, spec, params, &window_events, &|k| group[timed[k]], &|k| member(at(k)), texts, made);
            continue;
        }
        bursts_of(r, spec, params, &window_events, &|k| group[k], &|k| member(offset + k), texts, made);
    }
}

/// The alerts of one group's bursts.
#[allow(clippy::too_many_arguments)]
fn bursts_of<'a>(
    r: usize,
    spec: &Spec,
    params: &Params,
    window_events: &[Event],
    feed: &dyn Fn(usize) -> Feed,
    member: &dyn Fn(usize) -> Member<'a>,
    texts: &str,
    made: &mut Vec<(i64, Box<str>, Alert)>,
) {
    for burst in window::bursts(window_events, params) {
        let first = feed(burst.first);
        let text: Box<str> = first.text_in(texts).into();
        let range = burst.first..=burst.last;
        let alert = burst_alert(r, spec, params, &window_events[range.clone()], range, &text, member);
        made.push((first.time, text, alert));
    }
}

/// The alert of one burst: the group-by values, count, first and last
/// time, and the burst's value; its events' positions as evidence.
fn burst_alert<'a>(
    r: usize,
    spec: &Spec,
    params: &Params,
    events: &[Event],
    members: std::ops::RangeInclusive<usize>,
    key_text: &str,
    member: &dyn Fn(usize) -> Member<'a>,
) -> Alert {
    let mut texts: Vec<&str> = if spec.group_by.is_empty() { Vec::new() } else { key_text.split('\u{1f}').collect() };
    texts.resize(spec.group_by.len(), "null");
    let (first, last) = (events[0].time, events[events.len() - 1].time);
    let count = events.len().to_string();
    let first_text = serde_json::to_string(&crate::datetime::format(first)).expect("strings serialise");
    let last_text = serde_json::to_string(&crate::datetime::format(last)).expect("strings serialise");
    let value = match window::value(events, params).and_then(serde_json::Number::from_f64) {
        Some(n) if n.as_f64().is_some_and(|f| f.fract() == 0.0 && f.abs() < 9e15) => {
            format!("{}", n.as_f64().unwrap_or_default() as i64)
        }
        Some(n) => n.to_string(),
        None => "null".to_string(),
    };
    texts.extend([count.as_str(), first_text.as_str(), last_text.as_str(), value.as_str()]);
    // `fields`: each one's distinct values over the burst, in the order of
    // their first time, then of their text (so events at one time give one
    // order whatever the files' order, as the compiled SQL does); the first
    // MAX_EVIDENCE.
    let lists: Vec<String> = (0..spec.fields.len())
        .map(|f| {
            let mut seen: hashbrown::HashSet<&str> = hashbrown::HashSet::new();
            let mut firsts: Vec<(i64, String, &str)> = Vec::new();
            for (e, k) in members.clone().enumerate() {
                let time = events[e].time;
                // Members come in time order: once MAX_EVIDENCE values came
                // before this time, no later value is among the first.
                if firsts.len() >= MAX_EVIDENCE && firsts[MAX_EVIDENCE - 1].0 < time {
                    break;
                }
                let m = member(k);
                let Some(alert) = m.alert else { continue };
                let v = alert.fields.get(spec.inputs[m.input].fields[f]);
                if v != "null" && seen.insert(v) {
                    let text = serde_json::from_str::<String>(v).unwrap_or_else(|_| v.to_string());
                    firsts.push((time, text, v));
                }
            }
            firsts.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
            firsts.truncate(MAX_EVIDENCE);
            let values: Vec<&str> = firsts.iter().map(|x| x.2).collect();
            format!("[{}]", values.join(","))
        })
        .collect();
    texts.extend(lists.iter().map(String::as_str));
    let fields = Values::from_texts(&texts);
    let mut pos: Vec<(u16, Pos)> = Vec::new();
    for k in members {
        if pos.len() >= MAX_EVIDENCE {
            break;
        }
        let m = member(k);
        let input = m.input as u16;
        match m.alert {
            Some(a) => pos.extend(positions(a).iter().map(|&p| (input, p))),
            None => pos.push((input, m.pos)),
        }
    }
    pos.truncate(MAX_EVIDENCE);
    let first_pos = pos.first().map_or(Pos { file: 0, line: 0 }, |e| e.1);
    Alert {
        rule: r,
        evidence: Evidence::one(first_pos),
        fields,
        time: last,
        members: Some(Box::new(Members {
            pos: pos.iter().map(|e| e.1).collect(),
            input: pos.iter().map(|e| e.0).collect(),
        })),
    }
}
