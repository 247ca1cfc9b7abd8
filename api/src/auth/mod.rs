//! Accounts and access: who is calling (session cookie or API token), may they (roles),
//! passwords, login rate limits and the audit log. All state is in the database, so any
//! number of API replicas agree.

pub mod credentials;
pub mod password;
pub mod rate_limit;

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use poem::Request;
use poem::http::Method;
use sea_orm::DatabaseConnection;
use shared::domain::IpOrNet;
use shared::request_id::RequestId;
use shared::store::{sessions, settings, tokens};

use crate::error::{ApiError, ApiResult, ErrorCode};

pub const SESSION_COOKIE: &str = "bangui_session";
/// What the browser client sends on unsafe cookie-authenticated calls (CSRF defence).
pub const CSRF_HEADER: &str = "x-requested-with";
pub const CSRF_VALUE: &str = "bangui";
/// How often `last_seen_at` / `last_used_at` and the sliding expiry are written.
const TOUCH_EVERY_MS: i64 = 60_000;

pub use shared::domain::Role;
pub use shared::store::audit::Actor;

/// How the caller proved who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    Session { token_hash: String },
    Token { id: i64 },
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: i64,
    pub name: String,
    pub role: Role,
    pub via: Via,
    pub request_id: RequestId,
    pub client_ip: String,
}

impl From<&Caller> for Actor {
    fn from(c: &Caller) -> Self {
        Self {
            name: Some(c.name.clone()),
            role: Some(c.role),
            request_id: c.request_id.to_string(),
            client_ip: c.client_ip.clone(),
        }
    }
}

/// Authentication and authorization for every handler.
pub struct Auth {
    pub db: DatabaseConnection,
    pub cookie_secure: bool,
    trusted_proxies: Vec<IpOrNet>,
    setup_done: AtomicBool,
}

impl Auth {
    pub fn new(
        db: DatabaseConnection,
        cookie_secure: bool,
        trusted_proxies: Vec<IpOrNet>,
    ) -> Arc<Self> {
        Arc::new(Self {
            db,
            cookie_secure,
            trusted_proxies,
            setup_done: AtomicBool::new(false),
        })
    }

    /// Whether the first admin exists. Once true it stays true, so it is cached.
    pub async fn setup_completed(&self) -> ApiResult<bool> {
        if self.setup_done.load(Ordering::Relaxed) {
            return Ok(true);
        }
        let done = settings::setup_completed(&self.db).await?;
        if done {
            self.setup_done.store(true, Ordering::Relaxed);
        }
        Ok(done)
    }

    pub fn mark_setup_completed(&self) {
        self.setup_done.store(true, Ordering::Relaxed);
    }

    pub async fn ensure_setup(&self) -> ApiResult<()> {
        if self.setup_completed().await? {
            Ok(())
        } else {
            Err(ApiError::new(
                ErrorCode::SetupRequired,
                "BanGUI is not set up yet: create the first admin with POST /api/v1/setup",
            ))
        }
    }

    /// The client's address: the peer, or the first untrusted hop of `X-Forwarded-For`
    /// when the peer is a trusted proxy.
    pub fn client_ip(&self, req: &Request) -> String {
        let peer = req.remote_addr().as_socket_addr().map(|a| a.ip());
        let trusted = |ip: IpAddr| self.trusted_proxies.iter().any(|n| n.contains(ip));
        if let Some(peer) = peer {
            if trusted(peer)
                && let Some(xff) = req
                    .headers()
                    .get("x-forwarded-for")
                    .and_then(|v| v.to_str().ok())
            {
                // Walk from the right: the last hop not ours is the client.
                for hop in xff.rsplit(',').map(str::trim) {
                    match hop.parse::<IpAddr>() {
                        Ok(ip) if trusted(ip) => continue,
                        Ok(ip) => return ip.to_string(),
                        Err(_) => break,
                    }
                }
            }
            return peer.to_string();
        }
        "unknown".into()
    }

    pub fn actor(&self, req: &Request) -> Actor {
        Actor {
            name: None,
            role: None,
            request_id: request_id(req).to_string(),
            client_ip: self.client_ip(req),
        }
    }

