#!/usr/bin/env python3
"""Runs the T1528 hunt in DuckDB (bench/t1528.sql) over a directory of NDJSON
logs and writes the alert rows as JSON lines, for bench/run.

    python3 bench/duckdb_hunt.py --now 2026-07-16T12:00:00Z -o alerts.jsonl DIR

Reads every file under DIR the way `sigcorr run DIR` does (recursively, sorted,
hidden entries skipped). Prints one summary line on stderr: rows, query time.
"""

import argparse
import os
import re
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def discover(path: Path) -> list[str]:
    """Files under `path`, recursively, sorted, skipping hidden entries (as sigcorr)."""
    if path.is_file():
        return [str(path)]
    out = []
    for entry in sorted(path.iterdir()):
        if entry.name.startswith("."):
            continue
        out.extend(discover(entry) if entry.is_dir() else [str(entry)])
    return out


def quote(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--now", required=True, help="the hunt's now(), RFC 3339 (e.g. 2026-07-16T12:00:00Z)")
    ap.add_argument("-o", "--output", required=True, help="alert file (JSON lines)")
    ap.add_argument("--sql", default=str(HERE / "t1528.sql"), help="the query (default: bench/t1528.sql)")
    ap.add_argument("--threads", type=int, help="DuckDB threads (default: DuckDB's, one per core)")
    ap.add_argument("input", help="directory (or file) of NDJSON logs")
    args = ap.parse_args()

    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]00:00)", args.now):
        print(f"duckdb_hunt: --now `{args.now}` must be RFC 3339 in UTC, e.g. 2026-07-16T12:00:00Z", file=sys.stderr)
        return 2
    files = [f for f in discover(Path(args.input)) if os.path.getsize(f) > 0]
    if not files:
        print(f"duckdb_hunt: no non-empty files under {args.input}", file=sys.stderr)
        return 2

    import duckdb  # imported late so argument errors are quick

    sql = Path(args.sql).read_text()
    sql = sql.replace(":files", "[" + ", ".join(quote(f) for f in files) + "]")
    sql = sql.replace(":now", f"CAST({quote(args.now)} AS TIMESTAMP_NS)")
    sql = sql.replace(":out", quote(args.output))

    start = time.perf_counter()
    con = duckdb.connect()
    if args.threads:
        con.execute(f"SET threads = {int(args.threads)}")
    rows = con.execute(sql).fetchone()[0]
    elapsed = time.perf_counter() - start
    print(f"duckdb {duckdb.__version__}: {rows} rows in {elapsed:.3f} s (query only) -> {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
