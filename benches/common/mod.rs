//! Shared setup for the criterion benches: the shipped rules planned the way
//! `sigcorr run` plans them, and realistic records from the datagen crate.

#![allow(dead_code)] // each bench uses part of this

use std::collections::BTreeMap;
use std::path::PathBuf;

use sigcorr::plan::Plan;
use sigcorr_datagen::{Config, Table};

pub const NOW: &str = "2026-07-16T12:00:00Z";
pub const T1528: &str = "rules/entra/service_principal_token_ip_mismatch.yml";
pub const CREDENTIAL_ADDED: &str = "rules/entra/application_credential_added_via_graph.yml";

/// The run's `now()`, in ticks.
pub fn now() -> i64 {
    sigcorr::datetime::parse(NOW).expect("NOW parses")
}

/// The plan of `rules` (paths from the crate root), as `sigcorr run --rules` makes it.
pub fn plan(rules: &[&str]) -> Plan {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let paths: Vec<PathBuf> = rules.iter().map(|r| root.join(r)).collect();
    let catalog = sigcorr::load_catalog(&[]).expect("built-in tables load");
    let files = sigcorr::read_rule_files(&paths).expect("rule files read");
    let (checked, diagnostics) = sigcorr::compile_rules(&files, &catalog);
    assert!(diagnostics.iter().all(|d| !d.is_error()), "rule errors: {diagnostics:?}");
    assert_eq!(checked.len(), rules.len());
    sigcorr::plan::plan(checked, &catalog)
}

/// Log Analytics-shaped NDJSON from the generator (seed 7): 2,000 Graph
/// records and the sign-ins of 300 tokens, one buffer per table.
pub fn dataset() -> BTreeMap<Table, Vec<u8>> {
    let cfg = Config { graph: 2000, signins: 300, other_tables: 0, ..Config::default() };
    sigcorr_datagen::render_all(&sigcorr_datagen::generate(&cfg))
}

/// The non-empty lines of a buffer, without their line ends.
pub fn lines(buf: &[u8]) -> Vec<&[u8]> {
    buf.split(|&b| b == b'\n').map(|l| l.strip_suffix(b"\r").unwrap_or(l)).filter(|l| !l.is_empty()).collect()
}
