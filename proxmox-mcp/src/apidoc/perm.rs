//! One-line summaries of the schema's `permissions` objects: `VM.PowerMgmt on /vms/{vmid}`.

use serde_json::Value;

use super::first_sentence;

/// The summary of a method's `permissions`. A method without one is root-only in PVE.
pub(super) fn summary(perms: Option<&Value>) -> Option<String> {
    let Some(perms) = perms.filter(|p| !p.is_null()) else {
        return Some("root@pam only".into());
    };
    let mut parts = Vec::new();
    if let Some(check) = perms.get("check").filter(|c| !c.is_null()) {
        parts.push(check_text(check, false));
    } else if let Some(user) = perms.get("user").and_then(Value::as_str) {
        parts.push(match user {
            "all" => "any authenticated user".to_string(),
            "world" => "anyone, without logging in".to_string(),
            other => format!("only {other}"),
        });
    }
    if let Some(d) = perms.get("description").and_then(Value::as_str) {
        let d = first_sentence(d);
        if !d.is_empty() {
            parts.push(d);
        }
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// A `check` array in words; `nested` parenthesises compound terms.
fn check_text(check: &Value, nested: bool) -> String {
    let Some(items) = check.as_array() else {
        return check.to_string();
    };
    let word = |i: usize| items.get(i).and_then(Value::as_str).unwrap_or("");
    match word(0) {
        "perm" => {
            let path = word(1);
            let privs: Vec<&str> = items
                .get(2)
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let opts: Vec<&str> = items[3.min(items.len())..]
                .iter()
                .filter_map(Value::as_str)
                .collect();
            let any = opts.contains(&"any");
            let mut s = format!("{} on {path}", privileges(&privs, any));
            if let Some(k) = opts.iter().position(|o| *o == "require_param")
                && let Some(p) = opts.get(k + 1)
            {
                s.push_str(&format!(" (when `{p}` is given)"));
            }
            s
        }
        op @ ("and" | "or") => {
            let terms: Vec<String> = items[1..].iter().map(|c| check_text(c, true)).collect();
            let joined = terms.join(&format!(" {op} "));
            if nested && terms.len() > 1 {
                format!("({joined})")
            } else {
                joined
            }
        }
        "userid-param" => match word(1) {
            "self" => "the user themselves".to_string(),
            privilege => format!("{privilege} on the user's realm"),
        },
        "userid-group" => {
            let privs: Vec<&str> = items
                .get(1)
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let mut s = format!("{} on a group of the user", privileges(&privs, true));
            if word(2) == "groups_param" {
                s.push_str(" and on the groups given");
            }
            s
        }
        "perm-modify" => format!(
            "Permissions.Modify (or the path's own admin privilege) on {}",
            word(1)
        ),
        _ => check.to_string(),
    }
}

/// `A`, `A and B`, `all of A, B, C`, `A or B`, `any of A, B, C`.
fn privileges(privs: &[&str], any: bool) -> String {
    match (privs, any) {
        ([], _) => "no privilege".to_string(),
        ([one], _) => one.to_string(),
        ([a, b], false) => format!("{a} and {b}"),
        ([a, b], true) => format!("{a} or {b}"),
        (many, false) => format!("all of {}", many.join(", ")),
        (many, true) => format!("any of {}", many.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn summaries() {
        let cases = [
            (
                json!({"check": ["perm", "/", ["Sys.Audit"]]}),
                "Sys.Audit on /",
            ),
            (
                json!({"check": ["perm", "/vms/{vmid}", ["VM.Config.Disk", "VM.Config.CPU", "VM.Config.Memory"], "any", 1]}),
                "any of VM.Config.Disk, VM.Config.CPU, VM.Config.Memory on /vms/{vmid}",
            ),
            (
                json!({"check": ["perm", "/storage/{storage}", ["Datastore.Audit", "Datastore.Allocate"]]}),
                "Datastore.Audit and Datastore.Allocate on /storage/{storage}",
            ),
            (
                json!({"check": ["and", ["perm", "/vms/{vmid}", ["VM.Allocate"]],
                                 ["or", ["perm", "/", ["Sys.Audit"]], ["perm", "/", ["Sys.Modify"]]]]}),
                "VM.Allocate on /vms/{vmid} and (Sys.Audit on / or Sys.Modify on /)",
            ),
            (
                json!({"check": ["perm", "/pool/{pool}", ["Pool.Allocate"], "require_param", "pool"]}),
                "Pool.Allocate on /pool/{pool} (when `pool` is given)",
            ),
            (
                json!({"check": ["or", ["userid-param", "self"], ["userid-group", ["User.Modify"]]]}),
                "the user themselves or User.Modify on a group of the user",
            ),
            (
                json!({"check": ["userid-group", ["User.Modify"], "groups_param", "update"]}),
                "User.Modify on a group of the user and on the groups given",
            ),
            (
                json!({"check": ["userid-param", "Realm.AllocateUser"]}),
                "Realm.AllocateUser on the user's realm",
            ),
            (
                json!({"check": ["perm-modify", "{path}"]}),
                "Permissions.Modify (or the path's own admin privilege) on {path}",
            ),
            (json!({"user": "all"}), "any authenticated user"),
            (json!({"user": "world"}), "anyone, without logging in"),
            (
                json!({"user": "all", "description": "Only lists what you may audit. Details\nfollow."}),
                "any authenticated user; Only lists what you may audit.",
            ),
            (json!({"check": ["mystery", 1]}), "[\"mystery\",1]"),
            (Value::Null, "root@pam only"),
        ];
        for (perms, want) in cases {
            assert_eq!(summary(Some(&perms)).as_deref(), Some(want), "{perms}");
        }
        assert_eq!(summary(None).as_deref(), Some("root@pam only"));
        assert_eq!(summary(Some(&json!({}))), None);
    }
}
