//! `panelflow poll-lever`: what Lever knows about candidates after their
//! interview — human scorecards, stage advances and archives, and the
//! candidates' own EEO answers — read from Lever's API and published to the
//! aggregates' topics as ratings, decisions and demographics.
//!
//! Lever sends no webhook for a submitted scorecard, so the poller asks:
//! every `interval_s` it lists the opportunities updated since its last
//! round (`GET /opportunities?updated_at_start=…&expand=applications`),
//! reads each one's feedback (`GET /opportunities/:id/feedback`) — and
//! that of up to `revisit_per_round` opportunities *in flight* (seen in the
//! last `in_flight_days`) that were not listed, the least recently read
//! first, since a scorecard need not count as an update of its
//! opportunity — and lists
//! the EEO answers given since (`GET /eeo/responses/pii?created_at_start=…`,
//! which needs the key's EEO permission; off with `eeo = false`).
//!
//! From what Lever holds now it derives, per opportunity, the records that
//! should be in the aggregates, compares them with what it published before
//! (its state file), and publishes the difference: new records with
//! `diff: 1`, records that no longer hold (a deleted scorecard, a changed
//! answer, an archive undone) with `diff: -1`. Before sending, the records
//! about to be sent are noted as *unsettled* in the state file; after, the
//! state file is replaced with what is published (both atomically). A round
//! that stops part-way (a crash, the broker gone) leaves them unsettled, and
//! the next round that reads their opportunity sends each again the way
//! Lever has it then — an insert if it still holds, else a retraction. The
//! aggregates drop an insert they already hold and a retraction of a record
//! they do not hold, so nothing counts twice and nothing is left behind.
//!
//! - **Ratings** (`source: lever_feedback`): every completed feedback form
//!   not written by panelflow itself (`[lever] perform_as`, and
//!   `exclude_users`) gives one rating per scored field: a `score-system`
//!   field (Lever's overall 1–4, "4 - Strong Hire" … "1 - Strong No Hire")
//!   rates `overall`; a `scorecard` field rates each of its `scores` (the
//!   skill's name as a competency id, see [`slug`]); a `score` field rates
//!   the field's own text. The reviewer is the form's `user`.
//! - **Decisions**: `advance` when the opportunity reached a stage beyond
//!   the one candidates are assessed in (`assessed_stage`, else `[lever]
//!   trigger_stages`; a stage in `advance_stages` always counts), at the
//!   first such stage change; its source is `panelflow_triage` when
//!   panelflow's own user moved it (the automate phase), else `lever`.
//!   Otherwise `archive` when the opportunity is archived (the reason as
//!   `stage`). Neither: no decision yet (still assessed, not selected).
//! - **Demographics**: the latest EEO answer per opportunity (`gender` as
//!   sex, `race` as race/ethnicity; declined or empty answers are unknown).
//!   They go to their own topic, which only the aggregates read.
//!
//! The candidate is the opportunity's contact (as the platform sources
//! name it), else the opportunity; the posting is the first application's.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use panelflow_connectors::kafka::{EventProducer, KafkaSection};
use panelflow_connectors::lever::client::{LeverClient, LeverError};
use panelflow_connectors::lever::LeverSection;
use panelflow_connectors::parquet::SinksSection;
use panelflow_core::time::rfc3339_ms as rfc3339;
use panelflow_core::webhook::ratings::slug;
use panelflow_core::wire::{
    DecisionMessage, DemographicsMessage, RatingMessage, RATING_MAX, RATING_MIN, UNASSIGNED_POSTING,
};

