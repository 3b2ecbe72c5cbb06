//! Unit tests of the pre-scan of element headers.

use super::prescan::*;
use super::*;

#[test]
fn hostile_length_is_refused_before_allocation() {
    // (0010,0010) PN declaring 0xFFFE bytes in a 20-byte buffer; (7FE0,0010) OB 4 GB
    let pn = b"\x10\x00\x10\x00PN\xfe\xff....";
    let e = prescan(
        pn,
        Encoding {
            explicit: true,
            big_endian: false,
        },
    )
    .unwrap_err();
    assert_eq!(e.code(), "image_decode");
    let ob = b"\xe0\x7f\x10\x00OB\x00\x00\xfe\xff\xff\xff";
    let e = prescan(
        ob,
        Encoding {
            explicit: true,
            big_endian: false,
        },
    )
    .unwrap_err();
    assert!(e.message().contains("declares"), "{}", e.message());
}

const EXPLICIT_LE: Encoding = Encoding {
    explicit: true,
    big_endian: false,
};

#[test]
fn undefined_length_un_is_walked_in_the_data_sets_encoding() {
    // (0009,1000) UN of undefined length, an item of undefined length, then an explicit
    // OB declaring 1.25 GB. dicom-rs reads the item's elements as explicit VR, so the OB's
    // length is what it would allocate; read as implicit, the same bytes declare 16,975
    // and fit the padding that follows
    let mut b = b"\x09\x00\x00\x10UN\x00\x00\xff\xff\xff\xff".to_vec();
    b.extend_from_slice(b"\xfe\xff\x00\xe0\xff\xff\xff\xff");
    b.extend_from_slice(b"\x11\x00\x11\x00OB\x00\x00\x00\x00\x00\x50");
    b.resize(b.len() + 17_000, 0);
    let e = prescan(&b, EXPLICIT_LE).unwrap_err();
    assert!(e.message().contains("declares"), "{}", e.message());
}

#[test]
fn implicit_sequences_are_known_from_the_dictionary() {
    // implicit VR: (0008,1110) Referenced Study Sequence, 24 bytes that fit, holding an
    // item whose (0008,0050) declares 1.25 GB: dicom-rs knows the tag is a sequence and
    // reads into it, so the length pass must too
    let mut b = b"\x08\x00\x10\x11\x18\x00\x00\x00".to_vec();
    b.extend_from_slice(b"\xfe\xff\x00\xe0\x10\x00\x00\x00");
    b.extend_from_slice(b"\x08\x00\x50\x00\x00\x00\x00\x50");
    b.extend_from_slice(b"12345678");
    let implicit = Encoding {
        explicit: false,
        big_endian: false,
    };
    let e = prescan(&b, implicit).unwrap_err();
    assert!(e.message().contains("declares"), "{}", e.message());
    assert!(is_implicit_sq(0x0008, 0x1110));
    assert!(!is_implicit_sq(0x7FE0, 0x0010));
    assert!(!is_implicit_sq(0x0010, 0x0010));
}
