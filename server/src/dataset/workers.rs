//! Runs one job per file on a rayon pool of the requested size, with a
//! progress bar (`crate::progress`) over the files.

use rayon::prelude::*;

use crate::progress::ProgressBar;

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
    crate::cores::threads(requested).min(jobs).max(1)
}

/// `job` applied to every item, results in the items' order.
pub fn map_parallel<T, R, F>(items: &[T], options: WorkOptions, job: F) -> Vec<R>
where
    T: Sync,
    R: Send,
    F: Fn(&T) -> R + Sync,
{
    let bar = options
        .progress
        .then(|| ProgressBar::new(items.len(), "files"));
    let run = |item: &T| {
        let result = job(item);
        if let Some(bar) = &bar {
            bar.advance();
        }
        result
    };
    // A pool per call, not rayon's global one, so that `threads` holds.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(thread_count(options.threads, items.len()))
        .build();
    let results = match pool {
        Ok(pool) => pool.install(|| items.par_iter().map(run).collect()),
        // The system would start no thread: the work still gets done.
        Err(e) => {
            tracing::warn!("no worker threads ({e}); working on one thread");
            items.iter().map(run).collect()
        }
    };
    if let Some(bar) = bar {
        bar.finish();
    }
    results
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
    fn runs_on_as_many_threads_as_asked() {
        let items: Vec<usize> = (0..64).collect();
        let options = WorkOptions {
            threads: 3,
            progress: false,
        };
        let threads = map_parallel(&items, options, |_| {
            std::thread::sleep(std::time::Duration::from_millis(2));
            (rayon::current_num_threads(), std::thread::current().id())
        });
        assert!(threads.iter().all(|(pool, _)| *pool == 3));
        let ids: std::collections::HashSet<_> = threads.iter().map(|(_, id)| *id).collect();
        assert!(ids.len() <= 3, "{} threads", ids.len());
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
