//! The HTML of results: each run's gallery pages (written next to its
//! images, so they open from disk too), the list of runs and the side-by-side
//! comparison of two runs (rendered by the server).

use std::path::Path;

use askama::Template;

use super::dir::{write_atomic, RunDir, INPUT_LABEL, REAL, SYNTHESIZED};
use super::error::RunError;
use super::manifest::{
    Agreement, Manifest, Progress, RunScores, RunState, MANIFEST_FILE, PAGE_SIZE,
};
use super::scores::Scores;
use crate::package::ModelCard;

/// The stylesheet of every results page (galleries, lists, the login form).
pub const CSS: &str = include_str!("../../templates/gallery.css");

struct Row {
    stem: String,
    caption: String,
    width: usize,
    height: usize,
    label: String,
    synthesized: String,
    real: Option<String>,
    /// (name, colour) of the classes present.
    classes: Vec<(String, String)>,
    /// "agreement 0.934 · mIoU 0.712" of each image read back (--evaluate).
    agreement: Option<String>,
    real_agreement: Option<String>,
}

/// A run's scores as the gallery header shows them.
#[derive(Clone)]
struct ScoresView {
    segmenter: String,
    /// "segmenter.onnx (sha256 …)", or empty for runs that did not say.
    judge: String,
    images: usize,
    real_images: usize,
    generated: (String, String),
    real: Option<(String, String)>,
    /// (name, colour, synthesized IoU, real IoU) of each class scored.
    classes: Vec<(String, String, String, String)>,
}

impl ScoresView {
    fn new(scores: &RunScores, card: &ModelCard) -> Self {
        let pair = |s: &Scores| {
            (
                format!("{:.3}", s.pixel_accuracy),
                format!("{:.3}", s.mean_iou),
            )
        };
        let iou = |s: Option<&Scores>, k: usize| {
            s.and_then(|s| s.class_iou.get(k).copied().flatten())
                .map_or("–".to_string(), |v| format!("{v:.3}"))
        };
        let classes = card
            .classes
            .iter()
            .enumerate()
            .filter(|(k, _)| {
                let seen = |s: Option<&Scores>| {
                    s.is_some_and(|s| s.class_iou.get(*k).copied().flatten().is_some())
                };
                seen(Some(&scores.generated)) || seen(scores.real.as_ref())
            })
            .map(|(k, c)| {
                (
                    c.name.clone(),
                    c.color.clone(),
                    iou(Some(&scores.generated), k),
                    iou(scores.real.as_ref(), k),
                )
            })
            .collect();
        Self {
            segmenter: scores.segmenter.clone(),
            judge: scores.judge.clone().unwrap_or_default(),
            images: scores.images,
            real_images: scores.real_images,
            generated: pair(&scores.generated),
            real: scores.real.as_ref().map(pair),
            classes,
        }
    }
}

/// "agreement 0.934 · mIoU 0.712"
fn agreement_text(a: &Agreement) -> String {
    format!("agreement {:.3} · mIoU {:.3}", a.pixel_accuracy, a.mean_iou)
}

#[derive(Template)]
#[template(path = "gallery.html")]
struct GalleryPage<'a> {
    css: &'a str,
    name: &'a str,
    epoch: &'a str,
    model: &'a str,
    progress: Progress,
    percent: String,
    state: &'static str,
    updated: String,
    failed: Vec<(String, String)>,
    page: usize,
    /// (number, file)
    pages: Vec<(usize, String)>,
    rows: Vec<Row>,
    scores: Option<ScoresView>,
    /// "FID 12.34 · KID 0.0123 ± 0.0004 (…)", once the run is complete.
    fidelity: Option<String>,
    /// (shard, done, total, percent, state) of each shard of a sharded run.
    shards: Vec<(String, usize, usize, String, &'static str)>,
    /// (label, first page, whether these pages are in it) of each order
    /// the pages come in; empty when there is one.
    orders: Vec<(&'static str, String, bool)>,
}

/// The file of gallery page `n` (1-based).
pub fn page_file(n: usize) -> String {
    if n <= 1 {
        "index.html".to_string()
    } else {
        format!("index-{n}.html")
    }
}

/// The file of page `n` (1-based) of a scored run's worst-first order.
pub fn worst_page_file(n: usize) -> String {
    if n <= 1 {
        "worst.html".to_string()
    } else {
        format!("worst-{n}.html")
    }
}

fn state_name(state: RunState) -> &'static str {
    match state {
        RunState::Running => "running",
        RunState::Complete => "complete",
        RunState::Failed => "failed",
    }
}

