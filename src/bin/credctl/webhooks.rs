//! `credctl webhook ...`: webhook endpoints and their deliveries, over the
//! WebhookAdmin service. A signing secret is printed once, when created or
//! rotated.

use serde_json::{Value, json};

use credd::api::pb;
use credd::api::pb::webhook_admin_client::WebhookAdminClient;

use crate::args::WebhookCommand;
use crate::connect::Authed;
use crate::output::{Output, Record, enum_name, short_name, time};
use crate::rpc::status_error;

impl Record for pb::WebhookEndpoint {
    const PLURAL: &'static str = "webhooks";
    const HEADER: &'static [&'static str] = &["ID", "ACCOUNT", "URL", "EVENTS", "STATE"];

    fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "account_id": self.account_id,
            "url": self.url,
            "description": self.description,
            "event_types": self.event_types,
            "enabled": self.enabled,
            "disabled_reason": self.disabled_reason,
            "signing_secrets": self.signing_secrets,
            "previous_secret_retires_at": self.previous_secret_retires_at.as_ref().map(|t| time(Some(t))),
            "created_at": time(self.created_at.as_ref()),
            "updated_at": time(self.updated_at.as_ref()),
        })
    }

    fn row(&self) -> Vec<String> {
        vec![
            self.id.clone(),
            if self.account_id.is_empty() {
                "*".into()
            } else {
                self.account_id.clone()
            },
            self.url.clone(),
            if self.event_types.is_empty() {
                "all".into()
            } else {
                self.event_types.join(",")
            },
            if self.enabled {
                "enabled".into()
            } else {
                format!("disabled ({})", self.disabled_reason)
            },
        ]
    }
}

impl Record for pb::WebhookDelivery {
    const PLURAL: &'static str = "deliveries";
    const HEADER: &'static [&'static str] = &["SEQ", "EVENT", "TYPE", "STATE", "ATTEMPTS", "LAST"];

    fn to_json(&self) -> Value {
        json!({
            "webhook_id": self.webhook_id,
            "event_seq": self.event_seq,
            "event_id": self.event_id,
            "event_type": self.event_type,
            "state": enum_name(self.state, pb::WebhookDeliveryState::as_str_name),
            "created_at": time(self.created_at.as_ref()),
            "next_attempt_at": self.next_attempt_at.as_ref().map(|t| time(Some(t))),
            "attempts": self.attempts.iter().map(|a| json!({
                "at": time(a.at.as_ref()),
                "latency_ms": a.latency_ms,
                "status_code": a.status_code,
                "error": a.error,
            })).collect::<Vec<_>>(),
        })
    }

    fn row(&self) -> Vec<String> {
        let last = self.attempts.last().map_or_else(String::new, |a| {
            if a.status_code > 0 {
                format!("{} in {} ms", a.status_code, a.latency_ms)
            } else {
                a.error.clone()
            }
        });
        vec![
            self.event_seq.to_string(),
            self.event_id.clone(),
            self.event_type.clone(),
            short_name(self.state, pb::WebhookDeliveryState::as_str_name),
            self.attempts.len().to_string(),
            last,
        ]
    }
}

fn with_secret(out: &Output, webhook: Option<pb::WebhookEndpoint>, secret: &str) {
    let mut value = webhook.as_ref().map(Record::to_json).unwrap_or(json!({}));
    value["signing_secret"] = Value::String(secret.to_string());
    out.object(value);
    if !out.json {
        println!("This signing secret is shown once; configure it in the receiver now.");
    }
}

pub(crate) async fn run(
    authed: Authed,
    command: WebhookCommand,
    out: &Output,
) -> Result<(), String> {
    let mut client = WebhookAdminClient::new(authed);
    let webhook = match command {
        WebhookCommand::Create {
            url,
            account,
            description,
            events,
        } => {
            let r = client
                .create_webhook(pb::CreateWebhookRequest {
                    url,
                    account_id: account.unwrap_or_default(),
                    description,
                    event_types: events,
                })
                .await
                .map_err(status_error)?
                .into_inner();
            with_secret(out, r.webhook, &r.signing_secret);
            return Ok(());
        }
        WebhookCommand::RotateSecret { id } => {
            let r = client
                .rotate_webhook_secret(pb::RotateWebhookSecretRequest { id })
                .await
                .map_err(status_error)?
                .into_inner();
            with_secret(out, r.webhook, &r.signing_secret);
            return Ok(());
        }
        WebhookCommand::List { account } => {
            let r = client
                .list_webhooks(pb::ListWebhooksRequest {
                    account_id: account.unwrap_or_default(),
                })
                .await
                .map_err(status_error)?
                .into_inner();
            out.records(&r.webhooks);
            return Ok(());
        }
        WebhookCommand::Get { id } => {
            client
                .get_webhook(pb::GetWebhookRequest { id })
                .await
                .map_err(status_error)?
                .into_inner()
                .webhook
        }
        WebhookCommand::Update {
            id,
            url,
            description,
            events,
            all_events,
            enable,
            disable,
        } => {
            client
                .update_webhook(pb::UpdateWebhookRequest {
                    id,
                    url,
                    description,
                    event_types: (all_events || !events.is_empty())
                        .then_some(pb::StringList { values: events }),
                    enabled: (enable || disable).then_some(enable),
                })
                .await
                .map_err(status_error)?
                .into_inner()
                .webhook
        }
        WebhookCommand::Delete { id } => {
            client
                .delete_webhook(pb::DeleteWebhookRequest { id: id.clone() })
                .await
                .map_err(status_error)?;
            out.object(json!({ "deleted": id }));
            return Ok(());
        }
        WebhookCommand::Test { id } => {
            let r = client
                .send_test_webhook(pb::SendTestWebhookRequest { id })
                .await
                .map_err(status_error)?
                .into_inner();
            out.records(r.delivery.as_slice());
            return Ok(());
        }
        WebhookCommand::Deliveries { id, limit } => {
            let r = client
                .list_webhook_deliveries(pb::ListWebhookDeliveriesRequest {
                    id,
                    page_size: limit,
                    page_token: String::new(),
                })
                .await
                .map_err(status_error)?
                .into_inner();
            out.records(&r.deliveries);
            return Ok(());
        }
        WebhookCommand::Redeliver { id, seq } => {
            let r = client
                .redeliver_webhook(pb::RedeliverWebhookRequest { id, event_seq: seq })
                .await
                .map_err(status_error)?
                .into_inner();
            out.records(r.delivery.as_slice());
            return Ok(());
        }
    };
    out.records(webhook.as_slice());
    Ok(())
}
