//! The blocked dot-product kernels that the kNN and near-duplicate scans share: rows in
//! tiles of [`TILE_ROWS`] against panels of [`PANEL`] packed rows.

/// Rows per tile in the blocked scans.
pub(super) const TILE_ROWS: usize = 4;
/// Columns per packed panel.
pub(super) const PANEL: usize = 8;

/// Pack rows into panels of [`PANEL`] rows stored dimension-major (`panel[t * 8 + j]`),
/// zero-padded.
pub(super) fn pack_panels<T: Copy + Default>(x: &[T], n: usize, d: usize) -> Vec<T> {
    let np = n.div_ceil(PANEL);
    let mut out = vec![T::default(); np * PANEL * d];
    for i in 0..n {
        let (p, j) = (i / PANEL, i % PANEL);
        for t in 0..d {
            out[p * PANEL * d + t * PANEL + j] = x[i * d + t];
        }
    }
    out
}

macro_rules! tile_kernel {
    ($name:ident, $t:ty) => {
        /// `acc[r][j] = a_r · b_j` for up to 4 rows of `a` and one packed panel.
        #[inline(always)]
        pub(super) fn $name(
            a: &[$t],
            rows: usize,
            d: usize,
            panel: &[$t],
            acc: &mut [[$t; PANEL]; TILE_ROWS],
        ) {
            *acc = [[0.0; PANEL]; TILE_ROWS];
            if rows == TILE_ROWS {
                let (a0, a1, a2, a3) = (&a[..d], &a[d..2 * d], &a[2 * d..3 * d], &a[3 * d..4 * d]);
                let mut c0 = [0.0 as $t; PANEL];
                let mut c1 = [0.0 as $t; PANEL];
                let mut c2 = [0.0 as $t; PANEL];
                let mut c3 = [0.0 as $t; PANEL];
                for t in 0..d {
                    let b: &[$t; PANEL] = panel[t * PANEL..t * PANEL + PANEL]
                        .try_into()
                        .unwrap_or(&[0.0; PANEL]);
                    let (x0, x1, x2, x3) = (a0[t], a1[t], a2[t], a3[t]);
                    for j in 0..PANEL {
                        c0[j] += x0 * b[j];
                        c1[j] += x1 * b[j];
                        c2[j] += x2 * b[j];
                        c3[j] += x3 * b[j];
                    }
                }
                *acc = [c0, c1, c2, c3];
            } else {
                for r in 0..rows {
                    let ar = &a[r * d..(r + 1) * d];
                    let mut c = [0.0 as $t; PANEL];
                    for t in 0..d {
                        let x = ar[t];
                        for j in 0..PANEL {
                            c[j] += x * panel[t * PANEL + j];
                        }
                    }
                    acc[r] = c;
                }
            }
        }
    };
}
tile_kernel!(tile_f64, f64);
tile_kernel!(tile_f32, f32);
