//! Containers: the bytes of one input (a file, standard input, or bytes or
//! a reader in memory), gunzipped when they start with the gzip magic bytes,
//! cut into blocks of whole records for the parallel parse. How inputs are
//! read is the caller's choice ([`ReadOptions`]); the library reads no
//! environment variable.
//!
//! - **NDJSON** (LF or CRLF, optional UTF-8 BOM): one record per line, or one
//!   Event Hub body `{"records": [...]}` per line. Read in blocks of
//!   [`ReadOptions::block_bytes`] ([`BLOCK`] by default) cut at a line end,
//!   so memory stays at a few blocks whatever the input's size; each block
//!   is cut into runs of lines for the parse, which splits and numbers the
//!   lines itself ([`Units::Lines`]).
//! - **A JSON document**: an array of records (`az monitor log-analytics
//!   query`), a `{"records": [...]}` body, or a pretty-printed record, possibly
//!   over many lines. Chosen when the input starts with `[`, or its first line
//!   is a lone `{`. Read as a stream, a block at a time too, each block cut
//!   after a whole record; each record's line is the line where it starts.
//!
//! No record is held whole if it is longer than
//! [`ReadOptions::max_record_bytes`]: such a line or record is passed over
//! without its bytes being kept, and the parser is handed a stand-in that it
//! reports as a problem at the record's line. So memory stays bounded by a
//! few blocks plus that maximum on any input, a gigabyte of zeros without a
//! newline included.
//!
//! Plain regular files holding NDJSON are memory-mapped a block at a time
//! rather than copied into buffers (about 4% less CPU on the benchmark; the
//! wall time was the same), as ripgrep does. Each block's mapping is dropped
//! once the block is parsed, so resident memory stays at a few blocks. As
//! with any memory map, the file must not change while it is read: a file
//! truncated by another process makes the run die with `SIGBUS`, and one
//! rewritten in place can be read inconsistently. For live files,
//! `--no-mmap` (on the command line) or [`ReadOptions::mmap`] `= false`
//! reads with `read()`; so does any file the file system cannot map.
//! Standard input, readers, in-memory bytes, special files (FIFOs, devices)
//! and JSON documents are read as streams (bytes are copied into blocks).

use std::fs::File;
use std::io::{self, Read};
use std::ops::Deref;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use memmap2::{Mmap, MmapOptions};

use super::json_scan::{Strings, string_end};
use super::record::{ElementEnd, element_end, records_body_start};
use super::{InputFile, Source};

/// Bytes per block of NDJSON. 4 MiB ran within 2% of 16 MiB on the 1x
/// benchmark, at 55-63 MiB less peak memory: up to five blocks are mapped
/// (three parsing or waiting to merge, one queued, one being mapped).
pub const BLOCK: usize = 4 << 20;

/// The smallest block size [`ReadOptions::block_bytes`] gives.
const MIN_BLOCK: usize = 4 << 10;

/// The default [`ReadOptions::max_record_bytes`]: 64 MiB.
pub const MAX_RECORD: usize = 64 << 20;

/// How inputs are read. Results do not depend on the block size or on
/// mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadOptions {
    /// Bytes per block of NDJSON (at least 4 KiB; smaller values are raised
    /// to it). Default [`BLOCK`]. Bigger blocks trade memory for speed;
    /// small ones test many blocks on a small input.
    pub block_bytes: usize,
    /// Memory-map plain regular files (the default) rather than `read()`
    /// them. The risk: a file truncated by another process while it is
    /// mapped makes the run die with `SIGBUS`, and one rewritten in place
    /// can be read inconsistently. ripgrep makes the same choice and offers
    /// `--no-mmap`, as sigcorr's command line does.
    pub mmap: bool,
    /// The longest record read, in bytes: an NDJSON line (without its line
    /// end; a record, or a `{"records": [...]}` body of them), or one record
    /// of a JSON document. A longer one is passed over without being held
    /// (read on to its end) and reported as a problem of its input at its
    /// line, and reading goes on after it; the rest of the input is read as
    /// usual. This bounds memory by a few blocks plus this maximum whatever
    /// the input, where a line without a newline (a gigabyte of zeros,
    /// gzipped into a few megabytes; `/dev/zero`) would otherwise be held
    /// whole. Default [`MAX_RECORD`], 64 MiB: far above real records (an
    /// Entra record is a few KB, a Graph activity record about 1.2 KB, and
    /// an Event Hub body is at most about 1 MB, the Event Hubs message size
    /// limit), yet small next to a machine's memory. The command line's
    /// `--max-record-bytes`.
    pub max_record_bytes: usize,
}

impl Default for ReadOptions {
    fn default() -> ReadOptions {
        ReadOptions { block_bytes: BLOCK, mmap: true, max_record_bytes: MAX_RECORD }
    }
}

impl ReadOptions {
    /// The block size to use: [`ReadOptions::block_bytes`], at least 4 KiB.
    fn block(&self) -> usize {
        self.block_bytes.max(MIN_BLOCK)
    }
}

/// The text of one record, or of one line holding a `{"records": [...]}`
/// body, and the line it starts on (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unit {
    pub start: usize,
    pub end: usize,
    pub line: u32,
}

/// Whole units of input text.
#[derive(Debug)]
pub struct Block {
    pub data: Data,
    pub units: Units,
}

/// A block's records.
#[derive(Debug)]
pub enum Units {
    /// One per record, each with its line: a JSON document's records.
    Records(Vec<Unit>),
    /// Runs of whole lines of NDJSON, about [`RANGE`] bytes each, in input
    /// order. They are split into lines ([`lines_in`]) and numbered by
    /// whoever parses them, each block's first line following the last of
    /// the block before: the reader touches no byte of them, so the parse
    /// is the first to read each line and finds it in the cache right after.
    Lines(Vec<std::ops::Range<usize>>),
}

/// The size of a run of lines ([`Units::Lines`]): the work of one parallel
/// task, about 1,700 records of 1.2 KB.
pub const RANGE: usize = 2 << 20;

/// A block's bytes: read into a buffer, or a window of a memory-mapped file.
#[derive(Debug)]
pub enum Data {
    Owned(Vec<u8>),
    Mapped { map: Mmap, start: usize, end: usize },
}

impl Deref for Data {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Data::Owned(v) => v,
            Data::Mapped { map, start, end } => &map[*start..*end],
        }
    }
}

/// What the parser is handed in place of a record longer than
/// [`ReadOptions::max_record_bytes`], which was passed over: a line that
/// starts with a byte no UTF-8 text has, then a key drawn once per process
/// (so that no input line can pass for one), then the maximum. The parser
/// ([`super::record::record_text`]) reports it as too long.
pub(crate) fn too_long_stand_in(max: usize) -> Vec<u8> {
    let mut text = vec![0xff];
    text.extend_from_slice(stand_in_key().as_bytes());
    text.extend_from_slice(max.to_string().as_bytes());
    text
}

/// The maximum record size a stand-in ([`too_long_stand_in`]) names, when
/// `text` is one.
pub(crate) fn too_long(text: &[u8]) -> Option<u64> {
    let rest = text.strip_prefix(&[0xff])?.strip_prefix(stand_in_key().as_bytes())?;
    std::str::from_utf8(rest).ok()?.parse().ok()
}

/// `sigcorr-too-long:<random hex>:`, the same for the whole process.
fn stand_in_key() -> &'static str {
    static KEY: OnceLock<String> = OnceLock::new();
    KEY.get_or_init(|| {
        use std::hash::BuildHasher;
        let random = std::hash::RandomState::new().hash_one(0u8);
        format!("sigcorr-too-long:{random:016x}:")
    })
}

