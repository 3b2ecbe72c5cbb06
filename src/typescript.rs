//! The JS API's TypeScript declarations, generated from the engine's serde structs.
//!
//! Every request the wasm bindings read and every response they return is one of the engine's
//! `Serialize` / `Deserialize` structs; [`declarations`] asks schemars for the JSON Schema of
//! each (schemars reads the same `#[serde]` attributes serde does: `rename_all`, `tag`,
//! `untagged`, `flatten`, `default`, `skip_serializing_if`, `deny_unknown_fields`) and turns
//! the schemas into TypeScript. The result is committed as `src/wasm/types.gen.d.ts`, which the
//! bindings put into the package's `medtriage.d.ts`; `tests/ts_types.rs` fails when the
//! committed file is not what the structs give (`MEDTRIAGE_REGEN_TYPES=1` rewrites it).
//!
//! Two sides of the boundary, two schemas per type:
//! - **requests** (what serde accepts): a field with a default, or an `Option`, may be left
//!   out (`field?: T`, an `Option` also takes `null`); a numeric array not inside another
//!   array may be any typed array (`src/wasm/de.rs` copies it in one call), so it is
//!   `NumericArray`; `deny_unknown_fields` with no field is `Record<string, never>`;
//! - **responses** (what serde writes): every field is there unless its
//!   `skip_serializing_if` can drop it.
//!
//! A type on both sides whose two schemas differ is declared twice: the request side under its
//! Rust name (a host writes those literals), the response side as `<Name>Out` (always
//! assignable to the request side, so a response can be passed back). A generic struct named
//! `Name<{O}>` in its `#[schemars(rename)]` becomes one generic TypeScript declaration, checked
//! to be the same for every instantiation.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use schemars::generate::SchemaSettings;
use schemars::SchemaGenerator;
use serde_json::{Map, Value};

use crate::engine;

/// A typed array of any numeric element type: what a request's numeric arrays accept.
const NUMERIC_ARRAY: &str = "export type NumericArray = number[] | Float64Array | Float32Array | Int32Array | Uint32Array\n  | Int16Array | Uint16Array | Int8Array | Uint8Array | Uint8ClampedArray;\n";

/// Suffix of a response-side declaration that differs from its request side.
const OUT: &str = "Out";

/// Register each type with the generator of its side.
macro_rules! roots {
    ($gen:expr, [$($t:ty),* $(,)?]) => {
        vec![$( $gen.subschema_for::<$t>().to_value() ),*]
    };
}

