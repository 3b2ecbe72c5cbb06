//! The byte-level walk before dicom-rs sees a data set: every element header's declared
//! length checked against the bytes that remain, the file meta group, deflate under limits.

use super::*;

/// VRs with a 2-byte reserved field and a 4-byte length in explicit encodings: every VR but
/// the standard short ones. An unknown VR is read as UN (PS3.5 6.2.2), as dicom-rs reads it,
/// so the lengths checked here are the lengths it will allocate for.
pub(super) fn long_vr(vr: &[u8]) -> bool {
    !matches!(
        vr,
        b"AE"
            | b"AS"
            | b"AT"
            | b"CS"
            | b"DA"
            | b"DS"
            | b"DT"
            | b"FD"
            | b"FL"
            | b"IS"
            | b"LO"
            | b"LT"
            | b"PN"
            | b"SH"
            | b"SL"
            | b"SS"
            | b"ST"
            | b"TM"
            | b"UI"
            | b"UL"
            | b"US"
    )
}

pub(super) struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
    enc: Encoding,
}

impl Reader<'_> {
    fn u16(&self, at: usize) -> u16 {
        let v = [self.b[at], self.b[at + 1]];
        if self.enc.big_endian {
            u16::from_be_bytes(v)
        } else {
            u16::from_le_bytes(v)
        }
    }
    fn u32(&self, at: usize) -> u32 {
        let v = [self.b[at], self.b[at + 1], self.b[at + 2], self.b[at + 3]];
        if self.enc.big_endian {
            u32::from_be_bytes(v)
        } else {
            u32::from_le_bytes(v)
        }
    }
    fn remaining(&self) -> usize {
        self.b.len() - self.pos
    }
    /// The next element header: (group, element, vr, length, header size).
    fn header(&self) -> Result<(u16, u16, [u8; 2], u32, usize)> {
        let p = self.pos;
        if self.remaining() < 8 {
            return Err(truncated(p));
        }
        let (g, e) = (self.u16(p), self.u16(p + 2));
        if g == 0xFFFE || !self.enc.explicit {
            return Ok((g, e, *b"  ", self.u32(p + 4), 8));
        }
        let vr = [self.b[p + 4], self.b[p + 5]];
        if long_vr(&vr) {
            if self.remaining() < 12 {
                return Err(truncated(p));
            }
            Ok((g, e, vr, self.u32(p + 8), 12))
        } else {
            Ok((g, e, vr, u32::from(self.u16(p + 6)), 8))
        }
    }
}

pub(super) fn truncated(at: usize) -> crate::error::Error {
    err!(ImageDecode, "DICOM: truncated at byte {at}")
}

pub(super) const UNDEFINED: u32 = 0xFFFF_FFFF;

