//! A small, real SMTP server for the mail tests: tokio, loopback only, one
//! task per connection, every read bounded by a timeout. It speaks enough of
//! RFC 5321 for lettre (220 greeting, EHLO/HELO, MAIL FROM, RCPT TO, DATA
//! with dot-unstuffing, RSET, NOOP, QUIT), never offers STARTTLS or AUTH,
//! and records each accepted message. Tests can make chosen recipients fail
//! permanently (`550` at RCPT) or transiently (`451` at RCPT), make every
//! MAIL FROM fail transiently (`451`), and stop listening (which also closes
//! open connections) and listen again on the same port.

use std::collections::HashSet;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How long a connection may stay silent before it is closed with a 421.
const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest command or data line accepted (RFC 5321 allows 1000 octets).
const MAX_LINE: u64 = 4096;
/// Largest message accepted.
const MAX_MESSAGE: usize = 10 << 20;

/// One message the server accepted.
#[derive(Debug, Clone)]
pub struct Received {
    /// Envelope sender (MAIL FROM), without angle brackets.
    pub from: String,
    /// Envelope recipients (accepted RCPT TO), without angle brackets.
    pub to: Vec<String>,
    /// The message as transmitted, dot-unstuffed, CRLF line ends.
    pub data: String,
}

/// What the server saw and how it is told to behave.
#[derive(Debug, Default)]
struct State {
    messages: Vec<Received>,
    /// Lowercased addresses answered `550` at RCPT.
    reject: HashSet<String>,
    /// Lowercased addresses answered `451` at RCPT.
    defer: HashSet<String>,
    /// Every MAIL FROM is answered `451`.
    tempfail: bool,
    connections: usize,
    ehlos: usize,
    mail_commands: usize,
    /// Every RCPT TO address, accepted or not, in order.
    rcpt_commands: Vec<String>,
}

/// A running test SMTP server on 127.0.0.1.
pub struct SmtpServer {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: watch::Sender<bool>,
    accept: Option<JoinHandle<()>>,
}

impl SmtpServer {
    /// Starts a server on a free loopback port.
    pub async fn start() -> SmtpServer {
        Self::start_on(0).await
    }

    /// Starts a server on `port` of 127.0.0.1 (0: any free port), retrying
    /// the bind for a few seconds if the port is still held.
    pub async fn start_on(port: u16) -> SmtpServer {
        Self::serve(bind(port).await, Arc::new(Mutex::new(State::default())))
    }

    /// Listens again on the same port after [`SmtpServer::stop`], keeping
    /// what was recorded and the configured behaviour.
    pub async fn restart(&mut self) {
        assert!(
            self.accept.is_none(),
            "stop the server before restarting it"
        );
        let listener = bind(self.addr.port()).await;
        *self = Self::serve(listener, self.state.clone());
    }

