//! The gate of every API request, in the order a caller should hear about problems:
//! a method the path does not have (405 with `Allow`), then who is calling (503
//! `setup_required` before setup, 401, 403 for the operation's declared role), then the
//! body's JSON rules (`json_body`), and only then the operation's own parameters and body.
//! So an anonymous `GET /api/v1/bans?page=0` is told to sign in, not that page 0 is
//! wrong, and nothing about an operation's input is revealed to a caller not allowed it.
//!
//! The caller found here travels to the handler in the request's extensions, so
//! `Auth::require` does not look the credentials up twice.

use std::sync::Arc;

use poem::http::StatusCode;
use poem::{Endpoint, IntoResponse, Middleware, Request, Response};

use crate::auth::Auth;
use crate::contract::{Access, Contract, Lookup};
use crate::error::{ApiError, ErrorCode};

pub struct ContractGate {
    contract: Arc<Contract>,
    auth: Arc<Auth>,
}

impl ContractGate {
    pub fn new(contract: Arc<Contract>, auth: Arc<Auth>) -> Self {
        Self { contract, auth }
    }
}

impl<E: Endpoint> Middleware<E> for ContractGate {
    type Output = ContractGateEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        ContractGateEndpoint {
            inner,
            contract: self.contract.clone(),
            auth: self.auth.clone(),
        }
    }
}

pub struct ContractGateEndpoint<E> {
    inner: E,
    contract: Arc<Contract>,
    auth: Arc<Auth>,
}

impl<E: Endpoint> Endpoint for ContractGateEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> poem::Result<Response> {
        let path = req.uri().path().to_owned();
        match self.contract.lookup(req.method(), &path) {
            Lookup::MethodNotAllowed { allow } => {
                return Err(ApiError::new(
                    ErrorCode::MethodNotAllowed,
                    format!("{} is not allowed here; allowed: {allow}", req.method()),
                )
                .with_details(serde_json::json!({ "allow": allow }))
                .into());
            }
            Lookup::Operation(Access::Needs(role)) => {
                let caller = self.auth.require(&req, role).await?;
                req.extensions_mut().insert(caller);
            }
            Lookup::Operation(Access::Public) | Lookup::Outside => {}
        }
        if path.starts_with("/api/") {
            check_json_body(&mut req).await?;
        }
        self.inner.call(req).await.map(IntoResponse::into_response)
    }
}

/// The API's bodies are JSON in UTF-8, each key once (the body is already in memory: the
/// request context read it under the size limit).
async fn check_json_body(req: &mut Request) -> poem::Result<()> {
    let body = req.take_body();
    let bytes = body
        .into_bytes()
        .await
        .map_err(|e| poem::Error::from_string(e.to_string(), StatusCode::BAD_REQUEST))?;
    if !bytes.is_empty() {
        let content_type = req
            .headers()
            .get(poem::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        super::json_body::check(content_type, &bytes).map_err(poem::Error::from)?;
    }
    req.set_body(bytes);
    Ok(())
}
