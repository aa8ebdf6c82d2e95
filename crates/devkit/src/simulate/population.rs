//! Population generation: candidates, their demographics, scores,
//! ratings and decisions, deterministic for a seed.

use panelflow_core::time::rfc3339_ms as rfc3339;
use panelflow_core::wire::{
    CompetencyScore, DecisionMessage, DemographicsMessage, QuestionMessage, RatingMessage,
    ScoreMessage,
};

use super::config::{BiasInjection, SimConfig, DAY_MS, START_MS};
use super::message::Message;

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
        "Describe a disagreement with a colleague and how it was resolved.",
    ),
    ("q3", "What draws you to this position?"),
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
