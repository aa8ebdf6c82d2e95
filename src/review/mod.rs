//! The recruiters' review page over the review queue
//! (`panelflow_connectors::store::queue`, which the pipeline fills).
//!
//! - [`auth`]: users, roles, sessions and what each role may see;
//! - [`page`]: the server-rendered HTML;
//! - [`server`]: `panelflow serve`, the page over HTTP, which writes an
//!   approved item's plan to Lever;
//! - [`feedback`]: feedback drafts for candidates with a decision, edited
//!   in the page and saved to Lever as a secret note (never sent).

pub mod auth;
pub mod feedback;
pub mod page;
pub mod server;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// `[review]`.
///
/// ```
/// let r = panelflow::review::ReviewSection::default();
/// assert_eq!(r.queue_dir, std::path::PathBuf::from("out/review"));
/// assert_eq!(r.pilot_group, "pilot");
/// assert!(r.secure_cookie, "Secure cookies unless overridden for development");
/// let cfg: panelflow::config::PipelineConfig = toml::from_str(r#"
/// [review]
/// queue_dir = "/var/lib/panelflow/review"
/// pilot_group = "talent-pilot"
/// [[review.users]]
/// name = "rita"
/// role = "recruiter"
/// groups = ["talent-pilot"]
/// token_env = "PANELFLOW_TOKEN_RITA"
/// [review.roles.hiring_manager]
/// see_flags = false
/// "#).unwrap();
/// assert_eq!(cfg.review.users[0].role, panelflow::review::auth::Role::Recruiter);
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReviewSection {
    /// Folder of the review queue.
    pub queue_dir: PathBuf,
    /// Aggregates dataset (holding `snapshot/`) whose `panel_view` and
    /// `reviewer_calibration` the page shows.
    pub aggregates_dir: PathBuf,
    /// In the pilot phase, only members of this group see results.
    pub pilot_group: String,
    /// Lifetime of a sign-in, seconds.
    pub session_ttl_s: u64,
    /// Mark the session cookie `Secure` (on by default: serve behind HTTPS).
    /// `false` is a development override for plain http, warned about at start.
    pub secure_cookie: bool,
    /// Hosts recordings may be played from (`cdn.example.com`, or with a
    /// scheme and port `https://media.example:8443`); the page's CSP
    /// `media-src` names only the origins of the interview shown among
    /// these. Empty: the origins of each interview's own recordings.
    pub media_hosts: Vec<String>,
    /// Requests handled at once; more are answered 503.
    pub max_concurrent_requests: usize,
    /// Longest a request may take (a Lever write-back included).
    pub request_timeout_s: u64,
    /// Largest form or request body accepted.
    pub max_body_bytes: usize,
    /// Who may sign in.
    pub users: Vec<auth::ReviewUser>,
    /// Per-role overrides of what is seen and who decides.
    pub roles: auth::RolesSection,
}

impl Default for ReviewSection {
    fn default() -> Self {
        Self {
            queue_dir: PathBuf::from("out/review"),
            aggregates_dir: PathBuf::from("out/aggregates"),
            pilot_group: "pilot".to_owned(),
            session_ttl_s: 8 * 3600,
            secure_cookie: true,
            media_hosts: Vec::new(),
            max_concurrent_requests: 32,
            request_timeout_s: 60,
            max_body_bytes: 256 << 10,
            users: Vec::new(),
            roles: auth::RolesSection::default(),
        }
    }
}