    fn serve(listener: TcpListener, state: Arc<Mutex<State>>) -> SmtpServer {
        let addr = listener.local_addr().expect("local address");
        let (stop, mut stop_accept) = watch::channel(false);
        let stop_connections = stop.subscribe();
        let accept_state = state.clone();
        let accept = tokio::spawn(async move {
            loop {
                tokio::select! {
                    accepted = listener.accept() => match accepted {
                        Ok((stream, _peer)) => {
                            lock(&accept_state).connections += 1;
                            tokio::spawn(connection(
                                stream,
                                accept_state.clone(),
                                stop_connections.clone(),
                            ));
                        }
                        Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
                    },
                    () = stopped(&mut stop_accept) => break,
                }
            }
        });
        SmtpServer {
            addr,
            state,
            stop,
            accept: Some(accept),
        }
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Every accepted message so far, in order.
    pub fn messages(&self) -> Vec<Received> {
        lock(&self.state).messages.clone()
    }

    /// Accepted messages whose envelope names `recipient`.
    pub fn messages_to(&self, recipient: &str) -> Vec<Received> {
        self.messages()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(recipient)))
            .collect()
    }

    /// From now on, answer `550 5.1.1 no such user` to RCPT TO `address`.
    pub fn reject(&self, address: &str) {
        lock(&self.state)
            .reject
            .insert(address.to_ascii_lowercase());
    }

    /// Answer `451 4.2.1` to RCPT TO `address` (on) or stop doing so.
    pub fn set_defer(&self, address: &str, on: bool) {
        let mut s = lock(&self.state);
        if on {
            s.defer.insert(address.to_ascii_lowercase());
        } else {
            s.defer.remove(&address.to_ascii_lowercase());
        }
    }

    /// Turns the `451 4.3.0 try again later` answer to MAIL FROM on or off.
    pub fn set_tempfail(&self, on: bool) {
        lock(&self.state).tempfail = on;
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        lock(&self.state).connections
    }

    /// EHLO commands received so far.
    pub fn ehlos(&self) -> usize {
        lock(&self.state).ehlos
    }

    /// MAIL FROM commands received so far (accepted or not).
    pub fn mail_commands(&self) -> usize {
        lock(&self.state).mail_commands
    }

    /// RCPT TO commands naming `address` received so far (accepted or not).
    pub fn rcpt_commands(&self, address: &str) -> usize {
        lock(&self.state)
            .rcpt_commands
            .iter()
            .filter(|a| a.eq_ignore_ascii_case(address))
            .count()
    }

    /// Stops listening and closes every open connection. Returns once the
    /// listening socket is closed.
    pub async fn stop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(accept) = self.accept.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), accept).await;
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(accept) = self.accept.take() {
            accept.abort();
        }
    }
}

/// Binds 127.0.0.1:`port`, retrying for a few seconds while it is held.
async fn bind(port: u16) -> TcpListener {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match TcpListener::bind(("127.0.0.1", port)).await {
            Ok(listener) => return listener,
            Err(e) => {
                assert!(
                    Instant::now() < deadline,
                    "test SMTP server cannot bind 127.0.0.1:{port}: {e}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// Resolves once the server is told to stop (or is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopped| *stopped).await;
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Serves one connection until QUIT, EOF, an error, a read timeout or stop.
async fn connection(stream: TcpStream, state: Arc<Mutex<State>>, mut stop: watch::Receiver<bool>) {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let outcome = tokio::select! {
        outcome = session(&mut reader, &mut write, &state) => outcome,
        () = stopped(&mut stop) => Ok(()),
    };
    if let Err(e) = outcome {
        if e.kind() == io::ErrorKind::TimedOut {
            let _ = write
                .write_all(b"421 4.4.2 idle too long, closing\r\n")
                .await;
        }
    }
    let _ = write.shutdown().await;
}

async fn reply(write: &mut OwnedWriteHalf, lines: &[&str]) -> io::Result<()> {
    let mut out = String::new();
    for line in lines {
        out.push_str(line);
        out.push_str("\r\n");
    }
    write.write_all(out.as_bytes()).await?;
    write.flush().await
}

/// One line without its CRLF; `None` at end of stream.
async fn read_line(reader: &mut BufReader<OwnedReadHalf>) -> io::Result<Option<Vec<u8>>> {
    let mut buf = Vec::new();
    let n = tokio::time::timeout(
        READ_TIMEOUT,
        (&mut *reader).take(MAX_LINE).read_until(b'\n', &mut buf),
    )
    .await
    .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "read timeout"))??;
    if n == 0 {
        return Ok(None);
    }
    if buf.last() != Some(&b'\n') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "line too long or cut short",
        ));
    }
    buf.pop();
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    Ok(Some(buf))
}

/// `<a@b> SIZE=12` -> `a@b`.
fn path(argument: &str) -> String {
    let argument = argument.trim();
    match argument.strip_prefix('<') {
        Some(rest) => rest.split('>').next().unwrap_or_default().to_string(),
        None => argument
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string(),
    }
}

