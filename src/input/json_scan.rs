//! A validating JSON scanner that extracts only the wanted keys of an
//! object, without building values: the hot path of reading logs.
//!
//! It checks the whole text is exactly one valid JSON object (RFC 8259:
//! strings, escapes, numbers, nesting), so a broken line is still reported as
//! broken, but it copies nothing: a wanted key's value comes back as the byte
//! range of its raw JSON text. Keys can name nested objects
//! (`properties.ipAddress`) through a [`KeyTrie`]. The caller validates UTF-8.
//!
//! Exported logs repeat one key order record after record, so each thread
//! remembers, per trie, the keys of the last object it scanned, by position
//! (`Template`): a key that is the remembered one at its position is
//! matched by one masked compare of its bytes and the `":` after it, with
//! no search for its closing quote and no lookup. Any other key takes the
//! general path and becomes the remembered one.
//!
//! It is also the one place that knows where a JSON string ends: readers
//! that walk JSON text without validating it (finding a document's records,
//! a record's table name) use [`string_end`], which agrees with the
//! scanner's stage one on which quotes are escaped.

use std::fmt;

/// Deeper nesting is an error, as in serde_json.
const MAX_DEPTH: usize = 128;

/// The keys to extract: at each level, a key may have a slot (its value's
/// raw text is wanted) and children (keys inside it, if it is an object).
#[derive(Debug, Default, Clone)]
pub struct KeyTrie {
    /// Few keys are wanted at each level: a list beats a hash map.
    keys: Vec<(Box<[u8]>, TrieNode)>,
    /// Per entry of `keys`, its length and first and last eight bytes: most
    /// comparisons end after two word compares.
    words: Vec<(usize, u64, u64)>,
    /// Open addressing over `words`: entry index + 1, or 0 for empty.
    table: Box<[u32]>,
    /// A bit per (length, first byte, last byte) of the keys: most keys of a
    /// record are rejected here, before hashing.
    sketch: [u64; 8],
    /// Names this trie's contents for the threads' [`Template`]s: new at
    /// every insert, so a template never outlives the keys it indexes (0:
    /// no key, which every empty trie shares).
    uid: u64,
}

/// A fresh [`KeyTrie::uid`].
fn next_uid() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

#[derive(Debug, Default, Clone)]
struct TrieNode {
    slot: Option<u32>,
    children: Option<KeyTrie>,
}

impl KeyTrie {
    pub fn new() -> KeyTrie {
        KeyTrie::default()
    }

    /// Wants the value at `path` (keys from the top) in `slot`.
    pub fn insert(&mut self, path: &[&str], slot: u32) {
        let (first, rest) = path.split_first().expect("a non-empty path");
        self.uid = next_uid();
        let (word, bit) = sketch_bit(first.as_bytes());
        self.sketch[word] |= bit;
        let at = match self.keys.iter().position(|(k, _)| **k == *first.as_bytes()) {
            Some(i) => i,
            None => {
                self.keys.push((first.as_bytes().into(), TrieNode::default()));
                self.words.push(key_words(first.as_bytes()));
                self.rehash();
                self.keys.len() - 1
            }
        };
        let node = &mut self.keys[at].1;
        if rest.is_empty() {
            node.slot = Some(slot);
        } else {
            node.children.get_or_insert_with(KeyTrie::default).insert(rest, slot);
        }
    }

    fn rehash(&mut self) {
        let size = (self.words.len() * 4).next_power_of_two().max(16);
        let mut table = vec![0u32; size].into_boxed_slice();
        for (i, w) in self.words.iter().enumerate() {
            let mut at = slot_of(*w, size);
            while table[at] != 0 {
                at = (at + 1) & (size - 1);
            }
            table[at] = i as u32 + 1;
        }
        self.table = table;
    }

    /// The node of `key`, by its index in `keys`.
    #[inline]
    fn get(&self, key: &[u8]) -> Option<u32> {
        let (word, bit) = sketch_bit(key);
        if self.sketch[word] & bit == 0 {
            return None;
        }
        let words = key_words(key);
        let size = self.table.len();
        let mut at = slot_of(words, size);
        loop {
            let i = self.table[at];
            if i == 0 {
                return None;
            }
            if self.words[i as usize - 1] == words {
                let k = &self.keys[i as usize - 1].0;
                return (key.len() <= 16 || k[8..] == key[8..]).then_some(i - 1);
            }
            at = (at + 1) & (size - 1);
        }
    }
}

/// A key's slot in a table of `size` (a power of two) entries.
#[inline(always)]
fn slot_of((len, head, tail): (usize, u64, u64), size: usize) -> usize {
    let h = (head ^ tail.rotate_left(29) ^ len as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (h >> 40) as usize & (size - 1)
}

/// A key's length, first eight and last eight bytes (zero-padded when short).
#[inline(always)]
fn key_words(k: &[u8]) -> (usize, u64, u64) {
    if k.len() >= 8 {
        let head = u64::from_le_bytes(k[..8].try_into().expect("8 bytes"));
        let tail = u64::from_le_bytes(k[k.len() - 8..].try_into().expect("8 bytes"));
        (k.len(), head, tail)
    } else {
        let head = k.iter().enumerate().fold(0u64, |w, (i, &b)| w | (b as u64) << (8 * i));
        (k.len(), head, 0)
    }
}

/// A key's bit in a [`KeyTrie`]'s sketch: word and mask.
#[inline(always)]
fn sketch_bit(k: &[u8]) -> (usize, u64) {
    let (first, last) = (k.first().copied().unwrap_or(0), k.last().copied().unwrap_or(0));
    let h = (k.len() as u32).wrapping_mul(0x9e37).wrapping_add(first as u32 * 31).wrapping_add(last as u32 * 7);
    ((h as usize >> 6) & 7, 1 << (h & 63))
}

/// Where and why a text is not one JSON object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanError {
    /// Byte offset of the problem.
    pub pos: usize,
    pub what: &'static str,
}

impl fmt::Display for ScanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.what, self.pos + 1)
    }
}

/// A wanted value: the byte range of its raw JSON text.
pub type Found = Option<(u32, u32)>;

/// Where the string whose opening quote is at `text[open_quote]` ends: the
/// index of its closing quote, the first `"` after it that no backslash
/// escapes (a backslash escapes the byte after it, so `\\` escapes
/// nothing beyond itself). `None` when the text ends first. Nothing is
/// validated (escape letters, control characters): [`scan_object`] does
/// that. A string without a backslash costs one `memchr2`.
#[inline]
pub fn string_end(text: &[u8], open_quote: usize) -> Option<usize> {
    let mut i = open_quote + 1;
    loop {
        i += memchr::memchr2(b'"', b'\\', text.get(i..)?)?;
        if text[i] == b'"' {
            return Some(i);
        }
        // The backslash and the byte it escapes.
        i += 2;
    }
}

