//! Reading and writing the JSON the tests see (miniserde values).

use super::*;

pub fn parse_json(text: &str) -> Value {
    json::from_str(text).unwrap_or_else(|_| panic!("not JSON: {text:?}"))
}

/// `value[key]`, panicking with the value when it is missing.
pub fn get<'a>(value: &'a Value, key: &str) -> &'a Value {
    match value {
        Value::Object(o) => o
            .get(key)
            .unwrap_or_else(|| panic!("no {key:?} in {}", json::to_string(value))),
        _ => panic!("not an object: {}", json::to_string(value)),
    }
}

pub fn has(value: &Value, key: &str) -> bool {
    matches!(value, Value::Object(o) if o.contains_key(key))
}

pub fn str_of(value: &Value) -> &str {
    match value {
        Value::String(s) => s,
        _ => panic!("not a string: {}", json::to_string(value)),
    }
}

pub fn num(value: &Value) -> u64 {
    match value {
        Value::Number(json::Number::U64(n)) => *n,
        Value::Number(json::Number::I64(n)) if *n >= 0 => *n as u64,
        _ => panic!("not a whole number: {}", json::to_string(value)),
    }
}

pub fn bool_of(value: &Value) -> bool {
    match value {
        Value::Bool(b) => *b,
        _ => panic!("not a bool: {}", json::to_string(value)),
    }
}

pub fn arr(value: &Value) -> &[Value] {
    match value {
        Value::Array(a) => a,
        _ => panic!("not an array: {}", json::to_string(value)),
    }
}

pub fn to_json(value: &Value) -> String {
    json::to_string(value)
}

/// A JSON string literal for `s`.
pub fn quote(s: &str) -> String {
    json::to_string(&s.to_string())
}
