//! The quality floors of `panelflow eval` on both splits, and the test
//! split frozen and apart from development.

use super::*;

/// The quality figures `panelflow eval` prints, on the development split
/// and on the frozen test split (verified against its checksums), against
/// floors that sit above the trivial baselines.
#[test]
fn eval_meets_the_quality_floors_on_both_splits() {
    let out = crate::support::succeeded(
        Command::new(env!("CARGO_BIN_EXE_panelflow"))
            .args(["eval", "--json", "--threads", "2"])
            .current_dir(root())
            .output()
            .unwrap(),
    );
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let f = |v: &Value, k: &str| v[k].as_f64().unwrap_or_else(|| panic!("{k} in {v}"));
    let table = |v: &Value| {
        format!(
            "{}: coverage {:.3} rho {:.3} (length {:.3}) pairwise {:.3} (length {:.3}) uncertain P {} R {} facts {:.3} (lead {:.3})",
            v["split"], f(v, "coverage"), f(v, "spearman"), f(v, "spearman_length"), f(v, "pairwise"),
            f(v, "pairwise_length"), v["uncertain"]["tp"], v["uncertain"]["fn"], f(v, "key_fact_recall"),
            f(v, "key_fact_recall_lead")
        )
    };
    // The sample recordings, as a pipeline sees them.
    let rec = &r["recordings"];
    assert!(f(rec, "wer") <= 0.2, "WER {rec}");
    assert!(f(rec, "boundary_error_s") <= 1.5, "boundaries {rec}");
    let prf = |p: &Value| {
        let (tp, fp, fn_) = (f(p, "tp"), f(p, "fp"), f(p, "fn"));
        (tp / (tp + fp).max(1.0), tp / (tp + fn_).max(1.0))
    };
    let (sp, sr) = prf(&rec["skills"]);
    assert!(
        2.0 * sp * sr / (sp + sr) >= 0.85,
        "skills P {sp:.3} R {sr:.3}"
    );
    let (up, ur) = prf(&rec["unanswered"]);
    assert!(
        up >= 0.99 && ur >= 0.99,
        "unanswered questions P {up:.3} R {ur:.3}"
    );

    // Floors: what the frozen model reaches (README, "Quality"), each above
    // its trivial baseline, so that a change that degrades quality fails.
    // (rho, pairwise, key-fact recall) per split.
    for (split, name, floors) in [
        (&r["development"], "development", (0.72, 0.86, 0.73)),
        (&r["test"], "test", (0.72, 0.85, 0.50)),
    ] {
        println!("{}", table(split));
        assert!(f(split, "answers") >= 60.0, "{name}: {}", table(split));
        assert_eq!(f(split, "coverage"), 1.0, "{name}: every answer scored");
        let rho = f(split, "spearman");
        assert!(
            rho >= floors.0,
            "{name}: Spearman {rho:.3} ({})",
            table(split)
        );
        assert!(
            rho - f(split, "spearman_length") >= 0.15,
            "{name}: length-only is too close: {}",
            table(split)
        );
        assert!(
            f(split, "pairwise") >= floors.1,
            "{name}: pairwise {}",
            table(split)
        );
        assert!(
            f(split, "pairwise") > f(split, "pairwise_length") + 0.05,
            "{name}: {}",
            table(split)
        );
        assert!(
            f(split, "key_fact_recall") >= floors.2,
            "{name}: key facts {}",
            table(split)
        );
        assert!(
            f(split, "key_fact_recall") > f(split, "key_fact_recall_lead"),
            "{name}: {}",
            table(split)
        );
        // What the digest lost is told apart from what the speech model lost:
        // a fact heard but not kept is one of the answer's facts, not in its
        // digest, and no more of them than the transcript holds.
        for d in split["details"].as_array().unwrap() {
            let facts = d["key_facts"].as_array().unwrap();
            let lost = d["key_facts_heard_not_kept"].as_array().unwrap();
            assert!(
                lost.len() as u64 <= d["key_facts_transcript"].as_u64().unwrap(),
                "{d}"
            );
            for fact in lost {
                assert!(
                    facts.iter().any(|k| k[0] == *fact && k[1] == false),
                    "{name}: {fact} is not a missed key fact of {d}"
                );
            }
        }
        // The analysis alone, on the answers' own texts (perfect speech
        // recognition): on the test split it meets the targets, so
        // what the transcripts lose below them is the speech model's.
        let own = &split["own_text"];
        let own_floors = if name == "test" {
            (0.75, 0.85, 0.80)
        } else {
            (0.75, 0.88, 0.88)
        };
        assert!(
            f(own, "spearman") >= own_floors.0
                && f(own, "spearman") - f(split, "spearman_length") >= 0.15,
            "{name}: on the answers' own texts {own}"
        );
        assert!(
            f(own, "pairwise") >= own_floors.1 && f(own, "key_fact_recall") >= own_floors.2,
            "{name}: on the answers' own texts {own}"
        );
        assert!(
            f(own, "uncertain_precision") >= 0.8 && f(own, "uncertain_recall") >= 0.9,
            "{name}: on the answers' own texts {own}"
        );
        let (p, rc) = prf(&split["uncertain"]);
        let (always, _) = prf(&split["uncertain_always"]);
        assert!(
            p >= 0.8 && p > always + 0.5,
            "{name}: uncertainty precision {p:.3} (flag-all {always:.3})"
        );
        assert!(rc >= 0.9, "{name}: uncertainty recall {rc:.3}");
    }
}

/// The frozen test split has not changed since it was written (its
/// checksums), and the development split does not share a voice with it.
#[test]
fn the_test_split_is_frozen_and_apart_from_development() {
    let holdout = datasets().join("holdout");
    let files = panelflow_models::analysis::splits::verify_checksums(&holdout).expect("frozen");
    assert!(files > 60, "{files} files checked");
    let voices = |p: &Path| -> Vec<String> {
        let v: Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
        let mut out: Vec<String> = v["candidates"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["voice"].as_str().map(str::to_string))
            .collect();
        out.extend(
            v["interviews"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|i| i["voice"].as_str().map(str::to_string)),
        );
        out
    };
    let test = voices(&holdout.join("manifest.json"));
    let mut dev = voices(&datasets().join("devset/manifest.json"));
    dev.extend(voices(&datasets().join("manifest.json")));
    assert!(!test.is_empty() && !dev.is_empty());
    for v in &test {
        assert!(!dev.contains(v), "voice {v} is in both splits");
    }
}
