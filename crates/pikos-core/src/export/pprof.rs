//! pprof's profile (`profile.proto`, gzipped): what `go tool pprof`,
//! Pyroscope, Parca and Grafana read.
//!
//! Every distinct stack of a thread is one sample with two values, the
//! calls that ran with exactly that stack (`calls/count`) and the time that
//! stack was on top (`wall/nanoseconds`, own time), labelled with its
//! thread.  A Python function is a pprof function with its name, file and
//! first line; a builtin is one of its own with no file.  A location is a
//! function at a line: the line it called a builtin from (a `c_call`
//! record carries it), else its first line (a Python call's record carries
//! the callee's first line, not the caller's).
//!
//! The messages below are `profile.proto`'s (github.com/google/pprof,
//! proto/profile.proto), declared with prost's derive and the proto's own
//! field numbers; prost does all the encoding.

use std::io::Write;

use flate2::write::GzEncoder;
use flate2::Compression;
use prost::Message;
use rustc_hash::FxHashMap;

use super::trace::Trace;
use crate::error::{Error, Result};

/// `perftools.profiles.Profile`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Profile {
    #[prost(message, repeated, tag = "1")]
    pub sample_type: Vec<ValueType>,
    #[prost(message, repeated, tag = "2")]
    pub sample: Vec<Sample>,
    #[prost(message, repeated, tag = "3")]
    pub mapping: Vec<Mapping>,
    #[prost(message, repeated, tag = "4")]
    pub location: Vec<Location>,
    #[prost(message, repeated, tag = "5")]
    pub function: Vec<Function>,
    #[prost(string, repeated, tag = "6")]
    pub string_table: Vec<String>,
    #[prost(int64, tag = "7")]
    pub drop_frames: i64,
    #[prost(int64, tag = "8")]
    pub keep_frames: i64,
    #[prost(int64, tag = "9")]
    pub time_nanos: i64,
    #[prost(int64, tag = "10")]
    pub duration_nanos: i64,
    #[prost(message, optional, tag = "11")]
    pub period_type: Option<ValueType>,
    #[prost(int64, tag = "12")]
    pub period: i64,
    #[prost(int64, repeated, tag = "13")]
    pub comment: Vec<i64>,
    #[prost(int64, tag = "14")]
    pub default_sample_type: i64,
}

/// `perftools.profiles.ValueType`: indices into the string table.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ValueType {
    #[prost(int64, tag = "1")]
    pub r#type: i64,
    #[prost(int64, tag = "2")]
    pub unit: i64,
}

/// `perftools.profiles.Sample`: locations leaf first.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Sample {
    #[prost(uint64, repeated, tag = "1")]
    pub location_id: Vec<u64>,
    #[prost(int64, repeated, tag = "2")]
    pub value: Vec<i64>,
    #[prost(message, repeated, tag = "3")]
    pub label: Vec<Label>,
}

/// `perftools.profiles.Label`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Label {
    #[prost(int64, tag = "1")]
    pub key: i64,
    #[prost(int64, tag = "2")]
    pub str: i64,
    #[prost(int64, tag = "3")]
    pub num: i64,
    #[prost(int64, tag = "4")]
    pub num_unit: i64,
}

/// `perftools.profiles.Mapping`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Mapping {
    #[prost(uint64, tag = "1")]
    pub id: u64,
    #[prost(uint64, tag = "2")]
    pub memory_start: u64,
    #[prost(uint64, tag = "3")]
    pub memory_limit: u64,
    #[prost(uint64, tag = "4")]
    pub file_offset: u64,
    #[prost(int64, tag = "5")]
    pub filename: i64,
    #[prost(int64, tag = "6")]
    pub build_id: i64,
    #[prost(bool, tag = "7")]
    pub has_functions: bool,
    #[prost(bool, tag = "8")]
    pub has_filenames: bool,
    #[prost(bool, tag = "9")]
    pub has_line_numbers: bool,
    #[prost(bool, tag = "10")]
    pub has_inline_frames: bool,
}

