//! `[cluster.exec]` and the executor variables: defaults, every key, env over file, each refusal.

use super::*;

/// The `home` cluster of [`HOME`] as it renders without `exec`.
const H: &str = "home https://pve1:8006 token mcp@pve!mcp=ffffffff 5/30";

/// `case` with the `home` cluster of [`HOME`] (and its secret file) whose `[cluster.exec]` table
/// is `exec`; an `Ok` expectation is what follows [`H`].
fn check_home(exec: &str, case: Case<'_>) {
    let toml = format!("{HOME}[cluster.exec]\n{exec}");
    let files: Vec<_> = HOME_SECRET.iter().chain(case.files).copied().collect();
    let want = case.expect.map(|rest| format!("{H}{rest}"));
    check(Case {
        toml: Some(&toml),
        files: &files,
        expect: want.as_deref().map_err(|e| *e),
        ..case
    });
}

const NO_KNOWN_HOSTS: &str = "cluster `home`: ssh executor without ssh_known_hosts: host keys are checked against ~/.ssh/known_hosts of the service user; set ssh_known_hosts (PROXMOX_MCP_SSH_KNOWN_HOSTS)";

#[test]
fn file_keys() {
    let rows = [
        (
            "",
            Case {
                name: "an empty table is the default: disabled",
                expect: Ok("; state={user}"),
                ..BASE
            },
        ),
        (
            "executor = \"ssh\"\ntimeout_secs = 600\nssh_user = \"mcp\"\nssh_port = 2222\n\
             ssh_key = \"id_ed25519\"\nssh_known_hosts = \"known_hosts\"\nssh_connect_timeout_secs = 120\n\
             [cluster.exec.hosts]\npve1 = \"10.0.0.11\"\npve2 = \"fd00::2\"",
            Case {
                name: "ssh with every key; relative paths are relative to the config file",
                files: &[("id_ed25519", "k", 0o600), ("known_hosts", "", 0o644)],
                expect: Ok(
                    " exec[ssh 600s mcp:2222 120s key={dir}/id_ed25519 kh={dir}/known_hosts hosts=pve1=10.0.0.11,pve2=fd00::2]; state={user}",
                ),
                ..BASE
            },
        ),
        (
            "executor = \"ssh\"\nssh_key = \"{dir}/k\"\nssh_known_hosts = \"{dir}/kh\"\ntimeout_secs = 1",
            Case {
                name: "absolute paths, a key of mode 0400, the lowest timeout",
                files: &[("k", "k", 0o400), ("kh", "", 0o600)],
                expect: Ok(" exec[ssh 1s root:22 10s key={dir}/k kh={dir}/kh]; state={user}"),
                ..BASE
            },
        ),
        (
            "executor = \"ssh\"",
            Case {
                name: "ssh without a key uses the client's identity; without known_hosts, a warning",
                expect: Ok(" exec[ssh 60s]; state={user}"),
                warnings: &[NO_KNOWN_HOSTS],
                ..BASE
            },
        ),
        (
            "executor = \"Local\"\nlocal_node = \"pve-2\"",
            Case {
                name: "executor in any case; local_node beats the host name",
                host_name: Some("pve1\n"),
                expect: Ok(" exec[local 60s node=pve-2]; state={user}"),
                ..BASE
            },
        ),
        (
            "executor = \"local\"\nlocal_node = \"pve1\"\nrun_as = \"proxmox-mcp-exec\"",
            Case {
                name: "local, commands run as another account",
                expect: Ok(" exec[local 60s node=pve1 as=proxmox-mcp-exec]; state={user}"),
                ..BASE
            },
        ),
        (
            "executor = \"local\"",
            Case {
                name: "local: the host name, up to its first dot",
                host_name: Some(" pve1.example.com\n"),
                expect: Ok(" exec[local 60s node=pve1]; state={user}"),
                ..BASE
            },
        ),
        (
            "executor = \"disabled\"\nssh_key = \"missing\"\nssh_known_hosts = \"missing\"",
            Case {
                name: "the ssh files are only checked for the ssh executor",
                expect: Ok(
                    " exec[disabled 60s root:22 10s key={dir}/missing kh={dir}/missing]; state={user}",
                ),
                ..BASE
            },
        ),
        (
            "executor = \"local\"\nlocal_node = \"pve1\"\nssh_key = \"{dir}/k\"",
            Case {
                name: "not for the local executor either",
                files: &[("k", "k", 0o644)],
                expect: Ok(" exec[local 60s node=pve1 root:22 10s key={dir}/k]; state={user}"),
                ..BASE
            },
        ),
    ];
    for (exec, case) in rows {
        check_home(exec, case);
    }
}

