//! A rebound DNS name (a foreign `Host`) against the server, and the real `haproxy.cfg` in
//! front of it: the configured name works, `Host` reaches the server unchanged, and a forged
//! `X-Forwarded-For` never does.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use super::*;

/// A request a page on a rebound name sends: its own origin, so `Origin` and `Host` agree.
fn rebound(target: &str, upgrade: bool) -> String {
    let upgrade = if upgrade {
        "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    } else {
        ""
    };
    format!("GET {target} HTTP/1.1\r\nHost: evil.example\r\nOrigin: http://evil.example\r\n{upgrade}\r\n")
}

#[test]
#[ignore = "attack suite: tests/attack/run.sh"]
fn row_l7_requests_for_a_rebound_dns_name_are_421_on_every_route() {
    let mut server = Server::start(&[]);
    under_attack(&mut server, |addr, in_effect| {
        let requests = [
            rebound("/", false),
            rebound("/health", false),
            rebound("/socket.io/?EIO=4&transport=polling", false),
            rebound("/socket.io/?EIO=4&transport=websocket", true),
        ];
        let mut misdirected = 0;
        for n in 0..400 {
            in_effect.now();
            let mut conn = attacker_stream(addr).expect("attacker connects");
            let _ = conn.write_all(requests[n % requests.len()].as_bytes());
            let (answer, closed) = read_to_close(&mut conn, STEP);
            if closed && answer.starts_with(b"HTTP/1.1 421 Misdirected Request") {
                misdirected += 1;
            }
        }
        assert_eq!(
            misdirected, 400,
            "every request for evil.example is 421 and closed"
        );
    });
}

/// A port free on 127.0.0.1 now (the OS picks it).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The repository's `haproxy/haproxy.cfg` with the substitutions tests/deploy makes: loopback
/// ports, the test certificate and CA, no chroot/user/daemon, log to stderr, one server.
fn derive_haproxy_config(dir: &Path, http: u16, https: u16, server: u16) -> String {
    let original = include_str!("../../../haproxy/haproxy.cfg");
    let pem = dir.join("sharethings.pem");
    let ca = dir.join("sharethings-ca.crt");
    let mut out = String::new();
    let mut servers = 0;
    for line in original.lines() {
        let trimmed = line.trim_start();
        let word = trimmed.split_whitespace().next().unwrap_or("");
        let replaced = if trimmed == "bind :80" {
            format!("    bind 127.0.0.1:{http}")
        } else if trimmed.starts_with("bind :443 ssl crt ") {
            let rest = trimmed
                .split_whitespace()
                .skip(5)
                .collect::<Vec<_>>()
                .join(" ");
            format!(
                "    bind 127.0.0.1:{https} ssl crt {} {rest}",
                pem.display()
            )
        } else if ["chroot", "user", "group", "daemon"].contains(&word) {
            continue;
        } else if trimmed.starts_with("stats socket ") {
            format!("    stats socket {}", dir.join("admin.sock").display())
        } else if trimmed == "log /dev/log local0" {
            "    log stderr format short local0".to_string()
        } else if trimmed.trim_start_matches("# ").starts_with("server s") {
            servers += 1;
            if servers > 1 {
                continue;
            }
            format!("    server s{server} 127.0.0.1:{server} check")
        } else {
            line.replace(
                " file /etc/haproxy/certs/sharethings-ca.crt ",
                &format!(" file {} ", ca.display()),
            )
        };
        out.push_str(&replaced);
        out.push('\n');
    }
    assert!(servers > 0 && out.contains(&format!("bind 127.0.0.1:{https} ssl crt")));
    out
}

/// HAProxy in the foreground, killed on drop.
struct Haproxy(Child);

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn haproxy_binary() -> PathBuf {
    ["/usr/sbin/haproxy", "/usr/local/sbin/haproxy"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from("haproxy"))
}

/// `curl` over TLS to `name` at 127.0.0.1:`port`, trusting only the test CA, with `args`
/// (headers, a body); returns the status and the body.
fn curl(dir: &Path, name: &str, port: u16, target: &str, args: &[&str]) -> (u16, String) {
    let mut command = Command::new("curl");
    command
        .args(["-sS", "--max-time", "10", "-o", "-", "-w", "\n%{http_code}"])
        .arg("--cacert")
        .arg(dir.join("sharethings-ca.crt"))
        .arg("--resolve")
        .arg(format!("{name}:{port}:127.0.0.1"));
    let out = command
        .args(args)
        .arg(format!("https://{name}:{port}{target}"))
        .output()
        .expect("run curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (status.trim().parse().unwrap_or(0), body.to_string())
}

#[test]
#[ignore = "attack suite: tests/attack/run.sh"]
fn row_l7_and_18c_through_the_real_haproxy_cfg_the_configured_name_works() {
    const NAME: &str = "sharethings.test";
    let dir = std::env::temp_dir().join(format!("sharethings-attack-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let made = Command::new("bash")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/haproxy/make-cert.sh"))
        .arg("--out")
        .arg(&dir)
        .arg(NAME)
        .output()
        .expect("run make-cert.sh");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    // As sharethings-setup-tls configures it: the name served, HAProxy trusted.
    let mut server = Server::start(&["--served-hosts", NAME, "--trusted-proxies", "127.0.0.1"]);
    let (http, https) = (free_port(), free_port());
    let cfg = dir.join("haproxy.cfg");
    let text = derive_haproxy_config(&dir, http, https, server.addr().port());
    std::fs::write(&cfg, text).expect("write haproxy.cfg");
    let check = Command::new(haproxy_binary())
        .arg("-c")
        .arg("-q")
        .arg("-f")
        .arg(&cfg)
        .output();
    let check = check.expect("run haproxy -c");
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let _haproxy = Haproxy(
        Command::new(haproxy_binary())
            .arg("-db")
            .arg("-f")
            .arg(&cfg)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start haproxy"),
    );
    // Through HAProxy, by the configured name: served (once HAProxy's checks see the server).
    assert!(
        wait_until(deadline(Duration::from_secs(20)), || {
            curl(&dir, NAME, https, "/health", &[]).0 == 200
        }),
        "https://{NAME}/health through HAProxy"
    );
    under_attack(&mut server, move |_, in_effect| {
        // Host reaches the server unchanged: a rebound name is refused by the server.
        let (status, body) = curl(&dir, NAME, https, "/health", &["-H", "Host: evil.example"]);
        assert_eq!(status, 421, "{body}");
        in_effect.now();
        // A forged X-Forwarded-For never reaches the server: a sid opened "from" one address
        // keeps working "from" another, because the server sees HAProxy's real one both times.
        let (status, open) = curl(
            &dir,
            NAME,
            https,
            "/socket.io/?EIO=4&transport=polling",
            &["-H", "X-Forwarded-For: 10.9.9.9"],
        );
        assert_eq!(status, 200, "{open}");
        let sid = open
            .split("\"sid\":\"")
            .nth(1)
            .and_then(|rest| rest.get(..20))
            .unwrap_or_else(|| panic!("no sid in {open}"));
        let target = format!("/socket.io/?EIO=4&transport=polling&sid={sid}");
        // A POST (the namespace CONNECT) is answered at once; a GET would be held.
        let post = ["-H", "X-Forwarded-For: 10.8.8.8", "--data-binary", "40"];
        let (status, body) = curl(&dir, NAME, https, &target, &post);
        assert_eq!((status, body.as_str()), (200, "ok"));
        let _ = std::fs::remove_dir_all(&dir);
    });
}
