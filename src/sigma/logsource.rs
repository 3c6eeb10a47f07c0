//! Logsource to tables: which Log Analytics tables a Sigma rule's
//! `logsource` reads, and per-table aliases for Sigma field names.
//!
//! Both come from mapping files, YAML files among the table definitions
//! (`tables/sigma-logsources.yml` is built in; `--tables DIR` adds more). A
//! file is a mapping file when its root has `logsources` or `fields`:
//!
//! ```yaml
//! logsources:                      # most specific match wins
//!   - product: azure
//!     service: signinlogs
//!     tables: [SigninLogs, AADNonInteractiveUserSignInLogs]
//!   - product: azure
//!     service: pim
//!     tables: []                   # in a later file: removes the mapping
//! fields:                          # per table: Sigma field -> column or column.path
//!   AzureActivity:
//!     operationName: OperationNameValue
//! ```
//!
//! A rule's logsource matches an entry when every key the entry gives
//! (`product`, `category`, `service`) equals the rule's, case-insensitively;
//! keys the entry does not give are free. Of the matching entries, the one
//! that gives the most keys wins, and of those the one added last. Files are
//! read in order and [`Logsources::extend`]ed: an entry with the same keys
//! replaces the earlier one (`tables: []` removes it), and aliases merge per
//! table, the later file's winning (`field: ~` removes an alias).
//!
//! A Sigma field resolves against a table ([`Logsources::resolve`]) through
//! its alias if the table has one, else by the general rule: drop a leading
//! `properties.`, the first dotted segment names a column (compared
//! case-insensitively) and the rest is a path into it; when that names no
//! column, the field is tried whole (`Properties.x` is AzureActivity's
//! `Properties`).

use std::sync::Arc;

use crate::diagnostic::{Code, Diagnostic, did_you_mean};
use crate::span::{SourceFile, Span};
use crate::table::TableDef;
use crate::yaml::{Node, NodeKind};

/// The logsource keys an entry may give, in the order they are shown.
const KEYS: [&str; 3] = ["product", "category", "service"];

/// All the mappings read so far.
#[derive(Debug, Clone, Default)]
pub struct Logsources {
    entries: Vec<LogsourceEntry>,
    aliases: Vec<TableAliases>,
}

/// One `logsources` entry.
#[derive(Debug, Clone, Default)]
pub struct LogsourceEntry {
    pub product: Option<String>,
    pub category: Option<String>,
    pub service: Option<String>,
    /// Empty: the entry removes an earlier mapping with the same keys
    /// (unless it is `unavailable`).
    pub tables: Vec<String>,
    /// `unavailable: reason`: no table carries these logs; a rule with this
    /// logsource is refused with the reason (E210) instead of reading a
    /// table where it could never match.
    pub unavailable: Option<String>,
    /// Where the entry was read, with the span of each name in `tables`.
    pub origin: Option<Origin>,
}

/// A place in a mapping file: the file, and the spans of the names it gives.
#[derive(Debug, Clone)]
pub struct Origin {
    pub file: Arc<SourceFile>,
    pub spans: Vec<Span>,
}

/// The aliases of one table.
#[derive(Debug, Clone)]
struct TableAliases {
    table: String,
    /// Where the table's name is written.
    at: Option<(Arc<SourceFile>, Span)>,
    aliases: Vec<Alias>,
}

#[derive(Debug, Clone)]
struct Alias {
    /// As written; compared case-insensitively.
    field: String,
    /// None: the alias is removed (`field: ~`).
    target: Option<String>,
    /// Where the target is written.
    at: Option<(Arc<SourceFile>, Span)>,
}

/// A Sigma field resolved against a table: the column (as the table spells
/// it) and the path into it. The path is only meaningful for `dynamic`
/// columns, or strings holding JSON; checking that is the caller's part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRef {
    pub column: String,
    pub path: Vec<String>,
    /// Whether the table's alias for the field gave it.
    pub aliased: bool,
}

impl LogsourceEntry {
    fn keys(&self) -> [Option<&str>; 3] {
        [self.product.as_deref(), self.category.as_deref(), self.service.as_deref()]
    }