#[test]
fn file_errors() {
    #[rustfmt::skip]
    let table = [
        ("executor = \"sh\"", "cluster `home`: exec.executor: \"sh\" is invalid: expected disabled, local or ssh"),
        ("executor = 1", "{dir}/config.toml:8: invalid type: integer `1`, expected a string"),
        ("local_node = \"pve1.lan\"", "cluster `home`: exec.local_node: \"pve1.lan\" is invalid: expected a node name: letters, digits and `-`"),
        ("run_as = \"root\"", "cluster `home`: exec.run_as: \"root\" is invalid: expected a Unix account other than root"),
        ("run_as = \"-u root\"", "exec.run_as: \"-u root\" is invalid: expected a Unix account"),
        ("run_as = \"Exec\"", "exec.run_as: \"Exec\" is invalid"),
        ("run_as = \"\"", "exec.run_as: \"\" is invalid"),
        ("timeout_secs = 0", "cluster `home`: exec.timeout_secs: 0 is invalid: expected 1 to 600 (seconds)"),
        ("timeout_secs = 601", "exec.timeout_secs: 601 is invalid: expected 1 to 600 (seconds)"),
        ("ssh_user = \"-oProxyCommand=x\"", "exec.ssh_user: \"-oProxyCommand=x\" is invalid: expected a user name"),
        ("ssh_user = \"\"", "exec.ssh_user: \"\" is invalid: expected a user name"),
        ("ssh_port = 0", "exec.ssh_port: 0 is invalid: expected a port from 1 to 65535"),
        ("ssh_port = 65536", "exec.ssh_port: 65536 is invalid: expected a port from 1 to 65535"),
        ("ssh_connect_timeout_secs = 0", "exec.ssh_connect_timeout_secs: 0 is invalid: expected 1 to 120 (seconds)"),
        ("ssh_connect_timeout_secs = 121", "exec.ssh_connect_timeout_secs: 121 is invalid"),
        ("[cluster.exec.hosts]\n\"pve 1\" = \"10.0.0.1\"", "exec.hosts: \"pve 1\" is invalid: expected a node name"),
        ("[cluster.exec.hosts]\npve1 = \"-oProxyCommand=x\"", "exec.hosts: \"-oProxyCommand=x\" is invalid: expected a host name or IP address"),
        ("[cluster.exec.hosts]\npve1 = \"root@pve1\"", "exec.hosts: \"root@pve1\" is invalid"),
        ("ssh_identity = \"k\"", "{dir}/config.toml:8: unknown key `ssh_identity` (expected one of `executor`, `local_node`"),
    ];
    for (exec, want) in table {
        check_home(
            exec,
            Case {
                name: exec,
                expect: Err(want),
                ..BASE
            },
        );
    }
}

