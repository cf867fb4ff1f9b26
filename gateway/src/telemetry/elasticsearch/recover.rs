//! Opening the spool: take the directory's lock, find the segments, cut off a torn last
//! line, and resume at the recorded cursor (clamped to what exists).

use std::{
    collections::VecDeque,
    fs::{self, File, OpenOptions},
    io::{self, BufWriter},
    path::Path,
};

use super::{
    segment::{CURSOR, LOCK, SUFFIX, Segment, scan, segment_path, with_context},
    spool::{Pos, Spool},
};

impl Spool {
    /// Opens (or creates) the spool in `dir` with a budget of `max_bytes`, recovering what
    /// an earlier process left. Fails when another process holds the directory.
    pub fn open(dir: &Path, max_bytes: u64) -> io::Result<Self> {
        fs::create_dir_all(dir).map_err(|e| with_context(e, "cannot create", dir))?;
        let lock_path = dir.join(LOCK);
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| with_context(e, "cannot open", &lock_path))?;
        if let Err(e) = lock.try_lock() {
            return Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                format!(
                    "{} is in use by another ferry process ({e}); give each process its own spool_dir",
                    dir.display()
                ),
            ));
        }
        let mut seqs: Vec<u64> = fs::read_dir(dir)
            .map_err(|e| with_context(e, "cannot list", dir))?
            .filter_map(|entry| {
                let name = entry.ok()?.file_name().into_string().ok()?;
                name.strip_suffix(SUFFIX)?.parse().ok()
            })
            .collect();
        seqs.sort_unstable();
        let mut segments = VecDeque::new();
        for seq in seqs {
            let path = segment_path(dir, seq);
            let mut file = OpenOptions::new()
                .read(true)
                .write(true)
                .open(&path)
                .map_err(|e| with_context(e, "cannot open", &path))?;
            let len = file.metadata()?.len();
            let (complete, events) = scan(&mut file, len)?;
            if complete < len {
                // A torn last line from a crash mid-write: cut it off.
                file.set_len(complete)?;
            }
            segments.push_back(Segment {
                seq,
                bytes: complete,
                events,
            });
        }
        let cursor = Self::read_cursor(dir);
        let acked = match (segments.front().copied(), segments.back().copied()) {
            (Some(first), Some(last)) => match cursor {
                Some((seq, offset)) if seq >= first.seq && seq <= last.seq => {
                    match segments.iter().find(|s| s.seq == seq) {
                        Some(seg) => {
                            let offset = offset.min(seg.bytes);
                            let path = segment_path(dir, seq);
                            let (offset, index) = scan(&mut File::open(&path)?, offset)?;
                            Pos { seq, offset, index }
                        }
                        None => Pos {
                            seq: segments
                                .iter()
                                .find(|s| s.seq > seq)
                                .map_or(last.seq, |s| s.seq),
                            ..Pos::default()
                        },
                    }
                }
                Some((seq, _)) if seq > last.seq => Pos {
                    seq: last.seq,
                    offset: last.bytes,
                    index: last.events,
                },
                _ => Pos {
                    seq: first.seq,
                    ..Pos::default()
                },
            },
            _ => {
                let seq = cursor.map_or(1, |(seq, _)| seq + 1);
                segments.push_back(Segment {
                    seq,
                    bytes: 0,
                    events: 0,
                });
                Pos {
                    seq,
                    ..Pos::default()
                }
            }
        };
        let head_seq = segments.back().map_or(1, |s| s.seq);
        let head_path = segment_path(dir, head_seq);
        let head = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&head_path)
            .map_err(|e| with_context(e, "cannot open", &head_path))?;
        let mut spool = Self {
            dir: dir.to_owned(),
            max_bytes,
            segment_bytes: (max_bytes / 8).clamp(4096, 64 * 1024 * 1024),
            total_bytes: segments.iter().map(|s| s.bytes).sum(),
            segments,
            head: BufWriter::with_capacity(64 * 1024, head),
            read: acked,
            acked,
            dirty: false,
            _lock: lock,
        };
        spool.cleanup()?;
        spool.write_cursor()?;
        Ok(spool)
    }

    fn read_cursor(dir: &Path) -> Option<(u64, u64)> {
        let text = fs::read_to_string(dir.join(CURSOR)).ok()?;
        let mut parts = text.split_whitespace();
        Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
    }
}
