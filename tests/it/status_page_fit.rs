//! `slaplan fit --status-page`: profiles fitted to status-page histories in
//! the ICPE 2025 study's layout. The built-in profiles are written again
//! from the figures `data/providers.toml` quotes; the rows and the figures
//! of a hand-written record give the same profile; the intervals cover the
//! process that drew a record; bad input exits 2 naming file, line and
//! column.
//!
//! The study's data rows are not in this repository (their license is
//! unclear, see data/README.md): the samples here are hand-written in its
//! layout.

use std::fs;
use std::path::PathBuf;

use slaplan::fit::status_page::{
    OutageKindName, ProfileFit, ServiceChoice, ServiceRecord, check_profiles, fit_status_pages, renewal_intervals,
};
use slaplan::model::status_page::{OutageDay, outage_days};
use slaplan::model::{DailyAvailability, OutageRecord};
use slaplan::plan::clopper_pearson;
use slaplan::scenario::{PROVIDERS_TOML, profiles};
use slaplan::time::{Span, Time};

use crate::common::{scenario, slaplan, tempdir};

/// The study's record names of the services the built-in profiles fit
/// (its tables call them API-OpenAI and API-Anthropic).
const RECORD_NAMES: [(&str, &str); 2] = [("API-OpenAI", "api"), ("API-Anthropic", "api.anthropic.com")];

/// The `[[profiles]]` entry called `name` of a profiles file, as TOML values.
fn profile_value(text: &str, name: &str) -> toml::Value {
    let table: toml::Table = toml::from_str(text).expect("a profiles file parses");
    table["profiles"]
        .as_array()
        .expect("profiles is an array")
        .iter()
        .find(|p| p["name"].as_str() == Some(name))
        .unwrap_or_else(|| panic!("no profile {name}"))
        .clone()
}

/// The built-in profiles are what `fit` writes from the figures they quote:
/// each profile's `record`s and `cited` table go through the same fit and
/// writer as a status-page file's rows, and must give the same values to
/// the digit and the same process blocks (comments included), so that
/// data/providers.toml and the fit cannot drift apart.
#[test]
fn the_built_in_profiles_are_what_fit_writes_from_the_figures_they_quote() {
    assert_eq!(profiles().len(), 2);
    for p in profiles() {
        let record = |kind: &str| {
            p.processes.iter().find(|q| q.name == kind).map_or(
                OutageRecord {
                    days: p.cited.days as f64,
                    ..OutageRecord::default()
                },
                |q| q.record,
            )
        };
        let service = RECORD_NAMES
            .iter()
            .find(|(study, _)| *study == p.service)
            .map(|(_, record)| *record)
            .unwrap_or_else(|| panic!("{}: not a service of the study", p.service));
        let figures = ServiceRecord::from_figures(service, record("partial"), record("major"), p.cited);
        let fit = ProfileFit::from_record(&p.name, figures, None).expect("the quoted figures fit");
        let written = fit.toml();
        assert_eq!(
            profile_value(&written, &p.name),
            profile_value(PROVIDERS_TOML, &p.name),
            "{}: data/providers.toml is not what fit writes from its figures:\n{written}",
            p.name
        );
        for kind in &fit.kinds {
            let block = kind.toml();
            assert!(
                PROVIDERS_TOML.contains(&block),
                "{} {}: this block is not in data/providers.toml:\n{block}",
                p.name,
                kind.kind.name()
            );
        }
    }
}

/// A hand-written daily record: 40 days of service "api" (provider openai)
/// and of service "quiet" (never out), partial and major minutes on a few
/// days, two days with both, and one day with an incident but no minute.
const PARTIAL: [(usize, f64); 6] = [(3, 30.0), (7, 5.0), (8, 120.0), (15, 60.0), (22, 12.0), (30, 400.0)];
const MAJOR: [(usize, f64); 3] = [(8, 10.0), (19, 45.0), (30, 3.0)];
const INCIDENT_DAYS: [(usize, u32); 5] = [(3, 1), (5, 1), (8, 2), (19, 1), (30, 1)];
const DAYS: usize = 40;

fn minutes_on(list: &[(usize, f64)], day: usize) -> f64 {
    list.iter().find(|(d, _)| *d == day).map_or(0.0, |(_, m)| *m)
}