/// `perftools.profiles.Location`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Location {
    #[prost(uint64, tag = "1")]
    pub id: u64,
    #[prost(uint64, tag = "2")]
    pub mapping_id: u64,
    #[prost(uint64, tag = "3")]
    pub address: u64,
    #[prost(message, repeated, tag = "4")]
    pub line: Vec<Line>,
    #[prost(bool, tag = "5")]
    pub is_folded: bool,
}

/// `perftools.profiles.Line`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Line {
    #[prost(uint64, tag = "1")]
    pub function_id: u64,
    #[prost(int64, tag = "2")]
    pub line: i64,
}

/// `perftools.profiles.Function`: names are string table indices.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Function {
    #[prost(uint64, tag = "1")]
    pub id: u64,
    #[prost(int64, tag = "2")]
    pub name: i64,
    #[prost(int64, tag = "3")]
    pub system_name: i64,
    #[prost(int64, tag = "4")]
    pub filename: i64,
    #[prost(int64, tag = "5")]
    pub start_line: i64,
}

/// The string table: index 0 is "", as the format requires.
struct Strings {
    table: Vec<String>,
    index: FxHashMap<String, i64>,
}

impl Strings {
    fn new() -> Self {
        let mut strings = Strings {
            table: Vec::new(),
            index: FxHashMap::default(),
        };
        strings.id("");
        strings
    }

    fn id(&mut self, text: &str) -> i64 {
        if let Some(&id) = self.index.get(text) {
            return id;
        }
        let id = self.table.len() as i64;
        self.table.push(text.to_owned());
        self.index.insert(text.to_owned(), id);
        id
    }
}

