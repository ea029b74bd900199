//! The inbox's files without a disk: every byte written once, read back as written, found
//! again at start; damaged and cut-short files skipped (never a panic); a full disk and a
//! failing one reported as such, with nothing half-written left behind.

use super::*;
use crate::app::inbox::files::fake::FakeFiles;
use crate::app::room_record::Admission;

const ROOM: RoomKey = RoomKey([7; 32]);
const CHUNK: usize = 256 * 1024;

fn record() -> RoomRecord {
    RoomRecord {
        nonce: 42,
        admission: Admission::Fingerprint([1; 32]),
        owner: None,
    }
}

fn revocation(n: u64) -> Revocation {
    Revocation {
        client_id: format!("member{n}"),
        last_issue: n,
        expires_ms: 1_000_000 + n,
    }
}

const ITEM_JSON: &[u8] = br#"{"content":{"contentId":"c1","format":2,"iv":"aXY=","totalChunks":3},"data":{"_placeholder":true,"num":0},"from":"f","inbox":true}"#;
const CHUNK_JSON: &[u8] = br#"{"chunk":{"contentId":"c1","chunkIndex":0,"encryptedData":{"_placeholder":true,"num":0},"iv":"aXY=","totalChunks":3},"from":"f"}"#;

/// A room with one item of three 256 KiB chunks, fetched by one member.
fn filled(files: &FakeFiles) -> (DiskStore<FakeFiles>, ItemFile) {
    let mut store = DiskStore::new(files.clone());
    store
        .create_room(ROOM, &record(), &[revocation(1)])
        .expect("room");
    store
        .append_revocation(ROOM, &revocation(2))
        .expect("revoked");
    let (mut file, _) = store
        .create_item(ROOM, "c1", 5_000, ITEM_JSON, &[9; 300])
        .expect("item");
    for index in [0, 2, 1] {
        let data = vec![index as u8; CHUNK];
        store
            .append(&mut file, Kind::Chunk, index, CHUNK_JSON, &data)
            .expect("chunk");
    }
    let fetched = fetched_json("member3");
    store
        .append(&mut file, Kind::Fetched, 0, fetched.as_bytes(), &[])
        .expect("fetched");
    (store, file)
}

#[test]
fn every_byte_is_written_once_and_little_more_than_what_is_kept() {
    let files = FakeFiles::default();
    let (_, file) = filled(&files);
    let disk = files.disk();
    assert!(disk.written_once(), "no byte of any file written twice");
    // The ciphertext kept, against every byte written: the room's file, the item's envelope,
    // each chunk's header and envelope (162 bytes for 256 KiB), the fetch record.
    let kept = 3 * CHUNK + 300;
    let written = disk.written_bytes();
    let ratio = written as f64 / kept as f64;
    assert!(
        ratio < 1.002,
        "{written} bytes written for {kept} kept ({ratio})"
    );
    assert_eq!(file.len, disk.files[&file.path].len() as u64);
    for path in disk.files.keys() {
        let name = path.to_string_lossy();
        assert!(
            !name.contains("c1"),
            "no client-chosen name on disk: {name}"
        );
    }
}

#[test]
fn what_is_written_is_found_again_at_start_and_read_back_as_written() {
    let files = FakeFiles::default();
    let (written, file) = filled(&files);
    drop(written);
    let mut store = DiskStore::new(files.clone());
    let rooms = store.scan();
    assert_eq!(rooms.len(), 1);
    let room = &rooms[0];
    assert_eq!((room.key, &room.record), (ROOM, &record()));
    assert_eq!(room.revoked, vec![revocation(1), revocation(2)]);
    let item = &room.items[0];
    assert_eq!((item.content_id.as_str(), item.total_chunks), ("c1", 3));
    assert_eq!(item.expires_ms, 5_000);
    assert_eq!(item.fetched_by, ["member3"]);
    assert_eq!(item.file, file);
    let indices: Vec<u64> = item.chunks.iter().map(|(i, _)| *i).collect();
    assert_eq!(indices, [0, 2, 1], "in the order they came");
    let read = store.read(&item.file, item.item).expect("item");
    assert_eq!(
        (read.json.as_slice(), read.data.as_slice()),
        (ITEM_JSON, &[9u8; 300][..])
    );
    for (index, span) in &item.chunks {
        let read = store.read(&item.file, *span).expect("chunk");
        assert_eq!(read.json, CHUNK_JSON);
        assert_eq!(read.data, vec![*index as u8; CHUNK]);
    }
}

