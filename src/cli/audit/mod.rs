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

mod cells;
mod html;
mod model;
mod text;

use std::path::Path;

use anyhow::Context;

pub use model::Audit;

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
