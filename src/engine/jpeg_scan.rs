//! A walk of a Huffman-coded JPEG's entropy-coded data, without decoding pixels: every block
//! of every scan is read symbol by symbol with the file's own tables, baseline, extended
//! and progressive alike, so a scan whose data is corrupt but whose markers are intact is
//! refused (`image_decode`) where a decoder would fill it with grey and still produce a
//! picture that gets a confident score:
//!
//! - a code that is in no table, a DC size above 11, a run past the end of the block;
//! - data that ends (at a marker) before the last MCU of the scan or of a restart interval;
//! - a restart interval followed by anything but the expected `RSTn` marker;
//! - whole bytes of data left over after the last MCU of a scan.
//!
//! Padding bits (the end of a byte before a marker) are not checked: encoders differ.
//! Arithmetic-coded and lossless files are left to the decoder.

use crate::error::{err, Result};

/// One Huffman table: codes of each length in order (JPEG's canonical code).
#[derive(Clone, Default)]
struct Huffman {
    /// `count[l]`: codes of length `l + 1`.
    count: [u16; 16],
    symbols: Vec<u8>,
}

impl Huffman {
    fn decode(&self, bits: &mut Bits<'_>) -> Result<u8> {
        let (mut code, mut first, mut index) = (0i32, 0i32, 0i32);
        for &c in &self.count {
            code |= i32::from(bits.bit()?);
            let c = i32::from(c);
            if code - first < c {
                let i = (index + code - first) as usize;
                return self
                    .symbols
                    .get(i)
                    .copied()
                    .ok_or_else(|| bits.corrupt("bad table"));
            }
            index += c;
            first = (first + c) << 1;
            code <<= 1;
        }
        Err(bits.corrupt("a code in no Huffman table"))
    }
}

/// Entropy-coded data: bits MSB first, `FF 00` unstuffed, stopping at a marker.
struct Bits<'a> {
    b: &'a [u8],
    pos: usize,
    byte: u8,
    left: u8,
    /// Where we are, for errors: scan number, MCU, MCUs in the scan.
    scan: usize,
    mcu: usize,
    mcus: usize,
}

impl<'a> Bits<'a> {
    fn new(b: &'a [u8], pos: usize) -> Self {
        Bits {
            b,
            pos,
            byte: 0,
            left: 0,
            scan: 0,
            mcu: 0,
            mcus: 0,
        }
    }

    fn corrupt(&self, what: &str) -> crate::error::Error {
        err!(
            ImageDecode,
            "corrupt JPEG: {what} in the data of scan {} at byte {} (MCU {} of {})",
            self.scan,
            self.pos,
            self.mcu,
            self.mcus
        )
    }

    fn bit(&mut self) -> Result<u8> {
        if self.left == 0 {
            match (self.b.get(self.pos), self.b.get(self.pos + 1)) {
                (Some(0xFF), Some(0x00)) => {
                    self.byte = 0xFF;
                    self.pos += 2;
                }
                (Some(0xFF), _) | (None, _) => {
                    return Err(self.corrupt("the data ends before the last block"))
                }
                (Some(&v), _) => {
                    self.byte = v;
                    self.pos += 1;
                }
            }
            self.left = 8;
        }
        self.left -= 1;
        Ok((self.byte >> self.left) & 1)
    }

    fn bits(&mut self, n: u8) -> Result<u32> {
        let mut v = 0u32;
        for _ in 0..n {
            v = (v << 1) | u32::from(self.bit()?);
        }
        Ok(v)
    }

    /// Drop the padding bits and skip fill bytes: the position of the next marker, which
    /// must come now.
    fn at_marker(&mut self, what: &str) -> Result<usize> {
        self.left = 0;
        let mut p = self.pos;
        while self.b.get(p) == Some(&0xFF) && self.b.get(p + 1) == Some(&0xFF) {
            p += 1;
        }
        match (self.b.get(p), self.b.get(p + 1)) {
            (Some(0xFF), Some(&m)) if m != 0 => Ok(p),
            _ => Err(self.corrupt(&format!("data left over after {what}"))),
        }
    }
}

#[derive(Clone, Copy, Default)]
struct Component {
    id: u8,
    h: usize,
    v: usize,
}

struct Frame {
    /// Largest DC difference size: precision + 3 (11 for 8-bit samples).
    max_dc: u8,
    width: usize,
    height: usize,
    progressive: bool,
    comps: Vec<Component>,
    hmax: usize,
    vmax: usize,
    /// Per component: which AC coefficients are nonzero so far, one mask per block of the
    /// padded block grid (progressive refinement scans need it).
    nonzero: Vec<Vec<u64>>,
}

