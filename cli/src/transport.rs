//! Reaching the server: the TCP connection, TLS (rustls on ring, with the system's roots or a
//! given CA) for `https://`, and the WebSocket handshake at `/socket.io/` with the query the
//! web client sends (`EIO=4`, the WebSocket transport, and the session's routing key).

use std::io::{self, Read, Write};
use std::net::{IpAddr, TcpStream, ToSocketAddrs};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use sharethings_protocol::eio::{self, Transport};
use tungstenite::protocol::WebSocketConfig;
use tungstenite::WebSocket;
use url::Url;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// A write that makes no progress this long means the connection is dead.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest WebSocket message accepted: a chunk is 256 KiB plus a tag; the server's own
/// maxPayload default is 1 MB. Bounds what a hostile server can make us buffer.
const MAX_MESSAGE_BYTES: usize = 1 << 20;

/// Why the server could not be reached; `RateLimited` is an HTTP 429 (HAProxy's limit).
#[derive(Debug)]
pub enum ConnectError {
    Unreachable(String),
    RateLimited,
}

/// Where to connect and how: the parsed server URL and, for `https://`, the TLS settings.
pub struct Endpoint {
    url: Url,
    host: String,
    port: u16,
    tls: Option<Arc<ClientConfig>>,
}

/// Why a server URL cannot be used; a usage error.
#[derive(Debug, PartialEq, Eq)]
pub struct BadUrl(pub String);

impl Endpoint {
    /// Plain `http://` is accepted only for a loopback address unless `allow_http`: on a LAN
    /// it would show the session name and the fingerprint (a passphrase verifier) to anyone.
    pub fn new(server: &str, ca: Option<&Path>, allow_http: bool) -> Result<Endpoint, BadUrl> {
        let url = Url::parse(server).map_err(|e| BadUrl(format!("{server}: {e}")))?;
        let host = url
            .host_str()
            .ok_or_else(|| BadUrl(format!("{server}: no host")))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = url
            .port_or_known_default()
            .ok_or_else(|| BadUrl(format!("{server}: no port")))?;
        let tls = match url.scheme() {
            "https" => Some(tls_config(ca)?),
            "http" if allow_http || is_loopback(&host) => None,
            "http" => {
                return Err(BadUrl(format!(
                    "{server}: plain http is only for loopback addresses; use https:// (or --allow-http)"
                )))
            }
            other => return Err(BadUrl(format!("{server}: unsupported scheme {other}"))),
        };
        Ok(Endpoint {
            url,
            host,
            port,
            tls,
        })
    }

    /// The WebSocket URL of Engine.IO with the session's routing key, relative to the
    /// server URL's path (so a server behind a path prefix works too).
    fn socket_url(&self, route: &str) -> Result<Url, url::ParseError> {
        let mut url = self.url.clone();
        let scheme = if self.tls.is_some() { "wss" } else { "ws" };
        url.set_scheme(scheme)
            .expect("ws and wss are valid schemes");
        let mut url = url.join(eio::PATH.trim_start_matches('/'))?;
        url.set_query(Some(&eio::handshake_query(
            Transport::WebSocket,
            Some(route),
        )));
        Ok(url)
    }

