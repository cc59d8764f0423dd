//! The in-memory time index of the archive: per channel, segment start → segment,
//! with byte counts, and the pure decisions made on it (what a span holds, what to
//! evict or expire). No file I/O here; `mod.rs` does that around these calls.

use std::collections::BTreeMap;
use std::ops::Bound;

use super::Limits;

/// One stored segment as the index knows it (its start is the map key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Entry {
    pub duration_ms: u64,
    pub discontinuity: bool,
    pub len: u64,
}

impl Entry {
    /// The end of the segment starting at `start_ms` (checked representable on insert).
    pub fn end_ms(&self, start_ms: i64) -> i64 {
        start_ms.saturating_add(i64::try_from(self.duration_ms).unwrap_or(i64::MAX))
    }
}

/// The segments of one channel, never empty while it is in [`Index::channels`].
#[derive(Debug, Default)]
pub(super) struct ChannelIndex {
    pub segments: BTreeMap<i64, Entry>,
    pub bytes: u64,
}

impl ChannelIndex {
    /// The segment containing `t_ms`: the last one starting at or before it, if it
    /// has not ended by then.
    pub fn containing(&self, t_ms: i64) -> Option<(i64, Entry)> {
        let (&start, &entry) = self.segments.range(..=t_ms).next_back()?;
        (t_ms < entry.end_ms(start)).then_some((start, entry))
    }
}

/// A segment taken out of the index whose file is to be deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Removed {
    pub channel: i64,
    pub start_ms: i64,
    pub entry: Entry,
}

#[derive(Debug, Default)]
pub(super) struct Index {
    pub channels: BTreeMap<i64, ChannelIndex>,
    pub total_bytes: u64,
    /// Per channel, segments (and of them, discontinuities) taken out since the
    /// process started: what numbers the ring's segments in recording order for a
    /// live HLS window. Removals are always the oldest first, so a segment's
    /// number — removed before it + its place now — never changes.
    pub removed: BTreeMap<i64, (u64, u64)>,
}

impl Index {
    pub fn channel(&self, channel: i64) -> Option<&ChannelIndex> {
        self.channels.get(&channel)
    }

    /// Adds a segment; returns the one it replaced if a segment already started at
    /// the same millisecond.
    pub fn insert(&mut self, channel: i64, start_ms: i64, entry: Entry) -> Option<Entry> {
        let ch = self.channels.entry(channel).or_default();
        let replaced = ch.segments.insert(start_ms, entry);
        if let Some(old) = replaced {
            ch.bytes = ch.bytes.saturating_sub(old.len);
            self.total_bytes = self.total_bytes.saturating_sub(old.len);
        }
        ch.bytes = ch.bytes.saturating_add(entry.len);
        self.total_bytes = self.total_bytes.saturating_add(entry.len);
        replaced
    }

    fn remove(&mut self, channel: i64, start_ms: i64) -> Option<Removed> {
        let ch = self.channels.get_mut(&channel)?;
        let entry = ch.segments.remove(&start_ms)?;
        let removed = self.removed.entry(channel).or_default();
        removed.0 += 1;
        removed.1 += u64::from(entry.discontinuity);
        ch.bytes = ch.bytes.saturating_sub(entry.len);
        self.total_bytes = self.total_bytes.saturating_sub(entry.len);
        if ch.segments.is_empty() {
            self.channels.remove(&channel);
        }
        Some(Removed {
            channel,
            start_ms,
            entry,
        })
    }

    /// Forgets a whole channel (its directory is handled by the caller).
    pub fn remove_channel(&mut self, channel: i64) {
        if let Some(ch) = self.channels.remove(&channel) {
            self.total_bytes = self.total_bytes.saturating_sub(ch.bytes);
        }
    }

    /// Takes out segments, oldest first, until every channel is within
    /// `max_bytes_per_channel` and all together within `max_total_bytes`. `keep` (the
    /// segment just appended, as `(channel, start_ms)`) is never taken, so a channel
    /// always keeps its newest segment even when that alone exceeds a limit.
    pub fn evict(&mut self, limits: &Limits, keep: Option<(i64, i64)>) -> Vec<Removed> {
        let oldest_evictable = |index: &Index, channel: i64| -> Option<i64> {
            let ch = index.channels.get(&channel)?;
            ch.segments
                .keys()
                .copied()
                .find(|&start| keep != Some((channel, start)))
        };
        let mut removed = Vec::new();
        let over: Vec<i64> = self
            .channels
            .iter()
            .filter(|(_, ch)| ch.bytes > limits.max_bytes_per_channel)
            .map(|(&id, _)| id)
            .collect();
        for channel in over {
            while self
                .channels
                .get(&channel)
                .is_some_and(|ch| ch.bytes > limits.max_bytes_per_channel)
            {
                let Some(start) = oldest_evictable(self, channel) else {
                    break;
                };
                removed.extend(self.remove(channel, start));
            }
        }
        while self.total_bytes > limits.max_total_bytes {
            // The globally oldest segment; equal starts go by channel id, so the
            // choice does not depend on map iteration details.
            let oldest = self
                .channels
                .keys()
                .filter_map(|&channel| Some((oldest_evictable(self, channel)?, channel)))
                .min();
            let Some((start, channel)) = oldest else {
                break;
            };
            removed.extend(self.remove(channel, start));
        }
        removed
    }

