//! What one audit record says: the event a call produced, and its place in the hash chain.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::redact;
use crate::policy::Class;

/// What became of a call. Ordered so that summaries list the common case first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The policy let it run without asking.
    Allowed,
    /// A human approved it, then it ran.
    Confirmed,
    /// A human was asked and said no.
    Declined,
    /// A human is being asked (an approval id was issued, or the client shows a form); the
    /// retried call leaves its own record.
    Pending,
    /// The policy refused it; nothing ran.
    Refused,
    /// It was allowed but failed while running.
    Failed,
}

/// A plain string enum in schemas: the variant docs would cost `tools/list` bytes on every tool.
impl schemars::JsonSchema for Outcome {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Outcome".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": "string", "enum": ["allowed", "confirmed", "declined", "pending", "refused", "failed"]})
    }
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Allowed => "allowed",
            Outcome::Confirmed => "confirmed",
            Outcome::Declined => "declined",
            Outcome::Pending => "pending",
            Outcome::Refused => "refused",
            Outcome::Failed => "failed",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the call reached us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    Stdio,
    Http,
    Cli,
}

/// The MCP client that made the call, as it named itself in `initialize`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Client {
    pub name: String,
    pub version: String,
}

/// Who called over HTTP: the bridge's [`Caller`](proxmox_mcp_contract::bridge::Caller).
pub type HttpClient = proxmox_mcp_contract::bridge::Caller;

/// One tool call, API write or command, as the dispatch pipeline saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// When the call arrived (UTC, millisecond precision on disk).
    #[serde(with = "rfc3339")]
    pub time: SystemTime,
    pub client: Client,
    pub transport: Transport,
    /// Over HTTP: the bridge token the call carried and where it came from, as the bridge
    /// authenticated it (absent on stdio and the CLI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_client: Option<HttpClient>,
    pub tool: String,
    pub class: Class,
    pub decision: Outcome,
    /// Why the policy decided as it did, or why the call failed.
    pub reason: String,
    /// The call's arguments; redacted before they are written.
    pub arguments: Value,
    /// What the call acted on, e.g. `qemu/100@pve1`.
    pub target: Option<String>,
    pub upid: Option<String>,
    /// A short result: exit code, error message, new state.
    pub result: Option<String>,
    pub duration_ms: u64,
    /// The mode in force: `read-only`, `safe` or `normal`.
    pub mode: String,
}

impl Event {
    /// An event at the current time with empty details; the caller fills in the rest.
    pub fn new(tool: impl Into<String>, class: Class, decision: Outcome) -> Self {
        Self {
            time: SystemTime::now(),
            client: Client::default(),
            transport: Transport::Stdio,
            http_client: None,
            tool: tool.into(),
            class,
            decision,
            reason: String::new(),
            arguments: Value::Null,
            target: None,
            upid: None,
            result: None,
            duration_ms: 0,
            mode: String::new(),
        }
    }

    /// The event with secrets masked in its arguments and every free-text field.
    pub fn redacted(&self) -> Self {
        let text = |s: &str| redact::redact_str(s).into_owned();
        Self {
            client: Client {
                name: text(&self.client.name),
                version: text(&self.client.version),
            },
            reason: text(&self.reason),
            arguments: redact::redact_value(&self.arguments),
            target: self.target.as_deref().map(text),
            result: self.result.as_deref().map(text),
            ..self.clone()
        }
    }
}

/// One line of the log: the event, its sequence number and its links in the hash chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// 1 for the first record ever written in this directory, then +1 per record, across days.
    pub seq: u64,
    /// `hash` of the record before (in this file or the previous day's), or [`GENESIS`] for seq 1.
    pub prev: String,
    #[serde(flatten)]
    pub event: Event,
    /// SHA-256 (hex) of this record's line without its `hash` member; see [`super::jsonl`].
    pub hash: String,
}

/// The `prev` of the very first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Days since 1970-01-01 (UTC) of a point in time; times before the epoch count as day 0.
pub(crate) fn day_of(t: SystemTime) -> i64 {
    let secs = t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    (secs / 86_400) as i64
}

