//! Per-line hits and time with `line_profiler`'s rules (`LineStatsMonitor`):
//! a line's time runs from its line event to the next line event of the
//! same frame, or to that frame leaving the stack (return, exception,
//! `yield`, an `await` that waits), so it includes what the line calls; a
//! suspended generator or coroutine is charged nothing until it resumes.
//! Each thread keeps its own stack of open frames, so threads never charge
//! each other's lines.
//!
//! The hook feeds three events per thread: [`LineAggregator::start`] (a
//! frame starts or resumes), [`LineAggregator::line`] (a line is about to
//! run) and [`LineAggregator::end`] (the frame leaves the stack).  Totals
//! are kept per code id, in a vector indexed by line, so an event is a few
//! indexed loads and adds.

use std::sync::Arc;

use crate::event::NO_LINE;
use crate::tables::tables;

/// Hits and time (clock ticks) of one line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LineTotals {
    pub hits: u64,
    pub ticks: u64,
}

/// The lines of one code object, indexed from `base`.
#[derive(Clone, Debug, Default)]
struct CodeLines {
    /// The name id of the code (set at its first event).
    name: u32,
    /// The id of the code's entry with source lines (set at its first line
    /// event), for the live payload's source text.
    source: Option<u32>,
    seen: bool,
    base: i32,
    lines: Vec<LineTotals>,
}

impl CodeLines {
    #[inline(always)]
    fn at(&mut self, line: i32) -> &mut LineTotals {
        if self.lines.is_empty() {
            self.base = line;
        } else if line < self.base {
            let grow = (self.base - line) as usize;
            self.lines
                .splice(0..0, std::iter::repeat_n(LineTotals::default(), grow));
            self.base = line;
        }
        let at = (line - self.base) as usize;
        if at >= self.lines.len() {
            self.lines.resize(at + 1, LineTotals::default());
        }
        &mut self.lines[at]
    }
}

/// A frame on a thread's stack: its code, its running line (or
/// [`NO_LINE`]) and when that line started.
#[derive(Clone, Copy, Debug)]
struct Open {
    code: u32,
    line: i32,
    since: u64,
}

/// The totals of every line seen, and each thread's open frames.
#[derive(Clone, Debug, Default)]
pub struct LineAggregator {
    codes: Vec<CodeLines>,
    threads: Vec<(usize, Vec<Open>)>,
    /// Index in `threads` of the last thread seen.
    last: usize,
}

/// The totals of one code object: its id, its name id and its lines
/// (`(line, totals)`, lines with hits or time only, in order).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeTotals {
    pub code: u32,
    pub name: u32,
    pub lines: Vec<(i32, LineTotals)>,
}

impl LineAggregator {
    pub fn new() -> Self {
        Self::default()
    }

    #[inline(always)]
    fn code(&mut self, code: u32, name: u32) -> &mut CodeLines {
        let at = code as usize;
        if at >= self.codes.len() {
            self.codes.resize(at + 1, CodeLines::default());
        }
        let entry = &mut self.codes[at];
        if !entry.seen {
            entry.seen = true;
            entry.name = name;
        }
        entry
    }

    /// Charges `open`'s running line up to `now`.
    #[inline(always)]
    fn charge(codes: &mut [CodeLines], open: &Open, now: u64) {
        if open.line != NO_LINE {
            if let Some(entry) = codes.get_mut(open.code as usize) {
                entry.at(open.line).ticks += now.saturating_sub(open.since);
            }
        }
    }

    /// A frame of `code` starts, or resumes at `line` (a suspended
    /// generator or coroutine: the rest of that line is charged to it, no
    /// hit counted); [`NO_LINE`] for a start.
    #[inline(always)]
    pub fn start(&mut self, thread: usize, code: u32, name: u32, line: i32, now: u64) {
        self.code(code, name);
        stack_of(&mut self.threads, &mut self.last, thread).push(Open {
            code,
            line,
            since: now,
        });
    }

    /// Line `line` of the running frame of `code` is about to run: one hit
    /// for it, and the frame's previous line is charged up to `now`.
    #[inline(always)]
    ///
    /// `source` is the id of the code's table entry with source lines.
    pub fn line(&mut self, thread: usize, code: u32, name: u32, source: u32, line: i32, now: u64) {
        if line == NO_LINE {
            return;
        }
        let entry = self.code(code, name);
        entry.source.get_or_insert(source);
        entry.at(line).hits += 1;
        let stack = stack_of(&mut self.threads, &mut self.last, thread);
        match stack.last_mut() {
            Some(top) if top.code == code => {
                Self::charge(&mut self.codes, top, now);
                top.line = line;
                top.since = now;
            }
            // A frame that was running before the first event of its
            // thread (the monitor started inside it, or after its start).
            _ => stack.push(Open {
                code,
                line,
                since: now,
            }),
        }
    }