/// `2026-11-28 12:03 UTC` from Unix seconds.
pub fn utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}

/// Which gallery pages a save writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pages {
    All,
    /// The first page of each order (`index.html`, `worst.html`): the
    /// header and progress, while a big run goes on.
    First,
}

/// Writes `index.html`, `index-2.html`, … for the samples done so far, in
/// the run's order, `PAGE_SIZE` to a page; a scored run also gets
/// `worst.html`, `worst-2.html`, … with the least agreeing images first.
pub fn write_gallery(
    dir: &RunDir,
    manifest: &Manifest,
    card: &ModelCard,
    scope: Pages,
) -> Result<(), RunError> {
    let done: Vec<&String> = manifest
        .stems
        .iter()
        .filter(|s| manifest.done.contains_key(*s))
        .collect();
    /// (label, the samples in this order, the file of each page)
    type Order<'a> = (&'static str, Vec<&'a String>, fn(usize) -> String);
    let mut orders: Vec<Order> = vec![("run order", done.clone(), page_file)];
    if manifest.scores.is_some() {
        let agreement = |stem: &String| manifest.done[stem].agreement.as_ref().map(|a| a.mean_iou);
        let mut worst = done.clone();
        // Unscored images (an earlier attempt's, not read yet) last.
        worst.sort_by(|a, b| {
            let key = |s: &String| agreement(s).unwrap_or(f64::INFINITY);
            key(a).total_cmp(&key(b)).then(a.cmp(b))
        });
        orders.push(("worst first", worst, worst_page_file));
    }
    let links: Vec<(&'static str, String)> = orders
        .iter()
        .map(|(label, _, file)| (*label, file(1)))
        .collect();
    for (label, stems, file) in &orders {
        let order_links: Vec<(&'static str, String, bool)> = if orders.len() > 1 {
            links
                .iter()
                .map(|(l, f)| (*l, f.clone(), l == label))
                .collect()
        } else {
            Vec::new()
        };
        write_pages(dir, manifest, card, stems, *file, order_links, scope)?;
    }
    Ok(())
}

/// The pages of one order of the samples.
fn write_pages(
    dir: &RunDir,
    manifest: &Manifest,
    card: &ModelCard,
    done: &[&String],
    file: fn(usize) -> String,
    orders: Vec<(&'static str, String, bool)>,
    scope: Pages,
) -> Result<(), RunError> {
    let pages = done.len().div_ceil(PAGE_SIZE).max(1);
    let links: Vec<(usize, String)> = (1..=pages).map(|n| (n, file(n))).collect();
    let class = |i: usize| card.value_class(i);
    let progress = manifest.progress();
    let scores = manifest.scores.as_ref().map(|s| ScoresView::new(s, card));
    for page in 1..=if scope == Pages::All { pages } else { 1 } {
        let rows = done
            .iter()
            .skip((page - 1) * PAGE_SIZE)
            .take(PAGE_SIZE)
            .map(|stem| {
                let r = &manifest.done[*stem];
                let [w, h] = r.size;
                let [sw, sh] = r.source;
                Row {
                    stem: stem.to_string(),
                    caption: if r.source == r.size {
                        format!("{w}×{h}")
                    } else {
                        format!("map {sw}×{sh}, made at {w}×{h}")
                    },
                    width: w,
                    height: h,
                    label: format!("images/{INPUT_LABEL}/{stem}.png"),
                    synthesized: format!("images/{SYNTHESIZED}/{stem}.png"),
                    real: r.has_real.then(|| format!("images/{REAL}/{stem}.png")),
                    classes: r.classes.iter().map(|&i| class(i)).collect(),
                    agreement: r.agreement.as_ref().map(agreement_text),
                    real_agreement: r.real_agreement.as_ref().map(agreement_text),
                }
            })
            .collect();
        let html = GalleryPage {
            css: CSS,
            name: &manifest.name,
            epoch: &manifest.epoch,
            model: &manifest.model,
            progress,
            percent: format!(
                "{:.1}",
                100.0 * progress.done as f64 / progress.total.max(1) as f64
            ),
            state: state_name(manifest.state),
            updated: utc(manifest.updated),
            failed: manifest
                .failed
                .iter()
                .map(|(a, b)| (a.clone(), b.clone()))
                .collect(),
            page,
            pages: links.clone(),
            rows,
            scores: scores.clone(),
            fidelity: manifest.fidelity.as_ref().map(|f| {
                format!(
                    "FID {:.2} · KID {:.4} ± {:.4} ({} synthesized against {} real images; {}-dimensional features of {})",
                    f.fid, f.kid, f.kid_std, f.synthesized_images, f.real_images, f.dim, f.inception
                )
            }),
            // Each shard's bar while the run goes on; a complete run's
            // gallery is the same however it was split.
            shards: manifest
                .shards
                .iter()
                .filter(|_| manifest.state != RunState::Complete)
                .map(|sh| {
                    let percent = format!("{:.1}", 100.0 * (sh.done + sh.failed) as f64 / sh.total.max(1) as f64);
                    let state = if sh.updated == 0 {
                        "not started"
                    } else {
                        state_name(sh.state)
                    };
                    (sh.shard.clone(), sh.done, sh.total, percent, state)
                })
                .collect(),
            orders: orders.clone(),
        }
        .render()
        .map_err(|e| RunError::Io {
            path: dir.root.display().to_string(),
            reason: format!("rendering the gallery: {e}"),
        })?;
        write_atomic(&dir.root.join(file(page)), html.as_bytes())?;
    }
    Ok(())
}

/// A run found under the results folder.
pub struct RunEntry {
    /// `<name>/test_<epoch>`
    pub id: String,
    pub manifest: Manifest,
}

/// Every run under `results` (folders `<name>/test_<epoch>/` with a
/// manifest), newest first.
pub fn list_runs(results: &Path) -> Vec<RunEntry> {
    let mut runs = Vec::new();
    for run in std::fs::read_dir(results).into_iter().flatten().flatten() {
        for test in std::fs::read_dir(run.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            let path = test.path().join(MANIFEST_FILE);
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            let Ok(manifest) = serde_json::from_slice::<Manifest>(&bytes) else {
                continue;
            };
            runs.push(RunEntry {
                id: format!("{}/test_{}", manifest.name, manifest.epoch),
                manifest,
            });
        }
    }
    runs.sort_by(|a, b| {
        b.manifest
            .updated
            .cmp(&a.manifest.updated)
            .then(a.id.cmp(&b.id))
    });
    runs
}

struct ListedRun {
    id: String,
    href: String,
    name: String,
    epoch: String,
    model: String,
    done: usize,
    failed: usize,
    total: usize,
    state: &'static str,
    updated: String,
}

#[derive(Template)]
#[template(path = "results.html")]
struct ResultsPage<'a> {
    css: &'a str,
    dir: String,
    runs: Vec<ListedRun>,
}

/// The list of runs, with a form to compare two.
pub fn render_listing(results: &Path) -> Result<String, askama::Error> {
    let runs = list_runs(results)
        .into_iter()
        .map(|r| {
            let p = r.manifest.progress();
            ListedRun {
                href: format!("/results/{}/index.html", r.id),
                id: r.id,
                name: r.manifest.name,
                epoch: r.manifest.epoch,
                model: r.manifest.model,
                done: p.done,
                failed: p.failed,
                total: p.total,
                state: state_name(p.state),
                updated: utc(r.manifest.updated),
            }
        })
        .collect();
    ResultsPage {
        css: CSS,
        dir: results.display().to_string(),
        runs,
    }
    .render()
}

struct CompareRow {
    stem: String,
    label: String,
    left: String,
    right: String,
    /// Each image's agreement with its map, when its run is scored.
    left_agreement: Option<String>,
    right_agreement: Option<String>,
    /// "mIoU +0.052 in b" when both are scored.
    difference: Option<String>,
}

/// "pixel accuracy 0.912 · mIoU 0.611 (segmenter of landscapes, 300 images)"
fn scores_line(manifest: &Manifest) -> Option<String> {
    manifest.scores.as_ref().map(|s| {
        format!(
            "pixel accuracy {:.3} · mIoU {:.3} (segmenter of {}, {} images{})",
            s.generated.pixel_accuracy,
            s.generated.mean_iou,
            s.segmenter,
            s.images,
            s.judge
                .as_ref()
                .map_or(String::new(), |j| format!("; judge {j}"))
        )
    })
}

#[derive(Template)]
#[template(path = "compare.html")]
struct ComparePage<'a> {
    css: &'a str,
    a: &'a str,
    b: &'a str,
    rows_total: usize,
    only_a: usize,
    only_b: usize,
    page: usize,
    pages: Vec<(usize, String)>,
    rows: Vec<CompareRow>,
    scores_a: Option<String>,
    scores_b: Option<String>,
}

