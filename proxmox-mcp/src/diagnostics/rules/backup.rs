//! Pure: the backup and recovery rules (jobs, coverage, backup files, snapshots,
//! replication), B01–B15.

use super::Rule;

/// A rule's unit struct with its id and title as associated constants.
macro_rules! rule_meta {
    ($t:ident, $id:literal, $title:literal) => {
        pub struct $t;
        impl $t {
            const ID: &'static str = $id;
            const TITLE: &'static str = $title;
        }
    };
}

/// The `id`, `area` and `title` of a backup rule declared with `rule_meta!`.
macro_rules! rule_head {
    () => {
        fn id(&self) -> &'static str {
            Self::ID
        }
        fn area(&self) -> Area {
            Area::Backup
        }
        fn title(&self) -> &'static str {
            Self::TITLE
        }
    };
}

mod jobs;
mod targets;
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
    &targets::B10a,
    &targets::B10b,
    &targets::B11,
    &targets::B12a,
    &targets::B12b,
    &volumes::B13,
    &targets::B14a,
    &targets::B14b,
    &targets::B15,
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
