//! `slaplan fit`: a simulated month's calls written as a LiteLLM spend log
//! and fitted back, every parameter inside its interval; the shared traces'
//! marginals; too few rows; the command line.

use std::fmt::Write as _;
use std::fs;

use slaplan::fit::{Accumulator, Fit, LatencyFit, TokenFit, fit_logs};
use slaplan::logs::{CallRecord, Status, litellm_line};
use slaplan::model::World;
use slaplan::plan::clopper_pearson;
use slaplan::scenario;

use crate::common::{repo_path, slaplan, tempdir};

const S: u64 = 1_000_000_000;
/// 2026-03-02T00:00:00Z (a Monday), the simulated period's start.
const EPOCH: u64 = 1_772_409_600 * S;

const DIURNAL: [f64; 24] = [
    0.3, 0.2, 0.2, 0.2, 0.3, 0.5, 0.8, 1.1, 1.3, 1.4, 1.5, 1.5, 1.5, 1.5, 1.5, 1.5, 1.4, 1.4, 1.4, 1.3, 1.2, 1.0, 0.7,
    0.5,
];
const WEEKLY: [f64; 7] = [1.2, 1.2, 1.2, 1.2, 1.2, 0.5, 0.5];

fn truth() -> String {
    let list = |v: &[f64]| v.iter().map(f64::to_string).collect::<Vec<_>>().join(", ");
    format!(
        r#"
[simulation]
start = "2026-03-02"
duration = "14d"
seed = 11

[[endpoints]]
name = "gpt-4o@openai"
provider = "openai"
concurrency = 256
error_probability = 0.01
latency = {{ model = "lognormal", ttft = "400ms", per_input_token = "50us", per_output_token = "15ms", sigma = 0.35 }}
outages = [{{ start = "3d", duration = "2h" }}, {{ start = "222h", duration = "45m" }}]

[[endpoints]]
name = "claude@anthropic"
provider = "anthropic"
concurrency = 256
attempt_timeout = "60s"
error_probability = 0.002
latency = {{ model = "lognormal", ttft = "300ms", per_input_token = "30us", per_output_token = "10ms", sigma = 0.5 }}
outages = [{{ start = "6d", duration = "30m", mode = "hang" }}]

[[tenants]]
name = "insurer"
class = "gold"
chain = ["gpt-4o@openai"]
retry = {{ max_attempts = 1 }}

[[tenants.workflows]]
name = "claims"
rate = 0.2
diurnal = [{d}]
weekly = [{w}]
input_tokens = {{ dist = "lognormal", mean = 1500, sigma = 0.5 }}
output_tokens = {{ dist = "lognormal", mean = 200, sigma = 0.4 }}

[[tenants.workflows]]
name = "support"
rate = 0.1
input_tokens = {{ dist = "lognormal", mean = 600, sigma = 0.7 }}
output_tokens = {{ dist = "lognormal", mean = 90, sigma = 0.3 }}

[[tenants]]
name = "tutor"
class = "silver"
chain = ["claude@anthropic"]
retry = {{ max_attempts = 1 }}

[[tenants.workflows]]
name = "homework"
rate = 0.3
diurnal = [{d}]
input_tokens = {{ dist = "lognormal", mean = 400, sigma = 0.6 }}
output_tokens = {{ dist = "lognormal", mean = 120, sigma = 0.5 }}
"#,
        d = list(&DIURNAL),
        w = list(&WEEKLY)
    )
}

/// The truth's calls as a LiteLLM spend log: one line per call (one
/// attempt each), a timeout when it failed at the attempt timeout, a 429
/// when capacity refused it, else a 500.
fn simulated_log(text: &str) -> String {
    let s = scenario::parse(text, std::path::Path::new("truth.toml")).unwrap();
    let (_, stats, calls) = World::new(&s, 0).unwrap().log_calls(usize::MAX).run_logged();
    assert_eq!(calls.len() as u64, stats.calls);
    let mut out = String::new();
    for (i, c) in calls.iter().enumerate() {
        let t = &s.tenants[c.tenant.0 as usize];
        let start = EPOCH + c.submitted.as_nanos();
        let end = EPOCH + c.ended.expect("every call ends in the drain").as_nanos();
        let endpoint = c.endpoint.map(|e| s.endpoints[e as usize].name.clone());
        let status = if c.served {
            Status::Ok
        } else if c.refused {
            Status::RateLimited
        } else if end - start >= 60 * S {
            Status::Timeout
        } else {
            Status::Error
        };
        let mut r = CallRecord::model(start, end, c.input_tokens, if c.served { c.output_tokens } else { 0 });
        r.status = status;
        r.endpoint = endpoint;
        r.tenant = Some(t.name.clone());
        r.workflow = Some(t.workflows[c.workflow.0 as usize].name.clone());
        r.call = Some(format!("call-{i}"));
        let _ = writeln!(out, "{}", litellm_line(&r));
    }
    out
}

