//! The inbox on disk through ShareThings events, on virtual time and files in memory: only an
//! index in memory, files removed with their items, a full disk refused with a typed ack while
//! the relay goes on, reads bounded per turn, a restart that brings a session back to its
//! members only (tokens work, revoked ones stay revoked), items found at start expiring on
//! their own; and who fetched what.

use std::sync::Arc;

use miniserde::json::{self, Value};

use super::app_tests::*;
use super::files::fake::FakeFiles;
use super::{DiskInbox, InboxLimits, NewItem};
use crate::app::tests::{call, code, config, field, join_json, succeeded, text_of};
use crate::app::*;
use crate::engine::AppTimers;
use crate::socketio::harness::{ms, Client, Harness};

/// The wall clock at the first start, ms since the UNIX epoch.
const WALL: u64 = 1_800_000_000_000;
const CHUNK: usize = 40_000;

fn on_disk(files: &FakeFiles, wall_ms: u64, read_bytes: usize) -> Harness<ShareThings> {
    let mut config = config();
    config.inbox = InboxLimits {
        ttl: TTL,
        session_bytes: 8 << 20,
        total_bytes: 1 << 20,
        meta_bytes: META_BYTES,
    };
    let disk = DiskInbox {
        files: Box::new(files.clone()),
        total_bytes: 16 << 20,
        read_bytes,
    };
    let app = ShareThings::new(
        config,
        [9; 32],
        Instant::now(),
        Arc::new(Metrics::default()),
    )
    .with_disk_inbox(disk, wall_ms);
    let first = app.first_deadline();
    let mut h = Harness::new(app);
    if let Some((at, key)) = first {
        AppTimers::set(&mut h.timers, at, key).expect("room for a timer");
    }
    h
}

fn item_files(files: &FakeFiles) -> usize {
    let disk = files.disk();
    disk.files
        .keys()
        .filter(|p| p.to_string_lossy().ends_with(".item"))
        .count()
}

fn send_chunk(h: &mut Harness<ShareThings>, at: Duration, c: Client, index: u64) -> Value {
    h.text(
        at,
        c,
        &format!(
            r#"451-1["chunk",{{"sessionId":"r","chunk":{{"contentId":"c1","chunkIndex":{index},"totalChunks":2,"iv":"aXY=","encryptedData":{{"_placeholder":true,"num":0}}}}}}]"#
        ),
    );
    h.binary(at, c, &vec![index as u8 + 1; CHUNK]);
    take_ack(h, c).0
}

/// A creates "r" with its inbox on and keeps item `c1` of two chunks; returns A and its token.
fn keep_one_item(h: &mut Harness<ShareThings>) -> (Client, String) {
    let a = h.connect(ms(0));
    let created = create_with_inbox(h, ms(1), a, "r");
    let (ack, _) = send_item(h, ms(2), a, "c1", 2, 100);
    assert!(kept(&ack), "{}", json::to_string(&ack));
    for index in 0..2 {
        assert!(succeeded(&send_chunk(h, ms(3), a, index)));
    }
    (a, text_of(field(&created, "token")).to_string())
}

/// The `clientId`s of the members of "r", in the order they joined.
fn member_ids(h: &Harness<ShareThings>) -> Vec<String> {
    let rooms = &h.layer.app.rooms;
    let room = rooms.named("r").expect("room r is live");
    rooms
        .members_of(room)
        .map(|m| m.client_id.clone())
        .collect()
}

