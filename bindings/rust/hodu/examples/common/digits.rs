//! What the digits training examples share (train_mlp.rs and
//! mlp_from_code.rs): a seeded generator, the training loop over
//! examples/digits/make_training_data.py's files, the test accuracy, and
//! the save-and-reload check.
#![allow(dead_code)] // each example uses part of it

use std::path::Path;

use hodu::{Model, Tensor, Trainer};

/// A small generator of our own, so every run draws and shuffles alike.
pub struct Lcg(pub u64);

impl Lcg {
    /// The next 31 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    /// A number in 0..n.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// Uniform in [-bound, bound).
    pub fn uniform(&mut self, bound: f32) -> f32 {
        (self.next() as f32 / (1u64 << 30) as f32 - 1.0) * bound
    }
}

/// The training and test sets: images float32[N, 1, 8, 8], labels int64[N].
pub struct Digits {
    pub train_x: Tensor<f32>,
    pub train_y: Tensor<i64>,
    pub test_x: Tensor<f32>,
    pub test_y: Tensor<i64>,
}

impl Digits {
    pub fn read(dir: &Path) -> hodu::Result<Digits> {
        Ok(Digits {
            train_x: Tensor::read_npy(dir.join("train_x.npy"))?,
            train_y: Tensor::read_npy(dir.join("train_y.npy"))?,
            test_x: Tensor::read_npy(dir.join("test_x.npy"))?,
            test_y: Tensor::read_npy(dir.join("test_y.npy"))?,
        })
    }
}

const IMAGE: usize = 64;

/// Right answers of the trainer's forward pass on the test set (whole
/// batches only), in percent.
pub fn accuracy(tr: &mut Trainer, d: &Digits, batch: usize) -> hodu::Result<f64> {
    let (x, y) = (&d.test_x, &d.test_y);
    let n = x.shape()[0];
    let (mut right, mut seen) = (0, 0);
    for b in (0..n - n % batch).step_by(batch) {
        let xb = Tensor::from_slice(&[batch, 1, 8, 8], &x.data()[b * IMAGE..(b + batch) * IMAGE])?;
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

/// `epochs` passes over the shuffled training set in batches of `batch`
/// (the batch the step was built for), printing the loss and the test
/// accuracy after each; returns the final test accuracy.
pub fn train(tr: &mut Trainer, d: &Digits, batch: usize, epochs: usize) -> hodu::Result<f64> {
    let n = d.train_x.shape()[0];
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
                x.data_mut()[k * IMAGE..(k + 1) * IMAGE]
                    .copy_from_slice(&d.train_x.data()[src * IMAGE..(src + 1) * IMAGE]);
                y.data_mut()[k] = d.train_y.data()[src];
            }
            total += tr.step(&[&x, &y], lr)? as f64;
            steps += 1;
        }
        let acc = accuracy(tr, d, batch)?;
        println!("epoch {epoch:2}  loss {:.4}  test accuracy {acc:.2}%", total / steps as f64);
        lr *= 0.9; // the schedule is the host's: every step takes lr
    }
    accuracy(tr, d, batch)
}

/// Saves `tr` to `ckpt`, loads the file into a fresh trainer of the same
/// step and checks that it scores `trained` again; prints the last line,
/// "saved CKPT; accuracy A% after reload".
pub fn save_and_reload(
    tr: &Trainer,
    step: &Model,
    eval: &Model,
    d: &Digits,
    batch: usize,
    trained: f64,
    ckpt: &Path,
) -> Result<(), Box<dyn std::error::Error>> {
    tr.save(ckpt)?;
    let mut fresh = Trainer::new(step)?;
    fresh.attach_eval(eval)?;
    fresh.load(ckpt)?;
    let reloaded = accuracy(&mut fresh, d, batch)?;
    if reloaded != trained {
        return Err(format!("accuracy {trained}% before saving, {reloaded}% after reloading").into());
    }
    println!("saved {}; accuracy {reloaded:.2}% after reload", ckpt.display());
    Ok(())
}
