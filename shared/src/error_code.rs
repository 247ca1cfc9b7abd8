//! Every `error_code` BanGUI answers with, in one enum: the API's error envelope and the
//! `error_code` of a failed command. Clients may switch on them; the OpenAPI document
//! lists them all, and `Docs/api.md` says when each is given.

use crate::domain::vocabulary;

vocabulary! {
    /// A stable, machine-readable error code.
    pub enum ErrorCode {
        // Input that does not fit the documented schema (400: a wrong type, a missing
        // field, a value outside an enum, malformed JSON, a key given twice).
        BadRequest => "bad_request",
        InvalidOrigin => "invalid_origin",
        InvalidState => "invalid_state",
        InvalidSort => "invalid_sort",
        InvalidSeries => "invalid_series",
        // Input that fits the schema but that a rule refuses (422): addresses, names,
        // passwords, ranges the schema cannot fully describe.
        ValidationFailed => "validation_failed",
        InvalidIp => "invalid_ip",
        PrefixTooBroad => "prefix_too_broad",
        IpNotAllowed => "ip_not_allowed",
        TooManyIps => "too_many_ips",
        InvalidJailName => "invalid_jail_name",
        InvalidWait => "invalid_wait",
        InvalidUsername => "invalid_username",
        InvalidTimezone => "invalid_timezone",
        WeakPassword => "weak_password",
        InvalidRange => "invalid_range",
        InvalidCountry => "invalid_country",
        InvalidAsn => "invalid_asn",
        InvalidIpSearch => "invalid_ip_search",
        PageTooDeep => "page_too_deep",
        /// A configuration text or setting BanGUI will not write (too large, NUL,
        /// `<F2B_`, a value that is not one of the setting's kind).
        ConfigRefused => "config_refused",
        /// An allowlist entry broader than /16 (IPv4) or /48 (IPv6) without
        /// `confirm_broad`.
        AllowlistTooBroad => "allowlist_too_broad",
        /// A regex the tester cannot use: a filter and failregex both or neither, a
        /// regex with a line break; also a command failure when fail2ban cannot compile
        /// one (its words in the message).
        RegexInvalid => "regex_invalid",
        /// More than 10 000 lines or 1 MiB of them for the regex tester.
        TooManyLines => "too_many_lines",
        /// A log path that is not a configured jail's `logpath` nor under
        /// `BANGUI_LOG_ALLOW_DIRS` (also a command failure, after resolving links).
        LogPathRefused => "log_path_refused",
        // Who may call (401, 403).
        Unauthorized => "unauthorized",
        InvalidCredentials => "invalid_credentials",
        Forbidden => "forbidden",
        CsrfFailed => "csrf_failed",
        // Not there (404, 405).
        NotFound => "not_found",
        UnknownJail => "unknown_jail",
        /// No filter of that name in the configuration.
        UnknownFilter => "unknown_filter",
        /// No action of that name in the configuration.
        UnknownAction => "unknown_action",
        IpNotSeen => "ip_not_seen",
        GeoNotResolved => "geo_not_resolved",
        MethodNotAllowed => "method_not_allowed",
        // State conflicts (409).
        SetupDone => "setup_done",
        UsernameTaken => "username_taken",
        LastAdmin => "last_admin",
        Conflict => "conflict",
        /// The file changed since the `expected_revision` the change was made against.
        ConfigChanged => "config_changed",
        /// The scheduler cannot write fail2ban's configuration folders.
        ConfigReadOnly => "config_read_only",
        /// The address or network is on the allowlist already.
        AllowlistExists => "allowlist_exists",
        /// A filter or action of that name exists already (`POST` makes new ones only).
        ConfigExists => "config_exists",
        /// A jail of the configuration uses the filter or action: it is not deleted.
        ConfigInUse => "config_in_use",
        /// BanGUI deletes only the filters and actions it created.
        ConfigNotOwned => "config_not_owned",
        /// A blocklist source with that URL exists already.
        BlocklistExists => "blocklist_exists",
        /// A blocklist source with import history deleted without `?purge=true`.
        BlocklistHasHistory => "blocklist_has_history",
        // The request itself (413, 415, 429).
        PayloadTooLarge => "payload_too_large",
        UnsupportedMediaType => "unsupported_media_type",
        RateLimited => "rate_limited",
        // BanGUI's side (500, 503).
        Internal => "internal",
        DatabaseUnavailable => "database_unavailable",
        ServiceUnavailable => "service_unavailable",
        SetupRequired => "setup_required",
        NotReady => "not_ready",
        // How a command failed (the command's `error_code`).
        SchedulerUnavailable => "scheduler_unavailable",
        Fail2banUnavailable => "fail2ban_unavailable",
        Fail2banUnsupported => "fail2ban_unsupported",
        Fail2banError => "fail2ban_error",
        Fail2banClientFailed => "fail2ban_client_failed",
        JailNotStarted => "jail_not_started",
        Interrupted => "interrupted",
        InvalidCommand => "invalid_command",
        /// `fail2ban-client -t` refused the configuration; nothing was written.
        ConfigInvalid => "config_invalid",
        /// The file was written, fail2ban did not run it as written, and the previous
        /// content was restored.
        ConfigRolledBack => "config_rolled_back",
        /// The path BanGUI would write is not a plain file inside the configuration
        /// folder (a symlink, outside after canonicalisation, too large to read).
        ConfigPathRefused => "config_path_refused",
        /// The regex test did not end within its time limit (a catastrophic pattern);
        /// it was stopped.
        RegexTimeout => "regex_timeout",
        /// A URL BanGUI does not fetch: not http(s), credentials in it, or a host that
        /// resolves to a loopback, private, link-local, CGNAT, unique-local, multicast,
        /// unspecified or cloud metadata address outside `BANGUI_BLOCKLIST_ALLOW_NETS`.
        SsrfRefused => "ssrf_refused",
        /// A download over `BANGUI_BLOCKLIST_MAX_BYTES` (also once unpacked).
        TooLarge => "too_large",
        /// A download that did not complete in time.
        Timeout => "timeout",
        /// The server answered with an error status.
        HttpStatus => "http_status",
        /// The name did not resolve, or the connection or TLS failed.
        NetworkError => "network_error",
    }
}

