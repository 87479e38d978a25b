//! How credctl prints answers: readable tables, or one JSON object per
//! answer with `--json`.

use chrono::DateTime;
use comfy_table::{Table, presets::UTF8_BORDERS_ONLY};
use serde_json::{Value, json};

use credd::api::pb;

/// Renders responses as tables or JSON.
pub(crate) struct Output {
    /// One JSON object per answer instead of tables.
    pub json: bool,
}

pub(crate) fn time(t: Option<&prost_types::Timestamp>) -> String {
    t.and_then(|t| DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap_or(0)))
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// The name of an enum value as the proto spells it, e.g.
/// `enum_name(c.status, pb::Status::as_str_name)` is "STATUS_ACTIVE".
pub(crate) fn enum_name<E: TryFrom<i32>>(value: i32, name: fn(&E) -> &'static str) -> String {
    E::try_from(value)
        .ok()
        .as_ref()
        .map_or("UNKNOWN", name)
        .to_string()
}

/// The same without the enum's prefix ("ACTIVE" for STATUS_ACTIVE), for
/// tables. The prefix is that of the enum's zero value, `<PREFIX>UNSPECIFIED`.
pub(crate) fn short_name<E: TryFrom<i32> + Default>(
    value: i32,
    name: fn(&E) -> &'static str,
) -> String {
    let prefix = name(&E::default()).trim_end_matches("UNSPECIFIED");
    enum_name(value, name)
        .trim_start_matches(prefix)
        .to_string()
}

/// A kind of record credctl prints: as one table row, or as JSON (the
/// object alone when there is one, else `{"<PLURAL>": [...]}`).
pub(crate) trait Record {
    /// The key of a list of them in JSON, e.g. "accounts".
    const PLURAL: &'static str;
    /// The table's column names.
    const HEADER: &'static [&'static str];
    fn to_json(&self) -> Value;
    fn row(&self) -> Vec<String>;
}

pub(crate) fn credential_json(c: &pb::Credential) -> Value {
    json!({
        "id": c.id,
        "account_id": c.account_id,
        "kind": enum_name(c.kind, pb::Kind::as_str_name),
        "environment": enum_name(c.environment, pb::Environment::as_str_name),
        "name": c.name,
        "description": c.description,
        "scopes": c.scopes,
        "status": enum_name(c.status, pb::Status::as_str_name),
        "disabled_reason": enum_name(c.disabled_reason, pb::DisabledReason::as_str_name),
        "status_reason": c.status_reason,
        "created_at": time(c.created_at.as_ref()),
        "updated_at": time(c.updated_at.as_ref()),
        "expires_at": time(c.expires_at.as_ref()),
        "last_used_at": time(c.last_used_at.as_ref()),
        "reactivated_at": time(c.reactivated_at.as_ref()),
        "secret_hint": c.secret_hint,
        "previous_secret_hint": c.previous_secret_hint,
        "rotation_retires_at": time(c.rotation_retires_at.as_ref()),
        "notify_emails": c.notify_emails,
        "client_id": c.client_id,
        "grant_id": c.grant_id,
        "username": c.username,
        "metadata": metadata_json(&c.metadata),
        "credits": c.credits.as_ref().map(|k| json!({
            "remaining": k.remaining,
            "refill": k.refill.as_ref().map(|r| json!({
                "interval": enum_name(r.interval, pb::RefillInterval::as_str_name),
                "amount": r.amount,
                "day": r.day,
            })),
        })),
        "next_refill_at": time(c.next_refill_at.as_ref()),
        "expires_in_s": c.expires_in.as_ref().map(|d| d.seconds),
        "expiring_soon": c.expiring_soon,
        "rate_limits": crate::rate_limits::rules_json(&c.rate_limits),
    })
}

/// A span the way a table shows it: its two largest units, rounded down
/// ("11d 23h", "5h", "3m 20s", "40s").
pub(crate) fn short_span(d: &prost_types::Duration) -> String {
    const UNITS: [(i64, &str); 4] = [(86_400, "d"), (3_600, "h"), (60, "m"), (1, "s")];
    let s = d.seconds.max(0);
    let Some(first) = UNITS.iter().position(|(size, _)| s >= *size) else {
        return "0s".to_string();
    };
    let (size, unit) = UNITS[first];
    let mut text = format!("{}{unit}", s / size);
    if let Some((next, next_unit)) = UNITS.get(first + 1) {
        let rest = (s % size) / next;
        if rest > 0 {
            text.push_str(&format!(" {rest}{next_unit}"));
        }
    }
    text
}

/// When a credential expires, for tables: "in 12d (soon)" inside the
/// warning window, "in 200d" before it, and the date once nothing is left
/// (expired or revoked).
pub(crate) fn expires_cell(
    expires_in: Option<&prost_types::Duration>,
    expiring_soon: bool,
    expires_at: Option<&prost_types::Timestamp>,
) -> String {
    match expires_in {
        Some(d) if expiring_soon => format!("in {} (soon)", short_span(d)),
        Some(d) => format!("in {}", short_span(d)),
        None => time(expires_at).get(..10).unwrap_or_default().to_string(),
    }
}

