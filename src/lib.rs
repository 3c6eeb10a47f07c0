//! sigcorr: correlation rules for cloud security logs.
//!
//! A rule names log tables (sources), how their records join, a filter per
//! source, and a mismatch predicate over each joined pair, in a small
//! Kusto-flavoured expression language. The pipeline, one module a stage:
//!
//! 1. **load** ([`rule`]): YAML text to a [`rule::RuleDoc`], every key and
//!    value with its position ([`yaml`]).
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
//! [`compile_rules`] chains load, parse, check and the rule-set checks of
//! [`lint`]; [`engine::run`] the rest.

pub mod ast;
pub mod builtin;
pub mod check;
pub mod compile;
pub mod datetime;
pub mod diagnostic;
pub mod emit;
pub mod engine;
pub mod eval;
pub mod functions;
pub mod input;
pub mod lint;
pub mod parser;
pub mod plan;
pub mod pred;
pub mod rule;
pub mod ruletest;
pub mod search;
pub mod source_map;
pub mod span;
pub mod table;
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
    let mut rules = Vec::new();
    let mut diagnostics = Vec::new();
    let mut roots = Vec::new();
    for file in files {
        // Names and types are checked even when the metadata has errors, so
        // that one run of the linter reports both.
        let loaded = rule::load_partial(file);
        let clean = loaded.errors.is_empty();
        diagnostics.extend(loaded.errors);
        if let Some(doc) = loaded.doc {
            match check::check(&doc, catalog) {
                Ok((rule, warnings)) => {
                    diagnostics.extend(warnings);
                    rules.extend(clean.then_some(rule));
                }
                Err(errors) => diagnostics.extend(errors),
            }
        }
        roots.extend(loaded.root.map(|root| (file.clone(), root)));
    }
    diagnostics.extend(lint::rule_set(&roots));
    // In file order, then by position.
    let order = |d: &Diagnostic| {
        let file = d.file.as_ref().and_then(|f| files.iter().position(|g| Arc::ptr_eq(f, g)));
        (file.unwrap_or(usize::MAX), d.span.map_or(0, |s| s.start))
    };
    diagnostics.sort_by_key(order);
    (rules, diagnostics)
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
            std::fs::read_to_string(&p)
                .map(|t| SourceFile::new(p.clone(), t))
                .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", p.display())))
        })
        .collect()
}

fn collect_yaml(path: &std::path::Path, out: &mut Vec<std::path::PathBuf>, explicit: bool) -> std::io::Result<()> {
    let meta =
        std::fs::metadata(path).map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    if meta.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(path)?.filter_map(Result::ok).map(|e| e.path()).collect();
        entries.sort();
        for e in entries {
            let hidden = e.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.'));
            if !hidden {
                collect_yaml(&e, out, false)?;
            }
        }
    } else {
        let name = path.to_string_lossy();
        let yaml = name.ends_with(".yml") || name.ends_with(".yaml");
        if explicit || (yaml && !name.ends_with(".tests.yml")) {
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
                    match table::parse_table(&f) {
                        Ok(t) => catalog.insert(t),
                        Err(d) => errors.push(d),
                    }
                }
            }
            Err(e) => errors.push(Diagnostic::new(diagnostic::Code::TableDefinition, e.to_string())),
        }
    }
    if errors.is_empty() { Ok(catalog) } else { Err(errors) }
}
