//! A reservation made by rbac.consume_quota, closed exactly once: settled with the provider's usage, released,
//! or — if the request is abandoned (client gone, task cancelled) — settled with the usage seen so far or
//! released from `Drop`, in a task of its own. No path leaks the budget hold or the parallel slot.

use std::sync::Arc;
use std::time::Duration;

use crate::usage::Usage;
use crate::App;

pub struct Reservation {
    app: Arc<App>,
    pub id: String,
    input_cost: Option<String>,
    output_cost: Option<String>,
    open: bool,
    /// Usage to settle with if the reservation is dropped while open; None = release.
    pub fallback: Option<Usage>,
}

impl Reservation {
    pub fn new(
        app: Arc<App>,
        id: String,
        input_cost: Option<String>,
        output_cost: Option<String>,
    ) -> Self {
        Reservation {
            app,
            id,
            input_cost,
            output_cost,
            open: true,
            fallback: None,
        }
    }

    fn close(&mut self, usage: Option<Usage>) -> tokio::task::JoinHandle<Option<String>> {
        self.open = false;
        let (app, id, ic, oc) = (
            self.app.clone(),
            self.id.clone(),
            self.input_cost.clone(),
            self.output_cost.clone(),
        );
        // a task of its own, so that the statement runs to the end even if the caller is cancelled
        tokio::spawn(async move { finish(app, id, usage, ic, oc).await })
    }

    /// Settles with the provider's usage; returns the cost recorded (USD, numeric text).
    pub async fn settle(mut self, usage: Usage) -> Option<String> {
        self.close(Some(usage)).await.ok().flatten()
    }

    pub async fn release(mut self) {
        let _ = self.close(None).await;
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if self.open && tokio::runtime::Handle::try_current().is_ok() {
            let usage = self.fallback;
            tracing::debug!(reservation = %self.id, ?usage, "request abandoned: closing its reservation");
            drop(self.close(usage)); // detached: the task closes the reservation on its own
        }
    }
}

async fn finish(
    app: Arc<App>,
    id: String,
    usage: Option<Usage>,
    ic: Option<String>,
    oc: Option<String>,
) -> Option<String> {
    // A few tries: a lost connection must not leave the hold open until rbac.reservation_ttl. settle and release
    // are idempotent, so a retry after a lost reply is safe.
    for attempt in 0..4u32 {
        let r = match usage {
            Some(u) => app
                .db
                .settle(&id, u.prompt, u.completion, &ic, &oc)
                .await
                .map(|(_, cost)| Some(cost)),
            None => app.db.release(&id).await.map(|_| None),
        };
        match r {
            Ok(cost) => {
                tracing::debug!(reservation = %id, ?usage, ?cost, "reservation closed");
                return cost;
            }
            Err(e) if e.status.as_u16() == 503 && attempt < 3 => {
                tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
            }
            Err(e) => {
                tracing::error!(reservation = %id, ?usage, error = %e.message,
                    "could not close the reservation; it expires after rbac.reservation_ttl");
                return None;
            }
        }
    }
    None
}
