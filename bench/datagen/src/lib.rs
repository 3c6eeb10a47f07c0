//! `sigcorr-datagen`: a deterministic, seeded generator of synthetic Microsoft
//! Entra sign-in logs and Microsoft Graph activity logs, for sigcorr's tests
//! and benchmarks.
//!
//! ```no_run
//! use sigcorr_datagen::{Config, Shape, generate, write_split};
//! let cfg = Config { seed: 7, graph: 2000, signins: 300, other_tables: 50, ..Config::default() };
//! let ds = generate(&cfg);
//! write_split(&ds, std::path::Path::new("out")).unwrap();
//! # let _ = Shape::Diagnostic;
//! ```
//!
//! The dataset is never materialised: [`Dataset`] is a small plan and every
//! event is regenerated from `hash(seed, domain, index)`, so 2 M Graph records
//! stream to disk with a few MB of memory. See `README.md` for the scenarios
//! and the Log Analytics column → diagnostic-settings path table.

pub mod entra;
mod generator;
pub mod mapping;
pub mod model;
pub mod oracle;
mod render;
mod rng;
pub mod time;
mod write;

pub use entra::{EntraConfig, EntraSummary, EntraTable, render_entra, write_entra};
pub use generator::{Dataset, Events};
pub use mapping::{MapKind, Mapping};
pub use model::{Audit, Event, GraphCall, Guid, Maybe, Place, Scenario, SignIn, Table, UserSignIn};
pub use oracle::{Alert, reference_alerts};
pub use render::{render, write_json_str};
pub use time::{Ts, Zone, parse_utc_seconds};
pub use write::{Summary, render_all, write_mixed, write_split};

/// The `now` used by the committed samples and the default config.
pub const DEFAULT_NOW: &str = "2026-07-16T12:00:00Z";
/// [`DEFAULT_NOW`] as Unix seconds.
pub const DEFAULT_NOW_UNIX: i64 = 1_784_203_200;

/// Output record shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Shape {
    /// Log Analytics rows: flat column names, `Type` = table name, NDJSON.
    #[default]
    LogAnalytics,
    /// Diagnostic-settings records (storage account / Event Hub): envelope +
    /// camelCase `properties`.
    Diagnostic,
}

/// What to generate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// PRNG seed; the same config always gives byte-identical output.
    pub seed: u64,
    /// Exact number of MicrosoftGraphActivityLogs records.
    pub graph: usize,
    /// Number of tokens issued to service principals / managed identities.
    /// About 3% of them are delivered 2-4 times, so there are slightly more
    /// sign-in rows than this (the writers' [`Summary`] has the row counts).
    pub signins: usize,
    /// `now()` of the hunt, in Unix seconds; data covers `now - 45d .. now - 45min`.
    pub now: i64,
    pub shape: Shape,
    /// Exact number of rows of other tables (SigninLogs, AuditLogs) mixed in.
    pub other_tables: usize,
    /// CRLF line endings (as in storage-account `PT1H.json` blobs).
    pub crlf: bool,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            seed: 7,
            graph: 2000,
            signins: 300,
            now: DEFAULT_NOW_UNIX,
            shape: Shape::LogAnalytics,
            other_tables: 50,
            crlf: false,
        }
    }
}

/// Plans a dataset. Cheap: O(signins) hashing, no events are generated until
/// they are iterated or written.
pub fn generate(cfg: &Config) -> Dataset {
    Dataset::new(cfg)
}

#[cfg(test)]
mod tests;
