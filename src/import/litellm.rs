//! LiteLLM router configuration (`model_list`, `router_settings`,
//! `litellm_settings`) to [`RouterConfig`].
//!
//! The mapping, in short (`scenarios/README.md` has the full table):
//! - each `model_list` entry (a *deployment*) becomes an endpoint named
//!   `model_name@provider[/region]`;
//! - each model group (a `model_name`) becomes a silver tenant
//!   `litellm/<model_name>` whose chain is the group's deployments (tier 0,
//!   by `order`) then each fallback group's deployments (tiers 1, 2, 3):
//!   a group's deployments are one pool, balanced by the mapped
//!   `routing_strategy` with the deployments' `weight`s (`litellm_pools`);
//! - `num_retries`, `retry_after`, `allowed_fails`, `cooldown_time` become
//!   the retry policy and a router-wide breaker.
//!
//! Unknown keys are tolerated and reported as [`Unmapped`].

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde_norway::Value;

use super::{Import, ImportError, Position, Unmapped};
use crate::policy::{
    BreakerPolicy, ChainStep, EndpointPolicy, RetryPolicy, Router, RouterConfig, SlaClass, TenantPolicy, Tier,
};
use crate::time::Span;

/// LiteLLM's default `num_retries` when neither settings section sets it.
pub const DEFAULT_NUM_RETRIES: u32 = 2;
/// LiteLLM's default request timeout, seconds.
pub const DEFAULT_TIMEOUT_SECS: f64 = 600.0;
/// LiteLLM's default `allowed_fails` (failures per minute before cooldown).
pub const DEFAULT_ALLOWED_FAILS: u32 = 3;
/// LiteLLM's default `cooldown_time`, seconds.
pub const DEFAULT_COOLDOWN_SECS: f64 = 5.0;
/// The deepest tier a fallback group is placed at.
const MAX_FALLBACK_TIER: u8 = 3;

/// The file, as far as slaplan reads it; other keys are found by
/// [`report_unknown`].
#[derive(Deserialize)]
struct LiteLlmFile {
    #[serde(default)]
    model_list: Option<Vec<Deployment>>,
    #[serde(default)]
    router_settings: Option<Settings>,
    #[serde(default)]
    litellm_settings: Option<Settings>,
}

#[derive(Deserialize)]
struct Deployment {
    model_name: String,
    litellm_params: Params,
}

#[derive(Deserialize)]
struct Params {
    model: String,
    #[serde(default)]
    api_base: Option<String>,
    #[serde(default)]
    custom_llm_provider: Option<String>,
    #[serde(default)]
    rpm: Option<u32>,
    #[serde(default)]
    tpm: Option<u64>,
    #[serde(default)]
    timeout: Option<f64>,
    #[serde(default)]
    region_name: Option<String>,
    #[serde(default)]
    order: Option<i64>,
    #[serde(default)]
    weight: Option<f64>,
}

/// `router_settings` and `litellm_settings` share these keys; where both set
/// one, `router_settings` wins.
#[derive(Default, Deserialize)]
struct Settings {
    #[serde(default)]
    num_retries: Option<u32>,
    #[serde(default)]
    timeout: Option<f64>,
    #[serde(default)]
    request_timeout: Option<f64>,
    #[serde(default)]
    fallbacks: Option<Vec<BTreeMap<String, Vec<String>>>>,
    #[serde(default)]
    default_fallbacks: Option<Vec<String>>,
    #[serde(default)]
    allowed_fails: Option<u32>,
    #[serde(default)]
    cooldown_time: Option<f64>,
    #[serde(default)]
    retry_after: Option<f64>,
    #[serde(default)]
    disable_cooldowns: Option<bool>,
    #[serde(default)]
    routing_strategy: Option<String>,
}

