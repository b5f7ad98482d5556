//! The process's resident and virtual memory size, read cheaply at an event.
//!
//! - Linux: one `pread` of `/proc/self/statm` on a descriptor opened once,
//!   reopened in a forked child (`/proc/self` opened by the parent still
//!   names the parent).  A fork is noticed through a `pthread_atfork`
//!   counter, not a `getpid` system call per read.
//! - macOS: `task_info(MACH_TASK_BASIC_INFO)`.
//! - Windows: `K32GetProcessMemoryInfo` (working set and pagefile usage, as
//!   psutil reports them).
//!
//! [`SampledProbe`] adds the optional sampling interval of the memory
//! monitors: a reading is reused until it is older than the interval.

use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemoryInfo {
    pub rss: u64,
    pub vms: u64,
}

#[cfg(target_os = "linux")]
mod imp {
    use super::MemoryInfo;
    use std::fs::File;
    use std::os::unix::fs::FileExt;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Once;

    /// Bumped in every forked child.
    static FORKS: AtomicU64 = AtomicU64::new(0);
    static WATCH_FORKS: Once = Once::new();

    extern "C" fn after_fork_in_child() {
        FORKS.fetch_add(1, Ordering::Relaxed);
    }

    pub struct MemoryProbe {
        file: Option<File>,
        forks: u64,
        page: u64,
    }

    impl MemoryProbe {
        pub fn new() -> Self {
            WATCH_FORKS.call_once(|| {
                // SAFETY: registers a handler that only touches an atomic.
                unsafe { libc::pthread_atfork(None, None, Some(after_fork_in_child)) };
            });
            // SAFETY: sysconf has no preconditions.
            let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
            MemoryProbe {
                file: File::open("/proc/self/statm").ok(),
                forks: FORKS.load(Ordering::Relaxed),
                page: if page > 0 { page as u64 } else { 4096 },
            }
        }

        pub fn read(&mut self) -> MemoryInfo {
            let forks = FORKS.load(Ordering::Relaxed);
            if forks != self.forks {
                self.file = File::open("/proc/self/statm").ok();
                self.forks = forks;
            }
            let mut buf = [0u8; 128];
            let n = match &self.file {
                Some(file) => file.read_at(&mut buf, 0).unwrap_or(0),
                None => 0,
            };
            // statm: size resident shared text lib data dt, in pages.
            let mut numbers = buf[..n].split(|b| *b == b' ').map(|field| {
                field
                    .iter()
                    .take_while(|b| b.is_ascii_digit())
                    .fold(0u64, |acc, b| acc * 10 + u64::from(b - b'0'))
            });
            let vms = numbers.next().unwrap_or(0) * self.page;
            let rss = numbers.next().unwrap_or(0) * self.page;
            MemoryInfo { rss, vms }
        }
    }
}

#[cfg(target_os = "macos")]
mod imp {
    use super::MemoryInfo;

    // <mach/task_info.h>: struct mach_task_basic_info, flavor 20.
    #[repr(C)]
    #[derive(Default)]
    struct MachTaskBasicInfo {
        virtual_size: u64,
        resident_size: u64,
        resident_size_max: u64,
        user_time: [i32; 2],
        system_time: [i32; 2],
        policy: i32,
        suspend_count: i32,
    }
    const MACH_TASK_BASIC_INFO: u32 = 20;
    const MACH_TASK_BASIC_INFO_COUNT: u32 =
        (std::mem::size_of::<MachTaskBasicInfo>() / std::mem::size_of::<u32>()) as u32;

    extern "C" {
        static mach_task_self_: u32;
        fn task_info(task: u32, flavor: u32, info: *mut i32, count: *mut u32) -> i32;
    }

    pub struct MemoryProbe;

    impl MemoryProbe {
        pub fn new() -> Self {
            MemoryProbe
        }

        pub fn read(&mut self) -> MemoryInfo {
            let mut info = MachTaskBasicInfo::default();
            let mut count = MACH_TASK_BASIC_INFO_COUNT;
            // SAFETY: `info` is a mach_task_basic_info of `count` words; the
            // task port of the process itself is always valid.
            let status = unsafe {
                task_info(
                    mach_task_self_,
                    MACH_TASK_BASIC_INFO,
                    &mut info as *mut MachTaskBasicInfo as *mut i32,
                    &mut count,
                )
            };
            if status != 0 {
                return MemoryInfo::default();
            }
            MemoryInfo {
                rss: info.resident_size,
                vms: info.virtual_size,
            }
        }
    }
}

