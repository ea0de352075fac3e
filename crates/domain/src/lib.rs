//! The bureau's rules as pure functions.
//!
//! This crate turns `DOMAIN.md` (the land-use approval rules of a municipal
//! natural-resources bureau) into types and functions with no I/O, no async and
//! no clock. Every function that needs "now" takes it as an argument, and every
//! number the rules give (time limits, the 21-day clearing, sliver thresholds,
//! the working-day calendar) is data handed in by the caller, with the rules'
//! defaults available through `Default` or the files in `seeds/`.
//!
//! | module | what it decides |
//! |---|---|
//! | [`role`] | who is acting ([`role::Role`], [`role::Actor`]) |
//! | [`county`] | county administrative codes |
//! | [`stage`] | the stages of a case and the state a case is in |
//! | [`transition`] | which action may move a case, by whom, on what conditions |
//! | [`calendar`] | China's official working days, and the bureau's local date |
//! | [`notice`] | one year of the State Council's holiday notice, checked before it is loaded |
//! | [`recompute`] | what a newly loaded year changes in stored deadlines and raised alerts |
//! | [`clock`] | a stage's clock, stopped while the case is in correction |
//! | [`limits`] | time limits per stage, deadlines and remaining working days |
//! | [`clearing`] | the three-week clearing of ledger items and its alerts |
//! | [`alerts`] | stage-deadline alerts, the kinds of alert, and who is told |
//! | [`dispatch`] | the weekly dispatch: when it is taken, its table per county and stage |
//! | [`green`] | the green channel, queue order and advance use |
//! | [`check`] | spatial-check verdicts from overlap figures |
//! | [`approval`] | the approval records a check's results call for, before which transition |
//! | [`overlay`] | mineral overlay queries: due date, status, validity, the answer they need |
//! | [`project`] | project attributes the rules depend on |
//! | [`phase`] | phased and segmented cases of one project: who may join, and what overlap counts |
//! | [`designation`] | who decides a project's key-list status, level and sector, and how |
//! | [`reason`] | the non-empty reason some decisions require |
//! | [`units`] | areas in m², mu and hectares |
//! | [`start_rate`] | key-project start rates per quarter and county |
//! | [`supply`] | after approval: supply records, 批而未供 and 供地率, idle land, standard land, 交地即交证 |
//! | [`ledger`] | the quota and farmland-offset ledgers: needs, positions, lock plans, who acts when |

pub mod alerts;
pub mod approval;
pub mod calendar;
pub mod check;
pub mod clearing;
pub mod clock;
pub mod code;
pub mod county;
pub mod designation;
pub mod dispatch;
pub mod green;
pub mod ledger;
pub mod limits;
pub mod notice;
pub mod overlay;
pub mod phase;
pub mod project;
pub mod reason;
pub mod recompute;
pub mod role;
pub mod stage;
pub mod start_rate;
pub mod supply;
pub mod transition;
pub mod units;
