//! How a long command-line run shows its progress on stderr: an indicatif bar
//! redrawn in place on a terminal; in a log (stderr not a terminal), a plain
//! line every few seconds, since a redrawn bar would fill the log with frames.
//! Shared by the dataset tools, the landscape renderer and `easel test`.

use std::fmt::Write as _;
use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{HumanDuration, ProgressDrawTarget, ProgressState, ProgressStyle};

/// Time between two lines in a log.
const LOG_EVERY: Duration = Duration::from_secs(5);
const WIDTH: u64 = 30;

/// `[#####     ] n/N files, x files/s, about 2 minutes left`. Every method
/// takes `&self`, so workers on several threads can advance one bar.
pub struct ProgressBar {
    bar: indicatif::ProgressBar,
    summary: Summary,
    /// Present when stderr is not a terminal: the bar is hidden and lines
    /// are written here instead.
    log: Option<Mutex<Log>>,
}

/// The words after the bar, the same on a terminal and in a log.
#[derive(Clone, Copy)]
struct Summary {
    unit: &'static str,
    /// Done before this run started (a resumed run): not counted in the rate.
    already: u64,
}

struct Log {
    out: Box<dyn Write + Send>,
    last: Option<Instant>,
    /// The count the last line showed.
    shown: u64,
}

impl ProgressBar {
    pub fn new(total: usize, unit: &'static str) -> Self {
        Self::resuming(total, 0, unit)
    }

    /// A bar for a run of which `already` were done before it started.
    pub fn resuming(total: usize, already: usize, unit: &'static str) -> Self {
        // Hidden when stderr is not a terminal, or is a dumb one.
        let terminal = ProgressDrawTarget::stderr();
        if terminal.is_hidden() {
            Self::logging_to(total, already, unit, Box::new(std::io::stderr()))
        } else {
            Self::with_target(total, already, unit, terminal, None)
        }
    }

    fn logging_to(
        total: usize,
        already: usize,
        unit: &'static str,
        out: Box<dyn Write + Send>,
    ) -> Self {
        let log = Log {
            out,
            last: None,
            shown: 0,
        };
        let hidden = ProgressDrawTarget::hidden();
        Self::with_target(total, already, unit, hidden, Some(log))
    }

    fn with_target(
        total: usize,
        already: usize,
        unit: &'static str,
        target: ProgressDrawTarget,
        log: Option<Log>,
    ) -> Self {
        let summary = Summary {
            unit,
            already: already as u64,
        };
        let style = ProgressStyle::with_template("[{bar:30}] {summary}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("# ")
            .with_key(
                "summary",
                move |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                    let total = state.len().unwrap_or(0);
                    let _ = w.write_str(&summary.line(state.pos(), total, state.elapsed()));
                },
            );
        let bar = indicatif::ProgressBar::with_draw_target(Some(total as u64), target)
            .with_style(style)
            .with_position(already as u64);
        Self {
            bar,
            summary,
            log: log.map(Mutex::new),
        }
    }

    pub fn advance(&self) {
        self.bar.inc(1);
        self.log_if_due(false);
    }

    /// `done` of the total are finished.
    pub fn set(&self, done: usize) {
        self.bar.set_position(done as u64);
        self.log_if_due(false);
    }

    /// Leaves the bar at its last count (a final line in a log).
    pub fn finish(self) {
        self.bar.finish();
        self.log_if_due(true);
    }

    /// A line if one is due: the first, one every `LOG_EVERY`, and at the
    /// end unless the last line already showed the final count.
    fn log_if_due(&self, end: bool) {
        let Some(log) = &self.log else { return };
        // A panic while holding the lock leaves a log that is still usable.
        let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
        let done = self.bar.position();
        let due = match log.last {
            None => true,
            Some(_) if end => log.shown != done,
            Some(at) => at.elapsed() >= LOG_EVERY,
        };
        if !due {
            return;
        }
        let total = self.bar.length().unwrap_or(0);
        let filled = (WIDTH * done)
            .checked_div(total)
            .unwrap_or(WIDTH)
            .min(WIDTH);
        let line = format!(
            "[{}{}] {}",
            "#".repeat(filled as usize),
            " ".repeat((WIDTH - filled) as usize),
            self.summary.line(done, total, self.bar.elapsed())
        );
        let _ = writeln!(log.out, "{line}");
        log.last = Some(Instant::now());
        log.shown = done;
    }
}

impl Summary {
    fn line(self, done: u64, total: u64, elapsed: Duration) -> String {
        let unit = self.unit;
        let made = done.saturating_sub(self.already);
        let rate = made as f64 / elapsed.as_secs_f64().max(1e-9);
        let mut line = format!("{done}/{total} {unit}, {rate:.2} {unit}/s");
        let left = total.saturating_sub(done);
        // None before the first item (no rate yet); under a second: not worth saying.
        let eta = Duration::try_from_secs_f64(left as f64 / rate).ok();
        if let Some(eta) = eta.filter(|&eta| eta >= Duration::from_secs(1)) {
            let _ = write!(line, ", about {} left", HumanDuration(eta));
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    /// Lines written to memory.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Captured {
        fn lines(&self) -> Vec<String> {
            let text = String::from_utf8(self.0.lock().unwrap().clone()).unwrap();
            text.lines().map(str::to_string).collect()
        }
    }

    #[test]
    fn a_log_gets_the_first_and_the_final_line_not_one_per_step() {
        let out = Captured::default();
        let bar = ProgressBar::logging_to(10, 0, "files", Box::new(out.clone()));
        for _ in 0..10 {
            bar.advance();
        }
        bar.finish();
        let lines = out.lines();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(lines[0].starts_with("[###                           ] 1/10 files, "));
        assert!(
            lines[1].starts_with("[##############################] 10/10 files, "),
            "{lines:?}"
        );
        assert!(lines[1].ends_with(" files/s"), "{lines:?}");
    }

    #[test]
    fn a_finished_bar_is_not_logged_twice() {
        let out = Captured::default();
        let bar = ProgressBar::logging_to(3, 0, "images", Box::new(out.clone()));
        bar.set(3);
        bar.finish();
        assert_eq!(out.lines().len(), 1, "{:?}", out.lines());
    }

    #[test]
    fn a_resumed_run_counts_what_was_done_before_but_not_in_the_rate() {
        let summary = Summary {
            unit: "images",
            already: 90,
        };
        assert_eq!(
            summary.line(100, 100, Duration::from_secs(5)),
            "100/100 images, 2.00 images/s"
        );
        assert_eq!(
            summary.line(90, 100, Duration::from_secs(5)),
            "90/100 images, 0.00 images/s"
        );
        let half = Summary {
            unit: "files",
            already: 0,
        };
        assert_eq!(
            half.line(10, 20, Duration::from_secs(10)),
            "10/20 files, 1.00 files/s, about 10 seconds left"
        );
    }

    #[test]
    fn an_empty_run_shows_a_full_bar() {
        let out = Captured::default();
        ProgressBar::logging_to(0, 0, "files", Box::new(out.clone())).finish();
        assert_eq!(
            out.lines(),
            ["[##############################] 0/0 files, 0.00 files/s"]
        );
    }
}
