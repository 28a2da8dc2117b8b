//! `/l7policies`: CRUD as Octavia's L7 policy controller: the action/target sanitizing of
//! `validate.sanitize_l7policy_api_args` (a target implies its action and clears the others,
//! `redirect_http_code` 302 by default for URL/prefix redirects), redirect pools checked for LB,
//! project and protocol, and 1-based contiguous positions per listener (insert shifts, delete
//! re-compacts in the provider).

use axum::{
    Router,
    extract::{Path, State},
    http::HeaderMap,
    response::Response,
    routing::get,
};

use super::{
    ListCall, child_list, created, lb_graph,
    lock::{Parent, lock},
    no_content, ok,
};
use crate::{
    AppState,
    auth::Ctx,
    error::{ApiError, ApiResult},
    model::{
        common::{Common, CommonInput, Oper, Prov},
        graph::Graph,
        input::{Field, Input, JsonBody, invalid, required},
        l7policy::{self as pm, L7Policy},
        listener::{self as lm, Listener},
        validate,
    },
    store::{self, Change, Select},
};

/// `MAX_POLICY_POSITION`: the default position (append).
const MAX_POSITION: i64 = 2_147_483_647;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/l7policies", get(list).post(create))
        .route("/l7policies/{id}", get(show).put(update).delete(remove))
}

async fn list(State(st): State<AppState>, ctx: Ctx, call: ListCall) -> ApiResult<Response> {
    let g = Graph::load(&*st.store, &Select::project(ctx.scope())).await?;
    let items = g.l7policies.iter().map(|p| g.l7policy_wire(p)).collect();
    child_list(&st, &call, "l7policies", &pm::filters(), &[], items)
}

/// The graph holding policy `id`, if the caller may see it.
pub async fn find(st: &AppState, ctx: &Ctx, id: &str) -> ApiResult<Graph> {
    let p = store::get::<L7Policy>(&*st.store, id)
        .await?
        .filter(|p| ctx.can_see(&p.c.project_id))
        .ok_or_else(|| ApiError::not_found("L7Policy", id))?;
    lb_graph(st, ctx, &p.loadbalancer_id)
        .await
        .map_err(|_| ApiError::not_found("L7Policy", id))
}

