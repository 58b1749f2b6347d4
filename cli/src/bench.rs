//! `maxsim bench`: the kernel against this CPU's own limits, measured in the same run.
//!
//! It measures the FMA peak of each ISA benchmarked (independent FMA chains) and the DRAM read
//! bandwidth, then times the kernel on a cache-resident document and on an out-of-cache corpus,
//! in both layouts (row-major f32 documents, and an [`Index`] in each storage type), and reports
//! efficiency against the relevant bound: compute (`2 n m dim` flops at the measured peak) or,
//! for every case that streams the corpus from DRAM, memory (the stored bytes of every pass at
//! the measured bandwidth), whichever is slower. The limits are probed with all
//! threads started together, each timing a run of tens of milliseconds, before the cases and
//! between their repetitions; each section's bound is the best reading (see [`Limits`]).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use maxsim::kernels::Kernel;
use maxsim::synthetic::Synthetic;
use maxsim::{
    Candidates, Corpus, Index, Isa, PreparedQuery, Pruning, QueryBatch, Sketch, Storage,
    TokenMatrix,
};

use super::args::{BenchArgs, BenchIsas};
use super::progress::Progress;
use super::{system, Failure};

/// Every line bench prints goes through `out`: a closed standard output (`maxsim bench | head`)
/// ends the program quietly with exit status 0 instead of `println!`'s panic, and a line never
/// tears the progress bar.
macro_rules! println {
    ($($arg:tt)*) => {
        crate::out::print_line_or_exit(format_args!($($arg)*))
    };
}

/// Timed repetitions of each measurement; the median is reported.
const REPETITIONS: usize = 5;
/// Times each cache-resident document is scored per call: the call's fixed cost (dispatch to
/// the threads, the result) then weighs on the kernel's rate as it does on a real corpus, not
/// as on a call that scores one document.
const RESIDENT_REPEATS: usize = 16;
/// A cache-resident measurement repeats the kernel for at least this long per repetition.
const RESIDENT_TIME: Duration = Duration::from_millis(60);
/// Probes of the limits before a section's first case (then one before every repetition).
const FIRST_PROBES: usize = 5;
/// Each thread's run of the FMA peak probe lasts about this long.
const PEAK_RUN_TIME: Duration = Duration::from_millis(40);
/// The storage type whose index build is timed, and the query rows of the scans it is
/// compared with: rearranging a corpus once must cost less than a few scans of it.
const BUILD_STORAGE: Storage = Storage::Bf16;
const BUILD_SCAN_ROWS: usize = 32;