fn daily_csv() -> String {
    let mut text = String::from(
        "Date,Outage_Color,Incidents,Service,incident_count,partial_outage_flag,partial_outage_minutes,\
         major_outage_flag,major_outage_minutes,outage_flag,total_outage_minutes,scaled_total_outage_minutes,\
         outage_impact_level,provider\n",
    );
    let start = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
    // Newest day first, as the study's file mixes its order.
    for day in (0..DAYS).rev() {
        let date = start + chrono::Days::new(day as u64);
        let (p, m) = (minutes_on(&PARTIAL, day), minutes_on(&MAJOR, day));
        let incidents = INCIDENT_DAYS.iter().find(|(d, _)| *d == day).map_or(0, |(_, n)| *n);
        text.push_str(&format!(
            "{date},#2fcc66,\"[{{'Incident_Title': 'x, y'}}]\",api,{incidents},{},{p},{},{m},0,{},{},0,openai\n",
            u8::from(p > 0.0),
            u8::from(m > 0.0),
            p + m,
            m + 0.3 * p
        ));
        text.push_str(&format!("{date},#2fcc66,[],quiet,0,0,0,0,0,0,0,0.0,0,example\n"));
    }
    text
}

/// Incidents: three of "api" kept (one with only a resolution), one of it
/// with its stages out of order, and one of "quiet" alone.
const INCIDENTS_CSV: &str = "\
incident_id,Incident_Title,incident_impact_level,Incident_color,provider,API,Quiet,investigating_flag,\
investigating_timestamp,identified_flag,identified_timestamp,monitoring_flag,monitoring_timestamp,resolved_flag,\
resolved_timestamp,postmortem_flag,postmortem_timestamp,start_timestamp,close_timestamp,time_span,over_one_day
a,\"Elevated errors\nacross the API\",1,#f1c40f,openai,1,0,1,2024-01-04 10:00:00+00:00,0,,0,,1,2024-01-04 12:00:00+00:00,0,,2024-01-04 10:00:00+00:00,2024-01-04 12:00:00+00:00,0 days 02:00:00,False
b,Partial outage,2,#e67e22,openai,1,1,0,,1,2024-01-09 09:00:00+00:00,1,2024-01-09 09:30:00+00:00,1,2024-01-09 10:30:00+00:00,0,,2024-01-09 09:00:00+00:00,2024-01-09 10:30:00+00:00,0 days 01:30:00,False
c,Resolved at once,0,#333333,openai,1,0,0,,0,,0,,1,2024-01-20 05:00:00+00:00,0,,2024-01-20 05:00:00+00:00,2024-01-20 05:00:00+00:00,0 days 00:00:00,False
d,Out of order,3,#e74c3c,openai,1,0,1,2024-01-31 12:00:00+00:00,1,2024-01-31 11:00:00+00:00,0,,1,2024-01-31 13:00:00+00:00,0,,2024-01-31 11:00:00+00:00,2024-01-31 13:00:00+00:00,0 days 02:00:00,False
e,Quiet only,1,#f1c40f,example,0,1,1,2024-01-10 01:00:00+00:00,0,,0,,1,2024-01-10 02:00:00+00:00,0,,2024-01-10 01:00:00+00:00,2024-01-10 02:00:00+00:00,0 days 01:00:00,False
";

/// Writes the hand-written record into `dir`: (daily, incidents).
fn write_record(dir: &std::path::Path) -> (PathBuf, PathBuf) {
    let daily = dir.join("outage_unexploded.csv");
    let incidents = dir.join("incident_stages.csv");
    fs::write(&daily, daily_csv()).unwrap();
    fs::write(&incidents, INCIDENTS_CSV).unwrap();
    (daily, incidents)
}

/// The record's figures worked out from the lists above, not by the reader.
fn figures_by_hand() -> ServiceRecord {
    let kind = |list: &[(usize, f64)]| {
        let (mut n, mut m, mut l, mut l2, mut m2) = (0.0, 0.0, 0.0, 0.0, 0.0);
        // The reader meets the days newest first.
        for day in (0..DAYS).rev() {
            let x = minutes_on(list, day);
            if x > 0.0 {
                n += 1.0;
                m += x;
                l += x.ln();
                l2 += x.ln() * x.ln();
                m2 += x * x;
            }
        }
        OutageRecord {
            days: DAYS as f64,
            days_with_minutes: n,
            minutes: m,
            sum_ln_minutes: l,
            sum_sq_ln_minutes: l2,
            sum_sq_minutes: m2,
        }
    };
    let table = DailyAvailability::of((0..DAYS).rev().map(|d| {
        OutageDay {
            partial_minutes: minutes_on(&PARTIAL, d),
            major_minutes: minutes_on(&MAJOR, d),
        }
        .availability()
    }))
    .unwrap();
    assert_eq!(
        table.full,
        33.0 / 40.0,
        "7 days with minutes: 6 partial, 3 major, 2 with both"
    );
    ServiceRecord::from_figures("api", kind(&PARTIAL), kind(&MAJOR), table)
}

