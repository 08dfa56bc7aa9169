//! Descriptions from the official Proxmox VE API schema: what an endpoint does, who may call it
//! and what its parameters mean, looked up by the same messy paths a model sends.
//!
//! The schema is the api-viewer dump: `/usr/share/pve-docs/api-viewer/apidata.js` on a node (a
//! JavaScript file, `const apiSchema = [ … ];`) or the same array as plain JSON. [`ApiDoc::load`]
//! keeps only what lookups need (path tree, descriptions, parameter names and types, a one-line
//! permission summary), with repeated strings stored once, so the several-MB file shrinks to a
//! few hundred KB. Loading is IO; lookups are pure.

mod load;
mod perm;

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::policy::api::decode;

/// Why the schema could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ApiDocError {
    #[error("cannot read the API schema {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the API schema is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("no API schema found: expected a JSON array or an apidata.js with `apiSchema = [ … ]`")]
    NoSchema,
    #[error("the API schema has no endpoints")]
    Empty,
}

/// The loaded schema index. Lookups borrow from it; share it behind an `Arc`.
pub struct ApiDoc {
    /// Every string, stored once; [`Span`]s point into it.
    text: String,
    /// The path tree; `nodes[0]` is the root (`/`).
    nodes: Vec<Node>,
    endpoints: Vec<EndpointData>,
    params: Vec<ParamData>,
}

impl std::fmt::Debug for ApiDoc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ApiDoc({} endpoints, {} parameters, {} bytes of text)",
            self.endpoints.len(),
            self.params.len(),
            self.text.len()
        )
    }
}

/// A slice of [`ApiDoc::text`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Span {
    start: u32,
    len: u32,
}

#[derive(Debug, Default)]
struct Node {
    /// The schema's path template, e.g. `/nodes/{node}/qemu`.
    template: Span,
    /// Literal child segments.
    literal: Vec<(Span, u32)>,
    /// The `{var}` child, if any.
    placeholder: Option<u32>,
    /// Endpoint index per method, in [`METHODS`] order.
    methods: [Option<u32>; 4],
}

#[derive(Debug)]
struct EndpointData {
    description: Span,
    permissions: Option<Span>,
    /// Range into [`ApiDoc::params`].
    params: (u32, u32),
}

#[derive(Debug)]
struct ParamData {
    name: Span,
    description: Span,
    ty: Span,
    optional: bool,
}

/// The methods the schema knows, in the order of [`Node::methods`].
const METHODS: [&str; 4] = ["GET", "POST", "PUT", "DELETE"];

/// One endpoint of the schema: a path template and a method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint<'a> {
    /// The schema's template, e.g. `/nodes/{node}/qemu/{vmid}/status/start`.
    pub template: &'a str,
    pub method: &'static str,
    /// The schema's description; empty for a few directory indexes.
    pub description: &'a str,
    /// One line: the permission check, e.g. `VM.PowerMgmt on /vms/{vmid}`.
    pub permissions: Option<String>,
    /// Every parameter, path variables included, sorted by name. Indexed parameters keep the
    /// schema's spelling (`net[n]`).
    pub params: Vec<ParamDoc<'a>>,
}

/// One parameter of an [`Endpoint`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParamDoc<'a> {
    pub name: &'a str,
    pub description: &'a str,
    pub optional: bool,
    /// The schema type: `string`, `integer`, `boolean`, `number`, `array`, `object`.
    pub ty: &'a str,
}

impl<'a> Endpoint<'a> {
    /// The parameter `name` means: an exact match, else the indexed form (`net0` → `net[n]`).
    pub fn param(&self, name: &str) -> Option<&ParamDoc<'a>> {
        let name = name.trim();
        self.params.iter().find(|p| p.name == name).or_else(|| {
            let stem = name.trim_end_matches(|c: char| c.is_ascii_digit());
            (stem.len() < name.len())
                .then(|| format!("{stem}[n]"))
                .and_then(|indexed| self.params.iter().find(|p| p.name == indexed))
        })
    }
}

