//! `slaplan report OUTDIR`: the review report from a hand-made output
//! directory (tests/fixtures/report/full, following outputs-spec), its
//! charts checked by position in the SVG, missing optional files, bad input,
//! determinism, and a render in headless Chromium.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common::{repo_path, slaplan, tempdir};

const CHARTS: [&str; 6] = [
    "probability",
    "heatmap",
    "frontier",
    "latency_cdf",
    "budget",
    "timeline",
];
const OPTIONAL: [&str; 5] = [
    "windows.csv",
    "latency.csv",
    "budget.csv",
    "timeline.csv",
    "drivers.csv",
];

/// A copy of the full fixture in `parent/name`.
fn fixture_copy(parent: &Path, name: &str) -> PathBuf {
    let src = repo_path("tests/fixtures/report/full");
    let dst = parent.join(name);
    fs::create_dir_all(&dst).unwrap();
    for entry in fs::read_dir(src).unwrap() {
        let entry = entry.unwrap();
        fs::copy(entry.path(), dst.join(entry.file_name())).unwrap();
    }
    dst
}

fn report(dir: &Path) -> Output {
    slaplan().arg("report").arg(dir).output().expect("slaplan runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

// ---- a tiny SVG reader, enough for plotters' output ---------------------------

#[derive(Debug)]
struct Element {
    name: String,
    attrs: BTreeMap<String, String>,
}

impl Element {
    fn num(&self, key: &str) -> i32 {
        self.attrs[key].parse().unwrap_or_else(|_| panic!("{key} of {self:?}"))
    }
    fn points(&self) -> Vec<(i32, i32)> {
        self.attrs["points"]
            .split_whitespace()
            .map(|p| {
                let (x, y) = p.split_once(',').unwrap();
                (x.parse().unwrap(), y.parse().unwrap())
            })
            .collect()
    }
}

fn elements(svg: &str) -> Vec<Element> {
    let mut out = Vec::new();
    let mut rest = svg;
    while let Some(start) = rest.find('<') {
        let end = start + rest[start..].find('>').unwrap();
        let tag = &rest[start + 1..end];
        rest = &rest[end + 1..];
        if tag.starts_with('/') {
            continue;
        }
        let name: String = tag.chars().take_while(|c| c.is_alphanumeric()).collect();
        let mut attrs = BTreeMap::new();
        let mut a = &tag[name.len()..];
        while let Some(eq) = a.find("=\"") {
            let key = a[..eq].trim().to_string();
            let close = eq + 2 + a[eq + 2..].find('"').unwrap();
            attrs.insert(key, a[eq + 2..close].to_string());
            a = &a[close + 1..];
        }
        out.push(Element { name, attrs });
    }
    out
}

/// The words of a text drawn as outlines.
fn label(e: &Element) -> Option<&str> {
    (e.name == "path")
        .then(|| e.attrs.get("aria-label").map(String::as_str))
        .flatten()
}

fn chart(dir: &Path, name: &str) -> Vec<Element> {
    elements(&fs::read_to_string(dir.join("charts").join(format!("{name}.svg"))).unwrap())
}

// ---- the report ---------------------------------------------------------------

#[test]
fn report_writes_html_markdown_and_every_chart_from_a_full_output() {
    let tmp = tempdir();
    let dir = fixture_copy(tmp.path(), "out");
    let out = report(&dir);
    assert!(out.status.success(), "{}", stderr(&out));
    for name in CHARTS {
        let svg = fs::read_to_string(dir.join(format!("charts/{name}.svg"))).unwrap();
        assert!(svg.starts_with("<svg"), "{name}.svg");
        // Text is drawn as outlines: the file needs no font to look the same.
        assert!(
            !svg.contains("<text") && !svg.contains("font-family"),
            "{name}.svg uses a font"
        );
        assert!(svg.contains("<path aria-label=\""), "{name}.svg has no text");
        let png = fs::read(dir.join(format!("charts/{name}.png"))).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{name}.png");
    }
    let html = fs::read_to_string(dir.join("report.html")).unwrap();
    assert_eq!(html.matches("<svg ").count(), CHARTS.len(), "every chart inline");
    assert_eq!(
        html.matches("@font-face").count(),
        1,
        "the font is declared once in the page"
    );
    for external in ["src=\"http", "href=\"http", "url(http", "<script", "<link", "<img"] {
        assert!(
            !html.contains(external),
            "report.html must be self-contained: {external}"
        );
    }
    // Temporary files are renamed away.
    for d in [dir.clone(), dir.join("charts")] {
        for e in fs::read_dir(&d).unwrap() {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            assert!(!name.starts_with('.'), "left behind: {name}");
        }
    }
}

#[test]
fn report_md_has_the_scenario_the_verdict_rows_and_the_drivers() {
    let tmp = tempdir();
    let dir = fixture_copy(tmp.path(), "out");
    let summary = slaplan::report::write_report(&dir).expect("report");
    assert!(summary.unavailable.is_empty(), "{:?}", summary.unavailable);
    let md = fs::read_to_string(dir.join("report.md")).unwrap();
    for needle in [
        "# SLA clause review: fixture",
        "| scenario | fixture (scenarios/fixture.toml) |",
        "| period | from 2026-03-01T00:00:00 UTC, 3 days |",
        "| windows | 2026-03 (partly simulated) |",
        "| replications | 30 |",
        "| seed | 7 |",
        "| endpoints | sonnet@anthropic/eu, sonnet@bedrock/eu |",
        "Totals over all replications: 123,456 calls, 123,000 completed, 456 failed",
        "| tenant | clause | held | P(hold) | 95% interval | verdict |",
        "| acme | p95 call latency <= 800ms | 30/30 | 1.000 | [0.884, 1.000] | **enforceable** |",
        "| acme | availability >= 99.9% | 27/30 | 0.900 | [0.735, 0.979] | **at risk** |",
        "| globex | p99 call latency <= 2s for workflow claims | 15/30 | 0.500 | [0.313, 0.687] | **not enforceable** |",
        "| globex | availability >= 99% | 30/30 | 1.000 | [0.884, 1.000] | **enforceable** |",
        "- acme: availability >= 99.9% (at risk): main driver endpoint sonnet@anthropic/eu at provider \
         anthropic during outages: 62% of bad events.",
        "- globex: p99 call latency <= 2s for workflow claims (not enforceable): main driver endpoint \
         sonnet@bedrock/eu at provider bedrock outside outages: 80% of bad events.",
        "A call (or task) counts in the window in which it was submitted",
        "A window with no eligible call holds vacuously",
        "two-sided 95% Clopper-Pearson",
        "Scenario file scenarios/fixture.toml (sha256 9f2c",
        "Monte Carlo: 30 replication(s) of the simulated period, seed 7",
    ] {
        assert!(md.contains(needle), "report.md lacks {needle:?}:\n{md}");
    }
    for name in CHARTS {
        assert!(
            md.contains(&format!("](charts/{name}.png)")),
            "report.md links {name}.png"
        );
    }
    // Enforceable clauses get no driver line.
    assert!(!md.contains("- acme: p95 call latency <= 800ms"), "{md}");
}

#[test]
fn missing_optional_files_are_reported_not_fatal() {
    let tmp = tempdir();
    let dir = fixture_copy(tmp.path(), "out");
    // A first report draws every chart; the second must not leave them stale.
    assert!(report(&dir).status.success());
    for f in OPTIONAL {
        fs::remove_file(dir.join(f)).unwrap();
    }
    let out = report(&dir);
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let md = fs::read_to_string(dir.join("report.md")).unwrap();
    let html = fs::read_to_string(dir.join("report.html")).unwrap();
    for (title, file) in [
        ("Frontier of the latency clauses", "windows.csv"),
        ("Latency distribution against the threshold", "latency.csv"),
        ("Error-budget burn-down", "budget.csv"),
        ("Outages and tier changes (sample replication)", "timeline.csv"),
    ] {
        let sentence = format!("{title}: not available in this output ({file} is absent).");
        assert!(stdout.contains(&sentence), "stdout lacks {sentence:?}:\n{stdout}");
        assert!(md.contains(&sentence), "report.md lacks {sentence:?}");
        assert!(html.contains(&sentence), "report.html lacks {sentence:?}");
    }
    assert!(
        md.contains("Drivers: not available in this output (drivers.csv is absent)"),
        "{md}"
    );
    let mut left: Vec<String> = fs::read_dir(dir.join("charts"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(
        left,
        ["heatmap.png", "heatmap.svg", "probability.png", "probability.svg"]
    );
}

#[test]
fn bad_input_exits_2_naming_the_file_and_what_was_expected() {
    type Break = fn(&Path);
    let cases: [(&str, Break, &str); 9] = [
        (
            "no summary",
            |d| fs::remove_file(d.join("summary.csv")).unwrap(),
            "summary.csv: not found",
        ),
        (
            "no run.json",
            |d| fs::remove_file(d.join("run.json")).unwrap(),
            "run.json: not found",
        ),
        (
            "probability not a number",
            |d| edit(d, "summary.csv", "27,0.900000,", "27,abc,"),
            "summary.csv: line 3: column \"probability\": expected a number, got \"abc\"",
        ),
        (
            "missing column",
            |d| edit(d, "summary.csv", ",ci_low,", ",lower,"),
            "summary.csv: missing column \"ci_low\"",
        ),
        (
            "unknown verdict",
            |d| edit(d, "summary.csv", ",at_risk,", ",maybe,"),
            "summary.csv: line 3: column \"verdict\": expected enforceable, at_risk or not_enforceable, got \"maybe\"",
        ),
        (
            "confidence not a number",
            |d| {
                edit(
                    d,
                    "run.json",
                    "\"required_confidence\": 0.8",
                    "\"required_confidence\": \"high\"",
                )
            },
            "run.json: field \"required_confidence\": expected a number, got \"high\"",
        ),
        (
            "run.json not JSON",
            |d| edit(d, "run.json", "{", "["),
            "run.json: not valid JSON",
        ),
        (
            "a share above 1 in an optional file",
            |d| {
                edit(
                    d,
                    "latency.csv",
                    "0,acme,p95 latency,400,0.4",
                    "0,acme,p95 latency,400,1.4",
                )
            },
            "latency.csv: line 3: column \"cumulative_share\": expected a share between 0 and 1, got 1.4",
        ),
        (
            "budget band out of order",
            |d| {
                edit(
                    d,
                    "budget.csv",
                    "3,globex,availability,2026-03,1,",
                    "3,globex,availability,2026-03,1,9",
                )
            },
            "budget.csv: line 74: columns \"consumed_p05\", \"consumed_p50\", \"consumed_p95\": expected p05 <= p50 <= p95",
        ),
    ];
    let tmp = tempdir();
    for (i, (what, breaks, expected)) in cases.into_iter().enumerate() {
        let dir = fixture_copy(tmp.path(), &format!("case{i}"));
        breaks(&dir);
        let out = report(&dir);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{what}: {err}");
        assert!(err.contains(expected), "{what}: expected {expected:?} in:\n{err}");
        assert!(!err.contains("panicked"), "{what}: {err}");
        assert!(!dir.join("report.html").exists(), "{what}: nothing is written");
    }
    let out = slaplan().args(["report", "/nonexistent/slaplan-out"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("not a directory"), "{}", stderr(&out));
}

fn edit(dir: &Path, file: &str, from: &str, to: &str) {
    let path = dir.join(file);
    let text = fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{file} lacks {from:?}");
    fs::write(&path, text.replacen(from, to, 1)).unwrap();
}

#[test]
fn the_same_output_gives_byte_identical_reports() {
    let tmp = tempdir();
    let (a, b) = (fixture_copy(tmp.path(), "a"), fixture_copy(tmp.path(), "b"));
    slaplan::report::write_report(&a).unwrap();
    let first = slaplan::report::write_report(&b).unwrap();
    let again = slaplan::report::write_report(&b).unwrap();
    assert_eq!(first, again);
    let files = |d: &Path| -> Vec<String> {
        let mut names: Vec<String> = CHARTS
            .iter()
            .flat_map(|c| [format!("charts/{c}.svg"), format!("charts/{c}.png")])
            .collect();
        names.extend(["report.md".into(), "report.html".into()]);
        assert!(names.iter().all(|n| d.join(n).exists()), "{names:?}");
        names
    };
    for name in files(&a) {
        assert!(
            fs::read(a.join(&name)).unwrap() == fs::read(b.join(&name)).unwrap(),
            "{name} differs between two reports of the same output"
        );
    }
}

// ---- the charts, read back from their SVG -----------------------------------------

/// A summary of three clauses at known probabilities and intervals.
fn three_clauses(dir: &Path) {
    fs::write(
        dir.join("summary.csv"),
        "tenant,workflow,clause,metric,unit,threshold,windows,met,probability,ci_low,ci_high,verdict\n\
         a,,p95 call latency <= 1s,p95 latency,ms,1000,100,100,1.0,0.96,1.0,enforceable\n\
         b,,availability >= 99%,availability,ratio,0.99,100,50,0.5,0.2,0.8,not_enforceable\n\
         c,,p50 call latency <= 1s,p50 latency,ms,1000,100,25,0.25,0.1,0.6,not_enforceable\n",
    )
    .unwrap();
    for f in OPTIONAL {
        let _ = fs::remove_file(dir.join(f));
    }
}

#[test]
fn the_probability_chart_draws_bars_and_whiskers_where_the_numbers_say() {
    let tmp = tempdir();
    let dir = fixture_copy(tmp.path(), "out");
    three_clauses(&dir);
    slaplan::report::write_report(&dir).unwrap();
    let svg = chart(&dir, "probability");
    let bar = |fill: &str| -> Vec<&Element> {
        svg.iter()
            .filter(|e| e.name == "rect" && e.attrs.get("fill").map(String::as_str) == Some(fill))
            .collect()
    };
    let green = bar("#2E7D32");
    let red = bar("#C62828");
    assert_eq!((green.len(), red.len()), (1, 2), "one enforceable, two not");
    // The axis runs from 0 (every bar's left end) to 1 (the full bar's right end).
    let x0 = green[0].num("x");
    let x1 = x0 + green[0].num("width");
    assert!(red.iter().all(|r| r.num("x") == x0));
    let px = |p: f64| x0 as f64 + p * (x1 - x0) as f64;
    let (half, quarter) = (red[0], red[1]);
    assert!(half.num("y") < quarter.num("y"), "rows top to bottom in file order");
    for (rect, p) in [(half, 0.5), (quarter, 0.25)] {
        let right = (rect.num("x") + rect.num("width")) as f64;
        assert!(
            (right - px(p)).abs() <= 1.0,
            "bar of {p} ends at {right}, expected {}",
            px(p)
        );
    }
    // Equal bar heights, evenly spaced rows.
    let heights: Vec<i32> = [green[0], half, quarter].iter().map(|r| r.num("height")).collect();
    assert!(heights.iter().all(|h| (h - heights[0]).abs() <= 1), "{heights:?}");
    let gap1 = half.num("y") - green[0].num("y");
    let gap2 = quarter.num("y") - half.num("y");
    assert!((gap1 - gap2).abs() <= 1, "{gap1} {gap2}");
    // Whiskers: horizontal two-point lines in ink, one per clause, at the
    // interval's ends, through the middle of their bar.
    let whiskers: Vec<Vec<(i32, i32)>> = svg
        .iter()
        .filter(|e| e.name == "polyline" && e.attrs.get("stroke").map(String::as_str) == Some("#212121"))
        .map(Element::points)
        .filter(|p| p.len() == 2 && p[0].1 == p[1].1 && p[0].0 != p[1].0)
        .collect();
    assert_eq!(whiskers.len(), 3, "{whiskers:?}");
    for (w, (rect, lo, hi)) in whiskers
        .iter()
        .zip([(green[0], 0.96, 1.0), (half, 0.2, 0.8), (quarter, 0.1, 0.6)])
    {
        assert!((w[0].0 as f64 - px(lo)).abs() <= 1.0, "whisker {w:?} starts at {lo}");
        assert!((w[1].0 as f64 - px(hi)).abs() <= 1.0, "whisker {w:?} ends at {hi}");
        let middle = rect.num("y") + rect.num("height") / 2;
        assert!(
            (w[0].1 - middle).abs() <= 1,
            "whisker {w:?} through its bar at y {middle}"
        );
    }
    // The required confidence (0.8 in run.json): a dashed line of short grey segments.
    let dashes: Vec<Vec<(i32, i32)>> = svg
        .iter()
        .filter(|e| e.name == "polyline" && e.attrs.get("stroke").map(String::as_str) == Some("#787878"))
        .map(Element::points)
        .collect();
    assert!(dashes.len() > 3, "{dashes:?}");
    assert!(dashes.iter().flatten().all(|p| (p.0 as f64 - px(0.8)).abs() <= 1.0));
    assert!(svg.iter().any(|e| label(e) == Some("required 0.8")));
}

#[test]
fn the_heatmap_has_one_cell_per_clause() {
    let tmp = tempdir();
    let dir = fixture_copy(tmp.path(), "out");
    slaplan::report::write_report(&dir).unwrap();
    let svg = chart(&dir, "heatmap");
    let cells: Vec<&Element> = svg
        .iter()
        .filter(|e| e.name == "rect" && e.attrs["fill"] != "#FFFFFF" && e.num("width") >= 50 && e.num("height") >= 30)
        .collect();
    assert_eq!(cells.len(), 4, "4 clauses of 2 tenants: {cells:?}");
    let values: Vec<&str> = svg
        .iter()
        .filter_map(label)
        .filter(|t| t.len() == 5 && t.starts_with(['0', '1']) && t.contains('.'))
        .collect();
    assert_eq!(values, ["1.000", "0.900", "0.500", "1.000"]);
    // acme has its two clauses on one row; a column is a clause as the
    // grammar writes it, and no two of the four have the same words
    // (globex's latency is scoped to a workflow, its availability is 99%).
    let rows: std::collections::BTreeSet<i32> = cells.iter().map(|c| c.num("y")).collect();
    let cols: std::collections::BTreeSet<i32> = cells.iter().map(|c| c.num("x")).collect();
    assert_eq!((rows.len(), cols.len()), (2, 4));
}

#[test]
fn the_budget_band_keeps_p05_p50_p95_in_order() {
    let tmp = tempdir();
    let dir = fixture_copy(tmp.path(), "out");
    slaplan::report::write_report(&dir).unwrap();
    let svg = chart(&dir, "budget");
    let bands: Vec<Vec<(i32, i32)>> = svg
        .iter()
        .filter(|e| e.name == "polygon")
        .map(Element::points)
        .collect();
    let medians: Vec<Vec<(i32, i32)>> = svg
        .iter()
        .filter(|e| {
            e.name == "polyline"
                && e.attrs.get("stroke").map(String::as_str) == Some("#195AAA")
                && e.attrs.get("stroke-width").map(String::as_str) == Some("2")
        })
        .map(Element::points)
        .collect();
    assert_eq!((bands.len(), medians.len()), (2, 2), "two availability clauses");
    for (band, median) in bands.iter().zip(&medians) {
        let n = median.len();
        assert_eq!(n, 72, "one point per hour");
        assert_eq!(band.len(), 2 * n);
        // The band runs along its upper edge (budget left at consumed p05)
        // and back along its lower edge (at p95); y grows downwards.
        for (i, m) in median.iter().enumerate() {
            let (upper, lower) = (band[i], band[2 * n - 1 - i]);
            assert_eq!((upper.0, lower.0), (m.0, m.0), "hour {i}");
            assert!(upper.1 <= m.1 && m.1 <= lower.1, "hour {i}: {upper:?} {m:?} {lower:?}");
        }
    }
}

#[test]
fn run_report_writes_the_report_beside_the_outputs() {
    let tmp = tempdir();
    let out_dir = tmp.path().join("out");
    let out = slaplan()
        .args(["run", "--report", "--out"])
        .arg(&out_dir)
        .arg(repo_path("tests/fixtures/small.toml"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    for f in [
        "report.html",
        "report.md",
        "charts/probability.svg",
        "charts/frontier.png",
    ] {
        assert!(out_dir.join(f).exists(), "{f}");
    }
}

// ---- headless Chromium ----------------------------------------------------------------

fn find_chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("SLAPLAN_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|d| ["chromium", "chromium-browser"].map(|n| d.join(n)))
        .find(|p| p.is_file())
}

/// Runs `cmd`, killing it after `limit`.
fn output_within(mut cmd: std::process::Command, limit: std::time::Duration) -> Output {
    use std::process::Stdio;
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chromium starts");
    let id = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(out) => out.expect("chromium output"),
        Err(_) => {
            let _ = std::process::Command::new("kill").arg(id.to_string()).status();
            panic!("chromium did not finish within {limit:?}");
        }
    }
}

#[test]
fn chromium_renders_the_report_with_no_console_error() {
    let required = std::env::var("SLAPLAN_REQUIRE_CHROMIUM").is_ok_and(|v| v == "1");
    let Some(chromium) = find_chromium() else {
        assert!(
            !required,
            "SLAPLAN_REQUIRE_CHROMIUM=1 but no chromium on PATH (apt-get install chromium, or set SLAPLAN_CHROMIUM)"
        );
        eprintln!(
            "SKIPPED chromium_renders_the_report_with_no_console_error: no chromium on PATH \
             (install Debian's chromium to run it; SLAPLAN_REQUIRE_CHROMIUM=1 makes this a failure)"
        );
        return;
    };
    let tmp = tempdir();
    let dir = fixture_copy(tmp.path(), "out");
    slaplan::report::write_report(&dir).unwrap();
    let (pixels, log) = screenshot(&chromium, &dir.join("report.html"), (1280, 2000), tmp.path(), None);
    // Page console messages are logged as `INFO:CONSOLE...` lines; the page
    // has no script, so any is a failure (a CSS or font load error, too).
    let console: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught"))
        .collect();
    assert!(console.is_empty(), "console messages:\n{}", console.join("\n"));
    let non_white = pixels.iter().filter(|p| **p != (255, 255, 255)).count();
    let share = non_white as f64 / pixels.len() as f64;
    assert!(share > 0.04, "the page looks blank: {:.1}% non-white", share * 100.0);
    let distinct: std::collections::BTreeSet<(u8, u8, u8)> = pixels.iter().copied().collect();
    assert!(distinct.len() >= 64, "only {} colours", distinct.len());
    // The verdict badges and bars: green, amber and red are all on screen.
    for (name, (r, g, b)) in [
        ("green", (46, 125, 50)),
        ("amber", (230, 152, 0)),
        ("red", (198, 40, 40)),
    ] {
        let near = pixels
            .iter()
            .filter(|p| p.0.abs_diff(r) <= 6 && p.1.abs_diff(g) <= 6 && p.2.abs_diff(b) <= 6)
            .count();
        assert!(near > 200, "{name} barely appears ({near} px)");
    }
    eprintln!(
        "chromium rendered report.html: {:.1}% non-white, {} colours",
        share * 100.0,
        distinct.len()
    );

    // A chart's SVG looks the same when the machine has no fonts at all
    // (fontconfig pointed at an empty configuration): its text is outlines.
    let no_fonts = tmp.path().join("no-fonts.conf");
    fs::write(
        &no_fonts,
        format!(
            "<?xml version=\"1.0\"?>\n<fontconfig><cachedir>{}</cachedir></fontconfig>\n",
            tmp.path().join("fc-cache").display()
        ),
    )
    .unwrap();
    let svg = dir.join("charts/probability.svg");
    let (with_fonts, _) = screenshot(&chromium, &svg, (960, 300), tmp.path(), None);
    let (without, _) = screenshot(&chromium, &svg, (960, 300), tmp.path(), Some(&no_fonts));
    let differing = with_fonts.iter().zip(&without).filter(|(a, b)| a != b).count();
    assert_eq!(differing, 0, "probability.svg renders differently without system fonts");
    let ink = without.iter().filter(|p| p.0 < 100 && p.1 < 100 && p.2 < 100).count();
    assert!(ink > 2000, "no text or axes drawn without fonts ({ink} dark px)");
}

/// Chromium's screenshot of `file` at `size` as RGB pixels, and its log;
/// `fontconfig` replaces the machine's font configuration.
fn screenshot(
    chromium: &Path,
    file: &Path,
    size: (u32, u32),
    tmp: &Path,
    fontconfig: Option<&Path>,
) -> (Vec<(u8, u8, u8)>, String) {
    let n = fs::read_dir(tmp).unwrap().count();
    let shot = tmp.join(format!("shot-{n}.png"));
    let mut cmd = std::process::Command::new(chromium);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--enable-logging=stderr",
        "--v=0",
    ])
    .arg(format!("--window-size={},{}", size.0, size.1))
    .arg(format!(
        "--user-data-dir={}",
        tmp.join(format!("profile-{n}")).display()
    ))
    .arg(format!("--screenshot={}", shot.display()))
    .arg(format!("file://{}", file.canonicalize().unwrap().display()));
    if let Some(conf) = fontconfig {
        cmd.env("FONTCONFIG_FILE", conf);
    }
    let out = output_within(cmd, std::time::Duration::from_secs(120));
    let log = stderr(&out);
    assert!(
        shot.exists(),
        "no screenshot of {}; chromium said:\n{log}",
        file.display()
    );
    let decoder = png::Decoder::new(std::io::BufReader::new(fs::File::open(&shot).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = match info.color_type {
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        other => panic!("unexpected screenshot colour type {other:?}"),
    };
    assert_eq!((info.width, info.height), size);
    let pixels = buf[..info.buffer_size()]
        .chunks(channels)
        .map(|p| (p[0], p[1], p[2]))
        .collect();
    (pixels, log)
}
