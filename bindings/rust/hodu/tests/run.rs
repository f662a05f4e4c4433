//! Runs against known math and against the C API.
#![warn(clippy::undocumented_unsafe_blocks)]

mod common;

use common::*;
use hodu::{DType, Dim, Model, Tensor, Value};

fn affine() -> Model {
    Model::open(build_script("affine", AFFINE, &["--dim", "B=1..4"])).unwrap()
}

#[test]
fn describes_inputs_outputs_and_runtime_dims() {
    let m = affine();
    let names: Vec<&str> = m.inputs().iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["x", "y"]);
    let outs: Vec<&str> = m.outputs().iter().map(|i| i.name.as_str()).collect();
    assert_eq!(outs, ["sum", "prod"]);
    let x = &m.inputs()[0];
    assert_eq!(x.dtype, DType::F32);
    assert_eq!(x.dims, [Dim::Range { min: 1, max: 4, name: Some("B".into()) }, Dim::Fixed(3)]);
    assert!(!x.is_static());
    assert_eq!(x.max_shape(), Some(vec![4, 3]));
    assert_eq!(x.to_string(), "x: float32[B=1..4, 3]");
    assert_eq!(m.input_index("y"), Some(1));
    assert_eq!(m.output_index("prod"), Some(1));
    assert!(m.producer().starts_with("hodu"));
    assert!(!m.is_training_step());
}

#[test]
fn outputs_follow_the_math_with_their_runtime_shapes() {
    let m = affine();
    let mut inst = m.instance().unwrap();
    for b in 1..=4usize {
        let xs: Vec<f32> = (0..b * 3).map(|i| i as f32 * 0.5 - 1.0).collect();
        let ys: Vec<f32> = (0..b * 3).map(|i| 3.0 - i as f32).collect();
        let x = Tensor::new(&[b, 3], xs.clone()).unwrap();
        let y = Tensor::new(&[b, 3], ys.clone()).unwrap();
        let out = inst.run(&[&x, &y]).unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].shape(), [b, 3]);
        assert_eq!(out.by_name("prod").unwrap().shape(), [b, 3]);
        let sum: Vec<f32> = xs.iter().zip(&ys).map(|(a, c)| a + c * 2.0).collect();
        let prod: Vec<f32> = xs.iter().zip(&ys).map(|(a, c)| a * c).collect();
        assert_eq!(out.get("sum").unwrap().as_slice::<f32>().unwrap(), sum);
        assert_eq!(out[1].to_tensor::<f32>().unwrap().into_vec(), prod);
    }
}

#[test]
fn run_into_reuses_the_buffers_across_shapes() {
    let m = affine();
    let mut inst = m.instance().unwrap();
    let x4 = Tensor::new(&[4, 3], (0..12).map(|i| i as f32).collect()).unwrap();
    let mut out = inst.run(&[&x4, &x4]).unwrap();
    for b in [1usize, 3, 4, 2] {
        let x = Tensor::new(&[b, 3], (0..b * 3).map(|i| 1.0 - i as f32).collect()).unwrap();
        inst.run_into(&[&x, &x], &mut out).unwrap();
        let fresh = inst.run(&[&x, &x]).unwrap();
        assert_eq!(out[0], fresh[0]);
        assert_eq!(out[1], fresh[1]);
        assert_eq!(out[1].shape(), [b, 3]);
    }
    // a failed run leaves valid tensors of the largest shape
    let bad = Tensor::<f32>::zeros(&[5, 3]).unwrap();
    assert!(inst.run_into(&[&bad, &bad], &mut out).is_err());
    assert_eq!(out[0].shape(), [4, 3]);
    assert_eq!(out[0].len(), 12);
    // outputs of another model are refused
    let other = affine();
    let mut theirs = other.instance().unwrap().run(&[&x4, &x4]).unwrap();
    assert_eq!(inst.run_into(&[&x4, &x4], &mut theirs).unwrap_err().kind(), hodu::ErrorKind::InvalidArg);
}

