//! The rise/fall state machine of one monitored member, as HAProxy and Octavia define it: a
//! member starts up; `fall` consecutive failed probes take it down, `rise` consecutive good
//! ones bring it back. Time is an argument (milliseconds on any monotonic clock), so tests
//! run over simulated time; the machine also says when the next probe is due.

/// A member's health as the data plane sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Health {
    Up,
    Down,
}

/// Rise/fall counting and the probe schedule of one member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RiseFall {
    rise: u32,
    fall: u32,
    period_ms: u64,
    state: Health,
    streak: u32,
    next_due_ms: u64,
}

impl RiseFall {
    /// A member first probed at `first_due_ms` (callers spread members with jitter), then
    /// every `period_ms`.
    #[must_use]
    pub fn new(rise: u32, fall: u32, period_ms: u64, first_due_ms: u64) -> Self {
        Self {
            rise: rise.max(1),
            fall: fall.max(1),
            period_ms: period_ms.max(1),
            state: Health::Up,
            streak: 0,
            next_due_ms: first_due_ms,
        }
    }

    #[must_use]
    pub fn state(&self) -> Health {
        self.state
    }

    /// When the next probe is due.
    #[must_use]
    pub fn next_due_ms(&self) -> u64 {
        self.next_due_ms
    }

    /// Whether a probe is due at `now_ms`.
    #[must_use]
    pub fn due(&self, now_ms: u64) -> bool {
        now_ms >= self.next_due_ms
    }

    /// A probe started at `now_ms`: the next one is due one period after the previous due time
    /// (no drift), or one period from now when the scheduler fell more than a period behind.
    pub fn started(&mut self, now_ms: u64) {
        let next = self.next_due_ms.saturating_add(self.period_ms);
        self.next_due_ms = if next > now_ms {
            next
        } else {
            now_ms.saturating_add(self.period_ms)
        };
    }

    /// Records a probe result; returns the new state when it changed.
    pub fn observe(&mut self, ok: bool) -> Option<Health> {
        match (self.state, ok) {
            (Health::Up, true) | (Health::Down, false) => {
                self.streak = 0;
                None
            }
            (Health::Up, false) => self.count(self.fall, Health::Down),
            (Health::Down, true) => self.count(self.rise, Health::Up),
        }
    }

    fn count(&mut self, needed: u32, to: Health) -> Option<Health> {
        self.streak += 1;
        if self.streak >= needed {
            self.state = to;
            self.streak = 0;
            Some(to)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fall_failures_take_a_member_down_and_rise_successes_bring_it_back() {
        let mut m = RiseFall::new(2, 3, 1000, 0);
        assert_eq!(m.state(), Health::Up);
        assert_eq!(m.observe(false), None);
        assert_eq!(m.observe(false), None);
        // A success in between restarts the count.
        assert_eq!(m.observe(true), None);
        assert_eq!(m.observe(false), None);
        assert_eq!(m.observe(false), None);
        assert_eq!(m.observe(false), Some(Health::Down));
        assert_eq!(m.observe(false), None);
        assert_eq!(m.observe(true), None);
        assert_eq!(m.observe(false), None, "a failure restarts the rise count");
        assert_eq!(m.observe(true), None);
        assert_eq!(m.observe(true), Some(Health::Up));
        assert_eq!(m.state(), Health::Up);
    }

    #[test]
    fn the_schedule_does_not_drift_and_skips_what_it_missed() {
        let mut m = RiseFall::new(1, 1, 1000, 250);
        assert!(!m.due(249));
        assert!(m.due(250));
        // Started late (at 400): the next is still due at 1250, not 1400.
        m.started(400);
        assert_eq!(m.next_due_ms(), 1250);
        for k in 1..100u64 {
            m.started(1250 + (k - 1) * 1000 + 37);
        }
        assert_eq!(
            m.next_due_ms(),
            1250 + 99 * 1000,
            "a 37 ms lag never accumulates"
        );
        // Three periods behind: one probe now, the next a period later.
        m.started(m.next_due_ms() + 3500);
        assert_eq!(m.next_due_ms(), 1250 + 99 * 1000 + 3500 + 1000);
    }

    #[test]
    fn octavias_walkthrough_timing_over_simulated_time() {
        // delay 1 s, max_retries 2 (rise), max_retries_down 3 (fall): a member that stops
        // answering at t = 10 s is down after the third failed probe.
        let mut m = RiseFall::new(2, 3, 1000, 0);
        let mut down_at = None;
        let mut now = 0;
        while now < 20_000 && down_at.is_none() {
            if m.due(now) {
                m.started(now);
                if m.observe(now < 10_000) == Some(Health::Down) {
                    down_at = Some(now);
                }
            }
            now += 10;
        }
        assert_eq!(down_at, Some(12_000));
    }
}
