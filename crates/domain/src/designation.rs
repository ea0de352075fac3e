//! Key-project designation: the list is the bureau's, not the applicant's.
//!
//! A project's level, sector, list membership, new-start flag, list year, list document and
//! responsible leader decide the green channel, the quota queue, the permanent-farmland verdict
//! and the start-rate report. They form its [`Designation`], and only a `leader` or `admin`
//! changes it ([`decide_designation`]), each time with a reason, as one audited event. An
//! officer registers a project and edits its ordinary fields (name, category, planned start)
//! and may *propose* it for the list; a proposal is kept beside the designation and takes no
//! effect until a designation decides it.
//!
//! Worked example: 汉滨区's officer registers 安康机场连接线 proposing it as a provincial
//! transport project. It is registered [`Designation::unlisted`] (county level, sector
//! `other`, not on the list), so its cases get no green channel and a permanent-farmland
//! overlap is `prohibited`. A leader then designates it (level `provincial`, sector
//! `transport`, list document 陕发改重点〔2026〕1号, responsible leader 李副局长, reason "on the
//! 2026 provincial list"): from that moment its cases ride the green channel and its
//! permanent-farmland overlap needs State Council approval instead.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{
    project::{ProjectLevel, ProjectSector},
    reason::{Reason, ReasonError},
    role::Role,
};

/// The fields of a project, as an edit or a refusal names them.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ProjectField {
    /// The name.
    Name,
    /// The category (infrastructure, industry, livelihood).
    Category,
    /// The planned start.
    PlannedStart,
    /// The proposal for the list.
    Proposal,
    /// The level (designation only).
    Level,
    /// The sector (designation only).
    Sector,
    /// Membership of the key-project list (designation only).
    OnKeyList,
    /// A new start of its list year (designation only).
    NewStart,
    /// The list year (designation only, after registration).
    Year,
    /// The list document (designation only).
    ListDocument,
    /// The responsible leader (designation only).
    ResponsibleLeader,
    /// The actual start (recorded through the start endpoint).
    StartedOn,
    /// A request for advance use: its status, area and document (recorded through the
    /// advance-use endpoints).
    AdvanceUse,
}

impl ProjectField {
    /// The stable code, as the request field is named.
    pub fn code(self) -> &'static str {
        self.into()
    }

    /// Whether only a designation sets this field.
    pub fn designation_only(self) -> bool {
        matches!(
            self,
            ProjectField::Level
                | ProjectField::Sector
                | ProjectField::OnKeyList
                | ProjectField::NewStart
                | ProjectField::Year
                | ProjectField::ListDocument
                | ProjectField::ResponsibleLeader
        )
    }
}

impl fmt::Display for ProjectField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Why a registration or an edit may not set a field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldRefusal {
    /// The role may never set it: only a leader's or admin's designation does.
    #[error("the role {role} may not set {field}: only a leader or admin designates it (an officer may propose it with `proposal`)")]
    RoleMayNot {
        /// The role that tried.
        role: Role,
        /// The field.
        field: ProjectField,
    },
    /// The role designates, but through the designation, so that it is audited with its
    /// document and reason.
    #[error("{field} is set only by a designation, with its list document and reason, not by a registration or an edit")]
    DesignationOnly {
        /// The field.
        field: ProjectField,
    },
}

impl FieldRefusal {
    /// The field refused.
    pub fn field(&self) -> ProjectField {
        match self {
            FieldRefusal::RoleMayNot { field, .. } | FieldRefusal::DesignationOnly { field } => *field,
        }
    }
}

/// Whether `role` may register or edit a project submitting `fields` (those given a value
/// other than the one a project has without a designation). Ordinary fields pass; the first
/// designation-only field is refused: officers may not set it at all, leaders and admins set
/// it through a designation.
///
/// # Errors
/// The [`FieldRefusal`] for the first designation-only field.
pub fn check_fields(role: Role, fields: &[ProjectField]) -> Result<(), FieldRefusal> {
    match fields.iter().find(|f| f.designation_only()) {
        None => Ok(()),
        Some(&field) if may_designate(role).is_ok() => Err(FieldRefusal::DesignationOnly { field }),
        Some(&field) => Err(FieldRefusal::RoleMayNot { role, field }),
    }
}

