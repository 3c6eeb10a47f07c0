//! Sigma values: modifiers, wildcards, escapes and value transforms. Pure
//! functions over text: no YAML, no rule, no field.
//!
//! The sources are the Sigma rules specification v2.1 (sections "String
//! Wildcard", "Escape Character", "Value Modifiers", "Placeholders") and its
//! modifiers appendix v2.1.0. Where those are silent, this module reads as
//! pySigma (`sigma/types.py` `SigmaString`, `sigma/modifiers.py`, and the
//! validator `sigma/validators/core/modifiers.py`), the reference
//! implementation:
//!
//! - **Wildcards and escapes** ([`parse_pattern`]): `*` is any run of
//!   characters (`**` is `*`), `?` exactly one character. `\*`, `\?` and `\\`
//!   are a plain `*`, `?` and `\`; a backslash before any other character, or
//!   at the end, is itself a plain backslash (`C:\Windows` needs no doubling).
//!   So `\\*` is a backslash then a wildcard, `\\\*` a backslash then a plain
//!   star, and `\\\` and `\\\\` both a double backslash, as the specification
//!   lists them.
//! - **Modifier names** ([`Modifier::from_name`]) are case-sensitive, as
//!   pySigma's `modifier_mapping` lookup is; the specification writes them
//!   all in lowercase. pySigma's long spellings of the regex flags
//!   (`ignorecase`, `multiline`, `dotall`) are read as `i`, `m`, `s`. The
//!   specification's `utf16le`, which pySigma lacks, is read. The time
//!   modifiers of the appendix v2.1.0 (`minute`, `hour`, `day`, `week`,
//!   `month`, `year`) are not: [`Modifier`] has no variant for them, so they
//!   are unknown names.
//! - **Chains** ([`check_chain`]): see there for every rule and its source.
//! - **Transforms keep wildcards only where they mean something**, as
//!   pySigma: `base64` and `base64offset` refuse a value with a wildcard
//!   (pySigma: "Base64 encoding of strings with wildcards is not allowed");
//!   the UTF-16 encodings encode the plain text between wildcards and keep
//!   the wildcards where they were (so a `?` then stands for one character of
//!   the encoded text, as in pySigma); `windash` and `expand` work on the
//!   plain text between wildcards. [`apply_modifiers`] runs a whole chain on a
//!   value that way.
//! - **Bytes, not pySigma's strings**: pySigma keeps a UTF-16 value as a
//!   Python string of the code units' bytes, which works for ASCII only
//!   (`wide` refuses anything else) and turns `utf16`'s byte order mark into
//!   the character U+FEFF, so `utf16|base64` there encodes `EF BB BF` rather
//!   than the specification's `FF FE`. Here the encodings are byte-exact for
//!   any text ([`utf16le`], [`utf16be`], [`utf16_bom`]), `base64` encodes
//!   those bytes, and a value left as bytes that are not UTF-8 (a BOM, or
//!   `ä` as `E4 00`) is an error, since no log text can hold it
//!   ([`bytes_to_text`]). Likewise `base64` encodes a plain `*` as `*`
//!   (pySigma encodes the escaped `\*`), and `base64offset` trims by the
//!   value's length in bytes (pySigma counts characters, which differs for
//!   non-ASCII text).

use std::collections::HashSet;

/// One modifier, as written after `|` in a detection key
/// (`CommandLine|base64offset|contains`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Modifier {
    Contains,
    StartsWith,
    EndsWith,
    All,
    Cased,
    Exists,
    Re,
    /// `i`: the regex ignores case.
    ReI,
    /// `m`: `^` and `$` match at line ends.
    ReM,
    /// `s`: `.` matches a newline.
    ReS,
    Cidr,
    Gt,
    Gte,
    Lt,
    Lte,
    Neq,
    FieldRef,
    Base64,
    Base64Offset,
    Utf16le,
    Utf16be,
    Utf16,
    /// An alias of `utf16le`.
    Wide,
    Windash,
    Expand,
}

impl Modifier {
    /// Every modifier, once.
    pub const ALL: &'static [Modifier] = &[
        Modifier::Contains,
        Modifier::StartsWith,
        Modifier::EndsWith,
        Modifier::All,
        Modifier::Cased,
        Modifier::Exists,
        Modifier::Re,
        Modifier::ReI,
        Modifier::ReM,
        Modifier::ReS,
        Modifier::Cidr,
        Modifier::Gt,
        Modifier::Gte,
        Modifier::Lt,
        Modifier::Lte,
        Modifier::Neq,
        Modifier::FieldRef,
        Modifier::Base64,
        Modifier::Base64Offset,
        Modifier::Utf16le,
        Modifier::Utf16be,
        Modifier::Utf16,
        Modifier::Wide,
        Modifier::Windash,
        Modifier::Expand,
    ];

    /// The modifier spelled `name`, case-sensitively (as pySigma). Also reads
    /// pySigma's `ignorecase`, `multiline` and `dotall` as `i`, `m`, `s`.
    pub fn from_name(name: &str) -> Option<Modifier> {
        Some(match name {
            "ignorecase" => Modifier::ReI,
            "multiline" => Modifier::ReM,
            "dotall" => Modifier::ReS,
            _ => return Modifier::ALL.iter().copied().find(|m| m.name() == name),
        })
    }

    /// The specification's spelling.
    pub fn name(self) -> &'static str {
        match self {
            Modifier::Contains => "contains",
            Modifier::StartsWith => "startswith",
            Modifier::EndsWith => "endswith",
            Modifier::All => "all",
            Modifier::Cased => "cased",
            Modifier::Exists => "exists",
            Modifier::Re => "re",
            Modifier::ReI => "i",
            Modifier::ReM => "m",
            Modifier::ReS => "s",
            Modifier::Cidr => "cidr",
            Modifier::Gt => "gt",
            Modifier::Gte => "gte",
            Modifier::Lt => "lt",
            Modifier::Lte => "lte",
            Modifier::Neq => "neq",
            Modifier::FieldRef => "fieldref",
            Modifier::Base64 => "base64",
            Modifier::Base64Offset => "base64offset",
            Modifier::Utf16le => "utf16le",
            Modifier::Utf16be => "utf16be",
            Modifier::Utf16 => "utf16",
            Modifier::Wide => "wide",
            Modifier::Windash => "windash",
            Modifier::Expand => "expand",
        }
    }

    fn is_match(self) -> bool {
        matches!(self, Modifier::Contains | Modifier::StartsWith | Modifier::EndsWith)
    }

    fn is_utf16(self) -> bool {
        matches!(self, Modifier::Utf16le | Modifier::Utf16be | Modifier::Utf16 | Modifier::Wide)
    }

    fn is_encoding(self) -> bool {
        self.is_utf16() || matches!(self, Modifier::Base64 | Modifier::Base64Offset)
    }

    /// `all` and `neq` act on the whole value list (pySigma's list
    /// modifiers), so they go with anything and anywhere in a chain.
    fn is_list_flag(self) -> bool {
        matches!(self, Modifier::All | Modifier::Neq)
    }

    /// Modifiers that turn the value into something other than a string
    /// pattern, after which only some modifiers can follow.
    fn is_typing(self) -> bool {
        matches!(
            self,
            Modifier::Re
                | Modifier::Cidr
                | Modifier::Gt
                | Modifier::Gte
                | Modifier::Lt
                | Modifier::Lte
                | Modifier::FieldRef
        )
    }
}

