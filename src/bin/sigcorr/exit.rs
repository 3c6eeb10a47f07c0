//! Exit codes, one table for every subcommand (the README shows the same).

/// Success: the run completed (alerts or not), the rules are clean, the tests pass.
pub const OK: u8 = 0;
/// Usage error, unreadable rules or inputs, or rules with errors.
pub const ERROR: u8 = 2;
