//! Settings: every one from an environment variable and a `--flag` (the flag wins), validated
//! once at start.
//!
//! The table [`SETTINGS`] is the single source of truth: `--help` and parsing come from it, and
//! a test checks that the README's configuration table lists every row with its default. A bad
//! value stops the server at start with a message naming the setting and the value; nothing is
//! validated later.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

/// One documented setting.
pub struct Setting {
    /// Environment variable, e.g. `PORT`.
    pub env: &'static str,
    /// Command-line flag without the dashes, e.g. `port`.
    pub flag: &'static str,
    pub default: &'static str,
    pub help: &'static str,
}

macro_rules! settings {
    ($($env:literal, $flag:literal, $default:literal, $help:literal;)*) => {
        /// Every setting, in the order `--help` lists them.
        pub const SETTINGS: &[Setting] = &[$(Setting { env: $env, flag: $flag, default: $default, help: $help }),*];
    };
}

settings! {
    "HOST", "host", "0.0.0.0", "Address to listen on.";
    "PORT", "port", "3001", "TCP port to listen on.";
    "WORKERS", "workers", "4", "Plain-HTTP worker threads (web client, /health, /metrics).";
    "MAX_CONNECTIONS", "max-connections", "1024", "Open TCP connections at most; more are refused with 503.";
    "MAX_CONNECTIONS_PER_ADDRESS", "max-connections-per-address", "64", "Open TCP connections per client address at most (IPv6 per /64, the address as trusted proxies report it); more are refused with 503.";
    "MAX_SESSIONS", "max-sessions", "256", "ShareThings sessions at most; when all are taken, the one empty longest gives way, and server_full comes only when every one has members.";
    "MAX_MEMBERS", "max-members", "32", "Members per session at most; more joins get session_full.";
    "HEAD_MAX_BYTES", "head-max-bytes", "8192", "Largest HTTP request head in bytes (431 above).";
    "HEAD_TIMEOUT", "head-timeout", "10000", "Milliseconds a client has to send a complete request head (408 after).";
    "PING_INTERVAL", "ping-interval", "25000", "Engine.IO pingInterval in milliseconds.";
    "PING_TIMEOUT", "ping-timeout", "20000", "Engine.IO pingTimeout in milliseconds.";
    "UPGRADE_TIMEOUT", "upgrade-timeout", "10000", "Milliseconds a polling session has to finish an upgrade to WebSocket.";
    "MAX_PAYLOAD", "max-payload", "1000000", "Engine.IO maxPayload: largest polling POST body or WebSocket message, in bytes.";
    "CONNECT_TIMEOUT", "connect-timeout", "45000", "Milliseconds a client has to join a Socket.IO namespace after connecting.";
    "MAX_ATTACHMENTS", "max-attachments", "10", "Binary attachments in one Socket.IO packet at most.";
    "JSON_MAX_DEPTH", "json-max-depth", "32", "Nesting of arrays and objects in one Socket.IO packet's JSON at most (checked before parsing; deeper closes the connection).";
    "JSON_MAX_NODES", "json-max-nodes", "262144", "JSON values (keys included) in one Socket.IO packet at most (checked before parsing; more closes the connection).";
    "JSON_MAX_EXPANSION", "json-max-expansion", "24", "Memory one Socket.IO packet's JSON may take once parsed, as a multiple of its length, plus 64 KiB (estimated before parsing from what the parser allocates per value; more closes the connection).";
    "MAX_ATTACHMENT_BYTES", "max-attachment-bytes", "4194304", "Bytes of binary attachments in one Socket.IO packet at most.";
    "ATTACHMENT_TIMEOUT", "attachment-timeout", "60000", "Milliseconds a binary Socket.IO packet's attachments have to arrive after its text (the connection is closed after).";
    "SEND_QUEUE_BYTES", "send-queue-bytes", "8388608", "Bytes queued for one client at most; above half of it senders feeding that client are paused.";
    "MEMORY_BUDGET", "memory-budget", "134217728", "Bytes the server may hold for all clients together (queues, requests and messages being read, session inboxes); a new large input past it is refused (WebSocket close 1013, polling 503), and an answer sent in pieces (inbox listings and fetches) stops short of it. The default leaves half of the systemd unit's MemoryMax=256M for everything else.";
    "STALL_TIMEOUT", "stall-timeout", "30000", "Milliseconds a client may have bytes queued for it and read none of them before it is disconnected.";
    "SESSION_TIMEOUT", "session-timeout", "600000", "Milliseconds an empty ShareThings session is kept before it expires (longer while its inbox keeps items).";
    "INBOX_TTL", "inbox-ttl", "3600000", "Milliseconds an item waits in the inbox of a session whose creator turned it on, for devices that join later: at most a day in memory, at most 7 days (604800000) with INBOX_DIR.";
    "INBOX_BYTES", "inbox-bytes", "33554432", "Bytes one session's inbox keeps at most; past it an item is still relayed to the members online but not kept (inbox_full).";
    "INBOX_META_BYTES", "inbox-meta-bytes", "16384", "Largest item the inbox keeps metadata for, in bytes: its envelope and sealed metadata together; a larger one is still relayed to the members online but not kept (inbox_item_too_large).";
    "INBOX_TOTAL_BYTES", "inbox-total-bytes", "67108864", "Bytes of memory all inboxes take together at most (with INBOX_DIR, their index), and never more than half of MEMORY_BUDGET (which counts them); past it: server_inbox_full. 0 turns inboxes off.";
    "INBOX_DIR", "inbox-dir", "", "Directory where inboxes keep their items (ciphertext, never keys or plaintext), so that they outlive a restart; created 0700. Unset: inboxes are in memory only. INBOX_BYTES then counts bytes on disk per session.";
    "INBOX_DISK_BYTES", "inbox-disk-bytes", "1073741824", "With INBOX_DIR: bytes of files all inboxes keep together at most; past it: server_inbox_full.";
    "INBOX_DISK_READ_BYTES", "inbox-disk-read-bytes", "524288", "With INBOX_DIR: bytes inbox listings and fetches read from disk in one turn of the event loop at most (always at least one record), so that a slow disk cannot stall every connection; an answer past it stops early with its next.";
    "REJOIN_GRACE", "rejoin-grace", "30000", "Milliseconds a member whose connection was lost stays a member, waiting for a rejoin.";
    "JOIN_TIMEOUT", "join-timeout", "30000", "Milliseconds a client has to join a ShareThings session after connecting to the Socket.IO namespace (the connection is closed after).";
    "MAX_APPLICANTS", "max-applicants", "8", "Devices at most that may wait in one session for a member to admit them (format 3); more get too_many_applicants.";
    "APPLICANTS_PER_ADDRESS", "applicants-per-address", "2", "Devices from one client address (IPv6 per /64) that may wait in one session at once; more get too_many_applicants.";
    "APPLICANT_TIMEOUT", "applicant-timeout", "600000", "Milliseconds a device may wait in a session for a member to admit it (twice the longest a member's throttling makes it wait); then its connection is closed (it may apply again).";
    "ADMIT_BYTES", "admit-bytes", "16384", "Largest data of one admit message between a waiting device and a member, as canonical JSON; a larger one gets invalid_request and is not relayed.";
    "JOIN_LIMIT_PER_ADDRESS", "join-limit-per-address", "10", "Failed joins per client address per window before that address is refused.";
    "JOIN_LIMIT_PER_SESSION", "join-limit-per-session", "60", "Failed joins per session per window before joins to that session are refused.";
    "SESSIONS_PER_ADDRESS", "sessions-per-address", "32", "Sessions one client address (IPv6 per /64) may create per rate-limit window; more get rate_limited.";
    "JOIN_LIMIT_WINDOW", "join-limit-window", "60000", "Rate-limit window for failed joins, in milliseconds.";
    "TRUSTED_PROXIES", "trusted-proxies", "", "Comma-separated proxy IP addresses whose X-Forwarded-For is believed.";
    "CORS_ORIGINS", "cors-origins", "", "Comma-separated extra origins allowed to connect (same-origin is always allowed).";
    "SERVED_HOSTS", "served-hosts", "", "Comma-separated host names devices open the server by, besides IP addresses, localhost, this machine's hostname and <hostname>.local; a request whose Host header names another gets 421 Misdirected Request (the DNS-rebinding defence). * serves any name.";
    "LOG_LEVEL", "log-level", "info", "One of error, warn, info, debug, trace, off.";
}

