//! Where reads go: the primary, or one of the PostgreSQL streaming replicas of
//! `DATABASE_READ_URL` (docs/scaling.md).
//!
//! A background task ([`ReadNodes::spawn_monitor`]) measures every replica's replay lag each
//! `LANDUSE_REPLICA_CHECK_MS`: it samples the primary's WAL position, and a replica's lag is how
//! long ago the primary had written WAL the replica has not replayed yet. A replica that does
//! not answer, is not a standby, or lags more than `LANDUSE_REPLICA_MAX_LAG_MS` is left out
//! until a later check finds it caught up; reads then go to the primary. While the primary
//! itself does not answer, every reachable standby is used, lag unknown: reads keep answering.
//!
//! Read-your-writes: a write's answer carries the primary's WAL position after its commit in
//! [`LSN_HEADER`]; a read that sends it back is served by a replica only once that replica has
//! replayed the position (waiting at most `LANDUSE_REPLICA_WAIT_MS`), else by the primary.
//!
//! What stays on the primary whatever the configuration: every write, authentication's rate
//! limit (an unlogged table, which a standby cannot read), idempotency records, the sweeper, and
//! control-layer tiles (they are kept in `layer_tiles` as they are drawn).

use std::{
    collections::VecDeque,
    fmt,
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc, Mutex, PoisonError,
    },
    time::{Duration, Instant},
};

use axum::{
    extract::FromRequestParts,
    http::{request::Parts, HeaderName},
};
use serde::Serialize;
use sqlx::{
    pool::PoolConnection,
    postgres::{PgConnectOptions, PgPoolOptions},
    ConnectOptions, PgPool, Postgres, Transaction,
};

use crate::{
    config::{DatabaseArgs, DatabaseUrl, ReplicaArgs},
    db::{self, Scope},
    http::error::ApiError,
    store::{replication, DbError},
};

/// The header a write's answer carries (the primary's WAL position after the commit) and a
/// read may send back to see that write.
pub const LSN_HEADER: HeaderName = HeaderName::from_static("x-landuse-lsn");

/// A position in PostgreSQL's write-ahead log, written as PostgreSQL writes a `pg_lsn`
/// (`16/B374D848`: the high and low 32 bits in hexadecimal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Lsn(u64);

/// Why a text is not a WAL position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a WAL position; it reads like 16/B374D848 (two hexadecimal numbers)")]
pub struct LsnError(String);

impl Lsn {
    /// Parses `HIGH/LOW` in hexadecimal, each at most 32 bits.
    ///
    /// # Errors
    /// Anything else.
    ///
    /// ```
    /// use landuse_api::reads::Lsn;
    /// let lsn = Lsn::parse("16/B374D848").unwrap();
    /// assert_eq!(lsn.to_string(), "16/B374D848");
    /// assert!(Lsn::parse("16/B374D849").unwrap() > lsn);
    /// assert!(Lsn::parse("16").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Self, LsnError> {
        let error = || LsnError(text.to_owned());
        let (high, low) = text.trim().split_once('/').ok_or_else(error)?;
        let part = |p: &str| {
            if p.is_empty() || p.len() > 8 {
                return Err(error());
            }
            u32::from_str_radix(p, 16).map_err(|_| error())
        };
        Ok(Self((u64::from(part(high)?) << 32) | u64::from(part(low)?)))
    }
}

impl fmt::Display for Lsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 & 0xFFFF_FFFF)
    }
}

/// The node a read ran on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Node {
    /// The primary of `DATABASE_URL`.
    Primary,
    /// The replica at this index of `DATABASE_READ_URL`.
    Replica(usize),
}

/// Where the router's retry layer learns which node served a read (see [`ReadHint`]).
#[derive(Debug, Clone, Default)]
pub struct ServedBy(Arc<Mutex<Option<Node>>>);

impl ServedBy {
    /// The node the request's read transaction began on, if one began.
    pub fn node(&self) -> Option<Node> {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn record(&self, node: Node) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(node);
    }
}

/// A node the retry of a read must not use again: the replica that cancelled it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Avoid(pub Node);

/// What a read request asks of the node that serves it: to have replayed the write the client
/// saw (the [`LSN_HEADER`] it sent back), and not to be the replica that failed it before.
#[derive(Debug, Clone, Default)]
pub struct ReadHint {
    /// Serve only from a node that has replayed this position.
    pub after: Option<Lsn>,
    /// Do not serve from this node.
    pub avoid: Option<Node>,
    served: ServedBy,
}

