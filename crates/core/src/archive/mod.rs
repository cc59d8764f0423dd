//! Catch-up recording on disk: a bounded ring of MPEG-TS segments per channel, its
//! time index, eviction, crash recovery and the lookups that serve a past span.
//!
//! # Layout
//!
//! ```text
//! <root>/<channel_id>/<start_ms>-<duration_ms>[-d].ts
//! ```
//!
//! One file per segment. `channel_id` is the channel's `i64` id in decimal (negative
//! ids are fine: `-7`). `start_ms` is the Unix millisecond at which the segment's first
//! byte arrived (wall clock, may be negative before 1970), `duration_ms` its wall
//! duration; `-d` marks a segment after a gap or discontinuity (engine down, link
//! switch). A gap is simply time without a segment: the next segment starts later
//! than the previous one's start + duration. Times are kept to the millisecond.
//!
//! The directory listing *is* the index; there is no index file to corrupt. A segment
//! is written to `<name>.part`, its data fsync'd, then renamed into place, so a crash
//! or `kill -9` loses at most the segment being written. [`Archive::open`] rebuilds the
//! in-memory index from the listing and cleans up: it deletes `.part` files, files in
//! a channel directory whose names do not parse (or are not written exactly as this
//! module writes them), empty files, and `.trash-*` directories left by
//! [`Archive::remove_channel`]. Entries of the root that are not channel directories
//! and sub-directories of channel directories are left alone (logged). The directory
//! itself is not fsync'd after the rename: after a power cut (not a process crash) the
//! newest renames may be lost, and their `.part` files are then cleaned up on open.
//!
//! Paths are only ever built from parsed integers, and a name read from disk counts
//! only when it round-trips exactly, so nothing on disk or on the network can steer a
//! path outside `<root>/<channel_id>/`.
//!
//! # Concurrency
//!
//! [`Archive`] is shared in an `Arc` by the recorders and the web handlers; all calls
//! are synchronous std::fs (callers use `spawn_blocking`). One mutex guards the index
//! and is held only for map updates and the rename that publishes a segment, never
//! while a segment's data is written or evicted files are deleted.
//!
//! Eviction may delete a file that a reader holds in a [`Span`]. Readers open each
//! file when they reach it: a file already open stays readable after unlink (Unix),
//! and a reader that fails to open an evicted file should just end the stream early.

mod index;
mod layout;
#[cfg(test)]
mod tests;

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use jiff::Timestamp;
use tracing::{debug, info, warn};

use index::{Entry, Index, Removed};

/// How much the ring may hold. Limits are enforced after every append (and on open,
/// should they have shrunk); the segment just appended is never evicted by its own
/// append, so each recording channel keeps at least its newest segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_bytes_per_channel: u64,
    pub max_total_bytes: u64,
}

/// What the recorder knows about a finished segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentMeta {
    /// Wall-clock arrival of the segment's first byte.
    pub start: Timestamp,
    /// Wall-clock duration (kept to the millisecond).
    pub duration: Duration,
    /// The segment follows a gap or discontinuity.
    pub discontinuity: bool,
}

/// A segment in the archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSegment {
    pub start: Timestamp,
    pub duration: Duration,
    pub discontinuity: bool,
    /// File size in bytes.
    pub len: u64,
    pub path: PathBuf,
}

impl StoredSegment {
    /// `start + duration`.
    pub fn end(&self) -> Timestamp {
        self.start
            .checked_add(self.duration)
            .unwrap_or(Timestamp::MAX)
    }
}

/// Consecutive segments to serve as one byte stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    pub segments: Vec<StoredSegment>,
    /// Sum of the segments' lengths.
    pub len: u64,
}

/// A live window of a channel's ring (see [`Archive::window_segments`]).
#[derive(Debug, Clone)]
pub struct Window {
    /// Media sequence number of the first segment.
    pub first_sequence: u64,
    /// Discontinuities before the first segment (EXT-X-DISCONTINUITY-SEQUENCE).
    pub discontinuity_sequence: u64,
    pub segments: Vec<StoredSegment>,
}

impl Span {
    /// Where byte `offset` of the concatenated stream lies: `(segment index, offset
    /// in that file)`. `None` at or past the end.
    pub fn locate(&self, offset: u64) -> Option<(usize, u64)> {
        let mut before = 0u64;
        for (i, segment) in self.segments.iter().enumerate() {
            let end = before.saturating_add(segment.len);
            if offset < end {
                return Some((i, offset - before));
            }
            before = end;
        }
        None
    }
}

/// One channel's share of the archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelSummary {
    pub id: i64,
    pub segments: usize,
    pub bytes: u64,
    /// Start of the oldest segment.
    pub oldest: Timestamp,
    /// End of the newest segment.
    pub newest: Timestamp,
}

