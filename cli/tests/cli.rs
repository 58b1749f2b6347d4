//! The `maxsim` program: `score` on .npy files, its errors, `isa` and `MAXSIM_ISA`, the demo.

#[path = "../../tests/common/mod.rs"]
mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

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
        &["score", "--query", "q.npy"],
        &["frobnicate"],
        &["--bogus"],
        &["score", "--bogus", "x"],
        &[
            "search", "--query", "q.npy", "--docs", "d.npy", "--k", "many",
        ],
        &["demo", "--pages", "x"],
        &["demo", "--pages", "0"],
        &["--pages", "-1"],
        &["demo", "--isa", "avx1024"],
        &["isa", "--json"],
        &["bench", "--json", "true"],
        &["bench", "--rows", "4,x"],
        &["bench", "--threads", "1,0"],
        &["bench", "--isa", "everything"],
        &["--pages", "3", "score"],
        &[
            "score", "--query", "q.npy", "--docs", "d.npy", "--index", "i",
        ],
    ] {
        let output = maxsim(args);
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.starts_with("error: "), "{args:?}: {err}");
        assert!(err.contains("--help"), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(stdout(&output).is_empty(), "{args:?}");
    }
    // A missing option names what is missing, with the usage.
    let err = stderr(&maxsim(&["score", "--docs", "d.npy"]));
    assert!(err.contains("--query <Q.npy>"), "{err}");
    assert!(err.contains("Usage: maxsim score"), "{err}");
}

#[test]
fn version_and_help_exit_0() {
    for flag in ["--version", "-V"] {
        let output = maxsim(&[flag]);
        assert!(output.status.success(), "{}", stderr(&output));
        assert_eq!(
            stdout(&output),
            format!("maxsim {}\n", env!("CARGO_PKG_VERSION"))
        );
    }
    for (args, usage) in [
        (&["--help"][..], "Usage: maxsim [OPTIONS]"),
        (&["-h"], "Usage: maxsim [OPTIONS]"),
        (&["help"], "Usage: maxsim [OPTIONS]"),
        (&["demo", "--help"], "Usage: maxsim demo [OPTIONS]"),
        (
            &["score", "--help"],
            "Usage: maxsim score [OPTIONS] --query",
        ),
        (&["score", "-h"], "Usage: maxsim score [OPTIONS] --query"),
        (&["search", "-h"], "Usage: maxsim search [OPTIONS] --query"),
        (&["isa", "--help"], "Usage: maxsim isa"),
        (&["bench", "-h"], "Usage: maxsim bench [OPTIONS]"),
        (&["help", "bench"], "Usage: maxsim bench [OPTIONS]"),
    ] {
        let output = maxsim(args);
        assert!(output.status.success(), "{args:?}: {}", stderr(&output));
        assert!(stderr(&output).is_empty(), "{args:?}: {}", stderr(&output));
        assert!(
            stdout(&output).contains(usage),
            "{args:?}: {}",
            stdout(&output)
        );
    }
    // Defaults are documented.
    let help = stdout(&maxsim(&["bench", "--help"]));
    for default in [
        "[default: 1]",
        "[default: 1,4,10,16,32,64]",
        "[default: 1038]",
        "[default: one per thread",
    ] {
        assert!(help.contains(default), "{default} missing from {help}");
    }
    let help = stdout(&maxsim(&["search", "--help"]));
    assert!(help.contains("[default: 10]"), "{help}");
}

#[test]
fn demo_is_the_default_command() {
    let output = maxsim(&[
        "--pages",
        "3",
        "--doc-rows",
        "50",
        "--dim",
        "8",
        "--threads",
        "1",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.starts_with("maxsim demo: 3 pages x 50 tokens x dim 8,"),
        "{text}"
    );
    assert!(text.contains("threads: 1\n"), "{text}");
    // Standard error is not a terminal here: no progress bar, nothing extra.
    assert!(stderr(&output).is_empty(), "{}", stderr(&output));
}

/// Runs maxsim with standard output a pipe whose reader has already gone, as when
/// `maxsim ... | head` has exited.
fn with_stdout_closed(args: &[&str]) -> Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    Command::new(env!("CARGO_BIN_EXE_maxsim"))
        .args(args)
        .env_remove(maxsim::ISA_ENV)
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .expect("run maxsim")
}