/// Checks a modifier chain for impossible combinations; Err(message, index of
/// the offending modifier). The chain is read left to right, and the index is
/// that of the first modifier the chain cannot take after those before it
/// (`base64offset` without a following `contains` is reported at the
/// `base64offset`).
///
/// The rules, and where each comes from:
/// - A modifier twice is refused, except `base64` (pySigma's validator: the
///   same list and allowance; `base64|base64` is double encoding). Two of
///   `utf16`, `utf16le`, `utf16be`, `wide` are refused likewise (one UTF-16
///   encoding of a value).
/// - `exists` takes no other modifier (pySigma: only on an unmodified boolean,
///   and nothing string-like can follow its result).
/// - Two of `contains`, `startswith`, `endswith` are refused: they contradict
///   or repeat one another.
/// - `re`, `cidr`, `gt`/`gte`/`lt`/`lte` take the value as written, so only
///   `all` and `neq` may come before them (pySigma: "only applicable to
///   unmodified values"; `all` and `neq` are list modifiers there, which this
///   check lets stand anywhere). `cased` before `re` is refused: a regex is
///   case-sensitive already, and `i` is the way to ignore case.
/// - After `re`: only `i`, `m`, `s`, `all`, `neq` and `expand` (pySigma takes
///   `expand` on a regex). `re|contains` is refused here, although pySigma
///   wraps the regex in `.*`: whether a Sigma regex is anchored is left to
///   each backend, so the combination has no one meaning.
/// - `i`, `m`, `s` need `re` before them (pySigma: they take a regex).
/// - After `cidr` or a comparison: only `all` and `neq` (pySigma: the result
///   is no longer a string or number; two comparisons are refused this way).
/// - `fieldref`: only `all`, `neq`, `cased` before it; `contains`,
///   `startswith`, `endswith`, `all`, `neq`, `cased` after (pySigma: a field
///   reference takes the three match modifiers; the appendix: it "can be
///   combined with the `neq` modifier").
/// - `base64` and `base64offset` after `contains`/`startswith`/`endswith` are
///   refused: they would encode the wildcards those add (pySigma: "Base64
///   encoding of strings with wildcards is not allowed").
/// - `base64offset` must be followed by `contains` (pySigma's validator: "must
///   be followed by a 'contains' modifier, because calculated values will be
///   prefixed/suffixed with further characters"), and by nothing but
///   `contains`, `all`, `neq` and `cased`: its three values are fragments of
///   an encoding, which no further encoding or `startswith` can use.
/// - `windash` and `expand` must come before every encoding: after one, the
///   text they would edit is base64 or UTF-16 code units, where a dash or a
///   `%name%` is no longer what the rule's author wrote.
///
/// Not refused: `all` without `contains` (pySigma's validator warns: a field
/// cannot equal two different values, but `all` fits `re`, `endswith` and
/// keyword lists), and `windash` with `all` (pySigma's validator warns,
/// because pySigma puts the variants into the `and`; a caller that ors each
/// value's variants first gives it its plain meaning).
pub fn check_chain(mods: &[Modifier]) -> Result<(), (String, usize)> {
    for (k, &m) in mods.iter().enumerate() {
        check_step(&mods[..k], m).map_err(|msg| (msg, k))?;
    }
    if let Some(k) = mods.iter().position(|&m| m == Modifier::Base64Offset)
        && !mods[k..].contains(&Modifier::Contains)
    {
        return Err((
            "`base64offset` must be followed by `contains`: its values are fragments found inside a longer encoding"
                .to_string(),
            k,
        ));
    }
    Ok(())
}

/// Whether `m` may follow `before`; the message if not.
fn check_step(before: &[Modifier], m: Modifier) -> Result<(), String> {
    use Modifier as M;
    let name = m.name();
    if m != M::Base64 && before.contains(&m) {
        return Err(format!("`{name}` appears twice"));
    }
    if (m == M::Exists && !before.is_empty()) || before.contains(&M::Exists) {
        return Err("`exists` takes no other modifier".to_string());
    }
    if m.is_utf16()
        && let Some(other) = before.iter().find(|b| b.is_utf16())
    {
        return Err(format!("`{name}` after `{}`: a value takes one UTF-16 encoding", other.name()));
    }
    if m.is_match()
        && let Some(other) = before.iter().find(|b| b.is_match())
    {
        return Err(format!("`{name}` after `{}`: a value takes one of contains, startswith, endswith", other.name()));
    }
    match m {
        M::Re | M::Cidr | M::Gt | M::Gte | M::Lt | M::Lte => {
            if let Some(other) = before.iter().find(|b| !b.is_list_flag()) {
                return Err(format!(
                    "`{name}` after `{}`: `{name}` takes the value as written, so only `all` and `neq` can come before it",
                    other.name()
                ));
            }
        }
        M::ReI | M::ReM | M::ReS if !before.contains(&M::Re) => {
            return Err(format!("`{name}` is a flag of `re`, which must come before it"));
        }
        M::FieldRef => {
            if let Some(other) = before.iter().find(|b| !b.is_list_flag() && **b != M::Cased) {
                return Err(format!("`fieldref` after `{}`: the value must be a plain field name", other.name()));
            }
        }
        _ => {}
    }
    if let Some(&typing) = before.iter().find(|b| b.is_typing()) {
        let allowed = match typing {
            M::Re => matches!(m, M::ReI | M::ReM | M::ReS | M::All | M::Neq | M::Expand),
            M::FieldRef => m.is_match() || matches!(m, M::All | M::Neq | M::Cased),
            _ => m.is_list_flag(),
        };
        if !allowed {
            let tname = typing.name();
            return Err(match (typing, m) {
                (M::Re, m) if m.is_match() => {
                    format!("`re` cannot take `{name}`: write where the regex must match into the regex itself")
                }
                (M::Re, M::Cased) => "`re` is case-sensitive already; `i` makes it ignore case".to_string(),
                (M::Re, _) => format!("`{name}` cannot follow `re`: the value is a regular expression"),
                (M::FieldRef, _) => format!("`{name}` cannot follow `fieldref`: the value names a field"),
                _ => format!("`{name}` cannot follow `{tname}`"),
            });
        }
    }
    if matches!(m, M::Base64 | M::Base64Offset)
        && let Some(other) = before.iter().find(|b| b.is_match())
    {
        return Err(format!(
            "`{name}` after `{}` would encode a wildcard: put `{}` after `{name}`",
            other.name(),
            other.name()
        ));
    }
    if before.contains(&M::Base64Offset) && !matches!(m, M::Contains | M::All | M::Neq | M::Cased) {
        return Err(format!(
            "`{name}` after `base64offset`: its values are fragments of an encoding, which only `contains` can use"
        ));
    }
    if matches!(m, M::Windash | M::Expand)
        && let Some(other) = before.iter().find(|b| b.is_encoding())
    {
        return Err(format!("`{name}` after `{}`: `{name}` must come before every encoding", other.name()));
    }
    Ok(())
}

/// A string value's pattern after wildcard and escape processing.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Piece {
    /// Plain text (never empty in [`parse_pattern`]'s output).
    Lit(String),
    /// `*`: any run of characters, empty included.
    AnyRun,
    /// `?`: exactly one character.
    AnyOne,
}

/// A value's pieces: adjacent `Lit`s merged, `**` as one `AnyRun`. See the
/// module documentation for the escapes.
pub fn parse_pattern(value: &str) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut lit = String::new();
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.peek() {
                Some(&n @ ('*' | '?' | '\\')) => {
                    lit.push(n);
                    chars.next();
                }
                // Before any other character, or at the end: a plain backslash.
                _ => lit.push('\\'),
            },
            '*' | '?' => {
                push_lit(&mut out, std::mem::take(&mut lit));
                push_piece(&mut out, if c == '*' { Piece::AnyRun } else { Piece::AnyOne });
            }
            _ => lit.push(c),
        }
    }
    push_lit(&mut out, lit);
    out
}

fn push_lit(out: &mut Vec<Piece>, s: String) {
    push_piece(out, Piece::Lit(s));
}

/// Appends, merging with the last piece where two make one.
fn push_piece(out: &mut Vec<Piece>, p: Piece) {
    match (out.last_mut(), p) {
        (_, Piece::Lit(s)) if s.is_empty() => {}
        (Some(Piece::Lit(last)), Piece::Lit(s)) => last.push_str(&s),
        (Some(Piece::AnyRun), Piece::AnyRun) => {}
        (_, p) => out.push(p),
    }
}

/// The same pattern in [`parse_pattern`]'s form: no empty `Lit`, adjacent
/// `Lit`s merged, adjacent `AnyRun`s as one.
pub fn normalize(pieces: &[Piece]) -> Vec<Piece> {
    let mut out = Vec::with_capacity(pieces.len());
    for p in pieces {
        push_piece(&mut out, p.clone());
    }
    out
}

/// The pattern as value text, escaped so that [`parse_pattern`] gives it back
/// (normalized): `*`, `?` and `\` in a `Lit` are written `\*`, `\?`, `\\`.
pub fn render(pieces: &[Piece]) -> String {
    let mut out = String::new();
    for p in pieces {
        match p {
            Piece::Lit(s) => out.push_str(&escape(s)),
            Piece::AnyRun => out.push('*'),
            Piece::AnyOne => out.push('?'),
        }
    }
    out
}

