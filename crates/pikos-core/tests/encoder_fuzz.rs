//! Fuzzing of the CSV and text encoders with Python as the oracle (issue 8).
//!
//! Random rows of every record layout (and rows of any shape, as
//! `recorder.record()` passes them from Python) go through the encoders the
//! way the pipeline drives them: a header, then rows.  One Python process
//! (`tests/oracle.py`, run by `$PIKOS_TEST_PYTHON` or `python3`) serves the
//! whole run and checks the bytes:
//!
//! - CSV: each row is what Python's `csv.writer` writes with the same
//!   dialect, and `csv.reader` reads the whole output back to the values;
//! - text: each row is Python's `" ".join(str(v) ...)` or
//!   `template.format(*row)` with line breaks escaped, one line per record.
//!
//! Cases per property: `PROPTEST_CASES`, else [`DEFAULT_CASES`].  Without a
//! Python to run the tests fail; they never pass unchecked.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use pikos_core::encode::{
    CsvDialect, CsvEncoder, CsvQuoting, Encoder, JsonEncoder, Template, TextEncoder,
};
use pikos_core::event::NO_LINE;
use pikos_core::pipeline::NO_SOURCE;
use pikos_core::{clock, tables, CodeEntry, Event, EventKind, Field, FilterSet, Pipeline};
use pikos_core::{RecordKind, Value};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config as ProptestConfig, RngAlgorithm};

/// Cases per property when `PROPTEST_CASES` is not set.
const DEFAULT_CASES: u32 = 2000;

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(DEFAULT_CASES);
    let default = ProptestConfig::default();
    ProptestConfig {
        cases,
        // Shrinking asks Python about every candidate: bound it.
        max_shrink_time: 120_000,
        // ChaCha, the default, is most of the time of an unoptimized test
        // build; PROPTEST_RNG_ALGORITHM still chooses.
        rng_algorithm: if std::env::var_os("PROPTEST_RNG_ALGORITHM").is_some() {
            default.rng_algorithm
        } else {
            RngAlgorithm::XorShift
        },
        ..default
    }
}

// ---------------------------------------------------------------------------
// The oracle process

struct Oracle {
    _child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

/// What the oracle's Python is.
#[derive(Debug)]
struct PythonInfo {
    version: String,
    /// Its `csv` quotes `\r`/`\n` the line terminator does not hold (3.13).
    quote_line_breaks: bool,
    /// Its `csv` writes NUL and reads it back (3.11 and later).
    reads_nul: bool,
}

fn python() -> String {
    std::env::var("PIKOS_TEST_PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

const ORACLE_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/oracle.py");

impl Oracle {
    fn spawn() -> Oracle {
        let python = python();
        let mut child = Command::new(&python)
            .arg("-u")
            .arg(ORACLE_SCRIPT)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run the Python oracle `{python} {ORACLE_SCRIPT}`: {e}; \
                     these tests need Python 3 (set PIKOS_TEST_PYTHON to its path)"
                )
            });
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        Oracle {
            _child: child,
            stdin,
            stdout,
        }
    }

    fn ask(&mut self, request: &[u8]) -> Json {
        let sent = self
            .stdin
            .write_all(request)
            .and_then(|()| self.stdin.write_all(b"\n"))
            .and_then(|()| self.stdin.flush());
        if let Err(e) = sent {
            panic!("the Python oracle ({}) is gone: {e}", python());
        }
        let mut line = String::new();
        match self.stdout.read_line(&mut line) {
            Ok(0) => panic!("the Python oracle ({}) exited", python()),
            Ok(_) => {}
            Err(e) => panic!("reading the Python oracle ({}): {e}", python()),
        }
        let answer = Json::parse(&line);
        if let Some(error) = answer.field("error") {
            panic!("the Python oracle failed:\n{}", error.text());
        }
        answer.get("ok").clone()
    }
}

fn oracle() -> MutexGuard<'static, Oracle> {
    static ORACLE: OnceLock<Mutex<Oracle>> = OnceLock::new();
    ORACLE
        .get_or_init(|| Mutex::new(Oracle::spawn()))
        .lock()
        // A failed test panics after its answer was read: the protocol is
        // still in step.
        .unwrap_or_else(|e| e.into_inner())
}

fn ask(request: &[u8]) -> Json {
    oracle().ask(request)
}

fn info() -> &'static PythonInfo {
    static INFO: OnceLock<PythonInfo> = OnceLock::new();
    INFO.get_or_init(|| {
        let hello = ask(br#"{"op": "hello"}"#);
        let info = PythonInfo {
            version: hello.get("version").text().to_owned(),
            quote_line_breaks: hello.get("quote_line_breaks").boolean(),
            reads_nul: hello.get("reads_nul").boolean(),
        };
        eprintln!("encoder oracle: Python {info:?}");
        info
    })
}

// ---------------------------------------------------------------------------
// JSON: requests are written with the crate's JSON string encoder, answers
// (ASCII, from Python's json) read by this small parser.

#[derive(Clone, Debug, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Num(String),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    fn parse(text: &str) -> Json {
        let mut parser = JsonParser {
            bytes: text.as_bytes(),
            at: 0,
        };
        let value = parser.value();
        parser.space();
        assert_eq!(parser.at, text.len(), "trailing text in {text:?}");
        value
    }

    fn field(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn get(&self, key: &str) -> &Json {
        self.field(key)
            .unwrap_or_else(|| panic!("no {key:?} in the oracle's answer {self:?}"))
    }

    fn text(&self) -> &str {
        match self {
            Json::Str(text) => text,
            _ => panic!("expected a string, got {self:?}"),
        }
    }

    /// A string, or None for null.
    fn opt_text(&self) -> Option<&str> {
        match self {
            Json::Null => None,
            _ => Some(self.text()),
        }
    }

    fn boolean(&self) -> bool {
        match self {
            Json::Bool(b) => *b,
            _ => panic!("expected a boolean, got {self:?}"),
        }
    }

    fn items(&self) -> &[Json] {
        match self {
            Json::Arr(items) => items,
            _ => panic!("expected an array, got {self:?}"),
        }
    }
}

