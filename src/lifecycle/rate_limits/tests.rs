use super::*;
use crate::lifecycle::fixtures::at;

fn rule(name: &str, limit: u32, secs: u64) -> RateLimitRule {
    RateLimitRule {
        name: name.to_string(),
        limit,
        duration: Duration::from_secs(secs),
    }
}

fn ask(name: &str, cost: u32) -> LimitRequest {
    LimitRequest {
        name: name.to_string(),
        cost,
    }
}

fn applied(name: &str, limit: u32, secs: u64, cost: u32) -> Applied {
    Applied {
        owner: Owner::Credential,
        rule: rule(name, limit, secs),
        cost,
    }
}

/// Runs `decide` and keeps the windows when allowed, as the engine does.
fn run(limits: &[Applied], windows: &mut Vec<Option<Window>>, now: DateTime<Utc>) -> LimitDecision {
    let decision = decide(limits, windows, now);
    if let LimitDecision::Allowed { windows: new, .. } = &decision {
        windows.clone_from(new);
    }
    decision
}

fn remaining(decision: &LimitDecision) -> Vec<u32> {
    let states = match decision {
        LimitDecision::Allowed { states, .. } | LimitDecision::Limited { states, .. } => states,
    };
    states.iter().map(|s| s.remaining).collect()
}

// ---- bounds ----------------------------------------------------------------

#[test]
fn names_are_short_lowercase_words() {
    for good in ["a", "api", "api.v1:read-all_x", &"x".repeat(64)] {
        assert!(check_name("n", good).is_ok(), "{good}");
    }
    for bad in ["", "API", "a b", "é", &"x".repeat(65)] {
        let err = check_name("rate_limits[0].name", bad).unwrap_err();
        assert!(err.starts_with("rate_limits[0].name"), "{err}");
    }
}

#[test]
fn a_limit_of_zero_is_refused_naming_the_field() {
    let err = check_rules("rate_limits", &[rule("api", 0, 60)]).unwrap_err();
    assert!(err.contains("rate_limits[0].limit"), "{err}");
    let err = check_rule("r", &rule("api", MAX_LIMIT + 1, 60)).unwrap_err();
    assert!(err.contains("r.limit"), "{err}");
    assert!(check_rule("r", &rule("api", MAX_LIMIT, 60)).is_ok());
}

#[test]
fn durations_are_one_second_to_thirty_days_in_whole_milliseconds() {
    let with = |d: Duration| RateLimitRule {
        duration: d,
        ..rule("api", 1, 1)
    };
    let err = check_rule("r", &with(Duration::from_millis(500))).unwrap_err();
    assert!(err.contains("r.duration"), "{err}");
    assert!(check_rule("r", &with(Duration::from_millis(1))).is_err());
    assert!(check_rule("r", &with(Duration::ZERO)).is_err());
    assert!(check_rule("r", &with(MIN_DURATION)).is_ok());
    assert!(check_rule("r", &with(MAX_DURATION)).is_ok());
    assert!(check_rule("r", &with(MAX_DURATION + Duration::from_secs(1))).is_err());
    assert!(check_rule("r", &with(Duration::from_millis(1500))).is_ok());
    let err = check_rule("r", &with(Duration::new(1, 1))).unwrap_err();
    assert!(err.contains("whole milliseconds"), "{err}");
}

#[test]
fn at_most_sixteen_rules_each_name_once_and_default_is_reserved() {
    let sixteen: Vec<_> = (0..16).map(|i| rule(&format!("l{i}"), 1, 1)).collect();
    assert!(check_rules("rate_limits", &sixteen).is_ok());
    let mut seventeen = sixteen.clone();
    seventeen.push(rule("l16", 1, 1));
    let err = check_rules("rate_limits", &seventeen).unwrap_err();
    assert!(err.contains("at most 16"), "{err}");
    let err = check_rules("rate_limits", &[rule("a", 1, 1), rule("a", 2, 2)]).unwrap_err();
    assert!(err.contains("rate_limits[1].name"), "{err}");
    let err = check_rules("rate_limits", &[rule("default", 1, 1)]).unwrap_err();
    assert!(err.contains("rate_limits[0].name"), "{err}");
}

