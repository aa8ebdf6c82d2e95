//! `panelflow audit DIR [--html FILE]`: the current audit from the
//! aggregates' snapshots, as text and as an HTML report whose plots
//! (impact ratios against the 0.8 line, interviewer leniency, PSI over
//! weeks) are drawn by `plotters` as inline SVG.
//!
//! `DIR` is an aggregates dataset (holding `snapshot/`) or a folder with one
//! in `aggregates/` (what `panelflow demo --out DIR` leaves).
//!
//! ```no_run
//! let report = panelflow::cli::audit::Audit::load(std::path::Path::new("out/demo")).unwrap();
//! print!("{}", report.text());
//! std::fs::write("audit.html", report.html().unwrap()).unwrap();
//! ```

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use crate::review::page::esc;
use panelflow_connectors::parquet::aggregates::{read_rows, Cell, Rows, SNAPSHOT_DIR};
use panelflow_connectors::parquet::storage;

/// The snapshots of one aggregates dataset.
#[derive(Debug, Clone)]
pub struct Audit {
    /// The dataset's folder.
    pub dir: PathBuf,
    /// `bias_audit`.
    pub bias: Rows,
    /// `reviewer_calibration`.
    pub calibration: Rows,
    /// `panel_view`.
    pub panel: Rows,
    /// `drift`.
    pub drift: Rows,
    /// `question_consistency`.
    pub questions: Rows,
    /// `interviewer_language`.
    pub language: Rows,
}

fn s(rows: &Rows, row: &[Cell], col: &str) -> String {
    match rows.get(row, col) {
        Cell::Str(v) => v.clone(),
        Cell::I64(v) => v.to_string(),
        Cell::F64(v) => format!("{v:.3}"),
        Cell::Bool(v) => v.to_string(),
        Cell::Null => "—".into(),
    }
}

fn f(rows: &Rows, row: &[Cell], col: &str) -> Option<f64> {
    rows.get(row, col).as_f64()
}

fn b(rows: &Rows, row: &[Cell], col: &str) -> bool {
    rows.get(row, col).as_bool().unwrap_or(false)
}

