//! Scenario types used only when the scenario is served (`slaplan serve`):
//! where each endpoint's upstream is and how each tenant proves who it is.
//!
//! Both are optional sub-tables (`upstream = { ... }` on an endpoint,
//! `auth = { ... }` on a tenant) that the simulator ignores. Secrets are never
//! written here: only the *names* of environment variables that hold them, or
//! a SHA-256 of a tenant's key.

use serde::{Deserialize, Serialize};

/// The OpenAI-compatible server behind an endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Upstream {
    /// Base URL up to and including the API version path, e.g.
    /// `"https://api.openai.com/v1"` or `"http://127.0.0.1:9000/v1"`;
    /// requests go to `<base_url>/chat/completions`. For Azure OpenAI, the
    /// deployment's URL, e.g.
    /// `"https://NAME.openai.azure.com/openai/deployments/DEPLOYMENT"`.
    pub base_url: String,
    /// The model id sent upstream in the body's `model` (default: the
    /// endpoint's name).
    #[serde(default)]
    pub model: Option<String>,
    /// The environment variable holding the upstream's API key (none: no
    /// key is sent). Sent as `Authorization: Bearer`, or as `api-key` when
    /// `api_version` is set (Azure).
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// Azure OpenAI's `api-version` query parameter, e.g. `"2024-10-21"`.
    #[serde(default)]
    pub api_version: Option<String>,
}

/// How a tenant's API key is recognised: exactly one of the two.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantAuth {
    /// The environment variable holding the tenant's key.
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// The SHA-256 of the tenant's key, as 64 hexadecimal digits.
    #[serde(default)]
    pub api_key_sha256: Option<String>,
}
