//! The bad-input table: every row of `tests/fixtures/bad/README.md` (file, error code, the
//! manifest a model is loaded with) is a case, so a file added there with its row is tested
//! without touching this code.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use crate::fixtures::*;
use medtriage::engine::manifest::Manifest;
use medtriage::engine::model::{LoadOptions, Model};
use medtriage::engine::score::{ImageInput, ScoreOptions, Scorer};

const TABLE: &str = include_str!("../fixtures/bad/README.md");

/// One row of the table.
struct Case {
    file: &'static str,
    code: &'static str,
    /// `None` for images; `Some("digits")` for the digits manifest without its hash.
    manifest: Option<&'static str>,
}

/// A cell written as `` `text` ``.
fn quoted(cell: &str) -> Option<&str> {
    cell.strip_prefix('`')?.strip_suffix('`')
}

fn cases() -> Vec<Case> {
    TABLE
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            if cells.len() < 5 {
                return None;
            }
            Some(Case {
                file: quoted(cells[1])?,
                code: quoted(cells[2])?,
                manifest: quoted(cells[3]),
            })
        })
        .collect()
}

fn bytes(file: &str) -> &'static [u8] {
    BAD.iter()
        .find(|(f, _)| *f == file)
        .unwrap_or_else(|| panic!("{file} is in the table but not in tests/suite/fixtures.rs"))
        .1
}

fn manifest(name: &str) -> Manifest {
    if name == "digits" {
        let mut m = Manifest::from_json(MANIFEST).unwrap();
        m.sha256 = None;
        return m;
    }
    let text = BAD_MANIFESTS
        .iter()
        .find(|(f, _)| *f == name)
        .unwrap_or_else(|| panic!("manifest {name} is not in tests/fixtures/bad"))
        .1;
    Manifest::from_json(text).unwrap()
}

#[test]
fn the_table_lists_every_bad_file() {
    let cases = cases();
    let mut listed: Vec<&str> = cases.iter().map(|c| c.file).collect();
    listed.sort_unstable();
    let mut files: Vec<&str> = BAD.iter().map(|(f, _)| *f).collect();
    files.sort_unstable();
    assert_eq!(listed, files);
}

#[test]
fn every_bad_file_fails_with_its_code() {
    let digits = Scorer::new(
        MODEL,
        Manifest::from_json(MANIFEST).unwrap(),
        &LoadOptions::default(),
    )
    .unwrap();
    let images: Vec<(&str, ImageInput)> = SAMPLES
        .iter()
        .map(|(f, b)| (*f, ImageInput::Encoded(b)))
        .collect();
    for case in cases() {
        let b = bytes(case.file);
        let got = match case.manifest {
            None => digits
                .score(ImageInput::Encoded(b), &ScoreOptions::default())
                .unwrap_err()
                .code()
                .to_string(),
            Some(m) if case.code == "non_finite_output" => {
                // loads, then fails images one by one (never the batch)
                let s = Scorer::new(b, manifest(m), &LoadOptions::default()).unwrap();
                let res = s.score_batch(&images, &ScoreOptions::default());
                let failed: Vec<&str> = res
                    .iter()
                    .filter_map(|r| r.error.as_ref().map(|e| e.code.as_str()))
                    .collect();
                assert!(!failed.is_empty(), "{}: no image failed", case.file);
                assert!(failed.iter().all(|c| *c == case.code), "{}", case.file);
                case.code.to_string()
            }
            Some(m) => Model::load(b, manifest(m), &LoadOptions::default())
                .map(|_| ())
                .unwrap_err()
                .code()
                .to_string(),
        };
        assert_eq!(got, case.code, "{}", case.file);
    }
}
