//! Sentinel: a Microsoft Sentinel scheduled analytics rule in the
//! Azure-Sentinel repository's YAML format (`Detections/` and
//! `Solutions/*/Analytic Rules/`), around the rule's KQL query.
//!
//! From the rule's metadata: `id`, `name` (title), `description`, `severity`
//! (level), `tactics` and `relevantTechniques` (`attack.*` tags), the data
//! connector of each table, and entity mappings for the output columns that
//! hold IP addresses (`IP`), a service principal (`Account`) or an
//! application id (`CloudApplication`). The query is the `kql` target's,
//! relative to Sentinel's own `now()`.

use crate::check::CheckedRule;
use crate::diagnostic::Diagnostic;

use super::{Options, Target, header, kql, unsupported};

/// How often Sentinel runs the query, and how far back it looks. A token's
/// sign-in precedes its use by up to its lifetime (about a day at most for
/// service principals and managed identities), so the query looks back a day.
pub const QUERY_FREQUENCY: &str = "1h";
pub const QUERY_PERIOD: &str = "1d";

/// MITRE ATT&CK tactic tags to Sentinel's tactic names.
const TACTICS: &[(&str, &str)] = &[
    ("reconnaissance", "Reconnaissance"),
    ("resource-development", "ResourceDevelopment"),
    ("initial-access", "InitialAccess"),
    ("execution", "Execution"),
    ("persistence", "Persistence"),
    ("privilege-escalation", "PrivilegeEscalation"),
    ("defense-evasion", "DefenseEvasion"),
    ("credential-access", "CredentialAccess"),
    ("discovery", "Discovery"),
    ("lateral-movement", "LateralMovement"),
    ("collection", "Collection"),
    ("command-and-control", "CommandAndControl"),
    ("exfiltration", "Exfiltration"),
    ("impact", "Impact"),
];

/// Tables to the Sentinel data connector that fills them.
const CONNECTORS: &[(&str, &str)] = &[
    ("MicrosoftGraphActivityLogs", "AzureActiveDirectory"),
    ("AADServicePrincipalSignInLogs", "AzureActiveDirectory"),
    ("AADManagedIdentitySignInLogs", "AzureActiveDirectory"),
    ("SigninLogs", "AzureActiveDirectory"),
    ("AuditLogs", "AzureActiveDirectory"),
    ("AADNonInteractiveUserSignInLogs", "AzureActiveDirectory"),
];

pub fn compile(rule: &CheckedRule, opts: &Options) -> Result<String, Diagnostic> {
    if opts.now.is_some() {
        return Err(unsupported(
            rule,
            rule.doc.title.span,
            "`--now`",
            Target::Sentinel,
            "a scheduled rule runs relative to Sentinel's current time; drop --now",
        ));
    }
    let query = kql::query(rule, opts, Target::Sentinel)?;

    let mut connectors: Vec<(&str, Vec<&str>)> = Vec::new();
    for source in &rule.sources {
        for t in &source.tables {
            let Some(&(_, connector)) = CONNECTORS.iter().find(|(name, _)| name == t) else {
                return Err(unsupported(
                    rule,
                    rule.doc.correlation.span,
                    format!("the table `{t}`"),
                    Target::Sentinel,
                    "sigcorr does not know which Sentinel data connector fills it",
                ));
            };
            match connectors.iter_mut().find(|(c, _)| *c == connector) {
                Some((_, types)) if !types.contains(&t.as_str()) => types.push(t),
                Some(_) => {}
                None => connectors.push((connector, vec![t])),
            }
        }
    }

    let mut tactics = Vec::new();
    let mut techniques = Vec::new();
    for tag in &rule.doc.tags {
        let Some(rest) = tag.value.strip_prefix("attack.") else { continue };
        if let Some(&(_, name)) = TACTICS.iter().find(|(t, _)| *t == rest) {
            if !tactics.contains(&name) {
                tactics.push(name);
            }
        } else if rest.len() >= 5 && rest.starts_with(['t', 'T']) && rest[1..5].bytes().all(|b| b.is_ascii_digit()) {
            let t = rest.to_uppercase();
            if !techniques.contains(&t) {
                techniques.push(t);
            }
        }
    }

    let severity = match rule.level() {
        "informational" => "Informational",
        "low" => "Low",
        "medium" => "Medium",
        _ => "High",
    };

    let mut y = header(rule, Target::Sentinel);
    y.push_str(&format!("id: {}\n", rule.id()));
    y.push_str(&format!("name: {}\n", quote(rule.title())));
    let description = rule.doc.description.as_deref().unwrap_or(rule.title()).trim_end();
    y.push_str(&format!("description: {}\n", block(description)));
    y.push_str(&format!("severity: {severity}\n"));
    y.push_str("requiredDataConnectors:\n");
    for (connector, types) in &connectors {
        y.push_str(&format!("  - connectorId: {connector}\n    dataTypes:\n"));
        for t in types {
            y.push_str(&format!("      - {t}\n"));
        }
    }
    y.push_str(&format!("queryFrequency: {QUERY_FREQUENCY}\nqueryPeriod: {QUERY_PERIOD}\n"));
    y.push_str("triggerOperator: gt\ntriggerThreshold: 0\n");
    list(&mut y, "tactics", &tactics);
    list(&mut y, "relevantTechniques", &techniques.iter().map(String::as_str).collect::<Vec<_>>());
    y.push_str(&format!("query: {}\n", block(&query)));
    let mappings = entity_mappings(rule);
    if !mappings.is_empty() {
        y.push_str("entityMappings:\n");
        for (entity, fields) in &mappings {
            y.push_str(&format!("  - entityType: {entity}\n    fieldMappings:\n"));
            for (identifier, column) in fields {
                y.push_str(&format!("      - identifier: {identifier}\n        columnName: {column}\n"));
            }
        }
    }
    y.push_str("version: 1.0.0\nkind: Scheduled\n");
    Ok(y)
}

