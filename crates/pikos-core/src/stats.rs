//! Statistics in the manner of `cProfile`: per function, calls, primitive
//! (non-recursive) calls, own time and cumulative time, and the same per
//! caller, aggregated from function events as they happen.
//!
//! The rules are `cProfile`'s, so a `.pstats` file made from these totals
//! reads like one of its own: a call's own time is its time less its
//! callees'; cumulative time is added only when the outermost active call of
//! a function returns (recursion is counted once); a call made while another
//! of the same function is active is a recursive (non-primitive) call.  The
//! same holds per caller/callee pair.
//!
//! One rule differs, on purpose: a generator or coroutine that is suspended
//! (`yield`, an `await` that waits) and resumed is one call, not one per
//! resume as `cProfile` counts it.  Its frame leaves the stack while it
//! waits (its time stops), and comes back at the resume without a new call.

use std::sync::Arc;

use rustc_hash::FxHashMap;

pub use crate::clock::{ns_per_tick, ticks};
use crate::encode::JsonEncoder;
use crate::tables::tables;

/// What a function is: a code object (its id, with its name id) or a
/// builtin (the name id of its `cProfile` label).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Func {
    Code { code: u32, name: u32 },
    Builtin(u32),
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// Every call, recursive ones included (`pstats`' `nc`).
    pub calls: u64,
    /// Calls made while another call of the same function (or pair) was
    /// active; `calls - recursive` is `pstats`' `cc`.
    pub recursive: u64,
    /// Own and cumulative time, in ticks ([`ticks`]).
    pub own: u64,
    pub cumulative: u64,
    /// Active calls now on the current thread (see [`Aggregator::switch`]).
    level: u32,
}

impl Totals {
    /// A call starts (`counted`), or a suspended one resumes.
    #[inline]
    fn open(&mut self, counted: bool) {
        if counted {
            self.calls += 1;
            if self.level > 0 {
                self.recursive += 1;
            }
        }
        self.level += 1;
    }

    /// A call leaves the stack: it ends, or it is suspended.
    #[inline]
    fn close(&mut self, elapsed: u64, own: u64) {
        self.level = self.level.saturating_sub(1);
        if self.level == 0 {
            self.cumulative += elapsed;
        }
        self.own += own;
    }

    pub fn primitive(&self) -> u64 {
        self.calls - self.recursive
    }
}

#[derive(Clone, Copy, Debug)]
struct Frame {
    func: u32,
    /// The (caller, this) pair's slot, when there is a caller.
    edge: Option<u32>,
    start: u64,
    /// Time spent in callees so far.
    sub: u64,
    /// The last callee this frame called and the pair's slot: a loop
    /// calling one function finds its pair without hashing.
    last_callee: u32,
    last_edge: u32,
}

const NO_SLOT: u32 = u32::MAX;

/// The running totals of one statistics monitor.
#[derive(Clone, Default)]
pub struct Aggregator {
    funcs: Vec<(Func, Totals)>,
    /// Code id -> slot in `funcs` (`NO_SLOT` when not seen).
    by_code: Vec<u32>,
    /// Builtin label id -> slot.
    by_builtin: Vec<u32>,
    edges: Vec<((u32, u32), Totals)>,
    by_edge: FxHashMap<(u32, u32), u32>,
    /// Stacks of the threads other than the current one, by thread key.
    parked: FxHashMap<usize, Vec<Frame>>,
    current: usize,
    stack: Vec<Frame>,
}

#[inline]
fn slot_in(index: &mut Vec<u32>, id: u32) -> &mut u32 {
    let at = id as usize;
    if at >= index.len() {
        index.resize(at + 1, NO_SLOT);
    }
    &mut index[at]
}

impl Aggregator {
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes `thread`'s stack the current one.
    ///
    /// Recursion is a matter of one thread's stack: a function running in
    /// two threads at once is two primitive calls, as `cProfile` counts
    /// them per thread.  So the active-call levels always describe the
    /// current thread: the frames of the stack that leaves take their
    /// levels with them, those of the stack that comes back bring theirs.
    /// A switch costs the depth of both stacks, and happens only when
    /// another thread gets the interpreter; the per-event path is unchanged.
    #[inline]
    fn switch(&mut self, thread: usize) {
        if thread != self.current {
            self.switch_to(thread);
        }
    }

