//! `panelflow serve --config FILE --listen ADDR`: the recruiters' review
//! page (see [`crate::review::server`]).
//!
//! The config names the queue folder (`[review] queue_dir`), the users and
//! roles (`[[review.users]]`, `[review.roles.<role>]`), the pilot group, the
//! aggregates dataset for the calibration view, the audit folder and Lever
//! (`PANELFLOW_LEVER_URL` and the API key variable as for `panelflow run`).
//! Sessions are signed with `PANELFLOW_REVIEW_SECRET` (at least 32 bytes, or
//! the server refuses to start; a random secret per process when unset:
//! sessions then end with the process).
//!
//! ```no_run
//! panelflow::cli::serve::run(
//!     Some(std::path::Path::new("dataflows/review.toml")),
//!     "127.0.0.1:8088".parse().unwrap(),
//! ).unwrap();
//! ```

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;

use crate::review::auth::Authenticator;
use crate::review::server::{serve, ReviewApp};
use panelflow_connectors::lever::ratelimit::TokenBucket;

/// `panelflow serve` arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Pipeline config (`[review]` users and roles, queue folder, Lever); embedded defaults otherwise.
    #[arg(long)]
    pub config: Option<std::path::PathBuf>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8088")]
    pub listen: SocketAddr,
}

/// `panelflow hash-token`: the `token_hash` of the token on stdin's first
/// line (a token is never taken from the command line, where `ps` and shell
/// histories would show it).
pub fn hash_token_from_stdin() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("reading the token from stdin")?;
    let token = line.trim();
    anyhow::ensure!(
        token.len() >= 16,
        "a review token must be at least 16 characters (use a random one)"
    );
    Ok(crate::review::auth::hash_token(token))
}

/// Runs `panelflow serve` with parsed arguments.
pub fn run_cli(args: &ServeArgs) -> anyhow::Result<()> {
    run(args.config.as_deref(), args.listen)
}

/// Serves the review page until Ctrl-C or SIGTERM.
pub fn run(config: Option<&Path>, listen: SocketAddr) -> anyhow::Result<()> {
    let cfg = crate::config::PipelineConfig::load_or_default(config)?;
    let auth = Authenticator::from_env(&cfg.review).context("review users")?;
    if auth.user_count() == 0 {
        tracing::warn!("no [[review.users]] configured: nobody can sign in");
    }
    if std::env::var(crate::review::auth::SECRET_ENV).is_err() {
        tracing::warn!(
            "{} is not set: sessions are signed with a random secret and end when the server stops",
            crate::review::auth::SECRET_ENV
        );
    }
    // Built outside the async runtime: the Lever client is blocking.
    let limiter = Arc::new(TokenBucket::new(cfg.lever.rate_per_s, cfg.lever.burst));
    // The page is useful without Lever (reviewing, rejecting); approvals
    // then fail with the reason and are retried once credentials are set.
    let lever = match cfg.lever.client(limiter) {
        Ok(Some(client)) => Some(client),
        Ok(None) | Err(_) => {
            tracing::warn!(
                "no Lever credentials (${}): approvals will be recorded but their write-back fails until they are set",
                cfg.lever.api_key_env
            );
            None
        }
    };
    let app = Arc::new(ReviewApp::new(cfg, auth, lever).context("review server")?);
    let rt = tokio::runtime::Runtime::new()?;
    let served = Arc::clone(&app);
    rt.block_on(async move {
        let app = served;
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("binding {listen}"))?;
        eprintln!(
            "panelflow review page on http://{}/ (queue {})",
            listener.local_addr()?,
            app.queue().dir().display()
        );
        serve(listener, app, async {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(t) => t,
                    Err(_) => {
                        let _ = tokio::signal::ctrl_c().await;
                        return;
                    }
                };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {},
                _ = term.recv() => {},
            }
        })
        .await?;
        Ok::<(), anyhow::Error>(())
    })?;
    // The runtime goes first; the app's blocking client is dropped outside it.
    drop(rt);
    drop(app);
    Ok(())
}