/// Bonferroni: every check at this level keeps the family's error under 5%.
const CHECKS: f64 = 100.0;
fn level() -> f64 {
    1.0 - 0.05 / CHECKS
}

fn inside(what: &str, truth: f64, (lo, hi): (f64, f64)) {
    assert!(lo <= truth && truth <= hi, "{what}: truth {truth} outside [{lo}, {hi}]");
}

#[test]
fn a_simulated_log_fits_back_to_its_scenario() {
    let text = truth();
    let log = simulated_log(&text);
    let dir = tempdir();
    let path = dir.path().join("spend.jsonl");
    fs::write(&path, &log).unwrap();
    let fit: Fit = fit_logs(&[path]).unwrap();
    let lvl = level();
    // Endpoints: latency coefficients, noise, error probability, outages.
    for (name, ttft, per_in, per_out, sigma, p_err) in [
        ("gpt-4o@openai", 0.4, 50e-6, 0.015, 0.35, 0.01),
        ("claude@anthropic", 0.3, 30e-6, 0.010, 0.5, 0.002),
    ] {
        let e = &fit.endpoints[name];
        let LatencyFit::Lognormal {
            ttft: t,
            per_input,
            per_output,
            sigma: sg,
            ks,
            poor,
        } = &e.latency
        else {
            panic!("{name}: {:?}", e.latency)
        };
        assert!(!poor, "{name}: the lognormal noise must not be rejected: {ks:?}");
        inside(&format!("{name} ttft"), ttft, t.at(lvl));
        inside(&format!("{name} per input token"), per_in, per_input.at(lvl));
        inside(&format!("{name} per output token"), per_out, per_output.at(lvl));
        inside(&format!("{name} sigma"), sigma, sg.at(lvl));
        let (f, n) = e.errors_outside;
        inside(&format!("{name} error probability"), p_err, clopper_pearson(f, n, lvl));
    }
    let windows = |name: &str| fit.endpoints[name].incidents.clone();
    let a = windows("gpt-4o@openai");
    let truth_a = [
        (3 * 86_400, 3 * 86_400 + 7200, false),
        (222 * 3600, 222 * 3600 + 2700, false),
    ];
    assert_eq!(a.len(), 2, "{a:?}");
    let b = windows("claude@anthropic");
    assert_eq!(b.len(), 1, "{b:?}");
    for (inc, (from, to, hang)) in
        a.iter()
            .chain(&b)
            .zip(truth_a.iter().copied().chain([(6 * 86_400, 6 * 86_400 + 1800, true)]))
    {
        let (from, to) = (EPOCH + from * S, EPOCH + to * S);
        assert!(
            inc.start_range.0 <= from && from <= inc.start_range.1,
            "start {from} outside {:?}",
            inc.start_range
        );
        assert!(
            inc.end_range.0 <= to && to <= inc.end_range.1,
            "end {to} outside {:?}",
            inc.end_range
        );
        assert_eq!(inc.hang, hang);
    }
    // Workflows: the intensity is rate × diurnal × weekly; the fit normalises
    // both profiles to mean 1.
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    for (tenant, workflow, rate, diurnal, weekly, tokens) in [
        ("insurer", "claims", 0.2, true, true, [(1500.0, 0.5), (200.0, 0.4)]),
        ("insurer", "support", 0.1, false, false, [(600.0, 0.7), (90.0, 0.3)]),
        ("tutor", "homework", 0.3, true, false, [(400.0, 0.6), (120.0, 0.5)]),
    ] {
        let w = &fit.workflows[&(tenant.to_string(), workflow.to_string())];
        let (md, mw) = (
            if diurnal { mean(&DIURNAL) } else { 1.0 },
            if weekly { mean(&WEEKLY) } else { 1.0 },
        );
        inside(&format!("{workflow} rate"), rate * md * mw, w.arrivals.rate.at(lvl));
        assert_eq!(
            w.arrivals.diurnal.is_some(),
            diurnal,
            "{workflow}: {:?}",
            w.arrivals.notes
        );
        assert_eq!(
            w.arrivals.weekly.is_some(),
            weekly,
            "{workflow}: {:?}",
            w.arrivals.notes
        );
        for (h, d) in w.arrivals.diurnal.iter().flatten().enumerate() {
            inside(&format!("{workflow} diurnal[{h}]"), DIURNAL[h] / md, d.at(lvl));
        }
        for (k, d) in w.arrivals.weekly.iter().flatten().enumerate() {
            inside(&format!("{workflow} weekly[{k}]"), WEEKLY[k] / mw, d.at(lvl));
        }
        let (_, p) = w.arrivals.dispersion.unwrap();
        assert!(p > 0.05 / CHECKS, "{workflow}: Poisson arrivals judged bursty (p {p})");
        for ((m, sigma), law) in tokens.into_iter().zip([&w.input, &w.output]) {
            let TokenFit::Lognormal { mean, sigma: sg, .. } = law else {
                panic!("{workflow}: {law:?}")
            };
            inside(&format!("{workflow} token mean"), m, mean.at(lvl));
            inside(&format!("{workflow} token sigma"), sigma, sg.at(lvl));
        }
    }
    // The written scenario validates and runs.
    let toml = fit.scenario_toml(None).unwrap();
    let fitted = scenario::parse(&toml, std::path::Path::new("fitted.toml")).unwrap();
    assert_eq!(fitted.endpoints.len(), 2);
    assert_eq!(
        fitted.endpoints[0].outages.len() + fitted.endpoints[1].outages.len(),
        3,
        "{toml}"
    );
    let (_, stats) = World::new(&fitted, 0).unwrap().run();
    assert!(stats.calls > 0 && stats.completed > 0);
}

