//! Classifies images with a compiled model: the scores of its first
//! float output of rank 2 (`[batch, classes]`) give each image's class.
//!
//!     hodu --build examples/digits/digits.onnx -o digits.so
//!     cargo run --example classify -- digits.so examples/digits/images.npy [examples/digits/labels.txt]
//!
//! With a labels file (whitespace-separated class numbers) it also counts
//! the right answers.

use std::process::ExitCode;

use hodu::{DType, Model, Value};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: classify MODEL.so IMAGES.npy [LABELS.txt]");
        return ExitCode::from(2);
    }
    match classify(&args[1], &args[2], args.get(3).map(String::as_str)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("classify: {e}");
            ExitCode::FAILURE
        }
    }
}

fn classify(model: &str, images: &str, labels: Option<&str>) -> Result<(), Box<dyn std::error::Error>> {
    let model = Model::open(model)?;
    let input = model.inputs().first().ok_or("the model has no inputs")?;
    let images = Value::read_npy(images)?;
    println!(
        "{}: input '{}' {:?}, images {} {:?}",
        model.name(),
        input.name,
        input.dims,
        images.dtype(),
        images.shape()
    );

    let mut inst = model.instance()?;
    let out = inst.run(&[&images])?;
    let (name, scores) = out
        .iter()
        .find(|(_, v)| v.dtype() == DType::F32 && v.shape().len() == 2)
        .ok_or("the model has no float32 [batch, classes] output")?;
    let (batch, classes) = (scores.shape()[0], scores.shape()[1]);
    let scores = scores.as_slice::<f32>()?;

    let truth: Option<Vec<usize>> = match labels {
        Some(p) => Some(std::fs::read_to_string(p)?.split_whitespace().map(str::parse).collect::<Result<_, _>>()?),
        None => None,
    };
    let mut right = 0;
    for k in 0..batch {
        let row = &scores[k * classes..(k + 1) * classes];
        let best = (0..classes).max_by(|a, b| row[*a].total_cmp(&row[*b])).unwrap_or(0);
        // softmax probability of the winner, for the reader
        let total: f32 = row.iter().map(|s| (s - row[best]).exp()).sum();
        let mark = match truth.as_ref().and_then(|t| t.get(k)) {
            Some(t) if *t == best => {
                right += 1;
                "  right"
            }
            Some(_) => "  WRONG",
            None => "",
        };
        println!("image {k}: class {best} (p = {:.3}, from '{name}'){mark}", 1.0 / total);
    }
    if truth.is_some() {
        println!("{right}/{batch} right");
    }
    Ok(())
}
