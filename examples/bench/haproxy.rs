//! HAProxy for `--haproxy`: where it is installed, the configuration derived from
//! `haproxy/haproxy.cfg`, and the running proxy.
//!
//! The substitutions are the same as those of the deploy tests' `tests/deploy/lib.mjs`
//! (which the bench cannot share, being Rust); a change of `haproxy.cfg`'s shape must be
//! followed in both.

use std::fs;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::process::{Owned, TempDir};
use crate::STEP_TIMEOUT;

/// Where Debian puts HAProxy (`/usr/sbin`, which a non-login PATH may lack), else PATH.
pub fn find_haproxy() -> Option<String> {
    let installed = ["/usr/sbin/haproxy", "/usr/local/sbin/haproxy"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists());
    if let Some(path) = installed {
        return Some(path.to_string());
    }
    let on_path = Command::new("haproxy")
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    on_path.then(|| "haproxy".to_string())
}

/// What the derived configuration changes in `haproxy/haproxy.cfg`.
pub struct Derive<'a> {
    /// The redirecting HTTP frontend's port (unused by the bench, but it must bind).
    pub http_port: u16,
    /// The HTTPS frontend's port, served in plain HTTP.
    pub port: u16,
    pub admin_socket: &'a str,
    pub server_ports: &'a [u16],
    /// Per-address connection limits are raised to this: every bench client comes from
    /// 127.0.0.1, where on a LAN each device has its own address.
    pub per_address: usize,
    /// `maxconn` lines below this are raised to it.
    pub maxconn: usize,
}

/// Replaces the number after each `needle` in `line`; how many were replaced.
pub fn raise_after(line: &mut String, needle: &str, value: usize) -> usize {
    let mut count = 0;
    let mut from = 0;
    while let Some(at) = line.get(from..).and_then(|rest| rest.find(needle)) {
        let digits_at = from + at + needle.len();
        let digits = line.get(digits_at..).map_or(0, |rest| {
            rest.bytes().take_while(u8::is_ascii_digit).count()
        });
        if digits == 0 {
            from = digits_at;
            continue;
        }
        line.replace_range(digits_at..digits_at + digits, &value.to_string());
        count += 1;
        from = digits_at;
    }
    count
}

/// The repository's `haproxy/haproxy.cfg` with, and only with: loopback ports; the HTTPS
/// frontend served as plain HTTP (the bench speaks ws://; everything else in that frontend
/// stays); the given `server` lines; the admin socket in a private directory; logs on
/// stderr; no daemon/chroot/user/group; no route serving the local CA's certificate (a file
/// only an installed box has, and nothing the bench measures); the per-address limits and `maxconn` raised as far
/// as the run needs. Like tests/deploy/lib.mjs, it refuses a file whose lines no longer
/// have the shape it substitutes. Balancing, hashing and checks are the file's own.
pub fn derive_config(base: &str, d: &Derive) -> Result<String, String> {
    let mut out = String::new();
    let mut seen = [0usize; 8];
    let [http, https, dropped, stats, log, servers, limits, ca_routes] = &mut seen;
    for line in base.lines() {
        let text = line.trim_start();
        let indent = &line[..line.len() - text.len()];
        let uncommented = text.trim_start_matches('#').trim_start();
        let is_server = uncommented.starts_with("server s")
            && uncommented.contains(" 127.0.0.1:")
            && uncommented.ends_with(" check");
        let mut line = line.to_string();
        if text == "bind :80" {
            *http += 1;
            line = format!("{indent}bind 127.0.0.1:{}", d.http_port);
        } else if text.starts_with("bind :443 ssl crt ") {
            *https += 1;
            line = format!("{indent}bind 127.0.0.1:{}", d.port);
        } else if ["chroot ", "user ", "group "]
            .iter()
            .any(|k| text.starts_with(k))
            || text == "daemon"
        {
            *dropped += 1;
            continue;
        } else if text.starts_with("http-request return ") && text.contains(" file ") {
            *ca_routes += 1;
            continue;
        } else if let Some(rest) = text.strip_prefix("stats socket ") {
            *stats += 1;
            let options = rest.split_once(' ').map_or("", |(_, o)| o);
            line = format!("{indent}stats socket {} {options}", d.admin_socket);
        } else if text == "log /dev/log local0" {
            *log += 1;
            line = format!("{indent}log stderr format short local0");
        } else if is_server {
            // Every `server sNNNN 127.0.0.1:NNNN check` line, commented or not, becomes the
            // list of started processes, at the place of the first.
            *servers += 1;
            if *servers == 1 {
                for port in d.server_ports {
                    out.push_str(&format!("{indent}server s{port} 127.0.0.1:{port} check\n"));
                }
            }
            continue;
        } else {
            for needle in [
                "sc0_conn_cur(per_address) gt ",
                "sc0_conn_rate(per_address) gt ",
                "sc0_http_req_rate(per_address) gt ",
            ] {
                *limits += raise_after(&mut line, needle, d.per_address);
            }
            if let Some(n) = text.strip_prefix("maxconn ") {
                if n.trim().parse::<usize>().is_ok_and(|n| n < d.maxconn) {
                    line = format!("{indent}maxconn {}", d.maxconn);
                }
            }
        }
        out.push_str(&line);
        out.push('\n');
    }
    let expected = [
        (seen[0] == 1, "one `bind :80`"),
        (seen[1] == 1, "one `bind :443 ssl crt ...`"),
        (seen[2] == 4, "`chroot`, `user`, `group` and `daemon`"),
        (seen[3] == 1, "one `stats socket`"),
        (seen[4] == 1, "one `log /dev/log local0`"),
        (seen[5] >= 1, "`server sNNNN 127.0.0.1:NNNN check` lines"),
        (seen[6] >= 1, "per-address limits"),
        (
            seen[7] == 2,
            "two `http-request return ... file` routes (the CA certificate)",
        ),
    ];
    for (ok, what) in expected {
        if !ok {
            return Err(format!(
                "haproxy/haproxy.cfg changed shape: expected {what} (the bench derives its config from it)"
            ));
        }
    }
    Ok(out)
}

