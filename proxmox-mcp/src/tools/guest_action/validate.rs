//! Input checks for the guest actions, before any request: names, sizes, volume ids and the
//! whitelist of config keys `set_config` and `create` accept (with light value checks).

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Action, Args};
use crate::pve::Params;
use crate::pve::types::GuestKind;
use crate::tools::ToolError;

fn bad(msg: impl Into<String>) -> ToolError {
    ToolError::invalid(msg)
}

fn shown(s: &str) -> String {
    let t: String = s.chars().take(60).collect();
    format!("{t:?}")
}

/// Checks that need no IO: each argument given is well formed and the action's required ones
/// are there.
pub fn args(kind: GuestKind, a: &Args) -> Result<(), ToolError> {
    if let Some(t) = &a.sel.tag {
        tag(t)?;
    }
    if let Some(p) = &a.sel.pool
        && !simple_id(p)
    {
        return Err(bad(format!("pool {} is not a valid pool id", shown(p))));
    }
    if let Some(s) = &a.storage {
        storage_id(s)?;
    }
    if let Some(n) = &a.name {
        dns_name("name", n)?;
    }
    if let Some(d) = &a.description {
        text("description", d, 8 * 1024)?;
    }
    if let Some(s) = &a.snapname {
        snapname(s)?;
    }
    if let Some(v) = &a.archive {
        volid("archive", v)?;
    }
    if let Some(v) = &a.ostemplate {
        volid("ostemplate", v)?;
    }
    if let Some(d) = &a.disk {
        disk(kind, d)?;
    }
    if let Some(s) = &a.size {
        size(s)?;
    }
    if let Some(t) = a.timeout
        && t > 86_400
    {
        return Err(bad("timeout is at most 86400 s"));
    }
    let need = |what: &str, present: bool| {
        if present {
            Ok(())
        } else {
            Err(bad(format!("{} needs {what}", a.action.as_str())))
        }
    };
    let has_guest = a.sel.vmid.is_some() || a.sel.is_multi();
    match a.action {
        Action::Create => {
            need("node", a.node.is_some())?;
            if kind == GuestKind::Lxc {
                need(
                    "ostemplate (e.g. local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst)",
                    a.ostemplate.is_some(),
                )?;
            }
        }
        Action::Restore => need("archive (a backup volume id)", a.archive.is_some())?,
        Action::Snapshot | Action::Rollback | Action::DeleteSnapshot => {
            need("vmid", has_guest)?;
            need("snapname", a.snapname.is_some())?;
        }
        Action::ResizeDisk => {
            need("vmid", has_guest)?;
            need("disk", a.disk.is_some())?;
            need("size", a.size.is_some())?;
        }
        Action::SetConfig => {
            need("vmid", has_guest)?;
            need("config", a.config.as_ref().is_some_and(|c| !c.is_empty()))?;
        }
        Action::Migrate => {
            need("vmid", has_guest)?;
            need("target", a.target.is_some())?;
        }
        _ => need("vmid, vmids, tag or pool", has_guest)?,
    }
    if let Some(cfg) = &a.config {
        if !matches!(a.action, Action::SetConfig | Action::Create) {
            return Err(bad("config is only for set_config and create"));
        }
        config(kind, cfg, a.action == Action::Create)?;
    }
    Ok(())
}

pub fn simple_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

pub fn storage_id(s: &str) -> Result<(), ToolError> {
    let ok = simple_id(s) && s.bytes().next().is_some_and(|b| b.is_ascii_alphabetic());
    if ok {
        Ok(())
    } else {
        Err(bad(format!(
            "storage {} is not a valid storage id (e.g. local-lvm)",
            shown(s)
        )))
    }
}

fn tag(t: &str) -> Result<(), ToolError> {
    let ok = !t.is_empty()
        && t.len() <= 64
        && t.bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'+'));
    if ok {
        Ok(())
    } else {
        Err(bad(format!("tag {} is not a valid tag", shown(t))))
    }
}

pub fn dns_name(what: &str, v: &str) -> Result<(), ToolError> {
    let ok = !v.is_empty()
        && v.len() <= 253
        && v.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        });
    if ok {
        Ok(())
    } else {
        Err(bad(format!(
            "{what} {} is not a valid DNS name (letters, digits, '-', '.')",
            shown(v)
        )))
    }
}

