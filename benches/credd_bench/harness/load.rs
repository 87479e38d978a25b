//! Closed-loop load: callers driving an [`Op`] for a warm-up and a measured
//! span, paired runs in alternating segments, and CPU-time counters.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::settings::Settings;
use super::stats::{Raw, Stats};

type OpFuture = Pin<Box<dyn Future<Output = bool> + Send>>;
/// One request of caller `worker`, its `n`th; true when answered as expected.
pub(crate) type Op = Arc<dyn Fn(usize, u64) -> OpFuture + Send + Sync>;

/// CPU time of this whole process so far (user + system, all threads).
pub(crate) fn process_cpu_secs() -> f64 {
    cpu_secs(libc::RUSAGE_SELF)
}

/// CPU seconds (user + system) the calling thread has used.
pub(crate) fn thread_cpu_secs() -> f64 {
    cpu_secs(libc::RUSAGE_THREAD)
}

/// User + system CPU seconds of `who` (`RUSAGE_SELF` or `RUSAGE_THREAD`).
fn cpu_secs(who: libc::c_int) -> f64 {
    // SAFETY: getrusage(2) fills the struct we pass; nothing else is touched.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(who, &mut usage);
        usage
    };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}

/// `concurrency` callers in a closed loop for warmup + measure; only calls
/// started after the warmup are counted.
pub(crate) async fn drive(concurrency: usize, warmup: Duration, measure: Duration, op: Op) -> Raw {
    let cpu_before = process_cpu_secs();
    let start = Instant::now() + warmup;
    let end = start + measure;
    let mut handles = Vec::with_capacity(concurrency);
    for worker in 0..concurrency {
        let op = op.clone();
        handles.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(16_384);
            let mut errors = 0u64;
            let mut last = start;
            let mut n = 0u64;
            loop {
                let t0 = Instant::now();
                if t0 >= end {
                    break;
                }
                let ok = op(worker, n).await;
                n += 1;
                let t1 = Instant::now();
                if t0 >= start {
                    lat.push((t1 - t0).as_nanos() as u64);
                    errors += u64::from(!ok);
                    last = last.max(t1);
                }
            }
            (lat, errors, last, n)
        }));
    }
    let mut raw = Raw::default();
    let mut last = start;
    for handle in handles {
        let (lat, e, l, n) = handle.await.expect("load task");
        raw.lat_ns.extend(lat);
        raw.errors += e;
        raw.all_ops += n;
        last = last.max(l);
    }
    raw.secs = last.saturating_duration_since(start).as_secs_f64();
    raw.cpu_secs = process_cpu_secs() - cpu_before;
    raw
}

/// Warm-up of the `i`th segment: the full warm-up first, a short one after.
pub(crate) fn segment_warmup(s: &Settings, i: usize) -> Duration {
    if i == 0 {
        s.warm()
    } else {
        s.warm().min(Duration::from_millis(100))
    }
}

pub(crate) fn segment_len(s: &Settings) -> Duration {
    Duration::from_secs_f64(s.secs / s.segments as f64)
}

/// A cheap deterministic pick in `0..len` for caller `w`'s `n`th call.
pub(crate) fn pick(w: usize, n: u64, len: usize) -> usize {
    let mut x =
        (w as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ n.wrapping_add(0x632B_E59B_D9B4_E019);
    x ^= x >> 30;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 31;
    (x % len as u64) as usize
}

/// `op_a` and `op_b` at `concurrency` in alternating segments (so drifting
/// load on the shared machine hits both alike).
pub(crate) async fn alternate(
    s: &Settings,
    concurrency: usize,
    op_a: Op,
    op_b: Op,
) -> (Stats, Stats) {
    let ((a, _), (b, _)) = alternate_probed(s, concurrency, op_a, op_b, &|| 0.0).await;
    (a, b)
}

/// [`alternate`], also reading `probe` (a CPU-seconds counter, e.g. another
/// process's) around each segment: returns each side's probe microseconds
/// per call, warm-up calls included.
pub(crate) async fn alternate_probed(
    s: &Settings,
    concurrency: usize,
    op_a: Op,
    op_b: Op,
    probe: &(dyn Fn() -> f64 + Sync),
) -> ((Stats, f64), (Stats, f64)) {
    let (mut raw_a, mut raw_b) = (Raw::default(), Raw::default());
    let (mut probe_a, mut probe_b) = (0.0, 0.0);
    for i in 0..s.segments {
        let warm = segment_warmup(s, i);
        let before = probe();
        raw_a.add(drive(concurrency, warm, segment_len(s), op_a.clone()).await);
        let middle = probe();
        raw_b.add(drive(concurrency, warm, segment_len(s), op_b.clone()).await);
        probe_a += middle - before;
        probe_b += probe() - middle;
    }
    let per_call = |secs: f64, raw: &Raw| secs * 1e6 / raw.all_ops.max(1) as f64;
    let (us_a, us_b) = (per_call(probe_a, &raw_a), per_call(probe_b, &raw_b));
    ((raw_a.stats(), us_a), (raw_b.stats(), us_b))
}

/// CPU seconds (user + system) that process `pid` has used.
pub(crate) fn other_process_cpu_secs(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the command name (which may hold spaces): utime is the
    // 12th and stime the 13th of them, in clock ticks.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i)?.parse::<f64>().ok())
        .sum();
    // SAFETY: sysconf only reads a system constant.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    ticks / hz.max(1.0)
}
