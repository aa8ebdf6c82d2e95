//! `panelflow erase CANDIDATE_ID`: removes a candidate from everything the
//! deployment holds, and says so in the audit log without naming them.
//!
//! 1. **Who**: the candidate's interview and correlation ids are found in
//!    every Parquet table (rows whose `candidate_id` is theirs, then rows
//!    sharing those ids, until nothing new turns up), the JSON-lines audit
//!    log and the review queue.
//! 2. **Aggregates**: the net rows of the aggregates' input tables
//!    (`inputs/*`) that are theirs become retraction messages (`"diff": -1`,
//!    identical to the originals) for the aggregates' Kafka topics, published
//!    when a broker answers (the running aggregates then drop them from
//!    every figure).
//! 3. **Parquet**: every file under the sink's root and the aggregates' root
//!    holding one of their rows (matched by `candidate_id`, `interview_id` or
//!    `correlation_id`) is rewritten without them, atomically (temporary file
//!    + rename); other files are not touched.
//! 4. **Audit log and review queue**: their lines are removed from
//!    `audit.jsonl` (rewritten atomically), their review files deleted.
//! 5. **References**: what other records say about the candidate — their
//!    candidate id, their Lever opportunity ids (learnt from their own rows)
//!    or their interview ids inside another row's text (an audit `detail`
//!    naming them as an opportunity's contact, a review file, a line of
//!    `audit.jsonl`) — is replaced by `[erased]`
//!    ([`dataset::redact_references`]); the other records stay.
//! 6. **Tombstones**: each of their interview ids is tombstoned in the
//!    receiver's replay store (`[ingest] state_dir`), so a replayed webhook
//!    cannot bring an erased interview back.
//! 7. **Record**: an `erase` event with a salted hash of the candidate id
//!    ([`PiiKeys::erasure_hash`]) and counts, in the JSON-lines log and the
//!    `audit` table.
//!
//! Erasing twice is harmless: the second run finds nothing and records it.
//! Not covered, and said so in the report's `not_reached`: copies outside
//! these folders — Kafka topics (the event and dead-letter topics until
//! their retention passes; the aggregates' input topics are kept, since the
//! aggregator rebuilds from them, and there the published retractions
//! cancel the candidate's records), backups, Lever itself — and encrypted
//! values of other rows (searched only as ciphertext).
//! A running aggregates process records the retractions it reads in its
//! input tables: erase again once it has caught up to remove those rows too.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{json, Map, Value};

use panelflow_connectors::kafka::TopicNames;
use panelflow_connectors::parquet::dataset::{self, DatasetError, Subject, TableFile};
use panelflow_connectors::store::audit::{AuditError, AuditEvent, AUDIT_FILE};
use panelflow_connectors::store::crypto::PiiKeys;
use panelflow_core::topics::Topic;

