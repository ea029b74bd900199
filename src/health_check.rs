//! `sharethings --health-check [--flag value]...`: asks the server running on this host for
//! `GET /health` and exits 0 when it answers 200, 1 otherwise. The container image runs it as
//! its health check: the image holds this binary and nothing else (no shell, curl or wget).
//! The address comes from the same settings as the server's (`HOST`, `PORT` and their
//! flags), with an unspecified host (0.0.0.0, ::) asked on loopback.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::process::ExitCode;
use std::time::Duration;

use sharethings::config::Config;

/// Connect, send and read each within this; a server that takes longer is not healthy.
const TIMEOUT: Duration = Duration::from_secs(5);
/// The status line fits in this; the rest of the answer is not read.
const STATUS_LINE_MAX: usize = 256;

/// Runs the check with the arguments after `--health-check` and the process environment.
pub fn run(args: impl IntoIterator<Item = String>) -> ExitCode {
    let config = match Config::from_sources(args, |name| std::env::var(name).ok()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("sharethings: health check: {e}");
            return ExitCode::from(2);
        }
    };
    match probe(address(&config), TIMEOUT) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sharethings: health check: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Where the server of `config` answers on this host.
fn address(config: &Config) -> SocketAddr {
    let host = match config.host {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        host => host,
    };
    SocketAddr::new(host, config.port)
}

/// `GET /health` over HTTP/1.0 (no `Host`, which the server's name check lets through) and
/// the status of the answer.
fn probe(addr: SocketAddr, timeout: Duration) -> Result<(), String> {
    let mut stream =
        TcpStream::connect_timeout(&addr, timeout).map_err(|e| format!("{addr}: {e}"))?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .and_then(|()| stream.write_all(b"GET /health HTTP/1.0\r\n\r\n"))
        .map_err(|e| format!("{addr}: {e}"))?;
    let mut head = Vec::new();
    stream
        .take(STATUS_LINE_MAX as u64)
        .read_to_end(&mut head)
        .map_err(|e| format!("{addr}: {e}"))?;
    let line = head.split(|&b| b == b'\r').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut fields = line.split(' ');
    match (fields.next(), fields.next()) {
        (Some(version), Some("200")) if version.starts_with("HTTP/1.") => Ok(()),
        _ => Err(format!("{addr} answered {line:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::thread;

    /// A one-shot server on a free loopback port that reads the request and answers `reply`.
    fn answering(reply: &'static [u8]) -> (SocketAddr, thread::JoinHandle<Vec<u8>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut request = vec![0; 64];
            let n = conn.read(&mut request).unwrap();
            request.truncate(n);
            conn.write_all(reply).unwrap();
            request
        });
        (addr, server)
    }

    #[test]
    fn a_200_is_healthy_and_the_request_is_a_plain_get_of_health() {
        let (addr, server) = answering(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}");
        assert_eq!(probe(addr, TIMEOUT), Ok(()));
        assert_eq!(server.join().unwrap(), b"GET /health HTTP/1.0\r\n\r\n");
    }

    #[test]
    fn any_other_status_is_unhealthy() {
        let (addr, server) = answering(b"HTTP/1.1 503 Service Unavailable\r\n\r\n");
        let err = probe(addr, TIMEOUT).unwrap_err();
        assert!(err.contains("503"), "{err}");
        server.join().unwrap();
    }

    #[test]
    fn garbage_and_silence_are_unhealthy() {
        let (addr, server) = answering(b"");
        assert!(probe(addr, TIMEOUT).is_err());
        server.join().unwrap();
        let (addr, server) = answering(b"200 HTTP/1.1\r\n");
        assert!(probe(addr, TIMEOUT).is_err());
        server.join().unwrap();
    }

    #[test]
    fn no_server_is_unhealthy() {
        let addr = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        assert!(probe(addr, TIMEOUT).is_err());
    }

    #[test]
    fn an_unspecified_host_is_asked_on_loopback() {
        let config = |host: &str| {
            Config::from_sources(
                ["--host".into(), host.into(), "--port".into(), "4000".into()],
                |_| None,
            )
            .unwrap()
        };
        assert_eq!(
            address(&config("0.0.0.0")),
            "127.0.0.1:4000".parse().unwrap()
        );
        assert_eq!(address(&config("::")), "[::1]:4000".parse().unwrap());
        assert_eq!(
            address(&config("192.0.2.7")),
            "192.0.2.7:4000".parse().unwrap()
        );
    }
}
