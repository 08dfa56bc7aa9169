//! Task views: `/nodes/{node}/tasks/{upid}/status`, `/log`, and the task list.

use serde::{Deserialize, Serialize};

use super::super::perl;

/// `GET /nodes/{node}/tasks/{upid}/status`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct TaskStatus {
    pub upid: String,
    pub node: String,
    /// `running` or `stopped`.
    pub status: String,
    /// Present once stopped: `OK`, `WARNINGS: n`, or the error text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exitstatus: Option<String>,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub id: Option<String>,
    pub user: String,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub starttime: Option<i64>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub pid: Option<u64>,
}

/// PVE's `status_is_error` rule: `OK` and `WARNINGS: <n>` are success, anything else failed.
pub(crate) fn exit_ok(exitstatus: &str) -> bool {
    exitstatus == "OK"
        || exitstatus
            .strip_prefix("WARNINGS: ")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

impl TaskStatus {
    pub fn is_running(&self) -> bool {
        self.status == "running"
    }

    /// `None` while running; then `Some(true)` for `OK`/`WARNINGS: n` and `Some(false)` otherwise.
    pub fn succeeded(&self) -> Option<bool> {
        if self.is_running() {
            return None;
        }
        Some(self.exitstatus.as_deref().is_some_and(exit_ok))
    }
}

/// One line of `GET /nodes/{node}/tasks/{upid}/log` (numbered from 1).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct TaskLogLine {
    #[serde(deserialize_with = "perl::de_u64")]
    pub n: u64,
    #[serde(deserialize_with = "perl::de_string")]
    pub t: String,
}

/// One entry of `GET /nodes/{node}/tasks` or `GET /cluster/tasks`. Here `status` is the exit status.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct TaskListItem {
    pub upid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub starttime: Option<i64>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub endtime: Option<i64>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub pid: Option<u64>,
    #[serde(
        default,
        deserialize_with = "perl::de_opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub pstart: Option<u64>,
}

impl TaskListItem {
    /// `None` while running (no exit status yet), else the PVE success rule.
    pub fn succeeded(&self) -> Option<bool> {
        self.endtime?;
        Some(self.status.as_deref().is_some_and(exit_ok))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_rule() {
        for (s, want) in [
            ("OK", true),
            ("WARNINGS: 1", true),
            ("WARNINGS: 12", true),
            ("WARNINGS: ", false),
            ("WARNINGS: x", false),
            ("command 'ifreload -a' failed: exit code 1", false),
            ("unexpected status", false),
            ("ok", false),
        ] {
            assert_eq!(exit_ok(s), want, "{s}");
        }
        let mut t: TaskStatus = serde_json::from_value(serde_json::json!({
            "upid": "UPID:n:00000001:00000002:00000003:qmstart:100:root@pam:", "node": "n",
            "status": "running", "type": "qmstart", "id": "100", "user": "root@pam", "pid": "1"
        }))
        .unwrap();
        assert!(t.is_running());
        assert_eq!(t.succeeded(), None);
        t.status = "stopped".into();
        assert_eq!(
            t.succeeded(),
            Some(false),
            "stopped without exitstatus is a failure"
        );
        t.exitstatus = Some("WARNINGS: 1".into());
        assert_eq!(t.succeeded(), Some(true));
    }
}
