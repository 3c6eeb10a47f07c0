//! Streaming writers. Chunks of units are generated and rendered on worker
//! threads and written in order by the calling thread, so memory stays at a
//! few chunks (a few MB each) whatever the dataset size.

use crate::generator::Dataset;
use crate::model::{Event, Table};
use crate::render::render;
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::sync_channel;

/// What a writer produced.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Rows per table, indexed like `Table::ALL`.
    pub rows: [u64; 5],
    /// Bytes written, all files together.
    pub bytes: u64,
    /// Files written, in creation order.
    pub files: Vec<PathBuf>,
}

impl Summary {
    pub fn rows_of(&self, t: Table) -> u64 {
        self.rows[table_index(t)]
    }
    pub fn total_rows(&self) -> u64 {
        self.rows.iter().sum()
    }
}

fn table_index(t: Table) -> usize {
    Table::ALL.iter().position(|&x| x == t).expect("table")
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Layout {
    Split,
    Mixed,
}

/// Output slot of a table in the split layout.
const SPLIT_FILES: [Table; 4] = [
    Table::MicrosoftGraphActivityLogs,
    Table::AADServicePrincipalSignInLogs,
    Table::AADManagedIdentitySignInLogs,
    Table::SigninLogs, // "Other.json": SigninLogs and AuditLogs
];

fn slot(layout: Layout, t: Table) -> usize {
    match (layout, t) {
        (Layout::Mixed, _) => 0,
        (Layout::Split, Table::MicrosoftGraphActivityLogs) => 0,
        (Layout::Split, Table::AADServicePrincipalSignInLogs) => 1,
        (Layout::Split, Table::AADManagedIdentitySignInLogs) => 2,
        (Layout::Split, _) => 3,
    }
}

struct Rendered {
    bufs: Vec<Vec<u8>>,
    rows: [u64; 5],
}

fn render_chunk(ds: &Dataset, c: usize, layout: Layout, outputs: usize) -> Rendered {
    let cfg = ds.config();
    let mut bufs: Vec<Vec<u8>> = (0..outputs).map(|_| Vec::with_capacity(1 << 20)).collect();
    let mut rows = [0u64; 5];
    let mut it = ds.chunk_events(c);
    while let Some(events) = it.next_unit() {
        for ev in events {
            let t = ev.table();
            rows[table_index(t)] += 1;
            render(ev, cfg.shape, cfg.crlf, &mut bufs[slot(layout, t)]);
        }
    }
    Rendered { bufs, rows }
}

fn run(ds: &Dataset, layout: Layout, outs: &mut [File]) -> io::Result<Summary> {
    let chunks = ds.chunks();
    let outputs = outs.len();
    let mut summary = Summary::default();
    let mut emit = |r: Rendered, summary: &mut Summary| -> io::Result<()> {
        for (k, b) in r.bufs.iter().enumerate() {
            outs[k].write_all(b)?;
            summary.bytes += b.len() as u64;
        }
        for (k, n) in r.rows.iter().enumerate() {
            summary.rows[k] += n;
        }
        Ok(())
    };
    let workers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).min(4);
    if workers <= 1 || chunks <= 1 {
        for c in 0..chunks {
            emit(render_chunk(ds, c, layout, outputs), &mut summary)?;
        }
        return Ok(summary);
    }
    let next = AtomicUsize::new(0);
    std::thread::scope(|s| {
        let (tx, rx) = sync_channel::<(usize, Rendered)>(workers * 2);
        for _ in 0..workers {
            let tx = tx.clone();
            let next = &next;
            s.spawn(move || {
                loop {
                    let c = next.fetch_add(1, Ordering::Relaxed);
                    if c >= chunks {
                        break;
                    }
                    if tx.send((c, render_chunk(ds, c, layout, outputs))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let mut pending = BTreeMap::new();
        let mut want = 0;
        for (c, r) in rx.iter() {
            pending.insert(c, r);
            while let Some(r) = pending.remove(&want) {
                if let Err(e) = emit(r, &mut summary) {
                    // Dropping the receiver stops the workers.
                    next.store(chunks, Ordering::Relaxed);
                    return Err(e);
                }
                want += 1;
            }
        }
        Ok(())
    })?;
    Ok(summary)
}

/// Writes one NDJSON file per table into `dir` (created if missing):
/// `MicrosoftGraphActivityLogs.json`, `AADServicePrincipalSignInLogs.json`,
/// `AADManagedIdentitySignInLogs.json` and `Other.json` (SigninLogs + AuditLogs).
pub fn write_split(ds: &Dataset, dir: &Path) -> io::Result<Summary> {
    fs::create_dir_all(dir)?;
    let paths: Vec<PathBuf> = SPLIT_FILES.iter().map(|t| dir.join(t.file_name())).collect();
    let mut files = paths.iter().map(File::create).collect::<io::Result<Vec<_>>>()?;
    let mut summary = run(ds, Layout::Split, &mut files)?;
    for f in &mut files {
        f.flush()?;
    }
    summary.files = paths;
    Ok(summary)
}

/// Writes every table into one NDJSON file, interleaved in (roughly)
/// chronological order, as a single Log Analytics export or storage blob would.
pub fn write_mixed(ds: &Dataset, path: &Path) -> io::Result<Summary> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent)?;
    }
    let mut files = vec![File::create(path)?];
    let mut summary = run(ds, Layout::Mixed, &mut files)?;
    files[0].flush()?;
    summary.files = vec![path.to_path_buf()];
    Ok(summary)
}

/// Renders the whole dataset into memory, one buffer per table (for tests
/// and small datasets only).
pub fn render_all(ds: &Dataset) -> BTreeMap<Table, Vec<u8>> {
    let mut out: BTreeMap<Table, Vec<u8>> = BTreeMap::new();
    let cfg = ds.config();
    for ev in ds.events() {
        let ev: Event = ev;
        render(&ev, cfg.shape, cfg.crlf, out.entry(ev.table()).or_default());
    }
    out
}
