
# ---------------------------------------------------------------------------
# The job (the same for every rule set; the tables and rules are above).
# ---------------------------------------------------------------------------
import argparse
import gzip
import json
import sys
import time
import zlib
from urllib.parse import unquote, urlparse

WS = " \t\r\n"


def _no_constant(name):
    raise ValueError("%s is not JSON" % name)


def _loads(text):
    """A record's JSON, refusing what JSON does not allow (NaN, Infinity)."""
    return json.loads(text, parse_constant=_no_constant)


def _skip_ws(text, i):
    while i < len(text) and text[i] in WS:
        i += 1
    return i


def _records_body(text, i):
    """Where the array of a `{"records": [...]}` body starting at `i` opens
    (just after its `[`), or None: the first key must be `records`."""
    for token in ("{", '"records"', ":", "["):
        i = _skip_ws(text, i)
        if not text.startswith(token, i):
            return None
        i += len(token)
    return i


class _Lines:
    """Line numbers of offsets into one text, asked in increasing order."""

    def __init__(self, text, start_line=1):
        self.text, self.at, self.line = text, 0, start_line

    def of(self, offset):
        self.line += self.text.count("\n", self.at, offset)
        self.at = offset
        return self.line


def _array_elements(text, i, lines, decoder):
    """(line, element text) of each element of the JSON array whose `[` is
    just before `i`; an element that does not parse ends the array, as a
    problem at its line."""
    i = _skip_ws(text, i)
    if text.startswith("]", i):
        return
    while True:
        i = _skip_ws(text, i)
        line = lines.of(i)
        try:
            _, end = decoder.raw_decode(text, i)
        except ValueError as e:
            yield line, None, "invalid JSON: %s" % e
            return
        yield line, text[i:end], None
        i = _skip_ws(text, end)
        if text.startswith(",", i):
            i += 1
        elif text.startswith("]", i):
            return
        else:
            yield lines.of(i), None, "invalid JSON: expected `,` or `]` after an element"
            return


# The longest record read, as `sigcorr run`'s default (`--max-record-bytes`).
MAX_RECORD = 64 << 20


def split_records(stream):
    """One file's records as (line, record text, problem), read as a stream:
    gunzipped when it starts with gzip's magic bytes; a JSON document (an
    array of records, a `{"records": [...]}` body, a pretty-printed record)
    when it starts with `[` or its first line is a lone `{`, read whole;
    else NDJSON, one record or one `{"records": [...]}` body per line, a
    line at a time. A record's line is where it starts."""
    magic = stream.read(2)
    stream.seek(0)
    if magic == b"\x1f\x8b":
        stream = gzip.GzipFile(fileobj=stream)
    decoder = json.JSONDecoder(parse_constant=_no_constant)
    n = 0
    try:
        while True:
            raw = stream.readline(MAX_RECORD + 1)
            if not raw:
                return
            n += 1
            if len(raw) > MAX_RECORD and not raw.endswith(b"\n"):
                while raw and not raw.endswith(b"\n"):
                    raw = stream.readline(MAX_RECORD)
                yield n, None, "longer than the maximum record size (%d bytes): not read" % MAX_RECORD
                continue
            if n == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            line = raw.decode("utf-8", errors="replace").rstrip("\n").rstrip("\r")
            if n == 1 and (line.lstrip(WS).startswith("[") or line.strip(WS) == "{"):
                text = line + "\n" + stream.read().decode("utf-8", errors="replace")
                yield from _document(text, decoder)
                return
            if not line.strip(WS):
                continue
            body = _records_body(line, 0)
            if body is not None:
                yield from _array_elements(line, body, _Lines(line, n), decoder)
            else:
                yield n, line, None
    except (OSError, EOFError, zlib.error) as e:
        yield n + 1, None, "cut short: %s" % e


def _document(text, decoder):
    """The records of a JSON document: an array's elements, a records
    body's, or the one record it is."""
    start = _skip_ws(text, 0)
    lines = _Lines(text)
    if text.startswith("[", start):
        yield from _array_elements(text, start + 1, lines, decoder)
        return
    body = _records_body(text, start)
    if body is not None:
        yield from _array_elements(text, body, lines, decoder)
    else:
        yield lines.of(start), text[start:], None


