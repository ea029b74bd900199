//! How a run gets into its session (docs/cli.md, "Joining"), in this order: an invite link
//! (it carries the room secret); a membership in the key store (no passphrase, no member
//! online needed; the server is given the access key, so a session it forgot comes back);
//! `--create` (a new v3 session with a random room key); else the passphrase: apply and be
//! let in by a member online, or, for a session a v2 client made, join it with format v2.

use std::io::BufRead;
use std::path::PathBuf;
use std::time::Duration;

use data_encoding::BASE64URL_NOPAD;

use crate::args::Common;
use crate::codec::{Codec, V3};
use crate::exit::Failure;
use crate::format::SessionKeys;
use crate::passphrase;
use crate::progress;
use crate::room::{self, Applied, Room, Settings};
use crate::v3::admit::Admissions;
use crate::v3::keys::{derive_prs, random, Device, RoomSecret};
use crate::v3::member::Member;
use crate::v3::store::{self, Membership};

/// The key store's folder, or a usage error saying how to give it one.
pub fn store_dir() -> Result<PathBuf, Failure> {
    store::folder().ok_or_else(|| {
        Failure::Usage("no folder for the key store: set HOME or XDG_DATA_HOME".into())
    })
}

fn store_error(e: std::io::Error) -> Failure {
    Failure::Local(format!("the key store: {e}"))
}

fn v3_codec(member: Membership) -> Codec {
    Codec::V3(Box::new(V3 {
        member: Member::new(member),
        admissions: Admissions::default(),
    }))
}

/// The session, joined.
pub fn enter(
    c: &Common,
    mut settings: Settings,
    invite: Option<RoomSecret>,
) -> Result<Room, Failure> {
    let dir = store_dir()?;
    let origin = settings.endpoint.origin();
    let stored = Membership::load(&dir, &origin, &settings.session_id).map_err(store_error)?;
    if let Some(membership) = stored {
        let mut membership = membership.claim().map_err(store_error)?;
        // The stored name stays unless --name gives another (then a new card says so).
        match &c.name {
            Some(_) => membership.name = settings.client_name.clone(),
            None => settings.client_name = membership.name.clone(),
        }
        progress::note("joining with the room key in this machine's key store");
        return Room::join(settings, v3_codec(membership));
    }
    if let Some(secret) = invite {
        let membership = Membership::new(
            &dir,
            &origin,
            secret,
            Device::generate(),
            &settings.client_name,
        )
        .claim()
        .map_err(store_error)?;
        membership.save().map_err(store_error)?;
        progress::note("joining with the invite's room key (now in this machine's key store)");
        return join_or_forget(settings, membership);
    }
    let pass = passphrase::obtain(c.passphrase_file.as_deref())?;
    let session = settings.session_id.clone();
    if c.create {
        passphrase::strong_enough(&pass, &session)?;
        progress::note("deriving the passphrase's admission key");
        let prs = derive_prs(&pass, &session);
        let device = Device::generate();
        let secret = RoomSecret {
            session_id: session.clone(),
            room_key: random(),
            creator_pk: device.public_key(),
            prs: Some(prs),
        };
        let membership = Membership::new(&dir, &origin, secret, device, &settings.client_name)
            .claim()
            .map_err(store_error)?;
        membership.save().map_err(store_error)?;
        return join_or_forget(settings, membership).map_err(|e| match e {
            Failure::Refused { code, .. } if code == "access_denied" => Failure::Refused {
                code,
                message: format!("a session called {session} already exists on this server: join it without --create"),
            },
            other => other,
        });
    }
    progress::note("deriving the passphrase's admission key");
    let prs = derive_prs(&pass, &session);
    let keep = room::Keep {
        dir: &dir,
        origin: &origin,
    };
    match room::apply(
        settings.clone(),
        prs,
        keep,
        Duration::from_secs(c.admit_wait),
    )? {
        Applied::Member(room) => Ok(*room),
        Applied::Legacy => {
            progress::note("a legacy (format 2) session: the server can test passphrase guesses; deriving its key");
            let keys = SessionKeys::derive(&pass, &session);
            drop(pass);
            let name = settings.client_name.clone();
            Room::join(
                settings,
                Codec::V2 {
                    keys: Box::new(keys),
                    name,
                },
            )
        }
    }
}

