//! Serde helpers that accept what Perl's JSON encoder really sends: numbers as strings, 0/1/"" booleans, null as absent.
//!
//! Use them with `#[serde(default, deserialize_with = "perl::de_opt_u64")]` and friends. Every helper
//! goes through `serde_json::Value`, so it works with any deserializer and never fails on `null`.

use serde::{Deserialize, Deserializer, de::Error as _};
use serde_json::Value;

fn number_from_str(s: &str) -> Option<f64> {
    let t = s.trim();
    if t.is_empty() {
        return None;
    }
    t.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// A value as an `f64`: numbers, numeric strings; `null` and `""` are absent.
pub fn value_f64(v: &Value) -> Result<Option<f64>, String> {
    match v {
        Value::Null => Ok(None),
        Value::Number(n) => Ok(n.as_f64()),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => number_from_str(s)
            .map(Some)
            .ok_or_else(|| format!("expected a number, got the string {s:?}")),
        Value::Bool(b) => Ok(Some(if *b { 1.0 } else { 0.0 })),
        other => Err(format!("expected a number, got {other}")),
    }
}

/// A value as a `u64`: integers, integral floats, numeric strings (`"16384"`, `"1.0"`).
pub fn value_u64(v: &Value) -> Result<Option<u64>, String> {
    if let Value::Number(n) = v
        && let Some(u) = n.as_u64()
    {
        return Ok(Some(u));
    }
    if let Value::String(s) = v
        && let Ok(u) = s.trim().parse::<u64>()
    {
        return Ok(Some(u));
    }
    match value_f64(v)? {
        None => Ok(None),
        Some(f) if (0.0..1.9e19).contains(&f) => Ok(Some(f.round() as u64)),
        Some(f) => Err(format!("expected a non-negative integer, got {f}")),
    }
}

/// A value as an `i64`: integers, integral floats, numeric strings.
pub fn value_i64(v: &Value) -> Result<Option<i64>, String> {
    if let Value::Number(n) = v
        && let Some(i) = n.as_i64()
    {
        return Ok(Some(i));
    }
    if let Value::String(s) = v
        && let Ok(i) = s.trim().parse::<i64>()
    {
        return Ok(Some(i));
    }
    match value_f64(v)? {
        None => Ok(None),
        Some(f) if f.abs() < 9.2e18 => Ok(Some(f.round() as i64)),
        Some(f) => Err(format!("expected an integer, got {f}")),
    }
}

/// A value as a boolean: `0`/`1`, `true`/`false`, `"0"`/`"1"`, `""` (false); `null` is absent.
pub fn value_bool(v: &Value) -> Result<Option<bool>, String> {
    match v {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(*b)),
        Value::Number(n) => Ok(Some(n.as_f64().is_some_and(|f| f != 0.0))),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "" | "0" | "false" | "no" | "off" => Ok(Some(false)),
            "1" | "true" | "yes" | "on" => Ok(Some(true)),
            other => Err(format!(
                "expected a boolean (0/1), got the string {other:?}"
            )),
        },
        other => Err(format!("expected a boolean (0/1), got {other}")),
    }
}

/// A value as a string: strings as they are, numbers and booleans rendered; `null` is absent.
pub fn value_string(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "1" } else { "0" }.to_owned()),
        other => Some(other.to_string()),
    }
}

fn value<'de, D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
    Value::deserialize(d)
}

/// `Option<f64>` from a number or numeric string.
pub fn de_opt_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    value_f64(&value(d)?).map_err(D::Error::custom)
}

/// `Option<u64>` from a number or numeric string.
pub fn de_opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    value_u64(&value(d)?).map_err(D::Error::custom)
}

/// `Option<i64>` from a number or numeric string.
pub fn de_opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    value_i64(&value(d)?).map_err(D::Error::custom)
}

/// `u64` from a number or numeric string; absent is 0 (use with `#[serde(default)]`).
pub fn de_u64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    Ok(de_opt_u64(d)?.unwrap_or(0))
}