def _open(uri):
    """A file to read, by path or URI: local files (and mounts such as
    /dbfs or /Volumes) directly, other URIs through fsspec."""
    if uri.startswith("file:") or ":" not in uri.split("/", 1)[0]:
        return open(local_path(uri), "rb")
    if uri.startswith("dbfs:/"):
        return open("/dbfs/" + uri[len("dbfs:/") :].lstrip("/"), "rb")
    try:
        import fsspec
    except ImportError:
        raise OSError(
            "the job reads each file itself: install fsspec with the storage's driver (adlfs, s3fs, gcsfs) "
            "on the cluster, or read a mounted path (/dbfs, /Volumes)"
        ) from None
    return fsspec.open(uri, "rb").open()


def local_path(uri):
    """A `file:` URI as the path `sigcorr run` prints; other URIs as they are."""
    if uri.startswith("file:"):
        return unquote(urlparse(uri).path)
    return uri


def route(uri):
    """Rows (table, shape, file, line, text) of one file's records, and its
    problems as (None, None, file, line, message): a Log Analytics row goes
    to its `Type`, a diagnostic-settings record to its `category`'s table."""
    path = local_path(uri)
    categories = {c: t for t, d in TABLES.items() for c in d["categories"]}
    try:
        stream = _open(uri)
    except OSError as e:
        yield (None, None, path, 0, "unreadable: %s" % e)
        return
    with stream:
        yield from _route_records(path, stream, categories)


def _route_records(path, stream, categories):
    for line, text, problem in split_records(stream):
        if problem is None:
            try:
                record = _loads(text)
            except ValueError as e:
                problem = "invalid JSON: %s" % e
            else:
                if not isinstance(record, dict):
                    problem = "a record must be a JSON object"
        if problem is not None:
            yield (None, None, path, line, problem)
            continue
        name = record.get("Type")
        if isinstance(name, str):
            yield (name, 0, path, line, text)
        elif isinstance(record.get("category"), str):
            table = categories.get(record["category"])
            yield (table or record["category"], 1, path, line, text)
        else:
            yield (None, None, path, line, "no `Type` or `category`: the record's table is unknown")


def _schema(tree):
    """A from_json schema reading each leaf of `tree` (`_tree`) as text."""
    from pyspark.sql.types import StringType, StructField, StructType

    return StructType([StructField(k, StringType() if v is None else _schema(v), True) for k, v in tree.items()])


def _tree(paths):
    """Paths as nested keys, a leaf `None`. A path that is also the start
    of another is a leaf: the longer ones are read from its JSON text."""
    tree = {}
    for p in sorted({tuple(p) for p in paths}, key=len):
        node = tree
        for k in p[:-1]:
            if k in node and node[k] is None:
                break
            node = node.setdefault(k, {})
        else:
            node.setdefault(p[-1], None)
    return tree


def _path_column(tree, path):
    """The column reading `path` from the parsed record `j`."""
    from pyspark.sql import functions as F

    node, col = tree, F.col("j")
    for n, key in enumerate(path):
        if node is None:  # inside a leaf's JSON text
            rest = "".join("['%s']" % k.replace("\\", "\\\\").replace("'", "\\'") for k in path[n:])
            return F.get_json_object(col, "$" + rest)
        col = col.getField(key)
        node = node.get(key)
    return col


def register_tables(spark, records):
    """A view per table, named like it, each column as the export's text
    (a string's value, any other value's JSON text), plus each record's
    file and line."""
    from pyspark.sql import functions as F

    for table, d in TABLES.items():
        rows = records.where(F.col("table") == F.lit(table))
        evidence = [F.col("file").alias("__sigcorr_file"), F.col("line").alias("__sigcorr_line")]
        la_schema = _schema({c: None for c in d["columns"]})
        la = rows.where(F.col("shape") == 0).select(F.from_json("text", la_schema).alias("j"), "file", "line")
        la = la.select([F.col("j").getField(c).alias(c) for c in d["columns"]] + evidence)
        paths = [p for p in d["paths"].values() if p]
        if paths:
            tree = _tree(paths)
            diag = rows.where(F.col("shape") == 1).select(F.from_json("text", _schema(tree)).alias("j"), "file", "line")
            cols = []
            for c in d["columns"]:
                p = d["paths"].get(c)
                cols.append((_path_column(tree, p) if p else F.lit(None).cast("string")).alias(c))
            la = la.unionByName(diag.select(cols + evidence))
        la.createOrReplaceTempView(table)


