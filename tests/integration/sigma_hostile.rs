//! Hostile Sigma rules and hostile records for them. Rules arrive as pull
//! requests and logs are attacker-written: a malformed or hostile rule gets
//! a clear error at `file:line:col` and costs nothing else; no rule or record
//! makes the engine panic, hang, or grow without bound.
//!
//! Tests marked ` pin problems found and not fixed
//! yet: each runs the binary under a time and memory bound
//! ([`bounded`]), so that running them with `--ignored` reports a failure
//! instead of taking the machine down. The others pin behaviour that is
//! already right.

#![cfg(unix)]

use std::fs::File;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::Test;

/// A Sigma rule's head: `detection:` is on line 9, so the first line of
/// the detection body given to [`rule`] is line 10.
const HEAD: &str = "title: t\nid: 9d2c4b7e-5a13-4f6e-8b21-3c7d9e0f1a42\nstatus: test\nreferences: [x]\nfalsepositives: [x]\nlogsource:\n  product: azure\n  service: signinlogs\ndetection:\n";

/// A Sigma rule over `SigninLogs` (and `AADNonInteractiveUserSignInLogs`)
/// with `detection` as the body of `detection:`, indented two spaces.
fn rule(detection: &str) -> String {
    format!("{HEAD}{detection}level: medium\n")
}

fn signin(fields: Value) -> Value {
    let mut r = json!({"Type": "SigninLogs", "TimeGenerated": "2026-07-16T10:00:00Z"});
    r.as_object_mut().unwrap().extend(fields.as_object().unwrap().clone());
    r
}

/// What a bounded run of the binary did.
struct Bounded {
    /// None: killed by a signal (a stack overflow, an allocation refused
    /// under the memory bound, or the time bound).
    code: Option<i32>,
    stdout: String,
    stderr: String,
    elapsed: Duration,
    timed_out: bool,
}

impl Bounded {
    /// Finished in time, by itself, with an exit code (no crash).
    fn assert_finished(&self) -> &Bounded {
        assert!(!self.timed_out, "still running after {:?}; stderr:\n{}", self.elapsed, tail(&self.stderr));
        assert!(
            self.code.is_some(),
            "killed by a signal (stack overflow, or over the memory bound) after {:?}; stderr:\n{}",
            self.elapsed,
            tail(&self.stderr)
        );
        self
    }
}

fn tail(s: &str) -> &str {
    let cut = s.len().saturating_sub(2000);
    let cut = (cut..s.len()).find(|&i| s.is_char_boundary(i)).unwrap_or(s.len());
    &s[cut..]
}

/// Runs `sigcorr args` in the case's directory with at most `mem_mb` MiB of
/// address space (`ulimit -v`) and `secs` seconds of wall time; the output
/// goes to files, so a chatty run cannot block on a full pipe.
fn bounded(test: &Test, args: &[&str], secs: u64, mem_mb: u64) -> Bounded {
    let bin = assert_cmd::cargo::cargo_bin("sigcorr");
    let (out, err) = (test.path(".stdout"), test.path(".stderr"));
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {}; exec \"$0\" \"$@\"", mem_mb * 1024))
        .arg(&bin)
        .args(args)
        .current_dir(test.dir.path())
        .stdin(Stdio::null())
        .stdout(File::create(&out).unwrap())
        .stderr(File::create(&err).unwrap())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(secs) {
            timed_out = true;
            child.kill().unwrap();
            break child.wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let read = |p: &std::path::Path| String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).into_owned();
    Bounded { code: status.code(), stdout: read(&out), stderr: read(&err), elapsed: start.elapsed(), timed_out }
}

/// `lint r.yml` on `text`, bounded.
fn lint_bounded(text: &str, secs: u64, mem_mb: u64) -> Bounded {
    let t = Test::new().file("r.yml", text);
    bounded(&t, &["lint", "r.yml"], secs, mem_mb)
}

/// `lint r.yml`: (exit code, stdout).
fn lint(text: &str) -> (i32, String) {
    let run = Test::new().file("r.yml", text).args(["lint", "r.yml"]).run();
    (run.code, run.stdout)
}

// ---- already right: pinned ------------------------------------------------

