//! The window: one group's events, in time order, to the bursts that fire.
//!
//! **Windows.** At each distinct event time `t`, the window is the events
//! from `t - timespan` to `t`, both ends included (an event exactly
//! `timespan` before is in it, and so is every event of time `t`). The
//! condition is tested on that window. Windows depend on times only, never
//! on the order of records in the input.
//!
//! **Bursts.** A window that fires opens a burst, or extends the open one
//! when it shares an event with it; one burst is one alert, from the first
//! event of its first window to its last firing event. So five failures in
//! ten minutes raise one alert, and so do fifty, however long the attack
//! lasts without a gap of `timespan`.

use std::collections::HashMap;

use super::Presence;
use crate::sigma::correlation::{Cmp, Kind};

/// One event of a group: a match of a referenced rule.
#[derive(Debug, Clone, Copy)]
pub struct Event {
    pub time: i64,
    /// Which referenced rule (its index in `rules`).
    pub input: u16,
    /// value_count: a hash of the value (equal values, equal hashes);
    /// [`NO_VALUE`] for a null or empty value, which is not counted. The
    /// value_sum/avg/percentile types: the bits of the value as a number;
    /// NaN when it is not one (not counted).
    pub value: u64,
}

pub use crate::engine::NO_VALUE;

impl Event {
    fn number(&self) -> f64 {
        f64::from_bits(self.value)
    }
}

/// What a window is tested with.
#[derive(Debug, Clone, Copy)]
pub struct Params<'a> {
    pub kind: Kind,
    pub timespan: i64,
    pub condition: &'a [(Cmp, f64)],
    /// An extended condition: windows start at event times (see `extended`).
    pub expression: Option<&'a Presence>,
    pub percentile: f64,
    /// How many rules the correlation references.
    pub inputs: usize,
}

/// A burst: `events[first..=last]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Burst {
    pub first: usize,
    pub last: usize,
}

/// The aggregates of a window, kept as events enter and leave it.
#[derive(Default)]
struct State {
    count: u64,
    distinct: HashMap<u64, u32>,
    per_input: Vec<u32>,
    inputs_present: usize,
    sum: f64,
    /// value_percentile, value_median: the window's numbers, counted by
    /// their rank among the group's (a Fenwick tree): a window of a million
    /// numbers costs a logarithm per event, not a million.
    ranks: Ranks,
    numbers: u64,
}

/// Counts per rank of the group's distinct numbers, in a Fenwick tree.
#[derive(Default)]
struct Ranks {
    values: Vec<f64>,
    tree: Vec<u32>,
}

impl Ranks {
    fn new(events: &[Event]) -> Ranks {
        let mut values: Vec<f64> = events.iter().map(Event::number).filter(|n| !n.is_nan()).collect();
        values.sort_by(f64::total_cmp);
        values.dedup();
        let tree = vec![0; values.len() + 1];
        Ranks { values, tree }
    }

    fn rank(&self, n: f64) -> usize {
        self.values.partition_point(|v| *v < n) + 1
    }

    fn change(&mut self, n: f64, by: i32) {
        let mut i = self.rank(n);
        while i < self.tree.len() {
            self.tree[i] = self.tree[i].wrapping_add_signed(by);
            i += i & i.wrapping_neg();
        }
    }

    /// The `k`th smallest number (1-based) of those counted.
    fn nth(&self, k: u32) -> f64 {
        let (mut at, mut left) = (0, k);
        let mut step = (self.tree.len()).next_power_of_two();
        while step > 0 {
            let next = at + step;
            if next < self.tree.len() && self.tree[next] < left {
                at = next;
                left -= self.tree[next];
            }
            step /= 2;
        }
        self.values[at]
    }
}

impl State {
    /// A state for windows over `events` (a group's: percentiles rank the
    /// group's numbers).
    fn new(p: &Params, events: &[Event]) -> State {
        let ranks = match p.kind {
            Kind::ValuePercentile | Kind::ValueMedian => Ranks::new(events),
            _ => Ranks::default(),
        };
        State { per_input: vec![0; p.inputs], ranks, ..State::default() }
    }

