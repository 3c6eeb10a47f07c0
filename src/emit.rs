//! Emit: alerts as JSON lines, an aligned table, or CSV.

use std::io::{self, Write};

use rayon::prelude::*;

use crate::engine::{Alert, Pos};
use crate::input::InputFile;
use crate::plan::Plan;
use crate::text;

/// How alerts are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One JSON object per alert: `{"rule":{"id","title","level","tags"},"fields":{...},"evidence":{...}}`.
    Jsonl,
    /// One aligned table per rule, for reading in a terminal.
    Table,
    /// One header over all rules' output columns.
    Csv,
}

impl Format {
    /// Every format, with its name (as the command line spells it) and what it writes.
    pub const ALL: [(Format, &'static str, &'static str); 3] = [
        (Format::Jsonl, "jsonl", "One JSON object per alert: {\"rule\":{...},\"fields\":{...},\"evidence\":{...}}"),
        (Format::Table, "table", "One aligned table per rule, for reading in a terminal"),
        (Format::Csv, "csv", "One header over all rules' output columns"),
    ];
}

/// How alerts are written, besides their [`Format`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteOptions {
    /// CSV: write every cell as it is. By default a cell that a spreadsheet
    /// would read as a formula (one starting with `=`, `+`, `-`, `@`, a tab
    /// or a carriage return, and not a plain number such as `-5`) gets a `'`
    /// in front, as OWASP recommends against CSV injection.
    pub csv_raw: bool,
}

/// `path:line` of a record.
pub fn evidence(files: &[InputFile], pos: Pos) -> String {
    format!("{}:{}", files[pos.file as usize].path.display(), pos.line)
}

pub fn write(
    out: &mut dyn Write,
    format: Format,
    plan: &Plan,
    alerts: &[Alert],
    files: &[InputFile],
    options: &WriteOptions,
) -> io::Result<()> {
    match format {
        // 4,096 alerts are about 2.6 MB of text: still in the cache when
        // written (65,536 were not, and the kernel's copy ran at a third
        // of the speed).
        Format::Jsonl => jsonl(out, plan, alerts, files, 1 << 12),
        Format::Table => table(out, plan, alerts),
        Format::Csv => csv(out, plan, alerts, files, options.csv_raw),
    }
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialise")
}

