//! ONNX 2-D `MaxPool` over f32 NCHW tensors, in place of tract's: separable (each input row's
//! horizontal maxima once, then the maxima of those rows), and in wasm with SIMD the strided
//! horizontal taps are gathered four at a time by shuffles. tract folds every kernel tap into
//! the output row with a scalar strided walk, which made max-pooling 23% of squeezenet's time
//! in wasm.
//!
//! The result is the same bits as tract's: both start from `f32::MIN` and replace the running
//! value only by a strictly greater tap (`if acc < v { v } else { acc }`, which is also wasm's
//! `f32x4.pmax`), so a NaN tap is never taken and, among equal values (`-0.0` and `0.0`), the
//! first tap in (row, column) order wins. Taking the first maximum of each row, then the first
//! row holding the overall maximum, picks that same tap. (tract's separate 2x2 path uses a
//! NaN-propagating `max` instead; here a NaN is dropped for every kernel size alike, as
//! tract's general path does. The scores of a NaN-free input are unchanged either way.)

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_core::ops::cnn::{MaxPool, PoolSpec};
use tract_onnx::tract_core::ops::nn::DataFormat;
use tract_onnx::tract_core::{args_1, as_op, op_as_typed_op, op_out_of_plan};

use super::swap::eval_f32;

/// Max-pooling of an f32 `[N, C, H, W]` tensor with tract's pooling geometry (padding, ceil
/// mode, strides, dilations).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct RowMaxPool {
    spec: PoolSpec,
}

/// One spatial axis: input length, output length, kernel, stride, dilation, padding before.
#[derive(Debug, Clone, Copy)]
struct Axis {
    input: usize,
    output: usize,
    kernel: usize,
    stride: usize,
    dilation: usize,
    pad: usize,
}

impl Axis {
    /// For each kernel tap: the output range `[lo, hi)` where it lands inside the input, and
    /// the input index it reads at `lo` (the next outputs read `stride` further on each).
    fn spans(&self) -> Vec<(usize, usize, usize)> {
        (0..self.kernel)
            .filter_map(|k| {
                let offset = (k * self.dilation) as isize - self.pad as isize;
                let last = self.input as isize - 1 - offset;
                if last < 0 {
                    return None;
                }
                let lo = if offset >= 0 {
                    0
                } else {
                    (-offset as usize).div_ceil(self.stride)
                };
                let hi = (last as usize / self.stride + 1).min(self.output);
                (lo < hi).then(|| (lo, hi, ((lo * self.stride) as isize + offset) as usize))
            })
            .collect()
    }
}

#[inline(always)]
fn keep_max(acc: f32, v: f32) -> f32 {
    if acc < v {
        v
    } else {
        acc
    }
}

