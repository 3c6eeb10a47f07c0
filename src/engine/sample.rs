//! What the first MiB of each input says: how many records each table has
//! (to pick a join's build side) and which tables it holds (which passes
//! must read it); and the hint that names a record's table without parsing
//! it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::input::{InputFile, ReadOptions, Reader, TableHint, table_hint};
use crate::plan::Plan;

/// The table plan a record names in its `Type` (or `category`) text, found
/// without parsing it ([`table_hint`]): a hint for which pass parses it.
/// `None` when the text names no table a rule reads.
pub(super) fn hint(plan: &Plan, text: &[u8]) -> Option<usize> {
    match table_hint(text)? {
        TableHint::Type(name) => plan.table_index(name),
        TableHint::Category(category) => plan.table_index(plan.category_table(category)?),
    }
}

/// What the first MiB of each input says: records per table plan (scaled
/// by the input's size: enough to tell the smaller side of a join), and per
/// input which tables its sample names.
pub(super) struct Estimate {
    pub(super) sizes: Vec<f64>,
    /// Per input: bit `t` set when the sample holds a record of table plan
    /// `t`; `None` when it holds a record of no known table (or nothing).
    pub(super) seen: Vec<Option<u64>>,
}

pub(super) fn estimate(plan: &Plan, files: &[InputFile], read: ReadOptions) -> Estimate {
    const SAMPLE: usize = 1 << 20;
    let mut sizes = vec![0.0; plan.tables.len()];
    let mut seen = Vec::with_capacity(files.len());
    for file in files {
        let mut tables = Some(0u64);
        // Only an input read twice is sampled: a reader would be used up.
        let sample = file.len_hint().filter(|_| file.rereadable()).and_then(|len| {
            let raw = Arc::new(AtomicU64::new(0));
            let block = Reader::open(file, raw.clone(), read).ok()?.sample(SAMPLE)?;
            Some((block, len as f64 / raw.load(Ordering::Relaxed).max(1) as f64))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::Catalog;

    fn plan() -> Plan {
        let files = crate::builtin::seed_rule_files();
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
