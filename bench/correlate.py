#!/usr/bin/env python3
"""sigcorr vs DuckDB on Sigma correlations: an event_count and a value_count
correlation over generated sign-ins, each written as DuckDB SQL with the same
window semantics (README, "Sigma correlation rules"), in the same run.

    bench/correlate.py                     # 10,000,000 sign-ins, 5 runs each
    bench/correlate.py --records 100000 --runs 2   # a quick check
    bench/correlate.py --no-build          # use the existing release binary

Steps: (1) `cargo build --release` (unless --no-build); (2) the dataset
`bench/out/corr-<records>/signins.ndjson` when absent (seed 7; Log Analytics-
shaped SigninLogs rows with the columns the rules read and a few more; every
TimeGenerated distinct, so that no two events tie and DuckDB's RANGE frames
hold what sigcorr's windows hold); (3) one untimed run of each side, whose
alerts (user, first, last, count) must be equal, else exit status 1; (4) N
timed runs of each, alternating, under `/usr/bin/time -v` for peak RSS; (5) a
table of medians and the ratio sigcorr/DuckDB.

The data: 200,000 users; each sign-in a random user at a random second of one
day (1 in 4 a failure, ResultType 50126, from one of 8 addresses per user);
plus, for one user per 400 records, a burst of about 8 failures within 4 minutes from 4
addresses (what the rules find).
"""

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / "out"
SIGCORR = Path(os.environ.get("SIGCORR_BIN", ROOT / "target" / "release" / "sigcorr"))

EVENT_COUNT = """title: Password spray burst on one user
id: 6b3c1d2e-0f4a-4b5c-8d6e-7f8a9b0c1d2e
status: test
level: high
correlation:
  type: event_count
  rules: [failed_password]
  group-by: [UserPrincipalName]
  timespan: 10m
  condition:
    gte: 5
---
title: Failed password
id: 7c4d2e3f-1a5b-4c6d-9e7f-8a9b0c1d2e3f
name: failed_password
status: test
level: low
logsource:
  product: azure
  service: signinlogs
detection:
  selection:
    ResultType: 50126
  condition: selection
"""

VALUE_COUNT = """title: One user signing in from many addresses
id: 8d5e3f4a-2b6c-4d7e-8f8a-9b0c1d2e3f4a
status: test
level: medium
correlation:
  type: value_count
  rules: [any_signin]
  group-by: [UserPrincipalName]
  timespan: 1h
  condition:
    field: IPAddress
    gte: 4
---
title: Any sign-in
id: 9e6f4a5b-3c7d-4e8f-9a0b-0c1d2e3f4a5b
name: any_signin
status: test
level: informational
logsource:
  product: azure
  service: signinlogs
detection:
  selection:
    UserPrincipalName|exists: true
  condition: selection
"""

# The same windows in SQL: per user, events by time (all distinct); `lo` the
# first event of the trailing window [t - span, t]; a window fires when its
# aggregate meets the bound; a firing window whose first event is after the
# last firing event starts a new burst; one alert per burst.
DUCKDB = """
import sys, duckdb
path, kind = sys.argv[1], sys.argv[2]
con = duckdb.connect()
con.execute("SET preserve_insertion_order = false")
cols = "{'TimeGenerated': 'TIMESTAMP_NS', 'UserPrincipalName': 'VARCHAR', 'IPAddress': 'VARCHAR', 'ResultType': 'VARCHAR'}"
if kind == 'event_count':
    src = f"SELECT UserPrincipalName AS k, TimeGenerated AS t FROM read_json('{path}', format='newline_delimited', columns={cols}) WHERE lower(ResultType) = '50126'"
    span, agg, bound = "INTERVAL 10 MINUTE", "i - lo + 1", 5
    windows = f"SELECT k, t, i, min(i) OVER w AS lo FROM ev WINDOW w AS (PARTITION BY k ORDER BY t RANGE BETWEEN {span} PRECEDING AND CURRENT ROW)"
else:
    src = f"SELECT UserPrincipalName AS k, TimeGenerated AS t, nullif(IPAddress, '') AS v FROM read_json('{path}', format='newline_delimited', columns={cols}) WHERE UserPrincipalName IS NOT NULL AND UserPrincipalName <> ''"
    span, agg, bound = "INTERVAL 1 HOUR", "n", 4
    windows = f"SELECT k, t, i, min(i) OVER w AS lo, count(DISTINCT v) OVER w AS n FROM ev WINDOW w AS (PARTITION BY k ORDER BY t RANGE BETWEEN {span} PRECEDING AND CURRENT ROW)"
q = f'''
WITH src AS ({src}),
ev AS (SELECT *, row_number() OVER (PARTITION BY k ORDER BY t) AS i FROM src),
win AS ({windows}),
fired AS (SELECT k, t, i, lo FROM win WHERE {agg} >= {bound}),
marked AS (SELECT *, CASE WHEN lo > coalesce(lag(i) OVER (PARTITION BY k ORDER BY i), -1) THEN 1 ELSE 0 END AS new FROM fired),
bursts AS (SELECT *, sum(new) OVER (PARTITION BY k ORDER BY i) AS b FROM marked),
spans AS (SELECT k, b, min(lo) AS first, max(i) AS last FROM bursts GROUP BY k, b)
SELECT s.k, strftime(f.t, '%Y-%m-%dT%H:%M:%S.%n'), strftime(l.t, '%Y-%m-%dT%H:%M:%S.%n'), s.last - s.first + 1
FROM spans s JOIN ev f ON f.k = s.k AND f.i = s.first JOIN ev l ON l.k = s.k AND l.i = s.last
'''
out = sys.stdout
for k, first, last, n in con.execute(q).fetchall():
    out.write(f"{k}\\t{first}\\t{last}\\t{n}\\n")
"""


