//! Sigma correlations against an independent implementation: generated,
//! shuffled sign-ins on a minute grid (so that times tie and windows end
//! exactly on events), each correlation type run by `sigcorr run` and by
//! DuckDB SQL written here from the README's definitions (at each distinct
//! time, the window is the events from `timespan` before it up to it, both
//! ends and every event of that time included; a window that meets the
//! condition fires; firing windows that share an event make one alert,
//! whose count, times and value are over all its events). The SQL is
//! exact, not fast: every window is a self-join. One case chains two
//! correlations (the inner one's alerts are the outer one's events, each at
//! its last time).

use serde_json::{Value, json};

use crate::common::Test;
use crate::compile::{python, require_python_module};

const USERS: [&str; 4] = ["alice", "bob", "carol", "dave"];
const IPS: [&str; 4] = ["198.51.100.1", "198.51.100.2", "203.0.113.7", ""];

/// A small deterministic generator (xorshift), so that failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Sign-ins over two hours on a minute grid, in random order: user, address,
/// failure or success, duration; a success also names the user as
/// `AlternateSignInName` with another `UserPrincipalName` (for aliases).
pub(crate) fn signins(seed: u64, n: usize) -> Vec<Value> {
    let mut rng = Rng(seed);
    let mut out: Vec<Value> = (0..n)
        .map(|_| {
            let user = USERS[rng.next(4) as usize];
            let minute = rng.next(120);
            let failed = rng.next(3) != 0;
            let mut r = json!({
                "Type": "SigninLogs",
                "TimeGenerated": format!("2026-07-16T{:02}:{:02}:00Z", 10 + minute / 60, minute % 60),
                "UserPrincipalName": user,
                "IPAddress": IPS[rng.next(4) as usize],
                "ResultType": if failed { "50126" } else { "0" },
                "DurationMs": rng.next(1000),
            });
            if !failed {
                r["AlternateSignInName"] = json!(user);
                r["UserPrincipalName"] = json!(format!("svc-{}", rng.next(2)));
            }
            r
        })
        .collect();
    // Shuffle (Fisher-Yates): logs are not in time order.
    for i in (1..out.len()).rev() {
        out.swap(i, rng.next(i as u64 + 1) as usize);
    }
    out
}

fn uuid(n: u32) -> String {
    format!("7d0c5e1a-0000-4000-8000-{n:012}")
}

pub(crate) const FAILED: &str = "title: failed\nid: 7d0c5e1a-0000-4000-8000-100000000001\nname: failed\nlevel: low\nlogsource:\n  product: azure\n  service: signinlogs\ndetection:\n  selection:\n    ResultType: 50126\n  condition: selection\n";
pub(crate) const SUCCESS: &str = "title: success\nid: 7d0c5e1a-0000-4000-8000-100000000002\nname: success\nlevel: low\nlogsource:\n  product: azure\n  service: signinlogs\ndetection:\n  selection:\n    ResultType: 0\n  condition: selection\n";
/// An event_count correlation (two failures of one user in 5 minutes),
/// itself referenced by the chained case.
pub(crate) const PAIRS: &str = "title: pairs\nid: 7d0c5e1a-0000-4000-8000-100000000004\nname: pairs\nlevel: low\ncorrelation:\n  type: event_count\n  rules: [failed]\n  group-by: [UserPrincipalName]\n  timespan: 5m\n  condition:\n    gte: 2\n";
pub(crate) const ANY: &str = "title: any\nid: 7d0c5e1a-0000-4000-8000-100000000003\nname: any\nlevel: low\nlogsource:\n  product: azure\n  service: signinlogs\ndetection:\n  selection:\n    UserPrincipalName|exists: true\n  condition: selection\n";

/// One case: the correlation (its `correlation:` body), the detection rules
/// it needs, and the SQL reading of it: the events (`k`, `t`, `line`, `input`,
/// `v`), the window's timespan in minutes, the aggregate over a window's
/// events `b`, and the condition on it.
pub(crate) struct Case {
    pub(crate) name: &'static str,
    pub(crate) body: &'static str,
    pub(crate) rules: &'static [&'static str],
    events: &'static str,
    minutes: u32,
    aggregate: &'static str,
    condition: &'static str,
    /// A chained case: the outer correlation's minutes and condition on
    /// the count of the inner one's alerts.
    pub(crate) outer: Option<(u32, &'static str)>,
}

