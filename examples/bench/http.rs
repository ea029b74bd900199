//! The `http` figure: plain-HTTP requests per second and MB/s of what a first page load
//! fetches (`index.html`, the JavaScript bundle with and without gzip) and of `/health`, with
//! 1 and 16 keep-alive clients, each asking again as soon as it has read a whole answer.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::cli::Options;
use crate::client::contains;
use crate::process::spawn;
use crate::record::Record;
use crate::target::Target;
use crate::ws::invalid;
use crate::STEP_TIMEOUT;

const CONCURRENCY: [usize; 2] = [1, 16];

/// One keep-alive connection, reconnected when the server closes it.
struct HttpClient {
    addr: SocketAddr,
    stream: Option<TcpStream>,
    buf: Vec<u8>,
}

/// One answer: its status and how many body bytes it had.
struct Answer {
    status: u16,
    body: usize,
}

impl HttpClient {
    fn new(addr: SocketAddr) -> HttpClient {
        HttpClient {
            addr,
            stream: None,
            buf: vec![0; 64 * 1024],
        }
    }

    fn get(&mut self, path: &str, gzip: bool) -> io::Result<Answer> {
        let stream = match &mut self.stream {
            Some(s) => s,
            None => {
                let s = TcpStream::connect_timeout(&self.addr, STEP_TIMEOUT)?;
                s.set_read_timeout(Some(STEP_TIMEOUT))?;
                s.set_nodelay(true)?;
                self.stream.insert(s)
            }
        };
        let encoding = if gzip {
            "Accept-Encoding: gzip\r\n"
        } else {
            ""
        };
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\n{encoding}\r\n",
            self.addr
        );
        stream.write_all(request.as_bytes())?;
        let (answer, keep) = read_answer(stream, &mut self.buf)?;
        if !keep {
            self.stream = None;
        }
        Ok(answer)
    }
}

/// Reads one answer (head, then a `Content-Length` or chunked body, counted and dropped);
/// whether the connection may be used again.
fn read_answer(stream: &mut TcpStream, buf: &mut [u8]) -> io::Result<(Answer, bool)> {
    let mut have = 0;
    let head_end = loop {
        if let Some(at) = buf[..have].windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        if have == buf.len() {
            return Err(invalid("response head too large"));
        }
        match stream.read(&mut buf[have..])? {
            0 => return Err(io::ErrorKind::UnexpectedEof.into()),
            n => have += n,
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| invalid("no status"))?;
    let header = |name: &str| {
        head.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_string())
    };
    let keep = header("connection:").is_none_or(|v| v != "close");
    let leftover = buf[head_end..have].to_vec();
    let body = if header("transfer-encoding:").is_some_and(|v| v.contains("chunked")) {
        read_chunked(stream, leftover, buf)?
    } else {
        let len: usize = header("content-length:")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut left = len.saturating_sub(leftover.len());
        while left > 0 {
            let want = left.min(buf.len());
            match stream.read(&mut buf[..want])? {
                0 => return Err(io::ErrorKind::UnexpectedEof.into()),
                n => left -= n,
            }
        }
        len
    };
    Ok((Answer { status, body }, keep))
}

/// A chunked body's length; `pending` is what was read past the head.
fn read_chunked(stream: &mut TcpStream, mut pending: Vec<u8>, buf: &mut [u8]) -> io::Result<usize> {
    let mut total = 0;
    loop {
        // The size line.
        let line_end = loop {
            if let Some(at) = pending.windows(2).position(|w| w == b"\r\n") {
                break at;
            }
            match stream.read(buf)? {
                0 => return Err(io::ErrorKind::UnexpectedEof.into()),
                n => pending.extend_from_slice(&buf[..n]),
            }
        };
        let line = String::from_utf8_lossy(&pending[..line_end]).to_string();
        let size = usize::from_str_radix(line.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| invalid("bad chunk size"))?;
        pending.drain(..line_end + 2);
        // The chunk and its CRLF (the last chunk has no data, then an empty trailer line).
        let mut left = size + 2;
        let taken = left.min(pending.len());
        pending.drain(..taken);
        left -= taken;
        while left > 0 {
            let want = left.min(buf.len());
            match stream.read(&mut buf[..want])? {
                0 => return Err(io::ErrorKind::UnexpectedEof.into()),
                n => left -= n,
            }
        }
        if size == 0 {
            return Ok(total);
        }
        total += size;
    }
}

