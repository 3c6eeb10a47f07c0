//! Reading log inputs: which files ([`find_inputs`]), their containers
//! ([`container`]: NDJSON, JSON arrays, `{"records": [...]}` bodies, gzip),
//! and each record parsed into only the fields the plan needs ([`record`]),
//! whichever shape it has ([`Shape`]).

pub mod container;
pub mod record;

use std::io;
use std::path::{Path, PathBuf};

pub use container::{Block, Data, Reader, Unit, Units, lines_in};
pub use record::{FieldIndex, Fields, LineError, ParsedRecord, parse_line, parse_record};

/// The two shapes Entra records come in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Shape {
    /// Log Analytics rows (query results, exports): flat column names, the
    /// table's name in `Type`.
    LogAnalytics = 0,
    /// Diagnostic-settings records (storage account, Event Hub): an envelope
    /// with the table's `category`, most columns inside `properties`.
    Diagnostic = 1,
}

/// One input, numbered in the order inputs are read. The path `-` is
/// standard input.
#[derive(Debug, Clone)]
pub struct InputFile {
    pub path: PathBuf,
}

impl InputFile {
    pub fn is_stdin(&self) -> bool {
        self.path.as_os_str() == "-"
    }
}

/// The inputs to read, and the files a directory walk passed over.
#[derive(Debug, Default)]
pub struct Inputs {
    pub files: Vec<InputFile>,
    /// Files in directories that were not read, and why.
    pub skipped: Vec<(PathBuf, &'static str)>,
}

/// Expands files and directories (recursively, in sorted order) into the
/// inputs to read. `-` is standard input. Named files are always read; in
/// directories, hidden entries and files whose extension says they are not
/// logs (`.md`, `.txt`, `.yml`, `.png`, `.zip`, ...) are passed over.
pub fn find_inputs(inputs: &[PathBuf]) -> io::Result<Inputs> {
    let mut out = Inputs::default();
    for input in inputs {
        if input.as_os_str() == "-" {
            out.files.push(InputFile { path: input.clone() });
            continue;
        }
        let meta =
            std::fs::metadata(input).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", input.display())))?;
        if meta.is_dir() {
            walk(input, &mut out)?;
        } else {
            out.files.push(InputFile { path: input.clone() });
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Inputs) -> io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", dir.display())))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| !p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.')))
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            walk(&path, out)?;
        } else if let Some(why) = not_a_log(&path) {
            out.skipped.push((path, why));
        } else {
            out.files.push(InputFile { path });
        }
    }
    Ok(())
}

/// Why a file found in a directory is not read, judging by its name.
pub fn not_a_log(path: &Path) -> Option<&'static str> {
    let name = path.file_name()?.to_str()?.to_ascii_lowercase();
    let ext = name.rsplit_once('.')?.1;
    Some(match ext {
        "md" | "markdown" | "rst" | "txt" | "html" | "htm" | "pdf" => "documentation",
        "yml" | "yaml" | "toml" | "ini" | "cfg" | "conf" | "kql" | "py" | "rs" | "sh" | "ps1" => {
            "configuration or code"
        }
        "png" | "jpg" | "jpeg" | "gif" | "svg" | "ico" | "webp" => "an image",
        "zip" | "tar" | "tgz" | "7z" | "rar" | "xz" | "bz2" | "zst" => "an archive sigcorr does not unpack",
        "avro" | "parquet" | "csv" | "tsv" | "xlsx" => "a format sigcorr does not read",
        "gz" if name.ends_with(".tar.gz") => "an archive sigcorr does not unpack",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_logs_by_name() {
        for name in ["a/README.md", "notes.TXT", "rules.yml", "x.png", "logs.zip", "b.tar.gz", "cap.avro"] {
            assert!(not_a_log(Path::new(name)).is_some(), "{name}");
        }
        for name in ["PT1H.json", "a.jsonl", "a.ndjson", "a.json.gz", "export", "graph.log"] {
            assert_eq!(not_a_log(Path::new(name)), None, "{name}");
        }
    }

    #[test]
    fn directories_recurse_and_pass_over_non_logs() {
        let dir = tempfile::tempdir().unwrap();
        for f in ["b/PT1H.json", "a.json", "README.md", ".hidden.json", "b/c/x.json.gz", "img.png"] {
            let p = dir.path().join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "{}").unwrap();
        }
        let found = find_inputs(&[dir.path().to_path_buf(), PathBuf::from("-")]).unwrap();
        let rel = |p: &Path| p.strip_prefix(dir.path()).unwrap_or(p).to_string_lossy().into_owned();
        let files: Vec<String> = found.files.iter().map(|f| rel(&f.path)).collect();
        assert_eq!(files, ["a.json", "b/PT1H.json", "b/c/x.json.gz", "-"]);
        let skipped: Vec<String> = found.skipped.iter().map(|(p, _)| rel(p)).collect();
        assert_eq!(skipped, ["README.md", "img.png"]);
        assert!(found.files[3].is_stdin());
    }
}
