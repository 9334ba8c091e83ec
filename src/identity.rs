//! Call identity: what makes two results the same call.
//!
//! A call is its recording's content plus its switch record: the key hashes the SHA-256 of the
//! file's bytes with the switch's call id (when the metadata gives one). File names and folders
//! only make the readable label in front of the hash, so the same file name on two days, or
//! `a.wav` next to `a.mp3`, can never share a key, and the same recording found again (another
//! folder, a rerun) always gets the same one.
//!
//! `call_id = <label>-<12 hex>`, label = the switch's call id, else the file stem, made safe
//! for a file name and cut to [`LABEL_MAX`] characters; hex = first 12 hex digits of
//! SHA-256(`content_sha256` `\n` `switch_call_id`). 48 bits: a collision needs two recordings
//! with the same label, odds ~10⁻⁸ even at ten thousand per label.

use sha2::{Digest, Sha256};
use std::path::Path;

/// Longest readable label kept in a call id (characters).
pub const LABEL_MAX: usize = 64;

/// The key of a call (see the module docs).
pub fn call_id(label: &str, content_sha256: &str, switch_call_id: Option<&str>) -> String {
    format!(
        "{}-{}",
        label_of(label),
        key_hex(content_sha256, switch_call_id)
    )
}

/// The part of the key that identifies the call: 12 hex digits of SHA-256(content hash, switch
/// call id). Two ids with the same hex are the same call under two labels (a renamed file):
/// the first label seen stays.
pub fn key_hex(content_sha256: &str, switch_call_id: Option<&str>) -> String {
    let mut h = Sha256::new();
    h.update(content_sha256.as_bytes());
    h.update(b"\n");
    if let Some(s) = switch_call_id.map(sanitize) {
        h.update(s.as_bytes());
    }
    hex::encode(h.finalize())[..12].to_string()
}

/// The hex part of a key, if `id` is one.
pub fn hex_of(id: &str) -> Option<&str> {
    looks_like_key(id).then(|| &id[id.len() - 12..])
}

/// The key of a file that could not even be read (no content hash): from its path bytes.
pub fn unreadable_call_id(path: &Path) -> String {
    let h = Sha256::digest(path_bytes(path));
    format!("{}-x{}", label_of(&stem(path)), &hex::encode(h)[..11])
}

/// The readable label for a file: the switch's call id when known, else the file stem.
pub fn label(path: &Path, switch_call_id: Option<&str>) -> String {
    switch_call_id
        .filter(|s| !s.trim().is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| stem(path))
}

/// Whether `id` is a key of this form for this content (used to tell results written before
/// keys existed, whose ids were bare file stems).
pub fn is_key_for(id: &str, content_sha256: &str, switch_call_id: Option<&str>) -> bool {
    hex_of(id) == Some(key_hex(content_sha256, switch_call_id).as_str())
}

/// Whether `id` has the form of a key (`…-` and 12 hex digits, or `-x` and 11 for unreadable
/// files): ids of results written before keys were bare file stems or switch ids.
pub fn looks_like_key(id: &str) -> bool {
    let b = id.as_bytes();
    b.len() > 13
        && b[b.len() - 13] == b'-'
        && b[b.len() - 12..]
            .iter()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c) || *c == b'x')
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn label_of(s: &str) -> String {
    let s: String = sanitize(s).chars().take(LABEL_MAX).collect();
    if s.is_empty() {
        "call".into()
    } else {
        s
    }
}

/// Letters, digits, `-`, `_` and `.` kept (any script); everything else becomes `_`; no
/// leading dot, so the id is always a harmless file name.
pub fn sanitize(id: &str) -> String {
    let s: String = id
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    s.trim_start_matches('.').to_string()
}

/// The raw bytes of a path (exact on Unix, UTF-8 elsewhere).
pub fn path_bytes(path: &Path) -> Vec<u8> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        path.as_os_str().as_bytes().to_vec()
    }
    #[cfg(not(unix))]
    {
        path.to_string_lossy().as_bytes().to_vec()
    }
}

/// Hex of the path's bytes when they are not valid UTF-8 (kept in the record), else None.
pub fn raw_hex_if_not_utf8(path: &Path) -> Option<String> {
    path.to_str()
        .is_none()
        .then(|| hex::encode(path_bytes(path)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_depends_on_content_and_switch_id_not_on_folder() {
        let a = call_id("0001", "aa", None);
        assert_eq!(a, call_id("0001", "aa", None));
        assert_ne!(a, call_id("0001", "bb", None));
        assert_ne!(a, call_id("0001", "aa", Some("SW1")));
        assert!(a.starts_with("0001-") && a.len() == 5 + 12, "{a}");
        assert!(is_key_for(&a, "aa", None));
        assert!(!is_key_for("0001", "aa", None));
    }

    #[test]
    fn labels_are_safe_and_bounded() {
        let long = "长".repeat(300);
        let id = call_id(&long, "aa", None);
        assert_eq!(id.chars().count(), LABEL_MAX + 13);
        assert!(call_id("../x y", "aa", None).starts_with("_x_y-"));
        assert!(call_id("", "aa", None).starts_with("call-"));
    }
}