/// The rows of a hand-written record and its figures worked out by hand
/// give the same profile: the reader's summary is the figures, and the
/// processes written from it are the same bytes whether samples come with
/// them or not.
#[test]
fn the_rows_and_the_figures_of_a_record_give_the_same_profile() {
    let dir = tempdir();
    let (daily, incidents) = write_record(dir.path());
    let choice: ServiceChoice = "api=example-like".parse().unwrap();
    let rows = fit_status_pages(&[incidents, daily], &[choice]).expect("the record fits");
    assert_eq!(rows.profiles.len(), 1);
    let from_rows = &rows.profiles[0];
    let hand = figures_by_hand();
    let r = &from_rows.record;
    for (got, want) in [(r.partial, hand.partial), (r.major, hand.major)] {
        assert_eq!(
            (got.days, got.days_with_minutes, got.minutes, got.sum_sq_minutes),
            (want.days, want.days_with_minutes, want.minutes, want.sum_sq_minutes)
        );
        assert!((got.sum_ln_minutes - want.sum_ln_minutes).abs() < 1e-12);
        assert!((got.sum_sq_ln_minutes - want.sum_sq_ln_minutes).abs() < 1e-12);
    }
    assert_eq!(r.table, hand.table);
    assert_eq!(r.provider.as_deref(), Some("openai"));
    assert_eq!(r.both_kinds, Some(2));
    let days = r.incident_days.expect("every day has incident_count");
    assert_eq!(
        (days.with_incident, days.without_minutes),
        (5, 1),
        "day 5: an incident, no minute"
    );
    // Incidents by hand: starts Jan 4 10:00, Jan 9 09:00, Jan 20 05:00
    // (15 d 19 h from first to last, over 2 gaps); resolved after 2 h and
    // 1.5 h (the third has no first status); the fourth is out of order.
    let i = from_rows.incidents.as_ref().expect("an incident list with API");
    assert_eq!(i.rates.incidents, 3);
    assert_eq!(i.rates.mtbf, Span::from_mins((15 * 24 + 19) * 60 / 2));
    assert_eq!((i.rates.resolved, i.rates.mttr), (2, Span::from_mins(105)));
    let summary = r.incidents.expect("incident summary");
    assert_eq!((summary.out_of_order, summary.by_impact), (1, [1, 1, 1, 0, 0]));
    // The figures alone give the same processes, to the byte.
    let from_figures = ProfileFit::from_record("example-like", hand, None).unwrap();
    for (a, b) in from_rows.kinds.iter().zip(&from_figures.kinds) {
        assert_eq!(a.toml(), b.toml(), "{}", a.kind.name());
        assert!(a.outcome.is_ok(), "{}: {:?}", a.kind.name(), a.outcome);
    }
    assert_eq!(
        profile_value(&from_rows.toml(), "example-like"),
        profile_value(&from_figures.toml(), "example-like")
    );
    // Only the rows give goodness of fit.
    let partial = from_rows.kinds[0].outcome.as_ref().unwrap();
    assert_eq!(partial.ks.map(|k| k.0.n), Some(6));
    assert!(from_figures.kinds[0].outcome.as_ref().unwrap().ks.is_none());
    assert_eq!(from_rows.kinds[1].kind, OutageKindName::Major);
}

