//! Lint: every check on a set of rule files, all findings collected before
//! any is printed.
//!
//! The per-file checks are the pipeline's own (load, parse, check: YAML,
//! schema, expression syntax, names, types, joins); this module adds the
//! checks on the metadata and on the rule set as a whole: duplicate `id`s
//! and titles, ATT&CK tag format, missing `falsepositives` and
//! `references`. [`crate::compile_rules`] runs the same checks, so `sigcorr
//! run` refuses exactly the rules `sigcorr lint` reports errors for.
//! Each rule's tests file (`<rule>.tests.yml`, see [`crate::ruletest`]) is
//! checked too: its shape, tables and columns. [`json`] and [`sarif`] render
//! findings for machines; people read [`Diagnostic::render`].

pub mod json;
pub mod sarif;

use std::collections::HashMap;
use std::sync::Arc;

use crate::diagnostic::{Code, Diagnostic, did_you_mean};
use crate::span::{SourceFile, Span};
use crate::table::Catalog;
use crate::yaml::Node;

/// Every finding in `files` and their tests files, errors and warnings.
pub fn lint(files: &[Arc<SourceFile>], catalog: &Catalog) -> Vec<Diagnostic> {
    lint_report(files, catalog).0
}

/// [`lint`], with every rule document read: what kind it is, and whether it
/// was refused.
pub fn lint_report(files: &[Arc<SourceFile>], catalog: &Catalog) -> (Vec<Diagnostic>, Vec<crate::Document>) {
    let compiled = crate::compile_rule_set(files, catalog);
    let (rules, mut findings) = (compiled.rules, compiled.diagnostics);
    let unwritten = crate::correlate::unwritten(&rules);
    for file in files {
        let path = crate::ruletest::tests_path(file.path());
        if !path.is_file() {
            continue;
        }
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) => {
                let tests = SourceFile::new(&path, String::new());
                findings
                    .push(Diagnostic::new(Code::TestsFile, format!("cannot read the tests file: {e}")).in_file(&tests));
                continue;
            }
        };
        // The file's rules (contiguous, in file order); under test, the one
        // whose alerts are written (a correlation over the others).
        let of_file: Vec<usize> = (0..rules.len()).filter(|&r| Arc::ptr_eq(rules[r].file(), file)).collect();
        let tested = of_file.iter().copied().find(|&r| !unwritten[r]).or(of_file.first().copied());
        // What the records may feed: the file's rules and every rule their
        // correlations reference, in this file or another.
        let mut reading: Vec<usize> = of_file.clone();
        let mut at = 0;
        while at < reading.len() {
            let inputs = rules[reading[at]].correlation.iter().flat_map(|c| c.inputs.iter().map(|i| i.rule));
            for r in inputs.collect::<Vec<_>>() {
                if !reading.contains(&r) {
                    reading.push(r);
                }
            }
            at += 1;
        }
        let reading: Vec<&crate::check::CheckedRule> = reading.iter().map(|&r| &rules[r]).collect();
        let rule = tested.map(|t| (&rules[t], reading.as_slice()));
        findings.extend(crate::ruletest::check_tests(&SourceFile::new(path, text), catalog, rule));
    }
    (findings, compiled.documents)
}

/// The tactics of ATT&CK Enterprise, as Sigma tags spell them: the 14 of v18
/// and the two v19 split Defense Evasion into.
pub const TACTICS: &[&str] = &[
    "reconnaissance",
    "resource-development",
    "initial-access",
    "execution",
    "persistence",
    "privilege-escalation",
    "defense-evasion",
    // ATT&CK v19 split Defense Evasion into these two (SigmaHQ's rules use them since).
    "stealth",
    "defense-impairment",
    "credential-access",
    "discovery",
    "lateral-movement",
    "collection",
    "command-and-control",
    "exfiltration",
    "impact",
];

/// Checks on the metadata of each rule and across the set: each file with
/// its YAML tree (files that are not YAML are left out).
pub fn rule_set(rules: &[(Arc<SourceFile>, Node)]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut ids: HashMap<&str, (&Arc<SourceFile>, Span)> = HashMap::new();
    let mut titles: HashMap<String, (&Arc<SourceFile>, Span)> = HashMap::new();
    for (file, root) in rules {
        if root.as_map().is_none() {
            continue;
        }
        if let Some(id) = root.get("id")
            && let Some(text) = id.as_str()
        {
            match ids.get(text) {
                Some((first, span)) => out.push(
                    Diagnostic::new(Code::DuplicateId, format!("duplicate rule id `{text}`")).at(file, id.span).help(
                        format!(
                            "{} has the same id; give each rule its own UUID, e.g. from `uuidgen`",
                            place(first, *span)
                        ),
                    ),
                ),
                None => {
                    ids.insert(text, (file, id.span));
                }
            }
        }
        if let Some(title) = root.get("title")
            && let Some(text) = title.as_str()
        {
            let key = text.trim().to_lowercase();
            match titles.get(&key) {
                Some((first, span)) => out.push(
                    Diagnostic::new(Code::DuplicateTitle, format!("duplicate title `{text}`"))
                        .at(file, title.span)
                        .help(format!("{} has the same title; say what sets the two rules apart", place(first, *span))),
                ),
                None => {
                    titles.insert(key, (file, title.span));
                }
            }
        }
        for tag in root.get("tags").and_then(Node::as_seq).unwrap_or_default() {
            if let Some(text) = tag.as_str()
                && let Some(help) = attack_tag_problem(text)
            {
                out.push(
                    Diagnostic::new(Code::AttackTag, format!("invalid ATT&CK tag `{text}`"))
                        .at(file, tag.span)
                        .help(help),
                );
            }
        }
        // Where to point at for what the rule lacks: its title, else its start.
        let anchor = root.get("title").map_or(Span::at(root.span.start), |t| t.span);
        if lacks_list(root, "falsepositives") {
            out.push(
                Diagnostic::new(Code::MissingFalsePositives, "the rule lists no `falsepositives`")
                    .at(file, anchor)
                    .help("say when the rule fires on benign activity, or write `- Unknown`"),
            );
        }
        if lacks_list(root, "references") {
            out.push(
                Diagnostic::new(Code::MissingReferences, "the rule lists no `references`")
                    .at(file, anchor)
                    .help("link the research or documentation the rule is based on"),
            );
        }
    }
    out
}

