//! Waiting for a task (UPID): adaptive polling, bounded by a timeout, cancellable, with progress callbacks.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::api::Pve;
use super::error::PveError;
use super::types::TaskStatus;
use super::upid::Upid;

/// How long and how often to poll.
#[derive(Clone, Copy, Debug)]
pub struct WaitOptions {
    /// Give up (with [`TaskOutcome::TimedOut`]) after this long; zero checks once.
    pub timeout: Duration,
    /// First poll interval; it grows ×1.5 per poll up to `max_poll`.
    pub min_poll: Duration,
    pub max_poll: Duration,
    /// Keep polling every `min_poll` for this long before the interval starts to grow: most
    /// guest actions end within seconds, and a caller waiting on one should see its end at once.
    pub fast_for: Duration,
    /// Read the task log on each poll to report how many lines it has (one more request).
    pub count_log: bool,
}

impl Default for WaitOptions {
    fn default() -> Self {
        WaitOptions {
            timeout: Duration::ZERO,
            min_poll: Duration::from_millis(50),
            max_poll: Duration::from_secs(1),
            fast_for: Duration::ZERO,
            count_log: true,
        }
    }
}

impl WaitOptions {
    /// Wait up to `timeout` with the default poll intervals.
    pub fn with_timeout(timeout: Duration) -> Self {
        WaitOptions {
            timeout,
            ..WaitOptions::default()
        }
    }
}

/// Reported after each poll while the task runs.
#[derive(Clone, Debug)]
pub struct TaskProgress {
    pub elapsed: Duration,
    pub status: TaskStatus,
    /// Log lines the task has written so far.
    pub log_lines: u64,
}

/// How waiting ended.
#[derive(Clone, Debug)]
pub enum TaskOutcome {
    /// The task stopped; see [`TaskStatus::succeeded`].
    Finished(TaskStatus),
    /// Still running when the timeout passed (the task goes on).
    TimedOut(TaskStatus),
}

impl TaskOutcome {
    pub fn status(&self) -> &TaskStatus {
        match self {
            TaskOutcome::Finished(s) | TaskOutcome::TimedOut(s) => s,
        }
    }
}

/// How many log lines to fetch per poll when counting progress.
const LOG_CHUNK: u64 = 500;

/// Poll the task until it stops, the timeout passes, or `cancel` fires (then
/// `Err(PveError::Cancelled)`). The poll interval adapts: it starts at `min_poll` and grows ×1.5
/// up to `max_poll`, so a short task is seen within about `min_poll` of its end. `on_progress` is
/// awaited after each poll that finds the task still running.
pub async fn wait_task<F, Fut>(
    pve: &Pve,
    upid: &Upid,
    opts: WaitOptions,
    cancel: &CancellationToken,
    mut on_progress: F,
) -> Result<TaskOutcome, PveError>
where
    F: FnMut(TaskProgress) -> Fut + Send,
    Fut: Future<Output = ()> + Send,
{
    let started = Instant::now();
    let min_poll = opts.min_poll.max(Duration::from_millis(1));
    let max_poll = opts.max_poll.max(min_poll);
    let mut interval = min_poll;
    let mut log_lines = 0u64;
    loop {
        let status = tokio::select! {
            biased;
            () = cancel.cancelled() => return Err(PveError::Cancelled),
            s = pve.task_status(upid) => s?,
        };
        if !status.is_running() {
            return Ok(TaskOutcome::Finished(status));
        }
        if opts.count_log {
            log_lines = count_log_lines(pve, upid, log_lines).await;
        }
        let elapsed = started.elapsed();
        tokio::select! {
            biased;
            () = cancel.cancelled() => return Err(PveError::Cancelled),
            () = on_progress(TaskProgress { elapsed, status: status.clone(), log_lines }) => {}
        }
        let elapsed = started.elapsed();
        if elapsed >= opts.timeout {
            return Ok(TaskOutcome::TimedOut(status));
        }
        let pause = interval.min(opts.timeout - elapsed);
        tokio::select! {
            biased;
            () = cancel.cancelled() => return Err(PveError::Cancelled),
            () = tokio::time::sleep(pause) => {}
        }
        if started.elapsed() >= opts.fast_for {
            interval = interval.mul_f64(1.5).min(max_poll);
        }
    }
}

