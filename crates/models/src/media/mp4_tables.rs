//! A check of an MP4's sample tables before the demuxer reads them.
//!
//! The MP4 demuxer sizes each table (`stsc`, `stts`, `stsz`, `stco`, …) by
//! the entry count the file states and allocates it before reading a single
//! entry, so a 2 KB file claiming four billion entries makes it ask for
//! tens of gigabytes — an allocation failure aborts the process, which no
//! `catch_unwind` can turn into one failed file (found by fuzzing
//! `media_decode`). A count is only believable when its entries fit in
//! their box: that is checked here, on the box tree, before probing.

use std::io::{Read, Seek, SeekFrom};

use crate::error::MediaError;

/// Boxes whose payload is more boxes.
const CONTAINERS: [&[u8; 4]; 10] = [
    b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"dinf", b"mvex", b"moof", b"traf",
];

/// Deepest nesting walked (real files use about six levels).
const MAX_DEPTH: usize = 16;

/// Most boxes walked in one file.
const MAX_BOXES: usize = 100_000;

/// How far into a file the probe looks for an MP4's first box: the
/// container probe scans for its marker rather than reading at offset 0,
/// so a file with junk before `ftyp` is still read as an MP4.
const SCAN: usize = 1 << 20;

/// Where the MP4's first box starts (its `ftyp` or `moov` tag found in the
/// first [`SCAN`] bytes, minus the size field), if the file is one.
fn first_box<R: Read + Seek>(r: &mut R) -> std::io::Result<Option<u64>> {
    r.seek(SeekFrom::Start(0))?;
    let mut head = Vec::with_capacity(SCAN.min(64 << 10));
    r.take(SCAN as u64).read_to_end(&mut head)?;
    Ok(head
        .windows(4)
        .enumerate()
        .skip(4)
        .find(|(_, w)| *w == b"ftyp" || *w == b"moov")
        .map(|(i, _)| (i - 4) as u64))
}

/// Checks every sample table of an MP4 (a file with an `ftyp` or `moov`
/// box near its start; any other file passes untouched) and leaves the
/// reader at its start.
///
/// ```
/// use std::io::Cursor;
/// use panelflow_models::media::mp4_tables::check;
/// let mut f = Vec::new();
/// f.extend_from_slice(&[0, 0, 0, 16]); f.extend_from_slice(b"ftypisom"); f.extend_from_slice(&[0; 4]);
/// // moov > stbl-less stsc claiming 0xFFFFFFFF entries in 16 bytes.
/// f.extend_from_slice(&[0, 0, 0, 24]); f.extend_from_slice(b"moov");
/// f.extend_from_slice(&[0, 0, 0, 16]); f.extend_from_slice(b"stsc");
/// f.extend_from_slice(&[0, 0, 0, 0]); f.extend_from_slice(&[0xFF; 4]);
/// assert!(check(&mut Cursor::new(f)).is_err());
/// ```
pub fn check<R: Read + Seek>(r: &mut R) -> Result<(), MediaError> {
    let Some(start) = first_box(r)? else {
        r.seek(SeekFrom::Start(0))?;
        return Ok(());
    };
    let end = r.seek(SeekFrom::End(0))?;
    let mut boxes = 0usize;
    walk(r, start, end, 0, &mut boxes)?;
    r.seek(SeekFrom::Start(0))?;
    Ok(())
}

fn corrupt(what: String) -> MediaError {
    MediaError::Corrupt(format!("MP4: {what}"))
}

/// Walks the boxes in `[start, end)`.
fn walk<R: Read + Seek>(
    r: &mut R,
    start: u64,
    end: u64,
    depth: usize,
    boxes: &mut usize,
) -> Result<(), MediaError> {
    if depth > MAX_DEPTH {
        return Err(corrupt("boxes nested too deep".into()));
    }
    let mut at = start;
    while at + 8 <= end {
        *boxes += 1;
        if *boxes > MAX_BOXES {
            return Err(corrupt("too many boxes".into()));
        }
        r.seek(SeekFrom::Start(at))?;
        let mut header = [0u8; 8];
        r.read_exact(&mut header)?;
        let size32 = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as u64;
        let kind = [header[4], header[5], header[6], header[7]];
        let (size, header_len) = match size32 {
            0 => (end - at, 8),
            1 => {
                let mut large = [0u8; 8];
                r.read_exact(&mut large)?;
                (u64::from_be_bytes(large), 16)
            }
            s => (s, 8),
        };
        if size < header_len {
            return Err(corrupt(format!(
                "a {} box of {size} bytes is shorter than its header",
                String::from_utf8_lossy(&kind)
            )));
        }
        if at.saturating_add(size) > end {
            // A media-data box cut short at the top level is a truncated
            // upload (its samples are streamed, never allocated whole);
            // any other box running past its parent states a size the
            // demuxer would allocate (found by fuzzing: an `hdlr` of 3.3 GB
            // and an `stbl` past its `minf`).
            if depth == 0 && &kind == b"mdat" {
                return Ok(());
            }
            return Err(corrupt(format!(
                "a {} box of {size} bytes runs past its parent",
                String::from_utf8_lossy(&kind)
            )));
        }
        let body = at + header_len;
        let body_len = size - header_len;
        if CONTAINERS.contains(&&kind) {
            walk(r, body, at + size, depth + 1, boxes)?;
        } else if let Some(entry) = entry_size(&kind) {
            check_table(r, &kind, body, body_len, entry, end)?;
        }
        at += size;
    }
    Ok(())
}

