//! Scores of a run, the SPADE paper's protocol: each synthesized image (and
//! each real photo, the ceiling) is read back into a map by a segmenter and
//! compared with the map it was made from. Pixel accuracy, mean IoU and
//! per-class IoU come from one confusion matrix (rows: the map's class,
//! columns: the class read; dontcare left out), so that runs merge exactly:
//! every sample keeps its matrix's non-zero cells, and a run's scores are
//! the sum of its samples', whatever shard or attempt made them.

use image::RgbImage;
use serde::{Deserialize, Serialize};

use crate::inference::segment::{Reading, SegmentError, SegmenterWorker};
use crate::package::maps::LabelMap;
use crate::package::ModelCard;

/// Why an image could not be scored.
#[derive(Debug, thiserror::Error)]
pub enum ScoreError {
    #[error("the segmenter of {segmenter} knows none of {model}'s classes by name; score with a segmenter trained on {model}'s classes (--segmenter PACKAGE)")]
    NoClassInCommon { segmenter: String, model: String },
    #[error("the segmenter read a {}×{} map from a {}×{} image", .read.0, .read.1, .image.0, .image.1)]
    Size {
        read: (usize, usize),
        image: (usize, usize),
    },
    #[error(transparent)]
    Segment(#[from] SegmentError),
    #[error("the segmenter of {0} stopped")]
    Stopped(String),
}

/// A confusion matrix over `classes` classes: a row per class of the map,
/// a column per class read plus one for "none of them" (a segmenter of
/// another package may read a class this model lacks).
#[derive(Debug, Clone, PartialEq)]
pub struct Confusion {
    classes: usize,
    counts: Vec<u64>,
}

impl Confusion {
    pub fn new(classes: usize) -> Self {
        Self {
            classes,
            counts: vec![0; classes * (classes + 1)],
        }
    }

    /// `read` counted against `truth`, pixel by pixel, each read class
    /// carried through `table` (read class → map class; past its end: none
    /// of them); truth values of `classes` or more (dontcare) are left out.
    pub fn of(
        truth: &LabelMap,
        read: &LabelMap,
        table: &[u32],
        classes: usize,
    ) -> Result<Self, ScoreError> {
        if (truth.width(), truth.height()) != (read.width(), read.height()) {
            return Err(ScoreError::Size {
                read: (read.width(), read.height()),
                image: (truth.width(), truth.height()),
            });
        }
        let mut confusion = Self::new(classes);
        for (&t, &r) in truth.labels().iter().zip(read.labels()) {
            let r = table.get(r as usize).copied().unwrap_or(classes as u32);
            confusion.add(t as usize, r as usize, 1);
        }
        Ok(confusion)
    }

    fn add(&mut self, truth: usize, read: usize, pixels: u64) {
        if truth < self.classes {
            let column = read.min(self.classes);
            self.counts[truth * (self.classes + 1) + column] += pixels;
        }
    }

    /// Adds the cells of a sample's record.
    pub fn add_cells(&mut self, cells: &[[u32; 3]]) {
        for &[t, r, n] in cells {
            self.add(t as usize, r as usize, n as u64);
        }
    }

    /// Adds another matrix over the same classes.
    pub fn merge(&mut self, other: &Confusion) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
    }

    /// Non-zero cells as (map class, read class, pixels), row by row; the
    /// read class `classes` is "none of them".
    pub fn cells(&self) -> Vec<[u32; 3]> {
        let columns = self.classes + 1;
        self.counts
            .iter()
            .enumerate()
            .filter(|(_, &n)| n > 0)
            .map(|(i, &n)| {
                [
                    (i / columns) as u32,
                    (i % columns) as u32,
                    n.min(u32::MAX as u64) as u32,
                ]
            })
            .collect()
    }

