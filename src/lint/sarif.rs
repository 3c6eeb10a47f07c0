//! `--format sarif`: SARIF 2.1.0, the format GitHub code scanning reads.
//!
//! Built with `serde_json` rather than `serde-sarif`: a log with one run, the
//! rule table and located results is a few dozen lines, and
//! `tests/integration/lint.rs` validates it against the official schema.

use serde_json::{Value, json};

use crate::diagnostic::{Code, Diagnostic, Severity};

pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// One SARIF log: the tool with every check as a rule, and one result per finding.
pub fn log(diagnostics: &[Diagnostic]) -> Value {
    let rules: Vec<Value> = Code::ALL
        .iter()
        .map(|c| {
            json!({
                "id": c.as_str(),
                "name": c.name(),
                "shortDescription": { "text": c.summary() },
                "defaultConfiguration": { "level": level(c.severity()) },
            })
        })
        .collect();
    let results: Vec<Value> = diagnostics.iter().map(result).collect();
    json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "sigcorr",
                    "semanticVersion": env!("CARGO_PKG_VERSION"),
                    "rules": rules,
                }
            },
            "columnKind": "unicodeCodePoints",
            "results": results,
        }]
    })
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

fn result(d: &Diagnostic) -> Value {
    let rule_index = Code::ALL.iter().position(|&c| c == d.code).expect("every code is in Code::ALL");
    let text = match &d.help {
        Some(help) => format!("{}\nhelp: {help}", d.message),
        None => d.message.clone(),
    };
    let mut result = json!({
        "ruleId": d.code.as_str(),
        "ruleIndex": rule_index,
        "level": level(d.severity),
        "message": { "text": text },
    });
    if let Some(file) = &d.file {
        let mut physical = json!({ "artifactLocation": { "uri": uri(file.path()) } });
        if let (Some((line, column)), Some((end_line, end_column))) = (d.line_col(), d.end_line_col()) {
            physical["region"] = json!({
                "startLine": line,
                "startColumn": column,
                "endLine": end_line,
                "endColumn": end_column,
            });
        }
        result["locations"] = json!([{ "physicalLocation": physical }]);
    }
    result
}

/// A path as a URI reference: relative paths stay relative (GitHub resolves
/// them against the repository root), absolute ones become `file://` URIs.
pub fn uri(path: &std::path::Path) -> String {
    let text = path.to_string_lossy().replace('\\', "/");
    let text = text.trim_start_matches("./");
    let mut out = String::with_capacity(text.len());
    if path.is_absolute() {
        out.push_str("file://");
        if !text.starts_with('/') {
            out.push('/');
        }
    }
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::span::{SourceFile, Span};

    #[test]
    fn uris_are_relative_or_file_and_percent_encoded() {
        assert_eq!(uri(std::path::Path::new("rules/entra/a b.yml")), "rules/entra/a%20b.yml");
        assert_eq!(uri(std::path::Path::new("/tmp/r.yml")), "file:///tmp/r.yml");
        assert_eq!(uri(std::path::Path::new("./rules/r.yml")), "rules/r.yml");
    }

    #[test]
    fn result_has_rule_level_message_and_region() {
        let file = SourceFile::new("r.yml", "title: x\nlevel: severe\n".into());
        let d =
            Diagnostic::new(Code::Schema, "invalid `level` `severe`").at(&file, Span::new(16, 22)).help("one of: high");
        let log = log(&[d]);
        let r = &log["runs"][0]["results"][0];
        assert_eq!(r["ruleId"], "E010");
        assert_eq!(log["runs"][0]["tool"]["driver"]["rules"][r["ruleIndex"].as_u64().unwrap() as usize]["id"], "E010");
        assert_eq!(r["level"], "error");
        assert_eq!(r["message"]["text"], "invalid `level` `severe`\nhelp: one of: high");
        let loc = &r["locations"][0]["physicalLocation"];
        assert_eq!(loc["artifactLocation"]["uri"], "r.yml");
        assert_eq!(loc["region"], json!({"startLine": 2, "startColumn": 8, "endLine": 2, "endColumn": 14}));
    }
}
