//! Build facts for `get_mcp_info`: the git commit, the build date and the target triple, as
//! `PROXMOX_MCP_GIT_COMMIT`, `PROXMOX_MCP_BUILD_DATE` and `PROXMOX_MCP_TARGET` (`env!`).

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let commit = git_dir(&manifest)
        .and_then(|git| {
            watch(&git);
            Command::new("git")
                .args(["rev-parse", "--short=12", "HEAD"])
                .current_dir(&manifest)
                .output()
                .ok()
        })
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=PROXMOX_MCP_GIT_COMMIT={commit}");

    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    let secs = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        });
    println!("cargo:rustc-env=PROXMOX_MCP_BUILD_DATE={}", date(secs));
    let target = std::env::var("TARGET").unwrap_or_else(|_| "unknown".to_owned());
    println!("cargo:rustc-env=PROXMOX_MCP_TARGET={target}");
}

/// The git directory of the tree `dir` is in (a worktree's `.git` file points to it).
fn git_dir(dir: &Path) -> Option<PathBuf> {
    let dot = dir
        .ancestors()
        .map(|d| d.join(".git"))
        .find(|p| p.exists())?;
    if dot.is_dir() {
        return Some(dot);
    }
    let text = std::fs::read_to_string(&dot).ok()?;
    let target = text.strip_prefix("gitdir:")?.trim();
    Some(dot.parent()?.join(target))
}

/// Rebuild when HEAD moves: HEAD itself and the branch it names.
fn watch(git: &Path) {
    let head = git.join("HEAD");
    println!("cargo:rerun-if-changed={}", head.display());
    if let Some(reference) = std::fs::read_to_string(&head)
        .ok()
        .and_then(|h| h.strip_prefix("ref:").map(|r| r.trim().to_owned()))
    {
        // A worktree's branches live in the common directory.
        let common = std::fs::read_to_string(git.join("commondir"))
            .ok()
            .map(|c| git.join(c.trim()))
            .unwrap_or_else(|| git.to_path_buf());
        for base in [git, common.as_path()] {
            let r = base.join(&reference);
            if r.exists() {
                println!("cargo:rerun-if-changed={}", r.display());
            }
        }
        println!(
            "cargo:rerun-if-changed={}",
            common.join("packed-refs").display()
        );
    }
}

/// `YYYY-MM-DD` (UTC) of a Unix time, without a date library.
fn date(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}
