//! What `--threads N` (and `EASEL_THREADS`) means everywhere: N threads, or
//! one per core for 0.

/// The threads to use for a requested count; 0 means one per core.
pub fn threads(requested: usize) -> usize {
    match requested {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn zero_means_every_core_and_a_count_is_kept() {
        assert!(super::threads(0) >= 1);
        assert_eq!(super::threads(3), 3);
    }
}
