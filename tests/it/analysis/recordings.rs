//! `panelflow analyze` on a recording with spoken questions.

use super::*;

/// `panelflow analyze` on a recording where an interviewer reads the
/// questions out: with the posting's question list, answers are found within
/// the annotated boundaries; without any list, the questions are heard in
/// the recording and every answered one is scored. The hesitant answer is
/// flagged uncertain, its pause is shown (information only), the off-topic
/// answer is flagged, skills come from the posting.
#[test]
fn analyze_cli_finds_answers_in_a_recording_with_spoken_questions() {
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(datasets().join("manifest.json")).unwrap())
            .unwrap();
    let it = manifest["interviews"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["interview_id"] == "swe-03")
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let questions = dir.path().join("questions.json");
    std::fs::write(&questions, it["questions"].to_string()).unwrap();
    let p = lever_posting(|p| p["id"] == it["posting_id"]);
    let posting = dir.path().join("posting.json");
    std::fs::write(&posting, json!({ "data": p }).to_string()).unwrap();

    let analyze = |extra: &[&std::ffi::OsStr]| -> Value {
        let out = crate::support::succeeded(
            Command::new(env!("CARGO_BIN_EXE_panelflow"))
                .arg("analyze")
                .arg(datasets().join("interviews/swe-03.webm"))
                .args(extra)
                .args(["--config", "dataflows/pilot.toml", "--json"])
                .current_dir(root())
                .output()
                .unwrap(),
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let v = analyze(&[
        "--questions".as_ref(),
        questions.as_os_str(),
        "--posting".as_ref(),
        posting.as_os_str(),
    ]);
    assert_valid("summary.schema.json", &v);
    assert_eq!(v["analysis"]["answers_from"], "aligned");
    let answers = v["answers"].as_array().unwrap();
    assert_eq!(answers.len(), 4);
    for (got, want) in answers.iter().zip(it["answers"].as_array().unwrap()) {
        assert_eq!(got["question_id"], want["question_id"]);
        for (g, w) in [("start", "start_s"), ("end", "end_s")] {
            let err = (got[g].as_f64().unwrap() - want[w].as_f64().unwrap()).abs();
            assert!(
                err <= 1.5,
                "{} {g}: {} vs {}",
                want["question_id"],
                got[g],
                want[w]
            );
        }
    }
    let flags = |q: &str| -> Vec<String> {
        answers.iter().find(|a| a["question_id"] == q).unwrap()["flags"]
            .as_array()
            .map(|f| f.iter().map(|x| x.as_str().unwrap().to_string()).collect())
            .unwrap_or_default()
    };
    assert!(
        flags("swe-q2").contains(&"uncertain_needs_clarification".to_string()),
        "{:?}",
        flags("swe-q2")
    );
    assert!(
        flags("swe-q2").contains(&"long_silences".to_string()),
        "{:?}",
        flags("swe-q2")
    );
    assert!(
        flags("swe-q3").contains(&"off_topic_answer".to_string()),
        "{:?}",
        flags("swe-q3")
    );
    let silence = v["flags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "long_silences")
        .unwrap();
    assert_eq!(silence["severity"], "info", "the voice is information only");
    let tone = &answers[1]["tone"];
    assert!(tone["longest_pause_s"].as_f64().unwrap() >= 2.0, "{tone}");
    assert!(
        tone["pitch_hz"]
            .as_f64()
            .is_some_and(|f| (60.0..400.0).contains(&f)),
        "{tone}"
    );
    let skills: Vec<&str> = v["key_skills_matched"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["skill"].as_str().unwrap())
        .collect();
    assert!(
        skills.contains(&"Kafka") && skills.contains(&"Docker"),
        "{skills:?}"
    );
    let kafka = v["key_skills_matched"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["skill"] == "Kafka")
        .unwrap();
    let at = kafka["mentions"][0]["at"].as_f64().unwrap();
    assert!((55.0..61.0).contains(&at), "Kafka mentioned at {at}");
    let score = |q: &str| {
        v["scores"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["question_id"] == q)
            .cloned()
    };
    let (offtopic, strong) = (score("swe-q3").unwrap(), score("swe-q1").unwrap());
    assert!(
        offtopic["level"].as_f64() < strong["level"].as_f64(),
        "{offtopic} vs {strong}"
    );

    // No list at all: the questions the interviewer read out are heard.
    let heard = analyze(&[]);
    assert_valid("summary.schema.json", &heard);
    assert_eq!(heard["analysis"]["questions_from"], "heard_in_recording");
    let answered = heard["answers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["answered"] == true)
        .count();
    assert!(answered >= 3, "{heard:#}");
    assert_eq!(
        heard["scores"].as_array().unwrap().len(),
        heard["answers"].as_array().unwrap().len()
    );
}
