//! The scheduler's side port: `/healthz` (alive, plus whether this process leads) and
//! `/metrics` for Prometheus. Nothing else listens on the scheduler.

use std::net::SocketAddr;
use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;
use poem::listener::{Acceptor, Listener, TcpAcceptor, TcpListener};
use poem::web::{Data, Json};
use poem::{EndpointExt, Route, Server, get, handler};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::fail2ban::exporter::Exporter;
use crate::leadership::LeaderStatus;

pub struct SidePort {
    acceptor: TcpAcceptor,
    metrics: PrometheusHandle,
    status: Arc<LeaderStatus>,
    exporter: Arc<Exporter>,
}

impl SidePort {
    pub async fn bind(
        addr: SocketAddr,
        metrics: PrometheusHandle,
        status: Arc<LeaderStatus>,
        exporter: Arc<Exporter>,
    ) -> std::io::Result<Self> {
        let acceptor = TcpListener::bind(addr).into_acceptor().await?;
        Ok(Self {
            acceptor,
            metrics,
            status,
            exporter,
        })
    }

    pub fn local_addr(&self) -> String {
        self.acceptor
            .local_addr()
            .first()
            .map(ToString::to_string)
            .unwrap_or_default()
    }

    pub async fn serve(self, shutdown: CancellationToken) {
        let app = Route::new()
            .at("/healthz", get(healthz))
            .at("/metrics", get(render_metrics))
            .data(self.metrics)
            .data(self.status)
            .data(self.exporter);
        let server = Server::new_with_acceptor(self.acceptor).run_with_graceful_shutdown(
            app,
            shutdown.cancelled_owned(),
            None,
        );
        if let Err(e) = server.await {
            tracing::error!(error = %e, "side port failed");
        }
    }
}

#[handler]
fn healthz(status: Data<&Arc<LeaderStatus>>) -> Json<Value> {
    Json(json!({
        "status": "ok",
        "holder": status.holder,
        "leader": status.is_leader(),
        "token": status.token(),
    }))
}

#[handler]
fn render_metrics(
    handle: Data<&PrometheusHandle>,
    status: Data<&Arc<LeaderStatus>>,
    exporter: Data<&Arc<Exporter>>,
) -> String {
    handle.run_upkeep();
    let mut text = handle.render();
    // fail2ban's figures only from the leader: a standby's would be stale or absent.
    if status.is_leader() {
        text.push_str(&exporter.render());
    }
    text
}
