//! Parameter validation with PVE's rules and messages (JSONSchema.pm): types, enums, ranges, formats.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use regex::Regex;
use serde_json::{Map, Value};

use super::formats;

/// Compiled `pattern`s, anchored like Perl's `m/^$pattern$/`.
#[derive(Default)]
pub struct RegexCache(Mutex<HashMap<String, Option<Arc<Regex>>>>);

impl RegexCache {
    pub fn get(&self, pattern: &str) -> Option<Arc<Regex>> {
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        m.entry(pattern.to_string())
            .or_insert_with(|| Regex::new(&format!("^(?:{pattern})$")).ok().map(Arc::new))
            .clone()
    }
}

fn is_optional(p: &Value) -> bool {
    match p.get("optional") {
        Some(Value::Number(n)) => n.as_i64() == Some(1),
        Some(Value::String(s)) => s == "1",
        Some(Value::Bool(b)) => *b,
        _ => false,
    }
}

/// The schema key for a parameter name: exact, or `net[n]` for `net0`.
fn find_prop<'a>(props: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    if let Some(p) = props.get(key) {
        return Some(p);
    }
    let base = key.trim_end_matches(|c: char| c.is_ascii_digit());
    if base.len() < key.len() {
        return props.get(&format!("{base}[n]"));
    }
    None
}

/// Checks all parameters; returns PVE's per-parameter messages.
pub fn check_params(
    rx: &RegexCache,
    schema: Option<&Value>,
    params: &Map<String, Value>,
    path_params: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut errors = BTreeMap::new();
    let Some(schema) = schema else {
        return errors;
    };
    let empty = Map::new();
    let props = schema
        .get("properties")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let additional = matches!(schema.get("additionalProperties"), Some(Value::Number(n)) if n.as_i64() == Some(1))
        || matches!(schema.get("additionalProperties"), Some(Value::Bool(true)));
    let mut merged: Map<String, Value> = params.clone();
    for (k, v) in path_params {
        match merged.get(k) {
            Some(existing)
                if crate::api::params::scalar(existing).as_deref() != Some(v.as_str()) =>
            {
                errors.insert(
                    k.clone(),
                    "duplicate parameter (already defined in URI) with conflicting values!".into(),
                );
            }
            _ => {
                merged.insert(k.clone(), Value::String(v.clone()));
            }
        }
    }
    for (k, v) in &merged {
        if errors.contains_key(k) {
            continue;
        }
        match find_prop(props, k) {
            None if !additional => {
                errors.insert(
                    k.clone(),
                    "property is not defined in schema and the schema does not allow additional properties".into(),
                );
            }
            None => {}
            Some(p) => {
                if let Err(e) = check_value(rx, k, p, v, false) {
                    errors.insert(k.clone(), e);
                }
            }
        }
    }
    for (k, p) in props {
        if k.ends_with("[n]") || is_optional(p) || merged.contains_key(k) || errors.contains_key(k)
        {
            continue;
        }
        errors.insert(
            k.clone(),
            "property is missing and it is not optional".into(),
        );
    }
    errors
}

