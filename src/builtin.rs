//! The tables, rules and rule tests built into the binary (see `build.rs`):
//! `(path, text)`. `TESTS` holds the rules' `*.tests.yml`, which `RULES` leaves out.

include!(concat!(env!("OUT_DIR"), "/builtin.rs"));
