//! Binomial intervals and the normal tail: Clopper-Pearson, Wilson, the normal quantile
//! and `erfc`.

use crate::engine::probs::ln_binom_cdf;

/// Two-sided Clopper-Pearson interval for `x` successes in `n` trials at level `1 - alpha`
/// (statsmodels `proportion_confint(x, n, alpha, method="beta")`); `(0, 1)` when `n = 0`.
pub fn clopper_pearson(x: usize, n: usize, alpha: f64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let x = x.min(n);
    let a2 = alpha / 2.0;
    // lower: P(Bin(n, p) >= x) = a2, i.e. cdf(x - 1) = 1 - a2 (decreasing in p)
    let lo = if x == 0 {
        0.0
    } else {
        let target = (1.0 - a2).ln();
        bisect(|p| ln_binom_cdf(x - 1, n, p) >= target)
    };
    // upper: cdf(x) = a2
    let hi = if x == n {
        1.0
    } else {
        let target = a2.ln();
        bisect(|p| ln_binom_cdf(x, n, p) >= target)
    };
    (lo, hi)
}

/// Largest `p` in (0, 1) with `f(p)` true, for `f` true below and false above a point.
pub(super) fn bisect(f: impl Fn(f64) -> bool) -> f64 {
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    // 60 halvings reach 1e-18, far below the 1e-9 the goldens need
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        if hi - lo < 1e-16 {
            break;
        }
        if f(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// Standard normal quantile (Acklam's rational approximation refined by one Halley step on
/// the complementary error function; absolute error below 1e-12 in practice).
#[allow(clippy::excessive_precision)] // the published coefficients, verbatim
pub fn normal_quantile(p: f64) -> f64 {
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    const A: [f64; 6] = [
        -3.969683028665376e1,
        2.209460984245205e2,
        -2.759285104469687e2,
        1.383577518672690e2,
        -3.066479806614716e1,
        2.506628277459239,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e1,
        1.615858368580409e2,
        -1.556989798598866e2,
        6.680131188771972e1,
        -1.328068155288572e1,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-3,
        -3.223964580411365e-1,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    ];
    const D: [f64; 4] = [
        7.784695709041462e-3,
        3.224671290700398e-1,
        2.445134137142996,
        3.754408661907416,
    ];
    let pl = 0.02425;
    let x = if p < pl {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - pl {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        let q = (-2.0 * (1.0 - p).ln()).sqrt();
        -(((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    // Halley refinement
    let e = 0.5 * erfc(-x / std::f64::consts::SQRT_2) - p;
    let u = e * (2.0 * std::f64::consts::PI).sqrt() * (x * x / 2.0).exp();
    x - u / (1.0 + x * u / 2.0)
}

/// Complementary error function: the Maclaurin series of `erf` below 2, Lentz's continued
/// fraction above (both converge to double precision there).
pub fn erfc(x: f64) -> f64 {
    if x < 0.0 {
        return 2.0 - erfc(-x);
    }
    if x < 2.0 {
        // erf series: erf(x) = 2/sqrt(pi) * sum_n (-1)^n x^(2n+1) / (n! (2n+1))
        let mut sum = x;
        let mut term = x;
        let x2 = x * x;
        // at most 200 terms: below 2 the series reaches double precision in about 40, and at
        // x = 0 every term is zero (`<=` ends the loop there)
        for n in 1..200 {
            let n = n as f64;
            term *= -x2 / n;
            let add = term / (2.0 * n + 1.0);
            sum += add;
            if add.abs() <= 1e-17 * sum.abs() {
                break;
            }
        }
        1.0 - sum * 2.0 / std::f64::consts::PI.sqrt()
    } else {
        // Lentz continued fraction: erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + 1/2/(x + 1/(x + 3/2/(x + ...))))
        let tiny = 1e-300;
        let mut f = x;
        let mut c = x;
        let mut d = 0.0;
        for i in 1..500 {
            let a = i as f64 / 2.0;
            d = x + a * d;
            d = if d.abs() < tiny { tiny } else { d };
            c = x + a / c;
            c = if c.abs() < tiny { tiny } else { c };
            d = 1.0 / d;
            let delta = c * d;
            f *= delta;
            if (delta - 1.0).abs() < 1e-16 {
                break;
            }
        }
        (-x * x).exp() / (f * std::f64::consts::PI.sqrt())
    }
}

/// Wilson score interval at level `1 - alpha` (statsmodels `method="wilson"`); `(0, 1)` when
/// `n = 0`.
pub fn wilson(x: usize, n: usize, alpha: f64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let z = normal_quantile(1.0 - alpha / 2.0);
    let (nf, p) = (n as f64, x.min(n) as f64 / n as f64);
    let z2 = z * z;
    let denom = 1.0 + z2 / nf;
    let centre = (p + z2 / (2.0 * nf)) / denom;
    let half = z / denom * (p * (1.0 - p) / nf + z2 / (4.0 * nf * nf)).sqrt();
    ((centre - half).max(0.0), (centre + half).min(1.0))
}
