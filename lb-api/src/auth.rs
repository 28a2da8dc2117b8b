//! Who is calling: the request context ([`Ctx`]) in `noauth` and `keystone` mode.
//!
//! **noauth** (as Octavia builds it from headers, oslo.context): project = `X-Project-Id` |
//! `X-Tenant-Id` | `X-Tenant`, roles = `X-Roles`. A request is admin when `X-Roles` contains
//! `admin`, or when it carries no project at all (Octavia's noauth forces `is_admin`). A request
//! that names a project and is not admin is scoped to that project: other projects' objects are
//! invisible (404).
//!
//! **keystone** (as keystonemiddleware `auth_token` + Octavia's default policy): the
//! [`authenticate`] middleware validates `X-Auth-Token` against Keystone (see
//! [`crate::keystone`]); the token's project is the caller's project and its roles map to
//! Octavia's rules (`octavia/policies/base.py`, new defaults OR'ed with the advanced-RBAC roles):
//! admin = `admin` | `load-balancer_admin`; global observer = those + `load-balancer_global_observer`;
//! member (read + write in its project) = `member` | `load-balancer_member`; observer (read in its
//! project) = `reader` | `load-balancer_observer`. A caller without write rights gets 403 on
//! every POST/PUT/DELETE, one without any read right 403 on everything.

use std::sync::Arc;

use axum::{
    Json,
    extract::{FromRequestParts, Request, State},
    http::{Method, StatusCode, header::HeaderValue, request::Parts},
    middleware::Next,
    response::{IntoResponse, Response},
};
use serde_json::json;

use crate::{
    AppState,
    error::ApiError,
    keystone::{Identity, Keystone, KeystoneError},
};

/// How requests are authenticated (`lb-api serve --auth`).
#[derive(Debug, Clone, Default)]
pub enum AuthMode {
    /// Trust `X-Project-Id`/`X-Roles` headers (Octavia's `auth_strategy = noauth`).
    #[default]
    Noauth,
    /// Validate `X-Auth-Token` against Keystone v3.
    Keystone(Arc<Keystone>),
}

/// What the caller may do, from its roles.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Roles {
    /// `load-balancer:admin`: every project, admin APIs.
    pub admin: bool,
    /// `load-balancer:global_observer`: read every project.
    pub global_observer: bool,
    /// `load-balancer:member_and_owner`: read and write in its own project.
    pub member: bool,
    /// `load-balancer:observer_and_owner`: read in its own project.
    pub observer: bool,
    /// `load-balancer:quota-admin`: read and change every project's quotas (nothing else).
    pub quota_admin: bool,
}

impl Roles {
    /// Octavia's default policy applied to Keystone role names.
    pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        let mut r = Self::default();
        for name in names {
            match name.to_ascii_lowercase().as_str() {
                "admin" | "load-balancer_admin" => r.admin = true,
                "load-balancer_global_observer" => r.global_observer = true,
                "member" | "load-balancer_member" => r.member = true,
                "reader" | "load-balancer_observer" => r.observer = true,
                "load-balancer_quota_admin" => r.quota_admin = true,
                _ => {}
            }
        }
        r
    }
}

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ctx {
    /// The caller's project, if any.
    pub project_id: Option<String>,
    /// What it may do.
    pub roles: Roles,
}

impl Ctx {
    /// A project member (tests and internal use).
    pub fn member(project: &str) -> Self {
        Self {
            project_id: Some(project.to_owned()),
            roles: Roles {
                member: true,
                ..Roles::default()
            },
        }
    }

    /// Whether the caller is an admin (sees and changes every project's objects).
    pub fn is_admin(&self) -> bool {
        self.roles.admin
    }

    /// Whether the caller may read objects of every project.
    pub fn can_read_global(&self) -> bool {
        self.roles.admin || self.roles.global_observer
    }

    /// `load-balancer:read` for its own project (or any, when global).
    pub fn can_read(&self) -> bool {
        self.can_read_global() || self.roles.member || self.roles.observer
    }

    /// `load-balancer:write` (own project; any for admins).
    pub fn can_write(&self) -> bool {
        self.roles.admin || self.roles.member
    }

