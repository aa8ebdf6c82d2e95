//! `panelflow-dev`: the development kit from the command line — the Lever
//! emulator, the local broker and the media server, served until Ctrl-C,
//! and the aggregates' load simulator.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "panelflow-dev",
    version,
    about = "panelflow's development kit: Lever emulator, local broker, media server, simulator"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve an emulator of Lever's API for tests and the demo.
    LeverEmulator {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8090")]
        listen: SocketAddr,
        /// Where requests and state are recorded.
        #[arg(long, default_value = "out/lever-emulator")]
        data: PathBuf,
    },
    /// Send a simulated hiring funnel (scores, ratings, decisions, demographics) to the aggregates' topics.
    Simulate(panelflow_devkit::simulate::SimulateArgs),
    /// Run the local Tansu broker until Ctrl-C.
    Broker {
        /// Folder of its SQLite database and log.
        #[arg(long, default_value = "out/broker")]
        dir: PathBuf,
        /// Port on 127.0.0.1 (a free one when absent).
        #[arg(long)]
        port: Option<u16>,
    },
    /// The chaos run: kills, a broker restart, a Lever outage, lost note
    /// replies and a dead media host; prints what held as JSON.
    Chaos {
        /// The `panelflow` binary (built with `--features dev`).
        #[arg(long, default_value = "target/release/panelflow")]
        panelflow: PathBuf,
        /// Output folder (cleared).
        #[arg(long, default_value = "out/chaos")]
        out: PathBuf,
        /// Interviews.
        #[arg(long, default_value_t = 1000)]
        interviews: usize,
        /// Of which on a media host that never answers.
        #[arg(long, default_value_t = 10)]
        dead_host: usize,
        /// SIGKILLs of the runner.
        #[arg(long, default_value_t = 20)]
        kills: usize,
        /// Longest run between kills, seconds.
        #[arg(long, default_value_t = 30)]
        between_kills_s: u64,
        /// Seconds Lever answers 503 to everything.
        #[arg(long, default_value_t = 120)]
        lever_outage_s: u64,
        /// Percent of note replies lost after the note is stored.
        #[arg(long, default_value_t = 5.0)]
        lost_replies: f64,
        /// Timely workers of the runner.
        #[arg(long, default_value_t = 2)]
        workers: usize,
        /// Retry topic delays, seconds.
        #[arg(long, value_delimiter = ',', default_value = "15,60,120")]
        retry_delays_s: Vec<u64>,
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 5400)]
        deadline_s: u64,
    },
    /// A backlog of events produced before the runner starts; reports its peak memory.
    Backlog {
        /// The `panelflow` binary.
        #[arg(long, default_value = "target/release/panelflow")]
        panelflow: PathBuf,
        /// Output folder (cleared).
        #[arg(long, default_value = "out/backlog")]
        out: PathBuf,
        /// Events.
        #[arg(long, default_value_t = 10_000)]
        events: usize,
        /// Timely workers of the runner.
        #[arg(long, default_value_t = 2)]
        workers: usize,
    },
    /// Runners side by side in one group (one killed, one joining) against
    /// Lever's limit; prints what held and the throughput as JSON.
    Scale {
        /// The `panelflow` binary.
        #[arg(long, default_value = "target/release/panelflow")]
        panelflow: PathBuf,
        /// Output folder (cleared).
        #[arg(long, default_value = "out/scale")]
        out: PathBuf,
        /// Interviews.
        #[arg(long, default_value_t = 200)]
        interviews: usize,
        /// Processes at the start.
        #[arg(long, default_value_t = 3)]
        processes: usize,
        /// Timely workers per process.
        #[arg(long, default_value_t = 1)]
        workers: usize,
        /// SIGKILL the first process once this share is written (0–1).
        #[arg(long)]
        kill_at: Option<f64>,
        /// Start the killed process again this many seconds after the kill.
        #[arg(long)]
        restart_after_s: Option<u64>,
        /// Start one more process once this share is written (0–1).
        #[arg(long)]
        join_at: Option<f64>,
        /// Lever's limit as `RATE,BURST` (default: Lever's documented 10,20).
        #[arg(long, value_delimiter = ',')]
        lever_limit: Option<Vec<f64>>,
        /// Partitions of each topic.
        #[arg(long, default_value_t = 6)]
        partitions: u32,
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 3600)]
        deadline_s: u64,
    },
    /// Serve a folder over HTTP (with byte ranges) until Ctrl-C.
    MediaServer {
        /// The folder.
        #[arg(default_value = "datasets")]
        root: PathBuf,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PANELFLOW_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,panelflow=info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = match Cli::parse().command {
        Command::LeverEmulator { listen, data } => lever_emulator(listen, data),
        Command::Simulate(args) => panelflow_devkit::simulate::run(&args),
        Command::Broker { dir, port } => broker(dir, port),
        Command::MediaServer { root } => media_server(root),
        Command::Chaos {
            panelflow,
            out,
            interviews,
            dead_host,
            kills,
            between_kills_s,
            lever_outage_s,
            lost_replies,
            workers,
            retry_delays_s,
            deadline_s,
        } => {
            let o = panelflow_devkit::chaos::ChaosOptions {
                panelflow,
                out,
                interviews,
                dead_host_interviews: dead_host,
                kills,
                max_between_kills_s: between_kills_s,
                lever_outage: std::time::Duration::from_secs(lever_outage_s),
                lost_reply_percent: lost_replies,
                restart_broker: true,
                workers,
                retry_delays_s,
                deadline: std::time::Duration::from_secs(deadline_s),
            };
            panelflow_devkit::chaos::run(&o).and_then(|r| {
                println!("{}", serde_json::to_string_pretty(&r)?);
                if r.holds() {
                    Ok(())
                } else {
                    anyhow::bail!("a promise did not hold")
                }
            })
        }
        Command::Scale {
            panelflow,
            out,
            interviews,
            processes,
            workers,
            kill_at,
            restart_after_s,
            join_at,
            lever_limit,
            partitions,
            deadline_s,
        } => {
            let o = panelflow_devkit::chaos::ScaleOptions {
                panelflow,
                out,
                interviews,
                processes,
                workers,
                kill_at,
                restart_after: restart_after_s.map(std::time::Duration::from_secs),
                join_at,
                lever_limit: match lever_limit.as_deref() {
                    None => None,
                    Some([rate, burst]) => Some((*rate, *burst)),
                    Some(other) => {
                        eprintln!("panelflow-dev: --lever-limit takes RATE,BURST, not {other:?}");
                        return ExitCode::FAILURE;
                    }
                },
                partitions,
                deadline: std::time::Duration::from_secs(deadline_s),
            };
            panelflow_devkit::chaos::scale(&o).and_then(|r| {
                println!("{}", serde_json::to_string_pretty(&r)?);
                if r.holds() {
                    Ok(())
                } else {
                    anyhow::bail!("a promise did not hold")
                }
            })
        }
        Command::Backlog {
            panelflow,
            out,
            events,
            workers,
        } => panelflow_devkit::chaos::backlog(&panelflow, &out, events, workers).and_then(|r| {
            println!("{}", serde_json::to_string_pretty(&r)?);
            Ok(())
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("panelflow-dev: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn lever_emulator(listen: SocketAddr, data: PathBuf) -> anyhow::Result<()> {
    let api_key = std::env::var(panelflow_devkit::emulator::API_KEY_ENV)
        .unwrap_or_else(|_| panelflow_devkit::emulator::DEFAULT_API_KEY.into());
    let cfg = panelflow_devkit::emulator::EmulatorConfig {
        data_dir: data,
        api_key,
        ..Default::default()
    };
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen).await?;
        eprintln!("Lever emulator on http://{}/v1", listener.local_addr()?);
        panelflow_devkit::emulator::serve(listener, cfg).await
    })
}

fn broker(dir: PathBuf, port: Option<u16>) -> anyhow::Result<()> {
    let mut broker = panelflow_devkit::broker::Broker::start(&dir, port)?;
    eprintln!(
        "Tansu broker on {} (log {}); Ctrl-C stops it",
        broker.bootstrap(),
        broker.log_path().display()
    );
    until_ctrl_c()?;
    broker.stop()?;
    Ok(())
}

fn media_server(root: PathBuf) -> anyhow::Result<()> {
    let server = panelflow_devkit::media_server::MediaServer::start(&root)?;
    eprintln!(
        "serving {} at {}; Ctrl-C stops it",
        root.display(),
        server.url("")
    );
    until_ctrl_c()
}

fn until_ctrl_c() -> anyhow::Result<()> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(tokio::signal::ctrl_c())?;
    Ok(())
}
