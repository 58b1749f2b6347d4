//! Time per document of the int8 screen against the exact f32 index kernel, one thread.
//!
//! `cargo run --release -p maxsim-kernels --example screen_bench [-- [cached] [stream] [rows..]]`
//!
//! * cached: one document of 1038 tokens x dim 128 (cache resident), for each query length and
//!   each screen path this CPU runs; beside it the f32 index kernel (`Kernel::index_row_maxima`)
//!   of the same ISA family on the same shape.
//! * stream: 500 such documents stored back to back (sketches 66 MB, f32 index 266 MB), scored
//!   one after the other, so they come from DRAM.
//!
//! Query rows: 10 and 32 unless given. `MAXSIM_SCREEN` picks one path. Each figure is the best
//! of several timed runs.

use std::hint::black_box;
use std::time::{Duration, Instant};

use maxsim_kernels::index::{index_len, pack_document};
use maxsim_kernels::sketch::{
    pack_sketch, pad_query_codes, padded_query_len, quantize_row, sketch_len,
};
use maxsim_kernels::{Isa, Kernel, Screen, ScreenIsa};

const DOC_ROWS: usize = 1038;
const DIM: usize = 128;
const CORPUS_DOCS: usize = 500;

fn unit_values(seed: u64, len: usize) -> Vec<f32> {
    let mut state = seed;
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

/// Seconds per call of `f`: the best of `runs` timings of enough calls to fill `window`.
fn time(runs: usize, window: Duration, mut f: impl FnMut()) -> f64 {
    f();
    let start = Instant::now();
    let mut calls = 0u32;
    while start.elapsed() < window * 4 {
        f();
        calls += 1;
    }
    let per_call = start.elapsed().as_secs_f64() / calls.max(1) as f64;
    let calls = ((window.as_secs_f64() / per_call) as u32).max(1);
    (0..runs)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..calls {
                f();
            }
            start.elapsed().as_secs_f64() / calls as f64
        })
        .fold(f64::INFINITY, f64::min)
}

/// A row-major f32 matrix quantized row by row: codes and scales.
fn quantize(values: &[f32]) -> (Vec<i8>, Vec<f32>) {
    let mut codes = vec![0i8; values.len()];
    let scales = values
        .chunks_exact(DIM)
        .zip(codes.chunks_exact_mut(DIM))
        .map(|(row, codes)| quantize_row(row, codes).unwrap())
        .collect();
    (codes, scales)
}

/// One document: its sketch, scales and f32 index.
struct Doc {
    sketch: Vec<i8>,
    scales: Vec<f32>,
    index: Vec<f32>,
}

fn document(seed: u64) -> Doc {
    let values = unit_values(seed, DOC_ROWS * DIM);
    let (codes, scales) = quantize(&values);
    let mut sketch = vec![0; sketch_len(DOC_ROWS, DIM).unwrap()];
    pack_sketch(&codes, DIM, &mut sketch);
    let mut index = vec![0.0; index_len(DOC_ROWS, DIM).unwrap()];
    pack_document(&values, DIM, &mut index);
    Doc {
        sketch,
        scales,
        index,
    }
}