/// Where JSON strings are in text read a piece at a time: [`string_end`]
/// for text whose string may end in a later piece. Fed every byte in order,
/// it says which are outside strings (the quotes themselves are inside).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Strings {
    in_string: bool,
    escaped: bool,
}

impl Strings {
    /// Takes the next byte; true when it is outside any string.
    #[inline]
    pub fn outside(&mut self, b: u8) -> bool {
        if self.in_string {
            match b {
                _ if self.escaped => self.escaped = false,
                b'\\' => self.escaped = true,
                b'"' => self.in_string = false,
                _ => {}
            }
            return false;
        }
        if b == b'"' {
            self.in_string = true;
            return false;
        }
        true
    }
}

/// Scans `text`, which must be one JSON object (surrounding whitespace
/// allowed), filling `out[slot]` for every wanted key found (the last
/// occurrence wins, as in serde_json). `out` must hold every slot.
pub fn scan_object(text: &[u8], keys: &KeyTrie, out: &mut [Found]) -> Result<Scanned, ScanError> {
    SCRATCH.with_borrow_mut(|scratch| scan_object_with(text, keys, out, scratch))
}

thread_local! {
    /// Per-thread scratch reused across records: the quote index and the
    /// key templates.
    static SCRATCH: std::cell::RefCell<ScanScratch> = std::cell::RefCell::default();
}

#[derive(Default)]
struct ScanScratch {
    index: QuoteIndex,
    templates: Templates,
}

/// What the scan saw of a valid object's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scanned {
    /// Every byte is ASCII (if not, the caller checks UTF-8).
    pub ascii: bool,
    /// Some string holds an escape (if not, no string needs decoding).
    pub escapes: bool,
}

fn scan_object_with(
    text: &[u8],
    keys: &KeyTrie,
    out: &mut [Found],
    scratch: &mut ScanScratch,
) -> Result<Scanned, ScanError> {
    let ScanScratch { index, templates } = scratch;
    index.build(text)?;
    templates.prune();
    let mut s = Scanner { b: text, i: 0, index, templates };
    s.ws();
    if s.peek() != Some(b'{') {
        return Err(s.err("expected `{`"));
    }
    s.object(Some(keys), out, 0)?;
    s.ws();
    if s.i != text.len() {
        return Err(s.err("trailing characters after the object"));
    }
    Ok(Scanned { ascii: !index.has_high, escapes: index.has_backslash })
}

/// Whether `text` is exactly one valid JSON value (with optional whitespace).
pub fn validate(text: &[u8]) -> Result<(), ScanError> {
    let mut index = QuoteIndex::default();
    index.build(text)?;
    let mut templates = Templates::default();
    let mut s = Scanner { b: text, i: 0, index: &index, templates: &mut templates };
    s.ws();
    s.value(0)?;
    s.ws();
    if s.i != text.len() {
        return Err(s.err("trailing characters"));
    }
    Ok(())
}

/// One thread's [`Template`]s, one per trie it scanned objects with.
#[derive(Default)]
struct Templates {
    tries: Vec<(u64, Template)>,
}

impl Templates {
    /// Forgets them all when there are many: tries come and go (a run has
    /// one, and one per object path its fields pass through, such as
    /// `properties`; tests make many).
    fn prune(&mut self) {
        if self.tries.len() > 64 {
            self.tries.clear();
        }
    }

    /// The index of the template of the trie `uid`, added when new.
    #[inline]
    fn of(&mut self, uid: u64) -> usize {
        match self.tries.iter().position(|(u, _)| *u == uid) {
            Some(t) => t,
            None => {
                self.tries.push((uid, Template::default()));
                self.tries.len() - 1
            }
        }
    }
}

/// The keys of the last object scanned with a trie, by position: the
/// first [`REMEMBERED`] of them.
type Template = Vec<Expect>;

/// How many of an object's keys a template remembers: a record with a
/// million keys costs each thread no more than this.
const REMEMBERED: usize = 256;

/// A remembered key: its text and the `":` after it, and its node.
struct Expect {
    /// The bytes, zero-padded.
    text: [u64; 4],
    /// All ones over the bytes of `text`, zero after.
    mask: [u64; 4],
    /// The bytes' length (at most 32: a key of up to 30 bytes); 0: nothing
    /// remembered.
    len: u8,
    /// The key's index in the trie's `keys`; `u32::MAX`: not wanted.
    node: u32,
}

impl Expect {
    const NONE: Expect = Expect { text: [0; 4], mask: [0; 4], len: 0, node: u32::MAX };

    /// `bytes` is a key's text (no escape) and its `":`. Longer keys than
    /// 30 bytes are not remembered.
    fn new(bytes: &[u8], node: Option<u32>) -> Expect {
        if bytes.len() > 32 {
            return Expect::NONE;
        }
        let mut e = Expect { len: bytes.len() as u8, node: node.unwrap_or(u32::MAX), ..Expect::NONE };
        for (i, &b) in bytes.iter().enumerate() {
            e.text[i / 8] |= (b as u64) << (8 * (i % 8));
            e.mask[i / 8] |= 0xff << (8 * (i % 8));
        }
        e
    }

    /// Whether `b[at..]` starts with the remembered bytes.
    #[inline(always)]
    fn matches(&self, b: &[u8], at: usize) -> bool {
        let len = self.len as usize;
        match b.get(at..at + 32) {
            Some(w) => {
                let word = |k: usize| u64::from_le_bytes(w[k * 8..k * 8 + 8].try_into().expect("8 bytes"));
                let diff = (word(0) ^ self.text[0]) & self.mask[0]
                    | (word(1) ^ self.text[1]) & self.mask[1]
                    | (word(2) ^ self.text[2]) & self.mask[2]
                    | (word(3) ^ self.text[3]) & self.mask[3];
                diff == 0 && len != 0
            }
            // Near the end of the text: byte by byte.
            None => {
                len != 0
                    && b.get(at..at + len).is_some_and(|w| {
                        w.iter().enumerate().all(|(i, &c)| c as u64 == self.text[i / 8] >> (8 * (i % 8)) & 0xff)
                    })
            }
        }
    }
}

struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
    index: &'a QuoteIndex,
    templates: &'a mut Templates,
}

