//! Checks of a Sigma rule's metadata values (W511): the specification's
//! forms for `id`, `date`, `modified`, `status` and `level`. They are
//! warnings: a rule with an odd date still detects what it detects.

use std::sync::Arc;

use crate::diagnostic::{Code, Diagnostic, did_you_mean};
use crate::rule::{LEVELS, STATUSES};
use crate::span::{SourceFile, Span};
use crate::yaml::Node;

/// Every metadata problem of one Sigma document.
pub fn check(file: &Arc<SourceFile>, root: &Node) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut warn = |span: Span, message: String, help: String| {
        out.push(Diagnostic::new(Code::SigmaMetadata, message).at(file, span).help(help));
    };
    let anchor = root.get("title").map_or(Span::at(root.span.start), |t| t.span);
    match root.get("id") {
        None => warn(
            anchor,
            "the rule has no `id`".into(),
            "give it a UUID, e.g. from `uuidgen`; alerts name rules by id".into(),
        ),
        Some(n) => {
            let text = n.scalar_text().unwrap_or_default();
            if !is_uuid(&text) {
                warn(
                    n.span,
                    format!("`id` `{text}` is not a UUID"),
                    "e.g. `0428e609-07b8-42bf-a36b-d74e4e2be504`, from `uuidgen`".into(),
                );
            }
        }
    }
    for key in ["date", "modified"] {
        if let Some(n) = root.get(key) {
            let text = n.scalar_text().unwrap_or_default();
            if !is_date(&text) {
                warn(n.span, format!("`{key}` `{text}` is not a date written YYYY-MM-DD"), "e.g. `2026-07-16`".into());
            }
        }
    }
    for (key, allowed) in [("status", STATUSES), ("level", LEVELS)] {
        match root.get(key) {
            Some(n) => {
                let text = n.scalar_text().unwrap_or_default();
                if !allowed.contains(&text.as_str()) {
                    let help = match did_you_mean(&text, allowed.iter().copied()) {
                        Some(s) => format!("did you mean `{s}`? (one of: {})", allowed.join(", ")),
                        None => format!("one of: {}", allowed.join(", ")),
                    };
                    warn(n.span, format!("invalid `{key}` `{text}`"), help);
                }
            }
            None if key == "level" => {
                warn(anchor, "the rule has no `level`".into(), format!("one of: {}", allowed.join(", ")))
            }
            None => {}
        }
    }
    out
}

fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && [0, 1, 2, 3, 5, 6, 8, 9].iter().all(|&i| b[i].is_ascii_digit())
        && chrono::NaiveDate::from_ymd_opt(
            s[..4].parse().unwrap_or(0),
            s[5..7].parse().unwrap_or(0),
            s[8..10].parse().unwrap_or(0),
        )
        .is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml;

    fn findings(text: &str) -> Vec<String> {
        let file = SourceFile::new("r.yml", text.to_string());
        let root = yaml::parse(&file).unwrap();
        check(&file, &root)
            .iter()
            .map(|d| {
                let (l, c) = d.line_col().unwrap();
                format!("{l}:{c} {}", d.message)
            })
            .collect()
    }

    #[test]
    fn valid_metadata_passes() {
        let ok = "title: t\nid: 5f0fd1a1-3f2a-4b4e-9c8a-0d6f2b1c7e11\ndate: 2026-07-16\nmodified: 2026-12-01\nstatus: test\nlevel: high\n";
        assert_eq!(findings(ok), Vec::<String>::new());
    }

    #[test]
    fn each_invalid_value_is_located() {
        assert_eq!(
            findings("title: t\nid: 5f0fd1a1-3f2a-4b4e-9c8a-0d6f2b1c7e11\ndate: 2026-02-30\nlevel: low\n"),
            ["3:7 `date` `2026-02-30` is not a date written YYYY-MM-DD"]
        );
        let bad = "title: t\nid: 42\ndate: 2026/07/16\nmodified: 2026-13-01\nstatus: testing\nlevel: severe\n";
        assert_eq!(
            findings(bad),
            [
                "2:5 `id` `42` is not a UUID",
                "3:7 `date` `2026/07/16` is not a date written YYYY-MM-DD",
                "4:11 `modified` `2026-13-01` is not a date written YYYY-MM-DD",
                "5:9 invalid `status` `testing`",
                "6:8 invalid `level` `severe`",
            ]
        );
        assert_eq!(findings("title: t\n"), ["1:8 the rule has no `id`", "1:8 the rule has no `level`"]);
    }
}
