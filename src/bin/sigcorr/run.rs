//! `sigcorr run`: rules over log files, alerts out.

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

use sigcorr::diagnostic::Diagnostic;
use sigcorr::emit::{self, Format};
use sigcorr::engine::Outcome;
use sigcorr::input::InputFile;

use crate::{exit, fail, print_diagnostics};

#[derive(clap::Args)]
pub struct RunArgs {
    /// Rule files or directories (repeatable). Default: the built-in rules.
    #[arg(long = "rules", value_name = "PATH")]
    rules: Vec<PathBuf>,
    /// Extra table definitions (`*.yml` files or directories), added to the built-in ones.
    #[arg(long = "tables", value_name = "PATH")]
    tables: Vec<PathBuf>,
    /// The time `now()` and `ago()` use, RFC 3339 (default: the current time).
    #[arg(long, value_name = "RFC3339")]
    now: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Jsonl)]
    format: Format,
    /// Write alerts to FILE instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
    /// Worker threads (default: one per core).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Do not print the summary on standard error.
    #[arg(short, long)]
    quiet: bool,
    /// Log files or directories (searched recursively): NDJSON, one record per line.
    #[arg(value_name = "INPUT", required = true)]
    inputs: Vec<PathBuf>,
}

pub fn run(args: RunArgs) -> u8 {
    if let Some(n) = args.threads
        && let Err(e) = rayon::ThreadPoolBuilder::new().num_threads(n).build_global()
    {
        return fail(format!("cannot start {n} threads: {e}"));
    }
    let now = match &args.now {
        Some(s) => match sigcorr::datetime::parse(s) {
            Some(t) => t,
            None => return fail(format!("--now `{s}` is not an RFC 3339 time, e.g. 2026-07-16T12:00:00Z")),
        },
        None => sigcorr::datetime::now_ticks(),
    };
    let catalog = match sigcorr::load_catalog(&args.tables) {
        Ok(c) => c,
        Err(errors) => {
            print_diagnostics(&errors);
            return exit::ERROR;
        }
    };
    let files = match sigcorr::read_rule_files(&args.rules) {
        Ok(f) => f,
        Err(e) => return fail(e),
    };
    let (rules, diagnostics) = sigcorr::compile_rules(&files, &catalog);
    let errors: Vec<Diagnostic> = diagnostics.iter().filter(|d| d.is_error()).cloned().collect();
    if !errors.is_empty() {
        print_diagnostics(&errors);
        eprintln!("error: {} rule error{}; no rules were run", errors.len(), if errors.len() == 1 { "" } else { "s" });
        return exit::ERROR;
    }
    if rules.is_empty() {
        return fail("no rules to run");
    }
    let inputs = match sigcorr::input::discover(&args.inputs) {
        Ok(i) => i,
        Err(e) => return fail(e),
    };
    let plan = sigcorr::plan::plan(rules, &catalog);
    let outcome = sigcorr::engine::run(&plan, &inputs, now);

    let written = match &args.output {
        Some(path) => std::fs::File::create(path)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))
            .and_then(|f| {
                let mut w = BufWriter::new(f);
                emit::write(&mut w, args.format, &plan, &outcome.alerts, &inputs)?;
                w.flush()
            }),
        None => {
            let stdout = io::stdout();
            let mut w = BufWriter::with_capacity(1 << 16, stdout.lock());
            emit::write(&mut w, args.format, &plan, &outcome.alerts, &inputs).and_then(|_| w.flush())
        }
    };
    match written {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return exit::OK,
        Err(e) => return fail(e),
        Ok(()) => {}
    }
    report(&plan, &outcome, &inputs, args.quiet);
    exit::OK
}

/// The stderr summary: problems with input lines, then counts.
fn report(plan: &sigcorr::plan::Plan, outcome: &Outcome, files: &[InputFile], quiet: bool) {
    const SHOWN: usize = 20;
    let stderr = io::stderr();
    let mut err = stderr.lock();
    for p in outcome.problems.iter().take(SHOWN) {
        let _ = writeln!(err, "warning: {}: {}", emit::evidence(files, p.pos), p.message);
    }
    if outcome.problems.len() > SHOWN {
        let _ = writeln!(err, "warning: ... and {} more skipped lines", outcome.problems.len() - SHOWN);
    }
    if quiet {
        return;
    }
    let s = &outcome.stats;
    let _ = writeln!(
        err,
        "sigcorr: read {} lines from {} file{} in {:.2?}",
        s.lines,
        s.files,
        if s.files == 1 { "" } else { "s" },
        s.elapsed
    );
    for (t, n) in plan.tables.iter().zip(&s.records) {
        let _ = writeln!(err, "  {:>10}  {}", n, t.name);
    }
    let other: u64 = s.other.values().sum();
    if other > 0 {
        let names: Vec<String> = s.other.iter().map(|(k, v)| format!("{k} {v}")).collect();
        let _ = writeln!(err, "  {:>10}  other tables, skipped ({})", other, names.join(", "));
    }
    if s.malformed > 0 {
        let _ = writeln!(err, "  {:>10}  malformed lines, skipped", s.malformed);
    }
    if s.bad_values > 0 {
        let _ = writeln!(err, "  {:>10}  values of the wrong type, read as empty", s.bad_values);
    }
    for (rule, n) in plan.rules.iter().zip(&s.alerts) {
        let _ = writeln!(err, "  {:>10}  alerts: {}", n, rule.title());
    }
    let _ = err.flush();
}
