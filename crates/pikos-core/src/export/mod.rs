//! Timed function records as the files today's viewers open: speedscope's
//! evented profiles, Chrome trace events (Perfetto, `chrome://tracing`),
//! collapsed stacks (flame graphs), pprof profiles (`go tool pprof`,
//! continuous-profiling services) and callgrind files (KCachegrind).
//!
//! Records come from the CSV that a timed function monitor writes
//! ([`read_csv`]); [`convert`] is the whole path from that file to a format.
//!
//! `trace.rs` holds the [`Trace`]; each format is a file of its own that
//! writes one (`speedscope.rs`, `chrome.rs`, `collapsed.rs`, `pprof.rs`,
//! `callgrind.rs`).

mod callgrind;
mod chrome;
mod collapsed;
pub mod pprof;
mod speedscope;
mod trace;

pub use self::trace::{Frame, Step, Summary, Trace};

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::Path;

use rustc_hash::FxHashMap;

use crate::error::{Error, Result};
use crate::output::write_output;

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
    /// pprof's `profile.proto`, gzipped: a sample per stack and thread with
    /// its calls and own nanoseconds.
    Pprof,
    /// The callgrind format (KCachegrind, callgrind_annotate): own time per
    /// function, calls and inclusive time per caller-callee edge.
    Callgrind,
}

impl Format {
    pub const NAMES: [&'static str; 5] =
        ["speedscope", "chrome", "collapsed", "pprof", "callgrind"];

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "speedscope" => Some(Format::Speedscope),
            "chrome" => Some(Format::Chrome),
            "collapsed" => Some(Format::Collapsed),
            "pprof" => Some(Format::Pprof),
            "callgrind" => Some(Format::Callgrind),
            _ => None,
        }
    }
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
    /// The profile's (speedscope, pprof's mapping) or process's (Chrome,
    /// callgrind's `cmd:`) name.
    pub name: String,
    /// The process id of Chrome events and callgrind's `pid:`.
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
        Format::Pprof => trace.write_pprof(&mut out, &options.name, &options.thread_names),
        Format::Callgrind => trace.write_callgrind(&mut out, &options.name, options.pid),
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

#[cfg(test)]
mod tests {
    use super::*;

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
