//! Where set-up put what it installed: one cache folder, found without any
//! variable to export by hand. Each crate names its own files under it (the
//! models, the broker binary, the development key).

use std::path::PathBuf;

/// The cache folder: `$PANELFLOW_HOME`, else `$XDG_CACHE_HOME/panelflow`,
/// else `~/.cache/panelflow`.
///
/// ```
/// let home = panelflow_core::paths::cache_dir();
/// assert!(home.ends_with("panelflow") || std::env::var_os("PANELFLOW_HOME").is_some());
/// ```
pub fn cache_dir() -> PathBuf {
    if let Some(p) = std::env::var_os("PANELFLOW_HOME") {
        return PathBuf::from(p);
    }
    if let Some(p) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(p).join("panelflow");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp"));
    home.join(".cache").join("panelflow")
}
