//! Recognising DICOM bytes by content (compiled whatever the features, so that DICOM input
//! to a build without DICOM is named as such and never reaches the PNG/JPEG decoders).

/// How a data set is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Encoding {
    pub(crate) explicit: bool,
    pub(crate) big_endian: bool,
}

const VRS: [&[u8; 2]; 34] = [
    b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FL", b"FD", b"IS", b"LO", b"LT", b"OB",
    b"OD", b"OF", b"OL", b"OV", b"OW", b"PN", b"SH", b"SL", b"SQ", b"SS", b"ST", b"SV", b"TM",
    b"UC", b"UI", b"UL", b"UN", b"UR", b"US", b"UT", b"UV",
];

fn is_vr(b: &[u8]) -> bool {
    b.len() >= 2 && VRS.iter().any(|v| v[..] == b[..2])
}

/// A data set without preamble and file meta: its encoding, guessed from the first element.
pub(crate) fn raw_dataset(b: &[u8]) -> Option<Encoding> {
    if b.len() < 8 {
        return None;
    }
    let le_group = u16::from_le_bytes([b[0], b[1]]);
    let be_group = u16::from_be_bytes([b[0], b[1]]);
    let groups = [0x0002u16, 0x0008];
    if groups.contains(&le_group) {
        if is_vr(&b[4..6]) {
            return Some(Encoding {
                explicit: true,
                big_endian: false,
            });
        }
        let len = u32::from_le_bytes([b[4], b[5], b[6], b[7]]) as usize;
        return (len <= b.len() - 8).then_some(Encoding {
            explicit: false,
            big_endian: false,
        });
    }
    if groups.contains(&be_group) && is_vr(&b[4..6]) {
        return Some(Encoding {
            explicit: true,
            big_endian: true,
        });
    }
    None
}

/// Whether `bytes` look like DICOM: a Part 10 file (128-byte preamble then `DICM`), `DICM`
/// at the start (preamble missing), or a bare data set starting with a group 0002 or 0008
/// element. PNG and JPEG never match.
pub fn is_dicom(bytes: &[u8]) -> bool {
    (bytes.len() >= 132 && &bytes[128..132] == b"DICM")
        || bytes.starts_with(b"DICM")
        || raw_dataset(bytes).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detection() {
        let mut p10 = vec![0u8; 132];
        p10[128..132].copy_from_slice(b"DICM");
        assert!(is_dicom(&p10));
        assert!(is_dicom(b"DICM\x02\x00\x00\x00UL\x04\x00"));
        // explicit LE data set starting at (0008,0005) CS
        assert!(is_dicom(b"\x08\x00\x05\x00CS\x0a\x00ISO_IR 100"));
        assert!(!is_dicom(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"));
        assert!(!is_dicom(&[
            0xFF, 0xD8, 0xFF, 0xE0, 0, 16, b'J', b'F', b'I', b'F'
        ]));
        assert!(!is_dicom(b"short"));
    }
}
