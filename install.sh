#!/usr/bin/env bash
# Installs proxmox-mcp on a Proxmox VE node (or any Linux host):
#
#   - checks the prerequisites: git, and `docker compose` (--mode docker) or cargo and
#     systemd (--mode systemd);
#   - clones or updates the sources in /opt/proxmox-mcp;
#   - on a PVE node (pveum present): the user proxmox-mcp@pve, a least-privilege role
#     ProxmoxMCP (every privilege explained below; --read-only: PVEAuditor), the privilege-
#     separated API token proxmox-mcp@pve!mcp, its secret in a 0600 file (never printed), and a
#     copy of the cluster CA;
#   - writes the configuration (0600), and starts the server: `docker compose up -d`, or the
#     binaries in /usr/local/bin with the hardened systemd unit (the bridge's secret is created
#     by `mcp-http-bridge token init`).
#
# Re-running it changes nothing that is already right; an existing token is kept as it is.
# --dry-run prints every step (each line starts with "[dry-run]") and changes nothing;
# --uninstall removes what it installed.
#
#   ./install.sh [--mode docker|systemd] [--dir DIR] [--repo URL] [--ref REF] [--url URL]
#                [--read-only] [--no-pve] [--dry-run] [--uninstall] [--yes]
set -euo pipefail

PROG=install.sh
DIR=/opt/proxmox-mcp
REPO=""
REF=""
MODE=""
URL=""
READ_ONLY=0
NO_PVE=0
DRY_RUN=0
UNINSTALL=0
YES=0

PVE_USER=proxmox-mcp@pve
PVE_TOKEN=mcp
PVE_ROLE=ProxmoxMCP
SERVICE_USER=proxmox-mcp
EXEC_USER=proxmox-mcp-exec
# The container's user (Dockerfile ARG UID/GID): owns what the container reads and writes.
CONTAINER_UID=10001
SYSTEM_CONF=/etc/proxmox-mcp
SYSTEM_STATE=/var/lib/proxmox-mcp
SYSTEM_LOGS=/var/log/proxmox-mcp
UNIT=mcp-http-bridge.service
UNIT_PATH=/etc/systemd/system/$UNIT
BIN_DIR=/usr/local/bin

# The ProxmoxMCP role: what the tools need, nothing that reaches beyond the policy engine.
# Each line: privilege, then why. Privileges this PVE version does not know are left out (and
# said so); the built-in Administrator role's list is the reference.
PRIVILEGES=(
    "Sys.Audit         node and cluster status, tasks, HA, network and firewall reads"
    "VM.Audit          guest lists, status and configuration"
    "Datastore.Audit   storage lists, usage and content"
    "Pool.Audit        pools and their members"
    "SDN.Audit         SDN zones and vnets"
    "VM.PowerMgmt      start, shutdown, stop, reboot, suspend, resume (vm_action, container_action)"
    "VM.Snapshot       take and delete snapshots"
    "VM.Snapshot.Rollback  roll a guest back to a snapshot"
    "VM.Backup         back up and restore guests"
    "VM.Clone          clone guests and templates"
    "VM.Migrate        migrate guests between nodes"
    "VM.Allocate       create, restore and destroy guests, convert to templates"
    "VM.Config.Disk    add, resize and move disks"
    "VM.Config.CDROM   change the CD-ROM"
    "VM.Config.CPU     CPU settings"
    "VM.Config.Memory  memory settings"
    "VM.Config.Network guest NICs"
    "VM.Config.HWType  emulated hardware type"
    "VM.Config.Options other guest options (name, tags, boot order, agent)"
    "VM.Config.Cloudinit  cloud-init settings"
    "VM.GuestAgent.Audit  guest agent reads (PVE 9; OS and IP addresses in vm_status)"
    "VM.GuestAgent.Unrestricted  commands inside VMs through the agent (PVE 9; execute_vm_command)"
    "VM.Monitor        guest agent access on PVE 8 (vm_status IPs, execute_vm_command)"
    "Datastore.AllocateSpace  disks and backups on a storage"
    "Datastore.AllocateTemplate  ISO and template downloads (storage_operations download_url)"
    "SDN.Use           attach guest NICs to SDN vnets and bridges"
    "Sys.Modify        node network, firewall, HA resources and backup jobs"
)
# Not granted, on purpose: Sys.PowerMgmt (node reboot/shutdown), Sys.Console (node shells),
# VM.Console, User.Modify, Permissions.Modify, Realm.*, Datastore.Allocate (create or remove
# storages), Sys.Incoming. Grant them to the role yourself if you want those tools to work.

