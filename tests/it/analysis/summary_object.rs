//! The summary object: its JSON Schema, and questions not known said as
//! such with nothing scored or invented.

use super::*;

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
