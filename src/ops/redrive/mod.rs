//! `panelflow redrive`: sends chosen dead letters back through the pipeline.
//!
//! The dead-letter topic is read once, from its beginning to the high
//! watermarks seen at the start, by a consumer of its own that joins no
//! group and commits nothing ([`reader::read_to_end`]). A [`Selection`]
//! chooses letters by interview id, by reason (or failing stage) and by
//! the time they failed; [`plan`] decides for each chosen letter whether
//! its event can be sent again, and [`send`] produces each sendable event
//! to the pipeline's events topic exactly as ingest would — keyed by its
//! opportunity ([`event_key`]), the interview in [`INTERVIEW_HEADER`] — with
//! [`REDRIVE_HEADER`] naming the letter (`topic/partition/offset`).
//!
//! **Idempotent.** The pipeline admits a redriven event only while its key
//! (interview id, pipeline version) has nothing but a `failed` row; the
//! Parquet key index takes one row that is not failed in place of a
//! failed one, once; and a Lever note carries its correlation id, which is
//! looked for before writing. So redriving a letter twice, or an interview
//! that has since succeeded, writes no second note and no second row.
//!
//! **What cannot be sent back.** A letter whose event was cut to fit the
//! broker's message limit (its large fields dropped, `panelflow_truncated`)
//! no longer holds the event whole; one whose event is not an interview
//! event (refused at the source as malformed) or is larger than `[kafka]
//! max_event_bytes` would only be refused again. Each is reported and
//! skipped. When several chosen letters name one interview, only the
//! newest is sent.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, Utc};

use panelflow_connectors::kafka::consumer::{INTERVIEW_HEADER, REDRIVE_HEADER};
use panelflow_connectors::kafka::publisher::{Outgoing, Publisher};
use panelflow_connectors::kafka::reader::{self, ReadTopicError, TopicRecord};
use panelflow_connectors::kafka::{event_key, KafkaSection};
use panelflow_core::event::{namespaced_interview_id, InterviewCompleted};
use panelflow_core::wire::DeadLetter;

/// How long reading the dead-letter topic to its end may take.
pub const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// Errors of a redrive.
#[derive(Debug, thiserror::Error)]
pub enum RedriveError {
    /// No selector was given (and not `--all`).
    #[error("choose dead letters with --id, --reason, --since or --until (or --all)")]
    NoSelector,
    /// `--since` is after `--until`.
    #[error("--since {since} is after --until {until}")]
    EmptyRange {
        /// `--since`.
        since: DateTime<Utc>,
        /// `--until`.
        until: DateTime<Utc>,
    },
    /// The dead-letter topic could not be read to its end.
    #[error("reading the dead-letter topic")]
    Read(#[source] Box<ReadTopicError>),
    /// No producer for the events topic.
    #[error("connecting a producer for {topic}: {reason}")]
    Connect {
        /// The events topic.
        topic: String,
        /// Why.
        reason: String,
    },
    /// The broker did not take a redriven event.
    #[error("sending the event of dead letter {position} (interview {interview_id}) to {topic}: {reason}")]
    Send {
        /// The letter's `topic/partition/offset`.
        position: String,
        /// Its interview.
        interview_id: String,
        /// The events topic.
        topic: String,
        /// Why.
        reason: String,
    },
}

/// Which dead letters to send back. Every selector given must hold; ids
/// are alternatives among themselves, as are reasons.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// Interview ids (as in the letter, or as their source's platform
    /// names them: `int-9` matches a `lever:int-9` letter from Lever).
    pub ids: BTreeSet<String>,
    /// Case-insensitive substrings of the letter's reason or failing stage.
    pub reasons: Vec<String>,
    /// Letters that failed at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Letters that failed at or before this time.
    pub until: Option<DateTime<Utc>>,
    /// Every letter (no other selector needed).
    pub all: bool,
}

impl Selection {
    /// Whether the selection names anything: a selector, or `all`.
    pub fn is_chosen(&self) -> bool {
        self.all
            || !self.ids.is_empty()
            || !self.reasons.is_empty()
            || self.since.is_some()
            || self.until.is_some()
    }

    /// Checks that the selection names something and its range is not empty.
    pub fn check(&self) -> Result<(), RedriveError> {
        if !self.is_chosen() {
            return Err(RedriveError::NoSelector);
        }
        if let (Some(since), Some(until)) = (self.since, self.until) {
            if since > until {
                return Err(RedriveError::EmptyRange { since, until });
            }
        }
        Ok(())
    }

