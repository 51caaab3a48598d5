//! `slaplan import-litellm` end to end: the TOML parses back as a router
//! config the router accepts, unmapped settings go to stderr, and malformed
//! files exit 2 with file, line and field, leaving no output behind.

use std::fs;

use slaplan::policy::{BalancePolicy, Router, RouterConfig};

use crate::common::{repo_path, slaplan, tempdir};

fn fixture(name: &str) -> std::path::PathBuf {
    repo_path(&format!("tests/fixtures/litellm/{name}"))
}

#[test]
fn import_prints_a_router_config_that_parses_back_and_lists_what_it_left_out() {
    let out = slaplan()
        .arg("import-litellm")
        .arg(fixture("azure_openai.yaml"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let config: RouterConfig = toml::from_str(&String::from_utf8_lossy(&out.stdout)).expect("valid router TOML");
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
    let config: RouterConfig = toml::from_str(&fs::read_to_string(&target).unwrap()).unwrap();
    assert_eq!(config.tenants.len(), 3);
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
