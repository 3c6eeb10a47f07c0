//! `sigcorr compile`: rules to KQL, a Sentinel analytics rule, Spark SQL,
//! DuckDB SQL or a PySpark job.

use std::path::PathBuf;

use sigcorr::compile::{Options, Target};
use sigcorr::diagnostic::Diagnostic;

use crate::{exit, fail, print_diagnostics};

#[derive(clap::Args)]
pub struct CompileArgs {
    /// The query language to compile to.
    #[arg(long, value_parser = crate::choice(&Target::ALL))]
    target: Target,
    #[command(flatten)]
    set: crate::RuleSet,
    /// Fix the time `now()` and `ago()` use, RFC 3339 (default: the target engine's current time).
    #[arg(long, value_name = "RFC3339")]
    now: Option<String>,
    /// duckdb only: read the NDJSON files under DIR (Log Analytics rows, routed by `Type`).
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Rules to compile: rule files, or the id or title of a loaded rule. Default: every loaded rule.
    #[arg(value_name = "RULE")]
    select: Vec<String>,
}

pub fn compile(args: CompileArgs) -> u8 {
    if args.data.is_some() && args.target != Target::Duckdb {
        return fail(format!("--data reads files with DuckDB; it does not apply to --target {}", args.target.name()));
    }
    if let Some(dir) = &args.data
        && !dir.is_dir()
    {
        return fail(format!("--data {}: not a directory", dir.display()));
    }
    if args.now.is_some() && args.target == Target::Sentinel {
        return fail(
            "--now does not apply to --target sentinel: a scheduled rule runs relative to Sentinel's current time",
        );
    }
    let now = match crate::now_arg(args.now.as_deref()) {
        Ok(now) => now,
        Err(code) => return code,
    };
    let catalog = match crate::catalog(&args.set.tables, &args.set.placeholders) {
        Ok(c) => c,
        Err(code) => return code,
    };

    // RULE arguments that are files are compiled; the others select loaded rules.
    let (file_args, names): (Vec<String>, Vec<String>) =
        args.select.iter().cloned().partition(|s| std::path::Path::new(s).is_file());
    let file_args: Vec<PathBuf> = file_args.into_iter().map(PathBuf::from).collect();
    let mut files = Vec::new();
    if !args.set.rules.is_empty() || file_args.is_empty() {
        match sigcorr::read_rule_files(&args.set.rules) {
            Ok(f) => files.extend(f),
            Err(e) => return fail(e),
        }
    }
    if !file_args.is_empty() {
        match sigcorr::read_rule_files(&file_args) {
            Ok(f) => files.extend(f),
            Err(e) => return fail(e),
        }
    }
    let (rules, diagnostics) = sigcorr::compile_rules(&files, &catalog);
    let errors: Vec<Diagnostic> = diagnostics.into_iter().filter(|d| d.is_error()).collect();
    if !errors.is_empty() {
        print_diagnostics(&errors);
        eprintln!(
            "error: {} rule error{}; nothing was compiled",
            errors.len(),
            if errors.len() == 1 { "" } else { "s" }
        );
        return exit::ERROR;
    }

    let mut selected = Vec::new();
    for rule in &rules {
        let from_file = file_args.iter().any(|f| f.as_path() == rule.file().path());
        let named = names.iter().any(|n| n == rule.id() || n == rule.title());
        if (file_args.is_empty() && names.is_empty()) || from_file || named {
            selected.push(rule);
        }
    }
    for n in &names {
        if !rules.iter().any(|r| n == r.id() || n == r.title()) {
            let known: Vec<String> = rules.iter().map(|r| format!("  {}  {}", r.id(), r.title())).collect();
            return fail(format!(
                "`{n}` is neither a rule file nor the id or title of a loaded rule; loaded:\n{}",
                known.join("\n")
            ));
        }
    }
    if selected.is_empty() {
        return fail("no rules to compile");
    }

    let opts =
        Options { catalog: &catalog, now, data: args.data.clone(), rules: &rules, evidence: false, views: false };
    let mut outputs = Vec::new();
    let mut errors = Vec::new();
    if args.target == Target::Pyspark {
        // One job runs them all.
        match sigcorr::compile::pyspark::job(&rules, &selected, &opts) {
            Ok(text) => outputs.push(text),
            Err(d) => errors = d,
        }
    } else {
        for rule in selected {
            match sigcorr::compile::compile(rule, args.target, &opts) {
                Ok(text) => outputs.push(text),
                Err(d) => errors.push(d),
            }
        }
    }
    if !errors.is_empty() {
        print_diagnostics(&errors);
        eprintln!(
            "error: {} construct{} cannot be compiled to {}; nothing was printed",
            errors.len(),
            if errors.len() == 1 { "" } else { "s" },
            args.target.name()
        );
        return exit::ERROR;
    }
    // One document per rule: YAML documents for Sentinel, statements otherwise.
    let separator = if args.target == Target::Sentinel { "---\n" } else { "\n" };
    let text = outputs.join(separator);
    match crate::output::check_stdout().and_then(|()| crate::output::to_stdout(|w| w.write_all(text.as_bytes()))) {
        Err(e) => fail(e),
        Ok(_) => exit::OK,
    }
}
