//! Node network configuration: applied interfaces plus a pending set until `PUT /nodes/{node}/network`.

use std::collections::BTreeMap;

use serde::Serialize;

use super::Obj;

#[derive(Clone, Debug, Default, Serialize)]
pub struct NodeNetwork {
    /// The running configuration, by interface name (fields as PVE returns them).
    pub ifaces: BTreeMap<String, Obj>,
    /// The pending configuration (`interfaces.new`), when there are unapplied changes.
    pub pending: Option<BTreeMap<String, Obj>>,
}

impl NodeNetwork {
    /// The configuration a change applies to (pending if any, else a copy of the running one).
    pub fn staged(&mut self) -> &mut BTreeMap<String, Obj> {
        if self.pending.is_none() {
            self.pending = Some(self.ifaces.clone());
        }
        self.pending.get_or_insert_with(BTreeMap::new)
    }

    /// The view `GET /nodes/{node}/network` shows.
    pub fn view(&self) -> &BTreeMap<String, Obj> {
        self.pending.as_ref().unwrap_or(&self.ifaces)
    }

    /// A unified-diff-like text of pending changes (the `changes` key).
    pub fn changes(&self) -> Option<String> {
        let p = self.pending.as_ref()?;
        let mut out = String::new();
        for (name, obj) in p {
            match self.ifaces.get(name) {
                None => out.push_str(&format!("+auto {name}\n+iface {name}\n")),
                Some(old) if old != obj => out.push_str(&format!("~iface {name}\n")),
                _ => {}
            }
        }
        for name in self.ifaces.keys() {
            if !p.contains_key(name) {
                out.push_str(&format!("-iface {name}\n"));
            }
        }
        (!out.is_empty())
            .then(|| format!("--- /etc/network/interfaces\n+++ /etc/network/interfaces.new\n{out}"))
    }
}
