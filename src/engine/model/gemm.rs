//! Our matrix-product kernel (crates/medtriage-kernels) checked against tract's own: the kernel
//! is compiled only for wasm32 with SIMD, so these tests run in Chromium.

#[cfg(test)]
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod tests {
    use crate::engine::model::swap::seeded;
    use medtriage_kernels::{use_ours, KERNEL_NAME as NAME_4X8};
    use tract_onnx::prelude::*;
    use tract_onnx::tract_core::ops::cnn::{Conv, KernelFormat, PaddingSpec, PoolSpec};
    use tract_onnx::tract_core::ops::math;
    use tract_onnx::tract_core::ops::nn::DataFormat;
    use tract_onnx::tract_core::tract_linalg::mmm::MmmDispatch;
    use wasm_bindgen_test::wasm_bindgen_test as test;

    /// Seeded values in [-2, 2).
    fn values(len: usize, seed: u64) -> Vec<f32> {
        let mut next = seeded(seed);
        (0..len)
            .map(|_| ((next() >> 40) as f32 / 16_777_216.0) * 4.0 - 2.0)
            .collect()
    }

    /// One convolution (NCHW, `group` groups) with its bias, then ReLU, then the input added
    /// back when the shapes allow: after optimization the bias, the ReLU and the sum are fused
    /// into the matrix product (per-row add, scalar max, unicast add).
    struct Case {
        n: usize,
        ci: usize,
        co: usize,
        hw: [usize; 2],
        k: [usize; 2],
        stride: usize,
        group: usize,
    }

    fn model(c: &Case, seed: u64) -> TractResult<TypedModel> {
        let mut m = TypedModel::default();
        let x = m.add_source("x", f32::fact([c.n, c.ci, c.hw[0], c.hw[1]]))?;
        let w = values(c.co * c.ci / c.group * c.k[0] * c.k[1], seed);
        let w = m.add_const(
            "w",
            Tensor::from_shape(&[c.co, c.ci / c.group, c.k[0], c.k[1]], &w)?,
        )?;
        let b = m.add_const("b", Tensor::from_shape(&[c.co], &values(c.co, seed + 1))?)?;
        let pool_spec = PoolSpec {
            data_format: DataFormat::NCHW,
            kernel_shape: tvec!(c.k[0], c.k[1]),
            padding: PaddingSpec::SameUpper,
            dilations: None,
            strides: Some(tvec!(c.stride, c.stride)),
            input_channels: c.ci,
            output_channels: c.co,
        };
        let conv = Conv {
            pool_spec,
            kernel_fmt: KernelFormat::OIHW,
            group: c.group,
            q_params: None,
        };
        let y = m.wire_node("conv", conv, &[x, w, b])?[0];
        let zero = m.add_const("zero", tensor4(&[[[[0f32]]]]))?;
        let mut y = m.wire_node("relu", math::max(), &[y, zero])?[0];
        if c.ci == c.co && c.stride == 1 {
            y = m.wire_node("sum", math::add(), &[y, x])?[0];
        }
        m.select_output_outlets(&[y])?;
        Ok(m)
    }

    /// The output's bits, with our kernel or tract's.
    fn run(m: &TypedModel, x: &Tensor, ours: bool) -> TractResult<Vec<u32>> {
        use_ours(ours);
        let plan = m.clone().into_optimized()?.into_runnable()?;
        use_ours(true);
        let y = plan.run(tvec!(x.clone().into_tvalue()))?;
        Ok(y[0]
            .to_plain_array_view::<f32>()?
            .iter()
            .map(|v| v.to_bits())
            .collect())
    }

    #[test]
    fn ours_are_chosen() {
        let pick = |m, k, n| {
            MmmDispatch::native()
                .preferred_kernel(DatumType::F32, Some(m), Some(k), Some(n))
                .map(|k| k.name().to_string())
        };
        assert_eq!(pick(64, 64, 64).as_deref(), Some(NAME_4X8));
        assert_eq!(pick(5, 300, 7).as_deref(), Some(NAME_4X8));
        use_ours(false);
        assert_eq!(pick(64, 64, 64).as_deref(), Some("wasm_f32_8x8"));
        use_ours(true);
        // A matrix-vector product stays with tract's kernels.
        assert_ne!(pick(64, 64, 1).as_deref(), Some(NAME_4X8));
    }

    /// Convolutions of every size class: rows and columns that fill no tile, one tile, many;
    /// 1x1 (a plain product) and 3x3 (im2col); strided; grouped; a batch of 3.
    #[test]
    fn same_bits_as_tract() {
        // (n, ci, co, h, w, kernel, stride, group)
        let cases = [
            (1, 3, 5, 7, 9, 3, 1, 1),
            (1, 16, 16, 13, 13, 1, 1, 1),
            (1, 16, 16, 13, 13, 3, 1, 1),
            (3, 8, 13, 11, 6, 3, 2, 1),
            (1, 24, 24, 10, 10, 1, 1, 3),
            (1, 64, 70, 17, 15, 3, 1, 1),
            (2, 1, 1, 5, 5, 3, 1, 1),
            (1, 32, 33, 1, 1, 1, 1, 1),
        ]
        .map(|(n, ci, co, h, w, k, stride, group)| Case {
            n,
            ci,
            co,
            hw: [h, w],
            k: [k, k],
            stride,
            group,
        });
        for (i, c) in cases.iter().enumerate() {
            let m = model(c, 10 * i as u64).unwrap();
            let len = c.n * c.ci * c.hw[0] * c.hw[1];
            let x = Tensor::from_shape(&[c.n, c.ci, c.hw[0], c.hw[1]], &values(len, 7 + i as u64))
                .unwrap();
            let theirs = run(&m, &x, false).unwrap();
            assert!(theirs.iter().any(|&b| b != 0), "case {i}: all zero");
            assert_eq!(run(&m, &x, true).unwrap(), theirs, "case {i}");
        }
    }
}