#[test]
fn profiling_counts_the_steps_of_each_run() {
    let m = affine();
    let mut inst = m.instance().unwrap();
    assert!(inst.profile().is_empty());
    inst.set_profiling(true).unwrap();
    let x = Tensor::<f32>::zeros(&[2, 3]).unwrap();
    for _ in 0..3 {
        inst.run(&[&x, &x]).unwrap();
    }
    let p = inst.profile();
    assert!(!p.is_empty());
    assert!(p.iter().all(|e| e.runs == 3 && !e.op.is_empty()), "{p:?}");
    inst.set_profiling(false).unwrap();
    assert!(inst.profile().is_empty());
}

#[test]
fn bool_and_int64_tensors_in_and_out() {
    let m = Model::open(build_script("mixed", MIXED, &["--dim", "B=1..4"])).unwrap();
    assert_eq!(m.outputs()[0].dtype, DType::Bool);
    let mut inst = m.instance().unwrap();
    let x = Tensor::new(&[2, 3], vec![0.0f32, 0.6, 0.5, 1.0, -1.0, 0.51]).unwrap();
    let n = Tensor::new(&[2, 3], vec![1i64, -2, 3, i64::MAX / 2, 0, -7]).unwrap();
    let mut out = inst.run_named(&[("n", &n), ("x", &x)]).unwrap();
    let gt: Vec<bool> = x.data().iter().map(|v| *v > 0.5).collect();
    let twice: Vec<i64> = n.data().iter().map(|v| v * 2).collect();
    assert_eq!(out.by_name("gt").unwrap().as_slice::<bool>().unwrap(), gt);
    assert_eq!(out.by_name("twice").unwrap().to_tensor::<i64>().unwrap().into_vec(), twice);
    // again into the same buffers, with another batch size
    let x1 = Tensor::new(&[1, 3], vec![0.9f32, 0.1, 0.7]).unwrap();
    let n1 = Tensor::new(&[1, 3], vec![5i64, 6, 7]).unwrap();
    inst.run_into(&[&x1, &n1], &mut out).unwrap();
    assert_eq!(out[0].as_slice::<bool>().unwrap(), [true, false, true]);
    assert_eq!(out[1].as_slice::<i64>().unwrap(), [10, 12, 14]);
    assert_eq!(out[1].shape(), [1, 3]);
    // the int64 input given as float32 is a run-time dtype error
    let e = inst.run(&[&x1, &x1]).unwrap_err();
    assert_eq!(e.kind(), hodu::ErrorKind::DType, "{e}");
}

#[test]
fn named_inputs_in_any_order() {
    let m = affine();
    let mut inst = m.instance().unwrap();
    let x = Tensor::from_slice(&[1, 3], &[1.0f32, 2.0, 3.0]).unwrap();
    let y = Tensor::from_slice(&[1, 3], &[10.0f32, 20.0, 30.0]).unwrap();
    let out = inst.run_named(&[("y", &y), ("x", &x)]).unwrap();
    assert_eq!(out.by_name("sum").unwrap().as_slice::<f32>().unwrap(), [21.0, 42.0, 63.0]);
    let names: Vec<&str> = out.iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["sum", "prod"]);
    // a Value goes in as well as a Tensor
    let yv: Value = y.clone().into();
    let again = inst.run(&[&x, &yv]).unwrap();
    assert_eq!(again[0], out[0]);
}