/// The longest deadline in milliseconds: a day is far beyond any sensible one, and it keeps
/// Instant arithmetic safe.
const MILLIS_MAX: u64 = 86_400_000;
/// How long an inbox item may wait on disk at most: 7 days.
const INBOX_DISK_TTL_MAX_MS: u64 = 7 * MILLIS_MAX;

/// A setting that could not be used; the message names it and the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// `--help` was asked for: print [`help_text`] and exit successfully.
    HelpRequested,
    UnknownFlag(String),
    MissingValue(String),
    Invalid {
        setting: &'static str,
        value: String,
        why: &'static str,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::HelpRequested => f.write_str("help requested"),
            ConfigError::UnknownFlag(flag) => write!(f, "unknown flag {flag:?} (see --help)"),
            ConfigError::MissingValue(flag) => write!(f, "flag --{flag} needs a value"),
            ConfigError::Invalid {
                setting,
                value,
                why,
            } => write!(f, "invalid {setting}={value:?}: {why}"),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Validated settings. Durations are whole milliseconds on input.
#[derive(Debug, Clone)]
pub struct Config {
    pub host: IpAddr,
    pub port: u16,
    pub workers: usize,
    pub max_connections: usize,
    pub max_connections_per_address: u32,
    pub max_sessions: usize,
    pub max_members: usize,
    pub head_max_bytes: usize,
    pub head_timeout: Duration,
    pub ping_interval: Duration,
    pub ping_timeout: Duration,
    pub upgrade_timeout: Duration,
    pub max_payload: usize,
    pub connect_timeout: Duration,
    pub max_attachments: usize,
    pub json_max_depth: usize,
    pub json_max_nodes: usize,
    pub json_max_expansion: usize,
    pub max_attachment_bytes: usize,
    pub attachment_timeout: Duration,
    pub send_queue_bytes: usize,
    pub memory_budget: usize,
    pub stall_timeout: Duration,
    pub session_timeout: Duration,
    pub inbox_ttl: Duration,
    pub inbox_bytes: usize,
    pub inbox_meta_bytes: usize,
    pub inbox_total_bytes: usize,
    pub inbox_dir: Option<std::path::PathBuf>,
    pub inbox_disk_bytes: u64,
    pub inbox_disk_read_bytes: usize,
    pub rejoin_grace: Duration,
    pub join_timeout: Duration,
    pub max_applicants: usize,
    pub applicants_per_address: usize,
    pub applicant_timeout: Duration,
    pub admit_bytes: usize,
    pub join_limit_per_address: u32,
    pub join_limit_per_session: u32,
    pub sessions_per_address: u32,
    pub join_limit_window: Duration,
    pub trusted_proxies: Vec<IpAddr>,
    pub cors_origins: Vec<String>,
    pub served_hosts: Vec<String>,
    pub log_level: log::LevelFilter,
}

impl Default for Config {
    fn default() -> Self {
        // The defaults in SETTINGS are valid by construction; a test proves it.
        Config::from_sources(std::iter::empty(), |_| None).unwrap_or_else(|e| {
            unreachable!("built-in defaults are valid: {e}");
        })
    }
}

impl Config {
    /// Builds the configuration from command-line arguments (without the program name) and an
    /// environment lookup. A flag wins over the environment, which wins over the default.
    pub fn from_sources(
        args: impl IntoIterator<Item = String>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let mut values: Vec<Option<String>> = SETTINGS.iter().map(|s| env(s.env)).collect();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            if arg == "--help" || arg == "-h" {
                return Err(ConfigError::HelpRequested);
            }
            let Some(flag) = arg.strip_prefix("--") else {
                return Err(ConfigError::UnknownFlag(arg));
            };
            let (name, inline) = match flag.split_once('=') {
                Some((name, value)) => (name, Some(value.to_string())),
                None => (flag, None),
            };
            let Some(index) = SETTINGS.iter().position(|s| s.flag == name) else {
                return Err(ConfigError::UnknownFlag(arg));
            };
            let value = match inline {
                Some(value) => value,
                None => args
                    .next()
                    .ok_or_else(|| ConfigError::MissingValue(name.to_string()))?,
            };
            if let Some(slot) = values.get_mut(index) {
                *slot = Some(value);
            }
        }
        let mut raw = RawValues { values };
        let config = Config {
            host: raw.parse("HOST", "an IP address such as 0.0.0.0 or ::")?,
            port: raw.parse("PORT", "a port number 0-65535")?,
            workers: raw.count("WORKERS", 1, 256)?,
            max_connections: raw.count("MAX_CONNECTIONS", 1, 1 << 20)?,
            max_connections_per_address: raw
                .parse("MAX_CONNECTIONS_PER_ADDRESS", "a whole number")?,
            max_sessions: raw.count("MAX_SESSIONS", 1, 1 << 20)?,
            max_members: raw.count("MAX_MEMBERS", 1, 1 << 16)?,
            head_max_bytes: raw.count("HEAD_MAX_BYTES", 256, 1 << 20)?,
            head_timeout: raw.millis("HEAD_TIMEOUT")?,
            ping_interval: raw.millis("PING_INTERVAL")?,
            ping_timeout: raw.millis("PING_TIMEOUT")?,
            upgrade_timeout: raw.millis("UPGRADE_TIMEOUT")?,
            max_payload: raw.count("MAX_PAYLOAD", 64, 1 << 30)?,
            connect_timeout: raw.millis("CONNECT_TIMEOUT")?,
            max_attachments: raw.count("MAX_ATTACHMENTS", 0, 1024)?,
            json_max_depth: raw.count("JSON_MAX_DEPTH", 3, 1024)?,
            json_max_nodes: raw.count("JSON_MAX_NODES", 16, 1 << 20)?,
            json_max_expansion: raw.count("JSON_MAX_EXPANSION", 4, 1024)?,
            max_attachment_bytes: raw.count("MAX_ATTACHMENT_BYTES", 0, 1 << 30)?,
            attachment_timeout: raw.millis("ATTACHMENT_TIMEOUT")?,
            send_queue_bytes: raw.count("SEND_QUEUE_BYTES", 4096, 1 << 31)?,
            memory_budget: raw.count("MEMORY_BUDGET", 1 << 20, usize::MAX)?,
            stall_timeout: raw.millis("STALL_TIMEOUT")?,
            session_timeout: raw.millis("SESSION_TIMEOUT")?,
            inbox_ttl: raw.millis_up_to("INBOX_TTL", INBOX_DISK_TTL_MAX_MS)?,
            inbox_bytes: raw.count("INBOX_BYTES", 0, usize::MAX)?,
            inbox_meta_bytes: raw.count("INBOX_META_BYTES", 256, 1 << 20)?,
            inbox_total_bytes: raw.count("INBOX_TOTAL_BYTES", 0, usize::MAX)?,
            inbox_dir: raw.path("INBOX_DIR"),
            inbox_disk_bytes: raw.count("INBOX_DISK_BYTES", 0, usize::MAX)? as u64,
            inbox_disk_read_bytes: raw.count("INBOX_DISK_READ_BYTES", 4096, 1 << 30)?,
            rejoin_grace: raw.millis("REJOIN_GRACE")?,
            join_timeout: raw.millis("JOIN_TIMEOUT")?,
            max_applicants: raw.count("MAX_APPLICANTS", 1, 1 << 16)?,
            applicants_per_address: raw.count("APPLICANTS_PER_ADDRESS", 1, 1 << 16)?,
            applicant_timeout: raw.millis("APPLICANT_TIMEOUT")?,
            admit_bytes: raw.count("ADMIT_BYTES", 256, 1 << 20)?,
            join_limit_per_address: raw.parse("JOIN_LIMIT_PER_ADDRESS", "a whole number")?,
            join_limit_per_session: raw.parse("JOIN_LIMIT_PER_SESSION", "a whole number")?,
            sessions_per_address: raw.parse("SESSIONS_PER_ADDRESS", "a whole number")?,
            join_limit_window: raw.millis("JOIN_LIMIT_WINDOW")?,
            trusted_proxies: raw.list("TRUSTED_PROXIES", |item| item.parse().ok())?,
            cors_origins: raw.list("CORS_ORIGINS", |item| {
                (item.starts_with("http://") || item.starts_with("https://"))
                    .then(|| item.trim_end_matches('/').to_string())
            })?,
            served_hosts: raw.list("SERVED_HOSTS", |item| {
                let name = item
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-.".contains(&b));
                (item == "*" || name).then(|| item.to_ascii_lowercase())
            })?,
            log_level: raw.parse("LOG_LEVEL", "one of error, warn, info, debug, trace, off")?,
        };
        if config.inbox_dir.is_none() && config.inbox_ttl > Duration::from_millis(MILLIS_MAX) {
            return Err(ConfigError::Invalid {
                setting: "INBOX_TTL",
                value: config.inbox_ttl.as_millis().to_string(),
                why:
                    "more than a day needs INBOX_DIR (items in memory are lost at a restart anyway)",
            });
        }
        Ok(config)
    }

    /// Bytes all session inboxes may keep: `INBOX_TOTAL_BYTES`, but at most half of the memory
    /// budget, so that a lowered budget always leaves room for live transfers.
    pub fn inbox_total_cap(&self) -> usize {
        self.inbox_total_bytes.min(self.memory_budget / 2)
    }

    /// Reads `std::env::args()` and the process environment.
    pub fn from_process() -> Result<Config, ConfigError> {
        Config::from_sources(std::env::args().skip(1), |name| std::env::var(name).ok())
    }
}

