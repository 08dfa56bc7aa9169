//! One planned Proxmox request, typed: method, path (relative to `/api2/json`) and parameters.
//! The gate assesses it and the handler sends exactly it.

use std::fmt;
use std::str::FromStr;

use serde_json::Value;

use super::error::PveError;

/// Call parameters: flat JSON values, encoded as PVE expects by [`super::params::to_pairs`].
pub type Params = serde_json::Map<String, Value>;

/// The four HTTP methods the PVE API uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    #[serde(alias = "get", alias = "Get")]
    Get,
    #[serde(alias = "post", alias = "Post")]
    Post,
    #[serde(alias = "put", alias = "Put")]
    Put,
    #[serde(alias = "delete", alias = "Delete")]
    Delete,
}

impl Method {
    /// POST, PUT and DELETE change state (and need the CSRF token with ticket auth).
    pub fn is_write(self) -> bool {
        !matches!(self, Method::Get)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Method {
    type Err = PveError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_uppercase().as_str() {
            "GET" => Ok(Method::Get),
            "POST" => Ok(Method::Post),
            "PUT" => Ok(Method::Put),
            "DELETE" => Ok(Method::Delete),
            _ => Err(PveError::Config(format!(
                "unknown HTTP method '{s}'; use GET, POST, PUT or DELETE"
            ))),
        }
    }
}

/// A request as the gate assesses it and the handler sends it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Request {
    pub method: Method,
    /// Relative to `/api2/json`, segments percent-encoded.
    pub path: String,
    pub params: Params,
}

impl Request {
    pub fn new(method: Method, path: impl Into<String>, params: Params) -> Self {
        Request {
            method,
            path: path.into(),
            params,
        }
    }
}

impl fmt::Display for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.path)
    }
}