/// 10,000 `or`s in one condition: refused at the first operator past the
/// limit, not a stack overflow.
#[test]
fn a_ten_thousand_term_condition_is_refused_at_the_operator_past_the_limit() {
    let chain = format!("selection{}", " or selection".repeat(10_000));
    let (code, out) = lint(&rule(&format!("  selection:\n    UserPrincipalName: x\n  condition: {chain}\n")));
    assert_eq!(code, 1, "{out}");
    // `  condition: ` is 13 columns; the 257th `or` is 10 + 13 * 256 bytes in.
    assert!(out.contains("r.yml:12:3352: error[E101]: more than 256 operators in one condition"), "{}", tail(&out));
}

#[test]
fn ten_thousand_nested_parentheses_are_refused_at_the_sixty_fifth() {
    let deep = format!("{}selection{}", "(".repeat(10_000), ")".repeat(10_000));
    let (code, out) = lint(&rule(&format!("  selection:\n    UserPrincipalName: x\n  condition: {deep}\n")));
    assert_eq!(code, 1);
    assert!(out.contains("r.yml:12:78: error[E101]: parentheses nested deeper than 64 levels"), "{}", tail(&out));
}

/// Ten levels of ten aliases (10^10 nodes once expanded): the YAML budget
/// refuses the file at a position, quickly and in little memory.
#[test]
fn a_billion_laughs_rule_is_refused_with_a_position() {
    let mut anchors = String::from("x:\n  a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        anchors.push_str(&format!("  a{i}: &a{i} [{refs}]\n"));
    }
    let text = format!("{anchors}{}", rule("  selection:\n    UserPrincipalName: *a9\n  condition: selection\n"));
    let run = lint_bounded(&text, 60, 1024);
    run.assert_finished();
    assert_eq!(run.code, Some(1));
    assert!(run.stdout.contains("error[E001]"), "{}", tail(&run.stdout));
    assert!(run.stdout.starts_with("r.yml:") && run.stdout.as_bytes()[6].is_ascii_digit(), "{}", tail(&run.stdout));
}

/// Six dash positions give 5^6 = 15,625 variants: refused at the value.
#[test]
fn windash_past_the_variant_cap_is_an_error_at_the_value() {
    let (code, out) =
        lint(&rule("  selection:\n    UserPrincipalName|windash: '-a -b -c -d -e -f'\n  condition: selection\n"));
    assert_eq!(code, 1);
    assert!(out.contains("r.yml:11:32: error[E112]: `windash` gives more than 4096 values"), "{out}");
}

#[test]
fn a_regex_past_the_size_limit_is_an_error_at_the_value() {
    let (code, out) =
        lint(&rule("  selection:\n    UserPrincipalName|re: '(a{1000}){1000}'\n  condition: selection\n"));
    assert_eq!(code, 1);
    assert!(out.contains("r.yml:11:27: error[E302]: invalid regex"), "{out}");
}

