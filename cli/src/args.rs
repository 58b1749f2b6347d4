//! The command line, declared with clap: each command's options, their defaults and help.

use std::path::PathBuf;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{ArgGroup, Args, Parser, Subcommand};
use maxsim::{Isa, Storage};

/// Exact ColBERT / ColPali MaxSim scoring with SIMD kernels chosen at runtime.
///
/// Without a command, maxsim runs the demo (`maxsim --pages 3` is `maxsim demo --pages 3`).
#[derive(Parser)]
#[command(
    name = "maxsim",
    version,
    args_conflicts_with_subcommands = true,
    after_help = "\
An ISA is one of scalar, avx2, avx512, neon; forcing one this CPU lacks is an error. Without
--isa, commands dispatch to the best ISA this CPU runs, capped by the environment variable
MAXSIM_ISA (for example MAXSIM_ISA=avx2) if it is set."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// The demo's options, for `maxsim` without a command.
    #[command(flatten)]
    pub demo: DemoArgs,
}

#[derive(Subcommand)]
pub enum Command {
    /// Score seeded synthetic pages (the default command)
    ///
    /// Score seeded synthetic pages (by default the seed's 500 pages x 1038 tokens x 128 dims)
    /// with queries of 32 and 10 tokens; print timing, the top 5 pages and a check that the
    /// scores are bit-identical to the scalar reference.
    Demo(DemoArgs),
    /// Print one score per document, one per line
    ///
    /// Print one MaxSim score per document, one per line, in document order, each in its
    /// shortest round-trip form (an empty document scores -inf).
    Score(ScoreArgs),
    /// Print the K best documents as index<TAB>score lines, best first
    ///
    /// Print the K best documents as index<TAB>score lines, best first; ties go to the lower
    /// index.
    Search(SearchArgs),
    /// Write documents as an index file that `score --index` and `search --index` load
    ///
    /// Rearrange documents once into an index file stored as f32, f16 or bf16 (half the
    /// bytes), for `score --index` and `search --index` to load with one read. Scores over an
    /// index are exactly those of its documents rounded to the storage type: with f32, the
    /// same as `score --docs`.
    Index(IndexArgs),
    /// Print the ISAs this CPU runs and the one dispatched
    Isa,
    /// Measure the kernels against this CPU's FMA peak and DRAM bandwidth
    ///
    /// Per thread count, measure the FMA peak and DRAM bandwidth, then time a cache-resident
    /// corpus, the out-of-cache corpus, its top 10, and a batch of queries against single ones,
    /// row-major and as an index stored in f32, f16 and bf16 (and the index's build), with
    /// efficiency against those bounds.
    Bench(BenchArgs),
}

#[derive(Args)]
pub struct DemoArgs {
    /// Synthetic pages to score
    #[arg(long, value_name = "N", default_value_t = 500, value_parser = at_least_one)]
    pub pages: usize,
    /// Tokens per page
    #[arg(long, value_name = "M", default_value_t = 1038, value_parser = at_least_one)]
    pub doc_rows: usize,
    /// Token dimension
    #[arg(long, value_name = "D", default_value_t = 128, value_parser = at_least_one)]
    pub dim: usize,
    /// Seed of the synthetic pages and queries
    #[arg(long, value_name = "S", default_value_t = 42)]
    pub seed: u64,
    #[command(flatten)]
    pub run: RunArgs,
}

/// The kernel and the threads a scoring command runs on.
#[derive(Args)]
pub struct RunArgs {
    /// Force this ISA's kernel [default: the best this CPU runs, capped by MAXSIM_ISA]
    #[arg(long, value_name = "ISA", value_parser = isa_parser())]
    pub isa: Option<Isa>,
    /// Threads to score on; 0 means all cores [default: all cores]
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

/// The query and the documents (`.npy` files or an index file) it is scored against.
#[derive(Args)]
#[command(group(ArgGroup::new("documents").required(true).args(["docs", "index"])))]
pub struct InputArgs {
    /// The query: float32, shape (n, dim)
    #[arg(long, value_name = "Q.npy", value_parser = clap::value_parser!(PathBuf))]
    pub query: PathBuf,
    /// The documents: float32 or float16, (total_rows, dim) with --lengths, or (num_docs,
    /// rows, dim) padded, with optional --lengths
    #[arg(long, value_name = "D.npy", value_parser = clap::value_parser!(PathBuf))]
    pub docs: Option<PathBuf>,
    /// Rows of each document: int32 or int64, shape (num_docs,)
    #[arg(long, value_name = "L.npy", value_parser = clap::value_parser!(PathBuf))]
    pub lengths: Option<PathBuf>,
    /// An index file written by `maxsim index`, instead of --docs and --lengths
    #[arg(long, value_name = "CORPUS", value_parser = clap::value_parser!(PathBuf),
          conflicts_with_all = ["docs", "lengths"])]
    pub index: Option<PathBuf>,
}

