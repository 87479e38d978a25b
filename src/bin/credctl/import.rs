//! `credctl import FILE`: reads the file (`import/rows.rs`), sends its rows
//! in ImportCredentials batches (at most `--batch-size` rows and 2 MiB a
//! call), prints each failed row with its line number and reason, then a
//! summary. A progress bar (rows, rate, time left) shows on a terminal;
//! elsewhere only the failures and the summary are printed. The exit
//! status says whether anything was imported (see `ExitCode`s below).

mod rows;

use std::process::ExitCode;

use prost::Message;
use serde_json::json;

use credd::api::pb;
use credd::api::pb::credential_admin_client::CredentialAdminClient;

use crate::args::ImportArgs;
use crate::connect::Authed;
use crate::output::Output;
use crate::rpc::status_error;

/// Largest request credctl sends (credd takes 4 MiB).
const MAX_BATCH_BYTES: usize = 2 << 20;
/// Some rows failed, others were imported or were there already.
const PARTIAL: u8 = 2;

/// A failed row, for the report.
struct Failure {
    line: u64,
    external_id: String,
    reason: String,
}

#[derive(Default)]
struct Tally {
    imported: u64,
    unchanged: u64,
    failed: Vec<Failure>,
}

pub(crate) async fn run(
    authed: Authed,
    args: ImportArgs,
    out: &Output,
) -> Result<ExitCode, String> {
    let format = rows::format_of(&args.file, args.format)?;
    let text = std::fs::read_to_string(&args.file)
        .map_err(|e| format!("cannot read {}: {e}", args.file.display()))?;
    let parsed = rows::parse(&text, format)?;
    drop(text);
    if parsed.is_empty() {
        return Err(format!(
            "{} has no rows: nothing to import",
            args.file.display()
        ));
    }
    let bar = credd::progress::bar(
        Some(parsed.len() as u64),
        "{bar:30} {pos}/{len} rows  {per_sec}  {elapsed} elapsed, about {eta} left",
    );
    let mut admin = CredentialAdminClient::new(authed);
    let mut tally = Tally::default();
    let mut batch: Vec<(u64, String)> = Vec::new();
    let mut pending: Vec<pb::ImportRow> = Vec::new();
    let mut bytes = 0usize;
    let total = parsed.len();
    for (at, row) in parsed.into_iter().enumerate() {
        match row.row {
            Ok(pb_row) => {
                batch.push((row.line, row.external_id));
                bytes += pb_row.encoded_len() + 8;
                pending.push(pb_row);
            }
            Err(reason) => {
                tally.failed.push(Failure {
                    line: row.line,
                    external_id: row.external_id,
                    reason,
                });
                bar.inc(1);
            }
        }
        let last = at + 1 == total;
        let full = pending.len() >= usize::from(args.batch_size) || bytes >= MAX_BATCH_BYTES;
        if !pending.is_empty() && (full || last) {
            let sent = pending.len() as u64;
            bytes = 0;
            let request = pb::ImportCredentialsRequest {
                rows: std::mem::take(&mut pending),
                dry_run: args.dry_run,
            };
            let answer = admin.import_credentials(request).await;
            let answer = match answer {
                Ok(answer) => answer.into_inner(),
                Err(status) => {
                    bar.abandon();
                    return Err(format!(
                        "{} (after {} imported, {} unchanged, {} failed; importing the file again skips what is in)",
                        status_error(status),
                        tally.imported,
                        tally.unchanged,
                        tally.failed.len()
                    ));
                }
            };
            settle(&mut tally, std::mem::take(&mut batch), answer);
            bar.inc(sent);
        }
    }
    bar.finish_and_clear();
    Ok(report(&tally, args.dry_run, out))
}

/// Counts a batch's answers, matching them to their lines.
fn settle(tally: &mut Tally, batch: Vec<(u64, String)>, answer: pb::ImportCredentialsResponse) {
    let mut answered = vec![false; batch.len()];
    for result in answer.results {
        let Some((line, external_id)) = usize::try_from(result.index)
            .ok()
            .and_then(|i| batch.get(i).map(|b| (i, b)))
            .map(|(i, b)| {
                answered[i] = true;
                b.clone()
            })
        else {
            continue;
        };
        match pb::ImportOutcome::try_from(result.outcome) {
            Ok(pb::ImportOutcome::Imported) => tally.imported += 1,
            Ok(pb::ImportOutcome::Unchanged) => tally.unchanged += 1,
            _ => tally.failed.push(Failure {
                line,
                external_id,
                reason: result.reason,
            }),
        }
    }
    for (i, (line, external_id)) in batch.into_iter().enumerate() {
        if !answered[i] {
            tally.failed.push(Failure {
                line,
                external_id,
                reason: "credd gave no answer for this row".to_string(),
            });
        }
    }
}

/// Prints the failures and the summary; the exit status: 0 when every row
/// was imported or unchanged, 2 when some failed beside them, 1 when none
/// was imported or unchanged.
fn report(tally: &Tally, dry_run: bool, out: &Output) -> ExitCode {
    let mut failures: Vec<&Failure> = tally.failed.iter().collect();
    failures.sort_by_key(|f| f.line);
    let verb = if dry_run {
        "would be imported"
    } else {
        "imported"
    };
    if out.json {
        let rows: Vec<_> = failures
            .iter()
            .map(|f| json!({"line": f.line, "external_id": f.external_id, "reason": f.reason}))
            .collect();
        println!(
            "{}",
            json!({
                "dry_run": dry_run,
                "imported": tally.imported,
                "unchanged": tally.unchanged,
                "failed": tally.failed.len(),
                "failures": rows,
            })
        );
    } else {
        for f in &failures {
            let id = if f.external_id.is_empty() {
                String::new()
            } else {
                format!(" (external id {})", f.external_id)
            };
            println!("line {}{id}: {}", f.line, f.reason);
        }
        println!(
            "{} {verb}, {} unchanged, {} failed{}",
            tally.imported,
            tally.unchanged,
            tally.failed.len(),
            if dry_run {
                " (dry run: nothing changed)"
            } else {
                ""
            }
        );
    }
    if tally.imported + tally.unchanged == 0 {
        eprintln!("credctl: nothing {verb}");
        ExitCode::FAILURE
    } else if tally.failed.is_empty() {
        if tally.imported == 0 {
            eprintln!("credctl: every row was imported before; nothing changed");
        }
        ExitCode::SUCCESS
    } else {
        ExitCode::from(PARTIAL)
    }
}
