//! Recording links found in free text (an e-mail body, a chat message).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| panelflow_fuzz::recording_links(data));
