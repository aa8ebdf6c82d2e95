//! The pipeline config loader (`dataflows/*.toml`): parsing, the round trip
//! through TOML, the hash and the copy without secrets.
#![no_main]

use libfuzzer_sys::fuzz_target;
use panelflow::config::PipelineConfig;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(cfg) = PipelineConfig::from_toml(text) else {
        return;
    };
    let hash = cfg.config_hash();
    assert_eq!(hash.len(), 16);
    // What it writes, it reads back the same.
    let again = toml::to_string(&cfg).expect("a loaded config serializes");
    let back = PipelineConfig::from_toml(&again).expect("and parses again");
    assert_eq!(back.config_hash(), hash);
    // Its copy without secrets holds none of the webhook secrets.
    let clean = toml::to_string(&cfg.without_secrets()).expect("serializes");
    for s in cfg.ingest.secrets.values().filter(|s| s.len() >= 12) {
        assert!(!clean.contains(s.as_str()), "a secret in the hashed config");
    }
});
