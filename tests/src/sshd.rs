//! A throwaway OpenSSH server on 127.0.0.1 for the ssh executor's tests: fresh host and client
//! keys in a temporary directory, logging into the current user.
//!
//! ```text
//! let Some(sshd) = Sshd::start() else { return }; // sshd not installed (and not required)
//! // ssh -p sshd.port -i sshd.key -o UserKnownHostsFile=sshd.known_hosts sshd.user@127.0.0.1
//! ```

use std::fs;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

const SSHD: &str = "/usr/sbin/sshd";
/// Set to `1` (as `scripts/test` does when sshd is installed) to fail instead of skipping.
const REQUIRE_ENV: &str = "PROXMOX_MCP_REQUIRE_SSHD";
const READY_TIMEOUT: Duration = Duration::from_secs(5);

/// A running sshd; killed on drop.
pub struct Sshd {
    pub port: u16,
    /// The client's private key (mode 0600), the only one in `authorized_keys`.
    pub key: PathBuf,
    /// `[127.0.0.1]:PORT <host key>`.
    pub known_hosts: PathBuf,
    /// The user we log in as: the one running the tests.
    pub user: String,
    dir: TempDir,
    child: Child,
}

impl Sshd {
    /// Starts sshd, or returns `None` (with a notice) when it is not installed, unless
    /// `PROXMOX_MCP_REQUIRE_SSHD=1`. Panics, with sshd's log, if it does not come up.
    pub fn start() -> Option<Sshd> {
        if !Path::new(SSHD).exists() {
            if std::env::var(REQUIRE_ENV).is_ok_and(|v| v == "1") {
                panic!(
                    "{SSHD} not found but {REQUIRE_ENV}=1: install it with \
                     `apt-get install openssh-server` (scripts/test does)"
                );
            }
            eprintln!(
                "NOTICE: {SSHD} not found, skipping this ssh test (apt-get install openssh-server)"
            );
            return None;
        }
        let dir = tempfile::Builder::new()
            .prefix("proxmox-mcp-sshd.")
            .tempdir()
            .expect("tempdir");
        let d = dir.path();
        keygen(&d.join("host_ed25519"));
        keygen(&d.join("client_ed25519"));
        fs::copy(d.join("client_ed25519.pub"), d.join("authorized_keys")).expect("authorized_keys");
        let user = current_user();
        if is_root() {
            // The privilege separation directory sshd insists on when started as root.
            fs::create_dir_all("/run/sshd").expect("creating /run/sshd");
        }

        // The port is found free and then released, so another process may take it before sshd
        // binds it: that alone is worth another try.
        let log = d.join("sshd.log");
        let mut last_log = String::new();
        for _ in 0..3 {
            let port = free_port();
            fs::write(d.join("sshd_config"), config(d, port, &user)).expect("sshd_config");
            let mut child = Command::new(SSHD)
                .arg("-D")
                .arg("-e")
                .arg("-f")
                .arg(d.join("sshd_config"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(fs::File::create(&log).expect("sshd.log"))
                .spawn()
                .unwrap_or_else(|e| panic!("starting {SSHD}: {e}"));
            if wait_ready(&mut child, port) {
                let host_key = fs::read_to_string(d.join("host_ed25519.pub")).expect("host key");
                let known_hosts = d.join("known_hosts");
                fs::write(&known_hosts, format!("[127.0.0.1]:{port} {host_key}"))
                    .expect("known_hosts");
                return Some(Sshd {
                    port,
                    key: d.join("client_ed25519"),
                    known_hosts,
                    user,
                    dir,
                    child,
                });
            }
            let _ = child.kill();
            let _ = child.wait();
            last_log = fs::read_to_string(&log).unwrap_or_default();
            if !last_log.contains("Address already in use") {
                break;
            }
        }
        panic!("{SSHD} did not accept connections within {READY_TIMEOUT:?}; its log:\n{last_log}")
    }

    /// A known_hosts file that has an entry for this server, but with another key.
    pub fn wrong_known_hosts(&self) -> PathBuf {
        let other = self.dir.path().join("other_host_ed25519");
        if !other.exists() {
            keygen(&other);
        }
        let key = fs::read_to_string(other.with_extension("pub")).expect("other host key");
        let path = self.dir.path().join("wrong_known_hosts");
        fs::write(&path, format!("[127.0.0.1]:{} {key}", self.port)).expect("wrong_known_hosts");
        path
    }

    /// A private key that is not in `authorized_keys`.
    pub fn unauthorized_key(&self) -> PathBuf {
        let path = self.dir.path().join("stranger_ed25519");
        if !path.exists() {
            keygen(&path);
        }
        path
    }

    /// What sshd has logged so far (for assertion messages).
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `port` until sshd accepts connections; false if it exited or took too long.
fn wait_ready(child: &mut Child, port: u16) -> bool {
    let deadline = Instant::now() + READY_TIMEOUT;
    let addr = (Ipv4Addr::LOCALHOST, port).into();
    while Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return false;
        }
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// A port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .expect("binding 127.0.0.1:0")
        .port()
}

/// A passphrase-less ed25519 key pair at `path` and `path.pub`, mode 0600.
fn keygen(path: &Path) {
    let status = Command::new("ssh-keygen")
        .args([
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-C",
            "proxmox-mcp-test",
            "-f",
        ])
        .arg(path)
        .stdin(Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("running ssh-keygen (openssh-client): {e}"));
    assert!(
        status.success(),
        "ssh-keygen -f {} failed: {status}",
        path.display()
    );
}

fn current_user() -> String {
    let out = Command::new("whoami").output().expect("running whoami");
    assert!(out.status.success(), "whoami failed");
    String::from_utf8(out.stdout)
        .expect("user name")
        .trim()
        .to_string()
}

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// sshd_config for one user with one key, nothing read from /etc/ssh. Works as root (which
/// needs `/run/sshd`) and as an ordinary user (no privilege separation, no PAM).
fn config(dir: &Path, port: u16, user: &str) -> String {
    let d = dir.display();
    format!(
        "ListenAddress 127.0.0.1\n\
         Port {port}\n\
         HostKey {d}/host_ed25519\n\
         PidFile {d}/sshd.pid\n\
         AuthorizedKeysFile {d}/authorized_keys\n\
         AllowUsers {user}\n\
         PubkeyAuthentication yes\n\
         PasswordAuthentication no\n\
         KbdInteractiveAuthentication no\n\
         UsePAM no\n\
         StrictModes no\n\
         PermitRootLogin prohibit-password\n\
         PrintMotd no\n\
         LogLevel VERBOSE\n"
    )
}
