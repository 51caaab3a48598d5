//! What the gateway serves, resolved once at start from the scenario, the
//! environment and the command line: each endpoint's upstream (URL, model
//! id, key), each tenant's key digest, the workflows' expected output, and
//! the connection and body limits. Nothing here changes while serving.

use std::path::PathBuf;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::secret::{Scrubber, Secret};
use crate::scenario::{Scenario, TokenDist};

/// Settings from the command line.
#[derive(Clone, Debug)]
pub struct ServeSettings {
    /// The upstream base URL of endpoints without an `upstream` table (the
    /// endpoint's name is sent as model id), e.g. an emulator's
    /// `http://127.0.0.1:9000/v1`.
    pub default_upstream: Option<String>,
    /// Request bodies larger than this get 413.
    pub body_limit: usize,
    /// A request's headers must arrive within this (idle connections too).
    pub header_timeout: Duration,
    /// On SIGTERM/SIGINT, in-flight calls get this long to finish.
    pub grace: Duration,
    /// Where the router's audit events go (JSONL), if anywhere.
    pub audit_log: Option<PathBuf>,
    /// Where the request log goes (JSONL), if anywhere.
    pub request_log: Option<PathBuf>,
}

impl Default for ServeSettings {
    fn default() -> Self {
        ServeSettings {
            default_upstream: None,
            body_limit: 4 * 1024 * 1024,
            header_timeout: Duration::from_secs(10),
            grace: Duration::from_secs(30),
            audit_log: None,
            request_log: None,
        }
    }
}

/// Why the gateway cannot start. Each variant is a sentence a user can act on.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// An endpoint has no upstream and no default was given.
    #[error(
        "endpoint {0:?} has no upstream: add `upstream = {{ base_url = \"...\" }}` to it in the scenario, or pass --default-upstream URL"
    )]
    NoUpstream(String),
    /// An environment variable named in the scenario is not set.
    #[error("{field}: the environment variable {var} is not set (it must hold the key)")]
    MissingEnv {
        /// Where it is named, e.g. `tenants[0].auth.api_key_env`.
        field: String,
        /// The variable's name.
        var: String,
    },
    /// No tenant can be reached.
    #[error("no tenant has an `auth` table: add `auth = {{ api_key_env = \"...\" }}` to at least one tenant")]
    NoTenantAuth,
    /// The router rejected its configuration.
    #[error("router configuration: {0}")]
    Router(crate::policy::ConfigError),
    /// A log file cannot be opened.
    #[error("{path}: cannot open for writing: {source}")]
    Log {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The listener failed.
    #[error("cannot listen: {0}")]
    Listen(std::io::Error),
    /// A reload that would add, drop or reorder tenants or endpoints.
    #[error("a reload must keep the tenants and endpoints (names, in order); restart to change them: {0}")]
    Reshaped(String),
    /// A reload naming a latency or time-to-first-token threshold the
    /// histograms, fixed at start, have no bucket boundary for.
    #[error(
        "a reload must keep the clauses' latency and time-to-first-token thresholds within the histogram \
         buckets fixed at start (no boundary at {0}); restart to monitor them"
    )]
    NewThreshold(String),
    /// The gateway stopped before the reload was applied.
    #[error("the gateway is stopping")]
    Stopping,
    /// The HTTP client for upstreams cannot be built.
    #[error("cannot build the upstream HTTP client: {0}")]
    Client(String),
}

/// Where one endpoint's attempts go.
#[derive(Clone, Debug)]
pub struct UpstreamTarget {
    /// The full chat-completions URL (with `api-version` for Azure).
    pub url: String,
    /// The model id sent in the body.
    pub model: String,
    /// The key, if any.
    pub key: Option<Secret>,
    /// Azure style: the key goes in `api-key`, not `Authorization`.
    pub azure: bool,
}