/// The checks that read the host: the local node's name, the ssh key's mode, known_hosts.
#[test]
fn host_checks() {
    let no_node = "cluster `home`: the local executor needs the name of the node it runs on, but ";
    let ask = ": set local_node in [cluster.exec] (or PROXMOX_MCP_LOCAL_NODE)";
    let unreadable = format!(
        "{no_node}the host name could not be read from /proc/sys/kernel/hostname or /etc/hostname{ask}"
    );
    let empty = format!("{no_node}the host name is empty{ask}");
    let invalid = format!("{no_node}the host name \"my_host.lan\" is not a valid node name{ask}");
    let local = "executor = \"local\"";
    let ssh = "executor = \"ssh\"\nssh_key = \"id\"\nssh_known_hosts = \"kh\"";
    let kh = ("kh", "", 0o644);
    let rows = [
        (local, None, &[][..], unreadable.as_str()),
        (local, Some(" \n"), &[], empty.as_str()),
        (local, Some("my_host.lan"), &[], invalid.as_str()),
        (
            ssh,
            None,
            &[("id", "k", 0o644), kh],
            "ssh key file {dir}/id has mode 0644, so other users may read it: run `chmod 600 {dir}/id`",
        ),
        (
            ssh,
            None,
            &[("id", "k", 0o640), kh],
            "ssh key file {dir}/id has mode 0640",
        ),
        (
            ssh,
            None,
            &[("id", "k", 0o604), kh],
            "ssh key file {dir}/id has mode 0604",
        ),
        (
            ssh,
            None,
            &[kh],
            "cannot read the ssh key file {dir}/id: No such file",
        ),
        (
            ssh,
            None,
            &[("id", "k", 0o600)],
            "cluster `home`: the ssh known_hosts file {dir}/kh does not exist: point ssh_known_hosts (or PROXMOX_MCP_SSH_KNOWN_HOSTS) at the nodes' host keys, e.g. a copy of /etc/pve/priv/known_hosts",
        ),
    ];
    for (exec, host_name, files, want) in rows {
        check_home(
            exec,
            Case {
                name: want,
                host_name,
                files,
                expect: Err(want),
                ..BASE
            },
        );
    }
}

#[test]
fn environment() {
    let every_key = "executor = \"disabled\"\nlocal_node = \"a\"\nrun_as = \"x\"\ntimeout_secs = 30\nssh_user = \"u\"\n\
                     ssh_port = 2\nssh_key = \"k1\"\nssh_known_hosts = \"kh1\"\n\
                     [cluster.exec.hosts]\npve9 = \"10.9.9.9\"";
    check_home(
        every_key,
        Case {
            name: "env beats the file for every key; hosts replace the table; files of the env only",
            env: &[
                (PROXMOX_MCP_EXECUTOR, "ssh"),
                (PROXMOX_MCP_LOCAL_NODE, "pve1"),
                (PROXMOX_MCP_EXEC_RUN_AS, "proxmox-mcp-exec"),
                (PROXMOX_MCP_EXEC_TIMEOUT_SECS, "90"),
                (PROXMOX_MCP_SSH_USER, "admin"),
                (PROXMOX_MCP_SSH_PORT, "2022"),
                (PROXMOX_MCP_SSH_KEY, "{dir}/k2"),
                (PROXMOX_MCP_SSH_KNOWN_HOSTS, "{dir}/kh2"),
                (PROXMOX_MCP_SSH_HOSTS, "pve1=127.0.0.1, pve2 = 10.0.0.2"),
            ],
            files: &[("k2", "k", 0o600), ("kh2", "", 0o644)],
            expect: Ok(
                " exec[ssh 90s node=pve1 as=proxmox-mcp-exec admin:2022 10s key={dir}/k2 kh={dir}/kh2 hosts=pve1=127.0.0.1,pve2=10.0.0.2]; state={user}",
            ),
            ..BASE
        },
    );
    check_home(
        "executor = \"ssh\"",
        Case {
            name: "a blank variable is unset",
            env: &[(PROXMOX_MCP_EXECUTOR, " ")],
            expect: Ok(" exec[ssh 60s]; state={user}"),
            warnings: &[NO_KNOWN_HOSTS],
            ..BASE
        },
    );
    let two = r#"
        [[cluster]]
        name = "a"
        url = "https://a:8006"
        token_id = "mcp@pve!mcp"
        [[cluster]]
        name = "b"
        url = "https://b:8006"
        token_id = "mcp@pve!mcp"
        token_secret_keyring = true
        [cluster.exec]
        executor = "local"
        local_node = "b1"
        "#;
    let cases = [
        Case {
            name: "env only, the host name injected",
            env: &[URL, ID, SECRET, (PROXMOX_MCP_EXECUTOR, "local")],
            host_name: Some("nodea"),
            expect: Ok(
                "default https://pve1:8006 token mcp@pve!mcp=eeeeeeee 5/30 exec[local 60s node=nodea]; state={user}",
            ),
            ..BASE
        },
        Case {
            name: "the executor variables are cluster variables: they need a cluster",
            env: &[(PROXMOX_MCP_EXECUTOR, "ssh")],
            expect: Err(
                "PROXMOX_MCP_EXECUTOR is set but no cluster is configured: set PROXMOX_URL",
            ),
            ..BASE
        },
        Case {
            name: "they apply to the first cluster only",
            toml: Some(two),
            env: &[
                SECRET,
                (PROXMOX_MCP_EXECUTOR, "local"),
                (PROXMOX_MCP_LOCAL_NODE, "a1"),
            ],
            keyring: &[("b", KEYRING_SECRET)],
            expect: Ok(
                "a https://a:8006 token mcp@pve!mcp=eeeeeeee 5/30 exec[local 60s node=a1]; \
                 b https://b:8006 token mcp@pve!mcp=cccccccc 5/30 exec[local 60s node=b1]; state={user}",
            ),
            ..BASE
        },
        Case {
            name: "an env key file is checked like the file's",
            env: &[
                URL,
                ID,
                SECRET,
                (PROXMOX_MCP_EXECUTOR, "ssh"),
                (PROXMOX_MCP_SSH_KEY, "{dir}/k"),
            ],
            files: &[("k", "k", 0o664)],
            expect: Err("ssh key file {dir}/k has mode 0664"),
            ..BASE
        },
        Case {
            name: "an env known_hosts must exist",
            env: &[
                URL,
                ID,
                SECRET,
                (PROXMOX_MCP_EXECUTOR, "ssh"),
                (PROXMOX_MCP_SSH_KNOWN_HOSTS, "{dir}/kh"),
            ],
            expect: Err("cluster `default`: the ssh known_hosts file {dir}/kh does not exist"),
            ..BASE
        },
    ];
    cases.into_iter().for_each(check);
}

