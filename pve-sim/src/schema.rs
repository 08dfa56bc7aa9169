//! The PVE API schema, loaded at runtime from `api-schema.json` or `apidata.js`: path lookup and checks.

mod formats;
mod validate;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::Context;
use serde_json::{Map, Value};

use crate::util::percent_decode;

/// Why a request does not fit the schema.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Violation {
    UnknownPath(String),
    UnknownMethod(String),
    /// Parameter name to PVE's message.
    InvalidParams(BTreeMap<String, String>),
}

#[derive(Default)]
struct PathNode {
    literal: HashMap<String, PathNode>,
    /// Placeholder name (without braces) and subtree.
    placeholder: Option<(String, Box<PathNode>)>,
    /// `info` of the schema node: method -> method description.
    info: Option<Map<String, Value>>,
}

/// The loaded schema; share it through an `Arc`.
pub struct ApiSchema {
    root: PathNode,
    paths: usize,
    regexes: validate::RegexCache,
}

impl std::fmt::Debug for ApiSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiSchema({} paths)", self.paths)
    }
}

impl ApiSchema {
    /// Loads the plain JSON array or the `const apiSchema = [...];` JavaScript wrapper.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("read API schema {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("parse API schema {}", path.display()))
    }

    /// Parses schema text (JSON array or apidata.js).
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let start = match text.trim_start().starts_with('[') {
            true => text.find('[').unwrap_or(0),
            false => {
                let at = text
                    .find("apiSchema")
                    .context("no apiSchema in JavaScript file")?;
                at + text[at..].find('[').context("no array after apiSchema")?
            }
        };
        let mut de = serde_json::Deserializer::from_str(&text[start..]).into_iter::<Value>();
        let tree = de
            .next()
            .context("empty schema")?
            .context("invalid schema JSON")?;
        let Value::Array(roots) = tree else {
            anyhow::bail!("schema is not an array");
        };
        let mut s = ApiSchema {
            root: PathNode::default(),
            paths: 0,
            regexes: validate::RegexCache::default(),
        };
        for r in &roots {
            s.insert_tree(r);
        }
        anyhow::ensure!(s.paths > 0, "schema has no paths");
        Ok(s)
    }

    fn insert_tree(&mut self, node: &Value) {
        if let Some(path) = node.get("path").and_then(Value::as_str) {
            let mut cur = &mut self.root;
            for seg in path.split('/').filter(|s| !s.is_empty()) {
                cur = if let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    let slot = cur
                        .placeholder
                        .get_or_insert_with(|| (name.to_string(), Box::default()));
                    &mut slot.1
                } else {
                    cur.literal.entry(seg.to_string()).or_default()
                };
            }
            if let Some(info) = node.get("info").and_then(Value::as_object) {
                cur.info = Some(info.clone());
            }
            self.paths += 1;
        }
        if let Some(children) = node.get("children").and_then(Value::as_array) {
            for c in children {
                self.insert_tree(c);
            }
        }
    }

    /// Number of paths in the schema.
    pub fn len(&self) -> usize {
        self.paths
    }

    pub fn is_empty(&self) -> bool {
        self.paths == 0
    }

    /// Finds the schema node for a path; a literal segment beats a placeholder.
    fn lookup(&self, path: &str) -> Option<(&PathNode, BTreeMap<String, String>)> {
        let segs: Vec<String> = path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| percent_decode(s, false))
            .collect();
        let mut params = BTreeMap::new();
        let node = walk(&self.root, &segs, &mut params)?;
        Some((node, params))
    }

    /// The `info[METHOD]` object for a path (relative to `/api2/json`).
    pub fn describe(&self, method: &str, path: &str) -> Option<&Value> {
        let (node, _) = self.lookup(path)?;
        node.info.as_ref()?.get(&method.to_ascii_uppercase())
    }

    /// Checks a request like the PVE server does before calling the handler.
    pub fn check(
        &self,
        method: &str,
        path: &str,
        params: &Map<String, Value>,
    ) -> Result<(), Violation> {
        let Some((node, path_params)) = self.lookup(path) else {
            return Err(Violation::UnknownPath(path.to_string()));
        };
        let method = method.to_ascii_uppercase();
        let Some(info) = node.info.as_ref().and_then(|i| i.get(&method)) else {
            return Err(if node.info.as_ref().is_none_or(|i| i.is_empty()) {
                Violation::UnknownPath(path.to_string())
            } else {
                Violation::UnknownMethod(format!("{method} {path}"))
            });
        };
        let errors =
            validate::check_params(&self.regexes, info.get("parameters"), params, &path_params);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Violation::InvalidParams(errors))
        }
    }
}

