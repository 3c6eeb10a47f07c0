//! Kusto's string operators (`contains`, `startswith`, `endswith`, `has`,
//! `has_any`, `=~`): over two texts known only when a record is read
//! ([`str_test`], [`has_term`]), or against a constant compiled once per run
//! ([`Needle`]), which is what filters test millions of times.
//!
//! Case-insensitive operators compare ASCII text in place and lowercase
//! other text first (Kusto folds Unicode case: `"\u{212A}"`, the Kelvin sign,
//! contains `"k"`). Both paths give the same answers; tests check them
//! against each other and against a walk over every offset.

use aho_corasick::AhoCorasick;
use memchr::memmem;

use crate::ast::StrOp;

/// How a string operator compares: exactly, or ignoring ASCII case (both
/// sides ASCII: no lowercased copies).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Case {
    Sensitive,
    AsciiInsensitive,
}

/// A string operator (`contains`, `startswith`, `endswith`, `has`): ASCII
/// text compared in place, other text lowercased when case does not matter.
pub fn str_test(op: StrOp, hay: &str, needle: &str, case_sensitive: bool) -> bool {
    if case_sensitive {
        str_op(op, hay, needle, Case::Sensitive)
    } else if hay.is_ascii() && needle.is_ascii() {
        str_op(op, hay, needle, Case::AsciiInsensitive)
    } else {
        str_op(op, &hay.to_lowercase(), &needle.to_lowercase(), Case::Sensitive)
    }
}

fn str_op(op: StrOp, hay: &str, needle: &str, case: Case) -> bool {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    apply(op, hay, needle, case, |from| find(h, n, from, case))
}

/// `hay <op> needle`, with `n` (the needle's bytes, lowercased when case
/// does not matter) compared by `case`, and `find` giving the needle's
/// next occurrence at or after an offset: each path brings its own search.
fn apply(op: StrOp, hay: &str, needle: &str, case: Case, mut find: impl FnMut(usize) -> Option<usize>) -> bool {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    let same = |a: &[u8]| match case {
        Case::Sensitive => a == n,
        Case::AsciiInsensitive => a.eq_ignore_ascii_case(n),
    };
    match op {
        StrOp::Contains => find(0).is_some(),
        StrOp::StartsWith => h.get(..n.len()).is_some_and(same),
        StrOp::EndsWith => h.len() >= n.len() && same(&h[h.len() - n.len()..]),
        StrOp::Has => has_term_in(hay, needle, (true, true), find),
        StrOp::HasPrefix => has_term_in(hay, needle, (true, false), find),
        StrOp::HasSuffix => has_term_in(hay, needle, (false, true), find),
    }
}

/// The first occurrence of `n` in `h` at or after `from`.
fn find(h: &[u8], n: &[u8], from: usize, case: Case) -> Option<usize> {
    match (case, n.is_empty()) {
        (_, true) => (from <= h.len()).then_some(from),
        (Case::Sensitive, _) => memmem::find(h.get(from..)?, n).map(|i| from + i),
        (Case::AsciiInsensitive, _) => find_folded_from_rare(h, n, rarest(n), from),
    }
}

/// The first ASCII-case-insensitive occurrence of `n` (not empty) in `h` at
/// or after `from`: candidates are where its byte `n[k]` is, in either case.
fn find_folded_from_rare(h: &[u8], n: &[u8], k: usize, from: usize) -> Option<usize> {
    let h = h.get(from..)?;
    let (lo, up) = (n[k].to_ascii_lowercase(), n[k].to_ascii_uppercase());
    let rest = h.get(k..h.len().checked_sub(n.len())? + k + 1)?;
    memchr::memchr2_iter(lo, up, rest).find(|&i| h[i..i + n.len()].eq_ignore_ascii_case(n)).map(|i| from + i)
}

/// The offset of the needle's rarest byte (see [`commonness`]).
fn rarest(n: &[u8]) -> usize {
    (0..n.len()).min_by_key(|&i| commonness(n[i])).unwrap_or(0)
}