/// `--help` output, generated from [`SETTINGS`].
pub fn help_text() -> String {
    let mut out = String::from(
        "sharethings: relay end-to-end encrypted text, images and files between your devices.\n\n\
         Usage: sharethings [--flag value]...\n\n\
         Every setting can also be given as an environment variable; a flag wins.\n\n",
    );
    for s in SETTINGS {
        let default = if s.default.is_empty() {
            "(none)"
        } else {
            s.default
        };
        out.push_str(&format!(
            "  --{:<24} {:<24} default {}\n      {}\n",
            s.flag, s.env, default, s.help
        ));
    }
    out
}

/// The raw string of every setting, looked up by environment name.
struct RawValues {
    values: Vec<Option<String>>,
}

impl RawValues {
    fn get(&mut self, env: &'static str) -> (&'static Setting, String) {
        let index = SETTINGS.iter().position(|s| s.env == env);
        let setting = index
            .and_then(|i| SETTINGS.get(i))
            .unwrap_or_else(|| unreachable!("setting {env} is in the table"));
        let value = index
            .and_then(|i| self.values.get_mut(i))
            .and_then(Option::take)
            .unwrap_or_else(|| setting.default.to_string());
        (setting, value)
    }

    fn parse<T: std::str::FromStr>(
        &mut self,
        env: &'static str,
        why: &'static str,
    ) -> Result<T, ConfigError> {
        let (setting, value) = self.get(env);
        value.trim().parse().map_err(|_| ConfigError::Invalid {
            setting: setting.env,
            value,
            why,
        })
    }