impl Frame {
    fn mcus_x(&self) -> usize {
        self.width.div_ceil(8 * self.hmax)
    }
    fn mcus_y(&self) -> usize {
        self.height.div_ceil(8 * self.vmax)
    }
    /// Blocks per row of component `c`'s padded grid.
    fn grid_w(&self, c: usize) -> usize {
        self.mcus_x() * self.comps[c].h
    }
    /// The blocks a non-interleaved scan of component `c` covers (its own size, unpadded).
    fn own_blocks(&self, c: usize) -> (usize, usize) {
        let k = self.comps[c];
        let w = (self.width * k.h).div_ceil(self.hmax);
        let h = (self.height * k.v).div_ceil(self.vmax);
        (w.div_ceil(8), h.div_ceil(8))
    }
}

/// One scan's header.
struct Scan {
    /// (frame component index, DC table, AC table).
    comps: Vec<(usize, usize, usize)>,
    ss: usize,
    se: usize,
    ah: u8,
}

/// Walk every scan of `b` (whose marker structure has been checked).
pub fn check(b: &[u8]) -> Result<()> {
    let mut dc: [Huffman; 4] = Default::default();
    let mut ac: [Huffman; 4] = Default::default();
    let mut frame: Option<Frame> = None;
    let mut restart = 0usize;
    let mut i = 2usize;
    let mut scans = 0usize;
    while i + 4 <= b.len() {
        if b[i] != 0xFF {
            return Ok(());
        }
        let m = b[i + 1];
        if m == 0xFF {
            i += 1;
            continue;
        }
        if m == 0xD9 {
            return Ok(());
        }
        let len = usize::from(u16::from_be_bytes([b[i + 2], b[i + 3]]));
        let seg = b.get(i + 4..i + 2 + len).unwrap_or(&[]);
        match m {
            0xC4 => read_dht(seg, &mut dc, &mut ac)?,
            0xDD if seg.len() >= 2 => restart = usize::from(u16::from_be_bytes([seg[0], seg[1]])),
            0xC0..=0xC2 => frame = Some(read_sof(seg, m == 0xC2)?),
            // lossless, hierarchical and arithmetic-coded frames: the decoder's part
            0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => return Ok(()),
            _ => {}
        }
        i += 2 + len;
        if m == 0xDA {
            let Some(f) = frame.as_mut() else {
                return Ok(());
            };
            scans += 1;
            let scan = read_sos(seg, f)?;
            i = walk_scan(b, i, f, &scan, &dc, &ac, restart, scans)?;
        }
    }
    Ok(())
}

fn read_dht(mut seg: &[u8], dc: &mut [Huffman; 4], ac: &mut [Huffman; 4]) -> Result<()> {
    while seg.len() >= 17 {
        let (class, id) = (seg[0] >> 4, usize::from(seg[0] & 15));
        let mut t = Huffman::default();
        for (c, &n) in t.count.iter_mut().zip(&seg[1..17]) {
            *c = u16::from(n);
        }
        let n: usize = t.count.iter().map(|&c| usize::from(c)).sum();
        let Some(sym) = seg.get(17..17 + n) else {
            return Err(err!(
                ImageDecode,
                "corrupt JPEG: a Huffman table runs past its segment"
            ));
        };
        t.symbols = sym.to_vec();
        if id > 3 {
            return Err(err!(ImageDecode, "corrupt JPEG: Huffman table id {id}"));
        }
        if class == 0 {
            dc[id] = t;
        } else {
            ac[id] = t;
        }
        seg = &seg[17 + n..];
    }
    Ok(())
}

