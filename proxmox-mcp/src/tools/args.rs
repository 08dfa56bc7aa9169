//! Tool arguments: size limits, lenient coercion (JSON given as strings) and validated id types.

use std::borrow::Cow;
use std::fmt;

use rmcp::model::JsonObject;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::ToolError;

/// Largest accepted `arguments` object, serialised. Nothing legitimate comes close.
pub const MAX_ARGS_BYTES: usize = 64 * 1024;

/// Bring arguments into the shape the schema promises before typed parsing.
///
/// Models sometimes send an object or array as a JSON string (`"{\"a\":1}"`) or a number as a
/// string (`"30"`); both are accepted where the schema says object/array/integer/number.
/// Anything else is left for the typed parser to judge.
pub fn normalize(schema: &JsonObject, args: &mut JsonObject) -> Result<(), ToolError> {
    let size = serde_json::to_vec(&*args)
        .map(|v| v.len())
        .unwrap_or(usize::MAX);
    if size > MAX_ARGS_BYTES {
        return Err(ToolError::invalid(format!(
            "arguments are {size} bytes; the limit is {MAX_ARGS_BYTES} bytes"
        )));
    }
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return Ok(());
    };
    for (key, value) in args.iter_mut() {
        let Some(prop) = props.get(key) else { continue };
        let Value::String(s) = value else { continue };
        let wanted = prop.get("type").and_then(Value::as_str).unwrap_or("");
        let trimmed = s.trim();
        let parsed = match wanted {
            "object" if trimmed.starts_with('{') => serde_json::from_str::<Value>(trimmed).ok(),
            "array" if trimmed.starts_with('[') => serde_json::from_str::<Value>(trimmed).ok(),
            "integer" if !trimmed.is_empty() && trimmed.bytes().all(|b| b.is_ascii_digit()) => {
                trimmed.parse::<u64>().ok().map(Value::from)
            }
            "number" => trimmed
                .parse::<f64>()
                .ok()
                .and_then(|n| serde_json::Number::from_f64(n).map(Value::Number)),
            "boolean" => match trimmed {
                "true" | "1" => Some(Value::Bool(true)),
                "false" | "0" => Some(Value::Bool(false)),
                _ => None,
            },
            _ => None,
        };
        if let Some(p) = parsed {
            *value = p;
        }
    }
    Ok(())
}

/// Typed parse with a message that names the offending argument.
pub fn parse<P: DeserializeOwned>(args: JsonObject) -> Result<P, ToolError> {
    serde_json::from_value(Value::Object(args)).map_err(|e| ToolError::invalid(e.to_string()))
}

/// A guest id: an integer 100..=999999999 (PVE's `pve-vmid`). Accepts `100` or `"100"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Vmid(pub u32);

impl Vmid {
    pub const MIN: u32 = 100;
    pub const MAX: u32 = 999_999_999;

    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) || t.len() > 9 {
            return Err(format!(
                "vmid must be an integer between {} and {} (got {text:?})",
                Self::MIN,
                Self::MAX
            ));
        }
        let n: u32 = t
            .parse()
            .map_err(|_| format!("vmid {text:?} is out of range"))?;
        Self::new(n as u64)
    }

    pub fn new(n: u64) -> Result<Self, String> {
        if (Self::MIN as u64..=Self::MAX as u64).contains(&n) {
            Ok(Vmid(n as u32))
        } else {
            Err(format!(
                "vmid must be between {} and {} (got {n})",
                Self::MIN,
                Self::MAX
            ))
        }
    }
}

impl fmt::Display for Vmid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl<'de> Deserialize<'de> for Vmid {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::Number(n) => n
                .as_u64()
                .ok_or_else(|| format!("vmid must be a positive integer (got {n})"))
                .and_then(Vmid::new),
            Value::String(s) => Vmid::parse(&s),
            other => Err(format!("vmid must be an integer (got {other})")),
        }
        .map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Vmid {
    fn schema_name() -> Cow<'static, str> {
        "Vmid".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "integer", "minimum": 100, "maximum": 999_999_999})
    }
}

