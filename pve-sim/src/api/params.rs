//! Request parameters: query and body merged into one map, with typed accessors that fail like PVE.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::envelope::PveError;
use crate::util::percent_decode;

/// Parses `a=1&b=2&b=3` into a map (repeated keys become arrays).
pub fn parse_form(s: &str, into: &mut Map<String, Value>) {
    for pair in s.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let k = percent_decode(k, true);
        let v = Value::String(percent_decode(v, true));
        insert(into, k, v);
    }
}

/// Inserts a value, turning repeated keys into arrays.
pub fn insert(into: &mut Map<String, Value>, k: String, v: Value) {
    match into.get_mut(&k) {
        Some(Value::Array(a)) => a.push(v),
        Some(old) => {
            let prev = old.take();
            *old = Value::Array(vec![prev, v]);
        }
        None => {
            into.insert(k, v);
        }
    }
}

/// Typed access to the merged parameters.
#[derive(Clone, Debug, Default)]
pub struct Params(pub Map<String, Value>);

/// A scalar JSON value as PVE sees it (strings as-is, numbers in decimal, booleans as 1/0).
pub fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "1" } else { "0" }.into()),
        Value::Array(a) => a.first().and_then(scalar),
        _ => None,
    }
}

impl Params {
    pub fn has(&self, k: &str) -> bool {
        self.0.contains_key(k)
    }

    pub fn str(&self, k: &str) -> Option<String> {
        self.0.get(k).and_then(scalar)
    }

    pub fn req(&self, k: &str) -> Result<String, PveError> {
        self.str(k)
            .ok_or_else(|| PveError::param(k, "property is missing and it is not optional"))
    }

    pub fn int(&self, k: &str) -> Result<Option<i64>, PveError> {
        match self.0.get(k) {
            None => Ok(None),
            Some(Value::Number(n)) if n.is_i64() => Ok(n.as_i64()),
            Some(v) => {
                let s = scalar(v).unwrap_or_default();
                s.trim().parse::<i64>().map(Some).map_err(|_| {
                    PveError::param(k, format!("type check ('integer') failed - got '{s}'"))
                })
            }
        }
    }

    pub fn uint(&self, k: &str, default: u64) -> Result<u64, PveError> {
        Ok(self.int(k)?.map(|v| v.max(0) as u64).unwrap_or(default))
    }

    pub fn bool(&self, k: &str) -> Result<Option<bool>, PveError> {
        match self.0.get(k) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(v) => match scalar(v).as_deref() {
                Some("1") => Ok(Some(true)),
                Some("0") | Some("") => Ok(Some(false)),
                other => Err(PveError::param(
                    k,
                    format!(
                        "type check ('boolean') failed - got '{}'",
                        other.unwrap_or("")
                    ),
                )),
            },
        }
    }

    pub fn flag(&self, k: &str) -> Result<bool, PveError> {
        Ok(self.bool(k)?.unwrap_or(false))
    }

    /// An array parameter (a scalar becomes a one-element list).
    pub fn list(&self, k: &str) -> Vec<String> {
        match self.0.get(k) {
            Some(Value::Array(a)) => a.iter().filter_map(scalar).collect(),
            Some(v) => scalar(v).into_iter().collect(),
            None => Vec::new(),
        }
    }

    /// A `*-list` string split on commas, semicolons and whitespace.
    pub fn split_list(&self, k: &str) -> Vec<String> {
        self.list(k)
            .iter()
            .flat_map(|s| {
                s.split(|c: char| c == ',' || c == ';' || c.is_whitespace())
                    .filter(|x| !x.is_empty())
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// All parameters as strings (for config updates).
    pub fn strings(&self) -> BTreeMap<String, String> {
        self.0
            .iter()
            .filter_map(|(k, v)| scalar(v).map(|s| (k.clone(), s)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_parsing() {
        let mut m = Map::new();
        parse_form("command=ls&command=-la&x=a%20b&y=c+d&flag", &mut m);
        assert_eq!(m["command"], serde_json::json!(["ls", "-la"]));
        assert_eq!(m["x"], "a b");
        assert_eq!(m["y"], "c d");
        assert_eq!(m["flag"], "");
    }

    #[test]
    fn typed_access() {
        let mut m = Map::new();
        parse_form("a=1&b=true&c=12&d=x", &mut m);
        m.insert("e".into(), Value::Bool(true));
        let p = Params(m);
        assert_eq!(p.bool("a"), Ok(Some(true)));
        assert!(p.bool("b").is_err());
        assert_eq!(p.bool("e"), Ok(Some(true)));
        assert_eq!(p.int("c"), Ok(Some(12)));
        assert!(p.int("d").is_err());
        assert_eq!(p.req("zz").unwrap_err().status, 400);
    }
}
