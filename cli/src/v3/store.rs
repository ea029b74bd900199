//! The key store: what makes this machine a member of a v3 session between runs (docs/cli.md,
//! "Key store"). One file per server origin and session in `$XDG_DATA_HOME/sharethings/`
//! (else `~/.local/share/sharethings/`), the folder 0700 and each file 0600, replaced
//! atomically: the room secret, this device's key and name, its `seq` counter, the roster,
//! the replay windows, the creator's clear policy and the failed admissions of the last hour.
//! The passphrase is never stored. A run that joins holds the file's lock (`<file>.lock`)
//! until it ends: two runs of one device at once would reuse its `seq` counter, and each
//! would overwrite the other's replay windows.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use data_encoding::{BASE64, HEXLOWER};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sharethings_protocol::format::v3::FAILURE_MEMORY_MS;

use super::keys::{Device, RoomSecret};
use super::replay::ReplayWindows;
use super::roster::Roster;

/// The file as it is on disk (keys in base64).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct File {
    origin: String,
    session_id: String,
    room_key: String,
    creator_pk: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    prs: Option<String>,
    device_seed: String,
    name: String,
    seq: u64,
    #[serde(default)]
    roster: Roster,
    #[serde(default)]
    replay: ReplayWindows,
    #[serde(default)]
    anyone_may_clear: bool,
    #[serde(default)]
    policy_seq: u64,
    #[serde(default)]
    failures: Vec<u64>,
}

/// A member's stored state for one session.
pub struct Membership {
    path: PathBuf,
    origin: String,
    pub secret: RoomSecret,
    pub device: Device,
    pub name: String,
    seq: u64,
    pub roster: Roster,
    pub replay: ReplayWindows,
    pub anyone_may_clear: bool,
    /// The creator's `seq` of the policy held: an older one, replayed or forwarded late, is ignored.
    pub policy_seq: u64,
    /// Failed admission runs (ms since the Unix epoch), for throttling.
    pub failures: Vec<u64>,
    /// Held from `claim` until this run ends.
    lock: Option<fs::File>,
}

/// Where the stores live: `$XDG_DATA_HOME/sharethings`, else `$HOME/.local/share/sharethings`.
pub fn folder() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_DATA_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))?;
    Some(base.join("sharethings"))
}

/// The store's file for a session on a server: named by a hash, so that no session name
/// (any characters) becomes a path.
fn file_for(dir: &Path, origin: &str, session_id: &str) -> PathBuf {
    let hash = Sha256::digest(format!("{origin}\n{session_id}"));
    dir.join(format!("{}.json", HEXLOWER.encode(&hash[..16])))
}

fn key<const N: usize>(text: &str) -> io::Result<[u8; N]> {
    BASE64
        .decode(text.as_bytes())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "a key of the wrong size"))
}

impl Membership {
    /// A new membership, not yet saved.
    pub fn new(
        dir: &Path,
        origin: &str,
        secret: RoomSecret,
        device: Device,
        name: &str,
    ) -> Membership {
        Membership {
            path: file_for(dir, origin, &secret.session_id),
            origin: origin.to_string(),
            secret,
            device,
            name: name.to_string(),
            seq: 0,
            roster: Roster::default(),
            replay: ReplayWindows::default(),
            anyone_may_clear: false,
            policy_seq: 0,
            failures: Vec::new(),
            lock: None,
        }
    }

