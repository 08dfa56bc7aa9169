//! The policy function: `evaluate(&Policy, &Request) -> Decision`. Pure data in, decision out;
//! the same function answers `explain_command` and gates every tool, API request and command.
//!
//! Order of the rules: root protection (no mode lifts it), then protected guests for destructive
//! work, then the mode. Anything the mode table does not allow explicitly is confirmed or refused.

use serde_json::{Map, Value};

use super::Class;
use super::api::{bulk_commands, judge_api_call};
use super::command::{Analysis, Protected};
use super::decision::Decision;
use super::mode::Mode;
use super::protect::{Identity, ProtectedGuests, api_protection};

/// What the engine knows about the server: its mode, protected guests and its own identity.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    pub mode: Mode,
    pub protected_guests: ProtectedGuests,
    pub identity: Identity,
}

/// The guest a request acts on, as far as the caller knows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GuestTarget {
    pub vmid: u32,
    /// The guest's PVE tags.
    pub tags: Vec<String>,
    /// PVE's own `protection: 1` in the guest's configuration.
    pub protection_flag: bool,
}

/// One request to decide on: a tool call, a raw API request or a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub class: Class,
    /// Root-protection hits, from command analysis or [`api_protection`].
    pub protected: Vec<Protected>,
    pub target_guest: Option<GuestTarget>,
    /// It may destroy data: Destructive, or a command that could do anything. Protected
    /// guests refuse it.
    pub may_destroy: bool,
    /// It would destroy guests chosen only at run time, so protected guests cannot be ruled out.
    pub guests_unknown: bool,
}

impl Request {
    /// A request of `class` with no protection hits and no guest.
    pub fn new(class: Class) -> Self {
        Request {
            class,
            protected: Vec::new(),
            target_guest: None,
            may_destroy: class == Class::Destructive,
            guests_unknown: false,
        }
    }

    /// A raw API request: classified by [`judge_api_call`] (parameters can raise the class;
    /// whether it may destroy is kept apart from the class, so an exec parameter never hides
    /// a destructive one), checked by [`api_protection`].
    pub fn api(method: &str, path: &str, params: &Map<String, Value>, id: &Identity) -> Self {
        let verdict = judge_api_call(method, path, params);
        let mut protected = api_protection(method, path, params, id);
        for hit in super::api::auth_lockout(method, path, params) {
            if !protected.contains(&hit) {
                protected.push(hit);
            }
        }
        let mut req = Request {
            protected,
            may_destroy: verdict.may_destroy,
            ..Request::new(verdict.class)
        };
        if let Some(inner) = bulk_commands(method, path, params) {
            // `POST /nodes/{node}/execute` runs API calls of its own: each is judged as itself.
            match inner {
                Some(calls) => {
                    for (m, p, a) in calls {
                        let r = Request::api(&m, &p, &a, id);
                        req.class = req.class.max(r.class);
                        req.may_destroy |= r.may_destroy;
                        for hit in r.protected {
                            if !req.protected.contains(&hit) {
                                req.protected.push(hit);
                            }
                        }
                    }
                }
                None => req.protected.push(Protected::Unresolved(
                    "its `commands` cannot be read, so the API calls it runs cannot be checked"
                        .into(),
                )),
            }
        }
        req
    }

    /// A shell command, from its [`Analysis`].
    pub fn command(analysis: &Analysis) -> Self {
        Request {
            class: analysis.class,
            protected: analysis.protected.clone(),
            target_guest: None,
            may_destroy: analysis.may_destroy || analysis.class == Class::Destructive,
            guests_unknown: analysis.guests_unknown,
        }
    }

    pub fn with_guest(mut self, guest: GuestTarget) -> Self {
        self.target_guest = Some(guest);
        self
    }
}

impl ProtectedGuests {
    /// Why `guest` is protected, or `None`.
    pub fn protects(&self, guest: &GuestTarget) -> Option<String> {
        if guest.protection_flag {
            return Some(format!(
                "guest {} has PVE's protection flag set",
                guest.vmid
            ));
        }
        if self.vmids.contains(&guest.vmid) {
            return Some(format!(
                "guest {} is on the configured list of protected guests",
                guest.vmid
            ));
        }
        let tag = guest.tags.iter().find(|t| {
            self.tags
                .iter()
                .any(|p| p.trim().eq_ignore_ascii_case(t.trim()))
        })?;
        Some(format!(
            "guest {} carries the protected tag {:?}",
            guest.vmid,
            tag.trim()
        ))
    }
}

