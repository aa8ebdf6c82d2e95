//! The fuzz targets' checks as plain tests, on stable: every seed and every
//! saved crash reproducer (`regressions/<target>/`) goes through the same
//! function the target calls. `cargo test --manifest-path fuzz/Cargo.toml`.

use std::path::Path;

fn dir(kind: &str, target: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(kind)
        .join(target)
}

fn replay(target: &str, check: impl Fn(&[u8])) {
    let seeds = panelflow_fuzz::replay_corpus(&dir("seeds", target), &check);
    let regressions = panelflow_fuzz::replay_corpus(&dir("regressions", target), &check);
    assert!(seeds > 0, "{target}: no seeds");
    eprintln!("{target}: {seeds} seeds, {regressions} regressions");
}

#[test]
fn webhooks() {
    use panelflow_core::webhook::*;
    replay("webhook_lever", |d| {
        panelflow_fuzz::webhook(&lever::LeverSource::new(&["video-done".into()]), d)
    });
    replay("webhook_generic", |d| {
        panelflow_fuzz::webhook(&generic::GenericSource, d)
    });
    replay("webhook_willo", |d| {
        panelflow_fuzz::webhook(&willo::WilloSource, d)
    });
    replay("webhook_sparkhire", |d| {
        panelflow_fuzz::webhook(&sparkhire::SparkHireSource, d)
    });
    replay("webhook_hirevue", |d| {
        panelflow_fuzz::webhook(&hirevue::HireVueSource, d)
    });
    replay("webhook_hireflix", |d| {
        panelflow_fuzz::webhook(&hireflix::HireflixSource, d)
    });
    replay("recording_links", panelflow_fuzz::recording_links);
}

/// The demuxer in-process, as the fuzz target runs it, on every seed and
/// reproducer — the ones under `regressions/media_decode/isolated/` too:
/// they made the demuxer ask for gigabytes until the checks before it
/// (`mp4_tables`, `flac_blocks`) refused them; the engine's
/// `tests/it/isolated_decode.rs` also replays them through the child with
/// those checks skipped, against its memory limit.
#[test]
fn media() {
    replay("media_decode", panelflow_fuzz::media_decode);
    let isolated = panelflow_fuzz::replay_corpus(
        &dir("regressions", "media_decode").join("isolated"),
        panelflow_fuzz::media_decode,
    );
    assert!(isolated >= 3, "{isolated} isolated reproducers");
}
