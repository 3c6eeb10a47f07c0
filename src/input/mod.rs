//! Reading log inputs: which files ([`find_inputs`]), their containers
//! ([`container`]: NDJSON, JSON arrays, `{"records": [...]}` bodies, gzip),
//! and each record parsed into only the fields the plan needs ([`record`]),
//! whichever shape it has ([`Shape`]). [`json_scan`] is the one place that
//! knows JSON's text structure (where a string ends, escapes).

pub mod container;
pub mod json_scan;
pub mod record;

use std::collections::HashSet;
use std::fmt;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

pub use container::{BLOCK, Block, Data, MAX_RECORD, ReadOptions, Reader, Unit, Units, lines_in};
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
    /// The special file (a FIFO, `<(...)`, a device) at the input's path:
    /// read once, as a stream (no seek, no map).
    Special,
    Stdin,
    Bytes(Arc<[u8]>),
    /// Read once: the first [`Reader::open`] takes it (clones share it).
    Reader(Arc<Mutex<Option<Box<dyn Read + Send>>>>),
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::File => f.write_str("File"),
            Source::Special => f.write_str("Special"),
            Source::Stdin => f.write_str("Stdin"),
            Source::Bytes(b) => write!(f, "Bytes({} bytes)", b.len()),
            Source::Reader(_) => f.write_str("Reader"),
        }
    }
}

