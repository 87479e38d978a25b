//! A failure report: the daemon log around what went wrong, how to reproduce
//! it, and a copy of the data directory to inspect.

use super::*;

/// Copies a directory tree (the data directory is small: a sled database,
/// the pepper, perhaps some mail).
pub(super) fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create snapshot dir");
    let Ok(entries) = std::fs::read_dir(from) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let target = to.join(entry.file_name());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).expect("copy into snapshot");
        }
    }
}

/// Fails the test with what went wrong, the daemon log around it, and how to
/// reproduce it; keeps the test directory for inspection.
pub(super) fn fail(
    dir: tempfile::TempDir,
    daemon: &support::Daemon,
    what: &str,
    violations: &[Violation],
) -> ! {
    let kept = dir.keep();
    let log = daemon.logs();
    let lines: Vec<&str> = log.lines().collect();
    let mut report = format!("crash loop: {what}\n");
    for v in violations.iter().take(30) {
        report.push_str(&format!("  - {}\n", v.text));
    }
    if violations.len() > 30 {
        report.push_str(&format!("  ... and {} more\n", violations.len() - 30));
    }
    let mut ids: Vec<&str> = violations.iter().filter_map(|v| v.id.as_deref()).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut by_id: HashMap<&str, Vec<&str>> = HashMap::new();
    for id in ids.iter().take(5) {
        let mentions: Vec<&str> = lines
            .iter()
            .copied()
            .filter(|l| l.contains(id))
            .take(10)
            .collect();
        by_id.insert(id, mentions);
    }
    for (id, mentions) in &by_id {
        report.push_str(&format!("daemon log lines naming {id}:\n"));
        for line in mentions {
            report.push_str(&format!("  {line}\n"));
        }
    }
    report.push_str("daemon log, last 40 lines:\n");
    for line in &lines[lines.len().saturating_sub(40)..] {
        report.push_str(&format!("  {line}\n"));
    }
    report.push_str(&format!(
        "kept for inspection: {kept}/data (database now), {kept}/pre-restart (data directory \
         exactly as the last kill left it), {kept}/credd.log (whole log)\n\
         reproduce: `cargo test --test it crash_loop -- --nocapture` (kill timing is random; \
         CREDD_CRASH_LOOPS=500 runs longer), or reopen the kept state directly: \
         `cp -r {kept}/pre-restart /tmp/credd-repro && target/debug/credd --data-dir /tmp/credd-repro --listen 127.0.0.1:0`",
        kept = kept.display()
    ));
    panic!("{report}");
}
