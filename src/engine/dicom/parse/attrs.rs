//! The attributes scoring reads from a parsed data set: typed getters, LUTs, the palette,
//! native pixel bytes, and the image description checked against the pixel data.

use super::*;

pub(super) type Obj = InMemDicomObject;

pub(super) const T_SOP_INSTANCE_UID: Tag = Tag(0x0008, 0x0018);
pub(super) const T_MODALITY: Tag = Tag(0x0008, 0x0060);
pub(super) const T_SPP: Tag = Tag(0x0028, 0x0002);
pub(super) const T_PHOTOMETRIC: Tag = Tag(0x0028, 0x0004);
pub(super) const T_PLANAR: Tag = Tag(0x0028, 0x0006);
pub(super) const T_FRAMES: Tag = Tag(0x0028, 0x0008);
pub(super) const T_ROWS: Tag = Tag(0x0028, 0x0010);
pub(super) const T_COLS: Tag = Tag(0x0028, 0x0011);
pub(super) const T_BITS_ALLOCATED: Tag = Tag(0x0028, 0x0100);
pub(super) const T_BITS_STORED: Tag = Tag(0x0028, 0x0101);
pub(super) const T_HIGH_BIT: Tag = Tag(0x0028, 0x0102);
pub(super) const T_PIXEL_REPRESENTATION: Tag = Tag(0x0028, 0x0103);
pub(super) const T_WINDOW_CENTER: Tag = Tag(0x0028, 0x1050);
pub(super) const T_WINDOW_WIDTH: Tag = Tag(0x0028, 0x1051);
pub(super) const T_RESCALE_INTERCEPT: Tag = Tag(0x0028, 0x1052);
pub(super) const T_RESCALE_SLOPE: Tag = Tag(0x0028, 0x1053);
pub(super) const T_WINDOW_EXPLANATION: Tag = Tag(0x0028, 0x1055);
pub(super) const T_VOI_FUNCTION: Tag = Tag(0x0028, 0x1056);
pub(super) const T_MODALITY_LUT_SEQ: Tag = Tag(0x0028, 0x3000);
pub(super) const T_LUT_DESCRIPTOR: Tag = Tag(0x0028, 0x3002);
pub(super) const T_LUT_EXPLANATION: Tag = Tag(0x0028, 0x3003);
pub(super) const T_LUT_DATA: Tag = Tag(0x0028, 0x3006);
pub(super) const T_VOI_LUT_SEQ: Tag = Tag(0x0028, 0x3010);
pub(super) const T_PIXEL_DATA: Tag = Tag(0x7FE0, 0x0010);

pub(super) fn name(t: Tag) -> &'static str {
    match t {
        T_SPP => "Samples per Pixel",
        T_PHOTOMETRIC => "Photometric Interpretation",
        T_ROWS => "Rows",
        T_COLS => "Columns",
        T_BITS_ALLOCATED => "Bits Allocated",
        T_BITS_STORED => "Bits Stored",
        T_LUT_DESCRIPTOR => "LUT Descriptor",
        T_LUT_DATA => "LUT Data",
        _ => "attribute",
    }
}

pub(super) fn bad(t: Tag) -> crate::error::Error {
    err!(
        ImageDecode,
        "DICOM: {} ({:04X},{:04X}) is missing or malformed",
        name(t),
        t.0,
        t.1
    )
}

pub(super) fn get_u32(o: &Obj, t: Tag) -> Result<Option<u32>> {
    match o.get(t) {
        None => Ok(None),
        Some(e) if e.value().primitive().is_some_and(|p| p.is_empty()) => Ok(None),
        Some(e) => e.to_int::<u32>().map(Some).map_err(|_| bad(t)),
    }
}

pub(super) fn req_u32(o: &Obj, t: Tag) -> Result<u32> {
    get_u32(o, t)?.ok_or_else(|| bad(t))
}

pub(super) fn get_str(o: &Obj, t: Tag) -> Option<String> {
    let s = o.get(t)?.to_str().ok()?;
    let s = s.trim_end_matches(['\0', ' ']).trim();
    (!s.is_empty()).then(|| s.to_string())
}

