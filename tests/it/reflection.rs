//! gRPC reflection as grpcurl uses it, in both protocol versions (grpcurl
//! 1.8 asks v1alpha only, newer clients v1): `list` names every service the
//! daemon serves, the Envoy ext_authz `Authorization` included, and
//! `describe` resolves a service's file and every file it imports.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use prost::Message;
use prost_types::FileDescriptorProto;
use tempfile::TempDir;
use tonic::transport::Channel;
use tonic_reflection::pb::{v1, v1alpha};
use v1::server_reflection_request::MessageRequest;
use v1::server_reflection_response::MessageResponse;

use crate::support;

/// How long one reflection exchange may take.
const ANSWER_WITHIN: Duration = Duration::from_secs(10);

/// The services `grpcurl list` must show.
const SERVICES: &[&str] = &[
    "credd.v1.AccountAdmin",
    "credd.v1.AdminKeyAdmin",
    "credd.v1.AuditLog",
    "credd.v1.ClientIdAdmin",
    "credd.v1.CredentialAdmin",
    "credd.v1.CredentialVerifier",
    "credd.v1.PartnerAdmin",
    "credd.v1.SessionAuth",
    "credd.v1.UserAdmin",
    "envoy.service.auth.v3.Authorization",
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
];

/// A reflection protocol version.
#[derive(Clone, Copy, Debug)]
enum Version {
    V1,
    V1alpha,
}

/// Both versions, grpcurl 1.8's first.
const VERSIONS: [Version; 2] = [Version::V1alpha, Version::V1];

/// A daemon in its own directory (kept until the end of the test) and a
/// channel to it.
async fn started() -> (TempDir, support::Daemon, Channel) {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "");
    let channel = daemon.channel().await;
    (dir, daemon, channel)
}

/// One exchange over a fresh stream of the reflection client of `$pb` (`v1`
/// or `v1alpha`): `$request` is an encoded request, and so is the answer.
macro_rules! exchange {
    ($pb:ident, $channel:expr, $request:expr) => {{
        let request = $pb::ServerReflectionRequest::decode($request).expect("same wire");
        let mut client = $pb::server_reflection_client::ServerReflectionClient::new($channel);
        let mut answers = client
            .server_reflection_info(tokio_stream::iter([request]))
            .await
            .expect("reflection stream")
            .into_inner();
        let answer = answers.message().await.expect("answer");
        answer.expect("one answer").encode_to_vec()
    }};
}

/// One request and its answer over a fresh reflection stream. The two
/// versions have the same messages on the wire, so both are handled as
/// v1's.
async fn ask(channel: &Channel, version: Version, request: MessageRequest) -> MessageResponse {
    let request = v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(request),
    }
    .encode_to_vec();
    let channel = channel.clone();
    let exchange = async {
        match version {
            Version::V1 => exchange!(v1, channel, request.as_slice()),
            Version::V1alpha => exchange!(v1alpha, channel, request.as_slice()),
        }
    };
    let bytes = tokio::time::timeout(ANSWER_WITHIN, exchange)
        .await
        .unwrap_or_else(|_| panic!("{version:?} reflection did not answer in time"));
    v1::ServerReflectionResponse::decode(bytes.as_slice())
        .expect("same wire")
        .message_response
        .expect("an answer")
}

/// The service names `grpcurl list` prints.
async fn list(channel: &Channel, version: Version) -> BTreeSet<String> {
    match ask(
        channel,
        version,
        MessageRequest::ListServices(String::new()),
    )
    .await
    {
        MessageResponse::ListServicesResponse(list) => {
            list.service.into_iter().map(|s| s.name).collect()
        }
        other => panic!("{version:?} list: {other:?}"),
    }
}

/// The files of one file-descriptor answer, decoded.
async fn files(
    channel: &Channel,
    version: Version,
    request: MessageRequest,
) -> Vec<FileDescriptorProto> {
    match ask(channel, version, request.clone()).await {
        MessageResponse::FileDescriptorResponse(answer) => answer
            .file_descriptor_proto
            .iter()
            .map(|bytes| FileDescriptorProto::decode(bytes.as_slice()).expect("file descriptor"))
            .collect(),
        other => panic!("{version:?} {request:?}: {other:?}"),
    }
}

/// What `grpcurl describe <symbol>` fetches: the file defining `symbol`,
/// then every file it imports, transitively, by name. Keyed by file name.
async fn describe(
    channel: &Channel,
    version: Version,
    symbol: &str,
) -> BTreeMap<String, FileDescriptorProto> {
    let request = MessageRequest::FileContainingSymbol(symbol.to_string());
    let mut pending = files(channel, version, request).await;
    let mut found = BTreeMap::new();
    while let Some(file) = pending.pop() {
        for dependency in &file.dependency {
            if !found.contains_key(dependency) && !pending.iter().any(|f| f.name() == dependency) {
                let request = MessageRequest::FileByFilename(dependency.clone());
                pending.extend(files(channel, version, request).await);
            }
        }
        found.insert(file.name().to_string(), file);
    }
    found
}

/// The message named `full` (`.package.Name`) among `files`, if defined.
fn message<'f>(
    files: &'f BTreeMap<String, FileDescriptorProto>,
    full: &str,
) -> Option<&'f prost_types::DescriptorProto> {
    files.values().find_map(|file| {
        let name = full.strip_prefix(&format!(".{}.", file.package()))?;
        file.message_type.iter().find(|m| m.name() == name)
    })
}

