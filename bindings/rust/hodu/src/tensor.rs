//! Element types, typed tensors ([`Tensor<T>`]), tensors whose type is
//! known only at run time ([`Value`]), and .npy files.

use std::ffi::{c_void, CStr};
use std::fmt;
use std::path::Path;

use hodu_sys as sys;

use crate::error::{c_path, check, new_c_error, Error, ErrorKind, Result};

/// Element type of a tensor, as libhodu_rt numbers them (ONNX's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DType {
    /// float32
    F32,
    /// float64
    F64,
    /// float16 (described by models; no Rust element type yet)
    F16,
    /// bfloat16 (described by models; no Rust element type yet)
    BF16,
    /// int8
    I8,
    /// int16
    I16,
    /// int32
    I32,
    /// int64
    I64,
    /// uint8
    U8,
    /// uint16
    U16,
    /// uint32
    U32,
    /// uint64
    U64,
    /// bool, one byte per element
    Bool,
    /// strings (described by models; not handled by this crate yet)
    String,
    /// any other `hodu_dtype` (8-, 4- and 2-bit types); its number
    Other(i32),
}

impl DType {
    /// The `hodu_dtype` number.
    pub fn to_raw(self) -> i32 {
        match self {
            DType::F32 => sys::HODU_DTYPE_F32,
            DType::F64 => sys::HODU_DTYPE_F64,
            DType::F16 => sys::HODU_DTYPE_F16,
            DType::BF16 => sys::HODU_DTYPE_BF16,
            DType::I8 => sys::HODU_DTYPE_I8,
            DType::I16 => sys::HODU_DTYPE_I16,
            DType::I32 => sys::HODU_DTYPE_I32,
            DType::I64 => sys::HODU_DTYPE_I64,
            DType::U8 => sys::HODU_DTYPE_U8,
            DType::U16 => sys::HODU_DTYPE_U16,
            DType::U32 => sys::HODU_DTYPE_U32,
            DType::U64 => sys::HODU_DTYPE_U64,
            DType::Bool => sys::HODU_DTYPE_BOOL,
            DType::String => sys::HODU_DTYPE_STRING,
            DType::Other(n) => n,
        }
    }

    /// The dtype of a `hodu_dtype` number.
    pub fn from_raw(raw: i32) -> DType {
        match raw {
            sys::HODU_DTYPE_F32 => DType::F32,
            sys::HODU_DTYPE_F64 => DType::F64,
            sys::HODU_DTYPE_F16 => DType::F16,
            sys::HODU_DTYPE_BF16 => DType::BF16,
            sys::HODU_DTYPE_I8 => DType::I8,
            sys::HODU_DTYPE_I16 => DType::I16,
            sys::HODU_DTYPE_I32 => DType::I32,
            sys::HODU_DTYPE_I64 => DType::I64,
            sys::HODU_DTYPE_U8 => DType::U8,
            sys::HODU_DTYPE_U16 => DType::U16,
            sys::HODU_DTYPE_U32 => DType::U32,
            sys::HODU_DTYPE_U64 => DType::U64,
            sys::HODU_DTYPE_BOOL => DType::Bool,
            sys::HODU_DTYPE_STRING => DType::String,
            n => DType::Other(n),
        }
    }

    /// The name numpy and ONNX use ("float32"), from the runtime.
    pub fn name(self) -> &'static str {
        // SAFETY: hodu_dtype_name takes any value and returns a static
        // NUL-terminated ASCII string ("undefined" for unknown ones).
        let c = unsafe { CStr::from_ptr(sys::hodu_dtype_name(self.to_raw())) };
        c.to_str().unwrap_or("undefined")
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

pub(crate) mod sealed {
    /// The elements of a tensor, one variant per [`super::Element`] type.
    #[derive(Debug, Clone, PartialEq)]
    pub enum Data {
        F32(Vec<f32>),
        F64(Vec<f64>),
        I8(Vec<i8>),
        I16(Vec<i16>),
        I32(Vec<i32>),
        I64(Vec<i64>),
        U8(Vec<u8>),
        U16(Vec<u16>),
        U32(Vec<u32>),
        U64(Vec<u64>),
        Bool(Vec<bool>),
    }

