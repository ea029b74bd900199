//! The real `sharethings` binary on 127.0.0.1 and a free port: started with `--port 0`, its
//! address learnt from its log, its output kept for failure messages, killed on drop.

use super::*;

/// The real server binary, listening on 127.0.0.1 and a free port.
pub struct Server {
    child: Child,
    addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
    pipe_readers: Vec<thread::JoinHandle<()>>,
}

/// The server under test: the one `SHARETHINGS_BIN` names (the attack suite names the release
/// build, which it attacks with these tests compiled once, in the debug build that the `rust`
/// suite already made), else the one cargo built with these tests.
fn server_binary() -> std::ffi::OsString {
    std::env::var_os("SHARETHINGS_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_sharethings").into())
}

impl Server {
    /// Starts the server with `--host 127.0.0.1 --port 0 --log-level info` plus `extra_args`
    /// (later flags win), and waits for its "listening on" line.
    pub fn start(extra_args: &[&str]) -> Server {
        let mut child = Command::new(server_binary())
            .args(["--host", "127.0.0.1", "--port", "0", "--log-level", "info"])
            .args(extra_args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn the sharethings binary");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel::<SocketAddr>();
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        // Drain both pipes for the whole life of the process, so it never blocks on a full
        // pipe; the lines are kept for failure messages.
        let out_log = Arc::clone(&log);
        let stdout_reader = thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = listening_addr(&line) {
                    let _ = tx.send(addr);
                }
                out_log.lock().unwrap_or_else(|e| e.into_inner()).push(line);
            }
        });
        let err_log = Arc::clone(&log);
        let stderr_reader = thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                err_log
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(format!("stderr: {line}"));
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(10)) {
            Ok(addr) => addr,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "server did not report its address in time; output:\n{}",
                    log.lock().unwrap_or_else(|e| e.into_inner()).join("\n")
                );
            }
        };
        Server {
            child,
            addr,
            log,
            pipe_readers: vec![stdout_reader, stderr_reader],
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything the server printed so far.
    pub fn output(&self) -> String {
        self.log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .join("\n")
    }

    /// Stops the server and returns everything it printed: the pipes are read to their end,
    /// so no line still in flight is missed (which `output` can miss on a loaded machine).
    pub fn stop_and_collect_output(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        for reader in self.pipe_readers.drain(..) {
            let _ = reader.join();
        }
        self.output()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// `GET /health` answers 200 with `"status":"ok"`, and the process still runs.
    pub fn assert_healthy(&mut self) {
        assert!(self.is_running(), "server exited:\n{}", self.output());
        let res = Http::connect(self.addr).request("GET", "/health", &[], b"");
        assert_eq!(res.status, 200, "health: {res:?}");
        assert!(res.text().contains("\"status\":\"ok\""), "health: {res:?}");
    }

    /// The value of one sample of `/metrics`, e.g. `sharethings_members` or
    /// `sharethings_connections{transport="websocket"}`.
    pub fn metric(&self, sample: &str) -> u64 {
        let text = get_path(self.addr, "/metrics").text();
        text.lines()
            .find_map(|line| line.strip_prefix(sample)?.strip_prefix(' '))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no sample {sample} in:\n{text}"))
    }

    /// The server's thread count from /proc.
    pub fn threads(&self) -> usize {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("read /proc/<pid>/status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("Threads:"))
            .and_then(|n| n.trim().parse().ok())
            .expect("Threads: line")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Whether it died on its own (a crash) is the first thing a failure needs to say.
        let exited = self.child.try_wait().ok().flatten();
        let _ = self.child.kill();
        let _ = self.child.wait();
        if thread::panicking() {
            let how = exited.map_or("killed by the test".to_string(), |s| format!("exited: {s}"));
            eprintln!(
                "----- server output ({}, {how}) -----\n{}\n-----",
                self.addr,
                self.output()
            );
        }
    }
}

fn listening_addr(line: &str) -> Option<SocketAddr> {
    let rest = line.split("listening on http://").nth(1)?;
    rest.trim_end().trim_end_matches('/').parse().ok()
}
