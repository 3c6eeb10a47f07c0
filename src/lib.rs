//! sigcorr: correlation rules for cloud security logs.
//!
//! A rule names log tables (sources), how their records join, a filter per
//! source, and a mismatch predicate over each joined pair, in a small
//! Kusto-flavoured expression language. The pipeline, one module a stage:
//!
//! 1. **load** ([`rule`]): YAML text to a [`rule::RuleDoc`], every key and
//!    value with its position ([`yaml`]). A file may hold several YAML
//!    documents; a Sigma detection rule among them is loaded by
//!    [`sigma::load`] and lowered by [`sigma::lower`] into a `RuleDoc` of
//!    one source whose filter is its detection, so every later stage takes
//!    it as it takes any rule.
//! 2. **parse** ([`parser`]): each expression to an [`ast::Expr`] (pest).
//! 3. **check** ([`check`]): names, tables, columns and types against the
//!    [`table::Catalog`], into a [`check::CheckedRule`].
//! 4. **plan** ([`plan`]): all rules together: which columns each table must
//!    yield, and each expression compiled against those slots.
//! 5. **evaluate** ([`engine`]): read the inputs once ([`input`]), filter,
//!    hash-join, test the mismatch, in parallel with rayon; filters and
//!    mismatches compiled once per run ([`pred`]), the rest interpreted
//!    ([`eval`]); both test strings through [`search`].
//! 6. **emit** ([`emit`]): alerts as JSON lines, a table or CSV.
//!
//! [`compile_rules`] (and [`compile_rule_set`], which also says what each
//! document was and whether it was refused) chains load, parse, check and
//! the rule-set checks of [`lint`]; [`engine::run`] the rest.
//!
//! # Following `sigcorr run`, one file a stage
//!
//! 1. `src/bin/sigcorr/main.rs`, then `run.rs`: the flags, mapped onto
//!    [`engine::Options`] (`--no-mmap`, `--block-bytes`, progress).
//! 2. `src/lib.rs` [`compile_rules`]: `rule.rs`, `parser.rs`, `check.rs`; then
//!    `plan.rs` [`plan::plan`]; `input/mod.rs` [`input::find_inputs`].
//! 3. `engine/mod.rs` [`engine::run_with`]: one pass or two, each a call of
//!    the stages below.
//! 4. `engine/context.rs`: what is decided once per run (the passes, each
//!    join's build side from `engine/sample.rs`'s estimate, which pass reads
//!    which input and table), and the per-record decisions made from it.
//! 5. `engine/pipeline.rs`: per input, `input/container.rs`'s [`input::Reader`]
//!    hands out blocks on a thread; their chunks are parsed by the rayon pool
//!    and merged in input order (`engine/chunk.rs`).
//! 6. `engine/read.rs`: each record parsed ([`input::record::parse_record`],
//!    over [`input::json_scan`]), routed to its table, projected into a row
//!    (`engine/rows.rs`).
//! 7. `engine/evaluate.rs`: a batch of rows through the filters ([`pred`]),
//!    into single-source alerts, probes, or rows kept for joins.
//! 8. `engine/join.rs`: the build sides' hash tables, and each probe's
//!    mismatch test.
//! 9. `engine/alert.rs`: an alert's output values; `engine/outcome.rs`: the
//!    alerts in order, with the counts and problems of the summary.
//! 10. `emit.rs` [`emit::write`]: the alerts written out.
//!
//! # How a run reads the data
//!
//! All rules run together over the data, in one pass when an input is standard
//! input and in two when every input is a file (one pass for the build sides,
//! one for the rest); each file is read once either way.
//!
//! - **Blocks.** Plain NDJSON files are memory-mapped 4 MiB at a time; gzip
//!   files, JSON documents (arrays, `{"records": [...]}` bodies), FIFOs and
//!   standard input are read with `read()`, a block at a time. No record
//!   longer than the maximum record size is held: it is reported and skipped,
//!   so memory stays at a few blocks plus that size whatever the input. A reader thread maps the next block
//!   while the cores parse chunks of up to three blocks at once, and faults each
//!   mapped block in with one read per 64 KiB window, but reads none of its
//!   bytes otherwise: each task takes a run of about 2 MiB of lines, finds each
//!   line's end itself and parses the line at once, while it is in the cache,
//!   with the bytes about two records ahead
//!   (2.4 KB) prefetched. The block size, and whether plain
//!   files are mapped or read, are options of the run (the CLI's
//!   `--block-bytes` / `SIGCORR_BLOCK_BYTES` and `--no-mmap` /
//!   `SIGCORR_NO_MMAP=1`); results do not depend on either. A mapped file must
//!   not change while it is read: one truncated by another process makes the run
//!   die with `SIGBUS`, and one rewritten in place may be read inconsistently.
//!   Files still being written should be read with `read()`; so is any file the
//!   file system cannot map.
//! - **Records.** Each record is parsed once by a validating JSON scanner. Stage
//!   one builds an index of the unescaped quotes 64 bytes at a time, rejecting
//!   control characters in strings and bad escapes; it runs AVX-512 (BW), AVX2 or
//!   portable code, whichever the CPU has, chosen once at run time. Stage two
//!   walks the keys: no JSON tree is built, a broken line is still reported as
//!   broken, and only the columns the rules read of the record's table are
//!   decoded. Exports repeat one key order record after record, so each thread
//!   remembers the keys of the last object by position: a key equal to the
//!   remembered one costs one masked compare of its bytes, and no lookup.
//! - **Filters.** Filters run as records are read, 128 records at a time; only
//!   records some filter keeps are kept, with only the columns the joins read
//!   after it. Each filter and mismatch is compiled once per run: constant parts
//!   (`ago(30d)`) are computed once; `column <op> constant` tests (comparisons,
//!   `between`, `in`, string operators, `isempty`, `ipv4_is_in_range`,
//!   `ipv6_is_match`), column-vs-column string operators and `+`/`-` arithmetic
//!   on times (`activity.TimeGenerated - signin.TimeGenerated > 70m`) read the
//!   values in place, and the parts of an `and`/`or` run cheapest first.
//!   Anything else is interpreted, with the same results.
//! - **Joins.** For a correlation rule the smaller source (estimated from the
//!   first MiB of each input) is the *build* side. When every input is a file,
//!   the first pass keeps the build sides and hashes them on the join key (the
//!   table built in 64 parts in parallel); the second streams the other sides
//!   through those hash tables. Rules that join the same tables on the same
//!   columns share one table, even when their build tables differ, so a record
//!   is looked up once for all of them. Memory grows with the build sides and
//!   the alerts only. The first MiB of each file also decides which pass reads
//!   it, so per-table files are read once; a record the sample did not foresee
//!   is still evaluated. Single-source rules on a built table run in the build
//!   pass. With standard input, one pass keeps both sides and joins at the end.
//! - **Alerts.** Alerts are sorted by rule, then by the input positions of their
//!   evidence, so the output does not depend on the thread count; JSON lines are
//!   formatted in parallel a batch at a time while the last batch is written.
//!

