//! The writer thread: a [`Writer`] runs a [`Pipeline`] on a thread of
//! its own into an [`Output`], fed with batches of events that the hook
//! fills and the writer gives back emptied, and a flush or a pause (before
//! a fork) on request.
//!
//! Waking a sleeping thread is a system call (a futex wake, 10-20 µs on
//! this kind of machine), and it falls on the thread that wakes.  A writer
//! that keeps up easily (a capture's encoder) sleeps between batches, so a
//! hook that woke it for each batch would pay that call every 8,192 events
//! (about 150 in the 100 ms call-heavy benchmark).  So for such an output
//! ([`Output::polled`]) a full batch is queued without waking the writer,
//! which looks for work on its own (every [`POLL_MIN`] while batches come,
//! backing off to [`POLL_MAX`] when none do), and the hook wakes it only
//! when two batches wait ([`WAKE_AT`]) or for anything that must not wait:
//! the partial batch of a flusher, a flush, a row, a pause, the end.  Any
//! other writer (CSV, text, ZeroMQ: as slow as the hook, or slower) is
//! woken by each batch, as it must start at once not to fall behind.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, RecvTimeoutError, Sender, TryRecvError, TrySendError};

use crate::clock::now_ns;
use crate::error::{Error, Result};
use crate::event::{Event, OwnedValue, Value};
use crate::output::{FileMode, FileOutput, Output};
use crate::pipeline::Pipeline;

/// Events per batch handed from the hook to a writer.
pub const BATCH: usize = 8192;
/// Batches in flight per writer; with recycling this bounds memory, and
/// what `os._exit` outside `pikos-run` can lose (docs/reliability.md).
const IN_FLIGHT: usize = 4;
/// Queued messages at which a full batch wakes the writer (module doc): a
/// writer that sleeps is then at most one batch late, and the queue still
/// has room for the hook to go on while the writer catches up.
const WAKE_AT: usize = 2;
/// How soon a writer that found work looks again, unwoken...
const POLL_MIN: Duration = Duration::from_micros(500);
/// ...and the longest it sleeps (doubling from [`POLL_MIN`] after
/// [`POLL_PATIENCE`] looks in a row found nothing) while nothing comes;
/// its output's tick, if sooner, wakes it too.
const POLL_MAX: Duration = Duration::from_millis(50);
const POLL_PATIENCE: u32 = 8;

/// Emptied batches kept for the next writers, at most [`SPARE_MAX`]: a
/// session that starts takes warm ones, where fresh ones would fault their
/// pages in on the program's thread (112 pages a batch, about 2 µs each on
/// this kind of machine: 0.2-0.7 ms a session).  Only the hook's side takes
/// the lock, and only by `try_lock`, so a fork can never find it held for
/// good: the child then allocates, as before.
static SPARE: Spares = Spares::new();
const SPARE_MAX: usize = IN_FLIGHT + 1;

struct Spares(Mutex<Vec<Vec<Event>>>);

impl Spares {
    const fn new() -> Self {
        Spares(Mutex::new(Vec::new()))
    }

    /// A batch to fill: a spare one, else a new one.
    fn take(&self) -> Vec<Event> {
        self.0
            .try_lock()
            .ok()
            .and_then(|mut spare| spare.pop())
            .unwrap_or_else(|| Vec::with_capacity(BATCH))
    }

    /// Keeps `batch` (emptied) for a later writer, if there is room.
    fn keep(&self, mut batch: Vec<Event>) {
        if batch.capacity() < BATCH {
            return;
        }
        batch.clear();
        if let Ok(mut spare) = self.0.try_lock() {
            if spare.len() < SPARE_MAX {
                spare.push(batch);
            }
        }
    }
}

