//! The router inputs and views of issue 10 ("a router core ready for
//! production traffic") that the gateway drives, in one place, so that
//! switching from the interim forms to the core's own methods is a change
//! of this file alone.
//!
//! Interim (until `Router::cancel`, `Router::on_first_token`,
//! `Outcome::ClientError`, `CallRequest::priority` and
//! `Router::latency_estimate` are on `main`):
//! - [`cancel`] cannot withdraw a call from the router: it returns `false`
//!   and the driver *detaches* the call instead (its attempts run to their
//!   end and are reported, so the router's slots and breakers stay true,
//!   but nothing reaches the departed client);
//! - [`first_token`] only lets the driver measure time to first token;
//! - [`client_error`] reports a 4xx (other than 429) as a server error;
//! - [`latency_estimate`] is the endpoint's configured `expected_latency`.

use crate::policy::{AttemptId, CallId, CallRequest, EndpointId, FailReason, Outcome, Router, SlaClass};
use crate::time::{Span, Time};

/// The client of `call` went away: withdraw it. Returns whether the router
/// took the call back (it then emits `Cancel` for its attempts and `Fail`).
pub fn cancel(_router: &mut Router, _now: Time, _call: CallId) -> bool {
    false
}

/// The first streamed token of `attempt` arrived.
pub fn first_token(_router: &mut Router, _now: Time, _attempt: AttemptId) {}

/// The outcome for an upstream 4xx other than 429.
pub fn client_error(_status: u16) -> Outcome {
    Outcome::ServerError
}

/// Whether a failure is the router's answer to [`cancel`].
pub fn is_cancelled(_reason: FailReason) -> bool {
    false
}

/// Sets a request's per-call priority (it may lower, never raise, the
/// tenant's class).
pub fn set_priority(_request: &mut CallRequest, _class: Option<SlaClass>) {}

/// The router's current latency estimate of `endpoint`.
pub fn latency_estimate(router: &Router, endpoint: EndpointId) -> Option<Span> {
    router
        .config()
        .endpoints
        .get(endpoint.0 as usize)
        .and_then(|e| e.expected_latency)
}
