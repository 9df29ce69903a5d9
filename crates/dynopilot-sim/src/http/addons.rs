//! Add-ons, their attachments, collaborators and pipeline couplings: what `heroku addons` and
//! `heroku apps:info` read besides the app itself. Shapes are the simulator's own (the client
//! never reads them), property for property as in Heroku's schema.

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use jiff::Timestamp as Jiff;
use serde::Serialize;

use super::error::ApiError;
use super::range::Key;
use super::{Caller, SimState, app_mut, json, list};
use crate::world::addon::Addon;
use crate::world::{SimApp, stable_id};

#[derive(Debug, Clone, Serialize)]
pub struct IdName {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Serialize)]
pub struct BillingEntity {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
}

#[derive(Debug, Serialize)]
pub struct BilledPrice {
    pub cents: u32,
    pub contract: bool,
    pub unit: &'static str,
}

/// `plan`; with `Accept-Expansion: plan` Heroku adds the plan's `price`.
#[derive(Debug, Serialize)]
pub struct PlanRef {
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price: Option<BilledPrice>,
}

#[derive(Debug, Serialize)]
pub struct AddonView {
    pub actions: Vec<serde_json::Value>,
    pub addon_service: IdName,
    pub billing_entity: BillingEntity,
    pub app: IdName,
    pub billed_price: Option<BilledPrice>,
    pub config_vars: Vec<String>,
    pub created_at: Jiff,
    pub id: String,
    pub name: String,
    pub plan: PlanRef,
    pub provider_id: String,
    pub provision_message: String,
    pub state: &'static str,
    pub updated_at: Jiff,
    pub web_url: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct AttachedAddon {
    pub id: String,
    pub name: String,
    pub app: IdName,
}

#[derive(Debug, Serialize)]
pub struct AttachmentView {
    pub addon: AttachedAddon,
    pub app: IdName,
    pub created_at: Jiff,
    pub id: String,
    pub name: String,
    pub namespace: Option<String>,
    pub updated_at: Jiff,
    pub web_url: Option<String>,
    pub log_input_url: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct CollaboratorUser {
    pub email: String,
    pub federated: bool,
    pub id: String,
}

#[derive(Debug, Serialize)]
pub struct CollaboratorView {
    pub app: IdName,
    pub created_at: Jiff,
    pub id: String,
    pub permissions: Vec<serde_json::Value>,
    pub role: Option<&'static str>,
    pub updated_at: Jiff,
    pub user: CollaboratorUser,
}

fn app_id_name(app: &SimApp) -> IdName {
    IdName {
        id: app.id.clone(),
        name: app.name.clone(),
    }
}

fn addon_view(app: &SimApp, a: &Addon, expand_plan: bool) -> AddonView {
    let price = || BilledPrice {
        cents: a.price_cents,
        contract: false,
        unit: "month",
    };
    AddonView {
        actions: Vec::new(),
        addon_service: IdName {
            id: stable_id(a.service),
            name: a.service.to_string(),
        },
        billing_entity: BillingEntity {
            id: app.id.clone(),
            name: app.name.clone(),
            kind: "app",
        },
        app: app_id_name(app),
        billed_price: Some(price()),
        config_vars: a.config.iter().map(|(k, _)| k.clone()).collect(),
        created_at: a.created_at.to_jiff(),
        id: a.id.clone(),
        name: a.name.clone(),
        plan: PlanRef {
            id: stable_id(a.plan),
            name: a.plan.to_string(),
            price: expand_plan.then(price),
        },
        provider_id: format!(
            "resource{}@heroku.com",
            a.id.split('-').next().unwrap_or("")
        ),
        provision_message: String::new(),
        state: "provisioned",
        updated_at: a.created_at.to_jiff(),
        web_url: Some(format!(
            "https://addons-sso.heroku.com/apps/{}/addons/{}",
            app.id, a.id
        )),
    }
}

fn attachment_view(app: &SimApp, a: &Addon) -> AttachmentView {
    AttachmentView {
        addon: AttachedAddon {
            id: a.id.clone(),
            name: a.name.clone(),
            app: app_id_name(app),
        },
        app: app_id_name(app),
        created_at: a.created_at.to_jiff(),
        id: a.attachment_id.clone(),
        name: a.attachment_name.to_string(),
        namespace: None,
        updated_at: a.created_at.to_jiff(),
        web_url: Some(format!(
            "https://addons-sso.heroku.com/apps/{}/addons/{}",
            app.id, a.id
        )),
        log_input_url: None,
    }
}

fn expands_plan(headers: &HeaderMap) -> bool {
    headers
        .get("accept-expansion")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|p| p.trim() == "plan"))
}

fn addons_of<'w>(
    world: &'w crate::world::World,
    caller: &Caller,
) -> impl Iterator<Item = (&'w SimApp, &'w Addon)> {
    let owner = caller.account_id.clone();
    world
        .apps
        .iter()
        .filter(move |app| app.owner_id == owner)
        .flat_map(|app| app.addons.iter().map(move |a| (app, a)))
}