/// Read the log from line `seen` on and return the new total; on any error keep the old count
/// (reading the log is only for progress reports).
async fn count_log_lines(pve: &Pve, upid: &Upid, seen: u64) -> u64 {
    match pve.task_log(upid, seen, LOG_CHUNK).await {
        Ok(lines) => lines.iter().map(|l| l.n).max().unwrap_or(seen).max(seen),
        Err(e) => {
            tracing::debug!(upid = %upid, error = %e, "could not read the task log");
            seen
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::{Arc, Mutex};

    use futures::future::BoxFuture;
    use serde_json::{Value, json};

    use super::*;
    use crate::pve::{Method, Params, PveApi};

    /// A task that runs for `polls_until_done` status polls, then stops with `exitstatus`.
    struct FakeTask {
        polls_until_done: u32,
        exitstatus: &'static str,
        polls: AtomicU32,
        calls: Mutex<Vec<(Method, String, Params)>>,
    }

    const UPID: &str = "UPID:pve1:00007323:001036A5:6419CAF8:qmstart:100:root@pam:";

    impl PveApi for FakeTask {
        fn call<'a>(
            &'a self,
            method: Method,
            path: &'a str,
            params: &'a Params,
        ) -> BoxFuture<'a, Result<Value, PveError>> {
            self.calls
                .lock()
                .unwrap()
                .push((method, path.to_owned(), params.clone()));
            Box::pin(async move {
                if path.ends_with("/log") {
                    let n = u64::from(self.polls.load(Ordering::SeqCst)) * 2;
                    return Ok(json!(
                        (1..=n)
                            .map(|i| json!({"n": i, "t": format!("line {i}")}))
                            .collect::<Vec<_>>()
                    ));
                }
                let polls = self.polls.fetch_add(1, Ordering::SeqCst) + 1;
                let mut status = json!({"upid": UPID, "node": "pve1", "status": "running", "type": "qmstart", "id": "100", "user": "root@pam", "pid": 29475, "starttime": 1679411960});
                if polls >= self.polls_until_done {
                    status["status"] = json!("stopped");
                    status["exitstatus"] = json!(self.exitstatus);
                }
                Ok(status)
            })
        }

        fn base_url(&self) -> &str {
            "https://fake:8006"
        }
    }

    fn fake(polls_until_done: u32, exitstatus: &'static str) -> (Pve, Arc<FakeTask>) {
        let task = Arc::new(FakeTask {
            polls_until_done,
            exitstatus,
            polls: AtomicU32::new(0),
            calls: Mutex::default(),
        });
        (Pve::new(task.clone()), task)
    }

    #[tokio::test(start_paused = true)]
    async fn waits_until_stopped_with_growing_interval() {
        let (pve, task) = fake(6, "WARNINGS: 1");
        let upid: Upid = UPID.parse().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let seen2 = seen.clone();
        let opts = WaitOptions {
            fast_for: Duration::ZERO,
            count_log: true,
            timeout: Duration::from_secs(60),
            min_poll: Duration::from_millis(100),
            max_poll: Duration::from_millis(300),
        };
        let out = wait_task(&pve, &upid, opts, &CancellationToken::new(), move |p| {
            seen2.lock().unwrap().push((p.elapsed, p.log_lines));
            async {}
        })
        .await
        .unwrap();
        let TaskOutcome::Finished(status) = out else {
            panic!("should finish")
        };
        assert_eq!(status.succeeded(), Some(true));
        let seen = seen.lock().unwrap().clone();
        let elapsed: Vec<u128> = seen.iter().map(|(e, _)| e.as_millis()).collect();
        // Pauses 100, 150, 225, 300, 300 ms between the 6 polls.
        assert_eq!(elapsed, [0, 100, 250, 475, 775]);
        assert_eq!(
            seen.iter().map(|(_, l)| *l).collect::<Vec<_>>(),
            [2, 4, 6, 8, 10]
        );
        let calls = task.calls.lock().unwrap();
        let (m, path, params) = &calls[0];
        assert_eq!(
            (*m, path.as_str()),
            (
                Method::Get,
                format!("/nodes/pve1/tasks/{UPID}/status").as_str()
            )
        );
        assert!(params.is_empty());
        assert_eq!(calls[1].2["start"], json!(0));
    }

    #[tokio::test(start_paused = true)]
    async fn times_out_and_checks_once_by_default() {
        let (pve, task) = fake(u32::MAX, "OK");
        let upid: Upid = UPID.parse().unwrap();
        let out = wait_task(
            &pve,
            &upid,
            WaitOptions::default(),
            &CancellationToken::new(),
            |_| async {},
        )
        .await
        .unwrap();
        assert!(matches!(out, TaskOutcome::TimedOut(ref s) if s.is_running()));
        assert_eq!(task.polls.load(Ordering::SeqCst), 1);

        let start = Instant::now();
        let out = wait_task(
            &pve,
            &upid,
            WaitOptions::with_timeout(Duration::from_secs(5)),
            &CancellationToken::new(),
            |_| async {},
        )
        .await
        .unwrap();
        assert!(matches!(out, TaskOutcome::TimedOut(_)));
        assert_eq!(
            start.elapsed(),
            Duration::from_secs(5),
            "the last pause is clipped to the timeout"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn failed_task_and_cancel() {
        let (pve, _) = fake(1, "command 'ifreload -a' failed: exit code 1");
        let upid: Upid = UPID.parse().unwrap();
        let out = wait_task(
            &pve,
            &upid,
            WaitOptions::with_timeout(Duration::from_secs(5)),
            &CancellationToken::new(),
            |_| async {},
        )
        .await
        .unwrap();
        assert_eq!(out.status().succeeded(), Some(false));

        let (pve, _) = fake(u32::MAX, "OK");
        let cancel = CancellationToken::new();
        let c2 = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(500)).await;
            c2.cancel();
        });
        let err = wait_task(
            &pve,
            &upid,
            WaitOptions::with_timeout(Duration::from_secs(60)),
            &cancel,
            |_| async {},
        )
        .await
        .unwrap_err();
        assert_eq!(err, PveError::Cancelled);
    }
}
