//! Generated-rule differential test (issue 28, item 3): random, well-typed
//! sigcorr rules built from the expression grammar, run three ways on the
//! same records, must return the same alerts as multisets of output rows:
//! `sigcorr run` (the interpreter), the DuckDB SQL of `sigcorr compile
//! --target duckdb` (Python `duckdb`) and the Spark SQL of `--target
//! spark-sql` (local PySpark, one session). The engine and the SQL are
//! independent implementations of one semantics; no expected value here is
//! produced by either, they are only compared.
//!
//! `compile.rs` checks hand-written rules on hand-picked edge cases; this
//! test looks for the combinations nobody wrote down: every operator and
//! function the SQL backends compile today, nested, over catalog columns of
//! every compiled type (string, long, real, bool, datetime), on records whose
//! values have the wrong JSON type as often as the right one (`200`,
//! `200.0`, `"200"`, `" 200 "`, `null`, missing keys, huge and negative
//! numbers, timestamps with 9 fraction digits, offsets and invalid dates,
//! IPv4/IPv6/mapped/prefixed/garbage addresses, JSON objects and JSON text).
//! Literals in the rules come from the same pools as the records, so the
//! filters are sometimes true: at least half the rules must alert, or the
//! comparison would be vacuous.
//!
//! Reproduce or extend a run:
//!
//! ```sh
//! # the CI seeds (CI_SEEDS, CI_RULES rules each)
//! cargo test --test integration compile_generated
//! # one seed, more rules (a failure prints the seed, the rule and the records)
//! SIGCORR_GEN_SEED=12345 SIGCORR_GEN_RULES=2000 cargo test --test integration compile_generated -- --nocapture
//! # try a construct still in PENDING (comma-separated names)
//! SIGCORR_GEN_ENABLE=coalesce,extract cargo test --test integration compile_generated::duckdb
//! ```
//!
//! Constructs the SQL backends refuse today (E800) are in [`PENDING`]: their
//! generators exist and are skipped; removing a name turns them on. Any
//! other construct that does not compile fails the test: the generator must
//! write only rules the backends accept.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::{Value, json};

use crate::common::repo;
use crate::compile::{Table, python, require_python_module, sigcorr, table};

/// What `now()` is, for the engine and the compiled queries alike.
const NOW: &str = "2026-07-16T12:00:00Z";
/// The seeds every CI run uses, and how many rules each generates.
const CI_SEEDS: [u64; 2] = [1, 2];
const CI_RULES: usize = 120;

/// Constructs `sigcorr compile --target duckdb|spark-sql` refuses today
/// (E800): being added to `src/compile/` now. Their generators exist and
/// are skipped while the name is here; remove a name to generate it (then
/// every rule using it must compile and agree). `SIGCORR_GEN_ENABLE=a,b`
/// turns names on for one run without editing the list.
const PENDING: &[&str] = &[];

/// Constructs generated as everything else, whose engine and SQL results
/// are known to differ (reported, not fixed here): skipped like
/// [`PENDING`] so the rest stays verified. Empty when none is known.
const KNOWN_MISMATCH: &[&str] = &[];

/// Every construct the generator can write; each one not in [`PENDING`] or
/// [`KNOWN_MISMATCH`] must be generated at least once over the CI seeds.
const FEATURES: &[&str] = &[
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "=~",
    "!~",
    "and",
    "or",
    "not",
    "in",
    "!in",
    "in~",
    "!in~",
    "has_any",
    "has_all",
    "let",
    "between",
    "!between",
    "between_span",
    "+",
    "-",
    "*",
    "/",
    "%",
    "neg",
    "span+",
    "span-",
    "span*",
    "span/",
    "time-time",
    "time+span",
    "time-span",
    "isempty",
    "isnotempty",
    "isnull",
    "isnotnull",
    "tolower",
    "toupper",
    "strlen",
    "tostring",
    "tolong",
    "toint",
    "toreal",
    "todouble",
    "todatetime",
    "strcat",
    "ago",
    "now",
    "null",
    "join",
    "join_union",
    "has",
    "has_cs",
    "!has",
    "!has_cs",
    "contains",
    "contains_cs",
    "!contains",
    "!contains_cs",
    "startswith",
    "startswith_cs",
    "!startswith",
    "!startswith_cs",
    "endswith",
    "endswith_cs",
    "!endswith",
    "!endswith_cs",
    "hasprefix",
    "hasprefix_cs",
    "!hasprefix",
    "!hasprefix_cs",
    "hassuffix",
    "hassuffix_cs",
    "!hassuffix",
    "!hassuffix_cs",
    "coalesce",
    "json_path",
    "extract",
    "leftanti",
    "ipv4_is_in_range",
    "ipv4_is_private",
    "ipv4_is_match",
    "ipv4_compare",
    "parse_ipv4",
    "ipv6_compare",
    "ipv6_is_match",
    "ipv4_is_in_any_range",
    "in_negative_item",
    "typed_column_output",
    "long_overflow",
];

/// `SIGCORR_GEN_ENABLE`: names of [`PENDING`] constructs to generate anyway.
fn enabled_by_env() -> Vec<String> {
    std::env::var("SIGCORR_GEN_ENABLE")
        .unwrap_or_default()
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn enabled(feature: &str) -> bool {
    assert!(FEATURES.contains(&feature), "`{feature}` is not in FEATURES");
    let off = PENDING.contains(&feature) || KNOWN_MISMATCH.contains(&feature);
    !off || enabled_by_env().iter().any(|f| f == feature)
}

/// The seeds and rule count of this run: the CI ones, or `SIGCORR_GEN_SEED`
/// (one seed) and `SIGCORR_GEN_RULES`.
fn plan() -> (Vec<u64>, usize) {
    let seeds = match std::env::var("SIGCORR_GEN_SEED") {
        Ok(s) => vec![s.trim().parse().unwrap_or_else(|e| panic!("SIGCORR_GEN_SEED={s}: {e}"))],
        Err(_) => CI_SEEDS.to_vec(),
    };
    let rules = match std::env::var("SIGCORR_GEN_RULES") {
        Ok(s) => s.trim().parse().unwrap_or_else(|e| panic!("SIGCORR_GEN_RULES={s}: {e}")),
        Err(_) => CI_RULES,
    };
    (seeds, rules)
}

/// SplitMix64: a tiny, seeded, portable PRNG (the same rules on every machine).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
    }

    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

/// A rule-language type the generator writes expressions of.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Ty {
    Str,
    Long,
    Real,
    Bool,
    Time,
    Span,
    Dyn,
}

/// The values a column's records draw from (and its literals in rules).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Pool {
    Text,
    Ip,
    Key,
    Num,
    Real,
    Time,
    Bool,
    Dyn,
}

struct Col {
    name: &'static str,
    ty: Ty,
    pool: Pool,
}

const fn col(name: &'static str, ty: Ty, pool: Pool) -> Col {
    Col { name, ty, pool }
}

/// A table the rules read: its record-identifying string column (every
/// rule outputs it, so a row names its record) and the columns expressions use.
struct Src {
    table: &'static str,
    id: &'static str,
    cols: &'static [Col],
}

const GRAPH: Src = Src {
    table: "MicrosoftGraphActivityLogs",
    id: "RequestId",
    cols: &[
        col("IPAddress", Ty::Str, Pool::Ip),
        col("RequestUri", Ty::Str, Pool::Text),
        col("RequestMethod", Ty::Str, Pool::Text),
        col("UserAgent", Ty::Str, Pool::Text),
        col("AppId", Ty::Str, Pool::Key),
        col("SignInActivityId", Ty::Str, Pool::Key),
        col("ServicePrincipalId", Ty::Str, Pool::Key),
        col("ResponseStatusCode", Ty::Long, Pool::Num),
        col("DurationMs", Ty::Long, Pool::Num),
        col("ResponseSizeBytes", Ty::Long, Pool::Num),
        col("TimeGenerated", Ty::Time, Pool::Time),
        col("TokenIssuedAt", Ty::Time, Pool::Time),
    ],
};

