//! Timed function records as the files today's viewers open: speedscope's
//! evented profiles, Chrome trace events (Perfetto, `chrome://tracing`) and
//! collapsed stacks (flame graphs).
//!
//! A [`Trace`] takes function events (call, return, c_call, c_return,
//! c_exception) with their time and thread, and keeps one stack per thread:
//! a return closes the innermost open call of the same function (and the
//! calls above it, which never returned), a return with no open call (its
//! call came before the monitor started) is counted and skipped, and calls
//! still open at the end close at their thread's last time.  So every
//! format gets balanced, properly nested intervals with times that never go
//! back on a thread.
//!
//! Records come from the CSV that a timed function monitor writes
//! ([`read_csv`]); [`convert`] is the whole path from that file to a format.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::Path;

use rustc_hash::FxHashMap;

use crate::encode::JsonEncoder;
use crate::error::{Error, Result};

/// The formats [`Trace`] writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// speedscope's file format: one evented profile per thread.
    Speedscope,
    /// The Trace Event Format's JSON object: `B`/`E` events per thread.
    Chrome,
    /// One line per stack, `a;b;c <own nanoseconds>` (flamegraph.pl,
    /// inferno, speedscope).
    Collapsed,
}

impl Format {
    pub const NAMES: [&'static str; 3] = ["speedscope", "chrome", "collapsed"];

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "speedscope" => Some(Format::Speedscope),
            "chrome" => Some(Format::Chrome),
            "collapsed" => Some(Format::Collapsed),
            _ => None,
        }
    }
}

/// What a frame is: a Python function (its file and first line) or a
/// builtin (no file).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Frame {
    pub name: String,
    pub file: Option<String>,
    pub line: Option<i64>,
}

/// A function event's type, as records name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Call,
    Return,
    CCall,
    CReturn,
}

impl Step {
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "call" => Some(Step::Call),
            "return" => Some(Step::Return),
            "c_call" => Some(Step::CCall),
            "c_return" | "c_exception" => Some(Step::CReturn),
            _ => None,
        }
    }
}

/// An interval's end points as they happened on one thread.
#[derive(Clone, Copy, Debug)]
struct Mark {
    at: u64,
    frame: u32,
    open: bool,
}

#[derive(Default)]
struct Thread {
    id: u64,
    stack: Vec<u32>,
    marks: Vec<Mark>,
    first: u64,
    last: u64,
}

impl Thread {
    fn close_to(&mut self, depth: usize, at: u64) {
        while self.stack.len() > depth {
            if let Some(frame) = self.stack.pop() {
                self.marks.push(Mark {
                    at,
                    frame,
                    open: false,
                });
            }
        }
    }
}

/// What a conversion saw.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Records read.
    pub events: u64,
    /// Intervals written (matched calls, and calls closed at the end).
    pub calls: u64,
    /// Returns with no open call on their thread (skipped).
    pub unmatched: u64,
    /// Calls still open at the end (closed at their thread's last time).
    pub unfinished: u64,
    pub threads: usize,
    pub frames: usize,
}

/// Function events made into balanced intervals per thread.
#[derive(Default)]
pub struct Trace {
    frames: Vec<Frame>,
    frame_ids: FxHashMap<Frame, u32>,
    threads: Vec<Thread>,
    by_id: FxHashMap<u64, usize>,
    summary: Summary,
    finished: bool,
}

impl Trace {
    pub fn new() -> Self {
        Self::default()
    }

    fn frame_id(&mut self, frame: Frame) -> u32 {
        if let Some(&id) = self.frame_ids.get(&frame) {
            return id;
        }
        let id = self.frames.len() as u32;
        self.frames.push(frame.clone());
        self.frame_ids.insert(frame, id);
        id
    }

