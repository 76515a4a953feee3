//! A supervisor's restart bookkeeping at a full heap: this test binary's global
//! allocator (`zbeam-allocfail`) refuses the test thread's allocations on demand.
//! Recording a restart that fits the preallocated history allocates nothing; one that
//! needs the history to grow answers `NoMemory` and records nothing, and succeeds once
//! the heap allows again.

use zbeam_allocfail::{refusing, Refusing};
use zbeam_engine::supervisor::{Intensity, NoMemory, RestartHistory, HISTORY_PREALLOC};

#[global_allocator]
static ALLOC: Refusing = Refusing;

#[test]
fn restarts_within_the_preallocated_history_need_no_heap() {
    let mut h = RestartHistory::new(Intensity { max_restarts: 5, period_ms: 1000 });
    // The sixth restart exceeds the intensity (the supervisor then gives up).
    let answers: [Result<bool, NoMemory>; 6] = refusing(|| core::array::from_fn(|i| h.record(i as u64)));
    let want = [Ok(true), Ok(true), Ok(true), Ok(true), Ok(true), Ok(false)];
    assert_eq!(answers, want);
    assert_eq!(h.total(), 5);
}

#[test]
fn a_history_that_must_grow_at_a_full_heap_answers_no_memory() {
    let n = HISTORY_PREALLOC as u32 * 2;
    let mut h = RestartHistory::new(Intensity { max_restarts: n, period_ms: 1_000_000 });
    let mut answers = [Ok(false); HISTORY_PREALLOC + 1];
    refusing(|| {
        for (t, a) in answers.iter_mut().enumerate() {
            *a = h.record(t as u64);
        }
    });
    assert!(answers[..HISTORY_PREALLOC].iter().all(|&a| a == Ok(true)), "{answers:?}");
    assert_eq!(answers[HISTORY_PREALLOC], Err(NoMemory));
    assert_eq!(h.total(), HISTORY_PREALLOC as u32, "a refused restart was counted");
    assert_eq!(h.record(HISTORY_PREALLOC as u64), Ok(true));
    assert_eq!(h.total(), HISTORY_PREALLOC as u32 + 1);
}
