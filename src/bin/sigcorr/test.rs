//! `sigcorr test`: run each rule's `<rule>.tests.yml` cases, report as text or JUnit XML.

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sigcorr::diagnostic::Diagnostic;
use sigcorr::ruletest::junit::{self, Suite};
use sigcorr::ruletest::{self, CaseResult, Verdict};
use sigcorr::span::SourceFile;

use crate::{exit, fail, print_diagnostics};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TestFormat {
    /// One line per case, and a diff of expected and produced alerts for each failure.
    Human,
    /// JUnit XML, for CI test reports.
    Junit,
}

#[derive(clap::Args)]
pub struct TestArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = TestFormat::Human)]
    format: TestFormat,
    /// Write the report to FILE instead of standard output (a one-line summary still goes to standard error).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
    /// Extra table definitions (`*.yml` files or directories), added to the built-in ones.
    #[arg(long = "tables", value_name = "PATH")]
    tables: Vec<PathBuf>,
    /// Values for Sigma `expand` placeholders: a YAML file mapping `name` to a list of values
    /// (repeatable; later files win).
    #[arg(long = "placeholders", value_name = "FILE")]
    placeholders: Vec<PathBuf>,
    /// Rule files, their `*.tests.yml`, or directories (searched recursively). Default: `./rules` if it
    /// exists, else the built-in rules with their built-in tests.
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
}

/// A rule file and its tests file, if it has one.
struct Pair {
    rule: Arc<SourceFile>,
    tests: Option<Arc<SourceFile>>,
    tests_path: String,
}

pub fn test(args: TestArgs) -> u8 {
    let catalog = match crate::catalog(&args.tables, &args.placeholders) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let pairs = match find(&args.paths) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };

    // Every rule file of the run compiled together, once, as `run` and `lint`
    // compile them: a correlation may reference a rule of another file, and a
    // name two files use is ambiguous here too.
    let files: Vec<Arc<SourceFile>> = pairs.iter().map(|p| p.rule.clone()).collect();
    let (rules, found) = sigcorr::compile_rules(&files, &catalog);
    let unwritten = sigcorr::correlate::unwritten(&rules);
    let all: Vec<&sigcorr::check::CheckedRule> = rules.iter().collect();

    let mut suites = Vec::new();
    let mut had_errors = false;
    for pair in &pairs {
        let Some(tests_file) = &pair.tests else {
            eprintln!("warning: {}: no tests ({} not found)", pair.rule.path().display(), pair.tests_path);
            continue;
        };
        let mut suite = Suite {
            rule: pair.rule.path().display().to_string(),
            title: String::new(),
            tests: pair.tests_path.clone(),
            results: Vec::new(),
            error: None,
        };
        // Only this file's errors: the others' are reported with their own tests.
        let rule_errors: Vec<Diagnostic> = found
            .iter()
            .filter(|d| d.is_error() && d.file.as_ref().is_some_and(|f| f.path() == pair.rule.path()))
            .cloned()
            .collect();
        // The rule under test: the file's one rule whose alerts are written
        // (a correlation, with the rules it references, is one).
        let own = |r: usize| rules[r].file().path() == pair.rule.path();
        let written: Vec<usize> = (0..rules.len()).filter(|&r| !unwritten[r] && own(r)).collect();
        if !rule_errors.is_empty() || written.len() != 1 {
            print_diagnostics(&rule_errors);
            suite.error = Some(if rule_errors.is_empty() {
                format!(
                    "the file holds {} rules that alert; a tests file tests a file of one rule (or of one correlation and the rules it references)",
                    written.len()
                )
            } else {
                format!("the rule has {} error(s); its tests were not run", rule_errors.len())
            });
            had_errors = true;
            suites.push(suite);
            continue;
        }
        let tested = written[0];
        suite.title = rules[tested].title().to_string();
        let loaded = match ruletest::load(tests_file) {
            Ok(t) => t,
            Err(errors) => {
                print_diagnostics(&errors);
                suite.error = Some(errors.iter().map(Diagnostic::render).collect());
                had_errors = true;
                suites.push(suite);
                continue;
            }
        };
        let findings = ruletest::validate(&loaded, &catalog, Some((&rules[tested], &all)));
        print_diagnostics(&findings);
        let errors: Vec<&Diagnostic> = findings.iter().filter(|d| d.is_error()).collect();
        if !errors.is_empty() {
            suite.error = Some(errors.iter().map(|d| d.render()).collect());
            had_errors = true;
            suites.push(suite);
            continue;
        }
        let plan = sigcorr::plan::plan(rules.clone(), &catalog);
        suite.results = ruletest::run(&plan, &loaded, tested);
        suites.push(suite);
    }

    let cases: usize = suites.iter().map(|s| s.results.len()).sum();
    if cases == 0 && !had_errors {
        return fail("no test cases found (each rule's cases go in `<rule>.tests.yml` next to it)");
    }

    // The report must not replace a file the command read.
    let mut protected = crate::output::Protected::default();
    for pair in &pairs {
        protected.add(pair.rule.path(), "a rule file");
        protected.add(Path::new(&pair.tests_path), "a tests file");
    }
    crate::output::protect_tables(&mut protected, &args.tables);
    let written = match &args.output {
        Some(path) => protected
            .check(path)
            .and_then(|()| create_parent(path))
            .and_then(|_| std::fs::File::create(path))
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))
            .and_then(|f| {
                let mut w = BufWriter::new(f);
                report(&mut w, args.format, &suites)?;
                w.flush()
            }),
        None => crate::output::check_stdout()
            .and_then(|()| crate::output::to_stdout(|w| report(w, args.format, &suites)))
            .map(|_| ()),
    };
    if let Err(e) = written {
        return fail(e);
    }
    if args.output.is_some() || args.format == TestFormat::Junit {
        eprintln!("{}", summary(&suites));
    }

    let failed = suites.iter().any(|s| s.failures() > 0);
    let errored = had_errors || suites.iter().any(|s| s.errors() > 0);
    if errored {
        exit::ERROR
    } else if failed {
        exit::FINDINGS
    } else {
        exit::OK
    }
}

