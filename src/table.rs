//! Table definitions: which columns a log table has and their types.
//!
//! Tables are data, not code: `tables/*.yml` are built into the binary, and
//! `--tables DIR` adds or replaces definitions without recompiling.
//!
//! ```yaml
//! table: MicrosoftGraphActivityLogs
//! description: One row per Microsoft Graph API request.
//! diagnostic:                      # optional: the diagnostic-settings export
//!   category: MicrosoftGraphActivityLogs   # or `categories: [A, B]`
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
//! table's name in both shapes. A table may take several categories (the
//! activity log exports `Administrative`, `Policy`, ... all to
//! `AzureActivity`); a category routes to one table, so two tables claiming
//! the same one is an error.
//!
//! A YAML file among the definitions whose root has `logsources` or `fields`
//! is a Sigma mapping file instead ([`crate::sigma::logsource`]): which
//! tables a Sigma `logsource` reads, and per-table field aliases. The
//! catalog keeps them in [`Catalog::logsources`].

use std::collections::HashMap;
use std::sync::Arc;

use crate::diagnostic::{Code, Diagnostic, did_you_mean};
use crate::sigma::logsource::Logsources;
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
    /// The definition file and the span of each of `diagnostic.categories`,
    /// for diagnostics about them.
    origin: Option<(Arc<SourceFile>, Vec<Span>)>,
}

/// The diagnostic-settings shape of a table: the `category` values that
/// route a record here, and each column's path in the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiagnosticExport {
    /// One or more; each routes to this table only.
    pub categories: Vec<String>,
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

/// All known tables, by name, and the Sigma logsource mappings.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    tables: Vec<TableDef>,
    /// Sigma `logsource` to tables, and per-table field aliases, from the
    /// mapping files read so far.
    pub logsources: Logsources,
    /// Values for Sigma `expand` placeholders (`--placeholders`).
    pub placeholders: crate::sigma::Placeholders,
}

impl Catalog {
    /// The tables and mappings built into the binary (`tables/*.yml`).
    pub fn builtin() -> Catalog {
        let mut catalog = Catalog::default();
        for (path, text) in crate::builtin::TABLES {
            let file = SourceFile::new(*path, (*text).to_string());
            catalog.load(&file).unwrap_or_else(|d| panic!("built-in table definition is invalid (a build bug):\n{d}"));
        }
        if let Some(d) = catalog.validate().first() {
            panic!("built-in table definitions disagree (a build bug):\n{d}");
        }
        catalog
    }

    /// Reads one file of a tables directory: a table definition, which
    /// replaces one of the same name, or a Sigma mapping file
    /// ([`Logsources::is_mapping`]), which extends the mappings read before.
    /// Call [`Catalog::validate`] once every file is read.
    pub fn load(&mut self, file: &Arc<SourceFile>) -> Result<(), Diagnostic> {
        let root = yaml::parse(file)?;
        if Logsources::is_mapping(&root) {
            self.logsources.extend(Logsources::parse(file, &root)?);
        } else {
            self.insert(table_from_root(file, &root)?);
        }
        Ok(())
    }

    /// What no single file shows: a diagnostic-settings category claimed by
    /// two tables, and mappings naming tables or columns that do not exist.
    pub fn validate(&self) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        let mut claimed: HashMap<&str, &str> = HashMap::new();
        for table in &self.tables {
            let Some(export) = &table.diagnostic else { continue };
            for (i, category) in export.categories.iter().enumerate() {
                match claimed.get(category.as_str()) {
                    None => {
                        claimed.insert(category, &table.name);
                    }
                    Some(&first) => {
                        let d = Diagnostic::new(
                            Code::TableDefinition,
                            format!(
                                "diagnostic category `{category}` is claimed by tables `{first}` and `{}`",
                                table.name
                            ),
                        )
                        .help(format!(
                            "a record's `category` routes it to one table: remove `{category}` from one of them"
                        ));
                        out.push(match &table.origin {
                            Some((file, spans)) if i < spans.len() => d.at(file, spans[i]),
                            Some((file, _)) => d.in_file(file),
                            None => d,
                        });
                    }
                }
            }
        }
        out.extend(self.logsources.validate(&self.tables));
        out
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
    table_from_root(file, &yaml::parse(file)?)
}