    /// `load-balancer:read-quota` for `project_id` (own project, or any when global or quota
    /// admin).
    pub fn can_read_quota_of(&self, project_id: &str) -> bool {
        self.roles.quota_admin || (self.can_read() && self.can_see(project_id))
    }

    /// `load-balancer:write-quota`: admins and quota admins.
    pub fn require_quota_admin(&self) -> Result<(), ApiError> {
        if self.is_admin() || self.roles.quota_admin {
            Ok(())
        } else {
            Err(ApiError::policy())
        }
    }

    /// Project restriction for quota lists: `None` = all projects.
    pub fn quota_scope(&self) -> Option<&str> {
        if self.roles.quota_admin {
            None
        } else {
            self.scope()
        }
    }

    /// Whether this caller may see an object of `project_id`.
    pub fn can_see(&self, project_id: &str) -> bool {
        self.can_read_global() || self.project_id.as_deref() == Some(project_id)
    }

    /// Project restriction for list queries: `None` = all projects.
    pub fn scope(&self) -> Option<&str> {
        if self.can_read_global() {
            None
        } else {
            self.project_id.as_deref()
        }
    }

    /// The project a new object belongs to: body `project_id`/`tenant_id`, else the caller's.
    pub fn owner_for_create(&self, requested: Option<String>) -> Result<String, ApiError> {
        if !self.can_write() {
            return Err(ApiError::policy());
        }
        match (requested, &self.project_id) {
            (Some(p), own) => {
                if self.is_admin() || own.as_deref() == Some(p.as_str()) {
                    Ok(p)
                } else {
                    Err(ApiError::policy())
                }
            }
            (None, Some(own)) => Ok(own.clone()),
            (None, None) => Err(ApiError::validation(
                "Missing project ID in request where one is required. An administrator should \
                 check the keystone settings in the Octavia configuration.",
            )),
        }
    }

    /// 403 unless admin.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(ApiError::policy())
        }
    }

    /// The method-level policy: reads need a read right, changes a write right; a quota admin
    /// passes on the quota routes only (their handlers check the rest).
    fn check_method(&self, method: &Method, path: &str) -> Result<(), ApiError> {
        if self.roles.quota_admin && path.split('/').any(|segment| segment == "quotas") {
            return Ok(());
        }
        let allowed = if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
            self.can_read()
        } else {
            self.can_write()
        };
        if allowed {
            Ok(())
        } else {
            Err(ApiError::policy())
        }
    }

    fn from_identity(id: &Identity) -> Self {
        Self {
            project_id: id.project_id.clone(),
            roles: Roles::from_names(id.roles.iter().map(String::as_str)),
        }
    }
}

fn header<'a>(parts: &'a Parts, names: &[&str]) -> Option<&'a str> {
    names.iter().find_map(|n| {
        parts
            .headers
            .get(*n)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    })
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match &state.config.auth {
            AuthMode::Keystone(_) => {
                // Set by `authenticate`; its absence means the route skipped the middleware.
                let id = parts
                    .extensions
                    .get::<Identity>()
                    .ok_or(ApiError::Unauthorized)?;
                let ctx = Self::from_identity(id);
                ctx.check_method(&parts.method, parts.uri.path())?;
                Ok(ctx)
            }
            AuthMode::Noauth => {
                let project =
                    header(parts, &["x-project-id", "x-tenant-id", "x-tenant"]).map(str::to_owned);
                let roles_admin = header(parts, &["x-roles"]).is_some_and(|roles| {
                    roles
                        .split(',')
                        .any(|r| r.trim().eq_ignore_ascii_case("admin"))
                });
                let admin = roles_admin || project.is_none();
                let project_id = project.or_else(|| state.config.noauth_default_project.clone());
                Ok(Self {
                    project_id,
                    roles: Roles {
                        admin,
                        global_observer: false,
                        member: true,
                        observer: true,
                        quota_admin: false,
                    },
                })
            }
        }
    }
}