fn by_id(a: &AddonView, _field: &str) -> Key {
    Key::Text(a.id.clone())
}

/// `GET /addons`: every add-on of the caller's apps.
pub async fn list_all(
    State(state): State<SimState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let expand = expands_plan(&headers);
    let items: Vec<_> = addons_of(&state.world(), &caller)
        .map(|(app, a)| addon_view(app, a, expand))
        .collect();
    list(&headers, &["id"], items, by_id)
}

/// `GET /apps/{app}/addons`.
pub async fn list_by_app(
    State(state): State<SimState>,
    Extension(caller): Extension<Caller>,
    Path(app): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let expand = expands_plan(&headers);
    let items: Vec<_> = {
        let mut world = state.world();
        let app = app_mut(&mut world, &caller, &app)?;
        app.addons
            .iter()
            .map(|a| addon_view(app, a, expand))
            .collect()
    };
    list(&headers, &["id"], items, by_id)
}

/// `GET /apps/{app}/addons/{addon}` by id, name or attachment name.
pub async fn info_by_app(
    State(state): State<SimState>,
    Extension(caller): Extension<Caller>,
    Path((app, addon)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let mut world = state.world();
    let app = app_mut(&mut world, &caller, &app)?;
    let found = app
        .addons
        .iter()
        .find(|a| a.id == addon || a.name == addon || a.attachment_name == addon)
        .ok_or_else(|| ApiError::not_found("add-on"))?;
    Ok(json(
        StatusCode::OK,
        &addon_view(app, found, expands_plan(&headers)),
    ))
}

/// `GET /addon-attachments`: every attachment the caller can see.
pub async fn attachments_all(
    State(state): State<SimState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let items: Vec<_> = addons_of(&state.world(), &caller)
        .map(|(app, a)| attachment_view(app, a))
        .collect();
    list(&headers, &["id"], items, |a, _| Key::Text(a.id.clone()))
}

/// `GET /apps/{app}/addon-attachments`.
pub async fn attachments_by_app(
    State(state): State<SimState>,
    Extension(caller): Extension<Caller>,
    Path(app): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let items: Vec<_> = {
        let mut world = state.world();
        let app = app_mut(&mut world, &caller, &app)?;
        app.addons.iter().map(|a| attachment_view(app, a)).collect()
    };
    list(&headers, &["id"], items, |a, _| Key::Text(a.id.clone()))
}

/// `GET /apps/{app}/collaborators`: a personal app's only collaborator is its owner.
pub async fn collaborators(
    State(state): State<SimState>,
    Extension(caller): Extension<Caller>,
    Path(app): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let items = {
        let mut world = state.world();
        let app = app_mut(&mut world, &caller, &app)?;
        vec![CollaboratorView {
            app: app_id_name(app),
            created_at: app.created_at.to_jiff(),
            id: stable_id(&format!("{}/collaborator/{}", app.id, caller.account_id)),
            permissions: Vec::new(),
            role: Some("owner"),
            updated_at: app.created_at.to_jiff(),
            user: CollaboratorUser {
                email: caller.email.clone(),
                federated: false,
                id: caller.account_id.clone(),
            },
        }]
    };
    list(&headers, &["email"], items, |c, _| {
        Key::Text(c.user.email.clone())
    })
}

/// `GET /apps/{app}/pipeline-couplings`: simulated apps are in no pipeline, which Heroku
/// answers with `404`.
pub async fn pipeline_coupling(
    State(state): State<SimState>,
    Extension(caller): Extension<Caller>,
    Path(app): Path<String>,
) -> Result<Response, ApiError> {
    let mut world = state.world();
    app_mut(&mut world, &caller, &app)?;
    Err(ApiError::not_found("pipeline coupling"))
}

/// `GET /account/features`: the simulator knows no account-level Labs features.
pub async fn account_features(headers: HeaderMap) -> Result<Response, ApiError> {
    let none: Vec<serde_json::Value> = Vec::new();
    list(&headers, &["id", "name"], none, |_, _| {
        Key::Text(String::new())
    })
}

/// `GET /account/features/{name}`: always `404`, so `labs:enable` falls back to the app's.
pub async fn account_feature(Path(_name): Path<String>) -> Result<Response, ApiError> {
    Err(ApiError::not_found("feature"))
}

/// `GET /users/{user}/apps`: `~` (or the caller's own id or email) lists the caller's apps.
pub async fn user_apps(
    State(state): State<SimState>,
    Extension(caller): Extension<Caller>,
    Path(user): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if user != "~" && user != caller.account_id && user != caller.email {
        return Err(ApiError::not_found("user"));
    }
    super::account::apps_list(State(state), Extension(caller), headers).await
}
