//! The regex tester (issue #19): `POST /config/regex-test` queues a `regex_test` command;
//! the scheduler runs fail2ban-regex's own code on the lines (pasted, or the tail of a
//! log it may read) and the command's result holds each tested line's outcome and the
//! counts, as fail2ban-regex counts them.

use poem::Request;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{Object, OpenApi};
use sea_orm::DatabaseConnection;
use serde_json::json;
use shared::commands::Command;
use shared::regex_test::{self as rt, FilterRef, RegexTest, RegexText, Subject};
use shared::store::config_tree;

use crate::auth::{Auth, Role};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::routes::ApiTags;
use crate::routes::commands::{CommandResponse, MAX_WAIT, parse_wait, submit};
use crate::text::{Text, WaitText};

/// Lines to test: pasted ones, or the tail of a log file.
#[derive(Debug, Object)]
pub struct RegexLog {
    /// An absolute path: a configured jail's `logpath` (globs included) or a file under
    /// `BANGUI_LOG_ALLOW_DIRS`; anything else fails the command with
    /// `log_path_refused`.
    #[oai(validator(max_length = 4096))]
    pub path: Text,
    /// How many of the last lines (1 to 10 000; default 1 000).
    #[oai(validator(minimum(value = "1"), maximum(value = "10000")))]
    pub max_lines: Option<u32>,
}

#[derive(Debug, Object)]
#[oai(example)]
pub struct RegexTestRequest {
    /// A filter of the configuration as a jail names it (`sshd`,
    /// `sshd[mode=aggressive]`), tested with its `.local`; or none, and `failregex`.
    #[oai(validator(max_length = 600))]
    pub filter: Option<Text>,
    /// Regexes as a filter file's `failregex` holds them (`<HOST>`, `<F-USER>`,
    /// `%(__prefix_line)s`; a literal `%` written `%%`), one per item.
    #[oai(validator(max_items = 100))]
    pub failregex: Option<Vec<Text>>,
    #[oai(validator(max_items = 100))]
    pub ignoreregex: Option<Vec<Text>>,
    #[oai(validator(max_length = 4096))]
    pub datepattern: Option<Text>,
    #[oai(validator(max_length = 4096))]
    pub prefregex: Option<Text>,
    /// The lines to test (each item may hold several, split at line breaks): at most
    /// 10 000 lines and 1 MiB. Give `lines` or `log`.
    pub lines: Option<Vec<Text>>,
    pub log: Option<RegexLog>,
}

impl Example for RegexTestRequest {
    fn example() -> Self {
        Self {
            filter: None,
            failregex: Some(vec![Text(
                "^%(__prefix_line)sFailed password for .* from <HOST>".into(),
            )]),
            ignoreregex: None,
            datepattern: None,
            prefregex: None,
            lines: Some(vec![Text(
                "Dec  3 10:00:01 host sshd[123]: Failed password for root from 203.0.113.7 port 22 ssh2".into(),
            )]),
            log: None,
        }
    }
}

pub struct RegexTestApi {
    db: DatabaseConnection,
    expiry: std::time::Duration,
    auth: std::sync::Arc<Auth>,
}

impl RegexTestApi {
    pub fn new(
        db: DatabaseConnection,
        expiry: std::time::Duration,
        auth: std::sync::Arc<Auth>,
    ) -> Self {
        Self { db, expiry, auth }
    }

