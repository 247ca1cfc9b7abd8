//! Accounts and access over real HTTP, on every backend, with two API processes sharing
//! one database where it matters (sessions, brute force, setup races).

use std::time::Instant;

use serde_json::{Value, json};
use testkit::db::backends;

use shared::domain::Role;
use testkit::api::{TestApp, spawn_app, spawn_app_with};
use testkit::calls::Api;
use testkit::client::{
    ADMIN, ADMIN_PASSWORD, assert_error, bearer_client, cookie_client, login_token,
};
use testkit::config;

/// A second API process over the same database.
async fn second_api(app: &TestApp) -> (String, tokio_util::sync::CancellationToken) {
    let other = api::app::App::build(config(
        &app.test_db.url,
        &[("BANGUI_COOKIE_SECURE", "false")],
    ))
    .await
    .expect("second api");
    let base = format!("http://{}", other.local_addr());
    let stop = tokio_util::sync::CancellationToken::new();
    tokio::spawn(other.run_until_stopped(stop.clone()));
    (base, stop)
}

/// A client whose requests come from `address` (any of 127.0.0.0/8 reaches the API).
fn from_address(address: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(address.parse::<std::net::IpAddr>().expect("address"))
        .build()
        .expect("client")
}

async fn login(
    http: &reqwest::Client,
    base: &str,
    user: &str,
    password: &str,
) -> reqwest::Response {
    Api::new(base, http.clone()).login(user, password).await
}

/// The admin's typed caller of `app`.
fn admin(app: &TestApp) -> Api {
    Api::new(&app.base, app.http.clone())
}

async fn create_user(app: &TestApp, name: &str, role: &str) -> i64 {
    let role = Role::parse(role).expect("role");
    let r = admin(app)
        .create_user(name, "a long enough passphrase", role)
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
    r.json::<Value>().await.expect("json")["id"]
        .as_i64()
        .expect("id")
}

/// An unauthenticated GET's JSON body.
async fn public_get(app: &TestApp, path: &str) -> Value {
    app.anon
        .get(app.url(path))
        .send()
        .await
        .expect("req")
        .json()
        .await
        .expect("json")
}

#[tokio::test]
async fn setup_is_required_first_refuses_weak_passwords_and_happens_once_even_when_raced() {
    for backend in backends() {
        let fresh = spawn_app_with(backend, false, &[]).await;
        migrations::up_guarded(&fresh.db).await.expect("migrate");
        let st = public_get(&fresh, "/api/v1/setup").await;
        assert_eq!(st["completed"], false);
        // Before setup the page shows the fail2ban connection (here: never probed, no
        // scheduler yet), so the admin sees at once whether BanGUI reaches fail2ban.
        assert_eq!(st["fail2ban"]["reachable"], false, "{st}");
        assert!(
            st["fail2ban"]["error"]
                .as_str()
                .is_some_and(|e| e.contains("not been probed")),
            "{st}"
        );
        for path in ["/api/v1/status", "/api/v1/bans", "/api/v1/scheduler"] {
            assert_error(
                fresh.anon.get(fresh.url(path)).send().await.expect("req"),
                503,
                "setup_required",
            )
            .await;
        }
        assert_error(
            login(&fresh.anon, &fresh.base, "x", "y").await,
            503,
            "setup_required",
        )
        .await;
        assert_eq!(
            fresh
                .anon
                .get(fresh.url("/healthz"))
                .send()
                .await
                .expect("req")
                .status(),
            200
        );
        assert_eq!(
            fresh
                .anon
                .get(fresh.url("/api/v1/openapi.json"))
                .send()
                .await
                .expect("req")
                .status(),
            200
        );
        // Setup refuses what the page's meter calls weak; the meter asks the same rules
        // (public while setup is pending).
        let anon_post =
            |path: &str, body: Value| fresh.anon.post(fresh.url(path)).json(&body).send();
        for (user, pw) in [
            ("admin", "short"),
            ("admin", "1qaz2wsx3edc"),
            ("adminadminadmin", "adminadminadmin"),
            ("admin", "password1234"),
            ("admin", "Password2024!"),
            ("admin", "qwertyuiop1234"),
        ] {
            let body = json!({"username": user, "password": pw});
            let r = anon_post("/api/v1/auth/password-strength", body.clone())
                .await
                .expect("req");
            assert_eq!(r.status(), 200);
            let meter: Value = r.json().await.expect("json");
            assert_eq!(meter["acceptable"], false, "{pw}: {meter}");
            assert!(meter["problem"].is_string(), "{meter}");
            let r = anon_post("/api/v1/setup", body).await.expect("req");
            let refused = assert_error(r, 422, "weak_password").await;
            assert_eq!(refused["message"], meter["problem"], "{pw}");
        }
        let strong = json!({"password": "correct horse battery staple"});
        let r = anon_post("/api/v1/auth/password-strength", strong)
            .await
            .expect("req");
        let meter: Value = r.json().await.expect("json");
        assert_eq!(
            (meter["acceptable"].as_bool(), meter["score"].as_i64()),
            (Some(true), Some(4)),
            "{meter}"
        );
        // A username is taken as sent: surrounding spaces are refused, not trimmed.
        let spaced = json!({"username": " root", "password": "correct horse battery staple"});
        let r = anon_post("/api/v1/setup", spaced).await.expect("req");
        assert_error(r, 422, "invalid_username").await;
        // Two API processes race to set up: exactly one wins.
        let (other, stop) = second_api(&fresh).await;
        let body = json!({"username": "root", "password": "correct horse battery staple"});
        let (a, b) = tokio::join!(
            fresh
                .anon
                .post(fresh.url("/api/v1/setup"))
                .json(&body)
                .send(),
            fresh
                .anon
                .post(format!("{other}/api/v1/setup"))
                .json(&body)
                .send()
        );
        let mut codes = [
            a.expect("a").status().as_u16(),
            b.expect("b").status().as_u16(),
        ];
        codes.sort();
        assert_eq!(codes, [201, 409], "{backend:?}");
        let admins = shared::db::query_all(&fresh.db, "SELECT id FROM users", [])
            .await
            .expect("users")
            .len();
        assert_eq!(admins, 1);
        // After setup the public endpoint says only that it is done, and the meter is
        // for signed-in users.
        let st = public_get(&fresh, "/api/v1/setup").await;
        assert_eq!(st["completed"], true);
        assert!(st["fail2ban"].is_null(), "{st}");
        let r = fresh
            .anon
            .post(fresh.url("/api/v1/auth/password-strength"))
            .json(&json!({"password": "correct horse battery staple"}))
            .send()
            .await
            .expect("req");
        assert_error(r, 401, "unauthorized").await;
        stop.cancel();
        fresh.stop().await;
    }
}

