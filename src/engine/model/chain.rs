//! Runs of element-wise f32 operations that take one scalar per block of the tensor (a
//! batch-norm's per-channel `Mul` and `Add` over NCHW, then ReLU's `Max` with 0), in place of
//! tract's `OptBinChain` / `OptBinByScalar` after optimization. tract's fast path wants every
//! operand in natural strides, and the per-channel operands of a real model arrive as
//! `[1, C, 1, 1]` with strides `[1, 1, 1, 1]` (left by reshapes): their values are contiguous,
//! but tract then runs the chain step by step through its generic broadcasting code, which
//! made these chains 22% of densenet121's time in wasm. Here an axis of length 1 may have any
//! stride, and every segment of the tensor sharing the same scalars goes through all the steps
//! a cache-sized piece at a time.
//!
//! The arithmetic is tract's, step by step in the same order with no fused multiply-add, so
//! the bits are the same: `a * s`, `a + s`, `a - s`, `s - a` (tract's `SubF`), and for `Max` /
//! `Min` wasm's `pmax(s, a)` (`s < a ? a : s`) / `pmin(s, a)` (`a < s ? a : s`), which is
//! what tract's wasm kernels run; a NaN scalar leaves the values as they are, as there.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_core::ops::binary::{OptBinByScalar, OptBinChain};
use tract_onnx::tract_core::tract_linalg::multithread::BShare;
use tract_onnx::tract_core::tract_linalg::BinOp;
use tract_onnx::tract_core::{as_op, op_as_typed_op, op_out_of_plan};

/// The longest run handled here; a longer one keeps tract's operator.
const MAX_STEPS: usize = 8;

/// The steps of a run, each taking one scalar per block of the input (input `i + 1` holds
/// step `i`'s scalars), and tract's own operator for inputs this one does not handle.
#[derive(Debug, Clone)]
pub(crate) struct BlockChain {
    steps: TVec<BinOp>,
    tract: Box<dyn TypedOp>,
}

impl PartialEq for BlockChain {
    fn eq(&self, other: &Self) -> bool {
        self.steps == other.steps
    }
}
impl Eq for BlockChain {}

/// One step's value for a scalar `s`: tract's f32 arithmetic for that operator.
#[inline(always)]
fn step(op: BinOp, a: f32, s: f32) -> f32 {
    match op {
        BinOp::Mul => a * s,
        BinOp::Add => a + s,
        BinOp::Sub => a - s,
        BinOp::SubF => s - a,
        BinOp::Max if s.is_nan() => a,
        BinOp::Max => {
            if s < a {
                a
            } else {
                s
            }
        }
        BinOp::Min if s.is_nan() => a,
        BinOp::Min => {
            if a < s {
                a
            } else {
                s
            }
        }
    }
}

/// Every step over one segment whose values share the scalars `s`.
fn segment(x: &mut [f32], ops: &[BinOp], s: &[f32]) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    let x = simd::segment(x, ops, s);
    // a piece that stays in the first-level cache at a time, each step over all of it, with
    // the operator chosen once per step (loops the compiler vectorizes)
    for c in x.chunks_mut(256) {
        for (&op, &s) in ops.iter().zip(s) {
            match op {
                BinOp::Mul => c.iter_mut().for_each(|v| *v *= s),
                BinOp::Add => c.iter_mut().for_each(|v| *v += s),
                _ => c.iter_mut().for_each(|v| *v = step(op, *v, s)),
            }
        }
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd {
    use super::BinOp;
    use std::arch::wasm32::*;

    /// The steps over the segment's whole groups of four values, a cache-sized piece at a time
    /// and the operator chosen once per step; returns the rest.
    pub(super) fn segment<'a>(x: &'a mut [f32], ops: &[BinOp], s: &[f32]) -> &'a mut [f32] {
        let whole = x.len() / 4 * 4;
        let (head, tail) = x.split_at_mut(whole);
        for c in head.chunks_mut(256) {
            let (p, n) = (c.as_mut_ptr() as *mut v128, c.len() / 4);
            for (&op, &s) in ops.iter().zip(s) {
                let sv = f32x4_splat(s);
                match op {
                    BinOp::Mul => each(p, n, |a| f32x4_mul(a, sv)),
                    BinOp::Add => each(p, n, |a| f32x4_add(a, sv)),
                    BinOp::Sub => each(p, n, |a| f32x4_sub(a, sv)),
                    BinOp::SubF => each(p, n, |a| f32x4_sub(sv, a)),
                    BinOp::Max | BinOp::Min if s.is_nan() => {}
                    BinOp::Max => each(p, n, |a| f32x4_pmax(sv, a)),
                    BinOp::Min => each(p, n, |a| f32x4_pmin(sv, a)),
                }
            }
        }
        tail
    }

    /// `f` over the `n` v128 values at `p`.
    #[inline(always)]
    fn each(p: *mut v128, n: usize, f: impl Fn(v128) -> v128) {
        for j in 0..n {
            // SAFETY: the caller's piece holds `n` groups of four f32 values (wasm loads and
            // stores need no alignment)
            unsafe { v128_store(p.add(j), f(v128_load(p.add(j)))) };
        }
    }
}

