//! `sharethings`: parse the configuration, start the HTTP workers and the event loop.
//! The only place that prints fatal errors and picks the exit code.

use std::net::{SocketAddr, TcpListener};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use sharethings::app::{self, AppConfig, DiskInbox, RealFiles, ShareThings};
use sharethings::assemble::{self, Mount};
use sharethings::config::{self, Config, ConfigError};
use sharethings::http::{self, HttpConfig};
use sharethings::metrics::Metrics;
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

/// Makes glibc's malloc hand every block of 128 KiB or more straight back to the system when
/// it is freed. By default glibc raises that threshold each time such a block is freed, up to
/// 32 MiB, after which the relay's 256 KiB chunks and the inboxes' items come from the heap and
/// stay resident once freed: after an hour of churn (`bench --soak 60`, docs/bench.md) the
/// server kept about 66 MiB with nothing left to hold, where with a fixed threshold it went back
/// to within 3 MiB of idle, as the musl builds that the packages ship do anyway.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn return_large_blocks_to_the_system() {
    // SAFETY: mallopt only changes a malloc parameter; called once, before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn return_large_blocks_to_the_system() {}

fn run(config: &Config) -> Result<(), String> {
    return_large_blocks_to_the_system();
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
        room_timeout: config.session_timeout,
        rejoin_grace: config.rejoin_grace,
        join_limit_per_address: config.join_limit_per_address,
        join_limit_per_session: config.join_limit_per_session,
        join_limit_window: config.join_limit_window,
        sessions_per_address: config.sessions_per_address,
        join_timeout: config.join_timeout,
        max_applicants: config.max_applicants,
        applicants_per_address: config.applicants_per_address,
        applicant_timeout: config.applicant_timeout,
        admit_bytes: config.admit_bytes,
        max_sockets: config.max_connections,
        inbox: app::InboxLimits {
            ttl: config.inbox_ttl,
            session_bytes: config.inbox_bytes,
            meta_bytes: config.inbox_meta_bytes,
            total_bytes: config.inbox_total_cap(),
        },
    };
    let mount = Mount {
        engine_paths: vec!["/socket.io/".to_string()],
        app_timers: app_config.timers_needed(),
        http_socket: Some(http.socket_path().to_path_buf()),
        // The manifest's `share_target.action`.
        drained_posts: vec!["/share-target".to_string()],
    };
    let app = match &config.inbox_dir {
        None => ShareThings::new(app_config, app::random_key(), started, Arc::clone(&metrics)),
        Some(dir) => {
            let inbox_dir =
                |e: std::io::Error| format!("cannot use INBOX_DIR {}: {e}", dir.display());
            let mut files = RealFiles::open(dir).map_err(inbox_dir)?;
            let key = app::server_key(&mut files, app::random_key()).map_err(inbox_dir)?;
            let wall_ms = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_err(|_| "the system clock is before 1970".to_string())?
                .as_millis();
            let disk = DiskInbox {
                files: Box::new(files),
                total_bytes: config.inbox_disk_bytes,
                read_bytes: config.inbox_disk_read_bytes,
            };
            ShareThings::new(app_config, key, started, Arc::clone(&metrics))
                .with_disk_inbox(disk, u64::try_from(wall_ms).unwrap_or(u64::MAX))
        }
    };
    let first_deadline = app.first_deadline();
    let layer = SocketIoLayer {
        sio: assemble::socketio(config, &["/"]),
        app,
    };
    let mut server = assemble::build(config, listener, mount, layer, metrics)
        .map_err(|e| format!("cannot start: {e}"))?;
    if let Some((at, key)) = first_deadline {
        server
            .set_app_timer(at, key)
            .map_err(|e| format!("cannot start: {e}"))?;
    }
    let local = server.local_addr().map_err(|e| e.to_string())?;
    log::info!(
        "ShareThings {} listening on http://{local}/",
        env!("CARGO_PKG_VERSION")
    );
    server.run().map_err(|e| format!("event loop failed: {e}"))
}
