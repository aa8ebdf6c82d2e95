//! The blocking calls on a location: put (atomic, or only if absent), get,
//! exists, list, delete, and the runtime that drives the object stores.

use std::fs;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::SystemTime;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};

use super::error::StorageError;
use super::local::{create_dir_all_durable, local_parent, put_local, sync_dir, write_temp};
use super::location::Location;

/// Runs an object-store future to completion from blocking code (a timely
/// worker, a CLI command, or a thread inside another Tokio runtime).
fn block_on<F: Future + Send>(f: F) -> F::Output
where
    F::Output: Send,
{
    static RT: OnceLock<Option<tokio::runtime::Runtime>> = OnceLock::new();
    let rt = RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("panelflow-storage")
            .enable_all()
            .build()
            .map_err(|e| tracing::error!(error = %e, "cannot start the storage runtime"))
            .ok()
    });
    let run = move || match rt {
        Some(rt) => rt.block_on(f),
        None => futures::executor::block_on(f),
    };
    if tokio::runtime::Handle::try_current().is_ok() {
        // Blocking inside another runtime's thread is refused by Tokio:
        // wait on a scoped thread instead.
        std::thread::scope(|s| match s.spawn(run).join() {
            Ok(v) => v,
            Err(panic) => std::panic::resume_unwind(panic),
        })
    } else {
        run()
    }
}

/// Writes `bytes` to `path` atomically: readers see the whole file or
/// none. Locally the file is fsynced and renamed into place (and its
/// folder fsynced) when `durable`; parent folders are created.
pub fn put(path: &Path, bytes: Vec<u8>, durable: bool) -> Result<(), StorageError> {
    match Location::parse(path)? {
        Location::Local(p) => put_local(&p, &bytes, durable),
        Location::Object { store, key } => block_on(store.put(&key, PutPayload::from(bytes)))
            .map(|_| ())
            .map_err(StorageError::object("put", path)),
    }
}

/// Creates `path` with `bytes` only if nothing is there; whether it did.
/// Atomic against other writers (S3 conditional put; locally a hard link).
pub fn put_if_absent(path: &Path, bytes: Vec<u8>) -> Result<bool, StorageError> {
    match Location::parse(path)? {
        Location::Local(p) => {
            let dir = local_parent(&p);
            create_dir_all_durable(dir)?;
            let tmp = write_temp(dir, &bytes, true)?;
            let linked = fs::hard_link(tmp.path(), &p);
            drop(tmp);
            match linked {
                Ok(()) => {
                    sync_dir(dir)?;
                    Ok(true)
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
                Err(e) => Err(StorageError::io("link", &p)(e)),
            }
        }
        Location::Object { store, key } => {
            let opts = PutOptions {
                mode: PutMode::Create,
                ..Default::default()
            };
            match block_on(store.put_opts(&key, PutPayload::from(bytes), opts)) {
                Ok(_) => Ok(true),
                Err(object_store::Error::AlreadyExists { .. })
                | Err(object_store::Error::Precondition { .. }) => Ok(false),
                Err(e) => Err(StorageError::object("conditional put", path)(e)),
            }
        }
    }
}

/// Reads a whole file; `None` when there is none.
pub fn get(path: &Path) -> Result<Option<Bytes>, StorageError> {
    match Location::parse(path)? {
        Location::Local(p) => match fs::read(&p) {
            Ok(b) => Ok(Some(Bytes::from(b))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StorageError::io("read", &p)(e)),
        },
        Location::Object { store, key } => block_on(async {
            match store.get(&key).await {
                Ok(r) => r.bytes().await.map(Some),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(e),
            }
        })
        .map_err(StorageError::object("get", path)),
    }
}

/// Reads a whole file that must exist.
pub fn read(path: &Path) -> Result<Bytes, StorageError> {
    get(path)?.ok_or_else(|| StorageError::Io {
        op: "read",
        path: path.to_path_buf(),
        source: std::io::Error::from(std::io::ErrorKind::NotFound),
    })
}

/// Whether a file exists at `path`.
pub fn exists(path: &Path) -> Result<bool, StorageError> {
    match Location::parse(path)? {
        Location::Local(p) => Ok(p.is_file()),
        Location::Object { store, key } => match block_on(store.head(&key)) {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(StorageError::object("head", path)(e)),
        },
    }
}

/// Whether `dir` holds anything (locally: is a folder; on a store: any
/// object under the prefix).
pub fn is_dir(dir: &Path) -> Result<bool, StorageError> {
    match Location::parse(dir)? {
        Location::Local(p) => Ok(p.is_dir()),
        Location::Object { store, key } => block_on(async {
            let mut list = store.list(Some(&key));
            list.try_next().await.map(|o| o.is_some())
        })
        .map_err(StorageError::object("list", dir)),
    }
}

/// One file found by [`list_files`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileEntry {
    /// Its location (under the folder listed).
    pub path: PathBuf,
    /// When it was last written, if known.
    pub modified: Option<SystemTime>,
    /// Its size in bytes.
    pub size: u64,
}

