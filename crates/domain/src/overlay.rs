//! Mineral overlay queries (压覆矿产查询): what a `needs_overlay_approval` hit asks for before
//! `conversion → supply` (DOMAIN.md, "Approvals that a check calls for").
//!
//! A confirmed check that counts a hit on a mineral deposit (the check already leaves out
//! parcels wholly in a whitelist area) calls for a query to the mineral authority. The query is
//! *sent* on a day, is *due* five working days later on the bureau's calendar
//! ([`OverlayRules::answer_working_days`], provisional past the covered years like every
//! deadline), and is *answered* once with a document number, a day and a conclusion
//! ([`OverlayConclusion`]). A favourable answer (`no_overlay`, `overlay_approved`) is valid six
//! months from its day by the civil-code month rule ([`valid_until`]); a lapsed or refused one
//! needs a new query.
//!
//! Worked example. A check confirmed on Monday 2026-09-28 opens a query sent that day. The
//! National Day holiday (2026-10-01 to 10-07 off) leaves 09-29, 09-30, 10-08 and 10-09, and the
//! fifth working day is Saturday 2026-10-10, worked in exchange (调休上班): on that day the
//! query is `due_today` (a reminder), from 2026-10-11 `late` (an alert). Answered `no_overlay` on 2026-08-31 instead, an answer is valid
//! until 2027-02-28 (there is no 2027-02-31), `lapsed` from 2027-03-01, and `conversion →
//! supply` is refused from then naming the day it lapsed.

use std::fmt;

use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::approval::CheckHit;
use crate::calendar::{Deadline, WorkCalendar};
use crate::check::LayerResult;

/// How long the authority has to answer and how long an answer holds. The defaults are the
/// bureau's (5 working days, 6 months); another bureau sets its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverlayRules {
    /// Working days after the sent day by which an answer is due.
    pub answer_working_days: u32,
    /// Months from the answer's day its validity lasts.
    pub valid_months: u32,
}

impl Default for OverlayRules {
    fn default() -> Self {
        Self {
            answer_working_days: 5,
            valid_months: 6,
        }
    }
}

/// What the mineral authority answered.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, strum::IntoStaticStr, strum::VariantArray,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum OverlayConclusion {
    /// 不压覆: the land covers no important deposit.
    NoOverlay,
    /// 压覆已批准: it covers one and the overlay is approved.
    OverlayApproved,
    /// The overlay is refused: the land cannot be supplied on this answer.
    Refused,
}

/// The text is not one of the conclusion codes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown overlay conclusion {0:?}: one of no_overlay, overlay_approved, refused")]
pub struct UnknownConclusion(pub String);

impl OverlayConclusion {
    /// The stable `snake_case` code.
    pub fn code(self) -> &'static str {
        self.into()
    }

    /// Parses a conclusion code.
    ///
    /// # Errors
    /// [`UnknownConclusion`] when `code` is not exactly one of the codes.
    pub fn parse(code: &str) -> Result<Self, UnknownConclusion> {
        crate::code::parse(code).ok_or_else(|| UnknownConclusion(code.to_owned()))
    }

    /// Whether the land may be supplied on this answer (while it is valid).
    pub fn favourable(self) -> bool {
        matches!(self, Self::NoOverlay | Self::OverlayApproved)
    }
}

impl fmt::Display for OverlayConclusion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A recorded answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverlayAnswer {
    /// The answer's document number (文号).
    pub document_number: String,
    /// The day of the answer.
    pub answered_on: NaiveDate,
    /// What it concluded.
    pub conclusion: OverlayConclusion,
}

/// A query as the rules need it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverlayQuery {
    /// The query's id.
    pub id: Uuid,
    /// The day it was sent.
    pub sent_on: NaiveDate,
    /// The day its answer is due.
    pub due: Deadline,
    /// Its answer, once recorded.
    pub answer: Option<OverlayAnswer>,
}

