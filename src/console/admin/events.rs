//! The sign-in history: one account's audit events (sign-ins, refusals,
//! credential issues, API calls), filtered and paged newest first, each with
//! its CloudTrail-shaped record; authorised with `idbroker:LookupEvents`.
use super::{AdminConsole, AdminError, LOOKUP_EVENTS};
use crate::iam::Caller;
use crate::store::AuditQuery;

/// Events per page.
const PAGE: i64 = 50;

/// The filters of the events page, as its form gives them.
#[derive(Debug, Default, Clone, serde::Deserialize)]
pub struct EventFilter {
    pub request_id: Option<String>,
    pub user: Option<String>,
    pub event: Option<String>,
    /// "success" or "failure".
    pub outcome: Option<String>,
    /// RFC 3339, or `YYYY-MM-DDTHH:MM` in UTC (an `<input type=datetime-local>`).
    pub from: Option<String>,
    pub to: Option<String>,
    pub before: Option<i64>,
}

pub struct EventRow {
    pub id: i64,
    pub time: String,
    pub name: String,
    pub source: String,
    pub user: String,
    pub outcome: String,
    pub failed_check: Option<String>,
    pub request_id: String,
    /// The refused assertion kept for the debugger, if any.
    pub kept_assertion: Option<String>,
    /// The whole record, pretty-printed.
    pub record: String,
}

pub struct EventPage {
    pub rows: Vec<EventRow>,
    /// The `before` of the next (older) page, when there may be one.
    pub older: Option<i64>,
}

fn time(value: Option<&str>) -> Result<Option<i64>, AdminError> {
    let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) else { return Ok(None) };
    let parsed = chrono::DateTime::parse_from_rfc3339(v).map(|t| t.timestamp()).or_else(|_| {
        chrono::NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M").map(|t| t.and_utc().timestamp())
    });
    parsed
        .map(Some)
        .map_err(|_| AdminError::Refused("InvalidInput", format!("`{v}` is not a time (2026-12-01T09:30).")))
}

fn row(id: i64, body: &str) -> EventRow {
    let e: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    let s = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
    let identity = &e["userIdentity"];
    let user = [&identity["userName"], &identity["arn"], &identity["principalId"]]
        .into_iter()
        .find_map(|v| v.as_str().filter(|s| !s.is_empty()))
        .unwrap_or("")
        .to_owned();
    let failed = e["errorCode"].as_str();
    EventRow {
        id,
        time: s(&e["eventTime"]),
        name: s(&e["eventName"]),
        source: s(&e["eventSource"]),
        user,
        outcome: failed.map_or_else(|| "success".to_owned(), str::to_owned),
        failed_check: e["additionalEventData"]["failedCheck"].as_str().map(str::to_owned),
        request_id: s(&e["requestID"]),
        kept_assertion: e["additionalEventData"]["keptAssertion"].as_str().map(str::to_owned),
        record: serde_json::to_string_pretty(&e).unwrap_or_default(),
    }
}

impl AdminConsole {
    pub async fn events(&self, caller: &Caller, f: &EventFilter) -> Result<EventPage, AdminError> {
        self.authorize(caller, LOOKUP_EVENTS, "*").await?;
        let nonempty =
            |v: &Option<String>| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
        let (request_id, user, event) = (nonempty(&f.request_id), nonempty(&f.user), nonempty(&f.event));
        let succeeded = match f.outcome.as_deref() {
            Some("success") => Some(true),
            Some("failure") => Some(false),
            _ => None,
        };
        let query = AuditQuery {
            account_id: &caller.account_id,
            request_id: request_id.as_deref(),
            user: user.as_deref(),
            event: event.as_deref(),
            succeeded,
            from: time(f.from.as_deref())?,
            to: time(f.to.as_deref())?,
            before_id: f.before,
            limit: PAGE + 1,
        };
        let mut found = self.store.account_audit_events(&query).await?;
        let more = found.len() as i64 > PAGE;
        found.truncate(PAGE as usize);
        let rows: Vec<EventRow> = found.iter().map(|(id, body)| row(*id, body)).collect();
        let older = if more { rows.last().map(|r| r.id) } else { None };
        Ok(EventPage { rows, older })
    }
}