impl BlockChain {
    /// The steps over `x`, step `i` taking its scalars from `b[i]`, one per block of
    /// `x.len() / b[i].len()` values. The caller checked that every length divides.
    fn run(&self, x: &mut [f32], b: &[&[f32]]) {
        let periods: TVec<usize> = b.iter().map(|b| x.len() / b.len()).collect();
        // the segments over which every step's scalar stays the same
        let unit = periods.iter().fold(x.len(), |u, &p| gcd(u, p));
        let mut s = [0.0f32; MAX_STEPS];
        for (k, seg) in x.chunks_exact_mut(unit).enumerate() {
            let at = k * unit;
            for ((s, b), &p) in s.iter_mut().zip(b).zip(&periods) {
                *s = b[at / p];
            }
            segment(seg, &self.steps, &s[..self.steps.len()]);
        }
    }
}

fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Whether a tensor's values lie in C order, one after the other, so its slice is the
/// tensor. An axis of length 1 may carry any stride (see the module's note).
fn natural(t: &Tensor) -> bool {
    let want = Tensor::natural_strides(t.shape());
    t.len() == t.shape().iter().product::<usize>()
        && t.shape()
            .iter()
            .zip(t.strides().iter().zip(want.iter()))
            .all(|(&d, (s, w))| d == 1 || s == w)
}

impl Op for BlockChain {
    fn name(&self) -> StaticName {
        format!("BlockChain({:?})", self.steps.as_slice()).into()
    }

    op_as_typed_op!();
}

impl EvalOp for BlockChain {
    op_out_of_plan!();

    fn eval(&self, ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let f32_natural = |t: &TValue| t.datum_type() == f32::datum_type() && natural(t);
        let fits = inputs.len() == self.steps.len() + 1
            && inputs.iter().all(f32_natural)
            && inputs[1..]
                .iter()
                .all(|b| b.len() > 0 && inputs[0].len().is_multiple_of(b.len()));
        if !fits || inputs[0].len() == 0 {
            return self.tract.eval(ctx, inputs);
        }
        let mut inputs = inputs;
        let mut a = inputs.remove(0).into_tensor();
        {
            let views = inputs
                .iter()
                .map(|b| b.to_plain_array_view::<f32>())
                .collect::<TractResult<TVec<_>>>()?;
            let b = views
                .iter()
                .map(|v| v.as_slice())
                .collect::<Option<TVec<&[f32]>>>()
                .ok_or_else(|| format_err!("element-wise chain operand is not contiguous"))?;
            let mut x = a.to_plain_array_view_mut::<f32>()?;
            let x = x
                .as_slice_mut()
                .ok_or_else(|| format_err!("element-wise chain input is not contiguous"))?;
            self.run(x, &b);
        }
        Ok(tvec!(a.into_tvalue()))
    }
}

impl TypedOp for BlockChain {
    as_op!();

    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        self.tract.output_facts(inputs)
    }
}

/// [`BlockChain`] for a tract chain whose every step takes one scalar per block of an f32
/// input (anything else keeps tract's).
pub(super) fn block_chain(chain: &OptBinChain, fact: &TypedFact) -> Option<Box<dyn TypedOp>> {
    let per_block = chain.steps.iter().all(|s| s.share == BShare::PerBlock);
    let steps = chain.steps.iter().map(|s| s.linalg_op).collect();
    ours(steps, per_block, fact, Box::new(chain.clone()))
}

/// [`BlockChain`] of one step for tract's lone by-scalar operator on an f32 input.
pub(super) fn block_step(op: &OptBinByScalar, fact: &TypedFact) -> Option<Box<dyn TypedOp>> {
    ours(tvec![op.linalg_op], true, fact, Box::new(op.clone()))
}

