//! `sigcorr compile --target pyspark`: the PySpark job, run on local
//! PySpark, writes exactly the alerts `sigcorr run` writes (fields and
//! evidence, as multisets of JSON objects) over the bench generator's data
//! at 0.1x scale, with both record shapes, gzip, JSON documents and
//! `{"records": [...]}` bodies, the user sign-in tables and the sample
//! dataset beside it, every shipped rule loaded.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use serde_json::{Value, json};

use crate::common::repo;
use crate::compile::{python, require_python_module, sigcorr};

const NOW: &str = "2026-07-16T12:00:00Z";

/// The data: the generator's Log Analytics rows at 0.1x scale (`bench/run
/// --scale 0.1`), its diagnostic-settings records (CRLF, the Graph file
/// gzipped), the user sign-in, audit and activity tables, the samples, and
/// the containers `sigcorr run` reads besides NDJSON.
fn write_data(logs: &Path) {
    let la = sigcorr_datagen::Config { seed: 7, graph: 200_000, signins: 30_000, ..Default::default() };
    sigcorr_datagen::write_split(&sigcorr_datagen::generate(&la), &logs.join("la")).unwrap();

    let diag = sigcorr_datagen::Config {
        seed: 8,
        graph: 20_000,
        signins: 3_000,
        shape: sigcorr_datagen::Shape::Diagnostic,
        other_tables: 500,
        crlf: true,
        ..Default::default()
    };
    let dir = logs.join("diag");
    sigcorr_datagen::write_split(&sigcorr_datagen::generate(&diag), &dir).unwrap();
    let graph = dir.join("MicrosoftGraphActivityLogs.json");
    let text = std::fs::read(&graph).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&text).unwrap();
    std::fs::write(dir.join("MicrosoftGraphActivityLogs.json.gz"), gz.finish().unwrap()).unwrap();
    std::fs::remove_file(&graph).unwrap();

    let entra = sigcorr_datagen::EntraConfig {
        seed: 9,
        signin: 5_000,
        audit: 500,
        activity: 500,
        risk: 200,
        now: sigcorr_datagen::DEFAULT_NOW_UNIX,
        crlf: false,
    };
    sigcorr_datagen::write_entra(&entra, &logs.join("entra")).unwrap();

    let samples = repo().join("samples/entra");
    std::fs::create_dir_all(logs.join("samples")).unwrap();
    for f in std::fs::read_dir(&samples).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, logs.join("samples").join(f.file_name().unwrap())).unwrap();
    }

    // The samples' records again, in the other containers.
    let records = |file: &str| -> Vec<Value> {
        std::fs::read_to_string(samples.join(file))
            .unwrap()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let graph = records("MicrosoftGraphActivityLogs.json");
    let signins = records("AADServicePrincipalSignInLogs.json");
    let shapes = logs.join("shapes");
    std::fs::create_dir_all(&shapes).unwrap();
    // A pretty-printed array (`az monitor log-analytics query`).
    std::fs::write(shapes.join("array.json"), serde_json::to_string_pretty(&graph[60..]).unwrap()).unwrap();
    // A pretty-printed `{"records": [...]}` body, and one body per line.
    std::fs::write(shapes.join("body.json"), serde_json::to_string_pretty(&json!({ "records": signins })).unwrap())
        .unwrap();
    let lines: Vec<String> = graph[70..].chunks(7).map(|c| json!({ "records": c }).to_string()).collect();
    std::fs::write(shapes.join("bodies.json"), lines.join("\n")).unwrap();
    // A BOM, CRLF, a blank line and a broken record among good ones.
    let mut text = String::from("\u{feff}");
    for (i, r) in graph[40..80].iter().enumerate() {
        text.push_str(&r.to_string());
        text.push_str("\r\n");
        if i == 5 {
            text.push_str("\r\n{\"Type\": \"MicrosoftGraphActivityLogs\", \"broken\r\n");
        }
    }
    std::fs::write(shapes.join("mixed.ndjson"), text).unwrap();
}

/// Runs `dir/job.py` on local PySpark over `inputs`, alerts to
/// `dir/job.jsonl`: its exit status and standard error.
fn run_job(dir: &Path, inputs: &[&str]) -> (Option<i32>, String) {
    require_python_module("pyspark");
    let out = std::process::Command::new(python())
        .current_dir(dir)
        .env("PYSPARK_PYTHON", python())
        .env(
            "PYSPARK_SUBMIT_ARGS",
            "--master local[2] --driver-memory 2g --conf spark.ui.enabled=false --conf spark.sql.shuffle.partitions=4 pyspark-shell",
        )
        .arg("job.py")
        .args(inputs)
        .args(["-o", "job.jsonl"])
        .output()
        .unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// `want` (sigcorr run's alerts) and `got` (the job's) are the same multiset.
fn assert_same(want: &BTreeMap<String, usize>, got: &BTreeMap<String, usize>) {
    let only = |a: &BTreeMap<String, usize>, b: &BTreeMap<String, usize>| -> Vec<String> {
        a.iter().filter(|(k, n)| b.get(*k) != Some(n)).map(|(k, n)| format!("{n}x {k}")).take(5).collect()
    };
    assert!(
        want == got,
        "{} alerts from sigcorr run, {} from the job\nonly (or more often) in run:\n{}\nonly (or more often) in the job:\n{}",
        want.values().sum::<usize>(),
        got.values().sum::<usize>(),
        only(want, got).join("\n"),
        only(got, want).join("\n")
    );
}

/// Each alert as canonical JSON text, counted.
fn alerts(text: &str) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        *out.entry(v.to_string()).or_insert(0) += 1;
    }
    out
}