/// The resolved serving configuration.
#[derive(Clone, Debug)]
pub struct Resolved {
    /// Per endpoint, in the scenario's order.
    pub upstreams: Vec<UpstreamTarget>,
    /// Per tenant: the SHA-256 of its key, if it can be reached.
    pub tenant_keys: Vec<Option<[u8; 32]>>,
    /// Per tenant, per workflow: the expected output tokens of a call that
    /// gives no `max_tokens` (the mean of the workflow's `output_tokens`).
    pub expected_output: Vec<Vec<u32>>,
    /// Removes upstream keys from whatever is passed on.
    pub scrubber: Scrubber,
}

/// Resolves `scenario` for serving, reading keys through `env`.
pub fn resolve(
    scenario: &Scenario,
    settings: &ServeSettings,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Resolved, GatewayError> {
    let mut upstreams = Vec::new();
    for (i, e) in scenario.endpoints.iter().enumerate() {
        let (base, model, key_env, version) = match &e.upstream {
            Some(u) => (
                u.base_url.clone(),
                u.model.clone(),
                u.api_key_env.clone(),
                u.api_version.clone(),
            ),
            None => match &settings.default_upstream {
                Some(base) => (base.clone(), None, None, None),
                None => return Err(GatewayError::NoUpstream(e.name.clone())),
            },
        };
        let key = match key_env {
            Some(var) => Some(Secret::new(env(&var).ok_or_else(|| GatewayError::MissingEnv {
                field: format!("endpoints[{i}].upstream.api_key_env"),
                var: var.clone(),
            })?)),
            None => None,
        };
        let mut url = format!("{}/chat/completions", base.trim_end_matches('/'));
        if let Some(v) = &version {
            url.push_str("?api-version=");
            url.push_str(v);
        }
        upstreams.push(UpstreamTarget {
            url,
            model: model.unwrap_or_else(|| e.name.clone()),
            key,
            azure: version.is_some(),
        });
    }
    let mut tenant_keys = Vec::new();
    for (i, t) in scenario.tenants.iter().enumerate() {
        let digest = match &t.auth {
            None => None,
            Some(a) => match (&a.api_key_env, &a.api_key_sha256) {
                (Some(var), _) => {
                    let key = env(var).ok_or_else(|| GatewayError::MissingEnv {
                        field: format!("tenants[{i}].auth.api_key_env"),
                        var: var.clone(),
                    })?;
                    Some(Sha256::digest(key.as_bytes()).into())
                }
                (None, Some(hex)) => Some(parse_hex(hex)),
                (None, None) => None,
            },
        };
        tenant_keys.push(digest);
    }
    if tenant_keys.iter().all(Option::is_none) {
        return Err(GatewayError::NoTenantAuth);
    }
    let expected_output = scenario
        .tenants
        .iter()
        .map(|t| t.workflows.iter().map(|w| mean_tokens(&w.output_tokens)).collect())
        .collect();
    let scrubber = Scrubber::new(upstreams.iter().filter_map(|u| u.key.clone()));
    Ok(Resolved {
        upstreams,
        tenant_keys,
        expected_output,
        scrubber,
    })
}

/// 64 hexadecimal digits (validated by the scenario) as bytes.
fn parse_hex(hex: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = hex
            .get(2 * i..2 * i + 2)
            .and_then(|h| u8::from_str_radix(h, 16).ok())
            .unwrap_or(0);
    }
    out
}

/// The mean of a token distribution, rounded, at least 1.
fn mean_tokens(d: &TokenDist) -> u32 {
    let mean = match *d {
        TokenDist::Constant { value } => f64::from(value),
        TokenDist::Uniform { min, max } => (f64::from(min) + f64::from(max)) / 2.0,
        TokenDist::Lognormal { mean, .. } => mean,
        // Linear between equally spaced quantiles: the mean of the
        // quantile function is the trapezoid average of its points.
        TokenDist::Empirical { ref quantiles } => match quantiles.len() {
            0 => 1.0,
            1 => f64::from(quantiles[0]),
            n => {
                let sum: f64 = quantiles
                    .windows(2)
                    .map(|w| (f64::from(w[0]) + f64::from(w[1])) / 2.0)
                    .sum();
                sum / (n - 1) as f64
            }
        },
    };
    (mean.round() as u32).max(1)
}
