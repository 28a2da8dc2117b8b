//! Keystone v3 token validation, as keystonemiddleware `auth_token` does it:
//! `GET /v3/auth/tokens` with `X-Auth-Token: <service token>` and `X-Subject-Token: <user token>`.
//! The service token comes from password auth with the configured service user; without service
//! credentials the user's token validates itself (Keystone's `identity:validate_token` allows the
//! token's own subject). Valid tokens are cached for at most [`CACHE_TTL`] (never past their
//! expiry), in a map of at most [`CACHE_MAX`] entries.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, StatusCode, body::Bytes};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use time::{OffsetDateTime, format_description::well_known::Rfc3339};
use tokio::{net::TcpStream, sync::Mutex};

/// How long a validated token is trusted without asking Keystone again.
pub const CACHE_TTL: Duration = Duration::from_secs(60);
/// Most tokens cached at once.
pub const CACHE_MAX: usize = 4096;
const TIMEOUT: Duration = Duration::from_secs(10);

/// Validation failures.
#[derive(Debug, thiserror::Error)]
pub enum KeystoneError {
    /// Keystone says the token is not valid (expired, revoked, unknown).
    #[error("invalid token")]
    InvalidToken,
    /// The URL given is not `http://HOST:PORT[/PATH]`.
    #[error("unsupported Keystone URL {url}: expected http://HOST:PORT/v3")]
    BadUrl { url: String },
    /// Keystone could not be reached or answered nonsense.
    #[error("keystone at {url}: {detail}")]
    Unavailable { url: String, detail: String },
}

/// The caller a token stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The project the token is scoped to.
    pub project_id: Option<String>,
    /// Role names on that project (implied roles included, as Keystone lists them).
    pub roles: Vec<String>,
}

/// Service credentials (keystonemiddleware's `[keystone_authtoken] username/password/project_name`,
/// all in domain `Default`).
#[derive(Debug, Clone)]
pub struct ServiceCredentials {
    /// User name.
    pub user: String,
    /// Its password.
    pub password: String,
    /// Project name the service token is scoped to.
    pub project: String,
}

/// A Keystone v3 endpoint with a token cache.
pub struct Keystone {
    url: String,
    authority: String,
    base_path: String,
    service: Option<ServiceCredentials>,
    service_token: Mutex<Option<(String, Instant)>>,
    cache: Mutex<HashMap<String, (Identity, Instant)>>,
}

impl std::fmt::Debug for Keystone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keystone")
            .field("url", &self.url)
            .field("service_user", &self.service.as_ref().map(|s| &s.user))
            .finish_non_exhaustive()
    }
}

