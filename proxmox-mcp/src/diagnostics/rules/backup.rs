//! Pure: the backup and recovery rules (jobs, coverage, backup files, snapshots,
//! replication), B01–B15.

use super::Rule;

mod jobs;
mod volumes;

/// The backup rules, in catalogue order.
pub static RULES: &[&dyn Rule] = &[
    &jobs::B01,
    &jobs::B02,
    &jobs::B03,
    &volumes::B04,
    &volumes::B05,
    &volumes::B06,
    &jobs::B07a,
    &jobs::B07b,
    &jobs::B08a,
    &jobs::B08b,
    &jobs::B09,
    &jobs::B10a,
    &jobs::B10b,
    &jobs::B11,
    &jobs::B12a,
    &jobs::B12b,
    &volumes::B13,
    &jobs::B14a,
    &jobs::B14b,
    &jobs::B15,
];

#[cfg(test)]
mod tests {
    use super::super::optimise::fixtures;
    use super::*;

    #[test]
    fn quiet_on_a_healthy_cluster() {
        fixtures::quiet_on_healthy(RULES);
    }
}
