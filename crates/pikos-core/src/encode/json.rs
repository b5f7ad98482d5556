//! JSON Lines, the records of the live stream.

use super::Encoder;
use crate::error::Result;
use crate::event::Value;

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
}