    #[cold]
    fn switch_to(&mut self, thread: usize) {
        self.count_levels(false);
        let stack = self.parked.remove(&thread).unwrap_or_default();
        let old = std::mem::replace(&mut self.stack, stack);
        if !old.is_empty() {
            self.parked.insert(self.current, old);
        }
        self.current = thread;
        self.count_levels(true);
    }

    /// Adds (`on`) or takes away the current stack's frames from the
    /// active-call levels of their functions and pairs.
    fn count_levels(&mut self, on: bool) {
        let step = |level: &mut u32| {
            *level = if on {
                *level + 1
            } else {
                level.saturating_sub(1)
            }
        };
        for frame in &self.stack {
            step(&mut self.funcs[frame.func as usize].1.level);
            if let Some(edge) = frame.edge {
                step(&mut self.edges[edge as usize].1.level);
            }
        }
    }

    fn slot(&mut self, func: Func, insert: bool) -> Option<u32> {
        let slot = match func {
            Func::Code { code, .. } => slot_in(&mut self.by_code, code),
            Func::Builtin(name) => slot_in(&mut self.by_builtin, name),
        };
        if *slot == NO_SLOT {
            if !insert {
                return None;
            }
            *slot = self.funcs.len() as u32;
            self.funcs.push((func, Totals::default()));
        }
        Some(*slot)
    }

    fn edge(&mut self, caller: u32, callee: u32) -> u32 {
        let next = self.edges.len() as u32;
        let slot = *self.by_edge.entry((caller, callee)).or_insert(next);
        if slot == next {
            self.edges.push(((caller, callee), Totals::default()));
        }
        slot
    }

    /// A call of `func` on `thread` at `now` (ticks).
    pub fn enter(&mut self, thread: usize, func: Func, now: u64) {
        self.open(thread, func, now, true);
    }

    /// `func`, a generator or coroutine suspended by a `yield` (or an
    /// `await` that waits), resumes on `thread` at `now`.  Its time counts
    /// as for a call, but its call was counted when it started: a suspended
    /// coroutine is not a return, and its resume not a new call (`cProfile`
    /// counts one call per resume).
    pub fn resume(&mut self, thread: usize, func: Func, now: u64) {
        self.open(thread, func, now, false);
    }

    fn open(&mut self, thread: usize, func: Func, now: u64, counted: bool) {
        self.switch(thread);
        let Some(slot) = self.slot(func, true) else {
            return;
        };
        self.funcs[slot as usize].1.open(counted);
        let edge = match self
            .stack
            .last()
            .map(|c| (c.func, c.last_callee, c.last_edge))
        {
            Some((_, callee, edge)) if callee == slot => Some(edge),
            Some((caller, _, _)) => {
                let edge = self.edge(caller, slot);
                if let Some(frame) = self.stack.last_mut() {
                    (frame.last_callee, frame.last_edge) = (slot, edge);
                }
                Some(edge)
            }
            None => None,
        };
        if let Some(edge) = edge {
            self.edges[edge as usize].1.open(counted);
        }
        self.stack.push(Frame {
            func: slot,
            edge,
            start: now,
            sub: 0,
            last_callee: NO_SLOT,
            last_edge: NO_SLOT,
        });
    }

    /// The return of `func` on `thread` at `now`, or its suspension (a
    /// generator's `yield`: see [`Aggregator::resume`]).  A return with no
    /// matching call (a frame entered before the monitor was) is ignored;
    /// calls above the matching one that never returned are closed here.
    pub fn leave(&mut self, thread: usize, func: Func, now: u64) {
        self.switch(thread);
        let Some(slot) = self.slot(func, false) else {
            return;
        };
        let Some(depth) = self.stack.iter().rposition(|f| f.func == slot) else {
            return;
        };
        while self.stack.len() > depth {
            self.pop(now);
        }
    }

    fn pop(&mut self, now: u64) {
        let Some(frame) = self.stack.pop() else {
            return;
        };
        let elapsed = now.saturating_sub(frame.start);
        let own = elapsed.saturating_sub(frame.sub);
        self.funcs[frame.func as usize].1.close(elapsed, own);
        if let Some(edge) = frame.edge {
            self.edges[edge as usize].1.close(elapsed, own);
        }
        if let Some(caller) = self.stack.last_mut() {
            caller.sub += elapsed;
        }
    }

