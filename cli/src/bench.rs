//! `maxsim bench`: the kernel against this CPU's own limits, measured in the same run.
//!
//! It measures the FMA peak of each ISA benchmarked (independent FMA chains) and the DRAM read
//! bandwidth, then times the kernel on a cache-resident document and on an out-of-cache corpus,
//! and reports efficiency against the relevant bound: compute (`2 n m dim` flops at the
//! measured peak) or memory (corpus bytes at the measured bandwidth), whichever is slower.

use std::time::{Duration, Instant};

use maxsim::kernels::Kernel;
use maxsim::{Corpus, Isa, PreparedQuery, QueryBatch, TokenMatrix};

use super::{args::Args, system, Failure};

/// Timed repetitions of each measurement; the median is reported.
const REPETITIONS: usize = 5;
/// A cache-resident measurement repeats the kernel for at least this long per repetition.
const RESIDENT_TIME: Duration = Duration::from_millis(60);

pub fn run(args: Args) -> Result<(), Failure> {
    let isas = match args.get("isa") {
        Some("all") => maxsim::supported_isas()
            .into_iter()
            .filter(|&isa| isa != Isa::Scalar)
            .collect(),
        _ => vec![super::chosen_isa(&args)?],
    };
    let query_rows = list(&args, "rows", "32,10")?;
    let dims = list(&args, "dims", "128")?;
    let thread_counts = list(&args, "threads", "1")?;
    let doc_rows: usize = args.number("doc-rows", 1038)?;
    let docs: usize = args.number("docs", 500)?;
    let resident_docs: usize = args.number("resident-docs", 8)?;
    let batch: usize = args.number("batch", 8)?;
    let json = args.get("json").is_some_and(|v| v != "false");
    if doc_rows == 0
        || docs == 0
        || resident_docs == 0
        || dims.contains(&0)
        || thread_counts.contains(&0)
    {
        return Err(Failure::Usage(
            "--doc-rows, --docs, --resident-docs, --dims and --threads must be at least 1".into(),
        ));
    }
    if !json {
        println!(
            "maxsim bench: {} ({})",
            system::cpu_model(),
            std::env::consts::ARCH
        );
    }
    let mut rng = super::demo::SplitMix(7);
    let max_dim = dims.iter().copied().max().unwrap_or(128);
    for &threads in &thread_counts {
        let pool = super::thread_pool(threads)?;
        pool.install(|| -> Result<(), Failure> {
            let bandwidth = dram_read_gbps(docs * doc_rows * max_dim);
            if !json {
                println!("\n{threads} thread(s): DRAM read bandwidth {bandwidth:.1} GB/s (measured now)");
            }
            for &isa in &isas {
                let kernel = Kernel::new(isa).ok_or(maxsim::Error::UnsupportedIsa {
                    isa,
                    supported: maxsim::supported_isas(),
                })?;
                let peak = fma_peak_gflops(kernel);
                if !json {
                    println!(
                        "\n{isa}, {threads} thread(s): FMA peak {peak:.1} GFLOP/s (measured now, {} chains per thread)",
                        maxsim::kernels::PEAK_PROBE_CHAINS
                    );
                    println!(
                        "{:<9} {:>5} {:>8} {:>4} {:>5} {:>10} {:>8} {:>7} {:>8} {:>10}",
                        "case", "rows", "doc_rows", "dim", "docs", "ms/query", "GFLOP/s", "GB/s", "bound", "efficiency"
                    );
                }
                for &dim in &dims {
                    let data = super::demo::unit_vectors(&mut rng, docs * doc_rows, dim);
                    let corpus = Corpus::from_padded(&data[..], (docs, doc_rows, dim))?;
                    let resident_docs = resident_docs.min(docs);
                    let resident = Corpus::from_padded(
                        &data[..resident_docs * doc_rows * dim],
                        (resident_docs, doc_rows, dim),
                    )?;
                    for &rows in &query_rows {
                        let query = super::demo::unit_vectors(&mut rng, rows, dim);
                        let prepared = PreparedQuery::with_isa(TokenMatrix::new(&query, dim)?, isa)?;
                        let shape = Shape { isa, threads, rows, doc_rows, dim, peak, bandwidth };
                        let seconds = time_repeated(|| prepared.score_corpus(&resident).map(drop))?;
                        shape.report("resident", resident.len(), seconds, json);
                        let seconds = median(|| timed(|| prepared.score_corpus(&corpus).map(drop)))?;
                        shape.report("corpus", docs, seconds, json);
                        let seconds = median(|| timed(|| prepared.top_k(&corpus, 10).map(drop)))?;
                        shape.report("top10", docs, seconds, json);
                        if batch > 1 {
                            let queries: Vec<Vec<f32>> = (0..batch)
                                .map(|_| super::demo::unit_vectors(&mut rng, rows, dim))
                                .collect();
                            let matrices = queries
                                .iter()
                                .map(|q| TokenMatrix::new(q, dim))
                                .collect::<Result<Vec<_>, _>>()?;
                            let batched = QueryBatch::with_isa(&matrices, isa)?;
                            let singles = matrices
                                .iter()
                                .map(|&q| PreparedQuery::with_isa(q, isa))
                                .collect::<Result<Vec<_>, _>>()?;
                            let together = median(|| timed(|| batched.score_corpus(&corpus).map(drop)))?;
                            let apart = median(|| {
                                timed(|| singles.iter().try_for_each(|q| q.score_corpus(&corpus).map(drop)))
                            })?;
                            let batch_shape = Shape { rows: rows * batch, ..shape };
                            batch_shape.report(&format!("batch{batch}"), docs, together, json);
                            batch_shape.report(&format!("singles{batch}"), docs, apart, json);
                            if !json {
                                println!("  batch of {batch} x {rows} rows: {:.2}x the throughput of {batch} single queries", apart / together);
                            }
                        }
                    }
                }
                tiny_shapes(isa, json)?;
            }
            Ok(())
        })?;
    }
    Ok(())
}

