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

#[derive(Debug, thiserror::Error)]
#[error("the audit trail is behind: no room for an event within {0:?}")]
pub struct AuditBehind(pub Duration);

impl AuditRoom {
    /// Room for `capacity` events waiting to be stored; a request waits at
    /// most `wait` for it.
    pub fn new(capacity: usize, wait: Duration) -> AuditRoom {
        let capacity = capacity.max(1);
        AuditRoom { room: Arc::new(Semaphore::new(capacity)), capacity, wait }
    }

    pub async fn admit(&self) -> Result<AuditTicket, AuditBehind> {
        match tokio::time::timeout(self.wait, self.room.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(AuditTicket(Some(permit))),
            // The semaphore is never closed; treat it as no room all the same.
            Ok(Err(_)) | Err(_) => Err(AuditBehind(self.wait)),
        }
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