fn signed(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

impl Trace {
    /// The trace as a pprof [`Profile`] (not yet encoded).
    pub fn pprof_profile(&mut self, name: &str, names: &FxHashMap<u64, String>) -> Profile {
        let stacks = self.stacks(true, true);
        let mut strings = Strings::new();
        let calls = ValueType {
            r#type: strings.id("calls"),
            unit: strings.id("count"),
        };
        let wall = ValueType {
            r#type: strings.id("wall"),
            unit: strings.id("nanoseconds"),
        };
        let mapping = Mapping {
            id: 1,
            filename: strings.id(name),
            // Symbolized already: no tool should look for binaries.
            has_functions: true,
            has_filenames: true,
            has_line_numbers: true,
            ..Mapping::default()
        };
        // One function per frame (ids: frame + 1); one location per frame
        // and line (its first line, or a line it called a builtin from).
        let mut function = Vec::with_capacity(self.frames.len());
        for (i, frame) in self.frames.iter().enumerate() {
            let fname = strings.id(&frame.name);
            function.push(Function {
                id: i as u64 + 1,
                name: fname,
                system_name: fname,
                filename: strings.id(frame.file.as_deref().unwrap_or("")),
                start_line: frame.line.unwrap_or(0),
            });
        }
        let mut location: Vec<Location> = Vec::with_capacity(self.frames.len());
        let mut location_ids: FxHashMap<(u32, i64), u64> = FxHashMap::default();
        let mut location_of = |frame: u32, line: Option<i64>| -> u64 {
            let line = line.or(self.frames[frame as usize].line).unwrap_or(0);
            *location_ids.entry((frame, line)).or_insert_with(|| {
                let id = location.len() as u64 + 1;
                location.push(Location {
                    id,
                    mapping_id: 1,
                    // A distinct address per location: tools that key on
                    // it (and pprof's own merging) keep them apart.
                    address: id,
                    line: vec![Line {
                        function_id: u64::from(frame) + 1,
                        line,
                    }],
                    is_folded: false,
                });
                id
            })
        };
        let thread_key = strings.id("thread");
        let thread_id_key = strings.id("thread_id");
        let thread_labels: Vec<(i64, i64)> = self
            .threads
            .iter()
            .map(|t| (strings.id(&Trace::thread_name(names, t.id)), signed(t.id)))
            .collect();
        // Nodes that differ only in a call site of a frame above them are
        // one sample when their locations are the same: add them up.
        let mut sample: Vec<Sample> = Vec::new();
        let mut samples: FxHashMap<(Vec<u64>, u32), usize> = FxHashMap::default();
        for (i, node) in stacks.nodes.iter().enumerate() {
            let locations: Vec<u64> = stacks
                .lines_of(i as u32)
                .into_iter()
                .map(|(frame, line)| location_of(frame, line))
                .collect();
            let slot = *samples
                .entry((locations.clone(), node.thread))
                .or_insert_with(|| {
                    let (thread, thread_id) = thread_labels[node.thread as usize];
                    sample.push(Sample {
                        location_id: locations,
                        value: vec![0, 0],
                        label: vec![
                            Label {
                                key: thread_key,
                                str: thread,
                                ..Label::default()
                            },
                            Label {
                                key: thread_id_key,
                                num: thread_id,
                                ..Label::default()
                            },
                        ],
                    });
                    sample.len() - 1
                });
            let value = &mut sample[slot].value;
            value[0] = value[0].saturating_add(signed(node.calls));
            value[1] = value[1].saturating_add(signed(node.own));
        }
        let first = self.threads.iter().map(|t| t.first).min().unwrap_or(0);
        let last = self.threads.iter().map(|t| t.last).max().unwrap_or(0);
        let comment = vec![strings.id(concat!(
            "pikos ",
            env!("CARGO_PKG_VERSION"),
            ": exact calls and own wall time per stack"
        ))];
        Profile {
            sample_type: vec![calls, wall.clone()],
            sample,
            mapping: vec![mapping],
            location,
            function,
            duration_nanos: signed(last - first),
            period_type: Some(wall.clone()),
            period: 1,
            comment,
            default_sample_type: wall.r#type,
            string_table: strings.table,
            ..Profile::default()
        }
    }

    /// The pprof profile, protobuf-encoded and gzipped, as `go tool pprof`
    /// reads it.
    pub fn write_pprof(
        &mut self,
        out: &mut impl Write,
        name: &str,
        names: &FxHashMap<u64, String>,
    ) -> Result<()> {
        let bytes = self.pprof_profile(name, names).encode_to_vec();
        let mut gzip = GzEncoder::new(out, Compression::default());
        gzip.write_all(&bytes).map_err(|e| Error::io(None, e))?;
        gzip.finish().map_err(|e| Error::io(None, e))?;
        Ok(())
    }
}

/// Reads a pprof profile, gzipped or not (what `pikos diff` compares).
pub fn decode_pprof(bytes: &[u8]) -> std::result::Result<Profile, String> {
    let mut raw = Vec::new();
    let plain: &[u8] = if bytes.starts_with(&[0x1f, 0x8b]) {
        use std::io::Read;
        flate2::read::MultiGzDecoder::new(bytes)
            .read_to_end(&mut raw)
            .map_err(|e| format!("not a gzip file ({e})"))?;
        &raw
    } else {
        bytes
    };
    Profile::decode(plain).map_err(|e| format!("not a pprof profile ({e})"))
}

/// One function's totals over a profile's samples (what `pikos diff`
/// compares).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionTotals {
    pub name: String,
    pub file: String,
    pub line: i64,
    /// Calls (a `calls` sample type's values where the function is the
    /// leaf); None when the profile counts no calls.
    pub calls: Option<i64>,
    /// Nanoseconds as the leaf (own time).
    pub own: i64,
    /// Nanoseconds anywhere on the stack, each sample counted once.
    pub cumulative: i64,
}