fn text(what: &str, v: &str, max: usize) -> Result<(), ToolError> {
    if v.len() > max {
        return Err(bad(format!("{what} is longer than {max} bytes")));
    }
    if v.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(bad(format!("{what} contains control characters")));
    }
    Ok(())
}

pub fn snapname(s: &str) -> Result<(), ToolError> {
    let ok = s.len() <= 40
        && s.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !ok {
        return Err(bad(format!(
            "snapname {} is invalid: a letter, then letters, digits, '_' or '-' (max 40)",
            shown(s)
        )));
    }
    if s == "current" || s == "vzdump" {
        return Err(bad(format!("snapname {s:?} is reserved by PVE")));
    }
    Ok(())
}

/// A volume id: `storage:path` (`local:backup/vzdump-qemu-100-….vma.zst`, `pbs:backup/vm/100/…`).
pub fn volid(what: &str, v: &str) -> Result<(), ToolError> {
    let ok = v.len() <= 512
        && v.split_once(':').is_some_and(|(s, rest)| {
            storage_id(s).is_ok()
                && !rest.is_empty()
                && rest.bytes().all(|b| {
                    b.is_ascii_alphanumeric()
                        || matches!(b, b'-' | b'_' | b'.' | b'/' | b':' | b'+' | b'@' | b'=')
                })
                && !rest.split('/').any(|seg| seg == ".." || seg == ".")
                && !rest.starts_with('/')
        });
    if ok {
        Ok(())
    } else {
        Err(bad(format!(
            "{what} {} is not a volume id (storage:path, e.g. local:backup/vzdump-qemu-100-2025_01_01-00_00_00.vma.zst)",
            shown(v)
        )))
    }
}

fn numbered(key: &str, prefix: &str, max: u32) -> bool {
    key.strip_prefix(prefix).is_some_and(|n| {
        !n.is_empty()
            && n.bytes().all(|b| b.is_ascii_digit())
            && (n == "0" || !n.starts_with('0'))
            && n.parse::<u32>().is_ok_and(|n| n <= max)
    })
}

fn qemu_disk_key(k: &str) -> bool {
    numbered(k, "scsi", 30)
        || numbered(k, "virtio", 15)
        || numbered(k, "sata", 5)
        || numbered(k, "ide", 3)
}

pub fn disk(kind: GuestKind, d: &str) -> Result<(), ToolError> {
    let ok = match kind {
        GuestKind::Qemu => qemu_disk_key(d) || d == "efidisk0" || d == "tpmstate0",
        GuestKind::Lxc => d == "rootfs" || numbered(d, "mp", 255),
    };
    if ok {
        Ok(())
    } else {
        Err(bad(format!(
            "disk {} is not a disk key ({})",
            shown(d),
            match kind {
                GuestKind::Qemu => "scsiN, virtioN, sataN, ideN, efidisk0",
                GuestKind::Lxc => "rootfs or mpN",
            }
        )))
    }
}

/// PVE's size syntax: `+10G` (grow by) or `50G` (new size); units K, M, G, T.
pub fn size(s: &str) -> Result<(), ToolError> {
    let body = s.strip_prefix('+').unwrap_or(s);
    let num = body.strip_suffix(['K', 'M', 'G', 'T']).unwrap_or(body);
    let (int, frac) = num.split_once('.').unwrap_or((num, "0"));
    let digits = |x: &str| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit());
    if s.len() <= 24 && digits(int) && digits(frac) && num.parse::<f64>().is_ok_and(|n| n > 0.0) {
        Ok(())
    } else {
        Err(bad(format!(
            "size {} is invalid: use +10G to grow by 10 GiB or 50G for an absolute size \
             (units K, M, G, T; disks cannot shrink)",
            shown(s)
        )))
    }
}

/// A config value as PVE's form text: booleans as 0/1, numbers as digits.
fn as_text(k: &str, v: &Value) -> Result<String, ToolError> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Bool(b) => Ok(if *b { "1" } else { "0" }.into()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Array(items) if k == "delete" => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| bad("delete lists config keys (strings)"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(|v| v.join(",")),
        other => Err(bad(format!(
            "config.{k} must be a string, number or boolean (got {other})"
        ))),
    }
}

