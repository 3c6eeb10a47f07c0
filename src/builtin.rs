//! The tables and rules built into the binary (see `build.rs`): `(path, text)`.

include!(concat!(env!("OUT_DIR"), "/builtin.rs"));