/// How common a byte is in log text (URIs, GUIDs, user agents), ignoring
/// case: 0 for the rarest. Only orders the candidates a search visits.
fn commonness(b: u8) -> u8 {
    const TABLE: [u8; 256] = {
        const BY_FREQUENCY: &[u8] = b"etaoinsr0123456789lcdhu/.-mpfgwybvk_:=?&xjqz";
        let mut table = [0u8; 256];
        let mut i = 0;
        while i < BY_FREQUENCY.len() {
            let rank = (BY_FREQUENCY.len() - i) as u8;
            table[BY_FREQUENCY[i] as usize] = rank;
            table[BY_FREQUENCY[i].to_ascii_uppercase() as usize] = rank;
            i += 1;
        }
        table
    };
    TABLE[b as usize]
}

/// Kusto's `has`: `needle` occurs in `hay` as a whole term, bounded on each
/// side by the text's end or a non-alphanumeric character.
pub fn has_term(hay: &str, needle: &str, case_sensitive: bool) -> bool {
    str_test(StrOp::Has, hay, needle, case_sensitive)
}

/// `has` (`bounded`: `(true, true)`), `hasprefix` (`(true, false)`: only the
/// start must be a term's start) or `hassuffix` (`(false, true)`), given the
/// search for the needle's next occurrence at or after an offset of `hay`
/// (each case and path brings its own).
fn has_term_in(
    hay: &str,
    needle: &str,
    (start, end): (bool, bool),
    mut find: impl FnMut(usize) -> Option<usize>,
) -> bool {
    if needle.is_empty() {
        return false;
    }
    let (first, last) = term_edges(needle);
    let edges = (first && start, last && end);
    // Every occurrence, overlapping ones included: in "xab-ab-ab" the first
    // "ab-ab" is not a whole term, the one at offset 4 is.
    let mut from = 0;
    while let Some(start) = find(from) {
        if whole_term(hay, start, start + needle.len(), edges) {
            return true;
        }
        from = start + hay[start..].chars().next().map_or(1, char::len_utf8);
    }
    false
}

/// Whether a term's first and last characters are alphanumeric: only
/// there must the text's character beside an occurrence not be.
fn term_edges(term: &str) -> (bool, bool) {
    (
        term.chars().next().is_some_and(char::is_alphanumeric),
        term.chars().next_back().is_some_and(char::is_alphanumeric),
    )
}

/// Whether the occurrence `hay[start..end]` of a term with `edges` (see
/// [`term_edges`]) is a whole term: no alphanumeric character beside it
/// where the term has one at its edge.
fn whole_term(hay: &str, start: usize, end: usize, (first, last): (bool, bool)) -> bool {
    let alnum = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
    let before = hay.get(..start).and_then(|head| head.chars().next_back());
    let after = hay.get(end..).and_then(|rest| rest.chars().next());
    (!first || !alnum(before)) && (!last || !alnum(after))
}

/// Kusto's `=~`.
pub(crate) fn eq_ignore_case(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() { a.eq_ignore_ascii_case(b) } else { a.to_lowercase() == b.to_lowercase() }
}

/// A string operator's constant operand, prepared once: the searcher for a
/// case-sensitive needle, and for a case-insensitive ASCII one its
/// lowercased bytes and the two rarest of them, which a vector search
/// compares 32 offsets at a time.
#[derive(Debug, Clone)]
pub struct Needle {
    text: String,
    search: Search,
}

#[derive(Debug, Clone)]
enum Search {
    /// Case-sensitive. Boxed: a searcher is large, and filters keep needles inline.
    Exact(Box<memmem::Finder<'static>>),
    /// Case-insensitive and ASCII (not empty).
    Folded(Folded),
    /// Case-insensitive, not ASCII or empty: the run-time path, which
    /// lowercases both texts.
    Lowercase,
}

#[derive(Debug, Clone)]
struct Folded {
    /// The needle lowercased.
    bytes: Box<[u8]>,
    /// The offsets of two of the rarest bytes (the same one for a one-byte
    /// needle), each with its byte's case bit (0x20) set.
    pair: [(usize, u8); 2],
}

impl Needle {
    pub fn new(text: &str, case_sensitive: bool) -> Needle {
        let search = if case_sensitive {
            Search::Exact(Box::new(memmem::Finder::new(text.as_bytes()).into_owned()))
        } else if text.is_ascii() && !text.is_empty() {
            let bytes: Box<[u8]> = text.to_ascii_lowercase().into_bytes().into();
            let mut order: Vec<usize> = (0..bytes.len()).collect();
            order.sort_by_key(|&i| (commonness(bytes[i]), i));
            let probe = |i: usize| (i, bytes[i] | 0x20);
            let pair = [probe(order[0]), probe(*order.get(1).unwrap_or(&order[0]))];
            Search::Folded(Folded { bytes, pair })
        } else {
            Search::Lowercase
        };
        Needle { text: text.to_string(), search }
    }