/// Plain text as value text: `*`, `?` and `\` escaped.
pub fn escape(literal: &str) -> String {
    let mut out = String::with_capacity(literal.len());
    for c in literal.chars() {
        if matches!(c, '*' | '?' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// How a pattern can be tested without a regex, if it can. The strings are
/// the plain text to look for; case is the caller's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    Exact(String),
    Contains(String),
    StartsWith(String),
    EndsWith(String),
    /// Only `*`s: anything matches, the empty string included.
    Any,
    Regex,
}

/// The pattern's [`Shape`] (of its normalized form, so `**a` is EndsWith).
/// The empty pattern is `Exact("")`; any `?` makes it `Regex`.
pub fn shape(pieces: &[Piece]) -> Shape {
    use Piece::{AnyRun, Lit};
    match normalize(pieces).as_slice() {
        [] => Shape::Exact(String::new()),
        [AnyRun] => Shape::Any,
        [Lit(s)] => Shape::Exact(s.clone()),
        [AnyRun, Lit(s)] => Shape::EndsWith(s.clone()),
        [Lit(s), AnyRun] => Shape::StartsWith(s.clone()),
        [AnyRun, Lit(s), AnyRun] => Shape::Contains(s.clone()),
        _ => Shape::Regex,
    }
}

/// An anchored regex (`^...$`, with `(?s)` so `*` and `?` cross newlines)
/// equivalent to the pattern, for the `regex` crate; `case_insensitive` adds
/// `(?i)` (Unicode simple case folding). `?` is one character (one Unicode
/// scalar value).
pub fn to_regex(pieces: &[Piece], case_insensitive: bool) -> String {
    let mut re = String::from(if case_insensitive { "(?is)^" } else { "(?s)^" });
    for p in normalize(pieces) {
        match p {
            Piece::Lit(s) => re.push_str(&regex::escape(&s)),
            Piece::AnyRun => re.push_str(".*"),
            Piece::AnyOne => re.push('.'),
        }
    }
    re.push('$');
    re
}

/// Undoes the escapes only, for values that are plain text (after a
/// transform, a `fieldref`): `a\*b` -> `a*b`, `a\\b` -> `a\b`, `a\b` -> `a\b`.
/// An unescaped `*` or `?` stays as it is, so `a*b` gives `a*b` too: test for
/// wildcards with [`parse_pattern`] first where that matters.
pub fn unescape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for p in parse_pattern(value) {
        match p {
            Piece::Lit(s) => out.push_str(&s),
            Piece::AnyRun => out.push('*'),
            Piece::AnyOne => out.push('?'),
        }
    }
    out
}

const BASE64_ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard Base64 (RFC 4648 section 4: `+`, `/`, `=` padding), as the
/// `base64` modifier.
pub fn base64(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
        let n = (b(0) << 16) | (b(1) << 8) | b(2);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(BASE64_ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The `base64offset` modifier: the parts of the value's Base64 encoding that
/// stay the same wherever it sits in a longer encoded text, for the three
/// positions it can start at relative to the 3-byte groups (pySigma: encode
/// the value after 0, 1, 2 filler bytes, then cut the 0, 2, 3 leading
/// characters that depend on the filler and the 0, 3, 2 trailing characters
/// that depend on what follows, by (filler + value length) mod 3).
///
/// A value of 0 or 1 bytes leaves an empty string among the three (`a` gives
/// `Y`, ``, `h`), as in pySigma; with `contains` an empty string matches
/// everything, so a caller should refuse it ([`apply_modifiers`] does).
pub fn base64_offsets(bytes: &[u8]) -> [String; 3] {
    const CUT_START: [usize; 3] = [0, 2, 3];
    const CUT_END: [usize; 3] = [0, 3, 2];
    std::array::from_fn(|i| {
        let mut shifted = vec![b' '; i];
        shifted.extend_from_slice(bytes);
        let encoded = base64(&shifted);
        let end = encoded.len() - CUT_END[(bytes.len() + i) % 3];
        encoded.get(CUT_START[i]..end).unwrap_or_default().to_string()
    })
}

/// UTF-16 little-endian, no byte order mark (`utf16le`, `wide`):
/// `cmd` -> `63 00 6d 00 64 00`.
pub fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// UTF-16 big-endian, no byte order mark (`utf16be`): `cmd` -> `00 63 00 6d 00 64`.
pub fn utf16be(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_be_bytes).collect()
}

/// `utf16`: the byte order mark `FF FE`, then little-endian, as the appendix
/// gives it (`cmd` -> `FF FE 63 00 6d 00 64 00`) and pySigma does (with the
/// mark as a character, see the module documentation).
pub fn utf16_bom(s: &str) -> Vec<u8> {
    let mut out = vec![0xFF, 0xFE];
    out.extend(utf16le(s));
    out
}

/// Encoded bytes as text a log field could hold: Some when they are UTF-8.
/// `utf16le` of ASCII text is (a NUL after each character, which is how
/// pySigma matches such a value); a byte order mark, or `ä` as `E4 00`, is not.
pub fn bytes_to_text(b: &[u8]) -> Option<String> {
    String::from_utf8(b.to_vec()).ok()
}

/// The characters `windash` puts at each dash position: hyphen-minus, slash,
/// en dash, em dash, horizontal bar (the appendix's list, pySigma's order).
pub const WINDASH_CHARS: [char; 5] = ['-', '/', '\u{2013}', '\u{2014}', '\u{2015}'];

/// Python's `\w` for text, near enough: letters, digits, `_`.
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The char indices `windash` varies: a `-` or `/` at pySigma's `\B[-/]\b`,
/// i.e. not after a word character and before one (`-param`, ` /c`, the
/// second dash of `--help`, but not the dash of `a-b` nor a dash at the end).
fn windash_indices(chars: &[char]) -> Vec<usize> {
    (0..chars.len())
        .filter(|&i| {
            matches!(chars[i], '-' | '/')
                && (i == 0 || !is_word_char(chars[i - 1]))
                && chars.get(i + 1).is_some_and(|&c| is_word_char(c))
        })
        .collect()
}

/// How many dash positions `windash` varies in `s`; it gives 5 to that power
/// variants, so a caller can refuse a value with too many.
pub fn windash_positions(s: &str) -> usize {
    windash_indices(&s.chars().collect::<Vec<_>>()).len()
}

/// The `windash` modifier: every variant of `s` with each dash position (see
/// [`windash_positions`]: a `-` or `/` that starts a word after a non-word
/// character, as pySigma's `\B[-/]\b`) replaced by each of [`WINDASH_CHARS`],
/// every combination, the original first (then each position's other
/// characters in [`WINDASH_CHARS`] order, the first position varying
/// slowest), no duplicates. Dashes already written as en dash, em dash or
/// horizontal bar are not varied (pySigma varies `-` and `/` only).
///
/// It gives the same variants for a value as written and for its plain text
/// ([`unescape`]): escapes and wildcards are non-word characters either way.
pub fn windash(s: &str) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    let indices = windash_indices(&chars);
    let choices: Vec<Vec<char>> = indices
        .iter()
        .map(|&i| std::iter::once(chars[i]).chain(WINDASH_CHARS.into_iter().filter(|&d| d != chars[i])).collect())
        .collect();
    product(&choices)
        .into_iter()
        .map(|combo| {
            let mut variant = chars.clone();
            for (&i, c) in indices.iter().zip(combo) {
                variant[i] = c;
            }
            variant.into_iter().collect()
        })
        .collect()
}

/// Every combination of one item from each list, the first list varying
/// slowest; one empty combination for no lists.
fn product<T: Clone>(lists: &[Vec<T>]) -> Vec<Vec<T>> {
    let mut out = vec![Vec::with_capacity(lists.len())];
    for list in lists {
        out = out
            .into_iter()
            .flat_map(|prefix| {
                list.iter().map(move |item| {
                    let mut next = prefix.clone();
                    next.push(item.clone());
                    next
                })
            })
            .collect();
    }
    out
}

/// A piece of a value after placeholder splitting.
enum Slot {
    Fixed(Piece),
    Placeholder(String),
}

/// Splits plain text at `%name%` placeholders as pySigma's
/// `insert_placeholders`: a `%`, one or more characters other than `%`, a
/// `%`, the opening `%` not after a backslash; in the text between, `\%` is
/// a plain `%`.
fn split_placeholders(text: &str, out: &mut Vec<Slot>) {
    let plain = |s: &str| Slot::Fixed(Piece::Lit(s.replace("\\%", "%")));
    let bytes = text.as_bytes();
    let mut last = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && (i == 0 || bytes[i - 1] != b'\\')
            && let Some(len) = text[i + 1..].find('%')
            && len > 0
        {
            out.push(plain(&text[last..i]));
            out.push(Slot::Placeholder(text[i + 1..i + 1 + len].to_string()));
            i += len + 2;
            last = i;
        } else {
            i += 1;
        }
    }
    out.push(plain(&text[last..]));
}