/// Walk every element header of a data set: each declared length must fit in the bytes that
/// remain, and the element and fragment counts stay under [`MAX_ELEMENTS`] / [`MAX_FRAGMENTS`].
/// Returns the number of fragments seen.
pub(super) fn prescan(b: &[u8], enc: Encoding) -> Result<usize> {
    let mut r = Reader { b, pos: 0, enc };
    let mut elements = 0usize;
    let mut fragments = 0usize;
    // inside encapsulated pixel data, items are fragments (bytes), not element lists
    let mut in_pixel_items = false;
    while r.remaining() > 0 {
        if r.remaining() < 8 {
            // trailing padding shorter than a header
            if b[r.pos..].iter().all(|&x| x == 0) {
                break;
            }
            return Err(truncated(r.pos));
        }
        let (g, e, vr, len, hsize) = r.header()?;
        elements += 1;
        if elements > MAX_ELEMENTS {
            return Err(err!(
                ImageTooLarge,
                "DICOM: more than {MAX_ELEMENTS} elements"
            ));
        }
        r.pos += hsize;
        if g == 0xFFFE {
            match e {
                0xE000 if in_pixel_items => {
                    fragments += 1;
                    if fragments > MAX_FRAGMENTS {
                        return Err(err!(
                            ImageTooLarge,
                            "DICOM: more than {MAX_FRAGMENTS} pixel data fragments"
                        ));
                    }
                    if len == UNDEFINED || len as usize > r.remaining() {
                        return Err(err!(
                            ImageDecode,
                            "DICOM: pixel data fragment of {len} bytes at byte {} overruns the data",
                            r.pos
                        ));
                    }
                    r.pos += len as usize;
                }
                // an item of a sequence: its elements follow (defined length or not)
                0xE000 if len != UNDEFINED && len as usize > r.remaining() => {
                    return Err(err!(
                        ImageDecode,
                        "DICOM: item of {len} bytes at byte {} overruns the data",
                        r.pos
                    ));
                }
                0xE0DD => in_pixel_items = false,
                _ => {}
            }
            continue;
        }
        if len == UNDEFINED {
            // encapsulated pixel data holds fragments; any other undefined-length element
            // (an undefined-length UN included) is read by dicom-rs as a sequence in the data
            // set's own encoding, so its items are walked here in that encoding too
            if (g, e) == (0x7FE0, 0x0010) {
                in_pixel_items = true;
            }
            continue;
        }
        if enc.explicit && &vr == b"SQ" || !enc.explicit && is_implicit_sq(g, e) {
            // defined-length sequence: its items follow and are walked too
            if len as usize > r.remaining() {
                return Err(err!(
                    ImageDecode,
                    "DICOM: sequence ({g:04X},{e:04X}) of {len} bytes overruns the data"
                ));
            }
            continue;
        }
        if len as usize > r.remaining() {
            return Err(err!(
                ImageDecode,
                "DICOM: element ({g:04X},{e:04X}) declares {len} bytes, {} remain",
                r.remaining()
            ));
        }
        r.pos += len as usize;
    }
    if in_pixel_items {
        // encapsulated pixel data must end with its sequence delimiter: without it the
        // file was cut short, and the last frame may be incomplete
        return Err(err!(
            ImageDecode,
            "DICOM: encapsulated pixel data ends without its sequence delimiter (truncated file)"
        ));
    }
    Ok(fragments)
}

/// Whether an implicit VR element is a sequence, decided as dicom-rs decides it: by the
/// standard dictionary (Pixel Data and Overlay Data are OW whatever it says). dicom-rs walks
/// the items of every such sequence and allocates each element inside by its declared length,
/// so the length pass must walk them too.
pub(super) fn is_implicit_sq(g: u16, e: u16) -> bool {
    if (g, e) == (0x7FE0, 0x0010) || (g >> 8 == 0x60 && e == 0x3000) {
        return false;
    }
    StandardDataDictionary
        .by_tag(Tag(g, e))
        .is_some_and(|entry| entry.vr.relaxed() == VR::SQ)
}

/// Read the file meta group (explicit VR little endian, group 0002) starting at `at`;
/// returns the transfer syntax UID and where the data set starts.
pub(super) fn read_meta(b: &[u8], at: usize) -> Result<(String, usize)> {
    let mut r = Reader {
        b,
        pos: at,
        enc: Encoding {
            explicit: true,
            big_endian: false,
        },
    };
    let mut ts = None;
    while r.remaining() >= 8 && r.u16(r.pos) == 0x0002 {
        let (_, e, _, len, h) = r.header()?;
        if len == UNDEFINED || len as usize > r.remaining() - h {
            return Err(err!(
                ImageDecode,
                "DICOM: file meta element (0002,{e:04X}) overruns the data"
            ));
        }
        let v = &b[r.pos + h..r.pos + h + len as usize];
        if e == 0x0010 {
            let s = String::from_utf8_lossy(v);
            ts = Some(s.trim_end_matches(['\0', ' ']).trim().to_string());
        }
        r.pos += h + len as usize;
    }
    let ts = ts.ok_or_else(|| err!(ImageDecode, "DICOM: file meta has no Transfer Syntax UID"))?;
    Ok((ts, r.pos))
}

#[cfg(not(feature = "dicom-deflate"))]
pub(super) fn inflate(_: &[u8], _: &ImageLimits) -> Result<Vec<u8>> {
    Err(unsupported(TS_DEFLATED, None))
}

#[cfg(feature = "dicom-deflate")]
pub(super) fn inflate(b: &[u8], limits: &ImageLimits) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let cap = limits.max_alloc;
    flate2::read::DeflateDecoder::new(b)
        .take(cap + 1)
        .read_to_end(&mut out)
        .map_err(|_| err!(ImageDecode, "DICOM: the deflated data set is corrupt"))?;
    if out.len() as u64 > cap {
        return Err(err!(
            ImageTooLarge,
            "DICOM: the deflated data set inflates beyond {cap} bytes"
        ));
    }
    Ok(out)
}