usage() {
    sed -n '2,21s/^# \{0,1\}//p' "$0"
}

say() { printf '%s: %s\n' "$PROG" "$*"; }
die() {
    printf '%s: error: %s\n' "$PROG" "$*" >&2
    exit 1
}

# A command that changes the system: printed, and run unless --dry-run.
run() {
    if ((DRY_RUN)); then
        printf '[dry-run] %s\n' "$*"
    else
        printf '==> %s\n' "$*"
        "$@"
    fi
}

# Writes stdin to PATH with MODE and OWNER (user:group), only when the content differs.
# The content is never printed (it may be a secret).
write_file() {
    local mode=$1 owner=$2 path=$3 content
    content=$(cat)
    if [[ -f $path ]] && [[ "$(cat "$path")" == "$content" ]]; then
        say "unchanged: $path"
        return
    fi
    if ((DRY_RUN)); then
        printf '[dry-run] write %s (mode %s, owner %s)\n' "$path" "$mode" "$owner"
        return
    fi
    printf '==> write %s (mode %s, owner %s)\n' "$path" "$mode" "$owner"
    (
        umask 077
        printf '%s\n' "$content" >"$path.tmp"
    )
    chmod "$mode" "$path.tmp"
    chown "$owner" "$path.tmp"
    mv -f "$path.tmp" "$path"
}

# Writes PATH only when it does not exist yet (an administrator's edits are kept).
write_new() {
    if [[ -e $3 ]]; then
        say "kept: $3 exists"
        cat >/dev/null
        return
    fi
    write_file "$@"
}

confirm() {
    ((YES || DRY_RUN)) && return 0
    local answer
    read -r -p "$1 [y/N] " answer || true
    [[ $answer == [yY]* ]]
}

parse_args() {
    while (($#)); do
        case $1 in
        --mode) MODE=${2:?--mode needs docker or systemd}; shift ;;
        --dir) DIR=${2:?--dir needs a directory}; shift ;;
        --repo) REPO=${2:?--repo needs a URL}; shift ;;
        --ref) REF=${2:?--ref needs a branch, tag or commit}; shift ;;
        --url) URL=${2:?--url needs https://HOST:8006}; shift ;;
        --read-only) READ_ONLY=1 ;;
        --no-pve) NO_PVE=1 ;;
        --dry-run) DRY_RUN=1 ;;
        --uninstall) UNINSTALL=1 ;;
        --yes | -y) YES=1 ;;
        -h | --help) usage; exit 0 ;;
        *) die "unknown option $1 (see --help)" ;;
        esac
        shift
    done
    case $MODE in
    "" | docker | systemd) ;;
    *) die "--mode is docker or systemd, not $MODE" ;;
    esac
}

is_pve() { ((!NO_PVE)) && command -v pveum >/dev/null; }

# --- prerequisites ------------------------------------------------------------------------
check_prerequisites() {
    command -v git >/dev/null || die "git is missing (apt-get install git)"
    if [[ -z $MODE ]]; then
        if docker compose version >/dev/null 2>&1; then
            MODE=docker
        elif command -v cargo >/dev/null; then
            MODE=systemd
        else
            die "neither 'docker compose' nor cargo found: install Docker with the compose plugin, or Rust (rustup)"
        fi
    fi
    case $MODE in
    docker)
        docker compose version >/dev/null 2>&1 || die "'docker compose' is missing (the Docker compose plugin)"
        ;;
    systemd)
        command -v cargo >/dev/null || die "cargo is missing: install Rust (rustup)"
        command -v systemctl >/dev/null || die "systemctl is missing: --mode systemd needs systemd"
        ;;
    esac
    if ((!DRY_RUN)) && [[ $EUID -ne 0 ]]; then
        die "run as root (or try --dry-run)"
    fi
    command -v python3 >/dev/null || die "python3 is missing (it reads pveum's JSON)"
    say "mode $MODE, sources in $DIR$(is_pve && echo ", Proxmox VE node")"
}

