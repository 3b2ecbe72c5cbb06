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
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
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
    assert_eq!(
        errs,
        vec!["image_decode", "io"],
        "failed items last, in input order"
    );
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
    let out = score(&[
        &format!("{FX}/digits/samples/d00_label3.png"),
        &format!("{FX}/bad/garbage.png"),
        "--format",
        "csv",
    ]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows.len(), 3);
    assert!(
        rows[0].starts_with("id,ok,error_code,error_message,predicted,predicted_name,confidence")
    );
    assert!(rows[0].ends_with("p_8,p_9"));
    assert!(rows[1].contains(",true,,,3,3,"));
    assert!(rows[2].contains(",false,image_decode,"));
}

#[test]
fn unknown_options_and_bad_models_are_refused() {
    let out = score(&[
        "--options",
        r#"{"topk":2}"#,
        &format!("{FX}/digits/samples/d00_label3.png"),
    ]);
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

/// `queue tiers` -> `queue export` (Label Studio, pseudo-labels) and `queue plan`, on CSV
/// arrays written here; bad policy fields are refused with the code on stderr.
#[test]
fn queue_tiers_plan_and_export() {
    let dir = std::env::temp_dir().join(format!("medtriage-cli-queue-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, rows: &[String]| {
        let p = dir.join(name);
        std::fs::write(&p, rows.join("\n") + "\n").unwrap();
        p.display().to_string()
    };
    // 600 verified and 200 pool items, 3 classes: mostly confident and right, every 10th wrong
    let probs = |n: usize, off: usize| -> (Vec<String>, Vec<String>, Vec<String>) {
        let (mut p, mut y, mut g) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..n {
            let t = (i + off) % 3;
            let c = 0.6 + 0.39 * (((i * 7919) % 100) as f64 / 100.0);
            let mut row = [(1.0 - c) / 2.0; 3];
            row[t] = c;
            p.push(format!("{},{},{}", row[0], row[1], row[2]));
            y.push(t.to_string());
            g.push(if i % 10 == 3 { (t + 1) % 3 } else { t }.to_string());
        }
        (p, y, g)
    };
    let (vp, vy, vg) = probs(600, 0);
    let (pp, _, pg) = probs(200, 1);
    let args = [
        "--verified-probs".to_string(),
        write("vp.csv", &vp),
        "--verified-labels".into(),
        write("vy.csv", &vy),
        "--verified-given".into(),
        write("vg.csv", &vg),
        "--pool-probs".into(),
        write("pp.csv", &pp),
        "--pool-given".into(),
        write("pg.csv", &pg),
    ];
    let tiers = dir.join("tiers.json");
    let out = Command::new(BIN)
        .args(["queue", "tiers"])
        .args(&args)
        .args(["--policy", r#"{"autoAccept": {"alpha": 0.05}}"#, "--out"])
        .arg(&tiers)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let t: serde_json::Value = serde_json::from_slice(&std::fs::read(&tiers).unwrap()).unwrap();
    assert_eq!(t["items"].as_array().unwrap().len(), 200);
    assert!(t["fitted"]["temperature"].as_f64().unwrap() > 0.0);
    assert!(!t["items"][0]["reasons"].as_array().unwrap().is_empty());

    let ls = Command::new(BIN)
        .args(["queue", "export", "--to", "label-studio", "--tiers"])
        .arg(&tiers)
        .args([
            "--options",
            r#"{"urlPrefix": "/files/", "reasonsFromName": "why"}"#,
        ])
        .output()
        .unwrap();
    assert!(
        ls.status.success(),
        "{}",
        String::from_utf8_lossy(&ls.stderr)
    );
    let tasks: serde_json::Value = serde_json::from_slice(&ls.stdout).unwrap();
    assert_eq!(tasks.as_array().unwrap().len(), 200);
    assert!(tasks[0]["data"]["image"]
        .as_str()
        .unwrap()
        .starts_with("/files/"));
    assert!(tasks[0]["predictions"][0]["score"].as_f64().is_some());

    let pl = Command::new(BIN)
        .args(["queue", "export", "--to", "pseudo-csv", "--tiers"])
        .arg(&tiers)
        .output()
        .unwrap();
    assert!(pl.status.success());
    let csv = String::from_utf8(pl.stdout).unwrap();
    assert!(csv.starts_with("id,label,class,weight,tier\n"));
    assert_eq!(
        csv.lines().count() - 1,
        t["counts"]["autoAccept"].as_u64().unwrap() as usize
    );

    let reviewed = write(
        "reviewed.csv",
        &["index,label".into(), "0,1".into(), "5,0".into()],
    );
    let plan = Command::new(BIN)
        .args(["queue", "plan"])
        .args(&args)
        .args(["--reviewed", &reviewed, "--options", r#"{"batchSize": 20}"#])
        .output()
        .unwrap();
    assert!(
        plan.status.success(),
        "{}",
        String::from_utf8_lossy(&plan.stderr)
    );
    let p: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    assert_eq!(p["estimate"]["reviewed"], 2);
    let batch = p["batch"].as_array().unwrap();
    assert!(batch.len() <= 20);
    assert!(batch.iter().all(|i| i != 0 && i != 5));

    let bad = Command::new(BIN)
        .args(["queue", "tiers"])
        .args(&args)
        .args(["--policy", r#"{"autoAccept": {"alpah": 0.05}}"#])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("alpah"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn group_classes_sums_probabilities_and_refuses_a_missing_class() {
    let dir = std::env::temp_dir().join(format!("medtriage-cli-group-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let probs = dir.join("p.csv");
    std::fs::write(&probs, "0.1,0.2,0.6,0.1\n0.7,0.1,0.1,0.1\n").unwrap();
    let labels = dir.join("y.csv");
    std::fs::write(&labels, "2\n0\n").unwrap();
    let grouping = r#"{"classes":["glioma","meningioma","notumor","pituitary"],
        "groups":[{"name":"no","classes":["notumor"]},{"name":"yes","classes":["glioma","meningioma","pituitary"]}]}"#;
    let out = Command::new(BIN)
        .args(["triage", "group-classes", "--pred-probs"])
        .arg(&probs)
        .args(["--labels"])
        .arg(&labels)
        .args(["--grouping", grouping])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["classes"], serde_json::json!(["no", "yes"]));
    assert_eq!(v["labels"], serde_json::json!([0, 1]));
    let p: Vec<f64> = v["predProbs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    for (a, b) in p.iter().zip([0.6, 0.4, 0.1, 0.9]) {
        assert!((a - b).abs() < 1e-9, "{p:?}");
    }
    // the grouped CSV reads back as a 2-column matrix (header = group names)
    let csv = dir.join("g.csv");
    let out = Command::new(BIN)
        .args(["triage", "group-classes", "--pred-probs"])
        .arg(&probs)
        .args(["--grouping", grouping, "--format", "csv", "--out"])
        .arg(&csv)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.starts_with("no,yes\n"), "{text}");
    let missing = grouping.replace(r#","pituitary"]}]"#, r#"]}]"#);
    let out = Command::new(BIN)
        .args(["triage", "group-classes", "--pred-probs"])
        .arg(&probs)
        .args(["--grouping", &missing])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("invalid_options") && err.contains("pituitary"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs the CLI, asserting success, and returns stdout.
fn ok(args: &[&str]) -> String {
    let out = Command::new(BIN).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn multilabel_score_tiers_export_and_label_studio() {
    let dir = std::env::temp_dir().join(format!("medtriage-cli-ml-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = |name: &str| dir.join(name).display().to_string();
    // scoring with the multi-label fixture: findings and a summary per image, CSV columns
    let sample = format!("{FX}/digits/samples/d00_label3.png");
    let (model, manifest) = (
        format!("{FX}/multilabel/model.onnx"),
        format!("{FX}/multilabel/manifest.json"),
    );
    let j = ok(&[
        "score",
        "--quiet",
        "--model",
        &model,
        "--manifest",
        &manifest,
        &sample,
    ]);
    let v: serde_json::Value = serde_json::from_str(j.lines().next().unwrap()).unwrap();
    assert_eq!(v["score"]["findings"].as_array().unwrap().len(), 4);
    assert!(v["score"]["summary"]["pAnyWrong"].is_f64());
    let csv = ok(&[
        "score",
        "--quiet",
        "--model",
        &model,
        "--manifest",
        &manifest,
        &sample,
        "--format",
        "csv",
    ]);
    let head = csv.lines().next().unwrap();
    assert!(
        head.ends_with("p_even,p_loop,p_prime,p_over4,present,p_any_wrong"),
        "{head}"
    );
    // tiers from files: 400 verified, 100 pool images, 2 findings; finding lists one per line
    let (mut vp, mut vl, mut pp, mut pg) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for i in 0..500usize {
        let (a, b) = (i % 3 == 0, i % 5 == 0);
        let c = |y: bool, s: usize| {
            if y {
                0.9 + 0.09 * (s % 10) as f64 / 10.0
            } else {
                0.1 - 0.09 * (s % 10) as f64 / 10.0
            }
        };
        let row = format!("{},{}", c(a, i * 7), c(b, i * 13));
        let names: Vec<&str> = [(a, "effusion"), (b, "nodule")]
            .iter()
            .filter(|x| x.0)
            .map(|x| x.1)
            .collect();
        let given = if i % 17 == 0 {
            "nodule".to_string()
        } else {
            names.join("|")
        };
        if i < 400 {
            vp.push(row);
            vl.push(names.join("|"));
        } else {
            pp.push(row);
            pg.push(given);
        }
    }
    let write = |name: &str, rows: &[String]| {
        std::fs::write(path(name), rows.join("\n") + "\n").unwrap();
        path(name)
    };
    std::fs::write(path("names.txt"), "effusion\nnodule\n").unwrap();
    let args = [
        "multilabel",
        "tiers",
        "--findings",
        &path("names.txt"),
        "--verified-probs",
        &write("vp.csv", &vp),
        "--verified-labels",
        &write("vl.txt", &vl),
        "--pool-probs",
        &write("pp.csv", &pp),
        "--pool-given",
        &write("pg.txt", &pg),
        "--out",
        &path("tiers.json"),
    ];
    ok(&args);
    let t: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path("tiers.json")).unwrap()).unwrap();
    assert_eq!(t["items"].as_array().unwrap().len(), 100);
    assert_eq!(t["findings"], serde_json::json!(["effusion", "nodule"]));
    let pseudo = ok(&[
        "multilabel",
        "export",
        "--tiers",
        &path("tiers.json"),
        "--to",
        "pseudo-csv",
    ]);
    assert!(
        pseudo.starts_with("id,labels,tier,effusion,nodule,weight_effusion,weight_nodule\n"),
        "{pseudo}"
    );
    let ls = ok(&[
        "multilabel",
        "export",
        "--tiers",
        &path("tiers.json"),
        "--to",
        "label-studio",
        "--out",
        &path("ls.json"),
    ]);
    assert!(ls.is_empty());
    let config = ok(&[
        "multilabel",
        "label-studio-config",
        "--findings",
        &path("names.txt"),
    ]);
    assert!(config.contains(r#"choice="multiple""#) && config.contains("No finding"));
    // read the exported tasks back with one annotation each (the prediction accepted)
    let tasks: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path("ls.json")).unwrap()).unwrap();
    let annotated: Vec<serde_json::Value> = tasks
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, task)| {
            let r = task["predictions"][0]["result"][0].clone();
            serde_json::json!({"id": i + 1, "data": task["data"], "annotations": [{"completed_by": 1, "result": [r]}]})
        })
        .collect();
    std::fs::write(
        path("export.json"),
        serde_json::to_string(&annotated).unwrap(),
    )
    .unwrap();
    let back = ok(&[
        "multilabel",
        "read-label-studio",
        "--export",
        &path("export.json"),
        "--findings",
        &path("names.txt"),
    ]);
    let b: serde_json::Value = serde_json::from_str(&back).unwrap();
    assert_eq!(b["decided"], 100);
    for r in b["reviewed"].as_array().unwrap() {
        let i = r["index"].as_u64().unwrap() as usize;
        assert_eq!(r["findings"], t["items"][i]["labels"], "image {i}");
    }
    // a plan with those reviews: everything reviewed, so it stops
    let mut plan_args: Vec<&str> = args[..args.len() - 2].to_vec();
    plan_args[1] = "plan";
    let export = path("export.json");
    plan_args.extend(["--reviewed-label-studio", &export]);
    let p: serde_json::Value = serde_json::from_str(&ok(&plan_args)).unwrap();
    assert_eq!(p["stop"], true, "{}", p["stopReason"]);
    assert_eq!(p["estimate"]["reviewed"], 100);
    // typos in options are refused with the flag named
    let out = Command::new(BIN)
        .args([
            "multilabel",
            "label-issues",
            "--probs",
            &path("vp.csv"),
            "--labels",
            &path("vl.txt"),
        ])
        .args([
            "--findings",
            &path("names.txt"),
            "--options",
            r#"{"fracNoize": 1}"#,
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("fracNoize"));
    let issues: serde_json::Value = serde_json::from_str(&ok(&[
        "multilabel",
        "label-issues",
        "--probs",
        &path("vp.csv"),
        "--labels",
        &path("vl.txt"),
        "--findings",
        &path("names.txt"),
    ]))
    .unwrap();
    assert_eq!(issues["isLabelIssue"].as_array().unwrap().len(), 400);
    std::fs::remove_dir_all(&dir).ok();
}

/// `score --shard i/N` over 4 machines, then `merge`: exactly the output of one run.
#[test]
fn four_shards_merge_to_one_run() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("shards");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let samples = format!("{FX}/digits/samples");
    let bad = format!("{FX}/bad/truncated.png");
    let inputs = [samples.as_str(), bad.as_str(), "/nonexistent/x.png"];
    let run = |shard: &str, out: &std::path::Path| {
        let o = score(
            &[
                &inputs[..],
                &["--shard", shard, "-o", out.to_str().unwrap()],
            ]
            .concat(),
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    let mut parts = Vec::new();
    for i in 0..4 {
        let p = dir.join(format!("part{i}.jsonl"));
        run(&format!("{i}/4"), &p);
        parts.push(p);
    }
    let sizes: Vec<usize> = parts
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap().lines().count())
        .collect();
    assert_eq!(sizes.iter().sum::<usize>(), 34, "{sizes:?}");
    assert!(sizes.iter().all(|&n| n < 34), "a real split: {sizes:?}");
    let merge = |extra: &[&str]| {
        Command::new(BIN)
            .args(["merge", "--quiet"])
            .args(extra)
            .output()
            .unwrap()
    };
    let p: Vec<&str> = parts.iter().map(|p| p.to_str().unwrap()).collect();
    let plain = score(&inputs);
    assert!(plain.status.success());
    // a retried job's output given twice is dropped, not doubled
    let o = merge(&[p[0], p[1], p[2], p[3], p[2]]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        String::from_utf8(o.stdout).unwrap(),
        String::from_utf8(plain.stdout.clone()).unwrap(),
        "merged shards equal one run, byte for byte"
    );
    // one shard of one is the whole run too
    let whole = dir.join("whole.jsonl");
    run("0/1", &whole);
    let o = merge(&[whole.to_str().unwrap()]);
    assert_eq!(o.stdout, plain.stdout);
    // a missing shard is refused, naming it
    let o = merge(&[p[0], p[1], p[3]]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("incomplete"), "{err}");
    // a shard scored with another manifest is refused
    let other = dir.join("manifest.json");
    let m = std::fs::read_to_string(format!("{FX}/digits/manifest.json")).unwrap();
    std::fs::write(&other, format!("{m}\n")).unwrap();
    let o = Command::new(BIN)
        .args(["score", "--quiet", "--shard", "2/4", "-o"])
        .arg(dir.join("other.jsonl"))
        .args(["--model", &format!("{FX}/digits/model.onnx")])
        .arg("--manifest")
        .arg(&other)
        .args(inputs)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let other_part = dir.join("other.jsonl");
    let o = merge(&[p[0], p[1], other_part.to_str().unwrap(), p[3]]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("mixed manifests"),
        "{err}"
    );
    // sorting and CSV belong after the merge
    let o = score(&[&inputs[..], &["--shard", "0/2", "--sort", "entropy"]].concat());
    assert_eq!(o.status.code(), Some(2));
    let o = merge(&[p[0], p[1], p[2], p[3], "--sort", "entropy"]);
    assert!(o.status.success());
    let sorted_plain = score(&[&inputs[..], &["--sort", "entropy"]].concat());
    let ids = |s: &[u8]| -> Vec<String> {
        String::from_utf8_lossy(s)
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["id"].to_string())
            .collect()
    };
    assert_eq!(ids(&o.stdout), ids(&sorted_plain.stdout));
}
