//! Node network interfaces (with pending changes applied by a reload task) and SDN zones/vnets.

use serde_json::{Map, Value, json};

use super::Ctx;
use super::envelope::{ApiResult, PveError, Reply};
use super::router::index_by;
use crate::state::{Cluster, Obj};

const IFACE_TYPES: &[&str] = &[
    "bridge",
    "bond",
    "eth",
    "alias",
    "vlan",
    "fabric",
    "OVSBridge",
    "OVSBond",
    "OVSPort",
    "OVSIntPort",
    "vnet",
    "unknown",
];

/// Parameters that are not interface fields.
const CONTROL: &[&str] = &["node", "iface", "delete", "digest"];

fn set_fields(o: &mut Obj, ctx: &Ctx) -> Result<(), PveError> {
    for k in ctx.params.split_list("delete") {
        o.remove(&k);
        if k == "cidr" {
            o.remove("address");
            o.remove("netmask");
        }
    }
    for (k, v) in ctx.params.strings() {
        if CONTROL.contains(&k.as_str()) {
            continue;
        }
        match k.as_str() {
            "cidr" => {
                let (addr, mask) = v.split_once('/').ok_or_else(|| {
                    PveError::param("cidr", "value does not look like a valid CIDR network")
                })?;
                o.insert("address".into(), json!(addr));
                o.insert("netmask".into(), json!(mask));
                o.insert("cidr".into(), json!(v));
                o.insert("method".into(), json!("static"));
                push_family(o, "inet");
            }
            "cidr6" => {
                let (addr, mask) = v.split_once('/').ok_or_else(|| {
                    PveError::param("cidr6", "value does not look like a valid CIDR network")
                })?;
                o.insert("address6".into(), json!(addr));
                o.insert("netmask6".into(), json!(mask));
                o.insert("cidr6".into(), json!(v));
                o.insert("method6".into(), json!("static"));
                push_family(o, "inet6");
            }
            "autostart" | "bridge_vlan_aware" => {
                o.insert(k, json!(if v == "1" { 1 } else { 0 }));
            }
            "slaves" => {
                o.insert("slaves".into(), json!(v));
            }
            _ => {
                o.insert(k, json!(v));
            }
        }
    }
    if let (Some(a), Some(m)) = (o.get("address").cloned(), o.get("netmask").cloned())
        && !o.contains_key("cidr")
    {
        let cidr = format!("{}/{}", a.as_str().unwrap_or(""), m.as_str().unwrap_or(""));
        o.insert("cidr".into(), json!(cidr));
        o.insert("method".into(), json!("static"));
        push_family(o, "inet");
    }
    o.entry("method").or_insert(json!("manual"));
    o.entry("method6").or_insert(json!("manual"));
    o.entry("families").or_insert(json!(["inet"]));
    Ok(())
}

fn push_family(o: &mut Obj, fam: &str) {
    let mut fams: Vec<Value> = o
        .get("families")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if !fams.iter().any(|f| f == fam) {
        fams.push(json!(fam));
    }
    o.insert("families".into(), Value::Array(fams));
}

