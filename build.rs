//! Puts libtorch's library folder on the rpath of every binary, test and example of
//! this crate, so that they run without `LD_LIBRARY_PATH`. torch-sys exports the
//! folder as `DEP_TCH_LIBTORCH_LIB` (its `links = "tch"` key); tch's own rpath only
//! applies to tch's artefacts, not to downstream binaries.
//!
//! With the `cuda` feature it also links libtorch_cuda explicitly: nothing in our code
//! calls into it directly, so the linker's `--as-needed` would drop it and libtorch
//! would then report no GPU at run time.
fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    println!("cargo:rerun-if-env-changed=TORCH_CUDA_LIB_DIR");
    if let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
        if std::env::var_os("CARGO_FEATURE_CUDA").is_some() {
            // libtorch_cuda normally sits beside libtorch_cpu (LIBTORCH = a CUDA libtorch);
            // TORCH_CUDA_LIB_DIR can name another folder of the *same* torch build (e.g. a
            // venv's torch/lib next to the CPU install made from the same PyPI wheel).
            let cuda = std::env::var("TORCH_CUDA_LIB_DIR").unwrap_or_else(|_| lib.clone());
            if !std::path::Path::new(&cuda).join("libtorch_cuda.so").is_file() {
                // A warning, not a failure, so that `cargo check --features cuda` works on a
                // CPU install; linking then fails with "cannot find -ltorch_cuda".
                println!("cargo:warning=the `cuda` feature needs a CUDA libtorch, but {cuda} has no libtorch_cuda.so (the CPU install drops it): run `make setup-cuda` and build with `make build-cuda`");
            }
            if cuda != lib {
                println!("cargo:rustc-link-arg=-Wl,-rpath,{cuda}");
            }
            println!("cargo:rustc-link-arg=-Wl,--no-as-needed,-L{cuda},-ltorch_cuda,-lc10_cuda,--as-needed");
        }
    }
}
