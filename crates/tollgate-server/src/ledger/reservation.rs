//! A strict-mode hold on quota, owned by its request. A request that ends without a charge (no
//! account, an upstream error, a never-charged endpoint) releases it ([`Reservation::release`]);
//! one dropped on any other path (a panic, a cancelled task) is released in the background; once a
//! settlement takes it over ([`Reservation::into_settled`]) the settlement's own write drops it
//! (the `usage_records_charge` trigger).

use std::sync::Arc;

use tokio_util::task::TaskTracker;
use tollgate_store::Store;

/// A hold taken at admission.
pub struct Reservation {
    request_id: String,
    store: Arc<dyn Store>,
    tasks: TaskTracker,
    settled: bool,
}

impl Reservation {
    pub fn new(request_id: &str, store: Arc<dyn Store>, tasks: TaskTracker) -> Self {
        Self { request_id: request_id.to_owned(), store, tasks, settled: false }
    }

    /// The request will be settled (its record carries `held`): the hold is no longer released
    /// here.
    pub fn into_settled(mut self) {
        self.settled = true;
    }

    /// Releases the hold now (the request ends without a charge).
    pub async fn release(mut self) {
        self.settled = true;
        if let Err(e) = self.store.release(&self.request_id).await {
            tracing::warn!(request_id = %self.request_id, error = %e, "could not release a reservation");
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        let (store, id) = (self.store.clone(), std::mem::take(&mut self.request_id));
        self.tasks.spawn(async move {
            if let Err(e) = store.release(&id).await {
                tracing::warn!(request_id = %id, error = %e, "could not release a reservation");
            }
        });
    }
}
