//! Sequential DCT JPEG with 12-bit samples (DICOM JPEG Extended, process 2 and 4), which
//! jpeg-decoder refuses: Huffman entropy coding, 8- or 16-bit quantization tables, restart
//! intervals, any number of components without subsampling (DICOM 12-bit JPEG is grayscale),
//! a double-precision inverse DCT, level shift `2^(P-1)`, rounding and clipping to `[0, 2^P)`.

use crate::engine::image::ImageLimits;
use crate::error::{err, Result};

const ZIGZAG: [usize; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
    13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59,
    52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

fn corrupt(what: &str) -> crate::error::Error {
    err!(ImageDecode, "DICOM: 12-bit JPEG data is corrupt ({what})")
}

#[derive(Clone, Default)]
struct Huffman {
    // canonical decoding tables per code length 1..=16
    maxcode: [i32; 18],
    valptr: [i32; 17],
    mincode: [i32; 17],
    values: Vec<u8>,
}

impl Huffman {
    fn new(counts: &[u8; 16], values: Vec<u8>) -> Huffman {
        let mut h = Huffman {
            values,
            ..Default::default()
        };
        let (mut code, mut k) = (0i32, 0i32);
        for l in 1..=16 {
            let n = i32::from(counts[l - 1]);
            if n == 0 {
                h.maxcode[l] = -1;
            } else {
                h.valptr[l] = k;
                h.mincode[l] = code;
                code += n;
                k += n;
                h.maxcode[l] = code - 1;
            }
            code <<= 1;
        }
        h.maxcode[17] = i32::MAX;
        h
    }
}

struct Bits<'a> {
    d: &'a [u8],
    pos: usize,
    acc: u32,
    n: u32,
    hit_marker: bool,
}

impl Bits<'_> {
    fn bit(&mut self) -> u32 {
        if self.n == 0 {
            let mut b = 0u8;
            if !self.hit_marker && self.pos < self.d.len() {
                b = self.d[self.pos];
                if b == 0xFF {
                    match self.d.get(self.pos + 1) {
                        Some(0) => self.pos += 2,
                        _ => {
                            self.hit_marker = true;
                            b = 0;
                        }
                    }
                } else {
                    self.pos += 1;
                }
            }
            self.acc = u32::from(b);
            self.n = 8;
        }
        self.n -= 1;
        (self.acc >> self.n) & 1
    }
    fn bits(&mut self, s: u32) -> i32 {
        let mut v = 0i32;
        for _ in 0..s {
            v = v << 1 | self.bit() as i32;
        }
        v
    }
    fn decode(&mut self, h: &Huffman) -> Result<u8> {
        let mut code = self.bit() as i32;
        for l in 1..=16 {
            if code <= h.maxcode[l] {
                let i = (h.valptr[l] + code - h.mincode[l]) as usize;
                return h
                    .values
                    .get(i)
                    .copied()
                    .ok_or_else(|| corrupt("Huffman value"));
            }
            code = code << 1 | self.bit() as i32;
        }
        Err(corrupt("Huffman code"))
    }
    /// Skip to the next RSTn marker and restart the bit stream.
    fn restart(&mut self) {
        self.n = 0;
        self.hit_marker = false;
        while self.pos + 1 < self.d.len() {
            if self.d[self.pos] == 0xFF && (0xD0..=0xD7).contains(&self.d[self.pos + 1]) {
                self.pos += 2;
                return;
            }
            self.pos += 1;
        }
    }
}

fn extend(v: i32, s: u32) -> i32 {
    if s == 0 {
        0
    } else if v < 1 << (s - 1) {
        v - (1 << s) + 1
    } else {
        v
    }
}

struct Comp {
    id: u8,
    tq: usize,
    td: usize,
    ta: usize,
}

