//! Feeds: what a rule that only correlations read makes of a match. Not an
//! alert (its outputs as text, kept to be written) but a 48-byte event per
//! correlation that reads it: its time, two hashes of its group-by values,
//! its value, its position, and where the group-by text is in the run's
//! arena of texts (appended, chunk by chunk, in input order).

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
    /// A second, independent hash of the group-by text: a group is its
    /// `(key, check)`, 96 bits, so that two groups never meet in practice.
    pub check: u32,
    pub pos: Pos,
    /// Ticks; `i64::MIN` when the record has no time (the match is no event).
    pub time: i64,
    /// [`key_hash`] of the group-by values' text.
    pub key: u64,
    /// The value: a hash of its text (value_count; [`NO_VALUE`] when null
    /// or empty), or the bits of its number (NaN when not a number).
    pub value: u64,
    /// The group-by text in the arena: its offset (high 40 bits) and length
    /// (low 24 bits) ([`Feed::text_in`]).
    pub text: u64,
}

pub const NO_VALUE: u64 = u64::MAX;

/// The longest group-by text a feed keeps whole (the low 24 bits).
const MAX_TEXT: usize = (1 << 24) - 1;

impl Feed {
    /// Its group-by text in `arena`.
    pub fn text_in<'a>(&self, arena: &'a str) -> &'a str {
        let (start, len) = ((self.text >> 24) as usize, (self.text & MAX_TEXT as u64) as usize);
        arena.get(start..start + len).unwrap_or("")
    }

    /// Moves its text `by` bytes on: its chunk's arena was appended to the
    /// run's at `by`.
    pub fn shift_text(&mut self, by: usize) {
        self.text += (by as u64) << 24;
    }
}

/// The hashes of group-by texts: fixed seeds, so runs agree.
pub fn key_hash(text: &str) -> u64 {
    foldhash::quality::FixedState::with_seed(0x5167_c022_2026_1207).hash_one(text)
}

pub fn check_hash(text: &str) -> u32 {
    foldhash::quality::FixedState::with_seed(0x0c4e_c4ed_1996_0318).hash_one(text) as u32
}

/// Appends `text` to `arena`: where it is, as [`Feed::text`].
pub fn keep_text(arena: &mut String, text: &str) -> u64 {
    let text = &text[..text.floor_char_boundary(MAX_TEXT)];
    let at = arena.len() as u64;
    arena.push_str(text);
    at << 24 | text.len() as u64
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

/// The feeds of rule `rule`'s match on `pair`, one per consumer; their
/// group-by texts go to `arena` (the chunk's).
pub(super) fn feeds(
    rule: &CheckedRule,
    consumers: &[(u32, &Consumer)],
    pair: &Pair,
    pos: Pos,
    now: i64,
    arena: &mut String,
    out: &mut Vec<Feed>,
) {
    thread_local! {
        static TEXT: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
    }
    let time = super::alert::time(rule, pair, now);
    TEXT.with_borrow_mut(|text| {
        for &(id, c) in consumers {
            text.clear();
            for (i, &slot) in c.keys.iter().enumerate() {
                if i > 0 {
                    text.push('\u{1f}');
                }
                push_output(&rule.output[slot], pair, now, text);
            }
            let (key, check) = (key_hash(text), check_hash(text));
            let kept = keep_text(arena, text);
            let value = match c.value {
                Some((slot, kind)) => {
                    text.clear();
                    push_output(&rule.output[slot], pair, now, text);
                    value_of(text, kind)
                }
                None => NO_VALUE,
            };
            out.push(Feed { consumer: id, check, pos, time, key, value, text: kept });
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_found_again_after_their_arena_moves() {
        let mut chunk = String::new();
        let a = keep_text(&mut chunk, "\"alice\"");
        let b = keep_text(&mut chunk, "\"bob\"\u{1f}\"10.0.0.1\"");
        let mut run = String::from("earlier texts");
        let base = run.len();
        run.push_str(&chunk);
        let feed =
            |text| Feed { consumer: 0, check: 0, pos: Pos { file: 0, line: 1 }, time: 0, key: 0, value: 0, text };
        let (mut fa, mut fb) = (feed(a), feed(b));
        fa.shift_text(base);
        fb.shift_text(base);
        assert_eq!((fa.text_in(&run), fb.text_in(&run)), ("\"alice\"", "\"bob\"\u{1f}\"10.0.0.1\""));
        assert_ne!(check_hash("\"alice\""), check_hash("\"bob\""));
        assert_eq!(number("\"12.5\""), 12.5);
        assert!(number("\"x\"").is_nan());
    }
}