/// Two-sample KS distance of two sorted samples.
fn ks2(a: &[f64], b: &[f64]) -> f64 {
    let (mut i, mut j, mut d) = (0, 0, 0.0f64);
    while i < a.len() && j < b.len() {
        let x = a[i].min(b[j]);
        while i < a.len() && a[i] <= x {
            i += 1;
        }
        while j < b.len() && b[j] <= x {
            j += 1;
        }
        d = d.max((i as f64 / a.len() as f64 - j as f64 / b.len() as f64).abs());
    }
    d
}

/// The fitted token laws of a shared trace reproduce its marginals: two
/// samples (the trace, and as many draws from the fitted law) differ by no
/// more than the 0.1% two-sample KS bound for their sizes, plus the
/// empirical law's resolution (1% between quantiles).
fn check_trace(file: &str, format: slaplan::model::TraceFormat) {
    let path = repo_path(&format!("../shared/data/traces/{file}"));
    if !path.exists() {
        eprintln!("skipped: {} is absent", path.display());
        return;
    }
    let reader = slaplan::model::TraceReader::open(&path, format).unwrap();
    let mut acc = Accumulator::new();
    let (mut inputs, mut outputs, mut times) = (Vec::new(), Vec::new(), Vec::new());
    for r in reader {
        let r = r.unwrap();
        let start = EPOCH + r.at.as_nanos();
        let mut c = CallRecord::model(start, start + S, r.input_tokens, r.output_tokens);
        c.endpoint = Some("trace@x".into());
        acc.add(&c);
        inputs.push(f64::from(r.input_tokens.max(1)));
        outputs.push(f64::from(r.output_tokens.max(1)));
        times.push(r.at.as_secs_f64());
    }
    let fit = acc.finish().unwrap();
    let w = fit.workflows.values().next().unwrap();
    let n = inputs.len() as f64;
    let mut rng = slaplan::engine::stream(0, 0, "fit-test");
    for (name, law, data) in [("input", &w.input, &mut inputs), ("output", &w.output, &mut outputs)] {
        let dist = match law {
            TokenFit::Lognormal { mean, sigma, .. } => scenario::TokenDist::Lognormal {
                mean: mean.value,
                sigma: sigma.value,
            },
            TokenFit::Empirical { quantiles, .. } => scenario::TokenDist::Empirical {
                quantiles: quantiles.clone(),
            },
            other => panic!("{other:?}"),
        };
        let tokens = slaplan::model::Tokens::from_config(&dist);
        let mut draws: Vec<f64> = (0..data.len())
            .map(|_| f64::from(tokens.sample(&mut rng).max(1)))
            .collect();
        draws.sort_by(f64::total_cmp);
        data.sort_by(f64::total_cmp);
        let d = ks2(data, &draws);
        let resolution = if matches!(law, TokenFit::Empirical { .. }) {
            0.01
        } else {
            0.0
        };
        let bound = 1.95 * (2.0 / n).sqrt() + resolution;
        eprintln!("{file} {name} tokens: KS distance {d:.4} (bound {bound:.4}, n {n})");
        assert!(d <= bound, "{file} {name}: KS {d} > {bound}");
    }
    // Arrivals: the rate is the trace's own count over its span.
    let span = times.last().unwrap() - times[0];
    let rate = w.arrivals.rate.value;
    let own = n / span;
    eprintln!(
        "{file} arrivals: fitted rate {rate:.4}/s, trace {own:.4}/s, dispersion {:?}",
        w.arrivals.dispersion
    );
    assert!((rate - own).abs() <= 3.0 * own / n.sqrt(), "{rate} vs {own}");
    // Inter-arrival gaps against the fitted Poisson process's exponential.
    let mut gaps: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    gaps.sort_by(f64::total_cmp);
    let m = gaps.len() as f64;
    let d = gaps
        .iter()
        .enumerate()
        .map(|(i, &g)| {
            let f = 1.0 - (-rate * g).exp();
            ((i as f64 + 1.0) / m - f).max(f - i as f64 / m)
        })
        .fold(0.0, f64::max);
    eprintln!(
        "{file} inter-arrival gaps vs exponential: KS distance {d:.4} (0.1% bound {:.4})",
        1.95 / m.sqrt()
    );
}

