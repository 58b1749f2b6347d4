//! The `maxsim` program: a demo at the seed's scale, scoring of `.npy` embeddings, and a report
//! of the CPU's kernels.

mod args;
mod bench;
mod demo;
mod score;
mod system;

use args::Args;

pub const USAGE: &str = "\
usage:
  maxsim [demo] [--pages N] [--doc-rows M] [--dim D] [--seed S] [--isa ISA] [--threads N]
      score seeded synthetic pages (default: the seed's 500 pages x 1038 tokens x 128 dims)
      with queries of 32 and 10 tokens; print timing, the top 5 pages and a bit-identity check
  maxsim score --query Q.npy --docs D.npy [--lengths L.npy] [--isa ISA] [--threads N]
               [--repeat R]
      print one score per document, one per line (--repeat: time the scoring R times and
      print the median to standard error)
      Q: float32 (n, dim); D: float32 (total_rows, dim) with lengths, or (num_docs, rows, dim)
      padded, with optional lengths; L: int32 or int64 (num_docs,)
  maxsim search --query Q.npy --docs D.npy [--lengths L.npy] --k K [--isa ISA] [--threads N]
      print the K best documents as index<TAB>score lines, best first (ties: lower index)
  maxsim isa
      print the ISAs this CPU runs and the one dispatched
  maxsim bench [--isa ISA|all] [--rows 32,10] [--dims 128] [--doc-rows 1038] [--docs 500]
               [--resident-docs 8] [--threads 1,2] [--batch 8] [--json true]
      per thread count, measure the FMA peak and DRAM bandwidth, then time a cache-resident
      corpus, the out-of-cache corpus, its top 10, and a batch of queries against single ones,
      with efficiency against those bounds

ISA is one of scalar, avx2, avx512, neon (an error if this CPU lacks it); --threads defaults
to all cores;
MAXSIM_ISA caps the dispatched ISA the same way for every command.";

/// How a command failed: bad usage (exit 2) or an error while running (exit 1).
pub enum Failure {
    Usage(String),
    Error(Box<dyn std::error::Error + Send + Sync>),
}

impl From<maxsim::Error> for Failure {
    fn from(error: maxsim::Error) -> Self {
        Failure::Error(Box::new(error))
    }
}

impl From<std::io::Error> for Failure {
    fn from(error: std::io::Error) -> Self {
        Failure::Error(Box::new(error))
    }
}

pub fn run(raw: &[String]) -> Result<(), Failure> {
    let (command, rest) = match raw.first().map(String::as_str) {
        None => ("demo", raw),
        Some(flag) if flag.starts_with("--") && flag != "--help" => ("demo", raw),
        Some(command) => (command, &raw[1..]),
    };
    match command {
        "demo" => demo::run(Args::parse(
            rest,
            &["pages", "doc-rows", "dim", "seed", "isa", "threads"],
        )?),
        "score" => score::run_score(Args::parse(
            rest,
            &["query", "docs", "lengths", "isa", "threads", "repeat"],
        )?),
        "search" => score::run_search(Args::parse(
            rest,
            &["query", "docs", "lengths", "isa", "threads", "k"],
        )?),
        "isa" => system::run_isa(Args::parse(rest, &[])?),
        "bench" => bench::run(Args::parse(
            rest,
            &[
                "isa",
                "rows",
                "dims",
                "doc-rows",
                "docs",
                "resident-docs",
                "threads",
                "batch",
                "json",
            ],
        )?),
        "help" | "--help" | "-h" => {
            println!("{USAGE}");
            Ok(())
        }
        other => Err(Failure::Usage(format!("unknown command {other:?}"))),
    }
}

/// A rayon pool of `threads` threads (0: all cores).
fn thread_pool(threads: usize) -> Result<rayon::ThreadPool, Failure> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| Failure::Error(Box::new(e)))
}

/// The ISA a command runs: `--isa` forces one, otherwise dispatch (capped by `MAXSIM_ISA`).
fn chosen_isa(args: &Args) -> Result<maxsim::Isa, Failure> {
    match args.get("isa") {
        None => Ok(maxsim::selected_isa()?),
        Some(name) => {
            let isa = maxsim::Isa::from_name(name).ok_or_else(|| maxsim::Error::UnknownIsa {
                name: name.to_string(),
            })?;
            if !isa.is_supported() {
                return Err(maxsim::Error::UnsupportedIsa {
                    isa,
                    supported: maxsim::supported_isas(),
                }
                .into());
            }
            Ok(isa)
        }
    }
}

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(message)) => {
            eprintln!("maxsim: {message}\n\n{}", USAGE);
            ExitCode::from(2)
        }
        Err(Failure::Error(error)) => {
            eprintln!("maxsim: error: {error}");
            ExitCode::FAILURE
        }
    }
}
