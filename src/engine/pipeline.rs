//! The pipeline of one pass: for each input, a thread reads blocks ahead
//! while the rayon pool parses their chunks, and the chunks are merged in
//! input order, so results do not depend on the number of threads.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};

use super::chunk::{Chunk, Gathered, MAX_LINE};
use super::context::Ctx;
use super::outcome::{MAX_PROBLEMS, Pos, Problem};
use super::read::{Work, read_chunk};
use crate::input::{Block, Data, InputFile, Reader, Units};

/// Records of a JSON document parsed as one task.
const CHUNK_UNITS: usize = 2048;

/// Reads the inputs this pass reads into `into`. Bytes (and progress)
/// count each input once, in the pass that counts it.
pub(super) fn read_inputs(cx: &Ctx, files: &[InputFile], out: &mut Gathered) {
    for (file_no, file) in files.iter().enumerate() {
        let file_no = file_no as u32;
        if !cx.reads(file_no) {
            continue;
        }
        let counts = cx.counts(file_no);
        let read = Arc::new(AtomicU64::new(0));
        let file_problem = |line: u32, message: String, out: &mut Gathered| {
            if !counts {
                return;
            }
            let out = &mut out.out;
            out.stats.file_errors += 1;
            out.stats.problems_per_file[file_no as usize] += 1;
            if out.problems.len() < MAX_PROBLEMS {
                out.problems.push(Problem { pos: Pos { file: file_no, line }, message });
            }
        };
        let reader = match Reader::open(file, read.clone(), cx.options.read) {
            Ok(r) => r,
            Err(e) => {
                file_problem(0, format!("cannot read file: {e}"), out);
                continue;
            }
        };
        let mut on_block = |out: &mut Gathered| {
            if let Some(progress) = cx.options.progress
                && counts
            {
                progress(out.out.stats.bytes + read.load(Ordering::Relaxed));
            }
        };
        // NDJSON lines merged so far: the line before the next chunk's first.
        let mut lines = 0u64;
        let mut merge_chunk = |mut chunk: Chunk, out: &mut Gathered| {
            if lines + chunk.lines > MAX_LINE as u64 && lines <= MAX_LINE as u64 {
                let message = format!("more than {MAX_LINE} lines: the lines after it are all numbered {MAX_LINE}");
                file_problem(MAX_LINE, message, out);
            }
            chunk.fix_lines(lines.min(MAX_LINE as u64) as u32);
            lines += chunk.lines;
            chunk.merge_into(cx.plan, file_no, out);
        };
        let reader = parse_file(cx, reader, file_no, &mut merge_chunk, &mut on_block, out);
        if counts {
            out.out.stats.lines += reader.lines() + lines;
            out.out.stats.bytes += read.load(Ordering::Relaxed);
        }
        if let Some((line, message)) = reader.error() {
            // The reader counts from the end of the blocks it handed out.
            let line = (lines + line as u64).min(MAX_LINE as u64) as u32;
            file_problem(line, message.to_string(), out);
        } else if reader.decoded() == 0 {
            file_problem(0, "empty file".to_string(), out);
        }
    }
}

/// Blocks in flight: parsing, or parsed and waiting to be merged in order.
const BLOCKS_IN_FLIGHT: usize = 3;