    /// Keeps [`super::Element`] to the types listed here.
    pub trait Sealed: Sized {
        fn wrap(v: Vec<Self>) -> Data;
        fn unwrap(d: Data) -> Result<Vec<Self>, Data>;
        fn peek(d: &Data) -> Option<&[Self]>;
    }
}
use sealed::Data;

/// A Rust type that is a tensor element libhodu_rt handles: `f32`, `f64`,
/// `i8`, `i16`, `i32`, `i64`, `u8`, `u16`, `u32`, `u64` and `bool`.
/// Sealed: the list is the runtime's, not open to other types.
pub trait Element: sealed::Sealed + Copy + Default + PartialEq + fmt::Debug + Send + Sync + 'static {
    /// The runtime's dtype for this type.
    const DTYPE: DType;
}

macro_rules! element {
    ($($t:ty => $variant:ident),* $(,)?) => {$(
        impl sealed::Sealed for $t {
            fn wrap(v: Vec<Self>) -> Data {
                Data::$variant(v)
            }
            fn unwrap(d: Data) -> std::result::Result<Vec<Self>, Data> {
                match d {
                    Data::$variant(v) => Ok(v),
                    other => Err(other),
                }
            }
            fn peek(d: &Data) -> Option<&[Self]> {
                match d {
                    Data::$variant(v) => Some(v),
                    _ => None,
                }
            }
        }
        impl Element for $t {
            const DTYPE: DType = DType::$variant;
        }
    )*};
}
element!(f32 => F32, f64 => F64, i8 => I8, i16 => I16, i32 => I32, i64 => I64,
         u8 => U8, u16 => U16, u32 => U32, u64 => U64, bool => Bool);

/// Applies `$body` to the vector inside any Data variant.
macro_rules! each_data {
    ($d:expr, $v:ident => $body:expr) => {
        match $d {
            Data::F32($v) => $body,
            Data::F64($v) => $body,
            Data::I8($v) => $body,
            Data::I16($v) => $body,
            Data::I32($v) => $body,
            Data::I64($v) => $body,
            Data::U8($v) => $body,
            Data::U16($v) => $body,
            Data::U32($v) => $body,
            Data::U64($v) => $body,
            Data::Bool($v) => $body,
        }
    };
}

impl Data {
    fn dtype(&self) -> DType {
        match self {
            Data::F32(_) => DType::F32,
            Data::F64(_) => DType::F64,
            Data::I8(_) => DType::I8,
            Data::I16(_) => DType::I16,
            Data::I32(_) => DType::I32,
            Data::I64(_) => DType::I64,
            Data::U8(_) => DType::U8,
            Data::U16(_) => DType::U16,
            Data::U32(_) => DType::U32,
            Data::U64(_) => DType::U64,
            Data::Bool(_) => DType::Bool,
        }
    }

    fn len(&self) -> usize {
        each_data!(self, v => v.len())
    }

    fn byte_len(&self) -> usize {
        each_data!(self, v => std::mem::size_of_val(v.as_slice()))
    }

    fn as_ptr(&self) -> *const c_void {
        each_data!(self, v => v.as_ptr().cast())
    }

    fn as_mut_ptr(&mut self) -> *mut c_void {
        each_data!(self, v => v.as_mut_ptr().cast())
    }

    fn truncate(&mut self, n: usize) {
        each_data!(self, v => v.truncate(n))
    }

    fn resize(&mut self, n: usize) {
        each_data!(self, v => v.resize(n, Default::default()))
    }

