//! The check after each restart: the whole model against the reopened
//! daemon, settling the outcomes of unanswered changes.

use super::*;

/// What a check learned about a credential whose last change was unanswered.
#[derive(Debug, Clone, Copy)]
struct Resolution {
    idx: usize,
    revoked: bool,
    rotation_open: bool,
}

/// Checks the whole model against the restarted daemon and settles the
/// unknown outcomes it finds. Returns what is wrong.
pub(super) async fn check(daemon: &support::Daemon, shared: &Shared) -> Vec<Violation> {
    let channel = daemon.channel().await;
    let (creds, unknown_creates) = {
        let model = shared.model();
        (
            model.creds.iter().cloned().enumerate().collect::<Vec<_>>(),
            model.unknown_creates,
        )
    };
    let mut violations = Vec::new();

    // The listing: every acknowledged credential, and no more extras than
    // creates whose answer never came.
    let mut admin = support::admin_on(channel.clone(), &shared.admin_key());
    match list_all(shared, &mut admin).await {
        Ok(listed) => {
            let known: HashSet<&str> = creds.iter().map(|(_, c)| c.id.as_str()).collect();
            let listed_ids: HashSet<&str> = listed.iter().map(|c| c.id.as_str()).collect();
            for (_, cred) in &creds {
                if !listed_ids.contains(cred.id.as_str()) {
                    let text = format!(
                        "credential {} (created in life {}, acknowledged) is missing from ListCredentials",
                        cred.id, cred.born
                    );
                    violations.push(Violation::about(&cred.id, text));
                }
            }
            let extras: Vec<&pb::Credential> = listed
                .iter()
                .filter(|c| !known.contains(c.id.as_str()))
                .collect();
            if extras.len() > unknown_creates {
                violations.push(Violation::general(format!(
                    "{} credentials exist that were never acknowledged, but only {unknown_creates} creates went unanswered",
                    extras.len()
                )));
            }
            for extra in extras {
                if !extra.account_id.starts_with("crash-") {
                    let text = format!(
                        "credential {} of unknown account {:?} appeared",
                        extra.id, extra.account_id
                    );
                    violations.push(Violation::about(&extra.id, text));
                }
            }
        }
        Err(status) => violations.push(Violation::general(format!(
            "ListCredentials failed after restart: {:?} {}",
            status.code(),
            status.message()
        ))),
    }

    // Each credential: readable, right status, its secrets verify.
    let chunk_len = creds.len().div_ceil(CHECKERS).max(1);
    let mut tasks = tokio::task::JoinSet::new();
    for chunk in creds.chunks(chunk_len) {
        let chunk = chunk.to_vec();
        let channel = daemon.channel().await;
        let key = shared.admin_key();
        tasks.spawn(async move {
            let mut admin = support::admin_on(channel.clone(), &key);
            let mut verifier = CredentialVerifierClient::new(channel);
            let mut violations = Vec::new();
            let mut resolutions = Vec::new();
            for (idx, cred) in chunk {
                if let Some(resolution) =
                    check_one(&mut admin, &mut verifier, idx, &cred, &mut violations).await
                {
                    resolutions.push(resolution);
                }
            }
            (violations, resolutions)
        });
    }
    let mut resolutions = Vec::new();
    while let Some(done) = tasks.join_next().await {
        let (v, r) = done.expect("a check task panicked");
        violations.extend(v);
        resolutions.extend(r);
    }

    // What is on disk now is what later restarts are held to.
    let mut model = shared.model();
    for r in resolutions {
        let cred = &mut model.creds[r.idx];
        if cred.revoked == Revoked::Maybe {
            cred.revoked = if r.revoked { Revoked::Yes } else { Revoked::No };
        }
        if cred.rotation_unknown {
            cred.rotation_unknown = false;
            if cred.rotated.is_none() && r.rotation_open {
                cred.rotated_unseen = true;
            }
        }
    }
    violations
}

/// Every credential, all pages.
async fn list_all(
    shared: &Shared,
    admin: &mut support::Admin,
) -> Result<Vec<pb::Credential>, tonic::Status> {
    let mut all = Vec::new();
    let mut page_token = String::new();
    for _ in 0..1000 {
        let request = pb::ListCredentialsRequest {
            page_size: 1000,
            page_token: page_token.clone(),
            ..Default::default()
        };
        let page = call(shared, admin.list_credentials(request)).await?;
        all.extend(page.credentials);
        if page.next_page_token.is_empty() {
            return Ok(all);
        }
        page_token = page.next_page_token;
    }
    Err(tonic::Status::internal("more than 1000 pages"))
}

