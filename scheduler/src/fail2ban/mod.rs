//! Everything that speaks to fail2ban: the pickle codec, the socket client actor, typed
//! replies, the `fail2ban-client` runner, and the read-only reader of fail2ban's own
//! database.

pub mod archive;
pub mod client;
pub mod codec;
pub mod control;
pub mod replies;
