//! LiteLLM import: realistic configurations with hand-worked chains, tiers
//! and limits, and malformed ones with the errors they must give.

use super::litellm::parse;
use super::{Import, Unmapped};
use crate::policy::{BalancePolicy, BreakerPolicy, ChainStep, EndpointPolicy, Tier};
use crate::time::Span;

fn import(yaml: &str) -> Import {
    match parse(yaml, "litellm.yaml") {
        Ok(i) => i,
        Err(e) => panic!("import failed: {e}"),
    }
}

fn error(yaml: &str) -> String {
    match parse(yaml, "litellm.yaml") {
        Ok(_) => panic!("import succeeded, expected an error"),
        Err(e) => e.to_string(),
    }
}

fn chain(i: &Import, tenant: &str) -> Vec<(String, u8)> {
    let t = i
        .router
        .tenants
        .iter()
        .find(|t| t.name == tenant)
        .expect("tenant exists");
    t.chain
        .iter()
        .map(|ChainStep { endpoint, tier }| (endpoint.clone(), tier.0))
        .collect()
}

fn steps(list: &[(&str, u8)]) -> Vec<(String, u8)> {
    list.iter().map(|(e, t)| (e.to_string(), *t)).collect()
}

fn endpoint<'a>(i: &'a Import, name: &str) -> &'a EndpointPolicy {
    i.router
        .endpoints
        .iter()
        .find(|e| e.name == name)
        .expect("endpoint exists")
}

const AZURE_OPENAI: &str = r#"
model_list:
  - model_name: gpt-4o
    litellm_params:
      model: azure/gpt-4o-prod
      api_base: https://eastus-prod.openai.azure.com/
      api_key: os.environ/AZURE_API_KEY_EASTUS
      api_version: "2024-08-01-preview"
      rpm: 600
      tpm: 200000
      region_name: eastus
      order: 2
  - model_name: gpt-4o
    litellm_params:
      model: azure/gpt-4o-prod
      api_base: https://swedencentral-prod.openai.azure.com/
      api_key: os.environ/AZURE_API_KEY_SWEDEN
      rpm: 300
      tpm: 100000
      region_name: swedencentral
      order: 1
      timeout: 45
  - model_name: gpt-4o
    litellm_params:
      model: openai/gpt-4o
      api_key: os.environ/OPENAI_API_KEY
      rpm: 500
  - model_name: gpt-4o-mini
    litellm_params:
      model: azure/gpt-4o-mini
      api_base: https://eastus-prod.openai.azure.com/
      region_name: eastus
      rpm: 2000
      tpm: 1000000
  - model_name: gpt-4o-mini
    litellm_params:
      model: openai/gpt-4o-mini
      rpm: 3000
  - model_name: claude-sonnet
    litellm_params:
      model: anthropic/claude-3-5-sonnet-20241022
      api_key: os.environ/ANTHROPIC_API_KEY
      timeout: 120
      tpm: 400000

router_settings:
  num_retries: 2
  timeout: 90
  allowed_fails: 3
  cooldown_time: 30
  retry_after: 0.5
  fallbacks:
    - gpt-4o: ["claude-sonnet", "gpt-4o-mini"]
    - claude-sonnet: ["gpt-4o"]
"#;

#[test]
fn azure_and_openai_deployments_become_ordered_endpoints_with_their_limits() {
    let i = import(AZURE_OPENAI);
    let names: Vec<&str> = i.router.endpoints.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "gpt-4o@azure/eastus",
            "gpt-4o@azure/swedencentral",
            "gpt-4o@openai",
            "gpt-4o-mini@azure/eastus",
            "gpt-4o-mini@openai",
            "claude-sonnet@anthropic",
        ]
    );
    let east = endpoint(&i, "gpt-4o@azure/eastus");
    assert_eq!((east.provider.as_str(), east.region.as_str()), ("azure", "eastus"));
    assert_eq!((east.rpm, east.tpm), (Some(600), Some(200_000)));
    assert_eq!(east.attempt_timeout, Span::from_secs(90)); // router_settings.timeout
    assert_eq!(
        endpoint(&i, "gpt-4o@azure/swedencentral").attempt_timeout,
        Span::from_secs(45)
    );
    let openai = endpoint(&i, "gpt-4o@openai");
    assert_eq!((openai.rpm, openai.tpm), (Some(500), None));
    assert_eq!(
        endpoint(&i, "claude-sonnet@anthropic").attempt_timeout,
        Span::from_secs(120)
    );
    // gpt-4o's deployments have orders 2, 1 and none: one pool, so the
    // priority order is reported.
    assert_eq!(
        i.unmapped,
        vec![Unmapped {
            path: "model_list[0].litellm_params.order".into(),
            reason: "priority order inside a group is not modelled: the deployments of \"gpt-4o\" are one pool, \
                     balanced by the routing strategy (listed by order)"
                .into()
        }]
    );
    // No routing_strategy: LiteLLM's simple-shuffle, weights from rpm.
    assert_eq!(i.router.balance, BalancePolicy::WeightedRandom);
}

