//! Table definitions: which columns a log table has and their types.
//!
//! Tables are data, not code: `tables/*.yml` are built into the binary, and
//! `--tables DIR` adds or replaces definitions without recompiling.
//!
//! ```yaml
//! table: MicrosoftGraphActivityLogs
//! description: One row per Microsoft Graph API request.
//! columns:
//!   IPAddress: string
//!   ResponseStatusCode: int
//! ```

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
    index: HashMap<String, usize>,
}

impl TableDef {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.index.get(name).map(|&i| &self.columns[i])
    }

    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
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
    Ok(TableDef { name, description, columns, index })
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
    fn bad_column_type_is_located() {
        let file = SourceFile::new("t.yml", "table: T\ncolumns:\n  A: strng\n".into());
        let err = parse_table(&file).unwrap_err();
        assert_eq!(err.line_col(), Some((3, 6)));
        assert_eq!(err.message, "unknown column type `strng` for `A`");
    }
}
