//! `sigcorr test`: the shipped rules' tests pass, a mutated rule fails them
//! by name, the JUnit report is well-formed and counts, bad tests files are
//! located.

use std::path::Path;

use crate::common::{Run, Test, repo, rules_dir};

const T1528: &str = "entra/service_principal_token_ip_mismatch";

/// The number of cases in a tests file, counted from its text (each case starts `- name:`).
fn cases_in(path: &Path) -> usize {
    std::fs::read_to_string(path).unwrap().lines().filter(|l| l.starts_with("- name:")).count()
}

/// The cases of every tests file under `rules/`.
fn shipped_cases() -> usize {
    let mut n = 0;
    for dir in std::fs::read_dir(rules_dir()).unwrap() {
        let dir = dir.unwrap().path();
        for f in std::fs::read_dir(&dir).into_iter().flatten() {
            let f = f.unwrap().path();
            if f.to_string_lossy().ends_with(".tests.yml") {
                n += cases_in(&f);
            }
        }
    }
    n
}

/// A case directory holding a copy of the shipped T1528 rule and its tests,
/// the rule's text passed through `mutate`.
fn t1528_copy(mutate: impl Fn(&str) -> String) -> Test {
    let rule = std::fs::read_to_string(rules_dir().join(format!("{T1528}.yml"))).unwrap();
    let tests = std::fs::read_to_string(rules_dir().join(format!("{T1528}.tests.yml"))).unwrap();
    let mutated = mutate(&rule);
    assert_ne!(mutated, rule, "the mutation must change the rule");
    Test::new().file("rules/t1528.yml", mutated).file("rules/t1528.tests.yml", tests)
}

/// The JUnit report, parsed: (tests, failures, errors) from `<testsuites>`,
/// and the names of the test cases that have a `<failure>`.
struct Junit {
    tests: usize,
    failures: usize,
    errors: usize,
    testcases: usize,
    failed: Vec<String>,
}

