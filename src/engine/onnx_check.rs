//! A pass over the ONNX protobuf before tract sees it: the shapes (rank and known dimensions)
//! of every value, propagated through the common operators, and the checks tract does not
//! make itself. tract trusts some attributes and constant indices and panics on bad ones
//! while it analyses the model (a `Transpose` permutation naming axis 5 of a rank-2 tensor,
//! `Flatten`/`Split`/`Reduce*`/`Gather` axes out of range, a `Gather` of constants at an
//! index past the end). Natively such a panic is caught, but in wasm it is a trap that kills
//! the instance, so each of these is refused here as `invalid_model`, naming the operator.
//!
//! The same pass bounds the work a model can ask for before it runs: a `Scan` whose trip
//! count (the scanned axis, times that of every enclosing `Scan`) exceeds
//! [`MAX_SCAN_ITERATIONS`], and a `Range` of constants longer than `maxTensorBytes` allows.
//!
//! An operator this pass does not know gives outputs of unknown shape, and nothing depending
//! on them is checked here: the budget checks after tract's shape inference still apply.

use std::collections::{HashMap, HashSet};

use tract_onnx::pb::{self, GraphProto, NodeProto, TensorProto};

use super::limits::MAX_SCAN_ITERATIONS;
use crate::error::{err, Result};

/// Dimensions of a value of known rank (`None`: a dimension not known here).
type Dims = Vec<Option<i64>>;

/// What is known about one value.
#[derive(Debug, Clone, Default)]
struct Val {
    /// The shape, if the rank is known.
    dims: Option<Dims>,
    /// The values of a small int64 constant (shapes, axes, indices).
    ints: Option<Vec<i64>>,
}

impl Val {
    fn dims(d: Dims) -> Val {
        Val {
            dims: Some(d),
            ints: None,
        }
    }
    fn rank(&self) -> Option<usize> {
        self.dims.as_ref().map(Vec::len)
    }
}