/// `acc[i] = keep_max(acc[i], taps[i * stride])` for every `i` of `acc`.
fn fold_strided(acc: &mut [f32], taps: &[f32], stride: usize) {
    if stride == 1 {
        for (a, &v) in acc.iter_mut().zip(taps) {
            *a = keep_max(*a, v);
        }
        return;
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    let done = if stride == 2 {
        simd::fold_stride2(acc, taps)
    } else {
        0
    };
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    let done = 0;
    for (a, &v) in acc[done..]
        .iter_mut()
        .zip(taps[done * stride..].iter().step_by(stride))
    {
        *a = keep_max(*a, v);
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd {
    use core::arch::wasm32::*;

    /// Folds `taps[2i]` into `acc[i]` four outputs at a time, for as long as eight taps can be
    /// read; returns how many outputs it did (the caller does the rest).
    pub(super) fn fold_stride2(acc: &mut [f32], taps: &[f32]) -> usize {
        let n = acc.len().min(taps.len() / 8 * 4);
        let mut i = 0;
        while i + 4 <= n {
            // in bounds: i + 4 <= n <= acc.len(), and 2i + 8 <= 2n <= taps.len()
            let t = &taps[2 * i..2 * i + 8];
            let a = &mut acc[i..i + 4];
            // SAFETY: `t` holds 8 and `a` 4 f32, read and written unaligned.
            unsafe {
                let lo = v128_load(t.as_ptr() as *const v128);
                let hi = v128_load(t.as_ptr().add(4) as *const v128);
                let even = i32x4_shuffle::<0, 2, 4, 6>(lo, hi);
                let cur = v128_load(a.as_ptr() as *const v128);
                v128_store(a.as_mut_ptr() as *mut v128, f32x4_pmax(cur, even));
            }
            i += 4;
        }
        i
    }
}

impl RowMaxPool {
    fn axes(&self, h: usize, w: usize) -> [Axis; 2] {
        let computed = self.spec.computed_padding(&[h, w]);
        let (dil, str) = (self.spec.dilations(), self.spec.strides());
        let axis = |i: usize, input: usize| Axis {
            input,
            output: computed[i].convoluted,
            kernel: self.spec.kernel_shape[i],
            stride: str[i],
            dilation: dil[i],
            pad: computed[i].pad_before,
        };
        [axis(0, h), axis(1, w)]
    }
}

struct Spans {
    y: Vec<(usize, usize, usize)>,
    x: Vec<(usize, usize, usize)>,
}

/// One channel plane into `y` (which holds `f32::MIN`): `rows` is scratch for the horizontal
/// maxima of every input row.
fn plane(x: &[f32], y: &mut [f32], rows: &mut [f32], axes: &[Axis; 2], spans: &Spans) {
    let [ay, ax] = axes;
    for (row, maxima) in x
        .chunks_exact(ax.input)
        .zip(rows.chunks_exact_mut(ax.output))
    {
        maxima.fill(f32::MIN);
        for &(lo, hi, start) in &spans.x {
            fold_strided(&mut maxima[lo..hi], &row[start..], ax.stride);
        }
    }
    for &(lo, hi, start) in &spans.y {
        for (oy, out) in (lo..hi).zip(y.chunks_exact_mut(ax.output).skip(lo)) {
            let iy = start + (oy - lo) * ay.stride;
            let maxima = &rows[iy * ax.output..(iy + 1) * ax.output];
            for (o, &v) in out.iter_mut().zip(maxima) {
                *o = keep_max(*o, v);
            }
        }
    }
}

impl Op for RowMaxPool {
    fn name(&self) -> StaticName {
        "MaxPool(rows)".into()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        Ok(self.spec.info())
    }

    op_as_typed_op!();
}

impl EvalOp for RowMaxPool {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        eval_f32(&input, "max-pool", |shape, x| {
            ensure!(shape.len() == 4, "max-pool input of rank {}", shape.len());
            let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3]);
            let axes = self.axes(h, w);
            let (oh, ow) = (axes[0].output, axes[1].output);
            // an output with no tap inside the input stays f32::MIN, as in tract
            let mut y = vec![f32::MIN; n * c * oh * ow];
            if oh * ow > 0 && h * w > 0 {
                let spans = Spans {
                    y: axes[0].spans(),
                    x: axes[1].spans(),
                };
                let mut rows = vec![f32::MIN; h * ow];
                for (xp, yp) in x.chunks_exact(h * w).zip(y.chunks_exact_mut(oh * ow)) {
                    plane(xp, yp, &mut rows, &axes, &spans);
                }
            }
            Ok((vec![n, c, oh, ow], y))
        })
    }
}

impl TypedOp for RowMaxPool {
    as_op!();

    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        self.spec.output_facts(inputs)
    }
}

