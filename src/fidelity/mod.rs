//! `slaplan fidelity`: a scenario's predictions set against what a running
//! gateway does with the same workload.
//!
//! [`run`] starts [`crate::emulate`] (the scenario's endpoints in wall-clock
//! time) and [`crate::gateway`] (the router core on real HTTP) in process
//! on 127.0.0.1 ephemeral ports, drives the gateway with [`crate::load`]
//! for the period, stops both (also on failure: they live on a runtime of
//! their own, dropped on every path), judges the gateway's request log
//! with [`crate::judge`], and runs the simulator on the same scenario and
//! period. The comparison ([`compare`]) is per tenant: call latency p50,
//! p95, p99 and availability from the request-log lines of both sides
//! ([`calls`]: the simulator writes its calls in the gateway's schema), and
//! each clause's window value. [`paired`] sets the gateway's calls against
//! the simulator's replication 0 call by call (paired by `draw_key`: the
//! same calls with the same draws). [`pool`] combines several runs' output
//! directories (`slaplan fidelity-pool`) into each figure's bias and
//! whether its goal is decided.
//!
//! Keys: every tenant gets a key made up for the run (its `auth` table is
//! replaced), and every endpoint is served by the emulator (its `upstream`
//! table is dropped): a fidelity run never leaves the machine.
//!
//! The simulator's replications are `1..=n`; the load, the emulator and
//! the gateway draw from replication 0, so the measured run is a draw
//! independent of the prediction's sample. Replication 0 is simulated too,
//! with its request log written next to the gateway's, for [`paired`].
//!
//! This module decides and computes; it writes nothing and prints nothing
//! (the CLI writes the outputs through `report::write_outputs`).

pub mod calls;
pub mod compare;
pub mod paired;
pub mod pool;
mod scale;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::Timelike;
use rayon::prelude::*;
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::watch;

pub use calls::{CallFigures, FigureSink, TenantCalls};
pub use compare::{FidelityRow, fidelity_csv, prediction};
pub use scale::compress;

use crate::emulate::{EmulateConfig, Emulator};
use crate::gateway::clock::Clock;
use crate::gateway::{ConnLimits, Gateway, ServeSettings};
use crate::judge::{self, Judged};
use crate::load::{self, LoadConfig, LoadSummary};
use crate::model::{RequestLog, World};
use crate::scenario::{Scenario, TenantAuth};
use crate::sla::{Attainment, Clause};
use crate::time::Span;

/// The latency quantiles compared, with their metric names.
pub const QUANTILES: [(f64, &str); 3] = [(0.5, "p50_ms"), (0.95, "p95_ms"), (0.99, "p99_ms")];

/// Settings of a fidelity run.
#[derive(Clone, Debug)]
pub struct FidelityConfig {
    /// The period driven and simulated (wall time).
    pub duration: Span,
    /// Scenario seconds per wall second (see [`compress`]).
    pub time_scale: f64,
    /// The simulator's replications.
    pub replications: u32,
    /// The prediction interval's level, e.g. 0.95.
    pub level: f64,
    /// After the period, how long the load lets running tasks go on.
    pub drain: Span,
    /// Where the gateway's request log (`gateway.jsonl`) and audit log
    /// (`gateway-audit.jsonl`) and the client's request log
    /// (`client.jsonl`) are written, and the simulator's replication 0's
    /// request log (`replication-0.jsonl`).
    pub scratch: PathBuf,
}

