//! Atomic file writes, shared by every layer that writes results or reports.

use std::path::Path;

/// Write `bytes` to `path` atomically: a reader (or a rerun after a kill) sees the old file or
/// the new one, never half of one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    // Unique per process and thread: two workers never share a temp file.
    let tmp = dir.join(format!(
        ".{}.tmp-{}-{:?}",
        path.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id(),
        std::thread::current().id()
    ));
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}