/// keystonemiddleware's 401 (`{"error": {"code": 401, ...}}` + `WWW-Authenticate`).
fn unauthorized(keystone: &Keystone) -> Response {
    let mut r = (
        StatusCode::UNAUTHORIZED,
        Json(json!({"error": {
            "code": 401,
            "title": "Unauthorized",
            "message": "The request you have made requires authentication.",
        }})),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("Keystone uri=\"{}\"", keystone.url())) {
        r.headers_mut().insert("www-authenticate", v);
    }
    r
}

/// Middleware: in keystone mode, validate `X-Auth-Token` and attach the [`Identity`]; 401
/// without a valid token, 503 when Keystone cannot be reached (as keystonemiddleware).
pub async fn authenticate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let AuthMode::Keystone(keystone) = &state.config.auth else {
        return next.run(req).await;
    };
    let Some(token) = req
        .headers()
        .get("x-auth-token")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
    else {
        return unauthorized(keystone);
    };
    match keystone.validate(&token).await {
        Ok(id) => {
            req.extensions_mut().insert(id);
            next.run(req).await
        }
        Err(KeystoneError::InvalidToken) => unauthorized(keystone),
        Err(e) => {
            tracing::warn!(error = %e, "keystone token validation failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"error": {
                    "code": 503,
                    "title": "Service Unavailable",
                    "message": "The server is currently unavailable. Please try again at a later time.",
                }})),
            )
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(project: &str, roles: &[&str]) -> Ctx {
        Ctx {
            project_id: Some(project.to_owned()),
            roles: Roles::from_names(roles.iter().copied()),
        }
    }

    #[test]
    fn octavia_default_roles() {
        let reader = ctx("a", &["reader"]);
        assert!(reader.can_read() && !reader.can_write());
        assert!(reader.can_see("a") && !reader.can_see("b"));
        assert!(reader.owner_for_create(None).is_err());
        assert!(
            reader
                .check_method(&Method::GET, "/v2/lbaas/loadbalancers")
                .is_ok()
        );
        assert!(
            reader
                .check_method(&Method::DELETE, "/v2/lbaas/loadbalancers/x")
                .is_err()
        );

        let member = ctx("a", &["member", "reader"]);
        assert!(member.can_write() && !member.is_admin());
        assert_eq!(member.scope(), Some("a"));
        assert_eq!(member.owner_for_create(None).ok().as_deref(), Some("a"));
        assert!(member.owner_for_create(Some("b".into())).is_err());

        let global = ctx("a", &["load-balancer_global_observer"]);
        assert!(global.can_see("b") && global.scope().is_none() && !global.can_write());
        assert!(global.require_admin().is_err());

        let admin = ctx("a", &["admin"]);
        assert!(admin.require_admin().is_ok() && admin.can_see("b"));
        assert_eq!(
            admin.owner_for_create(Some("b".into())).ok().as_deref(),
            Some("b")
        );

        let quotas = ctx("a", &["load-balancer_quota_admin"]);
        assert!(
            quotas
                .check_method(&Method::PUT, "/v2/lbaas/quotas/b")
                .is_ok()
        );
        assert!(
            quotas
                .check_method(&Method::DELETE, "/v2.0/quotas/b")
                .is_ok()
        );
        assert!(
            quotas
                .check_method(&Method::GET, "/v2/lbaas/quotas")
                .is_ok()
        );
        assert!(
            quotas
                .check_method(&Method::GET, "/v2/lbaas/loadbalancers")
                .is_err(),
            "a quota admin reads no load balancers"
        );
        assert!(quotas.require_quota_admin().is_ok() && quotas.can_read_quota_of("b"));
        assert!(quotas.quota_scope().is_none() && quotas.require_admin().is_err());
        assert!(member.require_quota_admin().is_err() && !member.can_read_quota_of("b"));
        assert!(member.can_read_quota_of("a") && member.quota_scope() == Some("a"));
        assert!(admin.require_quota_admin().is_ok() && admin.can_read_quota_of("b"));

        let nobody = ctx("a", &["service"]);
        assert!(
            nobody
                .check_method(&Method::GET, "/v2/lbaas/loadbalancers")
                .is_err()
        );
    }
}