impl Keystone {
    /// A client of the Keystone v3 API at `url` (`http://HOST:PORT/v3`).
    pub fn new(url: &str, service: Option<ServiceCredentials>) -> Result<Self, KeystoneError> {
        let bad = || KeystoneError::BadUrl {
            url: url.to_owned(),
        };
        let rest = url.strip_prefix("http://").ok_or_else(bad)?;
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        if authority.is_empty() || !authority.contains(':') {
            return Err(bad());
        }
        let path = path.trim_end_matches('/');
        Ok(Self {
            url: url.trim_end_matches('/').to_owned(),
            authority: authority.to_owned(),
            base_path: if path.is_empty() {
                String::new()
            } else {
                format!("/{path}")
            },
            service,
            service_token: Mutex::new(None),
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// The configured URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Who `token` stands for; cached.
    pub async fn validate(&self, token: &str) -> Result<Identity, KeystoneError> {
        let now = Instant::now();
        if let Some((id, until)) = self.cache.lock().await.get(token)
            && *until > now
        {
            return Ok(id.clone());
        }
        let (id, expires) = match self.check(token, false).await {
            Err(KeystoneError::Unavailable { .. }) if self.service.is_some() => {
                // Perhaps a stale service token: get a new one once.
                self.check(token, true).await?
            }
            r => r?,
        };
        let until = now + CACHE_TTL.min(expires);
        let mut cache = self.cache.lock().await;
        if cache.len() >= CACHE_MAX {
            cache.retain(|_, (_, u)| *u > now);
            if cache.len() >= CACHE_MAX {
                cache.clear();
            }
        }
        cache.insert(token.to_owned(), (id.clone(), until));
        Ok(id)
    }

    async fn check(&self, token: &str, renew: bool) -> Result<(Identity, Duration), KeystoneError> {
        let auth = match &self.service {
            Some(_) => self.service_token(renew).await?,
            None => token.to_owned(),
        };
        let (status, _, body) = self
            .call(
                Method::GET,
                "/auth/tokens",
                &[("x-auth-token", &auth), ("x-subject-token", token)],
                None,
            )
            .await?;
        match status {
            StatusCode::OK => parse_token(&body).ok_or_else(|| self.unavailable("bad token body")),
            StatusCode::NOT_FOUND => Err(KeystoneError::InvalidToken),
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN if self.service.is_none() => {
                Err(KeystoneError::InvalidToken)
            }
            s => Err(self.unavailable(&format!("validation answered {s}"))),
        }
    }

    async fn service_token(&self, renew: bool) -> Result<String, KeystoneError> {
        let mut slot = self.service_token.lock().await;
        if !renew
            && let Some((t, until)) = slot.as_ref()
            && *until > Instant::now()
        {
            return Ok(t.clone());
        }
        let Some(svc) = &self.service else {
            return Err(self.unavailable("no service credentials"));
        };
        let body = json!({"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": svc.user, "domain": {"id": "default"}, "password": svc.password}}},
            "scope": {"project": {"name": svc.project, "domain": {"id": "default"}}},
        }});
        let (status, headers, resp) = self
            .call(Method::POST, "/auth/tokens", &[], Some(body.to_string()))
            .await?;
        if status != StatusCode::CREATED {
            return Err(self.unavailable(&format!("service authentication answered {status}")));
        }
        let token = headers
            .get("x-subject-token")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| self.unavailable("no X-Subject-Token"))?
            .to_owned();
        let life = parse_token(&resp).map_or(Duration::from_secs(300), |(_, d)| d);
        let until = Instant::now() + life.saturating_sub(Duration::from_secs(30));
        *slot = Some((token.clone(), until));
        Ok(token)
    }

    fn unavailable(&self, detail: &str) -> KeystoneError {
        KeystoneError::Unavailable {
            url: self.url.clone(),
            detail: detail.to_owned(),
        }
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<String>,
    ) -> Result<(StatusCode, hyper::HeaderMap, Bytes), KeystoneError> {
        let fut = async {
            let stream = TcpStream::connect(&self.authority)
                .await
                .map_err(|e| self.unavailable(&e.to_string()))?;
            let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .map_err(|e| self.unavailable(&e.to_string()))?;
            tokio::spawn(conn);
            let mut req = Request::builder()
                .method(method)
                .uri(format!("{}{path}", self.base_path))
                .header("host", &self.authority)
                .header("accept", "application/json")
                .header("content-type", "application/json");
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            let req = req
                .body(Full::new(Bytes::from(body.unwrap_or_default())))
                .map_err(|e| self.unavailable(&e.to_string()))?;
            let resp = sender
                .send_request(req)
                .await
                .map_err(|e| self.unavailable(&e.to_string()))?;
            let status = resp.status();
            let headers = resp.headers().clone();
            let bytes = resp
                .into_body()
                .collect()
                .await
                .map_err(|e| self.unavailable(&e.to_string()))?
                .to_bytes();
            Ok((status, headers, bytes))
        };
        tokio::time::timeout(TIMEOUT, fut)
            .await
            .map_err(|_| self.unavailable("timed out"))?
    }
}

/// `(identity, time left)` from a `{"token": {...}}` body.
fn parse_token(body: &[u8]) -> Option<(Identity, Duration)> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let t = v.get("token")?;
    let project_id = t
        .pointer("/project/id")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let roles = t
        .get("roles")
        .and_then(Value::as_array)
        .map(|rs| {
            rs.iter()
                .filter_map(|r| r.get("name").and_then(Value::as_str).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let left = t
        .get("expires_at")
        .and_then(Value::as_str)
        .and_then(|s| OffsetDateTime::parse(s, &Rfc3339).ok())
        .map_or(CACHE_TTL, |exp| {
            let secs = (exp - OffsetDateTime::now_utc()).whole_seconds();
            Duration::from_secs(u64::try_from(secs).unwrap_or(0))
        });
    Some((Identity { project_id, roles }, left))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let k = Keystone::new("http://127.0.0.1:5000/v3/", None).expect("url");
        assert_eq!(
            (k.authority.as_str(), k.base_path.as_str()),
            ("127.0.0.1:5000", "/v3")
        );
        assert!(Keystone::new("https://x:1/v3", None).is_err());
        assert!(Keystone::new("http:///v3", None).is_err());
    }

    #[test]
    fn token_body() {
        let body = br#"{"token": {"project": {"id": "p1"}, "roles": [{"name": "reader"}, {"name": "member"}],
            "expires_at": "2999-01-01T00:00:00.000000Z"}}"#;
        let (id, left) = parse_token(body).expect("parsed");
        assert_eq!(id.project_id.as_deref(), Some("p1"));
        assert_eq!(id.roles, ["reader", "member"]);
        assert!(left > CACHE_TTL);
        let past = br#"{"token": {"roles": [], "expires_at": "2000-01-01T00:00:00Z"}}"#;
        assert_eq!(parse_token(past).expect("parsed").1, Duration::ZERO);
        assert!(parse_token(b"{}").is_none());
    }
}
