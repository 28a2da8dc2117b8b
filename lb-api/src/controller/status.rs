//! Pure roll-up of operating statuses from an agent's report, as Octavia's health manager does:
//! members from their check state, pools from their members, listeners from their state and
//! their default pool, the load balancer from everything below it.

use lb_proto::heartbeat::{ListenerStatus, MemberStatus};

use crate::model::common::Oper;

/// A member's operating status from its reported state.
#[must_use]
pub fn member(status: MemberStatus) -> Oper {
    match status {
        MemberStatus::Up => Oper::Online,
        MemberStatus::Down => Oper::Error,
        MemberStatus::NoCheck => Oper::NoMonitor,
        MemberStatus::Drain => Oper::Draining,
        MemberStatus::Maint => Oper::Offline,
    }
}

/// A pool's status from its members' statuses: all usable members failing → ERROR, some →
/// DEGRADED; admin-down → OFFLINE.
#[must_use]
pub fn pool(admin_up: bool, members: &[Oper]) -> Oper {
    if !admin_up {
        return Oper::Offline;
    }
    let counted: Vec<Oper> = members
        .iter()
        .copied()
        .filter(|m| *m != Oper::Offline)
        .collect();
    let failing = counted.iter().filter(|m| **m == Oper::Error).count();
    if !counted.is_empty() && failing == counted.len() {
        Oper::Error
    } else if failing > 0 {
        Oper::Degraded
    } else {
        Oper::Online
    }
}

/// A listener's status from its reported state and its default pool's status.
#[must_use]
pub fn listener(admin_up: bool, reported: Option<ListenerStatus>, pool: Option<Oper>) -> Oper {
    if !admin_up {
        return Oper::Offline;
    }
    match (reported, pool) {
        (None, _) => Oper::Offline,
        (_, Some(Oper::Error)) => Oper::Error,
        (Some(ListenerStatus::Full), _) | (_, Some(Oper::Degraded)) => Oper::Degraded,
        (Some(ListenerStatus::Down), _) => Oper::Offline,
        (Some(ListenerStatus::Open), _) => Oper::Online,
    }
}

/// The load balancer's status from its listeners' and pools' statuses.
#[must_use]
pub fn loadbalancer(admin_up: bool, below: &[Oper]) -> Oper {
    if !admin_up {
        Oper::Offline
    } else if below
        .iter()
        .any(|s| matches!(s, Oper::Error | Oper::Degraded))
    {
        Oper::Degraded
    } else {
        Oper::Online
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pools_degrade_then_fail_as_members_go_down() {
        use Oper::*;
        assert_eq!(pool(true, &[Online, Online]), Online);
        assert_eq!(pool(true, &[Online, Error]), Degraded);
        assert_eq!(pool(true, &[Error, Error]), Error);
        // Admin-down members do not count; draining ones do not fail.
        assert_eq!(pool(true, &[Offline, Error]), Error);
        assert_eq!(pool(true, &[Draining, NoMonitor]), Online);
        assert_eq!(pool(true, &[]), Online);
        assert_eq!(pool(false, &[Online]), Offline);
    }

    #[test]
    fn listeners_and_load_balancers_roll_up() {
        use Oper::*;
        assert_eq!(
            listener(true, Some(ListenerStatus::Open), Some(Online)),
            Online
        );
        assert_eq!(
            listener(true, Some(ListenerStatus::Full), Some(Online)),
            Degraded
        );
        assert_eq!(
            listener(true, Some(ListenerStatus::Open), Some(Error)),
            Error
        );
        assert_eq!(listener(true, None, None), Offline);
        assert_eq!(listener(false, Some(ListenerStatus::Open), None), Offline);
        assert_eq!(loadbalancer(true, &[Online, Degraded]), Degraded);
        assert_eq!(loadbalancer(true, &[Online, Online]), Online);
        assert_eq!(loadbalancer(false, &[Online]), Offline);
        assert_eq!(member(MemberStatus::Drain), Draining);
    }
}