pub(super) fn get_f64s(o: &Obj, t: Tag) -> Result<Vec<f64>> {
    match o.get(t) {
        None => Ok(Vec::new()),
        Some(e) if e.value().primitive().is_some_and(|p| p.is_empty()) => Ok(Vec::new()),
        Some(e) => e.to_multi_float64().map_err(|_| bad(t)),
    }
}

pub(super) fn get_f64(o: &Obj, t: Tag) -> Result<Option<f64>> {
    Ok(get_f64s(o, t)?.first().copied())
}

/// u16 values of a LUT data element (US / OW), in their numeric value.
pub(super) fn u16_values(o: &Obj, t: Tag) -> Result<Vec<u16>> {
    let e = o.get(t).ok_or_else(|| bad(t))?;
    match e.value() {
        Value::Primitive(PrimitiveValue::U16(v)) => Ok(v.to_vec()),
        Value::Primitive(PrimitiveValue::I16(v)) => Ok(v.iter().map(|&x| x as u16).collect()),
        Value::Primitive(PrimitiveValue::U8(v)) => Ok(v
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect()),
        _ => e.to_multi_int::<u16>().map_err(|_| bad(t)),
    }
}

/// LUT Descriptor: (entries, first mapped value, bits), entries 0 meaning 65536.
pub(super) fn descriptor(o: &Obj, t: Tag) -> Result<(usize, i64, u16)> {
    let e = o.get(t).ok_or_else(|| bad(t))?;
    let v = e.to_multi_int::<i64>().map_err(|_| bad(t))?;
    if v.len() != 3 {
        return Err(bad(t));
    }
    let n = if v[0] == 0 { 65536 } else { v[0] as usize };
    // US entries above 32767 are negative first values written as US (PS3.3 C.11.1.1.1)
    let bits = u16::try_from(v[2]).map_err(|_| bad(t))?;
    if n > 65536 || bits == 0 || bits > 16 {
        return Err(bad(t));
    }
    Ok((n, v[1], bits))
}

pub(super) fn lut_item(item: &Obj) -> Result<Lut> {
    let (n, first, bits) = descriptor(item, T_LUT_DESCRIPTOR)?;
    let mut data = u16_values(item, T_LUT_DATA)?;
    if data.len() < n {
        // 8-bit entries packed two per 16-bit word
        if bits == 8 && data.len() * 2 >= n {
            data = data
                .iter()
                .flat_map(|w| w.to_le_bytes())
                .map(u16::from)
                .collect();
        } else {
            return Err(err!(
                ImageDecode,
                "DICOM: LUT Data has {} entries, its descriptor says {n}",
                data.len()
            ));
        }
    }
    data.truncate(n);
    Ok(Lut {
        first,
        bits,
        data,
        explanation: get_str(item, T_LUT_EXPLANATION),
    })
}

pub(super) fn seq_items(o: &Obj, t: Tag) -> &[Obj] {
    o.get(t).and_then(|e| e.value().items()).unwrap_or(&[])
}

pub(super) fn palette(o: &Obj) -> Result<[Lut; 3]> {
    let mut out = Vec::with_capacity(3);
    for c in 0..3u16 {
        let dt = Tag(0x0028, 0x1101 + c);
        let (n, first, bits) = descriptor(o, dt)?;
        let seg = Tag(0x0028, 0x1221 + c);
        let mut depth = bits;
        let data = if o.get(seg).is_some() {
            let mut words = u16_values(o, seg)?;
            if bits == 8 {
                words = words
                    .iter()
                    .flat_map(|w| w.to_le_bytes())
                    .map(u16::from)
                    .collect();
            }
            super::super::lut::expand_segmented(&words, n)?
        } else {
            let t = Tag(0x0028, 0x1201 + c);
            let mut d = u16_values(o, t)?;
            // the entry depth pydicom uses is the data's: 16 unless 8-bit entries are packed
            depth = 16;
            if d.len() * 2 == n {
                d = d
                    .iter()
                    .flat_map(|w| w.to_le_bytes())
                    .map(u16::from)
                    .collect();
                depth = 8;
            }
            if d.len() < n {
                return Err(err!(
                    ImageDecode,
                    "DICOM: palette LUT {c} has {} entries, its descriptor says {n}",
                    d.len()
                ));
            }
            d.truncate(n);
            d
        };
        out.push(Lut {
            first,
            bits: depth,
            data,
            explanation: None,
        });
    }
    let [r, g, b]: [Lut; 3] = out
        .try_into()
        .map_err(|_| err!(ImageDecode, "DICOM: palette"))?;
    Ok([r, g, b])
}