const TOP_KEYS: &[&str] = &["model_list", "router_settings", "litellm_settings"];
const DEPLOYMENT_KEYS: &[&str] = &["model_name", "litellm_params", "model_info"];
const PARAM_KEYS: &[&str] = &[
    "model",
    "api_base",
    "custom_llm_provider",
    "rpm",
    "tpm",
    "timeout",
    "region_name",
    "order",
    "weight",
    // Credentials and connection details: nothing to simulate, not reported.
    "api_key",
    "api_version",
    "organization",
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
    "aws_region_name",
    "aws_profile_name",
    "vertex_project",
    "vertex_location",
    "vertex_credentials",
    "azure_ad_token",
];
const SETTINGS_KEYS: &[&str] = &[
    "num_retries",
    "timeout",
    "request_timeout",
    "fallbacks",
    "default_fallbacks",
    "allowed_fails",
    "cooldown_time",
    "retry_after",
    "disable_cooldowns",
    "routing_strategy",
];

/// Why a key slaplan does not read was left out.
fn reason(key: &str) -> &'static str {
    match key {
        "context_window_fallbacks" => "not modelled: slaplan does not simulate context-window errors",
        "content_policy_fallbacks" => "not modelled: slaplan does not simulate content-policy errors",
        "environment_variables" => "secrets and environment: nothing to simulate",
        "general_settings" => "proxy server settings (auth, database, alerting): not modelled",
        "callbacks" | "success_callback" | "failure_callback" | "service_callback" => {
            "observability callbacks: not modelled"
        }
        "max_retries" => "per-deployment client retries are not modelled; attempts come from num_retries",
        "stream_timeout" => "streaming is not modelled; `timeout` is the attempt timeout",
        "max_parallel_requests" => "not mapped: set max_concurrency on the endpoint by hand if it is a hard cap",
        k if k.starts_with("redis") => "shared state across proxy instances is not modelled: one router",
        _ => "not modelled",
    }
}

/// Reads and imports a LiteLLM configuration file.
pub fn load(path: &Path) -> Result<Import, ImportError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ImportError::Read {
        file: file.clone(),
        source,
    })?;
    parse(&text, &file)
}

/// Imports a LiteLLM configuration given as text; `file` names it in errors.
pub fn parse(text: &str, file: &str) -> Result<Import, ImportError> {
    let value: Value = serde_norway::from_str(text).map_err(|e| yaml_error(file, e))?;
    let parsed: LiteLlmFile = serde_norway::from_str(text).map_err(|e| yaml_error(file, e))?;
    let mut unmapped = Vec::new();
    report_unknown(&value, &mut unmapped);
    let mut notes = Vec::new();
    let router = translate(parsed, file, &mut unmapped, &mut notes)?;
    Router::new(router.clone()).map_err(|source| ImportError::Router {
        file: file.to_string(),
        source,
    })?;
    Ok(Import {
        router,
        unmapped,
        notes,
    })
}

fn field(file: &str, path: impl Into<String>, problem: impl Into<String>) -> ImportError {
    ImportError::Field {
        file: file.to_string(),
        at: Position::default(),
        path: path.into(),
        problem: problem.into(),
    }
}

/// Splits serde_norway's `path: message at line L column C` into the parts
/// [`ImportError`] shows, and says what a missing field should look like.
fn yaml_error(file: &str, e: serde_norway::Error) -> ImportError {
    let at = Position(e.location().map(|l| (l.line(), l.column())));
    let mut text = e.to_string();
    if at.0.is_some()
        && let Some(i) = text.find(" at line ")
    {
        text.truncate(i);
    }
    const SERDE_MESSAGES: &[&str] = &[
        "invalid type",
        "invalid value",
        "invalid length",
        "missing field",
        "unknown field",
        "unknown variant",
        "duplicate field",
    ];
    let (path, problem) = match text.split_once(": ") {
        Some((p, m)) if !SERDE_MESSAGES.iter().any(|s| text.starts_with(s)) && !p.contains(' ') => {
            (p.to_string(), m.to_string())
        }
        _ if SERDE_MESSAGES.iter().any(|s| text.starts_with(s)) => (String::new(), text.clone()),
        _ => {
            return ImportError::Syntax {
                file: file.to_string(),
                at,
                problem: text,
            };
        }
    };
    let (path, problem) = match problem
        .strip_prefix("missing field `")
        .and_then(|r| r.strip_suffix('`'))
    {
        Some(name) => {
            let path = if path.is_empty() {
                name.to_string()
            } else {
                format!("{path}.{name}")
            };
            let problem = format!("missing field, expected {}", expected(name));
            (path, problem)
        }
        None => (path, friendlier(&problem)),
    };
    ImportError::Field {
        file: file.to_string(),
        at,
        path: if path.is_empty() { "(top level)".into() } else { path },
        problem,
    }
}