struct JsonParser<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl JsonParser<'_> {
    fn space(&mut self) {
        while self.at < self.bytes.len() && self.bytes[self.at].is_ascii_whitespace() {
            self.at += 1;
        }
    }

    fn next(&mut self) -> u8 {
        let b = *self.bytes.get(self.at).expect("JSON ends early");
        self.at += 1;
        b
    }

    fn expect(&mut self, word: &str) {
        let end = self.at + word.len();
        assert_eq!(self.bytes.get(self.at..end), Some(word.as_bytes()));
        self.at = end;
    }

    fn value(&mut self) -> Json {
        self.space();
        match self.bytes.get(self.at).copied().expect("JSON ends early") {
            b'n' => {
                self.expect("null");
                Json::Null
            }
            b't' => {
                self.expect("true");
                Json::Bool(true)
            }
            b'f' => {
                self.expect("false");
                Json::Bool(false)
            }
            b'"' => Json::Str(self.string()),
            b'[' => {
                self.at += 1;
                let mut items = Vec::new();
                loop {
                    self.space();
                    if self.bytes[self.at] == b']' {
                        self.at += 1;
                        return Json::Arr(items);
                    }
                    if !items.is_empty() {
                        self.expect(",");
                    }
                    items.push(self.value());
                }
            }
            b'{' => {
                self.at += 1;
                let mut members = Vec::new();
                loop {
                    self.space();
                    if self.bytes[self.at] == b'}' {
                        self.at += 1;
                        return Json::Obj(members);
                    }
                    if !members.is_empty() {
                        self.expect(",");
                        self.space();
                    }
                    let key = self.string();
                    self.space();
                    self.expect(":");
                    members.push((key, self.value()));
                }
            }
            _ => {
                let start = self.at;
                while self.at < self.bytes.len()
                    && matches!(
                        self.bytes[self.at],
                        b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'
                    )
                {
                    self.at += 1;
                }
                assert!(self.at > start, "bad JSON at {start}");
                Json::Num(String::from_utf8(self.bytes[start..self.at].to_vec()).unwrap())
            }
        }
    }

    fn hex4(&mut self) -> u32 {
        let digits = std::str::from_utf8(&self.bytes[self.at..self.at + 4]).unwrap();
        self.at += 4;
        u32::from_str_radix(digits, 16).expect("bad \\u escape")
    }

    fn string(&mut self) -> String {
        self.expect("\"");
        let mut bytes = Vec::new();
        loop {
            match self.next() {
                b'"' => return String::from_utf8(bytes).expect("JSON string is UTF-8"),
                b'\\' => {
                    let c = match self.next() {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let mut code = self.hex4();
                            if (0xd800..0xdc00).contains(&code) {
                                self.expect("\\u");
                                let low = self.hex4();
                                code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
                            }
                            char::from_u32(code).expect("a valid code point")
                        }
                        other => panic!("bad JSON escape \\{}", other as char),
                    };
                    bytes.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                }
                b => bytes.push(b),
            }
        }
    }
}

/// `["i", 3]`, `["s", "text"]`, `["n", "1.5"]` or `["z"]`.
fn tagged(value: &Value<'_>, out: &mut Vec<u8>) {
    match value {
        Value::Int(n) => out.extend_from_slice(format!("[\"i\", {n}]").as_bytes()),
        Value::Str(text) | Value::Table(text) => {
            out.extend_from_slice(b"[\"s\", ");
            JsonEncoder::string(text, out);
            out.push(b']');
        }
        Value::Num(text) => {
            out.extend_from_slice(b"[\"n\", ");
            JsonEncoder::string(text, out);
            out.push(b']');
        }
        Value::None => out.extend_from_slice(b"[\"z\"]"),
    }
}

fn tagged_rows(rows: &[Vec<Value<'_>>], out: &mut Vec<u8>) {
    out.push(b'[');
    for (i, row) in rows.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'[');
        for (j, value) in row.iter().enumerate() {
            if j > 0 {
                out.push(b',');
            }
            tagged(value, out);
        }
        out.push(b']');
    }
    out.push(b']');
}

fn json_text(text: Option<&str>, out: &mut Vec<u8>) {
    match text {
        Some(text) => JsonEncoder::string(text, out),
        None => out.extend_from_slice(b"null"),
    }
}

// ---------------------------------------------------------------------------
// Cases

/// One of a list of things, whatever its length.
#[derive(Clone, Copy, Debug)]
struct Pick(usize);

impl Pick {
    fn of<T>(self, items: &[T]) -> &T {
        &items[self.0 % items.len()]
    }

    fn any() -> impl Strategy<Value = Pick> {
        (0..64usize).prop_map(Pick)
    }
}

/// A value of a generated row.
#[derive(Clone, Debug)]
enum V {
    Int(i64),
    Str(String),
    /// A [`Value::Table`] string of the case's pool: the same string (same
    /// address) each time, as the CSV encoder's cache expects.
    Table(Pick),
    /// The text of a float, as Python's `repr` writes it.
    Num(String),
    None,
}

#[derive(Clone, Debug)]
struct Case {
    pool: Vec<String>,
    fields: Vec<String>,
    rows: Vec<Vec<V>>,
}

impl Case {
    fn fields(&self) -> Vec<&str> {
        self.fields.iter().map(String::as_str).collect()
    }

