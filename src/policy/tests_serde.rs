//! The audit log's JSON form: every [`AuditKind`] variant round-trips
//! through serde_json as one line, with stable snake_case field names.

use super::*;
use crate::time::{Span, Time};

/// The tag each variant is written with. The match is exhaustive, so a new
/// variant does not compile until it is listed here and in [`samples`].
fn tag(kind: &AuditKind) -> &'static str {
    match kind {
        AuditKind::Degraded { .. } => "degraded",
        AuditKind::Promoted { .. } => "promoted",
        AuditKind::SuspendExpired { .. } => "suspend_expired",
        AuditKind::Breaker { .. } => "breaker",
        AuditKind::Suspended { .. } => "suspended",
        AuditKind::Resumed => "resumed",
        AuditKind::Notification { .. } => "notification",
        AuditKind::Shed { .. } => "shed",
        AuditKind::BudgetAlert { .. } => "budget_alert",
        AuditKind::DeadlineUnreachable { .. } => "deadline_unreachable",
    }
}

/// One event of every variant.
fn samples() -> Vec<AuditKind> {
    vec![
        AuditKind::Degraded {
            from: Tier(0),
            to: Tier(1),
            trigger: Trigger::BreakerOpen,
            since: Time::from_nanos(2_500_000),
        },
        AuditKind::Promoted {
            from: Tier(4),
            to: Tier(0),
        },
        AuditKind::SuspendExpired {
            after: Span::from_mins(10),
        },
        AuditKind::Breaker {
            from: BreakerState::HalfOpen,
            to: BreakerState::Open,
        },
        AuditKind::Suspended {
            tier: Tier(2),
            consent: true,
        },
        AuditKind::Resumed,
        AuditKind::Notification {
            from: Tier(0),
            to: Tier(3),
        },
        AuditKind::Shed {
            class: SlaClass::Bronze,
            max_queue: 64,
        },
        AuditKind::BudgetAlert {
            burn_rate_short: 14.5,
            burn_rate_long: 2.25,
            threshold: 14.0,
        },
        AuditKind::DeadlineUnreachable {
            estimate: Span::from_millis(110),
            deadline: Time::from_nanos(300_000_000),
        },
    ]
}

fn event(kind: AuditKind) -> AuditEvent {
    AuditEvent {
        at: Time::from_nanos(3_000_000),
        tenant: Some(TenantId(0)),
        workflow: Some(WorkflowId(0)),
        call: Some(CallId(7)),
        endpoint: Some(EndpointId(1)),
        kind,
    }
}

fn snake_case(key: &str) -> bool {
    !key.is_empty()
        && key.starts_with(|c: char| c.is_ascii_lowercase())
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

#[test]
fn every_audit_kind_round_trips_as_one_snake_case_json_line() {
    let mut tags = Vec::new();
    for kind in samples() {
        let e = event(kind);
        let line = serde_json::to_string(&e).expect("serializes");
        assert!(!line.contains('\n'), "one line: {line}");
        let back: AuditEvent = serde_json::from_str(&line).expect("deserializes");
        assert_eq!(back, e, "round trip of {line}");
        let value: serde_json::Value = serde_json::from_str(&line).expect("JSON");
        let object = value.as_object().expect("a JSON object");
        for key in object.keys() {
            assert!(snake_case(key), "field {key:?} of {line}");
        }
        assert_eq!(object.get("event").and_then(|v| v.as_str()), Some(tag(&kind)), "{line}");
        for (k, v) in object {
            if let Some(s) = v.as_str().filter(|_| k != "estimate" && k != "after") {
                assert!(snake_case(s), "value {s:?} of {k:?} in {line}");
            }
        }
        tags.push(tag(&kind));
    }
    tags.sort_unstable();
    tags.dedup();
    assert_eq!(tags.len(), samples().len(), "one sample per variant");
}

#[test]
fn a_degradation_is_written_exactly_so() {
    let e = event(AuditKind::Degraded {
        from: Tier(0),
        to: Tier(1),
        trigger: Trigger::Error,
        since: Time::from_nanos(2_500_000),
    });
    assert_eq!(
        serde_json::to_string(&e).expect("serializes"),
        r#"{"at":3000000,"tenant":0,"workflow":0,"call":7,"endpoint":1,"event":"degraded","from":0,"to":1,"trigger":"error","since":2500000}"#
    );
    let none = AuditEvent {
        tenant: None,
        workflow: None,
        call: None,
        endpoint: None,
        ..e
    };
    let line = serde_json::to_string(&none).expect("serializes");
    assert_eq!(serde_json::from_str::<AuditEvent>(&line).expect("deserializes"), none);
}