impl ErrorCode {
    /// The HTTP status an API error with this code answers with. Command failure codes
    /// only ever appear inside a command (which itself answered 200 or 202).
    pub fn http_status(self) -> u16 {
        use ErrorCode::*;
        match self {
            BadRequest | InvalidOrigin | InvalidState | InvalidSort | InvalidSeries
            | InvalidCommand => 400,
            ValidationFailed | InvalidIp | PrefixTooBroad | IpNotAllowed | TooManyIps
            | InvalidJailName | InvalidWait | InvalidUsername | InvalidTimezone | WeakPassword
            | InvalidRange | InvalidCountry | InvalidAsn | InvalidIpSearch | PageTooDeep
            | ConfigRefused | AllowlistTooBroad | RegexInvalid | TooManyLines | LogPathRefused
            | SsrfRefused => 422,
            Unauthorized | InvalidCredentials => 401,
            Forbidden | CsrfFailed => 403,
            NotFound | UnknownJail | UnknownFilter | UnknownAction | IpNotSeen | GeoNotResolved => {
                404
            }
            MethodNotAllowed => 405,
            SetupDone | UsernameTaken | LastAdmin | Conflict | ConfigChanged | ConfigReadOnly
            | AllowlistExists | ConfigExists | ConfigInUse | ConfigNotOwned | BlocklistExists
            | BlocklistHasHistory => 409,
            PayloadTooLarge => 413,
            UnsupportedMediaType => 415,
            RateLimited => 429,
            Internal | Fail2banError | Fail2banClientFailed | JailNotStarted | Interrupted
            | ConfigInvalid | ConfigRolledBack | ConfigPathRefused | RegexTimeout => 500,
            TooLarge | Timeout | HttpStatus | NetworkError => 502,
            DatabaseUnavailable | ServiceUnavailable | SetupRequired | NotReady
            | SchedulerUnavailable | Fail2banUnavailable | Fail2banUnsupported => 503,
        }
    }
}
