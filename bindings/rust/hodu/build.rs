//! Lets this crate's tests and examples find libhodu_rt at run time: an
//! rpath to the folder hodu-sys linked it from (its `cargo:lib_dir`).
//! Applications set their own rpath or library path.
fn main() {
    println!("cargo:rerun-if-env-changed=DEP_HODU_RT_LIB_DIR");
    if let Ok(dir) = std::env::var("DEP_HODU_RT_LIB_DIR") {
        // applies to this package's tests, examples and benches only
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
    }
}