    /// One function event.  `file` and `line` are the record's `filename`
    /// and `lineNo`: for a call, the function's own; for a builtin's
    /// events, the caller's (not used: a builtin's frame is its name).
    pub fn event(
        &mut self,
        step: Step,
        function: &str,
        file: &str,
        line: Option<i64>,
        time: u64,
        thread: u64,
    ) {
        self.summary.events += 1;
        let builtin = matches!(step, Step::CCall | Step::CReturn);
        let frame = match step {
            Step::Call => Some(Frame {
                name: function.to_owned(),
                file: Some(file.to_owned()),
                line,
            }),
            Step::CCall => Some(Frame {
                name: function.to_owned(),
                file: None,
                line: None,
            }),
            Step::Return | Step::CReturn => None,
        };
        let frame = frame.map(|f| self.frame_id(f));
        let frames = &self.frames;
        let this = {
            let next = self.threads.len();
            let slot = *self.by_id.entry(thread).or_insert(next);
            if slot == next {
                self.threads.push(Thread {
                    id: thread,
                    first: time,
                    last: time,
                    ..Thread::default()
                });
            }
            &mut self.threads[slot]
        };
        // Time never goes back on a thread.
        let at = time.max(this.last);
        this.last = at;
        if let Some(frame) = frame {
            this.stack.push(frame);
            this.marks.push(Mark {
                at,
                frame,
                open: true,
            });
            return;
        }
        let matching = this.stack.iter().rposition(|&id| {
            let f = &frames[id as usize];
            f.name == function
                && (f.file.is_none() == builtin)
                && (builtin || f.file.as_deref() == Some(file))
        });
        match matching {
            Some(depth) => {
                self.summary.calls += (this.stack.len() - depth) as u64;
                this.close_to(depth, at);
            }
            None => self.summary.unmatched += 1,
        }
    }

    /// Closes the calls still open, each at its thread's last time.
    pub fn finish(&mut self) -> Summary {
        if !self.finished {
            for thread in &mut self.threads {
                let open = thread.stack.len() as u64;
                self.summary.unfinished += open;
                self.summary.calls += open;
                thread.close_to(0, thread.last);
            }
            self.finished = true;
        }
        self.summary.threads = self.threads.len();
        self.summary.frames = self.frames.len();
        self.summary
    }

    fn thread_name(names: &FxHashMap<u64, String>, id: u64) -> String {
        match names.get(&id) {
            Some(name) => format!("{name} ({id})"),
            None => format!("thread {id}"),
        }
    }

    /// speedscope's JSON (https://www.speedscope.app/file-format-schema.json):
    /// shared frames, one evented profile per thread, in nanoseconds.
    pub fn write_speedscope(
        &mut self,
        out: &mut impl Write,
        name: &str,
        names: &FxHashMap<u64, String>,
    ) -> Result<()> {
        self.finish();
        let mut buf = Vec::with_capacity(1 << 16);
        buf.extend_from_slice(
            b"{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\",\"name\":",
        );
        JsonEncoder::string(name, &mut buf);
        buf.extend_from_slice(b",\"exporter\":");
        JsonEncoder::string(concat!("pikos ", env!("CARGO_PKG_VERSION")), &mut buf);
        buf.extend_from_slice(b",\"activeProfileIndex\":0,\"shared\":{\"frames\":[");
        for (i, frame) in self.frames.iter().enumerate() {
            if i > 0 {
                buf.push(b',');
            }
            buf.extend_from_slice(b"{\"name\":");
            JsonEncoder::string(&frame.name, &mut buf);
            if let Some(file) = &frame.file {
                buf.extend_from_slice(b",\"file\":");
                JsonEncoder::string(file, &mut buf);
            }
            if let Some(line) = frame.line {
                buf.extend_from_slice(format!(",\"line\":{line}").as_bytes());
            }
            buf.push(b'}');
        }
        buf.extend_from_slice(b"]},\"profiles\":[");
        let mut digits = itoa::Buffer::new();
        for (i, thread) in self.threads.iter().enumerate() {
            if i > 0 {
                buf.push(b',');
            }
            buf.extend_from_slice(b"{\"type\":\"evented\",\"name\":");
            JsonEncoder::string(&Self::thread_name(names, thread.id), &mut buf);
            buf.extend_from_slice(b",\"unit\":\"nanoseconds\",\"startValue\":");
            buf.extend_from_slice(digits.format(thread.first).as_bytes());
            buf.extend_from_slice(b",\"endValue\":");
            buf.extend_from_slice(digits.format(thread.last).as_bytes());
            buf.extend_from_slice(b",\"events\":[");
            for (j, mark) in thread.marks.iter().enumerate() {
                if j > 0 {
                    buf.push(b',');
                }
                buf.extend_from_slice(if mark.open {
                    b"{\"type\":\"O\",\"frame\":"
                } else {
                    b"{\"type\":\"C\",\"frame\":"
                });
                buf.extend_from_slice(digits.format(mark.frame).as_bytes());
                buf.extend_from_slice(b",\"at\":");
                buf.extend_from_slice(digits.format(mark.at).as_bytes());
                buf.push(b'}');
                flush_some(out, &mut buf)?;
            }
            buf.extend_from_slice(b"]}");
        }
        buf.extend_from_slice(b"]}\n");
        write_out(out, &buf)
    }