/// `bool` from 0/1/""/true/false/"0"/"1"; `null` is false.
pub fn de_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(value_bool(&value(d)?)
        .map_err(D::Error::custom)?
        .unwrap_or(false))
}

/// `Option<bool>` from 0/1/""/true/false/"0"/"1"; `null` is absent.
pub fn de_opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    value_bool(&value(d)?).map_err(D::Error::custom)
}

fn vmid_of(v: &Value) -> Result<Option<u32>, String> {
    match value_u64(v) {
        Ok(Some(n)) => u32::try_from(n)
            .map(Some)
            .map_err(|_| format!("vmid {n} is out of range")),
        Ok(None) => Ok(None),
        Err(_) => Err(format!("expected a VM id (integer), got {v}")),
    }
}

/// A required vmid that may come as an integer or a string (`"106"`, old pve-container).
pub fn de_vmid<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    vmid_of(&value(d)?)
        .map_err(D::Error::custom)?
        .ok_or_else(|| D::Error::custom("vmid is missing"))
}

/// An optional vmid that may come as an integer or a string.
pub fn de_opt_vmid<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    vmid_of(&value(d)?).map_err(D::Error::custom)
}

/// `Option<String>` that also accepts numbers and booleans (rendered as text).
pub fn de_opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(value_string(&value(d)?))
}

/// `String` that also accepts numbers; `null` is the empty string.
pub fn de_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(value_string(&value(d)?).unwrap_or_default())
}

/// `Vec<f64>` from an array of numbers or numeric strings (`loadavg`); `null` is empty.
pub fn de_f64_vec<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
    match value(d)? {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items
            .iter()
            .filter_map(|v| value_f64(v).transpose())
            .collect::<Result<Vec<_>, _>>()
            .map_err(D::Error::custom),
        other => Err(D::Error::custom(format!(
            "expected an array of numbers, got {other}"
        ))),
    }
}

/// A list where `null` (or absence, with `#[serde(default)]`) is empty.
pub fn de_vec<'de, D: Deserializer<'de>, T: serde::de::DeserializeOwned>(
    d: D,
) -> Result<Vec<T>, D::Error> {
    match value(d)? {
        Value::Null => Ok(Vec::new()),
        v => serde_json::from_value(v).map_err(D::Error::custom),
    }
}

/// `Option<Value>` where JSON `null` stays absent.
pub fn de_opt_value<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Ok(Some(value(d)?).filter(|v| !v.is_null()))
}

/// A string field borrowed from the body when it holds no escapes, for large lists decoded
/// straight from the response bytes. Lenient like [`de_opt_string`]: numbers and booleans
/// become their text, `null` is absent.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Text<'a>(pub Option<std::borrow::Cow<'a, str>>);