fn table_from_root(file: &Arc<SourceFile>, root: &Node) -> Result<TableDef, Diagnostic> {
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
    let mut table = TableDef { name, description, columns, diagnostic: None, index, origin: None };
    if let Some(node) = root.get("diagnostic") {
        let (export, spans) = parse_diagnostic(node, &table, &bad)?;
        table.diagnostic = Some(export);
        table.origin = Some((file.clone(), spans));
    }
    Ok(table)
}

/// `diagnostic.category: X` or `diagnostic.categories: [X, Y]`: the names,
/// with the span of each.
fn parse_categories(
    node: &Node,
    bad: &dyn Fn(Span, String) -> Diagnostic,
) -> Result<(Vec<String>, Vec<Span>), Diagnostic> {
    let name = |n: &Node, what: &str| match &n.kind {
        yaml::NodeKind::Str(s) if !s.is_empty() => Ok(s.clone()),
        _ => Err(bad(n.span, format!("`{what}` must be a non-empty string"))),
    };
    match (node.entry("category"), node.entry("categories")) {
        (Some(_), Some((key, _))) => Err(bad(key.span, "give `diagnostic.category` or `categories`, not both".into())
            .help("`categories: [A, B]` lists every category, the one of `category` too")),
        (Some((_, n)), None) => Ok((vec![name(n, "diagnostic.category")?], vec![n.span])),
        (None, Some((_, list))) => {
            let items = match list.as_seq() {
                Some(items) if !items.is_empty() => items,
                _ => {
                    return Err(bad(list.span, "`diagnostic.categories` must be a non-empty list of strings".into()));
                }
            };
            let (mut names, mut spans) = (Vec::new(), Vec::new());
            for item in items {
                let n = name(item, "diagnostic.categories[]")?;
                if names.contains(&n) {
                    return Err(bad(item.span, format!("category `{n}` is listed twice")));
                }
                names.push(n);
                spans.push(item.span);
            }
            Ok((names, spans))
        }
        (None, None) => {
            Err(bad(node.span, "missing `diagnostic.category`: the `category` of this table's records".into())
                .help("several categories: `categories: [A, B]`"))
        }
    }
}

