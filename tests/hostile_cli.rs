//! Hostile inputs through the CLI (native only; the engine's matrix is `tests/hostile.rs`):
//! folders with FIFOs, symbolic-link cycles and non-UTF-8 names; tables whose headers lie;
//! option values that would hang or exhaust memory. Each must end, within a deadline, with
//! its typed error on one line (no backtrace) and the exit code of its kind, or with every
//! good file scored.
#![cfg(all(not(target_arch = "wasm32"), feature = "onnx"))]

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_medtriage");
const FX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("medtriage-hostile-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Run the CLI; a run still going after 60 s is a hang: killed, and the test fails.
fn run(args: &[&std::ffi::OsStr]) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if t.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            panic!("medtriage {args:?} hung");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn os(s: &str) -> &std::ffi::OsStr {
    std::ffi::OsStr::new(s)
}

fn score_args() -> Vec<String> {
    vec![
        "score".into(),
        "--quiet".into(),
        "--model".into(),
        format!("{FX}/digits/model.onnx"),
        "--manifest".into(),
        format!("{FX}/digits/manifest.json"),
    ]
}

/// The error line: exactly one line `error[code]: ...`, no backtrace.
fn error_line(out: &Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "not one line: {err}");
    assert!(lines[0].starts_with("error["), "{err}");
    assert!(
        !err.contains("backtrace") && !err.contains("panicked"),
        "{err}"
    );
    lines[0].to_string()
}

fn ids(out: &Output) -> Vec<(String, bool)> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["id"].as_str().unwrap().to_string(),
                v["score"].is_object(),
            )
        })
        .collect()
}

fn mkfifo(p: &Path) {
    let ok = Command::new("mkfifo").arg(p).status().unwrap().success();
    assert!(ok, "mkfifo");
}

#[test]
fn folders_with_fifos_link_cycles_and_non_utf8_names() {
    let top = tmp("walk");
    let d = top.join("root");
    std::fs::create_dir_all(&d).unwrap();
    let png = std::fs::read(format!("{FX}/digits/samples/d00_label3.png")).unwrap();
    std::fs::write(d.join("good.png"), &png).unwrap();
    mkfifo(&d.join("pipe.png"));
    std::os::unix::fs::symlink(&d, d.join("loop")).unwrap();
    // a link to the parent: the walk comes back to `root` and must not enter it twice
    std::os::unix::fs::symlink("..", d.join("up")).unwrap();
    std::os::unix::fs::symlink(d.join("missing.png"), d.join("dangling.png")).unwrap();
    let a = d.join(std::ffi::OsStr::from_bytes(b"scan\xff.png"));
    let b = d.join(std::ffi::OsStr::from_bytes(b"scan\xfe.png"));
    std::fs::write(&a, &png).unwrap();
    std::fs::write(&b, &png).unwrap();
    let mut args: Vec<std::ffi::OsString> = score_args().into_iter().map(Into::into).collect();
    args.push(d.clone().into());
    let refs: Vec<&std::ffi::OsStr> = args.iter().map(|s| s.as_os_str()).collect();
    let out = run(&refs);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = ids(&out);
    // good.png + the two non-UTF-8 names, each once: no FIFO, no loop, no dangling link
    assert_eq!(got.len(), 3, "{got:?}");
    assert!(got.iter().all(|(_, ok)| *ok), "{got:?}");
    let mut names: Vec<&str> = got.iter().map(|(i, _)| i.as_str()).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 3, "ids collide: {got:?}");
    assert!(names.iter().any(|n| n.ends_with("scan%FF.png")), "{got:?}");
    assert!(names.iter().any(|n| n.ends_with("scan%FE.png")), "{got:?}");

    // a FIFO named on the command line fails alone, it does not block
    let mut args: Vec<std::ffi::OsString> = score_args().into_iter().map(Into::into).collect();
    args.push(d.join("pipe.png").into());
    args.push(d.join("good.png").into());
    let refs: Vec<&std::ffi::OsStr> = args.iter().map(|s| s.as_os_str()).collect();
    let out = run(&refs);
    assert!(out.status.success());
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["error"]["code"], "io");
    assert!(lines[1]["score"].is_object());
    let _ = std::fs::remove_dir_all(&top);
}

