//! The CLI end to end (native only): a folder plus a corrupt file and a missing file, JSON
//! lines and CSV out, bad options refused.
#![cfg(all(not(target_arch = "wasm32"), feature = "onnx"))]

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_medtriage");
const FX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

fn score(extra: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(["score", "--quiet", "--threads", "2"])
        .args(["--model", &format!("{FX}/digits/model.onnx")])
        .args(["--manifest", &format!("{FX}/digits/manifest.json")])
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn scores_a_folder_and_keeps_going_past_bad_files() {
    let samples = format!("{FX}/digits/samples");
    let bad = format!("{FX}/bad/truncated.png");
    let out = score(&[&samples, &bad, "/nonexistent/x.png", "--sort", "entropy"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 32 + 2);
    let errs: Vec<&str> = lines
        .iter()
        .filter_map(|l| l["error"]["code"].as_str())
        .collect();
    assert_eq!(errs, vec!["image_decode", "io"], "failed items last, in input order");
    // sorted most uncertain first
    let h: Vec<f64> = lines
        .iter()
        .filter_map(|l| l["score"]["entropy"].as_f64())
        .collect();
    assert!(h.windows(2).all(|w| w[0] >= w[1]));
    assert!(lines[0]["id"].as_str().unwrap().ends_with("d14_label8.png"));
}

#[test]
fn csv_has_one_row_per_image() {
    let out = score(&[&format!("{FX}/digits/samples/d00_label3.png"), &format!("{FX}/bad/garbage.png"), "--format", "csv"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows.len(), 3);
    assert!(rows[0].starts_with("id,ok,error_code,error_message,predicted,predicted_name,confidence"));
    assert!(rows[0].ends_with("p_8,p_9"));
    assert!(rows[1].contains(",true,,,3,3,"));
    assert!(rows[2].contains(",false,image_decode,"));
}

#[test]
fn unknown_options_and_bad_models_are_refused() {
    let out = score(&["--options", r#"{"topk":2}"#, &format!("{FX}/digits/samples/d00_label3.png")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid_options"));
    let out = Command::new(BIN)
        .args(["check", "--model", &format!("{FX}/bad/wrong_input.onnx")])
        .args(["--manifest", &format!("{FX}/bad/wrong_input_manifest.json")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("shape_mismatch"));
}
