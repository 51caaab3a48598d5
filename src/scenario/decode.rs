//! From TOML text to [`Scenario`], reporting every syntax and type error
//! rather than the first.
//!
//! `toml::from_str` stops at the first error, and an error inside a type
//! flattened into an endpoint, tenant or workflow loses its place. When the
//! whole document fails, this module deserializes it again piece by piece
//! (the simulation table, `[router]`, each endpoint and its latency and
//! outages, each tenant and its chain, workflows and clauses), each
//! flattened table once per part (the router's keys as the router's type,
//! then the whole table), so that independent mistakes in different pieces
//! are all reported, each at its field. Keys that no part of a table knows
//! are found by [`keys::unknown_keys`]. Each error is placed with
//! [`SourceMap`]: its line, and the field path its span falls in. Range and
//! cross-reference checks are not done here but in [`super::validate`] and
//! by the router.

use serde::Deserialize;
use serde::de::{DeserializeOwned, IntoDeserializer};
use toml::Spanned;
use toml::de::DeValue;

use super::keys::{self, Table, elements, only};
use super::spans::{SourceMap, line_of_offset};
use super::{Clause, Endpoint, Latency, Outage, Problem, Scenario, Simulation};
use super::{Tenant, Workflow};
use crate::policy::{ChainEntry, EndpointPolicy, RouterConfig, TenantPolicy, WorkflowPolicy};

/// The scenario in `map`, or every syntax or type error and unknown key
/// found in it.
pub fn decode(map: &SourceMap<'_>) -> Result<Scenario, Vec<Problem>> {
    if !map.syntax_errors().is_empty() {
        let mut problems: Vec<Problem> = map.syntax_errors().iter().map(|e| syntax_problem(map, e)).collect();
        dedup(&mut problems);
        return Err(problems);
    }
    let unknown = keys::unknown_keys(map);
    let first = match Scenario::deserialize(map.root().clone().into_deserializer()) {
        Ok(scenario) if unknown.is_empty() => return Ok(scenario),
        Ok(_) => None,
        Err(e) => Some(problem(map, &e, "")),
    };
    let mut problems = unknown;
    pieces(map, &mut problems);
    // The whole document's error is one of the pieces' unless none of them
    // lies where it does (say, an unknown top-level key).
    if let Some(first) = first
        && !problems
            .iter()
            .any(|p| p.path == first.path || is_inside(&p.path, &first.path))
    {
        problems.insert(0, first);
    }
    dedup(&mut problems);
    Err(problems)
}

/// Deserializes each independent piece of the document, adding its errors.
fn pieces(map: &SourceMap<'_>, problems: &mut Vec<Problem>) {
    let DeValue::Table(root) = map.root().get_ref() else {
        return;
    };
    match root.get("simulation") {
        Some(simulation) => {
            piece::<Simulation>(map, simulation, "simulation", problems);
        }
        None => problems.push(Problem::new(
            "simulation",
            None,
            "the [simulation] table is missing: expected at least start and duration, \
             e.g. [simulation] start = \"2026-01-01\" duration = \"31d\"",
        )),
    }
    if let Some(router) = root.get("router") {
        piece::<RouterConfig>(map, router, "router", problems);
    }
    for (i, endpoint) in elements(root.get("endpoints")) {
        let path = format!("endpoints[{i}]");
        if flattened::<EndpointPolicy, Endpoint>(map, endpoint, &path, Table::Endpoint, problems) {
            continue;
        }
        if let Some(latency) = child(endpoint, "latency") {
            piece::<Latency>(map, latency, &format!("{path}.latency"), problems);
        }
        for (j, outage) in elements(child(endpoint, "outages")) {
            piece::<Outage>(map, outage, &format!("{path}.outages[{j}]"), problems);
        }
    }
    for (i, tenant) in elements(root.get("tenants")) {
        let path = format!("tenants[{i}]");
        if flattened::<TenantPolicy, Tenant>(map, tenant, &path, Table::Tenant, problems) {
            continue;
        }
        for (j, entry) in elements(child(tenant, "chain")) {
            piece::<ChainEntry>(map, entry, &format!("{path}.chain[{j}]"), problems);
        }
        for (j, workflow) in elements(child(tenant, "workflows")) {
            let wpath = format!("{path}.workflows[{j}]");
            flattened::<WorkflowPolicy, Workflow>(map, workflow, &wpath, Table::Workflow, problems);
        }
        for (j, clause) in elements(child(tenant, "clauses")) {
            piece::<Clause>(map, clause, &format!("{path}.clauses[{j}]"), problems);
        }
    }
}

