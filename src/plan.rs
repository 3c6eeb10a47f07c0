//! Plan: all checked rules together. Numbers every column any rule reads
//! (the projection each record is parsed into), lists which (rule, source)
//! filters each table's records are tested against, and marks the columns
//! alerts copy verbatim from the input. Also decides which record fields
//! the parser extracts: each projected column's Log Analytics name and its
//! diagnostic-settings path ([`Plan::fields`]).

use std::collections::HashMap;

use crate::check::{CheckedRule, TExpr, TKind};
use crate::input::Shape;
use crate::table::Catalog;
use crate::types::Type;

/// A column's number in the run: an index into [`Plan::columns`].
pub type ColumnId = u32;

/// No slot: the table has no such column.
pub const NO_SLOT: u32 = u32::MAX;

/// A record field's number in the run: an index into [`Plan::fields`] (and
/// into the [`crate::input::FieldIndex`] built from them).
pub use crate::input::FieldId;

/// Where a projected column's value is in a record of one shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldSource {
    /// The value of this field.
    Field(FieldId),
    /// The table's name (the `Type` column).
    TableName,
    /// Records of this shape do not carry the column: it is absent.
    Absent,
}

#[derive(Debug)]
pub struct Plan {
    pub rules: Vec<CheckedRule>,
    /// Every column name some rule reads, plus `Type` (the routing key).
    pub columns: Vec<String>,
    /// The id of the `Type` column.
    pub type_column: ColumnId,
    pub tables: Vec<TablePlan>,
    /// `sources[rule][source]`: indices into `tables`.
    pub sources: Vec<Vec<Vec<usize>>>,
    /// Every record field the parser extracts, as a key path from the record
    /// root: `["IPAddress"]`, `["properties", "ipAddress"]`.
    pub fields: Vec<Vec<String>>,
    /// The Log Analytics routing field, `Type`.
    pub type_field: FieldId,
    /// The diagnostic-settings routing field, `category`.
    pub category_field: FieldId,
    /// Diagnostic `category` to table name, for every catalog table with an
    /// export (also tables no rule reads, to name them in the summary).
    pub categories: HashMap<String, String>,
    /// Every correlation input: (correlation rule, input index), what it
    /// reads of the referenced rule's alerts.
    pub consumers: Vec<Consumer>,
    /// Per rule, the consumers that read it as feeds (a single-source rule
    /// only correlations read: its matches are [`crate::engine::Feed`]s,
    /// not alerts); empty for the others.
    pub feeds: Vec<Vec<u32>>,
    /// The filters and mismatches as the last run compiled them (for its
    /// `now`), so that the next run with the same `now` reuses them. A plan
    /// is not changed after [`plan`] builds it: a changed `rules` would be
    /// run with the predicates of the old one.
    pub preds: crate::engine::PredCache,
}

/// One input of one correlation.
#[derive(Debug, Clone)]
pub struct Consumer {
    pub correlation: usize,
    pub input: usize,
    /// The referenced rule.
    pub rule: usize,
    /// Its outputs holding the group-by values.
    pub keys: Vec<usize>,
    /// Its output holding the value, and how it is read.
    pub value: Option<(usize, ValueKind)>,
}

/// How a correlation reads a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// Distinct values counted (value_count).
    Distinct,
    /// A number (value_sum, value_avg, value_percentile, value_median).
    Number,
}

/// What the engine keeps of one table's records.
#[derive(Debug)]
pub struct TablePlan {
    pub name: String,
    /// The columns a record of this table is parsed into, in slot order.
    pub projection: Vec<Projected>,
    /// `slot_of[column id]`: the slot, or [`NO_SLOT`].
    pub slot_of: Vec<u32>,
    /// The (rule, source) pairs that read this table: a record is kept when
    /// one of their filters holds.
    pub users: Vec<(usize, usize)>,
}

#[derive(Debug)]
pub struct Projected {
    pub column: ColumnId,
    pub ty: Type,
    /// Some alert copies this column as it was in the input.
    pub keep_raw: bool,
    /// Where the value is, indexed by [`Shape`].
    pub from: [FieldSource; 2],
}