#[test]
fn options_that_would_hang_are_refused() {
    let mut a = score_args();
    a.extend([
        "--threads".into(),
        "1000000".into(),
        format!("{FX}/digits/samples"),
    ]);
    let refs: Vec<&std::ffi::OsStr> = a.iter().map(|s| os(s)).collect();
    let out = run(&refs);
    assert_eq!(out.status.code(), Some(2));
    let l = error_line(&out);
    assert!(
        l.contains("invalid_options") && l.contains("MAX_THREADS") && l.contains("1000000"),
        "{l}"
    );

    let mut a = score_args();
    a.extend([
        "--load-options".into(),
        r#"{"maxBatch":100000000}"#.into(),
        format!("{FX}/digits/samples"),
    ]);
    let refs: Vec<&std::ffi::OsStr> = a.iter().map(|s| os(s)).collect();
    let l = error_line(&run(&refs));
    assert!(
        l.contains("invalid_options") && l.contains("maxBatch"),
        "{l}"
    );

    let mut a = score_args();
    a.extend([
        "--options".into(),
        r#"{"limits":[1,2,3]}"#.into(),
        format!("{FX}/digits/samples"),
    ]);
    let refs: Vec<&std::ffi::OsStr> = a.iter().map(|s| os(s)).collect();
    let l = error_line(&run(&refs));
    assert!(
        l.contains("invalid_options") && l.contains("--options"),
        "{l}"
    );
}

