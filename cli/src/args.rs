//! The command line: flags, their environment variables, and the help text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

const ABOUT: &str = "A command-line member of a ShareThings session: send files and text to the \
devices in a session, or receive what they share. Everything is end-to-end encrypted as the web \
app does it: a new session has a random room key, and a device that knows the passphrase is let \
in by a member online; this machine keeps the room key in its key store afterwards.";

const PASSPHRASE_HELP: &str = "The passphrase (needed only to create a session or to be let \
in the first time) is read from --passphrase-file, else from the SHARETHINGS_PASSPHRASE \
environment variable, else asked for on the terminal. It is never a command-line argument: \
those are visible to every user of the machine.";

#[derive(Parser, Debug)]
#[command(name = "sharethings-cli", version, about = ABOUT, after_help = after_help())]
pub struct Cli {
    #[command(flatten)]
    pub common: Common,
    #[command(subcommand)]
    pub command: Command,
}

fn after_help() -> String {
    format!(
        "{PASSPHRASE_HELP}\n\n{}\nExamples:\n  \
         sharethings-cli --server https://pi.local --session quiet-harbor-17 send report.pdf\n  \
         journalctl -n 200 | sharethings-cli send - --filename journal.txt\n  \
         sharethings-cli receive --dir ~/Inbox\n  \
         sharethings-cli --session new-room --create receive\n  \
         sharethings-cli members\n  \
         sharethings-cli verify https://pi.local/",
        crate::exit::help_table()
    )
}

#[derive(Args, Debug)]
pub struct Common {
    /// Server URL: https:// (through HAProxy), or http:// on a loopback address.
    #[arg(
        long,
        global = true,
        env = "SHARETHINGS_SERVER",
        default_value = "http://127.0.0.1:3001"
    )]
    pub server: String,
    /// Session name (as shown in the web app).
    #[arg(long, global = true, env = "SHARETHINGS_SESSION")]
    pub session: Option<String>,
    /// Display name shown to the other members (default: this machine's host name).
    #[arg(long, global = true, env = "SHARETHINGS_NAME")]
    pub name: Option<String>,
    /// File whose first line is the passphrase.
    #[arg(
        long,
        global = true,
        env = "SHARETHINGS_PASSPHRASE_FILE",
        value_name = "FILE"
    )]
    pub passphrase_file: Option<PathBuf>,
    /// CA certificate (PEM) to trust instead of the system's roots, e.g. the Pi's local CA.
    #[arg(long, global = true, env = "SHARETHINGS_CA", value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// Allow plain http:// to a non-loopback address (shows the session name to the network).
    #[arg(long, global = true)]
    pub allow_http: bool,
    /// Seconds to keep trying to get back after a lost connection.
    #[arg(long, global = true, default_value_t = 120, value_name = "SECS")]
    pub reconnect_for: u64,
    /// No progress and no notes on stderr (errors are still printed).
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// Create a new session (format v3, a random room key) with the passphrase, which must
    /// be hard to guess.
    #[arg(long, global = true, conflicts_with = "invite")]
    pub create: bool,
    /// Join with an invite link (it carries the room key; `-` reads it from standard input,
    /// which keeps it out of the process list). Sets the server and the session.
    #[arg(long, global = true, value_name = "LINK", env = "SHARETHINGS_INVITE")]
    pub invite: Option<String>,
    /// Seconds to wait for a member online to let this device in (first join by passphrase).
    #[arg(long, global = true, default_value_t = 300, value_name = "SECS")]
    pub admit_wait: u64,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Send files, text or standard input to everyone in the session.
    Send(SendArgs),
    /// Stay in the session and save what arrives: files into --dir, text to stdout.
    Receive(ReceiveArgs),
    /// Join, list the members online by their signed names, and print the safety code: two
    /// devices showing the same code hold the same room key and see the same members.
    Members(MembersArgs),
    /// Print an invite link for this session from the key store (no network): whoever opens
    /// it joins without the passphrase. Treat it like the passphrase.
    Invite,
    /// Check the web app a server serves against the hashes built into this release.
    Verify(VerifyArgs),
}

#[derive(Args, Debug)]
pub struct MembersArgs {
    /// Seconds to wait for the members' hellos.
    #[arg(long, default_value_t = 3, value_name = "SECS")]
    pub wait: u64,
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The server's address, e.g. https://pi.local/
    #[arg(value_name = "URL")]
    pub url: String,
}

#[derive(Args, Debug)]
pub struct SendArgs {
    /// Files to send; `-` sends standard input as a file (see --filename).
    #[arg(value_name = "FILE", required_unless_present = "text")]
    pub files: Vec<PathBuf>,
    /// Send this text (`-`: read the text from standard input).
    #[arg(long, conflicts_with = "files")]
    pub text: Option<String>,
    /// File name the receivers see for standard input.
    #[arg(long, default_value = "stdin", value_name = "NAME")]
    pub filename: String,
    /// Seconds to wait for someone to join when the session is empty.
    #[arg(long, default_value_t = 60, value_name = "SECS")]
    pub wait: u64,
    /// Seconds to stay after sending, to serve resend requests and late joiners.
    #[arg(long, default_value_t = 0, value_name = "SECS")]
    pub linger: u64,
}

#[derive(Args, Debug)]
pub struct ReceiveArgs {
    /// Folder to save files in.
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub dir: PathBuf,
    /// Replace a file of the same name instead of saving as `name (1).ext`.
    #[arg(long)]
    pub force: bool,
    /// Exit after the first item (text or file).
    #[arg(long)]
    pub once: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent_and_help_lists_exit_codes() {
        Cli::command().debug_assert();
        let help = Cli::command().render_long_help().to_string();
        for (code, meaning) in crate::exit::EXIT_CODES {
            assert!(
                help.contains(&format!("{code}  {meaning}")),
                "{code} missing"
            );
        }
        assert!(!help.contains("--passphrase "), "no passphrase flag");
    }

    #[test]
    fn send_takes_files_or_text_not_both() {
        assert!(Cli::try_parse_from(["x", "send"]).is_err());
        assert!(Cli::try_parse_from(["x", "send", "a", "--text", "t"]).is_err());
        let cli = Cli::try_parse_from(["x", "--session", "s", "send", "--text", "-"]).unwrap();
        assert!(matches!(cli.command, Command::Send(SendArgs { text: Some(t), .. }) if t == "-"));
        let cli = Cli::try_parse_from(["x", "receive", "--once", "--session", "s"]).unwrap();
        assert_eq!(cli.common.session.as_deref(), Some("s"));
    }
}
