//! tests/vectors/format-v3.json for the CLI's tests, and the helpers to read it.

use data_encoding::{BASE64, HEXLOWER};
use serde_json::Value;

use super::keys::{Device, RoomSecret};

pub fn all() -> Value {
    serde_json::from_str(include_str!("../../../tests/vectors/format-v3.json")).unwrap()
}

pub fn hex(v: &Value) -> Vec<u8> {
    HEXLOWER
        .decode(v.as_str().expect("hex string").as_bytes())
        .unwrap()
}

pub fn hex32(v: &Value) -> [u8; 32] {
    hex(v).try_into().unwrap()
}

pub fn b64(v: &Value) -> Vec<u8> {
    BASE64.decode(v.as_str().unwrap().as_bytes()).unwrap()
}

/// The vectors' room secret (with prs).
pub fn room(v: &Value) -> RoomSecret {
    let r = &v["room"];
    RoomSecret {
        session_id: r["sessionId"].as_str().unwrap().to_string(),
        room_key: hex32(&r["roomKey"]),
        creator_pk: hex32(&r["creatorPk"]),
        prs: Some(hex32(&r["prs"])),
    }
}

/// The vectors' devices: creator, member, applicant.
pub fn devices(v: &Value) -> Vec<Device> {
    v["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let device = Device::from_seed(&hex32(&d["seed"]));
            assert_eq!(device.id(), d["id"].as_str().unwrap());
            device
        })
        .collect()
}