    fn count(&mut self, env: &'static str, min: usize, max: usize) -> Result<usize, ConfigError> {
        let (setting, value) = self.get(env);
        match value.trim().parse::<usize>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(ConfigError::Invalid {
                setting: setting.env,
                value,
                why: "a whole number within the allowed range (see --help)",
            }),
        }
    }

    fn millis(&mut self, env: &'static str) -> Result<Duration, ConfigError> {
        self.millis_up_to(env, MILLIS_MAX)
    }

    fn millis_up_to(&mut self, env: &'static str, max: u64) -> Result<Duration, ConfigError> {
        let (setting, value) = self.get(env);
        match value.trim().parse::<u64>() {
            Ok(ms) if (1..=max).contains(&ms) => Ok(Duration::from_millis(ms)),
            _ => Err(ConfigError::Invalid {
                setting: setting.env,
                value,
                why: if max == MILLIS_MAX {
                    "milliseconds between 1 and 86400000"
                } else {
                    "milliseconds between 1 and 604800000"
                },
            }),
        }
    }

    /// A path, or `None` when empty.
    fn path(&mut self, env: &'static str) -> Option<std::path::PathBuf> {
        let (_, value) = self.get(env);
        let value = value.trim();
        (!value.is_empty()).then(|| std::path::PathBuf::from(value))
    }

    fn list<T>(
        &mut self,
        env: &'static str,
        item: impl Fn(&str) -> Option<T>,
    ) -> Result<Vec<T>, ConfigError> {
        let (setting, value) = self.get(env);
        let mut out = Vec::new();
        for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match item(part) {
                Some(parsed) => out.push(parsed),
                None => {
                    return Err(ConfigError::Invalid {
                        setting: setting.env,
                        value: part.to_string(),
                        why: "not a valid list item (see --help)",
                    })
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn defaults_are_valid() {
        let config = Config::default();
        assert_eq!(config.port, 3001);
        assert_eq!(config.head_max_bytes, 8192);
        assert_eq!(config.max_members, 32);
        assert!(config.trusted_proxies.is_empty());
    }

    #[test]
    fn the_inboxes_never_take_more_than_half_the_memory_budget() {
        assert_eq!(Config::default().inbox_total_cap(), 64 << 20);
        let env = |name: &str| (name == "MEMORY_BUDGET").then(|| (8 << 20).to_string());
        let small = Config::from_sources(args(&[]), env).unwrap();
        assert_eq!(small.inbox_total_cap(), 4 << 20);
        let off = Config::from_sources(args(&["--inbox-total-bytes", "0"]), |_| None).unwrap();
        assert_eq!(off.inbox_total_cap(), 0);
    }

    #[test]
    fn an_inbox_ttl_past_a_day_needs_an_inbox_dir() {
        let week = "604800000";
        let err = Config::from_sources(args(&["--inbox-ttl", week]), |_| None).unwrap_err();
        assert!(err.to_string().contains("needs INBOX_DIR"), "{err}");
        let config =
            Config::from_sources(args(&["--inbox-ttl", week, "--inbox-dir", "/x"]), |_| None)
                .unwrap();
        assert_eq!(config.inbox_ttl, Duration::from_millis(604_800_000));
        assert!(Config::from_sources(
            args(&["--inbox-ttl", "604800001", "--inbox-dir", "/x"]),
            |_| { None }
        )
        .is_err());
        assert_eq!(Config::default().inbox_dir, None);
    }

    #[test]
    fn flag_wins_over_environment() {
        let env = |name: &str| (name == "PORT").then(|| "4000".to_string());
        let config = Config::from_sources(args(&["--port", "5000"]), env).unwrap();
        assert_eq!(config.port, 5000);
        let config = Config::from_sources(args(&[]), env).unwrap();
        assert_eq!(config.port, 4000);
        let config = Config::from_sources(args(&["--port=6000"]), env).unwrap();
        assert_eq!(config.port, 6000);
    }

    #[test]
    fn bad_values_name_the_setting_and_value() {
        let err = Config::from_sources(args(&["--ping-interval", "soon"]), |_| None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid PING_INTERVAL=\"soon\": milliseconds between 1 and 86400000"
        );
        let err = Config::from_sources(args(&[]), |n| {
            (n == "TRUSTED_PROXIES").then(|| "10.0.0.1, nope".into())
        })
        .unwrap_err();
        assert!(
            err.to_string().contains("TRUSTED_PROXIES=\"nope\""),
            "{err}"
        );
        assert!(matches!(
            Config::from_sources(args(&["--workers", "0"]), |_| None),
            Err(ConfigError::Invalid {
                setting: "WORKERS",
                ..
            })
        ));
        assert!(matches!(
            Config::from_sources(args(&["--nope", "1"]), |_| None),
            Err(ConfigError::UnknownFlag(_))
        ));
        assert!(matches!(
            Config::from_sources(args(&["--port"]), |_| None),
            Err(ConfigError::MissingValue(_))
        ));
        assert_eq!(
            Config::from_sources(args(&["--help"]), |_| None).unwrap_err(),
            ConfigError::HelpRequested
        );
    }

    #[test]
    fn lists_parse() {
        let config = Config::from_sources(
            args(&[
                "--trusted-proxies",
                "127.0.0.1, ::1",
                "--cors-origins",
                "https://a.example/",
                "--served-hosts",
                "Pi.lan, sharethings.local",
            ]),
            |_| None,
        )
        .unwrap();
        assert_eq!(config.trusted_proxies.len(), 2);
        assert_eq!(config.cors_origins, vec!["https://a.example".to_string()]);
        assert_eq!(config.served_hosts, ["pi.lan", "sharethings.local"]);
        let err = Config::from_sources(args(&["--served-hosts", "a.lan,https://b.lan"]), |_| None)
            .unwrap_err();
        assert!(
            err.to_string().contains("SERVED_HOSTS=\"https://b.lan\""),
            "{err}"
        );
    }

    #[test]
    fn readme_table_lists_every_setting_with_its_default() {
        let readme = include_str!("../README.md");
        for s in SETTINGS {
            let default = if s.default.is_empty() {
                "(none)".to_string()
            } else {
                format!("`{}`", s.default)
            };
            let row = format!("| `{}` | `--{}` | {} |", s.env, s.flag, default);
            assert!(
                readme.contains(&row),
                "README.md lacks the row starting {row}"
            );
        }
    }

    #[test]
    fn help_lists_every_setting_with_its_default() {
        let help = help_text();
        for s in SETTINGS {
            assert!(help.contains(&format!("--{}", s.flag)), "{}", s.flag);
            assert!(help.contains(s.env), "{}", s.env);
        }
    }
}
