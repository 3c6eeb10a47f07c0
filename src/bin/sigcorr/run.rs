//! `sigcorr run`: rules over log files, alerts out.

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

use sigcorr::diagnostic::Diagnostic;
use sigcorr::emit::{self, Format};
use sigcorr::engine::Outcome;
use sigcorr::input::{InputFile, ReadOptions};

use sigcorr::text::printable;

use crate::output::{self, Output, Protected};
use crate::{exit, fail, print_diagnostics};

#[derive(clap::Args)]
pub struct RunArgs {
    #[command(flatten)]
    set: crate::RuleSet,
    /// The time `now()` and `ago()` use, RFC 3339 (default: the current time).
    #[arg(long, value_name = "RFC3339")]
    now: Option<String>,
    /// Output format.
    #[arg(long, value_parser = crate::choice(&Format::ALL), default_value = "jsonl")]
    format: Format,
    /// CSV: write every cell as it is. By default a cell a spreadsheet would run as a formula (one
    /// starting with =, +, -, @, a tab or a carriage return, and not a plain number) gets a ' in front.
    #[arg(long)]
    csv_raw: bool,
    /// Write alerts to FILE instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
    /// Worker threads (default: one per core).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Do not print the summary on standard error.
    #[arg(short, long)]
    quiet: bool,
    /// Skipped input (malformed records, unreadable, empty or truncated files) is an error: exit 2
    /// instead of 3. Alerts are still printed.
    #[arg(long)]
    strict: bool,
    /// Read plain files with read() instead of memory-mapping them (also: SIGCORR_NO_MMAP set to
    /// anything). Mapping is the faster default, but a file truncated by another process while it is
    /// mapped makes the run die with SIGBUS, and one rewritten in place may be read inconsistently:
    /// use this for files that may change while sigcorr reads them.
    #[arg(long)]
    no_mmap: bool,
    /// The largest record read, in bytes (default 64 MiB): a longer NDJSON line or JSON record is
    /// reported and skipped, so memory stays bounded whatever the input (a line of zeros with no end).
    #[arg(long, value_name = "BYTES")]
    max_record_bytes: Option<usize>,
    /// Bytes per block of NDJSON read: memory for speed (default 4 MiB, at least 4 KiB; also:
    /// SIGCORR_BLOCK_BYTES). Results do not depend on it.
    #[arg(long, value_name = "BYTES")]
    block_bytes: Option<usize>,
    /// The most alerts a correlation rule makes of one join key (the first in input order); the rest
    /// are counted in the summary, and the run exits 4. Bounds the pairs of a key many records share
    /// on both sides (1,000 x 1,000 is a million alerts).
    #[arg(long, value_name = "N", default_value_t = sigcorr::engine::MAX_ALERTS_PER_KEY,
          value_parser = clap::value_parser!(u32).range(1..))]
    max_alerts_per_key: u32,
    /// Log files or directories (searched recursively), `-` for standard input: NDJSON, JSON arrays
    /// or `{"records": [...]}` bodies, Log Analytics or diagnostic-settings records, gzipped or not.
    #[arg(value_name = "INPUT", required = true)]
    inputs: Vec<PathBuf>,
}

/// How inputs are read: the flags, else the environment variables, else
/// the library's defaults. A `SIGCORR_BLOCK_BYTES` that is not a number is
/// ignored.
fn read_options(args: &RunArgs) -> ReadOptions {
    let default = ReadOptions::default();
    let env_block = std::env::var("SIGCORR_BLOCK_BYTES").ok().and_then(|v| v.parse().ok());
    ReadOptions {
        block_bytes: args.block_bytes.or(env_block).unwrap_or(default.block_bytes),
        mmap: default.mmap && !args.no_mmap && std::env::var_os("SIGCORR_NO_MMAP").is_none(),
        max_record_bytes: args.max_record_bytes.unwrap_or(default.max_record_bytes),
    }
}

/// More threads than this many per core only slow a run down (and
/// `--threads 100000` kept a machine at a load of 1,000 for minutes).
const THREADS_PER_CORE: usize = 4;

