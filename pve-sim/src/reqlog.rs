//! The request log: every served request in memory, optionally appended to a JSON-lines file.

use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One served request. Secrets never appear here: `auth` is a token id or user id.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RequestRecord {
    pub method: String,
    /// The full request path, e.g. `/api2/json/cluster/resources`.
    pub path: String,
    /// Query and body parameters merged, values as received (strings; arrays for repeated keys).
    pub params: Map<String, Value>,
    pub status: u16,
    /// Token id or user id; empty when unauthenticated.
    pub auth: String,
    pub duration_us: u64,
}

/// In-memory log plus an optional file sink.
pub struct RequestLog {
    records: Mutex<Vec<RequestRecord>>,
    file: Option<Mutex<std::fs::File>>,
}

/// Parameter names whose values are never logged.
const SECRET_PARAMS: &[&str] = &["password", "new-password", "value", "secret", "cipassword"];

impl RequestLog {
    pub fn new(path: Option<&Path>) -> anyhow::Result<Self> {
        let file = match path {
            Some(p) => Some(Mutex::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)
                    .map_err(|e| anyhow::anyhow!("open request log {}: {e}", p.display()))?,
            )),
            None => None,
        };
        Ok(Self {
            records: Mutex::new(Vec::new()),
            file,
        })
    }

    pub fn push(&self, mut rec: RequestRecord) {
        for k in SECRET_PARAMS {
            if let Some(v) = rec.params.get_mut(*k) {
                *v = Value::String("********".into());
            }
        }
        if let Some(f) = &self.file
            && let Ok(line) = serde_json::to_string(&rec)
            && let Ok(mut f) = f.lock()
        {
            let _ = writeln!(f, "{line}");
        }
        if let Ok(mut r) = self.records.lock() {
            r.push(rec);
        }
    }

    pub fn all(&self) -> Vec<RequestRecord> {
        self.records.lock().map(|r| r.clone()).unwrap_or_default()
    }

    pub fn clear(&self) {
        if let Ok(mut r) = self.records.lock() {
            r.clear();
        }
    }
}