/// Deserializes a table that flattens router type `R` into `T`: first its
/// router keys alone as an `R` (so an error there keeps its field), then
/// the whole table as a `T` (for the rest). Returns whether both passed.
/// The whole table's error is dropped when it only repeats, without its
/// place, a problem of the router part.
fn flattened<R: DeserializeOwned, T: DeserializeOwned>(
    map: &SourceMap<'_>,
    value: &Spanned<DeValue<'_>>,
    path: &str,
    table: Table,
    problems: &mut Vec<Problem>,
) -> bool {
    let router = only(value, &table.router_keys());
    let router_ok = piece::<R>(map, &router, path, problems);
    let mut whole = Vec::new();
    let whole_ok = piece::<T>(map, value, path, &mut whole);
    problems.extend(whole.into_iter().filter(|p| router_ok || p.path != path));
    router_ok && whole_ok
}

/// Deserializes one piece as a `T`; on error adds it and returns false.
fn piece<T: DeserializeOwned>(
    map: &SourceMap<'_>,
    value: &Spanned<DeValue<'_>>,
    path: &str,
    problems: &mut Vec<Problem>,
) -> bool {
    match T::deserialize(value.clone().into_deserializer()) {
        Ok(_) => true,
        Err(e) => {
            problems.push(problem(map, &e, path));
            false
        }
    }
}

/// The value at `key` of a table value.
fn child<'a, 's>(value: &'a Spanned<DeValue<'s>>, key: &str) -> Option<&'a Spanned<DeValue<'s>>> {
    match value.get_ref() {
        DeValue::Table(t) => t.get(key),
        _ => None,
    }
}

/// A problem for a toml error: the path its span falls in (else
/// `fallback`), its line, and a message in the user's terms.
pub fn problem(map: &SourceMap<'_>, err: &toml::de::Error, fallback: &str) -> Problem {
    let (path, line) = match err.span() {
        Some(span) => {
            let line = line_of_offset(map.source(), span.start);
            let path = map.path_at(span);
            (if path.is_empty() { fallback.to_string() } else { path }, Some(line))
        }
        None => (fallback.to_string(), map.nearest_line(fallback)),
    };
    let message = if map.is_datetime(&path) {
        let text = err.span().and_then(|s| map.source().get(s)).unwrap_or("");
        format!("an unquoted TOML date-time: expected a quoted string, e.g. \"{text}\"")
    } else {
        humanize(err.message())
    };
    Problem::new(path, line, message)
}

/// A problem for a syntax error: as [`problem`], quoting the offending text
/// when it is short (the parser's message does not, e.g. "duplicate key").
fn syntax_problem(map: &SourceMap<'_>, err: &toml::de::Error) -> Problem {
    let mut p = problem(map, err, "");
    let text = err.span().and_then(|s| map.source().get(s)).unwrap_or("");
    if !text.is_empty() && text.len() <= 40 && !text.contains('\n') {
        p.message = format!("{} (at `{text}`)", p.message);
    }
    p
}

/// Rewrites serde's Rust-flavoured type names into what a scenario author
/// writes, and drops trailing newlines.
pub fn humanize(message: &str) -> String {
    const TERMS: [(&str, &str); 9] = [
        ("expected u8", "expected a whole number from 0 to 255"),
        ("expected u32", "expected a whole number, 0 or more"),
        ("expected u64", "expected a whole number, 0 or more"),
        ("expected f64", "expected a number"),
        ("expected a sequence", "expected an array"),
        ("expected a map", "expected a table"),
        ("expected a string", "expected a quoted string"),
        ("expected struct ", "expected a table for "),
        ("unexpected keys in table", "unknown keys"),
    ];
    let mut out = message.trim_end().to_string();
    for (from, to) in TERMS {
        out = out.replace(from, to);
    }
    if let Some(key) = out
        .strip_prefix("missing field `")
        .and_then(|rest| rest.strip_suffix('`'))
    {
        out = format!("the required key `{key}` is missing: expected `{key} = ...` in this table");
    }
    out
}

/// Drops repeated problems, keeping the first: a piece can fail for the
/// same reason as the whole document, and an error that lost its span is
/// placed on an enclosing field when a piece places it more precisely.
fn dedup(problems: &mut Vec<Problem>) {
    let all = problems.clone();
    let mut seen = Vec::with_capacity(problems.len());
    problems.retain(|p| {
        let key = (p.line, p.path.clone(), p.message.clone());
        let fresh = !seen.contains(&key);
        if fresh {
            seen.push(key);
        }
        let placed_better = all
            .iter()
            .any(|q| q.message == p.message && is_inside(&q.path, &p.path));
        fresh && !placed_better
    });
}