pub fn route_node(ctx: &Ctx, node: &str, rest: &[&str]) -> ApiResult {
    let nodepath = format!("/nodes/{node}");
    match (ctx.method, rest) {
        ("GET", []) => {
            let ty = ctx.params.str("type");
            let c = ctx.read();
            let net = c.networks.get(node).cloned().unwrap_or_default();
            let out: Vec<Value> = net
                .view()
                .values()
                .filter(|o| {
                    let t = o.get("type").and_then(Value::as_str).unwrap_or("");
                    match ty.as_deref() {
                        None => true,
                        Some("any_bridge") | Some("any_local_bridge") => {
                            t == "bridge" || t == "OVSBridge"
                        }
                        Some(want) => t == want,
                    }
                })
                .cloned()
                .map(Value::Object)
                .collect();
            let mut r = Reply::json(json!(out));
            if let Some(ch) = net.changes() {
                r = r.with("changes", json!(ch));
            }
            Ok(r)
        }
        ("POST", []) => {
            ctx.require(&nodepath, &["Sys.Modify"])?;
            let iface = ctx.params.req("iface")?;
            let ty = ctx.params.req("type")?;
            if !IFACE_TYPES.contains(&ty.as_str()) {
                return Err(PveError::param(
                    "type",
                    format!(
                        "value '{ty}' does not have a value in the enumeration '{}'",
                        IFACE_TYPES.join(", ")
                    ),
                ));
            }
            if ty == "vlan" && !iface.contains('.') && !ctx.params.has("vlan-raw-device") {
                return Err(PveError::param(
                    "vlan-raw-device",
                    "property is missing and it is not optional",
                ));
            }
            let mut c = ctx.write();
            let net = c.networks.entry(node.to_string()).or_default();
            if net.view().contains_key(&iface) {
                return Err(PveError::internal(format!(
                    "interface '{iface}' already exists"
                )));
            }
            let mut o = Map::new();
            o.insert("iface".into(), json!(iface));
            o.insert("type".into(), json!(ty));
            set_fields(&mut o, ctx)?;
            if ty == "bond" {
                o.entry("bond_mode").or_insert(json!("balance-rr"));
            }
            if ty == "vlan"
                && let Some((raw, id)) = iface.rsplit_once('.')
            {
                o.entry("vlan-raw-device").or_insert(json!(raw));
                o.entry("vlan-id").or_insert(json!(id));
            }
            net.staged().insert(iface, o);
            Ok(Reply::null())
        }
        ("PUT", []) => {
            ctx.require(&nodepath, &["Sys.Modify"])?;
            let mut c = ctx.write();
            let n = node.to_string();
            let log = vec![
                "waiting for ifreload".into(),
                "applying network configuration".into(),
            ];
            let effect = Box::new(move |c: &mut Cluster| {
                let net = c.networks.entry(n).or_default();
                if let Some(mut p) = net.pending.take() {
                    for o in p.values_mut() {
                        o.insert("active".into(), json!(1));
                        if o.get("type").and_then(Value::as_str) == Some("eth") {
                            o.insert("exists".into(), json!(1));
                        }
                    }
                    net.ifaces = p;
                }
                Ok(Vec::new())
            });
            let upid = ctx.start_task(
                &mut c,
                node,
                "srvreload",
                "networking",
                2.0,
                log,
                Some(effect),
            );
            Ok(Reply::string(upid))
        }
        ("DELETE", []) => {
            ctx.require(&nodepath, &["Sys.Modify"])?;
            let mut c = ctx.write();
            if let Some(net) = c.networks.get_mut(node) {
                net.pending = None;
            }
            Ok(Reply::null())
        }
        ("GET", [iface]) => {
            ctx.require(&nodepath, &["Sys.Audit"])?;
            let c = ctx.read();
            let o = c
                .networks
                .get(node)
                .and_then(|n| n.view().get(*iface))
                .ok_or_else(|| PveError::internal(format!("interface '{iface}' does not exist")))?;
            Ok(Reply::json(Value::Object(o.clone())))
        }
        ("PUT", [iface]) => {
            ctx.require(&nodepath, &["Sys.Modify"])?;
            ctx.params.req("type")?;
            let mut c = ctx.write();
            let net = c.networks.entry(node.to_string()).or_default();
            if !net.view().contains_key(*iface) {
                return Err(PveError::internal(format!(
                    "interface '{iface}' does not exist"
                )));
            }
            let staged = net.staged();
            if let Some(o) = staged.get_mut(*iface) {
                o.remove("active");
                set_fields(o, ctx)?;
            }
            Ok(Reply::null())
        }
        ("DELETE", [iface]) => {
            ctx.require(&nodepath, &["Sys.Modify"])?;
            let mut c = ctx.write();
            let net = c.networks.entry(node.to_string()).or_default();
            if !net.view().contains_key(*iface) {
                return Err(PveError::internal(format!(
                    "interface '{iface}' does not exist"
                )));
            }
            net.staged().remove(*iface);
            Ok(Reply::null())
        }
        _ => Err(ctx.not_impl()),
    }
}