    fn rows(&self) -> Vec<Vec<Value<'_>>> {
        self.rows
            .iter()
            .map(|row| {
                row.iter()
                    .map(|v| match v {
                        V::Int(n) => Value::Int(*n),
                        V::Str(text) => Value::Str(text),
                        V::Table(at) => Value::Table(at.of(&self.pool).as_str()),
                        V::Num(text) => Value::Num(text),
                        V::None => Value::None,
                    })
                    .collect()
            })
            .collect()
    }
}

/// Hostile bits of text, put together into strings.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-zA-Z0-9_./]{1,8}",
        4 => select(vec![
            ",", "\"", "\"\"", "'", "\r", "\n", "\r\n", "\n\r", "\t", " ", "  ", "\\", "\\n",
            ";", "|", ":", "-", "1", "~", "{", "}", "é", "€", "中文", "😀", "\u{0}", "\u{b}",
            "\u{c}", "\u{1c}", "\u{85}", "\u{2028}", "\u{feff}", "e\u{301}",
        ])
        .prop_map(str::to_owned),
        1 => any::<char>().prop_map(String::from),
    ]
}

fn hostile_string() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => Just(String::new()),
        20 => vec(piece(), 1..8).prop_map(|pieces| pieces.concat()),
        // Long names and source lines, up to 10 000 characters.
        1 => (piece(), 1..=10_000usize)
            .prop_map(|(piece, n)| piece.chars().cycle().take(n).collect()),
    ]
}

fn int() -> impl Strategy<Value = i64> {
    prop_oneof![
        3 => any::<i64>(),
        2 => -1000i64..100_000,
        1 => select(vec![0, -1, 1, i64::MIN, i64::MAX, i64::MIN + 1]),
    ]
}

/// Python's `repr` of a float: the shortest digits that read back as `x`,
/// in exponent form below 1e-4 and from 1e16 on; None when `x` lies exactly
/// halfway between two such shortest decimals, where Python rounds half to
/// even and Rust's formatting does not always.  The oracle checks the rest.
fn py_repr(x: f64) -> Option<String> {
    if x.is_nan() {
        return Some("nan".to_owned());
    }
    if x.is_infinite() {
        return Some(if x > 0.0 { "inf" } else { "-inf" }.to_owned());
    }
    let sci = format!("{x:e}");
    let (mantissa, exponent) = sci.split_once('e').unwrap();
    let exponent: i32 = exponent.parse().unwrap();
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|&c| c != '.').collect();
    if digits == "0" {
        return Some(format!("{sign}0.0"));
    }
    // The exact value (no double has more than 767 significant digits): a
    // tie when it goes on with a 5 and then only zeros after `digits`.
    let exact = format!("{:.800e}", x.abs());
    let (exact, exact_exponent) = exact.split_once('e').unwrap();
    let exact: String = exact.chars().filter(|&c| c != '.').collect();
    let rest = &exact[digits.len()..];
    if exact_exponent.parse() == Ok(exponent)
        && rest.starts_with('5')
        && rest[1..].bytes().all(|b| b == b'0')
    {
        return None;
    }
    let point = exponent + 1; // digits before the decimal point
    Some(if -4 < point && point <= 16 {
        if point <= 0 {
            format!("{sign}0.{}{digits}", "0".repeat((-point) as usize))
        } else if point as usize >= digits.len() {
            format!(
                "{sign}{digits}{}.0",
                "0".repeat(point as usize - digits.len())
            )
        } else {
            let (int, frac) = digits.split_at(point as usize);
            format!("{sign}{int}.{frac}")
        }
    } else {
        let (first, rest) = digits.split_at(1);
        let mantissa = if rest.is_empty() {
            first.to_owned()
        } else {
            format!("{first}.{rest}")
        };
        let esign = if exponent < 0 { '-' } else { '+' };
        format!("{sign}{mantissa}e{esign}{:02}", exponent.abs())
    })
}

fn num() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::num::f64::ANY,
        2 => -1e6..1e6f64,
        1 => select(vec![0.0, -0.0, 0.1, 1e16, 1e-5, 1e-4, 123456789012345680.0, 5e-324]),
    ]
    .prop_filter_map("a decimal tie", py_repr)
}

fn text_value() -> BoxedStrategy<V> {
    prop_oneof![
        3 => hostile_string().prop_map(V::Str),
        2 => Pick::any().prop_map(V::Table),
    ]
    .boxed()
}

fn any_value() -> BoxedStrategy<V> {
    prop_oneof![
        2 => int().prop_map(V::Int),
        4 => text_value(),
        1 => num().prop_map(V::Num),
        1 => Just(V::None),
    ]
    .boxed()
}

const EVENT_NAMES: [&str; 6] = [
    "call",
    "return",
    "c_call",
    "c_return",
    "c_exception",
    "line",
];

/// A value of `field` as records hold it.
fn field_value(field: Field) -> BoxedStrategy<V> {
    match field {
        Field::Index | Field::Rss | Field::Vms | Field::Time | Field::Thread => {
            int().prop_map(V::Int).boxed()
        }
        Field::LineNo => prop_oneof![5 => int().prop_map(V::Int), 1 => Just(V::None)].boxed(),
        Field::Type => prop_oneof![
            2 => select(EVENT_NAMES.to_vec()).prop_map(|n| V::Str(n.to_owned())),
            1 => text_value(),
        ]
        .boxed(),
        Field::Function | Field::Line | Field::Filename => text_value(),
    }
}

/// Every record kind (the core's own list).
const KINDS: [RecordKind; 8] = RecordKind::ALL;

/// Rows of one record layout, its field names as the header.
fn layout_case() -> impl Strategy<Value = (RecordKind, Case)> {
    select(KINDS.to_vec()).prop_flat_map(|kind| {
        let row: Vec<BoxedStrategy<V>> = kind.fields().iter().map(|f| field_value(*f)).collect();
        (vec(hostile_string(), 1..4), vec(row, 0..8)).prop_map(move |(pool, rows)| {
            let fields = kind.field_names().into_iter().map(str::to_owned).collect();
            (kind, Case { pool, fields, rows })
        })
    })
}

