//! Collapsed stacks (flamegraph.pl, inferno, speedscope): one line per
//! stack with its own time.

use std::io::Write;

use super::trace::{flush_some, write_out, Frame, Trace};
use crate::error::Result;

impl Trace {
    /// Collapsed stacks: per distinct stack (all threads together), its own
    /// time in nanoseconds; lines sorted.  A frame reads `name (file:line)`
    /// for Python functions and `name` for builtins; `;` and line breaks,
    /// which the format reserves, become `,` and spaces.
    pub fn write_collapsed(&mut self, out: &mut impl Write) -> Result<()> {
        let stacks = self.stacks(false, false);
        let labels: Vec<String> = self.frames.iter().map(collapsed_label).collect();
        let mut lines: Vec<String> = Vec::new();
        for (i, node) in stacks.nodes.iter().enumerate() {
            if node.own == 0 {
                continue;
            }
            let mut path: Vec<&str> = stacks
                .frames_of(i as u32)
                .into_iter()
                .map(|frame| labels[frame as usize].as_str())
                .collect();
            path.reverse();
            lines.push(format!("{} {}\n", path.join(";"), node.own));
        }
        lines.sort_unstable();
        let mut buf = Vec::with_capacity(1 << 16);
        for line in lines {
            buf.extend_from_slice(line.as_bytes());
            flush_some(out, &mut buf)?;
        }
        write_out(out, &buf)
    }
}

fn collapsed_label(frame: &Frame) -> String {
    let label = match (&frame.file, frame.line) {
        (Some(file), Some(line)) => format!("{} ({file}:{line})", frame.name),
        (Some(file), None) => format!("{} ({file})", frame.name),
        (None, _) => frame.name.clone(),
    };
    label
        .chars()
        .map(|c| match c {
            ';' => ',',
            '\n' | '\r' => ' ',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::export::trace::tests::trace_of;

    #[test]
    fn collapsed_stacks_sum_own_time_per_stack() {
        let mut trace = trace_of(&[
            ("call", "main", 0, 1),
            ("call", "work", 10, 1),
            ("return", "work", 40, 1),
            ("call", "work", 50, 1),
            ("return", "work", 60, 1),
            ("return", "main", 100, 1),
        ]);
        let mut out = Vec::new();
        trace.write_collapsed(&mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "main (f.py:1) 60\nmain (f.py:1);work (f.py:1) 40\n"
        );
    }
}
