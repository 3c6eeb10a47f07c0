//! Hostile input (issue 25): what an attacker who writes into the logs, or
//! into the directories sigcorr reads, can make of them. None of it may
//! hang a run, grow its memory without bound or cost the rest of the data;
//! each is reported with the file and line where it is.

use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

use sigcorr::engine::{Options, Outcome};
use sigcorr::input::{InputFile, ReadOptions};

use crate::common::{Alert, Run, T1528_ID, Test};
use crate::inputs::la_pair;

const NOW: &str = "2026-07-16T12:00:00Z";

/// The sign-in and the Graph call of one T1528 alert, as NDJSON.
fn pair_lines() -> String {
    let (s, g) = la_pair();
    format!("{s}\n{g}\n")
}

/// `sigcorr run --now NOW ARGS` in the case's directory, killed after 60 s
/// (a hang fails the test rather than the suite).
fn run_within(test: &Test, args: &[&str]) -> Run {
    let mut cmd = assert_cmd::Command::cargo_bin("sigcorr").unwrap();
    cmd.current_dir(test.dir.path()).args(["run", "--now", NOW]).args(args).timeout(Duration::from_secs(60));
    let out = cmd.output().unwrap();
    Run {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code().unwrap_or(-1),
    }
}

fn t1528(run: &Run) -> Vec<Alert> {
    run.alerts().into_iter().filter(|a| a.rule.id == T1528_ID).collect()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(data).unwrap();
    gz.finish().unwrap()
}

fn mkfifo(path: &Path) {
    let made = std::process::Command::new("mkfifo").arg(path).status().unwrap();
    assert!(made.success(), "mkfifo {}", path.display());
}

/// `zeros` zero bytes without a newline, then `tail`: a line that cannot be
/// held whole, generated as it is read.
struct Zeros {
    zeros: usize,
    tail: std::io::Cursor<Vec<u8>>,
}

impl Read for Zeros {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.zeros == 0 {
            return self.tail.read(buf);
        }
        let n = buf.len().min(self.zeros).min(64 << 10);
        buf[..n].fill(0);
        self.zeros -= n;
        Ok(n)
    }
}

fn engine_run(files: &[InputFile], read: ReadOptions) -> (Outcome, usize) {
    let catalog = sigcorr::table::Catalog::builtin();
    let (rules, diags) = sigcorr::compile_rules(&sigcorr::read_rule_files(&[]).unwrap(), &catalog);
    assert!(diags.iter().all(|d| !d.is_error()));
    let plan = sigcorr::plan::plan(rules, &catalog);
    let t1528 = plan.rules.iter().position(|r| r.id() == T1528_ID).unwrap();
    let now = sigcorr::datetime::parse(NOW).unwrap();
    let outcome = sigcorr::engine::run_with(&plan, files, now, Options { read, ..Options::default() });
    let alerts = outcome.alerts.iter().filter(|a| a.rule == t1528).count();
    (outcome, alerts)
}

/// Issue 25, item 1: a line of 8 MiB of zeros without a newline, then the
/// pair, with a maximum record size of 64 KiB: the long line is one problem
/// at line 1, and the pair after it still gives its alert. Through a reader
/// (standard input's path) and a gzip file.
#[test]
fn a_line_longer_than_the_maximum_record_size_is_one_problem_and_the_rest_is_read() {
    let read = ReadOptions { block_bytes: 4096, max_record_bytes: 64 << 10, ..ReadOptions::default() };
    let tail = format!("\n{}", pair_lines()).into_bytes();
    let mut zeros = vec![0u8; 8 << 20];
    zeros.extend_from_slice(&tail);
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("z.json.gz");
    std::fs::write(&gz, gzip(&zeros)).unwrap();
    let inputs =
        [InputFile::reader("zeros", Zeros { zeros: 8 << 20, tail: std::io::Cursor::new(tail) }), InputFile::file(&gz)];
    for input in inputs {
        let what = input.path.display().to_string();
        let (outcome, alerts) = engine_run(&[input], read);
        assert_eq!(alerts, 1, "{what}: the records after the long line are read");
        let problems: Vec<(u32, &str)> = outcome.problems.iter().map(|p| (p.pos.line, p.message.as_str())).collect();
        assert_eq!(
            problems,
            [(1, "longer than the maximum record size of 65536 bytes (`--max-record-bytes`); skipped unread")],
            "{what}"
        );
        let s = &outcome.stats;
        assert_eq!((s.lines, s.entries, s.malformed), (3, 3, 1), "{what}: the long line is a line and a record");
    }
}

/// Issue 25, item 2: symbolic link loops in an input directory. Two loops
/// made the walk exponential (a hang); one read the pair 41 times (1,681
/// alerts). Each directory is read once, and the loops are noted.
#[cfg(unix)]
#[test]
fn symbolic_link_loops_in_a_directory_are_read_once() {
    let test = Test::new().file("logs/pair.json", pair_lines());
    for link in ["l1", "l2"] {
        std::os::unix::fs::symlink(".", test.path(&format!("logs/{link}"))).unwrap();
    }
    let run = run_within(&test, &["logs"]);
    run.code(0);
    assert_eq!(t1528(&run).len(), 1, "{}", run.stderr);
    for link in ["l1", "l2"] {
        let note = format!("logs/{link}: a directory already read (symbolic link loop)");
        assert!(run.stderr.contains(&note), "{note}\n{}", run.stderr);
    }
}

