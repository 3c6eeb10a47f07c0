//! Exit codes, one table for every subcommand (the README shows the same).

/// Success: the run completed (alerts or not), the rules are clean, the tests pass.
pub const OK: u8 = 0;
/// Findings: `lint` found problems at or above `--deny`; `test` had a failing case.
#[allow(dead_code)]
pub const FINDINGS: u8 = 1;
/// Usage error, unreadable rules or inputs, or rules with errors.
pub const ERROR: u8 = 2;
/// `run` completed, but some input was skipped: malformed records, unreadable, empty or truncated
/// files. With `--strict` this is [`ERROR`] instead.
pub const INPUT_SKIPPED: u8 = 3;
/// `run` completed, but a correlation rule made more alerts of one join key than
/// `--max-alerts-per-key`: those past it were not written (it takes precedence over
/// [`INPUT_SKIPPED`]). With `--strict` this is [`ERROR`] instead.
pub const ALERTS_CAPPED: u8 = 4;
/// `run` completed, but some rules have errors (printed first): those were refused, the others ran.
/// Input skipped and alerts capped take precedence. With `--strict` nothing runs: [`ERROR`].
pub const RULES_REFUSED: u8 = 5;
