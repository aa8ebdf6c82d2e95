//! `panelflow simulate --candidates N …`: a load generator for the
//! aggregates. It makes a realistic hiring funnel — candidates apply to
//! postings (with self-reported demographics, some declined), record a
//! one-way interview that the AI scores per competency, some are rated by a
//! panel, then advanced or archived — and sends it to the aggregates' topics
//! (or to a JSON-lines file).
//!
//! Knobs for the audits to find:
//! - `--bias sex=female:0.5` multiplies that category's chance of being
//!   advanced by 0.5 (a four-fifths violation by construction);
//!   `--score-bias 0.4` also lowers its AI scores by 0.4;
//! - `--drift rubric@1.0:4:0.5` shifts that model version's scores (and
//!   sentiment) by +0.5 from week 4 on.
//!
//! Without them, advancement and scores depend on a latent ability drawn
//! alike for everyone, so only sampling noise separates the categories.
//! Some score messages are later corrected (retraction + new message) and
//! some candidates erased (every message retracted), so the aggregates see
//! negative updates too. The generator is deterministic for a seed.
//!
//! ```
//! use panelflow_devkit::simulate::{generate, SimConfig};
//! let messages = generate(&SimConfig { candidates: 50, ..SimConfig::default() });
//! assert!(messages.iter().any(|m| m.diff() < 0));
//! assert!(messages.iter().all(|m| m.key().starts_with("cand-")));
//! ```

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};

use panelflow_connectors::kafka::{
    ensure_aggregate_topics, producer_config, KafkaSection, TopicNames,
};

use panelflow_core::time::rfc3339_ms as rfc3339;
use panelflow_core::topics::Topic;
use panelflow_core::wire::{
    CompetencyScore, DecisionMessage, DemographicsMessage, QuestionMessage, RatingMessage,
    ScoreMessage,
};

const DAY_MS: i64 = 86_400_000;
/// Monday 2025-01-06, 00:00 UTC: the simulated funnel's first day.
pub const START_MS: i64 = 1_736_121_600_000;

/// An injected four-fifths violation.
#[derive(Clone, Debug, PartialEq)]
pub struct BiasInjection {
    /// `sex` or `race_ethnicity`.
    pub dimension: String,
    /// The disadvantaged category.
    pub category: String,
    /// Multiplier of its chance of being advanced.
    pub factor: f64,
    /// Subtracted from its AI scores.
    pub score_penalty: f64,
}

/// An injected drift.
#[derive(Clone, Debug, PartialEq)]
pub struct DriftInjection {
    /// The model version that drifts.
    pub model_version: String,
    /// First week (0-based) of the shift.
    pub from_week: u32,
    /// Added to its scores (and, scaled, to sentiment).
    pub shift: f64,
}

/// What to simulate.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Candidates.
    pub candidates: usize,
    /// Random seed.
    pub seed: u64,
    /// Weeks the funnel spans.
    pub weeks: u32,
    /// Postings (spread over three job families).
    pub postings: usize,
    /// Reviewers in the pool.
    pub reviewers: usize,
    /// Model versions; interviews are scored by the first, and a share
    /// `shadow_share` also by the second (a shadow model), if any.
    pub models: Vec<String>,
    /// Share of interviews also scored by the shadow model.
    pub shadow_share: f64,
    /// Share of candidates rated by a panel.
    pub panel_share: f64,
    /// Share of interviews whose questions are spoken (question records).
    pub question_share: f64,
    /// Share of score messages later corrected.
    pub correction_share: f64,
    /// Share of candidates erased at the end.
    pub erasure_share: f64,
    /// An injected four-fifths violation.
    pub bias: Option<BiasInjection>,
    /// An injected drift.
    pub drift: Option<DriftInjection>,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            candidates: 500,
            seed: 7,
            weeks: 6,
            postings: 6,
            reviewers: 12,
            models: vec!["rubric@1.0".into(), "rubric@1.1".into()],
            shadow_share: 0.2,
            panel_share: 0.4,
            question_share: 0.3,
            correction_share: 0.02,
            erasure_share: 0.01,
            bias: None,
            drift: None,
        }
    }
}

