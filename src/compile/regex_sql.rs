//! sigcorr's regexes (Rust's `regex` crate) in the target's regex dialect:
//! DuckDB's RE2 and Spark's `java.util.regex`. The pattern is parsed as the
//! engine parses it, into `regex-syntax`'s HIR, where every class is its
//! explicit ranges (`\d`, `\w`, `\s` and case folding are Unicode-aware in
//! Rust, ASCII-only or otherwise defined in RE2 and Java), `.` is "any
//! character but `\n`", and `^`/`$` are the text's ends. The HIR is written
//! back with nothing the dialects read differently: characters other than
//! ASCII letters and digits as `\x{...}`, groups as `(?:...)`, anchors as
//! `\A`/`\z`, line anchors only where both agree (`\n` alone ends a line),
//! and capture groups unnamed, in the same order. Word boundaries (Unicode
//! in Rust, ASCII in RE2, Java's own in Spark) are refused.

use regex_syntax::hir::{Class, Hir, HirKind, Look};

use super::sql::Dialect;

/// `pattern` in `d`'s dialect and its number of capture groups, or why it
/// cannot be written with the same meaning.
pub(super) fn translate(pattern: &str, d: Dialect) -> Result<(String, usize), String> {
    let hir = regex_syntax::Parser::new().parse(pattern).map_err(|e| format!("the regex does not parse: {e}"))?;
    let mut out = String::new();
    write(&hir, d, &mut out)?;
    Ok((out, hir.properties().explicit_captures_len()))
}

fn char(c: char, out: &mut String) {
    if c.is_ascii_alphanumeric() {
        out.push(c);
    } else {
        out.push_str(&format!("\\x{{{:X}}}", c as u32));
    }
}

fn write(hir: &Hir, d: Dialect, out: &mut String) -> Result<(), String> {
    match hir.kind() {
        HirKind::Empty => out.push_str("(?:)"),
        HirKind::Literal(lit) => {
            let text = std::str::from_utf8(&lit.0).map_err(|_| "a byte-oriented (`(?-u)`) literal".to_string())?;
            out.push_str("(?:");
            text.chars().for_each(|c| char(c, out));
            out.push(')');
        }
        HirKind::Class(Class::Unicode(cls)) => {
            if cls.ranges().is_empty() {
                // Matches nothing.
                out.push_str("[^\\x{0}-\\x{10FFFF}]");
            } else {
                out.push('[');
                for r in cls.ranges() {
                    char(r.start(), out);
                    if r.end() != r.start() {
                        out.push('-');
                        char(r.end(), out);
                    }
                }
                out.push(']');
            }
        }
        HirKind::Class(Class::Bytes(_)) => return Err("a byte-oriented (`(?-u)`) class".to_string()),
        HirKind::Look(look) => out.push_str(match (look, d) {
            (Look::Start, _) => "\\A",
            (Look::End, _) => "\\z",
            // Java's line anchors see `\r`, `\u0085` and the Unicode line
            // separators too, unless UNIX_LINES (`d`), which RE2 lacks.
            (Look::StartLF, Dialect::DuckDb) => "(?m:^)",
            (Look::EndLF, Dialect::DuckDb) => "(?m:$)",
            (Look::StartLF, Dialect::Spark) => "(?md:^)",
            (Look::EndLF, Dialect::Spark) => "(?md:$)",
            (Look::WordAscii, Dialect::DuckDb) => "\\b",
            (Look::WordAsciiNegate, Dialect::DuckDb) => "\\B",
            _ => {
                return Err(format!(
                    "the assertion `{look:?}` (a word boundary or CRLF line anchor) is defined differently in the target's regex engine"
                ));
            }
        }),
        HirKind::Repetition(rep) => {
            out.push_str("(?:");
            write(&rep.sub, d, out)?;
            out.push(')');
            match (rep.min, rep.max) {
                (0, Some(1)) => out.push('?'),
                (0, None) => out.push('*'),
                (1, None) => out.push('+'),
                (m, None) => out.push_str(&format!("{{{m},}}")),
                (m, Some(n)) if m == n => out.push_str(&format!("{{{m}}}")),
                (m, Some(n)) => out.push_str(&format!("{{{m},{n}}}")),
            }
            if !rep.greedy && rep.min != rep.max.unwrap_or(u32::MAX) {
                out.push('?');
            }
        }
        HirKind::Capture(cap) => {
            out.push('(');
            write(&cap.sub, d, out)?;
            out.push(')');
        }
        HirKind::Concat(items) => {
            out.push_str("(?:");
            for h in items {
                write(h, d, out)?;
            }
            out.push(')');
        }
        HirKind::Alternation(items) => {
            out.push_str("(?:");
            for (i, h) in items.iter().enumerate() {
                if i > 0 {
                    out.push('|');
                }
                write(h, d, out)?;
            }
            out.push(')');
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_are_spelt_out_and_anchors_are_the_texts_ends() {
        let (re, groups) = translate(r"^\s*([A-Za-z0-9._-]+)$", Dialect::DuckDb).unwrap();
        assert_eq!(groups, 1);
        assert!(re.starts_with("(?:\\A"), "{re}");
        assert!(re.contains("\\x{3000}"), "Unicode whitespace is spelt out: {re}");
        assert!(re.ends_with("\\z)"), "{re}");
        // Case folding is in the class: `(?i)k` also matches the Kelvin sign.
        let (re, _) = translate("(?i)k", Dialect::Spark).unwrap();
        assert!(re.contains("\\x{212A}"), "{re}");
    }

    #[test]
    fn what_the_dialects_read_differently_is_refused() {
        assert!(translate(r"\bword\b", Dialect::DuckDb).unwrap_err().contains("word boundary"));
        assert!(translate(r"(?-u:\b)x", Dialect::Spark).is_err());
        assert!(translate(r"(?-u:\b)x", Dialect::DuckDb).is_ok());
        assert!(translate(r"(?-u:\xFF)", Dialect::DuckDb).is_err());
    }

    #[test]
    fn named_groups_keep_their_numbers() {
        let (re, groups) = translate(r"(?P<a>x)(y)", Dialect::Spark).unwrap();
        assert_eq!(groups, 2);
        assert!(!re.contains("?P<"), "{re}");
    }
}
