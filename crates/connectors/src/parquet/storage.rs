//! Where the Parquet datasets live: a local folder or an S3-compatible
//! object store, behind one set of blocking calls that the sinks and every
//! reader use.
//!
//! # Locations
//! A dataset's root is configured as before (`[sinks] parquet_dir`,
//! `[output] dir`, `PANELFLOW_OUT`, `--out`) and may be
//! - a plain path (`out/parquet`, `/var/lib/panelflow/parquet`),
//! - a `file://` URL (`file:///var/lib/panelflow/parquet`), or
//! - an S3 URL (`s3://bucket/prefix`, also `s3a://`), served through the
//!   [`object_store`] crate.
//!
//! It stays a [`Path`] in the configuration and in the APIs (an S3 URL is a
//! valid path string, and `join` appends keys to it), so callers keep
//! building file and folder names as they did; only this module looks at
//! the scheme.
//!
//! # Credentials and endpoint
//! From the environment, as every AWS tool reads them: `AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`,
//! `AWS_ENDPOINT_URL` (or `AWS_ENDPOINT`) for an S3-compatible server
//! (MinIO, Ceph, R2, moto), web identity and container credentials. A plain
//! `http://` endpoint is allowed without `AWS_ALLOW_HTTP` (a local server);
//! path-style requests are used unless `AWS_VIRTUAL_HOSTED_STYLE_REQUEST`
//! says otherwise. [`register`] installs a store for a bucket explicitly
//! (tests, or credentials from elsewhere).
//!
//! # Atomicity
//! A reader never sees part of a file. On object storage an object appears
//! whole when its single `PUT` completes; locally a file is written to a
//! hidden temporary file in its final folder (`.part-…​.tmp`), fsynced,
//! renamed into place and the folder fsynced. [`put_if_absent`] creates an
//! object only when none exists (S3 `If-None-Match: *`; locally a hard link,
//! which fails when the name is taken) — what the key index of the
//! interviews table claims keys with.
//!
//! ```
//! use panelflow_connectors::parquet::storage;
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let file = dir.path().join("t/date=2026-01-01/part-1.parquet");
//! storage::put(&file, b"PAR1".to_vec(), true)?;
//! assert!(!storage::put_if_absent(&file, b"other".to_vec())?, "the name is taken");
//! assert_eq!(storage::get(&file)?.as_deref(), Some(&b"PAR1"[..]));
//! let files = storage::list_files(&dir.path().join("t"))?;
//! assert_eq!(files.len(), 1);
//! assert!(storage::is_object_store(std::path::Path::new("s3://bucket/prefix")));
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::fs::{self, File};
use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::SystemTime;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};

/// Prefix of the local temporary files (hidden from readers and globs).
pub const TEMP_PREFIX: &str = ".part-";
/// Suffix of the local temporary files.
pub const TEMP_SUFFIX: &str = ".parquet.tmp";
/// Mode of the files written locally (before the umask): readable by all,
/// as analysts' tools need.
#[cfg(unix)]
const FILE_MODE: u32 = 0o644;

/// Errors of the storage layer; each names the location involved.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// A local file-system operation failed.
    #[error("{op} {}: {source}", path.display())]
    Io {
        /// What was being done.
        op: &'static str,
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// An object-store request failed.
    #[error("{op} {}: {source}", path.display())]
    Object {
        /// What was being done.
        op: &'static str,
        /// The location.
        path: PathBuf,
        /// Why.
        #[source]
        source: object_store::Error,
    },
    /// The location is not a path or a supported URL.
    #[error("storage location {location:?}: {reason}")]
    Location {
        /// The location as configured.
        location: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl StorageError {
    fn io<'a>(
        op: &'static str,
        path: &'a Path,
    ) -> impl FnOnce(std::io::Error) -> StorageError + 'a {
        move |source| StorageError::Io {
            op,
            path: path.to_path_buf(),
            source,
        }
    }
    fn object<'a>(
        op: &'static str,
        path: &'a Path,
    ) -> impl FnOnce(object_store::Error) -> StorageError + 'a {
        move |source| StorageError::Object {
            op,
            path: path.to_path_buf(),
            source,
        }
    }
}

/// A resolved location: a local path, or an object store and a key.
#[derive(Clone, Debug)]
pub enum Location {
    /// A local file or folder.
    Local(PathBuf),
    /// An object (or a prefix) in an object store.
    Object {
        /// The store (one per bucket, shared).
        store: Arc<dyn ObjectStore>,
        /// The key (or prefix) in it.
        key: ObjectPath,
    },
}

