//! Reading log inputs: which files ([`find_inputs`]), their containers
//! ([`container`]: NDJSON, JSON arrays, `{"records": [...]}` bodies, gzip),
//! and each record parsed into only the fields the plan needs ([`record`]),
//! whichever shape it has ([`Shape`]). [`json_scan`] is the one place that
//! knows JSON's text structure (where a string ends, escapes).

pub mod container;
pub mod json_scan;
pub mod record;

use std::fmt;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

pub use container::{BLOCK, Block, Data, ReadOptions, Reader, Unit, Units, lines_in};
pub use record::{
    FieldId, FieldIndex, Fields, LineError, ParsedRecord, TableHint, parse_line, parse_record, table_hint,
};

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

/// One input, numbered in the order inputs are read: a file, standard
/// input, or bytes or a reader handed over in memory (by a program using
/// the library), each with the name messages give it.
#[derive(Debug, Clone)]
pub struct InputFile {
    /// What messages and alerts call this input: its path, `-` for standard
    /// input, or the name given to an in-memory input.
    pub path: PathBuf,
    source: Source,
}

/// Where an [`InputFile`]'s bytes come from.
#[derive(Clone)]
enum Source {
    /// The file at the input's path.
    File,
    Stdin,
    Bytes(Arc<[u8]>),
    /// Read once: the first [`Reader::open`] takes it (clones share it).
    Reader(Arc<Mutex<Option<Box<dyn Read + Send>>>>),
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::File => f.write_str("File"),
            Source::Stdin => f.write_str("Stdin"),
            Source::Bytes(b) => write!(f, "Bytes({} bytes)", b.len()),
            Source::Reader(_) => f.write_str("Reader"),
        }
    }
}

impl InputFile {
    /// The file at `path`; `-` is standard input, as on the command line.
    pub fn file(path: impl Into<PathBuf>) -> InputFile {
        let path = path.into();
        if path.as_os_str() == "-" {
            return InputFile::stdin();
        }
        InputFile { path, source: Source::File }
    }

    /// Standard input, named `-`.
    pub fn stdin() -> InputFile {
        InputFile { path: PathBuf::from("-"), source: Source::Stdin }
    }

    /// Bytes in memory (gzip or not, like a file), named `name`.
    pub fn bytes(name: impl Into<PathBuf>, data: impl Into<Arc<[u8]>>) -> InputFile {
        InputFile { path: name.into(), source: Source::Bytes(data.into()) }
    }

    /// A reader, named `name`, read once: a second [`Reader::open`] of this
    /// input (or of a clone of it) fails.
    pub fn reader(name: impl Into<PathBuf>, r: impl Read + Send + 'static) -> InputFile {
        let r: Box<dyn Read + Send> = Box::new(r);
        InputFile { path: name.into(), source: Source::Reader(Arc::new(Mutex::new(Some(r)))) }
    }

    pub fn is_stdin(&self) -> bool {
        matches!(self.source, Source::Stdin)
    }

    /// Whether it can be read more than once (a file or bytes; not standard
    /// input or a reader): the engine then may read it in two passes. A
    /// path is taken to be rereadable whatever it names.
    pub fn rereadable(&self) -> bool {
        matches!(self.source, Source::File | Source::Bytes(_))
    }

    /// Its size in bytes when known without reading it (a file's metadata
    /// length, bytes' length), else `None` (also for a file whose metadata
    /// cannot be read).
    pub fn len_hint(&self) -> Option<u64> {
        match &self.source {
            Source::File => std::fs::metadata(&self.path).ok().map(|m| m.len()),
            Source::Bytes(b) => Some(b.len() as u64),
            Source::Stdin | Source::Reader(_) => None,
        }
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
            out.files.push(InputFile::stdin());
            continue;
        }
        let meta =
            std::fs::metadata(input).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", input.display())))?;
        if meta.is_dir() {
            walk(input, &mut out)?;
        } else {
            out.files.push(InputFile::file(input.clone()));
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
            out.files.push(InputFile::file(path));
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
