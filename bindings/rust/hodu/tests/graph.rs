//! Models defined in code (hodu::Graph): misuse reported as errors with the
//! C builder's messages, and one MLP built from Rust, from HoduScript and
//! from C through the builder giving bit-identical outputs for the same
//! weights (shared through a safetensors file).
#![cfg(feature = "compiler")]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use hodu::{Attr, CompileOptions, DType, ErrorKind, Graph, Size, Tensor, Value};

fn lib_dir(var: &str) -> PathBuf {
    std::env::var_os(var).map(PathBuf::from).unwrap_or_else(|| repo().join("build"))
}

#[test]
fn a_value_of_another_graph_is_an_error() {
    let a = Graph::new("a").unwrap();
    let b = Graph::new("b").unwrap();
    let xa = a.input("x", DType::F32, &[2.into()]).unwrap();
    let xb = b.input("x", DType::F32, &[2.into()]).unwrap();
    let e = xb.add(&xa).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArg);
    assert!(e.message().contains("a value of graph 'a' used in graph 'b'"), "{e}");
    let e = (xa * xb).unwrap_err();
    assert!(e.message().contains("graph 'b' used in graph 'a'"), "{e}");
    assert!(b.op("Relu", &[&xa], &[]).is_err());
    assert!(b.output(&xa, "y").is_err());
    assert!(b.concat(&[&xb, &xa], 0).is_err());
    // the graphs go on as before
    let y = (xb + xb).unwrap();
    b.output(&y, "y").unwrap();
}

#[test]
fn a_bad_op_name_is_an_error_with_the_builders_message() {
    let g = Graph::new("g").unwrap();
    let x = g.input("x", DType::F32, &[2.into()]).unwrap();
    let e = g.op("Frobnicate", &[&x], &[]).unwrap_err();
    assert!(e.message().contains("Frobnicate: no such op"), "{e}");
    assert!(!e.message().starts_with("hodu: error:"), "{e}");
    // a NUL in a name never reaches C
    assert_eq!(g.op("Re\0lu", &[&x], &[]).unwrap_err().kind(), ErrorKind::InvalidArg);
}

#[test]
fn a_wrong_attribute_is_an_error() {
    let g = Graph::new("g").unwrap();
    let x = g.input("x", DType::F32, &[2.into(), 3.into()]).unwrap();
    let e = g.op("Softmax", &[&x], &[("bogus", Attr::Int(1))]).unwrap_err();
    assert!(e.message().contains("unsupported attribute 'bogus'"), "{e}");
    let e = g.op("Softmax", &[&x], &[("axis", Attr::Str("last".into()))]).unwrap_err();
    assert!(e.message().contains("axis"), "{e}");
    // the right one works
    let y = g.op("Softmax", &[&x], &[("axis", Attr::Int(-1))]).unwrap();
    g.output(&y, "y").unwrap();
    let m = g.load(&CompileOptions::new()).unwrap();
    assert_eq!(m.outputs()[0].name, "y");
}

#[test]
fn a_shape_mismatch_is_reported_at_compile_with_the_c_message() {
    let g = Graph::new("mlp").unwrap();
    let a = g.input("a", DType::F32, &[2.into(), 4.into()]).unwrap();
    let w = g.param("w", &Tensor::<f32>::zeros(&[5, 3]).unwrap()).unwrap();
    let y = a.matmul(&w).unwrap(); // shapes are checked when compiled
    g.output(&y, "y").unwrap();
    let e = g.load(&CompileOptions::new()).unwrap_err();
    assert!(e.message().contains("inner dims differ"), "{e}");
    let dir = scratch("graph-shape");
    let e = g.compile(dir.join("m.so"), &CompileOptions::new()).unwrap_err();
    assert!(e.message().contains("inner dims differ"), "{e}");
    assert!(!dir.join("m.so").exists());
}

