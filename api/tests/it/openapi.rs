//! The committed OpenAPI document (`api/openapi.json`) is the contract for the browser
//! client and OpenAPI users: it must equal what the code serves. Regenerate with
//! `BANGUI_UPDATE_OPENAPI=1 cargo test -p api --test it openapi`.

use testkit::db::backends;

use testkit::api::spawn_app;

#[tokio::test]
async fn the_committed_openapi_document_matches_the_served_one() {
    let app = spawn_app(backends()[0]).await;
    let served = app
        .get("/api/v1/openapi.json")
        .await
        .text()
        .await
        .expect("spec");
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json");
    if std::env::var("BANGUI_UPDATE_OPENAPI").is_ok() {
        std::fs::write(path, &served).expect("write openapi.json");
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == served,
        "api/openapi.json is stale; run BANGUI_UPDATE_OPENAPI=1 cargo test -p api --test it openapi"
    );
    let doc: serde_json::Value = serde_json::from_str(&served).expect("json");
    assert!(doc["paths"]["/scheduler"]["get"].is_object());
    app.stop().await;
}

#[tokio::test]
async fn the_explorer_is_served_at_api_docs() {
    let app = spawn_app(backends()[0]).await;
    let r = app.get("/api/docs/").await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.expect("html").contains("swagger"));
    app.stop().await;
}