fn int_in(k: &str, v: &str, min: u64, max: u64) -> Result<(), ToolError> {
    match v.parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(()),
        _ => Err(bad(format!(
            "config.{k} must be an integer from {min} to {max} (got {})",
            shown(v)
        ))),
    }
}

fn boolean(k: &str, v: &str) -> Result<(), ToolError> {
    if matches!(v, "0" | "1") {
        Ok(())
    } else {
        Err(bad(format!("config.{k} must be 0 or 1 (true/false)")))
    }
}

/// Every `,`-separated `key=value` part uses an allowed key and plain characters.
fn props(k: &str, v: &str, first_free: bool, keys: &[&str]) -> Result<(), ToolError> {
    let plain = |s: &str| {
        !s.is_empty()
            && s.bytes().all(|b| {
                b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':' | b'/' | b';')
            })
    };
    for (i, part) in v.split(',').enumerate() {
        match part.split_once('=') {
            Some((pk, pv)) if keys.contains(&pk) || (i == 0 && first_free && plain(pk)) => {
                if !plain(pv) || pv.split('/').any(|s| s == "..") {
                    return Err(bad(format!(
                        "config.{k}: {} has an invalid value",
                        shown(part)
                    )));
                }
            }
            None if i == 0 && first_free && plain(part) => {}
            _ => {
                return Err(bad(format!(
                    "config.{k}: {} is not allowed here (allowed: {})",
                    shown(part),
                    keys.join(", ")
                )));
            }
        }
    }
    Ok(())
}

const QEMU_DISK_OPTS: &[&str] = &[
    "media",
    "cache",
    "discard",
    "ssd",
    "iothread",
    "backup",
    "format",
    "size",
    "replicate",
    "aio",
    "ro",
];
const LXC_MP_OPTS: &[&str] = &["mp", "size", "backup", "acl", "quota", "ro", "replicate"];

/// A new disk `storage:SIZE_GiB`, a cloud-init drive `storage:cloudinit`, an ISO
/// `storage:iso/x.iso,media=cdrom` or an empty drive `none,media=cdrom`: never an existing
/// volume of another guest or a host path.
fn qemu_disk_value(k: &str, v: &str) -> Result<(), ToolError> {
    let (first, rest) = v.split_once(',').unwrap_or((v, ""));
    let cdrom = rest.split(',').any(|p| p == "media=cdrom");
    let ok_first = match first.split_once(':') {
        None => matches!(first, "none" | "cdrom") && (cdrom || first == "cdrom"),
        Some((s, spec)) => {
            storage_id(s).is_ok()
                && (spec.parse::<f64>().is_ok_and(|n| n > 0.0)
                    || spec == "cloudinit"
                    || (cdrom
                        && spec.strip_prefix("iso/").is_some_and(|f| {
                            simple_id(f) && f.to_ascii_lowercase().ends_with(".iso")
                        })))
        }
    };
    if !ok_first {
        return Err(bad(format!(
            "config.{k} {}: allowed forms are STORAGE:SIZE_GiB (new disk, e.g. local-lvm:32), \
             STORAGE:cloudinit, STORAGE:iso/NAME.iso,media=cdrom and none,media=cdrom",
            shown(v)
        )));
    }
    if rest.is_empty() {
        return Ok(());
    }
    props(k, rest, false, QEMU_DISK_OPTS)
}

fn lxc_mp_value(k: &str, v: &str) -> Result<(), ToolError> {
    let (first, rest) = v.split_once(',').unwrap_or((v, ""));
    let ok_first = first.split_once(':').is_some_and(|(s, spec)| {
        storage_id(s).is_ok() && spec.parse::<f64>().is_ok_and(|n| n > 0.0)
    });
    if !ok_first {
        return Err(bad(format!(
            "config.{k} {}: use STORAGE:SIZE_GiB (a new volume, e.g. local-lvm:8[,mp=/data])",
            shown(v)
        )));
    }
    if k != "rootfs" && !rest.split(',').any(|p| p.starts_with("mp=/")) {
        return Err(bad(format!("config.{k} needs mp=/path")));
    }
    if rest.is_empty() {
        return Ok(());
    }
    props(k, rest, false, LXC_MP_OPTS)
}

