//! Trip counts: a loop whose visits are shorter than the arm's planned wave (mandel's
//! row of 64 pixels against tasks of hundreds of pixels) must be split evenly over
//! the tasks once a visit's length is known, not retired because tasks planned past
//! the loop's end were discarded.
mod common;

use common::{assert_same, dispatched_on, reference};
use zbeam_dispatch::{suite, Config, CostModel, Outcome, Policy};

/// A model pool whose smallest task is larger than mandel's row.
fn big_task_pool(instances: usize) -> CostModel {
    common::model(instances, 4_000_000, 1)
}

#[test]
fn short_visits_are_split_not_retired() {
    let p = suite::find("mandel").expect("mandel is in the suite");
    let reference = reference(p.image, u64::MAX);
    for instances in [2, 3, 4] {
        let mut policy = Policy::new(p.image);
        for run in 0..3u64 {
            let cfg = Config { tasks: instances, seed: run + 1, log_tasks: true, ..Config::default() };
            let (out, r) = dispatched_on(p.image, &cfg, &mut big_task_pool(instances), &mut policy);
            assert_same("mandel", &reference, &out, &r);
            let col = r.regions.iter().find(|g| g.visits >= 40).unwrap_or_else(|| {
                panic!(
                    "mandel's pixel loop is a region: {:?}",
                    r.regions.iter().map(|g| (g.head, g.visits, &g.state)).collect::<Vec<_>>()
                )
            });
            assert_eq!(col.state, "active", "{instances} instances, run {run}: the pixel loop stays active");
            // The first two visits are planned without a known trip count; every later
            // wave fits its row, so at most those two waves lose tasks.
            let of_col: Vec<_> = r.log.iter().filter(|t| t.head == col.head).map(|t| (t.position, t.outcome)).collect();
            let lost = of_col.iter().filter(|(_, o)| *o != Outcome::Committed).count();
            let committed = of_col.len() - lost;
            assert!(lost <= 2 * (instances - 1), "{instances} instances, run {run}: {of_col:?}");
            assert!(committed >= 30, "{instances} instances, run {run}: {of_col:?}");
        }
    }
}
