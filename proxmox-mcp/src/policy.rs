//! The policy engine's vocabulary. Pure: no IO, no async. The safety issue grows this into modes,
//! root protection and decisions; today every tool already declares its [`class::Class`].

pub mod advice;
pub mod api;
pub mod class;
pub mod command;
pub mod decision;
pub mod engine;
pub mod mode;
pub mod protect;

pub use class::Class;
