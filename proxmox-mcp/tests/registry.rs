//! The tool registry against the official API schema and the public `tools/list` surface.
#![allow(clippy::print_stdout)] // test output is for the humans reading the run

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::Value;

fn schema_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/pve/api-schema.json")
}

/// Every `METHOD /path` in the schema tree.
fn schema_endpoints(tree: &Value, out: &mut BTreeSet<String>) {
    for node in tree.as_array().into_iter().flatten() {
        if let (Some(path), Some(info)) = (
            node.get("path").and_then(Value::as_str),
            node.get("info").and_then(Value::as_object),
        ) {
            for method in info.keys() {
                out.insert(format!("{method} {path}"));
            }
        }
        if let Some(children) = node.get("children") {
            schema_endpoints(children, out);
        }
    }
}

#[test]
fn every_declared_endpoint_exists_in_the_api_schema() {
    let path = schema_path();
    let Ok(text) = std::fs::read_to_string(&path) else {
        println!("SKIP: {} not found; endpoint check not run", path.display());
        return;
    };
    let tree: Value = serde_json::from_str(&text).expect("schema parses");
    let mut known = BTreeSet::new();
    schema_endpoints(&tree, &mut known);
    assert!(
        known.len() > 600,
        "schema looks truncated: {} methods",
        known.len()
    );
    let mut missing = Vec::new();
    for tool in proxmox_mcp::tools::registry() {
        for ep in tool.endpoints {
            if ep.ends_with(" *") {
                continue; // proxmox_api: any path, checked per call
            }
            if !known.contains(*ep) {
                missing.push(format!("{}: {ep}", tool.name));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "endpoints not in the PVE schema: {missing:#?}"
    );
}

#[test]
fn tools_list_is_compact_and_pinned() {
    let tools = proxmox_mcp::server::tool_list(proxmox_mcp::policy::mode::Mode::Normal);
    let json = serde_json::to_value(&tools).unwrap();
    let bytes = serde_json::to_vec(&json).unwrap().len();
    let per_tool = bytes / tools.len();
    println!(
        "tools/list: {} tools, {bytes} bytes, {per_tool} bytes per tool",
        tools.len()
    );
    assert!(
        per_tool <= 1500,
        "tools/list averages {per_tool} bytes per tool (limit 1500)"
    );
    for t in &json.as_array().unwrap()[..] {
        let name = t["name"].as_str().unwrap();
        assert_eq!(t["inputSchema"]["type"], "object", "{name}");
        assert!(t["outputSchema"].is_object(), "{name} has no outputSchema");
        let ann = &t["annotations"];
        for hint in [
            "readOnlyHint",
            "destructiveHint",
            "idempotentHint",
            "openWorldHint",
        ] {
            assert!(ann[hint].is_boolean(), "{name} lacks {hint}");
        }
    }
    insta::assert_json_snapshot!("tools_list", json);
}
