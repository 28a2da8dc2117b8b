//! [`Config`]: the API's settings (Octavia's `[api_settings]` subset we honour).

use std::time::Duration;

/// Provider drivers this server offers: (name, description). The first is the default,
/// as Octavia's `default_provider_driver = amphora`.
pub const PROVIDERS: [(&str, &str); 3] = [
    ("amphora", "The Octavia Amphora driver."),
    ("octavia", "Deprecated alias of the Octavia Amphora driver."),
    (
        "noop",
        "The no-op driver: completes every change without any agent.",
    ),
];

/// Settings that change behaviour.
#[derive(Debug, Clone)]
pub struct Config {
    /// Provider used when a load balancer names none.
    pub default_provider: String,
    /// How long the noop provider waits before completing a change.
    pub noop_delay: Duration,
    /// Page size default and cap (`[api_settings] pagination_max_limit`).
    pub pagination_max_limit: usize,
    /// noauth: project for requests that carry no `X-Project-Id` (Octavia has none: such
    /// creates fail with 400 unless the body names `project_id`).
    pub noauth_default_project: Option<String>,
    /// Quotas of projects that have none stored (`[quotas] default_*_quota`; −1 = unlimited).
    pub quota_defaults: crate::model::quota::Limits,
    /// How requests are authenticated (`noauth` headers or Keystone tokens).
    pub auth: crate::auth::AuthMode,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            default_provider: PROVIDERS[0].0.to_owned(),
            noop_delay: Duration::from_millis(100),
            pagination_max_limit: 1000,
            noauth_default_project: None,
            quota_defaults: crate::model::quota::Limits::default(),
            auth: crate::auth::AuthMode::Noauth,
        }
    }
}

impl Config {
    /// Whether `name` is an enabled provider.
    pub fn provider_enabled(name: &str) -> bool {
        PROVIDERS.iter().any(|(n, _)| *n == name)
    }
}
