pub mod compress;
pub mod contract;
pub mod json_body;
pub mod request_context;
pub mod security_headers;
