//! Crate tests. Scenario checks re-parse the rendered output with serde_json
//! instead of asking the generator.

use super::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;

fn cfg(seed: u64, graph: usize, signins: usize, other: usize, shape: Shape) -> Config {
    Config { seed, graph, signins, now: DEFAULT_NOW_UNIX, shape, other_tables: other, crlf: false }
}

fn parse_lines(bytes: &[u8]) -> Vec<Value> {
    let text = std::str::from_utf8(bytes).expect("utf-8");
    assert!(text.is_empty() || text.ends_with('\n'), "last line unterminated");
    text.lines().map(|l| serde_json::from_str::<Value>(l.strip_suffix('\r').unwrap_or(l)).expect(l)).collect()
}

/// Parsed rows per Log Analytics table name.
fn parsed(ds: &Dataset) -> BTreeMap<Table, Vec<Value>> {
    render_all(ds).into_iter().map(|(t, b)| (t, parse_lines(&b))).collect()
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sigcorr-datagen-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    match v.get(k) {
        Some(Value::String(s)) => s,
        Some(Value::Null) | None => "",
        Some(other) => panic!("{k} is not a string: {other}"),
    }
}

fn is_ts7(t: &str) -> bool {
    let b = t.as_bytes();
    b.len() == 28
        && b[4] == b'-'
        && b[10] == b'T'
        && b[19] == b'.'
        && b[20..27].iter().all(u8::is_ascii_digit)
        && b[27] == b'Z'
}

#[test]
fn same_seed_is_byte_identical_and_different_seed_differs() {
    for shape in [Shape::LogAnalytics, Shape::Diagnostic] {
        let a = render_all(&generate(&cfg(7, 2000, 300, 50, shape)));
        let b = render_all(&generate(&cfg(7, 2000, 300, 50, shape)));
        assert_eq!(a, b);
        let c = render_all(&generate(&cfg(8, 2000, 300, 50, shape)));
        for t in Table::ALL {
            assert_ne!(a[&t], c[&t], "{t:?} identical for different seeds");
        }
    }
    let d1 = tmpdir("det1");
    let d2 = tmpdir("det2");
    let c = cfg(11, 3000, 1500, 40, Shape::Diagnostic);
    let s1 = write_split(&generate(&c), &d1).unwrap();
    let s2 = write_split(&generate(&c), &d2).unwrap();
    assert_eq!(s1.rows, s2.rows);
    for f in &s1.files {
        let name = f.file_name().unwrap();
        assert_eq!(std::fs::read(f).unwrap(), std::fs::read(d2.join(name)).unwrap());
    }
    let _ = std::fs::remove_dir_all(d1);
    let _ = std::fs::remove_dir_all(d2);
}

