//! The clock of timed events and statistics: the time-stamp counter where
//! it ticks at a constant rate (an invariant TSC on x86_64), else the
//! monotonic clock; ticks become nanoseconds by one rate measured against
//! the monotonic clock.

use std::sync::OnceLock;
#[cfg(not(target_os = "linux"))]
use std::time::Instant;

/// Nanoseconds on a monotonic clock (`CLOCK_MONOTONIC`, the clock
/// `cProfile` reads).
#[cfg(target_os = "linux")]
#[inline]
pub fn now_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid timespec to fill; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(ts.tv_nsec as u64)
}

/// Nanoseconds on a monotonic clock (since the first call in the process).
#[cfg(not(target_os = "linux"))]
#[inline]
pub fn now_ns() -> u64 {
    static BASE: OnceLock<Instant> = OnceLock::new();
    BASE.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

/// The time-stamp counter and the monotonic clock read together once, when
/// the counter ticks at a constant rate (x86_64 with an invariant TSC);
/// else None and ticks are nanoseconds.
fn tsc_origin() -> Option<(u64, u64)> {
    static ORIGIN: OnceLock<Option<(u64, u64)>> = OnceLock::new();
    *ORIGIN.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{__cpuid, _rdtsc};
            // SAFETY: cpuid exists on every x86_64; leaf 0x80000007's EDX
            // bit 8 is "invariant TSC" where the extended leaf exists.
            // (Safe to call from Rust 1.87 on, unsafe before.)
            #[allow(unused_unsafe)]
            let invariant = unsafe {
                __cpuid(0x8000_0000).eax >= 0x8000_0007 && __cpuid(0x8000_0007).edx & (1 << 8) != 0
            };
            if invariant && std::env::var_os("PIKOS_CLOCK").as_deref() != Some("monotonic".as_ref())
            {
                // SAFETY: rdtsc exists on every x86_64.
                return Some((unsafe { _rdtsc() }, now_ns()));
            }
        }
        None
    })
}

/// A timestamp, in ticks (see [`ns_per_tick`]).  One event
/// reads one: the time-stamp counter costs 10 ns where `clock_gettime`
/// costs 24 (measured here), and both are read once per event by
/// `cProfile`-style profiling, so this is a large part of its price.
#[inline]
pub fn ticks() -> u64 {
    #[cfg(target_arch = "x86_64")]
    if tsc_origin().is_some() {
        // SAFETY: rdtsc exists on every x86_64.
        return unsafe { std::arch::x86_64::_rdtsc() };
    }
    now_ns()
}

static RATE: OnceLock<f64> = OnceLock::new();

/// Nanoseconds per tick, measured once against the monotonic clock from
/// the counter's first use to the first call of this (at least 50 ms apart,
/// waiting for the rest the first time: a few parts per million), so that
/// totals read twice convert the same; 1 when ticks are nanoseconds.
pub fn ns_per_tick() -> f64 {
    let Some((tsc0, ns0)) = tsc_origin() else {
        return 1.0;
    };
    *RATE.get_or_init(|| loop {
        let (tsc1, ns1) = (ticks(), now_ns());
        let elapsed = ns1.saturating_sub(ns0);
        if elapsed >= 50_000_000 && tsc1 > tsc0 {
            return elapsed as f64 / (tsc1 - tsc0) as f64;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    })
}

/// The process's origin of time: the first tick (of the counter, or of the
/// monotonic clock when the counter is not used) that pikos read.
fn origin() -> u64 {
    static ORIGIN: OnceLock<u64> = OnceLock::new();
    *ORIGIN.get_or_init(|| match tsc_origin() {
        Some((tsc0, _)) => tsc0,
        None => now_ns(),
    })
}

/// Starts the clock: sets the origin that [`to_ns`] counts from (once per
/// process; later calls do nothing).  Monitors of timed records call it at
/// enable, so that every timestamp of the process counts from one point.
pub fn start() {
    origin();
}

/// Whether the rate of [`ns_per_tick`] is known, so that converting does
/// not wait for it.
pub fn calibrated() -> bool {
    tsc_origin().is_none() || RATE.get().is_some()
}

/// Nanoseconds from the process's origin to `ticks` (0 before it).  The
/// first conversion may wait for the rate (see [`ns_per_tick`]).
pub fn to_ns(ticks: u64) -> u64 {
    let since = ticks.saturating_sub(origin());
    if tsc_origin().is_none() {
        return since;
    }
    (since as f64 * ns_per_tick()).round() as u64
}
