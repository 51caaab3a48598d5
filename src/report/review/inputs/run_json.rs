//! `run.json`: the required fields, and the ones a newer run adds when
//! present (name, start, length, tenant/endpoint/provider lists).

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value};

use super::{ReportError, RunInfo, WindowInfo, input};
use crate::plan::IntervalKind;

/// Reads and checks `run.json`.
pub(super) fn read_run(path: &Path) -> Result<RunInfo, ReportError> {
    let text = std::fs::read_to_string(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => input(path, "not found: expected the run.json written by `slaplan run`"),
        _ => input(path, format!("cannot read: {e}")),
    })?;
    let value: Value = serde_json::from_str(&text).map_err(|e| input(path, format!("not valid JSON: {e}")))?;
    let obj = value
        .as_object()
        .ok_or_else(|| input(path, "expected a JSON object at the top level"))?;
    run_info(obj).map_err(|problem| input(path, problem))
}

fn run_info(obj: &Map<String, Value>) -> Result<RunInfo, String> {
    let required_confidence = number(obj, "required_confidence")?;
    if !(required_confidence > 0.0 && required_confidence < 1.0) {
        return Err(format!(
            "field \"required_confidence\": expected a probability strictly between 0 and 1, got {required_confidence}"
        ));
    }
    let interval_level = number(obj, "interval_level")?;
    if !(interval_level > 0.0 && interval_level < 1.0) {
        return Err(format!(
            "field \"interval_level\": expected a level strictly between 0 and 1, got {interval_level}"
        ));
    }
    Ok(RunInfo {
        slaplan_version: string(obj, "slaplan_version")?,
        scenario: string(obj, "scenario")?,
        scenario_sha256: string(obj, "scenario_sha256")?,
        seed: whole(obj, "seed")?,
        replications: whole(obj, "replications")?,
        required_confidence,
        interval_level,
        interval_method: optional_field(obj, "interval_method", interval_method)?.unwrap_or_default(),
        scenario_name: optional_field(obj, "scenario_name", string)?,
        start: optional_field(obj, "start", string)?,
        duration_ms: optional_field(obj, "duration_ms", number)?,
        windows: optional_field(obj, "windows", windows)?.unwrap_or_default(),
        totals: optional_field(obj, "totals", totals)?.unwrap_or_default(),
        tenants: optional_field(obj, "tenants", names)?.unwrap_or_default(),
        endpoints: optional_field(obj, "endpoints", names)?.unwrap_or_default(),
        providers: optional_field(obj, "providers", names)?.unwrap_or_default(),
    })
}

fn interval_method(obj: &Map<String, Value>, name: &str) -> Result<IntervalKind, String> {
    let text = string(obj, name)?;
    [IntervalKind::ClopperPearson, IntervalKind::ConfidenceSequence]
        .into_iter()
        .find(|k| k.label() == text)
        .ok_or_else(|| {
            format!("field \"{name}\": expected \"clopper_pearson\" or \"confidence_sequence\", got {text:?}")
        })
}

fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => format!("{s:?}"),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "an object".into(),
    }
}

fn get<'a>(obj: &'a Map<String, Value>, name: &str) -> Result<&'a Value, String> {
    obj.get(name).ok_or_else(|| format!("field \"{name}\" is missing"))
}

fn optional_field<T>(
    obj: &Map<String, Value>,
    name: &str,
    read: impl Fn(&Map<String, Value>, &str) -> Result<T, String>,
) -> Result<Option<T>, String> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(_) => read(obj, name).map(Some),
    }
}

fn string(obj: &Map<String, Value>, name: &str) -> Result<String, String> {
    match get(obj, name)? {
        Value::String(s) => Ok(s.clone()),
        other => Err(format!("field \"{name}\": expected a string, got {}", describe(other))),
    }
}

fn number(obj: &Map<String, Value>, name: &str) -> Result<f64, String> {
    let v = get(obj, name)?;
    v.as_f64()
        .ok_or_else(|| format!("field \"{name}\": expected a number, got {}", describe(v)))
}

fn whole(obj: &Map<String, Value>, name: &str) -> Result<u64, String> {
    let v = get(obj, name)?;
    v.as_u64().ok_or_else(|| {
        format!(
            "field \"{name}\": expected a non-negative whole number, got {}",
            describe(v)
        )
    })
}

fn windows(obj: &Map<String, Value>, name: &str) -> Result<Vec<WindowInfo>, String> {
    let Value::Array(items) = get(obj, name)? else {
        return Err(format!("field \"{name}\": expected a list of windows"));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let w = item
                .as_object()
                .ok_or_else(|| format!("field \"{name}[{i}]\": expected an object, got {}", describe(item)))?;
            let at = |e: String| format!("{name}[{i}]: {e}");
            Ok(WindowInfo {
                label: string(w, "label").map_err(at)?,
                start_ns: whole(w, "start").map_err(at)?,
                end_ns: whole(w, "end").map_err(at)?,
                complete: match w.get("complete") {
                    None => true,
                    Some(v) => v.as_bool().ok_or_else(|| {
                        at(format!(
                            "field \"complete\": expected true or false, got {}",
                            describe(v)
                        ))
                    })?,
                },
            })
        })
        .collect()
}

/// The counters shown first, in this order; any others follow by name.
const KNOWN_TOTALS: [&str; 10] = [
    "calls",
    "completed",
    "failed",
    "open_calls",
    "attempts",
    "tasks",
    "tasks_succeeded",
    "open_tasks",
    "tool_calls",
    "migrations",
];

fn totals(obj: &Map<String, Value>, name: &str) -> Result<Vec<(String, u64)>, String> {
    let Value::Object(map) = get(obj, name)? else {
        return Err(format!("field \"{name}\": expected an object of counters"));
    };
    let mut known = Vec::new();
    let mut rest = BTreeMap::new();
    for (key, v) in map {
        // Counters only; anything else a later version adds is skipped.
        let Some(n) = v.as_u64() else { continue };
        match KNOWN_TOTALS.iter().position(|k| k == key) {
            Some(i) => known.push((i, key.clone(), n)),
            None => {
                rest.insert(key.clone(), n);
            }
        }
    }
    known.sort();
    Ok(known.into_iter().map(|(_, k, n)| (k, n)).chain(rest).collect())
}

/// A list of names: strings, or objects with a `name`.
fn names(obj: &Map<String, Value>, name: &str) -> Result<Vec<String>, String> {
    let Value::Array(items) = get(obj, name)? else {
        return Err(format!("field \"{name}\": expected a list of names"));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| match item {
            Value::String(s) => Ok(s.clone()),
            Value::Object(o) => string(o, "name").map_err(|e| format!("{name}[{i}]: {e}")),
            other => Err(format!(
                "field \"{name}[{i}]\": expected a name or an object with a name, got {}",
                describe(other)
            )),
        })
        .collect()
}