/// Per function (name, file, first line), in the order first seen: calls,
/// own and cumulative time.  The time is the sample type `wall` or, when
/// there is none, the first in nanoseconds (`cpu`, a Go profile's).
pub fn function_totals(profile: &Profile) -> std::result::Result<Vec<FunctionTotals>, String> {
    let text = |i: i64| -> &str {
        usize::try_from(i)
            .ok()
            .and_then(|i| profile.string_table.get(i))
            .map_or("", String::as_str)
    };
    let types: Vec<(&str, &str)> = profile
        .sample_type
        .iter()
        .map(|t| (text(t.r#type), text(t.unit)))
        .collect();
    let calls_at = types.iter().position(|&(kind, _)| kind == "calls");
    let time_at = types
        .iter()
        .position(|&(kind, unit)| kind == "wall" && unit == "nanoseconds")
        .or_else(|| types.iter().position(|&(_, unit)| unit == "nanoseconds"))
        .ok_or_else(|| {
            let listed: Vec<String> = types.iter().map(|(k, u)| format!("{k}/{u}")).collect();
            format!(
                "has no time in nanoseconds among its sample types ({})",
                listed.join(", ")
            )
        })?;
    let functions: FxHashMap<u64, &Function> = profile.function.iter().map(|f| (f.id, f)).collect();
    let locations: FxHashMap<u64, &Location> = profile.location.iter().map(|l| (l.id, l)).collect();
    let mut totals: Vec<FunctionTotals> = Vec::new();
    let mut index: FxHashMap<u64, usize> = FxHashMap::default();
    let mut seen: Vec<usize> = Vec::new();
    for sample in &profile.sample {
        let value = |at: usize| sample.value.get(at).copied().unwrap_or(0);
        let time = value(time_at);
        seen.clear();
        // Leaf first; within a location, the innermost (inlined) line first.
        let lines = sample
            .location_id
            .iter()
            .filter_map(|id| locations.get(id))
            .flat_map(|location| location.line.iter());
        for (depth, line) in lines.enumerate() {
            let slot = match index.get(&line.function_id) {
                Some(&slot) => slot,
                None => {
                    let f = functions.get(&line.function_id).ok_or_else(|| {
                        format!("names function {} that it does not hold", line.function_id)
                    })?;
                    totals.push(FunctionTotals {
                        name: text(f.name).to_owned(),
                        file: text(f.filename).to_owned(),
                        line: f.start_line,
                        calls: calls_at.map(|_| 0),
                        own: 0,
                        cumulative: 0,
                    });
                    index.insert(line.function_id, totals.len() - 1);
                    totals.len() - 1
                }
            };
            let entry = &mut totals[slot];
            if depth == 0 {
                entry.own += time;
                if let (Some(at), Some(calls)) = (calls_at, entry.calls.as_mut()) {
                    *calls += value(at);
                }
            }
            if !seen.contains(&slot) {
                seen.push(slot);
                entry.cumulative += time;
            }
        }
    }
    Ok(totals)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::trace::Step;

    fn fib_trace() -> Trace {
        // main -> fib(2) -> fib(1), fib(0); then len() from main; thread 9.
        let mut trace = Trace::new();
        let py = |trace: &mut Trace, step, name, at| {
            trace.event(step, name, "fib.py", Some(3), at, 9);
        };
        py(&mut trace, Step::Call, "main", 0);
        py(&mut trace, Step::Call, "fib", 10);
        py(&mut trace, Step::Call, "fib", 20);
        py(&mut trace, Step::Return, "fib", 25);
        py(&mut trace, Step::Call, "fib", 30);
        py(&mut trace, Step::Return, "fib", 32);
        py(&mut trace, Step::Return, "fib", 40);
        trace.event(Step::CCall, "len", "fib.py", Some(12), 50, 9);
        trace.event(Step::CReturn, "len", "fib.py", Some(12), 51, 9);
        py(&mut trace, Step::Return, "main", 60);
        trace
    }

    #[test]
    fn pprof_round_trips_through_prost_with_exact_calls_and_own_time() {
        let mut trace = fib_trace();
        let mut names = FxHashMap::default();
        names.insert(9, "MainThread".to_owned());
        let mut out = Vec::new();
        trace.write_pprof(&mut out, "fib.py", &names).unwrap();
        assert_eq!(&out[..2], &[0x1f, 0x8b], "gzipped");
        let profile = decode_pprof(&out).unwrap();
        assert_eq!(profile, trace.pprof_profile("fib.py", &names));
        let s = |i: i64| profile.string_table[i as usize].as_str();
        assert_eq!(s(0), "");
        let types: Vec<(&str, &str)> = profile
            .sample_type
            .iter()
            .map(|t| (s(t.r#type), s(t.unit)))
            .collect();
        assert_eq!(types, [("calls", "count"), ("wall", "nanoseconds")]);
        assert_eq!(s(profile.default_sample_type), "wall");
        let function = |location: u64| {
            let location = profile.location.iter().find(|l| l.id == location).unwrap();
            let f = profile
                .function
                .iter()
                .find(|f| f.id == location.line[0].function_id)
                .unwrap();
            (
                s(f.name),
                s(f.filename),
                f.start_line,
                location.line[0].line,
            )
        };
        let mut samples: Vec<(Vec<&str>, Vec<i64>, &str)> = profile
            .sample
            .iter()
            .map(|sample| {
                let stack = sample.location_id.iter().map(|&l| function(l).0).collect();
                (sample.value.clone(), stack, sample.label[0].str)
            })
            .map(|(value, stack, thread)| (stack, value, s(thread)))
            .collect();
        samples.sort();
        assert_eq!(
            samples,
            vec![
                (vec!["fib", "fib", "main"], vec![2, 7], "MainThread (9)"),
                (vec!["fib", "main"], vec![1, 23], "MainThread (9)"),
                (vec!["len", "main"], vec![1, 1], "MainThread (9)"),
                (vec!["main"], vec![1, 29], "MainThread (9)"),
            ]
        );
        // Python functions carry file and lines; a builtin is its own frame,
        // and its caller's location is the line it was called from.
        let len = profile.sample.iter().find(|s| s.value == [1, 1]).unwrap();
        assert_eq!(function(len.location_id[0]), ("len", "", 0, 0));
        assert_eq!(function(len.location_id[1]), ("main", "fib.py", 3, 12));
        let main = profile.sample.iter().find(|s| s.value == [1, 29]).unwrap();
        assert_eq!(function(main.location_id[0]), ("main", "fib.py", 3, 3));
        assert_eq!(profile.location.len(), 4);
        let total: i64 = profile.sample.iter().map(|s| s.value[1]).sum();
        assert_eq!(total, profile.duration_nanos);
    }

    #[test]
    fn function_totals_count_leaf_calls_and_recursion_once() {
        let mut trace = fib_trace();
        let profile = trace.pprof_profile("fib.py", &FxHashMap::default());
        let totals = function_totals(&profile).unwrap();
        let row = |name: &str| {
            let t = totals.iter().find(|t| t.name == name).unwrap();
            (t.calls, t.own, t.cumulative)
        };
        assert_eq!(row("main"), (Some(1), 29, 60));
        assert_eq!(row("fib"), (Some(3), 30, 30));
        assert_eq!(row("len"), (Some(1), 1, 1));
        let mut timeless = profile.clone();
        timeless.sample_type.truncate(1);
        assert!(function_totals(&timeless)
            .unwrap_err()
            .starts_with("has no time in nanoseconds"));
    }

    #[test]
    fn decoding_names_what_is_wrong() {
        assert!(decode_pprof(&[0x1f, 0x8b, 1, 2])
            .unwrap_err()
            .starts_with("not a gzip file"));
        assert!(decode_pprof(b"\xff\xff\xff")
            .unwrap_err()
            .starts_with("not a pprof profile"));
    }
}
