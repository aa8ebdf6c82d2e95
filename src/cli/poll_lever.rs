//! `panelflow poll-lever [--config F] [--once]`: the Lever poller
//! ([`crate::ingest::lever_poll`]) in rounds, or one round.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;

use crate::config::PipelineConfig;
use crate::ingest::lever_poll::LeverPoller;
use panelflow_connectors::lever::ratelimit::TokenBucket;

/// Runs `panelflow poll-lever`.
pub fn run(config: Option<&Path>, once: bool) -> anyhow::Result<()> {
    let cfg = PipelineConfig::load_or_default(config)?;
    let has_key = std::env::var(&cfg.lever.api_key_env).is_ok_and(|k| !k.is_empty());
    if cfg.lever.oauth.is_none() && !has_key {
        anyhow::bail!(
            "the Lever poller reads Lever's API: set ${} (or configure [lever.oauth])",
            cfg.lever.api_key_env
        );
    }
    let limiter = Arc::new(TokenBucket::new(cfg.lever.rate_per_s, cfg.lever.burst));
    let client = cfg.lever.client(limiter)?.with_context(|| {
        format!(
            "the Lever poller needs credentials: set ${}",
            cfg.lever.api_key_env
        )
    })?;
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async move {
        panelflow_connectors::kafka::ensure_topics(&cfg.kafka).await?;
        let mut poller = LeverPoller::new(&cfg, client)?;
        if once {
            let stats = poller.round().await?;
            println!(
                "polled {} opportunities: {} records published, {} retracted",
                stats.opportunities, stats.inserted, stats.retracted
            );
            return Ok(());
        }
        eprintln!(
            "panelflow poll-lever: {} every {} s → {}, {}, {}",
            cfg.lever.base_url,
            cfg.lever_poll.interval_s,
            cfg.kafka.ratings_topic,
            cfg.kafka.decisions_topic,
            cfg.kafka.demographics_topic
        );
        poller
            .run(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await;
        Ok(())
    })
}
