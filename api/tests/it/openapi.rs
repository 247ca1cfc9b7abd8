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
async fn every_error_code_and_vocabulary_is_an_enum_in_the_document() {
    let doc: serde_json::Value =
        serde_json::from_str(include_str!("../../openapi.json")).expect("openapi.json");
    let schemas = &doc["components"]["schemas"];
    let values = |name: &str| -> Vec<String> {
        schemas[name]["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("{name} is not an enum in openapi.json"))
            .iter()
            .map(|v| v.as_str().expect("string").to_owned())
            .collect()
    };
    fn words<T: std::fmt::Display>(all: &[T]) -> Vec<String> {
        all.iter().map(ToString::to_string).collect()
    }
    use shared::commands::{CommandKind, CommandStatus};
    use shared::domain::{BanState, JobName, Origin, Role};
    use shared::error_code::ErrorCode;
    assert_eq!(values("ErrorCode"), words(ErrorCode::ALL));
    assert_eq!(values("Role"), words(Role::ALL));
    assert_eq!(values("Origin"), words(Origin::ALL));
    assert_eq!(values("BanState"), words(BanState::ALL));
    assert_eq!(values("JobName"), words(JobName::ALL));
    assert_eq!(values("CommandKind"), words(CommandKind::ALL));
    assert_eq!(values("CommandStatus"), words(CommandStatus::ALL));
    // The envelope's code and a command's failure code are that one enum.
    let code_ref = |schema: &str| schemas[schema]["properties"]["error_code"].to_string();
    assert!(
        code_ref("ErrorBody").contains("#/components/schemas/ErrorCode"),
        "{}",
        code_ref("ErrorBody")
    );
    assert!(
        code_ref("CommandView").contains("#/components/schemas/ErrorCode"),
        "{}",
        code_ref("CommandView")
    );
}

#[tokio::test]
async fn the_explorer_is_served_at_api_docs() {
    let app = spawn_app(backends()[0]).await;
    let r = app.get("/api/docs/").await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.expect("html").contains("swagger"));
    app.stop().await;
}
