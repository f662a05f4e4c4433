//! Every misuse is an error with the right kind and a message naming the
//! cause; none panics or reaches the model's code.

mod common;

use common::*;
use hodu::{ErrorKind, Model, Tensor, Trainer, Value};

fn affine() -> Model {
    Model::open(build_script("affine", AFFINE, &["--dim", "B=1..4"])).unwrap()
}

fn ones(shape: &[usize]) -> Tensor<f32> {
    let n = shape.iter().product();
    Tensor::new(shape, vec![1.0; n]).unwrap()
}

#[test]
fn wrong_dtype_is_a_dtype_error() {
    let m = affine();
    let mut inst = m.instance().unwrap();
    let x = Tensor::<f64>::new(&[1, 3], vec![1.0; 3]).unwrap();
    let y = ones(&[1, 3]);
    let e = inst.run(&[&x, &y]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DType, "{e}");
    assert!(!e.message().is_empty());
    // an output read as the wrong type
    let out = inst.run(&[&y, &y]).unwrap();
    let e = out[0].as_slice::<i64>().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DType);
    assert!(e.message().contains("float32") && e.message().contains("int64"), "{e}");
    assert_eq!(out[0].clone().into_tensor::<u8>().unwrap_err().kind(), ErrorKind::DType);
}

#[test]
fn wrong_shape_is_a_shape_error() {
    let m = affine();
    let mut inst = m.instance().unwrap();
    let y = ones(&[1, 3]);
    for bad in [&[1usize, 4][..], &[5, 3], &[3], &[1, 1, 3]] {
        let e = inst.run(&[&ones(bad), &y]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Shape, "{bad:?}: {e}");
    }
    // the two inputs share B: 2 and 1 disagree
    let e = inst.run(&[&ones(&[2, 3]), &y]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Shape, "{e}");
    // a tensor whose data does not fill its shape cannot be made
    assert_eq!(Tensor::new(&[2, 3], vec![1.0f32; 5]).unwrap_err().kind(), ErrorKind::Shape);
    assert_eq!(Tensor::<u8>::zeros(&[1; 9]).unwrap_err().kind(), ErrorKind::Shape);
    assert_eq!(Tensor::new(&[3], vec![1i32; 3]).unwrap().reshape(&[2]).unwrap_err().kind(), ErrorKind::Shape);
}

#[test]
fn wrong_input_name_names_the_inputs() {
    let m = affine();
    let mut inst = m.instance().unwrap();
    let t = ones(&[1, 3]);
    let e = inst.run_named(&[("x", &t), ("z", &t)]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArg);
    assert!(e.message().contains("'z'") && e.message().contains("x, y"), "{e}");
    let out = inst.run(&[&t, &t]).unwrap();
    assert!(out.get("nope").is_none());
    assert_eq!(out.by_name("nope").unwrap_err().kind(), ErrorKind::InvalidArg);
}

#[test]
fn missing_repeated_or_extra_inputs() {
    let m = affine();
    let mut inst = m.instance().unwrap();
    let t = ones(&[1, 3]);
    let e = inst.run_named(&[("x", &t)]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArg);
    assert!(e.message().contains("'y' is missing"), "{e}");
    let e = inst.run_named(&[("x", &t), ("x", &t), ("y", &t)]).unwrap_err();
    assert!(e.message().contains("twice"), "{e}");
    // positional: one input too few or too many
    assert_eq!(inst.run(&[&t]).unwrap_err().kind(), ErrorKind::Count);
    assert_eq!(inst.run(&[&t, &t, &t]).unwrap_err().kind(), ErrorKind::Count);
}

#[test]
fn files_that_are_not_models() {
    let dir = scratch("notmodel");
    let e = Model::open(dir.join("missing.so")).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Io | ErrorKind::Format), "{e:?}");
    std::fs::write(dir.join("junk.so"), b"not an ELF file").unwrap();
    assert!(Model::open(dir.join("junk.so")).is_err());
    // a plain model is no training step
    let e = Trainer::new(&affine()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArg, "{e}");
}

