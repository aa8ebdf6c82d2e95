//! The willo webhook: signature check, parser and normalization (see
//! `panelflow_fuzz::webhook` for the modes and the invariants).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let source = panelflow_core::webhook::willo::WilloSource;
    panelflow_fuzz::webhook(&source, data);
});