/// Parses `DIMENSION=CATEGORY:FACTOR` (e.g. `sex=female:0.5`).
pub fn parse_bias(s: &str, score_penalty: f64) -> anyhow::Result<BiasInjection> {
    let (dimension, rest) = s
        .split_once('=')
        .context("--bias is DIMENSION=CATEGORY:FACTOR")?;
    let (category, factor) = rest
        .split_once(':')
        .context("--bias is DIMENSION=CATEGORY:FACTOR")?;
    if !matches!(dimension, "sex" | "race_ethnicity") {
        bail!("--bias dimension must be sex or race_ethnicity, not {dimension:?}");
    }
    let factor: f64 = factor
        .parse()
        .with_context(|| format!("--bias factor {factor:?}"))?;
    if !(0.0..=1.0).contains(&factor) {
        bail!("--bias factor must be within 0–1");
    }
    Ok(BiasInjection {
        dimension: dimension.into(),
        category: category.to_lowercase(),
        factor,
        score_penalty,
    })
}

/// Parses `MODEL_VERSION:FROM_WEEK:SHIFT` (e.g. `rubric@1.0:4:0.5`).
pub fn parse_drift(s: &str) -> anyhow::Result<DriftInjection> {
    let mut parts = s.rsplitn(3, ':');
    let (Some(shift), Some(week), Some(model)) = (parts.next(), parts.next(), parts.next()) else {
        bail!("--drift is MODEL_VERSION:FROM_WEEK:SHIFT");
    };
    Ok(DriftInjection {
        model_version: model.into(),
        from_week: week
            .parse()
            .with_context(|| format!("--drift week {week:?}"))?,
        shift: shift
            .parse()
            .with_context(|| format!("--drift shift {shift:?}"))?,
    })
}

/// One simulated message.
#[derive(Clone, Debug, PartialEq)]
pub enum Message {
    /// AI scores.
    Score(ScoreMessage),
    /// A rating.
    Rating(RatingMessage),
    /// A decision.
    Decision(DecisionMessage),
    /// Demographics.
    Demographics(DemographicsMessage),
    /// A question as asked.
    Question(QuestionMessage),
}

impl Message {
    /// Its topic.
    pub fn topic(&self) -> Topic {
        match self {
            Message::Score(_) => Topic::Scores,
            Message::Rating(_) => Topic::Ratings,
            Message::Decision(_) => Topic::Decisions,
            Message::Demographics(_) => Topic::Demographics,
            Message::Question(_) => Topic::Questions,
        }
    }
    /// Its Kafka key: the candidate, so a candidate's messages stay in order.
    pub fn key(&self) -> &str {
        match self {
            Message::Score(m) => &m.candidate_id,
            Message::Rating(m) => &m.candidate_id,
            Message::Decision(m) => &m.candidate_id,
            Message::Demographics(m) => &m.candidate_id,
            Message::Question(m) => &m.candidate_id,
        }
    }
    /// `1` or `-1`.
    pub fn diff(&self) -> i64 {
        match self {
            Message::Score(m) => m.diff,
            Message::Rating(m) => m.diff,
            Message::Decision(m) => m.diff,
            Message::Demographics(m) => m.diff,
            Message::Question(m) => m.diff,
        }
    }
    fn set_diff(&mut self, d: i64) {
        match self {
            Message::Score(m) => m.diff = d,
            Message::Rating(m) => m.diff = d,
            Message::Decision(m) => m.diff = d,
            Message::Demographics(m) => m.diff = d,
            Message::Question(m) => m.diff = d,
        }
    }
    /// The JSON payload.
    pub fn to_json(&self) -> serde_json::Value {
        let v = match self {
            Message::Score(m) => serde_json::to_value(m),
            Message::Rating(m) => serde_json::to_value(m),
            Message::Decision(m) => serde_json::to_value(m),
            Message::Demographics(m) => serde_json::to_value(m),
            Message::Question(m) => serde_json::to_value(m),
        };
        v.unwrap_or(serde_json::Value::Null)
    }
}