/// What the bureau decided about a project: the values in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Designation {
    /// On a provincial or municipal key-project list.
    pub on_key_list: bool,
    /// The level.
    pub level: ProjectLevel,
    /// The sector.
    pub sector: ProjectSector,
    /// A new start of its list year.
    pub new_start: bool,
    /// The list year.
    pub year: i32,
    /// The list document (文号) that put it on the list or took it off.
    pub list_document: Option<String>,
    /// The responsible leader (包抓领导).
    pub responsible_leader: Option<String>,
}

impl Designation {
    /// What a project has before any designation: county level, sector `other`, not on the
    /// list, not a new start, no document and no responsible leader. Nothing here grants
    /// the green channel, quota priority or the State Council path.
    pub fn unlisted(year: i32) -> Self {
        Self {
            on_key_list: false,
            level: ProjectLevel::County,
            sector: ProjectSector::Other,
            new_start: false,
            year,
            list_document: None,
            responsible_leader: None,
        }
    }
}

/// A leader's or admin's decision about a project's designation. Absent fields keep their
/// current values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesignationRequest {
    /// Put on the list (`true`) or take off / keep off (`false`).
    pub on_key_list: bool,
    /// The level.
    pub level: Option<ProjectLevel>,
    /// The sector.
    pub sector: Option<ProjectSector>,
    /// A new start of its list year.
    pub new_start: Option<bool>,
    /// The list year.
    pub year: Option<i32>,
    /// The list document.
    pub list_document: Option<String>,
    /// The responsible leader.
    pub responsible_leader: Option<String>,
    /// Why.
    pub reason: String,
}

/// What kind of designation event a decision is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr, strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum DesignationKind {
    /// Put on the list, or changed while on it.
    Designated,
    /// Taken off the list.
    TakenOff,
    /// Level or sector decided for a project that stays off the list.
    Classified,
}

impl DesignationKind {
    /// The stable code, as the history stores it.
    pub fn code(self) -> &'static str {
        self.into()
    }
}

/// A field's value before and after a change, as text (dates ISO 8601, flags `true`/`false`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldChange {
    /// The field.
    pub field: ProjectField,
    /// Its value before; `null` when it had none.
    pub from: Option<String>,
    /// Its value after; `null` when it has none.
    pub to: Option<String>,
}

impl FieldChange {
    /// The change of `field` from `from` to `to`, or `None` when they are equal.
    pub fn between<T: PartialEq + ToString>(
        field: ProjectField,
        from: Option<&T>,
        to: Option<&T>,
    ) -> Option<Self> {
        (from != to).then(|| Self {
            field,
            from: from.map(ToString::to_string),
            to: to.map(ToString::to_string),
        })
    }
}

/// A designation decided: the new values, what changed, the event kind and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesignationDecision {
    /// The values now in force.
    pub designation: Designation,
    /// What changed, in field order.
    pub changes: Vec<FieldChange>,
    /// The kind of event.
    pub kind: DesignationKind,
    /// Why.
    pub reason: Reason,
}

/// Why a designation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DesignationError {
    /// Only leaders and admins designate.
    #[error("a {0} may not designate key projects; only a leader or admin puts a project on the list or takes it off")]
    RoleMayNot(Role),
    /// No reason, or an unusable one.
    #[error("reason: {0}")]
    Reason(#[from] ReasonError),
    /// A project on the list needs the document that lists it.
    #[error("a project on the key-project list needs its list document (list_document)")]
    ListDocumentMissing,
    /// A project on the list needs a responsible leader.
    #[error("a project on the key-project list needs its responsible leader (responsible_leader)")]
    ResponsibleLeaderMissing,
    /// The lists are provincial and municipal: a county-level project is not on them.
    #[error("a county-level project is not on a provincial or municipal key-project list; give its level")]
    CountyLevelOnList,
    /// A year out of range.
    #[error("the list year must be between 2000 and 2100, not {0}")]
    YearOutOfRange(i32),
    /// Nothing would change.
    #[error("the designation changes nothing")]
    Unchanged,
}

impl DesignationError {
    /// The request field at fault, when there is one.
    pub fn field(&self) -> Option<ProjectField> {
        match self {
            DesignationError::ListDocumentMissing => Some(ProjectField::ListDocument),
            DesignationError::ResponsibleLeaderMissing => Some(ProjectField::ResponsibleLeader),
            DesignationError::CountyLevelOnList => Some(ProjectField::Level),
            DesignationError::YearOutOfRange(_) => Some(ProjectField::Year),
            DesignationError::RoleMayNot(_) | DesignationError::Reason(_) | DesignationError::Unchanged => {
                None
            }
        }
    }
}