/// `--threads N`, at most [`THREADS_PER_CORE`] per core (with a warning).
fn threads(n: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    let most = cores * THREADS_PER_CORE;
    if n > most {
        eprintln!("warning: --threads {n} is more than {THREADS_PER_CORE} per core ({cores} cores): using {most}");
    }
    n.min(most)
}

pub fn run(args: RunArgs) -> u8 {
    if let Some(n) = args.threads
        && let Err(e) = rayon::ThreadPoolBuilder::new().num_threads(threads(n)).build_global()
    {
        return fail(format!("cannot start {n} threads: {e}"));
    }
    let now = match crate::now_arg(args.now.as_deref()) {
        Ok(now) => now.unwrap_or_else(sigcorr::datetime::now_ticks),
        Err(code) => return code,
    };
    let catalog = match crate::catalog(&args.set.tables, &args.set.placeholders) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let files = match sigcorr::read_rule_files(&args.set.rules) {
        Ok(f) => f,
        Err(e) => return fail(e),
    };
    let compiled = sigcorr::compile_rule_set(&files, &catalog);
    let errors: Vec<Diagnostic> = compiled.diagnostics.iter().filter(|d| d.is_error()).cloned().collect();
    // A corpus always has a few rules that cannot load: each is refused on
    // its own, and the rest run (exit 5), unless --strict.
    let refused = compiled.refused().count();
    if !errors.is_empty() {
        print_diagnostics(&errors);
        let n = errors.len();
        let plural = if n == 1 { "" } else { "s" };
        if compiled.rules.is_empty() || args.strict {
            let why = if args.strict && !compiled.rules.is_empty() { " (--strict)" } else { "" };
            eprintln!("error: {n} rule error{plural}; no rules were run{why}");
            return exit::ERROR;
        }
        eprintln!(
            "warning: {n} rule error{plural}: {refused} of {} rules refused, running the other {}",
            compiled.documents.len(),
            compiled.rules.len()
        );
    }
    let rules_refused = !errors.is_empty();
    let rules = compiled.rules;
    if rules.is_empty() {
        return fail("no rules to run");
    }
    if args.inputs.iter().filter(|p| p.as_os_str() == "-").count() > 1 {
        return fail("`-` (standard input) can be named only once");
    }
    let found = match sigcorr::input::find_inputs(&args.inputs) {
        Ok(i) => i,
        Err(e) => return fail(e),
    };
    // A directory that cannot be listed is skipped input, like a file that
    // cannot be read: the run goes on, and exits 3 (2 with --strict).
    for (dir, why) in &found.unreadable {
        eprintln!("warning: {}: cannot read the directory: {}", printable(&dir.display().to_string()), printable(why));
    }
    let unreadable_dirs = found.unreadable.len() as u64;
    if !args.quiet {
        for (path, why) in &found.skipped {
            eprintln!(
                "note: skipped {}: {why}; name it as an INPUT to read it",
                printable(&path.display().to_string())
            );
        }
    }
    let inputs = found.files;
    // The output file is opened before the run, so a path that cannot be
    // written fails now rather than after it; its old contents are cut
    // away on another thread while the run goes on. It must not be a file
    // the run reads.
    let mut protected = Protected::default();
    for input in &inputs {
        if input.is_stdin() {
            protected.add_stdin();
        } else {
            protected.add(&input.path, "an input");
        }
    }
    for rule in &files {
        protected.add(rule.path(), "a rule file");
    }
    crate::output::protect_tables(&mut protected, &args.set.tables);
    let output = match args.output.as_deref().map(|path| Output::open(path, &protected)).transpose() {
        Ok(o) => o,
        Err(e) => return fail(e),
    };
    if output.as_ref().is_none_or(Output::is_stdout) {
        if let Err(e) = output::check_stdout() {
            return fail(e);
        }
        output::unmark_stdout();
    }
    let plan = sigcorr::plan::plan(rules, &catalog);
    let progress = Progress::new(&inputs);
    let report_progress = |bytes: u64| progress.update(bytes);
    let options = sigcorr::engine::Options {
        progress: Some(&report_progress),
        read: read_options(&args),
        max_alerts_per_key: args.max_alerts_per_key,
    };
    let outcome = sigcorr::engine::run_with(&plan, &inputs, now, options);
    progress.finish();

    let write_options = emit::WriteOptions { csv_raw: args.csv_raw };
    let written = match output.filter(|o| !o.is_stdout()) {
        Some(output) => output.emptied().and_then(|f| {
            let mut w = BufWriter::new(f);
            emit::write(&mut w, args.format, &plan, &outcome.alerts, &inputs, &write_options)?;
            w.flush().map(|()| true)
        }),
        None => output::to_stdout(|w| emit::write(w, args.format, &plan, &outcome.alerts, &inputs, &write_options)),
    };
    match written {
        Err(e) => return fail(e),
        // The reader closed the pipe (`| head`): its choice, but the summary
        // and the exit status still say what the run found.
        Ok(false) if !args.quiet => eprintln!("note: standard output was closed before every alert was written"),
        Ok(_) => {}
    }
    report(&plan, &outcome, &inputs, unreadable_dirs, args.quiet);
    let skipped = outcome.stats.skipped_input() || unreadable_dirs > 0;
    let capped = outcome.stats.capped_alerts > 0;
    // The process ends next: let the OS reclaim the alerts and kept rows
    // rather than freeing them one by one (about 0.3 s for 160,000 alerts).
    std::mem::forget(outcome);
    std::mem::forget(plan);
    match (skipped, capped, args.strict) {
        (false, false, _) if rules_refused => exit::RULES_REFUSED,
        (false, false, _) => exit::OK,
        (true, _, true) => {
            eprintln!("error: some input was skipped (--strict)");
            exit::ERROR
        }
        (_, true, true) => {
            eprintln!("error: some alerts were cut at --max-alerts-per-key (--strict)");
            exit::ERROR
        }
        (_, true, false) => exit::ALERTS_CAPPED,
        (true, false, false) => exit::INPUT_SKIPPED,
    }
}

