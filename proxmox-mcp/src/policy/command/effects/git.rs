//! `git`: what reads, what changes, what destroys work and what runs other programs.

use super::{Verdict, v};
use crate::policy::Class::{Destructive, Exec, Modify, Read};

/// `git`: reads, changes, what destroys work (`clean`, `reset`, forced pushes and checkouts,
/// deleted branches and stashes) and what runs other programs (`-c`, `--upload-pack`,
/// `--exec-path`, `rebase --exec`, `submodule foreach`, aliases) — the last opaque.
pub(super) fn git(args: &[String]) -> Verdict {
    let mut k = 0;
    let mut runs = false;
    while k < args.len() {
        let a = args[k].as_str();
        if a == "-c" || a == "--config-env" {
            runs = true;
            k += 2;
            continue;
        }
        if a.starts_with("--config-env=")
            || a.starts_with("--exec-path")
            || (a.starts_with("-c") && a.len() > 2 && !a.starts_with("--"))
        {
            runs = true;
        }
        if matches!(a, "-C" | "--git-dir" | "--work-tree" | "--namespace") {
            k += 2;
            continue;
        }
        if !a.starts_with('-') {
            break;
        }
        k += 1;
    }
    let sub = args.get(k).map(String::as_str).unwrap_or("");
    let rest = args.get(k + 1..).unwrap_or_default();
    let w = |s: &str| rest.iter().any(|a| a == s);
    let lower = rest.join(" ").to_ascii_lowercase();
    runs |= lower.contains("sshcommand")
        || rest.iter().any(|a| {
            [
                "--upload-pack",
                "--receive-pack",
                "--exec",
                "--open-files-in-pager",
            ]
            .iter()
            .any(|o| a == o || a.starts_with(&format!("{o}=")))
        })
        || (matches!(sub, "clone" | "fetch" | "pull" | "ls-remote") && w("-u"))
        || (sub == "rebase" && (w("-x") || rest.iter().any(|a| a.starts_with("--exec"))))
        || (sub == "grep" && w("-O"))
        || (sub == "submodule" && w("foreach"))
        || (sub == "bisect" && w("run"))
        || (sub == "config"
            && !rest.iter().any(|a| {
                matches!(
                    a.as_str(),
                    "-l" | "--list" | "--get" | "--get-all" | "--get-regexp"
                )
            })
            && [
                "alias.",
                "core.pager",
                "core.editor",
                "core.hookspath",
                "core.fsmonitor",
                "core.sshcommand",
                "core.askpass",
                "diff.external",
                ".textconv",
                "filter.",
                "credential.helper",
                "sequence.editor",
                "gpg.program",
                "pager.",
                ".driver",
                ".command",
                "include.path",
                "includeif.",
                "protocol.",
            ]
            .iter()
            .any(|key| lower.contains(key)))
        || matches!(
            sub,
            "filter-branch"
                | "filter-repo"
                | "difftool"
                | "mergetool"
                | "daemon"
                | "instaweb"
                | "send-email"
                | "web--browse"
                | "credential"
        );
    const KNOWN: &[&str] = &[
        "add",
        "am",
        "apply",
        "archive",
        "bisect",
        "blame",
        "branch",
        "bundle",
        "cat-file",
        "checkout",
        "cherry",
        "cherry-pick",
        "clean",
        "clone",
        "commit",
        "config",
        "count-objects",
        "describe",
        "diff",
        "fetch",
        "for-each-ref",
        "format-patch",
        "fsck",
        "gc",
        "grep",
        "help",
        "init",
        "log",
        "ls-files",
        "ls-remote",
        "ls-tree",
        "maintenance",
        "merge",
        "mv",
        "name-rev",
        "notes",
        "prune",
        "pull",
        "push",
        "rebase",
        "reflog",
        "remote",
        "reset",
        "restore",
        "rev-list",
        "rev-parse",
        "revert",
        "rm",
        "shortlog",
        "show",
        "show-ref",
        "sparse-checkout",
        "stash",
        "status",
        "submodule",
        "switch",
        "tag",
        "update-index",
        "update-ref",
        "verify-commit",
        "verify-tag",
        "version",
        "whatchanged",
        "worktree",
        "",
    ];
    if runs || !KNOWN.contains(&sub) {
        let why = if runs {
            "git runs a program or shell command it is given (a config value, hook option or \
             subcommand that executes)"
        } else {
            "an unknown git subcommand, which may be an alias that runs a shell command"
        };
        return v(Exec, why).opaque();
    }
    let forced = rest.iter().any(|a| {
        a == "-f" || a == "--force" || a.starts_with("--force-with-lease") || a.starts_with('+')
    });
    let destroys = forced
        || matches!(sub, "clean" | "reset" | "restore" | "rm" | "prune")
        || (sub == "checkout" && (w("--") || w(".") || w("-p")))
        || (sub == "stash" && (w("drop") || w("clear")))
        || (sub == "branch" && (w("-D") || w("--delete")))
        || (sub == "tag" && (w("-d") || w("--delete")))
        || (sub == "push" && (w("--delete") || w("-d") || w("--mirror") || w("--prune")))
        || (sub == "reflog" && (w("expire") || w("delete")))
        || (sub == "update-ref" && w("-d"))
        || (sub == "gc" && rest.iter().any(|a| a.starts_with("--prune")))
        || (sub == "switch" && w("--discard-changes"))
        || (sub == "worktree" && w("remove"));
    if destroys {
        return v(Destructive, "discards or deletes git work, history or refs");
    }
    let reads = matches!(
        sub,
        "status"
            | "log"
            | "diff"
            | "show"
            | "rev-parse"
            | "ls-files"
            | "ls-tree"
            | "blame"
            | "describe"
            | "shortlog"
            | "cat-file"
            | "rev-list"
            | "show-ref"
            | "for-each-ref"
            | "name-rev"
            | "count-objects"
            | "version"
            | "help"
            | "whatchanged"
            | "grep"
            | "ls-remote"
            | "cherry"
            | "verify-commit"
            | "verify-tag"
            | ""
    ) || (sub == "config"
        && rest.iter().any(|a| {
            matches!(
                a.as_str(),
                "-l" | "--list" | "--get" | "--get-all" | "--get-regexp"
            )
        }));
    if reads {
        v(Read, "reads a git repository")
    } else {
        v(Modify, "changes a git repository").writes()
    }
}