/// Rows of any length and values, under any field names.
fn any_case() -> impl Strategy<Value = Case> {
    (
        vec(hostile_string(), 1..4),
        vec(hostile_string(), 0..=9),
        vec(vec(any_value(), 0..=9), 0..6),
    )
        .prop_map(|(pool, fields, rows)| Case { pool, fields, rows })
}

/// The `(header, line)` templates of each record class (SPEC §3,
/// `pikos.monitors.records`).
fn templates(kind: RecordKind) -> (&'static str, &'static str) {
    match kind {
        RecordKind::Function => (
            "{:<8} {:<11} {:<30} {:<5} {}",
            "{:<8} {:<11} {:<30} {:<5} {}",
        ),
        RecordKind::Line => (
            "{:<12} {:<50} {:<7} {} -- {}",
            "{:<12} {:<50} {:<7} {} -- {}",
        ),
        RecordKind::FunctionMemory => (
            "{:<8} | {:<11} | {:<12} | {:<15} | {:<15} | {:>6} | {}",
            "{:>8} | {:<11} | {:<12} | {:>15} | {:>15} | {:>6} | {}",
        ),
        RecordKind::LineMemory => (
            "{:^12} | {:^30} | {:^7} | {:^15} | {:^15} | {} {}",
            "{:<12} | {:<30} | {:<7} | {:>15} | {:>15} | {} {}",
        ),
        RecordKind::TimedFunction => (
            "{:<8} {:<11} {:<30} {:<5} {} {:>16} {}",
            "{:<8} {:<11} {:<30} {:<5} {} {:>16} {}",
        ),
        RecordKind::TimedFunctionMemory => (
            "{:<8} | {:<11} | {:<12} | {:<15} | {:<15} | {:>6} | {} | {:<16} | {}",
            "{:>8} | {:<11} | {:<12} | {:>15} | {:>15} | {:>6} | {} | {:>16} | {}",
        ),
        RecordKind::TimedLine => (
            "{:<12} {:<50} {:<7} {} -- {} {:>16} {}",
            "{:<12} {:<50} {:<7} {} -- {} {:>16} {}",
        ),
        RecordKind::TimedLineMemory => (
            "{:^12} | {:^30} | {:^7} | {:^15} | {:^15} | {} {} | {:<16} | {}",
            "{:<12} | {:<30} | {:<7} | {:>15} | {:>15} | {} {} | {:>16} | {}",
        ),
    }
}

/// A template of the kind `Template` evaluates: literal text (no line
/// breaks: templates come from record classes) and `{}`, `{:<8}`, `{:^12}`...
fn template() -> impl Strategy<Value = String> {
    let literal = hostile_string().prop_map(|text| {
        text.replace(['\r', '\n'], " ")
            .replace('{', "{{")
            .replace('}', "}}")
    });
    let field = (select(vec!["", "<", ">", "^"]), 0..60usize).prop_map(|(align, width)| {
        match (align, width) {
            ("", 0) => "{}".to_owned(),
            (align, 0) => format!("{{:{align}}}"),
            (align, width) => format!("{{:{align}{width}}}"),
        }
    });
    vec(prop_oneof![1 => literal, 2 => field], 0..8).prop_map(|pieces| pieces.concat())
}

/// Dialects `csv_encoder` hands the encoder: the quoting it evaluates, any
/// delimiter, quote and escape characters (distinct and not in the line
/// terminator, as Python 3.13 requires), several line terminators; and both
/// ways of quoting line breaks (that of the oracle's Python is compared
/// with its writer).
fn dialect() -> impl Strategy<Value = CsvDialect> {
    let random = (
        select(vec![',', ';', '\t', '|', ' ', ':', 'é', '€', '1', '-', 'x']),
        select(vec!['"', '\'', '|', '€', '~']),
        select(vec![
            None,
            None,
            Some('\\'),
            Some('~'),
            Some('é'),
            Some('1'),
        ]),
        any::<bool>(),
        select(vec!["\r\n", "\n", "\r", "!", "\r\n\r\n", "é", ";"]),
        select(vec![
            CsvQuoting::Minimal,
            CsvQuoting::All,
            CsvQuoting::NonNumeric,
        ]),
        any::<bool>(),
    )
        .prop_filter(
            "distinct delimiter, quote and escape characters, none in the line terminator",
            |(delimiter, quote, escape, _, terminator, ..)| {
                delimiter != quote
                    && Some(*delimiter) != *escape
                    && Some(*quote) != *escape
                    && ![Some(*delimiter), Some(*quote), *escape]
                        .into_iter()
                        .flatten()
                        .any(|c| terminator.contains(c))
            },
        )
        .prop_map(
            |(delimiter, quote, escape, doublequote, terminator, quoting, line_breaks)| {
                CsvDialect {
                    delimiter,
                    quotechar: Some(quote),
                    escapechar: escape,
                    doublequote,
                    lineterminator: terminator.to_owned(),
                    quoting,
                    quote_line_breaks: line_breaks,
                }
            },
        );
    let excel = (
        select(vec!["\r\n", "\n"]),
        select(vec![
            CsvQuoting::Minimal,
            CsvQuoting::All,
            CsvQuoting::NonNumeric,
        ]),
        any::<bool>(),
    )
        .prop_map(|(terminator, quoting, line_breaks)| CsvDialect {
            lineterminator: terminator.to_owned(),
            quoting,
            quote_line_breaks: line_breaks,
            ..CsvDialect::default()
        });
    prop_oneof![1 => excel, 2 => random]
}

// ---------------------------------------------------------------------------
// Checks

