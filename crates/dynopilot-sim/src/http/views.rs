//! World objects rendered as the Platform API's JSON shapes (the client crate's wire types, so
//! both sides agree on field names).

use dynopilot_core::{DynoSize, Generation, Timestamp};
use dynopilot_heroku::wire::{
    self, AppFeature, AppOwner, AppRef, DynoSizeCost, DynoSizeInfo, DynoSizeRef, Formation,
    LogDrain, NamedRef, ReleaseRef, ReleaseUser,
};

use super::extras::{
    AccountExtras, AppExtras, FeatureExtras, ReleaseArtifact, ReleaseExtras, SlugRef, WithExtras,
    precise_dyno_units,
};
use crate::world::{
    Account, Drain, DynoView, Feature, FormationView, OneOff, ReleaseRecord, SimApp,
};

fn t(ts: Timestamp) -> Option<jiff::Timestamp> {
    Some(ts.to_jiff())
}

fn named(name: &str) -> Option<NamedRef> {
    Some(NamedRef {
        id: Some(stable_id(name)),
        name: Some(name.to_string()),
    })
}

pub use crate::world::stable_id;

pub fn account(a: &Account) -> WithExtras<wire::Account, AccountExtras> {
    let base = wire::Account {
        id: a.id.clone(),
        email: a.email.clone(),
        name: None,
        verified: Some(true),
        two_factor_authentication: Some(false),
        suspended_at: None,
        delinquent_at: None,
        created_at: t(a.created_at),
        updated_at: t(a.created_at),
    };
    let extras = AccountExtras {
        allow_tracking: true,
        beta: false,
        country_of_residence: None,
        default_organization: None,
        default_team: None,
        federated: false,
        identity_provider: None,
        last_login: t(a.created_at),
        sms_number: None,
    };
    WithExtras { base, extras }
}

pub fn app_ref(app: &SimApp) -> AppRef {
    AppRef {
        id: app.id.clone(),
        name: app.name.clone(),
    }
}

pub fn app(app: &SimApp, owner_email: &str) -> WithExtras<wire::App, AppExtras> {
    let base = wire::App {
        id: app.id.clone(),
        name: app.name.clone(),
        generation: named("cedar"),
        maintenance: Some(false),
        owner: Some(AppOwner {
            id: app.owner_id.clone(),
            email: Some(owner_email.to_string()),
        }),
        region: named(&app.region),
        stack: named(&app.stack),
        space: None,
        team: None,
        web_url: Some(format!("https://{}.herokuapp.com/", app.name)),
        released_at: app.releases.last().and_then(|r| t(r.created_at)),
        created_at: t(app.created_at),
        updated_at: t(app.updated_at),
    };
    let extras = AppExtras {
        acm: false,
        archived_at: None,
        build_stack: named(&app.stack),
        buildpack_provided_description: None,
        git_url: format!("https://git.heroku.com/{}.git", app.name),
        internal_routing: None,
        organization: None,
        repo_size: None,
        slug_size: None,
    };
    WithExtras { base, extras }
}

pub fn feature(f: &Feature) -> WithExtras<AppFeature, FeatureExtras> {
    let base = AppFeature {
        id: f.id.clone(),
        name: f.name.clone(),
        enabled: f.enabled,
        description: Some(f.description.clone()),
        doc_url: Some(format!("https://devcenter.heroku.com/articles/{}", f.name)),
        state: Some(f.state.to_string()),
        display_name: Some(f.name.clone()),
        created_at: t(f.created_at),
        updated_at: t(f.updated_at),
    };
    let extras = FeatureExtras {
        feedback_email: "labs-feedback@heroku.com".to_string(),
    };
    WithExtras { base, extras }
}

