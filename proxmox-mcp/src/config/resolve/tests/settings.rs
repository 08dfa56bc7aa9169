//! `[policy]`, `[audit]` and `api_schema` with their variables: defaults, env over file, refusals.

use std::collections::BTreeSet;

use super::*;

#[test]
fn defaults() {
    let (config, warnings) = resolve_with_warnings(
        None,
        &EnvVars::default(),
        &Fake::default(),
        &LoadOptions::default(),
    )
    .unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(config.policy.protected_vmids, BTreeSet::new());
    assert_eq!(
        config.policy.protected_tags,
        BTreeSet::from(["protected".to_owned()])
    );
    assert_eq!(config.policy.approval_ttl, Duration::from_secs(600));
    assert_eq!(config.audit.retention, Duration::from_secs(7 * 86_400));
    assert_eq!(config.api_schema, None);

    let env = EnvVars::from_pairs([URL, ID, SECRET]);
    let (config, _) =
        resolve_with_warnings(None, &env, &Fake::default(), &LoadOptions::default()).unwrap();
    let exec = &config.clusters[0].exec;
    assert_eq!(exec.executor, ExecutorKind::Disabled);
    assert_eq!(exec.local_node, None);
    assert_eq!(exec.timeout, Duration::from_secs(60));
    assert_eq!(exec.ssh, SshConfig::default());
    assert_eq!(
        (
            exec.ssh.user.as_str(),
            exec.ssh.port,
            exec.ssh.connect_timeout
        ),
        ("root", 22, Duration::from_secs(10))
    );
}

const POLICY: &str = "[policy]\nprotected_vmids = [101, 100, 101]\n\
                      protected_tags = [\" Prod \", \"protected\", \"PROD\"]\n\
                      approval_ttl_secs = 86400\n[audit]\nretention_days = 3650";

#[test]
fn policy_and_audit() {
    let cases = [
        Case {
            name: "file: tags trimmed and lowercased, duplicates merged, upper bounds",
            toml: Some(POLICY),
            expect: Ok(
                "policy[vmids=100,101 tags=prod,protected ttl=86400s]; audit=3650d; state={user}",
            ),
            ..BASE
        },
        Case {
            name: "lower bounds",
            toml: Some(
                "[policy]\nprotected_vmids = [100, 999999999]\napproval_ttl_secs = 1\n[audit]\nretention_days = 1",
            ),
            expect: Ok("policy[vmids=100,999999999 tags=protected ttl=1s]; audit=1d; state={user}"),
            ..BASE
        },
        Case {
            name: "an empty tag list turns tag protection off",
            toml: Some("[policy]\nprotected_tags = []"),
            expect: Ok("policy[vmids= tags= ttl=600s]; state={user}"),
            ..BASE
        },
        Case {
            name: "empty tables are the defaults",
            toml: Some("[policy]\n[audit]"),
            expect: Ok("state={user}"),
            ..BASE
        },
        Case {
            name: "env beats the file, a list replaces the list",
            toml: Some(POLICY),
            env: &[
                (PROXMOX_MCP_PROTECTED_VMIDS, "200, 201,200"),
                (PROXMOX_MCP_PROTECTED_TAGS, "Gold , silver"),
                (PROXMOX_MCP_APPROVAL_TTL_SECS, "60"),
                (PROXMOX_MCP_AUDIT_RETENTION_DAYS, "30"),
            ],
            expect: Ok("policy[vmids=200,201 tags=gold,silver ttl=60s]; audit=30d; state={user}"),
            ..BASE
        },
        Case {
            name: "journal socket: a path or off, from the file or the environment",
            toml: Some("[audit]\njournal_socket = \"/run/j.sock\""),
            expect: Ok("journal=/run/j.sock; state={user}"),
            ..BASE
        },
        Case {
            name: "journal socket: off in any case, env beats the file",
            toml: Some("[audit]\njournal_socket = \"/run/j.sock\""),
            env: &[(PROXMOX_MCP_JOURNAL_SOCKET, "OFF")],
            expect: Ok("journal=off; state={user}"),
            ..BASE
        },
        Case {
            name: "journal socket: off in the file, a path in the env",
            toml: Some("[audit]\njournal_socket = \"off\""),
            env: &[(PROXMOX_MCP_JOURNAL_SOCKET, "/tmp/j.sock")],
            expect: Ok("journal=/tmp/j.sock; state={user}"),
            ..BASE
        },
        Case {
            name: "journal socket: the default path stated is the default",
            env: &[(PROXMOX_MCP_JOURNAL_SOCKET, "/run/systemd/journal/socket")],
            expect: Ok("state={user}"),
            ..BASE
        },
        Case {
            name: "env only, no cluster needed",
            env: &[(PROXMOX_MCP_PROTECTED_VMIDS, "100")],
            expect: Ok("policy[vmids=100 tags=protected ttl=600s]; state={user}"),
            ..BASE
        },
        Case {
            name: "blank variables are unset",
            toml: Some(POLICY),
            env: &[
                (PROXMOX_MCP_PROTECTED_TAGS, " "),
                (PROXMOX_MCP_AUDIT_RETENTION_DAYS, ""),
            ],
            expect: Ok(
                "policy[vmids=100,101 tags=prod,protected ttl=86400s]; audit=3650d; state={user}",
            ),
            ..BASE
        },
    ];
    cases.into_iter().for_each(check);
}