#[test]
fn chains_put_the_group_at_tier_0_by_order_then_one_tier_per_fallback_group() {
    let i = import(AZURE_OPENAI);
    // order 1, then order 2, then no order; claude-sonnet at 1, gpt-4o-mini at 2.
    assert_eq!(
        chain(&i, "litellm/gpt-4o"),
        steps(&[
            ("gpt-4o@azure/swedencentral", 0),
            ("gpt-4o@azure/eastus", 0),
            ("gpt-4o@openai", 0),
            ("claude-sonnet@anthropic", 1),
            ("gpt-4o-mini@azure/eastus", 2),
            ("gpt-4o-mini@openai", 2),
        ])
    );
    assert_eq!(
        chain(&i, "litellm/gpt-4o-mini"),
        steps(&[("gpt-4o-mini@azure/eastus", 0), ("gpt-4o-mini@openai", 0)])
    );
    assert_eq!(
        chain(&i, "litellm/claude-sonnet"),
        steps(&[
            ("claude-sonnet@anthropic", 0),
            ("gpt-4o@azure/swedencentral", 1),
            ("gpt-4o@azure/eastus", 1),
            ("gpt-4o@openai", 1),
        ])
    );
    assert!(
        i.router
            .tenants
            .iter()
            .all(|t| t.class == crate::policy::SlaClass::Silver)
    );
}

#[test]
fn retries_are_per_model_group_and_cooldowns_become_a_one_minute_breaker() {
    let i = import(AZURE_OPENAI);
    let attempts = |t: &str| {
        let t = i.router.tenants.iter().find(|x| x.name == t).unwrap();
        (t.retry.max_attempts, t.retry.backoff)
    };
    // (num_retries + 1) x groups in the chain: 3 x 3, 3 x 1, 3 x 2.
    assert_eq!(attempts("litellm/gpt-4o"), (9, Span::from_millis(500)));
    assert_eq!(attempts("litellm/gpt-4o-mini"), (3, Span::from_millis(500)));
    assert_eq!(attempts("litellm/claude-sonnet"), (6, Span::from_millis(500)));
    assert_eq!(
        i.router.breaker,
        Some(BreakerPolicy {
            window: Span::from_mins(1),
            min_requests: 4,
            error_ratio: 0.5,
            slow_threshold: None,
            slow_ratio: 0.5,
            open_for: Span::from_secs(30),
            half_open_probes: 1,
        })
    );
    assert!(i.notes.iter().any(|n| n.contains("LiteLLM has no tenants")));
}

const SELF_HOSTED: &str = r#"
model_list:
  - model_name: llama-70b
    litellm_params:
      model: openai/meta-llama/Llama-3.1-70B-Instruct
      api_base: http://vllm-0.internal:8000/v1
      weight: 2
    model_info:
      id: vllm-0
  - model_name: llama-70b
    litellm_params:
      model: openai/meta-llama/Llama-3.1-70B-Instruct
      api_base: http://vllm-1.internal:8000/v1
  - model_name: bedrock-claude
    litellm_params:
      model: bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0
      aws_region_name: us-west-2
      region_name: us-west-2
router_settings:
  routing_strategy: usage-based-routing-v2
  redis_host: os.environ/REDIS_HOST
  num_retries: 1
  context_window_fallbacks: [{"llama-70b": ["bedrock-claude"]}]
  default_fallbacks: ["bedrock-claude"]
litellm_settings:
  num_retries: 3
  request_timeout: 30
  callbacks: ["prometheus"]
  drop_params: true
general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
environment_variables:
  REDIS_HOST: redis.internal
"#;

