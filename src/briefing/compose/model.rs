//! The briefing model: its sections of styled lines, the panel's and the
//! advisory's views per competency, the verdict, and its file name and
//! marker.

/// The first words of a briefing file's name.
pub const FILE_PREFIX: &str = "panelflow-briefing-";
/// The marker a briefing note ends with: `panelflow-briefing-id: OPP/FP`.
pub const NOTE_MARKER: &str = "panelflow-briefing-id: ";
/// The competency id of Lever's overall recommendation.
pub(super) const OVERALL: &str = "overall";

/// How a line is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// A paragraph.
    Body,
    /// A sub-heading inside a section (a competency).
    Sub,
    /// An item of a list.
    Bullet,
    /// Evidence under an item (a quote with where it comes from).
    Quote,
}

/// One line of a section.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// How it is set.
    pub style: Style,
    /// What it says.
    pub text: String,
}

/// One section of the briefing.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    /// Its heading.
    pub heading: String,
    /// Its lines.
    pub lines: Vec<Line>,
}

/// How the views of one competency relate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Every view on the same side of the scale, at most a point apart.
    Agree,
    /// Views on both sides of the scale, or two points or more apart.
    Diverge,
    /// One view only.
    Single,
}

/// A competency as the briefing shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct CompetencyView {
    /// Competency id (the library's, or the scorecard skill's slug).
    pub id: String,
    /// Its name.
    pub name: String,
    /// Each panelist's rating.
    pub panel: Vec<PanelView>,
    /// panelflow's advisory scores (one per question judged on it).
    pub advisory: Vec<AdvisoryView>,
    /// How the views relate.
    pub verdict: Verdict,
}

/// A panelist's rating of a competency.
#[derive(Debug, Clone, PartialEq)]
pub struct PanelView {
    /// Lever user id.
    pub reviewer_id: String,
    /// Their name, when Lever gave it.
    pub name: String,
    /// Lever's 1–4.
    pub rating: i64,
    /// Their comment behind it (the scorecard skill's, else the form's).
    pub evidence: Option<String>,
    /// The interview it was given for.
    pub interview: Option<String>,
}

/// One of panelflow's advisory scores.
#[derive(Debug, Clone, PartialEq)]
pub struct AdvisoryView {
    /// Lever's 1–4.
    pub score: u8,
    /// Calibrated confidence.
    pub confidence: f64,
    /// The quote behind it.
    pub quote: Option<String>,
    /// When it was said, seconds.
    pub at: Option<f64>,
    /// The question it answers.
    pub question: Option<String>,
    /// Which recording.
    pub recording: String,
}

/// A composed briefing.
#[derive(Debug, Clone, PartialEq)]
pub struct Briefing {
    /// The opportunity.
    pub opportunity_id: String,
    /// The candidate's name.
    pub candidate: String,
    /// The fingerprint of its inputs.
    pub fingerprint: String,
    /// When it was composed (RFC 3339).
    pub generated_at: String,
    /// Title line.
    pub title: String,
    /// The sections, in order.
    pub sections: Vec<Section>,
    /// The competencies, for callers that check them.
    pub competencies: Vec<CompetencyView>,
}

impl Briefing {
    /// The file name of this version: `panelflow-briefing-FP.pdf`.
    pub fn file_name(&self) -> String {
        file_name(&self.fingerprint)
    }

    /// The marker line its note ends with.
    pub fn marker(&self) -> String {
        marker(&self.opportunity_id, &self.fingerprint)
    }
}

/// The file name of the version `fingerprint`.
pub fn file_name(fingerprint: &str) -> String {
    format!("{FILE_PREFIX}{fingerprint}.pdf")
}

/// The marker line of the version `fingerprint` of `opportunity_id`.
pub fn marker(opportunity_id: &str, fingerprint: &str) -> String {
    format!("{NOTE_MARKER}{opportunity_id}/{fingerprint}")
}