#[test]
fn an_unbound_dim_is_an_error_and_binding_it_compiles() {
    let g = Graph::new("g").unwrap();
    let x = g.input("x", DType::F32, &[Size::sym("batch"), 3.into()]).unwrap();
    g.output(&x.relu().unwrap(), "y").unwrap();
    let e = g.load(&CompileOptions::new()).unwrap_err();
    assert!(e.message().contains("unbound dim 0 ('batch')"), "{e}");
    // the same graph compiles once the dim is bound, to a fixed size or a range
    let m = g.load(&CompileOptions::new().dim("batch", 4)).unwrap();
    assert_eq!(m.inputs()[0].max_shape(), Some(vec![4, 3]));
    let m = g.load(&CompileOptions::new().dim_range("batch", 1, 8)).unwrap();
    let mut inst = m.instance().unwrap();
    let x = Tensor::new(&[2, 3], vec![-1.0f32, 2.0, -3.0, 4.0, 0.5, -0.5]).unwrap();
    let out = inst.run(&[&x]).unwrap();
    assert_eq!(out[0].shape(), [2, 3]);
    assert_eq!(out[0].as_slice::<f32>().unwrap(), [0.0, 2.0, 0.0, 4.0, 0.5, 0.0]);
}

#[test]
fn operators_ops_and_grad() {
    let g = Graph::new("ops").unwrap();
    let a = g.input("a", DType::F32, &[3.into()]).unwrap();
    let b = g.input("b", DType::F32, &[3.into()]).unwrap();
    let two = g.param("two", &Tensor::new(&[1], vec![2.0f32]).unwrap()).unwrap();
    let y = ((a - b).unwrap() / two).unwrap();
    let z = (y * a).unwrap();
    let s = z.reduce_sum(&[], false).unwrap();
    let outs = g
        .op_full(
            "TopK",
            None,
            &[Some(&a), Some(&g.param("k", &Tensor::new(&[1], vec![1i64]).unwrap()).unwrap())],
            &[],
            2,
        )
        .unwrap();
    g.output(&z, "z").unwrap();
    g.output(&s, "s").unwrap();
    g.output(&outs[1], "argmax").unwrap();
    let m = g.load(&CompileOptions::new()).unwrap();
    let mut inst = m.instance().unwrap();
    let av = Tensor::new(&[3], vec![1.0f32, 4.0, 3.0]).unwrap();
    let bv = Tensor::new(&[3], vec![3.0f32, 2.0, 3.0]).unwrap();
    let out = inst.run(&[&av, &bv]).unwrap();
    assert_eq!(out.by_name("z").unwrap().as_slice::<f32>().unwrap(), [-1.0, 4.0, 0.0]);
    assert_eq!(out.by_name("s").unwrap().as_slice::<f32>().unwrap(), [3.0]);
    assert_eq!(out.by_name("argmax").unwrap().as_slice::<i64>().unwrap(), [1]);

    // --grad: d(sum(z.grad * z))/da with z = (a - b) / 2 * a
    let m = g.load(&CompileOptions::new().grad(&["a"])).unwrap();
    assert!(m.output_index("a.grad").is_some(), "{m:?}");
}

/// The weights of the quadrants MLP, drawn from a fixed seed.
fn quadrant_weights() -> Vec<(&'static str, Tensor<f32>)> {
    let mut s: u64 = 7;
    let mut next = move || {
        s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((s >> 40) & 0xffffff) as f32 / 0x800000 as f32 - 1.0
    };
    [("w1", vec![2, 16]), ("b1", vec![16]), ("w2", vec![16, 4]), ("b2", vec![4])]
        .into_iter()
        .map(|(n, shape)| {
            let len = shape.iter().product();
            (n, Tensor::new(&shape, (0..len).map(|_| 2.0 * next()).collect()).unwrap())
        })
        .collect()
}

/// probs = softmax(relu(x @ w1 + b1) @ w2 + b2), from Rust.
fn quadrants_from_rust(weights: &Path) -> hodu::Model {
    let g = Graph::new("quadrants").unwrap();
    let x = g.input("x", DType::F32, &["batch".into(), 2.into()]).unwrap();
    let file = hodu::read_safetensors(weights).unwrap();
    let p = |name: &str| {
        let v: &Value = &file.iter().find(|(n, _)| n == name).unwrap().1;
        g.param(name, v).unwrap()
    };
    let (w1, b1, w2, b2) = (p("w1"), p("b1"), p("w2"), p("b2"));
    let h = (x.matmul(&w1).unwrap() + b1).unwrap().relu().unwrap();
    let probs = (h.matmul(&w2).unwrap() + b2).unwrap().softmax(-1).unwrap();
    g.output(&probs, "probs").unwrap();
    g.load(&CompileOptions::new().dim_range("batch", 1, 64)).unwrap()
}

