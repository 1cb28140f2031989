//! Quota windows (SPEC 1.5): where the current 5-hour / daily / weekly / monthly window starts and ends.
//!
//! This is the one place that computes windows. The admission check, the atomic increment (through
//! [`WindowClock::rollover`]), the quota views and `resets_at` all call it, so they cannot disagree.

use std::fmt;
use std::str::FromStr;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan};
use serde::{Deserialize, Serialize};

use crate::platform::UnknownName;

/// A quota window kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QuotaWindow {
    /// A rolling 5 hours from the first charge after the previous one expired (the window coding
    /// plans use); in every time zone the same.
    #[serde(rename = "five_hour")]
    FiveHour,
    Daily,
    Weekly,
    Monthly,
}

impl QuotaWindow {
    /// In the order admission checks them (and views list them): the shortest first.
    pub const ALL: [QuotaWindow; 4] =
        [QuotaWindow::FiveHour, QuotaWindow::Daily, QuotaWindow::Weekly, QuotaWindow::Monthly];

    pub const fn as_str(self) -> &'static str {
        match self {
            QuotaWindow::FiveHour => "five_hour",
            QuotaWindow::Daily => "daily",
            QuotaWindow::Weekly => "weekly",
            QuotaWindow::Monthly => "monthly",
        }
    }

    pub const fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for QuotaWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for QuotaWindow {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|w| w.as_str() == s).ok_or_else(|| UnknownName {
            kind: "window",
            name: s.to_owned(),
            expected: "five_hour, daily, weekly, monthly".to_owned(),
        })
    }
}

/// How the monthly window is laid out (setting `monthly_window`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MonthlyMode {
    /// The calendar month, from the 1st 00:00 local.
    #[default]
    Calendar,
    /// 30×24 h starting at the first charge after the previous window expired (the reference rule).
    #[serde(rename = "rolling_30d")]
    Rolling30d,
}

impl MonthlyMode {
    pub const fn as_str(self) -> &'static str {
        match self {
            MonthlyMode::Calendar => "calendar",
            MonthlyMode::Rolling30d => "rolling_30d",
        }
    }
}

impl FromStr for MonthlyMode {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "calendar" => Ok(MonthlyMode::Calendar),
            "rolling_30d" => Ok(MonthlyMode::Rolling30d),
            _ => Err(UnknownName {
                kind: "monthly window mode",
                name: s.to_owned(),
                expected: "calendar, rolling_30d".to_owned(),
            }),
        }
    }
}

/// The length of a rolling monthly window.
pub const ROLLING_WINDOW: SignedDuration = SignedDuration::from_hours(30 * 24);

/// The length of the 5-hour window.
pub const FIVE_HOURS: SignedDuration = SignedDuration::from_hours(5);

/// A window computation fell outside the supported calendar range (years -9999..=9999).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("time out of the supported range: {0}")]
pub struct WindowError(String);

impl From<jiff::Error> for WindowError {
    fn from(e: jiff::Error) -> Self {
        WindowError(e.to_string())
    }
}

/// A half-open interval `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowSpan {
    pub start: Timestamp,
    pub end: Timestamp,
}

/// What the atomic increment needs for one window: usage stored under a start at or after
/// `current_from` belongs to the current window and is added to; anything older (or no start) is
/// replaced by the new charge, under `new_start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rollover {
    pub current_from: Timestamp,
    pub new_start: Timestamp,
}

impl Rollover {
    /// Whether usage recorded under `stored_start` still counts now.
    pub fn is_current(&self, stored_start: Option<Timestamp>) -> bool {
        stored_start.is_some_and(|s| s >= self.current_from)
    }
}

/// The deployment's window rules: one quota time zone and the monthly mode.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowClock {
    pub zone: TimeZone,
    pub monthly: MonthlyMode,
}

impl WindowClock {
    pub fn new(zone: TimeZone, monthly: MonthlyMode) -> Self {
        Self { zone, monthly }
    }

    /// UTC with calendar months; for tests and as a last-resort default.
    pub fn utc() -> Self {
        Self::new(TimeZone::UTC, MonthlyMode::Calendar)
    }

    /// The length of `window` when it is rolling (it starts at the first charge after the previous
    /// one expired), `None` for a calendar window.
    pub fn rolling_length(&self, window: QuotaWindow) -> Option<SignedDuration> {
        match window {
            QuotaWindow::FiveHour => Some(FIVE_HOURS),
            QuotaWindow::Monthly if self.monthly == MonthlyMode::Rolling30d => Some(ROLLING_WINDOW),
            _ => None,
        }
    }