#[tokio::test]
async fn sessions_work_across_api_processes_and_die_everywhere_at_logout() {
    for backend in backends() {
        let app = spawn_app_with(backend, true, &[("BANGUI_COOKIE_SECURE", "false")]).await;
        let (other, stop) = second_api(&app).await;
        let browser = cookie_client();
        let r = login(&browser, &app.base, ADMIN, ADMIN_PASSWORD).await;
        assert_eq!(r.status(), 200);
        let cookie = r.headers()["set-cookie"]
            .to_str()
            .expect("cookie")
            .to_owned();
        assert!(cookie.starts_with("bangui_session="), "{cookie}");
        for attr in ["HttpOnly", "SameSite=Strict", "Path=/"] {
            assert!(cookie.contains(attr), "{cookie} lacks {attr}");
        }
        assert!(
            !cookie.contains("Secure"),
            "BANGUI_COOKIE_SECURE=false: {cookie}"
        );
        let me: Value = r.json().await.expect("json");
        assert_eq!(
            (me["user"].as_str(), me["role"].as_str()),
            (Some(ADMIN), Some("admin"))
        );
        // No zone was chosen at setup: the instance shows UTC.
        assert_eq!(me["timezone"], "UTC", "{me}");
        // The cookie made on A works on B.
        let on_b: Value = browser
            .get(format!("{other}/api/v1/auth/session"))
            .send()
            .await
            .expect("req")
            .json()
            .await
            .expect("json");
        assert_eq!(on_b["via"], "session", "{on_b}");
        // Log out on A (a cookie call needs the CSRF header and a same-origin Origin).
        let r = browser
            .post(format!("{}/api/v1/auth/logout", app.base))
            .header("X-Requested-With", "bangui")
            .header("Origin", &app.base)
            .send()
            .await
            .expect("logout");
        assert_eq!(r.status(), 204);
        // The browser dropped the cookie; replay it by hand on B: dead there too.
        let token = cookie.split(';').next().expect("pair").to_owned();
        let r = reqwest::Client::new()
            .get(format!("{other}/api/v1/auth/session"))
            .header("Cookie", token)
            .send()
            .await
            .expect("req");
        assert_error(r, 401, "unauthorized").await;
        // Secure by default.
        let secure = spawn_app(backend).await;
        let r = login(&cookie_client(), &secure.base, ADMIN, ADMIN_PASSWORD).await;
        assert!(
            r.headers()["set-cookie"]
                .to_str()
                .expect("cookie")
                .contains("Secure")
        );
        secure.stop().await;
        stop.cancel();
        app.stop().await;
    }
}