/// Decode: (width, height, components, samples interleaved).
pub fn decode(data: &[u8], limits: &ImageLimits) -> Result<(u32, u32, u32, Vec<u16>)> {
    if !data.starts_with(&[0xFF, 0xD8]) {
        return Err(corrupt("no SOI"));
    }
    let mut qt = [[0u16; 64]; 4];
    let mut dc: Vec<Huffman> = vec![Huffman::default(); 4];
    let mut ac: Vec<Huffman> = vec![Huffman::default(); 4];
    let (mut width, mut height, mut precision) = (0usize, 0usize, 0u32);
    let mut comps: Vec<Comp> = Vec::new();
    let mut restart = 0usize;
    let mut i = 2usize;
    let seg = |i: usize| -> Result<(u8, &[u8])> {
        if i + 4 > data.len() || data[i] != 0xFF {
            return Err(corrupt("marker"));
        }
        let len = usize::from(u16::from_be_bytes([data[i + 2], data[i + 3]]));
        let body = data
            .get(i + 4..i + 2 + len)
            .filter(|_| len >= 2)
            .ok_or_else(|| corrupt("segment length"))?;
        Ok((data[i + 1], body))
    };
    loop {
        while data.get(i) == Some(&0xFF) && data.get(i + 1) == Some(&0xFF) {
            i += 1;
        }
        let (m, body) = seg(i)?;
        match m {
            0xDB => read_dqt(body, &mut qt)?,
            0xC4 => read_dht(body, &mut dc, &mut ac)?,
            0xC0 | 0xC1 => {
                (width, height, precision) = read_sof(body, limits, &mut comps)?;
            }
            0xC2 | 0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => {
                return Err(err!(
                    ImageDecode,
                    "DICOM: this JPEG process is not supported with 12-bit samples"
                ))
            }
            0xDD => {
                restart = usize::from(u16::from_be_bytes([
                    *body.first().ok_or_else(|| corrupt("DRI"))?,
                    *body.get(1).ok_or_else(|| corrupt("DRI"))?,
                ]));
            }
            0xDA => {
                read_sos(body, &mut comps)?;
                let start = i + 2 + usize::from(u16::from_be_bytes([data[i + 2], data[i + 3]]));
                return scan(
                    &data[start..],
                    width,
                    height,
                    precision,
                    &comps,
                    &qt,
                    &dc,
                    &ac,
                    restart,
                );
            }
            0xD9 => return Err(corrupt("no scan")),
            _ => {}
        }
        i += 2 + body.len() + 2;
    }
}

/// DQT: the quantization tables it defines, in natural order.
fn read_dqt(body: &[u8], qt: &mut [[u16; 64]; 4]) -> Result<()> {
    let mut p = 0;
    while p < body.len() {
        let (pq, tq) = (body[p] >> 4, usize::from(body[p] & 15) & 3);
        p += 1;
        for z in 0..64 {
            let v = if pq == 0 {
                body.get(p + z).map(|&b| u16::from(b))
            } else {
                body.get(p + 2 * z..p + 2 * z + 2)
                    .map(|b| u16::from_be_bytes([b[0], b[1]]))
            };
            qt[tq][ZIGZAG[z]] = v.ok_or_else(|| corrupt("DQT"))?;
        }
        p += if pq == 0 { 64 } else { 128 };
    }
    Ok(())
}

/// DHT: the DC and AC Huffman tables it defines.
fn read_dht(body: &[u8], dc: &mut [Huffman], ac: &mut [Huffman]) -> Result<()> {
    let mut p = 0;
    while p + 17 <= body.len() {
        let (tc, th) = (body[p] >> 4, usize::from(body[p] & 15) & 3);
        let mut counts = [0u8; 16];
        counts.copy_from_slice(&body[p + 1..p + 17]);
        let n: usize = counts.iter().map(|&c| usize::from(c)).sum();
        let vals = body
            .get(p + 17..p + 17 + n)
            .ok_or_else(|| corrupt("DHT"))?
            .to_vec();
        let h = Huffman::new(&counts, vals);
        if tc == 0 {
            dc[th] = h;
        } else {
            ac[th] = h;
        }
        p += 17 + n;
    }
    Ok(())
}

/// SOF0/SOF1: the frame size and precision; its components are added to `comps`.
fn read_sof(
    body: &[u8],
    limits: &ImageLimits,
    comps: &mut Vec<Comp>,
) -> Result<(usize, usize, u32)> {
    if body.len() < 6 {
        return Err(corrupt("SOF"));
    }
    let precision = u32::from(body[0]);
    let height = usize::from(u16::from_be_bytes([body[1], body[2]]));
    let width = usize::from(u16::from_be_bytes([body[3], body[4]]));
    let nf = usize::from(body[5]);
    if body.len() < 6 + 3 * nf || nf == 0 || !(8..=12).contains(&precision) {
        return Err(corrupt("SOF"));
    }
    for k in 0..nf {
        let c = &body[6 + 3 * k..9 + 3 * k];
        if c[1] != 0x11 {
            return Err(err!(
                ImageDecode,
                "DICOM: subsampled 12-bit JPEG is not supported"
            ));
        }
        comps.push(Comp {
            id: c[0],
            tq: usize::from(c[2] & 3),
            td: 0,
            ta: 0,
        });
    }
    if width == 0 || height == 0 {
        return Err(corrupt("zero size"));
    }
    let need = (width * height * nf) as u64 * 8;
    if need > limits.max_alloc {
        return Err(err!(
            ImageTooLarge,
            "DICOM: JPEG frame {width}x{height} exceeds the allocation limit"
        ));
    }
    Ok((width, height, precision))
}

