#!/usr/bin/env python3
"""Runs compiled DuckDB SQL with the `duckdb` Python package and prints the
result as JSON: {"columns": [...], "rows": [[...], ...]}.

Usage: run_duckdb.py QUERY.sql   (run from the directory the query's paths are relative to)
       run_duckdb.py --manifest MANIFEST.json OUT.json

The equivalence tests (tests/integration/compile.rs) compare these rows with
the alerts of `sigcorr run` on the same data.

With --manifest, many queries run in one process (the generated-rule test,
tests/integration/compile_generated.rs): MANIFEST is
{"cases": [{"name": "...", "sql": "<query text>", "dir": "<directory>"}]},
each query run on a fresh connection from its `dir`; OUT is
{"<name>": {"columns": [...], "rows": [[...]]}}, or {"<name>": {"error": "..."}}
for a query DuckDB refused or failed (one failing query does not hide the others).
"""
import json
import os
import sys

import duckdb


def run(sql: str) -> dict:
    con = duckdb.connect()
    try:
        cur = con.execute(sql)
        columns = [d[0] for d in cur.description]
        rows = [list(r) for r in cur.fetchall()]
    finally:
        con.close()
    return {"columns": columns, "rows": rows}


def many(manifest_path: str, out_path: str) -> None:
    with open(manifest_path, encoding="utf-8") as f:
        manifest = json.load(f)
    out = {}
    start = os.getcwd()
    for case in manifest["cases"]:
        os.chdir(case["dir"])
        try:
            out[case["name"]] = run(case["sql"])
        except Exception as e:  # noqa: BLE001 - reported per case, compared by the test
            out[case["name"]] = {"error": "%s: %s" % (type(e).__name__, e)}
        finally:
            os.chdir(start)
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False)


def main() -> None:
    if sys.argv[1] == "--manifest":
        many(sys.argv[2], sys.argv[3])
        return
    with open(sys.argv[1], encoding="utf-8") as f:
        sql = f.read()
    json.dump(run(sql), sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
