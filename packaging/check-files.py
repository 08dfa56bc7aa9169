"""Checks the container files without a container engine: Dockerfile (a small parser),
docker-compose.yml (PyYAML), .env.example and .dockerignore. Run by packaging/check."""

import re
import shlex
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def dockerfile(path):
    """The instructions as (KEYWORD, text), continuation lines joined, comments dropped."""
    out, pending = [], ""
    for line in path.read_text().splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if pending and line.lstrip().startswith("#"):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        text = (pending + line).strip()
        pending = ""
        keyword, _, rest = text.partition(" ")
        out.append((keyword.upper(), rest.strip()))
    return out


def stages(instructions):
    """[(image, name, [instructions])] per FROM, ARGs before the first FROM substituted."""
    args, result = {}, []
    for kw, rest in instructions:
        if kw == "ARG" and not result:
            name, _, default = rest.partition("=")
            args[name] = default
        elif kw == "FROM":
            words = rest.split()
            image = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), ""), words[0])
            name = words[2] if len(words) > 2 and words[1].upper() == "AS" else None
            result.append((image, name, []))
        elif result:
            result[-1][2].append((kw, rest))
    return result


# --- Dockerfile ------------------------------------------------------------------------------
built = stages(dockerfile(ROOT / "Dockerfile"))
check(len(built) >= 2, "Dockerfile is multi-stage")
check(built[0][0].startswith("rust:"), f"the builder is a Rust image ({built[0][0]})")
builder = built[0][2]
image, _, runtime = built[-1]
check(image == "ubuntu:22.04", f"runtime image is ubuntu:22.04 (got {image})")
check(
    any(
        kw == "RUN" and "cargo build --release --locked -p proxmox-mcp -p mcp-http-bridge" in rest
        for kw, rest in builder
    ),
    "the builder runs cargo build --release --locked -p proxmox-mcp -p mcp-http-bridge",
)
users = [rest for kw, rest in runtime if kw == "USER"]
check(bool(users) and users[-1] not in ("root", "0", "0:0"), f"runtime USER is not root ({users})")
check(users[-1:] == ["proxmox-mcp"], "runtime USER is proxmox-mcp")
check(any(kw == "EXPOSE" and "3001" in rest.split() for kw, rest in runtime), "EXPOSE 3001")
health = [rest for kw, rest in runtime if kw == "HEALTHCHECK"]
check(
    len(health) == 1 and '"mcp-http-bridge", "healthcheck"' in health[0],
    "HEALTHCHECK runs mcp-http-bridge healthcheck",
)
env = {}
for kw, rest in runtime:
    if kw == "ENV":
        for word in shlex.split(rest):
            key, _, value = word.partition("=")
            env[key] = value
for key, value in {
    "PROXMOX_MCP_BRIDGE_LISTEN": "0.0.0.0:3001",
    "PROXMOX_MCP_STATE_DIR": "/var/lib/proxmox-mcp",
    "PROXMOX_MCP_CONFIG": "/etc/proxmox-mcp/config.toml",
    "PROXMOX_MCP_BRIDGE_LOG_DIR": "/var/log/proxmox-mcp",
}.items():
    check(env.get(key) == value, f"ENV {key}={value}")
labels = " ".join(rest for kw, rest in runtime if kw == "LABEL")
runtime_args = {rest.partition("=")[0] for kw, rest in runtime if kw == "ARG"}
for label, arg in [("version", "VERSION"), ("revision", "REVISION"), ("created", "CREATED")]:
    check(
        f'org.opencontainers.image.{label}="${{{arg}}}"' in labels and arg in runtime_args,
        f"LABEL org.opencontainers.image.{label} from ARG {arg}",
    )
copies = " ".join(rest for kw, rest in runtime if kw == "COPY")
check("/usr/local/bin/" in copies, "binaries in /usr/local/bin")
check("packaging/docker/entrypoint.sh" in copies, "the entrypoint is copied")
check(
    any(kw == "ENTRYPOINT" and "entrypoint" in rest for kw, rest in runtime),
    "ENTRYPOINT runs the entrypoint",
)
entry = (ROOT / "packaging/docker/entrypoint.sh").read_text()
check(
    "mcp-http-bridge token init" in entry and 'exec mcp-http-bridge "$@"' in entry,
    "entrypoint: token init, then exec the bridge",
)

# --- docker-compose.yml ------------------------------------------------------------------------
compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
service = compose.get("services", {}).get("proxmox-mcp")
check(service is not None, "compose service proxmox-mcp")
service = service or {}
build = service.get("build")
check((build.get("context") if isinstance(build, dict) else build) == ".", "build: .")
ports = [str(p) for p in service.get("ports", [])]
check(any(p.endswith(":3001") for p in ports), f"port published to 3001 ({ports})")
check(any(p.startswith("${") for p in ports), "the published port is overridable from .env")
volumes = {}
for v in service.get("volumes", []):
    parts = v.split(":")
    volumes[parts[1]] = (parts[0], parts[2:] if len(parts) > 2 else [])
check(volumes.get("/etc/proxmox-mcp") == ("./config", ["ro"]), "config: ./config:/etc/proxmox-mcp:ro")
data = volumes.get("/var/lib/proxmox-mcp", ("", []))[0]
check(
    data == "./data" or data in (compose.get("volumes") or {}),
    f"data volume on /var/lib/proxmox-mcp ({data})",
)
check(volumes.get("/var/log/proxmox-mcp", ("",))[0] == "./logs", "logs: ./logs:/var/log/proxmox-mcp")
check("/etc/pve:/etc/pve:ro" in (ROOT / "docker-compose.yml").read_text(), "/etc/pve mount documented")
check("/etc/pve" not in volumes, "/etc/pve is not mounted by default")
check(service.get("restart") == "unless-stopped", "restart: unless-stopped")
check(
    service.get("healthcheck", {}).get("test") == ["CMD", "mcp-http-bridge", "healthcheck"],
    "compose healthcheck",
)
check(service.get("env_file") in (".env", [".env"]), "env_file: .env")

# --- .env.example, .dockerignore ------------------------------------------------------------
example = {}
for line in (ROOT / ".env.example").read_text().splitlines():
    if line.strip() and not line.lstrip().startswith("#"):
        key, sep, value = line.partition("=")
        check(bool(sep) and re.fullmatch(r"[A-Z_][A-Z0-9_]*", key) is not None, f".env.example line {line!r}")
        example[key] = value
check("PROXMOX_URL" in example and "PROXMOX_MCP_PUBLISH" in example, ".env.example: the cluster and the port")
check(
    "PROXMOX_TOKEN_SECRET" not in example,
    ".env.example holds no token secret (it goes in a 0600 file)",
)
ignored = (ROOT / ".dockerignore").read_text().split()
check("target/" in ignored and ".git/" in ignored, ".dockerignore: target/ and .git/")

if failures:
    print(f"{len(failures)} check(s) failed", file=sys.stderr)
    sys.exit(1)