    /// The caller of `req` if they have at least `needed`: 503 before setup, 401 without
    /// valid credentials, 403 below the role or when a cookie call fails the CSRF check.
    pub async fn require(&self, req: &Request, needed: Role) -> ApiResult<Caller> {
        // The request gate (`middleware::contract`) has already found the caller.
        let found = req.extensions().get::<Caller>().cloned();
        let caller = match found {
            Some(caller) => caller,
            None => {
                self.ensure_setup().await?;
                self.authenticate(req).await?
            }
        };
        if caller.role < needed {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                format!("this needs the {needed} role"),
            ));
        }
        Ok(caller)
    }

    async fn authenticate(&self, req: &Request) -> ApiResult<Caller> {
        let bearer = req
            .headers()
            .get(poem::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim);
        if let Some(token) = bearer {
            return self.by_token(req, token).await;
        }
        let cookie = session_cookie(req);
        match cookie {
            Some(token) => {
                self.check_csrf(req)?;
                self.by_session(req, &token).await
            }
            None => Err(unauthorized(
                "sign in, or send an API token as Authorization: Bearer",
            )),
        }
    }

    /// Cookie-authenticated unsafe calls must come from our own pages: they carry
    /// `X-Requested-With: bangui` (a cross-site form cannot set it) and a same-origin
    /// `Origin` or `Referer`.
    fn check_csrf(&self, req: &Request) -> ApiResult<()> {
        if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
            return Ok(());
        }
        let csrf = || {
            ApiError::new(
                ErrorCode::CsrfFailed,
                "cross-site request refused: send X-Requested-With: bangui from the BanGUI origin",
            )
        };
        let header_ok =
            req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok()) == Some(CSRF_VALUE);
        if !header_ok {
            return Err(csrf());
        }
        let host = req
            .headers()
            .get(poem::http::header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let origin = req
            .headers()
            .get(poem::http::header::ORIGIN)
            .or_else(|| req.headers().get(poem::http::header::REFERER))
            .and_then(|v| v.to_str().ok());
        let same_origin = origin.is_some_and(|o| {
            let rest = o.split_once("://").map_or(o, |(_, r)| r);
            rest.split('/').next() == Some(host)
        });
        if same_origin { Ok(()) } else { Err(csrf()) }
    }

    async fn by_session(&self, req: &Request, token: &str) -> ApiResult<Caller> {
        let hash = credentials::hash_token(token);
        let who = sessions::identity(&self.db, &hash)
            .await?
            .ok_or_else(|| unauthorized("the session has expired or ended; sign in again"))?;
        if who.now_ms - who.last_seen_at_ms > TOUCH_EVERY_MS {
            // Sliding expiry: every use moves the end by the session length. Best effort:
            // a failed touch must not refuse the request it belongs to.
            let minutes = self.session_minutes().await?;
            if let Err(e) = sessions::touch(&self.db, &hash, minutes * 60_000).await {
                tracing::warn!(error = %e, "could not extend the session");
            }
        }
        Ok(Caller {
            user_id: who.user_id,
            name: who.username,
            role: who.role,
            via: Via::Session { token_hash: hash },
            request_id: request_id(req),
            client_ip: self.client_ip(req),
        })
    }

    async fn by_token(&self, req: &Request, token: &str) -> ApiResult<Caller> {
        let hash = credentials::hash_token(token);
        let who = tokens::identity(&self.db, &hash)
            .await?
            .ok_or_else(|| unauthorized("the API token is unknown, revoked or expired"))?;
        if who.now_ms - who.last_used_at_ms > TOUCH_EVERY_MS
            && let Err(e) = tokens::touch(&self.db, who.token_id).await
        {
            tracing::warn!(error = %e, "could not record the token's use");
        }
        // A token never exceeds its owner's current role.
        Ok(Caller {
            user_id: who.user_id,
            name: who.username,
            role: who.role.min(who.user_role),
            via: Via::Token { id: who.token_id },
            request_id: request_id(req),
            client_ip: self.client_ip(req),
        })
    }

    /// The session length chosen at setup (default 12 h).
    pub async fn session_minutes(&self) -> ApiResult<i64> {
        Ok(settings::session_minutes(&self.db).await?)
    }
}

/// The `bangui_session` cookie's value, read from the Cookie header.
fn session_cookie(req: &Request) -> Option<String> {
    req.headers()
        .get_all(poem::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| *name == SESSION_COOKIE && !value.is_empty())
        .map(|(_, value)| value.to_owned())
}

pub fn request_id(req: &Request) -> RequestId {
    req.extensions()
        .get::<RequestId>()
        .cloned()
        .unwrap_or_else(RequestId::generate)
}

pub fn unauthorized(message: &str) -> ApiError {
    ApiError::new(ErrorCode::Unauthorized, message)
}
