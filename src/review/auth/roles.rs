//! Roles and what each may see and do ([`RolePolicy`]), and the signed-in
//! user ([`Principal`]).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The roles of the review page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reviews and decides; sees scores and flags.
    Recruiter,
    /// Reads summaries; by default sees flags but no scores and does not decide.
    HiringManager,
    /// Everything.
    Admin,
    /// Reads everything, decides nothing.
    Auditor,
}

impl Role {
    /// The snake-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Recruiter => "recruiter",
            Role::HiringManager => "hiring_manager",
            Role::Admin => "admin",
            Role::Auditor => "auditor",
        }
    }

    /// The built-in policy of the role.
    pub fn default_policy(self) -> RolePolicy {
        let (see_scores, see_flags, can_decide) = match self {
            Role::Recruiter => (true, true, true),
            Role::HiringManager => (false, true, false),
            Role::Admin => (true, true, true),
            Role::Auditor => (true, true, false),
        };
        RolePolicy {
            see_scores,
            see_flags,
            can_decide,
        }
    }
}

/// `[review.roles.<role>]`: overrides of a role's built-in policy.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RoleOverrides {
    /// Whether the role sees rubric scores (and the calibration figures).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub see_scores: Option<bool>,
    /// Whether the role sees sentiment, tone and red flags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub see_flags: Option<bool>,
    /// Whether the role may approve, edit or reject.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub can_decide: Option<bool>,
}

/// `[review.roles]`: per-role overrides.
///
/// ```
/// let cfg: panelflow::config::PipelineConfig = toml::from_str(r#"
/// [review.roles.hiring_manager]
/// see_flags = false
/// "#).unwrap();
/// let p = cfg.review.roles.policy(panelflow::review::auth::Role::HiringManager);
/// assert!(!p.see_flags && !p.see_scores && !p.can_decide);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RolesSection {
    /// `recruiter`.
    pub recruiter: RoleOverrides,
    /// `hiring_manager`.
    pub hiring_manager: RoleOverrides,
    /// `admin`.
    pub admin: RoleOverrides,
    /// `auditor`.
    pub auditor: RoleOverrides,
}

impl RolesSection {
    /// The effective policy of a role: its built-in one with the overrides.
    pub fn policy(&self, role: Role) -> RolePolicy {
        let o = match role {
            Role::Recruiter => &self.recruiter,
            Role::HiringManager => &self.hiring_manager,
            Role::Admin => &self.admin,
            Role::Auditor => &self.auditor,
        };
        let d = role.default_policy();
        RolePolicy {
            see_scores: o.see_scores.unwrap_or(d.see_scores),
            see_flags: o.see_flags.unwrap_or(d.see_flags),
            can_decide: o.can_decide.unwrap_or(d.can_decide),
        }
    }
}

/// What a role may see and do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RolePolicy {
    /// Sees rubric scores, the overall score and the calibration figures.
    pub see_scores: bool,
    /// Sees sentiment, tone and red flags.
    pub see_flags: bool,
    /// May approve, edit or reject.
    pub can_decide: bool,
}

/// Summary keys that hold scores.
const SCORE_KEYS: [&str; 2] = ["scores", "overall_score"];
/// Summary keys that hold sentiment, tone and flags.
const FLAG_KEYS: [&str; 3] = ["flags", "sentiment", "sentiment_score"];
/// Per-answer keys that hold sentiment, tone and flags.
const ANSWER_FLAG_KEYS: [&str; 3] = ["flags", "sentiment", "tone"];

impl RolePolicy {
    /// The summary with what this role may not see removed (server side:
    /// a role without `see_scores` never receives a score).
    ///
    /// ```
    /// use panelflow::review::auth::Role;
    /// let s = serde_json::json!({"scores": [{"score": 4}], "overall_score": 4.0,
    ///     "flags": [{"name": "long_silences"}], "answers": [{"text": "hi", "tone": {}}]});
    /// let hm = Role::HiringManager.default_policy().redact_summary(&s);
    /// assert!(hm.get("scores").is_none() && hm.get("overall_score").is_none());
    /// assert!(hm.get("flags").is_some());
    /// ```
    pub fn redact_summary(&self, summary: &Value) -> Value {
        let mut s = summary.clone();
        let Some(obj) = s.as_object_mut() else {
            return s;
        };
        if !self.see_scores {
            for k in SCORE_KEYS {
                obj.remove(k);
            }
            // Strengths and concerns are the scores said in words.
            if let Some(h) = obj.get_mut("highlights").and_then(Value::as_object_mut) {
                h.remove("strengths");
                h.remove("concerns");
            }
            if let Some(answers) = obj.get_mut("answers").and_then(Value::as_array_mut) {
                for a in answers.iter_mut().filter_map(Value::as_object_mut) {
                    a.remove("mapping");
                }
            }
            // The first lines name strengths and concerns too.
            obj.remove("interview_transcript_summary");
        }
        if !self.see_flags {
            for k in FLAG_KEYS {
                obj.remove(k);
            }
            if let Some(h) = obj.get_mut("highlights").and_then(Value::as_object_mut) {
                h.remove("red_flags");
            }
            if let Some(answers) = obj.get_mut("answers").and_then(Value::as_array_mut) {
                for a in answers.iter_mut().filter_map(Value::as_object_mut) {
                    for k in ANSWER_FLAG_KEYS {
                        a.remove(k);
                    }
                }
            }
        }
        s
    }

    /// Whether a review reason may be shown (flag reasons need `see_flags`,
    /// confidence reasons `see_scores`).
    pub fn may_see_reason(&self, reason: &str) -> bool {
        if reason.starts_with("flag:") || reason.contains("sentiment") {
            return self.see_flags;
        }
        if reason.contains("confidence") || reason.contains("score") {
            return self.see_scores;
        }
        true
    }
}

/// A signed-in user.
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    /// User name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Groups.
    pub groups: Vec<String>,
    /// What the role may see and do.
    pub policy: RolePolicy,
}

impl Principal {
    /// Whether the user is in `group`.
    pub fn in_group(&self, group: &str) -> bool {
        self.groups.iter().any(|g| g == group)
    }
}