# --- sources ----------------------------------------------------------------------------------
sources() {
    if [[ -z $REPO ]]; then
        # Run from a checkout: install from it.
        local here
        here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
        if [[ -d $here/.git || -f $here/.git ]] && [[ $here != "$DIR" ]]; then
            REPO=$here
        fi
    fi
    if [[ -e $DIR/.git ]]; then
        if [[ -n $REF ]]; then
            run git -C "$DIR" fetch --quiet origin "$REF"
            run git -C "$DIR" checkout --quiet --detach FETCH_HEAD
        else
            run git -C "$DIR" pull --quiet --ff-only
        fi
    else
        [[ -n $REPO ]] || die "no sources: pass --repo URL (or run install.sh from a checkout)"
        run git clone --quiet ${REF:+--branch "$REF"} "$REPO" "$DIR"
    fi
}

# --- Proxmox VE: user, role, token --------------------------------------------------------------
# pveum's JSON on stdin; prints what the python expression EXPR makes of it (`d` is the data).
json() {
    python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"
}

role_privileges() {
    local privs="" known name
    known=$(pveum role list --output-format json |
        json '",".join(r.get("privs","") for r in d if r.get("roleid")=="Administrator")')
    for line in "${PRIVILEGES[@]}"; do
        name=${line%% *}
        if [[ ",$known," == *",$name,"* ]]; then
            privs+=${privs:+,}$name
        else
            say "privilege $name is unknown to this PVE version: left out" >&2
        fi
    done
    printf '%s\n' "$privs"
}

