//! `members`: who is in the session, by the names their signed cards give, and the safety
//! code (docs/protocol.md, "Safety code"): two devices that print the same code hold the same
//! room key and see the same members, so no one sits in the middle. Printed on stdout.

use std::time::{Duration, Instant};

use crate::codec::Codec;
use crate::exit::Failure;
use crate::room::Room;
use crate::v3::keys::{parse_device_id, PublicKey};

pub fn run(room: &mut Room, wait: Duration) -> Result<(), Failure> {
    let deadline = Instant::now() + wait;
    while !everyone_said_hello(room) {
        let Some(left) = deadline.checked_duration_since(Instant::now()) else {
            break;
        };
        room.poll(left.min(Duration::from_millis(200)))?;
    }
    print!("{}", report(room));
    Ok(())
}

fn everyone_said_hello(room: &Room) -> bool {
    match room.codec() {
        Codec::V3(v3) => room
            .others()
            .all(|m| v3.member.stored.roster.device_of(&m.id).is_some()),
        Codec::V2 { .. } => true,
    }
}

fn report(room: &Room) -> String {
    let session = room.session_id();
    let Codec::V3(v3) = room.codec() else {
        let mut out = format!("{} member(s) online in {session} (a legacy session: names as the server says; no safety code)\n", room.members.len());
        for m in &room.members {
            out.push_str(&format!("  {}\n", m.name));
        }
        return out;
    };
    let member = &v3.member;
    let roster = &member.stored.roster;
    let me = member.stored.device.public_key();
    let mut online: Vec<PublicKey> = vec![me];
    let mut lines = vec![line(
        &member.stored.name,
        &me,
        member.is_creator(&me),
        "this device",
    )];
    for m in room.others() {
        match roster
            .device_of(&m.id)
            .and_then(|d| Some((d, parse_device_id(d)?)))
        {
            Some((device, pk)) => {
                online.push(pk);
                lines.push(line(
                    &roster.display_name(device),
                    &pk,
                    member.is_creator(&pk),
                    "",
                ));
            }
            None => lines.push("  an unknown device (no signed hello)\n".into()),
        }
    }
    let keys: Vec<&[u8]> = online.iter().map(|pk| pk.as_slice()).collect();
    let mut out = format!("{} member(s) online in {session}:\n", lines.len());
    out.extend(lines);
    out.push_str(&format!(
        "safety code: {}\n",
        member.keys.safety_code(&keys)
    ));
    out
}

fn line(name: &str, pk: &PublicKey, creator: bool, note: &str) -> String {
    let id = crate::v3::keys::device_id(pk);
    let mut tags: Vec<&str> = Vec::new();
    if creator {
        tags.push("creator");
    }
    if !note.is_empty() {
        tags.push(note);
    }
    let tags = if tags.is_empty() {
        String::new()
    } else {
        format!(" ({})", tags.join(", "))
    };
    format!("  {name}{tags}  device {}\n", &id[..12])
}
