//! `--peer CMD` and `--baseline-bin PATH`: the same figures on two servers, interleaved
//! (A, B, A, B… for `--repeat` rounds, each pass on a freshly started process, so both see
//! about the same machine load), then both side by side with the ratio of their medians.

use crate::ceiling::tcp_ceiling;
use crate::cli::{server_args, Figure, Options};
use crate::process::{Launch, Server};
use crate::procfs::load;
use crate::record::{Better, Record};
use crate::relay::throughput;
use crate::target::Target;

pub fn run(o: &Options, other: &Launch) -> Result<(), String> {
    let sides = [&o.server, other];
    let labels = [o.server.label(false), other.label(true)];
    let mut records: [Vec<Record>; 2] = [Vec::new(), Vec::new()];
    let mut ceiling = Record::default();
    let args = server_args(o);
    for round in 0..o.repeat {
        for (side, launch) in sides.iter().enumerate() {
            println!(
                "--- round {}/{}: {} ({}) ---",
                round + 1,
                o.repeat,
                labels[side],
                load()
            );
            let server = Server::start(launch, &args)?;
            let mut record = Record::default();
            crate::one_pass(o, &server, &mut record)
                .map_err(|e| format!("{}: {e}", labels[side]))?;
            if o.runs(Figure::Throughput) {
                throughput(o, &Target::direct(&server), round, &mut record)
                    .map_err(|e| format!("{}: throughput: {e}", labels[side]))?;
            }
            drop(server);
            records[side].push(record);
        }
        if o.runs(Figure::Tcp) {
            let c = tcp_ceiling(o.chunks).map_err(|e| format!("tcp: {e}"))?;
            ceiling.higher("plain TCP ceiling per receiver", c.mb_s, "MB/s");
        }
    }
    print_table(&labels, &records);
    if !ceiling.0.is_empty() {
        let values: Vec<f64> = ceiling.0.iter().map(|m| m.value).collect();
        println!(
            "plain TCP ceiling on this machine, same rounds: {} MB/s per receiver",
            spread(&values)
        );
    }
    Ok(())
}

/// One row per figure: each side's median over the rounds (and the range when there are
/// several), and A/B of the medians.
fn print_table(labels: &[String], records: &[Vec<Record>; 2]) {
    let mut names: Vec<(&str, &str, Better)> = Vec::new();
    for m in records.iter().flatten().flat_map(|r| r.0.iter()) {
        if !names.iter().any(|(n, _, _)| *n == m.name) {
            names.push((&m.name, m.unit, m.better));
        }
    }
    let values = |side: usize, name: &str| -> Vec<f64> {
        records[side]
            .iter()
            .flat_map(|r| r.0.iter())
            .filter(|m| m.name == name)
            .map(|m| m.value)
            .collect()
    };
    let rounds = records[0].len();
    println!(
        "--- {} vs {}: median of {rounds} round{} each (range), ratio {}/{} ---",
        labels[0],
        labels[1],
        if rounds == 1 { "" } else { "s" },
        labels[0],
        labels[1]
    );
    println!(
        "{:<44} {:>9} {:>24} {:>24} {:>7}  better",
        "figure", "unit", labels[0], labels[1], "ratio"
    );
    for (name, unit, better) in names {
        let (a, b) = (values(0, name), values(1, name));
        let ratio = match (median(&a), median(&b)) {
            (Some(a), Some(b)) if b != 0.0 => format!("{:.2}", a / b),
            (Some(a), Some(b)) if a == b => "1.00".into(),
            _ => "-".into(),
        };
        let better = match better {
            Better::Lower => "lower",
            Better::Higher => "higher",
        };
        println!(
            "{name:<44} {unit:>9} {:>24} {:>24} {ratio:>7}  {better}",
            spread(&a),
            spread(&b)
        );
    }
}

fn median(values: &[f64]) -> Option<f64> {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied()
}

/// `median (min–max)`, or the one value, or `-`.
fn spread(values: &[f64]) -> String {
    let Some(m) = median(values) else {
        return "-".into();
    };
    let fmt = |v: f64| {
        if v.abs() >= 100.0 {
            format!("{v:.0}")
        } else if v.abs() >= 10.0 {
            format!("{v:.1}")
        } else {
            format!("{v:.2}")
        }
    };
    if values.len() == 1 {
        return fmt(m);
    }
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    format!("{} ({}–{})", fmt(m), fmt(lo), fmt(hi))
}
