//! A check of a FLAC stream's metadata blocks before the demuxer reads them.
//!
//! The FLAC demuxer sizes a Vorbis comment's list and each of its strings,
//! and a picture's fields, by the lengths the file states, and allocates
//! them before reading: a 200-byte file stating four billion comments makes
//! it ask for gigabytes (found by fuzzing `media_decode`). A length is only
//! believable when what it counts fits in its block, and a block only when
//! it fits in the file: that is checked here, before probing.

use std::io::{Read, Seek, SeekFrom};

use crate::error::MediaError;

/// How far into a file the probe looks for the `fLaC` marker (the
/// container probe scans for markers rather than reading at offset 0).
const SCAN: u64 = 1 << 20;

/// Most metadata blocks walked in one file.
const MAX_BLOCKS: usize = 10_000;

/// The `VORBIS_COMMENT` block type.
const VORBIS_COMMENT: u8 = 4;
/// The `PICTURE` block type.
const PICTURE: u8 = 6;

fn corrupt(what: String) -> MediaError {
    MediaError::Corrupt(format!("FLAC: {what}"))
}

/// Checks the metadata blocks of a FLAC stream (a file with the `fLaC`
/// marker in its first MiB; any other file passes untouched) and leaves
/// the reader at its start.
///
/// ```
/// use std::io::Cursor;
/// use panelflow_models::media::flac_blocks::check;
/// let mut f = b"fLaC".to_vec();
/// // The last block: a Vorbis comment of 12 bytes claiming 0xFFFFFFFF comments.
/// f.extend_from_slice(&[0x80 | 4, 0, 0, 12]);
/// f.extend_from_slice(&[4, 0, 0, 0]); f.extend_from_slice(b"abcd");
/// f.extend_from_slice(&[0xFF; 4]);
/// assert!(check(&mut Cursor::new(f)).is_err());
/// ```
pub fn check<R: Read + Seek>(r: &mut R) -> Result<(), MediaError> {
    let file_len = r.seek(SeekFrom::End(0))?;
    r.seek(SeekFrom::Start(0))?;
    let mut head = Vec::new();
    r.take(SCAN).read_to_end(&mut head)?;
    let Some(marker) = head.windows(4).position(|w| w == b"fLaC") else {
        r.seek(SeekFrom::Start(0))?;
        return Ok(());
    };
    let mut at = marker as u64 + 4;
    for _ in 0..MAX_BLOCKS {
        if at + 4 > file_len {
            // No audio after the metadata: the demuxer reports it.
            break;
        }
        r.seek(SeekFrom::Start(at))?;
        let mut header = [0u8; 4];
        r.read_exact(&mut header)?;
        let last = header[0] & 0x80 != 0;
        let kind = header[0] & 0x7F;
        let len = u64::from(u32::from_be_bytes([0, header[1], header[2], header[3]]));
        let body = at + 4;
        if body + len > file_len {
            return Err(corrupt(format!(
                "a metadata block of {len} bytes runs past the end of the file ({file_len} bytes)"
            )));
        }
        if kind == VORBIS_COMMENT || kind == PICTURE {
            // At most 16 MiB (a 24-bit length), and within the file.
            let mut block = vec![0u8; len as usize];
            r.read_exact(&mut block)?;
            if kind == VORBIS_COMMENT {
                vorbis_comment(&block)?;
            } else {
                picture(&block)?;
            }
        }
        if last {
            break;
        }
        at = body + len;
    }
    r.seek(SeekFrom::Start(0))?;
    Ok(())
}

/// A cursor over a block that refuses to read past its end.
struct Fields<'a> {
    block: &'a [u8],
    at: usize,
    what: &'static str,
}

impl Fields<'_> {
    fn left(&self) -> usize {
        self.block.len() - self.at
    }

    fn u32(&mut self, little_endian: bool) -> Result<u32, MediaError> {
        let b: [u8; 4] = self
            .block
            .get(self.at..self.at + 4)
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| corrupt(format!("the {} block is cut short", self.what)))?;
        self.at += 4;
        Ok(if little_endian {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    }

    /// Skips a field of `len` bytes the block must hold.
    fn skip(&mut self, len: u32, field: &str) -> Result<(), MediaError> {
        let len = len as usize;
        if len > self.left() {
            return Err(corrupt(format!(
                "the {} block states a {field} of {len} bytes with {} left",
                self.what,
                self.left()
            )));
        }
        self.at += len;
        Ok(())
    }
}

/// A Vorbis comment: vendor length and string, the comment count, then
/// each comment's length and string (lengths little-endian).
fn vorbis_comment(block: &[u8]) -> Result<(), MediaError> {
    let mut f = Fields {
        block,
        at: 0,
        what: "Vorbis comment",
    };
    let vendor = f.u32(true)?;
    f.skip(vendor, "vendor string")?;
    let count = f.u32(true)?;
    // Each comment takes at least its 4-byte length.
    if u64::from(count) * 4 > f.left() as u64 {
        return Err(corrupt(format!(
            "the Vorbis comment block states {count} comments in {} bytes",
            f.left()
        )));
    }
    for _ in 0..count {
        let len = f.u32(true)?;
        f.skip(len, "comment")?;
    }
    Ok(())
}

