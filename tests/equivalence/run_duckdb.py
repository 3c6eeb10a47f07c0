#!/usr/bin/env python3
"""Runs compiled DuckDB SQL with the `duckdb` Python package and prints the
result as JSON: {"columns": [...], "rows": [[...], ...]}.

Usage: run_duckdb.py QUERY.sql   (run from the directory the query's paths are relative to)

The equivalence tests (tests/integration/compile.rs) compare these rows with
the alerts of `sigcorr run` on the same data.
"""
import json
import sys

import duckdb


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as f:
        sql = f.read()
    con = duckdb.connect()
    cur = con.execute(sql)
    columns = [d[0] for d in cur.description]
    rows = [list(r) for r in cur.fetchall()]
    json.dump({"columns": columns, "rows": rows}, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
