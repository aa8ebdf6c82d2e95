//! What to simulate: the population, the funnel and the injected bias and
//! drift.

use anyhow::{bail, Context};

pub(super) const DAY_MS: i64 = 86_400_000;
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
