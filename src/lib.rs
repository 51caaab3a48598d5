//! slaplan: vet per-tenant SLA clauses for AI-agent inference before signing.

#![warn(missing_docs)]

pub mod policy;
pub mod time;