/// SOS: the Huffman tables of each component (one scan holding every component).
fn read_sos(body: &[u8], comps: &mut [Comp]) -> Result<()> {
    if comps.is_empty() {
        return Err(corrupt("SOS before SOF"));
    }
    let ns = usize::from(*body.first().ok_or_else(|| corrupt("SOS"))?);
    if ns != comps.len() || body.len() < 1 + 2 * ns {
        return Err(err!(
            ImageDecode,
            "DICOM: 12-bit JPEG with several scans is not supported"
        ));
    }
    for k in 0..ns {
        let (cid, t) = (body[1 + 2 * k], body[2 + 2 * k]);
        let c = comps
            .iter_mut()
            .find(|c| c.id == cid)
            .ok_or_else(|| corrupt("SOS component"))?;
        c.td = usize::from(t >> 4) & 3;
        c.ta = usize::from(t & 15) & 3;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn scan(
    d: &[u8],
    width: usize,
    height: usize,
    precision: u32,
    comps: &[Comp],
    qt: &[[u16; 64]; 4],
    dc: &[Huffman],
    ac: &[Huffman],
    restart: usize,
) -> Result<(u32, u32, u32, Vec<u16>)> {
    let nc = comps.len();
    let (bw, bh) = (width.div_ceil(8), height.div_ceil(8));
    let mut out = vec![0u16; width * height * nc];
    let mut bits = Bits {
        d,
        pos: 0,
        acc: 0,
        n: 0,
        hit_marker: false,
    };
    // cos table for the inverse DCT: c[x][u] = C(u) cos((2x+1) u pi / 16) / 2
    let mut cos = [[0f64; 8]; 8];
    for (x, row) in cos.iter_mut().enumerate() {
        for (u, c) in row.iter_mut().enumerate() {
            let cu = if u == 0 { 1.0 / 2f64.sqrt() } else { 1.0 };
            *c = cu * ((2 * x + 1) as f64 * u as f64 * std::f64::consts::PI / 16.0).cos() / 2.0;
        }
    }
    let shift = f64::from(1u32 << (precision - 1));
    let max = f64::from((1u32 << precision) - 1);
    let mut pred = vec![0i32; nc];
    let mut coef = [0i32; 64];
    let mut tmp = [0f64; 64];
    for mcu in 0..bw * bh {
        if restart > 0 && mcu > 0 && mcu % restart == 0 {
            bits.restart();
            pred.iter_mut().for_each(|p| *p = 0);
        }
        let (bx, by) = (mcu % bw, mcu / bw);
        for (ci, c) in comps.iter().enumerate() {
            coef.fill(0);
            let s = u32::from(bits.decode(&dc[c.td])?);
            if s > 16 {
                return Err(corrupt("DC size"));
            }
            let diff = extend(bits.bits(s), s);
            pred[ci] += diff;
            coef[0] = pred[ci] * i32::from(qt[c.tq][0]);
            let mut k = 1;
            while k < 64 {
                let rs = bits.decode(&ac[c.ta])?;
                let (r, s) = (usize::from(rs >> 4), u32::from(rs & 15));
                if s == 0 {
                    if r == 15 {
                        k += 16;
                        continue;
                    }
                    break;
                }
                k += r;
                if k > 63 {
                    return Err(corrupt("AC run"));
                }
                let z = ZIGZAG[k];
                coef[z] = extend(bits.bits(s), s) * i32::from(qt[c.tq][z]);
                k += 1;
            }
            // separable inverse DCT: rows then columns
            for y in 0..8 {
                for (x, cx) in cos.iter().enumerate() {
                    let mut acc = 0f64;
                    for (u, c) in cx.iter().enumerate() {
                        acc += c * f64::from(coef[y * 8 + u]);
                    }
                    tmp[y * 8 + x] = acc;
                }
            }
            for x in 0..8 {
                for (y, cy) in cos.iter().enumerate() {
                    let mut acc = 0f64;
                    for (v, c) in cy.iter().enumerate() {
                        acc += c * tmp[v * 8 + x];
                    }
                    let (px, py) = (bx * 8 + x, by * 8 + y);
                    if px < width && py < height {
                        out[(py * width + px) * nc + ci] =
                            (acc + shift).round().clamp(0.0, max) as u16;
                    }
                }
            }
        }
    }
    Ok((width as u32, height as u32, nc as u32, out))
}
