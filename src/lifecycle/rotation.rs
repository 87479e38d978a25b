//! Rotation: a credential keeps at most two live secrets. Rotating adds a
//! new secret and gives every older one a retirement time (the end of the
//! window); the older secret verifies until then, and completing the
//! rotation retires it at once. A window whose end has passed is "lapsed":
//! its older secret no longer verifies and is dropped by the next rotation
//! or the sweep.

use std::fmt;

use chrono::{DateTime, Duration, Utc};

use super::{CredentialRecord, Policy, SecretVersion, Span, Status, effective_status};

/// Where a credential stands with respect to rotation at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RotationState {
    /// One secret.
    None,
    /// Two secrets; the older one works until `retires_at`.
    Open {
        /// The older secret's version.
        older_version: u32,
        /// When it stops working.
        retires_at: DateTime<Utc>,
    },
    /// Two secrets, but the older one's window has ended and the index has
    /// not been tidied yet. The older secret no longer verifies.
    Lapsed {
        /// The older secret's version, to be dropped.
        older_version: u32,
    },
}

/// Whether a rotation window is open, lapsed or absent at `now`.
pub fn rotation_state(record: &CredentialRecord, now: DateTime<Utc>) -> RotationState {
    let older = record
        .versions
        .iter()
        .filter_map(|v| v.retires_at.map(|t| (v.version, t)))
        .min_by_key(|(_, t)| *t);
    match older {
        None => RotationState::None,
        Some((older_version, retires_at)) if now < retires_at => RotationState::Open {
            older_version,
            retires_at,
        },
        Some((older_version, _)) => RotationState::Lapsed { older_version },
    }
}

/// Why a rotation window asked for is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowError {
    /// Zero or negative.
    NotPositive,
    /// Longer than the policy's `rotation_max_window`.
    OverMaximum(Span),
}

impl fmt::Display for WindowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WindowError::NotPositive => write!(f, "window must be positive"),
            WindowError::OverMaximum(max) => write!(f, "window exceeds the maximum of {max}"),
        }
    }
}

/// When a rotation started at `now` ends: the policy's default window, or
/// the one asked for if it is positive and within the policy's maximum.
///
/// # Errors
/// A window that is not positive or is over the maximum.
pub fn window_end(
    policy: &Policy,
    window: Option<Duration>,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, WindowError> {
    match window {
        None => Ok(policy.rotation_default_window.after(now)),
        Some(w) if w <= Duration::zero() => Err(WindowError::NotPositive),
        Some(w) => now
            .checked_add_signed(w)
            .filter(|t| *t <= policy.rotation_max_window.after(now))
            .ok_or(WindowError::OverMaximum(policy.rotation_max_window)),
    }
}

/// Why a rotation transition is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RotationRefusal {
    /// Only an ACTIVE credential rotates; this is its status at `now`.
    NotActive(Status),
    /// A window is already open until this time: complete it first.
    AlreadyOpen(DateTime<Utc>),
    /// There is no rotation to complete.
    NotInProgress,
}

/// Starts a rotation at `now`: `fresh` becomes the newest secret (numbered
/// after the current one) and every older secret retires at `window_end`.
/// A lapsed window's older secret is dropped first, so the result holds at
/// most two secrets.
///
/// # Errors
/// The credential is not ACTIVE, or a window is still open.
pub fn start(
    current: &CredentialRecord,
    mut fresh: SecretVersion,
    window_end: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<CredentialRecord, RotationRefusal> {
    let status = effective_status(current, now);
    if status != Status::Active {
        return Err(RotationRefusal::NotActive(status));
    }
    let mut new = current.clone();
    match rotation_state(current, now) {
        RotationState::Open { retires_at, .. } => {
            return Err(RotationRefusal::AlreadyOpen(retires_at));
        }
        RotationState::Lapsed { older_version } => {
            new.versions.retain(|v| v.version != older_version);
        }
        RotationState::None => {}
    }
    let newest = new.current_version().map_or(0, |v| v.version);
    for version in &mut new.versions {
        version.retires_at = Some(window_end.max(now));
    }
    fresh.version = newest + 1;
    new.versions.push(fresh);
    Ok(new)
}

/// Completes a rotation at `now`: the older secret (of an open or lapsed
/// window) is dropped. Returns the new record and the retired version.
///
/// # Errors
/// No rotation is in progress.
pub fn complete(
    current: &CredentialRecord,
    now: DateTime<Utc>,
) -> Result<(CredentialRecord, u32), RotationRefusal> {
    let older = match rotation_state(current, now) {
        RotationState::None => return Err(RotationRefusal::NotInProgress),
        RotationState::Open { older_version, .. } | RotationState::Lapsed { older_version } => {
            older_version
        }
    };
    let mut new = current.clone();
    new.versions.retain(|v| v.version != older);
    Ok((new, older))
}

#[cfg(test)]
mod tests;
