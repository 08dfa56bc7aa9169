#!/bin/sh
# Container entrypoint: make sure the bridge's secret exists, then become the bridge.
#   (no arguments) | serve [OPTIONS]  → mcp-http-bridge serve …
#   token …, healthcheck, --help       → mcp-http-bridge …
#   anything else                      → run as given (e.g. `proxmox-mcp config check`)
set -eu

state="${PROXMOX_MCP_STATE_DIR:-/var/lib/proxmox-mcp}"

if [ ! -w "$state" ]; then
    echo "proxmox-mcp: $state is not writable by uid $(id -u): give the data volume to it" \
        "(e.g. chown -R $(id -u):$(id -g) ./data)" >&2
    exit 1
fi

case "${1:-serve}" in
serve | -*)
    # Creates $state/bridge/secret (0600) on first start; prints its path, never the value.
    mcp-http-bridge token init >&2
    exec mcp-http-bridge "$@"
    ;;
token | healthcheck | help)
    exec mcp-http-bridge "$@"
    ;;
*)
    exec "$@"
    ;;
esac