    /// `hay <op> needle`, as [`str_test`] gives it.
    #[inline]
    pub fn test(&self, op: StrOp, hay: &str) -> bool {
        self.test_known(op, hay, false)
    }

    /// [`Needle::test`], told whether `hay` is known to be ASCII: a filter
    /// over a record whose text is ASCII (most logs) skips the check, which
    /// otherwise reads the whole text before each case-insensitive search.
    /// `false` means not known: the text is then checked.
    #[inline]
    pub fn test_known(&self, op: StrOp, hay: &str, ascii: bool) -> bool {
        let h = hay.as_bytes();
        match &self.search {
            Search::Exact(finder) => {
                apply(op, hay, &self.text, Case::Sensitive, |from| Some(from + finder.find(h.get(from..)?)?))
            }
            Search::Folded(f) if ascii || hay.is_ascii() => {
                apply(op, hay, &self.text, Case::AsciiInsensitive, |from| f.find(h, from))
            }
            _ => str_test(op, hay, &self.text, false),
        }
    }

    /// The needle's text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether it was prepared for case-sensitive searches.
    pub fn is_case_sensitive(&self) -> bool {
        matches!(self.search, Search::Exact(_))
    }

    #[cfg(test)]
    fn folded(&self) -> Option<&Folded> {
        match &self.search {
            Search::Folded(f) => Some(f),
            _ => None,
        }
    }
}

/// Several case-insensitive `contains` needles on one text, or'ed (a Sigma
/// value list: `CommandLine|contains: [a, b, c]`), prepared once: for two or
/// more ASCII needles, one automaton (Aho-Corasick, ASCII case folded) finds
/// whether any occurs in one pass over ASCII text; otherwise, and for text
/// that is not ASCII, one search per needle.
#[derive(Debug)]
pub struct AnyContains {
    needles: Vec<Needle>,
    automaton: Option<AhoCorasick>,
}

impl AnyContains {
    pub fn new(texts: &[String]) -> AnyContains {
        let needles = texts.iter().map(|t| Needle::new(t, false)).collect();
        let automaton = (texts.len() >= 2 && texts.iter().all(|t| t.is_ascii() && !t.is_empty()))
            .then(|| AhoCorasick::builder().ascii_case_insensitive(true).build(texts).ok())
            .flatten();
        AnyContains { needles, automaton }
    }

    pub fn len(&self) -> usize {
        self.needles.len()
    }

    pub fn is_empty(&self) -> bool {
        self.needles.is_empty()
    }

    /// Whether one automaton searches for all the needles.
    pub fn in_one_pass(&self) -> bool {
        self.automaton.is_some()
    }

    /// Some needle occurs in `hay`, ignoring case; `ascii`: `hay` is known
    /// to be ASCII (`false`: not known).
    pub fn any_in(&self, hay: &str, ascii: bool) -> bool {
        let ascii = ascii || hay.is_ascii();
        match &self.automaton {
            Some(a) if ascii => a.is_match(hay),
            _ => self.needles.iter().any(|n| n.test_known(StrOp::Contains, hay, ascii)),
        }
    }
}

/// `has_any`'s constant terms, prepared once: a needle per term, and, for
/// two or more ASCII terms, one automaton (Aho-Corasick, ASCII case folded)
/// that finds every occurrence of all of them in one pass over ASCII text,
/// instead of one search per term. Rules list tens of terms (tool names,
/// user agents, IOCs); the 20-rule benchmark tests four on every Graph
/// record's user agent.
#[derive(Debug)]
pub struct Terms {
    needles: Vec<Needle>,
    all: Option<AllTerms>,
}

#[derive(Debug)]
struct AllTerms {
    automaton: AhoCorasick,
    /// Per pattern, its [`term_edges`].
    edges: Vec<(bool, bool)>,
}

impl Terms {
    pub fn new(terms: &[String]) -> Terms {
        let needles = terms.iter().map(|t| Needle::new(t, false)).collect();
        // An empty term is never a whole term: it is left out.
        let patterns: Vec<&str> = terms.iter().map(String::as_str).filter(|t| !t.is_empty()).collect();
        let all = (patterns.len() >= 2 && patterns.iter().all(|t| t.is_ascii()))
            .then(|| {
                // The crate picks the automaton: a DFA for a few terms, a
                // smaller one for long lists (thousands of IOCs).
                let automaton = AhoCorasick::builder().ascii_case_insensitive(true).build(&patterns).ok()?;
                let edges = patterns.iter().map(|t| term_edges(t)).collect();
                Some(AllTerms { automaton, edges })
            })
            .flatten();
        Terms { needles, all }
    }