impl ApiDoc {
    /// Reads a plain JSON schema or an `apidata.js`.
    pub fn load(path: &Path) -> Result<ApiDoc, ApiDocError> {
        let text = std::fs::read_to_string(path).map_err(|source| ApiDocError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_json_str(&text)
    }

    /// Parses schema text: the JSON array itself, or the `apidata.js` that wraps it (anything
    /// after the array, such as further JavaScript, is ignored).
    pub fn from_json_str(text: &str) -> Result<ApiDoc, ApiDocError> {
        load::parse(text)
    }

    /// Number of endpoints (path and method pairs).
    pub fn len(&self) -> usize {
        self.endpoints.len()
    }

    pub fn is_empty(&self) -> bool {
        self.endpoints.is_empty()
    }

    fn str(&self, s: Span) -> &str {
        &self.text[s.start as usize..(s.start + s.len) as usize]
    }

    /// The endpoint for `method` and `path`. The path may carry an `/api2/<format>` prefix,
    /// doubled or trailing slashes and percent-encoding; `{var}` segments match any value, a
    /// literal segment wins over a variable, and an unencoded volume id such as
    /// `local:backup/vzdump.vma.zst` may fill the last variable.
    pub fn lookup(&self, method: &str, path: &str) -> Option<Endpoint<'_>> {
        let method = method.trim().to_ascii_uppercase();
        let m = METHODS.iter().position(|x| *x == method)?;
        let found = candidates(path).into_iter().find_map(|segs| {
            self.walk(0, &segs, false)
                .or_else(|| self.walk(0, &segs, true))
                .and_then(|n| self.nodes[n as usize].methods[m].map(|e| (n, e)))
        });
        let (node, e) = found?;
        let data = &self.endpoints[e as usize];
        let (from, to) = data.params;
        Some(Endpoint {
            template: self.str(self.nodes[node as usize].template),
            method: METHODS[m],
            description: self.str(data.description),
            permissions: data.permissions.map(|s| self.str(s).to_string()),
            params: self.params[from as usize..to as usize]
                .iter()
                .map(|p| ParamDoc {
                    name: self.str(p.name),
                    description: self.str(p.description),
                    optional: p.optional,
                    ty: self.str(p.ty),
                })
                .collect(),
        })
    }

    /// Walks the tree; with `greedy`, a variable with no further children takes the rest of
    /// the path (volume ids with unencoded slashes).
    fn walk(&self, node: u32, segs: &[String], greedy: bool) -> Option<u32> {
        let Some((first, rest)) = segs.split_first() else {
            return Some(node);
        };
        let n = &self.nodes[node as usize];
        if let Some(&(_, child)) = n.literal.iter().find(|(s, _)| self.str(*s) == first)
            && let Some(found) = self.walk(child, rest, greedy)
        {
            return Some(found);
        }
        let child = n.placeholder?;
        if let Some(found) = self.walk(child, rest, greedy) {
            return Some(found);
        }
        let c = &self.nodes[child as usize];
        (greedy && c.literal.is_empty() && c.placeholder.is_none()).then_some(child)
    }

    /// Descriptions of the parameters in `given` (unknown names are left out), each shortened
    /// to its first sentence, in `given`'s order.
    pub fn describe_params(
        &self,
        method: &str,
        path: &str,
        given: &Map<String, Value>,
    ) -> Vec<(String, String)> {
        let Some(ep) = self.lookup(method, path) else {
            return Vec::new();
        };
        given
            .keys()
            .filter_map(|k| {
                let p = ep.param(k)?;
                Some((k.trim().to_string(), first_sentence(p.description)))
            })
            .collect()
    }
}

