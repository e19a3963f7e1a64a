//! Runs one job per file on scoped worker threads and draws a progress bar
//! on stderr: redrawn in place on a terminal, a line every few seconds in a log.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How a batch of per-file jobs runs.
#[derive(Debug, Clone, Copy)]
pub struct WorkOptions {
    /// Worker threads; 0 means one per core.
    pub threads: usize,
    /// Whether to draw the progress bar.
    pub progress: bool,
}

/// Threads for `jobs` jobs: `requested`, or one per core when 0, and never
/// more than there are jobs.
pub fn thread_count(requested: usize, jobs: usize) -> usize {
    let threads = match requested {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    threads.min(jobs).max(1)
}

/// `job` applied to every item, results in the items' order.
pub fn map_parallel<T, R, F>(items: &[T], options: WorkOptions, job: F) -> Vec<R>
where
    T: Sync,
    R: Send,
    F: Fn(&T) -> R + Sync,
{
    let threads = thread_count(options.threads, items.len());
    let next = AtomicUsize::new(0);
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let mut bar = options
        .progress
        .then(|| ProgressBar::new(items.len(), "files"));
    let mut results: Vec<(usize, R)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let done = done_tx.clone();
                let (next, job) = (&next, &job);
                s.spawn(move || {
                    let mut out = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break };
                        out.push((i, job(item)));
                        let _ = done.send(());
                    }
                    out
                })
            })
            .collect();
        drop(done_tx);
        // Ends when every worker has finished and dropped its sender.
        for () in done_rx {
            if let Some(bar) = bar.as_mut() {
                bar.advance();
            }
        }
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    if let Some(bar) = bar {
        bar.finish();
    }
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

/// `[#####     ] n/N files, x files/s`: in place on a terminal, a line every
/// 5 s otherwise. Shared by the dataset tools and `easel test`.
pub struct ProgressBar {
    total: usize,
    done: usize,
    /// Done before this run started (a resumed run): not counted in the rate.
    already: usize,
    unit: &'static str,
    started: Instant,
    last_drawn: Option<Instant>,
    drawn: usize,
    tty: bool,
}

impl ProgressBar {
    const WIDTH: usize = 30;

    pub fn new(total: usize, unit: &'static str) -> Self {
        Self::resuming(total, 0, unit)
    }

    /// A bar for a run of which `already` were done before it started.
    pub fn resuming(total: usize, already: usize, unit: &'static str) -> Self {
        Self {
            total,
            done: already,
            already,
            unit,
            started: Instant::now(),
            last_drawn: None,
            drawn: 0,
            tty: std::io::stderr().is_terminal(),
        }
    }

    pub fn advance(&mut self) {
        self.set(self.done + 1);
    }

    /// `done` of the total are finished.
    pub fn set(&mut self, done: usize) {
        self.done = done;
        let every = if self.tty {
            Duration::from_millis(100)
        } else {
            Duration::from_secs(5)
        };
        if self.last_drawn.is_none_or(|t| t.elapsed() >= every) {
            self.draw();
        }
    }

    fn draw(&mut self) {
        let made = self.done.saturating_sub(self.already);
        let rate = made as f64 / self.started.elapsed().as_secs_f64().max(1e-9);
        let filled = (Self::WIDTH * self.done)
            .checked_div(self.total)
            .unwrap_or(Self::WIDTH);
        let line = format!(
            "[{}{}] {}/{} {unit}, {rate:.2} {unit}/s",
            "#".repeat(filled),
            " ".repeat(Self::WIDTH - filled.min(Self::WIDTH)),
            self.done,
            self.total,
            unit = self.unit,
        );
        let mut err = std::io::stderr().lock();
        if self.tty {
            let _ = write!(err, "\r{line}   ");
            let _ = err.flush();
        } else {
            let _ = writeln!(err, "{line}");
        }
        self.last_drawn = Some(Instant::now());
        self.drawn = self.done;
    }

    pub fn finish(mut self) {
        if self.drawn != self.done || self.last_drawn.is_none() {
            self.draw();
        }
        if self.tty {
            eprintln!();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_the_order_of_the_items() {
        let items: Vec<usize> = (0..100).collect();
        let options = WorkOptions {
            threads: 4,
            progress: false,
        };
        let squares = map_parallel(&items, options, |&i| i * i);
        assert_eq!(squares, items.iter().map(|i| i * i).collect::<Vec<_>>());
    }

    #[test]
    fn no_items_need_no_threads() {
        let options = WorkOptions {
            threads: 0,
            progress: false,
        };
        assert!(map_parallel(&[] as &[u8], options, |_| 1).is_empty());
        assert_eq!(thread_count(8, 3), 3);
        assert_eq!(thread_count(2, 0), 1);
    }
}
