//! Defines an MLP for scikit-learn's 8x8 digits in code (hodu::Graph),
//! compiles it in process as a training step (`--train`, cross entropy,
//! AdamW) and as its forward pass (`--train-eval`), trains it through
//! `hodu::Trainer`, saves a checkpoint, loads it into a fresh trainer and
//! evaluates it again.
//!
//!     python examples/digits/make_training_data.py --out DIR
//!     cargo run --release --example mlp_from_code -- DIR [EPOCHS]
//!
//! The last line printed is "accuracy A% after reload"; tests/rust/run.sh
//! checks it.

use std::path::Path;
use std::process::ExitCode;

use hodu::{CompileOptions, DType, Graph, Model, Size, Tensor, Trainer, Var};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 2 {
        eprintln!("usage: mlp_from_code DATA_DIR [EPOCHS]");
        return ExitCode::from(2);
    }
    let epochs = args.get(2).map_or(Ok(10), |e| e.parse()).unwrap_or(10);
    match run(Path::new(&args[1]), epochs) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mlp_from_code: {e}");
            ExitCode::FAILURE
        }
    }
}

#[path = "common/digits.rs"]
mod digits;

use digits::{Digits, Lcg};

/// A Linear layer's parameters, `name.weight` [out, in] and `name.bias`
/// [out], drawn uniformly in ±1/sqrt(in) as PyTorch and std/nn do.
fn linear<'g>(g: &'g Graph, rng: &mut Lcg, name: &str, n_in: usize, n_out: usize) -> hodu::Result<(Var<'g>, Var<'g>)> {
    let bound = 1.0 / (n_in as f32).sqrt();
    let w: Vec<f32> = (0..n_in * n_out).map(|_| rng.uniform(bound)).collect();
    let b: Vec<f32> = (0..n_out).map(|_| rng.uniform(bound)).collect();
    let w = g.param(&format!("{name}.weight"), &Tensor::new(&[n_out, n_in], w)?)?;
    let b = g.param(&format!("{name}.bias"), &Tensor::new(&[n_out], b)?)?;
    Ok((w, b))
}

/// logits = fc2(relu(fc1(reshape(image, [B, 64])))), with y = x W^T + b.
fn define(hidden: usize) -> hodu::Result<Graph> {
    let g = Graph::new("digits_mlp")?;
    let mut rng = Lcg(42);
    let image = g.input("image", DType::F32, &[Size::sym("B"), 1.into(), 8.into(), 8.into()])?;
    let (w1, b1) = linear(&g, &mut rng, "fc1", 64, hidden)?;
    let (w2, b2) = linear(&g, &mut rng, "fc2", hidden, 10)?;
    let x = image.reshape(&[0, 64])?;
    let h = (x.matmul(&w1.transpose(None)?)? + b1)?.relu()?;
    let logits = (h.matmul(&w2.transpose(None)?)? + b2)?;
    g.output(&logits, "logits")?;
    Ok(g)
}

fn run(data: &Path, epochs: usize) -> Result<(), Box<dyn std::error::Error>> {
    let batch = 30;
    let g = define(64)?;
    let step: Model = g.load(&CompileOptions::new().dim("B", batch).train("cross_entropy", "adamw"))?;
    let eval: Model = g.load(&CompileOptions::new().dim("B", batch).train_eval())?;
    drop(g); // the models keep nothing of the graph
    let mut tr = Trainer::new(&step)?;
    tr.attach_eval(&eval)?;
    let d = Digits::read(data)?;
    let trained = digits::train(&mut tr, &d, batch, epochs)?;
    digits::save_and_reload(&tr, &step, &eval, &d, batch, trained, &data.join("mlp_from_code.safetensors"))
}
