//! The `panelflow` command line.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "panelflow",
    version,
    about = "Streaming analytics for recorded one-way video interviews"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Transcribe media files (WAV, FLAC, MP3, MP4/AAC, WebM/Opus).
    Transcribe {
        /// Files to transcribe; they share one loaded model.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// One JSON object per file, one per line.
        #[arg(long)]
        json: bool,
        /// ONNX Runtime threads per session (default: the cores left per worker).
        #[arg(long)]
        threads: Option<usize>,
        /// Timely worker threads, each with its own models (default: one per core).
        #[arg(long)]
        workers: Option<usize>,
        /// Segments per decoder call at most (1: one at a time).
        #[arg(long, default_value_t = 16)]
        batch: usize,
        /// Encoder frames (~41.6 per second) per decoder call at most, rows x longest row.
        #[arg(long)]
        batch_frames: Option<usize>,
        /// Print a JSON line of figures (audio seconds, wall seconds) on stderr.
        #[arg(long)]
        summary: bool,
        /// The speech model: `moonshine-base-en` or `whisper-base` (a folder of the models folder).
        #[arg(long, default_value = panelflow_models::speech::DEFAULT_MODEL)]
        model: String,
        /// Hypotheses per segment in Whisper's beam search (1: greedy).
        #[arg(long, default_value_t = panelflow_models::speech::whisper::DEFAULT_BEAMS)]
        beams: usize,
        /// Whisper reads voice segments together in windows of at most this
        /// many seconds, with timestamps (0: each segment alone).
        #[arg(long, default_value_t = panelflow_models::speech::windows::DEFAULT_WINDOW_S)]
        window_s: f32,
    },
    /// Receive webhooks and produce normalized events to Kafka.
    Ingest {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Pipeline config (Kafka settings, secrets); embedded defaults otherwise.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Run the dataflow: Kafka → transcription → Parquet + Lever.
    Run {
        /// Pipeline config; embedded defaults otherwise.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Timely worker threads in this process (default: one per core).
        #[arg(long)]
        workers: Option<usize>,
        /// Timely cluster mode: number of processes.
        #[arg(short = 'n', long)]
        processes: Option<usize>,
        /// Timely cluster mode: this process's index.
        #[arg(short = 'p', long)]
        process: Option<usize>,
        /// Timely cluster mode: file of host:port lines.
        #[arg(long)]
        hostfile: Option<PathBuf>,
    },
    /// Analyse an interview: answers per question, skills, sentiment, tone, summary, scores.
    Analyze {
        /// One whole recording, or one file per answer (in question order).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// JSON list of {"id", "text"}: the questions, in order.
        #[arg(long)]
        questions: Option<PathBuf>,
        /// A Lever posting as the API returns it (its skills are the requisition's).
        #[arg(long)]
        posting: Option<PathBuf>,
        /// Pipeline file (competencies, roles, thresholds); embedded defaults otherwise.
        #[arg(long)]
        config: Option<PathBuf>,
        /// A role of the pipeline file (`[roles.<id>]`), overriding the posting's.
        #[arg(long)]
        role: Option<String>,
        /// Print the summary object as JSON.
        #[arg(long)]
        json: bool,
        /// ONNX Runtime threads per session.
        #[arg(long, default_value_t = 2)]
        threads: usize,
    },
    /// Measure transcription and analysis quality: the sample recordings, the development and the frozen test split.
    Eval {
        /// The datasets folder (holding manifest.json).
        datasets: Option<PathBuf>,
        /// Pipeline file (competencies, thresholds); embedded defaults otherwise.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Print the full report as JSON.
        #[arg(long)]
        json: bool,
        /// Only these sample interviews (the recordings report).
        #[arg(long)]
        only: Vec<String>,
        /// ONNX Runtime threads per session.
        #[arg(long, default_value_t = 2)]
        threads: usize,
        /// Fit the scoring model on the development split and write it to this file.
        #[arg(long)]
        fit: Option<PathBuf>,
    },
    /// Start everything locally and push the bundled dataset through it.
    #[cfg(feature = "dev")]
    Demo {
        /// Output folder (Parquet, logs, emulator records).
        #[arg(long, default_value = "out/demo")]
        out: PathBuf,
        /// Timely workers.
        #[arg(long, default_value_t = 2)]
        workers: usize,
        /// Print every component's log here instead of writing it to OUT/panelflow.log.
        #[arg(short, long)]
        verbose: bool,
        /// Where the Parquet and the aggregates go instead of OUT: a folder or
        /// an object store (`s3://bucket/prefix`, credentials and endpoint
        /// from the AWS_* environment).
        #[arg(long)]
        store: Option<PathBuf>,
    },
    /// Run the calibration, bias and drift aggregates over their Kafka topics into Parquet.
    Aggregate(panelflow::aggregates::runner::AggregateArgs),
    /// Read human scorecards, stage advances/archives and EEO answers from Lever into the aggregates' topics.
    PollLever {
        /// Pipeline file ([lever], [lever_poll], [kafka]); embedded defaults otherwise.
        #[arg(long)]
        config: Option<PathBuf>,
        /// One round, then exit.
        #[arg(long)]
        once: bool,
    },
    /// Remove a candidate from every Parquet table, the audit log and the review queue; retract them from the aggregates.
    Erase(panelflow::cli::erase::EraseArgs),
    /// Everything held about one candidate, as JSON (decrypted), with the candidate notice.
    Export(panelflow::cli::export::ExportArgs),
    /// The hiring manager's briefing for a debrief: PDF file and secret note in Lever, replaced when a scorecard or interview arrives.
    Brief(panelflow::cli::brief::BriefArgs),
    /// The whole story of one interview: every audit step, its rows per pipeline version, its Lever writes.
    Explain(panelflow::cli::explain::ExplainArgs),
    /// Replay stored interviews through a newer pipeline version; or tag past candidates for a posting's talent pool.
    Backfill(panelflow::cli::backfill::BackfillArgs),
    /// Send chosen dead letters (by interview id, reason or time) back through the pipeline, idempotently.
    Redrive(panelflow::cli::redrive::RedriveArgs),
    /// Serve the recruiters' review page: the queue, one interview, approve / edit / reject.
    Serve(panelflow::cli::serve::ServeArgs),
    /// Read a review user's token from stdin and print its `token_hash`
    /// (salted PBKDF2-SHA256) for `[[review.users]]`.
    HashToken,
    /// Decode one recording for the engine under its limits (internal: the
    /// engine runs itself this way; 16 kHz mono frames on stdout).
    #[command(name = "decode-media", hide = true)]
    DecodeMedia {
        /// The recording.
        file: PathBuf,
    },
    /// Print the current bias, calibration and drift audit of an aggregates dataset.
    Audit {
        /// The dataset (or a demo's --out folder).
        dir: PathBuf,
        /// Also write an HTML report with plots.
        #[arg(long)]
        html: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::DecodeMedia { file } = &cli.command {
        // Untrusted input under the limits the engine set: nothing else
        // runs here, and no log goes to the stderr the engine reads.
        return panelflow::isolated_decode::child::run(file);
    }
    init_tracing(&cli.command);
    let result = match cli.command {
        Command::Transcribe {
            files,
            json,
            threads,
            workers,
            batch,
            batch_frames,
            summary,
            model,
            beams,
            window_s,
        } => {
            let (workers, threads) =
                panelflow::cores::split_cores(panelflow::cores::cores(), workers, threads);
            let opts = panelflow::cli::transcribe::Options {
                json,
                threads,
                workers,
                batch,
                batch_frames,
                summary,
                model,
                beams,
                window_s,
            };
            panelflow::cli::transcribe::run(&files, &opts)
        }
        Command::Ingest { listen, config } => ingest(listen, config).map(|()| ExitCode::SUCCESS),
        Command::Run {
            config,
            workers,
            processes,
            process,
            hostfile,
        } => {
            let workers = workers.unwrap_or_else(panelflow::cores::cores);
            let mut args = Vec::new();
            if let Some(n) = processes {
                args = vec!["-w".into(), workers.to_string(), "-n".into(), n.to_string()];
                args.extend(["-p".into(), process.unwrap_or(0).to_string()]);
                if let Some(h) = hostfile {
                    args.extend(["-h".into(), h.display().to_string()]);
                }
            }
            panelflow::cli::run::run(config.as_deref(), workers, args).map(|()| ExitCode::SUCCESS)
        }
        Command::Analyze {
            files,
            questions,
            posting,
            config,
            role,
            json,
            threads,
        } => {
            let args = panelflow::cli::analyze::AnalyzeArgs {
                files,
                questions,
                posting,
                config,
                role,
                json,
                threads,
            };
            panelflow::cli::analyze::run(&args).map(|()| ExitCode::SUCCESS)
        }
        Command::Eval {
            datasets,
            config,
            json,
            only,
            threads,
            fit,
        } => panelflow::cli::eval::run(&panelflow::cli::eval::EvalArgs {
            datasets,
            config,
            json,
            only,
            threads,
            fit,
        })
        .map(|_| ExitCode::SUCCESS),
        #[cfg(feature = "dev")]
        Command::Demo {
            out,
            workers,
            store,
            ..
        } => panelflow::cli::demo::run_with(&out, workers, store.as_deref())
            .map(|()| ExitCode::SUCCESS),
        Command::Aggregate(args) => {
            panelflow::aggregates::runner::run_cli(&args).map(|()| ExitCode::SUCCESS)
        }
        Command::PollLever { config, once } => {
            panelflow::cli::poll_lever::run(config.as_deref(), once).map(|()| ExitCode::SUCCESS)
        }
        Command::Erase(args) => panelflow::cli::erase::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Export(args) => panelflow::cli::export::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Brief(args) => panelflow::cli::brief::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Explain(args) => panelflow::cli::explain::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Backfill(args) => panelflow::cli::backfill::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Redrive(args) => panelflow::cli::redrive::run(&args),
        Command::Serve(args) => panelflow::cli::serve::run_cli(&args).map(|()| ExitCode::SUCCESS),
        Command::HashToken => panelflow::cli::serve::hash_token_from_stdin().map(|h| {
            println!("{h}");
            ExitCode::SUCCESS
        }),
        Command::Audit { dir, html } => {
            panelflow::cli::audit::run(&dir, html.as_deref()).map(|()| ExitCode::SUCCESS)
        }
        Command::DecodeMedia { file } => Ok(panelflow::isolated_decode::child::run(&file)),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("panelflow: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn ingest(listen: SocketAddr, config: Option<PathBuf>) -> anyhow::Result<()> {
    let cfg = panelflow::config::PipelineConfig::load_or_default(config.as_deref())?;
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async move {
        panelflow_connectors::kafka::ensure_topics(&cfg.kafka).await?;
        let listener = tokio::net::TcpListener::bind(listen).await?;
        eprintln!(
            "panelflow ingest listening on http://{}",
            listener.local_addr()?
        );
        panelflow::ingest::serve(listener, cfg).await
    })
}

/// Logs go to standard error — except the demo's: a demo shows progress and
/// its summary, and writes the components' logs to `OUT/panelflow.log`
/// unless asked for them (`-v`, `PANELFLOW_LOG` or `RUST_LOG`).
fn init_tracing(command: &Command) {
    let asked =
        std::env::var_os("PANELFLOW_LOG").is_some() || std::env::var_os("RUST_LOG").is_some();
    let filter = tracing_subscriber::EnvFilter::try_from_env("PANELFLOW_LOG")
        .or_else(|_| tracing_subscriber::EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,panelflow=info,symphonia=error,symphonia_core=off,symphonia_format_isomp4=error"));
    #[cfg(feature = "dev")]
    if let Command::Demo {
        out,
        verbose: false,
        ..
    } = command
    {
        if !asked {
            let file = std::fs::create_dir_all(out)
                .and_then(|()| std::fs::File::create(out.join(panelflow::cli::demo::LOG_FILE)));
            if let Ok(file) = file {
                tracing_subscriber::fmt()
                    .with_env_filter(filter)
                    .with_ansi(false)
                    .with_writer(std::sync::Mutex::new(file))
                    .init();
                return;
            }
        }
    }
    let _ = (command, asked);
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
