//! The Sigma condition parser (`sigcorr::sigma::condition`): any text as a
//! Sigma rule's `condition`, two ways.
//!
//! 1. **Alone**: `parse_condition` on the text, verbatim. Asserts: no panic
//!    (the nesting, operator and pest call limits bound hostile input);
//!    every node's span lies inside the text, on character boundaries, and
//!    inside its parent's; a name's span is the name (in its parentheses,
//!    if any); an error's span lies inside the text and the error renders.
//!    A tree that parses is printed back with the fewest parentheses its
//!    precedence needs (or < and < not) and parses again to the same tree
//!    (spans aside), so precedence and associativity are pinned, not only
//!    "no panic". Each `1 of` pattern is matched against the condition's
//!    names and a few fixed ones by `pattern_matches` and by a plain
//!    recursive matcher, which must agree.
//! 2. **In a rule**: the text as the `condition` of a fixed Sigma rule
//!    (`product: azure`, `service: signinlogs`; selections `selection`,
//!    `selection_ua`, `filter_main`, `keywords`, `_private`), written as a
//!    YAML double-quoted scalar, the last thing in the file (control and
//!    line-break characters, `"` and `\` escaped, so the scalar's value is
//!    the text exactly and `ScalarMap` maps escapes back to the file),
//!    through `sigcorr::compile_rules`: YAML → Sigma load → condition →
//!    lowering → check → lints. Asserts: no panic; every diagnostic's span
//!    lies inside the file on character boundaries and renders (text and
//!    JSON; SARIF, whose fixed rules table cost a tenth of the time, is
//!    `rule_loader`'s); E101 (condition syntax) is reported exactly when
//!    step 1's parse failed; E113 (unknown selection) exactly when the
//!    parsed condition names a selection the rule lacks or a pattern none
//!    matches; a condition that parses and resolves yields the rule (or
//!    E116, the detection too large). The empty text is the schema's
//!    (`minLength: 1`): an error, no rule. A text of more than 4 KiB skips
//!    step 2.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sigcorr::diagnostic::{Code, Diagnostic};
use sigcorr::parser::ExprSource;
use sigcorr::sigma::condition::{Cond, CondKind, parse_condition, pattern_matches, selects};
use sigcorr::source_map::ScalarMap;
use sigcorr::span::SourceFile;

#[path = "common.rs"]
mod common;
use common::CATALOG;

/// The rule's selections, in order, and the rule around `condition`: short
/// (flow style, no metadata but the required `title`), as YAML parsing is
/// most of this target's time.
const SELECTIONS: [&str; 5] = ["selection", "selection_ua", "filter_main", "keywords", "_private"];
const RULE_HEAD: &str = "title: f
logsource: {product: azure, service: signinlogs}
detection:
  selection: {ResultType: 50053}
  selection_ua: {UserAgent|contains: [python-requests, curl]}
  filter_main: {IPAddress|cidr: 10.0.0.0/8}
  keywords: [Mimikatz]
  _private: {UserPrincipalName|endswith: '@contoso.com'}
  condition: \"";
/// Nothing after the closing quote, not even a line break: `ScalarMap`
/// aligned an escaped character (`\n` as `\u000a`) with the next such byte
/// in the file, past the scalar, and a span of a later character can then
/// end one past the end of the file (artifacts/sigma_condition/
/// scalar-map-span-past-eof.yml, fixed since by `ScalarMap::in_span`):
/// with the scalar last, there was no such byte to find either way.
const RULE_TAIL: &str = "\"";

/// Fixed names to try each pattern on, besides the condition's own.
const NAMES: [&str; 8] = ["", "a", "selection", "selection_1", "filter_", "sel-a*", "_x", "aaaaaaaab"];

/// Binding strength: or 1, and 2, not and operands 3.
fn strength(c: &Cond) -> u8 {
    match c.kind {
        CondKind::Or(..) => 1,
        CondKind::And(..) => 2,
        _ => 3,
    }
}

/// The condition with the fewest parentheses: a left operand in them when
/// it binds looser than its operator, a right one when it binds no tighter
/// (the operators are left-associative), `not`'s operand when it is binary.
fn print(c: &Cond, out: &mut String) {
    let wrapped = |c: &Cond, paren: bool, out: &mut String| {
        if paren {
            out.push('(');
        }
        print(c, out);
        if paren {
            out.push(')');
        }
    };
    match &c.kind {
        CondKind::And(l, r) | CondKind::Or(l, r) => {
            let s = strength(c);
            wrapped(l, strength(l) < s, out);
            out.push_str(if s == 2 { " and " } else { " or " });
            wrapped(r, strength(r) <= s, out);
        }
        CondKind::Not(x) => {
            out.push_str("not ");
            wrapped(x, strength(x) < 3, out);
        }
        CondKind::Name(n) => out.push_str(n),
        CondKind::Of { all, pattern } => {
            out.push_str(if *all { "all of " } else { "1 of " });
            out.push_str(pattern.as_deref().unwrap_or("them"));
        }
    }
}

/// `*` matches any run of bytes, the rest themselves; the whole name. A
/// table of which pattern suffix matches which name suffix, O(|p| |n|):
/// the recursive definition took 21 s on `any of *************************s`
/// (artifacts/sigma_condition/timeout-7507b013..., a harness hang; the
/// library's matcher is linear there).
fn naive_match(p: &[u8], n: &[u8]) -> bool {
    // m[i][j]: p[i..] matches n[j..].
    let mut m = vec![vec![false; n.len() + 1]; p.len() + 1];
    m[p.len()][n.len()] = true;
    for i in (0..p.len()).rev() {
        for j in (0..=n.len()).rev() {
            m[i][j] = if p[i] == b'*' {
                m[i + 1][j] || (j < n.len() && m[i][j + 1])
            } else {
                j < n.len() && p[i] == n[j] && m[i + 1][j + 1]
            };
        }
    }
    m[0][0]
}

