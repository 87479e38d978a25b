//! credctl against the real daemon: it finds the bootstrap key where a first
//! start with default settings leaves it (./credd-data/admin.key), manages
//! admin keys, reads the audit log, and fails with a clear message without a
//! usable key.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::support;

/// Runs credctl in `cwd` with `args`; returns (success, stdout, stderr).
fn credctl(cwd: &Path, addr: &str, args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_credctl"));
    command
        .current_dir(cwd)
        .env_remove("CREDD_ADMIN_KEY_FILE")
        .env_remove("CREDD_ADDR")
        .arg("--addr")
        .arg(addr)
        .args(args);
    for (k, v) in env {
        command.env(k, v);
    }
    let output = command.output().expect("run credctl");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn json(stdout: &str) -> Value {
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credctl_uses_the_bootstrap_key_and_manages_admin_keys() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "");
    // The default key path is ./credd-data/admin.key.
    std::os::unix::fs::symlink(&daemon.data_dir, dir.path().join("credd-data")).unwrap();
    let addr = daemon.addr.to_string();
    let cwd = dir.path();

    let (ok, out, err) = credctl(
        cwd,
        &addr,
        &["--json", "create", "--account", "acme", "--name", "orders"],
        &[],
    );
    assert!(ok, "create: {err}");
    let created = json(&out);
    let id = created["id"].as_str().unwrap().to_string();

    let (ok, out, err) = credctl(
        cwd,
        &addr,
        &[
            "--json",
            "admin-key",
            "create",
            "--name",
            "auditor",
            "--scope",
            "audit:read",
        ],
        &[],
    );
    assert!(ok, "admin-key create: {err}");
    let auditor = json(&out);
    assert_eq!(auditor["kind"], "KIND_ADMIN_KEY");
    let auditor_key = auditor["secret"].as_str().unwrap().to_string();
    let auditor_id = auditor["id"].as_str().unwrap().to_string();
    let key_file = dir.path().join("auditor.key");
    std::fs::write(&key_file, format!("{auditor_key}\n")).unwrap();

    let (ok, out, err) = credctl(cwd, &addr, &["--json", "admin-key", "list"], &[]);
    assert!(ok, "admin-key list: {err}");
    let listed = json(&out);
    assert_eq!(listed["credentials"].as_array().unwrap().len(), 2);

    // The auditor reads the audit log (through the environment variable)...
    let key_env = [("CREDD_ADMIN_KEY_FILE", key_file.to_str().unwrap())];
    let (ok, out, err) = credctl(
        cwd,
        &addr,
        &["--json", "audit", "--credential", &id, "--all"],
        &key_env,
    );
    assert!(ok, "audit: {err}");
    let events = json(&out);
    let actions: Vec<&str> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["credential.create"]);
    // ...and may not revoke anything.
    let (ok, _, err) = credctl(cwd, &addr, &["revoke", &id], &key_env);
    assert!(!ok);
    assert!(
        err.contains("PermissionDenied") && err.contains("credentials:write"),
        "{err}"
    );

    let (ok, _, err) = credctl(cwd, &addr, &["admin-key", "revoke", &auditor_id], &[]);
    assert!(ok, "admin-key revoke: {err}");
    let (ok, _, err) = credctl(
        cwd,
        &addr,
        &["audit", "--admin-key-file", key_file.to_str().unwrap()],
        &[],
    );
    assert!(!ok);
    assert!(err.contains("Unauthenticated"), "{err}");

    // A named key file that does not exist is an error of its own.
    let (ok, _, err) = credctl(
        cwd,
        &addr,
        &["list", "--admin-key-file", "/nonexistent/admin.key"],
        &[],
    );
    assert!(!ok);
    assert!(err.contains("/nonexistent/admin.key"), "{err}");
    // No key at all: the daemon's answer says what to send.
    let elsewhere = support::temp_dir();
    let (ok, _, err) = credctl(elsewhere.path(), &addr, &["list"], &[]);
    assert!(!ok);
    assert!(
        err.contains("Unauthenticated") && err.contains("Bearer"),
        "{err}"
    );
}