/// Service-principal sign-ins; managed-identity sign-ins have the same
/// columns but `AutonomousSystemNumber` (a union source reads `""` there).
const SP: Src = Src {
    table: "AADServicePrincipalSignInLogs",
    id: "Id",
    cols: &[
        col("IPAddress", Ty::Str, Pool::Ip),
        col("UniqueTokenIdentifier", Ty::Str, Pool::Key),
        col("ServicePrincipalId", Ty::Str, Pool::Key),
        col("ServicePrincipalName", Ty::Str, Pool::Text),
        col("AppId", Ty::Str, Pool::Key),
        col("ResultType", Ty::Str, Pool::Num),
        col("AutonomousSystemNumber", Ty::Str, Pool::Num),
        // A string column holding JSON objects and JSON text.
        col("LocationDetails", Ty::Str, Pool::Dyn),
        col("DurationMs", Ty::Long, Pool::Num),
        col("CreatedDateTime", Ty::Time, Pool::Time),
        col("TimeGenerated", Ty::Time, Pool::Time),
    ],
};

const MI: &str = "AADManagedIdentitySignInLogs";

const SIGNIN: Src = Src {
    table: "SigninLogs",
    id: "Id",
    cols: &[
        col("IPAddress", Ty::Str, Pool::Ip),
        col("UserPrincipalName", Ty::Str, Pool::Text),
        col("AppDisplayName", Ty::Str, Pool::Text),
        col("ResultType", Ty::Str, Pool::Num),
        col("IsInteractive", Ty::Bool, Pool::Bool),
        col("IsRisky", Ty::Bool, Pool::Bool),
        col("FlaggedForReview", Ty::Bool, Pool::Bool),
        col("LocationDetails", Ty::Dyn, Pool::Dyn),
        col("DurationMs", Ty::Long, Pool::Num),
        col("TimeGenerated", Ty::Time, Pool::Time),
        col("CreatedDateTime", Ty::Time, Pool::Time),
    ],
};

/// No built-in table has a `real` column: this one, given with `--tables`
/// to the engine and the compiler alike, has two.
const REALS: Src = Src {
    table: "SigcorrGenReals",
    id: "Id",
    cols: &[
        col("Score", Ty::Real, Pool::Real),
        col("Ratio", Ty::Real, Pool::Num),
        col("Count", Ty::Long, Pool::Num),
        col("Label", Ty::Str, Pool::Text),
        col("Address", Ty::Str, Pool::Ip),
        col("Seen", Ty::Time, Pool::Time),
        col("Enabled", Ty::Bool, Pool::Bool),
    ],
};

const REALS_TABLE: &str = "table: SigcorrGenReals
description: The generated-rule test's table with real columns (no built-in table has one).
columns:
  Id: string
  Score: real
  Ratio: real
  Count: long
  Label: string
  Address: string
  Seen: datetime
  Enabled: bool
  Type: string
";

/// The tables filter rules read.
const FILTER_SOURCES: [&Src; 4] = [&GRAPH, &SP, &SIGNIN, &REALS];

/// The values of each pool: right and wrong JSON types, edge cases.
fn pool(p: Pool) -> Vec<Value> {
    let mut v = match p {
        Pool::Text => vec![
            json!("POST"),
            json!("post"),
            json!("GET"),
            json!("https://graph.microsoft.com/v1.0/users/abc"),
            json!("https://GRAPH.microsoft.com/beta/applications(appId='x')/addPassword"),
            json!("/v1.0/servicePrincipals/x/addKey?x=1"),
            json!("python-requests/2.31"),
            json!("curl/8.4 (x86_64)"),
            json!("abc"),
            json!("ABC"),
            json!(" abc "),
            json!("200"),
            json!("a-b_c.d"),
            json!("Ünïcode STRASSE straße"),
            json!("tab\there \"quoted\" back\\slash"),
            json!(200),
            json!(true),
        ],
        Pool::Ip => vec![
            json!("10.0.0.1"),
            json!("10.0.0.1/8"),
            json!("10.1.2.3/24"),
            json!("192.168.1.130"),
            json!("172.20.0.1"),
            json!("8.8.8.8"),
            json!("1.2.3.4"),
            json!("2001:db8::1"),
            json!("2001:DB8::1"),
            json!("::ffff:1.2.3.4"),
            json!("::ffff:10.0.0.1"),
            json!("fe80::1"),
            json!("256.1.1.1"),
            json!("1.2.3"),
            json!("garbage"),
            json!("10.0.0.1 "),
            json!(167772161),
        ],
        Pool::Key => vec![
            json!("uti-1"),
            json!("uti-1"),
            json!("uti-2"),
            json!("uti-2"),
            json!("uti-3"),
            json!("UTI-1"),
            json!(" uti-1"),
            json!(7),
            json!("7"),
        ],
        Pool::Num | Pool::Real => vec![
            json!(200),
            json!(200.0),
            json!("200"),
            json!(" 200 "),
            json!("abc"),
            json!(true),
            json!("true"),
            json!("1"),
            json!(0),
            json!(-1),
            json!("-14"),
            json!(299),
            json!(300),
            json!(100),
            json!(12),
            json!(i64::MAX),
            json!("9223372036854775807"),
            json!(u64::MAX),
            json!(1e300),
            json!(-3.5),
            json!("NaN"),
            json!("-0.0"),
            json!("-inf"),
            json!("1e3"),
            json!("0x10"),
            json!("1_000"),
            json!("+7"),
            json!(2.5),
        ],
        Pool::Time => vec![
            json!("2026-07-16T02:00:45.0159703Z"),
            json!("2026-07-16T02:00:45.0159703Z"),
            json!("2026-06-16T12:00:00.0000001Z"),
            json!("2026-06-16T11:59:59.9999999Z"),
            json!("2026-07-16 02:00:45"),
            json!("2026-07-16"),
            json!("2026-07-16T04:00:45+02:00"),
            json!("2026-07-16T00:00:45-0200"),
            json!("2026-07-16T02:00.5Z"),
            json!("2026-07-15T12:00:00.123456789Z"),
            json!("2026-07-16T12:00:00Z"),
            json!("2026-07-16t02:00:45z"),
            json!("  2026-07-16T02:00:45Z "),
            json!("2026-02-30T00:00:00Z"),
            json!("2026-07-16T25:00:00Z"),
            json!("2024-02-29T23:59:60Z"),
            json!("yesterday"),
            json!(1752624000),
        ],
        Pool::Bool => vec![
            json!(true),
            json!(false),
            json!("true"),
            json!("false"),
            json!("True"),
            json!("FALSE"),
            json!("1"),
            json!("0"),
            json!(1),
            json!(0),
            json!("yes"),
            json!(" true "),
            json!(2),
        ],
        Pool::Dyn => vec![
            json!({"countryOrRegion": "US", "city": "Redmond"}),
            json!("{\"countryOrRegion\":\"DE\",\"city\":\"Berlin\"}"),
            json!("{\"countryOrRegion\": \"us\"}"),
            json!({"countryOrRegion": null}),
            json!({"countryOrRegion": 7}),
            json!({"geo": {"lat": 1.5}}),
            json!({}),
            json!([1, "US"]),
            json!("not json"),
            json!("US"),
        ],
    };
    if p == Pool::Real {
        v.extend([
            json!("2.5"),
            json!(".5"),
            json!("5."),
            json!("1e5"),
            json!("inf"),
            json!("-Infinity"),
            json!("NaN"),
            json!("1e400"),
            json!(" 2.5 "),
            json!(1e-7),
            json!("1,5"),
        ]);
    }
    // Every pool: null and "" (a missing key is decided per record).
    v.extend([Value::Null, json!("")]);
    v
}

