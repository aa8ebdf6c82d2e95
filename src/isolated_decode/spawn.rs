//! The engine's side: [`IsolatedDecoder`] runs `PROGRAM decode-media FILE`
//! for each recording with `setrlimit` applied between fork and exec
//! (address space, CPU time, no core file; on Linux the child also dies
//! with the thread that started it), streams its audio as the transcriber
//! asks for it, and turns the way it ended into a [`MediaError`].

use std::io::{self, BufReader, Read};
use std::os::fd::AsRawFd;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use panelflow_connectors::media::DecoderSection;
use panelflow_models::media::source::{AudioStream, InProcess, MediaOpener};
use panelflow_models::media::MediaError;

use super::protocol::{self, Frame, Header, EXIT_MEDIA_ERROR};

/// The subcommand the child runs.
pub const SUBCOMMAND: &str = "decode-media";

/// Most of the child's standard error kept (the rest is read and dropped).
const STDERR_KEPT: u64 = 64 << 10;

/// Seconds of CPU between the soft limit (SIGXCPU) and the hard one (SIGKILL).
const CPU_HARD_MARGIN_S: u64 = 5;

/// The limits one child runs under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Address space, MiB.
    pub memory_mb: u64,
    /// CPU time, seconds.
    pub cpu_s: u64,
    /// Time the engine waits for the child's output in all.
    pub timeout: Duration,
}

/// Decodes each recording in a child process under [`Limits`] (see
/// `[media.decoder]`): a file that makes the demuxer ask for gigabytes,
/// spin or hang fails alone with [`MediaError::DecoderLimit`], and the
/// process that asked goes on.
///
/// ```no_run
/// use panelflow::isolated_decode::IsolatedDecoder;
/// use panelflow_connectors::media::MediaSection;
/// use panelflow_models::media::source::MediaOpener;
/// // The program is this executable unless `[media.decoder] program` says otherwise.
/// let decoder = IsolatedDecoder::from_section(&MediaSection::default());
/// let mut audio = decoder.open("datasets/real/jfk.flac".as_ref()).unwrap();
/// assert_eq!(audio.sample_rate(), 16_000);
/// ```
#[derive(Debug, Clone)]
pub struct IsolatedDecoder {
    program: Option<PathBuf>,
    section: DecoderSection,
    max_duration_s: f64,
}

impl IsolatedDecoder {
    /// The decoder `[media]` configures (its `[media.decoder]` limits,
    /// recordings of at most `max_duration_s`).
    pub fn from_section(media: &panelflow_connectors::media::MediaSection) -> Self {
        Self {
            program: media.decoder.program.clone(),
            section: media.decoder.clone(),
            max_duration_s: media.max_duration_s,
        }
    }

    /// The limits a child decoding a file of `file_bytes` runs under.
    pub fn limits(&self, file_bytes: u64) -> Limits {
        Limits {
            memory_mb: self.section.memory_limit_mb(file_bytes),
            cpu_s: self.section.cpu_limit_s(self.max_duration_s),
            timeout: Duration::from_secs(self.section.timeout_s(self.max_duration_s)),
        }
    }

    /// The program run as the decoder: the configured one, else this
    /// executable.
    pub fn program(&self) -> io::Result<PathBuf> {
        match &self.program {
            Some(p) => Ok(p.clone()),
            None => std::env::current_exe(),
        }
    }
}

impl MediaOpener for IsolatedDecoder {
    fn open(&self, path: &Path) -> Result<Box<dyn AudioStream>, MediaError> {
        let bytes = std::fs::metadata(path)?.len();
        let limits = self.limits(bytes);
        let program = self.program()?;
        Ok(Box::new(ChildAudio::start(&program, path, limits)?))
    }
}

/// The child's standard output, waited on with `poll` against what is
/// left of the time-out.
struct TimedPipe {
    pipe: ChildStdout,
    left: Duration,
    timed_out: bool,
}

impl Read for TimedPipe {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let mut fd = libc::pollfd {
                fd: self.pipe.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            let ms = self.left.as_millis().min(i32::MAX as u128) as i32;
            let started = Instant::now();
            // SAFETY: one valid pollfd, its count 1.
            let ready = unsafe { libc::poll(&mut fd, 1, ms) };
            self.left = self.left.saturating_sub(started.elapsed());
            match ready {
                0 => {
                    self.timed_out = true;
                    return Err(io::Error::new(io::ErrorKind::TimedOut, "decoder time-out"));
                }
                n if n < 0 => {
                    let e = io::Error::last_os_error();
                    if e.kind() == io::ErrorKind::Interrupted {
                        continue;
                    }
                    return Err(e);
                }
                _ => return self.pipe.read(buf),
            }
        }
    }
}

