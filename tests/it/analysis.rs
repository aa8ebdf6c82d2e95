//! The analysis: the summary object against its JSON Schema; questions from
//! the posting, heard in the recording, or not known (then nothing is
//! scored and nothing invented); voice and sentiment never moving a score,
//! hedging lowering confidence only; the quality floors of `panelflow eval`
//! on the development and the frozen test split; the dataflow's `responses`
//! and `scores` tables read back by DuckDB. Needs the set-up's models
//! (bash scripts/setup.sh).

use std::path::{Path, PathBuf};
use std::process::Command;

use panelflow::config::PipelineConfig;
use panelflow_core::event::InterviewCompleted;
use panelflow_models::analysis::analyzer::{Analyzer, Context};
use panelflow_models::analysis::answers::Question;
use panelflow_models::analysis::posting::Posting;
use panelflow_models::analysis::summary::{PipelineRef, Summary};
use panelflow_models::analysis::tone::SegmentAudio;
use panelflow_models::speech::{Segment, Transcript};
use serde_json::{json, Value};

use crate::support;
use support::schema::assert_valid;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn datasets() -> PathBuf {
    root().join("datasets")
}

fn seg(start: f64, end: f64, text: &str) -> Segment {
    Segment {
        start,
        end,
        text: text.into(),
        confidence: 0.9,
    }
}

fn transcript(segments: Vec<Segment>) -> Transcript {
    let text = segments
        .iter()
        .map(|s| s.text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let duration_s = segments.last().map(|s| s.end + 0.5).unwrap_or(0.0);
    Transcript {
        duration_s,
        language: "en".into(),
        model: "test".into(),
        segments,
        text,
    }
}

fn analyzer() -> Analyzer {
    let cfg = PipelineConfig::default();
    Analyzer::from_sections(&cfg.analysis, &cfg.roles, &cfg.speech)
        .expect("analysis models (run bash scripts/setup.sh)")
}

fn pipeline() -> PipelineRef {
    PipelineRef {
        name: "pilot".into(),
        version: "1".into(),
        config_hash: "ab12".into(),
    }
}

/// The dataset's posting with this tag (a job family), as Lever returns it.
fn posting(tag: &str) -> Posting {
    let postings: Value = serde_json::from_str(
        &std::fs::read_to_string(datasets().join("lever_postings.json")).unwrap(),
    )
    .unwrap();
    let p = postings
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["tags"].as_array().unwrap().iter().any(|t| t == tag))
        .unwrap();
    Posting::from_lever(p)
}

/// Analyses one answer given as a platform sends it (its question id and text).
fn analyse_answer(
    a: &mut Analyzer,
    question: &str,
    segments: Vec<Segment>,
    audio: Vec<SegmentAudio>,
) -> Summary {
    let event = InterviewCompleted::new("generic", "iv-one", "cand-1", "opp-1", vec![]);
    let q = Question::new("q_51f0a2", question);
    let mut s = Summary::build(
        &event,
        &pipeline(),
        vec![(
            Some(q.id.clone()),
            Some(q.text.clone()),
            transcript(segments),
        )],
        a.models().to_vec(),
    );
    a.analyze(
        &mut s,
        &[audio],
        &Context {
            questions: std::slice::from_ref(&q),
            questions_from: Some("platform"),
            posting: None,
            role: None,
        },
    );
    s
}

