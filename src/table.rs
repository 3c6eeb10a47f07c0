//! Table definitions: which columns a log table has and their types.
//!
//! Tables are data, not code: `tables/*.yml` are built into the binary, and
//! `--tables DIR` adds or replaces definitions without recompiling.
//!
//! ```yaml
//! table: MicrosoftGraphActivityLogs
//! description: One row per Microsoft Graph API request.
//! diagnostic:                      # optional: the diagnostic-settings export
//!   category: MicrosoftGraphActivityLogs
//!   paths:                          # column -> dotted path from the record root
//!     IPAddress: properties.ipAddress
//!     ResponseStatusCode: properties.responseStatusCode
//!     TenantId: ~                   # not in the export: read as absent
//! columns:
//!   IPAddress: string
//!   ResponseStatusCode: int
//! ```
//!
//! Log Analytics records name their table in `Type` and carry the columns
//! flat; diagnostic-settings records (storage account / Event Hub) name it in
//! `category` and carry the columns at their `paths`. `Type` itself is the
//! table's name in both shapes.

use std::collections::HashMap;
use std::sync::Arc;

use crate::diagnostic::{Code, Diagnostic, did_you_mean};
use crate::span::{SourceFile, Span};
use crate::types::Type;
use crate::yaml::{self, Node};

#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    pub ty: Type,
    /// The type as the definition spells it (`int`, `guid`, ...).
    pub declared: String,
}

#[derive(Debug, Clone)]
pub struct TableDef {
    pub name: String,
    pub description: String,
    pub columns: Vec<Column>,
    /// Where diagnostic-settings exports put this table's rows, if they do.
    pub diagnostic: Option<DiagnosticExport>,
    index: HashMap<String, usize>,
}

/// The diagnostic-settings shape of a table: the `category` that routes a
/// record here, and each column's path in the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiagnosticExport {
    pub category: String,
    /// `paths[column index]`: the path's segments (`["properties", "ipAddress"]`),
    /// or `None` when the export has no such value.
    pub paths: Vec<Option<Vec<String>>>,
}

impl TableDef {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.index.get(name).map(|&i| &self.columns[i])
    }

    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    /// A column's path in diagnostic-settings records, as segments.
    pub fn diagnostic_path(&self, column: &str) -> Option<&[String]> {
        let i = self.column_index(column)?;
        self.diagnostic.as_ref()?.paths.get(i)?.as_deref()
    }

    /// `help:` text for a column name this table does not have.
    pub fn suggest(&self, name: &str) -> Option<String> {
        did_you_mean(name, self.columns.iter().map(|c| c.name.as_str())).map(|c| format!("did you mean `{c}`?"))
    }
}

/// All known tables, by name.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    tables: Vec<TableDef>,
}

impl Catalog {
    /// The tables built into the binary (`tables/*.yml`).
    pub fn builtin() -> Catalog {
        let mut catalog = Catalog::default();
        for (path, text) in crate::builtin::TABLES {
            let file = SourceFile::new(*path, (*text).to_string());
            let table = parse_table(&file)
                .unwrap_or_else(|d| panic!("built-in table definition is invalid (a build bug):\n{d}"));
            catalog.insert(table);
        }
        catalog
    }

    /// Adds a table, replacing one of the same name.
    pub fn insert(&mut self, table: TableDef) {
        match self.tables.iter_mut().find(|t| t.name == table.name) {
            Some(t) => *t = table,
            None => self.tables.push(table),
        }
    }

    pub fn get(&self, name: &str) -> Option<&TableDef> {
        self.tables.iter().find(|t| t.name == name)
    }

    pub fn tables(&self) -> &[TableDef] {
        &self.tables
    }

    pub fn suggest(&self, name: &str) -> Option<String> {
        did_you_mean(name, self.tables.iter().map(|t| t.name.as_str())).map(|t| format!("did you mean `{t}`?"))
    }
}

