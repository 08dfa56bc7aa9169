//! Parsing the schema text into the compact [`ApiDoc`] index: only the fields lookups need are
//! deserialised (serde skips `returns` and parameter formats), and repeated strings are stored once.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;
use serde_json::Value;

use super::{ApiDoc, ApiDocError, EndpointData, METHODS, Node, ParamData, Span, perm};

#[derive(Deserialize)]
struct RawNode {
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    info: Option<BTreeMap<String, RawMethod>>,
    #[serde(default)]
    children: Option<Vec<RawNode>>,
}

#[derive(Deserialize)]
struct RawMethod {
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    parameters: Option<RawParams>,
    #[serde(default)]
    permissions: Option<Value>,
}

#[derive(Deserialize)]
struct RawParams {
    #[serde(default)]
    properties: Option<BTreeMap<String, RawProp>>,
}

#[derive(Deserialize)]
struct RawProp {
    #[serde(default)]
    description: Option<String>,
    /// `1`, `"1"`, `true`; absent means required.
    #[serde(default)]
    optional: Value,
    #[serde(default, rename = "type")]
    ty: Value,
}

/// Where the JSON array starts: at once for plain JSON, else after `apiSchema =` (or the older
/// `pveapi =`) in an apidata.js.
fn array_start(text: &str) -> Option<usize> {
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with('[') {
        return Some(text.len() - trimmed.len());
    }
    let at = ["apiSchema", "pveapi"]
        .iter()
        .find_map(|m| text.find(m).map(|k| k + m.len()))?;
    let eq = at + text[at..].find('=')?;
    let rest = &text[eq + 1..];
    let open = rest.len() - rest.trim_start().len();
    rest[open..].starts_with('[').then_some(eq + 1 + open)
}

/// Parses the schema. The JSON parser reads exactly one array and stops at its matching `]`,
/// so brackets inside strings and the JavaScript after the array need no special care.
pub(super) fn parse(text: &str) -> Result<ApiDoc, ApiDocError> {
    let start = array_start(text).ok_or(ApiDocError::NoSchema)?;
    let mut de = serde_json::Deserializer::from_str(&text[start..]);
    let roots = Vec::<RawNode>::deserialize(&mut de)?;
    let mut b = Builder::default();
    b.doc.nodes.push(Node::default());
    for r in &roots {
        b.insert(r);
    }
    if b.doc.endpoints.is_empty() {
        return Err(ApiDocError::Empty);
    }
    b.doc.text.shrink_to_fit();
    b.doc.nodes.shrink_to_fit();
    b.doc.endpoints.shrink_to_fit();
    b.doc.params.shrink_to_fit();
    Ok(b.doc)
}

struct Builder {
    doc: ApiDoc,
    seen: HashMap<String, Span>,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            doc: ApiDoc {
                text: String::new(),
                nodes: Vec::new(),
                endpoints: Vec::new(),
                params: Vec::new(),
            },
            seen: HashMap::new(),
        }
    }
}

impl Builder {
    /// Stores `s` once and returns where it is.
    fn intern(&mut self, s: &str) -> Span {
        if let Some(&span) = self.seen.get(s) {
            return span;
        }
        let span = Span {
            start: self.doc.text.len() as u32,
            len: s.len() as u32,
        };
        self.doc.text.push_str(s);
        self.seen.insert(s.to_string(), span);
        span
    }

    /// The tree node for a schema path, created on the way.
    fn node_for(&mut self, path: &str) -> u32 {
        let mut cur = 0u32;
        for seg in path.split('/').filter(|s| !s.is_empty()) {
            let var = seg.starts_with('{') && seg.ends_with('}');
            let existing = if var {
                self.doc.nodes[cur as usize].placeholder
            } else {
                let nodes = &self.doc.nodes;
                let text = &self.doc.text;
                nodes[cur as usize]
                    .literal
                    .iter()
                    .find(|(s, _)| &text[s.start as usize..(s.start + s.len) as usize] == seg)
                    .map(|&(_, c)| c)
            };
            cur = match existing {
                Some(c) => c,
                None => {
                    let id = self.doc.nodes.len() as u32;
                    self.doc.nodes.push(Node::default());
                    if var {
                        self.doc.nodes[cur as usize].placeholder = Some(id);
                    } else {
                        let name = self.intern(seg);
                        self.doc.nodes[cur as usize].literal.push((name, id));
                    }
                    id
                }
            };
        }
        cur
    }

    fn insert(&mut self, raw: &RawNode) {
        if let Some(path) = &raw.path {
            let node = self.node_for(path);
            let template = self.intern(path);
            self.doc.nodes[node as usize].template = template;
            for (method, info) in raw.info.iter().flatten() {
                let Some(m) = METHODS.iter().position(|x| x.eq_ignore_ascii_case(method)) else {
                    continue;
                };
                let e = self.endpoint(info);
                self.doc.nodes[node as usize].methods[m] = Some(e);
            }
        }
        for c in raw.children.iter().flatten() {
            self.insert(c);
        }
    }

    fn endpoint(&mut self, info: &RawMethod) -> u32 {
        let description = self.intern(info.description.as_deref().unwrap_or("").trim());
        let permissions = perm::summary(info.permissions.as_ref()).map(|p| self.intern(&p));
        let from = self.doc.params.len() as u32;
        let props = info.parameters.as_ref().and_then(|p| p.properties.as_ref());
        for (name, p) in props.into_iter().flatten() {
            let optional = match &p.optional {
                Value::Bool(b) => *b,
                Value::Number(n) => n.as_f64().is_some_and(|n| n != 0.0),
                Value::String(s) => !matches!(s.trim(), "" | "0" | "false"),
                _ => false,
            };
            let ty = match &p.ty {
                Value::String(s) => s.clone(),
                Value::Null => "string".to_string(),
                other => other.to_string(),
            };
            let param = ParamData {
                name: self.intern(name),
                description: self.intern(p.description.as_deref().unwrap_or("").trim()),
                ty: self.intern(&ty),
                optional,
            };
            self.doc.params.push(param);
        }
        let to = self.doc.params.len() as u32;
        self.doc.endpoints.push(EndpointData {
            description,
            permissions,
            params: (from, to),
        });
        (self.doc.endpoints.len() - 1) as u32
    }
}
