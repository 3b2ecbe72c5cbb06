//! Reading `.npy` arrays in the benchmark examples (shared by `#[path]`).

use std::path::Path;

/// Shape and values (as f64, row-major) of a 1-D or 2-D `.npy` array of f64/f32/i64/u16.
pub fn npy(path: &Path) -> Option<(Vec<usize>, Vec<f64>)> {
    let bytes = std::fs::read(path).ok()?;
    let f = npyz::NpyFile::new(&bytes[..]).ok()?;
    let shape: Vec<usize> = f.shape().iter().map(|&v| v as usize).collect();
    let fortran = f.order() == npyz::Order::Fortran;
    let (tc, size) = match f.dtype() {
        npyz::DType::Plain(t) => (t.type_char(), t.num_bytes().unwrap_or(0)),
        _ => return None,
    };
    let v: Vec<f64> = match (tc, size) {
        (npyz::TypeChar::Float, 8) => f.into_vec::<f64>().ok()?,
        (npyz::TypeChar::Float, 4) => f
            .into_vec::<f32>()
            .ok()?
            .into_iter()
            .map(f64::from)
            .collect(),
        (npyz::TypeChar::Int, 8) => f
            .into_vec::<i64>()
            .ok()?
            .into_iter()
            .map(|x| x as f64)
            .collect(),
        (npyz::TypeChar::Uint, 2) => f
            .into_vec::<u16>()
            .ok()?
            .into_iter()
            .map(f64::from)
            .collect(),
        _ => return None,
    };
    if fortran && shape.len() == 2 {
        let (r, c) = (shape[0], shape[1]);
        return Some((shape, (0..r * c).map(|x| v[(x % c) * r + x / c]).collect()));
    }
    Some((shape, v))
}

/// Integer labels.
pub fn labels(path: &Path) -> Option<Vec<usize>> {
    npy(path).map(|(_, v)| v.into_iter().map(|x| x as usize).collect())
}
