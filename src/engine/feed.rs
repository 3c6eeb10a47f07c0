//! Feeds: what a rule that only correlations read makes of a match. Not an
//! alert (its outputs as text, kept to be written) but a fixed-size event
//! per correlation that reads it: its time, a hash of its group-by values,
//! its value, its position. The group-by values' text is kept once per
//! group and chunk, for the correlation's alerts to show.

use std::hash::BuildHasher;

use super::alert::{Pair, push_output};
use super::outcome::Pos;
use crate::check::CheckedRule;
use crate::plan::{Consumer, ValueKind};

/// One match of a rule, as one correlation input reads it.
#[derive(Debug, Clone, Copy)]
pub struct Feed {
    /// The consumer (a correlation and one of its inputs): an index into
    /// [`crate::plan::Plan::consumers`].
    pub consumer: u32,
    pub pos: Pos,
    /// Ticks; `i64::MIN` when the record has no time (the match is no event).
    pub time: i64,
    /// [`key_hash`] of the group-by values' text.
    pub key: u64,
    /// The value: a hash of its text (value_count; [`NO_VALUE`] when null
    /// or empty), or the bits of its number (NaN when not a number).
    pub value: u64,
}

pub const NO_VALUE: u64 = u64::MAX;

/// The hash of group-by texts: fixed seed, so runs agree.
pub fn key_hash(text: &str) -> u64 {
    foldhash::quality::FixedState::with_seed(0x5167_c022_2026_1207).hash_one(text)
}

/// A value's JSON text as a feed holds it.
pub fn value_of(text: &str, kind: ValueKind) -> u64 {
    match kind {
        ValueKind::Distinct if matches!(text, "null" | "\"\"") => NO_VALUE,
        ValueKind::Distinct => key_hash(text),
        ValueKind::Number => number(text).to_bits(),
    }
}

/// A JSON number, or a string holding one, as a number; NaN otherwise.
pub fn number(text: &str) -> f64 {
    let inner = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')).unwrap_or(text);
    inner.trim().parse::<f64>().ok().filter(|n| n.is_finite()).unwrap_or(f64::NAN)
}

/// The group-by texts of the consumers' groups, per thread and then per
/// run: a text per key, and how many keys turned up with two texts (a hash
/// collision: the two groups were merged).
#[derive(Debug, Default)]
pub struct KeyTexts {
    pub texts: hashbrown::HashMap<(u32, u64), Box<str>>,
    pub collisions: u64,
}

impl KeyTexts {
    pub fn add(&mut self, consumer: u32, key: u64, text: &str) {
        match self.texts.get(&(consumer, key)) {
            Some(t) if **t == *text => {}
            Some(_) => self.collisions += 1,
            None => {
                self.texts.insert((consumer, key), text.into());
            }
        }
    }

    /// Adds another thread's texts: a key's text already here stays.
    pub fn absorb(&mut self, later: KeyTexts) {
        self.collisions += later.collisions;
        for ((c, k), t) in later.texts {
            self.add(c, k, &t);
        }
    }
}

thread_local! {
    /// Each thread's group-by texts, for the whole run: a thread meets most
    /// groups early, and then only looks them up (kept per chunk, they were
    /// made and merged again for every chunk).
    static TEXTS: std::cell::RefCell<Vec<(u64, KeyTexts)>> = const { std::cell::RefCell::new(Vec::new()) };
    static TEXT: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

/// Every thread's texts of run `run`, together (each key's text is the same
/// in every thread but for a collision, which is counted): after the run.
pub(super) fn take_texts(run: u64) -> KeyTexts {
    let take = || {
        TEXTS.with_borrow_mut(|runs| match runs.iter().position(|(r, _)| *r == run) {
            Some(i) => runs.swap_remove(i).1,
            None => KeyTexts::default(),
        })
    };
    let mut all = take();
    for t in rayon::broadcast(|_| take()) {
        all.absorb(t);
    }
    all
}

/// The feeds of rule `rule`'s match on `pair`, one per consumer.
#[allow(clippy::too_many_arguments)]
pub(super) fn feeds(
    run: u64,
    rule: &CheckedRule,
    consumers: &[(u32, &Consumer)],
    pair: &Pair,
    pos: Pos,
    now: i64,
    out: &mut Vec<Feed>,
) {
    let time = super::alert::time(rule, pair, now);
    TEXTS.with_borrow_mut(|runs| {
        TEXT.with_borrow_mut(|text| {
            let i = match runs.iter().position(|(r, _)| *r == run) {
                Some(i) => i,
                None => {
                    runs.push((run, KeyTexts::default()));
                    runs.len() - 1
                }
            };
            let texts = &mut runs[i].1;
            for &(id, c) in consumers {
                text.clear();
                for (i, &slot) in c.keys.iter().enumerate() {
                    if i > 0 {
                        text.push('\u{1f}');
                    }
                    push_output(&rule.output[slot], pair, now, text);
                }
                let key = key_hash(text);
                texts.add(id, key, text);
                let value = match c.value {
                    Some((slot, kind)) => {
                        text.clear();
                        push_output(&rule.output[slot], pair, now, text);
                        value_of(text, kind)
                    }
                    None => NO_VALUE,
                };
                out.push(Feed { consumer: id, pos, time, key, value });
            }
        })
    });
}
