//! Pure: corosync crypto rules S22.

use serde_json::Value;

use super::finding;
use crate::diagnostics::rules::util::{flag, str_of};
use crate::diagnostics::rules::{Ctx, Finding, Outcome, Rule, Severity, Skip, got};
use crate::diagnostics::snapshot::cluster::ClusterSnapshot;

/// The totem section, `None` on a node without a cluster (nothing configured).
fn totem(snap: &ClusterSnapshot) -> Result<Option<&Value>, Skip> {
    let totem = got(&snap.totem)?;
    Ok(totem
        .as_object()
        .is_some_and(|o| !o.is_empty())
        .then_some(totem))
}

const COROSYNC_FIX: &str = "Edit /etc/pve/corosync.conf: in totem set `crypto_cipher: aes256` \
                            and `crypto_hash: sha256` (or `secauth: on`), raise config_version, \
                            then check with corosync-cfgtool -s";

/// S22a: corosync traffic neither authenticated nor encrypted.
pub struct S22a;
impl Rule for S22a {
    meta!("S22a", "Corosync without authentication and encryption");
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        let Some(totem) = totem(snap)? else {
            return Ok(vec![]);
        };
        let secauth = flag(totem, "secauth").unwrap_or(false);
        let cipher = str_of(totem, "crypto_cipher").unwrap_or("none");
        if secauth || !cipher.eq_ignore_ascii_case("none") {
            return Ok(vec![]);
        }
        Ok(vec![Finding {
            evidence: format!(
                "totem: secauth {}, crypto_cipher {}",
                str_of(totem, "secauth").unwrap_or("unset"),
                str_of(totem, "crypto_cipher").unwrap_or("unset")
            ),
            recommendation: "Turn on corosync encryption: anyone on the cluster network can \
                             otherwise forge cluster messages."
                .into(),
            fix: Some(COROSYNC_FIX.into()),
            ..finding(
                "S22a",
                Severity::Critical,
                "cluster".into(),
                "Corosync traffic is not authenticated or encrypted".into(),
            )
        }])
    }
}

/// S22b: corosync encrypted with 3DES.
pub struct S22b;
impl Rule for S22b {
    meta!("S22b", "Corosync encrypted with 3DES");
    fn check(&self, snap: &ClusterSnapshot, _ctx: &Ctx) -> Outcome {
        let Some(totem) = totem(snap)? else {
            return Ok(vec![]);
        };
        if !str_of(totem, "crypto_cipher").is_some_and(|c| c.eq_ignore_ascii_case("3des")) {
            return Ok(vec![]);
        }
        Ok(vec![Finding {
            evidence: "totem: crypto_cipher 3des".into(),
            recommendation: "Switch corosync to AES-256: 3DES is a deprecated 64-bit block \
                             cipher."
                .into(),
            fix: Some(COROSYNC_FIX.into()),
            ..finding(
                "S22b",
                Severity::Critical,
                "cluster".into(),
                "Corosync uses the weak 3DES cipher".into(),
            )
        }])
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::fixtures::*;
    use super::*;

    const CASES: &[Case] = &[
        // S22a
        (
            &S22a,
            "secauth off, no cipher",
            |s| s.totem.as_mut().unwrap()["secauth"] = json!("off"),
            Want::Find(&[("cluster", Severity::Critical)]),
        ),
        (
            &S22a,
            "cipher set",
            |s| {
                let t = s.totem.as_mut().unwrap();
                t.as_object_mut().unwrap().remove("secauth");
                t["crypto_cipher"] = json!("aes256");
                t["crypto_hash"] = json!("sha256");
            },
            Want::Pass,
        ),
        (
            &S22a,
            "single node: no totem",
            |s| s.totem = Ok(json!({})),
            Want::Pass,
        ),
        (
            &S22a,
            "totem unreadable",
            |s| s.totem = denied("/cluster/config/totem"),
            Want::Skip("403"),
        ),
        // S22b
        (
            &S22b,
            "3des",
            |s| s.totem.as_mut().unwrap()["crypto_cipher"] = json!("3des"),
            Want::Find(&[("cluster", Severity::Critical)]),
        ),
        (
            &S22b,
            "totem unreadable",
            |s| s.totem = denied("/cluster/config/totem"),
            Want::Skip("403"),
        ),
    ];

    #[test]
    fn corosync_rules() {
        check(CASES);
    }
}