#[tokio::test]
async fn cookie_calls_that_fail_the_csrf_check_are_refused_and_bearer_calls_are_exempt() {
    let app = spawn_app_with(backends()[0], true, &[("BANGUI_COOKIE_SECURE", "false")]).await;
    let browser = cookie_client();
    assert_eq!(
        login(&browser, &app.base, ADMIN, ADMIN_PASSWORD)
            .await
            .status(),
        200
    );
    let url = app.url("/api/v1/auth/tokens");
    let body = json!({"name": "t", "role": "viewer"});
    let r = browser.post(&url).json(&body).send().await.expect("req");
    assert_error(r, 403, "csrf_failed").await;
    let r = browser
        .post(&url)
        .header("X-Requested-With", "bangui")
        .header("Origin", "https://evil.example")
        .json(&body)
        .send()
        .await
        .expect("req");
    assert_error(r, 403, "csrf_failed").await;
    let r = browser
        .post(&url)
        .header("X-Requested-With", "bangui")
        .json(&body)
        .send()
        .await
        .expect("req");
    assert_error(r, 403, "csrf_failed").await;
    let r = browser
        .post(&url)
        .header("X-Requested-With", "bangui")
        .header("Origin", &app.base)
        .json(&body)
        .send()
        .await
        .expect("req");
    assert_eq!(r.status(), 201);
    let r = browser
        .post(&url)
        .header("X-Requested-With", "bangui")
        .header("Referer", format!("{}/jails", app.base))
        .json(&body)
        .send()
        .await
        .expect("req");
    assert_eq!(r.status(), 201, "a same-origin Referer does too");
    // GETs need no header; Bearer calls are exempt.
    assert_eq!(
        browser
            .get(app.url("/api/v1/auth/tokens"))
            .send()
            .await
            .expect("req")
            .status(),
        200
    );
    assert_eq!(
        app.http
            .post(&url)
            .json(&body)
            .send()
            .await
            .expect("req")
            .status(),
        201
    );
    app.stop().await;
}

#[tokio::test]
async fn brute_force_is_stopped_across_api_processes_without_revealing_users() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let (other, stop) = second_api(&app).await;
        // Unknown user and wrong password answer alike, in similar time; the attempts go
        // to both processes. The fastest of six samples per side is compared (tests run in
        // parallel on two cores, so any single sample may wait for a core); the rate-limit
        // rows these samples leave are cleared so the counting below starts from zero.
        let mut t_unknown = Vec::new();
        let mut t_wrong = Vec::new();
        for round in 0..6 {
            let (first, second) = if round % 2 == 0 {
                (&app.base, &other)
            } else {
                (&other, &app.base)
            };
            let t = Instant::now();
            let unknown = login(&app.anon, first, "nobody-here", "whatever whatever").await;
            t_unknown.push(t.elapsed().as_secs_f64());
            let t = Instant::now();
            let wrong = login(&app.anon, second, ADMIN, "not the password at all").await;
            t_wrong.push(t.elapsed().as_secs_f64());
            let a = assert_error(unknown, 401, "invalid_credentials").await;
            let b = assert_error(wrong, 401, "invalid_credentials").await;
            assert_eq!(a["message"], b["message"]);
            shared::db::execute(&app.db, "DELETE FROM rate_limits", [])
                .await
                .expect("reset rate limits");
        }
        let (u, w) = (
            t_unknown.iter().cloned().fold(f64::MAX, f64::min),
            t_wrong.iter().cloned().fold(f64::MAX, f64::min),
        );
        assert!(
            u.max(w) / u.min(w) < 3.0,
            "{backend:?}: unknown {t_unknown:?} vs wrong {t_wrong:?}"
        );
        // 40 guesses at once, split over both processes: every attempt is reserved before
        // its password is checked, so at most five reach the check; the rest are refused
        // and counted, which grows the block well past the first minute.
        let guesses = (0..40).map(|i| {
            let base = if i % 2 == 0 { &app.base } else { &other };
            login(&app.anon, base, ADMIN, "not the password at all")
        });
        let statuses: Vec<u16> = futures_util::future::join_all(guesses)
            .await
            .into_iter()
            .map(|r| r.status().as_u16())
            .collect();
        let checked = statuses.iter().filter(|s| **s == 401).count();
        let refused = statuses.iter().filter(|s| **s == 429).count();
        assert!(
            (1..=5).contains(&checked) && checked + refused == 40,
            "{backend:?}: {statuses:?}"
        );
        for base in [&app.base, &other] {
            let r = login(&app.anon, base, ADMIN, ADMIN_PASSWORD).await;
            assert_eq!(
                r.status(),
                429,
                "{backend:?}: even the right password waits"
            );
            let retry: i64 = r.headers()["retry-after"]
                .to_str()
                .expect("header")
                .parse()
                .expect("seconds");
            assert!(
                (1800..=3600).contains(&retry),
                "{backend:?}: grown to {retry}"
            );
            assert_error(r, 429, "rate_limited").await;
        }
        // The block holds this user at this address only: the admin signs in from another
        // address, and another user from the blocked one.
        let elsewhere = from_address("127.0.0.2");
        let r = login(&elsewhere, &other, ADMIN, ADMIN_PASSWORD).await;
        assert_eq!(r.status(), 200, "{backend:?}: the admin is not locked out");
        create_user(&app, "bystander", "viewer").await;
        let r = login(
            &app.anon,
            &app.base,
            "bystander",
            "a long enough passphrase",
        )
        .await;
        assert_eq!(r.status(), 200, "{backend:?}: another user at the address");
        // Guesses at one username from many addresses are never refused, only slowed down.
        let mut last = std::time::Duration::ZERO;
        for i in 0..8 {
            let client = from_address(&format!("127.0.0.{}", 10 + i % 4));
            let t = Instant::now();
            let r = login(&client, &app.base, "bystander", "a wrong passphrase!").await;
            last = t.elapsed();
            assert_error(r, 401, "invalid_credentials").await;
        }
        assert!(
            last >= std::time::Duration::from_millis(1_400),
            "{backend:?}: the 8th guess from elsewhere waited only {last:?}"
        );
        // The audit log has the refused attempts; the API token still works.
        let audit: Value = app
            .http
            .get(app.url("/api/v1/audit?action=login"))
            .send()
            .await
            .expect("req")
            .json()
            .await
            .expect("json");
        assert!(audit["total"].as_i64().unwrap_or(0) >= 6, "{audit}");
        stop.cancel();
        app.stop().await;
    }
}

