//! Text from logs and rules shown to people: which characters must never
//! reach a terminal (or a generated file) raw, and how they are shown.
//!
//! Logs and rules are written by whoever sends the requests or the pull
//! request: a user agent holding `ESC [2J` clears the screen, a carriage
//! return or newline forges a line, a right-to-left override reorders what
//! the reader sees. [`printable`] spells such characters out; the code
//! generators of `compile` use [`is_unsafe`] to decide what to escape.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether `c` is never shown or written raw: the C0 controls (tab, newline
/// and carriage return included), DEL, the C1 controls (NEL included), the
/// line and paragraph separators U+2028 and U+2029, and the bidirectional
/// embeddings, overrides and isolates U+202A–U+202E and U+2066–U+2069.
pub fn is_unsafe(c: char) -> bool {
    matches!(c, '\0'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `s` with every [`is_unsafe`] character spelt out, on one line: `\n`,
/// `\r`, `\t`, and the others as Rust writes them, `\u{1b}`, `\u{202e}`.
/// Everything else, backslashes included, is left as it is, so text without
/// such characters is returned unchanged (and not copied).
pub fn printable(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_unsafe(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_separators_and_bidi_controls_are_spelt_out() {
        assert_eq!(printable("Evil\u{1b}[2J\nFAKE: 0 alerts"), r"Evil\u{1b}[2J\nFAKE: 0 alerts");
        assert_eq!(printable("a\rb\tc\u{7}\u{8}\u{0}"), r"a\rb\tc\u{7}\u{8}\u{0}");
        assert_eq!(printable("\u{7f}\u{80}\u{85}\u{9b}\u{9f}"), r"\u{7f}\u{80}\u{85}\u{9b}\u{9f}");
        assert_eq!(
            printable("\u{2028}\u{2029}\u{202a}\u{202e}\u{2066}\u{2069}"),
            r"\u{2028}\u{2029}\u{202a}\u{202e}\u{2066}\u{2069}"
        );
    }

    #[test]
    fn ordinary_text_is_borrowed_unchanged() {
        for s in ["", "C:\\Users\\x", "naïve café — 東京 ✓", "\u{a0}\u{ff}\u{2027}\u{202f}\u{2065}\u{206a}", "a\\nb"]
        {
            assert!(matches!(printable(s), Cow::Borrowed(b) if b == s), "{s:?}");
        }
    }
}