/// Where a [`Reader`]'s bytes come from.
enum Feed {
    /// A stream: standard input, a pipe, a gzip member chain.
    Stream(Box<dyn Read + Send>),
    /// A plain regular file, mapped a block at a time from `offset`.
    Map { file: File, len: u64, offset: u64, count: Arc<AtomicU64> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Not decided yet: nothing read.
    Unknown,
    Lines,
    Document,
}

/// Reads one input as blocks of whole units.
pub struct Reader {
    source: Feed,
    /// Bytes per block of NDJSON ([`ReadOptions::block_bytes`]).
    block: usize,
    /// [`ReadOptions::max_record_bytes`].
    max: usize,
    /// The most `buf` is grown to while looking for a record's end: the
    /// maximum record size plus a block and a byte, and two bytes to spare.
    cap: usize,
    /// `buf[..filled]`: read but not yet handed out (a partial last line).
    /// Bytes past `filled` are initialised scratch, so reading into a
    /// reused buffer costs no zeroing.
    buf: Vec<u8>,
    filled: usize,
    /// Buffers of blocks the caller is done with ([`Reader::recycle`]).
    spare: Vec<Vec<u8>>,
    layout: Layout,
    eof: bool,
    pub gzip: bool,
    /// The problem that stopped the reading (its line is worked out when
    /// asked for: [`Reader::error`]).
    error: Option<String>,
    /// The last block of NDJSON handed out ended without a line end: its
    /// last line was cut short (or is the last of the input).
    partial: bool,
    /// The last byte of (decompressed) text read.
    last: Option<u8>,
    /// Where the scan of a JSON document is.
    doc: DocState,
    decoded: u64,
}

/// Counts the bytes read from the underlying file (compressed bytes for
/// gzip), for a progress bar.
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl Reader {
    /// Opens an input. `read` counts the raw bytes read (compressed bytes
    /// for gzip). A reader input is taken on its first open: opening it
    /// again is an error.
    pub fn open(file: &InputFile, read: Arc<AtomicU64>, options: ReadOptions) -> io::Result<Reader> {
        match &file.source {
            Source::File => Reader::open_file(file, read, options),
            // Opening a FIFO waits for its writer, as `cat` does; then it
            // is read as a stream: no seek, no map.
            Source::Special => Reader::stream(Counting { inner: File::open(&file.path)?, count: read }, options),
            Source::Stdin => Reader::stream(Counting { inner: io::stdin(), count: read }, options),
            Source::Bytes(bytes) => {
                Reader::stream(Counting { inner: io::Cursor::new(bytes.clone()), count: read }, options)
            }
            Source::Reader(shared) => {
                let taken = shared.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take();
                let inner = taken.ok_or_else(|| io::Error::other("already read"))?;
                Reader::stream(Counting { inner, count: read }, options)
            }
        }
    }

    /// Opens the file at the input's path: mapped when it is a plain
    /// regular file of NDJSON that is not gzip and `options` allow it, else
    /// streamed. Only a regular file is peeked at (and rewound): anything
    /// else (a FIFO created since the input was named) cannot seek.
    fn open_file(file: &InputFile, read: Arc<AtomicU64>, options: ReadOptions) -> io::Result<Reader> {
        let mut f = File::open(&file.path)?;
        let meta = f.metadata()?;
        if options.mmap && meta.is_file() && meta.len() >= 2 {
            let mut head = [0u8; 2];
            // A file the file system cannot map streams too.
            if f.read_exact(&mut head).is_ok() && head != [0x1f, 0x8b] {
                let source = Feed::Map { file: f.try_clone()?, len: meta.len(), offset: 0, count: read.clone() };
                let mut reader = Reader::with_source(source, false, options);
                if reader.map_head() {
                    return Ok(reader);
                }
            }
            io::Seek::rewind(&mut f)?;
        }
        Reader::stream(Counting { inner: f, count: read }, options)
    }

    /// Reads from `raw` with the default [`ReadOptions`], gunzipping when
    /// it starts with `1f 8b`.
    pub fn new<R: Read + Send + 'static>(raw: R) -> io::Result<Reader> {
        Reader::stream(raw, ReadOptions::default())
    }

