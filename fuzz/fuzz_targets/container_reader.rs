//! The container reader: any bytes as one log input, NDJSON, a JSON array,
//! `{"records": [...]}` bodies, a pretty-printed document, or any of them
//! gzipped (the reader tells them apart by their first bytes), read once
//! through `sigcorr::engine::run_with` with the built-in rules' plan and a
//! fixed `now` (so the plan's compiled predicates are reused from run to
//! run: `Plan::preds`), as standard input is read: a reader over the bytes, one
//! pass, in 4 KiB blocks (the smallest) so that records and documents cross
//! block boundaries, with a small `max_record_bytes` (see `options`).
//!
//! This is the "container reader" target, one way. Reading the same
//! input three ways that must agree (bytes in two passes, a reader, the
//! bytes gzipped) is `container_equivalence`'s: three engine runs an input,
//! and a rereadable input is also sampled (its first MiB, into a fresh
//! buffer) to choose one or two passes.
//!
//! Asserts: no panic or hang; every record read is counted once
//! (`entries == sum(records) + sum(other) + malformed`); alerts are valid
//! JSON lines, and render as a table and CSV (`common::check_outcome`).

#![no_main]

use libfuzzer_sys::fuzz_target;
use sigcorr::engine::{Options, run_with};
use sigcorr::input::{InputFile, ReadOptions};

#[path = "common.rs"]
mod common;
use common::{BUILTIN_PLAN, NOW};

/// 4 KiB blocks; the longest record 3,000 bytes for inputs of even length
/// (so that longer lines and records, and `{"records": [...]}` bodies, are
/// passed over and reported), 1 MiB for the others (so that records longer
/// than a block are read whole); at most 3 alerts per join key (so that the
/// cap is reached).
fn options(len: usize) -> Options<'static> {
    let max_record_bytes = if len % 2 == 0 { 3000 } else { 1 << 20 };
    Options {
        read: ReadOptions { block_bytes: 4096, max_record_bytes, ..Default::default() },
        max_alerts_per_key: 3,
        ..Default::default()
    }
}

fuzz_target!(|data: &[u8]| {
    common::init_pool(1);
    let files = [InputFile::reader("fuzz.ndjson", std::io::Cursor::new(data.to_vec()))];
    let outcome = run_with(&BUILTIN_PLAN, &files, *NOW, options(data.len()));
    common::check_outcome(&BUILTIN_PLAN, &files, &outcome);
});