fn junit(xml: &str) -> Junit {
    let doc = roxmltree::Document::parse(xml).unwrap_or_else(|e| panic!("not well-formed XML: {e}\n{xml}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let num = |n: roxmltree::Node, a: &str| -> usize { n.attribute(a).unwrap().parse().unwrap() };
    let suites: Vec<_> = root.children().filter(|n| n.has_tag_name("testsuite")).collect();
    let cases: Vec<_> = suites.iter().flat_map(|s| s.children().filter(|n| n.has_tag_name("testcase"))).collect();
    for s in &suites {
        let here = s.children().filter(|n| n.has_tag_name("testcase")).count();
        assert_eq!(num(*s, "tests"), here, "a suite's `tests` counts its testcases");
        let failing = s.descendants().filter(|n| n.has_tag_name("failure")).count();
        assert_eq!(num(*s, "failures"), failing, "a suite's `failures` counts its <failure>s");
    }
    let failed = cases
        .iter()
        .filter(|c| c.children().any(|n| n.has_tag_name("failure")))
        .map(|c| c.attribute("name").unwrap().to_string())
        .collect();
    Junit {
        tests: num(root, "tests"),
        failures: num(root, "failures"),
        errors: num(root, "errors"),
        testcases: cases.len(),
        failed,
    }
}

/// The case names on the human report's `failures:` list.
fn failures_listed(run: &Run) -> Vec<String> {
    run.stdout
        .split("\nfailures:\n")
        .nth(1)
        .unwrap_or("")
        .lines()
        .take_while(|l| !l.is_empty())
        .map(|l| l.trim().split_once(": ").map_or(l, |(_, name)| name).to_string())
        .collect()
}

#[test]
fn shipped_rule_tests_pass() {
    // What CI runs: the repository's rules directory, by path.
    let rules = rules_dir();
    let run = Test::new().args(["test", "--format", "junit", rules.to_str().unwrap()]).run();
    run.code(0);
    let j = junit(&run.stdout);
    assert_eq!((j.tests, j.failures, j.errors), (shipped_cases(), 0, 0));
    assert!(j.tests >= 21, "the T1528 tests cover the seed's cases: {}", j.tests);
    assert!(run.stderr.contains("test result: ok."), "{}", run.stderr);
}

#[test]
fn default_is_rules_dir_here_else_the_builtin_tests() {
    // In the repository: `./rules`.
    let mut cmd = assert_cmd::Command::cargo_bin("sigcorr").unwrap();
    let out = cmd.current_dir(repo()).arg("test").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains(&format!("rules/{T1528}.tests.yml ")), "{stdout}");
    assert!(stdout.contains(&format!("test result: ok. {} passed; 0 failed", shipped_cases())), "{stdout}");
    // Elsewhere: the tests built into the binary, the same cases.
    let run = Test::new().args(["test"]).run();
    run.code(0);
    assert!(run.stdout.contains(&format!("test result: ok. {} passed; 0 failed", shipped_cases())), "{}", run.stdout);
}

#[test]
fn equal_instead_of_not_equal_fails_the_firing_and_quiet_cases() {
    let t = t1528_copy(|r| {
        r.replace(
            "mismatch: signin.IPAddress != activity.IPAddress",
            "mismatch: signin.IPAddress == activity.IPAddress",
        )
    });
    let run = t.args(["test", "rules"]).run();
    run.code(1);
    let failed = failures_listed(&run);
    for name in [
        "stolen token replayed from another IP fires",
        "token used from the IP it was issued to is quiet",
        "NAT pool with two public IPs fires",
        "one sign-in joined by three foreign Graph calls raises three alerts",
        "status 100 fires",
        "status 300 fires",
    ] {
        assert!(failed.iter().any(|f| f == name), "`{name}` not among the failures: {failed:?}\n{}", run.stdout);
        assert!(run.stdout.contains(&format!("  FAILED  {name}")), "{}", run.stdout);
    }
    // Cases that are quiet for another reason still pass.
    for name in ["status 99 is quiet", "Graph call exactly 30 days before now is quiet"] {
        assert!(!failed.iter().any(|f| f == name), "{name} failed");
        assert!(run.stdout.contains(&format!("  ok      {name}")), "{}", run.stdout);
    }
    // The same-IP case shows the alert it did not expect.
    assert!(run.stdout.contains("expected 0 alerts, got 1"), "{}", run.stdout);
    assert!(run.stdout.contains("+ ActivityIPAddress: \"203.0.113.7\""), "{}", run.stdout);
    assert!(run.stdout.contains("test result: FAILED."), "{}", run.stdout);
}

#[test]
fn removing_the_sign_in_ip_guard_fails_the_managed_identity_case() {
    let t = t1528_copy(|r| r.replace("    signin: isnotempty(IPAddress)\n", ""));
    let run = t.args(["test", "--format", "junit", "rules"]).run();
    run.code(1);
    let j = junit(&run.stdout);
    assert_eq!(j.failed, ["managed-identity sign-in without an IP is quiet"]);
    assert_eq!(
        (j.tests, j.failures, j.errors, j.testcases),
        (cases_in(&rules_dir().join(format!("{T1528}.tests.yml"))), 1, 0, j.tests)
    );
    assert!(run.stdout.contains(r#"<failure message="expected 0 alerts, got 2""#), "{}", run.stdout);
}

#[test]
fn junit_report_to_a_file_escapes_markup() {
    let t = Test::new()
        .file(
            "rules/r.yml",
            std::fs::read_to_string(rules_dir().join("entra/application_credential_added_via_graph.yml")).unwrap(),
        )
        .file(
            "rules/r.tests.yml",
            concat!(
                "- name: \"<b>&'quoted' \\\"case\\\"\"\n",
                "  records:\n",
                "    MicrosoftGraphActivityLogs:\n",
                "      - {RequestMethod: POST, ResponseStatusCode: 200, UserAgent: \"a<b>&c\\u0001\",\n",
                "         RequestUri: \"https://graph.microsoft.com/v1.0/applications/1/addKey\"}\n",
                "  alerts: 0\n",
                "- name: passes\n",
                "  alerts: 0\n",
            ),
        );
    let t = t.args(["test", "--format", "junit", "-o", "out/report.xml", "rules/r.yml"]);
    let run = t.run();
    run.code(1);
    assert_eq!(run.stdout, "", "the report goes to the file");
    assert!(
        run.stderr.contains("test result: FAILED. 1 passed; 1 failed; 0 errors (2 cases in 1 rule)"),
        "{}",
        run.stderr
    );
    let xml = std::fs::read_to_string(t.path("out/report.xml")).unwrap();
    let j = junit(&xml);
    assert_eq!((j.tests, j.failures, j.errors), (2, 1, 0));
    assert_eq!(j.failed, ["<b>&'quoted' \"case\""]);
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let failure = doc.descendants().find(|n| n.has_tag_name("failure")).unwrap();
    assert!(failure.text().unwrap().contains("+ UserAgent: \"a<b>&c\\u0001\""), "{xml}");
}

#[test]
fn exact_expectations_show_a_field_diff_and_read_ndjson_files() {
    let t = t1528_copy(|r| r.replace("level: high", "level: critical"))
        .file(
            "rules/data/case.ndjson",
            concat!(
                r#"{"UniqueTokenIdentifier":"u1","IPAddress":"203.0.113.7","ServicePrincipalName":"sp"}"#,
                "\n"
            ),
        )
        .file(
            "rules/t1528.tests.yml",
            concat!(
                "- name: wrong activity IP\n",
                "  records:\n",
                "    AADServicePrincipalSignInLogs: {file: data/case.ndjson}\n",
                "    MicrosoftGraphActivityLogs:\n",
                "      - {TimeGenerated: \"2026-07-16T02:00:00Z\", SignInActivityId: u1, IPAddress: 198.51.100.9, ResponseStatusCode: 200}\n",
                "  expect:\n",
                "    - {TimeGenerated: \"2026-07-16T02:00:00Z\", ServicePrincipalName: sp, SigninInIPAddress: 203.0.113.7,\n",
                "       ActivityIPAddress: 198.51.100.10, ServicePrincipalId: \"\", ServicePrincipalCredentialKeyId: \"\",\n",
                "       RequestUri: \"\", RequestMethod: \"\"}\n",
            ),
        );
    let run = t.args(["test", "rules/t1528.tests.yml"]).run();
    run.code(1);
    let want = concat!(
        "  FAILED  wrong activity IP\n",
        "          1 expected alert not raised, 1 unexpected alert (expected 1, got 1)\n",
        "          expected alert differs from the produced one:\n",
        "              TimeGenerated: \"2026-07-16T02:00:00Z\"\n",
        "              ServicePrincipalName: \"sp\"\n",
        "              SigninInIPAddress: \"203.0.113.7\"\n",
        "            - ActivityIPAddress: \"198.51.100.10\"\n",
        "            + ActivityIPAddress: \"198.51.100.9\"\n",
        "              ServicePrincipalId: \"\"\n",
    );
    assert!(run.stdout.contains(want), "{}", run.stdout);
    assert!(run.stdout.contains("rules/t1528.tests.yml:1: wrong activity IP"), "{}", run.stdout);
}

#[test]
fn malformed_tests_files_are_located() {
    let rule = std::fs::read_to_string(rules_dir().join(format!("{T1528}.yml"))).unwrap();
    let run = Test::new()
        .file("rules/t1528.yml", &rule)
        .file(
            "rules/t1528.tests.yml",
            "- name: typo\n  records:\n    MicrosoftGraphActivityLogs:\n      - {IPAdress: 198.51.100.9}\n  alerts: 0\n",
        )
        .args(["test", "rules"])
        .run();
    run.code(2);
    assert!(
        run.stderr.contains(
            "rules/t1528.tests.yml:4:10: error[E702]: unknown column `IPAdress` in table `MicrosoftGraphActivityLogs`"
        ),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("= help: did you mean `IPAddress`?"), "{}", run.stderr);

    let run = Test::new()
        .file("rules/t1528.yml", &rule)
        .file("rules/t1528.tests.yml", "- name: broken\n  alerts: [0\n")
        .args(["test", "rules"])
        .run();
    run.code(2);
    assert!(run.stderr.contains("rules/t1528.tests.yml:2:"), "{}", run.stderr);
    assert!(run.stderr.contains("error[E001]"), "{}", run.stderr);

    let run = Test::new()
        .file("rules/t1528.yml", &rule)
        .file("rules/t1528.tests.yml", "- name: no expectation\n  records: {}\n")
        .args(["test", "--format", "junit", "rules"])
        .run();
    run.code(2);
    assert!(run.stderr.contains("rules/t1528.tests.yml:1:9: error[E700]"), "{}", run.stderr);
    let j = junit(&run.stdout);
    assert_eq!((j.failures, j.errors), (0, 1), "a tests file that does not load is an error in the report");
}

#[test]
fn rules_without_tests_are_warned_and_no_cases_is_an_error() {
    let rule = std::fs::read_to_string(rules_dir().join(format!("{T1528}.yml"))).unwrap();
    let run = Test::new().file("rules/t1528.yml", rule).args(["test", "rules"]).run();
    run.code(2);
    assert!(
        run.stderr.contains("warning: rules/t1528.yml: no tests (rules/t1528.tests.yml not found)"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("error: no test cases found"), "{}", run.stderr);
}
