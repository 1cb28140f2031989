//! `tollgate journal check|repair`: shows the damaged lines of a settlement journal, and moves them
//! out of the way (to `SEGMENT.rejected`, after printing each) so the journal can be replayed. Never
//! silent: every line moved is printed first. Repair takes the journal's lock, so it cannot run
//! while a gateway process uses the journal.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::journal::{LOCK_FILE, parse_line, segment_id};
use super::journal_format::{Damaged, scan};

/// What a check found.
#[derive(Debug, Default)]
pub struct Report {
    pub segments: usize,
    pub good_lines: usize,
    pub damaged: Vec<(PathBuf, Damaged)>,
}

fn segments(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    match std::fs::read_dir(dir) {
        Ok(entries) => {
            for entry in entries {
                let entry = entry?;
                if entry.file_name().to_str().and_then(segment_id).is_some() {
                    out.push(entry.path());
                }
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    out.sort();
    Ok(out)
}

fn describe(path: &Path, d: &Damaged) -> String {
    let text = String::from_utf8_lossy(&d.text);
    let shown: String = text.chars().take(300).collect();
    let more = if text.chars().count() > 300 { " …" } else { "" };
    format!("{} line {}: {}\n    {shown}{more}", path.display(), d.line, d.reason)
}

/// Reads every segment of `dir` and prints each damaged line to `out`.
pub fn check(dir: &Path, out: &mut impl Write) -> io::Result<Report> {
    let mut report = Report::default();
    for path in segments(dir)? {
        report.segments += 1;
        for (_, line) in scan(&std::fs::read(&path)?, parse_line) {
            match line {
                Ok(()) => report.good_lines += 1,
                Err(d) => {
                    writeln!(out, "{}", describe(&path, &d))?;
                    report.damaged.push((path.clone(), d));
                }
            }
        }
    }
    Ok(report)
}

/// Prints each damaged line, appends it to `SEGMENT.rejected`, and rewrites the segment without it.
pub fn repair(dir: &Path, out: &mut impl Write) -> io::Result<Report> {
    let lock = crate::files::open_private_append(&dir.join(LOCK_FILE))?;
    lock.try_lock().map_err(|_| {
        io::Error::other(format!(
            "the journal {} is in use by a running tollgate process; stop it first",
            dir.display()
        ))
    })?;
    let report = check(dir, out)?;
    for path in segments(dir)? {
        let bytes = std::fs::read(&path)?;
        let lines = scan(&bytes, parse_line);
        if lines.iter().all(|(_, l)| l.is_ok()) {
            continue;
        }
        let mut kept = Vec::new();
        let mut rejected = Vec::new();
        let mut rest = bytes.as_slice();
        // Whole lines in order, each kept or rejected as the scan judged it.
        let mut judged = lines.iter().map(|(n, l)| (*n, l.is_ok())).peekable();
        let mut n = 0;
        while !rest.is_empty() {
            n += 1;
            let end = rest.iter().position(|b| *b == b'\n').map_or(rest.len(), |i| i + 1);
            let (text, next) = rest.split_at(end);
            rest = next;
            let good = match judged.peek() {
                Some((m, ok)) if *m == n => {
                    let ok = *ok;
                    judged.next();
                    ok
                }
                _ => true, // an empty line
            };
            if good {
                kept.extend_from_slice(text);
            } else {
                rejected.extend_from_slice(text);
                if !text.ends_with(b"\n") {
                    rejected.push(b'\n');
                }
            }
        }
        let mut rejected_path = path.clone().into_os_string();
        rejected_path.push(".rejected");
        crate::files::open_private_append(Path::new(&rejected_path))?.write_all(&rejected)?;
        let mut tmp = path.clone().into_os_string();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let _ = std::fs::remove_file(&tmp);
        crate::files::create_private(&tmp, &kept)?;
        std::fs::rename(&tmp, &path)?;
        writeln!(out, "moved the damaged lines of {} to {}", path.display(), Path::new(&rejected_path).display())?;
    }
    drop(lock);
    Ok(report)
}
