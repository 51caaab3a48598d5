//! `slaplan import-litellm` end to end: the router part it prints pastes
//! into a scenario as is and gives back the imported router config,
//! `--scenario` writes a scenario that validates and runs, unmapped
//! settings go to stderr, and malformed files exit 2 with file, line and
//! field, leaving no output behind.

use std::fs;

use slaplan::policy::{BalancePolicy, Router, RouterConfig};
use slaplan::scenario;

use crate::common::{repo_path, slaplan, tempdir};

/// A scenario made of `router_part` as printed, with only additions: the
/// simulated period before it, and the world's keys an endpoint and a
/// tenant need right after each table header.
fn pasted_into_a_scenario(router_part: &str) -> String {
    let mut text = String::from("[simulation]\nstart = \"2026-01-01\"\nduration = \"1h\"\n");
    for line in router_part.lines() {
        text.push_str(line);
        text.push('\n');
        match line {
            "[[endpoints]]" => {
                text.push_str("concurrency = 8\nlatency = { model = \"exponential\", mean = \"1s\" }\n");
            }
            "[[tenants]]" => text.push_str("workflows = [{ name = \"w\", rate = 0.5 }]\n"),
            _ => {}
        }
    }
    text
}

/// What the import alone says: a scenario's router config without what
/// the scenario added (the default caps, the workflows).
fn without_scenario_additions(mut config: RouterConfig) -> RouterConfig {
    for e in &mut config.endpoints {
        e.max_concurrency = None;
    }
    for t in &mut config.tenants {
        t.workflows.clear();
    }
    config
}

fn fixture(name: &str) -> std::path::PathBuf {
    repo_path(&format!("tests/fixtures/litellm/{name}"))
}

#[test]
fn import_prints_a_router_part_that_pastes_into_a_scenario_and_lists_what_it_left_out() {
    let out = slaplan()
        .arg("import-litellm")
        .arg(fixture("azure_openai.yaml"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let printed = String::from_utf8_lossy(&out.stdout);
    let s = scenario::parse(&pasted_into_a_scenario(&printed), std::path::Path::new("pasted.toml"))
        .unwrap_or_else(|e| panic!("{e}\n{printed}"));
    let config = without_scenario_additions(s.router_config());
    let imported = slaplan::import::litellm::load(&fixture("azure_openai.yaml"))
        .unwrap()
        .router;
    assert_eq!(config, imported, "{printed}");
    assert_eq!(config.endpoints.len(), 6);
    let tenants: Vec<&str> = config.tenants.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        tenants,
        ["litellm/gpt-4o", "litellm/gpt-4o-mini", "litellm/claude-sonnet"]
    );
    assert_eq!(config.tenants[0].chain[0].endpoint, "gpt-4o@azure/swedencentral");
    // routing_strategy: simple-shuffle is the pools' weighted random balancing.
    assert_eq!(config.balance, BalancePolicy::WeightedRandom);
    assert!(
        !stderr.contains("unmapped: router_settings.routing_strategy"),
        "{stderr}"
    );
    assert!(Router::new(config).is_ok());
    for line in [
        "unmapped: router_settings.context_window_fallbacks: not modelled",
        "unmapped: litellm_settings.success_callback: observability callbacks: not modelled",
        "unmapped: general_settings: proxy server settings",
        "note: LiteLLM has no tenants",
    ] {
        assert!(stderr.contains(line), "stderr lacks {line:?}:\n{stderr}");
    }
}

#[test]
fn import_with_out_writes_the_file_and_nothing_else() {
    let dir = tempdir();
    let target = dir.path().join("router.toml");
    let out = slaplan()
        .arg("import-litellm")
        .arg(fixture("azure_openai.yaml"))
        .arg("--out")
        .arg(&target)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout.is_empty());
    let written: toml::Table = toml::from_str(&fs::read_to_string(&target).unwrap()).unwrap();
    assert_eq!(written["tenants"].as_array().map(Vec::len), Some(3));
    let names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("router.toml")]);
}