/// What an encoder made of a header and rows.
struct Encoded {
    /// The header's bytes, or None when the encoder refused it.
    header: Option<Vec<u8>>,
    rows: Vec<Option<Vec<u8>>>,
    /// Everything, one after the other.
    all: Vec<u8>,
}

/// The header then `rows` through `encoder`, as the pipeline calls it.  A
/// refused header or row must leave the output as it was.  For a joined
/// encoder also checks each row against its fields encoded alone (what the
/// pipeline's row cache puts together, integers as their digits).
fn encode(encoder: &mut dyn Encoder, fields: &[&str], rows: &[Vec<Value<'_>>]) -> Encoded {
    let mut all = b"keep".to_vec();
    let step = |all: &mut Vec<u8>, result: pikos_core::Result<()>, start: usize| match result {
        Ok(()) => Some(all[start..].to_vec()),
        Err(_) => {
            assert_eq!(all.len(), start, "a refused row left bytes behind");
            None
        }
    };
    let start = all.len();
    let result = encoder.header(fields, &mut all);
    let header = step(&mut all, result, start);
    let mut encoded = Vec::new();
    for row in rows {
        let start = all.len();
        let result = encoder.row(row, &mut all);
        let bytes = step(&mut all, result, start);
        if let (Some(bytes), Some((separator, terminator))) = (&bytes, encoder.joined()) {
            if row.len() >= 2 {
                let (separator, terminator) = (separator.to_vec(), terminator.to_vec());
                let mut joined = encoder.prefix().to_vec();
                for (i, value) in row.iter().enumerate() {
                    if i > 0 {
                        joined.extend_from_slice(&separator);
                    }
                    match value {
                        Value::Int(n) => joined.extend_from_slice(n.to_string().as_bytes()),
                        _ => encoder.field(value, &mut joined).unwrap(),
                    }
                }
                joined.extend_from_slice(&terminator);
                assert_eq!(
                    String::from_utf8_lossy(&joined),
                    String::from_utf8_lossy(bytes),
                    "the row's fields encoded alone and joined differ from the row {row:?}"
                );
            }
        }
        encoded.push(bytes);
    }
    assert_eq!(&all[..4], b"keep");
    Encoded {
        header,
        rows: encoded,
        all: all.split_off(4),
    }
}

fn utf8(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).expect("encoders write UTF-8")
}

/// A value as `csv.reader` reads it back.
fn csv_text(value: &Value<'_>) -> String {
    match value {
        Value::Int(n) => n.to_string(),
        Value::Str(text) | Value::Table(text) | Value::Num(text) => (*text).to_owned(),
        Value::None => String::new(),
    }
}

fn quoting_number(quoting: CsvQuoting) -> u8 {
    match quoting {
        CsvQuoting::Minimal => 0,
        CsvQuoting::All => 1,
        CsvQuoting::NonNumeric => 2,
    }
}

