//! Findings about rule files, and their one human rendering.
//!
//! Every problem sigcorr finds in a rule is a [`Diagnostic`]: a stable
//! [`Code`], a lowercase message naming the offending thing in backticks, a
//! span into the file, and a `help:` where a fix is known. Line and column
//! are computed only here, when printing.

use std::fmt::{self, Write as _};
use std::sync::Arc;

use crate::span::{SourceFile, Span};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

macro_rules! codes {
    ($($variant:ident = $code:literal, $severity:ident, $name:literal, $summary:literal;)*) => {
        /// Every check sigcorr makes, with its stable code. The README's
        /// `sigcorr lint` section lists the same table (a test keeps them equal).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code { $($variant,)* }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The stable code, e.g. `E202`.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $code,)* }
            }

            /// A short kebab-case name, e.g. `unknown-column`.
            pub fn name(self) -> &'static str {
                match self { $(Code::$variant => $name,)* }
            }

            /// One sentence on what the check finds.
            pub fn summary(self) -> &'static str {
                match self { $(Code::$variant => $summary,)* }
            }

            pub fn severity(self) -> Severity {
                match self { $(Code::$variant => Severity::$severity,)* }
            }
        }
    };
}

codes! {
    YamlSyntax = "E001", Error, "yaml-syntax", "the file is not valid YAML";
    DuplicateKey = "E002", Error, "duplicate-key", "a mapping has the same key twice";
    EmptyFile = "E003", Error, "empty-file", "the rule file holds no rule";
    NotText = "E004", Error, "not-text", "the file is not UTF-8 text";
    Schema = "E010", Error, "schema", "the rule does not have the shape of a rule file";
    Lookup = "E011", Error, "let-list", "a `let` list cannot be read (a missing, oversized or malformed file)";
    ExprSyntax = "E100", Error, "expression-syntax", "an expression does not parse";
    ConditionSyntax = "E101", Error, "condition-syntax", "a Sigma rule's `condition` does not parse";
    UnknownTable = "E200", Error, "unknown-table", "a source names a table sigcorr has no definition for";
    UnknownSource = "E201", Error, "unknown-source", "an expression names a source alias the rule does not declare";
    UnknownColumn = "E202", Error, "unknown-column", "an expression names a column its table does not have";
    UnknownFunction = "E203", Error, "unknown-function", "an expression calls a function sigcorr does not know";
    Arity = "E204", Error, "arity", "a function is called with the wrong number of arguments";
    Unqualified = "E205", Error, "unqualified-field", "a field in a multi-source expression does not say which source it reads";
    WrongSource = "E206", Error, "wrong-source", "a filter reads a source other than its own";
    TypeMismatch = "E300", Error, "type-mismatch", "an operator or function is applied to values of the wrong type";
    NotBoolean = "E301", Error, "not-boolean", "a filter, join or mismatch is not a boolean expression";
    BadRegex = "E302", Error, "bad-regex", "a `matches regex` pattern does not compile";
    UnknownModifier = "E110", Error, "unknown-modifier", "a Sigma detection key names a modifier the specification does not have";
    ModifierCombination = "E111", Error, "modifier-combination", "a Sigma detection key combines modifiers that cannot go together";
    ModifierValue = "E112", Error, "modifier-value", "a Sigma value does not fit its modifier (a CIDR, a number, a boolean, a field name)";
    UnknownSelection = "E113", Error, "unknown-selection", "a Sigma condition names a selection the detection does not have, or a pattern no selection matches";
    EmptySelection = "E114", Error, "empty-selection", "a Sigma selection or value list is empty";
    Placeholder = "E115", Error, "placeholder", "an `expand` placeholder has no value in the placeholders file";
    DetectionTooLarge = "E116", Error, "detection-too-large", "a Sigma detection lowers to more tests than sigcorr allows";
    SigmaCorrelation = "E120", Error, "sigma-correlation", "a Sigma correlation rule's `correlation` is not valid (type, timespan, condition, field)";
    CorrelationReference = "E121", Error, "correlation-reference", "a Sigma correlation references a rule that is unknown, ambiguous, refused, or itself (a cycle)";
    CorrelationField = "E122", Error, "correlation-field", "a Sigma correlation's `group-by`, alias or `field` names a field a referenced rule does not have";
    NoLogsourceTable = "E210", Error, "no-logsource-table", "a Sigma rule's `logsource` maps to no table";
    JoinTypes = "E400", Error, "join-types", "the two sides of a join key have incompatible types";
    MissingJoin = "E401", Error, "missing-join", "a rule with two sources has no join";
    JoinOneSide = "E402", Error, "join-one-side", "a join key compares a source with itself";
    JoinShape = "E403", Error, "join-shape", "a join is not a conjunction of `left.col == right.col` equalities";
    SourceCount = "E404", Error, "source-count", "a rule reads more than two sources, or none";
    MismatchWithoutJoin = "E405", Error, "mismatch-without-join", "a single-source rule has a mismatch predicate";
    DuplicateId = "E500", Error, "duplicate-id", "two rules share an `id`";
    DuplicateTitle = "W501", Warning, "duplicate-title", "two rules share a `title`";
    AttackTag = "E502", Error, "attack-tag", "an `attack.` tag is neither a technique id nor a known tactic";
    MissingFalsePositives = "W503", Warning, "missing-falsepositives", "the rule does not list its false positives";
    MissingReferences = "W504", Warning, "missing-references", "the rule does not list references";
    UnusedSelection = "W510", Warning, "unused-selection", "a Sigma selection the condition never uses";
    SigmaMetadata = "W511", Warning, "sigma-metadata", "a Sigma rule's `id`, `date`, `modified`, `status` or `level` is not valid per the specification";
    WildcardOnly = "W512", Warning, "wildcard-only", "a Sigma value is only wildcards: it matches any non-empty value (use the `exists` modifier)";
    UnknownTriageField = "W513", Warning, "unknown-triage-field", "a field in a Sigma rule's `fields` list matches no column";
    TableDefinition = "E600", Error, "table-definition", "a table definition file is malformed";
    TestsFile = "E700", Error, "tests-file", "a rule's tests file does not have the shape of a list of test cases";
    TestUnknownTable = "E701", Error, "test-unknown-table", "a test case gives records for a table sigcorr has no definition for";
    TestUnknownColumn = "E702", Error, "test-unknown-column", "a test record has a column its table does not have";
    TestValueType = "E703", Error, "test-value-type", "a test record's value does not fit its column's type (it would be read as empty)";
    TestExpectedFields = "E704", Error, "test-expected-fields", "an expected alert's fields are not exactly the rule's output fields";
    TestRecordsFile = "E705", Error, "test-records-file", "a test's records file cannot be read, or a line of it is not a JSON object";
    TestUnreadTable = "W706", Warning, "test-unread-table", "a test case gives records for a table the rule does not read";
    DuplicateTestName = "E707", Error, "duplicate-test-name", "two test cases of one rule share a `name`";
    UnsupportedConstruct = "E800", Error, "unsupported-construct", "`compile` cannot express a construct in the target language with the engine's meaning";
}

