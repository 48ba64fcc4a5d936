//! `GET /metrics`: the process's counters in the Prometheus text format.
//!
//! Written by hand: a few counters need a few lines of text, where the
//! `metrics` + `metrics-exporter-prometheus` crates bring some twenty crates
//! (a second `getrandom`, `rand`, `quanta`, `crossbeam`) for the same output.

use std::fmt::Write;
use std::sync::atomic::Ordering;

use axum::http::header;
use axum::response::IntoResponse;

use crate::hooks::platforms::{REFUSED_FORGED, REFUSED_UNKNOWN, REFUSED_UNSIGNED};

/// The media type of the text format, version 0.0.4.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Every counter, in the text format.
pub fn render() -> String {
    let mut out = String::new();
    let refusals = [
        ("unsigned", &REFUSED_UNSIGNED),
        ("forged", &REFUSED_FORGED),
        ("unknown_source", &REFUSED_UNKNOWN),
    ];
    out.push_str(
        "# HELP kembali_webhook_refusals_total Platform webhook deliveries refused before \
         their body was read, by reason.\n\
         # TYPE kembali_webhook_refusals_total counter\n",
    );
    for (reason, counter) in refusals {
        // Writing to a String cannot fail.
        let _ = writeln!(
            out,
            "kembali_webhook_refusals_total{{reason=\"{reason}\"}} {}",
            counter.load(Ordering::Relaxed)
        );
    }
    out
}

pub async fn metrics() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], render())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sample_follows_its_type_line() {
        let text = render();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[1].starts_with("# TYPE kembali_webhook_refusals_total counter"));
        for l in &lines[2..] {
            let (name, value) = l.rsplit_once(' ').expect("name value");
            assert!(name.starts_with("kembali_webhook_refusals_total{reason=\""));
            value.parse::<u64>().expect("a count");
        }
        assert_eq!(lines.len(), 5);
    }
}