#[test]
fn instances_with_threads_and_in_other_threads() {
    fn is_send<T: Send>() {}
    fn is_send_sync<T: Send + Sync>() {}
    is_send::<hodu::Instance>();
    is_send::<hodu::Trainer>();
    is_send_sync::<Model>();
    let m = affine();
    let inst = m.instance_with_threads(2).unwrap();
    assert_eq!(inst.num_threads(), 2);
    let handles: Vec<_> = (0..3)
        .map(|k| {
            let m = m.clone();
            std::thread::spawn(move || {
                let mut inst = m.instance().unwrap();
                let x = Tensor::from_slice(&[1, 3], &[k as f32; 3]).unwrap();
                let out = inst.run(&[&x, &x]).unwrap();
                out[0].as_slice::<f32>().unwrap()[0]
            })
        })
        .collect();
    let got: Vec<f32> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(got, [0.0, 3.0, 6.0]);
    // an instance moves to another thread and runs there
    let moved = std::thread::spawn(move || {
        let mut inst = inst;
        let x = Tensor::from_slice(&[2, 3], &[1.0f32; 6]).unwrap();
        inst.run(&[&x, &x]).unwrap()[1].as_slice::<f32>().unwrap().to_vec()
    });
    assert_eq!(moved.join().unwrap(), [1.0; 6]);
}

/// The digits CNN (examples/digits) through the safe API and through the
/// raw C API give the same bits, and the labels the model's README states.
#[test]
fn digits_cnn_agrees_with_the_c_api() {
    use hodu::sys;
    let dir = scratch("digits");
    let so = build(&repo().join("examples/digits/digits.onnx"), &[], &dir.join("digits.so"));
    let images = Tensor::<f32>::read_npy(repo().join("examples/digits/images.npy")).unwrap();
    assert_eq!(images.shape(), [8, 1, 8, 8]);
    let m = Model::open(&so).unwrap();
    let mut inst = m.instance().unwrap();
    let out = inst.run_named(&[("image", &images)]).unwrap();
    let logits = out.by_name("logits").unwrap().as_slice::<f32>().unwrap();
    let labels = out.by_name("label").unwrap().as_slice::<i64>().unwrap();
    for (k, label) in labels.iter().enumerate() {
        let row = &logits[k * 10..k * 10 + 10];
        let best = (0..10).max_by(|a, b| row[*a].total_cmp(&row[*b])).unwrap();
        assert_eq!(best as i64, *label);
    }
    let truth: Vec<i64> = std::fs::read_to_string(repo().join("examples/digits/labels.txt"))
        .unwrap()
        .split_whitespace()
        .map(|w| w.parse().unwrap())
        .collect();
    let right = labels.iter().zip(&truth).filter(|(a, b)| a == b).count();
    assert!(right >= 7, "{labels:?} against {truth:?}");

    // the same through hodu-sys
    let mut c_logits = vec![0f32; 80];
    let mut c_labels = vec![0i64; 8];
    let path = std::ffi::CString::new(so.to_str().unwrap()).unwrap();
    let mut err = sys::hodu_error { code: 0, message: [0; 512] };
    let mut model = std::ptr::null_mut();
    let mut ci = std::ptr::null_mut();
    let tensor = |dtype, dims: &[i64], data: *mut std::ffi::c_void, nbytes| {
        let mut t = sys::hodu_tensor { dtype, rank: dims.len() as i32, dims: [0; 8], data, nbytes };
        t.dims[..dims.len()].copy_from_slice(dims);
        t
    };
    let input = tensor(sys::HODU_DTYPE_F32, &[8, 1, 8, 8], images.data().as_ptr() as *mut _, 8 * 64 * 4);
    let mut outs = [
        tensor(sys::HODU_DTYPE_F32, &[8, 10], c_logits.as_mut_ptr().cast(), 80 * 4),
        tensor(sys::HODU_DTYPE_I64, &[8], c_labels.as_mut_ptr().cast(), 8 * 8),
    ];
    // SAFETY: every pointer is valid for the calls; the buffers outlive them.
    unsafe {
        assert_eq!(sys::hodu_model_open(path.as_ptr(), &mut model, &mut err), sys::HODU_OK);
        assert_eq!(sys::hodu_instance_create(model, &mut ci, &mut err), sys::HODU_OK);
        assert_eq!(sys::hodu_instance_run(ci, &input, 1, outs.as_mut_ptr(), 2, &mut err), sys::HODU_OK);
        sys::hodu_instance_destroy(ci);
        sys::hodu_model_close(model);
    }
    assert_eq!(
        c_logits.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
        logits.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
    );
    assert_eq!(c_labels, labels);
}
