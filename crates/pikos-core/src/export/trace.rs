//! A [`Trace`] takes function events (call, return, c_call, c_return,
//! c_exception) with their time and thread, and keeps one stack per thread:
//! a return closes the innermost open call of the same function (and the
//! calls above it, which never returned), a return with no open call (its
//! call came before the monitor started) is counted and skipped, and calls
//! still open at the end close at their thread's last time.  So every
//! format gets balanced, properly nested intervals with times that never go
//! back on a thread.

use std::io::Write;

use rustc_hash::FxHashMap;

use crate::error::{Error, Result};

/// What a frame is: a Python function (its file and first line) or a
/// builtin (no file).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Frame {
    pub name: String,
    pub file: Option<String>,
    pub line: Option<i64>,
}

/// A function event's type, as records name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Call,
    Return,
    CCall,
    CReturn,
}

impl Step {
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "call" => Some(Step::Call),
            "return" => Some(Step::Return),
            "c_call" => Some(Step::CCall),
            "c_return" | "c_exception" => Some(Step::CReturn),
            _ => None,
        }
    }
}

/// An interval's end points as they happened on one thread.
#[derive(Clone, Copy, Debug)]
pub(super) struct Mark {
    pub(super) at: u64,
    pub(super) frame: u32,
    pub(super) open: bool,
}

#[derive(Default)]
pub(super) struct Thread {
    pub(super) id: u64,
    stack: Vec<u32>,
    pub(super) marks: Vec<Mark>,
    /// The caller's line at each builtin call, `(mark index, line)` in mark
    /// order: a `c_call` record carries it (a Python call's record carries
    /// the callee's first line, so only these call sites are known).
    pub(super) sites: Vec<(u32, i64)>,
    pub(super) first: u64,
    pub(super) last: u64,
}

impl Thread {
    fn close_to(&mut self, depth: usize, at: u64) {
        while self.stack.len() > depth {
            if let Some(frame) = self.stack.pop() {
                self.marks.push(Mark {
                    at,
                    frame,
                    open: false,
                });
            }
        }
    }
}

/// What a conversion saw.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Records read.
    pub events: u64,
    /// Intervals written (matched calls, and calls closed at the end).
    pub calls: u64,
    /// Returns with no open call on their thread (skipped).
    pub unmatched: u64,
    /// Calls still open at the end (closed at their thread's last time).
    pub unfinished: u64,
    pub threads: usize,
    pub frames: usize,
}

/// Function events made into balanced intervals per thread.
#[derive(Default)]
pub struct Trace {
    pub(super) frames: Vec<Frame>,
    frame_ids: FxHashMap<Frame, u32>,
    pub(super) threads: Vec<Thread>,
    by_id: FxHashMap<u64, usize>,
    summary: Summary,
    finished: bool,
}

impl Trace {
    pub fn new() -> Self {
        Self::default()
    }

    fn frame_id(&mut self, frame: Frame) -> u32 {
        if let Some(&id) = self.frame_ids.get(&frame) {
            return id;
        }
        let id = self.frames.len() as u32;
        self.frames.push(frame.clone());
        self.frame_ids.insert(frame, id);
        id
    }

    /// One function event.  `file` and `line` are the record's `filename`
    /// and `lineNo`: for a call, the function's own; for a builtin's
    /// events, the caller's (not used: a builtin's frame is its name).
    pub fn event(
        &mut self,
        step: Step,
        function: &str,
        file: &str,
        line: Option<i64>,
        time: u64,
        thread: u64,
    ) {
        self.summary.events += 1;
        let builtin = matches!(step, Step::CCall | Step::CReturn);
        let frame = match step {
            Step::Call => Some(Frame {
                name: function.to_owned(),
                file: Some(file.to_owned()),
                line,
            }),
            Step::CCall => Some(Frame {
                name: function.to_owned(),
                file: None,
                line: None,
            }),
            Step::Return | Step::CReturn => None,
        };
        let frame = frame.map(|f| self.frame_id(f));
        let frames = &self.frames;
        let this = {
            let next = self.threads.len();
            let slot = *self.by_id.entry(thread).or_insert(next);
            if slot == next {
                self.threads.push(Thread {
                    id: thread,
                    first: time,
                    last: time,
                    ..Thread::default()
                });
            }
            &mut self.threads[slot]
        };
        // Time never goes back on a thread.
        let at = time.max(this.last);
        this.last = at;
        if let Some(frame) = frame {
            if let (Step::CCall, Some(line)) = (step, line) {
                this.sites.push((this.marks.len() as u32, line));
            }
            this.stack.push(frame);
            this.marks.push(Mark {
                at,
                frame,
                open: true,
            });
            return;
        }
        let matching = this.stack.iter().rposition(|&id| {
            let f = &frames[id as usize];
            f.name == function
                && (f.file.is_none() == builtin)
                && (builtin || f.file.as_deref() == Some(file))
        });
        match matching {
            Some(depth) => {
                self.summary.calls += (this.stack.len() - depth) as u64;
                this.close_to(depth, at);
            }
            None => self.summary.unmatched += 1,
        }
    }