/// A segment could not be stored. The index is as it was before the call and no
/// `.part` file is left behind.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// The disk, a quota or the file size limit is exhausted (ENOSPC, EDQUOT, EFBIG).
    #[error("archive disk full writing {}: {source}", path.display())]
    DiskFull { path: PathBuf, source: io::Error },
    /// Any other I/O failure.
    #[error("archive I/O error on {}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
}

impl ArchiveError {
    /// Sorts an I/O error on `path` into [`ArchiveError::DiskFull`] or [`ArchiveError::Io`].
    pub fn from_io(path: &Path, source: io::Error) -> Self {
        let path = path.to_path_buf();
        if is_disk_full(&source) {
            ArchiveError::DiskFull { path, source }
        } else {
            ArchiveError::Io { path, source }
        }
    }

    /// The underlying I/O error.
    pub fn io_error(&self) -> &io::Error {
        match self {
            ArchiveError::DiskFull { source, .. } | ArchiveError::Io { source, .. } => source,
        }
    }

    /// The file or directory the failure was on.
    pub fn path(&self) -> &Path {
        match self {
            ArchiveError::DiskFull { path, .. } | ArchiveError::Io { path, .. } => path,
        }
    }
}

/// Out of space in one of its forms: no space left (ENOSPC), over quota (EDQUOT),
/// over the file size limit (EFBIG).
pub fn is_disk_full(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded | io::ErrorKind::FileTooLarge
    )
}

/// The on-disk ring of recorded segments; see the module documentation.
#[derive(Debug)]
pub struct Archive {
    root: PathBuf,
    limits: Limits,
    /// Held for map updates (and the rename publishing a segment), never across the
    /// write of a segment's data or the deletion of files.
    index: Mutex<Index>,
    /// Makes trash directory names unique within this process.
    trash_seq: AtomicU64,
}

impl Archive {
    /// Opens (creating if needed) the archive at `root`: scans every channel
    /// directory, rebuilds the index, removes leftovers (see the module doc) and
    /// evicts down to `limits`.
    pub fn open(root: &Path, limits: Limits) -> io::Result<Archive> {
        fs::create_dir_all(root).map_err(|e| with_path(root, e))?;
        let mut index = Index::default();
        for entry in fs::read_dir(root).map_err(|e| with_path(root, e))? {
            let entry = entry.map_err(|e| with_path(root, e))?;
            let path = entry.path();
            let file_type = entry.file_type().map_err(|e| with_path(&path, e))?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(layout::TRASH_PREFIX) && file_type.is_dir() {
                if let Err(e) = fs::remove_dir_all(&path) {
                    warn!(path = %path.display(), error = %e, "archive: cannot delete trash");
                }
                continue;
            }
            match layout::parse_channel_dir(&name) {
                Some(channel) if file_type.is_dir() => scan_channel(&path, channel, &mut index)?,
                _ => warn!(path = %path.display(), "archive: not a channel directory, left alone"),
            }
        }
        let archive = Archive {
            root: root.to_path_buf(),
            limits,
            index: Mutex::new(Index::default()),
            trash_seq: AtomicU64::new(0),
        };
        let evicted = index.evict(&limits, None);
        info!(
            root = %root.display(),
            channels = index.channels.len(),
            bytes = index.total_bytes,
            evicted = evicted.len(),
            "archive opened"
        );
        *archive.lock() = index;
        archive.delete_all(&evicted);
        Ok(archive)
    }