    /// Whether `letter`, which failed at `at` (when known), is chosen.
    ///
    /// ```
    /// use panelflow::ops::redrive::Selection;
    /// use panelflow_core::{event::InterviewCompleted, outcome::Stage, wire::DeadLetter};
    /// let e = InterviewCompleted::new("generic", "int-1", "c", "o", vec![]);
    /// let letter = DeadLetter::new(&e, Stage::Media, "media_fetch: timed out");
    /// let sel = Selection { reasons: vec!["TIMED OUT".into()], ..Default::default() };
    /// assert!(sel.matches(&letter, None));
    /// ```
    pub fn matches(&self, letter: &DeadLetter, at: Option<DateTime<Utc>>) -> bool {
        if !self.is_chosen() {
            return false;
        }
        if !self.ids.is_empty()
            && !self.ids.iter().any(|id| {
                *id == letter.interview_id
                    || namespaced_interview_id(&letter.source, id) == letter.interview_id
            })
        {
            return false;
        }
        if !self.reasons.is_empty() {
            let reason = letter.reason.to_lowercase();
            let stage = letter.stage.as_str().to_lowercase();
            let hit = self.reasons.iter().any(|r| {
                let r = r.to_lowercase();
                reason.contains(&r) || stage.contains(&r)
            });
            if !hit {
                return false;
            }
        }
        if self.since.is_some() || self.until.is_some() {
            let Some(at) = at else { return false };
            if self.since.is_some_and(|s| at < s) || self.until.is_some_and(|u| at > u) {
                return false;
            }
        }
        true
    }
}

/// A dead letter as read from the topic.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    /// Where it is: `topic/partition/offset`.
    pub position: String,
    /// Its partition.
    pub partition: i32,
    /// Its offset.
    pub offset: i64,
    /// The letter.
    pub letter: DeadLetter,
    /// When it failed: its `failed_at`, else the record's timestamp.
    pub at: Option<DateTime<Utc>>,
}

/// Reads the letters of `records`; returns them with the number of
/// records that are not dead letters (left alone, logged).
pub fn letters(records: &[TopicRecord]) -> (Vec<Found>, usize) {
    let mut out = Vec::new();
    let mut unreadable = 0;
    for r in records {
        match serde_json::from_slice::<DeadLetter>(&r.payload) {
            Ok(letter) => {
                let at = DateTime::parse_from_rfc3339(&letter.failed_at)
                    .map(|t| t.with_timezone(&Utc))
                    .ok()
                    .or_else(|| r.timestamp_ms.and_then(DateTime::from_timestamp_millis));
                out.push(Found {
                    position: r.position(),
                    partition: r.partition,
                    offset: r.offset,
                    letter,
                    at,
                });
            }
            Err(e) => {
                tracing::warn!(position = %r.position(), error = %e, "not a dead letter; left alone");
                unreadable += 1;
            }
        }
    }
    (out, unreadable)
}

/// What becomes of one chosen letter.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Its event goes back to the events topic under `key`.
    Send {
        /// The Kafka key (the event's opportunity).
        key: String,
        /// The event, as the letter holds it.
        payload: Vec<u8>,
    },
    /// It cannot be sent back: why.
    Skip(String),
    /// A newer chosen letter of the same interview is sent instead.
    Superseded {
        /// Where the newer letter is.
        by: String,
    },
}

/// One chosen letter and its verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    /// The letter.
    pub found: Found,
    /// What becomes of it.
    pub verdict: Verdict,
}

/// Whether and how the event of `letter` can be sent back whole.
fn verdict(letter: &DeadLetter, max_event_bytes: usize) -> Verdict {
    if let Some(cut) = letter.event.get("panelflow_truncated") {
        let dropped: Vec<&str> = cut
            .get("dropped")
            .and_then(serde_json::Value::as_array)
            .map(|a| a.iter().filter_map(serde_json::Value::as_str).collect())
            .unwrap_or_default();
        return Verdict::Skip(format!(
            "its event was cut to fit the broker's message limit (dropped: {}); send it again from its source",
            if dropped.is_empty() { "large fields".to_string() } else { dropped.join(", ") }
        ));
    }
    let event = match serde_json::from_value::<InterviewCompleted>(letter.event.clone()) {
        Ok(e) if !e.interview_id.is_empty() => e,
        Ok(_) => return Verdict::Skip("its event names no interview".into()),
        Err(e) => return Verdict::Skip(format!("it holds no interview event ({e})")),
    };
    let payload = match serde_json::to_vec(&letter.event) {
        Ok(p) => p,
        Err(e) => return Verdict::Skip(format!("its event does not serialize ({e})")),
    };
    if payload.len() > max_event_bytes {
        return Verdict::Skip(format!(
            "its event is {} bytes, more than [kafka] max_event_bytes ({max_event_bytes}): it would be refused again",
            payload.len()
        ));
    }
    Verdict::Send {
        key: event_key(&event).to_string(),
        payload,
    }
}