/// `count` documents of one token each, padded, and a query, as .npy files.
fn many_documents(dir: &Path, count: usize) -> (String, String) {
    let dim = 4;
    let mut rng = Rng(3);
    let q = random_buffer(&mut rng, 2, dim, 0, Values::Unit);
    let d = random_buffer(&mut rng, count, dim, 0, Values::Unit);
    (
        write(dir, "q.npy", &npy_f32(&[2, dim], &q)),
        write(dir, "d.npy", &npy_f32(&[count, 1, dim], &d)),
    )
}

#[test]
fn a_closed_stdout_ends_every_command_quietly() {
    let dir = scratch("closed_stdout");
    // 100,000 lines of scores: far more than a pipe holds.
    let (query, docs) = many_documents(&dir, 100_000);
    let tiny_bench = [
        "--docs",
        "2",
        "--doc-rows",
        "8",
        "--resident-docs",
        "1",
        "--rows",
        "4",
        "--dims",
        "8",
        "--batch",
        "1",
        "--skip-pruning",
    ];
    let cases: Vec<Vec<&str>> = vec![
        vec!["demo", "--pages", "3", "--doc-rows", "50"],
        vec!["--pages", "3", "--doc-rows", "50"],
        vec!["isa"],
        vec!["score", "--query", &query, "--docs", &docs],
        vec![
            "search", "--query", &query, "--docs", &docs, "--k", "100000",
        ],
        [&["bench"][..], &tiny_bench].concat(),
        // JSON lines come from inside the measurement, on the pool's threads.
        [&["bench", "--json", "--threads", "1"][..], &tiny_bench].concat(),
        vec!["--help"],
        vec!["score", "--help"],
        vec!["--version"],
    ];
    for args in cases {
        let output = with_stdout_closed(&args);
        let err = stderr(&output);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(err.is_empty(), "{args:?}: {err}");
        assert!(output.status.success(), "{args:?}: {:?}", output.status);
    }
}

#[test]
fn a_reader_that_stops_early_ends_score_quietly() {
    let dir = scratch("head");
    let (query, docs) = many_documents(&dir, 100_000);
    // `maxsim score ... | head -1`
    let mut child = Command::new(env!("CARGO_BIN_EXE_maxsim"))
        .args(["score", "--query", &query, "--docs", &docs])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.trim().parse::<f32>().is_ok(), "{first:?}");
    let output = child.wait_with_output().unwrap();
    let err = stderr(&output);
    assert!(err.is_empty(), "{err}");
    assert!(output.status.success(), "{:?}", output.status);
}