/// The path's segments, each percent-decoded after splitting (so an encoded `%2F` stays inside
/// its segment), then the whole-path decoding of [`crate::policy::api::segments`] as a second
/// try. Empty segments and an `/api2/<format>` prefix are dropped.
fn candidates(path: &str) -> Vec<Vec<String>> {
    let mut split: Vec<String> = path
        .split('/')
        .map(|s| decode(s.trim()).trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    if split
        .first()
        .is_some_and(|s| s.eq_ignore_ascii_case("api2"))
    {
        let n = split.len().min(2);
        split.drain(..n);
    }
    let joined = crate::policy::api::segments(path);
    if joined == split {
        vec![split]
    } else {
        vec![split, joined]
    }
}

/// The first sentence of `text`, whitespace collapsed, at most about 200 characters.
pub fn first_sentence(text: &str) -> String {
    const MAX: usize = 200;
    const ABBREVIATIONS: &[&str] = &["e.g", "i.e", "vs", "approx", "resp", "incl", "cf"];
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut end = flat.len();
    for (i, _) in flat.match_indices(". ") {
        let word = flat[..i].rsplit(' ').next().unwrap_or("");
        let word = word.trim_start_matches(['(', '"', '\'']);
        if !ABBREVIATIONS.iter().any(|a| word.eq_ignore_ascii_case(a)) {
            end = i + 1;
            break;
        }
    }
    let sentence = &flat[..end];
    if sentence.chars().count() <= MAX {
        return sentence.to_string();
    }
    let cut: String = sentence.chars().take(MAX).collect();
    let cut = cut.rsplit_once(' ').map(|(a, _)| a).unwrap_or(&cut);
    format!("{}…", cut.trim_end_matches([',', ';', ':']))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A small schema in the api-viewer's shape (written for these tests).
    fn doc() -> ApiDoc {
        let schema = json!([
            {"path": "/nodes", "text": "nodes",
             "info": {"GET": {"description": "Cluster node index.",
                              "permissions": {"user": "all"}}},
             "children": [
                {"path": "/nodes/{node}", "text": "{node}",
                 "info": {"GET": {"description": "Node index.",
                    "parameters": {"properties": {"node": {"description": "The cluster node name.", "type": "string"}}}}},
                 "children": [
                    {"path": "/nodes/{node}/status", "text": "status",
                     "info": {"POST": {"description": "Reboot or shutdown a node.",
                        "permissions": {"check": ["perm", "/nodes/{node}", ["Sys.PowerMgmt"]]},
                        "parameters": {"properties": {
                            "command": {"description": "Specify the command.", "type": "string"},
                            "node": {"description": "The cluster node name.", "type": "string"}}}}}},
                    {"path": "/nodes/{node}/qemu", "text": "qemu", "children": [
                        {"path": "/nodes/{node}/qemu/{vmid}", "text": "{vmid}",
                         "info": {"DELETE": {"description": "Destroy the VM and all used/owned volumes.",
                            "permissions": {"check": ["perm", "/vms/{vmid}", ["VM.Allocate"]]}}},
                         "children": [
                            {"path": "/nodes/{node}/qemu/{vmid}/config", "text": "config",
                             "info": {"PUT": {"description": "Set options.",
                                "permissions": {"check": ["perm", "/vms/{vmid}", ["VM.Config.Disk", "VM.Config.CPU"], "any", 1]},
                                "parameters": {"properties": {
                                    "net[n]": {"description": "Specify network devices.", "type": "string", "optional": 1},
                                    "protection": {"description": "Sets the protection flag of the VM. This will disable the remove VM operation.", "type": "boolean", "optional": 1},
                                    "delete": {"description": "A list of settings, e.g. net0. More text.", "type": "string", "optional": "1"}}}}}},
                            {"path": "/nodes/{node}/qemu/{vmid}/status", "text": "status", "children": [
                                {"path": "/nodes/{node}/qemu/{vmid}/status/start", "text": "start",
                                 "info": {"POST": {"description": "Start virtual machine.",
                                    "permissions": {"check": ["perm", "/vms/{vmid}", ["VM.PowerMgmt"]]}}}},
                                {"path": "/nodes/{node}/qemu/{vmid}/status/current", "text": "current",
                                 "info": {"GET": {"description": "Get virtual machine status."}}}
                            ]}
                         ]}
                    ]},
                    {"path": "/nodes/{node}/storage/{storage}/content/{volume}", "text": "{volume}",
                     "info": {"DELETE": {"description": "Delete volume", "permissions": {"description": "You need Datastore.Allocate privilege on the storage. Or more.", "user": "all"}}}}
                 ]}
             ]}
        ]);
        ApiDoc::from_json_str(&schema.to_string()).unwrap()
    }

    /// (method, path, the template found or "" for none)
    fn check(cases: &[(&str, &str, &str)]) {
        let d = doc();
        let bad: Vec<String> = cases
            .iter()
            .filter_map(|(m, p, want)| {
                let got = d.lookup(m, p).map(|e| e.template).unwrap_or("");
                (got != *want).then(|| format!("{m} {p}: got {got:?}, want {want:?}"))
            })
            .collect();
        assert!(bad.is_empty(), "{}", bad.join("\n"));
    }

    #[test]
    fn lookups_tolerate_messy_paths() {
        let start = "/nodes/{node}/qemu/{vmid}/status/start";
        let vol = "/nodes/{node}/storage/{storage}/content/{volume}";
        check(&[
            ("POST", "/nodes/pve1/qemu/100/status/start", start),
            ("post", "/api2/json/nodes/pve1/qemu/100/status/start", start),
            ("POST", "//nodes//pve1/qemu/100/status/start/", start),
            ("POST", "nodes/pve1/qemu/100/status/st%61rt", start),
            (
                "POST",
                "/API2/extjs/nodes/pve1/qemu/100/status/start",
                start,
            ),
            ("GET", "/nodes/pve1/qemu/100/status/start", ""),
            ("PATCH", "/nodes/pve1/qemu/100/status/start", ""),
            (
                "GET",
                "/nodes/pve1/qemu/100/status/current",
                "/nodes/{node}/qemu/{vmid}/status/current",
            ),
            ("POST", "/nodes/pve1/status", "/nodes/{node}/status"),
            ("GET", "/nodes/pve1", "/nodes/{node}"),
            ("GET", "/nodes", "/nodes"),
            ("GET", "/", ""),
            (
                "DELETE",
                "/nodes/pve1/storage/local/content/local:backup%2Fvzdump.vma.zst",
                vol,
            ),
            (
                "DELETE",
                "/nodes/pve1/storage/local/content/local:backup/vzdump.vma.zst",
                vol,
            ),
            ("DELETE", "/nodes/pve1/qemu/100/extra/segments", ""),
        ]);
    }

    #[test]
    fn endpoint_fields() {
        let d = doc();
        let e = d
            .lookup("PUT", "/nodes/pve1/qemu/100/config")
            .expect("config endpoint");
        assert_eq!(e.method, "PUT");
        assert_eq!(e.description, "Set options.");
        assert_eq!(
            e.permissions.as_deref(),
            Some("VM.Config.Disk or VM.Config.CPU on /vms/{vmid}")
        );
        let names: Vec<&str> = e.params.iter().map(|p| p.name).collect();
        assert_eq!(names, ["delete", "net[n]", "protection"]);
        assert!(e.params.iter().all(|p| p.optional));
        assert_eq!(e.param("net3").map(|p| p.ty), Some("string"));
        assert_eq!(e.param("protection").map(|p| p.ty), Some("boolean"));
        assert!(e.param("bogus").is_none());
        let node = d.lookup("GET", "/nodes/pve1").unwrap();
        assert!(!node.params[0].optional);
        assert_eq!(node.permissions.as_deref(), Some("root@pam only"));
        let vol = d.lookup("DELETE", "/nodes/x/storage/s/content/v").unwrap();
        assert_eq!(
            vol.permissions.as_deref(),
            Some("any authenticated user; You need Datastore.Allocate privilege on the storage.")
        );
    }

    #[test]
    fn describe_given_params() {
        let d = doc();
        let given =
            json!({"protection": 0, "net0": "virtio,bridge=vmbr0", "nope": 1, "delete": "tags"});
        let Value::Object(given) = given else {
            unreachable!()
        };
        let got = d.describe_params("PUT", "/api2/json/nodes/pve1/qemu/100/config", &given);
        assert_eq!(
            got,
            [
                (
                    "delete".to_string(),
                    "A list of settings, e.g. net0.".to_string()
                ),
                ("net0".to_string(), "Specify network devices.".to_string()),
                (
                    "protection".to_string(),
                    "Sets the protection flag of the VM.".to_string()
                ),
            ]
        );
        assert!(d.describe_params("GET", "/nope", &given).is_empty());
    }

    #[test]
    fn sentences() {
        for (text, want) in [
            ("One. Two.", "One."),
            ("No period", "No period"),
            (
                "Bridge to attach to. The\nstandard bridge",
                "Bridge to attach to.",
            ),
            ("Use i.e. this one. Then", "Use i.e. this one."),
            ("Version 1.5 is fine. Yes.", "Version 1.5 is fine."),
            ("  spaced\n\n  out  ", "spaced out"),
        ] {
            assert_eq!(first_sentence(text), want, "{text:?}");
        }
        let long = "word ".repeat(100);
        let s = first_sentence(&long);
        assert!(s.ends_with('…') && s.chars().count() <= 201, "{s}");
    }

    #[test]
    fn apidata_js_wrapper() {
        let js = r#"// generated
const apiSchema = [{"path": "/version", "text": "version",
  "info": {"GET": {"description": "API version [with ] brackets \"]\" in strings."}}}];
let method2cmd = { GET: 'get' };
function x() { return [1]; }
"#;
        let d = ApiDoc::from_json_str(js).unwrap();
        assert_eq!(d.len(), 1);
        let e = d.lookup("GET", "/version").unwrap();
        assert!(e.description.contains("\"]\""), "{}", e.description);
        let old = r#"var pveapi = [{"path": "/version", "info": {"GET": {"description": "v"}}}];"#;
        assert_eq!(ApiDoc::from_json_str(old).unwrap().len(), 1);
        assert!(matches!(
            ApiDoc::from_json_str("let x = 1;"),
            Err(ApiDocError::NoSchema)
        ));
        assert!(matches!(
            ApiDoc::from_json_str("[]"),
            Err(ApiDocError::Empty)
        ));
        assert!(matches!(
            ApiDoc::from_json_str("[{"),
            Err(ApiDocError::Json(_))
        ));
    }

    /// The official schema from `../shared/pve/api-schema.json`, when present.
    fn real_schema() -> Option<PathBuf> {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/pve/api-schema.json");
        if p.exists() {
            Some(p)
        } else {
            eprintln!("skipped: {} is absent", p.display());
            None
        }
    }

    #[test]
    fn real_schema_lookups() {
        let Some(path) = real_schema() else { return };
        let t = std::time::Instant::now();
        let d = ApiDoc::load(&path).unwrap();
        eprintln!("loaded {d:?} in {:?}", t.elapsed());
        assert!(d.len() > 600, "{d:?}");
        let e = d
            .lookup("POST", "/api2/json/nodes/pve1/qemu/100/status/start")
            .unwrap();
        assert_eq!(e.template, "/nodes/{node}/qemu/{vmid}/status/start");
        assert_eq!(
            e.permissions.as_deref(),
            Some("VM.PowerMgmt on /vms/{vmid}")
        );
        let e = d.lookup("POST", "/nodes/pve1/status").unwrap();
        assert!(e.param("command").is_some());
        let e = d.lookup("PUT", "/nodes/pve1/qemu/100/config").unwrap();
        assert!(e.param("net0").is_some() && e.param("protection").is_some());
        let e = d
            .lookup(
                "DELETE",
                "/nodes/pve1/storage/local/content/local:backup/x.vma.zst",
            )
            .unwrap();
        assert_eq!(
            e.template,
            "/nodes/{node}/storage/{storage}/content/{volume}"
        );
        // A handful of directory indexes have no description; every endpoint has a summary.
        let empty = d
            .endpoints
            .iter()
            .filter(|e| e.description.len == 0)
            .count();
        assert!(empty <= 10, "{empty} endpoints without a description");
        assert!(d.endpoints.iter().all(|e| e.permissions.is_some()));
        assert!(d.text.len() < 400_000, "{d:?}");
        // The same data in apidata.js form, with JavaScript after the array.
        let json = std::fs::read_to_string(&path).unwrap();
        let js = format!("const apiSchema = {json};\nlet method2cmd = {{ GET: 'get' }};\n");
        let t = std::time::Instant::now();
        let from_js = ApiDoc::from_json_str(&js).unwrap();
        eprintln!("parsed the apidata.js form in {:?}", t.elapsed());
        assert_eq!((from_js.len(), from_js.text.len()), (d.len(), d.text.len()));
    }
}