/// Why a fidelity run failed. Each variant is a sentence a user can act on.
#[derive(Debug, thiserror::Error)]
pub enum FidelityError {
    /// The time scale cannot be applied.
    #[error("--time-scale {0}")]
    TimeScale(String),
    /// The load cannot drive this scenario.
    #[error(transparent)]
    Load(#[from] load::LoadError),
    /// The gateway cannot serve this scenario.
    #[error("the gateway: {0}")]
    Gateway(#[from] crate::gateway::GatewayError),
    /// The simulator cannot run this scenario.
    #[error("the simulator: {0}")]
    Simulator(String),
    /// The gateway's log cannot be judged.
    #[error("judging the gateway's log: {0}")]
    Judge(#[from] judge::JudgeError),
    /// A socket, a runtime or a log file failed.
    #[error("{0}")]
    Io(String),
}

impl FidelityError {
    /// Whether the error is the input's fault (exit 2) rather than the
    /// machine's (exit 1).
    pub fn is_input(&self) -> bool {
        match self {
            FidelityError::TimeScale(_) | FidelityError::Simulator(_) => true,
            FidelityError::Load(e) => !matches!(e, load::LoadError::Log { .. } | load::LoadError::Client(_)),
            FidelityError::Gateway(e) => matches!(
                e,
                crate::gateway::GatewayError::Router(_) | crate::gateway::GatewayError::NoTenantAuth
            ),
            FidelityError::Judge(_) | FidelityError::Io(_) => false,
        }
    }
}

/// What a fidelity run found.
#[derive(Clone, Debug)]
pub struct Fidelity {
    /// The comparison rows: per tenant the call figures, then the clauses.
    pub rows: Vec<FidelityRow>,
    /// The gateway's log judged against the scenario's clauses.
    pub judged: Judged,
    /// The scenario the gateway's log was judged against (the period
    /// placed at the gateway's start).
    pub judged_scenario: Scenario,
    /// What the load did.
    pub load: LoadSummary,
    /// The gateway log's figures.
    pub measured: CallFigures,
    /// Calls the simulator made, per replication (mean).
    pub simulated_calls: f64,
    /// Calls the gateway logged.
    pub gateway_calls: u64,
    /// The 1-, 5- and 15-minute load averages before and after the run,
    /// when the machine tells them (`/proc/loadavg`).
    pub load_average: [Option<[f64; 3]>; 2],
    /// The gateway's calls against replication 0's, call by call.
    pub paired: paired::Paired,
}

/// The scenario as a fidelity run serves it: each tenant's key in the
/// variable `SLAPLAN_FIDELITY_KEY_<i>`, every endpoint on the emulator.
fn serving_scenario(scenario: &Scenario) -> Scenario {
    let mut s = scenario.clone();
    for (i, t) in s.tenants.iter_mut().enumerate() {
        t.auth = Some(TenantAuth {
            api_key_env: Some(key_var(i)),
            api_key_sha256: None,
        });
    }
    for e in &mut s.endpoints {
        e.upstream = None;
    }
    s
}

fn key_var(tenant: usize) -> String {
    format!("SLAPLAN_FIDELITY_KEY_{tenant}")
}

fn key_of(tenant: usize) -> String {
    format!("fidelity-run-key-{tenant}")
}

/// The key variables of the run.
fn env(name: &str) -> Option<String> {
    let i: usize = name.strip_prefix("SLAPLAN_FIDELITY_KEY_")?.parse().ok()?;
    Some(key_of(i))
}

/// The machine's load averages, when it tells them.
fn load_average() -> Option<[f64; 3]> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    let mut it = text.split_whitespace().map(|x| x.parse::<f64>().ok());
    Some([it.next()??, it.next()??, it.next()??])
}

/// Runs the scenario through emulator, gateway and load, judges the
/// gateway's log and sets the simulator's predictions against it.
pub fn run(scenario: &Scenario, config: &FidelityConfig) -> Result<Fidelity, FidelityError> {
    let scaled = compress(scenario, config.time_scale)?;
    let mut sim = scaled.clone();
    sim.simulation.duration = config.duration;
    // Check that the simulator takes it before anything starts.
    World::new(&sim, 1).map_err(|e| FidelityError::Simulator(e.to_string()))?;
    let serving = serving_scenario(&scaled);
    let before = load_average();
    let gateway_log = config.scratch.join("gateway.jsonl");
    let client_log = config.scratch.join("client.jsonl");
    let (load, start) = drive(&serving, config, &gateway_log, &client_log)?;
    let after = load_average();

    // The gateway's log, judged with the period placed at its start.
    let mut judged_scenario = serving.clone();
    judged_scenario.simulation.start = start.format("%Y-%m-%dT%H:%M:%S").to_string();
    judged_scenario.simulation.duration = config.duration + config.drain + Span::from_secs(10);
    let judged = judge::judge(&judged_scenario, std::slice::from_ref(&gateway_log), &[])?;
    let names: Vec<String> = scenario.tenants.iter().map(|t| t.name.clone()).collect();
    let measured = CallFigures::read(&gateway_log, names.clone())
        .map_err(|e| FidelityError::Io(format!("{}: {e}", gateway_log.display())))?;
    let gateway_calls = measured.tenants.iter().map(|t| t.eligible + t.client_outcomes).sum();

    // The simulator, replications 1..=n, each with its calls' figures.
    let simulated = simulate(&sim, config.replications, &names)?;
    let simulated_calls =
        simulated.iter().map(|(_, f)| calls_of(f) as f64).sum::<f64>() / simulated.len().max(1) as f64;
    let rows = compare_all(scenario, &sim, &simulated, &measured, &judged, config.level);

    // Replication 0, which makes the measured run's calls with its draws.
    let replication_log = config.scratch.join(REPLICATION_0_LOG);
    simulate_replication_0(&sim, &replication_log)?;
    let paired = paired::compare(&gateway_log, &replication_log).map_err(|e| FidelityError::Io(e.to_string()))?;
    Ok(Fidelity {
        rows,
        judged,
        judged_scenario,
        load,
        measured,
        simulated_calls,
        gateway_calls,
        load_average: [before, after],
        paired,
    })
}

/// The simulator's replication 0's request log, next to the gateway's.
pub const REPLICATION_0_LOG: &str = "replication-0.jsonl";

/// Replication 0 of `sim`, its calls written to `path` in the gateway's
/// schema.
fn simulate_replication_0(sim: &Scenario, path: &Path) -> Result<(), FidelityError> {
    let io = |e: std::io::Error| FidelityError::Io(format!("{}: cannot write it: {e}", path.display()));
    let file = std::fs::File::create(path).map_err(io)?;
    let log = RequestLog::new(sim, Box::new(std::io::BufWriter::new(file)));
    let world = World::new(sim, 0).map_err(|e| FidelityError::Simulator(e.to_string()))?;
    let result = world.write_requests(log).run_full();
    if let Some(o) = result.overload {
        return Err(FidelityError::Simulator(format!("{o}")));
    }
    match result.request_log_error {
        Some(e) => Err(FidelityError::Io(format!("{}: cannot write it: {e}", path.display()))),
        None => Ok(()),
    }
}

fn calls_of(f: &CallFigures) -> u64 {
    f.tenants.iter().map(|t| t.eligible + t.client_outcomes).sum()
}

/// Starts emulator and gateway, drives them, stops them. Returns what the
/// load did and the UTC time (whole second, at or before the gateway's
/// start) its log counts from.
fn drive(
    serving: &Scenario,
    config: &FidelityConfig,
    gateway_log: &Path,
    client_log: &Path,
) -> Result<(LoadSummary, chrono::NaiveDateTime), FidelityError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| FidelityError::Io(format!("cannot start the async runtime: {e}")))?;
    // Dropping the runtime (on every path out) stops both servers.
    rt.block_on(async {
        let bind = || async {
            TcpListener::bind("127.0.0.1:0")
                .await
                .map_err(|e| FidelityError::Io(format!("cannot listen on 127.0.0.1: {e}")))
        };
        let (emu_listener, gw_listener) = (bind().await?, bind().await?);
        let io = |e: std::io::Error| FidelityError::Io(e.to_string());
        let emu_addr = emu_listener.local_addr().map_err(io)?;
        let gw_addr = gw_listener.local_addr().map_err(io)?;
        let limits = ConnLimits {
            header_timeout: Duration::from_secs(30),
            grace: Duration::from_secs(5),
        };
        let emulator = Emulator::new(
            serving,
            emu_listener,
            &EmulateConfig {
                replication: 0,
                default_output_tokens: 200,
                limits,
            },
            &env,
        );
        let settings = ServeSettings {
            default_upstream: Some(format!("http://{emu_addr}/v1")),
            request_log: Some(gateway_log.to_path_buf()),
            audit_log: Some(gateway_log.with_file_name("gateway-audit.jsonl")),
            grace: Duration::from_secs(5),
            ..ServeSettings::default()
        };
        let start = Clock::start().utc_start();
        let gateway = Gateway::new(serving.clone(), gw_listener, &settings, &env)?;
        let (stop, stopped) = watch::channel(false);
        let emu_task = tokio::spawn(emulator.run(stopped.clone()));
        let gw_task = tokio::spawn(gateway.run(stopped));
        let keys = (0..serving.tenants.len()).map(|i| Some(key_of(i))).collect();
        let mut load_config = LoadConfig::new(serving, &format!("http://{gw_addr}/v1"), config.duration, keys);
        load_config.log = Some(client_log.to_path_buf());
        load_config.drain = config.drain;
        let result = load::run(serving, &load_config).await;
        let _ = stop.send(true);
        // The gateway writes out its log as it stops.
        let _ = tokio::time::timeout(Duration::from_secs(20), gw_task).await;
        let _ = tokio::time::timeout(Duration::from_secs(10), emu_task).await;
        let start = start.with_nanosecond(0).unwrap_or(start);
        Ok((result?, start))
    })
}

