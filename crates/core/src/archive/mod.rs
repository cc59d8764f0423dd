//! STUB (replaced by the h-arch merge).
use jiff::Timestamp;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;
pub struct Limits {
    pub max_bytes_per_channel: u64,
    pub max_total_bytes: u64,
}
pub struct SegmentMeta {
    pub start: Timestamp,
    pub duration: Duration,
    pub discontinuity: bool,
}
#[derive(Debug, Clone)]
pub struct StoredSegment {
    pub start: Timestamp,
    pub duration: Duration,
    pub discontinuity: bool,
    pub len: u64,
    pub path: PathBuf,
}
#[derive(Debug, Clone)]
pub struct Span {
    pub segments: Vec<StoredSegment>,
    pub len: u64,
}
#[derive(Debug, Clone)]
pub struct ChannelSummary {
    pub id: i64,
    pub segments: usize,
    pub bytes: u64,
    pub oldest: Timestamp,
    pub newest: Timestamp,
}
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("disk full: {0}")]
    DiskFull(io::Error),
    #[error("{0}")]
    Io(io::Error),
}
pub struct Window { pub first_sequence: u64, pub discontinuity_sequence: u64, pub segments: Vec<StoredSegment> }
pub struct Archive;
impl Archive {
    pub fn open(_root: &Path, _limits: Limits) -> io::Result<Archive> {
        Ok(Archive)
    }
    pub fn append(
        &self,
        _channel: i64,
        _meta: &SegmentMeta,
        _data: &[bytes::Bytes],
    ) -> Result<(), ArchiveError> {
        Ok(())
    }
    pub fn expire(&self, _channel: i64, _older_than: Timestamp) {}
    pub fn span(&self, _channel: i64, _from: Timestamp, _to: Timestamp) -> Option<Span> {
        None
    }
    pub fn window(&self, _channel: i64) -> Option<(Timestamp, Timestamp)> {
        None
    }
    pub fn covers(&self, _channel: i64, _t: Timestamp) -> bool {
        false
    }
    pub fn channel_bytes(&self, _channel: i64) -> u64 {
        0
    }
    pub fn total_bytes(&self) -> u64 {
        0
    }
    pub fn channels(&self) -> Vec<ChannelSummary> {
        Vec::new()
    }
    pub fn window_segments(&self, _c: i64, _from: Timestamp) -> Option<Window> { None }
    pub fn remove_channel(&self, _channel: i64) -> io::Result<()> {
        Ok(())
    }
}