fn parse_diagnostic(
    node: &Node,
    table: &TableDef,
    bad: &dyn Fn(Span, String) -> Diagnostic,
) -> Result<(DiagnosticExport, Vec<Span>), Diagnostic> {
    let (categories, spans) = parse_categories(node, bad)?;
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
    Ok((DiagnosticExport { categories, paths }, spans))
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
            assert_eq!(t.diagnostic.as_ref().unwrap().categories, [category]);
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

    #[test]
    fn every_builtin_file_loads_and_the_catalog_agrees_with_itself() {
        // Each file on its own, as `Catalog::builtin` reads them: tables parse,
        // the Sigma mapping file is read as a mapping and not as a table.
        let mut tables = 0;
        let mut mappings = 0;
        for (path, text) in crate::builtin::TABLES {
            let file = SourceFile::new(*path, (*text).to_string());
            let root = yaml::parse(&file).unwrap_or_else(|d| panic!("{d}"));
            if Logsources::is_mapping(&root) {
                Logsources::parse(&file, &root).unwrap_or_else(|d| panic!("{d}"));
                mappings += 1;
            } else {
                let t = parse_table(&file).unwrap_or_else(|d| panic!("{d}"));
                assert_eq!(format!("tables/{}.yml", t.name), *path, "a table's file is named after it");
                tables += 1;
            }
        }
        assert_eq!(mappings, 1);
        let cat = Catalog::builtin();
        assert_eq!(cat.tables().len(), tables);
        assert!(cat.validate().is_empty());
        for t in cat.tables() {
            let export = t.diagnostic.as_ref().unwrap_or_else(|| panic!("{} has no export shape", t.name));
            assert_eq!(export.paths.len(), t.columns.len());
            let type_at = t.column_index("Type").unwrap();
            assert_eq!(export.paths[type_at], None, "{}: `Type` is the table's name", t.name);
        }
        let sigma = |service: &str| cat.logsources.tables(Some("azure"), None, Some(service)).map(<[String]>::to_vec);
        assert_eq!(sigma("signinlogs").unwrap(), ["SigninLogs", "AADNonInteractiveUserSignInLogs"]);
        assert_eq!(sigma("auditlogs").unwrap(), ["AuditLogs"]);
        assert_eq!(sigma("activitylogs").unwrap(), ["AzureActivity"]);
        assert_eq!(sigma("riskdetection").unwrap(), ["AADUserRiskEvents"]);
        assert_eq!(sigma("pim"), Some(vec![]), "no table: refused with its reason");
        let pim = cat.logsources.entry(Some("azure"), None, Some("pim")).unwrap();
        assert!(pim.unavailable.as_deref().unwrap().contains("roleManagementAlerts"));
        assert_eq!(sigma("m365"), None);
    }

    #[test]
    fn the_sigma_tables_map_their_export_shape() {
        let cat = Catalog::builtin();
        let want = [
            ("SigninLogs", "SignInLogs", "TimeGenerated", "properties.createdDateTime"),
            ("SigninLogs", "SignInLogs", "LocationDetails", "properties.location"),
            ("AADNonInteractiveUserSignInLogs", "NonInteractiveUserSignInLogs", "IPAddress", "properties.ipAddress"),
            ("AuditLogs", "AuditLogs", "Category", "properties.category"),
            ("AuditLogs", "AuditLogs", "OperationName", "operationName"),
            ("AADUserRiskEvents", "UserRiskEvents", "RiskEventType", "properties.riskEventType"),
            ("AADRiskyUsers", "RiskyUsers", "RiskState", "properties.riskState"),
        ];
        for (table, category, col, path) in want {
            let t = cat.get(table).unwrap();
            assert_eq!(t.diagnostic.as_ref().unwrap().categories, [category], "{table}");
            assert_eq!(t.diagnostic_path(col).map(|p| p.join(".")).as_deref(), Some(path), "{table}.{col}");
        }
        let activity = cat.get("AzureActivity").unwrap();
        assert_eq!(
            activity.diagnostic.as_ref().unwrap().categories,
            [
                "Administrative",
                "Security",
                "ServiceHealth",
                "Alert",
                "Recommendation",
                "Policy",
                "Autoscale",
                "ResourceHealth"
            ]
        );
        let path = |c: &str| activity.diagnostic_path(c).map(|p| p.join("."));
        assert_eq!(path("OperationNameValue").as_deref(), Some("operationName"));
        assert_eq!(path("Claims_d").as_deref(), Some("identity.claims"));
        assert_eq!(path("CallerIpAddress").as_deref(), Some("callerIpAddress"));
        assert_eq!(path("TimeGenerated").as_deref(), Some("time"));
        assert_eq!(path("OperationName"), None, "the export has the operation, not its display name");
        assert_eq!(activity.column("Claims_d").unwrap().ty, Type::Dynamic);
        let signin = cat.get("SigninLogs").unwrap();
        assert_eq!(signin.column("IsInteractive").unwrap().ty, Type::Bool);
        assert_eq!(signin.column("DeviceDetail").unwrap().ty, Type::Dynamic);
        let ni = cat.get("AADNonInteractiveUserSignInLogs").unwrap();
        assert_eq!(ni.column("DeviceDetail").unwrap().ty, Type::String, "JSON text in this table");
    }

    const TWO: &str = "table: T\ndiagnostic:\n  categories: [A, B]\n  paths: {}\ncolumns:\n  X: string\n";

    #[test]
    fn a_table_takes_one_category_or_several() {
        let t = parse_table(&SourceFile::new("t.yml", TWO.into())).unwrap();
        assert_eq!(t.diagnostic.unwrap().categories, ["A", "B"]);
        let block = "table: T\ndiagnostic:\n  categories:\n    - A\n  paths: {}\ncolumns:\n  X: string\n";
        assert_eq!(parse_table(&SourceFile::new("t.yml", block.into())).unwrap().diagnostic.unwrap().categories, ["A"]);
        let err = |text: &str| {
            let d = parse_table(&SourceFile::new("t.yml", text.into())).unwrap_err();
            (d.line_col().unwrap(), d.message)
        };
        assert_eq!(
            err("table: T\ndiagnostic:\n  category: A\n  categories: [B]\ncolumns:\n  X: string\n"),
            ((4, 3), "give `diagnostic.category` or `categories`, not both".into())
        );
        assert_eq!(
            err("table: T\ndiagnostic:\n  categories: []\ncolumns:\n  X: string\n"),
            ((3, 15), "`diagnostic.categories` must be a non-empty list of strings".into())
        );
        assert_eq!(
            err("table: T\ndiagnostic:\n  categories: [A, '']\ncolumns:\n  X: string\n"),
            ((3, 19), "`diagnostic.categories[]` must be a non-empty string".into())
        );
        assert_eq!(
            err("table: T\ndiagnostic:\n  categories: [A, A]\ncolumns:\n  X: string\n"),
            ((3, 19), "category `A` is listed twice".into())
        );
        assert_eq!(
            err("table: T\ndiagnostic:\n  category: [A]\ncolumns:\n  X: string\n"),
            ((3, 13), "`diagnostic.category` must be a non-empty string".into())
        );
    }

    #[test]
    fn every_category_of_a_table_routes_to_it() {
        let mut cat = Catalog::builtin();
        cat.insert(parse_table(&SourceFile::new("t.yml", TWO.into())).unwrap());
        assert!(cat.validate().is_empty());
        let plan = crate::plan::plan(Vec::new(), &cat);
        assert_eq!(plan.category_table("A"), Some("T"));
        assert_eq!(plan.category_table("B"), Some("T"));
        for category in [
            "Administrative",
            "Security",
            "ServiceHealth",
            "Alert",
            "Recommendation",
            "Policy",
            "Autoscale",
            "ResourceHealth",
        ] {
            assert_eq!(plan.category_table(category), Some("AzureActivity"), "{category}");
        }
        assert_eq!(plan.category_table("SignInLogs"), Some("SigninLogs"));
        assert_eq!(plan.category_table("NonInteractiveUserSignInLogs"), Some("AADNonInteractiveUserSignInLogs"));
        assert_eq!(plan.category_table("ServicePrincipalSignInLogs"), Some("AADServicePrincipalSignInLogs"));
        assert_eq!(plan.category_table("UserRiskEvents"), Some("AADUserRiskEvents"));
        assert_eq!(plan.category_table("RiskyUsers"), Some("AADRiskyUsers"));
        assert_eq!(plan.category_table("AuditLogs"), Some("AuditLogs"));
        assert_eq!(plan.category_table("Write"), None);
    }

    #[test]
    fn two_tables_claiming_one_category_is_an_error_naming_both() {
        let mut cat = Catalog::builtin();
        let file = SourceFile::new(
            "mine/Activity2.yml",
            "table: Activity2\ndiagnostic:\n  categories: [Custom, Policy]\n  paths: {}\ncolumns:\n  X: string\n"
                .into(),
        );
        cat.load(&file).unwrap();
        let errors = cat.validate();
        assert_eq!(errors.len(), 1, "{errors:?}");
        let d = &errors[0];
        assert_eq!(d.code, Code::TableDefinition);
        assert_eq!(d.message, "diagnostic category `Policy` is claimed by tables `AzureActivity` and `Activity2`");
        assert_eq!(d.line_col(), Some((3, 24)));
        assert_eq!(d.file.as_ref().unwrap().path(), std::path::Path::new("mine/Activity2.yml"));
        // Replacing the table that claimed it is not a conflict.
        let mut cat = Catalog::builtin();
        cat.load(&SourceFile::new(
            "mine/AzureActivity.yml",
            "table: AzureActivity\ndiagnostic:\n  category: Administrative\n  paths: {}\ncolumns:\n  OperationNameValue: \
             string\n  CategoryValue: string\n  ActivityStatusValue: string\n  ActivitySubstatusValue: string\n  \
             ResourceProviderValue: string\n"
                .into(),
        ))
        .unwrap();
        cat.load(&file).unwrap();
        assert!(cat.validate().is_empty());
        let plan = crate::plan::plan(Vec::new(), &cat);
        assert_eq!(plan.category_table("Policy"), Some("Activity2"));
        assert_eq!(plan.category_table("Administrative"), Some("AzureActivity"));
    }

    #[test]
    fn a_mapping_file_extends_the_catalogs_mappings() {
        let mut cat = Catalog::builtin();
        let file = SourceFile::new(
            "mine/pim.yml",
            "logsources:\n  - product: azure\n    service: pim\n    tables: []\n  - product: azure\n    service: riskdetection\n    tables: [AADUserRiskEvents, AADRiskyUsers]\n".into(),
        );
        cat.load(&file).unwrap();
        assert!(cat.validate().is_empty());
        assert_eq!(cat.logsources.tables(Some("azure"), None, Some("pim")), None);
        assert_eq!(
            cat.logsources.tables(Some("azure"), None, Some("riskdetection")).unwrap(),
            ["AADUserRiskEvents", "AADRiskyUsers"]
        );
        assert!(cat.get("sigma-logsources").is_none(), "a mapping file is no table");
        assert_eq!(cat.logsources.alias("AzureActivity", "operationName"), Some("OperationNameValue"));
    }
}
