//! `Publisher`: the native thread that sends running totals over a ZeroMQ
//! sink every few seconds, for the totals objects that have no records to
//! stream (`Stats`, `LineStats`).  The thread takes the GIL only to copy
//! the totals; it encodes and sends without it, stops when asked or when
//! the interpreter shuts down, and the owner sends the final totals once
//! when it stops.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;

use pyo3::exceptions::PyOSError;
use pyo3::prelude::*;
use pyo3::pyclass::boolean_struct::True;
use pyo3::PyClass;

use crate::convert;
use crate::gil_cell::GilCell;
use crate::sink::Sink;

/// The publisher of one totals object: at most one thread at a time.
pub struct Publisher {
    /// The topic the payloads go out on.
    topic: &'static str,
    /// The thread's name.
    thread_name: &'static str,
    /// What the thread is, in the error when it cannot start.
    what: &'static str,
    running: GilCell<Option<Running>>,
}

/// A running publisher thread and the channel that stops it.
struct Running {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Publisher {
    /// A publisher on `topic` whose thread is named `thread_name`; `what`
    /// names the thread in the error when it cannot start.
    pub const fn new(topic: &'static str, thread_name: &'static str, what: &'static str) -> Self {
        Publisher {
            topic,
            thread_name,
            what,
            running: GilCell::new(None),
        }
    }

    /// Publishes on `sink` every `every` seconds until [`Publisher::stop`],
    /// after stopping the thread already running, if any: `take` copies the
    /// totals of `owner` (whose publisher this is) with the GIL held,
    /// `encode` makes the payload of the copy without it.
    pub fn start<O, T: 'static>(
        &self,
        owner: &Bound<'_, O>,
        sink: Py<Sink>,
        every: f64,
        take: fn(&O, Python<'_>) -> T,
        encode: fn(T) -> Vec<u8>,
    ) -> PyResult<()>
    where
        O: PyClass<Frozen = True> + Sync,
    {
        let py = owner.py();
        let every = convert::duration(every, "publish_every", true)?;
        self.join(py);
        let owner = owner.clone().unbind();
        let topic = self.topic;
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(self.thread_name.to_owned())
            .spawn(move || {
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
                    // None: the interpreter is shutting down.
                    let Some(taken) = Python::try_attach(|py| take(owner.get(), py)) else {
                        break;
                    };
                    let payload = encode(taken);
                    let sent = Python::try_attach(|py| sink.get().publish(py, topic, payload));
                    if sent.is_none() {
                        break;
                    }
                }
                // Without the GIL, pyo3 releases these references later.
                drop((owner, sink));
            })
            .map_err(|e| {
                PyOSError::new_err(format!(
                    "pikos could not start its {} thread: {e}",
                    self.what
                ))
            })?;
        // SAFETY: GIL held; no call into Python while borrowed.
        unsafe {
            *self.running.get_mut(py) = Some(Running {
                stop: Some(stop),
                thread: Some(thread),
            })
        };
        Ok(())
    }

    /// Stops the thread (waiting for it without the GIL), then publishes
    /// `last()` once on `sink` when given: the final totals.
    pub fn stop(&self, py: Python<'_>, sink: Option<Py<Sink>>, last: impl FnOnce() -> Vec<u8>) {
        self.join(py);
        if let Some(sink) = sink {
            sink.get().publish(py, self.topic, last());
        }
    }

    /// Stops the thread and waits for it without the GIL.
    fn join(&self, py: Python<'_>) {
        // SAFETY: GIL held; the borrow ends before the GIL is released.
        if let Some(mut running) = unsafe { self.running.get_mut(py) }.take() {
            drop(running.stop.take());
            if let Some(thread) = running.thread.take() {
                let _ = py.detach(|| thread.join());
            }
        }
    }

    /// In a child process after `fork`: the thread does not exist here, so
    /// it is forgotten, never joined.
    pub fn forget_after_fork(&self, py: Python<'_>) {
        // SAFETY: GIL held; no call into Python while borrowed.
        if let Some(running) = unsafe { self.running.get_mut(py) }.take() {
            std::mem::forget(running);
        }
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        if let Some(mut running) = self.running.exclusive().take() {
            drop(running.stop.take());
        }
    }
}
