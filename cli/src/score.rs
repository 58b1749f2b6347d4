//! `maxsim score` and `maxsim search`: a query scored on all cores against `.npy` embeddings or
//! an index file written by `maxsim index`.

use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::Path;
use std::time::Instant;

use maxsim::{npy, Corpus, Documents, Error, Index, PreparedQuery, Pruning, TokenMatrix};

use super::args::{InputArgs, RunArgs, ScoreArgs, SearchArgs};
use super::out::{outln, Out};
use super::progress::Progress;
use super::{chosen_isa, thread_pool, Failure};

/// One score per document, one per line. With `--repeat R`, the scoring (not the reading)
/// runs R times and the median time goes to standard error, for timing against other tools.
pub fn run_score(args: ScoreArgs) -> Result<(), Failure> {
    let ScoreArgs { input, repeat, run } = args;
    let (query, docs) = load(&input, &run)?;
    let scores = match &docs {
        Docs::Corpus(corpus) => score(&query, corpus, corpus.total_rows(), repeat, &run)?,
        Docs::Index(index) => score(&query, index, index.total_rows(), repeat, &run)?,
    };
    let mut out = Out::buffered();
    for score in &scores {
        outln!(out, "{score:?}")?;
    }
    out.finish()
}

/// The `--k` best documents as `index<TAB>score` lines, best first. With `--repeat R`, as for
/// `score`.
pub fn run_search(args: SearchArgs) -> Result<(), Failure> {
    let SearchArgs {
        input,
        k,
        repeat,
        no_prune,
        stats,
        run,
    } = args;
    let (query, docs) = load(&input, &run)?;
    let pruning = if no_prune {
        Pruning::Off
    } else {
        Pruning::Auto
    };
    let search = Search {
        k,
        repeat,
        pruning,
        stats,
    };
    let hits = match &docs {
        Docs::Corpus(corpus) => search.run(&query, corpus, corpus.total_rows(), &run)?,
        Docs::Index(index) => search.run(&query, index, index.total_rows(), &run)?,
    };
    let mut out = Out::buffered();
    for hit in &hits {
        outln!(out, "{}\t{:?}", hit.index, hit.score)?;
    }
    out.finish()
}

fn score<D: Documents>(
    query: &PreparedQuery,
    docs: &D,
    total_rows: usize,
    repeat: usize,
    run: &RunArgs,
) -> Result<Vec<f32>, Failure> {
    let mut scores = vec![0.0f32; docs.len()];
    let ((), median, threads) = timed(run, repeat, || query.score_corpus_into(docs, &mut scores))?;
    if repeat > 1 {
        report_time(format_args!(
            "scored {} documents ({} token rows) in {:.3} ms (median of {repeat}, {}, {threads} threads)",
            docs.len(),
            total_rows,
            median * 1e3,
            query.isa(),
        ));
    }
    Ok(scores)
}

/// What `search` does: the best `k`, timed `repeat` times, pruned or not, with or without
/// statistics.
struct Search {
    k: usize,
    repeat: usize,
    pruning: Pruning,
    stats: bool,
}

impl Search {
    fn run<D: Documents>(
        &self,
        query: &PreparedQuery,
        docs: &D,
        total_rows: usize,
        run: &RunArgs,
    ) -> Result<Vec<maxsim::Hit>, Failure> {
        let (k, repeat) = (self.k, self.repeat);
        let (found, median, threads) =
            timed(run, repeat, || query.top_k_with(docs, k, self.pruning))?;
        if repeat > 1 {
            report_time(format_args!(
                "searched {} documents ({} token rows) for the best {k} in {:.3} ms (median of {repeat}, {}, {threads} threads)",
                docs.len(),
                total_rows,
                median * 1e3,
                query.isa(),
            ));
        }
        if self.stats {
            let stats = found.stats;
            report_time(format_args!(
                "{} of {} documents scored exactly ({}), {} screened",
                stats.rescored,
                stats.documents,
                if stats.pruned {
                    "pruned by the sketch's bounds"
                } else {
                    "full scan"
                },
                stats.screened,
            ));
        }
        Ok(found.hits)
    }
}

