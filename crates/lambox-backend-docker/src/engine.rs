//! Where the engine runs, which decides how containers are reached.

/// The host of a remote engine (`DOCKER_HOST=tcp://host:2375`), or `None` for one on this
/// machine (`DOCKER_HOST` unset or a Unix socket). Containers of a local engine are reached at
/// their bridge address, skipping the userland port proxy (about 0.3 ms per invoke here); those
/// of a remote engine at their port published on the engine's host.
pub(crate) fn remote_engine_host() -> Option<String> {
    remote_host_of(std::env::var("DOCKER_HOST").ok().as_deref())
}

fn remote_host_of(docker_host: Option<&str>) -> Option<String> {
    let host = docker_host.filter(|h| !h.is_empty())?;
    if host.starts_with("unix://") || host.starts_with("npipe://") {
        return None;
    }
    let rest = host.split_once("://").map_or(host, |(_, r)| r);
    let rest = rest.split('/').next().unwrap_or(rest);
    Some(match rest.rsplit_once(':') {
        Some((h, _)) => h.trim_matches(['[', ']']).to_owned(),
        None => rest.to_owned(),
    })
}

/// The address to publish agents' ports on for a remote engine reached at `host`: that host's
/// own address (resolved once), so a port is reachable where lambox reaches the engine and
/// nowhere else; all interfaces only if the name does not resolve.
pub(crate) async fn publish_address(host: &str) -> String {
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        return ip.to_string();
    }
    match tokio::net::lookup_host((host, 0)).await {
        Ok(mut addrs) => match addrs.next() {
            Some(a) => a.ip().to_string(),
            None => "0.0.0.0".to_owned(),
        },
        Err(e) => {
            tracing::warn!(host, error = %e, "cannot resolve the engine's host; publishing agents on all its interfaces");
            "0.0.0.0".to_owned()
        }
    }
}

/// What `host_alias` maps to in containers' `/etc/hosts`. Docker's `host-gateway` is the host
/// as containers reach it (on Docker Desktop, the machine outside the VM); Podman before 5.3 does
/// not know it and writes it literally, so on Podman the gateway of the containers' network is
/// used instead.
pub(crate) async fn host_gateway(docker: &bollard::Docker, network: Option<&str>) -> String {
    let podman = docker.version().await.is_ok_and(|v| {
        v.components
            .unwrap_or_default()
            .iter()
            .any(|c| c.name.contains("Podman"))
    });
    if !podman {
        return "host-gateway".to_owned();
    }
    let gateway = docker
        .inspect_network(network.unwrap_or("bridge"), None)
        .await
        .ok()
        .and_then(|n| n.ipam?.config?.into_iter().find_map(|c| c.gateway))
        .filter(|g| !g.is_empty());
    match gateway {
        Some(g) => g,
        None => {
            tracing::warn!("cannot find the gateway of the containers' network on Podman");
            "host-gateway".to_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{publish_address, remote_host_of};

    #[tokio::test]
    async fn publishes_on_the_address_lambox_reaches_the_engine_by() {
        assert_eq!(publish_address("10.0.0.5").await, "10.0.0.5");
        assert_eq!(publish_address("::1").await, "::1");
        // Resolved from /etc/hosts, without the network.
        assert!(["127.0.0.1", "::1"].contains(&publish_address("localhost").await.as_str()));
    }

    #[test]
    fn engines_on_this_machine_and_elsewhere() {
        assert_eq!(remote_host_of(None), None);
        assert_eq!(
            remote_host_of(Some("unix:///run/user/1000/podman/podman.sock")),
            None
        );
        assert_eq!(
            remote_host_of(Some("tcp://10.0.0.5:2375")).as_deref(),
            Some("10.0.0.5")
        );
        assert_eq!(
            remote_host_of(Some("tcp://docker.internal:2376/")).as_deref(),
            Some("docker.internal")
        );
    }
}