/// A JSON value as the text a string literal would compare with.
fn text_of(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A rule-language string literal.
fn str_lit(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A YAML single-quoted scalar.
fn yaml(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

const SPANS: [&str; 9] = ["30d", "1d", "1h", "2h", "15m", "10s", "250ms", "0s", "1.5h"];
const TIMES: [&str; 7] = [
    "2026-07-16T02:00:45.0159703Z",
    "2026-06-16T12:00:00Z",
    "2026-07-16",
    "2026-07-16T04:00:45+02:00",
    "2026-07-15T12:00:00.1234567Z",
    "2026-07-16T12:00:00Z",
    "2026-01-01T00:00:00.0000001Z",
];
const LONGS: [i64; 12] = [0, 1, -1, 2, 7, 12, 100, 200, 299, 300, 1000, i64::MAX];
const REAL_LITS: [&str; 8] = ["2.5", "200.0", "0.5", "1000.0", "0.1", "1e3", "0.0", "1e308"];

/// A column an expression may name, as written there (`a.X` in a join's
/// mismatch, `X` in a filter).
struct Scoped {
    text: String,
    col: &'static Col,
}

/// Writes typed expressions over the columns in scope, noting each
/// construct it uses.
struct Gen<'a> {
    rng: &'a mut Rng,
    scope: Vec<Scoped>,
    used: &'a mut BTreeSet<&'static str>,
    /// The rule's `let` lists: name, items (strings).
    lets: &'a mut Vec<(String, Vec<String>)>,
}

impl Gen<'_> {
    /// Whether `feature` may be generated; when it may, it counts as used.
    fn on(&mut self, feature: &'static str) -> bool {
        let on = enabled(feature);
        if on {
            self.used.insert(feature);
        }
        on
    }

    fn column(&mut self, ty: Ty) -> Option<(String, Pool)> {
        let cols: Vec<&Scoped> = self.scope.iter().filter(|c| c.col.ty == ty).collect();
        if cols.is_empty() {
            return None;
        }
        let c = cols[self.rng.below(cols.len())];
        Some((c.text.clone(), c.col.pool))
    }

    fn some_pool(&mut self) -> Pool {
        *self.rng.pick(&[Pool::Text, Pool::Ip, Pool::Key, Pool::Num, Pool::Dyn, Pool::Time])
    }

    /// A string literal from `pool`, as written in records.
    fn text_lit(&mut self, pool: Pool) -> String {
        let values = self::pool(pool);
        let mut s = text_of(self.rng.pick(&values));
        if self.rng.chance(0.15) {
            s = s.to_uppercase();
        }
        str_lit(&s)
    }

    /// A term to look for (`has`, `contains`, ...): a whole value, one of
    /// its alphanumeric runs, or a slice of it.
    fn needle(&mut self, pool: Pool) -> String {
        let values = self::pool(pool);
        let s = text_of(self.rng.pick(&values));
        let chars: Vec<char> = s.chars().collect();
        let mut n = match self.rng.below(4) {
            0 => s.clone(),
            1 => {
                let words: Vec<&str> = s.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
                if words.is_empty() { s.clone() } else { self.rng.pick(&words).to_string() }
            }
            2 if chars.len() > 1 => {
                let a = self.rng.below(chars.len());
                let b = a + 1 + self.rng.below(chars.len() - a);
                chars[a..b].iter().collect()
            }
            _ => self.rng.pick(&["", "/", "-", ".", "v1.0", "1.2.3.4", "US", "abc", "ß", "0"]).to_string(),
        };
        if self.rng.chance(0.2) {
            n = n.to_uppercase();
        }
        str_lit(&n)
    }

    fn long_lit(&mut self) -> String {
        let longs: &[i64] = if self.on("long_overflow") { &LONGS } else { &LONGS[..LONGS.len() - 1] };
        let n = *self.rng.pick(longs);
        // A negative literal is the negation of a number.
        if n < 0 { format!("-{}", n.unsigned_abs()) } else { n.to_string() }
    }

    fn time_lit(&mut self) -> String {
        format!("datetime({})", self.rng.pick(&TIMES))
    }

    fn span_lit(&mut self) -> String {
        self.rng.pick(&SPANS).to_string()
    }

    /// An expression of type `ty`; `d` bounds its depth. Also the pool its
    /// values come from, when one column decides it (for literals to compare with).
    fn expr(&mut self, ty: Ty, d: u32) -> (String, Option<Pool>) {
        match ty {
            Ty::Str => self.string(d),
            Ty::Long => self.long(d),
            Ty::Real => self.real(d),
            Ty::Bool => (self.boolean(d), Some(Pool::Bool)),
            Ty::Time => (self.time(d), Some(Pool::Time)),
            Ty::Span => (self.span(d), None),
            Ty::Dyn => unreachable!("dynamic values are read through paths"),
        }
    }

    /// Text `strcat` takes: a string, or a long (SQL converts it).
    fn text_arg(&mut self, d: u32) -> (String, Option<Pool>) {
        if self.rng.chance(0.2) { self.long(d) } else { self.string(d) }
    }

    fn string(&mut self, d: u32) -> (String, Option<Pool>) {
        loop {
            let k = if d == 0 { self.rng.below(2) } else { self.rng.below(12) };
            match k {
                0 | 2 | 3 | 4 => {
                    if let Some((c, p)) = self.column(Ty::Str) {
                        return (c, Some(p));
                    }
                }
                1 => {
                    let p = self.some_pool();
                    return (self.text_lit(p), Some(p));
                }
                5 if self.on("tolower") => {
                    let (a, p) = self.string(d - 1);
                    return (format!("tolower({a})"), p);
                }
                6 if self.on("toupper") => {
                    let (a, p) = self.string(d - 1);
                    return (format!("toupper({a})"), p);
                }
                7 if self.on("tostring") => {
                    let (a, p) = match self.rng.below(3) {
                        0 => self.string(d - 1),
                        1 => self.long(d - 1),
                        _ => (self.boolean(d - 1), None),
                    };
                    return (format!("tostring({a})"), p);
                }
                8 if self.on("strcat") => {
                    let n = 1 + self.rng.below(3);
                    let parts: Vec<String> = (0..n).map(|_| self.text_arg(d - 1).0).collect();
                    return (format!("strcat({})", parts.join(", ")), None);
                }
                9 if self.on("extract") => {
                    let re = self.rng.pick(&[r"([0-9]+)", r"v([0-9.]+)/", r"^([a-z]+)", r"(uti)-([0-9])"]);
                    let group = self.rng.below(2);
                    let (a, _) = self.string(d - 1);
                    return (format!("extract({}, {group}, {a})", str_lit(re)), None);
                }
                10 if self.on("coalesce") => {
                    let (a, p) = self.string(d - 1);
                    let (b, _) = self.string(d - 1);
                    return (format!("coalesce({a}, {b})"), p);
                }
                11 if self.on("json_path") => {
                    if let Some((c, _)) = self.column(Ty::Dyn).or_else(|| {
                        self.scope.iter().find(|s| s.col.pool == Pool::Dyn).map(|s| (s.text.clone(), Pool::Dyn))
                    }) {
                        let key = self.rng.pick(&["countryOrRegion", "city", "geo.lat"]);
                        return (format!("tostring({c}.{key})"), None);
                    }
                }
                _ => {}
            }
        }
    }

    fn long(&mut self, d: u32) -> (String, Option<Pool>) {
        loop {
            let k = if d == 0 { self.rng.below(2) } else { self.rng.below(14) };
            match k {
                0 | 2 | 3 => {
                    if let Some((c, p)) = self.column(Ty::Long) {
                        return (c, Some(p));
                    }
                }
                1 => return (self.long_lit(), None),
                4 | 11 | 12 => {
                    let op = *self.rng.pick(&["+", "-", "*", "/", "%"]);
                    let name: &'static str = op;
                    if self.on(name) {
                        let (a, p) = self.long(d - 1);
                        let (b, _) = self.long(d - 1);
                        return (format!("({a} {op} {b})"), p);
                    }
                }
                5 if self.on("neg") => {
                    let (a, p) = self.long(d - 1);
                    return (format!("-({a})"), p);
                }
                6 if self.on("strlen") => return (format!("strlen({})", self.string(d - 1).0), None),
                7 => {
                    let f = *self.rng.pick(&["tolong", "toint"]);
                    if self.on(f) {
                        let (a, p) = match self.rng.below(5) {
                            0 | 1 => self.string(d - 1),
                            2 => (self.boolean(d - 1), None),
                            3 => (self.time(d - 1), None),
                            _ => (self.span(d - 1), None),
                        };
                        return (format!("{f}({a})"), p);
                    }
                }
                8 if self.on("parse_ipv4") => return (format!("parse_ipv4({})", self.ip(d - 1)), None),
                9 => {
                    let f = *self.rng.pick(&["ipv4_compare", "ipv6_compare"]);
                    if self.on(f) {
                        let (a, b) = (self.ip(d - 1), self.ip(d - 1));
                        let prefix =
                            if self.rng.chance(0.4) { format!(", {}", self.rng.below(130)) } else { String::new() };
                        return (format!("{f}({a}, {b}{prefix})"), None);
                    }
                }
                10 if self.on("coalesce") => {
                    let (a, p) = self.long(d - 1);
                    return (format!("coalesce({a}, {})", self.long(d - 1).0), p);
                }
                _ => {}
            }
        }
    }

    /// A string that is an address most of the time.
    fn ip(&mut self, d: u32) -> String {
        let ips: Vec<String> = self
            .scope
            .iter()
            .filter(|s| s.col.pool == Pool::Ip && s.col.ty == Ty::Str)
            .map(|s| s.text.clone())
            .collect();
        if !ips.is_empty() && self.rng.chance(0.7) {
            return self.rng.pick(&ips).clone();
        }
        if self.rng.chance(0.7) { self.text_lit(Pool::Ip) } else { self.string(d).0 }
    }

    fn real(&mut self, d: u32) -> (String, Option<Pool>) {
        loop {
            let k = if d == 0 { self.rng.below(2) } else { self.rng.below(6) };
            match k {
                0 | 2 => {
                    if let Some((c, p)) = self.column(Ty::Real) {
                        return (c, Some(p));
                    }
                }
                1 => return (self.rng.pick(&REAL_LITS).to_string(), None),
                3 => {
                    let f = *self.rng.pick(&["toreal", "todouble"]);
                    if self.on(f) {
                        let (a, p) = match self.rng.below(4) {
                            0 => self.string(d - 1),
                            1 => self.long(d - 1),
                            2 => (self.boolean(d - 1), None),
                            _ => self.real(d - 1),
                        };
                        return (format!("{f}({a})"), p);
                    }
                }
                4 => {
                    let op = *self.rng.pick(&["+", "-", "*", "/", "%"]);
                    if self.on(op) {
                        let (a, p) = self.real(d - 1);
                        let b = if self.rng.chance(0.5) { self.real(d - 1).0 } else { self.long(d - 1).0 };
                        return if self.rng.chance(0.5) {
                            (format!("({a} {op} {b})"), p)
                        } else {
                            (format!("({b} {op} {a})"), p)
                        };
                    }
                }
                5 if self.on("neg") => {
                    let (a, p) = self.real(d - 1);
                    return (format!("-({a})"), p);
                }
                _ => {}
            }
        }
    }

    fn time(&mut self, d: u32) -> String {
        loop {
            let k = if d == 0 { self.rng.below(3) } else { self.rng.below(9) };
            match k {
                0 | 3 => {
                    if let Some((c, _)) = self.column(Ty::Time) {
                        return c;
                    }
                }
                1 => return self.time_lit(),
                2 if self.on("ago") => return format!("ago({})", self.span_lit()),
                4 if self.on("now") => {
                    return if self.rng.chance(0.5) {
                        "now()".to_string()
                    } else {
                        format!("now(-{})", self.span_lit())
                    };
                }
                5 if self.on("time+span") => {
                    let (t, s) = (self.time(d - 1), self.span(d - 1));
                    return if self.rng.chance(0.7) { format!("({t} + {s})") } else { format!("({s} + {t})") };
                }
                6 if self.on("time-span") => return format!("({} - {})", self.time(d - 1), self.span(d - 1)),
                7 if self.on("todatetime") => return format!("todatetime({})", self.time(d - 1)),
                8 if self.on("ago") => return format!("ago({})", self.span(d - 1)),
                _ => {}
            }
        }
    }

    fn span(&mut self, d: u32) -> String {
        loop {
            let k = if d == 0 { 0 } else { self.rng.below(8) };
            match k {
                0 | 1 => return self.span_lit(),
                2 if self.on("time-time") => return format!("({} - {})", self.time(d - 1), self.time(d - 1)),
                3 if self.on("span+") => return format!("({} + {})", self.span(d - 1), self.span(d - 1)),
                4 if self.on("span-") => return format!("({} - {})", self.span(d - 1), self.span(d - 1)),
                5 if self.on("span*") => {
                    let (s, n) = (self.span(d - 1), self.long(d - 1).0);
                    return if self.rng.chance(0.5) { format!("({s} * {n})") } else { format!("({n} * {s})") };
                }
                6 if self.on("span/") => return format!("({} / {})", self.span(d - 1), self.long(d - 1).0),
                7 if self.on("neg") => return format!("-({})", self.span(d - 1)),
                _ => {}
            }
        }
    }

    /// An operand of a comparison: an expression, a literal from its
    /// pool, or (rarely) `null`.
    fn operand(&mut self, ty: Ty, d: u32, pool: Option<Pool>) -> String {
        if self.rng.chance(0.05) && self.on("null") {
            return "null".to_string();
        }
        if self.rng.chance(0.6) {
            return match ty {
                Ty::Str => self.text_lit(pool.unwrap_or(Pool::Text)),
                Ty::Long => self.long_lit(),
                Ty::Real => self.rng.pick(&REAL_LITS).to_string(),
                Ty::Bool => self.rng.pick(&["true", "false"]).to_string(),
                Ty::Time => self.time_lit(),
                Ty::Span => self.span_lit(),
                Ty::Dyn => unreachable!(),
            };
        }
        self.expr(ty, d).0
    }

    /// A number: long or real.
    fn number(&mut self, d: u32) -> (String, Option<Pool>, Ty) {
        if self.rng.chance(0.7) {
            let (e, p) = self.long(d);
            (e, p, Ty::Long)
        } else {
            let (e, p) = self.real(d);
            (e, p, Ty::Real)
        }
    }

    fn boolean(&mut self, d: u32) -> String {
        let od = d.min(1 + self.rng.below(2) as u32);
        loop {
            let k = match self.rng.below(if d == 0 { 13 } else { 17 }) {
                12 if d == 0 => 16,
                k => k,
            };
            match k {
                0 => {
                    let op = *self.rng.pick(&["==", "!=", "=~", "!~"]);
                    if self.on(op) {
                        let (a, p) = self.string(od);
                        let b = self.operand(Ty::Str, od, p);
                        return format!("({a} {op} {b})");
                    }
                }
                1 => {
                    let op = *self.rng.pick(&["==", "!=", "<", "<=", ">", ">="]);
                    if self.on(op) {
                        let (a, _, ty) = self.number(od);
                        let other = if self.rng.chance(0.8) { ty } else { *self.rng.pick(&[Ty::Long, Ty::Real]) };
                        let b = self.operand(other, od, None);
                        return format!("({a} {op} {b})");
                    }
                }
                2 => {
                    let op = *self.rng.pick(&["==", "!=", "<", "<=", ">", ">="]);
                    let ty = *self.rng.pick(&[Ty::Time, Ty::Time, Ty::Span]);
                    if self.on(op) {
                        let a = self.expr(ty, od).0;
                        let b = self.operand(ty, od, None);
                        return format!("({a} {op} {b})");
                    }
                }
                3 => {
                    let op = *self.rng.pick(&["==", "!="]);
                    if self.on(op) {
                        let a = match self.column(Ty::Bool) {
                            Some((c, _)) if self.rng.chance(0.7) => c,
                            _ => self.boolean(od.saturating_sub(1)),
                        };
                        let b = self.operand(Ty::Bool, od.saturating_sub(1), None);
                        return format!("({a} {op} {b})");
                    }
                }
                4 | 5 | 16 => {
                    const BASES: [&str; 6] = ["has", "contains", "startswith", "endswith", "hasprefix", "hassuffix"];
                    let forms = |b: &str| [b.to_string(), format!("{b}_cs"), format!("!{b}"), format!("!{b}_cs")];
                    // Half the time the first of the 24 forms the seed has not
                    // written yet, so every form is covered whatever the seed.
                    let fresh = BASES
                        .iter()
                        .flat_map(|b| forms(b).into_iter().map(move |n| (*b, n)))
                        .find(|(_, n)| !self.used.contains(n.as_str()) && enabled(n));
                    let (base, name) = match fresh {
                        Some(f) if self.rng.chance(0.5) => f,
                        _ => {
                            let base = *self.rng.pick(&BASES);
                            (base, self.rng.pick(&forms(base)).clone())
                        }
                    };
                    let Some(&feature) = FEATURES.iter().find(|f| **f == name) else { unreachable!("{name}") };
                    if self.on(feature) {
                        let name = feature;
                        let (a, p) = self.string(od);
                        let computed = matches!(base, "contains" | "startswith" | "endswith") && self.rng.chance(0.25);
                        let b = if computed { self.string(od).0 } else { self.needle(p.unwrap_or(Pool::Text)) };
                        return format!("({a} {name} {b})");
                    }
                }
                6 => {
                    let op = *self.rng.pick(&["in", "!in", "in~", "!in~", "has_any", "has_all"]);
                    if self.on(op) {
                        return self.in_list(op, od);
                    }
                }
                7 => {
                    let op = *self.rng.pick(&["between", "!between"]);
                    if self.on(op) {
                        return self.between(op, od);
                    }
                }
                8 => {
                    let f = *self.rng.pick(&["isempty", "isnotempty", "isnull", "isnotnull"]);
                    if self.on(f) {
                        let ty = *self.rng.pick(&[Ty::Str, Ty::Str, Ty::Long, Ty::Real, Ty::Bool, Ty::Time, Ty::Span]);
                        let a = if self.rng.chance(0.03) && self.on("null") {
                            "null".to_string()
                        } else {
                            self.expr(ty, od).0
                        };
                        return format!("{f}({a})");
                    }
                }
                9 => {
                    if let Some((c, _)) = self.column(Ty::Bool) {
                        return c;
                    }
                    if self.rng.chance(0.1) {
                        return self.rng.pick(&["true", "false"]).to_string();
                    }
                }
                10 => {
                    let f = *self.rng.pick(&[
                        "ipv4_is_in_range",
                        "ipv4_is_private",
                        "ipv4_is_match",
                        "ipv6_is_match",
                        "ipv4_is_in_any_range",
                    ]);
                    if self.on(f) {
                        return self.ip_predicate(f, od);
                    }
                }
                11 if self.on("json_path") => {
                    let dyns: Vec<String> =
                        self.scope.iter().filter(|s| s.col.pool == Pool::Dyn).map(|s| s.text.clone()).collect();
                    if !dyns.is_empty() {
                        let c = self.rng.pick(&dyns).clone();
                        let key = *self.rng.pick(&["countryOrRegion", "city", "geo.lat"]);
                        let op = *self.rng.pick(&["==", "!=", "=~"]);
                        let v = self.rng.pick(&["\"US\"", "\"DE\"", "\"us\"", "\"Redmond\""]).to_string();
                        // A dynamic value compares after `tostring` (SQL refuses
                        // dynamic == string by design: the engine compares per record).
                        return match self.rng.below(3) {
                            0 => format!(
                                "{}({c}.{key})",
                                self.rng.pick(&["isempty", "isnotempty", "isnull", "isnotnull"])
                            ),
                            _ => format!("(tostring({c}.{key}) {op} {v})"),
                        };
                    }
                }
                12 | 13 if d > 0 => {
                    let op = if k == 12 { "and" } else { "or" };
                    if self.on(op) {
                        return format!("({} {op} {})", self.boolean(d - 1), self.boolean(d - 1));
                    }
                }
                14 if d > 0 && self.on("not") => return format!("not({})", self.boolean(d - 1)),
                15 if d > 0 && self.on("tolong") => {
                    // A bool from a number: `tolong(b) == 1`.
                    return format!("(tolong({}) == 1)", self.boolean(d - 1));
                }
                _ => {}
            }
        }
    }

    fn in_list(&mut self, op: &str, d: u32) -> String {
        let n = 1 + self.rng.below(4);
        let strings = matches!(op, "in~" | "!in~" | "has_any" | "has_all") || self.rng.chance(0.6);
        if !strings {
            let (a, _, ty) = self.number(d);
            let negative = self.on("in_negative_item");
            let items: Vec<String> = (0..n)
                .map(|_| match ty {
                    Ty::Real => self.rng.pick(&REAL_LITS).to_string(),
                    _ if negative => self.long_lit(),
                    _ => self.long_lit().trim_start_matches('-').to_string(),
                })
                .collect();
            return format!("({a} {op} ({}))", items.join(", "));
        }
        let (a, p) = self.string(d);
        let p = p.unwrap_or(Pool::Text);
        let items: Vec<String> =
            (0..n).map(|_| if op.starts_with("has") { self.needle(p) } else { self.text_lit(p) }).collect();
        if self.rng.chance(0.25) && self.on("let") {
            let name = format!("list{}", self.lets.len());
            self.lets.push((name.clone(), items));
            return format!("({a} {op} ({name}))");
        }
        format!("({a} {op} ({}))", items.join(", "))
    }

    fn between(&mut self, op: &str, d: u32) -> String {
        match self.rng.below(3) {
            0 => {
                let (a, _, ty) = self.number(d);
                let lo = self.operand(ty, d.saturating_sub(1), None);
                let hi = self.operand(ty, d.saturating_sub(1), None);
                format!("({a} {op} ({lo} .. {hi}))")
            }
            1 => {
                let a = self.time(d);
                let lo = self.maybe_null(|g| g.time(d.saturating_sub(1)));
                let span = self.rng.chance(0.5) && self.on("between_span");
                let hi = if span { self.span(d.saturating_sub(1)) } else { self.time(d) };
                format!("({a} {op} ({lo} .. {hi}))")
            }
            _ => {
                let a = self.time(d);
                let lo = self.maybe_null(|g| g.time(d.saturating_sub(1)));
                let hi = self.time(d.saturating_sub(1));
                format!("({a} {op} ({lo} .. {hi}))")
            }
        }
    }

    /// `null` now and then, else what `f` writes (a bound of `between`).
    fn maybe_null(&mut self, f: impl FnOnce(&mut Self) -> String) -> String {
        if self.rng.chance(0.04) && self.on("null") { "null".to_string() } else { f(self) }
    }

    fn ip_predicate(&mut self, f: &str, d: u32) -> String {
        let a = self.ip(d);
        match f {
            "ipv4_is_private" => format!("ipv4_is_private({a})"),
            "ipv4_is_in_range" => {
                let range =
                    self.rng.pick(&["10.0.0.0/8", "192.168.1.128/25", "1.2.3.4", "172.16.0.0/12", "8.8.8.8/32"]);
                format!("ipv4_is_in_range({a}, {})", str_lit(range))
            }
            "ipv4_is_in_any_range" => {
                let n = 1 + self.rng.below(3);
                let ranges: Vec<String> = (0..n)
                    .map(|_| {
                        str_lit(self.rng.pick::<&str>(&[
                            "10.0.0.0/8",
                            "192.168.0.0/16",
                            "1.2.3.4",
                            "8.8.8.0/24",
                            "2001:db8::/32",
                        ]))
                    })
                    .collect();
                format!("ipv4_is_in_any_range({a}, {})", ranges.join(", "))
            }
            _ => {
                let b = self.ip(d);
                let prefix = if self.rng.chance(0.4) { format!(", {}", self.rng.below(130)) } else { String::new() };
                format!("{f}({a}, {b}{prefix})")
            }
        }
    }
}

/// One generated rule: its file (under `rules/`), id and text.
struct GenRule {
    file: String,
    id: String,
    text: String,
    join: bool,
}

fn scope(src: &'static Src, alias: Option<&str>) -> Vec<Scoped> {
    src.cols
        .iter()
        .map(|c| Scoped { text: alias.map_or_else(|| c.name.to_string(), |a| format!("{a}.{}", c.name)), col: c })
        .collect()
}

/// Up to two computed outputs (string, long or bool: what SQL prints as
/// the engine does) and maybe a column output (printed as its input text).
fn outputs(g: &mut Gen, out: &mut String) {
    let typed = enabled("typed_column_output");
    // A column of another type than string, output as is.
    let typed_column = |g: &Gen, e: &str| g.scope.iter().any(|c| c.text == e && c.col.ty != Ty::Str);
    for i in 0..g.rng.below(3) {
        let ty = *g.rng.pick(&[Ty::Str, Ty::Long, Ty::Bool]);
        let depth = 1 + g.rng.below(2) as u32;
        let (e, _) = g.expr(ty, depth);
        if typed_column(g, &e) && !g.on("typed_column_output") {
            continue;
        }
        writeln!(out, "    O{i}: {}", yaml(&e)).unwrap();
    }
    if g.rng.chance(0.5) {
        let c = &g.scope[g.rng.below(g.scope.len())];
        let text = c.text.clone();
        if c.col.ty == Ty::Str || (c.col.ty != Ty::Dyn && typed && g.on("typed_column_output")) {
            writeln!(out, "    C: {text}").unwrap();
        }
    }
}

fn lets(lists: &[(String, Vec<String>)]) -> String {
    if lists.is_empty() {
        return String::new();
    }
    let mut out = String::from("  let:\n");
    for (name, items) in lists {
        // Items are rule-language literals ("..."): JSON strings, so YAML double-quoted scalars.
        writeln!(out, "    {name}: [{}]", items.join(", ")).unwrap();
    }
    out
}

fn header(n: usize, kind: &str) -> (String, String, String) {
    let id = format!("7d0c5e1a-0000-4000-8000-{:012x}", n);
    let title = format!("generated {kind} {n}");
    let head =
        format!("title: {title}\nid: {id}\nlevel: low\nfalsepositives: [none]\nreferences: [https://example.org]\n");
    (id, title, head)
}

fn filter_rule(rng: &mut Rng, used: &mut BTreeSet<&'static str>, n: usize) -> GenRule {
    let src = *rng.pick(&FILTER_SOURCES);
    let mut lists = Vec::new();
    let mut g = Gen { rng, scope: scope(src, None), used, lets: &mut lists };
    let depth = 1 + g.rng.below(3) as u32;
    let filter = if g.rng.chance(0.93) { Some(g.boolean(depth)) } else { None };
    let mut out = String::new();
    writeln!(out, "    Id: {}", src.id).unwrap();
    outputs(&mut g, &mut out);
    let (id, _, head) = header(n, "filter");
    let mut text = format!("{head}correlation:\n{}  sources:\n    a: {}\n", lets(&lists), src.table);
    if let Some(f) = filter {
        writeln!(text, "  filter:\n    a: {}", yaml(&f)).unwrap();
    }
    write!(text, "  output:\n{out}").unwrap();
    GenRule { file: format!("r{n:04}.yml"), id, text, join: false }
}

/// Join keys of Graph calls (`g`) and sign-ins (`s`) whose values overlap.
const KEYS: [&str; 7] = [
    "g.SignInActivityId == s.UniqueTokenIdentifier",
    "g.SignInActivityId == s.UniqueTokenIdentifier",
    "g.ServicePrincipalId == s.ServicePrincipalId",
    "tolower(g.AppId) == tolower(s.AppId)",
    "g.ResponseStatusCode == s.DurationMs",
    "g.TimeGenerated == s.CreatedDateTime",
    "g.AppId == s.AppId and g.ServicePrincipalId == s.UniqueTokenIdentifier",
];

fn join_rule(rng: &mut Rng, used: &mut BTreeSet<&'static str>, n: usize) -> GenRule {
    let mut lists = Vec::new();
    used.insert("join");
    let union = rng.chance(0.3) && enabled("join_union");
    if union {
        used.insert("join_union");
    }
    let anti = rng.chance(0.25) && enabled("leftanti");
    if anti {
        used.insert("leftanti");
    }
    let key = *rng.pick(&KEYS);
    let mut filters = Vec::new();
    for (alias, src) in [("g", &GRAPH), ("s", &SP)] {
        let mut g = Gen { rng: &mut *rng, scope: scope(src, None), used: &mut *used, lets: &mut lists };
        if g.rng.chance(0.45) {
            let depth = g.rng.below(3) as u32;
            filters.push(format!("    {alias}: {}", yaml(&g.boolean(depth))));
        }
    }
    let mut both = scope(&GRAPH, Some("g"));
    both.extend(scope(&SP, Some("s")));
    let mut g = Gen { rng: &mut *rng, scope: both, used: &mut *used, lets: &mut lists };
    let depth = 1 + g.rng.below(2) as u32;
    let mismatch = if g.rng.chance(0.8) { Some(g.boolean(depth)) } else { None };
    let mut out = String::new();
    writeln!(out, "    GId: g.{}", GRAPH.id).unwrap();
    if anti {
        g.scope = scope(&GRAPH, Some("g"));
    } else {
        writeln!(out, "    SId: s.{}", SP.id).unwrap();
        writeln!(out, "    Table: s.Type").unwrap();
    }
    outputs(&mut g, &mut out);
    let (id, _, head) = header(n, "join");
    let signins = if union { format!("[{}, {MI}]", SP.table) } else { SP.table.to_string() };
    let mut text =
        format!("{head}correlation:\n{}  sources:\n    g: {}\n    s: {signins}\n", lets(&lists), GRAPH.table);
    if !filters.is_empty() {
        writeln!(text, "  filter:\n{}", filters.join("\n")).unwrap();
    }
    writeln!(text, "  join: {}", yaml(key)).unwrap();
    if anti {
        writeln!(text, "  kind: leftanti").unwrap();
    }
    if let Some(m) = mismatch {
        writeln!(text, "  mismatch: {}", yaml(&m)).unwrap();
    }
    write!(text, "  output:\n{out}").unwrap();
    GenRule { file: format!("r{n:04}.yml"), id, text, join: true }
}

/// The records of one seed: every table's rows with values drawn from the
/// columns' pools (any JSON type), keys missing now and then.
fn records(rng: &mut Rng) -> Vec<Value> {
    let mut out = Vec::new();
    for (src, table, count, prefix) in [
        (&GRAPH, GRAPH.table, 40, "g"),
        (&SP, SP.table, 26, "s"),
        (&SP, MI, 10, "m"),
        (&SIGNIN, SIGNIN.table, 28, "l"),
        (&REALS, REALS.table, 28, "r"),
    ] {
        for i in 0..count {
            let mut r = serde_json::Map::new();
            r.insert("Type".into(), json!(table));
            r.insert(src.id.into(), json!(format!("{prefix}{i}")));
            for c in src.cols {
                if table == MI && c.name == "AutonomousSystemNumber" {
                    continue;
                }
                if rng.chance(0.08) {
                    continue;
                }
                let mut values = pool(c.pool);
                if c.pool == Pool::Num && !enabled("long_overflow") {
                    values.retain(|v| !matches!(v, Value::Number(n) if n.as_f64().is_some_and(|f| f.abs() > 1e15)));
                    values.retain(|v| v.as_str().is_none_or(|s| s.len() < 16));
                }
                r.insert(c.name.into(), rng.pick(&values).clone());
            }
            out.push(Value::Object(r));
        }
    }
    out
}

/// One seed's rules and records, written under `root/seed-N`.
struct Seeded {
    seed: u64,
    dir: PathBuf,
    rules: Vec<GenRule>,
    records: Vec<Value>,
    used: BTreeSet<&'static str>,
}

fn prepare(root: &Path, seed: u64, n: usize) -> Seeded {
    let mut rng = Rng(seed);
    let mut used = BTreeSet::new();
    let records = records(&mut rng);
    let rules: Vec<GenRule> = (0..n)
        .map(|i| if rng.chance(0.3) { join_rule(&mut rng, &mut used, i) } else { filter_rule(&mut rng, &mut used, i) })
        .collect();
    let dir = root.join(format!("seed-{seed}"));
    for sub in ["rules", "logs", "tables"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    std::fs::write(dir.join("tables/SigcorrGenReals.yml"), REALS_TABLE).unwrap();
    for r in &rules {
        std::fs::write(dir.join("rules").join(&r.file), &r.text).unwrap();
    }
    let text: String = records.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(dir.join("logs/a.json"), text).unwrap();
    Seeded { seed, dir, rules, records, used }
}

impl Seeded {
    /// The engine's alerts of every rule, by rule id, in one `sigcorr run`.
    fn engine(&self) -> BTreeMap<String, Table> {
        let run = sigcorr(
            &self.dir,
            &["run", "--now", NOW, "--format", "jsonl", "--quiet", "--tables", "tables", "--rules", "rules", "logs"],
        );
        assert!(
            run.code == 0 || run.code == 3,
            "seed {}: sigcorr run exited {} (a generated rule the engine refuses is a generator bug):\n{}\n{}",
            self.seed,
            run.code,
            run.stderr,
            self.rules_named_in(&run.stderr)
        );
        #[derive(serde::Deserialize)]
        struct Alert {
            rule: RuleRef,
            fields: indexmap::IndexMap<String, Value>,
        }
        #[derive(serde::Deserialize)]
        struct RuleRef {
            id: String,
        }
        let mut out: BTreeMap<String, Table> = BTreeMap::new();
        for line in run.stdout.lines() {
            let a: Alert = serde_json::from_str(line).unwrap_or_else(|e| panic!("not an alert: {e}: {line}"));
            let t = out
                .entry(a.rule.id)
                .or_insert_with(|| Table { columns: a.fields.keys().cloned().collect(), rows: Vec::new() });
            t.rows.push(a.fields.values().map(crate::compile::cell).collect());
        }
        for t in out.values_mut() {
            t.rows.sort();
        }
        out
    }

    /// The text of every rule whose file `text` names (diagnostics).
    fn rules_named_in(&self, text: &str) -> String {
        let mut out = String::new();
        for r in self.rules.iter().filter(|r| text.contains(&r.file)) {
            writeln!(out, "--- rules/{}\n{}", r.file, r.text).unwrap();
        }
        out
    }

    /// Every rule compiled to `target` in one `sigcorr compile`, by rule id.
    /// A rule that does not compile fails the test: the generator writes only
    /// constructs the backends accept (the refused ones are [`PENDING`]).
    fn compile(&self, target: &str) -> BTreeMap<String, String> {
        let mut args = vec!["compile", "--target", target, "--now", NOW, "--tables", "tables", "--rules", "rules"];
        if target == "duckdb" {
            args.extend(["--data", "logs"]);
        }
        let run = sigcorr(&self.dir, &args);
        assert!(
            run.code == 0,
            "seed {}: `sigcorr {}` exited {}: a generated construct is not compiled (add it to PENDING if \
             that is being worked on, or stop generating it):\n{}\n{}",
            self.seed,
            args.join(" "),
            run.code,
            run.stderr,
            self.rules_named_in(&run.stderr)
        );
        // One statement per rule, each starting with its title and id comment lines.
        let lines: Vec<&str> = run.stdout.split_inclusive('\n').collect();
        let starts: Vec<usize> = (1..lines.len()).filter(|&i| lines[i].starts_with("-- sigcorr rule ")).collect();
        let mut out = BTreeMap::new();
        for (k, &i) in starts.iter().enumerate() {
            let end = starts.get(k + 1).map_or(lines.len(), |&j| j - 1);
            let id = lines[i].trim_start_matches("-- sigcorr rule ").split(' ').next().unwrap().to_string();
            out.insert(id, lines[i - 1..end].concat());
        }
        assert_eq!(out.len(), self.rules.len(), "seed {}: one query per rule", self.seed);
        out
    }
}

/// What the SQL gave for one rule, as its runner reported it.
fn sql_result(v: &Value) -> Result<Table, String> {
    match v.get("error") {
        Some(e) => Err(e.as_str().unwrap_or_default().to_string()),
        None if v.is_null() => Err("no result".to_string()),
        None => Ok(table(v)),
    }
}

/// Compares each rule's engine alerts with `got` (the SQL's result by rule
/// id); returns the number of rules that alerted, or panics describing the
/// first disagreements (seed, rule text, both results, the records involved).
fn compare(
    s: &Seeded,
    target: &str,
    engine: &BTreeMap<String, Table>,
    got: &BTreeMap<String, Result<Table, String>>,
) -> Result<usize, String> {
    let empty = Table { columns: Vec::new(), rows: Vec::new() };
    let mut failures = Vec::new();
    let mut fired = 0;
    for r in &s.rules {
        let e = engine.get(&r.id).unwrap_or(&empty);
        fired += usize::from(!e.rows.is_empty());
        let why = match &got[&r.id] {
            Err(err) => format!("{target} failed: {err}"),
            Ok(t) if t.rows != e.rows => {
                let only = |a: &Table, b: &Table| -> Vec<String> {
                    let mut rest = b.rows.clone();
                    let mut out = Vec::new();
                    for row in &a.rows {
                        match rest.iter().position(|x| x == row) {
                            Some(i) => drop(rest.remove(i)),
                            None => out.push(format!("{row:?}")),
                        }
                    }
                    out
                };
                format!(
                    "rows differ: columns {:?}\n  only from the engine ({}): {}\n  only from {target} ({}): {}",
                    if e.columns.is_empty() { &t.columns } else { &e.columns },
                    e.rows.len(),
                    only(e, t).join("\n    "),
                    t.rows.len(),
                    only(t, e).join("\n    ")
                )
            }
            Ok(t) if !e.rows.is_empty() && t.columns != e.columns => {
                format!("columns differ: engine {:?}, {target} {:?}", e.columns, t.columns)
            }
            Ok(_) => continue,
        };
        failures.push((r, why, e));
    }
    if failures.is_empty() {
        return Ok(fired);
    }
    let mut msg = format!(
        "seed {}: {} of {} generated rules disagree between `sigcorr run` and {target}; reproduce with \
         SIGCORR_GEN_SEED={} SIGCORR_GEN_RULES={} cargo test --test integration compile_generated\n",
        s.seed,
        failures.len(),
        s.rules.len(),
        s.seed,
        s.rules.len()
    );
    writeln!(msg, "all: {}", failures.iter().map(|(r, ..)| r.file.as_str()).collect::<Vec<_>>().join(" ")).unwrap();
    for (r, why, _) in failures.iter().take(4) {
        writeln!(msg, "\n=== rules/{} ===\n{}{why}", r.file, r.text).unwrap();
        // The records the differing rows name (their id columns).
        let ids: BTreeSet<&str> = why
            .split(['"', '\''])
            .filter(|w| w.len() <= 4 && w.len() >= 2 && w[1..].chars().all(|c| c.is_ascii_digit()))
            .collect();
        let named: Vec<String> = s
            .records
            .iter()
            .filter(|rec| {
                ["RequestId", "Id"].iter().any(|k| rec.get(*k).and_then(Value::as_str).is_some_and(|v| ids.contains(v)))
            })
            .take(8)
            .map(Value::to_string)
            .collect();
        if !named.is_empty() {
            writeln!(msg, "  records:\n    {}", named.join("\n    ")).unwrap();
        }
    }
    Err(msg)
}

/// Prepares every seed of the run; checks the generator covers every
/// construct not [`PENDING`] (over the CI seeds).
fn seeds(root: &Path) -> Vec<Seeded> {
    let (seeds, n) = plan();
    let all: Vec<Seeded> = seeds.iter().map(|&s| prepare(root, s, n)).collect();
    if std::env::var_os("SIGCORR_GEN_SEED").is_none() && std::env::var_os("SIGCORR_GEN_RULES").is_none() {
        let used: BTreeSet<&str> = all.iter().flat_map(|s| s.used.iter().copied()).collect();
        let missing: Vec<&&str> = FEATURES.iter().filter(|f| enabled(f) && !used.contains(**f)).collect();
        assert!(missing.is_empty(), "the CI seeds generate no rule using {missing:?}: raise CI_RULES or the odds");
    }
    all
}

/// Half the rules (a quarter of the joins) must alert, or agreeing says little.
fn assert_fires(s: &Seeded, engine: &BTreeMap<String, Table>) {
    let fired = s.rules.iter().filter(|r| engine.get(&r.id).is_some_and(|t| !t.rows.is_empty())).count();
    let joins = s.rules.iter().filter(|r| r.join).count();
    let joins_fired =
        s.rules.iter().filter(|r| r.join && engine.get(&r.id).is_some_and(|t| !t.rows.is_empty())).count();
    eprintln!(
        "seed {}: {} rules ({joins} joins), {} records; {fired} rules alert ({joins_fired} joins)",
        s.seed,
        s.rules.len(),
        s.records.len()
    );
    assert!(2 * fired >= s.rules.len(), "seed {}: only {fired} of {} rules alert", s.seed, s.rules.len());
    assert!(4 * joins_fired >= joins, "seed {}: only {joins_fired} of {joins} join rules alert", s.seed);
}

/// The generated rules' DuckDB SQL (`--data`, reading the NDJSON itself)
/// returns the engine's alerts, every rule of every seed in one Python process.
#[test]
fn duckdb_returns_the_engines_alerts_on_generated_rules() {
    let start = Instant::now();
    let root = tempfile::tempdir().unwrap();
    let all = seeds(root.path());
    let mut cases = Vec::new();
    let mut engines = Vec::new();
    for s in &all {
        let engine = s.engine();
        assert_fires(s, &engine);
        for (id, sql) in s.compile("duckdb") {
            cases.push(json!({"name": format!("{}/{id}", s.seed), "sql": sql, "dir": s.dir}));
        }
        engines.push(engine);
    }
    let manifest = root.path().join("duckdb.json");
    let out = root.path().join("duckdb-out.json");
    std::fs::write(&manifest, json!({ "cases": cases }).to_string()).unwrap();
    require_python_module("duckdb");
    let script = repo().join("tests/equivalence/run_duckdb.py");
    let run =
        std::process::Command::new(python()).arg(&script).arg("--manifest").arg(&manifest).arg(&out).output().unwrap();
    assert!(run.status.success(), "run_duckdb.py failed:\n{}", String::from_utf8_lossy(&run.stderr));
    let results: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let mut errors = Vec::new();
    for (s, engine) in all.iter().zip(&engines) {
        let got =
            s.rules.iter().map(|r| (r.id.clone(), sql_result(&results[format!("{}/{}", s.seed, r.id)]))).collect();
        if let Err(e) = compare(s, "duckdb", engine, &got) {
            errors.push(e);
        }
    }
    eprintln!("duckdb: {} rules compared in {:.1?}", cases.len(), start.elapsed());
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

/// The generated rules' Spark SQL returns the engine's alerts: every rule
/// of every seed in one `run_spark.py` SparkSession.
#[test]
fn spark_returns_the_engines_alerts_on_generated_rules() {
    let start = Instant::now();
    let root = tempfile::tempdir().unwrap();
    let all = seeds(root.path());
    let mut cases = Vec::new();
    let mut engines = Vec::new();
    for s in &all {
        let engine = s.engine();
        assert_fires(s, &engine);
        for (id, sql) in s.compile("spark-sql") {
            cases.push(json!({"name": format!("{}/{id}", s.seed), "sql": sql, "data": s.dir.join("logs")}));
        }
        engines.push(engine);
    }
    let mut tables: serde_json::Map<String, Value> = sigcorr::table::Catalog::builtin()
        .tables()
        .iter()
        .map(|t| (t.name.clone(), json!(t.columns.iter().map(|c| c.name.clone()).collect::<Vec<_>>())))
        .collect();
    tables.insert(
        REALS.table.to_string(),
        json!(std::iter::once(REALS.id).chain(REALS.cols.iter().map(|c| c.name)).collect::<Vec<_>>()),
    );
    let manifest = root.path().join("spark.json");
    let out = root.path().join("spark-out.json");
    std::fs::write(&manifest, json!({ "tables": tables, "cases": cases, "keep_going": true }).to_string()).unwrap();
    require_python_module("pyspark");
    let script = repo().join("tests/equivalence/run_spark.py");
    let run = std::process::Command::new(python()).arg(&script).arg(&manifest).arg(&out).output().unwrap();
    assert!(
        run.status.success(),
        "run_spark.py failed (PySpark needs Java 17; `bash .ci/test` installs it):\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let results: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let mut errors = Vec::new();
    for (s, engine) in all.iter().zip(&engines) {
        let got =
            s.rules.iter().map(|r| (r.id.clone(), sql_result(&results[format!("{}/{}", s.seed, r.id)]))).collect();
        if let Err(e) = compare(s, "spark-sql", engine, &got) {
            errors.push(e);
        }
    }
    eprintln!("spark-sql: {} rules compared in {:.1?}", cases.len(), start.elapsed());
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}
