//! `Subscriber`: the receiving end of the live stream, for
//! `pikos.live.subscribe` and the `pikos live` viewer.

use std::sync::Mutex;
use std::time::Duration;

use pikos_core::wire;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::convert;
use crate::errors::core_err;

#[pyclass(frozen, module = "pikos._native")]
pub struct Subscriber {
    /// A socket is used by one thread at a time (`recv` waits without the
    /// GIL, so the lock keeps two Python threads apart).
    inner: Mutex<wire::Subscriber>,
    endpoint: String,
}

#[pymethods]
impl Subscriber {
    /// A SUB socket on `address`: connected to a publisher, or bound
    /// (`bind=True`) for publishers to connect to.  `topics`: topic
    /// prefixes to receive (all when empty).
    #[new]
    #[pyo3(signature = (address, bind=false, topics=Vec::new()))]
    fn new(py: Python<'_>, address: String, bind: bool, topics: Vec<String>) -> PyResult<Self> {
        let topics: Vec<&str> = topics.iter().map(String::as_str).collect();
        let inner = py
            .detach(|| wire::Subscriber::open(&address, bind, &topics))
            .map_err(core_err)?;
        Ok(Subscriber {
            endpoint: inner.endpoint().to_owned(),
            inner: Mutex::new(inner),
        })
    }

    /// The endpoint connected or bound (with the port chosen for `*`).
    #[getter]
    fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The next message's frames as bytes, or None after `timeout`
    /// seconds (None: wait for one).  Waits without the GIL.
    #[pyo3(signature = (timeout=None))]
    fn recv<'py>(
        &self,
        py: Python<'py>,
        timeout: Option<f64>,
    ) -> PyResult<Option<Vec<Bound<'py, PyBytes>>>> {
        let timeout = timeout
            .map(|t| convert::duration(t, "timeout", false))
            .transpose()?;
        // Waits in slices, so Ctrl-C reaches Python between them.
        let slice = Duration::from_millis(100);
        let mut left = timeout;
        loop {
            let wait = left.map_or(slice, |l| l.min(slice));
            let frames = py
                .detach(|| {
                    let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
                    inner.recv(Some(wait))
                })
                .map_err(core_err)?;
            if let Some(frames) = frames {
                return Ok(Some(frames.iter().map(|f| PyBytes::new(py, f)).collect()));
            }
            py.check_signals()?;
            if let Some(l) = left.as_mut() {
                *l = l.saturating_sub(wait);
                if l.is_zero() {
                    return Ok(None);
                }
            }
        }
    }
}
