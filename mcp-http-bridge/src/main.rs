//! HTTP bridge for proxmox-mcp: serves the stdio engine as Streamable HTTP (arrives with its own issue).

fn main() {
    eprintln!("mcp-http-bridge: not built yet; run `proxmox-mcp` over stdio");
    std::process::exit(2);
}
