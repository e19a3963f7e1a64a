//! TFLite reading: any bytes must give a model or a `TfliteError`, never a
//! panic, and every tensor and operator index of a model must exist. Seed
//! it with the shared DeepLabV3 segmenter (behind the `TFL3` check every
//! input is a FlatBuffer, so prefixing the identifier reaches the reader).

#![no_main]

use easel::import::tflite::Model;
use libfuzzer_sys::fuzz_target;

fn check(bytes: &[u8]) {
    match Model::read(bytes) {
        Ok(model) => {
            for op in &model.operators {
                for &i in op.inputs.iter().chain(&op.outputs) {
                    assert!(i == -1 || model.tensor(i).is_some());
                }
            }
        }
        Err(error) => drop(error.to_string()),
    }
}

fuzz_target!(|data: &[u8]| {
    check(data);
    let mut flat = Vec::with_capacity(data.len() + 8);
    flat.extend_from_slice(&data[..data.len().min(4)]);
    flat.resize(4, 0);
    flat.extend_from_slice(b"TFL3");
    flat.extend_from_slice(data.get(4..).unwrap_or_default());
    check(&flat);
});
