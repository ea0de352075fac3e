//! The router, its shared state, and the running server.

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use axum::{
    body::Body,
    error_handling::HandleErrorLayer,
    extract::{DefaultBodyLimit, Request, State},
    http::{header, HeaderName, StatusCode},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    serve::ListenerExt,
    BoxError, Router,
};
use sqlx::{PgPool, Postgres, Transaction};
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::{
    limit::RequestBodyLimitLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer},
    trace::{DefaultOnFailure, TraceLayer},
};

use utoipa::OpenApi;
use utoipa_axum::{router::OpenApiRouter, routes};
use utoipa_swagger_ui::SwaggerUi;

use crate::{
    auth::Caller,
    clock::Clock,
    config::Config,
    db, health,
    http::error::{ApiError, RecoveryConflict},
    openapi,
    problem::Problem,
    reads::{Avoid, Node, ReadHint, ReadNodes, ServedBy, LSN_HEADER},
};

/// The header that carries each request's id, set here when the client sends none.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// What every handler can reach. Cheap to clone; holds no per-process state of its own,
/// so any number of replicas can serve behind a load balancer.
#[derive(Clone)]
pub struct AppState {
    /// The primary's pool: every write, and the reads that must see them.
    pub db: PgPool,
    /// The primary and the streaming replicas the read-heavy paths read from.
    pub reads: ReadNodes,
    /// The configuration, read once at start.
    pub config: Arc<Config>,
    /// Where "now" comes from.
    pub clock: Clock,
}

impl AppState {
    /// State whose reads all go to the primary `db` (no replica).
    pub fn new(db: PgPool, config: Arc<Config>, clock: Clock) -> Self {
        Self {
            reads: ReadNodes::primary_only(db.clone()),
            db,
            config,
            clock,
        }
    }

    /// Starts a read-only transaction scoped to `caller`'s counties on a replica in use, or
    /// on the primary (see [`ReadNodes::begin`]): for reads that do not follow a write of the
    /// same request. `hint` carries the client's last write position.
    ///
    /// # Errors
    /// Database failures, as 503.
    pub async fn read_for(
        &self,
        caller: &Caller,
        hint: &ReadHint,
    ) -> Result<Transaction<'static, Postgres>, ApiError> {
        self.reads
            .begin(&caller.scope(), hint)
            .await
            .map_err(|e| ApiError::db("starting a read", e))
    }

    /// Starts a transaction that sees and may change what `caller`'s counties hold: every
    /// handler reads and writes through one, so row-level security backs its filters.
    ///
    /// # Errors
    /// Database failures, as 503.
    pub async fn begin_for(&self, caller: &Caller) -> Result<Transaction<'static, Postgres>, ApiError> {
        db::begin_scoped(&self.db, &caller.scope())
            .await
            .map_err(|e| ApiError::db("starting a transaction", e))
    }
}