#[test]
fn malformed_configs_exit_2_naming_file_line_and_field() {
    for (name, needles) in [
        (
            "missing_model.yaml",
            &["missing_model.yaml:8:7: model_list[1].litellm_params.model: missing field, expected e.g."][..],
        ),
        ("syntax_error.yaml", &["syntax_error.yaml:6:", "not valid YAML"][..]),
        (
            "negative_rpm.yaml",
            &["negative_rpm.yaml:5:12: model_list[0].litellm_params.rpm:", "-100"][..],
        ),
        (
            "unknown_fallback.yaml",
            &["unknown_fallback.yaml: router_settings.fallbacks[0].gpt-4o[0]: names model group \"gpt-5\""][..],
        ),
    ] {
        let dir = tempdir();
        let target = dir.path().join("router.toml");
        let out = slaplan()
            .arg("import-litellm")
            .arg(fixture(name))
            .arg("--out")
            .arg(&target)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
        for needle in needles {
            assert!(stderr.contains(needle), "{name}: stderr lacks {needle:?}:\n{stderr}");
        }
        assert!(out.stdout.is_empty(), "{name}");
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            0,
            "{name}: left a file behind"
        );
    }
}

#[test]
fn a_missing_file_exits_2() {
    let out = slaplan()
        .arg("import-litellm")
        .arg(fixture("no_such_file.yaml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no_such_file.yaml: cannot read the file"));
}

#[test]
fn import_with_scenario_writes_a_scenario_that_validates_and_runs() {
    let dir = tempdir();
    let target = dir.path().join("imported.toml");
    let out = slaplan()
        .arg("import-litellm")
        .arg(fixture("azure_openai.yaml"))
        .arg("--scenario")
        .arg(&target)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout.is_empty());
    let text = fs::read_to_string(&target).unwrap();
    // Every figure LiteLLM does not give is marked.
    for marked in [
        "# assumption: one calendar month",
        "# assumption: LiteLLM states no concurrency",
        "# assumption: a generic hosted chat model's service time",
        "# assumption: no profile for \"azure\"",
        "# assumption: Poisson calls at 0.5 of the primary deployments' rpm (300 + 600 + 500 per minute)",
    ] {
        assert!(text.contains(marked), "lacks {marked:?}:\n{text}");
    }
    assert!(text.contains("# the calibrated profile of \"openai\""), "{text}");
    let validate = slaplan().arg("validate").arg(&target).output().unwrap();
    assert_eq!(
        validate.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&validate.stderr)
    );
    assert!(String::from_utf8_lossy(&validate.stdout).contains("ok (6 endpoints, 3 tenants, 0 clauses)"));
    // Its router is the imported one.
    let s = scenario::load(&target).unwrap();
    let imported = slaplan::import::litellm::load(&fixture("azure_openai.yaml"))
        .unwrap()
        .router;
    let mut config = without_scenario_additions(s.router_config());
    config.seed = 0;
    assert_eq!(config, imported);
    // It runs: one replication of a short period.
    let short = dir.path().join("short.toml");
    fs::write(&short, text.replace("duration = \"31d\"", "duration = \"10m\"")).unwrap();
    let run = slaplan()
        .arg("run")
        .arg(&short)
        .args(["--replications", "1", "--out"])
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(0), "{}", String::from_utf8_lossy(&run.stderr));
    assert!(String::from_utf8_lossy(&run.stdout).contains("1 replication(s) of 10m"));
}

#[test]
fn litellm_teams_become_one_tenant_per_team_and_model_group() {
    let dir = tempdir();
    let yaml = dir.path().join("teams.yaml");
    fs::write(
        &yaml,
        "model_list:\n  - model_name: chat\n    litellm_params:\n      model: openai/gpt-4o\n      rpm: 120\n\
         litellm_settings:\n  default_team_settings:\n    - team_id: support\n      success_callback: [\"langfuse\"]\n\
         \x20   - team_id: research\n",
    )
    .unwrap();
    let target = dir.path().join("teams.toml");
    let out = slaplan()
        .arg("import-litellm")
        .arg(&yaml)
        .arg("--scenario")
        .arg(&target)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("note: default_team_settings names 2 team(s)"),
        "{stderr}"
    );
    let s = scenario::load(&target).unwrap();
    let tenants: Vec<&str> = s.tenants.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(tenants, ["support/chat", "research/chat"]);
    // Half of the 120 rpm, split over the two teams: 0.5 call/s each.
    assert!(
        s.tenants.iter().all(|t| t.workflows[0].rate == Some(0.5)),
        "{:?}",
        s.tenants
    );
}
