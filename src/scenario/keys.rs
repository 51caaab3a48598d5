//! The keys each table of a scenario accepts, and the unknown ones.
//!
//! An endpoint, a tenant and a workflow are each a router type flattened
//! beside the world's own fields ([`super::types`]). Serde cannot refuse
//! unknown keys there (`deny_unknown_fields` does not combine with
//! `flatten`, and `serde_ignored` does not see through it either), so this
//! module does it against the spanned syntax tree: a table's known keys are
//! the router type's fields, read from the type itself
//! ([`fields_of`]), plus the world's, listed here. A key in neither is an
//! error on its own line, with a hint when it is a spelling the scenario
//! used to have ([`RENAMED`]) or a near miss. Nested tables (a breaker, a
//! latency model) are plain structs whose own `deny_unknown_fields` still
//! applies.

use std::collections::BTreeSet;

use serde::de::{self, Deserialize, Deserializer, Visitor};
use toml::Spanned;
use toml::de::DeValue;

use super::Problem;
use super::spans::{SourceMap, line_of_offset};
use crate::policy::{EndpointPolicy, TenantPolicy, WorkflowPolicy};

/// The keys of an `[[endpoints]]` table that the simulated world (or, for
/// `upstream`, the gateway) reads (the rest are [`EndpointPolicy`]'s). A field added to
/// [`super::Endpoint`] must be listed here, or it is refused as unknown.
pub const ENDPOINT_WORLD_KEYS: &[&str] = &[
    "concurrency",
    "queue_limit",
    "error_probability",
    "error_latency",
    "latency",
    "outages",
    "provider_rpm",
    "provider_tpm",
    "background",
    "cost_per_million_input",
    "cost_per_million_output",
    "quality",
    "context_window",
    "upstream",
];

/// The keys of a `[[tenants]]` table beside [`TenantPolicy`]'s (whose own
/// `workflows` these replace). A field added to [`super::Tenant`] must be
/// listed here, or it is refused as unknown.
pub const TENANT_OWN_KEYS: &[&str] = &["workflows", "clauses", "auth"];

/// The keys of a `[[tenants.workflows]]` table that the workload reads
/// (the rest are [`WorkflowPolicy`]'s). A field added to
/// [`super::Workflow`] must be listed here, or it is refused as unknown.
pub const WORKFLOW_WORLD_KEYS: &[&str] = &[
    "rate",
    "diurnal",
    "weekly",
    "bursts",
    "batches",
    "deadline",
    "shape",
    "migration_tokens",
    "replay",
    "input_tokens",
    "output_tokens",
];

/// The kinds of table whose keys are checked here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Table {
    /// `[[endpoints]]`.
    Endpoint,
    /// `[[tenants]]`.
    Tenant,
    /// `[[tenants.workflows]]`.
    Workflow,
}

/// Keys earlier versions of the scenario format spelled differently:
/// (table, old key, what to write now).
pub const RENAMED: &[(Table, &str, &str)] = &[
    (
        Table::Endpoint,
        "max_in_flight",
        "`max_in_flight` is now `max_concurrency` (the router's cap on attempts in flight here; \
         default: the endpoint's `concurrency`)",
    ),
    (
        Table::Tenant,
        "max_attempts",
        "`max_attempts` is now `retry.max_attempts`: write e.g. retry = { max_attempts = 3 }",
    ),
    (
        Table::Tenant,
        "backoff",
        "`backoff` is now `retry.backoff`: write e.g. retry = { backoff = \"100ms\" }",
    ),
    (
        Table::Tenant,
        "jitter",
        "`jitter` is now `retry.jitter`: write e.g. retry = { jitter = 0.2 }",
    ),
];

impl Table {
    /// The router type's fields in this table (never including a key the
    /// scenario replaces, such as a tenant's `workflows`).
    pub fn router_keys(self) -> Vec<&'static str> {
        let all = match self {
            Table::Endpoint => fields_of::<EndpointPolicy>(),
            Table::Tenant => fields_of::<TenantPolicy>(),
            Table::Workflow => fields_of::<WorkflowPolicy>(),
        };
        all.iter().copied().filter(|k| !self.own_keys().contains(k)).collect()
    }

    /// The keys beside the router type's.
    pub fn own_keys(self) -> &'static [&'static str] {
        match self {
            Table::Endpoint => ENDPOINT_WORLD_KEYS,
            Table::Tenant => TENANT_OWN_KEYS,
            Table::Workflow => WORKFLOW_WORLD_KEYS,
        }
    }

    /// Every key the table accepts, sorted.
    pub fn known_keys(self) -> BTreeSet<&'static str> {
        self.router_keys()
            .into_iter()
            .chain(self.own_keys().iter().copied())
            .collect()
    }

    fn noun(self) -> &'static str {
        match self {
            Table::Endpoint => "an endpoint",
            Table::Tenant => "a tenant",
            Table::Workflow => "a workflow",
        }
    }
}

/// The field names a derived `Deserialize` of a plain struct declares
/// (empty for anything else): what it passes to `deserialize_struct`.
pub fn fields_of<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    let mut fields = None;
    let _ = T::deserialize(FieldNames(&mut fields));
    fields.unwrap_or(&[])
}

/// A deserializer that only records the field list it is asked for.
struct FieldNames<'a>(&'a mut Option<&'static [&'static str]>);