/// `[lever_poll]`: the Lever poller.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LeverPollSection {
    /// Seconds between rounds.
    pub interval_s: u64,
    /// What was published (and the cursors); default
    /// `<parquet_dir>/../lever_poll/state.json`.
    pub state_file: Option<PathBuf>,
    /// On the first round, how far back to look (days).
    pub lookback_days: u64,
    /// Each round re-reads this many seconds before the last one's start,
    /// so a change saved while a round ran is not missed.
    pub overlap_s: u64,
    /// Read Lever's EEO answers (`/eeo/responses/pii`).
    pub eeo: bool,
    /// The stage (id or name) candidates are assessed in; a stage after it
    /// is an advance. Empty: the last of `[lever] trigger_stages`.
    pub assessed_stage: String,
    /// Stages (ids or names) that always count as an advance.
    pub advance_stages: Vec<String>,
    /// Lever users whose feedback is not a human rating (besides
    /// `[lever] perform_as`, panelflow's own).
    pub exclude_users: Vec<String>,
    /// An opportunity stays *in flight* this many days after the poller
    /// first saw it: its feedback is read again now and then even when the
    /// opportunity itself did not change.
    pub in_flight_days: u64,
    /// In-flight opportunities read again per round (the least recently
    /// read first), on top of those Lever lists as updated.
    pub revisit_per_round: usize,
}

impl Default for LeverPollSection {
    fn default() -> Self {
        Self {
            interval_s: 60,
            state_file: None,
            lookback_days: 30,
            overlap_s: 60,
            eeo: true,
            assessed_stage: String::new(),
            advance_stages: Vec::new(),
            exclude_users: Vec::new(),
            in_flight_days: 30,
            revisit_per_round: 50,
        }
    }
}

/// What the poller needs of a pipeline: `[lever_poll]`, `[kafka]` (the
/// topics it publishes to), `[lever]` (panelflow's own user, the trigger
/// stages) and `[sinks]` (beside which its state is kept by default).
#[derive(Debug, Clone, Default)]
pub struct PollConfig {
    /// `[lever_poll]`.
    pub lever_poll: LeverPollSection,
    /// `[kafka]`.
    pub kafka: KafkaSection,
    /// `[lever]`.
    pub lever: LeverSection,
    /// `[sinks]`.
    pub sinks: SinksSection,
}

/// What one round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RoundStats {
    /// Opportunities read.
    pub opportunities: usize,
    /// Records published with `diff: 1`.
    pub inserted: usize,
    /// Records published with `diff: -1`.
    pub retracted: usize,
    /// Of the opportunities read, those read again as in flight (not listed
    /// as updated).
    pub revisited: usize,
}

/// The records published for one opportunity (or its EEO answer), as JSON
/// with `diff` 1, each with its topic.
type Published = BTreeSet<(Topic, String)>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Topic {
    Ratings,
    Decisions,
    Demographics,
}

/// One record to send: topic, the record (JSON), diff.
type Send = (Topic, String, i64);

/// The poller's memory between rounds.
#[derive(Debug, Default, Serialize, Deserialize)]
struct PollState {
    /// Start of the last completed round (ms since the epoch).
    cursor_ms: Option<i64>,
    /// Per `opp:<id>` / `eeo:<id>`: what is published now.
    published: BTreeMap<String, Published>,
    /// Opportunities in flight: (first seen, last read), ms since the epoch.
    #[serde(default)]
    in_flight: BTreeMap<String, (i64, i64)>,
    /// Per key, records a round set out to insert or retract and may not
    /// have (it stopped part-way): settled, either way, the next time the
    /// key is read.
    #[serde(default)]
    unsettled: BTreeMap<String, Published>,
}

/// Reads Lever and publishes to the aggregates' topics.
pub struct LeverPoller {
    client: LeverClient,
    producer: Arc<EventProducer>,
    cfg: PollConfig,
    state_path: PathBuf,
    state: PollState,
    stages: Vec<(String, String)>,
}

impl std::fmt::Debug for LeverPoller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeverPoller")
            .field("state_path", &self.state_path)
            .finish()
    }
}