/// Where a query stands on a day.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, strum::IntoStaticStr, strum::VariantArray,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum OverlayStatus {
    /// Sent, unanswered, the due day still ahead.
    Awaiting,
    /// Unanswered on its due day: the reminder is raised.
    DueToday,
    /// Unanswered past its due day: the alert is raised.
    Late,
    /// Answered favourably and valid on the day.
    Valid,
    /// Answered `refused`.
    Refused,
    /// Answered favourably, but the validity ended before the day.
    Lapsed,
}

impl OverlayStatus {
    /// The stable `snake_case` code.
    pub fn code(self) -> &'static str {
        self.into()
    }
}

/// The day an answer is due: [`OverlayRules::answer_working_days`] working days after `sent_on`
/// on `calendar` (provisional past the covered years).
pub fn due_on(calendar: &WorkCalendar, sent_on: NaiveDate, rules: &OverlayRules) -> Deadline {
    calendar.add_working_days(sent_on, rules.answer_working_days)
}

/// The last day a favourable answer of `answered_on` is valid: the corresponding day
/// [`OverlayRules::valid_months`] months later, or that month's last day when it has none
/// (civil-code rule, as [`crate::supply::period_end`] for years). `None` past chrono's range.
pub fn valid_until(answered_on: NaiveDate, rules: &OverlayRules) -> Option<NaiveDate> {
    answered_on.checked_add_months(Months::new(rules.valid_months))
}

/// Where `query` stands on `today`.
pub fn status(query: &OverlayQuery, today: NaiveDate, rules: &OverlayRules) -> OverlayStatus {
    match &query.answer {
        None if today < query.due.date => OverlayStatus::Awaiting,
        None if today == query.due.date => OverlayStatus::DueToday,
        None => OverlayStatus::Late,
        Some(a) if a.conclusion == OverlayConclusion::Refused => OverlayStatus::Refused,
        Some(a) => match valid_until(a.answered_on, rules) {
            Some(until) if today > until => OverlayStatus::Lapsed,
            _ => OverlayStatus::Valid,
        },
    }
}

/// Whether the counted hits of a confirmed check call for an overlay query: a hit on a mineral
/// deposit with result `needs_overlay_approval` that no planner dismissed.
pub fn called_for(hits: &[CheckHit]) -> bool {
    hits.iter()
        .any(|h| !h.dismissed && h.result == LayerResult::NeedsOverlayApproval)
}

/// Why a case that needs an overlay answer cannot go on without a new one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "gap", rename_all = "snake_case")]
pub enum OverlayGap {
    /// No query was ever sent.
    NoQuery,
    /// The latest query is not answered yet.
    Unanswered {
        /// The query.
        query: Uuid,
        /// The day its answer is due.
        due_on: NaiveDate,
    },
    /// The latest answer refused the overlay.
    Refused {
        /// The query.
        query: Uuid,
        /// The answer's document number.
        document_number: String,
    },
    /// The latest favourable answer lapsed.
    Lapsed {
        /// The query.
        query: Uuid,
        /// The last day it was valid.
        valid_until: NaiveDate,
    },
}

impl fmt::Display for OverlayGap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoQuery => f.write_str("no overlay query (压覆矿产查询) was sent"),
            Self::Unanswered { query, due_on } => {
                write!(f, "overlay query {query} is not answered (due {due_on})")
            }
            Self::Refused {
                query,
                document_number,
            } => write!(
                f,
                "overlay query {query} was answered refused ({document_number}): a new query is needed"
            ),
            Self::Lapsed { query, valid_until } => write!(
                f,
                "the answer to overlay query {query} lapsed on {}: a new query is needed",
                valid_until.succ_opt().unwrap_or(*valid_until)
            ),
        }
    }
}

impl OverlayGap {
    /// A stable code for the gap.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoQuery | Self::Unanswered { .. } => "overlay-not-answered",
            Self::Refused { .. } => "overlay-refused",
            Self::Lapsed { .. } => "overlay-lapsed",
        }
    }
}

