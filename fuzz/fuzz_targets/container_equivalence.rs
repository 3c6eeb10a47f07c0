//! The container reader and the engine behind it, three ways that must
//! agree (`container_reader` reads one way): any bytes
//! as one input, read through `sigcorr::engine::run_with` with the
//! built-in rules' plan and a fixed `now`, in 4 KiB blocks (the smallest)
//! so that records and documents cross block boundaries, with a small
//! `max_record_bytes` (see `options`).
//!
//! Each input is run three ways that must agree (the `InputFile` docs and
//! tests/integration/inputs.rs promise the same alerts):
//! 1. bytes in memory: rereadable, so read in one or two passes as a file is;
//! 2. a reader over the same bytes: read once, in one pass, as standard input;
//! 3. the bytes gzipped (unless they already start with the gzip magic
//!    bytes `1f 8b`, when 1 and 2 are gzip input already).
//!
//! Asserts: no panic or hang; in each run every record read is counted once
//! (`entries == sum(records) + sum(other) + malformed`); alerts are valid
//! JSON lines; and the three runs give the same alerts (rule, evidence
//! lines, values) and the same counts (entries, lines, records per table,
//! other tables, malformed, bad values).

#![no_main]

use std::io::Write;

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

fn run(file: InputFile, len: usize) -> String {
    let files = [file];
    let outcome = run_with(&BUILTIN_PLAN, &files, *NOW, options(len));
    common::check_outcome(&BUILTIN_PLAN, &files, &outcome);
    common::summary(&outcome)
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    z.write_all(data).expect("to a Vec");
    z.finish().expect("to a Vec")
}

fuzz_target!(|data: &[u8]| {
    common::init_pool(2);
    let bytes = run(InputFile::bytes("fuzz.ndjson", data.to_vec()), data.len());
    let reader = run(InputFile::reader("fuzz.ndjson", std::io::Cursor::new(data.to_vec())), data.len());
    assert_eq!(bytes, reader, "bytes (two passes) and a reader (one pass) disagree");
    if !data.starts_with(&[0x1f, 0x8b]) {
        let gzipped = run(InputFile::bytes("fuzz.ndjson.gz", gzip(data)), data.len());
        assert_eq!(bytes, gzipped, "plain and gzipped bytes disagree");
    }
});
