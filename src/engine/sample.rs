//! What the first MiB of each input says: how many records each table has
//! (to pick a join's build side) and which passes must read the input.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};

use memchr::memmem;

use crate::input::{InputFile, Reader};
use crate::plan::Plan;

/// The table a record names in its `Type` (or `category`) text, found
/// without parsing it: a hint for which pass parses it. `None` when the text
/// names no table a rule reads.
pub fn hint(plan: &Plan, text: &[u8]) -> Option<usize> {
    static TYPE: LazyLock<memmem::Finder<'static>> = LazyLock::new(|| memmem::Finder::new(b"\"Type\":"));
    static CATEGORY: LazyLock<memmem::Finder<'static>> = LazyLock::new(|| memmem::Finder::new(b"\"category\":"));
    // `"Type":"X"`, also with spaces around the colon's value (`"Type": "X"`,
    // as Python's json module and pretty printers write it).
    let name_after = |key: &memmem::Finder| -> Option<&str> {
        let mut at = key.find(text)? + key.needle().len();
        while text.get(at).is_some_and(u8::is_ascii_whitespace) {
            at += 1;
        }
        let rest = text.get(at..)?.strip_prefix(b"\"")?;
        let len = memchr::memchr(b'"', rest)?;
        std::str::from_utf8(&rest[..len]).ok()
    };
    match name_after(&TYPE) {
        Some(name) => plan.table_index(name),
        None => plan.table_index(plan.category_table(name_after(&CATEGORY)?)?),
    }
}

/// What the first MiB of each input says: records per table plan (scaled
/// by the input's size: enough to tell the smaller side of a join), and per
/// input which tables its sample names.
pub struct Estimate {
    pub sizes: Vec<f64>,
    /// Per input: bit `t` set when the sample holds a record of table plan
    /// `t`; `None` when it holds a record of no known table (or nothing).
    pub seen: Vec<Option<u64>>,
}

pub fn estimate(plan: &Plan, files: &[InputFile]) -> Estimate {
    const SAMPLE: usize = 1 << 20;
    let mut sizes = vec![0.0; plan.tables.len()];
    let mut seen = Vec::with_capacity(files.len());
    for file in files {
        let mut tables = Some(0u64);
        let sample = std::fs::metadata(&file.path).ok().and_then(|meta| {
            let raw = Arc::new(AtomicU64::new(0));
            let block = Reader::open(file, raw.clone()).ok()?.sample(SAMPLE)?;
            Some((block, meta.len() as f64 / raw.load(Ordering::Relaxed).max(1) as f64))
        });
        let Some((block, scale)) = sample else {
            seen.push(None);
            continue;
        };
        // The last line of the sample may be cut short: it says nothing.
        let whole = memchr::memrchr(b'\n', &block).map_or(&block[..], |nl| &block[..nl]);
        for line in whole.split(|&b| b == b'\n').filter(|l| !l.trim_ascii().is_empty()) {
            match hint(plan, line) {
                Some(t) => {
                    sizes[t] += scale.max(1.0);
                    tables = tables.map(|bits| if t < 64 { bits | 1 << t } else { bits });
                    if t >= 64 {
                        tables = None;
                    }
                }
                None => tables = None,
            }
        }
        seen.push(tables.filter(|&bits| bits != 0));
    }
    Estimate { sizes, seen }
}

/// Which passes read an input, from the tables its sample names. A record
/// the sample did not foresee is still evaluated: a stream-side record in a
/// build-only input is deferred to the stream pass; a build-side record in a
/// stream-only input makes the run fall back to one pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FileRole {
    /// Both passes; each record by its hint.
    Both,
    /// Only the build pass, which parses and counts every record.
    BuildOnly,
    /// Only the stream pass, which parses and counts every record.
    StreamOnly,
}

pub(super) fn file_role(seen: Option<u64>, builds: &[bool], streams: &[bool]) -> FileRole {
    let Some(bits) = seen else { return FileRole::Both };
    let tables = || (0..builds.len().min(64)).filter(move |t| bits >> t & 1 == 1);
    if tables().all(|t| builds[t] && !streams[t]) {
        FileRole::BuildOnly
    } else if tables().all(|t| streams[t] && !builds[t]) {
        FileRole::StreamOnly
    } else {
        FileRole::Both
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::Catalog;

    fn plan() -> Plan {
        let files = crate::read_rule_files(&[]).unwrap();
        let (rules, _) = crate::compile_rules(&files, &Catalog::builtin());
        crate::plan::plan(rules, &Catalog::builtin())
    }

    #[test]
    fn hints_name_the_table_in_either_shape_and_spacing() {
        let plan = plan();
        let graph = plan.table_index("MicrosoftGraphActivityLogs");
        let signin = plan.table_index("AADServicePrincipalSignInLogs");
        assert!(graph.is_some() && signin.is_some());
        assert_eq!(hint(&plan, br#"{"a":1,"Type":"MicrosoftGraphActivityLogs"}"#), graph);
        assert_eq!(hint(&plan, br#"{"a": 1, "Type": "MicrosoftGraphActivityLogs"}"#), graph);
        assert_eq!(hint(&plan, br#"{"category":"ServicePrincipalSignInLogs","properties":{}}"#), signin);
        assert_eq!(
            hint(&plan, br#"{"category" : "ServicePrincipalSignInLogs"}"#),
            None,
            "a space before the colon is not looked for"
        );
        assert_eq!(hint(&plan, br#"{"Type":"SigninLogs"}"#), None, "a table no rule reads");
        assert_eq!(hint(&plan, br#"{"Type":42}"#), None);
        assert_eq!(hint(&plan, br#"{"Type":"#), None);
    }
}