    /// `n` zeros the runtime may write `dtype` elements into.  bool gets
    /// bytes: the model's bytes become `bool`s only through `!= 0`
    /// ([`Value::out_abandon`]), so a stray byte cannot make an invalid `bool`.
    fn buffer(dtype: DType, n: usize) -> Result<Data> {
        Ok(match dtype {
            DType::F32 => Data::F32(vec![0.0; n]),
            DType::F64 => Data::F64(vec![0.0; n]),
            DType::I8 => Data::I8(vec![0; n]),
            DType::I16 => Data::I16(vec![0; n]),
            DType::I32 => Data::I32(vec![0; n]),
            DType::I64 => Data::I64(vec![0; n]),
            DType::U8 | DType::Bool => Data::U8(vec![0; n]),
            DType::U16 => Data::U16(vec![0; n]),
            DType::U32 => Data::U32(vec![0; n]),
            DType::U64 => Data::U64(vec![0; n]),
            other => {
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    format!("the Rust binding has no element type for {other} tensors"),
                ))
            }
        })
    }

    /// Elements of `dtype` from native-endian bytes, strictly: bool bytes
    /// must be 0 or 1.
    fn from_bytes(dtype: DType, bytes: &[u8]) -> Result<Data> {
        macro_rules! conv {
            ($t:ty, $variant:ident) => {
                Data::$variant(
                    bytes
                        .chunks_exact(std::mem::size_of::<$t>())
                        .map(|c| <$t>::from_ne_bytes(c.try_into().expect("chunks_exact gives whole elements")))
                        .collect(),
                )
            };
        }
        Ok(match dtype {
            DType::F32 => conv!(f32, F32),
            DType::F64 => conv!(f64, F64),
            DType::I8 => conv!(i8, I8),
            DType::I16 => conv!(i16, I16),
            DType::I32 => conv!(i32, I32),
            DType::I64 => conv!(i64, I64),
            DType::U8 => Data::U8(bytes.to_vec()),
            DType::U16 => conv!(u16, U16),
            DType::U32 => conv!(u32, U32),
            DType::U64 => conv!(u64, U64),
            DType::Bool => {
                if let Some(b) = bytes.iter().find(|b| **b > 1) {
                    return Err(Error::new(ErrorKind::Format, format!("a bool element holds {b}, not 0 or 1")));
                }
                Data::Bool(bytes.iter().map(|b| *b == 1).collect())
            }
            other => {
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    format!("the Rust binding has no element type for {other} tensors"),
                ))
            }
        })
    }
}

fn numel(shape: &[usize]) -> Result<usize> {
    shape.iter().try_fold(1usize, |n, d| n.checked_mul(*d)).ok_or_else(|| {
        Error::new(ErrorKind::Shape, format!("shape {shape:?} has more elements than memory can address"))
    })
}

fn check_len(shape: &[usize], len: usize) -> Result<()> {
    if shape.len() > sys::HODU_MAX_RANK {
        return Err(Error::new(
            ErrorKind::Shape,
            format!("shape {shape:?} has rank {}; the runtime takes at most {}", shape.len(), sys::HODU_MAX_RANK),
        ));
    }
    let n = numel(shape)?;
    if n != len {
        return Err(Error::new(ErrorKind::Shape, format!("shape {shape:?} holds {n} elements, the data has {len}")));
    }
    Ok(())
}

/// A dense row-major tensor of `T` elements.  Its element type is known at
/// compile time: a `Tensor<f32>` can only be made from `f32`s.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor<T: Element> {
    shape: Vec<usize>,
    data: Vec<T>,
}

impl<T: Element> Tensor<T> {
    /// A tensor of `shape` over `data` (row-major); an error when their
    /// sizes differ or the rank is above the runtime's limit.
    pub fn new(shape: &[usize], data: Vec<T>) -> Result<Tensor<T>> {
        check_len(shape, data.len())?;
        Ok(Tensor { shape: shape.to_vec(), data })
    }

    /// A tensor of `shape` with a copy of `data`.
    pub fn from_slice(shape: &[usize], data: &[T]) -> Result<Tensor<T>> {
        Tensor::new(shape, data.to_vec())
    }

    /// A tensor of `shape` filled with zeros (`false`).
    pub fn zeros(shape: &[usize]) -> Result<Tensor<T>> {
        let n = numel(shape)?;
        Tensor::new(shape, vec![T::default(); n])
    }

    /// A rank-0 tensor holding `value`.
    pub fn scalar(value: T) -> Tensor<T> {
        Tensor { shape: Vec::new(), data: vec![value] }
    }

