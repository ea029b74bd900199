//! The inbox on disk (`INBOX_DIR`) with the real server: an item kept, the server killed and
//! started again on the same directory, and a v2 or v3 member rejoins, lists and fetches it
//! byte for byte (a token from before the restart rejoins as the same member); what is on
//! disk is owner-only and never names the session; a full disk (a small tmpfs) refuses the
//! item with `inbox_disk_full` while the relay and the server go on; who fetched an item is
//! told to every member.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;
use miniserde::json::Value;

/// A session name that must never appear on disk.
const SESSION: &str = "kitchen-table-4821";

/// A directory from `mktemp -d`, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let out = Command::new("mktemp")
            .arg("-d")
            .output()
            .expect("mktemp -d");
        let path = String::from_utf8(out.stdout).expect("a path");
        TempDir(PathBuf::from(path.trim()))
    }

    fn arg(&self) -> &str {
        self.0.to_str().expect("a UTF-8 path")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A tmpfs of `size` mounted on a fresh temporary directory, unmounted on drop: a disk that
/// fills up.
struct SmallDisk(TempDir);

impl SmallDisk {
    fn new(size: &str) -> SmallDisk {
        let dir = TempDir::new();
        let status = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(&dir.0)
            .status()
            .expect("run mount");
        assert!(
            status.success(),
            "mounting a tmpfs needs root (CI runs as root)"
        );
        SmallDisk(dir)
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0 .0).status();
    }
}

fn v2_join(client: &mut SioClient, name: &str, inbox: bool) -> Value {
    let ack = client.emit_ack(
        "join",
        &format!(
            r#"{{"sessionId":{},"clientName":{},"fingerprint":{{"v":2,"mac":"m"}},"inbox":{inbox}}}"#,
            quote(SESSION),
            quote(name)
        ),
    );
    assert!(bool_of(get(&ack, "success")), "{}", to_json(&ack));
    ack
}

/// Emits a binary event with ack `id` and one attachment; returns the ack.
fn emit_binary(client: &mut SioClient, id: u64, event: &str, json: &str, data: &[u8]) -> Value {
    client
        .ws
        .send_text(&format!("451-{id}[{},{json}]", quote(event)));
    client.ws.send_binary(data);
    client.wait_ack(id)
}

/// Sends item `item` (format 2 or 3) with its metadata and chunks; returns every ack.
fn send_item(client: &mut SioClient, format: u8, meta: &[u8], chunks: &[Vec<u8>]) -> Vec<Value> {
    let total = chunks.len();
    let v3 = if format == 3 {
        r#","by":"ZGV2aWNl","seq":1,"sig":"c2ln""#
    } else {
        ""
    };
    let session = quote(SESSION);
    let mut acks = vec![emit_binary(
        client,
        100,
        "content",
        &format!(
            r#"{{"sessionId":{session},"content":{{"contentId":"item","format":{format},"totalChunks":{total},"iv":"aXY="{v3}}},"data":{{"_placeholder":true,"num":0}}}}"#
        ),
        meta,
    )];
    for (index, chunk) in chunks.iter().enumerate() {
        acks.push(emit_binary(
            client,
            101 + index as u64,
            "chunk",
            &format!(
                r#"{{"sessionId":{session},"chunk":{{"contentId":"item","chunkIndex":{index},"totalChunks":{total},"iv":"aXY=","encryptedData":{{"_placeholder":true,"num":0}}}}}}"#
            ),
            chunk,
        ));
    }
    acks
}

/// Reads one binary event (its text, then its one attachment): (name, payload, bytes).
fn read_binary_event(client: &mut SioClient) -> (String, Value, Vec<u8>) {
    let text = client.ws.expect_text();
    let packet = decode_sio(&text).unwrap_or_else(|| panic!("not socket.io: {text}"));
    assert_eq!(packet.kind, PacketKind::BinaryEvent, "{text}");
    let args = packet.data.expect("args");
    let name = str_of(&arr(&args)[0]).to_string();
    (name, arr(&args)[1].clone(), client.ws.expect_binary())
}