#[test]
fn truncated_and_bad_npy_files() {
    let dir = scratch("badnpy");
    let good = dir.join("good.npy");
    Tensor::new(&[4, 5], (0..20).map(|i| i as f32).collect()).unwrap().write_npy(&good).unwrap();
    let bytes = std::fs::read(&good).unwrap();
    // cut inside the data, inside the header, and an empty file
    for (name, keep) in [("data", bytes.len() - 3), ("header", 20), ("empty", 0)] {
        let p = dir.join(format!("cut-{name}.npy"));
        std::fs::write(&p, &bytes[..keep]).unwrap();
        let e = Tensor::<f32>::read_npy(&p).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::Format | ErrorKind::Io), "{name}: {e:?}");
        assert!(Value::read_npy(&p).is_err());
    }
    let mut magic = bytes.clone();
    magic[1] = b'X';
    std::fs::write(dir.join("magic.npy"), &magic).unwrap();
    assert_eq!(Tensor::<f32>::read_npy(dir.join("magic.npy")).unwrap_err().kind(), ErrorKind::Format);
    // a good file of another element type
    let e = Tensor::<i64>::read_npy(&good).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DType, "{e}");
    // a bool byte of 2 reads as true, as numpy reads it (the runtime's
    // reader keeps bools 0/1, so no invalid bool can come out)
    let b = dir.join("bool.npy");
    Tensor::new(&[3], vec![true, false, true]).unwrap().write_npy(&b).unwrap();
    let mut raw = std::fs::read(&b).unwrap();
    let last = raw.len() - 1;
    raw[last] = 2;
    std::fs::write(&b, &raw).unwrap();
    assert_eq!(Tensor::<bool>::read_npy(&b).unwrap().data(), [true, false, true]);
    assert_eq!(Tensor::<f32>::read_npy(dir.join("none.npy")).unwrap_err().kind(), ErrorKind::Io);
}

#[test]
fn checkpoint_of_another_model_is_refused_whole() {
    let small =
        Model::open(build_script("ck-a", &mlp(8), &["--dim", "B=6", "--train", "--loss", "cross_entropy"])).unwrap();
    let other =
        Model::open(build_script("ck-b", &mlp(5), &["--dim", "B=6", "--train", "--loss", "cross_entropy"])).unwrap();
    let dir = scratch("ckpt");
    let mut a = Trainer::new(&small).unwrap();
    a.save(dir.join("a.safetensors")).unwrap();
    let mut b = Trainer::new(&other).unwrap();
    let before = b.get("fc1.weight").unwrap();
    let e = b.load(dir.join("a.safetensors")).unwrap_err();
    assert!(!e.message().is_empty());
    assert_eq!(b.get("fc1.weight").unwrap(), before, "a refused load changed the state");
    assert!(a.load(dir.join("none.safetensors")).is_err());
}

#[test]
fn trainer_misuse() {
    let step =
        Model::open(build_script("tr-m", &mlp(8), &["--dim", "B=6", "--train", "--loss", "cross_entropy"])).unwrap();
    let mut a = Trainer::new(&step).unwrap();
    // a state name that does not exist, a wrong shape, a wrong dtype
    assert_eq!(a.get("fc9.weight").unwrap_err().kind(), ErrorKind::InvalidArg);
    let e = a.set("fc1.weight", &Tensor::<f32>::zeros(&[5, 4]).unwrap()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Shape, "{e}");
    let e = a.set("fc1.weight", &Tensor::<f64>::zeros(&[8, 4]).unwrap()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DType, "{e}");
    // a batch of the wrong dtype, and eval without a forward pass
    let x = Tensor::<f32>::zeros(&[6, 4]).unwrap();
    let wrong = Tensor::<f32>::zeros(&[6]).unwrap();
    assert_eq!(a.step(&[&x, &wrong], 0.1).unwrap_err().kind(), ErrorKind::DType);
    assert_eq!(a.eval(&[&x]).unwrap_err().kind(), ErrorKind::InvalidArg);
}
