//! The service's configuration: one typed struct, read once from flags and the environment.

use std::{fmt, net::SocketAddr, path::PathBuf, time::Duration};

use clap::{Args, ValueEnum};

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// A string that must never reach a log: `Debug` and `Display` print it redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"[redacted]\"")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self::new(s))
    }
}

/// Where the database is. The URL carries a password, so it is printed with the password
/// replaced.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(Secret);

impl DatabaseUrl {
    /// Wraps a `postgres://` URL.
    pub fn new(url: impl Into<String>) -> Self {
        Self(Secret::new(url))
    }

    /// The URL to connect with.
    pub fn expose(&self) -> &str {
        self.0.expose()
    }

    /// The URL with any password replaced by `***`, safe to log.
    pub fn redacted(&self) -> String {
        let url = self.expose();
        let Some((scheme, rest)) = url.split_once("://") else {
            return "[redacted]".to_owned();
        };
        match rest.rsplit_once('@') {
            Some((userinfo, host)) => match userinfo.split_once(':') {
                Some((user, _password)) => format!("{scheme}://{user}:***@{host}"),
                None => url.to_owned(),
            },
            None => url.to_owned(),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.redacted())
    }
}

impl std::str::FromStr for DatabaseUrl {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self::new(s))
    }
}

/// Options every subcommand that talks to the database shares.
#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// PostgreSQL + PostGIS connection URL.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: DatabaseUrl,

    /// Largest number of pooled database connections.
    #[arg(long, env = "LANDUSE_POOL_SIZE", default_value_t = 16)]
    pub pool_size: u32,

    /// Longest a query may run before the server cancels it, in milliseconds
    /// (PostgreSQL `statement_timeout` on every pooled connection).
    #[arg(long, env = "LANDUSE_STATEMENT_TIMEOUT_MS", default_value_t = 30_000)]
    pub statement_timeout_ms: u64,

    /// A role every pooled connection of `serve` and `sweep` switches to (`SET ROLE`), such
    /// as `landuse_app`, which migration 0007 makes: it owns nothing, may not change the
    /// history tables, and row-level security (0010) holds it to the counties each
    /// transaction names. Use it when the login role of `DATABASE_URL` is the owner that
    /// migrates; leave it unset (or empty) when the login role is already the application's.
    /// The operator's commands (migrate, seed, import, demo) always act as the login role.
    #[arg(long, env = "LANDUSE_DB_ROLE")]
    pub db_role: Option<String>,
}

/// Options of `landuse serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "LANDUSE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Largest accepted request body, in bytes.
    #[arg(long, env = "LANDUSE_BODY_LIMIT", default_value_t = 20 * 1024 * 1024)]
    pub body_limit: usize,

    /// Most polygon vertices the parcels of one case may have.
    #[arg(long, env = "LANDUSE_MAX_PARCEL_VERTICES", default_value_t = 200_000)]
    pub max_parcel_vertices: usize,

    /// Longest a request may take before it is answered with 503, in seconds.
    #[arg(long, env = "LANDUSE_REQUEST_TIMEOUT_S", default_value_t = 60)]
    pub request_timeout_s: u64,

    /// Requests one token may make per rate window, counted in the database so that every
    /// replica shares the limit; 0 sets no limit. Beyond it the answer is 429 with Retry-After.
    #[arg(long, env = "LANDUSE_RATE_LIMIT", default_value_t = 12_000)]
    pub rate_limit: u32,

    /// Length of the rate window, in seconds.
    #[arg(long, env = "LANDUSE_RATE_WINDOW_S", default_value_t = 60)]
    pub rate_window_s: u32,

    /// Longest the server waits for in-flight requests after SIGTERM/SIGINT, in seconds.
    #[arg(long, env = "LANDUSE_SHUTDOWN_GRACE_S", default_value_t = 30)]
    pub shutdown_grace_s: u64,

    /// The planner's review page and the check report.
    #[command(flatten)]
    pub review: ReviewArgs,

    /// Streaming replicas for the read-heavy paths.
    #[command(flatten)]
    pub replicas: ReplicaArgs,
}

/// Options of the read replicas (docs/scaling.md): PostgreSQL streaming standbys of the
/// database that `DATABASE_URL` names, each with a pool of its own.
#[derive(Debug, Clone, Args)]
pub struct ReplicaArgs {
    /// Standbys the read-heavy paths read from (OGC items and tiles, the review page and
    /// report, case and check reads): `postgres://` URLs, repeat the flag or separate them with
    /// commas. Writes, the rate limit, the sweeper and idempotency stay on the primary. None by
    /// default: everything reads from the primary.
    #[arg(long = "database-read-url", env = "DATABASE_READ_URL", value_delimiter = ',')]
    pub read_urls: Vec<DatabaseUrl>,

