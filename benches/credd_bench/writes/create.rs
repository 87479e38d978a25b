//! Creating credentials under load: the request, the authenticated
//! `AdminService` and its client, and creates over gRPC or direct.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use credd::api::pb;
use credd::api::pb::credential_admin_client::CredentialAdminClient;
use credd::api::{AdminService, Authenticator, Throttle, ThrottlePolicy};
use credd::engine::{Actor, Engine, NewCredential};
use credd::lifecycle::{Environment, Kind};
use tokio::runtime::Runtime;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic::transport::server::Router;

use crate::SCOPES;
use crate::harness::load::{Op, drive};
use crate::harness::settings::Settings;
use crate::harness::stats::Stats;
use crate::serve::{channels_for, connect};

/// Sends `authorization: Bearer <key>` with every request.
#[derive(Clone)]
pub(crate) struct Bearer(MetadataValue<Ascii>);

impl tonic::service::Interceptor for Bearer {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        request
            .metadata_mut()
            .insert("authorization", self.0.clone());
        Ok(request)
    }
}

/// An admin client on `channel` that authenticates with API key `key`.
pub(crate) fn admin_client(
    channel: Channel,
    key: &str,
) -> CredentialAdminClient<InterceptedService<Channel, Bearer>> {
    let bearer = format!("Bearer {key}").parse().expect("ascii key");
    CredentialAdminClient::with_interceptor(channel, Bearer(bearer))
}

/// Create request `n` of caller `w` in `run`.
pub(crate) fn create_request(run: &str, w: usize, n: u64) -> pb::CreateCredentialRequest {
    pb::CreateCredentialRequest {
        // At most 50 per account: the default quota is 100 live credentials.
        account_id: format!("{run}-{w}-{}", n / 50),
        kind: pb::Kind::ApiKey.into(),
        environment: pb::Environment::Live.into(),
        name: format!("bench create {n}"),
        description: "benchmark credential".to_string(),
        scopes: SCOPES.iter().map(|s| (*s).to_string()).collect(),
        lifetime: None,
        notify_emails: vec!["ops@example.com".to_string()],
        client_id: String::new(),
        ..Default::default()
    }
}

/// `AdminService` behind the daemon's own authenticator, and a key for it:
/// the create benchmarks pay for authentication as real callers do.
pub(crate) fn authenticated_admin(rt: &Runtime, engine: &Arc<Engine>) -> (Router, String) {
    let (_, key) = rt
        .block_on(engine.issue_root_admin_key(&Actor::system(), "bench"))
        .expect("bench admin key");
    let throttle = Arc::new(Throttle::new(ThrottlePolicy {
        burst: std::num::NonZeroU32::MIN,
        refill: Duration::from_secs(60),
    }));
    let router = tonic::transport::Server::builder().add_service(
        tonic::service::interceptor::InterceptedService::new(
            AdminService::new(engine.clone()).into_server(),
            Authenticator::new(engine.clone(), throttle),
        ),
    );
    (router, key.expose().to_string())
}

/// Acknowledged `CreateCredential` calls over gRPC, authenticated with
/// `key`, by `concurrency` callers; `run` keeps accounts apart between runs.
pub(crate) fn grpc_create(
    rt: &Runtime,
    s: &Settings,
    key: &str,
    addr: SocketAddr,
    concurrency: usize,
    run: &'static str,
) -> Stats {
    rt.block_on(async {
        let clients: Vec<_> = connect(addr, channels_for(concurrency))
            .await
            .into_iter()
            .map(|channel| admin_client(channel, key))
            .collect();
        let op: Op = Arc::new(move |w, n| {
            let mut client = clients[w % clients.len()].clone();
            Box::pin(async move {
                client
                    .create_credential(create_request(run, w, n))
                    .await
                    .is_ok_and(|r| !r.into_inner().secret.is_empty())
            })
        });
        drive(concurrency, s.warm(), s.measure(), op).await.stats()
    })
}

/// `Engine::create` called directly by `concurrency` tasks (no gRPC).
pub(crate) fn direct_create(
    rt: &Runtime,
    s: &Settings,
    engine: &Arc<Engine>,
    concurrency: usize,
) -> Stats {
    let engine = engine.clone();
    let run: &'static str = if concurrency == 1 {
        "direct1"
    } else {
        "direct"
    };
    rt.block_on(async {
        let op: Op = Arc::new(move |w, n| {
            let engine = engine.clone();
            Box::pin(async move {
                let request = create_request(run, w, n);
                engine
                    .create(
                        &Actor::unrestricted("admin"),
                        NewCredential {
                            account_id: request.account_id,
                            kind: Kind::ApiKey,
                            environment: Environment::Live,
                            name: request.name,
                            description: request.description,
                            scopes: request.scopes,
                            lifetime: None,
                            notify_emails: request.notify_emails,
                            client_id: None,
                            metadata: None,
                            credits: None,
                            rate_limits: Vec::new(),
                        },
                    )
                    .await
                    .is_ok()
            })
        });
        drive(concurrency, s.warm(), s.measure(), op).await.stats()
    })
}
