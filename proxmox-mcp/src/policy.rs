//! The policy engine's vocabulary. Pure: no IO, no async. The safety issue grows this into modes,
//! root protection and decisions; today every tool already declares its [`class::Class`].

pub mod class;
pub mod command;

pub use class::Class;