/// Replications `1..=n` of `sim`, each with its attainment and its calls'
/// figures (from its request log, streamed).
fn simulate(sim: &Scenario, n: u32, names: &[String]) -> Result<Vec<(Vec<Attainment>, CallFigures)>, FidelityError> {
    (1..=u64::from(n.max(1)))
        .into_par_iter()
        .map(|r| {
            let figures = Arc::new(Mutex::new(CallFigures::new(names.to_vec())));
            let log = RequestLog::new(sim, Box::new(FigureSink::new(Arc::clone(&figures))));
            let world = World::new(sim, r).map_err(|e| FidelityError::Simulator(e.to_string()))?;
            let result = world.write_requests(log).run_full();
            if let Some(o) = result.overload {
                return Err(FidelityError::Simulator(format!("{o}")));
            }
            let figures = figures.lock().unwrap_or_else(PoisonError::into_inner).clone();
            Ok((result.attainment, figures))
        })
        .collect()
}

/// Every row: per tenant its call figures, then each clause judged on the
/// log against the simulator's value of the same clause (first window).
fn compare_all(
    scenario: &Scenario,
    sim: &Scenario,
    simulated: &[(Vec<Attainment>, CallFigures)],
    measured: &CallFigures,
    judged: &Judged,
    level: f64,
) -> Vec<FidelityRow> {
    let mut rows = Vec::new();
    for (t, tenant) in scenario.tenants.iter().enumerate() {
        for (q, metric) in QUANTILES {
            let values: Vec<f64> = simulated
                .iter()
                .filter_map(|(_, f)| f.tenants[t].latency_ms(q))
                .collect();
            rows.extend(compare::row(
                &tenant.name,
                metric,
                &values,
                measured.tenants[t].latency_ms(q),
                level,
            ));
        }
        let values: Vec<f64> = simulated
            .iter()
            .filter_map(|(_, f)| f.tenants[t].availability())
            .collect();
        rows.extend(compare::row(
            &tenant.name,
            "availability",
            &values,
            measured.tenants[t].availability(),
            level,
        ));
    }
    let sim_clauses = Clause::all(sim);
    for (ci, clause) in judged.clauses.iter().enumerate() {
        let Some(si) = sim_clauses.iter().position(|c| c == clause) else {
            continue;
        };
        let first = |att: &[Attainment], index: usize| {
            att.iter()
                .find(|a| a.clause == index && a.window == 0)
                .and_then(|a| a.value)
        };
        let values: Vec<f64> = simulated.iter().filter_map(|(att, _)| first(att, si)).collect();
        let measured = first(&judged.replication.attainment, ci);
        let metric = format!("{}{}", compare::CLAUSE_PREFIX, clause.describe(sim));
        rows.extend(compare::row(&clause.tenant_name, &metric, &values, measured, level));
    }
    rows
}