    fn add(&mut self, e: &Event, p: &Params) {
        self.count += 1;
        match p.kind {
            Kind::ValueCount if e.value != NO_VALUE => *self.distinct.entry(e.value).or_insert(0) += 1,
            Kind::Temporal | Kind::TemporalOrdered => {
                let n = &mut self.per_input[e.input as usize];
                self.inputs_present += usize::from(*n == 0);
                *n += 1;
            }
            Kind::ValueSum | Kind::ValueAvg if !e.number().is_nan() => {
                self.sum += e.number();
                self.numbers += 1;
            }
            Kind::ValuePercentile | Kind::ValueMedian if !e.number().is_nan() => {
                self.ranks.change(e.number(), 1);
                self.numbers += 1;
            }
            _ => {}
        }
    }

    fn remove(&mut self, e: &Event, p: &Params) {
        self.count -= 1;
        match p.kind {
            Kind::ValueCount if e.value != NO_VALUE => {
                if let Some(n) = self.distinct.get_mut(&e.value) {
                    *n -= 1;
                    if *n == 0 {
                        self.distinct.remove(&e.value);
                    }
                }
            }
            Kind::Temporal | Kind::TemporalOrdered => {
                let n = &mut self.per_input[e.input as usize];
                *n -= 1;
                self.inputs_present -= usize::from(*n == 0);
            }
            Kind::ValueSum | Kind::ValueAvg if !e.number().is_nan() => {
                self.numbers -= 1;
                // Exact again when the window holds no number: no drift
                // carried from one burst to the next.
                self.sum = if self.numbers == 0 { 0.0 } else { self.sum - e.number() };
            }
            Kind::ValuePercentile | Kind::ValueMedian if !e.number().is_nan() => {
                self.ranks.change(e.number(), -1);
                self.numbers -= 1;
            }
            _ => {}
        }
    }

    /// The window's value, as the condition tests it: `None` when it has
    /// none (an average of no numbers).
    fn value(&self, p: &Params) -> Option<f64> {
        match p.kind {
            Kind::EventCount => Some(self.count as f64),
            Kind::ValueCount => Some(self.distinct.len() as f64),
            Kind::Temporal | Kind::TemporalOrdered => Some(self.inputs_present as f64),
            Kind::ValueSum => Some(self.sum),
            Kind::ValueAvg => (self.numbers > 0).then(|| self.sum / self.numbers as f64),
            Kind::ValuePercentile => self.percentile(p.percentile),
            Kind::ValueMedian => self.percentile(50.0),
        }
    }
}

/// The nearest rank of percentile `p` of `n` numbers, as Kusto's
/// `percentile()` (no interpolation): `ceil(p/100 * n)`, at least 1.
fn nearest_rank(p: f64, n: u64) -> u64 {
    (((p / 100.0) * n as f64).ceil() as u64).clamp(1, n)
}

/// The nearest-rank percentile of sorted numbers.
#[cfg(test)]
fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    (!sorted.is_empty()).then(|| sorted[nearest_rank(p, sorted.len() as u64) as usize - 1])
}

impl State {
    fn percentile(&self, p: f64) -> Option<f64> {
        (self.numbers > 0).then(|| self.ranks.nth(nearest_rank(p, self.numbers) as u32))
    }
}

/// Whether every comparison holds; a temporal type without a condition
/// needs every referenced rule.
fn holds(value: Option<f64>, p: &Params) -> bool {
    let Some(v) = value else { return false };
    if p.condition.is_empty() {
        return v >= p.inputs as f64;
    }
    p.condition.iter().all(|(cmp, bound)| cmp.holds(v, *bound))
}

/// temporal_ordered: chains of one event of each referenced rule, in the
/// order `rules` lists them (and in event order). `start[j]` is the latest
/// first event of a chain of rules `0..=j` seen so far; an event of rule
/// `j` extends the best chain of rule `j - 1` before it. A window ending at
/// an event of the last rule holds a whole chain when that chain starts in
/// it. One step per event, whatever the window holds.
struct Chains {
    start: Vec<Option<usize>>,
}

impl Chains {
    fn new(inputs: usize) -> Chains {
        Chains { start: vec![None; inputs] }
    }

