use super::*;
use crate::engine::queue::rounds::ReviewOutcome;
use serde_json::json;
use serde_json::Value;

fn classes() -> Vec<String> {
    ["cat", "dog", "bird"]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

fn ann(id: i64, by: Value, choice: &str, cancelled: bool, at: &str) -> Value {
    json!({"id": id, "completed_by": by, "was_cancelled": cancelled, "updated_at": at,
           "result": if choice.is_empty() { json!([]) } else { json!([
               {"from_name": "tier", "to_name": "image", "type": "choices", "value": {"choices": ["lightReview"]}},
               {"from_name": "choice", "to_name": "image", "type": "choices", "value": {"choices": [choice]}}]) }})
}

fn req(export: Value) -> ReadLabelStudioRequest {
    ReadLabelStudioRequest {
        export,
        classes: classes(),
        ids: Some(vec![
            "a.png".into(),
            "b.png".into(),
            "c.png".into(),
            "d.png".into(),
        ]),
        n: None,
        options: ReadLabelStudioOptions::default(),
    }
}

#[test]
fn json_export_with_skips_several_annotators_and_updates() {
    let export = json!([
        {"id": 11, "data": {"image": "/x/a.png", "medtriage_index": 0, "medtriage_id": "a.png"},
         "annotations": [ann(1, json!(1), "dog", false, "2026-01-01T10:00"),
                         ann(2, json!(2), "dog", false, "2026-01-01T10:01"),
                         ann(3, json!(3), "cat", false, "2026-01-01T10:02")]},
        {"id": 12, "data": {"image": "/x/b.png", "medtriage_index": 1, "medtriage_id": "b.png"},
         "annotations": [ann(4, json!(1), "", true, "2026-01-01T10:00")]},
        {"id": 13, "data": {"medtriage_index": 2, "medtriage_id": "c.png"},
         "annotations": [ann(5, json!({"id": 1, "email": "r@h.org"}), "cat", false, "2026-01-01T10:00"),
                         ann(6, json!({"id": 1, "email": "r@h.org"}), "bird", false, "2026-01-01T11:00"),
                         ann(7, json!(2), "cat", false, "2026-01-01T10:00")]},
        {"id": 14, "data": {"medtriage_index": 3, "medtriage_id": "d.png"}, "annotations": []},
    ]);
    let r = read_label_studio(&req(export)).unwrap();
    assert_eq!(r.tasks, 4);
    assert_eq!(r.annotations_read, 7);
    assert_eq!(r.skipped, 1);
    assert_eq!(r.superseded, 1);
    assert_eq!(r.decided, 2);
    // task 0: dog 2 votes, cat 1; task 2: bird vs cat tie -> lowest index (cat)
    assert_eq!(
        r.reviewed,
        vec![
            ReviewOutcome { index: 0, label: 1 },
            ReviewOutcome { index: 2, label: 0 }
        ]
    );
    assert_eq!(
        r.ties,
        vec![ReadTie {
            index: 2,
            candidates: vec![0, 2]
        }]
    );
    assert_eq!(r.multi_annotator_tasks, 2);
    assert_eq!(r.disagreements, 2);
    assert!(r
        .annotations
        .iter()
        .any(|a| a.annotator == "r@h.org" && a.label == 2));
}

#[test]
fn json_min_and_api_shapes() {
    let min = json!([
        {"image": "/x/a.png", "id": 11, "medtriage_index": 0, "medtriage_id": "a.png",
         "choice": "bird", "annotator": "r@h.org", "annotation_id": 1},
        {"image": "/x/b.png", "id": 12, "medtriage_index": 1, "medtriage_id": "b.png",
         "choice": {"choices": ["dog"]}, "annotator": "r@h.org", "annotation_id": 2},
        {"image": "/x/c.png", "id": 13, "medtriage_index": 2, "medtriage_id": "c.png"},
    ]);
    let r = read_label_studio(&req(min)).unwrap();
    assert_eq!(r.tasks, 3);
    assert_eq!(
        r.reviewed,
        vec![
            ReviewOutcome { index: 0, label: 2 },
            ReviewOutcome { index: 1, label: 1 }
        ]
    );
    let api = json!({"tasks": [{"id": 12, "data": {"medtriage_id": "b.png"},
                               "annotations": [ann(9, json!(1), "bird", false, "")]}],
                     "total": 1});
    let r = read_label_studio(&req(api)).unwrap();
    assert_eq!(r.reviewed, vec![ReviewOutcome { index: 1, label: 2 }]);
}

#[test]
fn bad_inputs_are_named_errors() {
    let code = |e: Value| read_label_studio(&req(e)).unwrap_err().code();
    // a choice that is no class
    assert_eq!(
        code(json!([{"id": 1, "data": {"medtriage_index": 0},
                     "annotations": [ann(1, json!(1), "horse", false, "")]}])),
        "invalid_input"
    );
    // an id that does not match the exported one
    let e = read_label_studio(&req(
        json!([{"id": 1, "data": {"medtriage_index": 0, "medtriage_id": "b.png"}}]),
    ))
    .unwrap_err();
    assert!(e.message().contains("another pool"), "{}", e.message());
    // index out of the pool
    assert_eq!(
        code(json!([{"id": 1, "data": {"medtriage_index": 9}}])),
        "invalid_input"
    );
    // not a task list
    assert_eq!(code(json!("x")), "invalid_input");
    assert_eq!(
        code(json!([{"id": 1, "data": {"image": "a"}}])),
        "invalid_input"
    );
    // two choices in a single-choice control
    assert_eq!(
        code(
            json!([{"id": 1, "data": {"medtriage_index": 0}, "annotations": [
            {"completed_by": 1, "result": [{"from_name": "choice", "value": {"choices": ["cat", "dog"]}}]}]}])
        ),
        "invalid_input"
    );
}

#[test]
fn config_lists_the_classes_escaped_with_hotkeys() {
    let x = label_config(&LabelConfigRequest {
        classes: vec!["a&b".into(), "\"q\"".into(), "c".into()],
        options: LabelConfigOptions::default(),
    })
    .unwrap();
    assert!(x.contains(r#"<Choice value="a&amp;b" hotkey="1"/>"#), "{x}");
    assert!(x.contains(r#"<Choice value="&quot;q&quot;" hotkey="2"/>"#));
    assert!(x.contains(r#"<Choices name="tier" toName="image" choice="single" readonly="true">"#));
    assert!(x.contains(r#"<TextArea name="reasons" toName="image" editable="false"/>"#));
    let bad = label_config(&LabelConfigRequest {
        classes: vec!["a".into(), "a".into()],
        options: LabelConfigOptions::default(),
    });
    assert_eq!(bad.unwrap_err().code(), "invalid_input");
    let o = LabelConfigOptions {
        from_name: "bad name\"".into(),
        ..LabelConfigOptions::default()
    };
    assert_eq!(
        label_config(&LabelConfigRequest {
            classes: classes(),
            options: o
        })
        .unwrap_err()
        .code(),
        "invalid_options"
    );
}

#[test]
fn scores_rise_strictly_and_never_overstate() {
    use crate::engine::queue::export::label_studio_scores;
    let base = [
        Some(0.2),
        Some(0.99),
        Some(0.3),
        None,
        Some(0.9),
        Some(0.9),
        Some(0.95),
    ];
    let s = label_studio_scores(&base);
    assert!(s.windows(2).all(|w| w[0] < w[1]), "{s:?}");
    for (v, b) in s.iter().zip(base) {
        assert!(*v <= b.unwrap_or(1.0) && *v >= 0.0);
    }
    assert_eq!(s[6], 0.95);
    // ties at 0 are lifted just enough to stay in order
    let z = label_studio_scores(&[Some(0.0), Some(0.0), Some(0.0)]);
    assert!(z[0] == 0.0 && z[0] < z[1] && z[1] < z[2] && z[2] < 1e-300);
}
