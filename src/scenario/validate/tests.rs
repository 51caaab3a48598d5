//! One case per check: a valid scenario with one edit in, the one problem
//! (field path, hand-counted line, words of the message) out.

use std::path::Path;

use super::*;

/// A valid scenario; the line numbers in the cases below are counted here.
const BASE: &str = r#"[simulation]
start = "2026-01-01"
duration = "31d"
replications = 2

[[endpoints]]
name = "sonnet@anthropic/eu"
concurrency = 4
max_concurrency = 8
attempt_timeout = "20s"
error_probability = 0.01
latency = { model = "lognormal", ttft = "300ms", sigma = 0.3 }
outages = [{ start = "9d", duration = "2h" }]

[[endpoints]]
name = "haiku@bedrock/eu"
concurrency = 2
latency = { model = "exponential", mean = "500ms" }

[[tenants]]
name = "hospital"
class = "gold"
chain = ["sonnet@anthropic/eu", { endpoint = "haiku@bedrock/eu", tier = 4 }]
retry = { max_attempts = 3 }

[[tenants.workflows]]
name = "triage"
rate = 1.5
input_tokens = { dist = "uniform", min = 100, max = 200 }
output_tokens = { dist = "lognormal", mean = 120, sigma = 0.4 }

[[tenants.clauses]]
metric = "latency"
workflow = "triage"
percentile = 95
threshold = "4s"

[[tenants.clauses]]
metric = "availability"
target = 0.999
"#;

/// Problems with `source`: serde errors if it does not deserialize, else
/// the semantic ones.
fn problems(source: &str) -> Vec<Problem> {
    match crate::scenario::parse(source, Path::new("t.toml")) {
        Ok(_) => Vec::new(),
        Err(e) => e.problems,
    }
}

/// BASE with `from` replaced by `to` (which must occur exactly once).
fn edit(from: &str, to: &str) -> String {
    assert_eq!(BASE.matches(from).count(), 1, "{from:?} must occur once in BASE");
    BASE.replacen(from, to, 1)
}

/// Asserts that `source` has exactly one problem, at `path` on `line`, whose
/// message contains every one of `words`.
#[track_caller]
fn one(source: &str, path: &str, line: Option<usize>, words: &[&str]) {
    let p = problems(source);
    assert_eq!(p.len(), 1, "expected one problem, got {p:#?}");
    assert_eq!(p[0].path, path, "{p:#?}");
    assert_eq!(p[0].line, line, "{p:#?}");
    for w in words {
        assert!(p[0].message.contains(w), "{w:?} not in {:?}", p[0].message);
    }
}

#[test]
fn the_base_scenario_is_valid() {
    assert_eq!(problems(BASE), Vec::new());
}

#[test]
fn quickstart_is_valid() {
    let source = include_str!("../../../scenarios/quickstart.toml");
    assert_eq!(problems(source), Vec::new());
}

