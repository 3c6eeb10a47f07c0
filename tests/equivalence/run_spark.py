#!/usr/bin/env python3
"""Runs compiled Spark SQL on local PySpark, many cases in one SparkSession.

Usage: run_spark.py MANIFEST.json OUT.json

MANIFEST: {"tables": {"<table>": ["<column>", ...]},
           "cases": [{"name": "...", "sql": "<query text>", "data": "<dir>"}]}

For each case, every table is registered as a temporary view over the NDJSON
files under `data` (recursively), with every column read as a string (the
text of the export, as the compiled SQL expects) and rows routed by `Type`,
as `sigcorr run` routes them. OUT: {"<name>": {"columns": [...], "rows": [[...]]}}.

With "keep_going": true in MANIFEST, a query Spark refuses or fails is
reported as {"<name>": {"error": "..."}} and the other cases still run (the
generated-rule test, tests/integration/compile_generated.rs); without it the
first failure ends the run.
"""
import json
import os
import sys

os.environ.setdefault("PYSPARK_PYTHON", sys.executable)

from pyspark.sql import SparkSession  # noqa: E402
from pyspark.sql import functions as F  # noqa: E402
from pyspark.sql.types import StringType, StructField, StructType  # noqa: E402


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as f:
        manifest = json.load(f)
    spark = (
        SparkSession.builder.master("local[2]")
        .appName("sigcorr-equivalence")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", "2g")
        # Tiny data, many distinct queries: compiling generated code costs more
        # than it saves, and adaptive execution only adds planning rounds.
        .config("spark.sql.codegen.wholeStage", "false")
        .config("spark.sql.codegen.factoryMode", "NO_CODEGEN")
        .config("spark.sql.adaptive.enabled", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    out = {}
    # Cases sharing a data directory read each table once (cached).
    frames = {}
    for case in manifest["cases"]:
        # Only the current directory's tables stay cached: cases with data
        # of their own would otherwise fill the heap.
        for key in [k for k in frames if k[0] != case["data"]]:
            frames.pop(key).unpersist()
        for table, columns in manifest["tables"].items():
            if table not in case["sql"]:
                continue
            key = (case["data"], table)
            if key not in frames:
                names = list(dict.fromkeys(["Type"] + columns))
                schema = StructType([StructField(c, StringType(), True) for c in names])
                frames[key] = (
                    spark.read.schema(schema)
                    .option("recursiveFileLookup", "true")
                    .option("mode", "PERMISSIVE")
                    .json(case["data"])
                    .where(F.col("Type") == F.lit(table))
                    .cache()
                )
            frames[key].createOrReplaceTempView(table)
        sql = case["sql"].strip().rstrip(";")
        try:
            result = spark.sql(sql)
            rows = [list(r) for r in result.collect()]
        except Exception as e:  # noqa: BLE001 - reported per case when asked to keep going
            if not manifest.get("keep_going"):
                raise
            out[case["name"]] = {"error": "%s: %s" % (type(e).__name__, str(e).splitlines()[0] if str(e) else "")}
            continue
        out[case["name"]] = {"columns": result.columns, "rows": rows}
    spark.stop()
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False)


if __name__ == "__main__":
    main()