    /// Reads from `raw`, gunzipping when it starts with `1f 8b`.
    fn stream<R: Read + Send + 'static>(mut raw: R, options: ReadOptions) -> io::Result<Reader> {
        let mut head = [0u8; 2];
        let mut n = 0;
        while n < 2 {
            match raw.read(&mut head[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        let gzip = n == 2 && head == [0x1f, 0x8b];
        let chained = io::Cursor::new(head[..n].to_vec()).chain(raw);
        let inner: Box<dyn Read + Send> =
            if gzip { Box::new(flate2::read::MultiGzDecoder::new(chained)) } else { Box::new(chained) };
        Ok(Reader::with_source(Feed::Stream(inner), gzip, options))
    }

    fn with_source(source: Feed, gzip: bool, options: ReadOptions) -> Reader {
        let block = options.block();
        Reader {
            source,
            block,
            max: options.max_record_bytes,
            cap: options.max_record_bytes.saturating_add(block).saturating_add(3),
            buf: Vec::new(),
            filled: 0,
            spare: Vec::new(),
            layout: Layout::Unknown,
            eof: false,
            gzip,
            error: None,
            partial: false,
            last: None,
            doc: DocState::default(),
            decoded: 0,
        }
    }

    /// A mapped file: skips a byte-order mark and decides the layout from
    /// the first block's worth of bytes.
    /// `false` when the file cannot be mapped, or holds a JSON document:
    /// the caller streams it.
    fn map_head(&mut self) -> bool {
        let Feed::Map { len, .. } = self.source else { return false };
        let Some(head) = self.map_window(0, (self.block as u64).min(len) as usize, false) else { return false };
        let bom = head.starts_with(b"\xef\xbb\xbf");
        let text = if bom { &head[3..] } else { &head[..] };
        if detect(text) == Layout::Document {
            return false;
        }
        self.layout = Layout::Lines;
        if bom {
            self.finish_mapped(3);
        }
        true
    }

    /// Maps `len` bytes of the file from `at` (any offset: the mapping
    /// starts at the page boundary below it), faulted in when `fault` (to be
    /// parsed, not only peeked at). On failure the reader stops with an error.
    fn map_window(&mut self, at: u64, len: usize, fault: bool) -> Option<Data> {
        let Feed::Map { file, .. } = &self.source else { return None };
        let aligned = at - at % MAP_ALIGN;
        let skip = (at - aligned) as usize;
        // SAFETY: the map is read-only and sigcorr never writes its inputs.
        // Another process changing the file while it is read breaks the
        // assumption that the bytes do not change (see the module docs).
        let map = unsafe { MmapOptions::new().offset(aligned).len(skip + len).map(file) };
        match map {
            Ok(map) => {
                if fault {
                    fault_in(&map);
                }
                Some(Data::Mapped { map, start: skip, end: skip + len })
            }
            Err(e) => {
                self.eof = true;
                self.error = Some(format!("read error ({e}); the rest of the file is lost"));
                None
            }
        }
    }

    /// The next block of a mapped file: at least the block size
    /// ([`ReadOptions::block_bytes`]) or the rest of the file, cut after its
    /// last line end, and before a line longer than the maximum record size.
    fn next_mapped_block(&mut self) -> Option<Block> {
        let Feed::Map { len, offset, .. } = self.source else { return None };
        if self.eof || offset >= len {
            return None;
        }
        let max = self.max as u64;
        let mut want = self.block as u64;
        let (data, cut) = loop {
            let n = want.min(len - offset);
            let data = self.map_window(offset, n as usize, true)?;
            if offset + n == len {
                break (data, n as usize);
            }
            match memchr::memrchr(b'\n', &data) {
                Some(nl) => break (data, nl + 1),
                // A line longer than the maximum: passed over below.
                None if n > max => break (data, 0),
                // One line longer than a block: map more.
                None => want = (want * 2).min(max.saturating_add(1)),
            }
        };
        let cut = match first_long_line(&data, self.max) {
            Some(0) => return Some(self.skip_mapped_line()),
            Some(start) => start,
            None => cut,
        };
        let data = match data {
            Data::Mapped { map, start, .. } => Data::Mapped { map, start, end: start + cut },
            owned => owned,
        };
        self.partial = data.last() != Some(&b'\n');
        self.finish_mapped(cut as u64);
        let units = Units::Lines(line_ranges(&data));
        Some(Block { data, units })
    }

    /// Passes over the line at the mapped file's offset, longer than the
    /// maximum record size, a block's window at a time (each unmapped after
    /// it is searched), and returns the stand-in for it.
    fn skip_mapped_line(&mut self) -> Block {
        let Feed::Map { len, offset, .. } = self.source else { unreachable!("a mapped reader") };
        let (mut at, mut ended) = (offset, false);
        while at < len {
            let n = (self.block as u64).min(len - at);
            let Some(window) = self.map_window(at, n as usize, false) else { break };
            if let Some(nl) = memchr::memchr(b'\n', &window) {
                (at, ended) = (at + nl as u64 + 1, true);
                break;
            }
            at += n;
        }
        self.finish_mapped(at - offset);
        self.stand_in_line(ended)
    }

    /// Counts `n` more bytes of a mapped file as read.
    fn finish_mapped(&mut self, n: u64) {
        if let Feed::Map { offset, count, .. } = &mut self.source {
            *offset += n;
            count.fetch_add(n, Ordering::Relaxed);
            self.decoded += n;
        }
    }

    /// The problem that stopped the reading, if any (a truncated or corrupt
    /// gzip stream, an I/O error), and the line where what was not read
    /// begins: the first line not fully decoded. Once every block is handed
    /// out, as the engine asks, the line of NDJSON is counted from the end
    /// of the lines handed out (1 is the line after their last; 0 is their
    /// last, which the error cut short); a JSON document's is its line in
    /// the input.
    pub fn error(&self) -> Option<(u32, &str)> {
        let message = self.error.as_deref()?;
        let line = match self.layout {
            Layout::Document => self.doc.newlines.saturating_add(1).min(u32::MAX as u64) as u32,
            Layout::Lines | Layout::Unknown => u32::from(!self.partial),
        };
        Some((line, message))
    }

    /// Lines of a JSON document read so far (lines of NDJSON blocks are
    /// counted by whoever splits them).
    pub fn lines(&self) -> u64 {
        if self.layout != Layout::Document {
            return 0;
        }
        // A last line without a line end counts once all is read.
        let cut_short = self.eof && self.filled == self.doc.resume && self.last.is_some_and(|b| b != b'\n');
        self.doc.newlines + u64::from(cut_short)
    }

    /// Bytes of (decompressed) text read so far.
    pub fn decoded(&self) -> u64 {
        self.decoded
    }

    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// Reads until `buf` holds `want` bytes or the stream ends.
    fn fill(&mut self, want: usize) {
        while !self.eof && self.filled < want {
            // Grow at most 1 MiB at a time, so a small input costs no more
            // than its size.
            let end = want.min(self.filled + (1 << 20));
            // Two bytes to spare after the text: see `next_document_block`.
            if self.buf.len() < end + 2 {
                if self.buf.capacity() < end + 2 {
                    // Doubling, as a `Vec` grows, while the text fits in two
                    // blocks. Only a line or record longer than a block
                    // needs more: the buffer is then given the cap (the
                    // maximum record size and a block) at once. That only
                    // reserves the memory, whose pages are touched as the
                    // text arrives, and saves the copies of doubling, which
                    // the allocator may hold on to a while. Such a buffer
                    // is not kept for reuse ([`Reader::recycle`]).
                    let grown = if end > 2 * self.block {
                        self.cap.max(end + 2)
                    } else {
                        (self.buf.capacity() * 2).max(end + 2).min(self.cap.max(end + 2))
                    };
                    self.buf.reserve_exact(grown - self.buf.len());
                }
                self.buf.resize(end + 2, 0);
            }
            let Feed::Stream(inner) = &mut self.source else {
                self.eof = true;
                break;
            };
            match inner.read(&mut self.buf[self.filled..end]) {
                Ok(0) => self.eof = true,
                Ok(k) => {
                    self.filled += k;
                    self.decoded += k as u64;
                    self.last = Some(self.buf[self.filled - 1]);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.eof = true;
                    self.error = Some(if self.gzip {
                        format!("truncated or corrupt gzip stream ({e}); the rest of the file is lost")
                    } else {
                        format!("read error ({e}); the rest of the file is lost")
                    });
                }
            }
        }
    }

    /// Takes back a block's buffer for reuse, unless it grew for a record
    /// longer than a block (see `Reader::fill`): it is let go.
    pub fn recycle(&mut self, data: Data) {
        // A mapped block is unmapped here.
        let Data::Owned(mut data) = data else { return };
        if self.spare.len() < 2 && data.capacity() <= 4 * self.block + 4 {
            data.resize(data.capacity(), 0);
            self.spare.push(data);
        }
    }

    /// The first `n` bytes of (decompressed) text, for an estimate; the
    /// reader is spent afterwards.
    pub fn sample(&mut self, n: usize) -> Option<Vec<u8>> {
        if let Feed::Map { len, offset, .. } = self.source {
            let n = (n as u64).min(len - offset) as usize;
            let data = self.map_window(offset, n, true)?;
            self.finish_mapped(n as u64);
            return Some(data.to_vec());
        }
        self.fill(n);
        (self.filled > 0).then(|| self.buf[..self.filled].to_vec())
    }

    /// The next block of whole units, or `None` at the end of the input.
    pub fn next_block(&mut self) -> Option<Block> {
        if matches!(self.source, Feed::Map { .. }) {
            return self.next_mapped_block();
        }
        if self.layout == Layout::Unknown {
            self.fill(self.block);
            if self.buf[..self.filled].starts_with(b"\xef\xbb\xbf") {
                self.buf.copy_within(3..self.filled, 0);
                self.filled -= 3;
            }
            self.layout = detect(&self.buf[..self.filled]);
        }
        match self.layout {
            Layout::Document => self.next_document_block(),
            _ => self.next_lines_block(),
        }
    }

    /// The next block of NDJSON: at least a block's worth (or the rest of
    /// the input) cut after its last line end, and before a line longer
    /// than the maximum record size; or the stand-in for that line.
    fn next_lines_block(&mut self) -> Option<Block> {
        let (block, max) = (self.block, self.max);
        let mut want = block.max(self.filled + block / 2).min(self.cap);
        let cut = loop {
            self.fill(want);
            if self.eof {
                break self.filled;
            }
            match memchr::memrchr(b'\n', &self.buf[..self.filled]) {
                Some(nl) => break nl + 1,
                // A line longer than the maximum: passed over below.
                None if self.filled > max => break 0,
                // One line longer than a block: read more.
                None => want = (self.filled * 2).min(max.saturating_add(1)),
            }
        };
        let cut = match first_long_line(&self.buf[..self.filled], max) {
            Some(0) => return Some(self.skip_line()),
            Some(start) => start,
            None => cut,
        };
        if cut == 0 {
            return None;
        }
        self.partial = self.buf[cut - 1] != b'\n';
        let data = self.hand_out(cut, cut);
        let units = Units::Lines(line_ranges(&data));
        Some(Block { data: Data::Owned(data), units })
    }

    /// `buf[..cut]`, taken out; the rest, from `keep` (at most `cut`),
    /// moves to a fresh (or recycled) buffer.
    fn hand_out(&mut self, cut: usize, keep: usize) -> Vec<u8> {
        let rest = self.filled - keep;
        let mut next = self.spare.pop().unwrap_or_default();
        if next.len() < rest {
            next.resize(rest, 0);
        }
        next[..rest].copy_from_slice(&self.buf[keep..self.filled]);
        let mut data = std::mem::replace(&mut self.buf, next);
        self.filled = rest;
        data.truncate(cut);
        data
    }

    /// Drops the first `n` bytes of `buf[..filled]`.
    fn drop_front(&mut self, n: usize) {
        self.buf.copy_within(n..self.filled, 0);
        self.filled -= n;
    }

    /// Passes over the line at the start of `buf`, longer than the maximum
    /// record size, reading on to its end a block at a time without keeping
    /// it, and returns the stand-in for it.
    fn skip_line(&mut self) -> Block {
        let ended = loop {
            if let Some(nl) = memchr::memchr(b'\n', &self.buf[..self.filled]) {
                self.drop_front(nl + 1);
                break true;
            }
            self.filled = 0;
            self.shrink();
            if self.eof {
                break false;
            }
            self.fill(self.block);
        };
        self.shrink();
        self.stand_in_line(ended)
    }

    /// Lets go of the memory the buffer grew to while a record too long to
    /// hold was looked at (down to two blocks), so that such a record does
    /// not cost it while it is passed over, nor for the rest of the input.
    fn shrink(&mut self) {
        let keep = (2 * self.block).max(self.filled + 2);
        if self.buf.capacity() > keep {
            self.buf.truncate(keep);
            self.buf.shrink_to(keep);
        }
    }

    /// A block of one NDJSON line, the stand-in for a line passed over:
    /// with a line end when the line had one, so that an error that cut it
    /// short is reported at its line.
    fn stand_in_line(&mut self, ended: bool) -> Block {
        let mut data = too_long_stand_in(self.max);
        if ended {
            data.push(b'\n');
        }
        self.partial = !ended;
        let units = Units::Lines(line_ranges(&data));
        Block { data: Data::Owned(data), units }
    }

    /// The next block of a JSON document: the whole records of at least a
    /// block's worth of text (or the rest of the input); or the stand-in
    /// for a record longer than the maximum record size.
    fn next_document_block(&mut self) -> Option<Block> {
        loop {
            // The unscanned text is at most the maximum record size here.
            let want = self.block.max(self.filled + self.block / 2).min(self.cap + self.doc.resume);
            self.fill(want);
            // The text followed by ` "`, in the buffer's scratch space
            // (which `fill` leaves; a buffer just handed over may lack it).
            if self.buf.len() < self.filled + 2 {
                self.buf.resize(self.filled + 2, 0);
            }
            self.buf[self.filled..self.filled + 2].copy_from_slice(b" \"");
            let (data, closed) = (&self.buf[..self.filled], &self.buf[..self.filled + 2]);
            let mut units = Vec::new();
            let scanned = self.doc.scan(data, closed, self.eof, self.max, &mut units);
            let keep = context_start(data, scanned);
            self.doc.resume = scanned - keep;
            if !units.is_empty() {
                let mut data = self.hand_out(scanned, keep);
                // A record longer than the maximum that fitted in the buffer
                // is replaced all the same, so results do not depend on the
                // block size.
                let stand_in = too_long_stand_in(self.max);
                data.reserve_exact(units.iter().filter(|u| u.long).count() * stand_in.len());
                for u in units.iter_mut().filter(|u| u.long) {
                    (u.start, u.end) = (data.len(), data.len() + stand_in.len());
                    data.extend_from_slice(&stand_in);
                }
                let units = units.into_iter().map(|u| Unit { start: u.start, end: u.end, line: u.line }).collect();
                return Some(Block { data: Data::Owned(data), units: Units::Records(units) });
            }
            self.drop_front(keep);
            if self.filled - self.doc.resume > self.max {
                if let Some(block) = self.skip_record() {
                    return Some(block);
                }
            } else if self.eof {
                // An array cut short between records: each record was read,
                // but the file ended early, and says so.
                if matches!(self.doc.nest, Nest::Elements { .. }) && self.error.is_none() {
                    self.error = Some("the JSON document ends early: its array has no closing `]`".to_string());
                }
                return None;
            }
        }
    }

    /// Passes over the record (or other unit) of a JSON document where the
    /// scan stopped, longer than the maximum record size, reading on to
    /// its end without keeping it, and returns the stand-in for it: `None`
    /// for the rest of a `{"records": [...]}` body after its array, which
    /// holds no record.
    fn skip_record(&mut self) -> Option<Block> {
        self.drop_front(self.doc.resume);
        self.doc.resume = 0;
        let line = self.doc.line();
        let mut skip = Skip::new(self.doc.nest, self.buf[0]);
        let record = self.doc.nest != Nest::BodyRest;
        loop {
            let data = &self.buf[..self.filled];
            let end = skip.end(data);
            self.doc.newlines += memchr::memchr_iter(b'\n', &data[..end.unwrap_or(data.len())]).count() as u64;
            if let Some(end) = end {
                // The byte before what follows is kept, for its look back.
                let keep = end.min(1);
                self.drop_front(end - keep);
                self.doc.resume = keep;
                break;
            }
            self.filled = 0;
            self.shrink();
            if self.eof {
                break;
            }
            self.fill(self.block);
        }
        self.doc.nest = skip.after(self.doc.nest);
        self.shrink();
        record.then(|| {
            let data = too_long_stand_in(self.max);
            let units = Units::Records(vec![Unit { start: 0, end: data.len(), line }]);
            Block { data: Data::Owned(data), units }
        })
    }

    /// The capacity of the buffers the reader holds, for tests of its
    /// memory bound.
    #[cfg(test)]
    fn held(&self) -> usize {
        self.buf.capacity() + self.spare.iter().map(Vec::capacity).sum::<usize>()
    }
}

/// Where the first line of `data` (which starts at a line start) longer
/// than `max` bytes (before its `\n`) starts, if any; a last line without a
/// line end counts as it is. Looks at nothing when `data` is not longer
/// than `max`, as no line in it can be.
fn first_long_line(data: &[u8], max: usize) -> Option<usize> {
    let mut at = 0;
    while data.len() - at > max {
        match memchr::memchr(b'\n', &data[at..=at + max]) {
            Some(nl) => at += nl + 1,
            None => return Some(at),
        }
    }
    None
}

/// Mapping offsets are multiples of this: 64 KiB is a multiple of the page
/// size on every platform memmap2 supports.
const MAP_ALIGN: u64 = 64 << 10;

/// What the kernel maps on one page fault in a file mapping: its
/// `fault_around_bytes`, 64 KiB by default since Linux 3.15.
const FAULT_AROUND: usize = 64 << 10;

/// Faults a fresh mapping in, one read per [`FAULT_AROUND`] window, on the
/// reader thread, so that the tasks parsing it find its pages mapped. This
/// costs less than `MAP_POPULATE`, which walks the mapping a page at a time
/// (`bench/RESULTS.md`); a page left unmapped (a kernel that maps less per
/// fault) is faulted in by its reader instead.
fn fault_in(map: &[u8]) {
    for at in window_starts(map.as_ptr() as usize, map.len(), FAULT_AROUND) {
        // SAFETY: `at` is inside the map; the read is volatile so that it
        // is not optimised away.
        unsafe { std::ptr::read_volatile(map.as_ptr().add(at)) };
    }
}

/// Offsets into `len` bytes at address `base`: 0, then each address that
/// is a multiple of `window`.
fn window_starts(base: usize, len: usize, window: usize) -> impl Iterator<Item = usize> {
    let first = (base / window + 1) * window - base;
    std::iter::once(0).chain((first..len).step_by(window)).take_while(move |&at| at < len)
}

/// NDJSON or one JSON document, from the first bytes of an input.
pub fn detect(head: &[u8]) -> Layout {
    let Some(first) = head.iter().position(|b| !b.is_ascii_whitespace()) else { return Layout::Lines };
    match head[first] {
        b'[' => Layout::Document,
        b'{' => {
            let line_end = memchr::memchr(b'\n', &head[first..]).map_or(head.len(), |n| first + n);
            let line = head[first..line_end].trim_ascii();
            let pretty_body = records_body_start(line).is_some() && !line.ends_with(b"}");
            if line == b"{" || pretty_body { Layout::Document } else { Layout::Lines }
        }
        _ => Layout::Lines,
    }
}

/// The lines of `data[range]` (whole lines), as byte ranges of `data`
/// without their line ending (`\n` or `\r\n`). A final line without a
/// newline counts; a trailing newline does not start another.
pub fn lines_in(data: &[u8], range: std::ops::Range<usize>) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut start = range.start;
    std::iter::from_fn(move || {
        if start >= range.end {
            return None;
        }
        let line = start;
        let (end, next) = match memchr::memchr(b'\n', &data[start..range.end]) {
            Some(i) => (start + i, start + i + 1),
            None => (range.end, range.end),
        };
        start = next;
        let end = if end > line && data[end - 1] == b'\r' && end < next { end - 1 } else { end };
        Some((line, end))
    })
}

/// `data` (whole lines) cut into runs of about [`RANGE`] bytes at line ends.
pub fn line_ranges(data: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::with_capacity(data.len() / RANGE + 1);
    let mut start = 0;
    while start < data.len() {
        let at = (start + RANGE).min(data.len());
        let end = memchr::memchr(b'\n', &data[at..]).map_or(data.len(), |i| at + i + 1);
        out.push(start..end);
        start = end;
    }
    out
}

/// The records of a JSON document: the elements of top-level arrays and of
/// `{"records": [...]}` bodies, and top-level objects. Whatever else is at
/// the top level becomes a unit per line, so the parser reports it.
pub fn scan_document(data: &[u8]) -> Vec<Unit> {
    let mut units = Vec::new();
    DocState::default().scan(data, data, true, usize::MAX, &mut units);
    units.into_iter().map(|u| Unit { start: u.start, end: u.end, line: u.line }).collect()
}

/// What a JSON document's text between whole units is part of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Nest {
    /// Between top-level values.
    #[default]
    Top,
    /// Among the elements of an array: a top-level one, or (`body`) the
    /// array of a `{"records": [...]}` body.
    Elements { body: bool },
    /// In a `{"records": [...]}` body, after its array: passed over.
    BodyRest,
}

