//! The context resolver: what panelflow needs to know about an interview
//! besides its recordings, read from Lever (and, for fresh media URLs, from
//! the interview platform) by the connectors' [`ContextReader`], and the
//! question set chosen from it ([`super::questions`]).
//!
//! For each event, [`LeverContext::resolve`]:
//!
//! 1. reads the **opportunity** (`GET /opportunities/:id?expand=applications`),
//!    its **contact** (`GET /contacts/:id`), the **posting** of its
//!    application (`GET /postings/:id`) with the posting's **application
//!    questions** (`GET /postings/:id/apply`), and the **requisition**
//!    (`GET /requisitions/:id` from the application's `requisitionForHire`,
//!    else `GET /requisitions?requisition_code=` with the posting's first
//!    requisition code). Lists follow `{data, hasNext, next}` paging.
//!    Every object is kept in a TTL cache by id (`[context] cache_ttl_s`),
//!    and concurrent misses for one key wait for a single request, so a
//!    burst of interviews for one posting reads the posting once;
//! 2. finds the **media**: the event's own; else the platform's API
//!    (`[context.providers.<source>]`, by the event's `source_ref`); else,
//!    through Lever, a recording link on the Lever interview (its note or
//!    location), on the opportunity (`links`, `files`), or in its notes (a
//!    link pasted in a note, an e-mail logged from the e-mail dropbox);
//! 3. **refreshes expired signed URLs** once: media whose `expires_at` is
//!    past (or within `[context] expiry_margin_s`) are read again
//!    from the platform's API (or from Lever for Lever-found links); if that
//!    fails or the new URLs are expired too, the event fails with
//!    `media_expired`;
//! 4. chooses the **question set** ([`super::questions`]): the platform's,
//!    else the posting's application questions, else a pipeline role's —
//!    never guessed from the transcript.
//!
//! Every Lever call goes through the [`LeverClient`] the context is built
//! with: the process-wide token bucket (10 req/s, bursts of 20), back-off on
//! 429 honouring `Retry-After`, Basic or OAuth auth. One [`LeverContext`]
//! (behind an `Arc`) serves every worker of a process.
//!
//! When the event carries its media, Lever is read for enrichment only: a
//! Lever failure then leaves the posting and question set unknown (logged)
//! rather than failing the interview. When Lever is the only way to the
//! media, its failure fails the event (`lever_read_failed`,
//! `lever_not_found`).
//!
//! Logs carry ids and counts, never candidate data or transcript text.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::config::PipelineConfig;
use panelflow_connectors::lever::client::LeverClient;
pub use panelflow_connectors::lever::context::{ContextError, ContextStats};
use panelflow_connectors::lever::context::{ContextRead, ContextReader};
use panelflow_core::event::{InterviewCompleted, MediaItem};
use panelflow_models::analysis::analyzer::Context as AnalysisContext;
use panelflow_models::analysis::answers::Question;
use panelflow_models::analysis::posting::Posting;
use panelflow_models::analysis::roles::Roles;

pub use super::questions::QuestionSetSource;
use super::questions::{choose_questions, QuestionSets};

/// Everything the context stage found for one interview.
#[derive(Debug, Clone)]
pub struct ResolvedContext {
    /// The recordings to analyse (question texts filled in from the question
    /// set where the platform gave only ids).
    pub media: Vec<MediaItem>,
    /// The question set, in interview order.
    pub questions: Vec<Question>,
    /// Where the question set came from.
    pub question_set: QuestionSetSource,
    /// The pipeline role (a key of `[roles]`), when one was chosen.
    pub role: Option<String>,
    /// The posting, as the analysis reads it.
    pub posting: Option<Posting>,
    /// The Lever opportunity object.
    pub opportunity: Option<Arc<Value>>,
    /// The candidate's Lever contact object.
    pub contact: Option<Arc<Value>>,
    /// The Lever posting object.
    pub posting_object: Option<Arc<Value>>,
    /// The Lever requisition object.
    pub requisition: Option<Arc<Value>>,
    /// Media items whose expired URL was replaced by a fresh one.
    pub refreshed_media: usize,
}

impl ResolvedContext {
    /// The analysis' view: the question list for a single recording (per
    /// answer media name their own questions), the posting and the role.
    pub fn analysis(&self) -> AnalysisContext<'_> {
        let single = self.media.len() == 1 && self.media[0].question_id.is_none();
        AnalysisContext {
            questions: if single { &self.questions } else { &[] },
            questions_from: self.question_set.analysis_name(),
            posting: self.posting.as_ref(),
            role: self.role.as_deref(),
        }
    }
}

/// The context stage's resolver, shared by every worker of a process.
#[derive(Debug)]
pub struct LeverContext {
    reader: ContextReader,
    roles: Roles,
    default_role: Option<String>,
}

impl LeverContext {
    /// The resolver for a pipeline; `lever` is `None` when no Lever
    /// credentials are configured (then only the event's own media and the
    /// platforms' APIs are used). Platform API keys are read from the
    /// environment now.
    pub fn new(cfg: &PipelineConfig, lever: Option<LeverClient>) -> Self {
        Self {
            reader: ContextReader::new(&cfg.context, lever),
            roles: cfg.roles.clone(),
            default_role: cfg.analysis.default_role.clone(),
        }
    }

    /// The Lever client in use, if any.
    pub fn lever(&self) -> Option<&LeverClient> {
        self.reader.lever()
    }

    /// Counters since start.
    pub fn stats(&self) -> ContextStats {
        self.reader.stats()
    }

    /// Resolves the context of one interview (see the module docs).
    pub fn resolve(&self, event: &InterviewCompleted) -> Result<ResolvedContext, ContextError> {
        self.resolve_at(event, Utc::now())
    }

    /// [`resolve`](Self::resolve) as of `now` (for expiry checks).
    pub fn resolve_at(
        &self,
        event: &InterviewCompleted,
        now: DateTime<Utc>,
    ) -> Result<ResolvedContext, ContextError> {
        // 1.–3. Lever objects and fresh media.
        let ContextRead {
            mut media,
            opportunity,
            contact,
            posting: posting_object,
            requisition,
            refreshed_media,
        } = self.reader.read(event, now)?;
        let posting = posting_object.as_deref().map(Posting::from_lever);
        // 4. The question set.
        let sets = QuestionSets {
            roles: &self.roles,
            default_role: &self.default_role,
            reader: &self.reader,
        };
        let chosen = choose_questions(&sets, event, &media, posting.as_ref());
        let mut ctx = ResolvedContext {
            media: Vec::new(),
            questions: chosen.questions,
            question_set: chosen.source,
            role: chosen.role,
            posting,
            opportunity,
            contact,
            posting_object,
            requisition,
            refreshed_media,
        };
        for m in &mut media {
            if m.question_text.is_none() {
                if let Some(q) = m
                    .question_id
                    .as_ref()
                    .and_then(|id| ctx.questions.iter().find(|q| &q.id == id))
                {
                    m.question_text = Some(q.text.clone()).filter(|t| !t.is_empty());
                }
            }
        }
        ctx.media = media;
        tracing::debug!(
            media = ctx.media.len(),
            questions = ctx.questions.len(),
            question_set = ctx.question_set.as_str(),
            role = ctx.role.as_deref().unwrap_or("-"),
            "context resolved"
        );
        Ok(ctx)
    }
}