#[derive(Args)]
pub struct IndexArgs {
    /// The documents: float32 or float16, (total_rows, dim) with --lengths, or (num_docs,
    /// rows, dim) padded, with optional --lengths
    #[arg(long, value_name = "D.npy", value_parser = clap::value_parser!(PathBuf))]
    pub docs: PathBuf,
    /// Rows of each document: int32 or int64, shape (num_docs,)
    #[arg(long, value_name = "L.npy", value_parser = clap::value_parser!(PathBuf))]
    pub lengths: Option<PathBuf>,
    /// The type the values are stored as: f32 (exact), f16 or bf16 (half the bytes, rounded
    /// to nearest once; beyond f16's ±65504, values become ±inf)
    #[arg(long, value_name = "TYPE", default_value = "f32", value_parser = storage_parser())]
    pub dtype: Storage,
    /// The index file to write (replaced atomically)
    #[arg(long, value_name = "CORPUS", value_parser = clap::value_parser!(PathBuf))]
    pub out: PathBuf,
    /// Leave out the int8 sketch that prunes `search` (dim + 4 bytes a token)
    #[arg(long)]
    pub no_sketch: bool,
    /// Threads to index on; 0 means all cores [default: all cores]
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

#[derive(Args)]
pub struct ScoreArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Time the scoring (not the reading) R times and print the median to standard error
    #[arg(long, value_name = "R", default_value_t = 1, value_parser = at_least_one)]
    pub repeat: usize,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Args)]
pub struct SearchArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// How many of the best documents to print
    #[arg(long, short, value_name = "K", default_value_t = 10)]
    pub k: usize,
    /// Time the search (not the reading) R times and print the median to standard error
    #[arg(long, value_name = "R", default_value_t = 1, value_parser = at_least_one)]
    pub repeat: usize,
    /// Score every document: no pruning by the index's sketch (the same hits, bit for bit)
    #[arg(long)]
    pub no_prune: bool,
    /// Print to standard error how many documents were screened and scored exactly
    #[arg(long)]
    pub stats: bool,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Args)]
pub struct BenchArgs {
    /// The ISA to benchmark, or all the SIMD ISAs this CPU runs [default: the best this CPU
    /// runs, capped by MAXSIM_ISA]
    #[arg(long, value_name = "ISA", value_parser = bench_isa_parser())]
    pub isa: Option<BenchIsas>,
    /// Query rows, comma-separated
    #[arg(long, value_name = "N,...", value_delimiter = ',', default_value = "1,4,10,16,32,64",
          value_parser = at_least_one)]
    pub rows: Vec<usize>,
    /// Token dimensions, comma-separated
    #[arg(long, value_name = "D,...", value_delimiter = ',', default_value = "128",
          value_parser = at_least_one)]
    pub dims: Vec<usize>,
    /// Rows per document
    #[arg(long, value_name = "M", default_value_t = 1038, value_parser = at_least_one)]
    pub doc_rows: usize,
    /// Documents in the out-of-cache corpus
    #[arg(long, value_name = "N", default_value_t = 500, value_parser = at_least_one)]
    pub docs: usize,
    /// Documents in the cache-resident corpus [default: one per thread, each in its own core's
    /// L2 cache]
    #[arg(long, value_name = "N", value_parser = at_least_one)]
    pub resident_docs: Option<usize>,
    /// Thread counts to measure, comma-separated
    #[arg(long, value_name = "N,...", value_delimiter = ',', default_value = "1",
          value_parser = at_least_one)]
    pub threads: Vec<usize>,
    /// Queries in the batch timed against as many single queries (below 2: no batch)
    #[arg(long, value_name = "B", default_value_t = 8)]
    pub batch: usize,
    /// Skip the pruned top-10 cases (structured and random data, a bf16 index with its
    /// sketch, at --prune-shapes)
    #[arg(long)]
    pub skip_pruning: bool,
    /// Documents x tokens of the pruned top-10 cases, comma-separated
    #[arg(long, value_name = "NxM,...", value_delimiter = ',', default_value = "500x1038,10000x180",
          value_parser = shape_parser)]
    pub prune_shapes: Vec<(usize, usize)>,
    /// Print one JSON object per measurement instead of tables
    #[arg(long)]
    pub json: bool,
}

/// Which ISAs `bench` measures.
#[derive(Clone, Copy)]
pub enum BenchIsas {
    /// Every SIMD ISA this CPU runs.
    All,
    One(Isa),
}

/// A count of at least 1.
fn at_least_one(text: &str) -> Result<usize, String> {
    match text.parse() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(count) => Ok(count),
        Err(error) => Err(format!("{error}")),
    }
}

/// An ISA by name; the help lists the names.
fn isa_parser() -> impl TypedValueParser<Value = Isa> {
    PossibleValuesParser::new(Isa::ALL.map(Isa::name)).try_map(|name| isa_named(&name))
}

/// A storage type by name; the help lists the names.
fn storage_parser() -> impl TypedValueParser<Value = Storage> {
    PossibleValuesParser::new(Storage::ALL.map(Storage::name)).try_map(|name| {
        Storage::from_name(&name).ok_or_else(|| format!("{name} is not a storage type"))
    })
}

/// An ISA by name, or `all`.
fn bench_isa_parser() -> impl TypedValueParser<Value = BenchIsas> {
    PossibleValuesParser::new(std::iter::once("all").chain(Isa::ALL.map(Isa::name))).try_map(
        |name| match name.as_str() {
            "all" => Ok(BenchIsas::All),
            name => isa_named(name).map(BenchIsas::One),
        },
    )
}

fn isa_named(name: &str) -> Result<Isa, maxsim::Error> {
    Isa::from_name(name).ok_or_else(|| maxsim::Error::UnknownIsa {
        name: name.to_string(),
    })
}

/// `NxM` with both at least 1.
fn shape_parser(text: &str) -> Result<(usize, usize), String> {
    let (docs, rows) = text
        .split_once('x')
        .ok_or_else(|| format!("{text:?} is not documents x tokens, like 500x1038"))?;
    let count = |part: &str| -> Result<usize, String> {
        part.trim()
            .parse::<usize>()
            .ok()
            .filter(|&n| n >= 1)
            .ok_or_else(|| format!("{part:?} is not a count of at least 1"))
    };
    Ok((count(docs)?, count(rows)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }
}
