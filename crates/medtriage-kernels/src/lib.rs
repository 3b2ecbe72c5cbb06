//! A matrix-product kernel of medtriage's own for the wasm SIMD builds, put into tract's kernel choice
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
//! same bits (medtriage's tests run models through both, in Chromium).

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod kernels {
    use std::arch::wasm32::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use tract_data::prelude::DatumType;
    use tract_linalg::isa::{Arch, IsaSet};
    use tract_linalg::mmm::{DynKernel, FusedKerSpec, Query, Suitable};
    use tract_linalg::mmm_routines::MmmRoutine;
    use tract_linalg::mmm_tiers::MmmTier;
    use tract_linalg::pack::Packing;
    use tract_linalg::Scaler;

    use super::KERNEL_NAME;

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

    /// One kernel of as many rows as are listed (`$r`) x 8 columns: every row's code is
    /// written out: the accumulators are then plain locals the compiler keeps in registers,
    /// whatever its unrolling limits. Row `r` of the tile is `acc[r]`: columns 0-3 in the first
    /// vector, 4-7 in the second (the order tract's border tiles are loaded in).
    macro_rules! kernel {
        ($name:ident, [$($r:literal),+]) => {
            #[inline(never)]
            pub(super) unsafe fn $name(spec: &[FusedKerSpec<f32>]) -> isize {
                const MR: usize = [$($r),+].len();
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
                // `acc = f(splat(a), acc)` for every accumulator.
                macro_rules! scalar {
                    ($a:expr, $f:expr) => {{
                        let (s, f) = (f32x4_splat($a), $f);
                        all!(|v| f(s, v))
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
                            FusedKerSpec::ScalarMin(a) => scalar!(a, |s, v| f32x4_min(s, v)),
                            FusedKerSpec::ScalarMax(a) => scalar!(a, |s, v| f32x4_max(s, v)),
                            FusedKerSpec::ScalarAdd(a) => scalar!(a, |s, v| f32x4_add(s, v)),
                            FusedKerSpec::ScalarMul(a) => scalar!(a, |s, v| f32x4_mul(s, v)),
                            FusedKerSpec::ScalarSub(a) => scalar!(a, |s, v| f32x4_sub(s, v)),
                            FusedKerSpec::ScalarSubF(a) => scalar!(a, |s, v| f32x4_sub(v, s)),
                            FusedKerSpec::LeakyRelu(a) => scalar!(a, |s, v| {
                                v128_bitselect(v, f32x4_mul(s, v), f32x4_gt(v, zero))
                            }),
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
                                let scale = Scaler::from_fuse_params(shift, rp, mult).scale;
                                scalar!(scale, |s, v| f32x4_mul(s, v))
                            }
                            FusedKerSpec::RoundingShiftRight(shift, _) => {
                                scalar!(2f32.powi(-(shift as i32)), |s, v| f32x4_mul(s, v))
                            }
                            FusedKerSpec::ShiftLeft(shift) => {
                                scalar!(2f32.powi(shift as i32), |s, v| f32x4_mul(s, v))
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

    kernel!(kernel_4x8, [0, 1, 2, 3]);

    /// The kernel as tract describes one: its tile, tract's own packings for that tile, and the
    /// architecture (tract's tiers only pick kernels written for the machine's).
    fn describe() -> DynKernel<4, 8, f32> {
        let mut k = DynKernel::new(KERNEL_NAME, kernel_4x8, f32::packing(4), f32::packing(8));
        k.arch = Some(Arch::Wasm32Simd128);
        k
    }

    inventory::submit! {
        MmmRoutine { make: || describe().mmm() }
    }

    /// Whether tract runs our kernel for the f32 matrix products loaded from now on (the tests
    /// turn it off to compare with tract's own).
    pub(super) static OURS: AtomicBool = AtomicBool::new(true);

    /// Our tier: above tract's wasm tier, it names our kernel for every f32 matrix product but
    /// the matrix-vector ones (n = 1), which stay with tract's column kernels.
    pub(super) fn preferred(
        _isa: &IsaSet,
        dt: DatumType,
        query: &Query,
        _suitable: &[Suitable],
    ) -> Option<&'static str> {
        if dt != DatumType::F32 || query.n == Some(1) {
            return None;
        }
        OURS.load(Ordering::Relaxed).then_some(KERNEL_NAME)
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

/// Our kernel and tier reach tract only through its registries, which no code names, and
/// wasm-ld drops an object nothing references, registry entries included: call this where
/// models are loaded so that they stay in every build.
pub fn keep_linked() {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    std::hint::black_box((
        kernels::kernel_4x8 as *const (),
        kernels::preferred as *const (),
    ));
}

/// Turns our kernel on (the default) or off for the models optimized from then on: off, tract
/// picks its own, which is how medtriage's tests compare the two. A no-op where there is no
/// kernel of ours.
pub fn use_ours(on: bool) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    kernels::OURS.store(on, std::sync::atomic::Ordering::Relaxed);
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    let _ = on;
}

/// The name tract's dispatch knows our kernel by (it is compiled only for wasm32 with SIMD).
pub const KERNEL_NAME: &str = "medtriage_f32_4x8";
