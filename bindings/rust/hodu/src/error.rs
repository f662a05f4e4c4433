//! Errors: the runtime's status and message, or the same kinds for misuse
//! this crate finds before calling it.

use std::ffi::CStr;
use std::fmt;

use hodu_sys as sys;

/// What went wrong, after libhodu_rt's `hodu_status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A bad argument: an unknown name, a missing input, a NUL in a path.
    InvalidArg,
    /// A file could not be opened, read or written.
    Io,
    /// A file is not what it claims (.npy, model, checkpoint).
    Format,
    /// The model was built for another ABI version.
    Abi,
    /// Wrong number of inputs or outputs.
    Count,
    /// A tensor's element type differs from the one expected.
    DType,
    /// A tensor's shape differs from the one expected.
    Shape,
    /// An allocation failed.
    NoMem,
    /// Valid, but not something this runtime or binding handles.
    Unsupported,
    /// A status this crate does not know (a newer runtime); its number.
    Other(i32),
}

impl ErrorKind {
    pub(crate) fn from_status(status: sys::hodu_status) -> ErrorKind {
        match status {
            sys::HODU_ERR_INVALID_ARG => ErrorKind::InvalidArg,
            sys::HODU_ERR_IO => ErrorKind::Io,
            sys::HODU_ERR_FORMAT => ErrorKind::Format,
            sys::HODU_ERR_ABI => ErrorKind::Abi,
            sys::HODU_ERR_COUNT => ErrorKind::Count,
            sys::HODU_ERR_DTYPE => ErrorKind::DType,
            sys::HODU_ERR_SHAPE => ErrorKind::Shape,
            sys::HODU_ERR_NOMEM => ErrorKind::NoMem,
            sys::HODU_ERR_UNSUPPORTED => ErrorKind::Unsupported,
            other => ErrorKind::Other(other),
        }
    }
}

/// An error with its kind and a one-line message naming the cause (the
/// runtime's own message when it comes from libhodu_rt).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

impl Error {
    /// An error of this crate's own making.
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error { kind, message: message.into() }
    }

    /// The runtime's error record after a call that returned `status`.
    pub(crate) fn from_c(status: sys::hodu_status, err: &sys::hodu_error) -> Error {
        // The runtime NUL-terminates the message inside the array; search
        // only there so a missing terminator cannot read past it.
        // SAFETY: c_char and u8 have the same size and alignment, and the
        // slice covers exactly the array `err` holds.
        let bytes: &[u8] = unsafe { std::slice::from_raw_parts(err.message.as_ptr().cast(), err.message.len()) };
        let text = match CStr::from_bytes_until_nul(bytes) {
            Ok(c) => c.to_string_lossy().into_owned(),
            Err(_) => String::from_utf8_lossy(bytes).into_owned(),
        };
        let message = if text.is_empty() { status_name(status) } else { text };
        Error { kind: ErrorKind::from_status(status), message }
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message, without a "hodu:" prefix.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

fn status_name(status: sys::hodu_status) -> String {
    // SAFETY: hodu_status_string takes any value and returns a static
    // NUL-terminated string, never NULL.
    unsafe { CStr::from_ptr(sys::hodu_status_string(status)) }.to_string_lossy().into_owned()
}

/// A zeroed error record for one call.
pub(crate) fn new_c_error() -> sys::hodu_error {
    sys::hodu_error { code: sys::HODU_OK, message: [0; 512] }
}

/// Turns a status and its record into a `Result`.
pub(crate) fn check(status: sys::hodu_status, err: &sys::hodu_error) -> Result<()> {
    if status == sys::HODU_OK {
        Ok(())
    } else {
        Err(Error::from_c(status, err))
    }
}

/// A path or name as a C string; a NUL inside is an error.
pub(crate) fn c_string(what: &str, s: &str) -> Result<std::ffi::CString> {
    std::ffi::CString::new(s)
        .map_err(|_| Error::new(ErrorKind::InvalidArg, format!("{what} '{s}' contains a NUL byte")))
}

/// A path as a C string (Unix: its bytes; elsewhere: it must be UTF-8).
pub(crate) fn c_path(path: &std::path::Path) -> Result<std::ffi::CString> {
    #[cfg(unix)]
    let bytes = {
        use std::os::unix::ffi::OsStrExt;
        path.as_os_str().as_bytes().to_vec()
    };
    #[cfg(not(unix))]
    let bytes = path
        .to_str()
        .ok_or_else(|| Error::new(ErrorKind::InvalidArg, format!("path {} is not UTF-8", path.display())))?
        .as_bytes()
        .to_vec();
    std::ffi::CString::new(bytes)
        .map_err(|_| Error::new(ErrorKind::InvalidArg, format!("path {} contains a NUL byte", path.display())))
}
