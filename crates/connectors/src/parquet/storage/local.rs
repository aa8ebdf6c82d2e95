//! The local-file atomic write: a hidden temporary file in the final
//! folder, fsynced, renamed into place, and the folder fsynced.

use std::fs::{self, File};
use std::io::Write;
use std::path::Path;

use super::error::StorageError;

/// Prefix of the local temporary files (hidden from readers and globs).
pub const TEMP_PREFIX: &str = ".part-";
/// Suffix of the local temporary files.
pub const TEMP_SUFFIX: &str = ".parquet.tmp";
/// Mode of the files written locally (before the umask): readable by all,
/// as analysts' tools need.
#[cfg(unix)]
const FILE_MODE: u32 = 0o644;

pub(super) fn local_parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Creates `dir` and, when it was missing, fsyncs its parent so the new
/// entry is durable.
pub(super) fn create_dir_all_durable(dir: &Path) -> Result<(), StorageError> {
    if dir.is_dir() {
        return Ok(());
    }
    fs::create_dir_all(dir).map_err(StorageError::io("create folder", dir))?;
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        sync_dir(parent)?;
    }
    Ok(())
}

pub(super) fn write_temp(
    dir: &Path,
    bytes: &[u8],
    durable: bool,
) -> Result<tempfile::NamedTempFile, StorageError> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(TEMP_PREFIX).suffix(TEMP_SUFFIX);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(fs::Permissions::from_mode(FILE_MODE));
    }
    let mut tmp = builder
        .tempfile_in(dir)
        .map_err(StorageError::io("create temporary file in", dir))?;
    tmp.write_all(bytes)
        .map_err(StorageError::io("write", tmp.path()))?;
    if durable {
        tmp.as_file()
            .sync_all()
            .map_err(StorageError::io("fsync", tmp.path()))?;
    }
    Ok(tmp)
}

pub(super) fn put_local(path: &Path, bytes: &[u8], durable: bool) -> Result<(), StorageError> {
    let dir = local_parent(path);
    if durable {
        create_dir_all_durable(dir)?;
    } else {
        fs::create_dir_all(dir).map_err(StorageError::io("create folder", dir))?;
    }
    let tmp = write_temp(dir, bytes, durable)?;
    tmp.persist(path).map_err(|e| StorageError::Io {
        op: "rename temporary file to",
        path: path.to_path_buf(),
        source: e.error,
    })?;
    if durable {
        sync_dir(dir)?;
    }
    Ok(())
}

pub(super) fn sync_dir(dir: &Path) -> Result<(), StorageError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(StorageError::io("fsync folder", dir))
}