/// The int64 values of a small constant tensor (a shape, axes or indices), if readable.
pub(crate) fn const_i64s(t: &TensorProto) -> Option<Vec<i64>> {
    if t.data_type != 7 || t.dims.len() > 1 {
        return None;
    }
    if !t.int64_data.is_empty() {
        return Some(t.int64_data.clone());
    }
    let raw = &t.raw_data;
    if !raw.len().is_multiple_of(8) || raw.len() > 8 * 64 {
        return None;
    }
    Some(
        raw.chunks_exact(8)
            .map(|c| i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
            .collect(),
    )
}

fn tensor_val(t: &TensorProto) -> Val {
    Val {
        dims: Some(t.dims.iter().map(|&d| Some(d)).collect()),
        ints: const_i64s(t),
    }
}

fn value_info_dims(v: &pb::ValueInfoProto) -> Option<Dims> {
    use pb::tensor_shape_proto::dimension::Value as D;
    let pb::type_proto::Value::TensorType(t) = v.r#type.as_ref()?.value.as_ref()?;
    let shape = t.shape.as_ref()?;
    Some(
        shape
            .dim
            .iter()
            .map(|d| match d.value {
                Some(D::DimValue(v)) if v > 0 => Some(v),
                _ => None,
            })
            .collect(),
    )
}

/// Check `g` (the main graph). `image_rank` is the rank of the input tract is given when
/// the model declares none.
pub fn check_model(g: &GraphProto, image_rank: usize, max_tensor_bytes: u64) -> Result<()> {
    let mut scope = HashMap::new();
    for i in &g.input {
        let dims = value_info_dims(i).unwrap_or_else(|| vec![None; image_rank]);
        scope.insert(i.name.clone(), Val::dims(dims));
    }
    Checker {
        max_tensor_bytes,
        trips: 1,
    }
    .graph(g, scope)
}

struct Checker {
    max_tensor_bytes: u64,
    /// Iterations of the enclosing `Scan` bodies (product), 1 at the top.
    trips: u64,
}

impl Checker {
    fn graph(&self, g: &GraphProto, mut scope: HashMap<String, Val>) -> Result<()> {
        for t in &g.initializer {
            scope.insert(t.name.clone(), tensor_val(t));
        }
        for i in &g.input {
            if !scope.contains_key(&i.name) {
                let v = value_info_dims(i).map(Val::dims).unwrap_or_default();
                scope.insert(i.name.clone(), v);
            }
        }
        for n in &g.node {
            let ins: Vec<Val> = n
                .input
                .iter()
                .map(|i| scope.get(i).cloned().unwrap_or_default())
                .collect();
            let outs = self.node(n, &ins, &scope)?;
            for (k, name) in n.output.iter().enumerate() {
                scope.insert(name.clone(), outs.get(k).cloned().unwrap_or_default());
            }
        }
        outputs_defined(g)
    }

    fn node(&self, n: &NodeProto, ins: &[Val], scope: &HashMap<String, Val>) -> Result<Vec<Val>> {
        self.subgraphs(n, ins, scope)?;
        let one = |v: Val| -> Result<Vec<Val>> { Ok(vec![v]) };
        let same = || {
            one(Val {
                dims: ins.first().and_then(|v| v.dims.clone()),
                ints: None,
            })
        };
        let op = n.op_type.as_str();
        match op {
            "Identity" => Ok(vec![ins.first().cloned().unwrap_or_default()]),
            _ if SAME_RANK.contains(&op) => same(),
            "Add" | "Sub" | "Mul" | "Div" | "Pow" | "Max" | "Min" | "Sum" | "Mean" | "And"
            | "Or" | "Xor" | "Equal" | "Less" | "Greater" | "LessOrEqual" | "GreaterOrEqual"
            | "Where" | "Mod" | "PRelu" | "BitShift" => one(broadcast(ins)),
            "MatMul" => one(matmul(ins)),
            "Gemm" => one(Val::dims(vec![None, None])),
            "Flatten" => {
                if let Some(r) = ins.first().and_then(Val::rank) {
                    axis(n, "axis", attr_i(n, "axis").unwrap_or(1), r, true)?;
                }
                one(Val::dims(vec![None, None]))
            }
            "Transpose" => transpose(n, ins),
            "Reshape" => one(ins
                .get(1)
                .and_then(|v| v.ints.as_ref())
                .map(|s| Val::dims(s.iter().map(|&d| (d > 0).then_some(d)).collect()))
                .unwrap_or_default()),
            "Squeeze" => squeeze(n, ins),
            "Unsqueeze" => unsqueeze(n, ins),
            "Concat" => {
                for v in ins {
                    if let Some(r) = v.rank() {
                        axis(n, "axis", attr_i(n, "axis").unwrap_or(0), r, false)?;
                    }
                }
                same()
            }
            "Split" => split(n, ins),
            "ArgMax" | "ArgMin" | "TopK" => arg_reduce(n, ins),
            _ if op.starts_with("Reduce") => reduce(n, ins),
            "Gather" => gather(n, ins),
            "Shape" => one(Val {
                dims: Some(vec![ins.first().and_then(Val::rank).map(|r| r as i64)]),
                ints: ins
                    .first()
                    .and_then(|v| v.dims.as_ref())
                    .and_then(|d| d.iter().copied().collect::<Option<Vec<i64>>>()),
            }),
            "Size" => one(Val::dims(vec![])),
            "NonZero" => one(Val::dims(vec![None, None])),
            "Constant" => one(n
                .attribute
                .iter()
                .find(|a| a.name == "value")
                .and_then(|a| a.t.as_ref())
                .map(tensor_val)
                .unwrap_or_default()),
            "ConstantOfShape" => one(ins
                .first()
                .and_then(|v| v.ints.as_ref())
                .map(|s| Val::dims(s.iter().map(|&d| Some(d)).collect()))
                .unwrap_or_default()),
            "Expand" => one(expand(ins)),
            "Range" => {
                self.range(n, ins)?;
                one(Val::dims(vec![None]))
            }
            _ => Ok(vec![Val::default(); n.output.len()]),
        }
    }

    /// Checks the node's sub-graphs (If branches, Loop and Scan bodies) with the trip count
    /// they run under.
    fn subgraphs(&self, n: &NodeProto, ins: &[Val], scope: &HashMap<String, Val>) -> Result<()> {
        let sub_trips = self.scan_trips(n, ins)?;
        for a in &n.attribute {
            let inner = Checker {
                max_tensor_bytes: self.max_tensor_bytes,
                trips: sub_trips,
            };
            // a sub-graph sees the enclosing values (If branches, Scan closures)
            for sub in a.g.iter().chain(&a.graphs) {
                inner.graph(sub, scope.clone())?;
            }
        }
        Ok(())
    }

    /// The trip count a `Scan` multiplies its body's work by (checked against
    /// [`MAX_SCAN_ITERATIONS`] with the enclosing ones); `self.trips` for other operators.
    fn scan_trips(&self, n: &NodeProto, ins: &[Val]) -> Result<u64> {
        if n.op_type != "Scan" {
            return Ok(self.trips);
        }
        let k = attr_i(n, "num_scan_inputs").unwrap_or(0).max(0) as usize;
        let axes = attr_ints(n, "scan_input_axes").unwrap_or_else(|| vec![0; k]);
        let first = ins.len().saturating_sub(k);
        let mut trips = None;
        for (j, v) in ins[first..].iter().enumerate() {
            let Some(d) = &v.dims else { continue };
            let a = axis(
                n,
                "scan_input_axes",
                axes.get(j).copied().unwrap_or(0),
                d.len(),
                false,
            )?;
            if let Some(t) = d[a] {
                trips = Some(t.max(0) as u64);
            }
        }
        let Some(t) = trips else {
            return Ok(self.trips);
        };
        let total = self.trips.saturating_mul(t);
        if total > MAX_SCAN_ITERATIONS {
            return Err(err!(
                InvalidModel,
                "{} runs its body {total} times per run, limit is {MAX_SCAN_ITERATIONS} (limits::MAX_SCAN_ITERATIONS)",
                who(n)
            ));
        }
        Ok(total)
    }

    /// A `Range` of constants is computed while tract analyses the model: bound its length.
    fn range(&self, n: &NodeProto, ins: &[Val]) -> Result<()> {
        let scalar = |ix: usize| {
            ins.get(ix)
                .and_then(|v| v.ints.as_ref())
                .and_then(|v| v.first().copied())
        };
        if let (Some(start), Some(limit), Some(delta)) = (scalar(0), scalar(1), scalar(2)) {
            if delta == 0 && start != limit {
                return Err(err!(
                    InvalidModel,
                    "{} from {start} to {limit} has step 0: it never ends",
                    who(n)
                ));
            }
            let len = if delta == 0 {
                0
            } else {
                let span = (i128::from(limit) - i128::from(start)).max(0) as u128;
                let step = i128::from(delta).unsigned_abs();
                if (limit > start) == (delta > 0) {
                    span.div_ceil(step)
                } else {
                    0
                }
            };
            let bytes = len.saturating_mul(8);
            if bytes > u128::from(self.max_tensor_bytes) {
                return Err(err!(
                    InvalidModel,
                    "{} from {start} to {limit} by {delta} needs {bytes} bytes, limit is {} (maxTensorBytes)",
                    who(n),
                    self.max_tensor_bytes
                ));
            }
        }
        Ok(())
    }
}

/// tract finds each graph output among the names the graph itself holds (its inputs,
/// initializers, node outputs, and the names its nodes take in) and panics on one it does not
/// find, so an output that nothing produces is refused here.
fn outputs_defined(g: &GraphProto) -> Result<()> {
    let held: HashSet<&str> = g
        .input
        .iter()
        .map(|i| i.name.as_str())
        .chain(g.initializer.iter().map(|t| t.name.as_str()))
        .chain(
            g.node
                .iter()
                .flat_map(|n| n.output.iter().chain(&n.input))
                .map(String::as_str),
        )
        .filter(|s| !s.is_empty())
        .collect();
    match g.output.iter().find(|o| !held.contains(o.name.as_str())) {
        Some(o) => Err(err!(
            InvalidModel,
            "graph output {:?} is produced by no operator, input or initializer",
            shorten(&o.name)
        )),
        None => Ok(()),
    }
}

/// A name from the model, cut to 64 characters for an error message.
fn shorten(s: &str) -> String {
    match s.char_indices().nth(64) {
        Some((at, _)) => format!("{}...", &s[..at]),
        None => s.to_string(),
    }
}

/// How an error names a node: `operator "name" (Op)`, or `a Op operator` when unnamed.
fn who(n: &NodeProto) -> String {
    if n.name.is_empty() {
        format!("a {} operator", n.op_type)
    } else {
        format!("operator {:?} ({})", n.name, n.op_type)
    }
}

fn attr_i(n: &NodeProto, name: &str) -> Option<i64> {
    n.attribute.iter().find(|a| a.name == name).map(|a| a.i)
}

fn attr_ints(n: &NodeProto, name: &str) -> Option<Vec<i64>> {
    n.attribute
        .iter()
        .find(|a| a.name == name)
        .map(|a| a.ints.clone())
}

/// Axes given as the attribute `axes` or (newer opsets) as a constant second input.
fn axes_of(n: &NodeProto, ins: &[Val]) -> Option<Vec<i64>> {
    attr_ints(n, "axes").or_else(|| ins.get(1).and_then(|v| v.ints.clone()))
}

/// `v` as an axis of a rank-`r` tensor (`-r <= v < r`, or `<= r` when `end` is allowed).
fn axis(n: &NodeProto, what: &str, v: i64, r: usize, end: bool) -> Result<usize> {
    let r = r as i64;
    let hi = if end { r } else { r - 1 };
    if v < -r || v > hi {
        return Err(err!(
            InvalidModel,
            "{}: {what} {v} is out of range for a rank-{r} tensor",
            who(n)
        ));
    }
    Ok(if v < 0 { (v + r) as usize } else { v as usize })
}

fn broadcast(ins: &[Val]) -> Val {
    let mut out: Dims = Vec::new();
    for v in ins {
        let Some(d) = &v.dims else {
            return Val::default();
        };
        if d.len() > out.len() {
            let mut grown = vec![Some(1); d.len() - out.len()];
            grown.extend(out);
            out = grown;
        }
        let off = out.len() - d.len();
        for (o, x) in out[off..].iter_mut().zip(d) {
            *o = match (*o, *x) {
                (Some(1), x) => x,
                (o, Some(1)) => o,
                (Some(a), Some(b)) if a == b => Some(a),
                _ => None,
            };
        }
    }
    Val::dims(out)
}

fn matmul(ins: &[Val]) -> Val {
    match (
        ins.first().and_then(Val::rank),
        ins.get(1).and_then(Val::rank),
    ) {
        (Some(a), Some(b)) if a >= 2 && b >= 2 => Val::dims(vec![None; a.max(b)]),
        (Some(1), Some(b)) if b >= 2 => Val::dims(vec![None; b - 1]),
        (Some(a), Some(1)) if a >= 2 => Val::dims(vec![None; a - 1]),
        _ => Val::default(),
    }
}

fn expand(ins: &[Val]) -> Val {
    let shape = ins.get(1).and_then(|v| v.ints.as_ref());
    match (ins.first().and_then(Val::rank), shape) {
        (Some(r), Some(s)) => Val::dims(vec![None; r.max(s.len())]),
        _ => Val::default(),
    }
}

fn transpose(n: &NodeProto, ins: &[Val]) -> Result<Vec<Val>> {
    let Some(d) = ins.first().and_then(|v| v.dims.clone()) else {
        return Ok(vec![Val::default()]);
    };
    let Some(perm) = attr_ints(n, "perm") else {
        return Ok(vec![Val::dims(d.into_iter().rev().collect())]);
    };
    let mut seen = vec![false; d.len()];
    let ok = perm.len() == d.len()
        && perm.iter().all(|&p| {
            let fresh = p >= 0 && (p as usize) < d.len() && !seen[p as usize];
            if fresh {
                seen[p as usize] = true;
            }
            fresh
        });
    if !ok {
        return Err(err!(
            InvalidModel,
            "{}: perm {perm:?} is not a permutation of the {} axes of its input",
            who(n),
            d.len()
        ));
    }
    Ok(vec![Val::dims(
        perm.iter().map(|&p| d[p as usize]).collect(),
    )])
}

fn squeeze(n: &NodeProto, ins: &[Val]) -> Result<Vec<Val>> {
    let Some(d) = ins.first().and_then(|v| v.dims.clone()) else {
        return Ok(vec![Val::default()]);
    };
    let Some(axes) = axes_of(n, ins) else {
        // without axes every dimension of size 1 goes: known only if every size is
        let known = d.iter().all(Option::is_some);
        return Ok(vec![if known {
            Val::dims(d.into_iter().filter(|x| *x != Some(1)).collect())
        } else {
            Val::default()
        }]);
    };
    let mut gone = Vec::new();
    for &a in &axes {
        gone.push(axis(n, "axes", a, d.len(), false)?);
    }
    Ok(vec![Val::dims(
        d.into_iter()
            .enumerate()
            .filter(|(i, _)| !gone.contains(i))
            .map(|(_, x)| x)
            .collect(),
    )])
}

fn unsqueeze(n: &NodeProto, ins: &[Val]) -> Result<Vec<Val>> {
    let (Some(r), Some(axes)) = (ins.first().and_then(Val::rank), axes_of(n, ins)) else {
        return Ok(vec![Val::default()]);
    };
    let out = r + axes.len();
    for &a in &axes {
        axis(n, "axes", a, out, false)?;
    }
    Ok(vec![Val::dims(vec![None; out])])
}

/// Operators whose output has the rank of their first input (dimensions not tracked).
const SAME_RANK: &[&str] = &[
    "Relu",
    "Sigmoid",
    "Tanh",
    "Exp",
    "Log",
    "Abs",
    "Neg",
    "Sqrt",
    "Floor",
    "Ceil",
    "Cast",
    "Dropout",
    "LRN",
    "BatchNormalization",
    "InstanceNormalization",
    "LeakyRelu",
    "Elu",
    "Selu",
    "HardSigmoid",
    "Clip",
    "Erf",
    "Not",
    "Sign",
    "Reciprocal",
    "Round",
    "Sin",
    "Cos",
    "Softplus",
    "Softsign",
    "HardSwish",
    "Gelu",
    "Mish",
    "Softmax",
    "LogSoftmax",
    "Hardmax",
    "Conv",
    "ConvTranspose",
    "MaxPool",
    "AveragePool",
    "LpPool",
    "GlobalAveragePool",
    "GlobalMaxPool",
    "GlobalLpPool",
    "Pad",
    "Resize",
    "Upsample",
    "Tile",
    "Slice",
    "CumSum",
    "DepthToSpace",
    "SpaceToDepth",
    "Trilu",
    "LayerNormalization",
    "CastLike",
    "IsNaN",
    "IsInf",
];

/// `Split`: the axis checked; every output of the input's rank.
fn split(n: &NodeProto, ins: &[Val]) -> Result<Vec<Val>> {
    if let Some(r) = ins.first().and_then(Val::rank) {
        axis(n, "axis", attr_i(n, "axis").unwrap_or(0), r, false)?;
    }
    let d = ins.first().and_then(|v| v.dims.clone());
    Ok(n.output
        .iter()
        .map(|_| Val {
            dims: d.as_ref().map(|d| vec![None; d.len()]),
            ints: None,
        })
        .collect())
}

/// `ArgMax`, `ArgMin`, `TopK`: the axis checked; outputs of the input's rank, one less
/// when an arg-reduction drops the axis.
fn arg_reduce(n: &NodeProto, ins: &[Val]) -> Result<Vec<Val>> {
    let op = n.op_type.as_str();
    let default = if op == "TopK" { -1 } else { 0 };
    if let Some(r) = ins.first().and_then(Val::rank) {
        axis(n, "axis", attr_i(n, "axis").unwrap_or(default), r, false)?;
    }
    let d = ins.first().and_then(Val::rank);
    let keep = op == "TopK" || attr_i(n, "keepdims").unwrap_or(1) != 0;
    Ok(n.output
        .iter()
        .map(|_| Val {
            dims: d.map(|r| vec![None; if keep { r } else { r.saturating_sub(1) }]),
            ints: None,
        })
        .collect())
}

fn reduce(n: &NodeProto, ins: &[Val]) -> Result<Vec<Val>> {
    let Some(r) = ins.first().and_then(Val::rank) else {
        return Ok(vec![Val::default()]);
    };
    let axes = axes_of(n, ins).unwrap_or_default();
    let mut distinct = Vec::new();
    for &a in &axes {
        let a = axis(n, "axes", a, r, false)?;
        if !distinct.contains(&a) {
            distinct.push(a);
        }
    }
    let keep = attr_i(n, "keepdims").unwrap_or(1) != 0;
    let out = match (keep, distinct.len()) {
        (true, _) => r,
        (false, 0) => 0,
        (false, k) => r - k,
    };
    Ok(vec![Val::dims(vec![None; out])])
}

fn gather(n: &NodeProto, ins: &[Val]) -> Result<Vec<Val>> {
    let (Some(d), Some(ir)) = (
        ins.first().and_then(|v| v.dims.clone()),
        ins.get(1).and_then(Val::rank),
    ) else {
        return Ok(vec![Val::default()]);
    };
    let a = axis(n, "axis", attr_i(n, "axis").unwrap_or(0), d.len(), false)?;
    if let (Some(len), Some(ix)) = (d[a], ins.get(1).and_then(|v| v.ints.as_ref())) {
        if let Some(bad) = ix.iter().find(|&&i| i < -len || i >= len) {
            return Err(err!(
                InvalidModel,
                "{}: index {bad} is out of range for axis {a} of size {len}",
                who(n)
            ));
        }
    }
    Ok(vec![Val::dims(vec![None; d.len() - 1 + ir])])
}
