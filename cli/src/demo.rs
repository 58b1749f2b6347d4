//! The main job on an embedded default: the seed's scale, 500 page images of 1038 token
//! vectors of dim 128 (structured synthetic data: clustered tokens with Zipf frequencies),
//! reranked for a query of 32 tokens and one of 10, each derived from a page; then the same
//! pages as a bf16 index, searched for the top 10 with pruning.

use std::time::Instant;

use maxsim::synthetic::Synthetic;
use maxsim::{Corpus, Index, Isa, PreparedQuery, Pruning, Storage, TokenMatrix};

use super::args::DemoArgs;
use super::out::{outln, Out};
use super::progress::Progress;
use super::{chosen_isa, system, thread_pool, Failure};

/// Timed repetitions of each full rerank; the median is reported.
const REPETITIONS: usize = 5;
/// Pages whose dispatched scores are compared with the scalar reference.
const CHECKED_PAGES: usize = 8;

pub fn run(args: DemoArgs) -> Result<(), Failure> {
    let DemoArgs {
        pages,
        doc_rows,
        dim,
        seed,
        run,
    } = args;
    let isa = chosen_isa(run.isa)?;
    let mut out = Out::eager();

    outln!(
        out,
        "maxsim demo: {pages} pages x {doc_rows} tokens x dim {dim}, structured synthetic data (clustered tokens with Zipf frequencies, seed {seed})"
    )?;
    outln!(
        out,
        "cpu: {} ({})",
        system::cpu_model(),
        std::env::consts::ARCH
    )?;
    outln!(
        out,
        "ISAs this CPU runs: {}; dispatched: {isa} ({} query rows per register)",
        system::isa_names(&maxsim::supported_isas()),
        isa.lanes()
    )?;

    let mut rng = SplitMix(seed);
    let mut generator = Synthetic::new(dim, seed);
    let started = Instant::now();
    let corpus = structured_pages(&mut generator, pages, doc_rows);
    outln!(
        out,
        "corpus: {:.1} MB generated in {:.2} s",
        (corpus.len() * 4) as f64 / 1e6,
        started.elapsed().as_secs_f64()
    )?;
    let pages_corpus = Corpus::from_padded(&corpus[..], (pages, doc_rows, dim))?;
    let page = |p: usize| {
        pages_corpus
            .get(p)
            .ok_or_else(|| Failure::Error(format!("no page {p}").into()))
    };
    let pool = thread_pool(run.threads.unwrap_or(0))?;
    outln!(out, "threads: {}", pool.current_num_threads())?;
    let started = Instant::now();
    let index = pool.install(|| Index::from_corpus(&pages_corpus, Storage::Bf16))?;
    outln!(
        out,
        "index: bf16 with the int8 sketch, {:.1} MB, built in {:.2} s",
        (index.data_bytes() + index.sketch_bytes()) as f64 / 1e6,
        started.elapsed().as_secs_f64()
    )?;

    for query_rows in [32, 10] {
        // Each query is derived from one page (its tokens, perturbed, some replaced by other
        // words), which should rank first.
        let planted = (rng.next() % pages as u64) as usize;
        let query = generator.query_for(
            &corpus[planted * doc_rows * dim..(planted + 1) * doc_rows * dim],
            query_rows,
        );
        let query = TokenMatrix::new(&query, dim)?;
        let prepared = PreparedQuery::with_isa(query, isa)?;

        let mut scores = vec![0.0f32; pages];
        let mut times = Vec::with_capacity(REPETITIONS);
        for _ in 0..REPETITIONS {
            let start = Instant::now();
            pool.install(|| prepared.score_corpus_into(&pages_corpus, &mut scores))?;
            times.push(start.elapsed().as_secs_f64());
        }
        times.sort_by(f64::total_cmp);
        let seconds = times[REPETITIONS / 2];
        let flops = 2.0 * (query_rows * doc_rows * dim * pages) as f64;

        let mut ranked: Vec<usize> = (0..pages).collect();
        ranked.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));

        outln!(out)?;
        outln!(
            out,
            "query of {query_rows} tokens (derived from page {planted}):"
        )?;
        outln!(
            out,
            "  time per query: {:.3} ms (median of {REPETITIONS}), {:.0} docs/s, {:.1} GFLOP/s",
            seconds * 1e3,
            pages as f64 / seconds,
            flops / seconds / 1e9
        )?;
        let top: Vec<String> = ranked
            .iter()
            .take(5)
            .map(|&p| format!("page {p} ({:.4})", scores[p]))
            .collect();
        outln!(out, "  top 5: {}", top.join(", "))?;
        outln!(
            out,
            "  its page ranked: {}",
            ranked
                .iter()
                .position(|&p| p == planted)
                .map_or(0, |r| r + 1)
        )?;

        let reference = PreparedQuery::with_isa(query, Isa::Scalar)?;
        let sample = sample_pages(&ranked, CHECKED_PAGES);
        let mut mismatches = 0;
        for &p in &sample {
            if reference.score(page(p)?)?.to_bits() != scores[p].to_bits() {
                mismatches += 1;
            }
        }
        outln!(
            out,
            "  bit-identical to the scalar reference on {} sampled pages: {}",
            sample.len(),
            if mismatches == 0 {
                "yes".to_string()
            } else {
                format!("NO, {mismatches} differ")
            }
        )?;
        if mismatches != 0 {
            return Err(Failure::Error(
                format!("{isa} scores differ from the scalar reference on {mismatches} pages")
                    .into(),
            ));
        }

        // The top 10 on the bf16 index: pruned, against every page scored.
        let search = |pruning| pool.install(|| prepared.top_k_with(&index, 10, pruning));
        let full = search(Pruning::Off)?;
        let mut times = Vec::with_capacity(REPETITIONS);
        let mut pruned = full.clone();
        for _ in 0..REPETITIONS {
            let start = Instant::now();
            pruned = search(Pruning::Auto)?;
            times.push(start.elapsed().as_secs_f64());
        }
        times.sort_by(f64::total_cmp);
        let same = pruned.hits == full.hits;
        outln!(
            out,
            "  top 10 on the bf16 index, pruned: {:.3} ms (median of {REPETITIONS}), {} of {pages} pages scored exactly; the same hits as scoring every page: {}",
            times[REPETITIONS / 2] * 1e3,
            pruned.stats.rescored,
            if same { "yes" } else { "NO" }
        )?;
        if !same {
            return Err(Failure::Error(
                "the pruned top 10 differs from the full scan's".into(),
            ));
        }
    }
    out.finish()
}

