//! What `/proc` says about a process: memory, CPU time, and the machine itself.

use std::fs;
use std::process::Command;
use std::thread;

/// A `... kB` line of `/proc/<pid>/status`.
pub fn status_kib(status: &str, key: &str) -> Option<u64> {
    let line = status.lines().find_map(|l| l.strip_prefix(key))?;
    line.trim().trim_end_matches("kB").trim().parse().ok()
}

pub fn vm_rss_kib(pid: u32) -> Option<u64> {
    status_kib(
        &fs::read_to_string(format!("/proc/{pid}/status")).ok()?,
        "VmRSS:",
    )
}

/// VmRSS, how much of it is the process's own memory (anonymous) and how much mapped files
/// (the binary with its embedded web bundle, and shared libraries such as libc, whose pages
/// count in full for every process that maps them), and PSS, which shares those out.
pub fn rss_text(pid: Option<u32>) -> String {
    let read =
        |file: &str| pid.and_then(|pid| fs::read_to_string(format!("/proc/{pid}/{file}")).ok());
    let Some(status) = read("status") else {
        return "not measured (no server pid)".into();
    };
    let kib = |key| status_kib(&status, key).map_or("?".into(), |k| k.to_string());
    let total = status_kib(&status, "VmRSS:").unwrap_or(0);
    let pss = read("smaps_rollup")
        .and_then(|rollup| status_kib(&rollup, "Pss:"))
        .map_or("?".into(), |k| k.to_string());
    format!(
        "{:.2} MiB (VmRSS {total} KiB = anonymous {} + file {} KiB; PSS {pss} KiB)",
        total as f64 / 1024.0,
        kib("RssAnon:"),
        kib("RssFile:")
    )
}

/// utime + stime in clock ticks of a `/proc/.../stat` file.
pub fn cpu_ticks(stat_path: &str) -> Option<u64> {
    let stat = fs::read_to_string(stat_path).ok()?;
    // Fields after the command name (which may hold spaces) start at field 3, `state`.
    let rest = stat.get(stat.rfind(')')? + 1..)?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

pub fn process_cpu(pid: Option<u32>) -> Option<u64> {
    cpu_ticks(&format!("/proc/{}/stat", pid?))
}

pub fn clock_ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|t| *t > 0.0)
        .unwrap_or(100.0)
}

pub fn cpu_seconds(before: Option<u64>, after: Option<u64>) -> Option<f64> {
    Some(after?.checked_sub(before?)? as f64 / clock_ticks_per_second())
}

/// CPU model and count, so a figure is never read without its machine.
pub fn machine() -> String {
    let info = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = info
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_else(|| "unknown CPU".into());
    let cpus = thread::available_parallelism().map_or(0, |n| n.get());
    format!("{model}, {cpus} CPUs")
}

/// The load averages, so a figure is never read without the load it ran under.
pub fn load() -> String {
    let text = fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let averages: Vec<&str> = text.split_whitespace().take(3).collect();
    format!("load average {}", averages.join(" "))
}