fn read_sof(seg: &[u8], progressive: bool) -> Result<Frame> {
    let bad = || err!(ImageDecode, "corrupt JPEG: a malformed frame header");
    if seg.len() < 6 {
        return Err(bad());
    }
    let height = usize::from(u16::from_be_bytes([seg[1], seg[2]]));
    let width = usize::from(u16::from_be_bytes([seg[3], seg[4]]));
    let n = usize::from(seg[5]);
    let mut comps = Vec::with_capacity(n);
    for c in 0..n {
        let p = seg.get(6 + 3 * c..9 + 3 * c).ok_or_else(bad)?;
        let (h, v) = (usize::from(p[1] >> 4), usize::from(p[1] & 15));
        if !(1..=4).contains(&h) || !(1..=4).contains(&v) {
            return Err(bad());
        }
        comps.push(Component { id: p[0], h, v });
    }
    if comps.is_empty() || width == 0 || height == 0 {
        return Err(bad());
    }
    let hmax = comps.iter().map(|c| c.h).max().unwrap_or(1);
    let vmax = comps.iter().map(|c| c.v).max().unwrap_or(1);
    let mut f = Frame {
        max_dc: seg[0].saturating_add(3),
        width,
        height,
        progressive,
        comps,
        hmax,
        vmax,
        nonzero: Vec::new(),
    };
    if progressive {
        for c in 0..f.comps.len() {
            let blocks = f.grid_w(c) * f.mcus_y() * f.comps[c].v;
            let mut v = Vec::new();
            v.try_reserve_exact(blocks)
                .map_err(|_| err!(ImageTooLarge, "JPEG of {width}x{height}: too many blocks"))?;
            v.resize(blocks, 0u64);
            f.nonzero.push(v);
        }
    }
    Ok(f)
}

fn read_sos(seg: &[u8], f: &Frame) -> Result<Scan> {
    let bad = |w: &str| err!(ImageDecode, "corrupt JPEG: scan header: {w}");
    let n = usize::from(*seg.first().ok_or_else(|| bad("empty"))?);
    let mut comps = Vec::with_capacity(n);
    for k in 0..n {
        let p = seg
            .get(1 + 2 * k..3 + 2 * k)
            .ok_or_else(|| bad("too short"))?;
        let c = f
            .comps
            .iter()
            .position(|c| c.id == p[0])
            .ok_or_else(|| bad("a component the frame does not have"))?;
        let (d, a) = (usize::from(p[1] >> 4), usize::from(p[1] & 15));
        if d > 3 || a > 3 {
            return Err(bad("a Huffman table id above 3"));
        }
        comps.push((c, d, a));
    }
    let tail = seg
        .get(1 + 2 * n..4 + 2 * n)
        .ok_or_else(|| bad("too short"))?;
    let (ss, se, ah) = (usize::from(tail[0]), usize::from(tail[1]), tail[2] >> 4);
    if comps.is_empty() || se > 63 || ss > se || (!f.progressive && (ss != 0 || se != 63)) {
        return Err(bad("spectral selection out of range"));
    }
    if f.progressive && ss > 0 && comps.len() != 1 {
        return Err(bad("an AC scan of several components"));
    }
    Ok(Scan { comps, ss, se, ah })
}

