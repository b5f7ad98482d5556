//! The one error type of the core; `pikos-python` maps it to Python exceptions.

use std::fmt;
use std::io;

#[derive(Debug)]
pub enum Error {
    /// Reading or writing a file failed; `path` names it when known.
    Io {
        path: Option<String>,
        source: io::Error,
    },
    /// A value cannot be written in the chosen format (for example a CSV
    /// field that needs escaping with no escape character set).
    Encode(String),
    /// A template or filter that the core cannot evaluate.
    Unsupported(String),
    /// A sink used out of order (record before prepare, after finalize).
    State(String),
    /// A ZeroMQ socket could not be made, bound, connected or written.
    Socket(String),
    /// No subscriber came within the time a publisher was told to wait.
    NotReady(String),
    /// An input file's content is not what it should be (named, with the
    /// line when known).
    Input(String),
}

pub type Result<T> = std::result::Result<T, Error>;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io {
                path: Some(path),
                source,
            } => write!(f, "{path}: {source}"),
            Error::Io { path: None, source } => write!(f, "{source}"),
            Error::Encode(msg)
            | Error::Unsupported(msg)
            | Error::State(msg)
            | Error::Socket(msg)
            | Error::NotReady(msg)
            | Error::Input(msg) => f.write_str(msg),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl Error {
    pub fn io(path: Option<&str>, source: io::Error) -> Self {
        Error::Io {
            path: path.map(str::to_owned),
            source,
        }
    }
}
