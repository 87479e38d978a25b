//! `credctl export`: every account, then every credential, as JSON Lines
//! (`{"type": "account", ...}`, `{"type": "credential", ...}`, the fields
//! `get --json` prints), page by page over the admin API, for audits and
//! for leaving credd. Never a secret or a hash: the API carries neither.
//! A progress spinner on a terminal; the summary on stderr.

use std::io::Write;

use serde_json::Value;

use credd::api::pb;
use credd::api::pb::account_admin_client::AccountAdminClient;
use credd::api::pb::credential_admin_client::CredentialAdminClient;

use crate::args::ExportArgs;
use crate::connect::Authed;
use crate::output::{Record, credential_json};
use crate::rpc::status_error;

/// Rows per page asked of the daemon.
const PAGE: i32 = 1000;

/// Writes the export; prints its summary on stderr.
pub(crate) async fn run(authed: Authed, args: ExportArgs) -> Result<(), String> {
    let (mut sink, partial) = open(args.out.as_deref())?;
    let bar = credd::progress::bar(None, "{spinner} {msg} ({per_sec}, {elapsed})");
    let mut accounts = AccountAdminClient::new(authed.clone());
    let mut token = String::new();
    let mut n_accounts = 0u64;
    loop {
        let page = accounts
            .list_accounts(pb::ListAccountsRequest {
                page_size: PAGE,
                page_token: token,
            })
            .await
            .map_err(status_error)?
            .into_inner();
        for account in &page.accounts {
            line(&mut sink, "account", account.to_json())?;
            n_accounts += 1;
        }
        bar.set_message(format!("{n_accounts} accounts"));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    let mut credentials = CredentialAdminClient::new(authed);
    let mut request = pb::ListCredentialsRequest {
        page_size: PAGE,
        ..Default::default()
    };
    let mut n_credentials = 0u64;
    loop {
        let page = credentials
            .list_credentials(request.clone())
            .await
            .map_err(status_error)?
            .into_inner();
        for credential in &page.credentials {
            line(&mut sink, "credential", credential_json(credential))?;
            n_credentials += 1;
        }
        bar.set_message(format!(
            "{n_accounts} accounts, {n_credentials} credentials"
        ));
        bar.inc(page.credentials.len() as u64);
        if page.next_page_token.is_empty() {
            break;
        }
        request.page_token = page.next_page_token;
    }
    bar.finish_and_clear();
    sink.flush()
        .map_err(|e| format!("cannot write the export: {e}"))?;
    drop(sink);
    if let (Some(partial), Some(out)) = (partial, args.out.as_deref()) {
        std::fs::rename(&partial, out).map_err(|e| {
            format!(
                "cannot rename {} to {}: {e}",
                partial.display(),
                out.display()
            )
        })?;
    }
    eprintln!("exported {n_accounts} accounts and {n_credentials} credentials");
    Ok(())
}

/// stdout, or `OUT.partial` (renamed once complete).
fn open(
    out: Option<&std::path::Path>,
) -> Result<(Box<dyn Write>, Option<std::path::PathBuf>), String> {
    let Some(out) = out else {
        return Ok((Box::new(std::io::BufWriter::new(std::io::stdout())), None));
    };
    let mut name = out.as_os_str().to_owned();
    name.push(".partial");
    let partial = std::path::PathBuf::from(name);
    let file = std::fs::File::create(&partial)
        .map_err(|e| format!("cannot write {}: {e}", partial.display()))?;
    Ok((Box::new(std::io::BufWriter::new(file)), Some(partial)))
}

fn line(sink: &mut dyn Write, kind: &str, mut value: Value) -> Result<(), String> {
    if let Value::Object(fields) = &mut value {
        fields.insert("type".to_string(), Value::String(kind.to_string()));
    }
    writeln!(sink, "{value}").map_err(|e| format!("cannot write the export: {e}"))
}
