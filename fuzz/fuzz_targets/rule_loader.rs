//! Rule files: any text through the rule loader, YAML → rule → check, as
//! `sigcorr lint` reads it (the "rule loader" target; the whole
//! pipeline after it, compile targets, plan and engine run, is
//! `rule_pipeline`'s).
//!
//! Input: the bytes of one rule file (not UTF-8: skipped, as `read_rule_files`
//! refuses such files before the loader sees them).
//!
//! `compile_rules`: each YAML document → sigcorr rule or Sigma rule
//! (`RuleDoc`; a Sigma detection lowered, its condition parsed) → each
//! expression parsed → checked against the built-in catalog → the rule-set
//! lints. Every diagnostic is rendered (human, and `lint --format json`;
//! SARIF, whose fixed table of every code cost an eighth of the time, is
//! `rule_pipeline`'s, which renders it for every input). The corpus holds Sigma rules too (`sigma_*.yml`), and the
//! dictionary their keywords and modifiers.
//!
//! Asserts: no panic and no hang (over 10 s) for any text, and every
//! diagnostic renders in each format.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sigcorr::span::SourceFile;

#[path = "common.rs"]
mod common;
use common::CATALOG;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let file = SourceFile::new("fuzz.yml", text.to_string());
    let (rules, diagnostics) = sigcorr::compile_rules(&[file], &CATALOG);
    for d in &diagnostics {
        let _ = d.render();
        let _ = d.end_line_col();
    }
    let _ = sigcorr::lint::json::render(&diagnostics);
    drop(rules);
});
