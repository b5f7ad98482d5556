//! The one place core errors become Python exceptions.

use pikos_core::Error;
use pyo3::exceptions::{PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;

/// `pikos.errors.RecorderError` (imported lazily: it is defined in Python).
pub fn recorder_error(msg: impl Into<String>) -> PyErr {
    let msg = msg.into();
    Python::attach(|py| {
        static CLS: PyOnceLock<Py<PyType>> = PyOnceLock::new();
        match CLS.import(py, "pikos.errors", "RecorderError") {
            Ok(cls) => PyErr::from_type(cls.clone(), msg),
            Err(err) => err,
        }
    })
}

pub fn core_err(err: Error) -> PyErr {
    match err {
        // (errno, strerror, filename) makes Python pick the OSError subclass
        // (IsADirectoryError, PermissionError, ...), as open() would.
        Error::Io {
            path: Some(path),
            source,
        } if source.raw_os_error().is_some() => {
            let errno = source.raw_os_error().unwrap_or_default();
            let text = source.to_string();
            let strerror = text.split(" (os error").next().unwrap_or(&text).to_owned();
            PyOSError::new_err((errno, strerror, path))
        }
        Error::Io { .. } => PyOSError::new_err(err.to_string()),
        Error::Encode(msg) | Error::Unsupported(msg) | Error::Input(msg) => {
            PyValueError::new_err(msg)
        }
        Error::State(msg) => PyRuntimeError::new_err(msg),
        Error::Socket(msg) => PyOSError::new_err(msg),
        Error::NotReady(msg) => recorder_error(msg),
    }
}
