//! The `maxsim` program: a demo at the seed's scale, scoring of `.npy` embeddings or of index
//! files written from them, and a report of the CPU's kernels.
//!
//! It behaves as a Unix tool: usage errors (clap's message and usage) exit with status 2, other
//! errors print one line `maxsim: error: ...` to standard error and exit with status 1, and a
//! reader that closes standard output early (`maxsim score ... | head`) ends it quietly with
//! status 0.

mod out;
mod progress;

mod args;
mod bench;
mod demo;
mod index;
mod score;
mod system;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command};

/// How a command stopped early.
pub enum Failure {
    /// Standard output was closed by its reader: stop quietly, with exit status 0.
    Closed,
    /// An error while running: one line `maxsim: error: ...`, exit status 1.
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

fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command.unwrap_or(Command::Demo(cli.demo)) {
        Command::Demo(args) => demo::run(args),
        Command::Score(args) => score::run_score(args),
        Command::Search(args) => score::run_search(args),
        Command::Index(args) => index::run(args),
        Command::Isa => system::run_isa(),
        Command::Bench(args) => bench::run(args),
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
fn chosen_isa(isa: Option<maxsim::Isa>) -> Result<maxsim::Isa, Failure> {
    match isa {
        None => Ok(maxsim::selected_isa()?),
        Some(isa) if isa.is_supported() => Ok(isa),
        Some(isa) => Err(maxsim::Error::UnsupportedIsa {
            isa,
            supported: maxsim::supported_isas(),
        }
        .into()),
    }
}

/// Reports how the program stopped on standard error and returns its exit status.
fn report(failure: Failure) -> u8 {
    match failure {
        Failure::Closed => 0,
        Failure::Error(error) => {
            // Standard error may be gone too: nothing is left to tell then.
            let _ = writeln!(std::io::stderr(), "maxsim: error: {error}");
            1
        }
    }
}

fn main() -> ExitCode {
    // Help and version go to standard output and exit 0, usage errors to standard error with
    // exit status 2; clap ignores a closed standard output.
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => ExitCode::from(report(failure)),
    }
}
