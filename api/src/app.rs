//! The composition root of the API: database, metrics, routes and middleware, built once.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use poem::IntoResponse;
use poem::endpoint::make_sync;
use poem::listener::{Acceptor, Listener, TcpAcceptor, TcpListener};
use poem::web::Html;
use poem::{EndpointExt, IntoEndpoint, Route, Server, get};
use sea_orm::DatabaseConnection;
use shared::config::Config;
use shared::db::{Role, connect};
use tokio_util::sync::CancellationToken;

use crate::contract::Contract;
use crate::middleware::contract::ContractGate;
use crate::middleware::request_context::RequestContext;
use crate::routes::{self, health};

/// Time in-flight requests get to finish after a shutdown signal.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

pub struct App {
    acceptor: TcpAcceptor,
    endpoint: poem::endpoint::BoxEndpoint<'static>,
    db: DatabaseConnection,
}

impl App {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let metrics = shared::metrics::install();
        let db = connect(&config.database_url, Role::Api)
            .await
            .with_context(|| format!("cannot open {}", config.database_url.redacted()))?;
        crate::auth::password::warm_up().await;
        let endpoint = build_routes(db.clone(), metrics, &config);
        let acceptor = TcpListener::bind(config.api_addr)
            .into_acceptor()
            .await
            .with_context(|| format!("cannot listen on {}", config.api_addr))?;
        let app = Self {
            acceptor,
            endpoint,
            db,
        };
        tracing::info!(
            addr = %app.local_addr(),
            database = %config.database_url.redacted(),
            "bangui-api listening"
        );
        Ok(app)
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.acceptor
            .local_addr()
            .first()
            .and_then(|a| a.as_socket_addr().copied())
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        Server::new_with_acceptor(self.acceptor)
            .run_with_graceful_shutdown(
                self.endpoint,
                shutdown.cancelled_owned(),
                Some(DRAIN_TIMEOUT),
            )
            .await
            .context("the HTTP server failed")?;
        self.db.close().await.ok();
        tracing::info!("bangui-api stopped");
        Ok(())
    }
}

/// The whole HTTP surface. Public so tests and the OpenAPI dump build exactly this.
pub fn build_routes(
    db: DatabaseConnection,
    metrics: metrics_exporter_prometheus::PrometheusHandle,
    config: &Config,
) -> poem::endpoint::BoxEndpoint<'static> {
    let auth = crate::auth::Auth::new(
        db.clone(),
        config.cookie_secure,
        config.trusted_proxies.clone(),
    );
    let api = routes::api_service(
        db.clone(),
        config.command_expiry,
        auth.clone(),
        config.fail2ban.blocklist_jail.clone(),
        config.history.retention,
        crate::answers::Answers::new(config.answer_cache),
    );
    let generated = api.spec();
    let contract = Arc::new(Contract::new(&generated));
    // The explorer shows the served document: poem-openapi's page embeds the generated
    // one verbatim, which is swapped for ours.
    let explorer_html = api
        .swagger_ui_html()
        .replacen(&generated, contract.document(), 1);
    let document = contract.document().to_owned();
    Route::new()
        .nest("/api/v1", api)
        .at(
            "/api/v1/openapi.json",
            get(make_sync(move |_| {
                document
                    .clone()
                    .with_content_type("application/json; charset=utf-8")
            })),
        )
        .nest(
            "/api/docs",
            get(make_sync(move |_| Html(explorer_html.clone()))),
        )
        .at("/healthz", get(health::healthz))
        .at("/readyz", get(health::readyz))
        .at("/metrics", get(health::metrics))
        .at("/", crate::frontend::Frontend)
        .at("/*path", crate::frontend::Frontend)
        .data(db)
        .data(metrics)
        .data(Arc::new(health::WriteProbe::default()))
        .with(ContractGate::new(contract, auth))
        .with(RequestContext::new(config.max_body_bytes))
        .with(crate::middleware::compress::CompressJson)
        .with(crate::middleware::security_headers::SecurityHeaders::new(
            config.cookie_secure,
        ))
        .into_endpoint()
        .boxed()
}