/// A single recording with the posting's questions: answers are cut by
/// question, a skipped question is unanswered, blame is a red flag, every
/// answered question is scored with its competency mapping recorded, quotes
/// and key facts carry the moment they were said, and the summary object
/// (with and without the analysis) follows its schema.
#[test]
fn summary_object_follows_its_schema() {
    let event = InterviewCompleted::new("generic", "iv-schema", "cand-1", "opp-1", vec![]);
    let t = transcript(vec![
        seg(0.4, 6.2, "I have spent five years in business to business software sales as an account executive."),
        seg(6.3, 12.0, "Last year I closed 120% of my quota at a logistics software company."),
        seg(13.2, 24.0, "A logistics customer was about to choose a competitor. I built a business case around saving forty hours a week and we closed a three year contract worth $200,000."),
        seg(25.3, 33.0, "I want to leave because my manager is terrible and the team is lazy. It was never my fault when targets were missed."),
    ]);
    let plain = Summary::build(&event, &pipeline(), vec![(None, None, t.clone())], vec![]);
    assert_valid(
        "summary.schema.json",
        &serde_json::to_value(&plain).unwrap(),
    );

    let mut a = analyzer();
    let sales = posting("sales");
    let questions = [
        Question::new("sales-q1", "Tell us about your sales experience."),
        Question::new("sales-q2", "Describe a deal you are proud of closing. What was the situation, and what was your approach?"),
        Question::new("sales-q3", "How do you manage your pipeline and your forecast?"),
        Question::new("sales-q4", "Why are you looking to leave your current role?"),
    ];
    let mut summary = Summary::build(
        &event,
        &pipeline(),
        vec![(None, None, t)],
        a.models().to_vec(),
    );
    a.analyze(
        &mut summary,
        &[vec![]],
        &Context {
            questions: &questions,
            questions_from: Some("posting"),
            posting: Some(&sales),
            role: None,
        },
    );
    let v = serde_json::to_value(&summary).unwrap();
    assert_valid("summary.schema.json", &v);
    assert_eq!(summary.analysis.questions_from.as_deref(), Some("posting"));
    assert_eq!(summary.analysis.job_family, None, "no role was guessed");
    let ids: Vec<&str> = summary
        .answers
        .iter()
        .filter(|a| a.answered)
        .filter_map(|a| a.question_id.as_deref())
        .collect();
    assert_eq!(ids, ["sales-q1", "sales-q2", "sales-q4"], "{v:#}");
    assert_eq!(summary.unanswered_questions, ["sales-q3"]);
    assert!(summary
        .flags
        .iter()
        .any(|f| f.name == "blames_others" && f.question_id.as_deref() == Some("sales-q4")));
    assert!(summary
        .flags
        .iter()
        .any(|f| f.name == "no_answer" && f.question_id.as_deref() == Some("sales-q3")));
    let blame = summary
        .highlights
        .red_flags
        .iter()
        .find(|f| f.question_id.as_deref() == Some("sales-q4"))
        .expect("a red flag for the blaming answer");
    assert!(
        blame.at.is_some_and(|t| t >= 25.3),
        "quoted where it was said: {blame:?}"
    );
    let skills: Vec<&str> = summary
        .key_skills_matched
        .iter()
        .map(|m| m.skill.as_str())
        .collect();
    assert!(
        skills.contains(&"B2B sales") && skills.contains(&"business case"),
        "{skills:?}"
    );
    assert!(
        summary.skills_missing.contains(&"Salesforce".to_string()),
        "the posting's skills"
    );
    // Every question asked is scored (the unanswered one at the lowest level),
    // each with the competency its text maps to.
    assert_eq!(summary.scores.len(), 4, "{:#}", v["scores"]);
    for s in &summary.scores {
        assert!((1..=4).contains(&s.score) && (0.0..=1.0).contains(&s.confidence));
        assert!(
            s.mapped_by == "similarity" && s.mapping_similarity > 0.0,
            "{s:?}"
        );
    }
    let deal = summary
        .scores
        .iter()
        .find(|s| s.question_id == "sales-q2")
        .unwrap();
    let leave = summary
        .scores
        .iter()
        .find(|s| s.question_id == "sales-q4")
        .unwrap();
    assert!(
        deal.score > leave.score,
        "a measured deal beats blaming the manager: {deal:?} {leave:?}"
    );
    assert!(
        deal.evidence.iter().all(|q| q.at >= 13.2 && q.at <= 24.0),
        "{:?}",
        deal.evidence
    );
    // Key facts with the time they were said, not the answer's start.
    let facts = summary.answers[1]
        .digest
        .as_ref()
        .expect("a digest")
        .key_facts
        .clone();
    assert!(
        facts
            .iter()
            .any(|f| f.text.contains("forty hours") && f.at > 13.2),
        "{facts:?}"
    );
    assert!(!summary
        .interview_transcript_summary
        .starts_with("Candidate discussed"));
    assert!(summary.models.iter().any(|m| m.name.contains("MiniLM")));

    // The Lever note carries it.
    let note = panelflow::writeback::note::render_note(&summary, &summary.correlation_id);
    for part in [
        "questions of the Lever posting",
        "Key facts: ",
        "Red flags:",
        "- blames others [0:2",
        "Skills of the posting mentioned: ",
        "not mentioned: ",
        "Sentiment (information only, not used in any score)",
        "Scores (overall ",
        "scoring evidence-ordinal@",
    ] {
        assert!(
            note.contains(part),
            "{part:?} missing from the note:\n{note}"
        );
    }
}