impl Projected {
    pub fn source(&self, shape: Shape) -> FieldSource {
        self.from[shape as usize]
    }
}

impl TablePlan {
    pub fn slot(&self, column: ColumnId) -> Option<usize> {
        match self.slot_of.get(column as usize) {
            Some(&s) if s != NO_SLOT => Some(s as usize),
            _ => None,
        }
    }
}

/// Compiles rule files into a plan over the built-in tables, every file to a
/// rule without errors: for unit tests.
#[cfg(test)]
pub(crate) fn plan_of(files: &[std::sync::Arc<crate::span::SourceFile>]) -> Plan {
    let catalog = Catalog::builtin();
    let (rules, diagnostics) = crate::compile_rules(files, &catalog);
    assert!(diagnostics.iter().all(|d| !d.is_error()), "{diagnostics:?}");
    assert_eq!(rules.len(), files.len());
    plan(rules, &catalog)
}

/// Rule file `r{i}.yml` for unit tests: the `correlation` section's lines
/// (indented by two) under the metadata every rule needs, with a title and
/// id of its own.
#[cfg(test)]
pub(crate) fn test_rule(i: usize, correlation: &str) -> std::sync::Arc<crate::span::SourceFile> {
    let text = format!(
        "title: Rule {i}\nid: 00000000-0000-4000-8000-{i:012}\nstatus: test\ndescription: d\n\
         author: a\nlicense: MIT\nreferences:\n  - https://example.com\ntags:\n  - attack.t1528\n\
         level: low\nfalsepositives:\n  - none\ncorrelation:\n{correlation}"
    );
    crate::span::SourceFile::new(format!("r{i}.yml"), text)
}