def generate(path: Path, records: int) -> None:
    """Sign-ins as described in the module docstring, in random order."""
    rng = random.Random(7)
    users = [f"user{u:06d}@contoso.com" for u in range(200_000)]
    day = 1_784_160_000  # 2026-07-16T00:00:00Z
    # About 8 burst events per attacked user: 1 in 50 records, over records // 400 users.
    attacked = rng.sample(range(len(users)), max(1, records // 400))
    burst = {u: day + rng.randrange(86_400 - 300) for u in attacked}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w") as f:
        lines = []
        for i in range(records):
            u = rng.randrange(len(users))
            if i % 50 == 0:
                u = attacked[(i // 50) % len(attacked)]
                second = burst[u] + rng.randrange(240)
                ip = f"203.0.113.{rng.randrange(4)}"
                result = "50126"
            else:
                second = day + rng.randrange(86_400)
                ip = f"198.51.{u % 200}.{rng.randrange(8)}"
                result = "50126" if rng.random() < 0.25 else "0"
            # Every time distinct: the record number as the 7-digit fraction.
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)) + f".{i:07d}Z"
            lines.append(
                f'{{"TenantId":"6a1b2c3d-0000-4000-8000-000000000001","TimeGenerated":"{stamp}",'
                f'"UserPrincipalName":"{users[u]}","IPAddress":"{ip}","ResultType":"{result}",'
                f'"AppDisplayName":"Microsoft Teams","ClientAppUsed":"Mobile Apps and Desktop clients",'
                f'"ConditionalAccessStatus":"notApplied","Category":"SignInLogs","Type":"SigninLogs"}}\n'
            )
            if len(lines) == 100_000:
                f.writelines(lines)
                lines.clear()
        f.writelines(lines)
    os.replace(tmp, path)


def timed(cmd: list[str], out_path: Path) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of `cmd`, its stdout to `out_path`."""
    start = time.perf_counter()
    with open(out_path, "w") as out:
        p = subprocess.run(["/usr/bin/time", "-v", *cmd], stdout=out, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stderr[-3000:]}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1))
    return wall, rss


def sigcorr_alerts(path: Path) -> list[tuple]:
    rows = []
    for line in path.read_text().splitlines():
        f = json.loads(line)["fields"]
        rows.append((f["UserPrincipalName"], f["first"].rstrip("Z"), f["last"].rstrip("Z"), f["count"]))
    return sorted(rows)


def duckdb_alerts(path: Path) -> list[tuple]:
    rows = []
    for line in path.read_text().splitlines():
        k, first, last, n = line.split("\t")
        # DuckDB prints nanoseconds (9 digits); sigcorr ticks (7).
        rows.append((k, first[:-2], last[:-2], int(n)))
    return sorted(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=10_000_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--only", choices=["event_count", "value_count"], help="run one of the two correlations")
    args = ap.parse_args()
    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "--bin", "sigcorr"], cwd=ROOT, check=True)
    data_dir = OUT / f"corr-{args.records}"
    data = data_dir / "signins.ndjson"
    if not data.exists():
        t = time.perf_counter()
        generate(data, args.records)
        print(f"generated {data} ({data.stat().st_size / 1e9:.2f} GB) in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    script = data_dir / "duckdb_correlate.py"
    script.write_text(DUCKDB)
    results = {}
    for kind, rule in [("event_count", EVENT_COUNT), ("value_count", VALUE_COUNT)]:
        if args.only and kind != args.only:
            continue
        rule_path = data_dir / f"{kind}.yml"
        rule_path.write_text(rule)
        ours = [str(SIGCORR), "run", "--rules", str(rule_path), str(data)]
        theirs = [sys.executable, str(script), str(data), kind]
        a, b = data_dir / f"{kind}.sigcorr.jsonl", data_dir / f"{kind}.duckdb.tsv"
        timed(ours, a)
        timed(theirs, b)
        mine, peer = sigcorr_alerts(a), duckdb_alerts(b)
        if mine != peer:
            only_mine = sorted(set(mine) - set(peer))[:5]
            only_peer = sorted(set(peer) - set(mine))[:5]
            sys.exit(f"{kind}: alerts differ: sigcorr {len(mine)}, DuckDB {len(peer)}\n  sigcorr only: {only_mine}\n  DuckDB only: {only_peer}")
        runs = {"sigcorr": [], "duckdb": []}
        for i in range(args.runs):
            order = [("sigcorr", ours, a), ("duckdb", theirs, b)]
            for name, cmd, out in order if i % 2 == 0 else order[::-1]:
                runs[name].append(timed(cmd, out))
        results[kind] = (len(mine), runs)
    print(f"\n{args.records:,} sign-ins, {args.runs} runs each, {os.cpu_count()} cores; medians")
    print(f"{'correlation':<12} {'alerts':>8} {'sigcorr s':>10} {'DuckDB s':>9} {'ratio':>6} {'sigcorr MiB':>12} {'DuckDB MiB':>11}")
    for kind, (n, runs) in results.items():
        w = {k: statistics.median(r[0] for r in v) for k, v in runs.items()}
        m = {k: statistics.median(r[1] for r in v) / 1024 for k, v in runs.items()}
        print(f"{kind:<12} {n:>8,} {w['sigcorr']:>10.2f} {w['duckdb']:>9.2f} {w['sigcorr'] / w['duckdb']:>6.2f} {m['sigcorr']:>12.0f} {m['duckdb']:>11.0f}")


if __name__ == "__main__":
    main()
