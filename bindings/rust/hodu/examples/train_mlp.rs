//! Trains an MLP on scikit-learn's 8x8 digits through `hodu::Trainer`,
//! saves a checkpoint, loads it into a fresh trainer and checks that the
//! test accuracy is the same.
//!
//!     python examples/digits/make_training_data.py --out DIR
//!     hodu --build digits_mlp.hodu --dim B=30 --train --loss cross_entropy --optimizer adamw -o DIR/step.so
//!     hodu --build digits_mlp.hodu --dim B=30 --train-eval -o DIR/eval.so
//!     cargo run --release --example train_mlp -- DIR/step.so DIR/eval.so DIR [EPOCHS]
//!
//! The last line printed is "accuracy A% after reload"; tests/rust/run.sh
//! checks it.

use std::process::ExitCode;

use hodu::{Model, Tensor, Trainer};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: train_mlp STEP.so EVAL.so DATA_DIR [EPOCHS]");
        return ExitCode::from(2);
    }
    let epochs = args.get(4).map_or(Ok(10), |e| e.parse()).unwrap_or(10);
    match train(&args[1], &args[2], std::path::Path::new(&args[3]), epochs) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("train_mlp: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A small generator of our own, so every run shuffles alike.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

/// Right answers of the trainer's forward pass on the test set (whole
/// batches only).
fn accuracy(tr: &mut Trainer, x: &Tensor<f32>, y: &Tensor<i64>, batch: usize) -> hodu::Result<f64> {
    let image = 64;
    let n = x.shape()[0];
    let (mut right, mut seen) = (0, 0);
    for b in (0..n - n % batch).step_by(batch) {
        let xb = Tensor::from_slice(&[batch, 1, 8, 8], &x.data()[b * image..(b + batch) * image])?;
        let out = tr.eval(&[&xb])?;
        let logits = out[0].as_slice::<f32>()?;
        for k in 0..batch {
            let row = &logits[k * 10..k * 10 + 10];
            let best = (0..10).max_by(|p, q| row[*p].total_cmp(&row[*q])).unwrap_or(0);
            right += usize::from(best as i64 == y.data()[b + k]);
        }
        seen += batch;
    }
    Ok(100.0 * right as f64 / seen as f64)
}

fn train(step: &str, eval: &str, data: &std::path::Path, epochs: usize) -> Result<(), Box<dyn std::error::Error>> {
    let step = Model::open(step)?;
    let eval = Model::open(eval)?;
    let mut tr = Trainer::new(&step)?;
    tr.attach_eval(&eval)?;
    let train_x = Tensor::<f32>::read_npy(data.join("train_x.npy"))?;
    let train_y = Tensor::<i64>::read_npy(data.join("train_y.npy"))?;
    let test_x = Tensor::<f32>::read_npy(data.join("test_x.npy"))?;
    let test_y = Tensor::<i64>::read_npy(data.join("test_y.npy"))?;
    // the batch the step was built for: its first input's first dim
    let batch = tr.inputs()[0].max_shape().ok_or("unbounded batch")?[0];
    let n = train_x.shape()[0];
    let image = 64;

    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = Lcg(1);
    let mut lr = 3e-3f32;
    let mut x = Tensor::<f32>::zeros(&[batch, 1, 8, 8])?;
    let mut y = Tensor::<i64>::zeros(&[batch])?;
    for epoch in 1..=epochs {
        for i in (1..n).rev() {
            order.swap(i, rng.below(i + 1));
        }
        let (mut total, mut steps) = (0.0, 0);
        for b in (0..n - n % batch).step_by(batch) {
            for k in 0..batch {
                let src = order[b + k];
                x.data_mut()[k * image..(k + 1) * image]
                    .copy_from_slice(&train_x.data()[src * image..(src + 1) * image]);
                y.data_mut()[k] = train_y.data()[src];
            }
            total += tr.step(&[&x, &y], lr)? as f64;
            steps += 1;
        }
        let acc = accuracy(&mut tr, &test_x, &test_y, batch)?;
        println!("epoch {epoch:2}  loss {:.4}  test accuracy {acc:.2}%", total / steps as f64);
        lr *= 0.9; // the schedule is the host's: every step takes lr
    }
    let trained = accuracy(&mut tr, &test_x, &test_y, batch)?;

    let ckpt = data.join("mlp.safetensors");
    tr.save(&ckpt)?;
    let mut fresh = Trainer::new(&step)?;
    fresh.attach_eval(&eval)?;
    fresh.load(&ckpt)?;
    let reloaded = accuracy(&mut fresh, &test_x, &test_y, batch)?;
    if reloaded != trained {
        return Err(format!("accuracy {trained}% before saving, {reloaded}% after reloading").into());
    }
    println!("saved {}; accuracy {reloaded:.2}% after reload", ckpt.display());
    Ok(())
}