    /// Whether both entries give the same keys with the same values.
    fn same_keys(&self, other: &LogsourceEntry) -> bool {
        self.keys().iter().zip(other.keys()).all(|(a, b)| match (a, b) {
            (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
            (None, None) => true,
            _ => false,
        })
    }

    /// How many keys the entry gives, if it matches a rule's logsource.
    fn specificity(&self, rule: [Option<&str>; 3]) -> Option<usize> {
        let mut given = 0;
        for (want, have) in self.keys().iter().zip(rule) {
            if let Some(want) = want {
                match have {
                    Some(have) if have.eq_ignore_ascii_case(want) => given += 1,
                    _ => return None,
                }
            }
        }
        Some(given)
    }

    /// The entry's keys as `product: azure, service: pim`.
    pub fn describe(&self) -> String {
        let keys = KEYS.iter().zip(self.keys()).filter_map(|(k, v)| Some(format!("{k}: {}", v?)));
        keys.collect::<Vec<_>>().join(", ")
    }
}

impl Logsources {
    /// Whether a YAML root is a mapping file (has `logsources` or `fields` at top level).
    pub fn is_mapping(root: &Node) -> bool {
        root.get("logsources").is_some() || root.get("fields").is_some()
    }

    /// Parses one mapping file; errors are E600 diagnostics at file:line:col.
    pub fn parse(file: &Arc<SourceFile>, root: &Node) -> Result<Logsources, Diagnostic> {
        let bad = |span: Span, msg: String| Diagnostic::new(Code::TableDefinition, msg).at(file, span);
        let top = root.as_map().ok_or_else(|| bad(root.span, "a mapping file must be a mapping".into()))?;
        let mut out = Logsources::default();
        for (key, value) in top {
            match key.as_str() {
                Some("logsources") => {
                    let items = value.as_seq().ok_or_else(|| {
                        bad(value.span, format!("`logsources` must be a list of entries, not {}", value.type_name()))
                    })?;
                    for item in items {
                        let entry = parse_entry(file, item)?;
                        if let Some(earlier) = out.entries.iter().find(|e| e.same_keys(&entry)) {
                            let line = earlier.origin.as_ref().map_or(0, line_of);
                            return Err(bad(item.span, format!("logsource `{}` is mapped twice", entry.describe()))
                                .help(format!("the first mapping is on line {line}; keep one")));
                        }
                        out.entries.push(entry);
                    }
                }
                Some("fields") => out.aliases = parse_fields(file, value)?,
                _ => {
                    let name = key.scalar_text().unwrap_or_default();
                    let d = bad(key.span, format!("unknown key `{name}` in a mapping file"));
                    return Err(match did_you_mean(&name, ["logsources", "fields"]) {
                        Some(k) => d.help(format!("did you mean `{k}`?")),
                        None => d.help("a mapping file has `logsources` and `fields`"),
                    });
                }
            }
        }
        Ok(out)
    }

    /// Adds a later file's entries (later files win: an entry with the same
    /// product/category/service replaces the earlier, one with `tables: []`
    /// removes it; aliases merge per table, later wins, and `field: ~`
    /// removes the alias).
    pub fn extend(&mut self, other: Logsources) {
        for entry in other.entries {
            let at = self.entries.iter().position(|e| e.same_keys(&entry));
            match (at, entry.tables.is_empty() && entry.unavailable.is_none()) {
                (Some(i), true) => {
                    self.entries.remove(i);
                }
                (Some(i), false) => self.entries[i] = entry,
                (None, true) => {}
                (None, false) => self.entries.push(entry),
            }
        }
        for table in other.aliases {
            match self.aliases.iter_mut().find(|t| t.table == table.table) {
                None => self.aliases.push(table),
                Some(have) => {
                    for alias in table.aliases {
                        match have.aliases.iter_mut().find(|a| a.field.eq_ignore_ascii_case(&alias.field)) {
                            Some(a) => *a = alias,
                            None => have.aliases.push(alias),
                        }
                    }
                }
            }
        }
    }

