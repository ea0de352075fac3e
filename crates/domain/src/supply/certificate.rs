//! 交地即交证 (plan item 16, `DOMAIN.md` "Land supply: from approval to use"): for provincial and
//! municipal key projects, the real-estate certificate is issued the same day the land is handed
//! over. The lag is the certificate's date less the handover's, in calendar days; the goal is 0.
//!
//! A handover without a certificate by `as_of` is *pending*: its lag is not known yet but is
//! already at least the days since the handover, so once a day has passed it can no longer be 0
//! and it is listed with the late ones. A certificate dated before its handover gives a negative
//! lag, listed too: it is not "the same day" either. A certificate or handover dated after
//! `as_of` is not known yet.
//!
//! Example: handed over 2026-03-02 with the certificate the same day: lag 0. Handed over
//! 2026-03-02, certificate 2026-03-09: lag 7, listed. Handed over 2026-03-02, no certificate on
//! 2026-03-05: pending for 3 days, listed.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::percent_of;
use crate::county::CountyCode;
use crate::ledger::Amount;
use crate::project::ProjectLevel;

/// One supply's handover and certificate, with its project as the rule needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandoverRecord {
    /// The supply record.
    pub supply: Uuid,
    /// Its project.
    pub project: Uuid,
    /// The project's name.
    pub project_name: String,
    /// The project's county.
    pub county: CountyCode,
    /// The level of the key-project list the project is on.
    pub level: ProjectLevel,
    /// Whether the project is on a key-project list.
    pub on_key_list: bool,
    /// The handover date, once recorded.
    pub handed_over_on: Option<NaiveDate>,
    /// The certificate's date, once issued.
    pub certificate_issued_on: Option<NaiveDate>,
}

/// Whether the rule covers `record`: a project on the provincial or municipal key-project list.
pub fn covered(record: &HandoverRecord) -> bool {
    record.on_key_list && matches!(record.level, ProjectLevel::Provincial | ProjectLevel::Municipal)
}

/// One handover of a key project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LagLine {
    /// The supply record.
    pub supply: Uuid,
    /// Its project.
    pub project: Uuid,
    /// The project's name.
    pub project_name: String,
    /// The project's county.
    pub county: CountyCode,
    /// The project's level.
    pub level: ProjectLevel,
    /// The handover date.
    pub handed_over_on: NaiveDate,
    /// The certificate's date, when issued by the report's date.
    pub certificate_issued_on: Option<NaiveDate>,
    /// Certificate date less handover date, in days; `None` while pending.
    pub lag_days: Option<i64>,
    /// Days since the handover without a certificate; `None` once issued.
    pub pending_days: Option<i64>,
}

impl LagLine {
    /// Whether the certificate came the same day as the handover.
    pub fn same_day(&self) -> bool {
        self.lag_days == Some(0)
    }

    /// Whether the line is listed as not the same day: a lag other than 0, or pending for at
    /// least a day.
    pub fn listed(&self) -> bool {
        match (self.lag_days, self.pending_days) {
            (Some(lag), _) => lag != 0,
            (None, Some(pending)) => pending > 0,
            (None, None) => false,
        }
    }
}

/// A county's handovers of key projects, or the city's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LagCountyLine {
    /// The county; `None` for the city.
    pub county: Option<CountyCode>,
    /// Handovers by the report's date.
    pub handovers: u32,
    /// Of those, with the certificate the same day.
    pub same_day: u32,
    /// `same_day / handovers` in percent, one decimal; `None` without handovers.
    pub same_day_percent: Option<f64>,
    /// The longest lag among issued certificates, in days.
    pub max_lag_days: Option<i64>,
}

/// The 交地即交证 report at a date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HandoverCertificateReport {
    /// The day the report describes.
    pub as_of: NaiveDate,
    /// Every key-project handover by then, by county, handover date and project name.
    pub handovers: Vec<LagLine>,
    /// Those whose lag is not 0 (or that are pending for a day or more), the longest first.
    pub not_same_day: Vec<LagLine>,
    /// One line per county with handovers, by county code.
    pub counties: Vec<LagCountyLine>,
    /// The city.
    pub total: LagCountyLine,
}

/// The line of one record at `as_of`, or `None` when the rule does not cover it or it was not
/// handed over by then.
pub fn lag(record: &HandoverRecord, as_of: NaiveDate) -> Option<LagLine> {
    if !covered(record) {
        return None;
    }
    let handed_over_on = record.handed_over_on.filter(|d| *d <= as_of)?;
    let certificate_issued_on = record.certificate_issued_on.filter(|d| *d <= as_of);
    let lag_days = certificate_issued_on.map(|issued| (issued - handed_over_on).num_days());
    let pending_days = lag_days.is_none().then(|| (as_of - handed_over_on).num_days());
    Some(LagLine {
        supply: record.supply,
        project: record.project,
        project_name: record.project_name.clone(),
        county: record.county,
        level: record.level,
        handed_over_on,
        certificate_issued_on,
        lag_days,
        pending_days,
    })
}

fn county_line(county: Option<CountyCode>, lines: &[&LagLine]) -> LagCountyLine {
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    let handovers = count(lines.len());
    let same_day = count(lines.iter().filter(|l| l.same_day()).count());
    LagCountyLine {
        county,
        handovers,
        same_day,
        // Counts as hundredths of themselves, so the one exact percentage helper serves.
        same_day_percent: percent_of(
            Amount::from_hundredths(i64::from(same_day)),
            Amount::from_hundredths(i64::from(handovers)),
        ),
        max_lag_days: lines.iter().filter_map(|l| l.lag_days).max(),
    }
}