#[test]
fn policy_and_audit_errors() {
    let vmids = "expected guest ids (VMIDs) from 100 to 999999999";
    let tags = "expected PVE tags: letters, digits, `_`, `-`, `+` and `.`, not empty";
    #[rustfmt::skip]
    let files = [
        ("[policy]\nprotected_vmids = [100, 99]", format!("policy.protected_vmids: 99 is invalid: {vmids}")),
        ("[policy]\nprotected_vmids = [1000000000]", format!("policy.protected_vmids: 1000000000 is invalid: {vmids}")),
        ("[policy]\nprotected_vmids = [-1]", "{dir}/config.toml:2: invalid value: integer `-1`, expected u64".to_owned()),
        ("[policy]\nprotected_vmids = 100", "{dir}/config.toml:2: invalid type: integer `100`, expected a sequence".to_owned()),
        ("[policy]\nprotected_tags = [\"prod\", \"\"]", format!("policy.protected_tags: \"\" is invalid: {tags}")),
        ("[policy]\nprotected_tags = [\"  \"]", format!("policy.protected_tags: \"  \" is invalid: {tags}")),
        ("[policy]\nprotected_tags = [\"a b\"]", format!("policy.protected_tags: \"a b\" is invalid: {tags}")),
        ("[policy]\nprotected_tags = [\"-x\"]", format!("policy.protected_tags: \"-x\" is invalid: {tags}")),
        ("[policy]\napproval_ttl_secs = 0", "policy.approval_ttl_secs: 0 is invalid: expected 1 to 86400 (seconds)".to_owned()),
        ("[policy]\napproval_ttl_secs = 86401", "policy.approval_ttl_secs: 86401 is invalid: expected 1 to 86400 (seconds)".to_owned()),
        ("[audit]\nretention_days = 0", "audit.retention_days: 0 is invalid: expected 1 to 3650 (days)".to_owned()),
        ("[audit]\nretention_days = 3651", "audit.retention_days: 3651 is invalid: expected 1 to 3650 (days)".to_owned()),
        ("[policy]\nprotected_vmid = [100]", "{dir}/config.toml:2: unknown key `protected_vmid` (expected one of `protected_vmids`, `protected_tags`, `approval_ttl_secs`)".to_owned()),
        ("[audit]\nretention = 7", "{dir}/config.toml:2: unknown key `retention` (expected `retention_days` or `journal_socket`)".to_owned()),
        ("[audit]\njournal_socket = \"journal.sock\"", "audit.journal_socket: journal.sock is invalid: expected `off` or the absolute path of the system journal's socket".to_owned()),
    ];
    for (toml, want) in &files {
        check(Case {
            name: toml,
            toml: Some(toml),
            expect: Err(want),
            ..BASE
        });
    }
    let vmids_env =
        "expected guest ids (VMIDs) from 100 to 999999999 separated by commas, e.g. 100,101";
    let tags_env = "expected PVE tags (letters, digits, `_`, `-`, `+` and `.`) separated by commas, e.g. protected,prod";
    #[rustfmt::skip]
    let envs = [
        (PROXMOX_MCP_PROTECTED_VMIDS, "100,abc", vmids_env),
        (PROXMOX_MCP_PROTECTED_VMIDS, "100,", vmids_env),
        (PROXMOX_MCP_PROTECTED_VMIDS, "99", vmids_env),
        (PROXMOX_MCP_PROTECTED_VMIDS, "100 101", vmids_env),
        (PROXMOX_MCP_PROTECTED_TAGS, "prod,", tags_env),
        (PROXMOX_MCP_PROTECTED_TAGS, ",", tags_env),
        (PROXMOX_MCP_PROTECTED_TAGS, "a b", tags_env),
        (PROXMOX_MCP_APPROVAL_TTL_SECS, "0", "expected 1 to 86400 (seconds)"),
        (PROXMOX_MCP_APPROVAL_TTL_SECS, "86401", "expected 1 to 86400 (seconds)"),
        (PROXMOX_MCP_APPROVAL_TTL_SECS, "10m", "expected 1 to 86400 (seconds)"),
        (PROXMOX_MCP_AUDIT_RETENTION_DAYS, "0", "expected 1 to 3650 (days)"),
        (PROXMOX_MCP_AUDIT_RETENTION_DAYS, "3651", "expected 1 to 3650 (days)"),
        (PROXMOX_MCP_AUDIT_RETENTION_DAYS, "-1", "expected 1 to 3650 (days)"),
        (PROXMOX_MCP_JOURNAL_SOCKET, "run/journal.sock", "expected `off` or the absolute path of the system journal's socket"),
        (PROXMOX_MCP_JOURNAL_SOCKET, "no", "expected `off` or the absolute path of the system journal's socket"),
    ];
    for (var, value, expected) in envs {
        let want = format!("{var}=`{value}` is invalid: {expected}");
        check(Case {
            name: value,
            env: &[(var, value)],
            expect: Err(&want),
            ..BASE
        });
    }
}

