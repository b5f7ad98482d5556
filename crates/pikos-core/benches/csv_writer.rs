//! Throughput of the CSV writer: records per second that the writer thread
//! turns into bytes (`Pipeline::events` with the excel dialect, into memory),
//! and end to end through a file's writer thread (`Writer::open`, reported as
//! "FileSink") to /dev/null (channel, batches, writer thread).  Run with `cargo bench -p pikos-core --bench csv_writer`;
//! `make bench` does, and puts the numbers in BENCHMARKS.md.
//!
//! The data looks like a real line monitor's: 40 code objects of 60 source
//! lines each (half of them with commas or quotes, which CSV quotes),
//! absolute file names, growing indices and realistic memory figures.

use std::sync::Arc;
use std::time::{Duration, Instant};

use pikos_core::encode::CsvEncoder;
use pikos_core::event::EventKind;
use pikos_core::{
    tables, CodeEntry, CsvDialect, Event, FileMode, FilterSet, Pipeline, RecordKind, Writer,
};

const CODES: u32 = 40;
const LINES: i32 = 60;
const EVENTS: usize = 2_000_000;
const BATCH: usize = 8192;

fn source_line(code: u32, line: i32) -> Box<str> {
    match line % 4 {
        0 => format!("        total += values[{line}] * weights[{code}]  # accumulate"),
        1 => format!("    result = compute(a, b, {line})"),
        2 => format!("    name = \"item_{code}_{line}\""),
        _ => format!("    for i in range({line}):"),
    }
    .into_boxed_str()
}

/// Registers the code objects; returns (code id, name id) pairs.
fn register() -> Vec<(u32, u32)> {
    let mut t = tables().write().unwrap();
    (0..CODES)
        .map(|c| {
            let lines: Vec<Box<str>> = (1..=LINES).map(|l| source_line(c, l)).collect();
            let code = t.add_code(CodeEntry {
                filename: Arc::from(format!("/home/user/project/pkg/module_{c}.py")),
                first_line: 1,
                lines: Some(lines.into()),
            });
            let name = t.add_name(Arc::from(format!("function_{c}")));
            (code, name)
        })
        .collect()
}

fn events(ids: &[(u32, u32)], kind: RecordKind) -> Vec<Event> {
    let line_kind = matches!(kind, RecordKind::Line | RecordKind::LineMemory);
    (0..EVENTS)
        .map(|i| {
            let (code, function) = ids[(i / 50) % ids.len()];
            Event {
                index: i as u64,
                rss: 60_000_000 + (i as u64 % 7919) * 4096,
                vms: 380_000_000 + (i as u64 % 104_729) * 4096,
                time: 0,
                thread: 0,
                code,
                function,
                lineno: 1 + (i as i32 % LINES),
                kind: if line_kind {
                    EventKind::Line
                } else if i % 2 == 0 {
                    EventKind::Call
                } else {
                    EventKind::Return
                },
            }
        })
        .collect()
}

fn pipeline(kind: RecordKind) -> Pipeline {
    Pipeline::new(
        Some(kind),
        FilterSet::default(),
        Box::new(CsvEncoder::new(CsvDialect::default())),
    )
}

/// Best of `rounds` timings of `f`.
fn best(rounds: usize, mut f: impl FnMut() -> usize) -> (Duration, usize) {
    let mut best = Duration::MAX;
    let mut bytes = 0;
    for _ in 0..rounds {
        let start = Instant::now();
        bytes = f();
        best = best.min(start.elapsed());
    }
    (best, bytes)
}

fn report(what: &str, kind: RecordKind, (time, bytes): (Duration, usize)) {
    let secs = time.as_secs_f64();
    println!(
        "{what:<30} {:<16} {:>6.1} M records/s {:>7.0} MB/s  ({} records, {:.1} MB, {:.3} s)",
        format!("{kind:?}"),
        EVENTS as f64 / secs / 1e6,
        bytes as f64 / secs / 1e6,
        EVENTS,
        bytes as f64 / 1e6,
        secs
    );
}

fn main() {
    let ids = register();
    for kind in [
        RecordKind::Function,
        RecordKind::Line,
        RecordKind::FunctionMemory,
        RecordKind::LineMemory,
    ] {
        let events = events(&ids, kind);
        let mut p = pipeline(kind);
        let mut out = Vec::with_capacity(1 << 20);
        let encoded = best(5, || {
            let mut total = 0;
            for batch in events.chunks(BATCH) {
                out.clear();
                p.events(batch, &mut out).unwrap();
                total += out.len();
            }
            total
        });
        report("encode (writer thread work)", kind, encoded);

        let to_file = best(3, || {
            let fields = kind.field_names();
            let mut writer = Writer::open(
                "/dev/null",
                FileMode::Write,
                true,
                pipeline(kind),
                &fields,
                false,
            )
            .unwrap();
            for event in &events {
                writer.push(*event);
            }
            writer.close().unwrap();
            0
        });
        let (time, _) = to_file;
        report("push + FileSink to /dev/null", kind, (time, encoded.1));
    }
}