impl ReadHint {
    /// A hint asking for nothing: any node in use may serve.
    pub fn any() -> Self {
        Self::default()
    }

    /// A hint asking for a node that has replayed `lsn`.
    pub fn after(lsn: Lsn) -> Self {
        Self {
            after: Some(lsn),
            ..Self::default()
        }
    }

    /// The node the read began on, once it began.
    pub fn served_by(&self) -> Option<Node> {
        self.served.node()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ReadHint {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let after = match parts.headers.get(&LSN_HEADER) {
            None => None,
            Some(value) => {
                let text = value.to_str().unwrap_or_default();
                Some(
                    Lsn::parse(text)
                        .map_err(|e| ApiError::invalid("invalid-lsn", LSN_HEADER.as_str(), e.to_string()))?,
                )
            }
        };
        Ok(Self {
            after,
            avoid: parts.extensions.get::<Avoid>().map(|a| a.0),
            served: parts.extensions.get::<ServedBy>().cloned().unwrap_or_default(),
        })
    }
}

/// What `/readyz` reports of one replica.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ReplicaReport {
    /// The replica's URL, its password replaced.
    pub replica: String,
    /// Whether reads are sent to it now.
    pub used: bool,
    /// Whether it answered the last check.
    pub reachable: bool,
    /// How far behind the primary its replay is, in milliseconds; null when it was not
    /// measured (the replica or the primary did not answer, or no check ran yet).
    pub lag_ms: Option<u64>,
    /// The WAL position it has replayed, as PostgreSQL writes it.
    pub replayed: Option<String>,
    /// Why it is left out, or why its lag is unknown.
    pub note: Option<String>,
}

#[derive(Debug, Clone)]
struct Health {
    used: bool,
    reachable: bool,
    replayed: Option<Lsn>,
    lag: Option<Duration>,
    note: Option<String>,
}

struct Replica {
    label: String,
    pool: PgPool,
    health: Mutex<Health>,
}

