//! The configuration every test and benchmark starts a BanGUI binary with.

use std::collections::HashMap;

use shared::config::{Config, Sources};

/// A configuration for the database at `url`: the API on a free loopback port, warnings
/// only in the log; `extra` adds or overrides `BANGUI_*` variables.
pub fn config(url: &str, extra: &[(&str, &str)]) -> Config {
    let mut env: HashMap<String, String> = HashMap::from([
        ("BANGUI_DATABASE_URL".into(), url.into()),
        ("BANGUI_API_ADDR".into(), "127.0.0.1:0".into()),
        ("BANGUI_LOG".into(), "warn".into()),
    ]);
    for (k, v) in extra {
        env.insert((*k).into(), (*v).into());
    }
    Config::from_sources(&Sources::from_env(env).expect("sources")).expect("config")
}
