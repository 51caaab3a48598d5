//! `slaplan serve`: the production gateway. An OpenAI-compatible HTTP
//! server that drives the vetted router core ([`crate::policy::Router`],
//! built from the very scenario `slaplan run` judged) on real traffic.
//!
//! Code map:
//! - `config`: the scenario's serving tables and the environment resolved
//!   into upstream targets and tenant key digests; [`GatewayError`];
//! - `auth`: tenant by `Authorization: Bearer` key, constant time;
//! - `request`: a chat request's body and headers read into what the
//!   router is asked, or the client's 400/404 (pure, fuzzed);
//! - `http`: the routes (`/v1/chat/completions`, `/v1/models`,
//!   `/healthz`, `/metrics`);
//! - `driver`: the one task that owns the router (submit, outcomes, first
//!   tokens, cancellation, its timer) and carries out its actions;
//! - `core_api`: the router inputs of issue 10, in one place;
//! - `upstream`: one attempt sent to an upstream, streamed or not;
//! - `metrics`, `logs`: Prometheus metrics, the audit and request logs;
//! - `sessions`: the endpoint each client session was last sent to (for
//!   the router's session affinity), bounded;
//! - `wire`: the OpenAI wire format; `secret`: keys that never print;
//! - `listen`: the HTTP/1.1 accept loop with header timeouts and a
//!   graceful drain; `clock`: the one wall clock (shared with `emulate`).
//!
//! **Architecture Invariant:** no routing logic lives here. Every decision
//! (endpoint, retry, fallback, hedge, shed, suspend, deadline) is the
//! router's; the gateway reports what it observed and carries out actions.
//!
//! **Architecture Invariant:** upstream keys come from the environment
//! only, are sent only to their upstream, and never appear in a log, a
//! metric or an answer ([`secret::Secret`] prints as `[redacted]`; error
//! bodies passed on are scrubbed).

mod auth;
pub mod clock;
mod config;
mod core_api;
mod driver;
mod http;
pub mod listen;
mod logs;
pub mod metrics;
pub mod request;
mod secret;
mod sessions;
mod upstream;
pub mod wire;

use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;

pub use config::{GatewayError, ServeSettings};
pub use listen::{ConnLimits, Drained};
pub use logs::{FallbackField, FallbackLine, RequestLine, rfc3339};

use crate::policy::{EndpointId, Router};
use crate::scenario::Scenario;

/// The router configuration served: the scenario's, exactly as the
/// simulator loads it (first-token timers included: the simulator reports
/// first tokens too).
pub fn serving_config(scenario: &Scenario) -> crate::policy::RouterConfig {
    scenario.router_config()
}

/// A gateway bound to its listener, ready to run.
pub struct Gateway {
    listener: TcpListener,
    app: axum::Router,
    driver: driver::Driver,
    inbox: driver::Inbox,
    limits: ConnLimits,
    reloader: Reloader,
    /// Tells the driver to stop once the connections are drained.
    stop: tokio::sync::mpsc::Sender<driver::Command>,
}

/// What the handlers read of a scenario.
fn serving(scenario: &Arc<Scenario>, resolved: &config::Resolved, router: &Router) -> http::Serving {
    let chains = scenario
        .tenants
        .iter()
        .map(|t| {
            let mut steps: Vec<(EndpointId, String)> = Vec::new();
            for c in &t.chain {
                if let Some(id) = router.endpoint_id(&c.endpoint)
                    && !steps.iter().any(|(e, _)| *e == id)
                {
                    steps.push((id, c.endpoint.clone()));
                }
            }
            steps
        })
        .collect();
    http::Serving {
        scenario: Arc::clone(scenario),
        keys: auth::Keys::new(resolved.tenant_keys.clone()),
        expected_output: resolved.expected_output.clone(),
        chains,
    }
}

/// Applies a new scenario to a running gateway (`SIGHUP`).
#[derive(Clone)]
pub struct Reloader {
    /// Weak: a reloader does not keep a stopped gateway's driver alive.
    state: std::sync::Weak<http::AppState>,
    settings: ServeSettings,
}

