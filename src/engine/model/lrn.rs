//! ONNX `LRN` (local response normalization across channels) for f32 tensors, in place of
//! tract's: the same arithmetic in the same order, but over flat slices instead of tract's
//! per-element n-dimensional indexing, which made this one operator 44% of inception_v1's time
//! in wasm, and with the common exponents taken by square roots instead of `powf` (see
//! [`Power`]). Any other exponent gives tract's bits.
//!
//! `y[n, c, s] = x[n, c, s] / (bias + alpha / size * sum(x[n, c', s]^2))^beta` over the
//! channels `c'` from `c - (size - 1) / 2` to `c + ceil((size - 1) / 2)` (clipped to the
//! tensor), as ONNX defines it and tract computes it.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_core::{args_1, as_op, op_as_typed_op, op_out_of_plan};
use tract_onnx_opl::lrn::Lrn;

use super::swap::eval_f32;

/// The LRN operator over an f32 tensor of rank >= 2, channels on axis 1.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SliceLrn {
    alpha: f32,
    bias: f32,
    size: usize,
    power: Power,
}

// tract compares operators (its graph rewrites look for equal ones); no NaN parameters reach
// here from a model tract accepted, as with tract's own Lrn.
impl Eq for SliceLrn {}

impl SliceLrn {
    /// `y` for one image: `x` and `y` hold `channels` rows of `spatial` values. Row by row, so
    /// that both loops vectorize: the window's squares are summed into `sum` in ascending
    /// channel order (tract's order, hence its bits), then each output is taken from its sum.
    fn run(&self, x: &[f32], y: &mut [f32], channels: usize, spatial: usize, sum: &mut [f32]) {
        let bias = self.bias;
        let scale = self.alpha / self.size as f32;
        let (before, after) = ((self.size - 1) / 2, (self.size - 1).div_ceil(2));
        for c in 0..channels {
            let (lo, hi) = (
                c.saturating_sub(before),
                c.saturating_add(after).min(channels - 1),
            );
            sum.fill(0.0);
            for cc in lo..=hi {
                let other = &x[cc * spatial..(cc + 1) * spatial];
                for (t, &v) in sum.iter_mut().zip(other) {
                    *t += v * v;
                }
            }
            let row = &x[c * spatial..(c + 1) * spatial];
            let out = &mut y[c * spatial..(c + 1) * spatial];
            self.power.divide(row, sum, bias, scale, out);
        }
    }
}

/// `base^beta`. In wasm `powf` is a software routine (a logarithm and an exponential), which
/// made LRN a quarter of inception_v1's time; the exponents models use (AlexNet, GoogLeNet and
/// their kin take 0.75) are square roots, which wasm has as an instruction. They are computed in
/// f64 and rounded once, so the result is the correctly rounded power: the same bits as `powf`
/// except where `powf` itself is off by its last bit (its documented error is under one unit in
/// the last place).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Power {
    /// `beta` = 0.5
    Half,
    /// `beta` = 0.75: `sqrt(b * sqrt(b))`
    ThreeQuarters,
    /// `beta` = 1
    One,
    /// any other `beta`
    Any(f32),
}

impl Power {
    fn new(beta: f32) -> Power {
        match beta {
            0.5 => Power::Half,
            0.75 => Power::ThreeQuarters,
            1.0 => Power::One,
            b => Power::Any(b),
        }
    }

    #[inline]
    fn of(self, base: f32) -> f32 {
        let b = f64::from(base);
        match self {
            Power::Half => b.sqrt() as f32,
            Power::ThreeQuarters => (b * b.sqrt()).sqrt() as f32,
            Power::One => base,
            Power::Any(beta) => base.powf(beta),
        }
    }

    /// `out[s] = row[s] / (bias + scale * sum[s])^beta`. Each arm names its exponent as a
    /// constant, so the choice is made once per row rather than per value and the loop
    /// vectorizes; the power itself is [`Power::of`]'s in every arm.
    fn divide(self, row: &[f32], sum: &[f32], bias: f32, scale: f32, out: &mut [f32]) {
        fn each(row: &[f32], sum: &[f32], out: &mut [f32], f: impl Fn(f32) -> f32) {
            for ((o, &r), &t) in out.iter_mut().zip(row).zip(sum) {
                *o = r / f(t);
            }
        }
        let base = |t: f32| bias + scale * t;
        match self {
            Power::Half => each(row, sum, out, |t| Power::Half.of(base(t))),
            Power::ThreeQuarters => each(row, sum, out, |t| Power::ThreeQuarters.of(base(t))),
            Power::One => each(row, sum, out, |t| Power::One.of(base(t))),
            Power::Any(beta) => each(row, sum, out, |t| Power::Any(beta).of(base(t))),
        }
    }
}

impl Op for SliceLrn {
    fn name(&self) -> StaticName {
        "Lrn(slices)".into()
    }

    op_as_typed_op!();
}

