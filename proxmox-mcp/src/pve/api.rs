//! `Pve`: a cheap, cloneable handle over any `PveApi` with typed helpers for the calls tools need most.

use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::client::PveApi;
use super::envelope;
use super::error::PveError;
use super::params::encode_segment;
use super::request::{Method, Params};
use super::types::{self, GuestKind};
use super::upid::Upid;

/// The Proxmox API as tools see it.
#[derive(Clone)]
pub struct Pve(Arc<dyn PveApi>);

impl std::fmt::Debug for Pve {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Pve").field(&self.0.base_url()).finish()
    }
}

fn no_params() -> Params {
    Params::new()
}

fn guest_path(kind: GuestKind, node: &str, vmid: u32, rest: &str) -> String {
    format!(
        "/nodes/{}/{}/{vmid}/{rest}",
        encode_segment(node),
        kind.path_segment()
    )
}

fn task_path(upid: &Upid, rest: &str) -> String {
    format!(
        "/nodes/{}/tasks/{}/{rest}",
        encode_segment(&upid.node),
        encode_segment(&upid.to_string())
    )
}

impl Pve {
    pub fn new(api: Arc<dyn PveApi>) -> Self {
        Pve(api)
    }

    /// A client that fails every request with `reason` (no cluster is configured).
    pub fn unavailable(reason: String) -> Self {
        Self::new(Arc::new(Unavailable(reason)))
    }

    pub fn api(&self) -> &dyn PveApi {
        self.0.as_ref()
    }

    /// Any call; returns the envelope's `data`.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        params: &Params,
    ) -> Result<Value, PveError> {
        self.0.call(method, path, params).await
    }

    /// A GET decoded into `T`.
    pub async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        params: &Params,
    ) -> Result<T, PveError> {
        let body = self.0.call_raw(Method::Get, path, params).await?;
        super::envelope::parse_data(&body, Method::Get, path)
    }

    pub async fn version(&self) -> Result<types::Version, PveError> {
        self.get("/version", &no_params()).await
    }

    /// `GET /cluster/resources`, optionally filtered by `type` (`vm`, `storage`, `node`, `sdn`).
    pub async fn cluster_resources(
        &self,
        kind: Option<&str>,
    ) -> Result<Vec<types::ClusterResource>, PveError> {
        let mut params = no_params();
        if let Some(k) = kind {
            params.insert("type".into(), Value::String(k.to_owned()));
        }
        self.get("/cluster/resources", &params).await
    }

    /// `GET /cluster/resources` as the response body, for [`Pve::each_resource`]: the big list
    /// decoded without owning a copy of every string.
    pub async fn cluster_resources_body(&self) -> Result<bytes::Bytes, PveError> {
        self.0
            .call_raw(Method::Get, "/cluster/resources", &no_params())
            .await
    }

    /// The entries of a [`Pve::cluster_resources_body`], borrowing from it, one at a time: the
    /// whole list (5,000 guests) is never held decoded.
    pub fn each_resource<'a>(
        body: &'a [u8],
        each: impl FnMut(types::ResourceRef<'a>),
    ) -> Result<(), PveError> {
        envelope::for_each_in_data(body, Method::Get, "/cluster/resources", each)
    }

    pub async fn cluster_status(&self) -> Result<Vec<types::ClusterStatusItem>, PveError> {
        self.get("/cluster/status", &no_params()).await
    }

    pub async fn nodes(&self) -> Result<Vec<types::NodeListItem>, PveError> {
        self.get("/nodes", &no_params()).await
    }

    pub async fn node_status(&self, node: &str) -> Result<types::NodeStatus, PveError> {
        self.get(
            &format!("/nodes/{}/status", encode_segment(node)),
            &no_params(),
        )
        .await
    }

    pub async fn subscription(&self, node: &str) -> Result<types::Subscription, PveError> {
        self.get(
            &format!("/nodes/{}/subscription", encode_segment(node)),
            &no_params(),
        )
        .await
    }

    pub async fn ha_status(&self) -> Result<Vec<types::HaStatusItem>, PveError> {
        self.get("/cluster/ha/status/current", &no_params()).await
    }

    /// Find a guest by vmid cluster-wide (`GET /cluster/resources?type=vm`).
    pub async fn locate_guest(&self, vmid: u32) -> Result<types::ClusterResource, PveError> {
        self.cluster_resources(Some("vm"))
            .await?
            .into_iter()
            .find(|r| r.vmid == Some(vmid) && r.guest_kind().is_some())
            .ok_or_else(|| PveError::NotFound {
                message: format!(
                    "VM {vmid} does not exist in the cluster: no VM or container with that id is \
                     visible to these credentials. Check the id in the guest list; if it should \
                     exist, the credentials may lack VM.Audit on /vms/{vmid}."
                ),
            })
    }

    pub async fn guest_status(
        &self,
        kind: GuestKind,
        node: &str,
        vmid: u32,
    ) -> Result<types::GuestStatus, PveError> {
        self.get(
            &guest_path(kind, node, vmid, "status/current"),
            &no_params(),
        )
        .await
    }

    pub async fn guest_config(
        &self,
        kind: GuestKind,
        node: &str,
        vmid: u32,
    ) -> Result<types::GuestConfig, PveError> {
        self.get(&guest_path(kind, node, vmid, "config"), &no_params())
            .await
    }

    pub async fn guest_pending(
        &self,
        kind: GuestKind,
        node: &str,
        vmid: u32,
    ) -> Result<Vec<types::PendingItem>, PveError> {
        self.get(&guest_path(kind, node, vmid, "pending"), &no_params())
            .await
    }

    /// `GET /nodes/{node}/qemu/{vmid}/agent/{command}`, unwrapping `{"result": …}`; an agent error
    /// reported inside a 200 becomes [`PveError::Agent`].
    pub async fn agent_get(&self, node: &str, vmid: u32, command: &str) -> Result<Value, PveError> {
        let path = guest_path(GuestKind::Qemu, node, vmid, &format!("agent/{command}"));
        let data = match self.0.call(Method::Get, &path, &no_params()).await {
            Ok(d) => d,
            Err(PveError::Api {
                status: 500,
                message,
            }) => {
                return Err(PveError::Agent {
                    message: envelope::agent_hint(&message),
                });
            }
            Err(e) => return Err(e),
        };
        unwrap_agent_result(data)
    }

    pub async fn task_status(&self, upid: &Upid) -> Result<types::TaskStatus, PveError> {
        self.get(&task_path(upid, "status"), &no_params()).await
    }

    /// Log lines `start+1 ..= start+limit` (PVE numbers lines from 1; `limit` 0 means all).
    pub async fn task_log(
        &self,
        upid: &Upid,
        start: u64,
        limit: u64,
    ) -> Result<Vec<types::TaskLogLine>, PveError> {
        let mut params = no_params();
        params.insert("start".into(), start.into());
        params.insert("limit".into(), limit.into());
        self.get(&task_path(upid, "log"), &params).await
    }

    /// The last `n` log lines, without reading the whole log: one request when the log is
    /// short, two when it is longer than `n` (the first tells the `total`).
    pub async fn task_log_tail(
        &self,
        upid: &Upid,
        n: u64,
    ) -> Result<Vec<types::TaskLogLine>, PveError> {
        #[derive(serde::Deserialize)]
        struct Page {
            #[serde(default)]
            data: Vec<types::TaskLogLine>,
            #[serde(default, deserialize_with = "super::perl::de_opt_u64")]
            total: Option<u64>,
        }
        let path = task_path(upid, "log");
        let page = |start: u64| {
            let mut params = no_params();
            params.insert("start".into(), start.into());
            params.insert("limit".into(), n.into());
            let path = path.clone();
            async move {
                let body = self.0.call_raw(Method::Get, &path, &params).await?;
                serde_json::from_slice::<Page>(&body).map_err(|e| PveError::Decode {
                    message: format!("GET {path}: unexpected task log shape ({e})"),
                })
            }
        };
        let first = page(0).await?;
        match first.total {
            Some(total) if total > n => Ok(page(total - n).await?.data),
            _ => Ok(first.data),
        }
    }
}