/// The request types the bindings read (`src/wasm/`), in no particular order.
fn requests(g: &mut SchemaGenerator) -> Vec<Value> {
    use engine::consensus as c;
    use engine::multilabel as ml;
    use engine::queue::{
        calibration_session as cs, export, labelstudio, policy, reviewers, rounds,
    };
    use engine::triage::{analysis, calibration, conformal, label_issues as li, multi, outliers};
    roots!(
        g,
        [
            engine::manifest::Manifest,
            engine::model::LoadOptions,
            engine::score::ScoreOptions,
            engine::profile::ProfileOptions,
            Vec<engine::score::ItemResult>,
            engine::uncertainty::Measure,
            engine::dicom::DicomOptions,
            engine::dicom::DicomAttributes,
            multi::MultiUncertaintyRequest,
            calibration::TemperatureRequest,
            calibration::ApplyTemperatureRequest,
            calibration::CalibrationReportRequest,
            conformal::ConformalCalibrateRequest,
            conformal::ConformalSetsRequest,
            engine::triage::risk::AutoAcceptRequest,
            c::ConsensusRequest<c::majority::MajorityOptions>,
            c::ConsensusRequest<c::dawid_skene::DawidSkeneOptions>,
            c::ConsensusRequest<c::crowdlab::CrowdlabOptions>,
            c::ConsensusRequest<c::crowdlab::ActiveLabOptions>,
            c::ConsensusRequest<c::agreement::AgreementOptions>,
            engine::queue::select::SelectRequest,
            li::FindLabelIssuesRequest,
            li::QualityScoresRequest,
            li::ConfidentJointRequest,
            li::NumIssuesRequest,
            outliers::OodProbsRequest,
            outliers::KnnOutlierRequest,
            outliers::DuplicatesRequest,
            analysis::ClassReportRequest,
            labelstudio::LabelConfigRequest,
            labelstudio::ReadLabelStudioRequest,
            policy::TierRequest,
            rounds::RoundRequest,
            export::ExportRequest<export::PseudoLabelOptions>,
            export::ExportRequest<export::LabelStudioOptions>,
            export::ExportRequest<export::TableOptions>,
            reviewers::ReviewerReportRequest,
            reviewers::MixGoldRequest,
            reviewers::CombineRequest,
            cs::PickRequest,
            cs::SessionRequest,
            engine::grouping::GroupClassesRequest,
            ml::label_issues::MlQualityRequest,
            ml::label_issues::MlFindRequest,
            ml::label_issues::MlLabeledProbs,
            ml::calibration::MlCalibrateRequest,
            ml::calibration::MlApplyCalibrationRequest,
            ml::calibration::MlCalibrationReportRequest,
            ml::calibration::MlConformalRequest,
            ml::calibration::MlConformalSetsRequest,
            ml::calibration::MlAutoAcceptRequest,
            ml::calibration::MlApplyAutoAcceptRequest,
            ml::consensus::MlConsensusRequest,
            ml::simulate::SimulateRequest,
            engine::queue::ml_policy::MlTierRequest,
            engine::queue::ml_rounds::MlRoundRequest,
            engine::queue::ml_export::MlExportRequest<engine::queue::ml_export::MlPseudoLabelOptions>,
            engine::queue::ml_export::MlExportRequest<export::LabelStudioOptions>,
            engine::queue::ml_export::ReadLabelStudioMlRequest,
        ]
    )
}

/// The response types the bindings return.
fn responses(g: &mut SchemaGenerator) -> Vec<Value> {
    use engine::consensus as c;
    use engine::multilabel as ml;
    use engine::queue::{
        calibration_session as cs, export, labelstudio, policy, reviewers, rounds,
    };
    use engine::triage::{analysis, calibration, conformal, label_issues as li, multi, outliers};
    roots!(
        g,
        [
            engine::manifest::Manifest,
            engine::score::ImageScore,
            engine::profile::OpProfile,
            Vec<engine::score::ItemResult>,
            engine::score::Queue,
            engine::dicom::Preview,
            multi::MultiUncertaintyResponse,
            calibration::TemperatureResponse,
            calibration::CalibrationReport,
            conformal::ConformalCalibration,
            conformal::ConformalSetsResponse,
            engine::triage::risk::AutoAcceptResponse,
            c::majority::MajorityResponse,
            c::dawid_skene::DawidSkeneResponse,
            c::crowdlab::CrowdlabResponse,
            c::crowdlab::ActiveLabResponse,
            c::agreement::AgreementResponse,
            engine::queue::select::SelectResponse,
            li::LabelIssues,
            li::QualityScoresResponse,
            li::ConfidentJointResponse,
            li::NumIssuesResponse,
            outliers::OodProbsResponse,
            outliers::KnnOutlierResponse,
            outliers::DuplicatesResponse,
            analysis::ClassReport,
            labelstudio::LabelStudioReviews,
            policy::TierResponse,
            rounds::RoundPlan,
            export::PseudoLabels,
            reviewers::ReviewerReport,
            reviewers::MixGoldResponse,
            reviewers::CombineResponse,
            cs::PickResponse,
            cs::SessionReport,
            engine::grouping::GroupClassesResponse,
            ml::label_issues::MlQualityResponse,
            ml::label_issues::MlLabelIssues,
            ml::label_issues::MlConfidentJointResponse,
            ml::calibration::MlCalibration,
            ml::calibration::MlProbabilities,
            ml::calibration::MlCalibrationReport,
            ml::calibration::MlConformal,
            ml::calibration::MlConformalSets,
            ml::calibration::MlAutoAcceptRule,
            ml::calibration::MlAutoAcceptDecision,
            ml::consensus::MlConsensusResponse,
            ml::simulate::SimulateResponse,
            engine::queue::ml_policy::MlTierResponse,
            engine::queue::ml_rounds::MlRoundPlan,
            engine::queue::ml_export::MlPseudoLabels,
            engine::queue::ml_export::MlLabelStudioReviews,
        ]
    )
}

