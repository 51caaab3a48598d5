//! Workloads: when calls arrive and how big they are.

use rand_distr::{Distribution, Exp, LogNormal};

use crate::engine::Rng;
use crate::policy::{TenantId, WorkflowId};
use crate::scenario::{TokenDist, Workflow};
use crate::time::Span;
use rand::RngExt;

/// A token-count law, ready to sample.
#[derive(Clone, Debug)]
pub enum Tokens {
    /// Always this many.
    Constant(u32),
    /// Uniform on the closed range.
    Uniform(u32, u32),
    /// Rounded lognormal, at least 1.
    Lognormal(LogNormal<f64>),
}

impl Tokens {
    /// From the scenario's description (validated).
    pub fn from_config(dist: &TokenDist) -> Tokens {
        match *dist {
            TokenDist::Constant { value } => Tokens::Constant(value),
            TokenDist::Uniform { min, max } => Tokens::Uniform(min, max.max(min)),
            TokenDist::Lognormal { mean, sigma } => {
                // Choose mu so that the mean of the lognormal is `mean`.
                let mu = mean.max(1e-9).ln() - 0.5 * sigma * sigma;
                match LogNormal::new(mu, sigma.max(0.0)) {
                    Ok(d) => Tokens::Lognormal(d),
                    Err(_) => Tokens::Constant(mean.round().max(1.0) as u32),
                }
            }
        }
    }

    /// One draw.
    pub fn sample(&self, rng: &mut Rng) -> u32 {
        match self {
            Tokens::Constant(v) => *v,
            Tokens::Uniform(lo, hi) => rng.random_range(*lo..=*hi),
            Tokens::Lognormal(d) => d.sample(rng).round().clamp(1.0, f64::from(u32::MAX)) as u32,
        }
    }
}

/// One workflow's call source: Poisson arrivals and token draws.
pub struct Source {
    /// The tenant.
    pub tenant: TenantId,
    /// The workflow within the tenant.
    pub workflow: WorkflowId,
    gap: Option<Exp<f64>>,
    input: Tokens,
    output: Tokens,
    rng: Rng,
}

impl Source {
    /// A source for `workflow` drawing from `rng`.
    pub fn new(tenant: TenantId, workflow: WorkflowId, config: &Workflow, rng: Rng) -> Source {
        // Rate is in calls per second; gaps are drawn in nanoseconds.
        let gap = if config.rate > 0.0 {
            Exp::new(config.rate / 1e9).ok()
        } else {
            None
        };
        Source {
            tenant,
            workflow,
            gap,
            input: Tokens::from_config(&config.input_tokens),
            output: Tokens::from_config(&config.output_tokens),
            rng,
        }
    }

    /// Time to the next arrival, or `None` if this source never fires.
    pub fn next_gap(&mut self) -> Option<Span> {
        let g = self.gap.as_ref()?.sample(&mut self.rng);
        Some(Span::from_nanos(g.max(1.0) as u64))
    }

    /// Token counts of a new call: (input, output).
    pub fn draw_tokens(&mut self) -> (u32, u32) {
        (self.input.sample(&mut self.rng), self.output.sample(&mut self.rng))
    }
}