    /// The directory the archive lives in.
    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Stores a finished segment (the parts of `data` concatenated), then evicts the
    /// oldest segments beyond the limits: first this channel's beyond
    /// `max_bytes_per_channel`, then across all channels beyond `max_total_bytes`.
    /// A segment with the same start millisecond as a stored one replaces it (a
    /// recorder bug really: re-appending exactly the start and duration of a segment
    /// being evicted at that moment could lose the new file to the pending delete). Empty
    /// `data` stores nothing (an empty file would be discarded on open anyway).
    /// On error nothing changed: the index is as it was and no `.part` is left.
    pub fn append(
        &self,
        channel: i64,
        meta: &SegmentMeta,
        data: &[Bytes],
    ) -> Result<(), ArchiveError> {
        let start_ms = layout::floor_ms(meta.start);
        let duration_ms = u64::try_from(meta.duration.as_millis()).unwrap_or(u64::MAX);
        let dir = self.channel_dir(channel);
        let name = layout::segment_name(start_ms, duration_ms, meta.discontinuity);
        let path = dir.join(&name);
        if layout::end_ms(start_ms, duration_ms).is_none() {
            let e = io::Error::new(
                io::ErrorKind::InvalidInput,
                "segment ends beyond the representable time range",
            );
            return Err(ArchiveError::from_io(&path, e));
        }
        let len: u64 = data.iter().map(|part| part.len() as u64).sum();
        if len == 0 {
            debug!(channel, start_ms, "archive: empty segment not stored");
            return Ok(());
        }
        fs::create_dir_all(&dir).map_err(|e| ArchiveError::from_io(&dir, e))?;
        let part = dir.join(format!("{name}{}", layout::PART_SUFFIX));
        if let Err(e) = write_part(&part, data) {
            remove_quietly(&part);
            return Err(ArchiveError::from_io(&part, e));
        }
        let entry = Entry {
            duration_ms,
            discontinuity: meta.discontinuity,
            len,
        };
        let (replaced, evicted) = {
            let mut index = self.lock();
            // Renamed under the lock so that the directory and the index change
            // together (remove_channel moves the directory away under the same lock).
            if let Err(e) = fs::rename(&part, &path) {
                drop(index);
                remove_quietly(&part);
                return Err(ArchiveError::from_io(&path, e));
            }
            let replaced = index.insert(channel, start_ms, entry);
            let evicted = index.evict(&self.limits, Some((channel, start_ms)));
            (replaced, evicted)
        };
        if let Some(old) = replaced {
            let old_name = layout::segment_name(start_ms, old.duration_ms, old.discontinuity);
            // Same name: the rename already replaced the old file.
            if old_name != name {
                remove_quietly(&dir.join(old_name));
            }
        }
        if !evicted.is_empty() {
            debug!(
                channel,
                evicted = evicted.len(),
                "archive: evicted oldest segments"
            );
        }
        self.delete_all(&evicted);
        Ok(())
    }

    /// Drops the channel's segments that end at or before `older_than` (retention:
    /// the caller passes now − days).
    pub fn expire(&self, channel: i64, older_than: Timestamp) {
        let expired = self.lock().expire(channel, layout::floor_ms(older_than));
        if !expired.is_empty() {
            debug!(
                channel,
                expired = expired.len(),
                "archive: expired segments"
            );
        }
        self.delete_all(&expired);
    }

    /// The segments to serve for `[from, to)`: from the one containing `from` (or, if
    /// `from` falls in a gap, the first starting after it) through every segment
    /// starting before `to`. `None` when no segment overlaps `[from, to)`.
    pub fn span(&self, channel: i64, from: Timestamp, to: Timestamp) -> Option<Span> {
        let found = self
            .lock()
            .span(channel, layout::floor_ms(from), layout::ceil_ms(to));
        if found.is_empty() {
            return None;
        }
        let dir = self.channel_dir(channel);
        let segments: Vec<StoredSegment> = found
            .into_iter()
            .map(|(start_ms, entry)| stored(&dir, start_ms, entry))
            .collect();
        let len = segments.iter().map(|s| s.len).sum();
        Some(Span { segments, len })
    }

    /// The segments of a live HLS window: every one ending after `from`, with the
    /// media sequence number of the first (segments are numbered in recording
    /// order, stable while the process runs) and the discontinuities before it.
    pub fn window_segments(&self, channel: i64, from: Timestamp) -> Option<Window> {
        let from_ms = layout::floor_ms(from);
        let (first_sequence, discontinuity_sequence, found) = {
            let index = self.lock();
            let ch = index.channel(channel)?;
            let (removed, removed_disc) = index.removed.get(&channel).copied().unwrap_or_default();
            let mut before = 0u64;
            let mut disc_before = 0u64;
            let mut found = Vec::new();
            for (&start, &entry) in &ch.segments {
                if entry.end_ms(start) <= from_ms {
                    before += 1;
                    disc_before += u64::from(entry.discontinuity);
                } else {
                    found.push((start, entry));
                }
            }
            (removed + before, removed_disc + disc_before, found)
        };
        if found.is_empty() {
            return None;
        }
        let dir = self.channel_dir(channel);
        Some(Window {
            first_sequence,
            discontinuity_sequence,
            segments: found
                .into_iter()
                .map(|(start_ms, entry)| stored(&dir, start_ms, entry))
                .collect(),
        })
    }

    /// Oldest start and newest end of the channel's recording.
    pub fn window(&self, channel: i64) -> Option<(Timestamp, Timestamp)> {
        let index = self.lock();
        let ch = index.channel(channel)?;
        let (&first, _) = ch.segments.first_key_value()?;
        let (&last, entry) = ch.segments.last_key_value()?;
        Some((layout::ts(first), layout::ts(entry.end_ms(last))))
    }

    /// Whether some segment of the channel contains `t`.
    pub fn covers(&self, channel: i64, t: Timestamp) -> bool {
        self.lock()
            .channel(channel)
            .is_some_and(|ch| ch.containing(layout::floor_ms(t)).is_some())
    }

    pub fn channel_bytes(&self, channel: i64) -> u64 {
        self.lock().channel(channel).map_or(0, |ch| ch.bytes)
    }