/// Reads one table definition file.
pub fn parse_table(file: &Arc<SourceFile>) -> Result<TableDef, Diagnostic> {
    let root = yaml::parse(file)?;
    let bad = |span: Span, msg: String| Diagnostic::new(Code::TableDefinition, msg).at(file, span);
    let name = match root.get("table") {
        Some(Node { kind: yaml::NodeKind::Str(s), .. }) => s.clone(),
        Some(n) => return Err(bad(n.span, "`table` must be a string".into())),
        None => return Err(bad(root.span, "missing `table`: the table's name".into())),
    };
    let description = root.get("description").and_then(Node::scalar_text).unwrap_or_default();
    let cols = root
        .get("columns")
        .and_then(Node::as_map)
        .ok_or_else(|| bad(root.span, "missing `columns`: a mapping of column name to type".into()))?;
    let mut columns = Vec::new();
    let mut index = HashMap::new();
    for (key, value) in cols {
        let col = key.scalar_text().unwrap_or_default();
        let declared = value.as_str().unwrap_or_default();
        let ty = Type::from_column_type(declared).ok_or_else(|| {
            bad(value.span, format!("unknown column type `{declared}` for `{col}`"))
                .help(format!("one of: {}", Type::COLUMN_TYPES.join(", ")))
        })?;
        index.insert(col.clone(), columns.len());
        columns.push(Column { name: col, ty, declared: declared.to_string() });
    }
    if !index.contains_key("Type") {
        index.insert("Type".into(), columns.len());
        columns.push(Column { name: "Type".into(), ty: Type::String, declared: "string".into() });
    }
    let mut table = TableDef { name, description, columns, diagnostic: None, index };
    if let Some(node) = root.get("diagnostic") {
        table.diagnostic = Some(parse_diagnostic(node, &table, &bad)?);
    }
    Ok(table)
}

