//! Which `Host` names the server answers to: the defence against DNS rebinding.
//!
//! A page on `evil.example` whose DNS name the attacker re-points at the server's address is,
//! to the browser, same-origin with everything the server says: `Origin` and `Host` agree
//! (both `evil.example`), so comparing them proves nothing. The browser does send the name it
//! resolved, though, so a request is refused unless its `Host` is a name the server serves.
//! IP literals always pass: a page opened by address has that address as its origin, which no
//! attacker's DNS controls.

use std::net::{Ipv4Addr, Ipv6Addr};

/// The names requests may carry in `Host`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedHosts {
    /// Lowercase names without a trailing dot or port.
    names: Vec<String>,
    /// `*` was configured: any name is served (the check is off).
    any: bool,
}

impl ServedHosts {
    /// The configured names (`*` for any) plus the ones that always work on a LAN box:
    /// `localhost`, the machine's hostname and `<hostname>.local` (mDNS).
    pub fn new(configured: &[String], hostname: Option<&str>) -> ServedHosts {
        let mut names = vec!["localhost".to_string()];
        if let Some(host) = hostname.map(normalise).filter(|h| !h.is_empty()) {
            // A hostname given as a full name still answers to its first label on mDNS.
            let label = host.split('.').next().unwrap_or_default().to_string();
            names.push(format!("{label}.local"));
            names.push(label);
            names.push(host);
        }
        names.extend(configured.iter().map(|n| normalise(n)));
        names.sort_unstable();
        names.dedup();
        ServedHosts {
            any: configured.iter().any(|n| n == "*"),
            names,
        }
    }

    /// [`ServedHosts::new`] with this machine's hostname, as the kernel reports it.
    pub fn for_this_machine(configured: &[String]) -> ServedHosts {
        let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").ok();
        ServedHosts::new(configured, hostname.as_deref())
    }

    /// Whether a request with these `Host` header values is for us. No header at all passes
    /// (HTTP/1.0 health checks; browsers always send one); more than one is refused, as is a
    /// value that is not a plain `host[:port]`.
    pub fn allows<'a>(&self, mut hosts: impl Iterator<Item = &'a [u8]>) -> bool {
        let Some(value) = hosts.next() else {
            return true;
        };
        if hosts.next().is_some() {
            return false;
        }
        let Some(name) = std::str::from_utf8(value).ok().and_then(host_of) else {
            return false;
        };
        if let Some(inner) = name.strip_prefix('[') {
            return inner
                .strip_suffix(']')
                .is_some_and(|ip| ip.parse::<Ipv6Addr>().is_ok());
        }
        let name = normalise(name);
        self.any || name.parse::<Ipv4Addr>().is_ok() || self.names.contains(&name)
    }
}

/// The host part of a `Host` value (`name`, `name:port`, `[v6]` or `[v6]:port`).
fn host_of(value: &str) -> Option<&str> {
    let value = value.trim();
    let (host, port) = match value.rfind(':') {
        Some(at) if !value.ends_with(']') => (value.get(..at)?, value.get(at + 1..)?),
        _ => (value, "0"),
    };
    let port_ok = !port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit());
    let host_ok = !host.is_empty()
        && (host.starts_with('[')
            || host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.'));
    (port_ok && host_ok).then_some(host)
}

fn normalise(name: &str) -> String {
    name.trim().trim_end_matches('.').to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn served(configured: &[&str], hostname: Option<&str>) -> ServedHosts {
        let configured: Vec<String> = configured.iter().map(|s| s.to_string()).collect();
        ServedHosts::new(&configured, hostname)
    }

    fn allows(hosts: &ServedHosts, values: &[&str]) -> bool {
        hosts.allows(values.iter().map(|v| v.as_bytes()))
    }

    #[test]
    fn ip_literals_localhost_and_the_machine_names_pass_out_of_the_box() {
        let hosts = served(&[], Some("raspberrypi\n"));
        for ok in [
            "192.168.1.20",
            "192.168.1.20:8080",
            "127.0.0.1:3001",
            "[::1]",
            "[fe80::1]:443",
            "localhost",
            "LOCALHOST:3001",
            "raspberrypi",
            "raspberrypi.local",
            "RaspberryPi.local.:443",
        ] {
            assert!(allows(&hosts, &[ok]), "{ok}");
        }
        assert!(allows(&hosts, &[]), "no Host header (HTTP/1.0)");
    }

    #[test]
    fn a_rebound_or_malformed_name_is_refused() {
        let hosts = served(&["sharethings.lan"], Some("raspberrypi"));
        for bad in [
            "evil.example",
            "raspberrypi.evil.example",
            "sharethings.lan.evil.example",
            "localhost.evil.example",
            "192.168.1.20.nip.io",
            "evil.example:3001",
            "::1",
            "[::1",
            "[not-an-ip]",
            "sharethings.lan:",
            "sharethings.lan:99999x",
            "sharethings.lan/x",
            "shåre.lan",
            "",
        ] {
            assert!(!allows(&hosts, &[bad]), "{bad}");
        }
        assert!(
            !hosts.allows(std::iter::once(&[0xffu8, 0xfe][..])),
            "not UTF-8"
        );
        assert!(
            !allows(&hosts, &["sharethings.lan", "evil.example"]),
            "two Host headers"
        );
    }

    #[test]
    fn configured_names_are_served_whatever_their_case_port_or_trailing_dot() {
        let hosts = served(&["Pi.Fritz.Box.", "sharethings.lan"], None);
        for ok in ["pi.fritz.box", "PI.FRITZ.BOX:443", "sharethings.lan."] {
            assert!(allows(&hosts, &[ok]), "{ok}");
        }
        assert!(!allows(&hosts, &["fritz.box"]));
    }

    #[test]
    fn a_full_hostname_also_answers_to_its_first_label() {
        let hosts = served(&[], Some("pi.example.org"));
        for ok in ["pi.example.org", "pi", "pi.local"] {
            assert!(allows(&hosts, &[ok]), "{ok}");
        }
        assert!(!allows(&hosts, &["example.org"]));
    }

    #[test]
    fn a_star_serves_any_well_formed_name() {
        let hosts = served(&["*"], None);
        assert!(allows(&hosts, &["anything.example:80"]));
        assert!(!allows(&hosts, &["bad/name"]));
        assert!(!allows(&hosts, &["a.example", "b.example"]));
    }
}