#[tokio::test]
async fn every_operation_declares_a_role_and_refuses_callers_below_it() {
    let app = spawn_app(backends()[0]).await;
    create_user(&app, "viewer1", "viewer").await;
    create_user(&app, "operator1", "operator").await;
    let viewer = bearer_client(
        &login_token(&app.base, "viewer1", "a long enough passphrase", "viewer").await,
    );
    let operator = bearer_client(
        &login_token(
            &app.base,
            "operator1",
            "a long enough passphrase",
            "operator",
        )
        .await,
    );
    let spec: Value = app
        .anon
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .expect("spec")
        .json()
        .await
        .expect("json");
    let mut checked = 0;
    for (path, ops) in spec["paths"].as_object().expect("paths") {
        for (method, op) in ops.as_object().expect("ops") {
            let description = format!(
                "{} {}",
                op["summary"].as_str().unwrap_or(""),
                op["description"].as_str().unwrap_or("")
            );
            let role = ["public", "viewer", "operator", "admin"]
                .into_iter()
                .find(|r| description.contains(&format!("Role: {r}")))
                .unwrap_or_else(|| panic!("{method} {path} declares no role: {description:?}"));
            let url = app.url(&format!(
                "/api/v1{}",
                path.replace("{name}", "sshd").replace("{id}", "1")
            ));
            let url = if path == "/jails/{name}/ignore" && method == "delete" {
                format!("{url}?ip=192.0.2.1")
            } else {
                url
            };
            let body =
                op["requestBody"]["content"]["application/json; charset=utf-8"]["schema"]["$ref"]
                    .as_str()
                    .and_then(|r| r.rsplit('/').next())
                    .map(|name| spec["components"]["schemas"][name]["example"].clone());
            let send = |client: &reqwest::Client| {
                let m =
                    reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
                let mut req = client.request(m, &url);
                if let Some(b) = &body {
                    assert!(
                        !b.is_null(),
                        "{method} {path}: its request schema needs an example for this test"
                    );
                    req = req.json(b);
                }
                req.send()
            };
            let below = match role {
                "public" => continue,
                "viewer" => &app.anon,
                "operator" => &viewer,
                _ => &operator,
            };
            let r = send(below).await.expect("request");
            let expected = if role == "viewer" { 401 } else { 403 };
            assert_eq!(
                r.status().as_u16(),
                expected,
                "{method} {path} (role {role}) let a lower caller in"
            );
            checked += 1;
        }
    }
    assert!(checked >= 25, "walked {checked} operations");
    app.stop().await;
}

