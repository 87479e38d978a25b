//! The gRPC server the daemon runs: every credd service behind its
//! authenticator, Envoy's ext_authz `Check` (also on a port of its own when
//! `[gateway] ext_authz_listen` is set), the health and reflection
//! services, TLS when configured,
//! TCP_NODELAY on accepted connections, and the health states the daemon
//! moves through (serving, the verifier draining, everything not serving).
//! The daemon gets a [`Server`] to wait on and a [`Health`] to set; neither
//! shows it a tonic type.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::service::interceptor::InterceptedService;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;
use tracing::warn;

use super::ext_authz::ExtAuthzService;
use super::tls::Tls;
use super::{
    AccountService, AdminKeyService, AdminService, AuditService, Authenticator, BackupService,
    ClientIdService, LeakService, PartnerService, SessionService, Throttle, ThrottlePolicy,
    UserService, VerifierService, WebhookService, pb,
};
use crate::config::Config;
use crate::engine::Engine;

/// Why the server could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// tonic refused the TLS configuration.
    #[error("grpc server: tls: {0}")]
    TlsConfig(String),
    /// The reflection service could not be built.
    #[error("grpc reflection: {0}")]
    Reflection(String),
}

type AdminServer = pb::credential_admin_server::CredentialAdminServer<AdminService>;
type Task = JoinHandle<Result<(), tonic::transport::Error>>;
type VerifierServer = pb::credential_verifier_server::CredentialVerifierServer<VerifierService>;

/// The health service's states, as the daemon sets them.
#[derive(Clone)]
pub struct Health(HealthReporter);

impl Health {
    /// The admin and verifier services answer SERVING.
    async fn serving(&self) {
        self.0.set_serving::<AdminServer>().await;
        self.0.set_serving::<VerifierServer>().await;
    }

    /// The verifier answers NOT_SERVING (a shutdown is draining): load
    /// balancers stop sending Verify calls first.
    pub async fn verifier_not_serving(&self) {
        self.0.set_not_serving::<VerifierServer>().await;
    }

    /// Everything, the server as a whole included, answers SERVING (a
    /// cluster node caught up again after its fence closed).
    pub async fn all_serving(&self) {
        self.0.set_service_status("", ServingStatus::Serving).await;
        self.serving().await;
    }

    /// Everything, the server as a whole included, answers NOT_SERVING.
    pub async fn nothing_serving(&self) {
        self.0
            .set_service_status("", ServingStatus::NotServing)
            .await;
        self.0.set_not_serving::<AdminServer>().await;
        self.0.set_not_serving::<VerifierServer>().await;
    }
}

/// The running server.
pub struct Server {
    task: Task,
    /// The ext_authz port's server, when it has its own.
    ext_authz: Option<Task>,
}