fn ssh_keys(k: &str, v: &str) -> Result<(), ToolError> {
    text(k, v, 16 * 1024)?;
    for line in v.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let mut parts = line.split_whitespace();
        let ty = parts.next().unwrap_or("");
        let body = parts.next().unwrap_or("");
        let known = ty.starts_with("ssh-") || ty.starts_with("ecdsa-") || ty.starts_with("sk-");
        if !known
            || body.is_empty()
            || !body
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
        {
            return Err(bad(format!(
                "config.{k}: {} is not an OpenSSH public key line",
                shown(line)
            )));
        }
    }
    Ok(())
}

/// Percent-encodes like PVE's `urlencoded` format wants (`sshkeys`): everything but unreserved.
pub fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Whether `k` is a key the tools accept for `kind` (`creating`: create-only keys too).
fn known_key(kind: GuestKind, k: &str, creating: bool) -> bool {
    let common = matches!(
        k,
        "memory"
            | "cores"
            | "description"
            | "onboot"
            | "tags"
            | "protection"
            | "nameserver"
            | "searchdomain"
    ) || numbered(k, "net", 31);
    let specific = match kind {
        GuestKind::Qemu => {
            matches!(
                k,
                "name"
                    | "sockets"
                    | "cpu"
                    | "balloon"
                    | "boot"
                    | "agent"
                    | "ostype"
                    | "scsihw"
                    | "bios"
                    | "ciuser"
                    | "cipassword"
                    | "sshkeys"
                    | "efidisk0"
            ) || numbered(k, "ipconfig", 31)
                || qemu_disk_key(k)
        }
        GuestKind::Lxc => {
            matches!(k, "hostname" | "swap" | "cpulimit" | "features" | "ostype")
                || numbered(k, "mp", 255)
                || (creating
                    && matches!(
                        k,
                        "rootfs" | "password" | "ssh-public-keys" | "unprivileged"
                    ))
        }
    };
    common || specific
}

/// One whitelisted key's value.
fn value(kind: GuestKind, k: &str, v: &str) -> Result<(), ToolError> {
    let charset = |allowed: &dyn Fn(u8) -> bool| {
        if !v.is_empty() && v.len() <= 512 && v.bytes().all(allowed) {
            Ok(())
        } else {
            Err(bad(format!("config.{k} has an invalid value {}", shown(v))))
        }
    };
    match k {
        "memory" => int_in(k, v, 16, 64 * 1024 * 1024),
        "cores" => int_in(k, v, 1, 1024),
        "sockets" => int_in(k, v, 1, 16),
        "balloon" | "swap" => int_in(k, v, 0, 64 * 1024 * 1024),
        "cpulimit" => charset(&|b| b.is_ascii_digit() || b == b'.'),
        "onboot" | "protection" | "unprivileged" => boolean(k, v),
        "name" | "hostname" => dns_name(k, v),
        "description" => text(k, v, 8 * 1024),
        "tags" => v
            .split([';', ',', ' '])
            .filter(|t| !t.is_empty())
            .try_for_each(tag),
        "cpu" | "ostype" | "scsihw" => charset(&|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'=' | b',' | b';' | b'+')
        }),
        "bios" => match v {
            "seabios" | "ovmf" => Ok(()),
            _ => Err(bad("config.bios is seabios or ovmf")),
        },
        "boot" => charset(&|b| b.is_ascii_alphanumeric() || matches!(b, b'=' | b';' | b',')),
        "agent" => {
            if matches!(v, "0" | "1") {
                Ok(())
            } else {
                props(
                    k,
                    v,
                    false,
                    &[
                        "enabled",
                        "fstrim_cloned_disks",
                        "type",
                        "freeze-fs-on-backup",
                    ],
                )
            }
        }
        "features" => props(
            k,
            v,
            false,
            &[
                "nesting",
                "keyctl",
                "fuse",
                "mknod",
                "mount",
                "force_rw_sys",
            ],
        ),
        "ciuser" => charset(&|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')),
        "cipassword" | "password" => {
            let min = if k == "password" { 5 } else { 1 };
            if v.len() < min || v.len() > 256 || v.chars().any(char::is_control) {
                Err(bad(format!(
                    "config.{k} must be {min} to 256 printable characters"
                )))
            } else {
                Ok(())
            }
        }
        "sshkeys" | "ssh-public-keys" => ssh_keys(k, v),
        "nameserver" => charset(&|b| b.is_ascii_hexdigit() || matches!(b, b'.' | b':' | b' ')),
        "searchdomain" => v.split_whitespace().try_for_each(|d| dns_name(k, d)),
        "efidisk0" => {
            let (first, rest) = v.split_once(',').unwrap_or((v, ""));
            let ok = first
                .split_once(':')
                .is_some_and(|(s, n)| storage_id(s).is_ok() && n.parse::<f64>().is_ok());
            if !ok {
                return Err(bad(
                    "config.efidisk0: use STORAGE:1[,efitype=4m,pre-enrolled-keys=1]",
                ));
            }
            if rest.is_empty() {
                Ok(())
            } else {
                props(k, rest, false, &["efitype", "pre-enrolled-keys", "format"])
            }
        }
        _ if numbered(k, "net", 31) => match kind {
            GuestKind::Qemu => props(
                k,
                v,
                true,
                &[
                    "bridge",
                    "firewall",
                    "tag",
                    "mtu",
                    "rate",
                    "queues",
                    "link_down",
                    "macaddr",
                    "trunks",
                ],
            ),
            GuestKind::Lxc => props(
                k,
                v,
                false,
                &[
                    "name",
                    "bridge",
                    "firewall",
                    "tag",
                    "mtu",
                    "rate",
                    "ip",
                    "gw",
                    "ip6",
                    "gw6",
                    "hwaddr",
                    "type",
                    "link_down",
                ],
            ),
        },
        _ if numbered(k, "ipconfig", 31) => props(k, v, false, &["ip", "gw", "ip6", "gw6"]),
        _ if kind == GuestKind::Qemu && qemu_disk_key(k) => qemu_disk_value(k, v),
        _ if kind == GuestKind::Lxc && (k == "rootfs" || numbered(k, "mp", 255)) => {
            lxc_mp_value(k, v)
        }
        _ => Err(bad(format!("config.{k} is not supported"))),
    }
}

