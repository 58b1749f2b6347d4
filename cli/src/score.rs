//! `maxsim score` and `maxsim search`: `.npy` embeddings scored on all cores.

use std::io::{self, BufWriter, Write};
use std::path::Path;

use maxsim::{npy, Corpus, Error, PreparedQuery, TokenMatrix};

use super::{args::Args, chosen_isa, thread_pool, Failure};

/// One score per document, one per line. With `--repeat R`, the scoring (not the reading)
/// runs R times and the median time goes to standard error, for timing against other tools.
pub fn run_score(args: Args) -> Result<(), Failure> {
    let (query, corpus) = load(&args)?;
    let repeat: usize = args.number("repeat", 1)?;
    let mut scores = vec![0.0f32; corpus.len()];
    let (times, threads) = in_pool(&args, || {
        let times = (0..repeat.max(1))
            .map(|_| {
                let start = std::time::Instant::now();
                query
                    .score_corpus_into(&corpus, &mut scores)
                    .map(|()| start.elapsed().as_secs_f64())
            })
            .collect::<Result<Vec<f64>, _>>();
        (times, rayon::current_num_threads())
    })?;
    let mut times = times?;
    if repeat > 1 {
        times.sort_by(f64::total_cmp);
        eprintln!(
            "maxsim: scored {} documents ({} token rows) in {:.3} ms (median of {repeat}, {}, {} threads)",
            corpus.len(),
            corpus.total_rows(),
            times[times.len() / 2] * 1e3,
            query.isa(),
            threads
        );
    }
    print_lines(scores.iter().map(|score| format!("{score:?}")))
}

/// The `--k` best documents as `index<TAB>score` lines, best first.
pub fn run_search(args: Args) -> Result<(), Failure> {
    let k: usize = args.number("k", 10)?;
    let (query, corpus) = load(&args)?;
    let hits = in_pool(&args, || query.top_k(&corpus, k))??;
    print_lines(
        hits.iter()
            .map(|hit| format!("{}\t{:?}", hit.index, hit.score)),
    )
}

fn load(args: &Args) -> Result<(PreparedQuery, Corpus<'static>), Failure> {
    let query_path = Path::new(args.required("query")?);
    let docs_path = Path::new(args.required("docs")?);
    let isa = chosen_isa(args)?;

    let query = npy::read_f32_file(query_path)?;
    let &[_, dim] = query.shape.as_slice() else {
        return Err(Error::Format {
            source: query_path.display().to_string(),
            message: format!(
                "the query must be 2-D (n, dim), got shape {:?}",
                query.shape
            ),
        }
        .into());
    };
    let lengths = match args.get("lengths") {
        Some(path) => Some(npy::read_lengths_file(Path::new(path))?),
        None => None,
    };
    let docs_source = docs_path.display().to_string();
    let corpus = npy::corpus(
        npy::read_f32_file(docs_path)?,
        lengths.as_deref(),
        &docs_source,
    )?;
    if corpus.dim() != dim {
        return Err(Error::DimMismatch {
            query_dim: dim,
            doc_dim: corpus.dim(),
        }
        .into());
    }
    let query = PreparedQuery::with_isa(TokenMatrix::new(&query.data, dim)?, isa)?;
    Ok((query, corpus))
}

/// Runs `work` on a pool of `--threads` threads (default: all cores).
pub fn in_pool<T: Send>(args: &Args, work: impl FnOnce() -> T + Send) -> Result<T, Failure> {
    Ok(thread_pool(args.number("threads", 0)?)?.install(work))
}

fn print_lines(lines: impl Iterator<Item = String>) -> Result<(), Failure> {
    let mut out = BufWriter::new(io::stdout().lock());
    for line in lines {
        if let Err(e) = writeln!(out, "{line}") {
            return quiet_on_broken_pipe(e);
        }
    }
    out.flush().or_else(quiet_on_broken_pipe)
}

/// A reader that stopped reading (`| head`) is not an error.
fn quiet_on_broken_pipe(e: io::Error) -> Result<(), Failure> {
    if e.kind() == io::ErrorKind::BrokenPipe {
        Ok(())
    } else {
        Err(e.into())
    }
}