pub fn run(args: BenchArgs) -> Result<(), Failure> {
    // clap has checked the counts, --dims and --threads (all at least 1).
    let BenchArgs {
        isa,
        rows: query_rows,
        dims,
        doc_rows,
        docs,
        resident_docs,
        threads: thread_counts,
        batch,
        skip_pruning,
        prune_shapes,
        json,
    } = args;
    let isas = match isa {
        Some(BenchIsas::All) => maxsim::supported_isas()
            .into_iter()
            .filter(|&isa| isa != Isa::Scalar)
            .collect(),
        Some(BenchIsas::One(isa)) => vec![super::chosen_isa(Some(isa))?],
        None => vec![super::chosen_isa(None)?],
    };
    // On a terminal, a bar on standard error counts the (threads, ISA, dim, rows) cases.
    let progress = Progress::new(
        (thread_counts.len() * isas.len() * dims.len() * query_rows.len()) as u64,
        "bench",
    );
    if !json {
        println!(
            "maxsim bench: {} ({})",
            system::cpu_model(),
            std::env::consts::ARCH
        );
    }
    let mut rng = super::demo::SplitMix(7);
    let max_dim = dims.iter().copied().max().unwrap_or(128);
    // The pruning cases' data, made once: indexes of structured and random corpora.
    let prune_sets = if skip_pruning {
        Vec::new()
    } else {
        progress.set_message("pruning cases: generating and indexing");
        prune_sets(&prune_shapes, dims.first().copied().unwrap_or(128))?
    };
    for &threads in &thread_counts {
        let pool = super::thread_pool(threads)?;
        pool.install(|| -> Result<(), Failure> {
            progress.set_message(format!("{threads} thread(s): DRAM bandwidth"));
            let memory = dram_buffer(docs * doc_rows * max_dim);
            for &isa in &isas {
                let kernel = Kernel::new(isa).ok_or(maxsim::Error::UnsupportedIsa {
                    isa,
                    supported: maxsim::supported_isas(),
                })?;
                progress.set_message(format!("{isa}, {threads} thread(s): FMA peak"));
                // The limits are probed before the cases and again between their repetitions;
                // the rows are printed at the end, against the best readings.
                let mut limits = Limits::measure(kernel, &memory);
                let mut lines = Vec::new();
                for &dim in &dims {
                    let data = super::demo::unit_vectors(&mut rng, docs * doc_rows, dim);
                    let corpus = Corpus::from_padded(&data[..], (docs, doc_rows, dim))?;
                    let resident_docs = resident_docs.unwrap_or(threads).min(docs);
                    let resident = Corpus::from_padded(
                        &data[..resident_docs * doc_rows * dim],
                        (resident_docs, doc_rows, dim),
                    )?;
                    // Each document scored RESIDENT_REPEATS times in a row, so that each
                    // thread's share is its own few documents, again and again.
                    let repeats: Vec<usize> = (0..resident_docs)
                        .flat_map(|doc| std::iter::repeat_n(doc, RESIDENT_REPEATS))
                        .collect();
                    let resident_rows = Candidates::new(&resident, &repeats)?;
                    progress.set_message(format!("{isa}, {threads} thread(s): dim {dim}, indexing"));
                    let indexes = Storage::ALL
                        .into_iter()
                        .map(|storage| {
                            Ok((
                                storage,
                                Index::from_corpus(&resident, storage)?,
                                Index::from_corpus(&corpus, storage)?,
                            ))
                        })
                        .collect::<maxsim::Result<Vec<_>>>()?;
                    for &rows in &query_rows {
                        progress.set_message(format!("{isa}, {threads} thread(s): dim {dim}, {rows} rows"));
                        let query = super::demo::unit_vectors(&mut rng, rows, dim);
                        let prepared = PreparedQuery::with_isa(TokenMatrix::new(&query, dim)?, isa)?;
                        // Re-read from cache: compute-bound only.
                        let shape = Shape {
                            isa,
                            threads,
                            rows,
                            doc_rows,
                            dim,
                            passes: 0,
                            layout: "rows",
                            storage: Storage::F32,
                        };
                        let rows_resident = limits.time(&memory, || {
                            time_repeated_once(&mut || prepared.score_corpus(&resident_rows).map(drop))
                        })?;
                        lines.push(Line::case(shape, "resident", repeats.len(), rows_resident));
                        // One pass over the out-of-cache corpus: compute- or memory-bound.
                        let streamed = Shape { passes: 1, ..shape };
                        let seconds = limits.time(&memory, || timed(|| prepared.score_corpus(&corpus).map(drop)))?;
                        lines.push(Line::case(streamed, "corpus", docs, seconds));
                        let seconds = limits.time(&memory, || timed(|| prepared.top_k(&corpus, 10).map(drop)))?;
                        lines.push(Line::case(streamed, "top10", docs, seconds));
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
                            let together = limits.time(&memory, || timed(|| batched.score_corpus(&corpus).map(drop)))?;
                            let apart = limits.time(&memory, || {
                                timed(|| singles.iter().try_for_each(|q| q.score_corpus(&corpus).map(drop)))
                            })?;
                            // The batch reads the corpus once; the single queries once each.
                            let batch_shape = Shape { rows: rows * batch, ..streamed };
                            let singles_shape = Shape { passes: batch, ..batch_shape };
                            lines.push(Line::case(batch_shape, format!("batch{batch}"), docs, together));
                            lines.push(Line::case(singles_shape, format!("singles{batch}"), docs, apart));
                            lines.push(Line::Text(format!(
                                "  batch of {batch} x {rows} rows: {:.2}x the throughput of {batch} single queries",
                                apart / together
                            )));
                        }
                        let mut against_rows = Vec::new();
                        for (storage, resident_index, corpus_index) in &indexes {
                            let indexed = Shape { layout: "index", storage: *storage, ..shape };
                            let resident_index = Candidates::new(resident_index, &repeats)?;
                            let seconds = limits.time(&memory, || {
                                time_repeated_once(&mut || prepared.score_corpus(&resident_index).map(drop))
                            })?;
                            lines.push(Line::case(indexed, "resident", repeats.len(), seconds));
                            against_rows.push(format!("{storage} {:.2}x", rows_resident / seconds));
                            let streamed = Shape { passes: 1, ..indexed };
                            let seconds =
                                limits.time(&memory, || timed(|| prepared.score_corpus(corpus_index).map(drop)))?;
                            lines.push(Line::case(streamed, "corpus", docs, seconds));
                        }
                        lines.push(Line::Text(format!(
                            "  index against rows, resident, {rows} rows: {} the speed",
                            against_rows.join(", ")
                        )));
                        progress.inc(1);
                    }
                    lines.push(build_case(&mut limits, &memory, &mut rng, &corpus, doc_rows, isa, threads)?);
                }
                for set in &prune_sets {
                    progress.set_message(format!("{isa}, {threads} thread(s): pruned top-10, {}", set.name()));
                    for case in set.cases(&mut limits, &memory, isa, threads)? {
                        lines.push(case);
                    }
                }
                limits.report(isa, threads, &lines, json);
                progress.set_message(format!("{isa}: tiny shapes"));
                tiny_shapes(isa, json)?;
            }
            Ok(())
        })?;
    }
    Ok(())
}

