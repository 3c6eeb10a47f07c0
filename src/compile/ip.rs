//! The IP functions in SQL, with the engine's meaning (`functions.rs`):
//! addresses are parsed from text by regular expressions and integer
//! arithmetic both DuckDB and Spark have, so an address the engine refuses
//! (a leading zero, an octet above 255, a prefix past the family's width)
//! is NULL here too.
//!
//! - IPv4 is a `BIGINT` (`a * 2^24 + b * 2^16 + c * 2^8 + d`) with its
//!   prefix; a prefix masks by integer division by `2^(32 - bits)`.
//! - IPv6 is its 32 lowercase hex digits (IPv4 mapped to `::ffff:a.b.c.d`):
//!   fixed-width hex orders as the address does, so the first `bits` bits
//!   compare as a prefix of the text and, for a partial digit, its value
//!   divided by `2^(4 - bits % 4)`.

use super::sql::Dialect;

/// One octet: no leading zero (`Ipv4Addr`'s parser refuses `01`).
const OCTET: &str = "(0|[1-9][0-9]{0,2})";

/// SQL for an address and its prefix length, both NULL when the text is
/// not one.
pub(super) struct Parsed {
    pub(super) addr: String,
    pub(super) bits: String,
}

fn quad() -> String {
    format!("{OCTET}[.]{OCTET}[.]{OCTET}[.]{OCTET}")
}

/// Groups 1-4 of a regex match of `quad()` as one number, when every
/// octet is at most 255: `valid` and the value.
fn quad_value(t: &str, re: &str, first: usize) -> (String, String) {
    let octet = |i: usize| format!("CAST(NULLIF(regexp_extract({t}, {re}, {}), '') AS BIGINT)", first + i);
    let valid = (0..4).map(|i| format!("{} <= 255", octet(i))).collect::<Vec<_>>().join(" AND ");
    let value = format!("({} * 16777216 + {} * 65536 + {} * 256 + {})", octet(0), octet(1), octet(2), octet(3));
    (valid, value)
}

/// `functions::parse_v4_range`: an IPv4 address with an optional
/// `/prefix` (32 when absent), unmasked. Whitespace around the address
/// and after the prefix is trimmed.
fn v4(d: Dialect, t: &str) -> Parsed {
    let re = d.string(&format!("(?s)^{ws}*{}{ws}*(/([+]?[0-9]+))?{ws}*$", quad(), ws = super::sql::WS));
    let (octets_ok, value) = quad_value(t, &re, 1);
    let prefix = format!("regexp_extract({t}, {re}, 6)");
    let valid =
        format!("{} AND {octets_ok} AND ({prefix} = '' OR TRY_CAST({prefix} AS BIGINT) <= 32)", d.regex_match(t, &re));
    Parsed {
        addr: format!("CASE WHEN {valid} THEN {value} END"),
        bits: format!("CASE WHEN {valid} THEN coalesce(TRY_CAST(NULLIF({prefix}, '') AS BIGINT), 32) END"),
    }
}

/// `2^(width - bits)` as a `BIGINT`: what a prefix of `bits` divides by.
fn block(width: u32, bits: &str) -> String {
    format!("CAST(power(2, {width} - ({bits})) AS BIGINT)")
}

/// `addr` with the bits after the first `bits` cleared.
fn mask(addr: &str, bits: &str) -> String {
    let b = block(32, bits);
    format!("({addr} - {addr} % {b})")
}

/// `parse_ipv4` and the address `ipv4_is_in_range` and `ipv4_is_private`
/// read (`functions::parse_v4_masked`): the address masked by its prefix.
pub(super) fn v4_masked(p: &Parsed) -> String {
    mask(&p.addr, &p.bits)
}

/// `ipv4_is_private`: in 10/8, 172.16/12 or 192.168/16.
pub(super) fn v4_is_private(p: &Parsed) -> String {
    let m = v4_masked(p);
    format!(
        "({m} BETWEEN 167772160 AND 184549375 OR {m} BETWEEN 2886729728 AND 2887778303 OR {m} BETWEEN 3232235520 AND 3232301055)"
    )
}

/// `ipv4_is_in_range(ip, range)`.
pub(super) fn v4_is_in_range(ip: &Parsed, range: &Parsed) -> String {
    let m = v4_masked(ip);
    format!("({} = {})", mask(&m, &range.bits), mask(&range.addr, &range.bits))
}

/// `ipv4_is_in_any_range(ip, ranges)` over the merged inclusive spans.
pub(super) fn v4_is_in_spans(ip: &Parsed, spans: &[(u32, u32)]) -> String {
    let m = v4_masked(ip);
    if spans.is_empty() {
        // No range: false for an address, NULL for anything else.
        return format!("CASE WHEN {m} IS NOT NULL THEN FALSE END");
    }
    let tests: Vec<String> = spans.iter().map(|(a, b)| format!("{m} BETWEEN {a} AND {b}")).collect();
    format!("({})", tests.join(" OR "))
}