#[test]
fn pyspark_job_writes_the_alerts_of_sigcorr_run() {
    let root = tempfile::tempdir().unwrap();
    let logs = root.path().join("logs");
    write_data(&logs);
    let logs_arg = logs.to_str().unwrap();

    let run = sigcorr(root.path(), &["run", "--now", NOW, "-o", "run.jsonl", logs_arg]);
    assert_eq!(run.code, 3, "the broken record is a warning:\n{}", run.stderr);
    assert!(run.stderr.contains("mixed.ndjson:8"), "{}", run.stderr);

    let job = sigcorr(root.path(), &["compile", "--target", "pyspark", "--now", NOW]);
    assert_eq!(job.code, 0, "{}", job.stderr);
    std::fs::write(root.path().join("job.py"), &job.stdout).unwrap();

    let stderr = run_job(root.path(), &[logs_arg]);
    assert_eq!(stderr.0, Some(3), "the job reports the broken record too:\n{}", stderr.1);
    assert!(stderr.1.contains("mixed.ndjson:8: invalid JSON"), "{}", stderr.1);

    let want = alerts(&std::fs::read_to_string(root.path().join("run.jsonl")).unwrap());
    let got = alerts(&std::fs::read_to_string(root.path().join("job.jsonl")).unwrap());
    assert_same(&want, &got);

    // What the comparison covered: the rules that alerted, the containers
    // and shapes their evidence comes from, correlation alerts.
    let all: Vec<Value> = want.keys().map(|k| serde_json::from_str(k).unwrap()).collect();
    let rules: std::collections::BTreeSet<&str> = all.iter().filter_map(|a| a["rule"]["id"].as_str()).collect();
    assert!(rules.len() >= 8, "only {} rules alerted: {rules:?}", rules.len());
    let evidence: String = all.iter().map(|a| a["evidence"].to_string()).collect();
    // (The user sign-in tables raise no alert of a shipped rule: they are
    // there to be read and routed.)
    for part in ["/la/", "/diag/", ".json.gz:", "/shapes/array.json:", "/shapes/body.json:", "/shapes/bodies.json:"] {
        assert!(evidence.contains(part), "no alert's evidence is in {part}");
    }
    assert!(
        all.iter().any(|a| a["evidence"].as_object().unwrap().values().any(Value::is_array)),
        "no correlation alert"
    );
    eprintln!("the job and sigcorr run agree on {} alerts of {} rules", want.values().sum::<usize>(), rules.len());
}

/// Chained correlations (Spark SQL alone refuses them, E800): the job
/// computes each inner correlation once, as a view, and the outer ones read
/// it. Three levels (`top` over `outer` over `pairs` over `failed`; `top`
/// generates `outer`, whose alerts are then written from its view) and a
/// diamond (`both` reads `pairs` directly and through `outer`), over
/// shuffled sign-ins with ties in time.
#[test]
fn pyspark_job_runs_chained_correlations() {
    use crate::correlation_duckdb::{FAILED, PAIRS, signins};
    let root = tempfile::tempdir().unwrap();
    let logs = root.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let records: String = signins(7, 400).iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(logs.join("a.json"), records).unwrap();
    let correlation = |name: &str, n: u32, body: &str| {
        format!(
            "title: {name}\nid: 7d0c5e1a-0000-4000-8000-6000000000{n:02}\nname: {name}\nlevel: high\ncorrelation:\n{body}"
        )
    };
    let rules = [
        correlation(
            "outer",
            1,
            "  type: event_count\n  rules: [pairs]\n  group-by: [UserPrincipalName]\n  timespan: 30m\n  condition:\n    gte: 2\n",
        ),
        correlation(
            "top",
            2,
            "  type: event_count\n  rules: [outer]\n  group-by: [UserPrincipalName]\n  timespan: 2h\n  condition:\n    gte: 1\n  generate: true\n",
        ),
        correlation(
            "both",
            3,
            "  type: temporal\n  rules: [pairs, outer]\n  group-by: [UserPrincipalName]\n  timespan: 1h\n",
        ),
        FAILED.to_string(),
        PAIRS.to_string(),
    ];
    std::fs::write(root.path().join("chain.yml"), rules.join("---\n")).unwrap();
    let logs_arg = logs.to_str().unwrap();

    let run = sigcorr(root.path(), &["run", "--now", NOW, "--rules", "chain.yml", "-o", "run.jsonl", logs_arg]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let spark = sigcorr(root.path(), &["compile", "--target", "spark-sql", "--rules", "chain.yml", "top"]);
    assert_eq!(spark.code, 2, "Spark SQL alone refuses a chain: {}", spark.stderr);
    let job = sigcorr(root.path(), &["compile", "--target", "pyspark", "--now", NOW, "--rules", "chain.yml"]);
    assert_eq!(job.code, 0, "{}", job.stderr);
    assert_eq!(job.stdout.matches("\"name\": \"__sigcorr_view_").count(), 2, "pairs and outer, once each");
    std::fs::write(root.path().join("job.py"), &job.stdout).unwrap();

    let (code, stderr) = run_job(root.path(), &[logs_arg]);
    assert_eq!(code, Some(0), "{stderr}");
    let want = alerts(&std::fs::read_to_string(root.path().join("run.jsonl")).unwrap());
    let got = alerts(&std::fs::read_to_string(root.path().join("job.jsonl")).unwrap());
    assert_same(&want, &got);
    for title in ["top", "outer", "both"] {
        let n = want.keys().filter(|k| k.contains(&format!("\"title\":\"{title}\""))).count();
        assert!(n > 0, "`{title}` alerts, so the comparison covers it");
    }
    eprintln!("the job and sigcorr run agree on {} chained-correlation alerts", want.values().sum::<usize>());
}
