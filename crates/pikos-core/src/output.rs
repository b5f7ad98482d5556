//! Where encoded bytes go: the [`Output`] trait (a file, or the live
//! stream's `crate::wire::Publisher`); [`FileOutput`], a record file opened
//! as its [`FileMode`] says (private spool files too).

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Duration;

use crate::error::{Error, Result};

/// Where a [`Writer`](crate::writer::Writer)'s thread puts the
/// encoded rows: a file ([`FileOutput`]) or a ZeroMQ socket
/// (`crate::wire::Publisher`).
pub trait Output: Send + 'static {
    /// The encoded rows of one batch (or a row, or preformatted text).
    fn write(&mut self, bytes: &[u8]) -> Result<()>;
    /// Everything written so far handed on (to the OS, to the network).
    fn flush(&mut self) -> Result<()>;
    /// The rows of one batch of events were written: an output that
    /// gathers small writes hands them on now (see [`FileOutput`]).
    fn batch_written(&mut self) -> Result<()> {
        Ok(())
    }
    /// A message of the output's own kind (only outputs that have some).
    fn publish(&mut self, topic: &str, _payload: &[u8]) -> Result<()> {
        Err(Error::State(format!("this output cannot publish {topic}")))
    }
    /// Whether the writer looks for batches on its own (crate::writer's
    /// doc) instead of being woken for each: for an output whose writer
    /// keeps up with the hook easily (a capture), so the hook is spared a
    /// wake per batch.  A writer that is as slow as the hook (CSV, text)
    /// must start on each batch at once, or it falls behind and the hook
    /// waits.
    fn polled(&self) -> bool {
        false
    }
    /// How often the writer calls [`Output::tick`] while it waits, if ever.
    fn tick_every(&self) -> Option<Duration> {
        None
    }
    /// Periodic work while the program runs (answering new subscribers).
    fn tick(&mut self) -> Result<()> {
        Ok(())
    }
    /// The end of the session: everything out, the output closed.
    fn finish(&mut self) -> Result<()> {
        self.flush()
    }
    /// Hand what is written to the OS whenever the queue is empty.
    fn live(&self) -> bool {
        false
    }
}

/// How a [`FileOutput`] opens its path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileMode {
    /// As Python's `open(path, "w")`: created or truncated, through links,
    /// into FIFOs and devices.
    Write,
    /// As `open(path, "a")`.
    Append,
    /// A private file the caller made beforehand (a spool made with
    /// `O_EXCL`): truncated, never created, never opened through a link,
    /// and it must be a regular file, so a name swapped for a link or a
    /// FIFO is refused, not followed.
    PrivateWrite,
    /// The same, appended to.
    PrivateAppend,
}

impl FileMode {
    fn open(self, path: &Path) -> std::io::Result<File> {
        let mut options = OpenOptions::new();
        match self {
            FileMode::Write => options.write(true).create(true).truncate(true),
            FileMode::Append => options.append(true).create(true),
            FileMode::PrivateWrite => options.write(true).truncate(true),
            FileMode::PrivateAppend => options.append(true),
        };
        let private = matches!(self, FileMode::PrivateWrite | FileMode::PrivateAppend);
        #[cfg(unix)]
        if private {
            use std::os::unix::fs::OpenOptionsExt;
            // O_NONBLOCK: a FIFO put there fails the open instead of
            // blocking it; a regular file ignores the flag.
            options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
        }
        let file = options.open(path)?;
        if private && !file.metadata()?.is_file() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "not the regular file pikos made (replaced since)",
            ));
        }
        Ok(file)
    }
}

/// Bytes a [`FileOutput`] gathers before it writes them.
const FILE_BUFFER: usize = 1 << 20;

