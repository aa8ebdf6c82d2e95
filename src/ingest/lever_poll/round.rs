//! One round: read Lever, derive the records, publish the difference.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Context;
use serde_json::Value;

use panelflow_core::time::rfc3339_ms as rfc3339;
use panelflow_core::wire::{DecisionMessage, RatingMessage};

use super::poller::LeverPoller;
use super::read::read_lever;
use super::records::*;
use super::state::{Published, RoundStats, Send, Topic};

impl LeverPoller {
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