/// The blocks of one MCU: (component, block index in its padded grid).
fn mcu_blocks(f: &Frame, s: &Scan, mcu: usize, out: &mut Vec<(usize, usize)>) {
    out.clear();
    if s.comps.len() == 1 {
        let c = s.comps[0].0;
        let (w, _) = f.own_blocks(c);
        let (x, y) = (mcu % w, mcu / w);
        out.push((c, y * f.grid_w(c) + x));
        return;
    }
    let (mx, my) = (mcu % f.mcus_x(), mcu / f.mcus_x());
    for &(c, _, _) in &s.comps {
        let k = f.comps[c];
        for v in 0..k.v {
            for h in 0..k.h {
                out.push((c, (my * k.v + v) * f.grid_w(c) + mx * k.h + h));
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn walk_scan(
    b: &[u8],
    start: usize,
    f: &mut Frame,
    s: &Scan,
    dc: &[Huffman; 4],
    ac: &[Huffman; 4],
    restart: usize,
    n: usize,
) -> Result<usize> {
    let mcus = if s.comps.len() == 1 {
        let (w, h) = f.own_blocks(s.comps[0].0);
        w * h
    } else {
        f.mcus_x() * f.mcus_y()
    };
    let mut bits = Bits::new(b, start);
    let mut eobrun = 0u32;
    let mut blocks = Vec::new();
    let mut rst = 0u8;
    for m in 0..mcus {
        if restart > 0 && m > 0 && m % restart == 0 {
            let p = bits.at_marker(&format!("restart interval {} of scan {n}", m / restart))?;
            if b[p + 1] != 0xD0 + rst {
                return Err(err!(
                    ImageDecode,
                    "corrupt JPEG: scan {n}: restart marker RST{} expected at byte {p}, found 0xFF{:02X}",
                    rst,
                    b[p + 1]
                ));
            }
            rst = (rst + 1) % 8;
            bits = Bits::new(b, p + 2);
            eobrun = 0;
        }
        (bits.scan, bits.mcu, bits.mcus) = (n, m, mcus);
        mcu_blocks(f, s, m, &mut blocks);
        for &(c, blk) in &blocks {
            let &(_, d, a) = s.comps.iter().find(|x| x.0 == c).unwrap_or(&s.comps[0]);
            block(&mut bits, f, s, c, blk, &dc[d], &ac[a], &mut eobrun)?;
        }
    }
    bits.at_marker(&format!("the last MCU of scan {n}"))
}

#[allow(clippy::too_many_arguments)]
fn block(
    bits: &mut Bits<'_>,
    f: &mut Frame,
    s: &Scan,
    c: usize,
    blk: usize,
    dc: &Huffman,
    ac: &Huffman,
    eobrun: &mut u32,
) -> Result<()> {
    if s.ss == 0 {
        if s.ah == 0 {
            let t = dc.decode(bits)?;
            if t > f.max_dc {
                return Err(bits.corrupt(&format!("a DC difference of {t} bits")));
            }
            bits.bits(t)?;
        } else {
            bits.bit()?;
        }
        if f.progressive {
            return Ok(());
        }
    }
    let ss = s.ss.max(1);
    if !f.progressive {
        return ac_sequential(bits, ac);
    }
    let mask = f
        .nonzero
        .get_mut(c)
        .and_then(|v| v.get_mut(blk))
        .ok_or_else(|| bits.corrupt("a block outside the image"))?;
    if s.ah == 0 {
        ac_first(bits, ac, ss, s.se, eobrun, mask)
    } else {
        ac_refine(bits, ac, ss, s.se, eobrun, mask)
    }
}

fn ac_sequential(bits: &mut Bits<'_>, ac: &Huffman) -> Result<()> {
    let mut k = 1usize;
    while k < 64 {
        let rs = ac.decode(bits)?;
        let (r, size) = (usize::from(rs >> 4), rs & 15);
        if size == 0 {
            if r != 15 {
                return Ok(());
            }
            k += 16;
            continue;
        }
        k += r;
        if k > 63 {
            return Err(bits.corrupt("a run past the end of the block"));
        }
        bits.bits(size)?;
        k += 1;
    }
    if k > 64 {
        return Err(bits.corrupt("a run past the end of the block"));
    }
    Ok(())
}

fn ac_first(
    bits: &mut Bits<'_>,
    ac: &Huffman,
    ss: usize,
    se: usize,
    eobrun: &mut u32,
    mask: &mut u64,
) -> Result<()> {
    if *eobrun > 0 {
        *eobrun -= 1;
        return Ok(());
    }
    let mut k = ss;
    while k <= se {
        let rs = ac.decode(bits)?;
        let (r, size) = (rs >> 4, rs & 15);
        if size == 0 {
            if r < 15 {
                *eobrun = (1u32 << r) - 1 + bits.bits(r)?;
                return Ok(());
            }
            k += 16;
            continue;
        }
        k += usize::from(r);
        if k > se {
            return Err(bits.corrupt("a run past the end of the band"));
        }
        bits.bits(size)?;
        *mask |= 1u64 << k;
        k += 1;
    }
    if k > se + 1 {
        return Err(bits.corrupt("a run past the end of the band"));
    }
    Ok(())
}

/// A refinement scan of AC coefficients: libjpeg's `decode_mcu_AC_refine`, reading only.
fn ac_refine(
    bits: &mut Bits<'_>,
    ac: &Huffman,
    ss: usize,
    se: usize,
    eobrun: &mut u32,
    mask: &mut u64,
) -> Result<()> {
    let mut k = ss;
    if *eobrun == 0 {
        while k <= se {
            let rs = ac.decode(bits)?;
            let (mut r, size) = (i32::from(rs >> 4), rs & 15);
            if size != 0 {
                if size != 1 {
                    return Err(bits.corrupt("a refinement of more than one bit"));
                }
                bits.bit()?;
            } else if r != 15 {
                *eobrun = (1u32 << r) + bits.bits(r as u8)?;
                break;
            }
            while k <= se {
                if *mask & (1u64 << k) != 0 {
                    bits.bit()?;
                } else {
                    r -= 1;
                    if r < 0 {
                        break;
                    }
                }
                k += 1;
            }
            if size != 0 {
                if k > se {
                    return Err(bits.corrupt("a run past the end of the band"));
                }
                *mask |= 1u64 << k;
            }
            k += 1;
        }
    }
    if *eobrun > 0 {
        while k <= se {
            if *mask & (1u64 << k) != 0 {
                bits.bit()?;
            }
            k += 1;
        }
        *eobrun -= 1;
    }
    Ok(())
}
