//! The Trace Event Format (Perfetto, `chrome://tracing`): `B`/`E` events
//! per thread.

use std::io::Write;

use rustc_hash::FxHashMap;

use super::trace::{flush_some, write_out, Trace};
use crate::encode::JsonEncoder;
use crate::error::Result;

impl Trace {
    /// The Trace Event Format's JSON object: metadata naming the process
    /// and each thread, then `B`/`E` events in microseconds (nanosecond
    /// digits kept as decimals).
    pub fn write_chrome(
        &mut self,
        out: &mut impl Write,
        name: &str,
        pid: u32,
        names: &FxHashMap<u64, String>,
    ) -> Result<()> {
        self.finish();
        let mut buf = Vec::with_capacity(1 << 16);
        let mut digits = itoa::Buffer::new();
        let pid = digits.format(pid).to_owned();
        buf.extend_from_slice(b"{\"displayTimeUnit\":\"ns\",\"otherData\":{\"exporter\":");
        JsonEncoder::string(concat!("pikos ", env!("CARGO_PKG_VERSION")), &mut buf);
        buf.extend_from_slice(b"},\"traceEvents\":[\n");
        buf.extend_from_slice(b"{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":");
        buf.extend_from_slice(pid.as_bytes());
        buf.extend_from_slice(b",\"tid\":0,\"args\":{\"name\":");
        JsonEncoder::string(name, &mut buf);
        buf.extend_from_slice(b"}}");
        for thread in &self.threads {
            let tid = digits.format(thread.id).to_owned();
            buf.extend_from_slice(b",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":");
            buf.extend_from_slice(pid.as_bytes());
            buf.extend_from_slice(b",\"tid\":");
            buf.extend_from_slice(tid.as_bytes());
            buf.extend_from_slice(b",\"args\":{\"name\":");
            JsonEncoder::string(&Self::thread_name(names, thread.id), &mut buf);
            buf.extend_from_slice(b"}}");
            for mark in &thread.marks {
                let frame = &self.frames[mark.frame as usize];
                buf.extend_from_slice(b",\n{\"name\":");
                JsonEncoder::string(&frame.name, &mut buf);
                buf.extend_from_slice(if frame.file.is_some() {
                    b",\"cat\":\"python\",\"ph\":\""
                } else {
                    b",\"cat\":\"builtin\",\"ph\":\""
                });
                buf.push(if mark.open { b'B' } else { b'E' });
                buf.extend_from_slice(b"\",\"ts\":");
                buf.extend_from_slice(digits.format(mark.at / 1000).as_bytes());
                buf.extend_from_slice(format!(".{:03}", mark.at % 1000).as_bytes());
                buf.extend_from_slice(b",\"pid\":");
                buf.extend_from_slice(pid.as_bytes());
                buf.extend_from_slice(b",\"tid\":");
                buf.extend_from_slice(tid.as_bytes());
                if let (true, Some(file)) = (mark.open, &frame.file) {
                    buf.extend_from_slice(b",\"args\":{\"file\":");
                    JsonEncoder::string(file, &mut buf);
                    if let Some(line) = frame.line {
                        buf.extend_from_slice(format!(",\"line\":{line}").as_bytes());
                    }
                    buf.push(b'}');
                }
                buf.push(b'}');
                flush_some(out, &mut buf)?;
            }
        }
        buf.extend_from_slice(b"\n]}\n");
        write_out(out, &buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::trace::tests::trace_of;

    #[test]
    fn chrome_times_are_microseconds_with_nanosecond_decimals() {
        let mut trace = trace_of(&[
            ("call", "a\"b", 1_234_567, 5),
            ("return", "a\"b", 2_000_001, 5),
        ]);
        let mut out = Vec::new();
        trace
            .write_chrome(&mut out, "p", 42, &FxHashMap::default())
            .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains(r#"{"name":"a\"b","cat":"python","ph":"B","ts":1234.567,"pid":42,"tid":5,"args":{"file":"f.py","line":1}}"#), "{text}");
        assert!(
            text.contains(r#""ph":"E","ts":2000.001,"pid":42,"tid":5}"#),
            "{text}"
        );
    }
}
