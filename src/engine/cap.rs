//! The cap on alerts per rule and join key. One key shared by 1,000
//! records on each side makes a million pairs from 2,000 records; the cap
//! ([`Options::max_alerts_per_key`](super::Options::max_alerts_per_key))
//! keeps the first of each rule and key, in input order, and counts the
//! rest. The run's count is kept where chunks are merged, in input order,
//! so the alerts kept do not depend on the number of threads; each chunk
//! also drops what the merge would, so that its memory stays bounded.

use super::outcome::{Alert, Outcome};

/// A rule's join key: the hash table, and the key's number there times
/// the table's members plus the rule's member: a dense index per table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct KeyId {
    pub(super) join: u32,
    pub(super) slot: u32,
}

/// From this many alerts of one key in one probe, a chunk counts the key's
/// alerts: fewer cannot make a chunk large, and most keys join one record
/// or two, which are then not hashed.
const HOT: u32 = 64;

/// A chunk's (or, in one pass, a probe row's) alerts of joined pairs, each
/// with its key, in input order.
#[derive(Debug, Default)]
pub(super) struct PairAlerts {
    pub(super) alerts: Vec<Alert>,
    /// Anti-join alerts: one record each, at most one per record and rule,
    /// so not capped.
    pub(super) singles: Vec<Alert>,
    keys: Vec<KeyId>,
    /// Alerts kept of keys that made [`HOT`] or more in one probe (counted
    /// from there: a chunk drops only what the merge would drop too).
    hot: hashbrown::HashMap<KeyId, u32>,
    dropped: u64,
    capped: hashbrown::HashSet<KeyId>,
}

impl PairAlerts {
    /// Whether the `made`-th alert of one probe, of `key`, may be kept
    /// under `cap` (if not, it is counted as dropped).
    pub(super) fn room(&mut self, key: KeyId, made: u32, cap: u32) -> bool {
        if made < HOT {
            return true;
        }
        let n = self.hot.entry(key).or_insert(0);
        if *n >= cap {
            self.dropped += 1;
            self.capped.insert(key);
            return false;
        }
        *n += 1;
        true
    }

    pub(super) fn push(&mut self, key: KeyId, alert: Alert) {
        self.keys.push(key);
        self.alerts.push(alert);
    }
}

/// The run's alerts of joined pairs, capped per rule and key.
#[derive(Default)]
pub(super) struct Capped {
    alerts: Vec<Alert>,
    /// Per hash table, the alerts kept per [`KeyId::slot`].
    counts: Vec<Vec<u32>>,
    cap: u32,
    dropped: u64,
    capped: hashbrown::HashSet<KeyId>,
}

impl Capped {
    pub(super) fn new(cap: u32) -> Capped {
        Capped { cap, ..Capped::default() }
    }

    /// Makes room to count hash table `join`'s `slots` ([`Join::key_slots`](super::join::Join::key_slots)).
    pub(super) fn size(&mut self, join: usize, slots: usize) {
        if self.counts.len() <= join {
            self.counts.resize_with(join + 1, Vec::new);
        }
        self.counts[join] = vec![0; slots];
    }

    /// Adds a chunk's alerts, which follow those added before in input order.
    pub(super) fn absorb(&mut self, chunk: PairAlerts) {
        self.alerts.extend(chunk.singles);
        self.dropped += chunk.dropped;
        self.capped.extend(chunk.capped);
        for (key, alert) in chunk.keys.into_iter().zip(chunk.alerts) {
            let n = &mut self.counts[key.join as usize][key.slot as usize];
            if *n >= self.cap {
                self.dropped += 1;
                self.capped.insert(key);
            } else {
                *n += 1;
                self.alerts.push(alert);
            }
        }
    }

    /// Adds the alerts kept to `out`, and the count of those dropped.
    pub(super) fn finish(self, out: &mut Outcome) {
        out.stats.capped_keys = self.capped.len() as u64;
        out.stats.capped_alerts = self.dropped;
        out.alerts.extend(self.alerts);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::alert::Values;
    use crate::engine::outcome::{Evidence, Pos};

    fn alert(line: u32) -> Alert {
        Alert {
            rule: 0,
            evidence: Evidence::one(Pos { file: 0, line }),
            fields: Values::from_json_texts(&["1"]),
            time: i64::MIN,
            members: None,
        }
    }

    fn lines(alerts: &[Alert]) -> Vec<u32> {
        alerts.iter().map(|a| a.evidence[0].line).collect()
    }

    /// The merge keeps the first `cap` alerts of each key in the order
    /// chunks arrive, and counts the rest and the keys they belong to.
    #[test]
    fn the_first_alerts_of_a_key_in_input_order_are_kept() {
        let (a, b) = (KeyId { join: 0, slot: 4 }, KeyId { join: 1, slot: 0 });
        let chunk = |alerts: &[(KeyId, u32)]| {
            let mut c = PairAlerts::default();
            for &(key, line) in alerts {
                assert!(c.room(key, 1, 3), "one alert of a probe is never counted in a chunk");
                c.push(key, alert(line));
            }
            c
        };
        let mut run = Capped::new(3);
        run.size(0, 8);
        run.size(1, 1);
        run.absorb(chunk(&[(a, 1), (b, 2), (a, 3)]));
        run.absorb(chunk(&[(a, 4), (a, 5), (b, 6), (a, 7)]));
        let mut out = Outcome::default();
        run.finish(&mut out);
        assert_eq!(lines(&out.alerts), [1, 2, 3, 4, 6]);
        assert_eq!((out.stats.capped_alerts, out.stats.capped_keys), (2, 1));
    }

    /// A chunk counts a key from the probe that made [`HOT`] alerts of it,
    /// and drops past the cap only what the merge would drop too.
    #[test]
    fn a_chunk_drops_only_past_the_cap_of_a_hot_key() {
        let key = KeyId { join: 0, slot: 0 };
        let mut c = PairAlerts::default();
        let kept = (1..=HOT + 10).filter(|&made| c.room(key, made, 5)).count() as u32;
        // HOT - 1 uncounted, then 5 counted.
        assert_eq!(kept, HOT - 1 + 5);
        assert_eq!((c.dropped, c.capped.len()), (6, 1));
    }
}