/// The definitions (name -> JSON Schema) of one side.
fn side(serialize: bool, register: fn(&mut SchemaGenerator) -> Vec<Value>) -> Side {
    let settings = SchemaSettings::draft2020_12();
    let settings = if serialize {
        settings.for_serialize()
    } else {
        settings.for_deserialize()
    };
    let mut g = settings.into_generator();
    let roots = register(&mut g);
    Side {
        defs: g.take_definitions(true),
        roots,
    }
}

/// One side's definitions, and the schemas of its roots (a `$ref`, or e.g. an array of one).
struct Side {
    defs: Map<String, Value>,
    roots: Vec<Value>,
}

/// A declaration: its body and its doc comment.
type Decl = (String, Option<String>);

/// The generated declarations (the text of `src/wasm/types.gen.d.ts`).
pub fn declarations() -> Result<String, String> {
    let Side { defs: ins, roots } = side(false, requests);
    let outs = side(true, responses).defs;
    let in_arrays = reached_through_arrays(&ins, &roots);
    let render = |defs: &Map<String, Value>, request: bool, split: &BTreeSet<String>| {
        render_all(defs, request, split, &in_arrays)
    };
    let req = render(&ins, true, &BTreeSet::new());
    let split = split_names(&req, |split| render(&outs, false, split));
    let mut decls: BTreeMap<String, Decl> = BTreeMap::new();
    for (name, body) in req {
        let d = doc(ins.get(&name));
        decls.insert(name, (body, d));
    }
    for (name, body) in render(&outs, false, &split) {
        let key = if split.contains(&name) {
            format!("{name}{OUT}")
        } else {
            name.clone()
        };
        decls
            .entry(key)
            .or_insert_with(|| (body, doc(outs.get(&name))));
    }
    Ok(emit(&generics(decls)?))
}

/// Every definition of one side rendered (name -> body).
fn render_all(
    defs: &Map<String, Value>,
    request: bool,
    split: &BTreeSet<String>,
    in_arrays: &BTreeSet<String>,
) -> BTreeMap<String, String> {
    defs.iter()
        .map(|(name, s)| {
            let ctx = Ctx {
                request,
                in_array: request && in_arrays.contains(name),
            };
            (name.clone(), declaration(s, ctx, split))
        })
        .collect()
}

/// The response-side names rendered unlike their request side. A split is contagious (a
/// response that refers to a split type differs too), so this iterates to a fixed point.
fn split_names(
    req: &BTreeMap<String, String>,
    render_out: impl Fn(&BTreeSet<String>) -> BTreeMap<String, String>,
) -> BTreeSet<String> {
    let mut split = BTreeSet::new();
    loop {
        let next: BTreeSet<String> = render_out(&split)
            .into_iter()
            .filter(|(n, body)| req.get(n).is_some_and(|b| b != body))
            .map(|(n, _)| n)
            .collect();
        if next == split {
            return split;
        }
        split = next;
    }
}

/// The file's text.
fn emit(decls: &BTreeMap<String, Decl>) -> String {
    let mut text = String::from(
        "// Generated from the engine's serde structs by src/typescript.rs: do not edit.\n\
         // `MEDTRIAGE_REGEN_TYPES=1 cargo test --test ts_types` rewrites it; that test fails when it is stale.\n\n",
    );
    text.push_str("/** Any numeric typed array, or a plain array of numbers. */\n");
    text.push_str(NUMERIC_ARRAY);
    for (name, (body, d)) in decls {
        text.push('\n');
        if let Some(d) = d {
            text.push_str(&jsdoc(d, ""));
        }
        let _ = match body.strip_prefix(INTERFACE) {
            Some(b) => writeln!(text, "export interface {name} {b}"),
            None if body.starts_with('\n') => writeln!(text, "export type {name} ={body};"),
            None => writeln!(text, "export type {name} = {body};"),
        };
    }
    text
}

