//! What one round reads from Lever.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Context;
use serde_json::Value;

use panelflow_connectors::lever::client::{LeverClient, LeverError};

/// What one round read from Lever.
pub(super) struct LeverRead {
    pub(super) opportunities: Vec<(Value, Vec<Value>)>,
    pub(super) eeo: Vec<Value>,
    /// The opportunities of EEO answers that were not updated this round
    /// (read for their candidate and posting).
    pub(super) eeo_opportunities: BTreeMap<String, Value>,
    /// Of `opportunities`, how many were read again as in flight.
    pub(super) revisited: usize,
    /// In-flight opportunities Lever no longer has (404).
    pub(super) gone: Vec<String>,
    pub(super) stages: Vec<(String, String)>,
}

pub(super) fn read_lever(
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
pub(super) fn opportunity(client: &LeverClient, id: &str) -> anyhow::Result<Option<Value>> {
    match client.get_object(&["opportunities", id], &[("expand", "applications")]) {
        Ok(opp) => Ok(Some(opp)),
        Err(LeverError::Status { status: 404, .. }) => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading opportunity {id}")),
    }
}
