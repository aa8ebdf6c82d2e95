//! The EEO mapping: normalised answers of the demographics topic.

use super::sym::Sym;

/// Answers that mean "unknown" in an EEO field (compared in lower case).
pub const UNKNOWN_ANSWERS: [&str; 8] = [
    "",
    "unknown",
    "decline",
    "declined",
    "decline to self-identify",
    "decline_to_self_identify",
    "prefer not to say",
    "prefer_not_to_say",
];

/// Normalises an EEO answer: trimmed, lower case, `None` when unknown.
///
/// ```
/// use panelflow::aggregates::records::eeo_category;
/// assert_eq!(eeo_category(Some(" Female ")).as_deref(), Some("female"));
/// assert_eq!(eeo_category(Some("Decline to self-identify")), None);
/// assert_eq!(eeo_category(None), None);
/// ```
pub fn eeo_category(answer: Option<&str>) -> Option<Sym> {
    let a = answer?.trim().to_lowercase();
    if UNKNOWN_ANSWERS.contains(&a.as_str()) {
        None
    } else {
        Some(Sym::from(a))
    }
}
