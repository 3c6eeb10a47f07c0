//! Test results as JUnit XML, the report format CI systems read (GitHub
//! Actions test reporters, GitLab `artifacts:reports:junit`, Jenkins).
//!
//! One `<testsuite>` per rule, one `<testcase>` per case; a failing case has
//! a `<failure message="...">` with the diff, a case that could not run an
//! `<error>`, and a tests file that could not be loaded an `<error>` case of
//! its own.

use std::io::{self, Write};
use std::time::Duration;

use super::{CaseResult, Verdict};

/// One rule's results.
#[derive(Debug)]
pub struct Suite {
    /// The rule file.
    pub rule: String,
    pub title: String,
    /// The tests file.
    pub tests: String,
    pub results: Vec<CaseResult>,
    /// Why the tests could not be run at all (rule or tests file errors), if so.
    pub error: Option<String>,
}

impl Suite {
    pub fn failures(&self) -> usize {
        self.results.iter().filter(|r| matches!(r.verdict, Verdict::Fail(_))).count()
    }

    pub fn errors(&self) -> usize {
        self.results.iter().filter(|r| matches!(r.verdict, Verdict::Error(_))).count()
            + usize::from(self.error.is_some())
    }

    pub fn tests(&self) -> usize {
        self.results.len() + usize::from(self.error.is_some())
    }

    fn time(&self) -> Duration {
        self.results.iter().map(|r| r.elapsed).sum()
    }
}

/// Writes `suites` as one JUnit XML document.
pub fn write(out: &mut dyn Write, suites: &[Suite]) -> io::Result<()> {
    let sum = |f: fn(&Suite) -> usize| suites.iter().map(f).sum::<usize>();
    let time: Duration = suites.iter().map(Suite::time).sum();
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        out,
        r#"<testsuites name="sigcorr test" tests="{}" failures="{}" errors="{}" time="{:.6}">"#,
        sum(Suite::tests),
        sum(Suite::failures),
        sum(Suite::errors),
        time.as_secs_f64()
    )?;
    for s in suites {
        writeln!(
            out,
            r#"  <testsuite name="{}" tests="{}" failures="{}" errors="{}" skipped="0" time="{:.6}" file="{}">"#,
            attr(&s.rule),
            s.tests(),
            s.failures(),
            s.errors(),
            s.time().as_secs_f64(),
            attr(&s.tests)
        )?;
        if !s.title.is_empty() {
            writeln!(out, r#"    <properties><property name="title" value="{}"/></properties>"#, attr(&s.title))?;
        }
        if let Some(e) = &s.error {
            writeln!(out, r#"    <testcase name="(load)" classname="{}" file="{}">"#, attr(&s.rule), attr(&s.tests))?;
            writeln!(out, r#"      <error message="{}">{}</error>"#, attr(first_line(e)), text(e))?;
            writeln!(out, "    </testcase>")?;
        }
        for r in &s.results {
            write!(
                out,
                r#"    <testcase name="{}" classname="{}" file="{}" line="{}" time="{:.6}""#,
                attr(&r.name),
                attr(&s.rule),
                attr(&s.tests),
                r.line,
                r.elapsed.as_secs_f64()
            )?;
            match &r.verdict {
                Verdict::Pass => writeln!(out, "/>")?,
                Verdict::Fail(m) => {
                    writeln!(out, ">")?;
                    writeln!(
                        out,
                        r#"      <failure message="{}" type="alerts">{}</failure>"#,
                        attr(&m.summary()),
                        text(&m.render())
                    )?;
                    writeln!(out, "    </testcase>")?;
                }
                Verdict::Error(e) => {
                    writeln!(out, ">")?;
                    writeln!(out, r#"      <error message="{}">{}</error>"#, attr(first_line(e)), text(e))?;
                    writeln!(out, "    </testcase>")?;
                }
            }
        }
        writeln!(out, "  </testsuite>")?;
    }
    writeln!(out, "</testsuites>")
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

/// Escapes text for an XML attribute value (line breaks kept as `&#10;`).
pub fn attr(s: &str) -> String {
    escape(s, true)
}

/// Escapes text for element content.
pub fn text(s: &str) -> String {
    escape(s, false)
}

/// Characters XML 1.0 cannot hold at all (most control characters) become U+FFFD.
fn escape(s: &str, attr: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' if attr => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' if attr => out.push_str("&#9;"),
            '\n' | '\t' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_quotes_and_control_characters() {
        assert_eq!(attr(r#"<a href="x">&'"#), "&lt;a href=&quot;x&quot;&gt;&amp;&apos;");
        assert_eq!(attr("a\nb\u{1}c"), "a&#10;b\u{FFFD}c");
        assert_eq!(text("a\n\tb<\u{1b}"), "a\n\tb&lt;\u{FFFD}");
    }
}
