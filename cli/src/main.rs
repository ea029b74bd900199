//! `sharethings-cli`: a command-line member of a ShareThings session. `send` delivers files,
//! text or standard input; `receive` saves what the others share. Same protocol and the same
//! encryption (format v2) as the web app, so either end can be a browser.

mod args;
mod clip;
mod connection;
mod exit;
mod folder;
mod format;
mod inbox;
mod incoming;
mod item;
mod passphrase;
mod progress;
mod receive;
mod recipient;
mod room;
mod save;
mod send;
mod socketio;
mod transport;
mod v3;
mod window;

use std::io::Read;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

use args::{Cli, Command, Common};
use exit::Failure;
use format::SessionKeys;
use room::{Room, Settings};

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
    // Everything that can be checked locally is checked before the slow key derivation.
    let mut board = None;
    let sources = match &cli.command {
        Command::Send(a) => Some(send_sources(a)?),
        Command::Clip(_) => {
            board = Some(clip::Board::open().map_err(Failure::Usage)?);
            None
        }
        Command::Receive(a) => {
            if !a.dir.is_dir() {
                return Err(Failure::Usage(format!(
                    "--dir {}: not a folder",
                    a.dir.display()
                )));
            }
            None
        }
    };
    let settings = settings(&cli.common)?;
    let pass = passphrase::obtain(cli.common.passphrase_file.as_deref())?;
    progress::note("deriving the session key");
    let keys = SessionKeys::derive(&pass, &settings.session_id);
    drop(pass);
    let mut room = Room::join(settings, keys)?;
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
                to: a.to.clone(),
            },
        ),
        (Command::Receive(a), _) => receive::run(
            &mut room,
            &receive::Options {
                dir: a.dir.clone(),
                force: a.force,
                once: a.once,
                accept: Box::new(|_| true),
                inbox: true,
            },
        ),
        (Command::Clip(a), _) => clip::run(
            &mut room,
            board.expect("opened before joining"),
            &clip::Options {
                max_bytes: a.max_bytes,
                send: !a.receive_only,
                receive: !a.send_only,
                interval: Duration::from_millis(a.interval),
            },
        ),
        (Command::Send(_), None) => unreachable!("sources are built for send"),
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
                Ok(send::Source::Stdin {
                    filename: a.filename.clone(),
                })
            } else {
                send::check_readable(f)?;
                Ok(send::Source::File(f.clone()))
            }
        })
        .collect()
}

fn settings(c: &Common) -> Result<Settings, Failure> {
    let session_id = c.session.clone().ok_or_else(|| {
        Failure::Usage("no session: pass --session or set SHARETHINGS_SESSION".into())
    })?;
    let chars = session_id.chars().count();
    if !(1..=64).contains(&chars) || session_id.chars().any(char::is_control) {
        return Err(Failure::Usage(
            "the session name must be 1 to 64 characters, no control characters".into(),
        ));
    }
    let client_name = c.name.clone().unwrap_or_else(host_name).trim().to_string();
    if !(1..=32).contains(&client_name.chars().count()) {
        return Err(Failure::Usage(
            "the display name must be 1 to 32 characters".into(),
        ));
    }
    let endpoint = transport::Endpoint::new(&c.server, c.ca.as_deref(), c.allow_http)
        .map_err(|e| Failure::Usage(e.0))?;
    Ok(Settings {
        endpoint,
        session_id,
        client_name,
        reconnect_for: Duration::from_secs(c.reconnect_for),
        inbox: c.inbox,
    })
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
