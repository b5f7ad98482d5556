//! Text as the original pikos `TextStreamRecorder` writes it: plain (values
//! joined by spaces) or formatted (the record's `str.format` template).

use super::template::{push_escaped, Template};
use super::Encoder;
use crate::error::Result;
use crate::event::Value;

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

#[cfg(test)]
mod tests {
    use super::*;

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