    /// A replica whose replay is further behind the primary than this, in milliseconds, is
    /// left out until it catches up.
    #[arg(long, env = "LANDUSE_REPLICA_MAX_LAG_MS", default_value_t = 5_000)]
    pub max_lag_ms: u64,

    /// Longest a read that carries `X-Landuse-LSN` waits for a replica to replay that
    /// position, in milliseconds, before it is served by the primary instead.
    #[arg(long, env = "LANDUSE_REPLICA_WAIT_MS", default_value_t = 500)]
    pub wait_ms: u64,

    /// How often each replica's replay lag is measured, in milliseconds.
    #[arg(long, env = "LANDUSE_REPLICA_CHECK_MS", default_value_t = 1_000)]
    pub check_ms: u64,

    /// Largest number of pooled connections to each replica.
    #[arg(long, env = "LANDUSE_REPLICA_POOL_SIZE", default_value_t = 16)]
    pub replica_pool_size: u32,
}

impl Default for ReplicaArgs {
    /// The defaults of the flags: no replica.
    fn default() -> Self {
        Self {
            read_urls: Vec::new(),
            max_lag_ms: 5_000,
            wait_ms: 500,
            check_ms: 1_000,
            replica_pool_size: 16,
        }
    }
}

/// The tile grid of a basemap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum BasemapGrid {
    /// Web Mercator tiles (EPSG:3857 grid on the CGCS2000 datum), like 天地图's `*_w` layers.
    #[default]
    WebMercator,
    /// Geographic CGCS2000 tiles (EPSG:4490, 2×1 tiles at level 1), like 天地图's `*_c` layers.
    Cgcs2000,
}

/// A basemap tile URL: http(s), with `{z}`, `{x}` and `{y}` where the tile's level, column and
/// row go (a WMTS KVP request names them `TILEMATRIX={z}&TILECOL={x}&TILEROW={y}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BasemapUrl(String);

impl BasemapUrl {
    /// The template as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `scheme://host[:port]`, for the page's Content-Security-Policy.
    pub fn origin(&self) -> &str {
        let after_scheme = self.0.find("://").map_or(0, |i| i + 3);
        let end = self.0[after_scheme..]
            .find('/')
            .map_or(self.0.len(), |i| after_scheme + i);
        &self.0[..end]
    }
}

impl std::str::FromStr for BasemapUrl {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.to_ascii_lowercase();
        if !(lower.starts_with("http://") || lower.starts_with("https://")) {
            return Err(format!(
                "the basemap URL {s:?} must start with http:// or https://"
            ));
        }
        for part in ["{z}", "{x}", "{y}"] {
            if !s.contains(part) {
                return Err(format!("the basemap URL {s:?} has no {part}; write the tile's level, column and row as {{z}}, {{x}} and {{y}}"));
            }
        }
        if s.contains(['"', '\'', '<', '>', ' ']) {
            return Err(format!(
                "the basemap URL {s:?} holds a quote, angle bracket or space"
            ));
        }
        Ok(Self(s.to_owned()))
    }
}

/// Options of the planner's review page (`/review`) and the check report PDF.
#[derive(Debug, Clone, Args)]
pub struct ReviewArgs {
    /// A CGCS2000 basemap under the review map: an XYZ tile URL with {z}, {x} and {y}, such as
    /// an intranet 天地图. None by default: the map shows only the service's own data. Never a
    /// GCJ-02 basemap: its offset would misplace every boundary.
    #[arg(long, env = "LANDUSE_BASEMAP_URL")]
    pub basemap_url: Option<BasemapUrl>,

    /// The basemap's tile grid.
    #[arg(long, env = "LANDUSE_BASEMAP_GRID", value_enum, default_value_t = BasemapGrid::WebMercator)]
    pub basemap_grid: BasemapGrid,

    /// The basemap's attribution (its provider and 审图号), shown on the map.
    #[arg(long, env = "LANDUSE_BASEMAP_ATTRIBUTION", default_value = "")]
    pub basemap_attribution: String,

