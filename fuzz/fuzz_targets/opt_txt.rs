//! opt.txt parsing: any text must give options or an `OptError`, never a panic, and
//! every key it holds must be readable through the typed accessors.

#![no_main]

use easel::import::spade::opt::TrainOptions;
use libfuzzer_sys::fuzz_target;

/// The keys the importer reads.
const KEYS: [&str; 9] = [
    "aspect_ratio",
    "crop_size",
    "dataset_mode",
    "ngf",
    "norm_E",
    "norm_G",
    "num_upsampling_layers",
    "use_vae",
    "z_dim",
];

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let options = match TrainOptions::parse(&text, "opt.txt") {
        Ok(options) => options,
        Err(error) => return drop(error.to_string()),
    };
    let keys_in_text = text
        .lines()
        .filter_map(|line| line.split_once(':'))
        .map(|(key, _)| key.trim());
    for key in KEYS.into_iter().chain(keys_in_text) {
        let _ = options.get(key);
        let _ = options.bool(key).map_err(|e| e.to_string());
        let _ = options.usize(key).map_err(|e| e.to_string());
        let _ = options.f64(key).map_err(|e| e.to_string());
    }
});
