//! Training an MLP through Trainer: the loss falls, and a checkpoint
//! loaded into a fresh trainer gives the same parameters and outputs.

mod common;

use common::*;
use hodu::{Model, Tensor, Trainer};

#[test]
fn loss_falls_and_checkpoints_restore_the_outputs() {
    let src = mlp(16);
    let step = Model::open(build_script(
        "mlp-step",
        &src,
        &["--dim", "B=6", "--train", "--loss", "cross_entropy", "--optimizer", "adam"],
    ))
    .unwrap();
    let eval = Model::open(build_script("mlp-eval", &src, &["--dim", "B=6", "--train-eval"])).unwrap();
    assert!(step.is_training_step());
    let mut tr = Trainer::new(&step).unwrap();
    let names: Vec<&str> = tr.inputs().iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["x", "target"]);
    assert!(tr.state().iter().any(|s| s.name == "fc1.weight.adam_m"));
    tr.attach_eval(&eval).unwrap();

    let mut first = 0.0;
    let mut last = 0.0;
    for epoch in 0..40 {
        let mut total = 0.0;
        for b in 0..10 {
            let (x, y) = batch(b);
            let x = Tensor::new(&[6, 4], x).unwrap();
            let y = Tensor::new(&[6], y).unwrap();
            total += if b % 2 == 0 {
                tr.step(&[&x, &y], 0.02).unwrap()
            } else {
                tr.step_named(&[("target", &y), ("x", &x)], 0.02).unwrap()
            };
        }
        if epoch == 0 {
            first = total;
        }
        last = total;
    }
    assert!(last < first * 0.6, "loss went from {first} to {last}");

    let dir = scratch("mlp-ckpt");
    let ckpt = dir.join("ckpt.safetensors");
    tr.save(&ckpt).unwrap();
    let (x, _) = batch(99);
    let x = Tensor::new(&[6, 4], x).unwrap();
    let before = tr.eval(&[&x]).unwrap();
    assert_eq!(before[0].shape(), [6, 3]);

    let mut fresh = Trainer::new(&step).unwrap();
    fresh.attach_eval(&eval).unwrap();
    assert_ne!(fresh.get("fc1.weight").unwrap(), tr.get("fc1.weight").unwrap());
    fresh.load(&ckpt).unwrap();
    for s in tr.state() {
        assert_eq!(fresh.get(&s.name).unwrap(), tr.get(&s.name).unwrap(), "{}", s.name);
    }
    let after = fresh.eval(&[&x]).unwrap();
    assert_eq!(after[0], before[0]);

    // the checkpoint as a file: every state tensor, as the trainer has it;
    // and a file written from Rust loads back into a trainer
    let file = hodu::read_safetensors(&ckpt).unwrap();
    assert_eq!(file.len(), tr.state().len());
    for (name, value) in &file {
        assert_eq!(*value, tr.get(name).unwrap(), "{name}");
    }
    let pairs: Vec<(&str, &dyn hodu::TensorRef)> =
        file.iter().map(|(n, v)| (n.as_str(), v as &dyn hodu::TensorRef)).collect();
    let copy = dir.join("copy.safetensors");
    hodu::write_safetensors(&copy, &pairs).unwrap();
    let mut third = Trainer::new(&step).unwrap();
    third.load(&copy).unwrap();
    assert_eq!(third.get("fc2.weight").unwrap(), tr.get("fc2.weight").unwrap());
    std::fs::write(dir.join("junk.safetensors"), b"\x08\0\0\0\0\0\0\0{\"a\":1}").unwrap();
    assert!(hodu::read_safetensors(dir.join("junk.safetensors")).is_err());

    // set and get a parameter by name
    let w = Tensor::new(&[3], vec![0.5f32, -0.5, 2.0]).unwrap();
    fresh.set("fc2.bias", &w).unwrap();
    assert_eq!(fresh.get_as::<f32>("fc2.bias").unwrap(), w);
}
