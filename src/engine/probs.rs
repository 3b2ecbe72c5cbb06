//! Probabilities and labels as every computation on them takes them, and the small numeric
//! helpers the triage and queue modules share.
//!
//! This module is a leaf: it uses nothing else of the engine, so any module may use it without
//! making a circle. It holds
//! - the one validator of a probability row ([`check_row`]) and of a row-major `n x k`
//!   probability matrix ([`check_prob_matrix`]), with the one tolerance on a row's sum
//!   ([`SUM_TOLERANCE`]);
//! - the checked views that carry what was validated, so that inner functions need not check
//!   again: [`Probs`] (an `n x k` matrix, finite, in `[0, 1]`, rows normalised) and [`Labels`]
//!   (`n` class indices, each `< k`);
//! - [`argmax`] (ties: lowest index) and [`argmax_tied`];
//! - the SplitMix64 generator ([`SplitMix64`]) and the binomial CDF ([`binom_cdf`],
//!   [`ln_binom_cdf`]).

use crate::error::{err, Result};

/// Tolerance on the sum of a probability row given as input: `|Σ p - 1| <= 1e-3`.
pub const SUM_TOLERANCE: f64 = 1e-3;

/// What is wrong with a probability row, if anything.
fn row_fault(row: &[f64]) -> Option<RowFault> {
    if row.iter().any(|v| !v.is_finite()) {
        return Some(RowFault::NotFinite);
    }
    if row.iter().any(|v| !(0.0..=1.0).contains(v)) {
        return Some(RowFault::OutsideUnit);
    }
    let s: f64 = row.iter().sum();
    if (s - 1.0).abs() > SUM_TOLERANCE {
        return Some(RowFault::Sum(s));
    }
    None
}

enum RowFault {
    NotFinite,
    OutsideUnit,
    Sum(f64),
}

/// Whether `row` is a probability distribution: finite, in `[0, 1]`, summing to 1 within
/// [`SUM_TOLERANCE`].
pub fn is_distribution(row: &[f64]) -> bool {
    row_fault(row).is_none()
}

/// Validate row `i` of `what` as a probability distribution (see [`is_distribution`]).
pub fn check_row(row: &[f64], i: usize, what: &str) -> Result<()> {
    match row_fault(row) {
        None => Ok(()),
        Some(RowFault::NotFinite) => Err(err!(
            InvalidProbabilities,
            "{what}: row {i} has NaN or infinity"
        )),
        Some(RowFault::OutsideUnit) => Err(err!(
            InvalidProbabilities,
            "{what}: row {i} has a value outside [0, 1]"
        )),
        Some(RowFault::Sum(s)) => Err(err!(
            InvalidProbabilities,
            "{what}: row {i} sums to {s}, not 1 (tolerance {SUM_TOLERANCE})"
        )),
    }
}

/// Validate every row of a row-major matrix with `k` columns (see [`check_row`]); the shape is
/// the caller's.
pub fn check_rows(data: &[f64], k: usize, what: &str) -> Result<()> {
    for (i, row) in data.chunks_exact(k.max(1)).enumerate() {
        check_row(row, i, what)?;
    }
    Ok(())
}

/// Validate the shape of a row-major `n x k` matrix (non-empty, `k >= 2`, length `n * k`).
pub fn check_shape(data: &[f64], n: usize, k: usize, what: &str) -> Result<()> {
    if n == 0 {
        return Err(err!(InsufficientData, "{what}: no items (n = 0)"));
    }
    if k < 2 {
        return Err(err!(
            InvalidInput,
            "{what}: need at least 2 classes, got k = {k}"
        ));
    }
    match n.checked_mul(k) {
        Some(len) if len == data.len() => Ok(()),
        _ => Err(err!(
            InvalidInput,
            "{what}: expected n x k = {n} x {k} values, got {}",
            data.len()
        )),
    }
}

/// Validate a row-major `n x k` probability matrix: shape ([`check_shape`]) and every row
/// ([`check_row`]).
pub fn check_prob_matrix(data: &[f64], n: usize, k: usize, what: &str) -> Result<()> {
    check_shape(data, n, k, what)?;
    check_rows(data, k, what)
}

/// Validate that every value of a row-major matrix with `k` columns is finite and in `[0, 1]`
/// (rows need not sum to 1); `column` names a column in the message ("column", "finding").
pub fn check_unit_values(data: &[f64], k: usize, column: &str) -> Result<()> {
    let k = k.max(1);
    if let Some(pos) = data.iter().position(|v| !v.is_finite()) {
        return Err(err!(
            InvalidProbabilities,
            "probability at row {}, {column} {} is not finite",
            pos / k,
            pos % k
        ));
    }
    if let Some(pos) = data.iter().position(|v| !(0.0..=1.0).contains(v)) {
        return Err(err!(
            InvalidProbabilities,
            "probability at row {}, {column} {} is outside [0, 1]",
            pos / k,
            pos % k
        ));
    }
    Ok(())
}

