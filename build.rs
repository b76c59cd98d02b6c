//! Puts libtorch's library folder on the rpath of every binary, test and example of
//! this crate, so that they run without `LD_LIBRARY_PATH`. torch-sys exports the
//! folder as `DEP_TCH_LIBTORCH_LIB` (its `links = "tch"` key); tch's own rpath only
//! applies to tch's artefacts, not to downstream binaries.
fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    if let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
    }
}