/// One case's workload: the flops and bytes behind its efficiency.
#[derive(Clone, Copy)]
struct Shape {
    isa: Isa,
    threads: usize,
    rows: usize,
    doc_rows: usize,
    dim: usize,
    /// Passes over the documents from DRAM; 0: re-read from cache, so no memory bound.
    passes: usize,
    /// `"rows"` (row-major f32 documents) or `"index"` (an [`Index`]).
    layout: &'static str,
    storage: Storage,
}

/// A line of a section's table, printed once the section's limits are known.
enum Line {
    Case {
        shape: Shape,
        case: String,
        docs: usize,
        seconds: f64,
    },
    Build(Build),
    Pruned(Pruned),
    Text(String),
}

impl Line {
    fn case(shape: Shape, case: impl Into<String>, docs: usize, seconds: f64) -> Line {
        Line::Case {
            shape,
            case: case.into(),
            docs,
            seconds,
        }
    }
}

impl Shape {
    /// Prints one case: its rate and its efficiency against the slower of its bounds, compute
    /// (`2 n m dim` flops at the FMA peak) and, when it streams from DRAM, memory (the bytes
    /// of every pass at the read bandwidth).
    fn report(&self, case: &str, docs: usize, seconds: f64, limits: &Limits, json: bool) {
        let flops = 2.0 * (self.rows * self.doc_rows * self.dim * docs) as f64;
        let corpus_bytes = (self.storage.bytes() * self.doc_rows * self.dim * docs) as f64;
        let bytes = corpus_bytes * self.passes.max(1) as f64;
        let compute_bound = flops / (limits.peak * 1e9);
        let memory_bound = self.passes as f64 * corpus_bytes / (limits.bandwidth * 1e9);
        let (bound, bound_seconds) = if memory_bound > compute_bound {
            ("memory", memory_bound)
        } else {
            ("compute", compute_bound)
        };
        let gflops = flops / seconds / 1e9;
        let gbps = bytes / seconds / 1e9;
        let efficiency = bound_seconds / seconds;
        if json {
            let row = serde_json::json!({
                "case": case,
                "isa": self.isa.name(),
                "threads": self.threads,
                "query_rows": self.rows,
                "doc_rows": self.doc_rows,
                "dim": self.dim,
                "docs": docs,
                "ms_per_query": rounded(seconds * 1e3, 6),
                "gflops": rounded(gflops, 3),
                "gbps": rounded(gbps, 3),
                "peak_gflops": rounded(limits.peak, 3),
                "bandwidth_gbps": rounded(limits.bandwidth, 3),
                "bound": bound,
                "efficiency": rounded(efficiency, 4),
                "layout": self.layout,
                "storage": self.storage.name(),
            });
            println!("{row}");
        } else {
            println!(
                "{case:<9} {:<6} {:<7} {:>5} {:>8} {:>4} {docs:>5} {:>10.4} {gflops:>8.1} {gbps:>7.1} {bound:>8} {:>9.1}%",
                self.layout,
                self.storage.name(),
                self.rows,
                self.doc_rows,
                self.dim,
                seconds * 1e3,
                efficiency * 100.0
            );
        }
        if efficiency > 1.0 {
            // Not a faster-than-possible kernel: a bound read too low. The limits are the best
            // of many probes around the cases, so this takes a probe that missed a fast spell
            // of the machine (a shared or throttled host), or, for memory, a corpus small
            // enough to stay partly in cache or a kernel whose prefetching reads DRAM faster
            // than the probe's plain streaming sum.
            let note = format!(
                "  ^ {case}: above 100% of its {bound} bound: the machine ran it faster than every probe of its {}, so that reading is too low here (a shared or throttled host changed speed{}); rerun to confirm",
                if bound == "memory" { "DRAM read bandwidth" } else { "FMA peak" },
                if bound == "memory" {
                    ", the corpus partly fits in cache, or the kernel's prefetching outran the probe's streaming sum"
                } else {
                    ""
                }
            );
            if json {
                super::progress::suspend(|| eprintln!("maxsim bench: {}", note.trim_start()));
            } else {
                println!("{note}");
            }
        }
    }
}

