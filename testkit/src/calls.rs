//! One typed helper per `/api/v1` operation: the arguments are the API's own types
//! (`Role`, `CommandStatus`, jail names and addresses as text so tests can send bad ones),
//! the answer is the raw response, so a test asserts the status, the body or the error
//! envelope as it needs. A path or a body shape is written once, here.

use reqwest::{Method, Response};
use serde_json::{Value, json};
use shared::commands::{CommandKind, CommandStatus};
use shared::domain::Role;

/// A caller of one BanGUI API: `base` is the server's root (`http://127.0.0.1:N`), `http`
/// carries the credentials (a bearer token, a cookie store, or none).
#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub http: reqwest::Client,
}

/// `?wait=` for the calls that make a command.
pub type Wait<'a> = Option<&'a str>;

fn wait_query(wait: Wait<'_>) -> Vec<(&'static str, String)> {
    wait.map(|w| vec![("wait", w.to_owned())])
        .unwrap_or_default()
}

impl Api {
    pub fn new(base: &str, http: reqwest::Client) -> Self {
        Self {
            base: base
                .trim_end_matches('/')
                .trim_end_matches("/api/v1")
                .to_owned(),
            http,
        }
    }

    /// Sends one request. Unsafe methods carry the headers a cookie session needs
    /// (`X-Requested-With`, a same-origin `Origin`); bearer calls ignore them.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<Value>,
    ) -> Response {
        let mut url = reqwest::Url::parse(&format!("{}/api/v1{path}", self.base))
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let mut req = self.http.request(method.clone(), url);
        if method != Method::GET {
            req = req
                .header("X-Requested-With", "bangui")
                .header("Origin", &self.base);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    async fn get(&self, path: &str, query: &[(&str, String)]) -> Response {
        self.send(Method::GET, path, query, None).await
    }

    async fn post(&self, path: &str, query: &[(&str, String)], body: Value) -> Response {
        self.send(Method::POST, path, query, Some(body)).await
    }

    // ---- setup, sessions, tokens ----

    pub async fn get_setup(&self) -> Response {
        self.get("/setup", &[]).await
    }

    pub async fn setup(&self, username: &str, password: &str) -> Response {
        self.post(
            "/setup",
            &[],
            json!({"username": username, "password": password}),
        )
        .await
    }

    pub async fn login(&self, username: &str, password: &str) -> Response {
        let body = json!({"username": username, "password": password});
        self.post("/auth/login", &[], body).await
    }

    pub async fn logout(&self) -> Response {
        self.send(Method::POST, "/auth/logout", &[], None).await
    }

    pub async fn logout_all(&self) -> Response {
        self.send(Method::POST, "/auth/logout-all", &[], None).await
    }

    pub async fn get_session(&self) -> Response {
        self.get("/auth/session", &[]).await
    }

    pub async fn change_password(&self, current: &str, new: &str) -> Response {
        let body = json!({"current_password": current, "new_password": new});
        self.post("/auth/password", &[], body).await
    }

    pub async fn create_token(
        &self,
        name: &str,
        role: Role,
        expires_in_days: Option<i64>,
    ) -> Response {
        let body = json!({"name": name, "role": role, "expires_in_days": expires_in_days});
        self.post("/auth/tokens", &[], body).await
    }

    pub async fn list_tokens(&self) -> Response {
        self.get("/auth/tokens", &[]).await
    }

    pub async fn revoke_token(&self, id: i64) -> Response {
        self.send(Method::DELETE, &format!("/auth/tokens/{id}"), &[], None)
            .await
    }

    // ---- users and the audit log ----

    pub async fn list_users(&self) -> Response {
        self.get("/users", &[]).await
    }

    pub async fn create_user(&self, username: &str, password: &str, role: Role) -> Response {
        let body = json!({"username": username, "password": password, "role": role});
        self.post("/users", &[], body).await
    }

    pub async fn update_user(
        &self,
        id: i64,
        role: Option<Role>,
        disabled: Option<bool>,
    ) -> Response {
        let mut body = serde_json::Map::new();
        if let Some(r) = role {
            body.insert("role".into(), json!(r));
        }
        if let Some(d) = disabled {
            body.insert("disabled".into(), json!(d));
        }
        let path = format!("/users/{id}");
        self.send(Method::PATCH, &path, &[], Some(Value::Object(body)))
            .await
    }

    pub async fn reset_user_password(&self, id: i64, password: &str) -> Response {
        self.post(
            &format!("/users/{id}/password"),
            &[],
            json!({"password": password}),
        )
        .await
    }

    pub async fn delete_user(&self, id: i64) -> Response {
        self.send(Method::DELETE, &format!("/users/{id}"), &[], None)
            .await
    }

    /// `GET /audit` with its filters as query pairs (`user`, `action`, `since`, paging).
    pub async fn list_audit(&self, query: &[(&str, String)]) -> Response {
        self.get("/audit", query).await
    }

    // ---- fail2ban: status, jails, bans, commands ----

    pub async fn get_status(&self) -> Response {
        self.get("/status", &[]).await
    }

    pub async fn list_jails(&self) -> Response {
        self.get("/jails", &[]).await
    }

    pub async fn get_jail(&self, jail: &str) -> Response {
        self.get(&format!("/jails/{jail}"), &[]).await
    }

    pub async fn list_jail_bans(&self, jail: &str, q: Option<&str>, page: u32) -> Response {
        let mut query = vec![("page", page.to_string())];
        query.extend(q.map(|q| ("q", q.to_owned())));
        self.get(&format!("/jails/{jail}/bans"), &query).await
    }

    pub async fn list_bans(&self, jail: Option<&str>, q: Option<&str>, page: u32) -> Response {
        let mut query = vec![("page", page.to_string())];
        query.extend(jail.map(|j| ("jail", j.to_owned())));
        query.extend(q.map(|q| ("q", q.to_owned())));
        self.get("/bans", &query).await
    }

    pub async fn ban(&self, jail: &str, ips: &[&str], wait: Wait<'_>) -> Response {
        self.post(
            "/bans",
            &wait_query(wait),
            json!({"jail": jail, "ips": ips}),
        )
        .await
    }

    pub async fn unban(&self, ips: &[&str], jail: Option<&str>, wait: Wait<'_>) -> Response {
        self.post(
            "/bans/unban",
            &wait_query(wait),
            json!({"ips": ips, "jail": jail}),
        )
        .await
    }

    pub async fn clear_bans(&self, wait: Wait<'_>) -> Response {
        self.send(Method::POST, "/bans/clear", &wait_query(wait), None)
            .await
    }

    /// `PUT /jails/{jail}/<what> {on}`.
    async fn switch(&self, jail: &str, what: &str, on: bool, wait: Wait<'_>) -> Response {
        let path = format!("/jails/{jail}/{what}");
        let body = Some(json!({"on": on}));
        self.send(Method::PUT, &path, &wait_query(wait), body).await
    }

    /// `start`, `stop` or `reload` one jail.
    pub async fn jail_control(&self, jail: &str, verb: &str, wait: Wait<'_>) -> Response {
        let path = format!("/jails/{jail}/{verb}");
        self.send(Method::POST, &path, &wait_query(wait), None)
            .await
    }

    pub async fn set_jail_idle(&self, jail: &str, on: bool, wait: Wait<'_>) -> Response {
        self.switch(jail, "idle", on, wait).await
    }

    pub async fn reload_all(&self, wait: Wait<'_>) -> Response {
        self.send(Method::POST, "/jails/reload", &wait_query(wait), None)
            .await
    }

    pub async fn get_jail_ignore(&self, jail: &str) -> Response {
        self.get(&format!("/jails/{jail}/ignore"), &[]).await
    }

    pub async fn add_jail_ignore(&self, jail: &str, ip: &str, wait: Wait<'_>) -> Response {
        self.post(
            &format!("/jails/{jail}/ignore"),
            &wait_query(wait),
            json!({"ip": ip}),
        )
        .await
    }

    pub async fn remove_jail_ignore(&self, jail: &str, ip: &str, wait: Wait<'_>) -> Response {
        let mut query = wait_query(wait);
        query.push(("ip", ip.to_owned()));
        self.send(
            Method::DELETE,
            &format!("/jails/{jail}/ignore"),
            &query,
            None,
        )
        .await
    }

    pub async fn set_jail_ignoreself(&self, jail: &str, on: bool, wait: Wait<'_>) -> Response {
        self.switch(jail, "ignoreself", on, wait).await
    }

    pub async fn get_command(&self, id: i64) -> Response {
        self.get(&format!("/commands/{id}"), &[]).await
    }

    pub async fn list_commands(
        &self,
        status: Option<CommandStatus>,
        kind: Option<CommandKind>,
    ) -> Response {
        let mut query = Vec::new();
        query.extend(status.map(|s| ("status", s.to_string())));
        query.extend(kind.map(|k| ("kind", k.to_string())));
        self.get("/commands", &query).await
    }

    pub async fn get_scheduler(&self) -> Response {
        self.get("/scheduler", &[]).await
    }

    // ---- the archive ----

    /// `GET /dashboard/<view>` (`bans`, `trend`, `by-country`, `by-jail`, `by-asn`,
    /// `repeat-offenders`) with its filters as query pairs.
    pub async fn dashboard(&self, view: &str, query: &[(&str, String)]) -> Response {
        self.get(&format!("/dashboard/{view}"), query).await
    }

    pub async fn history(&self, query: &[(&str, String)]) -> Response {
        self.get("/history", query).await
    }

    pub async fn history_ip(&self, ip: &str) -> Response {
        self.get(&format!("/history/{ip}"), &[]).await
    }

    pub async fn geo_ip(&self, ip: &str) -> Response {
        self.get(&format!("/geo/{ip}"), &[]).await
    }

    pub async fn report_client_error(&self, report: Value) -> Response {
        self.post("/client-errors", &[], report).await
    }
}