/// JSON lines, formatted `batch` alerts at a time.
fn jsonl(out: &mut dyn Write, plan: &Plan, alerts: &[Alert], files: &[InputFile], batch: usize) -> io::Result<()> {
    // Everything but the values and line numbers is fixed per rule and per
    // file: build those pieces once, then format alerts in parallel batches.
    let heads: Vec<String> = plan
        .rules
        .iter()
        .map(|r| {
            let tags: Vec<String> = r.doc.tags.iter().map(|t| json_str(&t.value)).collect();
            format!(
                "{{\"rule\":{{\"id\":{},\"title\":{},\"level\":{},\"tags\":[{}]}},\"fields\":{{",
                json_str(r.id()),
                json_str(r.title()),
                json_str(r.level()),
                tags.join(",")
            )
        })
        .collect();
    let names: Vec<Vec<String>> =
        plan.rules.iter().map(|r| r.shown_output().iter().map(|o| json_str(&o.name) + ":").collect()).collect();
    // Evidence is listed under each source's alias; a correlation's under
    // each referenced rule as its `rules` names it.
    let aliases: Vec<Vec<String>> = plan
        .rules
        .iter()
        .map(|r| match &r.correlation {
            Some(spec) => spec.names.iter().map(|n| json_str(n) + ":").collect(),
            None => r.sources.iter().map(|s| json_str(&s.alias) + ":").collect(),
        })
        .collect();
    // `"path:` without the closing quote: the line number follows.
    let paths: Vec<String> = files
        .iter()
        .map(|f| {
            let quoted = json_str(&format!("{}:", f.path.display()));
            quoted[..quoted.len() - 1].to_string()
        })
        .collect();
    let format = |a: &Alert, buf: &mut Vec<u8>| {
        buf.extend_from_slice(heads[a.rule].as_bytes());
        for (i, (name, v)) in names[a.rule].iter().zip(a.fields.iter()).enumerate() {
            if i > 0 {
                buf.push(b',');
            }
            buf.extend_from_slice(name.as_bytes());
            buf.extend_from_slice(v.as_bytes());
        }
        buf.extend_from_slice(b"},\"evidence\":{");
        let position = |buf: &mut Vec<u8>, pos: &Pos| {
            buf.extend_from_slice(paths[pos.file as usize].as_bytes());
            push_decimal(buf, pos.line);
            buf.push(b'"');
        };
        match &a.members {
            // Per referenced rule, the positions of its events, in time order.
            Some(m) => {
                let mut first = true;
                for (input, alias) in aliases[a.rule].iter().enumerate() {
                    let mut of = m.pos.iter().zip(&m.input).filter(|(_, i)| **i as usize == input).peekable();
                    if of.peek().is_none() {
                        continue;
                    }
                    if !first {
                        buf.push(b',');
                    }
                    first = false;
                    buf.extend_from_slice(alias.as_bytes());
                    buf.push(b'[');
                    for (k, (pos, _)) in of.enumerate() {
                        if k > 0 {
                            buf.push(b',');
                        }
                        position(buf, pos);
                    }
                    buf.push(b']');
                }
            }
            None => {
                for (i, (alias, pos)) in aliases[a.rule].iter().zip(&a.evidence).enumerate() {
                    if i > 0 {
                        buf.push(b',');
                    }
                    buf.extend_from_slice(alias.as_bytes());
                    position(buf, pos);
                }
            }
        }
        buf.extend_from_slice(b"}}\n");
    };
    // One thread formats the next batch (in parallel) while this one writes
    // the last; a failed write ends both.
    std::thread::scope(|scope| {
        let (batches, formatted) = std::sync::mpsc::sync_channel::<Vec<Vec<u8>>>(2);
        scope.spawn(move || {
            for batch in alerts.chunks(batch) {
                let parts: Vec<Vec<u8>> = batch
                    .par_chunks(batch.len().div_ceil(16).max(1))
                    .map(|chunk| {
                        let mut buf = Vec::with_capacity(chunk.len() * 512);
                        chunk.iter().for_each(|a| format(a, &mut buf));
                        buf
                    })
                    .collect();
                if batches.send(parts).is_err() {
                    return;
                }
            }
        });
        for part in formatted.iter().flatten() {
            out.write_all(&part)?;
        }
        Ok(())
    })
}

/// Appends `n` in decimal, without the allocation of `to_string`.
fn push_decimal(buf: &mut Vec<u8>, mut n: u32) {
    let mut digits = [0u8; 10];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf.extend_from_slice(&digits[start..]);
}

/// A field's JSON as plain text: strings unquoted, the rest as JSON.
fn as_text(v: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(v) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(serde_json::Value::Null) => String::new(),
        _ => v.to_string(),
    }
}

/// One aligned table per rule. Every value, name and title is shown with its
/// control, line-separator and bidi characters spelt out
/// ([`text::printable`]): a value cannot move the cursor, clear the screen or
/// forge a line.
fn table(out: &mut dyn Write, plan: &Plan, alerts: &[Alert]) -> io::Result<()> {
    let shown = |s: &str| text::printable(s).into_owned();
    for (r, rule) in plan.rules.iter().enumerate() {
        let rows: Vec<Vec<String>> = alerts
            .iter()
            .filter(|a| a.rule == r)
            .map(|a| a.fields.iter().take(rule.shown).map(|v| shown(&as_text(v))).collect())
            .collect();
        if rows.is_empty() {
            continue;
        }
        writeln!(
            out,
            "{} [{}] ({}): {} alert{}",
            text::printable(rule.title()),
            text::printable(rule.level()),
            text::printable(rule.id()),
            rows.len(),
            if rows.len() == 1 { "" } else { "s" }
        )?;
        let headers: Vec<String> = rule.shown_output().iter().map(|o| shown(&o.name)).collect();
        let widths: Vec<usize> = headers
            .iter()
            .enumerate()
            .map(|(i, h)| rows.iter().map(|r| r[i].chars().count()).chain([h.chars().count()]).max().unwrap_or(0))
            .collect();
        let line = |cells: Vec<&str>| -> String {
            cells
                .iter()
                .zip(&widths)
                .map(|(c, w)| format!("{c:<w$}"))
                .collect::<Vec<_>>()
                .join("  ")
                .trim_end()
                .to_string()
        };
        writeln!(out, "{}", line(headers.iter().map(String::as_str).collect()))?;
        writeln!(
            out,
            "{}",
            line(widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>().iter().map(String::as_str).collect())
        )?;
        for row in &rows {
            writeln!(out, "{}", line(row.iter().map(String::as_str).collect()))?;
        }
        writeln!(out)?;
    }
    Ok(())
}