#[tokio::test]
async fn api_tokens_are_bounded_by_their_creator_and_die_when_tampered_revoked_or_expired() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        create_user(&app, "ops", "operator").await;
        let ops = bearer_client(
            &login_token(&app.base, "ops", "a long enough passphrase", "operator").await,
        );
        let r = ops
            .post(app.url("/api/v1/auth/tokens"))
            .json(&json!({"name": "x", "role": "admin"}))
            .send()
            .await
            .expect("req");
        assert_error(r, 403, "forbidden").await;
        let r = app
            .http
            .post(app.url("/api/v1/auth/tokens"))
            .json(&json!({"name": "ci", "role": "viewer", "expires_in_days": 1}))
            .send()
            .await
            .expect("req");
        assert_eq!(r.status(), 201);
        // The one answer that shows the secret is never kept by a cache.
        assert_eq!(r.headers()["cache-control"], "no-store");
        let created: Value = r.json().await.expect("json");
        let token = created["token"].as_str().expect("token").to_owned();
        let id = created["info"]["id"].as_i64().expect("id");
        assert!(token.starts_with(created["info"]["prefix"].as_str().expect("prefix")));
        let viewer = bearer_client(&token);
        assert_eq!(
            viewer
                .get(app.url("/api/v1/status"))
                .send()
                .await
                .expect("req")
                .status(),
            200
        );
        // last_used_at is kept; the secret is never listed.
        let list: Value = app
            .http
            .get(app.url("/api/v1/auth/tokens"))
            .send()
            .await
            .expect("req")
            .json()
            .await
            .expect("json");
        let listed = list["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|t| t["id"] == id)
            .expect("listed")
            .clone();
        assert!(listed["last_used_at"].is_string(), "{listed}");
        assert!(!list.to_string().contains(&token));
        // Tampered.
        let mut bad = token.clone();
        let last = bad.pop();
        bad.push(if last == Some('0') { '1' } else { '0' });
        assert_error(
            bearer_client(&bad)
                .get(app.url("/api/v1/status"))
                .send()
                .await
                .expect("req"),
            401,
            "unauthorized",
        )
        .await;
        // Expired.
        shared::db::execute(
            &app.db,
            "UPDATE api_tokens SET expires_at_ms = {now_ms} - 1 WHERE id = $1",
            [id.into()],
        )
        .await
        .expect("expire");
        assert_error(
            viewer
                .get(app.url("/api/v1/status"))
                .send()
                .await
                .expect("req"),
            401,
            "unauthorized",
        )
        .await;
        shared::db::execute(
            &app.db,
            "UPDATE api_tokens SET expires_at_ms = NULL WHERE id = $1",
            [id.into()],
        )
        .await
        .expect("unexpire");
        assert_eq!(
            viewer
                .get(app.url("/api/v1/status"))
                .send()
                .await
                .expect("req")
                .status(),
            200
        );
        // Revoked.
        assert_eq!(
            app.http
                .delete(app.url(&format!("/api/v1/auth/tokens/{id}")))
                .send()
                .await
                .expect("req")
                .status(),
            204
        );
        assert_error(
            viewer
                .get(app.url("/api/v1/status"))
                .send()
                .await
                .expect("req"),
            401,
            "unauthorized",
        )
        .await;
        app.stop().await;
    }
}

