//! Inputs that crashed a fuzz target (fuzz/fuzz.sh), kept so that each stays an error
//! with a clear message. The inputs are the minimised files in tests/fixtures/fuzz/,
//! named `<target>-<what is wrong>`.

mod common;

use std::path::Path;

use common::fake_card;
use easel::import::checkpoint::{read_state_dict_bytes, CheckpointError};
use easel::package::maps::{InstanceMap, LabelEncoding, LabelMap, MapError, DEFAULT_MAX_PIXELS};

fn input(name: &str) -> Vec<u8> {
    common::read(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/fuzz")
            .join(name),
    )
}

const ENCODINGS: [LabelEncoding; 5] = [
    LabelEncoding::Auto,
    LabelEncoding::Index,
    LabelEncoding::Colors { nearest: false },
    LabelEncoding::Colors { nearest: true },
    LabelEncoding::Red,
];

/// A 16×2 one-bit grayscale APNG whose first frame (the IDAT) is 8×2: its rows are one
/// byte where the image's width needs two, and unpacking them read past the row.
#[test]
fn rejects_animated_png_whose_first_frame_is_smaller_than_the_image() {
    let bytes = input("label_map-apng-short-first-frame.png");
    let card = fake_card();
    for encoding in ENCODINGS {
        let error = LabelMap::decode(&bytes, &card, encoding, DEFAULT_MAX_PIXELS).unwrap_err();
        let message = error.to_string();
        assert!(
            matches!(error, MapError::Png { .. }),
            "{encoding:?}: {error:?}"
        );
        assert!(
            message.contains("animated PNG") && message.contains("8×2") && message.contains("16×2"),
            "{message}"
        );
    }
    let error = InstanceMap::from_png(&bytes, DEFAULT_MAX_PIXELS).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("the instance map is not a readable PNG"),
        "{error}"
    );
}

/// A zip checkpoint whose directory names three storages, `archive/data/0` to `/2`, that
/// all point at the same deflated record. Read once per name, 24 kB of such a file made
/// the reader hold over 2 GB (libFuzzer's out-of-memory limit); this one is its small
/// form, three 4 kB storages from one 20-byte record.
#[test]
fn rejects_zip_checkpoint_whose_entries_share_bytes() {
    let error = read_state_dict_bytes(&input("checkpoint-overlapping-zip-entries.pth"))
        .expect_err("overlapping entries must be refused");
    let message = error.to_string();
    assert!(
        matches!(error, CheckpointError::Malformed { .. }),
        "{error:?}"
    );
    assert!(
        message.contains("archive/data/0 and archive/data/1 share the same bytes"),
        "{message}"
    );
}
