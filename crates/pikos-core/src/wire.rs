//! The live stream: records and statistics published over ZeroMQ in the
//! wire format of `docs/wire-format.md` (version [`VERSION`]).
//!
//! Every message has three frames: a topic (`pikos.header`,
//! `pikos.records`, `pikos.stats`, `pikos.lines`, `pikos.end`), an envelope (a JSON object:
//! format version, session id, pid, sequence number, time) and a payload
//! (JSON: an object, or JSON Lines of records).  Nothing in it needs pikos
//! to read: any ZeroMQ SUB socket and a JSON parser will do.
//!
//! ZeroMQ is libzmq (the `zmq` crate, which builds it from source): the
//! same library pyzmq ships, so the two interoperate by construction, and
//! its PUB side drops at the high-water mark instead of blocking.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::encode::JsonEncoder;
use crate::error::{Error, Result};
use crate::output::Output;

/// The wire format's version, in every envelope.
pub const VERSION: u32 = 1;

pub const TOPIC_HEADER: &str = "pikos.header";
pub const TOPIC_RECORDS: &str = "pikos.records";
pub const TOPIC_STATS: &str = "pikos.stats";
/// Running line totals (`LineStatsMonitor`).
pub const TOPIC_LINES: &str = "pikos.lines";
pub const TOPIC_END: &str = "pikos.end";

/// The largest message a publisher takes in.  Its peers only send
/// subscriptions (a flag byte and a topic prefix such as `pikos.`): a peer
/// that sends more is disconnected by ZeroMQ before the message is kept
/// (a 50 MiB subscription used to grow the profiled program by gigabytes).
pub const MAX_SUBSCRIPTION_BYTES: i64 = 1024;

/// The largest message frame a subscriber takes in; a publisher that sends
/// a larger one is disconnected (it reconnects, and the reader counts the
/// lost messages).  A batch of 8192 records is far below it.
pub const MAX_MESSAGE_BYTES: i64 = 16 << 20;

/// A records message closes at the end of the hook's batch (8192 records)
/// or once its payload reaches this many bytes, whichever comes first, so
/// that a batch of long records (a minified source line) stays below
/// [`MAX_MESSAGE_BYTES`] unless one record alone is larger.  A capture read
/// as messages (`pikos.live.read`) is cut the same way.
pub const RECORDS_MESSAGE_BYTES: usize = 8 << 20;

/// `lines` (JSON Lines, each ending in a new line) cut into records
/// messages by [`RECORDS_MESSAGE_BYTES`]: each payload with its number of
/// lines.
pub fn records_messages(lines: &[u8]) -> impl Iterator<Item = (&[u8], usize)> {
    let mut start = 0;
    std::iter::from_fn(move || {
        if start >= lines.len() {
            return None;
        }
        let (mut end, mut rows) = (start, 0);
        while end < lines.len() && end - start < RECORDS_MESSAGE_BYTES {
            match lines[end..].iter().position(|&b| b == b'\n') {
                Some(at) => {
                    end += at + 1;
                    rows += 1;
                }
                // Not a whole line: it goes with the message, uncounted.
                None => end = lines.len(),
            }
        }
        let message = &lines[start..end];
        start = end;
        Some((message, rows))
    })
}

/// Messages a subscriber queues per publisher before ZeroMQ drops: with
/// [`MAX_MESSAGE_BYTES`] this bounds what a flood can make a reader keep.
pub const SUBSCRIBER_HWM: i32 = 100;

/// The live stream's TCP host and port when only one of them is named
/// (`ZeroMQRecorder(zmq_port=...)`), and the default address where Unix
/// sockets are not available (Windows).  Any local user can reach a TCP
/// port: docs/security.md.
pub const TCP_HOST: &str = "127.0.0.1";
pub const TCP_PORT: u16 = 9001;

/// The per-user directory of the default live address:
/// `$XDG_RUNTIME_DIR/pikos`, else `/tmp/pikos-UID`.  Both ends compute it
/// the same way, so `pikos live` finds `pikos-run --live` of the same user.
#[cfg(unix)]
pub fn private_dir() -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from) {
        Some(dir) if dir.is_absolute() => dir.join("pikos"),
        // SAFETY: geteuid cannot fail and touches no memory of ours.
        _ => PathBuf::from(format!("/tmp/pikos-{}", unsafe { libc::geteuid() })),
    }
}