    /// Opens the WebSocket that carries Engine.IO.
    pub fn open(&self, route: &str) -> Result<WebSocket<Stream>, ConnectError> {
        let unreachable = |e: &dyn std::fmt::Display| {
            ConnectError::Unreachable(format!("{}:{}: {e}", self.host, self.port))
        };
        let addrs = (self.host.as_str(), self.port)
            .to_socket_addrs()
            .map_err(|e| unreachable(&e))?;
        let mut last = io::Error::new(io::ErrorKind::NotFound, "no address");
        let tcp = addrs
            .into_iter()
            .find_map(|a| {
                TcpStream::connect_timeout(&a, CONNECT_TIMEOUT)
                    .map_err(|e| last = e)
                    .ok()
            })
            .ok_or_else(|| unreachable(&last))?;
        tcp.set_nodelay(true).map_err(|e| unreachable(&e))?;
        tcp.set_write_timeout(Some(WRITE_TIMEOUT))
            .map_err(|e| unreachable(&e))?;
        // The handshake must not hang on a silent server either.
        tcp.set_read_timeout(Some(CONNECT_TIMEOUT))
            .map_err(|e| unreachable(&e))?;
        let stream = match &self.tls {
            None => Stream::Plain(tcp),
            Some(config) => {
                let name = ServerName::try_from(self.host.clone()).map_err(|e| unreachable(&e))?;
                let conn =
                    ClientConnection::new(config.clone(), name).map_err(|e| unreachable(&e))?;
                Stream::Tls(Box::new(StreamOwned::new(conn, tcp)))
            }
        };
        let ws_url = self.socket_url(route).map_err(|e| unreachable(&e))?;
        let config = WebSocketConfig::default()
            .max_message_size(Some(MAX_MESSAGE_BYTES))
            .max_frame_size(Some(MAX_MESSAGE_BYTES));
        match tungstenite::client::client_with_config(ws_url.as_str(), stream, Some(config)) {
            Ok((ws, _)) => Ok(ws),
            Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Http(res)))
                if res.status() == 429 =>
            {
                Err(ConnectError::RateLimited)
            }
            Err(tungstenite::HandshakeError::Failure(e)) => Err(unreachable(&e)),
            Err(tungstenite::HandshakeError::Interrupted(_)) => {
                Err(unreachable(&"no answer to the WebSocket handshake"))
            }
        }
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// TLS 1.2/1.3 on ring. With `ca`, only that CA is trusted (the local CA a Pi's HAProxy
/// certificate is made with); otherwise the system's roots.
fn tls_config(ca: Option<&Path>) -> Result<Arc<ClientConfig>, BadUrl> {
    let mut roots = RootCertStore::empty();
    match ca {
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(|it| it.collect::<Result<Vec<_>, _>>())
                .map_err(|e| BadUrl(format!("--ca {}: {e}", path.display())))?;
            if certs.is_empty() {
                return Err(BadUrl(format!(
                    "--ca {}: no certificate in it",
                    path.display()
                )));
            }
            for cert in certs {
                roots
                    .add(cert)
                    .map_err(|e| BadUrl(format!("--ca {}: {e}", path.display())))?;
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(found.certs);
            if roots.is_empty() {
                return Err(BadUrl(
                    "no system root certificates found; pass the server's CA with --ca".into(),
                ));
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| BadUrl(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The byte stream under the WebSocket: plain TCP or TLS over TCP.
pub enum Stream {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl Stream {
    pub fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(s) => s.get_ref(),
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_on_loopback() {
        assert!(Endpoint::new("http://127.0.0.1:3001", None, false).is_ok());
        assert!(Endpoint::new("http://localhost:3001/", None, false).is_ok());
        assert!(Endpoint::new("http://[::1]:3001", None, false).is_ok());
        assert!(Endpoint::new("http://192.168.1.2:3001", None, false).is_err());
        assert!(Endpoint::new("http://192.168.1.2:3001", None, true).is_ok());
        assert!(Endpoint::new("ftp://127.0.0.1", None, false).is_err());
        assert!(Endpoint::new("not a url", None, false).is_err());
    }

    #[test]
    fn the_socket_url_carries_the_handshake_query_under_the_servers_path() {
        let url = |server: &str| {
            let endpoint = Endpoint::new(server, None, true).unwrap();
            endpoint.socket_url("a8a841f9d9ff8210").unwrap().to_string()
        };
        let query = "EIO=4&transport=websocket&route=a8a841f9d9ff8210";
        assert_eq!(
            url("http://127.0.0.1:3001"),
            format!("ws://127.0.0.1:3001/socket.io/?{query}")
        );
        assert_eq!(
            url("http://pi.lan/share/?x=1"),
            format!("ws://pi.lan/share/socket.io/?{query}")
        );
    }

    #[test]
    fn a_ca_file_without_certificates_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.pem");
        std::fs::write(&path, "nothing here\n").unwrap();
        let err = Endpoint::new("https://pi.local", Some(&path), false)
            .err()
            .unwrap();
        assert!(err.0.contains("no certificate"), "{err:?}");
    }
}
