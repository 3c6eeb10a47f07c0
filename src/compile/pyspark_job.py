
# ---------------------------------------------------------------------------
# The job (the same for every rule set; the tables and rules are above).
# ---------------------------------------------------------------------------
import argparse
import gzip
import json
import sys
import time
import zlib

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


def _value_end(text, i):
    """Where the JSON value starting at `i` ends, by its structure alone
    (brackets and strings), as the engine finds a document's elements: an
    invalid element is reported and the next one is still read."""
    if i >= len(text):
        return i
    if text[i] not in "[{":
        if text[i] == '"':
            return _string_end(text, i)
        j = i
        while j < len(text) and text[j] not in ",]}" + WS:
            j += 1
        return max(j, i + 1)
    depth, j = 0, i
    while j < len(text):
        c = text[j]
        if c == '"':
            j = _string_end(text, j)
            continue
        if c in "[{":
            depth += 1
        elif c in "]}":
            depth -= 1
            if depth == 0:
                return j + 1
        j += 1
    return j


def _string_end(text, i):
    """Just after the string whose opening quote is at `i` (the end of the
    text when it is not closed)."""
    j = i + 1
    while j < len(text):
        if text[j] == "\\":
            j += 2
        elif text[j] == '"':
            return j + 1
        else:
            j += 1
    return j


def _array_elements(text, i, lines):
    """(line, element text, None) of each element of the JSON array whose
    `[` is just before `i`, found by structure (each is parsed later)."""
    while True:
        i = _skip_ws(text, i)
        if i >= len(text):
            yield lines.of(i), None, "invalid JSON: the array is not closed"
            return
        if text[i] == "]":
            return
        end = _value_end(text, i)
        yield lines.of(i), text[i:end], None
        i = _skip_ws(text, end)
        if text.startswith(",", i):
            i += 1
        elif not text.startswith("]", i):
            yield lines.of(i), None, "invalid JSON: expected `,` or `]` after an element"
            # Resume at the next element, if any.
            i = end


# The longest record read, as `sigcorr run`'s default (`--max-record-bytes`).
MAX_RECORD = 64 << 20

BOM = b"\xef\xbb\xbf"


def _is_document(line):
    """Whether an input whose first non-blank line is `line` is one JSON
    document rather than NDJSON (the engine's `detect`): it starts with
    `[`, or its first line is a lone `{` or opens a records body it does not
    close."""
    first = line.strip(WS)
    if first.startswith("["):
        return True
    return first == "{" or (_records_body(first, 0) is not None and not first.endswith("}"))


def split_records(stream):
    """One file's records as (line, record text, problem), read as a stream:
    gunzipped when it starts with gzip's magic bytes; a JSON document (an
    array of records, a `{"records": [...]}` body, pretty-printed records)
    when `_is_document`, read whole; else NDJSON, one record or one
    `{"records": [...]}` body per line, a line at a time. A record's line is
    where it starts."""
    magic = stream.read(2)
    stream.seek(0)
    if magic == b"\x1f\x8b":
        stream = gzip.GzipFile(fileobj=stream)
    n, seen = 0, False
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
            if raw.startswith(BOM):
                raw = raw[3:]
            line = raw.decode("utf-8", errors="replace").rstrip("\n").rstrip("\r")
            if not line.strip(WS):
                continue
            if not seen:
                seen = True
                if _is_document(line):
                    yield from _document(line + "\n", stream, n)
                    return
            body = _records_body(line, 0)
            if body is not None:
                yield from _array_elements(line, body, _Lines(line, n))
            else:
                yield n, line, None
    except (OSError, EOFError, zlib.error) as e:
        yield n + 1, None, "cut short: %s" % e


def _document(first, stream, n):
    """The records of a JSON document from line `n` on: each top-level
    value an array's elements, a records body's, or one record. A stream
    cut short keeps what was read before it, and says so."""
    chunks, problem = [first.encode("utf-8")], None
    while True:
        try:
            chunk = stream.read(1 << 20)
        except (OSError, EOFError, zlib.error) as e:
            problem = "cut short: %s" % e
            break
        if not chunk:
            break
        chunks.append(chunk)
    text = b"".join(chunks).decode("utf-8", errors="replace")
    lines = _Lines(text, n)
    i = _skip_ws(text, 0)
    while i < len(text):
        if text[i] == "[":
            yield from _array_elements(text, i + 1, lines)
            i = _value_end(text, i)
        else:
            body = _records_body(text, i)
            end = _value_end(text, i)
            if body is not None:
                yield from _array_elements(text, body, lines)
            else:
                yield lines.of(i), text[i:end], None
            i = end
        i = _skip_ws(text, i)
    if problem is not None:
        yield lines.of(len(text)), None, problem


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
    """A `file:` path as the path `sigcorr run` prints; other URIs as they
    are. (Spark's listing writes Hadoop paths: not percent-encoded.)"""
    if uri.startswith("file://"):
        return uri[len("file://") :]
    if uri.startswith("file:"):
        return uri[len("file:") :]
    return uri


def not_a_log(path):
    """Why the file at `path` is not read, as `sigcorr run` passes it over
    in a directory (by its extension), or None."""
    name = path.rsplit("/", 1)[-1].lower()
    if "." not in name:
        return None
    if name.endswith(".tar.gz"):
        return NOT_LOGS.get("tar.gz")
    return NOT_LOGS.get(name.rsplit(".", 1)[1])


def route(uri):
    """Rows (table, shape, file, line, text) of one file's records, and its
    problems as (None, None, file, line, message): a Log Analytics row goes
    to its `Type`, a diagnostic-settings record to its `category`'s table."""
    path = local_path(uri)
    categories = {c: t for t, d in TABLES.items() for c in d["categories"]}
    at = [0]
    try:
        with _open(uri) as stream:
            for row in _route_records(path, stream, categories):
                at[0] = row[3]
                yield row
    except Exception as e:  # noqa: BLE001 - one unreadable file must not end the job
        yield (None, None, path, at[0], "unreadable: %s: %s" % (type(e).__name__, e))


def _route_records(path, stream, categories):
    for line, text, problem in split_records(stream):
        if problem is None:
            try:
                record = _loads(text)
            except (ValueError, RecursionError) as e:
                problem = "invalid JSON: %s" % e
            else:
                if not isinstance(record, dict):
                    problem = "a record must be a JSON object"
        if problem is not None:
            yield (None, None, path, line, problem)
            continue
        name = record.get("Type")
        if isinstance(name, str) and name:
            yield (name, 0, path, line, text)
        elif isinstance(record.get("category"), str) and record["category"]:
            # A category no table declares is another table's record, even
            # when it is spelt like a table's name.
            table = categories.get(record["category"])
            yield (table or "category " + record["category"], 1, path, line, text)
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
                if c == "Type":
                    # The engine's `Type` of a diagnostic-settings record: its table.
                    cols.append(F.lit(table).alias(c))
                else:
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
    paths, skipped = [], 0
    for (path,) in files.select("path").collect():
        if not_a_log(local_path(path)):
            skipped += 1
        else:
            paths.append(path)
    paths.sort()
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
        for view in VIEWS:
            # Computed once, its plan cut off (so a correlation over it plans its own windows only).
            at = time.monotonic()
            spark.sql(view["sql"]).localCheckpoint().createOrReplaceTempView(view["name"])
            print("%s computed in %.1f s (read by a correlation)" % (view["id"], time.monotonic() - at), file=sys.stderr)
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
    if skipped:
        print("%d files passed over: not logs (documentation, code, images, archives)" % skipped, file=sys.stderr)
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