/// Where a recorder publishes and a viewer connects by default: a Unix
/// socket in [`private_dir`], which only this user can reach (the owner of
/// this rule: Python reads it as `pikos.live.DEFAULT_ADDRESS`).
pub fn default_address() -> String {
    #[cfg(unix)]
    {
        format!("ipc://{}/live", private_dir().display())
    }
    #[cfg(not(unix))]
    {
        format!("tcp://{TCP_HOST}:{TCP_PORT}")
    }
}

/// Makes `dir` (mode 0700) if it is missing, then checks that it is a
/// directory, not a symbolic link, owned by this user and closed to
/// everyone else; anything else is refused rather than used or repaired.
#[cfg(unix)]
pub fn ensure_private_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    let shown = dir.display();
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => {
            return Err(Error::Socket(format!(
                "cannot make the live stream's private directory {shown}: {e}"
            )))
        }
    }
    let meta = std::fs::symlink_metadata(dir)
        .map_err(|e| Error::Socket(format!("cannot check {shown}: {e}")))?;
    // SAFETY: geteuid cannot fail and touches no memory of ours.
    let me = unsafe { libc::geteuid() };
    let problem = if meta.file_type().is_symlink() {
        "it is a symbolic link".to_owned()
    } else if !meta.is_dir() {
        "it is not a directory".to_owned()
    } else if meta.uid() != me {
        format!(
            "it belongs to uid {}, not to this user (uid {me})",
            meta.uid()
        )
    } else if meta.mode() & 0o077 != 0 {
        format!("its mode is {:o}, not 700", meta.mode() & 0o7777)
    } else {
        return Ok(());
    };
    Err(Error::Socket(format!(
        "{shown} is not a private directory ({problem}): the live stream's default \
         address is refused there; remove it, or name another address"
    )))
}

/// Before a socket uses an `ipc://` address: the default directory is made
/// private (both ends, so either may start first); a binding end refuses a
/// path another program is listening on (libzmq would silently take it
/// over, where TCP says the address is in use) and a path that is not a
/// socket (libzmq would delete it).
#[cfg(unix)]
fn prepare_ipc(address: &str, bind: bool) -> Result<()> {
    use std::os::unix::fs::FileTypeExt;
    let Some(path) = address.strip_prefix("ipc://") else {
        return Ok(());
    };
    if path.starts_with('@') {
        return Ok(()); // Linux's abstract namespace: no file
    }
    let path = Path::new(path);
    if path.parent() == Some(private_dir().as_path()) {
        ensure_private_dir(&private_dir())?;
    }
    if !bind {
        return Ok(());
    }
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => {
            if std::os::unix::net::UnixStream::connect(path).is_ok() {
                return Err(socket_err(address, "bind", zmq::Error::EADDRINUSE));
            }
            Ok(()) // left by a process that ended: libzmq replaces it
        }
        Ok(_) => Err(Error::Socket(format!(
            "ZeroMQ {address}: cannot bind: {} exists and is not a socket",
            path.display()
        ))),
        Err(_) => Ok(()),
    }
}

#[cfg(not(unix))]
fn prepare_ipc(_address: &str, _bind: bool) -> Result<()> {
    Ok(())
}

/// How often the publisher looks for new subscribers (who get the session
/// header at once) while the program runs.
const TICK: Duration = Duration::from_millis(100);

/// The subscribers' ZeroMQ context, made on first use.  (libzmq's I/O thread
/// starts with it; a fork child must not use it.)
fn context() -> &'static zmq::Context {
    static CONTEXT: OnceLock<zmq::Context> = OnceLock::new();
    CONTEXT.get_or_init(zmq::Context::new)
}

fn socket_err(address: &str, what: &str, err: zmq::Error) -> Error {
    Error::Socket(format!("ZeroMQ {address}: cannot {what}: {err}"))
}

/// `socket_err` for `map_err`.
fn failed<'a>(address: &'a str, what: &'static str) -> impl FnOnce(zmq::Error) -> Error + 'a {
    move |e| socket_err(address, what, e)
}

/// The endpoint a socket bound or connected (with the port chosen for a
/// `*` or 0 port), else `address` as given.
fn endpoint_of(socket: &zmq::Socket, address: &str) -> String {
    socket
        .get_last_endpoint()
        .ok()
        .and_then(|e| e.ok())
        .unwrap_or_else(|| address.to_owned())
}

