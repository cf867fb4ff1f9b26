//! [`Spool`]: the bounded on-disk queue every event passes through on its way to
//! Elasticsearch, so an outage (or a restart during one) delays logs but loses none.
//!
//! Layout of the spool directory:
//! - `<seq>.spool` segment files (20-digit sequence numbers, oldest first), one event per
//!   line: `<event id> TAB <document JSON> LF`. Only the newest segment (the head) is
//!   appended to; a new one starts when it reaches an eighth of the budget.
//! - `cursor`: `<seq> <offset> <index>` of the first event Elasticsearch has not confirmed
//!   (rewritten atomically after each bulk request). Segments wholly before it are deleted.
//! - `lock`: held (advisory `flock`) while a ferry process uses the directory.
//!
//! Events are read in append order ([`Spool::read_batch`]) and confirmed with
//! [`Spool::commit`]. A crash between a bulk request and its commit re-sends a batch on the
//! next start; the deterministic document ids make Elasticsearch refuse the duplicates.
//! When the files exceed the budget the oldest segment is deleted and the events in it that
//! were not yet handed out are counted as dropped ([`Spool::append`] returns the count).
//! A torn last line (a crash mid-write) is cut off when the spool is opened.

use std::{
    collections::VecDeque,
    fs::{self, File, OpenOptions},
    io::{self, BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write},
    path::{Path, PathBuf},
};

pub use super::segment::{Batch, Entry, Pos};
use super::segment::{CURSOR, Segment, segment_path, with_context};

/// The on-disk spool (see the module documentation).
#[derive(Debug)]
pub struct Spool {
    pub(super) dir: PathBuf,
    pub(super) max_bytes: u64,
    pub(super) segment_bytes: u64,
    pub(super) segments: VecDeque<Segment>,
    pub(super) head: BufWriter<File>,
    pub(super) read: Pos,
    pub(super) acked: Pos,
    pub(super) total_bytes: u64,
    pub(super) dirty: bool,
    pub(super) _lock: File,
}

impl Spool {
    pub(super) fn write_cursor(&self) -> io::Result<()> {
        let tmp = self.dir.join(format!("{CURSOR}.tmp"));
        let a = self.acked;
        fs::write(&tmp, format!("{} {} {}\n", a.seq, a.offset, a.index))?;
        fs::rename(&tmp, self.dir.join(CURSOR))
    }

    pub(super) fn head_segment(&self) -> Segment {
        // The constructor always leaves at least one segment.
        self.segments.back().copied().unwrap_or(Segment {
            seq: 1,
            bytes: 0,
            events: 0,
        })
    }

    pub(super) fn start_of(seq: u64) -> Pos {
        Pos {
            seq,
            ..Pos::default()
        }
    }

    /// Appends one encoded event ([`Entry::encode`]); returns how many of the oldest
    /// events were dropped to stay within the budget.
    pub fn append(&mut self, line: &[u8]) -> io::Result<u64> {
        let head = self.head_segment();
        if head.bytes > 0 && head.bytes + line.len() as u64 > self.segment_bytes {
            self.roll()?;
        }
        self.head.write_all(line)?;
        if let Some(head) = self.segments.back_mut() {
            head.bytes += line.len() as u64;
            head.events += 1;
        }
        self.total_bytes += line.len() as u64;
        self.dirty = true;
        self.enforce_budget()
    }

    /// Drops the oldest segments while the spool is over its budget; returns the number of
    /// events dropped that had not been handed out.
    pub fn enforce_budget(&mut self) -> io::Result<u64> {
        let mut dropped = 0;
        while self.total_bytes > self.max_bytes {
            if self.segments.len() == 1 {
                self.roll()?;
            }
            dropped += self.drop_oldest()?;
        }
        Ok(dropped)
    }

