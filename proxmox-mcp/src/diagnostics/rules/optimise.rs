//! Pure: the optimise rules.

use super::Rule;

/// The optimise rules, in catalogue order.
pub static RULES: &[&dyn Rule] = &[];
