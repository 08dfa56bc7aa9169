"""Drive proxmox-mcp over stdio with the official Python MCP SDK (`mcp` 2.3.0), a client we did not write.

Usage:
    python pyclient.py <proxmox-mcp binary | http://HOST:PORT/mcp> <legacy|auto> <calls.json> [server args...]

`legacy` connects with the `initialize` handshake (2025-11-25 and older); `auto` probes
`server/discover` (2026-07-28) and falls back. The server is spawned with this process's whole
environment (the SDK would otherwise pass only HOME, PATH, ...), so the caller sets PROXMOX_URL,
PROXMOX_MCP_STATE_DIR and the like. Given a URL, it connects over Streamable HTTP (the bridge)
and sends `Authorization: Bearer $PYCLIENT_BEARER` when that is set.

calls.json is either a list of calls or an object with the calls and options:

    [{"tool": "list_vms", "arguments": {"node": "pve1"}}]
    {"calls": [...], "elicitation": {"action": "accept", "content": {"confirm": true}}, "timeout_secs": 120}

Without "elicitation" the client does not advertise elicitation at all. The whole session is
bounded by "timeout_secs" (default 120); past it the client exits 3.

Prints ONE JSON object on stdout:

    {"protocol": "2025-11-25", "server": {"name": ..., "version": ...}, "tools": [names],
     "results": [{"tool": ..., "is_error": bool, "structured": ..., "text": "...",
                  "error": null | {"code": ..., "message": ...}, "progress": [[p, total, msg], ...]}],
     "elicitations": [messages asked]}

A JSON-RPC error on one call is recorded in that call's "error" (with is_error null) and the
remaining calls still run. Anything else that fails exits non-zero with a traceback on stderr.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

import mcp_types as types
from mcp import Client, MCPError, StdioServerParameters


def load_spec(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        spec = json.load(f)
    if isinstance(spec, list):
        return {"calls": spec}
    if isinstance(spec, dict) and isinstance(spec.get("calls"), list):
        unknown = set(spec) - {"calls", "elicitation", "timeout_secs"}
        if unknown:
            raise SystemExit(f"pyclient: unknown keys in {path}: {sorted(unknown)}")
        return spec
    raise SystemExit(f'pyclient: {path} must hold a list of calls or {{"calls": [...]}}')


def text_of(content: list[Any]) -> str:
    return "\n".join(block.text for block in content if isinstance(block, types.TextContent))


async def run(binary: str, mode: str, spec: dict[str, Any], server_args: list[str]) -> dict[str, Any]:
    calls, elicitation = spec["calls"], spec.get("elicitation")
    elicitations: list[str | None] = []

    async def elicit(_ctx: Any, params: Any) -> types.ElicitResult:
        elicitations.append(getattr(params, "message", None))
        assert elicitation is not None
        return types.ElicitResult(action=elicitation.get("action", "accept"), content=elicitation.get("content"))

    server: Any
    if binary.startswith(("http://", "https://")):
        # Over the HTTP bridge: the bearer token comes from PYCLIENT_BEARER.
        import httpx2
        from mcp.client.streamable_http import streamable_http_client

        headers = {}
        if os.environ.get("PYCLIENT_BEARER"):
            headers["Authorization"] = "Bearer " + os.environ["PYCLIENT_BEARER"]
        server = streamable_http_client(binary, http_client=httpx2.AsyncClient(headers=headers, timeout=120))
    else:
        server = StdioServerParameters(command=binary, args=server_args, env=dict(os.environ))
    options: dict[str, Any] = {"mode": mode}
    if elicitation is not None:
        options["elicitation_callback"] = elicit

    results: list[dict[str, Any]] = []
    async with Client(server, **options) as client:
        listed = await client.list_tools()
        tools = [tool.name for tool in listed.tools]
        cursor = listed.next_cursor
        while cursor is not None:
            page = await client.list_tools(cursor=cursor)
            tools += [tool.name for tool in page.tools]
            cursor = page.next_cursor

        for call in calls:
            progress: list[list[Any]] = []

            async def on_progress(p: float, total: float | None, message: str | None) -> None:
                progress.append([p, total, message])

            entry: dict[str, Any] = {"tool": call["tool"], "progress": progress}
            try:
                r = await client.call_tool(call["tool"], call.get("arguments") or {}, progress_callback=on_progress)
                entry.update(is_error=r.is_error, structured=r.structured_content, text=text_of(r.content), error=None)
            except MCPError as e:
                entry.update(is_error=None, structured=None, text=None, error={"code": e.code, "message": e.message})
            results.append(entry)

        info = client.server_info
        return {
            "protocol": client.protocol_version,
            "server": {"name": info.name, "version": info.version} if info else None,
            "tools": tools,
            "results": results,
            "elicitations": elicitations,
        }


def main(argv: list[str]) -> int:
    if len(argv) < 4 or argv[2] not in ("legacy", "auto"):
        print(__doc__, file=sys.stderr)
        return 2
    spec = load_spec(argv[3])
    timeout = float(spec.get("timeout_secs", 120))
    try:
        out = asyncio.run(asyncio.wait_for(run(argv[1], argv[2], spec, argv[4:]), timeout))
    except asyncio.TimeoutError:  # an alias of TimeoutError since 3.11; distinct on 3.10
        print(f"pyclient: no complete answer within {timeout}s", file=sys.stderr)
        return 3
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