/// The scalar text of a value for messages and string checks.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Checks one value against a property schema. `in_prop_string` enables PVE's lenient booleans.
pub fn check_value(
    rx: &RegexCache,
    name: &str,
    p: &Value,
    v: &Value,
    in_prop_string: bool,
) -> Result<(), String> {
    if p.get("oneOf").is_some() {
        return Ok(());
    }
    let ty = p.get("type").and_then(Value::as_str).unwrap_or("string");
    if ty == "array" {
        let items: Vec<&Value> = match v {
            Value::Array(a) => a.iter().collect(),
            other => vec![other],
        };
        if let Some(item_schema) = p.get("items") {
            for it in items {
                check_value(rx, name, item_schema, it, in_prop_string)?;
            }
        }
        return Ok(());
    }
    if let Value::Array(a) = v {
        if a.len() == 1 {
            return check_value(rx, name, p, &a[0], in_prop_string);
        }
        return Err(format!("type check ('{ty}') failed - got ARRAY"));
    }
    let s = text(v);
    match ty {
        "boolean" => {
            let ok = match v {
                Value::Bool(_) => true,
                Value::Number(n) => n.as_i64().is_some_and(|i| i == 0 || i == 1),
                _ if in_prop_string => matches!(
                    s.to_ascii_lowercase().as_str(),
                    "1" | "0" | "on" | "off" | "yes" | "no" | "true" | "false"
                ),
                _ => s == "1" || s == "0",
            };
            if !ok {
                return Err(format!("type check ('boolean') failed - got '{s}'"));
            }
        }
        "integer" => {
            let n = match v {
                Value::Number(n) if n.is_i64() || n.is_u64() => n.as_f64(),
                Value::String(st) if is_int(st) => st.trim().parse::<f64>().ok(),
                _ => None,
            };
            let Some(n) = n else {
                return Err(format!("type check ('integer') failed - got '{s}'"));
            };
            check_range(p, n)?;
        }
        "number" => {
            let n = match v {
                Value::Number(n) => n.as_f64(),
                Value::String(st) => st.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
                _ => None,
            };
            let Some(n) = n else {
                return Err(format!("type check ('number') failed - got '{s}'"));
            };
            check_range(p, n)?;
        }
        "string" => {
            if matches!(v, Value::Object(_)) {
                return Err(format!("type check ('string') failed - got '{s}'"));
            }
            if let Some(max) = num(p.get("maxLength"))
                && s.chars().count() as f64 > max
            {
                return Err(format!("value may only be {max} characters long"));
            }
            if let Some(min) = num(p.get("minLength"))
                && (s.chars().count() as f64) < min
            {
                return Err(format!("value must be at least {min} characters long"));
            }
        }
        "null" | "any" | "object" => return Ok(()),
        _ => {}
    }
    match p.get("format") {
        Some(Value::String(f)) => formats::check(f, &s)?,
        Some(Value::Object(fmt)) if ty == "string" => check_prop_string(rx, name, fmt, &s)?,
        _ => {}
    }
    if let Some(pat) = p.get("pattern").and_then(Value::as_str)
        && let Some(re) = rx.get(pat)
        && !re.is_match(&s)
    {
        return Err("value does not match the regex pattern".into());
    }
    if let Some(Value::Array(opts)) = p.get("enum")
        && !opts.iter().any(|o| text(o) == s)
    {
        let list = opts.iter().map(text).collect::<Vec<_>>().join(", ");
        return Err(format!(
            "value '{s}' does not have a value in the enumeration '{list}'"
        ));
    }
    Ok(())
}

fn is_int(s: &str) -> bool {
    let t = s.trim();
    let t = t.strip_prefix(['-', '+']).unwrap_or(t);
    !t.is_empty() && t.chars().all(|c| c.is_ascii_digit())
}

