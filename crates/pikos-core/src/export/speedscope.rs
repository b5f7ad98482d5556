//! speedscope's file format: one evented profile per thread.

use std::io::Write;

use rustc_hash::FxHashMap;

use super::trace::{flush_some, write_out, Trace};
use crate::encode::JsonEncoder;
use crate::error::Result;

impl Trace {
    /// speedscope's JSON (https://www.speedscope.app/file-format-schema.json):
    /// shared frames, one evented profile per thread, in nanoseconds.
    pub fn write_speedscope(
        &mut self,
        out: &mut impl Write,
        name: &str,
        names: &FxHashMap<u64, String>,
    ) -> Result<()> {
        self.finish();
        let mut buf = Vec::with_capacity(1 << 16);
        buf.extend_from_slice(
            b"{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\",\"name\":",
        );
        JsonEncoder::string(name, &mut buf);
        buf.extend_from_slice(b",\"exporter\":");
        JsonEncoder::string(concat!("pikos ", env!("CARGO_PKG_VERSION")), &mut buf);
        buf.extend_from_slice(b",\"activeProfileIndex\":0,\"shared\":{\"frames\":[");
        for (i, frame) in self.frames.iter().enumerate() {
            if i > 0 {
                buf.push(b',');
            }
            buf.extend_from_slice(b"{\"name\":");
            JsonEncoder::string(&frame.name, &mut buf);
            if let Some(file) = &frame.file {
                buf.extend_from_slice(b",\"file\":");
                JsonEncoder::string(file, &mut buf);
            }
            if let Some(line) = frame.line {
                buf.extend_from_slice(format!(",\"line\":{line}").as_bytes());
            }
            buf.push(b'}');
        }
        buf.extend_from_slice(b"]},\"profiles\":[");
        let mut digits = itoa::Buffer::new();
        for (i, thread) in self.threads.iter().enumerate() {
            if i > 0 {
                buf.push(b',');
            }
            buf.extend_from_slice(b"{\"type\":\"evented\",\"name\":");
            JsonEncoder::string(&Self::thread_name(names, thread.id), &mut buf);
            buf.extend_from_slice(b",\"unit\":\"nanoseconds\",\"startValue\":");
            buf.extend_from_slice(digits.format(thread.first).as_bytes());
            buf.extend_from_slice(b",\"endValue\":");
            buf.extend_from_slice(digits.format(thread.last).as_bytes());
            buf.extend_from_slice(b",\"events\":[");
            for (j, mark) in thread.marks.iter().enumerate() {
                if j > 0 {
                    buf.push(b',');
                }
                buf.extend_from_slice(if mark.open {
                    b"{\"type\":\"O\",\"frame\":"
                } else {
                    b"{\"type\":\"C\",\"frame\":"
                });
                buf.extend_from_slice(digits.format(mark.frame).as_bytes());
                buf.extend_from_slice(b",\"at\":");
                buf.extend_from_slice(digits.format(mark.at).as_bytes());
                buf.push(b'}');
                flush_some(out, &mut buf)?;
            }
            buf.extend_from_slice(b"]}");
        }
        buf.extend_from_slice(b"]}\n");
        write_out(out, &buf)
    }
}
