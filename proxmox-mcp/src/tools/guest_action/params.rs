//! The arguments of `vm_action` and `container_action`, and the one shape ([`Args`]) the
//! planners share. Parameter docs are terse on purpose: `tools/list` is paid for per byte.

use std::collections::BTreeMap;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::tools::action::Selector;
use crate::tools::args::{NodeName, Vmid};

// Every action either tool knows (`reset` is QEMU only); no doc comment: it would be paid
// for in `tools/list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Start,
    Stop,
    Shutdown,
    Reboot,
    Reset,
    Suspend,
    Resume,
    Clone,
    Migrate,
    Snapshot,
    ListSnapshots,
    Rollback,
    DeleteSnapshot,
    Backup,
    Restore,
    ResizeDisk,
    SetConfig,
    Create,
    ConvertToTemplate,
    Destroy,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Start => "start",
            Action::Stop => "stop",
            Action::Shutdown => "shutdown",
            Action::Reboot => "reboot",
            Action::Reset => "reset",
            Action::Suspend => "suspend",
            Action::Resume => "resume",
            Action::Clone => "clone",
            Action::Migrate => "migrate",
            Action::Snapshot => "snapshot",
            Action::ListSnapshots => "list_snapshots",
            Action::Rollback => "rollback",
            Action::DeleteSnapshot => "delete_snapshot",
            Action::Backup => "backup",
            Action::Restore => "restore",
            Action::ResizeDisk => "resize_disk",
            Action::SetConfig => "set_config",
            Action::Create => "create",
            Action::ConvertToTemplate => "convert_to_template",
            Action::Destroy => "destroy",
        }
    }

    /// Actions that accept several guests (vmids, tag, pool).
    pub fn multi_ok(self) -> bool {
        matches!(
            self,
            Action::Start
                | Action::Stop
                | Action::Shutdown
                | Action::Reboot
                | Action::Suspend
                | Action::Resume
                | Action::Snapshot
                | Action::Backup
        )
    }

    /// Seconds to wait by default: long jobs return their UPID at once.
    pub fn default_wait(self) -> u64 {
        match self {
            Action::Clone
            | Action::Migrate
            | Action::Backup
            | Action::Restore
            | Action::Create
            | Action::Destroy => 0,
            _ => 60,
        }
    }
}

// Actions of `container_action` (no `reset`: LXC has none).
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CtAction {
    Start,
    Stop,
    Shutdown,
    Reboot,
    Suspend,
    Resume,
    Clone,
    Migrate,
    Snapshot,
    ListSnapshots,
    Rollback,
    DeleteSnapshot,
    Backup,
    Restore,
    ResizeDisk,
    SetConfig,
    Create,
    ConvertToTemplate,
    Destroy,
}

impl From<CtAction> for Action {
    fn from(a: CtAction) -> Action {
        match a {
            CtAction::Start => Action::Start,
            CtAction::Stop => Action::Stop,
            CtAction::Shutdown => Action::Shutdown,
            CtAction::Reboot => Action::Reboot,
            CtAction::Suspend => Action::Suspend,
            CtAction::Resume => Action::Resume,
            CtAction::Clone => Action::Clone,
            CtAction::Migrate => Action::Migrate,
            CtAction::Snapshot => Action::Snapshot,
            CtAction::ListSnapshots => Action::ListSnapshots,
            CtAction::Rollback => Action::Rollback,
            CtAction::DeleteSnapshot => Action::DeleteSnapshot,
            CtAction::Backup => Action::Backup,
            CtAction::Restore => Action::Restore,
            CtAction::ResizeDisk => Action::ResizeDisk,
            CtAction::SetConfig => Action::SetConfig,
            CtAction::Create => Action::Create,
            CtAction::ConvertToTemplate => Action::ConvertToTemplate,
            CtAction::Destroy => Action::Destroy,
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum BackupMode {
    Snapshot,
    Suspend,
    Stop,
}

fn int_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "integer"})
}

fn ints_schema(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "array", "items": {"type": "integer"}})
}

/// `vm_action` arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VmParams {
    pub action: Action,
    /// new: default next free
    #[serde(default)]
    #[schemars(schema_with = "int_schema")]
    pub vmid: Option<Vmid>,
    #[serde(default)]
    #[schemars(schema_with = "ints_schema")]
    pub vmids: Option<Vec<Vmid>>,
    pub tag: Option<String>,
    pub pool: Option<String>,
    /// create/restore/clone/migrate
    pub node: Option<NodeName>,
    /// clone (default next free)
    #[serde(default)]
    #[schemars(schema_with = "int_schema")]
    pub newid: Option<Vmid>,
    pub name: Option<String>,
    /// clone: full copy
    pub full: Option<bool>,
    pub storage: Option<String>,
    /// migrate (default if running)
    pub online: Option<bool>,
    /// migrate
    pub with_local_disks: Option<bool>,
    pub snapname: Option<String>,
    pub description: Option<String>,
    /// snapshot: with RAM
    pub vmstate: Option<bool>,
    /// backup
    pub mode: Option<BackupMode>,
    /// backup volid
    pub archive: Option<String>,
    /// shutdown/restore
    pub force: Option<bool>,
    /// shutdown/reboot
    #[serde(default)]
    #[schemars(schema_with = "int_schema")]
    pub timeout: Option<u64>,
    /// resize_disk: scsi0…
    pub disk: Option<String>,
    /// resize_disk: +10G or 50G
    pub size: Option<String>,
    /// set_config/create: memory, cores, net0, scsi0, ipconfig0, cipassword, sshkeys, delete…
    pub config: Option<BTreeMap<String, Value>>,
    /// create/restore/rollback: then start
    pub start: Option<bool>,
    /// s
    #[serde(default)]
    #[schemars(schema_with = "int_schema")]
    pub wait: Option<u64>,
}

