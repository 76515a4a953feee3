//! Waves with more tasks than instances (a pool whose free instance takes the next
//! task, `Pool::per_instance`): every suite program stays bit-exact, such waves are
//! really run, and wrong predictions among their tasks are still never committed.
mod common;

use common::{assert_same, dispatched_on, reference};
use zbeam_dispatch::{suite, Config, CostModel, Outcome, Policy, Pool};

fn pool(instances: usize) -> CostModel {
    common::model(instances, CostModel::new(instances, 2000, 1).min_task, 4)
}

#[test]
fn more_tasks_than_instances_stay_exact() {
    for p in suite::PROGRAMS {
        let reference = reference(p.image, u64::MAX);
        for instances in [2, 3] {
            let mut policy = Policy::new(p.image);
            for seed in 1..=2u64 {
                let cfg = Config { tasks: instances, seed, ..Config::default() };
                let (out, r) = dispatched_on(p.image, &cfg, &mut pool(instances), &mut policy);
                assert_same(p.name, &reference, &out, &r);
            }
        }
    }
}

#[test]
fn waves_beyond_the_instances_run_and_wrong_predictions_are_squashed() {
    let p = suite::find("mandel").expect("mandel is in the suite");
    let reference = reference(p.image, u64::MAX);
    let cfg = Config { tasks: 2, seed: 3, inject_every: 3, log_tasks: true, ..Config::default() };
    let (out, r) = dispatched_on(p.image, &cfg, &mut pool(2), &mut Policy::new(p.image));
    assert_same("mandel", &reference, &out, &r);
    assert!(
        r.log.iter().any(|t| t.position >= 2 && t.outcome == Outcome::Committed),
        "no wave had more tasks than instances"
    );
    assert!(r.stats.injected > 0);
    assert!(r.log.iter().filter(|t| t.injected).all(|t| t.outcome != Outcome::Committed));
}

#[test]
fn the_model_schedules_each_task_on_the_first_free_instance() {
    use zbeam_dispatch::task::Task;
    // Four tasks that each run one instruction at 0100h (NOP) then HALT.
    let mut mem = zbeam_dispatch::task::zeroed_mem();
    mem[0x100] = 0x00;
    mem[0x101] = 0x76;
    let mut cpu = zbeam_z80::Cpu::new();
    cpu.pc = 0x100;
    let mut tasks: Vec<Task> = (0..4).map(|_| Task::new()).collect();
    for t in &mut tasks {
        t.prepare(&cpu, zbeam_dispatch::task::Memory::Copy(&mem), 0x100, 1, None, 0, 10);
    }
    let mut model = pool(2);
    let before = model.now();
    model.run_all(&mut tasks);
    let each = tasks[0].tstates;
    assert!(tasks.iter().all(|t| t.tstates == each && t.elapsed == each));
    // Two instances, four equal tasks: two rounds, plus three hand-offs.
    assert_eq!(model.now() - before, 2 * each + 3 * 2000);
}
