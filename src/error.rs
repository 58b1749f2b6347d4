use std::fmt;

use crate::Isa;

/// Everything that can go wrong in `maxsim`. Messages name the sizes that disagree.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A token matrix was given `dim == 0`.
    ZeroDim,
    /// A buffer of `len` floats is not a whole number of rows of `dim`.
    RaggedData {
        /// Number of `f32` in the buffer.
        len: usize,
        /// The row width asked for.
        dim: usize,
    },
    /// A byte buffer's length is not a whole number of `f32`.
    ByteLength {
        /// Length of the buffer in bytes.
        len: usize,
    },
    /// A byte buffer does not start at a 4-byte boundary, so it cannot be viewed as `f32`
    /// without a copy ([`crate::TokenMatrixBuf::from_bytes_copied`] takes any alignment).
    Misaligned {
        /// The start address modulo 4.
        offset: usize,
    },
    /// A row of `len` floats was given where rows of `dim` were expected.
    RowLength {
        /// Index of the offending row.
        row: usize,
        /// Its length.
        len: usize,
        /// The expected row width.
        dim: usize,
    },
    /// The query and the document have different dimensions.
    DimMismatch {
        /// The query's dimension.
        query_dim: usize,
        /// The document's dimension.
        doc_dim: usize,
    },
    /// An output buffer has the wrong length.
    OutputLength {
        /// The length needed (one per query row).
        expected: usize,
        /// The length given.
        actual: usize,
    },
    /// A matrix is too large to pack (its size overflows `usize`).
    TooLarge {
        /// Rows asked for.
        rows: usize,
        /// Dimension asked for.
        dim: usize,
    },
    /// The operating system would not start the threads asked for ([`crate::Scorer`]).
    ThreadPool {
        /// What the thread pool builder said.
        message: String,
    },
    /// Corpus offsets or lengths disagree with each other or with the data.
    CorpusLayout {
        /// Which numbers disagree.
        message: String,
    },
    /// Query-row weights or a mask of the wrong length, or a weight that is not finite.
    Weights {
        /// What is wrong.
        message: String,
    },
    /// A kernel was asked for that this CPU does not run.
    UnsupportedIsa {
        /// The ISA asked for.
        isa: Isa,
        /// The ISAs this CPU does run.
        supported: Vec<Isa>,
    },
    /// An ISA name (from `MAXSIM_ISA` or `--isa`) that is not one of `scalar`, `avx2`,
    /// `avx512`, `neon`.
    UnknownIsa {
        /// The name given.
        name: String,
    },
    /// `MAXSIM_ISA` names an ISA of another architecture, so it cannot cap this one.
    ForeignIsa {
        /// The ISA named.
        isa: Isa,
        /// This machine's architecture.
        arch: &'static str,
    },
    /// A `.npy` file (or other input file) is malformed, truncated or does not fit.
    Format {
        /// Which input, usually a path.
        source: String,
        /// What is wrong with it.
        message: String,
    },
    /// Reading an input failed.
    Io {
        /// Which input, usually a path.
        source: String,
        /// The operating system's message.
        message: String,
    },
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::ZeroDim => write!(f, "token dimension must be at least 1, got 0"),
            Error::RaggedData { len, dim } => write!(
                f,
                "{len} floats is not a whole number of rows of dim {dim} ({} rows and {} left over)",
                len / dim,
                len % dim
            ),
            Error::ByteLength { len } => write!(
                f,
                "{len} bytes is not a whole number of 4-byte f32 values ({} left over)",
                len % 4
            ),
            Error::Misaligned { offset } => write!(
                f,
                "byte buffer starts {offset} byte(s) past a 4-byte boundary, so it cannot be \
                 viewed as f32 in place; copy it with TokenMatrixBuf::from_bytes_copied"
            ),
            Error::RowLength { row, len, dim } => {
                write!(f, "row {row} has {len} floats, expected dim {dim}")
            }
            Error::DimMismatch { query_dim, doc_dim } => write!(
                f,
                "query has dim {query_dim} but document has dim {doc_dim}"
            ),
            Error::OutputLength { expected, actual } => write!(
                f,
                "output buffer holds {actual} floats, expected one per query row: {expected}"
            ),
            Error::TooLarge { rows, dim } => {
                write!(f, "a matrix of {rows} rows of dim {dim} does not fit in memory")
            }
            Error::UnsupportedIsa { isa, supported } => {
                write!(f, "this CPU cannot run the {isa} kernel; it supports: ")?;
                write_isa_list(f, supported)
            }
            Error::UnknownIsa { name } => write!(
                f,
                "unknown ISA {name:?}: expected one of scalar, avx2, avx512, neon"
            ),
            Error::ForeignIsa { isa, arch } => write!(
                f,
                "{} names the {isa} kernel, which does not exist on {arch}",
                crate::ISA_ENV
            ),
            Error::CorpusLayout { message } => write!(f, "corpus layout: {message}"),
            Error::ThreadPool { message } => write!(f, "cannot start the threads: {message}"),
            Error::Weights { message } => write!(f, "query weights: {message}"),
            Error::Format { source, message } => write!(f, "{source}: {message}"),
            Error::Io { source, message } => write!(f, "{source}: {message}"),
        }
    }
}

fn write_isa_list(f: &mut fmt::Formatter<'_>, isas: &[Isa]) -> fmt::Result {
    for (i, isa) in isas.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{isa}")?;
    }
    Ok(())
}

impl std::error::Error for Error {}
