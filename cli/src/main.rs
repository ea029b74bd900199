//! `sharethings-cli`: a command-line member of a ShareThings session. `send` delivers files,
//! text or standard input; `receive` saves what the others share; `members` shows who is in
//! and the safety code; `invite` prints an invite link; `verify` checks the web app a server
//! serves. Same protocol and the same encryption as the web app (format v3, and v2 for legacy
//! sessions), so either end can be a browser.

mod args;
mod codec;
mod connection;
mod enter;
mod exit;
mod format;
mod incoming;
mod item;
mod members;
mod passphrase;
mod progress;
mod receive;
mod room;
mod save;
mod send;
mod socketio;
mod transport;
mod v3;
mod verify;
mod window;

use std::io::Read;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

use args::{Cli, Command, Common};
use exit::Failure;
use room::Settings;
use v3::keys::RoomSecret;

fn main() -> ExitCode {
    let cli = Cli::parse();
    progress::set_quiet(cli.common.quiet);
    exit::catch_signals();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("sharethings-cli: {failure}");
            ExitCode::from(failure.exit_code())
        }
    }
}

fn run(cli: Cli) -> Result<(), Failure> {
    // Everything that can be checked locally is checked before the network and the slow
    // key derivation.
    let sources = match &cli.command {
        Command::Verify(a) => {
            return verify::run(&a.url, cli.common.ca.as_deref(), cli.common.allow_http)
        }
        Command::Invite => return print_invite(&cli.common),
        Command::Send(a) => Some(send_sources(a)?),
        Command::Receive(a) => {
            if !a.dir.is_dir() {
                return Err(Failure::Usage(format!(
                    "--dir {}: not a folder",
                    a.dir.display()
                )));
            }
            None
        }
        Command::Members(_) => None,
    };
    let (settings, invite) = settings(&cli.common)?;
    let mut room = enter::enter(&cli.common, settings, invite)?;
    progress::note(&format!(
        "joined {} as {} ({} other member(s))",
        room.session_id(),
        room.client_name(),
        room.others().count()
    ));
    let result = match (&cli.command, sources) {
        (Command::Send(a), Some(sources)) => send::run(
            &mut room,
            sources,
            &send::Options {
                wait: Duration::from_secs(a.wait),
                linger: Duration::from_secs(a.linger),
            },
        ),
        (Command::Receive(a), _) => receive::run(
            &mut room,
            &receive::Options {
                dir: a.dir.clone(),
                force: a.force,
                once: a.once,
            },
        ),
        (Command::Members(a), _) => members::run(&mut room, Duration::from_secs(a.wait)),
        _ => unreachable!("sources are built for send; verify and invite returned"),
    };
    room.leave();
    result
}

fn send_sources(a: &args::SendArgs) -> Result<Vec<send::Source>, Failure> {
    if let Some(text) = &a.text {
        let text = if text == "-" {
            let mut buf = String::new();
            std::io::stdin()
                .read_to_string(&mut buf)
                .map_err(|e| Failure::Local(format!("standard input: {e}")))?;
            buf
        } else {
            text.clone()
        };
        return Ok(vec![send::Source::Text(text)]);
    }
    if a.files.iter().filter(|f| f.as_os_str() == "-").count() > 1 {
        return Err(Failure::Usage("standard input (-) can be sent once".into()));
    }
    a.files
        .iter()
        .map(|f| {
            if f.as_os_str() == "-" {
                return Ok(send::Source::Stdin {
                    filename: a.filename.clone(),
                });
            }
            match std::fs::metadata(f) {
                Ok(m) if m.is_file() => Ok(send::Source::File(f.clone())),
                Ok(_) => Err(Failure::Usage(format!(
                    "{}: not a regular file",
                    f.display()
                ))),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Failure::Usage(format!(
                    "{}: the file does not exist",
                    f.display()
                ))),
                Err(e) => Err(Failure::Local(format!("{}: {e}", f.display()))),
            }
        })
        .collect()
}

/// The settings, and the room secret of an invite link (which also names the server and the
/// session).
fn settings(c: &Common) -> Result<(Settings, Option<RoomSecret>), Failure> {
    let (server, session, invite) = match &c.invite {
        Some(link) => {
            let (server, secret) = enter::parse_invite(link)?;
            (server, Some(secret.session_id.clone()), Some(secret))
        }
        None => (c.server.clone(), c.session.clone(), None),
    };
    let session_id = session.ok_or_else(|| {
        Failure::Usage("no session: pass --session or set SHARETHINGS_SESSION".into())
    })?;
    let chars = session_id.chars().count();
    if !(1..=64).contains(&chars) || session_id.chars().any(char::is_control) {
        return Err(Failure::Usage(
            "the session name must be 1 to 64 characters, no control characters".into(),
        ));
    }
    let client_name = c.name.clone().unwrap_or_else(host_name).trim().to_string();
    if !v3::roster::valid_name(&client_name) {
        return Err(Failure::Usage(
            "the display name must be 1 to 32 characters, no control characters".into(),
        ));
    }
    let endpoint = transport::Endpoint::new(&server, c.ca.as_deref(), c.allow_http)
        .map_err(|e| Failure::Usage(e.0))?;
    let settings = Settings {
        endpoint,
        session_id,
        client_name,
        reconnect_for: Duration::from_secs(c.reconnect_for),
    };
    Ok((settings, invite))
}

/// `invite`: the link for this session from the key store; no network.
fn print_invite(c: &Common) -> Result<(), Failure> {
    let (settings, _) = settings(c)?;
    let dir = enter::store_dir()?;
    let origin = settings.endpoint.origin();
    let membership = v3::store::Membership::load(&dir, &origin, &settings.session_id)
        .map_err(|e| Failure::Local(format!("the key store: {e}")))?
        .ok_or_else(|| {
            Failure::Usage(format!(
                "this machine is not a member of {} on {origin} (join it first)",
                settings.session_id
            ))
        })?;
    println!(
        "{}",
        enter::invite_link(settings.endpoint.url(), &membership.secret)
    );
    Ok(())
}

/// This machine's name, cut to the 32 characters a display name may have.
fn host_name() -> String {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let name: String = name.trim().chars().take(32).collect();
    if name.is_empty() {
        "sharethings-cli".into()
    } else {
        name
    }
}