/// HAProxy in the foreground, killed when dropped.
pub struct Proxy {
    pub child: Owned,
    pub addr: SocketAddr,
}

impl Proxy {
    /// Checks `config`, starts HAProxy with it and waits until `port` accepts connections.
    pub fn start(haproxy: &str, config: &str, dir: &TempDir, port: u16) -> Result<Proxy, String> {
        let file = dir.0.join(format!("haproxy-{port}.cfg"));
        fs::write(&file, config).map_err(|e| format!("cannot write {}: {e}", file.display()))?;
        let check = Command::new(haproxy)
            .args(["-c", "-q", "-f"])
            .arg(&file)
            .output()
            .map_err(|e| format!("cannot run {haproxy}: {e}"))?;
        if !check.status.success() {
            return Err(format!(
                "haproxy -c refused the derived config:\n{}{}",
                String::from_utf8_lossy(&check.stdout),
                String::from_utf8_lossy(&check.stderr)
            ));
        }
        let mut child = Owned::new(
            Command::new(haproxy)
                .arg("-db")
                .arg("-f")
                .arg(&file)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .map_err(|e| format!("cannot start {haproxy}: {e}"))?,
        );
        // Drains HAProxy's log (one line per request with `option httplog`) so it never
        // blocks, passing on only its own warnings and alerts.
        if let Some(stderr) = child.0.stderr.take() {
            thread::spawn(move || {
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { return };
                    if line.contains("[ALERT]") || line.contains("[WARNING]") {
                        eprintln!("haproxy: {line}");
                    }
                }
            });
        }
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + STEP_TIMEOUT;
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            if !child.running() || Instant::now() > deadline {
                return Err(format!("haproxy did not start listening on {addr}"));
            }
            thread::sleep(Duration::from_millis(20));
        }
        Ok(Proxy { child, addr })
    }
}

/// HAProxy's view of the servers of backend `sharethings` (`show stat` on the admin socket):
/// how many are UP.
pub fn servers_up(admin_socket: &std::path::Path) -> usize {
    let read = || -> io::Result<String> {
        let mut s = std::os::unix::net::UnixStream::connect(admin_socket)?;
        s.set_read_timeout(Some(STEP_TIMEOUT))?;
        s.write_all(b"show stat\n")?;
        let mut text = String::new();
        s.read_to_string(&mut text)?;
        Ok(text)
    };
    read().map_or(0, |text| {
        text.lines()
            .map(|l| l.split(',').collect::<Vec<_>>())
            .filter(|f| f.first() == Some(&"sharethings") && f.get(17) == Some(&"UP"))
            .filter(|f| f.get(1).is_some_and(|name| name.starts_with('s')))
            .count()
    })
}