/// Seconds since the epoch, as a JSON number.
fn unix_time() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// How a publisher reaches its viewers.
#[derive(Clone, Debug)]
pub struct PublisherConfig {
    /// A ZeroMQ endpoint: `tcp://127.0.0.1:9001`, `ipc:///tmp/x`.
    pub address: String,
    /// Connect to a viewer that binds (collector mode) instead of binding.
    pub connect: bool,
    /// Messages queued per subscriber before ZeroMQ drops (send high-water
    /// mark); a records message holds up to one batch.
    pub hwm: i32,
    /// How long closing may wait for queued messages to go out.
    pub linger: Duration,
    /// Wait in [`Publisher::open`] until a subscriber is there, at most
    /// this long.
    pub wait_for_ready: Option<Duration>,
    /// This session's id (unique per process and session).
    pub session: String,
    pub pid: u32,
    /// The session header's payload: a JSON object (pid, host, monitor,
    /// record type, fields, ...), made by the caller.
    pub header: Vec<u8>,
}

/// The publishing side: an XPUB socket (a PUB that also sees
/// subscriptions, so a new viewer gets the header at once and
/// `wait_for_ready` can tell when one is there).
pub struct Publisher {
    // Fields drop in order: the socket closes, then the context ends, which
    // waits (up to `linger`) until what is queued has gone out, so the end
    // marker is not lost when the process exits right after.
    socket: zmq::Socket,
    _context: zmq::Context,
    config: PublisherConfig,
    endpoint: String,
    seq: u64,
    records: u64,
    subscribers: i64,
    started: Instant,
}

impl Publisher {
    pub fn open(config: PublisherConfig) -> Result<Self> {
        let address = config.address.clone();
        let err = |what| failed(&address, what);
        let context = zmq::Context::new();
        let socket = context.socket(zmq::XPUB).map_err(err("make a socket"))?;
        socket.set_sndhwm(config.hwm).map_err(err("set its hwm"))?;
        socket
            .set_linger(i32::try_from(config.linger.as_millis()).unwrap_or(i32::MAX))
            .map_err(err("set its linger"))?;
        // Every subscription reaches us, not only the first of a topic.
        socket
            .set_xpub_verbose(true)
            .map_err(err("set it verbose"))?;
        socket
            .set_maxmsgsize(MAX_SUBSCRIPTION_BYTES)
            .map_err(err("set its largest message"))?;
        prepare_ipc(&address, !config.connect)?;
        if config.connect {
            // Nothing is queued for a collector that is not there yet: a
            // missing viewer costs no memory and closing does not wait.
            socket
                .set_immediate(true)
                .map_err(err("set it immediate"))?;
            socket.connect(&address).map_err(err("connect"))?;
        } else {
            socket.bind(&address).map_err(err("bind"))?;
        }
        let endpoint = endpoint_of(&socket, &address);
        let mut publisher = Publisher {
            socket,
            _context: context,
            config,
            endpoint,
            seq: 0,
            records: 0,
            subscribers: 0,
            started: Instant::now(),
        };
        if let Some(wait) = publisher.config.wait_for_ready {
            publisher.wait_for_subscriber(wait)?;
        }
        publisher.send_header()?;
        Ok(publisher)
    }