impl Scanner<'_> {
    #[inline]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn err(&self, what: &'static str) -> ScanError {
        ScanError { pos: self.i.min(self.b.len()), what }
    }

    #[inline]
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.i += 1;
        }
    }

    #[inline]
    fn expect(&mut self, c: u8, what: &'static str) -> Result<(), ScanError> {
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(self.err(what))
        }
    }

    fn object(&mut self, keys: Option<&KeyTrie>, out: &mut [Found], depth: usize) -> Result<(), ScanError> {
        if depth >= MAX_DEPTH {
            return Err(self.err("nested too deeply"));
        }
        self.i += 1; // `{`
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(());
        }
        match keys {
            None => self.members(None, out, depth),
            Some(k) => {
                // The trie's template is taken out for the object's scan, so
                // that the loop holds it, not a path to it through
                // `self.templates` (loaded again at every key); a nested
                // object's trie is another one, with its own template.
                let t = self.templates.of(k.uid);
                let mut template = std::mem::take(&mut self.templates.tries[t].1);
                let scanned = self.members(Some((k, &mut template)), out, depth);
                self.templates.tries[t].1 = template;
                scanned
            }
        }
    }

    /// An object's members, after its `{` and any whitespace, to its `}`,
    /// not empty. With wanted keys: the trie and its template.
    #[inline(always)]
    fn members(
        &mut self,
        mut template: Option<(&KeyTrie, &mut Template)>,
        out: &mut [Found],
        depth: usize,
    ) -> Result<(), ScanError> {
        // The key's position in the object.
        let mut n = 0;
        loop {
            if self.peek() != Some(b'"') {
                self.ws();
                if self.peek() != Some(b'"') {
                    return Err(self.err("expected a string key"));
                }
            }
            let node = match &mut template {
                Some((k, template)) => {
                    let k: &KeyTrie = k;
                    let at = self.i + 1;
                    let known = match template.get(n) {
                        Some(e) if e.matches(self.b, at) => Some((e.len, e.node)),
                        _ => None,
                    };
                    let found = if let Some((len, node)) = known {
                        // The key is the remembered one, its closing quote
                        // (after a byte that is not a backslash) and `:`.
                        self.i = at + len as usize;
                        node
                    } else {
                        let (ks, ke) = self.key()?;
                        let node = self.lookup(k, ks, ke);
                        let compact =
                            self.b[ke + 1] == b':' && !(self.index.has_backslash && self.b[ks..ke].contains(&b'\\'));
                        let expect = if compact { Expect::new(&self.b[ks..ke + 2], node) } else { Expect::NONE };
                        match template.get_mut(n) {
                            Some(e) => *e = expect,
                            None if n < REMEMBERED => template.push(expect),
                            None => {}
                        }
                        node.unwrap_or(u32::MAX)
                    };
                    n += 1;
                    (found != u32::MAX).then(|| &k.keys[found as usize].1)
                }
                None => {
                    self.key()?;
                    None
                }
            };
            if self.peek().is_some_and(|c| c <= b' ') {
                self.ws();
            }
            let start = self.i;
            match (node, self.peek()) {
                (_, Some(b'"')) => {
                    self.string()?;
                }
                (Some(TrieNode { children: Some(children), .. }), Some(b'{')) => {
                    self.object(Some(children), out, depth + 1)?;
                }
                _ => self.value(depth + 1)?,
            }
            if let Some(TrieNode { slot: Some(slot), .. }) = node {
                out[*slot as usize] = Some((start as u32, self.i as u32));
            }
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(());
                }
                _ => {
                    self.ws();
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(b'}') => {
                            self.i += 1;
                            return Ok(());
                        }
                        _ => return Err(self.err("expected `,` or `}`")),
                    }
                }
            }
        }
    }

    /// At a key's `"`: skips the key and the `:` after it, returning the
    /// key's content range.
    #[inline(always)]
    fn key(&mut self) -> Result<(usize, usize), ScanError> {
        let (ks, ke) = self.string()?;
        // Compact JSON has the `:` right after the key.
        if self.peek() == Some(b':') {
            self.i += 1;
        } else {
            self.ws();
            self.expect(b':', "expected `:`")?;
        }
        Ok((ks, ke))
    }

    /// The index of the wanted key at `b[ks..ke]` in `keys`, if any.
    #[inline(always)]
    fn lookup(&self, keys: &KeyTrie, ks: usize, ke: usize) -> Option<u32> {
        let key = &self.b[ks..ke];
        if self.index.has_backslash && key.contains(&b'\\') {
            let raw = &self.b[ks - 1..ke + 1];
            let decoded: Option<String> = std::str::from_utf8(raw).ok().and_then(|t| serde_json::from_str(t).ok());
            return decoded.and_then(|d| keys.get(d.as_bytes()));
        }
        keys.get(key)
    }

    fn array(&mut self, depth: usize) -> Result<(), ScanError> {
        if depth >= MAX_DEPTH {
            return Err(self.err("nested too deeply"));
        }
        self.i += 1; // `[`
        self.ws();
        if self.peek() == Some(b']') {
            self.i += 1;
            return Ok(());
        }
        loop {
            self.ws();
            self.value(depth + 1)?;
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(());
                }
                _ => return Err(self.err("expected `,` or `]`")),
            }
        }
    }

    fn value(&mut self, depth: usize) -> Result<(), ScanError> {
        match self.peek() {
            Some(b'"') => self.string().map(|_| ()),
            Some(b'{') => self.object(None, &mut [], depth),
            Some(b'[') => self.array(depth),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.err("expected a value")),
            None => Err(self.err("unexpected end of input")),
        }
    }

    fn literal(&mut self, word: &'static [u8]) -> Result<(), ScanError> {
        if self.b[self.i..].starts_with(word) {
            self.i += word.len();
            Ok(())
        } else {
            Err(self.err("expected a value"))
        }
    }

    /// Skips a run of ASCII digits, eight bytes a step: numbers' lengths
    /// vary from record to record (durations, sizes), and a loop of one
    /// byte a step mispredicts its end.
    fn digits(&mut self) -> usize {
        let start = self.i;
        while let Some(w) = self.b.get(self.i..self.i + 8) {
            let t = u64::from_le_bytes(w.try_into().expect("8 bytes")) ^ 0x3030_3030_3030_3030;
            // A byte's high bit: it is not a digit (`t` above 9 there).
            let other = (((t & 0x7f7f_7f7f_7f7f_7f7f) + 0x7676_7676_7676_7676) | t) & 0x8080_8080_8080_8080;
            if other != 0 {
                self.i += (other.trailing_zeros() / 8) as usize;
                return self.i - start;
            }
            self.i += 8;
        }
        while let Some(b'0'..=b'9') = self.peek() {
            self.i += 1;
        }
        self.i - start
    }

    fn number(&mut self) -> Result<(), ScanError> {
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek() {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(self.err("invalid number")),
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return Err(self.err("invalid number"));
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.i += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.i += 1;
            }
            if self.digits() == 0 {
                return Err(self.err("invalid number"));
            }
        }
        Ok(())
    }

    /// At a `"`: skips the string (escapes were checked in stage one),
    /// returning its content range.
    #[inline(always)]
    fn string(&mut self) -> Result<(usize, usize), ScanError> {
        let start = self.i + 1;
        match self.index.next_quote(start) {
            Some(end) => {
                self.i = end + 1;
                Ok((start, end))
            }
            None => {
                self.i = self.b.len();
                Err(self.err("unterminated string"))
            }
        }
    }
}

