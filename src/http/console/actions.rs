//! The actions on one credential: a confirmation page
//! (`GET .../confirm/{action}`), the posted form (`POST .../{action}`,
//! CSRF-checked) that calls the engine as the signed-in caller, and the
//! one-time reveal of a rotated secret (`GET .../revealed`), which takes
//! the secret out of the session: a reload shows it no more.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;
use tracing::info;

use super::form::{Fields, check_csrf};
use super::page::{self, credential_link};
use super::session::Reveal;
use super::{Console, Signed};
use crate::engine::{CredentialView, Error};
use crate::lifecycle::Status;

/// What the console can do to a credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Action {
    Rotate,
    CompleteRotation,
    Disable,
    Reactivate,
    Revoke,
    Delete,
}

impl Action {
    pub(super) const ALL: [Action; 6] = [
        Action::Rotate,
        Action::CompleteRotation,
        Action::Disable,
        Action::Reactivate,
        Action::Revoke,
        Action::Delete,
    ];

    /// The name in URLs and element ids.
    pub(super) fn name(self) -> &'static str {
        match self {
            Action::Rotate => "rotate",
            Action::CompleteRotation => "complete-rotation",
            Action::Disable => "disable",
            Action::Reactivate => "reactivate",
            Action::Revoke => "revoke",
            Action::Delete => "delete",
        }
    }

    pub(super) fn label(self) -> &'static str {
        match self {
            Action::Rotate => "Rotate",
            Action::CompleteRotation => "Complete rotation",
            Action::Disable => "Disable",
            Action::Reactivate => "Reactivate",
            Action::Revoke => "Revoke",
            Action::Delete => "Delete",
        }
    }

    fn parse(name: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.name() == name)
    }

    /// Whether the action means something for `view` now.
    pub(super) fn offered(self, view: &CredentialView) -> bool {
        match self {
            Action::Rotate | Action::Disable => view.status == Status::Active,
            Action::CompleteRotation => view.rotation_retires_at.is_some(),
            Action::Reactivate => view.status == Status::Disabled,
            Action::Revoke => matches!(view.status, Status::Active | Status::Disabled),
            Action::Delete => true,
        }
    }

    /// What the confirmation page asks.
    fn question(self) -> &'static str {
        match self {
            Action::Rotate => {
                "Issue a new secret? The current one keeps working until the rotation window ends \
                 (the policy's default); the new one is shown once."
            }
            Action::CompleteRotation => {
                "End the rotation now? The older secret stops working at once."
            }
            Action::Disable => "Disable this credential? It is refused until reactivated.",
            Action::Reactivate => "Reactivate this credential?",
            Action::Revoke => "Revoke this credential? This is final: it never works again.",
            Action::Delete => {
                "Delete this credential? Its record is removed; this cannot be undone."
            }
        }
    }

    fn takes_reason(self) -> bool {
        matches!(self, Action::Disable | Action::Revoke)
    }
}

fn unknown(signed: &Signed, name: &str) -> Response {
    page::error(
        StatusCode::NOT_FOUND,
        &format!(
            "no action {name:?} (rotate, complete-rotation, disable, reactivate, revoke, delete)"
        ),
        Some(&signed.chrome()),
    )
}

/// `GET /console/credentials/{id}/confirm/{action}`.
pub(super) async fn confirm(
    State(console): State<Console>,
    Path((id, name)): Path<(String, String)>,
    signed: Signed,
) -> Response {
    let Some(action) = Action::parse(&name) else {
        return unknown(&signed, &name);
    };
    let view = match console.engine.get(&signed.actor, &id) {
        Ok(view) => view,
        Err(e) => return page::engine_error(&e, Some(&signed.chrome())),
    };
    let body = html! {
        p { "Credential " (credential_link(&id)) " (" (view.record.name) ", account " (view.record.account_id) ")." }
        p #question { (action.question()) }
        form #confirm method="post" action={ "/console/credentials/" (id) "/" (action.name()) } {
            input type="hidden" name="csrf" value=(signed.csrf);
            @if action.takes_reason() {
                label { "Reason " input type="text" name="reason" maxlength="200"; }
            }
            button #confirm-submit type="submit" { (action.label()) }
            " "
            a href={ "/console/credentials/" (id) } { "Cancel" }
        }
    };
    let title = format!("{} {}", action.label(), id);
    signed.page("confirm", &title, body)
}