/// The 95% intervals of U and D cover the process that drew the record in
/// about 95% of records: 400 records of 1298 days drawn from exponential
/// up times of 17 d and outages of 86 min (about the OpenAI API's partial
/// outages). The coverage must lie in the 99.9% Clopper-Pearson interval of
/// the count, widened by 2 points for the delta method's approximation
/// (days are not quite independent: an outage can cross midnight).
#[test]
fn the_renewal_intervals_cover_the_process_that_drew_the_record() {
    use slaplan::scenario::{Law, OutageMode, Renewal};
    let (up_days, down_minutes) = (17.0, 86.0);
    let process = Renewal {
        component: None,
        mtbf: Span::from_days(17),
        mttr: Span::from_mins(86),
        uptime: Law::Exponential,
        uptime_sigma: 0.0,
        repair: Law::Exponential,
        repair_sigma: 0.0,
        mode: OutageMode::Down,
    };
    const RECORD_DAYS: usize = 1298;
    const RECORDS: u64 = 2000;
    let horizon = Time::ZERO + Span::from_days(RECORD_DAYS as u64);
    let (mut up_covered, mut down_covered) = (0u64, 0u64);
    for rep in 0..RECORDS {
        let mut rng = slaplan::engine::stream(18, rep, "status-page-intervals");
        let incidents = slaplan::model::renewal_incidents(&process, &mut rng, horizon);
        let days = outage_days(&slaplan::model::timeline(&incidents), RECORD_DAYS);
        let record = OutageRecord::from_daily_minutes(days.iter().map(|d| d.major_minutes));
        let (up, down) = renewal_intervals(&record);
        up_covered += u64::from(up.low <= up_days && up_days <= up.high);
        let down_days = down_minutes / 1440.0;
        down_covered += u64::from(down.low <= down_days && down_days <= down.high);
    }
    for (what, covered) in [("U", up_covered), ("D", down_covered)] {
        let (lo, hi) = clopper_pearson(covered, RECORDS, 0.999);
        println!("{what}: {covered} of {RECORDS} intervals cover the truth ([{lo:.3}, {hi:.3}])");
        assert!(
            lo - 0.02 <= 0.95 && 0.95 <= hi + 0.02,
            "{what}: {covered} of {RECORDS} 95% intervals cover the truth (99.9% CI [{lo:.3}, {hi:.3}])"
        );
    }
}

