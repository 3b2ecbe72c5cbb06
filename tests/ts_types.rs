//! The package's TypeScript declarations of requests and responses come from the engine's serde
//! structs: `src/wasm/types.gen.d.ts` must be exactly what `medtriage::typescript` generates
//! (`MEDTRIAGE_REGEN_TYPES=1 cargo test --test ts_types` rewrites it), and the bindings must
//! name those types. `tests/e2e/types.test.mjs` then checks real responses against them with tsc.
#![cfg(all(feature = "typescript", not(target_arch = "wasm32")))]

use std::collections::BTreeSet;
use std::path::Path;

const GENERATED: &str = "src/wasm/types.gen.d.ts";

fn repo(p: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

#[test]
fn committed_declarations_are_the_generated_ones() {
    let fresh = medtriage::typescript::declarations().expect("declarations");
    let path = repo(GENERATED);
    if std::env::var_os("MEDTRIAGE_REGEN_TYPES").is_some() {
        std::fs::write(&path, &fresh).expect("write");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != fresh {
        let line = committed
            .lines()
            .zip(fresh.lines())
            .position(|(a, b)| a != b)
            .map_or(committed.lines().count().min(fresh.lines().count()), |i| i);
        panic!(
            "{GENERATED} is stale (first difference at line {}: committed {:?}, generated {:?}); \
             run MEDTRIAGE_REGEN_TYPES=1 cargo test --test ts_types",
            line + 1,
            committed.lines().nth(line),
            fresh.lines().nth(line)
        );
    }
}

/// Names declared by `export interface X` / `export type X` in a .d.ts text.
fn declared(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|l| {
            let l = l.trim_start();
            let rest = l
                .strip_prefix("export interface ")
                .or_else(|| l.strip_prefix("export type "))?;
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            Some(name)
        })
        .collect()
}

/// The binding sources (`src/wasm/*.rs`).
fn bindings() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(repo("src/wasm")).expect("src/wasm") {
        let p = e.expect("entry").path();
        if p.extension().is_some_and(|x| x == "rs") {
            let text = std::fs::read_to_string(&p).expect("read");
            out.push((p.display().to_string(), text));
        }
    }
    out
}

/// Identifiers starting with a capital letter in a TypeScript type expression.
fn type_names(expr: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut cur = String::new();
    for c in expr.chars().chain(std::iter::once(' ')) {
        if c.is_alphanumeric() || c == '_' {
            cur.push(c);
        } else {
            if cur.starts_with(|c: char| c.is_ascii_uppercase()) {
                names.push(cur.clone());
            }
            cur.clear();
        }
    }
    names
}

/// Every TypeScript type expression the bindings give: (file, expression, is a return type),
/// from `unchecked_param_type` / `unchecked_return_type` and the `bind!` macro's arguments.
fn named_types() -> Vec<(String, String, bool)> {
    let mut out = Vec::new();
    for (file, text) in bindings() {
        for (key, ret) in [
            ("unchecked_param_type = \"", false),
            ("unchecked_return_type = \"", true),
        ] {
            for part in text.split(key).skip(1) {
                let expr = part.split('"').next().unwrap_or("");
                out.push((file.clone(), expr.to_string(), ret));
            }
        }
        for block in text.split("bind!(").skip(1) {
            let args = split_top(block.split(");").next().unwrap_or(""));
            if args.len() >= 6 {
                out.push((
                    file.clone(),
                    args[2].trim().trim_matches('"').to_string(),
                    false,
                ));
                out.push((
                    file.clone(),
                    args[3].trim().trim_matches('"').to_string(),
                    true,
                ));
            }
        }
    }
    out
}

#[test]
fn every_type_the_bindings_name_is_declared() {
    let generated = medtriage::typescript::declarations().expect("declarations");
    let hand = std::fs::read_to_string(repo("src/wasm/types.d.ts")).expect("types.d.ts");
    let mut known = declared(&generated);
    known.extend(declared(&hand));
    // TypeScript's own, and the generic parameter of the macro's signature.
    for builtin in [
        "Uint8Array",
        "Uint8ClampedArray",
        "ArrayBuffer",
        "Record",
        "O",
    ] {
        known.insert(builtin.into());
    }
    let (mut missing, mut wide) = (Vec::new(), Vec::new());
    let named = named_types();
    assert!(
        named.len() > 60,
        "only {} type expressions found",
        named.len()
    );
    for (file, expr, ret) in named {
        for n in type_names(&expr) {
            if !known.contains(&n) {
                missing.push(format!("{file}: {n}"));
            }
            // A response whose serialized form differs from what requests accept is
            // `<Name>Out`: a return type must name that one.
            if ret && known.contains(&format!("{n}Out")) {
                wide.push(format!("{file}: returns {n}, should be {n}Out"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "types named by bindings but not declared: {missing:?}"
    );
    assert!(wide.is_empty(), "{wide:#?}");
}

/// `a::b::Name<c::Arg>` -> `Name<Arg>`.
fn last_segments(rust: &str) -> String {
    let mut out = String::new();
    let mut word = String::new();
    for c in rust.chars().chain(std::iter::once(' ')) {
        if c.is_alphanumeric() || c == '_' || c == ':' {
            word.push(c);
        } else {
            out.push_str(word.rsplit("::").next().unwrap_or(""));
            word.clear();
            if !c.is_whitespace() {
                out.push(c);
            }
        }
    }
    out
}

#[test]
fn each_binding_declares_the_request_type_it_parses() {
    let mut checked = 0;
    let mut wrong = Vec::new();
    for (file, text) in bindings() {
        for block in text.split("bind!(").skip(1) {
            let body = block.split(");").next().unwrap_or("");
            let args: Vec<&str> = split_top(body);
            if args.len() < 6 {
                continue;
            }
            let ts = args[2].trim().trim_matches('"');
            let rust = last_segments(args[4].trim());
            checked += 1;
            if ts != rust {
                wrong.push(format!(
                    "{file}: {} declares {ts:?} but parses {rust}",
                    args[0].trim()
                ));
            }
        }
    }
    assert!(checked >= 15, "only {checked} bind! blocks found");
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// Split at commas outside `<>`, `()`, `[]` and string literals.
fn split_top(s: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut in_str, mut start) = (0i32, false, 0);
    for (i, c) in s.char_indices() {
        match c {
            '"' => in_str = !in_str,
            '<' | '(' | '[' if !in_str => depth += 1,
            '>' | ')' | ']' if !in_str => depth -= 1,
            ',' if !in_str && depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}