/// Whether `role` may designate: leaders and admins only. The one place that says so.
///
/// # Errors
/// [`DesignationError::RoleMayNot`] for any other role.
pub fn may_designate(role: Role) -> Result<(), DesignationError> {
    if matches!(role, Role::Leader | Role::Admin) {
        Ok(())
    } else {
        Err(DesignationError::RoleMayNot(role))
    }
}

/// A list year is within 2000–2100.
fn year_in_range(year: i32) -> Result<(), DesignationError> {
    if (2000..=2100).contains(&year) {
        Ok(())
    } else {
        Err(DesignationError::YearOutOfRange(year))
    }
}

/// What a request can be refused for without its project: a list year outside 2000–2100. The
/// API checks it before it compares versions, so a request that could never be valid is refused
/// for what it is (422), not as stale (412).
///
/// # Errors
/// [`DesignationError::YearOutOfRange`].
pub fn check_request(request: &DesignationRequest) -> Result<(), DesignationError> {
    request.year.map_or(Ok(()), year_in_range)
}

fn non_blank(text: Option<String>) -> Option<String> {
    text.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty())
}

/// Decides a designation by `role` on a project whose designation is `current`.
///
/// ```
/// use landuse_domain::designation::{decide_designation, Designation, DesignationKind, DesignationRequest};
/// use landuse_domain::project::{ProjectLevel, ProjectSector};
/// use landuse_domain::role::Role;
/// let request = DesignationRequest {
///     on_key_list: true,
///     level: Some(ProjectLevel::Provincial),
///     sector: Some(ProjectSector::Transport),
///     new_start: Some(true),
///     year: None,
///     list_document: Some("陕发改重点〔2026〕1号".into()),
///     responsible_leader: Some("李副局长".into()),
///     reason: "on the 2026 provincial list".into(),
/// };
/// let decided = decide_designation(Role::Leader, &Designation::unlisted(2026), request.clone())?;
/// assert_eq!(decided.kind, DesignationKind::Designated);
/// assert!(decided.designation.on_key_list);
/// assert!(decide_designation(Role::Officer, &Designation::unlisted(2026), request).is_err());
/// # Ok::<(), landuse_domain::designation::DesignationError>(())
/// ```
///
/// # Errors
/// [`DesignationError::RoleMayNot`] for any role but `leader` and `admin`; a blank reason; a
/// project put on the list without level above county, list document or responsible leader;
/// a year outside 2000–2100; a decision that changes nothing.
pub fn decide_designation(
    role: Role,
    current: &Designation,
    request: DesignationRequest,
) -> Result<DesignationDecision, DesignationError> {
    may_designate(role)?;
    let reason = Reason::parse(request.reason)?;
    let list_document = non_blank(request.list_document);
    let responsible_leader = non_blank(request.responsible_leader);
    let next = Designation {
        on_key_list: request.on_key_list,
        level: request.level.unwrap_or(current.level),
        sector: request.sector.unwrap_or(current.sector),
        new_start: request.new_start.unwrap_or(current.new_start),
        year: request.year.unwrap_or(current.year),
        list_document: list_document.or_else(|| current.list_document.clone()),
        responsible_leader: responsible_leader.or_else(|| current.responsible_leader.clone()),
    };
    year_in_range(next.year)?;
    if next.on_key_list {
        if next.level == ProjectLevel::County {
            return Err(DesignationError::CountyLevelOnList);
        }
        if next.list_document.is_none() {
            return Err(DesignationError::ListDocumentMissing);
        }
        if next.responsible_leader.is_none() {
            return Err(DesignationError::ResponsibleLeaderMissing);
        }
    }
    let changes: Vec<FieldChange> = [
        FieldChange::between(
            ProjectField::OnKeyList,
            Some(&current.on_key_list),
            Some(&next.on_key_list),
        ),
        FieldChange::between(ProjectField::Level, Some(&current.level), Some(&next.level)),
        FieldChange::between(ProjectField::Sector, Some(&current.sector), Some(&next.sector)),
        FieldChange::between(
            ProjectField::NewStart,
            Some(&current.new_start),
            Some(&next.new_start),
        ),
        FieldChange::between(ProjectField::Year, Some(&current.year), Some(&next.year)),
        FieldChange::between(
            ProjectField::ListDocument,
            current.list_document.as_ref(),
            next.list_document.as_ref(),
        ),
        FieldChange::between(
            ProjectField::ResponsibleLeader,
            current.responsible_leader.as_ref(),
            next.responsible_leader.as_ref(),
        ),
    ]
    .into_iter()
    .flatten()
    .collect();
    if changes.is_empty() {
        return Err(DesignationError::Unchanged);
    }
    let kind = match (current.on_key_list, next.on_key_list) {
        (_, true) => DesignationKind::Designated,
        (true, false) => DesignationKind::TakenOff,
        (false, false) => DesignationKind::Classified,
    };
    Ok(DesignationDecision {
        designation: next,
        changes,
        kind,
        reason,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn put_on() -> DesignationRequest {
        DesignationRequest {
            on_key_list: true,
            level: Some(ProjectLevel::Municipal),
            sector: Some(ProjectSector::Water),
            new_start: Some(true),
            year: None,
            list_document: Some("安政发〔2026〕3号".into()),
            responsible_leader: Some("王局长".into()),
            reason: "2026 municipal list".into(),
        }
    }

    #[test]
    fn only_leaders_and_admins_designate() {
        for role in [Role::Officer, Role::Planner, Role::Reviewer, Role::Gis] {
            assert_eq!(
                decide_designation(role, &Designation::unlisted(2026), put_on()),
                Err(DesignationError::RoleMayNot(role))
            );
        }
        for role in [Role::Leader, Role::Admin] {
            assert!(decide_designation(role, &Designation::unlisted(2026), put_on()).is_ok());
        }
    }

    #[test]
    fn putting_on_the_list_needs_a_level_above_county_a_document_a_leader_and_a_reason() {
        let base = Designation::unlisted(2026);
        let mut r = put_on();
        r.level = None;
        assert_eq!(
            decide_designation(Role::Leader, &base, r),
            Err(DesignationError::CountyLevelOnList)
        );
        let mut r = put_on();
        r.list_document = Some("  ".into());
        assert_eq!(
            decide_designation(Role::Leader, &base, r),
            Err(DesignationError::ListDocumentMissing)
        );
        let mut r = put_on();
        r.responsible_leader = None;
        assert_eq!(
            decide_designation(Role::Leader, &base, r),
            Err(DesignationError::ResponsibleLeaderMissing)
        );
        let mut r = put_on();
        r.reason = " ".into();
        assert_eq!(
            decide_designation(Role::Leader, &base, r),
            Err(DesignationError::Reason(ReasonError::Blank))
        );
    }

    #[test]
    fn a_decision_lists_each_changed_field_and_names_its_kind() {
        let on = decide_designation(Role::Leader, &Designation::unlisted(2026), put_on()).unwrap();
        let fields: Vec<_> = on.changes.iter().map(|c| c.field).collect();
        assert_eq!(
            fields,
            [
                ProjectField::OnKeyList,
                ProjectField::Level,
                ProjectField::Sector,
                ProjectField::NewStart,
                ProjectField::ListDocument,
                ProjectField::ResponsibleLeader
            ]
        );
        assert_eq!(on.changes[1].from.as_deref(), Some("county"));
        assert_eq!(on.changes[1].to.as_deref(), Some("municipal"));

        let off = DesignationRequest {
            on_key_list: false,
            level: None,
            sector: None,
            new_start: None,
            year: None,
            list_document: Some("安政发〔2026〕9号".into()),
            responsible_leader: None,
            reason: "dropped from the list".into(),
        };
        let taken = decide_designation(Role::Admin, &on.designation, off.clone()).unwrap();
        assert_eq!(taken.kind, DesignationKind::TakenOff);
        assert_eq!(
            taken.designation.level,
            ProjectLevel::Municipal,
            "the level stays"
        );
        assert_eq!(
            decide_designation(Role::Admin, &taken.designation, off),
            Err(DesignationError::Unchanged)
        );
    }

    #[test]
    fn officers_may_not_set_designation_fields_and_leaders_set_them_only_by_designation() {
        assert!(check_fields(Role::Officer, &[ProjectField::Name, ProjectField::Proposal]).is_ok());
        for field in [
            ProjectField::Level,
            ProjectField::Sector,
            ProjectField::OnKeyList,
            ProjectField::NewStart,
            ProjectField::Year,
            ProjectField::ListDocument,
            ProjectField::ResponsibleLeader,
        ] {
            assert_eq!(
                check_fields(Role::Officer, &[ProjectField::Name, field]),
                Err(FieldRefusal::RoleMayNot {
                    role: Role::Officer,
                    field
                })
            );
            assert_eq!(
                check_fields(Role::Leader, &[field]),
                Err(FieldRefusal::DesignationOnly { field })
            );
        }
    }
}
