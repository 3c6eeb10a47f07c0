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
//!   is a lone `{`. Read whole; each record's line is the line where it starts.
//!
//! Plain regular files are memory-mapped a block at a time rather than
//! copied into buffers (about 4% less CPU on the benchmark; the wall time
//! was the same), as ripgrep does. Each block's mapping is dropped once the
//! block is parsed, so resident memory stays at a few blocks. As with any
//! memory map, the file must not change while it is read: a file truncated
//! by another process makes the run die with `SIGBUS`, and one rewritten in
//! place can be read inconsistently. For live files, `--no-mmap` (on the
//! command line) or [`ReadOptions::mmap`] `= false` reads with `read()`; so
//! does any file the file system cannot map. Standard input, readers and
//! in-memory bytes are read as streams (bytes are copied into blocks).

use std::fs::File;
use std::io::{self, Read};
use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use memmap2::{Mmap, MmapOptions};

use super::json_scan::string_end;
use super::record::records_body_start;
use super::{InputFile, Source};

/// Bytes per block of NDJSON. 4 MiB ran within 2% of 16 MiB on the 1x
/// benchmark, at 55-63 MiB less peak memory: up to five blocks are mapped
/// (three parsing or waiting to merge, one queued, one being mapped).
pub const BLOCK: usize = 4 << 20;

/// The smallest block size [`ReadOptions::block_bytes`] gives.
const MIN_BLOCK: usize = 4 << 10;

/// How inputs are read. Results do not depend on it.
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
}