    /// Pixel accuracy, and IoU per class present in the map or the reading
    /// (a class absent from both has none), their mean: the trainer's
    /// `scores` (training/easel_training/segmenter.py).
    pub fn scores(&self) -> Scores {
        let (c, columns) = (self.classes, self.classes + 1);
        let at = |t: usize, r: usize| self.counts[t * columns + r] as f64;
        let total: f64 = self.counts.iter().map(|&n| n as f64).sum();
        let hits: f64 = (0..c).map(|k| at(k, k)).sum();
        let class_iou: Vec<Option<f64>> = (0..c)
            .map(|k| {
                let row: f64 = (0..columns).map(|r| at(k, r)).sum();
                let column: f64 = (0..c).map(|t| at(t, k)).sum();
                let union = row + column - at(k, k);
                (union > 0.0).then(|| at(k, k) / union)
            })
            .collect();
        let present: Vec<f64> = class_iou.iter().flatten().copied().collect();
        Scores {
            pixels: total as u64,
            pixel_accuracy: if total > 0.0 { hits / total } else { 0.0 },
            mean_iou: if present.is_empty() {
                0.0
            } else {
                present.iter().sum::<f64>() / present.len() as f64
            },
            class_iou,
        }
    }
}

/// How well a segmenter's reading of one image agrees with its map.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Agreement {
    pub pixel_accuracy: f64,
    pub mean_iou: f64,
    /// The confusion matrix's non-zero cells: (map class, read class,
    /// pixels); what the run's scores add up.
    pub cells: Vec<[u32; 3]>,
}

impl Agreement {
    pub fn new(confusion: &Confusion) -> Self {
        let scores = confusion.scores();
        Self {
            pixel_accuracy: scores.pixel_accuracy,
            mean_iou: scores.mean_iou,
            cells: confusion.cells(),
        }
    }
}

/// What a segmenter's reading says of a set of images.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Scores {
    /// Pixels scored (dontcare left out).
    pub pixels: u64,
    pub pixel_accuracy: f64,
    pub mean_iou: f64,
    /// By class index; null for a class in neither the maps nor the readings.
    pub class_iou: Vec<Option<f64>>,
}

/// Reads images back into maps for scoring: a package's segmenter, its
/// classes carried to the run's model's by name.
pub struct Judge {
    /// The package the segmenter comes from.
    pub package: String,
    /// Which of its graphs: file and digest.
    pub graph: String,
    worker: SegmenterWorker,
    /// Segmenter class → the model's class (`classes`: none of them).
    table: Vec<u32>,
    classes: usize,
}

impl Judge {
    /// A judge for runs of `model` from the segmenter of `package`
    /// (`segmenter_card`); refused when the two share no class name.
    pub fn new(
        worker: SegmenterWorker,
        segmenter_card: &ModelCard,
        model: &ModelCard,
    ) -> Result<Self, ScoreError> {
        let classes = model.classes.len();
        let table: Vec<u32> = segmenter_card
            .classes
            .iter()
            .map(|c| {
                let found = model.classes.iter().position(|m| m.name == c.name);
                found.unwrap_or(classes) as u32
            })
            .collect();
        if table.iter().all(|&t| t as usize == classes) {
            return Err(ScoreError::NoClassInCommon {
                segmenter: segmenter_card.name.clone(),
                model: model.name.clone(),
            });
        }
        Ok(Self {
            package: segmenter_card.name.clone(),
            graph: worker.judge().to_string(),
            worker,
            table,
            classes,
        })
    }

    /// How `image` read back agrees with `truth` (the map at the image's size).
    pub fn agreement(&self, image: RgbImage, truth: &LabelMap) -> Result<Agreement, ScoreError> {
        let reply = self.worker.submit(image, Reading::Judge)?;
        let read = reply
            .blocking_recv()
            .map_err(|_| ScoreError::Stopped(self.package.clone()))??;
        Ok(Agreement::new(&Confusion::of(
            truth,
            &read,
            &self.table,
            self.classes,
        )?))
    }
}

/// A sample's images read back by the judge.
#[derive(Default)]
pub(super) struct Scored {
    pub generated: Option<Agreement>,
    pub real: Option<Agreement>,
}

