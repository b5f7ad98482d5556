//! CSV as Python's `csv.writer` writes it, for the dialect the Python side
//! resolved.

use rustc_hash::FxHashMap;

use super::Encoder;
use crate::error::{Error, Result};
use crate::event::Value;

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
}
