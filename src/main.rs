//! `sharethings`: parse the configuration, start the HTTP workers and the event loop.
//! The only place that prints fatal errors and picks the exit code.

use std::net::{SocketAddr, TcpListener};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use sharethings::app::{self, AppConfig, ShareThings};
use sharethings::config::{self, Config, ConfigError};
use sharethings::http::{self, HttpConfig};
use sharethings::metrics::Metrics;
use sharethings::runtime::{self, Mount};
use sharethings::socketio::SocketIoLayer;

mod health_check;

fn main() -> ExitCode {
    if std::env::args().nth(1).as_deref() == Some("--health-check") {
        return health_check::run(std::env::args().skip(2));
    }
    let config = match Config::from_process() {
        Ok(config) => config,
        Err(ConfigError::HelpRequested) => {
            print!("{}", config::help_text());
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("sharethings: {e}");
            return ExitCode::from(2);
        }
    };
    match run(&config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sharethings: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(config: &Config) -> Result<(), String> {
    simple_logger::SimpleLogger::new()
        .with_level(config.log_level)
        .init()
        .map_err(|e| format!("cannot start logging: {e}"))?;
    let started = Instant::now();
    let metrics = Arc::new(Metrics::default());
    let addr = SocketAddr::new(config.host, config.port);
    let listener = TcpListener::bind(addr).map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let http = http::spawn(
        HttpConfig {
            workers: config.workers,
            version: env!("CARGO_PKG_VERSION"),
            started,
        },
        Arc::clone(&metrics),
    )
    .map_err(|e| format!("cannot start the HTTP workers: {e}"))?;
    let app_config = AppConfig {
        max_rooms: config.max_sessions,
        max_members: config.max_members,
        session_timeout: config.session_timeout,
        rejoin_grace: config.rejoin_grace,
        join_limit_per_address: config.join_limit_per_address,
        join_limit_per_session: config.join_limit_per_session,
        join_limit_window: config.join_limit_window,
        sessions_per_address: config.sessions_per_address,
        join_timeout: config.join_timeout,
        max_sockets: config.max_connections,
        inbox: app::InboxLimits {
            ttl: config.inbox_ttl,
            session_bytes: config.inbox_bytes,
            total_bytes: config.inbox_total_cap(),
        },
    };
    let mount = Mount {
        engine_paths: vec!["/socket.io/".to_string()],
        app_timers: app_config.timers_needed(),
        http_socket: Some(http.socket_path().to_path_buf()),
    };
    let app = ShareThings::new(app_config, app::random_key(), started, Arc::clone(&metrics));
    let layer = SocketIoLayer {
        sio: runtime::socketio(config, &["/"]),
        app,
    };
    let mut server = runtime::build(config, listener, mount, layer, metrics)
        .map_err(|e| format!("cannot start: {e}"))?;
    let local = server.local_addr().map_err(|e| e.to_string())?;
    log::info!(
        "ShareThings {} listening on http://{local}/",
        env!("CARGO_PKG_VERSION")
    );
    server.run().map_err(|e| format!("event loop failed: {e}"))
}
