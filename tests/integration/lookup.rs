//! `let` lists: reference data written in a rule or read from a file beside
//! it (lines, a JSON array, a service-tags download), used by `in` and
//! `ipv4_is_in_any_range`; unreadable lists are errors at their `file:`.

use serde_json::json;

use crate::common::Test;

/// A single-source rule over Graph activity with `lets` (the `let:` body)
/// and `filter`; it outputs the IP and the app id.
fn rule(lets: &str, filter: &str) -> String {
    format!(
        "title: allowlist\nid: 7d0c5e1a-0000-4000-8000-600000000001\nlevel: low\ncorrelation:\n  let:\n{lets}  sources:\n    a: MicrosoftGraphActivityLogs\n  filter:\n    a: '{filter}'\n  output:\n    IP: a.IPAddress\n    AppId: a.AppId\n"
    )
}

fn calls() -> Vec<serde_json::Value> {
    [
        ("203.0.113.9", "app-x"),
        ("192.0.2.1", "app-1"),
        ("192.0.2.1", "app-x"),
        ("198.51.100.7", "app-x"),
        ("20.40.1.2", "app-x"),
        ("not an address", "app-x"),
    ]
    .iter()
    .map(|(ip, app)| json!({"Type": "MicrosoftGraphActivityLogs", "IPAddress": ip, "AppId": app}))
    .collect()
}

/// The IPs of the alerts, in input order.
fn ips(t: Test) -> Vec<String> {
    let run = t.records("logs.json", &calls()).args(["run", "--rules", "rule.yml", "logs.json"]).run();
    run.code(0);
    run.alerts().iter().map(|a| a.fields["IP"].as_str().unwrap().to_string()).collect()
}

#[test]
fn inline_and_file_lists_filter_by_range_and_membership() {
    let lets = "    egress: [203.0.113.0/24, 198.51.100.7]\n    apps: {file: lists/apps.txt}\n";
    let t = Test::new()
        .file("rule.yml", rule(lets, "not(ipv4_is_in_any_range(IPAddress, egress)) and AppId !in (apps)"))
        .file("lists/apps.txt", "# known apps\napp-1\n\n  app-2  \n");
    // 203.0.113.9 and .7 are allowed ranges, app-1 a known app; the
    // unreadable address is null, so neither allowed nor alerted.
    assert_eq!(ips(t), ["192.0.2.1", "20.40.1.2"]);
}

#[test]
fn a_service_tags_download_is_its_address_prefixes() {
    let tags = json!({"changeNumber": 7, "cloud": "Public", "values": [
        {"name": "AzureCloud", "properties": {"addressPrefixes": ["20.32.0.0/11", "2603:1000::/25"]}},
        {"name": "Storage", "properties": {"addressPrefixes": ["203.0.113.0/24"]}},
    ]});
    let t = Test::new()
        .file(
            "rule.yml",
            rule("    azure: {file: ServiceTags_Public.json}\n", "not(ipv4_is_in_any_range(IPAddress, azure))"),
        )
        .file("ServiceTags_Public.json", tags.to_string());
    // The IPv6 prefix is passed over: no IPv4 address is in it.
    assert_eq!(ips(t), ["192.0.2.1", "192.0.2.1", "198.51.100.7"]);
}

#[test]
fn ten_thousand_ranges_are_one_lookup() {
    // 10,000 /28s of 10.0.0.0/8 and the documentation network 192.0.2.0/24.
    let mut lines: Vec<String> =
        (0..10_000u32).map(|i| format!("10.{}.{}.{}/28", i >> 12, (i >> 4) & 0xff, (i & 0xf) << 4)).collect();
    lines.push("192.0.2.0/24".into());
    let t = Test::new()
        .file("rule.yml", rule("    nets: {file: nets.txt}\n", "ipv4_is_in_any_range(IPAddress, nets)"))
        .file("nets.txt", lines.join("\n"));
    assert_eq!(ips(t), ["192.0.2.1", "192.0.2.1"]);
}

