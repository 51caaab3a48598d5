//! `import-litellm --scenario` and the router part it writes without it:
//! whatever LiteLLM config the importer accepts, the whole scenario it
//! renders must load (`scenario::parse`, as `slaplan run` reads it), and
//! the router part must read back as a router configuration. A rendering
//! that does not is a bug (the command would fail on a config it accepted),
//! so this target panics on it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use slaplan::import::{litellm, render};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(import) = litellm::parse(text, "fuzz.yaml") else {
        return;
    };
    let scenario = render::scenario(&import, "fuzz.yaml");
    if let Err(e) = slaplan::scenario::parse(&scenario, std::path::Path::new("scenario.toml")) {
        panic!("an accepted config rendered a scenario that does not load: {e}\n{scenario}");
    }
    let part = render::router_part(&import, "fuzz.yaml");
    if let Err(e) = render::parse_router_part(&part) {
        panic!("an accepted config rendered a router part that does not read back: {e}\n{part}");
    }
});
