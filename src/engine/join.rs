//! Joins: build-side records hashed on their join key, and the probe of
//! one record of the other side.
//!
//! Rules that join the same probe tables on the same columns share one hash
//! table ([`groups`]), whichever build tables each reads: each entry records
//! which of them kept the row, so a streamed record computes its key and
//! looks it up once for all of them.
//! Keys are stored as bytes, inline when short (a 22-character token id),
//! so a probe compares them without following a pointer. The table is cut
//! into [`PARTS`] by bits of the keys' hash, and the parts are built in
//! parallel.

use std::hash::BuildHasher;

use rayon::prelude::*;

use super::alert::{self, One, Pair};
use super::cap::{KeyId, PairAlerts};
use super::context::Ctx;
use super::rows::{Row, RowRef};
use crate::check::{JoinKey, TKind};
use crate::eval::{self, Columns};
use crate::plan::Plan;
use crate::types::Type;
use crate::value::Value;

/// One member of a shared join: a rule and its build side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Member {
    pub(super) rule: usize,
    pub(super) build: usize,
}

/// A hash table shared by the rules of a group (at most 64).
pub(super) struct Join {
    members: Vec<Member>,
    as_real: Vec<bool>,
    hasher: foldhash::fast::RandomState,
    /// The keys, by [`part_of`] their hash.
    parts: Vec<Part>,
    /// The entries inserted: key numbers ([`Slot::id`]) are below it.
    entries: usize,
    /// The member bits of anti-join rules (`kind: leftanti`): a probe record
    /// that joins none of their build rows is their alert.
    anti: u64,
}

/// One part of a [`Join`]'s table: its keys and their entries.
#[derive(Default)]
struct Part {
    rows: hashbrown::HashTable<(KeyBytes, Slot)>,
    /// The entries after a key's first, each with the index + 1 of the next
    /// of its key (0: none).
    more: Vec<(Entry, u32)>,
}

/// How many parts a table is built in. The probe pass waits for the table,
/// and inserting the benchmark's 321,105 sign-ins into one took most of
/// the 64 ms its build took, on one core, each insert a cache miss in a
/// table of 18 MB. A part of 1/64 of it fits in the L2 cache, and parts are
/// built on every core: the build takes 42 ms (`bench/RESULTS.md`).
const PARTS: usize = 64;

/// A key's hash, the same whether it is stored, looked up or rehashed.
fn key_hash(hasher: &foldhash::fast::RandomState, key: &[u8]) -> u64 {
    hasher.hash_one(key)
}

/// The part of a key's hash: bits 40 to 45, which a part's own table does
/// not use (it indexes with the low bits, and tags with the top 7).
fn part_of(hash: u64) -> usize {
    (hash >> 40) as usize % PARTS
}

/// A build row, and which members (bit `i`: `members[i]`) kept it.
#[derive(Clone, Copy)]
struct Entry {
    row: RowRef,
    members: u64,
}

/// A key's entries: the first in the table itself (most keys have one, and
/// a probe then follows no pointer to reach it), the rest chained in `more`.
struct Slot {
    first: Entry,
    /// The key's number in this table: the position of its first entry
    /// among those inserted (alerts are capped per rule and key:
    /// [`super::cap`]).
    id: u32,
    /// Index + 1 into [`Part::more`] of the key's second entry; 0: none.
    more: u32,
}

/// Groups the correlation rules that can share a hash table: the same probe
/// tables, and join keys that are the same columns on each side. Their build
/// tables may differ (one rule's sign-ins of both kinds, another's of one):
/// an entry only carries the bits of the members whose build side kept its
/// row. `rules` holds (rule, build side) pairs.
pub(super) fn groups(plan: &Plan, rules: &[Member]) -> Vec<Vec<Member>> {
    let mut groups: Vec<(Option<Signature>, Vec<Member>)> = Vec::new();
    for &m in rules {
        let sig = signature(plan, m);
        match groups.iter_mut().find(|(s, members)| sig.is_some() && *s == sig && members.len() < 64) {
            Some((_, members)) => members.push(m),
            None => groups.push((sig, vec![m])),
        }
    }
    groups.into_iter().map(|(_, members)| members).collect()
}

