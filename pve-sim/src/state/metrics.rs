//! Deterministic, slowly changing usage numbers for nodes and guests, and RRD series.

use serde_json::{Map, Value, json};

use super::Node;
use super::guest::{Guest, Kind};
use crate::util::{frac, mix2};

/// The 10-second bucket PVE's status daemon would have last broadcast.
fn bucket(now: u64) -> u64 {
    now / 10
}

#[derive(Clone, Copy, Debug, Default)]
pub struct GuestMetrics {
    pub cpu: f64,
    pub mem: u64,
    pub disk: u64,
    pub netin: u64,
    pub netout: u64,
    pub diskread: u64,
    pub diskwrite: u64,
    pub uptime: u64,
}

pub fn guest(seed: u64, g: &Guest, now: u64) -> GuestMetrics {
    if !g.is_running() {
        return GuestMetrics::default();
    }
    let key = seed ^ (u64::from(g.vmid) << 8);
    let uptime = now.saturating_sub(g.started_at).max(1);
    let busy = frac(key, 1) < 0.1;
    let base = if busy { 0.5 } else { 0.02 };
    let cpu = base + frac(key, bucket(now)) * if busy { 0.45 } else { 0.15 };
    let mem_frac = 0.25 + 0.55 * frac(key, 2) + 0.05 * frac(key, bucket(now) / 6);
    let rate = |salt: u64, max: f64| (frac(key, salt) * max) as u64 + 1;
    GuestMetrics {
        cpu: (cpu * 1e6).round() / 1e6,
        mem: (g.derived.maxmem as f64 * mem_frac.min(0.95)) as u64,
        disk: if g.kind == Kind::Lxc {
            (g.derived.maxdisk as f64 * (0.1 + 0.5 * frac(key, 3))) as u64
        } else {
            0
        },
        netin: rate(4, 200_000.0) * uptime,
        netout: rate(5, 80_000.0) * uptime,
        diskread: rate(6, 300_000.0) * uptime,
        diskwrite: rate(7, 150_000.0) * uptime,
        uptime,
    }
}

#[derive(Clone, Copy, Debug, Default)]
pub struct NodeMetrics {
    pub cpu: f64,
    pub mem: u64,
    pub disk: u64,
    pub uptime: u64,
    pub loadavg: [f64; 3],
    pub swap_used: u64,
    pub iowait: f64,
}

/// `guest_mem` and `guest_cpu` are the summed usage of running guests on the node.
pub fn node(
    seed: u64,
    n: &Node,
    now: u64,
    started: u64,
    guest_mem: u64,
    guest_cpu: f64,
) -> NodeMetrics {
    let key = seed ^ (u64::from(n.nodeid) << 40);
    let cpu =
        ((guest_cpu / f64::from(n.cpus.max(1))) + 0.01 + 0.03 * frac(key, bucket(now))).min(1.0);
    let mem = (guest_mem + (n.memory as f64 * (0.06 + 0.02 * frac(key, 9))) as u64).min(n.memory);
    let load = cpu * f64::from(n.cpus);
    NodeMetrics {
        cpu: (cpu * 1e6).round() / 1e6,
        mem,
        disk: (n.rootfs as f64 * (0.08 + 0.1 * frac(key, 11))) as u64,
        uptime: n.uptime_base + now.saturating_sub(started),
        loadavg: [load, load * 0.9 + 0.05, load * 0.8 + 0.1],
        swap_used: if n.swap > 0 {
            (n.swap as f64 * 0.02 * frac(key, 12)) as u64
        } else {
            0
        },
        iowait: 0.001 + 0.01 * frac(key, bucket(now) + 1),
    }
}

/// RRD step and sample count for a timeframe.
pub fn timeframe(tf: &str) -> (u64, u64) {
    match tf {
        "day" => (1_440, 70),
        "week" => (10_080, 70),
        "month" => (43_200, 70),
        "year" => (525_600, 70),
        "decade" => (5_256_000, 70),
        _ => (60, 70),
    }
}

/// A deterministic RRD series. `fields` are (name, max value, is_counter_rate).
pub fn series(
    key: u64,
    now: u64,
    tf: &str,
    cf_max: bool,
    fields: &[(&str, f64)],
    constants: &[(&str, Value)],
) -> Value {
    let (step, count) = timeframe(tf);
    let end = now / step * step;
    let mut out = Vec::with_capacity(count as usize);
    for i in 0..count {
        let t = end - (count - 1 - i) * step;
        let mut m = Map::new();
        m.insert("time".into(), json!(t));
        for (j, (name, max)) in fields.iter().enumerate() {
            let h = mix2(key ^ (j as u64) << 32, t / step);
            let f = (h >> 11) as f64 / (1u64 << 53) as f64;
            let wave = 0.5 + 0.5 * ((t as f64 / (step as f64 * 9.0)) + j as f64).sin();
            let mut v = max * (0.3 * wave + 0.2 * f);
            if cf_max {
                v *= 1.3;
            }
            if *max >= 1000.0 {
                v = v.round();
            } else {
                v = (v * 1e6).round() / 1e6;
            }
            m.insert((*name).into(), json!(v));
        }
        for (k, v) in constants {
            m.insert((*k).into(), v.clone());
        }
        out.push(Value::Object(m));
    }
    Value::Array(out)
}