/// The escape starting at the unescaped backslash `b[i]` is valid (`\\n`,
/// `\\u00e9`, ...). Outside strings a backslash is invalid anyway: stage two
/// rejects it there.
#[inline]
fn check_escape(b: &[u8], i: usize) -> Result<(), ScanError> {
    match b.get(i + 1) {
        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => Ok(()),
        Some(b'u') if b.get(i + 2..i + 6).is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) => Ok(()),
        Some(b'u') => Err(ScanError { pos: i + 1, what: "invalid \\u escape" }),
        _ => Err(ScanError { pos: i + 1, what: "invalid escape" }),
    }
}

/// Instruction-set levels of stage one: portable (SSE2 on x86_64), AVX2,
/// AVX-512 (BW); the last two with PCLMULQDQ.
const NONE: u8 = 0;
#[cfg(target_arch = "x86_64")]
const AVX2: u8 = 1;
#[cfg(target_arch = "x86_64")]
const AVX512: u8 = 2;

/// The best level this CPU has, detected once.
#[cfg(target_arch = "x86_64")]
static SIMD: std::sync::LazyLock<u8> = std::sync::LazyLock::new(|| {
    use std::arch::is_x86_feature_detected as has;
    if !has!("pclmulqdq") || !has!("avx2") {
        NONE
    } else if has!("avx512bw") && has!("avx512f") {
        AVX512
    } else {
        AVX2
    }
});

/// Stage one: where the unescaped quotes are, a bit per byte, found
/// sixty-four bytes at a time. Control characters inside strings and bad
/// escapes are rejected here.
#[derive(Debug, Default)]
struct QuoteIndex {
    quotes: Vec<u64>,
    has_backslash: bool,
    /// Some byte is above 0x7f (not ASCII).
    has_high: bool,
}

impl QuoteIndex {
    fn build(&mut self, text: &[u8]) -> Result<(), ScanError> {
        #[cfg(target_arch = "x86_64")]
        match *SIMD {
            // SAFETY: the CPU has the features each is compiled for.
            AVX512 => return unsafe { self.build_avx512(text) },
            AVX2 => return unsafe { self.build_avx2(text) },
            _ => {}
        }
        self.build_with::<NONE>(text)
    }

    /// [`QuoteIndex::build`] compiled for AVX-512 (BW) and carry-less
    /// multiply: a block's four masks in four compares of one load.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512bw,avx512f,avx2,pclmulqdq")]
    unsafe fn build_avx512(&mut self, text: &[u8]) -> Result<(), ScanError> {
        self.build_with::<AVX512>(text)
    }

    /// [`QuoteIndex::build`] compiled for AVX2 and carry-less multiply: 32
    /// bytes a compare, and the in-string mask in one instruction.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,pclmulqdq")]
    unsafe fn build_avx2(&mut self, text: &[u8]) -> Result<(), ScanError> {
        self.build_with::<AVX2>(text)
    }