/// What makes two rules' hash tables the same: the probe side's tables, and
/// per side and key its column (id and path) and whether it compares as real.
type Signature = (Vec<usize>, [Keys; 2]);
type Keys = Vec<(u32, Vec<String>, bool)>;

fn signature(plan: &Plan, m: Member) -> Option<Signature> {
    let rule = &plan.rules[m.rule];
    let mut probe_tables = plan.sources[m.rule][1 - m.build].clone();
    probe_tables.sort_unstable();
    let side = |s: usize| -> Option<Keys> {
        let keys = rule
            .join
            .iter()
            .map(|k| {
                let e = if s == 0 { &k.left } else { &k.right };
                match &e.kind {
                    TKind::Column(c) => Some((c.id, c.path.clone(), real(k))),
                    _ => None,
                }
            })
            .collect::<Option<Vec<_>>>()?;
        Some(keys)
    };
    Some((probe_tables, [side(m.build)?, side(1 - m.build)?]))
}

fn real(k: &JoinKey) -> bool {
    k.left.ty == Type::Real || k.right.ty == Type::Real
}

/// Hashes a group's build sides. `passing(member)` lists the kept rows
/// whose build filter holds for that member, in input order.
pub(super) fn build_join<'p>(
    plan: &Plan,
    members: Vec<Member>,
    rows: &[Vec<Row<'static>>],
    passing: impl Fn(Member) -> &'p [RowRef],
    now: i64,
) -> Join {
    let first = members[0];
    let keys = &plan.rules[first.rule].join;
    let as_real: Vec<bool> = keys.iter().map(real).collect();
    // Each row once, with the members that kept it: a word of member bits
    // per kept row of the tables the members read (8 bytes a row; sorting
    // the members' lists together took about 50 ms of one core for the 6
    // joins of the 20-rule benchmark).
    let mut bits: Vec<Vec<u64>> = rows.iter().map(|_| Vec::new()).collect();
    for (i, &m) in members.iter().enumerate() {
        for r in passing(m) {
            let table = &mut bits[r.table as usize];
            if table.is_empty() {
                table.resize(rows[r.table as usize].len(), 0);
            }
            table[r.index as usize] |= 1 << i;
        }
    }
    let kept: Vec<Entry> = bits
        .iter()
        .enumerate()
        .flat_map(|(t, bits)| {
            let row = move |index: usize| RowRef { table: t as u32, index: index as u32 };
            bits.iter().enumerate().filter(|(_, m)| **m != 0).map(move |(i, &m)| Entry { row: row(i), members: m })
        })
        .collect();
    // Keys are computed in parallel, then inserted in order (table, then
    // input order within it). Alerts are sorted by evidence at the end, so
    // this order does not show in the output.
    let encoded: Vec<Option<KeyBytes>> = kept
        .par_iter()
        .map(|e| {
            let row = &rows[e.row.table as usize][e.row.index as usize];
            let one = One { row, table: &plan.tables[e.row.table as usize] };
            let mut buf = KeyBuf::default();
            encode(keys, first.build, &as_real, &one, now, &mut buf).then(|| KeyBytes::new(buf.bytes()))
        })
        .collect();
    let keyed = encoded.into_iter().zip(kept).filter_map(|(k, e)| Some((k?, e)));
    let anti =
        members.iter().enumerate().filter(|(_, m)| plan.rules[m.rule].anti).fold(0, |bits, (i, _)| bits | 1 << i);
    let mut join = Join::new(members, as_real, keyed);
    join.anti = anti;
    join
}

impl Join {
    /// How many numbers its keys and members take in a count per rule and
    /// key ([`KeyId::slot`]).
    pub(super) fn key_slots(&self) -> usize {
        self.entries * self.members.len()
    }

    /// The member bit of `rule` in this group.
    pub(super) fn bit(&self, rule: usize) -> Option<u64> {
        self.members.iter().position(|m| m.rule == rule).map(|i| 1 << i)
    }

