//! [`Overlay`]: a [`Store`] that reads through to another store but keeps its own writes in
//! memory, so a sequence of API calls can be tried as one unit: if every call succeeds,
//! [`Overlay::changes`] is committed to the real store in one transaction; if one fails, the
//! overlay is dropped and nothing was written. Used by the single-call graph create.

use std::{collections::BTreeMap, sync::Arc};

use async_trait::async_trait;
use tokio::sync::Mutex;

use super::{Change, Row, Select, Store, StoreError};

/// (kind, id) → the row, or `None` when deleted; and the keys in first-write order.
type Writes = (
    BTreeMap<(String, String), Option<Row>>,
    Vec<(String, String)>,
);

/// Pending writes over a base store.
pub struct Overlay {
    base: Arc<dyn Store>,
    /// What the overlay holds instead of the base store.
    writes: Mutex<Writes>,
}

impl Overlay {
    /// An empty overlay over `base`.
    pub fn new(base: Arc<dyn Store>) -> Self {
        Self {
            base,
            writes: Mutex::new((BTreeMap::new(), Vec::new())),
        }
    }

    /// Every write, last state per row, in first-write order.
    pub async fn changes(&self) -> Vec<Change> {
        let guard = self.writes.lock().await;
        let (rows, order) = &*guard;
        order
            .iter()
            .filter_map(|key| {
                let change = match rows.get(key)? {
                    Some(row) => Change::Put(row.clone()),
                    None => Change::Delete {
                        kind: kind_static(&key.0)?,
                        id: key.1.clone(),
                    },
                };
                Some(change)
            })
            .collect()
    }
}

/// `Change::Delete` wants a static kind; every kind the API writes is one of these (a delete
/// of any other kind would be dropped from [`Overlay::changes`]; the graph create deletes
/// nothing).
fn kind_static(kind: &str) -> Option<&'static str> {
    const KINDS: [&str; 16] = [
        "loadbalancer",
        "listener",
        "pool",
        "member",
        "healthmonitor",
        "l7policy",
        "l7rule",
        "network",
        "subnet",
        "port",
        "quota",
        "stats",
        "flavor",
        "flavorprofile",
        "availability_zone",
        "availability_zone_profile",
    ];
    KINDS.iter().find(|k| **k == kind).copied()
}

fn selected(row: &Row, select: &Select) -> bool {
    [
        (&select.project_id, &row.project_id),
        (&select.lb_id, &row.lb_id),
        (&select.parent_id, &row.parent_id),
    ]
    .iter()
    .all(|(want, have)| want.is_none() || want == have)
}

#[async_trait]
impl Store for Overlay {
    async fn get(&self, kind: &str, id: &str) -> Result<Option<Row>, StoreError> {
        if let Some(found) = self
            .writes
            .lock()
            .await
            .0
            .get(&(kind.to_owned(), id.to_owned()))
        {
            return Ok(found.clone());
        }
        self.base.get(kind, id).await
    }

    async fn list(&self, kind: &str, select: &Select) -> Result<Vec<Row>, StoreError> {
        let base = self.base.list(kind, select).await?;
        let guard = self.writes.lock().await;
        let rows = &guard.0;
        let mut out: Vec<Row> = base
            .into_iter()
            .filter(|r| !rows.contains_key(&(r.kind.clone(), r.id.clone())))
            .collect();
        out.extend(
            rows.iter()
                .filter(|((k, _), _)| k == kind)
                .filter_map(|(_, row)| row.clone())
                .filter(|row| selected(row, select)),
        );
        out.sort_by(|a, b| {
            (a.created_at.as_bytes(), a.id.as_bytes())
                .cmp(&(b.created_at.as_bytes(), b.id.as_bytes()))
        });
        Ok(out)
    }

    async fn commit(&self, changes: Vec<Change>) -> Result<(), StoreError> {
        let mut guard = self.writes.lock().await;
        let (rows, order) = &mut *guard;
        for change in changes {
            let (key, value) = match change {
                Change::Put(row) => ((row.kind.clone(), row.id.clone()), Some(row)),
                Change::Delete { kind, id } => ((kind.to_owned(), id), None),
            };
            if !rows.contains_key(&key) {
                order.push(key.clone());
            }
            rows.insert(key, value);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SqliteStore;

    fn row(kind: &str, id: &str, at: &str) -> Row {
        Row {
            kind: kind.into(),
            id: id.into(),
            project_id: Some("p".into()),
            lb_id: Some("lb".into()),
            parent_id: None,
            created_at: at.into(),
            body: "{}".into(),
        }
    }

    #[tokio::test]
    async fn writes_stay_in_the_overlay_until_committed_elsewhere() {
        let base: Arc<dyn Store> = Arc::new(SqliteStore::open("sqlite::memory:").await.unwrap());
        base.commit(vec![
            Change::Put(row("pool", "a", "1")),
            Change::Put(row("pool", "c", "3")),
        ])
        .await
        .unwrap();
        let o = Overlay::new(base.clone());
        o.commit(vec![
            Change::Put(row("pool", "b", "2")),
            Change::Delete {
                kind: "pool",
                id: "c".into(),
            },
        ])
        .await
        .unwrap();
        let ids: Vec<String> = o
            .list("pool", &Select::lb("lb"))
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(ids, ["a", "b"]);
        assert!(o.get("pool", "c").await.unwrap().is_none());
        assert_eq!(
            base.list("pool", &Select::all()).await.unwrap().len(),
            2,
            "base untouched"
        );
        base.commit(o.changes().await).await.unwrap();
        let ids: Vec<String> = base
            .list("pool", &Select::all())
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(ids, ["a", "b"]);
    }
}