/// Parses one input: a thread reads (maps, gunzips) blocks ahead while the
/// rayon pool parses chunks of several blocks at once, so no core waits for
/// a block's last chunk or for the next read. Chunks are handed to `merge`
/// in input order, and `on_block` is called after each block. Returns the
/// reader, for its line count and error.
fn parse_file(
    cx: &Ctx,
    reader: Reader,
    file_no: u32,
    merge: &mut dyn FnMut(Chunk, &mut Gathered),
    on_block: &mut dyn FnMut(&mut Gathered),
    out: &mut Gathered,
) -> Reader {
    std::thread::scope(|threads| {
        let (blocks_tx, blocks_rx) = mpsc::sync_channel::<Block>(1);
        let (spare_tx, spare_rx) = mpsc::channel::<Data>();
        let producer = threads.spawn(move || {
            let mut reader = reader;
            loop {
                // Finished blocks come back to be reused (or unmapped) here.
                while let Ok(data) = spare_rx.try_recv() {
                    reader.recycle(data);
                }
                let Some(block) = reader.next_block() else { break };
                if blocks_tx.send(block).is_err() {
                    break;
                }
            }
            reader
        });
        let (done_tx, done_rx) = mpsc::channel::<Parsed>();
        let mut order = InOrder { blocks: VecDeque::new(), first: 0, waiting: BTreeMap::new(), spare: spare_tx };
        rayon::in_place_scope_fifo(|scope| {
            for (b, block) in blocks_rx.iter().enumerate() {
                let block = Arc::new(block);
                let chunks = match &block.units {
                    Units::Records(units) => units.len().div_ceil(CHUNK_UNITS),
                    Units::Lines(ranges) => ranges.len(),
                };
                for c in 0..chunks {
                    let (block, done) = (block.clone(), done_tx.clone());
                    scope.spawn_fifo(move |_| {
                        let work = match &block.units {
                            Units::Records(units) => {
                                Work::Records(&units[c * CHUNK_UNITS..((c + 1) * CHUNK_UNITS).min(units.len())])
                            }
                            Units::Lines(ranges) => Work::Lines(ranges[c].clone()),
                        };
                        // A panic (a bug) is sent on, not swallowed: the
                        // merge waits for every chunk, and would wait forever.
                        let parsed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            read_chunk(cx, &block.data, work, file_no)
                        }));
                        // The block is let go before the chunk is sent, so
                        // the merge of its last chunk finds it unshared.
                        drop(block);
                        let _ = done.send(Parsed { block: b, chunk: c, parsed });
                    });
                }
                order.blocks.push_back(Pending { data: Some(block), chunks, merged: 0 });
                order.advance(merge, on_block, out);
                while order.blocks.len() >= BLOCKS_IN_FLIGHT {
                    let next = done_rx.recv().expect("a chunk is still parsing");
                    order.arrived(next, merge, on_block, out);
                }
                while let Ok(next) = done_rx.try_recv() {
                    order.arrived(next, merge, on_block, out);
                }
            }
            drop(done_tx);
            while let Ok(next) = done_rx.recv() {
                order.arrived(next, merge, on_block, out);
            }
        });
        producer.join().expect("the reader thread does not panic")
    })
}

/// A parsed chunk: chunk `chunk` of block `block` of the input.
struct Parsed {
    block: usize,
    chunk: usize,
    parsed: std::thread::Result<Chunk>,
}

/// A block whose chunks are not all merged yet.
struct Pending {
    /// Taken back for reuse once every chunk is merged.
    data: Option<Arc<Block>>,
    chunks: usize,
    merged: usize,
}

/// Puts parsed chunks back in input order.
struct InOrder {
    blocks: VecDeque<Pending>,
    /// The block number of `blocks[0]`.
    first: usize,
    waiting: BTreeMap<(usize, usize), Chunk>,
    spare: mpsc::Sender<Data>,
}

impl InOrder {
    fn arrived(
        &mut self,
        p: Parsed,
        merge: &mut dyn FnMut(Chunk, &mut Gathered),
        on_block: &mut dyn FnMut(&mut Gathered),
        out: &mut Gathered,
    ) {
        match p.parsed {
            Ok(chunk) => self.waiting.insert((p.block, p.chunk), chunk),
            Err(panic) => std::panic::resume_unwind(panic),
        };
        self.advance(merge, on_block, out);
    }

    /// Merges every chunk whose predecessors are merged.
    fn advance(
        &mut self,
        merge: &mut dyn FnMut(Chunk, &mut Gathered),
        on_block: &mut dyn FnMut(&mut Gathered),
        out: &mut Gathered,
    ) {
        while let Some(front) = self.blocks.front_mut() {
            if front.merged < front.chunks {
                let Some(chunk) = self.waiting.remove(&(self.first, front.merged)) else { break };
                merge(chunk, out);
                front.merged += 1;
                continue;
            }
            if let Some(Ok(block)) = front.data.take().map(Arc::try_unwrap) {
                let _ = self.spare.send(block.data);
            }
            self.blocks.pop_front();
            self.first += 1;
            on_block(out);
        }
    }
}
