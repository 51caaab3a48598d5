//! The configuration's file form and its validation: every problem at
//! once, each naming its setting; chain steps written by name; one default
//! per setting.

use super::tests::{endpoint, tenant};
use super::*;
use crate::time::Span;

fn config(endpoints: Vec<EndpointPolicy>, tenants: Vec<TenantPolicy>) -> RouterConfig {
    RouterConfig {
        endpoints,
        tenants,
        ..RouterConfig::default()
    }
}

#[test]
fn every_problem_is_reported_with_its_setting_and_new_rejects_the_first() {
    let mut bad_endpoint = endpoint("a", Some(0), 0);
    bad_endpoint.breaker = Some(BreakerPolicy {
        error_ratio: 2.0,
        ..BreakerPolicy::default()
    });
    let mut bad_tenant = tenant("t", SlaClass::Gold, &[("a", 0), ("zz", 1)]);
    bad_tenant.retry.max_attempts = 0;
    let mut c = config(vec![bad_endpoint, endpoint("a", None, 10)], vec![bad_tenant]);
    c.budget.period = Span::ZERO;
    let problems = c.problems();
    let settings: Vec<String> = problems.iter().map(|p| p.setting().to_string()).collect();
    assert_eq!(
        settings,
        [
            "budget.period",
            "endpoint \"a\": max_concurrency",
            "endpoint \"a\": attempt_timeout",
            "endpoint \"a\": breaker.error_ratio",
            "endpoint \"a\": name",
            "tenant \"t\": retry.max_attempts",
            "tenant \"t\": chain",
        ]
    );
    // The duplicate is found when the second "a" is read, after the first's problems.
    assert!(matches!(problems[4], ConfigError::DuplicateEndpoint(_)));
    assert_eq!(
        problems[6],
        ConfigError::UnknownEndpoint {
            tenant: "t".into(),
            endpoint: "zz".into()
        }
    );
    assert_eq!(Router::new(c).err(), Some(problems[0].clone()));
}

#[test]
fn a_valid_configuration_has_no_problems() {
    let c = config(
        vec![endpoint("a", Some(2), 1000)],
        vec![tenant("t", SlaClass::Gold, &[("a", 0)])],
    );
    assert_eq!(c.problems(), Vec::new());
}

#[test]
fn the_router_wide_breaker_is_checked_once_as_the_routers() {
    let mut c = config(
        vec![endpoint("a", None, 1000), endpoint("b", None, 1000)],
        vec![tenant("t", SlaClass::Gold, &[("a", 0)])],
    );
    c.breaker = Some(BreakerPolicy {
        half_open_probes: 0,
        ..BreakerPolicy::default()
    });
    let problems = c.problems();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].setting(), Setting::router("breaker.half_open_probes"));
    assert_eq!(
        problems[0].to_string(),
        "breaker.half_open_probes must be at least 1 (omit it for no limit)"
    );
}

#[test]
fn a_workflow_problem_names_the_workflow() {
    let mut t = tenant("t", SlaClass::Gold, &[("a", 0)]);
    t.workflows = vec![
        WorkflowPolicy {
            name: "w".into(),
            allowed_tiers: Some(vec![Tier(2)]),
        },
        WorkflowPolicy {
            name: "w".into(),
            allowed_tiers: None,
        },
    ];
    let problems = config(vec![endpoint("a", None, 1000)], vec![t]).problems();
    let settings: Vec<Setting> = problems.iter().map(ConfigError::setting).collect();
    assert_eq!(
        settings,
        [Setting::workflow("t", "w", "name"), Setting::workflow("t", "w", "")],
        "{problems:?}"
    );
}

#[cfg(feature = "cli")]
#[test]
fn a_chain_step_may_be_written_as_its_endpoints_name() {
    let t: TenantPolicy = toml::from_str(
        "name = \"t\"\nclass = \"gold\"\nchain = [\"a\", { endpoint = \"b\", tier = 4 }, \"c\", \"d\", \"e\"]\n",
    )
    .unwrap();
    let tiers: Vec<(String, u8)> = t.chain.iter().map(|s| (s.endpoint.clone(), s.tier.0)).collect();
    // A name's tier is its position, at most 3.
    assert_eq!(
        tiers,
        [
            ("a".to_string(), 0),
            ("b".to_string(), 4),
            ("c".to_string(), 2),
            ("d".to_string(), 3),
            ("e".to_string(), 3)
        ]
    );
    let err =
        toml::from_str::<TenantPolicy>("name = \"t\"\nclass = \"gold\"\nchain = [{ endpoint = \"b\" }]\n").unwrap_err();
    assert!(err.to_string().contains("not a chain entry"), "{err}");
}

#[cfg(feature = "cli")]
#[test]
fn each_setting_has_one_default_in_the_file_and_in_rust() {
    let e: EndpointPolicy = toml::from_str("name = \"a\"\n").unwrap();
    assert_eq!(
        e,
        EndpointPolicy {
            name: "a".into(),
            ..EndpointPolicy::default()
        }
    );
    assert_eq!(e.attempt_timeout, DEFAULT_ATTEMPT_TIMEOUT);
    let t: TenantPolicy = toml::from_str("name = \"t\"\nclass = \"bronze\"\nchain = []\n").unwrap();
    assert_eq!(
        t,
        TenantPolicy {
            name: "t".into(),
            ..TenantPolicy::default()
        }
    );
    let r: RouterConfig = toml::from_str("").unwrap();
    assert_eq!(r, RouterConfig::default());
    let retry: RetryPolicy = toml::from_str("backoff = \"1s\"\n").unwrap();
    assert_eq!(
        retry,
        RetryPolicy {
            backoff: Span::from_secs(1),
            ..RetryPolicy::default()
        }
    );
}
