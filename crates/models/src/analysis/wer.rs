//! Word error rate: (substitutions + deletions + insertions) / reference
//! words, after normalising case and punctuation.

/// Lower-cases, spells numbers out ("$200,000" → "two hundred thousand
/// dollars", "120%" → "one hundred twenty percent", "2.4" → "two point
/// four"; the model writes digits,
/// references spell them), drops punctuation (keeping apostrophes inside
/// words) and splits on white space.
pub fn normalize(text: &str) -> Vec<String> {
    let spelled: Vec<String> = text.split_whitespace().map(spell_numbers).collect();
    spelled
        .iter()
        .flat_map(|w| w.split_whitespace())
        .map(|w| {
            w.chars()
                .filter(|c| c.is_alphanumeric() || *c == '\'')
                .flat_map(char::to_lowercase)
                .collect::<String>()
                .trim_matches('\'')
                .to_string()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

/// Spells out a token holding a number: `$1,200` → `one thousand two
/// hundred dollars`, `30%` → `thirty percent`, `5th` stays as is.
fn spell_numbers(token: &str) -> String {
    let dollars = token.starts_with('$');
    let body = token.trim_start_matches('$');
    let digits_end = body
        .find(|c: char| !(c.is_ascii_digit() || c == ','))
        .unwrap_or(body.len());
    let (number, rest) = body.split_at(digits_end);
    let plain: String = number.chars().filter(char::is_ascii_digit).collect();
    let Ok(value) = plain.parse::<u64>() else {
        return token.to_string();
    };
    if rest.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return token.to_string();
    }
    let mut out = crate::analysis::numbers::spell(value);
    // A decimal: "2.4" is "two point four".
    let rest = match rest.strip_prefix('.') {
        Some(frac) if frac.starts_with(|c: char| c.is_ascii_digit()) => {
            let digits: String = frac.chars().take_while(char::is_ascii_digit).collect();
            out.push_str(" point");
            for d in digits.chars() {
                out.push(' ');
                out.push_str(&crate::analysis::numbers::spell(u64::from(
                    d.to_digit(10).unwrap_or(0),
                )));
            }
            &frac[digits.len()..]
        }
        _ => rest.trim_start_matches('.'),
    };
    if let Some(after) = rest.strip_prefix('%') {
        out.push_str(" percent");
        out.push_str(after);
    } else {
        out.push_str(rest);
    }
    if dollars {
        out.push_str(" dollars");
    }
    out
}

/// Edit distance in words between reference and hypothesis.
pub fn word_errors(reference: &[String], hypothesis: &[String]) -> usize {
    let mut prev: Vec<usize> = (0..=hypothesis.len()).collect();
    let mut cur = vec![0; hypothesis.len() + 1];
    for (i, r) in reference.iter().enumerate() {
        cur[0] = i + 1;
        for (j, h) in hypothesis.iter().enumerate() {
            let sub = prev[j] + usize::from(r != h);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[hypothesis.len()]
}

/// Word error rate of `hypothesis` against `reference`.
///
/// ```
/// use panelflow_models::analysis::wer::wer;
/// assert_eq!(wer("Ask not what your country", "ask not what your country"), 0.0);
/// assert!((wer("a b c d", "a x c") - 0.5).abs() < 1e-12);
/// ```
pub fn wer(reference: &str, hypothesis: &str) -> f64 {
    let r = normalize(reference);
    let h = normalize(hypothesis);
    if r.is_empty() {
        return if h.is_empty() { 0.0 } else { 1.0 };
    }
    word_errors(&r, &h) as f64 / r.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_each_kind_of_error() {
        let r = normalize("the cat sat on the mat");
        assert_eq!(word_errors(&r, &normalize("the cat sat on the mat")), 0);
        assert_eq!(word_errors(&r, &normalize("the cat on the mat")), 1);
        assert_eq!(word_errors(&r, &normalize("the cat sat on the big mat")), 1);
        assert_eq!(word_errors(&r, &normalize("the dog sat on the mat")), 1);
    }

    #[test]
    fn numbers_are_spelled_out() {
        assert_eq!(normalize("$200,000 and 120% in 2019."), normalize("two hundred thousand dollars and one hundred twenty percent in two thousand nineteen"));
        assert_eq!(normalize("5 years"), vec!["five", "years"]);
    }

    #[test]
    fn punctuation_and_case_do_not_count() {
        assert_eq!(wer("Hello, World!", "hello world"), 0.0);
    }
}
