//! The words panelflow records about what happened, as types: the stage an
//! interview failed at, its outcome, how one step went, and how serious an
//! analysis flag is. Each serializes as the lower-case word the Parquet
//! tables, dead letters, audit log and summaries have always carried, and
//! compares equal to it (`outcome == "failed"` still reads as it did).
//!
//! ```
//! use panelflow_core::outcome::{Outcome, Severity, Stage};
//! assert_eq!(Stage::ReviewQueue.as_str(), "review_queue");
//! assert_eq!(serde_json::to_string(&Outcome::Failed).unwrap(), "\"failed\"");
//! assert!(Outcome::Transcribed == "transcribed");
//! assert_eq!("review".parse::<Severity>(), Ok(Severity::Review));
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A word that is not one of an enum's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} `{word}`")]
pub struct UnknownWord {
    /// What was being parsed (`stage`, `outcome`, ...).
    pub kind: &'static str,
    /// The word.
    pub word: String,
}

/// Declares a word enum: the variants with their words, `as_str`, `ALL`,
/// `Display`, `FromStr` and equality with `str`.
macro_rules! words {
    ($(#[$doc:meta])* $name:ident, $kind:literal { $($(#[$vdoc:meta])* $variant:ident => $word:literal,)+ }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vdoc])* #[serde(rename = $word)] $variant,)+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The recorded word.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word,)+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownWord;
            fn from_str(word: &str) -> Result<Self, UnknownWord> {
                $name::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == word)
                    .ok_or_else(|| UnknownWord { kind: $kind, word: word.to_string() })
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }
    };
}

words! {
    /// A stage of the interview pipeline (or of reading its input), as
    /// dead letters, failure reasons and the audit log name it.
    Stage, "stage" {
        /// Reading a Kafka message as an `InterviewCompleted` event.
        DecodeEvent => "decode_event",
        /// Reading an aggregates input message.
        DecodeAggregateRecord => "decode_aggregate_record",
        /// Data residency: an event of another region is refused.
        Residency => "residency",
        /// Lever, the platform's API: the media, the question set, the posting.
        Context => "context",
        /// Fetching and decoding the recordings.
        Media => "media",
        /// The speech model.
        Speech => "speech",
        /// The analysis of the transcript.
        Analysis => "analysis",
        /// The write-back plan's route: Lever now, or the review queue.
        Route => "route",
        /// Writing a plan to Lever (its steps below).
        LeverWrite => "lever_write",
        /// The private note.
        LeverNote => "lever_note",
        /// The scorecard.
        LeverFeedback => "lever_feedback",
        /// The rule tags.
        LeverTags => "lever_tags",
        /// The stage move.
        LeverStage => "lever_stage",
        /// Storing the result in the review queue.
        ReviewQueue => "review_queue",
    }
}

words! {
    /// What became of one interview (the `interviews` table's `outcome`).
    Outcome, "outcome" {
        /// Transcribed and analysed; its results are written.
        Transcribed => "transcribed",
        /// A stage failed; the reason is in `failure_reason`.
        Failed => "failed",
    }
}

words! {
    /// How one step went (the audit log's `outcome` of a pipeline step).
    StepOutcome, "step outcome" {
        /// It did what it should.
        Ok => "ok",
        /// It failed (the detail says why).
        Failed => "failed",
        /// It ran, but not completely (the analysis without its models).
        Partial => "partial",
        /// The input was refused (another region's event).
        Refused => "refused",
    }
}

words! {
    /// How serious an analysis flag is.
    Severity, "severity" {
        /// Context for the reader.
        Info => "info",
        /// A red flag a person should look at (it can route a result to review).
        Review => "review",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_round_trips_through_json_and_text() {
        for s in Stage::ALL {
            let json = serde_json::to_string(s).unwrap();
            assert_eq!(json, format!("\"{}\"", s.as_str()));
            assert_eq!(serde_json::from_str::<Stage>(&json).unwrap(), *s);
            assert_eq!(s.as_str().parse::<Stage>(), Ok(*s));
        }
        for o in Outcome::ALL {
            assert_eq!(o.to_string().parse::<Outcome>(), Ok(*o));
        }
        assert!("lever".parse::<Stage>().is_err());
    }
}