/// Runs credctl with `input` on stdin.
fn credctl_with_input(
    cwd: &Path,
    addr: &str,
    args: &[&str],
    input: &str,
) -> (bool, String, String) {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_credctl"))
        .current_dir(cwd)
        .env_remove("CREDD_ADMIN_KEY_FILE")
        .arg("--addr")
        .arg(addr)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run credctl");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let output = child.wait_with_output().expect("credctl output");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credctl_manages_accounts_users_passcodes_and_sessions() {
    let dir = support::temp_dir();
    let daemon = support::start(
        dir.path(),
        "[users]\nargon2_memory_kib = 64\nargon2_iterations = 1\n",
    );
    std::os::unix::fs::symlink(&daemon.data_dir, dir.path().join("credd-data")).unwrap();
    let addr = daemon.addr.to_string();
    let cwd = dir.path();
    let run = |args: &[&str]| {
        let (ok, out, err) = credctl(cwd, &addr, args, &[]);
        assert!(ok, "{args:?}: {err}");
        json(&out)
    };
    let account = run(&[
        "--json",
        "account",
        "create",
        "shop",
        "--name",
        "Shop",
        "--max-live",
        "10",
        "--rate",
        "100",
    ]);
    assert_eq!(account["max_live_credentials"], 10);
    assert_eq!(account["rate_limit"]["requests_per_second"], 100);
    let password = "a long enough password";
    let (ok, out, err) = credctl_with_input(
        cwd,
        &addr,
        &[
            "--json",
            "user",
            "create",
            "--account",
            "shop",
            "api",
            "--password-stdin",
        ],
        password,
    );
    assert!(ok, "user create: {err}");
    assert_eq!(json(&out)["login_name"], "shop-api");
    assert_eq!(
        run(&["--json", "user", "list", "--account", "shop"])["login_name"],
        "shop-api"
    );
    assert_eq!(run(&["--json", "account", "list"])["id"], "shop");
    let (ok, out, err) = credctl(
        cwd,
        &addr,
        &[
            "--json",
            "user",
            "grant-passcode",
            "--account",
            "shop",
            "api",
            "--days",
            "30",
        ],
        &[],
    );
    assert!(ok, "grant: {err}");
    let secret = out
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find_map(|v| v["secret"].as_str().map(str::to_string))
        .expect("the passcode in the output");
    let verdict = run(&["--json", "verify", &secret, "--account", "shop"]);
    assert_eq!(verdict["result"], "VERIFY_RESULT_VALID");

    let (ok, out, err) = credctl_with_input(
        cwd,
        &addr,
        &["--json", "session", "login", "--account", "shop", "api"],
        password,
    );
    assert!(ok, "login: {err}");
    let token = json(&out)["session_token"].as_str().unwrap().to_string();
    assert_eq!(
        run(&["--json", "verify", &token])["result"],
        "VERIFY_RESULT_VALID"
    );
    assert_eq!(run(&["--json", "session", "logout", &token])["ended"], true);
    assert_eq!(
        run(&["--json", "verify", &token])["result"],
        "VERIFY_RESULT_NOT_FOUND"
    );
    let (ok, _, err) = credctl(cwd, &addr, &["account", "suspend", "shop"], &[]);
    assert!(ok, "{err}");
    assert_eq!(
        run(&["--json", "verify", &secret, "--account", "shop"])["disabled_reason"],
        "DISABLED_REASON_ACCOUNT_SUSPENDED"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credctl_manages_partners_grants_client_ids_and_consent() {
    use base64::Engine as _;
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "");
    std::os::unix::fs::symlink(&daemon.data_dir, dir.path().join("credd-data")).unwrap();
    let addr = daemon.addr.to_string();
    let cwd = dir.path();
    let run = |args: &[&str]| {
        let (ok, out, err) = credctl(cwd, &addr, args, &[]);
        assert!(ok, "{args:?}: {err}");
        json(&out)
    };
    let run_with_input = |args: &[&str], input: &str| {
        let (ok, out, err) = credctl_with_input(cwd, &addr, args, input);
        assert!(ok, "{args:?}: {err}");
        json(&out)
    };
    let secret = |value: &Value| value["secret"].as_str().unwrap().to_string();
    let basic = |id: &str, key: &str| {
        let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{key}"));
        format!("Basic {encoded}\n")
    };

    // The seed: LAGERMAN (a client) and MYPRODUCT (a product acting for it).
    let client_key = secret(&run(&[
        "--json",
        "create",
        "--account",
        "LAGERMAN",
        "--name",
        "shop",
    ]));
    let product_key = secret(&run(&[
        "--json",
        "create",
        "--account",
        "MYPRODUCT",
        "--name",
        "checkout",
    ]));
    let partner = run(&[
        "--json",
        "partner",
        "register",
        "MYPRODUCT",
        "--display-name",
        "My Product",
        "--redirect-prefix",
        "https://partner.example/",
    ]);
    assert_eq!(partner["account_id"], "MYPRODUCT");
    assert_eq!(
        run(&["--json", "partner", "list"])["display_name"],
        "My Product"
    );
    let grant = run(&[
        "--json",
        "grant",
        "create",
        "--partner",
        "MYPRODUCT",
        "--client",
        "LAGERMAN",
        "--lifetime",
        "90d",
    ]);
    assert_eq!(grant["status"], "GRANT_STATUS_ACTIVE");
    assert_eq!(grant["origin"], "GRANT_ORIGIN_ADMIN");
    let grant_id = grant["id"].as_str().unwrap().to_string();
    assert_eq!(
        run(&["--json", "grant", "list", "--client", "LAGERMAN"])["id"],
        grant_id.as_str()
    );

    // Client level, product level, and headers of both modes.
    let answer = run_with_input(
        &["--json", "verify-http", "--authorization-stdin"],
        &basic("LAGERMAN", &client_key),
    );
    assert_eq!(answer["allowed"], true, "{answer}");
    assert_eq!(answer["http_status"], 200);
    assert_eq!(answer["mode"], "AUTH_MODE_CLIENT");
    let product_level = [
        "--json",
        "verify-http",
        "--authorization-stdin",
        "--product-id",
        "MYPRODUCT",
        "--client-id",
        "LAGERMAN",
    ];
    let answer = run_with_input(&product_level, &basic("MYPRODUCT", &product_key));
    assert_eq!(answer["allowed"], true, "{answer}");
    assert_eq!(answer["mode"], "AUTH_MODE_PRODUCT");
    assert_eq!(answer["acting_for_account_id"], "LAGERMAN");
    assert_eq!(answer["grant_id"], grant_id.as_str());
    let answer = run_with_input(
        &[
            "--json",
            "verify-http",
            "--authorization-stdin",
            "--client-id",
            "LAGERMAN",
        ],
        &basic("LAGERMAN", &client_key),
    );
    assert_eq!(answer["refusal"], "HTTP_AUTH_REFUSAL_MIXED_MODES");
    assert_eq!(answer["http_status"], 401);
    assert!(!answer.to_string().contains(&client_key), "{answer}");
    let verdict = run(&[
        "--json",
        "verify",
        &product_key,
        "--on-behalf-of",
        "LAGERMAN",
    ]);
    assert_eq!(verdict["result"], "VERIFY_RESULT_VALID");
    assert_eq!(verdict["acting_for_account_id"], "LAGERMAN");
    assert_eq!(verdict["grant_id"], grant_id.as_str());

    // Client ids: a key bound to one, and what revoking it does.
    let client_id = run(&[
        "--json",
        "client-id",
        "create",
        "--account",
        "LAGERMAN",
        "--name",
        "webshop",
    ]);
    assert_eq!(client_id["status"], "CLIENT_ID_STATUS_ACTIVE");
    let client_id = client_id["id"].as_str().unwrap().to_string();
    let bound = run(&[
        "--json",
        "create",
        "--account",
        "LAGERMAN",
        "--name",
        "webshop key",
        "--client-id",
        &client_id,
    ]);
    assert_eq!(bound["client_id"], client_id.as_str());
    let bound_key = secret(&bound);
    let verdict = run(&["--json", "verify", &bound_key, "--client-id", &client_id]);
    assert_eq!(verdict["result"], "VERIFY_RESULT_VALID");
    assert_eq!(verdict["client_id"], client_id.as_str());
    let revoked = run(&[
        "--json",
        "client-id",
        "revoke",
        &client_id,
        "--reason",
        "moved",
    ]);
    assert_eq!(revoked["status"], "CLIENT_ID_STATUS_REVOKED");
    let verdict = run(&["--json", "verify", &bound_key]);
    assert_eq!(verdict["disabled_reason"], "DISABLED_REASON_CLIENT_REVOKED");

    // Consent: the customer key comes back once, in the redirect URL.
    run(&["--json", "account", "create", "SHOP"]);
    let requested = run(&[
        "--json",
        "consent",
        "request",
        "--partner",
        "MYPRODUCT",
        "--customer",
        "SHOP",
        "--redirect-url",
        "https://partner.example/klicktipp-api?customerkey=",
        "--scope",
        "contacts:write",
    ]);
    assert_eq!(requested["status"], "CONSENT_STATUS_PENDING");
    let consent_id = requested["id"].as_str().unwrap().to_string();
    assert_eq!(
        requested["approval_path"],
        format!("/consent/{consent_id}").as_str()
    );
    let approved = run(&["--json", "consent", "approve", &consent_id]);
    assert_eq!(approved["status"], "CONSENT_STATUS_APPROVED");
    assert_eq!(approved["customer_key"]["kind"], "KIND_CUSTOMER_KEY");
    let customer_key = approved["customer_key"]["secret"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(customer_key.starts_with("credd_live_cust_"), "{approved}");
    assert_eq!(
        approved["redirect_url"],
        format!("https://partner.example/klicktipp-api?customerkey={customer_key}").as_str()
    );
    let consent_grant = approved["grant"]["id"].as_str().unwrap().to_string();
    let pair = format!("{product_key}\n{customer_key}\n");
    let answer = run_with_input(&["--json", "verify-pair", "--developer-key-stdin"], &pair);
    assert_eq!(answer["result"], "VERIFY_RESULT_VALID");
    assert_eq!(answer["customer_account_id"], "SHOP");
    let ended = run(&["--json", "grant", "revoke", &consent_grant]);
    assert_eq!(ended["status"], "GRANT_STATUS_REVOKED");
    let answer = run_with_input(&["--json", "verify-pair", "--developer-key-stdin"], &pair);
    assert_ne!(answer["result"], "VERIFY_RESULT_VALID");

    // Un-whitelisting the product revokes its grant: product level is 403.
    let removed = run(&["--json", "partner", "remove", "MYPRODUCT"]);
    assert_eq!(removed["grants_revoked"], 1);
    let answer = run_with_input(&product_level, &basic("MYPRODUCT", &product_key));
    assert_eq!(
        answer["refusal"],
        "HTTP_AUTH_REFUSAL_PARTNER_NOT_WHITELISTED"
    );
    assert_eq!(answer["http_status"], 403);
}
