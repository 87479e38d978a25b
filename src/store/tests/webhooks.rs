//! Webhook events written with the commits that announce them, on every
//! backend: one event per announcing audit row (none for others or for
//! refusals), the credential as the commit left it (as it was, for a
//! deletion), and the fan-out taking each event exactly once.

use super::*;
use crate::store::{DeliveryState, WebhookDelivery};

fn announcing(id: &str, action: &'static str) -> AuditEntry {
    AuditEntry {
        action,
        ..audit(id)
    }
}

#[test]
fn events_are_written_with_the_commit_and_fanned_out_once() {
    for fresh in Fresh::each() {
        let store = fresh.open();
        let v1 = record("cred_a", "acme", 1);
        let created = announcing("cred_a", "credential.create");
        store.commit(None, Some(&v1), Some(&created)).unwrap();
        let mut v2 = v1.clone();
        v2.name = "renamed".into();
        store
            .commit(Some(&v1), Some(&v2), Some(&audit("cred_a")))
            .unwrap();
        let mut refused = announcing("cred_a", "credential.revoke");
        refused.outcome = "denied";
        store.append_audit(&refused).unwrap();
        store
            .commit(
                Some(&v2),
                None,
                Some(&announcing("cred_a", "credential.delete")),
            )
            .unwrap();
        let events = store.pending_webhook_events(100).unwrap();
        let kinds: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
        assert_eq!(kinds, ["credential.created", "credential.deleted"]);
        let names: Vec<&str> = events
            .iter()
            .map(|e| e.credential.as_ref().map_or("", |c| c.name.as_str()))
            .collect();
        assert_eq!(
            names,
            [v1.name.as_str(), "renamed"],
            "as committed; the deletion's as it was"
        );
        assert_ne!(events[0].id, events[1].id);
        let delivery = WebhookDelivery {
            endpoint_id: "wh_1".into(),
            seq: events[0].seq,
            event_id: events[0].id.clone(),
            event_type: events[0].event_type.clone(),
            body: "{}".into(),
            created_at: t0(),
            state: DeliveryState::Pending,
            next_at: Some(t0()),
            attempts: Vec::new(),
        };
        store
            .fan_out_webhook(&events[0], std::slice::from_ref(&delivery))
            .unwrap();
        store
            .fan_out_webhook(&events[0], std::slice::from_ref(&delivery))
            .unwrap();
        assert_eq!(store.pending_webhook_events(100).unwrap().len(), 1);
        assert_eq!(
            store.due_webhook_deliveries(t0(), 10).unwrap(),
            std::slice::from_ref(&delivery)
        );
        assert!(
            store
                .due_webhook_deliveries(t0() - Duration::seconds(1), 10)
                .unwrap()
                .is_empty()
        );
        let mut done = delivery.clone();
        done.state = DeliveryState::Delivered;
        done.next_at = None;
        store
            .update_webhook_delivery(&delivery, &done, None)
            .unwrap();
        assert!(store.due_webhook_deliveries(t0(), 10).unwrap().is_empty());
        assert_eq!(store.deliveries_of("wh_1", None, 10).unwrap(), [done]);
    }
}