/// The whole HTTP surface, without a listener: tests call it with `oneshot`.
pub fn app(state: AppState) -> Router {
    let timeout = state.config.request_timeout();
    let body_limit = state.config.serve.body_limit;
    let (api, doc) = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .nest(
            "/api/v1",
            crate::workflow::routes()
                .merge(crate::quota::routes())
                .merge(crate::supply::routes())
                .merge(crate::calendar::routes())
                .merge(crate::review::api_routes(&state.config)),
        )
        .merge(crate::timers::routes())
        .split_for_parts();
    let doc = openapi::finish(doc);
    let reads = state.reads.clone();
    api.merge(SwaggerUi::new(openapi::DOCS_PATH).url(openapi::OPENAPI_PATH, doc))
        .nest("/ogc", crate::ogc::routes())
        .merge(crate::review::routes(&state.config))
        .fallback(not_found)
        .with_state(state)
        .layer(middleware::from_fn_with_state(
            reads.clone(),
            retry_recovery_conflict,
        ))
        .layer(middleware::from_fn_with_state(reads, write_position))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
                .layer(
                    // 5xx answers are logged as warnings here: a 503 while the database restarts
                    // is expected; a real fault is logged as an error where it happens.
                    TraceLayer::new_for_http()
                        .on_failure(DefaultOnFailure::new().level(tracing::Level::WARN))
                        .make_span_with(|request: &Request<Body>| {
                            let id = request
                                .extensions()
                                .get::<RequestId>()
                                .and_then(|id| id.header_value().to_str().ok())
                                .unwrap_or("-");
                            tracing::info_span!(
                                "request",
                                method = %request.method(),
                                path = %request.uri().path(),
                                request_id = %id,
                            )
                        }),
                )
                .layer(PropagateRequestIdLayer::new(REQUEST_ID))
                .layer(middleware::from_fn(problem_for_plain_errors))
                .layer(HandleErrorLayer::new(timeout_problem))
                .timeout(timeout)
                .layer(RequestBodyLimitLayer::new(body_limit))
                .layer(DefaultBodyLimit::max(body_limit)),
        )
}

/// Gives every successful write's answer the primary's WAL position after its commit, in
/// `X-Landuse-LSN`: a read that sends it back is served only by a node that has replayed it.
async fn write_position(State(reads): State<ReadNodes>, request: Request, next: Next) -> Response {
    let write = !request.method().is_safe();
    let mut response = next.run(request).await;
    if write && response.status().is_success() {
        match reads.primary_lsn().await {
            Ok(lsn) => {
                if let Ok(value) = header::HeaderValue::from_str(&lsn.to_string()) {
                    response.headers_mut().insert(LSN_HEADER, value);
                }
            }
            Err(error) => tracing::warn!(%error, "the write's WAL position could not be read"),
        }
    }
    response
}

/// Runs a read a second time, away from the replica that served it, when that replica
/// cancelled it for a recovery conflict (its replay needed what the read held). A read whose
/// answer had started streaming cannot be taken back and is not retried.
async fn retry_recovery_conflict(State(reads): State<ReadNodes>, request: Request, next: Next) -> Response {
    if !reads.has_replicas() || !request.method().is_safe() {
        return next.run(request).await;
    }
    let (mut parts, body) = request.into_parts();
    let again = parts.clone();
    let served = ServedBy::default();
    parts.extensions.insert(served.clone());
    let response = next.clone().run(Request::from_parts(parts, body)).await;
    match (response.extensions().get::<RecoveryConflict>(), served.node()) {
        (Some(_), Some(node @ Node::Replica(_))) => {
            tracing::warn!(
                ?node,
                "a replica cancelled a read for a recovery conflict; reading once more elsewhere"
            );
            let mut parts = again;
            parts.extensions.insert(Avoid(node));
            parts.extensions.insert(ServedBy::default());
            next.run(Request::from_parts(parts, Body::empty())).await
        }
        _ => response,
    }
}

async fn not_found() -> Problem {
    Problem::new(StatusCode::NOT_FOUND, "not-found", "Not found")
        .with_detail("there is no resource at this path")
}

async fn timeout_problem(error: BoxError) -> Problem {
    if error.is::<tower::timeout::error::Elapsed>() {
        Problem::new(StatusCode::SERVICE_UNAVAILABLE, "timeout", "Request timed out")
            .with_detail("the request took longer than the server allows; try again")
            .retry_after(1)
    } else {
        tracing::error!(%error, "middleware failed");
        Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "Internal error")
    }
}

