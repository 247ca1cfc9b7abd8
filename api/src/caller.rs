//! Who is calling, and may they? Every handler goes through [`Caller::require`] with the
//! role its operation needs. Until accounts exist (the accounts issue fills this seam in
//! with sessions and API tokens), every caller is the local anonymous administrator, as
//! in a single-host install behind the operator's own access control.

use poem::Request;
use shared::request_id::RequestId;

use crate::error::ApiError;

/// Roles in increasing power: viewer < operator < admin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Viewer,
    Operator,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Caller {
    pub name: String,
    pub role: Role,
    pub request_id: RequestId,
}

impl Caller {
    /// The caller of `req`, refused with 403 `forbidden` below `needed`.
    pub fn require(req: &Request, needed: Role) -> Result<Caller, ApiError> {
        let request_id = req
            .extensions()
            .get::<RequestId>()
            .cloned()
            .unwrap_or_else(RequestId::generate);
        let caller = Caller {
            name: "anonymous".into(),
            role: Role::Admin,
            request_id,
        };
        if caller.role < needed {
            return Err(ApiError::new(
                poem::http::StatusCode::FORBIDDEN,
                "forbidden",
                format!("this needs the {} role", needed.as_str()),
            ));
        }
        Ok(caller)
    }
}