/// `expand` on parsed pieces: every combination of the placeholders' values,
/// each value read as a pattern (pySigma makes a `SigmaString` of it, so its
/// wildcards are wildcards).
fn expand_pieces(pieces: &[Piece], values: &dyn Fn(&str) -> Option<Vec<String>>) -> Result<Vec<Vec<Piece>>, String> {
    let mut slots = Vec::new();
    for p in pieces {
        match p {
            Piece::Lit(s) => split_placeholders(s, &mut slots),
            other => slots.push(Slot::Fixed(other.clone())),
        }
    }
    let mut choices: Vec<Vec<Vec<Piece>>> = Vec::with_capacity(slots.len());
    let mut count: usize = 1;
    for slot in slots {
        let choice: Vec<Vec<Piece>> = match slot {
            Slot::Fixed(p) => vec![vec![p]],
            Slot::Placeholder(name) => match values(&name) {
                Some(vs) => vs.iter().map(|v| parse_pattern(v)).collect(),
                None => return Err(name),
            },
        };
        // Bounded before the product is built: `%p%` seven times over ten
        // values is ten million combinations.
        count = count.saturating_mul(choice.len());
        if count > MAX_VARIANTS {
            return Err(String::new());
        }
        choices.push(choice);
    }
    Ok(dedup(product(&choices).into_iter().map(|combo| normalize(&combo.concat())).collect()))
}

/// The `expand` modifier on a value as written (escapes and wildcards in
/// it): each value with its `%name%` placeholders replaced by every
/// combination of `values(name)` (the first placeholder varying slowest),
/// as value text again ([`render`]), for [`parse_pattern`]. Placeholders
/// are found as pySigma finds them (see the specification's
/// `\%plain%name%`): not across a wildcard, not after a backslash, and `\%`
/// is a plain `%` (so `\\%name%` is a plain `\%name%` here too: pySigma
/// reads the escape before it looks for placeholders). A value from
/// `values` is itself value text: its `*` is a wildcard. A name with an
/// empty list gives no values (nothing matches); Err(name) for a placeholder
/// with no entry in `values`.
pub fn expand(s: &str, values: &dyn Fn(&str) -> Option<Vec<String>>) -> Result<Vec<String>, String> {
    Ok(expand_pieces(&parse_pattern(s), values)?.iter().map(|p| render(p)).collect())
}

fn dedup<T: Clone + Eq + std::hash::Hash>(items: Vec<T>) -> Vec<T> {
    let mut seen = HashSet::with_capacity(items.len());
    items.into_iter().filter(|x| seen.insert(x.clone())).collect()
}

/// At most this many alternatives from one value in [`apply_modifiers`]
/// (`windash` gives 5 to the power of its dash positions).
pub const MAX_VARIANTS: usize = 4096;

/// At most this many bytes in all the alternatives of one value after a
/// modifier of [`apply_modifiers`].
pub const MAX_VALUE_BYTES: usize = 1 << 20;

/// A piece of a value in [`apply_modifiers`]: text or encoded bytes.
#[derive(Clone, PartialEq, Eq, Hash)]
enum Chunk {
    Bytes(Vec<u8>),
    AnyRun,
    AnyOne,
}

fn to_chunks(pieces: &[Piece]) -> Vec<Chunk> {
    pieces
        .iter()
        .map(|p| match p {
            Piece::Lit(s) => Chunk::Bytes(s.clone().into_bytes()),
            Piece::AnyRun => Chunk::AnyRun,
            Piece::AnyOne => Chunk::AnyOne,
        })
        .collect()
}

/// Back to pieces; None when a chunk is not UTF-8.
fn to_pieces(chunks: &[Chunk]) -> Option<Vec<Piece>> {
    let mut out = Vec::with_capacity(chunks.len());
    for c in chunks {
        push_piece(
            &mut out,
            match c {
                Chunk::Bytes(b) => Piece::Lit(bytes_to_text(b)?),
                Chunk::AnyRun => Piece::AnyRun,
                Chunk::AnyOne => Piece::AnyOne,
            },
        );
    }
    Some(out)
}

fn plain_bytes(alt: &[Chunk], m: Modifier) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    for c in alt {
        match c {
            Chunk::Bytes(b) => bytes.extend_from_slice(b),
            _ => {
                return Err(format!("`{}` cannot encode a wildcard: escape it (`\\*`, `\\?`) if it is text", m.name()));
            }
        }
    }
    Ok(bytes)
}

/// A string value (as written in the rule) through its modifier chain, in
/// order: the alternatives it matches (any one of them), each a pattern.
/// Handles `contains`, `startswith`, `endswith` (a `*` at the ends, unless
/// there is one), `windash`, `expand` (with `placeholders`, as [`expand`]),
/// `base64`, `base64offset` and the UTF-16 encodings, keeping wildcards as
/// the module documentation says; `all`, `neq` and `cased` are left to the
/// caller (they do not change the value). The chain is checked with
/// [`check_chain`] first. Errors: a chain `check_chain` refuses; `re`,
/// `i`/`m`/`s`, `cidr`, comparisons, `fieldref` and `exists` (not string
/// patterns); a wildcard to encode; an unknown placeholder; `base64offset`
/// of a value under 2 bytes (an empty fragment would match everything);
/// more than [`MAX_VARIANTS`] alternatives; and a value left as bytes that
/// are not UTF-8 (`utf16` without `base64`: see [`bytes_to_text`]).
pub fn apply_modifiers(
    value: &str,
    mods: &[Modifier],
    placeholders: &dyn Fn(&str) -> Option<Vec<String>>,
) -> Result<Vec<Vec<Piece>>, String> {
    use Modifier as M;
    check_chain(mods).map_err(|(msg, _)| msg)?;
    let mut alts: Vec<Vec<Chunk>> = vec![to_chunks(&parse_pattern(value))];
    for &m in mods {
        alts = match m {
            M::All | M::Neq | M::Cased => continue,
            M::Re | M::ReI | M::ReM | M::ReS | M::Cidr | M::Gt | M::Gte | M::Lt | M::Lte | M::FieldRef | M::Exists => {
                return Err(format!("`{}` does not make a string pattern", m.name()));
            }
            M::Contains | M::StartsWith | M::EndsWith => alts
                .into_iter()
                .map(|mut alt| {
                    if m != M::EndsWith && alt.last() != Some(&Chunk::AnyRun) {
                        alt.push(Chunk::AnyRun);
                    }
                    if m != M::StartsWith && alt.first() != Some(&Chunk::AnyRun) {
                        alt.insert(0, Chunk::AnyRun);
                    }
                    alt
                })
                .collect(),
            M::Windash => {
                let mut out = Vec::new();
                for alt in alts {
                    // Bounded before the variants are built: 5 per dash position.
                    let positions: usize = alt
                        .iter()
                        .map(|c| match c {
                            Chunk::Bytes(b) => windash_positions(&String::from_utf8_lossy(b)),
                            _ => 0,
                        })
                        .sum();
                    if positions > 0 && (positions > 20 || 5usize.pow(positions as u32) > MAX_VARIANTS) {
                        return Err(too_many(m));
                    }
                    let choices: Vec<Vec<Chunk>> = alt
                        .iter()
                        .map(|c| match c {
                            // Text: check_chain puts windash before every encoding.
                            Chunk::Bytes(b) => windash(&String::from_utf8_lossy(b))
                                .into_iter()
                                .map(|v| Chunk::Bytes(v.into_bytes()))
                                .collect(),
                            other => vec![other.clone()],
                        })
                        .collect();
                    let count = choices.iter().try_fold(1usize, |n, c| n.checked_mul(c.len()));
                    if count.is_none_or(|n| n.saturating_add(out.len()) > MAX_VARIANTS) {
                        return Err(too_many(m));
                    }
                    out.extend(product(&choices));
                }
                out
            }
            M::Expand => {
                let mut out = Vec::new();
                for alt in alts {
                    let pieces = to_pieces(&alt).unwrap_or_default();
                    let expanded = expand_pieces(&pieces, placeholders).map_err(|name| {
                        if name.is_empty() { too_many(m) } else { format!("no values for the placeholder `%{name}%`") }
                    })?;
                    out.extend(expanded.iter().map(|p| to_chunks(p)));
                    if out.len() > MAX_VARIANTS {
                        return Err(too_many(m));
                    }
                }
                out
            }
            M::Base64 => alts
                .iter()
                .map(|alt| Ok(vec![Chunk::Bytes(base64(&plain_bytes(alt, m)?).into_bytes())]))
                .collect::<Result<_, String>>()?,
            M::Base64Offset => {
                let mut out = Vec::with_capacity(alts.len() * 3);
                for alt in &alts {
                    let bytes = plain_bytes(alt, m)?;
                    if bytes.len() < 2 {
                        return Err(
                            "`base64offset` of a value under 2 bytes has an empty fragment, which would match everything"
                                .to_string(),
                        );
                    }
                    out.extend(base64_offsets(&bytes).into_iter().map(|s| vec![Chunk::Bytes(s.into_bytes())]));
                }
                if out.len() > MAX_VARIANTS {
                    return Err(too_many(m));
                }
                out
            }
            M::Utf16le | M::Wide | M::Utf16be | M::Utf16 => alts
                .into_iter()
                .map(|alt| {
                    let mut out: Vec<Chunk> = alt
                        .into_iter()
                        .map(|c| match c {
                            Chunk::Bytes(b) => {
                                let text = String::from_utf8_lossy(&b);
                                Chunk::Bytes(if m == M::Utf16be { utf16be(&text) } else { utf16le(&text) })
                            }
                            other => other,
                        })
                        .collect();
                    if m == M::Utf16 {
                        // The mark goes first, before a leading wildcard too (as pySigma).
                        out.insert(0, Chunk::Bytes(vec![0xFF, 0xFE]));
                    }
                    out
                })
                .collect(),
        };
        // Each `base64` makes the value a third longer: bounded, so a chain
        // of seventy cannot take gigabytes.
        let bytes: usize = alts.iter().flatten().map(|c| if let Chunk::Bytes(b) = c { b.len() } else { 1 }).sum();
        if bytes > MAX_VALUE_BYTES {
            return Err(format!("`{}` makes the value longer than {MAX_VALUE_BYTES} bytes", m.name()));
        }
    }
    let mut out = Vec::with_capacity(alts.len());
    for alt in dedup(alts) {
        out.push(to_pieces(&alt).ok_or_else(|| {
            "the encoded value is not text a log can hold (UTF-16 bytes that are not UTF-8): follow the UTF-16 \
             modifier with `base64` or `base64offset`"
                .to_string()
        })?);
    }
    Ok(out)
}

