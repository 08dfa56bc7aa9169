//! Pure: the backup rules.

use super::Rule;

/// The backup rules, in catalogue order.
pub static RULES: &[&dyn Rule] = &[];
