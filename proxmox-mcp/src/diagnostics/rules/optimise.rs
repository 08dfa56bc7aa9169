//! Pure: the optimisation rules (capacity, efficiency, unused objects), O01–O18 without the
//! host-only O13.

use super::Rule;

mod capacity;
mod cluster;
mod guests;
mod hardware;
pub(super) mod kit;

#[cfg(test)]
pub(super) mod fixtures;

/// The optimisation rules, in catalogue order.
pub static RULES: &[&dyn Rule] = &[
    &capacity::O01,
    &capacity::O02,
    &capacity::O03,
    &guests::O04a,
    &guests::O04b,
    &guests::O05a,
    &guests::O05b,
    &guests::O05c,
    &capacity::O06,
    &hardware::O07,
    &hardware::O08,
    &guests::O09,
    &guests::O10,
    &cluster::O11,
    &cluster::O12a,
    &cluster::O12b,
    &cluster::O14,
    &capacity::O15,
    &capacity::O16,
    &cluster::O17a,
    &cluster::O17b,
    &cluster::O17c,
    &guests::O18,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_on_a_healthy_cluster() {
        fixtures::quiet_on_healthy(RULES);
    }
}