/// SplitMix64: small, fast, deterministic.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Uniform in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.f64() * n as f64) as usize % n.max(1)
    }
    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u = self.f64().max(1e-12);
        let v = self.f64();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
    /// Picks by weight.
    pub fn weighted<'a>(&mut self, items: &'a [(&'a str, f64)]) -> &'a str {
        let total: f64 = items.iter().map(|(_, w)| w).sum();
        let mut x = self.f64() * total;
        for (item, w) in items {
            if x < *w {
                return item;
            }
            x -= w;
        }
        items.last().map_or("", |(i, _)| i)
    }
}

/// Self-reported sex, with declines.
pub const SEX: [(&str, f64); 4] = [
    ("female", 0.47),
    ("male", 0.46),
    ("nonbinary", 0.015),
    ("Decline to self-identify", 0.055),
];
/// Self-reported race/ethnicity, with declines.
pub const RACE: [(&str, f64); 8] = [
    ("white", 0.40),
    ("hispanic_latino", 0.19),
    ("black", 0.16),
    ("asian", 0.15),
    ("two_or_more", 0.03),
    ("native_american", 0.01),
    ("pacific_islander", 0.005),
    ("Decline to self-identify", 0.055),
];
const COMPETENCIES: [&str; 5] = [
    "communication",
    "problem_solving",
    "technical_depth",
    "collaboration",
    "ownership",
];
const FAMILIES: [&str; 3] = ["engineering", "sales", "support"];
const QUESTIONS: [(&str, &str); 3] = [
    (
        "q1",
        "Tell me about a project you are proud of and your part in it.",
    ),
    (
        "q2",
        "Describe a time you disagreed with a colleague and how you resolved it.",
    ),
    ("q3", "Why are you interested in this role?"),
];
const ASIDES: [&str; 6] = [
    "By the way, how old are you?",
    "Do you have kids at home?",
    "Where are you from originally?",
    "Are you married?",
    "Do you have any disabilities we should know about?",
    "What is your current salary?",
];

fn clamp_round(v: f64, lo: f64, hi: f64) -> f64 {
    (v.clamp(lo, hi) * 100.0).round() / 100.0
}

fn in_category(bias: &BiasInjection, sex: Option<&str>, race: Option<&str>) -> bool {
    let v = if bias.dimension == "sex" { sex } else { race };
    v.is_some_and(|v| v.eq_ignore_ascii_case(&bias.category))
}

/// Generates the messages, in arrival order.
pub fn generate(cfg: &SimConfig) -> Vec<Message> {
    let mut rng = Rng::new(cfg.seed);
    let mut timed: Vec<(i64, Message)> = Vec::new();
    let span = i64::from(cfg.weeks.max(1)) * 7 * DAY_MS;
    let postings: Vec<(String, &str)> = (0..cfg.postings.max(1))
        .map(|i| (format!("post-{:02}", i + 1), FAMILIES[i % FAMILIES.len()]))
        .collect();
    let reviewers: Vec<String> = (0..cfg.reviewers.max(2))
        .map(|i| format!("rev-{:02}", i + 1))
        .collect();
    // Reviewer habits: some lenient, some harsh.
    let leniency: Vec<f64> = reviewers.iter().map(|_| rng.normal() * 0.35).collect();
    let models: Vec<String> = if cfg.models.is_empty() {
        vec!["rubric@1.0".into()]
    } else {
        cfg.models.clone()
    };
    let mut erased = Vec::new();

    for c in 0..cfg.candidates {
        let candidate = format!("cand-{:06}", c + 1);
        let (posting, family) = &postings[rng.below(postings.len())];
        let applied = START_MS + (rng.f64() * (span - 4 * DAY_MS) as f64) as i64;
        let sex = rng.weighted(&SEX).to_string();
        let race = rng.weighted(&RACE).to_string();
        let known = |s: &str| (!s.starts_with("Decline")).then(|| s.to_string());
        let mut msgs: Vec<(i64, Message)> = Vec::new();
        if rng.f64() < 0.95 {
            msgs.push((
                applied,
                Message::Demographics(DemographicsMessage {
                    diff: 1,
                    candidate_id: String::from(candidate.as_str()),
                    posting_id: String::from(posting.as_str()),
                    sex: Some(sex.clone()),
                    race_ethnicity: Some(race.clone()),
                    collected_at: rfc3339(applied),
                }),
            ));
        }
        let ability = rng.normal();
        let disadvantaged = cfg
            .bias
            .as_ref()
            .filter(|b| in_category(b, known(&sex).as_deref(), known(&race).as_deref()));
        let interviewed = applied + DAY_MS + rng.below(2 * DAY_MS as usize) as i64;
        let week = ((interviewed - START_MS) / (7 * DAY_MS)) as u32;
        let interview = format!("iv-{:06}", c + 1);
        for (mi, model) in models.iter().enumerate() {
            if mi > 0 && rng.f64() >= cfg.shadow_share {
                continue;
            }
            let drift = cfg
                .drift
                .as_ref()
                .filter(|d| &d.model_version == model && week >= d.from_week)
                .map_or(0.0, |d| d.shift);
            let penalty = disadvantaged.map_or(0.0, |b| b.score_penalty);
            let competencies = COMPETENCIES
                .iter()
                .map(|k| CompetencyScore {
                    competency: String::from(*k),
                    score: clamp_round(
                        2.5 + 0.55 * ability + 0.35 * rng.normal() + drift - penalty,
                        1.0,
                        4.0,
                    ),
                    confidence: Some(clamp_round(0.8 + 0.1 * rng.normal(), 0.0, 1.0)),
                })
                .collect();
            let scored = interviewed + 3_600_000;
            let message = ScoreMessage {
                diff: 1,
                interview_id: String::from(interview.as_str()),
                candidate_id: String::from(candidate.as_str()),
                posting_id: String::from(posting.as_str()),
                job_family: String::from(*family),
                model_name: String::from(model.split('@').next().unwrap_or(model)),
                model_version: String::from(model.as_str()),
                scored_at: rfc3339(scored),
                sentiment: Some(clamp_round(
                    0.2 + 0.25 * ability + 0.2 * rng.normal() + drift * 0.5,
                    -1.0,
                    1.0,
                )),
                transcription_confidence: Some(clamp_round(0.88 + 0.05 * rng.normal(), 0.0, 1.0)),
                flags: Vec::new(),
                competencies,
            };
            msgs.push((scored, Message::Score(message.clone())));
            if rng.f64() < cfg.correction_share {
                // A corrected score: the old message retracted, a new one sent.
                let later = scored + DAY_MS;
                let mut old = Message::Score(message.clone());
                old.set_diff(-1);
                let mut fixed = message;
                for c in &mut fixed.competencies {
                    c.score = clamp_round(c.score + 0.25 * rng.normal(), 1.0, 4.0);
                }
                fixed.scored_at = rfc3339(later);
                msgs.push((later, old));
                msgs.push((later, Message::Score(fixed)));
            }
        }
        if rng.f64() < cfg.question_share {
            for (qid, text) in QUESTIONS {
                let asked = if rng.f64() < 0.15 {
                    format!("So, {} Take your time.", text.to_lowercase())
                } else if rng.f64() < 0.03 {
                    format!("{text} {}", ASIDES[rng.below(ASIDES.len())])
                } else {
                    text.to_string()
                };
                msgs.push((
                    interviewed,
                    Message::Question(QuestionMessage {
                        diff: 1,
                        interview_id: String::from(interview.as_str()),
                        candidate_id: String::from(candidate.as_str()),
                        posting_id: String::from(posting.as_str()),
                        interviewer_id: Some(String::from(
                            reviewers[rng.below(reviewers.len())].as_str(),
                        )),
                        question_id: String::from(qid),
                        canonical_text: text.into(),
                        asked_text: asked,
                        asked_at: rfc3339(interviewed),
                    }),
                ));
            }
        }
        let mut panel_mean = None;
        if rng.f64() < cfg.panel_share {
            let size = 2 + rng.below(2);
            let first = rng.below(reviewers.len());
            let mut sum = 0.0;
            for i in 0..size {
                let r = (first + i * 5) % reviewers.len();
                for k in COMPETENCIES {
                    let rating = (2.5 + 0.7 * ability + leniency[r] + 0.45 * rng.normal())
                        .round()
                        .clamp(1.0, 4.0) as i64;
                    sum += rating as f64;
                    let at = interviewed + DAY_MS + rng.below(DAY_MS as usize) as i64;
                    msgs.push((
                        at,
                        Message::Rating(RatingMessage {
                            diff: 1,
                            reviewer_id: String::from(reviewers[r].as_str()),
                            candidate_id: String::from(candidate.as_str()),
                            posting_id: String::from(posting.as_str()),
                            interview_id: Some(String::from(interview.as_str())),
                            competency: String::from(k),
                            rating,
                            source: String::from(["lever_feedback", "sparkhire", "willo"][r % 3]),
                            rated_at: rfc3339(at),
                        }),
                    ));
                }
            }
            panel_mean = Some(sum / (size * COMPETENCIES.len()) as f64);
        }
        // Advance the stronger candidates (about 40 %).
        let merit = ability + panel_mean.map_or(0.0, |m| 0.3 * (m - 2.5));
        let mut p_advance = 1.0 / (1.0 + (-3.0 * (merit - 0.25)).exp());
        if let Some(b) = disadvantaged {
            p_advance *= b.factor;
        }
        let advance = rng.f64() < p_advance;
        let decided = interviewed + 4 * DAY_MS;
        msgs.push((
            decided,
            Message::Decision(DecisionMessage {
                diff: 1,
                candidate_id: String::from(candidate.as_str()),
                posting_id: String::from(posting.as_str()),
                decision: String::from(if advance { "advance" } else { "archive" }),
                stage: Some(String::from(if advance {
                    "phone-screen"
                } else {
                    "not-a-fit"
                })),
                source: String::from(if c % 3 == 0 {
                    "panelflow_triage"
                } else {
                    "lever"
                }),
                decided_at: rfc3339(decided),
            }),
        ));
        if rng.f64() < cfg.erasure_share {
            erased.extend(msgs.iter().map(|(_, m)| m.clone()));
        }
        timed.extend(msgs);
    }
    timed.sort_by_key(|(t, m)| (*t, m.diff() < 0));
    let mut out: Vec<Message> = timed.into_iter().map(|(_, m)| m).collect();
    // Erasures come last: each of the erased candidates' messages retracted
    // (a corrected message and its retraction cancel already, so only the
    // messages still in force are retracted).
    let mut retract: Vec<Message> = Vec::new();
    for m in erased {
        if m.diff() > 0 {
            let mut r = m;
            r.set_diff(-1);
            retract.push(r);
        } else if let Some(pos) = retract.iter().position(|x| {
            let mut y = x.clone();
            y.set_diff(1);
            let mut z = m.clone();
            z.set_diff(1);
            y == z
        }) {
            retract.remove(pos);
        }
    }
    out.extend(retract);
    out
}

/// What `simulate` sent.
#[derive(Clone, Debug, Default)]
pub struct Sent {
    /// Messages per topic.
    pub per_topic: std::collections::BTreeMap<String, usize>,
    /// Retractions among them.
    pub retractions: usize,
}

/// Sends `messages` to their topics (named by `topic_name`), keyed by
/// candidate, creating the topics when missing.
pub fn produce(
    brokers: &str,
    messages: &[Message],
    topic_name: &dyn Fn(Topic) -> String,
) -> anyhow::Result<Sent> {
    let kafka = KafkaSection {
        brokers: brokers.into(),
        ..Default::default()
    };
    let topics = TopicNames {
        scores: topic_name(Topic::Scores),
        ratings: topic_name(Topic::Ratings),
        decisions: topic_name(Topic::Decisions),
        demographics: topic_name(Topic::Demographics),
        questions: topic_name(Topic::Questions),
        ..TopicNames::default()
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(ensure_aggregate_topics(&kafka, &topics))?;
    let producer: FutureProducer = producer_config(&kafka)
        .set("linger.ms", "20")
        .set("queue.buffering.max.messages", "1000000")
        .create()
        .context("Kafka producer")?;
    let mut sent = Sent::default();
    rt.block_on(async {
        let mut pending = Vec::with_capacity(1024);
        for m in messages {
            let topic = topic_name(m.topic());
            let payload = serde_json::to_vec(&m.to_json())?;
            let record = FutureRecord::to(&topic).key(m.key()).payload(&payload);
            let delivery = producer
                .send_result(record)
                .map_err(|(e, _)| anyhow::anyhow!("queueing a message: {e}"))?;
            pending.push(delivery);
            *sent.per_topic.entry(topic).or_default() += 1;
            if m.diff() < 0 {
                sent.retractions += 1;
            }
            if pending.len() >= 1000 {
                for d in pending.drain(..) {
                    d.await
                        .context("delivery cancelled")?
                        .map_err(|(e, _)| anyhow::anyhow!("delivery failed: {e}"))?;
                }
            }
        }
        for d in pending.drain(..) {
            d.await
                .context("delivery cancelled")?
                .map_err(|(e, _)| anyhow::anyhow!("delivery failed: {e}"))?;
        }
        anyhow::Ok(())
    })?;
    producer.flush(Duration::from_secs(10))?;
    Ok(sent)
}

/// Writes `messages` as JSON lines `{topic, key, message}`.
pub fn write_jsonl(path: &Path, messages: &[Message]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut f = std::io::BufWriter::new(
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
    );
    for m in messages {
        let line = serde_json::json!({ "topic": m.topic().default_name(), "key": m.key(), "message": m.to_json() });
        writeln!(f, "{line}")?;
    }
    f.flush()?;
    Ok(())
}

/// Options of the `simulate` subcommand.
#[derive(Clone, Debug, clap::Args)]
pub struct SimulateArgs {
    /// Candidates to simulate.
    #[arg(long, default_value_t = 500)]
    pub candidates: usize,
    /// Random seed.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Weeks the funnel spans.
    #[arg(long, default_value_t = 6)]
    pub weeks: u32,
    /// Inject a four-fifths violation: DIMENSION=CATEGORY:FACTOR (e.g. sex=female:0.5).
    #[arg(long)]
    pub bias: Option<String>,
    /// With --bias: also lower that category's AI scores by this much.
    #[arg(long, default_value_t = 0.0)]
    pub score_bias: f64,
    /// Inject drift: MODEL_VERSION:FROM_WEEK:SHIFT (e.g. rubric@1.0:4:0.5).
    #[arg(long)]
    pub drift: Option<String>,
    /// Kafka bootstrap servers (default: $PANELFLOW_BROKERS or 127.0.0.1:19092).
    #[arg(long)]
    pub brokers: Option<String>,
    /// Write JSON lines to this file instead of Kafka.
    #[arg(long)]
    pub jsonl: Option<PathBuf>,
}

impl SimulateArgs {
    /// The generator's configuration.
    pub fn config(&self) -> anyhow::Result<SimConfig> {
        Ok(SimConfig {
            candidates: self.candidates,
            seed: self.seed,
            weeks: self.weeks,
            bias: self
                .bias
                .as_deref()
                .map(|b| parse_bias(b, self.score_bias))
                .transpose()?,
            drift: self.drift.as_deref().map(parse_drift).transpose()?,
            ..SimConfig::default()
        })
    }
}

/// Runs `panelflow simulate`.
pub fn run(args: &SimulateArgs) -> anyhow::Result<()> {
    let cfg = args.config()?;
    let started = Instant::now();
    let messages = generate(&cfg);
    if let Some(path) = &args.jsonl {
        write_jsonl(path, &messages)?;
        println!("wrote {} messages to {}", messages.len(), path.display());
        return Ok(());
    }
    let brokers = args
        .brokers
        .clone()
        .or_else(|| std::env::var("PANELFLOW_BROKERS").ok())
        .unwrap_or_else(|| KafkaSection::default().brokers);
    let sent = produce(&brokers, &messages, &|t| t.default_name().to_string())?;
    println!(
        "sent {} messages ({} retractions) to {brokers} in {:.1} s:",
        messages.len(),
        sent.retractions,
        started.elapsed().as_secs_f64()
    );
    for (topic, n) in &sent.per_topic {
        println!("  {topic:<24} {n}");
    }
    if let Some(b) = &cfg.bias {
        println!(
            "injected: {}={} advanced ×{} (scores −{})",
            b.dimension, b.category, b.factor, b.score_penalty
        );
    }
    if let Some(d) = &cfg.drift {
        println!(
            "injected: {} scores +{} from week {}",
            d.model_version, d.shift, d.from_week
        );
    }
    Ok(())
}

/// The demo's simulated population: a few hundred candidates with a mild
/// injected bias (female candidates advanced ×0.6) and drift (`rubric@1.0`
/// scores +0.4 from week 4).
pub fn demo_population() -> SimConfig {
    SimConfig {
        candidates: 400,
        bias: Some(BiasInjection {
            dimension: "sex".into(),
            category: "female".into(),
            factor: 0.6,
            score_penalty: 0.0,
        }),
        drift: Some(DriftInjection {
            model_version: "rubric@1.0".into(),
            from_week: 4,
            shift: 0.4,
        }),
        ..SimConfig::default()
    }
}

/// Generates the [`demo_population`] and sends it to the aggregates'
/// topics (default names) on `brokers`; returns the messages sent.
pub fn send_demo_population(brokers: &str) -> anyhow::Result<usize> {
    let messages = generate(&demo_population());
    produce(brokers, &messages, &|t| t.default_name().to_string())?;
    Ok(messages.len())
}