/// A file, written through a 1 MiB buffer of whole writes: every
/// [`Output::write`] is whole rows, and the file only ever grows by whole
/// buffers.  When a write fails (a full disk, a file size limit), the file
/// is cut back to the end of the last buffer written whole, so it ends
/// with a complete row whatever the failure.
///
/// The rows of a batch of events go to the OS as soon as they are encoded
/// ([`Output::batch_written`]): a process that ends without finalizing
/// (`os._exit`, a kill) then loses only the batches the writer had not
/// reached, not also up to 1 MiB of rows encoded before them.  The buffer
/// gathers the small writes: rows recorded from Python, one at a time.
pub struct FileOutput {
    path: String,
    file: File,
    buffer: Vec<u8>,
    /// The file's length after the last write that went through whole.
    length: u64,
    live: bool,
}

impl FileOutput {
    /// Opens `path` as `mode` says (any path the OS takes: not UTF-8
    /// too).  A `live` file is kept current: see [`Output::live`].
    pub fn open(path: &Path, mode: FileMode, live: bool) -> Result<Self> {
        let shown = path.display().to_string();
        let file = mode.open(path).map_err(|e| Error::io(Some(&shown), e))?;
        let length = file.metadata().map(|m| m.len()).unwrap_or(0);
        Ok(FileOutput {
            path: shown,
            file,
            buffer: Vec::with_capacity(FILE_BUFFER),
            length,
            live,
        })
    }

    /// Writes `bytes` out whole, or cuts the file back to where it was.
    fn write_out(&mut self, bytes: &[u8]) -> Result<()> {
        match self.file.write_all(bytes) {
            Ok(()) => {
                self.length += bytes.len() as u64;
                Ok(())
            }
            Err(e) => {
                // Best effort: a pipe or a device has no length to cut.
                if self.file.metadata().is_ok_and(|m| m.is_file()) {
                    let _ = self.file.set_len(self.length);
                }
                Err(Error::io(Some(&self.path), e))
            }
        }
    }
}

impl Output for FileOutput {
    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        if self.buffer.len() + bytes.len() > FILE_BUFFER {
            let buffer = std::mem::take(&mut self.buffer);
            let written = self.write_out(&buffer);
            self.buffer = buffer;
            self.buffer.clear();
            written?;
        }
        if bytes.len() >= FILE_BUFFER {
            return self.write_out(bytes);
        }
        self.buffer.extend_from_slice(bytes);
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        let buffer = std::mem::take(&mut self.buffer);
        let written = self.write_out(&buffer);
        self.buffer = buffer;
        self.buffer.clear();
        written
    }

    fn batch_written(&mut self) -> Result<()> {
        self.flush()
    }

    fn live(&self) -> bool {
        self.live
    }
}