/// `container_action` arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CtParams {
    pub action: CtAction,
    /// new: default next free
    #[serde(default)]
    #[schemars(schema_with = "int_schema")]
    pub vmid: Option<Vmid>,
    #[serde(default)]
    #[schemars(schema_with = "ints_schema")]
    pub vmids: Option<Vec<Vmid>>,
    pub tag: Option<String>,
    pub pool: Option<String>,
    /// create/restore/clone/migrate
    pub node: Option<NodeName>,
    /// clone (default next free)
    #[serde(default)]
    #[schemars(schema_with = "int_schema")]
    pub newid: Option<Vmid>,
    /// hostname
    pub name: Option<String>,
    pub full: Option<bool>,
    pub storage: Option<String>,
    /// migrate (default if running)
    pub restart: Option<bool>,
    pub snapname: Option<String>,
    pub description: Option<String>,
    /// backup
    pub mode: Option<BackupMode>,
    /// backup volid
    pub archive: Option<String>,
    /// template volid
    pub ostemplate: Option<String>,
    /// shutdown/restore
    pub force: Option<bool>,
    /// shutdown/reboot/migrate
    #[serde(default)]
    #[schemars(schema_with = "int_schema")]
    pub timeout: Option<u64>,
    /// resize_disk: rootfs, mpN
    pub disk: Option<String>,
    /// resize_disk: +10G or 50G
    pub size: Option<String>,
    /// set_config/create: PVE keys
    pub config: Option<BTreeMap<String, Value>>,
    /// create/restore/rollback: then start
    pub start: Option<bool>,
    /// s
    #[serde(default)]
    #[schemars(schema_with = "int_schema")]
    pub wait: Option<u64>,
}

/// The arguments of either tool, in one shape the planners share.
#[derive(Debug, Clone)]
pub struct Args {
    pub action: Action,
    pub sel: Selector,
    pub node: Option<NodeName>,
    pub target: Option<NodeName>,
    pub newid: Option<Vmid>,
    pub name: Option<String>,
    pub full: Option<bool>,
    pub storage: Option<String>,
    pub online: Option<bool>,
    pub with_local_disks: Option<bool>,
    pub restart: Option<bool>,
    pub snapname: Option<String>,
    pub description: Option<String>,
    pub vmstate: Option<bool>,
    pub mode: Option<BackupMode>,
    pub archive: Option<String>,
    pub ostemplate: Option<String>,
    pub force: Option<bool>,
    pub timeout: Option<u64>,
    pub disk: Option<String>,
    pub size: Option<String>,
    pub config: Option<BTreeMap<String, Value>>,
    pub purge: Option<bool>,
    pub start: Option<bool>,
    pub wait: Option<u64>,
}

impl From<VmParams> for Args {
    fn from(p: VmParams) -> Args {
        Args {
            action: p.action,
            sel: Selector {
                vmid: p.vmid,
                vmids: p.vmids,
                tag: p.tag,
                pool: p.pool,
            },
            target: p
                .node
                .clone()
                .filter(|_| matches!(p.action, Action::Clone | Action::Migrate)),
            node: p.node,
            newid: p.newid,
            name: p.name,
            full: p.full,
            storage: p.storage,
            online: p.online,
            with_local_disks: p.with_local_disks,
            restart: None,
            snapname: p.snapname,
            description: p.description,
            vmstate: p.vmstate,
            mode: p.mode,
            archive: p.archive,
            ostemplate: None,
            force: p.force,
            timeout: p.timeout,
            disk: p.disk,
            size: p.size,
            config: p.config,
            purge: None,
            start: p.start,
            wait: p.wait,
        }
    }
}

impl From<CtParams> for Args {
    fn from(p: CtParams) -> Args {
        Args {
            action: p.action.into(),
            sel: Selector {
                vmid: p.vmid,
                vmids: p.vmids,
                tag: p.tag,
                pool: p.pool,
            },
            target: p
                .node
                .clone()
                .filter(|_| matches!(Action::from(p.action), Action::Clone | Action::Migrate)),
            node: p.node,
            newid: p.newid,
            name: p.name,
            full: p.full,
            storage: p.storage,
            online: None,
            with_local_disks: None,
            restart: p.restart,
            snapname: p.snapname,
            description: p.description,
            vmstate: None,
            mode: p.mode,
            archive: p.archive,
            ostemplate: p.ostemplate,
            force: p.force,
            timeout: p.timeout,
            disk: p.disk,
            size: p.size,
            config: p.config,
            purge: None,
            start: p.start,
            wait: p.wait,
        }
    }
}