#[derive(Clone, Copy)]
struct Shape {
    isa: Isa,
    threads: usize,
    rows: usize,
    doc_rows: usize,
    dim: usize,
    peak: f64,
    bandwidth: f64,
}

impl Shape {
    fn report(&self, case: &str, docs: usize, seconds: f64, json: bool) {
        let flops = 2.0 * (self.rows * self.doc_rows * self.dim * docs) as f64;
        let bytes = (4 * self.doc_rows * self.dim * docs) as f64;
        let compute_bound = flops / (self.peak * 1e9);
        // A single resident document is re-read from cache: only the corpus has a memory bound.
        let memory_bound = if case == "corpus" {
            bytes / (self.bandwidth * 1e9)
        } else {
            0.0
        };
        let (bound, bound_seconds) = if memory_bound > compute_bound {
            ("memory", memory_bound)
        } else {
            ("compute", compute_bound)
        };
        let gflops = flops / seconds / 1e9;
        let gbps = bytes / seconds / 1e9;
        let efficiency = bound_seconds / seconds;
        if json {
            println!(
                "{{\"case\":\"{case}\",\"isa\":\"{}\",\"threads\":{},\"query_rows\":{},\"doc_rows\":{},\"dim\":{},\"docs\":{docs},\"ms_per_query\":{:.6},\"gflops\":{gflops:.3},\"gbps\":{gbps:.3},\"peak_gflops\":{:.3},\"bandwidth_gbps\":{:.3},\"bound\":\"{bound}\",\"efficiency\":{efficiency:.4}}}",
                self.isa, self.threads, self.rows, self.doc_rows, self.dim, seconds * 1e3, self.peak, self.bandwidth
            );
        } else {
            println!(
                "{case:<9} {:>5} {:>8} {:>4} {docs:>5} {:>10.4} {gflops:>8.1} {gbps:>7.1} {bound:>8} {:>9.1}%",
                self.rows,
                self.doc_rows,
                self.dim,
                seconds * 1e3,
                efficiency * 100.0
            );
        }
    }
}

/// Seconds per call of `work`, repeated for at least `RESIDENT_TIME` (median of
/// `REPETITIONS`): for work on data that stays in cache.
fn time_repeated(mut work: impl FnMut() -> maxsim::Result<()>) -> Result<f64, Failure> {
    median(|| time_repeated_once(&mut work))
}

fn time_repeated_once(work: &mut impl FnMut() -> maxsim::Result<()>) -> Result<f64, Failure> {
    let mut calls = 0u32;
    let start = Instant::now();
    while start.elapsed() < RESIDENT_TIME {
        for _ in 0..16 {
            work()?;
        }
        calls += 16;
    }
    Ok(start.elapsed().as_secs_f64() / f64::from(calls))
}

/// Seconds one call of `work` takes.
fn timed(work: impl FnOnce() -> maxsim::Result<()>) -> Result<f64, Failure> {
    let start = Instant::now();
    work()?;
    Ok(start.elapsed().as_secs_f64())
}

/// The median of `REPETITIONS` runs of `measure`.
fn median(mut measure: impl FnMut() -> Result<f64, Failure>) -> Result<f64, Failure> {
    let mut samples = (0..REPETITIONS)
        .map(|_| measure())
        .collect::<Result<Vec<_>, _>>()?;
    samples.sort_by(f64::total_cmp);
    Ok(samples[REPETITIONS / 2])
}

