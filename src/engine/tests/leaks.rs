//! Leaked-key reports in the engine: each `[leaks] action` (revoke,
//! disable, flag) with its audit event and notice in the outbox, a second
//! report changing nothing, misses, passcodes without their account, and
//! who may report: the scope first, an account-scoped key answered NOT_FOUND
//! for another account's key (and nothing changed).

use super::*;
use crate::engine::{AuditQuery, LEAKED_ACTION, LeakOutcome, LeakReport};
use crate::lifecycle::{LeakAction, NoticeKind};
use crate::store::AuditEvent;

fn report(secret: &str) -> LeakReport<'_> {
    LeakReport {
        secret,
        source: "content",
        url: "https://github.com/octo/repo/blob/abc/config.yml",
    }
}

fn leaked_events(h: &Harness, outcome: &str) -> Vec<AuditEvent> {
    h.engine
        .list_audit(
            &admin(),
            &AuditQuery {
                filter: AuditFilter {
                    action: Some(LEAKED_ACTION.to_string()),
                    outcome: Some(outcome.to_string()),
                    ..AuditFilter::default()
                },
                ..AuditQuery::default()
            },
        )
        .unwrap()
        .events
}

fn leak_notices(h: &Harness) -> usize {
    let outbox = h.engine.store().outbox().unwrap();
    outbox
        .iter()
        .filter(|n| n.kind == NoticeKind::Leaked)
        .count()
}

/// Revoke (the default): REVOKED with reason "leaked", one audit event
/// with the url and source and not the secret, one notice to the
/// credential's contacts; a second report is a true positive that changes
/// nothing and queues no second notice.
#[tokio::test]
async fn revoke_revokes_once_with_audit_and_notice() {
    let h = harness();
    let (view, secret) = h.create("acme").await;
    let first = h
        .engine
        .report_leak(&admin(), &report(secret.expose()), LeakAction::Revoke)
        .await
        .unwrap();
    assert_eq!(first.outcome, LeakOutcome::Revoked);
    assert_eq!(first.credential_id, view.record.id);
    assert_eq!(first.account_id, "acme");
    assert_eq!(h.outcome(&secret), VerifyOutcome::Revoked);
    let record = h.engine.get(&admin(), &view.record.id).unwrap().record;
    assert_eq!(record.status_reason, "leaked");
    let events = leaked_events(&h, "ok");
    assert_eq!(events.len(), 1);
    let event = &events[0];
    assert_eq!(event.credential_id, view.record.id);
    assert_eq!(event.account_id, "acme");
    assert!(event.detail.contains("source: content"), "{}", event.detail);
    assert!(
        event
            .detail
            .contains("url: https://github.com/octo/repo/blob/abc/config.yml")
    );
    assert!(!event.detail.contains(secret.expose()));
    let notices = h.engine.store().outbox().unwrap();
    let notice = notices
        .iter()
        .find(|n| n.kind == NoticeKind::Leaked)
        .unwrap();
    assert_eq!(notice.credential_id, view.record.id);
    assert_eq!(notice.recipients, strings(&["ops@example.com"]));
    assert_eq!(notice.secret_hint, secret.hint());

    let again = h
        .engine
        .report_leak(&admin(), &report(secret.expose()), LeakAction::Revoke)
        .await
        .unwrap();
    assert_eq!(again.outcome, LeakOutcome::Unchanged);
    assert!(again.outcome.true_positive());
    assert_eq!(leak_notices(&h), 1);
    let events = leaked_events(&h, "ok");
    assert_eq!(events.len(), 2);
    assert!(events[1].detail.starts_with("unchanged (already revoked)"));
}

/// Disable: DISABLED (by an administrator, so a late use cannot bring it
/// back), audited and announced; reactivating it is an administrator's call.
#[tokio::test]
async fn disable_disables() {
    let h = harness();
    let (view, secret) = h.create("acme").await;
    let result = h
        .engine
        .report_leak(&admin(), &report(secret.expose()), LeakAction::Disable)
        .await
        .unwrap();
    assert_eq!(result.outcome, LeakOutcome::Disabled);
    assert_eq!(
        h.outcome(&secret),
        VerifyOutcome::Disabled(DisabledReason::Admin)
    );
    let record = h.engine.get(&admin(), &view.record.id).unwrap().record;
    assert_eq!(record.status, Status::Disabled);
    assert_eq!(record.status_reason, "leaked");
    assert_eq!(leaked_events(&h, "ok").len(), 1);
    assert_eq!(leak_notices(&h), 1);
    let again = h
        .engine
        .report_leak(&admin(), &report(secret.expose()), LeakAction::Disable)
        .await
        .unwrap();
    assert_eq!(again.outcome, LeakOutcome::Unchanged);
    assert_eq!(leak_notices(&h), 1);
}