/// One finding, located in a file.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    pub file: Option<Arc<SourceFile>>,
    pub span: Option<Span>,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Diagnostic { code, severity: code.severity(), message: message.into(), file: None, span: None, help: None }
    }

    pub fn at(mut self, file: &Arc<SourceFile>, span: Span) -> Self {
        self.file = Some(file.clone());
        self.span = Some(span);
        self
    }

    pub fn in_file(mut self, file: &Arc<SourceFile>) -> Self {
        self.file = Some(file.clone());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// 1-based `(line, column)` of the start of the span, if located.
    pub fn line_col(&self) -> Option<(usize, usize)> {
        let file = self.file.as_ref()?;
        Some(file.line_col(self.span?.start))
    }

    /// 1-based `(line, column)` of the end of the span, if located.
    pub fn end_line_col(&self) -> Option<(usize, usize)> {
        let file = self.file.as_ref()?;
        Some(file.line_col(self.span?.end))
    }

    /// `path:line:col` (or just `path`), the prefix of the human rendering.
    pub fn location(&self) -> String {
        match (&self.file, self.line_col()) {
            (Some(f), Some((l, c))) => format!("{}:{l}:{c}", f.path().display()),
            (Some(f), None) => f.path().display().to_string(),
            (None, _) => "<rules>".to_string(),
        }
    }

    /// The human rendering: `path:line:col: error[CODE]: message`, the
    /// source line with a caret under the span, and `help:`. File names,
    /// messages (which quote the rule's values), the source line and the help
    /// are shown with control, line-separator and bidi characters spelt out
    /// ([`crate::text::printable`]), the caret under the span as shown.
    pub fn render(&self) -> String {
        let shown = crate::text::printable;
        let mut out = format!(
            "{}: {}[{}]: {}\n",
            shown(&self.location()),
            self.severity.as_str(),
            self.code.as_str(),
            shown(&self.message)
        );
        if let (Some(file), Some(span), Some((line, col))) = (&self.file, self.span, self.line_col()) {
            let text = file.line_text(line);
            let gutter = line.to_string().len();
            let (end_line, end_col) = file.line_col(span.end);
            let width = if end_line == line && end_col > col { end_col - col } else { 1 };
            // Widths as shown: an escaped character takes several columns.
            let before: String = text.chars().take(col - 1).collect();
            let under: String = text.chars().skip(col - 1).take(width).collect();
            let pad = " ".repeat(shown(&before).chars().count());
            let width = shown(&under).chars().count().max(1);
            let _ = writeln!(out, "{:gutter$} |", "");
            let _ = writeln!(out, "{line} | {}", shown(text));
            let _ = writeln!(out, "{:gutter$} | {pad}{}", "", "^".repeat(width));
            if let Some(help) = &self.help {
                let _ = writeln!(out, "{:gutter$} = help: {}", "", shown(help));
            }
        } else if let Some(help) = &self.help {
            let _ = writeln!(out, "  = help: {}", shown(help));
        }
        out
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

/// The "did you mean" candidate closest to `name`, if any is close enough.
pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    // Names are short; a hostile 20,000-character one gets no suggestion
    // rather than a 3 GB distance matrix.
    const LONGEST: usize = 256;
    let lower = name.to_lowercase();
    let len = lower.chars().count();
    if len > LONGEST {
        return None;
    }
    candidates
        .into_iter()
        // A suggestion is at most a third of the candidate away, so its
        // length is close: others are not measured.
        .filter(|c| c.len() <= 4 * LONGEST && len.abs_diff(c.chars().count()) <= (c.chars().count() / 3).max(1))
        .map(|c| (edit_distance(&lower, &c.to_lowercase()), c))
        .filter(|&(d, c)| d <= (c.chars().count() / 3).max(1))
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

/// Edits (insert, delete, substitute, swap two neighbours) from `a` to `b`:
/// `titel` is one swap from `title`.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // d[i][j]: distance between a[..i] and b[..j].
    let mut d = vec![vec![0; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    d[0] = (0..=b.len()).collect();
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j - 1] + cost).min(d[i - 1][j] + 1).min(d[i][j - 1] + 1);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_location_caret_and_help() {
        let file = SourceFile::new("r.yml", "title: x\nmismatch: a.IPAdress != b\n".into());
        let d = Diagnostic::new(Code::UnknownColumn, "unknown column `IPAdress`")
            .at(&file, Span::new(21, 29))
            .help("did you mean `IPAddress`?");
        assert_eq!(
            d.render(),
            "r.yml:2:13: error[E202]: unknown column `IPAdress`\n  |\n2 | mismatch: a.IPAdress != b\n  |             ^^^^^^^^\n  = help: did you mean `IPAddress`?\n"
        );
    }

    #[test]
    fn renders_hostile_values_file_names_and_lines_escaped() {
        let file = SourceFile::new("r\u{1b}[31m\n.yml", "title: t\n# \u{1b}[2J\tx: \"a\u{202e}b\"\n".into());
        let d = Diagnostic::new(Code::UnknownTable, "unknown table `Evil\u{1b}[2J\nFAKE: 0 alerts\u{7}`")
            .at(&file, Span::new(16, 24))
            .help("did you mean `\u{2028}`?");
        // `x: "a` and the override under the caret: 13 columns as shown, after 13.
        let want = [
            r"r\u{1b}[31m\n.yml:2:8: error[E200]: unknown table `Evil\u{1b}[2J\nFAKE: 0 alerts\u{7}`",
            "  |",
            r#"2 | # \u{1b}[2J\tx: "a\u{202e}b""#,
            &format!("  | {}{}", " ".repeat(13), "^".repeat(13)),
            r"  = help: did you mean `\u{2028}`?",
        ];
        assert_eq!(d.render(), want.join("\n") + "\n");
    }

    #[test]
    fn did_you_mean_finds_close_names_only() {
        let cols = ["IPAddress", "RequestUri", "UserAgent"];
        assert_eq!(did_you_mean("IPAdress", cols), Some("IPAddress"));
        assert_eq!(did_you_mean("ipaddress", cols), Some("IPAddress"));
        assert_eq!(did_you_mean("Banana", cols), None);
        assert_eq!(did_you_mean("titel", ["title", "id", "level"]), Some("title"), "a swap is one edit");
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("ab", "ba"), 1);
    }

    #[test]
    fn codes_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for c in Code::ALL {
            assert!(seen.insert(c.as_str()), "duplicate code {}", c.as_str());
            assert!(seen.insert(c.name()), "duplicate name {}", c.name());
        }
    }
}
