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

use hodu::{Model, Trainer};

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

#[path = "common/digits.rs"]
mod digits;

fn train(step: &str, eval: &str, data: &std::path::Path, epochs: usize) -> Result<(), Box<dyn std::error::Error>> {
    let step = Model::open(step)?;
    let eval = Model::open(eval)?;
    let mut tr = Trainer::new(&step)?;
    tr.attach_eval(&eval)?;
    let d = digits::Digits::read(data)?;
    // the batch the step was built for: its first input's first dim
    let batch = tr.inputs()[0].max_shape().ok_or("unbounded batch")?[0];
    let trained = digits::train(&mut tr, &d, batch, epochs)?;
    digits::save_and_reload(&tr, &step, &eval, &d, batch, trained, &data.join("mlp.safetensors"))
}
