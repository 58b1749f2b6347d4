//! Throughput of the index kernels against the FMA peak and the row-major kernels, one thread.
//!
//! `cargo run --release -p maxsim-kernels --example index_bench [-- [cached] [stream] [rows..]]`
//!
//! * cached: one document of 1038 rows x dim 128 (cache resident), for each query length, each
//!   storage type and each ISA this CPU runs; beside it the row-major kernel on the same
//!   document, and the FMA peak (`fma_peak_probe`) measured in the same run.
//! * stream: 500 such documents (the seed corpus; 265 MB in f32), scored one after the other,
//!   so the documents come from DRAM.
//!
//! Flops are `2 * query_rows * doc_rows * dim`; each figure is the best of several timed runs.

use std::hint::black_box;
use std::time::{Duration, Instant};

use half::{bf16, f16};
use maxsim_kernels::index::{index_len, pack_document, Element};
use maxsim_kernels::{Isa, Kernel};

/// Document rows: 1038, or `DOC_ROWS` from the environment.
fn doc_rows() -> usize {
    std::env::var("DOC_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1038)
}
const DIM: usize = 128;
const CORPUS_DOCS: usize = 500;
/// Timed windows per figure, and their length.
const RUNS: usize = 300;
const WINDOW: Duration = Duration::from_millis(1);

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

/// Seconds per call of `f`: the best of `runs` timings of enough calls to fill `window`. Short
/// windows and the minimum make the figure robust to a shared machine: some windows run without
/// being preempted.
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

/// A zeroed buffer of `len` elements starting at a multiple of 64 bytes (or, with `misalign`,
/// 16 bytes past one, as a plain large `Vec` from glibc's `malloc` is).
fn aligned<T: Element>(len: usize, misalign: bool) -> (Vec<T>, usize) {
    let size = std::mem::size_of::<T>();
    let buf = vec![T::from_f32(0.0); len + 64 / size];
    let address = buf.as_ptr() as usize;
    let mut offset = (64 - address % 64) % 64 / size;
    if misalign {
        offset += 16 / size;
    }
    (buf, offset)
}

fn misaligned() -> bool {
    std::env::var_os("MISALIGN").is_some()
}

fn peak(kernel: Kernel) -> f64 {
    let iterations = 1 << 12;
    let seconds = time(RUNS, WINDOW, || {
        black_box(kernel.fma_peak_probe(black_box(iterations)));
    });
    kernel.probe_flops(iterations) as f64 / seconds / 1e9
}

fn cached<T: Element>(kernel: Kernel, rows: &[usize], peak: f64) {
    #[allow(non_snake_case)]
    let DOC_ROWS = doc_rows();
    let doc = unit_values(2, DOC_ROWS * DIM);
    let len = index_len(DOC_ROWS, DIM).unwrap();
    let (mut buf, offset) = aligned::<T>(len, misaligned());
    let stored = &mut buf[offset..offset + len];
    pack_document(&doc, DIM, stored);
    let stored = &*stored;
    for &n in rows {
        let query = unit_values(1, n * DIM);
        let flops = 2.0 * (n * DOC_ROWS * DIM) as f64;
        let seconds = time(RUNS, WINDOW, || {
            black_box(kernel.index_score(black_box(&query), n, DIM, black_box(stored), DOC_ROWS));
        });
        let gflops = flops / seconds / 1e9;
        // The row-major kernel on the f32 document (the widened values, for f16 and bf16).
        let packed_len = kernel.packed_len(n, DIM).unwrap();
        let (mut packed_buf, offset) = aligned::<f32>(packed_len, misaligned());
        let packed = &mut packed_buf[offset..offset + packed_len];
        kernel.pack_query(&query, DIM, packed);
        let packed = &*packed;
        let (mut widened_buf, offset) = aligned::<f32>(doc.len(), misaligned());
        let widened = &mut widened_buf[offset..offset + doc.len()];
        for (w, &x) in widened.iter_mut().zip(&doc) {
            *w = T::from_f32(x).to_f32();
        }
        let widened = &*widened;
        let row_major = time(RUNS, WINDOW, || {
            black_box(kernel.score(black_box(packed), n, DIM, black_box(widened)));
        });
        let row_major_gflops = flops / row_major / 1e9;
        println!(
            "{:<7} {:<5} q={:<3} {:>7.1} us {:>6.1} GFLOP/s {:>5.1}% of peak | row-major {:>6.1} GFLOP/s ({:.2}x)",
            kernel.isa().name(),
            T::STORAGE.name(),
            n,
            seconds * 1e6,
            gflops,
            100.0 * gflops / peak,
            row_major_gflops,
            gflops / row_major_gflops,
        );
    }
}

fn stream<T: Element>(kernel: Kernel, rows: &[usize], peak: f64) {
    #[allow(non_snake_case)]
    let DOC_ROWS = doc_rows();
    let doc_len = index_len(DOC_ROWS, DIM).unwrap();
    let (mut corpus_buf, offset) = aligned::<T>(doc_len * CORPUS_DOCS, misaligned());
    let corpus = &mut corpus_buf[offset..offset + doc_len * CORPUS_DOCS];
    for (i, stored) in corpus.chunks_exact_mut(doc_len).enumerate() {
        let doc = unit_values(100 + i as u64, DOC_ROWS * DIM);
        pack_document(&doc, DIM, stored);
    }
    let bytes = (corpus.len() * T::STORAGE.bytes()) as f64;
    for &n in rows {
        let query = unit_values(1, n * DIM);
        let flops = 2.0 * (n * DOC_ROWS * DIM * CORPUS_DOCS) as f64;
        let seconds = time(3, Duration::from_millis(600), || {
            let mut total = 0.0;
            for stored in corpus.chunks_exact(doc_len) {
                total += kernel.index_score(&query, n, DIM, stored, DOC_ROWS);
            }
            black_box(total);
        });
        let gflops = flops / seconds / 1e9;
        // The row-major kernel over the same corpus in f32 (widened), with its packed query.
        let mut row_major = String::new();
        if T::STORAGE == maxsim_kernels::Storage::F32 {
            let doc_floats = DOC_ROWS * DIM;
            let (mut flat_buf, offset) = aligned::<f32>(doc_floats * CORPUS_DOCS, misaligned());
            let flat = &mut flat_buf[offset..offset + doc_floats * CORPUS_DOCS];
            for (stored, out) in corpus
                .chunks_exact(doc_len)
                .zip(flat.chunks_exact_mut(doc_floats))
            {
                maxsim_kernels::index::unpack_document(stored, DIM, DOC_ROWS, out);
            }
            let mut packed = vec![0.0; kernel.packed_len(n, DIM).unwrap()];
            kernel.pack_query(&query, DIM, &mut packed);
            let rm_seconds = time(3, Duration::from_millis(600), || {
                let mut total = 0.0;
                for doc in flat.chunks_exact(doc_floats) {
                    total += kernel.score(&packed, n, DIM, doc);
                }
                black_box(total);
            });
            row_major = format!(
                " | row-major {:>6.1} GFLOP/s ({:.2}x)",
                flops / rm_seconds / 1e9,
                rm_seconds / seconds
            );
        }
        println!(
            "{:<7} {:<5} q={:<3} corpus {:>7.2} ms {:>6.1} GFLOP/s {:>5.1}% of peak {:>6.1} GB/s{}",
            kernel.isa().name(),
            T::STORAGE.name(),
            n,
            seconds * 1e3,
            gflops,
            100.0 * gflops / peak,
            bytes / seconds / 1e9,
            row_major,
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut rows: Vec<usize> = args.iter().filter_map(|a| a.parse().ok()).collect();
    if rows.is_empty() {
        rows = vec![1, 4, 10, 16, 32, 64];
    }
    let want = |what: &str| {
        args.iter().any(|a| a == what) || !args.iter().any(|a| a.parse::<usize>().is_err())
    };
    let isas: Vec<Isa> = match std::env::var("MAXSIM_ISA") {
        Ok(name) => vec![Isa::from_name(&name).expect("MAXSIM_ISA")],
        Err(_) => Isa::supported().filter(|&isa| isa != Isa::Scalar).collect(),
    };
    for isa in isas {
        let kernel = Kernel::new(isa).expect("ISA not supported here");
        let peak = peak(kernel);
        println!("{isa}: FMA peak {peak:.1} GFLOP/s (fma_peak_probe, this run)");
        if want("cached") {
            cached::<f32>(kernel, &rows, peak);
            cached::<f16>(kernel, &rows, peak);
            cached::<bf16>(kernel, &rows, peak);
        }
        if want("stream") {
            stream::<f32>(kernel, &rows, peak);
            stream::<f16>(kernel, &rows, peak);
            stream::<bf16>(kernel, &rows, peak);
        }
    }
}
