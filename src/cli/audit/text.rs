//! The audit as text.

use std::fmt::Write as _;

use super::cells::{b, f, s};
use super::model::Audit;

impl Audit {
    /// The report as text.
    pub fn text(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(o, "panelflow audit — {}", self.dir.display());
        let _ = writeln!(o, "\nBIAS AUDIT (EEOC four-fifths rule: impact ratio < 0.80 flagged; categories under 2 % marked small, not flagged)");
        let header = format!(
            "  {:<34} {:>8} {:>8} {:>8} {:>7} {:>8} {:>7}  {}",
            "category", "assessed", "selected", "sel.rate", "IR sel", "scr.rate", "IR scr", "flags"
        );
        for kind in ["overall", "job_family", "model_version", "posting"] {
            let mut groups: Vec<(String, String)> = self
                .bias_rows(kind)
                .map(|r| (s(&self.bias, r, "scope"), s(&self.bias, r, "dimension")))
                .collect();
            let rank = |d: &str| {
                ["sex", "race_ethnicity", "intersection"]
                    .iter()
                    .position(|x| *x == d)
                    .unwrap_or(3)
            };
            groups.sort_by(|a, b| (&a.0, rank(&a.1)).cmp(&(&b.0, rank(&b.1))));
            groups.dedup();
            for (scope, dim) in groups {
                let rows: Vec<_> = self
                    .bias_rows(kind)
                    .filter(|r| {
                        s(&self.bias, r, "scope") == scope && s(&self.bias, r, "dimension") == dim
                    })
                    .collect();
                // Postings: only the ones with a flag, to keep the text short.
                if kind == "posting" && !rows.iter().any(|r| b(&self.bias, r, "flagged")) {
                    continue;
                }
                let first = rows[0];
                let _ = writeln!(
                    o,
                    "\n {kind} {scope} · {dim}: sample {}, median score {}, unknown excluded {}",
                    s(&self.bias, first, "sample_size"),
                    s(&self.bias, first, "median_score"),
                    s(&self.bias, first, "unknown_excluded")
                );
                let _ = writeln!(o, "{header}");
                for r in rows {
                    let mut flags = Vec::new();
                    if b(&self.bias, r, "flagged_selection") {
                        flags.push("FLAG selection");
                    }
                    if b(&self.bias, r, "flagged_scoring") {
                        flags.push("FLAG scoring");
                    }
                    if b(&self.bias, r, "small_category") {
                        flags.push("small (<2%)");
                    }
                    let _ = writeln!(
                        o,
                        "  {:<34} {:>8} {:>8} {:>8} {:>7} {:>8} {:>7}  {}",
                        s(&self.bias, r, "category"),
                        s(&self.bias, r, "assessed"),
                        s(&self.bias, r, "selected"),
                        s(&self.bias, r, "selection_rate"),
                        s(&self.bias, r, "impact_ratio_selection"),
                        s(&self.bias, r, "scoring_rate"),
                        s(&self.bias, r, "impact_ratio_scoring"),
                        flags.join(", ")
                    );
                }
            }
        }
        let flagged = self.flagged();
        let _ = writeln!(o, "\n {} flagged row(s) in all scopes.", flagged.len());

        let _ = writeln!(o, "\nREVIEWER CALIBRATION (all ratings; leniency = mean offset from the rest of the panel)");
        let _ = writeln!(
            o,
            "  {:<14} {:>7} {:>6} {:>6} {:>9} {:>10} {:>9} {:>9} {:>8}",
            "reviewer",
            "ratings",
            "mean",
            "std",
            "leniency",
            "agr.panel",
            "ai offset",
            "agr.AI",
            "extreme"
        );
        for r in self
            .calibration
            .rows
            .iter()
            .filter(|r| self.calibration.get(r, "scope_kind").as_str() == Some("all"))
        {
            let c = &self.calibration;
            let _ = writeln!(
                o,
                "  {:<14} {:>7} {:>6} {:>6} {:>9} {:>10} {:>9} {:>9} {:>8}",
                s(c, r, "reviewer_id"),
                s(c, r, "ratings"),
                s(c, r, "mean"),
                s(c, r, "std"),
                s(c, r, "leniency"),
                s(c, r, "agreement_panel"),
                s(c, r, "ai_offset"),
                s(c, r, "agreement_ai"),
                s(c, r, "extreme_share")
            );
        }
        let dispersions: Vec<f64> = self
            .panel
            .rows
            .iter()
            .filter_map(|r| f(&self.panel, r, "dispersion"))
            .collect();
        if !dispersions.is_empty() {
            let mean = dispersions.iter().sum::<f64>() / dispersions.len() as f64;
            let _ = writeln!(
                o,
                "  panels: {} with two or more ratings, mean dispersion (std) {mean:.3}",
                dispersions.len()
            );
        }

        let _ = writeln!(o, "\nDRIFT (PSI < 0.1 stable, 0.1–0.25 moderate, ≥ 0.25 major; KS against the reference window)");
        let _ = writeln!(
            o,
            "  {:<14} {:<25} {:<11} {:>6} {:>6} {:>7} {:<9} {:>6} {:>6}",
            "model", "metric", "week", "n", "mean", "psi", "level", "ks", "ks sig"
        );
        for r in &self.drift.rows {
            let d = &self.drift;
            let reference = if b(d, r, "in_reference") {
                " (ref)"
            } else {
                ""
            };
            let _ = writeln!(
                o,
                "  {:<14} {:<25} {:<11} {:>6} {:>6} {:>7} {:<9} {:>6} {:>6}{reference}",
                s(d, r, "model_version"),
                s(d, r, "metric"),
                s(d, r, "week_start"),
                s(d, r, "n"),
                s(d, r, "mean"),
                s(d, r, "psi"),
                s(d, r, "psi_level"),
                s(d, r, "ks"),
                s(d, r, "ks_significant")
            );
        }

        let _ = writeln!(
            o,
            "\nQUESTION CONSISTENCY (deviation = word error rate against the canonical text)"
        );
        for r in &self.questions.rows {
            let q = &self.questions;
            let _ = writeln!(
                o,
                "  {:<8} {:<4} asked {:>4}×  mean dev {}  max {}  strayed {} — {}",
                s(q, r, "posting_id"),
                s(q, r, "question_id"),
                s(q, r, "askings"),
                s(q, r, "mean_deviation"),
                s(q, r, "max_deviation"),
                s(q, r, "strayed"),
                s(q, r, "canonical_text")
            );
        }
        let _ = writeln!(
            o,
            "\nINTERVIEWER LANGUAGE ({} phrase(s) from the reviewed list found)",
            self.language.rows.len()
        );
        for r in &self.language.rows {
            let l = &self.language;
            let _ = writeln!(
                o,
                "  [{}] {} in {} ({}): \"{}\"",
                s(l, r, "category"),
                s(l, r, "interviewer_id"),
                s(l, r, "interview_id"),
                s(l, r, "posting_id"),
                s(l, r, "quote")
            );
        }
        o
    }
}