/// What stops a case that needs an overlay answer on `today`, given its `queries` in the order
/// they were sent; `None` when one of them holds a favourable answer valid on `today`.
pub fn gap(queries: &[OverlayQuery], today: NaiveDate, rules: &OverlayRules) -> Option<OverlayGap> {
    if queries
        .iter()
        .any(|q| status(q, today, rules) == OverlayStatus::Valid)
    {
        return None;
    }
    let Some(latest) = queries.last() else {
        return Some(OverlayGap::NoQuery);
    };
    Some(match &latest.answer {
        None => OverlayGap::Unanswered {
            query: latest.id,
            due_on: latest.due.date,
        },
        Some(a) if a.conclusion == OverlayConclusion::Refused => OverlayGap::Refused {
            query: latest.id,
            document_number: a.document_number.clone(),
        },
        Some(a) => OverlayGap::Lapsed {
            query: latest.id,
            valid_until: valid_until(a.answered_on, rules).unwrap_or(a.answered_on),
        },
    })
}

/// Whether a new query may be opened: none of `queries` is open (unanswered) and none holds a
/// favourable answer valid on `today`.
///
/// # Errors
/// [`OpenError`] naming the query that stands in the way.
pub fn may_open(queries: &[OverlayQuery], today: NaiveDate, rules: &OverlayRules) -> Result<(), OpenError> {
    if let Some(open) = queries.iter().find(|q| q.answer.is_none()) {
        return Err(OpenError::AlreadyOpen { query: open.id });
    }
    if let Some(valid) = queries
        .iter()
        .find(|q| status(q, today, rules) == OverlayStatus::Valid)
    {
        return Err(OpenError::StillValid { query: valid.id });
    }
    Ok(())
}

/// Why a new query is not opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    /// A query is sent and unanswered.
    #[error("overlay query {query} is already open (unanswered)")]
    AlreadyOpen {
        /// The open query.
        query: Uuid,
    },
    /// A favourable answer is still valid.
    #[error("overlay query {query} holds a favourable answer that is still valid")]
    StillValid {
        /// The query.
        query: Uuid,
    },
}

impl OpenError {
    /// A stable code for the rule.
    pub fn code(&self) -> &'static str {
        match self {
            Self::AlreadyOpen { .. } => "overlay-query-open",
            Self::StillValid { .. } => "overlay-answer-valid",
        }
    }
}

/// An answer as the caller gives it, before it is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAnswer {
    /// The document number.
    pub document_number: String,
    /// The day of the answer.
    pub answered_on: NaiveDate,
    /// The conclusion's code.
    pub conclusion: String,
}

/// Why an answer is refused. Each variant names the field at fault ([`field`](Self::field)),
/// except [`AlreadyAnswered`](Self::AlreadyAnswered), a conflict.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    /// The document number is blank.
    #[error("the document number is blank")]
    DocumentNumberBlank,
    /// The answer is dated before the query was sent.
    #[error("the answer date {answered_on} is before the query was sent ({sent_on})")]
    BeforeSent {
        /// The date given.
        answered_on: NaiveDate,
        /// The day the query was sent.
        sent_on: NaiveDate,
    },
    /// The answer is dated after today.
    #[error("the answer date {answered_on} is after today ({today})")]
    InFuture {
        /// The date given.
        answered_on: NaiveDate,
        /// Today, the bureau's date.
        today: NaiveDate,
    },
    /// The conclusion is not one of the codes.
    #[error(transparent)]
    UnknownConclusion(#[from] UnknownConclusion),
    /// The query already has its answer.
    #[error("the query is already answered: an answer is recorded once")]
    AlreadyAnswered,
}

impl AnswerError {
    /// The request field at fault.
    pub fn field(&self) -> &'static str {
        match self {
            Self::DocumentNumberBlank => "document_number",
            Self::BeforeSent { .. } | Self::InFuture { .. } => "answered_on",
            Self::UnknownConclusion(_) => "conclusion",
            Self::AlreadyAnswered => "query",
        }
    }

    /// A stable code for the rule.
    pub fn code(&self) -> &'static str {
        match self {
            Self::DocumentNumberBlank => "document-number-blank",
            Self::BeforeSent { .. } => "answered-before-sent",
            Self::InFuture { .. } => "answered-in-future",
            Self::UnknownConclusion(_) => "unknown-conclusion",
            Self::AlreadyAnswered => "already-answered",
        }
    }
}

