//! Cache coherence through PostgreSQL's own invalidation messages.
//!
//! Every backend caches policy (the catalogue: route groups, models, issuers, role permissions; and the
//! policy columns of keys, teams, memberships, organizations, users and end users). A statement trigger on
//! each policy table calls `rbac._signal_policy_change()`, which queues a relcache invalidation of the sentinel
//! table `rbac.cache_epoch`. PostgreSQL delivers it like a catalog change: to the changing backend at its next
//! command, to every other backend when the change commits (read at their next transaction start), and again
//! locally if the change rolls back. Our relcache callback then bumps a generation counter, and caches built
//! under an older generation are dropped. Reading the cache costs nothing; spend and other accounting columns,
//! which change on every request, are never cached and do not signal.
use std::cell::Cell;

use pgrx::pg_sys;
use pgrx::prelude::*;

thread_local! {
    static GENERATION: Cell<u64> = const { Cell::new(1) };
    static SENTINEL: Cell<pg_sys::Oid> = const { Cell::new(pg_sys::InvalidOid) };
}

/// The current policy generation: it changes whenever a policy change becomes visible to this backend.
pub fn generation() -> u64 {
    GENERATION.with(Cell::get)
}

/// Records the oid of the sentinel table (resolved when the catalogue loads).
pub fn set_sentinel(oid: pg_sys::Oid) {
    SENTINEL.with(|s| s.set(oid));
}

/// Relcache callback: a reset (InvalidOid), an unknown sentinel or the sentinel itself invalidates our caches.
#[pg_guard]
unsafe extern "C-unwind" fn on_relcache_invalidation(_arg: pg_sys::Datum, relid: pg_sys::Oid) {
    let sentinel = SENTINEL.with(Cell::get);
    if relid == pg_sys::InvalidOid || sentinel == pg_sys::InvalidOid || relid == sentinel {
        GENERATION.with(|g| g.set(g.get().wrapping_add(1)));
    }
}

/// Registers the callback; called once per backend from `_PG_init`.
pub fn register() {
    // SAFETY: registration at library load; the callback only touches thread-local cells
    unsafe {
        pg_sys::CacheRegisterRelcacheCallback(
            Some(on_relcache_invalidation),
            pg_sys::Datum::from(0usize),
        )
    };
}

/// Queues an invalidation of every backend's policy caches, delivered with the calling transaction (called
/// by the statement triggers of the policy tables; `sentinel` is `'rbac.cache_epoch'::regclass`).
#[pg_extern(volatile, parallel_unsafe)]
fn _signal_policy_change(sentinel: pg_sys::Oid) {
    // SAFETY: queues a transactional invalidation message for an existing relation
    unsafe { pg_sys::CacheInvalidateRelcacheByRelid(sentinel) };
}