/// Decides one request. Root protection first (nothing lifts it), then protected guests for
/// work that may destroy (destructive, or commands that could do anything), then the mode.
pub fn evaluate(policy: &Policy, req: &Request) -> Decision {
    if let Some(hit) = req.protected.first() {
        return Decision::Refuse(format!(
            "Refused: this {hit}. Root protection holds in every mode and cannot be confirmed \
             away; leave it to an administrator working on the host."
        ));
    }
    if req.may_destroy && req.guests_unknown {
        return Decision::Refuse(
            "Refused: this destroys guests that are only chosen when it runs, so protected \
             guests cannot be ruled out. Name every vmid literally."
                .to_string(),
        );
    }
    if req.may_destroy
        && let Some(why) = req
            .target_guest
            .as_ref()
            .and_then(|g| policy.protected_guests.protects(g))
    {
        return Decision::Refuse(format!(
            "Refused: {why}, so destructive actions on it are not allowed in any mode. \
             Only an administrator can lift the protection."
        ));
    }
    let class = req.class;
    match (policy.mode, class) {
        (_, Class::Read) => Decision::Allow,
        (Mode::ReadOnly, _) => Decision::Refuse(format!(
            "Refused: the server is in read-only mode and this action's class is {class}. An \
             operator can switch modes with `proxmox-mcp mode safe` on the host, or you can \
             ask for it with the toggle_mode tool (a human must approve)."
        )),
        (Mode::Safe, _) => Decision::Confirm(format!(
            "Safe mode: every change needs a human's approval, and this action's class is {class}."
        )),
        (Mode::Normal, Class::Lifecycle | Class::Modify) => Decision::Allow,
        (Mode::Normal, Class::Destructive) => Decision::Confirm(
            "Normal mode: destructive actions (delete, destroy, rollback, hard stop, reset, \
             wipe, cutting a node off) need a human's approval."
                .to_string(),
        ),
        (Mode::Normal, Class::Exec) => Decision::Confirm(
            "Normal mode: running commands or opening consoles needs a human's approval."
                .to_string(),
        ),
    }
}

/// The decision in every mode, safest first: what `explain_command` reports.
pub fn decisions(policy: &Policy, req: &Request) -> [(Mode, Decision); 3] {
    Mode::ALL.map(|mode| {
        let p = Policy {
            mode,
            ..policy.clone()
        };
        (mode, evaluate(&p, req))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(mode: Mode) -> Policy {
        Policy {
            mode,
            ..Policy::default()
        }
    }

    #[test]
    fn deny_wins_over_every_mode() {
        let req = Request {
            protected: vec![Protected::RootAccount("root@pam".into())],
            ..Request::new(Class::Read)
        };
        for m in Mode::ALL {
            assert!(evaluate(&policy(m), &req).is_refuse(), "{m}");
        }
    }

    #[test]
    fn protected_guest_only_blocks_destructive() {
        let guest = GuestTarget {
            vmid: 100,
            tags: vec!["Protected".into()],
            protection_flag: false,
        };
        let p = policy(Mode::Normal);
        let d = evaluate(
            &p,
            &Request::new(Class::Destructive).with_guest(guest.clone()),
        );
        assert!(d.is_refuse());
        assert!(d.reason().unwrap().contains("\"Protected\""), "{d}");
        assert!(evaluate(&p, &Request::new(Class::Modify).with_guest(guest)).is_allow());
        let flagged = GuestTarget {
            vmid: 7,
            tags: vec![],
            protection_flag: true,
        };
        assert!(evaluate(&p, &Request::new(Class::Destructive).with_guest(flagged)).is_refuse());
        let mut listed = policy(Mode::Normal);
        listed.protected_guests.vmids.insert(9);
        let g = GuestTarget {
            vmid: 9,
            ..GuestTarget::default()
        };
        assert!(evaluate(&listed, &Request::new(Class::Destructive).with_guest(g)).is_refuse());
    }

    #[test]
    fn safer_modes_are_never_more_permissive() {
        let classes = [
            Class::Read,
            Class::Lifecycle,
            Class::Modify,
            Class::Destructive,
            Class::Exec,
        ];
        for c in classes {
            let d = decisions(&Policy::default(), &Request::new(c));
            assert!(d[0].1.strictness() >= d[1].1.strictness(), "{c}");
            assert!(d[1].1.strictness() >= d[2].1.strictness(), "{c}");
        }
    }
}