/// Checks one credential; returns what it shows about unknown outcomes.
async fn check_one(
    admin: &mut support::Admin,
    verifier: &mut CredentialVerifierClient<Channel>,
    idx: usize,
    cred: &Cred,
    violations: &mut Vec<Violation>,
) -> Option<Resolution> {
    let id = cred.id.as_str();
    let mut lost = |text: String| violations.push(Violation::about(id, text));
    let what = format!(
        "credential {id} (created in life {}, acknowledged)",
        cred.born
    );
    let request = pb::GetCredentialRequest { id: id.to_string() };
    let credential = match tokio::time::timeout(RPC_TIMEOUT, admin.get_credential(request)).await {
        Ok(Ok(answer)) => match answer.into_inner().credential {
            Some(credential) => credential,
            None => {
                lost(format!(
                    "{what}: GetCredential answered without a credential"
                ));
                return None;
            }
        },
        Ok(Err(status)) => {
            lost(format!(
                "{what}: GetCredential failed after restart: {:?} {}",
                status.code(),
                status.message()
            ));
            return None;
        }
        Err(_) => {
            lost(format!("{what}: GetCredential did not answer"));
            return None;
        }
    };
    if credential.account_id != cred.account {
        lost(format!(
            "{what}: account is {:?}, expected {:?}",
            credential.account_id, cred.account
        ));
    }

    let status = credential.status();
    let revoked = match (cred.revoked, status) {
        (Revoked::Yes | Revoked::Maybe, pb::Status::Revoked) => true,
        (Revoked::No | Revoked::Maybe, pb::Status::Active) => false,
        (Revoked::Yes, other) => {
            lost(format!(
                "{what}: acknowledged revoke lost, status is {other:?}"
            ));
            other == pb::Status::Revoked
        }
        (Revoked::No | Revoked::Maybe, other) => {
            lost(format!(
                "{what}: status is {other:?}, expected ACTIVE{}",
                if cred.revoked == Revoked::Maybe {
                    " or REVOKED"
                } else {
                    ""
                }
            ));
            other == pb::Status::Revoked
        }
    };

    let rotation_open = credential.rotation_retires_at.is_some();
    let must_be_open = cred.rotated.is_some() || cred.rotated_unseen;
    if must_be_open && !rotation_open {
        lost(format!(
            "{what}: acknowledged rotation lost, no rotation window is open"
        ));
    }
    if !must_be_open && !cred.rotation_unknown && rotation_open {
        lost(format!(
            "{what}: a rotation window is open though no rotation was ever applied"
        ));
    }
    // The newest secret the test knows, when it knows it is the newest.
    let newest = match (&cred.rotated, rotation_open) {
        (Some(secret), _) => Some(secret),
        (None, false) => Some(&cred.original),
        (None, true) => None,
    };
    if let Some(secret) = newest {
        let last_four = &secret[secret.len().saturating_sub(4)..];
        if !credential.secret_hint.ends_with(last_four) {
            lost(format!(
                "{what}: secret_hint {:?} is not that of the newest acknowledged secret",
                credential.secret_hint
            ));
        }
    }

    let expected = if revoked {
        pb::VerifyResult::Revoked
    } else {
        pb::VerifyResult::Valid
    };
    let mut secrets = vec![("original", &cred.original, rotation_open)];
    if let Some(rotated) = &cred.rotated {
        secrets.push(("rotated", rotated, false));
    }
    for (which, secret, superseded) in secrets {
        let request = support::verify_req(secret, &cred.account, &[SCOPE]);
        match tokio::time::timeout(RPC_TIMEOUT, verifier.verify(request)).await {
            Ok(Ok(answer)) => {
                let answer = answer.into_inner();
                if answer.result() != expected {
                    lost(format!(
                        "{what}: its {which} secret verifies {:?}, expected {expected:?}",
                        answer.result()
                    ));
                } else if answer.credential_id != id {
                    lost(format!(
                        "{what}: its {which} secret verifies as credential {:?}",
                        answer.credential_id
                    ));
                } else if expected == pb::VerifyResult::Valid && answer.superseded != superseded {
                    lost(format!(
                        "{what}: its {which} secret verifies with superseded={}, expected {superseded}",
                        answer.superseded
                    ));
                }
            }
            Ok(Err(status)) => lost(format!(
                "{what}: Verify of its {which} secret failed after restart: {:?} {}",
                status.code(),
                status.message()
            )),
            Err(_) => lost(format!(
                "{what}: Verify of its {which} secret did not answer"
            )),
        }
    }
    Some(Resolution {
        idx,
        revoked,
        rotation_open,
    })
}