    /// The endpoint bound or connected (with the port chosen when the
    /// address asked for port 0 or `*`).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    fn wait_for_subscriber(&mut self, wait: Duration) -> Result<()> {
        let deadline = Instant::now() + wait;
        while self.subscribers <= 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Error::NotReady(format!(
                    "no viewer subscribed to {} within {:.1} s (wait_for_ready)",
                    self.endpoint,
                    wait.as_secs_f64()
                )));
            }
            let ms = left.as_millis().min(100) as i64;
            self.socket
                .poll(zmq::POLLIN, ms)
                .map_err(|e| socket_err(&self.endpoint, "poll", e))?;
            self.read_subscriptions()?;
        }
        Ok(())
    }

    /// Reads the subscription messages waiting on the socket; true when a
    /// new subscriber came.
    fn read_subscriptions(&mut self) -> Result<bool> {
        let mut new = false;
        loop {
            match self.socket.recv_bytes(zmq::DONTWAIT) {
                Ok(message) => match message.first() {
                    Some(1) => {
                        self.subscribers += 1;
                        new = true;
                    }
                    Some(0) => self.subscribers -= 1,
                    _ => {}
                },
                Err(zmq::Error::EAGAIN) => return Ok(new),
                Err(e) => return Err(socket_err(&self.endpoint, "read subscriptions", e)),
            }
        }
    }

    fn envelope(&self, records: Option<usize>) -> Vec<u8> {
        let mut out = Vec::with_capacity(128);
        out.extend_from_slice(format!("{{\"version\":{VERSION},\"session\":").as_bytes());
        JsonEncoder::string(&self.config.session, &mut out);
        out.extend_from_slice(
            format!(
                ",\"pid\":{},\"seq\":{},\"time\":{:.6}",
                self.config.pid,
                self.seq,
                unix_time()
            )
            .as_bytes(),
        );
        if let Some(n) = records {
            out.extend_from_slice(format!(",\"records\":{n}").as_bytes());
        }
        out.push(b'}');
        out
    }

    /// Sends one message; never blocks (a subscriber at its high-water mark
    /// misses it, and sees the gap in `seq`).
    fn send(&mut self, topic: &str, payload: &[u8], records: Option<usize>) -> Result<()> {
        let envelope = self.envelope(records);
        self.seq += 1;
        let frames: [&[u8]; 3] = [topic.as_bytes(), &envelope, payload];
        match self.socket.send_multipart(frames, zmq::DONTWAIT) {
            Ok(()) | Err(zmq::Error::EAGAIN) => Ok(()),
            Err(e) => Err(socket_err(&self.endpoint, "send", e)),
        }
    }

    fn send_header(&mut self) -> Result<()> {
        let header = std::mem::take(&mut self.config.header);
        let sent = self.send(TOPIC_HEADER, &header, None);
        self.config.header = header;
        sent
    }

    /// New subscribers get the header now rather than never.
    fn answer_subscribers(&mut self) -> Result<()> {
        if self.read_subscriptions()? {
            self.send_header()?;
        }
        Ok(())
    }
}

impl Output for Publisher {
    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        self.answer_subscribers()?;
        for (message, rows) in records_messages(bytes) {
            self.records += rows as u64;
            self.send(TOPIC_RECORDS, message, Some(rows))?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        Ok(())
    }

    fn publish(&mut self, topic: &str, payload: &[u8]) -> Result<()> {
        self.answer_subscribers()?;
        self.send(topic, payload, None)
    }

    fn tick_every(&self) -> Option<Duration> {
        Some(TICK)
    }

    fn tick(&mut self) -> Result<()> {
        self.answer_subscribers()
    }

    fn finish(&mut self) -> Result<()> {
        self.answer_subscribers()?;
        let end = format!(
            "{{\"records\":{},\"messages\":{},\"seconds\":{:.6}}}",
            self.records,
            self.seq + 1,
            self.started.elapsed().as_secs_f64()
        );
        self.send(TOPIC_END, end.as_bytes(), None)
    }
}

/// The receiving side: a SUB socket that connects to a publisher or binds
/// for publishers to connect to (collector mode).
pub struct Subscriber {
    socket: zmq::Socket,
    endpoint: String,
}