/// The prefix of a match or compare: the shortest of both addresses' and
/// the optional third argument's (clamped to `0..=width`, NULL meaning none).
fn shortest(width: u32, a: &str, b: &str, prefix: Option<&str>) -> String {
    let p = prefix.map_or(width.to_string(), |p| format!("coalesce(least(greatest({p}, 0), {width}), {width})"));
    format!("least({a}, {b}, {p})")
}

/// `ipv4_is_match` (`compare`: false) or `ipv4_compare`: the addresses
/// (unmasked, with their prefixes) over the shortest prefix.
pub(super) fn v4_match(a: &Parsed, b: &Parsed, prefix: Option<&str>, compare: bool) -> String {
    let bits = shortest(32, &a.bits, &b.bits, prefix);
    let (ma, mb) = (mask(&a.addr, &bits), mask(&b.addr, &bits));
    let null = format!("{} IS NULL OR {} IS NULL", a.addr, b.addr);
    if compare {
        format!("CASE WHEN {null} THEN NULL WHEN {ma} < {mb} THEN -1 WHEN {ma} > {mb} THEN 1 ELSE 0 END")
    } else {
        format!("CASE WHEN {null} THEN NULL ELSE {ma} = {mb} END")
    }
}

/// Four hex digits of a number below 65536.
fn hex(n: &str, digits: usize) -> String {
    format!("lpad(lower(hex({n})), {digits}, '0')")
}

/// The columns that parse column `col` (a string) as IPv4: `{col}__v4a`
/// and `{col}__v4b`, the address and prefix of [`v4`]; one stage.
pub(super) fn v4_stages(d: Dialect, col: &str) -> Vec<Vec<(String, String)>> {
    let p = v4(d, &d.ident(col));
    vec![vec![(format!("{col}__v4a"), p.addr), (format!("{col}__v4b"), p.bits)]]
}

/// The address and prefix of the IPv4 parse of column `col` (qualified
/// by `alias`), as [`v4_stages`] names them.
pub(super) fn v4_column(d: Dialect, alias: &str, col: &str) -> Parsed {
    let q = |n: &str| format!("{}.{}", d.ident(alias), d.ident(&format!("{col}__{n}")));
    Parsed { addr: q("v4a"), bits: q("v4b") }
}

/// A constant address: parsed here, by the engine's own parser.
pub(super) fn v4_literal(text: &str) -> Parsed {
    match crate::functions::parse_v4_range(text) {
        Some((ip, bits)) => Parsed { addr: ip.to_bits().to_string(), bits: bits.to_string() },
        None => Parsed { addr: "CAST(NULL AS BIGINT)".into(), bits: "CAST(NULL AS BIGINT)".into() },
    }
}

/// A constant IPv6 (or mapped IPv4) address: parsed here.
pub(super) fn v6_literal(d: Dialect, text: &str) -> Parsed {
    match crate::functions::parse_v6_prefix(text) {
        Some((ip, bits)) => Parsed { addr: format!("'{:032x}'", ip.to_bits()), bits: bits.to_string() },
        None => Parsed { addr: format!("CAST(NULL AS {})", d.text_type()), bits: "CAST(NULL AS BIGINT)".into() },
    }
}

/// The address and prefix of the IPv6 parse of column `col`, as
/// [`v6_stages`] names them.
pub(super) fn v6_column(d: Dialect, alias: &str, col: &str) -> Parsed {
    let q = |n: &str| format!("{}.{}", d.ident(alias), d.ident(&format!("{col}__{n}")));
    Parsed { addr: q("v6h"), bits: q("v6b") }
}