/// How far the scan of a JSON document read a block at a time has got:
/// what the text after the last whole unit is part of, the line ends
/// before it, and where it starts in the reader's buffer (the bytes before
/// are kept for [`element_end`]'s look back: see [`context_start`]).
#[derive(Debug, Default)]
struct DocState {
    nest: Nest,
    newlines: u64,
    resume: usize,
}

/// A unit found by [`DocState::scan`]: `long` when it is longer than the
/// maximum record size (its length before trailing whitespace is trimmed).
struct DocUnit {
    start: usize,
    end: usize,
    line: u32,
    long: bool,
}

/// Whether text starts a `{"records": [` opening: it does (the offset just
/// after the `[`), it does not, or it may (the text ends first).
enum Opening {
    Yes(usize),
    No,
    Maybe,
}

fn records_opening(b: &[u8], eof: bool) -> Opening {
    if let Some(k) = records_body_start(b) {
        return Opening::Yes(k);
    }
    if eof {
        return Opening::No;
    }
    let mut i = 0;
    for expect in [&b"{"[..], b"\"records\"", b":", b"["] {
        while b.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        let rest = &b[i.min(b.len())..];
        if rest.len() < expect.len() {
            return if expect.starts_with(rest) { Opening::Maybe } else { Opening::No };
        }
        if !rest.starts_with(expect) {
            return Opening::No;
        }
        i += expect.len();
    }
    Opening::No
}

impl DocState {
    /// The line the unscanned text starts on.
    fn line(&self) -> u32 {
        self.newlines.saturating_add(1).min(u32::MAX as u64) as u32
    }

    /// Scans `data` from `resume`, where the last scan stopped, for whole
    /// units, pushed to `units` (offsets into `data`), each where a scan of
    /// the whole document finds it. Returns how far it scanned: what
    /// follows begins a unit (or a `{"records": [` opening) that may go on
    /// past `data`, unless `eof`, when all is scanned. `closed` is `data`
    /// followed by ` "` (see [`unit_end`]); a unit longer than `max` bytes
    /// is marked `long`.
    fn scan(&mut self, data: &[u8], closed: &[u8], eof: bool, max: usize, units: &mut Vec<DocUnit>) -> usize {
        let mut s = Scan { data, pos: self.resume, newlines: self.newlines };
        loop {
            match self.nest {
                Nest::Top => {
                    s.skip_ws();
                    let Some(&b) = data.get(s.pos) else { break };
                    if b == b'[' {
                        s.pos += 1;
                        self.nest = Nest::Elements { body: false };
                        continue;
                    }
                    match records_opening(&data[s.pos..], eof) {
                        Opening::Yes(k) => {
                            s.advance_to(s.pos + k);
                            self.nest = Nest::Elements { body: true };
                            continue;
                        }
                        Opening::Maybe => break,
                        Opening::No => {}
                    }
                    let (start, line) = (s.pos, s.line());
                    let end = match b {
                        // A broken object ends where the next one starts.
                        b'{' => unit_end(data, closed, start, eof),
                        _ => memchr::memchr(b'\n', &data[start..]).map(|n| start + n).or(eof.then_some(data.len())),
                    };
                    let Some(end) = end else { break };
                    s.advance_to(end);
                    let trimmed = start + data[start..end].trim_ascii_end().len();
                    units.push(DocUnit { start, end: trimmed, line, long: end - start > max });
                }
                Nest::Elements { body } => {
                    s.skip_ws();
                    match data.get(s.pos) {
                        None => break,
                        Some(b']') => {
                            s.pos += 1;
                            self.nest = if body { Nest::BodyRest } else { Nest::Top };
                        }
                        Some(b',') => s.pos += 1,
                        Some(_) => {
                            let (start, line) = (s.pos, s.line());
                            let Some(mut end) = unit_end(data, closed, start, eof) else { break };
                            if end == start {
                                // A stray `}`: a unit of its own, so it is reported.
                                end = start + 1;
                            }
                            s.advance_to(end);
                            let trimmed = start + data[start..end].trim_ascii_end().len();
                            units.push(DocUnit { start, end: trimmed, line, long: end - start > max });
                        }
                    }
                }
                Nest::BodyRest => {
                    let Some(end) = s.close_end(s.pos, 1).or(eof.then_some(data.len())) else { break };
                    s.advance_to(end);
                    self.nest = Nest::Top;
                }
            }
        }
        self.newlines = s.newlines;
        s.pos
    }
}