#[test]
fn routing_strategy_context_window_fallbacks_and_proxy_settings_are_reported_unmapped() {
    let i = import(SELF_HOSTED);
    let unmapped: Vec<(&str, &str)> = i
        .unmapped
        .iter()
        .map(|Unmapped { path, reason }| (path.as_str(), reason.as_str()))
        .collect();
    assert_eq!(
        unmapped,
        [
            (
                "router_settings.redis_host",
                "shared state across proxy instances is not modelled: one router"
            ),
            (
                "router_settings.context_window_fallbacks",
                "not modelled: slaplan does not simulate context-window errors"
            ),
            ("litellm_settings.callbacks", "observability callbacks: not modelled"),
            ("litellm_settings.drop_params", "not modelled"),
            (
                "general_settings",
                "proxy server settings (auth, database, alerting): not modelled"
            ),
            ("environment_variables", "secrets and environment: nothing to simulate"),
            (
                "router_settings.routing_strategy",
                "usage-based-routing-v2 is not modelled: the pools balance by LiteLLM's default simple-shuffle \
                 (weighted random)"
            ),
            (
                "litellm_settings.num_retries",
                "overridden by router_settings.num_retries"
            ),
        ]
    );
    // vllm-0 has a weight, vllm-1 none: the pool falls back to equal weights.
    assert_eq!(endpoint(&i, "llama-70b@vllm-0.internal:8000").weight, Some(2));
    assert_eq!(endpoint(&i, "llama-70b@vllm-1.internal:8000").weight, None);
    assert!(
        i.notes
            .iter()
            .any(|n| n.contains("only some deployments of \"llama-70b\" have a weight"))
    );
}

#[test]
fn a_model_group_is_a_pool_with_its_weights_and_routing_strategy() {
    let yaml = |strategy: &str, w: (&str, &str)| {
        format!(
            r#"
model_list:
  - {{model_name: g, litellm_params: {{model: azure/g, region_name: eu, weight: {}}}}}
  - {{model_name: g, litellm_params: {{model: azure/g, region_name: us, weight: {}}}}}
  - {{model_name: h, litellm_params: {{model: openai/h}}}}
router_settings:
  fallbacks: [{{"g": ["h"]}}]
{strategy}
"#,
            w.0, w.1
        )
    };
    let i = import(&yaml("  routing_strategy: least-busy", ("3", "1")));
    assert_eq!(
        chain(&i, "litellm/g"),
        steps(&[("g@azure/eu", 0), ("g@azure/us", 0), ("h@openai", 1)])
    );
    assert_eq!(i.router.balance, BalancePolicy::LeastOutstanding);
    assert_eq!(
        (endpoint(&i, "g@azure/eu").weight, endpoint(&i, "g@azure/us").weight),
        (Some(3), Some(1))
    );
    let i = import(&yaml("  routing_strategy: simple-shuffle", ("0.7", "0.3")));
    assert_eq!(i.router.balance, BalancePolicy::WeightedRandom);
    assert_eq!(
        (endpoint(&i, "g@azure/eu").weight, endpoint(&i, "g@azure/us").weight),
        (Some(700), Some(300))
    );
    assert!(i.notes.iter().any(|n| n.contains("fractional")));
    let i = import(&yaml("  routing_strategy: latency-based-routing", ("1", "1")));
    assert_eq!(i.router.balance, BalancePolicy::P2cPeakEwma);
    let e = error(&yaml("", ("0", "1")));
    assert!(
        e.contains("model_list[0].litellm_params.weight: is 0, expected a positive number"),
        "{e}"
    );
}

#[test]
fn openai_compatible_servers_are_named_by_host_and_default_fallbacks_apply_to_every_group() {
    let i = import(SELF_HOSTED);
    assert_eq!(
        chain(&i, "litellm/llama-70b"),
        steps(&[
            ("llama-70b@vllm-0.internal:8000", 0),
            ("llama-70b@vllm-1.internal:8000", 0),
            ("bedrock-claude@bedrock/us-west-2", 1),
        ])
    );
    // Its own default fallback is skipped.
    assert_eq!(
        chain(&i, "litellm/bedrock-claude"),
        steps(&[("bedrock-claude@bedrock/us-west-2", 0)])
    );
    let t = &i.router.tenants[0];
    assert_eq!(t.retry.max_attempts, 4); // (1 + 1) x 2 groups
    assert!(
        i.router
            .endpoints
            .iter()
            .all(|e| e.attempt_timeout == Span::from_secs(30))
    );
    // No allowed_fails / cooldown_time: LiteLLM's defaults, 3 and 5 s.
    let b = i.router.breaker.as_ref().unwrap();
    assert_eq!((b.min_requests, b.open_for), (4, Span::from_secs(5)));
}