#[test]
fn environment_errors() {
    let hosts = "is invalid: expected node=address pairs separated by commas (each node once), e.g. pve1=10.0.0.11,pve2=10.0.0.12";
    #[rustfmt::skip]
    let table = [
        (PROXMOX_MCP_EXECUTOR, "sh", "PROXMOX_MCP_EXECUTOR=`sh` is invalid: expected disabled, local or ssh"),
        (PROXMOX_MCP_LOCAL_NODE, "pve1.lan", "PROXMOX_MCP_LOCAL_NODE=`pve1.lan` is invalid: expected a node name"),
        (PROXMOX_MCP_EXEC_TIMEOUT_SECS, "0", "PROXMOX_MCP_EXEC_TIMEOUT_SECS=`0` is invalid: expected 1 to 600 (seconds)"),
        (PROXMOX_MCP_EXEC_TIMEOUT_SECS, "601", "PROXMOX_MCP_EXEC_TIMEOUT_SECS=`601` is invalid"),
        (PROXMOX_MCP_EXEC_TIMEOUT_SECS, "1m", "PROXMOX_MCP_EXEC_TIMEOUT_SECS=`1m` is invalid: expected 1 to 600 (seconds)"),
        (PROXMOX_MCP_SSH_USER, "-oProxyCommand=x", "PROXMOX_MCP_SSH_USER=`-oProxyCommand=x` is invalid: expected a user name"),
        (PROXMOX_MCP_SSH_PORT, "0", "PROXMOX_MCP_SSH_PORT=`0` is invalid: expected a port from 1 to 65535"),
        (PROXMOX_MCP_SSH_PORT, "65536", "PROXMOX_MCP_SSH_PORT=`65536` is invalid"),
        (PROXMOX_MCP_SSH_PORT, "ssh", "PROXMOX_MCP_SSH_PORT=`ssh` is invalid"),
        (PROXMOX_MCP_SSH_HOSTS, "pve1", hosts),
        (PROXMOX_MCP_SSH_HOSTS, "pve1=", hosts),
        (PROXMOX_MCP_SSH_HOSTS, "pve1=10.0.0.1,", hosts),
        (PROXMOX_MCP_SSH_HOSTS, "pve1=a,pve1=b", hosts),
        (PROXMOX_MCP_SSH_HOSTS, "pve 1=a", hosts),
        (PROXMOX_MCP_SSH_HOSTS, "pve1=-oProxyCommand=x", "PROXMOX_MCP_SSH_HOSTS=`pve1=-oProxyCommand=x` is invalid"),
    ];
    for (var, value, want) in table {
        check(Case {
            name: value,
            env: &[URL, ID, SECRET, (var, value)],
            expect: Err(want),
            ..BASE
        });
    }
}
