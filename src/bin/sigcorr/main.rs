//! The `sigcorr` command line: thin glue over the library.

use std::io::{self, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use sigcorr::diagnostic::Diagnostic;

/// mimalloc: the engine allocates many short-lived rows and strings from
/// several threads, where glibc's allocator spent about 8% of a run's CPU.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod compile;
mod exit;
mod lint;
mod output;
mod run;
mod test;

/// Correlation rules for cloud security logs.
#[derive(Parser)]
#[command(name = "sigcorr", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run rules over log files and print alerts.
    Run(run::RunArgs),
    /// Check rules for mistakes, with `file:line:col`; for people, JSON or SARIF.
    Lint(lint::LintArgs),
    /// Run each rule's test cases (`<rule>.tests.yml`) and report, as text or JUnit XML.
    Test(test::TestArgs),
    /// Compile rules to KQL, a Sentinel analytics rule, Spark SQL, DuckDB SQL or a PySpark job.
    Compile(compile::CompileArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Run(args) => run::run(args),
        Command::Lint(args) => lint::lint(args),
        Command::Test(args) => test::test(args),
        Command::Compile(args) => compile::compile(args),
    };
    ExitCode::from(code)
}

/// A parser for one of a library enum's values, listed as `(value, name,
/// help)`: the library does not depend on clap.
pub fn choice<T: Copy + Send + Sync + 'static>(
    all: &'static [(T, &'static str, &'static str)],
) -> impl clap::builder::TypedValueParser<Value = T> {
    use clap::builder::TypedValueParser as _;
    let values = all.iter().map(|&(_, name, help)| clap::builder::PossibleValue::new(name).help(help));
    clap::builder::PossibleValuesParser::new(values)
        .map(move |name| all.iter().find(|&&(_, n, _)| n == name).expect("clap checked the name").0)
}

pub fn print_diagnostics(diagnostics: &[Diagnostic]) {
    let stderr = io::stderr();
    let mut err = stderr.lock();
    for d in diagnostics {
        let _ = write!(err, "{}", d.render());
    }
}

pub fn fail(message: impl std::fmt::Display) -> u8 {
    eprintln!("error: {message}");
    exit::ERROR
}

/// The built-in tables plus `--tables`, with the `--placeholders` values;
/// on error, the diagnostics are printed and the exit code returned.
pub fn catalog(
    tables: &[std::path::PathBuf],
    placeholder_files: &[std::path::PathBuf],
) -> Result<sigcorr::table::Catalog, u8> {
    let mut catalog = sigcorr::load_catalog(tables).map_err(|errors| {
        print_diagnostics(&errors);
        exit::ERROR
    })?;
    catalog.placeholders = placeholders(placeholder_files)?;
    Ok(catalog)
}

/// `--now`, parsed: `None` when it is not given.
pub fn now_arg(now: Option<&str>) -> Result<Option<i64>, u8> {
    now.map(|s| {
        sigcorr::datetime::parse(s)
            .ok_or_else(|| fail(format!("--now `{s}` is not an RFC 3339 time, e.g. 2026-07-16T12:00:00Z")))
    })
    .transpose()
}

/// `--rules` and `--tables`, for the subcommands that load rules by option.
#[derive(clap::Args)]
pub struct RuleSet {
    /// Rule files or directories (repeatable). Default: the built-in rules.
    #[arg(long = "rules", value_name = "PATH")]
    pub rules: Vec<std::path::PathBuf>,
    /// Extra table definitions (`*.yml` files or directories), added to the built-in ones.
    #[arg(long = "tables", value_name = "PATH")]
    pub tables: Vec<std::path::PathBuf>,
    /// Values for Sigma `expand` placeholders: a YAML file mapping `name` to a list of values
    /// (repeatable; later files win).
    #[arg(long = "placeholders", value_name = "FILE")]
    pub placeholders: Vec<std::path::PathBuf>,
}

/// `--placeholders`, read; on error, printed, and the exit code returned.
fn placeholders(paths: &[std::path::PathBuf]) -> Result<sigcorr::sigma::Placeholders, u8> {
    let mut out = sigcorr::sigma::Placeholders::default();
    for path in paths {
        let bytes = std::fs::read(path).map_err(|e| fail(format!("{}: {e}", path.display())))?;
        let file = sigcorr::span::SourceFile::from_bytes(path.clone(), bytes);
        match sigcorr::sigma::Placeholders::parse(&file) {
            Ok(p) => out.extend(p),
            Err(d) => {
                print_diagnostics(&[d]);
                return Err(exit::ERROR);
            }
        }
    }
    Ok(out)
}
