fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    // cargo-fuzz builds with `--cfg fuzzing`.
    println!("cargo::rustc-check-cfg=cfg(fuzzing)");
}
