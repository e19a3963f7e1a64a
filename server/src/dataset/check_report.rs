//! The report of `easel dataset check`: what was found (sizes, the class
//! histogram, problems, notes, the suggested flags) and how it reads for a
//! person.

use std::fmt::Write as _;

use super::training_flags::{ratio_name, same_ratio, TrainingFlags};
use crate::package::classes::ClassTable;
use crate::package::maps::DONTCARE_VALUE;

/// How many problems of one kind the report prints.
const SHOWN: usize = 30;

/// Pixels and files of one label value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueCount {
    pub value: u32,
    pub pixels: u64,
    pub files: usize,
}

#[derive(Debug, Clone)]
pub struct CheckReport {
    pub samples: usize,
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
    pub notes: Vec<String>,
    /// Label map sizes, most common first.
    pub sizes: Vec<((usize, usize), usize)>,
    /// Every label value that occurs, in value order.
    pub histogram: Vec<ValueCount>,
    pub classes: Option<ClassTable>,
    pub flags: Option<TrainingFlags>,
    pub command: Option<String>,
}

impl CheckReport {
    /// The report for a person: sizes, histogram, problems, flags.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let total_pixels: u64 = self.histogram.iter().map(|c| c.pixels).sum();
        writeln!(s, "samples: {}", self.samples).ok();
        if let Some(((w, h), _)) = self.sizes.first() {
            let sizes: Vec<String> = self
                .sizes
                .iter()
                .take(5)
                .map(|((w, h), n)| format!("{w}×{h} ({n})"))
                .collect();
            let more = match self.sizes.len() {
                k if k > 5 => format!(" and {} more sizes", k - 5),
                _ => String::new(),
            };
            writeln!(s, "sizes: {}{more}", sizes.join(", ")).ok();
            let ratio = *w as f64 / *h as f64;
            let same: usize = self
                .sizes
                .iter()
                .filter(|((w, h), _)| same_ratio(*w as f64 / *h as f64, ratio))
                .map(|(_, n)| n)
                .sum();
            writeln!(
                s,
                "aspect ratio: {ratio:.4} ({}) in {same} of {} maps",
                ratio_name(*w, *h),
                self.samples
            )
            .ok();
        }
        if !self.histogram.is_empty() {
            writeln!(
                s,
                "class histogram:\n  value  class                 pixels   files"
            )
            .ok();
            for c in &self.histogram {
                let name = if c.value == DONTCARE_VALUE
                    && self
                        .flags
                        .as_ref()
                        .is_some_and(|f| f.contain_dontcare_label)
                {
                    "(dontcare)".to_string()
                } else {
                    self.classes
                        .as_ref()
                        .and_then(|t| t.classes.get(c.value as usize))
                        .map_or_else(String::new, |c| c.name.clone())
                };
                writeln!(
                    s,
                    "  {:>5}  {:<20} {:>7.3}%  {:>6}",
                    c.value,
                    name,
                    100.0 * c.pixels as f64 / total_pixels.max(1) as f64,
                    c.files
                )
                .ok();
            }
        }
        for note in &self.notes {
            writeln!(s, "note: {note}").ok();
        }
        for (what, list) in [("warning", &self.warnings), ("error", &self.errors)] {
            for line in list.iter().take(SHOWN) {
                writeln!(s, "{what}: {line}").ok();
            }
            if list.len() > SHOWN {
                writeln!(s, "{what}: … and {} more", list.len() - SHOWN).ok();
            }
        }
        if let Some(flags) = &self.flags {
            writeln!(s, "\ntraining flags: {}", flags.args()).ok();
            for reason in &flags.reasons {
                writeln!(s, "  {reason}").ok();
            }
        }
        if let Some(command) = &self.command {
            writeln!(s, "{command}").ok();
        }
        writeln!(
            s,
            "\n{} error(s), {} warning(s)",
            self.errors.len(),
            self.warnings.len()
        )
        .ok();
        s
    }
}