pub mod ast;
pub mod builtin;
pub mod check;
pub mod compile;
pub mod correlate;
pub mod datetime;
pub mod diagnostic;
pub mod emit;
pub mod engine;
pub mod eval;
pub mod functions;
pub mod input;
pub mod lint;
pub mod lookup;
pub mod parser;
pub mod plan;
pub mod pred;
pub mod rule;
pub mod ruletest;
pub mod search;
pub mod sigma;
pub mod source_map;
pub mod span;
pub mod table;
pub mod text;
pub mod types;
pub mod value;
pub mod yaml;

use diagnostic::Diagnostic;
use span::SourceFile;
use std::sync::Arc;

/// Loads, parses and checks rule files, and runs the rule-set checks of
/// [`lint`]. Returns the rules that passed and every diagnostic found (errors
/// and warnings), across all files, in file order.
pub fn compile_rules(
    files: &[Arc<SourceFile>],
    catalog: &table::Catalog,
) -> (Vec<check::CheckedRule>, Vec<Diagnostic>) {
    let compiled = compile_rule_set(files, catalog);
    (compiled.rules, compiled.diagnostics)
}

/// What [`compile_rule_set`] made of a set of rule files.
#[derive(Debug, Default)]
pub struct Compiled {
    /// The rules that passed, in file order.
    pub rules: Vec<check::CheckedRule>,
    /// Every finding (errors and warnings), in file order, then by position.
    pub diagnostics: Vec<Diagnostic>,
    /// Every rule document read, with its kind, in file order.
    pub documents: Vec<Document>,
}