#[test]
fn the_same_mlp_from_rust_hoduscript_and_c_gives_identical_outputs() {
    let dir = scratch("quadrants");
    let weights = dir.join("w.safetensors");
    let ws = quadrant_weights();
    let pairs: Vec<(&str, &dyn hodu::TensorRef)> = ws.iter().map(|(n, t)| (*n, t as &dyn hodu::TensorRef)).collect();
    hodu::write_safetensors(&weights, &pairs).unwrap();
    let points: Vec<f32> = (0..40).map(|i| ((i * 37 % 23) as f32 - 11.0) / 3.7).collect();
    let x = Tensor::new(&[20, 2], points).unwrap();
    let x_npy = dir.join("x.npy");
    x.write_npy(&x_npy).unwrap();

    // Rust
    let rust = quadrants_from_rust(&weights).instance().unwrap().run(&[&x]).unwrap();
    let rust = rust.by_name("probs").unwrap().as_slice::<f32>().unwrap().to_vec();
    assert_eq!(rust.len(), 80);
    assert!(rust.chunks(4).all(|r| (r.iter().sum::<f32>() - 1.0).abs() < 1e-5));

    // HoduScript, the same weights through --weights
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let so = build(
        &data.join("quadrants.hodu"),
        &["--dim", "batch=1..64", "--weights", weights.to_str().unwrap()],
        &dir.join("script.so"),
    );
    let script = hodu::Model::open(so).unwrap().instance().unwrap().run(&[&x]).unwrap();
    let script = script[0].as_slice::<f32>().unwrap().to_vec();

    // C, through the builder: tests/data/quadrants.c compiled against libhodu.a
    let exe = dir.join("quadrants");
    let (lib, rt) = (lib_dir("HODU_LIB_DIR"), lib_dir("HODU_RT_LIB_DIR"));
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let out = Command::new(&cc)
        .args(["-std=c11", "-O1", "-I"])
        .arg(repo().join("include"))
        .arg(data.join("quadrants.c"))
        .arg("-o")
        .arg(&exe)
        .arg(lib.join("libhodu.a"))
        .arg(format!("-L{}", rt.display()))
        .arg(format!("-Wl,-rpath,{}", rt.display()))
        .args(["-lhodu_rt", "-lprotobuf-c", "-lm"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cc}: {e}"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let c_npy = dir.join("c.npy");
    let out = Command::new(&exe).arg(&weights).arg(&x_npy).arg(&c_npy).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let c = Tensor::<f32>::read_npy(&c_npy).unwrap();
    assert_eq!(c.shape(), [20, 4]);

    let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&rust), bits(&script), "Rust and HoduScript differ");
    assert_eq!(bits(&rust), bits(c.data()), "Rust and C differ");
}

#[test]
fn the_typed_helpers() {
    let g = Graph::new("helpers").unwrap();
    let x = g.input("x", DType::F32, &[1.into(), 1.into(), 4.into(), 4.into()]).unwrap();
    let w = g.param("w", &Tensor::new(&[1, 1, 2, 2], vec![1.0f32; 4]).unwrap()).unwrap();
    let conv = g.conv2d(&x, &w, None, None, None, None, 1).unwrap();
    let max = g.max_pool2d(&conv, [3, 3], None, None).unwrap();
    let avg = g.avg_pool2d(&x, [2, 2], Some([2, 2]), None).unwrap();
    let flat = avg.reshape(&[1, 4]).unwrap();
    let both = g.concat(&[&flat, &flat], 0).unwrap(); // [2, 4]
    let scale = g.param("scale", &Tensor::new(&[4], vec![1.0f32; 4]).unwrap()).unwrap();
    let norm = g.layer_norm(&both, &scale, None, -1, 1e-5).unwrap();
    let gemm = g.gemm(&both, &both, None, 0.5, 0.0, false, true).unwrap(); // [2, 2]
    let mean = norm.reduce_mean(&[1], false).unwrap();
    let t = both.transpose(None).unwrap().sigmoid().unwrap().tanh().unwrap();
    for (v, name) in [(&max, "max"), (&both, "both"), (&gemm, "gemm"), (&mean, "mean"), (&t, "t")] {
        g.output(v, name).unwrap();
    }
    let m = g.load(&CompileOptions::new()).unwrap();
    let xs = Tensor::new(&[1, 1, 4, 4], (0..16).map(|i| i as f32).collect()).unwrap();
    let out = m.instance().unwrap().run(&[&xs]).unwrap();
    let get = |n: &str| out.by_name(n).unwrap().as_slice::<f32>().unwrap().to_vec();
    assert_eq!(get("max"), [50.0]);
    assert_eq!(get("both"), [2.5, 4.5, 10.5, 12.5, 2.5, 4.5, 10.5, 12.5]);
    let dot = (2.5f32 * 2.5 + 4.5 * 4.5 + 10.5 * 10.5 + 12.5 * 12.5) * 0.5;
    assert_eq!(get("gemm"), [dot; 4]);
    assert!(get("mean").iter().all(|v| v.abs() < 1e-5));
    assert_eq!(out.by_name("t").unwrap().shape(), [4, 2]);
}

