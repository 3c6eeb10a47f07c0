//! The tables, rules and rule tests built into the binary (see `build.rs`):
//! `(path, text)`. `TESTS` holds the rules' `*.tests.yml`, which `RULES` leaves out.

include!(concat!(env!("OUT_DIR"), "/builtin.rs"));

/// The two rules the project started from (the T1528 hunt and the credential
/// rule), as rule files: what the engine's own tests run.
#[cfg(test)]
pub fn seed_rule_files() -> Vec<std::sync::Arc<crate::span::SourceFile>> {
    const SEEDS: [&str; 2] = ["service_principal_token_ip_mismatch.yml", "application_credential_added_via_graph.yml"];
    RULES
        .iter()
        .filter(|(p, _)| SEEDS.iter().any(|s| p.ends_with(&format!("/{s}"))))
        .map(|(p, t)| crate::span::SourceFile::new(*p, t.to_string()))
        .collect()
}
