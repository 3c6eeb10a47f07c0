//! `sigcorr lint`: the corpus under `tests/lint/` (each file the shipped
//! T1528 rule with one mistake), every finding pinned with its code,
//! `line:col` and message, in human, JSON and SARIF output.

use serde::Deserialize;
use serde_json::Value;

use crate::common::{Run, Test, repo, rules_dir};

const T1528: &str = "rules/entra/service_principal_token_ip_mismatch.yml";

fn corpus(name: &str) -> String {
    let path = repo().join("tests/lint").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn shipped_t1528() -> String {
    std::fs::read_to_string(repo().join(T1528)).unwrap()
}

/// Lints corpus files copied into a temporary directory under their own
/// names, so that findings name `x.yml`; `extra` are more files to lint.
fn lint(names: &[&str], extra: &[(&str, String)], args: &[&str]) -> Run {
    let mut test = Test::new();
    for name in names {
        test = test.file(name, corpus(name));
    }
    for (name, text) in extra {
        test = test.file(name, text);
    }
    let paths = names.iter().copied().chain(extra.iter().map(|(n, _)| *n));
    test.args(["lint"]).args(args).args(paths).run()
}

/// One line of `--format json`.
#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct Finding {
    file: Option<String>,
    line: Option<usize>,
    column: Option<usize>,
    end_line: Option<usize>,
    end_column: Option<usize>,
    severity: String,
    code: String,
    name: String,
    message: String,
    help: Option<String>,
}

fn findings(run: &Run) -> Vec<Finding> {
    run.stdout.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a finding: {e}: {l}"))).collect()
}

/// `file:line:col code message` of each finding: what the tables below pin.
fn summary(findings: &[Finding]) -> Vec<String> {
    findings
        .iter()
        .map(|f| {
            format!("{}:{}:{} {} {}", f.file.as_deref().unwrap(), f.line.unwrap(), f.column.unwrap(), f.code, f.message)
        })
        .collect()
}