/// Gives the errors that layers and extractors answer with plain text (413 from the body
/// limit, 405 from the router, 415/422 from extractors) the API's problem+json shape, and
/// makes every 5xx opaque with the request id as its trace id.
async fn problem_for_plain_errors(request: Request, next: Next) -> Response {
    let trace_id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .map(ToOwned::to_owned);
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|ct| ct.as_bytes().starts_with(b"application/problem+json"));
    if status.is_server_error() {
        if is_problem {
            return response;
        }
        tracing::error!(status = status.as_u16(), "server error");
        let mut problem = Problem::new(status, "internal", "Internal error")
            .with_detail("the server failed; quote the trace id when reporting it");
        if let Some(id) = trace_id {
            problem = problem.with("trace_id", id);
        }
        return problem.into_response();
    }
    // A review page answers its own 401/403/404 as HTML (a sign-in form, a "not found" page).
    let is_page = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|ct| ct.as_bytes().starts_with(b"text/html"));
    if is_problem || is_page {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024).await.unwrap_or_default();
    let detail = String::from_utf8_lossy(&text).trim().to_owned();
    let (slug, title) = match status {
        StatusCode::PAYLOAD_TOO_LARGE => ("too-large", "Request body too large"),
        StatusCode::METHOD_NOT_ALLOWED => ("method-not-allowed", "Method not allowed"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ("unsupported-media-type", "Unsupported media type"),
        StatusCode::UNPROCESSABLE_ENTITY => ("invalid-body", "Invalid request body"),
        StatusCode::BAD_REQUEST => ("bad-request", "Bad request"),
        _ => ("client-error", "Client error"),
    };
    let mut problem = Problem::new(status, slug, title);
    if !detail.is_empty() {
        problem = problem.with_detail(detail);
    }
    let mut out = problem.into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut().insert(name.clone(), value.clone());
        }
    }
    out
}

/// A bound, not yet running server.
pub struct Application {
    listener: TcpListener,
    router: Router,
    grace: Duration,
    state: AppState,
    monitor: Option<tokio::task::JoinHandle<()>>,
}

impl Application {
    /// Connects the (lazy) pool and binds the listener; port 0 picks a free port.
    ///
    /// # Errors
    /// When the database URL is malformed or the address cannot be bound.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let db = db::lazy_pool(&config.database)?;
        let listener = TcpListener::bind(config.serve.listen)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.serve.listen))?;
        let grace = Duration::from_secs(config.serve.shutdown_grace_s);
        let reads = ReadNodes::new(db.clone(), &config.database, &config.serve.replicas)?;
        let monitor = reads.spawn_monitor();
        let state = AppState {
            db,
            reads,
            config: Arc::new(config),
            clock: Clock::system(),
        };
        Ok(Self {
            listener,
            router: app(state.clone()),
            grace,
            state,
            monitor,
        })
    }

    /// The state the router serves with: the sweeper shares its pool and clock.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The address actually bound.
    ///
    /// # Errors
    /// When the socket cannot report it.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` resolves, then stops accepting and lets in-flight requests
    /// finish (up to the configured grace period).
    ///
    /// # Errors
    /// When the server fails.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
        // TCP_NODELAY on every accepted connection: a streamed answer is written in several
        // pieces, and with Nagle's algorithm on, each piece after the first waited for the
        // client's delayed ACK (40 ms on Linux). One client's bbox reads took 44 ms at p50 where
        // the SQL takes 4 (docs/performance.md, "bbox items").
        let listener = self.listener.tap_io(|tcp| {
            if let Err(error) = tcp.set_nodelay(true) {
                tracing::warn!(%error, "could not set TCP_NODELAY on a connection");
            }
        });
        let server = axum::serve(listener, self.router).with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!("shutting down: finishing in-flight requests");
            let _ = stopping_tx.send(());
        });
        let grace = self.grace;
        let _monitor = self.monitor.map(AbortOnDrop);
        tokio::select! {
            result = server => result.map_err(anyhow::Error::from),
            () = async move {
                let _ = stopping_rx.await;
                tokio::time::sleep(grace).await;
            } => {
                tracing::warn!(grace_s = grace.as_secs(), "in-flight requests did not finish in time");
                Ok(())
            }
        }
    }
}

/// Stops the replica monitor when the server stops.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Resolves on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