/// Metadata as the JSON object it is (null when there is none; a string
/// if the server sent something that is not JSON).
pub(crate) fn metadata_json(text: &str) -> Value {
    if text.is_empty() {
        return Value::Null;
    }
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
}

/// What a table shows for metadata: how many keys it has, not the keys.
fn metadata_marker(text: &str) -> String {
    match metadata_json(text) {
        Value::Null => String::new(),
        Value::Object(map) if map.len() == 1 => "1 key (--json shows it)".to_string(),
        Value::Object(map) => format!("{} keys (--json shows them)", map.len()),
        _ => "set (--json shows it)".to_string(),
    }
}

impl Output {
    pub(crate) fn credential(&self, credential: Option<pb::Credential>) {
        if let Some(c) = credential {
            let mut value = credential_json(&c);
            if !self.json {
                value["metadata"] = Value::String(metadata_marker(&c.metadata));
                if let Value::Object(fields) = &mut value {
                    fields.remove("expires_in_s");
                    fields.remove("expiring_soon");
                    let cell = expires_cell(c.expires_in.as_ref(), c.expiring_soon, None);
                    fields.insert("expires_in".to_string(), Value::String(cell));
                }
                value["rate_limits"] =
                    Value::String(crate::rate_limits::rules_text(&c.rate_limits));
            }
            self.object(value);
        }
    }

    /// One JSON object, or a two-column table of its fields that are set
    /// (null, empty strings and lists and `*_UNSPECIFIED` values left out).
    pub(crate) fn object(&self, value: Value) {
        if self.json {
            println!("{value}");
            return;
        }
        let mut table = Table::new();
        table.load_preset(UTF8_BORDERS_ONLY);
        if let Value::Object(fields) = value {
            for (key, value) in fields {
                let shown = match value {
                    Value::Null => String::new(),
                    Value::String(s) => s,
                    Value::Array(items) => items
                        .iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(", "),
                    other => other.to_string(),
                };
                if !shown.is_empty() && !shown.ends_with("_UNSPECIFIED") {
                    table.add_row(vec![key, shown]);
                }
            }
        }
        println!("{table}");
    }

    /// Records as a table, or as JSON (see [`Record`]).
    pub(crate) fn records<R: Record>(&self, records: &[R]) {
        if self.json {
            let items: Vec<Value> = records.iter().map(R::to_json).collect();
            match items.as_slice() {
                [one] => println!("{one}"),
                _ => println!("{}", json!({ R::PLURAL: items })),
            }
            return;
        }
        let mut table = Table::new();
        table.load_preset(UTF8_BORDERS_ONLY);
        table.set_header(R::HEADER.to_vec());
        for record in records {
            table.add_row(record.row());
        }
        println!("{table}");
    }

    pub(crate) fn credential_with_secret(&self, credential: Option<pb::Credential>, secret: &str) {
        if self.json {
            let mut value = credential
                .as_ref()
                .map(credential_json)
                .unwrap_or(json!({}));
            value["secret"] = Value::String(secret.to_string());
            println!("{value}");
            return;
        }
        self.credential(credential);
        println!("secret: {secret}");
        println!("This secret is shown once. Store it now; credd keeps only a hash.");
    }

    pub(crate) fn list(&self, credentials: &[pb::Credential], next_page_token: &str) {
        if self.json {
            let items: Vec<Value> = credentials.iter().map(credential_json).collect();
            println!(
                "{}",
                json!({ "credentials": items, "next_page_token": next_page_token })
            );
            return;
        }
        let mut table = Table::new();
        table.load_preset(UTF8_BORDERS_ONLY);
        table.set_header(vec![
            "ID",
            "ACCOUNT",
            "KIND",
            "ENV",
            "NAME",
            "STATUS",
            "HINT",
            "EXPIRES",
            "LAST USED",
        ]);
        for c in credentials {
            table.add_row(vec![
                c.id.clone(),
                c.account_id.clone(),
                short_name(c.kind, pb::Kind::as_str_name),
                short_name(c.environment, pb::Environment::as_str_name),
                c.name.clone(),
                short_name(c.status, pb::Status::as_str_name),
                c.secret_hint.clone(),
                expires_cell(
                    c.expires_in.as_ref(),
                    c.expiring_soon,
                    c.expires_at.as_ref(),
                ),
                time(c.last_used_at.as_ref()),
            ]);
        }
        println!("{table}");
        if !next_page_token.is_empty() {
            println!("more: --page-token {next_page_token}");
        }
    }

