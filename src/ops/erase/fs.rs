//! Writing a file atomically.

use std::io::Write;
use std::path::Path;

use super::error::EraseError;

pub(super) fn write_text_atomic(path: &Path, bytes: &[u8]) -> Result<(), EraseError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let io = |op, source| EraseError::Io {
        op,
        path: path.to_path_buf(),
        source,
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".audit-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| io("create temporary file for", e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(m) = std::fs::metadata(path) {
            let _ = std::fs::set_permissions(
                tmp.path(),
                std::fs::Permissions::from_mode(m.permissions().mode()),
            );
        }
    }
    tmp.write_all(bytes).map_err(|e| io("write", e))?;
    tmp.as_file().sync_all().map_err(|e| io("fsync", e))?;
    tmp.persist(path)
        .map_err(|e| io("rename temporary file to", e.error))?;
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io("fsync folder of", e))
}
