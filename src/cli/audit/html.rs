//! The audit as an HTML report whose plots are drawn by `plotters` as
//! inline SVG.

use std::fmt::Write as _;

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use super::cells::{b, f, s};
use super::model::Audit;
use crate::review::page::esc;
use panelflow_connectors::parquet::aggregates::Cell;

impl Audit {
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