/// The URL scheme of `path` (`s3` in `s3://b/p`), if it is a URL.
fn scheme(path: &Path) -> Option<(&str, &str)> {
    let s = path.to_str()?;
    let (scheme, rest) = s.split_once("://")?;
    (!scheme.is_empty()
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '+'))
    .then_some((scheme, rest))
}

/// Whether `path` names an object store (`s3://…`) rather than a local path.
pub fn is_object_store(path: &Path) -> bool {
    matches!(scheme(path), Some((s, _)) if s != "file")
}

impl Location {
    /// Resolves a configured path or URL.
    ///
    /// ```
    /// use panelflow_connectors::parquet::storage::Location;
    /// use std::path::Path;
    /// assert!(matches!(Location::parse(Path::new("file:///tmp/x")).unwrap(), Location::Local(p) if p == Path::new("/tmp/x")));
    /// assert!(matches!(Location::parse(Path::new("out/p")).unwrap(), Location::Local(_)));
    /// assert!(Location::parse(Path::new("gopher://x/y")).is_err());
    /// ```
    pub fn parse(path: &Path) -> Result<Location, StorageError> {
        let Some((scheme, rest)) = scheme(path) else {
            return Ok(Location::Local(path.to_path_buf()));
        };
        let bad = |reason: &str| StorageError::Location {
            location: path.display().to_string(),
            reason: reason.to_string(),
        };
        match scheme {
            "file" => {
                let local = rest.strip_prefix("localhost").unwrap_or(rest);
                if !local.starts_with('/') {
                    return Err(bad("a file:// URL needs an absolute path"));
                }
                Ok(Location::Local(PathBuf::from(local)))
            }
            "s3" | "s3a" => {
                let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
                if bucket.is_empty() {
                    return Err(bad("no bucket"));
                }
                let store = store_for(scheme, bucket).map_err(|e| bad(&e.to_string()))?;
                let key = ObjectPath::parse(key.trim_matches('/'))
                    .map_err(|e| bad(&format!("invalid key: {e}")))?;
                Ok(Location::Object { store, key })
            }
            other => Err(bad(&format!(
                "unsupported scheme {other}:// (a path, file:// or s3://)"
            ))),
        }
    }
}

type Stores = Mutex<HashMap<String, Arc<dyn ObjectStore>>>;

fn stores() -> &'static Stores {
    static STORES: OnceLock<Stores> = OnceLock::new();
    STORES.get_or_init(Default::default)
}

/// Installs `store` for the bucket of `url` (`s3://bucket`): later
/// locations in that bucket use it instead of one configured from the
/// environment.
///
/// ```
/// use std::sync::Arc;
/// use object_store::aws::AmazonS3Builder;
/// let s3 = AmazonS3Builder::new().with_bucket_name("b1").with_region("us-east-1")
///     .with_endpoint("http://127.0.0.1:9").with_allow_http(true).build().unwrap();
/// panelflow_connectors::parquet::storage::register("s3://b1", Arc::new(s3)).unwrap();
/// ```
pub fn register(url: &str, store: Arc<dyn ObjectStore>) -> Result<(), StorageError> {
    let bad = |reason: &str| StorageError::Location {
        location: url.to_string(),
        reason: reason.to_string(),
    };
    let (scheme, rest) = scheme(Path::new(url)).ok_or_else(|| bad("not a URL"))?;
    let bucket = rest.split('/').next().unwrap_or_default();
    if bucket.is_empty() {
        return Err(bad("no bucket"));
    }
    let scheme = if scheme == "s3a" { "s3" } else { scheme };
    stores()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(format!("{scheme}://{bucket}"), store);
    Ok(())
}

/// An S3 store for `bucket` configured from the environment.
///
/// ```
/// let s3 = panelflow_connectors::parquet::storage::s3_from_env("my-bucket");
/// assert!(s3.is_ok());
/// ```
pub fn s3_from_env(bucket: &str) -> Result<Arc<dyn ObjectStore>, object_store::Error> {
    let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
    let endpoint = std::env::var("AWS_ENDPOINT_URL")
        .or_else(|_| std::env::var("AWS_ENDPOINT"))
        .unwrap_or_default();
    if endpoint.starts_with("http://") {
        builder = builder.with_allow_http(true);
    }
    Ok(Arc::new(builder.build()?))
}