fn ours(
    steps: TVec<BinOp>,
    per_block: bool,
    fact: &TypedFact,
    tract: Box<dyn TypedOp>,
) -> Option<Box<dyn TypedOp>> {
    (per_block && fact.datum_type == f32::datum_type() && steps.len() <= MAX_STEPS)
        .then(|| Box::new(BlockChain { steps, tract }) as Box<dyn TypedOp>)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::model::swap::{seeded, use_own_fused_ops};
    use tract_onnx::tract_core::ops::math::{add, max, min, mul, sub};

    /// A batch-norm and ReLU as ONNX models reach tract after declutter: per-channel `Mul`
    /// and `Add` over `[n, c, h, w]`, then `Max` with a scalar, plus an odd `Sub` and `Min`.
    fn model(shape: [usize; 4], scalars: &[f32], relu: f32) -> TypedModel {
        let mut m = TypedModel::default();
        let x = m.add_source("x", f32::fact(shape)).unwrap();
        let c = shape[1];
        let per_channel = |m: &mut TypedModel, name: &str, k: usize| {
            let v: Vec<f32> = (0..c)
                .map(|i| scalars[(i * 7 + k) % scalars.len()])
                .collect();
            let t = Tensor::from_shape(&[1, c, 1, 1], &v).unwrap();
            m.add_const(name, t).unwrap()
        };
        let mut y = x;
        let ops: [(&str, Box<dyn TypedOp>); 5] = [
            ("mul", Box::new(mul())),
            ("add", Box::new(add())),
            ("sub", Box::new(sub())),
            ("mul2", Box::new(mul())),
            ("add2", Box::new(add())),
        ];
        for (k, (name, op)) in ops.into_iter().enumerate() {
            let b = per_channel(&mut m, &format!("{name}.b"), k);
            y = m.wire_node(name, op, &[y, b]).unwrap()[0];
        }
        let zero = m
            .add_const("zero", Tensor::from_shape(&[1, 1, 1, 1], &[relu]).unwrap())
            .unwrap();
        y = m.wire_node("relu", max(), &[y, zero]).unwrap()[0];
        let cap = per_channel(&mut m, "cap.b", 5);
        y = m.wire_node("cap", min(), &[y, cap]).unwrap()[0];
        m.select_output_outlets(&[y]).unwrap();
        m.into_optimized().unwrap()
    }

    fn run(m: TypedModel, shape: [usize; 4], x: &[f32]) -> Vec<u32> {
        let t = Tensor::from_shape(&shape, x).unwrap();
        let out = m
            .into_runnable()
            .unwrap()
            .run(tvec!(t.into_tvalue()))
            .unwrap();
        let v = out[0].to_plain_array_view::<f32>().unwrap();
        v.iter().map(|v| v.to_bits()).collect()
    }

    fn values(len: usize, seed: u64, specials: bool) -> Vec<f32> {
        let mut next = seeded(seed);
        (0..len)
            .map(|i| {
                let s = next();
                let special = [f32::NAN, 0.0, -0.0, f32::INFINITY, f32::NEG_INFINITY, 1.0];
                if specials && i % 5 == 3 {
                    special[(s >> 60) as usize % special.len()]
                } else {
                    ((s >> 40) as f32 / 16_777_216.0) * 8.0 - 4.0
                }
            })
            .collect()
    }

    /// Ours and tract's on one shape, checking that none of tract's chains is left; returns
    /// how many were replaced.
    fn compare(shape: [usize; 4], scalars: &[f32], relu: f32, x: &[f32]) -> usize {
        let theirs = model(shape, scalars, relu);
        let mut ours = theirs.clone();
        let swapped = use_own_fused_ops(&mut ours).unwrap();
        assert!(
            ours.nodes()
                .iter()
                .all(|n| !n.op_is::<OptBinChain>() && !n.op_is::<OptBinByScalar>()),
            "{shape:?}: {ours}"
        );
        let (a, b) = (run(theirs, shape, x), run(ours, shape, x));
        // NaN payloads may differ between kernels. Natively tract's `Max` / `Min` are
        // `f32::max` / `f32::min`, which may pick either zero of `-0.0` and `0.0`; in wasm
        // they are `pmax` / `pmin`, as ours, and every value must be the same bits.
        let same = |a: u32, b: u32| {
            let (x, y) = (f32::from_bits(a), f32::from_bits(b));
            a == b || (x.is_nan() && y.is_nan()) || (cfg!(not(target_arch = "wasm32")) && x == y)
        };
        for (i, (&a, &b)) in a.iter().zip(&b).enumerate() {
            assert!(
                same(a, b),
                "{shape:?} at {i}: tract {} ours {} (x {})",
                f32::from_bits(a),
                f32::from_bits(b),
                x[i]
            );
        }
        swapped
    }

    // the planes of densenet's blocks (56, 28, 14 and 7 square), odd ones, and one value
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn same_bits_as_tract() {
        let scalars = [0.9f32, -1.3, 0.05, 2.0, -0.0, 0.0, 1.0, -0.7];
        let shapes = [
            [1, 3, 56, 56],
            [1, 8, 28, 28],
            [2, 5, 14, 14],
            [1, 9, 7, 7],
            [1, 4, 3, 5],
            [1, 1, 1, 1],
            [3, 2, 1, 17],
        ];
        for (k, shape) in shapes.into_iter().enumerate() {
            let len: usize = shape.iter().product();
            for specials in [false, true] {
                let x = values(len, k as u64 + 1, specials);
                let swapped = compare(shape, &scalars, 0.0, &x);
                // tract makes chains of the planes of real networks (smaller ones may go
                // other ways)
                assert!(k > 3 || swapped >= 1, "{shape:?}: no chain replaced");
            }
        }
    }

    // per-channel operands as real models deliver them, `[1, C, 1, 1]` with strides
    // `[1, 1, 1, 1]`: ours takes its own path on them and gives tract's generic path's values
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn operands_with_odd_strides() {
        let shape = [1usize, 6, 7, 7];
        let theirs = model(shape, &[0.9, -1.3, 0.05, 2.0, 1.0, -0.7], 0.0);
        let mut ours = theirs.clone();
        use_own_fused_ops(&mut ours).unwrap();
        let op_of = |m: &TypedModel, what: &str| {
            m.nodes()
                .iter()
                .find(|n| n.op().name().starts_with(what))
                .map(|n| (n.op.clone(), n.inputs.len()))
                .unwrap()
        };
        let (tract_op, n) = op_of(&theirs, "OptBinChain");
        let (our_op, _) = op_of(&ours, "BlockChain");
        let x = Tensor::from_shape(&shape, &values(6 * 49, 3, true)).unwrap();
        let mut inputs = tvec!(x.into_tvalue());
        for k in 1..n {
            let v: Vec<f32> = (0..6).map(|i| 0.25 * (i + k) as f32 - 1.0).collect();
            let mut b = Tensor::from_shape(&[6], &v).unwrap();
            b.insert_axis(0).unwrap();
            b.insert_axis(2).unwrap();
            b.insert_axis(3).unwrap();
            inputs.push(b.into_tvalue());
        }
        // tract's fast path refuses these operands; ours takes them (and so runs its own path)
        assert!(inputs[1..]
            .iter()
            .all(|b| natural(b) && !natural_everywhere(b)));
        let ctx = EvalContext::out_of_plan();
        let bits = |o: TVec<TValue>| -> Vec<u32> {
            let v = o[0].to_plain_array_view::<f32>().unwrap();
            v.iter().map(|v| v.to_bits()).collect()
        };
        let a = bits(tract_op.eval(&ctx, inputs.clone()).unwrap());
        let b = bits(our_op.eval(&ctx, inputs).unwrap());
        assert_eq!(a.len(), b.len());
        for (i, (a, b)) in a.iter().zip(&b).enumerate() {
            let (x, y) = (f32::from_bits(*a), f32::from_bits(*b));
            assert!(
                a == b || (x.is_nan() && y.is_nan()) || x == y,
                "at {i}: {x} {y}"
            );
        }
    }

    fn natural_everywhere(t: &Tensor) -> bool {
        t.strides() == &*Tensor::natural_strides(t.shape())
    }

    // a NaN or signed-zero scalar on Max, and a NaN scale on a channel
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn special_scalars() {
        let x = values(4 * 7 * 7, 9, true);
        for relu in [f32::NAN, -0.0, f32::NEG_INFINITY] {
            let swapped = compare([1, 4, 7, 7], &[1.5, f32::NAN, -2.0, 0.5], relu, &x);
            assert!(swapped >= 1);
        }
    }
}
