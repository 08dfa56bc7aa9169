//! Every recorded PVE response under `../shared/pve/responses` must decode into its type.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::*;
use crate::pve::Method;
use crate::pve::api::unwrap_agent_result;
use crate::pve::envelope::{self, Context};
use crate::pve::error::PveError;

fn responses_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/pve/responses");
    dir.is_dir().then_some(dir)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(&path, out);
        } else if path.extension().is_some_and(|e| e == "json")
            && path.file_name().is_some_and(|n| n != "index.json")
        {
            out.push(path);
        }
    }
}

fn ctx(path: &str) -> Context<'_> {
    Context {
        who: "API token test@pve!t",
        token: true,
        method: Method::Get,
        path,
    }
}

fn parse<T: DeserializeOwned>(file: &Path, data: Value) -> T {
    serde_json::from_value(data).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

/// Decode one sample by its API path; returns a short summary for the assertions below.
fn check(file: &Path, api_path: &str, body: &[u8]) -> String {
    let name = file.file_name().unwrap().to_string_lossy().to_string();
    if let Some(rest) = name.strip_prefix("GET.error-") {
        let status: u16 = rest[..3].parse().unwrap();
        let err = envelope::decode(status, None, body, &ctx(api_path)).unwrap_err();
        return format!("error {err:?}");
    }
    let data = envelope::decode(200, Some("OK"), body, &ctx(api_path))
        .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    match api_path {
        "/cluster/resources" => {
            let v: Vec<ClusterResource> = parse(file, data);
            format!(
                "{} resources, guests {}",
                v.len(),
                v.iter().filter(|r| r.guest_kind().is_some()).count()
            )
        }
        "/cluster/status" => format!(
            "{} items",
            parse::<Vec<ClusterStatusItem>>(file, data).len()
        ),
        "/cluster/backup" => format!("{} jobs", parse::<Vec<BackupJob>>(file, data).len()),
        "/nodes" => {
            let v: Vec<NodeListItem> = parse(file, data);
            format!(
                "{} nodes, fingerprints {}",
                v.len(),
                v.iter().filter(|n| n.ssl_fingerprint.is_some()).count()
            )
        }
        "/nodes/{node}/status" => {
            let s: NodeStatus = parse(file, data);
            format!(
                "loadavg {:?} mhz {:?}",
                s.loadavg,
                s.cpuinfo.and_then(|c| c.mhz)
            )
        }
        "/nodes/{node}/network" => format!(
            "{} ifaces",
            parse::<Vec<NetworkInterface>>(file, data).len()
        ),
        "/nodes/{node}/tasks" => format!("{} tasks", parse::<Vec<TaskListItem>>(file, data).len()),
        "/nodes/{node}/tasks/{upid}/status" => {
            let t: TaskStatus = parse(file, data);
            t.upid
                .parse::<crate::pve::Upid>()
                .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            format!("task {} succeeded {:?}", t.kind, t.succeeded())
        }
        "/nodes/{node}/qemu" | "/nodes/{node}/lxc" => {
            let v: Vec<GuestListItem> = parse(file, data);
            format!("vmids {:?}", v.iter().map(|g| g.vmid).collect::<Vec<_>>())
        }
        "/nodes/{node}/qemu/{vmid}/status/current" | "/nodes/{node}/lxc/{vmid}/status/current" => {
            let s: GuestStatus = parse(file, data);
            format!("status {} cpus {:?}", s.status, s.cpus)
        }
        "/nodes/{node}/qemu/{vmid}/config" | "/nodes/{node}/lxc/{vmid}/config" => {
            let c: GuestConfig = parse(file, data);
            format!(
                "disks {} cdroms {} nics {} digest {}",
                c.disks().len(),
                c.cdroms().len(),
                c.nics().len(),
                c.digest().is_some()
            )
        }
        "/nodes/{node}/qemu/{vmid}/rrddata" => {
            format!("{} points", parse::<Vec<RrdPoint>>(file, data).len())
        }
        "/nodes/{node}/qemu/{vmid}/agent/network-get-interfaces" => match unwrap_agent_result(data)
        {
            Ok(v) => format!(
                "{} agent ifaces",
                parse::<Vec<AgentNetworkInterface>>(file, v).len()
            ),
            Err(e) => format!("agent error {}", matches!(e, PveError::Agent { .. })),
        },
        "/nodes/{node}/lxc/{vmid}/interfaces" => {
            format!("{} ct ifaces", parse::<Vec<LxcInterface>>(file, data).len())
        }
        "/nodes/{node}/storage/{storage}/content" => {
            format!("{} volumes", parse::<Vec<StorageContent>>(file, data).len())
        }
        "/access/users" => format!("{} users", parse::<Vec<User>>(file, data).len()),
        "/access/groups" => format!("{} groups", parse::<Vec<Group>>(file, data).len()),
        "/access/roles" => format!("{} roles", parse::<Vec<Role>>(file, data).len()),
        "/access/acl" => format!("{} acl", parse::<Vec<AclEntry>>(file, data).len()),
        "/access/permissions" => format!(
            "root has Sys.Audit {}",
            parse::<Permissions>(file, data).has("/", "Sys.Audit")
        ),
        other => panic!(
            "{}: no type mapped for {other}; add one in pve/types and here",
            file.display()
        ),
    }
}

#[test]
fn every_recorded_response_decodes() {
    let Some(dir) = responses_dir() else {
        eprintln!("skipping: ../shared/pve/responses not found next to the workspace");
        return;
    };
    let index: Vec<Value> =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    let mut files = Vec::new();
    walk(&dir, &mut files);
    files.sort();
    assert!(
        files.len() >= 30,
        "expected the recorded samples, found {}",
        files.len()
    );
    let mut summaries = Vec::new();
    for file in &files {
        let rel = file
            .strip_prefix(dir.parent().unwrap())
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let entry = index.iter().find(|e| e["file"] == rel.as_str());
        // The API path: from the index, or from the folders below the source folder.
        let api_path = match entry {
            Some(e) => e["path"].as_str().unwrap().to_owned(),
            None => {
                let parts: Vec<&str> = rel.split('/').collect();
                format!("/{}", parts[2..parts.len() - 1].join("/"))
            }
        };
        if let Some(e) = entry {
            assert_eq!(e["method"], "GET", "{rel}");
        }
        let body = std::fs::read(file).unwrap();
        summaries.push((rel.clone(), check(file, &api_path, &body)));
    }
    let find = |suffix: &str| -> &str {
        &summaries
            .iter()
            .find(|(r, _)| r.ends_with(suffix))
            .unwrap_or_else(|| panic!("no sample {suffix}"))
            .1
    };
    assert!(find("go-proxmox/nodes/{node}/lxc/GET.json").contains("106"));
    assert!(find("community.proxmox/nodes/{node}/lxc/GET.vmid-as-string.json").contains("103"));
    assert_eq!(
        find("go-proxmox/nodes/{node}/status/GET.json"),
        "loadavg [0.0, 0.0, 0.0] mhz Some(3400.0)"
    );
    assert_eq!(
        find("tasks/{upid}/status/GET.warnings.json"),
        "task qmstart succeeded Some(true)"
    );
    assert_eq!(find("GET.vm102-agent-unsupported.json"), "agent error true");
    assert!(
        find("GET.error-400-missing-pid.json")
            .contains("\"pid\": \"property is missing and it is not optional\"")
    );
    assert!(
        find("community.proxmox/nodes/{node}/lxc/{vmid}/status/current/GET.pve6.2.json")
            .contains("cpus Some(1.0)")
    );
    assert_eq!(
        find("GET.vm103-multi-nic.json"),
        "disks 3 cdroms 1 nics 2 digest true"
    );
    assert!(find("go-proxmox/nodes/GET.json").ends_with("fingerprints 4"));
}