/// [`RowMaxPool`] for a tract `MaxPool` node over an f32 NCHW input with two spatial axes and
/// no index output (anything else keeps tract's).
pub(super) fn row_maxpool(pool: &MaxPool, fact: &TypedFact) -> Option<Box<dyn TypedOp>> {
    let spec = &pool.pool_spec;
    let ours = fact.datum_type == f32::datum_type()
        && fact.rank() == 4
        && spec.data_format == DataFormat::NCHW
        && spec.rank() == 2
        && spec.input_channels == spec.output_channels
        && !spec.kernel_shape.contains(&0)
        && !spec.strides().contains(&0)
        && !spec.dilations().contains(&0)
        && pool.with_index_outputs.is_none();
    ours.then(|| Box::new(RowMaxPool { spec: spec.clone() }) as Box<dyn TypedOp>)
}

// The grid test runs natively and in the browser suite (where it checks the SIMD path); the
// proptest, a native dev-dependency, natively only.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::model::swap::seeded;
    use tract_onnx::tract_core::ops::cnn::PaddingSpec;

    fn both(spec: PoolSpec, shape: &[usize], x: &[f32]) -> (Vec<u32>, Vec<u32>) {
        let t = Tensor::from_shape(shape, x).unwrap();
        let theirs = MaxPool::new(spec.clone(), None)
            .eval(&EvalContext::out_of_plan(), tvec!(t.clone().into_tvalue()))
            .unwrap();
        let ours = RowMaxPool { spec }
            .eval(&EvalContext::out_of_plan(), tvec!(t.into_tvalue()))
            .unwrap();
        let bits = |v: &TValue| {
            assert_eq!(v.shape(), theirs[0].shape());
            v.to_plain_array_view::<f32>()
                .unwrap()
                .iter()
                .map(|f| f.to_bits())
                .collect::<Vec<_>>()
        };
        (bits(&theirs[0]), bits(&ours[0]))
    }

    fn spec(c: usize, k: [usize; 2], s: [usize; 2], d: [usize; 2], pad: PaddingSpec) -> PoolSpec {
        PoolSpec {
            data_format: DataFormat::NCHW,
            kernel_shape: tvec!(k[0], k[1]),
            padding: pad,
            dilations: Some(tvec!(d[0], d[1])),
            strides: Some(tvec!(s[0], s[1])),
            input_channels: c,
            output_channels: c,
        }
    }

    /// Seeded values in [-4, 4), with NaN, signed zeros and -inf mixed in when `specials`, but
    /// no NaN for a 2x2 kernel: tract's own 2x2 path (SIMD `max`) propagates a NaN that its
    /// general path, and ours, never takes.
    fn values(len: usize, seed: u64, specials: bool, k: [usize; 2]) -> Vec<f32> {
        let mut next = seeded(seed);
        (0..len)
            .map(|_| {
                let s = next();
                let v = ((s >> 40) as f32 / 16_777_216.0) * 8.0 - 4.0;
                match (specials, (s >> 20) % 16) {
                    (true, 0) if k != [2, 2] => f32::NAN,
                    (true, 1) => -0.0,
                    (true, 2) => 0.0,
                    (true, 3) => f32::NEG_INFINITY,
                    _ => v,
                }
            })
            .collect()
    }

    fn padding(which: u8, p: [usize; 4], ceil: bool) -> PaddingSpec {
        match which % 4 {
            0 => PaddingSpec::Valid,
            1 => PaddingSpec::SameUpper,
            2 => PaddingSpec::SameLower,
            _ => PaddingSpec::ExplicitOnnxPool(tvec!(p[0], p[1]), tvec!(p[2], p[3]), ceil),
        }
    }

    /// Bits of both results, the two zeros counted as one where tract's 2x2 path is taken
    /// (it uses `f32::max`, which may return either zero of `max(-0.0, 0.0)`).
    fn compare(k: [usize; 2], s: PoolSpec, shape: &[usize], x: &[f32]) -> (Vec<u32>, Vec<u32>) {
        let (mut theirs, mut ours) = both(s, shape, x);
        if k == [2, 2] {
            for v in theirs.iter_mut().chain(ours.iter_mut()) {
                if *v == (-0.0f32).to_bits() {
                    *v = 0
                }
            }
        }
        (theirs, ours)
    }

    /// Whether tract accepts this geometry: explicit padding under the kernel's size, and,
    /// without "same" padding, a padded input that holds one dilated kernel.
    fn valid(
        pad: &PaddingSpec,
        k: [usize; 2],
        d: [usize; 2],
        hw: [usize; 2],
        p: [usize; 4],
    ) -> bool {
        let p = if matches!(pad, PaddingSpec::ExplicitOnnxPool(..)) {
            p
        } else {
            [0; 4]
        };
        let same = matches!(pad, PaddingSpec::SameUpper | PaddingSpec::SameLower);
        p[0] < k[0]
            && p[2] < k[0]
            && p[1] < k[1]
            && p[3] < k[1]
            && (same
                || ((k[0] - 1) * d[0] < hw[0] + p[0] + p[2]
                    && (k[1] - 1) * d[1] < hw[1] + p[1] + p[3]))
    }

    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn grid_same_bits_as_tract() {
        let mut cases = 0;
        for (h, w) in [(1, 1), (5, 9), (12, 17), (9, 40), (23, 33)] {
            for k in [[1, 1], [2, 2], [3, 3], [3, 2]] {
                for st in [[1, 1], [2, 2], [3, 2]] {
                    for d in [[1, 1], [2, 1]] {
                        for which in 0..4u8 {
                            let pv = [1, 0, 1, 2];
                            let pad = padding(which, pv, which % 2 == 1);
                            if !valid(&pad, k, d, [h, w], pv) {
                                continue;
                            }
                            let sp = spec(2, k, st, d, pad);
                            let x = values(2 * h * w, (h * 31 + w) as u64, true, k);
                            let (theirs, ours) = compare(k, sp, &[1, 2, h, w], &x);
                            assert_eq!(theirs, ours, "{h}x{w} k{k:?} s{st:?} d{d:?} pad {which}");
                            cases += 1;
                        }
                    }
                }
            }
        }
        assert!(cases > 300, "{cases} cases");
    }

    #[cfg(not(target_arch = "wasm32"))]
    mod prop {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            // the same bits as tract's own max-pool, NaN, signed zeros and -inf included
            #[test]
            fn same_bits_as_tract(
                n in 1usize..3, c in 1usize..4, h in 1usize..14, w in 1usize..20,
                kh in 1usize..4, kw in 1usize..4, sh in 1usize..4, sw in 1usize..4,
                dh in 1usize..3, dw in 1usize..3, which in any::<u8>(),
                p in proptest::array::uniform4(0usize..3), ceil in any::<bool>(),
                specials in any::<bool>(), seed in any::<u64>(),
            ) {
                let pad = padding(which, p, ceil);
                prop_assume!(valid(&pad, [kh, kw], [dh, dw], [h, w], p));
                let s = spec(c, [kh, kw], [sh, sw], [dh, dw], pad);
                let x = values(n * c * h * w, seed, specials, [kh, kw]);
                let (theirs, ours) = compare([kh, kw], s, &[n, c, h, w], &x);
                prop_assert_eq!(theirs, ours);
            }
        }
    }

    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn squeezenet_pools() {
        // 3x3 stride 2 with ONNX ceil mode, and 2x2 stride 2, on odd and even sizes
        for (hw, k, ceil) in [
            (111, 3, true),
            (55, 3, true),
            (27, 3, false),
            (56, 2, false),
        ] {
            let pad = PaddingSpec::ExplicitOnnxPool(tvec!(0, 0), tvec!(0, 0), ceil);
            let s = spec(5, [k, k], [2, 2], [1, 1], pad);
            let x = values(5 * hw * hw, hw as u64, false, [k, k]);
            let (theirs, ours) = both(s, &[1, 5, hw, hw], &x);
            assert_eq!(theirs, ours, "{hw} {k}");
        }
    }
}