    /// The stored membership of `session_id` on `origin`, if there is one.
    pub fn load(dir: &Path, origin: &str, session_id: &str) -> io::Result<Option<Membership>> {
        let path = file_for(dir, origin, session_id);
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let f: File = serde_json::from_str(&text)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        if f.origin != origin || f.session_id != session_id {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the store names another session",
            ));
        }
        Ok(Some(Membership {
            path,
            origin: f.origin,
            secret: RoomSecret {
                session_id: f.session_id,
                room_key: key(&f.room_key)?,
                creator_pk: key(&f.creator_pk)?,
                prs: f.prs.as_deref().map(key).transpose()?,
            },
            device: Device::from_seed(&key(&f.device_seed)?),
            name: f.name,
            seq: f.seq,
            roster: f.roster,
            replay: f.replay,
            anyone_may_clear: f.anyone_may_clear,
            policy_seq: f.policy_seq,
            failures: f.failures,
            lock: None,
        }))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Takes this membership for this run (the folder made 0700 if need be); an error if
    /// another run on this machine holds it.
    pub fn claim(mut self) -> io::Result<Membership> {
        self.make_folder()?;
        let lock = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(self.path.with_extension("lock"))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                return Err(io::Error::new(
                    io::ErrorKind::ResourceBusy,
                    "another run of sharethings-cli on this machine is in this session (one at a time per session)",
                ))
            }
            Err(fs::TryLockError::Error(e)) => return Err(e),
        }
        self.lock = Some(lock);
        Ok(self)
    }

    fn make_folder(&self) -> io::Result<()> {
        let dir = self.path.parent().expect("the store's file is in a folder");
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
    }

    /// Writes the whole state: a new file (0600) beside the old one, renamed over it, in a
    /// folder made 0700.
    pub fn save(&self) -> io::Result<()> {
        self.make_folder()?;
        let f = File {
            origin: self.origin.clone(),
            session_id: self.secret.session_id.clone(),
            room_key: BASE64.encode(&self.secret.room_key),
            creator_pk: BASE64.encode(&self.secret.creator_pk),
            prs: self.secret.prs.map(|p| BASE64.encode(&p)),
            device_seed: BASE64.encode(&self.device.seed()),
            name: self.name.clone(),
            seq: self.seq,
            roster: self.roster.clone(),
            replay: self.replay.clone(),
            anyone_may_clear: self.anyone_may_clear,
            policy_seq: self.policy_seq,
            failures: self.failures.clone(),
        };
        let tmp = self.path.with_extension("tmp");
        let mut out = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        out.write_all(&serde_json::to_vec(&f).expect("the store serialises"))?;
        out.sync_all()?;
        fs::rename(&tmp, &self.path)
    }

    /// The next `seq` for a `content` this device seals: saved before it is used, so a
    /// crash never lets a counter repeat.
    pub fn next_seq(&mut self) -> io::Result<u64> {
        self.seq += 1;
        self.save()?;
        Ok(self.seq)
    }

    /// Failed runs within the last hour before `now_ms` (older ones are forgotten).
    pub fn recent_failures(&mut self, now_ms: u64) -> u64 {
        self.failures
            .retain(|&at| at <= now_ms && now_ms - at < FAILURE_MEMORY_MS);
        self.failures.len() as u64
    }

    /// Counts a failed run (its own or one another member announced), at most 1024 kept.
    pub fn count_failure(&mut self, at_ms: u64) {
        if self.failures.len() >= 1024 {
            self.failures.remove(0);
        }
        self.failures.push(at_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn secret() -> RoomSecret {
        RoomSecret {
            session_id: "a/../b ☕".into(),
            room_key: [1; 32],
            creator_pk: [2; 32],
            prs: Some([3; 32]),
        }
    }

    #[test]
    fn saves_privately_and_loads_what_it_saved() {
        let dir = tempfile::tempdir().unwrap();
        let stores = dir.path().join("sharethings");
        let origin = "https://pi.local:443";
        assert!(Membership::load(&stores, origin, "a/../b ☕")
            .unwrap()
            .is_none());
        let device = Device::generate();
        let id = device.id();
        let mut m = Membership::new(&stores, origin, secret(), device, "nas");
        assert_eq!(m.next_seq().unwrap(), 1);
        assert_eq!(m.next_seq().unwrap(), 2);
        m.replay.accept("x", 9);
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&stores), 0o700);
        assert_eq!(mode(m.path()), 0o600);
        assert_eq!(
            m.path().parent().unwrap(),
            stores,
            "the session name is not a path"
        );
        m.save().unwrap();

        let mut back = Membership::load(&stores, origin, "a/../b ☕")
            .unwrap()
            .unwrap();
        assert_eq!(back.secret, secret());
        assert_eq!(back.device.id(), id);
        assert_eq!(back.name, "nas");
        assert_eq!(back.next_seq().unwrap(), 3, "the counter never repeats");
        assert!(!back.replay.accept("x", 9), "the replay window survived");
        assert!(Membership::load(&stores, "https://other", "a/../b ☕")
            .unwrap()
            .is_none());
        assert!(Membership::load(&stores, origin, "other")
            .unwrap()
            .is_none());
        fs::write(back.path(), "{}").unwrap();
        assert!(Membership::load(&stores, origin, "a/../b ☕").is_err());
    }

    #[test]
    fn one_run_at_a_time_holds_a_membership() {
        let dir = tempfile::tempdir().unwrap();
        let load = || {
            Membership::load(dir.path(), "o", &secret().session_id)
                .unwrap()
                .unwrap()
        };
        Membership::new(dir.path(), "o", secret(), Device::generate(), "nas")
            .save()
            .unwrap();
        let first = load().claim().unwrap();
        let busy = load().claim().err().unwrap();
        assert_eq!(busy.kind(), io::ErrorKind::ResourceBusy);
        assert!(load().secret == first.secret, "reading it stays possible");
        drop(first);
        assert!(load().claim().is_ok(), "free again once that run ends");
    }

    #[test]
    fn failures_are_remembered_for_an_hour() {
        let dir = tempfile::tempdir().unwrap();
        let mut m = Membership::new(dir.path(), "o", secret(), Device::generate(), "n");
        for at in [0, 1000, FAILURE_MEMORY_MS] {
            m.count_failure(at);
        }
        assert_eq!(m.recent_failures(FAILURE_MEMORY_MS), 2);
        assert_eq!(m.recent_failures(FAILURE_MEMORY_MS + 1000), 1);
    }

    #[test]
    fn the_folder_follows_xdg_data_home() {
        // Read-only check of the rule on this process's environment.
        let expected = match std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
            Some(x) => PathBuf::from(x).join("sharethings"),
            None => {
                PathBuf::from(std::env::var_os("HOME").unwrap()).join(".local/share/sharethings")
            }
        };
        assert_eq!(folder().unwrap(), expected);
    }
}
