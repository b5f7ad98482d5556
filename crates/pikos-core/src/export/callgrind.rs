//! The callgrind format (KCachegrind, QCachegrind, callgrind_annotate):
//! one event, wall time in nanoseconds.  Each function gets its own time at
//! its first line, and a `calls=` line per callee with the calls made and
//! their inclusive time; all threads together.  The `summary:` and
//! `totals:` lines are the sum of the functions' own times.
//!
//! Function records carry where each function starts, not the line each
//! call came from, so a function's own cost sits at its first line, and so
//! do its calls of Python functions; a call of a builtin sits at the line
//! it was made from (its `c_call` record says).  Builtins have no file:
//! they are in `<built-in>`, at line 0.

use std::collections::BTreeMap;
use std::io::Write;

use rustc_hash::FxHashMap;

use super::trace::{flush_some, write_out, Trace};
use crate::error::Result;

/// The file builtins are written in.
const BUILTINS: &str = "<built-in>";

/// Names the format compresses: `(id) name` the first time, `(id)` after.
#[derive(Default)]
struct Names {
    ids: FxHashMap<String, usize>,
}

impl Names {
    fn write(&mut self, buf: &mut Vec<u8>, key: &str, name: &str) {
        // A name ends at the line's end: keep line breaks out of it.
        let name: String = name
            .chars()
            .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
            .collect();
        let next = self.ids.len() + 1;
        match self.ids.get(&name) {
            Some(id) => buf.extend_from_slice(format!("{key}=({id})\n").as_bytes()),
            None => {
                buf.extend_from_slice(format!("{key}=({next}) {name}\n").as_bytes());
                self.ids.insert(name, next);
            }
        }
    }
}

impl Trace {
    /// The callgrind file; `name` is the command (`cmd:`), `pid` the
    /// process (`pid:`).
    pub fn write_callgrind(&mut self, out: &mut impl Write, name: &str, pid: u32) -> Result<()> {
        let stacks = self.stacks(false, true);
        let inclusive = stacks.inclusive();
        // Per frame: own time; per (caller, callee, the caller's line where
        // known): calls, inclusive time.
        let mut own = vec![0u64; self.frames.len()];
        let mut calls: BTreeMap<(u32, u32, Option<i64>), (u64, u64)> = BTreeMap::new();
        for (i, node) in stacks.nodes.iter().enumerate() {
            own[node.frame as usize] += node.own;
            if node.parent != u32::MAX {
                let caller = stacks.nodes[node.parent as usize].frame;
                let edge = calls.entry((caller, node.frame, node.site)).or_default();
                edge.0 += node.calls;
                edge.1 += inclusive[i];
            }
        }
        let total: u64 = own.iter().sum();
        let one_line = |text: &str| -> String {
            text.chars()
                .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
                .collect()
        };
        let mut buf = Vec::with_capacity(1 << 16);
        buf.extend_from_slice(
            format!(
                "# callgrind format\nversion: 1\ncreator: pikos {}\npid: {pid}\ncmd: {}\n\
                 positions: line\nevent: Wall : Wall time (ns)\nevents: Wall\n\
                 summary: {total}\n",
                env!("CARGO_PKG_VERSION"),
                one_line(name)
            )
            .as_bytes(),
        );
        let file = |frame: u32| {
            self.frames[frame as usize]
                .file
                .as_deref()
                .unwrap_or(BUILTINS)
        };
        let line = |frame: u32| self.frames[frame as usize].line.unwrap_or(0).max(0);
        let mut files = Names::default();
        let mut functions = Names::default();
        let mut edges = calls.iter().peekable();
        for frame in 0..self.frames.len() as u32 {
            buf.push(b'\n');
            files.write(&mut buf, "fl", file(frame));
            functions.write(&mut buf, "fn", &self.frames[frame as usize].name);
            buf.extend_from_slice(format!("{} {}\n", line(frame), own[frame as usize]).as_bytes());
            while let Some(&(&(caller, callee, site), &(count, cost))) = edges.peek() {
                if caller != frame {
                    break;
                }
                edges.next();
                files.write(&mut buf, "cfi", file(callee));
                functions.write(&mut buf, "cfn", &self.frames[callee as usize].name);
                buf.extend_from_slice(
                    format!(
                        "calls={count} {}\n{} {cost}\n",
                        line(callee),
                        site.map_or(line(frame), |l| l.max(0))
                    )
                    .as_bytes(),
                );
            }
            flush_some(out, &mut buf)?;
        }
        buf.extend_from_slice(format!("\ntotals: {total}\n").as_bytes());
        write_out(out, &buf)
    }
}

#[cfg(test)]
mod tests {
    use crate::export::trace::tests::trace_of;

    #[test]
    fn callgrind_has_own_costs_and_inclusive_calls_summing_to_the_totals() {
        let mut trace = trace_of(&[
            ("call", "main", 0, 1),
            ("call", "work", 10, 1),
            ("c_call", "len", 20, 1),
            ("c_return", "len", 25, 1),
            ("return", "work", 40, 1),
            ("call", "work", 50, 1),
            ("return", "work", 60, 1),
            ("return", "main", 100, 1),
            ("call", "work", 0, 2),
            ("return", "work", 7, 2),
        ]);
        let mut out = Vec::new();
        trace.write_callgrind(&mut out, "app.py", 42).unwrap();
        let text = String::from_utf8(out).unwrap();
        let expected = "# callgrind format\nversion: 1\ncreator: pikos VERSION\npid: 42\n\
            cmd: app.py\npositions: line\nevent: Wall : Wall time (ns)\nevents: Wall\n\
            summary: 107\n\
            \nfl=(1) f.py\nfn=(1) main\n1 60\ncfi=(1)\ncfn=(2) work\ncalls=2 1\n1 40\n\
            \nfl=(1)\nfn=(2)\n1 42\ncfi=(2) <built-in>\ncfn=(3) len\ncalls=1 0\n1 5\n\
            \nfl=(2)\nfn=(3)\n0 5\n\
            \ntotals: 107\n"
            .replace("VERSION", env!("CARGO_PKG_VERSION"));
        assert_eq!(text, expected);
    }

    #[test]
    fn a_builtin_call_sits_at_the_line_it_was_made_from() {
        use crate::export::trace::{Step, Trace};
        let mut trace = Trace::new();
        trace.event(Step::Call, "main", "app.py", Some(3), 0, 1);
        trace.event(Step::CCall, "len", "app.py", Some(7), 10, 1);
        trace.event(Step::CReturn, "len", "app.py", Some(7), 14, 1);
        trace.event(Step::CCall, "len", "app.py", Some(9), 20, 1);
        trace.event(Step::CReturn, "len", "app.py", Some(9), 21, 1);
        trace.event(Step::Return, "main", "app.py", Some(9), 30, 1);
        let mut out = Vec::new();
        trace.write_callgrind(&mut out, "app.py", 1).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("fn=(1) main\n3 25\ncfi=(2) <built-in>\ncfn=(2) len\ncalls=1 0\n7 4\ncfi=(2)\ncfn=(2)\ncalls=1 0\n9 1\n"),
            "{text}"
        );
    }
}