/// Writes a file made by `write` at `path` as Python's `open(path, "w")`
/// would: through a link to its target, into a FIFO (its reader gets the
/// bytes) or a device, never replacing any of them.  Only when `path` is a
/// regular file pikos may replace (absent, or a regular file with one link
/// and, on Unix, owned by this user) is the file written beside it, under
/// a name made with `O_EXCL` (never through a link planted there), with
/// the replaced file's permissions, then renamed onto it when complete.
pub fn write_output(path: &Path, write: impl FnOnce(&mut dyn Write) -> Result<()>) -> Result<()> {
    let target = path.display().to_string();
    let named = |e: Error| match e {
        Error::Io { path: None, source } => Error::io(Some(&target), source),
        e => e,
    };
    let Some(replaced) = replaceable(path) else {
        // In place, as open(path, "w"): truncated and written.
        let file = File::create(path).map_err(|e| Error::io(Some(&target), e))?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        write(&mut out).map_err(named)?;
        return out.flush().map_err(|e| Error::io(Some(&target), e));
    };
    let (partial, file) = create_beside(path).map_err(|e| Error::io(Some(&target), e))?;
    let written = (|| {
        if let Some(permissions) = replaced {
            file.set_permissions(permissions)
                .map_err(|e| Error::io(Some(&target), e))?;
        }
        let mut out = BufWriter::with_capacity(1 << 20, file);
        write(&mut out).map_err(named)?;
        let file = out
            .into_inner()
            .map_err(|e| Error::io(Some(&target), e.into_error()))?;
        file.sync_all().map_err(|e| Error::io(Some(&target), e))?;
        std::fs::rename(&partial, path).map_err(|e| Error::io(Some(&target), e))
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    written
}

/// Whether `path` may be replaced by a rename: `Some(None)` when it does
/// not exist, `Some(permissions)` for a regular file with one link (owned
/// by this user on Unix), None for anything else (a link, a FIFO, a
/// device, a file with other names or another owner: written in place).
fn replaceable(path: &Path) -> Option<Option<std::fs::Permissions>> {
    let metadata = match std::fs::symlink_metadata(path) {
        Ok(metadata) => metadata,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Some(None),
        Err(_) => return None, // the open reports it
    };
    if !metadata.file_type().is_file() {
        return None;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        // SAFETY: geteuid has no preconditions and cannot fail.
        let uid = unsafe { libc::geteuid() };
        if metadata.nlink() != 1 || metadata.uid() != uid {
            return None;
        }
    }
    Some(Some(metadata.permissions()))
}

/// A new file in `path`'s directory, `.NAME.RANDOM.partial`, created with
/// `O_EXCL` (so never through a link put at that name), mode 0666 less the
/// umask as `open` gives.
fn create_beside(path: &Path) -> std::io::Result<(std::path::PathBuf, File)> {
    use std::hash::{BuildHasher, Hasher};
    let name = path.file_name().unwrap_or_default();
    let mut last = None;
    for attempt in 0..64u32 {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u32(std::process::id());
        hasher.write_u32(attempt);
        let mut partial_name = std::ffi::OsString::from(".");
        partial_name.push(name);
        partial_name.push(format!(".{:016x}.partial", hasher.finish()));
        let partial = path.with_file_name(partial_name);
        match File::options().write(true).create_new(true).open(&partial) {
            Ok(file) => return Ok((partial, file)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no free name")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn private_files_are_never_created_or_opened_through_a_link() {
        let dir = std::env::temp_dir().join(format!("pikos-core-private-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let victim = dir.join("victim");
        std::fs::write(&victim, "precious").unwrap();
        let link = dir.join("spool");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        for mode in [FileMode::PrivateWrite, FileMode::PrivateAppend] {
            assert!(FileOutput::open(&link, mode, false).is_err());
            assert!(FileOutput::open(&dir.join("absent"), mode, false).is_err());
        }
        assert!(!dir.join("absent").exists());
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        // The file itself, once there, is opened.
        std::fs::remove_file(&link).unwrap();
        std::fs::write(&link, "old").unwrap();
        let mut out = FileOutput::open(&link, FileMode::PrivateWrite, false).unwrap();
        out.write(b"new").unwrap();
        out.flush().unwrap();
        assert_eq!(std::fs::read_to_string(&link).unwrap(), "new");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_batch_of_rows_reaches_the_os_at_once() {
        let dir = std::env::temp_dir().join(format!("pikos-core-batch-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("batch.csv");
        let on_disk = || std::fs::metadata(&path).unwrap().len();
        let mut file = FileOutput::open(&path, FileMode::Write, false).unwrap();
        file.write(b"0,row\r\n").unwrap();
        assert_eq!(on_disk(), 0, "a small write is gathered");
        file.batch_written().unwrap();
        assert_eq!(on_disk(), 7, "a batch's rows are handed to the OS");
        drop(file);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn outputs_are_written_as_open_w_and_replaced_only_when_ours() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("pikos-core-out-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bytes = |text: &'static str| {
            move |out: &mut dyn Write| {
                out.write_all(text.as_bytes())
                    .map_err(|e| Error::io(None, e))
            }
        };
        // A regular file: replaced whole, keeping its permissions.
        let file = dir.join("out.json");
        std::fs::write(&file, "old").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
        write_output(&file, bytes("new")).unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "new");
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
        // A link: its target is written, the link stays.
        let link = dir.join("link.json");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        write_output(&link, bytes("through")).unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "through");
        // A failed write leaves the old file and no partial file.
        let failing = |_: &mut dyn Write| Err(Error::Input("no".into()));
        assert!(write_output(&file, failing).is_err());
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "through");
        let mut names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["link.json", "out.json"]);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
