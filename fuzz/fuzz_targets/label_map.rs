//! Label-map and instance-map decoding: any bytes must give a valid map or a
//! `MapError`, never a panic, and a map that decodes must keep its promises
//! (every label below the card's class count; resizing and edges stay in bounds).

#![no_main]

use std::sync::LazyLock;

use easel::package::classes::ClassTable;
use easel::package::maps::{InstanceMap, LabelEncoding, LabelMap};
use easel::package::ModelCard;
use libfuzzer_sys::fuzz_target;

/// Small enough that every input decodes in milliseconds, large enough for real maps.
const MAX_PIXELS: u64 = 1 << 20;

const ENCODINGS: [LabelEncoding; 5] = [
    LabelEncoding::Auto,
    LabelEncoding::Index,
    LabelEncoding::Colors { nearest: false },
    LabelEncoding::Colors { nearest: true },
    LabelEncoding::Red,
];

/// The test suite's three-class card without a dontcare class, and a COCO-Stuff card
/// (182 classes, dontcare 182) so that real label maps decode too.
static CARDS: LazyLock<[ModelCard; 2]> = LazyLock::new(|| {
    let fake: serde_json::Value =
        serde_json::from_str(include_str!("../../server/tests/fixtures/fake_card.json"))
            .expect("fake_card.json is valid JSON");
    let coco_classes = ClassTable::builtin("coco-stuff")
        .expect("the COCO-Stuff table is built in")
        .classes;
    let mut coco = fake.clone();
    coco["name"] = "fuzz-coco".into();
    coco["classes"] = serde_json::to_value(coco_classes).expect("classes serialize");
    coco["dontcare"] = serde_json::json!({"index": 182, "name": "unlabeled", "color": "#000000"});
    let card = |value: serde_json::Value| {
        serde_json::from_value::<ModelCard>(value).expect("the fuzz cards are valid")
    };
    [card(fake), card(coco)]
});

fuzz_target!(|data: &[u8]| {
    // A size for `resized` that varies with the input (a PNG's first and last bytes do not).
    let sum = data.iter().map(|&b| usize::from(b)).sum::<usize>();
    let (w, h) = (1 + data.len() % 96, 1 + sum % 96);
    let instances = InstanceMap::from_png(data, MAX_PIXELS).ok();
    for card in CARDS.iter() {
        for encoding in ENCODINGS {
            let Ok(map) = LabelMap::decode(data, card, encoding, MAX_PIXELS) else {
                continue;
            };
            let (width, height) = (map.width(), map.height());
            assert_eq!(map.labels().len(), width * height);
            let classes = card.label_classes();
            assert!(map.labels().iter().all(|&v| (v as usize) < classes));
            assert_eq!(map.class_edges().len(), width * height);
            for (w, h) in [(w, h), (width, height), (1, 1)] {
                let resized = map.resized(w, h);
                assert_eq!(resized.labels().len(), w * h);
                assert_eq!(resized.class_edges().len(), w * h);
            }
            if let Some(instances) = &instances {
                let edges = instances.edges(&map).expect("same PNG, same size");
                assert_eq!(edges.len(), width * height);
            }
        }
    }
});