/// Validate a probability row of 32-bit floats, as a model's output gives it: finite (else
/// `non_finite_output`), in `[0, 1]`, summing to 1 within [`SUM_TOLERANCE`].
pub fn check_output_row(row: &[f32]) -> Result<()> {
    if row.iter().any(|v| !v.is_finite()) {
        return Err(err!(
            NonFiniteOutput,
            "probabilities contain NaN or infinity"
        ));
    }
    if row.iter().any(|&v| !(0.0..=1.0).contains(&v)) {
        return Err(err!(
            InvalidProbabilities,
            "probabilities must lie in [0, 1]"
        ));
    }
    let s: f64 = row.iter().map(|&v| v as f64).sum();
    if (s - 1.0).abs() > SUM_TOLERANCE {
        return Err(err!(
            InvalidProbabilities,
            "probabilities sum to {s}, not 1 (tolerance {SUM_TOLERANCE})"
        ));
    }
    Ok(())
}

/// Validate labels: `n` of them, each `< k`.
pub fn check_labels(labels: &[usize], n: usize, k: usize, what: &str) -> Result<()> {
    if labels.len() != n {
        return Err(err!(
            InvalidInput,
            "{what}: expected {n} labels, got {}",
            labels.len()
        ));
    }
    if let Some((i, &y)) = labels.iter().enumerate().find(|(_, &y)| y >= k) {
        return Err(err!(
            InvalidInput,
            "{what}: label {y} of item {i} is not < k = {k}"
        ));
    }
    Ok(())
}

/// Index of the largest value (ties: lowest index; NumPy's `argmax`).
#[inline]
pub fn argmax(row: &[f64]) -> usize {
    let mut best = 0;
    for (j, &v) in row.iter().enumerate().skip(1) {
        if v > row[best] {
            best = j;
        }
    }
    best
}

/// Index of the first maximum (lowest index on ties) and whether the maximum is tied.
pub fn argmax_tied(row: &[f64]) -> (usize, bool) {
    let mut best = 0;
    let mut tied = false;
    for (c, &v) in row.iter().enumerate().skip(1) {
        if v > row[best] {
            best = c;
            tied = false;
        } else if v == row[best] {
            tied = true;
        }
    }
    (best, tied)
}

/// A checked view of predicted probabilities: `n >= 1` rows x `k >= 2` columns, row-major,
/// every value finite and in `[0, 1]`, and (when made by [`Probs::new`]) every row summing to 1
/// within [`SUM_TOLERANCE`]. Functions taking a `Probs` do not validate it again.
#[derive(Debug, Clone, Copy)]
pub struct Probs<'a> {
    data: &'a [f64],
    n: usize,
    k: usize,
}

impl<'a> Probs<'a> {
    /// Validate `data` as `n x k` probabilities (shape, values, row sums).
    pub fn new(data: &'a [f64], n: usize, k: usize) -> Result<Self> {
        let p = Self::new_unchecked_sums(data, n, k)?;
        for i in 0..n {
            let s: f64 = p.row(i).iter().sum();
            if (s - 1.0).abs() > SUM_TOLERANCE {
                return Err(err!(
                    InvalidProbabilities,
                    "row {i} sums to {s}, not 1 (tolerance {SUM_TOLERANCE})"
                ));
            }
        }
        Ok(p)
    }

    /// Like [`Probs::new`] but rows need not sum to 1 (values still finite, in `[0, 1]`).
    pub fn new_unchecked_sums(data: &'a [f64], n: usize, k: usize) -> Result<Self> {
        if n == 0 {
            return Err(err!(InsufficientData, "no rows"));
        }
        if k < 2 {
            return Err(err!(InvalidInput, "need at least 2 classes, got {k}"));
        }
        if n.checked_mul(k) != Some(data.len()) {
            return Err(err!(
                InvalidInput,
                "probabilities have {} values, expected n x k = {n} x {k}",
                data.len()
            ));
        }
        check_unit_values(data, k, "column")?;
        Ok(Probs { data, n, k })
    }

    /// Rows.
    pub fn n(&self) -> usize {
        self.n
    }
    /// Classes.
    pub fn k(&self) -> usize {
        self.k
    }
    /// Row `i`.
    #[inline]
    pub fn row(&self, i: usize) -> &'a [f64] {
        &self.data[i * self.k..(i + 1) * self.k]
    }
    /// `p[i][j]`.
    #[inline]
    pub fn at(&self, i: usize, j: usize) -> f64 {
        self.data[i * self.k + j]
    }
    /// The flat row-major data.
    pub fn data(&self) -> &'a [f64] {
        self.data
    }
}

/// Checked labels: `n` class indices, each `< k`. Functions taking `Labels` do not check again.
#[derive(Debug, Clone, Copy)]
pub struct Labels<'a> {
    labels: &'a [usize],
    k: usize,
}