    pub fn len(&self) -> usize {
        self.needles.len()
    }

    pub fn is_empty(&self) -> bool {
        self.needles.is_empty()
    }

    /// Whether one automaton finds all the terms (else one search each).
    pub fn in_one_pass(&self) -> bool {
        self.all.is_some()
    }

    /// Kusto's `has_any`: some term occurs in `hay` as a whole term (see
    /// [`has_term`]); `ascii`: `hay` is known to be ASCII (`false`: not known).
    pub fn any_in(&self, hay: &str, ascii: bool) -> bool {
        let ascii = ascii || hay.is_ascii();
        match &self.all {
            Some(all) if ascii => all.any_in(hay),
            _ => self.needles.iter().any(|n| n.test_known(StrOp::Has, hay, ascii)),
        }
    }
}

impl AllTerms {
    /// Some occurrence (overlapping ones too, as [`has_term`] tries them)
    /// is a whole term of `hay`, which is ASCII.
    fn any_in(&self, hay: &str) -> bool {
        self.automaton
            .find_overlapping_iter(hay)
            .any(|m| whole_term(hay, m.start(), m.end(), self.edges[m.pattern().as_usize()]))
    }
}

impl Folded {
    /// The first case-insensitive occurrence at or after `from` (`h` ASCII).
    #[inline]
    fn find(&self, h: &[u8], from: usize) -> Option<usize> {
        let rest = h.get(from..)?;
        #[cfg(target_arch = "x86_64")]
        if rest.len() >= self.bytes.len() + 31 && std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, and `rest` holds 31 bytes more than the needle.
            return unsafe { self.find_avx2(rest) }.map(|i| from + i);
        }
        find_folded_from_rare(h, &self.bytes, self.pair[0].0, from)
    }