/// Issue 25, item 6: a FIFO with no writer inside an input directory hung
/// the run; it is passed over with a note.
#[cfg(unix)]
#[test]
fn a_fifo_in_an_input_directory_is_passed_over() {
    let test = Test::new().file("logs/pair.json", pair_lines());
    mkfifo(&test.path("logs/pipe.json"));
    let run = run_within(&test, &["logs"]);
    run.code(0);
    assert_eq!(t1528(&run).len(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("logs/pipe.json: a FIFO (named pipe)"), "{}", run.stderr);
}

/// Issue 25, item 6: a FIFO or `<(...)` named as an input failed with
/// "Illegal seek" and read nothing; it is read, once, as a stream.
#[cfg(unix)]
#[test]
fn a_fifo_or_process_substitution_named_as_an_input_is_read_once() {
    let test = Test::new();
    let fifo = test.path("pipe.json");
    mkfifo(&fifo);
    // Opening a FIFO for writing waits for its reader: sigcorr.
    let writer = std::thread::spawn(move || std::fs::write(fifo, pair_lines()));
    let run = run_within(&test, &["pipe.json"]);
    run.code(0);
    assert_eq!(t1528(&run).len(), 1, "{}", run.stderr);
    assert_eq!(t1528(&run)[0].evidence["activity"], "pipe.json:2");
    writer.join().unwrap().unwrap();

    let test = Test::new().file("pair.json", pair_lines());
    let bin = assert_cmd::cargo::cargo_bin("sigcorr");
    let script = format!("exec '{}' run --now {NOW} <(cat pair.json)", bin.display());
    let out = std::process::Command::new("bash").arg("-c").arg(script).current_dir(test.dir.path()).output().unwrap();
    let run = Run {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code().unwrap_or(-1),
    };
    run.code(0);
    assert_eq!(t1528(&run).len(), 1, "{}", run.stderr);
}

/// What a gzip decoder recovers of `gz` before it fails.
fn decodable(gz: &[u8]) -> Vec<u8> {
    let mut d = flate2::read::MultiGzDecoder::new(gz);
    let (mut out, mut buf) = (Vec::new(), [0u8; 1024]);
    loop {
        match d.read(&mut buf) {
            Ok(0) | Err(_) => return out,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
}

/// Issue 25, item 13: a gzip error named the wrong line. It names the first
/// line not fully decoded, for a stream cut short and for one with a
/// corrupt block (stored, so that which block breaks is known).
#[test]
fn a_gzip_error_names_the_first_line_not_fully_decoded() {
    let pair = pair_lines();
    let text = pair.repeat(400);
    let gz = gzip(text.as_bytes());
    let mut stored = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::none());
    stored.write_all(text.as_bytes()).unwrap();
    let mut corrupt = stored.finish().unwrap();
    // Stored blocks after the 10-byte header: a header byte, LEN and NLEN,
    // LEN bytes. The middle block's NLEN no longer matches its LEN.
    let (mut at, mut blocks) = (10, Vec::new());
    while at + 5 <= corrupt.len() - 8 {
        blocks.push(at);
        at += 5 + u16::from_le_bytes([corrupt[at + 1], corrupt[at + 2]]) as usize;
    }
    corrupt[blocks[blocks.len() / 2] + 3] ^= 0xff;
    for (what, bytes) in [("truncated", gz[..gz.len() / 2].to_vec()), ("corrupt", corrupt)] {
        let decoded = decodable(&bytes);
        assert!(decoded.len() < text.len() * 9 / 10, "{what}: fails part way");
        let line = memchr::memchr_iter(b'\n', &decoded).count() + 1;
        let run = run_within(&Test::new().file("in.json.gz", &bytes), &["in.json.gz"]);
        run.code(3);
        let want = format!("warning: in.json.gz:{line}: truncated or corrupt gzip stream");
        assert!(run.stderr.contains(&want), "{what}: {want}\n{}", run.stderr);
    }
}

/// Issue 25, item 13: blank lines (empty or whitespace only) are not
/// records: counted as lines, neither read as records nor malformed.
#[test]
fn blank_lines_are_lines_but_not_records() {
    let (s, g) = la_pair();
    let text = format!("\n{s}\n   \n\t\r\n\r\n{g}\n\n");
    let run = run_within(&Test::new().file("in.json", &text), &["in.json"]);
    run.code(0);
    assert_eq!(t1528(&run).len(), 1);
    assert_eq!(t1528(&run)[0].evidence["activity"], "in.json:6");
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
    assert!(run.stderr.contains("sigcorr: read 7 lines from 1 file (2 records,"), "{}", run.stderr);
}
