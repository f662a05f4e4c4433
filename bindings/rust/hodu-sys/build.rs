//! Finds libhodu_rt and tells cargo to link it.
//!
//! In order: the folder in `HODU_RT_LIB_DIR`; whatever `pkg-config --libs
//! hodu_rt` says (an installed runtime); the repository's own `build/`
//! folder (a checkout where `tools/setup.sh` ran).  The folder found is
//! passed on to dependent crates as `DEP_HODU_RT_LIB_DIR`, so their tests
//! and examples can set an rpath to it.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const ENV_DIR: &str = "HODU_RT_LIB_DIR";

fn has_runtime(dir: &Path) -> bool {
    ["libhodu_rt.so", "libhodu_rt.dylib", "hodu_rt.lib", "libhodu_rt.a"].iter().any(|f| dir.join(f).is_file())
}

/// The -L folders of `pkg-config --libs hodu_rt`, or None when pkg-config is
/// missing or knows no hodu_rt.
fn from_pkg_config() -> Option<Vec<PathBuf>> {
    let out = Command::new("pkg-config").args(["--libs", "hodu_rt"]).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    let mut dirs = Vec::new();
    let mut names_hodu = false;
    for word in text.split_whitespace() {
        if let Some(d) = word.strip_prefix("-L") {
            dirs.push(PathBuf::from(d));
        } else if word == "-lhodu_rt" {
            names_hodu = true;
        }
    }
    names_hodu.then_some(dirs)
}

fn main() {
    println!("cargo:rerun-if-env-changed={ENV_DIR}");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let repo_build = manifest.join("../../../build");

    let dirs: Vec<PathBuf> = if let Some(dir) = env::var_os(ENV_DIR) {
        let dir = PathBuf::from(dir);
        if !has_runtime(&dir) {
            panic!(
                "hodu-sys: {ENV_DIR}={} holds no libhodu_rt (libhodu_rt.so, .dylib or .a); \
                 point it at the folder where libhodu_rt was built or installed",
                dir.display()
            );
        }
        vec![dir]
    } else if let Some(dirs) = from_pkg_config() {
        dirs
    } else if has_runtime(&repo_build) {
        vec![repo_build.canonicalize().unwrap_or(repo_build)]
    } else {
        panic!(
            "hodu-sys: libhodu_rt not found.  Set {ENV_DIR} to the folder that holds \
             libhodu_rt.so, install it with a hodu_rt.pc for pkg-config, or build this \
             checkout first (tools/setup.sh builds it into {})",
            repo_build.display()
        );
    };
    for dir in &dirs {
        println!("cargo:rustc-link-search=native={}", dir.display());
        let so = dir.join("libhodu_rt.so");
        if so.is_file() {
            // a missing file would make cargo rerun this script every build
            println!("cargo:rerun-if-changed={}", so.display());
        }
    }
    println!("cargo:rustc-link-lib=dylib=hodu_rt");
    if let Some(first) = dirs.first() {
        // read by dependents' build scripts as DEP_HODU_RT_LIB_DIR
        println!("cargo:lib_dir={}", first.display());
        // this crate's own tests load the library from there
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", first.display());
    }
}