/// What `fidelity.json` records.
#[derive(Serialize)]
pub struct FidelityNotes<'a> {
    /// The period, e.g. `"10m"`.
    pub duration: String,
    /// Scenario seconds per wall second.
    pub time_scale: f64,
    /// The simulator's replications.
    pub replications: u32,
    /// The prediction interval's level.
    pub level: f64,
    /// What the load did.
    pub load: &'a LoadSummary,
    /// Calls the gateway logged.
    pub gateway_calls: u64,
    /// Calls per simulated replication (mean).
    pub simulated_calls_mean: f64,
    /// The gateway log's rows as judged.
    pub judged_rows: &'a judge::RowCounts,
    /// Load averages (1, 5, 15 min) before and after.
    pub load_average_before: Option<[f64; 3]>,
    /// See `load_average_before`.
    pub load_average_after: Option<[f64; 3]>,
    /// Rows whose measurement is outside the prediction interval.
    pub rows_differing: usize,
}

impl Fidelity {
    /// The notes of this run for `fidelity.json`.
    pub fn notes(&self, config: &FidelityConfig) -> FidelityNotes<'_> {
        FidelityNotes {
            duration: config.duration.to_string(),
            time_scale: config.time_scale,
            replications: config.replications,
            level: config.level,
            load: &self.load,
            gateway_calls: self.gateway_calls,
            simulated_calls_mean: self.simulated_calls,
            judged_rows: &self.judged.rows,
            load_average_before: self.load_average[0],
            load_average_after: self.load_average[1],
            rows_differing: self.rows.iter().filter(|r| r.differs()).count(),
        }
    }
}