/// Joins with a membership just stored; if the server refuses it, the store forgets it
/// again (it names no session this device is in).
fn join_or_forget(settings: Settings, membership: Membership) -> Result<Room, Failure> {
    let path = membership.path().to_path_buf();
    Room::join(settings, v3_codec(membership)).inspect_err(|_| {
        let _ = std::fs::remove_file(&path);
    })
}

/// An invite link: its server (the link without its fragment) and room secret.
pub fn parse_invite(link: &str) -> Result<(String, RoomSecret), Failure> {
    let link = if link == "-" {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| Failure::Usage(format!("--invite -: {e}")))?;
        line.trim().to_string()
    } else {
        link.trim().to_string()
    };
    let bad = |why: &str| Failure::Usage(format!("--invite: {why}"));
    let mut url = url::Url::parse(&link).map_err(|e| bad(&e.to_string()))?;
    let fragment = url
        .fragment()
        .ok_or_else(|| bad("the link has no #s=…&k=… part"))?
        .to_string();
    let mut session = None;
    let mut key = None;
    for (name, value) in url::form_urlencoded::parse(fragment.as_bytes()) {
        match name.as_ref() {
            "s" => session = Some(value.into_owned()),
            "k" => key = BASE64URL_NOPAD.decode(value.as_bytes()).ok(),
            _ => {}
        }
    }
    let session = session
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad("no session (s=) in the link"))?;
    let key = key
        .filter(|k| k.len() == 64 || k.len() == 96)
        .ok_or_else(|| bad("no room key (k=) of 64 or 96 bytes in the link"))?;
    let part =
        |range: std::ops::Range<usize>| -> [u8; 32] { key[range].try_into().expect("32 bytes") };
    let secret = RoomSecret {
        session_id: session,
        room_key: part(0..32),
        creator_pk: part(32..64),
        prs: (key.len() == 96).then(|| part(64..96)),
    };
    url.set_fragment(None);
    Ok((url.to_string(), secret))
}

/// The invite link for a stored membership: `server#s=…&k=…` (docs/protocol.md, "Invites").
pub fn invite_link(server: &str, secret: &RoomSecret) -> String {
    let mut key = [secret.room_key, secret.creator_pk].concat();
    if let Some(prs) = secret.prs {
        key.extend_from_slice(&prs);
    }
    let base = server.split('#').next().unwrap_or(server);
    let slash = if base.ends_with('/') { "" } else { "/" };
    format!(
        "{base}{slash}#s={}&k={}",
        uri_component(&secret.session_id),
        BASE64URL_NOPAD.encode(&key)
    )
}

/// Percent-encodes as JavaScript's `encodeURIComponent` does.
fn uri_component(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'-'
            | b'_'
            | b'.'
            | b'!'
            | b'~'
            | b'*'
            | b'\''
            | b'('
            | b')' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v3::test_vectors::{all, hex, room};

    #[test]
    fn invite_links_match_the_vectors_and_read_back() {
        let v = all();
        let secret = room(&v);
        let link = invite_link("https://pi.local", &secret);
        assert_eq!(link, v["invite"]["withPrs"]["link"].as_str().unwrap());
        let without = RoomSecret {
            prs: None,
            ..secret.clone()
        };
        assert_eq!(
            invite_link("https://pi.local/", &without),
            v["invite"]["withoutPrs"]["link"].as_str().unwrap()
        );
        let (server, back) = parse_invite(&link).unwrap();
        assert_eq!(server, "https://pi.local/");
        assert_eq!(back, secret);
        assert_eq!(hex(&v["invite"]["withPrs"]["secret"]).len(), 96);
        for bad in [
            "https://pi.local/",
            "https://pi.local/#s=x",
            "https://pi.local/#k=AAAA&s=x",
            "not a link",
        ] {
            assert!(matches!(parse_invite(bad), Err(Failure::Usage(_))), "{bad}");
        }
    }
}