impl Subscriber {
    /// Subscribes to every topic starting with one of `topics` (all when
    /// empty).
    pub fn open(address: &str, bind: bool, topics: &[&str]) -> Result<Self> {
        let err = |what| failed(address, what);
        let socket = context().socket(zmq::SUB).map_err(err("make a socket"))?;
        socket.set_linger(0).map_err(err("set its linger"))?;
        socket
            .set_rcvhwm(SUBSCRIBER_HWM)
            .map_err(err("set its hwm"))?;
        socket
            .set_maxmsgsize(MAX_MESSAGE_BYTES)
            .map_err(err("set its largest message"))?;
        prepare_ipc(address, bind)?;
        if topics.is_empty() {
            socket.set_subscribe(b"").map_err(err("subscribe"))?;
        }
        for topic in topics {
            socket
                .set_subscribe(topic.as_bytes())
                .map_err(err("subscribe"))?;
        }
        if bind {
            socket.bind(address).map_err(err("bind"))?;
        } else {
            socket.connect(address).map_err(err("connect"))?;
        }
        let endpoint = endpoint_of(&socket, address);
        Ok(Subscriber { socket, endpoint })
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The next message's frames, or None after `timeout` (None: wait as
    /// long as it takes).
    pub fn recv(&self, timeout: Option<Duration>) -> Result<Option<Vec<Vec<u8>>>> {
        let ms = timeout.map_or(-1, |t| i64::try_from(t.as_millis()).unwrap_or(i64::MAX));
        let ready = self
            .socket
            .poll(zmq::POLLIN, ms)
            .map_err(|e| socket_err(&self.endpoint, "poll", e))?;
        if ready == 0 {
            return Ok(None);
        }
        match self.socket.recv_multipart(zmq::DONTWAIT) {
            Ok(frames) => Ok(Some(frames)),
            Err(zmq::Error::EAGAIN) => Ok(None),
            Err(e) => Err(socket_err(&self.endpoint, "receive", e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::JsonEncoder;
    use crate::event::{Event, EventKind, RecordKind};
    use crate::filter::FilterSet;
    use crate::pipeline::Pipeline;
    use crate::tables::{tables, CodeEntry};
    use crate::writer::Writer;

    fn config(address: &str, connect: bool) -> PublisherConfig {
        PublisherConfig {
            address: address.to_owned(),
            connect,
            hwm: 1000,
            linger: Duration::from_secs(2),
            wait_for_ready: Some(Duration::from_secs(10)),
            session: "s1".to_owned(),
            pid: 42,
            header: br#"{"monitor":"functions"}"#.to_vec(),
        }
    }

    fn text(frame: &[u8]) -> &str {
        std::str::from_utf8(frame).unwrap()
    }

    #[test]
    fn long_records_are_cut_into_messages_below_the_frame_limit() {
        let long = format!("[\"{}\"]\n", "x".repeat(100_000));
        let mut lines = long.repeat(200).into_bytes();
        lines.extend_from_slice(b"[1]\n");
        let messages: Vec<(&[u8], usize)> = records_messages(&lines).collect();
        assert_eq!(messages.len(), 3);
        assert_eq!(messages.iter().map(|m| m.1).sum::<usize>(), 201);
        let mut joined = Vec::new();
        for (message, rows) in &messages {
            assert!(message.len() < RECORDS_MESSAGE_BYTES + long.len());
            assert_eq!(message.iter().filter(|&&b| b == b'\n').count(), *rows);
            assert!(message.ends_with(b"\n"));
            joined.extend_from_slice(message);
        }
        assert_eq!(joined, lines);
        // A batch below the size is one message, as it always was.
        let short = b"[1]\n[2]\n";
        assert_eq!(
            records_messages(short).collect::<Vec<_>>(),
            [(&short[..], 2)]
        );
        assert_eq!(records_messages(b"").count(), 0);
    }

    #[test]
    fn records_reach_a_subscriber_with_header_and_end() {
        let (code, function) = {
            let mut t = tables().write().unwrap();
            let code = t.add_code(CodeEntry {
                filename: "w.py".into(),
                first_line: 1,
                lines: None,
            });
            (code, t.add_name("f".into()))
        };
        // Collector mode: the subscriber binds, the publisher connects.  (A
        // SUB socket answers a connection only while its owner uses it, so
        // the publisher runs on a thread while this one receives.)
        let sub = Subscriber::open("tcp://127.0.0.1:*", true, &[]).unwrap();
        let address = sub.endpoint().to_owned();
        let publishing = std::thread::spawn(move || {
            let publisher = Publisher::open(config(&address, true)).unwrap();
            let pipeline = Pipeline::new(
                Some(RecordKind::Function),
                FilterSet::default(),
                Box::new(JsonEncoder),
            );
            let mut writer = Writer::start("test", pipeline, Box::new(publisher)).unwrap();
            for index in 0..3 {
                writer.push(Event {
                    index,
                    rss: 0,
                    vms: 0,
                    time: 0,
                    thread: 0,
                    code,
                    function,
                    lineno: 7,
                    kind: EventKind::Call,
                });
            }
            writer.close().unwrap();
        });
        let mut got = Vec::new();
        while let Some(frames) = sub.recv(Some(Duration::from_secs(5))).unwrap() {
            let topic = text(&frames[0]).to_owned();
            got.push((
                topic.clone(),
                text(&frames[1]).to_owned(),
                frames[2].clone(),
            ));
            if topic == TOPIC_END {
                break;
            }
        }
        publishing.join().unwrap();
        let topics: Vec<&str> = got.iter().map(|g| g.0.as_str()).collect();
        assert_eq!(topics.first(), Some(&TOPIC_HEADER));
        assert_eq!(topics.last(), Some(&TOPIC_END));
        let records: Vec<_> = got.iter().filter(|g| g.0 == TOPIC_RECORDS).collect();
        assert_eq!(records.len(), 1);
        assert_eq!(
            text(&records[0].2),
            "[0,\"call\",\"f\",7,\"w.py\"]\n[1,\"call\",\"f\",7,\"w.py\"]\n[2,\"call\",\"f\",7,\"w.py\"]\n"
        );
        assert!(records[0]
            .1
            .starts_with("{\"version\":1,\"session\":\"s1\",\"pid\":42,"));
        assert!(records[0].1.ends_with(",\"records\":3}"));
        assert!(text(&got.last().unwrap().2).starts_with("{\"records\":3,"));
    }

    #[test]
    fn waiting_for_a_subscriber_times_out_with_a_clear_error() {
        let mut config = config("tcp://127.0.0.1:*", false);
        config.wait_for_ready = Some(Duration::from_millis(200));
        let err = Publisher::open(config).err().unwrap().to_string();
        assert!(
            err.contains("no viewer subscribed to tcp://127.0.0.1:"),
            "{err}"
        );
    }

    /// A fresh directory under the system's temporary one.
    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("pikos-wire-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).unwrap();
        dir
    }

    #[test]
    fn sockets_cap_what_they_take_in() {
        let mut config = config("tcp://127.0.0.1:*", false);
        config.wait_for_ready = None;
        let publisher = Publisher::open(config).unwrap();
        assert_eq!(
            publisher.socket.get_maxmsgsize().unwrap(),
            MAX_SUBSCRIPTION_BYTES
        );
        let sub = Subscriber::open("tcp://127.0.0.1:*", true, &[]).unwrap();
        assert_eq!(sub.socket.get_maxmsgsize().unwrap(), MAX_MESSAGE_BYTES);
        assert_eq!(sub.socket.get_rcvhwm().unwrap(), SUBSCRIBER_HWM);
    }

    #[cfg(unix)]
    #[test]
    fn the_default_address_is_a_socket_in_a_private_directory() {
        let address = default_address();
        let dir = private_dir();
        assert_eq!(address, format!("ipc://{}/live", dir.display()));
        assert!(address.len() < 100, "{address}: too long for a Unix socket");
    }

    #[cfg(unix)]
    #[test]
    fn private_directories_are_made_0700_and_checked() {
        use std::os::unix::fs::PermissionsExt;
        let root = scratch("private");
        let dir = root.join("made");
        ensure_private_dir(&dir).unwrap();
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        ensure_private_dir(&dir).unwrap(); // already there: fine

        let open = root.join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
        let err = ensure_private_dir(&open).unwrap_err().to_string();
        assert!(err.contains("its mode is 755, not 700"), "{err}");

        let link = root.join("link");
        std::os::unix::fs::symlink(&dir, &link).unwrap();
        let err = ensure_private_dir(&link).unwrap_err().to_string();
        assert!(err.contains("it is a symbolic link"), "{err}");

        let file = root.join("file");
        std::fs::write(&file, b"x").unwrap();
        let err = ensure_private_dir(&file).unwrap_err().to_string();
        assert!(err.contains("it is not a directory"), "{err}");
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn an_ipc_address_in_use_or_not_a_socket_is_refused() {
        let root = scratch("ipc");
        let address = format!("ipc://{}/live", root.display());
        let mut first = config(&address, false);
        first.wait_for_ready = None;
        let publisher = Publisher::open(first.clone()).unwrap();
        // libzmq alone would take the path over from the first program.
        let err = Publisher::open(first.clone()).err().unwrap().to_string();
        assert!(
            err.ends_with("cannot bind: Address already in use"),
            "{err}"
        );
        let err = Subscriber::open(&address, true, &[])
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.ends_with("cannot bind: Address already in use"),
            "{err}"
        );
        drop(publisher);
        // Gone with its program: the path is free again.
        drop(Publisher::open(first).unwrap());

        let file = root.join("notes.txt");
        std::fs::write(&file, b"keep me").unwrap();
        let mut config = config(&format!("ipc://{}", file.display()), false);
        config.wait_for_ready = None;
        let err = Publisher::open(config).err().unwrap().to_string();
        assert!(err.ends_with("exists and is not a socket"), "{err}");
        assert_eq!(std::fs::read(&file).unwrap(), b"keep me");
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn bad_addresses_name_the_address() {
        let mut config = config("tcp://no-such-interface-xyz:1", false);
        config.wait_for_ready = None;
        let err = Publisher::open(config).err().unwrap().to_string();
        assert!(
            err.starts_with("ZeroMQ tcp://no-such-interface-xyz:1: cannot bind"),
            "{err}"
        );
    }
}