impl InputFile {
    /// The file at `path`; `-` is standard input, as on the command line.
    /// A path that names something other than a regular file or a
    /// directory (a FIFO, `<(...)`, a device) is read once, as a stream.
    pub fn file(path: impl Into<PathBuf>) -> InputFile {
        let path = path.into();
        if path.as_os_str() == "-" {
            return InputFile::stdin();
        }
        let special = std::fs::metadata(&path).is_ok_and(|m| !m.is_file() && !m.is_dir());
        InputFile { path, source: if special { Source::Special } else { Source::File } }
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
    /// input, a reader, or a special file such as a FIFO): the engine then
    /// may read it in two passes. A path that named no special file when
    /// the input was made is taken to be rereadable.
    pub fn rereadable(&self) -> bool {
        matches!(self.source, Source::File | Source::Bytes(_))
    }

    /// Its size in bytes when known without reading it (a regular file's
    /// metadata length, bytes' length), else `None` (also for a file whose
    /// metadata cannot be read, and a special file).
    pub fn len_hint(&self) -> Option<u64> {
        match &self.source {
            Source::File => std::fs::metadata(&self.path).ok().filter(|m| m.is_file()).map(|m| m.len()),
            Source::Bytes(b) => Some(b.len() as u64),
            Source::Special | Source::Stdin | Source::Reader(_) => None,
        }
    }
}

/// The inputs to read, and what directory walks passed over or could not
/// read.
#[derive(Debug, Default)]
pub struct Inputs {
    pub files: Vec<InputFile>,
    /// Entries of directories that were not read, and why: files that are
    /// not logs by their name, special files (FIFOs, sockets, devices), and
    /// directories or files already read through another path (a symbolic
    /// link, a loop of them). Nothing is lost: a note is enough.
    pub skipped: Vec<(PathBuf, &'static str)>,
    /// Directories whose entries could not be listed (or some of them), and
    /// the error: their files are lost, so a run reports each as a problem
    /// of its input, as it does a file it cannot read.
    pub unreadable: Vec<(PathBuf, String)>,
}

/// Expands files and directories (recursively, in sorted order) into the
/// inputs to read. `-` is standard input. Named files are always read; in
/// directories, hidden entries and files whose extension says they are not
/// logs (`.md`, `.txt`, `.yml`, `.png`, `.zip`, ...) are passed over, and so
/// is anything that is neither a regular file nor a directory (a FIFO
/// without a writer would stop the run). Each directory is entered once
/// and each file taken once, however many symbolic links lead to it, so a
/// link loop ends. An input that does not exist is an error; a directory
/// that cannot be listed is recorded in [`Inputs::unreadable`].
pub fn find_inputs(inputs: &[PathBuf]) -> io::Result<Inputs> {
    find_inputs_with(inputs, list_dir)
}

/// The entries of a directory, each, or the error listing it.
type ListDir = fn(&Path) -> io::Result<Vec<io::Result<PathBuf>>>;

fn list_dir(dir: &Path) -> io::Result<Vec<io::Result<PathBuf>>> {
    Ok(std::fs::read_dir(dir)?.map(|e| e.map(|e| e.path())).collect())
}

/// [`find_inputs`], listing directories with `list` (a test makes it fail).
fn find_inputs_with(inputs: &[PathBuf], list: ListDir) -> io::Result<Inputs> {
    let mut walk = Walk { out: Inputs::default(), dirs: HashSet::new(), files: HashSet::new(), open: Vec::new(), list };
    for input in inputs {
        if input.as_os_str() == "-" {
            walk.out.files.push(InputFile::stdin());
            continue;
        }
        let meta =
            std::fs::metadata(input).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", input.display())))?;
        if meta.is_dir() {
            walk.dir(input, &meta);
        } else {
            walk.out.files.push(InputFile::file(input.clone()));
        }
    }
    Ok(walk.out)
}

/// What identifies a file or directory, whatever the path to it: its
/// device and inode on Unix, its canonical path elsewhere.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Identity(#[cfg(unix)] (u64, u64), #[cfg(not(unix))] PathBuf);

#[cfg(unix)]
fn identity(_path: &Path, meta: &std::fs::Metadata) -> Option<Identity> {
    use std::os::unix::fs::MetadataExt;
    Some(Identity((meta.dev(), meta.ino())))
}

#[cfg(not(unix))]
fn identity(path: &Path, _meta: &std::fs::Metadata) -> Option<Identity> {
    path.canonicalize().ok().map(Identity)
}

/// A walk of the directories named as inputs.
struct Walk {
    out: Inputs,
    /// Directories entered and files taken, each once.
    dirs: HashSet<Identity>,
    files: HashSet<Identity>,
    /// The directories being walked, outermost first: one met again inside
    /// itself is a symbolic link loop.
    open: Vec<Identity>,
    list: ListDir,
}

impl Walk {
    fn dir(&mut self, dir: &Path, meta: &std::fs::Metadata) {
        let id = identity(dir, meta);
        if let Some(id) = &id {
            if self.open.contains(id) {
                self.out.skipped.push((dir.to_path_buf(), "a directory already read (symbolic link loop)"));
                return;
            }
            if !self.dirs.insert(id.clone()) {
                self.out.skipped.push((dir.to_path_buf(), "a directory already read (through another path)"));
                return;
            }
        }
        let listed = match (self.list)(dir) {
            Ok(entries) => entries,
            Err(e) => {
                self.out.unreadable.push((dir.to_path_buf(), e.to_string()));
                return;
            }
        };
        let mut entries = Vec::with_capacity(listed.len());
        for entry in listed {
            match entry {
                Ok(path) => entries.push(path),
                Err(e) => self.out.unreadable.push((dir.to_path_buf(), e.to_string())),
            }
        }
        entries.retain(|p| !p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.')));
        entries.sort();
        self.open.extend(id.clone());
        for path in entries {
            // Symbolic links are followed; a dangling one is taken as a
            // file, which the run reports it cannot read.
            let meta = std::fs::metadata(&path);
            match &meta {
                Ok(m) if m.is_dir() => self.dir(&path, m),
                Ok(m) if !m.is_file() => self.out.skipped.push((path, special(m))),
                _ => {
                    if let Some(why) = not_a_log(&path) {
                        self.out.skipped.push((path, why));
                    } else if let Some(id) = meta.as_ref().ok().and_then(|m| identity(&path, m))
                        && !self.files.insert(id)
                    {
                        self.out.skipped.push((path, "a file already read (through another path)"));
                    } else {
                        self.out.files.push(InputFile { path, source: Source::File });
                    }
                }
            }
        }
        if id.is_some() {
            self.open.pop();
        }
    }
}

/// Why a directory entry that is neither a regular file nor a directory is
/// not read.
fn special(meta: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        if t.is_fifo() {
            return "a FIFO (named pipe), which may never end";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_block_device() || t.is_char_device() {
            return "a device";
        }
    }
    let _ = meta;
    "not a regular file"
}

/// Why a file found in a directory is not read, judging by its name.
pub fn not_a_log(path: &Path) -> Option<&'static str> {
    let name = path.file_name()?.to_str()?.to_ascii_lowercase();
    let ext = if name.ends_with(".tar.gz") { "tar.gz" } else { name.rsplit_once('.')?.1 };
    NOT_LOGS.iter().find(|(exts, _)| exts.contains(&ext)).map(|&(_, why)| why)
}

/// The file extensions [`not_a_log`] passes over, and why (the PySpark job
/// reads the same list).
pub const NOT_LOGS: [(&[&str], &str); 5] = [
    (&["md", "markdown", "rst", "txt", "html", "htm", "pdf"], "documentation"),
    (&["yml", "yaml", "toml", "ini", "cfg", "conf", "kql", "py", "rs", "sh", "ps1"], "configuration or code"),
    (&["png", "jpg", "jpeg", "gif", "svg", "ico", "webp"], "an image"),
    (&["zip", "tar", "tgz", "7z", "rar", "xz", "bz2", "zst", "tar.gz"], "an archive sigcorr does not unpack"),
    (&["avro", "parquet", "csv", "tsv", "xlsx"], "a format sigcorr does not read"),
];

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

