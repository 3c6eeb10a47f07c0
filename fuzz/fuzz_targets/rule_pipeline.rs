//! Rule files: any text through the whole rule pipeline (`rule_loader`
//! stops after the loader and the lints).
//!
//! Input: the bytes of one rule file (not UTF-8: skipped, as `read_rule_files`
//! refuses such files before the loader sees them).
//!
//! 1. `compile_rules`: YAML → `RuleDoc` → each expression parsed → checked
//!    against the built-in catalog → the rule-set lints. Every diagnostic is
//!    rendered (human, `lint --format json`, SARIF): spans must land inside
//!    the file, on character boundaries.
//! 2. For the rules that come out: compiled to every `compile` target (KQL,
//!    Sentinel, Spark SQL, DuckDB, and DuckDB over `--data`), planned, and run
//!    over a few fixed sample records (fuzz/records.ndjson: a T1528 pair
//!    that alerts, a managed-identity sign-in, an addPassword call, a
//!    SigninLogs row, an AuditLogs record with nested arrays and an
//!    activity-log export record), so fuzzed filters, joins, mismatches,
//!    Sigma detections and outputs are evaluated too. The corpus holds
//!    Sigma rules too (`sigma_*.yml`), and the dictionary their keywords
//!    and modifiers.
//!
//! Asserts: no panic anywhere; the run's accounting holds and its alerts
//! are valid JSON lines (`common::check_outcome`).

#![no_main]

use libfuzzer_sys::fuzz_target;
use sigcorr::compile::{self, Target};
use sigcorr::input::InputFile;
use sigcorr::span::SourceFile;

#[path = "common.rs"]
mod common;
use common::{CATALOG, NOW};

static RECORDS: &[u8] = include_bytes!("../records.ndjson");

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    common::init_pool(2);
    let file = SourceFile::new("fuzz.yml", text.to_string());
    let (rules, diagnostics) = sigcorr::compile_rules(&[file], &CATALOG);
    for d in &diagnostics {
        let _ = d.render();
        let _ = d.end_line_col();
    }
    let _ = sigcorr::lint::json::render(&diagnostics);
    let _ = sigcorr::lint::sarif::log(&diagnostics).to_string();
    if rules.is_empty() {
        return;
    }
    let fixed = compile::Options { catalog: &CATALOG, now: Some(*NOW), data: None, rules: &rules, evidence: false, views: false };
    let live =
        compile::Options { catalog: &CATALOG, now: None, data: Some("/data/logs".into()), rules: &rules, evidence: false, views: false };
    for rule in &rules {
        for (target, ..) in Target::ALL {
            let _ = compile::compile(rule, target, &fixed);
        }
        let _ = compile::compile(rule, Target::Duckdb, &live);
        let _ = compile::compile(rule, Target::Kql, &live);
    }
    let plan = sigcorr::plan::plan(rules, &CATALOG);
    let files = [InputFile::bytes("records.ndjson", RECORDS)];
    let outcome = sigcorr::engine::run(&plan, &files, *NOW);
    common::check_outcome(&plan, &files, &outcome);
});
