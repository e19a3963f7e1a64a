//! The map-first renderer's acceptance (issue 27): photos it makes for maps
//! the composer never draws exactly (the composer's own maps simplified by
//! a 7×7 majority filter, as a painter's fill leaves them) are read back by
//! the default model's judge segmenter as their maps.

mod common;

use common::repo;
use easel::inference::runtime::{self, SegmenterSession, SessionOptions};
use easel::inference::segment::{Reading, Segmenter};
use easel::landscapes::{mapfirst, synth};
use easel::package::ModelPackage;

const SIZE: usize = 256;
/// Seed 1 is the held-out seed (never trained on); its first scenes.
const SCENES: usize = 16;

/// Each pixel takes the commonest class of its 7×7 neighbourhood (its own
/// on a tie).
fn simplified(label: &[u8], size: usize) -> Vec<u8> {
    let mut out = label.to_vec();
    for y in 0..size {
        for x in 0..size {
            let mut counts = [0u16; 12];
            for yy in y.saturating_sub(3)..(y + 4).min(size) {
                for xx in x.saturating_sub(3)..(x + 4).min(size) {
                    counts[label[yy * size + xx] as usize] += 1;
                }
            }
            let own = label[y * size + x] as usize;
            let best = (0..12).max_by_key(|&c| (counts[c], c == own)).unwrap();
            out[y * size + x] = best as u8;
        }
    }
    out
}

#[test]
fn the_judge_reads_map_first_photos_of_simplified_maps_as_their_maps() {
    runtime::init(None).expect("ONNX Runtime is installed (make venv)");
    let package = ModelPackage::open(&repo().join("models/landscapes")).unwrap();
    let options = SessionOptions {
        threads: 2,
        ..SessionOptions::default()
    };
    let mut judge = SegmenterSession::load(&package, &options)
        .unwrap()
        .expect("the default model has a judge");
    let (mut same, mut pixels) = (0usize, 0usize);
    for i in 0..SCENES {
        let scene = synth::render(1, i, SIZE as u32);
        let map = simplified(&scene.label, SIZE);
        let photo = mapfirst::render(&map, SIZE, SIZE, synth::scene_seed(7, i));
        let image = image::RgbImage::from_raw(SIZE as u32, SIZE as u32, photo.rgb)
            .expect("RGB of the map's size");
        let read = judge.segment(&image, Reading::Judge).unwrap();
        same += read
            .labels()
            .iter()
            .zip(&map)
            .filter(|(a, &b)| **a == b as u32)
            .count();
        pixels += map.len();
    }
    let accuracy = same as f64 / pixels as f64;
    eprintln!(
        "the judge reads {accuracy:.3} of the pixels of {SCENES} map-first photos as their maps"
    );
    assert!(accuracy >= 0.85, "{accuracy}");
}
