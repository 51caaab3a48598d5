//! Checks on the serving sub-tables (`upstream`, `auth`): only their form.
//! Whether the named environment variables are set is checked when the
//! gateway starts, not here: a scenario vetted on one machine is served on
//! another.

use super::Checker;
use crate::scenario::Scenario;

impl Checker<'_, '_> {
    pub(super) fn serving(&mut self, scenario: &Scenario) {
        for (i, e) in scenario.endpoints.iter().enumerate() {
            let Some(u) = &e.upstream else { continue };
            let path = format!("endpoints[{i}].upstream");
            let scheme_ok = u.base_url.starts_with("http://") || u.base_url.starts_with("https://");
            if !scheme_ok || u.base_url.len() <= "https://".len() {
                self.report(
                    format!("{path}.base_url"),
                    format!(
                        "{:?} is not an HTTP URL: expected e.g. \"https://api.openai.com/v1\" or \"http://127.0.0.1:9000/v1\"",
                        u.base_url
                    ),
                );
            }
            if let Some(name) = &u.api_key_env {
                self.env_name(format!("{path}.api_key_env"), name);
            }
            if u.model.as_deref().is_some_and(|m| m.trim().is_empty()) {
                self.report(
                    format!("{path}.model"),
                    "the model id is empty: expected the upstream's model name, or leave it out to send the endpoint's name".into(),
                );
            }
        }
        for (i, t) in scenario.tenants.iter().enumerate() {
            let Some(a) = &t.auth else { continue };
            let path = format!("tenants[{i}].auth");
            match (&a.api_key_env, &a.api_key_sha256) {
                (Some(name), None) => self.env_name(format!("{path}.api_key_env"), name),
                (None, Some(hex)) => {
                    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                        self.report(
                            format!("{path}.api_key_sha256"),
                            "not a SHA-256: expected 64 hexadecimal digits, e.g. the output of `printf %s \"$KEY\" | sha256sum`".into(),
                        );
                    }
                }
                _ => self.report(
                    path,
                    "expected exactly one of api_key_env (the environment variable holding the key) or api_key_sha256 (the key's SHA-256)".into(),
                ),
            }
        }
    }

    /// Reports a name that cannot be an environment variable's.
    fn env_name(&mut self, path: String, name: &str) {
        let ok = !name.is_empty()
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !ok {
            self.report(
                path,
                format!("{name:?} is not an environment variable name: expected letters, digits and _, e.g. \"OPENAI_API_KEY\""),
            );
        }
    }
}
