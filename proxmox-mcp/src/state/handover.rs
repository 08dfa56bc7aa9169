//! Secrets handed to the operator, never to the model: a new API token's secret goes into a
//! 0600 file under `<state>/secrets/` (a 0700 directory), and the model only learns where.

use std::io;
use std::path::{Path, PathBuf};

/// Sub-directory of the state directory holding handed-over secrets.
pub const SECRETS_DIR: &str = "secrets";

/// Writes `secret` for the operator as `<state>/secrets/<name>.secret` (a new file each time:
/// an existing one gets a numbered sibling) and returns its path. The secret is also
/// registered with the redactor, so it is masked should it ever show up in output.
pub fn hand_over(state_dir: &Path, name: &str, secret: &str) -> io::Result<PathBuf> {
    crate::audit::redact::register_secret(secret);
    let dir = state_dir.join(SECRETS_DIR);
    super::ensure_private_dir(&dir)?;
    let base: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '@' | '!' | '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let base = base.trim_start_matches('.');
    for n in 0..1000 {
        let file = if n == 0 {
            format!("{base}.secret")
        } else {
            format!("{base}.{n}.secret")
        };
        if !dir.join(&file).exists() {
            super::write_atomic(&dir, &file, format!("{secret}\n").as_bytes())?;
            return Ok(dir.join(file));
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!(
            "too many handed-over secrets named {base} in {}",
            dir.display()
        ),
    ))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    #[test]
    fn a_secret_lands_in_a_private_file_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let a = hand_over(dir.path(), "alice@pve!ci", "s3cret-value-1").unwrap();
        let b = hand_over(dir.path(), "alice@pve!ci", "s3cret-value-2").unwrap();
        let c = hand_over(dir.path(), "../../etc/x y", "s3cret-value-3").unwrap();
        assert_ne!(a, b);
        assert_eq!(std::fs::read_to_string(&a).unwrap(), "s3cret-value-1\n");
        assert!(
            c.starts_with(dir.path().join(SECRETS_DIR)),
            "{}",
            c.display()
        );
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&a), 0o600);
        assert_eq!(mode(&dir.path().join(SECRETS_DIR)), 0o700);
        let shown = crate::audit::redact::redact_str("token s3cret-value-2 here");
        assert!(!shown.contains("s3cret-value-2"), "{shown}");
    }
}
