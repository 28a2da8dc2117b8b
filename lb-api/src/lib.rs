//! lb-api: the Octavia v2 compatible REST API. [`app`] builds the router over an [`AppState`]
//! so tests can drive it with `oneshot` without a server.

pub mod auth;
pub mod certs;
pub mod config;
pub mod controller;
pub mod error;
pub mod keystone;
pub mod model;
pub mod provider;
pub mod routes;
pub mod store;
#[cfg(test)]
mod testpg;
#[cfg(test)]
mod testutil;

use std::sync::Arc;

use axum::Router;
use tokio::sync::Mutex;

use crate::{
    config::Config,
    controller::{Controller, ControllerConfig, ControllerError},
    provider::{DriverHandle, noop::Noop},
    store::{Store, StoreError},
};

/// Everything a handler needs; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The source of truth.
    pub store: Arc<dyn Store>,
    /// Settings.
    pub config: Arc<Config>,
    /// Serialises mutations (test-and-set of provisioning states) within this process.
    pub lock: Arc<Mutex<()>>,
    /// The provider driver that completes changes.
    pub driver: DriverHandle,
}

impl AppState {
    /// State over `store` with the noop driver.
    pub fn new(store: Arc<dyn Store>, config: Config) -> Self {
        let lock = Arc::new(Mutex::new(()));
        let driver = Arc::new(Noop::new(store.clone(), lock.clone(), config.noop_delay));
        Self {
            store,
            config: Arc::new(config),
            lock,
            driver,
        }
    }

    /// Open the database at `url` (`sqlite:` created and migrated on first start, or
    /// `postgres://`; see [`store::open`]), and complete whatever a previous process left
    /// pending.
    pub async fn open(url: &str, config: Config) -> Result<Self, StoreError> {
        let store = store::open(url).await?;
        let lock = Arc::new(Mutex::new(()));
        Noop::new(store.clone(), lock.clone(), config.noop_delay)
            .resume()
            .await?;
        Ok(Self::new(store, config))
    }

    /// Open the database at `url` with the controller as the provider driver: it serves the
    /// amphora provider (the default) on registered hosts, completes `noop` load balancers
    /// itself, and resumes whatever a previous process left pending.
    pub async fn open_controlled(
        url: &str,
        config: Config,
        controller: ControllerConfig,
    ) -> Result<Self, ControllerError> {
        let store = open_store(url).await?;
        let lock = Arc::new(Mutex::new(()));
        let driver = Controller::new(store.clone(), lock.clone(), controller)?;
        driver.start().await?;
        Ok(Self {
            store,
            config: Arc::new(config),
            lock,
            driver: Arc::new(driver),
        })
    }
}

/// Opens (creating and migrating) the store at `url` (`sqlite://…` or `postgres://…`).
pub async fn open_store(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    store::open(url).await
}

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    routes::router(state)
}
