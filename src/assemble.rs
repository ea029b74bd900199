//! Assembles the layers into a runnable server from a [`Config`].

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use crate::config::Config;
use crate::engine::{Engine, EngineConfig, Layer};
use crate::front::{FrontConfig, ServedHosts, Server};
use crate::metrics::Metrics;
use crate::socketio::{SocketIo, SocketIoConfig};

/// Deadlines one connection can hold at once: its own, and its session's heartbeat, upgrade,
/// stall and connect timers.
const TIMERS_PER_CONNECTION: usize = 5;

/// What differs between the ShareThings server and other applications of the engine.
pub struct Mount {
    /// Engine.IO paths, e.g. `["/socket.io/"]` (see [`FrontConfig::engine_paths`]).
    pub engine_paths: Vec<String>,
    /// Deadlines the application may hold at once.
    pub app_timers: usize,
    /// The tiny_http workers' Unix socket, if plain HTTP is served.
    pub http_socket: Option<PathBuf>,
    /// See [`FrontConfig::drained_posts`].
    pub drained_posts: Vec<String>,
}

/// The Socket.IO settings a [`Config`] implies, for these namespaces.
pub fn socketio(config: &Config, namespaces: &[&str]) -> SocketIo {
    SocketIo::new(SocketIoConfig {
        namespaces: namespaces.iter().map(|n| n.to_string()).collect(),
        connect_timeout: config.connect_timeout,
        packet_limits: sharethings_limits(config),
        max_attachment_bytes: config.max_attachment_bytes,
        attachment_timeout: config.attachment_timeout,
        max_sockets: config.max_connections,
    })
}

fn sharethings_limits(config: &Config) -> crate::wire::sio::Limits {
    crate::wire::sio::Limits {
        attachments: config.max_attachments,
        json_depth: config.json_max_depth,
        json_nodes: config.json_max_nodes,
        json_expansion: config.json_max_expansion,
    }
}

/// Builds the server on an already bound listener.
pub fn build<L: Layer>(
    config: &Config,
    listener: std::net::TcpListener,
    mount: Mount,
    layer: L,
    metrics: Arc<Metrics>,
) -> io::Result<Server<L>> {
    let engine_config = EngineConfig {
        ping_interval: config.ping_interval,
        ping_timeout: config.ping_timeout,
        upgrade_timeout: config.upgrade_timeout,
        max_payload: config.max_payload,
        max_sessions: config.max_connections,
        send_queue_bytes: config.send_queue_bytes,
        stall_timeout: config.stall_timeout,
        memory_budget: config.memory_budget,
    };
    let timers = config
        .max_connections
        .saturating_mul(TIMERS_PER_CONNECTION)
        .saturating_add(mount.app_timers);
    let engine = Engine::new(engine_config);
    let front = FrontConfig {
        engine_paths: mount.engine_paths,
        max_connections: config.max_connections,
        head_max_bytes: config.head_max_bytes,
        head_timeout: config.head_timeout,
        max_payload: config.max_payload,
        memory_budget: config.memory_budget,
        trusted_proxies: config.trusted_proxies.clone(),
        max_connections_per_address: config.max_connections_per_address,
        cors_origins: config.cors_origins.clone(),
        served_hosts: ServedHosts::for_this_machine(&config.served_hosts),
        max_bridged: config.workers.saturating_mul(2),
        http_socket: mount.http_socket,
        drained_posts: mount.drained_posts,
    };
    Server::new(listener, front, engine, layer, timers, metrics)
}