/// What a page load asks for: a label, the path, and whether it accepts gzip.
fn cases(bundle: Option<String>) -> Vec<(&'static str, String, bool)> {
    let mut cases = vec![("index.html", "/".to_string(), false)];
    if let Some(bundle) = bundle {
        cases.push(("bundle, gzip", bundle.clone(), true));
        cases.push(("bundle, identity", bundle, false));
    }
    cases.push(("/health", "/health".to_string(), false));
    cases
}

/// The script `index.html` loads (`src="/assets/….js"`).
fn bundle_path(index: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(index);
    let at = text.find("src=\"/assets/")? + 5;
    let end = at + text[at..].find('"')?;
    text[at..end]
        .ends_with(".js")
        .then(|| text[at..end].to_string())
}

pub fn http(o: &Options, target: &Target, record: &mut Record) -> Result<(), String> {
    let addr = target.addr;
    let index = index_html(addr).map_err(|e| format!("GET /: {e}"))?;
    let bundle = index.as_deref().and_then(bundle_path);
    let length = Duration::from_secs_f64(o.http_seconds);
    for (label, path, gzip) in cases(bundle) {
        let first = HttpClient::new(addr)
            .get(&path, gzip)
            .map_err(|e| format!("GET {path}: {e}"))?;
        if first.status != 200 {
            println!("http {label}: not served (status {})", first.status);
            continue;
        }
        for clients in CONCURRENCY {
            let run = load(addr, &path, gzip, clients, length)?;
            let secs = run.wall.as_secs_f64();
            let rps = run.requests as f64 / secs;
            let mb_s = run.bytes as f64 / secs / 1e6;
            println!(
                "http {label} ({path}, {} bytes), {clients} keep-alive client{}: {rps:.0} requests/s, \
                 {mb_s:.1} MB/s (each: median {:.2} ms, max {:.2} ms; {} requests in {secs:.2} s)",
                first.body,
                if clients == 1 { "" } else { "s" },
                ms(run.median),
                ms(run.max),
                run.requests,
            );
            let name = format!(
                "http {label}, {clients} client{}",
                if clients == 1 { "" } else { "s" }
            );
            record.higher(format!("{name}: requests/s"), rps, "req/s");
            if label.starts_with("bundle") {
                record.higher(format!("{name}: MB/s"), mb_s, "MB/s");
            }
        }
    }
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// `index.html`'s body, or `None` when the server does not serve it (a peer relay).
fn index_html(addr: SocketAddr) -> io::Result<Option<Vec<u8>>> {
    let mut s = TcpStream::connect_timeout(&addr, STEP_TIMEOUT)?;
    s.set_read_timeout(Some(STEP_TIMEOUT))?;
    s.write_all(format!("GET / HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes())?;
    let mut all = Vec::new();
    s.read_to_end(&mut all)?;
    let ok = all.starts_with(b"HTTP/1.1 200") && contains(&all, b"<script");
    Ok(ok.then_some(all))
}

struct Load {
    requests: usize,
    bytes: usize,
    wall: Duration,
    median: Duration,
    max: Duration,
}

/// `clients` threads ask for `path` again and again for `length` (each finishes the answer
/// it is reading, so a slow answer is counted whole).
fn load(
    addr: SocketAddr,
    path: &str,
    gzip: bool,
    clients: usize,
    length: Duration,
) -> Result<Load, String> {
    let start = Instant::now();
    let until = start + length;
    let threads = (0..clients)
        .map(|i| {
            let path = path.to_string();
            spawn(
                &format!("http-{i}"),
                move || -> io::Result<(usize, Vec<Duration>)> {
                    let mut client = HttpClient::new(addr);
                    let (mut bytes, mut times) = (0, Vec::new());
                    while times.is_empty() || Instant::now() < until {
                        let asked = Instant::now();
                        let answer = client.get(&path, gzip)?;
                        if answer.status != 200 {
                            return Err(invalid(&format!("status {}", answer.status)));
                        }
                        times.push(asked.elapsed());
                        bytes += answer.body;
                    }
                    Ok((bytes, times))
                },
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    let (mut bytes, mut times) = (0, Vec::new());
    for t in threads {
        let (b, mut d) = t
            .join()
            .map_err(|_| "an HTTP client panicked".to_string())?
            .map_err(|e| format!("GET {path}: {e}"))?;
        bytes += b;
        times.append(&mut d);
    }
    let wall = start.elapsed();
    times.sort_unstable();
    Ok(Load {
        requests: times.len(),
        bytes,
        wall,
        median: times[times.len() / 2],
        max: times[times.len() - 1],
    })
}
