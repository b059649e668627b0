//! Room in the audit trail: how many events may wait to be stored. A request
//! takes a ticket before it does anything; the ticket travels with its event
//! and gives the room back once the event is committed. When the database
//! falls behind, the room runs out, requests wait for it, and past a bound
//! they are refused (retryably) before doing anything, so no event is ever
//! dropped for lack of room.
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

#[derive(Clone)]
pub struct AuditRoom {
    room: Arc<Semaphore>,
    capacity: usize,
    wait: Duration,
    /// Requests are answered once their events are stored.
    stored_before_answer: bool,
}

/// Room for one event. Dropped unused (a request that records nothing, a
/// read-only call left out), it gives the room back at once.
#[must_use]
pub struct AuditTicket(Option<OwnedSemaphorePermit>);

impl AuditTicket {
    /// For events outside the request paths (the command line, background
    /// work): stored like the others, without taking room.
    pub fn unreserved() -> AuditTicket {
        AuditTicket(None)
    }
}

impl std::fmt::Debug for AuditTicket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "AuditTicket" } else { "AuditTicket(unreserved)" })
    }
}

/// When an event is stored: awaited before its request is answered.
#[must_use]
pub struct AuditReceipt(Option<std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send>>>);

impl AuditReceipt {
    /// Nothing to wait for (an event left out, or stored already).
    pub fn stored() -> AuditReceipt {
        AuditReceipt(None)
    }

    pub fn pending(stored: impl std::future::Future<Output = bool> + Send + 'static) -> AuditReceipt {
        AuditReceipt(Some(Box::pin(stored)))
    }

    /// Waits at most `within` for the event to be stored. False when it is
    /// not yet (the database is down: it stays queued and is retried; only a
    /// crash before then would lose it).
    pub async fn wait(self, within: Duration) -> bool {
        match self.0 {
            None => true,
            Some(stored) => tokio::time::timeout(within, stored).await.unwrap_or(false),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the audit trail is behind: no room for an event within {0:?}")]
pub struct AuditBehind(pub Duration);

impl AuditRoom {
    /// Room for `capacity` events waiting to be stored; a request waits at
    /// most `wait` for it.
    pub fn new(capacity: usize, wait: Duration) -> AuditRoom {
        let capacity = capacity.max(1);
        AuditRoom { room: Arc::new(Semaphore::new(capacity)), capacity, wait, stored_before_answer: true }
    }

    /// `audit.stored_before_answer`: whether a request's answer waits for
    /// its events to be stored (the default) or goes at once.
    pub fn storing_before_answer(mut self, wait: bool) -> AuditRoom {
        self.stored_before_answer = wait;
        self
    }

    pub fn stores_before_answer(&self) -> bool {
        self.stored_before_answer
    }

    pub async fn admit(&self) -> Result<AuditTicket, AuditBehind> {
        match tokio::time::timeout(self.wait, self.room.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(AuditTicket(Some(permit))),
            // The semaphore is never closed; treat it as no room all the same.
            Ok(Err(_)) | Err(_) => Err(AuditBehind(self.wait)),
        }
    }

    /// How long a request waits: for room, and for its events to be stored.
    pub fn wait(&self) -> Duration {
        self.wait
    }

    /// Tickets out: events waiting to be stored, and requests under way.
    pub fn in_use(&self) -> usize {
        self.capacity - self.room.available_permits()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_room_refuses_after_the_wait_and_frees_on_drop() {
        let room = AuditRoom::new(2, Duration::from_millis(20));
        let a = room.admit().await.unwrap();
        let _b = room.admit().await.unwrap();
        assert_eq!(room.in_use(), 2);
        assert!(room.admit().await.is_err());
        drop(a);
        assert!(room.admit().await.is_ok());
        assert_eq!(room.in_use(), 1);
    }
}