#[test]
fn deployments_with_the_same_name_and_region_get_numbered_and_fallbacks_cap_at_tier_3() {
    let i = import(
        r#"
model_list:
  - {model_name: a, litellm_params: {model: azure/a}}
  - {model_name: a, litellm_params: {model: azure/a}}
  - {model_name: b, litellm_params: {model: openai/b}}
  - {model_name: c, litellm_params: {model: openai/c}}
  - {model_name: d, litellm_params: {model: openai/d}}
  - {model_name: e, litellm_params: {model: openai/e}}
litellm_settings:
  fallbacks: [{"a": ["b", "c", "d", "e"]}]
  disable_cooldowns: true
"#,
    );
    assert_eq!(
        chain(&i, "litellm/a"),
        steps(&[
            ("a@azure", 0),
            ("a@azure#2", 0),
            ("b@openai", 1),
            ("c@openai", 2),
            ("d@openai", 3),
            ("e@openai", 3),
        ])
    );
    assert_eq!(i.router.breaker, None);
    assert_eq!(i.router.tenants[0].retry.max_attempts, 15); // default num_retries 2: 3 x 5 groups
    assert_eq!(i.router.endpoints[0].attempt_timeout, Span::from_secs(600));
    assert_eq!(i.router.tenants[0].chain[5].tier, Tier(3));
}

#[test]
fn a_yaml_syntax_error_names_the_file_and_line() {
    let e =
        error("model_list:\n  - model_name: gpt-4o\n    litellm_params:\n      model: azure/gpt-4o\n     rpm: 10\n");
    assert!(e.starts_with("litellm.yaml:5:"), "{e}");
    assert!(e.contains("not valid YAML"), "{e}");
}

#[test]
fn a_missing_model_names_the_field_its_position_and_an_example() {
    let e = error(
        "model_list:\n  - model_name: gpt-4o\n    litellm_params:\n      model: azure/gpt-4o\n  - model_name: gpt-4o\n    litellm_params:\n      rpm: 5\n",
    );
    assert_eq!(
        e,
        "litellm.yaml:7:7: model_list[1].litellm_params.model: missing field, expected e.g. \"azure/gpt-4o\" \
         (provider prefix, then the provider's model id)"
    );
}

#[test]
fn a_fallback_to_an_unknown_group_names_it() {
    let e = error(
        "model_list:\n  - {model_name: gpt-4o, litellm_params: {model: openai/gpt-4o}}\nrouter_settings:\n  fallbacks: [{gpt-4o: [gpt-5]}]\n",
    );
    assert_eq!(
        e,
        "litellm.yaml: router_settings.fallbacks[0].gpt-4o[0]: names model group \"gpt-5\", which no model_list \
         entry defines (defined: gpt-4o)"
    );
}

#[test]
fn a_negative_or_textual_rpm_is_rejected_with_its_path() {
    let e = error("model_list:\n  - model_name: m\n    litellm_params:\n      model: openai/m\n      rpm: -5\n");
    assert!(e.starts_with("litellm.yaml:5:"), "{e}");
    assert!(
        e.contains("model_list[0].litellm_params.rpm: invalid type: integer `-5`"),
        "{e}"
    );
    assert!(e.contains("expected a whole number"), "{e}");
    let e = error("model_list:\n  - model_name: m\n    litellm_params:\n      model: openai/m\n      rpm: lots\n");
    assert!(
        e.contains("model_list[0].litellm_params.rpm: invalid type: string \"lots\""),
        "{e}"
    );
}

#[test]
fn an_empty_model_list_and_a_zero_timeout_are_rejected() {
    assert!(error("model_list: []\n").contains("model_list: is missing or empty"));
    assert!(error("router_settings: {num_retries: 1}\n").contains("model_list: is missing or empty"));
    let e = error("model_list:\n  - {model_name: m, litellm_params: {model: openai/m, timeout: 0}}\n");
    assert!(
        e.contains("model_list[0].litellm_params.timeout: is 0, expected a positive number"),
        "{e}"
    );
}

#[test]
fn odd_documents_give_errors_not_panics() {
    for text in [
        "",
        "42",
        "- a\n- b\n",
        "model_list: 5\n",
        "model_list: [5]\n",
        "model_list:\n  - model_name: [x]\n",
        "router_settings: {fallbacks: 3}\nmodel_list: [{model_name: a, litellm_params: {model: a/b}}]\n",
        "model_list: [{model_name: a, litellm_params: {model: a/b, rpm: 0}}]\n",
        "\t\"",
    ] {
        let e = error(text);
        assert!(e.starts_with("litellm.yaml"), "{text:?}: {e}");
    }
}