/// A small classifier for training: logits = x @ w + b over x f32[B, 4].
fn classifier(g: &Graph) -> hodu::Var<'_> {
    let x = g.input("x", DType::F32, &["B".into(), 4.into()]).unwrap();
    let w: Vec<f32> = (0..12).map(|i| ((i * 7 % 5) as f32 - 2.0) / 10.0).collect();
    let w = g.param("w", &Tensor::new(&[4, 3], w).unwrap()).unwrap();
    let b = g.param("b", &Tensor::<f32>::zeros(&[3]).unwrap()).unwrap();
    (x.matmul(&w).unwrap() + b).unwrap()
}

#[test]
fn compiled_to_a_file_and_trained_from_code() {
    let g = Graph::new("clf").unwrap();
    let logits = classifier(&g);
    g.output(&logits, "logits").unwrap();

    // to a file, opened like any model
    let dir = scratch("graph-file");
    let so = dir.join("clf.so");
    g.compile(&so, &CompileOptions::new().dim("B", 6).march("generic")).unwrap();
    let m = hodu::Model::open(&so).unwrap();
    assert_eq!(m.name(), "clf");
    assert_eq!(m.inputs()[0].max_shape(), Some(vec![6, 4]));

    // a training step and its forward pass, from the same graph
    let step = g.load(&CompileOptions::new().dim("B", 6).train("cross_entropy", "sgd:momentum=0.9")).unwrap();
    let eval = g.load(&CompileOptions::new().dim("B", 6).train_eval()).unwrap();
    assert!(step.is_training_step());
    let mut tr = hodu::Trainer::new(&step).unwrap();
    tr.attach_eval(&eval).unwrap();
    assert!(tr.state().iter().any(|s| s.name == "w"));
    let (x, y) = batch(0);
    let x = Tensor::new(&[6, 4], x).unwrap();
    let y = Tensor::new(&[6], y).unwrap();
    let first = tr.step(&[&x, &y], 0.1).unwrap();
    let mut last = first;
    for _ in 0..30 {
        last = tr.step(&[&x, &y], 0.1).unwrap();
    }
    assert!(last < first * 0.5, "loss went from {first} to {last}");
    let fresh = hodu::Trainer::new(&step).unwrap();
    assert_ne!(tr.get("w").unwrap(), fresh.get("w").unwrap());
    assert_eq!(tr.eval(&[&x]).unwrap()[0].shape(), [6, 3]);
}

#[test]
fn a_cross_target_writes_the_targets_library_and_an_unknown_one_lists_the_known() {
    let g = Graph::new("g").unwrap();
    let x = g.input("x", DType::F32, &[4.into()]).unwrap();
    g.output(&x.relu().unwrap(), "y").unwrap();
    let dir = scratch("graph-target");
    let e = g.compile(dir.join("m.so"), &CompileOptions::new().target("vax-dec-ultrix")).unwrap_err();
    assert!(e.message().contains("aarch64-linux-gnu"), "{e}");
    assert!(!dir.join("m.so").exists());
    // an ELF for AArch64: e_machine (bytes 18..20, little-endian) is 183
    let so = dir.join("arm.so");
    g.compile(&so, &CompileOptions::new().target("aarch64-linux-gnu")).unwrap();
    let bytes = std::fs::read(&so).unwrap();
    assert_eq!(&bytes[..4], b"\x7fELF");
    assert_eq!(u16::from_le_bytes([bytes[18], bytes[19]]), 183);
}
