//! bangui-api entry point.

use anyhow::Context;
use api::app::App;
use shared::config::Config;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::from_process().context("invalid configuration")?;
    shared::telemetry::init(&config.log);
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let app = App::build(config).await?;
    app.run_until_stopped(shared::shutdown::on_signal()).await
}