/// A PVE node name (the hostname: letters, digits, '-'; no dots, so not an IP or FQDN).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct NodeName(pub String);

impl NodeName {
    pub fn parse(text: &str) -> Result<Self, String> {
        let ok = !text.is_empty()
            && text.len() <= 63
            && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !text.starts_with('-')
            && !text.ends_with('-');
        if ok {
            Ok(NodeName(text.to_string()))
        } else {
            let shown: String = text.chars().take(80).collect();
            Err(format!(
                "{shown:?} is not a valid node name: use the PVE node name (letters, digits, '-'; \
                 not an IP address or FQDN); node_status lists them"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for NodeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for NodeName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        NodeName::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for NodeName {
    fn schema_name() -> Cow<'static, str> {
        "NodeName".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "string", "description": "PVE node name"})
    }
}

/// Reject a free-text filter that is absurdly long (a model stuck in a loop, or an attack).
pub fn bounded<'a>(name: &str, value: &'a str, max: usize) -> Result<&'a str, ToolError> {
    if value.len() > max {
        Err(ToolError::invalid(format!(
            "{name} is {} bytes long; the limit is {max}",
            value.len()
        )))
    } else {
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check_vmid(input: Value, expect: Result<u32, &str>) {
        let got: Result<Vmid, _> = serde_json::from_value(input.clone());
        match (got, expect) {
            (Ok(v), Ok(n)) => assert_eq!(v.0, n, "{input}"),
            (Err(e), Err(fragment)) => {
                assert!(e.to_string().contains(fragment), "{input}: {e}")
            }
            (got, want) => panic!("{input}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn vmid_accepts_ints_and_digit_strings_only() {
        check_vmid(json!(100), Ok(100));
        check_vmid(json!("4242"), Ok(4242));
        check_vmid(json!(" 101 "), Ok(101));
        check_vmid(json!(99), Err("between 100"));
        check_vmid(json!(1_000_000_000u64), Err("between 100"));
        check_vmid(json!("100; rm -rf /"), Err("integer between"));
        check_vmid(json!("abc"), Err("integer between"));
        check_vmid(json!(true), Err("must be an integer"));
        check_vmid(json!(-5), Err("positive integer"));
        check_vmid(json!(1.5), Err("positive integer"));
    }

    #[test]
    fn node_names_follow_pve_rules() {
        for ok in ["pve1", "node-a", "PVE"] {
            assert!(NodeName::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "pve1.example.com",
            "10.0.0.1",
            "../x",
            "a b",
            "-x",
            "x;rm",
        ] {
            assert!(NodeName::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn strings_become_the_type_the_schema_wants() {
        let schema: JsonObject = serde_json::from_value(json!({"type":"object","properties":{
            "p":{"type":"object"}, "f":{"type":"array"}, "w":{"type":"integer"}, "s":{"type":"string"}
        }}))
        .unwrap();
        let mut args: JsonObject = serde_json::from_value(json!({
            "p": "{\"a\": 1}", "f": "[\"x\"]", "w": "30", "s": "{\"kept\": true}"
        }))
        .unwrap();
        normalize(&schema, &mut args).unwrap();
        assert_eq!(
            Value::Object(args),
            json!({"p":{"a":1},"f":["x"],"w":30,"s":"{\"kept\": true}"})
        );
    }

    #[test]
    fn huge_arguments_are_refused() {
        let schema = JsonObject::new();
        let mut args: JsonObject =
            serde_json::from_value(json!({"name": "x".repeat(MAX_ARGS_BYTES + 1)})).unwrap();
        let err = normalize(&schema, &mut args).unwrap_err();
        assert!(err.to_string().contains("limit"), "{err}");
    }
}