#[cfg(windows)]
mod imp {
    use super::MemoryInfo;

    // <psapi.h>: PROCESS_MEMORY_COUNTERS.
    #[repr(C)]
    #[derive(Default)]
    struct ProcessMemoryCounters {
        cb: u32,
        page_fault_count: u32,
        peak_working_set_size: usize,
        working_set_size: usize,
        quota_peak_paged_pool_usage: usize,
        quota_paged_pool_usage: usize,
        quota_peak_non_paged_pool_usage: usize,
        quota_non_paged_pool_usage: usize,
        pagefile_usage: usize,
        peak_pagefile_usage: usize,
    }

    #[link(name = "kernel32")]
    extern "system" {
        fn GetCurrentProcess() -> isize;
        fn K32GetProcessMemoryInfo(
            process: isize,
            counters: *mut ProcessMemoryCounters,
            cb: u32,
        ) -> i32;
    }

    pub struct MemoryProbe;

    impl MemoryProbe {
        pub fn new() -> Self {
            MemoryProbe
        }

        pub fn read(&mut self) -> MemoryInfo {
            let size = std::mem::size_of::<ProcessMemoryCounters>() as u32;
            let mut counters = ProcessMemoryCounters {
                cb: size,
                ..Default::default()
            };
            // SAFETY: the pseudo handle of the current process is always
            // valid; `counters` is a PROCESS_MEMORY_COUNTERS of `size` bytes.
            let ok = unsafe { K32GetProcessMemoryInfo(GetCurrentProcess(), &mut counters, size) };
            if ok == 0 {
                return MemoryInfo::default();
            }
            MemoryInfo {
                rss: counters.working_set_size as u64,
                vms: counters.pagefile_usage as u64,
            }
        }
    }
}

#[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
mod imp {
    use super::MemoryInfo;

    /// No probe on this platform: memory fields read as 0.
    pub struct MemoryProbe;

    impl MemoryProbe {
        pub fn new() -> Self {
            MemoryProbe
        }

        pub fn read(&mut self) -> MemoryInfo {
            MemoryInfo::default()
        }
    }
}

pub use imp::MemoryProbe;

impl Default for MemoryProbe {
    fn default() -> Self {
        Self::new()
    }
}

/// A probe that, given an interval, reuses its last reading until the
/// reading is older than the interval.  Without one every read is fresh.
pub struct SampledProbe {
    probe: MemoryProbe,
    interval: Option<Duration>,
    last: Option<(Instant, MemoryInfo)>,
}

impl SampledProbe {
    pub fn new(interval: Option<Duration>) -> Self {
        SampledProbe {
            probe: MemoryProbe::new(),
            interval: interval.filter(|d| !d.is_zero()),
            last: None,
        }
    }

    /// Forgets the last reading: the next read is fresh.
    pub fn reset(&mut self) {
        self.last = None;
    }

    #[inline]
    pub fn read(&mut self) -> MemoryInfo {
        let Some(interval) = self.interval else {
            return self.probe.read();
        };
        let now = Instant::now();
        if let Some((at, info)) = self.last {
            if now.duration_since(at) < interval {
                return info;
            }
        }
        let info = self.probe.read();
        self.last = Some((now, info));
        info
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(any(target_os = "linux", target_os = "macos", windows))]
    #[test]
    fn reads_nonzero_memory_with_vms_at_least_rss() {
        let mut probe = MemoryProbe::new();
        let info = probe.read();
        assert!(info.rss > 0);
        assert!(info.vms >= info.rss);
    }

    /// One test for everything that watches RSS move: tests run in parallel
    /// threads of one process, so two such tests would disturb each other.
    #[cfg(target_os = "linux")]
    #[test]
    fn fresh_and_sampled_probes_follow_a_touched_allocation() {
        let mut fresh = SampledProbe::new(Some(Duration::ZERO));
        let mut sampled = SampledProbe::new(Some(Duration::from_secs(3600)));
        let before = fresh.read().rss;
        let first = sampled.read();
        let block = vec![1u8; 64 << 20];
        let during = fresh.read().rss;
        assert!(during >= before + (60 << 20), "{before} -> {during}");
        assert_eq!(sampled.read(), first);
        drop(block);
    }
}