/// The columns that parse column `col` as `functions::parse_v6_prefix`
/// does (an IPv6 address, or IPv4 mapped, with an optional `/prefix`),
/// stage by stage so each expression names the previous ones instead of
/// repeating them: `{col}__v6h`, 32 hex digits, and `{col}__v6b`, the
/// prefix. The text is trimmed, then split at the first `/`; the address
/// is read as Rust's `IpAddr` parser reads it (one `::` for one or more
/// zero groups, groups of 1-4 hex digits, an IPv4 tail, no zone).
pub(super) fn v6_stages(d: Dialect, col: &str) -> Vec<Vec<(String, String)>> {
    let n = |s: &str| format!("{col}__v6{s}");
    let c = |s: &str| d.ident(&n(s));
    let (x, ip, slash, prefix) = (c("x"), c("ip"), c("sl"), c("pf"));
    let prefix_ok = |most: u32| {
        format!(
            "(NOT {slash} OR ({} AND TRY_CAST({prefix} AS BIGINT) <= {most}))",
            d.regex_match(&prefix, "'^[+]?[0-9]+$'")
        )
    };
    let prefix_or = |default: u32| format!("CASE WHEN {slash} THEN TRY_CAST({prefix} AS BIGINT) ELSE {default} END");

    // IPv4: mapped, its prefix plus 96.
    let v4_re = d.string(&format!("^{}$", quad()));
    let (v4_ok, v4_value) = quad_value(&ip, &v4_re, 1);
    // IPv6: an IPv4 tail becomes two groups; then `::` is expanded.
    let tail_re = d.string(&format!("^(.*:){}$", quad()));
    let (tail_ok, _) = quad_value(&ip, &tail_re, 2);
    let o = |i: usize| format!("CAST(NULLIF(regexp_extract({ip}, {tail_re}, {i}), '') AS BIGINT)");
    let groups = format!(
        "CASE WHEN {} THEN CASE WHEN {tail_ok} THEN regexp_extract({ip}, {tail_re}, 1) || {} || ':' || {} END ELSE {ip} END",
        d.regex_match(&ip, &tail_re),
        hex(&format!("({} * 256 + {})", o(2), o(3)), 4),
        hex(&format!("({} * 256 + {})", o(4), o(5)), 4),
    );
    const G: &str = "[0-9a-f]{1,4}";
    let run_re = d.string(&format!("^({G}(:{G})*)?$"));
    let full_re = d.string(&format!("^{G}(:{G}){{7}}$"));
    let (g, left, right, nl, nr, compressed) = (c("g"), c("l"), c("r"), c("nl"), c("nr"), c("c"));
    let count =
        |run: &str| format!("CASE WHEN {run} = '' THEN 0 ELSE length({run}) - length(replace({run}, ':', '')) + 1 END");
    let v6_ok = format!(
        "CASE WHEN {compressed} THEN {} AND {} AND {nl} + {nr} <= 7 ELSE {} END",
        d.regex_match(&left, &run_re),
        d.regex_match(&right, &run_re),
        d.regex_match(&g, &full_re)
    );
    let expanded = format!(
        "CASE WHEN {compressed} THEN regexp_extract(CASE WHEN {left} = '' THEN '' ELSE {left} || ':' END || repeat('0:', 8 - {nl} - {nr}) || {right}, '^(.*?):?$', 1) ELSE {g} END"
    );
    // Each group to 4 digits, then the digits alone.
    let padded = d.replace_all(&c("e"), "([0-9a-f]+)", "000", "");
    let v6_hex = d.replace_all(&padded, "[0-9a-f]*([0-9a-f]{4}):?", "", "");
    let (is_v4, is_v6) = (c("is4"), c("is6"));
    vec![
        vec![(n("x"), d.trim(&d.ident(col)))],
        vec![
            (n("ip"), format!("lower(regexp_extract({x}, '^([^/]*)', 1))")),
            (n("sl"), format!("({x} LIKE '%/%')")),
            (n("pf"), format!("regexp_extract({x}, '^[^/]*/(.*)$', 1)")),
        ],
        vec![
            (n("is4"), format!("({} AND {v4_ok} AND {})", d.regex_match(&ip, &v4_re), prefix_ok(32))),
            (n("v4"), v4_value),
            (n("g"), groups),
        ],
        vec![
            (n("l"), format!("regexp_extract({g}, '^(.*?)::', 1)")),
            (n("r"), format!("regexp_extract({g}, '::(.*)$', 1)")),
            (n("c"), format!("({g} LIKE '%::%')")),
        ],
        vec![(n("nl"), count(&left)), (n("nr"), count(&right))],
        vec![(n("is6"), format!("({ip} <> '' AND {v6_ok} AND {})", prefix_ok(128))), (n("e"), expanded)],
        vec![
            (
                n("h"),
                format!(
                    "CASE WHEN {is_v4} THEN ('00000000000000000000ffff' || {}) WHEN {is_v6} THEN {v6_hex} END",
                    hex(&c("v4"), 8)
                ),
            ),
            (n("b"), format!("CASE WHEN {is_v4} THEN {} + 96 WHEN {is_v6} THEN {} END", prefix_or(32), prefix_or(128))),
        ],
    ]
}

/// `ipv6_is_match` (`compare`: false) or `ipv6_compare` over the
/// shortest prefix.
pub(super) fn v6_match(d: Dialect, a: &Parsed, b: &Parsed, prefix: Option<&str>, compare: bool) -> String {
    let bits = shortest(128, &a.bits, &b.bits, prefix);
    let whole = d.int_div(&format!("({bits})"), "4");
    let part = format!("(({bits}) % 4)");
    let digit =
        |h: &str| d.int_div(&format!("(instr('0123456789abcdef', substr({h}, {whole} + 1, 1)) - 1)"), &block(4, &part));
    let (la, lb) = (format!("left({}, {whole})", a.addr), format!("left({}, {whole})", b.addr));
    let (da, db) = (digit(&a.addr), digit(&b.addr));
    let null = format!("{} IS NULL OR {} IS NULL", a.addr, b.addr);
    // A whole prefix (`bits % 4 = 0`) has no partial digit: both are 0.
    let (da, db) =
        (format!("CASE WHEN {part} = 0 THEN 0 ELSE {da} END"), format!("CASE WHEN {part} = 0 THEN 0 ELSE {db} END"));
    if compare {
        format!(
            "CASE WHEN {null} THEN NULL WHEN {la} < {lb} THEN -1 WHEN {la} > {lb} THEN 1 WHEN {da} < {db} THEN -1 WHEN {da} > {db} THEN 1 ELSE 0 END"
        )
    } else {
        format!("CASE WHEN {null} THEN NULL ELSE ({la} = {lb} AND {da} = {db}) END")
    }
}
