use clap::{Parser, ValueEnum};
use sigcorr_datagen::{Config, DEFAULT_NOW, Shape, Table, generate, parse_utc_seconds};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(Clone, Copy, Debug, ValueEnum)]
enum ShapeArg {
    /// Log Analytics rows (flat columns, `Type`)
    #[value(alias = "log-analytics")]
    La,
    /// Diagnostic-settings records (envelope + properties)
    #[value(alias = "diag")]
    Diagnostic,
}

/// Generate a deterministic synthetic Entra / Microsoft Graph activity dataset.
#[derive(Debug, Parser)]
#[command(name = "sigcorr-gen", version)]
struct Args {
    /// PRNG seed
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Number of MicrosoftGraphActivityLogs records (exact)
    #[arg(long, default_value_t = 2000)]
    graph: usize,
    /// Number of service-principal / managed-identity tokens (sign-in events;
    /// ~3% are delivered more than once)
    #[arg(long, default_value_t = 300)]
    signins: usize,
    /// The hunt's now(): 2026-07-16T12:00:00Z or Unix seconds
    #[arg(long, default_value = DEFAULT_NOW)]
    now: String,
    /// Record shape
    #[arg(long, value_enum, default_value_t = ShapeArg::La)]
    shape: ShapeArg,
    /// CRLF line endings
    #[arg(long)]
    crlf: bool,
    /// One interleaved file DIR/all.json instead of one file per table
    #[arg(long)]
    mixed: bool,
    /// Rows of other tables (SigninLogs, AuditLogs) to mix in (exact)
    #[arg(long, default_value_t = 0)]
    other: usize,
    /// Output directory
    #[arg(long)]
    out: PathBuf,
    /// Also write the alerts the shipped T1528 rule must produce (reference
    /// implementation, sorted NDJSON) to this file
    #[arg(long, value_name = "FILE")]
    expected_alerts: Option<PathBuf>,
    /// Write only the Entra / Azure tables below (SigninLogs,
    /// AADNonInteractiveUserSignInLogs, AuditLogs, AzureActivity,
    /// AADUserRiskEvents) into --out, one `<table>.json` each, leaving the
    /// other files there alone: no Graph / service-principal data
    #[arg(long)]
    entra_only: bool,
    /// User sign-ins, split ~30% SigninLogs / ~70% AADNonInteractiveUserSignInLogs
    /// (exact total; not the same as --signins, the service-principal tokens)
    #[arg(long = "user-signins", visible_alias = "signin", default_value_t = 0, value_name = "N")]
    user_signins: usize,
    /// AuditLogs rows in the Entra tables (exact)
    #[arg(long, default_value_t = 0, value_name = "N")]
    audit: usize,
    /// AzureActivity rows (exact)
    #[arg(long, default_value_t = 0, value_name = "N")]
    activity: usize,
    /// AADUserRiskEvents rows (exact)
    #[arg(long, default_value_t = 0, value_name = "N")]
    risk: usize,
}

fn write_entra_tables(args: &Args, now: i64) -> ExitCode {
    let cfg = sigcorr_datagen::EntraConfig {
        seed: args.seed,
        signin: args.user_signins,
        audit: args.audit,
        activity: args.activity,
        risk: args.risk,
        now,
        crlf: args.crlf,
    };
    let started = Instant::now();
    let s = match sigcorr_datagen::write_entra(&cfg, &args.out) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("sigcorr-gen: writing {}: {e}", args.out.display());
            return ExitCode::FAILURE;
        }
    };
    let secs = started.elapsed().as_secs_f64();
    let per: Vec<String> = sigcorr_datagen::EntraTable::ALL
        .iter()
        .map(|&t| format!("{}={} ({:.1} MB)", t.name(), s.rows_of(t), s.bytes_of(t) as f64 / 1e6))
        .collect();
    eprintln!(
        "sigcorr-gen: entra seed={} now={} {} rows={} bytes={} ({:.1} MB) in {:.2}s -> {}",
        cfg.seed,
        args.now,
        per.join(" "),
        s.total_rows(),
        s.total_bytes(),
        s.total_bytes() as f64 / 1e6,
        secs,
        args.out.display(),
    );
    ExitCode::SUCCESS
}

fn main() -> ExitCode {
    let args = Args::parse();
    let now = match parse_utc_seconds(&args.now) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("sigcorr-gen: --now: {e}");
            return ExitCode::from(2);
        }
    };
    let entra = args.user_signins + args.audit + args.activity + args.risk > 0;
    if args.entra_only || entra {
        if matches!(args.shape, ShapeArg::Diagnostic) || args.mixed {
            eprintln!(
                "sigcorr-gen: the Entra tables are written as Log Analytics rows, one file per table (no --shape diagnostic, --mixed)"
            );
            return ExitCode::from(2);
        }
        let code = write_entra_tables(&args, now);
        if args.entra_only || code != ExitCode::SUCCESS {
            return code;
        }
    }
    let cfg = Config {
        seed: args.seed,
        graph: args.graph,
        signins: args.signins,
        now,
        shape: match args.shape {
            ShapeArg::La => Shape::LogAnalytics,
            ShapeArg::Diagnostic => Shape::Diagnostic,
        },
        other_tables: args.other,
        crlf: args.crlf,
    };
    let started = Instant::now();
    let ds = generate(&cfg);
    let result = if args.mixed {
        sigcorr_datagen::write_mixed(&ds, &args.out.join("all.json"))
    } else {
        sigcorr_datagen::write_split(&ds, &args.out)
    };
    let summary = match result {
        Ok(s) => s,
        Err(e) => {
            eprintln!("sigcorr-gen: writing {}: {e}", args.out.display());
            return ExitCode::FAILURE;
        }
    };
    if let Some(path) = &args.expected_alerts {
        let mut text = String::new();
        for a in sigcorr_datagen::reference_alerts(&ds) {
            text.push_str(&a.to_json_line());
            text.push('\n');
        }
        if let Err(e) = std::fs::write(path, text) {
            eprintln!("sigcorr-gen: writing {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "sigcorr-gen: seed={} shape={:?} now={} graph={} sp-signins={} mi-signins={} signinlogs={} auditlogs={} rows={} bytes={} ({:.1} MB) in {:.2}s ({:.0} MB/s) -> {}",
        cfg.seed,
        args.shape,
        args.now,
        summary.rows_of(Table::MicrosoftGraphActivityLogs),
        summary.rows_of(Table::AADServicePrincipalSignInLogs),
        summary.rows_of(Table::AADManagedIdentitySignInLogs),
        summary.rows_of(Table::SigninLogs),
        summary.rows_of(Table::AuditLogs),
        summary.total_rows(),
        summary.bytes,
        summary.bytes as f64 / 1e6,
        secs,
        summary.bytes as f64 / 1e6 / secs.max(1e-9),
        args.out.display(),
    );
    ExitCode::SUCCESS
}
