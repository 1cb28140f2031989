//! The settlement journal: where a charge is committed before its answer is released, so that the
//! database write is off the request's path (SPEC 2.4, docs/quotas.md "Settlement journal").
//!
//! A settlement is one JSON line appended to the active segment file with a single `write`. Once
//! that returns, the line is in the operating system's page cache: a gateway process killed at any
//! moment afterwards loses nothing, because the next start applies every line still on disk. (An
//! operating-system crash can lose the last moments of lines, exactly as SQLite's
//! `synchronous=NORMAL` can lose its last commits; `--settlement direct` is the mode for operators
//! who need each charge flushed by the database before the answer.) The settlement worker applies
//! the lines to the database idempotently (the usage record's request id), and a segment file is
//! deleted once every line in it is applied. Lines the database refuses as invalid are kept in
//! `rejected.jsonl` for an operator, never dropped silently.
//!
//! Each line carries a checksum (`journal_format`). A damaged or partial line stops the replay with
//! an error naming the file and line; `tollgate journal check|repair` inspects and repairs. A failed
//! write is cut back off the file (so it cannot merge with the next line) and marks the journal
//! unwritable: `/readyz` then fails and new billable requests are refused until a write succeeds.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tollgate_store::NewUsageRecord;

/// Lines per segment file before the next one is started (a few MB).
const SEGMENT_LINES: u64 = 8192;
pub(crate) const LOCK_FILE: &str = "journal.lock";
const REJECTED_FILE: &str = "rejected.jsonl";

/// One settlement as written to the journal.
#[derive(Serialize)]
pub struct Line<'a> {
    /// When the charge was committed here: its quota windows are the ones current at this moment.
    pub at: Timestamp,
    pub record: &'a NewUsageRecord,
}

impl<'a> Line<'a> {
    pub fn new(at: Timestamp, record: &'a NewUsageRecord) -> Self {
        Self { at, record }
    }
}

/// A journal line as read back.
#[derive(Deserialize)]
struct ReadLine {
    at: Timestamp,
    record: NewUsageRecord,
}

/// A segment left on disk by an earlier process, with its lines to apply.
pub struct Leftover {
    pub segment: u64,
    pub lines: Vec<(Timestamp, NewUsageRecord)>,
}

#[derive(Default)]
struct Count {
    written: u64,
    applied: u64,
}

struct Active {
    file: File,
    /// The active file's length: where a failed write is cut back to (kept here rather than asked
    /// of the file system on every append, under the lock every serving thread takes).
    len: u64,
    segment: u64,
    /// Lines written to each segment still on disk, and how many of them are applied.
    counts: BTreeMap<u64, Count>,
}

/// The journal directory, locked for this process.
pub struct Journal {
    dir: PathBuf,
    active: Mutex<Active>,
    /// The last write failed; cleared by the next write that succeeds.
    unwritable: AtomicBool,
    /// Tests: every write fails (a full disk on demand).
    fail_writes: AtomicBool,
    /// Holds the directory's lock for as long as the journal lives.
    _lock: File,
}

pub(crate) fn segment_path(dir: &Path, segment: u64) -> PathBuf {
    dir.join(format!("settlements-{segment:016}.jsonl"))
}

pub(crate) fn segment_id(name: &str) -> Option<u64> {
    name.strip_prefix("settlements-")?.strip_suffix(".jsonl")?.parse().ok()
}