/// How `[media]` says recordings are decoded: an [`IsolatedDecoder`], or
/// in-process when `[media.decoder] isolated = false`.
///
/// ```
/// use panelflow_connectors::media::MediaSection;
/// let mut media = MediaSection::default();
/// assert!(format!("{:?}", panelflow::isolated_decode::media_opener(&media)).starts_with("IsolatedDecoder"));
/// media.decoder.isolated = false;
/// assert_eq!(format!("{:?}", panelflow::isolated_decode::media_opener(&media)), "InProcess");
/// ```
pub fn media_opener(media: &panelflow_connectors::media::MediaSection) -> Arc<dyn MediaOpener> {
    if media.decoder.isolated {
        Arc::new(IsolatedDecoder::from_section(media))
    } else {
        Arc::new(InProcess)
    }
}

/// One recording being decoded by a child.
struct ChildAudio {
    child: Child,
    out: BufReader<TimedPipe>,
    stderr: Option<JoinHandle<Vec<u8>>>,
    header: Header,
    limits: Limits,
    program: PathBuf,
    finished: bool,
}

impl ChildAudio {
    fn start(program: &Path, path: &Path, limits: Limits) -> Result<Self, MediaError> {
        let mut cmd = Command::new(program);
        cmd.arg(SUBCOMMAND)
            .arg("--")
            .arg(path)
            // A backtrace on abort would only lengthen what is read back.
            .env_remove("RUST_BACKTRACE")
            .env_remove("RUST_LIB_BACKTRACE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let memory = limits.memory_mb.saturating_mul(1 << 20);
        let cpu = limits.cpu_s;
        // SAFETY: between fork and exec only async-signal-safe calls
        // (setrlimit, prctl) on values computed before the fork.
        unsafe {
            cmd.pre_exec(move || apply_limits(memory, cpu));
        }
        let mut child = cmd.spawn().map_err(|e| {
            MediaError::Io(io::Error::new(
                e.kind(),
                format!("cannot start the decoder {}: {e}", program.display()),
            ))
        })?;
        let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(MediaError::Io(io::Error::other("the decoder has no pipes")));
        };
        widen_pipe(&stdout);
        let stderr = std::thread::Builder::new()
            .name("decoder-stderr".into())
            .spawn(move || {
                let mut kept = Vec::new();
                let mut stderr = stderr;
                let _ = (&mut stderr).take(STDERR_KEPT).read_to_end(&mut kept);
                let _ = io::copy(&mut stderr, &mut io::sink());
                kept
            })
            .ok();
        tracing::debug!(
            program = %program.display(),
            pid = child.id(),
            memory_mb = limits.memory_mb,
            cpu_s = limits.cpu_s,
            "decoder started"
        );
        let mut this = Self {
            child,
            out: BufReader::with_capacity(
                64 << 10,
                TimedPipe {
                    pipe: stdout,
                    left: limits.timeout,
                    timed_out: false,
                },
            ),
            stderr,
            header: Header {
                rate: 0,
                source_rate: 0,
                channels: 0,
                declared_s: None,
            },
            limits,
            program: program.to_owned(),
            finished: false,
        };
        match protocol::read_header(&mut this.out) {
            Ok(h) if h.rate > 0 => this.header = h,
            Ok(_) => {
                let e = io::Error::new(io::ErrorKind::InvalidData, "a sample rate of 0");
                return Err(this.fail(&e));
            }
            Err(e) => return Err(this.fail(&e)),
        }
        Ok(this)
    }

    /// Ends the child and names why it stopped early, from what reading
    /// its output met (`seen`).
    fn fail(&mut self, seen: &io::Error) -> MediaError {
        self.finished = true;
        let timed_out = self.out.get_ref().timed_out;
        // At the end of its output the child is exiting by itself; after a
        // time-out or output that is not the protocol, it is stopped.
        let stopped = seen.kind() != io::ErrorKind::UnexpectedEof;
        if stopped {
            let _ = self.child.kill();
        }
        let status = self.child.wait();
        let stderr = self
            .stderr
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default();
        let stderr = String::from_utf8_lossy(&stderr);
        let err = if timed_out {
            MediaError::DecoderLimit(format!("time limit ({} s)", self.limits.timeout.as_secs()))
        } else if seen.kind() == io::ErrorKind::InvalidData {
            MediaError::Io(io::Error::other(format!(
                "{} did not answer as a panelflow decoder ({seen}); see [media.decoder] program",
                self.program.display()
            )))
        } else if stopped {
            MediaError::Io(io::Error::new(
                seen.kind(),
                format!("reading the decoder's output: {seen}"),
            ))
        } else {
            match status {
                Ok(status) => outcome(status, &stderr, &self.limits).unwrap_or_else(|| {
                    MediaError::Io(io::Error::other(
                        "the decoder exited before the end of its output",
                    ))
                }),
                Err(e) => MediaError::Io(e),
            }
        };
        match &err {
            MediaError::DecoderLimit(_) => tracing::warn!(error = %err, "decoder stopped"),
            _ => tracing::debug!(error = %err, "decoder failed"),
        }
        err
    }
}