impl Default for ReadOptions {
    fn default() -> ReadOptions {
        ReadOptions { block_bytes: BLOCK, mmap: true }
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
    /// The problem, and its line counted from the end of the blocks handed
    /// out (their lines are the parser's to count).
    error: Option<(u32, String)>,
    /// Lines of a JSON document.
    lines: u64,
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
    /// regular file that is not gzip and `options` allow it, else streamed.
    fn open_file(file: &InputFile, read: Arc<AtomicU64>, options: ReadOptions) -> io::Result<Reader> {
        let mut f = File::open(&file.path)?;
        let meta = f.metadata()?;
        let mut head = [0u8; 2];
        // A file the file system cannot map streams too.
        let map = options.mmap
            && meta.is_file()
            && meta.len() >= 2
            && f.read_exact(&mut head).is_ok()
            && head != [0x1f, 0x8b];
        if map {
            let source = Feed::Map { file: f.try_clone()?, len: meta.len(), offset: 0, count: read.clone() };
            let mut reader = Reader::with_source(source, false, options);
            if reader.map_head() {
                return Ok(reader);
            }
        }
        io::Seek::rewind(&mut f)?;
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
        Reader {
            source,
            block: options.block(),
            buf: Vec::new(),
            filled: 0,
            spare: Vec::new(),
            layout: Layout::Unknown,
            eof: false,
            gzip,
            error: None,
            lines: 0,
            decoded: 0,
        }
    }

    /// A mapped file: skips a byte-order mark and decides the layout from
    /// the first block's worth of bytes.
    /// `false` when the file cannot be mapped: the caller streams it.
    fn map_head(&mut self) -> bool {
        let Feed::Map { len, .. } = self.source else { return false };
        let Some(head) = self.map_window(0, (self.block as u64).min(len) as usize, false) else { return false };
        let bom = head.starts_with(b"\xef\xbb\xbf");
        let text = if bom { &head[3..] } else { &head[..] };
        self.layout = detect(text);
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
                self.error = Some((1, format!("read error ({e}); the rest of the file is lost")));
                None
            }
        }
    }

    /// The next block of a mapped file: at least the block size
    /// ([`ReadOptions::block_bytes`]) or the rest of the file, cut after its
    /// last line end.
    fn next_mapped_block(&mut self) -> Option<Block> {
        let Feed::Map { len, offset, .. } = self.source else { return None };
        if self.eof || offset >= len {
            return None;
        }
        if self.layout == Layout::Document {
            // A document is parsed whole.
            let data = self.map_window(offset, (len - offset) as usize, true)?;
            self.finish_mapped(len - offset);
            self.lines = count_lines(&data);
            let units = Units::Records(scan_document(&data));
            return Some(Block { data, units });
        }
        let mut want = self.block as u64;
        let (data, cut) = loop {
            let n = want.min(len - offset);
            let data = self.map_window(offset, n as usize, true)?;
            if offset + n == len {
                break (data, n as usize);
            }
            match memchr::memrchr(b'\n', &data) {
                Some(nl) => break (data, nl + 1),
                // One line longer than a block: map more.
                None => want *= 2,
            }
        };
        let data = match data {
            Data::Mapped { map, start, .. } => Data::Mapped { map, start, end: start + cut },
            owned => owned,
        };
        self.finish_mapped(cut as u64);
        let units = Units::Lines(line_ranges(&data));
        Some(Block { data, units })
    }

    /// Counts `n` more bytes of a mapped file as read.
    fn finish_mapped(&mut self, n: u64) {
        if let Feed::Map { offset, count, .. } = &mut self.source {
            *offset += n;
            count.fetch_add(n, Ordering::Relaxed);
            self.decoded += n;
        }
    }

    /// A problem reading the stream (a truncated gzip member, an I/O error),
    /// and the line it happened on, counted from the end of the blocks
    /// handed out: 1 is the line after their last.
    pub fn error(&self) -> Option<(u32, &str)> {
        self.error.as_ref().map(|(l, m)| (*l, m.as_str()))
    }

    /// Lines of a JSON document read so far (lines of NDJSON blocks are
    /// counted by whoever splits them).
    pub fn lines(&self) -> u64 {
        self.lines
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
            if self.buf.len() < end {
                self.buf.resize(end, 0);
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
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.eof = true;
                    let line = 1 + memchr::memchr_iter(b'\n', &self.buf[..self.filled]).count() as u32;
                    let msg = if self.gzip {
                        format!("truncated or corrupt gzip stream ({e}); the rest of the file is lost")
                    } else {
                        format!("read error ({e}); the rest of the file is lost")
                    };
                    self.error = Some((line, msg));
                }
            }
        }
    }

    /// Takes back a block's buffer for reuse.
    pub fn recycle(&mut self, data: Data) {
        // A mapped block is unmapped here.
        let Data::Owned(mut data) = data else { return };
        if self.spare.len() < 2 {
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
            if self.layout == Layout::Document {
                while !self.eof {
                    let want = self.filled * 2;
                    self.fill(want);
                }
                let mut data = std::mem::take(&mut self.buf);
                data.truncate(self.filled);
                self.filled = 0;
                self.lines = count_lines(&data);
                let units = Units::Records(scan_document(&data));
                return Some(Block { data: Data::Owned(data), units });
            }
        }
        if self.layout == Layout::Document {
            return None;
        }
        let block = self.block;
        let mut want = block.max(self.filled + block / 2);
        let cut = loop {
            self.fill(want);
            if self.eof {
                break self.filled;
            }
            match memchr::memrchr(b'\n', &self.buf[..self.filled]) {
                Some(nl) => break nl + 1,
                // One line longer than a block: read more.
                None => want = self.filled * 2,
            }
        };
        if cut == 0 {
            return None;
        }
        // The partial last line moves to a fresh (or recycled) buffer.
        let rest = self.filled - cut;
        let mut next = self.spare.pop().unwrap_or_default();
        if next.len() < rest {
            next.resize(rest, 0);
        }
        next[..rest].copy_from_slice(&self.buf[cut..self.filled]);
        let mut data = std::mem::replace(&mut self.buf, next);
        self.filled = rest;
        data.truncate(cut);
        let units = Units::Lines(line_ranges(&data));
        Some(Block { data: Data::Owned(data), units })
    }
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

