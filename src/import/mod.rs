//! Importers: other routers' configuration files turned into a
//! [`RouterConfig`], with a list of everything that did not map.
//!
//! This module owns reading foreign formats and explaining the translation;
//! it does not run anything. The result is validated with
//! [`Router::new`](crate::policy::Router::new) before it is returned, so an
//! [`Import`] is always a configuration the router accepts.
//!
//! **Architecture Invariant:** the router core knows nothing about importers;
//! importers only build [`RouterConfig`] values and never print.

pub mod litellm;
mod litellm_pools;

use std::fmt;

use crate::policy::{ConfigError, RouterConfig};

/// A foreign configuration translated into slaplan's router configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct Import {
    /// The router configuration, validated.
    pub router: RouterConfig,
    /// Settings of the source file slaplan does not model, in file order.
    pub unmapped: Vec<Unmapped>,
    /// How settings were approximated or which defaults were assumed, one
    /// sentence each.
    pub notes: Vec<String>,
}

/// One setting of the source file the import could not express.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unmapped {
    /// Where it is, e.g. `router_settings.routing_strategy`.
    pub path: String,
    /// Why it was left out.
    pub reason: String,
}

impl Unmapped {
    fn new(path: impl Into<String>, reason: impl Into<String>) -> Unmapped {
        Unmapped {
            path: path.into(),
            reason: reason.into(),
        }
    }
}

/// A YAML position, 1-based; displayed as `:line:column`, or nothing when
/// the parser gave none.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Position(pub Option<(usize, usize)>);

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some((line, column)) => write!(f, ":{line}:{column}"),
            None => Ok(()),
        }
    }
}

/// A file that cannot be imported. Each variant names the file and says what
/// to change.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file cannot be read.
    #[error("{file}: cannot read the file: {source}")]
    Read {
        /// The file.
        file: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not well-formed YAML.
    #[error("{file}{at}: not valid YAML: {problem}")]
    Syntax {
        /// The file.
        file: String,
        /// Where the parser stopped.
        at: Position,
        /// What the parser expected.
        problem: String,
    },
    /// A field is missing, of the wrong type, or names something unknown.
    #[error("{file}{at}: {path}: {problem}")]
    Field {
        /// The file.
        file: String,
        /// The field's position, when known.
        at: Position,
        /// The field, e.g. `model_list[1].litellm_params.model`.
        path: String,
        /// What is wrong and what was expected.
        problem: String,
    },
    /// The translated configuration is one the router rejects.
    #[error("{file}: the imported router configuration is invalid: {source}")]
    Router {
        /// The file.
        file: String,
        /// Why the router rejects it.
        #[source]
        source: ConfigError,
    },
}

#[cfg(test)]
mod litellm_tests;
