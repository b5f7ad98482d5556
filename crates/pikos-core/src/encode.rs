//! Encoders: a row of [`Value`]s in, bytes out.  CSV follows Python's `csv`
//! writer for the dialect the Python side resolved; text follows the original
//! pikos `TextStreamRecorder` (plain: values joined by spaces; formatted: the
//! record's `str.format` template).

use rustc_hash::FxHashMap;

use crate::error::{Error, Result};
use crate::event::Value;

pub trait Encoder: Send {
    /// The header for `fields` (first prepare only).
    fn header(&mut self, fields: &[&str], out: &mut Vec<u8>) -> Result<()>;
    /// One record.
    fn row(&mut self, values: &[Value<'_>], out: &mut Vec<u8>) -> Result<()>;
    /// `Some((separator, terminator))` when this encoder's row of two or
    /// more fields is exactly: each field as [`Encoder::field`] encodes it
    /// alone, joined by `separator`, then `terminator`, with integers
    /// written as their decimal digits.  The pipeline then caches the
    /// encoding of the fields that repeat from row to row.
    fn joined(&self) -> Option<(&[u8], &[u8])> {
        None
    }
    /// Bytes before a joined row's first field (JSON's `[`).
    fn prefix(&self) -> &[u8] {
        b""
    }
    /// One field of a row of two or more (only called when `joined` is Some).
    fn field(&mut self, _value: &Value<'_>, _out: &mut Vec<u8>) -> Result<()> {
        Err(Error::State(
            "this encoder does not encode fields alone".to_owned(),
        ))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CsvQuoting {
    Minimal,
    All,
    NonNumeric,
}

/// A `csv.Dialect` as far as writing is concerned.  `quote_line_breaks` says
/// whether this Python quotes fields containing `\r`/`\n` even when the line
/// terminator does not contain them (3.13 does, 3.11 and 3.12 do not).
#[derive(Clone, Debug)]
pub struct CsvDialect {
    pub delimiter: char,
    pub quotechar: Option<char>,
    pub escapechar: Option<char>,
    pub doublequote: bool,
    pub lineterminator: String,
    pub quoting: CsvQuoting,
    pub quote_line_breaks: bool,
}

impl Default for CsvDialect {
    /// Python's `excel` dialect.
    fn default() -> Self {
        CsvDialect {
            delimiter: ',',
            quotechar: Some('"'),
            escapechar: None,
            doublequote: true,
            lineterminator: "\r\n".to_owned(),
            quoting: CsvQuoting::Minimal,
            quote_line_breaks: false,
        }
    }
}

impl CsvDialect {
    fn is_special(&self, c: char) -> bool {
        c == self.delimiter
            || Some(c) == self.escapechar
            || Some(c) == self.quotechar
            || self.lineterminator.contains(c)
            || (self.quote_line_breaks && (c == '\r' || c == '\n'))
    }

    fn write_field(
        &self,
        text: &str,
        mut quoted: bool,
        single: bool,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        // Fast path: nothing to quote or escape in most fields.
        let needs_work = text.chars().any(|c| self.is_special(c));
        if !needs_work {
            if text.is_empty() && single {
                quoted = true;
            }
            return self.emit(text, quoted, out);
        }
        let mut body = String::with_capacity(text.len() + 4);
        for c in text.chars() {
            let mut escape = false;
            if self.is_special(c) {
                if Some(c) == self.quotechar {
                    if self.doublequote {
                        body.push(c);
                    } else {
                        escape = true;
                    }
                } else if Some(c) == self.escapechar {
                    escape = true;
                }
                if !escape {
                    quoted = true;
                }
                if escape {
                    match self.escapechar {
                        Some(e) => body.push(e),
                        None => {
                            return Err(Error::Encode(
                                "csv: need to escape, but no escapechar set".to_owned(),
                            ))
                        }
                    }
                }
            }
            body.push(c);
        }
        self.emit(&body, quoted, out)
    }

    fn emit(&self, body: &str, quoted: bool, out: &mut Vec<u8>) -> Result<()> {
        match (quoted, self.quotechar) {
            (true, Some(q)) => {
                let mut buf = [0u8; 4];
                let q = q.encode_utf8(&mut buf).as_bytes();
                out.extend_from_slice(q);
                out.extend_from_slice(body.as_bytes());
                out.extend_from_slice(q);
                Ok(())
            }
            (true, None) => Err(Error::Encode(
                "csv: quotechar must be set if quoting enabled".to_owned(),
            )),
            (false, _) => {
                out.extend_from_slice(body.as_bytes());
                Ok(())
            }
        }
    }
}

pub struct CsvEncoder {
    dialect: CsvDialect,
    delimiter: Vec<u8>,
    /// `special[b]`: ASCII byte `b` forces quoting or escaping.
    special: [bool; 128],
    /// Some special character is not ASCII: scan by `char` instead.
    special_non_ascii: bool,
    /// Integers are written as they are: quoting is not `All` and no digit
    /// or `-` is special in this dialect (the usual case).
    ints_verbatim: bool,
    /// The encoded field of each [`Value::Table`] string met, by address:
    /// file names and source lines repeat in nearly every row.
    encoded: FxHashMap<(usize, usize), Box<[u8]>>,
}

impl CsvEncoder {
    pub fn new(dialect: CsvDialect) -> Self {
        let delimiter = dialect.delimiter.to_string().into_bytes();
        let mut special = [false; 128];
        let mut special_non_ascii = false;
        let mut mark = |c: char| match u8::try_from(c) {
            Ok(b) if b < 128 => special[usize::from(b)] = true,
            _ => special_non_ascii = true,
        };
        mark(dialect.delimiter);
        dialect
            .quotechar
            .into_iter()
            .chain(dialect.escapechar)
            .for_each(&mut mark);
        dialect.lineterminator.chars().for_each(&mut mark);
        if dialect.quote_line_breaks {
            mark('\r');
            mark('\n');
        }
        let ints_verbatim = dialect.quoting != CsvQuoting::All
            && "-0123456789".bytes().all(|b| !special[usize::from(b)]);
        CsvEncoder {
            dialect,
            delimiter,
            special,
            special_non_ascii,
            ints_verbatim,
            encoded: FxHashMap::default(),
        }
    }

    /// Whether `text` holds no character that needs quoting or escaping
    /// (the common case, decided a byte at a time).
    #[inline]
    fn plain(&self, text: &str) -> bool {
        if self.special_non_ascii {
            return !text.chars().any(|c| self.dialect.is_special(c));
        }
        // Non-ASCII bytes of UTF-8 are >= 128 and never special here.
        text.bytes()
            .all(|b| b >= 128 || !self.special[usize::from(b)])
    }

    fn text_field(&self, text: &str, quoted: bool, single: bool, out: &mut Vec<u8>) -> Result<()> {
        if self.plain(text) {
            let quoted = quoted || (text.is_empty() && single);
            return self.dialect.emit(text, quoted, out);
        }
        self.dialect.write_field(text, quoted, single, out)
    }

    /// One value; `single`: the row has this field only.
    fn value(&mut self, value: &Value<'_>, single: bool, out: &mut Vec<u8>) -> Result<()> {
        let all = self.dialect.quoting == CsvQuoting::All;
        let nonnumeric = self.dialect.quoting == CsvQuoting::NonNumeric;
        let mut itoa = itoa::Buffer::new();
        match value {
            Value::Int(n) if self.ints_verbatim => {
                out.extend_from_slice(itoa.format(*n).as_bytes());
                Ok(())
            }
            Value::Int(n) => self.text_field(itoa.format(*n), all, single, out),
            Value::Num(text) => self.text_field(text, all, single, out),
            Value::Str(text) => self.text_field(text, all || nonnumeric, single, out),
            Value::Table(text) => self.table_field(text, all || nonnumeric, single, out),
            Value::None => self.text_field("", all || nonnumeric, single, out),
        }
    }

    fn table_field(
        &mut self,
        text: &str,
        quoted: bool,
        single: bool,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        // `single` changes the encoding of "" only (a row of one empty field
        // is `""`): such fields neither use the cache nor go in it.
        if single {
            return self.text_field(text, quoted, single, out);
        }
        let key = (text.as_ptr() as usize, text.len());
        if let Some(bytes) = self.encoded.get(&key) {
            out.extend_from_slice(bytes);
            return Ok(());
        }
        let start = out.len();
        self.text_field(text, quoted, single, out)?;
        self.encoded.insert(key, out[start..].into());
        Ok(())
    }
}

impl Encoder for CsvEncoder {
    fn header(&mut self, fields: &[&str], out: &mut Vec<u8>) -> Result<()> {
        let values: Vec<Value<'_>> = fields.iter().map(|f| Value::Str(f)).collect();
        self.row(&values, out)
    }

    fn row(&mut self, values: &[Value<'_>], out: &mut Vec<u8>) -> Result<()> {
        let start = out.len();
        let single = values.len() == 1;
        for (i, value) in values.iter().enumerate() {
            if i > 0 {
                out.extend_from_slice(&self.delimiter);
            }
            if let Err(err) = self.value(value, single, out) {
                out.truncate(start);
                return Err(err);
            }
        }
        out.extend_from_slice(self.dialect.lineterminator.as_bytes());
        Ok(())
    }

    fn joined(&self) -> Option<(&[u8], &[u8])> {
        self.ints_verbatim
            .then(|| (&self.delimiter[..], self.dialect.lineterminator.as_bytes()))
    }

    fn field(&mut self, value: &Value<'_>, out: &mut Vec<u8>) -> Result<()> {
        self.value(value, false, out)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
    Center,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    Literal(String),
    Field { align: Option<Align>, width: usize },
}

/// A `str.format` template restricted to what record templates use:
/// automatic fields `{}` with an optional alignment and width
/// (`{:<8}`, `{:>15}`, `{:^12}`, `{:6}`), literal text and `{{`/`}}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    pieces: Vec<Piece>,
    fields: usize,
}

impl Template {
    pub fn parse(template: &str) -> Result<Self> {
        let unsupported = || {
            Error::Unsupported(format!(
                "template {template:?} uses format features pikos does not evaluate natively"
            ))
        };
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut fields = 0;
        let mut chars = template.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    literal.push('}');
                }
                '{' => {
                    let mut spec = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some(c) => spec.push(c),
                            None => return Err(unsupported()),
                        }
                    }
                    let spec = match spec.strip_prefix(':') {
                        Some(rest) => rest,
                        None if spec.is_empty() => "",
                        None => return Err(unsupported()),
                    };
                    let (align, digits) = match spec.chars().next() {
                        Some('<') => (Some(Align::Left), &spec[1..]),
                        Some('>') => (Some(Align::Right), &spec[1..]),
                        Some('^') => (Some(Align::Center), &spec[1..]),
                        _ => (None, spec),
                    };
                    if !digits.chars().all(|c| c.is_ascii_digit()) || digits.starts_with('0') {
                        return Err(unsupported());
                    }
                    let width = if digits.is_empty() {
                        0
                    } else {
                        digits.parse().map_err(|_| unsupported())?
                    };
                    if !literal.is_empty() {
                        pieces.push(Piece::Literal(std::mem::take(&mut literal)));
                    }
                    pieces.push(Piece::Field { align, width });
                    fields += 1;
                }
                '}' => return Err(unsupported()),
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            pieces.push(Piece::Literal(literal));
        }
        Ok(Template { pieces, fields })
    }

    pub fn fields(&self) -> usize {
        self.fields
    }

    /// `template.format(*values)`, but for line breaks in string values,
    /// written escaped as [`TextEncoder`] says (the width counts the escaped
    /// text, as if the escaped strings were formatted).
    pub fn render(&self, values: &[Value<'_>], out: &mut Vec<u8>) -> Result<()> {
        if values.len() < self.fields {
            return Err(Error::Encode(format!(
                "template has {} fields but the record has {} values",
                self.fields,
                values.len()
            )));
        }
        let mut next = values.iter();
        let mut itoa = itoa::Buffer::new();
        for piece in &self.pieces {
            match piece {
                Piece::Literal(text) => out.extend_from_slice(text.as_bytes()),
                Piece::Field { align, width } => {
                    let value = next.next().expect("counted above");
                    // (text, numeric, may hold line breaks)
                    let (text, numeric, string) = match value {
                        Value::Int(n) => (itoa.format(*n), true, false),
                        Value::Num(text) => (*text, true, true),
                        Value::Str(text) | Value::Table(text) => (*text, false, true),
                        Value::None => ("None", false, false),
                    };
                    // Python aligns numbers right and text left by default.
                    let align = align.unwrap_or(if numeric { Align::Right } else { Align::Left });
                    pad(text, string, align, *width, out);
                }
            }
        }
        Ok(())
    }
}

/// `text` padded with spaces to `width` characters; `escape`: `text` is a
/// string value, written as [`push_escaped`] does.
fn pad(text: &str, escape: bool, align: Align, width: usize, out: &mut Vec<u8>) {
    let fill = if width == 0 {
        0
    } else {
        let breaks = if escape { line_breaks(text) } else { 0 };
        width.saturating_sub(text.chars().count() + breaks)
    };
    let (before, after) = match align {
        Align::Left => (0, fill),
        Align::Right => (fill, 0),
        Align::Center => (fill / 2, fill - fill / 2),
    };
    out.resize(out.len() + before, b' ');
    if escape {
        push_escaped(text, out);
    } else {
        out.extend_from_slice(text.as_bytes());
    }
    out.resize(out.len() + after, b' ');
}

/// How many `\n` and `\r` `text` holds (each is one character more once
/// escaped).
fn line_breaks(text: &str) -> usize {
    memchr::memchr2_iter(b'\n', b'\r', text.as_bytes()).count()
}

/// Appends `text` with each `\n` written as the two characters `\n` and each
/// `\r` as `\r`; nothing else changes.  A byte search finds the line breaks
/// (they are rare): text without any is copied as it is, with no allocation.
#[inline]
fn push_escaped(text: &str, out: &mut Vec<u8>) {
    let bytes = text.as_bytes();
    let mut start = 0;
    for at in memchr::memchr2_iter(b'\n', b'\r', bytes) {
        out.extend_from_slice(&bytes[start..at]);
        out.extend_from_slice(if bytes[at] == b'\n' { b"\\n" } else { b"\\r" });
        start = at + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

/// The original `TextStreamRecorder` output, one line per record (SPEC §4).
///
/// So that a record stays one line, a line break inside a string value (a
/// file name or a source line holding a newline) is written escaped: `\n`
/// (LF) as the two characters `\` `n`, and `\r` (CR) as `\` `r`.  Only
/// those two are escaped: backslashes, tabs and every other character are
/// written as they are, so the escaping cannot be undone exactly (a value
/// holding a backslash then `n` reads the same as one holding a newline).
/// Field names in the header are escaped the same way, and in formatted
/// text the template's widths count the escaped characters.  Integers and
/// `None` never hold line breaks and are not scanned.
pub enum TextEncoder {
    /// Field names / values joined by single spaces.
    Plain,
    /// The record class's `header` and `line` templates.
    Formatted { header: Template, line: Template },
}

impl TextEncoder {
    fn write_header_line(header: &[u8], out: &mut Vec<u8>) {
        out.extend_from_slice(header);
        out.push(b'\n');
        let width = String::from_utf8_lossy(header).chars().count();
        out.resize(out.len() + width, b'-');
        out.push(b'\n');
    }
}

impl Encoder for TextEncoder {
    fn header(&mut self, fields: &[&str], out: &mut Vec<u8>) -> Result<()> {
        let mut header = Vec::new();
        match self {
            TextEncoder::Plain => {
                for (i, field) in fields.iter().enumerate() {
                    if i > 0 {
                        header.push(b' ');
                    }
                    push_escaped(field, &mut header);
                }
            }
            TextEncoder::Formatted {
                header: template, ..
            } => {
                let values: Vec<Value<'_>> = fields.iter().map(|f| Value::Str(f)).collect();
                template.render(&values, &mut header)?;
            }
        }
        Self::write_header_line(&header, out);
        Ok(())
    }

    fn row(&mut self, values: &[Value<'_>], out: &mut Vec<u8>) -> Result<()> {
        match self {
            TextEncoder::Plain => {
                let mut itoa = itoa::Buffer::new();
                for (i, value) in values.iter().enumerate() {
                    if i > 0 {
                        out.push(b' ');
                    }
                    match value {
                        Value::Int(n) => out.extend_from_slice(itoa.format(*n).as_bytes()),
                        Value::Num(text) | Value::Str(text) | Value::Table(text) => {
                            push_escaped(text, out)
                        }
                        Value::None => out.extend_from_slice(b"None"),
                    }
                }
            }
            TextEncoder::Formatted { line, .. } => line.render(values, out)?,
        }
        out.push(b'\n');
        Ok(())
    }

    fn joined(&self) -> Option<(&[u8], &[u8])> {
        matches!(self, TextEncoder::Plain).then_some((&b" "[..], &b"\n"[..]))
    }

    fn field(&mut self, value: &Value<'_>, out: &mut Vec<u8>) -> Result<()> {
        self.row(std::slice::from_ref(value), out)?;
        out.pop(); // the row's newline
        Ok(())
    }
}

/// JSON Lines: each record one JSON array of its values in field order,
/// then `\n` (the records frame of the wire format, `docs/wire-format.md`).
/// The field names travel in the session header, so `header` writes nothing.
pub struct JsonEncoder;

impl JsonEncoder {
    /// `text` as a JSON string (RFC 8259: `"`, `\\` and control characters
    /// escaped, everything else as UTF-8).
    pub fn string(text: &str, out: &mut Vec<u8>) {
        out.push(b'"');
        let bytes = text.as_bytes();
        let mut start = 0;
        for (i, &b) in bytes.iter().enumerate() {
            let escape: &[u8] = match b {
                b'"' => b"\\\"",
                b'\\' => b"\\\\",
                b'\n' => b"\\n",
                b'\r' => b"\\r",
                b'\t' => b"\\t",
                0..=0x1f => b"",
                _ => continue,
            };
            out.extend_from_slice(&bytes[start..i]);
            if escape.is_empty() {
                out.extend_from_slice(format!("\\u{b:04x}").as_bytes());
            } else {
                out.extend_from_slice(escape);
            }
            start = i + 1;
        }
        out.extend_from_slice(&bytes[start..]);
        out.push(b'"');
    }

    fn value(value: &Value<'_>, out: &mut Vec<u8>) {
        match value {
            Value::Int(n) => out.extend_from_slice(itoa::Buffer::new().format(*n).as_bytes()),
            Value::Str(text) | Value::Table(text) => Self::string(text, out),
            // A number JSON can hold as one; else (inf, nan) its text.
            Value::Num(text) => match text.parse::<f64>() {
                Ok(x) if x.is_finite() => out.extend_from_slice(text.as_bytes()),
                _ => Self::string(text, out),
            },
            Value::None => out.extend_from_slice(b"null"),
        }
    }
}

impl Encoder for JsonEncoder {
    fn header(&mut self, _fields: &[&str], _out: &mut Vec<u8>) -> Result<()> {
        Ok(())
    }

    fn row(&mut self, values: &[Value<'_>], out: &mut Vec<u8>) -> Result<()> {
        out.push(b'[');
        for (i, value) in values.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            Self::value(value, out);
        }
        out.extend_from_slice(b"]\n");
        Ok(())
    }

    fn joined(&self) -> Option<(&[u8], &[u8])> {
        Some((b",", b"]\n"))
    }

    fn prefix(&self) -> &[u8] {
        b"["
    }

    fn field(&mut self, value: &Value<'_>, out: &mut Vec<u8>) -> Result<()> {
        Self::value(value, out);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv(dialect: CsvDialect, values: &[Value<'_>]) -> String {
        let mut out = Vec::new();
        CsvEncoder::new(dialect).row(values, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn csv_excel_minimal_quoting() {
        let row = [
            Value::Int(3),
            Value::Str("call"),
            Value::Str("a, \"b\""),
            Value::Str("x\ny"),
        ];
        assert_eq!(
            csv(CsvDialect::default(), &row),
            "3,call,\"a, \"\"b\"\"\",\"x\ny\"\r\n"
        );
    }

    #[test]
    fn csv_line_breaks_follow_the_python_version() {
        let mut d = CsvDialect {
            lineterminator: "!".into(),
            ..CsvDialect::default()
        };
        assert_eq!(
            csv(d.clone(), &[Value::Str("a\rb"), Value::Str("e")]),
            "a\rb,e!"
        );
        d.quote_line_breaks = true;
        assert_eq!(
            csv(d, &[Value::Str("a\rb"), Value::Str("e")]),
            "\"a\rb\",e!"
        );
    }

    #[test]
    fn csv_quote_all_and_nonnumeric() {
        let row = [
            Value::None,
            Value::Int(1),
            Value::Str("x"),
            Value::Num("1.5"),
        ];
        let all = CsvDialect {
            quoting: CsvQuoting::All,
            ..CsvDialect::default()
        };
        assert_eq!(csv(all, &row), "\"\",\"1\",\"x\",\"1.5\"\r\n");
        let nonnum = CsvDialect {
            quoting: CsvQuoting::NonNumeric,
            ..CsvDialect::default()
        };
        assert_eq!(csv(nonnum, &row), "\"\",1,\"x\",1.5\r\n");
    }

    #[test]
    fn csv_escapechar() {
        let d = CsvDialect {
            escapechar: Some('\\'),
            ..CsvDialect::default()
        };
        assert_eq!(
            csv(d.clone(), &[Value::Str("a\\b"), Value::Str("x\"y")]),
            "a\\\\b,\"x\"\"y\"\r\n"
        );
        let d = CsvDialect {
            doublequote: false,
            ..d
        };
        assert_eq!(csv(d, &[Value::Str("x\"y")]), "x\\\"y\r\n");
        let d = CsvDialect {
            doublequote: false,
            ..CsvDialect::default()
        };
        let mut out = b"keep".to_vec();
        assert!(CsvEncoder::new(d)
            .row(&[Value::Str("x\"y")], &mut out)
            .is_err());
        assert_eq!(out, b"keep");
    }

    #[test]
    fn csv_table_strings_encode_like_str_also_from_the_cache() {
        let line: &'static str = "    a, b = \"x\", 1";
        let mut encoder = CsvEncoder::new(CsvDialect::default());
        let mut cached = Vec::new();
        for _ in 0..3 {
            let row = [Value::Int(1), Value::Table(line), Value::Table("")];
            encoder.row(&row, &mut cached).unwrap();
        }
        let plain = csv(
            CsvDialect::default(),
            &[Value::Int(1), Value::Str(line), Value::Str("")],
        );
        assert_eq!(String::from_utf8(cached).unwrap(), plain.repeat(3));
    }

    #[test]
    fn csv_single_empty_table_field_is_quoted_also_after_the_cache_has_it() {
        // Found by tests/encoder_fuzz.rs: "" cached from a row of two fields
        // came out unquoted in a row of one, which reads back as no field.
        let empty: &'static str = "";
        let mut encoder = CsvEncoder::new(CsvDialect::default());
        let mut out = Vec::new();
        for row in [
            &[Value::Int(0), Value::Table(empty)][..],
            &[Value::Table(empty)],
            &[Value::Table(empty), Value::Int(1)],
        ] {
            encoder.row(row, &mut out).unwrap();
        }
        assert_eq!(String::from_utf8(out).unwrap(), "0,\r\n\"\"\r\n,1\r\n");
    }

    #[test]
    fn csv_single_empty_field_is_quoted() {
        assert_eq!(csv(CsvDialect::default(), &[Value::Str("")]), "\"\"\r\n");
        assert_eq!(
            csv(CsvDialect::default(), &[Value::Str(""), Value::Str("a")]),
            ",a\r\n"
        );
    }

    #[test]
    fn templates_render_like_str_format() {
        let t = Template::parse("{:<8} {:<11} {:<30} {:<5} {}").unwrap();
        let mut out = Vec::new();
        t.render(
            &[
                Value::Int(1),
                Value::Str("call"),
                Value::Str("f"),
                Value::Int(12),
                Value::Str("a.py"),
            ],
            &mut out,
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!("{:<8} {:<11} {:<30} {:<5} {}", 1, "call", "f", 12, "a.py")
        );
        let t = Template::parse("{:^12} | {:>6} | {:4} | {:4} {{x}}").unwrap();
        let mut out = Vec::new();
        t.render(
            &[
                Value::Str("idx"),
                Value::Int(5),
                Value::Int(7),
                Value::Str("é"),
            ],
            &mut out,
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "    idx      |      5 |    7 | é    {x}"
        );
    }

    #[test]
    fn templates_reject_what_they_cannot_evaluate() {
        for bad in ["{0}", "{:*<5}", "{:.2f}", "{", "}", "{:08}", "{name}"] {
            assert!(Template::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn json_rows_escape_like_json() {
        let mut out = Vec::new();
        JsonEncoder
            .row(
                &[
                    Value::Int(-3),
                    Value::Str("a\"b\\c\n\t\u{1}é"),
                    Value::None,
                    Value::Num("1.5"),
                    Value::Num("inf"),
                ],
                &mut out,
            )
            .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "[-3,\"a\\\"b\\\\c\\n\\t\\u0001é\",null,1.5,\"inf\"]\n"
        );
    }

    #[test]
    fn text_header_has_dash_line_of_same_width() {
        let mut out = Vec::new();
        TextEncoder::Plain
            .header(&["index", "type"], &mut out)
            .unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "index type\n----------\n");
        let mut out = Vec::new();
        TextEncoder::Plain
            .row(&[Value::Int(0), Value::Str("call"), Value::None], &mut out)
            .unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "0 call None\n");
    }

    fn text(encoder: &mut TextEncoder, values: &[Value<'_>]) -> String {
        let mut out = Vec::new();
        encoder.row(values, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn text_rows_escape_line_breaks_only() {
        let row = [
            Value::Int(-1),
            Value::Str("a\nb"),
            Value::Table("c\r\nd\r"),
            Value::Str("tab\there \\n é"),
            Value::Num("1.5"),
            Value::None,
        ];
        assert_eq!(
            text(&mut TextEncoder::Plain, &row),
            "-1 a\\nb c\\r\\nd\\r tab\there \\n é 1.5 None\n"
        );
        // Text without line breaks is copied as it is.
        assert_eq!(text(&mut TextEncoder::Plain, &[Value::Str("")]), "\n");
        assert_eq!(
            text(
                &mut TextEncoder::Plain,
                &[Value::Str("\n"), Value::Str("\r")]
            ),
            "\\n \\r\n"
        );
    }

    #[test]
    fn text_fields_alone_escape_like_rows() {
        // The pipeline's row cache joins fields encoded one at a time.
        let mut out = Vec::new();
        TextEncoder::Plain
            .field(&Value::Table("x\r\ny"), &mut out)
            .unwrap();
        assert_eq!(out, b"x\\r\\ny");
    }

    #[test]
    fn text_header_escapes_and_dashes_count_the_escaped_text() {
        let mut out = Vec::new();
        TextEncoder::Plain.header(&["a\nb", "c"], &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "a\\nb c\n------\n");
    }

    #[test]
    fn formatted_widths_count_the_escaped_text() {
        let line = Template::parse("{:<6}|{:>6}|{:^6}|{:3}|{}").unwrap();
        let mut encoder = TextEncoder::Formatted {
            header: line.clone(),
            line,
        };
        let row = [
            Value::Str("a\nb"),
            Value::Table("a\rb"),
            Value::Str("a\nb"),
            Value::Int(7),
            Value::Str("\r\n"),
        ];
        assert_eq!(
            text(&mut encoder, &row),
            "a\\nb  |  a\\rb| a\\nb |  7|\\r\\n\n"
        );
        let mut out = Vec::new();
        encoder
            .header(&["x\n", "b", "c", "d", "e"], &mut out)
            .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!("x\\n   |     b|  c   |d  |e\n{}\n", "-".repeat(26))
        );
    }
}
