//! The Monte Carlo settings `run`, `check` and `frontier` share, and the
//! worker threads their replications run on.

use slaplan::plan::{self, sequential};

use super::Failure;
use super::stdout::note;

/// The Monte Carlo settings shared by `run`, `check` and `frontier`.
#[derive(clap::Args)]
pub(crate) struct SimArgs {
    /// Monte Carlo replications (default: the scenario's `simulation.replications`).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) replications: Option<u32>,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) threads: Option<u32>,
    /// Override the scenario's master seed.
    #[arg(long)]
    pub(crate) seed: Option<u64>,
    /// Stop with exit 2 when one replication has more calls than this in
    /// flight (the overload guard; default: the scenario's
    /// `max_live_calls`, else half the available memory shared by the
    /// worker threads, at about 512 bytes a call).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) max_live_calls: Option<u64>,
    /// Probability a clause must hold with to be called enforceable, in (0, 1).
    #[arg(long, default_value_t = 0.95, value_parser = parse_probability)]
    pub(crate) confidence: f64,
    /// Run replications in batches and stop as soon as every verdict is
    /// settled, judged on an anytime-valid confidence sequence (see README).
    /// `--replications` (or the default) is then the first look.
    #[arg(long)]
    pub(crate) until_decided: bool,
    /// With --until-decided: the most replications to run.
    #[arg(long, requires = "until_decided", value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) max_replications: Option<u32>,
    /// With --until-decided: replications between two looks (default 8).
    #[arg(long, requires = "until_decided", value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) batch: Option<u32>,
    /// No progress on standard error (by default a bar on a terminal, else
    /// a line every 10 s).
    #[arg(long)]
    pub(crate) quiet: bool,
}

impl SimArgs {
    /// The looks of `--until-decided`, starting after `first` replications;
    /// `None` for a fixed-n run. Warns when the cap cannot prove the
    /// required confidence even for a clause that holds in every window.
    pub(crate) fn schedule(&self, first: u64) -> Result<Option<sequential::Schedule>, Failure> {
        if !self.until_decided {
            return Ok(None);
        }
        let batch = self.batch.map_or(sequential::DEFAULT_BATCH, u64::from);
        let max = match self.max_replications {
            Some(m) => u64::from(m),
            None => first.max(sequential::DEFAULT_MAX_REPLICATIONS),
        };
        let schedule = sequential::Schedule::new(first, batch, max).map_err(Failure::input)?;
        let needed = sequential::BetaMixture::new(plan::INTERVAL_LEVEL, self.confidence)
            .clean_replications_needed(self.confidence);
        if needed > max {
            note!(
                "warning: --until-decided cannot prove {} confidence for any clause within {max} replication(s): \
                 a clause that holds in every window needs {needed}; raise --max-replications",
                self.confidence
            );
        }
        Ok(Some(schedule))
    }
}

pub(crate) fn parse_probability(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(p) if p > 0.0 && p < 1.0 => Ok(p),
        _ => Err(format!(
            "expected a probability strictly between 0 and 1, e.g. 0.95, got {text:?}"
        )),
    }
}

pub(crate) fn worker_pool(threads: Option<u32>) -> Result<(rayon::ThreadPool, usize), Failure> {
    let threads = threads
        .map(|t| t as usize)
        .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| Failure::runtime(format!("cannot start {threads} worker threads: {e}")))?;
    Ok((pool, threads))
}