/// One YAML document of a rule file that holds a rule.
#[derive(Debug, Clone)]
pub struct Document {
    pub file: Arc<SourceFile>,
    /// Where the document starts.
    pub span: span::Span,
    pub kind: sigma::load::DocKind,
    /// Its `title`, if it has one.
    pub title: Option<String>,
    /// Whether it became a rule: false when errors refused it.
    pub accepted: bool,
}

impl Compiled {
    /// The documents that hold a rule that was refused.
    pub fn refused(&self) -> impl Iterator<Item = &Document> {
        self.documents.iter().filter(|d| !d.accepted)
    }
}

/// [`compile_rules`], keeping what each document was and whether it was
/// accepted. A file may hold several YAML documents (`---`): each a sigcorr
/// rule, a Sigma detection rule (lowered by [`sigma`]) or a Sigma correlation
/// (resolved across all files by [`correlate::resolve`]). A rule with errors
/// is refused on its own; the others still pass.
pub fn compile_rule_set(files: &[Arc<SourceFile>], catalog: &table::Catalog) -> Compiled {
    use sigma::load::DocKind;
    let mut out = Compiled::default();
    let mut roots = Vec::new();
    let mut named = Vec::new();
    let mut pending = Vec::new();
    for file in files {
        if let Some(at) = file.not_utf8() {
            let message = "the file is not UTF-8 text: a rule file must be UTF-8 (save it as UTF-8)";
            out.diagnostics
                .push(Diagnostic::new(diagnostic::Code::NotText, message).at(file, span::Span::new(at, at + 1)));
            continue;
        }
        // A document that does not parse is reported; the file's others are still read.
        let (documents, broken) = yaml::parse_each_document(file);
        let any_broken = !broken.is_empty();
        out.diagnostics.extend(broken);
        if documents.is_empty() && any_broken {
            continue;
        }
        if documents.is_empty() {
            let d = Diagnostic::new(diagnostic::Code::EmptyFile, "the rule file is empty")
                .at(file, span::Span::at(0))
                .help("a rule needs at least `title`, `id`, `level` and `correlation` (or, for Sigma, `title`, `logsource` and `detection`)");
            out.diagnostics.push(d);
            continue;
        }
        for root in documents {
            let kind = DocKind::of(&root);
            let title = root.get("title").and_then(yaml::Node::scalar_text);
            let span = root.span;
            let rule = match kind {
                DocKind::Sigcorr => compile_sigcorr(file, root.clone(), catalog, &mut out.diagnostics),
                DocKind::Detection => compile_sigma(file, &root, catalog, &mut out.diagnostics),
                DocKind::Correlation => {
                    let (c, errors) = sigma::correlation::load(file, &root);
                    out.diagnostics.extend(errors);
                    out.diagnostics.extend(sigma::meta::check(file, &root));
                    c.map(|c| {
                        let rule = correlate::resolve::placeholder(&c);
                        let at = (out.rules.len(), out.documents.len());
                        pending.push(correlate::resolve::Pending { rule: at.0, doc: at.1, correlation: c });
                        rule
                    })
                }
            };
            named.push(correlate::resolve::Named::of(file, &root, rule.is_some().then_some(out.rules.len())));
            out.documents.push(Document { file: file.clone(), span, kind, title, accepted: rule.is_some() });
            out.rules.extend(rule);
            roots.push((file.clone(), root));
        }
    }
    if !pending.is_empty() {
        let mut accepted: Vec<bool> = out.documents.iter().map(|d| d.accepted).collect();
        let errors = correlate::resolve::resolve(&mut out.rules, pending, &mut named, &mut accepted, catalog);
        out.diagnostics.extend(errors);
        for (d, a) in out.documents.iter_mut().zip(accepted) {
            d.accepted = a;
        }
    }
    out.diagnostics.extend(lint::rule_set(&roots));
    // Only the outermost correlation carries metadata (the specification):
    // a rule a correlation references, and does not also write, is not
    // asked for its level, false positives or references.
    let unwritten = correlate::unwritten(&out.rules);
    let inner: Vec<(&Arc<span::SourceFile>, span::Span)> = (0..named.len())
        .filter(|&i| named[i].rule.is_some_and(|r| r < out.rules.len() && unwritten[r]))
        .map(|i| {
            // A document runs to the start of the file's next one.
            let file = &roots[i].0;
            let end =
                roots[i + 1..].iter().find(|(f, _)| Arc::ptr_eq(f, file)).map_or(usize::MAX, |(_, r)| r.span.start);
            (file, span::Span::new(roots[i].1.span.start, end))
        })
        .collect();
    // Looked up by binary search: a rule set can hold 100,000s of documents.
    let mut inner = inner;
    inner.sort_by_key(|(f, span)| (Arc::as_ptr(f), span.start));
    out.diagnostics.retain(|d| {
        let metadata = matches!(d.code, diagnostic::Code::MissingFalsePositives | diagnostic::Code::MissingReferences)
            || (d.code == diagnostic::Code::SigmaMetadata && d.message == "the rule has no `level`");
        let (Some(file), Some(at), true) = (d.file.as_ref(), d.span, metadata) else { return true };
        let key = (Arc::as_ptr(file), at.start);
        let i = inner.partition_point(|(f, span)| (Arc::as_ptr(f), span.start) <= key);
        !(i > 0 && Arc::ptr_eq(inner[i - 1].0, file) && at.start < inner[i - 1].1.end)
    });
    // In file order, then by position.
    let order = |d: &Diagnostic| {
        let file = d.file.as_ref().and_then(|f| files.iter().position(|g| Arc::ptr_eq(f, g)));
        (file.unwrap_or(usize::MAX), d.span.map_or(0, |s| s.start))
    };
    out.diagnostics.sort_by_key(order);
    out
}

