//! The `maxsim` program: a demo at the seed's scale, scoring of `.npy` embeddings, and a report
//! of the CPU's kernels.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match cli::run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(cli::Failure::Usage(message)) => {
            eprintln!("maxsim: {message}\n\n{}", cli::USAGE);
            ExitCode::from(2)
        }
        Err(cli::Failure::Error(error)) => {
            eprintln!("maxsim: error: {error}");
            ExitCode::FAILURE
        }
    }
}