#[test]
fn requests_are_checked_before_any_lookup() {
    assert!(check_requests("rate_limits", &[ask("a", 0), ask("b", MAX_LIMIT)]).is_ok());
    let err = check_requests("rate_limits", &[ask("a", MAX_LIMIT + 1)]).unwrap_err();
    assert!(err.contains("rate_limits[0].cost"), "{err}");
    let err = check_requests("rate_limits", &[ask("a", 1), ask("a", 1)]).unwrap_err();
    assert!(err.contains("appears twice"), "{err}");
    let err = check_requests("rate_limits", &[ask("A", 1)]).unwrap_err();
    assert!(err.contains("rate_limits[0].name"), "{err}");
    let many: Vec<_> = (0..=MAX_REQUESTS)
        .map(|i| ask(&format!("l{i}"), 1))
        .collect();
    assert!(check_requests("rate_limits", &many).is_err());
}

// ---- resolution --------------------------------------------------------------

#[test]
fn names_resolve_on_the_credential_first_then_the_account() {
    let credential = [rule("api", 10, 60)];
    let account = [rule("api", 1000, 60), rule("search", 5, 1)];
    let got = resolve(
        "rate_limits",
        &[ask("search", 2), ask("api", 1)],
        &credential,
        &account,
        false,
    )
    .unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(
        (got[0].owner, got[0].rule.limit, got[0].cost),
        (Owner::Account, 5, 2)
    );
    assert_eq!((got[1].owner, got[1].rule.limit), (Owner::Credential, 10));
}

#[test]
fn an_unknown_name_or_an_impossible_cost_is_refused() {
    let credential = [rule("api", 10, 60)];
    let err = resolve("rate_limits", &[ask("apii", 1)], &credential, &[], true).unwrap_err();
    assert!(
        err.contains("rate_limits[0].name") && err.contains("apii"),
        "{err}"
    );
    let err = resolve("rate_limits", &[ask("api", 11)], &credential, &[], false).unwrap_err();
    assert!(err.contains("rate_limits[0].cost"), "{err}");
    assert!(resolve("rate_limits", &[ask("api", 10)], &credential, &[], false).is_ok());
}

#[test]
fn default_names_the_account_rate_limit_which_applies_anyway() {
    assert_eq!(
        resolve("r", &[ask("default", 1)], &[], &[], true).unwrap(),
        Vec::new()
    );
    assert!(resolve("r", &[ask("default", 1)], &[], &[], false).is_err());
    assert!(resolve("r", &[ask("default", 2)], &[], &[], true).is_err());
}

// ---- the decision ------------------------------------------------------------

#[test]
fn spends_until_the_limit_then_refuses_until_the_window_ends() {
    let limits = [applied("api", 3, 60, 1)];
    let mut windows = vec![None];
    let t0 = at("2026-05-01T00:00:00Z");
    for left in [2, 1, 0] {
        let decision = run(&limits, &mut windows, t0 + chrono::Duration::seconds(10));
        assert!(matches!(decision, LimitDecision::Allowed { .. }));
        assert_eq!(remaining(&decision), vec![left]);
    }
    let t1 = t0 + chrono::Duration::seconds(40);
    match run(&limits, &mut windows, t1) {
        LimitDecision::Limited {
            retry_after,
            states,
        } => {
            // The window opened at t0+10s and ends at t0+70s.
            assert_eq!(retry_after, Duration::from_secs(30));
            assert_eq!(states[0].reset, Duration::from_secs(30));
            assert_eq!(states[0].remaining, 0);
        }
        other => panic!("{other:?}"),
    }
    // Exactly at the end a new window opens.
    let decision = run(&limits, &mut windows, t0 + chrono::Duration::seconds(70));
    assert_eq!(remaining(&decision), vec![2]);
    if let LimitDecision::Allowed { states, .. } = decision {
        assert_eq!(states[0].reset, Duration::from_secs(60));
    }
}