impl Scored {
    pub fn of(
        judge: &Judge,
        synthesized: Option<image::RgbImage>,
        real: Option<image::RgbImage>,
        label: &LabelMap,
    ) -> Result<Self, ScoreError> {
        let read =
            |image: Option<image::RgbImage>| image.map(|i| judge.agreement(i, label)).transpose();
        Ok(Self {
            generated: read(synthesized)?,
            real: read(real)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CARD: &str = include_str!("../../tests/fixtures/cards/landscapes-format1.json");

    fn map(width: usize, values: &[u32]) -> LabelMap {
        let card = ModelCard::from_json(CARD).unwrap();
        LabelMap::new(width, values.len() / width, values.to_vec(), &card).unwrap()
    }

    const SAME: [u32; 12] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];

    #[test]
    fn scores_are_the_trainers_pixel_accuracy_and_mean_iou_over_classes_present() {
        let truth = map(2, &[0, 0, 1, 1]);
        let read = map(2, &[0, 1, 1, 1]);
        let scores = Confusion::of(&truth, &read, &SAME, 3).unwrap().scores();
        assert_eq!(scores.pixels, 4);
        assert_eq!(scores.pixel_accuracy, 0.75);
        // class 0: 1 hit, union 2; class 1: 2 hits, union 3; class 2 absent from both.
        assert_eq!(scores.class_iou, vec![Some(0.5), Some(2.0 / 3.0), None]);
        assert!((scores.mean_iou - (0.5 + 2.0 / 3.0) / 2.0).abs() < 1e-15);
    }

    #[test]
    fn truth_past_the_classes_is_left_out_and_a_class_read_the_model_lacks_is_a_miss() {
        // Truth 2 is past 2 classes (dontcare here): not scored. Read 1 is
        // carried to "none of them" by the table: a miss of class 0 that no
        // class's IoU counts as a false positive.
        let truth = map(3, &[0, 0, 2]);
        let read = map(3, &[0, 1, 0]);
        let scores = Confusion::of(&truth, &read, &[0], 2).unwrap().scores();
        assert_eq!(scores.pixels, 2);
        assert_eq!(scores.pixel_accuracy, 0.5);
        assert_eq!(scores.class_iou, vec![Some(0.5), None]);
    }

    #[test]
    fn a_runs_scores_from_its_samples_cells_equal_the_scores_of_all_pixels_at_once() {
        let (t1, r1) = (
            map(4, &[0, 1, 2, 3, 3, 3, 1, 0]),
            map(4, &[0, 1, 1, 3, 2, 3, 1, 1]),
        );
        let (t2, r2) = (map(2, &[5, 5, 0, 2]), map(2, &[5, 4, 0, 2]));
        let mut summed = Confusion::new(12);
        for (t, r) in [(&t1, &r1), (&t2, &r2)] {
            let cells = Confusion::of(t, r, &SAME, 12).unwrap().cells();
            summed.add_cells(&cells);
        }
        let mut merged = Confusion::of(&t1, &r1, &SAME, 12).unwrap();
        merged.merge(&Confusion::of(&t2, &r2, &SAME, 12).unwrap());
        assert_eq!(summed, merged);
        let whole = Confusion::of(
            &map(12, &[0, 1, 2, 3, 3, 3, 1, 0, 5, 5, 0, 2]),
            &map(12, &[0, 1, 1, 3, 2, 3, 1, 1, 5, 4, 0, 2]),
            &SAME,
            12,
        )
        .unwrap();
        assert_eq!(summed.scores(), whole.scores());
        assert_eq!(whole.scores().pixel_accuracy, 8.0 / 12.0);
    }

    #[test]
    fn a_reading_of_another_size_is_refused() {
        let err = Confusion::of(&map(2, &[0, 0]), &map(1, &[0, 0]), &SAME, 12)
            .unwrap_err()
            .to_string();
        assert!(err.contains("1×2 map from a 2×1 image"), "{err}");
    }
}