fn count_lines(data: &[u8]) -> u64 {
    let n = memchr::memchr_iter(b'\n', data).count() as u64;
    n + u64::from(!data.is_empty() && !data.ends_with(b"\n"))
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
    let mut s = Scan { data, pos: 0, line: 1, units: Vec::new() };
    loop {
        s.skip_ws();
        if s.pos >= data.len() {
            break;
        }
        if data[s.pos] == b'[' {
            s.pos += 1;
            s.elements();
        } else if let Some(k) = records_body_start(&data[s.pos..]) {
            s.advance_to(s.pos + k);
            s.elements();
            s.skip_value_rest(1);
        } else if data[s.pos] == b'{' {
            // A broken object ends where the next one starts.
            let (start, line) = (s.pos, s.line);
            let end = s.element_end();
            s.advance_to(end);
            s.units.push(Unit { start, end: start + data[start..end].trim_ascii_end().len(), line });
        } else {
            let (start, line) = (s.pos, s.line);
            let end = memchr::memchr(b'\n', &data[start..]).map_or(data.len(), |n| start + n);
            s.advance_to(end);
            s.units.push(Unit { start, end, line });
        }
    }
    s.units
}

struct Scan<'a> {
    data: &'a [u8],
    pos: usize,
    line: u32,
    units: Vec<Unit>,
}

impl Scan<'_> {
    fn skip_ws(&mut self) {
        while let Some(&b) = self.data.get(self.pos) {
            if !b.is_ascii_whitespace() {
                break;
            }
            if b == b'\n' {
                self.line += 1;
            }
            self.pos += 1;
        }
    }

    fn advance_to(&mut self, end: usize) {
        self.line += memchr::memchr_iter(b'\n', &self.data[self.pos..end]).count() as u32;
        self.pos = end;
    }

    /// Array elements up to the closing `]`: one unit each.
    fn elements(&mut self) {
        loop {
            self.skip_ws();
            match self.data.get(self.pos) {
                None => return,
                Some(b']') => {
                    self.pos += 1;
                    return;
                }
                Some(b',') => self.pos += 1,
                Some(_) => {
                    let (start, line) = (self.pos, self.line);
                    let mut end = self.element_end();
                    if end == start {
                        // A stray `}`: a unit of its own, so it is reported.
                        end = start + 1;
                    }
                    self.advance_to(end);
                    let trimmed = start + self.data[start..end].trim_ascii_end().len();
                    self.units.push(Unit { start, end: trimmed, line });
                }
            }
        }
    }

    /// Just past the string whose opening quote is at `quote`, or the end
    /// of the data when the string is not closed.
    fn past_string(&self, quote: usize) -> usize {
        string_end(self.data, quote).map_or(self.data.len(), |end| end + 1)
    }

    /// Where the element at `pos` ends: after its closing bracket, at a
    /// `,`, `]` or `}` after a scalar, or, when it is broken, where the next
    /// record starts or at the end of the data ([`crate::input::record::element_end`]).
    fn element_end(&self) -> usize {
        match crate::input::record::element_end(self.data, self.pos) {
            crate::input::record::ElementEnd::At(end) => end,
            crate::input::record::ElementEnd::Broken(next) => next.unwrap_or(self.data.len()),
        }
    }

    /// Skips to just after the bracket that closes `depth` open ones (with
    /// `depth` 0: the value at `pos`, which opens with a bracket).
    fn skip_value_rest(&mut self, depth: usize) {
        let (mut depth, mut i) = (depth, self.pos);
        while let Some(&b) = self.data.get(i) {
            i += 1;
            match b {
                b'"' => i = self.past_string(i - 1),
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        break;
                    }
                }
                _ => {}
            }
        }
        self.advance_to(i.min(self.data.len()));
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
                let small = ReadOptions { block_bytes: 4096, mmap };
                let read = read_input(input, small).unwrap();
                assert_eq!(read.units, want, "{input:?} mmap {mmap}");
                // Each block is cut at a line end within 4 KiB (a stream's
                // first within 6 KiB): it holds more than 4 KiB less a line.
                let line = want.iter().map(|(l, _)| l.len() + 1).max().unwrap();
                let (fewest, most) = ((text.len() - 2048).div_ceil(4096), text.len().div_ceil(4096 - line));
                assert!((fewest..=most).contains(&read.blocks), "{} blocks, not {fewest}..={most}", read.blocks);
                let tiny = read_input(input, ReadOptions { block_bytes: 1, mmap }).unwrap();
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
}
