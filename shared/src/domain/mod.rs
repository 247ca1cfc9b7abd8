//! Types that carry validity: parsed once at the edge (API input, fail2ban replies) and
//! trusted everywhere else.

mod filter_name;
mod ip_or_net;
mod jail_name;
mod username;
mod vocabulary;

pub use filter_name::{FilterName, FilterNameError};
pub use ip_or_net::{IpOrNet, IpParseError};
pub use jail_name::{JailName, JailNameError};
pub use username::{TimeZone, TimeZoneError, Username, UsernameError};
pub(crate) use vocabulary::vocabulary;
pub use vocabulary::{
    BanState, EventKind, EventSource, GeoSource, JobName, Origin, Role, UnknownWord,
};
