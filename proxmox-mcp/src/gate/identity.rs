//! Who the server is on a cluster, read from the cluster: the node its API URL lands on, the
//! groups its user belongs to and the roles granted to its user, token or groups. Root
//! protection judges requests against them, so what cannot be read stays unknown and the
//! requests it matters for are refused (`None` in [`Identity`]), never assumed harmless.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::policy::protect::Identity;
use crate::pve::{Method, Params, Pve};

/// The node our API URL lands on (`local` in `/cluster/status`).
pub async fn own_node(pve: &Pve) -> Option<String> {
    let items = pve.cluster_status().await.ok()?;
    items
        .into_iter()
        .find(|i| i.kind == "node" && i.local == Some(true))
        .map(|n| n.name)
}

/// Our groups and roles, as far as the credentials can read them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Access {
    pub groups: Option<BTreeSet<String>>,
    pub roles: Option<BTreeSet<String>>,
}

impl Access {
    /// `id` with these groups and roles.
    pub fn apply(&self, id: &mut Identity) {
        id.own_groups = self.groups.clone();
        id.own_roles = self.roles.clone();
    }
}

/// Reads our groups (`GET /access/users/{user}`) and, when the whole ACL is visible to us
/// (`Sys.Audit` on `/access`), the roles granted to our user, token or groups
/// (`GET /access/acl`). Three reads; any failure leaves that part unknown.
pub async fn access(pve: &Pve, user: &str, token: Option<&str>) -> Access {
    let groups = user_groups(pve, user).await;
    let roles = match &groups {
        Some(groups) => held_roles(pve, user, token, groups).await,
        None => None,
    };
    Access { groups, roles }
}

async fn user_groups(pve: &Pve, user: &str) -> Option<BTreeSet<String>> {
    let path = format!("/access/users/{}", crate::pve::params::encode_segment(user));
    let data = pve.call(Method::Get, &path, &Params::new()).await.ok()?;
    Some(list(data.get("groups")))
}

async fn held_roles(
    pve: &Pve,
    user: &str,
    token: Option<&str>,
    groups: &BTreeSet<String>,
) -> Option<BTreeSet<String>> {
    let mut params = Params::new();
    params.insert("path".into(), Value::from("/access"));
    let perms = pve
        .call(Method::Get, "/access/permissions", &params)
        .await
        .ok()?;
    let audit = perms
        .get("/access")
        .and_then(|p| p.get("Sys.Audit"))
        .is_some_and(|v| v.as_u64() == Some(1) || v.as_bool() == Some(true));
    if !audit {
        // Without it, the ACL list hides entries on paths we cannot modify: incomplete.
        return None;
    }
    let acl = pve
        .call(Method::Get, "/access/acl", &Params::new())
        .await
        .ok()?;
    let mut roles = BTreeSet::new();
    for e in acl.as_array()? {
        let (Some(kind), Some(ugid), Some(role)) = (
            e.get("type").and_then(Value::as_str),
            e.get("ugid").and_then(Value::as_str),
            e.get("roleid").and_then(Value::as_str),
        ) else {
            continue;
        };
        let ours = match kind {
            "user" => ugid == user,
            "token" => Some(ugid) == token,
            "group" => groups.contains(ugid),
            _ => false,
        };
        if ours {
            roles.insert(role.to_string());
        }
    }
    Some(roles)
}

/// A list PVE sends as an array or a comma-separated string.
fn list(v: Option<&Value>) -> BTreeSet<String> {
    match v {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
        Some(Value::String(s)) => s
            .split([',', ';', ' '])
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
        _ => BTreeSet::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn groups_come_as_a_list_or_a_string() {
        assert_eq!(list(Some(&json!("a, b,,c"))).len(), 3);
        assert_eq!(list(Some(&json!(["a", " b "]))).len(), 2);
        assert!(list(None).is_empty());
    }
}