/// Flag: the key still verifies; the audit event and the notice are
/// written all the same.
#[tokio::test]
async fn flag_changes_no_state() {
    let h = harness();
    let (view, secret) = h.create("acme").await;
    let before = h.engine.get(&admin(), &view.record.id).unwrap().record;
    let result = h
        .engine
        .report_leak(&admin(), &report(secret.expose()), LeakAction::Flag)
        .await
        .unwrap();
    assert_eq!(result.outcome, LeakOutcome::Flagged);
    assert!(matches!(h.outcome(&secret), VerifyOutcome::Valid { .. }));
    let after = h.engine.get(&admin(), &view.record.id).unwrap().record;
    assert_eq!(after.status, Status::Active);
    assert_eq!(after.updated_at, before.updated_at);
    let events = leaked_events(&h, "ok");
    assert_eq!(events.len(), 1);
    assert!(
        events[0].detail.starts_with("flagged;"),
        "{}",
        events[0].detail
    );
    assert_eq!(leak_notices(&h), 1);
}

/// Unknown, checksum-broken and garbage secrets are misses: nothing
/// audited as leaked, nothing queued. A passcode needs no account here.
#[tokio::test]
async fn misses_change_nothing_and_passcodes_are_found() {
    let h = harness();
    let (_, secret) = h.create("acme").await;
    let stranger = Secret::generate("credd", Environment::Live, Kind::ApiKey).unwrap();
    let mut broken = secret.expose().to_string();
    broken.pop();
    broken.push(if secret.expose().ends_with('0') {
        '1'
    } else {
        '0'
    });
    for miss in [stranger.expose(), broken.as_str(), "not a key at all"] {
        let result = h
            .engine
            .report_leak(&admin(), &report(miss), LeakAction::Revoke)
            .await
            .unwrap();
        assert_eq!(result.outcome, LeakOutcome::NotFound);
        assert!(!result.outcome.true_positive());
    }
    assert!(leaked_events(&h, "ok").is_empty());
    assert_eq!(leak_notices(&h), 0);
    assert!(matches!(h.outcome(&secret), VerifyOutcome::Valid { .. }));
    let empty = h
        .engine
        .report_leak(&admin(), &report(""), LeakAction::Revoke)
        .await;
    assert!(matches!(empty, Err(Error::InvalidArgument(_))), "{empty:?}");

    let (passcode, code) = h
        .engine
        .create(&admin(), new_cred("acme", Kind::Passcode))
        .await
        .unwrap();
    let result = h
        .engine
        .report_leak(&admin(), &report(code.expose()), LeakAction::Revoke)
        .await
        .unwrap();
    assert_eq!(result.outcome, LeakOutcome::Revoked);
    assert_eq!(result.credential_id, passcode.record.id);
}

/// A key without credentials:write is refused before any lookup; an
/// account-scoped key hears NOT_FOUND about another account's key, which
/// stays valid (the attempt is audited as denied), and revokes its own.
#[tokio::test]
async fn reporters_need_the_scope_and_the_account() {
    let h = harness();
    let (_, theirs) = h.create("globex").await;
    let (_, ours) = h.create("acme").await;
    let reader = Actor::admin_key("k_read", [Scope::CredentialsRead], None, String::new());
    let refused = h
        .engine
        .report_leak(&reader, &report(ours.expose()), LeakAction::Revoke)
        .await;
    assert!(
        matches!(refused, Err(Error::PermissionDenied(_))),
        "{refused:?}"
    );
    assert!(matches!(h.outcome(&ours), VerifyOutcome::Valid { .. }));

    let acme = Actor::admin_key(
        "k_acme",
        [Scope::CredentialsRead, Scope::CredentialsWrite],
        Some("acme".to_string()),
        String::new(),
    );
    let other = h
        .engine
        .report_leak(&acme, &report(theirs.expose()), LeakAction::Revoke)
        .await
        .unwrap();
    assert_eq!(other.outcome, LeakOutcome::NotFound);
    assert!(other.credential_id.is_empty() && other.account_id.is_empty());
    assert!(matches!(h.outcome(&theirs), VerifyOutcome::Valid { .. }));
    let denied = leaked_events(&h, "denied");
    assert!(
        denied.iter().any(|e| e.account_id == "globex"),
        "{denied:?}"
    );
    assert_eq!(leak_notices(&h), 0);

    let own = h
        .engine
        .report_leak(&acme, &report(ours.expose()), LeakAction::Revoke)
        .await
        .unwrap();
    assert_eq!(own.outcome, LeakOutcome::Revoked);
    assert_eq!(h.outcome(&ours), VerifyOutcome::Revoked);
}