impl Audit {
    /// Reads the snapshots under `dir` (or `dir/aggregates`).
    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        let root = if storage::is_dir(&dir.join(SNAPSHOT_DIR))? {
            dir.to_path_buf()
        } else if storage::is_dir(&dir.join("aggregates").join(SNAPSHOT_DIR))? {
            dir.join("aggregates")
        } else {
            bail!(
                "{} holds no aggregates snapshot (no snapshot/ or aggregates/snapshot/)",
                dir.display()
            );
        };
        let table = |name: &str| -> anyhow::Result<Rows> {
            let path = root.join(SNAPSHOT_DIR).join(format!("{name}.parquet"));
            if !storage::exists(&path)? {
                return Ok(Rows::default());
            }
            read_rows(&path).with_context(|| format!("reading {}", path.display()))
        };
        Ok(Self {
            dir: root.clone(),
            bias: table("bias_audit")?,
            calibration: table("reviewer_calibration")?,
            panel: table("panel_view")?,
            drift: table("drift")?,
            questions: table("question_consistency")?,
            language: table("interviewer_language")?,
        })
    }

    fn bias_rows<'a>(&'a self, scope_kind: &'a str) -> impl Iterator<Item = &'a Vec<Cell>> + 'a {
        self.bias
            .rows
            .iter()
            .filter(move |r| self.bias.get(r, "scope_kind").as_str() == Some(scope_kind))
    }

    /// Bias rows flagged under the four-fifths rule.
    pub fn flagged(&self) -> Vec<&Vec<Cell>> {
        self.bias
            .rows
            .iter()
            .filter(|r| b(&self.bias, r, "flagged"))
            .collect()
    }

    /// Drift rows whose PSI is not stable.
    pub fn drifted(&self) -> Vec<&Vec<Cell>> {
        self.drift
            .rows
            .iter()
            .filter(|r| b(&self.drift, r, "flagged"))
            .collect()
    }

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

    /// The report as an HTML page with inline SVG plots.
    pub fn html(&self) -> anyhow::Result<String> {
        let mut o = String::new();
        let _ = write!(
            o,
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>panelflow audit</title><style>\
             body{{font-family:sans-serif;margin:2em;max-width:1100px}} table{{border-collapse:collapse;margin:1em 0}}\
             td,th{{border:1px solid #ccc;padding:2px 6px;font-size:13px;text-align:right}} td:first-child,th:first-child{{text-align:left}}\
             .flag{{background:#fdd}} .small{{color:#888}} figure{{margin:1em 0}}</style></head><body>\
             <h1>panelflow audit</h1><p>Dataset: <code>{}</code>. Four-fifths rule: impact ratio below 0.80 flagged; \
             categories under 2 % of the known sample are reported but not flagged.</p>",
            esc(&self.dir.display().to_string())
        );
        let _ = write!(o, "<h2>Bias audit — overall</h2>");
        for dim in ["sex", "race_ethnicity", "intersection"] {
            let rows: Vec<&Vec<Cell>> = self
                .bias_rows("overall")
                .filter(|r| self.bias.get(r, "dimension").as_str() == Some(dim))
                .collect();
            if rows.is_empty() {
                continue;
            }
            let svg = self.impact_plot(dim, &rows)?;
            let _ = write!(o, "<figure>{svg}</figure>");
            let _ = write!(
                o,
                "<table><tr><th>category</th><th>assessed</th><th>selected</th><th>selection rate</th><th>IR selection</th>\
                 <th>scoring rate</th><th>IR scoring</th><th>share</th><th>unknown excluded</th></tr>"
            );
            for r in rows {
                let class = if b(&self.bias, r, "flagged") {
                    " class=\"flag\""
                } else if b(&self.bias, r, "small_category") {
                    " class=\"small\""
                } else {
                    ""
                };
                let _ = write!(
                    o,
                    "<tr{class}><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    esc(&s(&self.bias, r, "category")),
                    s(&self.bias, r, "assessed"),
                    s(&self.bias, r, "selected"),
                    s(&self.bias, r, "selection_rate"),
                    s(&self.bias, r, "impact_ratio_selection"),
                    s(&self.bias, r, "scoring_rate"),
                    s(&self.bias, r, "impact_ratio_scoring"),
                    s(&self.bias, r, "share"),
                    s(&self.bias, r, "unknown_excluded")
                );
            }
            let _ = write!(o, "</table>");
        }
        let flagged = self.flagged();
        let _ = write!(o, "<h2>Flagged in any scope ({})</h2><table><tr><th>scope</th><th>dimension</th><th>category</th><th>IR selection</th><th>IR scoring</th></tr>", flagged.len());
        for r in flagged {
            let _ = write!(
                o,
                "<tr class=\"flag\"><td>{} {}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&s(&self.bias, r, "scope_kind")),
                esc(&s(&self.bias, r, "scope")),
                s(&self.bias, r, "dimension"),
                esc(&s(&self.bias, r, "category")),
                s(&self.bias, r, "impact_ratio_selection"),
                s(&self.bias, r, "impact_ratio_scoring")
            );
        }
        let _ = write!(
            o,
            "</table><h2>Interviewer calibration</h2><figure>{}</figure>",
            self.leniency_plot()?
        );
        let _ = write!(o, "<h2>Drift</h2><figure>{}</figure>", self.psi_plot()?);
        let _ = write!(o, "<h2>Interviewer language</h2><table><tr><th>category</th><th>interviewer</th><th>interview</th><th>quote</th></tr>");
        for r in &self.language.rows {
            let l = &self.language;
            let _ = write!(
                o,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td style=\"text-align:left\">“{}”</td></tr>",
                esc(&s(l, r, "category")),
                esc(&s(l, r, "interviewer_id")),
                esc(&s(l, r, "interview_id")),
                esc(&s(l, r, "quote"))
            );
        }
        let _ = write!(
            o,
            "</table><h2>Full text report</h2><pre>{}</pre></body></html>",
            esc(&self.text())
        );
        Ok(o)
    }

    fn impact_plot(&self, dim: &str, rows: &[&Vec<Cell>]) -> anyhow::Result<String> {
        let n = rows.len();
        let labels: Vec<String> = rows.iter().map(|r| s(&self.bias, r, "category")).collect();
        let values: Vec<(f64, f64, bool)> = rows
            .iter()
            .map(|r| {
                (
                    f(&self.bias, r, "impact_ratio_selection").unwrap_or(0.0),
                    f(&self.bias, r, "impact_ratio_scoring").unwrap_or(0.0),
                    b(&self.bias, r, "small_category"),
                )
            })
            .collect();
        let ymax = values
            .iter()
            .map(|(a, b, _)| a.max(*b))
            .fold(1.2f64, f64::max)
            * 1.05;
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (900, 340)).into_drawing_area();
            root.fill(&WHITE).map_err(plot_err)?;
            let mut chart = ChartBuilder::on(&root)
                .caption(
                    format!("Impact ratios by {dim} (overall) — red line: 0.8; pale: categories under 2 %"),
                    ("sans-serif", 18),
                )
                .margin(10)
                .x_label_area_size(150)
                .y_label_area_size(50)
                .build_cartesian_2d(0f64..n.max(1) as f64, 0f64..ymax)
                .map_err(plot_err)?;
            chart
                .configure_mesh()
                .disable_x_mesh()
                .x_labels(0)
                .y_desc("impact ratio")
                .draw()
                .map_err(plot_err)?;
            let sel = RGBColor(60, 110, 180);
            let scr = RGBColor(240, 150, 40);
            chart
                .draw_series(values.iter().enumerate().map(|(i, (a, _, small))| {
                    let c = if *small { sel.mix(0.35) } else { sel.mix(1.0) };
                    Rectangle::new([(i as f64 + 0.12, 0.0), (i as f64 + 0.48, *a)], c.filled())
                }))
                .map_err(plot_err)?
                .label("selection")
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], sel.filled()));
            chart
                .draw_series(values.iter().enumerate().map(|(i, (_, v, small))| {
                    let c = if *small { scr.mix(0.35) } else { scr.mix(1.0) };
                    Rectangle::new([(i as f64 + 0.52, 0.0), (i as f64 + 0.88, *v)], c.filled())
                }))
                .map_err(plot_err)?
                .label("scoring")
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], scr.filled()));
            chart
                .draw_series(LineSeries::new(
                    vec![(0.0, 0.8), (n as f64, 0.8)],
                    RED.stroke_width(2),
                ))
                .map_err(plot_err)?
                .label("0.8")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 14, y)], RED.stroke_width(2)));
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .draw()
                .map_err(plot_err)?;
            bar_labels(&root, &chart, &labels, 0.0)?;
            root.present().map_err(plot_err)?;
        }
        Ok(svg)
    }

    fn leniency_plot(&self) -> anyhow::Result<String> {
        let c = &self.calibration;
        let rows: Vec<(String, f64, f64)> = c
            .rows
            .iter()
            .filter(|r| c.get(r, "scope_kind").as_str() == Some("all"))
            .filter_map(|r| {
                Some((
                    s(c, r, "reviewer_id"),
                    f(c, r, "leniency")?,
                    f(c, r, "agreement_panel").unwrap_or(0.0),
                ))
            })
            .collect();
        let n = rows.len().max(1);
        let lim = rows.iter().map(|(_, l, _)| l.abs()).fold(0.5f64, f64::max) * 1.1;
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (900, 320)).into_drawing_area();
            root.fill(&WHITE).map_err(plot_err)?;
            let mut chart = ChartBuilder::on(&root)
                .caption(
                    "Interviewer leniency (mean offset from the rest of the panel)",
                    ("sans-serif", 18),
                )
                .margin(10)
                .x_label_area_size(80)
                .y_label_area_size(50)
                .build_cartesian_2d(0f64..n as f64, -lim..lim)
                .map_err(plot_err)?;
            let labels: Vec<String> = rows.iter().map(|(r, _, _)| r.clone()).collect();
            chart
                .configure_mesh()
                .disable_x_mesh()
                .x_labels(0)
                .y_desc("rating points")
                .draw()
                .map_err(plot_err)?;
            chart
                .draw_series(rows.iter().enumerate().map(|(i, (_, l, _))| {
                    let color = if *l >= 0.0 {
                        RGBColor(80, 160, 90)
                    } else {
                        RGBColor(190, 80, 70)
                    };
                    Rectangle::new(
                        [(i as f64 + 0.2, 0.0), (i as f64 + 0.8, *l)],
                        color.filled(),
                    )
                }))
                .map_err(plot_err)?;
            chart
                .draw_series(LineSeries::new(vec![(0.0, 0.0), (n as f64, 0.0)], BLACK))
                .map_err(plot_err)?;
            bar_labels(&root, &chart, &labels, -lim)?;
            root.present().map_err(plot_err)?;
        }
        Ok(svg)
    }

    fn psi_plot(&self) -> anyhow::Result<String> {
        let d = &self.drift;
        let mut series: std::collections::BTreeMap<String, Vec<(f64, f64)>> = Default::default();
        let mut weeks: Vec<String> = Vec::new();
        for r in &d.rows {
            weeks.push(s(d, r, "week_start"));
        }
        weeks.sort();
        weeks.dedup();
        for r in &d.rows {
            let key = format!("{} {}", s(d, r, "model_version"), s(d, r, "metric"));
            let week = s(d, r, "week_start");
            let x = weeks.iter().position(|w| *w == week).unwrap_or(0) as f64;
            series
                .entry(key)
                .or_default()
                .push((x, f(d, r, "psi").unwrap_or(0.0)));
        }
        let ymax = series
            .values()
            .flatten()
            .map(|(_, y)| *y)
            .fold(0.3f64, f64::max)
            * 1.1;
        let n = weeks.len().max(2);
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (900, 360)).into_drawing_area();
            root.fill(&WHITE).map_err(plot_err)?;
            let mut chart = ChartBuilder::on(&root)
                .caption(
                    "PSI per week against the reference window (0.1 moderate, 0.25 major)",
                    ("sans-serif", 18),
                )
                .margin(10)
                .x_label_area_size(50)
                .y_label_area_size(50)
                .build_cartesian_2d(0f64..(n - 1) as f64, 0f64..ymax)
                .map_err(plot_err)?;
            chart
                .configure_mesh()
                .x_labels(n)
                .x_label_formatter(&|x| weeks.get(x.round() as usize).cloned().unwrap_or_default())
                .y_desc("PSI")
                .draw()
                .map_err(plot_err)?;
            for (i, (name, mut points)) in series.into_iter().enumerate() {
                points.sort_by(|a, b| a.0.total_cmp(&b.0));
                let color = Palette99::pick(i).to_rgba();
                chart
                    .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))
                    .map_err(plot_err)?
                    .label(name)
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 14, y)], color.stroke_width(2))
                    });
                chart
                    .draw_series(
                        points
                            .into_iter()
                            .map(|p| Circle::new(p, 3, color.filled())),
                    )
                    .map_err(plot_err)?;
            }
            for (level, color) in [(0.1, RGBColor(230, 160, 0)), (0.25, RED)] {
                chart
                    .draw_series(LineSeries::new(
                        vec![(0.0, level), ((n - 1) as f64, level)],
                        color.stroke_width(1),
                    ))
                    .map_err(plot_err)?;
            }
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .draw()
                .map_err(plot_err)?;
            root.present().map_err(plot_err)?;
        }
        Ok(svg)
    }
}

/// Writes each bar's label, turned a quarter, under the x axis.
fn bar_labels<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    chart: &ChartContext<'_, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    labels: &[String],
    y_axis: f64,
) -> anyhow::Result<()> {
    let style = ("sans-serif", 12)
        .into_font()
        .transform(FontTransform::Rotate90)
        .color(&BLACK);
    for (i, label) in labels.iter().enumerate() {
        let (x, y) = chart.backend_coord(&(i as f64 + 0.5, y_axis));
        root.draw(&Text::new(label.clone(), (x + 5, y + 6), style.clone()))
            .map_err(plot_err)?;
    }
    Ok(())
}

fn plot_err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow::anyhow!("drawing a plot: {e:?}")
}

/// Runs `panelflow audit DIR [--html FILE]`.
pub fn run(dir: &Path, html: Option<&Path>) -> anyhow::Result<()> {
    let audit = Audit::load(dir)?;
    print!("{}", audit.text());
    if let Some(path) = html {
        std::fs::write(path, audit.html()?)
            .with_context(|| format!("writing {}", path.display()))?;
        println!("\nHTML report: {}", path.display());
    }
    Ok(())
}