/// `inbox-fetch` of `c1` from `from`: the ack and the chunks' bytes, in order.
fn fetch(h: &mut Harness<ShareThings>, at: Duration, c: Client, from: u64) -> (Value, Vec<String>) {
    let request = format!(r#"{{"sessionId":"r","contentId":"c1","fromChunk":{from}}}"#);
    let (ack, frames) = call(h, at, c, "inbox-fetch", &request);
    let bytes = frames.into_iter().filter(|f| f.starts_with('<')).collect();
    (ack, bytes)
}

/// How the harness shows a chunk's ciphertext (the integration tests compare the bytes).
fn chunk_frame() -> String {
    format!("<{CHUNK} bytes>")
}

#[test]
fn only_an_index_is_in_memory_and_the_files_go_with_their_items() {
    let files = FakeFiles::default();
    let mut h = on_disk(&files, WALL, 1 << 20);
    let (a, _) = keep_one_item(&mut h);
    let app = &h.layer.app;
    assert_eq!(app.inboxes.item_count(), 1);
    assert!(
        app.inboxes.used_bytes() < 3000,
        "the index only: {}",
        app.inboxes.used_bytes()
    );
    assert!(app.inboxes.disk_bytes() > 2 * CHUNK as u64);
    assert_eq!(item_files(&files), 1);
    assert!(files.disk().written_once());

    let (ack, _) = call(
        &mut h,
        ms(5),
        a,
        "inbox-delete",
        r#"{"sessionId":"r","contentId":"c1"}"#,
    );
    assert!(succeeded(&ack));
    assert_eq!(item_files(&files), 0, "a deleted item's file goes");
    let (ack, _) = send_item(&mut h, ms(6), a, "c2", 1, 10);
    assert!(kept(&ack));
    assert_eq!(item_files(&files), 1);
    h.expire(ms(7) + TTL);
    assert_eq!(item_files(&files), 0, "an expired item's file goes");
    let room_file = files
        .disk()
        .files
        .values()
        .map(|f| f.len() as u64)
        .sum::<u64>();
    assert_eq!(
        h.layer.app.inboxes.disk_bytes(),
        room_file + super::disk::FILE_OVERHEAD,
        "what is left is the room's own file"
    );
}

#[test]
fn a_full_disk_refuses_the_item_with_its_code_and_the_relay_goes_on() {
    let files = FakeFiles::default();
    let mut h = on_disk(&files, WALL, 1 << 20);
    let a = h.connect(ms(0));
    let b = h.connect(ms(0));
    create_with_inbox(&mut h, ms(1), a, "r");
    join_as(&mut h, ms(2), b, "r", "B");
    h.sent(a);
    files.disk().space = Some(50);
    let (ack, _) = send_item(&mut h, ms(3), a, "c1", 2, 100);
    assert!(succeeded(&ack), "relayed all the same");
    assert_eq!(text_of(field(inbox_of(&ack), "code")), "inbox_disk_full");
    assert!(h.sent(b).contains(&"<100 bytes>".to_string()));
    files.disk().space = None;
    files.disk().failing = Some(std::io::ErrorKind::PermissionDenied);
    let (ack, _) = send_item(&mut h, ms(4), a, "c2", 2, 100);
    assert_eq!(text_of(field(inbox_of(&ack), "code")), "inbox_disk_error");
    files.disk().failing = None;
    let (ack, _) = send_item(&mut h, ms(5), a, "c3", 2, 100);
    assert!(kept(&ack), "kept again once the disk has room");
    // A chunk that does not fit drops its whole item, file and all.
    files.disk().space = Some(10);
    h.text(
        ms(6),
        a,
        r#"451-1["chunk",{"sessionId":"r","chunk":{"contentId":"c3","chunkIndex":0,"totalChunks":2,"iv":"aXY=","encryptedData":{"_placeholder":true,"num":0}}}]"#,
    );
    h.binary(ms(6), a, &[1; 100]);
    let (ack, _) = take_ack(&mut h, a);
    assert_eq!(text_of(field(inbox_of(&ack), "code")), "inbox_disk_full");
    assert_eq!(h.layer.app.inboxes.item_count(), 0);
    assert_eq!(item_files(&files), 0);
}

#[test]
fn a_fetch_reads_within_the_turns_budget_and_says_where_to_go_on() {
    let files = FakeFiles::default();
    let mut h = on_disk(&files, WALL, 4096);
    let (_, _) = keep_one_item(&mut h);
    let late = h.connect(ms(10));
    join_as(&mut h, ms(11), late, "r", "Late");
    let (ack, bytes) = fetch(&mut h, ms(12), late, 0);
    assert_eq!(number(field(&ack, "sent")), 1, "{}", json::to_string(&ack));
    assert_eq!(number(field(&ack, "next")), 1);
    assert_eq!(bytes, [chunk_frame()]);
    // The next turn reads the next chunk; the member that got the last one is recorded.
    let (ack, bytes) = fetch(&mut h, ms(13), late, 1);
    assert_eq!(number(field(&ack, "sent")), 1);
    assert!(matches!(field(&ack, "next"), Value::Null));
    assert_eq!(bytes.len(), 1);
}

#[test]
fn after_a_restart_the_session_comes_back_to_its_members_only() {
    let files = FakeFiles::default();
    let mut h = on_disk(&files, WALL, 1 << 20);
    let (_, token) = keep_one_item(&mut h);
    let b = h.connect(ms(4));
    let b_ack = join_as(&mut h, ms(4), b, "r", "B");
    let b_token = text_of(field(&b_ack, "token")).to_string();
    let (ack, _) = call(&mut h, ms(5), b, "leave", r#"{"sessionId":"r"}"#);
    assert!(succeeded(&ack));
    let a_id = member_ids(&h)[0].clone();
    drop(h);

    // A minute later, a new process on the same files.
    let mut h = on_disk(&files, WALL + 60_000, 1 << 20);
    assert_eq!(h.layer.app.inboxes.item_count(), 1);
    assert_eq!(
        h.layer.app.rooms.len(),
        0,
        "nothing is live before a join names it"
    );
    let stranger = h.connect(ms(0));
    let (ack, _) = call(
        &mut h,
        ms(1),
        stranger,
        "join",
        &join_json("r", "X", "wrong"),
    );
    assert_eq!(
        code(&ack),
        "invalid_passphrase",
        "{}",
        json::to_string(&ack)
    );
    // B left before the restart: its token stays revoked.
    let revoked = h.connect(ms(2));
    let (ack, _) = call(
        &mut h,
        ms(2),
        revoked,
        "join",
        &format!(r#"{{"sessionId":"r","clientName":"B","token":"{b_token}"}}"#),
    );
    assert!(!succeeded(&ack), "{}", json::to_string(&ack));
    // A's token from before the restart rejoins, as A.
    let back = h.connect(ms(3));
    let (ack, _) = call(
        &mut h,
        ms(3),
        back,
        "join",
        &format!(r#"{{"sessionId":"r","clientName":"A","token":"{token}"}}"#),
    );
    assert!(succeeded(&ack), "{}", json::to_string(&ack));
    assert_eq!(text_of(field(&ack, "clientId")), a_id);
    assert!(!matches!(field(&ack, "inbox"), Value::Null));
    let late = h.connect(ms(4));
    join_as(&mut h, ms(4), late, "r", "Late");
    let (ids, _, frames) = list_page(&mut h, ms(5), late, r#"{"sessionId":"r"}"#);
    assert_eq!(ids, ["c1"]);
    assert!(frames[0].contains(r#""sessionId":"r""#), "{frames:?}");
    assert!(frames[0].contains(r#""fetchedBy":[]"#), "{frames:?}");
    assert_eq!(frames[1], "<100 bytes>");
    h.sent(back);
    let (ack, bytes) = fetch(&mut h, ms(6), late, 0);
    assert_eq!(number(field(&ack, "sent")), 2);
    assert_eq!(bytes, [chunk_frame(), chunk_frame()]);
    let told = h.sent(back);
    assert!(
        told.iter()
            .any(|f| f.starts_with(r#"42["inbox-fetched",{"clientId":"#)
                && f.contains(r#""contentId":"c1""#)),
        "{told:?}"
    );
    // Who fetched it is on disk too: after another restart the listing still says so.
    let late_id = member_ids(&h)[1].clone();
    drop(h);
    let mut h = on_disk(&files, WALL + 120_000, 1 << 20);
    let c = h.connect(ms(0));
    join_as(&mut h, ms(1), c, "r", "C");
    let (_, _, frames) = list_page(&mut h, ms(2), c, r#"{"sessionId":"r"}"#);
    assert!(
        frames[0].contains(&format!(r#""fetchedBy":["{late_id}"]"#)),
        "{frames:?}"
    );
}

#[test]
fn items_found_at_start_expire_on_their_own_and_their_files_go() {
    let files = FakeFiles::default();
    let mut h = on_disk(&files, WALL, 1 << 20);
    keep_one_item(&mut h);
    drop(h);
    // Restarted half an hour later: the item has half an hour left, and nobody names "r".
    let mut h = on_disk(&files, WALL + 1_800_000, 1 << 20);
    assert_eq!(h.layer.app.inboxes.item_count(), 1);
    h.expire(ms(1_799_000));
    assert_eq!(item_files(&files), 1);
    h.expire(ms(1_800_010));
    assert_eq!(h.layer.app.inboxes.item_count(), 0);
    assert!(
        files.disk().files.is_empty()
            || files.disk().files.keys().all(|p| p.ends_with("server.key"))
    );
    assert_eq!(h.layer.app.inboxes.disk_bytes(), 0);
    // Started after the items expired: nothing comes back.
    drop(h);
    let h = on_disk(&files, WALL + 7_200_000, 1 << 20);
    assert_eq!(h.layer.app.inboxes.item_count(), 0);
}

#[test]
fn every_member_is_told_who_fetched_an_item_to_its_last_chunk() {
    let mut h = harness_with(1 << 20, 1 << 21);
    let (a, b) = room_with_one_item(&mut h);
    h.sent(a);
    let b_id = member_ids(&h)[1].clone();
    // A page that stops short of the last chunk records nothing.
    let (_, frames) = call(
        &mut h,
        ms(5),
        b,
        "inbox-fetch",
        r#"{"sessionId":"r","contentId":"c1","count":1}"#,
    );
    assert!(!frames.iter().any(|f| f.contains("inbox-fetched")));
    assert!(h.sent(a).is_empty());
    for _ in 0..2 {
        call(
            &mut h,
            ms(6),
            b,
            "inbox-fetch",
            r#"{"sessionId":"r","contentId":"c1","fromChunk":1}"#,
        );
    }
    let told = h.sent(a);
    let fetched: Vec<&String> = told
        .iter()
        .filter(|f| f.contains("inbox-fetched"))
        .collect();
    assert_eq!(
        fetched,
        [&format!(
            r#"42["inbox-fetched",{{"clientId":"{b_id}","contentId":"c1","sessionId":"r"}}]"#
        )],
        "once per member"
    );
    let (_, _, frames) = list_page(&mut h, ms(7), a, r#"{"sessionId":"r"}"#);
    assert!(
        frames[0].contains(&format!(r#""fetchedBy":["{b_id}"]"#)),
        "{frames:?}"
    );
}

#[test]
fn the_index_in_memory_is_bounded_whatever_the_disk_holds() {
    use super::{kept::Kept, ChunkKept, Inboxes, OfferedChunk, Refusal, RoomKey};
    use crate::util::arena::Handle;
    let limits = |total_bytes| InboxLimits {
        ttl: TTL,
        session_bytes: 1 << 30,
        total_bytes,
        meta_bytes: META_BYTES,
    };
    let disk = |files: &FakeFiles| DiskInbox {
        files: Box::new(files.clone()),
        total_bytes: 1 << 30,
        read_bytes: 1 << 20,
    };
    let envelope = |bytes: usize| Kept {
        json: bytes::Bytes::from_static(br#"{"content":{"contentId":"c","totalChunks":100000}}"#),
        data: Some(bytes::Bytes::from(vec![3u8; bytes])),
    };
    let files = FakeFiles::default();
    let cap = 64 * 1024;
    let mut inboxes = Inboxes::on_disk(limits(cap), disk(&files));
    let room = Handle::from_bits(1);
    inboxes.open(room, Some(RoomKey([1; 32])));
    let t0 = Instant::now();
    let record = crate::app::room_record::RoomRecord {
        nonce: 1,
        admission: crate::app::room_record::Admission::Fingerprint([2; 32]),
        owner: None,
    };
    inboxes
        .write_room_file(room, &record, &[])
        .expect("room file");
    inboxes
        .keep_item(
            room,
            NewItem {
                content_id: "c",
                sender: "",
                total_chunks: 100_000,
            },
            envelope(10),
            t0,
            WALL,
        )
        .expect("kept");
    // Tiny chunks: each costs the disk 1 byte of data and the index its entry.
    let mut kept = 0;
    for index in 0..100_000 {
        match inboxes.keep_chunk(room, "c", index, OfferedChunk::Envelope(envelope(1))) {
            ChunkKept::Kept => kept += 1,
            ChunkKept::Refused(refusal) => {
                assert_eq!(refusal, Refusal::ServerFull);
                break;
            }
            ChunkKept::Ignored => panic!("chunk {index} ignored"),
        }
    }
    assert!(kept > 100, "{kept} chunks kept");
    assert_eq!(
        inboxes.item_count(),
        0,
        "the chunk that did not fit took its item"
    );
    assert_eq!(inboxes.used_bytes(), 0);

    // Found at start with a memory cap that fits fewer items: the rest are removed.
    let mut inboxes = Inboxes::on_disk(limits(cap), disk(&files));
    inboxes.open(room, Some(RoomKey([1; 32])));
    inboxes
        .write_room_file(room, &record, &[])
        .expect("a stale room file is replaced");
    for n in 0..20 {
        let id = format!("item{n}");
        inboxes
            .keep_item(
                room,
                NewItem {
                    content_id: &id,
                    sender: "",
                    total_chunks: 1,
                },
                envelope(100),
                t0,
                WALL,
            )
            .expect("kept");
    }
    drop(inboxes);
    let small = 8 * super::DISK_ITEM_OVERHEAD;
    let mut restored = Inboxes::on_disk(limits(small), disk(&files));
    restored.restore(t0, WALL + 1000);
    let count = restored.item_count();
    assert!(count < 20 && count > 0, "{count} items back");
    assert!(restored.used_bytes() <= small);
    assert_eq!(
        files
            .disk()
            .files
            .keys()
            .filter(|p| p.to_string_lossy().ends_with(".item"))
            .count(),
        restored.item_count(),
        "the items that no longer fit are removed"
    );
}

#[test]
fn a_format_3_session_comes_back_with_its_access_key_its_creators_key_and_its_signed_envelopes() {
    use crate::app::tests::v3::{challenge, try_v3_join, v3_join_json, KEY};
    let files = FakeFiles::default();
    let mut h = on_disk(&files, WALL, 1 << 20);
    let a = h.connect(ms(0));
    let nonce = challenge(&mut h, ms(1), a);
    let mut create = v3_join_json("r", &KEY, &nonce);
    create.insert_str(1, r#""inbox":true,"#);
    let (ack, _) = call(&mut h, ms(1), a, "join", &create);
    assert!(succeeded(&ack), "{}", json::to_string(&ack));
    h.text(
        ms(2),
        a,
        r#"451-1["content",{"sessionId":"r","content":{"contentId":"c1","format":3,"totalChunks":1,"iv":"aXY=","by":"ZGV2aWNl","seq":7,"sig":"c2ln"},"data":{"_placeholder":true,"num":0}}]"#,
    );
    h.binary(ms(2), a, &[5; 256]);
    assert!(kept(&take_ack(&mut h, a).0));
    drop(h);
    let disk = files.disk();
    let room_file = disk
        .files
        .iter()
        .find(|(p, _)| p.ends_with("room"))
        .map(|(_, bytes)| String::from_utf8_lossy(bytes).into_owned())
        .expect("a room file");
    assert!(
        room_file.contains("accessKey") && room_file.contains("owner"),
        "{room_file}"
    );
    drop(disk);

    let mut h = on_disk(&files, WALL + 60_000, 1 << 20);
    let stranger = h.connect(ms(0));
    let (ack, _) = try_v3_join(&mut h, ms(1), stranger, "r", &[8; 32]);
    assert_eq!(code(&ack), "access_denied", "{}", json::to_string(&ack));
    let b = h.connect(ms(2));
    let (ack, _) = try_v3_join(&mut h, ms(2), b, "r", &KEY);
    assert!(succeeded(&ack), "{}", json::to_string(&ack));
    assert!(matches!(field(&ack, "created"), Value::Bool(false)));
    let (ids, _, frames) = list_page(&mut h, ms(3), b, r#"{"sessionId":"r"}"#);
    assert_eq!(ids, ["c1"]);
    assert!(
        frames[0].contains(r#""by":"ZGV2aWNl""#)
            && frames[0].contains(r#""seq":7"#)
            && frames[0].contains(r#""sig":"c2ln""#),
        "{frames:?}"
    );
    assert_eq!(frames[1], "<256 bytes>");
    // Back with its creator's key: a member that is not the creator cannot empty it.
    let (ack, _) = call(
        &mut h,
        ms(4),
        b,
        "clear-all-content",
        r#"{"sessionId":"r"}"#,
    );
    assert_eq!(code(&ack), "not_allowed", "{}", json::to_string(&ack));
    let (ids, ..) = list_page(&mut h, ms(5), b, r#"{"sessionId":"r"}"#);
    assert_eq!(ids, ["c1"]);
}