async fn session(
    reader: &mut BufReader<OwnedReadHalf>,
    write: &mut OwnedWriteHalf,
    state: &Mutex<State>,
) -> io::Result<()> {
    reply(write, &["220 localhost ESMTP credd test server"]).await?;
    let mut from: Option<String> = None;
    let mut to: Vec<String> = Vec::new();
    loop {
        let Some(raw) = read_line(reader).await? else {
            return Ok(());
        };
        let line = String::from_utf8_lossy(&raw).into_owned();
        let upper = line.to_ascii_uppercase();
        let verb = upper.split_whitespace().next().unwrap_or_default();
        match verb {
            "EHLO" => {
                lock(state).ehlos += 1;
                from = None;
                to.clear();
                reply(
                    write,
                    &[
                        "250-localhost greets you",
                        "250-8BITMIME",
                        "250-SIZE 10485760",
                        "250 HELP",
                    ],
                )
                .await?;
            }
            "HELO" => {
                from = None;
                to.clear();
                reply(write, &["250 localhost"]).await?;
            }
            "MAIL" => {
                let Some(argument) = upper.strip_prefix("MAIL FROM:").map(|_| &line[10..]) else {
                    reply(write, &["501 5.5.4 syntax: MAIL FROM:<address>"]).await?;
                    continue;
                };
                let tempfail = {
                    let mut s = lock(state);
                    s.mail_commands += 1;
                    s.tempfail
                };
                if tempfail {
                    reply(write, &["451 4.3.0 try again later"]).await?;
                    continue;
                }
                from = Some(path(argument));
                to.clear();
                reply(write, &["250 2.1.0 sender ok"]).await?;
            }
            "RCPT" => {
                let Some(argument) = upper.strip_prefix("RCPT TO:").map(|_| &line[8..]) else {
                    reply(write, &["501 5.5.4 syntax: RCPT TO:<address>"]).await?;
                    continue;
                };
                if from.is_none() {
                    reply(write, &["503 5.5.1 MAIL first"]).await?;
                    continue;
                }
                let address = path(argument);
                let (rejected, deferred) = {
                    let mut s = lock(state);
                    s.rcpt_commands.push(address.clone());
                    let lower = address.to_ascii_lowercase();
                    (s.reject.contains(&lower), s.defer.contains(&lower))
                };
                if deferred {
                    reply(write, &["451 4.2.1 mailbox busy, try again later"]).await?;
                } else if rejected {
                    reply(write, &["550 5.1.1 no such user"]).await?;
                } else {
                    to.push(address);
                    reply(write, &["250 2.1.5 recipient ok"]).await?;
                }
            }
            "DATA" => {
                if from.is_none() || to.is_empty() {
                    reply(write, &["503 5.5.1 MAIL and RCPT first"]).await?;
                    continue;
                }
                reply(write, &["354 end data with <CR><LF>.<CR><LF>"]).await?;
                let mut data: Vec<u8> = Vec::new();
                let mut too_big = false;
                loop {
                    let Some(mut line) = read_line(reader).await? else {
                        return Ok(());
                    };
                    if line == b"." {
                        break;
                    }
                    if line.first() == Some(&b'.') {
                        line.remove(0);
                    }
                    if data.len() + line.len() + 2 > MAX_MESSAGE {
                        too_big = true;
                        continue;
                    }
                    data.extend_from_slice(&line);
                    data.extend_from_slice(b"\r\n");
                }
                if too_big {
                    reply(write, &["552 5.3.4 message too big"]).await?;
                } else {
                    lock(state).messages.push(Received {
                        from: from.take().unwrap_or_default(),
                        to: std::mem::take(&mut to),
                        data: String::from_utf8_lossy(&data).into_owned(),
                    });
                    reply(write, &["250 2.0.0 queued"]).await?;
                }
                from = None;
                to.clear();
            }
            "RSET" => {
                from = None;
                to.clear();
                reply(write, &["250 2.0.0 ok"]).await?;
            }
            "NOOP" => reply(write, &["250 2.0.0 ok"]).await?,
            "QUIT" => {
                reply(write, &["221 2.0.0 bye"]).await?;
                return Ok(());
            }
            "" => reply(write, &["500 5.5.2 empty command"]).await?,
            _ => reply(write, &["502 5.5.2 command not implemented"]).await?,
        }
    }
}