fn parse(text: &str) -> Result<Cond, Diagnostic> {
    let file = SourceFile::new("fuzz.yml", text.to_string());
    let map = ScalarMap::verbatim(0, text.len());
    parse_condition(text, &ExprSource { file: &file, map: &map })
}

/// An operand's text without the parentheses around it (its span has them).
fn unwrap_parens(mut s: &str) -> &str {
    let blank = [' ', '\t', '\r', '\n'];
    loop {
        s = s.trim_matches(blank);
        match s.strip_prefix('(').and_then(|s| s.strip_suffix(')')) {
            Some(inner) => s = inner,
            None => return s,
        }
    }
}

/// Spans inside the text, on char boundaries, inside the parent's.
fn check_spans(c: &Cond, text: &str, parent: (usize, usize)) {
    let (s, e) = (c.span.start, c.span.end);
    assert!(s <= e && e <= text.len(), "span {s}..{e} outside {} bytes", text.len());
    assert!(text.is_char_boundary(s) && text.is_char_boundary(e), "span {s}..{e} not on char boundaries");
    assert!(parent.0 <= s && e <= parent.1, "span {s}..{e} outside its parent's {parent:?}");
    match &c.kind {
        CondKind::And(l, r) | CondKind::Or(l, r) => {
            check_spans(l, text, (s, e));
            check_spans(r, text, (s, e));
            assert!(l.span.end <= r.span.start, "operands overlap: {:?} {:?}", l.span, r.span);
        }
        CondKind::Not(x) => check_spans(x, text, (s, e)),
        CondKind::Name(n) => assert_eq!(unwrap_parens(&text[s..e]), n, "a name's span is the name"),
        CondKind::Of { pattern, .. } => {
            let of = unwrap_parens(&text[s..e]);
            let target = pattern.as_deref().unwrap_or("them");
            assert!(of.ends_with(target), "`of`'s span {of:?} ends with {target:?}");
        }
    }
}

/// YAML double-quoted scalar body whose value is `text`.
fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20
                || ('\u{7f}'..='\u{9f}').contains(&c)
                || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}') =>
            {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out
}

fn check_diagnostics(diagnostics: &[Diagnostic], file: &str) {
    for d in diagnostics {
        if let Some(span) = d.span {
            assert!(span.start <= span.end && span.end <= file.len(), "{span:?} outside the file: {d:?}");
            assert!(file.is_char_boundary(span.start) && file.is_char_boundary(span.end), "{span:?} splits a char");
        }
        let _ = d.render();
        let _ = d.end_line_col();
    }
    let _ = sigcorr::lint::json::render(diagnostics);
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };

    // 1. Alone.
    let parsed = parse(text);
    let mut names: Vec<&str> = Vec::new();
    let mut unresolved = false;
    match &parsed {
        Ok(cond) => {
            check_spans(cond, text, (0, text.len()));
            let mut printed = String::new();
            print(cond, &mut printed);
            match parse(&printed) {
                Ok(again) => assert_eq!(cond.sexp(), again.sexp(), "{text:?} printed as {printed:?} parses otherwise"),
                Err(d) => panic!("{text:?} printed as {printed:?} does not parse: {}", d.render()),
            }
            let mut patterns = Vec::new();
            cond.walk(&mut |c| match &c.kind {
                CondKind::Name(n) => {
                    names.push(n);
                    unresolved |= !SELECTIONS.contains(&n.as_str());
                }
                CondKind::Of { pattern, .. } => {
                    patterns.push(pattern.as_deref());
                    unresolved |= !SELECTIONS.iter().any(|s| selects(pattern.as_deref(), s));
                }
                _ => {}
            });
            for p in patterns.iter().flatten() {
                for n in names.iter().copied().chain(NAMES) {
                    assert_eq!(
                        pattern_matches(p, n),
                        naive_match(p.as_bytes(), n.as_bytes()),
                        "pattern {p:?} on name {n:?}"
                    );
                }
            }
        }
        Err(d) => {
            if let Some(span) = d.span {
                assert!(span.start <= span.end && span.end <= text.len(), "error span {span:?} outside the text");
                assert!(text.is_char_boundary(span.start) && text.is_char_boundary(span.end), "{span:?} splits a char");
            }
            let _ = d.render();
        }
    }

    // 2. In a rule.
    if text.len() > 4096 {
        return;
    }
    let rule = format!("{RULE_HEAD}{}{RULE_TAIL}", quoted(text));
    let file = SourceFile::new("fuzz.yml", rule.clone());
    let (rules, diagnostics) = sigcorr::compile_rules(&[file], &CATALOG);
    check_diagnostics(&diagnostics, &rule);
    let has = |code: Code| diagnostics.iter().any(|d| d.code == code);
    if text.is_empty() {
        // The schema's `minLength: 1` refuses it before the condition parser.
        assert!(has(Code::Schema) && rules.is_empty(), "an empty condition passes: {diagnostics:?}");
        return;
    }
    assert_eq!(has(Code::ConditionSyntax), parsed.is_err(), "E101 in the rule but not alone, or back: {diagnostics:?}");
    if parsed.is_ok() {
        assert_eq!(has(Code::UnknownSelection), unresolved, "E113 and the names disagree: {diagnostics:?}");
        if !unresolved {
            assert!(
                rules.len() == 1 || has(Code::DetectionTooLarge),
                "a condition that parses and resolves gives no rule: {diagnostics:?}"
            );
        }
    }
});