#[test]
fn errors_are_one_line_with_status_1() {
    let dir = scratch("one_line");
    let docs = write(&dir, "d.npy", &npy_f32(&[1, 1, 2], &[1.0, 0.0]));
    let lacking = Isa::ALL.into_iter().find(|isa| !isa.is_supported());
    let mut cases = vec![
        (
            vec!["score", "--query", "/nonexistent/q.npy", "--docs", &docs],
            "/nonexistent/q.npy",
        ),
        (
            vec!["search", "--query", &docs, "--docs", "/nonexistent/d.npy"],
            "2-D",
        ),
    ];
    if let Some(lacking) = lacking {
        cases.push((
            vec!["demo", "--pages", "2", "--isa", lacking.name()],
            "cannot run",
        ));
    }
    for (args, needle) in cases {
        let output = maxsim(&args);
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("maxsim: error: "), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

#[cfg(unix)]
#[test]
fn paths_need_not_be_utf8() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;

    let dir = scratch("non_utf8");
    let q = [0.5f32, -1.0, 2.0, 0.25];
    let d = [1.0f32, 0.0, 0.0, 1.0, -1.0, 0.5, 0.5, 0.5];
    let query = dir.join(OsStr::from_bytes(b"q\xff.npy"));
    let docs = dir.join(OsStr::from_bytes(b"d\xfe.npy"));
    std::fs::write(&query, npy_f32(&[1, 4], &q)).unwrap();
    std::fs::write(&docs, npy_f32(&[2, 1, 4], &d)).unwrap();
    let run = |query: &Path| {
        Command::new(env!("CARGO_BIN_EXE_maxsim"))
            .arg("score")
            .arg("--query")
            .arg(query)
            .arg("--docs")
            .arg(&docs)
            .output()
            .unwrap()
    };
    let output = run(&query);
    assert!(output.status.success(), "{}", stderr(&output));
    let expected: Vec<f32> = d
        .chunks(4)
        .map(|doc| {
            maxsim::maxsim(
                TokenMatrix::new(&q, 4).unwrap(),
                TokenMatrix::new(doc, 4).unwrap(),
            )
            .unwrap()
        })
        .collect();
    assert_eq!(parse_scores(&stdout(&output)), expected);

    // A missing one is named in the error, as well as it can be shown.
    let output = run(&dir.join(OsStr::from_bytes(b"gone\xff.npy")));
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.starts_with("maxsim: error: "), "{err}");
    assert!(err.contains("gone\u{fffd}.npy"), "{err}");
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
        assert_eq!(text.matches("its page ranked: ").count(), 2, "{text}");
        assert_eq!(
            text.matches("the same hits as scoring every page: yes")
                .count(),
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
        "--prune-shapes",
        "60x10",
        "--json",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stderr(&output).is_empty(), "{}", stderr(&output));
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
    // Every row names its layout and storage; the index is measured in every storage type,
    // resident and streamed, and its build against scans by a 32-row query.
    for line in &lines {
        let row: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        let layout = row["layout"]
            .as_str()
            .unwrap_or_else(|| panic!("no layout in {line}"));
        let storage = row["storage"]
            .as_str()
            .unwrap_or_else(|| panic!("no storage in {line}"));
        assert!(["rows", "index"].contains(&layout), "{line}");
        assert!(["f32", "f16", "bf16"].contains(&storage), "{line}");
    }
    for storage in ["f32", "f16", "bf16"] {
        for case in ["resident", "corpus"] {
            for threads in [1, 2] {
                let found = lines.iter().any(|l| {
                    l.contains(&format!("\"case\":\"{case}\""))
                        && l.contains("\"layout\":\"index\"")
                        && l.contains(&format!("\"storage\":\"{storage}\""))
                        && l.contains(&format!("\"threads\":{threads},"))
                });
                assert!(
                    found,
                    "no index {storage} {case} row for {threads} threads in {text}"
                );
            }
        }
    }
    let build = lines
        .iter()
        .find(|l| l.contains("\"case\":\"build\""))
        .unwrap_or_else(|| panic!("no build row in {text}"));
    let build: serde_json::Value = serde_json::from_str(build).unwrap_or_default();
    assert_eq!(build["storage"], "bf16");
    assert_eq!(build["query_rows"], 32);
    assert!(build["ms"].as_f64().is_some_and(|ms| ms > 0.0), "{build}");
    assert!(
        build["scans"].as_f64().is_some_and(|scans| scans > 0.0),
        "{build}"
    );
    // Pruned top-10 against the full scan, on structured and random data, each with the
    // documents it scored exactly.
    for data in ["structured", "random"] {
        for pruning in ["full", "pruned"] {
            let row = lines
                .iter()
                .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap_or_default())
                .find(|row| row["data"] == data && row["pruning"] == pruning)
                .unwrap_or_else(|| panic!("no {pruning} {data} row in {text}"));
            assert_eq!(row["case"], "top10");
            assert_eq!(row["docs"], 60);
            let rescored = row["rescored"].as_u64().unwrap_or(u64::MAX);
            assert!(rescored <= 60, "{row}");
            assert!(
                row["ms_per_query"].as_f64().is_some_and(|ms| ms > 0.0),
                "{row}"
            );
        }
    }
}

/// A query and documents written both ways the programs take them: padded `(num_docs, rows,
/// dim)` with lengths, and concatenated `(total_rows, dim)` with the same lengths.
struct Layouts {
    q: Vec<f32>,
    /// The documents concatenated (what both layouts hold).
    d: Vec<f32>,
    lengths: Vec<usize>,
    dim: usize,
    query: String,
    /// `(file, lengths)` of the padded and the concatenated layout.
    layouts: [(String, String); 2],
}