/// Both versions list credd's services, health and the Envoy ext_authz
/// service.
#[tokio::test(flavor = "multi_thread")]
async fn both_versions_list_every_service() {
    let (_dir, _daemon, channel) = started().await;
    for version in VERSIONS {
        let services = list(&channel, version).await;
        for service in SERVICES {
            assert!(
                services.contains(*service),
                "{version:?} list lacks {service}: {services:?}"
            );
        }
    }
}

/// What `describe` must show: a service, one of its rpcs with its request
/// and response types, and more message types that must resolve among the
/// files fetched.
struct Described {
    service: &'static str,
    rpc: &'static str,
    request: &'static str,
    response: &'static str,
    messages: &'static [&'static str],
}

const DESCRIBED: &[Described] = &[
    Described {
        service: "envoy.service.auth.v3.Authorization",
        rpc: "Check",
        request: ".envoy.service.auth.v3.CheckRequest",
        response: ".envoy.service.auth.v3.CheckResponse",
        messages: &[
            ".envoy.service.auth.v3.AttributeContext",
            ".envoy.service.auth.v3.OkHttpResponse",
            ".envoy.service.auth.v3.DeniedHttpResponse",
            ".envoy.config.core.v3.HeaderValueOption",
            ".envoy.type.v3.HttpStatus",
            ".google.rpc.Status",
            ".google.protobuf.Struct",
            ".google.protobuf.Any",
        ],
    },
    Described {
        service: "credd.v1.CredentialVerifier",
        rpc: "Verify",
        request: ".credd.v1.VerifyRequest",
        response: ".credd.v1.VerifyResponse",
        messages: &[],
    },
];

/// Both versions describe the Envoy `Authorization` service and credd's
/// `CredentialVerifier`: the file defining each, the rpc with its types,
/// and every imported file, so that each message a reflection client needs
/// to encode a call resolves.
#[tokio::test(flavor = "multi_thread")]
async fn both_versions_describe_services() {
    let (_dir, _daemon, channel) = started().await;
    for version in VERSIONS {
        for want in DESCRIBED {
            let files = describe(&channel, version, want.service).await;
            let (package, name) = want.service.rsplit_once('.').expect("full name");
            let service = files
                .values()
                .filter(|f| f.package() == package)
                .flat_map(|f| &f.service)
                .find(|s| s.name() == name)
                .unwrap_or_else(|| panic!("{version:?}: no {name} in {:?}", files.keys()));
            let rpc = service
                .method
                .iter()
                .find(|m| m.name() == want.rpc)
                .unwrap_or_else(|| panic!("{version:?}: no {}.{}", want.service, want.rpc));
            assert_eq!(rpc.input_type(), want.request, "{version:?}");
            assert_eq!(rpc.output_type(), want.response, "{version:?}");
            for used in [want.request, want.response].iter().chain(want.messages) {
                assert!(
                    message(&files, used).is_some(),
                    "{version:?}: {used} does not resolve among {:?}",
                    files.keys()
                );
            }
        }
    }
}

/// The real grpcurl 1.8 (reflection v1alpha only) lists the services,
/// describes Envoy's `Authorization`, and calls `Check` with a JSON request
/// it encoded from the reflected descriptors.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpcurl_lists_describes_and_calls_check() {
    let Some(grpcurl) = crate::gateway::harness::tools::grpcurl() else {
        return;
    };
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "");
    let fixture = crate::gateway::fixture::Fixture::create(&daemon).await;
    let addr = daemon.addr.to_string();
    // `grpcurl -plaintext [flags] ADDR [verb and symbol]`.
    let run = |flags: Vec<String>, args: Vec<&'static str>| {
        let grpcurl = grpcurl.clone();
        let addr = addr.clone();
        async move {
            let output = tokio::process::Command::new(&grpcurl)
                .arg("-plaintext")
                .args(&flags)
                .arg(&addr)
                .args(&args)
                .output();
            let output = tokio::time::timeout(ANSWER_WITHIN, output)
                .await
                .expect("grpcurl answers in time")
                .expect("run grpcurl");
            let text = String::from_utf8_lossy(&output.stdout).to_string();
            assert!(
                output.status.success(),
                "grpcurl {args:?}: {text}{}",
                String::from_utf8_lossy(&output.stderr)
            );
            text
        }
    };
    let listed = run(vec![], vec!["list"]).await;
    for service in SERVICES {
        assert!(listed.contains(service), "{service} not in {listed}");
    }
    let described = run(
        vec![],
        vec!["describe", "envoy.service.auth.v3.Authorization"],
    )
    .await;
    assert!(described.contains("rpc Check"), "{described}");
    let request = serde_json::json!({
        "attributes": {"request": {"http": {"headers": {"x-api-key": fixture.key}}}}
    });
    let answer = run(
        vec!["-d".to_string(), request.to_string()],
        vec!["envoy.service.auth.v3.Authorization/Check"],
    )
    .await;
    assert!(answer.contains("okResponse"), "{answer}");
    assert!(answer.contains("x-credd-account"), "{answer}");
}