#[test]
fn parallel_writers_match_sequential_rendering() {
    // More than one chunk of units, so the threaded writer reorders chunks.
    let c = cfg(5, 4000, 1700, 120, Shape::LogAnalytics);
    let ds = generate(&c);
    assert!(ds.units() > 3 * 512);
    let seq = render_all(&ds);
    let dir = tmpdir("par");
    let sum = write_split(&ds, &dir).unwrap();
    for t in
        [Table::MicrosoftGraphActivityLogs, Table::AADServicePrincipalSignInLogs, Table::AADManagedIdentitySignInLogs]
    {
        assert_eq!(std::fs::read(dir.join(t.file_name())).unwrap(), seq[&t], "{t:?}");
        assert_eq!(sum.rows_of(t), parse_lines(&seq[&t]).len() as u64);
    }
    let other = std::fs::read(dir.join("Other.json")).unwrap();
    assert_eq!(
        parse_lines(&other).len(),
        parse_lines(&seq[&Table::SigninLogs]).len() + parse_lines(&seq[&Table::AuditLogs]).len()
    );
    // Mixed: every event once, in the order `events()` yields them.
    let all = dir.join("all.json");
    let msum = write_mixed(&ds, &all).unwrap();
    assert_eq!(msum.rows, sum.rows);
    let mut expect = Vec::new();
    for ev in ds.events() {
        render(&ev, c.shape, c.crlf, &mut expect);
    }
    assert_eq!(std::fs::read(&all).unwrap(), expect);
    let rows = parse_lines(&expect);
    let types: BTreeSet<&str> = rows.iter().map(|r| s(r, "Type")).collect();
    assert_eq!(types.len(), 5, "{types:?}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn exact_counts_and_degenerate_sizes() {
    for (g, si, o) in
        [(2000, 300, 50), (0, 0, 0), (5, 0, 3), (7, 1, 0), (0, 10, 2), (13, 19, 1), (1000, 20, 5), (30, 25, 0)]
    {
        let ds = generate(&cfg(3, g, si, o, Shape::LogAnalytics));
        let mut n = HashMap::new();
        for ev in ds.events() {
            *n.entry(ev.table()).or_insert(0usize) += 1;
        }
        let get = |t| n.get(&t).copied().unwrap_or(0);
        assert_eq!(get(Table::MicrosoftGraphActivityLogs), g, "{g} {si} {o}");
        assert_eq!(get(Table::SigninLogs) + get(Table::AuditLogs), o);
        let sign = get(Table::AADServicePrincipalSignInLogs) + get(Table::AADManagedIdentitySignInLogs);
        assert!(sign >= si && sign <= si * 4, "{sign} sign-in rows for {si} tokens");
    }
}

#[test]
fn log_analytics_rows_have_type_and_all_columns() {
    let c = cfg(7, 2000, 300, 60, Shape::LogAnalytics);
    let ds = generate(&c);
    let all = parsed(&ds);
    let int_cols =
        ["ResponseStatusCode", "DurationMs", "ResponseSizeBytes", "ClientAuthMethod", "AutonomousSystemNumber"];
    let ts_cols = ["TimeGenerated", "TokenIssuedAt", "CreatedDateTime", "ActivityDateTime"];
    for (t, rows) in &all {
        assert!(!rows.is_empty(), "{t:?}");
        let want: BTreeSet<&str> = t.columns().iter().copied().collect();
        assert_eq!(want.len(), t.columns().len());
        for r in rows {
            let obj = r.as_object().expect("object");
            assert_eq!(s(r, "Type"), t.name());
            let got: BTreeSet<&str> = obj.keys().map(String::as_str).collect();
            assert_eq!(got, want, "{t:?} columns");
            for (k, v) in obj {
                if int_cols.contains(&k.as_str()) {
                    assert!(v.is_i64(), "{t:?}.{k} = {v}");
                } else if ts_cols.contains(&k.as_str()) {
                    assert!(is_ts7(v.as_str().unwrap()), "{t:?}.{k} = {v}");
                } else {
                    assert!(v.is_string() || v.is_null(), "{t:?}.{k} = {v}");
                }
            }
        }
    }
    // Dynamic columns are JSON-encoded strings.
    for r in &all[&Table::AADServicePrincipalSignInLogs] {
        let ld: Value = serde_json::from_str(s(r, "LocationDetails")).unwrap();
        assert!(ld.is_object());
    }
    // Both "" and null occur for absent values.
    let g = &all[&Table::MicrosoftGraphActivityLogs];
    assert!(g.iter().any(|r| r["UserId"].is_null()));
    assert!(g.iter().any(|r| r["UserId"] == ""));
    // Sizes: Graph records are ~1.1-1.2 KB with every column present.
    let bytes = render_all(&ds);
    let graph = &bytes[&Table::MicrosoftGraphActivityLogs];
    let avg = graph.len() as f64 / g.len() as f64;
    assert!((900.0..=1300.0).contains(&avg), "average Graph record {avg} bytes");
    // LF only unless crlf.
    assert!(!graph.contains(&b'\r'));
}

#[test]
fn crlf_line_endings() {
    let mut c = cfg(7, 200, 30, 10, Shape::Diagnostic);
    c.crlf = true;
    for (_, b) in render_all(&generate(&c)) {
        let text = String::from_utf8(b).unwrap();
        assert!(text.ends_with("\r\n"));
        assert_eq!(text.matches('\n').count(), text.matches("\r\n").count());
        parse_lines(text.as_bytes());
    }
}

/// Column accessors of the hunt, per shape (from the README mapping).
fn hunt_fields(r: &Value, diag: bool) -> [(&'static str, Value); 8] {
    let get = |la: &str, path: &[&str]| -> Value {
        if diag {
            let mut v = r;
            for p in path {
                v = &v[*p];
            }
            v.clone()
        } else {
            r[la].clone()
        }
    };
    [
        ("TimeGenerated", get("TimeGenerated", &["properties", "timeGenerated"])),
        ("IPAddress", get("IPAddress", &["properties", "ipAddress"])),
        ("SignInActivityId", get("SignInActivityId", &["properties", "signInActivityId"])),
        ("ServicePrincipalId", get("ServicePrincipalId", &["properties", "servicePrincipalId"])),
        ("RequestUri", get("RequestUri", &["properties", "requestUri"])),
        ("RequestMethod", get("RequestMethod", &["properties", "requestMethod"])),
        ("ResponseStatusCode", get("ResponseStatusCode", &["properties", "responseStatusCode"])),
        ("UniqueTokenIdentifier", get("UniqueTokenIdentifier", &["properties", "uniqueTokenIdentifier"])),
    ]
}

fn signin_fields(r: &Value, diag: bool) -> [(&'static str, Value); 5] {
    let get = |la: &str, camel: &str| -> Value { if diag { r["properties"][camel].clone() } else { r[la].clone() } };
    [
        ("UniqueTokenIdentifier", get("UniqueTokenIdentifier", "uniqueTokenIdentifier")),
        ("IPAddress", get("IPAddress", "ipAddress")),
        ("ServicePrincipalName", get("ServicePrincipalName", "servicePrincipalName")),
        ("ServicePrincipalId", get("ServicePrincipalId", "servicePrincipalId")),
        ("ServicePrincipalCredentialKeyId", get("ServicePrincipalCredentialKeyId", "servicePrincipalCredentialKeyId")),
    ]
}

/// The shipped hunt over parsed rows of either shape; output rows as text.
fn hunt(graph: &[Value], signins: &[&Value], diag: bool, now: Ts) -> Vec<Vec<String>> {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    let mut right: HashMap<String, Vec<[String; 4]>> = HashMap::new();
    for r in signins {
        let f = signin_fields(r, diag);
        if text(&f[0].1).is_empty() {
            continue; // never join on an empty key
        }
        right.entry(text(&f[0].1)).or_default().push([text(&f[1].1), text(&f[2].1), text(&f[3].1), text(&f[4].1)]);
    }
    let cutoff = Ts(now.0 - 30 * time::TICKS_PER_DAY).format(Zone::Z);
    let mut out = Vec::new();
    for g in graph {
        let f = hunt_fields(g, diag);
        let tg = text(&f[0].1);
        let status = f[6].1.as_i64().unwrap();
        // Fixed-width 7-digit UTC text compares like the instant.
        if tg.as_str() <= cutoff.as_str() || !(100..=300).contains(&status) {
            continue;
        }
        let key = text(&f[2].1);
        if key.is_empty() {
            continue;
        }
        for [ip, name, _spid, keyid] in right.get(&key).into_iter().flatten() {
            let act = text(&f[1].1);
            if ip.is_empty() || *ip == act {
                continue;
            }
            out.push(vec![
                tg.clone(),
                name.clone(),
                ip.clone(),
                act,
                text(&f[3].1),
                keyid.clone(),
                text(&f[4].1),
                text(&f[5].1),
            ]);
        }
    }
    out.sort();
    out
}

#[test]
fn diagnostic_shape_carries_the_same_text_for_the_hunt_columns() {
    let la = parsed(&generate(&cfg(7, 2000, 300, 50, Shape::LogAnalytics)));
    let dg = parsed(&generate(&cfg(7, 2000, 300, 50, Shape::Diagnostic)));
    for t in Table::ALL {
        assert_eq!(la[&t].len(), dg[&t].len(), "{t:?}");
        for r in &dg[&t] {
            assert_eq!(s(r, "category"), t.category());
            for k in [
                "time",
                "resourceId",
                "tenantId",
                "operationName",
                "operationVersion",
                "category",
                "resultType",
                "resultSignature",
                "resultDescription",
                "durationMs",
                "callerIpAddress",
                "correlationId",
                "identity",
                "level",
                "location",
                "properties",
            ] {
                assert!(r.get(k).is_some(), "{t:?} envelope lacks {k}");
            }
        }
    }
    let g = Table::MicrosoftGraphActivityLogs;
    for (a, d) in la[&g].iter().zip(&dg[&g]) {
        let (fa, fd) = (hunt_fields(a, false), hunt_fields(d, true));
        for ((k, va), (_, vd)) in fa.iter().zip(fd.iter()).take(7) {
            assert_eq!(va, vd, "Graph {k}");
        }
        assert_eq!(d["time"], a["TimeGenerated"]);
        assert_eq!(d["callerIpAddress"], a["IPAddress"]);
        assert_eq!(s(d, "resultSignature"), a["ResponseStatusCode"].to_string());
        assert_eq!(d["durationMs"].as_str().unwrap(), a["DurationMs"].to_string());
    }
    for t in [Table::AADServicePrincipalSignInLogs, Table::AADManagedIdentitySignInLogs] {
        for (a, d) in la[&t].iter().zip(&dg[&t]) {
            for ((k, va), (_, vd)) in signin_fields(a, false).iter().zip(signin_fields(d, true).iter()) {
                assert_eq!(va, vd, "{t:?} {k}");
            }
            // createdDateTime is the same instant written with +00:00.
            let cd = d["properties"]["createdDateTime"].as_str().unwrap();
            assert_eq!(cd.replace("+00:00", "Z"), s(a, "TimeGenerated"));
            assert!(s(d, "time") >= s(a, "TimeGenerated"));
        }
    }
    // So the hunt gives identical alerts on both shapes, equal to the oracle.
    let now = Ts::from_unix_seconds(DEFAULT_NOW_UNIX);
    let sign = |m: &BTreeMap<Table, Vec<Value>>| -> Vec<Value> {
        m[&Table::AADServicePrincipalSignInLogs]
            .iter()
            .chain(&m[&Table::AADManagedIdentitySignInLogs])
            .cloned()
            .collect()
    };
    let (sla, sdg) = (sign(&la), sign(&dg));
    let h_la = hunt(&la[&g], &sla.iter().collect::<Vec<_>>(), false, now);
    let h_dg = hunt(&dg[&g], &sdg.iter().collect::<Vec<_>>(), true, now);
    assert!(!h_la.is_empty());
    assert_eq!(h_la, h_dg);
    let oracle: Vec<Vec<String>> = reference_alerts(&generate(&cfg(7, 2000, 300, 50, Shape::LogAnalytics)))
        .into_iter()
        .map(|a| {
            vec![
                a.time_generated,
                a.service_principal_name,
                a.signin_in_ip_address,
                a.activity_ip_address,
                a.service_principal_id,
                a.service_principal_credential_key_id,
                a.request_uri,
                a.request_method,
            ]
        })
        .collect();
    assert_eq!(h_la, oracle);
}

fn in_attacker_range(ip: &str) -> bool {
    ip.starts_with("185.220.") || ip.starts_with("45.155.") || ip.starts_with("2a0b:f4c0:")
}

#[test]
fn scenarios_occur_in_a_2000_record_dataset() {
    let c = cfg(7, 2000, 300, 50, Shape::LogAnalytics);
    let ds = generate(&c);
    let all = parsed(&ds);
    let graph = &all[&Table::MicrosoftGraphActivityLogs];
    let sp = &all[&Table::AADServicePrincipalSignInLogs];
    let mi = &all[&Table::AADManagedIdentitySignInLogs];
    assert_eq!(graph.len(), 2000);

    // uti -> sign-in rows (both tables).
    let mut by_uti: HashMap<&str, Vec<(&Value, bool)>> = HashMap::new();
    for r in sp {
        by_uti.entry(s(r, "UniqueTokenIdentifier")).or_default().push((r, false));
    }
    for r in mi {
        by_uti.entry(s(r, "UniqueTokenIdentifier")).or_default().push((r, true));
    }
    // Failed sign-ins carry no token: an engine that joined on empty keys
    // would pair them with the Graph calls that have no SignInActivityId.
    let failed: Vec<&Value> = sp.iter().filter(|r| s(r, "ResultType") != "0").collect();
    assert!(!failed.is_empty());
    assert!(failed.iter().all(|r| s(r, "UniqueTokenIdentifier").is_empty()));
    by_uti.remove("");
    for u in by_uti.keys() {
        assert_eq!(u.len(), 22, "uti {u}");
        assert!(u.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    }

    let mut stolen = 0;
    let mut nat = 0;
    let mut mi_joined = 0;
    let mut same_ip = 0;
    let mut mapped = 0;
    let mut dual = 0;
    let mut v6_same = 0;
    let mut no_signin = 0;
    let mut empty_key = 0;
    let mut null_key = 0;
    let mut per_token: HashMap<&str, usize> = HashMap::new();
    for g in graph {
        let key = s(g, "SignInActivityId");
        if key.is_empty() {
            if g["SignInActivityId"].is_null() {
                null_key += 1;
            } else {
                empty_key += 1;
            }
            continue;
        }
        let Some(rows) = by_uti.get(key) else {
            no_signin += 1;
            continue;
        };
        *per_token.entry(key).or_default() += 1;
        let (si, managed) = rows[0];
        let (sip, gip) = (s(si, "IPAddress"), s(g, "IPAddress"));
        if managed {
            assert!(sip.is_empty());
            mi_joined += 1;
        } else if sip == gip {
            same_ip += 1;
            if gip.contains(':') {
                v6_same += 1;
            }
        } else if in_attacker_range(gip) {
            stolen += 1;
        } else if sip.starts_with("51.") && gip.starts_with("51.") {
            assert_eq!(s(si, "ServicePrincipalId"), s(g, "ServicePrincipalId"));
            nat += 1;
        } else if gip == format!("::ffff:{sip}") {
            mapped += 1;
        } else if sip.contains(':') && !gip.contains(':') {
            dual += 1;
        }
    }
    let several = per_token.values().filter(|&&n| n >= 3).count();
    eprintln!(
        "stolen={stolen} nat={nat} mi={mi_joined} same={same_ip} mapped={mapped} dual={dual} v6={v6_same} \
         nosignin={no_signin} empty={empty_key} null={null_key} several={several}"
    );
    assert!(stolen >= 3, "stolen-token calls: {stolen}");
    assert!(nat >= 3, "NAT-pool calls: {nat}");
    assert!(mi_joined >= 10, "managed-identity calls: {mi_joined}");
    assert!(same_ip > 1000, "normal calls: {same_ip}");
    assert!(mapped >= 1 && dual >= 1 && v6_same >= 1);
    assert!(no_signin >= 20 && empty_key >= 5 && null_key >= 1);
    assert!(several >= 50);

    // Managed identities: sign-in IPAddress is "" (or null) in every row.
    assert!(mi.len() >= 20);
    assert!(mi.iter().all(|r| s(r, "IPAddress").is_empty()));
    assert!(mi.iter().any(|r| r["IPAddress"].is_null()));
    assert!(mi.iter().any(|r| r["IPAddress"] == ""));

    // Duplicate deliveries: identical sign-in rows.
    let mut seen = HashMap::new();
    for r in sp.iter().chain(mi) {
        *seen.entry(r.to_string()).or_insert(0) += 1;
    }
    assert!(seen.values().any(|&n| n >= 2), "no duplicate sign-in rows");

    // Case twins: utis equal ignoring case, different as bytes.
    let mut lower: HashMap<String, BTreeSet<&str>> = HashMap::new();
    for u in by_uti.keys() {
        lower.entry(u.to_ascii_lowercase()).or_default().insert(u);
    }
    assert!(lower.values().any(|v| v.len() >= 2), "no case-twin utis");

    // Time spread, boundaries, status codes.
    let now = Ts::from_unix_seconds(DEFAULT_NOW_UNIX);
    let cutoff = Ts(now.0 - 30 * time::TICKS_PER_DAY).format(Zone::Z);
    let oldest = Ts(now.0 - 46 * time::TICKS_PER_DAY).format(Zone::Z);
    let nowt = now.format(Zone::Z);
    let times: Vec<&str> = graph.iter().map(|g| s(g, "TimeGenerated")).collect();
    assert!(times.iter().all(|t| *t > oldest.as_str() && *t < nowt.as_str()));
    let old = times.iter().filter(|t| **t <= cutoff.as_str()).count();
    assert!(old > 300 && old < 1000, "{old} calls older than 30d");
    assert!(times.contains(&cutoff.as_str()), "no call exactly at now-30d");
    let codes: BTreeSet<i64> = graph.iter().map(|g| g["ResponseStatusCode"].as_i64().unwrap()).collect();
    for code in [99, 100, 200, 201, 204, 300, 301, 400, 401, 403, 404, 429, 500] {
        assert!(codes.contains(&code), "status {code} missing");
    }
    assert!(graph.iter().any(|g| s(g, "RequestUri").contains("/beta/")));
    assert!(graph.iter().any(|g| s(g, "RequestUri").contains("/v1.0/users/")));
    let methods: BTreeSet<&str> = graph.iter().map(|g| s(g, "RequestMethod")).collect();
    assert!(methods.len() >= 4, "{methods:?}");
    assert!(!all[&Table::SigninLogs].is_empty() && !all[&Table::AuditLogs].is_empty());
    // The other tables stay in range too, and SigninLogs shares utis with Graph.
    let mut user_utis: BTreeSet<&str> = all[&Table::SigninLogs].iter().map(|r| s(r, "UniqueTokenIdentifier")).collect();
    user_utis.remove("");
    assert!(graph.iter().any(|g| user_utis.contains(s(g, "SignInActivityId"))));

    // The reference hunt sees the boundaries the way Kusto does.
    let alerts = reference_alerts(&ds);
    assert!(!alerts.iter().any(|a| a.time_generated == cutoff));
    let just_after = Ts(now.0 - 30 * time::TICKS_PER_DAY + 1).format(Zone::Z);
    assert!(alerts.iter().any(|a| a.time_generated == just_after));
    assert!(alerts.iter().all(|a| !a.signin_in_ip_address.is_empty()));
}

#[test]
fn chronological_ish_order() {
    let ds = generate(&cfg(9, 5000, 800, 100, Shape::LogAnalytics));
    let times: Vec<i64> = ds.events().map(|e| e.time().0).collect();
    let mut max = i64::MIN;
    for t in &times {
        // Never more than ~2 hours behind the latest record so far.
        assert!(
            *t > max.saturating_sub(2 * time::TICKS_PER_HOUR),
            "{} after {}",
            Ts(*t).format(Zone::Z),
            Ts(max).format(Zone::Z)
        );
        max = max.max(*t);
    }
}

#[test]
fn expected_alert_lines_are_json() {
    let ds = generate(&cfg(7, 240, 60, 20, Shape::LogAnalytics));
    let alerts = reference_alerts(&ds);
    assert!(!alerts.is_empty());
    for a in &alerts {
        let v: Value = serde_json::from_str(&a.to_json_line()).unwrap();
        let obj = v.as_object().unwrap();
        assert_eq!(obj.keys().map(String::as_str).collect::<Vec<_>>(), {
            let mut k = Alert::COLUMNS.to_vec();
            k.sort();
            k
        });
        assert_eq!(s(&v, "RequestUri"), a.request_uri);
    }
}

fn at_path<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(v, |v, k| v.get(k))
}

#[test]
fn diagnostic_path_table_holds_on_generated_data() {
    let la = parsed(&generate(&cfg(21, 3000, 400, 100, Shape::LogAnalytics)));
    let dg = parsed(&generate(&cfg(21, 3000, 400, 100, Shape::Diagnostic)));
    for t in Table::ALL {
        let maps = t.diagnostic_paths();
        let cols: Vec<&str> = maps.iter().map(|m| m.column).collect();
        assert_eq!(cols, t.columns(), "{t:?}");
        assert_eq!(la[&t].len(), dg[&t].len());
        for (a, d) in la[&t].iter().zip(&dg[&t]) {
            for m in &maps {
                let lv = &a[m.column];
                match (m.kind, m.path) {
                    (MapKind::None, None) => {}
                    (MapKind::Same, Some(p)) => {
                        assert_eq!(at_path(d, p), Some(lv), "{t:?} {} -> {p}", m.column)
                    }
                    (MapKind::Json, Some(p)) => {
                        let parsed: Value = serde_json::from_str(lv.as_str().unwrap()).unwrap();
                        assert_eq!(at_path(d, p), Some(&parsed), "{t:?} {} -> {p}", m.column)
                    }
                    (MapKind::Loose, Some(p)) => {
                        assert!(at_path(d, p).is_some(), "{t:?} {} -> {p}", m.column)
                    }
                    _ => panic!("bad mapping {m:?}"),
                }
            }
        }
    }
}

#[test]
fn readme_carries_the_mapping_table() {
    let readme = include_str!("../README.md");
    assert!(
        readme.contains(&mapping::markdown()),
        "README.md is out of date: paste mapping::markdown() (cargo test -p sigcorr-datagen -- --ignored print_mapping --nocapture)"
    );
}

#[test]
#[ignore]
fn print_mapping() {
    print!("{}", mapping::markdown());
}

#[test]
fn committed_sample_is_reproducible() {
    // samples/README.md documents this exact command; regenerate the sample
    // (and its expected alerts) when the generator changes.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples");
    let dir = root.join("entra");
    if !dir.is_dir() {
        return;
    }
    let c = Config {
        seed: 7,
        graph: 240,
        signins: 60,
        now: parse_utc_seconds("2026-07-16T12:00:00Z").unwrap(),
        shape: Shape::LogAnalytics,
        other_tables: 20,
        crlf: false,
    };
    let ds = generate(&c);
    let bufs = render_all(&ds);
    for t in
        [Table::MicrosoftGraphActivityLogs, Table::AADServicePrincipalSignInLogs, Table::AADManagedIdentitySignInLogs]
    {
        let committed = std::fs::read(dir.join(t.file_name())).unwrap();
        assert!(committed == bufs[&t], "samples/entra/{} is stale", t.file_name());
    }
    let mut expected = String::new();
    for a in reference_alerts(&ds) {
        expected.push_str(&a.to_json_line());
        expected.push('\n');
    }
    let committed = std::fs::read_to_string(root.join("entra.expected-alerts.ndjson")).unwrap();
    assert!(committed == expected, "samples/entra.expected-alerts.ndjson is stale");
}