/// How a table box's entries are laid out after its 4-byte version/flags.
enum Entry {
    /// `count` then entries of this many bytes.
    Fixed(u64),
    /// `stsz`: `sample_size` then `count`, 4-byte entries when the size is 0.
    SampleSizes,
    /// `elst`: 12-byte entries in version 0, 20 in version 1.
    EditList,
    /// `stsd`: entries of at least 8 bytes (each a box).
    Descriptions,
}

fn entry_size(kind: &[u8; 4]) -> Option<Entry> {
    Some(match kind {
        b"stsc" => Entry::Fixed(12),
        b"stts" | b"ctts" | b"co64" => Entry::Fixed(8),
        b"stco" | b"stss" => Entry::Fixed(4),
        b"stsz" => Entry::SampleSizes,
        b"elst" => Entry::EditList,
        b"stsd" => Entry::Descriptions,
        _ => return None,
    })
}

fn check_table<R: Read + Seek>(
    r: &mut R,
    kind: &[u8; 4],
    body: u64,
    body_len: u64,
    entry: Entry,
    file_len: u64,
) -> Result<(), MediaError> {
    let name = String::from_utf8_lossy(kind).into_owned();
    let mut head = [0u8; 12];
    let need = if matches!(entry, Entry::SampleSizes) {
        12
    } else {
        8
    };
    if body_len < need {
        return Err(corrupt(format!("the {name} box is too short")));
    }
    r.seek(SeekFrom::Start(body))?;
    r.read_exact(&mut head[..need as usize])?;
    let word =
        |i: usize| u32::from_be_bytes([head[i], head[i + 1], head[i + 2], head[i + 3]]) as u64;
    let version = head[0];
    let (count, each, table_len) = match entry {
        Entry::Fixed(n) => (word(4), n, body_len - 8),
        Entry::Descriptions => (word(4), 8, body_len - 8),
        Entry::EditList => (word(4), if version == 1 { 20 } else { 12 }, body_len - 8),
        Entry::SampleSizes => {
            let (sample_size, count) = (word(4), word(8));
            // No sample is larger than the file: the demuxer allocates a
            // packet of the stated size before reading it.
            let too_large = |size: u64| {
                corrupt(format!(
                    "a sample of {size} bytes in a file of {file_len} bytes"
                ))
            };
            if sample_size != 0 {
                // One size for every sample: there is no table to size.
                return if sample_size > file_len {
                    Err(too_large(sample_size))
                } else {
                    Ok(())
                };
            }
            if count.saturating_mul(4) <= body_len - 12 {
                let mut sizes = vec![0u8; (count * 4) as usize];
                r.read_exact(&mut sizes)?;
                if let Some(big) = sizes
                    .chunks_exact(4)
                    .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as u64)
                    .find(|&n| n > file_len)
                {
                    return Err(too_large(big));
                }
            }
            (count, 4, body_len - 12)
        }
    };
    if count.saturating_mul(each) > table_len {
        return Err(corrupt(format!(
            "the {name} table claims {count} entries of {each} bytes in {table_len} bytes"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn bx(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut v = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        v.extend_from_slice(kind);
        v.extend_from_slice(body);
        v
    }

    fn file(stbl_children: &[u8]) -> Vec<u8> {
        let mut f = bx(b"ftyp", b"isom\0\0\0\0");
        let stbl = bx(b"stbl", stbl_children);
        let minf = bx(b"minf", &stbl);
        let mdia = bx(b"mdia", &minf);
        let trak = bx(b"trak", &mdia);
        f.extend(bx(b"moov", &trak));
        f
    }

    #[test]
    fn tables_that_fit_pass_and_claims_beyond_the_box_fail() {
        // stco: 2 entries of 4 bytes.
        let ok = bx(b"stco", &[0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2]);
        assert!(check(&mut Cursor::new(file(&ok))).is_ok());
        let lying = bx(b"stco", &[0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 1]);
        let err = check(&mut Cursor::new(file(&lying))).unwrap_err();
        assert!(err.to_string().contains("stco"), "{err}");
        // stsz: a table of sizes must hold its count; a constant size has none.
        let sizes = bx(b"stsz", &[0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF]);
        assert!(check(&mut Cursor::new(file(&sizes))).is_err());
        let constant = bx(b"stsz", &[0, 0, 0, 0, 0, 0, 0, 4, 0, 1, 0, 0]);
        assert!(check(&mut Cursor::new(file(&constant))).is_ok());
        // A sample larger than the file (found by fuzzing: a 4 GB packet).
        let huge = bx(b"stsz", &[0, 0, 0, 0, 0xFF, 0xFF, 0, 0, 0, 0, 0, 1]);
        assert!(check(&mut Cursor::new(file(&huge))).is_err());
        let one_huge = bx(
            b"stsz",
            &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xFF, 0, 0, 0],
        );
        assert!(check(&mut Cursor::new(file(&one_huge))).is_err());
    }

    #[test]
    fn the_fuzzers_stsc_claim_is_refused_before_the_demuxer() {
        // 1.7 KB whose stsc claims billions of entries (fuzz/regressions).
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fuzz/regressions/media_decode/stsc-count-97d88693");
        let err = crate::media::decode::AudioDecoder::open(&path)
            .err()
            .expect("refused");
        assert!(matches!(err, MediaError::Corrupt(_)), "{err}");
    }

    #[test]
    fn the_fuzzers_4_gb_sample_is_refused_before_the_demuxer() {
        // An stsz entry stating a 4 GB sample in a small file (fuzz/regressions).
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fuzz/regressions/media_decode/stsz-size-05ecc82a");
        let err = crate::media::decode::AudioDecoder::open(&path)
            .err()
            .expect("refused");
        assert!(matches!(err, MediaError::Corrupt(_)), "{err}");
    }

    #[test]
    fn boxes_past_their_parent_are_refused_but_a_cut_media_data_box_is_not() {
        // An hdlr claiming 3 GB inside its mdia (found by fuzzing).
        let mut hdlr = 0xC400_0000u32.to_be_bytes().to_vec();
        hdlr.extend_from_slice(b"hdlr");
        hdlr.extend_from_slice(&[0; 16]);
        let mut f = bx(b"ftyp", b"isom\0\0\0\0");
        f.extend(bx(b"moov", &bx(b"trak", &bx(b"mdia", &hdlr))));
        let err = check(&mut Cursor::new(f)).unwrap_err();
        assert!(err.to_string().contains("hdlr box"), "{err}");
        // An upload cut in its media data: left to the demuxer.
        let mut cut = bx(b"ftyp", b"isom\0\0\0\0");
        cut.extend(bx(b"moov", &bx(b"trak", &[])));
        cut.extend_from_slice(&4096u32.to_be_bytes());
        cut.extend_from_slice(b"mdat");
        cut.extend_from_slice(&[0; 100]);
        assert!(check(&mut Cursor::new(cut)).is_ok());
    }

    #[test]
    fn the_fuzzers_hdlr_and_stts_files_are_refused_before_the_demuxer() {
        // Found by fuzzing; before this check only the child decoder's
        // memory limit stopped them (fuzz/regressions/media_decode/isolated).
        for name in ["hdlr-size-0b320f4d", "stts-count-08b3b3cc"] {
            let input = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../fuzz/regressions/media_decode/isolated")
                .join(name);
            let bytes = std::fs::read(&input).unwrap();
            // The first byte picks the file's extension in the fuzz target.
            let err = check(&mut Cursor::new(bytes[1..].to_vec())).unwrap_err();
            assert!(
                err.to_string().contains("runs past its parent"),
                "{name}: {err}"
            );
        }
    }

    #[test]
    fn other_files_are_not_touched() {
        let mut wav = Cursor::new(b"RIFF\x24\0\0\0WAVEfmt ".to_vec());
        assert!(check(&mut wav).is_ok());
        assert_eq!(wav.position(), 0);
    }

    #[test]
    fn the_datasets_mp4_files_pass() {
        let root =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets/interviews");
        let mut seen = 0;
        for e in std::fs::read_dir(root).unwrap().flatten() {
            if e.path().extension().is_some_and(|x| x == "mp4") {
                let mut f = std::fs::File::open(e.path()).unwrap();
                check(&mut f).unwrap_or_else(|err| panic!("{}: {err}", e.path().display()));
                seen += 1;
            }
        }
        assert!(seen > 0);
    }
}