pub(crate) const CASES: &[Case] = &[
    Case {
        name: "event_count",
        body: "  type: event_count\n  rules: [failed]\n  group-by: [UserPrincipalName]\n  timespan: 10m\n  condition:\n    gte: 3\n",
        rules: &[FAILED],
        events: "SELECT UserPrincipalName AS k, t, line, 0 AS input, NULL AS v FROM logs WHERE ResultType = '50126'",
        minutes: 10,
        aggregate: "count(*)",
        condition: "agg >= 3",
        outer: None,
    },
    Case {
        name: "event_count_range",
        body: "  type: event_count\n  rules: [failed]\n  group-by: [UserPrincipalName]\n  timespan: 5m\n  condition:\n    gt: 1\n    lte: 2\n",
        rules: &[FAILED],
        events: "SELECT UserPrincipalName AS k, t, line, 0 AS input, NULL AS v FROM logs WHERE ResultType = '50126'",
        minutes: 5,
        aggregate: "count(*)",
        condition: "agg > 1 AND agg <= 2",
        outer: None,
    },
    Case {
        name: "value_count",
        body: "  type: value_count\n  rules: [any]\n  group-by: [UserPrincipalName]\n  timespan: 15m\n  condition:\n    field: IPAddress\n    gte: 3\n",
        rules: &[ANY],
        events: "SELECT UserPrincipalName AS k, t, line, 0 AS input, nullif(IPAddress, '') AS v FROM logs",
        minutes: 15,
        aggregate: "count(DISTINCT b.v)",
        condition: "agg >= 3",
        outer: None,
    },
    Case {
        name: "value_sum",
        body: "  type: value_sum\n  rules: [failed]\n  group-by: [UserPrincipalName]\n  timespan: 10m\n  condition:\n    field: DurationMs\n    gt: 2000\n",
        rules: &[FAILED],
        events: "SELECT UserPrincipalName AS k, t, line, 0 AS input, DurationMs AS v FROM logs WHERE ResultType = '50126'",
        minutes: 10,
        aggregate: "coalesce(sum(b.v), 0)",
        condition: "agg > 2000",
        outer: None,
    },
    Case {
        name: "value_avg",
        body: "  type: value_avg\n  rules: [failed]\n  group-by: [UserPrincipalName]\n  timespan: 10m\n  condition:\n    field: DurationMs\n    gte: 700\n",
        rules: &[FAILED],
        events: "SELECT UserPrincipalName AS k, t, line, 0 AS input, DurationMs AS v FROM logs WHERE ResultType = '50126'",
        minutes: 10,
        aggregate: "avg(b.v)",
        condition: "agg >= 700",
        outer: None,
    },
    Case {
        name: "value_percentile",
        body: "  type: value_percentile\n  rules: [failed]\n  group-by: [UserPrincipalName]\n  timespan: 20m\n  condition:\n    field: DurationMs\n    percentile: 90\n    gte: 950\n",
        rules: &[FAILED],
        events: "SELECT UserPrincipalName AS k, t, line, 0 AS input, DurationMs AS v FROM logs WHERE ResultType = '50126'",
        minutes: 20,
        // Nearest rank: the value at rank ceil(p/100 * n).
        aggregate: "list_sort(list(b.v))[greatest(1, ceil(0.9 * count(b.v)))::INTEGER]",
        condition: "agg >= 950",
        outer: None,
    },
    Case {
        name: "temporal_with_aliases",
        body: "  type: temporal\n  rules: [failed, success]\n  group-by: [user]\n  timespan: 5m\n  aliases:\n    user:\n      failed: UserPrincipalName\n      success: AlternateSignInName\n",
        rules: &[FAILED, SUCCESS],
        events: "SELECT UserPrincipalName AS k, t, line, 0 AS input, NULL AS v FROM logs WHERE ResultType = '50126' \
                 UNION ALL SELECT AlternateSignInName, t, line, 1, NULL FROM logs WHERE ResultType = '0'",
        minutes: 5,
        aggregate: "count(DISTINCT b.input)",
        condition: "agg >= 2",
        outer: None,
    },
    Case {
        name: "chained",
        body: "  type: event_count\n  rules: [pairs]\n  group-by: [UserPrincipalName]\n  timespan: 30m\n  condition:\n    gte: 2\n",
        rules: &[FAILED, PAIRS],
        events: "SELECT UserPrincipalName AS k, t, line, 0 AS input, NULL AS v FROM logs WHERE ResultType = '50126'",
        minutes: 5,
        aggregate: "count(*)",
        condition: "agg >= 2",
        outer: Some((30, "agg >= 2")),
    },
];

/// The case's alerts by DuckDB: `user first last count` lines, sorted.
const SQL: &str = r#"
import sys, duckdb
logs, events, minutes, aggregate, condition, out = sys.argv[1:7]
outer = sys.argv[7:]  # a chained case: the outer correlation's minutes and condition on count(*)
con = duckdb.connect()
con.execute(f"""CREATE TABLE logs AS SELECT *, CAST(TimeGenerated AS TIMESTAMP) AS t, row_number() OVER () AS line
    FROM read_json('{logs}', format='newline_delimited', columns={{'TimeGenerated': 'VARCHAR', 'UserPrincipalName': 'VARCHAR',
    'AlternateSignInName': 'VARCHAR', 'IPAddress': 'VARCHAR', 'ResultType': 'VARCHAR', 'DurationMs': 'BIGINT'}})""")