/// The start (00:00 UTC) of a day number.
pub(crate) fn day_start(day: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(day.max(0) as u64 * 86_400)
}

/// `(year, month, day)` of a day number (Howard Hinnant's `civil_from_days`).
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// The day number of a date, or `None` when the date does not exist.
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> Option<i64> {
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let yy = if m <= 2 { y - 1 } else { y };
    let era = if yy >= 0 { yy } else { yy - 399 } / 400;
    let yoe = yy - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    (civil_from_days(days) == (y, m, d)).then_some(days)
}

/// `YYYY-MM-DD` of a day number.
pub(crate) fn format_day(day: i64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The day number of `YYYY-MM-DD`.
pub(crate) fn parse_day(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = &s[r];
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    days_from_civil(i64::from(num(0..4)?), num(5..7)?, num(8..10)?)
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn format_time(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let rem = secs % 86_400;
    let (h, m, s) = (rem / 3600, rem % 3600 / 60, rem % 60);
    let ms = d.subsec_millis();
    let day = format_day((secs / 86_400) as i64);
    format!("{day}T{h:02}:{m:02}:{s:02}.{ms:03}Z")
}

/// Parses what [`format_time`] writes (the fraction may have 0 to 9 digits).
pub fn parse_time(s: &str) -> Option<SystemTime> {
    let (date, rest) = s.split_once('T')?;
    let day = parse_day(date)?;
    let rest = rest.strip_suffix('Z')?;
    let (hms, frac) = rest.split_once('.').unwrap_or((rest, ""));
    let mut parts = hms.split(':');
    let mut next = |max: u64| -> Option<u64> {
        let p = parts.next()?;
        let v: u64 =
            (p.len() == 2 && p.bytes().all(|c| c.is_ascii_digit())).then(|| p.parse().ok())??;
        (v <= max).then_some(v)
    };
    let (h, m, sec) = (next(23)?, next(59)?, next(60)?);
    if parts.next().is_some() || frac.len() > 9 || !frac.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let nanos: u32 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<9}").parse().ok()?
    };
    let secs = day_start(day) + Duration::from_secs(h * 3600 + m * 60 + sec);
    Some(secs + Duration::from_nanos(u64::from(nanos)))
}

mod rfc3339 {
    use std::time::SystemTime;

    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_time(*t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SystemTime, D::Error> {
        let s = String::deserialize(d)?;
        super::parse_time(&s).ok_or_else(|| D::Error::custom(format!("not a UTC time: {s:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_round_trip() {
        for (day, text) in [
            (0, "1970-01-01"),
            (11_016, "2000-02-29"),
            (19_782, "2024-02-29"),
            (20_454, "2026-01-01"),
        ] {
            assert_eq!(format_day(day), text);
            assert_eq!(parse_day(text), Some(day));
        }
        for bad in [
            "2025-02-29",
            "2026-13-01",
            "2026-1-01",
            "2026-01-00",
            "20a6-01-01",
        ] {
            assert_eq!(parse_day(bad), None, "{bad}");
        }
    }

    #[test]
    fn times_round_trip_to_the_millisecond() {
        let t = UNIX_EPOCH + Duration::from_millis(1_767_225_599_123);
        assert_eq!(format_time(t), "2025-12-31T23:59:59.123Z");
        assert_eq!(parse_time("2025-12-31T23:59:59.123Z"), Some(t));
        assert_eq!(
            parse_time("2025-12-31T23:59:59Z"),
            Some(t - Duration::from_millis(123))
        );
        for bad in [
            "2025-12-31 23:59:59Z",
            "2025-12-31T24:00:00Z",
            "2025-12-31T23:59:59",
        ] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn redacted_masks_free_text_and_arguments() {
        let mut e = Event::new("execute_command", Class::Exec, Outcome::Failed);
        e.arguments = serde_json::json!({ "command": "useradd x --password hunter2" });
        e.reason = "password=hunter2".into();
        e.result = Some("https://u:hunter2@h/".into());
        let text = serde_json::to_string(&e.redacted()).unwrap();
        assert!(!text.contains("hunter2"), "{text}");
    }
}
