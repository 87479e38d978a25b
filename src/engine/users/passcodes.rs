//! User passcodes (CleverTap): a passcode credential of the account bound
//! to one user, granted, reset (the old one revoked at once) and revoked.

use chrono::Duration;

use super::*;

/// Days a passcode is valid: 1 to 365, or ten years for "infinite".
pub(super) fn validity_days(validity: PasscodeValidity) -> Result<i64, Error> {
    match validity {
        PasscodeValidity::Days(n @ 1..=365) => Ok(i64::from(n)),
        PasscodeValidity::Days(n) => Err(Error::InvalidArgument(format!(
            "validity_days must be between 1 and 365 (or infinite), got {n}"
        ))),
        PasscodeValidity::Infinite => Ok(INFINITE_DAYS),
    }
}

impl Engine {
    pub(super) async fn revoke_passcode_credential(
        &self,
        actor: &Actor,
        id: &str,
    ) -> Result<(), Error> {
        match self.revoke(actor, id, "user passcode revoked").await {
            Ok(_) | Err(Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Grants a user a passcode (CleverTap): a passcode credential of the
    /// account bound to the user, valid 1 to 365 days or ten years. The
    /// secret is shown once.
    ///
    /// # Errors
    /// `FailedPrecondition` when the user already has a passcode (reset
    /// it) or is disabled; otherwise as [`Engine::get_user`] and create.
    pub async fn grant_user_passcode(
        &self,
        actor: &Actor,
        account_id: &str,
        name: &str,
        validity: PasscodeValidity,
    ) -> Result<(UserRecord, CredentialView, Secret), Error> {
        let user = self.get_user(actor, account_id, name)?;
        if let Some(existing) = &user.passcode_id {
            return Err(Error::FailedPrecondition(format!(
                "user {name} already has passcode {existing}; reset or revoke it"
            )));
        }
        self.issue_user_passcode(actor, user, validity).await
    }

    /// Issues a new passcode and kills the old one at once.
    ///
    /// # Errors
    /// As [`Engine::grant_user_passcode`], without the "already has" case.
    pub async fn reset_user_passcode(
        &self,
        actor: &Actor,
        account_id: &str,
        name: &str,
        validity: PasscodeValidity,
    ) -> Result<(UserRecord, CredentialView, Secret), Error> {
        validity_days(validity)?;
        let user = self.get_user(actor, account_id, name)?;
        if user.status == UserStatus::Disabled {
            return Err(Error::FailedPrecondition(format!(
                "user {name} is disabled; enable it first"
            )));
        }
        if let Some(old) = &user.passcode_id {
            self.revoke_passcode_credential(actor, old).await?;
        }
        self.issue_user_passcode(actor, user, validity).await
    }

    /// Revokes a user's passcode.
    ///
    /// # Errors
    /// `FailedPrecondition` when the user has none; as [`Engine::get_user`].
    pub async fn revoke_user_passcode(
        &self,
        actor: &Actor,
        account_id: &str,
        name: &str,
    ) -> Result<UserRecord, Error> {
        let user = self.get_user(actor, account_id, name)?;
        let Some(old) = user.passcode_id.clone() else {
            return Err(Error::FailedPrecondition(format!(
                "user {name} has no passcode"
            )));
        };
        self.revoke_passcode_credential(actor, &old).await?;
        let changed = self
            .modify_user(actor, account_id, name, "user.passcode_revoke", |current| {
                let mut new = current.clone();
                new.passcode_id = None;
                Ok((Some(new), format!(": passcode {old}")))
            })
            .await?;
        changed.ok_or_else(|| user_not_found(account_id, name))
    }

    pub(super) async fn issue_user_passcode(
        &self,
        actor: &Actor,
        user: UserRecord,
        validity: PasscodeValidity,
    ) -> Result<(UserRecord, CredentialView, Secret), Error> {
        self.authorize(
            actor,
            "user.passcode_grant",
            "",
            &user.account_id,
            actor.allows(Scope::CredentialsWrite, Some(&user.account_id)),
        )?;
        if user.status == UserStatus::Disabled {
            return Err(Error::FailedPrecondition(format!(
                "user {} is disabled; enable it first",
                user.username
            )));
        }
        let days = validity_days(validity)?;
        let now = self.clock.now();
        let expiry = now + Duration::days(days);
        let request = NewCredential {
            account_id: user.account_id.clone(),
            kind: Kind::Passcode,
            environment: Environment::Live,
            name: format!("user passcode of {}", user.login_name()),
            description: format!("granted to user {}", user.username),
            scopes: Vec::new(),
            lifetime: Some(Duration::days(days)),
            notify_emails: if user.email.is_empty() {
                Vec::new()
            } else {
                vec![user.email.clone()]
            },
            client_id: None,
            metadata: None,
            credits: None,
            rate_limits: Vec::new(),
        };
        let (view, secret) = self
            .issue(
                actor,
                request,
                Vec::new(),
                (expiry, expiry),
                now,
                Some(user.username.clone()),
            )
            .await?;
        let passcode_id = view.record.id.clone();
        let updated = self
            .modify_user(
                actor,
                &user.account_id,
                &user.username,
                "user.passcode_grant",
                |current| {
                    let mut new = current.clone();
                    new.passcode_id = Some(passcode_id.clone());
                    Ok((
                        Some(new),
                        format!(": passcode {passcode_id} valid {days} days"),
                    ))
                },
            )
            .await?
            .ok_or_else(|| user_not_found(&user.account_id, &user.username))?;
        Ok((updated, view, secret))
    }
}
