//! What this machine is: CPU model and kernels.

use super::{args::Args, Failure};

/// The CPU's model name from `/proc/cpuinfo`, where there is one.
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name") || line.starts_with("Model"))
                .and_then(|line| line.split_once(':'))
                .map(|(_, name)| name.trim().to_string())
        })
        .unwrap_or_else(|| format!("unknown {} CPU", std::env::consts::ARCH))
}

pub fn isa_names(isas: &[maxsim::Isa]) -> String {
    isas.iter()
        .map(|isa| isa.name())
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn run_isa(_args: Args) -> Result<(), Failure> {
    println!("cpu: {} ({})", cpu_model(), std::env::consts::ARCH);
    println!("supported: {}", isa_names(&maxsim::supported_isas()));
    println!("best: {}", maxsim::Isa::best_supported());
    match std::env::var(maxsim::ISA_ENV) {
        Ok(cap) => println!("{}: {cap}", maxsim::ISA_ENV),
        Err(_) => println!("{}: (unset)", maxsim::ISA_ENV),
    }
    println!("selected: {}", maxsim::selected_isa()?);
    Ok(())
}
