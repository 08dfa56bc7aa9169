//! Tests of the knowledge base: whole command lines through the analysis ([`check`]), by theme in
//! `tests/`; `tests/lookup.rs` and `tests/pve.rs` ask the knowledge base alone.

mod exec;
mod lookup;
mod pve;
mod system;
mod targets;
mod wrappers;

use crate::policy::Class::{self};
use crate::policy::command::{analyze, test_context};

/// Whole command lines: the class the analysis gives and whether the text was handed to the
/// opaque scan (`may_destroy` without a destructive part means it could do anything).
fn check(cases: &[(&str, Class)]) {
    let ctx = test_context();
    let bad: Vec<String> = cases
        .iter()
        .filter_map(|&(cmd, want)| {
            let a = analyze(cmd, &ctx);
            (a.class != want)
                .then(|| format!("{cmd:?}: got {}, want {want}: {:?}", a.class, a.parts))
        })
        .collect();
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
