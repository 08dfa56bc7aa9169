//! Typed PVE responses, lenient about Perl's number/boolean shapes; field names are the JSON keys with '-' → '_'.

mod access;
mod cluster;
mod guest;
mod node;
mod storage;
mod task;

pub use access::{AclEntry, Group, Permissions, Role, User};
pub use cluster::{
    BackupJob, ClusterResource, ClusterStatusItem, HaStatusItem, ResourceRef, Version, split_tags,
};
pub use guest::{
    AgentExecStatus, AgentIpAddress, AgentNetworkInterface, GuestConfig, GuestKind, GuestListItem,
    GuestStatus, LxcInterface, PendingItem, Snapshot,
};
pub use node::{
    CpuInfo, FsUsage, MemUsage, NetworkInterface, NodeListItem, NodeStatus, RrdPoint, Subscription,
};
pub use storage::{Storage, StorageContent, StorageStatus};
pub use task::{TaskListItem, TaskLogLine, TaskStatus};

#[cfg(test)]
mod samples;