fn layouts(dir: &Path, dim: usize, lengths: &[usize], seed: u64, values: Values) -> Layouts {
    let files = concatenated(dir, dim, lengths, seed, values);
    let padded_rows = lengths.iter().copied().max().unwrap_or(0) + 2;
    let mut padded = vec![-7.5f32; lengths.len() * padded_rows * dim];
    let mut start = 0;
    for (doc, &len) in lengths.iter().enumerate() {
        let at = doc * padded_rows * dim;
        padded[at..at + len * dim].copy_from_slice(&files.d[start * dim..(start + len) * dim]);
        start += len;
    }
    let padded = write(
        dir,
        "padded.npy",
        &npy_f32(&[lengths.len(), padded_rows, dim], &padded),
    );
    Layouts {
        q: files.q,
        d: files.d,
        lengths: lengths.to_vec(),
        dim,
        query: files.query,
        layouts: [(padded, files.l32), (files.docs, files.l64)],
    }
}

/// `maxsim index`, which must succeed quietly but for its one summary line.
fn index(docs: &str, lengths: Option<&str>, dtype: &str, out: &str) {
    let mut args = vec!["index", "--docs", docs, "--dtype", dtype, "--out", out];
    if let Some(lengths) = lengths {
        args.extend(["--lengths", lengths]);
    }
    let output = maxsim(&args);
    let err = stderr(&output);
    assert!(output.status.success(), "{args:?}: {err}");
    assert!(stdout(&output).is_empty(), "{args:?}");
    assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    assert!(err.starts_with("maxsim: indexed "), "{err}");
    assert!(
        err.contains(&format!(" as {dtype} with the int8 sketch: ")),
        "{err}"
    );
}

/// What a successful run printed.
fn success(args: &[&str]) -> String {
    let output = maxsim(args);
    assert!(output.status.success(), "{args:?}: {}", stderr(&output));
    stdout(&output)
}

#[test]
fn score_and_search_over_an_index_print_what_they_print_over_its_documents() {
    let dir = scratch("index_score");
    let files = layouts(&dir, 24, &[5, 0, 40, 1, 17, 16], 21, Values::Mixed);
    let corpus = maxsim::Corpus::from_lengths(&files.d[..], files.dim, &files.lengths).unwrap();
    let query = PreparedQuery::new(TokenMatrix::new(&files.q, files.dim).unwrap()).unwrap();
    let lines = |scores: &[f32]| -> String { scores.iter().map(|s| format!("{s:?}\n")).collect() };

    for storage in maxsim::Storage::ALL {
        let dtype = storage.name();
        // The documents as the index stores them, widened back to f32.
        let expected = maxsim::Index::from_corpus(&corpus, storage).unwrap();
        let rounded: Vec<f32> = (0..expected.len())
            .flat_map(|i| {
                expected
                    .document(i)
                    .unwrap()
                    .as_matrix()
                    .as_slice()
                    .to_vec()
            })
            .collect();
        let rounded_docs = write(
            &dir,
            &format!("rounded-{dtype}.npy"),
            &npy_f32(&[rounded.len() / files.dim, files.dim], &rounded),
        );
        let lengths = &files.layouts[1].1;
        let over_rounded = success(&[
            "score",
            "--query",
            &files.query,
            "--docs",
            &rounded_docs,
            "--lengths",
            lengths,
        ]);
        assert_eq!(over_rounded, lines(&query.score_corpus(&expected).unwrap()));
        if storage == maxsim::Storage::F32 {
            let over_docs = success(&[
                "score",
                "--query",
                &files.query,
                "--docs",
                &files.layouts[1].0,
                "--lengths",
                lengths,
            ]);
            assert_eq!(over_rounded, over_docs);
        }
        let search_rounded = success(&[
            "search",
            "--query",
            &files.query,
            "--docs",
            &rounded_docs,
            "--lengths",
            lengths,
            "--k",
            "4",
        ]);
        assert_eq!(search_rounded.lines().count(), 4);

        for (layout, (docs, lengths)) in files.layouts.iter().enumerate() {
            let out = dir
                .join(format!("{layout}-{dtype}.maxsim"))
                .to_str()
                .unwrap()
                .to_string();
            index(docs, Some(lengths), dtype, &out);
            assert_eq!(
                maxsim::Index::load(Path::new(&out)).unwrap(),
                expected,
                "{layout} {dtype}"
            );
            let base = ["--query", &files.query, "--index", &out];
            assert_eq!(
                success(&[&["score"][..], &base].concat()),
                over_rounded,
                "{layout} {dtype}"
            );
            for isa in maxsim::supported_isas() {
                assert_eq!(
                    success(
                        &[&["score", "--threads", "1", "--isa", isa.name()][..], &base].concat()
                    ),
                    over_rounded,
                    "{layout} {dtype} {isa}"
                );
            }
            let searched =
                success(&[&["search", "--k", "4", "--threads", "2"][..], &base].concat());
            assert_eq!(searched, search_rounded, "{layout} {dtype}");
            // Every document, and more than there are.
            assert_eq!(
                success(&[&["search", "--k", "100"][..], &base].concat())
                    .lines()
                    .count(),
                files.lengths.len()
            );
        }
    }
}

