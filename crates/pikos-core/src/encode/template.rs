//! Record templates (`str.format` restricted to what they use) and the
//! line-break escaping of text output, which a template's widths count.

use crate::error::{Error, Result};
use crate::event::Value;

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
pub(super) fn push_escaped(text: &str, out: &mut Vec<u8>) {
    let bytes = text.as_bytes();
    let mut start = 0;
    for at in memchr::memchr2_iter(b'\n', b'\r', bytes) {
        out.extend_from_slice(&bytes[start..at]);
        out.extend_from_slice(if bytes[at] == b'\n' { b"\\n" } else { b"\\r" });
        start = at + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