impl Server {
    /// Builds every service over `engine` as `config` says and serves them
    /// on `listener` (and `Check` alone on `ext_authz`, if given), with
    /// `tls` if given, until `stop` resolves (then in-flight calls finish).
    ///
    /// # Errors
    /// [`ServerError`] when tonic refuses the TLS settings or reflection
    /// cannot be built.
    pub async fn start(
        engine: &Arc<Engine>,
        config: &Config,
        tls: Option<Tls>,
        listener: TcpListener,
        ext_authz: Option<TcpListener>,
        stop: tokio::sync::oneshot::Receiver<()>,
    ) -> Result<(Server, Health), ServerError> {
        let (reporter, health_service) = tonic_health::server::health_reporter();
        let health = Health(reporter);
        health.serving().await;
        // v1 and v1alpha both (grpcurl 1.8 asks v1alpha only), each listing
        // both reflection services.
        let reflection = || {
            tonic_reflection::server::Builder::configure()
                .include_reflection_service(false)
                .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(
                    tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
                )
        };
        let reflection_error =
            |e: tonic_reflection::server::Error| ServerError::Reflection(e.to_string());
        let reflection_v1 = reflection().build_v1().map_err(reflection_error)?;
        let reflection_v1alpha = reflection().build_v1alpha().map_err(reflection_error)?;
        let throttle = Arc::new(Throttle::new(ThrottlePolicy {
            burst: std::num::NonZeroU32::new(config.auth.failed_auth_burst)
                .unwrap_or(std::num::NonZeroU32::MIN),
            refill: config.auth.failed_auth_refill,
        }));
        let authenticated = Authenticator::new(engine.clone(), throttle.clone());
        let verifier_gate = if config.auth.verifier_token {
            authenticated.clone()
        } else {
            Authenticator::open(engine.clone(), throttle)
        };
        let token = config.auth.verifier_token;
        let mut builder = tonic::transport::Server::builder();
        if let Some(Tls(tls, _)) = &tls {
            builder = builder
                .tls_config(tls.clone())
                .map_err(|e| ServerError::TlsConfig(e.to_string()))?;
        }
        let e = engine;
        let gateway = Arc::new(config.gateway.clone());
        let check = || {
            InterceptedService::new(
                ExtAuthzService::new(e.clone(), gateway.clone(), token).into_server(),
                verifier_gate.clone(),
            )
        };
        let (stop_main, stop_ext_authz) = split_stop(stop);
        let ext_authz = match ext_authz {
            Some(listener) => {
                let mut builder = tonic::transport::Server::builder();
                if let Some(Tls(tls, _)) = tls {
                    builder = builder
                        .tls_config(tls)
                        .map_err(|e| ServerError::TlsConfig(e.to_string()))?;
                }
                let router = builder
                    .add_service(health_service.clone())
                    .add_service(check());
                Some(tokio::spawn(router.serve_with_incoming_shutdown(
                    incoming(listener),
                    async {
                        let _ = stop_ext_authz.await;
                    },
                )))
            }
            None => None,
        };
        let router = builder
            .add_service(health_service)
            .add_service(check())
            .add_service(reflection_v1)
            .add_service(reflection_v1alpha)
            .add_service(InterceptedService::new(
                AdminService::new(e.clone()).into_server(),
                authenticated.clone(),
            ))
            .add_service(InterceptedService::new(
                AdminKeyService::new(e.clone()).into_server(),
                authenticated.clone(),
            ))
            .add_service(InterceptedService::new(
                AccountService::new(e.clone()).into_server(),
                authenticated.clone(),
            ))
            .add_service(InterceptedService::new(
                UserService::new(e.clone()).into_server(),
                authenticated.clone(),
            ))
            .add_service(InterceptedService::new(
                SessionService::new(e.clone(), token).into_server(),
                verifier_gate.clone(),
            ))
            .add_service(InterceptedService::new(
                PartnerService::new(e.clone()).into_server(),
                authenticated.clone(),
            ))
            .add_service(InterceptedService::new(
                ClientIdService::new(e.clone()).into_server(),
                authenticated.clone(),
            ))
            .add_service(InterceptedService::new(
                AuditService::new(e.clone()).into_server(),
                authenticated.clone(),
            ))
            .add_service(InterceptedService::new(
                BackupService::new(e.clone(), config.data_dir.join("backup-staging")).into_server(),
                authenticated.clone(),
            ))
            .add_service(InterceptedService::new(
                WebhookService::new(e.clone(), Arc::new(config.webhooks.clone())).into_server(),
                authenticated.clone(),
            ))
            .add_service(InterceptedService::new(
                LeakService::new(e.clone(), config.leaks.action).into_server(),
                authenticated.clone(),
            ))
            .add_service(InterceptedService::new(
                VerifierService::new(e.clone(), token).into_server(),
                verifier_gate.clone(),
            ));
        let task = tokio::spawn(
            router.serve_with_incoming_shutdown(incoming(listener), async {
                let _ = stop_main.await;
            }),
        );
        Ok((Server { task, ext_authz }, health))
    }

    /// Waits until the server has stopped: `Ok` once a requested stop has
    /// drained, an error (as text) if it failed. Cancel-safe.
    pub async fn stopped(&mut self) -> Result<(), String> {
        match (&mut self.task).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Waits up to `grace` for the server to stop, then abandons what is
    /// still in flight. Returns whether it stopped by itself, and how.
    pub async fn drain(mut self, grace: Duration) -> Option<Result<(), String>> {
        let ext_authz = self.ext_authz.take();
        let both = async {
            let main = self.stopped().await;
            if let Some(task) = ext_authz {
                let _ = task.await;
            }
            main
        };
        match tokio::time::timeout(grace, both).await {
            Ok(result) => Some(result),
            Err(_) => {
                self.task.abort();
                None
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(task) = &self.ext_authz {
            task.abort();
        }
    }
}

/// Accepted connections with TCP_NODELAY: small unary answers must not
/// wait for Nagle's algorithm (40 ms stalls against delayed ACKs).
fn incoming(
    listener: TcpListener,
) -> impl tokio_stream::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    TcpListenerStream::new(listener).map(|connection| {
        if let Ok(stream) = &connection {
            if let Err(e) = stream.set_nodelay(true) {
                warn!(error = %e, "could not set TCP_NODELAY");
            }
        }
        connection
    })
}

/// One stop signal for two servers.
fn split_stop(
    stop: tokio::sync::oneshot::Receiver<()>,
) -> (
    tokio::sync::oneshot::Receiver<()>,
    tokio::sync::oneshot::Receiver<()>,
) {
    let (main_tx, main_rx) = tokio::sync::oneshot::channel();
    let (other_tx, other_rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let _ = stop.await;
        let _ = main_tx.send(());
        let _ = other_tx.send(());
    });
    (main_rx, other_rx)
}
