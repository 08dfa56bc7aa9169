//! Access control views: `/access/users`, `/access/groups`, `/access/roles`, `/access/acl`, `/access/permissions`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::super::perl;

/// One entry of `GET /access/users`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct User {
    pub userid: String,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub enable: Option<bool>,
    /// Epoch; 0 = never.
    #[serde(
        default,
        deserialize_with = "perl::de_opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub expire: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firstname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lastname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Comma-separated group ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<String>,
    #[serde(
        rename = "realm-type",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub realm_type: Option<String>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_value",
        skip_serializing_if = "Option::is_none"
    )]
    pub tokens: Option<serde_json::Value>,
}

/// One entry of `GET /access/groups`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Group {
    pub groupid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Comma-separated user ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users: Option<String>,
}

/// One entry of `GET /access/roles`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Role {
    pub roleid: String,
    /// Comma-separated privileges.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privs: Option<String>,
    /// Built-in role.
    #[serde(default, deserialize_with = "perl::de_bool")]
    pub special: bool,
}

impl Role {
    pub fn priv_list(&self) -> Vec<&str> {
        self.privs
            .as_deref()
            .map(|p| {
                p.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// One entry of `GET /access/acl`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct AclEntry {
    pub path: String,
    /// `user`, `group` or `token`.
    #[serde(rename = "type")]
    pub kind: String,
    pub ugid: String,
    pub roleid: String,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub propagate: Option<bool>,
}

/// `GET /access/permissions`: path → privilege → granted (PVE sends 1, or 0 for non-propagating).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(transparent)]
pub struct Permissions(pub BTreeMap<String, BTreeMap<String, serde_json::Value>>);

impl Permissions {
    /// Whether `privilege` is listed on exactly `path`.
    pub fn has(&self, path: &str, privilege: &str) -> bool {
        self.0
            .get(path)
            .and_then(|p| p.get(privilege))
            .is_some_and(|v| !v.is_null())
    }
}