/// Instantiations `Base<Arg>` of a generic struct become one `Base<O>` declaration.
fn generics(decls: BTreeMap<String, Decl>) -> Result<BTreeMap<String, Decl>, String> {
    let mut out = BTreeMap::new();
    let mut groups: BTreeMap<String, Vec<(String, String, Option<String>)>> = BTreeMap::new();
    for (name, (body, d)) in decls {
        match name.split_once('<') {
            Some((base, rest)) => {
                let arg = rest.trim_end_matches('>');
                if arg.contains(',') || arg.contains('<') {
                    return Err(format!("{name}: one type parameter only"));
                }
                groups
                    .entry(base.to_string())
                    .or_default()
                    .push((arg.to_string(), body, d));
            }
            None => {
                out.insert(name, (body, d));
            }
        }
    }
    for (base, inst) in groups {
        let mut generic: Option<String> = None;
        for (arg, body, _) in &inst {
            let g = replace_word(body, arg, "O");
            match &generic {
                None => generic = Some(g),
                Some(first) if *first != g => {
                    return Err(format!(
                        "{base}<{arg}> differs from the other instantiations"
                    ))
                }
                Some(_) => {}
            }
        }
        let d = inst.first().and_then(|(_, _, d)| d.clone());
        if let Some(g) = generic {
            out.insert(format!("{base}<O>"), (g, d));
        }
    }
    Ok(out)
}

/// Replace whole-word occurrences of `word` in `text`.
fn replace_word(text: &str, word: &str, with: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let ident = |c: char| c.is_alphanumeric() || c == '_' || c == '$';
    while let Some(i) = rest.find(word) {
        let before = rest[..i].chars().next_back();
        let after = rest[i + word.len()..].chars().next();
        out.push_str(&rest[..i]);
        if before.is_some_and(ident) || after.is_some_and(ident) {
            out.push_str(word);
        } else {
            out.push_str(with);
        }
        rest = &rest[i + word.len()..];
    }
    out.push_str(rest);
    out
}

/// Which side is rendered, and whether the value sits inside an array of a request (where
/// `src/wasm/de.rs` reads nested values through JSON, so typed arrays are not accepted).
#[derive(Clone, Copy)]
struct Ctx {
    request: bool,
    in_array: bool,
}

/// Definitions reachable from an array's items (directly or through other definitions).
fn reached_through_arrays(defs: &Map<String, Value>, roots: &[Value]) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo: Vec<String> = Vec::new();
    for s in defs.values().chain(roots) {
        walk(s, false, &mut |r, in_arr| {
            if in_arr {
                todo.push(r.to_string());
            }
        });
    }
    while let Some(n) = todo.pop() {
        if !seen.insert(n.clone()) {
            continue;
        }
        if let Some(s) = defs.get(&n) {
            walk(s, true, &mut |r, _| todo.push(r.to_string()));
        }
    }
    seen
}

/// Call `f(ref name, inside an array)` for every `$ref` in `s`.
fn walk(s: &Value, in_arr: bool, f: &mut dyn FnMut(&str, bool)) {
    match s {
        Value::Object(o) => {
            if let Some(r) = o.get("$ref").and_then(Value::as_str) {
                f(&ref_name(r), in_arr);
            }
            for (k, v) in o {
                let nested = in_arr || k == "items" || k == "prefixItems";
                walk(v, nested, f);
            }
        }
        Value::Array(a) => a.iter().for_each(|v| walk(v, in_arr, f)),
        _ => {}
    }
}