    /// A table of `keyed` entries, inserted in their order: they are dealt
    /// to their parts in order, then the parts are built in parallel.
    fn new(members: Vec<Member>, as_real: Vec<bool>, keyed: impl Iterator<Item = (KeyBytes, Entry)>) -> Join {
        let hasher = foldhash::fast::RandomState::default();
        // A part's share, and some: the vectors do not double past it.
        let share = keyed.size_hint().1.unwrap_or(0) / PARTS * 9 / 8 + 16;
        let mut dealt: Vec<Vec<(u64, KeyBytes, Entry, u32)>> = (0..PARTS).map(|_| Vec::with_capacity(share)).collect();
        let mut entries = 0;
        for (i, (key, e)) in keyed.enumerate() {
            let hash = key_hash(&hasher, key.as_slice());
            dealt[part_of(hash)].push((hash, key, e, i as u32));
            entries = i + 1;
        }
        let parts = dealt.into_par_iter().map(|keyed| Part::new(keyed, &hasher)).collect();
        Join { members, as_real, hasher, parts, entries, anti: 0 }
    }

    /// The entries of `key`: the first inserted, then the others, latest
    /// first (alerts are sorted at the end).
    #[cfg(test)]
    fn entries(&self, key: &[u8]) -> impl Iterator<Item = Entry> + '_ {
        self.key_entries(key).1
    }

    /// The number of `key` in this table ([`Slot::id`]; `u32::MAX` when
    /// absent), and its entries as [`Join::entries`] lists them.
    fn key_entries(&self, key: &[u8]) -> (u32, impl Iterator<Item = Entry> + '_) {
        let hash = key_hash(&self.hasher, key);
        let part = &self.parts[part_of(hash)];
        // A short key is compared as the stored one is, padded to its fixed
        // size: one vector compare rather than a call to `memcmp`.
        let found = if key.len() <= INLINE {
            let key = KeyBytes::new(key);
            part.rows.find(hash, |(k, _)| *k == key)
        } else {
            part.rows.find(hash, |(k, _)| k.as_slice() == key)
        };
        let slot = found.map(|(_, slot)| slot);
        let mut next = slot.map_or(0, |s| s.more);
        let entries = slot.map(|s| s.first).into_iter().chain(std::iter::from_fn(move || {
            let (e, after) = *part.more.get(next.checked_sub(1)? as usize)?;
            next = after;
            Some(e)
        }));
        (slot.map_or(u32::MAX, |s| s.id), entries)
    }
}

impl Part {
    /// A part holding `keyed` (each key with its hash), inserted in order.
    fn new(keyed: Vec<(u64, KeyBytes, Entry, u32)>, hasher: &foldhash::fast::RandomState) -> Part {
        let rehash = |(k, _): &(KeyBytes, Slot)| key_hash(hasher, k.as_slice());
        let mut part = Part::default();
        part.rows.reserve(keyed.len(), rehash);
        for (hash, key, e, id) in keyed {
            match part.rows.entry(hash, |(k, _)| *k == key, rehash) {
                hashbrown::hash_table::Entry::Vacant(v) => {
                    v.insert((key, Slot { first: e, id, more: 0 }));
                }
                hashbrown::hash_table::Entry::Occupied(mut o) => {
                    let slot = &mut o.get_mut().1;
                    part.more.push((e, slot.more));
                    slot.more = part.more.len() as u32;
                }
            }
        }
        part
    }
}

impl Join {
    /// Probes this hash table, number `index` of the run's, with `record`,
    /// of the other side, for the members in `wanted` (bits, as
    /// [`Join::bit`]): an alert for every matching build row (in
    /// `cx.built`) whose pair passes that member's mismatch.
    pub(super) fn probe(&self, cx: &Ctx, index: usize, wanted: u64, record: &One, out: &mut PairAlerts) {
        let (plan, now) = (cx.plan, cx.now);
        let first = self.members[0];
        let mut buf = KeyBuf::default();
        // Anti-join members this record is a candidate of: their alert
        // unless a build row joins it (a missing key joins nothing).
        let mut unmatched = wanted & self.anti;
        if encode(&plan.rules[first.rule].join, 1 - first.build, &self.as_real, record, now, &mut buf) {
            self.pairs(cx, index, wanted, record, buf.bytes(), &mut unmatched, out);
        }
        while unmatched != 0 {
            let member = unmatched.trailing_zeros();
            unmatched &= unmatched - 1;
            let r = self.members[member as usize].rule;
            out.singles.push(alert::single(r, &plan.rules[r], record, now));
        }
    }