/// Entity mappings from the output columns: at most 5 entities, each with
/// at most 3 identifiers (Sentinel's limits).
fn entity_mappings(rule: &CheckedRule) -> Vec<(&'static str, Vec<(&'static str, String)>)> {
    let mut out: Vec<(&'static str, Vec<(&'static str, String)>)> = Vec::new();
    let column_of = |name: &str| {
        rule.output.iter().find(|o| o.expr.as_column().is_some_and(|c| c.column == name && c.path.is_empty()))
    };
    for o in &rule.output {
        let column = o.expr.as_column().filter(|c| c.path.is_empty()).map(|c| c.column.as_str());
        let is_ip = column.is_some_and(|c| c.to_ascii_lowercase().ends_with("ipaddress"));
        if is_ip && plain(&o.name) {
            out.push(("IP", vec![("Address", o.name.clone())]));
        }
    }
    let mut account = Vec::new();
    if let Some(o) = column_of("ServicePrincipalId").filter(|o| plain(&o.name)) {
        account.push(("AadUserId", o.name.clone()));
    }
    if let Some(o) = column_of("ServicePrincipalName").filter(|o| plain(&o.name)) {
        account.push(("Name", o.name.clone()));
    }
    if !account.is_empty() {
        out.push(("Account", account));
    }
    if let Some(o) = column_of("AppId").filter(|o| plain(&o.name)) {
        out.push(("CloudApplication", vec![("AppId", o.name.clone())]));
    }
    out.truncate(5);
    out
}

/// A column name Sentinel can map (letters, digits, `_`).
fn plain(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn list(y: &mut String, key: &str, items: &[&str]) {
    if items.is_empty() {
        y.push_str(&format!("{key}: []\n"));
    } else {
        y.push_str(&format!("{key}:\n"));
        for i in items {
            y.push_str(&format!("  - {i}\n"));
        }
    }
}

/// A YAML double-quoted scalar (JSON's escapes are YAML's).
fn quote(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialise")
}

/// A YAML literal block (`|-`), or a quoted scalar when the text cannot be
/// one (leading spaces, trailing spaces on a line, control characters).
fn block(s: &str) -> String {
    let fits = !s.is_empty()
        && !s.starts_with([' ', '\n'])
        && s.lines().all(|l| !l.ends_with([' ', '\t']))
        && !s.chars().any(|c| c.is_control() && c != '\n');
    if !fits {
        return quote(s);
    }
    let mut out = String::from("|-\n");
    for line in s.lines() {
        if line.is_empty() {
            out.push('\n');
        } else {
            out.push_str("  ");
            out.push_str(line);
            out.push('\n');
        }
    }
    out.pop();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_round_trip_through_yaml() {
        for s in ["one line", "two\nlines", "para\n\nafter blank", " leading", "trailing \nx", "tab\there"] {
            let doc = format!("k: {}\n", block(s));
            let v: serde_json::Value = serde_saphyr::from_str(&doc).unwrap();
            assert_eq!(v["k"], serde_json::json!(s), "{doc}");
        }
    }
}