enum Message {
    Events(Vec<Event>),
    Row(Vec<OwnedValue>),
    Bytes(Vec<u8>),
    /// A message of the output's own (a ZeroMQ statistics snapshot).
    Publish(&'static str, Vec<u8>),
    Flush(Sender<()>),
    /// Stop the thread, keeping everything for [`Writer::resume`].
    Pause,
}

/// A pipeline run by a thread of its own, writing to an [`Output`].  The
/// hook fills a batch, sends it and takes a recycled one back, so a run of
/// any length uses a fixed amount of memory; when the writer falls behind,
/// the hook waits (no record lost).
///
/// A live output is kept current while the program runs: the writer hands
/// its bytes on whenever it has nothing more to write, and the writer's owner
/// calls [`Writer::send_pending`] now and then for the partial batch.
pub struct Writer {
    name: String,
    to_writer: Option<Sender<Message>>,
    recycled: Receiver<Vec<Event>>,
    batch: Vec<Event>,
    /// When ([`now_ns`]) the last batch was handed over, full or not.
    handed_at: Arc<AtomicU64>,
    /// The writer looks for batches itself ([`Output::polled`]).
    polled: bool,
    error: Arc<Mutex<Option<String>>>,
    /// Set by the writer when it stops on an error (`error` holds it).
    failed: Arc<AtomicBool>,
    thread: Option<JoinHandle<Option<Parked>>>,
    /// A paused writer (see [`Writer::pause`]).
    parked: Option<Parked>,
}

/// A writer stopped by [`Writer::pause`], with its output and queue.
struct Parked {
    writer: WriterThread,
    output: Box<dyn Output>,
    from_hook: Receiver<Message>,
}

impl Writer {
    /// Opens `path` as `mode` says, writes the header when asked, and
    /// starts the writer thread.
    pub fn open(
        path: impl AsRef<Path>,
        mode: FileMode,
        write_header: bool,
        mut pipeline: Pipeline,
        header: &[&str],
        live: bool,
    ) -> Result<Self> {
        let path = path.as_ref();
        let mut file = FileOutput::open(path, mode, live)?;
        if write_header {
            let mut out = Vec::new();
            pipeline.header(header, &mut out)?;
            file.write(&out)?;
            // Now, so a file that cannot be written fails the prepare, before
            // the program runs.
            file.flush()?;
        }
        Self::start(&path.display().to_string(), pipeline, Box::new(file))
    }

    /// Starts the writer thread of `pipeline` into `output`; `name` (a path,
    /// an address) names the writer in errors.
    pub fn start(name: &str, pipeline: Pipeline, output: Box<dyn Output>) -> Result<Self> {
        let polled = output.polled();
        let (to_writer, from_hook) = bounded::<Message>(IN_FLIGHT);
        let (recycle, recycled) = bounded::<Vec<Event>>(IN_FLIGHT + 1);
        let error = Arc::new(Mutex::new(None));
        let failed = Arc::new(AtomicBool::new(false));
        let writer = WriterThread {
            pipeline,
            recycle,
            error: Arc::clone(&error),
            failed: Arc::clone(&failed),
        };
        let thread = std::thread::Builder::new()
            .name("pikos-writer".to_owned())
            .spawn(move || writer.run(output, from_hook))
            .map_err(|e| Error::io(Some(name), e))?;
        Ok(Writer {
            name: name.to_owned(),
            to_writer: Some(to_writer),
            recycled,
            batch: SPARE.take(),
            handed_at: Arc::new(AtomicU64::new(now_ns())),
            polled,
            error,
            failed,
            thread: Some(thread),
            parked: None,
        })
    }

    /// Adds one event; hands the batch to the writer when it is full.
    /// False when the writer has stopped on an error (see
    /// [`Writer::error`]): the hook learns it at a batch's end, and
    /// stops recording.
    #[inline(always)]
    pub fn push(&mut self, event: Event) -> bool {
        self.batch.push(event);
        if self.batch.len() < BATCH {
            return true;
        }
        self.hand_over()
    }

    /// A full batch to the writer (a polled one is woken only once two
    /// batches wait: module doc); false when the writer has stopped.
    #[cold]
    #[inline(never)]
    fn hand_over(&mut self) -> bool {
        self.send_batch();
        !self.failed.load(Ordering::Relaxed)
    }