/// `value` rounded to `decimals` places, to keep JSON rows short; NaN stays NaN (and
/// serde_json writes a non-finite number as `null`).
fn rounded(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

/// The machine's limits for one ISA at one thread count: the FMA peak and the DRAM read
/// bandwidth, each the best reading of its probes, taken before the section's first case and
/// again before every timed repetition of every case. The best, not the median: noise on a
/// shared host only ever slows a probe down, and a bound read too low would inflate every
/// efficiency measured against it, while a machine that changes speed for seconds at a time
/// is caught at its fast speed by one of the probes spread over the whole section.
struct Limits {
    kernel: Kernel,
    /// Steps of `fma_peak_probe` that take each thread about `PEAK_RUN_TIME`.
    iterations: usize,
    peak: f64,
    bandwidth: f64,
    probes: usize,
    /// Bytes read by one bandwidth probe.
    read_bytes: usize,
}

impl Limits {
    fn measure(kernel: Kernel, memory: &[f32]) -> Limits {
        let mut limits = Limits {
            kernel,
            iterations: probe_iterations(kernel),
            peak: 0.0,
            bandwidth: 0.0,
            probes: 0,
            read_bytes: std::mem::size_of_val(memory),
        };
        for _ in 0..FIRST_PROBES {
            limits.probe(memory);
        }
        limits
    }

    /// One FMA peak run and one DRAM read, every thread of the current pool at once.
    fn probe(&mut self, memory: &[f32]) {
        self.peak = self.peak.max(fma_peak_gflops(self.kernel, self.iterations));
        self.bandwidth = self.bandwidth.max(dram_read_gbps(memory));
        self.probes += 1;
    }

    /// The median of `REPETITIONS` runs of `measure`, each one after a probe.
    fn time(
        &mut self,
        memory: &[f32],
        mut measure: impl FnMut() -> Result<f64, Failure>,
    ) -> Result<f64, Failure> {
        let mut samples = Vec::with_capacity(REPETITIONS);
        for _ in 0..REPETITIONS {
            self.probe(memory);
            samples.push(measure()?);
        }
        samples.sort_by(f64::total_cmp);
        Ok(samples[REPETITIONS / 2])
    }

    /// Prints a section: its limits, then its table against them.
    fn report(&self, isa: Isa, threads: usize, lines: &[Line], json: bool) {
        if !json {
            println!(
                "\n{isa}, {threads} thread(s): FMA peak {:.1} GFLOP/s, DRAM read bandwidth {:.1} GB/s (measured now)",
                self.peak, self.bandwidth
            );
            println!(
                "  each the best of {} probes taken before and between the cases' repetitions, all threads started together: {} FMA chains per thread for {} ms; a {:.0} MB read",
                self.probes,
                maxsim::kernels::PEAK_PROBE_CHAINS,
                PEAK_RUN_TIME.as_millis(),
                self.read_bytes as f64 / 1e6
            );
            println!(
                "{:<9} {:<6} {:<7} {:>5} {:>8} {:>4} {:>5} {:>10} {:>8} {:>7} {:>8} {:>10}",
                "case",
                "layout",
                "storage",
                "rows",
                "doc_rows",
                "dim",
                "docs",
                "ms/query",
                "GFLOP/s",
                "GB/s",
                "bound",
                "efficiency"
            );
        }
        for line in lines {
            match line {
                Line::Case {
                    shape,
                    case,
                    docs,
                    seconds,
                } => shape.report(case, *docs, *seconds, self, json),
                Line::Text(text) if !json => println!("{text}"),
                Line::Text(_) => {}
                Line::Build(build) => build.report(self, json),
                Line::Pruned(pruned) => pruned.report(json),
            }
        }
    }
}

/// Building an index of the out-of-cache corpus, timed against scans of that index by a
/// `BUILD_SCAN_ROWS`-row query: the index pays for itself if it takes less than a few scans.
struct Build {
    isa: Isa,
    threads: usize,
    docs: usize,
    doc_rows: usize,
    dim: usize,
    seconds: f64,
    /// What the int8 sketch adds to the build (`Sketch::Int8`, the default).
    sketch_seconds: f64,
    scan_seconds: f64,
}

/// Times [`Build`]: the corpus (f32, in memory) to a `BUILD_STORAGE` index, and one scan of
/// that index by a query of `BUILD_SCAN_ROWS` rows, each the median of `REPETITIONS`.
fn build_case(
    limits: &mut Limits,
    memory: &[f32],
    rng: &mut super::demo::SplitMix,
    corpus: &Corpus<'_>,
    doc_rows: usize,
    isa: Isa,
    threads: usize,
) -> Result<Line, Failure> {
    let dim = corpus.dim();
    let mut build = |sketch| {
        limits.time(memory, || {
            let start = Instant::now();
            let index = Index::from_corpus_with(corpus, BUILD_STORAGE, sketch)?;
            let seconds = start.elapsed().as_secs_f64();
            drop(std::hint::black_box(index));
            Ok(seconds)
        })
    };
    let seconds = build(Sketch::Off)?;
    let sketch_seconds = build(Sketch::Int8)? - seconds;
    let index = Index::from_corpus_with(corpus, BUILD_STORAGE, Sketch::Off)?;
    let query = super::demo::unit_vectors(rng, BUILD_SCAN_ROWS, dim);
    let prepared = PreparedQuery::with_isa(TokenMatrix::new(&query, dim)?, isa)?;
    let scan_seconds = limits.time(memory, || timed(|| prepared.score_corpus(&index).map(drop)))?;
    Ok(Line::Build(Build {
        isa,
        threads,
        docs: corpus.len(),
        doc_rows,
        dim,
        seconds,
        sketch_seconds,
        scan_seconds,
    }))
}

impl Build {
    fn report(&self, limits: &Limits, json: bool) {
        let scans = self.seconds / self.scan_seconds;
        // Read as f32, written once in the stored type.
        let bytes = ((4 + BUILD_STORAGE.bytes()) * self.docs * self.doc_rows * self.dim) as f64;
        if json {
            let row = serde_json::json!({
                "case": "build",
                "isa": self.isa.name(),
                "threads": self.threads,
                "query_rows": BUILD_SCAN_ROWS,
                "doc_rows": self.doc_rows,
                "dim": self.dim,
                "docs": self.docs,
                "ms": rounded(self.seconds * 1e3, 6),
                "gbps": rounded(bytes / self.seconds / 1e9, 3),
                "bandwidth_gbps": rounded(limits.bandwidth, 3),
                "scan_ms": rounded(self.scan_seconds * 1e3, 6),
                "sketch_ms": rounded(self.sketch_seconds * 1e3, 6),
                "scans": rounded(scans, 4),
                "layout": "index",
                "storage": BUILD_STORAGE.name(),
            });
            println!("{row}");
        } else {
            println!(
                "  index build, f32 corpus of {} x {} x {} to {}: {:.2} ms ({:.1} GB/s read and written), {scans:.2}x one scan by a {BUILD_SCAN_ROWS}-row query ({:.2} ms); the int8 sketch adds {:.2} ms",
                self.docs,
                self.doc_rows,
                self.dim,
                BUILD_STORAGE.name(),
                self.seconds * 1e3,
                bytes / self.seconds / 1e9,
                self.scan_seconds * 1e3,
                self.sketch_seconds * 1e3
            );
        }
    }
}

/// Query rows of the pruning cases.
const PRUNE_QUERY_ROWS: [usize; 2] = [32, 10];
/// The k of the pruning cases.
const PRUNE_K: usize = 10;

/// A corpus for the pruning cases, as a bf16 index with its sketch, and its queries.
struct PruneSet {
    /// "structured" (clustered tokens, the query derived from a document) or "random" (unit
    /// vectors: the worst case, where bounds cannot prune).
    data: &'static str,
    docs: usize,
    doc_rows: usize,
    dim: usize,
    index: Index,
    /// One query per entry of `PRUNE_QUERY_ROWS`.
    queries: Vec<Vec<f32>>,
}

/// Structured and random data at each of `shapes` (documents, tokens).
fn prune_sets(shapes: &[(usize, usize)], dim: usize) -> Result<Vec<PruneSet>, Failure> {
    let mut sets = Vec::new();
    for &(docs, doc_rows) in shapes {
        for data in ["structured", "random"] {
            let (values, queries) = if data == "structured" {
                let mut generator = Synthetic::new(dim, 17);
                let values = generator.corpus(docs, doc_rows);
                let target = docs / 3;
                let page = &values[target * doc_rows * dim..(target + 1) * doc_rows * dim];
                let queries = PRUNE_QUERY_ROWS
                    .iter()
                    .map(|&rows| generator.query_for(page, rows))
                    .collect();
                (values, queries)
            } else {
                let mut rng = super::demo::SplitMix(23);
                let values = super::demo::unit_vectors(&mut rng, docs * doc_rows, dim);
                let queries = PRUNE_QUERY_ROWS
                    .iter()
                    .map(|&rows| super::demo::unit_vectors(&mut rng, rows, dim))
                    .collect();
                (values, queries)
            };
            let corpus = Corpus::from_padded(&values[..], (docs, doc_rows, dim))?;
            let index = Index::from_corpus(&corpus, Storage::Bf16)?;
            sets.push(PruneSet {
                data,
                docs,
                doc_rows,
                dim,
                index,
                queries,
            });
        }
    }
    Ok(sets)
}

impl PruneSet {
    fn name(&self) -> String {
        format!("{} {} x {}", self.data, self.docs, self.doc_rows)
    }

    /// Times the full scan's top-10 and the pruned one for each query, checking that they
    /// return the same hits.
    fn cases(
        &self,
        limits: &mut Limits,
        memory: &[f32],
        isa: Isa,
        threads: usize,
    ) -> Result<Vec<Line>, Failure> {
        let mut lines = Vec::new();
        for query in &self.queries {
            let prepared = PreparedQuery::with_isa(TokenMatrix::new(query, self.dim)?, isa)?;
            let search = |pruning| prepared.top_k_with(&self.index, PRUNE_K, pruning);
            let full = search(Pruning::Off)?;
            let pruned = search(Pruning::Auto)?;
            if full.hits != pruned.hits {
                return Err(Failure::Error(
                    format!(
                        "pruned top-{PRUNE_K} differs from the full scan's on {} data",
                        self.data
                    )
                    .into(),
                ));
            }
            let full_seconds = limits.time(memory, || timed(|| search(Pruning::Off).map(drop)))?;
            let pruned_seconds =
                limits.time(memory, || timed(|| search(Pruning::Auto).map(drop)))?;
            lines.push(Line::Pruned(Pruned {
                isa,
                threads,
                data: self.data,
                docs: self.docs,
                doc_rows: self.doc_rows,
                dim: self.dim,
                rows: query.len() / self.dim,
                full_seconds,
                pruned_seconds,
                rescored: pruned.stats.rescored,
                pruned: pruned.stats.pruned,
            }));
        }
        Ok(lines)
    }
}

/// One pruning case: the full scan's top-10 and the pruned one, on the same index and query.
struct Pruned {
    isa: Isa,
    threads: usize,
    data: &'static str,
    docs: usize,
    doc_rows: usize,
    dim: usize,
    rows: usize,
    full_seconds: f64,
    pruned_seconds: f64,
    /// Documents the pruned search scored exactly.
    rescored: usize,
    /// Whether the bounds pruned (else the guard fell back to the full scan).
    pruned: bool,
}

impl Pruned {
    fn report(&self, json: bool) {
        let speedup = self.full_seconds / self.pruned_seconds;
        if json {
            for (pruning, seconds, rescored) in [
                ("full", self.full_seconds, self.docs),
                ("pruned", self.pruned_seconds, self.rescored),
            ] {
                let row = serde_json::json!({
                    "case": "top10",
                    "isa": self.isa.name(),
                    "threads": self.threads,
                    "query_rows": self.rows,
                    "doc_rows": self.doc_rows,
                    "dim": self.dim,
                    "docs": self.docs,
                    "ms_per_query": rounded(seconds * 1e3, 6),
                    "layout": "index",
                    "storage": "bf16",
                    "data": self.data,
                    "pruning": pruning,
                    "rescored": rescored,
                    "speedup": rounded(self.full_seconds / seconds, 4),
                });
                println!("{row}");
            }
        } else {
            println!(
                "  pruned top-{PRUNE_K}, {} {} x {} x {}, {} rows: full scan {:.3} ms, pruned {:.3} ms ({speedup:.2}x), {} of {} documents rescored{}, same hits",
                self.data,
                self.docs,
                self.doc_rows,
                self.dim,
                self.rows,
                self.full_seconds * 1e3,
                self.pruned_seconds * 1e3,
                self.rescored,
                self.docs,
                if self.pruned { "" } else { " (the guard fell back to the full scan)" },
            );
        }
    }
}

/// Seconds per call of `work`, repeated for at least `RESIDENT_TIME`: for work on data that
/// stays in cache.
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

/// Runs `work(thread index)` once on every thread of the current pool at once, and returns
/// the seconds from the first thread's start to the last thread's end. The threads wait for
/// each other spinning, not asleep (a sleeping thread can take milliseconds to wake on a
/// virtual machine), and each reads the clock itself once all have arrived, so the pool's
/// start-up is outside the span; a late thread can only lengthen the span, never shorten it.
fn concurrent_span(work: impl Fn(usize) + Sync) -> f64 {
    let threads = rayon::current_num_threads();
    let arrived = AtomicUsize::new(0);
    let spans = rayon::broadcast(|context| {
        arrived.fetch_add(1, Ordering::AcqRel);
        let mut spins = 0u32;
        while arrived.load(Ordering::Acquire) < threads {
            spins = spins.wrapping_add(1);
            if spins.is_multiple_of(4096) {
                // More threads than cores: let the others arrive.
                std::thread::yield_now();
            } else {
                std::hint::spin_loop();
            }
        }
        let start = Instant::now();
        work(context.index());
        (start, Instant::now())
    });
    let first = spans.iter().map(|&(start, _)| start).min();
    let last = spans.iter().map(|&(_, end)| end).max();
    match (first, last) {
        (Some(first), Some(last)) => last.duration_since(first).as_secs_f64(),
        _ => f64::NAN,
    }
}

/// Steps of this ISA's `fma_peak_probe` that take about `PEAK_RUN_TIME` on this thread now.
fn probe_iterations(kernel: Kernel) -> usize {
    let mut iterations = 1usize << 10;
    loop {
        let start = Instant::now();
        std::hint::black_box(kernel.fma_peak_probe(std::hint::black_box(iterations)));
        let took = start.elapsed();
        if took >= PEAK_RUN_TIME / 8 || iterations > usize::MAX / 64 {
            let scale = PEAK_RUN_TIME.as_secs_f64() / took.as_secs_f64().max(1e-9);
            return ((iterations as f64 * scale) as usize).max(1);
        }
        iterations *= 2;
    }
}

/// GFLOP/s of one run of `iterations` steps of independent FMA chains on this ISA, on every
/// thread of the current pool at once.
fn fma_peak_gflops(kernel: Kernel, iterations: usize) -> f64 {
    let span = concurrent_span(|_| {
        std::hint::black_box(kernel.fma_peak_probe(std::hint::black_box(iterations)));
    });
    let flops = (kernel.probe_flops(iterations) * rayon::current_num_threads()) as f64;
    flops / span / 1e9
}

/// A buffer for `dram_read_gbps`: `floats`, and at least 256 MiB, so it does not fit in cache.
fn dram_buffer(floats: usize) -> Vec<f32> {
    (0..floats.max(64 << 20)).map(|i| (i % 7) as f32).collect()
}

/// Read bandwidth from DRAM, in GB/s, of one read of `buffer` by every thread of the current
/// pool at once, each summing its share. Portable SIMD (`wide`) suffices: the loop is bound by
/// memory, not by adds.
fn dram_read_gbps(buffer: &[f32]) -> f64 {
    let share = buffer.len().div_ceil(rayon::current_num_threads());
    let span = concurrent_span(|index| {
        let part = buffer.chunks(share).nth(index).unwrap_or(&[]);
        std::hint::black_box(sum(std::hint::black_box(part)));
    });
    std::mem::size_of_val(buffer) as f64 / span / 1e9
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
            let row = serde_json::json!({
                "case": "tiny",
                "isa": isa.name(),
                "threads": 1,
                "query_rows": rows,
                "doc_rows": doc_rows,
                "dim": dim,
                "docs": 1,
                "ns_per_score": rounded(ns[0], 2),
                "scalar_ns_per_score": rounded(ns[1], 2),
                "layout": "rows",
                "storage": "f32",
            });
            println!("{row}");
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