/// `POST /console/credentials/{id}/{action}`.
pub(super) async fn act(
    State(console): State<Console>,
    Path((id, name)): Path<(String, String)>,
    signed: Signed,
    body: Bytes,
) -> Response {
    let fields = Fields::body(&body);
    if let Err(refused) = check_csrf(&signed, &fields) {
        return *refused;
    }
    let Some(action) = Action::parse(&name) else {
        return unknown(&signed, &name);
    };
    let reason = fields.get("reason").unwrap_or(match action {
        Action::Disable => "disabled in the console",
        _ => "revoked in the console",
    });
    let page_of = format!("/console/credentials/{id}");
    let done = run(&console, &signed, action, &id, reason).await;
    let actor = &signed.actor.id;
    match &done {
        Ok(_) => {
            info!(action = action.name(), credential_id = %id, actor = %actor, "console action done")
        }
        Err(e) => {
            info!(action = action.name(), credential_id = %id, actor = %actor, error = %e, "console action refused")
        }
    }
    match done {
        Ok(Done::Changed(message)) => {
            signed.set_flash(message);
            page::see_other(&page_of)
        }
        Ok(Done::Rotated) => page::see_other(&format!("{page_of}/revealed")),
        Ok(Done::Deleted) => {
            signed.set_flash(format!("Credential {id} was deleted."));
            page::see_other("/console/credentials")
        }
        Err(e) => page::engine_error(&e, Some(&signed.chrome())),
    }
}

enum Done {
    Changed(String),
    Rotated,
    Deleted,
}

async fn run(
    console: &Console,
    signed: &Signed,
    action: Action,
    id: &str,
    reason: &str,
) -> Result<Done, Error> {
    let engine = &console.engine;
    let actor = &signed.actor;
    let view = match action {
        Action::Rotate => {
            let (_, secret) = engine.rotate(actor, id, None).await?;
            signed
                .session
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .reveal = Some(Reveal {
                credential_id: id.to_string(),
                secret,
            });
            return Ok(Done::Rotated);
        }
        Action::Delete => {
            engine.delete(actor, id).await?;
            return Ok(Done::Deleted);
        }
        Action::CompleteRotation => engine.complete_rotation(actor, id).await?,
        Action::Disable => engine.disable(actor, id, reason).await?,
        Action::Reactivate => engine.reactivate(actor, id).await?,
        Action::Revoke => engine.revoke(actor, id, reason).await?,
    };
    Ok(Done::Changed(format!(
        "{} done: the credential is now {}.",
        action.label(),
        page::status_name(view.status)
    )))
}

/// `GET /console/credentials/{id}/revealed`: the new secret, once.
pub(super) async fn revealed(Path(id): Path<String>, signed: Signed) -> Response {
    let reveal = {
        let mut guard = signed.session.lock().unwrap_or_else(|e| e.into_inner());
        match &guard.reveal {
            Some(r) if r.credential_id == id => guard.reveal.take(),
            _ => None,
        }
    };
    let body = match &reveal {
        Some(reveal) => html! {
            p { "The new secret of " (credential_link(&id)) ". Copy it now: it is shown once and never again." }
            p { code #new-secret { (reveal.secret.expose()) } }
            button #copy type="button" data-copy="new-secret" { "Copy" }
            p { a href={ "/console/credentials/" (id) } { "Done" } }
        },
        None => html! {
            p #gone { "The new secret was shown once and is no longer available. Rotate again if it was lost." }
            p { a href={ "/console/credentials/" (id) } { "Back to " (id) } }
        },
    };
    signed.page("revealed", "New secret", body)
}