/// `/cluster/sdn/...`.
pub fn route_sdn(ctx: &Ctx, rest: &[&str]) -> ApiResult {
    match (ctx.method, rest) {
        ("GET", []) => Ok(index_by(
            "id",
            &["vnets", "zones", "controllers", "ipams", "dns", "fabrics"],
        )),
        ("PUT", []) => {
            ctx.require("/sdn", &["SDN.Allocate"])?;
            let mut c = ctx.write();
            let node = c.nodes.first().map(|n| n.name.clone()).unwrap_or_default();
            let upid = ctx.start_task(
                &mut c,
                &node,
                "reloadnetworkall",
                "",
                2.0,
                vec!["reloading network on all nodes".into()],
                None,
            );
            Ok(Reply::string(upid))
        }
        (_, ["zones", rest @ ..]) => sdn_items(ctx, "zone", rest, |c| &mut c.sdn_zones),
        (_, ["vnets", vnet, "subnets"]) if ctx.method == "GET" => {
            ctx.require("/sdn", &["SDN.Audit"])?;
            if !ctx.read().sdn_vnets.contains_key(*vnet) {
                return Err(PveError::internal(format!("vnet '{vnet}' does not exist")));
            }
            Ok(Reply::json(json!([])))
        }
        (_, ["vnets", rest @ ..]) => sdn_items(ctx, "vnet", rest, |c| &mut c.sdn_vnets),
        ("GET", ["controllers" | "ipams" | "dns" | "fabrics"]) => {
            ctx.require("/sdn", &["SDN.Audit"])?;
            Ok(Reply::json(json!([])))
        }
        _ => Err(ctx.not_impl()),
    }
}

type SdnSel = fn(&mut Cluster) -> &mut std::collections::BTreeMap<String, Obj>;

fn sdn_items(ctx: &Ctx, key: &str, rest: &[&str], sel: SdnSel) -> ApiResult {
    let mut c = ctx.write();
    if key == "vnet"
        && ctx.method != "GET"
        && ctx.method != "DELETE"
        && let Some(z) = ctx.params.str("zone")
        && !c.sdn_zones.contains_key(&z)
    {
        return Err(PveError::internal(format!("zone '{z}' does not exist")));
    }
    let map = sel(&mut c);
    match (ctx.method, rest) {
        ("GET", []) => {
            ctx.require("/sdn", &["SDN.Audit"])?;
            let ty = ctx.params.str("type");
            let out: Vec<Value> = map
                .values()
                .filter(|o| {
                    ty.as_deref()
                        .is_none_or(|t| o.get("type").and_then(Value::as_str) == Some(t))
                })
                .cloned()
                .map(Value::Object)
                .collect();
            Ok(Reply::json(json!(out)))
        }
        ("POST", []) => {
            ctx.require("/sdn", &["SDN.Allocate"])?;
            let id = ctx.params.req(key)?;
            let valid = id.len() <= 8
                && id.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                && id
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
            if !valid {
                return Err(PveError::param(
                    key,
                    format!("{key} ID '{id}' contains illegal characters"),
                ));
            }
            if key == "zone" {
                ctx.params.req("type")?;
            } else {
                ctx.params.req("zone")?;
            }
            if map.contains_key(&id) {
                return Err(PveError::internal(format!(
                    "{key} ID '{id}' already defined"
                )));
            }
            let mut o = Map::new();
            for (k, v) in ctx.params.strings() {
                o.insert(k, json!(v));
            }
            if key == "vnet" {
                o.insert("type".into(), json!("vnet"));
            }
            map.insert(id, o);
            Ok(Reply::null())
        }
        ("GET", [id]) => {
            ctx.require("/sdn", &["SDN.Audit"])?;
            let o = map
                .get(*id)
                .ok_or_else(|| PveError::internal(format!("sdn '{id}' does not exist")))?;
            Ok(Reply::json(Value::Object(o.clone())))
        }
        ("PUT", [id]) => {
            ctx.require("/sdn", &["SDN.Allocate"])?;
            let o = map
                .get_mut(*id)
                .ok_or_else(|| PveError::internal(format!("sdn '{id}' does not exist")))?;
            for k in ctx.params.split_list("delete") {
                o.remove(&k);
            }
            for (k, v) in ctx.params.strings() {
                if k != "delete" && k != "digest" {
                    o.insert(k, json!(v));
                }
            }
            Ok(Reply::null())
        }
        ("DELETE", [id]) => {
            ctx.require("/sdn", &["SDN.Allocate"])?;
            map.remove(*id)
                .ok_or_else(|| PveError::internal(format!("sdn '{id}' does not exist")))?;
            Ok(Reply::null())
        }
        _ => Err(ctx.not_impl()),
    }
}