    pub(crate) fn audit(&self, events: &[pb::AuditEvent], next_page_token: &str) {
        let outcome = |e: &pb::AuditEvent| {
            short_name(e.outcome, pb::AuditOutcome::as_str_name).to_lowercase()
        };
        if self.json {
            let items: Vec<Value> = events
                .iter()
                .map(|e| {
                    json!({
                        "seq": e.seq,
                        "at": time(e.at.as_ref()),
                        "actor": e.actor,
                        "action": e.action,
                        "credential_id": e.credential_id,
                        "account_id": e.account_id,
                        "outcome": outcome(e),
                        "detail": e.detail,
                        "request_id": e.request_id,
                    })
                })
                .collect();
            println!(
                "{}",
                json!({ "events": items, "next_page_token": next_page_token })
            );
            return;
        }
        let mut table = Table::new();
        table.load_preset(UTF8_BORDERS_ONLY);
        table.set_header(vec![
            "SEQ",
            "AT",
            "ACTOR",
            "ACTION",
            "CREDENTIAL",
            "ACCOUNT",
            "OUTCOME",
            "DETAIL",
        ]);
        for e in events {
            table.add_row(vec![
                e.seq.to_string(),
                time(e.at.as_ref()),
                e.actor.clone(),
                e.action.clone(),
                e.credential_id.clone(),
                e.account_id.clone(),
                outcome(e),
                e.detail.clone(),
            ]);
        }
        println!("{table}");
        if !next_page_token.is_empty() {
            println!("more: --page-token {next_page_token}");
        }
    }

    pub(crate) fn verification(&self, r: &pb::VerifyResponse) {
        if self.json {
            println!("{}", verification_json(r));
            return;
        }
        let mut table = Table::new();
        table.load_preset(UTF8_BORDERS_ONLY);
        for (key, value) in verification_rows(r) {
            table.add_row(vec![key.to_string(), value]);
        }
        println!("{table}");
    }
}

/// A Verify answer as JSON, every field.
pub(crate) fn verification_json(r: &pb::VerifyResponse) -> Value {
    json!({
        "result": enum_name(r.result, pb::VerifyResult::as_str_name),
        "credential_id": r.credential_id,
        "account_id": r.account_id,
        "kind": enum_name(r.kind, pb::Kind::as_str_name),
        "environment": enum_name(r.environment, pb::Environment::as_str_name),
        "scopes": r.scopes,
        "expires_at": time(r.expires_at.as_ref()),
        "superseded": r.superseded,
        "retires_at": time(r.retires_at.as_ref()),
        "disabled_reason": enum_name(r.disabled_reason, pb::DisabledReason::as_str_name),
        "retry_after_s": r.retry_after.as_ref().map(|d| d.seconds),
        "username": r.username,
        "user_role": enum_name(r.user_role, pb::UserRole::as_str_name),
        "client_id": r.client_id,
        "acting_for_account_id": r.acting_for_account_id,
        "grant_id": r.grant_id,
        "metadata": metadata_json(&r.metadata),
        "remaining": r.remaining,
        "expires_in_s": r.expires_in.as_ref().map(|d| d.seconds),
        "expiring_soon": r.expiring_soon,
        "rate_limits": crate::rate_limits::states_json(&r.rate_limits),
    })
}

/// A Verify answer as table rows: the result, then what is set.
fn verification_rows(r: &pb::VerifyResponse) -> Vec<(&'static str, String)> {
    let mut rows = vec![(
        "result",
        short_name(r.result, pb::VerifyResult::as_str_name),
    )];
    if !r.credential_id.is_empty() {
        rows.push(("credential_id", r.credential_id.clone()));
        rows.push(("account_id", r.account_id.clone()));
        rows.push(("scopes", r.scopes.join(", ")));
        rows.push(("expires_at", time(r.expires_at.as_ref())));
        if r.expires_in.is_some() {
            let cell = expires_cell(r.expires_in.as_ref(), r.expiring_soon, None);
            rows.push(("expires", cell));
        }
    }
    if r.superseded {
        rows.push(("superseded_until", time(r.retires_at.as_ref())));
    }
    if r.disabled_reason != 0 {
        let reason = short_name(r.disabled_reason, pb::DisabledReason::as_str_name);
        rows.push(("disabled_reason", reason));
    }
    if let Some(left) = r.remaining {
        rows.push(("remaining", left.to_string()));
    }
    if let Some(d) = &r.retry_after {
        rows.push(("retry_after", format!("{}s", d.seconds)));
    }
    if !r.username.is_empty() {
        let role = short_name(r.user_role, pb::UserRole::as_str_name);
        rows.push(("user", format!("{} ({role})", r.username)));
    }
    let set = [
        ("client_id", &r.client_id),
        ("acting_for_account_id", &r.acting_for_account_id),
        ("grant_id", &r.grant_id),
    ];
    for (key, value) in set {
        if !value.is_empty() {
            rows.push((key, value.clone()));
        }
    }
    if !r.metadata.is_empty() {
        rows.push(("metadata", metadata_marker(&r.metadata)));
    }
    if !r.rate_limits.is_empty() {
        rows.push((
            "rate_limits",
            crate::rate_limits::states_text(&r.rate_limits),
        ));
    }
    rows
}