    /// `find_inputs` on a thread, failing the test after 20 s rather than
    /// hanging it (an exponential walk of links, a FIFO).
    fn find_within(paths: Vec<PathBuf>, list: ListDir) -> Inputs {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || tx.send(find_inputs_with(&paths, list)));
        rx.recv_timeout(std::time::Duration::from_secs(20)).expect("find_inputs returns").unwrap()
    }

    fn rel_names(root: &Path, found: &Inputs) -> (Vec<String>, Vec<(String, &'static str)>) {
        let rel = |p: &Path| p.strip_prefix(root).unwrap_or(p).to_string_lossy().into_owned();
        let files = found.files.iter().map(|f| rel(&f.path)).collect();
        let skipped = found.skipped.iter().map(|(p, why)| (rel(p), *why)).collect();
        (files, skipped)
    }

    #[cfg(unix)]
    #[test]
    fn symbolic_link_loops_are_entered_once() {
        use std::os::unix::fs::symlink;
        let loop_why = "a directory already read (symbolic link loop)";
        // One loop: the file once, not once per level until the OS says ELOOP.
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.json"), "{}").unwrap();
        symlink(".", dir.path().join("self")).unwrap();
        let found = find_within(vec![dir.path().to_path_buf()], list_dir);
        assert_eq!(rel_names(dir.path(), &found), (vec!["a.json".into()], vec![("self".into(), loop_why)]));
        // Two loops: the walk was exponential.
        symlink(".", dir.path().join("self2")).unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        symlink("..", dir.path().join("sub/up")).unwrap();
        let found = find_within(vec![dir.path().to_path_buf()], list_dir);
        let want_skipped = vec![("self".into(), loop_why), ("self2".into(), loop_why), ("sub/up".into(), loop_why)];
        assert_eq!(rel_names(dir.path(), &found), (vec!["a.json".into()], want_skipped));
        assert!(found.unreadable.is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn a_directory_or_file_reached_through_links_is_read_once() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("a.json"), "{}").unwrap();
        std::fs::write(dir.path().join("sub/b.json"), "{}").unwrap();
        symlink("a.json", dir.path().join("alias.json")).unwrap();
        symlink("sub", dir.path().join("link")).unwrap();
        std::fs::hard_link(dir.path().join("sub/b.json"), dir.path().join("sub/hard.json")).unwrap();
        // The directory named again is not walked again either.
        let found = find_within(vec![dir.path().to_path_buf(), dir.path().join("sub")], list_dir);
        let (files, skipped) = rel_names(dir.path(), &found);
        assert_eq!(files, ["a.json", "link/b.json"]);
        let again = "a file already read (through another path)";
        let dir_again = "a directory already read (through another path)";
        assert_eq!(
            skipped,
            [
                ("alias.json".into(), again),
                ("link/hard.json".into(), again),
                ("sub".into(), dir_again),
                ("sub".into(), dir_again)
            ]
        );
    }

    #[cfg(unix)]
    #[test]
    fn special_files_in_directories_are_passed_over() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.json"), "{}").unwrap();
        let fifo = dir.path().join("pipe.json");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        let _socket = std::os::unix::net::UnixListener::bind(dir.path().join("sock.json")).unwrap();
        std::os::unix::fs::symlink("/dev/null", dir.path().join("null.json")).unwrap();
        let found = find_within(vec![dir.path().to_path_buf()], list_dir);
        let (files, skipped) = rel_names(dir.path(), &found);
        assert_eq!(files, ["a.json"]);
        assert_eq!(
            skipped,
            [
                ("null.json".into(), "a device"),
                ("pipe.json".into(), "a FIFO (named pipe), which may never end"),
                ("sock.json".into(), "a socket")
            ]
        );
        // Named, a FIFO is read, once.
        let named = find_within(vec![fifo.clone()], list_dir);
        assert_eq!(named.files.len(), 1);
        assert!(!named.files[0].rereadable() && named.files[0].len_hint().is_none());
    }

