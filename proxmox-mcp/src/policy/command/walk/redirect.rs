//! Redirections: what a command reads from and writes to through `<`, `>` and friends.

use super::super::paths;
use super::super::syntax::RedirKind;
use super::{Arg, Walker, escape_glob};
use crate::policy::Class::{self, Destructive, Exec, Modify, Read};

impl Walker<'_> {
    /// An input redirection: reading a secret is refused; a socket is network traffic.
    pub(super) fn redirect_in(&mut self, target: &Arg) {
        if target.dynamic {
            return;
        }
        if target.text.starts_with("/dev/tcp/") || target.text.starts_with("/dev/udp/") {
            let shown = [Arg::literal(&target.text)];
            self.push(
                &shown,
                Exec,
                "opens a network connection through bash's /dev/tcp",
            );
            return;
        }
        self.check_secret_path(target, false);
    }

    /// What an output redirection does.
    pub(super) fn redirect_out(
        &mut self,
        kind: RedirKind,
        target: &Arg,
        truncate_only: bool,
    ) -> (Class, String) {
        if target.dynamic {
            return (
                Destructive,
                format!(
                    "writes to `{}`, a file name computed at run time",
                    target.text
                ),
            );
        }
        if target.glob {
            return (
                Destructive,
                format!("writes to `{}`, a glob pattern", target.text),
            );
        }
        if target.text.starts_with("/dev/tcp/") || target.text.starts_with("/dev/udp/") {
            return (
                Exec,
                "sends data over the network through bash's /dev/tcp".into(),
            );
        }
        let Some(paths) = self.absolute(&target.text) else {
            return (
                Destructive,
                "writes to a relative path in an unknown directory".into(),
            );
        };
        if paths.iter().all(|p| paths::is_harmless_sink(p)) {
            return (Read, String::new());
        }
        let mut worst = (Modify, String::new());
        for path in paths {
            let pattern = escape_glob(&path);
            self.check_write(&path, &pattern, false);
            let class_what = if let Some(what) = super::effects::raw_target(&path) {
                (Destructive, what)
            } else if paths::is_guest_config(&path) {
                (
                    Destructive,
                    format!(
                        "writes {path}: {}",
                        super::super::protect::GUEST_CONFIG_NOTE
                    ),
                )
            } else if let Some(what) = super::effects::persistence(&path) {
                (Exec, format!("writes {path}: {what}"))
            } else {
                match kind {
                    RedirKind::Out if truncate_only => (Destructive, format!("truncates {path}")),
                    RedirKind::Append => (Modify, format!("appends to {path}")),
                    _ => (Modify, format!("overwrites {path}")),
                }
            };
            if class_what.0 >= worst.0 {
                worst = class_what;
            }
        }
        worst
    }
}
