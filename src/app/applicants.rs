//! Applicants: connections that know a v3 session's name (and perhaps its passphrase) but not
//! its room key, waiting for a member to admit them (docs/protocol.md, "Admission by a
//! member"). The one owner of that state. No I/O and no clock: the application arms their
//! deadlines and tells the members.
//!
//! An applicant is no member: it is in no room's member list, so nothing relayed, listed or
//! kept reaches it. What it may do is exchange `admit` messages, and this tracks the one
//! thing that needs: which members it began a run with (a `step: 1`, counted by the rate
//! limits), so that each run gets one `step: 3` and an applicant cannot push more; and how
//! many guesses it made since when, which the limits take back once it proves the room key.
//!
//! Bounded twice per room: `MAX_APPLICANTS` in all, and `APPLICANTS_PER_ADDRESS` from one
//! client address (IPv6 per /64), so that one address cannot fill a session's list and keep
//! the household's new devices waiting.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Instant;

use crate::socketio::SocketId;
use crate::util::address::limit_key;
use crate::util::arena::Handle;

pub struct Applicant {
    pub room: Handle,
    pub client_id: String,
    /// The address it applied from, as the limits count it.
    address: Option<IpAddr>,
    /// Members it sent a `step: 1` and no `step: 3` yet.
    open_runs: Vec<String>,
    /// Its `step: 1`s, each a failure the join limits counted, and when the first was.
    guesses: Option<Guesses>,
}

/// The guesses an applicant made: `count` of them since `first`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Guesses {
    pub count: u32,
    pub first: Instant,
}

impl Applicant {
    pub fn guesses(&self) -> Option<Guesses> {
        self.guesses
    }
}

/// Why an applicant was not added: the session has as many as it takes, in all or from
/// this address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooMany;

pub struct Applicants {
    per_room: usize,
    per_address: usize,
    by_socket: HashMap<SocketId, Applicant>,
    /// Each room's applicants, in the order they applied.
    by_room: HashMap<Handle, Vec<SocketId>>,
}

impl Applicants {
    pub fn new(per_room: usize, per_address: usize) -> Applicants {
        Applicants {
            per_room,
            per_address,
            by_socket: HashMap::new(),
            by_room: HashMap::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.by_socket.len()
    }

    pub fn get(&self, socket: SocketId) -> Option<&Applicant> {
        self.by_socket.get(&socket)
    }

    /// Adds `socket` as an applicant of `room`, unless the room has its fill of them.
    pub fn add(
        &mut self,
        socket: SocketId,
        room: Handle,
        client_id: String,
        address: Option<IpAddr>,
    ) -> Result<(), TooMany> {
        let address = address.map(limit_key);
        let waiting = self.by_room.get(&room).map_or(&[][..], Vec::as_slice);
        let from_address = waiting
            .iter()
            .filter(|s| self.by_socket.get(s).is_some_and(|a| a.address == address))
            .count();
        if waiting.len() >= self.per_room || from_address >= self.per_address {
            return Err(TooMany);
        }
        self.by_room.entry(room).or_default().push(socket);
        self.by_socket.insert(
            socket,
            Applicant {
                room,
                client_id,
                address,
                open_runs: Vec::new(),
                guesses: None,
            },
        );
        Ok(())
    }

    pub fn remove(&mut self, socket: SocketId) -> Option<Applicant> {
        let applicant = self.by_socket.remove(&socket)?;
        if let Some(waiting) = self.by_room.get_mut(&applicant.room) {
            waiting.retain(|s| *s != socket);
            if waiting.is_empty() {
                self.by_room.remove(&applicant.room);
            }
        }
        Some(applicant)
    }

    /// The applicants of `room`, in the order they applied.
    pub fn of_room(&self, room: Handle) -> impl Iterator<Item = (SocketId, &Applicant)> + '_ {
        self.by_room
            .get(&room)
            .into_iter()
            .flatten()
            .filter_map(|s| Some((*s, self.by_socket.get(s)?)))
    }

    /// The applicant of `room` with this client id.
    pub fn find(&self, room: Handle, client_id: &str) -> Option<SocketId> {
        self.of_room(room)
            .find(|(_, a)| a.client_id == client_id)
            .map(|(socket, _)| socket)
    }

    /// The applicant sent `member` a `step: 1` at `now`: a run begins, and a guess counts.
    pub fn begin_run(&mut self, socket: SocketId, member: &str, now: Instant) {
        if let Some(a) = self.by_socket.get_mut(&socket) {
            if !a.open_runs.iter().any(|m| m == member) {
                a.open_runs.push(member.to_string());
            }
            a.guesses = Some(match a.guesses {
                Some(g) => Guesses {
                    count: g.count.saturating_add(1),
                    ..g
                },
                None => Guesses {
                    count: 1,
                    first: now,
                },
            });
        }
    }

    /// The applicant sends `member` a `step: 3`: allowed once per run it began with it.
    pub fn finish_run(&mut self, socket: SocketId, member: &str) -> bool {
        let Some(a) = self.by_socket.get_mut(&socket) else {
            return false;
        };
        let before = a.open_runs.len();
        a.open_runs.retain(|m| m != member);
        a.open_runs.len() < before
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;
    use std::time::Duration;

    fn socket(n: u64) -> SocketId {
        Handle::from_bits(n)
    }

    fn address(n: u8) -> Option<IpAddr> {
        Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, n)))
    }

    #[test]
    fn a_room_takes_its_fill_in_all_and_per_address() {
        let room = Handle::from_bits(7);
        let other = Handle::from_bits(8);
        let mut applicants = Applicants::new(3, 2);
        assert!(applicants
            .add(socket(1), room, "a".into(), address(1))
            .is_ok());
        assert!(applicants
            .add(socket(2), room, "b".into(), address(1))
            .is_ok());
        assert_eq!(
            applicants.add(socket(3), room, "c".into(), address(1)),
            Err(TooMany),
            "two from one address"
        );
        assert!(
            applicants
                .add(socket(3), other, "c".into(), address(1))
                .is_ok(),
            "per room"
        );
        assert!(applicants
            .add(socket(4), room, "d".into(), address(2))
            .is_ok());
        assert_eq!(
            applicants.add(socket(5), room, "e".into(), address(3)),
            Err(TooMany),
            "three in all"
        );
        assert_eq!(applicants.find(room, "d"), Some(socket(4)));
        assert_eq!(
            applicants.find(room, "c"),
            None,
            "c waits for the other room"
        );
        applicants.remove(socket(1));
        let order: Vec<_> = applicants.of_room(room).map(|(s, _)| s).collect();
        assert_eq!(order, [socket(2), socket(4)]);
        assert!(applicants
            .add(socket(5), room, "e".into(), address(3))
            .is_ok());
        assert_eq!(applicants.len(), 4);
    }

    #[test]
    fn each_run_gets_one_third_step_and_every_step_1_is_a_guess() {
        let mut applicants = Applicants::new(3, 2);
        applicants
            .add(socket(1), Handle::from_bits(7), "a".into(), None)
            .unwrap();
        assert!(!applicants.finish_run(socket(1), "m"), "no run begun");
        let start = Instant::now();
        applicants.begin_run(socket(1), "m", start);
        applicants.begin_run(socket(1), "m", start + Duration::from_secs(1));
        assert!(applicants.finish_run(socket(1), "m"));
        assert!(!applicants.finish_run(socket(1), "m"), "one step 3 per run");
        let guesses = applicants.get(socket(1)).and_then(Applicant::guesses);
        assert_eq!(
            guesses,
            Some(Guesses {
                count: 2,
                first: start
            })
        );
    }
}
