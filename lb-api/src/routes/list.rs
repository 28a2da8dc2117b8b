//! Octavia's list semantics over rendered objects (`api/common/pagination.py`): attribute
//! filters, tag filters, `sort`/`sort_key`+`sort_dir`, `limit`/`marker`/`page_reverse`,
//! `fields`, and the `<plural>_links` with `next`/`previous`.

use std::cmp::Ordering;

use axum::http::HeaderMap;
use serde_json::{Map, Value, json};

use crate::{
    error::{ApiError, ApiResult},
    model::input::parse_bool_str,
};

/// Query parameters as sent (repeated keys kept).
pub type Params = Vec<(String, String)>;

/// What a list call needs to know about its resource.
pub struct ListSpec<'a> {
    /// Collection key, e.g. `loadbalancers`.
    pub plural: &'a str,
    /// Attributes accepted as filters and sort keys.
    pub filters: &'a [&'a str],
    /// Request path, for the links.
    pub path: &'a str,
    /// Page size cap.
    pub max_limit: usize,
    /// Keys present only for filtering (e.g. a listener's `loadbalancer_id`), removed from
    /// the output.
    pub hidden: &'a [&'a str],
}

fn invalid_args() -> ApiError {
    ApiError::bad("One or more arguments are either duplicate or invalid")
}

fn split_values<'a>(params: &'a Params, key: &str) -> Vec<&'a str> {
    params
        .iter()
        .filter(|(k, _)| k == key)
        .flat_map(|(_, v)| v.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

fn matches(value: Option<&Value>, wanted: &str) -> bool {
    match value {
        Some(Value::String(s)) => s == wanted,
        Some(Value::Bool(b)) => parse_bool_str(wanted) == Some(*b),
        Some(Value::Number(n)) => {
            n.to_string() == wanted || wanted.parse::<f64>().ok() == n.as_f64()
        }
        Some(Value::Null) | None => false,
        Some(other) => *other == Value::String(wanted.to_owned()),
    }
}

fn compare(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    match (a, b) {
        (Some(Value::Number(x)), Some(Value::Number(y))) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Some(Value::String(x)), Some(Value::String(y))) => x.cmp(y),
        (Some(Value::Bool(x)), Some(Value::Bool(y))) => x.cmp(y),
        (None | Some(Value::Null), None | Some(Value::Null)) => Ordering::Equal,
        (None | Some(Value::Null), _) => Ordering::Less,
        (_, None | Some(Value::Null)) => Ordering::Greater,
        (Some(x), Some(y)) => x.to_string().cmp(&y.to_string()),
    }
}

fn sort_keys(params: &Params, spec: &ListSpec<'_>) -> ApiResult<Vec<(String, bool)>> {
    let mut keys: Vec<(String, bool)> = Vec::new();
    let check_dir = |d: &str| match d {
        "asc" => Ok(false),
        "desc" => Ok(true),
        // Raised in Octavia's pagination hook, hence pecan's body shape (as a bad limit).
        other => Err(ApiError::PecanBadRequest(format!(
            "Supplied sort direction '{other}' is not valid."
        ))),
    };
    let sort = split_values(params, "sort");
    if sort.is_empty() {
        let dirs = split_values(params, "sort_dir");
        for (i, k) in split_values(params, "sort_key").into_iter().enumerate() {
            let desc = dirs.get(i).map_or(Ok(false), |d| check_dir(d))?;
            keys.push((k.to_owned(), desc));
        }
    } else {
        for item in sort {
            let (k, d) = item.split_once(':').unwrap_or((item, "asc"));
            keys.push((k.to_owned(), check_dir(d)?));
        }
    }
    for (k, _) in &keys {
        if !spec.filters.contains(&k.as_str()) {
            return Err(ApiError::bad(format!(
                "Supplied sort key '{k}' is not valid."
            )));
        }
    }
    for tie in ["created_at", "id"] {
        if !keys.iter().any(|(k, _)| k == tie) {
            keys.push((tie.to_owned(), false));
        }
    }
    Ok(keys)
}

const RESERVED: [&str; 11] = [
    "limit",
    "marker",
    "page_reverse",
    "sort",
    "sort_key",
    "sort_dir",
    "fields",
    "tags",
    "tags-any",
    "not-tags",
    "not-tags-any",
];