    /// Stage one at instruction-set level `L` ([`NONE`], [`AVX2`],
    /// [`AVX512`]). A level above `NONE` is used only inside the `build_*`
    /// compiled for it, which is only called on CPUs that have it: its
    /// helpers are inlined into it.
    #[inline(always)]
    fn build_with<const L: u8>(&mut self, text: &[u8]) -> Result<(), ScanError> {
        self.quotes.clear();
        self.quotes.reserve(text.len().div_ceil(64));
        let mut st = Stage1::default();
        let mut blocks = text.chunks_exact(64);
        let mut k = 0;
        for block in blocks.by_ref() {
            st.step::<L>(block.try_into().expect("64 bytes"), k, text, &mut self.quotes);
            k += 1;
        }
        let tail = blocks.remainder();
        if !tail.is_empty() {
            let mut padded = [b' '; 64];
            padded[..tail.len()].copy_from_slice(tail);
            st.step::<L>(&padded, k, text, &mut self.quotes);
        }
        self.has_backslash = st.has_backslash;
        if st.bad != 0 {
            return Err(ScanError {
                pos: st.bad_block * 64 + st.bad.trailing_zeros() as usize,
                what: "control character in string",
            });
        }
        self.has_high = st.high != 0;
        match st.bad_escape {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// The first unescaped quote at or after `from`.
    ///
    /// Most strings end within 64 bytes, but whether in the same word of
    /// `quotes` or the next varies from value to value: a branch on it
    /// mispredicted about a third of the time (cachegrind's branch
    /// simulation). So the two words are read as one 128-bit window, and
    /// the loop only runs for a string longer than that.
    #[inline(always)]
    fn next_quote(&self, from: usize) -> Option<usize> {
        let w = from / 64;
        let lo = *self.quotes.get(w)?;
        let hi = self.quotes.get(w + 1).copied().unwrap_or(0);
        let window = ((hi as u128) << 64 | lo as u128) >> (from % 64);
        if window != 0 {
            return Some(from + window.trailing_zeros() as usize);
        }
        let mut w = w + 2;
        loop {
            let bits = *self.quotes.get(w)?;
            if bits != 0 {
                return Some(w * 64 + bits.trailing_zeros() as usize);
            }
            w += 1;
        }
    }
}

/// Stage one's state from one 64-byte block to the next.
#[derive(Default)]
struct Stage1 {
    high: u64,
    /// The previous block ended in an unescaped backslash.
    escape_carry: bool,
    /// All ones while inside a string.
    string_carry: u64,
    /// Control characters inside strings, in block `bad_block`.
    bad: u64,
    bad_block: usize,
    bad_escape: Option<ScanError>,
    has_backslash: bool,
}

impl Stage1 {
    /// Block `k` (bytes `64k..64k + 64` of `text`, space-padded at the end).
    #[inline(always)]
    fn step<const L: u8>(&mut self, block: &[u8; 64], k: usize, text: &[u8], quotes: &mut Vec<u64>) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: a level above NONE is only used inside the `build_*`
        // compiled for it (each includes PCLMULQDQ).
        let (q, b, c, h) = match L {
            AVX512 => unsafe { masks64_avx512(block) },
            AVX2 => unsafe { masks64_avx2(block) },
            _ => masks64(block),
        };
        #[cfg(not(target_arch = "x86_64"))]
        let (q, b, c, h) = masks64(block);
        self.high |= h;
        let escaped = if b == 0 && !self.escape_carry {
            0
        } else {
            self.has_backslash = true;
            let (e, carry) = escaped_bits(b, self.escape_carry);
            self.escape_carry = carry;
            // Every backslash that is not itself escaped starts an escape.
            let mut starts = b & !e;
            while starts != 0 && self.bad_escape.is_none() {
                let i = k * 64 + starts.trailing_zeros() as usize;
                self.bad_escape = check_escape(text, i).err();
                starts &= starts - 1;
            }
            e
        };
        let q = q & !escaped;
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above.
        let in_string = if L != NONE { unsafe { prefix_xor_clmul(q) } } else { prefix_xor(q) } ^ self.string_carry;
        #[cfg(not(target_arch = "x86_64"))]
        let in_string = prefix_xor(q) ^ self.string_carry;
        self.string_carry = 0u64.wrapping_sub(in_string >> 63);
        if self.bad == 0 && c & in_string != 0 {
            self.bad = c & in_string;
            self.bad_block = k;
        }
        quotes.push(q);
    }
}

/// Which bytes follow an odd run of backslashes (are escaped), given the
/// backslash bits of a block and whether the previous block's last byte was
/// an unescaped backslash. Returns the escaped bits and the carry out.
/// Branch-free, after simdjson: subtracting each run's start from the
/// odd-bit pattern flips the bit after every run of odd length.
#[inline]
fn escaped_bits(backslashes: u64, carry_in: bool) -> (u64, bool) {
    const ODD: u64 = 0xaaaa_aaaa_aaaa_aaaa;
    let carried = carry_in as u64;
    // A backslash the previous block escaped starts nothing.
    let potential = backslashes & !carried;
    let codes = ((potential << 1 | ODD).wrapping_sub(potential)) ^ ODD;
    let escaped = codes ^ (backslashes | carried);
    let starts = codes & backslashes;
    (escaped, starts >> 63 == 1)
}

/// Bit `i` of the result is the XOR of bits `0..=i` of `x`: with quote bits
/// in, the bytes inside strings (opening quote included, closing excluded).
#[inline]
fn prefix_xor(mut x: u64) -> u64 {
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    x
}

/// Quote, backslash, control-character (< 0x20) and non-ASCII (> 0x7f)
/// bits of a 64-byte block.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn masks64(block: &[u8; 64]) -> (u64, u64, u64, u64) {
    use std::arch::x86_64::*;
    // SAFETY: SSE2 is part of the x86_64 baseline; each load reads 16 of the
    // block's 64 bytes.
    unsafe {
        let (quote, backslash, low) = (_mm_set1_epi8(b'"' as i8), _mm_set1_epi8(b'\\' as i8), _mm_set1_epi8(0x1f));
        let (mut q, mut b, mut c, mut h) = (0u64, 0u64, 0u64, 0u64);
        for k in 0..4 {
            let v = _mm_loadu_si128(block.as_ptr().add(k * 16) as *const __m128i);
            h |= (_mm_movemask_epi8(v) as u16 as u64) << (k * 16);
            q |= (_mm_movemask_epi8(_mm_cmpeq_epi8(v, quote)) as u16 as u64) << (k * 16);
            b |= (_mm_movemask_epi8(_mm_cmpeq_epi8(v, backslash)) as u16 as u64) << (k * 16);
            // Unsigned v <= 0x1f  <=>  max(v, 0x1f) == 0x1f.
            c |= (_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_max_epu8(v, low), low)) as u16 as u64) << (k * 16);
        }
        (q, b, c, h)
    }
}

/// [`prefix_xor`] as one carry-less multiplication by all ones.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "pclmulqdq")]
#[inline]
fn prefix_xor_clmul(x: u64) -> u64 {
    use std::arch::x86_64::*;
    let product = _mm_clmulepi64_si128(_mm_set_epi64x(0, x as i64), _mm_set1_epi8(-1), 0);
    _mm_cvtsi128_si64(product) as u64
}

/// [`masks64`] with 32-byte compares.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
fn masks64_avx2(block: &[u8; 64]) -> (u64, u64, u64, u64) {
    use std::arch::x86_64::*;
    let (quote, backslash, low) = (_mm256_set1_epi8(b'"' as i8), _mm256_set1_epi8(b'\\' as i8), _mm256_set1_epi8(0x1f));
    let (mut q, mut b, mut c, mut h) = (0u64, 0u64, 0u64, 0u64);
    for k in 0..2 {
        // SAFETY: each load reads 32 of the block's 64 bytes.
        let v = unsafe { _mm256_loadu_si256(block.as_ptr().add(k * 32) as *const __m256i) };
        let bits = |m: __m256i| (_mm256_movemask_epi8(m) as u32 as u64) << (k * 32);
        h |= bits(v);
        q |= bits(_mm256_cmpeq_epi8(v, quote));
        b |= bits(_mm256_cmpeq_epi8(v, backslash));
        c |= bits(_mm256_cmpeq_epi8(_mm256_max_epu8(v, low), low));
    }
    (q, b, c, h)
}

/// [`masks64`] with AVX-512: one load, each mask straight from a compare.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512bw,avx512f")]
#[inline]
fn masks64_avx512(block: &[u8; 64]) -> (u64, u64, u64, u64) {
    use std::arch::x86_64::*;
    // SAFETY: the load reads the block's 64 bytes.
    let v = unsafe { _mm512_loadu_si512(block.as_ptr() as *const __m512i) };
    let q = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(b'"' as i8));
    let b = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(b'\\' as i8));
    let c = _mm512_cmple_epu8_mask(v, _mm512_set1_epi8(0x1f));
    let h = _mm512_movepi8_mask(v);
    (q, b, c, h)
}

