//! Request-target query strings: splitting the target, and reading the Engine.IO keys
//! (`EIO`, `transport`, `sid`, `b64`) and any other key the application needs.
//!
//! Decoding follows Node's `querystring` (which the reference server uses): `+` is a space,
//! `%XX` is a byte, an invalid escape is kept literally, invalid UTF-8 becomes U+FFFD. Keys
//! are decoded the same way; unknown keys are ignored; the first occurrence of a key wins.
//! Never fails and never panics.

/// The Engine.IO keys of a request's query string, decoded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EngineQuery {
    /// `EIO`: the protocol version (`"4"` for us).
    pub eio: Option<String>,
    /// `transport`: `"polling"` or `"websocket"`.
    pub transport: Option<String>,
    /// `sid`: the session id, once the handshake is done.
    pub sid: Option<String>,
    /// `b64`: the client wants binary as base64 on polling. True when present with a
    /// non-empty value (the reference tests the value's truthiness).
    pub b64: bool,
}

/// Splits a request target into its path and its query (without the `?`; empty if none).
pub fn split_target(target: &str) -> (&str, &str) {
    target.split_once('?').unwrap_or((target, ""))
}

/// Reads the Engine.IO keys from a query string (without the leading `?`).
pub fn parse_engine_query(query: &str) -> EngineQuery {
    let mut out = EngineQuery::default();
    let mut b64 = None;
    for (key, value) in pairs(query) {
        let slot = match key.as_str() {
            "EIO" => &mut out.eio,
            "transport" => &mut out.transport,
            "sid" => &mut out.sid,
            "b64" => &mut b64,
            _ => continue,
        };
        if slot.is_none() {
            *slot = Some(decode_component(value));
        }
    }
    out.b64 = b64.is_some_and(|v| !v.is_empty());
    out
}

/// The decoded value of the first `key` in a query string (without the leading `?`).
/// A key without `=` has the empty value.
pub fn query_param(query: &str, key: &str) -> Option<String> {
    pairs(query)
        .find(|(k, _)| k == key)
        .map(|(_, value)| decode_component(value))
}

/// The `&`-separated pairs of a query, keys decoded, values still raw. Empty pieces
/// (`a=1&&b=2`) are skipped, as Node does.
fn pairs(query: &str) -> impl Iterator<Item = (String, &str)> {
    query
        .split('&')
        .filter(|piece| !piece.is_empty())
        .map(|piece| {
            let (key, value) = piece.split_once('=').unwrap_or((piece, ""));
            (decode_component(key), value)
        })
}

/// Decodes one query component: `+` → space, `%XX` → byte, anything else literal.
fn decode_component(s: &str) -> String {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                // Look ahead without consuming, so an invalid escape stays literal.
                let mut ahead = bytes.clone();
                match (
                    ahead.next().and_then(hex_value),
                    ahead.next().and_then(hex_value),
                ) {
                    (Some(hi), Some(lo)) => {
                        out.push(hi.wrapping_shl(4) | lo);
                        bytes = ahead;
                    }
                    _ => out.push(b'%'),
                }
            }
            _ => out.push(b),
        }
    }
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

fn hex_value(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn splits_targets() {
        assert_eq!(
            split_target("/socket.io/?EIO=4&transport=polling&t=N8hyd6w"),
            ("/socket.io/", "EIO=4&transport=polling&t=N8hyd6w")
        );
        assert_eq!(split_target("/socket.io/"), ("/socket.io/", ""));
        assert_eq!(split_target("/a?"), ("/a", ""));
        assert_eq!(split_target("/a?b?c"), ("/a", "b?c"));
        assert_eq!(split_target(""), ("", ""));
    }

    #[test]
    fn parses_protocol_examples() {
        let (_, q) = split_target("/socket.io/?EIO=4&transport=polling&t=N8hyd6w");
        assert_eq!(
            parse_engine_query(q),
            EngineQuery {
                eio: Some("4".into()),
                transport: Some("polling".into()),
                sid: None,
                b64: false
            }
        );
        let (_, q) = split_target("/socket.io/?EIO=4&transport=websocket&sid=lv_VI97HAXpY6yYWAAAC");
        let parsed = parse_engine_query(q);
        assert_eq!(parsed.transport.as_deref(), Some("websocket"));
        assert_eq!(parsed.sid.as_deref(), Some("lv_VI97HAXpY6yYWAAAC"));
        assert_eq!(query_param(q, "t"), None);
        let (_, q) = split_target("/socket.io/?EIO=4&transport=polling&t=N8hyd7H&sid=x");
        assert_eq!(query_param(q, "t").as_deref(), Some("N8hyd7H"));
    }

    #[test]
    fn decoding_rules() {
        let q = parse_engine_query("sid=a%2Bb+c%20d&sid=second&EIO&transport=%7");
        assert_eq!(q.sid.as_deref(), Some("a+b c d"));
        assert_eq!(q.eio.as_deref(), Some(""));
        assert_eq!(q.transport.as_deref(), Some("%7"));
        assert_eq!(query_param("x=%zz%4", "x").as_deref(), Some("%zz%4"));
        assert_eq!(query_param("x=%C3%A9", "x").as_deref(), Some("é"));
        assert_eq!(query_param("x=%ff", "x").as_deref(), Some("\u{fffd}"));
        assert_eq!(query_param("%73id=1", "sid").as_deref(), Some("1"));
        assert_eq!(query_param("a=1&&b=2", "b").as_deref(), Some("2"));
        assert_eq!(query_param("a=1=2", "a").as_deref(), Some("1=2"));
        assert_eq!(query_param("", "a"), None);
    }

    #[test]
    fn b64_is_truthiness() {
        assert!(parse_engine_query("b64=1").b64);
        assert!(parse_engine_query("b64=true&b64=").b64);
        assert!(!parse_engine_query("b64=").b64);
        assert!(!parse_engine_query("b64").b64);
        assert!(!parse_engine_query("").b64);
    }

    proptest! {
        #[test]
        fn never_panics(s in ".*") {
            let _ = parse_engine_query(&s);
            let _ = query_param(&s, "sid");
            let _ = split_target(&s);
        }

        #[test]
        fn never_panics_on_escapes(s in "[%0-9a-fA-F+=&sidEIO€]*") {
            let _ = parse_engine_query(&s);
        }

        #[test]
        fn encoded_values_round_trip(v in ".*") {
            let encoded: String = v
                .bytes()
                .map(|b| format!("%{b:02X}"))
                .collect();
            prop_assert_eq!(query_param(&format!("k={encoded}"), "k"), Some(v));
        }
    }
}