/// `#/$defs/Name` -> `Name` (JSON pointer and percent escapes undone).
fn ref_name(r: &str) -> String {
    let n = r.rsplit('/').next().unwrap_or(r);
    let n = n
        .replace("%3C", "<")
        .replace("%3E", ">")
        .replace("%3c", "<");
    n.replace("%3e", ">").replace("~1", "/").replace("~0", "~")
}

fn doc(s: Option<&Value>) -> Option<String> {
    s?.get("description")
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// A doc string as a JSDoc comment at `indent`.
fn jsdoc(d: &str, indent: &str) -> String {
    let d = d.replace("*/", "* /");
    let lines: Vec<&str> = d.lines().collect();
    if lines.len() == 1 {
        return format!("{indent}/** {} */\n", lines[0].trim());
    }
    let mut out = format!("{indent}/**\n");
    for l in lines {
        let l = l.trim_end();
        if l.is_empty() {
            let _ = writeln!(out, "{indent} *");
        } else {
            let _ = writeln!(out, "{indent} * {l}");
        }
    }
    let _ = writeln!(out, "{indent} */");
    out
}

/// Marks a declaration body that is a plain object type (declared as an interface).
const INTERFACE: &str = "interface ";

/// The body of a declaration: a plain object type (prefixed [`INTERFACE`]) or a type expression.
fn declaration(s: &Value, ctx: Ctx, split: &BTreeSet<String>) -> String {
    let t = ty(s, ctx, split, "");
    let plain = s.get("properties").is_some()
        && ["oneOf", "anyOf", "allOf", "$ref", "enum", "const"]
            .iter()
            .all(|k| s.get(k).is_none());
    if plain && t.starts_with('{') {
        format!("{INTERFACE}{t}")
    } else {
        t
    }
}

/// A schema as a TypeScript type at `indent`.
fn ty(s: &Value, ctx: Ctx, split: &BTreeSet<String>, indent: &str) -> String {
    let o = match s {
        Value::Bool(true) => return "unknown".into(),
        Value::Bool(false) => return "never".into(),
        Value::Object(o) => o,
        _ => return "unknown".into(),
    };
    if let Some(r) = o.get("$ref").and_then(Value::as_str) {
        let n = ref_name(r);
        return if !ctx.request && split.contains(&n) {
            format!("{n}{OUT}")
        } else {
            n
        };
    }
    if let Some(c) = o.get("const") {
        return literal(c);
    }
    if let Some(Value::Array(e)) = o.get("enum") {
        return union(e.iter().map(literal).collect());
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(Value::Array(alts)) = o.get(key) {
            let inner = format!("{indent}  ");
            let rendered = alts.iter().map(|a| member(a, ctx, split, &inner)).collect();
            let u = union_at(rendered, indent);
            return with_own_props(o, u, ctx, split, indent);
        }
    }
    if let Some(Value::Array(parts)) = o.get("allOf") {
        let r: Vec<String> = parts
            .iter()
            .map(|p| paren(ty(p, ctx, split, indent)))
            .collect();
        return r.join(" & ");
    }
    match o.get("type") {
        Some(Value::String(t)) => typed(t, o, ctx, split, indent),
        Some(Value::Array(ts)) => union(
            ts.iter()
                .filter_map(Value::as_str)
                .map(|t| typed(t, o, ctx, split, indent))
                .collect(),
        ),
        _ if o.contains_key("properties") => object(o, ctx, split, indent),
        _ => "unknown".into(),
    }
}

/// A member of a union, with its own doc comment (enum variants carry one).
fn member(s: &Value, ctx: Ctx, split: &BTreeSet<String>, indent: &str) -> String {
    let t = ty(s, ctx, split, indent);
    match doc(Some(s)) {
        Some(d) if !t.starts_with('{') => {
            format!("/** {} */ {t}", d.replace("*/", "* /").replace('\n', " "))
        }
        _ => t,
    }
}

/// A union that also has properties of its own (a flattened enum next to fields).
fn with_own_props(
    o: &Map<String, Value>,
    u: String,
    ctx: Ctx,
    split: &BTreeSet<String>,
    indent: &str,
) -> String {
    if o.contains_key("properties") {
        format!("{} & ({u})", object(o, ctx, split, indent))
    } else {
        u
    }
}

fn paren(t: String) -> String {
    if t.contains(" | ") && !t.starts_with('(') {
        format!("({t})")
    } else {
        t
    }
}

fn union(parts: Vec<String>) -> String {
    union_at(parts, "")
}

/// A union; one member a line when long or documented.
fn union_at(mut parts: Vec<String>, indent: &str) -> String {
    let mut seen = BTreeSet::new();
    parts.retain(|p| seen.insert(p.clone()));
    let one_line = parts.join(" | ");
    match parts.len() {
        0 => "never".into(),
        1 => parts.remove(0),
        _ if one_line.len() > 90 || one_line.contains("/**") => {
            parts.iter().map(|p| format!("\n{indent}  | {p}")).collect()
        }
        _ => one_line,
    }
}

fn literal(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        other => other.to_string(),
    }
}