    /// The tables for a rule's logsource: the entry whose given keys all
    /// equal the rule's (case-insensitively) and that gives the most keys;
    /// keys the entry does not name are free. None if no entry matches.
    pub fn tables(&self, product: Option<&str>, category: Option<&str>, service: Option<&str>) -> Option<&[String]> {
        self.entry(product, category, service).map(|e| e.tables.as_slice())
    }

    /// The entry [`Logsources::tables`] takes its tables from.
    pub fn entry(
        &self,
        product: Option<&str>,
        category: Option<&str>,
        service: Option<&str>,
    ) -> Option<&LogsourceEntry> {
        let rule = [product, category, service];
        let mut best: Option<(usize, &LogsourceEntry)> = None;
        for entry in self.entries.iter().filter(|e| !e.tables.is_empty() || e.unavailable.is_some()) {
            if let Some(n) = entry.specificity(rule)
                && best.is_none_or(|(m, _)| n >= m)
            {
                best = Some((n, entry));
            }
        }
        best.map(|(_, e)| e)
    }

    /// Every entry, in the order a lookup considers them.
    pub fn entries(&self) -> &[LogsourceEntry] {
        &self.entries
    }

    /// A per-table alias for a Sigma field (field compared case-insensitively).
    pub fn alias(&self, table: &str, field: &str) -> Option<&str> {
        let table = self.aliases.iter().find(|t| t.table == table)?;
        table.aliases.iter().find(|a| a.field.eq_ignore_ascii_case(field))?.target.as_deref()
    }

    /// A Sigma field resolved against `table`: through the table's alias if
    /// it has one, else by the general rule (module docs). None when the
    /// field names no column of the table.
    pub fn resolve(&self, table: &TableDef, field: &str) -> Option<FieldRef> {
        if let Some(target) = self.alias(&table.name, field) {
            return split_column(table, target).map(|(column, path)| FieldRef { column, path, aliased: true });
        }
        let bare = without_properties(field);
        (bare.len() < field.len())
            .then(|| split_column(table, bare))
            .flatten()
            .or_else(|| split_column(table, field))
            .map(|(column, path)| FieldRef { column, path, aliased: false })
    }

    /// Checks the mappings against the catalog's tables: every table an
    /// entry or alias names exists, and every alias names a column of its
    /// table.
    pub fn validate(&self, tables: &[TableDef]) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        let names = || tables.iter().map(|t| t.name.as_str());
        let unknown = |name: &str, what: &str| {
            let d = Diagnostic::new(Code::TableDefinition, format!("unknown table `{name}` in {what}"));
            match did_you_mean(name, names()) {
                Some(t) => d.help(format!("did you mean `{t}`?")),
                None => d.help("every table a mapping names needs a table definition"),
            }
        };
        let locate = |d: Diagnostic, at: Option<(&Arc<SourceFile>, Span)>| match at {
            Some((file, span)) => d.at(file, span),
            None => d,
        };
        for entry in &self.entries {
            for (i, name) in entry.tables.iter().enumerate() {
                if !tables.iter().any(|t| &t.name == name) {
                    let at = entry.origin.as_ref().and_then(|o| Some((&o.file, *o.spans.get(i)?)));
                    out.push(locate(unknown(name, &format!("the tables of logsource `{}`", entry.describe())), at));
                }
            }
        }
        for table in &self.aliases {
            let Some(def) = tables.iter().find(|t| t.name == table.table) else {
                let at = table.at.as_ref().map(|(f, s)| (f, *s));
                out.push(locate(unknown(&table.table, "`fields`"), at));
                continue;
            };
            for alias in &table.aliases {
                let Some(target) = &alias.target else { continue };
                if split_column(def, target).is_none() {
                    let column = target.split('.').next().unwrap_or_default();
                    let d = Diagnostic::new(
                        Code::TableDefinition,
                        format!(
                            "the alias of `{}` names `{column}`, which table `{}` does not have",
                            alias.field, def.name
                        ),
                    );
                    let d = match def.suggest(column) {
                        Some(h) => d.help(h),
                        None => d,
                    };
                    out.push(locate(d, alias.at.as_ref().map(|(f, s)| (f, *s))));
                }
            }
        }
        out
    }
}

