//! Where encoded bytes go: the [`Output`] trait (a file, or the live
//! stream's `crate::wire::Publisher`); [`FileOutput`], a record file opened
//! as its [`FileMode`] says (private spool files too).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use crate::error::{Error, Result};

/// Where a [`ThreadSink`](crate::writer::ThreadSink)'s writer puts the
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
}