/// Plans a run of `rules`. Every table the rules name must be in `catalog`
/// (the checker made sure of it).
pub fn plan(mut rules: Vec<CheckedRule>, catalog: &Catalog) -> Plan {
    let mut columns: Vec<String> = vec!["Type".to_string()];
    let mut ids: HashMap<String, ColumnId> = HashMap::from([("Type".to_string(), 0)]);
    let mut tables: Vec<TablePlan> = Vec::new();
    let mut sources = Vec::new();
    // (table index, column id) → keep_raw, in first-use order.
    let mut wanted: Vec<(usize, ColumnId, bool)> = Vec::new();

    for (r, rule) in rules.iter_mut().enumerate() {
        let raw_outputs: Vec<(usize, String)> = rule
            .output
            .iter()
            .filter_map(|o| o.expr.as_column().filter(|c| c.path.is_empty()).map(|c| (c.source, c.column.clone())))
            .collect();
        let mut rule_tables = Vec::new();
        for (s, source) in rule.sources.iter().enumerate() {
            let mut idxs = Vec::new();
            for name in &source.tables {
                let t = match tables.iter().position(|t| &t.name == name) {
                    Some(t) => t,
                    None => {
                        tables.push(TablePlan {
                            name: name.clone(),
                            projection: Vec::new(),
                            slot_of: Vec::new(),
                            users: Vec::new(),
                        });
                        tables.len() - 1
                    }
                };
                tables[t].users.push((r, s));
                idxs.push(t);
            }
            rule_tables.push(idxs);
        }
        let mut number = |e: &mut TExpr| {
            if let TKind::Column(c) = &mut e.kind {
                let next = columns.len() as ColumnId;
                let id = *ids.entry(c.column.clone()).or_insert_with(|| {
                    columns.push(c.column.clone());
                    next
                });
                c.id = id;
                let keep_raw = raw_outputs.iter().any(|(s, name)| *s == c.source && *name == c.column);
                for &t in &rule_tables[c.source] {
                    wanted.push((t, id, keep_raw));
                }
            }
        };
        for source in &mut rule.sources {
            if let Some(f) = &mut source.filter {
                f.walk_mut(&mut number);
            }
        }
        for key in &mut rule.join {
            key.left.walk_mut(&mut number);
            key.right.walk_mut(&mut number);
        }
        if let Some(m) = &mut rule.mismatch {
            m.walk_mut(&mut number);
        }
        for o in &mut rule.output {
            o.expr.walk_mut(&mut number);
        }
        if let Some(t) = &mut rule.time {
            t.walk_mut(&mut number);
        }
        sources.push(rule_tables);
    }

    for (t, column, keep_raw) in wanted {
        let table = &mut tables[t];
        let Some(def) = catalog.get(&table.name) else { continue };
        let Some(col) = def.column(&columns[column as usize]) else { continue };
        match table.projection.iter_mut().find(|p| p.column == column) {
            Some(p) => p.keep_raw |= keep_raw,
            None => table.projection.push(Projected {
                column,
                ty: col.ty,
                keep_raw,
                from: [FieldSource::Absent, FieldSource::Absent],
            }),
        }
    }

    let mut fields: Vec<Vec<String>> = Vec::new();
    let mut field_ids: HashMap<Vec<String>, FieldId> = HashMap::new();
    let mut intern = |path: Vec<String>| -> FieldId {
        *field_ids.entry(path.clone()).or_insert_with(|| {
            fields.push(path);
            (fields.len() - 1) as FieldId
        })
    };
    let type_field = intern(vec!["Type".to_string()]);
    let category_field = intern(vec!["category".to_string()]);
    for table in &mut tables {
        table.slot_of = vec![NO_SLOT; columns.len()];
        let def = catalog.get(&table.name);
        for (slot, p) in table.projection.iter_mut().enumerate() {
            table.slot_of[p.column as usize] = slot as u32;
            let name = &columns[p.column as usize];
            if name == "Type" {
                p.from = [FieldSource::TableName; 2];
                continue;
            }
            p.from[Shape::LogAnalytics as usize] = FieldSource::Field(intern(vec![name.clone()]));
            p.from[Shape::Diagnostic as usize] = match def.and_then(|d| d.diagnostic_path(name)) {
                Some(path) => FieldSource::Field(intern(path.to_vec())),
                None => FieldSource::Absent,
            };
        }
    }
    // Every category a table claims routes to it (the catalog makes sure no
    // two tables claim one; if they do, the first keeps it).
    let mut categories = HashMap::new();
    for t in catalog.tables() {
        for category in t.diagnostic.iter().flat_map(|d| &d.categories) {
            categories.entry(category.clone()).or_insert_with(|| t.name.clone());
        }
    }
    let (consumers, feeds) = consumers(&rules);
    Plan {
        rules,
        columns,
        type_column: 0,
        tables,
        sources,
        fields,
        type_field,
        category_field,
        categories,
        consumers,
        feeds,
        preds: Default::default(),
    }
}

/// Every correlation input, and per rule the ones read as feeds: those of
/// a single-source rule whose alerts are not written.
fn consumers(rules: &[CheckedRule]) -> (Vec<Consumer>, Vec<Vec<u32>>) {
    use crate::sigma::correlation::Kind;
    let mut all = Vec::new();
    let mut feeds = vec![Vec::new(); rules.len()];
    let unwritten = crate::correlate::unwritten(rules);
    for (c, rule) in rules.iter().enumerate() {
        let Some(spec) = &rule.correlation else { continue };
        let kind = if spec.kind == Kind::ValueCount { ValueKind::Distinct } else { ValueKind::Number };
        for (i, input) in spec.inputs.iter().enumerate() {
            // `fields` lists values, which feeds do not keep.
            let feeding = rules[input.rule].sources.len() == 1 && spec.fields.is_empty() && unwritten[input.rule];
            if feeding {
                feeds[input.rule].push(all.len() as u32);
            }
            all.push(Consumer {
                correlation: c,
                input: i,
                rule: input.rule,
                keys: input.keys.clone(),
                value: input.value.map(|v| (v, kind)),
            });
        }
    }
    (all, feeds)
}

impl Plan {
    /// The table plan for a `Type` value, if any rule reads that table.
    pub fn table_index(&self, name: &str) -> Option<usize> {
        self.tables.iter().position(|t| t.name == name)
    }

    /// The table a diagnostic-settings `category` routes to, if the catalog
    /// knows it.
    pub fn category_table(&self, category: &str) -> Option<&str> {
        self.categories.get(category).map(String::as_str)
    }
}
