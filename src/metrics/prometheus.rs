//! `GET /metrics`: the counters in the Prometheus text exposition format, rendered by their
//! owner so that the HTTP workers only route to it.

use std::fmt::Write as _;
use std::sync::atomic::Ordering::Relaxed;

use super::{JoinRejection, Metrics};

impl Metrics {
    /// Prometheus text exposition format 0.0.4.
    pub fn render_prometheus(&self, uptime_seconds: u64) -> String {
        let m = self;
        let load = |a: &std::sync::atomic::AtomicU64| a.load(Relaxed);
        let head = load(&m.connections_head);
        let polling = load(&m.connections_polling);
        let websocket = load(&m.connections_websocket);
        let http = load(&m.connections_http);
        let used = load(&m.connections_open);
        let free = |slots: u64, used: u64| slots.saturating_sub(used);
        let sessions = load(&m.rooms);
        let members = load(&m.members);

        let mut out = String::with_capacity(2048);
        let mut family = |name: &str, kind: &str, help: &str, samples: &[(&str, u64)]| {
            // Writing to a String cannot fail.
            let _ = writeln!(out, "# HELP sharethings_{name} {help}");
            let _ = writeln!(out, "# TYPE sharethings_{name} {kind}");
            for (labels, value) in samples {
                let _ = writeln!(out, "sharethings_{name}{labels} {value}");
            }
        };
        family(
            "connections",
            "gauge",
            "Clients by transport (Engine.IO sessions on polling or WebSocket; TCP connections reading a request head or bridged to the HTTP workers).",
            &[
                ("{transport=\"head\"}", head),
                ("{transport=\"polling\"}", polling),
                ("{transport=\"websocket\"}", websocket),
                ("{transport=\"http\"}", http),
            ],
        );
        let connection_slots = load(&m.connection_slots);
        family(
            "connection_slots_used",
            "gauge",
            "Connection arena slots in use.",
            &[("", used)],
        );
        family(
            "connection_slots_free",
            "gauge",
            "Connection arena slots free.",
            &[("", free(connection_slots, used))],
        );
        family(
            "sessions",
            "gauge",
            "ShareThings sessions alive.",
            &[("", sessions)],
        );
        family(
            "session_slots_free",
            "gauge",
            "Session arena slots free.",
            &[("", free(load(&m.room_slots), sessions))],
        );
        family(
            "members",
            "gauge",
            "Members over all sessions.",
            &[("", members)],
        );
        family(
            "member_slots_free",
            "gauge",
            "Member arena slots free.",
            &[("", free(load(&m.member_slots), members))],
        );
        family(
            "applicants",
            "gauge",
            "Connections waiting in a v3 session for a member to admit them.",
            &[("", load(&m.applicants))],
        );
        family(
            "admit_messages_total",
            "counter",
            "Admission messages relayed between applicants and members.",
            &[("", load(&m.admit_messages))],
        );
        family(
            "events_received_total",
            "counter",
            "Application events received from members and would-be members, whatever became of them.",
            &[("", load(&m.events_received))],
        );
        family(
            "events_relayed_total",
            "counter",
            "Application events relayed (once per event, not per receiver).",
            &[("", load(&m.events_relayed))],
        );
        family(
            "bytes_relayed_total",
            "counter",
            "Bytes queued to receivers by relaying (counted per receiver).",
            &[("", load(&m.bytes_relayed))],
        );
        family(
            "queued_bytes",
            "gauge",
            "Bytes waiting in all send queues.",
            &[("", load(&m.queued_bytes))],
        );
        family(
            "inbox_bytes",
            "gauge",
            "Bytes kept by session inboxes for absent devices.",
            &[("", load(&m.inbox_bytes))],
        );
        family(
            "inbox_items",
            "gauge",
            "Items kept by session inboxes for absent devices.",
            &[("", load(&m.inbox_items))],
        );
        family(
            "inbox_disk_bytes",
            "gauge",
            "Bytes of the session inboxes' files on disk (INBOX_DIR).",
            &[("", load(&m.inbox_disk_bytes))],
        );
        let reasons: Vec<(String, u64)> = JoinRejection::ALL
            .iter()
            .map(|why| (format!("{{reason=\"{}\"}}", why.code()), m.rejected(*why)))
            .collect();
        let reasons: Vec<(&str, u64)> = reasons.iter().map(|(l, v)| (l.as_str(), *v)).collect();
        family(
            "rejected_joins_total",
            "counter",
            "Joins refused, by reason.",
            &reasons,
        );
        family(
            "uptime_seconds",
            "gauge",
            "Seconds since the process started.",
            &[("", uptime_seconds)],
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU64;

    use super::*;

    #[test]
    fn metrics_saturate_instead_of_wrapping() {
        let m = Metrics {
            connections_open: AtomicU64::new(u64::MAX),
            connection_slots: AtomicU64::new(5),
            ..Metrics::default()
        };
        let text = m.render_prometheus(0);
        assert!(text.contains("sharethings_connection_slots_free 0\n"));
        assert!(text.contains(&format!("sharethings_connection_slots_used {}\n", u64::MAX)));
    }
}