#[test]
fn the_azure_trace_marginals_fit() {
    check_trace("AzureLLMInferenceTrace_conv.csv", slaplan::model::TraceFormat::Azure);
}

#[test]
fn the_mooncake_trace_marginals_fit() {
    check_trace(
        "mooncake_conversation_trace.jsonl",
        slaplan::model::TraceFormat::Mooncake,
    );
}

#[test]
fn a_log_with_too_few_rows_falls_back_and_says_so() {
    let fit = fit_logs(&[repo_path("tests/fixtures/logs/litellm.jsonl")]).unwrap();
    let e = &fit.endpoints["gpt-4o@azure/eastus-prod"];
    let LatencyFit::Exponential { reason, .. } = &e.latency else {
        panic!("{:?}", e.latency)
    };
    assert!(reason.contains("fewer than the 30"), "{reason}");
    let w = &fit.workflows[&("insurer".to_string(), "claims".to_string())];
    assert!(
        matches!(&w.input, TokenFit::Empirical { reason, .. } if reason.contains("fewer than the 30")),
        "{:?}",
        w.input
    );
    assert!(w.arrivals.diurnal.is_none() && w.arrivals.notes.iter().any(|n| n.contains("no hour-of-day profile")));
    let toml = fit.scenario_toml(None).unwrap();
    assert!(toml.contains("fewer than the 30"), "{toml}");
    // Deterministic: another fit (other hash seeds) writes the same bytes.
    let again = fit_logs(&[repo_path("tests/fixtures/logs/litellm.jsonl")]).unwrap();
    assert_eq!(again.scenario_toml(None).unwrap(), toml);
    assert_eq!(again.laws_csv(), fit.laws_csv());
    assert!(toml.contains("not in a log"), "{toml}");
}

#[test]
fn fit_writes_a_scenario_that_validates_and_a_report() {
    let dir = tempdir();
    let out = dir.path().join("fitted.toml");
    let report = dir.path().join("report");
    let run = slaplan()
        .args(["fit", "--log"])
        .arg(repo_path("tests/fixtures/logs/litellm.jsonl"))
        .arg(repo_path("tests/fixtures/logs/otlp.jsonl"))
        .arg("--out")
        .arg(&out)
        .arg("--report")
        .arg(&report)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let check = slaplan().arg("validate").arg(&out).output().unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
    for f in ["fit.md", "laws.csv", "qq.csv"] {
        assert!(report.join(f).exists(), "{f}");
    }
    let laws = fs::read_to_string(report.join("laws.csv")).unwrap();
    assert!(laws.starts_with("scope,quantity,law,parameter,estimate,ci_low,ci_high,n,ks_distance,ks_p_value,note"));
}

