//! Worker tasks: UPIDs, progressive logs, exit status and the state change applied when a task ends.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;

use super::Cluster;

/// What happens to the cluster when the task ends: `Ok(extra log lines)` or `Err(error text)`.
/// Lines starting with `WARN:` count as warnings.
pub type Effect = Box<dyn FnOnce(&mut Cluster) -> Result<Vec<String>, String> + Send + Sync>;

/// What to start.
pub struct TaskSpec {
    pub node: String,
    pub kind: String,
    pub id: String,
    pub user: String,
    /// Already scaled by `time_scale`.
    pub duration: Duration,
    /// Log lines shown progressively while the task runs.
    pub log: Vec<String>,
    pub effect: Option<Effect>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaskStatus {
    Running,
    Stopped(String),
}

pub struct Task {
    pub upid: String,
    pub node: String,
    pub pid: u32,
    pub pstart: u64,
    pub starttime: u64,
    pub kind: String,
    pub id: String,
    pub user: String,
    pub started: Instant,
    pub duration: Duration,
    pub log: Vec<String>,
    pub status: TaskStatus,
    pub endtime: Option<u64>,
    pub effect: Option<Effect>,
}

/// Builds a UPID string.
pub fn upid(
    node: &str,
    pid: u32,
    pstart: u64,
    starttime: u64,
    kind: &str,
    id: &str,
    user: &str,
) -> String {
    format!("UPID:{node}:{pid:08X}:{pstart:08X}:{starttime:08X}:{kind}:{id}:{user}:")
}

/// Parsed UPID fields.
#[derive(Debug, PartialEq, Eq)]
pub struct Upid<'a> {
    pub node: &'a str,
    pub pid: u32,
    pub pstart: u64,
    pub starttime: u64,
    pub kind: &'a str,
    pub id: &'a str,
    pub user: &'a str,
}

/// Parses a UPID (the server's decode rules).
pub fn parse_upid(s: &str) -> Option<Upid<'_>> {
    let rest = s.strip_prefix("UPID:")?.strip_suffix(':')?;
    let parts: Vec<&str> = rest.split(':').collect();
    if parts.len() != 7 {
        return None;
    }
    let hex = |p: &str, min: usize, max: usize| {
        (p.len() >= min && p.len() <= max && p.chars().all(|c| c.is_ascii_hexdigit()))
            .then(|| u64::from_str_radix(p, 16).ok())
            .flatten()
    };
    if parts[0].is_empty() || parts[4].is_empty() || parts[6].is_empty() {
        return None;
    }
    Some(Upid {
        node: parts[0],
        pid: u32::try_from(hex(parts[1], 8, 8)?).ok()?,
        pstart: hex(parts[2], 8, 9)?,
        starttime: hex(parts[3], 8, 8)?,
        kind: parts[4],
        id: parts[5],
        user: parts[6],
    })
}

/// PVE's rule: success iff `OK` or `WARNINGS: n`.
pub fn is_ok(exitstatus: &str) -> bool {
    exitstatus == "OK"
        || exitstatus
            .strip_prefix("WARNINGS: ")
            .is_some_and(|n| n.parse::<u32>().is_ok())
}

impl Task {
    pub fn running(&self) -> bool {
        self.status == TaskStatus::Running
    }

    pub fn exitstatus(&self) -> Option<&str> {
        match &self.status {
            TaskStatus::Stopped(s) => Some(s),
            TaskStatus::Running => None,
        }
    }

    /// The log lines visible now.
    pub fn visible_log(&self) -> Vec<String> {
        if !self.running() {
            return self.log.clone();
        }
        let total = self.log.len();
        let elapsed = self.started.elapsed().as_secs_f64();
        let d = self.duration.as_secs_f64().max(1e-6);
        let n = ((elapsed / d) * total as f64).ceil() as usize;
        self.log[..n.clamp(1.min(total), total)].to_vec()
    }

    /// The object `GET .../tasks/{upid}/status` returns.
    pub fn status_json(&self) -> Value {
        let mut v = json!({
            "upid": self.upid,
            "node": self.node,
            "pid": self.pid,
            "pstart": self.pstart,
            "starttime": self.starttime,
            "type": self.kind,
            "id": self.id,
            "user": self.user,
            "status": if self.running() { "running" } else { "stopped" },
        });
        if let TaskStatus::Stopped(s) = &self.status {
            v["exitstatus"] = json!(s);
        }
        if let Some(tokenid) = self.user.split_once('!').map(|(_, t)| t) {
            v["tokenid"] = json!(tokenid);
            v["user"] = json!(
                self.user
                    .split_once('!')
                    .map(|(u, _)| u)
                    .unwrap_or(&self.user)
            );
        }
        v
    }

    /// An entry of `GET /nodes/{node}/tasks` or `/cluster/tasks`.
    pub fn list_json(&self) -> Value {
        let mut v = json!({
            "upid": self.upid,
            "node": self.node,
            "pid": self.pid,
            "pstart": self.pstart,
            "starttime": self.starttime,
            "type": self.kind,
            "id": self.id,
            "user": self.user,
        });
        if let TaskStatus::Stopped(s) = &self.status {
            v["status"] = json!(s);
            v["endtime"] = json!(self.endtime.unwrap_or(self.starttime));
        }
        v
    }

    /// Marks the task finished with the effect's outcome.
    pub fn finish(&mut self, outcome: Result<Vec<String>, String>, now: u64) {
        let status = match outcome {
            Ok(extra) => {
                let warnings = extra.iter().filter(|l| l.starts_with("WARN:")).count();
                self.log.extend(extra);
                if warnings > 0 {
                    self.log.push(format!("TASK WARNINGS: {warnings}"));
                    format!("WARNINGS: {warnings}")
                } else {
                    self.log.push("TASK OK".into());
                    "OK".into()
                }
            }
            Err(e) => {
                self.log.push(format!("TASK ERROR: {e}"));
                e
            }
        };
        self.status = TaskStatus::Stopped(status);
        self.endtime = Some(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upid_roundtrip() {
        let u = upid(
            "pve1",
            0x1234,
            0x10_36A5,
            0x6419_CAF8,
            "qmstart",
            "100",
            "mcp@pve!admin",
        );
        assert_eq!(
            u,
            "UPID:pve1:00001234:001036A5:6419CAF8:qmstart:100:mcp@pve!admin:"
        );
        let p = parse_upid(&u).expect("parse");
        assert_eq!(p.node, "pve1");
        assert_eq!(p.kind, "qmstart");
        assert_eq!(p.user, "mcp@pve!admin");
        assert!(parse_upid("UPID:pve1:1:2:3:x:y:z:").is_none());
        assert!(parse_upid("UPID:dahu-2:00007323:001036A5:6419CAF8:vzdump::root@pam:").is_some());
    }

    #[test]
    fn exit_rules() {
        for (s, ok) in [
            ("OK", true),
            ("WARNINGS: 1", true),
            ("WARNINGS: x", false),
            ("VM 100 already running", false),
        ] {
            assert_eq!(is_ok(s), ok, "{s}");
        }
    }
}
