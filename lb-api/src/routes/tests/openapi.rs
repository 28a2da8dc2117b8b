//! The OpenAPI document at `/openapi.json`: valid JSON, every routed path documented (read
//! from the `.route("...")` calls in `src/`), every documented operation served.

use std::path::Path;

use serde_json::{Value, json};

use crate::testutil::TestApp;

/// `{anything}` → `{}`, so parameter names need not match.
fn normalize(path: &str) -> String {
    let re = regex::Regex::new(r"\{[^}]*\}").unwrap();
    re.replace_all(path, "{}").into_owned()
}

fn routed_paths(dir: &Path, out: &mut Vec<(String, String)>) {
    let re = regex::Regex::new(r#"\.route\(\s*"([^"]+)""#).unwrap();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            routed_paths(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            for c in re.captures_iter(&text).filter(|c| c[1].starts_with('/')) {
                out.push((path.display().to_string(), c[1].to_owned()));
            }
        }
    }
}

async fn document(app: &TestApp) -> Value {
    let (s, doc) = app.call("GET", "/openapi.json", None, None).await;
    assert_eq!(s, 200);
    doc
}

#[tokio::test]
async fn every_routed_path_is_documented() {
    let app = TestApp::new().await;
    let doc = document(&app).await;
    assert_eq!(doc["openapi"], "3.0.3");
    let documented: Vec<String> = doc["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(|p| normalize(p))
        .collect();
    let mut routed = Vec::new();
    routed_paths(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut routed,
    );
    assert!(routed.len() > 40, "found only {} routes", routed.len());
    let missing: Vec<String> = routed
        .iter()
        .filter(|(_, p)| !documented.iter().any(|d| d.ends_with(&normalize(p))))
        .map(|(file, p)| format!("{p} ({file})"))
        .collect();
    assert!(
        missing.is_empty(),
        "routed but not in openapi.json: {missing:#?}"
    );
}

#[tokio::test]
async fn every_documented_operation_is_served_under_each_prefix() {
    let app = TestApp::new().await;
    let doc = document(&app).await;
    let no_route = json!({"code": 404, "title": "Not Found", "description": ""});
    let param = regex::Regex::new(r"\{[^}]*\}").unwrap();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let concrete = param.replace_all(path, "x").into_owned();
        let mut uris = vec![concrete.clone()];
        if let Some(rest) = concrete.strip_prefix("/v2/lbaas") {
            uris.push(format!("/v2.0/lbaas{rest}"));
            uris.push(format!("/v2{rest}"));
        }
        for method in item.as_object().unwrap().keys() {
            let m = method.to_uppercase();
            let body = matches!(m.as_str(), "POST" | "PUT").then(|| json!({}));
            for uri in &uris {
                let (s, b) = app.call(&m, uri, None, body.clone()).await;
                assert!(s != 405 && b != no_route, "{m} {uri}: {s} {b}");
            }
        }
    }
}