pub fn release(
    app: &SimApp,
    r: &ReleaseRecord,
    current: bool,
) -> WithExtras<wire::Release, ReleaseExtras> {
    let slug_id = stable_id(&format!("{}/slug/v{}", app.id, r.version));
    let base = wire::Release {
        id: r.id.clone(),
        version: r.version,
        description: Some(r.description.clone()),
        status: "succeeded".to_string(),
        current: Some(current),
        user: Some(ReleaseUser {
            id: r.user_id.clone(),
            email: r.user_email.clone(),
        }),
        app: Some(app_ref(app)),
        created_at: t(r.created_at),
        updated_at: t(r.created_at),
    };
    let extras = ReleaseExtras {
        addon_plan_names: Vec::new(),
        artifacts: vec![ReleaseArtifact {
            kind: "slug",
            id: slug_id.clone(),
        }],
        eligible_for_rollback: !current,
        output_stream_url: None,
        slug: Some(SlugRef { id: slug_id }),
    };
    WithExtras { base, extras }
}

pub fn formation(app: &SimApp, f: &FormationView) -> Formation {
    Formation {
        id: stable_id(&format!("{}/{}", app.id, f.process_type)),
        process_type: f.process_type.clone(),
        quantity: f.quantity,
        size: Some(f.size.name.to_string()),
        dyno_size: Some(DynoSizeRef {
            id: Some(stable_id(f.size.name)),
            name: Some(f.size.name.to_string()),
        }),
        command: Some(f.command.clone()),
        app: app_ref(app),
        created_at: t(app.created_at),
        updated_at: t(f.updated_at),
    }
}

fn release_ref(app: &SimApp, version: u64) -> Option<ReleaseRef> {
    let id = app
        .releases
        .iter()
        .find(|r| r.version == version)
        .map_or_else(
            || stable_id(&format!("{}/v{version}", app.id)),
            |r| r.id.clone(),
        );
    Some(ReleaseRef { id, version })
}

pub fn dyno(app: &SimApp, d: &DynoView) -> wire::Dyno {
    wire::Dyno {
        id: d.id.clone(),
        name: d.name.clone(),
        process_type: d.process_type.clone(),
        state: d.state.clone(),
        size: Some(d.size.clone()),
        command: Some(d.command.clone()),
        release: release_ref(app, d.release_version),
        app: Some(app_ref(app)),
        attach_url: None,
        created_at: t(d.created_at),
        updated_at: t(d.updated_at),
    }
}

pub fn one_off(app: &SimApp, o: &OneOff) -> wire::Dyno {
    wire::Dyno {
        id: o.id.clone(),
        name: o.name.clone(),
        process_type: "run".to_string(),
        state: "up".to_string(),
        size: Some(o.size.clone()),
        command: Some(o.command.clone()),
        release: app
            .releases
            .last()
            .and_then(|r| release_ref(app, r.version)),
        app: Some(app_ref(app)),
        attach_url: o.attach_url.clone(),
        created_at: t(o.created_at),
        updated_at: t(o.created_at),
    }
}

pub fn drain(app: &SimApp, d: &Drain) -> LogDrain {
    LogDrain {
        id: d.id.clone(),
        url: d.url.clone(),
        token: d.token.clone(),
        addon: None,
        app: Some(app_ref(app)),
        created_at: t(d.created_at),
        updated_at: t(d.created_at),
    }
}

pub fn dyno_size(s: &DynoSize) -> DynoSizeInfo {
    let generation = match s.generation {
        Generation::Cedar => "cedar",
        Generation::Fir => "fir",
    };
    DynoSizeInfo {
        id: Some(stable_id(s.name)),
        name: s.name.to_string(),
        memory: f64::from(s.memory_mb) / 1024.0,
        compute: Some(s.compute),
        cost: Some(DynoSizeCost {
            cents: Some(i64::from(s.monthly_cents)),
            unit: Some("month".to_string()),
        }),
        dedicated: s.dedicated,
        precise_dyno_units: Some(precise_dyno_units(s.name, s.monthly_cents)),
        private_space_only: Some(s.private_space_only),
        architecture: Some("amd64".to_string()),
        generation: named(generation),
    }
}
