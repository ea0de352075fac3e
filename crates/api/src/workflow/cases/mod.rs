//! Cases: open one, read it and the queue, move it through the stages, record its documents,
//! grant or revoke the green channel, read its history and the three-week ledger.
//!
//! | file | what |
//! |---|---|
//! | [`create`] | `POST /cases`: an officer opens a draft |
//! | [`view`] | `GET /cases/{id}` and the view every case answer shows |
//! | [`list`] | `GET /cases`: the queue, green first, then nearest deadline |
//! | [`transition`] | `POST /cases/{id}/transitions`: the stage rules, decided by the domain |
//! | [`documents`] | `POST /cases/{id}/facts`: approval documents |
//! | [`approvals`] | `POST /cases/{id}/approvals`: the approvals a check calls for |
//! | [`overlay`] | `/cases/{id}/overlay-queries`: mineral overlay queries and their answers |
//! | [`green`] | `POST /cases/{id}/green-channel`: a leader's grant or revocation |
//! | [`history`] | `GET /cases/{id}/history` |
//! | [`ledger`] | `GET /ledger`: the items with their clearing status |
//! | [`write`] | what every case write shares: lock + `If-Match`, event + version + view |
//!
//! The SQL is in `crate::store::cases`; this module reads what a stored row means.

pub mod approvals;
pub mod create;
pub mod documents;
pub mod green;
pub mod history;
pub mod ledger;
pub mod list;
pub mod overlay;
pub mod transition;
pub mod view;
pub mod write;

use landuse_domain::{
    calendar::WorkCalendar,
    clearing::ClearingRules,
    green::{Grant, GreenChannel},
    limits::TimeLimits,
    stage::{CaseState, Stage},
};
use serde::Deserialize;
use sqlx::PgConnection;
use uuid::Uuid;

pub use self::{
    create::Declarations,
    documents::RecordedFacts,
    view::{case_view, case_views, CaseView},
    write::{append_event, append_event_as, settle, CaseEvent},
};
pub use crate::store::cases::CaseRow;
use crate::{admin, auth::Caller, http::error::ApiError, store};

/// What a stored case row means to the domain. A stored value that does not parse is an error
/// (500, logged with the trace id), never a default: read as empty and written back, it would
/// lose data.
impl CaseRow {
    /// The case's stage and, in correction, where it returns.
    ///
    /// # Errors
    /// A stored stage the domain does not know (a corrupt row).
    pub fn state(&self) -> Result<CaseState, ApiError> {
        let corrupt = |e| ApiError::internal("reading the case stage", e);
        let stage = Stage::parse(&self.stage).map_err(corrupt)?;
        let returns_to = self
            .returns_to
            .as_deref()
            .map(Stage::parse)
            .transpose()
            .map_err(corrupt)?;
        CaseState::new(stage, returns_to).map_err(|e| ApiError::internal("reading the case state", e))
    }

    /// The documents recorded on the case.
    ///
    /// # Errors
    /// A `facts` column that is not a [`RecordedFacts`].
    pub fn recorded_facts(&self) -> Result<RecordedFacts, ApiError> {
        RecordedFacts::deserialize(&self.facts)
            .map_err(|e| ApiError::internal("reading the case's recorded documents", e))
    }

    /// What the case declares for the verdict rules.
    ///
    /// # Errors
    /// A `declarations` column that is not [`Declarations`].
    pub fn declarations(&self) -> Result<Declarations, ApiError> {
        Declarations::deserialize(&self.declarations)
            .map_err(|e| ApiError::internal("reading the case's declarations", e))
    }

    /// The green channel as the domain sees it. A grant that does not parse would, read as no
    /// grant, silently take the case off the green channel.
    ///
    /// # Errors
    /// A `green_grant` column that is not a [`Grant`].
    pub fn green_channel(&self) -> Result<GreenChannel, ApiError> {
        let grant = self
            .green_grant
            .as_ref()
            .map(Grant::deserialize)
            .transpose()
            .map_err(|e| ApiError::internal("reading the case's green-channel grant", e))?;
        Ok(GreenChannel {
            key_project: self.on_key_list,
            grant,
        })
    }
}

/// Loads a case the caller may see, locked for a change when `lock`.
///
/// # Errors
/// 404 when it does not exist or lies outside the caller's counties.
pub async fn load_case(
    conn: &mut PgConnection,
    caller: &Caller,
    id: Uuid,
    lock: bool,
) -> Result<CaseRow, ApiError> {
    store::cases::load(conn, id, lock)
        .await?
        .filter(|c| caller.sees(&c.county_code))
        .ok_or(ApiError::NotFound("case"))
}

/// The rules a case is judged by, loaded from the settings.
pub struct Rules {
    /// The working-day calendar the stage limits count in.
    pub calendar: WorkCalendar,
    /// The stage time limits, ordinary and green.
    pub limits: TimeLimits,
    /// The three-week clearing limit and its warning threshold.
    pub clearing: ClearingRules,
}

/// A database failure while loading the rules is the database's (503 when it is down); a bad
/// calendar or limit in the tables is ours (500).
pub(super) fn rules_error(doing: &'static str, error: admin::AdminError) -> ApiError {
    match error {
        admin::AdminError::Db { source, .. } => ApiError::db(doing, source),
        other => ApiError::internal(doing, other),
    }
}

/// Loads the calendar, the time limits and the clearing rules.
///
/// # Errors
/// Database failures or a broken settings table.
pub async fn load_rules(conn: &mut PgConnection) -> Result<Rules, ApiError> {
    let calendar = admin::load_calendar(conn)
        .await
        .map_err(|e| rules_error("loading the working-day calendar", e))?;
    let limits = admin::load_time_limits(conn)
        .await
        .map_err(|e| rules_error("loading the time limits", e))?;
    let clearing = admin::load_clearing_rules(conn)
        .await
        .map_err(|e| rules_error("loading the clearing limits", e))?;
    Ok(Rules {
        calendar,
        limits,
        clearing,
    })
}