    /// The dims.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether it has no elements (a zero dim).
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The elements, row-major.
    pub fn data(&self) -> &[T] {
        &self.data
    }

    /// The elements, row-major, to change in place.
    pub fn data_mut(&mut self) -> &mut [T] {
        &mut self.data
    }

    /// The elements, row-major.
    pub fn into_vec(self) -> Vec<T> {
        self.data
    }

    /// The same elements under another shape of the same size.
    pub fn reshape(self, shape: &[usize]) -> Result<Tensor<T>> {
        Tensor::new(shape, self.data)
    }

    /// Reads a .npy file holding `T` elements (libhodu_rt's reader: format
    /// 1.0 to 3.0, C order, sizes checked against the file).  A file of
    /// another element type is a [`ErrorKind::DType`] error; a bad or
    /// truncated file an [`ErrorKind::Format`] or [`ErrorKind::Io`] one.
    pub fn read_npy(path: impl AsRef<Path>) -> Result<Tensor<T>> {
        Value::read_npy_as(path.as_ref(), Some(T::DTYPE))?.into_tensor()
    }

    /// Writes a .npy file (format 1.0; through a temporary file, so a
    /// failure leaves none behind).
    pub fn write_npy(&self, path: impl AsRef<Path>) -> Result<()> {
        write_npy(path.as_ref(), self)
    }
}

impl<T: Element> From<Vec<T>> for Tensor<T> {
    /// A rank-1 tensor.
    fn from(data: Vec<T>) -> Tensor<T> {
        Tensor { shape: vec![data.len()], data }
    }
}

/// A tensor whose element type is known at run time: a model's output, a
/// trainer's state tensor, a .npy file of any type.
#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    shape: Vec<usize>,
    data: Data,
}

impl Value {
    /// The element type.
    pub fn dtype(&self) -> DType {
        self.data.dtype()
    }

    /// The dims.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether it has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The elements as `T`s, or an [`ErrorKind::DType`] error naming both
    /// types when they are of another type.
    pub fn as_slice<T: Element>(&self) -> Result<&[T]> {
        T::peek(&self.data).ok_or_else(|| self.dtype_error(T::DTYPE))
    }

    /// A typed tensor, or an [`ErrorKind::DType`] error.
    pub fn into_tensor<T: Element>(self) -> Result<Tensor<T>> {
        let dtype = self.dtype();
        match T::unwrap(self.data) {
            Ok(data) => Ok(Tensor { shape: self.shape, data }),
            Err(_) => Err(Error::new(ErrorKind::DType, format!("the tensor holds {dtype}, not {}", T::DTYPE))),
        }
    }

    /// A typed copy, or an [`ErrorKind::DType`] error.
    pub fn to_tensor<T: Element>(&self) -> Result<Tensor<T>> {
        Ok(Tensor { shape: self.shape.clone(), data: self.as_slice::<T>()?.to_vec() })
    }

    /// Reads a .npy file of any element type this crate handles.
    pub fn read_npy(path: impl AsRef<Path>) -> Result<Value> {
        Value::read_npy_as(path.as_ref(), None)
    }

    /// Writes a .npy file (format 1.0, atomically).
    pub fn write_npy(&self, path: impl AsRef<Path>) -> Result<()> {
        write_npy(path.as_ref(), self)
    }

    fn dtype_error(&self, want: DType) -> Error {
        Error::new(ErrorKind::DType, format!("the tensor holds {}, not {want}", self.dtype()))
    }

