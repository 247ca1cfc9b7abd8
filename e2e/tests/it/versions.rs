//! The fail2ban version matrix (issue #24). `scripts/test.sh` runs these and the
//! `fail2ban_e2e` tests once per version (`BANGUI_TEST_F2B_VERSION`: 0.11.2 and 1.1.0
//! through `fail2ban-at`, each on its own stock tree; Debian's 1.0.2 in the main run):
//! what differs between versions is handled here, not papered over.

use std::time::Duration;

use testkit::db::backends;
use testkit::fail2ban::test_version;
use testkit::stack::Stack;

/// The status names the version the server runs, as that version's own client reports
/// it, and the version BanGUI was asked to test against.
#[tokio::test]
async fn the_status_names_the_fail2ban_version_it_talks_to() {
    for backend in backends() {
        let s = Stack::start(backend).await;
        let reported = s.f2b.client(&["version"]).trim().to_owned();
        assert!(!reported.is_empty(), "the version's own client answers");
        if let Some(v) = test_version() {
            assert_eq!(reported, v, "fail2ban-at ran the version asked for");
        }
        let status = s
            .eventually(
                "a status with a version",
                Duration::from_secs(20),
                || async {
                    let st = s.get("/status").await;
                    st["version"].as_str().is_some().then_some(st)
                },
            )
            .await;
        assert_eq!(status["version"], reported.as_str(), "{status}");
        assert_eq!(status["reachable"], true, "{status}");
        assert_eq!(status["jail_count"], 4, "{status}");
        s.stop().await;
    }
}
