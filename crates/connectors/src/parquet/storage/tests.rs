//! Unit tests of the storage layer.

use std::fs;
use std::path::Path;

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
