//! Configuration: defaults, then a TOML file, then `KEMBALI_*` variables, then flags.

use std::net::SocketAddr;
use std::path::Path;

use anyhow::{Context, bail};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where `serve` listens.
    pub addr: SocketAddr,
    /// `sqlite://FILE` (created if missing) or `postgres://USER@HOST/DB`.
    pub database_url: String,
    /// Largest number of database connections per instance.
    pub max_connections: u32,
    /// PostgreSQL: how long a request waits for a database connection
    /// (reconnecting included) before it answers 503.
    pub database_acquire_timeout_ms: u64,
    /// How long a client may take to send a request's headers; also how long
    /// an idle keep-alive connection stays open.
    pub http_header_read_timeout_ms: u64,
    /// Open HTTP connections at once; past it, new ones wait to be accepted.
    pub http_max_connections: usize,
    /// Reverse proxies in front of Kembali (comma-separated addresses and
    /// networks): from them, the client's address is read from
    /// `X-Forwarded-For`. Empty: the TCP peer is the client.
    pub trusted_proxies: String,
    /// Jobs one worker runs at once.
    pub worker_concurrency: usize,
    /// `tracing` filter, e.g. `info` or `kembali=debug,tower_http=info`.
    pub log: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: "sqlite://kembali.db".into(),
            max_connections: 16,
            database_acquire_timeout_ms: 1_000,
            http_header_read_timeout_ms: 10_000,
            http_max_connections: 10_000,
            trusted_proxies: String::new(),
            worker_concurrency: 4,
            log: "info".into(),
        }
    }
}

impl Config {
    /// `trusted_proxies` parsed; a malformed list is a configuration error.
    pub fn trusted_proxies(&self) -> anyhow::Result<kembali_web::forwarded::TrustedProxies> {
        kembali_web::forwarded::TrustedProxies::parse(&self.trusted_proxies)
            .map_err(|e| anyhow::anyhow!("invalid configuration: trusted_proxies: {e}"))
    }
}

/// The documented default configuration, for `kembali default-config`.
pub const DEFAULT_TOML: &str = r#"# Kembali configuration. Every key can also be set as KEMBALI_<KEY> in the
# environment (e.g. KEMBALI_DATABASE_URL); flags override both.

# Where `kembali serve` listens.
addr = "127.0.0.1:8080"

# sqlite://FILE (created if missing) or postgres://USER@HOST/DB
database_url = "sqlite://kembali.db"

# Largest number of database connections per instance. With PostgreSQL on the
# same machine, a pool of about two to four per core served more look-ups than a
# larger one (docs/BENCHMARKS.md, eighth step); with PostgreSQL on its own machine,
# keep room for slow requests (exports) beside the look-ups.
max_connections = 16

# PostgreSQL: milliseconds a request waits for a database connection, reconnecting
# included, before it answers 503 with Retry-After (the database is away).
database_acquire_timeout_ms = 1000

# Milliseconds a client may take to send a request's headers; an idle keep-alive
# connection is closed after the same time. (Reading a body falls under the 30 s
# request deadline.)
http_header_read_timeout_ms = 10000

# HTTP connections open at once; past it, new ones wait in the listen backlog.
http_max_connections = 10000

# Reverse proxies in front of Kembali (nginx, Caddy, a load balancer), as
# comma-separated addresses and networks, e.g. "127.0.0.1, ::1, 10.0.0.0/8".
# A request from one of them is from the client its X-Forwarded-For names (the
# first address from the right that is no trusted proxy); the portal's look-up
# limits count by that address. Empty: the TCP peer is the client, and
# X-Forwarded-For is ignored (anyone could write it).
trusted_proxies = ""

# Background jobs one worker runs at once.
worker_concurrency = 4

# Log filter (tracing EnvFilter syntax).
log = "info"
"#;

/// Loads the configuration. An explicitly named file must exist; `kembali.toml`
/// in the working directory is read when present.
pub fn load(file: Option<&Path>) -> anyhow::Result<Config> {
    let mut fig = Figment::from(Serialized::defaults(Config::default()));
    match file {
        Some(path) => {
            std::fs::metadata(path).with_context(|| {
                format!("cannot read the configuration file {}", path.display())
            })?;
            fig = fig.merge(Toml::file_exact(path));
        }
        None => {
            if Path::new("kembali.toml").exists() {
                fig = fig.merge(Toml::file_exact("kembali.toml"));
            }
        }
    }
    // Only the configuration's own keys: other KEMBALI_* variables (the test
    // suite's, say) share the prefix and are not configuration.
    fig = fig.merge(Env::prefixed("KEMBALI_").only(&[
        "addr",
        "database_url",
        "max_connections",
        "database_acquire_timeout_ms",
        "http_header_read_timeout_ms",
        "http_max_connections",
        "trusted_proxies",
        "worker_concurrency",
        "log",
    ]));
    let config: Config = fig.extract().map_err(|e| {
        // figment's message names the key and the source; keep it on one line.
        anyhow::anyhow!(
            "invalid configuration: {}",
            e.to_string().replace('\n', " ")
        )
    })?;
    config.trusted_proxies()?;
    if config.max_connections == 0 {
        bail!("invalid configuration: max_connections must be at least 1");
    }
    for (key, value) in [
        (
            "database_acquire_timeout_ms",
            config.database_acquire_timeout_ms,
        ),
        (
            "http_header_read_timeout_ms",
            config.http_header_read_timeout_ms,
        ),
        ("http_max_connections", config.http_max_connections as u64),
    ] {
        if value == 0 {
            bail!("invalid configuration: {key} must be at least 1");
        }
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::{Config, DEFAULT_TOML};
    use figment::Figment;
    use figment::providers::{Format, Toml};

    #[test]
    fn the_documented_defaults_are_the_defaults() {
        let documented: Config = Figment::from(Toml::string(DEFAULT_TOML))
            .extract()
            .expect("DEFAULT_TOML parses");
        let documented = serde_json::to_value(documented).expect("json");
        let defaults = serde_json::to_value(Config::default()).expect("json");
        assert_eq!(documented, defaults);
    }

    #[test]
    fn a_bad_trusted_proxy_is_refused_at_load() {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("kembali.toml");
        std::fs::write(&file, "trusted_proxies = \"127.0.0.1, 10.0.0.0/40\"\n").expect("write");
        let e = super::load(Some(&file)).expect_err("refused");
        let e = e.to_string();
        assert!(
            e.contains("trusted_proxies") && e.contains("10.0.0.0/40"),
            "{e}"
        );
        std::fs::write(&file, "trusted_proxies = \"127.0.0.1, 10.0.0.0/8\"\n").expect("write");
        let cfg = super::load(Some(&file)).expect("loaded");
        assert_eq!(cfg.trusted_proxies, "127.0.0.1, 10.0.0.0/8");
    }
}