    /// How a charge at `now` treats each stored window (see [`Rollover`]).
    ///
    /// Calendar windows: the current window starts at `current_from`; a stored start at or after it
    /// (equal, or slightly ahead when another gateway's clock already crossed midnight) is current.
    /// Rolling windows (5 hours; 30 days in `rolling_30d` mode), in whole seconds: a stored start
    /// less than the window's length before `now`'s second is current; otherwise a new window
    /// starts at that second.
    pub fn rollover(&self, window: QuotaWindow, now: Timestamp) -> Result<Rollover, WindowError> {
        if let Some(length) = self.rolling_length(window) {
            // Rolling windows are counted in whole seconds: a start less than one window length
            // before `now` (taken down to its second) is current, and a new window starts on that
            // second. Why not milliseconds: the settlement worker writes a batch under one rule per
            // window, so a rule that changed every millisecond would cut each batch into runs of a
            // few records (measured: PostgreSQL throughput fell from 0.68 to 0.30 of a bare proxy).
            // A start stored at the millisecond by an earlier version still ends within its second.
            let now = Timestamp::from_second(now.as_millisecond().div_euclid(1000))?;
            let current_from = now.checked_sub(length)?.checked_add(SignedDuration::from_millis(1))?;
            return Ok(Rollover { current_from, new_start: now });
        }
        let start = self.calendar_start(window, now)?;
        Ok(Rollover { current_from: start, new_start: start })
    }

    /// [`Self::rollover`] for every window, indexed by [`QuotaWindow::index`].
    pub fn rollovers(&self, now: Timestamp) -> Result<[Rollover; 4], WindowError> {
        Ok([
            self.rollover(QuotaWindow::FiveHour, now)?,
            self.rollover(QuotaWindow::Daily, now)?,
            self.rollover(QuotaWindow::Weekly, now)?,
            self.rollover(QuotaWindow::Monthly, now)?,
        ])
    }

    /// The window that a charge at `now` is counted in, given the row's stored start.
    pub fn current(
        &self,
        window: QuotaWindow,
        stored_start: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<WindowSpan, WindowError> {
        if let Some(length) = self.rolling_length(window) {
            let rollover = self.rollover(window, now)?;
            let start = match stored_start {
                Some(s) if rollover.is_current(Some(s)) => s,
                _ => rollover.new_start,
            };
            return Ok(WindowSpan { start, end: start.checked_add(length)? });
        }
        let start = self.calendar_start(window, now)?;
        let local = start.to_zoned(self.zone.clone()).date();
        let next = match window {
            // Rolling: returned above.
            QuotaWindow::FiveHour | QuotaWindow::Daily => local.checked_add(1.day())?,
            QuotaWindow::Weekly => local.checked_add(7.days())?,
            QuotaWindow::Monthly => local.checked_add(1.month())?,
        };
        Ok(WindowSpan { start, end: self.day_start(next)? })
    }

    /// Whole seconds from `now` until `end`, rounded up (for `Retry-After`).
    pub fn seconds_until(now: Timestamp, end: Timestamp) -> u64 {
        let d = end.duration_since(now);
        if d.is_negative() {
            return 0;
        }
        let secs = d.as_secs() as u64;
        if d.subsec_nanos() > 0 { secs + 1 } else { secs }
    }

    fn calendar_start(&self, window: QuotaWindow, now: Timestamp) -> Result<Timestamp, WindowError> {
        let today = now.to_zoned(self.zone.clone()).date();
        let first = match window {
            QuotaWindow::FiveHour | QuotaWindow::Daily => today,
            QuotaWindow::Weekly => {
                let back = i64::from(today.weekday().to_monday_zero_offset());
                today.checked_sub(back.days())?
            }
            QuotaWindow::Monthly => today.first_of_month(),
        };
        self.day_start(first)
    }

    /// The first instant of a local date. Where midnight falls in a DST gap, the day starts at the
    /// first instant that exists (e.g. 01:00).
    fn day_start(&self, date: Date) -> Result<Timestamp, WindowError> {
        Ok(date.to_zoned(self.zone.clone())?.start_of_day()?.timestamp())
    }
}

#[cfg(test)]
#[path = "window_tests.rs"]
mod tests;
