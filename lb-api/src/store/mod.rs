//! Persistence: the [`Store`] trait (rows of typed JSON documents keyed by kind and id, with the
//! columns the API selects by) and typed helpers over it. All writes of one API call go through
//! one [`Store::commit`], which is a single transaction.

pub mod overlay;
pub mod postgres;
pub mod sqlite;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Serialize, de::DeserializeOwned};

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

/// `url` with any password replaced by `***`, for logs and error messages.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, tail) = rest
        .split_once('/')
        .map_or((rest, None), |(a, t)| (a, Some(t)));
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{user}:***@{host}"),
            None => authority.to_owned(),
        },
        None => authority.to_owned(),
    };
    match tail {
        Some(t) => format!("{scheme}://{authority}/{t}"),
        None => format!("{scheme}://{authority}"),
    }
}

/// Open the store a database URL names: `sqlite:` (file created and migrated on first start)
/// or `postgres://`/`postgresql://` (database must exist; tables created on first start).
pub async fn open(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::open(url).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PostgresStore::open(url).await?))
    } else {
        Err(StoreError::Scheme(
            url.split(':').next().unwrap_or_default().to_owned(),
        ))
    }
}

/// Failure inside the store; always a 500 to the client.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("unsupported database URL scheme `{0}:` (use sqlite: or postgres://)")]
    Scheme(String),
    #[error("corrupt {kind} row {id}: {source}")]
    Corrupt {
        kind: String,
        id: String,
        source: serde_json::Error,
    },
    #[error("encoding {kind}: {source}")]
    Encode {
        kind: &'static str,
        source: serde_json::Error,
    },
}

/// One stored object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub kind: String,
    pub id: String,
    pub project_id: Option<String>,
    pub lb_id: Option<String>,
    pub parent_id: Option<String>,
    pub created_at: String,
    pub body: String,
}

/// Which rows of one kind to return; `None` fields do not restrict.
#[derive(Debug, Clone, Default)]
pub struct Select {
    pub project_id: Option<String>,
    pub lb_id: Option<String>,
    pub parent_id: Option<String>,
}

impl Select {
    /// Everything of a kind.
    pub fn all() -> Self {
        Self::default()
    }

    /// Rows belonging to one load balancer (including the LB itself).
    pub fn lb(lb_id: &str) -> Self {
        Self {
            lb_id: Some(lb_id.to_owned()),
            ..Self::default()
        }
    }

    /// Rows owned by one project, or all when `None`.
    pub fn project(project_id: Option<&str>) -> Self {
        Self {
            project_id: project_id.map(str::to_owned),
            ..Self::default()
        }
    }
}

/// One write inside a [`Store::commit`].
#[derive(Debug, Clone)]
pub enum Change {
    /// Insert or replace.
    Put(Row),
    /// Remove if present.
    Delete { kind: &'static str, id: String },
}

/// The API's persistence. Rows come back ordered by `created_at, id`.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// One row by kind and id.
    async fn get(&self, kind: &str, id: &str) -> Result<Option<Row>, StoreError>;
    /// All rows of a kind matching `select`.
    async fn list(&self, kind: &str, select: &Select) -> Result<Vec<Row>, StoreError>;
    /// Apply all changes atomically.
    async fn commit(&self, changes: Vec<Change>) -> Result<(), StoreError>;
}

/// Implements [`Object`] from one expression per column, each over `$s` (the object):
/// `row_object!(Host, "amphora_host", |s| id = &s.id, project = None, lb = None,
/// parent = None, created = &s.created_at);`
macro_rules! row_object {
    ($t:ty, $kind:literal, |$s:ident| id = $id:expr, project = $project:expr, lb = $lb:expr,
     parent = $parent:expr, created = $created:expr $(,)?) => {
        impl $crate::store::Object for $t {
            const KIND: &'static str = $kind;
            fn id(&self) -> &str {
                let $s = self;
                $id
            }
            #[allow(unused_variables, reason = "some objects have no project")]
            fn project_id(&self) -> Option<&str> {
                let $s = self;
                $project
            }
            #[allow(unused_variables, reason = "some objects belong to no load balancer")]
            fn lb_id(&self) -> Option<&str> {
                let $s = self;
                $lb
            }
            #[allow(unused_variables, reason = "some objects have no parent")]
            fn parent_id(&self) -> Option<&str> {
                let $s = self;
                $parent
            }
            fn created_at(&self) -> &str {
                let $s = self;
                $created
            }
        }
    };
}
pub(crate) use row_object;

/// A typed object stored as one row.
pub trait Object: Serialize + DeserializeOwned + Send + Sync {
    /// The row kind.
    const KIND: &'static str;
    fn id(&self) -> &str;
    fn project_id(&self) -> Option<&str>;
    fn lb_id(&self) -> Option<&str>;
    fn parent_id(&self) -> Option<&str>;
    fn created_at(&self) -> &str;
}

fn decode<T: Object>(row: &Row) -> Result<T, StoreError> {
    serde_json::from_str(&row.body).map_err(|source| StoreError::Corrupt {
        kind: row.kind.clone(),
        id: row.id.clone(),
        source,
    })
}

/// Load one typed object.
pub async fn get<T: Object>(store: &dyn Store, id: &str) -> Result<Option<T>, StoreError> {
    match store.get(T::KIND, id).await? {
        Some(row) => decode(&row).map(Some),
        None => Ok(None),
    }
}

/// Load typed objects.
pub async fn list<T: Object>(store: &dyn Store, select: &Select) -> Result<Vec<T>, StoreError> {
    store
        .list(T::KIND, select)
        .await?
        .iter()
        .map(decode)
        .collect()
}

/// A `Put` change for a typed object.
pub fn put<T: Object>(object: &T) -> Result<Change, StoreError> {
    let body = serde_json::to_string(object).map_err(|source| StoreError::Encode {
        kind: T::KIND,
        source,
    })?;
    Ok(Change::Put(Row {
        kind: T::KIND.to_owned(),
        id: object.id().to_owned(),
        project_id: object.project_id().map(str::to_owned),
        lb_id: object.lb_id().map(str::to_owned),
        parent_id: object.parent_id().map(str::to_owned),
        created_at: object.created_at().to_owned(),
        body,
    }))
}

/// A `Delete` change for a typed object.
pub fn delete<T: Object>(id: &str) -> Change {
    Change::Delete {
        kind: T::KIND,
        id: id.to_owned(),
    }
}
