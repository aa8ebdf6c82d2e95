//! Locations: parsing a configured path or URL, and the object stores
//! (one per bucket, from the environment or registered).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::ObjectStore;

use super::error::StorageError;

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