impl AudioStream for ChildAudio {
    fn sample_rate(&self) -> u32 {
        self.header.rate
    }

    fn declared_duration_s(&self) -> Option<f64> {
        self.header.declared_s
    }

    fn next_chunk(&mut self) -> Result<Option<Vec<f32>>, MediaError> {
        if self.finished {
            return Ok(None);
        }
        match protocol::read_frame(&mut self.out) {
            Ok(Frame::Chunk(c)) => Ok(Some(c)),
            Ok(Frame::End) => {
                self.finished = true;
                let _ = self.child.wait();
                Ok(None)
            }
            Err(e) => Err(self.fail(&e)),
        }
    }
}

impl Drop for ChildAudio {
    fn drop(&mut self) {
        // Stopped early (too long, a later stage failed): the child is not
        // left running or unreaped.
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
        if let Some(t) = self.stderr.take() {
            let _ = t.join();
        }
    }
}

/// What the end of a child that stopped by itself means, from its exit
/// status and standard error; `None` when it says nothing (it exited
/// cleanly without finishing its output).
pub fn outcome(status: ExitStatus, stderr: &str, limits: &Limits) -> Option<MediaError> {
    let memory = || {
        let asked = stderr
            .split("memory allocation of ")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .and_then(|n| n.parse::<u64>().ok());
        MediaError::DecoderLimit(match asked {
            Some(n) => format!(
                "memory limit ({} MiB; it asked for {n} bytes at once)",
                limits.memory_mb
            ),
            None => format!("memory limit ({} MiB)", limits.memory_mb),
        })
    };
    if let Some(e) = protocol::parse_error(stderr) {
        return Some(e);
    }
    if stderr.contains("memory allocation of") {
        return Some(memory());
    }
    if let Some(sig) = status.signal() {
        return Some(match sig {
            libc::SIGXCPU => {
                MediaError::DecoderLimit(format!("CPU time limit ({} s)", limits.cpu_s))
            }
            libc::SIGABRT | libc::SIGKILL => memory(),
            _ => MediaError::Corrupt(format!("the decoder crashed on the media (signal {sig})")),
        });
    }
    match status.code() {
        Some(0) | None => None,
        Some(EXIT_MEDIA_ERROR) => Some(MediaError::Corrupt(
            "the decoder failed without saying why".into(),
        )),
        Some(code) => {
            let last = stderr.lines().rev().find(|l| !l.trim().is_empty());
            Some(MediaError::Corrupt(format!(
                "the decoder failed (exit status {code}){}",
                last.map(|l| format!(": {}", l.trim())).unwrap_or_default()
            )))
        }
    }
}

/// In the child, before exec: its limits.
fn apply_limits(memory_bytes: u64, cpu_s: u64) -> io::Result<()> {
    let set = |resource, soft: u64, hard: u64| {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: a valid resource and a valid rlimit to fill.
        if unsafe { libc::getrlimit(resource, &mut lim) } != 0 {
            return Err(io::Error::last_os_error());
        }
        // Never above what this process may grant (its hard limit).
        let ceiling = lim.rlim_max;
        lim.rlim_max = (hard as libc::rlim_t).min(ceiling);
        lim.rlim_cur = (soft as libc::rlim_t).min(lim.rlim_max);
        // SAFETY: a valid rlimit for a valid resource.
        if unsafe { libc::setrlimit(resource, &lim) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    };
    set(libc::RLIMIT_AS, memory_bytes, memory_bytes)?;
    set(
        libc::RLIMIT_CPU,
        cpu_s,
        cpu_s.saturating_add(CPU_HARD_MARGIN_S),
    )?;
    // An abort or SIGXCPU writes no core file.
    set(libc::RLIMIT_CORE, 0, 0)?;
    #[cfg(target_os = "linux")]
    // SAFETY: prctl with an integer argument.
    unsafe {
        // The child does not outlive the thread that waits for it.
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);
    }
    Ok(())
}

/// A larger pipe (about 16 s of audio) lets the child decode ahead while
/// the engine runs the speech model. Best effort.
fn widen_pipe(out: &ChildStdout) {
    #[cfg(target_os = "linux")]
    // SAFETY: fcntl on a pipe descriptor this process owns.
    unsafe {
        libc::fcntl(out.as_raw_fd(), libc::F_SETPIPE_SZ, 1 << 20);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = out;
}