/// Checks the CSV of `fields` and `rows` against Python; returns it.
fn check_csv(dialect: &CsvDialect, fields: &[&str], rows: &[Vec<Value<'_>>]) -> Vec<u8> {
    let python = info();
    let encoded = encode(&mut CsvEncoder::new(dialect.clone()), fields, rows);
    let mut all_rows: Vec<Vec<Value<'_>>> = vec![fields.iter().map(|f| Value::Str(f)).collect()];
    all_rows.extend(rows.iter().cloned());
    let results: Vec<&Option<Vec<u8>>> = std::iter::once(&encoded.header)
        .chain(&encoded.rows)
        .collect();

    // Python writes the same when it quotes line breaks the same way.
    let compare_writer = dialect.quote_line_breaks == python.quote_line_breaks;
    // The output reads back when the reader can find the rows: a line
    // terminator it knows, and each line break in a value quoted.
    let breaks_quoted = |text: &str| {
        text.chars().all(|c| {
            !(c == '\r' || c == '\n')
                || dialect.quote_line_breaks
                || dialect.lineterminator.contains(c)
        })
    };
    let round_trip = ["\r\n", "\n", "\r"].contains(&dialect.lineterminator.as_str())
        && all_rows.iter().zip(&results).all(|(row, result)| {
            result.is_none()
                || row.iter().all(|v| match v {
                    Value::Str(text) | Value::Table(text) => breaks_quoted(text),
                    _ => true,
                })
        });
    if !compare_writer && !round_trip {
        return encoded.all;
    }

    let mut request = br#"{"op": "csv", "dialect": {"delimiter": "#.to_vec();
    JsonEncoder::string(&dialect.delimiter.to_string(), &mut request);
    request.extend_from_slice(br#", "quotechar": "#);
    json_text(dialect.quotechar.map(String::from).as_deref(), &mut request);
    request.extend_from_slice(br#", "escapechar": "#);
    json_text(
        dialect.escapechar.map(String::from).as_deref(),
        &mut request,
    );
    request.extend_from_slice(
        format!(
            r#", "doublequote": {}, "quoting": {}, "lineterminator": "#,
            dialect.doublequote,
            quoting_number(dialect.quoting)
        )
        .as_bytes(),
    );
    JsonEncoder::string(&dialect.lineterminator, &mut request);
    request.extend_from_slice(br#"}, "rows": "#);
    tagged_rows(&all_rows, &mut request);
    request.extend_from_slice(br#", "data": "#);
    json_text(round_trip.then(|| utf8(&encoded.all)), &mut request);
    request.push(b'}');
    let answer = ask(&request);

    if compare_writer {
        let written = answer.get("written").items();
        assert_eq!(written.len(), results.len());
        for (i, (ours, theirs)) in results.iter().zip(written).enumerate() {
            assert_eq!(
                ours.as_deref().map(utf8),
                theirs.opt_text(),
                "csv row {i} (0: header) of {:?} with {dialect:?}: ours, Python's csv.writer \
                 (None: refused); Python {}",
                all_rows[i],
                python.version,
            );
        }
    }
    if round_trip {
        let read: Vec<Vec<&str>> = answer
            .get("read")
            .items()
            .iter()
            .map(|row| row.items().iter().map(Json::text).collect())
            .collect();
        let expected: Vec<Vec<String>> = all_rows
            .iter()
            .zip(&results)
            .filter(|(_, result)| result.is_some())
            .map(|(row, _)| row.iter().map(csv_text).collect())
            .collect();
        assert_eq!(
            read,
            expected,
            "csv.reader read back other rows from {:?} with {dialect:?}",
            utf8(&encoded.all)
        );
    }
    encoded.all
}

/// Checks the text of `fields` and `rows` (plain, or formatted with the
/// `(header, line)` templates) against Python; returns it.
fn check_text(
    templates: Option<(&str, &str)>,
    fields: &[&str],
    rows: &[Vec<Value<'_>>],
) -> Vec<u8> {
    let mut encoder = match templates {
        None => TextEncoder::Plain,
        Some((header, line)) => TextEncoder::Formatted {
            header: Template::parse(header).expect("a template pikos evaluates"),
            line: Template::parse(line).expect("a template pikos evaluates"),
        },
    };
    let encoded = encode(&mut encoder, fields, rows);

    let mut request = br#"{"op": "text", "header": "#.to_vec();
    json_text(templates.map(|t| t.0), &mut request);
    request.extend_from_slice(br#", "line": "#);
    json_text(templates.map(|t| t.1), &mut request);
    request.extend_from_slice(br#", "fields": ["#);
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            request.push(b',');
        }
        JsonEncoder::string(field, &mut request);
    }
    request.extend_from_slice(br#"], "rows": "#);
    tagged_rows(rows, &mut request);
    request.push(b'}');
    let answer = ask(&request);
    let lines = answer.get("lines").items();
    assert_eq!(lines.len(), rows.len() + 1);

    let ours = std::iter::once(&encoded.header).chain(&encoded.rows);
    for (i, (ours, theirs)) in ours.zip(lines).enumerate() {
        let what = if i == 0 { "header" } else { "row" };
        let ours = ours.as_deref().map(utf8);
        let theirs = theirs.opt_text().map(|line| format!("{line}\n"));
        assert_eq!(
            ours,
            theirs.as_deref(),
            "text {what} {i} (0: header) with templates {templates:?}: ours, Python's \
             (None: refused); row {:?}",
            rows.get(i.wrapping_sub(1))
        );
        if let Some(ours) = ours {
            // One line per record; the header and its line of dashes.
            let lines = if i == 0 { 2 } else { 1 };
            assert_eq!(ours.matches('\n').count(), lines, "{what} {ours:?}");
            assert!(
                ours.ends_with('\n') && !ours.contains('\r'),
                "{what} {ours:?}"
            );
        }
    }
    encoded.all
}

// ---------------------------------------------------------------------------
// The pipeline's hook path: events resolved through the string tables, the
// row cache for joined encoders.

/// index, rss, vms, time, thread, code, name, line number, event kind
type EventSpec = (u64, u64, u64, u64, u64, Pick, Pick, i32, EventKind);

#[derive(Clone, Debug)]
struct EventsCase {
    kind: RecordKind,
    /// File name and source lines (or none) of each code.
    codes: Vec<(String, Option<Vec<String>>)>,
    names: Vec<String>,
    events: Vec<EventSpec>,
}

fn events_case() -> impl Strategy<Value = EventsCase> {
    // Indices, memory and time figures and thread ids stay below 2**63:
    // above, the row cache writes them unsigned (from the event) and every
    // other path signed (`Value::Int(n as i64)` in `Pipeline::values`), so
    // the two disagree.  Real figures never get there.
    let number = prop_oneof![0..=i64::MAX as u64, 0..1000u64];
    let event = (
        number.clone(),
        number.clone(),
        number.clone(),
        number.clone(),
        number,
        Pick::any(),
        Pick::any(),
        prop_oneof![5 => -1..6i32, 1 => Just(NO_LINE), 1 => any::<i32>()],
        select(vec![
            EventKind::Call,
            EventKind::Return,
            EventKind::CCall,
            EventKind::CReturn,
            EventKind::CException,
            EventKind::Line,
        ]),
    );
    (
        select(KINDS.to_vec()),
        vec(
            (
                hostile_string(),
                proptest::option::of(vec(hostile_string(), 0..5)),
            ),
            1..4,
        ),
        vec(hostile_string(), 1..4),
        vec(event, 0..24),
    )
        .prop_map(|(kind, codes, names, events)| EventsCase {
            kind,
            codes,
            names,
            events,
        })
}

/// Puts the case's codes and names in the process's tables; the events.
fn register(case: &EventsCase) -> Vec<Event> {
    let mut t = tables().write().unwrap();
    let codes: Vec<u32> = case
        .codes
        .iter()
        .map(|(filename, lines)| {
            t.add_code(CodeEntry {
                filename: filename.as_str().into(),
                first_line: 1,
                lines: lines
                    .as_ref()
                    .map(|lines| lines.iter().map(|l| l.as_str().into()).collect()),
            })
        })
        .collect();
    let names: Vec<u32> = case
        .names
        .iter()
        .map(|name| t.add_name(Arc::from(name.as_str())))
        .collect();
    case.events
        .iter()
        .map(
            |&(index, rss, vms, time, thread, code, name, lineno, kind)| Event {
                index,
                rss,
                vms,
                time,
                thread,
                code: *code.of(&codes),
                function: *name.of(&names),
                lineno,
                kind,
            },
        )
        .collect()
}

/// The row of an event as SPEC §3 defines it.
fn event_row<'a>(case: &'a EventsCase, event: &EventSpec) -> Vec<Value<'a>> {
    let &(index, rss, vms, time, thread, code, name, lineno, kind) = event;
    let (filename, lines) = code.of(&case.codes);
    let int = |n: u64| Value::Int(i64::try_from(n).expect("below 2**63"));
    case.kind
        .fields()
        .iter()
        .map(|field| match field {
            Field::Index => int(index),
            Field::Type => Value::Str(kind.name()),
            Field::Function => Value::Str(name.of(&case.names).as_str()),
            Field::LineNo if lineno == NO_LINE => Value::None,
            Field::LineNo => Value::Int(i64::from(lineno)),
            Field::Line => Value::Str(
                usize::try_from(lineno)
                    .ok()
                    .and_then(|n| n.checked_sub(1))
                    .and_then(|at| lines.as_ref()?.get(at))
                    .map_or(NO_SOURCE, String::as_str),
            ),
            Field::Filename => Value::Str(filename),
            Field::Rss => int(rss),
            Field::Vms => int(vms),
            Field::Time => int(clock::to_ns(time)),
            Field::Thread => int(thread),
        })
        .collect()
}

#[derive(Clone, Debug)]
enum Output {
    Csv(CsvDialect),
    Plain,
    Formatted,
}

fn check_events(output: &Output, case: &EventsCase) {
    let events = register(case);
    let encoder: Box<dyn Encoder> = match output {
        Output::Csv(dialect) => Box::new(CsvEncoder::new(dialect.clone())),
        Output::Plain => Box::new(TextEncoder::Plain),
        Output::Formatted => {
            let (header, line) = templates(case.kind);
            Box::new(TextEncoder::Formatted {
                header: Template::parse(header).unwrap(),
                line: Template::parse(line).unwrap(),
            })
        }
    };
    let mut pipeline = Pipeline::new(Some(case.kind), FilterSet::default(), encoder);
    let fields = case.kind.field_names();
    let mut piped = Vec::new();
    let header = pipeline.header(&fields, &mut piped);
    let piped_rows = pipeline.events(&events, &mut piped);

    let rows: Vec<Vec<Value<'_>>> = case.events.iter().map(|e| event_row(case, e)).collect();
    let expected = match output {
        Output::Csv(dialect) => check_csv(dialect, &fields, &rows),
        Output::Plain => check_text(None, &fields, &rows),
        Output::Formatted => check_text(Some(templates(case.kind)), &fields, &rows),
    };
    match (header, piped_rows) {
        (Ok(()), Ok(())) => assert_eq!(
            utf8(&piped),
            utf8(&expected),
            "the pipeline's rows differ from the encoder's"
        ),
        // A refused row (a CSV dialect that cannot write a value) stops the
        // batch: what was written before it must be the encoder's.
        _ => assert!(
            expected.starts_with(&piped),
            "the pipeline wrote {:?}, the encoder {:?}",
            utf8(&piped),
            utf8(&expected)
        ),
    }
}

// ---------------------------------------------------------------------------
// Properties

proptest! {
    #![proptest_config(config())]

    #[test]
    fn csv_record_rows_match_python(dialect in dialect(), (_kind, case) in layout_case()) {
        check_csv(&dialect, &case.fields(), &case.rows());
    }

    #[test]
    fn csv_any_rows_match_python(dialect in dialect(), case in any_case()) {
        check_csv(&dialect, &case.fields(), &case.rows());
    }

    #[test]
    fn text_record_rows_match_python(formatted in any::<bool>(), (kind, case) in layout_case()) {
        check_text(formatted.then(|| templates(kind)), &case.fields(), &case.rows());
    }

    #[test]
    fn text_any_rows_match_python(
        template in proptest::option::of(template()),
        case in any_case(),
    ) {
        let templates = template.as_deref().map(|t| (t, t));
        check_text(templates, &case.fields(), &case.rows());
    }

    #[test]
    fn pipeline_events_match_python(
        output in prop_oneof![
            dialect().prop_map(Output::Csv),
            Just(Output::Plain),
            Just(Output::Formatted),
        ],
        case in events_case(),
    ) {
        check_events(&output, &case);
    }
}

// ---------------------------------------------------------------------------
// Regressions: nasty cases, always run

#[test]
fn the_oracle_runs() {
    let python = info();
    assert!(
        python.version.starts_with('3'),
        "the oracle is not Python 3: {python:?}"
    );
    // So strings keep their NULs in the cases (3.10's csv refuses them, but
    // pikos needs 3.11 anyway).
    assert!(python.reads_nul, "this Python's csv cannot read NUL back");
}

fn nasty_rows(long: &str) -> Vec<Vec<Value<'_>>> {
    use Value::*;
    vec![
        vec![Str("\"")],
        vec![Str("\"\"")],
        vec![Str(",")],
        vec![Str("\r")],
        vec![Str("\n")],
        vec![Str("\r\n")],
        vec![Str("")],
        vec![Table("")],
        vec![None],
        vec![],
        vec![Str("a\r"), Str("\nb")],
        vec![Str("x"), Table(""), Table("\r"), Table("\n\r")],
        // Cached by the multi-field row above, then alone.
        vec![Table("")],
        vec![Table("\r")],
        vec![Str(long), Table(long)],
        vec![Str(" lead"), Str("trail "), Str(" both "), Str("\t")],
        vec![
            Str("\0"),
            Str("a\0b"),
            Str("é"),
            Str("中文"),
            Str("😀"),
            Str("e\u{301}"),
        ],
        vec![Str("\\"), Str("\\n"), Str("\\\""), Str("'")],
        vec![Int(i64::MIN), Int(i64::MAX), Int(-1), Int(0)],
        vec![
            Num("nan"),
            Num("-inf"),
            Num("1e+16"),
            Num("-0.0"),
            Num("5e-324"),
        ],
        vec![
            Str("1.5"),
            Num("1.5"),
            Str("-3"),
            Int(-3),
            None,
            Str("None"),
        ],
    ]
}

fn long_name() -> String {
    let mut name = "/tmp/".to_owned();
    while name.chars().count() < 10_000 {
        name.push_str("dir, \"é\"/");
    }
    name.chars().take(10_000).collect()
}

#[test]
fn csv_nasty_rows() {
    let long = long_name();
    let rows = nasty_rows(&long);
    let fields = ["index", "a,b", "\"q\"", "line\nbreak", ""];
    let python_breaks = info().quote_line_breaks;
    let dialects = [
        CsvDialect::default(),
        CsvDialect {
            lineterminator: "\n".into(),
            ..CsvDialect::default()
        },
        CsvDialect {
            lineterminator: "\n".into(),
            quote_line_breaks: !python_breaks,
            ..CsvDialect::default()
        },
        CsvDialect {
            delimiter: ';',
            quoting: CsvQuoting::All,
            ..CsvDialect::default()
        },
        CsvDialect {
            quoting: CsvQuoting::NonNumeric,
            quotechar: Some('\''),
            ..CsvDialect::default()
        },
        CsvDialect {
            escapechar: Some('\\'),
            doublequote: false,
            delimiter: '\t',
            ..CsvDialect::default()
        },
        CsvDialect {
            delimiter: 'é',
            quotechar: Some('€'),
            escapechar: Some('~'),
            lineterminator: "\r".into(),
            ..CsvDialect::default()
        },
        // A dialect that cannot write a quote: such rows are refused.
        CsvDialect {
            doublequote: false,
            ..CsvDialect::default()
        },
    ];
    for dialect in dialects {
        let dialect = CsvDialect {
            quote_line_breaks: dialect.quote_line_breaks || python_breaks,
            ..dialect
        };
        check_csv(&dialect, &fields, &rows);
        // Each row alone too (the encoder's cache starts empty).
        for row in &rows {
            check_csv(&dialect, &fields, std::slice::from_ref(row));
        }
    }
}

#[test]
fn text_nasty_rows() {
    let long = long_name();
    let rows = nasty_rows(&long);
    check_text(None, &["index", "line\nbreak", "cr\r", ""], &rows);
    // Each record layout with the nasty strings in its text fields.
    let strings: Vec<&str> = rows
        .iter()
        .flatten()
        .filter_map(|v| match v {
            Value::Str(text) | Value::Table(text) => Some(*text),
            _ => None,
        })
        .collect();
    for kind in KINDS {
        let layout_rows: Vec<Vec<Value<'_>>> = strings
            .iter()
            .enumerate()
            .map(|(i, text)| {
                kind.fields()
                    .iter()
                    .map(|field| match field {
                        Field::LineNo if i % 3 == 0 => Value::None,
                        Field::Type | Field::Function | Field::Line | Field::Filename => {
                            Value::Str(text)
                        }
                        _ => Value::Int(i as i64 * 7919 - 40_000),
                    })
                    .collect()
            })
            .collect();
        check_text(None, &kind.field_names(), &layout_rows);
        check_text(Some(templates(kind)), &kind.field_names(), &layout_rows);
    }
}

#[test]
fn text_template_edges() {
    let rows = vec![
        vec![Value::Str("a\nb"), Value::Int(-5), Value::Num("1e+16")],
        vec![Value::None, Value::Str(""), Value::Str("\r")],
        vec![Value::Str("x")],
    ];
    for template in [
        "{:^7}|{:>3}|{:<9}",
        "{{{}}}{:^}{}",
        "",
        "{}{}{}{}",
        "é{:2}😀",
    ] {
        check_text(Some((template, template)), &["h\n", "é", "\r\n"], &rows);
    }
}

#[test]
fn float_reprs_are_pythons() {
    // The generator's repr: the oracle refuses a Num that is not.
    let rows: Vec<Vec<Value<'_>>> = vec![];
    let texts: Vec<String> = [
        0.0,
        -0.0,
        0.1,
        1e16,
        1e15,
        1e-4,
        1e-5,
        5e-324,
        1.7976931348623157e308,
        123.456,
        -2.5e-7,
        9007199254740993.0,
    ]
    .iter()
    .map(|&x| py_repr(x).unwrap())
    .collect();
    // Exactly between ...193.12 and ...193.13: Python writes the even one.
    assert_eq!(py_repr(184637939886193.0 + 0.125), None);
    let row: Vec<Value<'_>> = texts
        .iter()
        .map(|t| Value::Num(t))
        .chain([Value::Num("184637939886193.12")])
        .collect();
    check_text(None, &[], &[row]);
    check_text(None, &[], &rows);
}

#[test]
fn pipeline_nasty_events() {
    let long = long_name();
    for output in [
        Output::Csv(CsvDialect::default()),
        Output::Plain,
        Output::Formatted,
    ] {
        for kind in KINDS {
            let case = EventsCase {
                kind,
                codes: vec![
                    (
                        "a\r\nb.py".into(),
                        Some(vec!["x = \"1,2\"".into(), "\r".into(), long.clone()]),
                    ),
                    (long.clone(), None),
                ],
                names: vec!["f\n".into(), "".into()],
                events: (0..12u64)
                    .map(|i| {
                        (
                            i,
                            i * 4096,
                            i << 40,
                            i,
                            140_000_000_000 + i,
                            Pick(i as usize),
                            Pick(i as usize / 2),
                            [1, 2, 3, 0, NO_LINE, -1][i as usize % 6],
                            [EventKind::Call, EventKind::Line, EventKind::CReturn][i as usize % 3],
                        )
                    })
                    .collect(),
            };
            check_events(&output, &case);
        }
    }
}