fn parse_diagnostic(
    node: &Node,
    table: &TableDef,
    bad: &dyn Fn(Span, String) -> Diagnostic,
) -> Result<DiagnosticExport, Diagnostic> {
    let category = match node.get("category") {
        Some(Node { kind: yaml::NodeKind::Str(s), .. }) if !s.is_empty() => s.clone(),
        Some(n) => return Err(bad(n.span, "`diagnostic.category` must be a non-empty string".into())),
        None => {
            return Err(bad(node.span, "missing `diagnostic.category`: the `category` of this table's records".into()));
        }
    };
    let mut paths = vec![None; table.columns.len()];
    let entries = match node.get("paths") {
        Some(n) => n.as_map().ok_or_else(|| bad(n.span, "`diagnostic.paths` must map column names to paths".into()))?,
        None => &[],
    };
    for (key, value) in entries {
        let col = key.scalar_text().unwrap_or_default();
        let Some(i) = table.column_index(&col) else {
            let d = bad(key.span, format!("unknown column `{col}` in `diagnostic.paths` of table `{}`", table.name));
            return Err(match table.suggest(&col) {
                Some(h) => d.help(h),
                None => d,
            });
        };
        if col == "Type" {
            return Err(bad(key.span, "`Type` has no path: it is the table's name in both shapes".into())
                .help("remove this entry"));
        }
        paths[i] = match &value.kind {
            yaml::NodeKind::Null => None,
            yaml::NodeKind::Str(p) => {
                let segments: Vec<String> = p.split('.').map(str::to_string).collect();
                if segments.iter().any(|s| s.is_empty()) {
                    return Err(bad(value.span, format!("path `{p}` of `{col}` has an empty segment"))
                        .help("write dotted keys, e.g. `properties.ipAddress`"));
                }
                Some(segments)
            }
            _ => return Err(bad(value.span, format!("the path of `{col}` must be a string or `~`"))),
        };
    }
    Ok(DiagnosticExport { category, paths })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_tables_have_the_hunts_columns() {
        let cat = Catalog::builtin();
        let graph = cat.get("MicrosoftGraphActivityLogs").unwrap();
        assert_eq!(graph.column("ResponseStatusCode").unwrap().ty, Type::Long);
        assert_eq!(graph.column("TimeGenerated").unwrap().ty, Type::DateTime);
        assert_eq!(graph.column("SignInActivityId").unwrap().ty, Type::String);
        for t in ["AADServicePrincipalSignInLogs", "AADManagedIdentitySignInLogs"] {
            let t = cat.get(t).unwrap();
            for c in ["IPAddress", "UniqueTokenIdentifier", "ServicePrincipalName", "ServicePrincipalCredentialKeyId"] {
                assert!(t.column(c).is_some(), "{} lacks {c}", t.name);
            }
        }
        let mi = cat.get("AADManagedIdentitySignInLogs").unwrap();
        assert!(mi.column("AutonomousSystemNumber").is_none());
        assert!(mi.column("ManagedServiceIdentity").is_some());
    }

    #[test]
    fn builtin_tables_map_every_column_to_a_diagnostic_path() {
        let cat = Catalog::builtin();
        let want = [
            ("MicrosoftGraphActivityLogs", "MicrosoftGraphActivityLogs", "TimeGenerated", "properties.timeGenerated"),
            (
                "AADServicePrincipalSignInLogs",
                "ServicePrincipalSignInLogs",
                "TimeGenerated",
                "properties.createdDateTime",
            ),
            (
                "AADManagedIdentitySignInLogs",
                "ManagedIdentitySignInLogs",
                "TimeGenerated",
                "properties.createdDateTime",
            ),
        ];
        for (table, category, col, path) in want {
            let t = cat.get(table).unwrap();
            assert_eq!(t.diagnostic.as_ref().unwrap().category, category);
            assert_eq!(t.diagnostic_path(col).unwrap().join("."), path);
            assert_eq!(t.diagnostic_path("IPAddress").unwrap().join("."), "properties.ipAddress");
            assert_eq!(t.diagnostic_path("TenantId"), None, "the workspace id is not exported");
        }
        let graph = cat.get("MicrosoftGraphActivityLogs").unwrap();
        assert_eq!(graph.diagnostic_path("SignInActivityId").unwrap().join("."), "properties.signInActivityId");
        let sp = cat.get("AADServicePrincipalSignInLogs").unwrap();
        assert_eq!(sp.diagnostic_path("UniqueTokenIdentifier").unwrap().join("."), "properties.uniqueTokenIdentifier");
        assert_eq!(sp.diagnostic_path("Level").unwrap().join("."), "level");
    }

    #[test]
    fn bad_diagnostic_paths_are_located() {
        let file = SourceFile::new(
            "t.yml",
            "table: T\ndiagnostic:\n  category: C\n  paths:\n    IPAdress: properties.ip\ncolumns:\n  IPAddress: string\n"
                .into(),
        );
        let err = parse_table(&file).unwrap_err();
        assert_eq!(err.line_col(), Some((5, 5)));
        assert_eq!(err.message, "unknown column `IPAdress` in `diagnostic.paths` of table `T`");
        let file = SourceFile::new(
            "t.yml",
            "table: T\ndiagnostic:\n  category: C\n  paths:\n    A: properties..x\ncolumns:\n  A: string\n".into(),
        );
        let err = parse_table(&file).unwrap_err();
        assert_eq!(err.line_col(), Some((5, 8)));
        assert_eq!(err.message, "path `properties..x` of `A` has an empty segment");
        let file = SourceFile::new("t.yml", "table: T\ndiagnostic:\n  paths: {}\ncolumns:\n  A: string\n".into());
        assert!(parse_table(&file).unwrap_err().message.starts_with("missing `diagnostic.category`"));
    }

    #[test]
    fn bad_column_type_is_located() {
        let file = SourceFile::new("t.yml", "table: T\ncolumns:\n  A: strng\n".into());
        let err = parse_table(&file).unwrap_err();
        assert_eq!(err.line_col(), Some((3, 6)));
        assert_eq!(err.message, "unknown column type `strng` for `A`");
    }
}