impl<'a> Labels<'a> {
    /// Validate `labels` against `n` items and `k` classes ([`check_labels`]).
    pub fn new(labels: &'a [usize], n: usize, k: usize, what: &str) -> Result<Self> {
        check_labels(labels, n, k, what)?;
        Ok(Labels { labels, k })
    }
    /// The labels.
    pub fn as_slice(&self) -> &'a [usize] {
        self.labels
    }
    /// Number of classes they were checked against.
    pub fn k(&self) -> usize {
        self.k
    }
}

/// SplitMix64 (Steele, Lea and Flood 2014), the documented generator of every random choice
/// in the engine: randomized conformal scores, audits, selections, simulations.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A stream seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }
    /// Next 64-bit output.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Next uniform in `[0, 1)`: `(x >> 11) * 2^-53`.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// `ln P(Binomial(n, p) <= k)`, by a log-space sum of the probability mass (exact up to
/// rounding), `0 < p < 1`.
pub fn ln_binom_cdf(k: usize, n: usize, p: f64) -> f64 {
    if k >= n {
        return 0.0;
    }
    let lr = p.ln() - (-p).ln_1p();
    let mut term = n as f64 * (-p).ln_1p(); // ln pmf(0)
    let mut acc = term;
    for j in 0..k {
        term += ((n - j) as f64 / (j + 1) as f64).ln() + lr;
        // log-sum-exp of acc and term
        let (hi, lo) = if acc > term { (acc, term) } else { (term, acc) };
        acc = hi + (lo - hi).exp().ln_1p();
    }
    acc.min(0.0)
}

/// `P(Binomial(n, p) <= k)`.
pub fn binom_cdf(k: usize, n: usize, p: f64) -> f64 {
    ln_binom_cdf(k, n, p).exp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_and_matrices() {
        assert!(check_prob_matrix(&[0.5, 0.5, 1.0, 0.0], 2, 2, "p").is_ok());
        let code = |r: Result<()>| r.unwrap_err().code();
        assert_eq!(
            code(check_prob_matrix(&[0.5, 0.5, 1.0], 2, 2, "p")),
            "invalid_input"
        );
        assert_eq!(code(check_prob_matrix(&[], 0, 2, "p")), "insufficient_data");
        assert_eq!(code(check_prob_matrix(&[1.0], 1, 1, "p")), "invalid_input");
        assert_eq!(
            code(check_prob_matrix(&[0.5, 0.6], 1, 2, "p")),
            "invalid_probabilities"
        );
        assert_eq!(
            code(check_prob_matrix(&[f64::NAN, 1.0], 1, 2, "p")),
            "invalid_probabilities"
        );
        assert_eq!(
            code(check_prob_matrix(&[1.5, -0.5], 1, 2, "p")),
            "invalid_probabilities"
        );
        // within the tolerance
        assert!(check_row(&[0.5, 0.5005], 0, "p").is_ok());
        assert!(!is_distribution(&[0.5, 0.502]));
    }

    #[test]
    fn output_rows() {
        assert!(check_output_row(&[0.2, 0.8]).is_ok());
        assert_eq!(
            check_output_row(&[0.2, 0.7]).unwrap_err().code(),
            "invalid_probabilities"
        );
        assert_eq!(
            check_output_row(&[f32::NAN, 1.0]).unwrap_err().code(),
            "non_finite_output"
        );
    }

    #[test]
    fn checked_views() {
        let p = Probs::new(&[0.2, 0.8, 0.6, 0.4], 2, 2).unwrap();
        assert_eq!((p.n(), p.k(), p.at(1, 0)), (2, 2, 0.6));
        assert_eq!(p.row(0), &[0.2, 0.8]);
        assert!(Probs::new(&[0.2, 0.7], 1, 2).is_err());
        assert!(Probs::new_unchecked_sums(&[0.2, 0.7], 1, 2).is_ok());
        assert!(Labels::new(&[0, 1], 2, 2, "y").is_ok());
        assert!(Labels::new(&[0, 2], 2, 2, "y").is_err());
        assert!(Labels::new(&[0], 2, 2, "y").is_err());
    }

    #[test]
    fn argmaxes() {
        assert_eq!(argmax(&[0.2, 0.4, 0.4]), 1);
        assert_eq!(argmax(&[0.5, 0.4, 0.1]), 0);
        assert_eq!(argmax_tied(&[0.2, 0.4, 0.4]), (1, true));
        assert_eq!(argmax_tied(&[0.5, 0.4, 0.1]), (0, false));
    }

    #[test]
    fn binomial_small_values() {
        assert!((binom_cdf(2, 10, 0.3) - 0.382_782_786_4).abs() < 1e-9);
        assert_eq!(binom_cdf(10, 10, 0.3), 1.0);
        assert!((binom_cdf(0, 5, 0.1) - 0.9f64.powi(5)).abs() < 1e-15);
    }

    #[test]
    fn splitmix_is_the_reference_stream() {
        // the first outputs of SplitMix64 seeded with 0 (the reference implementation's)
        let mut r = SplitMix64::new(0);
        assert_eq!(r.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(r.next_u64(), 0x6E78_9E6A_A1B9_65F4);
    }
}
