//! What the proxy does when it cannot connect to a member (HAProxy's `retries 3` with
//! `option redispatch`, as Octavia configures both): up to [`RETRIES`] more attempts; the last
//! one goes to another member when the pool has one, at once; an attempt on the same member
//! waits the turn-around time first, `min(timeout_member_connect, 1 s)`, so a member that is
//! restarting is not hammered (HAProxy's `SC_ST_TAR` state).

use std::time::Duration;

/// Connection attempts after the first one fails to connect (HAProxy's `retries 3`).
pub const RETRIES: usize = 3;
/// Longest pause before trying the same member again.
pub const TURN_AROUND: Duration = Duration::from_secs(1);

/// The next step after attempt `attempt` (0 is the first) failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// The same member again, after this pause.
    Same(Duration),
    /// This other member, at once.
    Other(usize),
    /// No attempt left.
    GiveUp,
}

/// Decides the next attempt; `other` names another usable member of the pool, if any.
#[must_use]
pub fn next(
    attempt: usize,
    connect_timeout: Duration,
    other: impl FnOnce() -> Option<usize>,
) -> Next {
    if attempt >= RETRIES {
        return Next::GiveUp;
    }
    if attempt + 1 == RETRIES
        && let Some(m) = other()
    {
        return Next::Other(m);
    }
    Next::Same(connect_timeout.min(TURN_AROUND))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONNECT: Duration = Duration::from_millis(300);

    #[test]
    fn same_member_twice_with_the_turn_around_then_another_then_give_up() {
        let steps: Vec<Next> = (0..=RETRIES)
            .map(|a| next(a, CONNECT, || Some(7)))
            .collect();
        assert_eq!(
            steps,
            [
                Next::Same(CONNECT),
                Next::Same(CONNECT),
                Next::Other(7),
                Next::GiveUp
            ]
        );
    }

    #[test]
    fn a_pool_of_one_retries_its_member_and_the_pause_is_at_most_a_second() {
        let long = Duration::from_secs(5);
        assert_eq!(next(2, long, || None), Next::Same(TURN_AROUND));
        assert_eq!(next(3, long, || None), Next::GiveUp);
    }
}