    /// The running frame of `code` leaves the stack (returns, raises,
    /// yields or waits): its line is charged up to `now`.
    #[inline(always)]
    pub fn end(&mut self, thread: usize, code: u32, now: u64) {
        let stack = stack_of(&mut self.threads, &mut self.last, thread);
        // Normally the top; frames above it whose end was never reported
        // (none on the hooks pikos uses) are dropped with it.
        let Some(found) = stack.iter().rposition(|open| open.code == code) else {
            return;
        };
        let open = stack[found];
        stack.truncate(found);
        Self::charge(&mut self.codes, &open, now);
    }

    /// Charges every open frame's line up to `now` and forgets the
    /// stacks (the end of a session: what `line_profiler` has counted then).
    pub fn close_all(&mut self, now: u64) {
        let threads = std::mem::take(&mut self.threads);
        for (_, stack) in &threads {
            for open in stack {
                Self::charge(&mut self.codes, open, now);
            }
        }
        self.last = 0;
    }

    /// The source entry id of each code of `totals` (see [`Self::line`]).
    pub fn sources(&self, totals: &[CodeTotals]) -> Vec<Option<u32>> {
        totals
            .iter()
            .map(|c| self.codes.get(c.code as usize).and_then(|e| e.source))
            .collect()
    }

    /// The totals so far (open lines counted up to their last event), per
    /// code object with any line hit.
    pub fn totals(&self) -> Vec<CodeTotals> {
        self.codes
            .iter()
            .enumerate()
            .filter(|(_, c)| c.seen)
            .filter_map(|(code, c)| {
                let lines: Vec<(i32, LineTotals)> = c
                    .lines
                    .iter()
                    .enumerate()
                    .filter(|(_, t)| t.hits > 0 || t.ticks > 0)
                    .map(|(i, t)| (c.base + i as i32, *t))
                    .collect();
                (!lines.is_empty()).then_some(CodeTotals {
                    code: code as u32,
                    name: c.name,
                    lines,
                })
            })
            .collect()
    }
}

/// The live line totals payload (`pikos.lines`, `docs/wire-format.md`):
/// the `limit` lines with the most time, most first: `{"lines": [[filename,
/// line, function, hits, seconds, percent of the function's time, source
/// text], ...]}`.
pub fn live_json(
    totals: &[CodeTotals],
    sources: &[Option<u32>],
    ns_per_tick: f64,
    limit: usize,
    out: &mut Vec<u8>,
) {
    let mut hottest: Vec<(u64, usize, usize)> = Vec::new();
    let mut function_ticks = Vec::with_capacity(totals.len());
    for (c, code) in totals.iter().enumerate() {
        function_ticks.push(code.lines.iter().map(|(_, t)| t.ticks).sum::<u64>());
        for (l, (_, t)) in code.lines.iter().enumerate() {
            hottest.push((t.ticks, c, l));
        }
    }
    hottest.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    hottest.truncate(limit);
    let t = tables().read().unwrap_or_else(|e| e.into_inner());
    out.extend_from_slice(b"{\"lines\":[");
    for (i, (ticks, c, l)) in hottest.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let code = &totals[c];
        let (line, line_totals) = code.lines[l];
        let entry = t.codes.get(code.code as usize);
        let name = t.names.get(code.name as usize).map_or("?", |n| &**n);
        let source = sources
            .get(c)
            .copied()
            .flatten()
            .and_then(|id| t.codes.get(id as usize))
            .and_then(|e| e.line(line))
            .unwrap_or("");
        let percent = if function_ticks[c] > 0 {
            100.0 * ticks as f64 / function_ticks[c] as f64
        } else {
            0.0
        };
        out.push(b'[');
        crate::encode::JsonEncoder::string(entry.map_or("?", |e| &*e.filename), out);
        out.extend_from_slice(format!(",{line},").as_bytes());
        crate::encode::JsonEncoder::string(name, out);
        out.extend_from_slice(
            format!(
                ",{},{:.9},{:.3},",
                line_totals.hits,
                ticks as f64 * ns_per_tick / 1e9,
                percent
            )
            .as_bytes(),
        );
        crate::encode::JsonEncoder::string(source.trim(), out);
        out.push(b']');
    }
    out.extend_from_slice(b"]}");
}

/// The stack of `thread` (made at its first event); `last` remembers
/// where the last thread's is.
#[inline(always)]
fn stack_of<'a>(
    threads: &'a mut Vec<(usize, Vec<Open>)>,
    last: &mut usize,
    thread: usize,
) -> &'a mut Vec<Open> {
    if threads.get(*last).is_none_or(|t| t.0 != thread) {
        *last = match threads.iter().position(|t| t.0 == thread) {
            Some(at) => at,
            None => {
                threads.push((thread, Vec::with_capacity(16)));
                threads.len() - 1
            }
        };
    }
    &mut threads[*last].1
}