/// Errors of an erasure.
#[derive(Debug, thiserror::Error)]
pub enum EraseError {
    /// Reading or rewriting a Parquet file failed.
    #[error("erase: {0}")]
    Dataset(#[from] DatasetError),
    /// A file-system operation failed.
    #[error("erase: {op} {}: {source}", path.display())]
    Io {
        /// What was being done.
        op: &'static str,
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The audit log could not be written.
    #[error("erase: {0}")]
    Audit(#[from] AuditError),
    /// The audit table could not be written.
    #[error("erase: {0}")]
    Sink(#[from] panelflow_connectors::parquet::ParquetSinkError),
    /// The review queue refused the erasure.
    #[error("erase: review queue: {0}")]
    Review(String),
    /// An empty candidate id would match nothing, or everything.
    #[error("erase: empty candidate id")]
    EmptyId,
}

/// Where a deployment keeps what it knows about candidates.
#[derive(Debug, Clone)]
pub struct EraseTargets {
    /// Root of the Parquet sink (`[sinks] parquet_dir`).
    pub parquet_dir: PathBuf,
    /// Root of the aggregates' Parquet output.
    pub aggregates_dir: PathBuf,
    /// Folder of the JSON-lines audit log.
    pub audit_dir: PathBuf,
    /// The review queue's folder, if any.
    pub review_dir: Option<PathBuf>,
    /// The receiver's replay store (`[ingest] state_dir`), for tombstones.
    pub ingest_state_dir: Option<PathBuf>,
}

impl EraseTargets {
    /// The folders of a pipeline config: `[sinks] parquet_dir`,
    /// `[governance] audit_dir` (`PANELFLOW_AUDIT_DIR` overrides) and
    /// `aggregates_dir` (or the `[output] dir` of `aggregates_config`), and
    /// `[review] queue_dir`.
    pub fn from_config(
        cfg: &crate::config::PipelineConfig,
        aggregates: Option<&crate::aggregates::runner::RunnerConfig>,
    ) -> Self {
        let audit_dir = std::env::var_os("PANELFLOW_AUDIT_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| cfg.governance.audit_dir.clone());
        Self {
            parquet_dir: cfg.sinks.parquet_dir.clone(),
            aggregates_dir: aggregates
                .map(|a| a.output.dir.clone())
                .unwrap_or_else(|| cfg.governance.aggregates_dir.clone()),
            audit_dir,
            review_dir: Some(cfg.review.queue_dir.clone()),
            ingest_state_dir: Some(cfg.ingest.state_dir.clone()),
        }
    }
}

/// Publishes retractions to the aggregates' topics (named by `topics`) on
/// `kafka`'s brokers, keyed by candidate; fails when no broker answers or a
/// topic is missing.
pub fn publish_retractions(
    kafka: &panelflow_connectors::kafka::KafkaSection,
    topics: &TopicNames,
    retractions: &[Retraction],
) -> Result<usize, String> {
    let mut names: Vec<&str> = retractions.iter().map(|r| topics.name(r.topic)).collect();
    names.sort_unstable();
    names.dedup();
    let p = panelflow_connectors::kafka::publisher::Publisher::connect(kafka, &names)?;
    let out: Vec<panelflow_connectors::kafka::publisher::Outgoing> = retractions
        .iter()
        .map(|r| panelflow_connectors::kafka::publisher::Outgoing {
            topic: topics.name(r.topic).to_string(),
            key: r.key.clone(),
            payload: r.message.to_string().into_bytes(),
            headers: vec![("panelflow-erasure".into(), "1".into())],
        })
        .collect();
    p.send_all(&out)
}

/// One retraction for the aggregates: a message identical to one the
/// candidate contributed, with `"diff": -1`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Retraction {
    /// The topic (named by the aggregates' config).
    #[serde(skip)]
    pub topic: Topic,
    /// The Kafka key (the candidate id, like the originals).
    pub key: String,
    /// The JSON message.
    pub message: Value,
}

/// What an erasure did (no ids in it but the count of interviews).
#[derive(Debug, Clone, Default, Serialize)]
pub struct EraseReport {
    /// Salted hash of the candidate id.
    pub candidate_hash: String,
    /// Interviews of the candidate found.
    pub interviews: usize,
    /// Rows removed per table.
    pub rows_removed: BTreeMap<String, usize>,
    /// Files rewritten.
    pub files_rewritten: usize,
    /// Lines removed from the JSON-lines audit log.
    pub audit_lines_removed: usize,
    /// Review queue files deleted.
    pub review_files_removed: usize,
    /// Retractions built from the aggregates' inputs.
    pub retractions: usize,
    /// Retractions published to Kafka.
    pub retractions_published: usize,
    /// Why retractions were not published, if they were not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retraction_error: Option<String>,
    /// Values of other records in which a reference to the candidate was
    /// replaced by `[erased]` (Parquet values, audit lines, review files).
    pub references_redacted: usize,
    /// Interview ids tombstoned in the receiver's replay store.
    pub tombstones: usize,
    /// What the erasure could not reach, for the operator to handle.
    pub not_reached: Vec<String>,
}

impl EraseReport {
    /// Total rows removed from Parquet.
    pub fn total_rows(&self) -> usize {
        self.rows_removed.values().sum()
    }
}

/// Publishes retractions; returns how many were delivered.
pub type Publisher<'a> = &'a dyn Fn(&[Retraction]) -> Result<usize, String>;

/// Erases `candidate_id` from `targets` (see the module docs). `publish`
/// sends the aggregates' retractions (none: they are counted, not sent).
pub fn erase(
    targets: &EraseTargets,
    keys: &PiiKeys,
    candidate_id: &str,
    actor: &str,
    publish: Option<Publisher<'_>>,
) -> Result<EraseReport, EraseError> {
    if candidate_id.trim().is_empty() {
        return Err(EraseError::EmptyId);
    }
    let mut report = EraseReport {
        candidate_hash: keys.erasure_hash(candidate_id),
        ..Default::default()
    };
    let files = all_files(targets)?;
    let subject = find_subject(targets, &files, candidate_id)?;
    report.interviews = subject.interview_ids.len();

    // Retractions first, from the inputs as they are before deletion.
    let retractions = retractions(&files, &subject)?;
    report.retractions = retractions.len();
    if !retractions.is_empty() {
        match publish {
            Some(p) => match p(&retractions) {
                Ok(n) => report.retractions_published = n,
                Err(e) => {
                    tracing::warn!(error = %e, "retractions not published");
                    report.retraction_error = Some(e);
                }
            },
            None => report.retraction_error = Some("no broker configured".into()),
        }
    }

    for f in &files {
        let n = dataset::remove_rows(&f.path, &subject)?;
        if n > 0 {
            report.files_rewritten += 1;
            *report.rows_removed.entry(f.table.clone()).or_default() += n;
        }
    }
    report.audit_lines_removed = scrub_audit_log(&targets.audit_dir, &subject)?;
    // References in what remains.
    let needles = reference_ids(&subject);
    for f in &files {
        report.references_redacted += dataset::redact_references(&f.path, &needles)?;
    }
    report.references_redacted += redact_audit_references(&targets.audit_dir, &needles)?;
    if let Some(dir) = targets.review_dir.as_ref().filter(|d| d.is_dir()) {
        // The queue's own erasure (under its lock), then any other file that
        // names the candidate's interviews (decisions, leftovers).
        report.review_files_removed = panelflow_connectors::store::queue::ReviewQueue::open(dir)
            .and_then(|q| q.remove_candidate(candidate_id))
            .map_err(|e| EraseError::Review(e.to_string()))?;
        report.review_files_removed += scrub_review_queue(dir, &subject)?;
        report.references_redacted += redact_review_references(dir, &needles)?;
    }
    match &targets.ingest_state_dir {
        Some(dir) => match panelflow_connectors::store::replay::ReplayStore::open(dir) {
            Ok(store) => {
                for id in &subject.interview_ids {
                    match store.tombstone(id) {
                        Ok(()) => report.tombstones += 1,
                        Err(e) => {
                            tracing::warn!(error = %e, "tombstone not written");
                            report
                                .not_reached
                                .push(format!("a tombstone in {}: {e}", dir.display()));
                        }
                    }
                }
            }
            Err(e) => report
                .not_reached
                .push(format!("the receiver's replay store {}: {e}", dir.display())),
        },
        None => report.not_reached.push(
            "the receiver's replay store (no [ingest] state_dir): a replayed webhook could bring an interview back".into(),
        ),
    }
    report.not_reached.extend([
        "Kafka: the event and dead-letter topics keep the candidate's events until their retention passes".to_string(),
        "backups and copies of these folders made elsewhere".to_string(),
        "Lever itself (notes, tags and scorecards written there)".to_string(),
        "encrypted values of other candidates' rows (searched as ciphertext only)".to_string(),
    ]);

    let event = AuditEvent::step("", "", "erase", "ok")
        .by(actor)
        .with_detail(json!({
            "candidate_hash": report.candidate_hash,
            "hash": format!("hmac-sha256(erasure salt of PII key {})", keys.active_key_id()),
            "interviews": report.interviews,
            "rows_removed": report.rows_removed,
            "files_rewritten": report.files_rewritten,
            "audit_lines_removed": report.audit_lines_removed,
            "review_files_removed": report.review_files_removed,
            "retractions": report.retractions,
            "retractions_published": report.retractions_published,
            "retraction_error": report.retraction_error,
            "references_redacted": report.references_redacted,
            "tombstones": report.tombstones,
            "not_reached": report.not_reached,
        }));
    panelflow_connectors::store::audit::AuditLog::open(&targets.audit_dir)?
        .append(std::slice::from_ref(&event))?;
    panelflow_connectors::parquet::ParquetSink::open_with_keys(&targets.parquet_dir, None)?
        .write_audit(std::slice::from_ref(&event))?;
    tracing::info!(
        candidate_hash = %report.candidate_hash,
        rows = report.total_rows(),
        files = report.files_rewritten,
        "candidate erased"
    );
    Ok(report)
}

/// Every Parquet file of the sink's and the aggregates' roots.
pub fn all_files(targets: &EraseTargets) -> Result<Vec<TableFile>, DatasetError> {
    let mut files = dataset::parquet_files(&targets.parquet_dir)?;
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    };
    if !same(&targets.parquet_dir, &targets.aggregates_dir) {
        let known: std::collections::HashSet<PathBuf> =
            files.iter().map(|f| f.path.clone()).collect();
        files.extend(
            dataset::parquet_files(&targets.aggregates_dir)?
                .into_iter()
                .filter(|f| !known.contains(&f.path)),
        );
    }
    Ok(files)
}

/// The candidate's ids, from every Parquet file, the audit log and the review queue.
pub fn find_subject(
    targets: &EraseTargets,
    files: &[TableFile],
    candidate_id: &str,
) -> Result<Subject, EraseError> {
    let mut subject = Subject::new(candidate_id);
    let log = panelflow_connectors::store::audit::AuditLog::open(&targets.audit_dir)?;
    for e in log.read_all()? {
        if e.candidate_id.as_deref() == Some(candidate_id) {
            if !e.interview_id.is_empty() {
                subject.interview_ids.insert(e.interview_id.clone());
            }
            for k in ["opportunity_id", "opportunity"] {
                if let Some(o) = e.detail.get(k).and_then(Value::as_str) {
                    if !o.is_empty() {
                        subject.opportunity_ids.insert(o.to_string());
                    }
                }
            }
            if !e.correlation_id.is_empty() {
                subject.correlation_ids.insert(e.correlation_id.clone());
            }
        }
    }
    if let Some(dir) = &targets.review_dir {
        for (_, v) in review_files(dir)? {
            if v.get("candidate_id").and_then(Value::as_str) == Some(candidate_id) {
                for (k, set) in [
                    ("interview_id", &mut subject.interview_ids),
                    ("correlation_id", &mut subject.correlation_ids),
                    ("opportunity_id", &mut subject.opportunity_ids),
                ] {
                    if let Some(s) = v.get(k).and_then(Value::as_str) {
                        if !s.is_empty() {
                            set.insert(s.to_string());
                        }
                    }
                }
            }
        }
    }
    dataset::discover(&mut subject, files)?;
    Ok(subject)
}

/// Distinct rows of one input table (by their JSON text) with their net count.
type NetRows = BTreeMap<String, (Map<String, Value>, i64)>;

/// Retractions of the subject's net rows in the aggregates' input tables.
pub fn retractions(
    files: &[TableFile],
    subject: &Subject,
) -> Result<Vec<Retraction>, DatasetError> {
    // Net count of each distinct row (all columns but time and diff).
    let mut net: BTreeMap<String, NetRows> = BTreeMap::new();
    for f in files.iter().filter(|f| f.table.starts_with("inputs/")) {
        for mut row in dataset::subject_rows(f, subject, None)? {
            let diff = row.remove("diff").and_then(|d| d.as_i64()).unwrap_or(1);
            row.remove("time");
            let key = Value::Object(row.clone()).to_string();
            let e = net
                .entry(f.table.trim_start_matches("inputs/").to_string())
                .or_default()
                .entry(key)
                .or_insert((row, 0));
            e.1 += diff;
        }
    }
    let positive = |t: &str| -> Vec<(Map<String, Value>, i64)> {
        net.get(t)
            .map(|m| m.values().filter(|(_, n)| *n > 0).cloned().collect())
            .unwrap_or_default()
    };
    let s = |r: &Map<String, Value>, k: &str| r.get(k).cloned().unwrap_or(Value::Null);
    let key_of = |r: &Map<String, Value>| {
        r.get("candidate_id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let mut out = Vec::new();
    let mut push = |topic, r: &Map<String, Value>, n: i64, message: Value| {
        for _ in 0..n {
            out.push(Retraction {
                topic,
                key: key_of(r),
                message: message.clone(),
            });
        }
    };
    for (r, n) in positive("ratings") {
        let mut m = json!({"diff": -1, "reviewer_id": s(&r, "reviewer_id"), "candidate_id": s(&r, "candidate_id"),
            "posting_id": s(&r, "posting_id"), "competency": s(&r, "competency"), "rating": s(&r, "rating"),
            "source": s(&r, "source"), "rated_at": s(&r, "rated_at")});
        if let Some(i) = r.get("interview_id").filter(|v| !v.is_null()) {
            m["interview_id"] = i.clone();
        }
        push(Topic::Ratings, &r, n, m);
    }
    for (r, n) in positive("decisions") {
        let mut m = json!({"diff": -1, "candidate_id": s(&r, "candidate_id"), "posting_id": s(&r, "posting_id"),
            "decision": s(&r, "decision"), "source": s(&r, "source"), "decided_at": s(&r, "decided_at")});
        if let Some(st) = r.get("stage").filter(|v| !v.is_null()) {
            m["stage"] = st.clone();
        }
        push(Topic::Decisions, &r, n, m);
    }
    for (r, n) in positive("demographics") {
        let m = json!({"diff": -1, "candidate_id": s(&r, "candidate_id"), "posting_id": s(&r, "posting_id"),
            "sex": s(&r, "sex"), "race_ethnicity": s(&r, "race_ethnicity"), "collected_at": s(&r, "collected_at")});
        push(Topic::Demographics, &r, n, m);
    }
    for (r, n) in positive("questions") {
        let m = json!({"diff": -1, "interview_id": s(&r, "interview_id"), "candidate_id": s(&r, "candidate_id"),
            "posting_id": s(&r, "posting_id"), "interviewer_id": s(&r, "interviewer_id"),
            "question_id": s(&r, "question_id"), "canonical_text": s(&r, "canonical_text"),
            "asked_text": s(&r, "asked_text"), "asked_at": s(&r, "asked_at")});
        push(Topic::Questions, &r, n, m);
    }
    // A score message is one interview_signals row plus its per-competency scores rows.
    let score_key = |r: &Map<String, Value>| {
        ["interview_id", "model_version", "scored_at"]
            .iter()
            .map(|k| s(r, k).to_string())
            .collect::<Vec<_>>()
            .join("\u{1f}")
    };
    let mut competencies: HashMap<String, (Vec<Value>, Value)> = HashMap::new();
    for (r, _) in positive("scores") {
        let e = competencies
            .entry(score_key(&r))
            .or_insert_with(|| (Vec::new(), s(&r, "flags")));
        let mut c = json!({"competency": s(&r, "competency"), "score": s(&r, "score")});
        if let Some(conf) = r.get("confidence").filter(|v| !v.is_null()) {
            c["confidence"] = conf.clone();
        }
        if !e.0.contains(&c) {
            e.0.push(c);
        }
    }
    for (r, n) in positive("interview_signals") {
        let Some((comps, flags)) = competencies.get(&score_key(&r)) else {
            continue;
        };
        let flags: Vec<&str> = flags
            .as_str()
            .unwrap_or_default()
            .split(',')
            .filter(|f| !f.is_empty())
            .collect();
        let mut m = json!({"diff": -1, "interview_id": s(&r, "interview_id"), "candidate_id": s(&r, "candidate_id"),
            "posting_id": s(&r, "posting_id"), "job_family": s(&r, "job_family"), "model_name": s(&r, "model_name"),
            "model_version": s(&r, "model_version"), "scored_at": s(&r, "scored_at"), "competencies": comps});
        for k in ["sentiment", "transcription_confidence"] {
            if let Some(v) = r.get(k).filter(|v| !v.is_null()) {
                m[k] = v.clone();
            }
        }
        if !flags.is_empty() {
            m["flags"] = json!(flags);
        }
        push(Topic::Scores, &r, n, m);
    }
    Ok(out)
}

/// Removes the subject's lines from `<audit_dir>/audit.jsonl` (atomically);
/// returns how many. Lines that do not parse but contain the candidate id
/// go too.
fn scrub_audit_log(audit_dir: &Path, subject: &Subject) -> Result<usize, EraseError> {
    let path = audit_dir.join(AUDIT_FILE);
    // Appends wait while the log is read and rewritten (no event lost to the old file).
    let _lock = panelflow_connectors::store::audit::AuditLog::open(audit_dir)?
        .lock()
        .map_err(|source| EraseError::Io {
            op: "lock",
            path: path.clone(),
            source,
        })?;
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(source) => {
            return Err(EraseError::Io {
                op: "read",
                path,
                source,
            })
        }
    };
    let mut kept = String::with_capacity(text.len());
    let mut removed = 0;
    for line in text.lines() {
        let drop = match serde_json::from_str::<Value>(line) {
            Ok(v) => subject.matches_json(&v),
            Err(_) => line.contains(subject.candidate_id.as_str()),
        };
        if drop {
            removed += 1;
        } else if !line.trim().is_empty() {
            kept.push_str(line);
            kept.push('\n');
        }
    }
    if removed > 0 {
        write_text_atomic(&path, kept.as_bytes())?;
    }
    Ok(removed)
}

/// The ids whose mention elsewhere refers to the subject: their candidate
/// id, opportunity ids and interview ids.
fn reference_ids(subject: &Subject) -> Vec<String> {
    let mut ids: Vec<String> = std::iter::once(subject.candidate_id.clone())
        .chain(subject.opportunity_ids.iter().cloned())
        .chain(subject.interview_ids.iter().cloned())
        .filter(|i| !i.trim().is_empty())
        .collect();
    ids.sort();
    ids.dedup();
    // Longest first: an id that contains another is replaced whole.
    ids.sort_by_key(|i| std::cmp::Reverse(i.len()));
    ids
}

/// Replaces references to the subject in the lines kept in `audit.jsonl`;
/// returns how many lines changed.
fn redact_audit_references(audit_dir: &Path, needles: &[String]) -> Result<usize, EraseError> {
    let path = audit_dir.join(AUDIT_FILE);
    let _lock = panelflow_connectors::store::audit::AuditLog::open(audit_dir)?
        .lock()
        .map_err(|source| EraseError::Io {
            op: "lock",
            path: path.clone(),
            source,
        })?;
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(source) => {
            return Err(EraseError::Io {
                op: "read",
                path,
                source,
            })
        }
    };
    let mut changed = 0;
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        match dataset::redact_ids(line, needles) {
            Some(r) => {
                changed += 1;
                out.push_str(&r);
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    if changed > 0 {
        write_text_atomic(&path, out.as_bytes())?;
    }
    Ok(changed)
}

/// Replaces references to the subject in the review files that remain;
/// returns how many files changed.
fn redact_review_references(dir: &Path, needles: &[String]) -> Result<usize, EraseError> {
    let mut changed = 0;
    for (path, v) in review_files(dir)? {
        let text = v.to_string();
        if let Some(r) = dataset::redact_ids(&text, needles) {
            if serde_json::from_str::<Value>(&r).is_ok() {
                write_text_atomic(&path, r.as_bytes())?;
                changed += 1;
            }
        }
    }
    Ok(changed)
}

fn write_text_atomic(path: &Path, bytes: &[u8]) -> Result<(), EraseError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let io = |op, source| EraseError::Io {
        op,
        path: path.to_path_buf(),
        source,
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".audit-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| io("create temporary file for", e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(m) = std::fs::metadata(path) {
            let _ = std::fs::set_permissions(
                tmp.path(),
                std::fs::Permissions::from_mode(m.permissions().mode()),
            );
        }
    }
    tmp.write_all(bytes).map_err(|e| io("write", e))?;
    tmp.as_file().sync_all().map_err(|e| io("fsync", e))?;
    tmp.persist(path)
        .map_err(|e| io("rename temporary file to", e.error))?;
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io("fsync folder of", e))
}

/// Every `*.json` file under the review queue's folder, parsed.
fn review_files(dir: &Path) -> Result<Vec<(PathBuf, Value)>, EraseError> {
    let mut out = Vec::new();
    if !dir.is_dir() {
        return Ok(out);
    }
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let io = |source| EraseError::Io {
            op: "list folder",
            path: d.clone(),
            source,
        };
        for entry in std::fs::read_dir(&d).map_err(io)? {
            let entry = entry.map_err(io)?;
            let path = entry.path();
            let kind = entry.file_type().map_err(io)?;
            if kind.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                let Ok(text) = std::fs::read_to_string(&path) else {
                    continue;
                };
                if let Ok(v) = serde_json::from_str::<Value>(&text) {
                    out.push((path, v));
                }
            }
        }
    }
    Ok(out)
}

