//! `sigcorr run`: rules over log files, alerts out.

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

use sigcorr::diagnostic::Diagnostic;
use sigcorr::emit::{self, Format};
use sigcorr::engine::Outcome;
use sigcorr::input::{InputFile, ReadOptions};

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
    /// Bytes per block of NDJSON read: memory for speed (default 4 MiB, at least 4 KiB; also:
    /// SIGCORR_BLOCK_BYTES). Results do not depend on it.
    #[arg(long, value_name = "BYTES")]
    block_bytes: Option<usize>,
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
    }
}

pub fn run(args: RunArgs) -> u8 {
    if let Some(n) = args.threads
        && let Err(e) = rayon::ThreadPoolBuilder::new().num_threads(n).build_global()
    {
        return fail(format!("cannot start {n} threads: {e}"));
    }
    let now = match crate::now_arg(args.now.as_deref()) {
        Ok(now) => now.unwrap_or_else(sigcorr::datetime::now_ticks),
        Err(code) => return code,
    };
    let catalog = match crate::catalog(&args.set.tables) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let files = match sigcorr::read_rule_files(&args.set.rules) {
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
    if args.inputs.iter().filter(|p| p.as_os_str() == "-").count() > 1 {
        return fail("`-` (standard input) can be named only once");
    }
    let found = match sigcorr::input::find_inputs(&args.inputs) {
        Ok(i) => i,
        Err(e) => return fail(e),
    };
    if !args.quiet {
        for (path, why) in &found.skipped {
            eprintln!("note: skipped {}: {why}; name it as an INPUT to read it", path.display());
        }
    }
    let inputs = found.files;
    // The output file is opened before the run, so a path that cannot be
    // written fails now rather than after it; its old contents are cut
    // away on another thread while the run goes on.
    let output = match args.output.as_deref().map(|path| Output::open(path, &inputs)).transpose() {
        Ok(o) => o,
        Err(e) => return fail(e),
    };
    if output.as_ref().is_none_or(Output::is_stdout) {
        unmark_stdout();
    }
    let plan = sigcorr::plan::plan(rules, &catalog);
    let progress = Progress::new(&inputs);
    let report_progress = |bytes: u64| progress.update(bytes);
    let options = sigcorr::engine::Options { progress: Some(&report_progress), read: read_options(&args) };
    let outcome = sigcorr::engine::run_with(&plan, &inputs, now, options);
    progress.finish();

    let written = match output.filter(|o| !o.is_stdout()) {
        Some(output) => output.emptied().and_then(|f| {
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
    let skipped = outcome.stats.skipped_input();
    // The process ends next: let the OS reclaim the alerts and kept rows
    // rather than freeing them one by one (about 0.3 s for 160,000 alerts).
    std::mem::forget(outcome);
    std::mem::forget(plan);
    match (skipped, args.strict) {
        (false, _) => exit::OK,
        (true, false) => exit::INPUT_SKIPPED,
        (true, true) => {
            eprintln!("error: some input was skipped (--strict)");
            exit::ERROR
        }
    }
}

/// The `--output` file: a regular file (or a new one) opened before the run
/// and emptied on another thread while it goes on; standard output (say
/// `/dev/stdout`) written as standard output, not cut, whatever it is;
/// anything else (a FIFO) opened after the run, as it is, since opening a
/// FIFO waits for its reader.
struct Output {
    path: PathBuf,
    emptying: Option<std::thread::JoinHandle<io::Result<std::fs::File>>>,
    stdout: bool,
}

impl Output {
    /// Checks that `path` is not one of the inputs (standard input
    /// included), and opens it now when it is a regular file or new.
    fn open(path: &std::path::Path, inputs: &[InputFile]) -> io::Result<Output> {
        let input = |i: &InputFile| if i.is_stdin() { file_id(STDIN) } else { file_id(&i.path) };
        if let Some(out) = file_id(path)
            && inputs.iter().any(|i| input(i).as_ref() == Some(&out))
        {
            return Err(io::Error::other(format!(
                "{}: the output file is also an input; write the alerts somewhere else",
                path.display()
            )));
        }
        let stdout = file_id(path).is_some_and(|out| file_id(STDOUT) == Some(out));
        if stdout || std::fs::metadata(path).is_ok_and(|m| !m.is_file()) {
            return Ok(Output { path: path.to_path_buf(), emptying: None, stdout });
        }
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| named(path, e))?;
        let emptying = std::thread::spawn(move || empty(&file).map(|()| file));
        Ok(Output { path: path.to_path_buf(), emptying: Some(emptying), stdout: false })
    }

    /// The output is standard output (`-o /dev/stdout`): it is written as
    /// standard output is, so that a file it is appended to keeps what it held.
    fn is_stdout(&self) -> bool {
        self.stdout
    }

    /// The file, empty.
    fn emptied(self) -> io::Result<std::fs::File> {
        let file = match self.emptying {
            Some(emptying) => {
                emptying.join().unwrap_or_else(|_| Err(io::Error::other("the output file was not emptied")))
            }
            None => std::fs::File::create(&self.path),
        };
        file.map_err(|e| named(&self.path, e))
    }
}

/// Empties `file` through a second descriptor of it, closed at once. A
/// file system (ext4, XFS, btrfs) marks a file cut to zero length to be
/// flushed to disk when a descriptor of it is closed, and writing the
/// alerts through the cutting descriptor made the run wait on that flush at
/// its end (0.142 s for 372 MB, `bench/RESULTS.md`). Closed while the file
/// is empty, the cutting descriptor takes the mark with it; the alerts are
/// then written back like a new file's. Without a second descriptor, `file`
/// is cut itself.
fn empty(file: &std::fs::File) -> io::Result<()> {
    match reopen(file, true) {
        Some(cutter) => cutter.set_len(0),
        None => file.set_len(0),
    }
}

/// Standard output redirected to a file the shell cut to zero length
/// (`> alerts.jsonl`) carries the mark [`empty`] describes, and the end of
/// the run would wait on the flush: a descriptor of the file opened and
/// closed now, while the file is still empty, takes the mark with it.
fn unmark_stdout() {
    #[cfg(target_os = "linux")]
    if std::fs::metadata("/proc/self/fd/1").is_ok_and(|m| m.is_file()) {
        let stdout = io::stdout();
        drop(reopen(&stdout, false).or_else(|| reopen(&stdout, true)));
    }
}

/// A second descriptor of the file `fd` is open on (Linux: through
/// `/proc/self/fd`, so it is that file, whatever its path names now), for
/// writing or for reading; `None` when it cannot be had.
#[cfg(target_os = "linux")]
fn reopen(fd: &impl std::os::fd::AsRawFd, write: bool) -> Option<std::fs::File> {
    let path = format!("/proc/self/fd/{}", fd.as_raw_fd());
    std::fs::OpenOptions::new().read(!write).write(write).open(path).ok()
}

#[cfg(not(target_os = "linux"))]
fn reopen<T>(_: &T, _: bool) -> Option<std::fs::File> {
    None
}

/// Standard input and output as paths, to compare them with the output file.
const STDIN: &str = "/dev/stdin";
const STDOUT: &str = "/dev/stdout";

fn named(path: &std::path::Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// What makes an existing path the file it is: device and inode on Unix
/// (hard links are one file), the canonical path elsewhere.
#[cfg(unix)]
fn file_id(path: impl AsRef<std::path::Path>) -> Option<(u64, u64)> {
    std::fs::metadata(path).ok().map(|m| inode(&m))
}

#[cfg(unix)]
fn inode(m: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (m.dev(), m.ino())
}

#[cfg(not(unix))]
fn file_id(path: impl AsRef<std::path::Path>) -> Option<PathBuf> {
    std::fs::canonicalize(path).ok()
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
fn report(plan: &sigcorr::plan::Plan, outcome: &Outcome, files: &[InputFile], quiet: bool) {
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
        let _ = writeln!(err, "warning: {at}: {}", p.message);
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
            .map(|(f, (n, k))| format!("{} {}", files[f].path.display(), n - k))
            .collect();
        let _ = writeln!(err, "warning: ... and {} more problems: {}", total - shown_total, per_file.join(", "));
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
    let other: u64 = s.other.values().sum();
    if other > 0 {
        let names: Vec<String> = s.other.iter().map(|(k, v)| format!("{k} {v}")).collect();
        let _ = writeln!(err, "  {:>10}  other tables, skipped ({})", other, names.join(", "));
    }
    if s.malformed > 0 {
        let _ = writeln!(err, "  {:>10}  malformed records, skipped", s.malformed);
    }
    if s.file_errors > 0 {
        let _ = writeln!(err, "  {:>10}  inputs unreadable, empty or cut short", s.file_errors);
    }
    if s.bad_values > 0 {
        let _ = writeln!(err, "  {:>10}  values of the wrong type, read as empty", s.bad_values);
    }
    for (rule, n) in plan.rules.iter().zip(&s.alerts) {
        let _ = writeln!(err, "  {:>10}  alerts: {}", n, rule.title());
    }
    let _ = err.flush();
}
