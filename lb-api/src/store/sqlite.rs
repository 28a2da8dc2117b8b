//! [`SqliteStore`]: the [`Store`] on SQLite through sqlx (runtime queries), schema from the
//! embedded migrations in `lb-api/migrations/`, database file created on first start.

use std::str::FromStr as _;

use async_trait::async_trait;
use sqlx::{
    Row as _, SqlitePool,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow},
};

use super::{Change, Row, Select, Store, StoreError};

/// SQLite-backed store.
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Open (creating the file if needed) and migrate. `url` is `sqlite://path` or
    /// `sqlite::memory:` (in-memory: one connection, so every query sees the same database).
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let memory = url.contains(":memory:") || url.contains("mode=memory");
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .foreign_keys(true)
            .busy_timeout(std::time::Duration::from_secs(5));
        let options = if memory {
            options
        } else {
            options.journal_mode(SqliteJournalMode::Wal)
        };
        let pool = SqlitePoolOptions::new()
            .max_connections(if memory { 1 } else { 4 })
            .min_connections(if memory { 1 } else { 0 })
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Self { pool })
    }
}

fn row(r: &SqliteRow) -> Result<Row, sqlx::Error> {
    Ok(Row {
        kind: r.try_get("kind")?,
        id: r.try_get("id")?,
        project_id: r.try_get("project_id")?,
        lb_id: r.try_get("lb_id")?,
        parent_id: r.try_get("parent_id")?,
        created_at: r.try_get("created_at")?,
        body: r.try_get("body")?,
    })
}

const COLUMNS: &str = "kind, id, project_id, lb_id, parent_id, created_at, body";

#[async_trait]
impl Store for SqliteStore {
    async fn get(&self, kind: &str, id: &str) -> Result<Option<Row>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM objects WHERE kind = ? AND id = ?");
        let found = sqlx::query(&sql)
            .bind(kind)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(found.as_ref().map(row).transpose()?)
    }

    async fn list(&self, kind: &str, select: &Select) -> Result<Vec<Row>, StoreError> {
        let mut sql = format!("SELECT {COLUMNS} FROM objects WHERE kind = ?");
        let mut binds = Vec::new();
        for (column, value) in [
            ("project_id", &select.project_id),
            ("lb_id", &select.lb_id),
            ("parent_id", &select.parent_id),
        ] {
            if let Some(v) = value {
                sql.push_str(&format!(" AND {column} = ?"));
                binds.push(v.as_str());
            }
        }
        sql.push_str(" ORDER BY created_at, id");
        let mut query = sqlx::query(&sql).bind(kind);
        for b in binds {
            query = query.bind(b);
        }
        let rows = query.fetch_all(&self.pool).await?;
        Ok(rows.iter().map(row).collect::<Result<_, _>>()?)
    }

    async fn commit(&self, changes: Vec<Change>) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for change in changes {
            match change {
                Change::Put(r) => {
                    sqlx::query(&format!(
                        "INSERT OR REPLACE INTO objects ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)"
                    ))
                    .bind(r.kind)
                    .bind(r.id)
                    .bind(r.project_id)
                    .bind(r.lb_id)
                    .bind(r.parent_id)
                    .bind(r.created_at)
                    .bind(r.body)
                    .execute(&mut *tx)
                    .await?;
                }
                Change::Delete { kind, id } => {
                    sqlx::query("DELETE FROM objects WHERE kind = ? AND id = ?")
                        .bind(kind)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                }
            }
        }
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(kind: &str, id: &str, lb: &str, at: &str) -> Row {
        Row {
            kind: kind.into(),
            id: id.into(),
            project_id: Some("p".into()),
            lb_id: Some(lb.into()),
            parent_id: None,
            created_at: at.into(),
            body: "{}".into(),
        }
    }

    #[tokio::test]
    async fn file_database_is_created_migrated_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("sub.db").display());
        let store = SqliteStore::open(&url).await.unwrap();
        store
            .commit(vec![
                Change::Put(r("lb", "b", "b", "2")),
                Change::Put(r("lb", "a", "a", "1")),
                Change::Put(r("listener", "l", "a", "3")),
            ])
            .await
            .unwrap();
        let lbs = store.list("lb", &Select::all()).await.unwrap();
        assert_eq!(
            lbs.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            ["a", "b"]
        );
        assert_eq!(
            store
                .list("listener", &Select::lb("a"))
                .await
                .unwrap()
                .len(),
            1
        );
        store
            .commit(vec![Change::Delete {
                kind: "lb",
                id: "a".into(),
            }])
            .await
            .unwrap();
        assert!(store.get("lb", "a").await.unwrap().is_none());
        drop(store);
        // Reopening runs the migrations again without harm and keeps the data.
        let store = SqliteStore::open(&url).await.unwrap();
        assert_eq!(
            store.get("lb", "b").await.unwrap(),
            Some(r("lb", "b", "b", "2"))
        );
    }
}