/// Each corpus file alone: every finding, in order.
const CASES: &[(&str, &[&str])] = &[
    ("yaml_syntax.yml", &["yaml_syntax.yml:41:9 E001 illegal placement of ':' indicator"]),
    ("duplicate_key.yml", &["duplicate_key.yml:33:1 E002 duplicate mapping key: level"]),
    ("empty.yml", &["empty.yml:1:1 E003 the rule file is empty"]),
    ("missing_title.yml", &["missing_title.yml:3:1 E010 missing `title`"]),
    ("invalid_level.yml", &["invalid_level.yml:32:8 E010 invalid `level` `severe`"]),
    ("invalid_status.yml", &["invalid_status.yml:5:9 E010 invalid `status` `beta`"]),
    ("invalid_id.yml", &["invalid_id.yml:4:5 E010 `id` `T1528-token-theft` is not a UUID"]),
    (
        "invalid_reference.yml",
        &["invalid_reference.yml:27:5 E010 `references[1]` `nicolasuter.medium.com` is not a URL"],
    ),
    ("wrong_type.yml", &["wrong_type.yml:29:7 E010 `tags` must be a list, found a string"]),
    (
        "source_type.yml",
        &[
            "source_type.yml:39:15 E010 source `activity` must be a table name or a list of table names (a union), found a mapping",
        ],
    ),
    ("unknown_key.yml", &["unknown_key.yml:47:3 E010 unknown key `mismatches` in `correlation`"]),
    ("misspelt_key.yml", &["misspelt_key.yml:48:3 E010 unknown key `outputs` in `correlation`"]),
    ("missing_output.yml", &["missing_output.yml:37:1 E010 missing `output` in `correlation`"]),
    ("expr_paren.yml", &["expr_paren.yml:43:34 E100 unclosed `(`"]),
    ("expr_literal_block.yml", &["expr_literal_block.yml:45:50 E100 unmatched `)`"]),
    (
        "expr_folded_block.yml",
        &[
            "expr_folded_block.yml:45:15 E100 unexpected `ResponseStatusCode`: expected an operator or end of expression",
        ],
    ),
    // Sigma detection rules (each a clean rule with one mistake).
    ("sigma_condition_syntax.yml", &["sigma_condition_syntax.yml:17:28 E101 unclosed `(`"]),
    ("sigma_unknown_modifier.yml", &["sigma_unknown_modifier.yml:14:5 E110 unknown modifier `contians`"]),
    (
        "sigma_modifier_combination.yml",
        &[
            "sigma_modifier_combination.yml:14:5 E111 `startswith` after `contains`: a value takes one of contains, startswith, endswith",
        ],
    ),
    (
        "sigma_modifier_value.yml",
        &[
            "sigma_modifier_value.yml:15:21 E112 `10.0.0.0/33` is not a CIDR range such as `10.0.0.0/8` or `2001:db8::/32`",
        ],
    ),
    ("sigma_unknown_selection.yml", &["sigma_unknown_selection.yml:15:32 E113 unknown selection `filter`"]),
    ("sigma_empty_selection.yml", &["sigma_empty_selection.yml:14:25 E114 the value list is empty"]),
    // `lint` is given no placeholders file, so every `expand` placeholder lacks values.
    ("sigma_placeholder.yml", &["sigma_placeholder.yml:15:31 E115 no values for the placeholder `%service_accounts%`"]),
    ("sigma_correlation.yml", &["sigma_correlation.yml:9:1 E120 `type: event_count` needs a `condition`"]),
    (
        "sigma_correlation_reference.yml",
        &[
            "sigma_correlation_reference.yml:12:7 E121 no rule has the id or name `5d3c2b1a-0f9e-4d8c-8b7a-6f5e4d3c2b1a`",
        ],
    ),
    (
        "sigma_correlation_field.yml",
        &[
            "sigma_correlation_field.yml:14:7 E122 field `UserPrincipalNme` matches no column of the tables of rule `scripted_signin`",
        ],
    ),
    ("unknown_table.yml", &["unknown_table.yml:39:15 E200 unknown table `MicrosoftGraphActivityLog`"]),
    ("unknown_source.yml", &["unknown_source.yml:45:5 E201 unknown source `signn`"]),
    ("unknown_source_in_expression.yml", &["unknown_source_in_expression.yml:47:13 E201 unknown source `signn`"]),
    (
        "unknown_column.yml",
        &[
            "unknown_column.yml:47:20 E202 unknown column `IPAdress` in table `AADServicePrincipalSignInLogs` or `AADManagedIdentitySignInLogs`",
        ],
    ),
    ("unknown_function.yml", &["unknown_function.yml:45:13 E203 unknown function `isnotempt`"]),
    ("arity.yml", &["arity.yml:45:13 E204 `isnotempty` takes 1 argument, got 2"]),
    ("unqualified.yml", &["unqualified.yml:47:13 E205 `IPAddress` does not say which source it reads"]),
    ("wrong_source.yml", &["wrong_source.yml:45:24 E206 the filter of `signin` reads source `activity`"]),
    (
        "sigma_no_logsource_table.yml",
        &[
            "sigma_no_logsource_table.yml:9:1 E210 no table for logsource `product: windows, category: process_creation`",
        ],
    ),
    (
        "type_datetime_string.yml",
        &["type_datetime_string.yml:43:15 E300 cannot compare a datetime with a string using `>`"],
    ),
    (
        "type_between_string.yml",
        &["type_between_string.yml:43:44 E300 `between` needs a number, datetime or timespan, this is a string"],
    ),
    (
        "type_ago.yml",
        &["type_ago.yml:43:35 E300 `ago` needs a timespan such as `30d` or `1h` as argument 1, this is a string"],
    ),
    ("not_boolean.yml", &["not_boolean.yml:45:13 E301 `filter` must be a boolean expression, this is a string"]),
    ("bad_regex.yml", &["bad_regex.yml:45:48 E302 invalid regex: unclosed group"]),
    (
        "let_list.yml",
        &["let_list.yml:39:22 E011 `let nat_pool`: missing-nat-pool.txt: No such file or directory (os error 2)"],
    ),
    // Join keys of incompatible types fail the `==` type check first.
    ("join_types.yml", &["join_types.yml:46:9 E400 join key types differ: string on the left, datetime on the right"]),
    ("missing_join.yml", &["missing_join.yml:37:1 E401 a rule with two sources needs a `join`"]),
    ("join_one_side.yml", &["join_one_side.yml:46:9 E402 this join key compares `activity` with itself"]),
    ("join_shape.yml", &["join_shape.yml:46:9 E403 a join is one or more `a.col == b.col` equalities joined by `and`"]),
    (
        "source_count.yml",
        &[
            "source_count.yml:37:1 E404 a rule reads one or two sources, this one declares 3",
            "source_count.yml:47:9 E403 a `join` needs two sources",
            "source_count.yml:48:13 E405 `mismatch` compares two joined sources; this rule has one",
        ],
    ),
    (
        "mismatch_without_join.yml",
        &["mismatch_without_join.yml:32:13 E405 `mismatch` compares two joined sources; this rule has one"],
    ),
    ("attack_tag.yml", &["attack_tag.yml:30:5 E502 invalid ATT&CK tag `attack.credential_access`"]),
    ("missing_falsepositives.yml", &["missing_falsepositives.yml:3:8 W503 the rule lists no `falsepositives`"]),
    ("missing_references.yml", &["missing_references.yml:3:8 W504 the rule lists no `references`"]),
    (
        "sigma_unused_selection.yml",
        &["sigma_unused_selection.yml:15:3 W510 selection `filter` is not used by the condition"],
    ),
    ("sigma_metadata.yml", &["sigma_metadata.yml:8:7 W511 `date` `2026/07/16` is not a date written YYYY-MM-DD"]),
    (
        "sigma_wildcard_only.yml",
        &["sigma_wildcard_only.yml:15:21 W512 this value is only wildcards: it matches any non-empty value"],
    ),
    (
        "sigma_unknown_triage_field.yml",
        &[
            "sigma_unknown_triage_field.yml:18:5 W513 field `IPAdress` in `fields` matches no column; alerts leave it out",
        ],
    ),
];

