//! Matrix-product kernels of our own for the wasm SIMD builds, put into tract's kernel choice
//! through its public registries (tract-linalg's `MmmRoutine` and `MmmTier` inventories).
//!
//! tract-linalg's wasm f32 kernel for every matrix product is 8 rows x 8 columns: 16 `v128`
//! accumulators, plus two loads of each operand and eight broadcasts per step of k. It was
//! tuned where the engine has 32 vector registers; a browser on x86-64 compiles wasm SIMD to
//! 16 XMM registers, so that kernel spills accumulators to the stack on every step. Ours keep
//! fewer rows (each row two `v128` accumulators for 8 columns) and broadcast each row's
//! operand straight from memory (`v128.load32_splat`, one instruction on x86), so everything
//! stays in registers. Everything else is tract's: the packing (A in panels of MR rows, B in
//! panels of 8 columns), the border tiles, the fused operations and the threads.
//!
//! Each output element is the same sequence of multiply-adds, in the same order over k, as in
//! tract's kernel, fused in the relaxed-SIMD build exactly where tract's is: the results are the
//! same bits (tests below run models through both).

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod kernels {
    use std::arch::wasm32::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use tract_onnx::prelude::DatumType;
    use tract_onnx::tract_core::internal::inventory;
    use tract_onnx::tract_core::tract_linalg::isa::{Arch, IsaSet};
    use tract_onnx::tract_core::tract_linalg::mmm::{DynKernel, FusedKerSpec, Query, Suitable};
    use tract_onnx::tract_core::tract_linalg::mmm_routines::MmmRoutine;
    use tract_onnx::tract_core::tract_linalg::mmm_tiers::MmmTier;
    use tract_onnx::tract_core::tract_linalg::pack::Packing;
    use tract_onnx::tract_core::tract_linalg::Scaler;

    /// acc + a * b: fused in the relaxed-SIMD build (as tract's 8x8 kernel is), else a
    /// multiply then an add.
    #[inline(always)]
    fn madd(acc: v128, a: v128, b: v128) -> v128 {
        #[cfg(target_feature = "relaxed-simd")]
        {
            f32x4_relaxed_madd(a, b, acc)
        }
        #[cfg(not(target_feature = "relaxed-simd"))]
        {
            f32x4_add(acc, f32x4_mul(a, b))
        }
    }

    /// Four f32 at `stride` bytes apart, from `p`.
    #[inline(always)]
    unsafe fn gather(p: *const u8, stride: isize) -> v128 {
        unsafe {
            if stride == 4 {
                v128_load(p as *const v128)
            } else {
                f32x4(
                    *(p as *const f32),
                    *(p.offset(stride) as *const f32),
                    *(p.offset(stride * 2) as *const f32),
                    *(p.offset(stride * 3) as *const f32),
                )
            }
        }
    }

    /// Four f32 lanes to `stride` bytes apart, from `p`.
    #[inline(always)]
    unsafe fn scatter(p: *mut u8, stride: isize, v: v128) {
        unsafe {
            if stride == 4 {
                v128_store(p as *mut v128, v)
            } else {
                *(p as *mut f32) = f32x4_extract_lane::<0>(v);
                *(p.offset(stride) as *mut f32) = f32x4_extract_lane::<1>(v);
                *(p.offset(stride * 2) as *mut f32) = f32x4_extract_lane::<2>(v);
                *(p.offset(stride * 3) as *mut f32) = f32x4_extract_lane::<3>(v);
            }
        }
    }

    /// One kernel of MR rows x 8 columns, its rows listed (`$r`) so that every row's code is
    /// written out: the accumulators are then plain locals the compiler keeps in registers,
    /// whatever its unrolling limits. Row `r` of the tile is `acc[r]`: columns 0-3 in the first
    /// vector, 4-7 in the second (the order tract's border tiles are loaded in).
    macro_rules! kernel {
        ($name:ident, $mr:literal, [$($r:literal),+]) => {
            #[inline(never)]
            unsafe fn $name(spec: &[FusedKerSpec<f32>]) -> isize {
                const MR: usize = $mr;
                let zero = f32x4_splat(0.0);
                let mut acc = [[zero; 2]; MR];
                // `acc = f(acc)` for every accumulator.
                macro_rules! all {
                    ($f:expr) => {{
                        let f = $f;
                        $(
                            acc[$r][0] = f(acc[$r][0]);
                            acc[$r][1] = f(acc[$r][1]);
                        )+
                    }};
                }
                // `acc = f(splat(p[row]), acc)` for every row.
                macro_rules! per_row {
                    ($p:expr, $f:expr) => {{
                        let (p, f) = ($p, $f);
                        $(
                            let s = f32x4_splat(*p.add($r));
                            acc[$r][0] = f(s, acc[$r][0]);
                            acc[$r][1] = f(s, acc[$r][1]);
                        )+
                    }};
                }
                // `acc = f(cols, acc)` for every row, the 8 columns' operands in two vectors.
                macro_rules! per_col {
                    ($p:expr, $f:expr) => {{
                        let (c, f) = ($p as *const v128, $f);
                        let (lo, hi) = (v128_load(c), v128_load(c.add(1)));
                        $(
                            acc[$r][0] = f(lo, acc[$r][0]);
                            acc[$r][1] = f(hi, acc[$r][1]);
                        )+
                    }};
                }
                unsafe {
                    for s in spec {
                        match *s {
                            FusedKerSpec::Done => break,
                            FusedKerSpec::Clear => all!(|_| zero),
                            FusedKerSpec::LoadTile(_cols, rows) => {
                                let p = rows as *const v128;
                                $(
                                    acc[$r][0] = *p.add(2 * $r);
                                    acc[$r][1] = *p.add(2 * $r + 1);
                                )+
                            }
                            FusedKerSpec::ScalarMin(a) => {
                                let s = f32x4_splat(a);
                                all!(|v| f32x4_min(s, v))
                            }
                            FusedKerSpec::ScalarMax(a) => {
                                let s = f32x4_splat(a);
                                all!(|v| f32x4_max(s, v))
                            }
                            FusedKerSpec::ScalarAdd(a) => {
                                let s = f32x4_splat(a);
                                all!(|v| f32x4_add(s, v))
                            }
                            FusedKerSpec::ScalarMul(a) => {
                                let s = f32x4_splat(a);
                                all!(|v| f32x4_mul(s, v))
                            }
                            FusedKerSpec::ScalarSub(a) => {
                                let s = f32x4_splat(a);
                                all!(|v| f32x4_sub(s, v))
                            }
                            FusedKerSpec::ScalarSubF(a) => {
                                let s = f32x4_splat(a);
                                all!(|v| f32x4_sub(v, s))
                            }
                            FusedKerSpec::LeakyRelu(a) => {
                                let s = f32x4_splat(a);
                                all!(|v| v128_bitselect(v, f32x4_mul(s, v), f32x4_gt(v, zero)))
                            }
                            FusedKerSpec::PerRowMin(p) => per_row!(p, |s, v| f32x4_min(s, v)),
                            FusedKerSpec::PerRowMax(p) => per_row!(p, |s, v| f32x4_max(s, v)),
                            FusedKerSpec::PerRowAdd(p) => per_row!(p, |s, v| f32x4_add(s, v)),
                            FusedKerSpec::PerRowMul(p) => per_row!(p, |s, v| f32x4_mul(s, v)),
                            FusedKerSpec::PerRowSub(p) => per_row!(p, |s, v| f32x4_sub(s, v)),
                            FusedKerSpec::PerRowSubF(p) => per_row!(p, |s, v| f32x4_sub(v, s)),
                            FusedKerSpec::PerColMin(p) => per_col!(p, |c, v| f32x4_min(c, v)),
                            FusedKerSpec::PerColMax(p) => per_col!(p, |c, v| f32x4_max(c, v)),
                            FusedKerSpec::PerColAdd(p) => per_col!(p, |c, v| f32x4_add(c, v)),
                            FusedKerSpec::PerColMul(p) => per_col!(p, |c, v| f32x4_mul(c, v)),
                            FusedKerSpec::PerColSub(p) => per_col!(p, |c, v| f32x4_sub(c, v)),
                            FusedKerSpec::PerColSubF(p) => per_col!(p, |c, v| f32x4_sub(v, c)),
                            FusedKerSpec::QScale(shift, rp, mult) => {
                                let s = f32x4_splat(Scaler::from_fuse_params(shift, rp, mult).scale);
                                all!(|v| f32x4_mul(s, v))
                            }
                            FusedKerSpec::RoundingShiftRight(shift, _) => {
                                let s = f32x4_splat(2f32.powi(-(shift as i32)));
                                all!(|v| f32x4_mul(s, v))
                            }
                            FusedKerSpec::ShiftLeft(shift) => {
                                let s = f32x4_splat(2f32.powi(shift as i32));
                                all!(|v| f32x4_mul(s, v))
                            }
                            FusedKerSpec::AddUnicast(tile) => {
                                let (rs, cs) = (tile.row_byte_stride, tile.col_byte_stride);
                                $(
                                    let p = tile.ptr.offset(rs * $r) as *const u8;
                                    acc[$r][0] = f32x4_add(acc[$r][0], gather(p, cs));
                                    acc[$r][1] = f32x4_add(acc[$r][1], gather(p.offset(cs * 4), cs));
                                )+
                            }
                            FusedKerSpec::AddRowColProducts(rows, cols) => {
                                let c = cols as *const v128;
                                let (lo, hi) = (v128_load(c), v128_load(c.add(1)));
                                $(
                                    let s = f32x4_splat(*rows.add($r));
                                    acc[$r][0] = madd(acc[$r][0], s, lo);
                                    acc[$r][1] = madd(acc[$r][1], s, hi);
                                )+
                            }
                            FusedKerSpec::Store(tile) => {
                                let (rs, cs) = (tile.row_byte_stride, tile.col_byte_stride);
                                $(
                                    let p = tile.ptr.offset(rs * $r);
                                    scatter(p, cs, acc[$r][0]);
                                    scatter(p.offset(cs * 4), cs, acc[$r][1]);
                                )+
                            }
                            FusedKerSpec::AddMatMul { k, pa, pb, packing: _ } => {
                                let a = pa as *const u32;
                                let b = pb as *const v128;
                                for i in 0..k {
                                    let lo = v128_load(b.add(2 * i));
                                    let hi = v128_load(b.add(2 * i + 1));
                                    let a = a.add(MR * i);
                                    $(
                                        let s = v128_load32_splat(a.add($r));
                                        acc[$r][0] = madd(acc[$r][0], s, lo);
                                        acc[$r][1] = madd(acc[$r][1], s, hi);
                                    )+
                                }
                            }
                        }
                    }
                }
                0
            }
        };
    }

    kernel!(kernel_4x8, 4, [0, 1, 2, 3]);

    pub(super) const NAME_4X8: &str = "medtriage_f32_4x8";

    fn make<const MR: usize>(
        name: &str,
        kernel: unsafe fn(&[FusedKerSpec<f32>]) -> isize,
    ) -> DynKernel<MR, 8, f32> {
        let mut k = DynKernel::<MR, 8, f32>::new(name, kernel, f32::packing(MR), f32::packing(8));
        k.arch = Some(Arch::Wasm32Simd128);
        k
    }

    inventory::submit! {
        MmmRoutine { make: || make::<4>(NAME_4X8, kernel_4x8).mmm() }
    }

    /// Whether tract runs our kernel for the f32 matrix products loaded from now on (the tests
    /// turn it off to compare with tract's own).
    pub(super) static OURS: AtomicBool = AtomicBool::new(true);

    /// Our tier: above tract's wasm tier, it names our kernel for every f32 matrix product but
    /// the matrix-vector ones (n = 1), which stay with tract's column kernels.
    fn preferred(
        _isa: &IsaSet,
        dt: DatumType,
        query: &Query,
        _suitable: &[Suitable],
    ) -> Option<&'static str> {
        if dt != DatumType::F32 || query.n == Some(1) {
            return None;
        }
        OURS.load(Ordering::Relaxed).then_some(NAME_4X8)
    }

    inventory::submit! {
        MmmTier {
            arch: Some(Arch::Wasm32Simd128),
            precedence: 2,
            name: "medtriage-wasm-simd128",
            applies: |_| true,
            preferred,
        }
    }
}

