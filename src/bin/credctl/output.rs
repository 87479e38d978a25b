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

fn enum_name(name: Option<&str>) -> String {
    name.unwrap_or("UNKNOWN").to_string()
}

fn kind_name(value: i32) -> String {
    enum_name(pb::Kind::try_from(value).ok().map(|k| k.as_str_name()))
}

fn env_name(value: i32) -> String {
    enum_name(
        pb::Environment::try_from(value)
            .ok()
            .map(|k| k.as_str_name()),
    )
}

fn status_name(value: i32) -> String {
    enum_name(pb::Status::try_from(value).ok().map(|k| k.as_str_name()))
}

fn reason_name(value: i32) -> String {
    enum_name(
        pb::DisabledReason::try_from(value)
            .ok()
            .map(|k| k.as_str_name()),
    )
}

fn credential_json(c: &pb::Credential) -> Value {
    json!({
        "id": c.id,
        "account_id": c.account_id,
        "kind": kind_name(c.kind),
        "environment": env_name(c.environment),
        "name": c.name,
        "description": c.description,
        "scopes": c.scopes,
        "status": status_name(c.status),
        "disabled_reason": reason_name(c.disabled_reason),
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
    })
}

impl Output {
    pub(crate) fn credential(&self, credential: Option<pb::Credential>) {
        let Some(c) = credential else { return };
        let value = credential_json(&c);
        if self.json {
            println!("{value}");
            return;
        }
        let mut table = Table::new();
        table.load_preset(UTF8_BORDERS_ONLY);
        if let Value::Object(fields) = value {
            for (key, value) in fields {
                let shown = match value {
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
                kind_name(c.kind).trim_start_matches("KIND_").to_string(),
                env_name(c.environment)
                    .trim_start_matches("ENVIRONMENT_")
                    .to_string(),
                c.name.clone(),
                status_name(c.status)
                    .trim_start_matches("STATUS_")
                    .to_string(),
                c.secret_hint.clone(),
                time(c.expires_at.as_ref()),
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
            enum_name(
                pb::AuditOutcome::try_from(e.outcome)
                    .ok()
                    .map(|o| o.as_str_name()),
            )
            .trim_start_matches("AUDIT_OUTCOME_")
            .to_lowercase()
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
        let result = enum_name(
            pb::VerifyResult::try_from(r.result)
                .ok()
                .map(|k| k.as_str_name()),
        );
        let value = json!({
            "result": result,
            "credential_id": r.credential_id,
            "account_id": r.account_id,
            "kind": kind_name(r.kind),
            "environment": env_name(r.environment),
            "scopes": r.scopes,
            "expires_at": time(r.expires_at.as_ref()),
            "superseded": r.superseded,
            "retires_at": time(r.retires_at.as_ref()),
            "disabled_reason": reason_name(r.disabled_reason),
        });
        if self.json {
            println!("{value}");
            return;
        }
        let mut table = Table::new();
        table.load_preset(UTF8_BORDERS_ONLY);
        table.add_row(vec![
            "result".to_string(),
            result.trim_start_matches("VERIFY_RESULT_").to_string(),
        ]);
        if !r.credential_id.is_empty() {
            table.add_row(vec!["credential_id".to_string(), r.credential_id.clone()]);
            table.add_row(vec!["account_id".to_string(), r.account_id.clone()]);
            table.add_row(vec!["scopes".to_string(), r.scopes.join(", ")]);
            table.add_row(vec!["expires_at".to_string(), time(r.expires_at.as_ref())]);
        }
        if r.superseded {
            table.add_row(vec![
                "superseded_until".to_string(),
                time(r.retires_at.as_ref()),
            ]);
        }
        println!("{table}");
    }
}
