//! The one integration test binary (ripgrep's layout): every test drives
//! the `sigcorr` binary through the [`common::Test`] builder.

mod common;

mod cli;
mod e2e;