/// A record nested 10,000 deep is one malformed record; JSON text inside
/// JSON text inside ... twelve deep is still read through; the others alert.
#[test]
fn hostile_nesting_in_records_costs_only_the_record() {
    let r =
        rule("  selection:\n    AuthenticationDetails.authenticationMethod|contains: zzz\n  condition: selection\n");
    let plain = signin(json!({"AuthenticationDetails": "[{\"authenticationMethod\": \"zzz\"}]"}));
    let deep = format!(
        "{{\"Type\":\"SigninLogs\",\"TimeGenerated\":\"2026-07-16T10:00:00Z\",\"LocationDetails\":{}{}}}",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let mut nested = json!({"authenticationMethod": "zzz"});
    for _ in 0..12 {
        nested = Value::String(json!([nested]).to_string());
    }
    let nested = signin(json!({"AuthenticationDetails": nested}));
    let t = Test::new().file("r.yml", r).file("r.json", format!("{plain}\n{deep}\n{nested}\n"));
    let run = bounded(&t, &["run", "--rules", "r.yml", "r.json"], 60, 1024);
    run.assert_finished();
    assert_eq!(run.code, Some(3), "{}", tail(&run.stderr));
    assert!(run.stderr.contains("r.json:2: invalid JSON"), "{}", tail(&run.stderr));
    let evidence: Vec<String> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["evidence"]["event"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(evidence, ["r.json:1", "r.json:3"]);
}

// ---- crashes and unbounded growth -----------------------------------------

/// A `condition` list is or'ed into a left-deep tree as deep as the list is
/// long; `check` then recurses down it and overflows the stack (the process
/// aborts, every other rule with it). 1,000 items abort a debug build,
/// 10,000 a release one.
#[test]
fn a_long_condition_list_is_not_a_stack_overflow() {
    let items = "    - selection\n".repeat(10_000);
    let run = lint_bounded(&rule(&format!("  selection:\n    UserPrincipalName: x\n  condition:\n{items}")), 60, 2048);
    run.assert_finished();
    assert!(matches!(run.code, Some(0 | 1)), "{}", tail(&run.stderr));
}

/// `windash` materialises all 5^n variants of a value before it checks
/// them against MAX_VARIANTS: 11 dashes took 14 s and 5.8 GB (release),
/// 20 would take 5^20.
#[test]
fn windash_with_many_dashes_is_refused_before_it_is_expanded() {
    let dashes = vec!["-a"; 20].join(" ");
    let run = lint_bounded(
        &rule(&format!("  selection:\n    UserPrincipalName|windash: '{dashes}'\n  condition: selection\n")),
        10,
        1024,
    );
    run.assert_finished();
    assert!(run.stdout.contains("r.yml:11:32: error[E112]: `windash` gives more than 4096 values"), "{}", run.stdout);
}

/// `expand` builds the whole product of its placeholders' values before the
/// MAX_VARIANTS check: a 10-value placeholder used 7 times in one value
/// reached 12.7 GB in 2 minutes.
#[test]
fn expand_fan_out_is_refused_before_it_is_expanded() {
    let t = Test::new().file("p.yml", "p: [a, b, c, d, e, f, g, h, i, j]\n").file(
        "r.yml",
        rule("  selection:\n    UserPrincipalName|expand: '%p%%p%%p%%p%%p%%p%%p%%p%'\n  condition: selection\n"),
    );
    let run = bounded(&t, &["lint", "--placeholders", "p.yml", "r.yml"], 60, 1024);
    run.assert_finished();
    assert!(run.stdout.contains("r.yml:11:31: error[E112]: `expand` gives more than 4096 values"), "{}", run.stdout);
}

/// `base64` may repeat, and each one grows the value by a third: 64 of them
/// on an 8-byte value make a value of about 800 MB (70: 18 GB, killed).
#[test]
fn repeated_base64_is_bounded() {
    let chain = "|base64".repeat(64);
    let run = lint_bounded(
        &rule(&format!("  selection:\n    UserPrincipalName{chain}|contains: abcdefgh\n  condition: selection\n")),
        20,
        1024,
    );
    run.assert_finished();
    assert_eq!(run.code, Some(1), "{}", tail(&run.stdout));
    assert!(run.stdout.starts_with("r.yml:11:"), "{}", tail(&run.stdout));
}

/// Each regex (from `re`, or a value with `?`) is compiled with the regex
/// crate's default 10 MB limit, and there is no limit on their sum: 100
/// values `\w{100}vN` (3 KB of rule) take 800 MB, at lint and at run.
#[test]
fn many_regex_values_are_bounded_in_memory() {
    let values: String = (0..200).map(|i| format!("      - '\\w{{100}}v{i}'\n")).collect();
    let run = lint_bounded(
        &rule(&format!("  selection:\n    UserPrincipalName|re:\n{values}  condition: selection\n")),
        120,
        1024,
    );
    run.assert_finished();
}

/// "Did you mean" runs a full edit-distance matrix between the unknown name
/// and every candidate: two 20,000-character names (40 KB of rule) take
/// 3.2 GB; 200 unknown 1,000-character names against 300 selections ran
/// for minutes.
#[test]
fn did_you_mean_on_huge_names_is_bounded() {
    let n = 20_000;
    let text = rule(&format!("  ? s{}\n  : UserPrincipalName: x\n  condition: s{}\n", "a".repeat(n), "b".repeat(n)));
    let run = lint_bounded(&text, 60, 512);
    run.assert_finished();
    assert!(
        run.stdout.contains("r.yml:12:14: error[E113]: unknown selection"),
        "{}",
        &run.stdout[..300.min(run.stdout.len())]
    );
}

#[test]
fn many_unknown_long_names_are_bounded_in_time() {
    let selections: String =
        (0..300).map(|i| format!("  sel{}{i}:\n    UserPrincipalName: x\n", "a".repeat(1000))).collect();
    let condition = (0..200).map(|i| format!("q{}{i}", "b".repeat(1000))).collect::<Vec<_>>().join(" or ");
    let run = lint_bounded(&rule(&format!("{selections}  condition: {condition}\n")), 60, 1024);
    run.assert_finished();
    assert_eq!(run.code, Some(1));
}

/// A selection is lowered once and cloned into the filter at every use:
/// 20,000 values used 256 times (290 KB of rule) took 6.9 GB.
#[test]
fn reusing_a_big_selection_is_bounded_in_memory() {
    let values: String = (0..20_000).map(|i| format!("      - v{i}\n")).collect();
    let condition = vec!["selection"; 128].join(" or ");
    let run = lint_bounded(
        &rule(&format!("  selection:\n    UserPrincipalName|contains:\n{values}  condition: {condition}\n")),
        120,
        1024,
    );
    run.assert_finished();
    // Bounded: refused as too large (E116), at the use that crosses the limit.
    assert_eq!(run.code, Some(1), "{}", tail(&run.stdout));
    assert!(run.stdout.contains("error[E116]: the detection is too large"), "{}", tail(&run.stdout));
}

/// A keyword is one leaf per string or JSON column per value: 20,000
/// keywords (200 KB of rule) took 2.4 GB to lint, and 40 s to run over
/// three records.
#[test]
fn a_long_keyword_list_is_bounded_in_memory() {
    let keywords: String = (0..20_000).map(|i| format!("    - kw{i}\n")).collect();
    let run = lint_bounded(&rule(&format!("  keywords:\n{keywords}  condition: keywords\n")), 120, 1024);
    run.assert_finished();
    // Bounded either way: accepted, or refused as too large with its place.
    assert!(
        run.code == Some(0) || (run.code == Some(1) && run.stdout.contains("error[E116]: the detection is too large")),
        "{}",
        tail(&run.stdout)
    );
}

/// Each value of a field read through JSON is its own `Any`, so a record is
/// decoded and walked once per value: 1,000 values over three 1.2 MB
/// records took 29 s (release); an attacker's log sets the record size.
#[test]
fn a_value_list_on_a_json_path_reads_each_record_once() {
    let values: String = (0..1000).map(|i| format!("      - v{i}x\n")).collect();
    let r = rule(&format!(
        "  selection:\n    AuthenticationDetails.authenticationMethod|contains:\n{values}  condition: selection\n"
    ));
    let methods: Vec<Value> = (0..10_000).map(|i| json!({"authenticationMethod": format!("m{i}")})).collect();
    let record = signin(json!({"AuthenticationDetails": Value::Array(methods).to_string()}));
    let t = Test::new().file("r.yml", r).file("r.json", format!("{record}\n"));
    // 60 s: a debug build on a busy machine; one walk per value took minutes.
    let run = bounded(&t, &["run", "--rules", "r.yml", "r.json"], 60, 1024);
    run.assert_finished();
    assert_eq!(run.code, Some(0), "{}", tail(&run.stderr));
}

// ---- malformed rules accepted, or misreported -----------------------------

/// A key that is a list or a mapping (`? [a, b]`) is read as an empty field
/// name, i.e. as keywords: the value is searched in every column.
#[test]
fn a_complex_key_in_a_selection_is_an_error() {
    for key in ["? [a, b]", "? {a: b}"] {
        let (code, out) = lint(&rule(&format!("  selection:\n    {key}\n    : x\n  condition: selection\n")));
        assert_eq!(code, 1, "{key}: {out}");
        assert!(out.contains("r.yml:11:"), "{key}: {out}");
    }
}

/// `F|gt: null`, `F|cidr: null`, `F|contains: null`, `F|re: null` all
/// become `isempty(F)`: the modifier is dropped without a word.
#[test]
fn null_with_a_value_modifier_is_an_error() {
    for m in ["gt", "cidr", "contains", "re", "base64offset|contains", "fieldref", "windash"] {
        let (code, out) = lint(&rule(&format!("  selection:\n    UserPrincipalName|{m}: ~\n  condition: selection\n")));
        assert_eq!(code, 1, "|{m}: ~ was accepted: {out}");
        assert!(out.contains("r.yml:11:"), "{m}: {out}");
    }
}

/// `re|expand` passes the chain check, but the regex is used as written:
/// `%p%` stays literal, and an unknown placeholder is not reported.
#[test]
fn re_with_expand_expands_or_reports_the_placeholder() {
    let (code, out) =
        lint(&rule("  selection:\n    UserPrincipalName|re|expand: '^%nope%$'\n  condition: selection\n"));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("r.yml:11:34: error[E115]: no values for the placeholder `%nope%`"), "{out}");
}

/// Keyword modifiers: `'|fieldref'` is dropped (a plain keyword search),
/// and `'|cidr'` is refused naming `contains`, which the rule never wrote.
#[test]
fn keyword_modifiers_are_refused_for_what_they_are() {
    let (code, out) = lint(&rule("  selection:\n    '|fieldref': UserPrincipalName\n  condition: selection\n"));
    assert_eq!(code, 1, "'|fieldref' keywords were accepted: {out}");
    let (code, out) = lint(&rule("  selection:\n    '|cidr': 10.0.0.0/8\n  condition: selection\n"));
    assert_eq!(code, 1);
    assert!(!out.contains("`contains`"), "the rule has no `contains`: {out}");
}

/// A YAML error in the second document of a file loses the first, valid
/// one too; `run` then says "no rules were run".
#[test]
fn a_yaml_error_in_one_document_keeps_the_others() {
    let good = rule("  selection:\n    UserPrincipalName|contains: x\n  condition: selection\n");
    let bad = "title: t2\ntitle: dup\n";
    let record = signin(json!({"UserPrincipalName": "x@y"}));
    let t = Test::new().file("r.yml", format!("{good}---\n{bad}")).file("r.json", format!("{record}\n"));
    let run = bounded(&t, &["run", "--rules", "r.yml", "r.json"], 60, 1024);
    run.assert_finished();
    assert!(run.stderr.contains("r.yml:16:1: error[E002]"), "{}", run.stderr);
    assert_eq!(run.stdout.lines().count(), 1, "the first document still runs; stderr:\n{}", run.stderr);
}

/// YAML reads a lone `\r` as a line break; positions count only `\n`, so a
/// file saved with classic Mac line ends has every error on line 1.
#[test]
fn positions_count_lone_carriage_returns_as_line_breaks() {
    let text = rule("  selection:\n    UserPrincipalName: x\n  condition: selection and\n").replace('\n', "\r");
    let (code, out) = lint(&text);
    assert_eq!(code, 1);
    assert!(out.starts_with("r.yml:12:27: error[E101]"), "{}", &out[..200.min(out.len())]);
}

#[test]
fn a_nested_value_list_message_reads_right() {
    let (code, out) = lint(&rule("  selection:\n    UserPrincipalName: [[x]]\n  condition: selection\n"));
    assert_eq!(code, 1);
    assert!(out.contains("r.yml:11:25: error[E112]"), "{out}");
    assert!(!out.contains("a a list"), "{out}");
}

/// `F|: x`, `F||contains: x`: "unknown modifier ``, did you mean `i`?".
#[test]
fn an_empty_modifier_is_named_as_such() {
    for key in ["UserPrincipalName|", "UserPrincipalName||contains", "|"] {
        let (code, out) = lint(&rule(&format!("  selection:\n    '{key}': x\n  condition: selection\n")));
        assert_eq!(code, 1, "{key}: {out}");
        assert!(out.contains("r.yml:11:"), "{key}: {out}");
        assert!(!out.contains("unknown modifier ``") && !out.contains("did you mean `i`"), "{key}: {out}");
    }
}

/// The YAML budget's messages are Rust debug output, and an alias one ends
/// in a dangling `(used`: `budget breached: Nodes { nodes: 250001 } at line
/// 10, column 21 (defined at line 14, column 11) (used`.
#[test]
fn yaml_budget_messages_are_plain_sentences() {
    let docs = "---\n".repeat(2000);
    let mut anchors = String::from("x:\n  a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..8 {
        anchors.push_str(&format!("  a{i}: &a{i} [{}]\n", vec![format!("*a{}", i - 1); 10].join(", ")));
    }
    let deep = rule(&format!(
        "  selection:\n    UserPrincipalName: {}{}\n  condition: selection\n",
        "[".repeat(100),
        "]".repeat(100)
    ));
    for text in [docs, anchors, deep] {
        let (code, out) = lint(&text);
        assert_eq!(code, 1);
        let first = out.lines().next().unwrap();
        assert!(first.starts_with("r.yml:"), "{first}");
        assert!(!first.contains(" { ") && !first.ends_with("(used"), "{first}");
    }
}

/// A schema error quotes the whole offending value: one bad item at the end
/// of a 50,000-item condition list is a 600 KB message, pointed at the list
/// rather than at the item.
#[test]
fn a_schema_error_names_the_bad_item_briefly() {
    let items = "    - selection\n".repeat(50_000);
    let (code, out) = lint(&rule(&format!("  selection:\n    UserPrincipalName: x\n  condition:\n{items}    - 5\n")));
    assert_eq!(code, 1);
    assert!(out.len() < 10_000, "{} bytes of findings", out.len());
    assert!(out.contains("r.yml:50013:7:"), "{}", &out[..300.min(out.len())]);
}