/// A picture: type, MIME type, description, four dimensions, then the
/// picture data (lengths big-endian).
fn picture(block: &[u8]) -> Result<(), MediaError> {
    let mut f = Fields {
        block,
        at: 0,
        what: "picture",
    };
    f.u32(false)?;
    let mime = f.u32(false)?;
    f.skip(mime, "MIME type")?;
    let description = f.u32(false)?;
    f.skip(description, "description")?;
    for _ in 0..4 {
        f.u32(false)?;
    }
    let data = f.u32(false)?;
    f.skip(data, "picture")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn block(kind: u8, last: bool, body: &[u8]) -> Vec<u8> {
        let len = (body.len() as u32).to_be_bytes();
        let mut v = vec![kind | if last { 0x80 } else { 0 }, len[1], len[2], len[3]];
        v.extend_from_slice(body);
        v
    }

    fn comments(vendor: &str, list: &[&str]) -> Vec<u8> {
        let mut v = (vendor.len() as u32).to_le_bytes().to_vec();
        v.extend_from_slice(vendor.as_bytes());
        v.extend_from_slice(&(list.len() as u32).to_le_bytes());
        for c in list {
            v.extend_from_slice(&(c.len() as u32).to_le_bytes());
            v.extend_from_slice(c.as_bytes());
        }
        v
    }

    fn stream(blocks: &[Vec<u8>]) -> Vec<u8> {
        let mut f = b"fLaC".to_vec();
        f.extend(block(0, false, &[0; 34]));
        for b in blocks {
            f.extend_from_slice(b);
        }
        f.extend_from_slice(&[0xFF, 0xF8, 0, 0]); // a frame's sync code
        f
    }

    #[test]
    fn honest_blocks_pass_and_the_reader_is_rewound() {
        let mut f = Cursor::new(stream(&[block(
            VORBIS_COMMENT,
            true,
            &comments("reference libFLAC", &["TITLE=answer", "ARTIST=x"]),
        )]));
        check(&mut f).unwrap();
        assert_eq!(f.position(), 0);
    }

    #[test]
    fn lengths_beyond_the_block_or_the_file_are_refused() {
        let mut many = comments("v", &[]);
        many.truncate(many.len() - 4);
        many.extend_from_slice(&u32::MAX.to_le_bytes());
        let err = check(&mut Cursor::new(stream(&[block(
            VORBIS_COMMENT,
            true,
            &many,
        )])))
        .unwrap_err();
        assert!(err.to_string().contains("4294967295 comments"), "{err}");

        let mut long = comments("v", &["a=b"]);
        let n = long.len();
        long[n - 7..n - 3].copy_from_slice(&0x4000_0000u32.to_le_bytes());
        assert!(check(&mut Cursor::new(stream(&[block(
            VORBIS_COMMENT,
            true,
            &long
        )])))
        .is_err());

        let mut picture = vec![0, 0, 0, 3];
        picture.extend_from_slice(&[0, 0, 0, 9]);
        picture.extend_from_slice(b"image/png");
        picture.extend_from_slice(&[0; 4 + 16]);
        picture.extend_from_slice(&u32::MAX.to_be_bytes());
        let err = check(&mut Cursor::new(stream(&[block(PICTURE, true, &picture)]))).unwrap_err();
        assert!(err.to_string().contains("picture"), "{err}");

        // A block stating more bytes than the file has.
        let mut cut = b"fLaC".to_vec();
        cut.extend_from_slice(&[0x80 | VORBIS_COMMENT, 0xFF, 0xFF, 0xFF]);
        cut.extend_from_slice(&[0; 64]);
        let err = check(&mut Cursor::new(cut)).unwrap_err();
        assert!(err.to_string().contains("runs past the end"), "{err}");
    }

    #[test]
    fn the_fuzzers_vorbis_comment_is_refused_before_the_demuxer() {
        // Found by fuzzing; before this check only the child decoder's
        // memory limit stopped it (fuzz/regressions/media_decode/isolated).
        let input = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fuzz/regressions/media_decode/isolated/flac-vorbis-comment-1e95dc0a");
        let bytes = std::fs::read(input).unwrap();
        // The first byte picks the file's extension in the fuzz target.
        let err = check(&mut Cursor::new(bytes[1..].to_vec())).unwrap_err();
        assert!(matches!(err, MediaError::Corrupt(_)), "{err}");
    }

    #[test]
    fn other_files_and_the_datasets_flac_pass() {
        assert!(check(&mut Cursor::new(b"RIFF\x24\0\0\0WAVEfmt ".to_vec())).is_ok());
        let jfk =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets/real/jfk.flac");
        check(&mut std::fs::File::open(jfk).unwrap()).unwrap();
    }
}