pve_setup() {
    local role=$PVE_ROLE
    if ((READ_ONLY)); then
        role=PVEAuditor
        say "read-only: the token gets the built-in role PVEAuditor"
    else
        local want have
        want=$(role_privileges)
        have=$(pveum role list --output-format json |
            json "next((','.join(sorted(r.get('privs','').split(','))) for r in d if r.get('roleid')=='$PVE_ROLE'), '-')")
        if [[ $have == - ]]; then
            run pveum role add "$PVE_ROLE" -privs "$want"
        elif [[ $have != "$(tr ',' '\n' <<<"$want" | sort | paste -sd,)" ]]; then
            run pveum role modify "$PVE_ROLE" -privs "$want"
        else
            say "role $PVE_ROLE: up to date"
        fi
    fi

    if pveum user list --output-format json | json "any(u.get('userid')=='$PVE_USER' for u in d)" | grep -qx True; then
        say "user $PVE_USER: exists"
    else
        run pveum user add "$PVE_USER" --comment "proxmox-mcp service"
    fi
    # With privsep the token gets the intersection of its own ACL and its user's: both.
    local acl
    acl=$(pveum acl list --output-format json 2>/dev/null || echo '[]')
    for who in "users:$PVE_USER" "tokens:$PVE_USER!$PVE_TOKEN"; do
        local kind=${who%%:*} id=${who#*:}
        if json "any(a.get('path')=='/' and a.get('ugid')=='$id' and a.get('roleid')=='$role' for a in d)" <<<"$acl" | grep -qx True; then
            say "ACL / $id $role: exists"
        else
            run pveum acl modify / "--$kind" "$id" --roles "$role"
        fi
    done

    local secret_file=$CONF_DIR/token.secret tokens
    # Fails when the user does not exist yet: no tokens.
    tokens=$(pveum user token list "$PVE_USER" --output-format json 2>/dev/null || echo '[]')
    if json "any(t.get('tokenid')=='$PVE_TOKEN' for t in d)" <<<"$tokens" | grep -qx True; then
        say "token $PVE_USER!$PVE_TOKEN: exists, kept"
        [[ -s $secret_file ]] || ((DRY_RUN)) ||
            say "warning: $secret_file is missing and PVE shows a secret only once: remove the token (pveum user token remove $PVE_USER $PVE_TOKEN) and run install.sh again" >&2
    elif ((DRY_RUN)); then
        run pveum user token add "$PVE_USER" "$PVE_TOKEN" --privsep 1 --output-format json
        printf '[dry-run] write %s (mode 0600, owner %s) with the new token secret\n' "$secret_file" "$CONF_OWNER"
    else
        printf '==> pveum user token add %s %s --privsep 1 (secret to %s)\n' "$PVE_USER" "$PVE_TOKEN" "$secret_file"
        pveum user token add "$PVE_USER" "$PVE_TOKEN" --privsep 1 --output-format json |
            json 'd["value"]' | write_file 0600 "$CONF_OWNER" "$secret_file"
    fi
    # The cluster CA, so the certificate is verified (a copy: /etc/pve is not readable by us).
    if [[ -r /etc/pve/pve-root-ca.pem ]]; then
        write_file 0644 "$CONF_OWNER" "$CONF_DIR/pve-root-ca.pem" </etc/pve/pve-root-ca.pem
    fi
}

# --- configuration ---------------------------------------------------------------------------
# CONF_DIR: what the engine reads as /etc/proxmox-mcp; CONF_OWNER: who owns the secrets there;
# config.toml: 0600 for the container's user, or root:proxmox-mcp 0640 as the .deb has it.
set_paths() {
    if [[ $MODE == docker ]]; then
        CONF_DIR=$DIR/config
        CONF_OWNER=$CONTAINER_UID:$CONTAINER_UID
        CONFIG_OWNER=$CONF_OWNER
        CONFIG_MODE=0600
    else
        CONF_DIR=$SYSTEM_CONF
        CONF_OWNER=$SERVICE_USER:$SERVICE_USER
        CONFIG_OWNER=root:$SERVICE_USER
        CONFIG_MODE=0640
    fi
}

default_url() {
    if [[ -n $URL ]]; then
        printf '%s\n' "$URL"
    elif [[ $MODE == systemd ]]; then
        # The node's certificate names localhost and 127.0.0.1.
        printf 'https://127.0.0.1:8006\n'
    else
        # From a container, the host is reached by its address (also in the certificate).
        printf 'https://%s:8006\n' "$(hostname -I 2>/dev/null | awk '{print $1}')"
    fi
}

write_config() {
    local url ca=""
    url=$(default_url)
    if [[ -r /etc/pve/pve-root-ca.pem ]] || [[ -f $CONF_DIR/pve-root-ca.pem ]]; then
        ca="ca_file = \"/etc/proxmox-mcp/pve-root-ca.pem\""
    fi
    write_new "$CONFIG_MODE" "$CONFIG_OWNER" "$CONF_DIR/config.toml" <<EOF
# Written by install.sh; edit freely (re-running install.sh keeps it). See README "Configuration".
[[cluster]]
name = "$(hostname -s 2>/dev/null || echo pve)"
url = "$url"
token_id = "$PVE_USER!$PVE_TOKEN"
token_secret_file = "/etc/proxmox-mcp/token.secret"
$ca
EOF
    if [[ $MODE == docker ]]; then
        write_new 0600 root:root "$DIR/.env" <<EOF
# Written by install.sh from .env.example; edit freely (re-running install.sh keeps it).
PROXMOX_MCP_PUBLISH=3001
PROXMOX_MCP_BRIDGE_ALLOWED_HOSTS=$(hostname -f 2>/dev/null || hostname)
PROXMOX_MCP_LOG=info
EOF
    fi
}

# --- docker ---------------------------------------------------------------------------------------
docker_install() {
    run install -d -m 0750 -o "${CONF_OWNER%%:*}" -g "${CONF_OWNER##*:}" "$CONF_DIR" "$DIR/logs"
    if is_pve; then pve_setup; fi
    write_config
    say "the bridge's secret is created by the container at its first start (mcp-http-bridge token init)"
    run docker compose --project-directory "$DIR" -f "$DIR/docker-compose.yml" up -d --build
}

# --- systemd ---------------------------------------------------------------------------------------
ensure_account() {
    local name=$1 home=$2 comment=$3
    if getent passwd "$name" >/dev/null; then
        say "user $name: exists"
        return
    fi
    getent group "$name" >/dev/null || run groupadd --system "$name"
    run useradd --system --gid "$name" --home-dir "$home" --no-create-home \
        --shell /usr/sbin/nologin --comment "$comment" "$name"
}

systemd_install() {
    ensure_account "$SERVICE_USER" "$SYSTEM_STATE" "proxmox-mcp service"
    ensure_account "$EXEC_USER" /nonexistent "proxmox-mcp command executor"
    run install -d -m 0750 -o "$SERVICE_USER" -g "$SERVICE_USER" "$SYSTEM_STATE" "$SYSTEM_LOGS"
    run install -d -m 0750 -o root -g "$SERVICE_USER" "$SYSTEM_CONF"
    if is_pve; then pve_setup; fi
    write_config
    run cargo build --release --locked --manifest-path "$DIR/Cargo.toml" -p proxmox-mcp -p mcp-http-bridge
    local bin
    for bin in proxmox-mcp mcp-http-bridge; do
        if cmp -s "$DIR/target/release/$bin" "$BIN_DIR/$bin"; then
            say "unchanged: $BIN_DIR/$bin"
        else
            run install -m 0755 "$DIR/target/release/$bin" "$BIN_DIR/$bin"
        fi
    done
    local unit_src=$DIR/packaging/deb/$UNIT
    if [[ -f $unit_src ]]; then
        sed "s|/usr/bin/mcp-http-bridge|$BIN_DIR/mcp-http-bridge|" "$unit_src" |
            write_file 0644 root:root "$UNIT_PATH"
    elif ((DRY_RUN)); then
        printf '[dry-run] write %s (mode 0644, owner root:root) from %s\n' "$UNIT_PATH" "$unit_src"
    else
        die "$unit_src is missing"
    fi
    if ((DRY_RUN)); then
        run runuser -u "$SERVICE_USER" -- env PROXMOX_MCP_STATE_DIR="$SYSTEM_STATE" "$BIN_DIR/mcp-http-bridge" token init
    elif ! runuser -u "$SERVICE_USER" -- env PROXMOX_MCP_STATE_DIR="$SYSTEM_STATE" "$BIN_DIR/mcp-http-bridge" token init; then
        say "warning: mcp-http-bridge token init failed; run it again once the bridge supports it" >&2
    fi
    run systemctl daemon-reload
    run systemctl enable --now "$UNIT"
}

# --- uninstall ------------------------------------------------------------------------------------
uninstall() {
    set_paths
    say "this removes: the $MODE install in $DIR$([[ $MODE == systemd ]] && echo ", $UNIT, $BIN_DIR/{proxmox-mcp,mcp-http-bridge}, $SYSTEM_CONF, $SYSTEM_STATE, $SYSTEM_LOGS and the users $SERVICE_USER, $EXEC_USER")$(is_pve && echo ", and on PVE the token $PVE_USER!$PVE_TOKEN, the user $PVE_USER and the role $PVE_ROLE")"
    confirm "Remove proxmox-mcp, its state and its audit log?" || die "cancelled"
    if [[ $MODE == docker ]]; then
        if [[ -f $DIR/docker-compose.yml ]]; then
            run docker compose --project-directory "$DIR" -f "$DIR/docker-compose.yml" down --volumes
        fi
    else
        if systemctl cat "$UNIT" >/dev/null 2>&1; then
            run systemctl disable --now "$UNIT"
        fi
        run rm -f "$UNIT_PATH" "$BIN_DIR/proxmox-mcp" "$BIN_DIR/mcp-http-bridge"
        run systemctl daemon-reload
        run rm -rf "$SYSTEM_CONF" "$SYSTEM_STATE" "$SYSTEM_LOGS"
        local account
        for account in "$EXEC_USER" "$SERVICE_USER"; do
            if getent passwd "$account" >/dev/null; then run userdel "$account"; fi
            if getent group "$account" >/dev/null; then run groupdel "$account"; fi
        done
    fi
    if is_pve; then
        if pveum user list --output-format json | json "any(u.get('userid')=='$PVE_USER' for u in d)" | grep -qx True; then
            run pveum user token remove "$PVE_USER" "$PVE_TOKEN"
            run pveum user delete "$PVE_USER"
        fi
        if pveum role list --output-format json | json "any(r.get('roleid')=='$PVE_ROLE' for r in d)" | grep -qx True; then
            run pveum role delete "$PVE_ROLE"
        fi
    fi
    [[ -e $DIR ]] && run rm -rf "$DIR"
    say "removed"
}

main() {
    parse_args "$@"
    ((DRY_RUN)) && say "dry run: nothing is changed; each step is printed with [dry-run]"
    if ((UNINSTALL)); then
        if [[ -z $MODE ]]; then
            if [[ -f $UNIT_PATH ]]; then MODE=systemd; else MODE=docker; fi
        fi
        uninstall
        return
    fi
    check_prerequisites
    set_paths
    sources
    if [[ $MODE == docker ]]; then docker_install; else systemd_install; fi
    say "done. Health: curl -fsS http://127.0.0.1:3001/healthz; client tokens: mcp-http-bridge token add NAME"
}

main "$@"