    fn read_npy_as(path: &Path, expect: Option<DType>) -> Result<Value> {
        let cpath = c_path(path)?;
        let mut t = empty_c_tensor();
        let mut err = new_c_error();
        // SAFETY: cpath is a NUL-terminated string, t and err are valid for
        // writes; on success t owns memory we free below.
        let status = match expect {
            // SAFETY: as above.
            Some(d) => unsafe { sys::hodu_npy_read_as(cpath.as_ptr(), d.to_raw(), &mut t, &mut err) },
            // SAFETY: as above.
            None => unsafe { sys::hodu_npy_read(cpath.as_ptr(), &mut t, &mut err) },
        };
        check(status, &err)?;
        let owned = OwnedCTensor(t);
        let dtype = DType::from_raw(owned.0.dtype);
        if let Some(want) = expect {
            if dtype != want {
                return Err(Error::new(
                    ErrorKind::DType,
                    format!("{} holds {dtype} elements, not {want}", path.display()),
                ));
            }
        }
        let shape = c_shape(&owned.0)?;
        let n = numel(&shape)?;
        // SAFETY: hodu_dtype_size takes any value.
        let size = unsafe { sys::hodu_dtype_size(owned.0.dtype) };
        let nbytes = n.checked_mul(size).filter(|b| *b <= owned.0.nbytes).ok_or_else(|| {
            Error::new(ErrorKind::Format, format!("{}: the data is smaller than its shape", path.display()))
        })?;
        let bytes: &[u8] = if nbytes == 0 {
            &[]
        } else {
            // SAFETY: the reader allocated owned.0.nbytes >= nbytes bytes
            // at data, which stay alive until `owned` drops after this use.
            unsafe { std::slice::from_raw_parts(owned.0.data.cast::<u8>(), nbytes) }
        };
        let data =
            Data::from_bytes(dtype, bytes).map_err(|e| Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        Ok(Value { shape, data })
    }
}

impl<T: Element> From<Tensor<T>> for Value {
    fn from(t: Tensor<T>) -> Value {
        Value { shape: t.shape, data: T::wrap(t.data) }
    }
}

/// A tensor libhodu_rt can read: [`Tensor<T>`] and [`Value`].  Inputs of
/// runs and steps are `&dyn TensorRef`s, so tensors of different element
/// types go in one list: `inst.run(&[&images, &labels])`.  Sealed.
pub trait TensorRef: sealed_ref::Sealed {
    /// The element type.
    fn dtype(&self) -> DType;
    /// The dims.
    fn shape(&self) -> &[usize];
}

pub(crate) mod sealed_ref {
    /// The data pointer and its size in bytes, for the runtime to read.
    pub trait Sealed {
        fn raw(&self) -> (*const std::ffi::c_void, usize);
    }
}

impl<T: Element> sealed_ref::Sealed for Tensor<T> {
    fn raw(&self) -> (*const c_void, usize) {
        (self.data.as_ptr().cast(), std::mem::size_of_val(self.data.as_slice()))
    }
}

impl<T: Element> TensorRef for Tensor<T> {
    fn dtype(&self) -> DType {
        T::DTYPE
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
}

impl sealed_ref::Sealed for Value {
    fn raw(&self) -> (*const c_void, usize) {
        (self.data.as_ptr(), self.data.byte_len())
    }
}

impl TensorRef for Value {
    fn dtype(&self) -> DType {
        self.data.dtype()
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
}

pub(crate) fn empty_c_tensor() -> sys::hodu_tensor {
    sys::hodu_tensor {
        dtype: sys::HODU_DTYPE_UNDEFINED,
        rank: 0,
        dims: [0; sys::HODU_MAX_RANK],
        data: std::ptr::null_mut(),
        nbytes: 0,
    }
}

/// A tensor the runtime allocated, freed on drop.
struct OwnedCTensor(sys::hodu_tensor);

impl Drop for OwnedCTensor {
    fn drop(&mut self) {
        // SAFETY: the runtime allocated this tensor's data (npy reader),
        // and nothing uses it after the drop.
        unsafe { sys::hodu_tensor_free(&mut self.0) }
    }
}

/// The dims of a C tensor, checked: rank within the limit, none negative.
fn c_dims(t: &sys::hodu_tensor) -> Result<&[i64]> {
    let rank = usize::try_from(t.rank)
        .ok()
        .filter(|r| *r <= sys::HODU_MAX_RANK)
        .ok_or_else(|| Error::new(ErrorKind::Format, format!("the runtime reported rank {}", t.rank)))?;
    let dims = &t.dims[..rank];
    match dims.iter().find(|d| usize::try_from(**d).is_err()) {
        Some(d) => Err(Error::new(ErrorKind::Format, format!("the runtime reported dim {d}"))),
        None => Ok(dims),
    }
}

/// The shape in a C tensor, checked.
pub(crate) fn c_shape(t: &sys::hodu_tensor) -> Result<Vec<usize>> {
    Ok(c_dims(t)?.iter().map(|d| *d as usize).collect()) // c_dims checked each converts
}

/// A C view of a tensor the runtime reads (never writes).
pub(crate) fn c_view(t: &dyn TensorRef) -> Result<sys::hodu_tensor> {
    let shape = t.shape();
    check_len(shape, numel(shape)?)?;
    let (data, nbytes) = t.raw();
    let mut c = empty_c_tensor();
    c.dtype = t.dtype().to_raw();
    c.rank = shape.len() as i32; // <= HODU_MAX_RANK, checked above
    for (slot, d) in c.dims.iter_mut().zip(shape) {
        *slot = i64::try_from(*d).map_err(|_| Error::new(ErrorKind::Shape, format!("dim {d} is too large")))?;
    }
    c.data = data.cast_mut(); // the runtime takes inputs as const
    c.nbytes = nbytes;
    Ok(c)
}

impl Value {
    /// An empty buffer for outputs of `dtype` (see [`Value::out_view`]).
    pub(crate) fn out_buffer(dtype: DType) -> Result<Value> {
        Ok(Value { shape: vec![0], data: Data::buffer(dtype, 0)? })
    }