/// `path:line:col`, for a help pointing at another finding's place.
fn place(file: &SourceFile, span: Span) -> String {
    let (line, col) = file.line_col(span.start);
    format!("{}:{line}:{col}", file.path().display())
}

/// Absent, empty, or an empty list; a value of another type is the schema's finding.
fn lacks_list(root: &Node, key: &str) -> bool {
    match root.get(key) {
        None => true,
        Some(n) => matches!(n.kind, crate::yaml::NodeKind::Null) || n.as_seq().is_some_and(<[Node]>::is_empty),
    }
}

/// Why an `attack.` tag is malformed, as a help line; `None` if it is fine
/// or not an ATT&CK tag.
pub fn attack_tag_problem(tag: &str) -> Option<String> {
    let (prefix, rest) = tag.split_at_checked(7)?;
    if !prefix.eq_ignore_ascii_case("attack.") {
        return None;
    }
    if prefix == "attack." && valid_attack(rest) {
        return None;
    }
    let lower = format!("attack.{}", rest.to_lowercase());
    if valid_attack(&lower[7..]) {
        return Some(format!("ATT&CK tags are lowercase: `{lower}`"));
    }
    let dashed = lower.replace(['_', ' '], "-");
    if valid_attack(&dashed[7..]) {
        return Some(format!("tactics are written with dashes: `{dashed}`"));
    }
    if let Some(tactic) = did_you_mean(&dashed[7..], TACTICS.iter().copied()) {
        return Some(format!("did you mean `attack.{tactic}`?"));
    }
    let id = &lower[7..];
    if id.starts_with(['t', 'g', 's']) && id[1..].starts_with(|c: char| c.is_ascii_digit()) {
        return Some(
            "a technique is `t` and four digits with an optional three-digit sub-technique (`attack.t1098.001`); \
             a group `g` and four digits (`attack.g0016`); software `s` and four digits (`attack.s0002`)"
                .to_string(),
        );
    }
    Some(format!(
        "an ATT&CK tag names a technique (`attack.t1528`), a group (`attack.g0016`), software (`attack.s0002`) \
         or a tactic: {}",
        TACTICS.join(", ")
    ))
}

fn valid_attack(rest: &str) -> bool {
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    if TACTICS.contains(&rest) {
        return true;
    }
    match rest.split_at_checked(1) {
        Some(("t", id)) => match id.split_once('.') {
            Some((technique, sub)) => digits(technique, 4) && digits(sub, 3),
            None => digits(id, 4),
        },
        Some(("g" | "s", id)) => digits(id, 4),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attack_tags() {
        for ok in [
            "attack.t1528",
            "attack.t1098.001",
            "attack.credential-access",
            "attack.reconnaissance",
            "attack.resource-development",
            "attack.command-and-control",
            "attack.g0016",
            "attack.s0002",
            "cve.2021-44228",
            "tlp.amber",
            "attack.stealth",
            "attack.defense-impairment",
        ] {
            assert_eq!(attack_tag_problem(ok), None, "{ok}");
        }
        let cases = [
            ("attack.T1528", "ATT&CK tags are lowercase: `attack.t1528`"),
            ("attack.credential_access", "tactics are written with dashes: `attack.credential-access`"),
            ("attack.credential-acess", "did you mean `attack.credential-access`?"),
            ("attack.persistance", "did you mean `attack.persistence`?"),
            ("attack.defense_impairment", "tactics are written with dashes: `attack.defense-impairment`"),
        ];
        for (tag, help) in cases {
            assert_eq!(attack_tag_problem(tag).as_deref(), Some(help), "{tag}");
        }
        for bad in ["attack.t152", "attack.t1528.1", "attack.t1528.0011", "attack.g16", "attack.s00021"] {
            assert!(attack_tag_problem(bad).unwrap().starts_with("a technique is `t` and four digits"), "{bad}");
        }
        assert!(attack_tag_problem("attack.banana").unwrap().starts_with("an ATT&CK tag names a technique"));
        assert!(attack_tag_problem("attack.").is_some());
    }
}
