//! Storage views: `/storage`, `/nodes/{node}/storage`, `/nodes/{node}/storage/{storage}/status` and `/content`.

use serde::{Deserialize, Serialize};

use super::super::perl;

/// One entry of `GET /nodes/{node}/storage` (with usage) or `GET /storage` (definitions only).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Storage {
    pub storage: String,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Comma-separated content types (`images,rootdir,iso,backup,…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub shared: Option<bool>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub active: Option<bool>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub enabled: Option<bool>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub disable: Option<bool>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub total: Option<u64>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub used: Option<u64>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub avail: Option<u64>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_f64",
        skip_serializing_if = "Option::is_none"
    )]
    pub used_fraction: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nodes: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// `GET /nodes/{node}/storage/{storage}/status`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct StorageStatus {
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub active: Option<bool>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub enabled: Option<bool>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub shared: Option<bool>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub total: Option<u64>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub used: Option<u64>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub avail: Option<u64>,
}

/// One entry of `GET /nodes/{node}/storage/{storage}/content`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct StorageContent {
    /// Volume id, e.g. `local:iso/debian.iso`.
    pub volid: String,
    /// `images`, `rootdir`, `iso`, `vztmpl`, `backup`, `snippets`, `import`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub size: Option<u64>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub used: Option<u64>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub ctime: Option<i64>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_vmid",
        skip_serializing_if = "Option::is_none"
    )]
    pub vmid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subtype: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub protected: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_value",
        skip_serializing_if = "Option::is_none"
    )]
    pub verification: Option<serde_json::Value>,
}
