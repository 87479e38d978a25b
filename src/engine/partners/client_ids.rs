//! Client ids (Klarna-style): public identifiers of an account's
//! integrations. Creating, reading, listing and revoking them, and the
//! checks that bind an API key to one and that Verify applies to a client id
//! presented with a key.

use tracing::info;

use super::{first_page, page_after};
use crate::engine::access::{Actor, Scope};
use crate::engine::{Engine, Error, MAX_ATTEMPTS, audit_entry, validate};
use crate::lifecycle::{ClientIdRecord, ClientIdStatus, Environment};
use crate::secret;
use crate::store::{Commit, PartnerChange, Replace};

/// A new client id's fields.
#[derive(Debug, Clone)]
pub struct NewClientId {
    /// The account it names an integration of.
    pub account_id: String,
    /// Live or test.
    pub environment: Environment,
    /// Short human name.
    pub name: String,
    /// What the integration is.
    pub description: String,
}

/// Checks the shape and checksum of a client id given as `field`.
pub(in crate::engine) fn client_id_arg(field: &str, value: &str) -> Result<Environment, Error> {
    if value.is_empty() {
        return Err(Error::InvalidArgument(format!("{field} is required")));
    }
    secret::parse_client_id(value).map_err(|_| {
        Error::InvalidArgument(format!(
            "{field} {} is not a client id (expected <prefix>_<live|test>_client_...)",
            validate::shown_id(value)
        ))
    })
}

impl Engine {
    /// Issues a client id for an account (`credentials:write` on it).
    ///
    /// # Errors
    /// `InvalidArgument`, `PermissionDenied`, or a storage failure.
    pub async fn create_client_id(
        &self,
        actor: &Actor,
        request: NewClientId,
    ) -> Result<ClientIdRecord, Error> {
        validate::account_id("account_id", &request.account_id)?;
        self.authorize(
            actor,
            "client_id.create",
            "",
            &request.account_id,
            actor.allows(Scope::CredentialsWrite, Some(&request.account_id)),
        )?;
        if !request.name.is_empty() {
            validate::name(&request.name)?;
        }
        validate::description(&request.description)?;
        let now = self.clock.now();
        self.ensure_account(actor, &request.account_id, now).await?;
        let record = ClientIdRecord {
            id: secret::new_client_id(&self.key_prefix, request.environment)
                .map_err(Error::Random)?,
            account_id: request.account_id,
            environment: request.environment,
            name: request.name,
            description: request.description,
            status: ClientIdStatus::Active,
            status_reason: String::new(),
            created_at: now,
            revoked_at: None,
        };
        let change = PartnerChange {
            client_id: Some(Replace {
                expected: None,
                new: &record,
            }),
            audits: vec![audit_entry(
                actor,
                now,
                "client_id.create",
                &record.id,
                &record.account_id,
                String::new(),
            )],
            ..Default::default()
        };
        if self.store.commit_partners(&change)? == Commit::Conflict {
            return Err(Error::Contention { id: record.id });
        }
        self.store.flush().await?;
        info!(client_id = %record.id, account_id = %record.account_id, actor = %actor.id, request_id = %actor.request_id, "client id created");
        Ok(record)
    }

    /// Reads one client id (`credentials:read` on its account).
    ///
    /// # Errors
    /// `InvalidArgument`, `NoSuch`, `PermissionDenied`, or a storage failure.
    pub fn get_client_id(&self, actor: &Actor, id: &str) -> Result<ClientIdRecord, Error> {
        client_id_arg("id", id)?;
        let record = self
            .store
            .get_client_id(id)?
            .ok_or_else(|| Error::NoSuch(format!("client id {id} not found")))?;
        self.authorize(
            actor,
            "client_id.get",
            id,
            &record.account_id,
            actor.allows(Scope::CredentialsRead, Some(&record.account_id)),
        )?;
        Ok(record)
    }

    /// An account's client ids, in id order.
    ///
    /// # Errors
    /// `InvalidArgument`, `PermissionDenied`, or a storage failure.
    pub fn list_client_ids(
        &self,
        actor: &Actor,
        account_id: &str,
        page_size: i64,
        page_token: Option<&str>,
    ) -> Result<(Vec<ClientIdRecord>, Option<String>), Error> {
        validate::account_id("account_id", account_id)?;
        self.authorize(
            actor,
            "client_id.list",
            "",
            account_id,
            actor.allows(Scope::CredentialsRead, Some(account_id)),
        )?;
        let size = validate::page_size(page_size)?;
        let after = page_after(page_token, "client:")?;
        let clients = self
            .store
            .scan_client_ids(account_id, after.as_deref())
            .map(|c| c.map_err(Error::from));
        first_page(clients, |c| c.id.as_str(), "client:", size)
    }

    /// Revokes a client id: API keys bound to it stop verifying (DISABLED,
    /// reason CLIENT_REVOKED). Revoking twice changes nothing.
    ///
    /// # Errors
    /// `InvalidArgument`, `NoSuch`, `PermissionDenied`, or a storage failure.
    pub async fn revoke_client_id(
        &self,
        actor: &Actor,
        id: &str,
        reason: &str,
    ) -> Result<ClientIdRecord, Error> {
        client_id_arg("id", id)?;
        validate::reason(reason)?;
        for _ in 0..MAX_ATTEMPTS {
            let current = self
                .store
                .get_client_id(id)?
                .ok_or_else(|| Error::NoSuch(format!("client id {id} not found")))?;
            self.authorize(
                actor,
                "client_id.revoke",
                id,
                &current.account_id,
                actor.allows(Scope::CredentialsWrite, Some(&current.account_id)),
            )?;
            if current.status == ClientIdStatus::Revoked {
                self.store.flush().await?;
                return Ok(current);
            }
            let now = self.clock.now();
            let revoked = ClientIdRecord {
                status: ClientIdStatus::Revoked,
                status_reason: reason.to_string(),
                revoked_at: Some(now),
                ..current.clone()
            };
            let change = PartnerChange {
                client_id: Some(Replace {
                    expected: Some(&current),
                    new: &revoked,
                }),
                audits: vec![audit_entry(
                    actor,
                    now,
                    "client_id.revoke",
                    id,
                    &current.account_id,
                    reason.to_string(),
                )],
                ..Default::default()
            };
            if self.store.commit_partners(&change)? == Commit::Done {
                self.store.flush().await?;
                info!(client_id = %id, account_id = %revoked.account_id, actor = %actor.id, request_id = %actor.request_id, "client id revoked");
                return Ok(revoked);
            }
        }
        Err(Error::Contention { id: id.to_string() })
    }

    /// Checks that an API key being created for `account_id` in
    /// `environment` may be bound to `client_id`.
    pub(in crate::engine) fn check_binding(
        &self,
        client_id: &str,
        account_id: &str,
        environment: Environment,
    ) -> Result<(), Error> {
        client_id_arg("client_id", client_id)?;
        let client = self
            .store
            .get_client_id(client_id)?
            .ok_or_else(|| Error::NoSuch(format!("client id {client_id} not found")))?;
        if client.account_id != account_id {
            return Err(Error::InvalidArgument(format!(
                "client_id {client_id} belongs to another account than {account_id}"
            )));
        }
        if client.environment != environment {
            return Err(Error::InvalidArgument(format!(
                "client_id {client_id} is for the other environment; a key and its client id must both be live or both be test"
            )));
        }
        if client.status == ClientIdStatus::Revoked {
            return Err(Error::FailedPrecondition(format!(
                "client_id {client_id} is revoked"
            )));
        }
        Ok(())
    }
}