/// The command writes profiles that read as data/providers.toml does, and
/// a report whose scenario processes validate; the same files give the
/// same bytes.
#[test]
fn fit_status_page_writes_profiles_and_a_report() {
    let dir = tempdir();
    let (daily, incidents) = write_record(dir.path());
    let out = dir.path().join("profiles.toml");
    let report = dir.path().join("report");
    let run = || {
        slaplan()
            .args(["fit", "--status-page"])
            .arg(&daily)
            .arg(&incidents)
            .arg("--out")
            .arg(&out)
            .arg("--report")
            .arg(&report)
            .output()
            .unwrap()
    };
    let first = run();
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert!(stdout.contains("fitted 1 profile(s) (api)"), "{stdout}");
    assert!(
        stdout.contains("quiet: no profile: partial: no day has outage minutes"),
        "{stdout}"
    );
    let text = fs::read_to_string(&out).unwrap();
    check_profiles(&text).expect("the profiles read as data/providers.toml does");
    assert!(text.contains("# ---- api: service \"api\" (API-OpenAI in the ICPE 2025 study), provider \"openai\""));
    assert!(text.contains("#   MTBF 7.90 d"), "{text}");
    let md = fs::read_to_string(report.join("fit.md")).unwrap();
    assert!(md.contains("incident_stages.csv has no column for") || !md.contains("no column"));
    // The processes as a scenario writes them validate.
    let block = md
        .split("```toml\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("fit.md has the scenario processes");
    let s = scenario(&format!(
        r#"
[simulation]
start = "2026-01-01"
duration = "1d"

[[endpoints]]
name = "e"
provider = "openai"
concurrency = 10
latency = {{ model = "exponential", mean = "50ms" }}

{block}
[[tenants]]
name = "t"
class = "gold"
chain = ["e"]

[[tenants.workflows]]
name = "w"
rate = 1
"#
    ));
    assert_eq!(s.outage_processes.len(), 2, "partial and major");
    let laws = fs::read_to_string(report.join("laws.csv")).unwrap();
    assert!(laws.contains("status_page:api,partial,exponential,mtbf_s,"), "{laws}");
    assert!(
        laws.contains("status_page:api,incidents,exponential,mttr_s,6300,"),
        "{laws}"
    );
    let qq = fs::read_to_string(report.join("qq.csv")).unwrap();
    assert_eq!(qq.lines().count(), 1 + 2 * 99);
    let again = run();
    assert!(again.status.success());
    assert_eq!(fs::read_to_string(&out).unwrap(), text, "same files, same bytes");
    assert_eq!(fs::read_to_string(report.join("laws.csv")).unwrap(), laws);
}

/// Bad input exits 2 with the file, the line and the column, and writes
/// nothing.
#[test]
fn a_malformed_status_page_record_exits_2_naming_the_row_and_writes_nothing() {
    let dir = tempdir();
    let (daily, incidents) = write_record(dir.path());
    let out = dir.path().join("profiles.toml");
    let fit = |files: &[&PathBuf], extra: &[&str]| {
        let mut cmd = slaplan();
        cmd.args(["fit", "--status-page"])
            .args(files)
            .arg("--out")
            .arg(&out)
            .args(extra);
        cmd.output().unwrap()
    };
    let bad = dir.path().join("bad.csv");
    let mut text = daily_csv();
    text = text.replacen(",api,0,0,0,0,0,0,0,0,0,openai", ",api,0,0,0,0,ten,0,0,0,0,openai", 1);
    fs::write(&bad, &text).unwrap();
    let line = text.lines().position(|l| l.contains("ten")).unwrap() + 1;
    let run = fit(&[&bad], &[]);
    assert_eq!(run.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains(&format!(
            "bad.csv:{line}: field major_outage_minutes: expected minutes of the day, from 0 to 1440, got \"ten\""
        )),
        "{stderr}"
    );
    assert!(!out.exists());
    // A service whose name has a control character (found by fuzzing: its
    // profile's comment line then did not read back as TOML).
    let control = dir.path().join("control.csv");
    let text = daily_csv().replacen(",api,", ",a\u{17}pi,", 1);
    fs::write(&control, &text).unwrap();
    let run = fit(&[&control], &[]);
    assert_eq!(run.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("control.csv:2: field Service: expected the service's name in printable characters, e.g. api"),
        "{stderr}"
    );
    assert!(!out.exists());
    // A day recorded twice names both lines.
    let first = daily_csv();
    let dup = dir.path().join("dup.csv");
    let second_line = first.lines().nth(1).unwrap();
    fs::write(&dup, format!("{first}{second_line}\n")).unwrap();
    let run = fit(&[&dup], &[]);
    assert_eq!(run.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&run.stderr);
    let last = first.lines().count() + 1;
    assert!(
        stderr.contains(&format!("dup.csv:{last}: field Date: expected a day not yet recorded for service \"api\", got 2024-02-09 again (first at line 2)")),
        "{stderr}"
    );
    // A bad incident flag.
    let flags = dir.path().join("flags.csv");
    fs::write(
        &flags,
        INCIDENTS_CSV.replace(",openai,1,1,0,,1,", ",openai,yes,1,0,,1,"),
    )
    .unwrap();
    let run = fit(&[&daily, &flags], &[]);
    assert_eq!(run.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr
            .contains("flags.csv:4: field API: expected 1 if the incident affected this service, else 0, got \"yes\""),
        "{stderr}"
    );
    // An unknown service, incidents alone, --service without --status-page.
    let run = fit(&[&daily], &["--service", "nope"]);
    assert_eq!(run.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&run.stderr)
            .contains("--service nope: no such service in the daily record(s); they have: api, quiet")
    );
    let run = fit(&[&incidents], &[]);
    assert_eq!(run.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&run.stderr).contains("no daily outage record"));
    let run = fit(&[&daily], &["--service", "quiet"]);
    assert_eq!(run.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&run.stderr)
            .contains("no outage process to fit for quiet (partial: no day has outage minutes"),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    // One day, in outage: the minutes are there, the up times are not.
    let one_day = dir.path().join("one_day.csv");
    let header = daily_csv().lines().next().unwrap().to_string();
    fs::write(
        &one_day,
        format!("{header}\n2024-01-01,#e74c3c,[],api,1,0,0,1,90,1,90,90,4,openai\n"),
    )
    .unwrap();
    let run = fit(&[&one_day], &[]);
    assert_eq!(run.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("no outage process to fit for api (partial: no day has outage minutes")
            && stderr.contains("major: every one of the 1 days has outage minutes"),
        "{stderr}"
    );
    assert!(!out.exists());
    // More minutes of partial and major outage than the day has.
    let too_many = dir.path().join("too_many.csv");
    fs::write(
        &too_many,
        format!("{header}\n2024-01-01,#e74c3c,[],api,1,1,1000,1,500,1,1500,800,4,openai\n"),
    )
    .unwrap();
    let run = fit(&[&too_many], &[]);
    assert_eq!(run.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains(
            "too_many.csv:2: field major_outage_minutes: expected at most 440 minutes with partial_outage_minutes 1000: a day has 1440, got \"500\""
        ),
        "{stderr}"
    );
    assert!(!out.exists());
    let run = slaplan()
        .args(["fit", "--log", "x.jsonl", "--service", "api", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2));
    assert!(!out.exists());
}
