//! Finds libhodu_rt and tells cargo to link it.
//!
//! In order: the folder in `HODU_RT_LIB_DIR`; whatever `pkg-config --libs
//! hodu_rt` says (an installed runtime); the repository's own `build/`
//! folder (a checkout where `tools/setup.sh` ran).  The folder found is
//! passed on to dependent crates as `DEP_HODU_RT_LIB_DIR`, so their tests
//! and examples can set an rpath to it.
//!
//! With the `compiler` feature, also the static compiler library libhodu.a:
//! the folder in `HODU_LIB_DIR`, else the -L folders of `pkg-config --libs
//! hodu` that hold it, else the repository's `build/`; and its own
//! dependency protobuf-c (through `pkg-config libprotobuf-c` when it answers).
//! libhodu.a's calls into the runtime resolve against the same libhodu_rt
//! the crate links, so a model the compiler loads is one this runtime owns.

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
    pkg_config_dirs("hodu_rt")
}

/// The -L folders of `pkg-config --libs PACKAGE`, or None when pkg-config is
/// missing, knows no PACKAGE, or its flags do not name -lPACKAGE.
fn pkg_config_dirs(package: &str) -> Option<Vec<PathBuf>> {
    let out = Command::new("pkg-config").args(["--libs", package]).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    let mut dirs = Vec::new();
    let mut names_hodu = false;
    for word in text.split_whitespace() {
        if let Some(d) = word.strip_prefix("-L") {
            dirs.push(PathBuf::from(d));
        } else if word.strip_prefix("-l") == Some(package) {
            names_hodu = true;
        }
    }
    names_hodu.then_some(dirs)
}

/// Links the static libhodu.a and its dependencies (the `compiler` feature).
fn link_compiler(repo_build: &Path) {
    const LIB_ENV: &str = "HODU_LIB_DIR";
    println!("cargo:rerun-if-env-changed={LIB_ENV}");
    let has = |d: &Path| d.join("libhodu.a").is_file();
    let dir = if let Some(dir) = env::var_os(LIB_ENV) {
        let dir = PathBuf::from(dir);
        if !has(&dir) {
            panic!("hodu-sys: {LIB_ENV}={} holds no libhodu.a", dir.display());
        }
        dir
    } else if let Some(d) = pkg_config_dirs("hodu").and_then(|ds| ds.into_iter().find(|d| has(d))) {
        d
    } else if has(repo_build) {
        repo_build.canonicalize().unwrap_or_else(|_| repo_build.to_path_buf())
    } else {
        panic!(
            "hodu-sys: libhodu.a (the compiler, for the `compiler` feature) not found.  Set {LIB_ENV} \
             to its folder, install it with a hodu.pc, build this checkout (tools/setup.sh), or turn \
             the feature off (default-features = false) to link the runtime alone"
        );
    };
    println!("cargo:rustc-link-search=native={}", dir.display());
    println!("cargo:rerun-if-changed={}", dir.join("libhodu.a").display());
    println!("cargo:rustc-link-lib=static=hodu");
    let protobuf = Command::new("pkg-config").args(["--libs", "libprotobuf-c"]).output().ok();
    let words = protobuf
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .unwrap_or_else(|| "-lprotobuf-c".into());
    for word in words.split_whitespace() {
        if let Some(d) = word.strip_prefix("-L") {
            println!("cargo:rustc-link-search=native={d}");
        } else if let Some(l) = word.strip_prefix("-l") {
            println!("cargo:rustc-link-lib=dylib={l}");
        }
    }
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
        vec![repo_build.canonicalize().unwrap_or_else(|_| repo_build.clone())]
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
    if env::var_os("CARGO_FEATURE_COMPILER").is_some() {
        link_compiler(&repo_build);
    }
    println!("cargo:rustc-link-lib=dylib=hodu_rt");
    println!("cargo:rustc-link-lib=dylib=m");
    if let Some(first) = dirs.first() {
        // read by dependents' build scripts as DEP_HODU_RT_LIB_DIR
        println!("cargo:lib_dir={}", first.display());
        // this crate's own tests load the library from there
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", first.display());
    }
}