impl Journal {
    /// Opens (creating) `dir`, takes its lock, and returns the journal with the segments an earlier
    /// process left, for the caller to apply before serving.
    pub fn open(dir: &Path) -> io::Result<(Self, Vec<Leftover>)> {
        std::fs::create_dir_all(dir)?;
        crate::files::restrict_dir(dir)?;
        let lock = crate::files::open_private_append(&dir.join(LOCK_FILE))?;
        lock.try_lock().map_err(|_| {
            io::Error::other(format!(
                "the settlement journal {} is in use by another tollgate process; give each process its own --journal-dir",
                dir.display()
            ))
        })?;
        let mut leftovers = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            if let Some(segment) = entry.file_name().to_str().and_then(segment_id) {
                leftovers.push(Leftover { segment, lines: read_segment(&entry.path())? });
            }
        }
        leftovers.sort_by_key(|l| l.segment);
        let segment = leftovers.last().map_or(0, |l| l.segment) + 1;
        let file = open_segment(dir, segment)?;
        let len = file.metadata()?.len();
        let mut counts = BTreeMap::new();
        counts.insert(segment, Count::default());
        let journal = Self {
            dir: dir.to_owned(),
            active: Mutex::new(Active { file, len, segment, counts }),
            unwritable: AtomicBool::new(false),
            fail_writes: AtomicBool::new(false),
            _lock: lock,
        };
        Ok((journal, leftovers))
    }

    fn lock(&self) -> MutexGuard<'_, Active> {
        // Every update below leaves the counts consistent before it can fail.
        self.active.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Commits one settlement: returns once its line is written, with the segment that holds it.
    pub fn append(&self, line: &Line<'_>) -> io::Result<u64> {
        let text = super::journal_format::encode(&serde_json::to_vec(line).map_err(io::Error::other)?);
        let mut active = self.lock();
        let result = self.append_locked(&mut active, &text);
        self.unwritable.store(result.is_err(), Ordering::Release);
        result
    }

    /// Whether the last write failed (`/readyz`, and admission of billable requests).
    pub fn is_unwritable(&self) -> bool {
        self.unwritable.load(Ordering::Acquire)
    }

    /// After a failed write: tries a harmless one (an empty line, skipped by replay) and reports
    /// whether the journal is writable again.
    pub fn probe(&self) -> bool {
        let mut active = self.lock();
        let ok = self.append_locked(&mut active, b"\n").is_ok();
        self.unwritable.store(!ok, Ordering::Release);
        ok
    }

    /// Tests: makes every write fail (`true`) as on a full disk, or work again.
    #[doc(hidden)]
    pub fn inject_write_failures(&self, on: bool) {
        self.fail_writes.store(on, Ordering::Release);
    }

    fn append_locked(&self, active: &mut MutexGuard<'_, Active>, text: &[u8]) -> io::Result<u64> {
        if self.fail_writes.load(Ordering::Acquire) {
            return Err(io::Error::new(io::ErrorKind::StorageFull, "no space left on device (injected)"));
        }
        if active.counts.get(&active.segment).is_some_and(|c| c.written >= SEGMENT_LINES) {
            let next = active.segment + 1;
            active.file = open_segment(&self.dir, next)?;
            active.len = active.file.metadata()?.len();
            let done = active.segment;
            active.segment = next;
            active.counts.insert(next, Count::default());
            self.remove_if_applied(active, done);
        }
        // One `write` of the whole line (O_APPEND). A failed or short write (disk full) is cut back
        // off, so that the next line does not merge with its fragment.
        if let Err(e) = active.file.write_all(text) {
            if let Err(cut) = active.file.set_len(active.len) {
                tracing::error!(error = %cut, "could not cut a failed journal write back off");
            }
            return Err(e);
        }
        active.len += text.len() as u64;
        let segment = active.segment;
        active.counts.entry(segment).or_default().written += 1;
        Ok(segment)
    }

    /// Records that one line of `segment` is applied; a finished, inactive segment is deleted.
    pub fn applied(&self, segment: u64) {
        let mut active = self.lock();
        if let Some(c) = active.counts.get_mut(&segment) {
            c.applied += 1;
        }
        self.remove_if_applied(&mut active, segment);
    }

    fn remove_if_applied(&self, active: &mut Active, segment: u64) {
        let finished = active.counts.get(&segment).is_some_and(|c| c.applied >= c.written);
        if finished && segment != active.segment {
            active.counts.remove(&segment);
            self.remove_segment(segment);
        }
    }

    /// Deletes a segment whose lines are all applied (leftovers, once replayed).
    pub fn remove_segment(&self, segment: u64) {
        if let Err(e) = std::fs::remove_file(segment_path(&self.dir, segment)) {
            tracing::warn!(segment, error = %e, "could not delete an applied journal segment");
        }
    }

    /// Keeps a line the database refused, for an operator to look at.
    pub fn reject(&self, line: &Line<'_>, error: &str) {
        let kept = serde_json::to_vec(&serde_json::json!({ "line": line, "error": error }))
            .map_err(io::Error::other)
            .and_then(|mut text| {
                text.push(b'\n');
                crate::files::open_private_append(&self.dir.join(REJECTED_FILE))?.write_all(&text)
            });
        if let Err(e) = kept {
            tracing::error!(request_id = %line.record.request_id, error = %e, "could not keep a rejected settlement");
        }
    }

    /// On shutdown: deletes the active segment if every line written is applied (otherwise it stays
    /// for the next start to apply).
    pub fn close(&self) {
        let active = self.lock();
        let segment = active.segment;
        if active.counts.values().all(|c| c.applied >= c.written) {
            self.remove_segment(segment);
        }
    }
}

