//! `slaplan emulate`: OpenAI-compatible upstreams that behave like a
//! scenario's endpoints in wall-clock time, built from the same `model`
//! code the simulator runs: provider slots and queue, the latency law
//! (streamed at its first-token and per-token pace), random errors, the
//! provider's RPM/TPM (429 with `retry-after`), the context window, and the
//! outage timeline (scripted incidents and the renewal processes drawn from
//! the seed, replication 0 by default): down, hang, brownout, quota squeeze.
//!
//! One listener serves every endpoint: `POST /v1/chat/completions` picks the
//! endpoint whose name is the body's `model` (so a gateway's upstream is
//! `base_url = "http://ADDR/v1"` with the endpoint's name as model id).
//! `GET /v1/models` lists them; `GET /emulator/stats` gives per-endpoint
//! counters (requests, answered, cancelled, slots busy, queued).
//!
//! Emulated time 0 is the moment the emulator starts: an outage scripted at
//! `start = "30s"` begins 30 s after launch. Differences from the simulator,
//! where wall-clock serving forces them: an input over the context window
//! gets a 400 (the simulator, with no 4xx outcome, reports a 5xx); a
//! streamed answer's error is drawn when its first token is due (the
//! simulator draws at the end of service), so an erroring stream is a 5xx
//! with no chunk rather than a broken stream.
//!
//! A request that carries a call's draw key (`x-slaplan-draw-key`, which
//! `slaplan load` sends and `serve` passes on) draws its service time and
//! error from the key and its attempt number (how many requests with that
//! key came before), as the simulator does for the same call: the measured
//! run and the simulator's replication then share service draws call by
//! call. A request without one draws from its endpoint's stream, in
//! arrival order.
//!
//! **Architecture Invariant:** the emulator decides nothing about an
//! endpoint's behaviour itself: admission, service time, errors and
//! outages come from [`crate::model::EndpointSim`]; it only waits them out
//! in real time.

mod http;
mod keys;
mod slots;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::engine;
use crate::gateway::clock::Clock;
use crate::gateway::listen::{self, ConnLimits, Drained};
use crate::model::{EndpointSim, process_incidents};
use crate::scenario::Scenario;
use crate::time::Span;

pub use slots::Counters;
use slots::Emulated;

/// How long emulated outage processes are drawn for (they repeat nothing
/// after it): a year of uptime is far beyond any test or benchmark.
const HORIZON: Span = Span::from_days(365);

/// Settings of an emulator.
#[derive(Clone, Debug)]
pub struct EmulateConfig {
    /// Which replication's random draws (outage processes, service times).
    pub replication: u64,
    /// Output tokens of a request that gives no `max_tokens`.
    pub default_output_tokens: u32,
    /// Connection limits.
    pub limits: ConnLimits,
}

/// The state the handlers share.
pub(crate) struct Shared {
    pub(crate) clock: Clock,
    pub(crate) endpoints: Vec<Arc<Emulated>>,
    pub(crate) by_model: HashMap<String, usize>,
    pub(crate) default_output_tokens: u32,
    /// Attempt numbers of keyed requests, over every endpoint.
    pub(crate) attempts: Mutex<keys::AttemptCounts>,
}

/// A running emulator bound to its listener.
pub struct Emulator {
    listener: TcpListener,
    shared: Arc<Shared>,
    limits: ConnLimits,
}

impl Emulator {
    /// Builds the scenario's endpoints and binds `listener`. Keys named by
    /// `upstream.api_key_env` are read from `env` (a missing variable
    /// means that endpoint takes any key).
    pub fn new(
        scenario: &Scenario,
        listener: TcpListener,
        config: &EmulateConfig,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Emulator {
        let seed = scenario.simulation.seed;
        let r = config.replication;
        let generated = process_incidents(scenario, r, crate::time::Time::ZERO + HORIZON);
        let start = scenario.start();
        let endpoints: Vec<Arc<Emulated>> = scenario
            .endpoints
            .iter()
            .zip(&generated)
            .map(|(e, incidents)| {
                let rng = engine::stream(seed, r, &format!("endpoint/{}", e.name));
                let sim = EndpointSim::new(e, start, rng, incidents);
                let key = e.upstream.as_ref().and_then(|u| u.api_key_env.as_deref()).and_then(env);
                Arc::new(Emulated::new(e.name.clone(), key, sim))
            })
            .collect();
        let by_model = scenario
            .endpoints
            .iter()
            .enumerate()
            .map(|(i, e)| (e.name.clone(), i))
            .collect();
        Emulator {
            listener,
            shared: Arc::new(Shared {
                clock: Clock::start(),
                endpoints,
                by_model,
                default_output_tokens: config.default_output_tokens,
                attempts: Mutex::new(keys::AttemptCounts::default()),
            }),
            limits: config.limits,
        }
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.listener.local_addr()
    }

    /// The endpoints' names, in the scenario's order.
    pub fn models(&self) -> Vec<String> {
        self.shared.endpoints.iter().map(|e| e.name.clone()).collect()
    }

    /// Serves until `shutdown` turns true.
    pub async fn run(self, shutdown: watch::Receiver<bool>) -> std::io::Result<Drained> {
        let app = http::router(Arc::clone(&self.shared));
        listen::serve(self.listener, app, self.limits, shutdown).await
    }
}