/// A long recording that comes with no question set, no posting and no
/// role: panelflow says the questions are not known, scores nothing, reports
/// no skill as missing, never guesses a role — and still quotes the most
/// telling sentences at the moments they were said.
#[test]
fn questions_unknown_are_said_and_nothing_is_invented() {
    let mut a = analyzer();
    let event = InterviewCompleted::new("generic", "iv-unknown", "cand-2", "opp-2", vec![]);
    let t = transcript(vec![
        seg(0.5, 9.0, "Thanks for having me. So I have been a backend engineer for about four years now."),
        seg(300.0, 311.0, "Last spring our payments service kept timing out, and I traced it to a connection pool that was far too small."),
        seg(311.5, 320.0, "I rewrote the pool settings and the timeouts fell by ninety percent within a week."),
        seg(1160.0, 1167.0, "I failed to ship a feature on time once because I underestimated the testing effort."),
        seg(1167.5, 1175.0, "Since then I always plan a buffer for testing."),
    ]);
    let mut s = Summary::build(
        &event,
        &pipeline(),
        vec![(None, None, t)],
        a.models().to_vec(),
    );
    a.analyze(&mut s, &[vec![]], &Context::default());
    assert_eq!(s.analysis.questions_from.as_deref(), Some("unknown"));
    assert!(
        s.scores.is_empty(),
        "nothing scored without knowing the questions"
    );
    assert!(
        s.skills_missing.is_empty() && s.skills_requested.is_empty(),
        "no invented requisition"
    );
    assert_eq!(s.analysis.job_family, None);
    assert!(s
        .interview_transcript_summary
        .starts_with("The questions asked are not known"));
    assert!(
        s.highlights.red_flags.is_empty(),
        "owning a mistake is not a red flag: {:?}",
        s.highlights
    );
    assert!(!s.flags.iter().any(|f| f.name == "no_answer"));
    let digest = s.answers[0].digest.as_ref().expect("a digest");
    assert!(
        digest.sentences.iter().all(|x| x.start > 1.0),
        "timed quotes, not [0:00]: {digest:?}"
    );
    assert!(
        digest
            .key_facts
            .iter()
            .any(|f| f.text.contains("ninety percent") && (311.0..321.0).contains(&f.at)),
        "{digest:?}"
    );
    let note = panelflow::writeback::note::render_note(&s, &s.correlation_id);
    assert!(note.contains("questions not known"), "{note}");
    assert!(!note.contains("not mentioned"), "{note}");
}