fn open_segment(dir: &Path, segment: u64) -> io::Result<File> {
    crate::files::open_private_append(&segment_path(dir, segment))
}

/// Every line of a segment. A damaged or partial line is an error naming the file and the line.
fn read_segment(path: &Path) -> io::Result<Vec<(Timestamp, NewUsageRecord)>> {
    let bytes = std::fs::read(path)?;
    let parse = |json: &[u8]| serde_json::from_slice::<ReadLine>(json).map_err(|e| format!("not a settlement: {e}"));
    let mut lines = Vec::new();
    for (_, line) in super::journal_format::scan(&bytes, parse) {
        match line {
            Ok(l) => lines.push((l.at, l.record)),
            Err(d) => return Err(super::journal_format::damaged_error(path, &d)),
        }
    }
    Ok(lines)
}

/// Parses a line's JSON as a settlement (for `tollgate journal check`).
pub(crate) fn parse_line(json: &[u8]) -> Result<(), String> {
    serde_json::from_slice::<ReadLine>(json).map(|_| ()).map_err(|e| format!("not a settlement: {e}"))
}

#[cfg(test)]
mod tests {
    use std::fs::OpenOptions;
    use tollgate_core::money::Money;
    use tollgate_core::platform::Platform;

    use tollgate_core::usage::Usage;

    use super::*;

    fn record(id: &str) -> NewUsageRecord {
        NewUsageRecord {
            request_id: id.into(),
            user_id: 7,
            api_key_id: Some(3),
            platform: Platform::Anthropic,
            model: "claude-sonnet-4-5".into(),
            usage: Usage { input_tokens: 10, output_tokens: 20, ..Usage::default() },
            cost: Money::from_nanos(123_456).unwrap_or(Money::ZERO),
            status: "ok".into(),
            http_status: Some(200),
            latency_ms: 5,
            upstream_id: Some(1),
            output_estimated: false,
            held: false,
            tool_cost: Default::default(),
            ttfb_ms: None,
            client_request_id: None,
        }
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("tollgate-journal-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn lines_survive_the_process_and_a_torn_tail_stops_the_replay() -> io::Result<()> {
        let dir = temp_dir("survive");
        let at = Timestamp::from_second(1_700_000_000).map_err(io::Error::other)?;
        {
            let (journal, leftovers) = Journal::open(&dir)?;
            assert!(leftovers.is_empty());
            journal.append(&Line::new(at, &record("a")))?;
            journal.append(&Line::new(at, &record("b")))?;
            // A second process on the same directory is refused while this one holds it.
            let second = Journal::open(&dir).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(second.contains("in use by another tollgate process"), "{second}");
            // A killed writer's torn last line.
            let path = segment_path(&dir, 1);
            OpenOptions::new().append(true).open(path)?.write_all(b"{\"at\":\"2023-")?;
        }
        // Never skipped silently: the replay names the file and line.
        let err = Journal::open(&dir).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("settlements-0000000000000001.jsonl line 3: partial line"), "{err}");
        // Without the torn line, both lines come back.
        let path = segment_path(&dir, 1);
        let text = std::fs::read(&path)?;
        let cut = text.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        std::fs::write(&path, &text[..cut])?;
        let (_journal, leftovers) = Journal::open(&dir)?;
        assert_eq!(leftovers.len(), 1);
        let ids: Vec<_> = leftovers[0].lines.iter().map(|(_, r)| r.request_id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(leftovers[0].lines[0], (at, record("a")));
        let _ = std::fs::remove_dir_all(&dir);
        Ok(())
    }

    #[test]
    fn applied_segments_are_deleted_once_rotated() -> io::Result<()> {
        let dir = temp_dir("rotate");
        let (journal, _) = Journal::open(&dir)?;
        let at = Timestamp::now();
        let mut segments = Vec::new();
        for i in 0..SEGMENT_LINES + 1 {
            segments.push(journal.append(&Line::new(at, &record(&i.to_string())))?);
        }
        assert_eq!(segments.first(), Some(&1));
        assert_eq!(segments.last(), Some(&2));
        assert!(segment_path(&dir, 1).exists());
        for s in &segments {
            journal.applied(*s);
        }
        assert!(!segment_path(&dir, 1).exists(), "a rotated, applied segment is deleted");
        assert!(segment_path(&dir, 2).exists(), "the active one stays until close");
        journal.close();
        assert!(!segment_path(&dir, 2).exists());
        let _ = std::fs::remove_dir_all(&dir);
        Ok(())
    }
}