    /// Closes every call still active, on every thread, at `now` (what
    /// `cProfile` does when it is disabled).
    pub fn close_all(&mut self, now: u64) {
        let parked: Vec<usize> = self.parked.keys().copied().collect();
        for thread in std::iter::once(self.current).chain(parked) {
            self.switch(thread);
            while !self.stack.is_empty() {
                self.pop(now);
            }
        }
    }

    /// The totals as they stand at `now`, active calls counted as if they
    /// returned now (the aggregator itself is left as it is).
    pub fn snapshot(&self, now: u64) -> Snapshot {
        let mut closed = self.clone();
        closed.close_all(now);
        let mut callers: Vec<Vec<(Func, Totals)>> = vec![Vec::new(); closed.funcs.len()];
        for &((caller, callee), totals) in &closed.edges {
            if totals.calls > 0 {
                callers[callee as usize].push((closed.funcs[caller as usize].0, totals));
            }
        }
        let functions = closed
            .funcs
            .iter()
            .zip(callers)
            .filter(|((_, totals), _)| totals.calls > 0)
            .map(|(&(func, totals), callers)| FunctionStats {
                func,
                totals,
                callers,
            })
            .collect();
        Snapshot {
            functions,
            ns_per_tick: ns_per_tick(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct FunctionStats {
    pub func: Func,
    pub totals: Totals,
    /// Per caller, the calls it made of this function.
    pub callers: Vec<(Func, Totals)>,
}

/// Totals of every function called, in first-call order.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    pub functions: Vec<FunctionStats>,
    /// What a tick is worth ([`ns_per_tick`]).
    pub ns_per_tick: f64,
}

/// How `pstats` names a function: file name, first line, name.  Builtins
/// are `("~", 0, label)`, as `cProfile` writes them.
pub fn location(func: Func) -> (Arc<str>, i32, Arc<str>) {
    let t = tables().read().unwrap_or_else(|e| e.into_inner());
    let name = |id: u32| {
        t.names
            .get(id as usize)
            .cloned()
            .unwrap_or_else(|| Arc::from("?"))
    };
    match func {
        Func::Code { code, name: id } => match t.codes.get(code as usize) {
            Some(entry) => (entry.filename.clone(), entry.first_line, name(id)),
            None => (Arc::from("?"), 0, name(id)),
        },
        Func::Builtin(id) => (Arc::from("~"), 0, name(id)),
    }
}

impl Snapshot {
    /// `ticks` in seconds.
    pub fn seconds(&self, ticks: u64) -> f64 {
        ticks as f64 * self.ns_per_tick / 1e9
    }

    /// The live statistics payload (`pikos.stats`, `docs/wire-format.md`):
    /// `{"functions": [[filename, line, name, calls, primitive calls, own
    /// seconds, cumulative seconds], ...]}`.
    pub fn to_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"functions\":[");
        for (i, f) in self.functions.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            let (filename, line, name) = location(f.func);
            out.push(b'[');
            JsonEncoder::string(&filename, out);
            out.extend_from_slice(format!(",{line},").as_bytes());
            JsonEncoder::string(&name, out);
            let t = &f.totals;
            out.extend_from_slice(
                format!(
                    ",{},{},{:.9},{:.9}]",
                    t.calls,
                    t.primitive(),
                    self.seconds(t.own),
                    self.seconds(t.cumulative)
                )
                .as_bytes(),
            );
        }
        out.extend_from_slice(b"]}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: usize = 1;

    fn f(code: u32) -> Func {
        Func::Code { code, name: code }
    }

    fn totals(s: &Snapshot, func: Func) -> Totals {
        s.functions.iter().find(|x| x.func == func).unwrap().totals
    }

    #[test]
    fn own_and_cumulative_time() {
        let mut a = Aggregator::new();
        a.enter(T, f(1), 0);
        a.enter(T, f(2), 10);
        a.leave(T, f(2), 40);
        a.enter(T, Func::Builtin(9), 50);
        a.leave(T, Func::Builtin(9), 55);
        a.leave(T, f(1), 100);
        let s = a.snapshot(100);
        let outer = totals(&s, f(1));
        assert_eq!((outer.calls, outer.own, outer.cumulative), (1, 65, 100));
        let inner = totals(&s, f(2));
        assert_eq!((inner.calls, inner.own, inner.cumulative), (1, 30, 30));
        let callers = &s.functions.iter().find(|x| x.func == f(2)).unwrap().callers;
        assert_eq!(callers.len(), 1);
        assert_eq!(callers[0].0, f(1));
    }

    #[test]
    fn recursion_counts_cumulative_time_once() {
        let mut a = Aggregator::new();
        // f(3) -> f(3) -> f(3): own time 20 + 20 + 10 ns.
        a.enter(T, f(3), 0);
        a.enter(T, f(3), 10);
        a.enter(T, f(3), 20);
        a.leave(T, f(3), 30);
        a.leave(T, f(3), 40);
        a.leave(T, f(3), 50);
        let t = totals(&a.snapshot(50), f(3));
        assert_eq!((t.calls, t.primitive()), (3, 1));
        assert_eq!((t.own, t.cumulative), (50, 50));
    }

    #[test]
    fn threads_keep_their_own_stacks() {
        let mut a = Aggregator::new();
        a.enter(1, f(1), 0);
        a.enter(2, f(2), 5);
        a.leave(1, f(1), 10);
        a.leave(2, f(2), 30);
        let s = a.snapshot(30);
        assert_eq!(totals(&s, f(1)).cumulative, 10);
        assert_eq!(totals(&s, f(2)).cumulative, 25);
        // Neither is the other's caller.
        assert!(s.functions.iter().all(|x| x.callers.is_empty()));
    }

    #[test]
    fn one_function_in_two_threads_is_two_primitive_calls() {
        let mut a = Aggregator::new();
        // f(1) runs in threads 1 and 2 at once, and calls f(2) in each.
        a.enter(1, f(1), 0);
        a.enter(2, f(1), 5);
        a.enter(1, f(2), 6);
        a.enter(2, f(2), 7);
        a.leave(1, f(2), 8);
        a.leave(1, f(1), 10);
        a.leave(2, f(2), 20);
        a.leave(2, f(1), 30);
        let s = a.snapshot(30);
        let t = totals(&s, f(1));
        assert_eq!((t.calls, t.primitive()), (2, 2));
        assert_eq!(t.cumulative, 10 + 25);
        assert!(t.cumulative >= t.own);
        let callee = s.functions.iter().find(|x| x.func == f(2)).unwrap();
        assert_eq!((callee.totals.calls, callee.totals.primitive()), (2, 2));
        assert_eq!(callee.totals.cumulative, 2 + 13);
        let pair = callee.callers[0].1;
        assert_eq!((pair.calls, pair.primitive(), pair.cumulative), (2, 2, 15));
        // Recursion within one thread still counts as recursion.
        a.enter(1, f(1), 40);
        a.enter(2, f(3), 41);
        a.enter(1, f(1), 42);
        a.leave(1, f(1), 43);
        a.leave(1, f(1), 44);
        let t = totals(&a.snapshot(50), f(1));
        assert_eq!((t.calls, t.primitive()), (4, 3));
    }

    #[test]
    fn snapshots_count_active_calls_without_closing_them() {
        let mut a = Aggregator::new();
        a.leave(T, f(7), 1); // a return with no call: ignored
        a.enter(T, f(1), 0);
        let live = a.snapshot(40);
        assert_eq!(totals(&live, f(1)).cumulative, 40);
        a.leave(T, f(1), 100);
        assert_eq!(totals(&a.snapshot(100), f(1)).cumulative, 100);
        assert!(a.snapshot(100).functions.iter().all(|x| x.func != f(7)));
    }

    #[test]
    fn a_return_closes_calls_that_never_returned() {
        let mut a = Aggregator::new();
        a.enter(T, f(1), 0);
        a.enter(T, Func::Builtin(4), 10);
        a.leave(T, f(1), 20);
        let s = a.snapshot(20);
        assert_eq!(totals(&s, Func::Builtin(4)).calls, 1);
        assert_eq!(totals(&s, f(1)).calls, 1);
    }
}