    /// The Trace Event Format's JSON object: metadata naming the process
    /// and each thread, then `B`/`E` events in microseconds (nanosecond
    /// digits kept as decimals).
    pub fn write_chrome(
        &mut self,
        out: &mut impl Write,
        name: &str,
        pid: u32,
        names: &FxHashMap<u64, String>,
    ) -> Result<()> {
        self.finish();
        let mut buf = Vec::with_capacity(1 << 16);
        let mut digits = itoa::Buffer::new();
        let pid = digits.format(pid).to_owned();
        buf.extend_from_slice(b"{\"displayTimeUnit\":\"ns\",\"otherData\":{\"exporter\":");
        JsonEncoder::string(concat!("pikos ", env!("CARGO_PKG_VERSION")), &mut buf);
        buf.extend_from_slice(b"},\"traceEvents\":[\n");
        buf.extend_from_slice(b"{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":");
        buf.extend_from_slice(pid.as_bytes());
        buf.extend_from_slice(b",\"tid\":0,\"args\":{\"name\":");
        JsonEncoder::string(name, &mut buf);
        buf.extend_from_slice(b"}}");
        for thread in &self.threads {
            let tid = digits.format(thread.id).to_owned();
            buf.extend_from_slice(b",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":");
            buf.extend_from_slice(pid.as_bytes());
            buf.extend_from_slice(b",\"tid\":");
            buf.extend_from_slice(tid.as_bytes());
            buf.extend_from_slice(b",\"args\":{\"name\":");
            JsonEncoder::string(&Self::thread_name(names, thread.id), &mut buf);
            buf.extend_from_slice(b"}}");
            for mark in &thread.marks {
                let frame = &self.frames[mark.frame as usize];
                buf.extend_from_slice(b",\n{\"name\":");
                JsonEncoder::string(&frame.name, &mut buf);
                buf.extend_from_slice(if frame.file.is_some() {
                    b",\"cat\":\"python\",\"ph\":\""
                } else {
                    b",\"cat\":\"builtin\",\"ph\":\""
                });
                buf.push(if mark.open { b'B' } else { b'E' });
                buf.extend_from_slice(b"\",\"ts\":");
                buf.extend_from_slice(digits.format(mark.at / 1000).as_bytes());
                buf.extend_from_slice(format!(".{:03}", mark.at % 1000).as_bytes());
                buf.extend_from_slice(b",\"pid\":");
                buf.extend_from_slice(pid.as_bytes());
                buf.extend_from_slice(b",\"tid\":");
                buf.extend_from_slice(tid.as_bytes());
                if let (true, Some(file)) = (mark.open, &frame.file) {
                    buf.extend_from_slice(b",\"args\":{\"file\":");
                    JsonEncoder::string(file, &mut buf);
                    if let Some(line) = frame.line {
                        buf.extend_from_slice(format!(",\"line\":{line}").as_bytes());
                    }
                    buf.push(b'}');
                }
                buf.push(b'}');
                flush_some(out, &mut buf)?;
            }
        }
        buf.extend_from_slice(b"\n]}\n");
        write_out(out, &buf)
    }

    /// Collapsed stacks: per distinct stack (all threads together), its own
    /// time in nanoseconds; lines sorted.  A frame reads `name (file:line)`
    /// for Python functions and `name` for builtins; `;` and line breaks,
    /// which the format reserves, become `,` and spaces.
    pub fn write_collapsed(&mut self, out: &mut impl Write) -> Result<()> {
        self.finish();
        // A tree of stacks: node -> (parent, frame, own time).
        let mut nodes: Vec<(u32, u32, u64)> = vec![(u32::MAX, u32::MAX, 0)];
        let mut children: FxHashMap<(u32, u32), u32> = FxHashMap::default();
        for thread in &self.threads {
            let mut stack: Vec<u32> = Vec::new();
            let mut last = thread.first;
            for mark in &thread.marks {
                if let Some(&top) = stack.last() {
                    nodes[top as usize].2 += mark.at - last;
                }
                last = mark.at;
                if mark.open {
                    let parent = stack.last().copied().unwrap_or(0);
                    let next = nodes.len() as u32;
                    let node = *children.entry((parent, mark.frame)).or_insert(next);
                    if node == next {
                        nodes.push((parent, mark.frame, 0));
                    }
                    stack.push(node);
                } else {
                    stack.pop();
                }
            }
        }
        let labels: Vec<String> = self.frames.iter().map(collapsed_label).collect();
        let mut lines: Vec<String> = Vec::new();
        for (i, &(_, _, own)) in nodes.iter().enumerate().skip(1) {
            if own == 0 {
                continue;
            }
            let mut path = Vec::new();
            let mut node = i as u32;
            while node != 0 {
                let (parent, frame, _) = nodes[node as usize];
                path.push(labels[frame as usize].as_str());
                node = parent;
            }
            path.reverse();
            lines.push(format!("{} {own}\n", path.join(";")));
        }
        lines.sort_unstable();
        let mut buf = Vec::with_capacity(1 << 16);
        for line in lines {
            buf.extend_from_slice(line.as_bytes());
            flush_some(out, &mut buf)?;
        }
        write_out(out, &buf)
    }
}

fn collapsed_label(frame: &Frame) -> String {
    let label = match (&frame.file, frame.line) {
        (Some(file), Some(line)) => format!("{} ({file}:{line})", frame.name),
        (Some(file), None) => format!("{} ({file})", frame.name),
        (None, _) => frame.name.clone(),
    };
    label
        .chars()
        .map(|c| match c {
            ';' => ',',
            '\n' | '\r' => ' ',
            c => c,
        })
        .collect()
}

fn flush_some(out: &mut impl Write, buf: &mut Vec<u8>) -> Result<()> {
    if buf.len() >= 1 << 16 {
        write_out(out, buf)?;
        buf.clear();
    }
    Ok(())
}

fn write_out(out: &mut impl Write, buf: &[u8]) -> Result<()> {
    out.write_all(buf).map_err(|e| Error::io(None, e))
}

/// The columns of a timed function CSV, found by header name.
struct Columns {
    kind: usize,
    function: usize,
    line: usize,
    file: usize,
    time: usize,
    thread: usize,
}

impl Columns {
    fn find(header: &csv::ByteRecord, source: &str) -> Result<Self> {
        let position = |name: &str| header.iter().position(|f| f == name.as_bytes());
        let missing: Vec<&str> = ["type", "function", "lineNo", "filename", "time", "thread"]
            .into_iter()
            .filter(|name| position(name).is_none())
            .collect();
        if missing.contains(&"time") || missing.contains(&"thread") {
            return Err(Error::Input(format!(
                "{source} has no time and thread columns: it was not recorded with \
                 timed function records (FunctionMonitor(recorder, timed=True), or \
                 pikos-run functions --timed)"
            )));
        }
        if !missing.is_empty() {
            return Err(Error::Input(format!(
                "{source} is not a CSV of function records: no {} column",
                missing.join(", ")
            )));
        }
        let at = |name: &str| position(name).unwrap_or_default();
        Ok(Columns {
            kind: at("type"),
            function: at("function"),
            line: at("lineNo"),
            file: at("filename"),
            time: at("time"),
            thread: at("thread"),
        })
    }
}

/// Reads timed function records (CSV, Python's default dialect, with a
/// header) into `trace`.  `source` names the input in errors.
pub fn read_csv(input: impl Read, source: &str, trace: &mut Trace) -> Result<()> {
    // The csv crate counts the `\n` of a `\r\n` with the next record, so
    // its line numbers are one short in files with `\r\n` line ends (as
    // Python's csv writes them): see which this file has.
    let mut input = BufReader::with_capacity(1 << 16, input);
    let start = input.fill_buf().map_err(|e| Error::io(Some(source), e))?;
    let crlf = match start.iter().position(|&b| b == b'\n') {
        Some(at) => at > 0 && start[at - 1] == b'\r',
        None => false,
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(input);
    let header = reader
        .byte_headers()
        .map_err(|e| csv_error(source, e, crlf))?
        .clone();
    if header.is_empty() || (header.len() == 1 && header[0].is_empty()) {
        return Err(Error::Input(format!("{source} is empty: no header row")));
    }
    let columns = Columns::find(&header, source)?;
    let mut row = csv::ByteRecord::new();
    loop {
        match reader.read_byte_record(&mut row) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(csv_error(source, e, crlf)),
        }
        // The line the record starts on (a quoted field may span lines).
        let line = row.position().map_or(0, |p| p.line()) + u64::from(crlf);
        let text = |i: usize| String::from_utf8_lossy(&row[i]);
        let bad = |what: &str| Error::Input(format!("{source}, line {line}: {what}"));
        let kind = text(columns.kind);
        let step =
            Step::from_name(&kind).ok_or_else(|| bad(&format!("unknown event type {kind:?}")))?;
        let number = |i: usize, name: &str| -> Result<u64> {
            text(i)
                .parse::<u64>()
                .map_err(|_| bad(&format!("{name} {:?} is not a whole number", text(i))))
        };
        let time = number(columns.time, "time")?;
        let thread = number(columns.thread, "thread")?;
        let lineno = text(columns.line);
        let lineno = if lineno.is_empty() {
            None
        } else {
            Some(
                lineno
                    .parse::<i64>()
                    .map_err(|_| bad(&format!("lineNo {lineno:?} is not a number")))?,
            )
        };
        trace.event(
            step,
            &text(columns.function),
            &text(columns.file),
            lineno,
            time,
            thread,
        );
    }
    Ok(())
}

fn csv_error(source: &str, error: csv::Error, crlf: bool) -> Error {
    let line = error.position().map(|p| p.line() + u64::from(crlf));
    match error.into_kind() {
        csv::ErrorKind::Io(e) => Error::io(Some(source), e),
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => Error::Input(format!(
            "{source}, line {}: {len} fields where the header has {expected_len}",
            line.unwrap_or_default()
        )),
        other => Error::Input(format!("{source}: not a CSV file ({other:?})")),
    }
}

/// What [`convert`] writes besides the events.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The profile's (speedscope) or process's (Chrome) name.
    pub name: String,
    /// The process id of Chrome events.
    pub pid: u32,
    /// Thread names by thread id.
    pub thread_names: FxHashMap<u64, String>,
}

/// Converts the timed function CSV at `input` to `format` at `output`, or
/// on stdout when `output` is None.  The output is written as Python's
/// `open(path, "w")` would, through links, into FIFOs and devices
/// ([`write_output`]), and a regular file pikos may replace is replaced
/// atomically, so a failure never leaves half a file there.
pub fn convert(
    input: &Path,
    output: Option<&Path>,
    format: Format,
    options: &Options,
) -> Result<Summary> {
    let source = input.display().to_string();
    let file = File::open(input).map_err(|e| Error::io(Some(&source), e))?;
    let mut trace = Trace::new();
    read_csv(file, &source, &mut trace)?;
    let summary = trace.finish();
    if summary.events == 0 {
        return Err(Error::Input(format!("{source} has no records")));
    }
    let mut write = |mut out: &mut dyn Write| match format {
        Format::Speedscope => {
            trace.write_speedscope(&mut out, &options.name, &options.thread_names)
        }
        Format::Chrome => {
            trace.write_chrome(&mut out, &options.name, options.pid, &options.thread_names)
        }
        Format::Collapsed => trace.write_collapsed(&mut out),
    };
    match output {
        Some(path) => write_output(path, write)?,
        None => {
            let stdout = std::io::stdout();
            let mut out = BufWriter::with_capacity(1 << 20, stdout.lock());
            let named = |e: Error| match e {
                Error::Io { path: None, source } => Error::io(Some("stdout"), source),
                e => e,
            };
            write(&mut out).map_err(named)?;
            out.flush().map_err(|e| named(Error::io(None, e)))?;
        }
    }
    Ok(summary)
}

/// Writes a file made by `write` at `path` as Python's `open(path, "w")`
/// would: through a link to its target, into a FIFO (its reader gets the
/// bytes) or a device, never replacing any of them.  Only when `path` is a
/// regular file pikos may replace (absent, or a regular file with one link
/// and, on Unix, owned by this user) is the file written beside it, under
/// a name made with `O_EXCL` (never through a link planted there), with
/// the replaced file's permissions, then renamed onto it when complete.
pub fn write_output(path: &Path, write: impl FnOnce(&mut dyn Write) -> Result<()>) -> Result<()> {
    let target = path.display().to_string();
    let named = |e: Error| match e {
        Error::Io { path: None, source } => Error::io(Some(&target), source),
        e => e,
    };
    let Some(replaced) = replaceable(path) else {
        // In place, as open(path, "w"): truncated and written.
        let file = File::create(path).map_err(|e| Error::io(Some(&target), e))?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        write(&mut out).map_err(named)?;
        return out.flush().map_err(|e| Error::io(Some(&target), e));
    };
    let (partial, file) = create_beside(path).map_err(|e| Error::io(Some(&target), e))?;
    let written = (|| {
        if let Some(permissions) = replaced {
            file.set_permissions(permissions)
                .map_err(|e| Error::io(Some(&target), e))?;
        }
        let mut out = BufWriter::with_capacity(1 << 20, file);
        write(&mut out).map_err(named)?;
        let file = out
            .into_inner()
            .map_err(|e| Error::io(Some(&target), e.into_error()))?;
        file.sync_all().map_err(|e| Error::io(Some(&target), e))?;
        std::fs::rename(&partial, path).map_err(|e| Error::io(Some(&target), e))
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    written
}

/// Whether `path` may be replaced by a rename: `Some(None)` when it does
/// not exist, `Some(permissions)` for a regular file with one link (owned
/// by this user on Unix), None for anything else (a link, a FIFO, a
/// device, a file with other names or another owner: written in place).
fn replaceable(path: &Path) -> Option<Option<std::fs::Permissions>> {
    let metadata = match std::fs::symlink_metadata(path) {
        Ok(metadata) => metadata,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Some(None),
        Err(_) => return None, // the open reports it
    };
    if !metadata.file_type().is_file() {
        return None;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        // SAFETY: geteuid has no preconditions and cannot fail.
        let uid = unsafe { libc::geteuid() };
        if metadata.nlink() != 1 || metadata.uid() != uid {
            return None;
        }
    }
    Some(Some(metadata.permissions()))
}

/// A new file in `path`'s directory, `.NAME.RANDOM.partial`, created with
/// `O_EXCL` (so never through a link put at that name), mode 0666 less the
/// umask as `open` gives.
fn create_beside(path: &Path) -> std::io::Result<(std::path::PathBuf, File)> {
    use std::hash::{BuildHasher, Hasher};
    let name = path.file_name().unwrap_or_default();
    let mut last = None;
    for attempt in 0..64u32 {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u32(std::process::id());
        hasher.write_u32(attempt);
        let mut partial_name = std::ffi::OsString::from(".");
        partial_name.push(name);
        partial_name.push(format!(".{:016x}.partial", hasher.finish()));
        let partial = path.with_file_name(partial_name);
        match File::options().write(true).create_new(true).open(&partial) {
            Ok(file) => return Ok((partial, file)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no free name")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trace_of(events: &[(&str, &str, u64, u64)]) -> Trace {
        let mut trace = Trace::new();
        for &(kind, name, time, thread) in events {
            trace.event(
                Step::from_name(kind).unwrap(),
                name,
                "f.py",
                Some(1),
                time,
                thread,
            );
        }
        trace
    }

    fn marks(trace: &Trace, thread: usize) -> Vec<(u64, &str, bool)> {
        trace.threads[thread]
            .marks
            .iter()
            .map(|m| (m.at, trace.frames[m.frame as usize].name.as_str(), m.open))
            .collect()
    }

    #[test]
    fn returns_close_the_innermost_matching_call_and_skip_unmatched_ones() {
        let mut trace = trace_of(&[
            ("return", "before", 1, 7),
            ("call", "a", 2, 7),
            ("call", "b", 3, 7),
            ("c_call", "len", 4, 7),
            // b returns while len never did (an exception path): both close.
            ("return", "b", 5, 7),
            ("return", "a", 6, 7),
            ("call", "open", 8, 7),
        ]);
        let summary = trace.finish();
        assert_eq!(summary.unmatched, 1);
        assert_eq!(summary.unfinished, 1);
        assert_eq!(summary.calls, 4);
        assert_eq!(
            marks(&trace, 0),
            vec![
                (2, "a", true),
                (3, "b", true),
                (4, "len", true),
                (5, "len", false),
                (5, "b", false),
                (6, "a", false),
                (8, "open", true),
                (8, "open", false),
            ]
        );
    }

    #[test]
    fn threads_keep_their_own_stacks_and_time_never_goes_back() {
        let mut trace = trace_of(&[
            ("call", "a", 10, 1),
            ("call", "b", 11, 2),
            ("return", "a", 9, 1),
            ("return", "b", 12, 2),
        ]);
        trace.finish();
        assert_eq!(marks(&trace, 0), vec![(10, "a", true), (10, "a", false)]);
        assert_eq!(marks(&trace, 1), vec![(11, "b", true), (12, "b", false)]);
    }

    #[test]
    fn a_python_return_never_closes_a_builtin_of_the_same_name() {
        let mut trace = trace_of(&[
            ("call", "len", 1, 1),
            ("c_call", "len", 2, 1),
            ("return", "len", 3, 1),
        ]);
        trace.finish();
        assert_eq!(
            marks(&trace, 0),
            vec![
                (1, "len", true),
                (2, "len", true),
                (3, "len", false),
                (3, "len", false),
            ]
        );
        assert_eq!(trace.frames.len(), 2);
    }

    #[test]
    fn collapsed_stacks_sum_own_time_per_stack() {
        let mut trace = trace_of(&[
            ("call", "main", 0, 1),
            ("call", "work", 10, 1),
            ("return", "work", 40, 1),
            ("call", "work", 50, 1),
            ("return", "work", 60, 1),
            ("return", "main", 100, 1),
        ]);
        let mut out = Vec::new();
        trace.write_collapsed(&mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "main (f.py:1) 60\nmain (f.py:1);work (f.py:1) 40\n"
        );
    }

    #[test]
    fn chrome_times_are_microseconds_with_nanosecond_decimals() {
        let mut trace = trace_of(&[
            ("call", "a\"b", 1_234_567, 5),
            ("return", "a\"b", 2_000_001, 5),
        ]);
        let mut out = Vec::new();
        trace
            .write_chrome(&mut out, "p", 42, &FxHashMap::default())
            .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains(r#"{"name":"a\"b","cat":"python","ph":"B","ts":1234.567,"pid":42,"tid":5,"args":{"file":"f.py","line":1}}"#), "{text}");
        assert!(
            text.contains(r#""ph":"E","ts":2000.001,"pid":42,"tid":5}"#),
            "{text}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn outputs_are_written_as_open_w_and_replaced_only_when_ours() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("pikos-core-out-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bytes = |text: &'static str| {
            move |out: &mut dyn Write| {
                out.write_all(text.as_bytes())
                    .map_err(|e| Error::io(None, e))
            }
        };
        // A regular file: replaced whole, keeping its permissions.
        let file = dir.join("out.json");
        std::fs::write(&file, "old").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
        write_output(&file, bytes("new")).unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "new");
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
        // A link: its target is written, the link stays.
        let link = dir.join("link.json");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        write_output(&link, bytes("through")).unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "through");
        // A failed write leaves the old file and no partial file.
        let failing = |_: &mut dyn Write| Err(Error::Input("no".into()));
        assert!(write_output(&file, failing).is_err());
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "through");
        let mut names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["link.json", "out.json"]);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn csv_errors_name_the_file_and_line() {
        let mut trace = Trace::new();
        let plain = "index,type,function,lineNo,filename\r\n0,call,f,1,a.py\r\n";
        let err = read_csv(plain.as_bytes(), "x.csv", &mut trace).unwrap_err();
        assert!(
            err.to_string().contains("no time and thread columns"),
            "{err}"
        );
        let bad = "index,type,function,lineNo,filename,time,thread\r\n0,call,f,1,a.py,soon,1\r\n";
        let err = read_csv(bad.as_bytes(), "x.csv", &mut trace).unwrap_err();
        assert_eq!(
            err.to_string(),
            "x.csv, line 2: time \"soon\" is not a whole number"
        );
        // Lines counted as Python's csv counts them, with either line end
        // and with a quoted line break before the bad row.
        let unix = "index,type,function,lineNo,filename,time,thread\n0,call,\"f\ng\",1,a.py,1,1\n1,call,f,1,a.py,x,1\n";
        let err = read_csv(unix.as_bytes(), "x.csv", &mut trace).unwrap_err();
        assert!(err.to_string().starts_with("x.csv, line 4: time"), "{err}");
        let short = "index,type,function,lineNo,filename,time,thread\r\n0,call,f\r\n";
        let err = read_csv(short.as_bytes(), "x.csv", &mut trace).unwrap_err();
        assert!(
            err.to_string().starts_with("x.csv, line 2: 3 fields"),
            "{err}"
        );
    }
}