async fn show(State(st): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> ApiResult<Response> {
    let g = find(&st, &ctx, &id).await?;
    let p = g
        .l7policy(&id)
        .ok_or_else(|| ApiError::not_found("L7Policy", &id))?;
    Ok(ok("l7policy", g.l7policy_wire(p)))
}

/// The action and its targets as sent (`Null` = present and cleared).
struct Args {
    action: Field<String>,
    pool: Field<String>,
    url: Field<String>,
    prefix: Field<String>,
    code: Field<i64>,
}

fn truthy(f: &Field<String>) -> bool {
    matches!(f, Field::Set(s) if !s.is_empty())
}

fn args_error(msg: &str) -> ApiError {
    ApiError::bad(format!("Invalid L7 Policy arguments: {msg}"))
}

fn bad_action(action: &str) -> ApiError {
    ApiError::bad(format!("Invalid L7 Policy action specified: {action}"))
}

impl Args {
    fn read(i: &mut Input) -> ApiResult<Self> {
        let mut url_field = |key: &str| -> ApiResult<Field<String>> {
            match i.string(key, usize::MAX)? {
                Field::Set(u) if !validate::url(&u) => {
                    Err(invalid(key, &u, "Value must be a valid URL string"))
                }
                other => Ok(other),
            }
        };
        let url = url_field("redirect_url")?;
        let prefix = url_field("redirect_prefix")?;
        let code = match i.int("redirect_http_code", i64::MIN, i64::MAX)? {
            Field::Set(c) if !pm::REDIRECT_CODES.contains(&c) => {
                return Err(invalid(
                    "redirect_http_code",
                    c,
                    "Value should be one of: 301, 302, 303, 307, 308",
                ));
            }
            other => other,
        };
        Ok(Self {
            action: i.one_of("action", pm::ACTIONS)?,
            pool: i.uuid("redirect_pool_id")?,
            url,
            prefix,
            code,
        })
    }

    fn present(&self) -> bool {
        self.action.present()
            || self.pool.present()
            || self.url.present()
            || self.prefix.present()
            || self.code.present()
    }

    /// `validate.sanitize_l7policy_api_args`.
    fn sanitize(&mut self) -> ApiResult<()> {
        match &self.action {
            Field::Absent => {}
            Field::Null => return Err(bad_action("None")),
            Field::Set(a) => match a.as_str() {
                "REJECT" => {
                    self.url = Field::Null;
                    self.pool = Field::Null;
                }
                "REDIRECT_TO_URL" => {
                    if !truthy(&self.url) {
                        return Err(args_error("redirect_url must not be None"));
                    }
                    self.pool = Field::Null;
                }
                "REDIRECT_TO_POOL" => {
                    if !truthy(&self.pool) {
                        return Err(args_error(
                            "redirect_pool_id or redirect_pool must not be None",
                        ));
                    }
                    self.url = Field::Null;
                }
                "REDIRECT_PREFIX" => {
                    if !truthy(&self.prefix) {
                        return Err(args_error("redirect_prefix must not be None"));
                    }
                }
                other => return Err(bad_action(other)),
            },
        }
        if truthy(&self.pool) && (truthy(&self.url) || truthy(&self.prefix)) {
            return Err(args_error(
                "Cannot specify redirect_pool_id and redirect_url or redirect_prefix at the same \
                 time",
            ));
        }
        let default_code = |code: &Field<i64>| match code {
            Field::Set(c) if *c != 0 => Field::Set(*c),
            _ => Field::Set(302),
        };
        if truthy(&self.pool) {
            self.action = Field::Set("REDIRECT_TO_POOL".into());
            self.url = Field::Null;
            self.prefix = Field::Null;
            self.code = Field::Null;
        }
        if truthy(&self.url) {
            self.action = Field::Set("REDIRECT_TO_URL".into());
            self.pool = Field::Null;
            self.prefix = Field::Null;
            self.code = default_code(&self.code);
        }
        if truthy(&self.prefix) {
            self.action = Field::Set("REDIRECT_PREFIX".into());
            self.pool = Field::Null;
            self.url = Field::Null;
            self.code = default_code(&self.code);
        }
        Ok(())
    }

    /// Store the sanitized values, then clear what the final action does not use (as
    /// `L7PolicyRepository.update`).
    fn apply(self, p: &mut L7Policy) {
        fn set<T>(f: Field<T>, slot: &mut Option<T>) {
            match f {
                Field::Set(v) => *slot = Some(v),
                Field::Null => *slot = None,
                Field::Absent => {}
            }
        }
        let action_sent = self.action.present();
        if let Field::Set(a) = self.action {
            p.action = a;
        }
        set(self.pool, &mut p.redirect_pool_id);
        set(self.url, &mut p.redirect_url);
        set(self.prefix, &mut p.redirect_prefix);
        set(self.code, &mut p.redirect_http_code);
        if action_sent {
            let (pool, url, prefix, code) = match p.action.as_str() {
                "REJECT" => (true, true, true, true),
                "REDIRECT_TO_URL" => (true, false, true, false),
                "REDIRECT_TO_POOL" => (false, true, true, true),
                _ => (true, true, false, false),
            };
            if pool {
                p.redirect_pool_id = None;
            }
            if url {
                p.redirect_url = None;
            }
            if prefix {
                p.redirect_prefix = None;
            }
            if code {
                p.redirect_http_code = None;
            }
        }
    }
}

/// The redirect pool must exist on the listener's LB, in its project, with a compatible protocol.
fn check_pool(g: &Graph, l: &Listener, pool_id: &str) -> ApiResult<()> {
    let pool = g
        .pool(pool_id)
        .filter(|p| p.c.project_id == l.c.project_id)
        .ok_or_else(|| ApiError::not_found("Pool", pool_id))?;
    if !lm::pool_protocols(&l.protocol).contains(&pool.protocol.as_str()) {
        return Err(ApiError::validation(format!(
            "The pool protocol '{}' is invalid while the listener protocol is '{}'.",
            pool.protocol, l.protocol
        )));
    }
    Ok(())
}

/// Move policy `id` of `listener_id` to `position` (1-based; past the end = last) and renumber
/// the listener's policies 1..n; returns the puts of all of them.
fn reposition(
    g: &mut Graph,
    listener_id: &str,
    id: &str,
    position: Option<i64>,
) -> ApiResult<Vec<Change>> {
    let mut order: Vec<(i64, String)> = g
        .l7policies
        .iter()
        .filter(|p| p.listener_id == listener_id && p.c.id != id)
        .map(|p| (p.position, p.c.id.clone()))
        .collect();
    order.sort_by_key(|(pos, _)| *pos);
    let mut ids: Vec<String> = order.into_iter().map(|(_, i)| i).collect();
    let current = g
        .l7policy(id)
        .map(|p| p.position)
        .ok_or_else(|| ApiError::not_found("L7Policy", id))?;
    let want = position.unwrap_or(current);
    let at = usize::try_from(want.saturating_sub(1))
        .unwrap_or(usize::MAX)
        .min(ids.len());
    ids.insert(at, id.to_owned());
    let mut changes = Vec::new();
    for p in g
        .l7policies
        .iter_mut()
        .filter(|p| p.listener_id == listener_id)
    {
        if let Some(i) = ids.iter().position(|x| *x == p.c.id) {
            p.position = i64::try_from(i + 1).unwrap_or(MAX_POSITION);
            changes.push(store::put(&*p)?);
        }
    }
    Ok(changes)
}

async fn create(
    State(st): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    if super::child_create::l7policy_wanted(&body) {
        return Ok(super::child_create::l7policy(&st, &headers, body).await);
    }
    let mut i = Input::parse(body, "l7policy", "l7policy_", pm::POST)?;
    let common = CommonInput::read(&mut i, true)?;
    i.project()?;
    let listener_id = required("listener_id", i.uuid("listener_id")?)?;
    let mut args = Args::read(&mut i)?;
    required("action", args.action.clone())?;
    let position = i.int("position", 1, MAX_POSITION)?.or(MAX_POSITION);
    // Rules (handled above); what gets here is empty.
    i.raw("rules");
    let _guard = st.lock.lock().await;
    let l = store::get::<Listener>(&*st.store, &listener_id)
        .await?
        .filter(|l| ctx.can_see(&l.c.project_id))
        .ok_or_else(|| ApiError::not_found("Listener", &listener_id))?;
    let mut g = lb_graph(&st, &ctx, &l.loadbalancer_id)
        .await
        .map_err(|_| ApiError::not_found("Listener", &listener_id))?;
    if l.protocol == "PROMETHEUS" {
        return Err(ApiError::bad(
            "Protocol PROMETHEUS listeners cannot have child objects.",
        ));
    }
    if let Field::Set(pid) = &args.pool {
        check_pool(&g, &l, pid)?;
    }
    args.sanitize()?;
    super::quota_check::enforce(
        &st,
        &l.c.project_id,
        crate::model::quota::Resource::L7Policy,
        1,
    )
    .await?;
    let mut changes = lock(&mut g, std::slice::from_ref(&listener_id), Parent::None)?;
    // The amphora provider's own check (Octavia's amphora driver, `l7policy_create`), made
    // after the lock as there.
    let provider = g.lb(&l.loadbalancer_id).map(|lb| lb.provider.as_str());
    if matches!(provider, Some("amphora" | "octavia"))
        && !matches!(l.protocol.as_str(), "HTTP" | "TERMINATED_HTTPS")
    {
        return Err(ApiError::NotImplemented(format!(
            "Provider '{}' does not support a requested option: {} protocol listeners do not \
             support L7 policies",
            provider.unwrap_or_default(),
            l.protocol
        )));
    }
    let mut p = L7Policy {
        c: Common::create(l.c.project_id.clone(), Oper::Offline, common),
        listener_id: listener_id.clone(),
        loadbalancer_id: l.loadbalancer_id.clone(),
        action: String::new(),
        position: MAX_POSITION,
        redirect_pool_id: None,
        redirect_url: None,
        redirect_prefix: None,
        redirect_http_code: None,
    };
    args.apply(&mut p);
    let id = p.c.id.clone();
    g.l7policies.push(p);
    changes.extend(reposition(&mut g, &listener_id, &id, Some(position))?);
    st.store.commit(changes).await?;
    st.driver.changed(&l.loadbalancer_id);
    let p = g
        .l7policy(&id)
        .ok_or_else(|| ApiError::Internal("new policy vanished".into()))?;
    Ok(created("l7policy", g.l7policy_wire(p)))
}

async fn update(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let mut i = Input::parse(body, "l7policy", "l7policy_", pm::PUT)?;
    let common = CommonInput::read(&mut i, true)?;
    let common_sent = common.name.present()
        || common.description.present()
        || common.admin_state_up.present()
        || common.tags.present();
    let mut args = Args::read(&mut i)?;
    let position = i.int("position", 1, MAX_POSITION)?;
    if !common_sent && !args.present() && !position.present() {
        return Err(args_error("Invalid update options"));
    }
    args.sanitize()?;
    let _guard = st.lock.lock().await;
    let mut g = find(&st, &ctx, &id).await?;
    let mut p = g
        .l7policy(&id)
        .cloned()
        .ok_or_else(|| ApiError::not_found("L7Policy", &id))?;
    let l = g
        .listener(&p.listener_id)
        .cloned()
        .ok_or_else(|| ApiError::not_found("Listener", &p.listener_id))?;
    if let Field::Set(pid) = &args.pool {
        check_pool(&g, &l, pid)?;
    }
    let mut changes = lock(&mut g, std::slice::from_ref(&l.c.id), Parent::None)?;
    args.apply(&mut p);
    p.c.apply(common);
    p.c.begin_update();
    if let Some(slot) = g.l7policies.iter_mut().find(|o| o.c.id == id) {
        *slot = p;
    }
    let position = match position {
        Field::Set(v) => Some(v),
        _ => None,
    };
    changes.extend(reposition(&mut g, &l.c.id, &id, position)?);
    st.store.commit(changes).await?;
    st.driver.changed(&l.loadbalancer_id);
    let p = g
        .l7policy(&id)
        .ok_or_else(|| ApiError::not_found("L7Policy", &id))?;
    Ok(ok("l7policy", g.l7policy_wire(p)))
}

async fn remove(
    State(st): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let _guard = st.lock.lock().await;
    let mut g = find(&st, &ctx, &id).await?;
    let mut p = g
        .l7policy(&id)
        .cloned()
        .ok_or_else(|| ApiError::not_found("L7Policy", &id))?;
    let mut changes = lock(&mut g, std::slice::from_ref(&p.listener_id), Parent::None)?;
    p.c.provisioning_status = Prov::PendingDelete;
    changes.push(store::put(&p)?);
    for r in g.l7rules.iter_mut().filter(|r| r.l7policy_id == id) {
        r.c.provisioning_status = Prov::PendingDelete;
        changes.push(store::put(&*r)?);
    }
    st.store.commit(changes).await?;
    st.driver.changed(&p.loadbalancer_id);
    Ok(no_content())
}
