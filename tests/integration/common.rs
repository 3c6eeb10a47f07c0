//! A small builder for CLI cases: files, args → stdout, stderr, exit code.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

use serde::Deserialize;

/// The shipped rules directory.
/// The two rules the project started from: the T1528 hunt and the
/// credential rule (under `rules/`).
pub const SEED_RULES: [&str; 2] =
    ["entra/service_principal_token_ip_mismatch.yml", "entra/application_credential_added_via_graph.yml"];

pub fn rules_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("rules")
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A temporary directory holding a case's files, and the command to run in it.
pub struct Test {
    pub dir: tempfile::TempDir,
    args: Vec<String>,
    stdin: Option<Vec<u8>>,
    envs: Vec<(String, String)>,
}

pub struct Run {
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
}

impl Test {
    pub fn new() -> Test {
        Test { dir: tempfile::tempdir().expect("tempdir"), args: Vec::new(), stdin: None, envs: Vec::new() }
    }

    /// Writes a file (creating parent directories) under the case's directory.
    pub fn file(self, rel: &str, contents: impl AsRef<[u8]>) -> Test {
        let path = self.dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, contents).unwrap();
        self
    }

    /// NDJSON lines from JSON values.
    pub fn records(self, rel: &str, records: &[serde_json::Value]) -> Test {
        let text: String = records.iter().map(|r| format!("{r}\n")).collect();
        self.file(rel, text)
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn args<I: IntoIterator<Item = S>, S: AsRef<str>>(mut self, args: I) -> Test {
        self.args.extend(args.into_iter().map(|a| a.as_ref().to_string()));
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Test {
        self.envs.push((key.to_string(), value.to_string()));
        self
    }

    pub fn stdin(mut self, data: impl Into<Vec<u8>>) -> Test {
        self.stdin = Some(data.into());
        self
    }

    /// Runs `sigcorr` with the arguments. A `run` that names no `--rules`
    /// runs the two seed rules ([`SEED_RULES`]), not every built-in rule:
    /// the engine's tests were written against them, and the rule pack's
    /// own rules are tested by their tests files (`ruletest.rs`).
    pub fn run(&self) -> Run {
        let mut cmd = assert_cmd::Command::cargo_bin("sigcorr").unwrap();
        cmd.current_dir(self.dir.path()).args(&self.args).envs(self.envs.iter().cloned());
        if self.args.first().is_some_and(|a| a == "run") && !self.args.iter().any(|a| a == "--rules") {
            for rule in SEED_RULES {
                cmd.arg("--rules").arg(rules_dir().join(rule));
            }
        }
        if let Some(s) = &self.stdin {
            cmd.write_stdin(s.clone());
        }
        let Output { status, stdout, stderr } = cmd.output().unwrap();
        Run {
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
            code: status.code().unwrap_or(-1),
        }
    }
}

impl Run {
    /// Asserts the exit code, showing stderr when it differs.
    pub fn code(&self, want: i32) -> &Run {
        assert_eq!(self.code, want, "exit code; stderr:\n{}\nstdout:\n{}", self.stderr, self.stdout);
        self
    }

    /// The alerts on stdout, decoded.
    pub fn alerts(&self) -> Vec<Alert> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not an alert: {e}: {l}")))
            .collect()
    }
}

/// One JSON-lines alert, as `sigcorr run --format jsonl` prints it.
#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Alert {
    pub rule: RuleRef,
    /// Ordered as the rule's `output`.
    pub fields: indexmap::IndexMap<String, serde_json::Value>,
    pub evidence: indexmap::IndexMap<String, String>,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RuleRef {
    pub id: String,
    pub title: String,
    pub level: String,
    pub tags: Vec<String>,
}

pub const T1528_ID: &str = "0428e609-07b8-42bf-a36b-d74e4e2be504";

/// The seed's output columns, in its order and spelling.
pub const SEED_COLUMNS: [&str; 8] = [
    "TimeGenerated",
    "ServicePrincipalName",
    "SigninInIPAddress",
    "ActivityIPAddress",
    "ServicePrincipalId",
    "ServicePrincipalCredentialKeyId",
    "RequestUri",
    "RequestMethod",
];
