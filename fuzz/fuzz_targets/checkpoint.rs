//! Checkpoint reading: any bytes must give a state dict or a `CheckpointError`, never a
//! panic, and every tensor read must hold as many values as its shape says.

#![no_main]

use easel::import::checkpoint::{read_state_dict_bytes, CheckpointError, StateDict};
use libfuzzer_sys::fuzz_target;

fn check(result: Result<StateDict, CheckpointError>) {
    match result {
        Ok(state_dict) => {
            for tensor in state_dict.values() {
                assert_eq!(tensor.data.len(), tensor.shape.iter().product::<usize>());
            }
        }
        // Messages are built from the input too.
        Err(error) => drop(error.to_string()),
    }
}

fuzz_target!(|data: &[u8]| {
    // As a whole file: the zip or the legacy container, as its first bytes say.
    check(read_state_dict_bytes(data));
    // Behind a PROTO opcode every input is a pickle, so the pickle machine sees all of it.
    let mut pickle = Vec::with_capacity(data.len() + 2);
    pickle.extend_from_slice(&[0x80, 0x02]);
    pickle.extend_from_slice(data);
    check(read_state_dict_bytes(&pickle));
});