#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn masks64(block: &[u8; 64]) -> (u64, u64, u64, u64) {
    let (mut q, mut b, mut c, mut h) = (0, 0, 0, 0);
    for (i, &x) in block.iter().enumerate() {
        q |= ((x == b'"') as u64) << i;
        b |= ((x == b'\\') as u64) << i;
        c |= ((x < 0x20) as u64) << i;
        h |= ((x > 0x7f) as u64) << i;
    }
    (q, b, c, h)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The obvious byte-at-a-time [`escaped_bits`].
    fn escaped_bits_reference(backslashes: u64, carry_in: bool) -> (u64, bool) {
        let mut escaped = 0u64;
        let mut pending = carry_in;
        for i in 0..64 {
            let is_backslash = backslashes >> i & 1 == 1;
            if pending {
                escaped |= 1 << i;
                pending = false;
            } else if is_backslash {
                pending = true;
            }
        }
        (escaped, pending)
    }

    fn trie(paths: &[&str]) -> KeyTrie {
        let mut t = KeyTrie::new();
        for (i, p) in paths.iter().enumerate() {
            t.insert(&p.split('.').collect::<Vec<_>>(), i as u32);
        }
        t
    }

    fn extract(text: &str, paths: &[&str]) -> Result<Vec<Option<String>>, ScanError> {
        let t = trie(paths);
        let mut out = vec![None; paths.len()];
        scan_object(text.as_bytes(), &t, &mut out)?;
        Ok(out.iter().map(|f| f.map(|(s, e)| text[s as usize..e as usize].to_string())).collect())
    }

    #[test]
    fn reports_non_ascii_and_escapes() {
        let scan = |t: &str| scan_object(t.as_bytes(), &KeyTrie::new(), &mut []).unwrap();
        assert_eq!(scan(r#"{"a":"xy"}"#), Scanned { ascii: true, escapes: false });
        assert_eq!(scan(r#"{"a":"x\"y"}"#), Scanned { ascii: true, escapes: true });
        assert_eq!(scan(r#"{"é":"\u00e9"}"#), Scanned { ascii: false, escapes: true });
    }

    #[test]
    fn extracts_top_level_and_nested() {
        let text = r#" {"Type":"T","properties":{"ipAddress":"1.2.3.4","n":[1,{"x":2}]},"A":-1.5e3,"B":null} "#;
        let got =
            extract(text, &["Type", "properties.ipAddress", "A", "properties.n", "Missing", "properties"]).unwrap();
        assert_eq!(
            got,
            vec![
                Some("\"T\"".into()),
                Some("\"1.2.3.4\"".into()),
                Some("-1.5e3".into()),
                Some("[1,{\"x\":2}]".into()),
                None,
                Some(r#"{"ipAddress":"1.2.3.4","n":[1,{"x":2}]}"#.into())
            ]
        );
    }

    #[test]
    fn long_keys_differing_only_in_the_middle() {
        let text = r#"{"AAAAAAAAxBBBBBBBB":1,"AAAAAAAAyBBBBBBBB":2,"short":3,"shorT":4}"#;
        let got = extract(text, &["AAAAAAAAyBBBBBBBB", "shorT", "AAAAAAAAzBBBBBBBB"]).unwrap();
        assert_eq!(got, vec![Some("2".into()), Some("4".into()), None]);
    }

    #[test]
    fn nested_path_into_a_non_object_is_absent() {
        let got = extract(r#"{"properties":"text"}"#, &["properties.ipAddress"]).unwrap();
        assert_eq!(got, vec![None]);
    }

    #[test]
    fn escaped_keys_and_last_occurrence_win() {
        let got = extract(r#"{"\u0054ype":"a","Type":"b","x\"y":1}"#, &["Type", "x\"y"]).unwrap();
        assert_eq!(got, vec![Some("\"b\"".into()), Some("1".into())]);
    }

    #[test]
    fn rejects_invalid_json_with_positions() {
        let bad = [
            (r#"{"a":1"#, 6, "expected `,` or `}`"),
            (r#"{"a" 1}"#, 5, "expected `:`"),
            (r#"{"a":01}"#, 6, "expected `,` or `}`"),
            (r#"{"a":"x\q"}"#, 8, "invalid escape"),
            ("{\"a\":\"x\ty\"}", 7, "control character in string"),
            (r#"{"a":tru}"#, 5, "expected a value"),
            (r#"{"a":1} x"#, 8, "trailing characters after the object"),
            (r#"[1]"#, 0, "expected `{`"),
            (r#"{"a":"x"#, 7, "unterminated string"),
            (r#"{"a":1.}"#, 7, "invalid number"),
            (r#"{a:1}"#, 1, "expected a string key"),
            (r#"{"a":[1,]}"#, 8, "expected a value"),
        ];
        for (text, pos, what) in bad {
            assert_eq!(extract(text, &["a"]), Err(ScanError { pos, what }), "{text}");
        }
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(200), "]".repeat(200));
        assert_eq!(extract(&deep, &["a"]).unwrap_err().what, "nested too deeply");
    }

    #[test]
    fn strings_across_block_boundaries() {
        for n in 50..140 {
            let pad = "x".repeat(n);
            let text = format!(r#"{{"{pad}":"a\\\"b","k":"{pad}\\","z":1}}"#);
            assert_eq!(
                extract(&text, &["k", "z"]).unwrap(),
                vec![Some(format!("\"{pad}\\\\\"")), Some("1".into())],
                "{n}"
            );
            let bad = format!("{{\"{pad}\":\"a\u{1}\"}}");
            assert_eq!(extract(&bad, &["k"]).unwrap_err().what, "control character in string", "{n}");
        }
    }

    /// Fed byte by byte, in pieces of any size, [`Strings`] finds the
    /// strings [`string_end`] finds in the whole text.
    #[test]
    fn strings_fed_a_byte_at_a_time_agree_with_string_end() {
        let text = br#"{"a":"x\"y","b\\":"\\","c":[1,"]"],"d":"\"\"\\"}"#;
        // Inside per string_end: each opening quote to its closing quote.
        let mut inside = vec![false; text.len()];
        let mut i = 0;
        while i < text.len() {
            if text[i] == b'"' {
                let end = string_end(text, i).expect("every string closes");
                inside[i..=end].iter_mut().for_each(|b| *b = true);
                i = end + 1;
            } else {
                i += 1;
            }
        }
        let mut strings = Strings::default();
        let outside: Vec<bool> = text.iter().map(|&b| strings.outside(b)).collect();
        assert_eq!(outside, inside.iter().map(|b| !b).collect::<Vec<_>>());
        assert!(!inside[text.iter().position(|&b| b == b'[').unwrap()], "the array is outside");
    }

    #[test]
    fn strings_end_at_the_first_unescaped_quote() {
        let end = |t: &[u8]| string_end(t, 0);
        assert_eq!(end(br#""ab"c""#), Some(3));
        assert_eq!(end(br#""""#), Some(1));
        assert_eq!(end(br#""a\\"b"#), Some(4), "an escaped backslash escapes no quote");
        assert_eq!(end(br#""a\"b"c"#), Some(5), "an escaped quote does not end it");
        assert_eq!(end(br#""a\\\"b"c"#), Some(7));
        assert_eq!(end(br#""\u0022""#), Some(7));
        assert_eq!(end(br#""abc"#), None, "unterminated");
        assert_eq!(end(br#""a\"#), None, "a backslash as the last byte");
        assert_eq!(end(br#"""#), None);
        assert_eq!(string_end(br#"{"k":"v"}"#, 5), Some(7), "from an opening quote inside the text");
        assert_eq!(string_end(br#"""#, 3), None, "an opening quote past the end");
    }

    #[test]
    fn escape_runs() {
        assert_eq!(escaped_bits(0b0110, false), (0b0100, false), "an escaped backslash escapes nothing");
        assert_eq!(escaped_bits(0b1110, false), (0b10100, false));
        assert_eq!(escaped_bits(0b0010, false), (0b0100, false));
        assert_eq!(escaped_bits(0, true), (1, false));
        assert_eq!(escaped_bits(1 << 63, false), (0, true));
        assert_eq!(prefix_xor(0b1001), 0b0111);
    }

    fn json_value() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::Bool),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(serde_json::Value::from),
            "\\PC{0,12}".prop_map(serde_json::Value::String),
            "[\\x00-\\x1f\"\\\\a-z]{0,6}".prop_map(serde_json::Value::String),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(serde_json::Value::Array),
                prop::collection::btree_map("[a-cT]{1,3}", inner, 0..5)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// Raw key texts for the template tests, with the key each decodes to:
    /// prefixes of one another, an escape spelling a plain key, the empty
    /// key, and keys of 30 and 31 bytes (the longest remembered, and one past).
    const KEY_TEXTS: [(&str, &str); 8] = [
        ("\"a\"", "a"),
        ("\"ab\"", "ab"),
        ("\"a\\u0062\"", "ab"),
        ("\"abc\"", "abc"),
        ("\"\"", ""),
        ("\"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkk\"", "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"),
        ("\"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk\"", "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"),
        ("\"n\"", "n"),
    ];
    const VALUES: [&str; 5] = ["1", "\"x\"", "null", "{\"ab\":2,\"a\":[3]}", "[1,{\"a\":4}]"];

    /// The object built from (key, separator, value) choices, and what each
    /// wanted path holds in it: the last occurrence, as serde_json keeps.
    fn object_of(members: &[(usize, bool, usize)], wanted: &[&str]) -> (String, Vec<Option<String>>) {
        let mut text = String::from("{");
        let mut last: std::collections::HashMap<String, &str> = std::collections::HashMap::new();
        for (i, &(k, spaced, v)) in members.iter().enumerate() {
            if i > 0 {
                text.push(',');
            }
            let (raw, key) = KEY_TEXTS[k];
            text.push_str(raw);
            text.push_str(if spaced { " : " } else { ":" });
            text.push_str(VALUES[v]);
            last.insert(key.to_string(), VALUES[v]);
            // The nested paths `n.ab` and `n.a` of an object value (a later
            // `n` that is no object leaves them: each path's last occurrence).
            if key == "n" && VALUES[v].starts_with('{') {
                last.insert("n.ab".into(), "2");
                last.insert("n.a".into(), "[3]");
            }
        }
        text.push('}');
        let expect = wanted.iter().map(|w| last.get(*w).map(|v| v.to_string())).collect();
        (text, expect)
    }

    /// Digits are skipped eight bytes a step: every byte after every run
    /// length, around and across a step, ends the run exactly when it is
    /// not a digit.
    #[test]
    fn digit_runs_end_at_the_first_other_byte() {
        let index = QuoteIndex::default();
        let mut templates = Templates::default();
        for run in 0..20 {
            for b in 0..=255u8 {
                let mut text = vec![b'7'; run];
                text.push(b);
                text.extend_from_slice(b"99999");
                let mut s = Scanner { b: &text, i: 0, index: &index, templates: &mut templates };
                let want = if b.is_ascii_digit() { run + 6 } else { run };
                assert_eq!(s.digits(), want, "{run} digits, then byte {b:#04x}");
                assert_eq!(s.i, want);
            }
        }
    }

    #[test]
    fn templates_remember_at_most_their_bound_of_keys() {
        let keys: Vec<String> = (0..REMEMBERED + 50).map(|i| format!("k{i}")).collect();
        let text = format!("{{{}}}", keys.iter().map(|k| format!("\"{k}\":1")).collect::<Vec<_>>().join(","));
        let last = keys.last().unwrap().as_str();
        let t = trie(&["k0", last]);
        for _ in 0..2 {
            let mut out = vec![None; 2];
            scan_object(text.as_bytes(), &t, &mut out).unwrap();
            let got: Vec<&str> = out.iter().map(|f| f.map_or("", |(s, e)| &text[s as usize..e as usize])).collect();
            assert_eq!(got, ["1", "1"]);
        }
        let remembered = SCRATCH.with_borrow(|s| s.templates.tries.iter().find(|(u, _)| *u == t.uid).unwrap().1.len());
        assert_eq!(remembered, REMEMBERED);
    }

    #[test]
    fn remembered_keys_follow_the_trie_they_were_found_with() {
        let text = r#"{"a":1,"ab":2,"n":{"ab":3}}"#;
        let mut t = trie(&["a"]);
        let mut out = vec![None; 3];
        for _ in 0..2 {
            out.fill(None);
            scan_object(text.as_bytes(), &t, &mut out).unwrap();
            assert_eq!(out[0], Some((5, 6)));
        }
        // A key added to the trie after its template was made is found.
        t.insert(&["ab"], 1);
        t.insert(&["n", "ab"], 2);
        out.fill(None);
        scan_object(text.as_bytes(), &t, &mut out).unwrap();
        assert_eq!(out, [Some((5, 6)), Some((12, 13)), Some((24, 25))]);
        // Another trie with the same keys in other slots.
        let other = trie(&["ab", "a"]);
        out.fill(None);
        scan_object(text.as_bytes(), &other, &mut out[..2]).unwrap();
        assert_eq!(&out[..2], [Some((12, 13)), Some((5, 6))]);
        // The same keys near the end of a text, where fewer than 32 bytes follow.
        let short = r#"{"a":7}"#;
        for _ in 0..2 {
            out.fill(None);
            scan_object(short.as_bytes(), &t, &mut out).unwrap();
            assert_eq!(out[0], Some((5, 6)));
        }
        assert_eq!(scan_object(br#"{"a"#, &t, &mut out).unwrap_err().what, "unterminated string");
        assert_eq!(scan_object(br#"{"a":"#, &t, &mut out).unwrap_err().what, "unexpected end of input");
    }

    proptest! {
        /// On valid objects, every extracted value is the raw text serde_json wrote for it.
        #[test]
        fn agrees_with_serde_json_on_valid_objects(v in json_value()) {
            let serde_json::Value::Object(map) = &v else { return Ok(()) };
            let text = serde_json::to_string(&v).unwrap();
            let keys: Vec<&str> = map.keys().map(String::as_str).chain(["zz"]).collect();
            let got = extract(&text, &keys).unwrap();
            for (k, g) in keys.iter().zip(got) {
                let want = map.get(*k).map(|x| serde_json::to_string(x).unwrap());
                prop_assert_eq!(g, want);
            }
        }

        /// Objects scanned one after another with one trie, as a chunk's
        /// records are (their keys remembered from one to the next, in
        /// orders that repeat, change and break off), find what each holds.
        #[test]
        fn remembered_keys_find_what_a_fresh_scan_finds(
            records in prop::collection::vec(
                prop::collection::vec((0..KEY_TEXTS.len(), prop::bool::weighted(0.1), 0..VALUES.len()), 0..7),
                1..12,
            ),
            repeat in prop::collection::vec(any::<bool>(), 12),
        ) {
            let wanted = ["a", "ab", "", "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkk", "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk", "n.ab", "n.a"];
            let t = trie(&wanted);
            let mut previous: Option<&Vec<(usize, bool, usize)>> = None;
            for (members, again) in records.iter().zip(&repeat) {
                // Half the time the record before comes again: its keys match.
                let members = match previous {
                    Some(p) if *again => p,
                    _ => members,
                };
                previous = Some(members);
                let (text, expect) = object_of(members, &wanted);
                let mut out = vec![None; wanted.len()];
                scan_object(text.as_bytes(), &t, &mut out).unwrap();
                let got: Vec<Option<String>> =
                    out.iter().map(|f| f.map(|(s, e)| text[s as usize..e as usize].to_string())).collect();
                prop_assert_eq!(got, expect, "{}", text);
            }
        }

        /// On any text, the scanner accepts exactly what serde_json accepts as an object.
        #[test]
        fn validity_matches_serde_json(v in json_value(), cut in 0usize..64, junk in prop::collection::vec(any::<u8>(), 0..3)) {
            let mut text = serde_json::to_string(&v).unwrap().into_bytes();
            let at = cut.min(text.len());
            text.splice(at..at, junk);
            let Ok(s) = std::str::from_utf8(&text) else { return Ok(()) };
            let parsed = serde_json::from_str::<serde_json::Value>(s);
            if parsed.as_ref().is_err_and(|e| e.to_string().contains("number out of range")) {
                return Ok(()); // valid JSON grammar, beyond serde_json's f64
            }
            let serde_ok = matches!(parsed, Ok(serde_json::Value::Object(_)));
            let ours = scan_object(&text, &KeyTrie::new(), &mut []).is_ok();
            prop_assert_eq!(ours, serde_ok, "{}", s);
        }

        /// The branch-free escape scan agrees with the obvious loop, runs of
        /// backslashes across block ends included.
        #[test]
        fn escaped_bits_match_the_byte_loop(runs in any::<u64>(), sparse in any::<u64>(), carry in any::<bool>()) {
            for b in [runs, runs & sparse, runs | 1 << 63, !0, 0] {
                prop_assert_eq!(escaped_bits(b, carry), escaped_bits_reference(b, carry), "{:064b} {}", b, carry);
            }
        }

        /// The next quote at or after any position is the first one a byte
        /// loop finds: in the same word, the next, or many words on.
        #[test]
        fn next_quote_finds_the_first_quote_at_or_after(gaps in prop::collection::vec(0usize..300, 0..8), tail in 0usize..130) {
            let mut text = Vec::new();
            for g in &gaps {
                text.extend(std::iter::repeat_n(b'a', *g));
                text.push(b'"');
            }
            text.extend(std::iter::repeat_n(b'a', tail));
            let mut index = QuoteIndex::default();
            index.build_with::<NONE>(&text).unwrap();
            for from in 0..text.len() + 2 {
                let want = text.get(from..).and_then(|t| t.iter().position(|&b| b == b'"')).map(|p| from + p);
                prop_assert_eq!(index.next_quote(from), want, "from {}", from);
            }
        }

        /// [`string_end`] finds the quote stage one indexes as the string's
        /// end (escapes across 64-byte blocks included), on any text.
        #[test]
        fn string_end_agrees_with_stage_one(
            bytes in prop::collection::vec(prop::sample::select(b"\"\\\\ a".to_vec()), 0..200)
        ) {
            let mut text = vec![b'"'];
            text.extend(bytes);
            let mut index = QuoteIndex::default();
            // Errors (a bad escape) leave the quote index whole.
            let _ = index.build_with::<NONE>(&text);
            prop_assert_eq!(string_end(&text, 0), index.next_quote(1));
        }

        /// The portable stage one and every one this CPU can run (AVX2,
        /// AVX-512) index the same quotes and find the same errors, on any
        /// bytes; and `build` picks one of them.
        #[test]
        fn stage_one_is_the_same_on_every_path(
            bytes in prop::collection::vec(prop::sample::select(b"\"\\ \x01\x1f\x7f\xc3a{}:,nu0".to_vec()), 0..300)
        ) {
            let run = |build: &dyn Fn(&mut QuoteIndex) -> Result<(), ScanError>| {
                let mut index = QuoteIndex::default();
                let r = build(&mut index);
                (r, r.is_ok().then(|| (index.quotes.clone(), index.has_backslash, index.has_high)))
            };
            let portable = run(&|i| i.build_with::<NONE>(&bytes));
            prop_assert_eq!(&run(&|i| i.build(&bytes)), &portable);
            #[cfg(target_arch = "x86_64")]
            {
                if *SIMD >= AVX2 {
                    // SAFETY: the CPU has AVX2 and PCLMULQDQ.
                    prop_assert_eq!(&run(&|i| unsafe { i.build_avx2(&bytes) }), &portable);
                }
                if *SIMD == AVX512 {
                    // SAFETY: the CPU has AVX-512 BW and PCLMULQDQ.
                    prop_assert_eq!(&run(&|i| unsafe { i.build_avx512(&bytes) }), &portable);
                }
            }
        }
    }
}
