//! Compact JSON schemas for tool inputs and outputs: inlined, no titles or formats, nulls folded.
//!
//! The model pays for every byte of `tools/list`, so schemas carry only what helps it call a
//! tool correctly: types, enums, bounds, required fields and one-line descriptions.

use rmcp::model::JsonObject;
use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde_json::{Value, json};

/// Description of the `cluster` argument every tool accepts.
pub const CLUSTER_DOC: &str = "Cluster (default: first)";

fn generate<T: JsonSchema>(serialize: bool) -> Value {
    let settings = SchemaSettings::draft2020_12().with(|s| {
        s.inline_subschemas = true;
        s.meta_schema = None;
    });
    let settings = if serialize {
        settings.for_serialize()
    } else {
        settings.for_deserialize()
    };
    let mut value = settings
        .into_generator()
        .into_root_schema_for::<T>()
        .to_value();
    compact(&mut value);
    value
}

/// Input schema: a flat object with the common `cluster` argument added.
pub fn input<T: JsonSchema>() -> JsonObject {
    let mut value = generate::<T>(false);
    let obj = value.as_object_mut().expect("input schema is an object");
    obj.insert("type".into(), json!("object"));
    let props = obj
        .entry("properties")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .expect("properties is an object");
    props.insert(
        "cluster".into(),
        json!({"type": "string", "description": CLUSTER_DOC}),
    );
    obj.remove("description");
    obj.clone()
}

/// Output schema for `structuredContent`: the full shape, with nested levels kept to types.
pub fn output<T: JsonSchema>() -> JsonObject {
    let mut value = generate::<T>(true);
    slim_output(&mut value, 0);
    let obj = value.as_object_mut().expect("output schema is an object");
    obj.remove("description");
    obj.clone()
}

/// Outputs are validated, not filled in by the model, and every tool's output schema is paid
/// for on every `tools/list`: keep the top level (property names, types, `required`) and reduce
/// each property to its type. The text result and the field names carry the meaning.
fn slim_output(value: &mut Value, _depth: usize) {
    let Some(map) = value.as_object_mut() else {
        return;
    };
    map.remove("description");
    if let Some(Value::Object(props)) = map.get_mut("properties") {
        for prop in props.values_mut() {
            *prop = type_only(prop);
        }
    }
}

/// `{"type": T}` of a property schema; `{}` (anything) when it has no single type.
fn type_only(prop: &Value) -> Value {
    match prop.get("type") {
        Some(t) => json!({ "type": t }),
        None if prop.get("enum").is_some() => json!({ "type": "string" }),
        None => json!({}),
    }
}

/// Strip what does not help a model: titles, formats, `$schema`, null alternatives.
fn compact(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for key in ["$schema", "title", "format", "examples"] {
                map.remove(key);
            }
            if map.get("default").is_some_and(Value::is_null) {
                map.remove("default");
            }
            // `type: ["integer", "null"]` -> `type: "integer"`: absent and null mean the same here.
            if let Some(Value::Array(types)) = map.get("type") {
                let non_null: Vec<Value> = types
                    .iter()
                    .filter(|t| t.as_str() != Some("null"))
                    .cloned()
                    .collect();
                if non_null.len() == 1 {
                    map.insert("type".into(), non_null[0].clone());
                } else {
                    map.insert("type".into(), Value::Array(non_null));
                }
            }
            // `anyOf: [S, {type: null}]` -> S.
            if let Some(Value::Array(alts)) = map.get("anyOf") {
                let non_null: Vec<Value> = alts
                    .iter()
                    .filter(|a| a.get("type").and_then(Value::as_str) != Some("null"))
                    .cloned()
                    .collect();
                if non_null.len() == 1 {
                    map.remove("anyOf");
                    if let Value::Object(inner) = non_null[0].clone() {
                        for (k, v) in inner {
                            map.entry(k).or_insert(v);
                        }
                    }
                }
            }
            if let Some(Value::Array(e)) = map.get_mut("enum") {
                e.retain(|v| !v.is_null());
            }
            for v in map.values_mut() {
                compact(v);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(compact),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, schemars::JsonSchema)]
    #[allow(dead_code)]
    struct P {
        /// A number
        n: Option<u32>,
        s: String,
    }

    #[test]
    fn input_is_flat_and_compact() {
        let s = input::<P>();
        let text = serde_json::to_string(&s).unwrap();
        assert!(!text.contains("null"), "{text}");
        assert!(!text.contains("format"), "{text}");
        assert!(!text.contains("title"), "{text}");
        assert_eq!(s["type"], "object");
        assert_eq!(s["properties"]["n"]["type"], "integer");
        assert_eq!(s["properties"]["cluster"]["type"], "string");
        assert_eq!(s["required"], json!(["s"]));
    }
}
