//! Models for the tests, built at test time with the repository's `hodu`
//! (or the one in `HODU_EXE`) into cargo's temporary folder.
#![allow(dead_code)] // each test file uses part of it

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../..")
}

pub fn hodu_exe() -> PathBuf {
    std::env::var_os("HODU_EXE").map(PathBuf::from).unwrap_or_else(|| repo().join("build/hodu"))
}

/// A fresh folder for one test.
pub fn scratch(tag: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `hodu --build SRC ARGS -o OUT` and returns OUT.
pub fn build(src: &Path, args: &[&str], out: &Path) -> PathBuf {
    let exe = hodu_exe();
    let status =
        Command::new(&exe).arg("--build").arg(src).args(args).arg("-o").arg(out).status().unwrap_or_else(|e| {
            panic!("cannot run {} (build the repository first, or set HODU_EXE): {e}", exe.display())
        });
    assert!(status.success(), "hodu --build {} {args:?} failed", src.display());
    out.to_path_buf()
}

/// Builds HoduScript `text` with `args` into a fresh folder.
pub fn build_script(tag: &str, text: &str, args: &[&str]) -> PathBuf {
    let dir = scratch(tag);
    let src = dir.join("model.hodu");
    std::fs::write(&src, text).unwrap();
    build(&src, args, &dir.join("model.so"))
}

/// sum = x + 2y and prod = x * y over f32[B, 3].
pub const AFFINE: &str = "
module Affine(d: int) {
    fn forward(x: f32[B, d], y: f32[B, d]) -> (sum: f32[B, d], prod: f32[B, d]) {
        return (x + y * 2.0, x * y)
    }
}
export model = Affine(3)
";

/// Inputs and outputs of several element types: gt = x > 0.5 (bool) and
/// twice = 2n (int64).
pub const MIXED: &str = "
module Mixed(d: int) {
    fn forward(x: f32[B, d], n: i64[B, d]) -> (gt: bool[B, d], twice: i64[B, d]) {
        return (x > 0.5, n * 2)
    }
}
export model = Mixed(3)
";

/// A two-layer perceptron, 4 features to 3 classes.
pub fn mlp(hidden: usize) -> String {
    format!(
        "import \"std/nn\"
module Mlp(d_in: int, hidden: int, classes: int) {{
    fc1 = Linear(d_in, hidden)
    fc2 = Linear(hidden, classes)
    fn forward(x: f32[B, d_in]) -> f32[B, classes] {{
        return fc2(relu(fc1(x)))
    }}
}}
export model = Mlp(4, {hidden}, 3)
"
    )
}

/// A batch of 6 points whose class is the index of their largest of the
/// first three features (a small generator of our own, deterministic).
pub fn batch(seed: u64) -> (Vec<f32>, Vec<i64>) {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let mut next = || {
        s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((s >> 40) as f32) / ((1u64 << 24) as f32)
    };
    let mut x = Vec::new();
    let mut y = Vec::new();
    for _ in 0..6 {
        let p: Vec<f32> = (0..4).map(|_| next()).collect();
        let c = (0..3).max_by(|a, b| p[*a].total_cmp(&p[*b])).unwrap();
        x.extend(p);
        y.push(c as i64);
    }
    (x, y)
}