/// Where the element of a list of records (or the top-level object) at
/// `data[start]` ends, as [`element_end`] finds it in the whole document;
/// `None` when that depends on text after `data`, unless `eof`. An element
/// cut short by the end of `data` waits for more. A broken one (it runs to
/// where the next record starts) may only look broken: a string that does
/// not close in `data` may close after it. Such a break is taken only if
/// closing every string at the end (`closed`, `data` followed by ` "`: the
/// space is what a last backslash escapes) finds the same end; otherwise
/// the element waits for more text too. Nothing else [`element_end`]
/// decides depends on what follows the text it has read.
fn unit_end(data: &[u8], closed: &[u8], start: usize, eof: bool) -> Option<usize> {
    match element_end(data, start) {
        ElementEnd::At(end) => Some(end),
        ElementEnd::Broken(None) => eof.then_some(data.len()),
        ElementEnd::Broken(Some(next)) if eof || element_end(closed, start) == ElementEnd::Broken(Some(next)) => {
            Some(next)
        }
        ElementEnd::Broken(Some(_)) => None,
    }
}

/// [`element_end`] looks back from an element's start at its indentation
/// (the spaces and tabs before it, and whether a line end precedes them).
/// So when the buffer is cut before an element, what is kept of the text
/// already scanned starts here: the spaces and tabs before `at` (at most
/// [`CONTEXT`]) and the byte before them.
fn context_start(data: &[u8], at: usize) -> usize {
    let run = data[..at].iter().rev().take_while(|&&b| b == b' ' || b == b'\t').take(CONTEXT).count();
    at - run - usize::from(at > run)
}

/// The most indentation kept before an element cut from the text before it.
const CONTEXT: usize = 4096;

struct Scan<'a> {
    data: &'a [u8],
    pos: usize,
    newlines: u64,
}

impl Scan<'_> {
    fn line(&self) -> u32 {
        self.newlines.saturating_add(1).min(u32::MAX as u64) as u32
    }

    fn skip_ws(&mut self) {
        while let Some(&b) = self.data.get(self.pos) {
            if !b.is_ascii_whitespace() {
                break;
            }
            if b == b'\n' {
                self.newlines += 1;
            }
            self.pos += 1;
        }
    }

    fn advance_to(&mut self, end: usize) {
        self.newlines += memchr::memchr_iter(b'\n', &self.data[self.pos..end]).count() as u64;
        self.pos = end;
    }

    /// Just past the string whose opening quote is at `quote`, or the end
    /// of the data when the string is not closed.
    fn past_string(&self, quote: usize) -> usize {
        string_end(self.data, quote).map_or(self.data.len(), |end| end + 1)
    }

    /// Just after the bracket that closes `depth` open ones, from `at`;
    /// `None` when the data ends first.
    fn close_end(&self, at: usize, depth: usize) -> Option<usize> {
        let (mut depth, mut i) = (depth, at);
        while let Some(&b) = self.data.get(i) {
            i += 1;
            match b {
                b'"' => i = self.past_string(i - 1),
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return Some(i);
                    }
                }
                _ => {}
            }
        }
        None
    }
}

/// Passing over a unit of a JSON document too long to hold, a piece at a
/// time: where it ends is found as [`Scan`] finds it, with what is open
/// (strings, brackets) carried from piece to piece.
struct Skip {
    until: Until,
    depth: usize,
    strings: Strings,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Until {
    /// A top-level line that is not JSON: its line end (not included).
    LineEnd,
    /// An array element: a `,`, `]` or `}` outside nesting (not included).
    ElementEnd,
    /// The bracket closing those open (included).
    Close,
}

impl Skip {
    /// For the unit that starts with `first` where the scan is at `nest`.
    fn new(nest: Nest, first: u8) -> Skip {
        let (until, depth) = match nest {
            Nest::Top if first == b'{' => (Until::Close, 0),
            Nest::Top => (Until::LineEnd, 0),
            Nest::Elements { .. } => (Until::ElementEnd, 0),
            Nest::BodyRest => (Until::Close, 1),
        };
        Skip { until, depth, strings: Strings::default() }
    }

    /// Where the unit ends in this piece of it, if it does.
    fn end(&mut self, piece: &[u8]) -> Option<usize> {
        if self.until == Until::LineEnd {
            return memchr::memchr(b'\n', piece);
        }
        for (i, &b) in piece.iter().enumerate() {
            if !self.strings.outside(b) {
                continue;
            }
            match b {
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' if self.until == Until::ElementEnd && self.depth == 0 => return Some(i),
                b'}' | b']' => {
                    self.depth = self.depth.saturating_sub(1);
                    if self.until == Until::Close && self.depth == 0 {
                        return Some(i + 1);
                    }
                }
                b',' if self.until == Until::ElementEnd && self.depth == 0 => return Some(i),
                _ => {}
            }
        }
        None
    }

    /// Where the scan is after the unit.
    fn after(&self, nest: Nest) -> Nest {
        if nest == Nest::BodyRest { Nest::Top } else { nest }
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::InputFile;
    use std::path::PathBuf;

    #[test]
    fn a_mapping_is_read_once_in_each_fault_window() {
        let w = FAULT_AROUND;
        for (base, len) in [(0, 0), (4096, 1), (w, 3 * w), (w - 4096, 4096), (w - 4096, 4097), (5 * 4096, 10 * w + 7)] {
            let starts: Vec<usize> = window_starts(base, len, w).collect();
            // Every window the bytes touch is read once, at the first byte in it.
            let windows: Vec<usize> =
                (base..base + len).map(|a| a / w).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
            let firsts: Vec<usize> = windows.iter().map(|&k| (k * w).max(base) - base).collect();
            assert_eq!(starts, firsts, "base {base}, len {len}");
        }
    }

    fn texts(data: &[u8], units: &[Unit]) -> Vec<(String, u32)> {
        units.iter().map(|u| (String::from_utf8_lossy(&data[u.start..u.end]).into_owned(), u.line)).collect()
    }

    /// A block's records as (text, line), NDJSON lines numbered on from
    /// `next_line` as the parser numbers them.
    fn block_texts(b: &Block, next_line: &mut u32) -> Vec<(String, u32)> {
        match &b.units {
            Units::Records(units) => texts(&b.data, units),
            Units::Lines(ranges) => {
                let lines = ranges.iter().flat_map(|r| lines_in(&b.data, r.clone()));
                let units: Vec<Unit> =
                    lines.zip(*next_line..).map(|((start, end), line)| Unit { start, end, line }).collect();
                *next_line += units.len() as u32;
                texts(&b.data, &units)
            }
        }
    }

    fn read_all(bytes: Vec<u8>) -> (Vec<(String, u32)>, Reader) {
        let mut r = Reader::new(io::Cursor::new(bytes)).unwrap();
        let (mut out, mut line) = (Vec::new(), 1);
        while let Some(b) = r.next_block() {
            out.extend(block_texts(&b, &mut line));
        }
        (out, r)
    }

    #[test]
    fn line_splitting() {
        let t = |d: &[u8], from: usize| {
            let lines: Vec<&[u8]> = lines_in(d, from..d.len()).map(|(s, e)| &d[s..e]).collect();
            lines.iter().map(|l| String::from_utf8_lossy(l).into_owned()).collect::<Vec<_>>()
        };
        assert_eq!(t(b"a\nb\r\nc", 0), ["a", "b", "c"]);
        assert_eq!(t(b"a\nb\r\nc\r", 2), ["b", "c\r"], "a range from a line start; a last \\r without \\n stays");
        assert_eq!(t(b"a\n", 0), ["a"]);
        assert_eq!(t(b"a\n\nb\n", 0), ["a", "", "b"]);
        assert_eq!(t(b"", 0), Vec::<String>::new());
    }

    #[test]
    fn line_ranges_cover_the_block_at_line_ends() {
        let line = format!("{{\"a\":\"{}\"}}\n", "x".repeat(700));
        let data = format!(
            "{}{{\"long\":\"{}\"}}\n{}",
            line.repeat(RANGE / line.len() + 2),
            "y".repeat(RANGE),
            line.repeat(3)
        );
        let data = data.as_bytes();
        let ranges = line_ranges(data);
        assert!(ranges.len() >= 3, "{}", ranges.len());
        assert_eq!(ranges[0].start, 0);
        assert_eq!(ranges.last().unwrap().end, data.len());
        for w in ranges.windows(2) {
            assert_eq!(w[0].end, w[1].start);
            assert_eq!(data[w[0].end - 1], b'\n', "cut after a line end");
        }
        assert!(ranges.iter().all(|r| r.len() >= RANGE.min(data.len() - r.start) || r.end == data.len()));
        let lines: usize = ranges.iter().map(|r| lines_in(data, r.clone()).count()).sum();
        assert_eq!(lines, RANGE / line.len() + 2 + 1 + 3);
        assert_eq!(line_ranges(b"no newline"), vec![0..10]);
        assert!(line_ranges(b"").is_empty());
    }

    #[test]
    fn layouts() {
        assert_eq!(detect(b"{\"a\":1}\n{\"a\":2}\n"), Layout::Lines);
        assert_eq!(detect(b"\n  [\n {\"a\":1}]"), Layout::Document);
        assert_eq!(detect(b"{\r\n  \"records\": ["), Layout::Document);
        assert_eq!(detect(b"{ \"records\": [\n"), Layout::Document);
        assert_eq!(detect(b"{\"records\": [{\"a\":1}]}\n"), Layout::Lines);
        assert_eq!(detect(b"{\"Type\":\"T\", \"a\""), Layout::Lines, "a broken first record is a broken line");
        assert_eq!(detect(b"garbage\n"), Layout::Lines);
    }

    #[test]
    fn documents_keep_each_records_first_line() {
        let doc = b"[\n  {\n    \"a\": \"x,]}\\\"\"\n  },\n  {\"b\": [1,\n 2]} ,\n  42,\n  nonsense\n]\n";
        assert_eq!(
            texts(doc, &scan_document(doc)),
            vec![
                ("{\n    \"a\": \"x,]}\\\"\"\n  }".into(), 2),
                ("{\"b\": [1,\n 2]}".into(), 5),
                ("42".into(), 7),
                ("nonsense".into(), 8),
            ]
        );
        let body =
            b"{\n \"records\": [\n {\"a\":1},\n {\"a\":2}\n ],\n \"x\": {\"y\": 1}\n}\n{\"records\":[{\"a\":3}]}";
        assert_eq!(
            texts(body, &scan_document(body)),
            vec![("{\"a\":1}".into(), 3), ("{\"a\":2}".into(), 4), ("{\"a\":3}".into(), 8),]
        );
        let pretty = b"{\n \"a\": 1\n}\n{\"a\": 2}\njunk here\n[]";
        assert_eq!(
            texts(pretty, &scan_document(pretty)),
            vec![("{\n \"a\": 1\n}".into(), 1), ("{\"a\": 2}".into(), 4), ("junk here".into(), 5),]
        );
        let truncated = b"[{\"a\":1},\n{\"a\":";
        assert_eq!(texts(truncated, &scan_document(truncated)), vec![("{\"a\":1}".into(), 1), ("{\"a\":".into(), 2)]);
        let stray = b"[{\"a\":1}}, {\"a\":2}]";
        assert_eq!(
            texts(stray, &scan_document(stray)),
            vec![("{\"a\":1}".into(), 1), ("}".into(), 1), ("{\"a\":2}".into(), 1)]
        );
    }

    #[test]
    fn reader_strips_bom_and_gunzips_by_magic_bytes() {
        let text = b"\xef\xbb\xbf{\"a\":1}\r\n{\"a\":2}\r\n".to_vec();
        let (units, r) = read_all(text.clone());
        assert_eq!(units, vec![("{\"a\":1}".into(), 1), ("{\"a\":2}".into(), 2)]);
        assert!(!r.gzip);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &text).unwrap();
        let gz = gz.finish().unwrap();
        let (units_gz, r) = read_all(gz.clone());
        assert_eq!(units_gz, units);
        assert!(r.gzip && r.error().is_none());
        // Cut off: what was decoded is kept, and the error names the line.
        let (units_cut, r) = read_all(gz[..gz.len() - 12].to_vec());
        assert!(r.error().is_some(), "a truncated stream is an error");
        assert!(units_cut.len() <= 2);
        assert_eq!(read_all(Vec::new()).0, vec![]);
    }