/// `{"result": X}` → X; `{"result": {"error": {class, desc}}}` → `PveError::Agent`.
pub(crate) fn unwrap_agent_result(data: Value) -> Result<Value, PveError> {
    let Value::Object(mut map) = data else {
        return Ok(data);
    };
    let Some(result) = map.remove("result") else {
        return Ok(Value::Object(map));
    };
    if let Some(err) = result.get("error") {
        let class = err.get("class").and_then(Value::as_str).unwrap_or("Error");
        let desc = err
            .get("desc")
            .and_then(Value::as_str)
            .unwrap_or("no description");
        return Err(PveError::Agent {
            message: format!(
                "the QEMU guest agent answered with an error: {class}: {desc}. The agent inside \
                 the guest may be too old or not support this command."
            ),
        });
    }
    Ok(result)
}

/// The client of [`Pve::unavailable`].
struct Unavailable(String);

impl PveApi for Unavailable {
    fn call<'a>(
        &'a self,
        _method: Method,
        _path: &'a str,
        _params: &'a Params,
    ) -> futures::future::BoxFuture<'a, Result<Value, PveError>> {
        Box::pin(async move { Err(PveError::Config(self.0.clone())) })
    }

    fn base_url(&self) -> &str {
        "(no cluster)"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pve::envelope::short_type_name;
    use serde_json::json;

    #[test]
    fn agent_results() {
        assert_eq!(
            unwrap_agent_result(json!({"result": [1]})).unwrap(),
            json!([1])
        );
        assert_eq!(
            unwrap_agent_result(json!({"pid": 5})).unwrap(),
            json!({"pid": 5})
        );
        let e = unwrap_agent_result(json!({"result": {"error": {"class": "Unsupported", "desc": "this feature or command is not currently supported"}}})).unwrap_err();
        assert!(
            matches!(&e, PveError::Agent { message } if message.contains("Unsupported: this feature")),
            "{e:?}"
        );
    }

    #[test]
    fn paths() {
        let u: Upid = "UPID:pve1:00007323:001036A5:6419CAF8:qmstart:100:mcp@pve!x:"
            .parse()
            .unwrap();
        assert_eq!(
            task_path(&u, "status"),
            "/nodes/pve1/tasks/UPID:pve1:00007323:001036A5:6419CAF8:qmstart:100:mcp@pve!x:/status"
        );
        assert_eq!(
            guest_path(GuestKind::Lxc, "pve1", 101, "config"),
            "/nodes/pve1/lxc/101/config"
        );
        assert_eq!(
            short_type_name::<Vec<types::NodeListItem>>(),
            "Vec<NodeListItem>"
        );
        assert_eq!(short_type_name::<types::Version>(), "Version");
    }
}
