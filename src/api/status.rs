//! The one place engine errors become gRPC statuses. The match is exhaustive
//! on purpose: a new error variant must decide its code here. Server-side
//! failures are logged in full and answered with a generic message.

use tonic::{Code, Status};
use tracing::error;

use crate::engine::Error;

impl From<Error> for Status {
    fn from(err: Error) -> Self {
        match &err {
            // ---- CLIENT ERRORS ----
            Error::InvalidArgument(_) | Error::UnknownRateLimit(_) => {
                Status::invalid_argument(err.to_string())
            }
            Error::NotFound { .. }
            | Error::AccountNotFound { .. }
            | Error::UserNotFound { .. }
            | Error::NoSuch(_) => Status::not_found(err.to_string()),
            Error::Unauthenticated(_) => Status::unauthenticated(err.to_string()),
            Error::Throttled { retry_after } => {
                use tonic_types::{ErrorDetails, StatusExt};
                Status::with_error_details(
                    Code::ResourceExhausted,
                    err.to_string(),
                    ErrorDetails::with_retry_info(Some(*retry_after)),
                )
            }
            Error::AlreadyExists(_) => Status::already_exists(err.to_string()),
            Error::FailedPrecondition(_) => Status::failed_precondition(err.to_string()),
            Error::QuotaExceeded { .. } => Status::resource_exhausted(err.to_string()),
            Error::PermissionDenied(_) => Status::permission_denied(err.to_string()),
            // ---- SERVER ERRORS ----
            Error::Contention { .. } => Status::aborted(err.to_string()),
            // Fail closed: a cluster node that cannot reach etcd, or whose
            // replica is behind, neither answers nor knows a write's fate.
            Error::Storage(crate::store::Error::Cluster(_)) => {
                tracing::warn!(err = %err, "cluster store unavailable");
                Status::unavailable(err.to_string())
            }
            Error::Storage(e) if e.is_unrecoverable() => {
                error!(err = %err, "storage failure");
                Status::unavailable(
                    "the database is failing (see the credd log); the change was not made, retry shortly",
                )
            }
            Error::Storage(_) | Error::Random(_) => {
                error!(err = %err, "internal error");
                Status::new(Code::Internal, "internal error; see the credd log")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each domain error maps to the documented code with its message.
    #[test]
    fn maps_each_variant() {
        let cases = [
            (
                Error::InvalidArgument("name is required".into()),
                Code::InvalidArgument,
            ),
            (
                Error::Storage(crate::store::Error::Cluster("etcd did not answer".into())),
                Code::Unavailable,
            ),
            (
                Error::PermissionDenied("admin key k lacks the scope audit:read".into()),
                Code::PermissionDenied,
            ),
            (
                Error::NotFound {
                    id: "cred_x".into(),
                },
                Code::NotFound,
            ),
            (
                Error::FailedPrecondition("no".into()),
                Code::FailedPrecondition,
            ),
            (
                Error::QuotaExceeded {
                    account_id: "acme".into(),
                    limit: 100,
                },
                Code::ResourceExhausted,
            ),
            (
                Error::Contention {
                    id: "cred_x".into(),
                },
                Code::Aborted,
            ),
            (
                Error::Storage(crate::store::Error::Corrupt("x")),
                Code::Internal,
            ),
            (
                Error::Storage(crate::store::Error::Flush("corrupt: no space".into())),
                Code::Unavailable,
            ),
        ];
        for (err, code) in cases {
            let text = err.to_string();
            let status = Status::from(err);
            assert_eq!(status.code(), code, "{text}");
            if code != Code::Internal && code != Code::Unavailable {
                assert_eq!(status.message(), text);
            } else {
                assert!(!status.message().contains("corrupt"));
            }
        }
    }
}