/// The 交地即交证 report at `as_of`: every key-project handover by then with its lag, those not
/// on the same day, and per county and city the share issued the same day.
pub fn handover_certificate(records: &[HandoverRecord], as_of: NaiveDate) -> HandoverCertificateReport {
    let mut handovers: Vec<LagLine> = records.iter().filter_map(|r| lag(r, as_of)).collect();
    handovers.sort_by(|a, b| {
        (a.county, a.handed_over_on, &a.project_name, a.supply).cmp(&(
            b.county,
            b.handed_over_on,
            &b.project_name,
            b.supply,
        ))
    });
    let mut not_same_day: Vec<LagLine> = handovers.iter().filter(|l| l.listed()).cloned().collect();
    not_same_day.sort_by_key(|l| {
        (
            std::cmp::Reverse(l.lag_days.or(l.pending_days).map(i64::abs)),
            l.county,
            l.supply,
        )
    });
    let mut by_county: BTreeMap<CountyCode, Vec<&LagLine>> = BTreeMap::new();
    for line in &handovers {
        by_county.entry(line.county).or_default().push(line);
    }
    let all: Vec<&LagLine> = handovers.iter().collect();
    HandoverCertificateReport {
        as_of,
        counties: by_county
            .iter()
            .map(|(county, lines)| county_line(Some(*county), lines))
            .collect(),
        total: county_line(None, &all),
        not_same_day,
        handovers,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::float_cmp)]
mod tests {
    use super::*;
    use crate::supply::tests::day;

    fn record(n: u128, county: &str, handed: Option<NaiveDate>, issued: Option<NaiveDate>) -> HandoverRecord {
        HandoverRecord {
            supply: Uuid::from_u128(n),
            project: Uuid::from_u128(100 + n),
            project_name: format!("project {n:02}"),
            county: CountyCode::parse(county).unwrap(),
            level: ProjectLevel::Municipal,
            on_key_list: true,
            handed_over_on: handed,
            certificate_issued_on: issued,
        }
    }

    #[test]
    fn the_lag_is_the_certificate_date_less_the_handover_date() {
        let h = day(2026, 3, 2);
        let as_of = day(2026, 3, 5);
        assert_eq!(
            lag(&record(1, "610902", Some(h), Some(h)), as_of)
                .unwrap()
                .lag_days,
            Some(0)
        );
        let week = lag(
            &record(2, "610902", Some(h), Some(day(2026, 3, 9))),
            day(2026, 3, 31),
        )
        .unwrap();
        assert_eq!(week.lag_days, Some(7));
        let pending = lag(&record(3, "610902", Some(h), None), as_of).unwrap();
        assert_eq!((pending.lag_days, pending.pending_days), (None, Some(3)));
        let early = lag(&record(4, "610902", Some(h), Some(day(2026, 3, 1))), as_of).unwrap();
        assert_eq!(early.lag_days, Some(-1));
        assert!(early.listed());
    }

    #[test]
    fn the_report_lists_the_projects_whose_lag_is_not_zero_longest_first() {
        let h = day(2026, 3, 2);
        let records = [
            record(1, "610902", Some(h), Some(h)),
            record(2, "610902", Some(h), Some(day(2026, 3, 9))),
            record(3, "610921", Some(h), None),
            record(4, "610921", Some(day(2026, 3, 31)), None),
            record(5, "610921", None, None),
            record(6, "610921", Some(day(2026, 4, 2)), Some(day(2026, 4, 2))),
        ];
        let report = handover_certificate(&records, day(2026, 3, 31));
        assert_eq!(
            report.handovers.len(),
            4,
            "not handed over, or after as_of, is left out"
        );
        let listed: Vec<_> = report
            .not_same_day
            .iter()
            .map(|l| (l.project_name.as_str(), l.lag_days, l.pending_days))
            .collect();
        assert_eq!(
            listed,
            [("project 03", None, Some(29)), ("project 02", Some(7), None)],
            "a handover today without a certificate is not late yet"
        );
        let hanbin = &report.counties[0];
        assert_eq!((hanbin.handovers, hanbin.same_day), (2, 1));
        assert_eq!(hanbin.same_day_percent, Some(50.0));
        assert_eq!(hanbin.max_lag_days, Some(7));
        assert_eq!((report.total.handovers, report.total.same_day), (4, 1));
        assert_eq!(report.total.same_day_percent, Some(25.0));
    }

    #[test]
    fn only_provincial_and_municipal_key_projects_are_covered() {
        let h = day(2026, 3, 2);
        let mut county_level = record(1, "610902", Some(h), None);
        county_level.level = ProjectLevel::County;
        let mut off_list = record(2, "610902", Some(h), None);
        off_list.on_key_list = false;
        let mut provincial = record(3, "610902", Some(h), None);
        provincial.level = ProjectLevel::Provincial;
        let report = handover_certificate(&[county_level, off_list, provincial], day(2026, 3, 3));
        assert_eq!(report.handovers.len(), 1);
        assert_eq!(report.handovers[0].level, ProjectLevel::Provincial);
    }
}
