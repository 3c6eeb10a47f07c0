//! Where a subcommand's output goes: standard output, checked to be open,
//! or an `-o` file, which must not be one of the files the command reads.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Files an `-o` file must not replace, each with what it is: the inputs
/// (standard input included), the rule files, the tests files, the table
/// definitions. Compared as files (device and inode), whatever the paths.
#[derive(Default)]
pub struct Protected {
    files: Vec<(FileId, &'static str)>,
}

impl Protected {
    /// Protects `path` (when it exists), as `what` ("an input").
    pub fn add(&mut self, path: &Path, what: &'static str) {
        if let Some(id) = file_id(path) {
            self.files.push((id, what));
        }
    }

    /// Protects standard input (named `-` as an input).
    pub fn add_stdin(&mut self) {
        self.add(Path::new(STDIN), "an input (standard input)");
    }

    /// An error when `out` is one of the protected files.
    pub fn check(&self, out: &Path) -> io::Result<()> {
        let Some(id) = file_id(out) else { return Ok(()) };
        match self.files.iter().find(|(f, _)| *f == id) {
            Some((_, what)) => Err(io::Error::other(format!(
                "{}: the output file is {what}; write the output somewhere else",
                out.display()
            ))),
            None => Ok(()),
        }
    }
}

/// Protects the table definitions found under `paths` (`--tables`).
pub fn protect_tables(protected: &mut Protected, paths: &[PathBuf]) {
    if paths.is_empty() {
        return;
    }
    for table in sigcorr::read_rule_files(paths).unwrap_or_default() {
        protected.add(table.path(), "a table definition");
    }
}

/// Standard output, checked to be open. Run with descriptor 1 closed
/// (`>&-`), Rust's runtime opens `/dev/null` on it before `main`, and the
/// output would be lost with exit status 0. The runtime opens it for
/// reading and writing, where a shell's `> /dev/null` opens it for writing
/// only: that tells them apart (Linux, through `/proc`). An error names the
/// fix.
pub fn check_stdout() -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        let null = std::fs::read_link("/proc/self/fd/1").is_ok_and(|p| p == Path::new("/dev/null"));
        // `flags:` in octal; the access mode is its low two bits (2: read and write).
        let read_write = || {
            let info = std::fs::read_to_string("/proc/self/fdinfo/1").ok()?;
            let flags = info.lines().find_map(|l| l.strip_prefix("flags:"))?;
            Some(u32::from_str_radix(flags.trim(), 8).ok()? & 3 == 2)
        };
        if null && read_write() == Some(true) {
            return Err(io::Error::other(
                "standard output is closed: redirect it (`> alerts.jsonl`), or write to a file with -o FILE",
            ));
        }
    }
    Ok(())
}

/// Writes to standard output with `write`, then flushes. A reader that
/// closed the pipe (`| head`) is not an error: `Ok(false)` says the output
/// was cut short. Any other error (a full disk: `> /dev/full`) is.
pub fn to_stdout(write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> io::Result<bool> {
    let stdout = io::stdout();
    let mut w = io::BufWriter::with_capacity(1 << 16, stdout.lock());
    match write(&mut w).and_then(|()| w.flush()) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(io::Error::new(e.kind(), format!("cannot write to standard output: {e}"))),
    }
}

/// The `--output` file: a regular file (or a new one) opened before the run
/// and emptied on another thread while it goes on; standard output (say
/// `/dev/stdout`) written as standard output, not cut, whatever it is;
/// anything else (a FIFO) opened after the run, as it is, since opening a
/// FIFO waits for its reader.
pub struct Output {
    path: PathBuf,
    emptying: Option<std::thread::JoinHandle<io::Result<std::fs::File>>>,
    stdout: bool,
}