    /// Takes out the channel's segments that end at or before `cutoff_ms`.
    pub fn expire(&mut self, channel: i64, cutoff_ms: i64) -> Vec<Removed> {
        let Some(ch) = self.channels.get(&channel) else {
            return Vec::new();
        };
        let ended: Vec<i64> = ch
            .segments
            .range(..cutoff_ms)
            .filter(|(start, entry)| entry.end_ms(**start) <= cutoff_ms)
            .map(|(&start, _)| start)
            .collect();
        ended
            .into_iter()
            .filter_map(|start| self.remove(channel, start))
            .collect()
    }

    /// The segments served for `[from_ms, to_ms)`: from the one containing `from_ms`
    /// (or, in a gap, the first starting after it) through every one starting before
    /// `to_ms`. Empty when none overlaps.
    pub fn span(&self, channel: i64, from_ms: i64, to_ms: i64) -> Vec<(i64, Entry)> {
        let Some(ch) = self.channels.get(&channel) else {
            return Vec::new();
        };
        if from_ms >= to_ms {
            return Vec::new();
        }
        let first = match ch.containing(from_ms) {
            Some((start, _)) => start,
            None => match ch
                .segments
                .range((Bound::Excluded(from_ms), Bound::Unbounded))
                .next()
            {
                Some((&start, _)) => start,
                None => return Vec::new(),
            },
        };
        if first >= to_ms {
            return Vec::new();
        }
        ch.segments
            .range(first..to_ms)
            .map(|(&start, &entry)| (start, entry))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(duration_ms: u64, len: u64) -> Entry {
        Entry {
            duration_ms,
            discontinuity: false,
            len,
        }
    }

    fn starts(removed: &[Removed]) -> Vec<(i64, i64)> {
        removed.iter().map(|r| (r.channel, r.start_ms)).collect()
    }

    #[test]
    fn replacing_a_start_keeps_byte_counts_right() {
        let mut index = Index::default();
        assert_eq!(index.insert(1, 0, entry(10, 100)), None);
        assert_eq!(index.insert(1, 0, entry(10, 30)), Some(entry(10, 100)));
        assert_eq!(index.total_bytes, 30);
        assert_eq!(index.channel(1).map(|c| c.bytes), Some(30));
    }

    #[test]
    fn eviction_never_takes_the_kept_segment() {
        let mut index = Index::default();
        index.insert(1, 0, entry(10, 100));
        index.insert(1, 10, entry(10, 100));
        let limits = Limits {
            max_bytes_per_channel: 50,
            max_total_bytes: 50,
        };
        // The kept segment is the oldest here (a back-filled one): the newer goes.
        let removed = index.evict(&limits, Some((1, 0)));
        assert_eq!(starts(&removed), vec![(1, 10)]);
        assert_eq!(index.total_bytes, 100);
        assert!(
            index
                .channel(1)
                .is_some_and(|c| c.segments.contains_key(&0))
        );
    }

    #[test]
    fn global_eviction_breaks_ties_by_channel() {
        let mut index = Index::default();
        index.insert(2, 0, entry(10, 10));
        index.insert(1, 0, entry(10, 10));
        index.insert(3, 5, entry(10, 10));
        let limits = Limits {
            max_bytes_per_channel: u64::MAX,
            max_total_bytes: 15,
        };
        let removed = index.evict(&limits, None);
        assert_eq!(starts(&removed), vec![(1, 0), (2, 0)]);
        assert_eq!(index.channels.keys().copied().collect::<Vec<_>>(), vec![3]);
    }

    #[test]
    fn span_of_nothing_or_an_empty_range() {
        let mut index = Index::default();
        index.insert(1, 100, entry(10, 1));
        assert!(index.span(2, 0, 1000).is_empty());
        assert!(index.span(1, 105, 105).is_empty());
        assert!(index.span(1, 200, 100).is_empty());
        // Ends exactly where the segment starts: [0, 100) does not overlap it.
        assert!(index.span(1, 0, 100).is_empty());
        assert_eq!(index.span(1, 0, 101).len(), 1);
        // Starts exactly where it ends.
        assert!(index.span(1, 110, 200).is_empty());
    }
}