/// Native pixel bytes and their byte order. dicom-rs holds OW values as numbers: in a big
/// endian file their little-endian bytes are what pydicom reads for 8- and 16-bit samples
/// (OW is a stream of 16-bit words); 32-bit samples need the file's own byte order back.
pub(super) fn native_bytes(
    v: &PrimitiveValue,
    big_endian: bool,
    bits_allocated: u32,
) -> (Vec<u8>, bool) {
    match v {
        PrimitiveValue::U16(w) if big_endian && bits_allocated == 32 => {
            (w.iter().flat_map(|x| x.to_be_bytes()).collect(), true)
        }
        PrimitiveValue::U16(w) => (w.iter().flat_map(|x| x.to_le_bytes()).collect(), false),
        PrimitiveValue::I16(w) => (w.iter().flat_map(|x| x.to_le_bytes()).collect(), false),
        PrimitiveValue::U32(w) => (w.iter().flat_map(|x| x.to_le_bytes()).collect(), false),
        PrimitiveValue::I32(w) => (w.iter().flat_map(|x| x.to_le_bytes()).collect(), false),
        PrimitiveValue::F32(w) => (w.iter().flat_map(|x| x.to_le_bytes()).collect(), false),
        // OB: the file's bytes as they are
        other => (other.to_bytes().into_owned(), big_endian),
    }
}

pub(super) fn read_image(o: &Obj) -> Result<ImageInfo> {
    let photometric =
        Photometric::parse(&get_str(o, T_PHOTOMETRIC).ok_or_else(|| bad(T_PHOTOMETRIC))?)?;
    let bits_stored = req_u32(o, T_BITS_STORED)?;
    let frames = match get_str(o, Tag(0x0028, 0x0008)) {
        None => 1,
        Some(s) => s.trim().parse::<u32>().map_err(|_| bad(T_FRAMES))?,
    };
    let centers = get_f64s(o, T_WINDOW_CENTER)?;
    let widths = get_f64s(o, T_WINDOW_WIDTH)?;
    let explanations: Vec<String> = o
        .get(T_WINDOW_EXPLANATION)
        .and_then(|e| e.to_multi_str().ok())
        .map(|v| v.iter().map(|s| s.trim().to_string()).collect())
        .unwrap_or_default();
    let windows = if centers.len() == widths.len() {
        centers
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (&c, &w))| (c, w, explanations.get(i).cloned()))
            .collect()
    } else {
        return Err(err!(
            ImageDecode,
            "DICOM: {} window centers for {} widths",
            centers.len(),
            widths.len()
        ));
    };
    let modality_lut = match seq_items(o, T_MODALITY_LUT_SEQ).first() {
        Some(item) => Some(lut_item(item)?),
        None => None,
    };
    let voi_luts = seq_items(o, T_VOI_LUT_SEQ)
        .iter()
        .map(lut_item)
        .collect::<Result<Vec<_>>>()?;
    Ok(ImageInfo {
        rows: req_u32(o, T_ROWS)?,
        cols: req_u32(o, T_COLS)?,
        spp: get_u32(o, T_SPP)?.unwrap_or(1),
        photometric,
        bits_allocated: req_u32(o, T_BITS_ALLOCATED)?,
        bits_stored,
        high_bit: get_u32(o, T_HIGH_BIT)?.unwrap_or(bits_stored.saturating_sub(1)),
        signed: get_u32(o, T_PIXEL_REPRESENTATION)?.unwrap_or(0) == 1,
        planar: get_u32(o, T_PLANAR)?.unwrap_or(0) == 1,
        number_of_frames: frames,
        rescale: rescale_of(
            get_f64(o, T_RESCALE_SLOPE)?,
            get_f64(o, T_RESCALE_INTERCEPT)?,
        ),
        modality_lut,
        windows,
        voi_function: get_str(o, T_VOI_FUNCTION).as_deref().map(voi_function),
        voi_luts,
        palette: if photometric == Photometric::Palette {
            Some(palette(o)?)
        } else {
            None
        },
    })
}
