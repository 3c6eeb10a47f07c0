//! What the targets share: a fixed `now`, the built-in rules' plan, the
//! rayon pool, and the checks every engine run must pass.

#![allow(dead_code)]

use std::sync::{LazyLock, Once};

use sigcorr::engine::Outcome;
use sigcorr::input::InputFile;
use sigcorr::plan::Plan;
use sigcorr::table::Catalog;

/// `now()` of every run: the samples' `now` (samples/README.md).
pub static NOW: LazyLock<i64> =
    LazyLock::new(|| sigcorr::datetime::parse("2026-07-16T12:00:00Z").expect("a valid datetime"));

pub static CATALOG: LazyLock<Catalog> = LazyLock::new(Catalog::builtin);

/// The plan of the rules built into the library (rules/*.yml).
pub static BUILTIN_PLAN: LazyLock<Plan> = LazyLock::new(|| {
    let files = sigcorr::read_rule_files(&[]).expect("built-in rules");
    let (rules, diagnostics) = sigcorr::compile_rules(&files, &CATALOG);
    assert!(diagnostics.iter().all(|d| !d.is_error()), "built-in rules compile");
    sigcorr::plan::plan(rules, &CATALOG)
});

/// The global rayon pool, `threads` threads whatever the machine (the
/// first call decides): two where chunks must also merge out of order
/// (`rule_pipeline`, `container_equivalence`); one in `container_reader`,
/// where a second thread, with each run's little work, mostly spins
/// waiting for more (a fifth of its time, and the second core).
pub fn init_pool(threads: usize) {
    static POOL: Once = Once::new();
    POOL.call_once(|| {
        let _ = rayon::ThreadPoolBuilder::new().num_threads(threads).build_global();
    });
}

/// What must hold of any run's outcome, whatever the input:
/// - every record read is counted exactly once: a record of a table some
///   rule reads, of another table, or malformed (`Stats`' docs);
/// - the alerts come out as JSON lines, each one valid JSON object, and in
///   the other formats without a panic.
pub fn check_outcome(plan: &Plan, files: &[InputFile], outcome: &Outcome) {
    let s = &outcome.stats;
    let records: u64 = s.records.iter().sum();
    let other: u64 = s.other.values().sum::<u64>() + s.other_unnamed;
    assert_eq!(
        s.entries,
        records + other + s.malformed,
        "entries = records {records} + other {other} + malformed {}",
        s.malformed
    );
    if outcome.alerts.is_empty() {
        return;
    }
    let mut out = Vec::new();
    sigcorr::emit::write(&mut out, sigcorr::emit::Format::Jsonl, plan, &outcome.alerts, files, &Default::default()).expect("to a Vec");
    let text = std::str::from_utf8(&out).expect("JSON lines are UTF-8");
    let mut lines = 0;
    for line in text.lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("an alert is not one JSON line ({e}): {line:?}"));
        assert!(v.is_object(), "an alert is a JSON object: {line:?}");
        lines += 1;
    }
    assert_eq!(lines, outcome.alerts.len(), "one line per alert");
    for format in [sigcorr::emit::Format::Table, sigcorr::emit::Format::Csv] {
        out.clear();
        sigcorr::emit::write(&mut out, format, plan, &outcome.alerts, files, &Default::default()).expect("to a Vec");
    }
}

/// An outcome's alerts and counts, to compare runs that must agree (input
/// names and byte counts left out).
pub fn summary(outcome: &Outcome) -> String {
    let s = &outcome.stats;
    let mut text = format!(
        "entries {} lines {} records {:?} other {:?} malformed {} bad values {} shapes {:?}\n",
        s.entries, s.lines, s.records, s.other, s.malformed, s.bad_values, s.shapes
    );
    for a in &outcome.alerts {
        let evidence: Vec<String> = a.evidence.iter().map(|p| format!("{}:{}", p.file, p.line)).collect();
        text.push_str(&format!(
            "rule {} at {} {}\n",
            a.rule,
            evidence.join(","),
            a.fields.iter().collect::<Vec<_>>().join("|")
        ));
    }
    text
}
