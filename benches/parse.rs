//! Per-record parse: one Log Analytics MicrosoftGraphActivityLogs line (about
//! 1.2 KB, every column present) into the fields the T1528 rule reads, with
//! sigcorr's projecting parser, against `serde_json::Value` as the peer.
//!
//! `cargo bench --bench parse`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sigcorr::input::{FieldIndex, parse_line};
use sigcorr_datagen::Table;

mod common;

fn parse(c: &mut Criterion) {
    let data = common::dataset();
    let graph = common::lines(&data[&Table::MicrosoftGraphActivityLogs]);
    // The record of median length stands for "a record".
    let mut by_len = graph.clone();
    by_len.sort_by_key(|l| l.len());
    let one = by_len[by_len.len() / 2];
    let batch = &graph[..1000];
    let batch_bytes: usize = batch.iter().map(|l| l.len()).sum();

    let plan = common::plan(&[common::T1528]);
    let index = FieldIndex::new(&plan.fields);
    let mut fields = Vec::new();
    // Guard: the parser finds the fields the rule reads (else the bench measures nothing).
    parse_line(one, &index, &mut fields).expect("a generated record parses");
    assert!(fields.iter().filter(|f| f.is_some()).count() >= 8, "T1528 reads at least 8 Graph fields");

    let mut g = c.benchmark_group("parse/one_graph_record");
    g.throughput(Throughput::Bytes(one.len() as u64));
    g.bench_function(format!("sigcorr::input::parse_line ({} B)", one.len()), |b| {
        b.iter(|| {
            parse_line(black_box(one), &index, &mut fields).unwrap();
            black_box(&fields);
        })
    });
    let text = std::str::from_utf8(one).unwrap();
    g.bench_function(format!("serde_json::Value ({} B)", one.len()), |b| {
        b.iter(|| black_box(serde_json::from_str::<serde_json::Value>(black_box(text)).unwrap()))
    });
    g.finish();

    let mut g = c.benchmark_group("parse/1000_graph_records");
    g.throughput(Throughput::Bytes(batch_bytes as u64));
    g.bench_function("sigcorr::input::parse_line", |b| {
        b.iter(|| {
            for line in batch {
                parse_line(black_box(line), &index, &mut fields).unwrap();
                black_box(&fields);
            }
        })
    });
    let texts: Vec<&str> = batch.iter().map(|l| std::str::from_utf8(l).unwrap()).collect();
    g.bench_function("serde_json::Value", |b| {
        b.iter(|| {
            for t in &texts {
                black_box(serde_json::from_str::<serde_json::Value>(black_box(t)).unwrap());
            }
        })
    });
    g.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