fn num(v: Option<&Value>) -> Option<f64> {
    match v? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn fmt_num(n: f64) -> String {
    if n.fract() == 0.0 {
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}

fn check_range(p: &Value, n: f64) -> Result<(), String> {
    if let Some(min) = num(p.get("minimum"))
        && n < min
    {
        return Err(format!(
            "value must have a minimum value of {}",
            fmt_num(min)
        ));
    }
    if let Some(max) = num(p.get("maximum"))
        && n > max
    {
        return Err(format!(
            "value must have a maximum value of {}",
            fmt_num(max)
        ));
    }
    Ok(())
}

/// Validates a property string (`key=value,...`) against an object format.
fn check_prop_string(
    rx: &RegexCache,
    name: &str,
    fmt: &Map<String, Value>,
    value: &str,
) -> Result<(), String> {
    let default_key = fmt
        .iter()
        .find(|(_, s)| s.get("default_key").is_some_and(|d| d == 1 || d == "1"))
        .map(|(k, _)| k.clone());
    let mut parsed: BTreeMap<String, String> = BTreeMap::new();
    let mut errors: Vec<String> = Vec::new();
    for part in value.split(',') {
        if part.is_empty() {
            continue;
        }
        let (k, v) = match part.split_once('=') {
            Some((k, v)) => (k.trim().to_string(), v.to_string()),
            None => match &default_key {
                Some(d) => (d.clone(), part.to_string()),
                None => {
                    errors.push(format!(
                        "{name}: value without key, but schema does not define a default key"
                    ));
                    continue;
                }
            },
        };
        let Some(spec) = fmt.get(&k) else {
            errors.push(format!(
                "{name}.{k}: property is not defined in schema and the schema does not allow additional properties"
            ));
            continue;
        };
        let (key, val) = match (
            spec.get("alias").and_then(Value::as_str),
            spec.get("keyAlias").and_then(Value::as_str),
        ) {
            (Some(alias), Some(key_alias)) => {
                parsed.insert(key_alias.to_string(), k.clone());
                (alias.to_string(), v)
            }
            (Some(alias), None) => (alias.to_string(), v),
            _ => (k, v),
        };
        if parsed.insert(key.clone(), val).is_some() {
            errors.push(format!(
                "{name}: duplicate key in comma-separated list property: {key}"
            ));
        }
    }
    for (k, v) in &parsed {
        if let Some(spec) = fmt.get(k)
            && spec.get("alias").is_none()
            && let Err(e) = check_value(
                rx,
                &format!("{name}.{k}"),
                spec,
                &Value::String(v.clone()),
                true,
            )
        {
            errors.push(format!("{name}.{k}: {e}"));
        }
    }
    for (k, spec) in fmt {
        if spec.get("alias").is_some() || spec.get("type").is_none() || is_optional(spec) {
            continue;
        }
        if !parsed.contains_key(k) {
            errors.push(format!(
                "{name}.{k}: property is missing and it is not optional"
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "invalid format - format error\n{}",
            errors.join("\n")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn net_format() -> Value {
        json!({"type": "string", "format": {
            "model": {"type": "string", "default_key": 1, "enum": ["virtio", "e1000"]},
            "virtio": {"alias": "macaddr", "keyAlias": "model"},
            "e1000": {"alias": "macaddr", "keyAlias": "model"},
            "macaddr": {"type": "string", "optional": 1, "format": "mac-addr"},
            "bridge": {"type": "string", "optional": 1},
            "firewall": {"type": "boolean", "optional": 1},
            "tag": {"type": "integer", "optional": 1, "minimum": 1, "maximum": 4094},
        }})
    }

    fn check(p: &Value, v: Value, want: Result<(), &str>) {
        let rx = RegexCache::default();
        let got = check_value(&rx, "net0", p, &v, false);
        match (&got, want) {
            (Ok(()), Ok(())) => {}
            (Err(e), Err(w)) => assert!(e.contains(w), "{v}: {e} vs {w}"),
            _ => panic!("{v}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn property_strings() {
        let p = net_format();
        check(
            &p,
            json!("virtio=BC:24:11:00:00:01,bridge=vmbr0,firewall=1"),
            Ok(()),
        );
        check(&p, json!("virtio,bridge=vmbr0"), Ok(()));
        check(
            &p,
            json!("bridge=vmbr0"),
            Err("net0.model: property is missing"),
        );
        check(
            &p,
            json!("virtio=BC:24:11:00:00:01,bogus=1"),
            Err("net0.bogus: property is not defined"),
        );
        check(&p, json!("virtio=zz,bridge=vmbr0"), Err("net0.macaddr"));
        check(&p, json!("virtio,tag=5000"), Err("maximum value of 4094"));
        check(&p, json!("virtio,firewall=on"), Ok(()));
    }

    #[test]
    fn scalar_types() {
        let int = json!({"type": "integer", "minimum": 1});
        check(&int, json!("12"), Ok(()));
        check(&int, json!(12), Ok(()));
        check(
            &int,
            json!("1.5"),
            Err("type check ('integer') failed - got '1.5'"),
        );
        check(&int, json!("0"), Err("minimum value of 1"));
        let e = json!({"type": "string", "enum": ["a", "b"]});
        check(
            &e,
            json!("c"),
            Err("value 'c' does not have a value in the enumeration 'a, b'"),
        );
        let pat = json!({"type": "string", "pattern": "[a-z]+"});
        check(&pat, json!("abc"), Ok(()));
        check(&pat, json!("abc1"), Err("regex pattern"));
        let ml = json!({"type": "string", "maxLength": 3});
        check(&ml, json!("abcd"), Err("3 characters"));
        let num = json!({"type": "number", "maximum": "2.5"});
        check(&num, json!("3"), Err("maximum value of 2.5"));
        let arr = json!({"type": "array", "items": {"type": "string"}});
        check(&arr, json!(["ls", "-la"]), Ok(()));
    }
}
