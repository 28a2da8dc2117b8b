//! Request context for `noauth` mode, as Octavia builds it from headers (oslo.context):
//! project = `X-Project-Id` | `X-Tenant-Id` | `X-Tenant`, roles = `X-Roles`.
//!
//! Admin detection: a request is admin when `X-Roles` contains `admin`, or when it carries no
//! project at all (Octavia's noauth forces `is_admin`). A request that names a project and is
//! not admin is scoped to that project: other projects' objects are invisible (404).

use axum::{extract::FromRequestParts, http::request::Parts};

use crate::{AppState, error::ApiError};

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ctx {
    /// The caller's project, if any.
    pub project_id: Option<String>,
    /// Admins see and change every project's objects.
    pub is_admin: bool,
}

impl Ctx {
    /// A project member (tests and internal use).
    pub fn member(project: &str) -> Self {
        Self {
            project_id: Some(project.to_owned()),
            is_admin: false,
        }
    }

    /// Whether this caller may see an object of `project_id`.
    pub fn can_see(&self, project_id: &str) -> bool {
        self.is_admin || self.project_id.as_deref() == Some(project_id)
    }

    /// Project restriction for list queries: `None` = all projects.
    pub fn scope(&self) -> Option<&str> {
        if self.is_admin {
            None
        } else {
            self.project_id.as_deref()
        }
    }

    /// The project a new object belongs to: body `project_id`/`tenant_id`, else the caller's.
    pub fn owner_for_create(&self, requested: Option<String>) -> Result<String, ApiError> {
        match (requested, &self.project_id) {
            (Some(p), own) => {
                if self.is_admin || own.as_deref() == Some(p.as_str()) {
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
        if self.is_admin {
            Ok(())
        } else {
            Err(ApiError::policy())
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
        let project =
            header(parts, &["x-project-id", "x-tenant-id", "x-tenant"]).map(str::to_owned);
        let roles_admin = header(parts, &["x-roles"]).is_some_and(|roles| {
            roles
                .split(',')
                .any(|r| r.trim().eq_ignore_ascii_case("admin"))
        });
        let is_admin = roles_admin || project.is_none();
        let project_id = project.or_else(|| state.config.noauth_default_project.clone());
        Ok(Self {
            project_id,
            is_admin,
        })
    }
}