/// Turns our kernel on or off for the models loaded from then on.
#[cfg(all(test, target_arch = "wasm32", target_feature = "simd128"))]
fn use_ours(on: bool) {
    kernels::OURS.store(on, std::sync::atomic::Ordering::Relaxed);
}

#[cfg(all(test, target_arch = "wasm32", target_feature = "simd128"))]
mod tests {
    use super::kernels::NAME_4X8;
    use super::*;
    use crate::engine::model::swap::seeded;
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
        let cases = [
            Case {
                n: 1,
                ci: 3,
                co: 5,
                hw: [7, 9],
                k: [3, 3],
                stride: 1,
                group: 1,
            },
            Case {
                n: 1,
                ci: 16,
                co: 16,
                hw: [13, 13],
                k: [1, 1],
                stride: 1,
                group: 1,
            },
            Case {
                n: 1,
                ci: 16,
                co: 16,
                hw: [13, 13],
                k: [3, 3],
                stride: 1,
                group: 1,
            },
            Case {
                n: 3,
                ci: 8,
                co: 13,
                hw: [11, 6],
                k: [3, 3],
                stride: 2,
                group: 1,
            },
            Case {
                n: 1,
                ci: 24,
                co: 24,
                hw: [10, 10],
                k: [1, 1],
                stride: 1,
                group: 3,
            },
            Case {
                n: 1,
                ci: 64,
                co: 70,
                hw: [17, 15],
                k: [3, 3],
                stride: 1,
                group: 1,
            },
            Case {
                n: 2,
                ci: 1,
                co: 1,
                hw: [5, 5],
                k: [3, 3],
                stride: 1,
                group: 1,
            },
            Case {
                n: 1,
                ci: 32,
                co: 33,
                hw: [1, 1],
                k: [1, 1],
                stride: 1,
                group: 1,
            },
        ];
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
