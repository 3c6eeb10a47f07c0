//! `--format json`: one JSON object per finding, one per line.

use serde::Serialize;

use crate::diagnostic::Diagnostic;

/// One finding as `sigcorr lint --format json` prints it. Lines and columns
/// are 1-based; columns count characters; `end_*` is just past the span.
#[derive(Debug, Serialize)]
pub struct Finding<'a> {
    pub file: Option<String>,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub end_line: Option<usize>,
    pub end_column: Option<usize>,
    pub severity: &'static str,
    pub code: &'static str,
    pub name: &'static str,
    pub message: &'a str,
    pub help: Option<&'a str>,
}

impl<'a> Finding<'a> {
    pub fn new(d: &'a Diagnostic) -> Self {
        let start = d.line_col();
        let end = d.end_line_col();
        Finding {
            file: d.file.as_ref().map(|f| f.path().display().to_string()),
            line: start.map(|(l, _)| l),
            column: start.map(|(_, c)| c),
            end_line: end.map(|(l, _)| l),
            end_column: end.map(|(_, c)| c),
            severity: d.severity.as_str(),
            code: d.code.as_str(),
            name: d.code.name(),
            message: &d.message,
            help: d.help.as_deref(),
        }
    }
}

/// The findings as JSON lines.
pub fn render(diagnostics: &[Diagnostic]) -> String {
    diagnostics.iter().map(|d| serde_json::to_string(&Finding::new(d)).expect("a finding serialises") + "\n").collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::Code;
    use crate::span::{SourceFile, Span};

    #[test]
    fn one_object_per_line_with_positions() {
        let file = SourceFile::new("r.yml", "title: x\nlevel: severe\n".into());
        let d =
            Diagnostic::new(Code::Schema, "invalid `level` `severe`").at(&file, Span::new(16, 22)).help("one of: high");
        let unlocated = Diagnostic::new(Code::DuplicateId, "no place");
        assert_eq!(
            render(&[d, unlocated]),
            concat!(
                r#"{"file":"r.yml","line":2,"column":8,"end_line":2,"end_column":14,"severity":"error","code":"E010","#,
                r#""name":"schema","message":"invalid `level` `severe`","help":"one of: high"}"#,
                "\n",
                r#"{"file":null,"line":null,"column":null,"end_line":null,"end_column":null,"severity":"error","#,
                r#""code":"E500","name":"duplicate-id","message":"no place","help":null}"#,
                "\n"
            )
        );
    }
}