    /// Hands the events pushed so far to the writer, a partial batch too,
    /// and wakes it; false when there were none.
    pub fn send_pending(&mut self) -> bool {
        let any = !self.batch.is_empty();
        self.send_batch();
        self.wake();
        any
    }

    /// When ([`crate::clock::now_ns`]) the hook last handed a batch over:
    /// the events not handed over yet are all younger, so an owner that
    /// hands the partial batch over now and then (a flusher) can skip it
    /// while batches come on their own.
    pub fn handed_at(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.handed_at)
    }

    fn take_batch(&mut self) -> Option<Vec<Event>> {
        self.handed_at.store(now_ns(), Ordering::Relaxed);
        if self.batch.is_empty() {
            return None;
        }
        let next = self.recycled.try_recv().unwrap_or_else(|_| SPARE.take());
        Some(std::mem::replace(&mut self.batch, next))
    }

    /// The events pushed so far, queued before a message that follows them.
    fn send_batch(&mut self) {
        if let Some(batch) = self.take_batch() {
            self.queue(Message::Events(batch));
        }
    }

    /// Queues `message`; a polled writer is woken only once two messages
    /// wait (module doc), any other by the channel itself.  If the queue is
    /// full, the hook waits for the writer (nothing lost).
    fn queue(&self, message: Message) {
        let Some(tx) = &self.to_writer else {
            return;
        };
        // A send fails only when the writer has stopped on an error, which
        // `error()` reports.
        if !self.polled {
            let _ = tx.send(message);
            return;
        }
        match tx.try_send(message) {
            Ok(()) if tx.len() < WAKE_AT => {}
            Ok(()) => self.wake(),
            Err(TrySendError::Full(message)) => {
                self.wake();
                let _ = tx.send(message);
            }
            Err(TrySendError::Disconnected(_)) => {}
        }
    }

    /// Queues `message` and wakes the writer for it.
    fn send(&self, message: Message) {
        self.queue(message);
        self.wake();
    }

    /// Wakes a polled writer if it sleeps (a system call only then).
    fn wake(&self) {
        if !self.polled {
            return;
        }
        if let Some(thread) = &self.thread {
            thread.thread().unpark();
        }
    }

    /// A row filtered and encoded by the writer, in order with the events.
    pub fn push_row(&mut self, row: Vec<OwnedValue>) {
        self.send_batch();
        self.send(Message::Row(row));
    }

    /// Bytes written as they are, in order with the events.
    pub fn push_bytes(&mut self, bytes: Vec<u8>) {
        self.send_batch();
        self.send(Message::Bytes(bytes));
    }

    /// A message of the output's own kind, in order with the events.
    pub fn publish(&mut self, topic: &'static str, payload: Vec<u8>) {
        self.send_batch();
        self.send(Message::Publish(topic, payload));
    }

