//! Pure: the security rules.

use super::Rule;

/// The security rules, in catalogue order.
pub static RULES: &[&dyn Rule] = &[];
