//! Emit: alerts as JSON lines, an aligned table, or CSV.

use std::io::{self, Write};

use rayon::prelude::*;

use crate::engine::{Alert, Pos};
use crate::input::InputFile;
use crate::plan::Plan;

/// How alerts are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One JSON object per alert: `{"rule":{...},"fields":{...},"evidence":{...}}`.
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
) -> io::Result<()> {
    match format {
        // 4,096 alerts are about 2.6 MB of text: still in the cache when
        // written (65,536 were not, and the kernel's copy ran at a third
        // of the speed).
        Format::Jsonl => jsonl(out, plan, alerts, files, 1 << 12),
        Format::Table => table(out, plan, alerts),
        Format::Csv => csv(out, plan, alerts, files),
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
            format!(
                "{{\"rule\":{{\"id\":{},\"title\":{},\"level\":{}}},\"fields\":{{",
                json_str(r.id()),
                json_str(r.title()),
                json_str(r.level())
            )
        })
        .collect();
    let names: Vec<Vec<String>> =
        plan.rules.iter().map(|r| r.output.iter().map(|o| json_str(&o.name) + ":").collect()).collect();
    let aliases: Vec<Vec<String>> =
        plan.rules.iter().map(|r| r.sources.iter().map(|s| json_str(&s.alias) + ":").collect()).collect();
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
        for (i, (alias, pos)) in aliases[a.rule].iter().zip(&a.evidence).enumerate() {
            if i > 0 {
                buf.push(b',');
            }
            buf.extend_from_slice(alias.as_bytes());
            buf.extend_from_slice(paths[pos.file as usize].as_bytes());
            push_decimal(buf, pos.line);
            buf.push(b'"');
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
fn text(v: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(v) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(serde_json::Value::Null) => String::new(),
        _ => v.to_string(),
    }
}

fn table(out: &mut dyn Write, plan: &Plan, alerts: &[Alert]) -> io::Result<()> {
    for (r, rule) in plan.rules.iter().enumerate() {
        let rows: Vec<Vec<String>> =
            alerts.iter().filter(|a| a.rule == r).map(|a| a.fields.iter().map(text).collect()).collect();
        if rows.is_empty() {
            continue;
        }
        writeln!(
            out,
            "{} [{}] ({}): {} alert{}",
            rule.title(),
            rule.level(),
            rule.id(),
            rows.len(),
            if rows.len() == 1 { "" } else { "s" }
        )?;
        let headers: Vec<&str> = rule.output.iter().map(|o| o.name.as_str()).collect();
        let widths: Vec<usize> = headers
            .iter()
            .enumerate()
            .map(|(i, h)| rows.iter().map(|r| r[i].chars().count()).chain([h.len()]).max().unwrap_or(0))
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
        writeln!(out, "{}", line(headers.clone()))?;
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

fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
}

fn csv(out: &mut dyn Write, plan: &Plan, alerts: &[Alert], files: &[InputFile]) -> io::Result<()> {
    let mut columns: Vec<&str> = Vec::new();
    for rule in &plan.rules {
        for o in &rule.output {
            if !columns.contains(&o.name.as_str()) {
                columns.push(&o.name);
            }
        }
    }
    let header: Vec<String> = ["rule_id", "rule_title", "level"]
        .iter()
        .map(|s| s.to_string())
        .chain(columns.iter().map(|c| csv_cell(c)))
        .chain(["evidence".to_string()])
        .collect();
    writeln!(out, "{}", header.join(","))?;
    for a in alerts {
        let rule = &plan.rules[a.rule];
        let mut cells = vec![csv_cell(rule.id()), csv_cell(rule.title()), csv_cell(rule.level())];
        for c in &columns {
            let v = rule.output.iter().position(|o| o.name == *c).map(|i| text(a.fields.get(i))).unwrap_or_default();
            cells.push(csv_cell(&v));
        }
        let ev: Vec<String> = a.evidence.iter().map(|p| evidence(files, *p)).collect();
        cells.push(csv_cell(&ev.join(" ")));
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