    /// The folder holding NotoSansCJK-Regular.ttc and NotoSansCJK-Bold.ttc (Debian's
    /// fonts-noto-cjk), read once when the first report is printed.
    #[arg(
        long,
        env = "LANDUSE_FONT_DIR",
        default_value = "/usr/share/fonts/opentype/noto"
    )]
    pub font_dir: PathBuf,

    /// Reports compiled at the same time; more wait their turn (each takes a CPU core while it
    /// compiles).
    #[arg(long, env = "LANDUSE_REPORT_CONCURRENCY", default_value_t = 2)]
    pub report_concurrency: usize,
}

impl Default for ReviewArgs {
    /// The defaults of the flags: no basemap, Debian's font folder, two reports at a time.
    fn default() -> Self {
        Self {
            basemap_url: None,
            basemap_grid: BasemapGrid::WebMercator,
            basemap_attribution: String::new(),
            font_dir: PathBuf::from("/usr/share/fonts/opentype/noto"),
            report_concurrency: 2,
        }
    }
}

/// Options of the sweeper that raises alerts, delivers them and takes the weekly dispatch
/// snapshot: `landuse serve` runs it in the background, `landuse sweep` on its own.
///
/// These sit beside [`ServeArgs`] rather than inside it so that a `landuse sweep` run from cron
/// takes the same flags and variables as the server.
#[derive(Debug, Clone, Args)]
pub struct TimerArgs {
    /// Seconds between sweeps; 0 runs no sweeper in this process.
    #[arg(long, env = "LANDUSE_SWEEP_INTERVAL_S", default_value_t = 60)]
    pub sweep_interval_s: u64,

    /// Webhooks every alert is posted to (repeat the flag, or separate with commas).
    #[arg(long = "webhook-url", env = "LANDUSE_WEBHOOK_URLS", value_delimiter = ',')]
    pub webhook_urls: Vec<reqwest::Url>,

    /// The key of the HMAC-SHA256 signature on each webhook request; required with webhooks.
    #[arg(long, env = "LANDUSE_WEBHOOK_SECRET")]
    pub webhook_secret: Option<Secret>,

    /// Failed attempts after which a webhook delivery is dead-lettered.
    #[arg(long, env = "LANDUSE_WEBHOOK_MAX_ATTEMPTS", default_value_t = 8)]
    pub webhook_max_attempts: u32,

    /// Wait before the first retry, in seconds; it doubles with each further failure.
    #[arg(long, env = "LANDUSE_WEBHOOK_BACKOFF_S", default_value_t = 30)]
    pub webhook_backoff_s: u64,

    /// Longest a webhook may take to answer, in seconds.
    #[arg(long, env = "LANDUSE_WEBHOOK_TIMEOUT_S", default_value_t = 10)]
    pub webhook_timeout_s: u64,

    /// Day of the weekly dispatch snapshot (mon … sun), Asia/Shanghai.
    #[arg(long, env = "LANDUSE_DISPATCH_DAY", default_value = "mon")]
    pub dispatch_day: String,

    /// Time of day of the weekly dispatch snapshot (HH:MM), Asia/Shanghai.
    #[arg(long, env = "LANDUSE_DISPATCH_TIME", default_value = "09:00")]
    pub dispatch_time: String,

    /// Testing and drill aid: start the service's clock at this RFC 3339 instant instead of
    /// the system time (it runs on from there). Never set it in production.
    #[arg(long, env = "LANDUSE_CLOCK_START")]
    pub clock_start: Option<chrono::DateTime<chrono::Utc>>,
}

/// Everything `landuse serve` runs with.
#[derive(Debug, Clone)]
pub struct Config {
    /// The database.
    pub database: DatabaseArgs,
    /// The HTTP side.
    pub serve: ServeArgs,
}

impl Config {
    /// The request timeout as a duration.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.serve.request_timeout_s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_url_prints_without_its_password() {
        let url = DatabaseUrl::new("postgres://app:s3cret@db.example:5432/landuse");
        assert_eq!(url.redacted(), "postgres://app:***@db.example:5432/landuse");
        assert!(!format!("{url:?}").contains("s3cret"));
    }

    #[test]
    fn a_database_url_without_password_prints_as_is() {
        let url = DatabaseUrl::new("postgres://postgres@127.0.0.1:55432/landuse");
        assert_eq!(url.redacted(), "postgres://postgres@127.0.0.1:55432/landuse");
    }

    #[test]
    fn a_secret_never_prints_its_value() {
        assert_eq!(format!("{:?}", Secret::new("token")), "\"[redacted]\"");
    }
}