/// Whether `inner` is a field strictly inside `outer`.
fn is_inside(inner: &str, outer: &str) -> bool {
    inner.len() > outer.len()
        && inner.starts_with(outer)
        && (outer.is_empty() || inner[outer.len()..].starts_with(['.', '[']))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(source: &str) -> Vec<Problem> {
        match decode(&SourceMap::parse(source)) {
            Ok(_) => Vec::new(),
            Err(p) => p,
        }
    }

    const HEAD: &str = "[simulation]\nstart = \"2026-01-01\"\nduration = \"1d\"\n";

    #[test]
    fn a_syntax_error_has_its_line() {
        let p = errors("[simulation]\nstart = \"2026-01-01\nduration = \"1d\"\n");
        assert_eq!(p[0].line, Some(2), "{p:?}");
        assert_eq!(p[0].path, "simulation.start", "{p:?}");
    }

    #[test]
    fn an_unknown_variant_names_field_line_and_choices() {
        let src = format!(
            "{HEAD}[[tenants]]\nname = \"t\"\nclass = \"gold\"\nchain = []\nworkflows = []\n\
             [[tenants.clauses]]\nmetric = \"throughputz\"\n"
        );
        let p = errors(&src);
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].path, "tenants[0].clauses[0].metric");
        assert_eq!(p[0].line, Some(10));
        assert!(p[0].message.contains("throughputz"), "{p:?}");
        assert!(
            p[0].message
                .contains("expected one of `latency`, `availability`, `task_latency`, `task_availability`"),
            "{p:?}"
        );
    }

    #[test]
    fn independent_type_errors_in_different_pieces_are_all_reported() {
        let src = format!(
            "{HEAD}seed = -1\n\
             [[endpoints]]\nname = \"a\"\nconcurrency = 2\nlatency = {{ model = \"exponential\", mean = 5 }}\n\
             [[tenants]]\nname = \"t\"\nclass = \"golden\"\nchain = [\"a\"]\nworkflows = []\n"
        );
        let p = errors(&src);
        let paths: Vec<&str> = p.iter().map(|p| p.path.as_str()).collect();
        assert!(paths.contains(&"simulation.seed"), "{p:?}");
        // Internally tagged enums lose the inner span: the whole table is named.
        assert!(paths.contains(&"endpoints[0].latency"), "{p:?}");
        assert!(paths.contains(&"tenants[0].class"), "{p:?}");
        assert_eq!(p.len(), 3, "{p:?}");
    }

    #[test]
    fn a_bare_number_duration_says_to_add_a_unit() {
        let p = errors("[simulation]\nstart = \"2026-01-01\"\nduration = 5\n");
        assert_eq!(p[0].path, "simulation.duration");
        assert_eq!(p[0].line, Some(3));
        assert!(p[0].message.contains("\"5ms\""), "{p:?}");
    }

    #[test]
    fn an_unquoted_date_asks_for_quotes() {
        let p = errors("[simulation]\nstart = 2026-01-01\nduration = \"1d\"\n");
        assert_eq!(p[0].path, "simulation.start");
        assert_eq!(p[0].line, Some(2));
        assert!(p[0].message.contains("e.g. \"2026-01-01\""), "{p:?}");
    }

    #[test]
    fn an_unknown_key_is_named() {
        let p = errors(&format!("{HEAD}sede = 4\n"));
        assert_eq!(p[0].path, "simulation.sede");
        assert_eq!(p[0].line, Some(4));
        assert!(p[0].message.contains("sede"), "{p:?}");
    }

    #[test]
    fn a_missing_section_is_reported() {
        let p = errors("[[endpoints]]\n");
        assert!(p.iter().any(|p| p.message.contains("simulation")), "{p:?}");
    }

    #[test]
    fn a_missing_key_is_named_on_its_table() {
        let p = errors(&format!("{HEAD}[[endpoints]]\nconcurrency = 1\n"));
        assert_eq!(p[0].path, "endpoints[0]");
        assert_eq!(p[0].line, Some(4));
        assert!(p[0].message.contains("`name = ...`"), "{p:?}");
    }

    #[test]
    fn serde_type_names_become_user_terms() {
        assert_eq!(
            humanize("invalid type: string \"x\", expected u32\n"),
            "invalid type: string \"x\", expected a whole number, 0 or more"
        );
    }

    #[test]
    fn bad_chain_entries_are_each_named_once() {
        let src = format!(
            "{HEAD}[[tenants]]\nname = \"t\"\nclass = \"gold\"\nchain = [\"a\", 5, {{ endpoint = \"b\" }}]\nworkflows = []\n"
        );
        let p = errors(&src);
        let paths: Vec<&str> = p.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(paths, ["tenants[0].chain[1]", "tenants[0].chain[2]"], "{p:?}");
        assert!(p.iter().all(|p| p.line == Some(7)), "{p:?}");
        assert!(p[0].message.contains("expected an endpoint name"), "{p:?}");
    }

    #[test]
    fn inside_means_a_strict_descendant() {
        assert!(is_inside("tenants[0].chain[1]", "tenants[0].chain"));
        assert!(is_inside("tenants", ""));
        assert!(!is_inside("tenants[0].chainx", "tenants[0].chain"));
        assert!(!is_inside("tenants", "tenants"));
    }
}