    /// What reading an input through [`Reader::open`] gave.
    struct Got {
        units: Vec<(String, u32)>,
        reader: Reader,
        /// Raw bytes counted as read.
        counted: u64,
        blocks: usize,
    }

    fn read_input(file: &InputFile, options: ReadOptions) -> io::Result<Got> {
        let count = Arc::new(AtomicU64::new(0));
        let mut reader = Reader::open(file, count.clone(), options)?;
        let (mut units, mut line, mut blocks) = (Vec::new(), 1, 0);
        while let Some(b) = reader.next_block() {
            units.extend(block_texts(&b, &mut line));
            reader.recycle(b.data);
            blocks += 1;
        }
        Ok(Got { units, reader, counted: count.load(Ordering::Relaxed), blocks })
    }

    /// Reads `bytes` as a file (mapped, unless gzip or under two bytes),
    /// as a file with `mmap` off, and as a stream: all must give the same
    /// units and line count. Returns the mapped read.
    fn read_both(bytes: &[u8]) -> (Vec<(String, u32)>, Reader) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.json");
        std::fs::write(&path, bytes).unwrap();
        let mapped = read_input(&InputFile::file(&path), ReadOptions::default()).unwrap();
        let unmapped =
            read_input(&InputFile::file(&path), ReadOptions { mmap: false, ..ReadOptions::default() }).unwrap();
        assert!(matches!(unmapped.reader.source, Feed::Stream(_)), "mmap off: read()");
        let (streamed, s) = read_all(bytes.to_vec());
        for r in [&mapped, &unmapped] {
            assert_eq!(r.units, streamed);
            assert_eq!((r.reader.lines(), r.reader.decoded()), (s.lines(), s.decoded()));
            assert_eq!(r.counted, bytes.len() as u64, "every byte counted as read");
        }
        (mapped.units, mapped.reader)
    }

