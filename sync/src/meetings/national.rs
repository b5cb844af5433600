//! HQ's national table of report meetings (R22): for each region, how many of its beats had a
//! meeting this quarter, from the beats register its node publishes
//! ([`super::reference::BeatsRegister`]) and the meetings the hub holds. The same
//! [`super::coverage`] the inspector's console uses decides each beat's state, so HQ and the
//! region never count differently.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::dates::{coverage, Coverage, MeetingFact, Quarter};
use super::reference::{BeatsRegister, RegisteredBeat};
use crate::calendar::Day;

/// One meeting of a beat as the hub's index keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HubMeeting {
    pub id: String,
    pub date: Day,
    pub stage: super::MeetingStage,
    /// The protocol has a signed version and no correction is open.
    pub signed: bool,
    /// Complaints, proposals and remarks still followed up (R25).
    pub open_items: u32,
}

impl HubMeeting {
    pub fn of(m: &super::Meeting) -> HubMeeting {
        HubMeeting {
            id: m.id.clone(),
            date: m.plan.date,
            stage: m.stage,
            signed: m.signed(),
            open_items: m.open_items().count() as u32,
        }
    }
}

/// How many of a region's beats stand where this quarter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct CoverageCounts {
    pub beats: u32,
    /// A meeting took place.
    pub held: u32,
    /// The notice is out, the meeting to come.
    pub noticed: u32,
    /// Planned, the notice can still go out in time.
    pub planned: u32,
    /// Nothing planned yet, and there is time.
    pub open: u32,
    /// Nothing planned in time, the last notice day near: the inspector is warned.
    pub at_risk: u32,
    /// The quarter can no longer have a lawful meeting.
    pub missed: u32,
    /// Held meetings whose protocol is not signed (R24).
    pub unsigned_protocols: u32,
    /// Follow-up items still open (R25).
    pub open_items: u32,
}

impl CoverageCounts {
    fn add(&mut self, c: Coverage) {
        self.beats += 1;
        let slot = match c {
            Coverage::Held { .. } => &mut self.held,
            Coverage::Noticed { .. } => &mut self.noticed,
            Coverage::Planned { .. } => &mut self.planned,
            Coverage::Open { .. } => &mut self.open,
            Coverage::AtRisk { .. } => &mut self.at_risk,
            Coverage::Missed => &mut self.missed,
        };
        *slot += 1;
    }

    /// Adds another region's counts (the national total).
    pub fn sum(&mut self, o: &CoverageCounts) {
        self.beats += o.beats;
        self.held += o.held;
        self.noticed += o.noticed;
        self.planned += o.planned;
        self.open += o.open;
        self.at_risk += o.at_risk;
        self.missed += o.missed;
        self.unsigned_protocols += o.unsigned_protocols;
        self.open_items += o.open_items;
    }
}

/// One beat's quarter at the hub.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct HubBeat {
    #[serde(flatten)]
    pub beat: RegisteredBeat,
    /// `state`: held, noticed, planned, open, at_risk or missed, with its days.
    #[schema(value_type = Object)]
    pub coverage: Coverage,
    /// R22: the inspector and the office's head are warned.
    pub warning: bool,
    /// The beat's meetings in the quarter, by date.
    pub meetings: Vec<HubMeeting>,
}

/// A region's quarter: its counts and each beat.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct RegionQuarter {
    pub region: String,
    /// The region's beats reference is demo data.
    pub sample: bool,
    pub counts: CoverageCounts,
    pub beats: Vec<HubBeat>,
}

/// R22 at the hub: each beat of `register` on `today`, from its meetings (`meetings_of` gives a
/// beat's meetings; any quarter, only `quarter`'s count).
pub fn region_quarter(
    register: &BeatsRegister,
    quarter: Quarter,
    today: Day,
    mut meetings_of: impl FnMut(&str) -> Vec<HubMeeting>,
) -> RegionQuarter {
    let mut counts = CoverageCounts::default();
    let mut beats = Vec::with_capacity(register.beats.len());
    for b in &register.beats {
        let mut meetings: Vec<HubMeeting> = meetings_of(&b.code)
            .into_iter()
            .filter(|m| quarter.contains(m.date))
            .collect();
        meetings.sort_by(|a, b| (a.date, &a.id).cmp(&(b.date, &b.id)));
        let facts: Vec<MeetingFact> = meetings
            .iter()
            .map(|m| MeetingFact {
                on: m.date,
                stage: m.stage,
            })
            .collect();
        let c = coverage(quarter, &facts, today);
        counts.add(c);
        for m in &meetings {
            if m.stage == super::MeetingStage::Held && !m.signed {
                counts.unsigned_protocols += 1;
            }
            counts.open_items += m.open_items;
        }
        beats.push(HubBeat {
            beat: b.clone(),
            coverage: c,
            warning: c.warns(),
            meetings,
        });
    }
    RegionQuarter {
        region: register.region.clone(),
        sample: register.sample,
        counts,
        beats,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meetings::{BeatsReference, MeetingStage};

    fn d(s: &str) -> Day {
        Day::parse(s).unwrap()
    }

    fn meeting(id: &str, date: &str, stage: MeetingStage) -> HubMeeting {
        HubMeeting {
            id: id.into(),
            date: d(date),
            stage,
            signed: false,
            open_items: 0,
        }
    }

    #[test]
    fn r22_the_national_table_counts_each_beat_of_the_register_by_its_quarter_coverage() {
        let register = BeatsReference::demo().register("AST");
        assert!(register.sample);
        assert!(register.beats.len() >= 3, "the demo has several beats");
        register.validate("AST").unwrap();
        let (first, second) = (
            register.beats[0].code.clone(),
            register.beats[1].code.clone(),
        );
        let q = Quarter::new(2026, 4).unwrap();
        let today = d("2026-12-06");
        let table = region_quarter(&register, q, today, |beat| {
            if beat == first {
                vec![
                    meeting("m1", "2026-11-20", MeetingStage::Held),
                    // Last quarter's meeting counts for nothing now.
                    meeting("m0", "2026-09-20", MeetingStage::Held),
                ]
            } else if beat == second {
                vec![meeting("m2", "2026-12-20", MeetingStage::Noticed)]
            } else {
                Vec::new()
            }
        });
        let n = register.beats.len() as u32;
        assert_eq!(table.counts.beats, n);
        assert_eq!(table.counts.held, 1);
        assert_eq!(table.counts.noticed, 1);
        assert_eq!(table.counts.unsigned_protocols, 1);
        // On 6 December the last notice day (21 December) is 15 days away: not yet warned;
        // a week later the others are at risk.
        assert_eq!(table.counts.open, n - 2);
        assert_eq!(
            table.beats[0].meetings.len(),
            1,
            "only the quarter's meetings"
        );
        let later = region_quarter(&register, q, d("2026-12-10"), |_| Vec::new());
        assert_eq!(later.counts.at_risk, n);
        assert!(later.beats.iter().all(|b| b.warning));
        let over = region_quarter(&register, q, d("2027-01-05"), |_| Vec::new());
        assert_eq!(over.counts.missed, n);
    }

    #[test]
    fn r22_a_register_of_another_region_or_with_a_repeated_beat_is_refused_at_the_hub() {
        let mut register = BeatsReference::demo().register("AST");
        assert!(register.validate("ALA").is_err());
        let first = register.beats[0].clone();
        register.beats.push(first);
        assert!(register.validate("AST").unwrap_err().contains("twice"));
    }
}