#[tokio::test]
async fn users_are_managed_by_admins_and_the_last_admin_is_protected() {
    for backend in backends() {
        let app = spawn_app_with(backend, true, &[("BANGUI_COOKIE_SECURE", "false")]).await;
        let admin_id: i64 =
            shared::db::query_one(&app.db, "SELECT id FROM users WHERE username = 'admin'", [])
                .await
                .expect("q")
                .expect("row")
                .try_get("", "id")
                .expect("id");
        for change in [json!({"role": "viewer"}), json!({"disabled": true})] {
            let r = app
                .http
                .patch(app.url(&format!("/api/v1/users/{admin_id}")))
                .json(&change)
                .send()
                .await
                .expect("req");
            assert_error(r, 409, "last_admin").await;
        }
        assert_error(
            app.http
                .delete(app.url(&format!("/api/v1/users/{admin_id}")))
                .send()
                .await
                .expect("req"),
            409,
            "last_admin",
        )
        .await;
        let r = app
            .http
            .post(app.url("/api/v1/users"))
            .json(&json!({"username": "weak", "password": "qazwsxedcrfv", "role": "viewer"}))
            .send()
            .await
            .expect("req");
        assert_error(r, 422, "weak_password").await;
        let bob = create_user(&app, "bob", "operator").await;
        let r = app.http.post(app.url("/api/v1/users")).json(&json!({"username": "BOB", "password": "another fine passphrase", "role": "viewer"})).send().await.expect("req");
        assert_error(r, 409, "username_taken").await;
        // Bob signs in on a browser; disabling him ends it and blocks sign-in.
        let bob_browser = cookie_client();
        assert_eq!(
            login(&bob_browser, &app.base, "bob", "a long enough passphrase")
                .await
                .status(),
            200
        );
        assert_eq!(
            bob_browser
                .get(app.url("/api/v1/auth/session"))
                .send()
                .await
                .expect("req")
                .status(),
            200
        );
        let r = app
            .http
            .patch(app.url(&format!("/api/v1/users/{bob}")))
            .json(&json!({"disabled": true}))
            .send()
            .await
            .expect("req");
        assert_eq!(r.json::<Value>().await.expect("json")["disabled"], true);
        assert_error(
            bob_browser
                .get(app.url("/api/v1/auth/session"))
                .send()
                .await
                .expect("req"),
            401,
            "unauthorized",
        )
        .await;
        assert_error(
            login(&bob_browser, &app.base, "bob", "a long enough passphrase").await,
            401,
            "invalid_credentials",
        )
        .await;
        // Enabled and promoted, bob is another admin: now the first one may step down.
        let r = app
            .http
            .patch(app.url(&format!("/api/v1/users/{bob}")))
            .json(&json!({"disabled": false, "role": "admin"}))
            .send()
            .await
            .expect("req");
        assert_eq!(r.json::<Value>().await.expect("json")["role"], "admin");
        // A reset password ends bob's sessions and works for sign-in.
        assert_eq!(
            login(&bob_browser, &app.base, "bob", "a long enough passphrase")
                .await
                .status(),
            200
        );
        let r = app
            .http
            .post(app.url(&format!("/api/v1/users/{bob}/password")))
            .json(&json!({"password": "bob's new long passphrase"}))
            .send()
            .await
            .expect("req");
        assert_eq!(r.status(), 204);
        assert_error(
            bob_browser
                .get(app.url("/api/v1/auth/session"))
                .send()
                .await
                .expect("req"),
            401,
            "unauthorized",
        )
        .await;
        // Changing your own password ends your other sessions, not this one.
        let here = cookie_client();
        let there = cookie_client();
        for c in [&here, &there] {
            assert_eq!(
                login(c, &app.base, "bob", "bob's new long passphrase")
                    .await
                    .status(),
                200
            );
        }
        let r = here
            .post(app.url("/api/v1/auth/password"))
            .header("X-Requested-With", "bangui")
            .header("Origin", &app.base)
            .json(&json!({"current_password": "bob's new long passphrase", "new_password": "yet another passphrase for bob"}))
            .send()
            .await
            .expect("req");
        assert_eq!(r.status(), 204);
        assert_eq!(
            here.get(app.url("/api/v1/auth/session"))
                .send()
                .await
                .expect("req")
                .status(),
            200
        );
        assert_error(
            there
                .get(app.url("/api/v1/auth/session"))
                .send()
                .await
                .expect("req"),
            401,
            "unauthorized",
        )
        .await;
        let r = app
            .http
            .patch(app.url(&format!("/api/v1/users/{admin_id}")))
            .json(&json!({"role": "viewer"}))
            .send()
            .await
            .expect("req");
        assert_eq!(r.status(), 200, "another admin exists now");
        // The first admin, now a viewer, and so is their token: no more user management.
        let r = bearer_client(&app.admin_token)
            .get(app.url("/api/v1/users"))
            .send()
            .await
            .expect("req");
        assert_error(r, 403, "forbidden").await;
        app.stop().await;
    }
}

