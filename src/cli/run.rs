//! `panelflow run --config dataflows/pilot.toml [--workers N]`.

use std::path::Path;
use std::sync::atomic::Ordering;

use crate::config::PipelineConfig;
use crate::pipeline::{self, RunOptions};

/// Loads the config (or the embedded defaults) and runs the dataflow until Ctrl-C / SIGTERM.
pub fn run(config: Option<&Path>, workers: usize, timely_args: Vec<String>) -> anyhow::Result<()> {
    let cfg = PipelineConfig::load_or_default(config)?;
    let mut opts = RunOptions::workers(workers);
    if !timely_args.is_empty() {
        opts.timely_args = timely_args;
    }
    let _metrics = match cfg.metrics.listen.as_deref() {
        Some(addr) => {
            let addr: std::net::SocketAddr = addr
                .parse()
                .map_err(|e| anyhow::anyhow!("[metrics] listen {addr:?}: {e}"))?;
            let server = crate::metrics::serve(addr)?;
            eprintln!("panelflow run: metrics on http://{}/metrics", server.addr());
            Some(server)
        }
        None => None,
    };
    let shutdown = opts.shutdown.clone();
    let stats = opts.stats.clone();
    std::thread::spawn(move || {
        let rt = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(_) => return,
        };
        rt.block_on(async {
            let _ = wait_for_signal().await;
        });
        tracing::info!("stopping: draining in-flight interviews, then committing offsets");
        shutdown.store(true, Ordering::SeqCst);
    });
    tracing::info!(pipeline = %cfg.pipeline.name, version = %cfg.pipeline.version, config_hash = %cfg.config_hash(), "starting");
    pipeline::run(cfg, opts)?;
    println!("{}", stats.snapshot());
    Ok(())
}

async fn wait_for_signal() -> std::io::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r,
        _ = term.recv() => Ok(()),
    }
}
