//! What our own operators share: putting them in place of tract's in a typed model (before it
//! is optimized, or after, for the fused operators optimization makes), and running a flat f32
//! slice through them.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;

use super::chain::{block_chain, block_step};
use super::lrn::slice_lrn;
use super::maxpool::row_maxpool;

/// Our operators in place of tract's slower ones (the same results): LRN and 2-D max-pool.
/// Returns how many nodes were replaced.
pub(super) fn use_own_ops(model: &mut TypedModel) -> TractResult<usize> {
    // (and our matrix-product kernel, which tract picks while it optimizes)
    medtriage_kernels::keep_linked();
    Ok(replace_ops(model, slice_lrn)? + replace_ops(model, row_maxpool)?)
}

/// Our operators in place of tract's slower fused ones in an optimized model (the same
/// results): runs of per-block element-wise steps. Returns how many nodes were replaced.
pub(super) fn use_own_fused_ops(model: &mut TypedModel) -> TractResult<usize> {
    Ok(replace_ops(model, block_chain)? + replace_ops(model, block_step)?)
}

/// Every node whose operator is a `T` gets the operator `make` returns for it and the fact of
/// its first input; a node for which `make` returns `None` keeps its own.
fn replace_ops<T: TypedOp + Clone>(
    model: &mut TypedModel,
    make: impl Fn(&T, &TypedFact) -> Option<Box<dyn TypedOp>>,
) -> TractResult<usize> {
    let mut replaced = 0;
    for id in 0..model.nodes().len() {
        let Some(op) = model.node(id).op_as::<T>().cloned() else {
            continue;
        };
        let fact = model.outlet_fact(model.node(id).inputs[0])?;
        if let Some(ours) = make(&op, fact) {
            model.node_mut(id).op = ours;
            replaced += 1;
        }
    }
    Ok(replaced)
}

/// Runs `f` over the input's values as one contiguous f32 slice, and makes its `(shape,
/// values)` the output tensor without a second copy. `what` names the operator in errors.
pub(super) fn eval_f32(
    input: &TValue,
    what: &str,
    f: impl FnOnce(&[usize], &[f32]) -> TractResult<(Vec<usize>, Vec<f32>)>,
) -> TractResult<TVec<TValue>> {
    let view = input.to_plain_array_view::<f32>()?;
    let x = view
        .as_slice()
        .ok_or_else(|| format_err!("{what} input is not contiguous"))?;
    let (shape, y) = f(input.shape(), x)?;
    Ok(tvec!(
        tract_ndarray::ArrayD::from_shape_vec(shape, y)?.into_tvalue()
    ))
}

/// Seeded pseudo-random numbers for the operators' tests: Knuth's 64-bit linear congruential
/// generator, each call the next state.
#[cfg(test)]
pub(super) fn seeded(seed: u64) -> impl FnMut() -> u64 {
    let mut s = seed;
    move || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        s
    }
}
