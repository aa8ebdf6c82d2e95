//! Reflection and hedging: looking back to draw a lesson, and hedges about
//! one's own answer.

/// Looking back and drawing a lesson.
pub(super) const REFLECTION: [&str; 25] = [
    "i learned",
    "i learnt",
    "i've learned",
    "i have learned",
    "taught me",
    "lesson",
    "i realized",
    "i realised",
    "since then",
    "from then on",
    "ever since",
    "now i",
    "i now",
    "these days i",
    "next time",
    "going forward",
    "in hindsight",
    "looking back",
    "do differently",
    "done differently",
    "changed how i",
    "changed the way i",
    "i make sure",
    "i started to",
    "i learned that",
];

/// Strong hedges about one's own answer (matched without intensifiers:
/// "I don't really know" is "I don't know").
pub(super) const STRONG_HEDGES: [&str; 11] = [
    "i'm not sure",
    "i am not sure",
    "not really sure",
    "i don't know",
    "i do not know",
    "i guess",
    "no idea",
    "i'm not certain",
    "hard to say",
    "i suppose",
    "not entirely sure",
];

/// Mild hedges.
pub(super) const MILD_HEDGES: [&str; 9] = [
    "maybe", "perhaps", "probably", "kind of", "sort of", "possibly", "i think", "might",
    "somewhat",
];