    /// The request as the command carries it, or the first thing wrong with it.
    async fn parse(&self, body: RegexTestRequest) -> ApiResult<RegexTest> {
        let refused = |code: ErrorCode, field: &str, message: String| {
            ApiError::new(code, message).with_details(json!({ "field": field }))
        };
        let regexes = |field: &str, given: Option<Vec<Text>>| -> ApiResult<Vec<RegexText>> {
            given
                .unwrap_or_default()
                .iter()
                .map(|r| {
                    RegexText::parse(&r.0).map_err(|e| refused(ErrorCode::RegexInvalid, field, e))
                })
                .collect()
        };
        let one = |field: &str, given: Option<Text>| -> ApiResult<Option<RegexText>> {
            given
                .map(|v| v.0)
                .filter(|v| !v.trim().is_empty())
                .map(|v| {
                    RegexText::parse(&v).map_err(|e| refused(ErrorCode::RegexInvalid, field, e))
                })
                .transpose()
        };
        let filter = body
            .filter
            .map(|f| f.0)
            .filter(|f| !f.trim().is_empty())
            .map(|f| {
                FilterRef::parse(&f).map_err(|e| refused(ErrorCode::ValidationFailed, "filter", e))
            })
            .transpose()?;
        let subject = match (body.lines, body.log) {
            (Some(lines), None) => Subject::Lines {
                lines: rt::split_lines(&lines.into_iter().map(|l| l.0).collect::<Vec<_>>()),
            },
            (None, Some(log)) => Subject::Log {
                path: log.path.0,
                max_lines: log.max_lines.unwrap_or(1000),
            },
            _ => {
                return Err(refused(
                    ErrorCode::ValidationFailed,
                    "lines",
                    "give the lines to test or a log to read them from (not both)".into(),
                ));
            }
        };
        let test = RegexTest {
            filter,
            failregex: regexes("failregex", body.failregex)?,
            ignoreregex: regexes("ignoreregex", body.ignoreregex)?,
            datepattern: one("datepattern", body.datepattern)?,
            prefregex: one("prefregex", body.prefregex)?,
            subject,
        };
        test.check()
            .map_err(|r| refused(r.code, r.field, r.message))?;
        self.known(&test).await?;
        Ok(test)
    }

    /// What the configuration as last read can tell before the scheduler looks: the
    /// filter exists. (Whether a log may be read is the scheduler's call: it knows
    /// `BANGUI_LOG_ALLOW_DIRS` and resolves links.)
    async fn known(&self, test: &RegexTest) -> ApiResult<()> {
        let root = config_tree::last_read(&self.db).await?.map(|r| r.root);
        if let (Some(filter), Some(root)) = (&test.filter, &root) {
            let files = config_tree::files(&self.db).await?;
            let name = filter.name().as_str();
            let wanted = [
                format!("{root}/filter.d/{name}.conf"),
                format!("{root}/filter.d/{name}.local"),
            ];
            if !files.iter().any(|f| wanted.contains(&f.path)) {
                return Err(ApiError::new(
                    ErrorCode::UnknownFilter,
                    format!("no filter {name} in the configuration"),
                )
                .with_details(json!({ "field": "filter" })));
            }
        }
        Ok(())
    }
}

#[OpenApi(tag = "ApiTags::Config")]
impl RegexTestApi {
    /// Tests failregex/ignoreregex lines (or a filter of the configuration) on lines, as
    /// `fail2ban-regex` would: fail2ban-regex's own code runs in the scheduler, within a
    /// time limit (`BANGUI_REGEX_TEST_TIMEOUT`). The command's `result` holds
    /// `{matched, ignored, missed, tested, lines: [{line, matched, ignored, host, time,
    /// regex, user}]}`; a regex fail2ban cannot compile fails it with `regex_invalid`, a
    /// test over its time limit with `regex_timeout`. Waits up to `wait` (default 10s).
    /// Role: operator.
    #[oai(
        path = "/config/regex-test",
        method = "post",
        operation_id = "test_regex"
    )]
    async fn test(
        &self,
        req: &Request,
        wait: Query<Option<WaitText>>,
        body: Json<RegexTestRequest>,
    ) -> ApiResult<CommandResponse> {
        let caller = self.auth.require(req, Role::Operator).await?;
        let wait = parse_wait(wait.0.as_deref())?.or(Some(MAX_WAIT));
        let test = self.parse(body.0).await?;
        submit(
            &self.auth,
            &caller,
            &Command::RegexTest(test),
            wait,
            self.expiry,
        )
        .await
    }
}
