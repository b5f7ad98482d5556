//! The process's resident and virtual memory size, read cheaply at an event.
//!
//! Linux: one `pread` of `/proc/self/statm` on a descriptor opened once
//! (and reopened after `fork`, since `/proc/self` of the parent is not ours).

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

    pub struct MemoryProbe {
        file: Option<File>,
        pid: u32,
        page: u64,
    }

    impl MemoryProbe {
        pub fn new() -> Self {
            // SAFETY: sysconf has no preconditions.
            let page = unsafe { libc_sysconf_pagesize() };
            MemoryProbe {
                file: File::open("/proc/self/statm").ok(),
                pid: std::process::id(),
                page,
            }
        }

        pub fn read(&mut self) -> MemoryInfo {
            let pid = std::process::id();
            if pid != self.pid {
                self.file = File::open("/proc/self/statm").ok();
                self.pid = pid;
            }
            let mut buf = [0u8; 128];
            let n = match &self.file {
                Some(file) => file.read_at(&mut buf, 0).unwrap_or(0),
                None => 0,
            };
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

    extern "C" {
        fn sysconf(name: i32) -> i64;
    }

    unsafe fn libc_sysconf_pagesize() -> u64 {
        const SC_PAGESIZE: i32 = 30;
        // SAFETY: _SC_PAGESIZE is a valid name on Linux.
        let size = unsafe { sysconf(SC_PAGESIZE) };
        if size > 0 {
            size as u64
        } else {
            4096
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use super::MemoryInfo;

    /// Other platforms arrive with the memory monitors (macOS `task_info`,
    /// Windows `GetProcessMemoryInfo`).
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

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn reads_nonzero_memory_with_vms_at_least_rss() {
        let mut probe = MemoryProbe::new();
        let info = probe.read();
        assert!(info.rss > 0);
        assert!(info.vms >= info.rss);
    }
}
