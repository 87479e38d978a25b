use std::net::IpAddr;
use std::time::Duration;

use chrono::{TimeZone, Utc};

use super::*;

fn at(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_800_000_000 + secs, 0).unwrap()
}

#[test]
fn every_mapped_action_names_a_listed_type_and_refusals_announce_nothing() {
    for action in [
        "credential.create",
        "credential.import",
        "credential.revoke",
        "lifecycle.expire",
        "lifecycle.expiry_warning",
        "lifecycle.disable_inactivity",
        "lifecycle.delete_inactivity",
        "lifecycle.retire_rotation",
        "credential.leaked",
        "account.suspend",
        "session.expire",
    ] {
        let t = event_type(action, "ok").unwrap();
        assert!(EVENT_TYPES.contains(&t), "{action} -> {t}");
        assert_eq!(event_type(action, "denied"), None);
    }
    assert_eq!(event_type("credential.get", "ok"), None);
    assert_eq!(event_type("store.backup", "ok"), None);
    assert_eq!(
        event_type("lifecycle.expiry_warning", "ok"),
        Some("credential.expiring")
    );
}

#[test]
fn filters_take_types_and_prefixes_and_refuse_unknown_names() {
    assert!(check_filter(&[]).is_ok());
    assert!(check_filter(&["credential.revoked".into(), "account.*".into()]).is_ok());
    let err = check_filter(&["credential.revokd".into()]).unwrap_err();
    assert!(err.to_string().contains("credential.revokd"), "{err}");
    assert!(check_filter(&["nothing.*".into()]).is_err());
}

#[test]
fn subscription_follows_account_filter_state_and_creation_time() {
    let filter = vec!["credential.*".to_string()];
    let sub = Subscriber {
        account: Some("acme"),
        filter: &filter,
        enabled: true,
        created_at: at(10),
    };
    assert!(subscribed(sub, "credential.revoked", "acme", at(10)));
    assert!(!subscribed(sub, "credential.revoked", "other", at(11)));
    assert!(!subscribed(sub, "account.suspended", "acme", at(11)));
    assert!(!subscribed(sub, "credential.revoked", "acme", at(9)));
    let global = Subscriber {
        account: None,
        filter: &[],
        enabled: true,
        created_at: at(0),
    };
    assert!(subscribed(global, "user.deleted", "any", at(1)));
    assert!(!subscribed(
        Subscriber {
            enabled: false,
            ..global
        },
        "user.deleted",
        "any",
        at(1)
    ));
}

#[test]
fn answers_are_classified_and_redirects_fail() {
    let now = at(0);
    assert_eq!(answer(Some(204), None, now), Answer::Delivered);
    assert_eq!(answer(Some(410), None, now), Answer::Gone);
    assert_eq!(
        answer(Some(302), None, now),
        Answer::Failed { retry_after: None }
    );
    assert_eq!(
        answer(None, None, now),
        Answer::Failed { retry_after: None }
    );
    assert_eq!(
        answer(Some(429), Some("7"), now),
        Answer::Failed {
            retry_after: Some(Duration::from_secs(7))
        }
    );
    assert_eq!(
        answer(Some(500), Some("7"), now),
        Answer::Failed { retry_after: None }
    );
    let date = (now + chrono::Duration::seconds(30)).to_rfc2822();
    assert_eq!(parse_retry_after(&date, now), Some(Duration::from_secs(30)));
    assert_eq!(
        parse_retry_after("999999", now),
        Some(Duration::from_secs(86_400))
    );
    assert_eq!(parse_retry_after("soon", now), None);
}

#[test]
fn the_schedule_spans_about_three_days_and_ends() {
    let total: Duration = DEFAULT_SCHEDULE.iter().sum();
    assert!(total > Duration::from_secs(72 * 3600) && total < Duration::from_secs(80 * 3600));
    let now = at(0);
    assert_eq!(next_attempt(DEFAULT_SCHEDULE, 0, None, 0.5, now), Some(now));
    assert_eq!(
        next_attempt(DEFAULT_SCHEDULE, 1, None, 0.0, now),
        Some(now + chrono::Duration::seconds(5))
    );
    let jittered = next_attempt(DEFAULT_SCHEDULE, 2, None, 0.99, now).unwrap();
    assert!(jittered > now + chrono::Duration::seconds(300));
    assert!(jittered < now + chrono::Duration::seconds(331));
    assert_eq!(
        next_attempt(DEFAULT_SCHEDULE, 1, Some(Duration::from_secs(60)), 0.0, now),
        Some(now + chrono::Duration::seconds(60))
    );
    assert_eq!(
        next_attempt(DEFAULT_SCHEDULE, DEFAULT_SCHEDULE.len(), None, 0.0, now),
        None
    );
}

#[test]
fn private_and_special_addresses_are_forbidden() {
    for bad in [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "255.255.255.255",
        "::1",
        "fd00::1",
        "fe80::1",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "ff02::1",
    ] {
        assert!(forbidden_address(bad.parse::<IpAddr>().unwrap()), "{bad}");
    }
    for good in ["93.184.216.34", "8.8.8.8", "2606:4700::1111"] {
        assert!(
            !forbidden_address(good.parse::<IpAddr>().unwrap()),
            "{good}"
        );
    }
}
