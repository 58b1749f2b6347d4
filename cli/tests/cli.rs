//! The `maxsim` program: `score` on .npy files, its errors, `isa` and `MAXSIM_ISA`, the demo.

#[path = "../../tests/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{npy_bytes, npy_f32, random_buffer, Rng, Values};
use maxsim::{Isa, PreparedQuery, TokenMatrix};

fn maxsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_maxsim"))
        .args(args)
        .env_remove(maxsim::ISA_ENV)
        .output()
        .expect("run maxsim")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A fresh directory under the target dir for one test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path.to_str().unwrap().to_string()
}

fn parse_scores(text: &str) -> Vec<f32> {
    text.lines().map(|line| line.parse().unwrap()).collect()
}

/// A failure with a message and a non-zero exit, never a panic.
fn assert_clean_failure(output: &Output, needle: &str) {
    let err = stderr(output);
    assert!(!output.status.success(), "succeeded: {}", stdout(output));
    assert!(!err.contains("panicked"), "panicked: {err}");
    assert!(err.contains(needle), "stderr lacks {needle:?}: {err}");
}

/// A query of 10 rows and concatenated documents of `lengths` rows, written as .npy files,
/// with the lengths as int64 (`l64.npy`) and int32 (`l32.npy`).
struct Concatenated {
    q: Vec<f32>,
    d: Vec<f32>,
    query: String,
    docs: String,
    l32: String,
    l64: String,
}

fn concatenated(
    dir: &Path,
    dim: usize,
    lengths: &[usize],
    seed: u64,
    values: Values,
) -> Concatenated {
    let total: usize = lengths.iter().sum();
    let mut rng = Rng(seed);
    let q = random_buffer(&mut rng, 10, dim, 0, values);
    let d = random_buffer(&mut rng, total, dim, 0, values);
    let lengths32: Vec<i32> = lengths.iter().map(|&l| l as i32).collect();
    let lengths64: Vec<i64> = lengths.iter().map(|&l| l as i64).collect();
    let n = lengths.len();
    Concatenated {
        query: write(dir, "q.npy", &npy_f32(&[10, dim], &q)),
        docs: write(dir, "d.npy", &npy_f32(&[total, dim], &d)),
        l32: write(
            dir,
            "l32.npy",
            &npy_bytes("<i4", &[n], bytemuck::cast_slice(&lengths32)),
        ),
        l64: write(
            dir,
            "l64.npy",
            &npy_bytes("<i8", &[n], bytemuck::cast_slice(&lengths64)),
        ),
        q,
        d,
    }
}

#[test]
fn score_concatenated_documents_with_lengths_matches_the_library() {
    let dir = scratch("concatenated");
    let dim = 96;
    let lengths = [5usize, 0, 180, 1, 33];
    let Concatenated {
        q,
        d,
        query,
        docs,
        l32,
        l64,
    } = concatenated(&dir, dim, &lengths, 11, Values::Unit);

    let prepared =
        PreparedQuery::with_isa(TokenMatrix::new(&q, dim).unwrap(), Isa::Scalar).unwrap();
    let mut start = 0;
    let expected: Vec<f32> = lengths
        .iter()
        .map(|&len| {
            let doc = TokenMatrix::new(&d[start * dim..(start + len) * dim], dim).unwrap();
            start += len;
            prepared.score(doc).unwrap()
        })
        .collect();
    for l in [&l32, &l64] {
        let output = maxsim(&["score", "--query", &query, "--docs", &docs, "--lengths", l]);
        assert!(output.status.success(), "{}", stderr(&output));
        let text = stdout(&output);
        // The empty document prints as -inf.
        assert_eq!(text.lines().nth(1), Some("-inf"));
        let got = parse_scores(&text);
        assert_eq!(got.len(), 5);
        for (g, e) in got.iter().zip(&expected) {
            assert_eq!(g.to_bits(), e.to_bits(), "{g} vs {e}");
        }
    }
}

