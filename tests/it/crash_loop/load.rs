//! The load of each daemon life: client tasks creating, rotating, revoking
//! and verifying random credentials of the model until the kill.

use super::*;

/// One client: creates (up to its cap), rotates, revokes and verifies random
/// credentials of the model until the kill.
pub(super) async fn worker(shared: Arc<Shared>, channel: Channel, life: usize, worker_no: usize) {
    let mut admin = support::admin_on(channel.clone(), &shared.admin_key());
    let mut verifier = CredentialVerifierClient::new(channel);
    let account = format!("crash-{life}-{worker_no}");
    let mut created = 0usize;
    while !shared.killed.load(Ordering::SeqCst) {
        let roll = rand::rng().random_range(0..10u32);
        let did_something = if roll < 3 && created < CREATES_PER_WORKER {
            created += 1;
            create(&shared, &mut admin, &account, life, created).await;
            true
        } else if roll < 5 {
            rotate(&shared, &mut admin).await
        } else if roll < 7 {
            revoke(&shared, &mut admin).await
        } else {
            verify(&shared, &mut verifier).await
        };
        if !did_something {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
}

async fn create(shared: &Shared, admin: &mut support::Admin, account: &str, life: usize, n: usize) {
    let passcode = rand::rng().random_bool(0.5);
    let name = format!("crash {life}.{n}");
    let request = if passcode {
        support::passcode(account, &name)
    } else {
        support::api_key(account, &name)
    };
    let result = call(shared, admin.create_credential(request)).await;
    let mut model = shared.model();
    match result {
        Ok(answer) => match answer.credential {
            Some(credential) if !answer.secret.is_empty() => {
                model.acked_creates += 1;
                model.creds.push(Cred {
                    id: credential.id,
                    account: account.to_string(),
                    born: life,
                    original: answer.secret,
                    rotated: None,
                    rotation_unknown: false,
                    rotated_unseen: false,
                    revoked: Revoked::No,
                });
                drop(model);
                shared.acked(false);
            }
            _ => model.live_violations.push(Violation::general(format!(
                "CreateCredential for {account} answered Ok without a credential or secret"
            ))),
        },
        Err(status) => {
            model.unknown_creates += 1;
            shared.error(&mut model, None, "CreateCredential", &status);
        }
    }
}

/// Rotates a credential with no rotation known; false if there is none.
async fn rotate(shared: &Shared, admin: &mut support::Admin) -> bool {
    let Some((idx, cred)) =
        shared.pick(|c| c.rotated.is_none() && !c.rotated_unseen && c.revoked != Revoked::Yes)
    else {
        return false;
    };
    let request = pb::RotateCredentialRequest {
        id: cred.id.clone(),
        window: None,
    };
    let result = call(shared, admin.rotate_credential(request)).await;
    let mut model = shared.model();
    match result {
        Ok(answer) => {
            model.acked_rotates += 1;
            let c = &mut model.creds[idx];
            if c.rotated.is_some() || c.rotated_unseen {
                let text = format!(
                    "RotateCredential {} succeeded twice within one open rotation window",
                    c.id
                );
                model.live_violations.push(Violation::about(&cred.id, text));
            } else {
                c.rotated = Some(answer.secret);
            }
            drop(model);
            shared.acked(false);
        }
        // An answer: already rotated or revoked (perhaps by a change whose
        // outcome is still unknown here); nothing changed.
        Err(status) if status.code() == Code::FailedPrecondition => {}
        Err(status) => {
            model.unknown_rotates += 1;
            model.creds[idx].rotation_unknown = true;
            shared.error(&mut model, Some(&cred.id), "RotateCredential", &status);
        }
    }
    true
}

/// Revokes a random credential (mostly one not known to be revoked, as only
/// those can change), sometimes twice at once as a retrying client would;
/// false if there is none.
async fn revoke(shared: &Shared, admin: &mut support::Admin) -> bool {
    let fresh_only = rand::rng().random_bool(0.8);
    let picked = if fresh_only {
        shared.pick(|c| c.revoked != Revoked::Yes)
    } else {
        None
    };
    let Some((idx, cred)) = picked.or_else(|| shared.pick(|_| true)) else {
        return false;
    };
    let twice = rand::rng().random_bool(0.5);
    {
        let mut model = shared.model();
        if model.creds[idx].revoked == Revoked::No {
            model.creds[idx].revoked = Revoked::Maybe;
        }
    }
    let pending = AtomicUsize::new(if twice { 2 } else { 1 });
    if twice {
        let mut second = admin.clone();
        tokio::join!(
            revoke_once(shared, admin, idx, &cred.id, &pending),
            revoke_once(shared, &mut second, idx, &cred.id, &pending)
        );
    } else {
        revoke_once(shared, admin, idx, &cred.id, &pending).await;
    }
    true
}

/// One RevokeCredential, recorded as soon as it answers. `pending` counts
/// this call and its twin, if any, until they answer.
async fn revoke_once(
    shared: &Shared,
    admin: &mut support::Admin,
    idx: usize,
    id: &str,
    pending: &AtomicUsize,
) {
    let request = pb::RevokeCredentialRequest {
        id: id.to_string(),
        reason: "crash loop".to_string(),
    };
    let result = call(shared, admin.revoke_credential(request)).await;
    let twin_unanswered = pending.fetch_sub(1, Ordering::SeqCst) > 1;
    let mut model = shared.model();
    match result {
        Ok(answer) => {
            model.acked_revokes += 1;
            model.creds[idx].revoked = Revoked::Yes;
            let status = answer.credential.as_ref().map(pb::Credential::status);
            if status != Some(pb::Status::Revoked) {
                let text = format!("RevokeCredential {id} answered Ok with status {status:?}");
                model.live_violations.push(Violation::about(id, text));
            }
            drop(model);
            shared.acked(twin_unanswered);
        }
        Err(status) => {
            model.unknown_revokes += 1;
            shared.error(&mut model, Some(id), "RevokeCredential", &status);
        }
    }
}

/// Verifies the known secrets of a random credential against the running
/// daemon; false if there is none.
async fn verify(shared: &Shared, verifier: &mut CredentialVerifierClient<Channel>) -> bool {
    let Some((_, cred)) = shared.pick(|_| true) else {
        return false;
    };
    let secrets: Vec<String> = std::iter::once(cred.original.clone())
        .chain(cred.rotated.clone())
        .collect();
    for secret in secrets {
        let request = support::verify_req(&secret, &cred.account, &[SCOPE]);
        let result = call(shared, verifier.verify(request)).await;
        let mut model = shared.model();
        model.verifies += 1;
        match result {
            Ok(answer) => {
                let allowed: &[pb::VerifyResult] = if cred.revoked == Revoked::Yes {
                    &[pb::VerifyResult::Revoked]
                } else {
                    &[pb::VerifyResult::Valid, pb::VerifyResult::Revoked]
                };
                if !allowed.contains(&answer.result()) {
                    let text = format!(
                        "Verify of an acknowledged secret of {} answered {:?} (revoked: {:?})",
                        cred.id,
                        answer.result(),
                        cred.revoked
                    );
                    model.live_violations.push(Violation::about(&cred.id, text));
                }
            }
            Err(status) => shared.error(&mut model, Some(&cred.id), "Verify", &status),
        }
    }
    true
}
