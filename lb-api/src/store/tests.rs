//! The same store test bodies on SQLite and on a private PostgreSQL server (see
//! `crate::testpg`): both back ends must behave identically.

use super::*;
use crate::testpg::PgServer;

fn r(kind: &str, id: &str, project: &str, lb: Option<&str>, parent: Option<&str>, at: &str) -> Row {
    Row {
        kind: kind.into(),
        id: id.into(),
        project_id: Some(project.into()),
        lb_id: lb.map(Into::into),
        parent_id: parent.map(Into::into),
        created_at: at.into(),
        body: format!("{{\"id\":\"{id}\"}}"),
    }
}

fn ids(rows: &[Row]) -> Vec<&str> {
    rows.iter().map(|r| r.id.as_str()).collect()
}

/// Put, get, list with each selector, ordering, replace, delete.
async fn round_trip(store: &dyn Store) {
    store
        .commit(vec![
            Change::Put(r(
                "lb",
                "b",
                "p1",
                Some("b"),
                None,
                "2026-01-01T00:00:02.000000",
            )),
            Change::Put(r(
                "lb",
                "a",
                "p2",
                Some("a"),
                None,
                "2026-01-01T00:00:01.000000",
            )),
            // Same timestamp: ties break by id, byte-wise ("B" < "a" < "c").
            Change::Put(r(
                "lb",
                "c",
                "p1",
                Some("c"),
                None,
                "2026-01-01T00:00:03.000000",
            )),
            Change::Put(r(
                "lb",
                "B",
                "p1",
                Some("B"),
                None,
                "2026-01-01T00:00:03.000000",
            )),
            Change::Put(r(
                "pool",
                "x",
                "p1",
                Some("b"),
                Some("l"),
                "2026-01-01T00:00:04.000000",
            )),
            Change::Put(r(
                "pool",
                "y",
                "p1",
                Some("b"),
                None,
                "2026-01-01T00:00:05.000000",
            )),
        ])
        .await
        .unwrap();
    assert_eq!(
        ids(&store.list("lb", &Select::all()).await.unwrap()),
        ["a", "b", "B", "c"]
    );
    assert_eq!(
        ids(&store
            .list("lb", &Select::project(Some("p1")))
            .await
            .unwrap()),
        ["b", "B", "c"]
    );
    assert_eq!(
        ids(&store.list("pool", &Select::lb("b")).await.unwrap()),
        ["x", "y"]
    );
    let by_parent = Select {
        parent_id: Some("l".into()),
        ..Select::all()
    };
    assert_eq!(ids(&store.list("pool", &by_parent).await.unwrap()), ["x"]);
    assert!(
        store
            .list("member", &Select::all())
            .await
            .unwrap()
            .is_empty()
    );

    // Replace keeps one row and updates every column.
    let mut moved = r(
        "pool",
        "x",
        "p9",
        Some("c"),
        None,
        "2026-01-01T00:00:04.000000",
    );
    moved.body = "{\"changed\":true}".into();
    store
        .commit(vec![Change::Put(moved.clone())])
        .await
        .unwrap();
    assert_eq!(store.get("pool", "x").await.unwrap(), Some(moved));
    assert_eq!(
        ids(&store.list("pool", &Select::lb("b")).await.unwrap()),
        ["y"]
    );

    // Kinds are separate key spaces; deleting an absent row is fine.
    assert!(store.get("lb", "x").await.unwrap().is_none());
    store
        .commit(vec![
            Change::Delete {
                kind: "lb",
                id: "a".into(),
            },
            Change::Delete {
                kind: "lb",
                id: "never".into(),
            },
        ])
        .await
        .unwrap();
    assert!(store.get("lb", "a").await.unwrap().is_none());
    assert_eq!(
        ids(&store.list("lb", &Select::all()).await.unwrap()),
        ["b", "B", "c"]
    );
}

/// Typed helpers over the trait: a real object survives the round trip unchanged.
async fn typed_objects(store: &dyn Store) {
    use crate::model::network::Network;
    let n: Network = serde_json::from_value(serde_json::json!({
        "id": "n1", "project_id": "p", "name": "private", "shared": true,
        "admin_state_up": true, "created_at": "2026-01-01T00:00:00.000000"
    }))
    .unwrap();
    store.commit(vec![put(&n).unwrap()]).await.unwrap();
    let back: Network = get(store, "n1").await.unwrap().unwrap();
    assert_eq!(
        serde_json::to_value(&back).unwrap(),
        serde_json::to_value(&n).unwrap()
    );
    assert_eq!(
        list::<Network>(store, &Select::all()).await.unwrap().len(),
        1
    );
    store.commit(vec![delete::<Network>("n1")]).await.unwrap();
    assert!(get::<Network>(store, "n1").await.unwrap().is_none());
}

async fn sqlite() -> (Arc<dyn Store>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    (open(&url).await.unwrap(), dir)
}

#[tokio::test]
async fn sqlite_round_trip() {
    let (store, _dir) = sqlite().await;
    round_trip(&*store).await;
}

#[tokio::test]
async fn sqlite_typed_objects() {
    let (store, _dir) = sqlite().await;
    typed_objects(&*store).await;
}

#[tokio::test]
async fn postgres_round_trip() {
    let Some(pg) = PgServer::start_or_skip("postgres_round_trip") else {
        return;
    };
    let url = pg.database("lb");
    round_trip(&*open(&url).await.unwrap()).await;
    // Reopening runs the migrations again without harm and keeps the data.
    let again = open(&url).await.unwrap();
    assert_eq!(
        ids(&again.list("lb", &Select::all()).await.unwrap()),
        ["b", "B", "c"]
    );
}

#[tokio::test]
async fn postgres_typed_objects() {
    let Some(pg) = PgServer::start_or_skip("postgres_typed_objects") else {
        return;
    };
    typed_objects(&*open(&pg.database("lb")).await.unwrap()).await;
}

#[tokio::test]
async fn postgres_server_directory_is_removed_on_drop() {
    let Some(pg) = PgServer::start_or_skip("postgres_server_directory_is_removed_on_drop") else {
        return;
    };
    let dir = pg.dir().to_owned();
    let port = pg.port();
    assert!(dir.join("data/PG_VERSION").is_file());
    drop(pg);
    assert!(!dir.exists(), "{} left behind", dir.display());
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "server still listening on {port}"
    );
}

#[tokio::test]
async fn unknown_url_scheme_is_an_error() {
    match open("mysql://x/y").await {
        Err(StoreError::Scheme(s)) => assert_eq!(s, "mysql"),
        Err(e) => panic!("wrong error {e}"),
        Ok(_) => panic!("mysql accepted"),
    }
}

#[test]
fn passwords_are_redacted_from_database_urls() {
    assert_eq!(
        redact("postgres://lb:s3cret@db.example:5432/lbapi?sslmode=require"),
        "postgres://lb:***@db.example:5432/lbapi?sslmode=require"
    );
    assert_eq!(redact("postgres://lb@db/lbapi"), "postgres://lb@db/lbapi");
    assert_eq!(
        redact("sqlite:///var/lib/lb/x.db"),
        "sqlite:///var/lib/lb/x.db"
    );
    assert_eq!(redact("sqlite::memory:"), "sqlite::memory:");
}
