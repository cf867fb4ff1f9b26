//! The spool's building blocks: positions, entries (one line per event), batches, segment
//! bookkeeping and the file helpers shared by the spool and its recovery.

use std::{
    fs::File,
    io::{self, BufRead, BufReader, Read, Seek, SeekFrom},
    path::{Path, PathBuf},
};

pub(super) const SUFFIX: &str = ".spool";
pub(super) const CURSOR: &str = "cursor";
pub(super) const LOCK: &str = "lock";

/// A place in the spool: segment `seq`, byte `offset` in it, with `index` events before it
/// in that segment. Positions order by segment, then offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Pos {
    /// The segment's sequence number.
    pub seq: u64,
    /// Bytes into the segment.
    pub offset: u64,
    /// Events into the segment.
    pub index: u64,
}

/// One spooled event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The document id (`event.id`); empty when the line was corrupt.
    pub id: String,
    /// The document JSON (or the corrupt line).
    pub doc: Vec<u8>,
}

impl Entry {
    /// The spool line for an event: `id TAB doc LF`.
    pub fn encode(id: &str, doc: &[u8]) -> Vec<u8> {
        let mut line = Vec::with_capacity(id.len() + doc.len() + 2);
        line.extend_from_slice(id.as_bytes());
        line.push(b'\t');
        line.extend_from_slice(doc);
        line.push(b'\n');
        line
    }

    pub(super) fn decode(mut line: Vec<u8>) -> Self {
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        let valid_id = |id: &[u8]| {
            !id.is_empty()
                && id.len() <= 512
                && id
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
        };
        match line.iter().position(|b| *b == b'\t') {
            Some(tab) if valid_id(&line[..tab]) => {
                let doc = line.split_off(tab + 1);
                line.truncate(tab);
                Self {
                    id: String::from_utf8(line).unwrap_or_default(),
                    doc,
                }
            }
            _ => Self {
                id: String::new(),
                doc: line,
            },
        }
    }
}

/// Events handed out for one bulk request.
#[derive(Debug, Default)]
pub struct Batch {
    /// The events, in spool order.
    pub entries: Vec<Entry>,
    /// Where the batch ends: pass to [`Spool::commit`] once Elasticsearch has it all.
    pub end: Pos,
    /// The spool bytes of the batch.
    pub bytes: usize,
}

/// One segment file: its sequence number, bytes and events.
#[derive(Debug, Clone, Copy)]
pub(super) struct Segment {
    pub(super) seq: u64,
    pub(super) bytes: u64,
    pub(super) events: u64,
}

/// The file of segment `seq`.
pub(super) fn segment_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("{seq:020}{SUFFIX}"))
}

/// `e` with what was done to which file.
pub(super) fn with_context(e: io::Error, what: &str, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{what} {}: {e}", path.display()))
}

/// Counts the lines of `file` in its first `limit` bytes and returns (bytes up to and
/// including the last newline, lines).
pub(super) fn scan(file: &mut File, limit: u64) -> io::Result<(u64, u64)> {
    file.seek(SeekFrom::Start(0))?;
    let mut reader = BufReader::with_capacity(64 * 1024, file.take(limit));
    let (mut pos, mut complete, mut lines) = (0u64, 0u64, 0u64);
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            break;
        }
        for (i, b) in buf.iter().enumerate() {
            if *b == b'\n' {
                lines += 1;
                complete = pos + i as u64 + 1;
            }
        }
        let n = buf.len();
        pos += n as u64;
        reader.consume(n);
    }
    Ok((complete, lines))
}