    /// Adds event `at` of rule `input`; whether it ends a chain that starts
    /// at or after `first`.
    fn add(&mut self, at: usize, input: usize, first: usize) -> bool {
        let start = if input == 0 { Some(at) } else { self.start[input - 1] };
        if let Some(s) = start {
            self.start[input] = Some(self.start[input].map_or(s, |old| old.max(s)));
        }
        input == self.start.len() - 1 && start.is_some_and(|s| s >= first)
    }
}

/// The bursts of one group's `events`, sorted by time (equal times by
/// rule, in `rules` order).
pub fn bursts(events: &[Event], p: &Params) -> Vec<Burst> {
    if let Some(expression) = p.expression {
        return extended(events, p, expression);
    }
    let mut out = Vec::new();
    let mut state = State::new(p, events);
    let mut chains = Chains::new(p.inputs);
    let mut open: Option<Burst> = None;
    let mut first = 0;
    let mut at = 0;
    // One window per distinct time: it holds every event of that time.
    while at < events.len() {
        let time = events[at].time;
        while events[first].time < time.saturating_sub(p.timespan) {
            state.remove(&events[first], p);
            first += 1;
        }
        let mut ordered = p.kind != Kind::TemporalOrdered;
        let mut last = at;
        while last < events.len() && events[last].time == time {
            state.add(&events[last], p);
            if p.kind == Kind::TemporalOrdered {
                ordered |= chains.add(last, events[last].input as usize, first);
            }
            last += 1;
        }
        at = last;
        let last = last - 1;
        if !(ordered && holds(state.value(p), p)) {
            continue;
        }
        match &mut open {
            Some(b) if first <= b.last => b.last = last,
            _ => out.extend(open.replace(Burst { first, last })),
        }
    }
    out.extend(open);
    out
}

/// An extended condition (`failed and not mfa`): a window starts at each
/// distinct time and holds the events from it up to `timespan` after it,
/// both ends included; the condition is tested on which rules it holds.
/// Forward windows find every set of events a trailing window finds (each
/// such set starts somewhere), and give absence its usual meaning: `a and
/// not b` is an `a` with no `b` in the `timespan` after it. temporal_ordered
/// starts windows only at times with an event of the first rule in `rules`.
/// Firing windows that share an event make one burst.
fn extended(events: &[Event], p: &Params, expression: &Presence) -> Vec<Burst> {
    let mut out = Vec::new();
    let mut present = vec![0u32; p.inputs];
    let mut open: Option<Burst> = None;
    let mut end = 0; // one past the window's last event
    let mut first = 0;
    while first < events.len() {
        let time = events[first].time;
        let limit = time.saturating_add(p.timespan);
        while end < events.len() && events[end].time <= limit {
            present[events[end].input as usize] += 1;
            end += 1;
        }
        let same = events[first..].iter().take_while(|e| e.time == time).count();
        let anchored = p.kind != Kind::TemporalOrdered || events[first..first + same].iter().any(|e| e.input == 0);
        if anchored && expression.holds(&present) {
            let last = end - 1;
            match &mut open {
                Some(b) if first <= b.last => b.last = b.last.max(last),
                _ => out.extend(open.replace(Burst { first, last })),
            }
        }
        for e in &events[first..first + same] {
            present[e.input as usize] -= 1;
        }
        first += same;
    }
    out.extend(open);
    out
}