/// Lists and fetches `item` on `client`, checking it byte for byte; returns the listing.
fn list_and_fetch(client: &mut SioClient, meta: &[u8], chunks: &[Vec<u8>]) -> Value {
    let session = quote(SESSION);
    client
        .ws
        .send_text(&format!(r#"427["inbox-list",{{"sessionId":{session}}}]"#));
    let (name, listed, got_meta) = read_binary_event(client);
    assert_eq!(name, "inbox-item");
    assert_eq!(str_of(get(&listed, "sessionId")), SESSION);
    assert_eq!(got_meta, meta, "the sealed metadata, byte for byte");
    let ack = client.wait_ack(7);
    assert_eq!(arr(get(&ack, "items")).len(), 1, "{}", to_json(&ack));
    client.ws.send_text(&format!(
        r#"428["inbox-fetch",{{"sessionId":{session},"contentId":"item"}}]"#
    ));
    for (index, expected) in chunks.iter().enumerate() {
        let (name, chunk, bytes) = read_binary_event(client);
        assert_eq!(name, "chunk");
        assert_eq!(num(get(get(&chunk, "chunk"), "chunkIndex")), index as u64);
        assert_eq!(&bytes, expected, "chunk {index}, byte for byte");
    }
    let ack = client.wait_ack(8);
    assert_eq!(
        num(get(&ack, "sent")),
        chunks.len() as u64,
        "{}",
        to_json(&ack)
    );
    listed
}

fn sample() -> (Vec<u8>, Vec<Vec<u8>>) {
    let meta: Vec<u8> = (0..300u32).map(|i| (i * 13) as u8).collect();
    let chunks = (0..3u32)
        .map(|c| (0..70_000u32).map(|i| (i * 31 + c * 7) as u8).collect())
        .collect();
    (meta, chunks)
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            assert_eq!(mode(&path), 0o700, "{}", path.display());
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn a_v2_item_on_disk_outlives_a_restart_byte_for_byte_and_its_token_too() {
    let dir = TempDir::new();
    let args = ["--inbox-dir", dir.arg()];
    let (meta, chunks) = sample();
    let server = Server::start(&args);
    let mut sender = SioClient::connect(server.addr());
    let joined = v2_join(&mut sender, "Sender", true);
    let (token, sender_id) = (
        str_of(get(&joined, "token")).to_string(),
        str_of(get(&joined, "clientId")).to_string(),
    );
    let acks = send_item(&mut sender, 2, &meta, &chunks);
    assert!(
        bool_of(get(get(&acks[0], "inbox"), "kept")),
        "{}",
        to_json(&acks[0])
    );
    assert!(acks.iter().all(|a| bool_of(get(a, "success"))));
    drop(sender);
    drop(server); // SIGKILL: no clean shutdown.

    // On disk: owner-only, and the session's name nowhere, neither in names nor in bytes.
    assert_eq!(mode(&dir.0), 0o700);
    let files = files_under(&dir.0);
    assert!(files.len() >= 3, "key, room, item: {files:?}");
    for file in &files {
        assert_eq!(mode(file), 0o600, "{}", file.display());
        assert!(!file.to_string_lossy().contains(SESSION));
        let bytes = std::fs::read(file).expect("read");
        assert!(
            !bytes
                .windows(SESSION.len())
                .any(|w| w == SESSION.as_bytes()),
            "{} names the session",
            file.display()
        );
    }

    let mut server = Server::start(&args);
    assert_eq!(server.metric("sharethings_inbox_items"), 1);
    assert!(server.metric("sharethings_inbox_disk_bytes") > 210_000);
    let mut back = SioClient::connect(server.addr());
    let ack = back.emit_ack(
        "join",
        &format!(
            r#"{{"sessionId":{},"clientName":"Sender","token":{}}}"#,
            quote(SESSION),
            quote(&token)
        ),
    );
    assert!(
        bool_of(get(&ack, "success")),
        "the token from before: {}",
        to_json(&ack)
    );
    assert_eq!(str_of(get(&ack, "clientId")), sender_id, "the same member");
    assert!(has(&ack, "inbox"));
    back.sync();

    let mut late = SioClient::connect(server.addr());
    let late_id = str_of(get(&v2_join(&mut late, "Late", false), "clientId")).to_string();
    let listed = list_and_fetch(&mut late, &meta, &chunks);
    assert!(arr(get(&listed, "fetchedBy")).is_empty());
    let fetched = back.expect_event("inbox-fetched");
    assert_eq!(str_of(get(&fetched, "clientId")), late_id);
    assert_eq!(str_of(get(&fetched, "contentId")), "item");
    server.assert_healthy();
}

#[test]
fn a_v3_item_on_disk_outlives_a_restart_for_the_holders_of_its_access_key() {
    const KEY: [u8; 32] = [42; 32];
    let dir = TempDir::new();
    let args = ["--inbox-dir", dir.arg()];
    let (meta, chunks) = sample();
    let server = Server::start(&args);
    let mut sender = SioClient::connect(server.addr());
    let ack = sender.try_join_v3_with(SESSION, &KEY, r#""inbox":true,"#);
    assert!(bool_of(get(&ack, "success")), "{}", to_json(&ack));
    let acks = send_item(&mut sender, 3, &meta, &chunks);
    assert!(
        bool_of(get(get(&acks[0], "inbox"), "kept")),
        "{}",
        to_json(&acks[0])
    );
    drop(sender);
    drop(server);

    let server = Server::start(&args);
    let mut stranger = SioClient::connect(server.addr());
    let refused = stranger.try_join_v3(SESSION, &[1; 32]);
    assert_eq!(
        str_of(get(&refused, "code")),
        "access_denied",
        "{}",
        to_json(&refused)
    );
    let mut member = SioClient::connect(server.addr());
    let ack = member.join_v3(SESSION, &KEY);
    assert!(
        !bool_of(get(&ack, "created")),
        "the session came back: {}",
        to_json(&ack)
    );
    let listed = list_and_fetch(&mut member, &meta, &chunks);
    let content = get(&listed, "content");
    assert_eq!(
        (
            str_of(get(content, "by")),
            num(get(content, "seq")),
            str_of(get(content, "sig"))
        ),
        ("ZGV2aWNl", 1, "c2ln")
    );
}

#[test]
fn a_full_disk_refuses_the_item_with_inbox_disk_full_and_the_server_goes_on() {
    let disk = SmallDisk::new("96k");
    let mut server = Server::start(&["--inbox-dir", disk.0.arg()]);
    let mut sender = SioClient::connect(server.addr());
    let mut online = SioClient::connect(server.addr());
    v2_join(&mut sender, "Sender", true);
    v2_join(&mut online, "Online", false);
    sender.sync();
    let chunks = vec![vec![1u8; 60_000], vec![2u8; 60_000]];
    let acks = send_item(&mut sender, 2, &[9u8; 50], &chunks);
    assert!(
        acks.iter().all(|a| bool_of(get(a, "success"))),
        "relayed all the same"
    );
    let refused: Vec<&Value> = acks.iter().filter(|a| has(a, "inbox")).collect();
    let last = refused.last().expect("an ack with inbox");
    assert_eq!(
        str_of(get(get(last, "inbox"), "code")),
        "inbox_disk_full",
        "{}",
        to_json(last)
    );
    // The member online got the whole item.
    for expected in std::iter::once(vec![9u8; 50]).chain(chunks) {
        let (_, _, bytes) = read_binary_event(&mut online);
        assert_eq!(bytes, expected);
    }
    assert_eq!(
        str_of(get(&online.expect_event("inbox-removed"), "reason")),
        "full"
    );
    assert_eq!(server.metric("sharethings_inbox_items"), 0);
    server.assert_healthy();
    // Its file went with it: a small item fits again.
    let acks = send_item(&mut sender, 2, &[3u8; 10], &[vec![4u8; 1000]]);
    assert!(
        bool_of(get(get(&acks[0], "inbox"), "kept")),
        "{}",
        to_json(&acks[0])
    );
    assert_eq!(server.metric("sharethings_inbox_items"), 1);
}
