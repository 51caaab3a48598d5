//! The router inputs and views the gateway drives beyond `submit` and
//! `on_outcome`, in one place: withdrawing a call whose client went away,
//! the first streamed token, a client error from upstream, a request's own
//! priority and the latency estimate behind a `Retry-After`. Each is the
//! router core's own method; nothing here decides anything.

use crate::policy::{AttemptId, CallId, CallRequest, EndpointId, FailReason, Outcome, Router, SlaClass};
use crate::time::{Span, Time};

/// The client of `call` went away: the router withdraws it (it emits
/// `Cancel` for its attempts in flight and `Fail` with
/// [`FailReason::Cancelled`]).
pub fn cancel(router: &mut Router, now: Time, call: CallId) {
    router.cancel(now, call);
}

/// The first streamed token of `attempt` arrived: ends its first-token
/// timer and feeds the endpoint's time-to-first-token estimate.
pub fn first_token(router: &mut Router, now: Time, attempt: AttemptId) {
    router.on_first_token(now, attempt);
}

/// The outcome for an upstream 4xx other than 429: the request itself is at
/// fault, so the router fails the call without retry or fallback and
/// without counting it against the endpoint or the tenant's budget.
pub fn client_error(status: u16) -> Outcome {
    Outcome::ClientError { status }
}

/// Whether a failure is the router's answer to [`cancel`].
pub fn is_cancelled(reason: FailReason) -> bool {
    reason == FailReason::Cancelled
}

/// Sets a request's per-call priority (the router lowers, never raises, the
/// tenant's class).
pub fn set_priority(request: &mut CallRequest, class: Option<SlaClass>) {
    request.priority = class;
}

/// The router's current latency estimate of `endpoint`.
pub fn latency_estimate(router: &Router, endpoint: EndpointId) -> Option<Span> {
    router.latency_estimate(endpoint)
}