/// Checks every key and value, and returns the request parameters (`sshkeys` URL-encoded as
/// PVE's `urlencoded` format wants).
pub fn config(
    kind: GuestKind,
    cfg: &BTreeMap<String, Value>,
    creating: bool,
) -> Result<Params, ToolError> {
    if cfg.len() > 64 {
        return Err(bad("config has more than 64 keys"));
    }
    let mut out = Params::new();
    for (k, v) in cfg {
        let text = as_text(k, v)?;
        if k == "delete" {
            if creating {
                return Err(bad("config.delete is for set_config"));
            }
            for key in text.split([',', ';', ' ']).filter(|s| !s.is_empty()) {
                if !known_key(kind, key, false) || cfg.contains_key(key) {
                    return Err(bad(format!(
                        "config.delete: {} is not a key that can be deleted here",
                        shown(key)
                    )));
                }
            }
            out.insert(k.clone(), Value::String(text));
            continue;
        }
        if !known_key(kind, k, creating) {
            return Err(bad(format!(
                "config key {} is not supported by this tool (allowed: memory, cores, {}, \
                 description, onboot, tags, protection, netN, {}); use proxmox_api for others",
                shown(k),
                match kind {
                    GuestKind::Qemu => "sockets, cpu, balloon, name, boot, agent, ostype, bios",
                    GuestKind::Lxc => "swap, cpulimit, hostname, features",
                },
                match kind {
                    GuestKind::Qemu => {
                        "scsiN/virtioN/sataN/ideN, efidisk0, ciuser, cipassword, sshkeys, ipconfigN"
                    }
                    GuestKind::Lxc =>
                        "mpN; create: rootfs, password, ssh-public-keys, unprivileged",
                }
            )));
        }
        value(kind, k, &text)?;
        let text = if k == "sshkeys" {
            urlencode(&text)
        } else {
            text
        };
        out.insert(k.clone(), Value::String(text));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(kind: GuestKind, cfg: Value, creating: bool, want: Result<(), &str>) {
        let map: BTreeMap<String, Value> = serde_json::from_value(cfg.clone()).unwrap();
        match (config(kind, &map, creating), want) {
            (Ok(_), Ok(())) => {}
            (Err(e), Err(frag)) => assert!(e.to_string().contains(frag), "{cfg}: {e}"),
            (got, want) => panic!("{cfg}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn config_whitelist_and_values() {
        use GuestKind::{Lxc, Qemu};
        check(
            Qemu,
            json!({"memory": 4096, "cores": "2", "onboot": true}),
            false,
            Ok(()),
        );
        check(
            Qemu,
            json!({"net0": "virtio,bridge=vmbr0,firewall=1"}),
            false,
            Ok(()),
        );
        check(
            Qemu,
            json!({"scsi0": "local-lvm:32,discard=on,ssd=1"}),
            true,
            Ok(()),
        );
        check(
            Qemu,
            json!({"ide2": "local:iso/debian-12.iso,media=cdrom"}),
            true,
            Ok(()),
        );
        check(Qemu, json!({"ide2": "local-lvm:cloudinit"}), true, Ok(()));
        check(
            Qemu,
            json!({"scsi1": "local-lvm:vm-101-disk-0"}),
            false,
            Err("allowed forms"),
        );
        check(
            Qemu,
            json!({"scsi1": "/dev/sda"}),
            false,
            Err("allowed forms"),
        );
        check(
            Qemu,
            json!({"ipconfig0": "ip=10.0.0.5/24,gw=10.0.0.1"}),
            false,
            Ok(()),
        );
        check(Qemu, json!({"args": "-foo"}), false, Err("not supported"));
        check(
            Qemu,
            json!({"hookscript": "local:snippets/x"}),
            false,
            Err("not supported"),
        );
        check(Qemu, json!({"memory": "lots"}), false, Err("integer"));
        check(Qemu, json!({"name": "../etc"}), false, Err("DNS name"));
        check(Qemu, json!({"delete": "cipassword,net1"}), false, Ok(()));
        check(Qemu, json!({"delete": "args"}), false, Err("deleted"));
        check(
            Qemu,
            json!({"sshkeys": "ssh-ed25519 AAAAC3Nza me@x"}),
            false,
            Ok(()),
        );
        check(Qemu, json!({"sshkeys": "rm -rf /"}), false, Err("OpenSSH"));
        check(
            Lxc,
            json!({"rootfs": "local-lvm:8", "unprivileged": 1}),
            true,
            Ok(()),
        );
        check(
            Lxc,
            json!({"rootfs": "local-lvm:8"}),
            false,
            Err("not supported"),
        );
        check(Lxc, json!({"mp0": "local-lvm:8,mp=/data"}), false, Ok(()));
        check(
            Lxc,
            json!({"mp0": "local-lvm:8,mp=/../x"}),
            false,
            Err("invalid value"),
        );
        check(
            Lxc,
            json!({"net0": "name=eth0,bridge=vmbr0,ip=dhcp"}),
            false,
            Ok(()),
        );
        check(
            Lxc,
            json!({"net0": "name=eth0,script=/x"}),
            false,
            Err("not allowed"),
        );
    }

    #[test]
    fn sizes_and_names() {
        for ok in ["+10G", "50G", "+512M", "1.5T", "100"] {
            assert!(size(ok).is_ok(), "{ok}");
        }
        for bad in ["+-5G", "-5G", "10X", "", "+", "G", "1e3G", "+0G"] {
            assert!(size(bad).is_err(), "{bad}");
        }
        assert!(snapname("pre-upgrade_1").is_ok());
        for bad in ["1abc", "a b", "current", "x;rm", ""] {
            assert!(snapname(bad).is_err(), "{bad}");
        }
        assert!(
            volid(
                "a",
                "local:backup/vzdump-qemu-100-2025_01_01-00_00_00.vma.zst"
            )
            .is_ok()
        );
        assert!(volid("a", "pbs:backup/vm/100/2025-01-01T00:00:00Z").is_ok());
        for bad in ["local:../etc/passwd", "/etc/passwd", "local:/abs", "x y:z"] {
            assert!(volid("a", bad).is_err(), "{bad}");
        }
        assert_eq!(
            urlencode("ssh-rsa AB+/= x\n"),
            "ssh-rsa%20AB%2B%2F%3D%20x%0A"
        );
    }
}