#[tokio::test]
async fn the_audit_log_records_who_did_what_from_where() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        shared::db::execute(
            &app.db,
            "INSERT INTO f2b_jails (name, running, idle, currently_failed, total_failed, currently_banned, total_banned, settings, updated_at_ms) \
             VALUES ('sshd', true, false, 0, 0, 0, 0, '{}', {now_ms})",
            [],
        )
        .await
        .expect("seed");
        let r = app
            .http
            .post(app.url("/api/v1/bans"))
            .header("X-Request-Id", "audit-trail-1")
            .json(&json!({"jail": "sshd", "ips": ["192.0.2.7"]}))
            .send()
            .await
            .expect("req");
        assert_eq!(r.status(), 202);
        create_user(&app, "carol", "viewer").await;
        let page: Value = app
            .http
            .get(app.url("/api/v1/audit?page_size=100"))
            .send()
            .await
            .expect("req")
            .json()
            .await
            .expect("json");
        let items = page["items"].as_array().expect("items");
        let find = |action: &str| {
            items
                .iter()
                .find(|e| e["action"] == action)
                .cloned()
                .unwrap_or_else(|| panic!("no {action} in {page}"))
        };
        for action in ["setup", "login", "token.create", "user.create"] {
            let e = find(action);
            assert_eq!(e["result"], "ok", "{e}");
        }
        let ban = find("command.ban");
        assert_eq!(ban["user"], "admin");
        assert_eq!(ban["role"], "admin");
        assert_eq!(ban["request_id"], "audit-trail-1");
        assert_eq!(ban["client_ip"], "127.0.0.1");
        assert_eq!(ban["target"], "sshd");
        assert_eq!(ban["details"]["payload"]["ips"], json!(["192.0.2.7"]));
        let filtered: Value = app
            .http
            .get(app.url("/api/v1/audit?action=user.&user=admin"))
            .send()
            .await
            .expect("req")
            .json()
            .await
            .expect("json");
        assert_eq!(filtered["total"], 1, "{filtered}");
        // Viewers may not read it.
        let carol = bearer_client(
            &login_token(&app.base, "carol", "a long enough passphrase", "viewer").await,
        );
        assert_error(
            carol
                .get(app.url("/api/v1/audit"))
                .send()
                .await
                .expect("req"),
            403,
            "forbidden",
        )
        .await;
        app.stop().await;
    }
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = spawn_app(backends()[0]).await;
    for path in [
        "/healthz",
        "/api/v1/status",
        "/api/v1/nothing",
        "/api/docs/",
    ] {
        let r = app.http.get(app.url(path)).send().await.expect("req");
        let h = r.headers();
        let csp = h["content-security-policy"].to_str().expect("csp");
        assert!(
            csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"),
            "{path}: {csp}"
        );
        if path != "/api/docs/" {
            assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        }
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["referrer-policy"], "same-origin");
        if path != "/api/docs/" {
            assert_eq!(h["cache-control"], "no-store", "{path}");
        }
        assert!(
            h.contains_key("strict-transport-security"),
            "secure by default sends HSTS"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn x_forwarded_for_is_believed_only_from_trusted_proxies() {
    for (trusted, expected) in [("", "127.0.0.1"), ("127.0.0.0/8", "198.51.100.9")] {
        let app = spawn_app_with(backends()[0], true, &[("BANGUI_TRUSTED_PROXIES", trusted)]).await;
        let r = app
            .anon
            .post(app.url("/api/v1/auth/login"))
            .header("X-Forwarded-For", "198.51.100.9")
            .json(&json!({"username": "nobody", "password": "whatever whatever"}))
            .send()
            .await
            .expect("req");
        assert_eq!(r.status(), 401);
        let audit: Value = app
            .http
            .get(app.url("/api/v1/audit?action=login&page_size=1"))
            .send()
            .await
            .expect("req")
            .json()
            .await
            .expect("json");
        assert_eq!(
            audit["items"][0]["client_ip"], expected,
            "trusted proxies {trusted:?}: {audit}"
        );
        assert_eq!(audit["items"][0]["result"], "denied");
        app.stop().await;
    }
}

#[tokio::test]
async fn deleting_a_user_ends_their_sessions_and_tokens() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let dave = create_user(&app, "dave", "operator").await;
        let token = bearer_client(
            &login_token(&app.base, "dave", "a long enough passphrase", "operator").await,
        );
        assert_eq!(
            token
                .get(app.url("/api/v1/status"))
                .send()
                .await
                .expect("req")
                .status(),
            200
        );
        assert_eq!(
            app.http
                .delete(app.url(&format!("/api/v1/users/{dave}")))
                .send()
                .await
                .expect("req")
                .status(),
            204
        );
        assert_error(
            token
                .get(app.url("/api/v1/status"))
                .send()
                .await
                .expect("req"),
            401,
            "unauthorized",
        )
        .await;
        let rows = shared::db::query_all(&app.db, "SELECT user_id FROM api_tokens WHERE user_id = $1 UNION ALL SELECT user_id FROM sessions WHERE user_id = $1", [dave.into()])
            .await
            .expect("q")
            .len();
        assert_eq!(rows, 0, "{backend:?}: sessions and tokens cascaded");
        app.stop().await;
    }
}

/// One number from the database (`… AS n`).
async fn number(app: &TestApp, sql: &str, values: Vec<sea_orm::Value>) -> i64 {
    shared::db::query_one(&app.db, sql, values)
        .await
        .expect("query")
        .expect("row")
        .try_get("", "n")
        .expect("n")
}