/// Checks `new` as the answer to `query` on `today` (the bureau's date), fields in the order of
/// the body: document number, date, conclusion; then whether the query is still open.
///
/// # Errors
/// [`AnswerError`] naming the first field at fault.
pub fn validate_answer(
    new: &NewAnswer,
    query: &OverlayQuery,
    today: NaiveDate,
) -> Result<OverlayAnswer, AnswerError> {
    let answer = validate_fields(new, today)?;
    if answer.answered_on < query.sent_on {
        return Err(AnswerError::BeforeSent {
            answered_on: answer.answered_on,
            sent_on: query.sent_on,
        });
    }
    if query.answer.is_some() {
        return Err(AnswerError::AlreadyAnswered);
    }
    Ok(answer)
}

/// The checks of an answer that need no query: number, date not in the future, conclusion.
///
/// # Errors
/// [`AnswerError`] naming the first field at fault.
pub fn validate_fields(new: &NewAnswer, today: NaiveDate) -> Result<OverlayAnswer, AnswerError> {
    let document_number = new.document_number.trim();
    if document_number.is_empty() {
        return Err(AnswerError::DocumentNumberBlank);
    }
    if new.answered_on > today {
        return Err(AnswerError::InFuture {
            answered_on: new.answered_on,
            today,
        });
    }
    let conclusion = OverlayConclusion::parse(&new.conclusion)?;
    Ok(OverlayAnswer {
        document_number: document_number.to_owned(),
        answered_on: new.answered_on,
        conclusion,
    })
}

/// The alert a sweep raises for `query` on `today`: a reminder on its due day, the alert once it
/// is late; none once answered. The sweep stores each (query, kind) once, so a repeated scan
/// raises nothing new.
pub fn alert_due(query: &OverlayQuery, today: NaiveDate, rules: &OverlayRules) -> Option<OverlayAlert> {
    match status(query, today, rules) {
        OverlayStatus::DueToday => Some(OverlayAlert::Reminder),
        OverlayStatus::Late => Some(OverlayAlert::Late),
        _ => None,
    }
}

