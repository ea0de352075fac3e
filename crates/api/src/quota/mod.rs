//! The element guarantees (要素保障) of the plan: no key project waits for quota, no cultivated
//! land is taken without an equal offset, and the leading group sees each quarter's start rate.
//!
//! | module | what it holds |
//! |---|---|
//! | [`amount`] | exact two-decimal amounts (mu, m², kg) |
//! | [`store`] | the construction-quota ledger: yearly amounts, requests, allocation (key projects first), release, transfers, the waiting list |
//! | [`plan`] | which offset indicators a lock takes from (pure) |
//! | [`offsets`] | the farmland-offset ledger: indicators, lock, release, consume, transfers |
//! | [`starts`] | key-project starts and what the start-rate report reads |
//! | [`guarantees`] | what the case workflow asks of the ledgers: the stage facts, and release on rejection or withdrawal |
//! | [`cli`] | `landuse quota import` |

pub mod amount;
pub mod cli;
pub mod guarantees;
pub mod offsets;
pub mod plan;
pub mod starts;
pub mod store;