#[test]
fn search_prunes_by_default_with_the_same_hits_and_reports_what_it_scored() {
    let dir = scratch("prune");
    let (docs, rows, dim) = (400, 12, 16);
    let mut generator = maxsim::synthetic::Synthetic::new(dim, 3);
    let d = generator.corpus(docs, rows);
    let q = generator.query_for(&d[5 * rows * dim..6 * rows * dim], 6);
    let docs_file = write(&dir, "d.npy", &npy_f32(&[docs, rows, dim], &d));
    let query = write(&dir, "q.npy", &npy_f32(&[6, dim], &q));
    let sketched = dir.join("d.maxsim").to_str().unwrap().to_string();
    let bare = dir.join("bare.maxsim").to_str().unwrap().to_string();
    index(&docs_file, None, "bf16", &sketched);
    let output = maxsim(&[
        "index",
        "--docs",
        &docs_file,
        "--dtype",
        "bf16",
        "--out",
        &bare,
        "--no-sketch",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(!stderr(&output).contains("sketch"), "{}", stderr(&output));
    assert!(maxsim::Index::load(Path::new(&sketched))
        .unwrap()
        .has_sketch());
    assert!(!maxsim::Index::load(Path::new(&bare)).unwrap().has_sketch());

    let search = |index: &str, extra: &[&str]| {
        let mut args = vec!["search", "--query", &query, "--index", index, "--k", "7"];
        args.extend(extra);
        let output = maxsim(&args);
        assert!(output.status.success(), "{args:?}: {}", stderr(&output));
        (stdout(&output), stderr(&output))
    };
    let (pruned, quiet) = search(&sketched, &[]);
    assert!(quiet.is_empty(), "{quiet}");
    assert_eq!(pruned.lines().count(), 7);
    let (full, _) = search(&sketched, &["--no-prune"]);
    let (unsketched, _) = search(&bare, &[]);
    assert_eq!(pruned, full);
    assert_eq!(pruned, unsketched);
    let (with_stats, stats) = search(&sketched, &["--stats"]);
    assert_eq!(with_stats, pruned);
    assert!(stats.starts_with("maxsim: "), "{stats}");
    assert!(
        stats.contains(&format!(" of {docs} documents scored exactly (pruned")),
        "{stats}"
    );
    let (_, stats) = search(&sketched, &["--stats", "--no-prune"]);
    assert!(
        stats.contains(&format!(
            "{docs} of {docs} documents scored exactly (full scan)"
        )),
        "{stats}"
    );
}

#[test]
fn padded_documents_without_lengths_index_every_row() {
    let dir = scratch("index_padded");
    let (dim, num_docs, rows) = (8, 3, 20);
    let mut rng = Rng(8);
    let d = random_buffer(&mut rng, num_docs * rows, dim, 0, Values::Unit);
    let q = random_buffer(&mut rng, 4, dim, 0, Values::Unit);
    let docs = write(&dir, "d.npy", &npy_f32(&[num_docs, rows, dim], &d));
    let query = write(&dir, "q.npy", &npy_f32(&[4, dim], &q));
    let out = dir.join("d.maxsim").to_str().unwrap().to_string();
    for dtype in ["f32", "f16", "bf16"] {
        index(&docs, None, dtype, &out);
        let loaded = maxsim::Index::load(Path::new(&out)).unwrap();
        assert_eq!(
            (loaded.len(), loaded.total_rows()),
            (num_docs, num_docs * rows)
        );
        if dtype == "f32" {
            assert_eq!(
                success(&["score", "--query", &query, "--index", &out]),
                success(&["score", "--query", &query, "--docs", &docs])
            );
            assert_eq!(
                success(&["search", "--query", &query, "--index", &out, "-k", "2"]),
                success(&["search", "--query", &query, "--docs", &docs, "-k", "2"])
            );
        }
    }
}

/// `values` as little-endian (`<f2`) or big-endian (`>f2`) float16 bytes.
fn f16_bytes(values: &[half::f16], little: bool) -> Vec<u8> {
    values
        .iter()
        .flat_map(|v| {
            if little {
                v.to_bits().to_le_bytes()
            } else {
                v.to_bits().to_be_bytes()
            }
        })
        .collect()
}

#[test]
fn float16_documents_are_read_exactly() {
    let dir = scratch("index_f16");
    let (dim, lengths) = (16, [3usize, 0, 33, 16]);
    let total: usize = lengths.iter().sum();
    let mut rng = Rng(16);
    let q = random_buffer(&mut rng, 6, dim, 0, Values::Unit);
    // Mixed magnitudes: subnormal, normal and out-of-range float16 values, and infinities.
    let halves: Vec<half::f16> = random_buffer(&mut rng, total, dim, 0, Values::Mixed)
        .iter()
        .map(|&v| half::f16::from_f32(v))
        .collect();
    let widened: Vec<f32> = halves.iter().map(|v| v.to_f32()).collect();
    let query = write(&dir, "q.npy", &npy_f32(&[6, dim], &q));
    let l32: Vec<i32> = lengths.iter().map(|&l| l as i32).collect();
    let lengths_file = write(
        &dir,
        "l.npy",
        &npy_bytes("<i4", &[lengths.len()], bytemuck::cast_slice(&l32)),
    );
    let as_f32 = write(&dir, "d32.npy", &npy_f32(&[total, dim], &widened));
    let as_f16 = write(
        &dir,
        "d16.npy",
        &npy_bytes("<f2", &[total, dim], &f16_bytes(&halves, true)),
    );
    let as_f16_big = write(
        &dir,
        "d16be.npy",
        &npy_bytes(">f2", &[total, dim], &f16_bytes(&halves, false)),
    );
    let corpus = maxsim::Corpus::from_lengths(&widened[..], dim, &lengths).unwrap();

    let expected = success(&[
        "score",
        "--query",
        &query,
        "--docs",
        &as_f32,
        "--lengths",
        &lengths_file,
    ]);
    for docs in [&as_f16, &as_f16_big] {
        // `score` reads float16 documents too.
        assert_eq!(
            success(&[
                "score",
                "--query",
                &query,
                "--docs",
                docs,
                "--lengths",
                &lengths_file
            ]),
            expected
        );
        for storage in maxsim::Storage::ALL {
            let out = dir.join(format!("{}.maxsim", storage.name()));
            let out = out.to_str().unwrap();
            index(docs, Some(&lengths_file), storage.name(), out);
            let loaded = maxsim::Index::load(Path::new(out)).unwrap();
            assert_eq!(
                loaded,
                maxsim::Index::from_corpus(&corpus, storage).unwrap()
            );
            if storage != maxsim::Storage::Bf16 {
                // Widened from float16 and stored as f32 or f16: the values themselves.
                for (i, doc) in corpus.iter().enumerate() {
                    let stored = loaded.document(i).unwrap();
                    let (a, b) = (stored.as_matrix().as_slice(), doc.as_slice());
                    assert!(a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits()));
                }
                assert_eq!(
                    success(&["score", "--query", &query, "--index", out]),
                    expected
                );
            }
        }
    }
}

#[test]
fn repeat_prints_the_median_time_to_stderr() {
    let dir = scratch("index_repeat");
    let files = layouts(&dir, 8, &[4, 9, 2], 2, Values::Unit);
    let (docs, lengths) = &files.layouts[0];
    let out = dir.join("i.maxsim").to_str().unwrap().to_string();
    index(docs, Some(lengths), "bf16", &out);
    for (command, needle) in [
        (
            "search",
            "maxsim: searched 3 documents (15 token rows) for the best 2 in ",
        ),
        ("score", "maxsim: scored 3 documents (15 token rows) in "),
    ] {
        let base = [
            command,
            "--query",
            &files.query,
            "--index",
            &out,
            "--k",
            "2",
        ];
        let base = if command == "score" {
            &base[..5]
        } else {
            &base[..]
        };
        let once = maxsim(base);
        assert!(stderr(&once).is_empty(), "{}", stderr(&once));
        let output = maxsim(&[base, &["--repeat", "3", "--threads", "1"]].concat());
        assert!(output.status.success(), "{}", stderr(&output));
        assert_eq!(stdout(&output), stdout(&once));
        let err = stderr(&output);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with(needle), "{err}");
        assert!(err.contains(" ms (median of 3, "), "{err}");
        assert!(err.trim_end().ends_with(", 1 threads)"), "{err}");
    }
}

