//! How a child's end becomes an error, with small shell scripts standing in
//! for the decoder (the real one is run by `tests/it/isolated_decode.rs`).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use panelflow_connectors::media::MediaSection;
use panelflow_models::media::source::MediaOpener;
use panelflow_models::media::MediaError;

use super::protocol;
use super::spawn::IsolatedDecoder;

/// A decoder running `script` (sh) under the given limits.
fn decoder(
    dir: &Path,
    script: &str,
    memory_mb: u64,
    cpu_s: u64,
    timeout_s: u64,
) -> IsolatedDecoder {
    let program = dir.join("decoder.sh");
    std::fs::write(&program, format!("#!/bin/sh\n{script}\n")).unwrap();
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut media = MediaSection::default();
    media.decoder.program = Some(program);
    media.decoder.memory_mb = Some(memory_mb);
    media.decoder.cpu_s = Some(cpu_s);
    media.decoder.timeout_s = Some(timeout_s);
    IsolatedDecoder::from_section(&media)
}

fn recording(dir: &Path) -> PathBuf {
    let p = dir.join("in.mp4");
    std::fs::write(&p, b"anything").unwrap();
    p
}

fn open_err(d: &IsolatedDecoder, file: &Path) -> MediaError {
    match d.open(file) {
        Ok(_) => panic!("the stand-in decoder succeeded"),
        Err(e) => e,
    }
}

#[test]
fn the_limits_follow_the_section() {
    let mut media = MediaSection {
        max_duration_s: 600.0,
        ..MediaSection::default()
    };
    let d = IsolatedDecoder::from_section(&media);
    let l = d.limits(3 << 30);
    assert_eq!(
        (l.memory_mb, l.cpu_s, l.timeout),
        (6144, 90, Duration::from_secs(180))
    );
    assert_eq!(d.limits(1000).memory_mb, 1024);
    media.decoder.memory_mb = Some(300);
    assert_eq!(
        IsolatedDecoder::from_section(&media)
            .limits(3 << 30)
            .memory_mb,
        300
    );
}

#[test]
fn the_child_runs_under_the_limits() {
    let dir = tempfile::tempdir().unwrap();
    let d = decoder(
        dir.path(),
        r#"echo "$(ulimit -v) $(ulimit -t) $(ulimit -c)" >&2; exit 7"#,
        700,
        42,
        60,
    );
    let err = open_err(&d, &recording(dir.path()));
    assert_eq!(err.code(), "media_corrupt");
    assert!(
        err.to_string().ends_with("(exit status 7): 716800 42 0"),
        "{err}"
    );
}

#[test]
fn an_allocation_failure_names_the_memory_limit() {
    let dir = tempfile::tempdir().unwrap();
    let d = decoder(
        dir.path(),
        r#"echo "memory allocation of 3288334336 bytes failed" >&2; kill -ABRT $$"#,
        1024,
        60,
        60,
    );
    let err = open_err(&d, &recording(dir.path()));
    assert_eq!(err.code(), "media_decoder_limit");
    assert_eq!(
        err.to_string(),
        "the media made the decoder exceed its memory limit (1024 MiB; it asked for 3288334336 bytes at once)"
    );
    // Killed outright (the kernel's OOM killer) says the same, without a size.
    let d = decoder(dir.path(), "kill -KILL $$", 512, 60, 60);
    let err = open_err(&d, &recording(dir.path()));
    assert_eq!(
        err.to_string(),
        "the media made the decoder exceed its memory limit (512 MiB)"
    );
}

#[test]
fn spinning_passes_the_cpu_limit() {
    let dir = tempfile::tempdir().unwrap();
    let d = decoder(dir.path(), "while :; do :; done", 1024, 1, 60);
    let started = Instant::now();
    let err = open_err(&d, &recording(dir.path()));
    assert_eq!(
        err.to_string(),
        "the media made the decoder exceed its CPU time limit (1 s)"
    );
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[test]
fn hanging_passes_the_time_limit_and_is_killed() {
    let dir = tempfile::tempdir().unwrap();
    let d = decoder(dir.path(), "exec sleep 60", 1024, 60, 1);
    let started = Instant::now();
    let err = open_err(&d, &recording(dir.path()));
    assert_eq!(
        err.to_string(),
        "the media made the decoder exceed its time limit (1 s)"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn the_childs_media_error_is_raised_as_itself() {
    let dir = tempfile::tempdir().unwrap();
    let line = protocol::error_line(&MediaError::Corrupt("truncated: 1.0 s of 4.0 s".into()));
    let d = decoder(
        dir.path(),
        &format!("echo '{line}' >&2; exit 2"),
        1024,
        60,
        60,
    );
    let err = open_err(&d, &recording(dir.path()));
    assert_eq!(err.code(), "media_corrupt");
    assert_eq!(
        err.to_string(),
        "corrupt or truncated audio: truncated: 1.0 s of 4.0 s"
    );
}

#[test]
fn a_program_that_is_not_a_decoder_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let d = decoder(dir.path(), "echo 'running 0 tests'; exit 0", 1024, 60, 60);
    let err = open_err(&d, &recording(dir.path()));
    assert_eq!(err.code(), "media_io");
    assert!(
        err.to_string()
            .contains("did not answer as a panelflow decoder"),
        "{err}"
    );
    let mut media = MediaSection::default();
    media.decoder.program = Some(dir.path().join("missing"));
    let err = open_err(
        &IsolatedDecoder::from_section(&media),
        &recording(dir.path()),
    );
    assert!(
        err.to_string().contains("cannot start the decoder"),
        "{err}"
    );
    // A missing recording is the same error as in-process.
    let err = open_err(&d, &dir.path().join("nothing.mp4"));
    assert_eq!(err.code(), "media_io");
}
