//! The last log lines, kept in memory for the dashboard's log view and download.
//! Lines arrive already redacted (the log writer masks credentials first).

use std::collections::VecDeque;
use std::sync::Mutex;

use serde::Serialize;

/// One captured line.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LogLine {
    /// Sequence number (for polling "everything after N").
    pub seq: u64,
    /// The formatted, redacted line.
    pub text: String,
    /// `TRACE`…`ERROR`, parsed from the line when it can be.
    pub level: String,
}

/// A bounded ring of recent log lines.
#[derive(Debug)]
pub struct LogBuffer {
    capacity: usize,
    /// Held for a push or a copy, never across an await.
    lines: Mutex<(u64, VecDeque<LogLine>)>,
}

impl Default for LogBuffer {
    fn default() -> Self {
        Self::new(5000)
    }
}

impl LogBuffer {
    /// A buffer keeping the last `capacity` lines.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            lines: Mutex::new((0, VecDeque::new())),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (u64, VecDeque<LogLine>)> {
        self.lines.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends the lines of `text` (already redacted).
    pub fn push(&self, text: &str) {
        let mut guard = self.lock();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            guard.0 += 1;
            let seq = guard.0;
            // The level is a token near the start ("<time>  WARN target: …"); a
            // "WARN" inside a logged URL further on must not count.
            let level = line
                .split_whitespace()
                .take(3)
                .find(|t| matches!(*t, "ERROR" | "WARN" | "INFO" | "DEBUG" | "TRACE"))
                .unwrap_or("INFO")
                .to_owned();
            guard.1.push_back(LogLine {
                seq,
                text: line.to_owned(),
                level,
            });
            if guard.1.len() > self.capacity {
                guard.1.pop_front();
            }
        }
    }

    /// Lines after `after` (0: all), at most `limit`, newest last.
    pub fn since(&self, after: u64, limit: usize) -> Vec<LogLine> {
        let guard = self.lock();
        let newer: Vec<&LogLine> = guard.1.iter().filter(|l| l.seq > after).collect();
        let skip = newer.len().saturating_sub(limit);
        newer.into_iter().skip(skip).cloned().collect()
    }

    /// Every line kept.
    pub fn all(&self) -> Vec<LogLine> {
        self.lock().1.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_buffer_keeps_the_newest_lines_with_levels() {
        let b = LogBuffer::new(3);
        b.push("a INFO one\nb WARN two\n");
        b.push("c ERROR three\nd INFO uri=/logs?level=WARN\n");
        let all = b.all();
        assert_eq!(all.len(), 3);
        assert_eq!(all[0].level, "WARN");
        assert_eq!(b.since(3, 10).len(), 1);
        assert_eq!(
            b.since(3, 10)[0].level,
            "INFO",
            "a WARN inside the message is not the level"
        );
        assert_eq!(b.since(0, 2).last().map(|l| l.seq), Some(4));
    }
}
