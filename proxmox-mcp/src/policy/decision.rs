//! What the policy engine says about one request: allow it, ask a human, or refuse it.

use std::fmt;

/// The outcome of [`crate::policy::engine::evaluate`]. Reasons are short sentences an AI
/// assistant can act on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Decision {
    /// Run it.
    Allow,
    /// Run it only after a human confirms; the reason says why confirmation is needed.
    Confirm(String),
    /// Do not run it; the reason says why and what, if anything, would change that.
    Refuse(String),
}

impl Decision {
    pub fn as_str(&self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Confirm(_) => "confirm",
            Decision::Refuse(_) => "refuse",
        }
    }

    /// The reason for a confirmation or refusal; `None` for [`Decision::Allow`].
    pub fn reason(&self) -> Option<&str> {
        match self {
            Decision::Allow => None,
            Decision::Confirm(r) | Decision::Refuse(r) => Some(r),
        }
    }

    pub fn is_allow(&self) -> bool {
        matches!(self, Decision::Allow)
    }

    pub fn is_refuse(&self) -> bool {
        matches!(self, Decision::Refuse(_))
    }

    /// 0 for allow, 1 for confirm, 2 for refuse: a safer mode never scores lower.
    pub fn strictness(&self) -> u8 {
        match self {
            Decision::Allow => 0,
            Decision::Confirm(_) => 1,
            Decision::Refuse(_) => 2,
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.reason() {
            None => f.write_str(self.as_str()),
            Some(r) => write!(f, "{}: {r}", self.as_str()),
        }
    }
}
