//! Collapsed stacks (flamegraph.pl, inferno, speedscope): one line per
//! stack with its own time.

use std::io::Write;

use rustc_hash::FxHashMap;

use super::trace::{flush_some, write_out, Frame, Trace};
use crate::error::Result;

impl Trace {
    /// Collapsed stacks: per distinct stack (all threads together), its own
    /// time in nanoseconds; lines sorted.  A frame reads `name (file:line)`
    /// for Python functions and `name` for builtins; `;` and line breaks,
    /// which the format reserves, become `,` and spaces.
    pub fn write_collapsed(&mut self, out: &mut impl Write) -> Result<()> {
        self.finish();
        // A tree of stacks: node -> (parent, frame, own time).
        let mut nodes: Vec<(u32, u32, u64)> = vec![(u32::MAX, u32::MAX, 0)];
        let mut children: FxHashMap<(u32, u32), u32> = FxHashMap::default();
        for thread in &self.threads {
            let mut stack: Vec<u32> = Vec::new();
            let mut last = thread.first;
            for mark in &thread.marks {
                if let Some(&top) = stack.last() {
                    nodes[top as usize].2 += mark.at - last;
                }
                last = mark.at;
                if mark.open {
                    let parent = stack.last().copied().unwrap_or(0);
                    let next = nodes.len() as u32;
                    let node = *children.entry((parent, mark.frame)).or_insert(next);
                    if node == next {
                        nodes.push((parent, mark.frame, 0));
                    }
                    stack.push(node);
                } else {
                    stack.pop();
                }
            }
        }
        let labels: Vec<String> = self.frames.iter().map(collapsed_label).collect();
        let mut lines: Vec<String> = Vec::new();
        for (i, &(_, _, own)) in nodes.iter().enumerate().skip(1) {
            if own == 0 {
                continue;
            }
            let mut path = Vec::new();
            let mut node = i as u32;
            while node != 0 {
                let (parent, frame, _) = nodes[node as usize];
                path.push(labels[frame as usize].as_str());
                node = parent;
            }
            path.reverse();
            lines.push(format!("{} {own}\n", path.join(";")));
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
