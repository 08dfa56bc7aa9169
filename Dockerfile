# proxmox-mcp container image: the HTTP bridge on port 3001, the engine as its child.
#
#   docker compose up -d                  (see docker-compose.yml and .env.example)
#   docker build --build-arg VERSION=0.1.0 --build-arg REVISION=$(git rev-parse HEAD) \
#       --build-arg CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ) -t proxmox-mcp .
#
# The builder is Debian bookworm (glibc 2.36); the binaries only need glibc >= 2.34 (the .deb's
# computed libc6 dependency says so, and packaging/check holds it at <= 2.35), which Ubuntu
# 22.04 has.

ARG RUST_IMAGE=rust:1-bookworm
ARG UBUNTU=ubuntu:22.04

FROM ${RUST_IMAGE} AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p proxmox-mcp -p mcp-http-bridge \
    && install -D -m 0755 -t /out target/release/proxmox-mcp target/release/mcp-http-bridge

FROM ${UBUNTU} AS runtime
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
# The service account's ids, fixed so that host directories can be given to it
# (`chown -R 10001:10001 config data logs`).
ARG UID=10001
ARG GID=10001
LABEL org.opencontainers.image.title="proxmox-mcp" \
      org.opencontainers.image.description="MCP server for Proxmox VE, served over Streamable HTTP" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="AGPL-3.0-or-later"

RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        ca-certificates openssh-client tini \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid "${GID}" proxmox-mcp \
    && useradd --system --uid "${UID}" --gid proxmox-mcp --home-dir /var/lib/proxmox-mcp \
        --no-create-home --shell /usr/sbin/nologin proxmox-mcp \
    && install -d -o proxmox-mcp -g proxmox-mcp -m 0750 \
        /etc/proxmox-mcp /var/lib/proxmox-mcp /var/log/proxmox-mcp

COPY --from=build /out/ /usr/local/bin/
COPY packaging/docker/entrypoint.sh /usr/local/bin/proxmox-mcp-entrypoint

ENV PROXMOX_MCP_BRIDGE_LISTEN=0.0.0.0:3001 \
    PROXMOX_MCP_CONFIG=/etc/proxmox-mcp/config.toml \
    PROXMOX_MCP_STATE_DIR=/var/lib/proxmox-mcp \
    PROXMOX_MCP_BRIDGE_LOG_DIR=/var/log/proxmox-mcp \
    PROXMOX_MCP_LOG=info

USER proxmox-mcp
WORKDIR /var/lib/proxmox-mcp
EXPOSE 3001
VOLUME ["/var/lib/proxmox-mcp", "/var/log/proxmox-mcp"]

# `mcp-http-bridge healthcheck` exits 0 when GET /healthz on the listen address answers 200.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["mcp-http-bridge", "healthcheck"]

ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/proxmox-mcp-entrypoint"]
CMD ["serve"]
