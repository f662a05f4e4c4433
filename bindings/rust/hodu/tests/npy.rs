//! .npy files: every element type round-trips, and a file written byte by
//! byte here as numpy lays it out reads back.

mod common;

use common::scratch;
use hodu::{DType, Element, Tensor, Value};

fn round_trip<T: Element>(data: Vec<T>, shape: &[usize]) {
    let dir = scratch("npy");
    let p = dir.join("t.npy");
    let t = Tensor::new(shape, data).unwrap();
    t.write_npy(&p).unwrap();
    assert_eq!(Tensor::<T>::read_npy(&p).unwrap(), t);
    let v = Value::read_npy(&p).unwrap();
    assert_eq!(v.dtype(), T::DTYPE);
    assert_eq!(v.shape(), shape);
    assert_eq!(v.into_tensor::<T>().unwrap(), t);
}

#[test]
fn every_element_type_round_trips() {
    round_trip(vec![1.5f32, -2.0, f32::MAX, 0.0, 1e-30, 7.0], &[2, 3]);
    round_trip(vec![1.5f64, -2.25], &[2]);
    round_trip(vec![-128i8, 127], &[2, 1]);
    round_trip(vec![-3i16, 300], &[1, 2]);
    round_trip(vec![i32::MIN, 0, i32::MAX], &[3]);
    round_trip(vec![i64::MIN, 5, i64::MAX, -1], &[2, 2]);
    round_trip(vec![0u8, 255], &[2]);
    round_trip(vec![65535u16], &[1]);
    round_trip(vec![u32::MAX, 1], &[2]);
    round_trip(vec![u64::MAX], &[1, 1, 1]);
    round_trip(vec![true, false, true, true], &[4]);
    round_trip(vec![42i64], &[]);
    round_trip(Vec::<f32>::new(), &[0, 3]);
}

#[test]
fn reads_a_numpy_layout_written_by_hand() {
    // np.save of np.arange(6, dtype='<i4').reshape(2, 3): format 1.0, the
    // header padded with spaces to a multiple of 64 bytes, ending in '\n'
    let mut header = b"{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }".to_vec();
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(b' ');
    }
    header.push(b'\n');
    let mut file = b"\x93NUMPY\x01\x00".to_vec();
    file.extend((header.len() as u16).to_le_bytes());
    file.extend(&header);
    for i in 0..6i32 {
        file.extend(i.to_le_bytes());
    }
    let p = scratch("npyhand").join("a.npy");
    std::fs::write(&p, &file).unwrap();
    let t = Tensor::<i32>::read_npy(&p).unwrap();
    assert_eq!(t.shape(), [2, 3]);
    assert_eq!(t.data(), [0, 1, 2, 3, 4, 5]);
    assert_eq!(DType::I32.name(), "int32");
    // fortran order is refused: "False," becomes "True ,"
    let at = file.windows(5).position(|w| w == b"False").unwrap();
    file[at..at + 5].copy_from_slice(b"True ");
    std::fs::write(&p, &file).unwrap();
    let e = Tensor::<i32>::read_npy(&p).unwrap_err();
    assert_eq!(e.kind(), hodu::ErrorKind::Unsupported, "{e}");
}