/// Creates the directories a report file goes in (`-o reports/junit.xml`).
fn create_parent(path: &Path) -> io::Result<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::create_dir_all(dir),
        _ => Ok(()),
    }
}

/// The rules to test and their tests files.
fn find(paths: &[PathBuf]) -> io::Result<Vec<Pair>> {
    if paths.is_empty() {
        if Path::new("rules").is_dir() {
            return find(&[PathBuf::from("rules")]);
        }
        return Ok(sigcorr::builtin::RULES
            .iter()
            .map(|(path, text)| Pair {
                rule: SourceFile::new(*path, (*text).to_string()),
                tests: ruletest::builtin_tests(path),
                tests_path: ruletest::tests_path(Path::new(path)).display().to_string(),
            })
            .collect());
    }
    // A tests file stands for its rule.
    let rules: Vec<PathBuf> = paths.iter().map(|p| ruletest::rule_path(p).unwrap_or_else(|| p.clone())).collect();
    let mut pairs = Vec::new();
    for rule in sigcorr::read_rule_files(&rules)? {
        let tests_path = ruletest::tests_path(rule.path());
        let tests = match std::fs::read_to_string(&tests_path) {
            Ok(text) => Some(SourceFile::new(tests_path.clone(), text)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(io::Error::new(e.kind(), format!("{}: {e}", tests_path.display()))),
        };
        pairs.push(Pair { rule, tests, tests_path: tests_path.display().to_string() });
    }
    Ok(pairs)
}

fn report(out: &mut dyn Write, format: TestFormat, suites: &[Suite]) -> io::Result<()> {
    match format {
        TestFormat::Junit => junit::write(out, suites),
        TestFormat::Human => human(out, suites),
    }
}

fn human(out: &mut dyn Write, suites: &[Suite]) -> io::Result<()> {
    let mut failures: Vec<String> = Vec::new();
    for s in suites {
        writeln!(out, "{} ({} case{})", s.tests, s.results.len(), plural(s.results.len()))?;
        if let Some(e) = &s.error {
            writeln!(out, "  ERROR   {}", e.lines().next().unwrap_or(""))?;
            failures.push(format!("{}: (not run)", s.tests));
        }
        for r in &s.results {
            let status = match r.verdict {
                Verdict::Pass => "ok",
                Verdict::Fail(_) => "FAILED",
                Verdict::Error(_) => "ERROR",
            };
            writeln!(out, "  {status:<7} {}{}", r.name, tag(r))?;
            match &r.verdict {
                Verdict::Pass => {}
                Verdict::Fail(m) => {
                    writeln!(out, "          {}", m.summary())?;
                    for line in m.render().lines() {
                        writeln!(out, "          {line}")?;
                    }
                }
                Verdict::Error(e) => writeln!(out, "          {e}")?,
            }
            if !r.passed() {
                failures.push(format!("{}:{}: {}", s.tests, r.line, r.name));
            }
        }
    }
    if !failures.is_empty() {
        writeln!(out, "\nfailures:")?;
        for f in &failures {
            writeln!(out, "    {f}")?;
        }
    }
    writeln!(out, "\n{}", summary(suites))
}

fn tag(r: &CaseResult) -> &'static str {
    match (r.false_positive, r.false_negative) {
        (true, _) => " (known false positive)",
        (_, true) => " (known blind spot)",
        _ => "",
    }
}

fn summary(suites: &[Suite]) -> String {
    let cases: usize = suites.iter().map(|s| s.results.len()).sum();
    let passed: usize = suites.iter().flat_map(|s| &s.results).filter(|r| r.passed()).count();
    let failed: usize = suites.iter().map(Suite::failures).sum();
    let errors: usize = suites.iter().map(Suite::errors).sum();
    let ok = failed == 0 && errors == 0;
    format!(
        "test result: {}. {passed} passed; {failed} failed; {errors} error{} ({cases} case{} in {} rule{})",
        if ok { "ok" } else { "FAILED" },
        plural(errors),
        plural(cases),
        suites.len(),
        plural(suites.len())
    )
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
