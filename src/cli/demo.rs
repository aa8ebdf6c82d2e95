//! `panelflow demo [--out DIR]`: starts what is not running (the Tansu
//! broker, the Lever emulator, a media server over `datasets/`, ingest and
//! the dataflow), posts the dataset's signed webhooks, waits for every
//! interview, plays two panelists in Lever and polls it for their
//! scorecards, and says where everything went.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::{json, Value};

use crate::config::PipelineConfig;
use crate::pipeline::{self, RunOptions};
use panelflow_core::webhook::signature::sign_body;
use panelflow_devkit::broker::Broker;
use panelflow_devkit::dataset::{generic_webhook, load_manifest};
use panelflow_devkit::emulator::{self, EmulatorConfig};
use panelflow_devkit::media_server::MediaServer;

/// API key the demo's Lever emulator accepts.
const DEMO_LEVER_KEY: &str = "demo-lever-key";
/// Shared secret of the demo's generic webhooks.
const DEMO_GENERIC_SECRET: &str = "demo-generic-secret";
/// Longest the demo waits for the dataflow.
const DEMO_TIMEOUT: Duration = Duration::from_secs(900);

/// The components' log under the demo's output folder (unless `-v`).
pub const LOG_FILE: &str = "panelflow.log";

/// What a demo writes under its output folder (and clears before it runs).
const DEMO_PARTS: [&str; 11] = [
    "broker",
    "ingest",
    "lever",
    "lever_poll",
    "parquet",
    "review",
    "audit",
    "aggregates",
    "pipeline.toml",
    "audit.html",
    "briefing.pdf",
];

/// Runs the demo (afresh: the demo's own folders under `out` are cleared first).
pub fn run(out: &Path, workers: usize) -> anyhow::Result<()> {
    run_with(out, workers, None)
}