impl EvalOp for SliceLrn {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        eval_f32(&input, "LRN", |shape, x| {
            let (n, channels) = (shape[0], shape[1]);
            let spatial: usize = shape[2..].iter().product();
            let mut y = vec![0.0f32; x.len()];
            if channels > 0 && spatial > 0 {
                let per = channels * spatial;
                let mut sum = vec![0.0f32; spatial];
                for i in 0..n {
                    self.run(
                        &x[i * per..(i + 1) * per],
                        &mut y[i * per..(i + 1) * per],
                        channels,
                        spatial,
                        &mut sum,
                    );
                }
            }
            Ok((shape.to_vec(), y))
        })
    }
}

impl TypedOp for SliceLrn {
    as_op!();

    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        Ok(tvec!(inputs[0].without_value()))
    }
}

/// [`SliceLrn`] for a tract `Lrn` node whose input is f32 of rank >= 2 with a size of at
/// least 1 (anything else keeps tract's).
pub(super) fn slice_lrn(lrn: &Lrn, fact: &TypedFact) -> Option<Box<dyn TypedOp>> {
    (fact.datum_type == f32::datum_type() && fact.rank() >= 2 && lrn.size > 0).then(|| {
        Box::new(SliceLrn {
            alpha: lrn.alpha,
            bias: lrn.bias,
            size: lrn.size,
            power: Power::new(lrn.beta),
        }) as Box<dyn TypedOp>
    })
}

// proptest is a native dev-dependency: these run natively only
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::engine::model::swap::seeded;
    use proptest::prelude::*;

    fn eval_both(lrn: Lrn, shape: &[usize], x: &[f32]) -> (Vec<f32>, Vec<f32>) {
        let t = Tensor::from_shape(shape, x).unwrap();
        let theirs = lrn
            .eval(&EvalContext::out_of_plan(), tvec!(t.clone().into_tvalue()))
            .unwrap();
        let ours = SliceLrn {
            alpha: lrn.alpha,
            bias: lrn.bias,
            size: lrn.size,
            power: Power::new(lrn.beta),
        };
        let ours = ours
            .eval(&EvalContext::out_of_plan(), tvec!(t.into_tvalue()))
            .unwrap();
        (
            theirs[0]
                .to_plain_array_view::<f32>()
                .unwrap()
                .iter()
                .copied()
                .collect(),
            ours[0]
                .to_plain_array_view::<f32>()
                .unwrap()
                .iter()
                .copied()
                .collect(),
        )
    }

    proptest! {
        // the same bits as tract's own Lrn, on any shape, window and parameters
        #[test]
        fn same_bits_as_tract(
            n in 1usize..3, c in 1usize..9, h in 1usize..5, w in 1usize..5,
            size in 1usize..8, alpha in 1e-5f32..1.0, beta in 0.1f32..1.5, bias in 0.5f32..3.0,
            seed in any::<u64>(),
        ) {
            let len = n * c * h * w;
            let mut next = seeded(seed);
            let x: Vec<f32> = (0..len)
                .map(|_| ((next() >> 40) as f32 / 16_777_216.0) * 8.0 - 4.0)
                .collect();
            let (theirs, ours) = eval_both(Lrn { alpha, beta, bias, size }, &[n, c, h, w], &x);
            prop_assert_eq!(
                theirs.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                ours.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
            );
        }
    }

    // The square-root exponents: within one unit in the last place of tract's `powf`, equal to
    // the power computed in f64 and rounded once, and mostly the very bits of `powf`.
    #[test]
    fn square_root_exponents() {
        let mut next = seeded(7);
        for beta in [0.5f32, 0.75, 1.0] {
            let x: Vec<f32> = (0..2 * 16 * 7 * 5)
                .map(|_| ((next() >> 40) as f32 / 16_777_216.0) * 40.0 - 20.0)
                .collect();
            let lrn = Lrn {
                alpha: 0.7,
                beta,
                bias: 1.0,
                size: 5,
            };
            let (theirs, ours) = eval_both(lrn, &[2, 16, 7, 5], &x);
            let mut same = 0;
            for (t, o) in theirs.iter().zip(&ours) {
                assert!(t.is_finite() && o.is_finite());
                let ulps = (t.to_bits() as i64 - o.to_bits() as i64).abs();
                assert!(ulps <= 1, "beta {beta}: {t} against {o}");
                same += usize::from(ulps == 0);
            }
            assert!(same * 100 >= theirs.len() * 95, "beta {beta}: {same} equal");
        }
        for base in [1.0f32, 1.5, 2.0, 3.75, 1e-3, 12345.678, 7.0e30] {
            let exact = f64::from(base).powf(0.75) as f32;
            assert_eq!(Power::new(0.75).of(base), exact, "{base}");
            assert_eq!(Power::new(0.5).of(base), f64::from(base).sqrt() as f32);
        }
    }

    #[test]
    fn rank_two_and_three() {
        let x: Vec<f32> = (0..24).map(|i| i as f32 * 0.25 - 3.0).collect();
        let lrn = Lrn {
            alpha: 1e-4,
            beta: 0.7,
            bias: 1.0,
            size: 5,
        };
        for shape in [&[4usize, 6][..], &[2, 3, 4][..]] {
            let (theirs, ours) = eval_both(lrn.clone(), shape, &x);
            assert_eq!(theirs, ours, "{shape:?}");
        }
    }
}
