//! `CaptureFrames`: a capture read as the live stream's messages, for
//! `pikos.live.read` (and `pikos live --replay`), by a reader thread of the
//! core a bounded queue ahead of Python.

use std::path::PathBuf;
use std::sync::Mutex;
use std::thread::JoinHandle;

use pikos_core::capture::{self, Frame, ReadSummary};
use pikos_core::writer::BATCH;
use pikos_core::Error;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use std::sync::mpsc::{sync_channel, Receiver};

use crate::errors::core_err;
use crate::export::capture_summary;

/// Messages a reader thread keeps ready.
const AHEAD: usize = 8;

/// One message: topic, session number, payload, records in it.
type Message<'py> = (&'static str, u64, Bound<'py, PyBytes>, u64);

enum Item {
    Frame(Frame),
    Done(pikos_core::Result<ReadSummary>),
}

/// Iterates over a capture's messages as `(topic, session, payload, count)`:
/// topic `"header"`, `"records"` or `"end"`, the session's number in the
/// file (from 1), the payload bytes as the wire carries them, and a records
/// message's number of records.  `summary` is what the read found once the
/// iteration ends (a cut included).
#[pyclass(module = "pikos._native")]
pub struct CaptureFrames {
    items: Mutex<Option<Receiver<Item>>>,
    thread: Option<JoinHandle<()>>,
    summary: Option<Py<PyDict>>,
}

#[pymethods]
impl CaptureFrames {
    #[new]
    fn new(path: PathBuf) -> PyResult<Self> {
        if !capture::is_capture(&path) {
            return Err(core_err(Error::Input(format!(
                "{} is not a pikos capture",
                path.display()
            ))));
        }
        let (send, items) = sync_channel(AHEAD);
        let thread = std::thread::Builder::new()
            .name("pikos-capture-reader".to_owned())
            .spawn(move || {
                let mut give = |frame: Frame| {
                    send.send(Item::Frame(frame))
                        .map_err(|_| Error::State("the reader was closed".to_owned()))
                };
                let done = capture::frames(&path, BATCH, &mut give);
                let _ = send.send(Item::Done(done));
            })
            .map_err(|e| core_err(Error::io(Some("the capture reader"), e)))?;
        Ok(CaptureFrames {
            items: Mutex::new(Some(items)),
            thread: Some(thread),
            summary: None,
        })
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Message<'py>>> {
        let Some(items) = self.items.lock().unwrap_or_else(|e| e.into_inner()).take() else {
            return Ok(None);
        };
        // Waits without the GIL (the queue moved in and back out).
        let (items, item) = py.detach(move || {
            let item = items.recv().ok();
            (items, item)
        });
        *self.items.lock().unwrap_or_else(|e| e.into_inner()) = Some(items);
        match item {
            Some(Item::Frame(frame)) => Ok(Some(match frame {
                Frame::Header(n, json) => ("header", n, PyBytes::new(py, json.as_bytes()), 0),
                Frame::Records(n, lines, count) => ("records", n, PyBytes::new(py, &lines), count),
                Frame::End(n, json) => ("end", n, PyBytes::new(py, json.as_bytes()), 0),
            })),
            Some(Item::Done(done)) => {
                self.finish(py);
                let summary = done.map_err(core_err)?;
                let dict = PyDict::new(py);
                capture_summary(&dict, &summary)?;
                self.summary = Some(dict.unbind());
                Ok(None)
            }
            None => {
                self.finish(py);
                Ok(None)
            }
        }
    }

    /// What the read found (see `export_capture`), once the iteration
    /// ended; None before.
    #[getter]
    fn summary(&self, py: Python<'_>) -> Option<Py<PyDict>> {
        self.summary.as_ref().map(|s| s.clone_ref(py))
    }

    /// Stops the reader (the iteration ends).
    fn close(&mut self, py: Python<'_>) {
        self.finish(py);
    }
}

impl CaptureFrames {
    fn finish(&mut self, py: Python<'_>) {
        // Dropping the queue makes the reader's next send fail: it stops.
        self.items.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(thread) = self.thread.take() {
            let _ = py.detach(|| thread.join());
        }
    }
}

impl Drop for CaptureFrames {
    fn drop(&mut self) {
        self.items.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
