//! `maxsim score`: one score per document of `.npy` embeddings.

use std::io::{self, BufWriter, Write};
use std::path::Path;

use maxsim::npy::{self, Documents};
use maxsim::{Error, PreparedQuery, TokenMatrix};

use super::{args::Args, chosen_isa, Failure};

pub fn run(args: Args) -> Result<(), Failure> {
    let query_path = Path::new(args.required("query")?);
    let docs_path = Path::new(args.required("docs")?);
    let isa = chosen_isa(&args)?;

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
    let docs = Documents::from_npy(
        npy::read_f32_file(docs_path)?,
        lengths.as_deref(),
        &docs_source,
    )?;
    if docs.dim() != dim {
        return Err(Error::DimMismatch {
            query_dim: dim,
            doc_dim: docs.dim(),
        }
        .into());
    }

    let query = PreparedQuery::with_isa(TokenMatrix::new(&query.data, dim)?, isa)?;
    let mut out = BufWriter::new(io::stdout().lock());
    for doc in docs.iter() {
        let score = query.score(doc)?;
        if let Err(e) = writeln!(out, "{score:?}") {
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