/// Whether a name is hidden from readers (`.` or `_` first), as Hive-style
/// readers and Spark treat it.
pub fn is_hidden(name: &str) -> bool {
    name.starts_with('.') || name.starts_with('_')
}

/// Every file under `dir` (recursively), sorted by location, skipping
/// hidden files and folders below `dir`; none when `dir` does not exist.
pub fn list_files(dir: &Path) -> Result<Vec<FileEntry>, StorageError> {
    let mut out = Vec::new();
    match Location::parse(dir)? {
        Location::Local(p) => {
            if p.is_dir() {
                walk_local(dir, &p, &mut out)?;
            }
        }
        Location::Object { store, key } => {
            let prefix = (!key.as_ref().is_empty()).then_some(&key);
            let metas: Vec<object_store::ObjectMeta> =
                block_on(store.list(prefix).try_collect())
                    .map_err(StorageError::object("list", dir))?;
            for m in metas {
                let Some(rel) = m.location.prefix_match(&key) else {
                    continue;
                };
                let parts: Vec<String> = rel.map(|p| p.as_ref().to_string()).collect();
                if parts.is_empty() || parts.iter().any(|p| is_hidden(p)) {
                    continue;
                }
                out.push(FileEntry {
                    path: dir.join(parts.join("/")),
                    modified: Some(m.last_modified.into()),
                    size: m.size,
                });
            }
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

fn walk_local(shown: &Path, dir: &Path, out: &mut Vec<FileEntry>) -> Result<(), StorageError> {
    let io = StorageError::io;
    for entry in fs::read_dir(dir).map_err(io("list folder", dir))? {
        let entry = entry.map_err(io("list folder", dir))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if is_hidden(name) {
            continue;
        }
        let kind = entry.file_type().map_err(io("stat", &entry.path()))?;
        if kind.is_dir() {
            walk_local(&shown.join(name), &entry.path(), out)?;
        } else if kind.is_file() {
            let meta = entry.metadata().ok();
            out.push(FileEntry {
                path: shown.join(name),
                modified: meta.as_ref().and_then(|m| m.modified().ok()),
                size: meta.map(|m| m.len()).unwrap_or(0),
            });
        }
    }
    Ok(())
}

/// Deletes a file; a missing one is not an error.
pub fn delete(path: &Path) -> Result<(), StorageError> {
    match Location::parse(path)? {
        Location::Local(p) => match fs::remove_file(&p) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StorageError::io("remove", &p)(e)),
        },
        Location::Object { store, key } => match block_on(store.delete(&key)) {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(StorageError::object("delete", path)(e)),
        },
    }
}

/// Deletes everything under `dir` (hidden files too); a missing folder is
/// not an error.
pub fn delete_tree(dir: &Path) -> Result<(), StorageError> {
    match Location::parse(dir)? {
        Location::Local(p) => match fs::remove_dir_all(&p) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StorageError::io("remove folder", &p)(e)),
        },
        Location::Object { store, key } => block_on(async {
            let metas: Vec<object_store::ObjectMeta> = store.list(Some(&key)).try_collect().await?;
            for m in metas {
                match store.delete(&m.location).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        })
        .map_err(StorageError::object("delete under", dir)),
    }
}

/// Makes sure `dir` can receive files: creates the local folder (and its
/// parents); nothing to do on an object store, whose prefixes need no
/// creation.
pub fn ensure_dir(dir: &Path) -> Result<(), StorageError> {
    match Location::parse(dir)? {
        Location::Local(p) => fs::create_dir_all(&p).map_err(StorageError::io("create folder", &p)),
        Location::Object { .. } => Ok(()),
    }
}