def alerts(events, minutes, aggregate, condition):
    """The alerts of one correlation over `events` (k, t, line, input, v): k, first, last, count."""
    return f"""
WITH ev AS (SELECT *, row_number() OVER (PARTITION BY k ORDER BY t, input, line) AS i FROM ({events})),
win AS (
  SELECT a.k, a.t, min(b.i) AS lo, max(b.i) AS hi, {aggregate} AS agg
  FROM (SELECT DISTINCT k, t FROM ev) a JOIN ev b ON b.k = a.k AND b.t <= a.t AND b.t >= a.t - INTERVAL {minutes} MINUTE
  GROUP BY a.k, a.t),
fired AS (SELECT k, t, lo, hi FROM win WHERE {condition}),
marked AS (SELECT *, CASE WHEN lo > coalesce(lag(hi) OVER (PARTITION BY k ORDER BY t), -1) THEN 1 ELSE 0 END AS new FROM fired),
bursts AS (SELECT *, sum(new) OVER (PARTITION BY k ORDER BY t) AS burst FROM marked),
spans AS (SELECT k, burst, min(lo) AS first, max(hi) AS last FROM bursts GROUP BY k, burst)
SELECT s.k AS k, f.t AS first, l.t AS last, s.last - s.first + 1 AS n
FROM spans s JOIN ev f ON f.k = s.k AND f.i = s.first JOIN ev l ON l.k = s.k AND l.i = s.last
"""

q = alerts(events, minutes, aggregate, condition)
if outer:
    # A correlation's alert is an event at its last time.
    inner = f"SELECT k, last AS t, 0 AS line, 0 AS input, NULL AS v FROM ({q})"
    q = alerts(inner, outer[0], "count(*)", outer[1])
q = f"SELECT k, strftime(first, '%H:%M'), strftime(last, '%H:%M'), n FROM ({q}) ORDER BY 1, 2, 3"
with open(out, "w") as f:
    for row in con.execute(q).fetchall():
        f.write(" ".join(str(x) for x in row) + "\n")
"#;

#[test]
fn every_correlation_type_agrees_with_duckdb_sql_on_shuffled_sign_ins() {
    require_python_module("duckdb");
    for seed in [7u64, 2026, 99991] {
        let records = signins(seed, 400);
        for (n, case) in CASES.iter().enumerate() {
            let correlation =
                format!("title: {}\nid: {}\nlevel: high\ncorrelation:\n{}", case.name, uuid(n as u32), case.body);
            let rules: Vec<&str> = std::iter::once(correlation.as_str()).chain(case.rules.iter().copied()).collect();
            let test = Test::new()
                .file("rules.yml", rules.join("---\n"))
                .records("logs.json", &records)
                .file("sql.py", SQL)
                .args(["run", "--rules", "rules.yml", "logs.json"]);
            let run = test.run();
            run.code(0);
            let mut ours: Vec<String> = run
                .stdout
                .lines()
                .map(|l| {
                    let a: Value = serde_json::from_str(l).unwrap();
                    let f = &a["fields"];
                    // The group-by value: the one field that is not count, times or the value.
                    let fixed = ["count", "first", "last", "rules"];
                    let (_, key) = f
                        .as_object()
                        .unwrap()
                        .iter()
                        .find(|(k, _)| {
                            !fixed.contains(&k.as_str()) && !k.starts_with("event_") && !k.starts_with("value_")
                        })
                        .unwrap();
                    let key = key.as_str().unwrap();
                    let hm = |k: &str| f[k].as_str().unwrap()[11..16].to_string();
                    format!("{key} {} {} {}", hm("first"), hm("last"), f["count"])
                })
                .collect();
            ours.sort();
            let out = std::process::Command::new(python())
                .arg(test.path("sql.py"))
                .args([test.path("logs.json").display().to_string(), case.events.to_string(), case.minutes.to_string()])
                .args([case.aggregate, case.condition])
                .arg(test.path("duckdb.txt"))
                .args(case.outer.map(|(m, c)| vec![m.to_string(), c.to_string()]).unwrap_or_default())
                .output()
                .unwrap();
            assert!(out.status.success(), "{}: {}", case.name, String::from_utf8_lossy(&out.stderr));
            let theirs: Vec<String> =
                std::fs::read_to_string(test.path("duckdb.txt")).unwrap().lines().map(str::to_string).collect();
            assert!(!theirs.is_empty(), "{} (seed {seed}): the data makes no alert; the case tests nothing", case.name);
            assert_eq!(ours, theirs, "{} (seed {seed}): sigcorr (left) and DuckDB (right) differ", case.name);
        }
    }
}