/// A code id's file name, first line and the name of `name`, as the tables
/// hold them.
pub fn location(code: u32, name: u32) -> (Arc<str>, i32, Arc<str>) {
    let t = tables().read().unwrap_or_else(|e| e.into_inner());
    let name = t
        .names
        .get(name as usize)
        .cloned()
        .unwrap_or_else(|| Arc::from("?"));
    match t.codes.get(code as usize) {
        Some(entry) => (entry.filename.clone(), entry.first_line, name),
        None => (Arc::from("?"), 0, name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(agg: &LineAggregator, code: u32) -> Vec<(i32, u64, u64)> {
        agg.totals()
            .into_iter()
            .find(|c| c.code == code)
            .map(|c| c.lines.iter().map(|(l, t)| (*l, t.hits, t.ticks)).collect())
            .unwrap_or_default()
    }

    #[test]
    fn a_line_runs_until_the_next_line_of_its_frame_callees_included() {
        let mut agg = LineAggregator::new();
        agg.start(1, 0, 0, NO_LINE, 0);
        agg.line(1, 0, 0, 0, 10, 5);
        // line 10 calls code 1, which runs from 6 to 20
        agg.start(1, 1, 1, NO_LINE, 6);
        agg.line(1, 1, 1, 1, 3, 7);
        agg.end(1, 1, 20);
        agg.line(1, 0, 0, 0, 11, 25);
        agg.end(1, 0, 30);
        assert_eq!(lines(&agg, 0), vec![(10, 1, 20), (11, 1, 5)]);
        assert_eq!(lines(&agg, 1), vec![(3, 1, 13)]);
    }

    #[test]
    fn suspension_is_not_charged_and_a_resume_continues_its_line() {
        let mut agg = LineAggregator::new();
        agg.start(1, 0, 0, NO_LINE, 0);
        agg.line(1, 0, 0, 0, 5, 0);
        agg.end(1, 0, 10); // yield at line 5
        agg.start(1, 0, 0, 5, 1000); // resumed 990 ticks later
        agg.line(1, 0, 0, 0, 6, 1004);
        agg.end(1, 0, 1010);
        assert_eq!(lines(&agg, 0), vec![(5, 1, 14), (6, 1, 6)]);
    }

    #[test]
    fn threads_keep_their_own_stacks() {
        let mut agg = LineAggregator::new();
        agg.line(1, 0, 0, 0, 1, 0);
        agg.line(2, 0, 0, 0, 1, 3);
        agg.line(1, 0, 0, 0, 2, 10);
        agg.line(2, 0, 0, 0, 2, 100);
        assert_eq!(lines(&agg, 0), vec![(1, 2, 10 + 97), (2, 2, 0)]);
        agg.close_all(200);
        assert_eq!(lines(&agg, 0), vec![(1, 2, 107), (2, 2, 190 + 100)]);
    }

    #[test]
    fn recursion_charges_each_frame_separately() {
        let mut agg = LineAggregator::new();
        agg.start(1, 0, 0, NO_LINE, 0);
        agg.line(1, 0, 0, 0, 1, 0);
        agg.start(1, 0, 0, NO_LINE, 2);
        agg.line(1, 0, 0, 0, 1, 2);
        agg.line(1, 0, 0, 0, 2, 4);
        agg.end(1, 0, 6);
        agg.line(1, 0, 0, 0, 2, 8);
        agg.end(1, 0, 9);
        assert_eq!(lines(&agg, 0), vec![(1, 2, 2 + 8), (2, 2, 2 + 1)]);
    }

    #[test]
    fn the_live_payload_lists_the_hottest_lines_first() {
        let mut agg = LineAggregator::new();
        agg.line(1, 0, 0, 0, 1, 0);
        agg.line(1, 0, 0, 0, 2, 10);
        agg.line(1, 0, 0, 0, 3, 40);
        agg.close_all(40);
        let totals = agg.totals();
        let sources = agg.sources(&totals);
        let mut out = Vec::new();
        live_json(&totals, &sources, 1.0, 2, &mut out);
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("{\"lines\":[["), "{text}");
        let rows: Vec<&str> = text.split("],[").collect();
        assert_eq!(rows.len(), 2, "{text}");
        assert!(rows[0].contains(",2,") && rows[0].contains(",1,0.000000030,75.000,"));
        assert!(rows[1].contains(",1,") && rows[1].contains(",1,0.000000010,25.000,"));
    }

    #[test]
    fn lines_below_the_first_seen_are_kept() {
        let mut agg = LineAggregator::new();
        agg.line(1, 3, 0, 3, 50, 0);
        agg.line(1, 3, 0, 3, 40, 1);
        agg.line(1, 3, 0, 3, 60, 3);
        assert_eq!(lines(&agg, 3), vec![(40, 1, 2), (50, 1, 1), (60, 1, 0)]);
    }
}