    pub fn total_bytes(&self) -> u64 {
        self.lock().total_bytes
    }

    /// Every channel with at least one segment, by id.
    pub fn channels(&self) -> Vec<ChannelSummary> {
        let index = self.lock();
        index
            .channels
            .iter()
            .filter_map(|(&id, ch)| {
                let (&first, _) = ch.segments.first_key_value()?;
                let (&last, entry) = ch.segments.last_key_value()?;
                Some(ChannelSummary {
                    id,
                    segments: ch.segments.len(),
                    bytes: ch.bytes,
                    oldest: layout::ts(first),
                    newest: layout::ts(entry.end_ms(last)),
                })
            })
            .collect()
    }

    /// Deletes the channel's recording and its directory. The directory is first
    /// renamed to a `.trash-*` name (with the index update, under the lock, so a
    /// concurrent append either lands before and is deleted too, or fails), then
    /// deleted; a trash directory left by a crash is deleted on the next open.
    pub fn remove_channel(&self, channel: i64) -> io::Result<()> {
        let dir = self.channel_dir(channel);
        let trash = self.root.join(format!(
            "{}{}-{}-{}",
            layout::TRASH_PREFIX,
            layout::channel_dir_name(channel),
            std::process::id(),
            self.trash_seq.fetch_add(1, Ordering::Relaxed)
        ));
        {
            let mut index = self.lock();
            match fs::rename(&dir, &trash) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    index.remove_channel(channel);
                    return Ok(());
                }
                Err(e) => return Err(with_path(&dir, e)),
            }
            index.remove_channel(channel);
        }
        info!(channel, "archive: channel removed");
        fs::remove_dir_all(&trash).map_err(|e| with_path(&trash, e))
    }

    fn channel_dir(&self, channel: i64) -> PathBuf {
        self.root.join(layout::channel_dir_name(channel))
    }

    fn lock(&self) -> MutexGuard<'_, Index> {
        self.index.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn delete_all(&self, removed: &[Removed]) {
        for r in removed {
            let name = layout::segment_name(r.start_ms, r.entry.duration_ms, r.entry.discontinuity);
            remove_quietly(&self.channel_dir(r.channel).join(name));
        }
    }
}

fn stored(dir: &Path, start_ms: i64, entry: Entry) -> StoredSegment {
    StoredSegment {
        start: layout::ts(start_ms),
        duration: Duration::from_millis(entry.duration_ms),
        discontinuity: entry.discontinuity,
        len: entry.len,
        path: dir.join(layout::segment_name(
            start_ms,
            entry.duration_ms,
            entry.discontinuity,
        )),
    }
}

/// Reads one channel directory into `index`, deleting leftovers.
fn scan_channel(dir: &Path, channel: i64, index: &mut Index) -> io::Result<()> {
    for entry in fs::read_dir(dir).map_err(|e| with_path(dir, e))? {
        let entry = entry.map_err(|e| with_path(dir, e))?;
        let path = entry.path();
        let file_type = entry.file_type().map_err(|e| with_path(&path, e))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !file_type.is_file() {
            warn!(path = %path.display(), "archive: not a regular file, left alone");
            continue;
        }
        if name.ends_with(layout::PART_SUFFIX) {
            debug!(path = %path.display(), "archive: deleting unfinished segment");
            remove_quietly(&path);
            continue;
        }
        let Some((start_ms, duration_ms, discontinuity)) = layout::parse_segment_name(&name) else {
            warn!(path = %path.display(), "archive: deleting file that is not a segment");
            remove_quietly(&path);
            continue;
        };
        let len = entry.metadata().map_err(|e| with_path(&path, e))?.len();
        if len == 0 {
            debug!(path = %path.display(), "archive: deleting empty segment");
            remove_quietly(&path);
            continue;
        }
        let new = Entry {
            duration_ms,
            discontinuity,
            len,
        };
        // Two files with one start (only possible if written by hand or a crash
        // between a replacing rename and the old file's deletion): keep one.
        if let Some(old) = index.insert(channel, start_ms, new) {
            let old_name = layout::segment_name(start_ms, old.duration_ms, old.discontinuity);
            warn!(path = %dir.join(&old_name).display(), "archive: deleting duplicate segment");
            remove_quietly(&dir.join(old_name));
        }
    }
    Ok(())
}

/// Writes and fsyncs the data of a segment.
fn write_part(part: &Path, data: &[Bytes]) -> io::Result<()> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(part)?;
    for chunk in data {
        file.write_all(chunk)?;
    }
    file.sync_data()
}

/// Deletes a file; one already gone is fine, other failures are logged (the file is
/// then out of the index and found again by the next open).
fn remove_quietly(path: &Path) {
    match fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => warn!(path = %path.display(), error = %e, "archive: cannot delete file"),
    }
}

/// The same error, its message naming the path.
fn with_path(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}
