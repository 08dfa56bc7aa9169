//! The server's operating mode: how much an assistant may change without a human saying yes.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// How much the server lets through. Ordered from safest to least safe in [`Mode::ALL`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(into = "&'static str", try_from = "String")]
pub enum Mode {
    /// Reads only: write tools are hidden and every mutation is refused.
    ReadOnly,
    /// Every mutation needs human confirmation.
    #[default]
    Safe,
    /// Mutations run; destructive ones and command execution need confirmation.
    Normal,
}

/// A mode name that is not one of `read-only`, `safe`, `normal`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown mode {0:?}; expected one of read-only, safe, normal")]
pub struct UnknownMode(pub String);

impl Mode {
    /// Every mode, safest first.
    pub const ALL: [Mode; 3] = [Mode::ReadOnly, Mode::Safe, Mode::Normal];

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::ReadOnly => "read-only",
            Mode::Safe => "safe",
            Mode::Normal => "normal",
        }
    }

    /// True when `self` lets strictly less through than `other`: switching from `other` to
    /// `self` is immediate, the other way round needs a human.
    pub fn is_safer_than(self, other: Mode) -> bool {
        self.strictness() > other.strictness()
    }

    fn strictness(self) -> u8 {
        match self {
            Mode::ReadOnly => 2,
            Mode::Safe => 1,
            Mode::Normal => 0,
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Mode {
    type Err = UnknownMode;

    /// Accepts the names case-insensitively, with surrounding whitespace.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        Mode::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(t))
            .ok_or_else(|| UnknownMode(s.to_string()))
    }
}

impl From<Mode> for &'static str {
    fn from(m: Mode) -> Self {
        m.as_str()
    }
}

impl TryFrom<String> for Mode {
    type Error = UnknownMode;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        for m in Mode::ALL {
            assert_eq!(m.as_str().parse::<Mode>(), Ok(m));
            assert_eq!(m.to_string(), m.as_str());
        }
        assert_eq!(" Read-Only ".parse::<Mode>(), Ok(Mode::ReadOnly));
        assert_eq!(Mode::default(), Mode::Safe);
    }

    #[test]
    fn unknown_mode_is_a_clear_error() {
        let err = "yolo".parse::<Mode>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown mode \"yolo\"; expected one of read-only, safe, normal"
        );
        assert!("".parse::<Mode>().is_err());
        assert!("readonly".parse::<Mode>().is_err());
    }

    #[test]
    fn serde_uses_the_same_names() {
        assert_eq!(
            serde_json::to_string(&Mode::ReadOnly).unwrap(),
            "\"read-only\""
        );
        assert_eq!(
            serde_json::from_str::<Mode>("\"normal\"").unwrap(),
            Mode::Normal
        );
        let err = serde_json::from_str::<Mode>("\"unsafe\"").unwrap_err();
        assert!(
            err.to_string()
                .contains("expected one of read-only, safe, normal")
        );
    }

    #[test]
    fn safety_order() {
        assert!(Mode::ReadOnly.is_safer_than(Mode::Safe));
        assert!(Mode::ReadOnly.is_safer_than(Mode::Normal));
        assert!(Mode::Safe.is_safer_than(Mode::Normal));
        assert!(!Mode::Safe.is_safer_than(Mode::Safe));
        assert!(!Mode::Normal.is_safer_than(Mode::Safe));
        assert!(!Mode::Safe.is_safer_than(Mode::ReadOnly));
    }
}