/// Voice (pace, pauses, pitch) and sentiment never move a score: the same
/// answer with very different voice measures, and the same story told in
/// negative or positive words, score the same; voice flags are information
/// only. Hedging lowers confidence, not the score.
#[test]
fn voice_and_sentiment_never_move_a_score_and_hedging_lowers_only_confidence() {
    let mut a = analyzer();
    let question = "How do you decide what to work on when several urgent requests arrive at once?";
    let story = |lead: &str, hedge: &str| {
        vec![
            seg(0.5, 8.0, &format!("{lead} Three requests landed on one Monday: a billing bug, a sales demo and a data export.")),
            seg(8.5, 16.0, &format!("{hedge}I ranked them by customer impact and I fixed the billing bug first, because it blocked paying customers.")),
            seg(16.5, 24.0, "I told the sales lead the demo would move by a day, and we shipped the export by Wednesday."),
            seg(24.5, 30.0, "As a result no customer was billed twice, and since then I write the ranking down for everyone."),
        ]
    };
    let calm = analyse_answer(&mut a, question, story("It was a good week.", ""), vec![]);
    let grim = analyse_answer(
        &mut a,
        question,
        story(
            "It was an awful, stressful week and customers were furious.",
            "",
        ),
        vec![],
    );
    // The same words with a very different voice: long pauses and a fast pace.
    let voice = |gap: f64| -> Vec<SegmentAudio> {
        (0..4)
            .map(|k| {
                let start = 0.5 + k as f64 * (7.0 + gap);
                let samples: Vec<f32> = (0..(16_000.0 * 7.0) as usize)
                    .map(|n| 0.3 * ((n as f32) * 0.07).sin())
                    .collect();
                SegmentAudio::measure(start, &samples)
            })
            .collect()
    };
    let paused = analyse_answer(
        &mut a,
        question,
        story("It was a good week.", ""),
        voice(4.0),
    );
    let hedged = analyse_answer(
        &mut a,
        question,
        story("It was a good week.", "I guess, I'm not sure, but "),
        vec![],
    );
    let score = |s: &Summary| s.scores.first().cloned().expect("scored");
    let (c, g, p, h) = (score(&calm), score(&grim), score(&paused), score(&hedged));
    assert!(
        c.score >= 3,
        "a specific, measured prioritisation story: {c:?}"
    );
    assert!(
        calm.answers[0].sentiment.as_ref().unwrap().score
            > grim.answers[0].sentiment.as_ref().unwrap().score
    );
    // Sentiment is no input to a score; other words do change the answer's
    // embedding (its similarity to the anchors) in the third decimal.
    assert_eq!(c.score, g.score, "sentiment moved a score: {c:?} {g:?}");
    assert!(
        (c.level - g.level).abs() < 0.02,
        "sentiment moved a score: {c:?} {g:?}"
    );
    assert_eq!(
        (c.score, c.level),
        (p.score, p.level),
        "the voice moved a score"
    );
    assert!(
        paused
            .flags
            .iter()
            .filter(|f| f.name == "long_silences")
            .all(|f| f.severity == panelflow_core::outcome::Severity::Info),
        "voice flags are information only"
    );
    assert_eq!(c.score, h.score, "hedging moved the score: {h:?}");
    assert!(
        h.confidence < c.confidence,
        "hedging lowers confidence: {} vs {}",
        h.confidence,
        c.confidence
    );
    // The voice never reaches the aggregates' flags unless a pipeline opts in.
    let mut m = paused.clone();
    m.flags.push(panelflow_models::analysis::summary::Flag {
        name: "long_silences".into(),
        question_id: None,
        severity: panelflow_core::outcome::Severity::Review,
        figures: Default::default(),
        evidence: None,
    });
    let msg = panelflow::pipeline::scores::score_message(&m).unwrap();
    assert!(!msg.flags.iter().any(|f| f == "long_silences"));
    m.analysis.voice_in_decisions = true;
    let msg = panelflow::pipeline::scores::score_message(&m).unwrap();
    assert!(msg.flags.iter().any(|f| f == "long_silences"));
}