#[test]
fn bad_index_files_fail_cleanly() {
    let dir = scratch("index_bad");
    let files = layouts(&dir, 8, &[4, 9, 2], 3, Values::Unit);
    let (docs, lengths) = &files.layouts[1];
    let good = dir.join("good.maxsim").to_str().unwrap().to_string();
    index(docs, Some(lengths), "f16", &good);
    let bytes = std::fs::read(&good).unwrap();
    let mut flipped = bytes.clone();
    flipped[bytes.len() / 2] ^= 0x10;
    let mut wrong_version = bytes.clone();
    wrong_version[8] = 9;
    let other_dim = write(&dir, "q3.npy", &npy_f32(&[1, 3], &[1.0; 3]));

    let cases = [
        (
            write(&dir, "truncated.maxsim", &bytes[..bytes.len() - 64]),
            "truncated",
        ),
        (
            write(&dir, "ragged.maxsim", &bytes[..bytes.len() - 3]),
            "not a multiple of 8",
        ),
        (write(&dir, "header.maxsim", &bytes[..40]), "too short"),
        (write(&dir, "empty.maxsim", b""), "too short"),
        (write(&dir, "garbage.maxsim", &[0x5a; 4096]), "bad magic"),
        (write(&dir, "flipped.maxsim", &flipped), "checksum"),
        (write(&dir, "version.maxsim", &wrong_version), "version"),
        (docs.clone(), "bad magic"),
        (
            dir.join("missing.maxsim").to_str().unwrap().to_string(),
            "missing.maxsim",
        ),
    ];
    for (path, needle) in &cases {
        for command in ["score", "search"] {
            let output = maxsim(&[command, "--query", &files.query, "--index", path]);
            let err = stderr(&output);
            assert_eq!(output.status.code(), Some(1), "{path}: {err}");
            assert_eq!(err.lines().count(), 1, "{path}: {err}");
            assert!(err.starts_with("maxsim: error: "), "{path}: {err}");
            assert!(err.contains(path.as_str()), "{path}: {err}");
            assert!(err.contains(needle), "{path}: {err}");
            assert!(stdout(&output).is_empty());
        }
    }
    // A query of another dim.
    let output = maxsim(&["score", "--query", &other_dim, "--index", &good]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(stderr(&output).starts_with("maxsim: error: "));

    // `index` itself: bad documents, or nowhere to write, leave no file behind.
    let f64_docs = write(&dir, "f64.npy", &npy_bytes("<f8", &[1, 4], &[0u8; 32]));
    let nowhere = dir.join("no/such/dir/i.maxsim");
    for (args, needle) in [
        (
            vec!["index", "--docs", &f64_docs, "--out", &good],
            "is not float32 or float16",
        ),
        (
            vec!["index", "--docs", docs, "--out", &good],
            "needs --lengths",
        ),
        (
            vec![
                "index",
                "--docs",
                docs,
                "--lengths",
                lengths,
                "--out",
                nowhere.to_str().unwrap(),
            ],
            "cannot write the index",
        ),
    ] {
        let output = maxsim(&args);
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("maxsim: error: "), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    // The good index was not replaced by the failed runs.
    assert_eq!(std::fs::read(&good).unwrap(), bytes);
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.file_name().to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn index_usage_errors_exit_2() {
    for args in [
        &[
            "score", "--query", "q.npy", "--docs", "d.npy", "--index", "i",
        ][..],
        &[
            "search",
            "--query",
            "q.npy",
            "--index",
            "i",
            "--lengths",
            "l.npy",
        ],
        &[
            "search", "--query", "q.npy", "--index", "i", "--repeat", "0",
        ],
        &["index", "--docs", "d.npy"],
        &["index", "--out", "i"],
        &["index", "--docs", "d.npy", "--out", "i", "--dtype", "f64"],
    ] {
        let output = maxsim(args);
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.starts_with("error: "), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(stdout(&output).is_empty(), "{args:?}");
    }
    // Without documents, the message names both ways to give them.
    let err = stderr(&maxsim(&["score", "--query", "q.npy"]));
    assert!(err.contains("--docs <D.npy>|--index <CORPUS>"), "{err}");
}

#[test]
fn a_closed_stdout_ends_index_commands_quietly() {
    let dir = scratch("index_closed_stdout");
    let (query, docs) = many_documents(&dir, 100_000);
    let out = dir.join("i.maxsim").to_str().unwrap().to_string();
    index(&docs, None, "f16", &out);
    for args in [
        vec!["score", "--query", &query, "--index", &out],
        vec![
            "search", "--query", &query, "--index", &out, "--k", "100000",
        ],
    ] {
        let output = with_stdout_closed(&args);
        let err = stderr(&output);
        assert!(err.is_empty(), "{args:?}: {err}");
        assert!(output.status.success(), "{args:?}: {:?}", output.status);
    }
}

/// Writes the `index` fuzz target's seeds (fuzz/seeds/index): valid small indexes of each
/// storage type, truncated ones, and inputs of the target's mutating mode. Run after a format
/// change: `cargo test -p maxsim-cli --test cli -- --ignored write_index_fuzz_seeds`.
#[test]
#[ignore = "writes fuzz/seeds/index"]
fn write_index_fuzz_seeds() {
    let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds/index");
    std::fs::create_dir_all(&seeds).unwrap();
    let special = [
        0.0f32,
        -0.0,
        1.0,
        -1.5,
        0.333,
        65504.0,
        70000.0,
        -1e-7,
        3.0e38,
        f32::INFINITY,
        f32::NAN,
    ];
    let dim = 4;
    let lengths = [3usize, 0, 17, 1];
    let values: Vec<f32> = (0..lengths.iter().sum::<usize>() * dim)
        .map(|i| special[(i * 7) % special.len()])
        .collect();
    let corpus = maxsim::Corpus::from_lengths(&values[..], dim, &lengths).unwrap();
    for storage in maxsim::Storage::ALL {
        let bytes = maxsim::Index::from_corpus(&corpus, storage)
            .unwrap()
            .to_bytes();
        let name = storage.name();
        std::fs::write(seeds.join(format!("valid_{name}")), &bytes).unwrap();
        let one_row = maxsim::Corpus::from_lengths(&values[..3], 1, &[2usize, 1]).unwrap();
        let small = maxsim::Index::from_corpus(&one_row, storage).unwrap();
        std::fs::write(seeds.join(format!("dim1_{name}")), small.to_bytes()).unwrap();
        // The target's mutating mode: storage, dim, documents, flags (bit 0: sign the edited
        // bytes again), their rows, then edits of 3 bytes (a little-endian u16 position and a
        // byte xor'ed in; 0 truncates there): a header field bent, and stored values edited.
        let code = storage.code();
        let header = [0xff, code, 3, 3, 0, 5, 0, 20, 16, 0, 1, 40, 0, 2];
        std::fs::write(seeds.join(format!("mutate_header_{name}")), header).unwrap();
        let values = [0xff, code, 3, 3, 3, 5, 0, 20, 200, 0, 0x40, 0x60, 1, 0x81];
        std::fs::write(seeds.join(format!("mutate_values_{name}")), values).unwrap();
    }
    let empty = maxsim::Corpus::from_lengths(&values[..0], 2, &[] as &[usize]).unwrap();
    let empty = maxsim::Index::from_corpus(&empty, maxsim::Storage::F32).unwrap();
    std::fs::write(seeds.join("no_documents"), empty.to_bytes()).unwrap();
    let f32_bytes = maxsim::Index::from_corpus(&corpus, maxsim::Storage::F32)
        .unwrap()
        .to_bytes();
    std::fs::write(seeds.join("truncated_header"), &f32_bytes[..64]).unwrap();
    std::fs::write(
        seeds.join("truncated_checksum"),
        &f32_bytes[..f32_bytes.len() - 8],
    )
    .unwrap();
    std::fs::write(seeds.join("truncated_ragged"), &f32_bytes[..101]).unwrap();
}