/// The main kernel ISA whose family a screen path belongs to.
fn family(screen: ScreenIsa) -> Isa {
    match screen {
        ScreenIsa::Scalar => Isa::Scalar,
        ScreenIsa::Avx2 => Isa::Avx2Fma,
        ScreenIsa::Avx512Bw | ScreenIsa::Avx512Vnni => Isa::Avx512,
        ScreenIsa::Neon => Isa::Neon,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut rows: Vec<usize> = args.iter().filter_map(|a| a.parse().ok()).collect();
    if rows.is_empty() {
        rows = vec![10, 32];
    }
    let want = |what: &str| {
        args.iter().any(|a| a == what) || !args.iter().any(|a| a.parse::<usize>().is_err())
    };
    let screens: Vec<ScreenIsa> = match std::env::var("MAXSIM_SCREEN") {
        Ok(name) => vec![ScreenIsa::from_name(&name).expect("MAXSIM_SCREEN")],
        Err(_) => ScreenIsa::supported()
            .filter(|&isa| isa != ScreenIsa::Scalar)
            .collect(),
    };
    let query_values = unit_values(1, rows.iter().max().unwrap() * DIM);
    let (query_codes, _) = quantize(&query_values);
    let mut padded = vec![0; padded_query_len(query_codes.len() / DIM, DIM).unwrap()];
    pad_query_codes(&query_codes, DIM, &mut padded);
    let mut out = vec![0.0f32; *rows.iter().max().unwrap()];

    if want("cached") {
        let doc = document(2);
        for &screen_isa in &screens {
            let screen = Screen::new(screen_isa).expect("screen path not supported here");
            let kernel = Kernel::new(family(screen_isa)).expect("ISA not supported here");
            for &n in &rows {
                let screen_seconds = time(300, Duration::from_millis(1), || {
                    screen.screen_row_maxima(
                        black_box(&padded),
                        n,
                        DIM,
                        black_box(&doc.sketch),
                        &doc.scales,
                        DOC_ROWS,
                        &mut out,
                    );
                    black_box(&out);
                });
                let index_seconds = time(300, Duration::from_millis(1), || {
                    kernel.index_row_maxima(
                        black_box(&query_values[..n * DIM]),
                        n,
                        DIM,
                        black_box(&doc.index),
                        DOC_ROWS,
                        &mut out,
                    );
                    black_box(&out);
                });
                let macs = (n * DOC_ROWS * DIM) as f64;
                println!(
                    "cached   {:<10} q={:<3} screen {:>7.2} us/doc {:>6.0} GMAC/s | index f32 ({:<6}) {:>7.2} us/doc | screen/index {:.3}",
                    screen_isa.name(),
                    n,
                    screen_seconds * 1e6,
                    macs / screen_seconds / 1e9,
                    kernel.isa().name(),
                    index_seconds * 1e6,
                    screen_seconds / index_seconds,
                );
            }
        }
    }

    if want("stream") {
        let docs: Vec<Doc> = (0..CORPUS_DOCS as u64).map(|i| document(100 + i)).collect();
        let sketch_len = docs[0].sketch.len();
        let index_len = docs[0].index.len();
        // Back to back, as a corpus is stored.
        let sketches: Vec<i8> = docs.iter().flat_map(|d| d.sketch.iter().copied()).collect();
        let scales: Vec<f32> = docs.iter().flat_map(|d| d.scales.iter().copied()).collect();
        let index: Vec<f32> = docs.iter().flat_map(|d| d.index.iter().copied()).collect();
        drop(docs);
        let sketch_bytes = (sketches.len() + scales.len() * 4) as f64;
        for &screen_isa in &screens {
            let screen = Screen::new(screen_isa).expect("screen path not supported here");
            let kernel = Kernel::new(family(screen_isa)).expect("ISA not supported here");
            for &n in &rows {
                let screen_seconds = time(3, Duration::from_millis(500), || {
                    for (sketch, scales) in sketches
                        .chunks_exact(sketch_len)
                        .zip(scales.chunks_exact(DOC_ROWS))
                    {
                        screen
                            .screen_row_maxima(&padded, n, DIM, sketch, scales, DOC_ROWS, &mut out);
                        black_box(&out);
                    }
                }) / CORPUS_DOCS as f64;
                let index_seconds = time(3, Duration::from_millis(500), || {
                    for doc in index.chunks_exact(index_len) {
                        kernel.index_row_maxima(
                            &query_values[..n * DIM],
                            n,
                            DIM,
                            doc,
                            DOC_ROWS,
                            &mut out,
                        );
                        black_box(&out);
                    }
                }) / CORPUS_DOCS as f64;
                println!(
                    "streamed {:<10} q={:<3} screen {:>7.2} us/doc {:>5.1} GB/s   | index f32 ({:<6}) {:>7.2} us/doc | screen/index {:.3}",
                    screen_isa.name(),
                    n,
                    screen_seconds * 1e6,
                    sketch_bytes / CORPUS_DOCS as f64 / screen_seconds / 1e9,
                    kernel.isa().name(),
                    index_seconds * 1e6,
                    screen_seconds / index_seconds,
                );
            }
        }
    }
}
