//! Talking to a running BanGUI API over HTTP the way every test does: setup, sign-in,
//! API tokens, and the error envelope. `base` is the server's root (`http://127.0.0.1:N`).

use serde_json::Value;
use shared::domain::Role;

use crate::calls::Api;

/// The admin every test instance is set up with.
pub const ADMIN: &str = "admin";
pub const ADMIN_PASSWORD: &str = "correct horse battery staple";

/// A client that sends `Authorization: Bearer <token>` on every request.
pub fn bearer_client(token: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    if let Ok(v) = reqwest::header::HeaderValue::from_str(&format!("Bearer {token}")) {
        headers.insert(reqwest::header::AUTHORIZATION, v);
    }
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .expect("client")
}

/// Sets BanGUI up with the test admin and returns an admin API token.
pub async fn setup_admin(base: &str) -> String {
    let r = Api::new(base, reqwest::Client::new())
        .setup(ADMIN, ADMIN_PASSWORD)
        .await;
    assert_eq!(
        r.status(),
        201,
        "setup: {}",
        r.text().await.unwrap_or_default()
    );
    login_token(base, ADMIN, ADMIN_PASSWORD, "admin").await
}

/// A client that keeps cookies (a browser's session).
pub fn cookie_client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("client")
}

/// Signs in as `user` and creates an API token with `role`.
pub async fn login_token(base: &str, user: &str, password: &str, role: &str) -> String {
    let role = Role::parse(role).unwrap_or_else(|| panic!("no role {role}"));
    let api = Api::new(base, cookie_client());
    let r = api.login(user, password).await;
    assert_eq!(
        r.status(),
        200,
        "login: {}",
        r.text().await.unwrap_or_default()
    );
    let r = api.create_token("tests", role, None).await;
    assert_eq!(
        r.status(),
        201,
        "token: {}",
        r.text().await.unwrap_or_default()
    );
    let v: Value = r.json().await.expect("json");
    v["token"].as_str().expect("token").to_owned()
}

/// Sets BanGUI up (unless it already is) and returns a client that acts as the admin
/// with an API token, with a 15 s request timeout.
pub async fn admin_client(base: &str) -> reqwest::Client {
    let base = base.trim_end_matches("/api/v1");
    let r = Api::new(base, reqwest::Client::new())
        .setup(ADMIN, ADMIN_PASSWORD)
        .await;
    assert!(
        r.status() == 201 || r.status() == 409,
        "setup: {}",
        r.status()
    );
    let token = login_token(base, ADMIN, ADMIN_PASSWORD, "admin").await;
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        reqwest::header::HeaderValue::from_str(&format!("Bearer {token}")).expect("header"),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .timeout(std::time::Duration::from_secs(15))
        .build()
        .expect("client")
}

/// Asserts the error envelope and returns it.
pub async fn assert_error(resp: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(resp.status().as_u16(), status, "status");
    let header_id = resp
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .expect("x-request-id header");
    let body: Value = resp.json().await.expect("a JSON error body");
    assert_eq!(body["error_code"], code, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert_eq!(body["request_id"], header_id.as_str(), "{body}");
    body
}