fn walk<'a>(
    node: &'a PathNode,
    segs: &[String],
    params: &mut BTreeMap<String, String>,
) -> Option<&'a PathNode> {
    let Some((first, rest)) = segs.split_first() else {
        return Some(node);
    };
    if let Some(child) = node.literal.get(first)
        && let Some(found) = walk(child, rest, params)
    {
        return Some(found);
    }
    let (name, child) = node.placeholder.as_ref()?;
    let found = walk(child, rest, params)?;
    params.insert(name.clone(), first.clone());
    Some(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> ApiSchema {
        let s = json!([
            {"path": "/nodes", "info": {"GET": {"parameters": {"additionalProperties": 0, "properties": {}}}},
             "children": [
                {"path": "/nodes/{node}", "info": {"GET": {"parameters": {"additionalProperties": 0,
                    "properties": {"node": {"type": "string", "format": "pve-node"}}}}},
                 "children": [
                    {"path": "/nodes/{node}/qemu/{vmid}/status/start", "info": {"POST": {"parameters": {"additionalProperties": 0,
                        "properties": {"node": {"type": "string", "format": "pve-node"},
                                       "vmid": {"type": "integer", "format": "pve-vmid", "minimum": 100},
                                       "skiplock": {"type": "boolean", "optional": 1},
                                       "timeout": {"type": "integer", "optional": 1, "minimum": 0, "maximum": 86400}}}}}},
                    {"path": "/nodes/{node}/status", "info": {"GET": {"parameters": {"additionalProperties": 0,
                        "properties": {"node": {"type": "string", "format": "pve-node"}}}}}}
                 ]}
             ]}
        ]);
        ApiSchema::parse(&s.to_string()).expect("schema")
    }

    fn params(pairs: &[(&str, Value)]) -> Map<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    fn check(method: &str, path: &str, p: &[(&str, Value)], want: Result<(), &str>) {
        let s = schema();
        let got = s.check(method, path, &params(p));
        match (got, want) {
            (Ok(()), Ok(())) => {}
            (Err(Violation::InvalidParams(e)), Err(w)) => {
                let all = e
                    .iter()
                    .map(|(k, v)| format!("{k}: {v}"))
                    .collect::<Vec<_>>()
                    .join("; ");
                assert!(
                    all.contains(w),
                    "{method} {path}: {all} does not contain {w}"
                );
            }
            (Err(Violation::UnknownPath(_)), Err("unknown path")) => {}
            (Err(Violation::UnknownMethod(_)), Err("unknown method")) => {}
            (g, w) => panic!("{method} {path}: got {g:?}, want {w:?}"),
        }
    }

    #[test]
    fn path_and_param_checks() {
        check("GET", "/nodes", &[], Ok(()));
        check("GET", "/nodes/pve1/status", &[], Ok(()));
        check(
            "GET",
            "/nodes/pve1.example.com/status",
            &[],
            Err("valid node name"),
        );
        check("GET", "/foo", &[], Err("unknown path"));
        check("POST", "/nodes", &[], Err("unknown method"));
        check("POST", "/nodes/pve1/qemu/100/status/start", &[], Ok(()));
        check(
            "POST",
            "/nodes/pve1/qemu/abc/status/start",
            &[],
            Err("type check ('integer') failed - got 'abc'"),
        );
        check(
            "POST",
            "/nodes/pve1/qemu/99/status/start",
            &[],
            Err("minimum value of 100"),
        );
        check(
            "POST",
            "/nodes/pve1/qemu/100/status/start",
            &[("skiplock", json!("true"))],
            Err("type check ('boolean') failed - got 'true'"),
        );
        check(
            "POST",
            "/nodes/pve1/qemu/100/status/start",
            &[("skiplock", json!(true))],
            Ok(()),
        );
        check(
            "POST",
            "/nodes/pve1/qemu/100/status/start",
            &[("skiplock", json!("1"))],
            Ok(()),
        );
        check(
            "POST",
            "/nodes/pve1/qemu/100/status/start",
            &[("bogus", json!("1"))],
            Err("bogus: property is not defined in schema"),
        );
        check(
            "POST",
            "/nodes/pve1/qemu/100/status/start",
            &[("timeout", json!("99999"))],
            Err("maximum value of 86400"),
        );
        check(
            "GET",
            "/nodes/pve1/status",
            &[("node", json!("pve2"))],
            Err("duplicate parameter"),
        );
    }

    #[test]
    fn apidata_js_wrapper() {
        let js =
            "const apiSchema = [{\"path\": \"/version\", \"info\": {\"GET\": {}}}];\nlet x = 1;";
        let s = ApiSchema::parse(js).expect("js");
        assert_eq!(s.len(), 1);
        assert!(s.describe("GET", "/version").is_some());
    }
}
