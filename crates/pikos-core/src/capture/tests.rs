use std::path::{Path, PathBuf};

use super::*;
use crate::encode::{CsvDialect, CsvEncoder, Encoder, TextEncoder};
use crate::event::{Event, EventKind, OwnedValue, RecordKind, NO_LINE};
use crate::filter::{Filter, FilterSet};
use crate::pipeline::tests::code;
use crate::pipeline::Pipeline;

fn dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pikos-capture-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Events over a hostile corpus of names, files and source lines.
fn events(n: u64) -> Vec<Event> {
    let lines = [
        "def f(a, b):",
        "    s = \"x,\" + 'y'  # \"quoted\"",
        "    return s\t",
        "",
        "  é\u{2028}\u{1f600}",
    ];
    let places = [
        code("/p/a, b.py", &lines),
        code("/p/\"q\".py", &lines),
        code("/p/line\nbreak.py", &[]),
        code("/p/sc\\udcffript.py", &lines),
    ];
    (0..n)
        .map(|i| {
            let (code, function) = places[(i % 4) as usize];
            Event {
                index: i * 2 + (i % 3),
                rss: (1 << 20) | ((i / 10) * 4096),
                vms: 9 << 20,
                time: 1000 + i * 37 + i % 5,
                thread: 140_000_000 + (i / 500) % 2,
                code,
                function,
                lineno: [1, 2, 3, 9, NO_LINE, 5, 0][(i % 7) as usize],
                kind: [
                    EventKind::Call,
                    EventKind::Line,
                    EventKind::Return,
                    EventKind::CCall,
                    EventKind::CReturn,
                    EventKind::CException,
                ][(i % 6) as usize],
            }
        })
        .collect()
}

fn csv() -> Box<dyn Encoder> {
    Box::new(CsvEncoder::new(CsvDialect::default()))
}

/// The records as `encoder` writes them straight from the pipeline.
fn direct(
    kind: RecordKind,
    events: &[Event],
    filters: FilterSet,
    encoder: Box<dyn Encoder>,
) -> Vec<u8> {
    let mut pipeline = Pipeline::new(Some(kind), filters, encoder);
    let mut out = Vec::new();
    pipeline.header(&kind.field_names(), &mut out).unwrap();
    for batch in events.chunks(1000) {
        pipeline.events(batch, &mut out).unwrap();
    }
    out
}

fn capture(path: &Path, kind: RecordKind, events: &[Event], filters: FilterSet) {
    let fields = kind.field_names().iter().map(|f| f.to_string()).collect();
    let mut writer = open(path, false, false, Some(kind), fields, filters, "{}".into()).unwrap();
    for &event in events {
        writer.push(event);
    }
    writer.close().unwrap();
}

fn exported(path: &Path, encoder: Box<dyn Encoder>) -> (Vec<u8>, ReadSummary) {
    let out = path.with_extension("out");
    let summary = write_rows(path, Some(&out), encoder, true).unwrap();
    (std::fs::read(&out).unwrap(), summary)
}

