//! `credctl verify`, `verify-http` and `verify-pair`: the checks a
//! verifying service or a gateway makes, over the CredentialVerifier
//! service, with secrets read from stdin when not given.

use serde_json::{Value, json};

use credd::api::pb;
use credd::api::pb::credential_verifier_client::CredentialVerifierClient;

use crate::args::{VerifyArgs, VerifyHttpArgs, VerifyPairArgs};
use crate::connect::Authed;
use crate::input::{read_stdin, read_stdin_lines};
use crate::output::{Output, enum_name, short_name, time, verification_json};
use crate::rpc::status_error;

type Verifier = CredentialVerifierClient<Authed>;

pub(crate) async fn verify(authed: Authed, args: VerifyArgs, out: &Output) -> Result<(), String> {
    let secret = match args.secret {
        Some(secret) => secret,
        None => read_stdin("secret")?.trim().to_string(),
    };
    let response = Verifier::new(authed)
        .verify(pb::VerifyRequest {
            secret,
            account_id: args.account,
            required_scopes: args.scopes,
            client_id: args.client_id,
            on_behalf_of: args.on_behalf_of,
            scope_query: args.scope_query,
            cost: args.cost,
            rate_limits: args.limits,
        })
        .await
        .map_err(status_error)?
        .into_inner();
    out.verification(&response);
    Ok(())
}

pub(crate) async fn verify_http(
    authed: Authed,
    args: VerifyHttpArgs,
    out: &Output,
) -> Result<(), String> {
    let mut client = Verifier::new(authed);
    // Secrets from stdin, one a line: the Authorization value, then the passcode.
    let mut names = Vec::new();
    if args.authorization_stdin {
        names.push("the Authorization value");
    }
    if args.clevertap_passcode_stdin {
        names.push("the CleverTap passcode");
    }
    let mut lines = read_stdin_lines(&names)?.into_iter();
    let mut next_line = |wanted: bool| {
        if wanted {
            lines.next().unwrap_or_default()
        } else {
            String::new()
        }
    };
    let authorization = match args.authorization {
        Some(authorization) => authorization,
        None => next_line(args.authorization_stdin),
    };
    let passcode = next_line(args.clevertap_passcode_stdin);
    let r = client
        .verify_http_authorization(pb::VerifyHttpAuthorizationRequest {
            authorization,
            x_product_id: args.product_id,
            x_client_id: args.client_id,
            x_clevertap_account_id: args.clevertap_account_id,
            x_clevertap_passcode: passcode,
            clevertap_partner: args.partner,
            required_scopes: args.scopes,
            x_api_key: String::new(),
            accept_bearer: args.accept_bearer,
            scope_query: args.scope_query,
        })
        .await
        .map_err(status_error)?
        .into_inner();
    let mut value = json!({
        "allowed": r.allowed,
        "mode": enum_name(r.mode, pb::AuthMode::as_str_name),
        "http_status": r.http_status,
        "refusal": enum_name(r.refusal, pb::HttpAuthRefusal::as_str_name),
        "reason": r.reason,
        "principal_id": r.principal_id,
        "principal_account_id": r.principal_account_id,
        "acting_for_account_id": r.acting_for_account_id,
        "product_id": r.product_id,
        "client_id": r.client_id,
        "grant_id": r.grant_id,
        "retry_after_s": r.retry_after.as_ref().map(|d| d.seconds),
        "verification": r.verification.as_ref().map(verification_json),
    });
    if !out.json {
        // One line for the inner Verify answer: its result and credential.
        value["verification"] = r.verification.as_ref().map_or(Value::Null, |v| {
            let result = short_name(v.result, pb::VerifyResult::as_str_name);
            Value::String(format!("{result} {}", v.credential_id).trim().to_string())
        });
    }
    out.object(value);
    Ok(())
}

pub(crate) async fn verify_pair(
    authed: Authed,
    args: VerifyPairArgs,
    out: &Output,
) -> Result<(), String> {
    let mut client = Verifier::new(authed);
    let (developer_key, customer_key) = match &args.developer_key_file {
        Some(path) => {
            let developer_key = std::fs::read_to_string(path).map_err(|e| {
                format!("cannot read the developer key file {}: {e}", path.display())
            })?;
            let customer_key = read_stdin_lines(&["the customer key"])?
                .into_iter()
                .next()
                .unwrap_or_default();
            (developer_key.trim().to_string(), customer_key)
        }
        None => {
            let mut lines =
                read_stdin_lines(&["the developer key", "the customer key"])?.into_iter();
            let developer_key = lines.next().unwrap_or_default();
            (developer_key, lines.next().unwrap_or_default())
        }
    };
    let r = client
        .verify_partner_pair(pb::VerifyPartnerPairRequest {
            developer_key,
            customer_key,
            required_scopes: args.scopes,
        })
        .await
        .map_err(status_error)?
        .into_inner();
    out.object(json!({
        "result": enum_name(r.result, pb::VerifyResult::as_str_name),
        "partner_account_id": r.partner_account_id,
        "customer_account_id": r.customer_account_id,
        "grant_id": r.grant_id,
        "developer_key_id": r.developer_key_id,
        "customer_key_id": r.customer_key_id,
        "grant_scopes": r.grant_scopes,
        "expires_at": time(r.expires_at.as_ref()),
        "disabled_reason": enum_name(r.disabled_reason, pb::DisabledReason::as_str_name),
        "retry_after_s": r.retry_after.as_ref().map(|d| d.seconds),
    }));
    Ok(())
}