#[test]
fn a_file_cut_short_keeps_its_whole_records_and_takes_no_more() {
    let files = FakeFiles::default();
    let (_, file) = filled(&files);
    // A crash in the middle of the third chunk: the first two survive.
    let cut =
        HEADER_LEN + ITEM_JSON.len() + 300 + 2 * (HEADER_LEN + CHUNK_JSON.len() + CHUNK) + 100;
    files
        .disk()
        .files
        .get_mut(&file.path)
        .expect("file")
        .truncate(cut);
    let mut store = DiskStore::new(files.clone());
    let rooms = store.scan();
    let item = &rooms[0].items[0];
    assert_eq!(item.chunks.len(), 2);
    assert!(item.fetched_by.is_empty());
    assert!(!item.file.appendable, "nothing goes after a damaged record");
    let mut file = item.file.clone();
    assert!(store
        .append(&mut file, Kind::Chunk, 1, CHUNK_JSON, &[1])
        .is_err());
}

#[test]
fn damaged_files_are_skipped_and_removed_never_a_panic() {
    let files = FakeFiles::default();
    let (mut store, file) = filled(&files);
    let (other, _) = store
        .create_item(ROOM, "c2", 5_000, ITEM_JSON, &[1; 10])
        .expect("item");
    // One item's first record damaged; a stray file; a directory without its room file.
    files.disk().files.get_mut(&other.path).expect("file")[HEADER_LEN + 3] ^= 0xff;
    let stray_dir = PathBuf::from(data_encoding::HEXLOWER.encode(&[8; 32]));
    let stray = stray_dir.join("x.item");
    files.disk().files.insert(stray.clone(), vec![0; 64]);
    files.disk().dirs.push(stray_dir);
    let rooms = DiskStore::new(files.clone()).scan();
    assert_eq!(rooms.len(), 1, "the room without a room file is gone");
    assert_eq!(rooms[0].items.len(), 1, "the damaged item is gone");
    assert_eq!(rooms[0].items[0].file, file);
    let disk = files.disk();
    assert!(!disk.files.contains_key(&other.path) && !disk.files.contains_key(&stray));
    drop(disk);

    // Every single-byte change and every length of a real file: scanned without a panic, and
    // whatever comes back reads back within the file.
    let pristine = files.disk().files.clone();
    let original = pristine[&file.path].clone();
    let small = &original[..HEADER_LEN + ITEM_JSON.len() + 300 + HEADER_LEN + 40];
    for at in (0..small.len()).step_by(3) {
        for damaged in [flip(small, at), small[..at].to_vec()] {
            let files = FakeFiles::default();
            files.disk().files = pristine.clone();
            files.disk().files.insert(file.path.clone(), damaged);
            let mut store = DiskStore::new(files.clone());
            for room in store.scan() {
                for item in room.items {
                    assert!(store.read(&item.file, item.item).is_ok());
                }
            }
        }
    }
}

fn flip(bytes: &[u8], at: usize) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out[at] ^= 0x5a;
    out
}

#[test]
fn a_full_disk_is_reported_as_such_and_leaves_no_half_item() {
    let files = FakeFiles::default();
    let mut store = DiskStore::new(files.clone());
    store.create_room(ROOM, &record(), &[]).expect("room");
    files.disk().space = Some(100);
    let err = store
        .create_item(ROOM, "c1", 5_000, ITEM_JSON, &[9; 300])
        .expect_err("no room for it");
    assert_eq!(err.kind(), io::ErrorKind::StorageFull);
    assert_eq!(
        files.disk().files.len(),
        1,
        "only the room file: no half item"
    );

    files.disk().space = Some(1 << 20);
    let (mut file, _) = store
        .create_item(ROOM, "c1", 5_000, ITEM_JSON, &[9; 300])
        .expect("item");
    files.disk().space = Some(10);
    let err = store
        .append(&mut file, Kind::Chunk, 0, CHUNK_JSON, &[1; 100])
        .expect_err("full");
    assert_eq!(err.kind(), io::ErrorKind::StorageFull);
    files.disk().failing = Some(io::ErrorKind::PermissionDenied);
    let err = store
        .append_revocation(ROOM, &revocation(1))
        .expect_err("failing");
    assert_eq!(err.kind(), io::ErrorKind::PermissionDenied);
    let err = store
        .create_room(RoomKey([3; 32]), &record(), &[])
        .expect_err("failing");
    assert_eq!(err.kind(), io::ErrorKind::PermissionDenied);
}

#[test]
fn the_server_key_is_made_once_and_a_damaged_one_takes_the_rooms_with_it() {
    let mut files = FakeFiles::default();
    let key = server_key(&mut files, [5; 32]).expect("made");
    assert_eq!(key, [5; 32]);
    assert_eq!(server_key(&mut files, [6; 32]).expect("read"), [5; 32]);
    filled(&files);
    files
        .disk()
        .files
        .insert(PathBuf::from(KEY_FILE), vec![1; 7]);
    assert_eq!(server_key(&mut files, [6; 32]).expect("replaced"), [6; 32]);
    assert!(DiskStore::new(files.clone()).scan().is_empty());
}