/// An S3 store for `bucket` configured by `options`, the names of the
/// environment variables (`AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`, …) or
/// their lower-case forms, without reading the environment.
///
/// ```
/// use panelflow_connectors::parquet::storage;
/// let s3 = storage::s3_with_options("b2", &[("AWS_ENDPOINT_URL", "http://127.0.0.1:9"), ("AWS_ALLOW_HTTP", "true")]).unwrap();
/// storage::register("s3://b2", s3).unwrap();
/// assert!(storage::s3_with_options("b3", &[("AWS_NO_SUCH_OPTION", "1")]).is_err());
/// ```
pub fn s3_with_options(
    bucket: &str,
    options: &[(&str, &str)],
) -> Result<Arc<dyn ObjectStore>, StorageError> {
    let mut builder = AmazonS3Builder::new().with_bucket_name(bucket);
    for (k, v) in options {
        let key = k
            .to_ascii_lowercase()
            .parse()
            .map_err(|e: object_store::Error| StorageError::Location {
                location: format!("s3://{bucket}"),
                reason: format!("option {k}: {e}"),
            })?;
        builder = builder.with_config(key, *v);
    }
    let store = builder.build().map_err(|e| StorageError::Location {
        location: format!("s3://{bucket}"),
        reason: e.to_string(),
    })?;
    Ok(Arc::new(store))
}

fn store_for(scheme: &str, bucket: &str) -> Result<Arc<dyn ObjectStore>, object_store::Error> {
    let scheme = if scheme == "s3a" { "s3" } else { scheme };
    let name = format!("{scheme}://{bucket}");
    let mut map = stores().lock().unwrap_or_else(|p| p.into_inner());
    if let Some(s) = map.get(&name) {
        return Ok(s.clone());
    }
    let store = s3_from_env(bucket)?;
    map.insert(name, store.clone());
    Ok(store)
}

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

fn local_parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Creates `dir` and, when it was missing, fsyncs its parent so the new
/// entry is durable.
fn create_dir_all_durable(dir: &Path) -> Result<(), StorageError> {
    if dir.is_dir() {
        return Ok(());
    }
    fs::create_dir_all(dir).map_err(StorageError::io("create folder", dir))?;
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        sync_dir(parent)?;
    }
    Ok(())
}

fn write_temp(
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

fn put_local(path: &Path, bytes: &[u8], durable: bool) -> Result<(), StorageError> {
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

fn sync_dir(dir: &Path) -> Result<(), StorageError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(StorageError::io("fsync folder", dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_put_is_atomic_and_lists_skip_hidden_names() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        put(&root.join("t/date=1/a.parquet"), vec![1, 2, 3], true).expect("put");
        put(&root.join("t/_keys/x"), vec![9], true).expect("put hidden");
        fs::write(root.join("t/date=1/.part-x.parquet.tmp"), b"half").expect("temp");
        let files = list_files(&root.join("t")).expect("list");
        assert_eq!(files.len(), 1, "{files:?}");
        assert_eq!(files[0].path, root.join("t/date=1/a.parquet"));
        assert_eq!(files[0].size, 3);
        assert!(list_files(&root.join("missing")).expect("list").is_empty());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(root.join("t/date=1/a.parquet"))
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o044, 0o044, "readable by analysts' tools");
        }
    }

    #[test]
    fn put_if_absent_claims_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("k/a");
        assert!(put_if_absent(&p, b"first".to_vec()).expect("claim"));
        assert!(!put_if_absent(&p, b"second".to_vec()).expect("taken"));
        assert_eq!(get(&p).expect("get").as_deref(), Some(&b"first"[..]));
        delete(&p).expect("delete");
        delete(&p).expect("deleting twice is fine");
        assert!(!exists(&p).expect("exists"));
        let leftovers: Vec<_> = fs::read_dir(dir.path().join("k")).expect("dir").collect();
        assert!(
            leftovers.is_empty(),
            "no temporary file left: {leftovers:?}"
        );
    }

    #[test]
    fn urls_resolve() {
        assert!(matches!(
            Location::parse(Path::new("s3://bucket/a/b")).expect("s3"),
            Location::Object { key, .. } if key.as_ref() == "a/b"
        ));
        assert!(Location::parse(Path::new("s3:///x")).is_err());
        assert!(Location::parse(Path::new("file://relative")).is_err());
        assert!(!is_object_store(Path::new("file:///x")));
        assert!(!is_object_store(Path::new("/x/y")));
        assert!(is_object_store(Path::new("s3a://b")));
    }
}