impl<'de> Deserializer<'de> for FieldNames<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("not a struct"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Self::Error> {
        *self.0 = Some(fields);
        Err(de::Error::custom("field names recorded"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map enum identifier ignored_any
    }
}

/// The same table with only the entries whose keys are in `keys`, spans
/// kept: the part of a flattened table one embedded type reads.
pub fn only<'s>(value: &Spanned<DeValue<'s>>, keys: &[&str]) -> Spanned<DeValue<'s>> {
    match value.get_ref() {
        DeValue::Table(table) => {
            let mut part = toml::de::DeTable::new();
            for (k, v) in table.iter() {
                if keys.contains(&k.get_ref().as_ref()) {
                    part.insert(k.clone(), v.clone());
                }
            }
            Spanned::new(value.span(), DeValue::Table(part))
        }
        _ => value.clone(),
    }
}

/// Every key of an endpoint, tenant or workflow table that no part of it
/// knows, each a problem on its own line.
pub fn unknown_keys(map: &SourceMap<'_>) -> Vec<Problem> {
    let mut problems = Vec::new();
    let DeValue::Table(root) = map.root().get_ref() else {
        return problems;
    };
    for (i, endpoint) in elements(root.get("endpoints")) {
        check(
            map,
            endpoint,
            &format!("endpoints[{i}]"),
            Table::Endpoint,
            &mut problems,
        );
    }
    for (i, tenant) in elements(root.get("tenants")) {
        let path = format!("tenants[{i}]");
        check(map, tenant, &path, Table::Tenant, &mut problems);
        let workflows = match tenant.get_ref() {
            DeValue::Table(t) => t.get("workflows"),
            _ => None,
        };
        for (j, workflow) in elements(workflows) {
            check(
                map,
                workflow,
                &format!("{path}.workflows[{j}]"),
                Table::Workflow,
                &mut problems,
            );
        }
    }
    problems
}

fn check(map: &SourceMap<'_>, value: &Spanned<DeValue<'_>>, path: &str, table: Table, out: &mut Vec<Problem>) {
    let DeValue::Table(entries) = value.get_ref() else {
        return;
    };
    let known = table.known_keys();
    for key in entries.keys() {
        let name: &str = key.get_ref().as_ref();
        if known.contains(name) {
            continue;
        }
        let line = Some(line_of_offset(map.source(), key.span().start));
        out.push(Problem::new(
            format!("{path}.{name}"),
            line,
            unknown_message(table, name, &known),
        ));
    }
}

/// What to say about key `name` in a `table`: its new spelling, else the
/// nearest known key and the whole list.
fn unknown_message(table: Table, name: &str, known: &BTreeSet<&'static str>) -> String {
    if let Some((_, _, now)) = RENAMED.iter().find(|(t, old, _)| *t == table && *old == name) {
        return now.to_string();
    }
    let keys: Vec<&str> = known.iter().copied().collect();
    let hint = match super::validate::closest(name, &keys) {
        Some(near) => format!(" (did you mean `{near}`?)"),
        None => String::new(),
    };
    let list = keys.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ");
    format!("unknown key `{name}`{hint}: expected a key of {}: {list}", table.noun())
}

/// The elements of an array value, numbered; nothing for anything else.
pub fn elements<'a, 's>(
    value: Option<&'a Spanned<DeValue<'s>>>,
) -> impl Iterator<Item = (usize, &'a Spanned<DeValue<'s>>)> {
    let items: &'a [Spanned<DeValue<'s>>] = match value.map(Spanned::get_ref) {
        Some(DeValue::Array(a)) => a,
        _ => &[],
    };
    items.iter().enumerate()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_router_types_field_lists_are_read_from_the_types() {
        let e = fields_of::<EndpointPolicy>();
        assert!(
            e.contains(&"max_concurrency") && e.contains(&"attempt_timeout"),
            "{e:?}"
        );
        let t = Table::Tenant.router_keys();
        assert!(t.contains(&"retry") && t.contains(&"chain"), "{t:?}");
        assert!(
            !t.contains(&"workflows"),
            "the scenario's own workflows replace the router's"
        );
        assert_eq!(fields_of::<u32>(), &[] as &[&str]);
    }

    #[test]
    fn world_keys_and_router_keys_never_overlap() {
        for table in [Table::Endpoint, Table::Tenant, Table::Workflow] {
            let router = table.router_keys();
            for own in table.own_keys() {
                assert!(
                    !router.contains(own),
                    "{table:?}: `{own}` is both the router's and the world's"
                );
            }
        }
    }

    #[test]
    fn every_old_spelling_is_unknown_now() {
        for (table, old, _) in RENAMED {
            assert!(!table.known_keys().contains(old), "{old} is still a key of {table:?}");
        }
    }

    #[test]
    fn an_unknown_key_is_named_with_its_line_and_a_near_miss() {
        let src = "[simulation]\nstart = \"2026-01-01\"\nduration = \"1d\"\n[[endpoints]]\nname = \"a\"\n\
                   concurency = 2\nmax_in_flight = 3\n[[tenants]]\nname = \"t\"\njitter = 0.1\n\
                   [[tenants.workflows]]\nname = \"w\"\nrat = 1\n";
        let map = SourceMap::parse(src);
        let p = unknown_keys(&map);
        let got: Vec<(&str, Option<usize>)> = p.iter().map(|p| (p.path.as_str(), p.line)).collect();
        assert_eq!(
            got,
            [
                ("endpoints[0].concurency", Some(6)),
                ("endpoints[0].max_in_flight", Some(7)),
                ("tenants[0].jitter", Some(10)),
                ("tenants[0].workflows[0].rat", Some(13)),
            ]
        );
        assert!(p[0].message.contains("did you mean `concurrency`?"), "{}", p[0].message);
        assert!(p[1].message.contains("is now `max_concurrency`"), "{}", p[1].message);
        assert!(p[2].message.contains("retry = { jitter = 0.2 }"), "{}", p[2].message);
        assert!(p[3].message.contains("did you mean `rate`?"), "{}", p[3].message);
    }
}
