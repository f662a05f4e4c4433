//! The per-run cost of the safe Rust call path against the C API on a tiny
//! model: the same instance run many times through `Instance::run` (which
//! makes the C views and fresh output buffers each time), through
//! `Instance::run_into` (which reuses the last run's buffers) and through
//! `hodu_instance_run` with buffers made once.  Prints microseconds per
//! run and their difference; asserts nothing about time.
//!
//!     hodu --build tiny.hodu -o tiny.so        (any model with f32 inputs)
//!     cargo run --release --example overhead -- tiny.so [ITERATIONS]
//!
//! bench/rust_overhead.sh builds a model and runs it.
#![warn(clippy::undocumented_unsafe_blocks)]

use std::time::Instant;

use hodu::{sys, DType, Model, Tensor, TensorRef};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let path = args.get(1).ok_or("usage: overhead MODEL.so [ITERATIONS]")?;
    let iters: usize = args.get(2).map_or(Ok(200_000), |s| s.parse())?;
    let model = Model::open(path)?;
    let mut inputs = Vec::new();
    for info in model.inputs() {
        if info.dtype != DType::F32 {
            return Err(format!("input {info} is not float32").into());
        }
        let shape = info.max_shape().ok_or("unbounded input")?;
        let n = shape.iter().product();
        inputs.push(Tensor::new(&shape, (0..n).map(|i| i as f32 * 0.25).collect())?);
    }
    let refs: Vec<&dyn TensorRef> = inputs.iter().map(|t| t as &dyn TensorRef).collect();
    let mut inst = model.instance_with_threads(1)?;

    // the C path: views and output buffers made once, as a C host does
    let view = |t: &Tensor<f32>| {
        let mut c = sys::hodu_tensor {
            dtype: sys::HODU_DTYPE_F32,
            rank: t.shape().len() as i32,
            dims: [0; sys::HODU_MAX_RANK],
            data: t.data().as_ptr() as *mut _,
            nbytes: t.len() * 4,
        };
        for (d, s) in c.dims.iter_mut().zip(t.shape()) {
            *d = *s as i64;
        }
        c
    };
    let c_in: Vec<sys::hodu_tensor> = inputs.iter().map(view).collect();
    let mut out_bufs: Vec<Tensor<f32>> =
        model.outputs().iter().map(|o| Tensor::zeros(&o.max_shape().unwrap_or_default())).collect::<Result<_, _>>()?;
    let mut c_out: Vec<sys::hodu_tensor> = out_bufs
        .iter_mut()
        .map(|t| {
            let mut c = view(t);
            c.data = t.data_mut().as_mut_ptr().cast();
            c
        })
        .collect();
    let raw = {
        // Reach the C instance through a second one made with hodu-sys,
        // so both paths run the same model code on equal footing.
        let cpath = std::ffi::CString::new(path.as_str())?;
        let mut err = sys::hodu_error { code: 0, message: [0; 512] };
        let mut m = std::ptr::null_mut();
        let mut i = std::ptr::null_mut();
        let opts = sys::hodu_instance_options {
            n_threads: 1,
            exec: std::ptr::null(),
            workspace: std::ptr::null_mut(),
            workspace_bytes: 0,
            arena: std::ptr::null_mut(),
            arena_bytes: 0,
        };
        // SAFETY: valid pointers for the calls; both handles are released
        // at the end of main.
        unsafe {
            if sys::hodu_model_open(cpath.as_ptr(), &mut m, &mut err) != sys::HODU_OK
                || sys::hodu_instance_create_with(m, &opts, &mut i, &mut err) != sys::HODU_OK
            {
                return Err("the C API could not open the model".into());
            }
        }
        (m, i)
    };

    let mut c_run = || {
        let mut err = sys::hodu_error { code: 0, message: [0; 512] };
        // SAFETY: the instance is live; the views point at buffers that
        // outlive the loop.
        let s = unsafe {
            sys::hodu_instance_run(raw.1, c_in.as_ptr(), c_in.len(), c_out.as_mut_ptr(), c_out.len(), &mut err)
        };
        assert_eq!(s, sys::HODU_OK);
    };
    let mut reused = inst.run(&refs)?;
    let mut rust_run = |reuse: bool| {
        if reuse {
            inst.run_into(&refs, &mut reused).expect("run_into");
            std::hint::black_box(&reused);
        } else {
            std::hint::black_box(inst.run(&refs).expect("run"));
        }
    };
    // warm up, then alternate rounds so drift in the machine hits both
    for _ in 0..1000 {
        c_run();
        rust_run(false);
        rust_run(true);
    }
    let rounds = 5;
    let (mut c_ns, mut r_ns, mut ri_ns) = (0u128, 0u128, 0u128);
    for _ in 0..rounds {
        let t = Instant::now();
        for _ in 0..iters / rounds {
            c_run();
        }
        c_ns += t.elapsed().as_nanos();
        let t = Instant::now();
        for _ in 0..iters / rounds {
            rust_run(false);
        }
        r_ns += t.elapsed().as_nanos();
        let t = Instant::now();
        for _ in 0..iters / rounds {
            rust_run(true);
        }
        ri_ns += t.elapsed().as_nanos();
    }
    let n = (iters / rounds * rounds) as f64;
    let us = |ns: u128| ns as f64 / n / 1e3;
    let (c_us, r_us, ri_us) = (us(c_ns), us(r_ns), us(ri_ns));
    let n_out = c_out.len();
    println!("model {path} ({} inputs, {n_out} outputs), {n} runs each", c_in.len());
    println!("C API (hodu_instance_run):   {c_us:.3} us/run");
    println!("Rust Instance::run:          {r_us:.3} us/run  ({:+.3} us)", r_us - c_us);
    println!("Rust Instance::run_into:     {ri_us:.3} us/run  ({:+.3} us)", ri_us - c_us);
    // SAFETY: made above, not used after this.
    unsafe {
        sys::hodu_instance_destroy(raw.1);
        sys::hodu_model_close(raw.0);
    }
    Ok(())
}