fn expected(field: &str) -> &'static str {
    match field {
        "model" => "e.g. \"azure/gpt-4o\" (provider prefix, then the provider's model id)",
        "model_name" => "the model group callers ask for, e.g. \"gpt-4o\"",
        "litellm_params" => "a mapping with at least `model`",
        _ => "a value",
    }
}

fn friendlier(problem: &str) -> String {
    problem
        .replace("expected u32", "expected a whole number from 0 to 4294967295, e.g. 600")
        .replace("expected u64", "expected a whole number of at least 0, e.g. 100000")
        .replace("expected f64", "expected a number of seconds, e.g. 30")
        .replace("expected i64", "expected a whole number, e.g. 1")
}

/// Adds every key of the file slaplan does not read to `out`.
fn report_unknown(value: &Value, out: &mut Vec<Unmapped>) {
    let Some(top) = value.as_mapping() else { return };
    for (k, v) in top {
        let key = key_text(k);
        if !TOP_KEYS.contains(&key.as_str()) {
            out.push(Unmapped::new(key.clone(), reason(&key)));
            continue;
        }
        match key.as_str() {
            "model_list" => {
                for (i, d) in v.as_sequence().into_iter().flatten().enumerate() {
                    let path = format!("model_list[{i}]");
                    unknown_in(d, &path, DEPLOYMENT_KEYS, out);
                    if let Some(p) = d.get("litellm_params") {
                        unknown_in(p, &format!("{path}.litellm_params"), PARAM_KEYS, out);
                    }
                }
            }
            section => unknown_in(v, section, SETTINGS_KEYS, out),
        }
    }
}

fn unknown_in(value: &Value, path: &str, known: &[&str], out: &mut Vec<Unmapped>) {
    for (k, _) in value.as_mapping().into_iter().flatten() {
        let key = key_text(k);
        if !known.contains(&key.as_str()) {
            out.push(Unmapped::new(format!("{path}.{key}"), reason(&key)));
        }
    }
}

fn key_text(k: &Value) -> String {
    match k {
        Value::String(s) => s.clone(),
        other => serde_norway::to_string(other)
            .map(|s| s.trim().to_string())
            .unwrap_or_default(),
    }
}