#[test]
fn unreadable_lists_are_errors_at_their_file() {
    let cases: [(&str, &str, &str); 4] = [
        ("    apps: {file: missing.txt}\n", "rule.yml:6:18: error[E011]: `let apps`: ", "missing.txt"),
        ("    apps: {file: bad.json}\n", "rule.yml:6:18: error[E011]: `let apps`: ", "not JSON"),
        ("    apps: {file: lists}\n", "rule.yml:6:18: error[E011]: `let apps`: ", "is not a regular file"),
        ("    apps: [a]\n    apps: [b]\n", "rule.yml:7:5: error[E002]", "apps"),
    ];
    for (lets, at, why) in cases {
        let run = Test::new()
            .file("rule.yml", rule(lets, "AppId in (apps)"))
            .file("bad.json", "[1,")
            .file("lists/x.txt", "x")
            .records("logs.json", &calls())
            .args(["run", "--rules", "rule.yml", "logs.json"])
            .run();
        run.code(2);
        assert!(run.stderr.starts_with(at) && run.stderr.contains(why), "want {at}..{why}\n{}", run.stderr);
    }
    // A range that does not parse is an error at it, not a silent null.
    let run = Test::new()
        .file("rule.yml", rule("    nets: [10.0.0.0/8, 10.0.0.0/33]\n", "ipv4_is_in_any_range(IPAddress, nets)"))
        .records("logs.json", &calls())
        .args(["run", "--rules", "rule.yml", "logs.json"])
        .run();
    run.code(2);
    assert!(run.stderr.contains("error[E300]: `10.0.0.0/33` is not an IPv4 address or CIDR range"), "{}", run.stderr);
}

#[test]
fn kql_inlines_the_lists() {
    let t = Test::new()
        .file(
            "rule.yml",
            rule(
                "    egress: [203.0.113.0/24]\n    apps: [app-1, app-2]\n",
                "not(ipv4_is_in_any_range(IPAddress, egress)) and AppId !in (apps)",
            ),
        )
        .args(["compile", "--target", "kql", "rule.yml"]);
    let run = t.run();
    run.code(0);
    assert!(
        run.stdout.contains("| where not(ipv4_is_in_any_range(IPAddress, dynamic([\"203.0.113.0/24\"])))\n"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("| where AppId !in (\"app-1\", \"app-2\")\n"), "{}", run.stdout);
}

#[test]
fn a_list_file_stays_inside_the_rule_directory() {
    // Rules arrive as pull requests: a `let` must not read other files into an
    // error message or a compiled query.
    for (file, why) in [
        ("/etc/hostname", "is not a path inside the rule's directory"),
        ("../outside.txt", "is not a path inside the rule's directory"),
        ("link.txt", "leads outside the rule's directory"),
    ] {
        let t = Test::new()
            .file("outside.txt", "x\n")
            .file("rules/rule.yml", rule(&format!("    apps: {{file: {file}}}\n"), "AppId in (apps)"));
        #[cfg(unix)]
        std::os::unix::fs::symlink(t.path("outside.txt"), t.path("rules/link.txt")).unwrap();
        let run = t.records("logs.json", &calls()).args(["run", "--rules", "rules/rule.yml", "logs.json"]).run();
        run.code(2);
        assert!(run.stderr.contains("error[E011]: `let apps`") && run.stderr.contains(why), "{file}: {}", run.stderr);
    }
}

#[test]
fn list_items_are_text_as_written_and_names_do_not_hide_columns() {
    // `NO` is Norway, not YAML 1.1's false; `007` keeps its zeros.
    let t = Test::new().file("rule.yml", rule("    apps: [NO, '007', app-x]\n", "AppId in (apps)"));
    let run = t
        .records(
            "logs.json",
            &[
                json!({"Type": "MicrosoftGraphActivityLogs", "IPAddress": "1.2.3.4", "AppId": "NO"}),
                json!({"Type": "MicrosoftGraphActivityLogs", "IPAddress": "1.2.3.5", "AppId": "false"}),
            ],
        )
        .args(["run", "--rules", "rule.yml", "logs.json"])
        .run();
    run.code(0);
    assert_eq!(run.alerts().iter().map(|a| a.fields["IP"].as_str().unwrap()).collect::<Vec<_>>(), ["1.2.3.4"]);
    let run = Test::new()
        .file("rule.yml", rule("    AppId: [x]\n", "AppId in (AppId)"))
        .records("logs.json", &calls())
        .args(["run", "--rules", "rule.yml", "logs.json"])
        .run();
    run.code(2);
    assert!(
        run.stderr.contains("error[E011]: `let AppId` has the name of a column of `MicrosoftGraphActivityLogs`"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_empty_list_holds_nothing() {
    let t = |filter: &str| Test::new().file("rule.yml", rule("    none: []\n", filter));
    assert_eq!(ips(t("AppId in (none)")), Vec::<String>::new());
    assert_eq!(ips(t("AppId !in (none)")).len(), calls().len());
    // The SQL targets get no `in ()`.
    let run = t("AppId !in (none)").args(["compile", "--target", "spark-sql", "rule.yml"]).run();
    run.code(0);
    assert!(!run.stdout.contains("IN ()"), "{}", run.stdout);
}