/// A specific, measured answer is never flagged uncertain; "I guess", "I
/// don't know" and "I'm not sure" answers are.
#[test]
fn a_specific_measured_answer_is_never_uncertain_and_a_guess_is() {
    let mut a = analyzer();
    let q = "Tell us about a time you improved a process at work.";
    let certain = [
        "In March I moved our stock counts from paper to handheld scanners. I trained the six people on my shift myself, and the count now takes two hours instead of five.",
        "At my previous hospital I noticed handover notes kept missing allergies. I wrote a one page checklist with the ward manager, and in three months missed allergy notes fell from nine to one.",
        "Last year I rebuilt our month end report in Python. I don't know why nobody had done it before, but it cut the close from four days to two days.",
    ];
    let guesses = [
        "I guess I would try to make things faster. I'm not sure I have a real example of that.",
        "I don't know, maybe the time we changed some tools. I think it went okay but I'm not sure what the result was.",
        "Probably something with reports, I guess. It was kind of a team thing, I don't really know what my part was.",
    ];
    for text in certain {
        let s = analyse_answer(&mut a, q, vec![seg(0.5, 14.0, text)], vec![]);
        assert!(
            !s.answers[0]
                .flags
                .iter()
                .any(|f| f == "uncertain_needs_clarification"),
            "flagged uncertain: {text}"
        );
    }
    for text in guesses {
        let s = analyse_answer(&mut a, q, vec![seg(0.5, 9.0, text)], vec![]);
        assert!(
            s.answers[0]
                .flags
                .iter()
                .any(|f| f == "uncertain_needs_clarification"),
            "not flagged uncertain: {text}"
        );
    }
}

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
    let postings: Value = serde_json::from_str(
        &std::fs::read_to_string(datasets().join("lever_postings.json")).unwrap(),
    )
    .unwrap();
    let p = postings
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == it["posting_id"])
        .unwrap();
    let posting = dir.path().join("posting.json");
    std::fs::write(&posting, json!({ "data": p }).to_string()).unwrap();

    let analyze = |extra: &[&std::ffi::OsStr]| -> Value {
        let out = Command::new(env!("CARGO_BIN_EXE_panelflow"))
            .arg("analyze")
            .arg(datasets().join("interviews/swe-03.webm"))
            .args(extra)
            .args(["--config", "dataflows/pilot.toml", "--json"])
            .current_dir(root())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
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

/// The quality figures `panelflow eval` prints, on the development split
/// and on the frozen test split (verified against its checksums), against
/// floors that sit above the trivial baselines.
#[test]
fn eval_meets_the_quality_floors_on_both_splits() {
    let out = Command::new(env!("CARGO_BIN_EXE_panelflow"))
        .args(["eval", "--json", "--threads", "2"])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
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
        (&r["development"], "development", (0.70, 0.86, 0.70)),
        (&r["test"], "test", (0.70, 0.85, 0.50)),
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

/// Competencies and roles in a pipeline file: a recruiter's own competency
/// in plain language, a question bound to it, a role's question set;
/// unknown fields and bindings to unknown competencies are refused.
#[test]
fn pipeline_files_bind_competencies_and_roles() {
    for f in ["pilot", "review", "automate"] {
        PipelineConfig::load(&root().join(format!("dataflows/{f}.toml"))).unwrap();
    }
    let cfg = PipelineConfig::from_toml(
        r#"
        [analysis]
        embeddings = "off"
        [analysis.question_competencies]
        "q-77" = ["safe_practice"]
        [[analysis.competencies]]
        id = "safe_practice"
        name = "Safe clinical practice"
        definition = "Follows and improves the procedures that keep patients safe."
        anchors = ["Ignores or dismisses procedures.", "Knows them in general terms.",
                   "Follows them in a real case and explains why.", "Improved one, with a measured result for patients."]
        [roles.nurse]
        match = ["registered nurse"]
        questions = [{ id = "q-78", text = "Tell us about a shift that went wrong.", competencies = ["ownership"] }]
        "#,
    )
    .unwrap();
    let mut a = Analyzer::from_sections(&cfg.analysis, &cfg.roles, &cfg.speech).unwrap();
    assert!(!a.has_embeddings());
    let event = InterviewCompleted::new("generic", "iv-2", "c", "o", vec![]);
    let answer = |id: &str| {
        (
            Some(id.to_string()),
            None,
            transcript(vec![seg(0.5, 9.0, "Last winter I noticed two patients with the same name on my ward. I added a second identity check to our handover, and we had no mix-ups in six months.")]),
        )
    };
    let mut s = Summary::build(
        &event,
        &pipeline(),
        vec![answer("q-77"), answer("q-78"), answer("q-79")],
        vec![],
    );
    a.analyze(&mut s, &[vec![], vec![], vec![]], &Context::default());
    let by = |q: &str| s.scores.iter().find(|x| x.question_id == q).unwrap();
    assert_eq!(
        (
            by("q-77").competency.as_str(),
            by("q-77").mapped_by.as_str()
        ),
        ("safe_practice", "pipeline")
    );
    assert_eq!(by("q-77").name, "Safe clinical practice");
    assert_eq!(
        (
            by("q-78").competency.as_str(),
            by("q-78").mapped_by.as_str()
        ),
        ("ownership", "pipeline")
    );
    assert_eq!(
        by("q-79").mapped_by,
        "answer",
        "no question text: mapped by the answer"
    );
    assert_eq!(
        s.answers[1].question.as_deref(),
        Some("Tell us about a shift that went wrong.")
    );

    assert!(PipelineConfig::from_toml("[roles.x]\ncompetences = []\n").is_err());
    assert!(PipelineConfig::from_toml("[analysis]\nembedings = \"off\"\n").is_err());
    assert!(
        PipelineConfig::from_toml("[rubrics.x]\n").is_err(),
        "the old keyword rubrics are gone"
    );
    let bad = PipelineConfig::from_toml("[analysis.question_competencies]\n\"q\" = [\"nope\"]\n")
        .unwrap();
    let err = Analyzer::from_sections(&bad.analysis, &bad.roles, &bad.speech).unwrap_err();
    assert!(err.to_string().contains("nope"), "{err}");
}

/// The dataflow's per-interview processing runs the analysis: a single
/// recording whose platform sends its questions gets its answers per
/// question and its scores, and the `responses` and `scores` tables it
/// writes read back in DuckDB joined to `interviews`.
#[test]
fn the_dataflow_writes_responses_and_scores_that_duckdb_reads() {
    use panelflow::pipeline::Processor;
    use panelflow_connectors::parquet::ParquetSink;
    use panelflow_core::event::{MediaItem, QuestionRef};
    use panelflow_devkit::media_server::MediaServer;

    let media = MediaServer::start(&datasets()).unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let mut cfg = PipelineConfig::default();
    crate::support::use_built_decoder(&mut cfg);
    cfg.media.allow_private_networks = true;
    cfg.review.queue_dir = scratch.path().join("review");
    cfg.governance.audit_dir = scratch.path().join("audit");
    let mut processor = Processor::new(&cfg, None).expect("models (run bash scripts/setup.sh)");
    let item = MediaItem {
        url: media.url("interviews/sales-02.webm"),
        question_id: None,
        question_text: None,
        expires_at: None,
    };
    let mut event = InterviewCompleted::new("generic", "sales-02", "cand", "opp", vec![item]);
    event.questions = [
        ("sales-q1", "Tell us about your sales experience."),
        ("sales-q2", "Describe a deal you are proud of closing. What was the situation, and what was your approach?"),
        ("sales-q3", "How do you manage your pipeline and your forecast?"),
        ("sales-q4", "Why are you looking to leave your current role?"),
    ]
    .iter()
    .map(|(id, text)| QuestionRef {
        id: id.to_string(),
        text: Some(text.to_string()),
    })
    .collect();
    let done = processor.process(&event);
    assert_eq!(
        done.interview.outcome, "transcribed",
        "{:?}",
        done.interview.failure_reason
    );
    assert_eq!(done.analysis.responses.len(), 4);
    assert_eq!(done.analysis.scores.len(), 4);
    let mut keys: Vec<(i32, i32)> = done
        .segments
        .iter()
        .map(|s| (s.media_index, s.segment_index))
        .collect();
    let n = keys.len();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), n, "segment indexes are unique per media item");
    assert!(
        done.segments.iter().all(|s| s.question_id.is_some()),
        "segments know their question"
    );
    let summary: Value =
        serde_json::from_str(done.interview.summary_json.as_deref().unwrap()).unwrap();
    assert_valid("summary.schema.json", &summary);

    let dir = tempfile::tempdir().unwrap();
    let sink = ParquetSink::open(dir.path()).unwrap();
    sink.write_batch_with(
        std::slice::from_ref(&done.interview),
        &done.segments,
        &done.analysis,
    )
    .unwrap();
    let root = dir.path().display().to_string();
    let t =
        |name: &str| format!("read_parquet('{root}/{name}/**/*.parquet', hive_partitioning=true)");
    let responses = support::duckdb_json(&format!(
        "select r.question_id, r.answered, r.sentiment_label, r.flags, r.words_per_minute, r.pitch_hz, i.outcome \
         from {} r join {} i using (interview_id, pipeline_version) order by r.question_index",
        t("responses"),
        t("interviews")
    ));
    let ids: Vec<&str> = responses
        .iter()
        .map(|r| r["question_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["sales-q1", "sales-q2", "sales-q3", "sales-q4"]);
    assert_eq!(responses[2]["answered"], false);
    assert!(
        responses[3]["flags"]
            .as_str()
            .unwrap()
            .contains("blames_others"),
        "{responses:?}"
    );
    assert!(
        responses[0]["pitch_hz"].as_f64().is_some(),
        "tone from the audio: {responses:?}"
    );
    let scores = support::duckdb_json(&format!(
        "select competency, score, level, mapped_by, model_version, low_confidence, typeof(score) as t from {} order by competency",
        t("scores")
    ));
    assert_eq!(scores.len(), 4);
    assert!(scores.iter().all(|s| s["t"] == "INTEGER"
        && (1..=4).contains(&s["score"].as_i64().unwrap())
        && s["mapped_by"] == "similarity"
        && s["model_version"]
            .as_str()
            .is_some_and(|m| m.starts_with("evidence-ordinal@"))));
}