/// A burst's value over all its events, as an alert reports it.
pub fn value(events: &[Event], p: &Params) -> Option<f64> {
    let mut state = State::new(p, events);
    events.iter().for_each(|e| state.add(e, p));
    state.value(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 600_000_000;

    fn at(minutes: &[i64]) -> Vec<Event> {
        minutes.iter().map(|m| Event { time: m * MIN, input: 0, value: NO_VALUE }).collect()
    }

    fn params(kind: Kind, condition: &[(Cmp, f64)], inputs: usize) -> Params<'_> {
        Params { kind, timespan: 10 * MIN, condition, expression: None, percentile: 50.0, inputs }
    }

    fn spans(b: Vec<Burst>) -> Vec<(usize, usize)> {
        b.into_iter().map(|b| (b.first, b.last)).collect()
    }

    #[test]
    fn both_window_edges_are_inside() {
        let gte3 = [(Cmp::Gte, 3.0)];
        let p = params(Kind::EventCount, &gte3, 1);
        // Exactly ten minutes from first to third: one window holds all three.
        assert_eq!(spans(bursts(&at(&[0, 5, 10]), &p)), [(0, 2)]);
        // One tick more: never three in a window.
        let mut late = at(&[0, 5, 10]);
        late[2].time += 1;
        assert!(bursts(&late, &p).is_empty());
    }

    #[test]
    fn equal_times_are_one_window_whatever_their_order() {
        let gte3 = [(Cmp::Gte, 3.0)];
        let p = params(Kind::EventCount, &gte3, 1);
        // Three at minute 5: the window at 5 holds all three.
        assert_eq!(spans(bursts(&at(&[0, 5, 5, 5]), &p)), [(0, 3)]);
        // A range: exactly two, but ties make three at once: never two.
        let two = [(Cmp::Eq, 2.0)];
        let p = params(Kind::EventCount, &two, 1);
        assert_eq!(spans(bursts(&at(&[0, 5, 5]), &p)), []);
        // Ordered: rule 0 and rule 1 at the same time are in order.
        let mut tie = at(&[3, 3]);
        tie[1].input = 1;
        let ordered = params(Kind::TemporalOrdered, &[], 2);
        assert_eq!(spans(bursts(&tie, &ordered)), [(0, 1)]);
    }

    #[test]
    fn a_long_burst_is_one_alert_and_a_gap_starts_another() {
        let gte3 = [(Cmp::Gte, 3.0)];
        let p = params(Kind::EventCount, &gte3, 1);
        let events = at(&[0, 1, 2, 3, 4, 5, 6, 30, 31, 32, 60]);
        assert_eq!(spans(bursts(&events, &p)), [(0, 6), (7, 9)]);
    }

    #[test]
    fn a_range_condition_needs_every_bound() {
        let range = [(Cmp::Gt, 1.0), (Cmp::Lte, 2.0)];
        let p = params(Kind::EventCount, &range, 1);
        // The second event makes 2 (fires); the third makes 3 (does not).
        assert_eq!(spans(bursts(&at(&[0, 1, 2]), &p)), [(0, 1)]);
    }

    #[test]
    fn value_count_counts_distinct_values_not_nulls() {
        let gte3 = [(Cmp::Gte, 3.0)];
        let p = params(Kind::ValueCount, &gte3, 1);
        let mut events = at(&[0, 1, 2, 3, 4]);
        for (e, v) in events.iter_mut().zip([7, 7, NO_VALUE, 8, 9]) {
            e.value = v;
        }
        assert_eq!(spans(bursts(&events, &p)), [(0, 4)]);
        assert_eq!(value(&events[..4], &p), Some(2.0));
        events[4].value = 8;
        assert!(bursts(&events, &p).is_empty());
    }

    #[test]
    fn temporal_needs_every_rule_and_ordered_needs_their_order() {
        let mut events = at(&[0, 3, 6]);
        for (e, i) in events.iter_mut().zip([1, 0, 1]) {
            e.input = i;
        }
        let any = params(Kind::Temporal, &[], 2);
        assert_eq!(spans(bursts(&events, &any)), [(0, 2)], "b a b: both rules from the second event");
        let ordered = params(Kind::TemporalOrdered, &[], 2);
        assert_eq!(spans(bursts(&events, &ordered)), [(0, 2)], "a then b only at the third event");
        let (ba, _) = events.split_at(2);
        assert!(bursts(ba, &ordered).is_empty(), "b then a is out of order");
        assert_eq!(spans(bursts(ba, &any)), [(0, 1)]);
    }

    #[test]
    fn absence_looks_forward_from_each_event() {
        // a at 0, b at 5, a at 20, c at 25: `a and not b` holds only from the second a.
        let mut events = at(&[0, 5, 20, 25]);
        for (e, i) in events.iter_mut().zip([0, 1, 0, 2]) {
            e.input = i;
        }
        let a_not_b = Presence::And(Box::new(Presence::Rule(0)), Box::new(Presence::Not(Box::new(Presence::Rule(1)))));
        let p = Params { expression: Some(&a_not_b), ..params(Kind::Temporal, &[], 3) };
        assert_eq!(spans(bursts(&events, &p)), [(2, 3)], "the second a, with the c inside its window");
        // b exactly ten minutes after a is inside a's window: no alert for that a.
        let mut edge = at(&[0, 10]);
        edge[1].input = 1;
        assert_eq!(spans(bursts(&edge, &p)), []);
        edge[1].time += 1;
        assert_eq!(spans(bursts(&edge, &p)), [(0, 0)]);
        // Ordered: windows start at the first rule's events only.
        let b_not_a = Presence::And(Box::new(Presence::Rule(1)), Box::new(Presence::Not(Box::new(Presence::Rule(0)))));
        let ordered = Params { expression: Some(&b_not_a), ..params(Kind::TemporalOrdered, &[], 3) };
        assert_eq!(spans(bursts(&events, &ordered)), [], "every window starts at an a");
    }

    #[test]
    fn percentiles_over_sliding_windows_match_sorting_each_window() {
        // Windows of up to 11 events over numbers with repeats.
        let mut events = at(&(0..300).collect::<Vec<i64>>());
        for (i, e) in events.iter_mut().enumerate() {
            e.value = f64::to_bits(((i * 37) % 23) as f64);
        }
        for p in [0.0, 10.0, 50.0, 90.0, 100.0] {
            let params = Params { percentile: p, ..params(Kind::ValuePercentile, &[(Cmp::Gte, 0.0)], 1) };
            let mut state = State::new(&params, &events);
            let mut first = 0;
            for (last, e) in events.iter().enumerate() {
                state.add(e, &params);
                while events[first].time < e.time - params.timespan {
                    state.remove(&events[first], &params);
                    first += 1;
                }
                let mut sorted: Vec<f64> = events[first..=last].iter().map(Event::number).collect();
                sorted.sort_by(f64::total_cmp);
                assert_eq!(state.value(&params), percentile(&sorted, p), "p{p} at {last}");
            }
        }
    }

    #[test]
    fn ordered_chains_need_each_rule_after_the_one_before() {
        // a b a c, then c alone after the window moved past them.
        let mut events = at(&[0, 1, 2, 3, 30]);
        for (e, i) in events.iter_mut().zip([0, 1, 0, 2, 2]) {
            e.input = i;
        }
        let p = params(Kind::TemporalOrdered, &[], 3);
        assert_eq!(spans(bursts(&events, &p)), [(0, 3)]);
        // c b a: out of order.
        let mut reversed = at(&[0, 1, 2]);
        for (e, i) in reversed.iter_mut().zip([2, 1, 0]) {
            e.input = i;
        }
        assert_eq!(spans(bursts(&reversed, &p)), []);
    }

    #[test]
    fn sums_averages_and_percentiles_read_numbers() {
        let mut events = at(&[0, 1, 2, 3]);
        for (e, n) in events.iter_mut().zip([10.0, f64::NAN, 30.0, 50.0]) {
            e.value = f64::to_bits(n);
        }
        let gt = [(Cmp::Gt, 35.0)];
        assert_eq!(value(&events, &params(Kind::ValueSum, &gt, 1)), Some(90.0));
        assert_eq!(value(&events, &params(Kind::ValueAvg, &gt, 1)), Some(30.0));
        assert_eq!(value(&events, &params(Kind::ValueMedian, &gt, 1)), Some(30.0));
        let p90 = Params { percentile: 90.0, ..params(Kind::ValuePercentile, &gt, 1) };
        assert_eq!(value(&events, &p90), Some(50.0));
        // The average passes 35 only once 50 is in.
        assert_eq!(spans(bursts(&events, &params(Kind::ValueAvg, &gt, 1))), []);
        let gt25 = [(Cmp::Gt, 25.0)];
        assert_eq!(spans(bursts(&events, &params(Kind::ValueAvg, &gt25, 1))), [(0, 3)]);
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0], 50.0), Some(2.0));
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0], 0.0), Some(1.0));
        assert_eq!(percentile(&[], 50.0), None);
    }
}