impl Output {
    /// Checks that `path` is none of the `protected` files, and opens it
    /// now when it is a regular file or new.
    pub fn open(path: &Path, protected: &Protected) -> io::Result<Output> {
        protected.check(path)?;
        let stdout = file_id(path).is_some_and(|out| file_id(STDOUT) == Some(out));
        if stdout || std::fs::metadata(path).is_ok_and(|m| !m.is_file()) {
            return Ok(Output { path: path.to_path_buf(), emptying: None, stdout });
        }
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| named(path, e))?;
        let emptying = std::thread::spawn(move || empty(&file).map(|()| file));
        Ok(Output { path: path.to_path_buf(), emptying: Some(emptying), stdout: false })
    }

    /// The output is standard output (`-o /dev/stdout`): it is written as
    /// standard output is, so that a file it is appended to keeps what it held.
    pub fn is_stdout(&self) -> bool {
        self.stdout
    }

    /// The file, empty.
    pub fn emptied(self) -> io::Result<std::fs::File> {
        let file = match self.emptying {
            Some(emptying) => {
                emptying.join().unwrap_or_else(|_| Err(io::Error::other("the output file was not emptied")))
            }
            None => std::fs::File::create(&self.path),
        };
        file.map_err(|e| named(&self.path, e))
    }
}

/// Empties `file` through a second descriptor of it, closed at once. A
/// file system (ext4, XFS, btrfs) marks a file cut to zero length to be
/// flushed to disk when a descriptor of it is closed, and writing the
/// alerts through the cutting descriptor made the run wait on that flush at
/// its end (0.142 s for 372 MB, `bench/RESULTS.md`). Closed while the file
/// is empty, the cutting descriptor takes the mark with it; the alerts are
/// then written back like a new file's. Without a second descriptor, `file`
/// is cut itself.
fn empty(file: &std::fs::File) -> io::Result<()> {
    match reopen(file, true) {
        Some(cutter) => cutter.set_len(0),
        None => file.set_len(0),
    }
}

/// Standard output redirected to a file the shell cut to zero length
/// (`> alerts.jsonl`) carries the mark [`empty`] describes, and the end of
/// the run would wait on the flush: a descriptor of the file opened and
/// closed now, while the file is still empty, takes the mark with it.
pub fn unmark_stdout() {
    #[cfg(target_os = "linux")]
    if std::fs::metadata("/proc/self/fd/1").is_ok_and(|m| m.is_file()) {
        let stdout = io::stdout();
        drop(reopen(&stdout, false).or_else(|| reopen(&stdout, true)));
    }
}

/// A second descriptor of the file `fd` is open on (Linux: through
/// `/proc/self/fd`, so it is that file, whatever its path names now), for
/// writing or for reading; `None` when it cannot be had.
#[cfg(target_os = "linux")]
fn reopen(fd: &impl std::os::fd::AsRawFd, write: bool) -> Option<std::fs::File> {
    let path = format!("/proc/self/fd/{}", fd.as_raw_fd());
    std::fs::OpenOptions::new().read(!write).write(write).open(path).ok()
}

#[cfg(not(target_os = "linux"))]
fn reopen<T>(_: &T, _: bool) -> Option<std::fs::File> {
    None
}

/// Standard input and output as paths, to compare them with the output file.
const STDIN: &str = "/dev/stdin";
const STDOUT: &str = "/dev/stdout";

fn named(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// What makes an existing path the file it is: device and inode on Unix
/// (hard links are one file), the canonical path elsewhere.
#[cfg(unix)]
type FileId = (u64, u64);
#[cfg(not(unix))]
type FileId = PathBuf;

#[cfg(unix)]
fn file_id(path: impl AsRef<Path>) -> Option<FileId> {
    std::fs::metadata(path).ok().map(|m| inode(&m))
}

#[cfg(unix)]
fn inode(m: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (m.dev(), m.ino())
}

#[cfg(not(unix))]
fn file_id(path: impl AsRef<Path>) -> Option<FileId> {
    std::fs::canonicalize(path).ok()
}