    /// Makes room for a `dtype` tensor of shape `max` (reusing the buffer
    /// when it has that type) and returns the C view the runtime writes.
    /// Until [`Value::out_finish`] or [`Value::out_abandon`], a bool
    /// tensor's elements are bytes.
    pub(crate) fn out_view(&mut self, dtype: DType, max: &[usize]) -> Result<sys::hodu_tensor> {
        let n = numel(max)?;
        check_len(max, n)?;
        let reusable = match dtype {
            DType::Bool => matches!(self.data, Data::U8(_)),
            _ => self.data.dtype() == dtype,
        };
        if reusable {
            self.data.resize(n);
        } else {
            self.data = Data::buffer(dtype, n)?;
        }
        self.shape.clear();
        self.shape.extend_from_slice(max);
        let mut c = empty_c_tensor();
        c.dtype = dtype.to_raw();
        c.rank = max.len() as i32; // <= HODU_MAX_RANK, checked above
        for (slot, d) in c.dims.iter_mut().zip(max) {
            *slot = *d as i64; // the element count fit in usize, so each dim fits
        }
        c.data = self.data.as_mut_ptr();
        c.nbytes = self.data.byte_len();
        Ok(c)
    }

    /// After the runtime wrote `c`: keeps the shape it reported and the
    /// elements that shape covers.
    pub(crate) fn out_finish(&mut self, dtype: DType, c: &sys::hodu_tensor) -> Result<()> {
        let len = self.data.len();
        let checked = c_dims(c).and_then(|dims| {
            let n = dims.iter().try_fold(1usize, |n, d| n.checked_mul(*d as usize));
            match n {
                Some(n) if n <= len => Ok((dims, n)),
                _ => Err(Error::new(
                    ErrorKind::Format,
                    format!("the runtime reported shape {dims:?}, larger than the output buffer"),
                )),
            }
        });
        let result = checked.map(|(dims, n)| {
            self.shape.clear();
            self.shape.extend(dims.iter().map(|d| *d as usize));
            self.data.truncate(n);
        });
        self.out_abandon(dtype);
        result
    }

