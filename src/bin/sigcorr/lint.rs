//! `sigcorr lint`: every problem in every rule, at `file:line:col`.

use std::path::PathBuf;

use sigcorr::diagnostic::Severity;
use sigcorr::lint;
use sigcorr::sigma::load::DocKind;

use crate::{exit, fail};

#[derive(clap::Args)]
pub struct LintArgs {
    /// How to print findings: for people, JSON lines, or SARIF 2.1.0 (GitHub code scanning).
    #[arg(long, value_enum, default_value_t = LintFormat::Human)]
    format: LintFormat,
    /// Exit 1 on findings of this severity or worse.
    #[arg(long, value_enum, default_value_t = Deny::Errors, value_name = "SEVERITY")]
    deny: Deny,
    /// Extra table definitions (`*.yml` files or directories), added to the built-in ones.
    #[arg(long = "tables", value_name = "PATH")]
    tables: Vec<PathBuf>,
    /// Values for Sigma `expand` placeholders: a YAML file mapping `name` to a list of values
    /// (repeatable; later files win).
    #[arg(long = "placeholders", value_name = "FILE")]
    placeholders: Vec<PathBuf>,
    /// Rule files or directories (searched recursively; `*.tests.yml` skipped). Default: the built-in rules.
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LintFormat {
    Human,
    Json,
    Sarif,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Deny {
    Warnings,
    Errors,
}

pub fn lint(args: LintArgs) -> u8 {
    let catalog = match crate::catalog(&args.tables, &args.placeholders) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let files = match sigcorr::read_rule_files(&args.paths) {
        Ok(f) => f,
        Err(e) => return fail(e),
    };
    if files.is_empty() {
        return fail("no rule files (`*.yml`, `*.yaml`) found");
    }
    let (findings, documents) = lint::lint_report(&files, &catalog);

    let text = match args.format {
        LintFormat::Human => findings.iter().map(|d| d.render()).collect::<Vec<_>>().join("\n"),
        LintFormat::Json => lint::json::render(&findings),
        LintFormat::Sarif => {
            let log = lint::sarif::log(&findings);
            serde_json::to_string_pretty(&log).expect("SARIF serialises") + "\n"
        }
    };
    // A closed pipe (`| head`) is not an error worth reporting; a write
    // that fails (a full disk) is: the report would be lost.
    if let Err(e) =
        crate::output::check_stdout().and_then(|()| crate::output::to_stdout(|w| w.write_all(text.as_bytes())))
    {
        return fail(e);
    }

    let errors = findings.iter().filter(|d| d.severity == Severity::Error).count();
    let warnings = findings.len() - errors;
    if matches!(args.format, LintFormat::Human) {
        let plural = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
        // What was read: each kind of rule, and how many of them errors refused.
        let kinds: Vec<String> = [DocKind::Sigcorr, DocKind::Detection, DocKind::Correlation]
            .iter()
            .filter_map(|&kind| {
                let of_kind: Vec<_> = documents.iter().filter(|d| d.kind == kind).collect();
                let refused = of_kind.iter().filter(|d| !d.accepted).count();
                (!of_kind.is_empty()).then(|| {
                    let refused = if refused > 0 { format!(" ({refused} refused)") } else { String::new() };
                    format!("{}{refused}", plural(of_kind.len(), kind.name()))
                })
            })
            .collect();
        let read = if kinds.is_empty() { String::new() } else { format!(": {}", kinds.join(", ")) };
        eprintln!(
            "{}{read}; {}, {}",
            plural(files.len(), "rule file"),
            plural(errors, "error"),
            plural(warnings, "warning")
        );
    }
    let threshold = match args.deny {
        Deny::Warnings => Severity::Warning,
        Deny::Errors => Severity::Error,
    };
    if findings.iter().any(|d| d.severity >= threshold) { exit::FINDINGS } else { exit::OK }
}
