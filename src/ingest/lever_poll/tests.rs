use super::records::*;
use serde_json::{json, Value};

#[test]
fn lever_scores_in_every_spelling() {
    assert_eq!(lever_score(&json!(3)), Some(3));
    assert_eq!(lever_score(&json!("2")), Some(2));
    assert_eq!(lever_score(&json!("1 - Strong No Hire")), Some(1));
    assert_eq!(lever_score(&json!("Strong Hire")), Some(4));
    assert_eq!(lever_score(&json!("No Hire")), Some(2));
    assert_eq!(lever_score(&json!(5)), None);
    assert_eq!(lever_score(&json!("maybe")), None);
    assert_eq!(lever_score(&Value::Null), None);
}

#[test]
fn unscored_scorecard_entries_are_skipped() {
    let card = json!({"type": "scorecard", "scores": [{"text": "A"}, {"text": "B"}],
                      "value": [{"score": null}, {"score": 2}]});
    assert_eq!(field_ratings(&card), vec![("b".to_string(), 2)]);
}

#[test]
fn the_latest_eeo_answer_wins_and_declines_are_unknown() {
    let answers = vec![
        json!({"opportunityId": "o1", "gender": "Female", "race": "Asian", "createdAt": 1}),
        json!({"opportunityId": "o1", "gender": "Decline to self-identify", "race": "", "createdAt": 2}),
    ];
    let latest = latest_per_opportunity(&answers);
    assert_eq!(latest.len(), 1);
    let d = demographics(latest[0], &("c1".into(), "p1".into()));
    assert_eq!(d.race_ethnicity, None);
    let (record, _) = crate::aggregates::records::Validate::validate(&d).unwrap();
    // A decline is no category: the audit counts it as unknown.
    assert!(record.sex.is_none(), "{record:?}");
}

#[test]
fn candidate_is_the_contact_and_posting_the_application() {
    let opp = json!({"id": "o1", "contact": "c9", "applications": [{"id": "a1", "posting": "p7"}]});
    assert_eq!(candidate_and_posting(&opp), ("c9".into(), "p7".into()));
    let bare = json!({"id": "o2"});
    assert_eq!(
        candidate_and_posting(&bare),
        ("o2".into(), "unassigned".into())
    );
}
