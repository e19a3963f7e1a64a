//! TFLite reading and translation: any bytes must give a model or a
//! `TfliteError`, never a panic, every tensor and operator index of a model
//! must exist, and translating a model into ONNX gives a graph or an error.
//! Seed it with the shared DeepLabV3 segmenter (behind the `TFL3` check
//! every input is a FlatBuffer, so prefixing the identifier reaches the
//! reader).

#![no_main]

use easel::import::tflite::{translate, Head, Model};
use libfuzzer_sys::fuzz_target;

fn check(bytes: &[u8]) {
    match Model::read(bytes) {
        Ok(model) => {
            for op in &model.operators {
                for &i in op.inputs.iter().chain(&op.outputs) {
                    assert!(i == -1 || model.tensor(i).is_some());
                }
            }
            // Weights a damaged file declares huge are refused before they
            // are allocated; keep the fuzzer to files of modest size.
            if bytes.len() < (4 << 20) {
                let head = Head::Mapped {
                    kept: vec![0, 3, 5],
                    package: vec![0, 1, 2],
                };
                if let Err(e) = translate(&model, &head, false, "fuzz") {
                    drop(e.to_string());
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