    #[test]
    fn mapped_files_read_as_streams_do() {
        let (units, r) = read_both(b"\xef\xbb\xbf{\"a\":1}\r\n{\"a\":2}\r\n");
        assert_eq!(units, vec![("{\"a\":1}".into(), 1), ("{\"a\":2}".into(), 2)]);
        assert!(matches!(r.source, Feed::Map { .. }));
        assert_eq!(read_both(b"{\"a\":1}\n\n{\"b\"").0.len(), 3, "a last line without a newline");
        let (units, r) = read_both(b"\xef\xbb\xbf[\n {\"a\":1},\n {\"a\":2}\n]\n");
        assert_eq!(units, vec![("{\"a\":1}".into(), 2), ("{\"a\":2}".into(), 3)]);
        assert_eq!(r.layout(), Layout::Document);
        // Gzip and one-byte files stream.
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, b"{\"a\":1}\n").unwrap();
        let gz = gz.finish().unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("x.gz"), &gz).unwrap();
        let r =
            Reader::open(&InputFile::file(dir.path().join("x.gz")), Arc::default(), ReadOptions::default()).unwrap();
        assert!(r.gzip && matches!(r.source, Feed::Stream(_)));
        assert_eq!(read_both(b"x").0, vec![("x".into(), 1)]);
    }

    #[test]
    fn mapped_blocks_cut_at_line_ends_even_past_a_block() {
        // Lines straddle block ends at odd offsets, and one line is longer
        // than a block (its block grows until it holds the line end).
        let line = format!("{{\"a\":\"{}\"}}\n", "x".repeat(999));
        let mut text = line.repeat(BLOCK / line.len() + 3);
        text.push_str(&format!("{{\"long\":\"{}\"}}\n", "y".repeat(BLOCK + 5)));
        text.push_str(&line.repeat(5));
        let (units, r) = read_both(text.as_bytes());
        assert_eq!(r.lines(), 0, "NDJSON lines are the parser's to count");
        assert_eq!(units.len(), BLOCK / line.len() + 3 + 1 + 5);
        assert!(units.iter().enumerate().all(|(i, (_, l))| *l == i as u32 + 1));
        assert!(units.iter().all(|(t, _)| t.ends_with('}')));
    }

    #[test]
    fn long_inputs_are_cut_at_line_ends_across_blocks() {
        let line = format!("{{\"a\":\"{}\"}}\n", "x".repeat(1000));
        let n = BLOCK / line.len() * 2 + 7;
        let (units, r) = read_all(line.repeat(n).into_bytes());
        assert_eq!(units.len(), n);
        assert!(units.iter().enumerate().all(|(i, (t, l))| *l == i as u32 + 1 && t.len() == line.len() - 1));
        assert_eq!(r.lines(), 0);
    }

    fn gzip(text: &[u8]) -> Vec<u8> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, text).unwrap();
        gz.finish().unwrap()
    }

    /// `n` NDJSON lines of about 100 bytes, and their (text, line) units.
    fn ndjson(n: usize) -> (Vec<u8>, Vec<(String, u32)>) {
        let lines: Vec<String> = (0..n).map(|i| format!("{{\"n\":{i},\"pad\":\"{}\"}}", "p".repeat(80))).collect();
        let text = lines.iter().map(|l| format!("{l}\n")).collect::<String>().into_bytes();
        (text, lines.into_iter().zip(1..).collect())
    }

    #[test]
    fn bytes_inputs_are_read_from_memory_plain_or_gzip() {
        let text = b"\xef\xbb\xbf{\"a\":1}\r\n{\"a\":2}\n".to_vec();
        let want = vec![("{\"a\":1}".into(), 1), ("{\"a\":2}".into(), 2)];
        let plain = read_input(&InputFile::bytes("mem.json", text.clone()), ReadOptions::default()).unwrap();
        assert_eq!(plain.units, want);
        assert!(!plain.reader.gzip);
        assert_eq!(plain.counted, text.len() as u64);
        let gz = gzip(&text);
        let unzipped = read_input(&InputFile::bytes("mem.json.gz", &gz[..]), ReadOptions::default()).unwrap();
        assert_eq!(unzipped.units, want);
        assert!(unzipped.reader.gzip && unzipped.reader.error().is_none());
        assert_eq!(unzipped.counted, gz.len() as u64, "compressed bytes counted");
        let doc =
            read_input(&InputFile::bytes("doc", &b"[{\"a\":1},\n{\"a\":2}]"[..]), ReadOptions::default()).unwrap();
        assert_eq!(doc.units, vec![("{\"a\":1}".into(), 1), ("{\"a\":2}".into(), 2)]);
        // Bytes can be read again.
        let again = read_input(&InputFile::bytes("mem.json", text), ReadOptions::default()).unwrap();
        assert_eq!(again.units, want);
    }

    #[test]
    fn reader_inputs_are_read_once() {
        let input = InputFile::reader("piped", io::Cursor::new(gzip(b"{\"a\":1}\n")));
        let copy = input.clone();
        let first = read_input(&input, ReadOptions::default()).unwrap();
        assert_eq!(first.units, vec![("{\"a\":1}".into(), 1)]);
        assert!(first.reader.gzip);
        for again in [&input, &copy] {
            let err = read_input(again, ReadOptions::default()).err().expect("a second open fails");
            assert_eq!(err.to_string(), "already read");
        }
    }

    #[test]
    fn kinds_of_input_say_their_length_and_whether_they_can_be_read_twice() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("five.json");
        std::fs::write(&path, b"12345").unwrap();
        let kinds = [
            (InputFile::file(&path), Some(5), true),
            (InputFile::file(dir.path().join("missing.json")), None, true),
            (InputFile::file("-"), None, false),
            (InputFile::stdin(), None, false),
            (InputFile::bytes("b", &b"abc"[..]), Some(3), true),
            (InputFile::reader("r", io::Cursor::new(vec![0u8; 9])), None, false),
        ];
        for (input, len, rereadable) in kinds {
            assert_eq!((input.len_hint(), input.rereadable()), (len, rereadable), "{input:?}");
        }
        assert!(InputFile::file("-").is_stdin() && InputFile::stdin().is_stdin());
        assert_eq!(InputFile::stdin().path, PathBuf::from("-"));
        assert!(!InputFile::bytes("-", Vec::new()).is_stdin(), "only the source makes standard input");
        assert_eq!(InputFile::reader("name", io::empty()).path, PathBuf::from("name"));
    }

    #[test]
    fn block_bytes_cut_a_small_input_into_many_blocks() {
        let (text, want) = ndjson(2000);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.json");
        std::fs::write(&path, &text).unwrap();
        let inputs = [InputFile::file(&path), InputFile::bytes("mem", text.clone())];
        for input in &inputs {
            for mmap in [true, false] {
                let small = ReadOptions { block_bytes: 4096, mmap, ..ReadOptions::default() };
                let read = read_input(input, small).unwrap();
                assert_eq!(read.units, want, "{input:?} mmap {mmap}");
                // Each block is cut at a line end within 4 KiB (a stream's
                // first within 6 KiB): it holds more than 4 KiB less a line.
                let line = want.iter().map(|(l, _)| l.len() + 1).max().unwrap();
                let (fewest, most) = ((text.len() - 2048).div_ceil(4096), text.len().div_ceil(4096 - line));
                assert!((fewest..=most).contains(&read.blocks), "{} blocks, not {fewest}..={most}", read.blocks);
                let tiny = read_input(input, ReadOptions { block_bytes: 1, mmap, ..ReadOptions::default() }).unwrap();
                assert_eq!((tiny.units, tiny.blocks), (read.units, read.blocks), "raised to 4 KiB");
                assert_eq!(read_input(input, ReadOptions { mmap, ..ReadOptions::default() }).unwrap().blocks, 1);
            }
        }
    }

    #[test]
    fn mmap_off_reads_the_same_bytes_with_read() {
        let (text, want) = ndjson(300);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.json");
        std::fs::write(&path, &text).unwrap();
        let on = read_input(&InputFile::file(&path), ReadOptions::default()).unwrap();
        let off = read_input(&InputFile::file(&path), ReadOptions { mmap: false, ..ReadOptions::default() }).unwrap();
        assert!(matches!(on.reader.source, Feed::Map { .. }) && matches!(off.reader.source, Feed::Stream(_)));
        assert_eq!(on.units, want);
        assert_eq!(off.units, want);
        assert_eq!((on.counted, off.counted), (text.len() as u64, text.len() as u64));
    }

    /// A stream of `zeros` zero bytes without a newline, then `tail`, in
    /// pieces of 64 KiB: a line no reader can hold whole if it is big.
    struct Zeros {
        zeros: usize,
        tail: io::Cursor<Vec<u8>>,
    }

    impl Read for Zeros {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.zeros == 0 {
                return self.tail.read(buf);
            }
            let n = buf.len().min(self.zeros).min(64 << 10);
            buf[..n].fill(0);
            self.zeros -= n;
            Ok(n)
        }
    }

    /// What reading an input gave, with the most memory the reader held
    /// (its buffers) and the longest block handed out.
    struct Bounded {
        units: Vec<(Vec<u8>, u32)>,
        held: usize,
        longest: usize,
        reader: Reader,
    }

    fn read_bounded(file: &InputFile, options: ReadOptions) -> Bounded {
        let mut reader = Reader::open(file, Arc::default(), options).unwrap();
        let (mut units, mut line, mut held, mut longest) = (Vec::new(), 1, 0, 0);
        while let Some(b) = reader.next_block() {
            held = held.max(reader.held());
            longest = longest.max(b.data.len());
            let found: Vec<Unit> = match &b.units {
                Units::Records(units) => units.clone(),
                Units::Lines(ranges) => {
                    let lines = ranges.iter().flat_map(|r| lines_in(&b.data, r.clone()));
                    let units: Vec<Unit> =
                        lines.zip(line..).map(|((start, end), line)| Unit { start, end, line }).collect();
                    line += units.len() as u32;
                    units
                }
            };
            units.extend(found.iter().map(|u| (b.data[u.start..u.end].to_vec(), u.line)));
            reader.recycle(b.data);
        }
        Bounded { units, held: held.max(reader.held()), longest, reader }
    }

    /// A unit's text shown for an assertion: a record's text, or what the
    /// parser makes of a stand-in for a record too long to read.
    fn shown(units: &[(Vec<u8>, u32)]) -> Vec<(String, u32)> {
        let show = |text: &[u8]| match crate::input::record::record_text(text) {
            Err(e @ crate::input::LineError::TooLong(_)) => e.to_string(),
            _ => String::from_utf8_lossy(text).into_owned(),
        };
        units.iter().map(|(t, l)| (show(t), *l)).collect()
    }

    const MAX: usize = 64 << 10;
    const TOO_LONG: &str = "longer than the maximum record size of 65536 bytes (`--max-record-bytes`); skipped unread";

    fn small_max(block_bytes: usize, mmap: bool) -> ReadOptions {
        ReadOptions { block_bytes, mmap, max_record_bytes: MAX }
    }

    /// The bound the issue asks for: a few blocks plus the maximum.
    fn assert_bounded(got: &Bounded, block: usize, what: &str) {
        assert!(got.held <= 4 * (MAX + block), "{what}: the reader held {} bytes", got.held);
        assert!(got.longest <= MAX + 2 * block, "{what}: a block of {} bytes", got.longest);
    }

    #[test]
    fn a_line_longer_than_the_maximum_is_passed_over_in_bounded_memory() {
        let tail = b"\n{\"a\":1}\n".to_vec();
        let want = vec![(TOO_LONG.to_string(), 1), ("{\"a\":1}".to_string(), 2)];
        // 8 MiB of zeros with no newline, from a reader (as standard input).
        let zeros = InputFile::reader("zeros", Zeros { zeros: 8 << 20, tail: io::Cursor::new(tail.clone()) });
        let got = read_bounded(&zeros, small_max(4096, true));
        assert_eq!(shown(&got.units), want);
        assert_bounded(&got, 4096, "a stream of zeros");
        assert!(got.reader.error().is_none());
        // The same gzipped: 8 MiB of zeros is about 8 KB.
        let mut text = vec![0u8; 8 << 20];
        text.extend_from_slice(&tail);
        let gz = gzip(&text);
        let got = read_bounded(&InputFile::bytes("z.gz", gz), small_max(4096, true));
        assert_eq!(shown(&got.units), want);
        assert_bounded(&got, 4096, "gzipped zeros");
        // Ending without a newline, and before it ends.
        let zeros = InputFile::reader("zeros", Zeros { zeros: 1 << 20, tail: io::Cursor::new(Vec::new()) });
        let got = read_bounded(&zeros, small_max(4096, true));
        assert_eq!(shown(&got.units), vec![(TOO_LONG.to_string(), 1)]);
        // A file, mapped or read: the mapped windows are bounded too.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("z.json");
        std::fs::write(&path, &text[(7 << 20)..]).unwrap();
        for mmap in [true, false] {
            let got = read_bounded(&InputFile::file(&path), small_max(4096, mmap));
            assert_eq!(shown(&got.units), want, "mmap {mmap}");
            assert_bounded(&got, 4096, "a file");
        }
    }

    #[test]
    fn lines_longer_than_the_maximum_are_stood_in_for_whatever_the_block_size() {
        // Long lines inside a block, at its end, and last without a newline.
        let long = |c: char, n: usize| c.to_string().repeat(n);
        let text = format!(
            "{{\"a\":1}}\n{}\r\n{{\"a\":2}}\n{}\n{}\n{}",
            long('x', MAX + 1),
            long('y', MAX),
            long('z', 3 * MAX),
            long('w', MAX + 7)
        );
        let want = vec![
            ("{\"a\":1}".to_string(), 1),
            (TOO_LONG.to_string(), 2),
            ("{\"a\":2}".to_string(), 3),
            (long('y', MAX), 4),
            (TOO_LONG.to_string(), 5),
            (TOO_LONG.to_string(), 6),
        ];
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.json");
        std::fs::write(&path, &text).unwrap();
        for block in [4096, BLOCK] {
            for mmap in [true, false] {
                let got = read_bounded(&InputFile::file(&path), small_max(block, mmap));
                assert_eq!(shown(&got.units), want, "block {block}, mmap {mmap}");
            }
            let got = read_bounded(&InputFile::bytes("in", text.clone().into_bytes()), small_max(block, true));
            assert_eq!(shown(&got.units), want, "block {block}, a stream");
        }
        let got = read_bounded(&InputFile::bytes("in", text.into_bytes()), ReadOptions::default());
        assert_eq!(got.units.len(), 6);
        assert!(shown(&got.units).iter().all(|(t, _)| t != TOO_LONG), "the default maximum is 64 MiB");
    }

    #[test]
    fn no_input_line_passes_for_a_stand_in() {
        let stand_in = too_long_stand_in(MAX);
        assert_eq!(too_long(&stand_in), Some(MAX as u64));
        let key = stand_in_key();
        let forged: [Vec<u8>; 3] = [
            // A key guessed, the key with no number, the right text without the first byte.
            b"\xffsigcorr-too-long:0000000000000000:64".to_vec(),
            [&[0xff][..], key.as_bytes()].concat(),
            [key.as_bytes(), b"64"].concat(),
        ];
        for f in forged {
            assert_eq!(too_long(&f), None, "{}", String::from_utf8_lossy(&f));
        }
        assert!(!stand_in.contains(&b'\n') && std::str::from_utf8(&stand_in).is_err(), "one line, not text");
    }

    #[test]
    fn documents_are_read_a_block_at_a_time_with_the_units_of_a_whole_read() {
        // Records formatted every way the scanner knows, broken ones too (a
        // broken record runs to where the next starts), and strings holding
        // what looks like a record's start, over many 4 KiB blocks.
        let mut array = String::from("[\n");
        let mut body = String::from("{\n  \"records\": [\n");
        let mut compact = String::from("[");
        let mut pretty = String::new();
        for i in 0..600 {
            let pad = "p".repeat(i * 37 % 3000);
            let rec = match i % 9 {
                0 => format!("{{\"n\": {i}, \"s\": \"x,]}}\\\" {{[\"}}"),
                1 => format!("{{\n    \"n\": {i},\n    \"a\": [1, [2, {{\"b\": \"]\"}}], 3]\n  }}"),
                // `,{}` in a string is where a record would start, were the string not closed.
                2 => format!("{{\"n\":{i},\"ua\":\"{},{{\\\"Type\\\":\\\"x\\\"}}\"}}", "p,{}".repeat(i * 13 % 900)),
                3 => format!("{i}"),
                4 => "{\"stray\": 1}}".to_string(),
                5 => format!("{{\"n\": {i}, \"s\": \"unclosed {pad}}}"),
                6 => format!("{{\"n\": {i}, \"a\": [1, 2}}, \"b\": \"{pad}\"}}"),
                7 => format!("{{\"n\": {i}, , \"x\": \"{pad}\"}}"),
                _ => format!("{{\"n\":{i},\"pad\":\"{pad}\"}}"),
            };
            let sep = if i == 0 { "  " } else { ",\n  " };
            array.push_str(&format!("{sep}{rec}"));
            body.push_str(&format!("{sep}{rec}"));
            compact.push_str(&format!("{}{}", if i == 0 { "" } else { "," }, rec.replace('\n', "")));
            if i % 9 != 4 {
                pretty.push_str(&format!("{rec}\n"));
            }
        }
        array.push_str("\n]\n");
        compact.push(']');
        body.push_str(
            "\n  ],\n  \"x\": {\"y\": \"]}\"}\n}\n{\"records\": [{\"after\": 1}]}\n[{\"c\": 2}]\njunk here\n{\"a\":",
        );
        let pretty = format!("{{\n{}", &pretty[1..]);
        for (what, doc) in [("array", &array), ("body", &body), ("compact", &compact), ("pretty", &pretty)] {
            assert!(doc.len() > 100 * 4096, "{what}: many blocks");
            assert_eq!(detect(doc.as_bytes()), Layout::Document, "{what}");
            let whole: Vec<(String, u32)> = texts(doc.as_bytes(), &scan_document(doc.as_bytes()));
            assert!(whole.len() > 400, "{what}: {} units", whole.len());
            for block in [4096, 5000, BLOCK] {
                let options = ReadOptions { block_bytes: block, ..ReadOptions::default() };
                let got = read_bounded(&InputFile::bytes(what, doc.clone().into_bytes()), options);
                assert_eq!(shown(&got.units), whole, "{what}, block {block}");
                assert_eq!(got.reader.lines(), doc.lines().count() as u64, "{what}");
            }
        }
    }

    #[test]
    fn records_of_documents_longer_than_the_maximum_are_stood_in_for() {
        let big = format!("{{\"big\": \"{}\", \"t\": [\"]\", \"}}\"]}}", "b".repeat(MAX));
        let doc = format!("[{{\"a\":1}},\n {big} , {{\"a\":2}},\n{big}\n]\n{big}\n{}\n", "j".repeat(MAX + 1));
        let want = vec![
            ("{\"a\":1}".to_string(), 1),
            (TOO_LONG.to_string(), 2),
            ("{\"a\":2}".to_string(), 2),
            (TOO_LONG.to_string(), 3),
            (TOO_LONG.to_string(), 5),
            (TOO_LONG.to_string(), 6),
        ];
        for block in [4096, BLOCK] {
            let got = read_bounded(&InputFile::bytes("doc", doc.clone().into_bytes()), small_max(block, true));
            assert_eq!(shown(&got.units), want, "block {block}");
            assert_eq!(got.reader.lines(), 6);
        }
        // The rest of a body after its array holds no record: passed over.
        let body =
            format!("{{\n \"records\": [{{\"a\":1}}],\n \"pad\": \"{}\"\n}}\n{{\"a\":2}}\n", "z".repeat(2 * MAX));
        let got = read_bounded(&InputFile::bytes("body", body.into_bytes()), small_max(4096, true));
        assert_eq!(shown(&got.units), vec![("{\"a\":1}".to_string(), 2), ("{\"a\":2}".to_string(), 5)]);
        // An element of 8 MiB, gzipped: bounded.
        let mut text = b"[{\"a\":1}, \"".to_vec();
        text.resize(text.len() + (8 << 20), b'0');
        text.extend_from_slice(b"\",\n{\"a\":2}]");
        let got = read_bounded(&InputFile::bytes("doc.gz", gzip(&text)), small_max(4096, true));
        assert_eq!(shown(&got.units), vec![("{\"a\":1}".into(), 1), (TOO_LONG.into(), 1), ("{\"a\":2}".into(), 2)]);
        assert_bounded(&got, 4096, "a gzipped document");
    }

    /// What a gzip decoder recovers of `gz` before it fails, and whether it failed.
    fn decodable(gz: &[u8]) -> (Vec<u8>, bool) {
        let mut d = flate2::read::MultiGzDecoder::new(gz);
        let mut out = Vec::new();
        let mut buf = [0u8; 1024];
        loop {
            match d.read(&mut buf) {
                Ok(0) => return (out, false),
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(_) => return (out, true),
            }
        }
    }

    /// A gzip stream of `text` cut short, and one with a byte corrupted,
    /// each failing part way. The corrupt one is stored (not compressed), so
    /// that the block it breaks is known: the length check (`NLEN`) of its
    /// middle block is flipped.
    fn broken_gzips(text: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
        let gz = gzip(text);
        let mut stored = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::none());
        std::io::Write::write_all(&mut stored, text).unwrap();
        let mut corrupt = stored.finish().unwrap();
        // Stored blocks after the 10-byte header: a header byte, LEN and NLEN, LEN bytes.
        let (mut at, mut blocks) = (10, Vec::new());
        while at + 5 <= corrupt.len() - 8 {
            blocks.push(at);
            at += 5 + u16::from_le_bytes([corrupt[at + 1], corrupt[at + 2]]) as usize;
        }
        assert_eq!(at, corrupt.len() - 8, "stored blocks up to the trailer");
        corrupt[blocks[blocks.len() / 2] + 3] ^= 0xff;
        let cases = vec![("truncated", gz[..gz.len() / 2].to_vec()), ("corrupt", corrupt)];
        for (what, bytes) in &cases {
            let (decoded, failed) = decodable(bytes);
            assert!(failed && decoded.len() < text.len() * 9 / 10, "{what}: fails part way");
        }
        cases
    }

    #[test]
    fn a_gzip_error_names_the_first_line_not_fully_decoded() {
        let (ndjson, _) = ndjson(3000);
        let array =
            format!("[\n{}\n]\n", String::from_utf8(ndjson.clone()).unwrap().lines().collect::<Vec<_>>().join(",\n"));
        for (kind, text) in [("NDJSON", ndjson), ("array", array.into_bytes())] {
            for (what, gz) in broken_gzips(&text) {
                // The first line not fully decoded: the line the decoded text ends in,
                // or the next when it ends with a line end.
                let decoded = decodable(&gz).0;
                let want = memchr::memchr_iter(b'\n', &decoded).count() as u64 + 1;
                for block in [4096, BLOCK] {
                    let options = ReadOptions { block_bytes: block, ..ReadOptions::default() };
                    let got = read_bounded(&InputFile::bytes("in.gz", gz.clone()), options);
                    let (line, message) = got.reader.error().expect("an error");
                    assert!(message.starts_with("truncated or corrupt gzip stream"), "{message}");
                    // As the engine counts: NDJSON lines handed out, then the reader's line.
                    let handed = if kind == "NDJSON" { got.units.len() as u64 } else { 0 };
                    assert_eq!(handed + line as u64, want, "{kind}, {what}, block {block}");
                }
            }
        }
    }

    #[test]
    fn special_files_named_as_inputs_are_read_once_as_streams() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe.json");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
        assert!(made.success());
        let input = InputFile::file(&fifo);
        assert_eq!((input.rereadable(), input.len_hint()), (false, None), "read in one pass, size unknown");
        let writer = std::thread::spawn({
            let fifo = fifo.clone();
            move || std::fs::write(fifo, b"{\"a\":1}\n{\"a\":2}\n")
        });
        let got = read_input(&input, ReadOptions::default()).unwrap();
        writer.join().unwrap().unwrap();
        assert_eq!(got.units, vec![("{\"a\":1}".into(), 1), ("{\"a\":2}".into(), 2)]);
        assert!(got.reader.error().is_none());
    }
}
