//! Diagnostics: what the server and the cluster look like ([`collect`], the only IO, into a
//! plain [`snapshot::Snapshot`]) and pure judgements over it: [`health`] (ok / degraded /
//! failing with reasons) and [`practices`] (our best-practice guidance, checked live).

pub mod ai;
pub mod collect;
pub mod health;
pub mod practices;
pub mod rules;
pub mod snapshot;