/// Deletes the review queue's files about the subject; returns how many.
fn scrub_review_queue(dir: &Path, subject: &Subject) -> Result<usize, EraseError> {
    let mut n = 0;
    for (path, v) in review_files(dir)? {
        let nested = v.get("item").is_some_and(|i| subject.matches_json(i));
        if subject.matches_json(&v) || nested {
            std::fs::remove_file(&path).map_err(|source| EraseError::Io {
                op: "remove",
                path: path.clone(),
                source,
            })?;
            n += 1;
        }
    }
    Ok(n)
}

/// The candidate's review queue files (for the export).
pub fn review_items(dir: &Path, subject: &Subject) -> Result<Vec<Value>, EraseError> {
    Ok(review_files(dir)?
        .into_iter()
        .filter(|(_, v)| {
            subject.matches_json(v) || v.get("item").is_some_and(|i| subject.matches_json(i))
        })
        .map(|(_, v)| v)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregates::harness::TimedSink;
    use crate::aggregates::inputs::InputLogs;
    use crate::aggregates::records::{decode, InputRecord, Validate};
    use panelflow_connectors::parquet::aggregates::Layout;
    use panelflow_core::wire::{DecisionMessage, ScoreMessage};

    #[test]
    fn retractions_decode_to_the_records_they_cancel() {
        let dir = tempfile::tempdir().expect("tempdir");
        let layout = Layout::new(dir.path());
        let mut logs = InputLogs::new(&layout, 0, false);
        let score: ScoreMessage = serde_json::from_value(json!({
            "interview_id": "iv-1", "candidate_id": "cand-x", "posting_id": "p1", "job_family": "swe",
            "model_name": "rubric", "model_version": "rubric@1", "scored_at": "2024-05-01T12:00:00Z",
            "sentiment": 0.25, "transcription_confidence": 0.9, "flags": ["b", "a"],
            "competencies": [{"competency": "python", "score": 3.0, "confidence": 0.8},
                             {"competency": "design", "score": 2.5}]
        }))
        .expect("score");
        let decision: DecisionMessage = serde_json::from_value(json!({
            "candidate_id": "cand-x", "posting_id": "p1", "decision": "advance", "source": "lever",
            "decided_at": "2024-05-02T12:00:00Z"
        }))
        .expect("decision");
        let other: DecisionMessage = serde_json::from_value(json!({
            "candidate_id": "cand-y", "posting_id": "p1", "decision": "archive", "source": "lever",
            "decided_at": "2024-05-02T12:00:00Z"
        }))
        .expect("decision");
        let (s, _) = score.validate().expect("valid");
        let (d, _) = decision.validate().expect("valid");
        let (o, _) = other.validate().expect("valid");
        logs.apply(
            1,
            vec![
                (InputRecord::Score(s.clone()), 1),
                (InputRecord::Decision(d.clone()), 1),
                (InputRecord::Decision(o), 1),
            ],
        );
        logs.flush().expect("flush");
        let files = dataset::parquet_files(dir.path()).expect("files");
        let mut subject = Subject::new("cand-x");
        dataset::discover(&mut subject, &files).expect("discover");
        assert!(subject.interview_ids.contains("iv-1"));
        let r = retractions(&files, &subject).expect("retractions");
        assert_eq!(r.len(), 2, "{r:?}");
        for x in &r {
            assert_eq!(x.key, "cand-x");
            let (rec, diff) = decode(x.topic, x.message.to_string().as_bytes()).expect("decodes");
            assert_eq!(diff, -1);
            match rec {
                InputRecord::Score(got) => assert_eq!(got, s),
                InputRecord::Decision(got) => assert_eq!(got, d),
                other => panic!("unexpected {other:?}"),
            }
        }
    }
}
