//! English number words, written once: spelling a whole number out (as
//! transcripts are compared, [`crate::analysis::wer::normalize`]) and
//! recognizing the words a spelled number is made of.
//!
//! ```
//! use panelflow_models::analysis::numbers::{is_number_word, spell};
//! assert_eq!(spell(1_250), "one thousand two hundred fifty");
//! assert!(spell(42).split(' ').all(is_number_word));
//! assert!(is_number_word("dozen") && !is_number_word("done"));
//! ```

/// Zero to nineteen.
const ONES: [&str; 20] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
];

/// The tens, by their digit (none for 0 and 1).
const TENS: [&str; 10] = [
    "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
];

/// The scales above a hundred, largest first.
const SCALES: [(u64, &str); 3] = [
    (1_000_000_000, "billion"),
    (1_000_000, "million"),
    (1_000, "thousand"),
];

/// Words that count without being spelled digits.
const COUNTING: [&str; 2] = ["half", "dozen"];

/// English words for a whole number (`0` is "zero"; no "and").
pub fn spell(n: u64) -> String {
    fn below_thousand(n: u64, out: &mut Vec<&'static str>) {
        if n >= 100 {
            out.push(ONES[(n / 100) as usize]);
            out.push("hundred");
        }
        let r = n % 100;
        if r >= 20 {
            out.push(TENS[(r / 10) as usize]);
            if !r.is_multiple_of(10) {
                out.push(ONES[(r % 10) as usize]);
            }
        } else if r > 0 {
            out.push(ONES[r as usize]);
        }
    }
    if n == 0 {
        return ONES[0].into();
    }
    let mut words = Vec::new();
    for (scale, name) in SCALES {
        let chunk = (n / scale) % 1000;
        if chunk > 0 {
            below_thousand(chunk, &mut words);
            words.push(name);
        }
    }
    below_thousand(n % 1000, &mut words);
    words.join(" ")
}

/// Whether `word` (lower case) is one a spelled number is made of:
/// "zero" to "nineteen", the tens, "hundred", the scales, "half", "dozen".
pub fn is_number_word(word: &str) -> bool {
    ONES.contains(&word)
        || (!word.is_empty() && TENS.contains(&word))
        || word == "hundred"
        || SCALES.iter().any(|(_, name)| *name == word)
        || COUNTING.contains(&word)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spells_each_part_of_a_number() {
        assert_eq!(spell(0), "zero");
        assert_eq!(spell(7), "seven");
        assert_eq!(spell(40), "forty");
        assert_eq!(spell(115), "one hundred fifteen");
        assert_eq!(spell(2_000_003), "two million three");
        assert_eq!(spell(12_000_000_000), "twelve billion");
    }

    #[test]
    fn recognizes_exactly_the_words_numbers_are_made_of() {
        for n in [0, 9, 19, 99, 100, 1_999, 1_000_000, 3_000_000_000] {
            assert!(spell(n).split(' ').all(is_number_word), "{n}");
        }
        for w in ["", "point", "and", "once", "first", "tenth"] {
            assert!(!is_number_word(w), "{w}");
        }
    }
}