/// [`run`], with the Parquet dataset and the aggregates under `store` (a
/// folder or an `s3://bucket/prefix` URL: `STORE/parquet`,
/// `STORE/aggregates`, cleared first) instead of under `out`.
pub fn run_with(out: &Path, workers: usize, store: Option<&Path>) -> anyhow::Result<()> {
    let started = Instant::now();
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let out = out.canonicalize()?;
    // Each demo starts afresh: what an earlier demo left here (its broker
    // log, Lever state, Parquet keys, audit log, queue) would make this one
    // skip every interview as already done. Only the demo's own folders go.
    for part in DEMO_PARTS {
        let path = out.join(part);
        let removed = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else if path.exists() {
            std::fs::remove_file(&path)
        } else {
            continue;
        };
        removed.with_context(|| format!("clearing the earlier demo's {}", path.display()))?;
        eprintln!("[demo] cleared the earlier demo's {}", path.display());
    }
    let data_root = store.map(Path::to_path_buf).unwrap_or_else(|| out.clone());
    if store.is_some() {
        for part in ["parquet", "aggregates"] {
            let path = data_root.join(part);
            panelflow_connectors::parquet::storage::delete_tree(&path)
                .with_context(|| format!("clearing the earlier demo's {}", path.display()))?;
        }
        eprintln!(
            "[demo] Parquet and aggregates go to {}",
            data_root.display()
        );
    }
    let datasets = crate::cli::datasets_dir();
    let interviews = load_manifest(&datasets)?;

    // The broker: an existing one named by PANELFLOW_BROKERS, else our own.
    let mut _broker = None;
    let brokers = match std::env::var("PANELFLOW_BROKERS") {
        Ok(b) => b,
        Err(_) => {
            let b = Broker::start(&out.join("broker"), None)
                .context("starting the Tansu broker (run bash scripts/setup.sh)")?;
            let addr = b.bootstrap();
            _broker = Some(b);
            addr
        }
    };
    eprintln!("[demo] Kafka broker at {brokers}");

    // The Lever emulator, seeded with the dataset's opportunities, postings
    // (with their application questions) and applications.
    let lever_dir = out.join("lever");
    panelflow_devkit::dataset::seed_lever(&datasets, &lever_dir)?;
    let lever = emulator::spawn(EmulatorConfig {
        api_key: DEMO_LEVER_KEY.into(),
        ..EmulatorConfig::new(&lever_dir)
    })?;
    eprintln!("[demo] Lever emulator at {}", lever.base_url());

    let media = MediaServer::start(&datasets)?;
    eprintln!(
        "[demo] media server over {} at {}",
        datasets.display(),
        media.url("")
    );

    let mut cfg = PipelineConfig::default();
    cfg.pipeline.name = "demo".into();
    cfg.kafka.brokers = brokers;
    cfg.kafka.group_id = format!("panelflow-demo-{}", std::process::id());
    cfg.lever.base_url = lever.base_url();
    cfg.sinks.parquet_dir = data_root.join("parquet");
    cfg.review.queue_dir = out.join("review");
    cfg.review.aggregates_dir = data_root.join("aggregates");
    cfg.governance.audit_dir = out.join("audit");
    cfg.governance.aggregates_dir = data_root.join("aggregates");
    cfg.media.allow_private_networks = true; // the media server is on loopback
                                             // The debrief briefing, on in this pilot for the demo, at the on-site stage.
    cfg.briefing.enabled = Some(true);
    cfg.briefing.stages = vec!["On-site interview".into()];
    cfg.ingest.state_dir = out.join("ingest"); // the replay store and tombstones
    cfg.ingest
        .secrets
        .insert("generic".into(), DEMO_GENERIC_SECRET.into());
    // Safe here: the demo is single-process and sets it before any thread reads it.
    unsafe {
        std::env::set_var(&cfg.lever.api_key_env, DEMO_LEVER_KEY);
    }

    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(panelflow_connectors::kafka::ensure_topics(&cfg.kafka))?;
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let ingest_url = format!("http://{}", listener.local_addr()?);
    let ingest_cfg = cfg.clone();
    rt.spawn(async move {
        if let Err(e) = crate::ingest::serve(listener, ingest_cfg).await {
            tracing::error!(error = %format!("{e:#}"), "ingest stopped");
        }
    });
    eprintln!("[demo] ingest at {ingest_url}");

    let opts = RunOptions::workers(workers);
    let (stats, shutdown) = (opts.stats.clone(), opts.shutdown.clone());
    let run_cfg = cfg.clone();
    let dataflow = std::thread::spawn(move || pipeline::run(run_cfg, opts));

    // Post every interview, plus the dataset's corrupt file (a failure case).
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let mut posts: Vec<Value> = interviews
        .iter()
        .map(|it| generic_webhook(it, &media))
        .collect();
    if datasets.join("bad/corrupt.mp4").exists() {
        posts.push(generic_webhook(
            &panelflow_devkit::dataset::DemoInterview {
                interview_id: "demo-corrupt-media".into(),
                candidate_id: "demo-candidate-corrupt".into(),
                opportunity_id: interviews
                    .first()
                    .map(|i| i.opportunity_id.clone())
                    .unwrap_or_default(),
                media: vec![("bad/corrupt.mp4".into(), None, None)],
            },
            &media,
        ));
    }
    let mut accepted = 0u64;
    for body in &posts {
        let raw = serde_json::to_vec(body)?;
        let response = client
            .post(format!("{ingest_url}/webhooks/generic"))
            .header("content-type", "application/json")
            .header(
                "x-panelflow-signature",
                sign_body(&raw, DEMO_GENERIC_SECRET.as_bytes()),
            )
            .body(raw)
            .send()?;
        if response.status().as_u16() == 202 {
            accepted += 1;
        } else {
            eprintln!(
                "[demo] webhook refused: {} {}",
                response.status(),
                response.text().unwrap_or_default()
            );
        }
    }
    eprintln!(
        "[demo] posted {} signed webhooks, {accepted} accepted; waiting for the dataflow",
        posts.len()
    );

    // Progress, not logs: interviews transcribed, failed and noted in Lever.
    let bar = indicatif::ProgressBar::new(accepted);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "[demo] {bar:30} {pos}/{len} interviews done · {msg} · {elapsed}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let deadline = Instant::now() + DEMO_TIMEOUT;
    loop {
        let (transcribed, failed, duplicates, noted) = (
            stats.transcribed.load(Ordering::Relaxed),
            stats.failed.load(Ordering::Relaxed),
            stats.duplicates.load(Ordering::Relaxed),
            stats.noted.load(Ordering::Relaxed),
        );
        let done = transcribed + failed + duplicates;
        bar.set_position(done.min(accepted));
        bar.set_message(format!(
            "{transcribed} transcribed, {failed} failed, {noted} noted in Lever"
        ));
        if done >= accepted {
            break;
        }
        if dataflow.is_finished() || Instant::now() > deadline {
            bar.abandon();
            shutdown.store(true, Ordering::SeqCst);
            let result = dataflow
                .join()
                .map_err(|_| anyhow::anyhow!("dataflow panicked"))?;
            result?;
            bail!(
                "the dataflow stopped after {done} of {accepted} interviews (log: {})",
                out.join(LOG_FILE).display()
            );
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    bar.finish();
    shutdown.store(true, Ordering::SeqCst);
    dataflow
        .join()
        .map_err(|_| anyhow::anyhow!("dataflow panicked"))??;

    let notes: usize = interviews
        .iter()
        .map(|i| i.opportunity_id.clone())
        .collect::<std::collections::BTreeSet<_>>()
        .iter()
        .map(|o| lever.notes(o).len())
        .sum();
    let parquet = cfg.sinks.parquet_dir.display().to_string();
    println!(
        "panelflow demo finished in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    println!("  interviews posted:  {}", posts.len());
    println!(
        "  transcribed:        {}",
        stats.transcribed.load(Ordering::Relaxed)
    );
    println!(
        "  failed:             {}",
        stats.failed.load(Ordering::Relaxed)
    );
    println!(
        "  Lever notes:        {notes} (emulator records: {})",
        lever_dir.join("requests.jsonl").display()
    );
    println!("  Parquet:            {parquet}");
    println!("  component logs:     {}", out.join(LOG_FILE).display());
    // The demo's pipeline, so explain/export/serve can be pointed at its output.
    let pipeline_file = out.join("pipeline.toml");
    std::fs::write(&pipeline_file, toml::to_string(&cfg)?)
        .with_context(|| format!("writing {}", pipeline_file.display()))?;
    let audit = panelflow_connectors::store::audit::AuditLog::open(&cfg.governance.audit_dir)?;
    println!(
        "  audit log:          {} events in {}",
        audit.read_all()?.len(),
        audit.path().display(),
    );
    println!(
        "  one interview's story: panelflow explain {} --config {}",
        interviews
            .first()
            .map(|i| i.interview_id.as_str())
            .unwrap_or("ID"),
        pipeline_file.display()
    );
    println!("  look at it with DuckDB:");
    println!(
        "    {} -c \"import duckdb; duckdb.sql(\\\"select interview_id, outcome, round(duration_s,1) as s, words, round(words_per_minute) as wpm, failure_reason from read_parquet('{parquet}/interviews/**/*.parquet', hive_partitioning=true) order by interview_id\\\").show()\"",
        panelflow_devkit::paths::venv_python().display()
    );
    // The blocking Lever client is made (and finally dropped) outside the
    // runtime: its own runtime may not be built or dropped inside one.
    let panel_client = {
        use panelflow_connectors::lever::client::{ClientOptions, LeverAuth, LeverClient};
        LeverClient::new(
            &cfg.lever.base_url,
            LeverAuth::ApiKey(DEMO_LEVER_KEY.into()),
            ClientOptions::default(),
        )?
    };
    let polled = rt.block_on(play_panel_and_poll(
        &lever,
        &cfg,
        &datasets,
        &out,
        panel_client.clone(),
    ))?;
    drop(panel_client);
    println!(
        "  Lever poll:         {} opportunities read: {} records to the ratings, decisions and demographics topics",
        polled.opportunities, polled.inserted
    );
    populate(&out, &data_root, &cfg.kafka.brokers)?;
    brief_and_draft(&cfg, &out, &datasets)?;
    Ok(())
}

/// The debrief side of the demo, for the candidate the panel moved on: the
/// hiring manager's briefing (a PDF file and a secret note in Lever, with a
/// copy at `OUT/briefing.pdf`), and the candidate's feedback draft through
/// the review page's own routes, saved as a secret note (never sent).
fn brief_and_draft(cfg: &PipelineConfig, out: &Path, datasets: &Path) -> anyhow::Result<()> {
    use crate::briefing::{compose::Verdict, pdf, replace, BriefingConfig};
    use crate::review::auth::{
        hash_token_with, Authenticator, ReviewUser, Role, MIN_TOKEN_HASH_ITERATIONS,
    };
    use panelflow_connectors::lever::client::{ClientOptions, LeverAuth, LeverClient};

    let path = datasets.join("lever_opportunities.json");
    let opportunities: Vec<Value> = serde_json::from_slice(
        &std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?,
    )?;
    let opp = opportunities
        .first()
        .and_then(|o| o["id"].as_str())
        .context("no opportunity in lever_opportunities.json")?
        .to_owned();
    let client = LeverClient::new(
        &cfg.lever.base_url,
        LeverAuth::ApiKey(DEMO_LEVER_KEY.into()),
        ClientOptions::default(),
    )?;
    let (report, briefing) = replace::brief(&client, &BriefingConfig::from(cfg), &opp, "demo")?;
    match &briefing {
        Some(b) => {
            let copy = out.join("briefing.pdf");
            std::fs::write(&copy, pdf::render(b))?;
            let diverging = b
                .competencies
                .iter()
                .filter(|c| c.verdict == Verdict::Diverge)
                .count();
            println!(
                "  briefing:           {} — {} competencies ({diverging} diverging), PDF file {} and a secret note on opportunity {opp}; a copy at {}",
                b.candidate,
                b.competencies.len(),
                report.file_id.as_deref().unwrap_or("-"),
                copy.display()
            );
        }
        None => println!(
            "  briefing:           none for {opp} ({})",
            report.skipped.as_deref().unwrap_or("not written")
        ),
    }

    // The feedback draft, through the review server as a recruiter uses it.
    let token = format!("demo-{}", uuid::Uuid::new_v4().simple());
    let mut rcfg = cfg.clone();
    rcfg.review.users = vec![ReviewUser {
        name: "demo-recruiter".into(),
        role: Role::Recruiter,
        groups: vec![cfg.review.pilot_group.clone()],
        token_hash: Some(hash_token_with(&token, MIN_TOKEN_HASH_ITERATIONS)),
        token_sha256: None,
        token_env: None,
    }];
    let item = panelflow_connectors::store::queue::ReviewQueue::open_for(
        &cfg.review.queue_dir,
        &cfg.governance,
    )?
    .latest()?
    .into_iter()
    .find(|i| i.opportunity_id == opp && !i.summary.is_null());
    let Some(item) = item else {
        println!("  feedback draft:     no analysed interview of {opp} in the review queue");
        return Ok(());
    };
    // A fresh 32-byte session secret (the page's minimum).
    let secret = [uuid::Uuid::new_v4(), uuid::Uuid::new_v4()]
        .iter()
        .flat_map(|u| *u.as_bytes())
        .collect();
    let auth = Authenticator::new(&rcfg.review, secret)?;
    let app = crate::review::server::ReviewApp::new(&rcfg, auth, Some(client))?;
    let server = crate::review::server::spawn(app, "127.0.0.1:0".parse()?)?;
    let url = format!(
        "{}/feedback/{}",
        server.url(),
        crate::review::page::path_segment(&item.interview_id)
    );
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let view: Value = http
        .get(&url)
        .bearer_auth(&token)
        .header("accept", "application/json")
        .send()?
        .json()?;
    let Some(text) = view["text"].as_str() else {
        println!(
            "  feedback draft:     none for {} ({})",
            item.interview_id,
            view["message"].as_str().unwrap_or("no draft")
        );
        server.stop();
        return Ok(());
    };
    let saved: Value = http
        .post(&url)
        .bearer_auth(&token)
        .header("accept", "application/json")
        .form(&[("draft", text)])
        .send()?
        .json()?;
    server.stop();
    let items = view["draft"]["items"].as_array().map_or(0, Vec::len);
    println!(
        "  feedback draft:     {items} points for {} ({}), saved as the secret note \"Feedback draft (not sent)\" {}; edit it at /feedback/{} on panelflow serve",
        item.interview_id,
        view["decision"].as_str().unwrap_or("decided"),
        saved["note_id"].as_str().unwrap_or("(not saved)"),
        item.interview_id
    );
    Ok(())
}

/// The human side of the demo, through the real producer: the demo plays
/// two panelists in the Lever emulator (scorecards on three candidates, one
/// moved on to the on-site stage) and three candidates answer the EEO
/// survey; then one round of `panelflow poll-lever` publishes what Lever now
/// holds to the aggregates' topics.
async fn play_panel_and_poll(
    lever: &emulator::EmulatorHandle,
    cfg: &PipelineConfig,
    datasets: &Path,
    out: &Path,
    client: panelflow_connectors::lever::client::LeverClient,
) -> anyhow::Result<crate::ingest::lever_poll::RoundStats> {
    let read = |name: &str| -> anyhow::Result<Vec<Value>> {
        let path = datasets.join(name);
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_slice(&bytes).with_context(|| format!("parsing {}", path.display()))
    };
    let stages = read("lever_stages.json")?;
    let users = read("lever_users.json")?;
    let opportunities = read("lever_opportunities.json")?;
    lever.add_resources("stages", stages.clone())?;
    lever.add_resources(
        "feedback_templates",
        vec![
            json!({"id": "demo-onsite-scorecard", "text": "Video interview review", "fields": [
                {"id": "rating", "type": "score-system", "text": "Rating"},
                {"id": "skills", "type": "scorecard", "text": "Skills",
                 "scores": [{"text": "Communication"}, {"text": "Problem solving"}]},
            ]}),
        ],
    )?;
    let stage_id = |text: &str| {
        stages
            .iter()
            .find(|s| s["text"] == text)
            .and_then(|s| s["id"].as_str())
            .map(str::to_owned)
            .with_context(|| format!("no {text:?} stage in lever_stages.json"))
    };
    let (video, onsite) = (
        stage_id("One-way video interview")?,
        stage_id("On-site interview")?,
    );
    let panelists: Vec<String> = users
        .iter()
        .filter_map(|u| u["id"].as_str().map(str::to_owned))
        .take(2)
        .collect();
    let opportunity_ids: Vec<String> = opportunities
        .iter()
        .filter_map(|o| o["id"].as_str().map(str::to_owned))
        .take(3)
        .collect();
    let mut cfg = cfg.clone();
    cfg.lever.trigger_stages = vec![video];
    cfg.lever_poll.state_file = Some(out.join("lever_poll").join("state.json"));
    let now = chrono::Utc::now().timestamp_millis();
    let answers = [
        ("Female", "Asian"),
        ("Male", "Black or African American"),
        ("Female", "White"),
    ];
    let stats = tokio::task::spawn_blocking({
        let client = client.clone();
        move || -> anyhow::Result<Vec<Value>> {
            let mut eeo = Vec::new();
            for (i, opp) in opportunity_ids.iter().enumerate() {
                for (j, panelist) in panelists.iter().enumerate() {
                    let score = 2 + ((i + j) % 3) as i64; // 2..=4
                    client.add_feedback(opp, panelist, json!({
                        "baseTemplateId": "demo-onsite-scorecard",
                        "fieldValues": [
                            {"id": "rating", "value": format!("{score}")},
                            {"id": "skills", "value": [{"score": score}, {"score": (score - 1).max(1)}]},
                        ]
                    }))?;
                }
                let (sex, race) = answers[i % answers.len()];
                eeo.push(json!({"id": format!("demo-eeo-{i}"), "opportunityId": opp,
                                "gender": sex, "race": race, "createdAt": now}));
            }
            if let (Some(first), Some(panelist)) = (opportunity_ids.first(), panelists.first()) {
                client.change_stage(first, &onsite, Some(panelist))?;
            }
            Ok(eeo)
        }
    })
    .await??;
    lever.add_resources("eeo_responses", stats)?;
    let mut poller = crate::ingest::lever_poll::LeverPoller::new(&cfg, client)?;
    poller.round().await
}

/// The demo's default output folder.
pub fn default_out() -> PathBuf {
    PathBuf::from("out/demo")
}

/// The demo's simulated population ([`panelflow_devkit::simulate::demo_population`])
/// sent to the demo's broker and aggregated into `data_root/aggregates` by a
/// `panelflow aggregate` dataflow; prints where the audit is.
fn populate(out: &Path, data_root: &Path, brokers: &str) -> anyhow::Result<()> {
    let population = panelflow_devkit::simulate::demo_population();
    let sent = panelflow_devkit::simulate::send_demo_population(brokers)?;
    eprintln!(
        "[demo] simulated {} candidates: {sent} messages to the aggregates' topics",
        population.candidates
    );
    let agg_out = data_root.join("aggregates");
    let mut rcfg = crate::aggregates::runner::RunnerConfig::default();
    rcfg.kafka.brokers = brokers.into();
    rcfg.kafka.group_id = format!("panelflow-aggregate-demo-{}", std::process::id());
    rcfg.output.dir = agg_out.clone();
    crate::aggregates::runner::run(&rcfg, 2, true, Some(Duration::from_secs(300)))?;
    println!("  bias audit, calibration, drift: {} (injected: female advanced ×0.6; rubric@1.0 +0.4 from week 4)", agg_out.display());
    println!(
        "  the audit report:   panelflow audit {} --html {}",
        data_root.display(),
        out.join("audit.html").display()
    );
    Ok(())
}