    /// The alerts of `record`'s joined pairs under `key`; clears the bits of
    /// the anti-join members it joins in `unmatched`.
    #[allow(clippy::too_many_arguments)]
    fn pairs(
        &self,
        cx: &Ctx,
        index: usize,
        wanted: u64,
        record: &One,
        key: &[u8],
        unmatched: &mut u64,
        out: &mut PairAlerts,
    ) {
        let (plan, now) = (cx.plan, cx.now);
        let (row, table) = (record.row, record.table);
        let (id, entries) = self.key_entries(key);
        let members_len = self.members.len() as u32;
        let mut made = 0;
        for e in entries {
            let mut members = e.members & wanted;
            while members != 0 {
                let member = members.trailing_zeros();
                let Member { rule: r, build } = self.members[member as usize];
                members &= members - 1;
                let (brow, btable) = (cx.built.row(e.row), &plan.tables[e.row.table as usize]);
                let pair = if build == 0 {
                    Pair { rows: [brow, row], tables: [btable, table] }
                } else {
                    Pair { rows: [row, brow], tables: [table, btable] }
                };
                if let Some(m) = &cx.preds.mismatch[r]
                    && !m.holds(&pair, now)
                {
                    continue;
                }
                if self.anti >> member & 1 == 1 {
                    *unmatched &= !(1 << member);
                    continue;
                }
                let key = KeyId { join: index as u32, slot: id * members_len + member };
                made += 1;
                if out.room(key, made, cx.options.max_alerts_per_key) {
                    out.push(key, alert::joined(r, &plan.rules[r], &pair, now));
                }
            }
        }
    }
}

/// A key's encoding: per part a tag, then its bytes (a string's length
/// first). Records with a missing or empty part never join: `false`.
fn encode<C: Columns>(keys: &[JoinKey], side: usize, as_real: &[bool], cx: &C, now: i64, out: &mut KeyBuf) -> bool {
    for (k, &real) in keys.iter().zip(as_real) {
        let e = if side == 0 { &k.left } else { &k.right };
        match eval::eval(e, cx, now).undynamic() {
            Value::Null => return false,
            Value::Str(s) if s.is_empty() => return false,
            Value::Str(s) => out.text(1, &s),
            Value::Long(n) if real => out.word(3, (n as f64).to_bits()),
            Value::Long(n) | Value::DateTime(n) | Value::Timespan(n) => out.word(2, n as u64),
            Value::Real(f) => out.word(3, if f == 0.0 { 0 } else { f.to_bits() }),
            Value::Bool(b) => out.word(4, b as u64),
            other => out.text(5, &other.to_json().to_string()),
        }
    }
    true
}

/// Key bytes being encoded: on the stack unless long.
struct KeyBuf {
    len: usize,
    inline: [u8; 64],
    spill: Vec<u8>,
}

impl Default for KeyBuf {
    fn default() -> KeyBuf {
        KeyBuf { len: 0, inline: [0; 64], spill: Vec::new() }
    }
}

impl KeyBuf {
    fn push(&mut self, b: &[u8]) {
        if self.spill.is_empty() && self.len + b.len() <= self.inline.len() {
            self.inline[self.len..self.len + b.len()].copy_from_slice(b);
            self.len += b.len();
        } else {
            if self.spill.is_empty() {
                self.spill.extend_from_slice(&self.inline[..self.len]);
            }
            self.spill.extend_from_slice(b);
        }
    }