impl Replica {
    fn health(&self) -> Health {
        self.health.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Stores a check's result. The replayed position never moves back: a read that waited
    /// for its write may have seen a later one than a check that was already under way.
    fn set(&self, mut health: Health) {
        let mut current = self.health.lock().unwrap_or_else(PoisonError::into_inner);
        if let (Some(known), Some(checked)) = (current.replayed, health.replayed) {
            health.replayed = Some(known.max(checked));
        }
        *current = health;
    }

    /// Leaves the replica out after a read could not reach it; the next check decides again.
    fn leave_out(&self, why: String) {
        let mut health = self.health.lock().unwrap_or_else(PoisonError::into_inner);
        health.used = false;
        health.reachable = false;
        health.note = Some(why);
    }

    fn note_replayed(&self, lsn: Lsn) {
        let mut health = self.health.lock().unwrap_or_else(PoisonError::into_inner);
        if health.replayed.is_none_or(|known| known < lsn) {
            health.replayed = Some(lsn);
        }
    }
}

struct Inner {
    primary: PgPool,
    replicas: Vec<Replica>,
    max_lag: Duration,
    wait: Duration,
    check: Duration,
    next: AtomicUsize,
    primary_up: AtomicBool,
}

/// The primary's pool and one pool per replica, with what the monitor last measured.
/// Cheap to clone.
#[derive(Clone)]
pub struct ReadNodes {
    inner: Arc<Inner>,
}

impl fmt::Debug for ReadNodes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadNodes")
            .field(
                "replicas",
                &self.inner.replicas.iter().map(|r| &r.label).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// How long one check of one node may take before it counts as unreachable.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);
/// How often a read waiting for its write to be replayed asks the replica again.
const REPLAY_POLL: Duration = Duration::from_millis(10);

impl ReadNodes {
    /// Every read on the primary: no replica configured.
    pub fn primary_only(primary: PgPool) -> Self {
        Self::with_replicas(primary, Vec::new(), &ReplicaArgs::default())
    }

    /// The primary and a lazy pool per replica URL, connecting like the primary's pool does
    /// (statement timeout, time zone, role). Replicas are unused until the first check.
    ///
    /// # Errors
    /// A replica URL that cannot be parsed.
    pub fn new(primary: PgPool, database: &DatabaseArgs, args: &ReplicaArgs) -> Result<Self, sqlx::Error> {
        let mut replicas = Vec::with_capacity(args.read_urls.len());
        for url in &args.read_urls {
            replicas.push(Replica {
                label: url.redacted(),
                pool: replica_pool(url, database, args.replica_pool_size)?,
                health: Mutex::new(Health {
                    used: false,
                    reachable: false,
                    replayed: None,
                    lag: None,
                    note: Some("not checked yet".to_owned()),
                }),
            });
        }
        Ok(Self::with_replicas(primary, replicas, args))
    }

    fn with_replicas(primary: PgPool, replicas: Vec<Replica>, args: &ReplicaArgs) -> Self {
        Self {
            inner: Arc::new(Inner {
                primary,
                replicas,
                max_lag: Duration::from_millis(args.max_lag_ms),
                wait: Duration::from_millis(args.wait_ms),
                check: Duration::from_millis(args.check_ms.max(10)),
                next: AtomicUsize::new(0),
                primary_up: AtomicBool::new(true),
            }),
        }
    }

    /// The primary's pool: writes and everything that must not read stale data.
    pub fn primary(&self) -> &PgPool {
        &self.inner.primary
    }

    /// Whether any replica is configured.
    pub fn has_replicas(&self) -> bool {
        !self.inner.replicas.is_empty()
    }

    /// Whether the primary answered its last check (true before the first one).
    pub fn primary_up(&self) -> bool {
        self.inner.primary_up.load(Ordering::Relaxed)
    }

    /// What `/readyz` shows: each replica, whether it is used, and its lag.
    pub fn report(&self) -> Vec<ReplicaReport> {
        self.inner
            .replicas
            .iter()
            .map(|replica| {
                let health = replica.health();
                ReplicaReport {
                    replica: replica.label.clone(),
                    used: health.used,
                    reachable: health.reachable,
                    lag_ms: health
                        .lag
                        .map(|lag| u64::try_from(lag.as_millis()).unwrap_or(u64::MAX)),
                    replayed: health.replayed.map(|lsn| lsn.to_string()),
                    note: health.note,
                }
            })
            .collect()
    }

    /// The replicas in use and not to be avoided, starting from the next in turn.
    fn candidates(&self, avoid: Option<Node>) -> Vec<usize> {
        let count = self.inner.replicas.len();
        if count == 0 {
            return Vec::new();
        }
        let start = self.inner.next.fetch_add(1, Ordering::Relaxed) % count;
        (0..count)
            .map(|k| (start + k) % count)
            .filter(|&i| avoid != Some(Node::Replica(i)) && self.inner.replicas[i].health().used)
            .collect()
    }

    /// Begins a read transaction scoped to `scope` on the node `hint` allows: a replica in use
    /// (one that has replayed `hint.after`, waiting a bounded time for it), else the primary;
    /// when the primary cannot be reached either, a replica in use even if it has not replayed
    /// `hint.after`, since an answer a moment old beats none. Records the node in `hint`.
    ///
    /// # Errors
    /// Database failures of the last node tried.
    pub async fn begin(
        &self,
        scope: &Scope,
        hint: &ReadHint,
    ) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        let candidates = self.candidates(hint.avoid);
        let mut behind = Vec::new();
        let mut waited = false;
        for &i in &candidates {
            let replica = &self.inner.replicas[i];
            if let Some(after) = hint.after {
                // Only the first replica is waited for, so a read waits at most once.
                let wait = if waited { Duration::ZERO } else { self.inner.wait };
                waited = true;
                if !self.replayed(replica, after, wait).await {
                    behind.push(i);
                    continue;
                }
            }
            match db::begin_scoped(&replica.pool, scope).await {
                Ok(tx) => {
                    hint.served.record(Node::Replica(i));
                    return Ok(tx);
                }
                Err(error) => {
                    tracing::warn!(replica = %replica.label, %error, "a replica failed a read; reading elsewhere");
                    replica.leave_out(format!("failed a read: {error}"));
                }
            }
        }
        match db::begin_scoped(&self.inner.primary, scope).await {
            Ok(tx) => {
                hint.served.record(Node::Primary);
                Ok(tx)
            }
            Err(error) => {
                for i in behind {
                    if let Ok(tx) = db::begin_scoped(&self.inner.replicas[i].pool, scope).await {
                        tracing::warn!(%error, "the primary failed a read; a replica behind the client's write serves it");
                        hint.served.record(Node::Replica(i));
                        return Ok(tx);
                    }
                }
                Err(error)
            }
        }
    }

    /// Whether `replica` has replayed `lsn`, asking it again every few milliseconds for at most
    /// `wait`.
    async fn replayed(&self, replica: &Replica, lsn: Lsn, wait: Duration) -> bool {
        if replica.health().replayed.is_some_and(|known| known >= lsn) {
            return true;
        }
        let deadline = Instant::now() + wait;
        let Ok(mut conn) = replica.pool.acquire().await else {
            return false;
        };
        loop {
            if let Ok(Some(text)) = replication::replay_lsn(&mut conn).await {
                if let Ok(replayed) = Lsn::parse(&text) {
                    replica.note_replayed(replayed);
                    if replayed >= lsn {
                        return true;
                    }
                }
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            tokio::time::sleep(REPLAY_POLL.min(deadline - now)).await;
        }
    }

    /// A connection for authentication: the primary (whose connection then also counts the
    /// rate limit), or, for a read while the primary does not answer, a replica in use.
    /// Returns whether the connection is the primary's.
    ///
    /// # Errors
    /// Database failures of the last node tried.
    pub async fn auth_connection(&self, read: bool) -> Result<(PoolConnection<Postgres>, bool), sqlx::Error> {
        if read && !self.primary_up() {
            for i in self.candidates(None) {
                if let Ok(conn) = self.inner.replicas[i].pool.acquire().await {
                    return Ok((conn, false));
                }
            }
        }
        match self.inner.primary.acquire().await {
            Ok(conn) => Ok((conn, true)),
            Err(error) if read => {
                for i in self.candidates(None) {
                    if let Ok(conn) = self.inner.replicas[i].pool.acquire().await {
                        return Ok((conn, false));
                    }
                }
                Err(error)
            }
            Err(error) => Err(error),
        }
    }

    /// The primary's WAL position now: right after a commit, at or past that commit.
    ///
    /// # Errors
    /// Database failures.
    pub async fn primary_lsn(&self) -> Result<Lsn, DbError> {
        let mut conn = self.inner.primary.acquire().await.map_err(|source| DbError {
            doing: "reading the primary's WAL position",
            source,
        })?;
        let text = replication::current_wal_lsn(&mut conn).await?;
        Lsn::parse(&text).map_err(|e| DbError {
            doing: "reading the primary's WAL position",
            source: sqlx::Error::Decode(Box::new(e)),
        })
    }

    /// Measures the primary's position and every replica's replay once, and decides which
    /// replicas are used. `samples` holds the primary positions of earlier checks.
    pub async fn check(&self, samples: &mut VecDeque<(Instant, Lsn)>) {
        let primary = tokio::time::timeout(CHECK_TIMEOUT, self.primary_lsn()).await;
        let sampled_at = Instant::now();
        match primary {
            Ok(Ok(lsn)) => {
                if !self.primary_up() {
                    tracing::info!("the primary answers again");
                }
                self.inner.primary_up.store(true, Ordering::Relaxed);
                samples.push_back((sampled_at, lsn));
                let keep = self.inner.max_lag + 4 * self.inner.check;
                while samples.len() > 1
                    && samples
                        .front()
                        .is_some_and(|(t, _)| sampled_at.duration_since(*t) > keep)
                {
                    samples.pop_front();
                }
            }
            Ok(Err(error)) => self.primary_down(&error.to_string(), samples),
            Err(_) => self.primary_down("no answer within 2 s", samples),
        }
        let primary_up = self.primary_up();
        for replica in &self.inner.replicas {
            let replayed = tokio::time::timeout(CHECK_TIMEOUT, async {
                let mut conn = replica.pool.acquire().await.map_err(|source| DbError {
                    doing: "connecting to the replica",
                    source,
                })?;
                replication::replay_lsn(&mut conn).await
            })
            .await;
            let health = match replayed {
                Err(_) => unreachable_health("no answer within 2 s"),
                Ok(Err(error)) => unreachable_health(&error.to_string()),
                Ok(Ok(None)) => Health {
                    used: false,
                    reachable: true,
                    replayed: None,
                    lag: None,
                    note: Some("not a standby: it is not in recovery".to_owned()),
                },
                Ok(Ok(Some(text))) => match Lsn::parse(&text) {
                    Err(e) => unreachable_health(&e.to_string()),
                    Ok(replayed) if primary_up => {
                        let now = Instant::now();
                        let lag = lag_of(samples, replayed, now);
                        let used = lag <= self.inner.max_lag;
                        Health {
                            used,
                            reachable: true,
                            replayed: Some(replayed),
                            lag: Some(lag),
                            note: (!used).then(|| {
                                format!(
                                    "left out: its replay lags {} ms, more than the {} ms allowed",
                                    lag.as_millis(),
                                    self.inner.max_lag.as_millis()
                                )
                            }),
                        }
                    }
                    Ok(replayed) => Health {
                        used: true,
                        reachable: true,
                        replayed: Some(replayed),
                        lag: None,
                        note: Some(
                            "the primary does not answer: lag unknown, the replica serves reads".to_owned(),
                        ),
                    },
                },
            };
            let was_used = replica.health().used;
            if was_used != health.used {
                tracing::info!(replica = %replica.label, used = health.used, note = ?health.note, "replica use changed");
            }
            replica.set(health);
        }
    }

    fn primary_down(&self, why: &str, samples: &mut VecDeque<(Instant, Lsn)>) {
        if self.primary_up() {
            tracing::warn!(
                reason = why,
                "the primary does not answer; reads go to the replicas"
            );
        }
        self.inner.primary_up.store(false, Ordering::Relaxed);
        samples.clear();
    }

    /// Checks the nodes every `LANDUSE_REPLICA_CHECK_MS` in the background until the process
    /// ends. Nothing runs without replicas.
    pub fn spawn_monitor(&self) -> Option<tokio::task::JoinHandle<()>> {
        if !self.has_replicas() {
            return None;
        }
        let nodes = self.clone();
        Some(tokio::spawn(async move {
            let mut samples = VecDeque::new();
            let mut ticks = tokio::time::interval(nodes.inner.check);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                nodes.check(&mut samples).await;
            }
        }))
    }
}

fn unreachable_health(why: &str) -> Health {
    Health {
        used: false,
        reachable: false,
        replayed: None,
        lag: None,
        note: Some(format!("unreachable: {why}")),
    }
}

/// How long ago the primary had written WAL past `replayed`: the age of the oldest sample
/// beyond it; zero when the replica has replayed every sample.
fn lag_of(samples: &VecDeque<(Instant, Lsn)>, replayed: Lsn, now: Instant) -> Duration {
    samples
        .iter()
        .find(|(_, lsn)| *lsn > replayed)
        .map_or(Duration::ZERO, |(at, _)| now.saturating_duration_since(*at))
}

fn replica_pool(url: &DatabaseUrl, database: &DatabaseArgs, size: u32) -> Result<PgPool, sqlx::Error> {
    let options: PgConnectOptions = url
        .expose()
        .parse::<PgConnectOptions>()?
        .options([
            ("statement_timeout", database.statement_timeout_ms.to_string()),
            ("timezone", "Asia/Shanghai".to_owned()),
        ])
        .log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_secs(2));
    let role = database.db_role.clone().filter(|r| !r.is_empty());
    // A replica that does not answer is given up on quickly: the read goes elsewhere.
    Ok(PgPoolOptions::new()
        .max_connections(size)
        .acquire_timeout(Duration::from_secs(1))
        .after_connect(move |conn, _meta| {
            let role = role.clone();
            Box::pin(async move {
                if let Some(role) = role {
                    crate::store::session::switch_role(conn, &role).await?;
                }
                Ok(())
            })
        })
        .connect_lazy_with(options))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_wal_position_reads_and_prints_as_postgresql_writes_it() {
        for text in ["0/0", "0/16B3748", "16/B374D848", "FFFFFFFF/FFFFFFFF"] {
            assert_eq!(Lsn::parse(text).unwrap().to_string(), text);
        }
        assert!(Lsn::parse("1/0").unwrap() > Lsn::parse("0/FFFFFFFF").unwrap());
        for bad in ["", "16", "/1", "1/", "G/1", "1/2/3", "100000000/0", "-1/0"] {
            assert!(Lsn::parse(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn a_replica_lags_by_the_age_of_the_oldest_primary_position_it_has_not_replayed() {
        let now = Instant::now();
        let at = |ago_ms: u64| now.checked_sub(Duration::from_millis(ago_ms)).unwrap();
        let samples: VecDeque<_> = [(at(3000), Lsn(100)), (at(2000), Lsn(200)), (at(1000), Lsn(300))].into();
        assert_eq!(lag_of(&samples, Lsn(300), now), Duration::ZERO);
        assert_eq!(lag_of(&samples, Lsn(400), now), Duration::ZERO);
        assert_eq!(lag_of(&samples, Lsn(250), now), Duration::from_secs(1));
        assert_eq!(lag_of(&samples, Lsn(150), now), Duration::from_secs(2));
        assert_eq!(lag_of(&samples, Lsn(50), now), Duration::from_secs(3));
    }
}
