//! Processes the bench starts (servers, HAProxy) and kills on every way out, threads it
//! names, and the loopback ports and temporary files they use.

use std::fs;
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::STEP_TIMEOUT;

/// A named thread, so `perf report --comm` and `top -H` can tell the clients apart.
pub fn spawn<T: Send + 'static>(
    name: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<thread::JoinHandle<T>, String> {
    thread::Builder::new()
        .name(name.to_string())
        .spawn(f)
        .map_err(|e| format!("cannot start thread {name}: {e}"))
}

/// Pids of the processes this bench started and has not reaped yet. The release profile
/// aborts on panic, so no destructor runs then; the panic hook kills these instead.
pub static STARTED: Mutex<Vec<u32>> = Mutex::new(Vec::new());

pub fn started() -> std::sync::MutexGuard<'static, Vec<u32>> {
    STARTED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Makes a panic anywhere (client threads included) kill every process the bench started.
pub fn kill_children_on_panic() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        report(info);
        // try_lock: the panic may have happened while the list was held.
        let pids = match STARTED.try_lock() {
            Ok(pids) => pids.clone(),
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner().clone(),
            Err(std::sync::TryLockError::WouldBlock) => return,
        };
        if !pids.is_empty() {
            let _ = Command::new("kill")
                .arg("-KILL")
                .args(pids.iter().map(u32::to_string))
                .status();
        }
    }));
}

/// A child process that is killed and reaped when this is dropped (on every return path,
/// `?` included), and by the panic hook until then.
pub struct Owned(pub Child);

impl Owned {
    pub fn new(child: Child) -> Owned {
        started().push(child.id());
        Owned(child)
    }

    pub fn id(&self) -> u32 {
        self.0.id()
    }

    /// Whether it is still running (an exit is reaped here; the pid stays listed until drop,
    /// which is harmless: it is only killed by the hook while this value is alive).
    pub fn running(&mut self) -> bool {
        matches!(self.0.try_wait(), Ok(None))
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        let pid = self.0.id();
        started().retain(|p| *p != pid);
    }
}

/// How to start a server.
pub enum Launch {
    /// A build of this server: given [`server_args`], port 0, and read for its `listening on`
    /// line.
    Ours(String),
    /// Any other server command, told its port in `PORT` and its address in `HOST`.
    Command {
        program: String,
        args: Vec<String>,
        env: Vec<(String, String)>,
    },
}

impl Launch {
    /// `NAME=VALUE... program args...`, split on spaces. `RELAY_ACK=1` is the default, since
    /// every relay client asks for acks and waits for them (the peers' README).
    pub fn command(text: &str) -> Result<Launch, String> {
        let mut words = text.split_whitespace().peekable();
        let mut env = vec![("RELAY_ACK".to_string(), "1".to_string())];
        while let Some((name, value)) = words.peek().and_then(|w| w.split_once('=')) {
            env.retain(|(n, _)| n != name);
            env.push((name.to_string(), value.to_string()));
            words.next();
        }
        let program = words.next().ok_or("no program")?.to_string();
        Ok(Launch::Command {
            program,
            args: words.map(str::to_string).collect(),
            env,
        })
    }

    /// A short name for tables: the program's file name, or `baseline` for the build this
    /// server is compared with.
    pub fn label(&self, baseline: bool) -> String {
        match self {
            Launch::Ours(_) if baseline => "baseline".into(),
            Launch::Ours(_) => "sharethings".into(),
            Launch::Command { program, .. } => std::path::Path::new(program)
                .file_name()
                .map_or(program.clone(), |n| n.to_string_lossy().into()),
        }
    }
}

pub struct Server {
    pub addr: SocketAddr,
    pub pid: Option<u32>,
    /// Held only so the process dies with this value; None for a server this bench did not
    /// start (`--target`).
    pub _child: Option<Owned>,
}

impl Server {
    /// Starts a server on a free loopback port and waits until it accepts connections. `args`
    /// are this server's settings; another command gets only its environment.
    pub fn start(launch: &Launch, args: &[String]) -> Result<Server, String> {
        match launch {
            Launch::Ours(path) => Server::start_ours(path, args),
            Launch::Command { program, args, env } => Server::start_command(program, args, env),
        }
    }

    /// Starts this server's binary on port 0 and waits for its `listening on` line.
    fn start_ours(path: &str, args: &[String]) -> Result<Server, String> {
        println!("server: {path} {}", args.join(" "));
        let mut child = Owned::new(
            Command::new(path)
                .args(args)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .map_err(|e| {
                    format!(
                        "cannot start {path}: {e} (run cargo build --release --bins --examples)"
                    )
                })?,
        );
        let pid = child.id();
        let Some(stdout) = child.0.stdout.take() else {
            return Err("no stdout from the server".into());
        };
        let (tx, rx) = mpsc::channel();
        // Drains the server's stdout for its whole life so logging never blocks it.
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if let Some(addr) = listening_addr(&line) {
                    let _ = tx.send(addr);
                } else if line.contains("WARN") || line.contains("ERROR") {
                    eprintln!("server: {line}");
                }
            }
        });
        let mut server = Server {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            pid: Some(pid),
            _child: Some(child),
        };
        match rx.recv_timeout(STEP_TIMEOUT) {
            Ok(addr) => {
                server.addr = addr;
                Ok(server)
            }
            Err(_) => Err(format!(
                "{path} printed no `listening on` line within {STEP_TIMEOUT:?}"
            )),
        }
    }

    /// Starts another server command with `PORT` set to a free port and waits until that port
    /// accepts connections. Its output is drained and dropped, so it never blocks on a pipe.
    fn start_command(
        program: &str,
        args: &[String],
        env: &[(String, String)],
    ) -> Result<Server, String> {
        let port = free_port()?;
        let mut command = Command::new(program);
        command
            .args(args)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .env("PORT", port.to_string())
            .env("HOST", "127.0.0.1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let shown: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        println!(
            "server: PORT={port} {} {program} {}",
            shown.join(" "),
            args.join(" ")
        );
        let mut child = Owned::new(command.spawn().map_err(|e| {
            format!("cannot start {program}: {e} (docs/bench.md says how to build a peer)")
        })?);
        if let Some(stdout) = child.0.stdout.take() {
            thread::spawn(move || for _ in BufReader::new(stdout).lines().map_while(Result::ok) {});
        }
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + STEP_TIMEOUT;
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            if !child.running() || Instant::now() > deadline {
                return Err(format!("{program} did not start listening on {addr}"));
            }
            thread::sleep(Duration::from_millis(20));
        }
        Ok(Server {
            addr,
            pid: Some(child.id()),
            _child: Some(child),
        })
    }
}

pub fn listening_addr(line: &str) -> Option<SocketAddr> {
    let rest = line.split("listening on http://").nth(1)?;
    rest.trim_end().trim_end_matches('/').parse().ok()
}

/// A private directory for the derived config and the admin socket, removed when dropped.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new() -> Result<TempDir, String> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path =
            std::env::temp_dir().join(format!("sharethings-bench-{}-{nanos}", std::process::id()));
        fs::create_dir(&path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        Ok(TempDir(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A loopback port that was free a moment ago (the OS picked it; HAProxy binds it next).
pub fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}