/// Parses `<name>/test_<epoch>` into a run folder, refusing anything else.
pub fn run_dir_of(results: &Path, id: &str) -> Result<RunDir, RunError> {
    let bad = || RunError::BadName {
        what: "run",
        value: id.to_string(),
    };
    let (name, test) = id.split_once('/').ok_or_else(bad)?;
    let epoch = test.strip_prefix("test_").ok_or_else(bad)?;
    RunDir::new(results, name, epoch)
}

/// Two runs side by side over the maps both have made, `PAGE_SIZE` a page.
pub fn render_compare(results: &Path, a: &str, b: &str, page: usize) -> Result<String, RunError> {
    let read = |id: &str| -> Result<Manifest, RunError> {
        let dir = run_dir_of(results, id)?;
        dir.read_manifest()?.ok_or_else(|| RunError::Io {
            path: id.to_string(),
            reason: "no such run (it has no run.json)".into(),
        })
    };
    let (ma, mb) = (read(a)?, read(b)?);
    let both: Vec<&String> = ma
        .stems
        .iter()
        .filter(|s| ma.done.contains_key(*s) && mb.done.contains_key(*s))
        .collect();
    let pages = both.len().div_ceil(PAGE_SIZE).max(1);
    let page = page.clamp(1, pages);
    let query = |n: usize| format!("/results/compare?a={a}&b={b}&page={n}");
    let rows = both
        .iter()
        .skip((page - 1) * PAGE_SIZE)
        .take(PAGE_SIZE)
        .map(|stem| {
            let (left, right) = (&ma.done[*stem].agreement, &mb.done[*stem].agreement);
            CompareRow {
                stem: stem.to_string(),
                label: format!("/results/{a}/images/{INPUT_LABEL}/{stem}.png"),
                left: format!("/results/{a}/images/{SYNTHESIZED}/{stem}.png"),
                right: format!("/results/{b}/images/{SYNTHESIZED}/{stem}.png"),
                left_agreement: left.as_ref().map(agreement_text),
                right_agreement: right.as_ref().map(agreement_text),
                difference: left
                    .as_ref()
                    .zip(right.as_ref())
                    .map(|(l, r)| format!("mIoU {:+.3} in {b}", r.mean_iou - l.mean_iou)),
            }
        })
        .collect();
    ComparePage {
        css: CSS,
        a,
        b,
        rows_total: both.len(),
        only_a: ma.done.len() - both.len(),
        only_b: mb.done.len() - both.len(),
        page,
        pages: (1..=pages).map(|n| (n, query(n))).collect(),
        rows,
        scores_a: scores_line(&ma),
        scores_b: scores_line(&mb),
    }
    .render()
    .map_err(|e| RunError::Io {
        path: format!("{a} vs {b}"),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_unix_seconds_as_utc() {
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc(1_795_867_380), "2026-11-28 12:03 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00 UTC");
    }

    #[test]
    fn page_files_start_at_index_html() {
        assert_eq!(page_file(1), "index.html");
        assert_eq!(page_file(3), "index-3.html");
    }

    #[test]
    fn compare_ids_must_be_name_slash_test_epoch() {
        let r = Path::new("/r");
        assert!(run_dir_of(r, "a/test_latest").is_ok());
        for bad in ["a", "a/latest", "../x/test_1", "a/test_../..", "/a/test_1"] {
            assert!(run_dir_of(r, bad).is_err(), "{bad}");
        }
    }
}