/// The host (and port) of a URL, lowercased; `None` for environment
/// references such as `os.environ/AZURE_API_BASE`.
fn host_of(url: &str) -> Option<String> {
    let (_, rest) = url.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next()?.rsplit('@').next()?;
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// The provider: `custom_llm_provider`, else the model's prefix (an
/// `openai/` model on a non-OpenAI `api_base` is a compatible server, named
/// by its host), else the `api_base` host, else a guess from the model id.
fn provider(p: &Params) -> Option<String> {
    if let Some(c) = p.custom_llm_provider.as_deref().filter(|c| !c.is_empty()) {
        return Some(c.to_string());
    }
    let prefix = p
        .model
        .split_once('/')
        .map(|(pre, _)| pre)
        .filter(|pre| !pre.is_empty());
    let host = p.api_base.as_deref().and_then(host_of);
    match (prefix, host) {
        (Some("openai"), Some(h)) if h != "api.openai.com" => Some(h),
        (Some(pre), _) => Some(pre.to_string()),
        (None, Some(h)) => Some(h),
        (None, None) => {
            let m = p.model.as_str();
            if ["gpt-", "o1", "o3", "o4", "chatgpt", "text-embedding"]
                .iter()
                .any(|s| m.starts_with(s))
            {
                Some("openai".into())
            } else if m.starts_with("claude") {
                Some("anthropic".into())
            } else {
                None
            }
        }
    }
}

fn seconds(file: &str, path: &str, secs: f64) -> Result<Span, ImportError> {
    if secs.is_finite() && secs > 0.0 {
        Ok(Span::from_secs_f64(secs))
    } else {
        Err(field(
            file,
            path,
            format!("is {secs}, expected a positive number of seconds, e.g. 30"),
        ))
    }
}

/// One setting from `router_settings`, else `litellm_settings`; notes when
/// the latter is shadowed.
fn pick<T: Clone>(
    router: &Settings,
    litellm: &Settings,
    key: &str,
    get: impl Fn(&Settings) -> Option<T>,
    unmapped: &mut Vec<Unmapped>,
) -> Option<(T, String)> {
    match (get(router), get(litellm)) {
        (Some(r), Some(_)) => {
            unmapped.push(Unmapped::new(
                format!("litellm_settings.{key}"),
                format!("overridden by router_settings.{key}"),
            ));
            Some((r, format!("router_settings.{key}")))
        }
        (Some(r), None) => Some((r, format!("router_settings.{key}"))),
        (None, Some(l)) => Some((l, format!("litellm_settings.{key}"))),
        (None, None) => None,
    }
}

/// A model group: its name and its deployments' endpoint names, best first.
struct Group {
    name: String,
    endpoints: Vec<String>,
}

fn translate(
    file_cfg: LiteLlmFile,
    file: &str,
    unmapped: &mut Vec<Unmapped>,
    notes: &mut Vec<String>,
) -> Result<RouterConfig, ImportError> {
    let deployments = file_cfg.model_list.unwrap_or_default();
    if deployments.is_empty() {
        return Err(field(
            file,
            "model_list",
            "is missing or empty, expected at least one deployment (`- model_name: ...` with `litellm_params`)",
        ));
    }
    let rs = file_cfg.router_settings.unwrap_or_default();
    let ls = file_cfg.litellm_settings.unwrap_or_default();

    let default_timeout = match pick(&rs, &ls, "timeout", |s| s.timeout, unmapped)
        .or_else(|| pick(&rs, &ls, "request_timeout", |s| s.request_timeout, unmapped))
    {
        Some((secs, path)) => seconds(file, &path, secs)?,
        None => {
            notes.push(format!(
                "no timeout set: attempt_timeout defaults to LiteLLM's {DEFAULT_TIMEOUT_SECS}s"
            ));
            Span::from_secs_f64(DEFAULT_TIMEOUT_SECS)
        }
    };

    // Endpoints, in file order; groups in order of first appearance.
    let mut endpoints: Vec<EndpointPolicy> = Vec::with_capacity(deployments.len());
    let mut groups: Vec<Group> = Vec::new();
    let mut ordered: Vec<(usize, Option<i64>, usize)> = Vec::new(); // (group, order, endpoint)
    for (i, d) in deployments.iter().enumerate() {
        let path = format!("model_list[{i}]");
        if d.model_name.is_empty() {
            return Err(field(
                file,
                format!("{path}.model_name"),
                "is empty, expected e.g. \"gpt-4o\"",
            ));
        }
        let p = &d.litellm_params;
        if p.model.is_empty() {
            return Err(field(
                file,
                format!("{path}.litellm_params.model"),
                format!("is empty, expected {}", expected("model")),
            ));
        }
        let provider = provider(p).unwrap_or_else(|| {
            unmapped.push(Unmapped::new(
                format!("{path}.litellm_params.model"),
                format!(
                    "provider of {:?} not derivable (no prefix, no api_base): provider left empty",
                    p.model
                ),
            ));
            "unknown".to_string()
        });
        let region = p.region_name.clone().unwrap_or_default();
        let mut name = format!("{}@{provider}", d.model_name);
        if !region.is_empty() {
            name = format!("{name}/{region}");
        }
        if endpoints.iter().any(|e| e.name == name) {
            let n = (2..).find(|n| !endpoints.iter().any(|e| e.name == format!("{name}#{n}")));
            name = format!("{name}#{}", n.unwrap_or(2));
        }
        let attempt_timeout = match p.timeout {
            Some(secs) => seconds(file, &format!("{path}.litellm_params.timeout"), secs)?,
            None => default_timeout,
        };
        let g = match groups.iter().position(|g| g.name == d.model_name) {
            Some(g) => g,
            None => {
                groups.push(Group {
                    name: d.model_name.clone(),
                    endpoints: Vec::new(),
                });
                groups.len() - 1
            }
        };
        ordered.push((g, p.order, endpoints.len()));
        endpoints.push(EndpointPolicy {
            name,
            provider: if provider == "unknown" { String::new() } else { provider },
            region,
            attempt_timeout,
            rpm: p.rpm,
            tpm: p.tpm,
            ..EndpointPolicy::default()
        });
    }
    pools(file, &deployments, &groups, &ordered, &mut endpoints, unmapped, notes)?;
    // Lower `order` first, absent last, ties in file order (stable sort).
    ordered.sort_by_key(|&(_, order, _)| (order.is_none(), order.unwrap_or(0)));
    for (g, _, e) in ordered {
        groups[g].endpoints.push(endpoints[e].name.clone());
    }
    let balance = super::litellm_pools::strategy(
        pick(&rs, &ls, "routing_strategy", |s| s.routing_strategy.clone(), unmapped),
        unmapped,
        notes,
    );

    let fallbacks = fallback_table(file, &rs, &ls, &groups, unmapped)?;
    let retry = retry_policy(file, &rs, &ls, unmapped, notes)?;
    let breaker = breaker_policy(file, &rs, &ls, unmapped, notes)?;

    let mut tenants = Vec::with_capacity(groups.len());
    for g in &groups {
        let mut chain: Vec<ChainStep> = g
            .endpoints
            .iter()
            .map(|e| ChainStep {
                endpoint: e.clone(),
                tier: Tier::PRIMARY,
            })
            .collect();
        let mut used = vec![g.name.as_str()];
        let targets = fallbacks.get(g.name.as_str()).or_else(|| fallbacks.get("*"));
        for target in targets.into_iter().flatten() {
            if used.contains(&target.as_str()) {
                continue;
            }
            used.push(target);
            let tier = Tier(u8::try_from(used.len() - 1).unwrap_or(u8::MAX).min(MAX_FALLBACK_TIER));
            if let Some(fg) = groups.iter().find(|fg| &fg.name == target) {
                chain.extend(fg.endpoints.iter().map(|e| ChainStep {
                    endpoint: e.clone(),
                    tier,
                }));
            }
        }
        let groups_in_chain = u32::try_from(used.len()).unwrap_or(u32::MAX);
        tenants.push(TenantPolicy {
            name: format!("litellm/{}", g.name),
            class: SlaClass::Silver,
            chain,
            retry: RetryPolicy {
                max_attempts: retry.max_attempts.saturating_mul(groups_in_chain),
                ..retry.clone()
            },
            ..TenantPolicy::default()
        });
    }
    notes.push(
        "LiteLLM has no tenants: each model group became a silver tenant `litellm/<model_name>` whose chain is \
         the group's deployments (tier 0) then its fallback groups (tiers 1, 2, 3)"
            .into(),
    );
    Ok(RouterConfig {
        endpoints,
        tenants,
        breaker,
        balance,
        ..Default::default()
    })
}

/// Each group's deployments become one pool: their `weight`s go to their
/// endpoints, and a priority `order` inside a group (which LiteLLM honours
/// before balancing) is reported, since a pool balances over all of them.
fn pools(
    file: &str,
    deployments: &[Deployment],
    groups: &[Group],
    ordered: &[(usize, Option<i64>, usize)],
    endpoints: &mut [EndpointPolicy],
    unmapped: &mut Vec<Unmapped>,
    notes: &mut Vec<String>,
) -> Result<(), ImportError> {
    for (g, group) in groups.iter().enumerate() {
        let members: Vec<usize> = ordered.iter().filter(|m| m.0 == g).map(|m| m.2).collect();
        let weights: Vec<Option<f64>> = members.iter().map(|&i| deployments[i].litellm_params.weight).collect();
        let paths: Vec<String> = members
            .iter()
            .map(|i| format!("model_list[{i}].litellm_params.weight"))
            .collect();
        let weights = super::litellm_pools::group_weights(&group.name, &weights, &paths, notes)
            .map_err(|(path, problem)| field(file, path, problem))?;
        for (&i, w) in members.iter().zip(weights) {
            endpoints[i].weight = w;
        }
        let mut orders: Vec<Option<i64>> = members.iter().map(|&i| deployments[i].litellm_params.order).collect();
        orders.sort_unstable();
        orders.dedup();
        if orders.len() > 1 {
            let first = members.iter().find(|&&i| deployments[i].litellm_params.order.is_some());
            unmapped.push(Unmapped::new(
                format!("model_list[{}].litellm_params.order", first.copied().unwrap_or(0)),
                format!(
                    "priority order inside a group is not modelled: the deployments of {:?} are one pool, \
                     balanced by the routing strategy (listed by order)",
                    group.name
                ),
            ));
        }
    }
    if groups
        .iter()
        .any(|g| ordered.iter().filter(|m| groups[m.0].name == g.name).count() > 1)
    {
        notes.push(
            "deployments sharing a model_name form one pool at their tier: calls are balanced over them, and a \
             failed attempt moves on to the next fallback group's pool"
                .into(),
        );
    }
    Ok(())
}

/// Fallback targets per source group (`*` for the default), checked against
/// the defined groups.
fn fallback_table(
    file: &str,
    rs: &Settings,
    ls: &Settings,
    groups: &[Group],
    unmapped: &mut Vec<Unmapped>,
) -> Result<BTreeMap<String, Vec<String>>, ImportError> {
    let known = |name: &str| groups.iter().any(|g| g.name == name);
    let defined = || groups.iter().map(|g| g.name.as_str()).collect::<Vec<_>>().join(", ");
    let mut table: BTreeMap<String, Vec<String>> = BTreeMap::new();
    if let Some((list, path)) = pick(rs, ls, "fallbacks", |s| s.fallbacks.clone(), unmapped) {
        for (i, entry) in list.iter().enumerate() {
            for (source, targets) in entry {
                let at = format!("{path}[{i}].{source}");
                if source != "*" && !known(source) {
                    return Err(field(
                        file,
                        at,
                        format!(
                            "names model group {source:?}, which no model_list entry defines (defined: {})",
                            defined()
                        ),
                    ));
                }
                for (j, t) in targets.iter().enumerate() {
                    if !known(t) {
                        return Err(field(
                            file,
                            format!("{at}[{j}]"),
                            format!(
                                "names model group {t:?}, which no model_list entry defines (defined: {})",
                                defined()
                            ),
                        ));
                    }
                }
                if table.contains_key(source) {
                    unmapped.push(Unmapped::new(
                        at,
                        "a second fallback list for this group; the first one is used",
                    ));
                } else {
                    table.insert(source.clone(), targets.clone());
                }
            }
        }
    }
    if let Some((list, path)) = pick(rs, ls, "default_fallbacks", |s| s.default_fallbacks.clone(), unmapped) {
        for (j, t) in list.iter().enumerate() {
            if !known(t) {
                return Err(field(
                    file,
                    format!("{path}[{j}]"),
                    format!(
                        "names model group {t:?}, which no model_list entry defines (defined: {})",
                        defined()
                    ),
                ));
            }
        }
        table.entry("*".into()).or_insert(list);
    }
    Ok(table)
}

/// The per-group retry policy; `max_attempts` is per model group and is
/// multiplied by the number of groups in each chain.
fn retry_policy(
    file: &str,
    rs: &Settings,
    ls: &Settings,
    unmapped: &mut Vec<Unmapped>,
    notes: &mut Vec<String>,
) -> Result<RetryPolicy, ImportError> {
    let num_retries = match pick(rs, ls, "num_retries", |s| s.num_retries, unmapped) {
        Some((n, _)) => n,
        None => {
            notes.push(format!(
                "num_retries not set: assumed LiteLLM's default of {DEFAULT_NUM_RETRIES}"
            ));
            DEFAULT_NUM_RETRIES
        }
    };
    notes.push(format!(
        "num_retries = {num_retries}: LiteLLM makes up to {} attempts per model group, then moves to the next \
         fallback group; slaplan counts attempts over the whole chain, so each tenant's retry.max_attempts = \
         (num_retries + 1) x (model groups in its chain), and attempts walk the chain step by step",
        num_retries.saturating_add(1)
    ));
    let mut retry = RetryPolicy {
        max_attempts: num_retries.saturating_add(1),
        ..RetryPolicy::default()
    };
    if let Some((secs, path)) = pick(rs, ls, "retry_after", |s| s.retry_after, unmapped) {
        retry.backoff = seconds(file, &path, secs)?;
        retry.backoff_max = retry.backoff_max.max(retry.backoff);
        notes.push(format!(
            "{path} = {secs}s became retry.backoff (slaplan doubles it each retry, up to {})",
            retry.backoff_max
        ));
    }
    Ok(retry)
}

/// LiteLLM's deployment cooldown as a router-wide breaker.
fn breaker_policy(
    file: &str,
    rs: &Settings,
    ls: &Settings,
    unmapped: &mut Vec<Unmapped>,
    notes: &mut Vec<String>,
) -> Result<Option<BreakerPolicy>, ImportError> {
    if let Some((true, path)) = pick(rs, ls, "disable_cooldowns", |s| s.disable_cooldowns, unmapped) {
        notes.push(format!("{path} is true: no circuit breakers"));
        return Ok(None);
    }
    let allowed_fails = pick(rs, ls, "allowed_fails", |s| s.allowed_fails, unmapped);
    let cooldown = pick(rs, ls, "cooldown_time", |s| s.cooldown_time, unmapped);
    let open_for = match &cooldown {
        Some((secs, path)) if *secs == 0.0 => {
            notes.push(format!("{path} is 0: cooldowns are off, so no circuit breakers"));
            return Ok(None);
        }
        Some((secs, path)) => seconds(file, path, *secs)?,
        None => Span::from_secs_f64(DEFAULT_COOLDOWN_SECS),
    };
    let fails = allowed_fails.as_ref().map_or(DEFAULT_ALLOWED_FAILS, |(n, _)| *n);
    let breaker = BreakerPolicy {
        window: Span::from_mins(1),
        min_requests: fails.saturating_add(1),
        error_ratio: 0.5,
        slow_threshold: None,
        slow_ratio: 0.5,
        open_for,
        half_open_probes: 1,
    };
    notes.push(format!(
        "allowed_fails = {fails}{}, cooldown_time = {open_for}{}: LiteLLM cools a deployment down after more than \
         allowed_fails failures in a minute; slaplan's breaker counts shares, not failures, so it trips when at \
         least {} attempts ended in the last minute and half of them failed, stays open {open_for}, then lets 1 \
         probe through",
        if allowed_fails.is_none() {
            " (LiteLLM's default)"
        } else {
            ""
        },
        if cooldown.is_none() { " (LiteLLM's default)" } else { "" },
        breaker.min_requests,
    ));
    Ok(Some(breaker))
}
