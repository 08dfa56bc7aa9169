//! The table of mutating endpoints against the official API schema: every non-GET method has
//! a class, and every row names a method the schema has.
#![allow(clippy::print_stdout)] // test output is for the humans reading the run

use std::collections::BTreeSet;
use std::path::PathBuf;

use proxmox_mcp::policy::Class;
use proxmox_mcp::policy::api::{ENDPOINTS, classify_api, endpoint};
use serde_json::Value;

fn schema_path() -> PathBuf {
    match std::env::var_os("PVE_API_SCHEMA") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/pve/api-schema.json"),
    }
}

/// Every non-GET `METHOD /path` in the schema tree.
fn mutating(tree: &Value, out: &mut BTreeSet<(String, String)>) {
    for node in tree.as_array().into_iter().flatten() {
        if let (Some(path), Some(info)) = (
            node.get("path").and_then(Value::as_str),
            node.get("info").and_then(Value::as_object),
        ) {
            for method in info.keys().filter(|m| *m != "GET") {
                out.insert((method.clone(), path.to_string()));
            }
        }
        if let Some(children) = node.get("children") {
            mutating(children, out);
        }
    }
}

/// The schema's methods, or `None` (with a loud SKIP line) when the file is not there.
fn schema() -> Option<BTreeSet<(String, String)>> {
    let path = schema_path();
    let Ok(text) = std::fs::read_to_string(&path) else {
        println!(
            "SKIP: {} not found (set PVE_API_SCHEMA); endpoint table not checked",
            path.display()
        );
        return None;
    };
    let tree: Value = serde_json::from_str(&text).expect("schema parses");
    let mut out = BTreeSet::new();
    mutating(&tree, &mut out);
    assert!(
        out.len() > 300,
        "schema looks truncated: {} methods",
        out.len()
    );
    Some(out)
}

#[test]
fn every_mutating_method_has_a_class_and_no_row_is_stale() {
    let Some(schema) = schema() else { return };
    let table: BTreeSet<(String, String)> = ENDPOINTS
        .iter()
        .map(|e| (e.method.to_string(), e.path.to_string()))
        .collect();
    assert_eq!(table.len(), ENDPOINTS.len(), "the table has duplicate rows");
    let missing: Vec<String> = schema
        .difference(&table)
        .map(|(m, p)| format!("{m} {p}"))
        .collect();
    let stale: Vec<String> = table
        .difference(&schema)
        .map(|(m, p)| format!("{m} {p}"))
        .collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "no class for:\n  {}\nnot in the schema:\n  {}",
        missing.join("\n  "),
        stale.join("\n  ")
    );
}

/// Each schema path, with its placeholders filled in, finds its own row (and no stricter one
/// by accident), and `classify_api` agrees where no path rule raises it.
#[test]
fn each_method_finds_its_own_row() {
    let Some(schema) = schema() else { return };
    let mut bad = Vec::new();
    for (method, path) in &schema {
        let concrete: String = path
            .split('/')
            .map(|s| match s {
                "{vmid}" => "100",
                "{node}" => "pve1",
                s if s.starts_with('{') => "x1",
                s => s,
            })
            .collect::<Vec<_>>()
            .join("/");
        let Some(found) = endpoint(method, &concrete) else {
            bad.push(format!("{method} {concrete}: no row"));
            continue;
        };
        let own = ENDPOINTS
            .iter()
            .find(|e| e.method == method && e.path == path)
            .map(|e| e.class);
        if Some(found.class) != own {
            bad.push(format!(
                "{method} {concrete}: matched {} ({}), own row {own:?}",
                found.path, found.class
            ));
        }
        let lower = endpoint(&method.to_lowercase(), &concrete.to_uppercase());
        if lower.map(|e| e.class) != Some(found.class) {
            bad.push(format!("{method} {concrete}: case changes the match"));
        }
        if classify_api(method, &concrete) < found.class {
            bad.push(format!(
                "{method} {concrete}: classify_api is below the table"
            ));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    let classes: BTreeSet<Class> = ENDPOINTS.iter().map(|e| e.class).collect();
    println!("{} rows, classes used: {classes:?}", ENDPOINTS.len());
}