/// One sigcorr rule document: load, parse, check.
fn compile_sigcorr(
    file: &Arc<SourceFile>,
    root: yaml::Node,
    catalog: &table::Catalog,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<check::CheckedRule> {
    // Names and types are checked even when the metadata has errors, so
    // that one run of the linter reports both.
    let loaded = rule::load_root(file, root);
    let clean = loaded.errors.is_empty();
    diagnostics.extend(loaded.errors);
    let doc = loaded.doc?;
    match check::check(&doc, catalog) {
        Ok((rule, warnings)) => {
            diagnostics.extend(warnings);
            clean.then_some(rule)
        }
        Err(errors) => {
            diagnostics.extend(errors);
            None
        }
    }
}

/// One Sigma detection document: load, lower, check.
fn compile_sigma(
    file: &Arc<SourceFile>,
    root: &yaml::Node,
    catalog: &table::Catalog,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<check::CheckedRule> {
    let (rule, errors) = sigma::load::load(file, root);
    diagnostics.extend(errors);
    diagnostics.extend(sigma::meta::check(file, root));
    let (doc, warnings) = match sigma::lower::lower(&rule?, catalog) {
        Ok(lowered) => lowered,
        Err(errors) => {
            diagnostics.extend(errors);
            return None;
        }
    };
    diagnostics.extend(warnings);
    match check::check(&doc, catalog) {
        Ok((rule, warnings)) => {
            diagnostics.extend(warnings);
            Some(rule)
        }
        Err(errors) => {
            diagnostics.extend(errors);
            None
        }
    }
}

/// Reads rule files: each path a file, or a directory searched recursively
/// for `*.yml` / `*.yaml` (sorted; `*.tests.yml` excluded). With no paths,
/// the rules built into the binary.
pub fn read_rule_files(paths: &[std::path::PathBuf]) -> std::io::Result<Vec<Arc<SourceFile>>> {
    if paths.is_empty() {
        return Ok(builtin::RULES.iter().map(|(p, t)| SourceFile::new(*p, (*t).to_string())).collect());
    }
    let mut found = Vec::new();
    for path in paths {
        collect_yaml(path, &mut found, true)?;
    }
    found
        .into_iter()
        .map(|p| {
            std::fs::read(&p)
                .map(|bytes| SourceFile::from_bytes(p.clone(), bytes))
                .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", p.display())))
        })
        .collect()
}

/// Adds the rule files at `path` to `out`: the path itself when named
/// (`explicit`), else YAML files that are not tests files; directories are
/// searched in sorted order, each directory once (a symbolic link back to
/// one already searched is passed over: two such links made the walk
/// exponential).
fn collect_yaml(path: &std::path::Path, out: &mut Vec<std::path::PathBuf>, explicit: bool) -> std::io::Result<()> {
    collect_yaml_in(path, out, explicit, &mut std::collections::HashSet::new())
}

fn collect_yaml_in(
    path: &std::path::Path,
    out: &mut Vec<std::path::PathBuf>,
    explicit: bool,
    searched: &mut std::collections::HashSet<std::path::PathBuf>,
) -> std::io::Result<()> {
    let named = |e: std::io::Error| std::io::Error::new(e.kind(), format!("{}: {e}", path.display()));
    let meta = std::fs::metadata(path).map_err(named)?;
    if meta.is_dir() {
        if !searched.insert(std::fs::canonicalize(path).map_err(named)?) {
            return Ok(());
        }
        let mut entries: Vec<_> =
            std::fs::read_dir(path).map_err(named)?.filter_map(Result::ok).map(|e| e.path()).collect();
        entries.sort();
        for e in entries {
            let hidden = e.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.'));
            if !hidden {
                collect_yaml_in(&e, out, false, searched)?;
            }
        }
    } else {
        let name = path.to_string_lossy();
        let yaml = name.ends_with(".yml") || name.ends_with(".yaml");
        if explicit || (yaml && !name.ends_with(".tests.yml") && meta.is_file()) {
            out.push(path.to_path_buf());
        }
    }
    Ok(())
}

/// The built-in table catalog plus the definitions under `dirs`.
pub fn load_catalog(dirs: &[std::path::PathBuf]) -> Result<table::Catalog, Vec<Diagnostic>> {
    let mut catalog = table::Catalog::builtin();
    let mut errors = Vec::new();
    let files = dirs.iter().map(|d| read_rule_files(std::slice::from_ref(d)));
    for batch in files {
        match batch {
            Ok(files) => {
                for f in files {
                    if let Some(at) = f.not_utf8() {
                        let message = "the file is not UTF-8 text: a table definition must be UTF-8";
                        errors.push(
                            Diagnostic::new(diagnostic::Code::NotText, message).at(&f, span::Span::new(at, at + 1)),
                        );
                        continue;
                    }
                    // A table definition, or a Sigma mapping file extending the mappings.
                    if let Err(d) = catalog.load(&f) {
                        errors.push(d);
                    }
                }
            }
            Err(e) => errors.push(Diagnostic::new(diagnostic::Code::TableDefinition, e.to_string())),
        }
    }
    // Checks across files (a category claimed twice, mappings naming unknown
    // tables) only when every file read: a broken file would be reported twice.
    if errors.is_empty() {
        errors = catalog.validate();
    }
    if errors.is_empty() { Ok(catalog) } else { Err(errors) }
}
