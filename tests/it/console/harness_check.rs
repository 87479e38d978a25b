//! The browser harness itself, on a page that exists without the console
//! (a daemon with the HTTP listener only):
//! chromedriver starts, Chromium loads the daemon's `/healthz`, the visit is
//! recorded, a screenshot is a PNG in `target/console-screenshots/`, and
//! nothing of the browser is left running after the test.

use super::browser::{Browser, screenshot_dir};
use crate::support;

/// Chromium opens `/healthz` of the daemon's HTTP listener and sees its JSON.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_harness_drives_headless_chromium() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "[http]\nlisten = \"127.0.0.1:0\"\n");
    let http = daemon.http_addr.expect("the HTTP listener");
    let Some(browser) = Browser::open(http, "harness").await else {
        return;
    };
    let page = browser.goto("/healthz").await;
    assert_eq!(page, "", "/healthz is not a console page");
    let text = browser.text("body").await;
    assert!(
        text.contains("\"status\":\"serving\""),
        "/healthz shows {text}"
    );
    assert_eq!(browser.path().await, "/healthz");
    let visits = browser.visits();
    assert_eq!(visits.len(), 1);
    assert!(visits[0].url.ends_with("/healthz"), "{}", visits[0].url);
    assert!(visits[0].source.contains("serving"));

    let shot = browser.screenshot("healthz").await;
    assert!(shot.starts_with(screenshot_dir()), "{}", shot.display());
    let png = std::fs::read(&shot).expect("read the screenshot");
    assert!(png.starts_with(b"\x89PNG"));
    // The window is 1280x900; the PNG (the viewport, IHDR's width and
    // height) is as wide and a little less high.
    assert_eq!(browser.window_size().await, (1280, 900), "window size");
    let width = u32::from_be_bytes(png[16..20].try_into().expect("width"));
    let height = u32::from_be_bytes(png[20..24].try_into().expect("height"));
    assert_eq!(width, 1280, "screenshot width");
    assert!((600..=900).contains(&height), "screenshot height {height}");
    let _ = std::fs::remove_file(&shot);
    browser.close().await;
}
