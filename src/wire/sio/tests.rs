//! Tests of [`super`] (`sio`).

use super::*;
use miniserde::json::Array;
use proptest::prelude::*;

const MAX: Limits = Limits {
    attachments: 10,
    json_depth: 32,
    json_nodes: 1000,
    json_expansion: 24,
};

/// (wire, kind, nsp, id, attachments, JSON payload).
type Fixture = (
    &'static str,
    PacketKind,
    &'static str,
    Option<u64>,
    usize,
    Option<&'static str>,
);

/// The socket.io-protocol v5 README's
/// "Packet encoding" tables and the socket.io-parser test fixtures.
#[rustfmt::skip]
const FIXTURES: &[Fixture] = &[
    ("0", PacketKind::Connect, "/", None, 0, None),
    (r#"0{"sid":"wZX3oN0bSVIhsaknAAAI"}"#, PacketKind::Connect, "/", None, 0, Some(r#"{"sid":"wZX3oN0bSVIhsaknAAAI"}"#)),
    ("0/admin,", PacketKind::Connect, "/admin", None, 0, None),
    (r#"0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"}"#, PacketKind::Connect, "/admin", None, 0, Some(r#"{"sid":"oSO0OpakMV_3jnilAAAA"}"#)),
    (r#"4{"message":"Not authorized"}"#, PacketKind::ConnectError, "/", None, 0, Some(r#"{"message":"Not authorized"}"#)),
    (r#"2["foo"]"#, PacketKind::Event, "/", None, 0, Some(r#"["foo"]"#)),
    (r#"2/admin,["bar"]"#, PacketKind::Event, "/admin", None, 0, Some(r#"["bar"]"#)),
    (r#"51-["baz",{"_placeholder":true,"num":0}]"#, PacketKind::BinaryEvent, "/", None, 1, Some(r#"["baz",{"_placeholder":true,"num":0}]"#)),
    (r#"52-/admin,["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#, PacketKind::BinaryEvent, "/admin", None, 2, Some(r#"["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#)),
    (r#"212["foo"]"#, PacketKind::Event, "/", Some(12), 0, Some(r#"["foo"]"#)),
    ("312[]", PacketKind::Ack, "/", Some(12), 0, Some("[]")),
    (r#"2/admin,13["foo"]"#, PacketKind::Event, "/admin", Some(13), 0, Some(r#"["foo"]"#)),
    (r#"3/admin,13["bar"]"#, PacketKind::Ack, "/admin", Some(13), 0, Some(r#"["bar"]"#)),
    (r#"51-14["foo",{"_placeholder":true,"num":0}]"#, PacketKind::BinaryEvent, "/", Some(14), 1, Some(r#"["foo",{"_placeholder":true,"num":0}]"#)),
    (r#"314["bar"]"#, PacketKind::Ack, "/", Some(14), 0, Some(r#"["bar"]"#)),
    (r#"61-15["bar",{"_placeholder":true,"num":0}]"#, PacketKind::BinaryAck, "/", Some(15), 1, Some(r#"["bar",{"_placeholder":true,"num":0}]"#)),
    ("1", PacketKind::Disconnect, "/", None, 0, None),
    ("1/admin,", PacketKind::Disconnect, "/admin", None, 0, None),
    (r#"0/woot,{"token":"123"}"#, PacketKind::Connect, "/woot", None, 0, Some(r#"{"token":"123"}"#)),
    ("1/woot,", PacketKind::Disconnect, "/woot", None, 0, None),
    (r#"2["a",1,{}]"#, PacketKind::Event, "/", None, 0, Some(r#"["a",1,{}]"#)),
    (r#"2[1,"a",{}]"#, PacketKind::Event, "/", None, 0, Some(r#"[1,"a",{}]"#)),
    (r#"2/test,1["a",1,{}]"#, PacketKind::Event, "/test", Some(1), 0, Some(r#"["a",1,{}]"#)),
    (r#"3123["a",1,{}]"#, PacketKind::Ack, "/", Some(123), 0, Some(r#"["a",1,{}]"#)),
    (r#"4"Unauthorized""#, PacketKind::ConnectError, "/", None, 0, Some(r#""Unauthorized""#)),
    (r#"4{"message":"Unauthorized"}"#, PacketKind::ConnectError, "/", None, 0, Some(r#"{"message":"Unauthorized"}"#)),
    (r#"51-["hello"]"#, PacketKind::BinaryEvent, "/", None, 1, Some(r#"["hello"]"#)),
    (r#"50-["hello"]"#, PacketKind::BinaryEvent, "/", None, 0, Some(r#"["hello"]"#)),
];

#[test]
fn decodes_protocol_examples() {
    for &(wire, kind, nsp, id, attachments, data) in FIXTURES {
        let p = decode(wire, MAX).unwrap_or_else(|e| panic!("{wire}: {e}"));
        assert_eq!(p.kind, kind, "{wire}");
        assert_eq!(p.nsp, nsp, "{wire}");
        assert_eq!(p.id, id, "{wire}");
        assert_eq!(p.attachments, attachments, "{wire}");
        assert_eq!(
            p.data.as_ref().map(json::to_string),
            data.map(str::to_owned),
            "{wire}"
        );
    }
}

#[test]
fn encodes_protocol_examples() {
    for &(wire, kind, nsp, id, attachments, data) in FIXTURES {
        let value = data.map(|d| json::from_str::<Value>(d).unwrap());
        assert_eq!(encode(kind, attachments, nsp, id, value.as_ref()), wire);
    }
}

#[test]
fn engine_io_wrapped() {
    // `40{"sid":…}` on the wire is Engine.IO message `4` + Socket.IO CONNECT.
    let (kind, data) =
        super::super::eio::decode_text(r#"40{"sid":"wZX3oN0bSVIhsaknAAAI"}"#).unwrap();
    assert_eq!(kind, super::super::eio::PacketKind::Message);
    let p = decode(data, MAX).unwrap();
    assert_eq!(p.kind, PacketKind::Connect);
}

#[test]
fn placeholder_shape() {
    assert_eq!(
        json::to_string(&placeholder(3)),
        r#"{"_placeholder":true,"num":3}"#
    );
    check_placeholders(&placeholder(3), 4).unwrap();
    assert_eq!(
        check_placeholders(&placeholder(4), 4),
        Err(DecodeError::InvalidPlaceholder)
    );
}

#[test]
fn rejects_what_the_reference_rejects() {
    use DecodeError::*;
    let cases: &[(&str, DecodeError)] = &[
        // socket.io-parser test/parser.js "throw an error upon parsing error"
        (r#"442["some","data""#, InvalidJson),
        (r#"0/admin,"invalid""#, InvalidPayload),
        ("0[]", InvalidPayload),
        ("1/admin,{}", InvalidPayload),
        (r#"2/admin,"invalid"#, InvalidJson),
        ("2/admin,{}", InvalidPayload),
        (r#"2[{"toString":"foo"}]"#, InvalidPayload),
        (r#"2[true,"foo"]"#, InvalidPayload),
        (r#"2[null,"bar"]"#, InvalidPayload),
        (r#"2["connect"]"#, InvalidPayload),
        (r#"2["disconnect","123"]"#, InvalidPayload),
        ("999", UnknownPacketType),
        ("5", IllegalAttachments),
        // Every reserved name, and the binary kind too.
        (r#"2["connect_error"]"#, InvalidPayload),
        (r#"2["disconnecting"]"#, InvalidPayload),
        (r#"2["newListener"]"#, InvalidPayload),
        (
            r#"51-["removeListener",{"_placeholder":true,"num":0}]"#,
            InvalidPayload,
        ),
        // Shapes per kind.
        ("", Empty),
        ("7", UnknownPacketType),
        ("a", UnknownPacketType),
        ("2", InvalidPayload),
        ("2[]", InvalidPayload),
        ("3", InvalidPayload),
        ("3{}", InvalidPayload),
        ("4", InvalidPayload),
        ("4[]", InvalidPayload),
        ("41", InvalidPayload),
        ("1[]", InvalidPayload),
        ("0null", InvalidPayload),
        ("2 ", InvalidJson),
        (r#"2["a"]x"#, InvalidJson),
        ("2admin,[\"a\"]", InvalidJson),
        // Attachments.
        (r#"5-["a"]"#, IllegalAttachments),
        (r#"5x-["a"]"#, IllegalAttachments),
        (r#"51["a"]"#, IllegalAttachments),
        (r#"6["a"]"#, IllegalAttachments),
        (r#"511-["a"]"#, TooManyAttachments),
        (r#"599999999999999999999999-["a"]"#, TooManyAttachments),
        // Ack ids.
        (r#"218446744073709551616["a"]"#, InvalidAckId),
        // Placeholders.
        (
            r#"51-["a",{"_placeholder":true,"num":1}]"#,
            InvalidPlaceholder,
        ),
        (
            r#"51-["a",{"_placeholder":true,"num":-1}]"#,
            InvalidPlaceholder,
        ),
        (
            r#"51-["a",{"_placeholder":true,"num":0.5}]"#,
            InvalidPlaceholder,
        ),
        (
            r#"51-["a",{"_placeholder":true,"num":"0"}]"#,
            InvalidPlaceholder,
        ),
        (r#"51-["a",{"_placeholder":true}]"#, InvalidPlaceholder),
        (
            r#"51-["a",{"_placeholder":false,"num":0}]"#,
            InvalidPlaceholder,
        ),
        (
            r#"51-["a",{"_placeholder":true,"num":0,"x":1}]"#,
            InvalidPlaceholder,
        ),
        (
            r#"61-1[{"x":[{"_placeholder":true,"num":3}]}]"#,
            InvalidPlaceholder,
        ),
    ];
    for &(wire, want) in cases {
        assert_eq!(decode(wire, MAX).map(|p| p.kind), Err(want), "{wire}");
    }
}

#[test]
fn accepts_edge_cases() {
    let max_id = format!("2{}[\"a\"]", u64::MAX);
    assert_eq!(decode(&max_id, MAX).unwrap().id, Some(u64::MAX));
    // A namespace running to the end of the packet, without a comma.
    assert_eq!(decode("0/admin", MAX).unwrap().nsp, "/admin");
    // Leading zeros in counts and ids are plain decimal.
    let p = decode(r#"601-007[{"_placeholder":true,"num":0.0}]"#, MAX).unwrap();
    assert_eq!((p.attachments, p.id), (1, Some(7)));
    // Placeholders nested anywhere, shared, or unused.
    decode(
        r#"62-/a,9[{"x":[[{"_placeholder":true,"num":1}]],"y":{"_placeholder":true,"num":1}}]"#,
        MAX,
    )
    .unwrap();
    // Non-binary kinds do not interpret placeholders, like the reference.
    decode(r#"2["a",{"_placeholder":true,"num":99}]"#, MAX).unwrap();
    // Whitespace around JSON is JSON.
    decode(" 2", MAX).unwrap_err();
    decode("2 [\"a\"] ", MAX).unwrap();
}

#[test]
fn json_depth_and_size_are_capped_before_parsing() {
    let nested = |depth: usize| format!("2[\"a\",{}{}]", "[".repeat(depth), "]".repeat(depth));
    // The outer array counts: 31 more levels make 32.
    decode(&nested(31), MAX).unwrap();
    assert_eq!(
        decode(&nested(32), MAX).unwrap_err(),
        DecodeError::JsonTooDeep
    );
    assert_eq!(
        decode(&nested(200_000), MAX).unwrap_err(),
        DecodeError::JsonTooDeep
    );
    let deep_obj = format!("61-[{}1{}]", "{\"a\":".repeat(200_000), "}".repeat(200_000));
    assert_eq!(
        decode(&deep_obj, MAX).unwrap_err(),
        DecodeError::JsonTooDeep
    );
    // Brackets and commas inside strings (escaped quotes too) are text, not structure.
    let text = format!("2[\"a\",\"{}\\\"{}\"]", "[,:".repeat(5000), "{".repeat(100));
    decode(&text, MAX).unwrap();
    let wide = |n: usize| format!("2[\"a\"{}]", ",1".repeat(n));
    decode(&wide(998), MAX).unwrap();
    assert_eq!(
        decode(&wide(999), MAX).unwrap_err(),
        DecodeError::JsonTooLarge
    );
    let pairs = format!("2[\"a\",{{{}\"z\":1}}]", "\"k\":1,".repeat(600));
    assert_eq!(decode(&pairs, MAX).unwrap_err(), DecodeError::JsonTooLarge);
}

#[test]
fn json_that_parses_into_far_more_than_its_length_is_refused_before_parsing() {
    let limits = Limits {
        json_nodes: 1 << 20,
        ..MAX
    };
    // The review's B1: one-member objects take a B-tree node each, about 100 times their
    // text; nested arrays of one number are dearer than their text too.
    let objects = format!("2[\"a\",[{}{{\"\":0}}]]", "{\"\":0},".repeat(20_000));
    assert_eq!(
        decode(&objects, limits).unwrap_err(),
        DecodeError::JsonTooCostly
    );
    let arrays = format!("2[\"a\",[{}[0]]]", "[0],".repeat(50_000));
    assert_eq!(
        decode(&arrays, limits).unwrap_err(),
        DecodeError::JsonTooCostly
    );
    // What real clients send passes: a 64 KiB chunk as the first release sends it (the
    // ciphertext's bytes as numbers), and small packets, which the allowance covers.
    let bytes: Vec<String> = (0..65_536u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24).to_string())
        .collect();
    let chunk = format!(
        "2[\"chunk\",{{\"chunk\":{{\"encryptedData\":[{}]}}}}]",
        bytes.join(",")
    );
    decode(&chunk, limits).unwrap();
    decode(
        r#"2["join",{"sessionId":"s","clientName":"c","fingerprint":{"v":2,"mac":"x"}}]"#,
        MAX,
    )
    .unwrap();
    // The bound is a multiple of the length, stated in the limits.
    let cost = json_cost::check(&chunk[1..], limits).unwrap();
    assert!(cost.bytes <= json_cost::bytes_allowed(chunk.len() - 1, limits));
    assert!(cost.bytes > 16 * (chunk.len() - 1), "about 18x: {cost:?}");
}

/// Pins how miniserde treats JSON that the reference's `JSON.parse`/`JSON.stringify`
/// treat differently (see the report in the module doc).
#[test]
fn miniserde_json_behaviour() {
    let round = |s: &str| json::from_str::<Value>(s).map(|v| json::to_string(&v));
    assert_eq!(round("1.0").unwrap(), "1.0");
    assert_eq!(round("1e2").unwrap(), "100.0");
    assert_eq!(round("-0").unwrap(), "0");
    assert_eq!(round("-0.0").unwrap(), "-0.0");
    assert_eq!(round("1e16").unwrap(), "1e+16");
    assert_eq!(round("1e-6").unwrap(), "1e-6");
    assert_eq!(
        round("18446744073709551615").unwrap(),
        "18446744073709551615"
    );
    assert_eq!(
        round("18446744073709551616").unwrap(),
        "1.8446744073709552e+19"
    );
    assert_eq!(round("9007199254740993").unwrap(), "9007199254740993");
    assert_eq!(round(r#"{"b":1,"a":2,"b":3}"#).unwrap(), r#"{"a":2,"b":3}"#);
    assert_eq!(round(r#""\ud83d\ude00""#).unwrap(), "\"\u{1f600}\"");
    assert_eq!(round(r#""\u00e9\u0000""#).unwrap(), "\"é\\u0000\"");
    assert!(round("1e400").is_err());
    assert!(round(r#""\ud800""#).is_err());
    assert!(round(r#""\udc00""#).is_err());
}

fn kind_and_data() -> impl Strategy<Value = (PacketKind, usize, Option<Value>)> {
    let scalar = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<u64>().prop_map(|n| Value::Number(Number::U64(n))),
        (i64::MIN..0).prop_map(|n| Value::Number(Number::I64(n))),
        ".{0,12}".prop_map(Value::String),
    ];
    let args = proptest::collection::vec(scalar, 0..4);
    (0u8..7, "[a-z:-]{1,10}", args, 0usize..4).prop_map(|(digit, name, args, n)| {
        let kind = PacketKind::ALL[usize::from(digit)];
        let mut array: Array = args.into_iter().collect();
        match kind {
            PacketKind::Connect => {
                let mut o = Object::new();
                o.insert(name, Value::Array(array));
                (kind, 0, Some(Value::Object(o)))
            }
            PacketKind::Disconnect => (kind, 0, None),
            PacketKind::ConnectError => (kind, 0, Some(Value::String(name))),
            PacketKind::Event => {
                array.insert(0, Value::String(format!("ev{name}")));
                (kind, 0, Some(Value::Array(array)))
            }
            PacketKind::Ack => (kind, 0, Some(Value::Array(array))),
            PacketKind::BinaryEvent | PacketKind::BinaryAck => {
                array.extend((0..n).map(placeholder));
                if kind == PacketKind::BinaryEvent {
                    array.insert(0, Value::String(format!("ev{name}")));
                }
                (kind, n, Some(Value::Array(array)))
            }
        }
    })
}

proptest! {
    #[test]
    fn round_trip(
        (kind, attachments, data) in kind_and_data(),
        nsp in prop_oneof![Just("/".to_owned()), "/[a-z0-9/_-]{1,10}"],
        id in proptest::option::of(any::<u64>()),
    ) {
        let wire = encode(kind, attachments, &nsp, id, data.as_ref());
        let p = decode(&wire, MAX).map_err(|e| TestCaseError::fail(format!("{wire}: {e}")))?;
        prop_assert_eq!(p.kind, kind);
        prop_assert_eq!(&p.nsp, &nsp);
        prop_assert_eq!(p.id, id);
        prop_assert_eq!(p.attachments, attachments);
        prop_assert_eq!(p.data.as_ref().map(json::to_string), data.as_ref().map(json::to_string));
        prop_assert_eq!(encode(p.kind, p.attachments, &p.nsp, p.id, p.data.as_ref()), wire);
    }

    #[test]
    fn decode_never_panics(s in ".*") {
        let _ = decode(&s, MAX);
    }

    #[test]
    fn decode_never_panics_on_near_misses(s in r#"[0-6][0-9/,a-z\-\[\]{}":_.e]{0,40}"#) {
        let _ = decode(&s, MAX);
    }

    /// Bracket soup (with strings, escapes and separators) never panics the pre-scan or the
    /// parser, and whatever decodes is within the depth cap.
    #[test]
    fn json_structure_never_panics_and_decodes_only_within_the_caps(
        body in r#"[\[\]{}",:\\a1 ]{0,300}"#,
    ) {
        if let Ok(p) = decode(&format!("2[\"e\",{body}]"), MAX) {
            prop_assert!(depth(p.data.as_ref().unwrap()) <= MAX.json_depth);
        }
    }
}

fn depth(value: &Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(value, 1)];
    while let Some((v, d)) = stack.pop() {
        deepest = deepest.max(d);
        match v {
            Value::Array(a) => stack.extend(a.iter().map(|c| (c, d + 1))),
            Value::Object(o) => stack.extend(o.values().map(|c| (c, d + 1))),
            _ => {}
        }
    }
    deepest
}