impl Reloader {
    /// Serves `scenario` from now on, through [`Router::reload`]: the
    /// router keeps the state of what keeps its name (breakers, budgets,
    /// calls in flight). A reload must keep the tenants and endpoints (the
    /// same names in the same order; their settings, chains, keys and
    /// upstreams may change), and its latency and time-to-first-token
    /// thresholds must be histogram boundaries already. On any error
    /// nothing changes.
    pub async fn reload(
        &self,
        scenario: Scenario,
        env: &(dyn Fn(&str) -> Option<String> + Sync),
    ) -> Result<crate::policy::ReloadReport, GatewayError> {
        let state = self.state.upgrade().ok_or(GatewayError::Stopping)?;
        let old = state.serving();
        let names = |s: &Scenario| -> (Vec<String>, Vec<String>) {
            (
                s.tenants.iter().map(|t| t.name.clone()).collect(),
                s.endpoints.iter().map(|e| e.name.clone()).collect(),
            )
        };
        let (tenants, endpoints) = names(&scenario);
        let (old_tenants, old_endpoints) = names(&old.scenario);
        if tenants != old_tenants {
            return Err(GatewayError::Reshaped(format!(
                "tenants {old_tenants:?} became {tenants:?}"
            )));
        }
        if endpoints != old_endpoints {
            return Err(GatewayError::Reshaped(format!(
                "endpoints {old_endpoints:?} became {endpoints:?}"
            )));
        }
        let missing: Vec<String> = histogram_objectives(&scenario)
            .into_iter()
            .filter(|s| !state.metrics.has_bound(*s))
            .map(|s| s.to_string())
            .collect();
        if !missing.is_empty() {
            return Err(GatewayError::NewThreshold(missing.join(", ")));
        }
        let resolved = config::resolve(&scenario, &self.settings, env)?;
        let config = serving_config(&scenario);
        // The same checks the router will make, on a router of its own, so
        // that the chains below are the ones it applies.
        let fresh = Router::new(config.clone()).map_err(GatewayError::Router)?;
        let scenario = Arc::new(scenario);
        let serving = serving(&scenario, &resolved, &fresh);
        let (tx, rx) = tokio::sync::oneshot::channel();
        let reload = driver::Reload {
            scenario,
            config,
            upstreams: resolved.upstreams.clone(),
            scrubber: resolved.scrubber.clone(),
            reply: tx,
        };
        state
            .driver
            .commands
            .send(driver::Command::Reload(Box::new(reload)))
            .await
            .map_err(|_| GatewayError::Stopping)?;
        let report = rx
            .await
            .map_err(|_| GatewayError::Stopping)?
            .map_err(GatewayError::Router)?;
        *state.serving.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(serving);
        Ok(report)
    }
}

/// Every call latency and time-to-first-token threshold the scenario's
/// clauses name: each becomes a boundary of the gateway's histograms, so a
/// clause's own threshold can be monitored exactly. The buckets are fixed
/// at start; a reload keeps them.
pub fn histogram_objectives(scenario: &Scenario) -> Vec<crate::time::Span> {
    use crate::scenario::ClauseMetric;
    scenario
        .tenants
        .iter()
        .flat_map(|t| &t.clauses)
        .filter(|c| matches!(c.metric, ClauseMetric::Latency | ClauseMetric::Ttft))
        .filter_map(|c| c.threshold)
        .collect()
}

impl Gateway {
    /// Resolves `scenario` for serving (keys through `env`), builds the
    /// router and the routes, and takes `listener`.
    pub fn new(
        scenario: Scenario,
        listener: TcpListener,
        settings: &ServeSettings,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Gateway, GatewayError> {
        let resolved = config::resolve(&scenario, settings, env)?;
        let router = Router::new(serving_config(&scenario)).map_err(GatewayError::Router)?;
        let client = reqwest::Client::builder()
            .tcp_nodelay(true)
            .pool_idle_timeout(std::time::Duration::from_secs(60))
            .build()
            .map_err(|e| GatewayError::Client(e.to_string()))?;
        let tenants: Vec<String> = scenario.tenants.iter().map(|t| t.name.clone()).collect();
        let endpoints: Vec<String> = scenario.endpoints.iter().map(|e| e.name.clone()).collect();
        let metrics = Arc::new(metrics::Metrics::new(
            &tenants,
            &endpoints,
            &histogram_objectives(&scenario),
        ));
        let audit = settings.audit_log.as_deref().map(logs::LogFile::create).transpose()?;
        let requests = settings.request_log.as_deref().map(logs::LogFile::create).transpose()?;
        let scenario = Arc::new(scenario);
        let serving = serving(&scenario, &resolved, &router);
        let (driver, handle, inbox) = driver::Driver::new(
            router,
            clock::Clock::start(),
            Arc::clone(&scenario),
            &resolved,
            client,
            Arc::clone(&metrics),
            audit,
            requests,
        );
        let state = Arc::new(http::AppState {
            serving: std::sync::RwLock::new(Arc::new(serving)),
            driver: handle.clone(),
            metrics,
        });
        let app = http::router(Arc::clone(&state), settings.body_limit);
        Ok(Gateway {
            reloader: Reloader {
                state: Arc::downgrade(&state),
                settings: settings.clone(),
            },
            listener,
            app,
            driver,
            inbox,
            limits: ConnLimits {
                header_timeout: settings.header_timeout,
                grace: settings.grace,
            },
            stop: handle.commands,
        })
    }

    /// A handle that reloads the scenario while the gateway runs.
    pub fn reloader(&self) -> Reloader {
        self.reloader.clone()
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` turns true, drains in-flight calls up to the
    /// grace period, stops the driver and writes out the logs.
    pub async fn run(self, shutdown: watch::Receiver<bool>) -> Result<Drained, GatewayError> {
        let driver = tokio::spawn(self.driver.run(self.inbox));
        let drained = listen::serve(self.listener, self.app, self.limits, shutdown)
            .await
            .map_err(GatewayError::Listen)?;
        // The grace period is over: the calls still in flight are ended
        // (and logged as `gateway_stopped`), the driver ends and its log
        // files are written out.
        let wait = std::time::Duration::from_secs(5);
        let _ = tokio::time::timeout(wait, self.stop.send(driver::Command::Stop)).await;
        let _ = tokio::time::timeout(wait, driver).await;
        Ok(drained)
    }
}