impl LeverPoller {
    /// A poller with its state loaded (empty on the first run).
    pub fn new(cfg: impl Into<PollConfig>, client: LeverClient) -> anyhow::Result<Self> {
        let cfg: PollConfig = cfg.into();
        let producer = Arc::new(EventProducer::new(&cfg.kafka).context("Kafka producer")?);
        let state_path = cfg.lever_poll.state_file.clone().unwrap_or_else(|| {
            cfg.sinks
                .parquet_dir
                .parent()
                .unwrap_or_else(|| Path::new("."))
                .join("lever_poll")
                .join("state.json")
        });
        let state = match std::fs::read(&state_path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .with_context(|| format!("reading the poller state {}", state_path.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => PollState::default(),
            Err(e) => return Err(e).with_context(|| format!("reading {}", state_path.display())),
        };
        Ok(Self {
            client,
            producer,
            cfg,
            state_path,
            state,
            stages: Vec::new(),
        })
    }

    /// One round: read, derive, publish the difference, save the state.
    pub async fn round(&mut self) -> anyhow::Result<RoundStats> {
        let started = chrono::Utc::now().timestamp_millis();
        let since = match self.state.cursor_ms {
            Some(c) => c - (self.cfg.lever_poll.overlap_s as i64) * 1000,
            None => started - (self.cfg.lever_poll.lookback_days as i64) * 86_400_000,
        };
        let client = self.client.clone();
        let eeo = self.cfg.lever_poll.eeo;
        let revisit = self.due_for_revisit(started);
        // The client is blocking (and rate-limited): keep it off the runtime.
        let read = tokio::task::spawn_blocking(move || read_lever(&client, since, eeo, revisit))
            .await
            .context("Lever reader task")??;
        if !read.stages.is_empty() {
            self.stages = read.stages.clone();
        }
        let mut wanted: BTreeMap<String, Published> = BTreeMap::new();
        let mut contacts: BTreeMap<String, (String, String)> = BTreeMap::new();
        for (opp, forms) in &read.opportunities {
            let Some(id) = opp.get("id").and_then(Value::as_str) else {
                continue;
            };
            let who = candidate_and_posting(opp);
            contacts.insert(id.to_owned(), who.clone());
            let mut records = Published::new();
            for r in self.ratings(forms, &who) {
                records.insert((Topic::Ratings, to_json(&r)?));
            }
            if let Some(d) = self.decision(opp, &who) {
                records.insert((Topic::Decisions, to_json(&d)?));
            }
            wanted.insert(format!("opp:{id}"), records);
        }
        for answer in latest_per_opportunity(&read.eeo) {
            let Some(opp) = answer.get("opportunityId").and_then(Value::as_str) else {
                continue;
            };
            let who = contacts
                .get(opp)
                .cloned()
                .or_else(|| read.eeo_opportunities.get(opp).map(candidate_and_posting))
                .unwrap_or_else(|| eeo_ids(answer, opp));
            let d = demographics(answer, &who);
            wanted.insert(
                format!("eeo:{opp}"),
                BTreeSet::from([(Topic::Demographics, to_json(&d)?)]),
            );
        }
        let mut stats = RoundStats {
            opportunities: read.opportunities.len(),
            revisited: read.revisited,
            ..RoundStats::default()
        };
        // What to send per key. Records a stopped round may or may not have
        // sent are sent again the way Lever has them now (an insert if
        // wanted, else a retraction); the aggregates drop the ones they
        // already agree with.
        let mut plan: Vec<(&String, Vec<Send>)> = Vec::new();
        for (key, records) in &wanted {
            let before = self.state.published.get(key).cloned().unwrap_or_default();
            let unsettled = self.state.unsettled.get(key).cloned().unwrap_or_default();
            let mut sends = Vec::new();
            for (topic, json) in before.union(&unsettled) {
                if !records.contains(&(*topic, json.clone())) {
                    sends.push((*topic, json.clone(), -1));
                }
            }
            for (topic, json) in records {
                let record = (*topic, json.clone());
                if !before.contains(&record) || unsettled.contains(&record) {
                    sends.push((*topic, json.clone(), 1));
                }
            }
            if !sends.is_empty() {
                plan.push((key, sends));
            }
        }
        // Mark what this round is about to send as unsettled first, so that
        // a stop part-way is settled by a later round whatever Lever says then.
        if !plan.is_empty() {
            for (key, sends) in &plan {
                let entry = self.state.unsettled.entry((*key).clone()).or_default();
                for (topic, json, _) in sends {
                    entry.insert((*topic, json.clone()));
                }
            }
            self.save()?;
        }
        for (_, sends) in &plan {
            for (topic, json, diff) in sends {
                self.publish(*topic, json, *diff).await?;
                if *diff > 0 {
                    stats.inserted += 1;
                } else {
                    stats.retracted += 1;
                }
            }
        }
        for (key, records) in wanted {
            self.state.unsettled.remove(&key);
            if records.is_empty() {
                self.state.published.remove(&key);
            } else {
                self.state.published.insert(key, records);
            }
        }
        for (opp, _) in &read.opportunities {
            if let Some(id) = opp.get("id").and_then(Value::as_str) {
                let entry = self
                    .state
                    .in_flight
                    .entry(id.to_owned())
                    .or_insert((started, started));
                entry.1 = started;
            }
        }
        for gone in &read.gone {
            self.state.in_flight.remove(gone);
        }
        let horizon = started - (self.cfg.lever_poll.in_flight_days as i64) * 86_400_000;
        self.state
            .in_flight
            .retain(|_, (first, _)| *first >= horizon);
        self.state.cursor_ms = Some(started);
        self.save()?;
        tracing::info!(
            opportunities = stats.opportunities,
            inserted = stats.inserted,
            retracted = stats.retracted,
            "Lever poll round done"
        );
        Ok(stats)
    }

    /// Rounds every `interval_s` until `stop` resolves. A failed round
    /// (Lever or the broker away) is logged and tried again next time; its
    /// cursor does not move, so nothing is skipped.
    pub async fn run(&mut self, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        loop {
            if let Err(e) = self.round().await {
                tracing::error!(
                    error = format!("{e:#}"),
                    "Lever poll round failed; retrying next round"
                );
            }
            tokio::select! {
                _ = &mut stop => return,
                _ = tokio::time::sleep(Duration::from_secs(self.cfg.lever_poll.interval_s.max(1))) => {}
            }
        }
    }

    async fn publish(&self, topic: Topic, json: &str, diff: i64) -> anyhow::Result<()> {
        let mut value: Value = serde_json::from_str(json).context("a stored record")?;
        value["diff"] = diff.into();
        let name = match topic {
            Topic::Ratings => &self.cfg.kafka.ratings_topic,
            Topic::Decisions => &self.cfg.kafka.decisions_topic,
            Topic::Demographics => &self.cfg.kafka.demographics_topic,
        };
        let key = value
            .get("candidate_id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        self.producer
            .produce_json(name, &key, &value)
            .await
            .with_context(|| format!("publishing to {name}"))?;
        Ok(())
    }

    fn save(&self) -> anyhow::Result<()> {
        let dir = self.state_path.parent().unwrap_or_else(|| Path::new("."));
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let tmp = self.state_path.with_extension("json.tmp");
        let bytes = serde_json::to_vec(&self.state)?;
        {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp)
                .with_context(|| format!("writing {}", tmp.display()))?;
            f.write_all(&bytes)?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &self.state_path)
            .with_context(|| format!("replacing {}", self.state_path.display()))?;
        Ok(())
    }

    /// The in-flight opportunities to read again this round: the least
    /// recently read, at most `revisit_per_round`.
    fn due_for_revisit(&self, now: i64) -> Vec<String> {
        let horizon = now - (self.cfg.lever_poll.in_flight_days as i64) * 86_400_000;
        let mut due: Vec<(&i64, &String)> = self
            .state
            .in_flight
            .iter()
            .filter(|(_, (first, _))| *first >= horizon)
            .map(|(id, (_, read))| (read, id))
            .collect();
        due.sort();
        due.into_iter()
            .take(self.cfg.lever_poll.revisit_per_round)
            .map(|(_, id)| id.clone())
            .collect()
    }

    fn excluded(&self, user: &str) -> bool {
        self.cfg.lever.perform_as.as_deref() == Some(user)
            || self.cfg.lever_poll.exclude_users.iter().any(|u| u == user)
    }

    /// The human ratings in an opportunity's feedback forms.
    fn ratings(
        &self,
        forms: &[Value],
        (candidate, posting): &(String, String),
    ) -> Vec<RatingMessage> {
        let mut out = Vec::new();
        for form in forms {
            let Some(user) = id_of(form.get("user")) else {
                continue;
            };
            if self.excluded(&user) || !form.get("deletedAt").is_none_or(Value::is_null) {
                continue;
            }
            let Some(at) = form
                .get("completedAt")
                .and_then(Value::as_i64)
                .or_else(|| form.get("createdAt").and_then(Value::as_i64))
            else {
                continue; // not submitted yet
            };
            let fields = form.get("fields").and_then(Value::as_array);
            for (competency, rating) in fields.into_iter().flatten().flat_map(field_ratings) {
                out.push(RatingMessage {
                    diff: 1,
                    reviewer_id: user.as_str().into(),
                    candidate_id: candidate.as_str().into(),
                    posting_id: posting.as_str().into(),
                    interview_id: None,
                    competency,
                    rating,
                    source: "lever_feedback".into(),
                    rated_at: rfc3339(at),
                });
            }
        }
        out
    }

    fn stage_index(&self, stage: &str) -> Option<usize> {
        self.stages
            .iter()
            .position(|(id, text)| id == stage || text.eq_ignore_ascii_case(stage))
    }

    /// The opportunity's decision, if any (see the module docs).
    fn decision(
        &self,
        opp: &Value,
        (candidate, posting): &(String, String),
    ) -> Option<DecisionMessage> {
        let poll = &self.cfg.lever_poll;
        let assessed = if poll.assessed_stage.is_empty() {
            self.cfg
                .lever
                .trigger_stages
                .last()
                .cloned()
                .unwrap_or_default()
        } else {
            poll.assessed_stage.clone()
        };
        let assessed_index = self.stage_index(&assessed);
        let is_advance = |stage: &str, index: Option<usize>| {
            poll.advance_stages.iter().any(|a| {
                a == stage
                    || self
                        .stage_index(a)
                        .is_some_and(|i| Some(i) == self.stage_index(stage))
            }) || matches!((assessed_index, index), (Some(a), Some(i)) if i > a)
        };
        let changes = opp.get("stageChanges").and_then(Value::as_array);
        for change in changes.into_iter().flatten() {
            let Some(stage) = change.get("toStageId").and_then(Value::as_str) else {
                continue;
            };
            let index = self.stage_index(stage).or_else(|| {
                change
                    .get("toStageIndex")
                    .and_then(Value::as_u64)
                    .map(|i| i as usize)
            });
            if !is_advance(stage, index) {
                continue;
            }
            let by_panelflow = id_of(change.get("userId"))
                .is_some_and(|u| self.cfg.lever.perform_as.as_deref() == Some(u.as_str()));
            return Some(DecisionMessage {
                diff: 1,
                candidate_id: candidate.as_str().into(),
                posting_id: posting.as_str().into(),
                decision: "advance".into(),
                stage: Some(stage.into()),
                source: if by_panelflow {
                    "panelflow_triage"
                } else {
                    "lever"
                }
                .into(),
                decided_at: rfc3339(change.get("updatedAt").and_then(Value::as_i64).unwrap_or(0)),
            });
        }
        let archived = opp.get("archived").filter(|a| a.is_object())?;
        Some(DecisionMessage {
            diff: 1,
            candidate_id: candidate.as_str().into(),
            posting_id: posting.as_str().into(),
            decision: "archive".into(),
            stage: id_of(archived.get("reason")),
            source: "lever".into(),
            decided_at: rfc3339(
                archived
                    .get("archivedAt")
                    .and_then(Value::as_i64)
                    .unwrap_or(0),
            ),
        })
    }
}

/// What one round read from Lever.
struct LeverRead {
    opportunities: Vec<(Value, Vec<Value>)>,
    eeo: Vec<Value>,
    /// The opportunities of EEO answers that were not updated this round
    /// (read for their candidate and posting).
    eeo_opportunities: BTreeMap<String, Value>,
    /// Of `opportunities`, how many were read again as in flight.
    revisited: usize,
    /// In-flight opportunities Lever no longer has (404).
    gone: Vec<String>,
    stages: Vec<(String, String)>,
}

fn read_lever(
    client: &LeverClient,
    since: i64,
    eeo: bool,
    revisit: Vec<String>,
) -> anyhow::Result<LeverRead> {
    let stages = client
        .list(&["stages"], &[])
        .context("listing Lever stages")?
        .iter()
        .filter_map(|s| {
            Some((
                s.get("id")?.as_str()?.to_owned(),
                s.get("text")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
            ))
        })
        .collect();
    let since_s = since.to_string();
    let opportunities = client
        .list(
            &["opportunities"],
            &[
                ("updated_at_start", since_s.as_str()),
                ("expand", "applications"),
            ],
        )
        .context("listing updated Lever opportunities")?;
    let mut with_forms = Vec::with_capacity(opportunities.len());
    for opp in opportunities {
        let Some(id) = opp.get("id").and_then(Value::as_str) else {
            continue;
        };
        let forms = client
            .list_feedback(id)
            .with_context(|| format!("reading the feedback of opportunity {id}"))?;
        with_forms.push((opp, forms));
    }
    // In flight but not listed as updated: read again (Lever need not count
    // a submitted scorecard as an update of the opportunity).
    let mut revisited = 0;
    let mut gone = Vec::new();
    for id in revisit {
        if with_forms
            .iter()
            .any(|(o, _)| o.get("id").and_then(Value::as_str) == Some(id.as_str()))
        {
            continue;
        }
        let Some(opp) = opportunity(client, &id)? else {
            gone.push(id);
            continue;
        };
        let forms = client
            .list_feedback(&id)
            .with_context(|| format!("reading the feedback of opportunity {id}"))?;
        with_forms.push((opp, forms));
        revisited += 1;
    }
    let eeo = if eeo {
        match client.list(
            &["eeo", "responses", "pii"],
            &[("created_at_start", since_s.as_str())],
        ) {
            Ok(answers) => answers,
            Err(LeverError::Status { status: 403, .. }) => {
                tracing::warn!(
                    "the Lever key may not read EEO answers (403); set [lever_poll] eeo = false"
                );
                Vec::new()
            }
            Err(e) => return Err(e).context("listing Lever EEO answers"),
        }
    } else {
        Vec::new()
    };
    let listed: BTreeSet<&str> = with_forms
        .iter()
        .filter_map(|(o, _)| o.get("id").and_then(Value::as_str))
        .collect();
    let mut eeo_opportunities = BTreeMap::new();
    for answer in &eeo {
        let Some(id) = answer.get("opportunityId").and_then(Value::as_str) else {
            continue;
        };
        if listed.contains(id) || eeo_opportunities.contains_key(id) {
            continue;
        }
        // Gone (deleted or anonymised): the answer's own ids are used.
        if let Some(opp) = opportunity(client, id)? {
            eeo_opportunities.insert(id.to_owned(), opp);
        }
    }
    Ok(LeverRead {
        opportunities: with_forms,
        eeo,
        eeo_opportunities,
        revisited,
        gone,
        stages,
    })
}

/// One opportunity with its applications expanded; `None` when Lever no
/// longer has it (404).
fn opportunity(client: &LeverClient, id: &str) -> anyhow::Result<Option<Value>> {
    match client.get_object(&["opportunities", id], &[("expand", "applications")]) {
        Ok(opp) => Ok(Some(opp)),
        Err(LeverError::Status { status: 404, .. }) => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading opportunity {id}")),
    }
}

fn to_json<T: Serialize>(v: &T) -> anyhow::Result<String> {
    Ok(serde_json::to_string(v)?)
}

/// An id given as a string or as an object with an `id`.
fn id_of(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Object(o) => o.get("id").and_then(Value::as_str).map(str::to_owned),
        _ => None,
    }
}

/// The candidate (contact, else the opportunity) and posting (the first
/// application's) of an opportunity listed with `expand=applications`.
fn candidate_and_posting(opp: &Value) -> (String, String) {
    let id = opp.get("id").and_then(Value::as_str).unwrap_or_default();
    let candidate = id_of(opp.get("contact")).unwrap_or_else(|| id.to_owned());
    let posting = opp
        .get("applications")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find_map(|a| id_of(a.get("posting")))
        .unwrap_or_else(|| UNASSIGNED_POSTING.to_owned());
    (candidate, posting)
}

fn eeo_ids(answer: &Value, opp: &str) -> (String, String) {
    let candidate = id_of(answer.get("contactId"))
        .or_else(|| id_of(answer.get("contact")))
        .or_else(|| id_of(answer.get("candidateId")))
        .unwrap_or_else(|| opp.to_owned());
    let posting = id_of(answer.get("postingId"))
        .or_else(|| id_of(answer.get("posting")))
        .unwrap_or_else(|| UNASSIGNED_POSTING.to_owned());
    (candidate, posting)
}

fn latest_per_opportunity(answers: &[Value]) -> Vec<&Value> {
    let mut latest: BTreeMap<&str, &Value> = BTreeMap::new();
    for a in answers {
        let Some(opp) = a.get("opportunityId").and_then(Value::as_str) else {
            continue;
        };
        let at = |v: &Value| v.get("createdAt").and_then(Value::as_i64).unwrap_or(0);
        match latest.get(opp) {
            Some(prev) if at(prev) > at(a) => {}
            _ => {
                latest.insert(opp, a);
            }
        }
    }
    latest.into_values().collect()
}

fn demographics(answer: &Value, (candidate, posting): &(String, String)) -> DemographicsMessage {
    let text = |k: &str| {
        answer
            .get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    DemographicsMessage {
        diff: 1,
        candidate_id: candidate.as_str().into(),
        posting_id: posting.as_str().into(),
        sex: text("gender"),
        race_ethnicity: text("race"),
        collected_at: rfc3339(answer.get("createdAt").and_then(Value::as_i64).unwrap_or(0)),
    }
}

/// The (competency, rating) pairs of one Lever feedback field.
///
/// ```
/// use panelflow::ingest::lever_poll::field_ratings;
/// let overall = serde_json::json!({"type": "score-system", "text": "Rating", "value": "4 - Strong Hire"});
/// assert_eq!(field_ratings(&overall), vec![("overall".to_string(), 4)]);
/// let card = serde_json::json!({"type": "scorecard", "text": "Skills",
///     "scores": [{"text": "Communication"}, {"text": "Problem solving"}],
///     "value": [{"score": 3}, {"score": 1}]});
/// assert_eq!(field_ratings(&card),
///            vec![("communication".to_string(), 3), ("problem_solving".to_string(), 1)]);
/// let note = serde_json::json!({"type": "textarea", "text": "Notes", "value": "great"});
/// assert!(field_ratings(&note).is_empty());
/// ```
pub fn field_ratings(field: &Value) -> Vec<(String, i64)> {
    let kind = field
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let value = field.get("value");
    match kind {
        "score-system" => value
            .and_then(lever_score)
            .map(|r| vec![("overall".to_owned(), r)])
            .unwrap_or_default(),
        "score" => {
            let name = field
                .get("text")
                .and_then(Value::as_str)
                .unwrap_or("overall");
            value
                .and_then(lever_score)
                .map(|r| vec![(slug(name), r)])
                .unwrap_or_default()
        }
        "scorecard" => {
            let names = field.get("scores").and_then(Value::as_array);
            let values = value.and_then(Value::as_array);
            names
                .into_iter()
                .flatten()
                .zip(values.into_iter().flatten())
                .filter_map(|(n, v)| {
                    let name = n.get("text").and_then(Value::as_str)?;
                    let score = v.get("score").and_then(lever_score)?;
                    Some((slug(name), score))
                })
                .collect()
        }
        _ => Vec::new(),
    }
}

/// A Lever score: 1–4 as a number, a numeric string, `"4 - Strong Hire"`,
/// or the words alone.
fn lever_score(v: &Value) -> Option<i64> {
    let n = match v {
        Value::Number(n) => n.as_f64()?.round() as i64,
        Value::String(s) => {
            let s = s.trim();
            let lead: String = s.chars().take_while(char::is_ascii_digit).collect();
            if let Ok(n) = lead.parse::<i64>() {
                n
            } else {
                match s.to_lowercase().as_str() {
                    "strong hire" | "strong yes" => 4,
                    "hire" | "yes" => 3,
                    "no hire" | "no" => 2,
                    "strong no hire" | "strong no" => 1,
                    _ => return None,
                }
            }
        }
        _ => return None,
    };
    (RATING_MIN..=RATING_MAX).contains(&n).then_some(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
        let opp =
            json!({"id": "o1", "contact": "c9", "applications": [{"id": "a1", "posting": "p7"}]});
        assert_eq!(candidate_and_posting(&opp), ("c9".into(), "p7".into()));
        let bare = json!({"id": "o2"});
        assert_eq!(
            candidate_and_posting(&bare),
            ("o2".into(), "unassigned".into())
        );
    }
}
