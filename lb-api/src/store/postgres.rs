//! [`PostgresStore`]: the [`Store`] on PostgreSQL through sqlx (runtime queries), for a control
//! plane that keeps its state outside the API host. Same table and semantics as
//! [`super::SqliteStore`]: the schema comes from the same embedded migrations (plain SQL both
//! databases accept), rows come back ordered by `created_at, id` compared byte-wise (`COLLATE
//! "C"`, whatever the database's locale), and one [`Store::commit`] is one transaction.

use async_trait::async_trait;
use sqlx::{
    PgPool, Row as _,
    postgres::{PgPoolOptions, PgRow},
};

use super::{Change, Row, Select, Store, StoreError};

/// PostgreSQL-backed store.
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connect to `url` (`postgres://user[:password]@host[:port]/database`, or `postgresql://`)
    /// and migrate. The database must exist; the tables are created on first start.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(std::time::Duration::from_secs(10))
            .connect(url)
            .await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Self { pool })
    }
}

fn row(r: &PgRow) -> Result<Row, sqlx::Error> {
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
impl Store for PostgresStore {
    async fn get(&self, kind: &str, id: &str) -> Result<Option<Row>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM objects WHERE kind = $1 AND id = $2");
        let found = sqlx::query(&sql)
            .bind(kind)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(found.as_ref().map(row).transpose()?)
    }

    async fn list(&self, kind: &str, select: &Select) -> Result<Vec<Row>, StoreError> {
        let mut sql = format!("SELECT {COLUMNS} FROM objects WHERE kind = $1");
        let mut binds = Vec::new();
        for (column, value) in [
            ("project_id", &select.project_id),
            ("lb_id", &select.lb_id),
            ("parent_id", &select.parent_id),
        ] {
            if let Some(v) = value {
                binds.push(v.as_str());
                sql.push_str(&format!(" AND {column} = ${}", binds.len() + 1));
            }
        }
        sql.push_str(r#" ORDER BY created_at COLLATE "C", id COLLATE "C""#);
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
                        "INSERT INTO objects ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                         ON CONFLICT (kind, id) DO UPDATE SET project_id = EXCLUDED.project_id, \
                         lb_id = EXCLUDED.lb_id, parent_id = EXCLUDED.parent_id, \
                         created_at = EXCLUDED.created_at, body = EXCLUDED.body"
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
                    sqlx::query("DELETE FROM objects WHERE kind = $1 AND id = $2")
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