def _value(v, dynamic):
    """An output value as the alert writes it."""
    if dynamic and isinstance(v, str) and v[:1] in ("{", "["):
        try:
            return _loads(v)
        except ValueError:
            return v
    if isinstance(v, float) and v != v:
        return None
    if isinstance(v, list):
        return [_value(x, False) for x in v]
    return v


def alerts(spark, rule):
    """The rule's alerts as sigcorr's JSON objects, in the order of their
    evidence. They are collected on the driver (one Spark job)."""
    sql = rule["sql"].strip().rstrip(";")
    rows = spark.sql(sql).collect()
    rows.sort(key=lambda r: [(e["f"], e["l"], e["i"]) for e in r["__evidence"] or []])
    head = {"id": rule["id"], "title": rule["title"], "level": rule["level"], "tags": rule["tags"]}
    for row in rows:
        r = row.asDict(recursive=False)
        fields = {}
        for name in rule["fields"]:
            v = _value(r[name], name in rule["dynamic"])
            if name == rule.get("value") and isinstance(v, float) and v.is_integer() and abs(v) < 9e15:
                v = int(v)
            fields[name] = v
        evidence = {}
        for at in r["__evidence"] or []:
            name = rule["evidence"][at["i"]]
            position = "%s:%d" % (at["f"], at["l"])
            if rule["correlation"]:
                evidence.setdefault(name, []).append(position)
            else:
                evidence[name] = position
        yield {"rule": head, "fields": fields, "evidence": evidence}


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Runs sigcorr's compiled rules over exported Entra logs on Spark and writes alerts as JSON lines."
    )
    parser.add_argument("inputs", nargs="+", help="directories or files of exported logs (local paths or storage URIs)")
    parser.add_argument("-o", "--output", help="the alerts file (JSON lines; a local path); default standard output")
    args = parser.parse_args(argv)

    from pyspark.sql import SparkSession
    from pyspark.sql.types import LongType, StringType, StructField, StructType
    from pyspark import StorageLevel

    started = time.monotonic()
    spark = (
        SparkSession.builder.appName("sigcorr")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    # The files, listed by Spark (any storage it reads; the content is not
    # read here), then each read by one task, a line at a time.
    files = spark.read.format("binaryFile").option("recursiveFileLookup", "true").load(args.inputs)
    paths = sorted(r[0] for r in files.select("path").collect())
    schema = StructType(
        [
            StructField("table", StringType(), True),
            StructField("shape", LongType(), True),
            StructField("file", StringType(), False),
            StructField("line", LongType(), False),
            StructField("text", StringType(), True),
        ]
    )
    routed = spark.sparkContext.parallelize(paths, max(1, len(paths))).flatMap(route)
    records = spark.createDataFrame(routed, schema).persist(StorageLevel.MEMORY_AND_DISK)
    problems = records.where("table IS NULL").orderBy("file", "line").limit(20).collect()
    counts = {r["table"]: r["count"] for r in records.groupBy("table").count().collect()}
    register_tables(spark, records.where("table IS NOT NULL"))

    print("read in %.1f s" % (time.monotonic() - started), file=sys.stderr)
    out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout
    total = {}
    try:
        for rule in RULES:
            n, at = 0, time.monotonic()
            for alert in alerts(spark, rule):
                out.write(json.dumps(alert, ensure_ascii=False, separators=(",", ":")) + "\n")
                n += 1
            total[rule["id"]] = (n, time.monotonic() - at)
    finally:
        if out is not sys.stdout:
            out.close()
    for p in problems:
        print("warning: %s:%d: %s" % (p["file"], p["line"], p["text"]), file=sys.stderr)
    bad = counts.pop(None, 0)
    known = sum(n for t, n in counts.items() if t in TABLES)
    print(
        "%d records (%s), %d of other tables, %d not read"
        % (
            known + bad + sum(n for t, n in counts.items() if t not in TABLES),
            ", ".join("%s %d" % (t, n) for t, n in sorted(counts.items()) if t in TABLES) or "none",
            sum(n for t, n in counts.items() if t not in TABLES),
            bad,
        ),
        file=sys.stderr,
    )
    for rule in RULES:
        n, secs = total.get(rule["id"], (0, 0.0))
        print("%6d alerts  %6.1f s  %s  %s" % (n, secs, rule["id"], rule["title"]), file=sys.stderr)
    spark.stop()
    return 3 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
