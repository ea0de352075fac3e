//! The one place the service reads the time from. Production uses the system clock; tests
//! hold a manual clock they move forward over weeks and holidays without sleeping.

use std::sync::{
    atomic::{AtomicI64, Ordering},
    Arc,
};

use chrono::{DateTime, TimeDelta, Utc};

/// A clock: the system's, shifted by an offset that only tests change.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_ms: Arc<AtomicI64>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self::default()
    }

    /// A clock that reads `start` now and then runs on from there.
    pub fn starting_at(start: DateTime<Utc>) -> Self {
        let clock = Self::default();
        clock.set(start);
        clock
    }

    /// The current instant.
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + TimeDelta::milliseconds(self.offset_ms.load(Ordering::Relaxed))
    }

    /// Moves the clock forward (or back) by `delta`; every holder of a clone sees it.
    pub fn advance(&self, delta: TimeDelta) {
        self.offset_ms
            .fetch_add(delta.num_milliseconds(), Ordering::Relaxed);
    }

    /// Makes the clock read `instant` now.
    pub fn set(&self, instant: DateTime<Utc>) {
        let offset = instant - Utc::now();
        self.offset_ms.store(offset.num_milliseconds(), Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_moved_clock_is_seen_by_every_clone() {
        let start = DateTime::parse_from_rfc3339("2026-03-02T09:00:00+08:00").map(|d| d.to_utc());
        let Ok(start) = start else { panic!("valid instant") };
        let clock = Clock::starting_at(start);
        let other = clock.clone();
        clock.advance(TimeDelta::days(14));
        let moved = other.now() - start;
        assert!(moved >= TimeDelta::days(14) && moved < TimeDelta::days(14) + TimeDelta::seconds(5));
    }
}