/// A schema with one `type`.
fn typed(
    t: &str,
    o: &Map<String, Value>,
    ctx: Ctx,
    split: &BTreeSet<String>,
    indent: &str,
) -> String {
    match t {
        "null" => "null".into(),
        "boolean" => "boolean".into(),
        "integer" | "number" => "number".into(),
        "string" => "string".into(),
        "array" => array(o, ctx, split, indent),
        "object" => object(o, ctx, split, indent),
        _ => "unknown".into(),
    }
}

fn array(o: &Map<String, Value>, ctx: Ctx, split: &BTreeSet<String>, indent: &str) -> String {
    let inner = Ctx {
        in_array: ctx.request,
        ..ctx
    };
    if let Some(Value::Array(items)) = o.get("prefixItems") {
        let r: Vec<String> = items.iter().map(|i| ty(i, inner, split, indent)).collect();
        return format!("[{}]", r.join(", "));
    }
    let item = o.get("items").cloned().unwrap_or(Value::Bool(true));
    let numeric = matches!(
        item.get("type").and_then(Value::as_str),
        Some("number" | "integer")
    );
    if numeric && ctx.request && !ctx.in_array {
        return "NumericArray".into();
    }
    let t = ty(&item, inner, split, indent);
    if t.contains(' ') && !t.starts_with('{') || t.contains('|') {
        format!("({t})[]")
    } else {
        format!("{t}[]")
    }
}

/// An object schema: an interface body (or a record).
fn object(o: &Map<String, Value>, ctx: Ctx, split: &BTreeSet<String>, indent: &str) -> String {
    let empty = Map::new();
    let props = o
        .get("properties")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let required: BTreeSet<&str> = o
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let extra = o.get("additionalProperties");
    if props.is_empty() {
        return match extra {
            Some(Value::Bool(false)) => "Record<string, never>".into(),
            Some(s @ Value::Object(_)) => format!("Record<string, {}>", ty(s, ctx, split, indent)),
            _ => "Record<string, unknown>".into(),
        };
    }
    let inner = format!("{indent}  ");
    let mut out = String::from("{\n");
    for (name, p) in props {
        if let Some(d) = doc(Some(p)) {
            out.push_str(&jsdoc(&d, &inner));
        }
        let opt = if required.contains(name.as_str()) {
            ""
        } else {
            "?"
        };
        let key = if name.chars().all(|c| c.is_alphanumeric() || c == '_') {
            name.clone()
        } else {
            serde_json::to_string(name).unwrap_or_default()
        };
        let _ = writeln!(out, "{inner}{key}{opt}: {};", ty(p, ctx, split, &inner));
    }
    if let Some(s @ Value::Object(_)) = extra {
        let _ = writeln!(out, "{inner}[key: string]: {};", ty(s, ctx, split, &inner));
    }
    out.push_str(indent);
    out.push('}');
    out
}
