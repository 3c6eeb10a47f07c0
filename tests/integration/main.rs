//! The one integration test binary (ripgrep's layout): every test drives
//! the `sigcorr` binary through the [`common::Test`] builder.

mod common;

mod cli;
mod compile;
mod compile_generated;
mod conformance;
mod correlation;
mod correlation_duckdb;
mod e2e;
mod engine;
mod hostile_cli;
mod hostile_inputs;
mod hostile_records;
mod injection;
mod inputs;
mod kusto_semantics;
mod lint;
mod lookup;
mod pyspark_job;
mod ruletest;
mod sigma;
mod sigma_hostile;