    /// Compares the needle's two chosen bytes at 32 offsets at once, with
    /// the case bit (0x20) set on both sides, and checks each offset where
    /// both agree. Setting that bit maps a byte's two cases together (and a
    /// few other pairs, such as `@` and `` ` ``, which the check rejects), so
    /// no occurrence is missed. Needs `h.len() >= needle.len() + 31`.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn find_avx2(&self, h: &[u8]) -> Option<usize> {
        use std::arch::x86_64::*;
        let n = &self.bytes[..];
        // Where the last window of 32 offsets starts: the needle fits at its last offset.
        let last_window = h.len() - n.len() - 31;
        let [(i1, b1), (i2, b2)] = self.pair;
        let (b1, b2, case) = (_mm256_set1_epi8(b1 as i8), _mm256_set1_epi8(b2 as i8), _mm256_set1_epi8(0x20));
        let mut at = 0;
        loop {
            let at_now = at.min(last_window);
            // SAFETY: at_now + i + 32 <= last_window + n.len() - 1 + 32 = h.len(), for i < n.len().
            let (x1, x2) = unsafe {
                (
                    _mm256_loadu_si256(h.as_ptr().add(at_now + i1).cast()),
                    _mm256_loadu_si256(h.as_ptr().add(at_now + i2).cast()),
                )
            };
            let hit = _mm256_and_si256(
                _mm256_cmpeq_epi8(_mm256_or_si256(x1, case), b1),
                _mm256_cmpeq_epi8(_mm256_or_si256(x2, case), b2),
            );
            let mut bits = _mm256_movemask_epi8(hit) as u32;
            while bits != 0 {
                let i = at_now + bits.trailing_zeros() as usize;
                if h[i..i + n.len()].eq_ignore_ascii_case(n) {
                    return Some(i);
                }
                bits &= bits - 1;
            }
            if at_now == last_window {
                return None;
            }
            at += 32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every occurrence by a walk over every offset, the reference.
    fn naive(h: &[u8], n: &[u8], from: usize) -> Option<usize> {
        (from..=h.len()).find(|&i| h.len() - i >= n.len() && h[i..i + n.len()].eq_ignore_ascii_case(n))
    }

    proptest::proptest! {
        /// The search from the rarest byte finds the first occurrence, as
        /// a walk over every offset does.
        #[test]
        fn case_insensitive_find_is_the_first_occurrence(
            h in "[aAbB$/e]{0,24}", n in "[aAbB$/e]{1,5}", from in 0usize..26
        ) {
            let (h, n) = (h.as_bytes(), n.as_bytes());
            proptest::prop_assert_eq!(find(h, n, from, Case::AsciiInsensitive), naive(h, n, from));
        }

        /// The compiled needle's search (the vector one on long texts) finds
        /// the first occurrence too: texts up to 100 bytes cross the 32-byte
        /// windows and the overlapping last one; the alphabet has letters of
        /// both cases and bytes whose case bit means nothing (`@` and `` ` ``,
        /// `[` and `{`).
        #[test]
        fn compiled_find_is_the_first_occurrence(
            h in "[aAbB@`\\[{/0]{0,100}", n in "[aAbB@`\\[{/0]{1,6}", from in 0usize..102
        ) {
            let needle = Needle::new(&n, false);
            let f = needle.folded().expect("an ASCII needle is folded");
            proptest::prop_assert_eq!(f.find(h.as_bytes(), from), naive(h.as_bytes(), n.as_bytes(), from));
        }

        /// Every operator, both cases: the compiled needle answers as the
        /// dynamic test does, non-ASCII text included.
        #[test]
        fn compiled_operators_agree_with_the_dynamic_ones(
            h in "[aAbK\u{212a}k -]{0,70}", n in "[aAbKk\u{212a} -]{0,4}", cs in proptest::bool::ANY
        ) {
            let needle = Needle::new(&n, cs);
            for op in [StrOp::Contains, StrOp::StartsWith, StrOp::EndsWith, StrOp::Has] {
                proptest::prop_assert_eq!(needle.test(op, &h), str_test(op, &h, &n, cs), "{:?}", op);
            }
        }
    }

    proptest::proptest! {
        /// `has_any` in one pass answers as a `has` per term does: terms and
        /// texts over letters of both cases, digits and separators, so terms
        /// overlap, repeat, share prefixes and meet the text's ends; an empty
        /// term; and non-ASCII text (`K`, the Kelvin sign, folds to `k`),
        /// which takes the per-term path.
        #[test]
        fn has_any_in_one_pass_agrees_with_has_per_term(
            h in "[aAbBk1 ./-]{0,40}|[aAbk1 -]{0,10}\u{212a}[aAbk1 -]{0,10}",
            terms in proptest::collection::vec("[aAbBkK1./-]{0,4}", 0..6),
        ) {
            let compiled = Terms::new(&terms);
            let expected = terms.iter().any(|t| has_term(&h, t, false));
            proptest::prop_assert_eq!(compiled.any_in(&h, false), expected, "{:?} in {:?}", terms, h);
            if h.is_ascii() {
                proptest::prop_assert_eq!(compiled.any_in(&h, true), expected);
            }
        }
    }

    #[test]
    fn has_any_finds_whole_terms_in_one_pass() {
        let terms = |t: &[&str]| Terms::new(&t.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        let tools = terms(&["AADInternals", "ROADtools", "GraphRunner", "TokenTactics"]);
        assert!(tools.in_one_pass());
        assert!(tools.any_in("Mozilla/5.0 (roadtools/1.2)", true));
        assert!(tools.any_in("aadinternals", true), "the whole text");
        assert!(!tools.any_in("xAADInternals", true) && !tools.any_in("ROADtools2", true), "not a whole term");
        assert!(!tools.any_in("python-requests/2.31", true));
        // An occurrence that is not a whole term does not hide a later one that is.
        let ab = terms(&["ab-ab", "zz"]);
        assert!(ab.any_in("xab-ab-ab", true));
        // Terms that begin or end with a separator need no boundary there.
        let sep = terms(&["/users/", "$batch"]);
        assert!(sep.any_in("v1.0/users/x", true) && sep.any_in("a$batch", true));
        assert!(!terms(&["", "x"]).any_in("ab", true) && terms(&["", "x"]).any_in("a x", true));
        assert!(!terms(&["only"]).in_one_pass(), "one term: its needle");
        assert!(!terms(&["é", "x"]).in_one_pass(), "non-ASCII terms fold Unicode case: per term");
        assert!(terms(&["é", "x"]).any_in("É", false));
        // A list of IOCs, thousands long, is one pass too.
        let iocs: Vec<String> = (0..5000).map(|i| format!("ioc{i}.example")).collect();
        let iocs = Terms::new(&iocs);
        assert!(iocs.in_one_pass() && iocs.any_in("GET https://IOC4321.example/x", true));
        assert!(!iocs.any_in("ioc43210.example", true) && !iocs.any_in("xioc1.example", true));
    }

    #[test]
    fn the_vector_search_checks_the_last_offsets() {
        // The needle at the very end, with 31 + a few bytes before it: found
        // only by the overlapping last window.
        for pad in 31..70 {
            let hay = format!("{}/SEARCH", "x".repeat(pad));
            let needle = Needle::new("/search", false);
            let f = needle.folded().unwrap();
            assert_eq!(f.find(hay.as_bytes(), 0), Some(pad), "pad {pad}");
            assert_eq!(f.find(hay.as_bytes(), pad + 1), None, "pad {pad}");
        }
        // Bytes that only look alike with the case bit set are not the same: `@` is not `` ` ``.
        let needle = Needle::new("a@b", false);
        let f = needle.folded().unwrap();
        assert_eq!(f.find(format!("{}a`b", "-".repeat(40)).as_bytes(), 0), None);
        assert_eq!(f.find(format!("{}A@B", "-".repeat(40)).as_bytes(), 0), Some(40));
    }

    #[test]
    fn has_matches_whole_terms() {
        assert!(has_term("https://graph.microsoft.com/v1.0/users", "users", false));
        assert!(has_term("https://graph.microsoft.com/v1.0/users", "graph.microsoft.com", false));
        assert!(has_term("Hello World", "hello", false));
        assert!(!has_term("Hello World", "hello", true));
        assert!(!has_term("applications", "app", false));
        assert!(!has_term("myapp", "app", false));
        assert!(has_term("my-app.exe", "app", false));
        assert!(!has_term("anything", "", false));
        assert!(has_term("xab-ab-ab", "ab-ab", false), "an overlapping later occurrence counts");
        assert!(has_term("éab ab", "ab", false));
        assert!(has_term("x ÄB y", "äb", false), "non-ASCII folds case too");
    }

    #[test]
    fn ascii_case_insensitive_operators_need_no_copies() {
        use StrOp::*;
        let ci = Case::AsciiInsensitive;
        assert!(str_op(Contains, "Mozilla/5.0", "ZILLA", ci));
        assert!(!str_op(Contains, "Mozilla/5.0", "zillaz", ci));
        assert!(str_op(Contains, "aaAB", "aab", ci), "a candidate that fails does not stop the search");
        assert!(str_op(StartsWith, "GET /x", "get", ci));
        assert!(!str_op(StartsWith, "GE", "get", ci));
        assert!(str_op(EndsWith, "a.EXE", ".exe", ci));
        assert!(str_op(Contains, "abc", "", ci));
        assert!(str_op(Has, "https://graph/v1.0/Users/x", "users", ci));
        assert!(!str_op(Has, "superusers", "users", ci));
    }

    #[test]
    fn unicode_case_folds_when_the_text_is_not_ascii() {
        // The Kelvin sign lowercases to `k`: Kusto's `contains` finds it.
        let kelvin = "\u{212a}ey";
        assert!(Needle::new("key", false).test(StrOp::Contains, kelvin));
        assert!(!Needle::new("key", true).test(StrOp::Contains, kelvin));
    }
}
