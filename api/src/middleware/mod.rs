pub mod compress;
pub mod json_body;
pub mod request_context;
pub mod security_headers;