#[test]
fn score_padded_documents_never_scores_padding() {
    let dir = scratch("padded");
    let (dim, padded_rows) = (4, 3);
    // All similarities negative: a zero padding row would win every max if it were scored.
    let q = [1.0f32, 1.0, 1.0, 1.0];
    let docs_data: Vec<f32> = [
        [-1.0f32, -1.0, -1.0, -1.0],
        [0.0; 4],
        [0.0; 4], // doc 0: 1 real row
        [-2.0; 4],
        [-0.5, -0.5, -0.5, -0.5],
        [0.0; 4], // doc 1: 2 real rows
    ]
    .concat();
    let query = write(&dir, "q.npy", &npy_f32(&[1, dim], &q));
    let docs = write(&dir, "d.npy", &npy_f32(&[2, padded_rows, dim], &docs_data));
    let lengths = write(
        &dir,
        "l.npy",
        &npy_bytes("<i8", &[2], bytemuck::cast_slice(&[1i64, 2])),
    );
    let output = maxsim(&[
        "score",
        "--query",
        &query,
        "--docs",
        &docs,
        "--lengths",
        &lengths,
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(parse_scores(&stdout(&output)), vec![-4.0, -2.0]);
    // Without lengths every row counts, padding included.
    let output = maxsim(&["score", "--query", &query, "--docs", &docs]);
    assert_eq!(parse_scores(&stdout(&output)), vec![0.0, 0.0]);
}

#[test]
fn scores_print_in_shortest_round_trip_form() {
    let dir = scratch("round_trip");
    let q = [0.1f32, 0.2, 0.3];
    let d = [0.7f32, 0.11, 1e-30];
    let query = write(&dir, "q.npy", &npy_f32(&[1, 3], &q));
    let docs = write(&dir, "d.npy", &npy_f32(&[1, 1, 3], &d));
    let output = maxsim(&["score", "--query", &query, "--docs", &docs]);
    let line = stdout(&output).trim().to_string();
    let expected = maxsim::maxsim(
        TokenMatrix::new(&q, 3).unwrap(),
        TokenMatrix::new(&d, 3).unwrap(),
    )
    .unwrap();
    assert_eq!(line.parse::<f32>().unwrap().to_bits(), expected.to_bits());
    assert_eq!(line, format!("{expected:?}"));
}

#[test]
fn malformed_inputs_fail_cleanly() {
    let dir = scratch("malformed");
    let q = npy_f32(&[2, 4], &[1.0; 8]);
    let d = npy_f32(&[3, 4], &[1.0; 12]);
    let query = write(&dir, "q.npy", &q);
    let docs = write(&dir, "d.npy", &d);
    let lengths = write(
        &dir,
        "l.npy",
        &npy_bytes("<i4", &[2], bytemuck::cast_slice(&[1i32, 2])),
    );
    let int_lengths = |name: &str, values: &[i64]| {
        write(
            &dir,
            name,
            &npy_bytes("<i8", &[values.len()], bytemuck::cast_slice(values)),
        )
    };
    let mut long = d.clone();
    long.extend_from_slice(&[0, 0, 0, 0]);
    let fortran = common::npy_bytes_in_order("<f4", &[2, 4], &[0u8; 32], true);

    // (query, docs, lengths, what the message must say)
    let cases: Vec<(String, String, Option<String>, &str)> = vec![
        (
            query.clone(),
            write(&dir, "truncated.npy", &d[..d.len() - 5]),
            Some(lengths.clone()),
            "truncated",
        ),
        (
            query.clone(),
            write(&dir, "trailing.npy", &long),
            Some(lengths.clone()),
            "4 bytes of data follow",
        ),
        (
            write(&dir, "garbage.npy", b"this is not numpy"),
            docs.clone(),
            Some(lengths.clone()),
            "garbage.npy",
        ),
        (
            write(&dir, "header.npy", &q[..20]),
            docs.clone(),
            Some(lengths.clone()),
            "header",
        ),
        (
            write(&dir, "f64.npy", &npy_bytes("<f8", &[1, 4], &[0u8; 32])),
            docs.clone(),
            Some(lengths.clone()),
            "float32",
        ),
        (
            write(&dir, "dim3.npy", &npy_f32(&[1, 3], &[1.0; 3])),
            docs.clone(),
            Some(lengths.clone()),
            "dim 3",
        ),
        (
            write(&dir, "fortran.npy", &fortran),
            docs.clone(),
            Some(lengths.clone()),
            "Fortran-order",
        ),
        (
            query.clone(),
            docs.clone(),
            Some(int_lengths("short.npy", &[1, 1])),
            "add up to 2 but the data has 3 rows",
        ),
        (
            query.clone(),
            docs.clone(),
            Some(int_lengths("neg.npy", &[4, -1])),
            "-1",
        ),
        (
            query.clone(),
            write(&dir, "padded.npy", &npy_f32(&[2, 2, 4], &[1.0; 16])),
            Some(int_lengths("long.npy", &[1, 3])),
            "length 3",
        ),
        (query.clone(), docs.clone(), None, "needs --lengths"),
        (
            query.clone(),
            write(
                &dir,
                "huge.npy",
                &npy_bytes("<f4", &[1 << 40, 1 << 40], &[]),
            ),
            Some(lengths.clone()),
            "huge.npy",
        ),
        (
            "/nonexistent/q.npy".into(),
            docs.clone(),
            None,
            "/nonexistent/q.npy",
        ),
    ];
    for (query, docs, lengths, needle) in cases {
        let mut args = vec!["score", "--query", &query, "--docs", &docs];
        if let Some(lengths) = &lengths {
            args.extend(["--lengths", lengths]);
        }
        assert_clean_failure(&maxsim(&args), needle);
    }
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["score"][..],
        &["score", "--query"],
        &["frobnicate"],
        &["score", "--bogus", "x"],
    ] {
        let output = maxsim(args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(stderr(&output).contains("usage:"));
    }
}

#[test]
fn isa_command_reports_detection_and_honours_the_cap() {
    let output = maxsim(&["isa"]);
    assert!(output.status.success());
    let text = stdout(&output);
    assert!(
        text.contains(&format!("selected: {}", Isa::best_supported())),
        "{text}"
    );

    let capped = Command::new(env!("CARGO_BIN_EXE_maxsim"))
        .arg("isa")
        .env(maxsim::ISA_ENV, "scalar")
        .output()
        .unwrap();
    assert!(
        stdout(&capped).contains("selected: scalar"),
        "{}",
        stdout(&capped)
    );

    let bogus = Command::new(env!("CARGO_BIN_EXE_maxsim"))
        .args(["demo", "--pages", "2", "--doc-rows", "3", "--dim", "4"])
        .env(maxsim::ISA_ENV, "avx1024")
        .output()
        .unwrap();
    assert_clean_failure(&bogus, "unknown ISA \"avx1024\"");
}

#[test]
fn forcing_an_isa_the_cpu_lacks_fails_cleanly() {
    let lacking = Isa::ALL
        .into_iter()
        .find(|isa| !isa.is_supported())
        .unwrap();
    let output = maxsim(&["demo", "--pages", "2", "--isa", lacking.name()]);
    assert_clean_failure(&output, &format!("cannot run the {lacking} kernel"));
}

#[test]
fn demo_runs_and_checks_bit_identity_on_every_isa() {
    for isa in maxsim::supported_isas() {
        let output = maxsim(&[
            "demo",
            "--pages",
            "40",
            "--doc-rows",
            "50",
            "--dim",
            "64",
            "--isa",
            isa.name(),
            "--threads",
            "1",
        ]);
        assert!(output.status.success(), "{}", stderr(&output));
        let text = stdout(&output);
        assert!(text.contains(&format!("dispatched: {isa}")), "{text}");
        assert!(text.contains("threads: 1\n"), "{text}");
        assert_eq!(
            text.matches("bit-identical to the scalar reference on 8 sampled pages: yes")
                .count(),
            2,
            "{text}"
        );
        assert_eq!(
            text.matches("planted page ranked: 1\n").count(),
            2,
            "{text}"
        );
    }
}

#[test]
fn search_prints_the_best_k_and_threads_change_nothing() {
    let dir = scratch("search");
    let dim = 32;
    let files = concatenated(&dir, dim, &[7, 0, 40, 3, 19, 1, 25], 5, Values::Integers);
    let (query, docs, lengths) = (files.query, files.docs, files.l64);
    let base = ["--query", &query, "--docs", &docs, "--lengths", &lengths];

    let all = stdout(&maxsim(&[&["score", "--threads", "1"][..], &base].concat()));
    assert_eq!(
        stdout(&maxsim(&[&["score", "--threads", "2"][..], &base].concat())),
        all
    );
    let scores = parse_scores(&all);
    let mut ranked: Vec<usize> = (0..scores.len()).collect();
    ranked.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));

    let output = maxsim(&[&["search", "--k", "3", "--threads", "2"][..], &base].concat());
    assert!(output.status.success(), "{}", stderr(&output));
    let lines: Vec<String> = stdout(&output).lines().map(String::from).collect();
    let expected: Vec<String> = ranked[..3]
        .iter()
        .map(|&i| format!("{i}\t{:?}", scores[i]))
        .collect();
    assert_eq!(lines, expected);
}

#[test]
fn bench_reports_json_with_the_documented_fields() {
    let output = maxsim(&[
        "bench",
        "--rows",
        "4",
        "--dims",
        "16",
        "--doc-rows",
        "20",
        "--docs",
        "6",
        "--resident-docs",
        "2",
        "--batch",
        "2",
        "--threads",
        "1,2",
        "--json",
        "true",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    let lines: Vec<&str> = text.lines().collect();
    for case in ["resident", "corpus", "top10", "batch2", "singles2"] {
        for threads in [1, 2] {
            let line = lines
                .iter()
                .find(|l| {
                    l.contains(&format!("\"case\":\"{case}\""))
                        && l.contains(&format!("\"threads\":{threads},"))
                })
                .unwrap_or_else(|| panic!("no {case} line for {threads} threads in {text}"));
            for field in [
                "isa",
                "threads",
                "query_rows",
                "doc_rows",
                "dim",
                "docs",
                "ms_per_query",
                "gflops",
                "peak_gflops",
                "efficiency",
            ] {
                assert!(
                    line.contains(&format!("\"{field}\":")),
                    "{field} missing from {line}"
                );
            }
        }
    }
    assert!(lines.iter().any(|l| l.contains("\"case\":\"tiny\"")));
}