/// The chosen letters of `found`, in topic order, each with its verdict:
/// per interview only the newest chosen letter (by failure time, then
/// position) is considered, older ones are [`Verdict::Superseded`].
pub fn plan(found: Vec<Found>, selection: &Selection, max_event_bytes: usize) -> Vec<Planned> {
    let chosen: Vec<Found> = found
        .into_iter()
        .filter(|f| selection.matches(&f.letter, f.at))
        .collect();
    let mut newest: BTreeMap<&str, &Found> = BTreeMap::new();
    for f in &chosen {
        let e = newest.entry(f.letter.interview_id.as_str()).or_insert(f);
        if (f.at, f.partition, f.offset) > (e.at, e.partition, e.offset) {
            *e = f;
        }
    }
    let newest: BTreeMap<String, String> = newest
        .into_iter()
        .map(|(id, f)| (id.to_string(), f.position.clone()))
        .collect();
    chosen
        .into_iter()
        .map(|found| {
            let verdict = match newest.get(&found.letter.interview_id) {
                Some(by) if *by != found.position => Verdict::Superseded { by: by.clone() },
                _ => verdict(&found.letter, max_event_bytes),
            };
            Planned { found, verdict }
        })
        .collect()
}

/// The message that sends `planned`'s event back to `topic`; `None`
/// unless its verdict is [`Verdict::Send`].
pub fn outgoing(planned: &Planned, topic: &str) -> Option<Outgoing> {
    let Verdict::Send { key, payload } = &planned.verdict else {
        return None;
    };
    Some(Outgoing {
        topic: topic.to_string(),
        key: key.clone(),
        payload: payload.clone(),
        headers: vec![
            (REDRIVE_HEADER.to_string(), planned.found.position.clone()),
            (
                INTERVIEW_HEADER.to_string(),
                planned.found.letter.interview_id.clone(),
            ),
        ],
    })
}

/// Reads `kafka.dead_letter_topic` to its end and plans the redrive of the
/// letters `selection` chooses; returns the plan and the number of records
/// that are not dead letters.
pub fn read_plan(
    kafka: &KafkaSection,
    selection: &Selection,
) -> Result<(Vec<Planned>, usize), RedriveError> {
    selection.check()?;
    let records = reader::read_to_end(kafka, &kafka.dead_letter_topic, READ_TIMEOUT)
        .map_err(|e| RedriveError::Read(Box::new(e)))?;
    let (found, unreadable) = letters(&records);
    tracing::info!(
        topic = %kafka.dead_letter_topic,
        records = records.len(),
        letters = found.len(),
        "dead-letter topic read"
    );
    Ok((plan(found, selection, kafka.max_event_bytes), unreadable))
}

/// Sends the sendable letters of `plan` to `kafka.topic`, one at a time,
/// each acknowledged by the broker before the next; `sent` is called after
/// each. Stops at the first failure.
pub fn send(
    kafka: &KafkaSection,
    plan: &[Planned],
    mut sent: impl FnMut(&Planned),
) -> Result<usize, RedriveError> {
    let messages: Vec<(&Planned, Outgoing)> = plan
        .iter()
        .filter_map(|p| outgoing(p, &kafka.topic).map(|m| (p, m)))
        .collect();
    if messages.is_empty() {
        return Ok(0);
    }
    let publisher =
        Publisher::connect(kafka, &[&kafka.topic]).map_err(|reason| RedriveError::Connect {
            topic: kafka.topic.clone(),
            reason,
        })?;
    for (p, m) in &messages {
        publisher.send_one(m).map_err(|reason| RedriveError::Send {
            position: p.found.position.clone(),
            interview_id: p.found.letter.interview_id.clone(),
            topic: kafka.topic.clone(),
            reason,
        })?;
        tracing::info!(interview_id = %p.found.letter.interview_id, dead_letter = %p.found.position, topic = %kafka.topic, "redriven");
        sent(p);
    }
    Ok(messages.len())
}

#[cfg(test)]
mod tests;
