//! Pure: the health rules.

use super::Rule;

/// The health rules, in catalogue order.
pub static RULES: &[&dyn Rule] = &[];