/// The two alerts an unanswered query raises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OverlayAlert {
    /// The due day is reached unanswered.
    Reminder,
    /// The due day passed unanswered.
    Late,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::approval::FeatureRef;
    use crate::check::LayerKind;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn calendar() -> WorkCalendar {
        WorkCalendar::from_json(include_str!("../../../seeds/cn-workdays-2023-2026.json")).unwrap()
    }

    fn query(n: u128, sent_on: NaiveDate, answer: Option<(NaiveDate, OverlayConclusion)>) -> OverlayQuery {
        OverlayQuery {
            id: Uuid::from_u128(n),
            sent_on,
            due: due_on(&calendar(), sent_on, &OverlayRules::default()),
            answer: answer.map(|(answered_on, conclusion)| OverlayAnswer {
                document_number: format!("陕自然资矿函〔2026〕{n}号"),
                answered_on,
                conclusion,
            }),
        }
    }

    fn new_answer(answered_on: NaiveDate, conclusion: &str) -> NewAnswer {
        NewAnswer {
            document_number: " 陕自然资矿函〔2026〕7号 ".to_owned(),
            answered_on,
            conclusion: conclusion.to_owned(),
        }
    }

    #[test]
    fn the_answer_is_due_five_working_days_after_the_sent_day_skipping_a_holiday() {
        let rules = OverlayRules::default();
        // An ordinary week: Monday 2026-03-02 → Monday 2026-03-09.
        let due = due_on(&calendar(), day(2026, 3, 2), &rules);
        assert_eq!(due.date, day(2026, 3, 9));
        assert!(!due.provisional);
        // National Day 2026: 10-01 to 10-07 off. Monday 09-28 → 09-29, 09-30, 10-08, 10-09,
        // and the fifth is 10-10, a Saturday worked in exchange (调休上班) in 2026.
        let due = due_on(&calendar(), day(2026, 9, 28), &rules);
        assert_eq!(due.date, day(2026, 10, 10));
        assert!(!due.provisional);
    }

    #[test]
    fn a_due_date_past_the_covered_years_is_provisional() {
        let due = due_on(&calendar(), day(2026, 12, 28), &OverlayRules::default());
        assert_eq!(due.date, day(2027, 1, 4));
        assert!(due.provisional);
    }

    #[test]
    fn validity_ends_on_the_corresponding_day_or_the_months_last_day() {
        let rules = OverlayRules::default();
        assert_eq!(valid_until(day(2026, 8, 31), &rules), Some(day(2027, 2, 28)));
        assert_eq!(valid_until(day(2026, 3, 15), &rules), Some(day(2026, 9, 15)));
        assert_eq!(valid_until(day(2027, 8, 31), &rules), Some(day(2028, 2, 29)));
    }

    #[test]
    fn an_unanswered_query_awaits_is_due_on_its_day_and_late_after() {
        let rules = OverlayRules::default();
        let q = query(1, day(2026, 3, 2), None);
        assert_eq!(status(&q, day(2026, 3, 6), &rules), OverlayStatus::Awaiting);
        assert_eq!(status(&q, day(2026, 3, 9), &rules), OverlayStatus::DueToday);
        assert_eq!(status(&q, day(2026, 3, 10), &rules), OverlayStatus::Late);
        assert_eq!(alert_due(&q, day(2026, 3, 6), &rules), None);
        assert_eq!(
            alert_due(&q, day(2026, 3, 9), &rules),
            Some(OverlayAlert::Reminder)
        );
        assert_eq!(alert_due(&q, day(2026, 3, 10), &rules), Some(OverlayAlert::Late));
    }

    #[test]
    fn a_favourable_answer_is_valid_through_its_last_day_and_lapsed_the_next() {
        let rules = OverlayRules::default();
        let q = query(
            1,
            day(2026, 8, 25),
            Some((day(2026, 8, 31), OverlayConclusion::NoOverlay)),
        );
        assert_eq!(status(&q, day(2027, 2, 28), &rules), OverlayStatus::Valid);
        assert_eq!(status(&q, day(2027, 3, 1), &rules), OverlayStatus::Lapsed);
        assert_eq!(alert_due(&q, day(2027, 3, 1), &rules), None);
        let g = gap(std::slice::from_ref(&q), day(2027, 3, 1), &rules).unwrap();
        assert_eq!(g.code(), "overlay-lapsed");
        assert!(g.to_string().contains("lapsed on 2027-03-01"), "{g}");
        assert_eq!(gap(&[q], day(2027, 2, 28), &rules), None);
    }

    #[test]
    fn the_gap_names_what_is_missing_and_a_later_favourable_answer_closes_it() {
        let rules = OverlayRules::default();
        let today = day(2026, 12, 7);
        assert_eq!(gap(&[], today, &rules), Some(OverlayGap::NoQuery));
        let open = query(1, day(2026, 12, 1), None);
        assert_eq!(
            gap(std::slice::from_ref(&open), today, &rules).map(|g| g.code()),
            Some("overlay-not-answered")
        );
        let refused = query(
            2,
            day(2026, 11, 2),
            Some((day(2026, 11, 5), OverlayConclusion::Refused)),
        );
        assert_eq!(status(&refused, today, &rules), OverlayStatus::Refused);
        let g = gap(std::slice::from_ref(&refused), today, &rules).unwrap();
        assert_eq!(g.code(), "overlay-refused");
        let approved = query(
            3,
            day(2026, 11, 9),
            Some((day(2026, 11, 10), OverlayConclusion::OverlayApproved)),
        );
        assert_eq!(gap(&[refused, approved], today, &rules), None);
    }

    #[test]
    fn a_new_query_opens_only_without_an_open_one_or_a_valid_favourable_answer() {
        let rules = OverlayRules::default();
        let today = day(2026, 12, 7);
        assert!(may_open(&[], today, &rules).is_ok());
        let open = query(1, day(2026, 12, 1), None);
        assert_eq!(
            may_open(std::slice::from_ref(&open), today, &rules).map_err(|e| e.code()),
            Err("overlay-query-open")
        );
        let valid = query(
            2,
            day(2026, 11, 2),
            Some((day(2026, 11, 5), OverlayConclusion::NoOverlay)),
        );
        assert_eq!(
            may_open(std::slice::from_ref(&valid), today, &rules).map_err(|e| e.code()),
            Err("overlay-answer-valid")
        );
        let refused = query(
            3,
            day(2026, 11, 2),
            Some((day(2026, 11, 5), OverlayConclusion::Refused)),
        );
        assert!(may_open(&[refused], today, &rules).is_ok());
        let lapsed = query(
            4,
            day(2026, 1, 5),
            Some((day(2026, 1, 6), OverlayConclusion::NoOverlay)),
        );
        assert!(may_open(&[lapsed], today, &rules).is_ok());
    }

    #[test]
    fn an_answer_is_trimmed_and_refused_naming_its_field() {
        let today = day(2026, 12, 7);
        let q = query(1, day(2026, 12, 1), None);
        let ok = validate_answer(&new_answer(day(2026, 12, 7), "no_overlay"), &q, today).unwrap();
        assert_eq!(ok.document_number, "陕自然资矿函〔2026〕7号");
        assert_eq!(ok.conclusion, OverlayConclusion::NoOverlay);
        let same_day = validate_answer(&new_answer(day(2026, 12, 1), "refused"), &q, today);
        assert!(same_day.is_ok(), "an answer on the sent day is accepted");

        let field = |new: NewAnswer, q: &OverlayQuery| validate_answer(&new, q, today).unwrap_err().field();
        let mut blank = new_answer(today, "no_overlay");
        blank.document_number = " \t".to_owned();
        assert_eq!(field(blank, &q), "document_number");
        assert_eq!(
            field(new_answer(day(2026, 11, 30), "no_overlay"), &q),
            "answered_on"
        );
        assert_eq!(
            field(new_answer(day(2026, 12, 8), "no_overlay"), &q),
            "answered_on"
        );
        assert_eq!(field(new_answer(today, "No_Overlay"), &q), "conclusion");
        let answered = query(
            2,
            day(2026, 12, 1),
            Some((day(2026, 12, 2), OverlayConclusion::NoOverlay)),
        );
        let e = validate_answer(&new_answer(today, "no_overlay"), &answered, today).unwrap_err();
        assert_eq!(e, AnswerError::AlreadyAnswered);
    }

    #[test]
    fn only_a_counted_undismissed_mineral_hit_calls_for_a_query() {
        let hit = |result, dismissed| CheckHit {
            hit_id: Uuid::from_u128(1),
            feature: FeatureRef {
                layer: LayerKind::MineralDeposit,
                feature: "KC-1".to_owned(),
            },
            result,
            dismissed,
        };
        assert!(called_for(&[hit(LayerResult::NeedsOverlayApproval, false)]));
        assert!(!called_for(&[hit(LayerResult::NeedsOverlayApproval, true)]));
        assert!(!called_for(&[hit(LayerResult::Ok, false)]));
        assert!(!called_for(&[]));
    }

    #[test]
    fn conclusion_codes_parse_back_and_only_two_are_favourable() {
        for c in <OverlayConclusion as strum::VariantArray>::VARIANTS {
            assert_eq!(OverlayConclusion::parse(c.code()), Ok(*c));
        }
        assert!(OverlayConclusion::NoOverlay.favourable());
        assert!(OverlayConclusion::OverlayApproved.favourable());
        assert!(!OverlayConclusion::Refused.favourable());
    }
}
