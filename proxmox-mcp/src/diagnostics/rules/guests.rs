//! Pure: the guests rules.

use super::Rule;

/// The guests rules, in catalogue order.
pub static RULES: &[&dyn Rule] = &[];
