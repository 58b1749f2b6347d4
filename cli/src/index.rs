//! `maxsim index`: documents from `.npy` files rearranged once into an index file that `score
//! --index` and `search --index` load with one read.

use std::io::Write;
use std::time::Instant;

use maxsim::{Index, Sketch};

use super::args::IndexArgs;
use super::progress::Progress;
use super::score::read_corpus;
use super::{thread_pool, Failure};

/// Reads the documents, rearranges them into blocks of `--dtype` values, writes the index
/// atomically (a reader never sees a partial file) and prints a one-line summary to standard
/// error. Progress shows on a terminal only.
pub fn run(args: IndexArgs) -> Result<(), Failure> {
    let IndexArgs {
        docs,
        lengths,
        dtype,
        out,
        no_sketch,
        threads,
    } = args;
    let start = Instant::now();
    let corpus = {
        let size = std::fs::metadata(&docs).map_or(0, |meta| meta.len());
        let progress = Progress::new(size, "reading the documents");
        read_corpus(&docs, lengths.as_deref(), Some(&progress))?
    };
    let progress = Progress::new(2, format!("indexing as {}", dtype.name()));
    let sketch = if no_sketch { Sketch::Off } else { Sketch::Int8 };
    let index = thread_pool(threads.unwrap_or(0))?
        .install(|| Index::from_corpus_with(&corpus, dtype, sketch))?;
    drop(corpus);
    progress.inc(1);
    progress.set_message(format!("writing {}", out.display()));
    index.save(&out)?;
    progress.inc(1);
    drop(progress);
    let bytes = std::fs::metadata(&out).map_or(index.data_bytes() as u64, |meta| meta.len());
    // The summary is a side note: a closed standard error does not make the index fail.
    let _ = writeln!(
        std::io::stderr(),
        "maxsim: indexed {} documents ({} token rows, dim {}) as {}{}: {bytes} bytes in {:.3} s, written to {}",
        index.len(),
        index.total_rows(),
        index.dim(),
        index.storage().name(),
        if index.has_sketch() { " with the int8 sketch" } else { "" },
        start.elapsed().as_secs_f64(),
        out.display()
    );
    Ok(())
}