/// The 1-based line an entry starts on.
fn line_of(origin: &Origin) -> usize {
    origin.spans.first().map_or(0, |s| origin.file.line_col(s.start).0)
}

fn parse_entry(file: &Arc<SourceFile>, item: &Node) -> Result<LogsourceEntry, Diagnostic> {
    let bad = |span: Span, msg: String| Diagnostic::new(Code::TableDefinition, msg).at(file, span);
    let map = item.as_map().ok_or_else(|| {
        bad(item.span, format!("a `logsources` entry must be a mapping, not {}", item.type_name()))
            .help("write `- product: azure` / `  service: signinlogs` / `  tables: [SigninLogs]`")
    })?;
    let mut entry = LogsourceEntry::default();
    let mut tables = None;
    for (key, value) in map {
        let name = key.scalar_text().unwrap_or_default();
        let slot = match name.as_str() {
            "product" => &mut entry.product,
            "category" => &mut entry.category,
            "service" => &mut entry.service,
            "tables" => {
                tables = Some(value);
                continue;
            }
            "unavailable" => {
                entry.unavailable = match &value.kind {
                    NodeKind::Str(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
                    _ => return Err(bad(value.span, "`unavailable` must say why, as a non-empty string".into())),
                };
                continue;
            }
            _ => {
                let d = bad(key.span, format!("unknown key `{name}` in a `logsources` entry"));
                return Err(match did_you_mean(&name, KEYS.into_iter().chain(["tables", "unavailable"])) {
                    Some(k) => d.help(format!("did you mean `{k}`?")),
                    None => d.help("an entry has `product`, `category`, `service` and `tables` (or `unavailable`)"),
                });
            }
        };
        *slot = match &value.kind {
            NodeKind::Str(s) if !s.trim().is_empty() => Some(s.clone()),
            _ => return Err(bad(value.span, format!("`{name}` must be a non-empty string"))),
        };
    }
    let Some(value) = tables else {
        if entry.unavailable.is_some() {
            return Ok(entry);
        }
        return Err(bad(item.span, "missing `tables`: the tables a rule with this logsource reads".into())
            .help("`tables: []` removes an earlier mapping with the same keys"));
    };
    let items = value
        .as_seq()
        .ok_or_else(|| bad(value.span, format!("`tables` must be a list of table names, not {}", value.type_name())))?;
    let mut spans = Vec::new();
    for t in items {
        let name = match &t.kind {
            NodeKind::Str(s) if !s.is_empty() => s.clone(),
            _ => return Err(bad(t.span, "a table name must be a non-empty string".into())),
        };
        if entry.tables.contains(&name) {
            return Err(bad(t.span, format!("table `{name}` is listed twice")));
        }
        entry.tables.push(name);
        spans.push(t.span);
    }
    if entry.keys().iter().all(Option::is_none) {
        return Err(bad(item.span, "a `logsources` entry needs `product`, `category` or `service`".into()));
    }
    // An entry's origin always has a span to point at: `tables: []` has no names.
    if spans.is_empty() {
        spans.push(item.span);
    }
    entry.origin = Some(Origin { file: file.clone(), spans });
    Ok(entry)
}

fn parse_fields(file: &Arc<SourceFile>, value: &Node) -> Result<Vec<TableAliases>, Diagnostic> {
    let bad = |span: Span, msg: String| Diagnostic::new(Code::TableDefinition, msg).at(file, span);
    let tables = value.as_map().ok_or_else(|| {
        bad(value.span, format!("`fields` must map table names to aliases, not {}", value.type_name()))
    })?;
    let mut out: Vec<TableAliases> = Vec::new();
    for (key, aliases) in tables {
        let table = key.scalar_text().unwrap_or_default();
        let entries = aliases.as_map().ok_or_else(|| {
            bad(aliases.span, format!("the aliases of `{table}` must map Sigma fields to columns"))
                .help("write `operationName: OperationNameValue`")
        })?;
        let mut list: Vec<Alias> = Vec::new();
        for (field, target) in entries {
            let name = field.scalar_text().unwrap_or_default();
            if name.is_empty() {
                return Err(bad(field.span, "a Sigma field name must be a non-empty string".into()));
            }
            if let Some(other) = list.iter().find(|a| a.field.eq_ignore_ascii_case(&name)) {
                return Err(bad(field.span, format!("`{name}` and `{}` are the same field", other.field))
                    .help("Sigma field names are compared case-insensitively: keep one"));
            }
            let target_text = match &target.kind {
                NodeKind::Str(s) => s.clone(),
                NodeKind::Null => {
                    list.push(Alias { field: name, target: None, at: Some((file.clone(), target.span)) });
                    continue;
                }
                _ => {
                    return Err(bad(
                        target.span,
                        format!("the alias of `{name}` must be a column name, `Column.path`, or `~` to remove it"),
                    ));
                }
            };
            if target_text.split('.').any(str::is_empty) {
                return Err(bad(target.span, format!("alias `{target_text}` of `{name}` has an empty segment"))
                    .help("write a column, or dotted keys into it: `TargetResources.modifiedProperties`"));
            }
            list.push(Alias { field: name, target: Some(target_text), at: Some((file.clone(), target.span)) });
        }
        out.push(TableAliases { table, at: Some((file.clone(), key.span)), aliases: list });
    }
    Ok(out)
}

/// `Column.rest.of.path` against a table: the column as the table spells it
/// (matched case-insensitively) and the path.
fn split_column(table: &TableDef, dotted: &str) -> Option<(String, Vec<String>)> {
    let mut segments = dotted.split('.');
    let first = segments.next()?;
    let path: Vec<String> = segments.map(str::to_string).collect();
    if first.is_empty() || path.iter().any(String::is_empty) {
        return None;
    }
    let column = match table.column(first) {
        Some(c) => c,
        None => table.columns.iter().find(|c| c.name.eq_ignore_ascii_case(first))?,
    };
    Some((column.name.clone(), path))
}

/// A Sigma field without a leading `properties.` (any case): the
/// diagnostic-settings spelling of a column, as the general rule reads it.
pub fn without_properties(field: &str) -> &str {
    strip_prefix_ignore_case(field, "properties.").filter(|rest| !rest.is_empty()).unwrap_or(field)
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &s[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::Catalog;

    fn parse(text: &str) -> Result<Logsources, Diagnostic> {
        let file = SourceFile::new("m.yml", text.to_string());
        let root = crate::yaml::parse(&file)?;
        assert!(Logsources::is_mapping(&root));
        Logsources::parse(&file, &root)
    }

    fn tables<'a>(m: &'a Logsources, p: Option<&str>, c: Option<&str>, s: Option<&str>) -> Option<Vec<&'a str>> {
        m.tables(p, c, s).map(|t| t.iter().map(String::as_str).collect())
    }

    const MAPPING: &str = "\
logsources:
  - product: azure
    tables: [AzureActivity]
  - product: azure
    service: signinlogs
    tables: [SigninLogs, AADNonInteractiveUserSignInLogs]
  - category: process_creation
    tables: [SecurityEvent]
  - product: windows
    category: process_creation
    tables: [DeviceProcessEvents]
fields:
  AzureActivity:
    operationName: OperationNameValue
    properties.message: OperationNameValue
";

    #[test]
    fn parses_entries_and_aliases() {
        let m = parse(MAPPING).unwrap();
        assert_eq!(m.entries().len(), 4);
        let e = &m.entries()[1];
        assert_eq!(
            (e.product.as_deref(), e.category.as_deref(), e.service.as_deref()),
            (Some("azure"), None, Some("signinlogs"))
        );
        assert_eq!(e.tables, ["SigninLogs", "AADNonInteractiveUserSignInLogs"]);
        assert_eq!(e.describe(), "product: azure, service: signinlogs");
        assert_eq!(m.alias("AzureActivity", "operationName"), Some("OperationNameValue"));
        assert_eq!(m.alias("AuditLogs", "operationName"), None);
        // Only a root with `logsources` or `fields` is a mapping file.
        let table = crate::yaml::parse(&SourceFile::new("t.yml", "table: T\ncolumns: {}\n".into())).unwrap();
        assert!(!Logsources::is_mapping(&table));
        let fields_only = crate::yaml::parse(&SourceFile::new("f.yml", "fields: {}\n".into())).unwrap();
        assert!(Logsources::is_mapping(&fields_only));
    }

    #[test]
    fn the_most_specific_matching_entry_wins() {
        let m = parse(MAPPING).unwrap();
        assert_eq!(
            tables(&m, Some("azure"), None, Some("signinlogs")),
            Some(vec!["SigninLogs", "AADNonInteractiveUserSignInLogs"])
        );
        // `product: azure` alone matches any azure service, and a rule with a category too.
        assert_eq!(tables(&m, Some("azure"), None, Some("auditlogs")), Some(vec!["AzureActivity"]));
        assert_eq!(
            tables(&m, Some("azure"), Some("x"), Some("signinlogs")),
            Some(vec!["SigninLogs", "AADNonInteractiveUserSignInLogs"])
        );
        // An entry's key the rule does not give does not match.
        assert_eq!(tables(&m, None, None, Some("signinlogs")), None);
        assert_eq!(tables(&m, Some("windows"), Some("process_creation"), None), Some(vec!["DeviceProcessEvents"]));
        assert_eq!(tables(&m, Some("linux"), Some("process_creation"), None), Some(vec!["SecurityEvent"]));
        assert_eq!(tables(&m, Some("gcp"), None, None), None);
        assert_eq!(tables(&m, None, None, None), None);
    }

    #[test]
    fn keys_and_fields_compare_case_insensitively() {
        let m = parse(MAPPING).unwrap();
        assert_eq!(
            tables(&m, Some("Azure"), None, Some("SigninLogs")),
            Some(vec!["SigninLogs", "AADNonInteractiveUserSignInLogs"])
        );
        assert_eq!(m.alias("AzureActivity", "OPERATIONNAME"), Some("OperationNameValue"));
        assert_eq!(m.alias("AzureActivity", "Properties.Message"), Some("OperationNameValue"));
        // Table names are not folded: they are the catalog's names.
        assert_eq!(m.alias("azureactivity", "operationName"), None);
    }

    #[test]
    fn a_later_file_replaces_removes_and_adds() {
        let mut m = parse(MAPPING).unwrap();
        m.extend(
            parse(
                "logsources:\n  - product: AZURE\n    service: SigninLogs\n    tables: [SigninLogs]\n  - product: azure\n    tables: []\n  - product: aws\n    service: cloudtrail\n    tables: [AWSCloudTrail]\nfields:\n  AzureActivity:\n    OperationName: OperationName\n    resultType: ActivityStatusValue\n    properties.message: ~\n  AuditLogs:\n    Status: Result\n",
            )
            .unwrap(),
        );
        // Replaced in place (same keys, compared case-insensitively).
        assert_eq!(tables(&m, Some("azure"), None, Some("signinlogs")), Some(vec!["SigninLogs"]));
        // Removed: no entry for other azure services any more.
        assert_eq!(tables(&m, Some("azure"), None, Some("auditlogs")), None);
        assert_eq!(m.entries().len(), 4);
        assert_eq!(tables(&m, Some("aws"), None, Some("cloudtrail")), Some(vec!["AWSCloudTrail"]));
        // Aliases merge per table, the later file's winning.
        assert_eq!(m.alias("AzureActivity", "operationName"), Some("OperationName"));
        assert_eq!(m.alias("AzureActivity", "resulttype"), Some("ActivityStatusValue"));
        // `~` removes an alias.
        assert_eq!(m.alias("AzureActivity", "properties.message"), None);
        assert_eq!(m.alias("AuditLogs", "status"), Some("Result"));
        // Removing what is not there, and an empty entry in a file of its own, match nothing.
        let mut empty = Logsources::default();
        empty.extend(parse("logsources:\n  - service: x\n    tables: []\n").unwrap());
        assert!(empty.entries().is_empty());
        let alone = parse("logsources:\n  - service: x\n    tables: []\n").unwrap();
        assert_eq!(alone.tables(None, None, Some("x")), None);
    }

    #[test]
    fn ties_go_to_the_entry_added_last() {
        let m = parse("logsources:\n  - product: p\n    category: c\n    tables: [A]\n  - product: p\n    service: s\n    tables: [B]\n").unwrap();
        assert_eq!(tables(&m, Some("p"), Some("c"), Some("s")), Some(vec!["B"]));
    }

    #[test]
    fn fields_resolve_through_aliases_or_the_general_rule() {
        let cat = Catalog::builtin();
        let m = &cat.logsources;
        let field = |table: &str, f: &str| {
            m.resolve(cat.get(table).unwrap(), f).map(|r| {
                let mut s = r.column;
                for p in r.path {
                    s = format!("{s}.{p}");
                }
                if r.aliased { format!("{s} (alias)") } else { s }
            })
        };
        let field = |t: &str, f: &str| field(t, f).unwrap_or_else(|| "-".into());
        assert_eq!(field("AzureActivity", "operationName"), "OperationNameValue (alias)");
        assert_eq!(field("AzureActivity", "OperationNameValue"), "OperationNameValue");
        assert_eq!(field("AzureActivity", "properties.statusCode"), "Properties.statusCode");
        assert_eq!(field("SigninLogs", "properties.deviceDetail.deviceId"), "DeviceDetail.deviceId");
        assert_eq!(field("SigninLogs", "DeviceDetail.trusttype"), "DeviceDetail.trusttype");
        assert_eq!(field("SigninLogs", "resultType"), "ResultType");
        assert_eq!(field("SigninLogs", "ClientApp"), "ClientAppUsed (alias)");
        assert_eq!(field("AuditLogs", "properties.message"), "OperationName (alias)");
        assert_eq!(
            field("AuditLogs", "TargetResources.modifiedProperties.newValue"),
            "TargetResources.modifiedProperties.newValue"
        );
        assert_eq!(field("AADUserRiskEvents", "riskEventType"), "RiskEventType");
        assert_eq!(field("AuditLogs", "riskEventType"), "-");
        assert_eq!(field("SigninLogs", "ActivityDetails"), "-");
        assert_eq!(field("SigninLogs", "properties."), "-");
        assert_eq!(field("SigninLogs", "DeviceDetail..x"), "-");
    }

    #[test]
    fn errors_are_located() {
        let err = |text: &str| {
            let d = parse(text).unwrap_err();
            assert_eq!(d.code, Code::TableDefinition, "{d}");
            (d.line_col().unwrap(), d.message)
        };
        assert_eq!(
            err("logsources:\n  - product: azure\n    servce: x\n    tables: [A]\n"),
            ((3, 5), "unknown key `servce` in a `logsources` entry".into())
        );
        assert_eq!(
            err("logsources:\n  - product: azure\n"),
            ((2, 5), "missing `tables`: the tables a rule with this logsource reads".into())
        );
        assert_eq!(
            err("logsources:\n  - tables: [A]\n"),
            ((2, 5), "a `logsources` entry needs `product`, `category` or `service`".into())
        );
        assert_eq!(
            err("logsources:\n  - product: 3\n    tables: [A]\n"),
            ((2, 14), "`product` must be a non-empty string".into())
        );
        assert_eq!(
            err("logsources:\n  - product: p\n    tables: A\n"),
            ((3, 13), "`tables` must be a list of table names, not a string".into())
        );
        assert_eq!(
            err("logsources:\n  - product: p\n    tables: [A, A]\n"),
            ((3, 17), "table `A` is listed twice".into())
        );
        assert_eq!(
            err("logsources:\n  - product: p\n    tables: [A]\n  - product: P\n    tables: [B]\n"),
            ((4, 5), "logsource `product: P` is mapped twice".into())
        );
        assert_eq!(err("logsources: {}\n"), ((1, 13), "`logsources` must be a list of entries, not a mapping".into()));
        assert_eq!(err("fields:\n  T:\n    a: B\n    A: C\n"), ((4, 5), "`A` and `a` are the same field".into()));
        assert_eq!(err("fields:\n  T:\n    a: B..c\n"), ((3, 8), "alias `B..c` of `a` has an empty segment".into()));
        assert_eq!(err("fields:\n  T: [a]\n"), ((2, 6), "the aliases of `T` must map Sigma fields to columns".into()));
        let (at, message) = err("logsource: []\nfields: {}\n");
        assert_eq!((at, message.as_str()), ((1, 1), "unknown key `logsource` in a mapping file"));
        let d = parse("logsource: []\nfields: {}\n").unwrap_err();
        assert_eq!(d.help.as_deref(), Some("did you mean `logsources`?"));
    }

    #[test]
    fn unknown_tables_and_columns_are_located() {
        let mut cat = Catalog::builtin();
        let file = SourceFile::new(
            "m.yml",
            "logsources:\n  - product: azure\n    service: x\n    tables: [SigninLog]\nfields:\n  AuditLog:\n    a: B\n  AuditLogs:\n    b: OperatonName.x\n".into(),
        );
        let root = crate::yaml::parse(&file).unwrap();
        cat.logsources.extend(Logsources::parse(&file, &root).unwrap());
        let errors = cat.validate();
        let shown: Vec<_> =
            errors.iter().map(|d| (d.line_col().unwrap(), d.message.as_str(), d.help.as_deref())).collect();
        assert_eq!(
            shown,
            [
                (
                    (4, 14),
                    "unknown table `SigninLog` in the tables of logsource `product: azure, service: x`",
                    Some("did you mean `SigninLogs`?")
                ),
                // Merged into the built-in `AuditLogs` aliases, which come before `AuditLog`.
                (
                    (9, 8),
                    "the alias of `b` names `OperatonName`, which table `AuditLogs` does not have",
                    Some("did you mean `OperationName`?")
                ),
                ((6, 3), "unknown table `AuditLog` in `fields`", Some("did you mean `AuditLogs`?")),
            ]
        );
    }

    /// `tables/SIGMA-FIELDS.md` lists every field of the public SigmaHQ Azure
    /// rules with how it resolves against each table of its service: check
    /// each row against the built-in catalog, so the document stays true.
    #[test]
    fn sigma_fields_inventory_resolves_as_documented() {
        let text = include_str!("../../tables/SIGMA-FIELDS.md");
        let cat = Catalog::builtin();
        let cells = |line: &str| -> Vec<String> {
            line.trim().trim_matches('|').split('|').map(|c| c.trim().to_string()).collect()
        };
        let (mut service, mut tables, mut rows) = (None::<String>, Vec::<String>::new(), 0);
        for line in text.lines() {
            if let Some(name) = line.strip_prefix("## ") {
                service = (!name.contains(' ')).then(|| name.to_string());
                tables.clear();
            } else if line.starts_with("| field |") {
                let Some(svc) = &service else { continue };
                let header = cells(line);
                tables = header[3..header.len() - 1].to_vec();
                let mapped = cat.logsources.tables(Some("azure"), None, Some(svc)).unwrap_or_default();
                assert_eq!(tables, mapped, "the tables of service `{svc}`");
            } else if line.starts_with("| `") && !tables.is_empty() {
                let row = cells(line);
                let field = row[0].trim_matches('`');
                for (table, cell) in tables.iter().zip(&row[3..]) {
                    let want = match cell.as_str() {
                        "—" => None,
                        c => {
                            let aliased = c.ends_with("*alias*");
                            Some((c.trim_end_matches("*alias*").trim().trim_matches('`').to_string(), aliased))
                        }
                    };
                    let got = cat.logsources.resolve(cat.get(table).unwrap(), field).map(|r| {
                        let dotted = std::iter::once(r.column).chain(r.path).collect::<Vec<_>>().join(".");
                        (dotted, r.aliased)
                    });
                    assert_eq!(got, want, "`{field}` in {table}");
                }
                rows += 1;
            }
        }
        assert!(rows > 60, "read {rows} rows");
    }
}