/// Runs `work` `repeat` times (at least once) on the `--threads` pool: the last result, the
/// median time in seconds, and the pool's thread count.
fn timed<T: Send>(
    run: &RunArgs,
    repeat: usize,
    mut work: impl FnMut() -> Result<T, Error> + Send,
) -> Result<(T, f64, usize), Failure> {
    let (result, threads) = in_pool(run, || {
        let mut once = || {
            let start = Instant::now();
            work().map(|value| (value, start.elapsed().as_secs_f64()))
        };
        let result = once().and_then(|(mut value, first)| {
            let mut times = vec![first];
            for _ in 1..repeat {
                let (next, time) = once()?;
                value = next;
                times.push(time);
            }
            times.sort_by(f64::total_cmp);
            Ok((value, times[times.len() / 2]))
        });
        (result, rayon::current_num_threads())
    })?;
    let (value, median) = result?;
    Ok((value, median, threads))
}

/// A timing line on standard error. Timing is a side note: a closed standard error does not
/// stop the results.
fn report_time(line: std::fmt::Arguments<'_>) {
    let _ = writeln!(std::io::stderr(), "maxsim: {line}");
}

/// What a query is scored against: documents read from `.npy` files, or a loaded index.
enum Docs {
    Corpus(Corpus<'static>),
    Index(Index),
}

fn load(input: &InputArgs, run: &RunArgs) -> Result<(PreparedQuery, Docs), Failure> {
    let isa = chosen_isa(run.isa)?;

    let query = npy::read_f32_file(&input.query)?;
    let &[_, dim] = query.shape.as_slice() else {
        return Err(Error::Format {
            source: input.query.display().to_string(),
            message: format!(
                "the query must be 2-D (n, dim), got shape {:?}",
                query.shape
            ),
        }
        .into());
    };
    let (docs, doc_dim) = match (&input.index, &input.docs) {
        (Some(path), _) => {
            let index = Index::load(path)?;
            let doc_dim = index.dim();
            (Docs::Index(index), doc_dim)
        }
        (None, Some(path)) => {
            let corpus = read_corpus(path, input.lengths.as_deref(), None)?;
            let doc_dim = corpus.dim();
            (Docs::Corpus(corpus), doc_dim)
        }
        // clap requires one of the two.
        (None, None) => return Err(Failure::Error("--docs or --index is required".into())),
    };
    if doc_dim != dim {
        return Err(Error::DimMismatch {
            query_dim: dim,
            doc_dim,
        }
        .into());
    }
    let query = PreparedQuery::with_isa(TokenMatrix::new(&query.data, dim)?, isa)?;
    Ok((query, docs))
}

/// Documents from `.npy` files: float32 or float16 tokens, `(total_rows, dim)` with lengths
/// or `(num_docs, rows, dim)` padded with optional lengths. The documents' bytes advance
/// `progress`, if given, as they are read.
pub fn read_corpus(
    docs: &Path,
    lengths: Option<&Path>,
    progress: Option<&Progress>,
) -> Result<Corpus<'static>, Failure> {
    let lengths = match lengths {
        Some(path) => Some(npy::read_lengths_file(path)?),
        None => None,
    };
    let source = docs.display().to_string();
    let file = File::open(docs).map_err(|e| Error::Io {
        source: source.clone(),
        message: e.to_string(),
    })?;
    let reader = Counted {
        inner: BufReader::new(file),
        progress,
    };
    let corpus = npy::corpus(
        npy::read_floats(reader, &source)?,
        lengths.as_deref(),
        &source,
    )?;
    Ok(corpus)
}

/// A reader that advances a progress bar by the bytes it reads.
struct Counted<'p, R> {
    inner: R,
    progress: Option<&'p Progress>,
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buf)?;
        if let Some(progress) = self.progress {
            progress.inc(read as u64);
        }
        Ok(read)
    }
}

/// Runs `work` on a pool of `--threads` threads (default: all cores).
pub fn in_pool<T: Send>(run: &RunArgs, work: impl FnOnce() -> T + Send) -> Result<T, Failure> {
    Ok(thread_pool(run.threads.unwrap_or(0))?.install(work))
}