#[test]
fn a_bad_manifest_names_the_flag_and_the_file() {
    let d = tmp("manifest");
    let m = d.join("m.json");
    std::fs::write(&m, r#"{"input":{"width":32,"height":32,"layout":"nchw","channels":"gray","mean":[0.5],"std":[0.5],"resize":{"mode":"stretch","antialias":true}},"output":{"kind":"logits","classes":["a","b"]}}"#).unwrap();
    let a = [
        "score".to_string(),
        "--model".into(),
        format!("{FX}/digits/model.onnx"),
        "--manifest".into(),
        m.display().to_string(),
        format!("{FX}/digits/samples"),
    ];
    let refs: Vec<&std::ffi::OsStr> = a.iter().map(|s| os(s)).collect();
    let l = error_line(&run(&refs));
    assert!(
        l.contains("invalid_manifest")
            && l.contains("--manifest")
            && l.contains("m.json")
            && l.contains("antialias"),
        "{l}"
    );
    let _ = std::fs::remove_dir_all(&d);
}

fn npy(header_len_field: u32, header: &str, data: &[u8]) -> Vec<u8> {
    let mut b = b"\x93NUMPY\x02\x00".to_vec();
    b.extend(header_len_field.to_le_bytes());
    b.extend(header.as_bytes());
    b.extend(data);
    b
}

fn label_issues(probs: &Path, labels: &Path) -> Output {
    let a = [
        "triage".to_string(),
        "label-issues".into(),
        "--pred-probs".into(),
        probs.display().to_string(),
        "--labels".into(),
        labels.display().to_string(),
    ];
    let refs: Vec<&std::ffi::OsStr> = a.iter().map(|s| os(s)).collect();
    run(&refs)
}

#[test]
fn tables_whose_headers_lie_are_refused_before_allocating() {
    let d = tmp("tables");
    let labels = d.join("labels.csv");
    std::fs::write(&labels, "0\n1\n").unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        // 20 bytes whose header length field says 4 GB
        (
            "huge_header.npy",
            npy(u32::MAX, "{'descr'", b""),
            "header claims",
        ),
        (
            "huge_shape.npy",
            npy(
                116,
                &format!(
                    "{:<115}\n",
                    "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000, 1000000), }"
                ),
                &[0; 16],
            ),
            "needs more than",
        ),
        ("not_npy.npy", b"hello".to_vec(), "not a .npy"),
    ];
    for (name, bytes, want) in cases {
        let p = d.join(name);
        std::fs::write(&p, bytes).unwrap();
        let out = label_issues(&p, &labels);
        assert_eq!(out.status.code(), Some(1), "{name}");
        let l = error_line(&out);
        assert!(
            l.contains("invalid_input") && l.contains(name) && l.contains(want),
            "{name}: {l}"
        );
    }
    // 2 rows x 1,000,000 columns of probabilities: K beyond the class limit
    let wide = d.join("wide.csv");
    let row = vec!["0.000001"; 1_000_000].join(",");
    std::fs::write(&wide, format!("{row}\n{row}\n")).unwrap();
    let l = error_line(&label_issues(&wide, &labels));
    assert!(
        l.contains("invalid_input") && l.contains("MAX_CLASSES") && l.contains("wide.csv"),
        "{l}"
    );
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn class_counts_beyond_the_limit_are_refused() {
    let d = tmp("classes");
    let ann = d.join("ann.csv");
    std::fs::write(&ann, "item,annotator,label\na,x,0\na,y,1\nb,x,1\n").unwrap();
    let a = [
        "consensus".to_string(),
        "majority".into(),
        "--annotations".into(),
        ann.display().to_string(),
        "--num-classes".into(),
        "1000000000000".into(),
    ];
    let refs: Vec<&std::ffi::OsStr> = a.iter().map(|s| os(s)).collect();
    let l = error_line(&run(&refs));
    assert!(
        l.contains("invalid_input") && l.contains("--num-classes") && l.contains("MAX_CLASSES"),
        "{l}"
    );
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn nan_in_an_input_table_is_bad_input_with_its_row() {
    let d = tmp("nan");
    let logits = d.join("logits.csv");
    let labels = d.join("labels.csv");
    std::fs::write(&logits, "1,2,3\n0.5,NaN,1\n").unwrap();
    std::fs::write(&labels, "0\n1\n").unwrap();
    let a = [
        "calibrate".to_string(),
        "temperature".into(),
        "--logits".into(),
        logits.display().to_string(),
        "--labels".into(),
        labels.display().to_string(),
    ];
    let refs: Vec<&std::ffi::OsStr> = a.iter().map(|s| os(s)).collect();
    let l = error_line(&run(&refs));
    assert!(
        l.contains("invalid_input") && l.contains("row 1, column 1"),
        "{l}"
    );
    let _ = std::fs::remove_dir_all(&d);
}

fn cli(a: &[String]) -> Output {
    let refs: Vec<&std::ffi::OsStr> = a.iter().map(|s| os(s)).collect();
    run(&refs)
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

#[test]
fn iterations_tolerances_indices_and_classes_are_bounded() {
    let d = tmp("bounds");
    let ann = d.join("ann.csv");
    std::fs::write(&ann, "item,annotator,label\na,x,0\na,y,1\nb,x,1\n").unwrap();
    let ann_s = ann.display().to_string();
    // nIter 10^18 with a negative tol: a loop without end, refused while the options are read
    let mut a = s(&[
        "consensus",
        "dawid-skene",
        "--annotations",
        &ann_s,
        "--options",
    ]);
    a.push(r#"{"nIter":1000000000000000000,"tol":-1}"#.into());
    let out = cli(&a);
    assert_eq!(out.status.code(), Some(2));
    let l = error_line(&out);
    assert!(
        l.contains("invalid_options") && l.contains("--options") && l.contains("MAX_ITERATIONS"),
        "{l}"
    );
    let mut a = s(&[
        "consensus",
        "dawid-skene",
        "--annotations",
        &ann_s,
        "--options",
    ]);
    a.push(r#"{"tol":-1}"#.into());
    let l = error_line(&cli(&a));
    assert!(l.contains("--options") && l.contains(">= 0, got -1"), "{l}");

    // an annotation of class 4e9: K would be 4e9 + 1
    let big = d.join("big.csv");
    std::fs::write(&big, "item,annotator,label\na,x,0\nb,x,4000000000\n").unwrap();
    let a = s(&[
        "consensus",
        "majority",
        "--annotations",
        &big.display().to_string(),
    ]);
    let out = cli(&a);
    assert_eq!(out.status.code(), Some(1));
    let l = error_line(&out);
    assert!(
        l.contains("invalid_input")
            && l.contains("--annotations")
            && l.contains("big.csv")
            && l.contains("MAX_CLASSES"),
        "{l}"
    );

    // a triage naming item 10^12, exported without ids
    let tiers = d.join("tiers.json");
    std::fs::write(&tiers, r#"{"items":[{"index":1000000000000,"tier":"expertReview","predicted":0,"reasons":[]}],"order":[],"counts":{"autoAccept":0,"lightReview":0,"expertReview":1,"suspectedLabelError":0,"outlier":0,"failed":0},"fitted":{"temperature":1.0,"certifiedOn":0}}"#).unwrap();
    let a = s(&[
        "queue",
        "export",
        "--tiers",
        &tiers.display().to_string(),
        "--to",
        "csv",
    ]);
    let l = error_line(&cli(&a));
    assert!(
        l.contains("--tiers") && l.contains("tiers.json") && l.contains("MAX_ITEMS"),
        "{l}"
    );

    // a flag beyond its bound: one line naming the flag, exit 2
    let scores = d.join("scores.csv");
    std::fs::write(&scores, "0.5\n0.2\n").unwrap();
    let a = s(&[
        "select",
        "batch",
        "--scores",
        &scores.display().to_string(),
        "--batch-size",
        "1000000000000",
    ]);
    let out = cli(&a);
    assert_eq!(out.status.code(), Some(2));
    let l = error_line(&out);
    assert!(
        l.contains("invalid_options") && l.contains("--batch-size") && l.contains("MAX_ITEMS"),
        "{l}"
    );
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn data_errors_name_the_flag_and_the_file() {
    let d = tmp("flags");
    let probs = d.join("probs.csv");
    let labels = d.join("labels.csv");
    let pool = d.join("pool.csv");
    std::fs::write(&probs, "0.9,0.1\n0.2,0.8\n0.7,0.3\n").unwrap();
    std::fs::write(&labels, "0\n1\n").unwrap();
    std::fs::write(&pool, "0.6,0.4\n").unwrap();
    let p = |x: &PathBuf| x.display().to_string();
    // queue tiers: the verified labels do not match the verified probabilities
    let a = s(&[
        "queue",
        "tiers",
        "--verified-probs",
        &p(&probs),
        "--verified-labels",
        &p(&labels),
        "--pool-probs",
        &p(&pool),
    ]);
    let l = error_line(&cli(&a));
    assert!(
        l.contains("--verified-labels")
            && l.contains("labels.csv")
            && !l.contains("verified.labels"),
        "{l}"
    );
    // triage: a label beyond the classes
    std::fs::write(&labels, "0\n1\n7\n").unwrap();
    let a = s(&[
        "triage",
        "label-issues",
        "--pred-probs",
        &p(&probs),
        "--labels",
        &p(&labels),
    ]);
    let l = error_line(&cli(&a));
    assert!(
        l.contains("--labels") && l.contains("labels.csv") && l.contains("--pred-probs"),
        "{l}"
    );
    // calibrate: the same through another command
    let a = s(&[
        "calibrate",
        "report",
        "--pred-probs",
        &p(&probs),
        "--labels",
        &p(&labels),
    ]);
    let l = error_line(&cli(&a));
    assert!(l.contains("--labels") && l.contains("labels.csv"), "{l}");
    // a missing required flag: one line naming it, exit 2
    let out = cli(&s(&["triage", "label-issues", "--pred-probs", &p(&probs)]));
    assert_eq!(out.status.code(), Some(2));
    let l = error_line(&out);
    assert!(l.contains("--labels"), "{l}");
    let _ = std::fs::remove_dir_all(&d);
}

/// The DICOM cases of the hostile matrix (`tests/hostile/dicom/`, see its README) through the
/// CLI: every file named on one command line between a good PNG and a good DICOM file, with
/// the cases' limits as `--options`. Each line must carry its case's exact code (or a score),
/// the good files must be scored, the run must end with success and nothing on stderr, and
/// no canary patient value may appear in the output.
#[test]
fn hostile_dicom_through_the_cli() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/hostile");
    let all: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{root}/cases.json")).unwrap())
            .unwrap();
    let cases: Vec<&serde_json::Value> = all["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["category"] == "dicom")
        .collect();
    assert!(cases.len() >= 50, "{} DICOM cases", cases.len());
    let limits = serde_json::json!({ "limits": cases[0]["limits"] }).to_string();
    let good_png = format!("{FX}/digits/samples/d00_label3.png");
    let good_dcm = format!("{FX}/dicom/MR_small.dcm");
    let mut args: Vec<String> = vec![
        "score".into(),
        "--quiet".into(),
        "--model".into(),
        format!("{root}/models/good.onnx"),
        "--manifest".into(),
        format!("{root}/models/manifest.json"),
        "--options".into(),
        limits,
        good_png,
    ];
    for c in &cases {
        args.push(format!("{root}/{}", c["file"].as_str().unwrap()));
    }
    args.push(good_dcm);
    let refs: Vec<&std::ffi::OsStr> = args.iter().map(|s| os(s)).collect();
    let out = run(&refs);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.trim().is_empty(), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), cases.len() + 2, "{stdout}");
    let mut problems = Vec::new();
    for canary in cases[0]["message_lacks_any"].as_array().unwrap() {
        if stdout.contains(canary.as_str().unwrap()) {
            problems.push(format!("the output names {canary}"));
        }
    }
    let line = |name: &str| {
        lines
            .iter()
            .find(|l| l["id"].as_str().is_some_and(|id| id.ends_with(name)))
    };
    for name in ["d00_label3.png", "MR_small.dcm"] {
        if !line(name).is_some_and(|g| g["score"].is_object()) {
            problems.push(format!(
                "the good file {name} was not scored: {:?}",
                line(name)
            ));
        }
    }
    for c in &cases {
        let file = c["file"].as_str().unwrap();
        let Some(l) = line(file.rsplit('/').next().unwrap()) else {
            problems.push(format!("{file}: no line"));
            continue;
        };
        let want = c["expect"].as_str().unwrap();
        let got = if l["score"].is_object() {
            "ok"
        } else {
            l["error"]["code"]
                .as_str()
                .unwrap_or("neither score nor error")
        };
        if got != want {
            problems.push(format!("{file}: expected {want}, got {got}: {l}"));
        }
    }
    assert!(
        problems.is_empty(),
        "{} of {} DICOM cases wrong through the CLI:\n{}",
        problems.len(),
        cases.len(),
        problems.join("\n")
    );
}