#[test]
fn fit_with_a_router_file_takes_its_policy() {
    let dir = tempdir();
    let router = dir.path().join("router.toml");
    let import = slaplan()
        .arg("import-litellm")
        .arg(repo_path("tests/fixtures/litellm/azure_openai.yaml"))
        .arg("--out")
        .arg(&router)
        .output()
        .unwrap();
    assert!(import.status.success());
    let out = dir.path().join("fitted.toml");
    let run = slaplan()
        .args(["fit", "--log"])
        .arg(repo_path("tests/fixtures/logs/litellm.jsonl"))
        .arg("--router")
        .arg(&router)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let text = fs::read_to_string(&out).unwrap();
    assert!(text.contains("[router]  # from"), "{text}");
    let check = slaplan().arg("validate").arg(&out).output().unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
}

#[test]
fn a_malformed_log_exits_2_naming_the_row_and_writes_nothing() {
    let dir = tempdir();
    let log = dir.path().join("bad.jsonl");
    fs::write(
        &log,
        "{\"status\":\"success\",\"startTime\":1,\"endTime\":2}\n{\"status\":\"success\",\"startTime\":1,\"endTime\":\"x\"}\n",
    )
    .unwrap();
    let out = dir.path().join("fitted.toml");
    let run = slaplan()
        .args(["fit", "--log"])
        .arg(&log)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("bad.jsonl:2: field endTime: expected a time in seconds"),
        "{stderr}"
    );
    assert!(!out.exists());
    fs::write(&log, "{\"status\":\"success\",\"startTime\":1,\"endTime\":2}\n").unwrap();
    let run = slaplan()
        .args(["fit", "--log"])
        .arg(&log)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&run.stderr).contains("no model call names an endpoint"));
    assert!(!out.exists());
    let missing = slaplan()
        .args(["fit", "--log", "nope.jsonl", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("nope.jsonl: cannot open the log"));
}

#[test]
fn task_shapes_come_from_trace_ids_and_tool_spans() {
    // The OTLP sample's agent run: chat, tool (800 ms), chat. One step with a
    // tool and its follow-up: a chain of depth 1 whose step always calls the tool.
    let fit = fit_logs(&[repo_path("tests/fixtures/logs/otlp.jsonl")]).unwrap();
    let w = &fit.workflows[&("claims-agent".to_string(), "default".to_string())];
    assert_eq!(w.shapes.tasks, 1);
    match &w.shape {
        slaplan::fit::ShapeFit::Chain { depth, tool, .. } => {
            assert_eq!(*depth, slaplan::fit::CountFit::Constant(1));
            let (p, secs, fail) = tool.unwrap();
            assert_eq!((p, fail), (1.0, 0.0));
            assert!((secs - 0.8).abs() < 1e-9, "{secs}");
        }
        other => panic!("{other:?}"),
    }
    // The rate-limited chat of the other trace is a single call.
    let tutor = &fit.workflows[&("tutor".to_string(), "homework".to_string())];
    assert_eq!(tutor.shape, slaplan::fit::ShapeFit::Single);
    assert_eq!(fit.endpoints["claude-sonnet-4@anthropic"].by_status, [0, 0, 0, 1]);
}

#[test]
fn empirical_token_laws_validate_and_draw_between_their_quantiles() {
    let base = fs::read_to_string(repo_path("tests/fixtures/small.toml")).unwrap();
    let bad = base.replacen(
        "input_tokens = { dist = \"lognormal\", mean = 1000, sigma = 0.6 }",
        "input_tokens = { dist = \"empirical\", quantiles = [5, 3] }",
        1,
    );
    assert_ne!(bad, base);
    let err = scenario::parse(&bad, std::path::Path::new("bad.toml"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("input_tokens.quantiles[1]: 3 is below the value before it (5)"),
        "{err}"
    );
    // Quantiles [0, 100]: uniform on [0, 100], mean 50, sd 100/√12.
    let tokens = slaplan::model::Tokens::from_config(&scenario::TokenDist::Empirical {
        quantiles: vec![0, 100],
    });
    let mut rng = slaplan::engine::stream(1, 0, "empirical");
    let n = 100_000;
    let mean = (0..n).map(|_| f64::from(tokens.sample(&mut rng))).sum::<f64>() / f64::from(n);
    let half = 3.3 * (100.0 / 12f64.sqrt()) / f64::from(n).sqrt();
    assert!((mean - 50.0).abs() <= half, "{mean}");
}
