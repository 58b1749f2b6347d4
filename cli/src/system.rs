//! What this machine is: CPU model and kernels.

use super::out::{outln, Out};
use super::Failure;

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

pub fn run_isa() -> Result<(), Failure> {
    let mut out = Out::eager();
    outln!(out, "cpu: {} ({})", cpu_model(), std::env::consts::ARCH)?;
    outln!(out, "supported: {}", isa_names(&maxsim::supported_isas()))?;
    outln!(out, "best: {}", maxsim::Isa::best_supported())?;
    match std::env::var_os(maxsim::ISA_ENV) {
        Some(cap) => outln!(out, "{}: {}", maxsim::ISA_ENV, cap.to_string_lossy())?,
        None => outln!(out, "{}: (unset)", maxsim::ISA_ENV)?,
    }
    outln!(out, "selected: {}", maxsim::selected_isa()?)?;
    out.finish()
}