/// GFLOP/s of independent FMA chains on this ISA, on every thread of the current pool at once.
fn fma_peak_gflops(kernel: Kernel) -> f64 {
    let iterations = 4_000_000 / kernel.lanes();
    let threads = rayon::current_num_threads();
    let mut best = 0.0f64;
    for _ in 0..REPETITIONS {
        let start = Instant::now();
        rayon::broadcast(|_| {
            std::hint::black_box(kernel.fma_peak_probe(std::hint::black_box(iterations)))
        });
        let flops = (kernel.probe_flops(iterations) * threads) as f64;
        best = best.max(flops / start.elapsed().as_secs_f64() / 1e9);
    }
    best
}

/// Read bandwidth from DRAM, in GB/s, on every thread of the current pool at once: each sums
/// its share of a buffer of `floats` (at least 256 MiB) that does not fit in cache. Portable
/// SIMD (`wide`) suffices: the loop is bound by memory, not by adds.
fn dram_read_gbps(floats: usize) -> f64 {
    let floats = floats.max(64 << 20);
    let buffer: Vec<f32> = (0..floats).map(|i| (i % 7) as f32).collect();
    let threads = rayon::current_num_threads();
    let share = floats.div_ceil(threads);
    let mut best = 0.0f64;
    for _ in 0..REPETITIONS {
        let start = Instant::now();
        rayon::broadcast(|context| {
            let part = buffer.chunks(share).nth(context.index()).unwrap_or(&[]);
            std::hint::black_box(sum(std::hint::black_box(part)))
        });
        best = best.max((floats * 4) as f64 / start.elapsed().as_secs_f64() / 1e9);
    }
    best
}

fn sum(values: &[f32]) -> f32 {
    use wide::f32x8;
    let mut lanes = [f32x8::ZERO; 4];
    let mut chunks = values.chunks_exact(32);
    for chunk in &mut chunks {
        for (lane, part) in lanes.iter_mut().zip(chunk.chunks_exact(8)) {
            *lane += f32x8::from(<[f32; 8]>::try_from(part).unwrap_or([0.0; 8]));
        }
    }
    let total: f32 = lanes.iter().map(|lane| lane.reduce_add()).sum();
    total + chunks.remainder().iter().sum::<f32>()
}

/// Tiny shapes, where call overhead dominates: the SIMD kernel must not lose to the reference.
fn tiny_shapes(isa: Isa, json: bool) -> Result<(), Failure> {
    const SHAPES: [(usize, usize, usize); 7] = [
        (1, 1, 1),
        (1, 1, 24),
        (1, 5, 5),
        (1, 1, 128),
        (2, 3, 5),
        (4, 4, 4),
        (3, 17, 33),
    ];
    if !json {
        println!("tiny shapes (ns per score): {isa} vs scalar reference");
    }
    let mut rng = super::demo::SplitMix(99);
    for (rows, doc_rows, dim) in SHAPES {
        let query = super::demo::unit_vectors(&mut rng, rows, dim);
        let doc = super::demo::unit_vectors(&mut rng, doc_rows, dim);
        let doc = TokenMatrix::new(&doc, dim)?;
        let kernel = PreparedQuery::with_isa(TokenMatrix::new(&query, dim)?, isa)?;
        let reference = PreparedQuery::with_isa(TokenMatrix::new(&query, dim)?, Isa::Scalar)?;
        // Alternate the two, so drift in the machine's speed hits both alike.
        let mut samples = [Vec::new(), Vec::new()];
        for _ in 0..REPETITIONS {
            for (samples, prepared) in samples.iter_mut().zip([&kernel, &reference]) {
                let mut score = || prepared.score(std::hint::black_box(doc)).map(drop);
                samples.push(time_repeated_once(&mut score)? * 1e9);
            }
        }
        let ns = samples.map(|mut samples| {
            samples.sort_by(f64::total_cmp);
            samples[REPETITIONS / 2]
        });
        if json {
            println!(
                "{{\"case\":\"tiny\",\"isa\":\"{isa}\",\"threads\":1,\"query_rows\":{rows},\"doc_rows\":{doc_rows},\"dim\":{dim},\"docs\":1,\"ns_per_score\":{:.2},\"scalar_ns_per_score\":{:.2}}}",
                ns[0], ns[1]
            );
        } else {
            println!(
                "  {rows}x{doc_rows}x{dim}: {isa} {:.1} ns, scalar {:.1} ns ({:.2}x faster)",
                ns[0],
                ns[1],
                ns[1] / ns[0]
            );
        }
    }
    Ok(())
}

fn list(args: &Args, name: &str, default: &str) -> Result<Vec<usize>, Failure> {
    args.get(name)
        .unwrap_or(default)
        .split(',')
        .map(|item| {
            item.trim()
                .parse()
                .map_err(|_| Failure::Usage(format!("--{name}: {item:?} is not a number")))
        })
        .collect()
}