    /// Leaves the buffer a valid tensor of `dtype` (its largest shape,
    /// contents unspecified) after a failed run.
    pub(crate) fn out_abandon(&mut self, dtype: DType) {
        if dtype == DType::Bool {
            if let Data::U8(bytes) = &mut self.data {
                let bools = std::mem::take(bytes).into_iter().map(|b| b != 0).collect();
                self.data = Data::Bool(bools);
            }
        }
    }
}

fn write_npy(path: &Path, t: &dyn TensorRef) -> Result<()> {
    let cpath = c_path(path)?;
    let c = c_view(t)?;
    let mut err = new_c_error();
    // SAFETY: cpath is NUL-terminated; c points at `t`'s elements, alive
    // and unchanged for the call; the writer only reads them.
    let status = unsafe { sys::hodu_npy_write(cpath.as_ptr(), &c, &mut err) };
    check(status, &err)
}

/// Reads every tensor of a safetensors file (libhodu_rt's reader checks
/// every header field against the file), in file order, copied out.  A
/// tensor of a type without a Rust element type (F16, BF16) is an
/// [`ErrorKind::Unsupported`] error naming it.
pub fn read_safetensors(path: impl AsRef<Path>) -> Result<Vec<(String, Value)>> {
    let cpath = c_path(path.as_ref())?;
    let mut st = std::ptr::null_mut();
    let mut err = new_c_error();
    // SAFETY: cpath is NUL-terminated; st and err are valid for writes.
    let status = unsafe { sys::hodu_safetensors_read(cpath.as_ptr(), &mut st, &mut err) };
    check(status, &err)?;
    let file = SafetensorsFile(st);
    // SAFETY: file.0 is open until `file` drops at the end of this function.
    let count = unsafe { sys::hodu_safetensors_count(file.0) };
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        // SAFETY: i < count; the name is NUL-terminated and the tensor a
        // view of the file's bytes, both valid while the file is open.
        let (name, t) = unsafe {
            (crate::model::opt_str(sys::hodu_safetensors_name(file.0, i)), &*sys::hodu_safetensors_tensor(file.0, i))
        };
        let name = name.unwrap_or_default();
        let shape = c_shape(t)?;
        let n = numel(&shape)?;
        // SAFETY: hodu_dtype_size takes any value.
        let size = unsafe { sys::hodu_dtype_size(t.dtype) };
        let nbytes = n
            .checked_mul(size)
            .filter(|b| *b <= t.nbytes)
            .ok_or_else(|| Error::new(ErrorKind::Format, format!("tensor '{name}' is smaller than its shape")))?;
        let bytes: &[u8] = if nbytes == 0 {
            &[]
        } else {
            // SAFETY: the reader checked that t.data holds t.nbytes >=
            // nbytes bytes of the file, alive while it is open; u8 needs no
            // alignment.
            unsafe { std::slice::from_raw_parts(t.data.cast::<u8>(), nbytes) }
        };
        let data = Data::from_bytes(DType::from_raw(t.dtype), bytes)
            .map_err(|e| Error::new(e.kind(), format!("tensor '{name}': {e}")))?;
        out.push((name, Value { shape, data }));
    }
    Ok(out)
}

/// Writes named tensors to a safetensors file (through a temporary file
/// renamed over `path`).
pub fn write_safetensors(path: impl AsRef<Path>, tensors: &[(&str, &dyn TensorRef)]) -> Result<()> {
    let cpath = c_path(path.as_ref())?;
    let names = tensors.iter().map(|(n, _)| crate::error::c_string("tensor name", n)).collect::<Result<Vec<_>>>()?;
    let name_ptrs: Vec<*const std::ffi::c_char> = names.iter().map(|n| n.as_ptr()).collect();
    let views = tensors.iter().map(|(_, t)| c_view(*t)).collect::<Result<Vec<_>>>()?;
    let mut err = new_c_error();
    // SAFETY: names and views hold tensors.len() entries each, pointing at
    // strings and tensors borrowed for the call, which only reads them.
    let status = unsafe {
        sys::hodu_safetensors_write(cpath.as_ptr(), name_ptrs.as_ptr(), views.as_ptr(), views.len(), &mut err)
    };
    check(status, &err)
}

/// An open safetensors file, closed on drop.
struct SafetensorsFile(*mut sys::hodu_safetensors);

impl Drop for SafetensorsFile {
    fn drop(&mut self) {
        // SAFETY: opened by hodu_safetensors_read, not used after this.
        unsafe { sys::hodu_safetensors_close(self.0) }
    }
}
