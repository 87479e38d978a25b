//! The server as a whole: the health service, reflection, and concurrent
//! writes on many accounts all returning (group commit).

use super::*;

/// The standard gRPC health service reports both credd services as SERVING.
#[tokio::test(flavor = "multi_thread")]
async fn health_reports_serving() {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "");
    let mut health = HealthClient::new(daemon.channel().await);
    for service in ["credd.v1.CredentialVerifier", "credd.v1.CredentialAdmin"] {
        let answer = health
            .check(HealthCheckRequest {
                service: service.to_string(),
            })
            .await
            .expect("health check")
            .into_inner();
        assert_eq!(answer.status(), ServingStatus::Serving, "{service}");
    }
    support::expect_code(
        health
            .check(HealthCheckRequest {
                service: "credd.v1.NoSuchService".to_string(),
            })
            .await,
        Code::NotFound,
        "health of an unknown service",
    );
}

/// gRPC reflection lists the admin, verifier and health services and serves the file declaring CredentialAdmin.
#[tokio::test(flavor = "multi_thread")]
async fn reflection_lists_services() {
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "");
    let mut client = ServerReflectionClient::new(daemon.channel().await);
    let requests = vec![
        ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        },
        ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::FileContainingSymbol(
                "credd.v1.CredentialAdmin".to_string(),
            )),
        },
    ];
    let mut answers = client
        .server_reflection_info(tokio_stream::iter(requests))
        .await
        .expect("reflection")
        .into_inner();

    let first = answers
        .message()
        .await
        .expect("first answer")
        .expect("an answer");
    let Some(MessageResponse::ListServicesResponse(list)) = first.message_response else {
        panic!("expected a service list, got {first:?}");
    };
    let names: Vec<&str> = list.service.iter().map(|s| s.name.as_str()).collect();
    for expected in [
        "credd.v1.CredentialAdmin",
        "credd.v1.CredentialVerifier",
        "grpc.health.v1.Health",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }

    let second = answers
        .message()
        .await
        .expect("second answer")
        .expect("an answer");
    let Some(MessageResponse::FileDescriptorResponse(files)) = second.message_response else {
        panic!("expected a file descriptor, got {second:?}");
    };
    assert!(!files.file_descriptor_proto.is_empty());
}

/// Concurrent writes on many accounts all return: durable writes share
/// flushes (group commit) instead of hanging or serialising.
#[tokio::test(flavor = "multi_thread")]
async fn concurrent_writes_all_return() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "");
    let admin = daemon.admin().await;
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..8 {
        let mut admin = admin.clone();
        tasks.spawn(async move {
            for i in 0..10 {
                let created = admin
                    .create_credential(support::api_key(&format!("acct{worker}"), &format!("k{i}")))
                    .await
                    .expect("create")
                    .into_inner();
                let id = created.credential.expect("credential").id;
                admin
                    .revoke_credential(pb::RevokeCredentialRequest {
                        id,
                        reason: "test".into(),
                    })
                    .await
                    .expect("revoke");
            }
        });
    }
    let joined = tokio::time::timeout(Duration::from_secs(60), async {
        let mut n_done = 0;
        while let Some(result) = tasks.join_next().await {
            result.expect("write task");
            n_done += 1;
        }
        n_done
    })
    .await;
    assert_eq!(joined.ok(), Some(8), "concurrent writes did not all return");
}
