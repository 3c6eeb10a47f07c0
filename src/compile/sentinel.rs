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
use crate::text;

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
    // ATT&CK v19's halves of Defense Evasion: Sentinel's tactic list has only the whole.
    ("stealth", "DefenseEvasion"),
    ("defense-impairment", "DefenseEvasion"),
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
    ("AADUserRiskEvents", "AzureActiveDirectory"),
    ("AADRiskyUsers", "AzureActiveDirectory"),
    ("AzureActivity", "AzureActivity"),
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
    y.push_str(&format!("id: {}\n", scalar(rule.id())));
    y.push_str(&format!("name: {}\n", quote(rule.title())));
    let description = rule.doc.description.as_deref().unwrap_or(rule.title()).trim_end();
    y.push_str(&format!("description: {}\n", block(description)));
    y.push_str(&format!("severity: {severity}\n"));
    y.push_str("requiredDataConnectors:\n");
    for (connector, types) in &connectors {
        y.push_str(&format!("  - connectorId: {connector}\n    dataTypes:\n"));
        for t in types {
            y.push_str(&format!("      - {}\n", scalar(t)));
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
                y.push_str(&format!("      - identifier: {identifier}\n        columnName: {}\n", scalar(column)));
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
            y.push_str(&format!("  - {}\n", scalar(i)));
        }
    }
}

/// A YAML plain scalar when `s` is one that reads back as the same string
/// in YAML 1.1 and 1.2 (a UUID, or a letter then letters, digits, `_`, `.`,
/// `-`, and not a boolean or null word), else [`quote`]d.
fn scalar(s: &str) -> String {
    let uuid = s.len() == 36
        && s.char_indices().all(|(i, c)| if [8, 13, 18, 23].contains(&i) { c == '-' } else { c.is_ascii_hexdigit() });
    let word = s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        && !["y", "n", "yes", "no", "on", "off", "true", "false", "null"].contains(&s.to_ascii_lowercase().as_str());
    if uuid || word { s.to_string() } else { quote(s) }
}

/// Whether `c` is written escaped in YAML: a [`text::is_unsafe`] character
/// (YAML 1.1 breaks lines at NEL, U+2028 and U+2029), the byte order mark, or
/// one outside YAML's printable set.
fn yaml_escaped(c: char) -> bool {
    text::is_unsafe(c) || matches!(c, '\u{feff}' | '\u{fffe}' | '\u{ffff}')
}

/// A YAML double-quoted scalar: `"` and `\` escaped, and every
/// [`yaml_escaped`] character (JSON's escapes for the C0 controls, `\uXXXX`
/// for the rest), so it is one line and reads back as `s` exactly.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if yaml_escaped(c) => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A YAML literal block (`|-`), or a quoted scalar when the text cannot be
/// one (leading spaces, trailing spaces on a line, a character that must be
/// escaped).
fn block(s: &str) -> String {
    let fits = !s.is_empty()
        && !s.starts_with([' ', '\n'])
        && s.lines().all(|l| !l.ends_with([' ', '\t']))
        && !s.chars().any(|c| yaml_escaped(c) && c != '\n');
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
        for s in [
            "one line",
            "two\nlines",
            "para\n\nafter blank",
            " leading",
            "trailing \nx",
            "tab\there",
            "x\u{2028}evil: 1\u{85}y\u{2029}",
            "a\r\nb\u{0}\u{1b}\u{7f}\u{9b}\u{202e}\u{feff}\"'\\",
        ] {
            for doc in [format!("k: {}\n", block(s)), format!("k: {}\n", quote(s)), format!("k: {}\n", scalar(s))] {
                assert!(!doc.contains(|c: char| yaml_escaped(c) && c != '\n'), "{doc:?}");
                let v: serde_json::Value = serde_saphyr::from_str(&doc).unwrap();
                assert_eq!(v["k"], serde_json::json!(s), "{doc}");
            }
        }
    }

    #[test]
    fn scalars_are_plain_only_when_they_read_back_as_strings() {
        assert_eq!(scalar("0428e609-07b8-42bf-a36b-d74e4e2be504"), "0428e609-07b8-42bf-a36b-d74e4e2be504");
        assert_eq!(scalar("T1528.001"), "T1528.001");
        assert_eq!(scalar("SigninIP"), "SigninIP");
        for s in
            ["123", "yes", "No", "null", "T 1", "a: b", "-x", "1e3", "x\ny: 1", "0428e609-07b8-42bf-a36b-d74e4e2be50"]
        {
            assert!(scalar(s).starts_with('"'), "{s}");
            let v: serde_json::Value = serde_saphyr::from_str(&format!("k: {}\n", scalar(s))).unwrap();
            assert_eq!(v["k"], serde_json::json!(s));
        }
    }
}