    /// The first error the writer met, if any.
    pub fn error(&self) -> Option<String> {
        self.error.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Asks the writer to write out everything pushed so far; it signals
    /// the returned receiver when done (then see [`Writer::check`]).
    /// None when the writer has stopped.
    pub fn request_flush(&mut self) -> Option<Receiver<()>> {
        self.send_batch();
        let (done, wait) = bounded(1);
        self.to_writer.as_ref()?.send(Message::Flush(done)).ok()?;
        Some(wait)
    }

    /// Waits until everything pushed so far is handed on.
    pub fn flush(&mut self) -> Result<()> {
        if let Some(wait) = self.request_flush() {
            let _ = wait.recv();
        }
        self.check()
    }

    /// Stops the writer thread once everything pushed so far is written
    /// and handed to the output, keeping the output open, so that the
    /// process can fork with no thread of ours (`os.fork` warns of threads
    /// on 3.12+, and a thread holding a lock can deadlock the child).
    /// [`Writer::resume`] starts it again.
    pub fn pause(&mut self) {
        if self.parked.is_some() {
            return;
        }
        self.send_batch();
        self.send(Message::Pause);
        if let Some(thread) = self.thread.take() {
            self.parked = thread.join().ok().flatten();
        }
    }

    /// Starts the writer thread a [`Writer::pause`] stopped.
    pub fn resume(&mut self) -> Result<()> {
        let Some(Parked {
            writer,
            output,
            from_hook,
        }) = self.parked.take()
        else {
            return Ok(());
        };
        let thread = std::thread::Builder::new()
            .name("pikos-writer".to_owned())
            .spawn(move || writer.run(output, from_hook))
            .map_err(|e| Error::io(Some(&self.name), e))?;
        self.thread = Some(thread);
        Ok(())
    }

    /// Writes everything, stops the thread and closes the output.
    pub fn close(&mut self) -> Result<()> {
        self.resume()?;
        self.send_batch();
        self.to_writer = None;
        self.wake();
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                return Err(Error::State(format!(
                    "{}: the writer thread panicked",
                    self.name
                )));
            }
            // The thread is gone: its emptied batches are the next writer's.
            SPARE.keep(std::mem::take(&mut self.batch));
            while let Ok(batch) = self.recycled.try_recv() {
                SPARE.keep(batch);
            }
        }
        self.check()
    }

    /// The writer's first error, if any.
    pub fn check(&self) -> Result<()> {
        match self.error() {
            Some(msg) => Err(Error::State(msg)),
            None => Ok(()),
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

/// The writer thread's side of a [`Writer`].
struct WriterThread {
    pipeline: Pipeline,
    recycle: Sender<Vec<Event>>,
    error: Arc<Mutex<Option<String>>>,
    failed: Arc<AtomicBool>,
}

impl WriterThread {
    /// Writes until the hook's side closes the queue, or asks for a pause
    /// (then gives everything back).
    fn run(mut self, mut output: Box<dyn Output>, from_hook: Receiver<Message>) -> Option<Parked> {
        let mut out = Vec::with_capacity(1 << 20);
        let mut failed = self.failed.load(Ordering::Relaxed);
        let every = output.tick_every();
        let mut next_tick = every.map(|e| Instant::now() + e);
        let polled = output.polled();
        // Looks in a row that found nothing (a polled writer).
        let mut empty = 0u32;
        loop {
            let message = if polled {
                match from_hook.try_recv() {
                    Ok(message) => {
                        empty = 0;
                        Ok(message)
                    }
                    Err(TryRecvError::Empty) => {
                        // Sleep until woken, the next look or the next tick.
                        let poll = POLL_MIN
                            .saturating_mul(1 << empty.saturating_sub(POLL_PATIENCE).min(16))
                            .min(POLL_MAX);
                        let until = next_tick
                            .map_or(poll, |at| at.saturating_duration_since(Instant::now()));
                        std::thread::park_timeout(poll.min(until));
                        empty = empty.saturating_add(1);
                        Err(RecvTimeoutError::Timeout)
                    }
                    Err(TryRecvError::Disconnected) => Err(RecvTimeoutError::Disconnected),
                }
            } else {
                match next_tick {
                    None => from_hook.recv().map_err(|_| RecvTimeoutError::Disconnected),
                    Some(at) => from_hook.recv_deadline(at),
                }
            };
            match message {
                Ok(Message::Pause) => {
                    if !failed {
                        if let Err(err) = output.flush() {
                            self.fail(err, &mut failed);
                        }
                    }
                    return Some(Parked {
                        writer: self,
                        output,
                        from_hook,
                    });
                }
                Ok(message) => self.handle(message, output.as_mut(), &mut out, &mut failed),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            if let (Some(at), Some(every)) = (next_tick, every) {
                if Instant::now() >= at && !failed {
                    if let Err(err) = output.tick() {
                        self.fail(err, &mut failed);
                    }
                    next_tick = Some(Instant::now() + every);
                }
            }
            if output.live() && from_hook.is_empty() && !failed {
                // Nothing more to write now: what we have is handed on.
                if let Err(err) = output.flush() {
                    self.fail(err, &mut failed);
                }
            }
        }
        if !failed {
            out.clear();
            let ended = self.pipeline.finish(&mut out).and_then(|()| {
                if out.is_empty() {
                    Ok(())
                } else {
                    output.write(&out)
                }
            });
            if let Err(err) = ended {
                self.fail(err, &mut failed);
            }
        }
        if !failed {
            if let Err(err) = output.finish() {
                self.fail(err, &mut failed);
            }
        }
        None
    }

    fn handle(
        &mut self,
        message: Message,
        output: &mut dyn Output,
        out: &mut Vec<u8>,
        failed: &mut bool,
    ) {
        let written = match message {
            Message::Events(mut events) => {
                let written = if *failed {
                    Ok(())
                } else {
                    out.clear();
                    self.pipeline
                        .events(&events, out)
                        .and_then(|()| output.write(out))
                        .and_then(|()| output.batch_written())
                };
                events.clear();
                let _ = self.recycle.try_send(events);
                written
            }
            Message::Row(row) if !*failed => {
                out.clear();
                let values: Vec<Value<'_>> = row.iter().map(OwnedValue::as_value).collect();
                self.pipeline
                    .row(&values, out)
                    .and_then(|()| output.write(out))
            }
            Message::Bytes(bytes) if !*failed => output.write(&bytes),
            Message::Publish(topic, payload) if !*failed => output.publish(topic, &payload),
            Message::Flush(done) => {
                if !*failed {
                    if let Err(err) = output.flush() {
                        self.fail(err, failed);
                    }
                }
                // The error, if any, is recorded before the caller wakes.
                let _ = done.send(());
                Ok(())
            }
            Message::Row(_) | Message::Bytes(_) | Message::Publish(..) | Message::Pause => Ok(()),
        };
        if let Err(err) = written {
            self.fail(err, failed);
        }
    }

    fn fail(&self, err: Error, failed: &mut bool) {
        *failed = true;
        let mut slot = self.error.lock().unwrap_or_else(|e| e.into_inner());
        slot.get_or_insert_with(|| err.to_string());
        self.failed.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::{CsvDialect, CsvEncoder, TextEncoder};
    use crate::event::{EventKind, RecordKind};
    use crate::filter::FilterSet;
    use crate::pipeline::tests::{code, event};

    #[test]
    fn spare_batches_are_kept_emptied_and_bounded() {
        let spares = Spares::new();
        let mut full = Vec::with_capacity(BATCH);
        full.push(event(1, EventKind::Call, (0, 0), 1));
        let at = full.as_ptr();
        spares.keep(full);
        spares.keep(Vec::with_capacity(10)); // too small to keep
        let taken = spares.take();
        assert_eq!((taken.as_ptr(), taken.len()), (at, 0));
        for _ in 0..SPARE_MAX + 3 {
            spares.keep(Vec::with_capacity(BATCH));
        }
        assert_eq!(spares.0.lock().unwrap().len(), SPARE_MAX);
        // Held (a fork's child may find it so): a new batch, nothing waits.
        let held = spares.0.lock().unwrap();
        assert_eq!(spares.take().capacity(), BATCH);
        spares.keep(Vec::with_capacity(BATCH));
        drop(held);
        assert_eq!(spares.0.lock().unwrap().len(), SPARE_MAX);
    }

    #[test]
    fn file_sink_writes_header_once_and_appends() {
        let dir = std::env::temp_dir().join(format!("pikos-core-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("out.csv");
        let path = path.to_str().unwrap();
        let ids = code("g.py", &[]);
        let fields = RecordKind::Function.field_names();
        for append in [false, true] {
            let pipeline = Pipeline::new(
                Some(RecordKind::Function),
                FilterSet::default(),
                Box::new(CsvEncoder::new(CsvDialect::default())),
            );
            let mode = if append {
                FileMode::Append
            } else {
                FileMode::Write
            };
            let mut writer = Writer::open(path, mode, !append, pipeline, &fields, false).unwrap();
            for i in 0..(BATCH as u64 * 3 + 7) {
                writer.push(event(i, EventKind::Call, ids, 3));
            }
            writer.close().unwrap();
        }
        let text = std::fs::read_to_string(path).unwrap();
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(lines[0], "index,type,function,lineNo,filename");
        assert_eq!(lines.len(), 1 + 2 * (BATCH * 3 + 7) + 1);
        assert_eq!(lines[1], "0,call,work,3,g.py");
        assert_eq!(text.matches("index,").count(), 1);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn file_sink_reports_write_errors() {
        if !std::path::Path::new("/dev/full").exists() {
            return;
        }
        let ids = code("h.py", &[]);
        let pipeline = Pipeline::new(
            Some(RecordKind::Function),
            FilterSet::default(),
            Box::new(TextEncoder::Plain),
        );
        let mut writer =
            Writer::open("/dev/full", FileMode::Append, false, pipeline, &[], false).unwrap();
        for i in 0..(BATCH as u64 * 200) {
            writer.push(event(i, EventKind::Call, ids, 3));
        }
        let err = writer.close().unwrap_err().to_string();
        assert!(err.contains("/dev/full"), "{err}");
    }

    /// A polled output (a capture's kind) that counts the lines written.
    struct Lines(Arc<AtomicU64>);

    impl Output for Lines {
        fn write(&mut self, bytes: &[u8]) -> Result<()> {
            let lines = bytes.iter().filter(|&&b| b == b'\n').count();
            self.0.fetch_add(lines as u64, Ordering::Relaxed);
            Ok(())
        }
        fn flush(&mut self) -> Result<()> {
            Ok(())
        }
        fn polled(&self) -> bool {
            true
        }
    }

    #[test]
    fn a_polled_writer_finds_full_batches_on_its_own() {
        // A full batch is queued without a wake (module doc): the writer
        // finds it on its own; and after it has idled long enough to sleep
        // its longest, a burst larger than the queue loses nothing.
        let ids = code("p.py", &[]);
        let pipeline = Pipeline::new(
            Some(RecordKind::Function),
            FilterSet::default(),
            Box::new(TextEncoder::Plain),
        );
        let lines = Arc::new(AtomicU64::new(0));
        let mut writer =
            Writer::start("polled", pipeline, Box::new(Lines(Arc::clone(&lines)))).unwrap();
        let rows = || lines.load(Ordering::Relaxed) as usize;
        let mut index = 0;
        let mut push = |writer: &mut Writer, n: usize| {
            for _ in 0..n {
                assert!(writer.push(event(index, EventKind::Call, ids, 3)));
                index += 1;
            }
        };
        push(&mut writer, BATCH);
        let deadline = Instant::now() + Duration::from_secs(10);
        while rows() < BATCH && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(rows(), BATCH, "a full batch was not written while open");
        std::thread::sleep(POLL_MAX * 4);
        push(&mut writer, BATCH * (IN_FLIGHT * 3) + 5);
        writer.close().unwrap();
        assert_eq!(rows(), BATCH * (IN_FLIGHT * 3 + 1) + 5);
    }

    #[test]
    fn live_file_sink_keeps_the_file_current() {
        let dir = std::env::temp_dir().join(format!("pikos-core-live-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("live.txt");
        let path = path.to_str().unwrap();
        let ids = code("l.py", &[]);
        let pipeline = Pipeline::new(
            Some(RecordKind::Function),
            FilterSet::default(),
            Box::new(TextEncoder::Plain),
        );
        let mut writer = Writer::open(path, FileMode::Write, false, pipeline, &[], true).unwrap();
        let rows = || std::fs::read_to_string(path).unwrap().lines().count();
        for i in 0..3 {
            writer.push(event(i, EventKind::Call, ids, 3));
        }
        // A partial batch reaches the file once sent: the writer flushes
        // whenever it has nothing more to write, no close needed.
        writer.send_pending();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while rows() < 3 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(rows(), 3, "records did not reach the file while open");
        writer.close().unwrap();
        std::fs::remove_dir_all(dir).unwrap();
    }
}
