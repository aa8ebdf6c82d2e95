//! Rank statistics for comparing scores with labels.

use std::collections::BTreeMap;

/// Average ranks (1-based), ties sharing the mean of their ranks.
pub fn ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut out = vec![0.0; values.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && values[order[j + 1]] == values[order[i]] {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            out[k] = rank;
        }
        i = j + 1;
    }
    out
}

/// Pearson correlation; 0 when either side is constant.
pub fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len().min(y.len());
    if n < 2 {
        return 0.0;
    }
    let mx = x[..n].iter().sum::<f64>() / n as f64;
    let my = y[..n].iter().sum::<f64>() / n as f64;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for k in 0..n {
        let (a, b) = (x[k] - mx, y[k] - my);
        sxy += a * b;
        sxx += a * a;
        syy += b * b;
    }
    if sxx == 0.0 || syy == 0.0 {
        0.0
    } else {
        sxy / (sxx * syy).sqrt()
    }
}

/// Spearman's ρ: the Pearson correlation of average ranks (0 for a
/// constant prediction).
///
/// ```
/// use panelflow_models::analysis::eval::stats::spearman;
/// assert!((spearman(&[1.0, 2.0, 3.0], &[10.0, 20.0, 30.0]) - 1.0).abs() < 1e-12);
/// assert!((spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]) + 1.0).abs() < 1e-12);
/// assert_eq!(spearman(&[2.0, 2.0, 2.0], &[1.0, 2.0, 3.0]), 0.0);
/// ```
pub fn spearman(x: &[f64], y: &[f64]) -> f64 {
    pearson(&ranks(x), &ranks(y))
}

/// Within-group pairwise accuracy: over every pair of items of one group
/// (one question) whose labels differ, the share the prediction orders the
/// same way; a tie in the prediction counts half. Returns (accuracy, pairs).
///
/// ```
/// use panelflow_models::analysis::eval::stats::pairwise_accuracy;
/// let groups = ["q1", "q1", "q1", "q2", "q2"];
/// let labels = [1.0, 2.0, 4.0, 3.0, 3.0];
/// let (acc, pairs) = pairwise_accuracy(&groups, &labels, &[0.1, 0.5, 0.9, 0.0, 1.0]);
/// assert_eq!((acc, pairs), (1.0, 3));
/// let (acc, _) = pairwise_accuracy(&groups, &labels, &[0.5, 0.5, 0.5, 0.0, 0.0]);
/// assert_eq!(acc, 0.5);
/// ```
pub fn pairwise_accuracy(groups: &[&str], labels: &[f64], predicted: &[f64]) -> (f64, usize) {
    let mut by_group: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (k, g) in groups.iter().enumerate() {
        by_group.entry(g).or_default().push(k);
    }
    let (mut right, mut pairs) = (0.0, 0usize);
    for items in by_group.values() {
        for (i, &a) in items.iter().enumerate() {
            for &b in &items[i + 1..] {
                if labels[a] == labels[b] {
                    continue;
                }
                pairs += 1;
                let want = labels[a] < labels[b];
                if predicted[a] == predicted[b] {
                    right += 0.5;
                } else if (predicted[a] < predicted[b]) == want {
                    right += 1.0;
                }
            }
        }
    }
    if pairs == 0 {
        (0.0, 0)
    } else {
        (right / pairs as f64, pairs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_share_their_rank() {
        assert_eq!(ranks(&[3.0, 1.0, 3.0, 2.0]), [3.5, 1.0, 3.5, 2.0]);
    }

    #[test]
    fn pearson_of_a_line_is_one() {
        assert!((pearson(&[1.0, 2.0, 3.0, 4.0], &[2.0, 4.0, 6.0, 8.0]) - 1.0).abs() < 1e-12);
    }
}