    fn roll(&mut self) -> io::Result<()> {
        self.head.flush()?;
        let seq = self.head_segment().seq + 1;
        let path = segment_path(&self.dir, seq);
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| with_context(e, "cannot create", &path))?;
        self.head = BufWriter::with_capacity(64 * 1024, file);
        self.segments.push_back(Segment {
            seq,
            bytes: 0,
            events: 0,
        });
        self.cleanup()
    }

    fn drop_oldest(&mut self) -> io::Result<u64> {
        let Some(oldest) = self.segments.pop_front() else {
            return Ok(0);
        };
        let next = Self::start_of(self.segments.front().map_or(oldest.seq + 1, |s| s.seq));
        let lost = if self.read.seq == oldest.seq {
            oldest.events.saturating_sub(self.read.index)
        } else if self.read.seq < oldest.seq {
            oldest.events
        } else {
            0
        };
        if self.read.seq <= oldest.seq {
            self.read = next;
        }
        if self.acked.seq <= oldest.seq {
            self.acked = next;
            self.write_cursor()?;
        }
        self.total_bytes -= oldest.bytes;
        let path = segment_path(&self.dir, oldest.seq);
        fs::remove_file(&path).map_err(|e| with_context(e, "cannot remove", &path))?;
        Ok(lost)
    }

    /// Deletes segments (never the head) that are wholly confirmed.
    pub(super) fn cleanup(&mut self) -> io::Result<()> {
        while self.segments.len() > 1 {
            let Some(front) = self.segments.front().copied() else {
                break;
            };
            let done = self.acked.seq > front.seq
                || (self.acked.seq == front.seq && self.acked.offset >= front.bytes);
            if !done {
                break;
            }
            self.segments.pop_front();
            self.total_bytes -= front.bytes;
            let next = self.segments.front().map_or(front.seq + 1, |s| s.seq);
            if self.acked.seq <= front.seq {
                self.acked = Self::start_of(next);
            }
            if self.read.seq <= front.seq {
                self.read = Self::start_of(next);
            }
            let path = segment_path(&self.dir, front.seq);
            fs::remove_file(&path).map_err(|e| with_context(e, "cannot remove", &path))?;
        }
        Ok(())
    }

    /// Hands out up to `max_events` events and about `max_bytes` bytes (at least one event
    /// when any is unread), oldest first, and moves the read position past them.
    pub fn read_batch(&mut self, max_events: usize, max_bytes: usize) -> io::Result<Batch> {
        self.head.flush()?;
        let mut batch = Batch {
            end: self.read,
            ..Batch::default()
        };
        let mut pos = self.read;
        'segments: for seg in self.segments.clone() {
            if seg.seq < pos.seq {
                continue;
            }
            if seg.seq > pos.seq {
                pos = Self::start_of(seg.seq);
            }
            if pos.offset >= seg.bytes {
                continue;
            }
            let path = segment_path(&self.dir, seg.seq);
            let mut file = File::open(&path).map_err(|e| with_context(e, "cannot read", &path))?;
            file.seek(SeekFrom::Start(pos.offset))?;
            let mut reader = BufReader::new(file.take(seg.bytes - pos.offset));
            loop {
                if batch.entries.len() >= max_events {
                    break 'segments;
                }
                let mut line = Vec::new();
                let n = reader.read_until(b'\n', &mut line)?;
                if n == 0 || line.last() != Some(&b'\n') {
                    break;
                }
                if !batch.entries.is_empty() && batch.bytes + n > max_bytes {
                    break 'segments;
                }
                pos.offset += n as u64;
                pos.index += 1;
                batch.bytes += n;
                batch.entries.push(Entry::decode(line));
                batch.end = pos;
            }
        }
        self.read = batch.end.max(self.read);
        Ok(batch)
    }

    /// Confirms everything before `end`: deletes segments wholly before it and records the
    /// position for the next start. Positions in segments dropped since are ignored.
    pub fn commit(&mut self, end: Pos) -> io::Result<()> {
        if end > self.acked {
            self.acked = end;
        }
        self.cleanup()?;
        self.write_cursor()
    }

    /// Writes buffered events to the file (readable by other processes; not yet durable).
    pub fn flush(&mut self) -> io::Result<()> {
        self.head.flush()
    }

    /// Writes buffered events and waits until they are on disk.
    pub fn sync(&mut self) -> io::Result<()> {
        self.head.flush()?;
        if self.dirty {
            self.head.get_ref().sync_data()?;
            self.dirty = false;
        }
        Ok(())
    }

    fn events_from(&self, pos: Pos) -> u64 {
        self.segments
            .iter()
            .filter(|s| s.seq >= pos.seq)
            .map(|s| {
                if s.seq == pos.seq {
                    s.events.saturating_sub(pos.index)
                } else {
                    s.events
                }
            })
            .sum()
    }

    /// Events not yet confirmed by Elasticsearch (handed out or not).
    pub fn pending_events(&self) -> u64 {
        self.events_from(self.acked)
    }

    /// Events not yet handed out.
    pub fn unread_events(&self) -> u64 {
        self.events_from(self.read)
    }

    /// Bytes not yet handed out.
    pub fn unread_bytes(&self) -> u64 {
        self.segments
            .iter()
            .filter(|s| s.seq >= self.read.seq)
            .map(|s| {
                if s.seq == self.read.seq {
                    s.bytes.saturating_sub(self.read.offset)
                } else {
                    s.bytes
                }
            })
            .sum()
    }

    /// Bytes of the segment files.
    pub fn bytes(&self) -> u64 {
        self.total_bytes
    }

    /// The position after the last appended event.
    pub fn end(&self) -> Pos {
        let head = self.head_segment();
        Pos {
            seq: head.seq,
            offset: head.bytes,
            index: head.events,
        }
    }

    /// The first event not yet confirmed.
    pub fn acked(&self) -> Pos {
        self.acked
    }

    /// The spool directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}