#[test]
fn each_corpus_file_has_its_findings_at_their_line_and_column() {
    let mut failures = Vec::new();
    for (name, want) in CASES {
        let run = lint(&[name], &[], &["--format", "json"]);
        let found = findings(&run);
        let got = summary(&found);
        if got != *want {
            failures.push(format!("{name}:\n  want {want:?}\n  got  {got:?}\n  stderr {}", run.stderr));
        }
        let errors = found.iter().any(|f| f.severity == "error");
        if run.code != if errors { 1 } else { 0 } {
            failures.push(format!("{name}: exit {} with errors={errors}", run.code));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_corpus_file_is_pinned() {
    let mut files: Vec<String> = std::fs::read_dir(repo().join("tests/lint"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yml"))
        .collect();
    files.sort();
    let mut pinned: Vec<String> = CASES.iter().map(|(n, _)| n.to_string()).collect();
    pinned.extend(["duplicate_id.yml".to_string(), "duplicate_title.yml".to_string()]);
    pinned.sort();
    assert_eq!(files, pinned);
}

#[test]
fn every_check_has_a_corpus_case() {
    // Codes no rule file can trigger: E600 is about table definitions (below);
    // E004, a file that is not UTF-8, is generated by its test
    // (hostile_cli::a_rule_file_that_is_not_text_is_reported_at_its_line).
    let mut covered: Vec<&str> =
        CASES.iter().flat_map(|(_, f)| f.iter()).map(|f| f.split(' ').nth(1).unwrap()).collect();
    covered.extend(["E500", "W501", "E600", "E004"]);
    // E116 needs a detection of millions of tests: sigma_hostile::reusing_a_big_selection_is_bounded_in_memory.
    covered.push("E116");
    // E7xx and E8xx belong to `sigcorr test` and `sigcorr compile`.
    let lint_codes = sigcorr::diagnostic::Code::ALL.iter().filter(|c| c.as_str()[1..] < *"700");
    for code in lint_codes {
        assert!(covered.contains(&code.as_str()), "no corpus case for {}", code.as_str());
    }
}

#[test]
fn json_findings_carry_end_position_severity_name_and_help() {
    let run = lint(&["unknown_column.yml"], &[], &["--format", "json"]);
    run.code(1);
    assert_eq!(
        findings(&run),
        vec![Finding {
            file: Some("unknown_column.yml".into()),
            line: Some(47),
            column: Some(20),
            end_line: Some(47),
            end_column: Some(28),
            severity: "error".into(),
            code: "E202".into(),
            name: "unknown-column".into(),
            message:
                "unknown column `IPAdress` in table `AADServicePrincipalSignInLogs` or `AADManagedIdentitySignInLogs`"
                    .into(),
            help: Some("did you mean `IPAddress`?".into()),
        }]
    );
}

#[test]
fn duplicate_id_and_title_across_files() {
    // The shipped rule first: each later file that reuses its id or title is flagged.
    let run = Test::new()
        .file("shipped.yml", shipped_t1528())
        .file("duplicate_id.yml", corpus("duplicate_id.yml"))
        .file("duplicate_title.yml", corpus("duplicate_title.yml"))
        .args(["lint", "--format", "json", "shipped.yml", "duplicate_id.yml", "duplicate_title.yml"])
        .run();
    run.code(1);
    let found = findings(&run);
    assert_eq!(
        summary(&found),
        [
            "duplicate_id.yml:4:5 E500 duplicate rule id `0428e609-07b8-42bf-a36b-d74e4e2be504`",
            "duplicate_title.yml:3:8 W501 duplicate title `Service principal access token used from an IP other than the one it was issued to`",
        ]
    );
    assert_eq!(
        found[0].help.as_deref(),
        Some("shipped.yml:3:5 has the same id; give each rule its own UUID, e.g. from `uuidgen`")
    );
    assert_eq!(found[1].help.as_deref(), Some("shipped.yml:2:8 has the same title; say what sets the two rules apart"));
    // A title reused without an id clash is only a warning.
    let run = Test::new()
        .file("shipped.yml", shipped_t1528())
        .file("duplicate_title.yml", corpus("duplicate_title.yml"))
        .args(["lint", "shipped.yml", "duplicate_title.yml"])
        .run();
    run.code(0);
}

/// The six mistakes the issue names, each in human, JSON and SARIF output.
const ACCEPTANCE: &[(&str, &str, usize, usize, &str)] = &[
    ("unknown_column.yml", "E202", 47, 20, "unknown column `IPAdress`"),
    ("expr_paren.yml", "E100", 43, 34, "unclosed `(`"),
    ("unknown_table.yml", "E200", 39, 15, "unknown table `MicrosoftGraphActivityLog`"),
    ("missing_title.yml", "E010", 3, 1, "missing `title`"),
    ("duplicate_key.yml", "E002", 33, 1, "duplicate mapping key: level"),
    ("invalid_level.yml", "E010", 32, 8, "invalid `level` `severe`"),
];

#[test]
fn acceptance_mistakes_exit_1_and_name_file_line_col_in_every_format() {
    for &(name, code, line, col, message) in ACCEPTANCE {
        let human = lint(&[name], &[], &[]);
        human.code(1);
        let first = human.stdout.lines().next().unwrap_or_default();
        assert!(first.starts_with(&format!("{name}:{line}:{col}: error[{code}]: {message}")), "{name}: {first}");
        assert!(human.stdout.contains(&format!("{line} | ")), "{name}: the source line is shown\n{}", human.stdout);

        let json = lint(&[name], &[], &["--format", "json"]);
        json.code(1);
        let f = &findings(&json)[0];
        assert_eq!((f.file.as_deref(), f.line, f.column, f.code.as_str()), (Some(name), Some(line), Some(col), code));

        let sarif = lint(&[name], &[], &["--format", "sarif"]);
        sarif.code(1);
        let log: Value = serde_json::from_str(&sarif.stdout).unwrap();
        let result = &log["runs"][0]["results"][0];
        assert_eq!(result["ruleId"], code, "{name}");
        assert_eq!(result["level"], "error", "{name}");
        let location = &result["locations"][0]["physicalLocation"];
        assert_eq!(location["artifactLocation"]["uri"], name);
        assert_eq!(location["region"]["startLine"], line, "{name}");
        assert_eq!(location["region"]["startColumn"], col, "{name}");
    }
}

fn sarif_validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(repo().join("tests/schemas/sarif-schema-2.1.0.json")).unwrap();
    let mut schema: Value = serde_json::from_str(&text).unwrap();
    // The official schema's `language` patterns (in `run` and `toolComponent`)
    // have a stray `]`, a literal in JavaScript's lenient regex syntax that
    // the crate's meta-schema check rejects; escaping it keeps the meaning.
    // Every `format` is checked.
    fn escape_stray_bracket(v: &mut Value, fixed: &mut usize) {
        match v {
            Value::Object(m) => {
                for (k, v) in m.iter_mut() {
                    if k == "pattern" && v == "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$" {
                        *v = Value::from(r"^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}\]?$");
                        *fixed += 1;
                    } else {
                        escape_stray_bracket(v, fixed);
                    }
                }
            }
            Value::Array(a) => a.iter_mut().for_each(|v| escape_stray_bracket(v, fixed)),
            _ => {}
        }
    }
    let mut fixed = 0;
    escape_stray_bracket(&mut schema, &mut fixed);
    assert_eq!(fixed, 2);
    jsonschema::draft7::options().should_validate_formats(true).build(&schema).expect("the SARIF schema compiles")
}

#[test]
fn sarif_output_validates_against_the_sarif_2_1_0_schema() {
    let validator = sarif_validator();
    // Every corpus file at once (all checks, warnings and errors), and a clean run.
    let names: Vec<&str> = CASES.iter().map(|(n, _)| *n).collect();
    let all = lint(&names, &[], &["--format", "sarif"]);
    all.code(1);
    let clean = Test::new().args(["lint", "--format", "sarif"]).args([rules_dir().to_str().unwrap()]).run();
    clean.code(0);
    for run in [&all, &clean] {
        let log: Value = serde_json::from_str(&run.stdout).unwrap();
        let errors: Vec<String> = validator.iter_errors(&log).map(|e| format!("{}: {e}", e.instance_path())).collect();
        assert!(errors.is_empty(), "SARIF schema violations:\n{}", errors.join("\n"));
    }
    let log: Value = serde_json::from_str(&all.stdout).unwrap();
    let results = log["runs"][0]["results"].as_array().unwrap();
    let json = findings(&lint(&names, &[], &["--format", "json"]));
    assert!(json.len() > CASES.len(), "{} findings", json.len());
    assert_eq!(results.len(), json.len(), "one result per finding, across all files");
    for (r, f) in results.iter().zip(&json) {
        assert_eq!(r["ruleId"], f.code);
        assert_eq!(r["locations"][0]["physicalLocation"]["region"]["startLine"], f.line.unwrap());
    }
    let rules = log["runs"][0]["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), sigcorr::diagnostic::Code::ALL.len());
    let w503 = rules.iter().find(|r| r["id"] == "W503").unwrap();
    assert_eq!(w503["name"], "missing-falsepositives");
    assert_eq!(w503["defaultConfiguration"]["level"], "warning");
    assert_eq!(w503["shortDescription"]["text"], "the rule does not list its false positives");
    let clean: Value = serde_json::from_str(&clean.stdout).unwrap();
    assert_eq!(clean["runs"][0]["results"], serde_json::json!([]));
}

#[test]
fn the_validator_rejects_broken_sarif() {
    // The schema test above can fail: a result without a message is invalid.
    let broken = serde_json::json!({
        "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "sigcorr"}}, "results": [{"ruleId": "E010"}]}]
    });
    assert!(!sarif_validator().is_valid(&broken));
}

#[test]
fn shipped_rules_lint_clean() {
    for args in [vec!["lint"], vec!["lint", "--deny", "warnings"]] {
        let run = Test::new().args(&args).args([rules_dir().to_str().unwrap()]).run();
        run.code(0);
        assert_eq!(run.stdout, "", "no findings");
        assert_eq!(
            run.stderr,
            "14 rule files: 12 sigcorr rules, 1 Sigma detection rule, 2 Sigma correlation rules; 0 errors, 0 warnings\n"
        );
    }
    // With no path: the rules built into the binary.
    let run = Test::new().args(["lint", "--format", "json"]).run();
    run.code(0);
    assert_eq!(run.stdout, "");
}

#[test]
fn deny_sets_the_severity_that_fails() {
    let warn = lint(&["missing_references.yml"], &[], &[]);
    warn.code(0);
    assert!(warn.stdout.starts_with("missing_references.yml:3:8: warning[W504]: the rule lists no `references`\n"));
    assert_eq!(warn.stderr, "1 rule file: 1 sigcorr rule; 0 errors, 1 warning\n");
    lint(&["missing_references.yml"], &[], &["--deny", "warnings"]).code(1);
    lint(&["missing_references.yml"], &[], &["--deny", "errors"]).code(0);
}

#[test]
fn all_files_are_linted_before_printing_in_file_order() {
    // Copies of one rule: besides each file's own mistake, the later copies
    // reuse the first one's id and title.
    let run = lint(&["unknown_table.yml", "invalid_level.yml", "missing_references.yml"], &[], &["--format", "json"]);
    run.code(1);
    let title = "Service principal access token used from an IP other than the one it was issued to";
    let id = "0428e609-07b8-42bf-a36b-d74e4e2be504";
    assert_eq!(
        summary(&findings(&run)),
        [
            "unknown_table.yml:39:15 E200 unknown table `MicrosoftGraphActivityLog`".to_string(),
            format!("invalid_level.yml:3:8 W501 duplicate title `{title}`"),
            format!("invalid_level.yml:4:5 E500 duplicate rule id `{id}`"),
            "invalid_level.yml:32:8 E010 invalid `level` `severe`".to_string(),
            format!("missing_references.yml:3:8 W501 duplicate title `{title}`"),
            "missing_references.yml:3:8 W504 the rule lists no `references`".to_string(),
            format!("missing_references.yml:4:5 E500 duplicate rule id `{id}`"),
        ]
    );
}

#[test]
fn metadata_errors_do_not_hide_expression_errors() {
    // Two mistakes in one file: an invalid level and a column typo. Both are reported.
    let text = corpus("unknown_column.yml").replace("level: high\n", "level: severe\n");
    let run = Test::new().file("r.yml", text).args(["lint", "--format", "json", "r.yml"]).run();
    run.code(1);
    assert_eq!(
        summary(&findings(&run)),
        [
            "r.yml:32:8 E010 invalid `level` `severe`",
            "r.yml:47:20 E202 unknown column `IPAdress` in table `AADServicePrincipalSignInLogs` or `AADManagedIdentitySignInLogs`",
        ]
    );
}

#[test]
fn usage_and_io_errors_exit_2() {
    let missing = Test::new().args(["lint", "nope.yml"]).run();
    missing.code(2);
    assert!(missing.stderr.starts_with("error: nope.yml: "), "{}", missing.stderr);
    Test::new().args(["lint", "--format", "xml"]).run().code(2);
    Test::new().args(["lint", "--deny", "everything"]).run().code(2);
    let empty = Test::new().file("rules/README.md", "no rules here").args(["lint", "rules"]).run();
    empty.code(2);
    assert_eq!(empty.stderr, "error: no rule files (`*.yml`, `*.yaml`) found\n");
    let tables = Test::new().file("tables/bad.yml", "columns: {}\n").args(["lint", "--tables", "tables"]).run();
    tables.code(2);
    assert!(tables.stderr.starts_with("tables/bad.yml:1:1: error[E600]: missing `table`"), "{}", tables.stderr);
}

#[test]
fn run_refuses_rules_with_lint_errors_and_prints_the_same_diagnostics() {
    for name in ["invalid_level.yml", "unknown_column.yml", "duplicate_key.yml"] {
        let linted = lint(&[name], &[], &[]);
        let run = Test::new()
            .file(name, corpus(name))
            .records("logs/a.json", &[serde_json::json!({"Type": "MicrosoftGraphActivityLogs"})])
            .args(["run", "--rules", name, "logs"])
            .run();
        run.code(2);
        assert!(run.stderr.starts_with(&linted.stdout), "{name}:\nlint:\n{}\nrun:\n{}", linted.stdout, run.stderr);
        assert!(run.stderr.ends_with("error: 1 rule error; no rules were run\n"), "{}", run.stderr);
    }
}

#[test]
fn tests_files_are_not_linted_as_rules() {
    // A tests file is checked as a tests file (E700), not as a rule (no schema errors).
    let run = Test::new()
        .file("rules/a.yml", shipped_t1528())
        .file("rules/a.tests.yml", "not: a rule\n")
        .args(["lint", "rules"])
        .run();
    run.code(1);
    assert!(
        run.stdout
            .starts_with("rules/a.tests.yml:1:1: error[E700]: a tests file is a list of test cases, found a mapping"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("E010"), "{}", run.stdout);
    assert_eq!(run.stderr, "1 rule file: 1 sigcorr rule; 1 error, 0 warnings\n");
}

#[test]
fn readme_check_table_matches_the_codes() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let section = readme.split("## `sigcorr lint`").nth(1).expect("README has a `sigcorr lint` section");
    let rows: Vec<&str> = section.lines().filter(|l| l.starts_with("| E") || l.starts_with("| W")).collect();
    let want: Vec<String> = sigcorr::diagnostic::Code::ALL
        .iter()
        .map(|c| format!("| {} | {} | `{}` | {} |", c.as_str(), c.severity().as_str(), c.name(), c.summary()))
        .collect();
    assert_eq!(rows, want, "README's check table and `Code::ALL` differ");
}

#[test]
fn tests_files_beside_rules_are_linted_too() {
    let tests =
        std::fs::read_to_string(rules_dir().join("entra/service_principal_token_ip_mismatch.tests.yml")).unwrap();
    let line = tests.lines().position(|l| l.contains("UniqueTokenIdentifier: uti-stolen, IPAddress:")).unwrap() + 1;
    let broken: String = tests
        .lines()
        .enumerate()
        .map(|(i, l)| if i + 1 == line { l.replacen("IPAddress:", "IPAdress:", 1) } else { l.to_string() } + "\n")
        .collect();
    let col = broken.lines().nth(line - 1).unwrap().find("IPAdress").unwrap() + 1;
    let run = Test::new()
        .file("rules/r.yml", shipped_t1528())
        .file("rules/r.tests.yml", broken)
        .args(["lint", "rules"])
        .run();
    run.code(1);
    assert!(
        run.stdout.contains(&format!(
            "rules/r.tests.yml:{line}:{col}: error[E702]: unknown column `IPAdress` in table `AADServicePrincipalSignInLogs`"
        )),
        "{}",
        run.stdout
    );
    // The shipped rules' own tests files lint clean (checked with the rules).
    Test::new().args(["lint", rules_dir().to_str().unwrap(), "--deny", "warnings"]).run().code(0);
}