fn too_many(m: Modifier) -> String {
    format!("`{}` gives more than {MAX_VARIANTS} values", m.name())
}

#[cfg(test)]
mod tests {
    use super::Modifier as M;
    use super::*;
    use Piece::{AnyOne, AnyRun, Lit};

    fn lit(s: &str) -> Piece {
        Lit(s.to_string())
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn no_placeholders(_: &str) -> Option<Vec<String>> {
        None
    }

    // ---- modifier names ----

    #[test]
    fn every_modifier_has_one_spelling_that_reads_back() {
        assert_eq!(M::ALL.len(), 25);
        let names: HashSet<&str> = M::ALL.iter().map(|m| m.name()).collect();
        assert_eq!(names.len(), 25);
        for &m in M::ALL {
            assert_eq!(M::from_name(m.name()), Some(m), "{m:?}");
        }
    }

    #[test]
    fn modifier_names_are_the_specification_spellings() {
        let expected = [
            ("contains", M::Contains),
            ("startswith", M::StartsWith),
            ("endswith", M::EndsWith),
            ("all", M::All),
            ("cased", M::Cased),
            ("exists", M::Exists),
            ("re", M::Re),
            ("i", M::ReI),
            ("m", M::ReM),
            ("s", M::ReS),
            ("cidr", M::Cidr),
            ("gt", M::Gt),
            ("gte", M::Gte),
            ("lt", M::Lt),
            ("lte", M::Lte),
            ("neq", M::Neq),
            ("fieldref", M::FieldRef),
            ("base64", M::Base64),
            ("base64offset", M::Base64Offset),
            ("utf16le", M::Utf16le),
            ("utf16be", M::Utf16be),
            ("utf16", M::Utf16),
            ("wide", M::Wide),
            ("windash", M::Windash),
            ("expand", M::Expand),
        ];
        for (name, m) in expected {
            assert_eq!(M::from_name(name), Some(m), "{name}");
            assert_eq!(m.name(), name);
        }
    }

    #[test]
    fn modifier_names_are_case_sensitive_and_pysigma_aliases_are_read() {
        assert_eq!(M::from_name("ignorecase"), Some(M::ReI));
        assert_eq!(M::from_name("multiline"), Some(M::ReM));
        assert_eq!(M::from_name("dotall"), Some(M::ReS));
        for name in ["Contains", "CONTAINS", "Re", "I", "base64Offset", "", " contains", "minute", "year", "regex"] {
            assert_eq!(M::from_name(name), None, "{name:?}");
        }
    }

    // ---- chains ----

    #[test]
    fn valid_chains_pass() {
        let valid: &[&[Modifier]] = &[
            &[],
            &[M::Contains],
            &[M::Contains, M::All],
            &[M::All, M::Contains],
            &[M::Cased, M::EndsWith],
            &[M::Base64Offset, M::Contains],
            &[M::Base64Offset, M::Contains, M::All],
            &[M::Utf16le, M::Base64Offset, M::Contains],
            &[M::Windash, M::Utf16le, M::Base64Offset, M::Contains],
            &[M::Windash, M::Contains],
            &[M::Contains, M::Windash],
            &[M::Windash, M::Contains, M::All],
            &[M::Base64],
            &[M::Base64, M::Base64],
            &[M::Base64, M::Contains],
            &[M::Contains, M::Utf16le],
            &[M::Wide, M::Base64],
            &[M::Expand],
            &[M::Expand, M::Contains],
            &[M::Re],
            &[M::Re, M::ReI, M::ReM, M::ReS],
            &[M::Re, M::All],
            &[M::All, M::Re],
            &[M::Neq, M::Re, M::ReI],
            &[M::Re, M::Expand],
            &[M::Cidr],
            &[M::Cidr, M::Neq],
            &[M::Gt],
            &[M::Lte, M::All],
            &[M::FieldRef],
            &[M::FieldRef, M::Contains],
            &[M::FieldRef, M::Neq],
            &[M::Cased, M::FieldRef, M::StartsWith],
            &[M::Exists],
            &[M::Neq],
            &[M::Neq, M::Contains],
        ];
        for chain in valid {
            assert_eq!(check_chain(chain), Ok(()), "{chain:?}");
        }
    }

    #[test]
    fn invalid_chains_are_refused_at_the_offending_modifier() {
        let invalid: &[(&[Modifier], usize, &str)] = &[
            (&[M::Re, M::Contains], 1, "`re` cannot take `contains`"),
            (&[M::Contains, M::Re], 1, "only `all` and `neq` can come before"),
            (&[M::Re, M::StartsWith], 1, "`re` cannot take `startswith`"),
            (&[M::Contains, M::StartsWith], 1, "one of contains, startswith, endswith"),
            (&[M::EndsWith, M::Base64, M::StartsWith], 1, "would encode a wildcard"),
            (&[M::ReI], 0, "`i` is a flag of `re`"),
            (&[M::Contains, M::ReM], 1, "`m` is a flag of `re`"),
            (&[M::ReS, M::Re], 0, "`s` is a flag of `re`"),
            (&[M::Cidr, M::Contains], 1, "`contains` cannot follow `cidr`"),
            (&[M::Contains, M::Cidr], 1, "only `all` and `neq`"),
            (&[M::Cidr, M::Cidr], 1, "appears twice"),
            (&[M::Cidr, M::Base64], 1, "cannot follow `cidr`"),
            (&[M::Exists, M::Neq], 1, "`exists` takes no other"),
            (&[M::Contains, M::Exists], 1, "`exists` takes no other"),
            (&[M::Gt, M::Contains], 1, "cannot follow `gt`"),
            (&[M::Contains, M::Gt], 1, "only `all` and `neq`"),
            (&[M::Gt, M::Lt], 1, "`lt` after `gt`"),
            (&[M::Base64Offset], 0, "must be followed by `contains`"),
            (&[M::Contains, M::Base64Offset], 1, "would encode a wildcard"),
            (&[M::Base64Offset, M::StartsWith], 1, "only `contains` can use"),
            (&[M::Base64Offset, M::Base64, M::Contains], 1, "only `contains` can use"),
            (&[M::Base64Offset, M::Utf16le, M::Contains], 1, "only `contains` can use"),
            (&[M::Contains, M::Base64], 1, "would encode a wildcard"),
            (&[M::Contains, M::Contains], 1, "appears twice"),
            (&[M::All, M::Contains, M::All], 2, "appears twice"),
            (&[M::Utf16le, M::Wide], 1, "one UTF-16 encoding"),
            (&[M::Utf16, M::Base64, M::Utf16be], 2, "one UTF-16 encoding"),
            (&[M::Base64, M::Windash], 1, "must come before every encoding"),
            (&[M::Utf16, M::Expand], 1, "must come before every encoding"),
            (&[M::Contains, M::FieldRef], 1, "plain field name"),
            (&[M::FieldRef, M::Base64], 1, "cannot follow `fieldref`"),
            (&[M::FieldRef, M::Windash], 1, "cannot follow `fieldref`"),
            (&[M::Cased, M::Re], 1, "only `all` and `neq`"),
            (&[M::Re, M::Cased], 1, "case-sensitive already"),
            (&[M::Re, M::Windash], 1, "cannot follow `re`"),
            (&[M::Re, M::Re], 1, "appears twice"),
        ];
        for (chain, index, message) in invalid {
            match check_chain(chain) {
                Ok(()) => panic!("{chain:?} passed"),
                Err((msg, i)) => {
                    assert_eq!(i, *index, "{chain:?}: {msg}");
                    assert!(msg.contains(message), "{chain:?}: {msg:?} lacks {message:?}");
                }
            }
        }
    }

    // ---- wildcards and escapes ----

    #[test]
    fn patterns_parse_wildcards_and_merge_pieces() {
        assert_eq!(parse_pattern(""), vec![]);
        assert_eq!(parse_pattern("abc"), vec![lit("abc")]);
        assert_eq!(parse_pattern("a*b?c"), vec![lit("a"), AnyRun, lit("b"), AnyOne, lit("c")]);
        assert_eq!(parse_pattern("**a***"), vec![AnyRun, lit("a"), AnyRun]);
        assert_eq!(parse_pattern("??"), vec![AnyOne, AnyOne]);
        assert_eq!(parse_pattern("*?*"), vec![AnyRun, AnyOne, AnyRun]);
    }

    #[test]
    fn escapes_follow_the_specification_list() {
        // `\*`, `\?`: plain wildcard characters, merged into the text around them.
        assert_eq!(parse_pattern(r"a\*b"), vec![lit("a*b")]);
        assert_eq!(parse_pattern(r"a\?"), vec![lit("a?")]);
        // `\\*`: an escaped backslash, then a wildcard.
        assert_eq!(parse_pattern(r"C:\\*"), vec![lit(r"C:\"), AnyRun]);
        // `\\\*`: a backslash and a plain star.
        assert_eq!(parse_pattern(r"\\\*"), vec![lit(r"\*")]);
        // Three or four backslashes: a double backslash.
        assert_eq!(parse_pattern(r"\\\"), vec![lit(r"\\")]);
        assert_eq!(parse_pattern(r"\\\\"), vec![lit(r"\\")]);
        // A backslash before another character, or at the end, is plain.
        assert_eq!(parse_pattern(r"\x"), vec![lit(r"\x")]);
        assert_eq!(parse_pattern(r"a\"), vec![lit(r"a\")]);
        assert_eq!(parse_pattern(r"\"), vec![lit(r"\")]);
        assert_eq!(parse_pattern(r"*\cmd.exe"), vec![AnyRun, lit(r"\cmd.exe")]);
        assert_eq!(parse_pattern(r"*\\cmd.exe"), vec![AnyRun, lit(r"\cmd.exe")]);
        assert_eq!(parse_pattern(r"\%x%"), vec![lit(r"\%x%")]);
    }

    #[test]
    fn unescape_undoes_escapes_only() {
        assert_eq!(unescape(r"a\*b"), "a*b");
        assert_eq!(unescape(r"a\?b"), "a?b");
        assert_eq!(unescape(r"a\\b"), r"a\b");
        assert_eq!(unescape(r"a\b"), r"a\b");
        assert_eq!(unescape(r"a\"), r"a\");
        assert_eq!(unescape(r"\\\*"), r"\*");
        assert_eq!(unescape("a*b?"), "a*b?");
        assert_eq!(unescape(""), "");
    }

    #[test]
    fn render_and_escape_write_value_text() {
        assert_eq!(escape(r"a*b?c\d"), r"a\*b\?c\\d");
        assert_eq!(render(&[AnyRun, lit(r"\"), AnyOne, lit("x*")]), r"*\\?x\*");
        assert_eq!(render(&[]), "");
    }

    #[test]
    fn normalize_merges_and_drops() {
        assert_eq!(
            normalize(&[lit(""), lit("a"), lit("b"), AnyRun, AnyRun, lit(""), AnyOne]),
            vec![lit("ab"), AnyRun, AnyOne]
        );
    }

    #[test]
    fn shapes() {
        let sh = |v: &str| shape(&parse_pattern(v));
        assert_eq!(sh("*a*"), Shape::Contains("a".into()));
        assert_eq!(sh("a*"), Shape::StartsWith("a".into()));
        assert_eq!(sh("*a"), Shape::EndsWith("a".into()));
        assert_eq!(sh("a"), Shape::Exact("a".into()));
        assert_eq!(sh(""), Shape::Exact(String::new()));
        assert_eq!(sh("a*b"), Shape::Regex);
        assert_eq!(sh("*"), Shape::Any);
        assert_eq!(sh("***"), Shape::Any);
        assert_eq!(sh("?a"), Shape::Regex);
        assert_eq!(sh("?"), Shape::Regex);
        assert_eq!(sh("*a*b*"), Shape::Regex);
        assert_eq!(sh(r"*\**"), Shape::Contains("*".into()));
        assert_eq!(sh(r"\?"), Shape::Exact("?".into()));
        // Unnormalized input is normalized first.
        assert_eq!(shape(&[AnyRun, AnyRun, lit("a"), lit("b")]), Shape::EndsWith("ab".into()));
        assert_eq!(shape(&[lit("")]), Shape::Exact(String::new()));
    }

    #[test]
    fn regexes_escape_specials_and_map_wildcards() {
        assert_eq!(to_regex(&parse_pattern("a.b(c)$"), false), r"(?s)^a\.b\(c\)\$$");
        assert_eq!(to_regex(&parse_pattern("a?b*"), false), "(?s)^a.b.*$");
        assert_eq!(to_regex(&parse_pattern(r"x\*y\?"), true), r"(?is)^x\*y\?$");
        assert_eq!(to_regex(&parse_pattern(r"C:\Win[1]+|^"), false), r"(?s)^C:\\Win\[1\]\+\|\^$");
        assert_eq!(to_regex(&[], false), "(?s)^$");
    }

    #[test]
    fn regexes_match_as_the_wildcards_say() {
        let m = |pattern: &str, ci: bool, text: &str| {
            regex::Regex::new(&to_regex(&parse_pattern(pattern), ci)).unwrap().is_match(text)
        };
        assert!(m("a?c", false, "abc"));
        assert!(m("a?c", false, "a\nc"));
        assert!(m("a?c", false, "aéc"));
        assert!(!m("a?c", false, "ac"));
        assert!(!m("a?c", false, "abbc"));
        assert!(m("a*c", false, "a\nb\nc"));
        assert!(m("a*c", false, "ac"));
        assert!(!m("a*c", false, "xac"));
        assert!(!m("a*c", false, "acx"));
        assert!(!m("abc", false, "abc\n"));
        assert!(m("a.c", false, "a.c"));
        assert!(!m("a.c", false, "abc"));
        assert!(!m("ABC", false, "abc"));
        assert!(m("ABC", true, "abc"));
        assert!(m("ÄÖ*", true, "äöx"));
    }

    // ---- encodings ----

    #[test]
    fn base64_matches_the_rfc_4648_test_vectors() {
        // RFC 4648 section 10.
        for (input, expected) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), expected, "{input:?}");
        }
        // Every alphabet character, by hand: 00 10 83 10 51 87 20 92 8B 30 D3 8F
        // 41 14 93 51 55 97 61 96 9B 71 D7 9F 82 18 A3 92 59 A7 A2 9A AB B2 DB AF
        // C3 1C B3 D3 5D B7 E3 9E BB F3 DF BF is 0, 1, 2, ... 63 in 6-bit groups.
        let all: Vec<u8> = vec![
            0x00, 0x10, 0x83, 0x10, 0x51, 0x87, 0x20, 0x92, 0x8B, 0x30, 0xD3, 0x8F, 0x41, 0x14, 0x93, 0x51, 0x55, 0x97,
            0x61, 0x96, 0x9B, 0x71, 0xD7, 0x9F, 0x82, 0x18, 0xA3, 0x92, 0x59, 0xA7, 0xA2, 0x9A, 0xAB, 0xB2, 0xDB, 0xAF,
            0xC3, 0x1C, 0xB3, 0xD3, 0x5D, 0xB7, 0xE3, 0x9E, 0xBB, 0xF3, 0xDF, 0xBF,
        ];
        assert_eq!(base64(&all), "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
        assert_eq!(base64(&[0xFF, 0xFE]), "//4=");
    }

    #[test]
    fn base64_offsets_match_pysigma_and_hand_computed_values() {
        // pySigma's tests/test_modifiers.py `test_base64offset`.
        assert_eq!(base64_offsets(b"foobar"), ["Zm9vYmFy", "Zvb2Jhc", "mb29iYX"]);
        // `ping`, by hand: "ping" = cGluZw== (cut the last 3: cGluZ);
        // " ping" = IHBpbmc= (cut 2 and 2: Bpbm); "  ping" = ICBwaW5n (cut 3: waW5n).
        assert_eq!(base64_offsets(b"ping"), ["cGluZ", "Bpbm", "waW5n"]);
        // `a`, by hand: YQ== -> Y; " a" = IGE= -> empty; "  a" = ICBh -> h.
        assert_eq!(base64_offsets(b"a"), ["Y", "", "h"]);
        assert_eq!(base64_offsets(b""), ["", "", ""]);
        // `cmd` in UTF-16LE (63 00 6D 00 64 00), by hand: YwBtAGQA;
        // " " + it = IGMAbQBkAA== -> MAbQBkA; "  " + it = ICBjAG0AZAA= -> jAG0AZA.
        assert_eq!(base64_offsets(&utf16le("cmd")), ["YwBtAGQA", "MAbQBkA", "jAG0AZA"]);
    }

    #[test]
    fn utf16_encodings_match_the_appendix() {
        // The appendix's examples.
        assert_eq!(utf16le("cmd"), [0x63, 0x00, 0x6d, 0x00, 0x64, 0x00]);
        assert_eq!(utf16be("cmd"), [0x00, 0x63, 0x00, 0x6d, 0x00, 0x64]);
        assert_eq!(utf16_bom("cmd"), [0xFF, 0xFE, 0x63, 0x00, 0x6d, 0x00, 0x64, 0x00]);
        // U+00E4 and U+1F600 (surrogates D83D DE00).
        assert_eq!(utf16le("ä"), [0xE4, 0x00]);
        assert_eq!(utf16le("😀"), [0x3D, 0xD8, 0x00, 0xDE]);
        assert_eq!(utf16be("😀"), [0xD8, 0x3D, 0xDE, 0x00]);
        assert_eq!(utf16le(""), [0u8; 0]);
        assert_eq!(utf16_bom(""), [0xFF, 0xFE]);
    }

    #[test]
    fn bytes_to_text_accepts_utf8_only() {
        assert_eq!(bytes_to_text(&utf16le("cmd")).as_deref(), Some("c\0m\0d\0"));
        assert_eq!(bytes_to_text(&utf16be("cmd")).as_deref(), Some("\0c\0m\0d"));
        assert_eq!(bytes_to_text(&utf16_bom("cmd")), None);
        assert_eq!(bytes_to_text(&utf16le("ä")), None);
        assert_eq!(bytes_to_text(b""), Some(String::new()));
    }

    // ---- windash ----

    #[test]
    fn windash_matches_pysigma_example() {
        // pySigma's tests/test_modifiers.py `test_windash`: every combination,
        // the first dash varying slowest.
        let dashes = ["-", "/", "–", "—", "―"];
        let expected: Vec<String> =
            dashes.iter().flat_map(|a| dashes.iter().map(move |b| format!("{a}param-1 {b}param2"))).collect();
        assert_eq!(expected.len(), 25);
        assert_eq!(windash("-param-1 -param2"), expected);
        assert_eq!(windash_positions("-param-1 -param2"), 2);
    }

    #[test]
    fn windash_puts_the_original_first() {
        assert_eq!(windash("/c"), strings(&["/c", "-c", "\u{2013}c", "\u{2014}c", "\u{2015}c"]));
        assert_eq!(windash(" -enc "), strings(&[" -enc ", " /enc ", " –enc ", " —enc ", " ―enc "]));
    }

    #[test]
    fn windash_varies_only_dashes_that_start_a_word() {
        assert_eq!(windash("a-b"), strings(&["a-b"]));
        assert_eq!(windash("x -"), strings(&["x -"]));
        assert_eq!(windash(""), strings(&[""]));
        assert_eq!(windash("–enc"), strings(&["–enc"]));
        assert_eq!(
            windash("C:/Windows"),
            strings(&["C:/Windows", "C:-Windows", "C:–Windows", "C:—Windows", "C:―Windows"])
        );
        // `--help`: the first dash is before a non-word character.
        assert_eq!(windash("--help"), strings(&["--help", "-/help", "-–help", "-—help", "-―help"]));
        // After a wildcard or an escape, as after any non-word character.
        assert_eq!(windash_positions("*-x"), 1);
        assert_eq!(windash_positions(r"\-x"), 1);
        assert_eq!(windash_positions("a/b c-d"), 0);
        assert_eq!(windash_positions("-_x"), 1);
    }

    // ---- expand ----

    fn vars(name: &str) -> Option<Vec<String>> {
        match name {
            "name" => Some(strings(&["N1", "N2"])),
            "a" => Some(strings(&["1", "2"])),
            "b" => Some(strings(&["x", "y"])),
            "srv" => Some(strings(&["srv*", r"web\*"])),
            "none" => Some(vec![]),
            "dup" => Some(strings(&["same", "same"])),
            _ => None,
        }
    }

    #[test]
    fn expand_follows_the_specification_examples() {
        // `\%plain%name%`: `%plain` is plain, `%name%` a placeholder.
        assert_eq!(expand(r"\%plain%name%", &vars), Ok(strings(&["%plainN1", "%plainN2"])));
        assert_eq!(expand("%name%", &vars), Ok(strings(&["N1", "N2"])));
        assert_eq!(expand("plain", &vars), Ok(strings(&["plain"])));
    }

    #[test]
    fn expand_gives_every_combination_first_placeholder_slowest() {
        assert_eq!(expand("%a%-%b%", &vars), Ok(strings(&["1-x", "1-y", "2-x", "2-y"])));
        assert_eq!(expand("*%a%*", &vars), Ok(strings(&["*1*", "*2*"])));
    }

    #[test]
    fn expand_reads_values_as_patterns_and_keeps_escapes() {
        assert_eq!(expand("%srv%.corp", &vars), Ok(strings(&["srv*.corp", r"web\*.corp"])));
        assert_eq!(expand(r"\*%b%\\", &vars), Ok(strings(&[r"\*x\\", r"\*y\\"])));
        // pySigma reads `\\` before looking for placeholders: a plain `%a%` stays.
        assert_eq!(expand(r"\\%a%", &vars), Ok(strings(&["%a%"])));
    }

    #[test]
    fn expand_edge_cases() {
        assert_eq!(expand("%missing%", &vars), Err("missing".to_string()));
        assert_eq!(expand("%none%x", &vars), Ok(vec![]));
        assert_eq!(expand("%dup%", &vars), Ok(strings(&["same"])));
        // `%%` is no placeholder; the next `%` can open one.
        assert_eq!(expand("%%a%", &vars), Ok(strings(&["%1", "%2"])));
        assert_eq!(expand("50%", &vars), Ok(strings(&["50%"])));
        // Not across a wildcard.
        assert_eq!(expand("%a*b%", &vars), Ok(strings(&["%a*b%"])));
    }

    // ---- whole chains ----

    fn apply(value: &str, mods: &[Modifier]) -> Result<Vec<Vec<Piece>>, String> {
        apply_modifiers(value, mods, &vars)
    }

    #[test]
    fn apply_match_modifiers_add_wildcards_once() {
        assert_eq!(apply("a", &[M::Contains]), Ok(vec![vec![AnyRun, lit("a"), AnyRun]]));
        assert_eq!(apply("*a", &[M::Contains]), Ok(vec![vec![AnyRun, lit("a"), AnyRun]]));
        assert_eq!(apply("a", &[M::StartsWith]), Ok(vec![vec![lit("a"), AnyRun]]));
        assert_eq!(apply("a", &[M::EndsWith, M::All, M::Cased]), Ok(vec![vec![AnyRun, lit("a")]]));
        assert_eq!(apply("", &[M::Contains]), Ok(vec![vec![AnyRun]]));
        assert_eq!(apply(r"a\*", &[]), Ok(vec![vec![lit("a*")]]));
    }

    #[test]
    fn apply_base64offset_contains() {
        let contains = |s: &str| vec![AnyRun, lit(s), AnyRun];
        assert_eq!(
            apply("ping", &[M::Base64Offset, M::Contains]),
            Ok(vec![contains("cGluZ"), contains("Bpbm"), contains("waW5n")])
        );
        assert_eq!(
            apply("cmd", &[M::Wide, M::Base64Offset, M::Contains]),
            Ok(vec![contains("YwBtAGQA"), contains("MAbQBkA"), contains("jAG0AZA")])
        );
        // base64 of the plain text: "f*" is Zio= by hand.
        assert_eq!(apply(r"f\*", &[M::Base64]), Ok(vec![vec![lit("Zio=")]]));
        // `utf16` puts FF FE first: "FF FE 63 00" is //5jAA== by hand.
        assert_eq!(apply("c", &[M::Utf16, M::Base64]), Ok(vec![vec![lit("//5jAA==")]]));
    }

    #[test]
    fn apply_windash_then_encode() {
        let out = apply("-e", &[M::Windash, M::Contains]).unwrap();
        assert_eq!(out.len(), 5);
        assert_eq!(out[0], vec![AnyRun, lit("-e"), AnyRun]);
        assert_eq!(out[1], vec![AnyRun, lit("/e"), AnyRun]);
        // Each of the 5 variants, 3 fragments each.
        assert_eq!(apply("-e", &[M::Windash, M::Utf16le, M::Base64Offset, M::Contains]).unwrap().len(), 15);
        // A wildcard between parts: the dash after it still starts a word.
        assert_eq!(apply("a*-b", &[M::Windash]).unwrap().len(), 5);
        let many = "-a ".repeat(6);
        assert!(apply(&many, &[M::Windash]).unwrap_err().contains("more than"));
    }

    #[test]
    fn apply_expand() {
        assert_eq!(
            apply("%name%", &[M::Expand, M::EndsWith]),
            Ok(vec![vec![AnyRun, lit("N1")], vec![AnyRun, lit("N2")]])
        );
        assert_eq!(apply("%srv%", &[M::Expand]), Ok(vec![vec![lit("srv"), AnyRun], vec![lit("web*")]]));
        assert_eq!(apply("%x%", &[M::Expand]), Err("no values for the placeholder `%x%`".to_string()));
        assert_eq!(apply("%name%", &[]), Ok(vec![vec![lit("%name%")]]));
        assert!(apply_modifiers("%name%", &[M::Expand], &no_placeholders).is_err());
    }

    #[test]
    fn apply_keeps_wildcards_through_utf16() {
        assert_eq!(apply("*ab?", &[M::Wide]), Ok(vec![vec![AnyRun, lit("a\0b\0"), AnyOne]]));
        assert_eq!(apply("ab", &[M::Utf16be, M::Contains]), Ok(vec![vec![AnyRun, lit("\0a\0b"), AnyRun]]));
        assert!(apply("*ab", &[M::Utf16]).unwrap_err().contains("not text"));
        assert!(apply("ä", &[M::Utf16le]).unwrap_err().contains("not text"));
    }

    #[test]
    fn apply_refuses() {
        assert!(apply("a*", &[M::Base64]).unwrap_err().contains("cannot encode a wildcard"));
        assert!(apply("a?", &[M::Base64Offset, M::Contains]).unwrap_err().contains("cannot encode a wildcard"));
        assert!(apply("a", &[M::Contains, M::Base64]).unwrap_err().contains("would encode a wildcard"));
        assert!(apply("a", &[M::Base64Offset, M::Contains]).unwrap_err().contains("under 2 bytes"));
        assert!(apply("a.*", &[M::Re]).unwrap_err().contains("`re` does not make a string pattern"));
        assert!(apply("10.0.0.0/8", &[M::Cidr]).is_err());
        assert!(apply("x", &[M::FieldRef]).is_err());
    }

    // ---- properties ----

    /// Evaluates a shape by string operations (Regex: None).
    fn shape_matches(s: &Shape, text: &str) -> Option<bool> {
        Some(match s {
            Shape::Exact(x) => text == x,
            Shape::Contains(x) => text.contains(x.as_str()),
            Shape::StartsWith(x) => text.starts_with(x.as_str()),
            Shape::EndsWith(x) => text.ends_with(x.as_str()),
            Shape::Any => true,
            Shape::Regex => return None,
        })
    }

    fn pieces_strategy() -> impl proptest::strategy::Strategy<Value = Vec<Piece>> {
        use proptest::prelude::*;
        proptest::collection::vec(
            prop_oneof!["[ab*?\\\\.\n]{0,3}".prop_map(Piece::Lit), Just(Piece::AnyRun), Just(Piece::AnyOne),],
            0..6,
        )
    }

    proptest::proptest! {
        #[test]
        fn a_wildcard_free_regex_matches_exactly_its_text(text in "\\PC{0,12}", other in "\\PC{0,12}") {
            let pieces = parse_pattern(&escape(&text));
            let re = regex::Regex::new(&to_regex(&pieces, false)).unwrap();
            proptest::prop_assert!(re.is_match(&text));
            proptest::prop_assert_eq!(re.is_match(&other), other == text);
            proptest::prop_assert_eq!(shape(&pieces), Shape::Exact(text.clone()));
        }

        #[test]
        fn shape_agrees_with_the_regex(value in "[ab*?\\\\.\n]{0,8}", text in "[ab*?\\\\.\n]{0,10}") {
            let pieces = parse_pattern(&value);
            let re = regex::Regex::new(&to_regex(&pieces, false)).unwrap();
            let s = shape(&pieces);
            if let Some(matched) = shape_matches(&s, &text) {
                proptest::prop_assert_eq!(matched, re.is_match(&text), "{:?} {:?}", s, text);
            }
            // Case-insensitive: on ASCII, the same as lowercasing both sides.
            let ci = regex::Regex::new(&to_regex(&pieces, true)).unwrap();
            let upper = text.to_ascii_uppercase();
            proptest::prop_assert_eq!(ci.is_match(&upper), re.is_match(&text));
        }

        #[test]
        fn render_reads_back(pieces in pieces_strategy()) {
            proptest::prop_assert_eq!(parse_pattern(&render(&pieces)), normalize(&pieces));
        }

        #[test]
        fn escape_then_unescape_is_identity(text in "\\PC{0,16}") {
            proptest::prop_assert_eq!(unescape(&escape(&text)), text.clone());
            proptest::prop_assert_eq!(parse_pattern(&escape(&text)), normalize(&[Piece::Lit(text)]));
        }

        #[test]
        fn each_offset_fragment_is_in_every_encoding_of_a_longer_text(
            value in proptest::collection::vec(proptest::num::u8::ANY, 2..12),
            prefix in proptest::collection::vec(proptest::num::u8::ANY, 0..7),
            suffix in proptest::collection::vec(proptest::num::u8::ANY, 0..7),
        ) {
            let fragment = &base64_offsets(&value)[prefix.len() % 3];
            proptest::prop_assert!(!fragment.is_empty());
            let whole = base64(&[prefix.as_slice(), &value, &suffix].concat());
            proptest::prop_assert!(whole.contains(fragment.as_str()), "{} not in {}", fragment, whole);
        }

        #[test]
        fn windash_gives_five_to_the_positions_distinct_variants(value in "[-/ a_*]{0,7}") {
            let variants = windash(&value);
            proptest::prop_assert_eq!(variants.len(), 5usize.pow(windash_positions(&value) as u32));
            proptest::prop_assert_eq!(&variants[0], &value);
            proptest::prop_assert_eq!(dedup(variants.clone()).len(), variants.len());
        }
    }
}
