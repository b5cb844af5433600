//! The reporting period of 1-ОЛ: a calendar month, reported cumulatively from 1 January of its
//! year, due on the 10th of the next month or, when that is a non-working day, on the first
//! working day after it (seed 004 p.32: «Если окончание срока приходится на нерабочий ... день,
//! то последним днем срока считается первый, следующий за ним, рабочий день»).

use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::ReportError;
use crate::calendar::{Day, WorkCalendar};

/// The day of the next month a report is due on (before the working-day shift).
pub const REPORT_DUE_DAY_OF_MONTH: u32 = 10;
/// The earliest and latest years a period may name (the due day must be a writable date).
const PERIOD_YEAR_MIN: i32 = 1;
const PERIOD_YEAR_MAX: i32 = 9_998;

/// A reporting month, `YYYY-MM` when written.
/// (API schemas name it [`PeriodWire`].)
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "PeriodWire", into = "PeriodWire")]
pub struct Period {
    year: i32,
    month: u32,
}

/// A period on the wire: `{"year": 2026, "month": 3}`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PeriodWire {
    pub year: i32,
    pub month: u32,
}

impl TryFrom<PeriodWire> for Period {
    type Error = ReportError;
    fn try_from(w: PeriodWire) -> Result<Self, Self::Error> {
        Period::new(w.year, w.month)
    }
}

impl From<Period> for PeriodWire {
    fn from(p: Period) -> Self {
        PeriodWire {
            year: p.year,
            month: p.month,
        }
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl Period {
    /// Month `month` (1–12) of `year`; anything else is [`ReportError::BadPeriod`].
    pub fn new(year: i32, month: u32) -> Result<Period, ReportError> {
        if !(1..=12).contains(&month) || !(PERIOD_YEAR_MIN..=PERIOD_YEAR_MAX).contains(&year) {
            return Err(ReportError::BadPeriod { year, month });
        }
        Ok(Period { year, month })
    }

    /// The month `day` falls in.
    pub fn of_day(day: Day) -> Period {
        Period {
            year: day.year(),
            month: day.month(),
        }
    }

    pub fn year(self) -> i32 {
        self.year
    }

    pub fn month(self) -> u32 {
        self.month
    }

    /// 1 January of the period's year: where the cumulative count starts.
    pub fn year_start(self) -> Day {
        Self::day(self.year, 1, 1)
    }

    /// The first day of the month.
    pub fn month_start(self) -> Day {
        Self::day(self.year, self.month, 1)
    }

    /// The last day of the month.
    pub fn last_day(self) -> Day {
        self.next().month_start().plus_days(-1)
    }

    /// The following month.
    pub fn next(self) -> Period {
        if self.month == 12 {
            Period {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Period {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    /// The month before.
    pub fn previous(self) -> Period {
        if self.month == 1 {
            Period {
                year: self.year - 1,
                month: 12,
            }
        } else {
            Period {
                year: self.year,
                month: self.month - 1,
            }
        }
    }

    /// A report may be formed for a month that is over: a month that has not begun is
    /// [`ReportError::Future`], the current one [`ReportError::NotClosed`].
    pub fn check_closed(self, today: Day) -> Result<(), ReportError> {
        if self.month_start() > today {
            return Err(ReportError::Future {
                year: self.year,
                month: self.month,
                today,
            });
        }
        if self.last_day() >= today {
            return Err(ReportError::NotClosed {
                year: self.year,
                month: self.month,
                last_day: self.last_day(),
            });
        }
        Ok(())
    }

    /// A date the constructor's range guarantees exists (years 1–9999).
    fn day(year: i32, month: u32, day: u32) -> Day {
        Day::from_ymd(year, month, day).unwrap_or(Day::MAX)
    }
}

/// The day the report for `period` is due: the 10th of the next month, or the first working day
/// after it when the 10th is a weekend day, a holiday or a day off moved by decree. A year the
/// calendar does not hold is an error, never a guess.
pub fn due_day(period: Period, calendar: &WorkCalendar) -> Result<Day, ReportError> {
    let next = period.next();
    let tenth = Period::day(next.year, next.month, REPORT_DUE_DAY_OF_MONTH);
    Ok(calendar.next_working_day(tenth)?)
}

/// The latest period whose report is due on or before `today` (the one a scheduler forms on
/// `today` when `today` is its due day).
pub fn latest_due_period(today: Day, calendar: &WorkCalendar) -> Result<Period, ReportError> {
    let mut period = Period::of_day(today).previous();
    // The due day lies in the month after the period, at most a few weeks after the 10th.
    while due_day(period, calendar)? > today {
        period = period.previous();
    }
    Ok(period)
}
