//! End to end on generated data: the engine's alerts equal the seed query's
//! rows (plus the non-empty sign-in IP guard), computed two independent
//! ways — by a brute-force reading of the written files here, and by the
//! generator's own model (`sigcorr_datagen::reference_alerts`).

use std::path::Path;

use chrono::{DateTime, Duration};
use serde_json::Value;
use sigcorr_datagen::{Config, generate, reference_alerts, write_mixed, write_split};

use crate::common::{SEED_COLUMNS, T1528_ID, Test};

const NOW: &str = "2026-07-16T12:00:00Z";

/// Every record of every file under `dir`, parsed.
fn records(dir: &Path) -> Vec<Value> {
    let mut paths: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    paths.sort();
    paths
        .iter()
        .flat_map(|p| {
            std::fs::read_to_string(p)
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect::<Vec<Value>>()
        })
        .collect()
}

fn text(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// The seed query, brute force: every (Graph call, sign-in) pair.
fn brute_force(records: &[Value]) -> Vec<Vec<String>> {
    let now = DateTime::parse_from_rfc3339(NOW).unwrap();
    let cutoff = now - Duration::days(30);
    let signins: Vec<&Value> = records
        .iter()
        .filter(|r| {
            matches!(r["Type"].as_str(), Some("AADServicePrincipalSignInLogs" | "AADManagedIdentitySignInLogs"))
        })
        .collect();
    let mut rows = Vec::new();
    for g in records.iter().filter(|r| r["Type"] == "MicrosoftGraphActivityLogs") {
        let Ok(t) = DateTime::parse_from_rfc3339(&text(g, "TimeGenerated")) else { continue };
        let status: i64 = text(g, "ResponseStatusCode").parse().unwrap_or(-1);
        if t <= cutoff || !(100..=300).contains(&status) {
            continue;
        }
        let key = text(g, "SignInActivityId");
        for s in &signins {
            let sip = text(s, "IPAddress");
            if !key.is_empty()
                && text(s, "UniqueTokenIdentifier") == key
                && !sip.is_empty()
                && sip != text(g, "IPAddress")
            {
                rows.push(vec![
                    text(g, "TimeGenerated"),
                    text(s, "ServicePrincipalName"),
                    sip,
                    text(g, "IPAddress"),
                    text(g, "ServicePrincipalId"),
                    text(s, "ServicePrincipalCredentialKeyId"),
                    text(g, "RequestUri"),
                    text(g, "RequestMethod"),
                ]);
            }
        }
    }
    rows.sort();
    rows
}

fn engine_rows(dir: &Path, extra: &[&str]) -> (Vec<Vec<String>>, String) {
    let run = Test::new().args(["run", "--now", NOW]).args(extra).args([dir.to_str().unwrap()]).run();
    assert!(run.code == 0 || run.code == 3, "exit {}: {}", run.code, run.stderr);
    let mut rows: Vec<Vec<String>> = run
        .alerts()
        .into_iter()
        .filter(|a| a.rule.id == T1528_ID)
        .map(|a| {
            assert_eq!(a.fields.keys().map(String::as_str).collect::<Vec<_>>(), SEED_COLUMNS);
            a.fields.values().map(|v| v.as_str().expect("string field").to_string()).collect()
        })
        .collect();
    rows.sort();
    (rows, run.stdout)
}

#[test]
fn generated_dataset_matches_the_seed_query() {
    let cfg = Config { seed: 11, graph: 3000, signins: 400, other_tables: 60, ..Config::default() };
    let ds = generate(&cfg);
    let dir = tempfile::tempdir().unwrap();
    write_split(&ds, dir.path()).unwrap();

    let expected = brute_force(&records(dir.path()));
    assert!(expected.len() >= 20, "the dataset should contain stolen tokens and NAT pools; got {}", expected.len());
    let model: Vec<Vec<String>> = {
        let mut m: Vec<Vec<String>> =
            reference_alerts(&ds).iter().map(|a| a.values().iter().map(|s| s.to_string()).collect()).collect();
        m.sort();
        m
    };
    assert_eq!(expected, model, "the two oracles disagree");

    let (got, _) = engine_rows(dir.path(), &[]);
    assert_eq!(got.len(), expected.len());
    assert_eq!(got, expected);
}

#[test]
fn mixed_file_gives_the_same_rows_as_split_files() {
    let ds = generate(&Config { seed: 5, graph: 1500, signins: 200, ..Config::default() });
    let (split, mixed) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write_split(&ds, split.path()).unwrap();
    write_mixed(&ds, &mixed.path().join("all.json")).unwrap();
    let (a, _) = engine_rows(split.path(), &[]);
    let (b, _) = engine_rows(mixed.path(), &[]);
    assert!(!a.is_empty());
    assert_eq!(a, b);
}

#[test]
fn output_is_identical_whatever_the_thread_count() {
    let ds = generate(&Config { seed: 9, graph: 20_000, signins: 2_000, ..Config::default() });
    let dir = tempfile::tempdir().unwrap();
    write_mixed(&ds, &dir.path().join("all.json")).unwrap();
    let (_, one) = engine_rows(dir.path(), &["--threads", "1"]);
    let (_, four) = engine_rows(dir.path(), &["--threads", "4"]);
    assert!(one.lines().count() > 10);
    assert_eq!(one, four, "byte-identical output");
}

/// Blocks of 4 KiB instead of 4 MiB: hundreds of blocks, several parsing
/// at once, and no record lost or counted twice: the same bytes out, and the
/// same summary, from a mapped file, a gzipped one and standard input; and
/// the same bytes from the file read without a memory map.
#[test]
fn output_is_identical_whatever_the_block_size() {
    let ds = generate(&Config { seed: 3, graph: 3_000, signins: 400, other_tables: 40, ..Config::default() });
    let dir = tempfile::tempdir().unwrap();
    write_mixed(&ds, &dir.path().join("all.json")).unwrap();
    let text = std::fs::read(dir.path().join("all.json")).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &text).unwrap();
    let gz = gz.finish().unwrap();
    let run = |block: Option<&str>, input: &str| {
        let mut t = Test::new().file("all.json", &text).file("all.json.gz", &gz).stdin(text.clone());
        if let Some(b) = block {
            t = t.env("SIGCORR_BLOCK_BYTES", b);
        }
        let run = t.args(["run", "--now", NOW, input]).run();
        assert!(run.code == 0 || run.code == 3, "exit {}: {}", run.code, run.stderr);
        let summary: Vec<String> =
            run.stderr.lines().filter(|l| !l.starts_with("sigcorr: read")).map(str::to_string).collect();
        (run.stdout.clone(), summary)
    };
    assert!(text.len() > 100 * 4096, "the input spans many small blocks");
    for input in ["all.json", "all.json.gz", "-"] {
        let whole = run(None, input);
        assert!(whole.0.lines().count() > 10);
        assert_eq!(run(Some("4096"), input), whole, "{input}");
    }
    // The same file read with `read()` instead of a memory map.
    let streamed = Test::new().file("all.json", &text).env("SIGCORR_NO_MMAP", "1");
    let streamed = streamed.args(["run", "--now", NOW, "all.json"]).run();
    assert_eq!(streamed.stdout, run(None, "all.json").0);
}

#[test]
fn sample_dataset_fires() {
    let samples = crate::common::repo().join("samples/entra");
    let (rows, _) = engine_rows(&samples, &[]);
    let expected = brute_force(&records(&samples));
    assert!(!expected.is_empty());
    assert_eq!(rows, expected);
}