/// The top pages and some spread through the ranking, without repeats.
fn sample_pages(ranked: &[usize], count: usize) -> Vec<usize> {
    let step = (ranked.len() / count).max(1);
    let mut sample: Vec<usize> = ranked.iter().take(2).copied().collect();
    sample.extend(ranked.iter().step_by(step).copied());
    sample.sort_unstable();
    sample.dedup();
    sample.truncate(count);
    sample
}

/// `pages` structured pages of `doc_rows` tokens, with a progress bar (on a terminal).
fn structured_pages(generator: &mut Synthetic, pages: usize, doc_rows: usize) -> Vec<f32> {
    let progress = Progress::new(pages as u64, "generating the corpus");
    let mut data = Vec::with_capacity(pages * doc_rows * generator.dim());
    for _ in 0..pages {
        data.extend(generator.document(doc_rows));
        progress.inc(1);
    }
    data
}

pub fn unit_vectors(rng: &mut SplitMix, rows: usize, dim: usize) -> Vec<f32> {
    let mut data: Vec<f32> = (0..rows * dim).map(|_| rng.unit()).collect();
    data.chunks_exact_mut(dim).for_each(normalize);
    data
}

fn normalize(row: &mut [f32]) {
    let norm = row.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        row.iter_mut().for_each(|x| *x /= norm);
    }
}

/// SplitMix64: small, fast and reproducible everywhere.
pub struct SplitMix(pub u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [-1, 1).
    fn unit(&mut self) -> f32 {
        ((self.next() >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
}