    /// Closes the calls still open, each at its thread's last time.
    pub fn finish(&mut self) -> Summary {
        if !self.finished {
            for thread in &mut self.threads {
                let open = thread.stack.len() as u64;
                self.summary.unfinished += open;
                self.summary.calls += open;
                thread.close_to(0, thread.last);
            }
            self.finished = true;
        }
        self.summary.threads = self.threads.len();
        self.summary.frames = self.frames.len();
        self.summary
    }

    pub(super) fn thread_name(names: &FxHashMap<u64, String>, id: u64) -> String {
        match names.get(&id) {
            Some(name) => format!("{name} ({id})"),
            None => format!("thread {id}"),
        }
    }
}

/// One node of a [`Stacks`] tree: a distinct stack (its frames from the
/// root, on one thread or on all), its own time and its calls.
#[derive(Clone, Copy, Debug)]
pub(super) struct Node {
    /// The node below (the caller's stack); `u32::MAX` for a root.
    pub(super) parent: u32,
    pub(super) frame: u32,
    /// The thread's index in [`Trace::threads`] (0 when threads are merged).
    pub(super) thread: u32,
    /// The caller's line this node's frame was called from, where known
    /// (builtins' calls) and asked for; the caller's node is `parent`.
    pub(super) site: Option<i64>,
    /// Nanoseconds with this stack on top (its frame running itself).
    pub(super) own: u64,
    /// Calls that ran with exactly this stack.
    pub(super) calls: u64,
}

/// The intervals of a [`Trace`] folded into a tree of distinct stacks:
/// children come after their parent, so one pass from the end adds each
/// node's inclusive time into its parent's.
pub(super) struct Stacks {
    pub(super) nodes: Vec<Node>,
}

impl Stacks {
    /// Nanoseconds with each node's stack on the thread's stack (its own
    /// time and its callees'), by node.
    pub(super) fn inclusive(&self) -> Vec<u64> {
        let mut total: Vec<u64> = self.nodes.iter().map(|n| n.own).collect();
        for i in (0..self.nodes.len()).rev() {
            let parent = self.nodes[i].parent;
            if parent != u32::MAX {
                total[parent as usize] += total[i];
            }
        }
        total
    }

    /// The frames of node `i`, leaf first, each with the line it was at
    /// where known: the line it called the frame before it from (a
    /// builtin's call site), else None.
    pub(super) fn lines_of(&self, mut i: u32) -> Vec<(u32, Option<i64>)> {
        let mut frames = Vec::new();
        let mut line = None;
        while i != u32::MAX {
            let node = &self.nodes[i as usize];
            frames.push((node.frame, line));
            line = node.site;
            i = node.parent;
        }
        frames
    }

    /// The frames of node `i`, leaf first.
    pub(super) fn frames_of(&self, mut i: u32) -> Vec<u32> {
        let mut frames = Vec::new();
        while i != u32::MAX {
            let node = &self.nodes[i as usize];
            frames.push(node.frame);
            i = node.parent;
        }
        frames
    }
}