/// A progress bar on stderr (bytes read of the inputs' total), shown once a
/// run has taken a second, and only when stderr is a terminal.
struct Progress {
    bar: indicatif::ProgressBar,
    start: std::time::Instant,
    shown: std::sync::atomic::AtomicBool,
    terminal: bool,
}

impl Progress {
    fn new(inputs: &[InputFile]) -> Progress {
        use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
        let stdin = inputs.iter().any(InputFile::is_stdin);
        let total: u64 = inputs.iter().filter_map(|f| std::fs::metadata(&f.path).ok()).map(|m| m.len()).sum();
        let bar = if stdin {
            ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden())
                .with_style(ProgressStyle::with_template("{spinner} read {bytes} ({bytes_per_sec})").expect("template"))
        } else {
            ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden()).with_style(
                ProgressStyle::with_template("{bar:30} {bytes}/{total_bytes} ({bytes_per_sec}, {eta} left)")
                    .expect("template"),
            )
        };
        Progress {
            bar,
            start: std::time::Instant::now(),
            shown: false.into(),
            terminal: std::io::IsTerminal::is_terminal(&io::stderr()),
        }
    }

    fn update(&self, bytes: u64) {
        use std::sync::atomic::Ordering;
        if self.terminal
            && self.start.elapsed() >= std::time::Duration::from_secs(1)
            && !self.shown.swap(true, Ordering::Relaxed)
        {
            self.bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        }
        self.bar.set_position(bytes);
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// The stderr summary: skipped input (the first 20 verbatim, then a count
/// per file), then counts.
fn report(plan: &sigcorr::plan::Plan, outcome: &Outcome, files: &[InputFile], unreadable_dirs: u64, quiet: bool) {
    const SHOWN: usize = 20;
    let stderr = io::stderr();
    let mut err = stderr.lock();
    let s = &outcome.stats;
    // Skipped lines and bad values, merged in input order.
    let mut all: Vec<(&sigcorr::engine::Problem, &str)> = outcome
        .problems
        .iter()
        .map(|p| (p, "skipped"))
        .chain(outcome.bad_values.iter().map(|p| (p, "value")))
        .collect();
    all.sort_by_key(|(p, _)| p.pos);
    let mut shown = vec![0u64; files.len()];
    for (p, _) in all.iter().take(SHOWN) {
        let at = if p.pos.line == 0 {
            files[p.pos.file as usize].path.display().to_string()
        } else {
            emit::evidence(files, p.pos)
        };
        // Messages quote input values: what an attacker wrote is shown, not obeyed.
        let _ = writeln!(err, "warning: {}: {}", printable(&at), printable(&p.message));
        shown[p.pos.file as usize] += 1;
    }
    let total: u64 = s.problems_per_file.iter().sum();
    let shown_total: u64 = shown.iter().sum();
    if total > shown_total {
        let per_file: Vec<String> = s
            .problems_per_file
            .iter()
            .zip(&shown)
            .enumerate()
            .filter(|(_, (n, k))| *n > *k)
            .map(|(f, (n, k))| format!("{} {}", printable(&files[f].path.display().to_string()), n - k))
            .collect();
        let _ = writeln!(err, "warning: ... and {} more problems: {}", total - shown_total, per_file.join(", "));
    }
    if s.capped_alerts > 0 {
        let _ = writeln!(
            err,
            "warning: {} alerts were not written: {} rule and join key{} reached --max-alerts-per-key (the first \
             alerts of each, in input order, were)",
            s.capped_alerts,
            s.capped_keys,
            if s.capped_keys == 1 { "" } else { "s" }
        );
    }
    if quiet {
        return;
    }
    let _ = writeln!(
        err,
        "sigcorr: read {} lines from {} file{} ({} records, {} bytes) in {:.2?}",
        s.lines,
        s.files,
        if s.files == 1 { "" } else { "s" },
        s.entries,
        s.bytes,
        s.elapsed
    );
    for (t, n) in plan.tables.iter().zip(&s.records) {
        let _ = writeln!(err, "  {:>10}  {}", n, t.name);
    }
    if s.shapes[1] > 0 {
        let _ = writeln!(
            err,
            "  {:>10}  Log Analytics rows + {} diagnostic-settings records (of the above)",
            s.shapes[0], s.shapes[1]
        );
    }
    let other: u64 = s.other.values().sum::<u64>() + s.other_unnamed;
    if other > 0 {
        let _ = writeln!(err, "  {:>10}  other tables, skipped ({})", other, other_tables(s));
    }
    if s.malformed > 0 {
        let _ = writeln!(err, "  {:>10}  malformed records, skipped", s.malformed);
    }
    if s.file_errors + unreadable_dirs > 0 {
        let _ = writeln!(err, "  {:>10}  inputs unreadable, empty or cut short", s.file_errors + unreadable_dirs);
    }
    if s.bad_values > 0 {
        let _ = writeln!(err, "  {:>10}  values that do not fit their column, read as empty", s.bad_values);
    }
    for (r, (rule, n)) in plan.rules.iter().zip(&s.alerts).enumerate() {
        // A rule only a correlation references: its matches, not written.
        let what =
            if s.referenced.get(r).copied().unwrap_or(false) { "matches (not written; correlated)" } else { "alerts" };
        let _ = writeln!(err, "  {:>10}  {what}: {}", n, printable(rule.title()));
    }
    if s.capped_alerts > 0 {
        let _ = writeln!(
            err,
            "  {:>10}  alerts past --max-alerts-per-key, not written ({} rule and join key{} reached it)",
            s.capped_alerts,
            s.capped_keys,
            if s.capped_keys == 1 { "" } else { "s" }
        );
    }
    let _ = err.flush();
}

/// The tables no rule reads, for the summary: the most common
/// [`OTHER_SHOWN`], then how many more (an attacker's log can name
/// 200,000 tables).
fn other_tables(s: &sigcorr::engine::Stats) -> String {
    const OTHER_SHOWN: usize = 10;
    let mut names: Vec<(&String, &u64)> = s.other.iter().collect();
    names.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let mut shown: Vec<String> = names.iter().take(OTHER_SHOWN).map(|(k, v)| format!("{} {v}", printable(k))).collect();
    let more = names.len().saturating_sub(OTHER_SHOWN);
    if more > 0 {
        shown.push(format!("{more} more tables"));
    }
    if s.other_unnamed > 0 {
        let most = sigcorr::engine::MAX_OTHER_TABLES;
        shown.push(format!("{} records of tables past the first {most} names", s.other_unnamed));
    }
    shown.join(", ")
}