    /// Lists directories as the OS does, but fails on those named `locked`
    /// (permissions do not stop root, who runs the tests in CI) and on one
    /// entry of those named `flaky`.
    fn failing_list(dir: &Path) -> io::Result<Vec<io::Result<PathBuf>>> {
        match dir.file_name().and_then(|n| n.to_str()) {
            Some("locked") => Err(io::Error::from(io::ErrorKind::PermissionDenied)),
            Some("flaky") => {
                let mut entries = list_dir(dir)?;
                entries.push(Err(io::Error::other("entry lost")));
                Ok(entries)
            }
            _ => list_dir(dir),
        }
    }

    #[test]
    fn an_unreadable_directory_is_recorded_and_the_rest_is_read() {
        let dir = tempfile::tempdir().unwrap();
        for f in ["a.json", "locked/b.json", "flaky/c.json", "z/d.json"] {
            let p = dir.path().join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "{}").unwrap();
        }
        let found = find_within(vec![dir.path().to_path_buf()], failing_list);
        let (files, _) = rel_names(dir.path(), &found);
        assert_eq!(files, ["a.json", "flaky/c.json", "z/d.json"]);
        let unreadable: Vec<(String, String)> = found
            .unreadable
            .iter()
            .map(|(p, e)| (p.strip_prefix(dir.path()).unwrap().to_string_lossy().into_owned(), e.clone()))
            .collect();
        assert_eq!(
            unreadable,
            [
                ("flaky".into(), "entry lost".into()),
                ("locked".into(), io::Error::from(io::ErrorKind::PermissionDenied).to_string())
            ]
        );
        // A named directory that cannot be listed is recorded too; one that
        // does not exist is an error, as before.
        let locked = find_within(vec![dir.path().join("locked")], failing_list);
        assert_eq!(locked.unreadable.len(), 1);
        assert!(find_inputs(&[dir.path().join("missing")]).is_err());
    }

    /// Without root, permissions make a real `read_dir` fail.
    #[cfg(unix)]
    #[test]
    fn a_directory_without_read_permission_is_unreadable() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let locked = dir.path().join("locked");
        std::fs::create_dir(&locked).unwrap();
        std::fs::write(dir.path().join("a.json"), "{}").unwrap();
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
        let root = std::fs::read_dir(&locked).is_ok();
        let found = find_inputs(&[dir.path().to_path_buf()]);
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
        let found = found.unwrap();
        assert_eq!(found.files.len(), 1);
        // Root reads it anyway: see `an_unreadable_directory_is_recorded_and_the_rest_is_read`.
        assert_eq!(found.unreadable.len(), usize::from(!root));
    }
}