#[test]
fn all_or_nothing_spends_nothing_when_one_limit_is_exhausted() {
    let now = at("2026-05-01T00:00:00Z");
    let first = applied("a", 10, 60, 1);
    let second = applied("b", 1, 60, 1);
    let mut windows = vec![None, None];
    assert!(matches!(
        run(&[first.clone(), second.clone()], &mut windows, now),
        LimitDecision::Allowed { .. }
    ));
    let before = windows.clone();
    for _ in 0..5 {
        let decision = run(&[first.clone(), second.clone()], &mut windows, now);
        assert!(matches!(decision, LimitDecision::Limited { .. }));
        assert_eq!(remaining(&decision), vec![9, 0]);
    }
    assert_eq!(windows, before, "a refused request spent something");
}

#[test]
fn retry_after_is_the_latest_end_among_the_limits_that_do_not_fit() {
    let t0 = at("2026-05-01T00:00:00Z");
    let short = applied("short", 1, 10, 1);
    let long = applied("long", 1, 100, 1);
    let roomy = applied("roomy", 100, 1000, 1);
    let limits = [short, long, roomy];
    let mut windows = vec![None, None, None];
    run(&limits, &mut windows, t0);
    match run(&limits, &mut windows, t0 + chrono::Duration::seconds(5)) {
        LimitDecision::Limited { retry_after, .. } => {
            assert_eq!(retry_after, Duration::from_secs(95));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn cost_zero_checks_without_spending_and_fails_on_a_full_window() {
    let now = at("2026-05-01T00:00:00Z");
    let check = [applied("a", 2, 60, 0)];
    let spend = [applied("a", 2, 60, 2)];
    let mut windows = vec![None];
    let decision = run(&check, &mut windows, now);
    assert_eq!(remaining(&decision), vec![2]);
    assert_eq!(windows, vec![None], "a check opened a window");
    run(&spend, &mut windows, now);
    assert!(matches!(
        run(&check, &mut windows, now),
        LimitDecision::Limited { .. }
    ));
}

#[test]
fn a_cost_above_what_is_left_is_refused_whole() {
    let now = at("2026-05-01T00:00:00Z");
    let mut windows = vec![None];
    run(&[applied("a", 5, 60, 3)], &mut windows, now);
    let decision = run(&[applied("a", 5, 60, 3)], &mut windows, now);
    assert!(matches!(decision, LimitDecision::Limited { .. }));
    assert_eq!(remaining(&decision), vec![2]);
    let decision = run(&[applied("a", 5, 60, 2)], &mut windows, now);
    assert_eq!(remaining(&decision), vec![0]);
}

#[test]
fn a_lowered_limit_applies_at_once_and_a_new_duration_from_the_next_window() {
    let t0 = at("2026-05-01T00:00:00Z");
    let mut windows = vec![None];
    run(&[applied("a", 10, 60, 4)], &mut windows, t0);
    let decision = run(&[applied("a", 3, 600, 1)], &mut windows, t0);
    match decision {
        LimitDecision::Limited {
            retry_after,
            states,
        } => {
            assert_eq!(retry_after, Duration::from_secs(60));
            assert_eq!(states[0].remaining, 0);
        }
        other => panic!("{other:?}"),
    }
    run(
        &[applied("a", 3, 600, 1)],
        &mut windows,
        t0 + chrono::Duration::seconds(60),
    );
    assert_eq!(
        windows[0].map(|w| w.end),
        Some(t0 + chrono::Duration::seconds(660))
    );
}

#[test]
fn the_tightest_state_has_the_fewest_units_left() {
    let state = |name: &str, remaining, reset| LimitState {
        name: name.to_string(),
        limit: 10,
        remaining,
        reset: Duration::from_secs(reset),
    };
    let states = [state("a", 5, 10), state("b", 2, 10), state("c", 2, 50)];
    assert_eq!(tightest(&states).map(|s| s.name.as_str()), Some("c"));
    assert_eq!(tightest(&[]), None);
}

/// A cluster's nodes share a limit evenly, rounded down, never below 1; one
/// node enforces all of it.
#[test]
fn node_share_splits_a_limit_evenly() {
    assert_eq!(node_share(100, 1), 100);
    assert_eq!(node_share(100, 3), 33);
    assert_eq!(node_share(2, 3), 1);
    assert_eq!(node_share(7, 0), 7);
}