async fn user_id(app: &TestApp, name: &str) -> i64 {
    let sql = "SELECT id AS n FROM users WHERE username = $1";
    number(app, sql, vec![name.into()]).await
}

/// Active admins, straight from the database.
async fn active_admins(app: &TestApp) -> i64 {
    let sql = "SELECT COUNT(*) AS n FROM users WHERE role = 'admin' AND disabled = false";
    number(app, sql, vec![]).await
}

/// The id of the only active admin.
async fn the_active_admin(app: &TestApp) -> i64 {
    let sql = "SELECT id AS n FROM users WHERE role = 'admin' AND disabled = false";
    number(app, sql, vec![]).await
}

#[tokio::test]
async fn two_admins_demoting_each_other_at_once_always_leave_an_admin() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let first = user_id(&app, ADMIN).await;
        let second = create_user(&app, "admin2", "admin").await;
        let second_http = bearer_client(
            &login_token(&app.base, "admin2", "a long enough passphrase", "admin").await,
        );
        let admins = [
            (first, admin(&app)),
            (second, Api::new(&app.base, second_http)),
        ];
        for round in 0..50 {
            // Even rounds demote, odd rounds disable: both lose the last admin otherwise.
            let (role, disabled) = if round % 2 == 0 {
                (Some(Role::Viewer), None)
            } else {
                (None, Some(true))
            };
            let each_other = |me: usize| admins[me].1.update_user(admins[1 - me].0, role, disabled);
            let (a, b) = tokio::join!(each_other(0), each_other(1));
            let statuses = [a.status().as_u16(), b.status().as_u16()];
            assert_eq!(
                active_admins(&app).await,
                1,
                "{backend:?} round {round}: {statuses:?}"
            );
            // One change went through; the other was refused: 409 last_admin, or 401/403
            // when its caller had already lost the role when the request was checked.
            assert_eq!(
                statuses.iter().filter(|s| **s == 200).count(),
                1,
                "{backend:?} round {round}: {statuses:?}"
            );
            assert!(
                statuses.iter().all(|s| [200, 401, 403, 409].contains(s)),
                "{backend:?} round {round}: {statuses:?}"
            );
            // The admin that remains restores the other one.
            let remaining = the_active_admin(&app).await;
            let (survivor, demoted) = if remaining == first { (0, 1) } else { (1, 0) };
            let restore = &admins[survivor].1;
            let demoted = admins[demoted].0;
            let r = restore
                .update_user(demoted, Some(Role::Admin), Some(false))
                .await;
            assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
        }
        app.stop().await;
    }
}

#[tokio::test]
async fn deleting_and_demoting_at_once_never_removes_the_last_admin() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        let first_admin = admin(&app);
        for round in 0..10 {
            let name = format!("admin-{round}");
            let other = create_user(&app, &name, "admin").await;
            let token = login_token(&app.base, &name, "a long enough passphrase", "admin").await;
            let other_admin = Api::new(&app.base, bearer_client(&token));
            let first = user_id(&app, ADMIN).await;
            // The first admin deletes the other while the other demotes the first.
            let (a, b) = tokio::join!(
                first_admin.delete_user(other),
                other_admin.update_user(first, Some(Role::Operator), None),
            );
            let statuses = [a.status().as_u16(), b.status().as_u16()];
            assert_eq!(
                active_admins(&app).await,
                1,
                "{backend:?} round {round}: {statuses:?}"
            );
            if statuses[1] == 200 {
                // The first admin was demoted: the other (still there) promotes them back,
                // then steps down so the next round starts from one admin.
                let r = other_admin
                    .update_user(first, Some(Role::Admin), None)
                    .await;
                assert_eq!(r.status(), 200);
                assert_eq!(first_admin.delete_user(other).await.status(), 204);
            }
        }
        app.stop().await;
    }
}

#[tokio::test]
async fn usernames_differing_only_in_case_created_at_once_make_one_user() {
    for backend in backends() {
        let app = spawn_app(backend).await;
        for round in 0..10 {
            let name = format!("carol{round}");
            let api = admin(&app);
            let upper = name.to_uppercase();
            let password = "a long enough passphrase";
            let (a, b) = tokio::join!(
                api.create_user(&name, password, Role::Viewer),
                api.create_user(&upper, password, Role::Viewer),
            );
            let mut statuses = [a, b];
            statuses.sort_by_key(|r| r.status().as_u16());
            let [won, lost] = statuses;
            assert_eq!(won.status(), 201, "{backend:?}");
            assert_error(lost, 409, "username_taken").await;
        }
        app.stop().await;
    }
}