    fn text(&mut self, tag: u8, s: &str) {
        self.push(&[tag]);
        self.push(&(s.len() as u32).to_le_bytes());
        self.push(s.as_bytes());
    }

    fn word(&mut self, tag: u8, w: u64) {
        self.push(&[tag]);
        self.push(&w.to_le_bytes());
    }

    fn bytes(&self) -> &[u8] {
        if self.spill.is_empty() { &self.inline[..self.len] } else { &self.spill }
    }
}

/// A stored key: inline up to 31 bytes (one string part of up to 26).
#[derive(Debug, PartialEq, Eq)]
enum KeyBytes {
    Inline { len: u8, bytes: [u8; INLINE] },
    Heap(Box<[u8]>),
}

/// The longest key stored inline.
const INLINE: usize = 31;

impl KeyBytes {
    fn new(b: &[u8]) -> KeyBytes {
        if b.len() <= INLINE {
            let mut bytes = [0; INLINE];
            bytes[..b.len()].copy_from_slice(b);
            KeyBytes::Inline { len: b.len() as u8, bytes }
        } else {
            KeyBytes::Heap(b.into())
        }
    }

    fn as_slice(&self) -> &[u8] {
        match self {
            KeyBytes::Inline { len, bytes } => &bytes[..*len as usize],
            KeyBytes::Heap(b) => b,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shipped T1528 rule with its sign-in sources and join replaced.
    fn variant(i: usize, signins: &str, join: &str) -> std::sync::Arc<crate::span::SourceFile> {
        variant_of(i, signins, join, false)
    }

    /// Also with the sources declared the other way round when `swap`.
    fn variant_of(i: usize, signins: &str, join: &str, swap: bool) -> std::sync::Arc<crate::span::SourceFile> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/rules/entra/service_principal_token_ip_mismatch.yml");
        let text = std::fs::read_to_string(path)
            .unwrap()
            .replace("0428e609-07b8-42bf-a36b-d74e4e2be504", &format!("00000000-0000-4000-8000-{i:012}"))
            .replace(
                "signin: [AADServicePrincipalSignInLogs, AADManagedIdentitySignInLogs]",
                &format!("signin: {signins}"),
            )
            .replace("join: activity.SignInActivityId == signin.UniqueTokenIdentifier", &format!("join: {join}"));
        let (activity, signin) = ("    activity: MicrosoftGraphActivityLogs\n", format!("    signin: {signins}\n"));
        let text =
            if swap { text.replace(&format!("{activity}{signin}"), &format!("{signin}{activity}")) } else { text };
        assert_eq!(text.find("    activity:") > text.find("    signin:"), swap);
        crate::span::SourceFile::new(format!("r{i}.yml"), text)
    }

    #[test]
    fn rules_share_a_hash_table_whatever_build_tables_they_read() {
        let both = "[AADServicePrincipalSignInLogs, AADManagedIdentitySignInLogs]";
        let token = "activity.SignInActivityId == signin.UniqueTokenIdentifier";
        let files = [
            variant(0, both, token),
            variant(1, "AADServicePrincipalSignInLogs", token),
            variant(2, "AADManagedIdentitySignInLogs", token),
            variant(3, both, "activity.ServicePrincipalId == signin.ServicePrincipalId"),
            variant(4, "AADServicePrincipalSignInLogs", "signin.UniqueTokenIdentifier == activity.SignInActivityId"),
            variant_of(5, "AADManagedIdentitySignInLogs", token, true),
        ];
        let plan = crate::plan::plan_of(&files);
        // The sign-ins are the build side: source 1, or 0 where the sources are swapped.
        let members: Vec<Member> = (0..6).map(|rule| Member { rule, build: usize::from(rule != 5) }).collect();
        let rules_of = |groups: Vec<Vec<Member>>| -> Vec<Vec<usize>> {
            groups.into_iter().map(|g| g.into_iter().map(|m| m.rule).collect()).collect()
        };
        // The key written the other way round (rule 4) is the same key.
        assert_eq!(rules_of(groups(&plan, &members)), [vec![0, 1, 2, 4, 5], vec![3]]);
    }

    #[test]
    fn a_key_finds_every_entry_inserted_under_it() {
        let entry = |index: u32| Entry { row: RowRef { table: 0, index }, members: 1 << index };
        // Keys of the longest inline length and longer, stored on the heap.
        let (k31, k32, k33) = ("k".repeat(31), "k".repeat(32), format!("{}x", "k".repeat(32)));
        let keys = [("a", 0), ("b", 1), ("a", 2), ("a", 3), ("c", 4), (&k31, 5), (&k32, 6), (&k33, 7), (&k32, 8)];
        let keyed = keys.iter().map(|&(key, index)| (KeyBytes::new(key.as_bytes()), entry(index)));
        let join = Join::new(Vec::new(), Vec::new(), keyed);
        let found = |key: &str| {
            let mut rows: Vec<(u32, u64)> = join.entries(key.as_bytes()).map(|e| (e.row.index, e.members)).collect();
            rows.sort_unstable();
            rows
        };
        assert_eq!(found("a"), [(0, 1), (2, 4), (3, 8)]);
        assert_eq!(found("b"), [(1, 2)]);
        assert_eq!(found("c"), [(4, 16)]);
        assert_eq!(found("d"), []);
        assert_eq!(found(&k31), [(5, 32)]);
        assert_eq!(found(&k32), [(6, 64), (8, 256)]);
        assert_eq!(found(&k33), [(7, 128)]);
        assert_eq!(found(&"k".repeat(30)), []);
        // The first entry of a key is its first inserted.
        assert_eq!(join.entries(b"a").next().map(|e| e.row.index), Some(0));
    }

    /// Over every part: each key finds its own entries, its first inserted
    /// first and the rest latest first, and no other key's.
    #[test]
    fn keys_in_every_part_find_their_entries_in_order() {
        let entry = |index: u32| Entry { row: RowRef { table: 1, index }, members: 1 };
        // Key `i` has `i % 3 + 1` entries, inserted interleaved with other keys'.
        let mut keyed = Vec::new();
        for round in 0..3u32 {
            for i in (0..5000u32).filter(|i| i % 3 >= round) {
                keyed.push((format!("token-{i}"), round * 5000 + i));
            }
        }
        let join =
            Join::new(Vec::new(), Vec::new(), keyed.iter().map(|(k, n)| (KeyBytes::new(k.as_bytes()), entry(*n))));
        assert!(join.parts.iter().all(|p| !p.rows.is_empty()), "5,000 keys reach every part");
        for i in 0..5000u32 {
            let found: Vec<u32> = join.entries(format!("token-{i}").as_bytes()).map(|e| e.row.index).collect();
            let mut want: Vec<u32> = (0..=i % 3).map(|round| round * 5000 + i).collect();
            want[1..].reverse();
            assert_eq!(found, want, "token-{i}");
        }
        assert_eq!(join.entries(b"token-5000").count(), 0);
    }

    #[test]
    fn keys_encode_each_part_unambiguously() {
        let enc = |parts: &[(u8, &str)]| {
            let mut b = KeyBuf::default();
            parts.iter().for_each(|(tag, s)| b.text(*tag, s));
            b.bytes().to_vec()
        };
        // Two parts never read as one: lengths come first.
        assert_ne!(enc(&[(1, "ab"), (1, "c")]), enc(&[(1, "a"), (1, "bc")]));
        assert_ne!(enc(&[(1, "1")]), {
            let mut b = KeyBuf::default();
            b.word(2, 1);
            b.bytes().to_vec()
        });
        // Long keys spill to the heap and keep every byte.
        let long = "x".repeat(100);
        let bytes = enc(&[(1, "ab"), (1, &long)]);
        assert_eq!(bytes.len(), 2 * 5 + 2 + 100);
        assert!(bytes.ends_with(long.as_bytes()));
        // Stored keys keep their bytes, inline or not.
        for b in [&bytes[..], &bytes[..20], &[][..]] {
            assert_eq!(KeyBytes::new(b).as_slice(), b);
        }
    }
}
