//! Injected four-fifths violations and drift are flagged; an unbiased
//! stream is not.

use super::*;

fn records(cfg: &SimConfig) -> Vec<(InputRecord, isize)> {
    generate(cfg)
        .iter()
        .map(|m| decode_json(m.topic(), &m.to_json()).expect("simulated messages are valid"))
        .collect()
}

fn overall<'a>(rows: &'a [BiasRow], dimension: &str, category: &str) -> &'a BiasRow {
    rows.iter()
        .find(|r| {
            r.scope.kind() == "overall"
                && r.dimension.as_str() == dimension
                && r.category.as_str() == category
        })
        .unwrap_or_else(|| panic!("no overall {dimension} {category} row"))
}

/// Categories large enough that sampling noise alone rarely moves an impact
/// ratio by 0.2: at 300 candidates the standard error of a 40 % rate is
/// 0.028, so a ratio of 0.8 is about 3 standard errors away.
const LARGE: i64 = 300;

#[test]
fn injected_four_fifths_violation_and_drift_are_flagged_unbiased_stream_is_not() {
    let cfg = AggregateConfig::default();
    let base = SimConfig {
        candidates: 3000,
        seed: 11,
        weeks: 6,
        correction_share: 0.02,
        ..SimConfig::default()
    };

    // Unbiased: no large category flagged anywhere, no score drift.
    let fair = run_batch(records(&base), 2, &cfg, &SinkOptions::in_memory()).unwrap();
    let min_ir = |rows: &[BiasRow], kind: &str| {
        rows.iter()
            .filter(|r| r.scope.kind() == kind && !r.small_category && r.assessed >= LARGE)
            .flat_map(|r| [r.impact_ratio_selection, r.impact_ratio_scoring])
            .flatten()
            .map(|v| v.0)
            .fold(f64::MAX, f64::min)
    };
    eprintln!(
        "unbiased: {} audit rows, {} flagged in all ({} of them with >= {LARGE} candidates); lowest impact ratio of large categories: overall {:.3}, posting {:.3}",
        fair.bias.len(),
        fair.bias.iter().filter(|r| r.flagged).count(),
        fair.bias.iter().filter(|r| r.flagged && r.assessed >= LARGE).count(),
        min_ir(&fair.bias, "overall"),
        min_ir(&fair.bias, "posting")
    );
    let large_flagged: Vec<_> = fair
        .bias
        .iter()
        .filter(|r| r.flagged && r.assessed >= LARGE)
        .collect();
    assert!(
        large_flagged.is_empty(),
        "unbiased stream flagged: {large_flagged:#?}"
    );
    for dim in ["sex", "race_ethnicity"] {
        for r in fair.bias.iter().filter(|r| {
            r.scope.kind() == "overall" && r.dimension.as_str() == dim && !r.small_category
        }) {
            assert!(r.impact_ratio_selection.unwrap().0 > 0.8, "{r:?}");
        }
    }
    let drifted: Vec<_> = fair
        .drift
        .iter()
        .filter(|r| r.flagged && r.metric.as_str() == "score" && r.n >= 500)
        .collect();
    assert!(drifted.is_empty(), "unbiased stream drifted: {drifted:#?}");
    assert!(
        fair.bias.iter().any(|r| r.small_category),
        "small categories are reported"
    );
    assert!(
        fair.bias.iter().all(|r| !(r.small_category && r.flagged)),
        "small categories are never flagged"
    );

    // Biased selection of women, and lower AI scores for Black candidates.
    let mut biased_cfg = base.clone();
    biased_cfg.bias = Some(parse_bias("sex=female:0.5", 0.0).unwrap());
    let biased = run_batch(records(&biased_cfg), 2, &cfg, &SinkOptions::in_memory()).unwrap();
    let female = overall(&biased.bias, "sex", "female");
    let male = overall(&biased.bias, "sex", "male");
    eprintln!(
        "biased: female selection rate {:.3} vs male {:.3}, impact ratio {:.3}",
        female.selection_rate.0,
        male.selection_rate.0,
        female.impact_ratio_selection.unwrap().0
    );
    assert!(
        female.flagged_selection && female.impact_ratio_selection.unwrap().0 < 0.65,
        "{female:?}"
    );
    assert!(!male.flagged, "{male:?}");
    assert!(
        female.unknown_excluded > 0,
        "declined answers are counted as unknown"
    );
    let female_intersections = biased.bias.iter().filter(|r| {
        r.scope.kind() == "overall"
            && r.dimension.as_str() == "intersection"
            && r.category.starts_with("female /")
            && r.assessed >= LARGE
    });
    for r in female_intersections {
        assert!(r.flagged_selection, "intersection {r:?}");
    }

    let mut scored_cfg = base.clone();
    scored_cfg.bias = Some(parse_bias("race_ethnicity=black:1.0", 0.5).unwrap());
    let scored = run_batch(records(&scored_cfg), 2, &cfg, &SinkOptions::in_memory()).unwrap();
    let black = overall(&scored.bias, "race_ethnicity", "black");
    eprintln!(
        "score-biased: black scoring-rate impact ratio {:.3}, selection {:.3}",
        black.impact_ratio_scoring.unwrap().0,
        black.impact_ratio_selection.unwrap().0
    );
    assert!(
        black.flagged_scoring && !black.flagged_selection,
        "{black:?}"
    );

    // Drift of rubric@1.0 from week 3: PSI major from then on, stable before.
    let mut drift_cfg = base.clone();
    drift_cfg.drift = Some(parse_drift("rubric@1.0:3:0.5").unwrap());
    let drifting = run_batch(records(&drift_cfg), 2, &cfg, &SinkOptions::in_memory()).unwrap();
    let weeks: Vec<&DriftRow> = drifting
        .drift
        .iter()
        .filter(|r| r.model.as_str() == "rubric@1.0" && r.metric.as_str() == "score")
        .collect();
    assert_eq!(weeks.len(), 6, "{weeks:#?}");
    let start = weeks[0].week;
    eprintln!(
        "drift: rubric@1.0 score PSI by week {:?}",
        weeks
            .iter()
            .map(|r| (r.psi.0 * 1000.0).round() / 1000.0)
            .collect::<Vec<_>>()
    );
    for r in &weeks {
        let week = (r.week - start) / 7;
        if week >= 3 {
            assert!(
                r.psi_level.as_str() == "major" && r.ks_significant,
                "week {week}: {r:?}"
            );
        } else {
            assert!(!r.flagged, "week {week}: {r:?}");
        }
    }
    let shadow: Vec<_> = drifting
        .drift
        .iter()
        .filter(|r| {
            r.model.as_str() == "rubric@1.1"
                && r.metric.as_str() == "score"
                && r.n >= 500
                && r.flagged
        })
        .collect();
    assert!(
        shadow.is_empty(),
        "the shadow model did not drift: {shadow:#?}"
    );
}