#[test]
fn api_schema() {
    let files = &[("apidata.js", "{}", 0o644), ("env.js", "{}", 0o644)];
    let pve_docs = &[load::PVE_API_SCHEMA];
    let cases = [
        Case {
            name: "default: pve-docs' file when it exists",
            present: pve_docs,
            expect: Ok("schema=/usr/share/pve-docs/api-viewer/apidata.js; state={user}"),
            ..BASE
        },
        Case {
            name: "default: none when it does not",
            toml: Some(""),
            expect: Ok("state={user}"),
            ..BASE
        },
        Case {
            name: "file, relative to the config file, beats the default",
            toml: Some("api_schema = \"apidata.js\""),
            files,
            present: pve_docs,
            expect: Ok("schema={dir}/apidata.js; state={user}"),
            ..BASE
        },
        Case {
            name: "env beats the file",
            toml: Some("api_schema = \"apidata.js\""),
            env: &[(PROXMOX_MCP_API_SCHEMA, "{dir}/env.js")],
            files,
            expect: Ok("schema={dir}/env.js; state={user}"),
            ..BASE
        },
        Case {
            name: "an env path is taken as it is, not relative to the config file",
            toml: Some(""),
            env: &[(PROXMOX_MCP_API_SCHEMA, "apidata.js")],
            files,
            present: &["apidata.js"],
            expect: Ok("schema=apidata.js; state={user}"),
            ..BASE
        },
        Case {
            name: "a configured file must exist",
            toml: Some("api_schema = \"apidata.js\""),
            present: pve_docs,
            expect: Err(
                "the API schema {dir}/apidata.js does not exist: point api_schema (or PROXMOX_MCP_API_SCHEMA) at apidata.js of pve-docs (/usr/share/pve-docs/api-viewer/apidata.js) or a copy of it",
            ),
            ..BASE
        },
        Case {
            name: "so must one from the environment",
            env: &[(PROXMOX_MCP_API_SCHEMA, "/nope/apidata.js")],
            present: pve_docs,
            expect: Err("the API schema /nope/apidata.js does not exist"),
            ..BASE
        },
        Case {
            name: "wrong type",
            toml: Some("api_schema = true"),
            expect: Err("{dir}/config.toml:1: invalid type: boolean `true`, expected path string"),
            ..BASE
        },
    ];
    cases.into_iter().for_each(check);
}