#[test]
fn every_kind_reads_back_as_the_rows_the_encoders_write() {
    let dir = dir("kinds");
    let events = events(30_000);
    for kind in RecordKind::ALL {
        let path = dir.join(format!("{}.pikos", kind.name()));
        capture(&path, kind, &events, FilterSet::default());
        let (got, summary) = exported(&path, csv());
        let want = direct(kind, &events, FilterSet::default(), csv());
        assert!(got == want, "{}: CSV differs", kind.name());
        assert_eq!(summary.records, events.len() as u64);
        assert_eq!(
            (summary.sessions, summary.ended, summary.cut.clone()),
            (1, 1, None)
        );
        let (got, _) = exported(&path, Box::new(TextEncoder::Plain));
        let want = direct(
            kind,
            &events,
            FilterSet::default(),
            Box::new(TextEncoder::Plain),
        );
        assert!(got == want, "{}: text differs", kind.name());
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn filtered_events_are_kept_as_the_csv_keeps_them() {
    let dir = dir("filters");
    let events = events(5_000);
    let filters = || {
        FilterSet::new(vec![Filter::OnValue {
            at: 1,
            values: vec![OwnedValue::Str("call".into())],
        }])
    };
    let path = dir.join("f.pikos");
    capture(&path, RecordKind::Function, &events, filters());
    let (got, summary) = exported(&path, csv());
    assert!(got == direct(RecordKind::Function, &events, filters(), csv()));
    assert!(summary.records < 1000);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn rows_from_python_and_sessions_appended() {
    let dir = dir("rows");
    let path = dir.join("r.pikos");
    let fields = || vec!["index".to_string(), "a".into(), "b".into()];
    for append in [false, true] {
        let mut writer = open(
            &path,
            append,
            false,
            None,
            fields(),
            FilterSet::default(),
            "{}".into(),
        )
        .unwrap();
        writer.push_row(vec![
            OwnedValue::Int(-5),
            OwnedValue::Str("x,\"y\"\n".into()),
            OwnedValue::Num("1.5".into()),
        ]);
        writer.push_row(vec![
            OwnedValue::Int(7),
            OwnedValue::None,
            OwnedValue::Str(String::new()),
        ]);
        writer.close().unwrap();
    }
    let (got, summary) = exported(&path, csv());
    eprintln!("{summary:?}");
    let rows = "-5,\"x,\"\"y\"\"\n\",1.5\r\n7,,\r\n";
    assert_eq!(
        String::from_utf8(got).unwrap(),
        format!("index,a,b\r\n{rows}{rows}")
    );
    assert_eq!(
        (summary.sessions, summary.ended, summary.records),
        (2, 2, 4)
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn long_rows_are_read_as_messages_cut_by_size() {
    let dir = dir("long-rows");
    let path = dir.join("l.pikos");
    let fields = vec!["index".to_string(), "line".into()];
    let mut writer = open(
        &path,
        false,
        false,
        None,
        fields,
        FilterSet::default(),
        "{}".into(),
    )
    .unwrap();
    let long = "y".repeat(100_000);
    for i in 0..300 {
        writer.push_row(vec![OwnedValue::Int(i), OwnedValue::Str(long.clone())]);
    }
    writer.close().unwrap();
    let mut got = Vec::new();
    frames(&path, 8192, &mut |frame| {
        if let Frame::Records(_, lines, count) = frame {
            got.push((lines.len(), count));
        }
        Ok(())
    })
    .unwrap();
    // 300 rows of 100 kB: three messages of at most 8 MiB and a record.
    assert_eq!(got.len(), 4, "{got:?}");
    assert_eq!(got.iter().map(|g| g.1).sum::<u64>(), 300);
    assert!(got
        .iter()
        .all(|&(bytes, _)| bytes < crate::wire::RECORDS_MESSAGE_BYTES + 100_100));
    std::fs::remove_dir_all(dir).unwrap();
}

struct Count(u64, Vec<String>);

impl Visitor for Count {
    fn session(&mut self, _: &Session<'_>) -> crate::Result<()> {
        Ok(())
    }
    fn record(&mut self, values: &[crate::Value<'_>]) -> crate::Result<()> {
        self.0 += 1;
        self.1.push(format!("{values:?}"));
        Ok(())
    }
}

/// Block boundaries of a capture: offsets where a block starts.
fn boundaries(bytes: &[u8]) -> Vec<usize> {
    let mut at = FILE_HEADER;
    let mut starts = vec![];
    while at + BLOCK_HEADER <= bytes.len() {
        starts.push(at);
        let size = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        at += BLOCK_HEADER + size;
    }
    starts.push(bytes.len());
    starts
}

#[test]
fn a_cut_capture_reads_back_to_its_last_whole_block() {
    let dir = dir("cut");
    let path = dir.join("c.pikos");
    // Several blocks: a writer flush closes one.
    let fields: Vec<String> = RecordKind::LineMemory
        .field_names()
        .iter()
        .map(|f| f.to_string())
        .collect();
    let mut writer = open(
        &path,
        false,
        false,
        Some(RecordKind::LineMemory),
        fields,
        FilterSet::default(),
        "{}".into(),
    )
    .unwrap();
    for (i, event) in events(20_000).into_iter().enumerate() {
        writer.push(event);
        if i % 5000 == 4999 {
            writer.flush().unwrap();
        }
    }
    writer.close().unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let mut whole = Count(0, vec![]);
    read(&bytes[..], "c", &mut whole).unwrap();
    let starts = boundaries(&bytes);
    assert!(starts.len() >= 6, "{starts:?}");
    let mut offsets: Vec<usize> = (0..bytes.len()).step_by(97).collect();
    for pair in starts.windows(2) {
        offsets.extend([
            pair[0],
            pair[0] + 3,
            pair[0] + 9,
            (pair[0] + pair[1]) / 2,
            pair[1] - 1,
        ]);
    }
    for cut in offsets {
        let cut = cut.min(bytes.len());
        let mut got = Count(0, vec![]);
        let summary = match read(&bytes[..cut], "c", &mut got) {
            Ok(summary) => summary,
            Err(e) => {
                assert!(cut < MAGIC.len(), "{cut}: {e}");
                continue;
            }
        };
        assert_eq!(
            got.1[..],
            whole.1[..got.1.len()],
            "cut at {cut}: not a prefix"
        );
        let at_boundary = starts.contains(&cut);
        if cut == bytes.len() {
            assert!(summary.cut.is_none());
        } else if at_boundary {
            assert!(summary.cut.is_none(), "{cut}");
            assert_eq!(summary.bytes, cut as u64);
        } else {
            let where_ = summary.cut.expect("a cut is reported");
            assert_eq!(where_.offset, summary.bytes);
            assert_eq!(where_.records, got.0);
            assert!(where_.offset <= cut as u64);
        }
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn damaged_captures_never_panic() {
    let dir = dir("fuzz");
    let path = dir.join("z.pikos");
    capture(
        &path,
        RecordKind::TimedFunctionMemory,
        &events(3000),
        FilterSet::default(),
    );
    let bytes = std::fs::read(&path).unwrap();
    // A raw block made by hand, damaged in every way, compressed properly
    // (so the damage reaches the record decoder, past zstd's checksum).
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..3000 {
        let mut damaged = bytes.clone();
        for _ in 0..(next() % 4 + 1) {
            let at = (next() as usize) % damaged.len();
            damaged[at] ^= (next() as u8) | 1;
        }
        let _ = read(&damaged[..], "z", &mut Count(0, vec![]));
    }
    let mut raw = vec![];
    let mut encoder = write::CaptureEncoder::new(
        Some(RecordKind::Line),
        RecordKind::Line
            .field_names()
            .iter()
            .map(|f| f.to_string())
            .collect(),
        "{}".into(),
    )
    .unwrap();
    encoder.header(&[], &mut raw).unwrap();
    let mut view = crate::tables::TablesView::default();
    encoder
        .events(RecordKind::Line, &mut view, &events(200), &mut raw)
        .unwrap();
    for _ in 0..3000 {
        let mut block = raw.clone();
        for _ in 0..(next() % 3 + 1) {
            let at = (next() as usize) % block.len();
            block[at] = next() as u8;
        }
        if next() % 4 == 0 {
            block.truncate((next() as usize) % block.len());
        }
        let frame = zstd::bulk::compress(&block, 1).unwrap();
        let mut file = MAGIC.to_vec();
        file.extend(VERSION.to_le_bytes());
        file.extend((frame.len() as u32).to_le_bytes());
        file.extend((block.len() as u32).to_le_bytes());
        file.extend(frame);
        let _ = read(&file[..], "z", &mut Count(0, vec![]));
    }
    std::fs::remove_dir_all(dir).unwrap();
}
