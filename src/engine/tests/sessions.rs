//! The session sweep over the session deadline index: only due entries are
//! read, touched sessions are rescheduled instead of removed, sessions of a
//! deleted user go when due, upgraded (early) entries and stale entries.

use zeroize::Zeroizing;

use super::users::{cheap, login_as, user};
use super::*;
use crate::lifecycle::SessionRecord;

async fn login(h: &Harness, name: &str) -> [u8; 32] {
    let (_, token) = h
        .engine
        .login(
            "shop",
            name,
            Zeroizing::new("password one".to_string()),
            None,
        )
        .await
        .unwrap();
    assert!(matches!(
        h.engine.verify(token.expose(), None, &[]).unwrap().outcome,
        VerifyOutcome::Valid { .. }
    ));
    h.engine.pepper.hash(token.expose()).0
}

async fn sessions_harness() -> Harness {
    let mut h = harness();
    cheap(&mut h);
    user(&h, "ann").await;
    user(&h, "bob").await;
    h
}

fn due_now(h: &Harness) -> usize {
    h.engine
        .store()
        .due_sessions(h.clock.now(), 100)
        .unwrap()
        .len()
}

/// Nothing is due before the idle timeout; at it, the idle session is
/// removed and the touched one moves to 30 minutes after its last use.
#[tokio::test]
async fn idle_sessions_go_and_touched_ones_are_rescheduled() {
    let h = sessions_harness().await;
    let used = login(&h, "ann").await;
    let idle = login(&h, "bob").await;
    h.clock.advance(Duration::minutes(20));
    let token_seen = h.clock.now();
    h.engine
        .session_touches
        .lock()
        .unwrap()
        .insert(used, token_seen);
    assert_eq!(due_now(&h), 0, "nothing due before the idle timeout");
    assert_eq!(h.engine.sweep_sessions().await.unwrap(), 0);
    h.clock.advance(Duration::minutes(10));
    assert_eq!(due_now(&h), 2, "both entries are at the idle deadline");
    assert_eq!(h.engine.sweep_sessions().await.unwrap(), 1);
    let store = h.engine.store();
    assert!(store.get_session(&idle).unwrap().is_none());
    let (_, due) = store.get_session_due(&used).unwrap().unwrap();
    assert_eq!(due, Some(token_seen + Duration::minutes(30)));
    assert_eq!(store.session_counts(), (1, 1));
    assert_eq!(due_now(&h), 0);
    h.clock.set(token_seen + Duration::minutes(30));
    assert_eq!(h.engine.sweep_sessions().await.unwrap(), 1);
    assert_eq!(store.session_counts(), (0, 0));
}

/// A pending (unflushed) use keeps a due session: the sweep flushes touches
/// first, then reschedules it.
#[tokio::test]
async fn a_pending_use_keeps_a_due_session() {
    let h = sessions_harness().await;
    let hash = login(&h, "ann").await;
    h.clock.advance(Duration::minutes(29));
    h.engine
        .session_touches
        .lock()
        .unwrap()
        .insert(hash, h.clock.now());
    h.clock.advance(Duration::minutes(1));
    assert_eq!(h.engine.sweep_sessions().await.unwrap(), 0);
    let session = h.engine.store().get_session(&hash).unwrap().unwrap();
    assert_eq!(session.last_seen_at, t0() + Duration::minutes(29));
}

/// A deleted user's session verifies NotFound at once and is removed by the
/// sweep when its entry comes due, even if it would still be live.
#[tokio::test]
async fn sessions_of_a_deleted_user_go_when_due() {
    let h = sessions_harness().await;
    let hash = login(&h, "ann").await;
    h.clock.advance(Duration::minutes(25));
    h.engine
        .session_touches
        .lock()
        .unwrap()
        .insert(hash, h.clock.now());
    h.engine.delete_user(&admin(), "shop", "ann").await.unwrap();
    h.clock.advance(Duration::minutes(5));
    assert_eq!(h.engine.sweep_sessions().await.unwrap(), 1);
    assert_eq!(h.engine.store().session_counts(), (0, 0));
}

/// A user deleted and created again under the same name does not inherit
/// the old user's sessions: they verify NOT_FOUND and the sweep removes
/// them when due, while the new user's own login works.
#[tokio::test]
async fn a_recreated_user_does_not_inherit_old_sessions() {
    let h = sessions_harness().await;
    let (_, old_token) = login_as(&h, "ann").await.unwrap();
    h.engine.delete_user(&admin(), "shop", "ann").await.unwrap();
    h.clock.advance(Duration::seconds(1));
    user(&h, "ann").await;
    assert_eq!(
        h.engine
            .verify(old_token.expose(), None, &[])
            .unwrap()
            .outcome,
        VerifyOutcome::NotFound
    );
    login(&h, "ann").await;
    h.clock.advance(Duration::minutes(29));
    let touched = login(&h, "ann").await;
    h.clock.advance(Duration::minutes(2));
    // The old session is over as the new user's first one; the one used
    // two minutes ago stays.
    assert_eq!(h.engine.sweep_sessions().await.unwrap(), 2);
    assert!(h.engine.store().get_session(&touched).unwrap().is_some());
}

/// Entries written by the schema 4 upgrade sit at `last_seen_at`, earlier
/// than the real end: the sweep keeps a live session and moves it to its
/// deadline, and removes one that is over.
#[tokio::test]
async fn upgraded_entries_are_rechecked() {
    let h = sessions_harness().await;
    let session = |id: &str, name: &str, seen: DateTime<Utc>| SessionRecord {
        id: id.to_string(),
        account_id: "shop".to_string(),
        username: name.to_string(),
        // Opened by the current users (created at t0), seen "earlier" as
        // far as the index is concerned.
        created_at: t0(),
        last_seen_at: seen,
        expires_at: t0() + Duration::hours(11),
    };
    let live = session("sess_live", "ann", t0() - Duration::minutes(5));
    let over = session("sess_over", "bob", t0() - Duration::minutes(40));
    let store = h.engine.store();
    store
        .load_sessions(&[
            ([1; 32], live.clone(), live.last_seen_at),
            ([2; 32], over.clone(), over.last_seen_at),
        ])
        .unwrap();
    assert_eq!(h.engine.sweep_sessions().await.unwrap(), 1);
    assert!(store.get_session(&[2; 32]).unwrap().is_none());
    let (_, due) = store.get_session_due(&[1; 32]).unwrap().unwrap();
    assert_eq!(due, Some(t0() + Duration::minutes(25)));
    assert_eq!(store.session_counts(), (1, 1));
}

/// An entry whose session names another entry is dropped, the session kept.
#[tokio::test]
async fn stale_entries_are_dropped() {
    let h = sessions_harness().await;
    let rec = SessionRecord {
        id: "sess_x".to_string(),
        account_id: "shop".to_string(),
        username: "ann".to_string(),
        created_at: t0(),
        last_seen_at: t0(),
        expires_at: t0() + Duration::hours(12),
    };
    let store = h.engine.store();
    let later = t0() + Duration::minutes(30);
    store
        .load_sessions(&[([3; 32], rec.clone(), t0())])
        .unwrap();
    store.load_sessions(&[([3; 32], rec, later)]).unwrap();
    assert_eq!(store.session_counts(), (1, 2));
    assert_eq!(h.engine.sweep_sessions().await.unwrap(), 0);
    assert_eq!(store.session_counts(), (1, 1));
    assert_eq!(
        store.get_session_due(&[3; 32]).unwrap().unwrap().1,
        Some(later)
    );
}