impl Text<'_> {
    pub fn as_deref(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use std::borrow::Cow;
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Borrowed(v))))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Owned(v.to_owned()))))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Owned(v))))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
                Ok(Text(value_string(&Value::from(v)).map(Cow::Owned)))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Borrowed(if v { "1" } else { "0" }))))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Text(None))
            }
            fn visit_none<E>(self) -> Result<Self::Value, E> {
                Ok(Text(None))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                a: A,
            ) -> Result<Self::Value, A::Error> {
                let v = Value::deserialize(serde::de::value::SeqAccessDeserializer::new(a))?;
                Ok(Text(value_string(&v).map(Cow::Owned)))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                a: A,
            ) -> Result<Self::Value, A::Error> {
                let v = Value::deserialize(serde::de::value::MapAccessDeserializer::new(a))?;
                Ok(Text(value_string(&v).map(Cow::Owned)))
            }
        }
        d.deserialize_any(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn borrowed_text() {
        #[derive(Deserialize)]
        struct T<'a> {
            #[serde(borrow)]
            t: Vec<Text<'a>>,
        }
        let body = br#"{"t":["plain","esc\"aped",7,-2,1.5,true,null,[1],{"a":1}]}"#;
        let t: T<'_> = serde_json::from_slice(body).unwrap();
        assert!(matches!(
            t.t[0].0,
            Some(std::borrow::Cow::Borrowed("plain"))
        ));
        let got: Vec<Option<&str>> = t.t.iter().map(Text::as_deref).collect();
        assert_eq!(
            got,
            [
                Some("plain"),
                Some("esc\"aped"),
                Some("7"),
                Some("-2"),
                Some("1.5"),
                Some("1"),
                None,
                Some("[1]"),
                Some(r#"{"a":1}"#)
            ]
        );
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Probe {
        #[serde(default, deserialize_with = "de_opt_f64")]
        f: Option<f64>,
        #[serde(default, deserialize_with = "de_opt_u64")]
        u: Option<u64>,
        #[serde(default, deserialize_with = "de_bool")]
        b: bool,
        #[serde(default, deserialize_with = "de_opt_bool")]
        ob: Option<bool>,
        #[serde(default, deserialize_with = "de_opt_vmid")]
        vmid: Option<u32>,
        #[serde(default, deserialize_with = "de_f64_vec")]
        list: Vec<f64>,
        #[serde(default, deserialize_with = "de_opt_string")]
        s: Option<String>,
    }

    fn check(input: serde_json::Value, expected: Probe) {
        let got: Probe = serde_json::from_value(input.clone()).unwrap();
        assert_eq!(got, expected, "input {input}");
    }

    fn empty() -> Probe {
        Probe {
            f: None,
            u: None,
            b: false,
            ob: None,
            vmid: None,
            list: vec![],
            s: None,
        }
    }

    #[test]
    fn lenient_numbers() {
        check(
            json!({"f": "3400.000"}),
            Probe {
                f: Some(3400.0),
                ..empty()
            },
        );
        check(
            json!({"f": 0.25}),
            Probe {
                f: Some(0.25),
                ..empty()
            },
        );
        check(json!({"f": ""}), empty());
        check(json!({"f": null}), empty());
        check(
            json!({"u": "16384"}),
            Probe {
                u: Some(16384),
                ..empty()
            },
        );
        check(
            json!({"u": 2048}),
            Probe {
                u: Some(2048),
                ..empty()
            },
        );
        check(
            json!({"u": 1.0e3}),
            Probe {
                u: Some(1000),
                ..empty()
            },
        );
        check(
            json!({"list": ["0.15", 0.25, "0.30"]}),
            Probe {
                list: vec![0.15, 0.25, 0.30],
                ..empty()
            },
        );
        check(
            json!({"s": 100}),
            Probe {
                s: Some("100".into()),
                ..empty()
            },
        );
    }

    #[test]
    fn lenient_booleans() {
        for (v, want) in [
            (json!(0), false),
            (json!(1), true),
            (json!(""), false),
            (json!(true), true),
            (json!(false), false),
            (json!("0"), false),
            (json!("1"), true),
        ] {
            check(
                json!({"b": v.clone(), "ob": v.clone()}),
                Probe {
                    b: want,
                    ob: Some(want),
                    ..empty()
                },
            );
        }
        check(json!({"b": null, "ob": null}), empty());
        assert!(serde_json::from_value::<Probe>(json!({"b": "maybe"})).is_err());
    }

    #[test]
    fn vmid_int_or_string() {
        check(
            json!({"vmid": 106}),
            Probe {
                vmid: Some(106),
                ..empty()
            },
        );
        check(
            json!({"vmid": "106"}),
            Probe {
                vmid: Some(106),
                ..empty()
            },
        );
        assert!(serde_json::from_value::<Probe>(json!({"vmid": "abc"})).is_err());
        assert!(serde_json::from_value::<Probe>(json!({"vmid": 5_000_000_000u64})).is_err());
    }

    #[test]
    fn bad_numbers_are_errors() {
        assert!(serde_json::from_value::<Probe>(json!({"u": "many"})).is_err());
        assert!(serde_json::from_value::<Probe>(json!({"u": -1})).is_err());
        assert!(serde_json::from_value::<Probe>(json!({"f": [1]})).is_err());
    }
}
