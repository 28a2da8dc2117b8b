//! Sends a signed heartbeat (`lb_proto::heartbeat`) to every controller address each period.
//! A send that fails is logged and retried at the next period; nothing queues up.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use tokio::{net::UdpSocket, sync::Mutex};

use super::{Runtime, report};

/// Sends heartbeats until the task is dropped.
pub async fn run(
    runtime: Arc<Mutex<Runtime>>,
    host_id: String,
    key: Vec<u8>,
    controllers: Vec<SocketAddr>,
    period: Duration,
) {
    let socket = match bind_for(&controllers).await {
        Ok(s) => s,
        Err(error) => {
            tracing::error!(%error, "cannot open the heartbeat socket; no heartbeats will be sent");
            return;
        }
    };
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_ms = 0u64;
    loop {
        ticker.tick().await;
        // Strictly increasing, also if the wall clock steps back.
        last_ms = report::unix_ms().max(last_ms + 1);
        let datagram = {
            let runtime = runtime.lock().await;
            runtime
                .report(&host_id, last_ms)
                .map_err(|e| e.to_string())
                .and_then(|hb| lb_proto::heartbeat::seal(&hb, &key).map_err(|e| e.to_string()))
        };
        let datagram = match datagram {
            Ok(d) => d,
            Err(error) => {
                tracing::warn!(%error, "heartbeat not built");
                continue;
            }
        };
        for to in &controllers {
            if let Err(error) = socket.send_to(&datagram, to).await {
                tracing::debug!(%error, %to, "heartbeat not sent");
            }
        }
    }
}

async fn bind_for(controllers: &[SocketAddr]) -> std::io::Result<UdpSocket> {
    let v6 = controllers.iter().all(SocketAddr::is_ipv6) && !controllers.is_empty();
    let any: SocketAddr = if v6 {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
    };
    UdpSocket::bind(any).await
}