/// One CSV cell: quoted when it holds `,`, `"` or a line break. Unless
/// `raw`, a cell a spreadsheet would run as a formula (see [`formula_like`])
/// is written `'` first, so it shows as text.
fn csv_cell(s: &str, raw: bool) -> String {
    let escaped;
    let s = if !raw && formula_like(s) {
        escaped = format!("'{s}");
        escaped.as_str()
    } else {
        s
    };
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
}

/// Whether a spreadsheet may read the cell `s` as a formula: it starts with
/// `=`, `+`, `-`, `@`, a tab or a carriage return (OWASP's list), and is not
/// a plain decimal number (`-5`, `+7`, `-1.5e3` are numbers to a spreadsheet
/// too, and stay numbers).
fn formula_like(s: &str) -> bool {
    s.starts_with(['=', '+', '-', '@', '\t', '\r']) && !is_number(s)
}

/// `[+-]digits[.digits][e[+-]digits]`, or with the digits after the point only.
fn is_number(s: &str) -> bool {
    let s = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |d: &str| d.bytes().all(|b| b.is_ascii_digit());
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    (!int.is_empty() || !frac.is_empty()) && digits(int) && digits(frac) && exponent_ok
}

fn csv(out: &mut dyn Write, plan: &Plan, alerts: &[Alert], files: &[InputFile], raw: bool) -> io::Result<()> {
    let cell = |s: &str| csv_cell(s, raw);
    let mut columns: Vec<&str> = Vec::new();
    // The columns of the rules whose alerts are written (not those only
    // correlations read).
    let unwritten = crate::correlate::unwritten(&plan.rules);
    for rule in plan.rules.iter().zip(&unwritten).filter(|(_, u)| !**u).map(|(r, _)| r) {
        for o in rule.shown_output() {
            if !columns.contains(&o.name.as_str()) {
                columns.push(&o.name);
            }
        }
    }
    let header: Vec<String> = ["rule_id", "rule_title", "level"]
        .iter()
        .map(|s| s.to_string())
        .chain(columns.iter().map(|c| cell(c)))
        .chain(["evidence".to_string()])
        .collect();
    writeln!(out, "{}", header.join(","))?;
    for a in alerts {
        let rule = &plan.rules[a.rule];
        let mut cells = vec![cell(rule.id()), cell(rule.title()), cell(rule.level())];
        for c in &columns {
            let v = rule
                .shown_output()
                .iter()
                .position(|o| o.name == *c)
                .map(|i| as_text(a.fields.get(i)))
                .unwrap_or_default();
            cells.push(cell(&v));
        }
        let positions = a.members.as_ref().map_or(&a.evidence[..], |m| &m.pos[..]);
        let ev: Vec<String> = positions.iter().map(|p| evidence(files, *p)).collect();
        cells.push(cell(&ev.join(" ")));
        writeln!(out, "{}", cells.join(","))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Evidence, Values};

    fn plan() -> Plan {
        let correlation = "  sources:\n    a: MicrosoftGraphActivityLogs\n  output:\n    Ip: a.IPAddress\n    Code: a.ResponseStatusCode\n";
        crate::plan::plan_of(&[crate::plan::test_rule(1, correlation)])
    }

    fn alerts(n: u32) -> Vec<Alert> {
        (1..=n)
            .map(|line| Alert {
                rule: 0,
                evidence: Evidence::one(Pos { file: 0, line }),
                fields: Values::from_json_texts(&[&format!("\"10.0.0.{}\"", line % 256), &line.to_string()]),
                time: i64::MIN,
                members: None,
            })
            .collect()
    }

    /// Fails once `room` bytes are written.
    struct Full {
        room: usize,
        written: Vec<u8>,
    }

    impl Write for Full {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.written.len() + buf.len() > self.room {
                return Err(io::Error::new(io::ErrorKind::StorageFull, "full"));
            }
            self.written.extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn written(format: Format, fields: &[&str], options: WriteOptions) -> String {
        let alerts = [Alert {
            rule: 0,
            evidence: Evidence::one(Pos { file: 0, line: 1 }),
            fields: Values::from_json_texts(fields),
            time: i64::MIN,
            members: None,
        }];
        let mut out = Vec::new();
        write(&mut out, format, &plan(), &alerts, &[InputFile::file("in.json")], &options).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn csv_prefixes_formulas_unless_raw() {
        let row = |ip: &str, code: &str, raw: bool| {
            let csv = written(Format::Csv, &[ip, code], WriteOptions { csv_raw: raw });
            let row = csv.lines().nth(1).unwrap().to_string();
            row.strip_prefix("00000000-0000-4000-8000-000000000001,Rule 1,low,").unwrap().to_string()
        };
        let hyperlink = r#""=HYPERLINK(\"http://x\",\"y\")""#;
        assert_eq!(row(hyperlink, "-5", false), r#""'=HYPERLINK(""http://x"",""y"")",-5,in.json:1"#);
        assert_eq!(row(hyperlink, "-5", true), r#""=HYPERLINK(""http://x"",""y"")",-5,in.json:1"#);
        assert_eq!(row(r#""@A1""#, r#""-1+2""#, false), "'@A1,'-1+2,in.json:1");
        assert_eq!(row(r#""@A1""#, r#""-1+2""#, true), "@A1,-1+2,in.json:1");
        assert_eq!(row(r#""\tx""#, r#""\r1""#, false), "'\tx,\"'\r1\",in.json:1");
        assert_eq!(row(r#""+1.5e3""#, r#""-.5""#, false), "+1.5e3,-.5,in.json:1");
        assert_eq!(row(r#""10.0.0.1""#, "200", false), "10.0.0.1,200,in.json:1");
        for n in ["-5", "+7", "-1.5", "1e3", "-2E-4", ".5", "5."] {
            assert!(is_number(n), "{n}");
        }
        for n in ["-", "+", "-e3", "-1e", "-1+2", "--1", "-1.2.3", "-0x1", "- 1", "-1e+"] {
            assert!(!is_number(n), "{n}");
        }
    }

    #[test]
    fn table_cells_titles_and_names_show_control_characters_escaped() {
        let table =
            written(Format::Table, &[r#""Evil\u001b[2J\nFAKE: 0 alerts\u0007\u202e""#, "7"], WriteOptions::default());
        // The cell as shown is 42 characters wide: the columns align on that.
        let cell = r"Evil\u{1b}[2J\nFAKE: 0 alerts\u{7}\u{202e}";
        assert_eq!(cell.chars().count(), 42);
        assert_eq!(
            table,
            format!(
                "Rule 1 [low] (00000000-0000-4000-8000-000000000001): 1 alert\nIp{}Code\n{}  ----\n{cell}  7\n\n",
                " ".repeat(42),
                "-".repeat(42)
            )
        );
    }

    #[test]
    fn decimals_are_written_as_to_string_writes_them() {
        for n in [0, 7, 9, 10, 99, 100, 65_535, 1_000_000, u32::MAX - 1, u32::MAX] {
            let mut buf = b"x".to_vec();
            push_decimal(&mut buf, n);
            assert_eq!(buf, format!("x{n}").into_bytes());
        }
    }

    #[test]
    fn batches_are_written_in_order_and_a_failed_write_stops_the_formatting() {
        let (plan, alerts) = (plan(), alerts(1000));
        let files = [InputFile::file("in.json")];
        let mut whole = Vec::new();
        jsonl(&mut whole, &plan, &alerts, &files, usize::MAX).unwrap();
        let whole = String::from_utf8(whole).unwrap();
        assert_eq!(whole.lines().count(), 1000);
        for (i, line) in whole.lines().enumerate() {
            assert!(line.ends_with(&format!(r#""evidence":{{"a":"in.json:{}"}}}}"#, i + 1)), "{line}");
        }
        assert!(
            whole
                .lines()
                .nth(6)
                .unwrap()
                .ends_with(r#""fields":{"Ip":"10.0.0.7","Code":7},"evidence":{"a":"in.json:7"}}"#)
        );
        for batch in [1, 7, 64] {
            let mut out = Vec::new();
            jsonl(&mut out, &plan, &alerts, &files, batch).unwrap();
            assert_eq!(String::from_utf8(out).unwrap(), whole, "batches of {batch}");
        }
        // Many more batches than the channel holds: the error comes back, nothing hangs.
        let mut full = Full { room: 5000, written: Vec::new() };
        let err = jsonl(&mut full, &plan, &alerts, &files, 3).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::StorageFull);
        assert!(whole.as_bytes().starts_with(&full.written) && !full.written.is_empty());
    }
}
