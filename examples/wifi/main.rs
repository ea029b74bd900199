//! `wifi`: the test tree's Wi-Fi (issue 26). The kernel here has no `netem`, and neither
//! `tbf` nor `htb` can delay a packet, so the links are shaped in user space: this program
//! runs in the bridge namespace of `tests/net/`, holds a raw socket on each veth end there,
//! and switches frames between them through each port's profile (`pipe.rs`: loss, air time at
//! the link's rate with a bounded queue, delay with jitter that keeps frames in order). The
//! endpoints' TCP stacks are the real ones, so retransmission, congestion control and
//! timeouts are what they would be on such a link.
//!
//! ```text
//! wifi switch PORT=PROFILE...      # profiles: good, poor, wired; commands on stdin
//! wifi echo ADDR:PORT              # UDP echo and TCP sink, for the two below
//! wifi ping ADDR:PORT COUNT MS     # round trips and loss of COUNT probes, one per MS
//! wifi tcp ADDR:PORT SECONDS       # TCP goodput as the sink counted it
//! wifi profiles                    # the profiles' parameters
//! ```

mod pipe;
mod probe;
mod switch;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    let addr = |s: &str| s.parse::<SocketAddr>().map_err(|e| format!("{s}: {e}"));
    let result = match words.as_slice() {
        ["switch", ports @ ..] if !ports.is_empty() => ports
            .iter()
            .map(|p| {
                let (name, profile) = p.split_once('=').ok_or(format!("{p}: want PORT=PROFILE"))?;
                switch::open_port(name, profile)
            })
            .collect::<Result<Vec<_>, _>>()
            .and_then(|ports| switch::run(ports, std::process::id() as u64)),
        ["echo", a] => addr(a).and_then(probe::echo),
        ["ping", a, count, ms] => match (addr(a), count.parse(), ms.parse()) {
            (Ok(a), Ok(n), Ok(ms)) => probe::ping(a, n, Duration::from_millis(ms)),
            _ => Err("usage: wifi ping ADDR:PORT COUNT MS".into()),
        },
        ["tcp", a, secs] => match (addr(a), secs.parse()) {
            (Ok(a), Ok(s)) => probe::tcp(a, s),
            _ => Err("usage: wifi tcp ADDR:PORT SECONDS".into()),
        },
        ["profiles"] => {
            for p in pipe::PROFILES {
                println!("{p:?}");
            }
            Ok(())
        }
        _ => Err("usage: wifi switch PORT=PROFILE... | echo ADDR:PORT | ping ADDR:PORT COUNT MS | tcp ADDR:PORT SECONDS | profiles".into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wifi: {e}");
            ExitCode::FAILURE
        }
    }
}
