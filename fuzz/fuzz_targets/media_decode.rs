//! A recording's demuxing and decoding (WAV, FLAC, MP3, MP4/AAC,
//! WebM/Matroska, Opus), as the pipeline runs it on a fetched file.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| panelflow_fuzz::media_decode(data));
