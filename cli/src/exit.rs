//! Why a command failed, and the exit code a script sees for it (listed in `--help`).

use std::fmt;
use std::time::Duration;

#[derive(Debug)]
pub enum Failure {
    /// A local problem: a file that cannot be read or written, a full disk.
    Local(String),
    /// Bad flags or settings (clap uses the same code for its own errors).
    Usage(String),
    WrongPassphrase,
    Unreachable(String),
    RateLimited {
        retry_after: Duration,
    },
    /// An item could not be delivered or received whole.
    TransferFailed(String),
    /// The server refused the join for another reason (session or server full, ...).
    Refused {
        code: String,
        message: String,
    },
    /// `send` found nobody in the session to send to within `--wait`.
    NoReceivers,
    /// Another connection took over this membership (same token).
    Replaced,
    /// No member online admitted this device (by the passphrase) within `--admit-wait`.
    NotAdmitted,
    /// `verify`: the served web app is not this release's.
    Tampered(String),
    /// SIGINT or SIGTERM: the command left the session cleanly and stopped.
    Interrupted,
}

/// `(code, meaning)` of every exit status; the help text is built from this table.
pub const EXIT_CODES: &[(u8, &str)] = &[
    (0, "success"),
    (1, "local error (reading or writing a file)"),
    (
        2,
        "usage error (bad flag, missing session or passphrase, bad URL or CA file)",
    ),
    (
        3,
        "wrong passphrase for this session (a member's check, or the server's for v2)",
    ),
    (
        4,
        "server unreachable (or lost and not back within --reconnect-for)",
    ),
    (5, "rate limited (too many failed joins; try again later)"),
    (6, "transfer failed (refused, corrupt, or the sender left)"),
    (
        7,
        "join refused (session or server full, invalid name, replaced by another connection)",
    ),
    (8, "nobody to send to within --wait"),
    (
        9,
        "not admitted: no member online let this device in within --admit-wait",
    ),
    (
        10,
        "verify: the web app the server serves differs from this release's",
    ),
    (
        130,
        "interrupted (SIGINT/SIGTERM) while sending; receive stops with 0",
    ),
];

impl Failure {
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Local(_) => 1,
            Failure::Usage(_) => 2,
            Failure::WrongPassphrase => 3,
            Failure::Unreachable(_) => 4,
            Failure::RateLimited { .. } => 5,
            Failure::TransferFailed(_) => 6,
            Failure::Refused { .. } | Failure::Replaced => 7,
            Failure::NoReceivers => 8,
            Failure::NotAdmitted => 9,
            Failure::Tampered(_) => 10,
            Failure::Interrupted => 130,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Local(why) | Failure::Usage(why) => f.write_str(why),
            Failure::Tampered(why) => write!(f, "the served web app is not this release's: {why}"),
            Failure::WrongPassphrase => f.write_str("wrong passphrase for this session"),
            Failure::Unreachable(why) => write!(f, "server unreachable: {why}"),
            Failure::RateLimited { retry_after } => write!(
                f,
                "rate limited: too many failed joins, try again in {} s",
                retry_after.as_secs().max(1)
            ),
            Failure::TransferFailed(why) => write!(f, "transfer failed: {why}"),
            Failure::Refused { code, message } => write!(f, "join refused ({code}): {message}"),
            Failure::NoReceivers => f.write_str("nobody joined the session to receive"),
            Failure::NotAdmitted => f.write_str(
                "not admitted: no member of the session let this device in (open ShareThings on a device that is already in it)",
            ),
            Failure::Replaced => f.write_str("another connection took over this membership"),
            Failure::Interrupted => f.write_str("interrupted"),
        }
    }
}

static STOP: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// SIGINT and SIGTERM only set a flag: the command notices within a second, leaves the
/// session (the others see it go at once instead of after the rejoin grace) and ends.
pub fn catch_signals() {
    let _ = ctrlc::set_handler(|| STOP.store(true, std::sync::atomic::Ordering::Relaxed));
}

pub fn stop_requested() -> bool {
    STOP.load(std::sync::atomic::Ordering::Relaxed)
}

/// The exit-code table for `--help`.
pub fn help_table() -> String {
    let mut out = String::from("Exit codes:\n");
    for (code, meaning) in EXIT_CODES {
        out.push_str(&format!("  {code}  {meaning}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_failure_has_a_listed_distinct_code() {
        let all = [
            Failure::Local(String::new()),
            Failure::Usage(String::new()),
            Failure::WrongPassphrase,
            Failure::Unreachable(String::new()),
            Failure::RateLimited {
                retry_after: Duration::ZERO,
            },
            Failure::TransferFailed(String::new()),
            Failure::Refused {
                code: String::new(),
                message: String::new(),
            },
            Failure::NoReceivers,
            Failure::NotAdmitted,
            Failure::Tampered(String::new()),
            Failure::Interrupted,
        ];
        let codes: Vec<u8> = all.iter().map(Failure::exit_code).collect();
        let listed: Vec<u8> = EXIT_CODES.iter().map(|(c, _)| *c).skip(1).collect();
        assert_eq!(codes, listed);
        assert_eq!(Failure::Replaced.exit_code(), 7);
    }
}