impl Trace {
    /// The stack tree of the finished trace: per thread when `by_thread`,
    /// else all threads' stacks merged; with `by_site`, a frame called from
    /// two known lines of its caller is two nodes.
    pub(super) fn stacks(&mut self, by_thread: bool, by_site: bool) -> Stacks {
        self.finish();
        let mut nodes: Vec<Node> = Vec::new();
        // (parent or u32::MAX, thread, frame, site) -> node
        let mut index: FxHashMap<(u32, u32, u32, Option<i64>), u32> = FxHashMap::default();
        for (t, thread) in self.threads.iter().enumerate() {
            let t = if by_thread { t as u32 } else { 0 };
            let mut stack: Vec<u32> = Vec::new();
            let mut last = thread.first;
            let mut sites = thread.sites.iter().peekable();
            for (m, mark) in thread.marks.iter().enumerate() {
                let site = match sites.peek() {
                    Some(&&(at, line)) if at as usize == m => {
                        sites.next();
                        Some(line).filter(|_| by_site)
                    }
                    _ => None,
                };
                if let Some(&top) = stack.last() {
                    nodes[top as usize].own += mark.at - last;
                }
                last = mark.at;
                if mark.open {
                    let parent = stack.last().copied().unwrap_or(u32::MAX);
                    let next = nodes.len() as u32;
                    let node = *index.entry((parent, t, mark.frame, site)).or_insert(next);
                    if node == next {
                        nodes.push(Node {
                            parent,
                            frame: mark.frame,
                            thread: t,
                            site,
                            own: 0,
                            calls: 0,
                        });
                    }
                    nodes[node as usize].calls += 1;
                    stack.push(node);
                } else {
                    stack.pop();
                }
            }
        }
        Stacks { nodes }
    }
}

pub(super) fn flush_some(out: &mut impl Write, buf: &mut Vec<u8>) -> Result<()> {
    if buf.len() >= 1 << 16 {
        write_out(out, buf)?;
        buf.clear();
    }
    Ok(())
}

pub(super) fn write_out(out: &mut impl Write, buf: &[u8]) -> Result<()> {
    out.write_all(buf).map_err(|e| Error::io(None, e))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn trace_of(events: &[(&str, &str, u64, u64)]) -> Trace {
        let mut trace = Trace::new();
        for &(kind, name, time, thread) in events {
            trace.event(
                Step::from_name(kind).unwrap(),
                name,
                "f.py",
                Some(1),
                time,
                thread,
            );
        }
        trace
    }

    fn marks(trace: &Trace, thread: usize) -> Vec<(u64, &str, bool)> {
        trace.threads[thread]
            .marks
            .iter()
            .map(|m| (m.at, trace.frames[m.frame as usize].name.as_str(), m.open))
            .collect()
    }

    #[test]
    fn returns_close_the_innermost_matching_call_and_skip_unmatched_ones() {
        let mut trace = trace_of(&[
            ("return", "before", 1, 7),
            ("call", "a", 2, 7),
            ("call", "b", 3, 7),
            ("c_call", "len", 4, 7),
            // b returns while len never did (an exception path): both close.
            ("return", "b", 5, 7),
            ("return", "a", 6, 7),
            ("call", "open", 8, 7),
        ]);
        let summary = trace.finish();
        assert_eq!(summary.unmatched, 1);
        assert_eq!(summary.unfinished, 1);
        assert_eq!(summary.calls, 4);
        assert_eq!(
            marks(&trace, 0),
            vec![
                (2, "a", true),
                (3, "b", true),
                (4, "len", true),
                (5, "len", false),
                (5, "b", false),
                (6, "a", false),
                (8, "open", true),
                (8, "open", false),
            ]
        );
    }

    #[test]
    fn threads_keep_their_own_stacks_and_time_never_goes_back() {
        let mut trace = trace_of(&[
            ("call", "a", 10, 1),
            ("call", "b", 11, 2),
            ("return", "a", 9, 1),
            ("return", "b", 12, 2),
        ]);
        trace.finish();
        assert_eq!(marks(&trace, 0), vec![(10, "a", true), (10, "a", false)]);
        assert_eq!(marks(&trace, 1), vec![(11, "b", true), (12, "b", false)]);
    }

    #[test]
    fn a_python_return_never_closes_a_builtin_of_the_same_name() {
        let mut trace = trace_of(&[
            ("call", "len", 1, 1),
            ("c_call", "len", 2, 1),
            ("return", "len", 3, 1),
        ]);
        trace.finish();
        assert_eq!(
            marks(&trace, 0),
            vec![
                (1, "len", true),
                (2, "len", true),
                (3, "len", false),
                (3, "len", false),
            ]
        );
        assert_eq!(trace.frames.len(), 2);
    }
}
