//! The settlement journal's line format: `CHECKSUM JSON\n`, where CHECKSUM is the first 8 bytes of
//! the JSON's SHA-256 in hex (16 characters). A line whose checksum does not match, that does not
//! parse, or that lacks its newline (a partial write) is *damaged*: replay stops on it with an error
//! naming the file and line, and `tollgate journal check|repair` shows and moves such lines
//! (docs/security.md, "Settlement journal"). Lines written before checksums (plain `{…}` JSON) are
//! still read when they parse.

use std::path::Path;

use sha2::{Digest, Sha256};

const SUM_LEN: usize = 16;

/// The checksum of `json`.
pub fn checksum(json: &[u8]) -> String {
    hex::encode(&Sha256::digest(json)[..SUM_LEN / 2])
}

/// One line to append, newline included.
pub fn encode(json: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(json.len() + SUM_LEN + 2);
    out.extend_from_slice(checksum(json).as_bytes());
    out.push(b' ');
    out.extend_from_slice(json);
    out.push(b'\n');
    out
}

/// The JSON of one line (without its newline), or why the line is damaged.
pub fn decode(line: &[u8]) -> Result<&[u8], String> {
    if line.first() == Some(&b'{') {
        // Written before checksums: only its parse can vouch for it.
        return Ok(line);
    }
    let (sum, json) = match line.iter().position(|b| *b == b' ') {
        Some(i) => (&line[..i], &line[i + 1..]),
        None => return Err("no checksum".to_owned()),
    };
    if sum.len() != SUM_LEN {
        return Err("malformed checksum".to_owned());
    }
    if checksum(json).as_bytes() != sum {
        return Err("checksum mismatch".to_owned());
    }
    Ok(json)
}

/// A damaged line of a segment file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damaged {
    /// 1-based.
    pub line: usize,
    pub reason: String,
    pub text: Vec<u8>,
}

/// The lines of a segment's bytes: each whole line with its 1-based number, the JSON, or its damage.
pub fn scan<T>(bytes: &[u8], parse: impl Fn(&[u8]) -> Result<T, String>) -> Vec<(usize, Result<T, Damaged>)> {
    let mut out = Vec::new();
    let mut rest = bytes;
    let mut n = 0;
    while !rest.is_empty() {
        n += 1;
        let (text, complete, next) = match rest.iter().position(|b| *b == b'\n') {
            Some(i) => (&rest[..i], true, &rest[i + 1..]),
            None => (rest, false, &rest[rest.len()..]),
        };
        rest = next;
        if text.is_empty() {
            continue;
        }
        let parsed = if complete {
            decode(text).and_then(&parse)
        } else {
            Err("partial line (no newline: an interrupted write)".to_owned())
        };
        out.push((n, parsed.map_err(|reason| Damaged { line: n, reason, text: text.to_vec() })));
    }
    out
}

/// The error that stops a replay on a damaged line.
pub fn damaged_error(path: &Path, d: &Damaged) -> std::io::Error {
    std::io::Error::other(format!(
        "{} line {}: {}; the journal is not replayed with a damaged line (charges could be lost). Inspect with \
         `tollgate journal check`, then `tollgate journal repair` moves damaged lines to a .rejected file",
        path.display(),
        d.line,
        d.reason
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip_and_damage_is_named() {
        let good = encode(br#"{"a":1}"#);
        let mut bytes = good.clone();
        bytes.extend_from_slice(b"0000000000000000 {\"a\":2}\n");
        bytes.extend_from_slice(b"\n{\"legacy\":true}\n");
        bytes.extend_from_slice(&good[..good.len() - 4]);
        let ok = |j: &[u8]| serde_json::from_slice::<serde_json::Value>(j).map_err(|e| e.to_string());
        let lines = scan(&bytes, ok);
        assert_eq!(lines.len(), 4);
        assert!(lines[0].1.is_ok());
        assert_eq!(lines[1].1.as_ref().unwrap_err().reason, "checksum mismatch");
        assert!(lines[2].1.is_ok(), "lines without checksums from older versions");
        let partial = lines[3].1.as_ref().unwrap_err();
        assert!(partial.reason.starts_with("partial line") && partial.line == 5, "{partial:?}");
    }
}