#[test]
fn the_readme_example_is_valid() {
    let readme = include_str!("../../../scenarios/README.md");
    let example = readme
        .rsplit_once("```toml\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .map(|(toml, _)| toml);
    let Some(example) = example else {
        panic!("scenarios/README.md has no ```toml example");
    };
    assert!(example.contains("[simulation]"), "took the wrong block");
    assert_eq!(problems(example), Vec::new());
}

#[test]
fn simulation_checks() {
    one(
        &edit("\"2026-01-01\"", "\"2026-13-01\""),
        "simulation.start",
        Some(2),
        &["\"2026-13-01\"", "expected e.g. \"2026-01-01\""],
    );
    one(
        &edit("\"31d\"", "\"0s\""),
        "simulation.duration",
        Some(3),
        &["zero", "expected a positive duration"],
    );
    one(
        &edit("replications = 2", "replications = 0"),
        "simulation.replications",
        Some(4),
        &["expected 1 or more"],
    );
}

#[test]
fn endpoint_checks() {
    one(
        &edit("concurrency = 4", "concurrency = 0"),
        "endpoints[0].concurrency",
        Some(8),
        &["expected 1 or more"],
    );
    one(
        &edit("max_concurrency = 8", "max_concurrency = 0"),
        "endpoints[0].max_concurrency",
        Some(9),
        &["max_concurrency must be at least 1"],
    );
    one(
        &edit("\"20s\"", "\"0ms\""),
        "endpoints[0].attempt_timeout",
        Some(10),
        &["attempt_timeout must be longer than zero"],
    );
    for bad in ["1.5", "-0.1", "nan"] {
        one(
            &edit("0.01", bad),
            "endpoints[0].error_probability",
            Some(11),
            &["expected a number from 0 to 1"],
        );
    }
    one(
        &edit("\"300ms\"", "\"0s\""),
        "endpoints[0].latency.ttft",
        Some(12),
        &["expected a positive duration"],
    );
    for bad in ["-0.3", "inf"] {
        one(
            &edit("sigma = 0.3", &format!("sigma = {bad}")),
            "endpoints[0].latency.sigma",
            Some(12),
            &["expected a finite number, 0 or more"],
        );
    }
    one(
        &edit("\"500ms\"", "\"0s\""),
        "endpoints[1].latency.mean",
        Some(18),
        &["expected a positive duration"],
    );
}

#[test]
fn endpoint_names_are_non_empty_and_unique() {
    // The chain's second entry then repeats the first: reported as well.
    let p = problems(&edit("name = \"haiku@bedrock/eu\"", "name = \"sonnet@anthropic/eu\""));
    assert_eq!(p[0].path, "endpoints[1].name", "{p:#?}");
    assert_eq!(p[0].line, Some(16), "{p:#?}");
    assert!(p[0].message.contains("already the name of endpoints[0]"), "{p:#?}");
    let p = problems(&edit("name = \"haiku@bedrock/eu\"", "name = \"\""));
    assert_eq!(p[0].path, "endpoints[1].name", "{p:#?}");
    assert!(p[0].message.contains("empty"), "{p:#?}");
}

#[test]
fn outage_checks() {
    one(
        &edit("duration = \"2h\"", "duration = \"0s\""),
        "endpoints[0].outages[0].duration",
        Some(13),
        &["expected a positive duration"],
    );
    one(
        &edit("start = \"9d\"", "start = \"31d\""),
        "endpoints[0].outages[0].start",
        Some(13),
        &["past its end (31d)", "within the simulated period"],
    );
    one(
        &edit("start = \"9d\"", "start = \"2026-02-01T00:00:00\""),
        "endpoints[0].outages[0].start",
        Some(13),
        &["31d after", "within the simulated period"],
    );
    one(
        &edit("start = \"9d\"", "start = \"2025-12-31\""),
        "endpoints[0].outages[0].start",
        Some(13),
        &["before simulation.start"],
    );
    one(
        &edit("start = \"9d\"", "start = \"next tuesday\""),
        "endpoints[0].outages[0].start",
        Some(13),
        &["neither an offset nor a date", "\"9d\""],
    );
}

#[test]
fn a_chain_endpoint_must_exist_with_a_suggestion_when_close() {
    one(
        &edit("[\"sonnet@anthropic/eu\",", "[\"sonnet@anthropic/us\","),
        "tenants[0].chain[0]",
        Some(23),
        &[
            "unknown endpoint \"sonnet@anthropic/us\"",
            "did you mean \"sonnet@anthropic/eu\"?",
            "expected one of",
        ],
    );
    let p = problems(&edit("[\"sonnet@anthropic/eu\",", "[\"gpt\","));
    assert_eq!(p[0].path, "tenants[0].chain[0]");
    assert!(!p[0].message.contains("did you mean"), "{p:#?}");
    one(
        &edit("endpoint = \"haiku@bedrock/eu\"", "endpoint = \"haiku@bedrok/eu\""),
        "tenants[0].chain[1].endpoint",
        Some(23),
        &["did you mean \"haiku@bedrock/eu\"?"],
    );
}

#[test]
fn chain_checks() {
    one(
        &edit(
            "chain = [\"sonnet@anthropic/eu\", { endpoint = \"haiku@bedrock/eu\", tier = 4 }]",
            "chain = []",
        ),
        "tenants[0].chain",
        Some(23),
        &["empty"],
    );
    one(
        &edit("\"haiku@bedrock/eu\", tier = 4", "\"sonnet@anthropic/eu\", tier = 4"),
        "tenants[0].chain[1].endpoint",
        Some(23),
        &["already chain[0]", "at most once"],
    );
    one(
        &edit("tier = 4", "tier = 5"),
        "tenants[0].chain[1].tier",
        Some(23),
        &["expected 0 to 4"],
    );
    one(
        &edit("max_attempts = 3", "max_attempts = 0"),
        "tenants[0].retry.max_attempts",
        Some(24),
        &["retry.max_attempts must be at least 1"],
    );
}

#[test]
fn workflow_checks() {
    for bad in ["-1.0", "-3", "nan", "inf"] {
        one(
            &edit("rate = 1.5", &format!("rate = {bad}")),
            "tenants[0].workflows[0].rate",
            Some(28),
            &["expected calls per second, 0 or more"],
        );
    }
    one(
        &edit("min = 100, max = 200", "min = 300, max = 200"),
        "tenants[0].workflows[0].input_tokens.min",
        Some(29),
        &["min 300 is above max 200"],
    );
    one(
        &edit("mean = 120,", "mean = 0,"),
        "tenants[0].workflows[0].output_tokens.mean",
        Some(30),
        &["expected a positive token count"],
    );
    one(
        &edit("sigma = 0.4", "sigma = -1"),
        "tenants[0].workflows[0].output_tokens.sigma",
        Some(30),
        &["expected a finite number, 0 or more"],
    );
}

#[test]
fn tenants_need_workflows_with_unique_names() {
    let twice = edit(
        "\n[[tenants.clauses]]\nmetric = \"latency\"",
        "[[tenants.workflows]]\nname = \"triage\"\nrate = 1\n\n[[tenants.clauses]]\nmetric = \"latency\"",
    );
    one(
        &twice,
        "tenants[0].workflows[1].name",
        Some(32),
        &["already the name of tenants[0].workflows[0]"],
    );
}

#[test]
fn a_scenario_needs_tenants_and_endpoints() {
    let p = problems("[simulation]\nstart = \"2026-01-01\"\nduration = \"1d\"\n");
    let paths: Vec<&str> = p.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(paths, ["endpoints", "tenants"], "{p:#?}");
    assert!(p.iter().all(|p| p.line.is_none()));
}

#[test]
fn latency_clause_checks() {
    for bad in ["0", "100", "150", "-5"] {
        one(
            &edit("percentile = 95", &format!("percentile = {bad}")),
            "tenants[0].clauses[0].percentile",
            Some(35),
            &[&format!("{bad} is outside (0, 100)"), "expected e.g. 95 or 99.9"],
        );
    }
    one(
        &edit("percentile = 95\n", ""),
        "tenants[0].clauses[0].percentile",
        Some(32),
        &["needs a percentile"],
    );
    one(
        &edit("threshold = \"4s\"", "threshold = \"0s\""),
        "tenants[0].clauses[0].threshold",
        Some(36),
        &["expected a positive duration"],
    );
    one(
        &edit("threshold = \"4s\"", "threshold = \"4s\"\ntarget = 0.9"),
        "tenants[0].clauses[0].target",
        Some(37),
        &["a latency clause has no target"],
    );
    one(
        &edit("workflow = \"triage\"", "workflow = \"triag\""),
        "tenants[0].clauses[0].workflow",
        Some(34),
        &["no workflow \"triag\"", "did you mean \"triage\"?"],
    );
}

#[test]
fn availability_clause_checks() {
    for bad in ["0", "1.01", "-0.5"] {
        one(
            &edit("target = 0.999", &format!("target = {bad}")),
            "tenants[0].clauses[1].target",
            Some(40),
            &["outside (0, 1]"],
        );
    }
    one(
        &edit("target = 0.999", "target = 1.0\npercentile = 99"),
        "tenants[0].clauses[1].percentile",
        Some(41),
        &["an availability clause has no percentile"],
    );
    one(
        &edit("target = 0.999", ""),
        "tenants[0].clauses[1].target",
        Some(38),
        &["needs a target"],
    );
}

#[test]
fn independent_problems_are_all_reported_in_line_order() {
    let source = edit("\"31d\"", "\"0s\"")
        .replace("rate = 1.5", "rate = -2")
        .replace("percentile = 95", "percentile = 100");
    let p = problems(&source);
    let places: Vec<(&str, Option<usize>)> = p.iter().map(|p| (p.path.as_str(), p.line)).collect();
    assert_eq!(
        places,
        [
            ("simulation.duration", Some(3)),
            ("tenants[0].workflows[0].rate", Some(28)),
            ("tenants[0].clauses[0].percentile", Some(35)),
        ]
    );
}

#[test]
fn suggestions_need_a_near_name() {
    assert_eq!(edit_distance("kitten", "sitting"), 3);
    assert_eq!(edit_distance("", "abc"), 3);
    assert_eq!(closest("sonet", &["sonnet", "haiku"]), Some("sonnet"));
    assert_eq!(closest("ab", &["xy"]), None);
    assert_eq!(closest("gpt-4o", &["sonnet", "haiku"]), None);
}

#[test]
fn the_routers_own_checks_come_with_their_lines() {
    // Checked by the router core (RouterConfig::problems), placed here.
    one(
        &edit(
            "max_concurrency = 8",
            "max_concurrency = 8\nbreaker = { error_ratio = 2 }",
        ),
        "endpoints[0].breaker.error_ratio",
        Some(10),
        &["breaker.error_ratio is 2, expected a number from 0 to 1"],
    );
    one(
        &edit(
            "retry = { max_attempts = 3 }",
            "retry = { max_attempts = 3, jitter = 1.5 }",
        ),
        "tenants[0].retry.jitter",
        Some(24),
        &["retry.jitter is 1.5"],
    );
    one(
        &edit(
            "max_concurrency = 8",
            "max_concurrency = 8\nreserved = { gold = 0.8, bronze = 0.4 }",
        ),
        "endpoints[0].reserved",
        Some(10),
        &["reserved shares sum to 1.2"],
    );
    one(
        &edit(
            "replications = 2",
            "replications = 2\n\n[router]\nbudget = { period = \"0s\" }",
        ),
        "router.budget.period",
        Some(7),
        &["budget.period must be longer than zero"],
    );
}

#[test]
fn every_router_problem_is_reported_at_once_with_the_worlds() {
    let source = edit("max_concurrency = 8", "max_concurrency = 0")
        .replace("retry = { max_attempts = 3 }", "retry = { max_attempts = 0 }")
        .replace("rate = 1.5", "rate = -2");
    let p = problems(&source);
    let places: Vec<(&str, Option<usize>)> = p.iter().map(|p| (p.path.as_str(), p.line)).collect();
    assert_eq!(
        places,
        [
            ("endpoints[0].max_concurrency", Some(9)),
            ("tenants[0].retry.max_attempts", Some(24)),
            ("tenants[0].workflows[0].rate", Some(28)),
        ],
        "{p:#?}"
    );
}

#[test]
fn renamed_keys_say_their_new_name() {
    one(
        &edit("max_concurrency = 8", "max_in_flight = 8"),
        "endpoints[0].max_in_flight",
        Some(9),
        &["`max_in_flight` is now `max_concurrency`"],
    );
    for (old, new) in [
        ("max_attempts = 3", "retry.max_attempts"),
        ("backoff = \"1s\"", "retry.backoff"),
        ("jitter = 0.1", "retry.jitter"),
    ] {
        let key = old.split(' ').next().unwrap_or_default();
        one(
            &edit("retry = { max_attempts = 3 }", old),
            &format!("tenants[0].{key}"),
            Some(24),
            &[&format!("`{key}` is now `{new}`")],
        );
    }
}

#[test]
fn an_unknown_key_beside_an_embedded_router_type_is_an_error() {
    one(
        &edit(
            "error_probability = 0.01",
            "error_probability = 0.01\nerror_probabilty = 0.02",
        ),
        "endpoints[0].error_probabilty",
        Some(12),
        &["unknown key `error_probabilty`", "did you mean `error_probability`?"],
    );
    one(
        &edit("rate = 1.5", "rate = 1.5\nalowed_tiers = [0]"),
        "tenants[0].workflows[0].alowed_tiers",
        Some(29),
        &["did you mean `allowed_tiers`?"],
    );
}

#[test]
fn a_type_error_in_an_embedded_router_field_keeps_its_place() {
    // Flattened fields lose their spans in serde; decode reads them again.
    one(
        &edit("\"20s\"", "20"),
        "endpoints[0].attempt_timeout",
        Some(10),
        &["a bare number (20) is not a duration"],
    );
    one(
        &edit("class = \"gold\"", "class = \"golden\""),
        "tenants[0].class",
        Some(22),
        &["unknown variant `golden`"],
    );
}

#[test]
fn router_keys_a_scenario_writes_elsewhere_are_refused() {
    for (key, words) in [
        ("seed = 3", "simulation.seed"),
        ("endpoints = []", "[[endpoints]] tables"),
        ("tenants = []", "[[tenants]] tables"),
    ] {
        let name = key.split(' ').next().unwrap_or_default();
        one(
            &edit("replications = 2", &format!("replications = 2\n\n[router]\n{key}")),
            &format!("router.{name}"),
            Some(7),
            &["not a [router] key in a scenario", words],
        );
    }
}

#[test]
fn rate_is_required_without_replay_and_refused_with_it() {
    one(
        &edit("rate = 1.5\n", ""),
        "tenants[0].workflows[0].rate",
        Some(26),
        &["needs a rate unless it replays a trace"],
    );
    let replaying = edit(
        "rate = 1.5",
        "rate = 1.5\nreplay = { path = \"t.csv\", format = \"generic\" }",
    );
    one(
        &replaying,
        "tenants[0].workflows[0].rate",
        Some(28),
        &["rate is not used with replay"],
    );
}

#[test]
fn a_cap_above_the_providers_slots_is_a_warning_not_an_error() {
    let warnings = |source: &str| match crate::scenario::parse(source, Path::new("t.toml")) {
        Ok(s) => s.warnings,
        Err(e) => panic!("{e}"),
    };
    // BASE's first endpoint: cap 8 over 4 slots, no provider queue.
    let w = warnings(BASE);
    assert_eq!(w.len(), 1, "{w:#?}");
    assert_eq!(
        (w[0].path.as_str(), w[0].line),
        ("endpoints[0].max_concurrency", Some(9))
    );
    assert!(w[0].message.contains("refuses at once with a 503"), "{w:#?}");
    // With a provider queue and one class only, nothing is overtaken.
    let queued = edit("concurrency = 4\n", "concurrency = 4\nqueue_limit = 8\n");
    assert_eq!(warnings(&queued), Vec::new());
    // Within the slots, or left out (the default: the slots): nothing to say.
    assert_eq!(
        warnings(&edit("max_concurrency = 8", "max_concurrency = 4")),
        Vec::new()
    );
    assert_eq!(warnings(&edit("max_concurrency = 8\n", "")), Vec::new());
}