fn tag_filter(item: &Value, params: &Params) -> bool {
    let tags: Vec<&str> = item["tags"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let has = |t: &&str| tags.contains(t);
    let all = split_values(params, "tags");
    let any = split_values(params, "tags-any");
    let not_all = split_values(params, "not-tags");
    let not_any = split_values(params, "not-tags-any");
    all.iter().all(has)
        && (any.is_empty() || any.iter().any(has))
        && (not_all.is_empty() || !not_all.iter().all(has))
        && !not_any.iter().any(has)
}

/// The request's `scheme://host` (honouring `X-Forwarded-Proto`).
pub fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost:9876");
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .filter(|s| *s == "https" || *s == "http")
        .unwrap_or("http");
    format!("{scheme}://{host}")
}

/// Filter, sort, page and project `items`; returns the list body with its links.
pub fn respond(
    items: Vec<Value>,
    params: &Params,
    spec: &ListSpec<'_>,
    base: &str,
) -> ApiResult<Value> {
    // Attribute filters: known keys only, each at most once.
    let mut filters: Vec<(&str, &str)> = Vec::new();
    for (k, v) in params {
        if RESERVED.contains(&k.as_str()) {
            continue;
        }
        if !spec.filters.contains(&k.as_str()) || filters.iter().any(|(fk, _)| fk == k) {
            return Err(invalid_args());
        }
        filters.push((k, v));
    }
    let limit = match params.iter().rev().find(|(k, _)| k == "limit") {
        None => spec.max_limit,
        Some((_, v)) if v.eq_ignore_ascii_case("infinite") => usize::MAX,
        Some((_, v)) => match v.parse::<i64>() {
            Ok(n) if n <= 0 => usize::MAX,
            Ok(n) => usize::try_from(n).unwrap_or(usize::MAX).min(spec.max_limit),
            Err(_) => {
                return Err(ApiError::PecanBadRequest(format!(
                    "Supplied pagination limit '{v}' is not valid."
                )));
            }
        },
    };
    let keys = sort_keys(params, spec)?;
    let mut items: Vec<Value> = items
        .into_iter()
        .filter(|item| filters.iter().all(|(k, v)| matches(item.get(*k), v)))
        .filter(|item| tag_filter(item, params))
        .collect();
    items.sort_by(|a, b| {
        keys.iter().fold(Ordering::Equal, |acc, (k, desc)| {
            acc.then_with(|| {
                let o = compare(a.get(k), b.get(k));
                if *desc { o.reverse() } else { o }
            })
        })
    });
    let marker = params
        .iter()
        .find(|(k, _)| k == "marker")
        .map(|(_, v)| v.as_str());
    let reverse = params
        .iter()
        .find(|(k, _)| k == "page_reverse")
        .is_some_and(|(_, v)| parse_bool_str(v) == Some(true));
    let page: Vec<Value> = match marker {
        None => items.into_iter().take(limit).collect(),
        Some(m) => {
            let at = items.iter().position(|i| i["id"] == m).ok_or_else(|| {
                ApiError::bad(format!("Supplied pagination marker '{m}' is not valid."))
            })?;
            if reverse {
                let start = at.saturating_sub(limit);
                items[start..at].to_vec()
            } else {
                items.into_iter().skip(at + 1).take(limit).collect()
            }
        }
    };
    let mut links = Vec::new();
    if limit != usize::MAX {
        let sort_echo: String = params
            .iter()
            .filter(|(k, _)| matches!(k.as_str(), "sort" | "sort_key" | "sort_dir"))
            .map(|(k, v)| format!("&{k}={v}"))
            .collect();
        let href = |marker: &Value, rev: bool| {
            format!(
                "{base}{}?limit={limit}{sort_echo}&marker={}{}",
                spec.path,
                marker.as_str().unwrap_or_default(),
                if rev { "&page_reverse=True" } else { "" }
            )
        };
        // Octavia lists `previous` before `next`.
        if marker.is_some()
            && let Some(first) = page.first()
        {
            links.push(json!({"href": href(&first["id"], true), "rel": "previous"}));
        }
        if page.len() == limit
            && let Some(last) = page.last()
        {
            links.push(json!({"href": href(&last["id"], false), "rel": "next"}));
        }
    }
    let page: Vec<Value> = page
        .into_iter()
        .map(|mut item| {
            if let Some(m) = item.as_object_mut() {
                for h in spec.hidden {
                    m.remove(*h);
                }
            }
            item
        })
        .collect();
    let fields = split_values(params, "fields");
    let page: Vec<Value> = if fields.is_empty() {
        page
    } else {
        page.into_iter()
            .map(|item| {
                let mut m = Map::new();
                for f in &fields {
                    if let Some(v) = item.get(*f) {
                        m.insert((*f).to_owned(), v.clone());
                    }
                }
                Value::Object(m)
            })
            .collect()
    };
    let mut body = Map::new();
    body.insert(spec.plural.to_owned(), Value::Array(page));
    body.insert(format!("{}_links", spec.plural), Value::Array(links));
    Ok(Value::Object(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items() -> Vec<Value> {
        (1..=5)
            .map(|i| {
                json!({"id": format!("id{i}"), "name": format!("n{}", i % 2), "created_at": format!("t{i}"),
                       "admin_state_up": i != 3, "weight": 10 - i, "tags": if i == 1 { json!(["a","b"]) } else { json!(["b"]) }})
            })
            .collect()
    }

    fn params(q: &[(&str, &str)]) -> Params {
        q.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn run(q: &[(&str, &str)]) -> ApiResult<Value> {
        let spec = ListSpec {
            plural: "things",
            filters: &["id", "name", "created_at", "admin_state_up", "weight"],
            path: "/v2/things",
            max_limit: 1000,
            hidden: &[],
        };
        respond(items(), &params(q), &spec, "http://h")
    }

    fn ids(v: &Value) -> Vec<&str> {
        v["things"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap())
            .collect()
    }

    #[test]
    fn filters_sort_and_fields() {
        assert_eq!(ids(&run(&[("name", "n1")]).unwrap()), ["id1", "id3", "id5"]);
        assert_eq!(ids(&run(&[("admin_state_up", "false")]).unwrap()), ["id3"]);
        assert_eq!(ids(&run(&[("weight", "7")]).unwrap()), ["id3"]);
        assert_eq!(
            ids(&run(&[("sort", "weight:asc")]).unwrap()),
            ["id5", "id4", "id3", "id2", "id1"]
        );
        assert_eq!(
            ids(&run(&[("sort_key", "name"), ("sort_dir", "desc")]).unwrap()),
            ["id1", "id3", "id5", "id2", "id4"]
        );
        assert_eq!(ids(&run(&[("tags", "a,b")]).unwrap()), ["id1"]);
        assert_eq!(ids(&run(&[("not-tags-any", "a")]).unwrap()).len(), 4);
        let v = run(&[("fields", "id"), ("fields", "name"), ("id", "id2")]).unwrap();
        assert_eq!(v["things"], json!([{"id": "id2", "name": "n0"}]));
        assert!(run(&[("bogus", "1")]).is_err());
        assert!(run(&[("name", "a"), ("name", "b")]).is_err());
        assert_eq!(
            run(&[("sort", "bogus")]).unwrap_err().to_string(),
            "Supplied sort key 'bogus' is not valid."
        );
    }

    #[test]
    fn pagination_links() {
        let v = run(&[("limit", "2")]).unwrap();
        assert_eq!(ids(&v), ["id1", "id2"]);
        assert_eq!(
            v["things_links"],
            json!([{"href": "http://h/v2/things?limit=2&marker=id2", "rel": "next"}])
        );
        let v = run(&[("limit", "2"), ("marker", "id2")]).unwrap();
        assert_eq!(ids(&v), ["id3", "id4"]);
        assert_eq!(
            v["things_links"],
            json!([
                {"href": "http://h/v2/things?limit=2&marker=id3&page_reverse=True", "rel": "previous"},
                {"href": "http://h/v2/things?limit=2&marker=id4", "rel": "next"},
            ])
        );
        let v = run(&[("limit", "2"), ("marker", "id3"), ("page_reverse", "True")]).unwrap();
        assert_eq!(ids(&v), ["id1", "id2"]);
        let v = run(&[("limit", "2"), ("marker", "id4")]).unwrap();
        assert_eq!(ids(&v), ["id5"]);
        assert!(matches!(
            run(&[("limit", "abc")]),
            Err(ApiError::PecanBadRequest(_))
        ));
        assert!(run(&[("marker", "nope")]).is_err());
        assert_eq!(run(&[]).unwrap()["things_links"], json!([]));
    }
}
